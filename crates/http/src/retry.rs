use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// When and how often a failed request is tried again.
///
/// Transient failures (connection refused or reset, timeouts, HTTP 500/502/503/504, 429)
/// are retried with exponential backoff and full jitter: retry `n` waits a random time in
/// `[0, min(max_delay, base_delay * 2^(n-1))]`, or exactly what the server's `Retry-After`
/// asked for on a 429 or 503. A request that is not idempotent is retried only when the
/// server certainly did not process it: after a 429, or when the connection could not be
/// made at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry (before jitter).
    pub base_delay: Duration,
    /// Largest backoff before one retry (before jitter).
    pub max_delay: Duration,
    /// Largest total time one request may spend waiting between its attempts; a wait that
    /// would go past it is not made and the last failure is returned instead (for a 429,
    /// as a rate-limit error carrying the server's `Retry-After`).
    pub max_total_wait: Duration,
}

/// The process-wide cap on [`RetryPolicy::max_total_wait`], in milliseconds.
static TOTAL_WAIT_CAP_MS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(u64::MAX);

/// Caps, for every client of this process, how long one request may wait between its
/// attempts. A run that gives up on a side after some time of failures (the plan's
/// `give_up_after_seconds`) sets it, so that no single request retries past that.
pub fn cap_total_wait(limit: Duration) {
    let millis = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    TOTAL_WAIT_CAP_MS.store(millis, std::sync::atomic::Ordering::Relaxed);
}

/// The cap [`cap_total_wait`] set (none: `Duration::MAX`).
pub(crate) fn total_wait_cap() -> Duration {
    match TOTAL_WAIT_CAP_MS.load(std::sync::atomic::Ordering::Relaxed) {
        u64::MAX => Duration::MAX,
        millis => Duration::from_millis(millis),
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retry` (1 for the first retry), given a uniform
    /// random `jitter` in `[0, 1]` (full jitter).
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            1.0
        };
        ceiling.mul_f64(jitter)
    }
}

/// Whether a response with this status may be tried again.
pub(crate) fn retryable_status(status: u16, idempotent: bool) -> bool {
    match status {
        // The server refused to process it: safe to send again, whatever it does.
        429 => true,
        // The server may have processed it before failing.
        500 | 502 | 503 | 504 => idempotent,
        _ => false,
    }
}

/// Parses a `Retry-After` value: delay seconds (`120`, `1.5`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, relative to `now`; a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        // Guard against NaN, negatives and absurd values, which from_secs_f64 would panic on.
        if seconds.is_finite() && (0.0..1.0e9).contains(&seconds) {
            return Some(Duration::from_secs_f64(seconds));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long the server asked us to wait: `Retry-After` (on 429 and 503), Help Scout's
/// `X-RateLimit-Retry-After`, or on a 429 without either, the rate-limit window's
/// `ratelimit-reset`.
pub(crate) fn retry_after_of(
    status: u16,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    if status != 429 && status != 503 {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(d) = header("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(d);
    }
    if let Some(d) = header("x-ratelimit-retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(d);
    }
    if status == 429 {
        return header("ratelimit-reset").and_then(|v| parse_retry_after(v, now));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_scales_with_jitter() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            max_total_wait: Duration::from_secs(60),
        };
        assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(policy.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(policy.backoff(3, 1.0), Duration::from_millis(400));
        assert_eq!(policy.backoff(4, 1.0), Duration::from_millis(700));
        assert_eq!(policy.backoff(40, 1.0), Duration::from_millis(700));
        assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(200));
        assert_eq!(policy.backoff(3, 0.0), Duration::ZERO);
        // Out-of-range jitter is clamped rather than panicking.
        assert_eq!(policy.backoff(1, 7.0), Duration::from_millis(100));
        assert_eq!(policy.backoff(1, f64::NAN), Duration::from_millis(100));
    }

    #[test]
    fn non_idempotent_requests_retry_only_on_429() {
        for status in [500, 502, 503, 504] {
            assert!(retryable_status(status, true));
            assert!(!retryable_status(status, false));
        }
        assert!(retryable_status(429, false));
        assert!(!retryable_status(400, true));
        assert!(!retryable_status(401, true));
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now =
            httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("a valid HTTP date");
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_comes_from_the_vendor_headers_in_order() {
        let now = SystemTime::UNIX_EPOCH;
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ratelimit-retry-after",
            "7".parse().expect("a header value"),
        );
        headers.insert("ratelimit-reset", "9".parse().expect("a header value"));
        assert_eq!(
            retry_after_of(429, &headers, now),
            Some(Duration::from_secs(7))
        );
        headers.insert("retry-after", "3".parse().expect("a header value"));
        assert_eq!(
            retry_after_of(429, &headers, now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after_of(503, &headers, now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after_of(500, &headers, now), None);
        let mut reset_only = HeaderMap::new();
        reset_only.insert("ratelimit-reset", "9".parse().expect("a header value"));
        assert_eq!(
            retry_after_of(429, &reset_only, now),
            Some(Duration::from_secs(9))
        );
        assert_eq!(retry_after_of(503, &reset_only, now), None);
    }
}
