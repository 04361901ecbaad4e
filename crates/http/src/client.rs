use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use switchover_adapter::Secret;

use reqwest::header::{HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::scrub;
use crate::error::truncate_body;
use crate::request::{Body, path_only};
use crate::retry::{retry_after_of, retryable_status};
use crate::{
    Auth, CounterSnapshot, Counters, HttpError, MAX_ERROR_BODY, Pacer, Request, Response,
    RetryPolicy, TransportFailure,
};

/// Half a second's worth of a budget, 1 to 8 requests (1 without a budget).
fn default_burst(requests_per_minute: Option<u32>) -> u32 {
    requests_per_minute.map_or(1, |rpm| (rpm / 120).clamp(1, 8))
}

/// Redirects followed for one request without a body.
const MAX_REDIRECTS: usize = 5;

/// How to build an [`HttpClient`]. Start from [`ClientConfig::new`] and set fields:
///
/// ```
/// # use std::time::Duration;
/// # use switchover_http::{Auth, ClientConfig};
/// # use switchover_adapter::Secret;
/// let config = ClientConfig {
///     auth: Auth::bearer(Secret::new("token")),
///     requests_per_minute: Some(700),
///     ..ClientConfig::new("https://example.zendesk.com/api/v2/")
/// };
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL that request paths are joined to (a trailing `/` is added if missing).
    pub base_url: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Credentials.
    pub auth: Auth,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for one attempt (connect, send, each read of the body).
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Request budget; `None` paces only by what the vendor's headers say.
    pub requests_per_minute: Option<u32>,
    /// Requests that may start back to back before the budget's spacing applies; `0`
    /// (the default) for half a second's worth of the budget, at least 1 and at most 8
    /// (5 at 700 a minute): a thread that comes back late to the pacer, after a gap with
    /// nothing to send, takes up to that many of the slots it missed instead of losing
    /// them, while no minute sees more than the budget and the burst.
    pub burst: u32,
    /// How many requests a write (any method but GET and HEAD) counts for against the
    /// budget: 1 for most vendors, 2 for Help Scout.
    pub write_cost: u32,
}

impl ClientConfig {
    /// Defaults for a base URL: no auth, 10 s connect and 60 s overall timeouts,
    /// the default [`RetryPolicy`], no budget, the default burst.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            user_agent: concat!("switchover/", env!("CARGO_PKG_VERSION")).to_string(),
            auth: Auth::None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            requests_per_minute: None,
            burst: 0,
            write_cost: 1,
        }
    }
}

/// The one HTTP client every HTTP adapter uses: blocking reqwest over rustls, with
/// credentials, retries with backoff and `Retry-After`, a pacer shared by every clone and
/// thread, and errors that map onto [`AdapterError`](switchover_adapter::AdapterError).
///
/// Cloning is cheap and shares the connection pool, the pacer and the counters: give each
/// worker thread a clone of one client per vendor account.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::blocking::Client,
    base: Url,
    user_agent: String,
    auth: Auth,
    custom_auth: Option<(HeaderName, HeaderValue)>,
    sensitive: Vec<String>,
    retry: RetryPolicy,
    pacer: Pacer,
    write_cost: u32,
    counters: Counters,
    /// The bearer token of [`Auth::ClientCredentials`] and when to renew it.
    token: Mutex<Option<(Secret, Instant)>>,
}

/// Renew a client-credentials token this long before the server said it expires.
const TOKEN_RENEWAL_MARGIN: Duration = Duration::from_secs(60);

impl Inner {
    /// The credentials to scrub from errors and logs, the current access token included.
    fn sensitive_now(&self) -> Vec<String> {
        let mut out = self.sensitive.clone();
        if let Some((token, _)) = &*lock(&self.token) {
            out.push(token.expose().to_string());
        }
        out
    }

    fn forget_token(&self) {
        *lock(&self.token) = None;
    }

