//! The routes of the Mailbox API 2.0 (and the dispatch to the Docs API).

use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};
use switchover_sandbox::auth::{Credentials, b64, credentials, unb64};
use switchover_sandbox::generate::Generator;
use switchover_sandbox::{Request, Response, parse_query, percent_encode};

use crate::seed::{attachment_json, customer_json, customer_ref, preview, thread_json, user_ref};
use crate::store::{Account, Blob, StoredAttachment, customer_has_email};
use crate::{
    CONVERSATION_PAGE_SIZE, MAX_ATTACHMENT_BYTES, PAGE_SIZE, State, TOKEN_LIFETIME_SECS,
    count_email, lock, vnd_body,
};

/// A response either way: `Err` for early exits through `?`.
pub(crate) type Answer = Result<Response, Response>;

/// The one spelling of timestamps.
pub(crate) const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Now, in Help Scout's spelling.
pub(crate) fn now() -> String {
    Utc::now().format(TIME_FORMAT).to_string()
}

/// Parses exactly `yyyy-MM-ddTHH:mm:ssZ`.
pub(crate) fn parse_time(text: &str) -> Option<NaiveDateTime> {
    if text.len() != 20 {
        return None;
    }
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok()
}

/// One validation error.
pub(crate) struct FieldError {
    path: String,
    message: String,
    rejected: Option<Value>,
}

fn err(
    path: impl Into<String>,
    message: impl Into<String>,
    rejected: Option<&Value>,
) -> FieldError {
    FieldError {
        path: path.into(),
        message: message.into(),
        rejected: rejected.cloned(),
    }
}

/// A `vnd.error` answer with only a message.
pub(crate) fn vnd(state: &State, status: u16, message: &str) -> Response {
    let body = serde_json::to_vec(&vnd_body(state, message)).unwrap_or_default();
    Response::bytes(status, "application/vnd.error+json", body)
}

