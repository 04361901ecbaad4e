//! Help Scout Docs (the knowledge base) through its own API (`docsapi.helpscout.net/v1`,
//! the Docs API key as basic-auth user, its own rate limit): collections are KB
//! categories, Docs categories are KB sections, articles are articles.
//!
//! Markers: a `[switchover:<id>]` suffix of a collection's or category's description; a
//! hidden span at the end of an article's text.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchover_adapter::cursor::{CursorFields, join};
use switchover_adapter::marker::{HiddenMarker, HiddenStyle};
use switchover_adapter::{AdapterError, Cursor, PageRequest, Secret, WriteOutcome};
use switchover_http::{Auth, ClientConfig, HttpClient, Request};
use switchover_model::*;

use crate::read::{Marked, id_of, text, time};
use crate::{NAME, SUFFIX_MARKER};

/// The marker of an article: a hidden span at the end of its text.
const ARTICLE_MARKER: HiddenMarker = HiddenMarker::new("switchover-source-id", HiddenStyle::Span);

/// The Docs API of one site.
pub(crate) struct Docs {
    client: HttpClient,
    site: Option<String>,
}

/// The error when a plan moves the knowledge base without a Docs API key.
pub(crate) fn no_key(kind: Kind) -> AdapterError {
    AdapterError::config(
        NAME,
        format!(
            "{kind} live in Help Scout Docs, which has its own API key: set docs_api_key (Your Profile > Authentication > API Keys), or leave the knowledge base out of the plan's kinds"
        ),
    )
}

impl Docs {
    /// A client for the Docs API at `url` (`https://docsapi.helpscout.net`).
    pub fn new(
        url: &str,
        key: Secret,
        rpm: Option<u32>,
        site: Option<String>,
    ) -> Result<Self, AdapterError> {
        let client = HttpClient::new(ClientConfig {
            auth: Auth::basic(key.expose(), Secret::new("X")),
            requests_per_minute: rpm,
            ..ClientConfig::new(format!("{}/v1/", url.trim_end_matches('/')))
        })
        .map_err(|e| e.into_adapter(NAME))?;
        Ok(Docs { client, site })
    }

    fn get(&self, path: &str, page: Option<u64>) -> Result<Value, AdapterError> {
        let mut request = Request::get(path);
        if let Some(page) = page {
            request = request.query("page", page);
        }
        self.client
            .send(request)
            .map_err(|e| e.into_adapter(NAME))?
            .json()
            .map_err(|e| e.into_adapter(NAME))
    }

    /// One page of a Docs list: `{"<key>": {"page", "pages", "items"}}`.
    fn page(&self, path: &str, key: &str, page: u64) -> Result<(Vec<Value>, u64), AdapterError> {
        let value = self.get(path, Some(page))?;
        let list = value.get(key).ok_or_else(|| {
            AdapterError::transient(NAME, format!("GET {path}: the answer has no '{key}' list"))
        })?;
        let items = list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let pages = list.get("pages").and_then(Value::as_u64).unwrap_or(1);
        Ok((items, pages))
    }

