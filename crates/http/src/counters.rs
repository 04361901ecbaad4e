use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a client (and all its clones) has done, counted with atomics so benchmarks and
/// progress reports can read it from any thread while requests run.
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    paced_nanos: AtomicU64,
    backoff_nanos: AtomicU64,
}

/// A copy of [`Counters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Requests sent (every attempt counts, redirects followed do not).
    pub requests: u64,
    /// Attempts that were retries of an earlier failed one.
    pub retries: u64,
    /// HTTP 429 answers seen.
    pub rate_limited: u64,
    /// Time threads spent waiting in the pacer (spacing and holds after a 429).
    pub paced: Duration,
    /// Time threads spent sleeping in backoff between retries (holds excluded).
    pub backoff: Duration,
}

impl Counters {
    /// Requests sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Retries made.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// HTTP 429 answers seen.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// Total time spent waiting in the pacer.
    pub fn paced(&self) -> Duration {
        Duration::from_nanos(self.paced_nanos.load(Ordering::Relaxed))
    }

    /// Total time spent in backoff.
    pub fn backoff(&self) -> Duration {
        Duration::from_nanos(self.backoff_nanos.load(Ordering::Relaxed))
    }

    /// All counters at once.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.requests(),
            retries: self.retries(),
            rate_limited: self.rate_limited(),
            paced: self.paced(),
            backoff: self.backoff(),
        }
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_paced(&self, waited: Duration) {
        self.paced_nanos.fetch_add(nanos(waited), Ordering::Relaxed);
    }

    pub(crate) fn add_backoff(&self, waited: Duration) {
        self.backoff_nanos
            .fetch_add(nanos(waited), Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
