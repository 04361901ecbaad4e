use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Length of the rate-limit window every supported vendor uses.
const WINDOW: Duration = Duration::from_secs(60);

/// What a response said about the vendor's rate limit, read from whichever of the known
/// header families it carried:
///
/// | vendor | limit | remaining | reset |
/// |---|---|---|---|
/// | Zendesk | `x-rate-limit` | `x-rate-limit-remaining` | |
/// | Zendesk (newer), IETF draft | `ratelimit-limit` | `ratelimit-remaining` | `ratelimit-reset` (seconds) |
/// | Freshdesk | `x-ratelimit-total` | `x-ratelimit-remaining` | |
/// | Help Scout | `x-ratelimit-limit-minute` | `x-ratelimit-remaining-minute` | |
///
/// Limits are taken as per minute, the window all of them use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// Requests allowed per window.
    pub limit: Option<u32>,
    /// Requests left in the current window.
    pub remaining: Option<u32>,
    /// Time until the window resets, when the vendor says.
    pub reset: Option<Duration>,
}

impl RateLimitHeaders {
    /// Reads the rate-limit headers of a response.
    pub fn parse(headers: &HeaderMap) -> Self {
        let first = |names: &[&str]| {
            names.iter().find_map(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(leading_integer)
            })
        };
        RateLimitHeaders {
            limit: first(&[
                "x-rate-limit",
                "ratelimit-limit",
                "x-ratelimit-total",
                "x-ratelimit-limit-minute",
                "x-ratelimit-limit",
            ])
            .map(saturating_u32),
            remaining: first(&[
                "x-rate-limit-remaining",
                "ratelimit-remaining",
                "x-ratelimit-remaining",
                "x-ratelimit-remaining-minute",
            ])
            .map(saturating_u32),
            reset: first(&["ratelimit-reset"]).map(Duration::from_secs),
        }
    }

    /// Whether the response carried none of them.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none() && self.reset.is_none()
    }
}

/// `700`, `700, 700;w=60` (IETF draft list form) -> 700.
fn leading_integer(value: &str) -> Option<u64> {
    let digits: &str = value
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or("");
    digits.parse().ok()
}

fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The pacer's scheduling logic, with the clock passed in: every method takes `now`, none
/// reads a clock or sleeps, so it is tested by computing delays, not by waiting.
///
/// It spaces request starts by an interval (a generic cell rate algorithm: a start may
/// come `burst - 1` intervals early, so a short burst passes but the sustained rate never
/// exceeds one per interval). The interval is the largest of:
/// - the budget: 60 s / requests per minute (700 rpm -> 85.7 ms);
/// - the vendor's own limit from its headers, when lower than the budget;
/// - while the vendor says few requests remain (under a tenth of its limit), what remains
///   spread over the rest of the window: until the reset the vendor gave, else until a
///   minute after this window was first seen (a window is new when the vendor's
///   remaining count jumps back up). The window began at or before it was first seen, so
///   the spread is never faster than the vendor's own window allows; assuming a whole
///   minute instead held a run to one request a second for the last seconds of every
///   window of a vendor that sends no reset (Freshdesk).
///
/// A hold (after a 429 or a 503 with `Retry-After`) stops every start until it ends.
#[derive(Debug, Clone)]
pub struct PacerState {
    budget_interval: Duration,
    burst: u32,
    vendor_interval: Duration,
    vendor_limit: Option<u32>,
    spread: Option<(Duration, Instant)>,
    /// Theoretical arrival time of the next request.
    next: Option<Instant>,
    hold_until: Option<Instant>,
    /// The vendor's remaining count last seen, and when the window it belongs to was
    /// first seen.
    window: Option<(u32, Instant)>,
}

impl PacerState {
    /// A pacer for a budget of `requests_per_minute` (`None`: pace only by what the vendor
    /// says), letting `burst` requests (at least 1) start back to back.
    pub fn new(requests_per_minute: Option<u32>, burst: u32) -> Self {
        PacerState {
            budget_interval: interval_for(requests_per_minute),
            burst: burst.max(1),
            vendor_interval: Duration::ZERO,
            vendor_limit: None,
            spread: None,
            next: None,
            hold_until: None,
            window: None,
        }
    }

    /// The spacing between request starts in force at `now`.
    pub fn interval(&self, now: Instant) -> Duration {
        let spread = match self.spread {
            Some((interval, until)) if now < until => interval,
            _ => Duration::ZERO,
        };
        self.budget_interval.max(self.vendor_interval).max(spread)
    }

