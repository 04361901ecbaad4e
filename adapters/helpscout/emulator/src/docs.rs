//! The routes of the Docs API v1 (collections, categories, articles).

use serde_json::{Map, Value, json};
use switchover_sandbox::auth::{Credentials, credentials};
use switchover_sandbox::{Request, Response};

use crate::api::now;
use crate::store::{Account, slug};
use crate::{State, lock};

type Answer = Result<Response, Response>;

const DOCS_PAGE: usize = 50;

fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"code": status, "error": message}))
}

fn invalid(field: &str, message: &str) -> Response {
    Response::json(
        400,
        &json!({"code": 400, "error": "Input could not be validated", "errors": {field: [message]}}),
    )
}

/// Entry point for `/v1/...`: basic auth with the Docs API key, the Docs budget, routes.
pub(crate) fn handle(state: &State, request: &Request) -> Response {
    let authorized = matches!(credentials(request), Some(Credentials::Basic { user, .. }) if user == state.docs_key);
    if !authorized {
        return error(401, "Unauthorized")
            .with_header("WWW-Authenticate", "Basic realm=\"Docs API\"");
    }
    let mut headers = None;
    if let Some(budget) = &state.docs_budget {
        match budget.spend(1) {
            Ok(remaining) => headers = Some((budget.limit(), remaining)),
            Err(retry) => {
                return error(429, "Too many requests")
                    .with_header("Retry-After", retry.to_string())
                    .with_header("X-RateLimit-Limit-Minute", budget.limit().to_string())
                    .with_header("X-RateLimit-Remaining-Minute", "0");
            }
        }
    }
    let response = match route(state, request) {
        Ok(r) | Err(r) => r,
    };
    let response = response.with_header("Correlation-Id", state.opaque("correlation"));
    match headers {
        Some((limit, remaining)) => response
            .with_header("X-RateLimit-Limit-Minute", limit.to_string())
            .with_header("X-RateLimit-Remaining-Minute", remaining.to_string()),
        None => response,
    }
}

fn body(request: &Request) -> Result<Map<String, Value>, Response> {
    if request.body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(400, "Malformed JSON")),
    }
}

fn route(state: &State, request: &Request) -> Answer {
    let segs: Vec<&str> = request
        .path
        .trim_start_matches("/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match (request.method.as_str(), segs.as_slice()) {
        ("GET", ["collections"]) => list(state, request, "collections", |_| true),
        ("POST", ["collections"]) => write_collection(state, request, None),
        ("GET", ["collections", id]) => get(state, "collections", "collection", id),
        ("PUT", ["collections", id]) => write_collection(state, request, Some(id)),
        ("DELETE", ["collections", id]) => delete(state, "collections", id),
        ("GET", ["collections", id, "categories"]) => {
            exists(state, "collections", id)?;
            list(state, request, "categories", |c| c["collectionId"] == *id)
        }
        ("GET", ["collections", id, "articles"]) => {
            exists(state, "collections", id)?;
            list(state, request, "articles", |a| a["collectionId"] == *id)
        }
        ("POST", ["categories"]) => write_category(state, request, None),
        ("GET", ["categories", id]) => get(state, "categories", "category", id),
        ("PUT", ["categories", id]) => write_category(state, request, Some(id)),
        ("DELETE", ["categories", id]) => delete(state, "categories", id),
        ("GET", ["categories", id, "articles"]) => {
            exists(state, "categories", id)?;
            list(state, request, "articles", |a| {
                a["categories"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|c| c == *id))
            })
        }
        ("POST", ["articles"]) => write_article(state, request, None),
        ("GET", ["articles", id]) => get(state, "articles", "article", id),
        ("PUT", ["articles", id]) => write_article(state, request, Some(id)),
        ("DELETE", ["articles", id]) => delete(state, "articles", id),
        _ => Err(error(404, "Not found")),
    }
}

fn table<'a>(account: &'a Account, kind: &str) -> &'a std::collections::BTreeMap<String, Value> {
    match kind {
        "collections" => &account.collections,
        "categories" => &account.categories,
        _ => &account.articles,
    }
}

fn table_mut<'a>(
    account: &'a mut Account,
    kind: &str,
) -> &'a mut std::collections::BTreeMap<String, Value> {
    match kind {
        "collections" => &mut account.collections,
        "categories" => &mut account.categories,
        _ => &mut account.articles,
    }
}

fn exists(state: &State, kind: &str, id: &str) -> Result<(), Response> {
    if table(&lock(state), kind).contains_key(id) {
        Ok(())
    } else {
        Err(error(404, "Not found"))
    }
}

