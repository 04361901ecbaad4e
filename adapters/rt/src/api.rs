//! A thin layer over the HTTP kit for RT's REST 2.0: JSON in and out, errors mapped to
//! [`AdapterError`], and the web-UI session that scrip management needs (REST 2.0 has no
//! scrip endpoint). Retries, backoff and pacing live in `switchover-http`, not here.

use std::io::Read;

use serde_json::Value;
use switchover_adapter::{AdapterError, Secret};
use switchover_http::{Auth, ClientConfig, HttpClient, HttpError, Request};

use crate::NAME;

/// A connection to one RT instance.
#[derive(Clone)]
pub(crate) struct Api {
    http: HttpClient,
    /// The RT web root, e.g. `http://127.0.0.1:8080` (no trailing slash).
    root: String,
    user: String,
    password: Secret,
}

pub(crate) fn http_err(e: &HttpError) -> AdapterError {
    e.into_adapter(NAME)
}

/// Percent-encodes `pairs` as `application/x-www-form-urlencoded`.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    out.push(byte as char)
                }
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    }
    out
}

impl Api {
    pub(crate) fn new(
        url: &str,
        user: &str,
        password: Secret,
        requests_per_minute: Option<u32>,
    ) -> Result<Self, AdapterError> {
        let root = url.trim_end_matches('/').to_string();
        let http = HttpClient::new(ClientConfig {
            auth: Auth::basic(user, password.clone()),
            requests_per_minute,
            ..ClientConfig::new(format!("{root}/REST/2.0/"))
        })
        .map_err(|e| AdapterError::config(NAME, format!("setting 'url': {e}")))?;
        Ok(Api {
            http,
            root,
            user: user.to_string(),
            password,
        })
    }

    pub(crate) fn root(&self) -> &str {
        &self.root
    }

    pub(crate) fn send(&self, request: Request) -> Result<Value, AdapterError> {
        let response = self.http.send(request).map_err(|e| http_err(&e))?;
        if response.body().is_empty() {
            return Ok(Value::Null);
        }
        response.json::<Value>().map_err(|e| http_err(&e))
    }

    /// Like [`Api::send`] but keeps the HTTP error for per-record mapping.
    pub(crate) fn try_send(&self, request: Request) -> Result<Value, HttpError> {
        let response = self.http.send(request)?;
        if response.body().is_empty() {
            return Ok(Value::Null);
        }
        response.json::<Value>()
    }

    pub(crate) fn get(&self, path: &str) -> Result<Value, AdapterError> {
        self.send(Request::get(path))
    }

    pub(crate) fn get_query(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, AdapterError> {
        let mut request = Request::get(path);
        for (k, v) in query {
            request = request.query(*k, v);
        }
        self.send(request)
    }

    /// POSTs a JSON search (REST2's JSON query on collections): a read, so retried.
    pub(crate) fn search_json(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &Value,
    ) -> Result<Value, AdapterError> {
        let mut request = Request::post(path)
            .json(body)
            .map_err(|e| http_err(&e))?
            .idempotent(true);
        for (k, v) in query {
            request = request.query(*k, v);
        }
        self.send(request)
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Result<Value, HttpError> {
        self.try_send(Request::post(path).json(body)?)
    }

    pub(crate) fn put(&self, path: &str, body: &Value) -> Result<Value, HttpError> {
        self.try_send(Request::put(path).json(body)?)
    }

    pub(crate) fn delete(&self, path: &str) -> Result<Value, HttpError> {
        self.try_send(Request::delete(path))
    }

    pub(crate) fn multipart(
        &self,
        path: &str,
        make: impl Fn() -> std::io::Result<switchover_http::multipart::Form> + Send + Sync + 'static,
    ) -> Result<Value, HttpError> {
        self.try_send(Request::post(path).multipart(make))
    }

    /// An attachment's bytes: REST2 returns them base64-encoded in `Content`.
    pub(crate) fn attachment_bytes(&self, id: &str) -> Result<Vec<u8>, AdapterError> {
        let value = self.get(&format!("attachment/{id}"))?;
        let encoded = value
            .get("Content")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| {
                AdapterError::fatal(NAME, format!("attachment {id}: content is not base64: {e}"))
            })
    }

    /// Logs in to the web UI (needed for scrips, which REST2 does not expose) and returns
    /// the session cookie. A refused login is an authentication error.
    pub(crate) fn web_login(&self) -> Result<String, AdapterError> {
        let body = form(&[("user", &self.user), ("pass", self.password.expose())]);
        let request = Request::post(format!("{}/NoAuth/Login.html", self.root))
            .header("Referer", format!("{}/", self.root))
            .bytes(body.into_bytes(), "application/x-www-form-urlencoded")
            .idempotent(true);
        let cookie = match self.http.send(request) {
            Ok(response) => response
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("RT_SID_"))
                .and_then(|v| v.split(';').next())
                .map(str::to_string),
            Err(e) => return Err(http_err(&e)),
        };
        cookie.ok_or_else(|| AdapterError::Authentication {
            adapter: NAME.into(),
            message: "the web UI login set no session cookie".into(),
        })
    }

    /// GETs a web-UI page with a session cookie; a login form in the answer means the
    /// session was refused.
    pub(crate) fn web_get(&self, cookie: &str, path: &str) -> Result<String, AdapterError> {
        let request = Request::get(format!("{}{path}", self.root))
            .header("Cookie", cookie)
            .header("Referer", format!("{}/", self.root));
        let response = self.http.send(request).map_err(|e| http_err(&e))?;
        let text = response.text();
        if text.contains("name=\"pass\"") {
            return Err(AdapterError::Authentication {
                adapter: NAME.into(),
                message: "the web UI refused the login (user name or password wrong)".into(),
            });
        }
        Ok(text)
    }

    /// POSTs a web-UI form; RT answers a successful update with a redirect.
    pub(crate) fn web_post(
        &self,
        cookie: &str,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Result<(), AdapterError> {
        let url = format!("{}{path}", self.root);
        let request = Request::post(url.clone())
            .header("Cookie", cookie)
            .header("Referer", url)
            .bytes(
                form(pairs).into_bytes(),
                "application/x-www-form-urlencoded",
            )
            .idempotent(true);
        match self.http.send(request) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.status(), Some(301..=303)) => Ok(()),
            Err(e) => Err(http_err(&e)),
        }
    }
}

/// Reads a byte vector as a stream.
pub(crate) fn reader(bytes: Vec<u8>) -> Box<dyn Read + Send> {
    Box::new(std::io::Cursor::new(bytes))
}