    /// Books the next start for a request that wants to go at `now` and returns how long
    /// it must wait first.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.reserve_weighted(now, 1)
    }

    /// [`PacerState::reserve`] for a request that counts `cost` times against the budget
    /// (Help Scout counts each write twice): it books `cost` slots.
    pub fn reserve_weighted(&mut self, now: Instant, cost: u32) -> Duration {
        let interval = self.interval(now).saturating_mul(cost.max(1));
        let earliest = match self.hold_until {
            Some(until) if until > now => until,
            _ => now,
        };
        if interval.is_zero() {
            self.next = Some(earliest);
            return earliest - now;
        }
        let tat = self.next.map_or(earliest, |next| next.max(earliest));
        let tolerance = interval.saturating_mul(self.burst - 1);
        let start = tat
            .checked_sub(tolerance)
            .map_or(earliest, |early| early.max(earliest));
        self.next = Some(tat + interval);
        start - now
    }

    /// How much of a hold is left at `now`: a request that waited for its slot checks
    /// this before going, as a hold may have begun while it slept.
    pub fn held_for(&self, now: Instant) -> Duration {
        match self.hold_until {
            Some(until) if until > now => until - now,
            _ => Duration::ZERO,
        }
    }

    /// Stops every start for `duration` from `now` (a hold never shortens an earlier one).
    pub fn hold(&mut self, now: Instant, duration: Duration) {
        let until = now + duration;
        if self.hold_until.is_none_or(|current| current < until) {
            self.hold_until = Some(until);
        }
    }

    /// Adapts to what a response at `now` said about the vendor's rate limit.
    pub fn observe(&mut self, now: Instant, info: RateLimitHeaders) {
        if let Some(limit) = info.limit.filter(|&l| l > 0) {
            self.vendor_limit = Some(limit);
            self.vendor_interval = WINDOW / limit;
        }
        let Some(remaining) = info.remaining else {
            return;
        };
        let low_water = self.vendor_limit.map_or(10, |limit| (limit / 10).max(2));
        // A remaining count well above the last one is a new window (answers of
        // requests in flight together may come back slightly out of order).
        let started = match self.window {
            Some((last, started)) if remaining <= last.saturating_add(low_water) => started,
            _ => now,
        };
        self.window = Some((remaining, started));
        if remaining >= low_water {
            self.spread = None;
            return;
        }
        let seen_left = (started + WINDOW)
            .saturating_duration_since(now)
            .max(Duration::from_secs(1));
        let window_left = info.reset.unwrap_or(seen_left).min(WINDOW);
        let interval = window_left / remaining.max(1);
        self.spread = Some((interval, now + window_left));
    }
}

fn interval_for(requests_per_minute: Option<u32>) -> Duration {
    match requests_per_minute {
        Some(rpm) if rpm > 0 => WINDOW / rpm,
        _ => Duration::ZERO,
    }
}

/// The pacer one client and all its clones share across threads: a [`PacerState`] behind a
/// mutex, driven by the real clock. Only the booking happens under the lock; the waiting
/// happens outside it.
#[derive(Debug, Clone)]
pub struct Pacer {
    state: Arc<Mutex<PacerState>>,
}