    /// The client-credentials access token, asked for when there is none or it is about
    /// to expire. A refusal is the token endpoint's status (401/400: bad credentials).
    fn access_token(&self) -> Result<Secret, Failure> {
        let Auth::ClientCredentials {
            token_url,
            client_id,
            client_secret,
        } = &self.auth
        else {
            return Err(Failure::Content("not a client-credentials client".into()));
        };
        let mut token = lock(&self.token);
        if let Some((secret, renew_at)) = &*token
            && Instant::now() < *renew_at
        {
            return Ok(secret.clone());
        }
        let response = self
            .http
            .post(token_url)
            .header(reqwest::header::USER_AGENT, self.user_agent.as_str())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
            ])
            .send()
            .map_err(|e| Failure::Transport {
                failure: classify(&e),
                message: format!("token endpoint {token_url}: {}", describe(e)),
            })?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| Failure::Transport {
            failure: TransportFailure::Body,
            message: describe(e),
        })?;
        if !(200..300).contains(&status) {
            return Err(Failure::Status {
                status,
                retry_after: None,
                body: scrub(
                    &format!(
                        "the token endpoint refused the client: {}",
                        truncate_body(&body)
                    ),
                    &self.sensitive,
                ),
            });
        }
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| Failure::Content(format!("token endpoint {token_url}: not JSON: {e}")))?;
        let access = answer
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Failure::Content(format!("token endpoint {token_url}: no access_token"))
            })?;
        let lifetime = answer
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .map_or(Duration::from_secs(3600), Duration::from_secs);
        let secret = Secret::new(access);
        *token = Some((
            secret.clone(),
            Instant::now() + lifetime.saturating_sub(TOKEN_RENEWAL_MARGIN),
        ));
        Ok(secret)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why one attempt produced no success.
enum Failure {
    /// The multipart form could not be built: nothing was sent, nothing to retry.
    Content(String),
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    Transport {
        failure: TransportFailure,
        message: String,
    },
}

