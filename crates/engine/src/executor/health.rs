//! How long one side of a run has gone without answering. A target that only fails
//! transiently (connection refused, 5xx, timeouts) for longer than the plan allows stops
//! the run with a message that says since when, instead of failing batch after batch
//! for hours.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchover_adapter::AdapterError;
use switchover_model::Timestamp;

/// When one side last answered, by the clock and the calendar.
struct Streak {
    since: (Instant, Timestamp),
}

/// One side's health: the time since it last answered, and the limit.
pub(crate) struct Health {
    side: &'static str,
    limit: Duration,
    streak: Mutex<Streak>,
    /// Why the run gave up on this side, once it has.
    gave_up: Mutex<Option<String>>,
}

impl Health {
    /// Tracks `side` ("target", "source"), giving up after `limit` of failures only.
    pub(crate) fn new(side: &'static str, limit: Duration) -> Self {
        Health {
            side,
            limit,
            streak: Mutex::new(Streak {
                since: (Instant::now(), Timestamp::now()),
            }),
            gave_up: Mutex::new(None),
        }
    }

    /// Why the run gave up on this side, if it did.
    pub(crate) fn gave_up(&self) -> Option<String> {
        self.gave_up
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// After a transient failure: `Err` (a fatal error that stops the run) once the side
    /// has not answered for longer than the limit.
    pub(crate) fn check(&self, adapter: &str, error: &AdapterError) -> Result<(), AdapterError> {
        match self.failed(adapter, error) {
            None => Ok(()),
            Some(why) => {
                *self
                    .gave_up
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(why.clone());
                Err(AdapterError::fatal(adapter, why))
            }
        }
    }

    fn streak(&self) -> std::sync::MutexGuard<'_, Streak> {
        self.streak
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The side answered (any answer, a refusal or a rate limit too).
    pub(crate) fn answered(&self) {
        self.streak().since = (Instant::now(), Timestamp::now());
    }

    /// The side failed. `Some(reason)` once it has not answered for longer than the
    /// limit (a rate limit is an answer): the run must stop and say so.
    pub(crate) fn failed(&self, adapter: &str, error: &AdapterError) -> Option<String> {
        if error.kind() == switchover_adapter::ErrorKind::RateLimited {
            self.answered();
            return None;
        }
        let (started, at) = self.streak().since;
        let silent = started.elapsed();
        (silent >= self.limit).then(|| {
            format!(
                "the {side} ({adapter}) has not answered since {at} ({secs} s, past the plan's give_up_after_seconds = {limit}); last error: {error}. Nothing is lost: the state is saved; run `switchover migrate` again when the {side} answers",
                side = self.side,
                secs = silent.as_secs(),
                limit = self.limit.as_secs(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> AdapterError {
        AdapterError::transient("x", "connection refused (http://127.0.0.1:9/)")
    }

    #[test]
    fn a_side_that_only_fails_past_the_limit_is_given_up_and_an_answer_resets_it() {
        let health = Health::new("target", Duration::from_millis(30));
        assert!(
            health.failed("x", &refused()).is_none(),
            "not before the limit"
        );
        std::thread::sleep(Duration::from_millis(40));
        let why = health.failed("x", &refused()).expect("given up");
        assert!(
            why.contains("the target (x) has not answered since"),
            "{why}"
        );
        assert!(why.contains("connection refused"), "{why}");
        assert!(why.contains("run `switchover migrate` again"), "{why}");
        health.answered();
        assert!(
            health.failed("x", &refused()).is_none(),
            "an answer starts over"
        );
        std::thread::sleep(Duration::from_millis(40));
        let limited = AdapterError::RateLimited {
            adapter: "x".into(),
            retry_after: None,
        };
        assert!(health.failed("x", &limited).is_none(), "a 429 is an answer");
        assert!(health.failed("x", &refused()).is_none());
    }
}
