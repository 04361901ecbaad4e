use std::fmt;
use std::time::Duration;

use serde_json::Value;
use switchover_adapter::AdapterError;
use switchover_adapter::model::Kind;

/// Most bytes of an error response's body kept for the adapter to parse.
pub const MAX_ERROR_BODY: usize = 4096;

/// Most characters of an error body quoted in an error message.
const MESSAGE_SNIPPET: usize = 200;

/// Why a request failed. Messages name the method and the URL path, never the query
/// string, headers or credentials (a server echoing a credential back has it blanked).
///
/// An adapter turns it into an [`AdapterError`] with [`HttpError::into_adapter`], or, when
/// the request was about one record, [`HttpError::for_record`] /
/// [`HttpError::invalid_record`], which also map 404 to not-found and other 4xx rejections
/// to an invalid record.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// The server answered with a status other than success (after any retries).
    #[error("{method} {path}: HTTP {status}{}{}{}", reason(*status), attempts_note(*attempts), body_note(body))]
    Status {
        /// Request method.
        method: String,
        /// URL path, without the query string.
        path: String,
        /// HTTP status.
        status: u16,
        /// What the server's `Retry-After` (or equivalent) asked for, on 429 and 503.
        retry_after: Option<Duration>,
        /// The response body, lossily decoded, cut to [`MAX_ERROR_BODY`] bytes.
        body: String,
        /// Attempts made.
        attempts: u32,
    },
    /// No usable response: the connection failed, timed out or broke.
    #[error("{method} {path}: {failure}: {message}{}", attempts_note(*attempts))]
    Transport {
        /// Request method.
        method: String,
        /// URL path, without the query string.
        path: String,
        /// At which point it failed.
        failure: TransportFailure,
        /// What the network layer said.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A success response whose body is not what was expected (malformed JSON).
    #[error("{method} {path}: malformed response body (HTTP {status}): {message}")]
    Malformed {
        /// Request method.
        method: String,
        /// URL path, without the query string.
        path: String,
        /// HTTP status of the response.
        status: u16,
        /// What the parser said.
        message: String,
    },
    /// The request could not be built: a bad URL, header or JSON body.
    #[error("{}{path}: cannot build the request: {message}", method_prefix(method))]
    Request {
        /// Request method.
        method: String,
        /// URL path as given, without the query string.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The content of a multipart form could not be produced (its builder failed, e.g. the
    /// attachment's source could not be opened). Nothing was sent.
    #[error("{method} {path}: the request's content could not be produced: {message}")]
    Content {
        /// Request method.
        method: String,
        /// URL path, without the query string.
        path: String,
        /// What the form builder said.
        message: String,
    },
    /// The client's settings are unusable (base URL, header names, TLS setup).
    #[error("HTTP client settings: {message}")]
    Setup {
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// At which point a request without a usable response failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection could not be made (refused, DNS, connect timeout): the request was
    /// certainly not sent, so even a non-idempotent one is retried.
    Connect,
    /// No response in time: the server may have processed the request.
    Timeout,
    /// The connection broke after the request was (perhaps) sent: reset, closed early.
    Interrupted,
    /// The response body could not be read to the end.
    Body,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportFailure::Connect => "could not connect",
            TransportFailure::Timeout => "timed out",
            TransportFailure::Interrupted => "connection failed after sending",
            TransportFailure::Body => "response body could not be read",
        })
    }
}

fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