impl Pacer {
    /// A pacer for a budget of `requests_per_minute` with a burst of `burst`.
    pub fn new(requests_per_minute: Option<u32>, burst: u32) -> Self {
        Pacer {
            state: Arc::new(Mutex::new(PacerState::new(requests_per_minute, burst))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PacerState> {
        // The state stays consistent even if a holder panicked: every update is a single
        // assignment, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks until the calling thread may send a request; returns how long it waited.
    pub fn acquire(&self) -> Duration {
        self.acquire_weighted(1)
    }

    /// [`Pacer::acquire`] for a request that counts `cost` times against the budget.
    pub fn acquire_weighted(&self, cost: u32) -> Duration {
        let started = Instant::now();
        let wait = self.lock().reserve_weighted(started, cost);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        loop {
            let held = self.lock().held_for(Instant::now());
            if held.is_zero() {
                break;
            }
            std::thread::sleep(held);
        }
        started.elapsed()
    }

    /// Adapts to a response's rate-limit headers.
    pub fn observe(&self, headers: &HeaderMap) {
        let info = RateLimitHeaders::parse(headers);
        if !info.is_empty() {
            self.lock().observe(Instant::now(), info);
        }
    }

    /// Makes every thread hold off for `duration` from now.
    pub fn hold(&self, duration: Duration) {
        self.lock().hold(Instant::now(), duration);
    }

    /// The spacing between request starts in force now.
    pub fn interval(&self) -> Duration {
        self.lock().interval(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a header value"));
        }
        map
    }

    #[test]
    fn budget_spaces_requests_evenly() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(700), 1);
        let interval = Duration::from_secs(60) / 700;
        assert_eq!(pacer.interval(t0), interval);
        // Ten threads arriving together get consecutive slots.
        let waits: Vec<Duration> = (0..10).map(|_| pacer.reserve(t0)).collect();
        for (i, wait) in waits.iter().enumerate() {
            assert_eq!(*wait, interval * i as u32);
        }
    }

    #[test]
    fn sustained_rate_never_exceeds_the_budget_even_with_a_burst() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(600), 3);
        let interval = ms(100);
        // Callers that always come back immediately: how many start in the first minute?
        let mut now = t0;
        let mut starts = Vec::new();
        while now < t0 + Duration::from_secs(60) {
            let start = now + pacer.reserve(now);
            starts.push(start);
            now = start;
        }
        let in_window = starts
            .iter()
            .filter(|s| **s < t0 + Duration::from_secs(60))
            .count();
        assert!(in_window <= 600 + 3, "{in_window} starts in one minute");
        // The burst goes at once, then one per interval.
        assert_eq!(starts[0], t0);
        assert_eq!(starts[2], t0);
        assert_eq!(starts[3], t0 + interval);
        assert_eq!(starts[4], t0 + interval * 2);
    }