    fn all(&self, path: &str, key: &str) -> Result<Vec<Value>, AdapterError> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let (items, pages) = self.page(path, key, page)?;
            all.extend(items);
            if page >= pages {
                return Ok(all);
            }
            page += 1;
        }
    }

    fn collections(&self) -> Result<Vec<Value>, AdapterError> {
        self.all("collections", "collections")
    }

    /// Reads a page of a knowledge-base kind.
    pub fn read(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let at = CursorFields::of(NAME, request);
        match kind {
            Kind::KbCategory => Ok((
                self.collections()?.iter().map(collection_record).collect(),
                None,
            )),
            Kind::KbSection => {
                let mut records = Vec::new();
                for collection in self.collections()? {
                    let Some(cid) = collection.get("id").and_then(id_of) else {
                        continue;
                    };
                    for category in
                        self.all(&format!("collections/{cid}/categories"), "categories")?
                    {
                        records.push(category_record(&category, &cid));
                    }
                }
                Ok((records, None))
            }
            Kind::KbArticle => {
                // One collection per page: its article list, then each article's text.
                let index = at.get::<usize>(0, 0)?;
                let collections = self.collections()?;
                let Some(collection) = collections.get(index) else {
                    return Ok((Vec::new(), None));
                };
                let cid = collection.get("id").and_then(id_of).unwrap_or_default();
                let mut records = Vec::new();
                for item in self.all(&format!("collections/{cid}/articles"), "articles")? {
                    let Some(aid) = item.get("id").and_then(id_of) else {
                        continue;
                    };
                    let full = self.get(&format!("articles/{aid}"), None)?;
                    if let Some(article) = full.get("article") {
                        records.push(article_record(article));
                    }
                }
                let next = (index + 1 < collections.len()).then(|| join(&[&(index + 1)]));
                Ok((records, next))
            }
            other => Err(AdapterError::unsupported(NAME, other, "read")),
        }
    }

    /// Target ids of knowledge-base records carrying these markers.
    pub fn find(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut found = BTreeMap::new();
        let mut request = PageRequest::default();
        loop {
            let (records, next) = self.read(kind, &request)?;
            for (marker, record) in records {
                if let Some(m) = marker.filter(|m| ids.contains(m)) {
                    found.insert(m, record.id().to_string());
                }
            }
            match next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// Creates (`reload=true`: the answer holds the object) or updates a Docs object.
    fn put_or_post(
        &self,
        path: &str,
        existing: Option<&str>,
        singular: &str,
        body: &Value,
        kind: Kind,
        source: &str,
    ) -> Result<String, AdapterError> {
        let request = match existing {
            Some(id) => Request::put(format!("{path}/{id}")),
            None => Request::post(path),
        }
        .query("reload", "true")
        .json(body)
        .map_err(|e| e.into_adapter(NAME))?;
        let response = self
            .client
            .send(request)
            .map_err(|e| e.for_record(NAME, kind, source))?;
        if let Some(id) = existing {
            return Ok(id.to_string());
        }
        let from_body = response
            .json::<Value>()
            .ok()
            .and_then(|v| v.get(singular).and_then(|o| o.get("id")).and_then(id_of));
        let from_location = response
            .header("location")
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_string);
        from_body.or(from_location).ok_or_else(|| {
            AdapterError::transient(NAME, format!("POST {path} answered with no id"))
        })
    }

    /// Writes one knowledge-base record; a record written before (found by marker) is
    /// updated, never created twice.
    pub fn write(
        &self,
        kind: Kind,
        record: &Record,
        existing: Option<&str>,
    ) -> Result<WriteOutcome, AdapterError> {
        let id = record.id().to_string();
        let existing = match existing {
            Some(e) => Some(e.to_string()),
            None => self.find(kind, std::slice::from_ref(&id))?.remove(&id),
        };
        let target = match record {
            Record::KbCategory(c) => {
                let mut body = json!({
                    "name": c.name,
                    "description": SUFFIX_MARKER.append_opt(c.description.as_deref(), &c.id),
                    "visibility": "public",
                });
                if let Some(order) = c.position {
                    body["order"] = json!(order);
                }
                if existing.is_none()
                    && let Some(site) = self.site_id()?
                {
                    body["siteId"] = json!(site);
                }
                self.put_or_post(
                    "collections",
                    existing.as_deref(),
                    "collection",
                    &body,
                    kind,
                    &id,
                )?
            }
            Record::KbSection(s) => {
                let collection = s.category.id();
                if collection.is_empty() {
                    return Err(AdapterError::invalid(
                        NAME,
                        kind,
                        &id,
                        "category",
                        "the collection is not on the target",
                    ));
                }
                let mut body = json!({
                    "collectionId": collection,
                    "name": s.name,
                    "description": SUFFIX_MARKER.append_opt(s.description.as_deref(), &s.id),
                    "visibility": "public",
                });
                if let Some(order) = s.position {
                    body["order"] = json!(order);
                }
                self.put_or_post(
                    "categories",
                    existing.as_deref(),
                    "category",
                    &body,
                    kind,
                    &id,
                )?
            }
            Record::KbArticle(a) => {
                let category = a.section.id();
                let section = self
                    .get(&format!("categories/{category}"), None)
                    .map_err(|_| {
                        AdapterError::invalid(
                            NAME,
                            kind,
                            &id,
                            "section",
                            format!("the Docs category '{category}' is not on the target"),
                        )
                    })?;
                let collection = section
                    .get("category")
                    .and_then(|c| text(c, "collectionId"))
                    .unwrap_or_default();
                let body = json!({
                    "collectionId": collection,
                    "categories": [category],
                    "name": a.title,
                    "text": ARTICLE_MARKER.append(&a.body_html, &a.id),
                    "status": if a.draft { "notpublished" } else { "published" },
                    "keywords": a.labels,
                });
                self.put_or_post("articles", existing.as_deref(), "article", &body, kind, &id)?
            }
            other => return Err(AdapterError::unsupported(NAME, other.kind(), "write")),
        };
        Ok(WriteOutcome::new(id, Ok(target)))
    }

    /// The site new collections go to: the setting, else the site of an existing one.
    fn site_id(&self) -> Result<Option<String>, AdapterError> {
        if self.site.is_some() {
            return Ok(self.site.clone());
        }
        Ok(self.collections()?.iter().find_map(|c| text(c, "siteId")))
    }

    /// Deletes a knowledge-base record; a 404 counts as done.
    pub fn delete(&self, kind: Kind, id: &str) -> Result<(), AdapterError> {
        let path = match kind {
            Kind::KbCategory => format!("collections/{id}"),
            Kind::KbSection => format!("categories/{id}"),
            Kind::KbArticle => format!("articles/{id}"),
            other => return Err(AdapterError::unsupported(NAME, other, "delete")),
        };
        match self.client.send(Request::delete(path)) {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e.for_record(NAME, kind, id)),
        }
    }
}