fn method_prefix(method: &str) -> String {
    if method.is_empty() {
        String::new()
    } else {
        format!("{method} ")
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

fn body_note(body: &str) -> String {
    let one_line: String = body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MESSAGE_SNIPPET)
        .collect();
    if one_line.is_empty() {
        String::new()
    } else {
        format!(": {one_line}")
    }
}

impl HttpError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } | HttpError::Malformed { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error response's body (cut to [`MAX_ERROR_BODY`] bytes), for parsing the
    /// vendor's error JSON.
    pub fn body(&self) -> Option<&str> {
        match self {
            HttpError::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    /// How long the server asked to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the server rejected the request itself: a 4xx other than 401, 403, 404,
    /// 408 and 429. About one record, that means the record is invalid.
    pub fn is_rejection(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => {
                (400..500).contains(status) && !matches!(status, 401 | 403 | 404 | 408 | 429)
            }
            _ => false,
        }
    }

    /// The field and reason of a rejection, read from the common shapes of vendor error
    /// JSON (Zendesk `details`, Freshdesk `errors[].field`, Help Scout
    /// `_embedded.errors[].path`, a bare `message`/`error`/`description`). The field is
    /// empty when the body names none.
    pub fn rejection_detail(&self) -> Option<(String, String)> {
        self.body().and_then(rejection_detail)
    }

    /// The adapter error for this failure when it is not about one record: 401 ->
    /// authentication; 403 -> permission; 404 -> settings (the endpoint does not exist:
    /// wrong base URL); 429 -> rate limited with the server's `Retry-After`; 408, 5xx,
    /// network failures, malformed bodies and content that could not be produced ->
    /// transient; other 4xx and bad requests -> fatal; bad client settings -> settings.
    pub fn into_adapter(&self, adapter: &str) -> AdapterError {
        let message = self.to_string();
        match self {
            HttpError::Status {
                method,
                path,
                status,
                retry_after,
                body,
                ..
            } => match *status {
                401 => AdapterError::Authentication {
                    adapter: adapter.into(),
                    message,
                },
                403 => AdapterError::Permission {
                    adapter: adapter.into(),
                    action: format!("{method} {path}"),
                    message: format!("HTTP 403{}", body_note(body)),
                },
                404 => AdapterError::config(
                    adapter,
                    format!("{message}; the endpoint does not exist: check the base URL"),
                ),
                429 => AdapterError::RateLimited {
                    adapter: adapter.into(),
                    retry_after: *retry_after,
                },
                408 | 500..=599 => AdapterError::transient(adapter, message),
                _ => AdapterError::fatal(adapter, message),
            },
            HttpError::Transport { .. }
            | HttpError::Malformed { .. }
            | HttpError::Content { .. } => AdapterError::transient(adapter, message),
            HttpError::Request { .. } => AdapterError::fatal(adapter, message),
            HttpError::Setup { .. } => AdapterError::config(adapter, message),
        }
    }

    /// The adapter error for a request about one record (`kind`, source or target `id`):
    /// 404 -> not found; a rejection -> invalid record with the field and reason found by
    /// [`HttpError::rejection_detail`]; anything else as [`HttpError::into_adapter`].
    pub fn for_record(&self, adapter: &str, kind: Kind, id: &str) -> AdapterError {
        match self.rejection_detail() {
            Some((field, reason)) => self.invalid_record(adapter, kind, id, field, reason),
            None => {
                let reason = match self {
                    HttpError::Status { status, body, .. } => {
                        format!("HTTP {status}{}{}", reason(*status), body_note(body))
                    }
                    other => other.to_string(),
                };
                self.invalid_record(adapter, kind, id, String::new(), reason)
            }
        }
    }

    /// Like [`HttpError::for_record`], with the field and reason the adapter parsed from
    /// the vendor's error body itself (used only if this is a rejection).
    pub fn invalid_record(
        &self,
        adapter: &str,
        kind: Kind,
        id: &str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> AdapterError {
        if self.status() == Some(404) && matches!(self, HttpError::Status { .. }) {
            return AdapterError::NotFound {
                adapter: adapter.into(),
                kind,
                id: id.into(),
            };
        }
        if !self.is_rejection() {
            return self.into_adapter(adapter);
        }
        let field = field.into();
        AdapterError::invalid(
            adapter,
            kind,
            id,
            if field.is_empty() {
                "(unspecified)".into()
            } else {
                field
            },
            reason,
        )
    }
}

/// See [`HttpError::rejection_detail`].
fn rejection_detail(body: &str) -> Option<(String, String)> {
    let json: Value = serde_json::from_str(body).ok()?;
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Array(items) => items.iter().find_map(|item| match item {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => ["description", "message", "error"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string)),
                _ => None,
            }),
            _ => None,
        }
    };
    // Freshdesk: {"description":"Validation failed","errors":[{"field":"email","message":"..."}]}
    // Help Scout: {"_embedded":{"errors":[{"path":"customer.email","message":"..."}]}}
    let errors = json
        .get("errors")
        .or_else(|| json.pointer("/_embedded/errors"))
        .and_then(Value::as_array);
    if let Some(first) = errors.and_then(|e| e.first()) {
        let field = ["field", "path", "source"]
            .iter()
            .find_map(|k| first.get(*k).and_then(Value::as_str))
            .unwrap_or("");
        if let Some(reason) = ["message", "description", "detail"]
            .iter()
            .find_map(|k| first.get(*k).and_then(Value::as_str))
        {
            return Some((field.to_string(), reason.to_string()));
        }
    }
    // Zendesk: {"error":"RecordInvalid","description":"...","details":{"email":[{"description":"..."}]}}
    if let Some(details) = json.get("details").and_then(Value::as_object)
        && let Some((field, reason)) = details
            .iter()
            .find_map(|(field, v)| text(v).map(|r| (field.clone(), r)))
    {
        return Some((field, reason));
    }
    [
        "message",
        "description",
        "error_description",
        "error",
        "detail",
    ]
    .iter()
    .find_map(|k| json.get(*k).and_then(&text))
    .map(|reason| (String::new(), reason))
}