/// A 400 `vnd.error` listing validation errors.
pub(crate) fn bad_request(state: &State, errors: Vec<FieldError>) -> Response {
    let list: Vec<Value> = errors
        .into_iter()
        .map(|e| {
            let mut item = json!({
                "path": e.path, "message": e.message, "source": "JSON",
                "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}},
            });
            if let Some(v) = e.rejected {
                item["rejectedValue"] = v;
            }
            item
        })
        .collect();
    let mut body = vnd_body(state, "Bad request");
    body["_embedded"] = json!({"errors": list});
    body["_links"] =
        json!({"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}});
    Response::bytes(
        400,
        "application/vnd.error+json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

fn one_error(state: &State, path: &str, message: &str, rejected: Option<&Value>) -> Response {
    bad_request(state, vec![err(path, message, rejected)])
}

fn not_found(state: &State) -> Response {
    vnd(state, 404, "Resource not found")
}

fn hal(value: &Value) -> Response {
    Response::bytes(
        200,
        "application/hal+json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

fn created(state: &State, path: &str, id: impl std::fmt::Display) -> Response {
    Response::empty(201)
        .with_header("Resource-ID", id.to_string())
        .with_header("Location", format!("{}{path}", state.base))
}

fn no_content() -> Response {
    Response::empty(204)
}

/// Entry point after faults.
pub(crate) fn handle(state: &State, request: &Request) -> Response {
    if request.path == "/v1" || request.path.starts_with("/v1/") {
        return crate::docs::handle(state, request);
    }
    if !(request.path == "/v2" || request.path.starts_with("/v2/")) {
        return not_found(state);
    }
    if request.path == "/v2/oauth2/token" {
        let mut response = if request.method == "POST" {
            token(state, request)
        } else {
            vnd(state, 405, "Method not allowed")
        };
        if let Some(budget) = &state.mailbox_budget
            && let Ok(remaining) = budget.spend(0)
        {
            response = rate_headers(response, budget.limit(), remaining);
        }
        return response;
    }
    let token = match credentials(request) {
        Some(Credentials::Bearer(token)) => token,
        _ => return vnd(state, 401, "Invalid or missing access token"),
    };
    let valid = match state.tokens.lock() {
        Ok(t) => t.get(&token).copied(),
        Err(p) => p.into_inner().get(&token).copied(),
    };
    match valid {
        Some(true) => {}
        Some(false) => return vnd(state, 401, "Access token has expired"),
        None => return vnd(state, 401, "Invalid access token"),
    }
    let cost = if matches!(request.method.as_str(), "GET" | "HEAD") {
        1
    } else {
        2
    };
    let mut budget_state = None;
    if let Some(budget) = &state.mailbox_budget {
        match budget.spend(cost) {
            Ok(remaining) => budget_state = Some((budget.limit(), remaining)),
            Err(retry) => {
                return rate_headers(
                    Response::json(429, &json!({"message": "API rate limit exceeded"})),
                    budget.limit(),
                    0,
                )
                .with_header("X-RateLimit-Retry-After", retry.to_string());
            }
        }
    }
    let response = match route(state, request) {
        Ok(r) | Err(r) => r,
    };
    match budget_state {
        Some((limit, remaining)) => rate_headers(response, limit, remaining),
        None => response,
    }
}

fn rate_headers(response: Response, limit: u32, remaining: u32) -> Response {
    response
        .with_header("X-RateLimit-Limit-Minute", limit.to_string())
        .with_header("X-RateLimit-Remaining-Minute", remaining.to_string())
}

fn token(state: &State, request: &Request) -> Response {
    let content_type = request.header("content-type").unwrap_or("");
    let mut params: Vec<(String, String)> = if content_type.contains("json") {
        match request.json() {
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            _ => Vec::new(),
        }
    } else {
        parse_query(&String::from_utf8_lossy(&request.body))
    };
    params.extend(request.query.iter().cloned());
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (basic_id, basic_secret) = match credentials(request) {
        Some(Credentials::Basic { user, password }) => (Some(user), Some(password)),
        _ => (None, None),
    };
    let grant = get("grant_type").unwrap_or_default();
    if grant != "client_credentials" {
        return Response::json(
            400,
            &json!({"error": "unsupported_grant_type", "error_description": "Only client_credentials is supported by this account"}),
        );
    }
    let id = get("client_id").or(basic_id).unwrap_or_default();
    let secret = get("client_secret").or(basic_secret).unwrap_or_default();
    if id != state.client_id || secret != state.client_secret {
        return Response::json(
            401,
            &json!({"error": "invalid_client", "error_description": "Bad client credentials"}),
        );
    }
    let token = state.opaque("token");
    match state.tokens.lock() {
        Ok(mut t) => t.insert(token.clone(), true),
        Err(p) => p.into_inner().insert(token.clone(), true),
    };
    Response::json(
        200,
        &json!({"token_type": "bearer", "access_token": token, "expires_in": TOKEN_LIFETIME_SECS}),
    )
}

fn parse_id(state: &State, text: &str) -> Result<u64, Response> {
    text.parse().map_err(|_| not_found(state))
}

fn body(state: &State, request: &Request) -> Result<Map<String, Value>, Response> {
    if request.body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(one_error(state, "", "Malformed JSON request body", None)),
    }
}

fn route(state: &State, request: &Request) -> Answer {
    let rest = request.path.trim_start_matches("/v2");
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let m = request.method.as_str();
    let ctx = Ctx { state, request };
    match (m, segs.as_slice()) {
        ("GET", ["users"]) => ctx.list_users(),
        ("GET", ["users", "me"]) => ctx.get_user(None),
        ("GET", ["users", id]) => ctx.get_user(Some(parse_id(state, id)?)),
        ("GET", ["mailboxes"]) => ctx.list_mailboxes(),
        ("GET", ["mailboxes", id]) => ctx.get_mailbox(parse_id(state, id)?),
        ("GET", ["mailboxes", id, "fields"]) => ctx.mailbox_sub(parse_id(state, id)?, "fields"),
        ("GET", ["mailboxes", id, "folders"]) => ctx.mailbox_sub(parse_id(state, id)?, "folders"),
        ("GET", ["mailboxes", id, "saved-replies"]) => ctx.list_saved(parse_id(state, id)?),
        ("POST", ["mailboxes", id, "saved-replies"]) => ctx.create_saved(parse_id(state, id)?),
        ("GET", ["mailboxes", id, "saved-replies", sid]) => {
            ctx.get_saved(parse_id(state, id)?, parse_id(state, sid)?)
        }
        ("PUT", ["mailboxes", id, "saved-replies", sid]) => {
            ctx.update_saved(parse_id(state, id)?, parse_id(state, sid)?)
        }
        ("DELETE", ["mailboxes", id, "saved-replies", sid]) => {
            ctx.delete_saved(parse_id(state, id)?, parse_id(state, sid)?)
        }
        ("GET", ["organizations"]) => ctx.list_organizations(),
        ("POST", ["organizations"]) => ctx.write_organization(None),
        ("GET", ["organizations", id]) => ctx.get_organization(parse_id(state, id)?),
        ("PUT" | "PATCH", ["organizations", id]) => {
            ctx.write_organization(Some(parse_id(state, id)?))
        }
        ("DELETE", ["organizations", id]) => ctx.delete_organization(parse_id(state, id)?),
        ("GET", ["customers"]) => ctx.list_customers(),
        ("POST", ["customers"]) => ctx.create_customer(),
        ("GET", ["customers", id]) => ctx.get_customer(parse_id(state, id)?),
        ("PUT", ["customers", id]) => ctx.update_customer(parse_id(state, id)?, true),
        ("PATCH", ["customers", id]) => ctx.update_customer(parse_id(state, id)?, false),
        ("DELETE", ["customers", id]) => ctx.delete_customer(parse_id(state, id)?),
        ("GET", ["customers", id, kind @ ("emails" | "phones")]) => {
            ctx.list_entries(parse_id(state, id)?, kind)
        }
        ("POST", ["customers", id, kind @ ("emails" | "phones")]) => {
            ctx.write_entry(parse_id(state, id)?, kind, None)
        }
        ("PUT", ["customers", id, kind @ ("emails" | "phones"), eid]) => {
            ctx.write_entry(parse_id(state, id)?, kind, Some(parse_id(state, eid)?))
        }
        ("DELETE", ["customers", id, kind @ ("emails" | "phones"), eid]) => {
            ctx.delete_entry(parse_id(state, id)?, kind, parse_id(state, eid)?)
        }
        ("GET", ["conversations"]) => ctx.list_conversations(),
        ("POST", ["conversations"]) => ctx.create_conversation(),
        ("GET", ["conversations", id]) => ctx.get_conversation(parse_id(state, id)?),
        ("PATCH", ["conversations", id]) => ctx.patch_conversation(parse_id(state, id)?),
        ("DELETE", ["conversations", id]) => ctx.delete_conversation(parse_id(state, id)?),
        ("PUT", ["conversations", id, "tags"]) => ctx.put_tags(parse_id(state, id)?),
        ("PUT", ["conversations", id, "fields"]) => ctx.put_fields(parse_id(state, id)?),
        ("GET", ["conversations", id, "threads"]) => ctx.list_threads(parse_id(state, id)?),
        (
            "POST",
            [
                "conversations",
                id,
                kind @ ("customer" | "reply" | "notes" | "phones" | "chats"),
            ],
        ) => ctx.create_thread(parse_id(state, id)?, kind),
        ("PATCH", ["conversations", id, "threads", tid]) => {
            ctx.patch_thread(parse_id(state, id)?, parse_id(state, tid)?)
        }
        ("POST", ["conversations", id, "threads", tid, "attachments"]) => {
            ctx.add_attachment(parse_id(state, id)?, parse_id(state, tid)?)
        }
        ("GET", ["conversations", id, "attachments", aid, "data"]) => {
            ctx.attachment_data(parse_id(state, id)?, parse_id(state, aid)?)
        }
        ("DELETE", ["conversations", id, "attachments", aid]) => {
            ctx.delete_attachment(parse_id(state, id)?, parse_id(state, aid)?)
        }
        ("GET", ["tags"]) => ctx.list_tags(),
        ("GET", ["ratings", id]) => ctx.get_rating(parse_id(state, id)?),
        ("GET", ["reports", "happiness", "ratings"]) => ctx.happiness_ratings(),
        ("GET", ["workflows"]) => ctx.list_workflows(),
        ("PATCH", ["workflows", id]) => ctx.patch_workflow(parse_id(state, id)?),
        ("POST", ["workflows", id, "run"]) => ctx.run_workflow(parse_id(state, id)?),
        ("GET", ["webhooks"]) => ctx.list_webhooks(),
        ("POST", ["webhooks"]) => ctx.write_webhook(None),
        ("GET", ["webhooks", id]) => ctx.get_webhook(parse_id(state, id)?),
        ("PUT", ["webhooks", id]) => ctx.write_webhook(Some(parse_id(state, id)?)),
        ("DELETE", ["webhooks", id]) => ctx.delete_webhook(parse_id(state, id)?),
        (
            _,
            ["users" | "mailboxes" | "workflows" | "tags" | "ratings", ..]
            | ["organizations" | "customers" | "conversations" | "webhooks"],
        ) => Err(vnd(state, 405, "Method not allowed")),
        _ => Err(not_found(state)),
    }
}

struct Ctx<'a> {
    state: &'a State,
    request: &'a Request,
}

/// What a string field must look like.
struct Text {
    min: usize,
    max: usize,
}

impl<'a> Ctx<'a> {
    fn url(&self, path: &str) -> String {
        format!("{}/v2{path}", self.state.base)
    }

    fn link(&self, path: &str) -> Value {
        json!({"href": self.url(path)})
    }

    fn page_href(&self, page: usize) -> String {
        let mut query: Vec<String> = self
            .request
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        query.push(format!("page={page}"));
        format!(
            "{}{}?{}",
            self.state.base,
            self.request.path,
            query.join("&")
        )
    }

    fn page_number(&self) -> Result<usize, Response> {
        match self.request.query("page") {
            None | Some("") => Ok(1),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(one_error(
                    self.state,
                    "page",
                    "Invalid number",
                    Some(&json!(text)),
                )),
            },
        }
    }

    /// One HAL page of `items`.
    fn hal_page(&self, plural: &str, items: Vec<Value>, size: usize) -> Answer {
        let page = self.page_number()?;
        let total = items.len();
        let pages = total.div_ceil(size);
        let start = (page - 1).saturating_mul(size).min(total);
        let end = start.saturating_add(size).min(total);
        let slice: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
        let mut links = json!({
            "self": {"href": self.page_href(page)},
            "first": {"href": self.page_href(1)},
            "last": {"href": self.page_href(pages.max(1))},
            "page": {"href": format!("{}{}{{?page}}", self.state.base, self.request.path), "templated": true},
        });
        if page < pages {
            links["next"] = json!({"href": self.page_href(page + 1)});
        }
        if page > 1 {
            links["previous"] = json!({"href": self.page_href((page - 1).min(pages.max(1)))});
        }
        let mut body = json!({
            "_links": links,
            "page": {"size": size, "totalElements": total, "totalPages": pages, "number": page},
        });
        if !slice.is_empty() {
            body["_embedded"] = json!({ plural: slice });
        }
        Ok(hal(&body))
    }

    fn json_body(&self) -> Result<Map<String, Value>, Response> {
        body(self.state, self.request)
    }

    fn with_self(&self, mut value: Value, path: &str) -> Value {
        value["_links"] = json!({"self": self.link(path)});
        value
    }

    // ---------------------------------------------------------------- validation

    fn text(
        &self,
        map: &Map<String, Value>,
        key: &str,
        prefix: &str,
        rule: Text,
        required: bool,
        errors: &mut Vec<FieldError>,
    ) -> Option<Option<String>> {
        let path = format!("{prefix}{key}");
        match map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    errors.push(err(&path, "may not be empty", None));
                }
                if map.contains_key(key) {
                    Some(None)
                } else {
                    None
                }
            }
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if required && s.trim().is_empty() {
                    errors.push(err(&path, "may not be empty", map.get(key)));
                    None
                } else if n < rule.min || n > rule.max {
                    errors.push(err(
                        &path,
                        format!("size must be between {} and {}", rule.min, rule.max),
                        map.get(key),
                    ));
                    None
                } else {
                    Some(Some(s.clone()))
                }
            }
            Some(other) => {
                errors.push(err(&path, "must be a string", Some(other)));
                None
            }
        }
    }

    fn user_exists(&self, account: &Account, value: &Value) -> Option<u64> {
        value.as_u64().filter(|id| account.users.contains_key(id))
    }

    // ---------------------------------------------------------------- users, mailboxes

    fn list_users(&self) -> Answer {
        let account = lock(self.state);
        let email = self.request.query("email");
        let items: Vec<Value> = account
            .users
            .values()
            .filter(|u| {
                email.is_none_or(|e| {
                    u["email"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(e))
                })
            })
            .map(|u| self.with_self(u.clone(), &format!("/users/{}", u["id"])))
            .collect();
        if let Some(mailbox) = self.request.query("mailbox")
            && !mailbox
                .parse::<u64>()
                .is_ok_and(|m| account.mailboxes.contains_key(&m))
        {
            return Err(not_found(self.state));
        }
        drop(account);
        self.hal_page("users", items, PAGE_SIZE)
    }

    fn get_user(&self, id: Option<u64>) -> Answer {
        let account = lock(self.state);
        let id = id.unwrap_or(account.owner_id);
        let user = account
            .users
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.with_self(user.clone(), &format!("/users/{id}"))))
    }

    fn mailbox_json(&self, mailbox: &Value) -> Value {
        let id = &mailbox["id"];
        let mut value = mailbox.clone();
        value["_links"] = json!({
            "fields": self.link(&format!("/mailboxes/{id}/fields")),
            "folders": self.link(&format!("/mailboxes/{id}/folders")),
            "self": self.link(&format!("/mailboxes/{id}")),
        });
        value
    }

    fn list_mailboxes(&self) -> Answer {
        let items: Vec<Value> = lock(self.state)
            .mailboxes
            .values()
            .map(|m| self.mailbox_json(m))
            .collect();
        self.hal_page("mailboxes", items, PAGE_SIZE)
    }

    fn get_mailbox(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let mailbox = account
            .mailboxes
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.mailbox_json(mailbox)))
    }

    fn mailbox_sub(&self, id: u64, kind: &str) -> Answer {
        let account = lock(self.state);
        if !account.mailboxes.contains_key(&id) {
            return Err(not_found(self.state));
        }
        let source = if kind == "fields" {
            &account.fields
        } else {
            &account.folders
        };
        let mut items: Vec<Value> = source.get(&id).cloned().unwrap_or_default();
        if kind == "folders" {
            for folder in &mut items {
                let fid = folder["id"].clone();
                let in_folder = account
                    .conversations
                    .values()
                    .filter(|c| c["folderId"] == fid);
                let total = in_folder.clone().count();
                let active = in_folder.filter(|c| c["status"] == "active").count();
                folder["totalCount"] = json!(total);
                folder["activeCount"] = json!(active);
            }
        }
        drop(account);
        self.hal_page(kind, items, PAGE_SIZE)
    }

    // ---------------------------------------------------------------- saved replies

    fn list_saved(&self, mailbox: u64) -> Answer {
        let account = lock(self.state);
        if !account.mailboxes.contains_key(&mailbox) {
            return Err(not_found(self.state));
        }
        let items: Vec<Value> = account
            .saved_replies
            .values()
            .filter(|(m, _)| *m == mailbox)
            .map(|(_, r)| {
                let mut item = json!({
                    "id": r["id"], "name": r["name"],
                    "preview": preview(r["text"].as_str().unwrap_or("")),
                });
                if r["chatText"].as_str().is_some_and(|t| !t.is_empty()) {
                    item["chatPreview"] = json!(preview(r["chatText"].as_str().unwrap_or("")));
                }
                item
            })
            .collect();
        // The documented answer is a bare array.
        Ok(hal(&Value::Array(items)))
    }

    fn get_saved(&self, mailbox: u64, id: u64) -> Answer {
        let account = lock(self.state);
        match account.saved_replies.get(&id) {
            Some((m, r)) if *m == mailbox => Ok(hal(r)),
            _ => Err(not_found(self.state)),
        }
    }

    fn saved_fields(&self, map: &Map<String, Value>) -> Result<(String, Value, Value), Response> {
        let mut errors = Vec::new();
        let name = self.text(
            map,
            "name",
            "",
            Text { min: 1, max: 255 },
            true,
            &mut errors,
        );
        let text = self.text(
            map,
            "text",
            "",
            Text {
                min: 0,
                max: 65_535,
            },
            false,
            &mut errors,
        );
        let chat = self.text(
            map,
            "chatText",
            "",
            Text {
                min: 0,
                max: 65_535,
            },
            false,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        Ok((
            name.flatten().unwrap_or_default(),
            text.flatten().map(Value::String).unwrap_or(json!("")),
            chat.flatten().map(Value::String).unwrap_or(json!("")),
        ))
    }

    fn create_saved(&self, mailbox: u64) -> Answer {
        let map = self.json_body()?;
        let (name, text, chat) = self.saved_fields(&map)?;
        let mut account = lock(self.state);
        if !account.mailboxes.contains_key(&mailbox) {
            return Err(not_found(self.state));
        }
        let id = account.next_id();
        account.saved_replies.insert(
            id,
            (
                mailbox,
                json!({"id": id, "name": name, "text": text, "chatText": chat}),
            ),
        );
        Ok(created(
            self.state,
            &format!("/v2/mailboxes/{mailbox}/saved-replies/{id}"),
            id,
        ))
    }

    fn update_saved(&self, mailbox: u64, id: u64) -> Answer {
        let map = self.json_body()?;
        let (name, text, chat) = self.saved_fields(&map)?;
        let mut account = lock(self.state);
        match account.saved_replies.get_mut(&id) {
            Some((m, r)) if *m == mailbox => {
                *r = json!({"id": id, "name": name, "text": text, "chatText": chat});
                Ok(no_content())
            }
            _ => Err(not_found(self.state)),
        }
    }

    fn delete_saved(&self, mailbox: u64, id: u64) -> Answer {
        let mut account = lock(self.state);
        match account.saved_replies.get(&id) {
            Some((m, _)) if *m == mailbox => {
                account.saved_replies.remove(&id);
                Ok(no_content())
            }
            _ => Err(not_found(self.state)),
        }
    }

    // ---------------------------------------------------------------- organizations

    fn org_json(&self, account: &Account, org: &Value) -> Value {
        let id = org["id"].as_u64().unwrap_or(0);
        let mut value = self.with_self(org.clone(), &format!("/organizations/{id}"));
        if self.request.query("includeCounts") == Some("true") {
            let customers: Vec<u64> = account
                .customers
                .iter()
                .filter(|(_, c)| c["organizationId"].as_u64() == Some(id))
                .map(|(k, _)| *k)
                .collect();
            let conversations = account
                .conversations
                .values()
                .filter(|c| {
                    c["primaryCustomer"]["id"]
                        .as_u64()
                        .is_some_and(|p| customers.contains(&p))
                })
                .count();
            value["customerCount"] = json!(customers.len());
            value["conversationCount"] = json!(conversations);
        }
        value
    }

    fn list_organizations(&self) -> Answer {
        let account = lock(self.state);
        let items: Vec<Value> = account
            .organizations
            .values()
            .map(|o| self.org_json(&account, o))
            .collect();
        drop(account);
        self.hal_page("organizations", items, PAGE_SIZE)
    }

    fn get_organization(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let org = account
            .organizations
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.org_json(&account, org)))
    }

    fn write_organization(&self, id: Option<u64>) -> Answer {
        let map = self.json_body()?;
        let partial = self.request.method == "PATCH";
        let mut errors = Vec::new();
        let long = Text { min: 0, max: 255 };
        let name = self.text(
            &map,
            "name",
            "",
            Text { min: 1, max: 255 },
            !partial,
            &mut errors,
        );
        let mut fields = Map::new();
        if let Some(name) = name {
            fields.insert(
                "name".into(),
                name.map(Value::String).unwrap_or(Value::Null),
            );
        }
        for key in [
            "website",
            "description",
            "location",
            "note",
            "brandColor",
            "logoUrl",
        ] {
            let rule = if key == "location" {
                Text { min: 0, max: 60 }
            } else {
                Text { ..long }
            };
            if let Some(v) = self.text(&map, key, "", rule, false, &mut errors) {
                fields.insert(key.into(), v.map(Value::String).unwrap_or(Value::Null));
            }
        }
        if let Some(color) = fields.get("brandColor").and_then(Value::as_str)
            && !(color.len() == 7
                && color.starts_with('#')
                && color[1..].chars().all(|c| c.is_ascii_hexdigit()))
        {
            errors.push(err(
                "brandColor",
                "must be a valid hex color",
                map.get("brandColor"),
            ));
        }
        let mut domains: Option<Vec<Value>> = None;
        if let Some(d) = map.get("domain") {
            match d {
                Value::String(s) => domains = Some(vec![json!(s)]),
                Value::Null => domains = Some(Vec::new()),
                other => errors.push(err("domain", "must be a string", Some(other))),
            }
        }
        for key in ["domains", "phones"] {
            match map.get(key) {
                None => {}
                Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
                    if key == "domains" {
                        domains = Some(list.clone());
                    } else {
                        fields.insert(key.into(), Value::Array(list.clone()));
                    }
                }
                Some(other) => errors.push(err(key, "must be an array of strings", Some(other))),
            }
        }
        if let Some(d) = domains {
            fields.insert("domains".into(), Value::Array(d));
        }
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        let mut account = lock(self.state);
        let at = now();
        match id {
            None => {
                let id = account.next_id();
                let mut org = json!({
                    "id": id, "name": null, "website": null, "description": null, "location": null,
                    "logoUrl": null, "note": null, "domains": [], "phones": [], "brandColor": null,
                    "createdAt": at, "updatedAt": at,
                });
                for (k, v) in fields {
                    org[k] = v;
                }
                account.organizations.insert(id, org);
                Ok(created(self.state, &format!("/v2/organizations/{id}"), id))
            }
            Some(id) => {
                let org = account
                    .organizations
                    .get_mut(&id)
                    .ok_or_else(|| not_found(self.state))?;
                if !partial {
                    for key in [
                        "website",
                        "description",
                        "location",
                        "logoUrl",
                        "note",
                        "brandColor",
                    ] {
                        org[key] = Value::Null;
                    }
                    org["domains"] = json!([]);
                    org["phones"] = json!([]);
                }
                for (k, v) in fields {
                    org[k] = v;
                }
                org["updatedAt"] = json!(at);
                let name = org["name"].clone();
                for c in account.customers.values_mut() {
                    if c["organizationId"].as_u64() == Some(id) {
                        c["organization"] = name.clone();
                    }
                }
                Ok(no_content())
            }
        }
    }

    fn delete_organization(&self, id: u64) -> Answer {
        let mut account = lock(self.state);
        account
            .organizations
            .remove(&id)
            .ok_or_else(|| not_found(self.state))?;
        for c in account.customers.values_mut() {
            if c["organizationId"].as_u64() == Some(id) {
                c["organizationId"] = Value::Null;
                c["organization"] = Value::Null;
            }
        }
        Ok(no_content())
    }

    // ---------------------------------------------------------------- customers

    fn customer_out(&self, customer: &Value) -> Value {
        let id = &customer["id"];
        let mut value = customer.clone();
        let mut links = Map::new();
        for (name, path) in [
            ("address", "address"),
            ("chats", "chats"),
            ("emails", "emails"),
            ("phones", "phones"),
            ("social-profiles", "social-profiles"),
            ("websites", "websites"),
        ] {
            links.insert(name.into(), self.link(&format!("/customers/{id}/{path}")));
        }
        links.insert("self".into(), self.link(&format!("/customers/{id}")));
        value["_links"] = Value::Object(links);
        value
    }

    fn list_customers(&self) -> Answer {
        let request = self.request;
        let account = lock(self.state);
        let modified = match request.query("modifiedSince") {
            None | Some("") => None,
            Some(t) => Some(parse_time(t).ok_or_else(|| {
                one_error(
                    self.state,
                    "modifiedSince",
                    "Malformed date",
                    Some(&json!(t)),
                )
            })?),
        };
        let mailbox: Option<u64> = match request.query("mailbox") {
            None | Some("") => None,
            Some(t) => Some(t.parse().map_err(|_| {
                one_error(self.state, "mailbox", "Invalid number", Some(&json!(t)))
            })?),
        };
        let sort_field = request.query("sortField").unwrap_or("createdAt");
        let key = match sort_field {
            "createdAt" => "createdAt",
            "firstName" => "firstName",
            "lastName" => "lastName",
            "modifiedAt" => "updatedAt",
            "score" => "id",
            other => {
                return Err(one_error(
                    self.state,
                    "sortField",
                    "Expected one of these: 'createdAt', 'firstName', 'lastName', 'modifiedAt', 'score'",
                    Some(&json!(other)),
                ));
            }
        };
        let desc = match request
            .query("sortOrder")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(one_error(
                    self.state,
                    "sortOrder",
                    "Expected one of these: 'asc', 'desc'",
                    Some(&json!(other)),
                ));
            }
        };
        let query = request.query("query").map(parse_search);
        let first = request.query("firstName");
        let last = request.query("lastName");
        let in_mailbox: Option<Vec<u64>> = mailbox.map(|m| {
            account
                .conversations
                .values()
                .filter(|c| c["mailboxId"].as_u64() == Some(m))
                .filter_map(|c| c["primaryCustomer"]["id"].as_u64())
                .collect()
        });
        let mut items: Vec<&Value> = account
            .customers
            .values()
            .filter(|c| {
                first.is_none_or(|f| {
                    c["firstName"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(f))
                }) && last.is_none_or(|l| {
                    c["lastName"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(l))
                }) && modified.is_none_or(|m| {
                    c["updatedAt"]
                        .as_str()
                        .and_then(parse_time)
                        .is_some_and(|t| t >= m)
                }) && in_mailbox
                    .as_ref()
                    .is_none_or(|ids| c["id"].as_u64().is_some_and(|id| ids.contains(&id)))
                    && query.as_ref().is_none_or(|q| q.matches_customer(c))
            })
            .collect();
        items.sort_by(|a, b| {
            let ord = compare(&a[key], &b[key]).then_with(|| compare(&a["id"], &b["id"]));
            if desc { ord.reverse() } else { ord }
        });
        let items: Vec<Value> = items.into_iter().map(|c| self.customer_out(c)).collect();
        drop(account);
        self.hal_page("customers", items, PAGE_SIZE)
    }

    fn get_customer(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let c = account
            .customers
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.customer_out(c)))
    }

    /// Validates the core customer fields of a body.
    fn customer_core(
        &self,
        account: &Account,
        map: &Map<String, Value>,
        prefix: &str,
        errors: &mut Vec<FieldError>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let rules: [(&str, usize, usize); 9] = [
            ("firstName", 1, 40),
            ("lastName", 1, 40),
            ("jobTitle", 0, 60),
            ("location", 0, 60),
            ("organization", 0, 60),
            ("background", 0, 200),
            ("photoUrl", 0, 200),
            ("age", 0, 60),
            ("photoType", 0, 60),
        ];
        for (key, min, max) in rules {
            if let Some(v) = self.text(map, key, prefix, Text { min, max }, false, errors) {
                out.insert(key.into(), v.map(Value::String).unwrap_or(Value::Null));
            }
        }
        if let Some(g) = map.get("gender") {
            match g.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("male" | "female" | "unknown") => {
                    out.insert(
                        "gender".into(),
                        json!(g.as_str().unwrap_or("").to_ascii_lowercase()),
                    );
                }
                _ => errors.push(err(
                    format!("{prefix}gender"),
                    "Expected one of these: 'male', 'female', 'unknown'",
                    Some(g),
                )),
            }
        }
        match map.get("organizationId") {
            None => {}
            Some(Value::Null) => {
                out.insert("organizationId".into(), Value::Null);
            }
            Some(v) => match v.as_u64().and_then(|id| account.organizations.get(&id)) {
                Some(org) => {
                    out.insert("organizationId".into(), v.clone());
                    out.insert("organization".into(), org["name"].clone());
                }
                None => errors.push(err(
                    format!("{prefix}organizationId"),
                    "Invalid identifier",
                    Some(v),
                )),
            },
        }
        if !out.contains_key("organizationId")
            && let Some(name) = out.get("organization").cloned()
        {
            let id = name.as_str().and_then(|n| {
                account
                    .organizations
                    .iter()
                    .find(|(_, o)| o["name"].as_str() == Some(n))
                    .map(|(id, _)| *id)
            });
            out.insert(
                "organizationId".into(),
                id.map(Value::from).unwrap_or(Value::Null),
            );
        }
        out
    }

    /// Validates an email or phone entry.
    fn entry(
        &self,
        kind: &str,
        value: &Value,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<(String, String)> {
        let Some(map) = value.as_object() else {
            errors.push(err(path, "must be an object", Some(value)));
            return None;
        };
        let types: &[&str] = if kind == "emails" {
            &["home", "work", "other"]
        } else {
            &["fax", "home", "mobile", "other", "pager", "work"]
        };
        let t = map
            .get("type")
            .or_else(|| map.get("location"))
            .and_then(Value::as_str)
            .unwrap_or("work")
            .to_ascii_lowercase();
        if !types.contains(&t.as_str()) {
            errors.push(err(
                format!("{path}.type"),
                format!(
                    "Expected one of these: {}",
                    types
                        .iter()
                        .map(|t| format!("'{t}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                map.get("type"),
            ));
            return None;
        }
        let v = map
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if v.is_empty() {
            errors.push(err(
                format!("{path}.value"),
                "may not be empty",
                map.get("value"),
            ));
            return None;
        }
        if kind == "emails" && !valid_email(&v) {
            errors.push(err(
                format!("{path}.value"),
                "Not well-formed email address",
                map.get("value"),
            ));
            return None;
        }
        Some((t, v))
    }

    fn create_customer(&self) -> Answer {
        let map = self.json_body()?;
        let mut account = lock(self.state);
        let (id, _) = self.insert_customer(&mut account, &map, "")?;
        Ok(created(self.state, &format!("/v2/customers/{id}"), id))
    }

    /// Validates and stores a new customer; `Ok((id, emails))`.
    fn insert_customer(
        &self,
        account: &mut Account,
        map: &Map<String, Value>,
        prefix: &str,
    ) -> Result<(u64, Vec<String>), Response> {
        let mut errors = Vec::new();
        let core = self.customer_core(account, map, prefix, &mut errors);
        let mut lists: Vec<(&str, Vec<(String, String)>)> = Vec::new();
        for kind in ["emails", "phones"] {
            let mut entries = Vec::new();
            match map.get(kind) {
                None | Some(Value::Null) => {}
                Some(Value::Array(list)) => {
                    for (i, e) in list.iter().enumerate() {
                        if let Some(x) =
                            self.entry(kind, e, &format!("{prefix}{kind}[{i}]"), &mut errors)
                        {
                            entries.push(x);
                        }
                    }
                }
                Some(other) => errors.push(err(
                    format!("{prefix}{kind}"),
                    "must be an array",
                    Some(other),
                )),
            }
            lists.push((kind, entries));
        }
        // The conversation form: a single `email`.
        if let Some(email) = map.get("email") {
            match email.as_str() {
                Some(e) if valid_email(e) => lists[0].1.push(("work".into(), e.to_string())),
                _ => errors.push(err(
                    format!("{prefix}email"),
                    "Not well-formed email address",
                    Some(email),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        let emails: Vec<String> = lists[0].1.iter().map(|(_, v)| v.clone()).collect();
        for (i, e) in emails.iter().enumerate() {
            if emails[..i].iter().any(|x| x.eq_ignore_ascii_case(e))
                || account.customer_by_email(e).is_some()
            {
                return Err(vnd(
                    self.state,
                    409,
                    &format!("A customer with the email {e} already exists"),
                ));
            }
        }
        let id = account.next_id();
        let mut entries: Vec<Vec<Value>> = Vec::new();
        for (_, list) in &lists {
            entries.push(
                list.iter()
                    .map(|(t, v)| {
                        let eid = account.next_id();
                        json!({"id": eid, "type": t, "value": v})
                    })
                    .collect(),
            );
        }
        let at = now();
        let phones = entries.pop().unwrap_or_default();
        let mails = entries.pop().unwrap_or_default();
        let mut customer = customer_json(
            id,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            mails,
            phones,
            &at,
        );
        for (k, v) in core {
            customer[k] = v;
        }
        if let Some(Value::Object(address)) = map.get("address") {
            customer["_embedded"]["address"] = Value::Object(address.clone());
        }
        for key in ["websites", "chats"] {
            if let Some(Value::Array(list)) = map.get(key) {
                let items: Vec<Value> = list
                    .iter()
                    .map(|x| {
                        let eid = account.next_id();
                        let mut x = x.clone();
                        x["id"] = json!(eid);
                        x
                    })
                    .collect();
                customer["_embedded"][key] = Value::Array(items);
            }
        }
        if let Some(Value::Array(list)) = map.get("socialProfiles") {
            customer["_embedded"]["social_profiles"] = Value::Array(list.clone());
        }
        account.customers.insert(id, customer);
        Ok((id, emails))
    }

    fn update_customer(&self, id: u64, replace: bool) -> Answer {
        let map = self.json_body()?;
        let mut account = lock(self.state);
        if !account.customers.contains_key(&id) {
            return Err(not_found(self.state));
        }
        let mut errors = Vec::new();
        let core = self.customer_core(&account, &map, "", &mut errors);
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        let customer = account
            .customers
            .get_mut(&id)
            .ok_or_else(|| not_found(self.state))?;
        if replace {
            for key in [
                "firstName",
                "lastName",
                "jobTitle",
                "location",
                "organization",
                "organizationId",
                "background",
                "photoUrl",
                "age",
            ] {
                customer[key] = Value::Null;
            }
        }
        for (k, v) in core {
            customer[k] = v;
        }
        customer["updatedAt"] = json!(now());
        Ok(no_content())
    }

    fn delete_customer(&self, id: u64) -> Answer {
        let mut account = lock(self.state);
        account
            .customers
            .remove(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(no_content())
    }

    fn list_entries(&self, id: u64, kind: &str) -> Answer {
        let account = lock(self.state);
        let c = account
            .customers
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        let items = c["_embedded"][kind].as_array().cloned().unwrap_or_default();
        drop(account);
        self.hal_page(kind, items, PAGE_SIZE)
    }

    fn write_entry(&self, id: u64, kind: &str, entry: Option<u64>) -> Answer {
        let map = self.json_body()?;
        let mut errors = Vec::new();
        let parsed = self.entry(kind, &Value::Object(map), "", &mut errors);
        let Some((t, v)) = parsed else {
            for e in &mut errors {
                e.path = e.path.trim_start_matches('.').to_string();
            }
            return Err(bad_request(self.state, errors));
        };
        let mut account = lock(self.state);
        if !account.customers.contains_key(&id) {
            return Err(not_found(self.state));
        }
        if kind == "emails"
            && let Some(other) = account.customer_by_email(&v)
        {
            let same_entry = other == id
                && entry.is_some_and(|e| {
                    account.customers[&id]["_embedded"]["emails"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|x| x["id"] == e && x["value"] == v.as_str()))
                });
            if !same_entry {
                return Err(vnd(
                    self.state,
                    409,
                    &format!("A customer with the email {v} already exists"),
                ));
            }
        }
        let new_id = match entry {
            None => Some(account.next_id()),
            Some(_) => None,
        };
        let customer = account
            .customers
            .get_mut(&id)
            .ok_or_else(|| not_found(self.state))?;
        if !customer["_embedded"][kind].is_array() {
            customer["_embedded"][kind] = json!([]);
        }
        let Some(list) = customer["_embedded"][kind].as_array_mut() else {
            return Err(not_found(self.state));
        };
        match (entry, new_id) {
            (Some(eid), _) => {
                let item = list
                    .iter_mut()
                    .find(|x| x["id"] == eid)
                    .ok_or_else(|| not_found(self.state))?;
                *item = json!({"id": eid, "type": t, "value": v});
                customer["updatedAt"] = json!(now());
                Ok(no_content())
            }
            (None, Some(eid)) => {
                list.push(json!({"id": eid, "type": t, "value": v}));
                customer["updatedAt"] = json!(now());
                Ok(created(
                    self.state,
                    &format!("/v2/customers/{id}/{kind}/{eid}"),
                    eid,
                ))
            }
            (None, None) => Err(not_found(self.state)),
        }
    }

    fn delete_entry(&self, id: u64, kind: &str, entry: u64) -> Answer {
        let mut account = lock(self.state);
        let customer = account
            .customers
            .get_mut(&id)
            .ok_or_else(|| not_found(self.state))?;
        let list = customer["_embedded"][kind]
            .as_array_mut()
            .ok_or_else(|| not_found(self.state))?;
        let before = list.len();
        list.retain(|x| x["id"] != entry);
        if list.len() == before {
            return Err(not_found(self.state));
        }
        Ok(no_content())
    }

    // ---------------------------------------------------------------- conversations

    fn thread_out(&self, cid: u64, thread: &Value) -> Value {
        let mut t = thread.clone();
        if let Some(list) = t["_embedded"]["attachments"].as_array_mut() {
            for a in list {
                let aid = a["id"].clone();
                let name = a["filename"].as_str().unwrap_or("file").to_string();
                a["_links"] = json!({
                    "data": self.link(&format!("/conversations/{cid}/attachments/{aid}/data")),
                    "web": {"href": format!("{}/file/{aid}/{}", self.state.base, percent_encode(&name))},
                });
            }
        }
        let mut links = Map::new();
        if t["createdBy"]["type"] == "customer" {
            links.insert(
                "createdByCustomer".into(),
                self.link(&format!("/customers/{}", t["createdBy"]["id"])),
            );
        } else {
            links.insert(
                "createdByUser".into(),
                self.link(&format!("/users/{}", t["createdBy"]["id"])),
            );
        }
        if t["customer"]["id"].is_u64() {
            links.insert(
                "customer".into(),
                self.link(&format!("/customers/{}", t["customer"]["id"])),
            );
        }
        t["_links"] = Value::Object(links);
        t
    }

    fn conversation_out(&self, account: &Account, c: &Value, embed: bool) -> Value {
        let id = c["id"].as_u64().unwrap_or(0);
        let mut value = c.clone();
        let threads = account.threads.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        value["threads"] = json!(threads.len());
        let mut links = json!({
            "self": self.link(&format!("/conversations/{id}")),
            "mailbox": self.link(&format!("/mailboxes/{}", c["mailboxId"])),
            "primaryCustomer": self.link(&format!("/customers/{}", c["primaryCustomer"]["id"])),
            "threads": self.link(&format!("/conversations/{id}/threads")),
        });
        if c["createdBy"]["type"] == "customer" {
            links["createdByCustomer"] = self.link(&format!("/customers/{}", c["createdBy"]["id"]));
        } else {
            links["createdByUser"] = self.link(&format!("/users/{}", c["createdBy"]["id"]));
        }
        if c["assignee"]["id"].is_u64() {
            links["assignee"] = self.link(&format!("/users/{}", c["assignee"]["id"]));
        }
        if c["closedBy"].is_u64() {
            links["closedBy"] = self.link(&format!("/users/{}", c["closedBy"]));
        }
        value["_links"] = links;
        if embed {
            // Newest first, as Help Scout lists threads.
            let list: Vec<Value> = threads
                .iter()
                .rev()
                .map(|t| self.thread_out(id, t))
                .collect();
            value["_embedded"] = json!({"threads": list});
        }
        value
    }

    fn embed_threads(&self) -> bool {
        self.request
            .query("embed")
            .is_some_and(|e| e.split(',').any(|x| x.trim() == "threads"))
    }

    fn list_conversations(&self) -> Answer {
        let request = self.request;
        let account = lock(self.state);
        let status = request.query("status").unwrap_or("active");
        let statuses: Vec<&str> = match status {
            "all" => vec!["active", "pending", "closed", "spam"],
            "active" | "open" => vec!["active"],
            "pending" => vec!["pending"],
            "closed" => vec!["closed"],
            "spam" => vec!["spam"],
            other => {
                return Err(one_error(
                    self.state,
                    "status",
                    "Expected one of these: 'active', 'all', 'closed', 'open', 'pending', 'spam'",
                    Some(&json!(other)),
                ));
            }
        };
        let ids = |name: &str| -> Result<Option<Vec<u64>>, Response> {
            match request.query(name) {
                None | Some("") => Ok(None),
                Some(t) => t
                    .split(',')
                    .map(|x| x.trim().parse::<u64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
                    .map_err(|_| one_error(self.state, name, "Invalid number", Some(&json!(t)))),
            }
        };
        let mailboxes = ids("mailbox")?;
        let folders = ids("folder")?;
        let assigned = ids("assigned_to")?;
        let numbers = ids("number")?;
        let tags: Option<Vec<String>> = request
            .query("tag")
            .filter(|t| !t.is_empty())
            .map(|t| t.split(',').map(|x| x.trim().to_lowercase()).collect());
        let modified = match request.query("modifiedSince") {
            None | Some("") => None,
            Some(t) => Some(parse_time(t).ok_or_else(|| {
                one_error(
                    self.state,
                    "modifiedSince",
                    "Malformed date",
                    Some(&json!(t)),
                )
            })?),
        };
        let key = match request.query("sortField").unwrap_or("createdAt") {
            "createdAt" => "createdAt",
            "modifiedAt" | "waitingSince" => "userUpdatedAt",
            "number" => "number",
            "subject" => "subject",
            "status" => "status",
            "mailboxid" | "mailboxId" => "mailboxId",
            "customerEmail" | "customerName" | "score" => "id",
            other => {
                return Err(one_error(
                    self.state,
                    "sortField",
                    "Expected one of these: 'createdAt', 'customerEmail', 'customerName', 'mailboxid', 'modifiedAt', 'number', 'score', 'status', 'subject', 'waitingSince'",
                    Some(&json!(other)),
                ));
            }
        };
        let desc = match request
            .query("sortOrder")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(one_error(
                    self.state,
                    "sortOrder",
                    "Expected one of these: 'asc', 'desc'",
                    Some(&json!(other)),
                ));
            }
        };
        let query = request.query("query").map(parse_search);
        let has = |list: &Option<Vec<u64>>, v: &Value| {
            list.as_ref()
                .is_none_or(|l| v.as_u64().is_some_and(|x| l.contains(&x)))
        };
        let mut items: Vec<&Value> = account
            .conversations
            .values()
            .filter(|c| {
                c["state"] != "deleted"
                    && statuses.contains(&c["status"].as_str().unwrap_or(""))
                    && has(&mailboxes, &c["mailboxId"])
                    && has(&folders, &c["folderId"])
                    && has(&assigned, &c["assignee"]["id"])
                    && has(&numbers, &c["number"])
                    && tags.as_ref().is_none_or(|tags| {
                        c["tags"].as_array().is_some_and(|l| {
                            l.iter().any(|t| {
                                t["tag"]
                                    .as_str()
                                    .is_some_and(|n| tags.contains(&n.to_lowercase()))
                            })
                        })
                    })
                    && modified.is_none_or(|m| {
                        c["userUpdatedAt"]
                            .as_str()
                            .and_then(parse_time)
                            .is_some_and(|t| t >= m)
                    })
                    && query
                        .as_ref()
                        .is_none_or(|q| q.matches_conversation(&account, c))
            })
            .collect();
        items.sort_by(|a, b| {
            let ord = compare(&a[key], &b[key]).then_with(|| compare(&a["id"], &b["id"]));
            if desc { ord.reverse() } else { ord }
        });
        let embed = self.embed_threads();
        let items: Vec<Value> = items
            .into_iter()
            .map(|c| self.conversation_out(&account, c, embed))
            .collect();
        drop(account);
        self.hal_page("conversations", items, CONVERSATION_PAGE_SIZE)
    }

    fn get_conversation(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let c = account
            .conversations
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.conversation_out(
            &account,
            c,
            self.embed_threads(),
        )))
    }

    /// Validates `fields` against a mailbox's definitions: the stored `customFields`.
    fn check_fields(
        &self,
        account: &Account,
        mailbox: u64,
        value: &Value,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let Some(list) = value.as_array() else {
            errors.push(err("fields", "must be an array", Some(value)));
            return out;
        };
        let defs = account
            .fields
            .get(&mailbox)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (i, f) in list.iter().enumerate() {
            let path = format!("fields[{i}]");
            let Some(def) = f["id"]
                .as_u64()
                .and_then(|id| defs.iter().find(|d| d["id"].as_u64() == Some(id)))
            else {
                errors.push(err(
                    format!("{path}.id"),
                    "Invalid identifier: no such field in this mailbox",
                    f.get("id"),
                ));
                continue;
            };
            let raw = match &f["value"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Null => {
                    errors.push(err(format!("{path}.value"), "may not be null", None));
                    continue;
                }
                other => {
                    errors.push(err(
                        format!("{path}.value"),
                        "must be a string or a number",
                        Some(other),
                    ));
                    continue;
                }
            };
            let vpath = format!("{path}.value");
            let text = match def["type"].as_str().unwrap_or("") {
                "dropdown" => {
                    let option = def["options"].as_array().and_then(|opts| {
                        opts.iter()
                            .find(|o| o["id"].as_u64().map(|x| x.to_string()) == Some(raw.clone()))
                    });
                    match option {
                        Some(o) => o["label"].as_str().unwrap_or("").to_string(),
                        None => {
                            errors.push(err(&vpath, "Value not supported: expected the id of one of the field's options", f.get("value")));
                            continue;
                        }
                    }
                }
                "number" => {
                    if raw.parse::<f64>().is_err() {
                        errors.push(err(&vpath, "Invalid number", f.get("value")));
                        continue;
                    }
                    raw.clone()
                }
                "date" => {
                    if raw.len() != 10 || NaiveDate::parse_from_str(&raw, "%Y-%m-%d").is_err() {
                        errors.push(err(&vpath, "Malformed date", f.get("value")));
                        continue;
                    }
                    raw.clone()
                }
                "singleline" => {
                    if raw.chars().count() > 255 {
                        errors.push(err(
                            &vpath,
                            "size must be between 0 and 255",
                            f.get("value"),
                        ));
                        continue;
                    }
                    raw.clone()
                }
                _ => raw.clone(),
            };
            out.push(json!({"id": def["id"], "name": def["name"], "value": raw, "text": text}));
        }
        out
    }

    fn tag_refs(
        &self,
        account: &mut Account,
        value: &Value,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Value> {
        let Some(list) = value.as_array().filter(|l| l.iter().all(Value::is_string)) else {
            errors.push(err("tags", "must be an array of strings", Some(value)));
            return Vec::new();
        };
        let at = now();
        let mut out: Vec<Value> = Vec::new();
        for name in list.iter().filter_map(Value::as_str) {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let id = account.tag_id(name, &at);
            if out.iter().any(|t| t["id"] == id) {
                continue;
            }
            let tag = &account.tags[&id];
            out.push(json!({"id": id, "color": tag["color"], "tag": tag["name"]}));
        }
        out
    }

    /// Decodes and checks `attachments`; `Err(413)` past the per-file limit.
    fn attachments(
        &self,
        value: Option<&Value>,
        prefix: &str,
        errors: &mut Vec<FieldError>,
    ) -> Result<Vec<(String, String, Vec<u8>)>, Response> {
        let mut out = Vec::new();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(out);
        };
        let Some(list) = value.as_array() else {
            errors.push(err(
                format!("{prefix}attachments"),
                "must be an array",
                Some(value),
            ));
            return Ok(out);
        };
        for (i, a) in list.iter().enumerate() {
            let path = format!("{prefix}attachments[{i}]");
            let name = a["fileName"].as_str().unwrap_or("").to_string();
            let mime = a["mimeType"].as_str().unwrap_or("").to_string();
            if name.is_empty() {
                errors.push(err(
                    format!("{path}.fileName"),
                    "may not be empty",
                    a.get("fileName"),
                ));
            }
            if mime.is_empty() {
                errors.push(err(
                    format!("{path}.mimeType"),
                    "may not be empty",
                    a.get("mimeType"),
                ));
            }
            let data = a["data"].as_str().unwrap_or("");
            match unb64(data.trim()) {
                Some(bytes) if bytes.len() > MAX_ATTACHMENT_BYTES => {
                    return Err(vnd(self.state, 413, "Attachment is larger than 10 MB"));
                }
                Some(bytes) if !name.is_empty() && !mime.is_empty() => {
                    out.push((name, mime, bytes))
                }
                Some(_) => {}
                None => errors.push(err(format!("{path}.data"), "must be base64", None)),
            }
        }
        Ok(out)
    }

    fn store_attachments(
        &self,
        account: &mut Account,
        cid: u64,
        tid: u64,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> Vec<Value> {
        files
            .into_iter()
            .map(|(name, mime, bytes)| {
                let aid = account.next_id();
                let json = attachment_json(
                    aid,
                    &name,
                    &mime,
                    bytes.len() as u64,
                    mime.starts_with("image/"),
                );
                account.attachments.insert(
                    aid,
                    StoredAttachment {
                        conversation: cid,
                        thread: tid,
                        blob: Blob::Stored(bytes),
                    },
                );
                json
            })
            .collect()
    }

    /// Resolves `customer` (`{id}` or `{email,...}`) to a customer id, creating one for an
    /// unknown email.
    fn resolve_customer(
        &self,
        account: &mut Account,
        value: Option<&Value>,
        path: &str,
        required: bool,
    ) -> Result<Option<u64>, Response> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            if required {
                return Err(one_error(self.state, path, "may not be null", None));
            }
            return Ok(None);
        };
        let Some(map) = value.as_object() else {
            return Err(one_error(
                self.state,
                path,
                "must be an object",
                Some(value),
            ));
        };
        if let Some(id) = map.get("id").filter(|v| !v.is_null()) {
            return match id.as_u64().filter(|i| account.customers.contains_key(i)) {
                Some(i) => Ok(Some(i)),
                None => Err(one_error(
                    self.state,
                    &format!("{path}.id"),
                    "Invalid identifier",
                    Some(id),
                )),
            };
        }
        let Some(email) = map.get("email").and_then(Value::as_str) else {
            return Err(one_error(
                self.state,
                path,
                "customer needs an id or an email",
                Some(value),
            ));
        };
        if !valid_email(email) {
            return Err(one_error(
                self.state,
                &format!("{path}.email"),
                "Not well-formed email address",
                map.get("email"),
            ));
        }
        if let Some(id) = account.customer_by_email(email) {
            return Ok(Some(id));
        }
        let mut fields = map.clone();
        fields.remove("id");
        let (id, _) = self.insert_customer(account, &fields, &format!("{path}."))?;
        Ok(Some(id))
    }

    fn create_conversation(&self) -> Answer {
        let map = self.json_body()?;
        let state = self.state;
        let mut account = lock(state);
        let mut errors = Vec::new();
        let subject = self.text(
            &map,
            "subject",
            "",
            Text { min: 1, max: 998 },
            true,
            &mut errors,
        );
        let mailbox = match map.get("mailboxId") {
            None | Some(Value::Null) => {
                errors.push(err("mailboxId", "may not be null", None));
                None
            }
            Some(v) => match v.as_u64().filter(|m| account.mailboxes.contains_key(m)) {
                Some(m) => Some(m),
                None => {
                    errors.push(err("mailboxId", "Invalid identifier", Some(v)));
                    None
                }
            },
        };
        let kind = match map.get("type").and_then(Value::as_str) {
            Some(t @ ("email" | "chat" | "phone")) => t.to_string(),
            _ => {
                errors.push(err(
                    "type",
                    "Expected one of these: 'email', 'chat', 'phone'",
                    map.get("type"),
                ));
                String::new()
            }
        };
        let status = match map.get("status").and_then(Value::as_str) {
            Some(s @ ("active" | "pending" | "closed")) => s.to_string(),
            _ => {
                errors.push(err(
                    "status",
                    "Expected one of these: 'active', 'pending', 'closed'",
                    map.get("status"),
                ));
                String::new()
            }
        };
        let imported = map
            .get("imported")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let auto_reply = map
            .get("autoReply")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut created_at = None;
        if let Some(v) = map.get("createdAt").filter(|v| !v.is_null()) {
            match v.as_str().and_then(parse_time) {
                Some(_) => created_at = v.as_str().map(str::to_string),
                None => errors.push(err("createdAt", "Malformed date", Some(v))),
            }
        }
        let mut closed_at = None;
        if let Some(v) = map.get("closedAt").filter(|v| !v.is_null()) {
            if !imported {
                errors.push(err(
                    "closedAt",
                    "closedAt can only be set on imported conversations",
                    Some(v),
                ));
            } else {
                match v.as_str().and_then(parse_time) {
                    Some(_) => closed_at = v.as_str().map(str::to_string),
                    None => errors.push(err("closedAt", "Malformed date", Some(v))),
                }
            }
        }
        let mut assignee = None;
        match map.get("assignTo") {
            None | Some(Value::Null) => {}
            Some(v) => match self.user_exists(&account, v) {
                Some(u) => assignee = Some(u),
                None => errors.push(err("assignTo", "Invalid identifier", Some(v))),
            },
        }
        let mut creator = account.owner_id;
        if let Some(v) = map.get("user").filter(|v| !v.is_null()) {
            match self.user_exists(&account, v) {
                Some(u) => creator = u,
                None => errors.push(err("user", "Invalid identifier", Some(v))),
            }
        }
        let threads: Vec<Value> = match map.get("threads") {
            Some(Value::Array(list)) if !list.is_empty() && list.len() <= 100 => list.clone(),
            other => {
                errors.push(err(
                    "threads",
                    "size must be between 1 and 100",
                    other.filter(|v| !v.is_array()),
                ));
                Vec::new()
            }
        };
        // Thread checks that need no writes.
        let mut parsed = Vec::new();
        for (i, t) in threads.iter().enumerate() {
            let prefix = format!("threads[{i}].");
            match self.thread_input(&account, t, &prefix, imported, &mut errors) {
                Ok(Some(p)) => parsed.push(p),
                Ok(None) => {}
                Err(r) => return Err(r),
            }
        }
        if map.get("customer").is_none_or(Value::is_null) {
            errors.push(err("customer", "may not be null", None));
        }
        let fields = match (map.get("fields").filter(|v| !v.is_null()), mailbox) {
            (Some(f), Some(m)) => self.check_fields(&account, m, f, &mut errors),
            _ => Vec::new(),
        };
        if let Some(t) = map.get("tags").filter(|v| !v.is_array() && !v.is_null()) {
            errors.push(err("tags", "must be an array of strings", Some(t)));
        }
        if !errors.is_empty() {
            return Err(bad_request(state, errors));
        }
        let (Some(mailbox), Some(Some(subject))) = (mailbox, subject) else {
            return Err(bad_request(
                state,
                vec![err("subject", "may not be empty", None)],
            ));
        };
        let customer_id = self
            .resolve_customer(&mut account, map.get("customer"), "customer", true)?
            .ok_or_else(|| one_error(state, "customer", "may not be null", None))?;
        let mut tag_errors = Vec::new();
        let tags = match map.get("tags").filter(|v| !v.is_null()) {
            Some(t) => self.tag_refs(&mut account, t, &mut tag_errors),
            None => Vec::new(),
        };
        let at = now();
        let created = created_at.unwrap_or_else(|| at.clone());
        let id = account.next_id();
        let number = account.next_number();
        let customer = customer_ref(&account.customers[&customer_id]);
        let mut stored = Vec::new();
        let mut emails = 0;
        let mut has_customer_thread = false;
        for p in parsed {
            let (thread, sent) = self.build_thread(
                &mut account,
                id,
                p,
                customer_id,
                &status,
                imported,
                creator,
                &created,
            )?;
            if thread["type"] == "customer" {
                has_customer_thread = true;
            }
            emails += sent;
            stored.push(thread);
        }
        if auto_reply && !imported && has_customer_thread {
            emails += 1;
        }
        let first_is_customer = stored.first().is_some_and(|t| t["type"] == "customer");
        let created_by = if first_is_customer {
            customer.clone()
        } else {
            user_ref(&account.users[&creator])
        };
        let folder = folder_for(&account, mailbox, &status, assignee.is_some());
        let last_body = stored
            .last()
            .and_then(|t| t["body"].as_str())
            .unwrap_or("")
            .to_string();
        let mut conversation = json!({
            "id": id, "number": number, "type": kind, "folderId": folder, "status": status,
            "state": "published", "subject": subject, "preview": preview(&last_body),
            "mailboxId": mailbox, "createdBy": created_by, "createdAt": created,
            "closedAt": if status == "closed" { json!(closed_at.clone().unwrap_or_else(|| at.clone())) } else { Value::Null },
            "userUpdatedAt": at,
            "source": {"type": "api", "via": if first_is_customer { "customer" } else { "user" }},
            "tags": tags, "cc": [], "bcc": [], "primaryCustomer": customer, "customFields": fields,
        });
        if let Some(a) = assignee {
            conversation["assignee"] = user_ref(&account.users[&a]);
        }
        if status == "closed" {
            conversation["closedBy"] = json!(creator);
            conversation["closedByUser"] = user_ref(&account.users[&creator]);
        }
        account.conversations.insert(id, conversation);
        account.threads.insert(id, stored);
        drop(account);
        for _ in 0..emails {
            count_email(state);
        }
        Ok(created_response(state, id))
    }

    /// Checks one thread object of a create; `Ok(None)` when it had errors (collected).
    fn thread_input(
        &self,
        account: &Account,
        t: &Value,
        prefix: &str,
        conversation_imported: bool,
        errors: &mut Vec<FieldError>,
    ) -> Result<Option<ThreadInput>, Response> {
        let before = errors.len();
        let Some(map) = t.as_object() else {
            errors.push(err(
                prefix.trim_end_matches('.'),
                "must be an object",
                Some(t),
            ));
            return Ok(None);
        };
        let kind = match map.get("type").and_then(Value::as_str) {
            Some(k @ ("customer" | "reply" | "note" | "phone" | "chat")) => k.to_string(),
            _ => {
                errors.push(err(
                    format!("{prefix}type"),
                    "Expected one of these: 'customer', 'reply', 'note', 'phone', 'chat'",
                    map.get("type"),
                ));
                String::new()
            }
        };
        self.thread_fields(account, map, &kind, prefix, conversation_imported, errors)
            .map(|input| input.filter(|_| errors.len() == before))
    }

    /// The fields of a thread of `kind`, from a conversation create or a thread endpoint.
    fn thread_fields(
        &self,
        account: &Account,
        map: &Map<String, Value>,
        kind: &str,
        prefix: &str,
        conversation_imported: bool,
        errors: &mut Vec<FieldError>,
    ) -> Result<Option<ThreadInput>, Response> {
        let imported = map
            .get("imported")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || conversation_imported;
        let draft = map.get("draft").and_then(Value::as_bool).unwrap_or(false);
        let text = match map.get("text") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            other => {
                if matches!(kind, "reply" | "note" | "customer") {
                    errors.push(err(
                        format!("{prefix}text"),
                        "may not be empty",
                        other.filter(|v| !v.is_null()),
                    ));
                }
                other.and_then(Value::as_str).unwrap_or("").to_string()
            }
        };
        let mut created_at = None;
        if let Some(v) = map.get("createdAt").filter(|v| !v.is_null()) {
            if !imported {
                errors.push(err(
                    format!("{prefix}createdAt"),
                    "createdAt can only be used together with imported: true",
                    Some(v),
                ));
            } else {
                match v.as_str().and_then(parse_time) {
                    Some(_) => created_at = v.as_str().map(str::to_string),
                    None => {
                        errors.push(err(format!("{prefix}createdAt"), "Malformed date", Some(v)))
                    }
                }
            }
        }
        let mut user = None;
        if let Some(v) = map.get("user").filter(|v| !v.is_null()) {
            match self.user_exists(account, v) {
                Some(u) => user = Some(u),
                None => errors.push(err(format!("{prefix}user"), "Invalid identifier", Some(v))),
            }
        }
        let status = match map.get("status").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => match v.as_str() {
                Some(s @ ("active" | "pending" | "closed" | "spam")) => Some(s.to_string()),
                _ => {
                    errors.push(err(
                        format!("{prefix}status"),
                        "Expected one of these: 'active', 'pending', 'closed', 'spam'",
                        Some(v),
                    ));
                    None
                }
            },
        };
        if kind == "reply" && map.get("customer").is_none_or(Value::is_null) {
            errors.push(err(format!("{prefix}customer"), "may not be null", None));
        }
        let files = self.attachments(map.get("attachments"), prefix, errors)?;
        Ok(Some(ThreadInput {
            kind: kind.to_string(),
            text,
            imported,
            draft,
            created_at,
            user,
            status,
            customer: map.get("customer").cloned().filter(|v| !v.is_null()),
            files,
            prefix: prefix.to_string(),
        }))
    }

    /// Stores the thread's attachments and builds it; `(thread, emails sent)`.
    #[allow(clippy::too_many_arguments)]
    fn build_thread(
        &self,
        account: &mut Account,
        cid: u64,
        input: ThreadInput,
        default_customer: u64,
        conversation_status: &str,
        _conversation_imported: bool,
        default_user: u64,
        default_at: &str,
    ) -> Result<(Value, u64), Response> {
        let customer_id = match &input.customer {
            Some(_) => self
                .resolve_customer(
                    account,
                    input.customer.as_ref(),
                    &format!("{}customer", input.prefix),
                    false,
                )?
                .unwrap_or(default_customer),
            None => default_customer,
        };
        let tid = account.next_id();
        let attachments = self.store_attachments(account, cid, tid, input.files);
        let customer = customer_ref(&account.customers[&customer_id]);
        let user = user_ref(&account.users[&input.user.unwrap_or(default_user)]);
        let (read_type, created_by) = match input.kind.as_str() {
            "customer" => ("customer", customer.clone()),
            "reply" => ("message", user),
            "note" => ("note", user),
            "phone" => ("phone", user),
            _ => ("chat", customer.clone()),
        };
        let status = match (read_type, &input.status) {
            (_, Some(s)) => s.clone(),
            ("note", None) => "nochange".to_string(),
            _ => conversation_status.to_string(),
        };
        let at = input
            .created_at
            .clone()
            .unwrap_or_else(|| default_at.to_string());
        let thread = thread_json(
            tid,
            read_type,
            &input.text,
            &status,
            if input.draft { "draft" } else { "published" },
            &at,
            created_by,
            customer,
            Value::Null,
            attachments,
        );
        let sent = u64::from(input.kind == "reply" && !input.imported && !input.draft);
        Ok((thread, sent))
    }

    fn patch_conversation(&self, id: u64) -> Answer {
        let map = self.json_body()?;
        let state = self.state;
        let op = map.get("op").and_then(Value::as_str).unwrap_or("");
        let path = map.get("path").and_then(Value::as_str).unwrap_or("");
        let value = map.get("value").cloned().unwrap_or(Value::Null);
        let mut account = lock(state);
        if !account.conversations.contains_key(&id) {
            return Err(not_found(state));
        }
        let at = now();
        let mut update: Vec<(&str, Value)> = Vec::new();
        match (op, path) {
            ("replace", "/subject") => match value.as_str().filter(|s| !s.trim().is_empty()) {
                Some(s) => update.push(("subject", json!(s))),
                None => return Err(one_error(state, "value", "may not be empty", Some(&value))),
            },
            ("replace", "/status") => match value.as_str() {
                Some(s @ ("active" | "pending" | "closed" | "spam")) => {
                    update.push(("status", json!(s)));
                    update.push((
                        "closedAt",
                        if s == "closed" {
                            json!(at)
                        } else {
                            Value::Null
                        },
                    ));
                }
                _ => {
                    return Err(one_error(
                        state,
                        "value",
                        "Expected one of these: 'active', 'pending', 'closed', 'spam'",
                        Some(&value),
                    ));
                }
            },
            ("replace", "/primaryCustomer.id") => {
                match value.as_u64().and_then(|c| account.customers.get(&c)) {
                    Some(c) => update.push(("primaryCustomer", customer_ref(c))),
                    None => {
                        return Err(one_error(
                            state,
                            "value",
                            "Invalid identifier",
                            Some(&value),
                        ));
                    }
                }
            }
            ("replace", "/assignTo") => match self.user_exists(&account, &value) {
                Some(u) => update.push(("assignee", user_ref(&account.users[&u]))),
                None => {
                    return Err(one_error(
                        state,
                        "value",
                        "Invalid identifier",
                        Some(&value),
                    ));
                }
            },
            ("remove", "/assignTo") => update.push(("assignee", Value::Null)),
            ("move", "/mailboxId") => {
                match value.as_u64().filter(|m| account.mailboxes.contains_key(m)) {
                    Some(m) => update.push(("mailboxId", json!(m))),
                    None => {
                        return Err(one_error(
                            state,
                            "value",
                            "Invalid identifier",
                            Some(&value),
                        ));
                    }
                }
            }
            ("replace", "/draft") => {
                if !value.is_boolean() {
                    return Err(one_error(state, "value", "must be a boolean", Some(&value)));
                }
            }
            _ => {
                return Err(bad_request(
                    state,
                    vec![err(
                        "op",
                        format!("Unsupported operation {op:?} on path {path:?}"),
                        Some(&json!(op)),
                    )],
                ));
            }
        }
        let Some(c) = account.conversations.get_mut(&id) else {
            return Err(not_found(state));
        };
        for (k, v) in update {
            if v.is_null() && k == "assignee" {
                if let Some(o) = c.as_object_mut() {
                    o.remove("assignee");
                }
            } else {
                c[k] = v;
            }
        }
        c["userUpdatedAt"] = json!(at);
        let (mailbox, status, assigned) = (
            c["mailboxId"].as_u64().unwrap_or(0),
            c["status"].as_str().unwrap_or("active").to_string(),
            c["assignee"]["id"].is_u64(),
        );
        let folder = folder_for(&account, mailbox, &status, assigned);
        if let Some(c) = account.conversations.get_mut(&id) {
            c["folderId"] = folder;
        }
        Ok(no_content())
    }

    fn delete_conversation(&self, id: u64) -> Answer {
        let mut account = lock(self.state);
        account
            .conversations
            .remove(&id)
            .ok_or_else(|| not_found(self.state))?;
        account.threads.remove(&id);
        account.attachments.retain(|_, a| a.conversation != id);
        Ok(no_content())
    }

    fn put_tags(&self, id: u64) -> Answer {
        let map = self.json_body()?;
        let mut account = lock(self.state);
        if !account.conversations.contains_key(&id) {
            return Err(not_found(self.state));
        }
        let mut errors = Vec::new();
        let tags = self.tag_refs(
            &mut account,
            map.get("tags").unwrap_or(&Value::Null),
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        if let Some(c) = account.conversations.get_mut(&id) {
            c["tags"] = Value::Array(tags);
            c["userUpdatedAt"] = json!(now());
        }
        Ok(no_content())
    }

    fn put_fields(&self, id: u64) -> Answer {
        let map = self.json_body()?;
        let mut account = lock(self.state);
        let mailbox = account
            .conversations
            .get(&id)
            .ok_or_else(|| not_found(self.state))?["mailboxId"]
            .as_u64()
            .unwrap_or(0);
        let mut errors = Vec::new();
        let fields = self.check_fields(
            &account,
            mailbox,
            map.get("fields").unwrap_or(&Value::Null),
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        if let Some(c) = account.conversations.get_mut(&id) {
            let mut list = c["customFields"].as_array().cloned().unwrap_or_default();
            for f in fields {
                list.retain(|x| x["id"] != f["id"]);
                list.push(f);
            }
            c["customFields"] = Value::Array(list);
            c["userUpdatedAt"] = json!(now());
        }
        Ok(no_content())
    }

    fn list_threads(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let threads = account
            .threads
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        // Newest first, as Help Scout lists threads.
        let items: Vec<Value> = threads
            .iter()
            .rev()
            .map(|t| self.thread_out(id, t))
            .collect();
        drop(account);
        self.hal_page("threads", items, PAGE_SIZE)
    }

    fn create_thread(&self, id: u64, endpoint: &str) -> Answer {
        let map = self.json_body()?;
        let state = self.state;
        let kind = match endpoint {
            "customer" => "customer",
            "reply" => "reply",
            "notes" => "note",
            "phones" => "phone",
            _ => "chat",
        };
        let mut account = lock(state);
        let (status, primary, mailbox) = {
            let c = account
                .conversations
                .get(&id)
                .ok_or_else(|| not_found(state))?;
            (
                c["status"].as_str().unwrap_or("active").to_string(),
                c["primaryCustomer"]["id"].as_u64().unwrap_or(0),
                c["mailboxId"].as_u64().unwrap_or(0),
            )
        };
        let mut errors = Vec::new();
        if kind == "customer" && map.get("customer").is_none_or(Value::is_null) {
            errors.push(err("customer", "may not be null", None));
        }
        let input = self.thread_fields(&account, &map, kind, "", false, &mut errors)?;
        if !errors.is_empty() {
            return Err(bad_request(state, errors));
        }
        let Some(input) = input else {
            return Err(bad_request(state, errors));
        };
        let imported = input.imported;
        let draft = input.draft;
        let explicit_status = input.status.clone();
        let new_status = match kind {
            "customer" | "phone" | "chat" if !imported => {
                explicit_status.clone().unwrap_or_else(|| "active".into())
            }
            "reply" if !imported && !draft => {
                explicit_status.clone().unwrap_or_else(|| "active".into())
            }
            _ => explicit_status.clone().unwrap_or_else(|| status.clone()),
        };
        let at = now();
        let owner = account.owner_id;
        let (thread, sent) = self.build_thread(
            &mut account,
            id,
            input,
            primary,
            &new_status,
            imported,
            owner,
            &at,
        )?;
        let tid = thread["id"].as_u64().unwrap_or(0);
        let body = thread["body"].as_str().unwrap_or("").to_string();
        account.threads.entry(id).or_default().push(thread);
        let assigned = account
            .conversations
            .get(&id)
            .is_some_and(|c| c["assignee"]["id"].is_u64());
        let folder = folder_for(&account, mailbox, &new_status, assigned);
        if let Some(c) = account.conversations.get_mut(&id) {
            if c["status"] != new_status.as_str() {
                c["closedAt"] = if new_status == "closed" {
                    json!(at)
                } else {
                    Value::Null
                };
            }
            c["status"] = json!(new_status);
            c["folderId"] = folder;
            c["preview"] = json!(preview(&body));
            c["userUpdatedAt"] = json!(at);
        }
        drop(account);
        for _ in 0..sent {
            count_email(state);
        }
        Ok(Response::empty(201)
            .with_header("Resource-ID", tid.to_string())
            .with_header(
                "Location",
                self.url(&format!("/conversations/{id}/threads/{tid}")),
            ))
    }

    fn patch_thread(&self, id: u64, tid: u64) -> Answer {
        let map = self.json_body()?;
        let op = map.get("op").and_then(Value::as_str).unwrap_or("");
        let path = map.get("path").and_then(Value::as_str).unwrap_or("");
        let value = map.get("value").cloned().unwrap_or(Value::Null);
        let mut account = lock(self.state);
        let thread = account
            .threads
            .get_mut(&id)
            .and_then(|l| l.iter_mut().find(|t| t["id"] == tid))
            .ok_or_else(|| not_found(self.state))?;
        match (op, path) {
            ("replace", "/text") => match value.as_str().filter(|s| !s.trim().is_empty()) {
                Some(s) => thread["body"] = json!(s),
                None => {
                    return Err(one_error(
                        self.state,
                        "value",
                        "may not be empty",
                        Some(&value),
                    ));
                }
            },
            ("hide", _) => thread["state"] = json!("hidden"),
            ("unhide", _) => thread["state"] = json!("published"),
            _ => {
                return Err(one_error(
                    self.state,
                    "op",
                    &format!("Unsupported operation {op:?} on path {path:?}"),
                    Some(&json!(op)),
                ));
            }
        }
        Ok(no_content())
    }

    fn add_attachment(&self, id: u64, tid: u64) -> Answer {
        let map = self.json_body()?;
        let mut errors = Vec::new();
        let list = json!([Value::Object(map)]);
        let mut files = self.attachments(Some(&list), "", &mut errors)?;
        if !errors.is_empty() {
            for e in &mut errors {
                e.path = e.path.trim_start_matches("attachments[0].").to_string();
            }
            return Err(bad_request(self.state, errors));
        }
        let mut account = lock(self.state);
        if !account
            .threads
            .get(&id)
            .is_some_and(|l| l.iter().any(|t| t["id"] == tid))
        {
            return Err(not_found(self.state));
        }
        let Some(file) = files.pop() else {
            return Err(one_error(self.state, "data", "may not be empty", None));
        };
        let stored = self.store_attachments(&mut account, id, tid, vec![file]);
        let aid = stored
            .first()
            .map(|a| a["id"].clone())
            .unwrap_or(Value::Null);
        if let Some(thread) = account
            .threads
            .get_mut(&id)
            .and_then(|l| l.iter_mut().find(|t| t["id"] == tid))
            && let Some(list) = thread["_embedded"]["attachments"].as_array_mut()
        {
            list.extend(stored);
        }
        Ok(created(
            self.state,
            &format!("/v2/conversations/{id}/attachments/{aid}"),
            aid,
        ))
    }

    fn attachment_data(&self, id: u64, aid: u64) -> Answer {
        let account = lock(self.state);
        let a = account
            .attachments
            .get(&aid)
            .filter(|a| a.conversation == id)
            .ok_or_else(|| not_found(self.state))?;
        let bytes = match &a.blob {
            Blob::Generated { key, size } => {
                Generator::new(&self.state.config).attachment_bytes(key, *size)
            }
            Blob::Stored(bytes) => bytes.clone(),
        };
        drop(account);
        Ok(hal(&json!({"data": b64(&bytes)})))
    }

    fn delete_attachment(&self, id: u64, aid: u64) -> Answer {
        let mut account = lock(self.state);
        let thread = match account.attachments.get(&aid) {
            Some(a) if a.conversation == id => a.thread,
            _ => return Err(not_found(self.state)),
        };
        account.attachments.remove(&aid);
        if let Some(t) = account
            .threads
            .get_mut(&id)
            .and_then(|l| l.iter_mut().find(|t| t["id"] == thread))
            && let Some(list) = t["_embedded"]["attachments"].as_array_mut()
        {
            list.retain(|a| a["id"] != aid);
        }
        Ok(no_content())
    }

    // ---------------------------------------------------------------- tags, ratings

    fn list_tags(&self) -> Answer {
        let account = lock(self.state);
        let items: Vec<Value> = account
            .tags
            .values()
            .map(|t| {
                let count = account
                    .conversations
                    .values()
                    .filter(|c| {
                        c["tags"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|x| x["id"] == t["id"]))
                    })
                    .count();
                let mut t = t.clone();
                t["ticketCount"] = json!(count);
                t
            })
            .collect();
        drop(account);
        self.hal_page("tags", items, PAGE_SIZE)
    }

    fn rating_out(&self, r: &Value) -> Value {
        let mut value = r.clone();
        value["_links"] = json!({
            "conversation": self.link(&format!("/conversations/{}", r["conversationId"])),
            "mailbox": self.link(&format!("/mailboxes/{}", r["mailboxId"])),
            "customer": self.link(&format!("/customers/{}", r["customer"]["id"])),
            "user": self.link(&format!("/users/{}", r["user"]["id"])),
            "self": self.link(&format!("/ratings/{}", r["id"])),
        });
        value
    }

    fn get_rating(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let r = account
            .ratings
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.rating_out(r)))
    }

    /// `GET /v2/reports/happiness/ratings`: every rating in the interval, 50 per page.
    fn happiness_ratings(&self) -> Answer {
        let request = self.request;
        let mut bounds = Vec::new();
        for key in ["start", "end"] {
            match request.query(key) {
                Some(t) => bounds.push(parse_time(t).ok_or_else(|| {
                    one_error(self.state, key, "Malformed date", Some(&json!(t)))
                })?),
                None => return Err(one_error(self.state, key, "may not be null", None)),
            }
        }
        let wanted = match request.query("rating").unwrap_or("all") {
            "all" => None,
            "great" => Some("great"),
            "ok" | "okay" => Some("okay"),
            "not-good" => Some("not_good"),
            other => {
                return Err(one_error(
                    self.state,
                    "rating",
                    "Expected one of these: 'great', 'ok', 'all', 'not-good'",
                    Some(&json!(other)),
                ));
            }
        };
        let mailboxes: Option<Vec<u64>> = request
            .query("mailboxes")
            .map(|m| m.split(',').filter_map(|x| x.trim().parse().ok()).collect());
        let page = self.page_number()?;
        let account = lock(self.state);
        let mut results: Vec<Value> = account
            .ratings
            .values()
            .filter(|r| {
                let at = r["createdAt"].as_str().and_then(parse_time);
                at.is_some_and(|t| t >= bounds[0] && t <= bounds[1])
                    && wanted.is_none_or(|w| r["rating"] == w)
                    && mailboxes
                        .as_ref()
                        .is_none_or(|m| r["mailboxId"].as_u64().is_some_and(|x| m.contains(&x)))
            })
            .map(|r| {
                let cid = r["conversationId"].as_u64().unwrap_or(0);
                let conversation = account.conversations.get(&cid);
                let thread_at = account
                    .threads
                    .get(&cid)
                    .and_then(|l| l.iter().find(|t| t["id"] == r["threadId"]))
                    .map(|t| t["createdAt"].clone())
                    .unwrap_or(Value::Null);
                let code = match r["rating"].as_str() {
                    Some("great") => 1,
                    Some("okay") => 2,
                    _ => 3,
                };
                json!({
                    "number": r["conversationNumber"], "threadid": r["threadId"],
                    "threadCreatedAt": thread_at, "id": cid,
                    "type": conversation.map(|c| c["type"].clone()).unwrap_or(json!("email")),
                    "ratingId": code, "ratingCustomerId": r["customer"]["id"],
                    "ratingComments": r["comments"], "ratingCreatedAt": r["createdAt"],
                    "ratingCustomerName": format!("{} {}", r["customer"]["firstName"].as_str().unwrap_or(""), r["customer"]["lastName"].as_str().unwrap_or("")).trim(),
                    "ratingUserId": r["user"]["id"],
                    "ratingUserName": format!("{} {}", r["user"]["firstName"].as_str().unwrap_or(""), r["user"]["lastName"].as_str().unwrap_or("")).trim(),
                    "ratingDbId": r["id"],
                })
            })
            .collect();
        drop(account);
        results.sort_by(|a, b| {
            compare(&a["ratingCreatedAt"], &b["ratingCreatedAt"])
                .then_with(|| compare(&a["ratingDbId"], &b["ratingDbId"]))
        });
        let count = results.len();
        let pages = count.div_ceil(PAGE_SIZE);
        let page_items: Vec<Value> = results
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        Ok(Response::json(
            200,
            &json!({"facets": {}, "results": page_items, "page": page, "count": count, "pages": pages}),
        ))
    }

    // ---------------------------------------------------------------- workflows, webhooks

    fn list_workflows(&self) -> Answer {
        let mailbox = self
            .request
            .query("mailboxId")
            .and_then(|m| m.parse::<u64>().ok());
        let kind = self.request.query("type");
        let mut items: Vec<Value> = lock(self.state)
            .workflows
            .values()
            .filter(|w| mailbox.is_none_or(|m| w["mailboxId"].as_u64() == Some(m)))
            .filter(|w| kind.is_none_or(|k| w["type"] == k))
            .map(|w| self.with_self(w.clone(), &format!("/workflows/{}", w["id"])))
            .collect();
        items.sort_by(|a, b| compare(&a["order"], &b["order"]));
        self.hal_page("workflows", items, PAGE_SIZE)
    }

    fn patch_workflow(&self, id: u64) -> Answer {
        let map = self.json_body()?;
        let mut account = lock(self.state);
        let w = account
            .workflows
            .get_mut(&id)
            .ok_or_else(|| not_found(self.state))?;
        let value = map.get("value").cloned().unwrap_or(Value::Null);
        match (
            map.get("op").and_then(Value::as_str),
            map.get("path").and_then(Value::as_str),
        ) {
            (Some("replace"), Some("/status")) => match value.as_str() {
                Some(s @ ("active" | "inactive")) => {
                    w["status"] = json!(s);
                    w["modifiedAt"] = json!(now());
                    Ok(no_content())
                }
                _ => Err(one_error(
                    self.state,
                    "value",
                    "Expected one of these: 'active', 'inactive'",
                    Some(&value),
                )),
            },
            _ => Err(one_error(
                self.state,
                "op",
                "Only replace /status is supported",
                map.get("op"),
            )),
        }
    }

    fn run_workflow(&self, id: u64) -> Answer {
        let map = self.json_body()?;
        let account = lock(self.state);
        let w = account
            .workflows
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        if w["type"] != "manual" {
            return Err(one_error(
                self.state,
                "id",
                "Only manual workflows can be run",
                Some(&json!(id)),
            ));
        }
        let Some(list) = map.get("conversationIds").and_then(Value::as_array) else {
            return Err(one_error(
                self.state,
                "conversationIds",
                "may not be null",
                None,
            ));
        };
        for (i, c) in list.iter().enumerate() {
            if !c
                .as_u64()
                .is_some_and(|c| account.conversations.contains_key(&c))
            {
                return Err(one_error(
                    self.state,
                    &format!("conversationIds[{i}]"),
                    "Invalid identifier",
                    Some(c),
                ));
            }
        }
        Ok(no_content())
    }

    fn webhook_out(&self, w: &Value) -> Value {
        let mut value = self.with_self(w.clone(), &format!("/webhooks/{}", w["id"]));
        if let Some(o) = value.as_object_mut() {
            o.remove("secret");
        }
        value
    }

    fn list_webhooks(&self) -> Answer {
        let items: Vec<Value> = lock(self.state)
            .webhooks
            .values()
            .map(|w| self.webhook_out(w))
            .collect();
        self.hal_page("webhooks", items, PAGE_SIZE)
    }

    fn get_webhook(&self, id: u64) -> Answer {
        let account = lock(self.state);
        let w = account
            .webhooks
            .get(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(hal(&self.webhook_out(w)))
    }

    fn write_webhook(&self, id: Option<u64>) -> Answer {
        let map = self.json_body()?;
        let mut errors = Vec::new();
        let url = self.text(
            &map,
            "url",
            "",
            Text { min: 1, max: 2048 },
            true,
            &mut errors,
        );
        if let Some(Some(u)) = &url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            errors.push(err("url", "must be a valid URL", map.get("url")));
        }
        let secret = self.text(
            &map,
            "secret",
            "",
            Text { min: 1, max: 40 },
            true,
            &mut errors,
        );
        const EVENTS: &[&str] = &[
            "beacon.chat.created",
            "beacon.chat.customer.replied",
            "convo.agent.reply.created",
            "convo.assigned",
            "convo.created",
            "convo.custom-fields",
            "convo.customer.reply.created",
            "convo.deleted",
            "convo.merged",
            "convo.moved",
            "convo.note.created",
            "convo.status",
            "convo.tags",
            "customer.created",
            "customer.deleted",
            "customer.updated",
            "message.survey.response.received",
            "organization.created",
            "organization.deleted",
            "organization.updated",
            "satisfaction.ratings",
            "tag.created",
            "tag.deleted",
            "tag.updated",
            "user.status.changed",
        ];
        let events = match map.get("events") {
            Some(Value::Array(list)) if !list.is_empty() => {
                for (i, e) in list.iter().enumerate() {
                    if !e.as_str().is_some_and(|e| EVENTS.contains(&e)) {
                        errors.push(err(format!("events[{i}]"), "Value not supported", Some(e)));
                    }
                }
                list.clone()
            }
            other => {
                errors.push(err("events", "may not be empty", other));
                Vec::new()
            }
        };
        match map.get("payloadVersion") {
            None | Some(Value::Null) => {}
            Some(v) if v == "V2" => {}
            Some(v) => errors.push(err(
                "payloadVersion",
                "Expected one of these: 'V2'",
                Some(v),
            )),
        }
        let label = self.text(
            &map,
            "label",
            "",
            Text { min: 0, max: 255 },
            false,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(bad_request(self.state, errors));
        }
        let mut account = lock(self.state);
        let hook_id = match id {
            Some(id) if account.webhooks.contains_key(&id) => id,
            Some(_) => return Err(not_found(self.state)),
            None => account.next_id(),
        };
        account.webhooks.insert(
            hook_id,
            json!({
                "id": hook_id, "url": url.flatten(), "state": "enabled", "events": events,
                "notification": map.get("notification").and_then(Value::as_bool).unwrap_or(false),
                "payloadVersion": "V2", "label": label.flatten(),
                "mailboxIds": map.get("mailboxIds").cloned().unwrap_or(json!([])),
                "secret": secret.flatten(),
            }),
        );
        match id {
            None => Ok(created(
                self.state,
                &format!("/v2/webhooks/{hook_id}"),
                hook_id,
            )),
            Some(_) => Ok(no_content()),
        }
    }

    fn delete_webhook(&self, id: u64) -> Answer {
        let mut account = lock(self.state);
        account
            .webhooks
            .remove(&id)
            .ok_or_else(|| not_found(self.state))?;
        Ok(no_content())
    }
}