/// The object as read, with counts for collections and categories.
fn render(account: &Account, kind: &str, value: &Value) -> Value {
    let mut v = value.clone();
    let key = match kind {
        "collections" => "collectionId",
        "categories" => "categories",
        _ => return v,
    };
    let id = &value["id"];
    let of = |a: &&Value| {
        if key == "collectionId" {
            a["collectionId"] == *id
        } else {
            a["categories"].as_array().is_some_and(|l| l.contains(id))
        }
    };
    let all = account.articles.values().filter(of).count();
    let published = account
        .articles
        .values()
        .filter(of)
        .filter(|a| a["status"] == "published")
        .count();
    v["articleCount"] = json!(all);
    v["publishedArticleCount"] = json!(published);
    v
}

/// An article as listed: without its text.
fn article_ref(value: &Value) -> Value {
    let mut v = value.clone();
    if let Some(o) = v.as_object_mut() {
        for key in ["text", "categories", "related", "keywords"] {
            o.remove(key);
        }
    }
    v
}

fn list(state: &State, request: &Request, kind: &str, keep: impl Fn(&Value) -> bool) -> Answer {
    let page = match request.query("page") {
        None | Some("") => 1,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| invalid("page", "must be a positive number"))?,
    };
    let account = lock(state);
    let status = request.query("status");
    let mut items: Vec<Value> = table(&account, kind)
        .values()
        .filter(|v| keep(v))
        .filter(|v| kind != "articles" || status.is_none_or(|s| s == "all" || v["status"] == s))
        .map(|v| {
            if kind == "articles" {
                article_ref(v)
            } else {
                render(&account, kind, v)
            }
        })
        .collect();
    drop(account);
    items.sort_by(|a, b| {
        let key = if kind == "articles" { "name" } else { "order" };
        match (&a[key], &b[key]) {
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(std::cmp::Ordering::Equal),
            (x, y) => x.to_string().cmp(&y.to_string()),
        }
    });
    let count = items.len();
    let pages = count.div_ceil(DOCS_PAGE).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * DOCS_PAGE)
        .take(DOCS_PAGE)
        .collect();
    Ok(Response::json(
        200,
        &json!({ kind: {"page": page, "pages": pages, "count": count, "items": slice} }),
    ))
}

fn get(state: &State, kind: &str, singular: &str, id: &str) -> Answer {
    let account = lock(state);
    let value = table(&account, kind)
        .get(id)
        .ok_or_else(|| error(404, "Not found"))?;
    Ok(Response::json(
        200,
        &json!({ singular: render(&account, kind, value) }),
    ))
}

fn delete(state: &State, kind: &str, id: &str) -> Answer {
    let mut account = lock(state);
    table_mut(&mut account, kind)
        .remove(id)
        .ok_or_else(|| error(404, "Not found"))?;
    match kind {
        "collections" => {
            account.categories.retain(|_, c| c["collectionId"] != id);
            account.articles.retain(|_, a| a["collectionId"] != id);
        }
        "categories" => {
            for a in account.articles.values_mut() {
                if let Some(list) = a["categories"].as_array_mut() {
                    list.retain(|c| c != id);
                }
            }
        }
        _ => {}
    }
    Ok(Response::empty(204))
}

