use std::fmt;
use std::io;
use std::sync::Arc;

use reqwest::Method;
use reqwest::blocking::multipart::Form;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::HttpError;

/// Builds a multipart form anew for every attempt (a form is consumed when sent).
pub(crate) type FormMaker = Arc<dyn Fn() -> io::Result<Form> + Send + Sync>;

/// What a request sends.
#[derive(Clone)]
pub(crate) enum Body {
    Empty,
    Bytes { data: Vec<u8>, content_type: String },
    Multipart(FormMaker),
}

/// One request to send with [`HttpClient::send`](crate::HttpClient::send) or
/// [`HttpClient::open`](crate::HttpClient::open).
///
/// The path is relative to the client's base URL (a leading `/` is ignored), or an
/// absolute `http(s)://` URL such as a vendor's `next_page` link; credentials go only to
/// the base URL's origin.
///
/// Whether it may be retried after the server may have processed it depends on
/// [`Request::idempotent`]: GET, HEAD, PUT, DELETE and OPTIONS are idempotent by default,
/// POST and PATCH are not unless marked (an upsert, or a request carrying an idempotency
/// key, see [`Request::idempotency_key`]).
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) idempotent: bool,
}

impl Request {
    /// A request with any method.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            idempotent,
        }
    }

    /// A GET request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A POST request (not idempotent unless marked).
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// A PUT request.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    /// A PATCH request (not idempotent unless marked).
    pub fn patch(path: impl Into<String>) -> Self {
        Self::new(Method::PATCH, path)
    }

    /// A DELETE request.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Adds a query parameter (percent-encoded when sent; never shown in errors or logs).
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Adds a header; an invalid name or value fails the send with a request error.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `body` as JSON.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, HttpError> {
        let data = serde_json::to_vec(body).map_err(|e| HttpError::Request {
            method: self.method.to_string(),
            path: path_only(&self.path).to_string(),
            message: format!("body cannot be serialized to JSON: {e}"),
        })?;
        self.body = Body::Bytes {
            data,
            content_type: "application/json".into(),
        };
        Ok(self)
    }

    /// Sends raw bytes with a content type.
    pub fn bytes(mut self, data: Vec<u8>, content_type: impl Into<String>) -> Self {
        self.body = Body::Bytes {
            data,
            content_type: content_type.into(),
        };
        self
    }

    /// Sends a multipart form (file uploads), built by `make` for every attempt so a retry
    /// can reopen the files: `|| Ok(Form::new().text("body", "hi").part("attachments[]",
    /// Part::reader(open()?).file_name("a.pdf")))`. An error from `make` fails the send
    /// with a request error.
    pub fn multipart(
        mut self,
        make: impl Fn() -> io::Result<Form> + Send + Sync + 'static,
    ) -> Self {
        self.body = Body::Multipart(Arc::new(make));
        self
    }

    /// Marks whether the server may safely process this request twice, which allows
    /// retrying it after failures where the server may have processed it (5xx, resets).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Sends an idempotency key in `header` (`Idempotency-Key` for most vendors) and marks
    /// the request idempotent.
    pub fn idempotency_key(self, header: impl Into<String>, key: impl Into<String>) -> Self {
        self.header(header, key).idempotent(true)
    }

    /// Whether it may be retried after the server may have processed it.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// Its method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    pub(crate) fn has_body(&self) -> bool {
        !matches!(self.body, Body::Empty)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.body {
            Body::Empty => "none".to_string(),
            Body::Bytes { data, content_type } => format!("{} bytes of {content_type}", data.len()),
            Body::Multipart(_) => "multipart form".to_string(),
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &path_only(&self.path))
            .field("idempotent", &self.idempotent)
            .field("body", &body)
            .finish_non_exhaustive()
    }
}

/// A path or URL without its query string or fragment, fit for messages.
pub(crate) fn path_only(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or("")
}

/// A successful response, body read in full.
pub struct Response {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The URL path that answered (no query string).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON. An empty body parses as `null` (so `()` and `Option<T>`
    /// accept a 204); a malformed one gives [`HttpError::Malformed`] naming the method and
    /// path, never a panic.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| HttpError::Malformed {
            method: self.method.to_string(),
            path: self.path.clone(),
            status: self.status,
            message: e.to_string(),
        })
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_follows_the_method_unless_marked() {
        assert!(Request::get("a").is_idempotent());
        assert!(Request::put("a").is_idempotent());
        assert!(Request::delete("a").is_idempotent());
        assert!(!Request::post("a").is_idempotent());
        assert!(!Request::patch("a").is_idempotent());
        assert!(Request::post("a").idempotent(true).is_idempotent());
        let keyed = Request::post("a").idempotency_key("Idempotency-Key", "k-1");
        assert!(keyed.is_idempotent());
        assert_eq!(
            keyed.headers,
            [("Idempotency-Key".to_string(), "k-1".to_string())]
        );
    }

    #[test]
    fn debug_hides_query_strings() {
        let req = Request::get("search?token=abc123").query("api_key", "zzz999");
        let text = format!("{req:?}");
        assert!(
            !text.contains("abc123") && !text.contains("zzz999"),
            "{text}"
        );
    }

    #[test]
    fn empty_bodies_parse_as_null_and_malformed_ones_name_the_path() {
        let mut response = Response {
            method: Method::GET,
            path: "/api/v2/users.json".into(),
            status: 200,
            headers: HeaderMap::new(),
            body: Vec::new(),
        };
        assert_eq!(response.json::<Option<u32>>().ok(), Some(None));
        response.body = b"{\"users\": [".to_vec();
        let err = response
            .json::<serde_json::Value>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("GET /api/v2/users.json: malformed response body"),
            "{err}"
        );
    }
}