fn collection_record(c: &Value) -> (Option<String>, Record) {
    let (description, marker) =
        SUFFIX_MARKER.split_opt(c.get("description").and_then(Value::as_str));
    let record = KbCategory {
        id: c.get("id").and_then(id_of).unwrap_or_default(),
        name: text(c, "name").unwrap_or_default(),
        description,
        position: c.get("order").and_then(Value::as_i64),
        created_at: time(c, "createdAt"),
        updated_at: time(c, "updatedAt"),
        ..Default::default()
    };
    (marker, record.into_record())
}

fn category_record(c: &Value, collection: &str) -> (Option<String>, Record) {
    let (description, marker) =
        SUFFIX_MARKER.split_opt(c.get("description").and_then(Value::as_str));
    let record = KbSection {
        id: c.get("id").and_then(id_of).unwrap_or_default(),
        category: Ref::new(collection.to_string()),
        name: text(c, "name").unwrap_or_default(),
        description,
        position: c.get("order").and_then(Value::as_i64),
        created_at: time(c, "createdAt"),
        updated_at: time(c, "updatedAt"),
        ..Default::default()
    };
    (marker, record.into_record())
}

fn article_record(a: &Value) -> (Option<String>, Record) {
    let (body_html, marker) =
        ARTICLE_MARKER.split(a.get("text").and_then(Value::as_str).unwrap_or(""));
    let record = KbArticle {
        id: a.get("id").and_then(id_of).unwrap_or_default(),
        section: Ref::new(
            a.get("categories")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(id_of)
                .unwrap_or_default(),
        ),
        title: text(a, "name").unwrap_or_default(),
        body_html,
        draft: a.get("status").and_then(Value::as_str) != Some("published"),
        labels: a
            .get("keywords")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        created_at: time(a, "createdAt"),
        updated_at: time(a, "updatedAt"),
        ..Default::default()
    };
    (marker, record.into_record())
}