fn text_of(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    max: usize,
) -> Result<Option<String>, Response> {
    match map.get(key) {
        None | Some(Value::Null) if required => Err(invalid(key, "is required")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if required && s.trim().is_empty() => {
            Err(invalid(key, "is required"))
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(invalid(key, &format!("must be at most {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(key, "must be a string")),
    }
}

/// 201 with `Location`, and the object when `reload=true`; 200 for updates with reload.
fn answer(
    state: &State,
    request: &Request,
    kind: &str,
    singular: &str,
    id: &str,
    created: bool,
) -> Response {
    let reload = request.query("reload") == Some("true");
    let status = if created {
        201
    } else if reload {
        200
    } else {
        204
    };
    let mut response = if reload {
        let account = lock(state);
        let value = table(&account, kind)
            .get(id)
            .map(|v| render(&account, kind, v))
            .unwrap_or(Value::Null);
        Response::json(status, &json!({ singular: value }))
    } else {
        Response::empty(status)
    };
    if created {
        response = response.with_header("Location", format!("{}/v1/{kind}/{id}", state.base));
    }
    response
}

fn visibility(map: &Map<String, Value>) -> Result<Option<String>, Response> {
    match map.get("visibility").and_then(Value::as_str) {
        None => Ok(None),
        Some(v @ ("public" | "private")) => Ok(Some(v.to_string())),
        Some(_) => Err(invalid("visibility", "must be public or private")),
    }
}

fn write_collection(state: &State, request: &Request, id: Option<&str>) -> Answer {
    let map = body(request)?;
    let name = text_of(&map, "name", id.is_none(), 255)?;
    let description = text_of(&map, "description", false, 45)?;
    let vis = visibility(&map)?;
    let order = map.get("order").and_then(Value::as_i64);
    let mut account = lock(state);
    let owner = account.owner_id;
    let at = now();
    let (id, created) = match id {
        Some(id) => {
            if !account.collections.contains_key(id) {
                return Err(error(404, "Not found"));
            }
            (id.to_string(), false)
        }
        None => {
            let id = account.next_docs_id();
            let number = account.collections.len() + 1;
            let site = account
                .collections
                .values()
                .next()
                .map(|c| c["siteId"].clone())
                .unwrap_or(json!("5e0000000000000000000001"));
            account.collections.insert(
                id.clone(),
                json!({
                    "id": id, "siteId": site, "number": number, "slug": "", "visibility": "public",
                    "order": number, "name": "", "description": null, "publicUrl": "",
                    "createdBy": owner, "updatedBy": owner,
                    "createdAt": at, "updatedAt": at,
                }),
            );
            (id, true)
        }
    };
    let Some(c) = account.collections.get_mut(&id) else {
        return Err(error(404, "Not found"));
    };
    if let Some(name) = name {
        c["slug"] = json!(slug(&name));
        c["publicUrl"] = json!(format!(
            "https://docs.switchover.example/collection/{}-{}",
            c["number"],
            slug(&name)
        ));
        c["name"] = json!(name);
    }
    if map.contains_key("description") {
        c["description"] = json!(description);
    }
    if let Some(v) = vis {
        c["visibility"] = json!(v);
    }
    if let Some(o) = order {
        c["order"] = json!(o);
    }
    c["updatedAt"] = json!(at);
    drop(account);
    Ok(answer(
        state,
        request,
        "collections",
        "collection",
        &id,
        created,
    ))
}

fn write_category(state: &State, request: &Request, id: Option<&str>) -> Answer {
    let map = body(request)?;
    let name = text_of(&map, "name", id.is_none(), 255)?;
    let description = text_of(&map, "description", false, 1000)?;
    let vis = visibility(&map)?;
    let order = map.get("order").and_then(Value::as_i64);
    let mut account = lock(state);
    let owner = account.owner_id;
    let at = now();
    let (id, created) = match id {
        Some(id) => {
            if !account.categories.contains_key(id) {
                return Err(error(404, "Not found"));
            }
            (id.to_string(), false)
        }
        None => {
            let collection = text_of(&map, "collectionId", true, 64)?.unwrap_or_default();
            if !account.collections.contains_key(&collection) {
                return Err(invalid("collectionId", "is not a valid collection"));
            }
            let id = account.next_docs_id();
            let number = account.categories.len() + 1;
            account.categories.insert(
                id.clone(),
                json!({
                    "id": id, "number": number, "slug": "", "visibility": "public", "order": number,
                    "defaultSort": "popularity", "name": "", "description": null,
                    "collectionId": collection, "publicUrl": "",
                    "createdBy": owner, "updatedBy": owner,
                    "createdAt": at, "updatedAt": at,
                }),
            );
            (id, true)
        }
    };
    let Some(c) = account.categories.get_mut(&id) else {
        return Err(error(404, "Not found"));
    };
    if let Some(name) = name {
        c["slug"] = json!(slug(&name));
        c["publicUrl"] = json!(format!(
            "https://docs.switchover.example/category/{}-{}",
            c["number"],
            slug(&name)
        ));
        c["name"] = json!(name);
    }
    if map.contains_key("description") {
        c["description"] = json!(description);
    }
    if let Some(v) = vis {
        c["visibility"] = json!(v);
    }
    if let Some(o) = order {
        c["order"] = json!(o);
    }
    if let Some(sort) = map.get("defaultSort").and_then(Value::as_str) {
        c["defaultSort"] = json!(sort);
    }
    c["updatedAt"] = json!(at);
    drop(account);
    Ok(answer(
        state,
        request,
        "categories",
        "category",
        &id,
        created,
    ))
}

fn strings(map: &Map<String, Value>, key: &str) -> Result<Option<Vec<Value>>, Response> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => Ok(Some(list.clone())),
        Some(_) => Err(invalid(key, "must be an array of strings")),
    }
}

fn write_article(state: &State, request: &Request, id: Option<&str>) -> Answer {
    let map = body(request)?;
    let creating = id.is_none();
    let name = text_of(&map, "name", creating, 255)?;
    let text = text_of(&map, "text", creating, 10_000_000)?;
    let status = match map.get("status").and_then(Value::as_str) {
        None => None,
        Some(s @ ("published" | "notpublished")) => Some(s.to_string()),
        Some(_) => return Err(invalid("status", "must be published or notpublished")),
    };
    let article_slug = text_of(&map, "slug", false, 255)?;
    let categories = strings(&map, "categories")?;
    let related = strings(&map, "related")?;
    let keywords = match strings(&map, "keywords")? {
        Some(k) => Some(k),
        None => strings(&map, "tags")?,
    };
    let mut account = lock(state);
    let owner = account.owner_id;
    let at = now();
    let collection = match (id, text_of(&map, "collectionId", creating, 64)?) {
        (_, Some(c)) => {
            if !account.collections.contains_key(&c) {
                return Err(invalid("collectionId", "is not a valid collection"));
            }
            Some(c)
        }
        (Some(id), None) => account
            .articles
            .get(id)
            .and_then(|a| a["collectionId"].as_str().map(str::to_string)),
        (None, None) => None,
    };
    if let Some(list) = &categories {
        for c in list {
            let ok = c
                .as_str()
                .and_then(|c| account.categories.get(c))
                .is_some_and(|cat| {
                    collection
                        .as_deref()
                        .is_some_and(|col| cat["collectionId"] == col)
                });
            if !ok {
                return Err(invalid(
                    "categories",
                    "must be categories of the article's collection",
                ));
            }
        }
    }
    if let (Some(n), Some(col)) = (&name, &collection) {
        let clash = account.articles.iter().any(|(aid, a)| {
            Some(aid.as_str()) != id && a["collectionId"] == col.as_str() && a["name"] == n.as_str()
        });
        if clash {
            return Err(invalid("name", "must be unique within the collection"));
        }
    }
    let (id, created) = match id {
        Some(id) => {
            if !account.articles.contains_key(id) {
                return Err(error(404, "Not found"));
            }
            (id.to_string(), false)
        }
        None => {
            let id = account.next_docs_id();
            let number = account.articles.len() + 1;
            // No categories given: the collection's first category, as Docs does ("Uncategorized").
            let default_category: Vec<Value> = account
                .categories
                .values()
                .filter(|c| {
                    collection
                        .as_deref()
                        .is_some_and(|col| c["collectionId"] == col)
                })
                .min_by(|a, b| a["order"].as_i64().cmp(&b["order"].as_i64()))
                .map(|c| vec![c["id"].clone()])
                .unwrap_or_default();
            account.articles.insert(
                id.clone(),
                json!({
                    "id": id, "number": number, "collectionId": collection, "status": "notpublished",
                    "hasDraft": false, "name": "", "text": "", "categories": default_category,
                    "related": [], "keywords": [], "slug": "", "publicUrl": "", "popularity": 0.0,
                    "viewCount": 0, "createdBy": owner, "updatedBy": owner,
                    "createdAt": at, "updatedAt": at, "lastPublishedAt": null,
                }),
            );
            (id, true)
        }
    };
    let Some(a) = account.articles.get_mut(&id) else {
        return Err(error(404, "Not found"));
    };
    if let Some(c) = collection {
        a["collectionId"] = json!(c);
    }
    if let Some(n) = &name {
        a["name"] = json!(n);
        if article_slug.is_none() && (created || a["slug"] == "") {
            a["slug"] = json!(slug(n));
        }
    }
    if let Some(s) = article_slug {
        a["slug"] = json!(s);
    }
    a["publicUrl"] = json!(format!(
        "https://docs.switchover.example/article/{}-{}",
        a["number"],
        a["slug"].as_str().unwrap_or("")
    ));
    if let Some(t) = text {
        a["text"] = json!(t);
    }
    if let Some(s) = status {
        if s == "published" {
            a["lastPublishedAt"] = json!(at);
        }
        a["status"] = json!(s);
    }
    if let Some(c) = categories {
        a["categories"] = Value::Array(c);
    }
    if let Some(r) = related {
        a["related"] = Value::Array(r);
    }
    if let Some(k) = keywords {
        a["keywords"] = Value::Array(k);
    }
    a["updatedAt"] = json!(at);
    drop(account);
    Ok(answer(state, request, "articles", "article", &id, created))
}