impl HttpClient {
    /// Builds a client; fails on an unusable base URL or auth header name.
    pub fn new(config: ClientConfig) -> Result<Self, HttpError> {
        let setup = |message: String| HttpError::Setup { message };
        let mut base = Url::parse(&config.base_url)
            .map_err(|e| setup(format!("base URL is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(setup(format!(
                "base URL must be http or https, not {}",
                base.scheme()
            )));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(setup(
                "base URL must not carry credentials; give them as the client's auth".into(),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let custom_auth = match &config.auth {
            Auth::Header { name, value } => {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| setup(format!("auth header name '{name}' is not valid")))?;
                let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                    setup(format!(
                        "auth header {name} has a value that cannot be sent"
                    ))
                })?;
                value.set_sensitive(true);
                Some((name, value))
            }
            _ => None,
        };
        let http = reqwest::blocking::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            // Redirects are followed by hand, so credentials go to the base origin only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| setup(format!("cannot build the HTTP client: {}", describe(e))))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                base,
                user_agent: config.user_agent,
                sensitive: config.auth.sensitive_strings(),
                auth: config.auth,
                custom_auth,
                retry: config.retry,
                pacer: Pacer::new(
                    config.requests_per_minute,
                    match config.burst {
                        0 => default_burst(config.requests_per_minute),
                        burst => burst,
                    },
                ),
                write_cost: config.write_cost.max(1),
                token: Mutex::new(None),
                counters: Counters::default(),
            }),
        })
    }

    /// The base URL paths are joined to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The absolute URL of `path`: relative to the base URL (a leading `/` is ignored), or
    /// `path` itself when it is an absolute `http(s)://` URL.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        let parsed = if path.starts_with("http://") || path.starts_with("https://") {
            Url::parse(path)
        } else {
            self.inner.base.join(path.trim_start_matches('/'))
        };
        parsed.map_err(|e| HttpError::Request {
            method: String::new(),
            path: path_only(path).to_string(),
            message: format!("not a valid URL: {e}"),
        })
    }

    /// What this client and its clones have done so far.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> CounterSnapshot {
        self.inner.counters.snapshot()
    }

    /// The pacer shared by this client's clones.
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// Sends a request, retrying as its idempotency allows, and reads the whole body.
    /// Any status other than 2xx is an error ([`HttpError::Status`], body kept).
    pub fn send(&self, request: Request) -> Result<Response, HttpError> {
        self.execute(&request, |response, path| {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().map_err(|e| Failure::Transport {
                failure: TransportFailure::Body,
                message: describe(e),
            })?;
            Ok(Response {
                method: request.method.clone(),
                path: path.to_string(),
                status,
                headers,
                body: body.to_vec(),
            })
        })
    }

    /// Sends a request and returns its body as a stream (attachment content), once the
    /// status is known to be a success. Retries cover getting the response, not reading
    /// the stream; a read error mid-stream is the caller's to handle.
    pub fn open(&self, request: Request) -> Result<Box<dyn Read + Send>, HttpError> {
        self.execute(&request, |response, _| {
            Ok(Box::new(response) as Box<dyn Read + Send>)
        })
    }

    /// GETs `path` and parses the JSON body.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        self.send(Request::get(path))?.json()
    }

    /// POSTs `body` as JSON and parses the JSON answer (as `serde::de::IgnoredAny` to
    /// ignore it). Not idempotent: a 5xx or a broken connection after sending is returned,
    /// not retried; for an upsert or a request with an idempotency key, use
    /// [`HttpClient::send`] with [`Request::idempotent`] or [`Request::idempotency_key`].
    pub fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, HttpError> {
        self.send(Request::post(path).json(body)?)?.json()
    }

    /// PUTs `body` as JSON and parses the JSON answer.
    pub fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, HttpError> {
        self.send(Request::put(path).json(body)?)?.json()
    }

    /// DELETEs `path`.
    pub fn delete(&self, path: &str) -> Result<Response, HttpError> {
        self.send(Request::delete(path))
    }

    /// GETs `path` as a byte stream (attachment content).
    pub fn download(&self, path: &str) -> Result<Box<dyn Read + Send>, HttpError> {
        self.open(Request::get(path))
    }

    /// The retry loop: pace, send, classify, wait, again. `finish` turns a success
    /// response into the result (reading the body is part of the attempt, so a body that
    /// breaks off is retried like any other failure).
    fn execute<T>(
        &self,
        request: &Request,
        finish: impl Fn(reqwest::blocking::Response, &str) -> Result<T, Failure>,
    ) -> Result<T, HttpError> {
        let inner = &*self.inner;
        let method = request.method.to_string();
        let mut url = self.url(&request.path).map_err(|e| match e {
            HttpError::Request { path, message, .. } => HttpError::Request {
                method: method.clone(),
                path,
                message,
            },
            other => other,
        })?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        let path = url.path().to_string();
        let mut policy = inner.retry;
        policy.max_total_wait = policy.max_total_wait.min(crate::retry::total_wait_cap());
        let max_attempts = policy.max_attempts.max(1);
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        let cost = match request.method() {
            &reqwest::Method::GET | &reqwest::Method::HEAD => 1,
            _ => inner.write_cost,
        };
        let mut renewed_token = false;
        loop {
            attempt += 1;
            inner.counters.add_paced(inner.pacer.acquire_weighted(cost));
            let started = Instant::now();
            let failure = match self.attempt(request, &url) {
                Err(e) => e,
                Ok(response) => {
                    let status = response.status().as_u16();
                    inner.pacer.observe(response.headers());
                    log::debug!(
                        "{method} {path} -> {status} in {} ms (attempt {attempt})",
                        started.elapsed().as_millis()
                    );
                    if response.status().is_success() {
                        match finish(response, &path) {
                            Ok(done) => return Ok(done),
                            Err(failure) => failure,
                        }
                    } else {
                        if status == 429 {
                            inner.counters.count_rate_limited();
                        }
                        let retry_after =
                            retry_after_of(status, response.headers(), SystemTime::now());
                        let mut body = Vec::new();
                        // A body that cannot be read is just not quoted.
                        let _ = response.take(MAX_ERROR_BODY as u64).read_to_end(&mut body);
                        Failure::Status {
                            status,
                            retry_after,
                            body: scrub(&truncate_body(&body), &inner.sensitive_now()),
                        }
                    }
                }
            };

            if let Failure::Status { status: 401, .. } = &failure
                && matches!(inner.auth, Auth::ClientCredentials { .. })
                && !renewed_token
            {
                // The token expired or was revoked: a new one, once, and the same request.
                log::info!("{method} {path}: 401, asking the token endpoint for a new token");
                renewed_token = true;
                inner.forget_token();
                attempt -= 1;
                continue;
            }
            let (retryable, server_wait, holds_everyone) = match &failure {
                Failure::Status {
                    status,
                    retry_after,
                    ..
                } => (
                    retryable_status(*status, request.idempotent),
                    *retry_after,
                    *status == 429 || (*status == 503 && retry_after.is_some()),
                ),
                Failure::Transport { failure, .. } => (
                    *failure == TransportFailure::Connect || request.idempotent,
                    None,
                    false,
                ),
                Failure::Content(_) => (false, None, false),
            };
            let delay =
                server_wait.unwrap_or_else(|| policy.backoff(attempt, rand::random::<f64>()));
            if holds_everyone {
                // The budget is shared: every thread waits, not only this one. A wait past
                // the cap surfaces as an error instead of blocking silently.
                inner.pacer.hold(delay.min(policy.max_total_wait));
            }
            if !retryable || attempt >= max_attempts || waited + delay > policy.max_total_wait {
                return Err(self.error(&method, &path, failure, attempt));
            }
            log::warn!(
                "{method} {path}: {}; retry {attempt} of {} in {} ms",
                scrub(&failure_summary(&failure), &inner.sensitive_now()),
                max_attempts - 1,
                delay.as_millis()
            );
            inner.counters.count_retry();
            waited += delay;
            if !holds_everyone && !delay.is_zero() {
                std::thread::sleep(delay);
                inner.counters.add_backoff(delay);
            }
        }
    }

    /// One attempt, following redirects of body-less requests by hand.
    fn attempt(
        &self,
        request: &Request,
        url: &Url,
    ) -> Result<reqwest::blocking::Response, Failure> {
        let inner = &*self.inner;
        let mut url = url.clone();
        let mut method = request.method.clone();
        let mut hops = 0;
        loop {
            let mut builder = inner.http.request(method.clone(), url.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            if url.origin() == inner.base.origin() {
                builder = match &inner.auth {
                    Auth::None => builder,
                    Auth::Basic { user, password } => {
                        builder.basic_auth(user, Some(password.expose()))
                    }
                    Auth::Bearer(token) => builder.bearer_auth(token.expose()),
                    Auth::ClientCredentials { .. } => {
                        builder.bearer_auth(inner.access_token()?.expose())
                    }
                    Auth::Header { .. } => match &inner.custom_auth {
                        Some((name, value)) => builder.header(name.clone(), value.clone()),
                        None => builder,
                    },
                };
            }
            if hops == 0 {
                builder = match &request.body {
                    Body::Empty => builder,
                    Body::Bytes { data, content_type } => builder
                        .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                        .body(data.clone()),
                    Body::Multipart(make) => {
                        let form = make().map_err(|e| Failure::Content(e.to_string()))?;
                        builder.multipart(form)
                    }
                };
            }
            if hops == 0 {
                inner.counters.count_request();
            }
            let response = builder.send().map_err(|e| Failure::Transport {
                failure: classify(&e),
                message: describe(e),
            })?;
            let status = response.status().as_u16();
            let next = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok());
            match next {
                Some(next)
                    if matches!(status, 301 | 302 | 303 | 307 | 308)
                        && !request.has_body()
                        && hops < MAX_REDIRECTS =>
                {
                    log::debug!(
                        "{method} {} -> {status}, following to {}",
                        url.path(),
                        next.path()
                    );
                    if status == 303 && method != Method::HEAD {
                        method = Method::GET;
                    }
                    url = next;
                    hops += 1;
                }
                _ => return Ok(response),
            }
        }
    }

    fn error(&self, method: &str, path: &str, failure: Failure, attempts: u32) -> HttpError {
        let (method, path) = (method.to_string(), path.to_string());
        match failure {
            Failure::Content(message) => HttpError::Content {
                method,
                path,
                message: scrub(&message, &self.inner.sensitive_now()),
            },
            Failure::Status {
                status,
                retry_after,
                body,
            } => HttpError::Status {
                method,
                path,
                status,
                retry_after,
                body,
                attempts,
            },
            Failure::Transport { failure, message } => HttpError::Transport {
                method,
                path,
                failure,
                message: scrub(&message, &self.inner.sensitive_now()),
                attempts,
            },
        }
    }
}