    #[test]
    fn an_idle_pacer_does_not_bank_more_than_the_burst() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(600), 2);
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        let later = t0 + Duration::from_secs(30);
        assert_eq!(pacer.reserve(later), Duration::ZERO);
        assert_eq!(pacer.reserve(later), Duration::ZERO);
        assert_eq!(pacer.reserve(later), ms(100));
    }

    #[test]
    fn no_budget_and_no_headers_means_no_waiting() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(None, 1);
        for _ in 0..100 {
            assert_eq!(pacer.reserve(t0), Duration::ZERO);
        }
    }

    #[test]
    fn a_hold_stops_every_thread_until_it_ends() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(600), 1);
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        pacer.hold(t0, Duration::from_secs(2));
        assert_eq!(pacer.held_for(t0 + ms(500)), ms(1500));
        // The next requests start at the end of the hold, still spaced by the budget.
        assert_eq!(pacer.reserve(t0 + ms(10)), ms(1990));
        assert_eq!(pacer.reserve(t0 + ms(10)), ms(2090));
        // A shorter hold does not cut a longer one short.
        pacer.hold(t0, ms(100));
        assert_eq!(pacer.held_for(t0), Duration::from_secs(2));
        assert_eq!(pacer.held_for(t0 + Duration::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn a_hold_applies_to_a_pacer_without_budget() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(None, 1);
        pacer.hold(t0, Duration::from_secs(1));
        assert_eq!(pacer.reserve(t0 + ms(250)), ms(750));
    }

    #[test]
    fn a_vendor_limit_below_the_budget_wins() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(700), 1);
        pacer.observe(
            t0,
            RateLimitHeaders {
                limit: Some(400),
                remaining: Some(390),
                reset: None,
            },
        );
        assert_eq!(pacer.interval(t0), ms(150));
        // A vendor limit above the budget changes nothing.
        pacer.observe(
            t0,
            RateLimitHeaders {
                limit: Some(1000),
                remaining: Some(990),
                reset: None,
            },
        );
        assert_eq!(pacer.interval(t0), Duration::from_secs(60) / 700);
    }

    #[test]
    fn low_remaining_is_spread_over_the_rest_of_the_window() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(700), 1);
        pacer.observe(
            t0,
            RateLimitHeaders {
                limit: Some(700),
                remaining: Some(20),
                reset: Some(Duration::from_secs(10)),
            },
        );
        assert_eq!(pacer.interval(t0), ms(500));
        // After the window resets the spread no longer applies.
        assert_eq!(
            pacer.interval(t0 + Duration::from_secs(11)),
            Duration::from_secs(60) / 700
        );
        // Without a reset time, the rest of a whole minute is assumed.
        pacer.observe(
            t0,
            RateLimitHeaders {
                limit: None,
                remaining: Some(30),
                reset: None,
            },
        );
        assert_eq!(pacer.interval(t0), Duration::from_secs(2));
        // Plenty remaining again: back to the budget.
        pacer.observe(
            t0,
            RateLimitHeaders {
                limit: None,
                remaining: Some(500),
                reset: None,
            },
        );
        assert_eq!(pacer.interval(t0), Duration::from_secs(60) / 700);
    }

    /// Regression: a vendor that sends no reset (Freshdesk) had the last tenth of every
    /// window spread over a whole minute, one request a second near the window's end.
    #[test]
    fn without_a_reset_the_window_ends_a_minute_after_it_was_first_seen() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(700), 1);
        let seen = |remaining| RateLimitHeaders {
            limit: Some(700),
            remaining: Some(remaining),
            reset: None,
        };
        pacer.observe(t0, seen(699));
        pacer.observe(t0 + Duration::from_secs(30), seen(400));
        // 58 s in, 60 left: spread over the 2 s left, slower than the budget allows
        // anyway, so the budget's spacing holds.
        pacer.observe(t0 + Duration::from_secs(58), seen(60));
        assert_eq!(
            pacer.interval(t0 + Duration::from_secs(58)),
            Duration::from_secs(60) / 700
        );
        // 40 s in, 20 left: the 20 s to the window's end, one per second.
        let mut early = PacerState::new(Some(700), 1);
        early.observe(t0, seen(699));
        early.observe(t0 + Duration::from_secs(40), seen(20));
        assert_eq!(early.interval(t0 + Duration::from_secs(40)), ms(1000));
        // The count jumps back up: a new window, seen from now.
        early.observe(t0 + Duration::from_secs(61), seen(690));
        early.observe(t0 + Duration::from_secs(100), seen(35));
        assert_eq!(
            early.interval(t0 + Duration::from_secs(100)),
            Duration::from_secs(21) / 35
        );
    }

    #[test]
    fn nothing_remaining_waits_for_the_reset() {
        let t0 = Instant::now();
        let mut pacer = PacerState::new(Some(700), 1);
        pacer.observe(
            t0,
            RateLimitHeaders {
                limit: Some(700),
                remaining: Some(0),
                reset: Some(Duration::from_secs(7)),
            },
        );
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), Duration::from_secs(7));
    }

    #[test]
    fn vendor_header_families_are_recognised() {
        let zendesk = headers(&[("x-rate-limit", "700"), ("x-rate-limit-remaining", "699")]);
        let draft = headers(&[
            ("ratelimit-limit", "700, 700;w=60"),
            ("ratelimit-remaining", "12"),
            ("ratelimit-reset", "41"),
        ]);
        let freshdesk = headers(&[
            ("X-RateLimit-Total", "400"),
            ("X-RateLimit-Remaining", "398"),
        ]);
        let helpscout = headers(&[
            ("X-RateLimit-Limit-Minute", "200"),
            ("X-RateLimit-Remaining-Minute", "150"),
        ]);
        assert_eq!(
            RateLimitHeaders::parse(&zendesk),
            RateLimitHeaders {
                limit: Some(700),
                remaining: Some(699),
                reset: None
            }
        );
        assert_eq!(
            RateLimitHeaders::parse(&draft),
            RateLimitHeaders {
                limit: Some(700),
                remaining: Some(12),
                reset: Some(Duration::from_secs(41))
            }
        );
        assert_eq!(RateLimitHeaders::parse(&freshdesk).limit, Some(400));
        assert_eq!(RateLimitHeaders::parse(&freshdesk).remaining, Some(398));
        assert_eq!(RateLimitHeaders::parse(&helpscout).limit, Some(200));
        assert_eq!(RateLimitHeaders::parse(&helpscout).remaining, Some(150));
        assert!(RateLimitHeaders::parse(&headers(&[("x-rate-limit", "lots")])).is_empty());
    }

    #[test]
    fn a_request_that_counts_twice_books_two_slots() {
        let start = Instant::now();
        let mut pacer = PacerState::new(Some(60), 1);
        assert_eq!(pacer.reserve_weighted(start, 2), Duration::ZERO);
        // The write took the slots of two requests: the next start is two seconds on.
        assert_eq!(pacer.reserve(start), ms(2000));
        assert_eq!(pacer.reserve(start), ms(3000));
    }
}
