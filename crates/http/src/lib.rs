//! The one HTTP client every Switchover HTTP adapter uses, so that retries, backoff and
//! rate limiting are written once (DESIGN.md: "retry in the HTTP kit only").
//!
//! An adapter builds one [`HttpClient`] per vendor account from a [`ClientConfig`] and
//! hands clones to its worker threads. Each request goes through:
//! 1. the [`Pacer`], shared by every clone, which spaces request starts to the plan's
//!    requests-per-minute budget, slows down when the vendor's rate-limit headers say few
//!    requests remain, and holds every thread after a 429 until its `Retry-After`;
//! 2. credentials ([`Auth`]), sent only to the base URL's origin and never printed;
//! 3. retries ([`RetryPolicy`]) with exponential backoff and full jitter on connection
//!    failures, timeouts, 500/502/503/504 and 429. A request that is not idempotent
//!    (POST by default) is retried only when the server certainly did not process it: a
//!    429, or a connection that could not be made. A 5xx or a reset after sending comes
//!    back as a transient error so the engine reconciles through source markers instead
//!    of writing twice.
//!
//! Failures are [`HttpError`]s whose messages name the method and URL path, never the
//! query string, headers or credentials; [`HttpError::into_adapter`],
//! [`HttpError::for_record`] and [`HttpError::invalid_record`] turn them into
//! [`AdapterError`](switchover_adapter::AdapterError)s. [`Counters`] tell benchmarks how
//! many requests, retries and 429s there were and how long pacing took.
//!
//! ```no_run
//! use serde::Deserialize;
//! use switchover_adapter::{AdapterError, Secret, model::Kind};
//! use switchover_http::{Auth, ClientConfig, HttpClient, Request};
//!
//! #[derive(Deserialize)]
//! struct TicketPage { tickets: Vec<serde_json::Value> }
//!
//! fn read(token: Secret) -> Result<TicketPage, AdapterError> {
//!     let client = HttpClient::new(ClientConfig {
//!         auth: Auth::bearer(token),
//!         requests_per_minute: Some(700),
//!         ..ClientConfig::new("https://acme.zendesk.com/api/v2/")
//!     })
//!     .map_err(|e| e.into_adapter("zendesk"))?;
//!     let page: TicketPage = client
//!         .get_json("tickets.json?page[size]=100")
//!         .map_err(|e| e.into_adapter("zendesk"))?;
//!     // A write about one record: a PUT may be retried, and a refusal names the field.
//!     let body = serde_json::json!({"ticket": {"status": "solved"}});
//!     let request = Request::put("tickets/42.json")
//!         .json(&body)
//!         .map_err(|e| e.into_adapter("zendesk"))?;
//!     client
//!         .send(request)
//!         .map_err(|e| e.for_record("zendesk", Kind::Ticket, "42"))?;
//!     Ok(page)
//! }
//! ```

#![deny(missing_docs)]

mod auth;
mod client;
mod counters;
mod error;
mod pacer;
mod request;
mod retry;

pub use auth::Auth;
pub use client::{ClientConfig, HttpClient};
pub use counters::{CounterSnapshot, Counters};
pub use error::{HttpError, MAX_ERROR_BODY, TransportFailure};
pub use pacer::{Pacer, PacerState, RateLimitHeaders};
pub use request::{Request, Response};
pub use retry::{RetryPolicy, cap_total_wait, parse_retry_after};

/// reqwest's multipart types, for [`Request::multipart`] (file uploads).
pub use reqwest::blocking::multipart;
/// Response header types, for [`Response::headers`].
pub use reqwest::header;
/// Request methods and URLs, for [`Request::new`] and [`HttpClient::url`].
pub use reqwest::{Method, Url};