/// Lossily decodes an error body, cut to at most [`MAX_ERROR_BODY`] bytes on a
/// character boundary.
pub(crate) fn truncate_body(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_ERROR_BODY)];
    // A character split by the cut is dropped rather than shown as a replacement mark.
    let cut = match std::str::from_utf8(cut) {
        Err(e) if e.error_len().is_none() => &cut[..e.valid_up_to()],
        _ => cut,
    };
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchover_adapter::ErrorKind;

    fn status(code: u16, body: &str) -> HttpError {
        HttpError::Status {
            method: "POST".into(),
            path: "/api/v2/tickets.json".into(),
            status: code,
            retry_after: (code == 429).then_some(Duration::from_secs(3)),
            body: body.into(),
            attempts: 1,
        }
    }

    #[test]
    fn statuses_map_to_the_adapter_error_kinds() {
        let kinds: Vec<ErrorKind> = [401, 403, 404, 429, 500, 503, 400, 422, 408]
            .iter()
            .map(|&c| status(c, "").into_adapter("zendesk").kind())
            .collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::Authentication,
                ErrorKind::Permission,
                ErrorKind::Config,
                ErrorKind::RateLimited,
                ErrorKind::Transient,
                ErrorKind::Transient,
                ErrorKind::Fatal,
                ErrorKind::Fatal,
                ErrorKind::Transient,
            ]
        );
        assert_eq!(
            status(429, "").into_adapter("zendesk").retry_after(),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn record_errors_become_not_found_or_invalid_record() {
        let not_found = status(404, "").for_record("zendesk", Kind::Ticket, "42");
        assert_eq!(not_found.kind(), ErrorKind::NotFound);
        let zendesk = r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"email":[{"description":"Email: is invalid","error":"InvalidValue"}]}}"#;
        match status(422, zendesk).for_record("zendesk", Kind::User, "7") {
            AdapterError::InvalidRecord {
                field, reason, id, ..
            } => {
                assert_eq!(
                    (field.as_str(), reason.as_str(), id.as_str()),
                    ("email", "Email: is invalid", "7")
                );
            }
            other => panic!("expected an invalid record, got {other:?}"),
        }
        let adapter_parsed = status(400, "whatever").invalid_record(
            "freshdesk",
            Kind::Ticket,
            "9",
            "priority",
            "must be 1-4",
        );
        assert_eq!(adapter_parsed.kind(), ErrorKind::InvalidRecord);
        assert!(adapter_parsed.to_string().contains("priority"));
        // Not a rejection: the general mapping applies.
        assert_eq!(
            status(503, "")
                .for_record("zendesk", Kind::Ticket, "1")
                .kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            status(401, "")
                .invalid_record("zendesk", Kind::Ticket, "1", "f", "r")
                .kind(),
            ErrorKind::Authentication
        );
    }

    #[test]
    fn vendor_error_shapes_yield_field_and_reason() {
        let freshdesk = r#"{"description":"Validation failed","errors":[{"field":"email","message":"It should be in the 'valid email address' format","code":"invalid_value"}]}"#;
        let helpscout =
            r#"{"_embedded":{"errors":[{"path":"customer.email","message":"may not be empty"}]}}"#;
        assert_eq!(
            rejection_detail(freshdesk),
            Some((
                "email".into(),
                "It should be in the 'valid email address' format".into()
            ))
        );
        assert_eq!(
            rejection_detail(helpscout),
            Some(("customer.email".into(), "may not be empty".into()))
        );
        assert_eq!(
            rejection_detail(r#"{"message":"bad"}"#),
            Some((String::new(), "bad".into()))
        );
        assert_eq!(rejection_detail("<html>oops</html>"), None);
    }

    #[test]
    fn messages_quote_a_short_single_line_of_the_body() {
        let long = format!("line one\nline two {}", "x".repeat(5000));
        let text = status(400, &long).to_string();
        assert!(
            text.starts_with("POST /api/v2/tickets.json: HTTP 400 Bad Request: line one line two")
        );
        assert!(text.len() < 400);
    }

    #[test]
    fn truncation_keeps_valid_utf8() {
        let body = format!("x{}", "é".repeat(MAX_ERROR_BODY));
        let cut = truncate_body(body.as_bytes());
        // The cut falls inside the last 'é', which is dropped whole.
        assert_eq!(cut.len(), MAX_ERROR_BODY - 1);
        assert!(cut.chars().skip(1).all(|c| c == 'é'));
    }
}