/// A thread of a create, checked but not stored.
struct ThreadInput {
    kind: String,
    text: String,
    imported: bool,
    draft: bool,
    created_at: Option<String>,
    user: Option<u64>,
    status: Option<String>,
    customer: Option<Value>,
    files: Vec<(String, String, Vec<u8>)>,
    prefix: String,
}

fn created_response(state: &State, id: u64) -> Response {
    created(state, &format!("/v2/conversations/{id}"), id)
}

fn folder_for(account: &Account, mailbox: u64, status: &str, assigned: bool) -> Value {
    let kind = match status {
        "closed" => "closed",
        "spam" => "spam",
        _ if assigned => "assigned",
        _ => "open",
    };
    account
        .folders
        .get(&mailbox)
        .and_then(|l| l.iter().find(|f| f["type"] == kind))
        .map(|f| f["id"].clone())
        .unwrap_or(Value::Null)
}

/// Orders JSON values: numbers, then strings, then the rest (nulls last when ascending).
fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

/// A simple email check: one `@`, something on both sides, a dot in the domain.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

/// A parsed `query` parameter: `(email:"…")`, `(subject:"…")`, `(firstName:"…")`, or free text.
struct Search {
    terms: Vec<(String, String)>,
    negated: Vec<(String, String)>,
    free: Option<String>,
}

