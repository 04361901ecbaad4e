//! Help Scout requests through the shared HTTP kit: OAuth 2.0 client credentials (a new
//! token before expiry and once on a 401), the per-minute budget with writes counted
//! twice, HAL lists, and creates that answer with a `Resource-ID` header.

use base64::Engine as _;
use serde_json::Value;
use switchover_adapter::{AdapterError, Secret};
use switchover_http::{Auth, ClientConfig, HttpClient, Request};
use switchover_model::Kind;

use crate::NAME;

/// The Mailbox API of one account.
pub(crate) struct Api {
    client: HttpClient,
}

/// One page of a HAL list.
pub(crate) struct HalPage {
    /// The items under `_embedded.<key>` (none when `_embedded` is left out).
    pub items: Vec<Value>,
    /// `page.totalPages`.
    pub total_pages: u64,
    /// `page.totalElements`.
    pub total: u64,
}

impl Api {
    /// A client for the account at `url` (`https://api.helpscout.net`).
    pub fn new(
        url: &str,
        app_id: &str,
        app_secret: Secret,
        rpm: Option<u32>,
    ) -> Result<Self, AdapterError> {
        let root = url.trim_end_matches('/');
        let client = HttpClient::new(ClientConfig {
            auth: Auth::client_credentials(format!("{root}/v2/oauth2/token"), app_id, app_secret),
            requests_per_minute: rpm,
            // Help Scout counts each POST, PUT, PATCH and DELETE twice.
            write_cost: 2,
            ..ClientConfig::new(format!("{root}/v2/"))
        })
        .map_err(|e| e.into_adapter(NAME))?;
        Ok(Api { client })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.client.snapshot().requests
    }

    /// GETs a path and parses the JSON body.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, AdapterError> {
        let mut request = Request::get(path);
        for (k, v) in query {
            request = request.query(*k, v);
        }
        let response = self
            .client
            .send(request)
            .map_err(|e| e.into_adapter(NAME))?;
        response.json().map_err(|e| e.into_adapter(NAME))
    }

    /// One page (1-based) of a HAL list whose items sit under `_embedded.<key>`.
    pub fn page(
        &self,
        path: &str,
        key: &str,
        query: &[(&str, String)],
        page: u64,
    ) -> Result<HalPage, AdapterError> {
        let mut query = query.to_vec();
        query.push(("page", page.to_string()));
        let value = self.get(path, &query)?;
        hal_page(&value, key).ok_or_else(|| {
            AdapterError::transient(
                NAME,
                format!(
                    "GET {path}: the answer is not a HAL list: {}",
                    value.to_string().chars().take(160).collect::<String>()
                ),
            )
        })
    }

    /// Every item of a HAL list, page by page.
    pub fn all(
        &self,
        path: &str,
        key: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, AdapterError> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let listing = self.page(path, key, query, page)?;
            all.extend(listing.items);
            if page >= listing.total_pages {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// A create about one record: `201` with the new id in `Resource-ID`.
    pub fn create(
        &self,
        path: &str,
        body: &Value,
        kind: Kind,
        source_id: &str,
    ) -> Result<String, AdapterError> {
        let request = Request::post(path)
            .json(body)
            .map_err(|e| e.into_adapter(NAME))?;
        let response = self
            .client
            .send(request)
            .map_err(|e| e.for_record(NAME, kind, source_id))?;
        response
            .header("resource-id")
            .map(str::to_string)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                AdapterError::transient(
                    NAME,
                    format!("POST {path} answered without a Resource-ID header"),
                )
            })
    }

    /// A PUT, PATCH or DELETE about one record (`204`).
    pub fn change(
        &self,
        request: Request,
        body: Option<&Value>,
        kind: Kind,
        id: &str,
    ) -> Result<(), AdapterError> {
        let request = match body {
            Some(body) => request.json(body).map_err(|e| e.into_adapter(NAME))?,
            None => request,
        };
        self.client
            .send(request)
            .map(|_| ())
            .map_err(|e| e.for_record(NAME, kind, id))
    }

    /// DELETE; a 404 counts as done.
    pub fn delete(&self, path: &str, kind: Kind, id: &str) -> Result<(), AdapterError> {
        match self.client.send(Request::delete(path)) {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e.for_record(NAME, kind, id)),
        }
    }

    /// The bytes of an attachment: `GET …/attachments/{id}/data` answers
    /// `{"data": "<base64>"}`.
    pub fn attachment_bytes(&self, path: &str, id: &str) -> Result<Vec<u8>, AdapterError> {
        let value = self
            .client
            .send(Request::get(path))
            .map_err(|e| e.for_record(NAME, Kind::Attachment, id))?
            .json::<Value>()
            .map_err(|e| e.into_adapter(NAME))?;
        let data = value.get("data").and_then(Value::as_str).ok_or_else(|| {
            AdapterError::transient(NAME, format!("attachment {id}: the answer has no data"))
        })?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| AdapterError::transient(NAME, format!("attachment {id}: bad base64: {e}")))
    }
}

/// Reads a HAL list: items under `_embedded.<key>` (a missing `_embedded` is an empty
/// page), and the `page` totals. `None` when the value has no `page` object.
pub(crate) fn hal_page(value: &Value, key: &str) -> Option<HalPage> {
    let page = value.get("page")?;
    let items = value
        .get("_embedded")
        .and_then(|e| e.get(key))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Some(HalPage {
        items,
        total_pages: page.get("totalPages").and_then(Value::as_u64).unwrap_or(0),
        total: page
            .get("totalElements")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_hal_page_has_no_embedded_and_is_read_as_empty() {
        let empty: Value = serde_json::json!({
            "_links": {"self": {"href": "x"}},
            "page": {"size": 50, "totalElements": 0, "totalPages": 0, "number": 1}
        });
        let page = hal_page(&empty, "customers").expect("a HAL list");
        assert!(page.items.is_empty());
        assert_eq!(page.total_pages, 0);
        assert!(hal_page(&serde_json::json!({"message": "x"}), "customers").is_none());
    }
}