/// Where a request without a response failed. A connect error (refused, DNS, connect
/// timeout) means nothing was sent.
fn classify(e: &reqwest::Error) -> TransportFailure {
    if e.is_connect() {
        TransportFailure::Connect
    } else if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_body() || e.is_decode() {
        TransportFailure::Body
    } else {
        TransportFailure::Interrupted
    }
}

/// A reqwest error as text without its URL (which may carry a query-string token): the
/// error's own line and its causes.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn failure_summary(failure: &Failure) -> String {
    match failure {
        Failure::Content(message) => message.clone(),
        Failure::Status { status, .. } => format!("HTTP {status}"),
        Failure::Transport { failure, message } => format!("{failure}: {message}"),
    }
}

// Worker threads share one client.
const _: fn() = || {
    fn shared_across_threads<T: Send + Sync>() {}
    shared_across_threads::<HttpClient>();
};

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.inner.base.as_str())
            .field("user_agent", &self.inner.user_agent)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("counters", &self.inner.counters.snapshot())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pacer at 700 a minute lets the 5 slots of half a second start together after a
    /// gap, never a whole second's worth; no budget, no burst.
    #[test]
    fn the_default_burst_is_half_a_second_of_the_budget() {
        assert_eq!(default_burst(Some(700)), 5);
        assert_eq!(default_burst(Some(60)), 1);
        assert_eq!(default_burst(Some(100_000)), 8);
        assert_eq!(default_burst(None), 1);
    }
}
