//! Per-minute request budgets, the gate that applies budget and faults around a vendor's
//! handler, and page-size / page-depth limits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{FaultDecision, Faults, Request, Response};

/// The names a vendor uses for its rate-limit headers (several spellings may be sent at once).
#[derive(Debug, Clone, Default)]
pub struct RateHeaders {
    /// Headers carrying the limit per window.
    pub limit: Vec<String>,
    /// Headers carrying the requests left in the window.
    pub remaining: Vec<String>,
    /// Headers carrying seconds until the window resets.
    pub reset: Vec<String>,
}

impl RateHeaders {
    /// Adds the headers for this state of a budget to a response.
    pub fn apply(&self, response: &mut Response, limit: u32, remaining: u32, reset_secs: u64) {
        for name in &self.limit {
            response.headers.push((name.clone(), limit.to_string()));
        }
        for name in &self.remaining {
            response.headers.push((name.clone(), remaining.to_string()));
        }
        for name in &self.reset {
            response
                .headers
                .push((name.clone(), reset_secs.to_string()));
        }
    }
}

/// A fixed one-minute window of at most `limit` requests.
#[derive(Debug)]
pub struct Budget {
    limit: u32,
    window: Duration,
    state: Mutex<(Instant, u32)>,
}

/// The outcome of spending one request from a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetCheck {
    /// Allowed; this many left in the window, which resets in this many seconds.
    Allowed {
        /// Requests left in the window.
        remaining: u32,
        /// Seconds until the window resets.
        reset_secs: u64,
    },
    /// Refused; retry after this many seconds.
    Exceeded {
        /// Seconds until the window resets (at least 1).
        retry_after: u64,
    },
}

impl Budget {
    /// A budget of `limit` requests per minute.
    pub fn per_minute(limit: u32) -> Self {
        Budget::new(limit, Duration::from_secs(60))
    }

    /// A budget of `limit` requests per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Budget {
            limit,
            window,
            state: Mutex::new((Instant::now(), 0)),
        }
    }

    /// The limit per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Spends one request.
    pub fn spend(&self) -> BudgetCheck {
        let now = Instant::now();
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        if now.duration_since(state.0) >= self.window {
            *state = (now, 0);
        }
        let left = self.window.saturating_sub(now.duration_since(state.0));
        let reset_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if state.1 >= self.limit {
            return BudgetCheck::Exceeded {
                retry_after: reset_secs.max(1),
            };
        }
        state.1 += 1;
        BudgetCheck::Allowed {
            remaining: self.limit - state.1,
            reset_secs,
        }
    }
}

/// Budget and faults applied around a vendor's handler. Rate headers are sent on every
/// response when a budget is set; an unlimited account sends none (a client pacing on
/// them would otherwise slow down for a limit that does not exist).
pub struct Gate {
    budget: Option<Budget>,
    headers: RateHeaders,
    faults: Faults,
    seed: u64,
    index: AtomicU64,
    too_many_body: String,
}

impl Gate {
    /// A gate with an optional per-minute budget, the vendor's header names, and faults.
    pub fn new(rpm: Option<u32>, headers: RateHeaders, faults: Faults, seed: u64) -> Self {
        Gate {
            budget: rpm.map(Budget::per_minute),
            headers,
            faults,
            seed,
            index: AtomicU64::new(0),
            too_many_body: "Too Many Requests: rate limit exceeded, retry later\n".into(),
        }
    }

    /// The 429 response a vendor sends (text body, `Retry-After`).
    pub fn too_many(&self, retry_after: u64) -> Response {
        Response::text(429, &self.too_many_body).with_header("Retry-After", retry_after.to_string())
    }

    /// Runs faults and the budget, then `handler`; adds rate headers to what is returned.
    pub fn serve(&self, request: &Request, handler: impl FnOnce(&Request) -> Response) -> Response {
        let index = self.index.fetch_add(1, Ordering::Relaxed);
        if !self.faults.latency.is_zero() {
            std::thread::sleep(self.faults.latency);
        }
        match self.faults.decide(self.seed, index) {
            FaultDecision::Pass => {}
            FaultDecision::TooMany => return self.too_many(1),
            FaultDecision::Error500 => {
                return Response::json(
                    500,
                    &serde_json::json!({"error": "InternalServerError", "description": "injected fault"}),
                );
            }
            FaultDecision::Error503 => {
                return Response::text(503, "Service Unavailable (injected fault)\n")
                    .with_header("Retry-After", "1");
            }
            FaultDecision::Reset => {
                let mut response = handler(request);
                response.reset = true;
                return response;
            }
            FaultDecision::Mangle if request.method == "GET" => {
                let mut response = handler(request);
                let json = response
                    .header("Content-Type")
                    .is_some_and(|t| t.contains("json"));
                if (200..300).contains(&response.status) && json {
                    response.body = crate::mangle::mangle(&response.body, self.seed, index);
                }
                return response;
            }
            FaultDecision::Mangle => {}
        }
        match &self.budget {
            None => handler(request),
            Some(budget) => match budget.spend() {
                BudgetCheck::Exceeded { retry_after } => {
                    let mut response = self.too_many(retry_after);
                    self.headers
                        .apply(&mut response, budget.limit(), 0, retry_after);
                    response
                }
                BudgetCheck::Allowed {
                    remaining,
                    reset_secs,
                } => {
                    let mut response = handler(request);
                    self.headers
                        .apply(&mut response, budget.limit(), remaining, reset_secs);
                    response
                }
            },
        }
    }
}

/// Page-size and page-depth limits of a vendor's list endpoints.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Page size when none is asked for.
    pub default_size: usize,
    /// Largest page size accepted.
    pub max_size: usize,
    /// Deepest record reachable by offset paging (`page * per_page`), if limited.
    pub max_offset_records: Option<usize>,
}

impl PageLimits {
    /// The page size asked for, `Err` with a reason when above the cap or not a number.
    pub fn size(&self, asked: Option<&str>) -> Result<usize, String> {
        match asked {
            None | Some("") => Ok(self.default_size),
            Some(text) => match text.parse::<usize>() {
                Ok(0) => Err("page size must be at least 1".into()),
                Ok(n) if n > self.max_size => Err(format!(
                    "page size {n} is above the limit of {}",
                    self.max_size
                )),
                Ok(n) => Ok(n),
                Err(_) => Err(format!("page size {text:?} is not a number")),
            },
        }
    }

    /// Whether offset page `page` (1-based) of `per_page` is within the depth limit.
    pub fn offset_allowed(&self, page: usize, per_page: usize) -> bool {
        match self.max_offset_records {
            None => true,
            Some(max) => page.saturating_mul(per_page) <= max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_past_its_limit_with_a_retry_after() {
        let budget = Budget::per_minute(2);
        assert!(matches!(
            budget.spend(),
            BudgetCheck::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            budget.spend(),
            BudgetCheck::Allowed { remaining: 0, .. }
        ));
        match budget.spend() {
            BudgetCheck::Exceeded { retry_after } => assert!((1..=60).contains(&retry_after)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn page_limits_cap_size_and_depth() {
        let limits = PageLimits {
            default_size: 100,
            max_size: 100,
            max_offset_records: Some(10_000),
        };
        assert_eq!(limits.size(None), Ok(100));
        assert!(limits.size(Some("101")).is_err());
        assert!(limits.offset_allowed(100, 100));
        assert!(!limits.offset_allowed(101, 100));
    }
}