fn parse_search(text: &str) -> Search {
    let mut terms = Vec::new();
    let mut negated = Vec::new();
    let mut rest = text.to_string();
    while let Some(colon) = rest.find(":\"") {
        let head = &rest[..colon];
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let field = head[start..].to_string();
        let not = head[..start]
            .trim_end()
            .trim_end_matches('(')
            .trim_end()
            .ends_with("NOT");
        let after = &rest[colon + 2..];
        let Some(end) = after.find('"') else { break };
        let value = after[..end].to_lowercase();
        if not {
            negated.push((field, value));
        } else {
            terms.push((field, value));
        }
        let cut = colon + 2 + end + 1;
        rest = format!("{}{}", &rest[..start], &rest[cut..]);
    }
    let free: String = rest
        .replace(['(', ')'], " ")
        .replace("NOT", " ")
        .replace(" AND ", " ")
        .replace(" OR ", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Search {
        terms,
        negated,
        free: (!free.is_empty()).then_some(free),
    }
}

impl Search {
    fn customer_term(c: &Value, field: &str, value: &str) -> bool {
        let get = |k: &str| c[k].as_str().unwrap_or("").to_lowercase();
        match field {
            "email" => customer_has_email(c, value),
            "firstName" => get("firstName") == value,
            "lastName" => get("lastName") == value,
            "organization" | "company" => get("organization").contains(value),
            _ => false,
        }
    }

    fn matches_customer(&self, c: &Value) -> bool {
        let terms = self.terms.iter().all(|(f, v)| Self::customer_term(c, f, v));
        let negated = self
            .negated
            .iter()
            .all(|(f, v)| !Self::customer_term(c, f, v));
        let free = self.free.as_ref().is_none_or(|text| {
            let name = format!(
                "{} {}",
                c["firstName"].as_str().unwrap_or(""),
                c["lastName"].as_str().unwrap_or("")
            )
            .to_lowercase();
            name.contains(text.as_str())
                || c["_embedded"]["emails"].as_array().is_some_and(|l| {
                    l.iter().any(|e| {
                        e["value"]
                            .as_str()
                            .is_some_and(|v| v.to_lowercase().contains(text.as_str()))
                    })
                })
        });
        terms && negated && free
    }

    fn conversation_term(account: &Account, c: &Value, field: &str, value: &str) -> bool {
        match field {
            "email" => c["primaryCustomer"]["id"]
                .as_u64()
                .and_then(|id| account.customers.get(&id))
                .is_some_and(|cust| customer_has_email(cust, value)),
            "subject" => c["subject"]
                .as_str()
                .is_some_and(|s| s.to_lowercase().contains(value)),
            "tag" => c["tags"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|t| t["tag"].as_str().is_some_and(|n| n.to_lowercase() == value))
            }),
            "number" => value.parse::<u64>().ok() == c["number"].as_u64(),
            _ => false,
        }
    }

    fn matches_conversation(&self, account: &Account, c: &Value) -> bool {
        self.terms
            .iter()
            .all(|(f, v)| Self::conversation_term(account, c, f, v))
            && self
                .negated
                .iter()
                .all(|(f, v)| !Self::conversation_term(account, c, f, v))
            && self.free.as_ref().is_none_or(|text| {
                c["subject"]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(text.as_str()))
            })
    }
}
