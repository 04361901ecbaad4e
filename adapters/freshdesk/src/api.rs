//! Freshdesk requests through the shared HTTP kit (retries and pacing live there).

use std::io::Read;

use serde_json::Value;
use switchover_adapter::{AdapterError, Secret};
use switchover_http::{Auth, ClientConfig, HttpClient, HttpError, Request};
use switchover_model::{Attachment, Kind};

use crate::NAME;

/// The account's API.
pub(crate) struct Api {
    client: HttpClient,
}

/// One page of a list: the items and whether the `Link` header names a next page.
pub(crate) struct Listing {
    pub items: Vec<Value>,
    pub has_next: bool,
}

impl Api {
    pub fn new(url: &str, key: Secret, rpm: Option<u32>) -> Result<Self, AdapterError> {
        let base = format!("{}/api/v2/", url.trim_end_matches('/'));
        let client = HttpClient::new(ClientConfig {
            // The API key is the user; the password is ignored (`X` by convention).
            auth: Auth::basic(key.expose(), Secret::new("X")),
            requests_per_minute: rpm,
            ..ClientConfig::new(base)
        })
        .map_err(|e| e.into_adapter(NAME))?;
        Ok(Api { client })
    }

    /// The account's root URL (`https://acme.freshdesk.com`), without the API path.
    pub fn root(&self) -> String {
        let base = self.client.base_url().as_str().trim_end_matches('/');
        base.strip_suffix("/api/v2").unwrap_or(base).to_string()
    }

    pub fn requests(&self) -> u64 {
        self.client.snapshot().requests
    }

    /// GETs a path with a query and parses the JSON body.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, AdapterError> {
        self.listing_or_value(path, query).map(|(v, _)| v)
    }

    fn listing_or_value(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(Value, bool), AdapterError> {
        let mut request = Request::get(path);
        for (k, v) in query {
            request = request.query(*k, v);
        }
        let response = self
            .client
            .send(request)
            .map_err(|e| e.into_adapter(NAME))?;
        let has_next = response
            .header("link")
            .is_some_and(|l| l.contains("rel=\"next\""));
        let value: Value = response.json().map_err(|e| e.into_adapter(NAME))?;
        Ok((value, has_next))
    }

    /// One page of a list endpoint (a bare array).
    pub fn list(&self, path: &str, query: &[(&str, String)]) -> Result<Listing, AdapterError> {
        let (value, has_next) = self.listing_or_value(path, query)?;
        match value {
            Value::Array(items) => Ok(Listing { items, has_next }),
            other => Err(AdapterError::fatal(
                NAME,
                format!(
                    "GET {path}: expected a JSON array, got {}",
                    other.to_string().chars().take(120).collect::<String>()
                ),
            )),
        }
    }

    /// Every page of a list endpoint.
    pub fn list_all(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, AdapterError> {
        let mut all = Vec::new();
        for page in 1.. {
            let mut q = query.to_vec();
            q.push(("per_page", "100".into()));
            q.push(("page", page.to_string()));
            let listing = self.list(path, &q)?;
            all.extend(listing.items);
            if !listing.has_next {
                break;
            }
        }
        Ok(all)
    }

    /// A write about one record: JSON body, parsed answer.
    pub fn write_json(
        &self,
        request: Request,
        body: &Value,
        kind: Kind,
        source_id: &str,
    ) -> Result<Value, AdapterError> {
        let request = request.json(body).map_err(|e| e.into_adapter(NAME))?;
        self.write(request, kind, source_id)
    }

    /// Sends a prepared write about one record.
    pub fn write(
        &self,
        request: Request,
        kind: Kind,
        source_id: &str,
    ) -> Result<Value, AdapterError> {
        let response = self
            .client
            .send(request)
            .map_err(|e| record_error(&e, kind, source_id))?;
        if response.body().is_empty() {
            return Ok(Value::Null);
        }
        response.json().map_err(|e| e.into_adapter(NAME))
    }

    /// DELETE; a 404 counts as done.
    pub fn delete(&self, path: &str, kind: Kind, id: &str) -> Result<(), AdapterError> {
        match self.client.send(Request::delete(path)) {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e.for_record(NAME, kind, id)),
        }
    }

    /// Opens attachment bytes from their (pre-signed) URL.
    pub fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        let url = attachment
            .location
            .as_deref()
            .ok_or_else(|| AdapterError::NotFound {
                adapter: NAME.into(),
                kind: Kind::Attachment,
                id: attachment.id.clone(),
            })?;
        self.client
            .download(url)
            .map_err(|e| e.for_record(NAME, Kind::Attachment, &attachment.id))
    }

    /// The bytes of an attachment.
    pub fn attachment_bytes(&self, url: &str, id: &str) -> Result<Vec<u8>, AdapterError> {
        let mut reader = self
            .client
            .download(url)
            .map_err(|e| e.for_record(NAME, Kind::Attachment, id))?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| AdapterError::transient(NAME, format!("reading attachment {id}: {e}")))?;
        Ok(bytes)
    }
}

/// The error for a refused write, with Freshdesk's `errors[].field` and message.
pub(crate) fn record_error(e: &HttpError, kind: Kind, source_id: &str) -> AdapterError {
    let detail = e.body().and_then(|body| {
        let v: Value = serde_json::from_str(body).ok()?;
        let errors = v.get("errors")?.as_array()?;
        let fields: Vec<String> = errors
            .iter()
            .filter_map(|x| x.get("field").and_then(Value::as_str).map(str::to_string))
            .collect();
        let reasons: Vec<String> = errors
            .iter()
            .map(|x| {
                format!(
                    "{} ({})",
                    x.get("message").and_then(Value::as_str).unwrap_or(""),
                    x.get("code").and_then(Value::as_str).unwrap_or("")
                )
            })
            .collect();
        Some((fields.join(", "), reasons.join("; ")))
    });
    match detail {
        Some((field, reason)) => e.invalid_record(NAME, kind, source_id, field, reason),
        None => e.for_record(NAME, kind, source_id),
    }
}
