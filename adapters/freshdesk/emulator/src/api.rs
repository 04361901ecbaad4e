//! The routes of the API v2.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};
use switchover_sandbox::auth::{Credentials, credentials};
use switchover_sandbox::generate::Generator;
use switchover_sandbox::{Request, Response, percent_encode};

use crate::seed::{custom_field, html_to_text};
use crate::store::{Account, Blob};
use crate::{Answer, MAX_REQUEST_ATTACHMENTS, MAX_TICKET_PAGE, State, count_email, lock};
use crate::{canned, rules, sla};

/// A `400 Validation failed` with one error.
pub(crate) fn invalid(field: &str, message: &str, code: &str) -> Response {
    errors(400, vec![(field.into(), message.into(), code.into())])
}

pub(crate) fn errors(status: u16, list: Vec<(String, String, String)>) -> Response {
    Response::json(
        status,
        &json!({
            "description": "Validation failed",
            "errors": list.into_iter().map(|(field, message, code)| json!({"field": field, "message": message, "code": code})).collect::<Vec<_>>(),
        }),
    )
}

pub(crate) fn not_found() -> Response {
    Response::empty(404)
}

/// The one spelling of stored times.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

pub(crate) fn now() -> String {
    Utc::now().format(TIME_FORMAT).to_string()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

fn time_of(value: &Value, key: &str) -> Option<DateTime<Utc>> {
    value.get(key).and_then(Value::as_str).and_then(parse_time)
}

/// Entry point after faults: attachments, auth, credits, then the routes.
pub(crate) fn handle(state: &State, request: &Request) -> Response {
    if let Some(rest) = request.path.strip_prefix("/s3/attachments/") {
        return download(state, rest);
    }
    let authorized = matches!(credentials(request), Some(Credentials::Basic { user, .. }) if user == state.api_key);
    if !authorized {
        return Response::json(
            401,
            &json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}),
        );
    }
    if let Some(id) = request.path.strip_prefix("/a/tickets/") {
        return ticket_page(state, id);
    }
    let includes = request
        .query("include")
        .map(|s| s.split(',').filter(|x| !x.trim().is_empty()).count())
        .unwrap_or(0) as u32;
    let cost = 1 + 2 * includes;
    let budget = match crate::credits_of(state) {
        None => None,
        Some(credits) => match crate::spend(credits, cost) {
            Ok(numbers) => Some(numbers),
            Err(retry_after) => {
                return Response::json(
                    429,
                    &json!({"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"}),
                )
                .with_header("Retry-After", retry_after.to_string())
                .with_header("X-RateLimit-Total", credits_limit(state).to_string())
                .with_header("X-RateLimit-Remaining", "0")
                .with_header("X-RateLimit-Used-CurrentRequest", "0");
            }
        },
    };
    let mut response = match route(state, request) {
        Ok(r) | Err(r) => r,
    };
    response = response.with_header("X-Freshdesk-API-Version", "latest=v2; requested=v2");
    if let Some((limit, remaining)) = budget {
        response = response
            .with_header("X-RateLimit-Total", limit.to_string())
            .with_header("X-RateLimit-Remaining", remaining.to_string())
            .with_header("X-RateLimit-Used-CurrentRequest", cost.to_string());
    }
    response
}

fn credits_limit(state: &State) -> u32 {
    state.config.rpm.unwrap_or(0)
}

/// The agent's page of a ticket (`/a/tickets/{id}`), which links in bodies open: 200
/// with the subject for a ticket the account has, 404 otherwise.
fn ticket_page(state: &State, id: &str) -> Response {
    let id: Option<u64> = id.trim_end_matches('/').parse().ok();
    let account = lock(state);
    match id.and_then(|id| account.tickets.get(&id)) {
        Some(ticket) => Response::bytes(
            200,
            "text/html; charset=utf-8",
            format!(
                "<html><title>{}</title></html>",
                ticket["subject"].as_str().unwrap_or_default()
            )
            .into_bytes(),
        ),
        None => Response::text(404, "The page you were looking for doesn't exist"),
    }
}

fn download(state: &State, rest: &str) -> Response {
    let id: Option<u64> = rest.split('/').next().and_then(|s| s.parse().ok());
    let account = lock(state);
    let Some(blob) = id.and_then(|id| account.blobs.get(&id)) else {
        return Response::text(404, "NoSuchKey");
    };
    let bytes = match blob {
        Blob::Generated { key, size } => Generator::new(&state.config).attachment_bytes(key, *size),
        Blob::Stored(bytes) => bytes.clone(),
    };
    Response::bytes(200, "application/octet-stream", bytes)
}

fn host(request: &Request) -> String {
    request.header("host").unwrap_or("127.0.0.1").to_string()
}

/// Adds the pre-signed `attachment_url` to every attachment of a record.
fn render_attachments(value: &mut Value, host: &str) {
    if let Some(list) = value.get_mut("attachments").and_then(Value::as_array_mut) {
        for a in list {
            let id = a["id"].as_u64().unwrap_or(0);
            let name = a["name"].as_str().unwrap_or("file").to_string();
            a["attachment_url"] = json!(format!(
                "http://{host}/s3/attachments/{id}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=emulated",
                percent_encode(&name)
            ));
        }
    }
}

/// One page of a list, with `Link` when more exist.
pub(crate) fn paged(request: &Request, items: Vec<Value>, max_page: Option<usize>) -> Answer {
    paged_by(request, items.len(), max_page, |range| {
        items[range].to_vec()
    })
}

/// `paged` over borrowed records: only the page is cloned.
fn paged_refs(request: &Request, items: Vec<&Value>, max_page: Option<usize>) -> Answer {
    paged_by(request, items.len(), max_page, |range| {
        items[range].iter().map(|v| (*v).clone()).collect()
    })
}

/// One page of `len` items (`page_of` builds the items of a range), with `Link` when more exist.
fn paged_by(
    request: &Request,
    len: usize,
    max_page: Option<usize>,
    page_of: impl FnOnce(std::ops::Range<usize>) -> Vec<Value>,
) -> Answer {
    let per_page = match request.query("per_page") {
        None | Some("") => 30,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(invalid(
                    "per_page",
                    "It should be a Positive Integer less than or equal to 100",
                    "invalid_value",
                ));
            }
        },
    };
    let page = match request.query("page") {
        None | Some("") => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(invalid(
                    "page",
                    "It should be a Positive Integer",
                    "invalid_value",
                ));
            }
        },
    };
    if max_page.is_some_and(|max| page > max) {
        return Err(invalid(
            "page",
            &format!(
                "You cannot access tickets beyond the {}th page. Please provide a smaller page number.",
                max_page.unwrap_or(MAX_TICKET_PAGE)
            ),
            "invalid_value",
        ));
    }
    let host = host(request);
    let start = (page - 1).saturating_mul(per_page).min(len);
    let end = start.saturating_add(per_page).min(len);
    let body: Vec<Value> = page_of(start..end)
        .into_iter()
        .map(|mut v| {
            render_attachments(&mut v, &host);
            v
        })
        .collect();
    let mut response = Response::json(200, &Value::Array(body));
    if end < len {
        let mut query: Vec<String> = request
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        query.push(format!("page={}", page + 1));
        response = response.with_header(
            "Link",
            format!(
                "<http://{host}{}?{}>; rel=\"next\"",
                request.path,
                query.join("&")
            ),
        );
    }
    Ok(response)
}

/// An uploaded file.
pub(crate) struct Upload {
    name: String,
    content_type: String,
    data: Vec<u8>,
}

const INT_FIELDS: &[&str] = &[
    "status",
    "priority",
    "source",
    "requester_id",
    "responder_id",
    "group_id",
    "company_id",
    "product_id",
    "email_config_id",
    "user_id",
    "parent_id",
    "folder_id",
    "visibility",
];
const BOOL_FIELDS: &[&str] = &["private", "incoming", "view_all_tickets", "occasional"];

/// The request body as a JSON object plus uploads (JSON or multipart).
pub(crate) fn body(request: &Request) -> Result<(Map<String, Value>, Vec<Upload>), Response> {
    let content_type = request.header("content-type").unwrap_or("");
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let parts = switchover_sandbox::multipart::parse(content_type, &request.body)
            .ok_or_else(|| invalid("", "Malformed multipart body", "invalid_json"))?;
        let mut map = Map::new();
        let mut uploads = Vec::new();
        for part in parts {
            if part.name == "attachments[]" {
                uploads.push(Upload {
                    name: part.file_name.unwrap_or_else(|| "attachment".into()),
                    content_type: part
                        .content_type
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    data: part.data,
                });
                continue;
            }
            let text = String::from_utf8_lossy(&part.data).to_string();
            if let Some(array) = part.name.strip_suffix("[]") {
                let entry = map.entry(array.to_string()).or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(json!(text));
                }
            } else if let Some(inner) = part
                .name
                .strip_prefix("custom_fields[")
                .and_then(|s| s.strip_suffix(']'))
            {
                let entry = map
                    .entry("custom_fields".to_string())
                    .or_insert_with(|| json!({}));
                if let Some(obj) = entry.as_object_mut() {
                    obj.insert(inner.to_string(), json!(text));
                }
            } else if INT_FIELDS.contains(&part.name.as_str()) {
                match text.parse::<u64>() {
                    Ok(n) => map.insert(part.name, json!(n)),
                    Err(_) => map.insert(part.name, json!(text)),
                };
            } else if BOOL_FIELDS.contains(&part.name.as_str()) {
                map.insert(part.name, json!(text == "true"));
            } else {
                map.insert(part.name, json!(text));
            }
        }
        let total: usize = uploads.iter().map(|u| u.data.len()).sum();
        if total > MAX_REQUEST_ATTACHMENTS {
            return Err(invalid(
                "attachments",
                "The cumulative size of all attachments must not exceed 20 MB",
                "invalid_size",
            ));
        }
        return Ok((map, uploads));
    }
    if request.body.is_empty() {
        return Ok((Map::new(), Vec::new()));
    }
    if !content_type.to_ascii_lowercase().contains("json") {
        return Err(Response::json(
            415,
            &json!({"code": "invalid_content_type", "message": "Content-Type header should have application/json"}),
        ));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok((map, Vec::new())),
        _ => Err(invalid(
            "",
            "Request body has invalid json format",
            "invalid_json",
        )),
    }
}

/// Refuses fields not in `allowed` (read-only ones included) with `invalid_field`.
pub(crate) fn only(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), Response> {
    let bad: Vec<(String, String, String)> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            (
                k.clone(),
                "Unexpected/invalid field in request".to_string(),
                "invalid_field".to_string(),
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(errors(400, bad))
    }
}

fn int_in(map: &Map<String, Value>, key: &str, allowed: &[u64]) -> Result<Option<u64>, Response> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if allowed.is_empty() || allowed.contains(&v) => Ok(Some(v)),
            _ => Err(invalid(
                key,
                &format!(
                    "It should be one of these values: '{}'",
                    allowed
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                "invalid_value",
            )),
        },
        Some(_) => Err(invalid(
            key,
            "Value set is of type String.It should be a/an Integer",
            "datatype_mismatch",
        )),
    }
}

fn id_in(
    map: &Map<String, Value>,
    key: &str,
    exists: impl Fn(u64) -> bool,
) -> Result<(), Response> {
    if let Some(id) = int_in(map, key, &[])?
        && !exists(id)
    {
        return Err(invalid(
            key,
            &format!(
                "There is no {} matching the given {key}",
                key.trim_end_matches("_id")
            ),
            "invalid_value",
        ));
    }
    Ok(())
}

fn string_list(map: &Map<String, Value>, key: &str) -> Result<(), Response> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(invalid(
            key,
            "It should be a/an Array of Strings",
            "datatype_mismatch",
        )),
    }
}

/// Checks custom field values against the definitions of `fields`.
fn check_custom(
    fields: &BTreeMap<u64, Value>,
    map: &Map<String, Value>,
    prefix: &str,
) -> Result<(), Response> {
    let Some(values) = map.get("custom_fields") else {
        return Ok(());
    };
    let Some(values) = values.as_object() else {
        return Err(invalid(
            "custom_fields",
            "It should be a/an key/value pair",
            "datatype_mismatch",
        ));
    };
    let mut bad = Vec::new();
    for (name, value) in values {
        let field = fields
            .values()
            .find(|f| f["name"].as_str() == Some(name) && f["default"] != json!(true));
        let path = format!("{prefix}custom_fields.{name}");
        let Some(field) = field else {
            bad.push((
                path,
                "Unexpected/invalid field in request".into(),
                "invalid_field".into(),
            ));
            continue;
        };
        if value.is_null() {
            continue;
        }
        let kind = field["type"].as_str().unwrap_or("");
        let choices: Vec<&str> = field["choices"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let ok = match kind {
            "custom_checkbox" => value.is_boolean(),
            "custom_number" => value.is_i64() || value.is_u64(),
            "custom_decimal" => value.is_number(),
            "custom_date" => value
                .as_str()
                .is_some_and(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
            "custom_dropdown" => value.as_str().is_some_and(|s| choices.contains(&s)),
            "custom_multi_select_dropdown" => value.as_array().is_some_and(|a| {
                a.iter()
                    .all(|v| v.as_str().is_some_and(|s| choices.contains(&s)))
            }),
            _ => value.is_string(),
        };
        if !ok {
            let message = if choices.is_empty() {
                format!("Value set is of wrong type for {kind}")
            } else {
                format!("It should be one of these values: '{}'", choices.join(","))
            };
            bad.push((path, message, "invalid_value".into()));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(errors(400, bad))
    }
}

fn merge(target: &mut Value, map: Map<String, Value>) {
    for (k, v) in map {
        if k == "custom_fields"
            && let (Some(existing), Some(new)) = (
                target
                    .get_mut("custom_fields")
                    .and_then(Value::as_object_mut),
                v.as_object(),
            )
        {
            for (ck, cv) in new {
                existing.insert(ck.clone(), cv.clone());
            }
            continue;
        }
        target[k] = v;
    }
}

pub(crate) fn store_uploads(account: &mut Account, uploads: Vec<Upload>) -> Vec<Value> {
    let at = now();
    uploads
        .into_iter()
        .map(|u| {
            let id = account.next_id();
            let size = u.data.len();
            account.blobs.insert(id, Blob::Stored(u.data));
            json!({"id": id, "name": u.name, "content_type": u.content_type, "size": size,
                   "created_at": at, "updated_at": at})
        })
        .collect()
}

pub(crate) fn ok(status: u16, mut value: Value, request: &Request) -> Answer {
    render_attachments(&mut value, &host(request));
    Ok(Response::json(status, &value))
}

fn route(state: &State, request: &Request) -> Answer {
    let Some(rest) = request.path.strip_prefix("/api/v2/") else {
        return Err(not_found());
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let method = request.method.as_str();
    let num = |i: usize| segments.get(i).and_then(|s| s.parse::<u64>().ok());
    match (method, segments.as_slice()) {
        ("GET", ["tickets"]) => list_tickets(state, request),
        ("POST", ["tickets"]) => create_ticket(state, request),
        ("GET", ["tickets", _]) => get_ticket(state, request, num(1)),
        ("PUT", ["tickets", _]) => update_ticket(state, request, num(1)),
        ("DELETE", ["tickets", _]) => set_deleted(state, num(1), true),
        ("PUT", ["tickets", _, "restore"]) => set_deleted(state, num(1), false),
        ("GET", ["tickets", _, "conversations"]) => {
            let id = num(1);
            let account = lock(state);
            if id.is_none_or(|id| !account.tickets.contains_key(&id)) {
                return Err(not_found());
            }
            let items: Vec<&Value> = id
                .and_then(|id| account.by_ticket.get(&id))
                .into_iter()
                .flatten()
                .filter_map(|cid| account.conversations.get(cid))
                .collect();
            paged_refs(request, items, None)
        }
        ("POST", ["tickets", _, "notes"]) => add_conversation(state, request, num(1), false),
        ("POST", ["tickets", _, "reply"]) => add_conversation(state, request, num(1), true),
        ("POST", ["tickets", _, "forward"]) | ("POST", ["tickets", "outbound_email"]) => {
            count_email(state);
            Err(invalid(
                "",
                "Not emulated: this endpoint e-mails people",
                "invalid_value",
            ))
        }
        ("PUT", ["conversations", _]) => update_conversation(state, request, num(1)),
        ("DELETE", ["conversations", _]) => {
            let mut account = lock(state);
            match num(1).and_then(|id| account.remove_conversation(id)) {
                Some(_) => Ok(Response::empty(204)),
                None => Err(not_found()),
            }
        }
        ("GET", ["contacts"]) => list_contacts(state, request),
        ("POST", ["contacts"]) => save_contact(state, request, None),
        ("GET", ["contacts", _]) => {
            let account = lock(state);
            match num(1).and_then(|id| account.contacts.get(&id)) {
                Some(c) => ok(200, c.clone(), request),
                None => Err(not_found()),
            }
        }
        ("PUT", ["contacts", _]) => save_contact(state, request, num(1)),
        ("DELETE", ["contacts", _]) => {
            let mut account = lock(state);
            match num(1).and_then(|id| account.contacts.get_mut(&id)) {
                Some(c) => {
                    c["deleted"] = json!(true);
                    c["updated_at"] = json!(now());
                    Ok(Response::empty(204))
                }
                None => Err(not_found()),
            }
        }
        ("DELETE", ["contacts", _, "hard_delete"]) => {
            if request.query("force") != Some("true") {
                let account = lock(state);
                if num(1)
                    .and_then(|id| account.contacts.get(&id))
                    .is_some_and(|c| c["deleted"] != json!(true))
                {
                    return Err(invalid(
                        "contact",
                        "The contact should be soft deleted first, or pass force=true",
                        "inconsistent_state",
                    ));
                }
            }
            let mut account = lock(state);
            match num(1).and_then(|id| account.contacts.remove(&id)) {
                Some(_) => Ok(Response::empty(204)),
                None => Err(not_found()),
            }
        }
        ("PUT", ["contacts", _, "restore"]) => {
            let mut account = lock(state);
            match num(1).and_then(|id| account.contacts.get_mut(&id)) {
                Some(c) => {
                    c["deleted"] = json!(false);
                    Ok(Response::empty(204))
                }
                None => Err(not_found()),
            }
        }
        ("GET", ["companies"]) => {
            let account = lock(state);
            paged_refs(request, account.companies.values().collect(), None)
        }
        ("POST", ["companies"]) => save_company(state, request, None),
        ("GET", ["companies", _]) => get_in(state, request, |a| &a.companies, num(1)),
        ("PUT", ["companies", _]) => save_company(state, request, num(1)),
        ("DELETE", ["companies", _]) => {
            let mut account = lock(state);
            match num(1).and_then(|id| account.companies.remove(&id)) {
                Some(_) => Ok(Response::empty(204)),
                None => Err(not_found()),
            }
        }
        ("GET", ["agents"]) => {
            let account = lock(state);
            let email = request.query("email").map(str::to_ascii_lowercase);
            let items = account
                .agents
                .values()
                .filter(|a| {
                    email.as_deref().is_none_or(|e| {
                        a["contact"]["email"]
                            .as_str()
                            .is_some_and(|x| x.eq_ignore_ascii_case(e))
                    })
                })
                .cloned()
                .collect();
            paged(request, items, None)
        }
        ("GET", ["agents", "me"]) => {
            let account = lock(state);
            let admin = account.admin_id;
            get_in_locked(&account, request, |a| &a.agents, Some(admin))
        }
        ("GET", ["agents", _]) => get_in(state, request, |a| &a.agents, num(1)),
        ("POST", ["agents"]) => create_agent(state, request),
        ("PUT", ["agents", _]) => update_agent(state, request, num(1)),
        ("DELETE", ["agents", _]) => {
            let mut account = lock(state);
            match num(1).and_then(|id| account.agents.remove(&id)) {
                Some(agent) => {
                    // Deleting an agent turns it back into a contact.
                    let id = agent["id"].clone();
                    let mut contact = agent["contact"].clone();
                    contact["id"] = id.clone();
                    contact["deleted"] = json!(false);
                    contact["unique_external_id"] = Value::Null;
                    contact["custom_fields"] = json!({});
                    contact["tags"] = json!([]);
                    contact["company_id"] = Value::Null;
                    if let Some(id) = id.as_u64() {
                        account.contacts.insert(id, contact);
                    }
                    Ok(Response::empty(204))
                }
                None => Err(not_found()),
            }
        }
        ("GET", ["roles"]) => Ok(Response::json(
            200,
            &json!([
                {"id": 1, "name": "Account Administrator", "description": "Full access", "default": true,
                 "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"},
                {"id": 2, "name": "Agent", "description": "Works on tickets", "default": true,
                 "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"},
            ]),
        )),
        ("GET", ["groups"]) => {
            let account = lock(state);
            paged_refs(request, account.groups.values().collect(), None)
        }
        ("POST", ["groups"]) => save_group(state, request, None),
        ("GET", ["groups", _]) => get_in(state, request, |a| &a.groups, num(1)),
        ("PUT", ["groups", _]) => save_group(state, request, num(1)),
        ("DELETE", ["groups", _]) => {
            let mut account = lock(state);
            match num(1).and_then(|id| account.groups.remove(&id)) {
                Some(_) => Ok(Response::empty(204)),
                None => Err(not_found()),
            }
        }
        ("GET", [object @ ("ticket_fields" | "contact_fields" | "company_fields")])
        | (
            "GET",
            [
                "admin",
                object @ ("ticket_fields" | "contact_fields" | "company_fields"),
            ],
        ) => {
            let object = object.trim_end_matches("_fields");
            let mut account = lock(state);
            let wanted = request.query("type");
            let items: Vec<Value> = account
                .fields_mut(object)
                .values()
                .filter(|f| wanted.is_none_or(|t| f["type"].as_str() == Some(t)))
                .cloned()
                .collect();
            Ok(Response::json(200, &Value::Array(items)))
        }
        (
            "POST",
            [
                "admin",
                object @ ("ticket_fields" | "contact_fields" | "company_fields"),
            ],
        ) => create_field(state, request, object.trim_end_matches("_fields")),
        (
            "PUT",
            [
                "admin",
                object @ ("ticket_fields" | "contact_fields" | "company_fields"),
                _,
            ],
        ) => update_field(state, request, object.trim_end_matches("_fields"), num(2)),
        (
            "DELETE",
            [
                "admin",
                object @ ("ticket_fields" | "contact_fields" | "company_fields"),
                _,
            ],
        ) => {
            let object = object.trim_end_matches("_fields");
            let mut account = lock(state);
            let fields = account.fields_mut(object);
            match num(2).and_then(|id| fields.get(&id)) {
                Some(f) if f["default"] == json!(true) => Err(invalid(
                    "id",
                    "Default fields cannot be deleted",
                    "inconsistent_state",
                )),
                Some(_) => {
                    let removed = num(2).and_then(|id| fields.remove(&id));
                    // The field's values go with it, as in Freshdesk.
                    if let Some(name) = removed.as_ref().and_then(|f| f["name"].as_str()) {
                        let records = match object {
                            "company" => &mut account.companies,
                            "contact" => &mut account.contacts,
                            _ => &mut account.tickets,
                        };
                        for record in records.values_mut() {
                            if let Some(custom) = record["custom_fields"].as_object_mut() {
                                custom.remove(name);
                            }
                        }
                    }
                    Ok(Response::empty(204))
                }
                None => Err(not_found()),
            }
        }
        ("GET", ["canned_response_folders"]) => {
            let account = lock(state);
            Ok(Response::json(
                200,
                &Value::Array(account.canned_folders.values().cloned().collect()),
            ))
        }
        ("GET", ["canned_response_folders", _, "responses"]) => {
            let account = lock(state);
            let items = account
                .canned_responses
                .values()
                .filter(|r| r["folder_id"].as_u64() == num(1))
                .cloned()
                .collect();
            paged(request, items, None)
        }
        ("GET", ["canned_responses", _]) => get_in(state, request, |a| &a.canned_responses, num(1)),
        ("GET", ["solutions", "categories"]) => {
            let account = lock(state);
            Ok(Response::json(
                200,
                &Value::Array(account.categories.values().cloned().collect()),
            ))
        }
        ("GET", ["solutions", "categories", _]) => {
            get_in(state, request, |a| &a.categories, num(2))
        }
        ("GET", ["solutions", "categories", _, "folders"]) => {
            let account = lock(state);
            let items: Vec<Value> = account
                .folders
                .values()
                .filter(|f| f["category_id"].as_u64() == num(2))
                .cloned()
                .collect();
            Ok(Response::json(200, &Value::Array(items)))
        }
        ("GET", ["solutions", "folders", _]) => get_in(state, request, |a| &a.folders, num(2)),
        ("GET", ["solutions", "folders", _, "articles"]) => {
            let account = lock(state);
            let items = account
                .articles
                .values()
                .filter(|f| f["folder_id"].as_u64() == num(2))
                .cloned()
                .collect();
            paged(request, items, None)
        }
        ("GET", ["solutions", "articles", _]) => get_in(state, request, |a| &a.articles, num(2)),
        ("GET", ["time_entries"]) => {
            let account = lock(state);
            paged(
                request,
                account.time_entries.values().cloned().collect(),
                None,
            )
        }
        ("GET", ["tickets", _, "time_entries"]) => {
            let account = lock(state);
            let items = account
                .time_entries
                .values()
                .filter(|t| t["ticket_id"].as_u64() == num(1))
                .cloned()
                .collect();
            paged(request, items, None)
        }
        ("GET", ["surveys", "satisfaction_ratings"]) => {
            let account = lock(state);
            let since = request.query("created_since").and_then(parse_time);
            let items = account
                .ratings
                .values()
                .filter(|r| since.is_none_or(|s| time_of(r, "created_at").is_some_and(|t| t >= s)))
                .cloned()
                .collect();
            paged(request, items, None)
        }
        ("POST", ["tickets", _, "satisfaction_ratings"]) => add_rating(state, request, num(1)),
        ("GET", ["tickets", _, "satisfaction_ratings"]) => {
            let account = lock(state);
            let items = account
                .ratings
                .values()
                .filter(|t| t["ticket_id"].as_u64() == num(1))
                .cloned()
                .collect();
            paged(request, items, None)
        }
        ("GET", ["automations", kind, "rules"]) => list_rules(state, request, kind),
        ("POST", ["automations", kind, "rules"]) => save_rule(state, request, kind, None),
        ("GET", ["automations", kind, "rules", _]) => get_rule(state, request, kind, num(3)),
        ("PUT", ["automations", kind, "rules", _]) => {
            save_rule(state, request, kind, Some(num(3).unwrap_or(0)))
        }
        ("DELETE", ["automations", kind, "rules", _]) => {
            let kind = rule_type(kind).ok_or_else(not_found)?;
            let mut account = lock(state);
            match num(3).filter(|id| {
                account
                    .rules
                    .get(id)
                    .is_some_and(|r| r["automation_type_id"].as_u64() == Some(kind))
            }) {
                Some(id) => {
                    account.rules.remove(&id);
                    Ok(Response::empty(204))
                }
                None => Err(not_found()),
            }
        }
        ("POST", ["canned_response_folders"]) => canned::save_folder(state, request, None),
        ("GET", ["canned_response_folders", _]) => {
            get_in(state, request, |a| &a.canned_folders, num(1))
        }
        ("PUT", ["canned_response_folders", _]) => {
            canned::save_folder(state, request, Some(num(1).unwrap_or(0)))
        }
        ("POST", ["canned_responses"]) => canned::save_response(state, request, None),
        ("PUT", ["canned_responses", _]) => {
            canned::save_response(state, request, Some(num(1).unwrap_or(0)))
        }
        ("DELETE", ["canned_responses", _]) => canned::delete_response(state, num(1)),
        ("GET", ["sla_policies"]) => {
            let account = lock(state);
            paged(
                request,
                account.sla_policies.values().cloned().collect(),
                None,
            )
        }
        ("POST", ["sla_policies"]) => sla::save(state, request, None),
        ("GET", ["sla_policies", _]) => get_in(state, request, |a| &a.sla_policies, num(1)),
        ("PUT", ["sla_policies", _]) => sla::save(state, request, Some(num(1).unwrap_or(0))),
        ("DELETE", ["sla_policies", _]) => Err(Response::json(
            405,
            &json!({"code": "method_not_allowed", "message": "DELETE method is not allowed. It should be one of these method(s): GET, PUT"}),
        )),
        ("GET", ["settings", "helpdesk"]) => Ok(Response::json(
            200,
            &json!({"primary_language": "en", "supported_languages": [], "portal_languages": []}),
        )),
        (_, [first, ..])
            if [
                "tickets",
                "contacts",
                "companies",
                "agents",
                "groups",
                "conversations",
            ]
            .contains(first) =>
        {
            Err(Response::json(
                405,
                &json!({"code": "method_not_allowed", "message": format!("{method} method is not allowed.")}),
            ))
        }
        _ => Err(not_found()),
    }
}

fn get_in(
    state: &State,
    request: &Request,
    pick: impl Fn(&Account) -> &BTreeMap<u64, Value>,
    id: Option<u64>,
) -> Answer {
    let account = lock(state);
    get_in_locked(&account, request, pick, id)
}

fn get_in_locked(
    account: &Account,
    request: &Request,
    pick: impl Fn(&Account) -> &BTreeMap<u64, Value>,
    id: Option<u64>,
) -> Answer {
    match id.and_then(|id| pick(account).get(&id)) {
        Some(v) => ok(200, v.clone(), request),
        None => Err(not_found()),
    }
}

fn ticket_view(account: &Account, ticket: &Value, request: &Request, list: bool) -> Value {
    let includes: Vec<&str> = request
        .query("include")
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let mut view = ticket.clone();
    if let Some(obj) = view.as_object_mut() {
        if list && !includes.contains(&"description") {
            obj.remove("description");
            obj.remove("description_text");
        }
        if includes.contains(&"stats") {
            let closed = ticket["status"].as_u64().is_some_and(|s| s >= 4);
            obj.insert("stats".into(), json!({
                "agent_responded_at": null, "requester_responded_at": null, "first_responded_at": null,
                "status_updated_at": ticket["updated_at"], "reopened_at": null,
                "resolved_at": if closed { ticket["updated_at"].clone() } else { Value::Null },
                "closed_at": if ticket["status"] == json!(5) { ticket["updated_at"].clone() } else { Value::Null },
                "pending_since": null,
            }));
        }
        if includes.contains(&"requester") {
            let rid = ticket["requester_id"].as_u64().unwrap_or(0);
            let requester = account
                .contacts
                .get(&rid)
                .map(|c| json!({"id": rid, "name": c["name"], "email": c["email"], "mobile": c["mobile"], "phone": c["phone"]}))
                .or_else(|| account.agents.get(&rid).map(|a| json!({"id": rid, "name": a["contact"]["name"], "email": a["contact"]["email"], "mobile": null, "phone": null})))
                .unwrap_or(Value::Null);
            obj.insert("requester".into(), requester);
        }
        if !list && includes.contains(&"conversations") {
            let first: Vec<Value> = ticket["id"]
                .as_u64()
                .and_then(|id| account.by_ticket.get(&id))
                .into_iter()
                .flatten()
                .take(10)
                .filter_map(|cid| account.conversations.get(cid).cloned())
                .collect();
            obj.insert("conversations".into(), Value::Array(first));
        }
    }
    view
}

fn list_tickets(state: &State, request: &Request) -> Answer {
    let allowed = [
        "filter",
        "requester_id",
        "email",
        "unique_external_id",
        "company_id",
        "updated_since",
        "order_by",
        "order_type",
        "include",
        "page",
        "per_page",
    ];
    for (key, _) in &request.query {
        if !allowed.contains(&key.as_str()) {
            return Err(invalid(
                key,
                "Unexpected/invalid field in request",
                "invalid_field",
            ));
        }
    }
    let filter = request.query("filter");
    if filter.is_some_and(|f| !["new_and_my_open", "watching", "spam", "deleted"].contains(&f)) {
        return Err(invalid(
            "filter",
            "It should be one of these values: 'new_and_my_open,watching,spam,deleted'",
            "invalid_value",
        ));
    }
    let since = match request.query("updated_since") {
        None => None,
        Some(text) => Some(parse_time(text).ok_or_else(|| {
            invalid(
                "updated_since",
                "It should be in the 'YYYY-MM-DDTHH:MM:SSZ' format",
                "invalid_value",
            )
        })?),
    };
    for include in request.query("include").unwrap_or("").split(',') {
        if !include.is_empty() && !["stats", "requester", "description"].contains(&include) {
            return Err(invalid(
                "include",
                "It should be one of these values: 'requester,stats,description'",
                "invalid_value",
            ));
        }
    }
    let order_by = request.query("order_by").unwrap_or("created_at");
    if !["created_at", "updated_at", "due_by", "status"].contains(&order_by) {
        return Err(invalid(
            "order_by",
            "It should be one of these values: 'created_at,due_by,updated_at,status'",
            "invalid_value",
        ));
    }
    let ascending = match request.query("order_type").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        _ => {
            return Err(invalid(
                "order_type",
                "It should be one of these values: 'asc,desc'",
                "invalid_value",
            ));
        }
    };
    let filtered_by_other = ["requester_id", "email", "unique_external_id", "company_id"]
        .iter()
        .any(|k| request.query(k).is_some())
        || filter.is_some();
    // Without updated_since (or another filter) only the last 30 days are listed.
    let window = (since.is_none() && !filtered_by_other).then(|| {
        (Utc::now() - chrono::Duration::days(30))
            .format(TIME_FORMAT)
            .to_string()
    });
    let since = since.map(|s| s.format(TIME_FORMAT).to_string());
    let account = lock(state);
    let requester_email = request.query("email").map(str::to_ascii_lowercase);
    let external = request.query("unique_external_id");
    let mut items: Vec<&Value> = account
        .tickets
        .values()
        .filter(|t| {
            let deleted = t["deleted"] == json!(true);
            let spam = t["spam"] == json!(true);
            match filter {
                Some("deleted") => deleted,
                Some("spam") => spam && !deleted,
                _ => !deleted && !spam,
            }
        })
        // Stored times all have one spelling, so they compare as strings.
        .filter(|t| {
            since
                .as_deref()
                .is_none_or(|s| t["updated_at"].as_str().is_some_and(|u| u >= s))
        })
        .filter(|t| {
            window
                .as_deref()
                .is_none_or(|w| t["created_at"].as_str().is_some_and(|c| c >= w))
        })
        .filter(|t| {
            request.query("requester_id").is_none_or(|r| {
                t["requester_id"].as_u64().map(|x| x.to_string()).as_deref() == Some(r)
            })
        })
        .filter(|t| {
            request.query("company_id").is_none_or(|r| {
                t["company_id"].as_u64().map(|x| x.to_string()).as_deref() == Some(r)
            })
        })
        .filter(|t| {
            let rid = t["requester_id"].as_u64().unwrap_or(0);
            let contact = account.contacts.get(&rid);
            requester_email.as_deref().is_none_or(|e| {
                contact
                    .and_then(|c| c["email"].as_str())
                    .is_some_and(|x| x.eq_ignore_ascii_case(e))
            }) && external
                .is_none_or(|x| contact.and_then(|c| c["unique_external_id"].as_str()) == Some(x))
        })
        .collect();
    items.sort_by(|a, b| {
        let ordering = if order_by == "status" {
            a["status"].as_u64().cmp(&b["status"].as_u64())
        } else {
            a[order_by].as_str().cmp(&b[order_by].as_str())
        }
        .then(a["id"].as_u64().cmp(&b["id"].as_u64()));
        if ascending {
            ordering
        } else {
            ordering.reverse()
        }
    });
    paged_by(request, items.len(), Some(state.max_ticket_page), |range| {
        items[range]
            .iter()
            .map(|t| ticket_view(&account, t, request, true))
            .collect()
    })
}

fn get_ticket(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let account = lock(state);
    match id.and_then(|id| account.tickets.get(&id)) {
        // Deleted (trashed) tickets stay readable by id until purged.
        Some(t) => {
            let view = ticket_view(&account, t, request, false);
            ok(200, view, request)
        }
        None => Err(not_found()),
    }
}

const TICKET_FIELDS: &[&str] = &[
    "subject",
    "description",
    "type",
    "status",
    "priority",
    "source",
    "requester_id",
    "email",
    "phone",
    "name",
    "unique_external_id",
    "responder_id",
    "group_id",
    "company_id",
    "product_id",
    "email_config_id",
    "cc_emails",
    "tags",
    "custom_fields",
    "due_by",
    "fr_due_by",
    "parent_id",
    "internal_agent_id",
    "internal_group_id",
];

fn check_ticket(account: &Account, map: &Map<String, Value>) -> Result<(), Response> {
    only(map, TICKET_FIELDS)?;
    int_in(map, "status", &[2, 3, 4, 5])?;
    int_in(map, "priority", &[1, 2, 3, 4])?;
    int_in(map, "source", &[1, 2, 3, 7, 9, 10])?;
    id_in(map, "requester_id", |id| account.is_user(id))?;
    id_in(map, "responder_id", |id| account.agents.contains_key(&id))?;
    id_in(map, "group_id", |id| account.groups.contains_key(&id))?;
    id_in(map, "company_id", |id| account.companies.contains_key(&id))?;
    string_list(map, "tags")?;
    string_list(map, "cc_emails")?;
    if let Some(kind) = map.get("type").filter(|v| !v.is_null()) {
        let choices: Vec<Value> = account
            .ticket_fields
            .values()
            .find(|f| f["type"] == json!("default_ticket_type"))
            .and_then(|f| f["choices"].as_array().cloned())
            .unwrap_or_default();
        if !choices.contains(kind) {
            return Err(invalid(
                "type",
                &format!(
                    "It should be one of these values: '{}'",
                    choices
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                "invalid_value",
            ));
        }
    }
    check_custom(&account.ticket_fields, map, "")
}

fn create_ticket(state: &State, request: &Request) -> Answer {
    let (mut map, uploads) = body(request)?;
    let mut account = lock(state);
    check_ticket(&account, &map)?;
    // Exactly one requester identifier.
    let requester = if let Some(id) = map.get("requester_id").and_then(Value::as_u64) {
        id
    } else if let Some(email) = map.get("email").and_then(Value::as_str).map(str::to_string) {
        let found = account
            .contacts
            .values()
            .find(|c| {
                c["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            })
            .and_then(|c| c["id"].as_u64());
        match found {
            Some(id) => id,
            None => {
                let id = account.next_id();
                let name = map
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&email)
                    .to_string();
                account
                    .contacts
                    .insert(id, new_contact(id, &name, Some(&email)));
                id
            }
        }
    } else if let Some(x) = map.get("unique_external_id").and_then(Value::as_str) {
        match account
            .contacts
            .values()
            .find(|c| c["unique_external_id"].as_str() == Some(x))
            .and_then(|c| c["id"].as_u64())
        {
            Some(id) => id,
            None => {
                return Err(invalid(
                    "unique_external_id",
                    "There is no contact matching the given unique_external_id",
                    "invalid_value",
                ));
            }
        }
    } else {
        return Err(invalid(
            "requester_id",
            "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields",
            "missing_field",
        ));
    };
    for key in ["email", "name", "phone", "unique_external_id"] {
        map.remove(key);
    }
    let id = account.next_ticket_id();
    let at = now();
    let attachments = store_uploads(&mut account, uploads);
    let description = map
        .remove("description")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut ticket = json!({
        "id": id, "subject": "", "type": null, "description": description,
        "description_text": html_to_text(&description), "status": 2, "priority": 1, "source": 2,
        "requester_id": requester, "responder_id": null, "group_id": null, "company_id": null,
        "product_id": null, "email_config_id": null, "support_email": null,
        "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [], "to_emails": null,
        "fr_escalated": false, "is_escalated": false, "nr_escalated": false, "spam": false,
        "due_by": at, "fr_due_by": at, "nr_due_by": null, "tags": [], "custom_fields": {},
        "attachments": attachments, "association_type": null, "associated_tickets_count": null,
        "source_additional_info": null, "internal_agent_id": null, "internal_group_id": null,
        "created_at": at, "updated_at": at,
    });
    if ticket["company_id"].is_null()
        && !map.contains_key("company_id")
        && let Some(c) = account.contacts.get(&requester)
    {
        ticket["company_id"] = c["company_id"].clone();
    }
    merge(&mut ticket, map);
    account.tickets.insert(id, ticket.clone());
    let fired = rules::fire(
        &account,
        rules::TICKET_CREATION,
        &rules::Happening {
            ticket: &ticket,
            before: None,
            actor: account.admin_id,
            reply: false,
            note: None,
        },
    );
    crate::count_fired(state, &fired);
    ok(201, ticket, request)
}

fn update_ticket(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, uploads) = body(request)?;
    let mut account = lock(state);
    check_ticket(&account, &map)?;
    if id.is_none_or(|id| !account.tickets.contains_key(&id)) {
        return Err(not_found());
    }
    let new_attachments = store_uploads(&mut account, uploads);
    let Some(ticket) = id.and_then(|id| account.tickets.get_mut(&id)) else {
        return Err(not_found());
    };
    let before = ticket.clone();
    if let Some(description) = map.get("description").and_then(Value::as_str) {
        ticket["description_text"] = json!(html_to_text(description));
    }
    merge(ticket, map);
    if let Some(list) = ticket["attachments"].as_array_mut() {
        list.extend(new_attachments);
    }
    ticket["updated_at"] = json!(now());
    let ticket = ticket.clone();
    let fired = rules::fire(
        &account,
        rules::TICKET_UPDATES,
        &rules::Happening {
            ticket: &ticket,
            before: Some(&before),
            actor: account.admin_id,
            reply: false,
            note: None,
        },
    );
    crate::count_fired(state, &fired);
    ok(200, ticket, request)
}

fn set_deleted(state: &State, id: Option<u64>, deleted: bool) -> Answer {
    let mut account = lock(state);
    match id.and_then(|id| account.tickets.get_mut(&id)) {
        Some(t) => {
            if let Some(obj) = t.as_object_mut() {
                if deleted {
                    obj.insert("deleted".into(), json!(true));
                } else {
                    obj.remove("deleted");
                }
            }
            Ok(Response::empty(204))
        }
        None => Err(not_found()),
    }
}

fn add_conversation(state: &State, request: &Request, id: Option<u64>, reply: bool) -> Answer {
    let (map, uploads) = body(request)?;
    let allowed: &[&str] = if reply {
        &["body", "from_email", "user_id", "cc_emails", "bcc_emails"]
    } else {
        &["body", "private", "incoming", "notify_emails", "user_id"]
    };
    only(&map, allowed)?;
    let mut account = lock(state);
    let Some(ticket_id) = id.filter(|id| account.tickets.contains_key(id)) else {
        return Err(not_found());
    };
    let Some(html) = map.get("body").and_then(Value::as_str).map(str::to_string) else {
        return Err(invalid(
            "body",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    };
    id_in(&map, "user_id", |u| account.is_user(u))?;
    for key in ["private", "incoming"] {
        if map.get(key).is_some_and(|v| !v.is_boolean()) {
            return Err(invalid(
                key,
                "It should be a/an Boolean",
                "datatype_mismatch",
            ));
        }
    }
    let notify = map
        .get("notify_emails")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    for _ in 0..notify {
        count_email(state);
    }
    if reply {
        count_email(state);
    }
    let cid = account.next_id();
    let at = now();
    let attachments = store_uploads(&mut account, uploads);
    let user = map
        .get("user_id")
        .and_then(Value::as_u64)
        .unwrap_or(account.admin_id);
    let conversation = json!({
        "id": cid, "ticket_id": ticket_id, "user_id": user, "body": html, "body_text": html_to_text(&html),
        "incoming": map.get("incoming").and_then(Value::as_bool).unwrap_or(false),
        // Notes are private unless told otherwise.
        "private": if reply { false } else { map.get("private").and_then(Value::as_bool).unwrap_or(true) },
        "source": if reply { 0 } else { 2 }, "category": 2, "support_email": null,
        "from_email": map.get("from_email").cloned().unwrap_or(Value::Null),
        "to_emails": [], "cc_emails": map.get("cc_emails").cloned().unwrap_or(json!([])), "bcc_emails": null,
        "attachments": attachments, "source_additional_info": null,
        "last_edited_at": null, "last_edited_user_id": null,
        "created_at": at, "updated_at": at,
    });
    account.insert_conversation(cid, conversation.clone());
    if let Some(ticket) = account.tickets.get_mut(&ticket_id) {
        ticket["updated_at"] = json!(at);
    }
    if let Some(ticket) = account.tickets.get(&ticket_id) {
        let fired = rules::fire(
            &account,
            rules::TICKET_UPDATES,
            &rules::Happening {
                ticket,
                before: None,
                actor: user,
                reply,
                note: (!reply).then(|| conversation["private"] == json!(true)),
            },
        );
        crate::count_fired(state, &fired);
    }
    ok(201, conversation, request)
}

fn update_conversation(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, uploads) = body(request)?;
    only(&map, &["body"])?;
    let mut account = lock(state);
    let new_attachments = store_uploads(&mut account, uploads);
    let Some(c) = id.and_then(|id| account.conversations.get_mut(&id)) else {
        return Err(not_found());
    };
    if c["source"] != json!(2) {
        return Err(invalid(
            "id",
            "Only notes can be edited",
            "inconsistent_state",
        ));
    }
    if let Some(body) = map.get("body").and_then(Value::as_str) {
        c["body"] = json!(body);
        c["body_text"] = json!(html_to_text(body));
    }
    if let Some(list) = c["attachments"].as_array_mut() {
        list.extend(new_attachments);
    }
    c["last_edited_at"] = json!(now());
    c["updated_at"] = json!(now());
    let c = c.clone();
    ok(200, c, request)
}

fn new_contact(id: u64, name: &str, email: Option<&str>) -> Value {
    let at = now();
    json!({
        "id": id, "name": name, "email": email, "other_emails": [], "phone": null, "mobile": null,
        "twitter_id": null, "facebook_id": null, "unique_external_id": null, "company_id": null,
        "view_all_tickets": false, "other_companies": [], "address": null, "description": null,
        "job_title": null, "language": "en", "time_zone": "Eastern Time (US & Canada)", "tags": [],
        "active": false, "deleted": false, "blocked": false, "csat_rating": null, "preferred_source": "email",
        "custom_fields": {}, "avatar": null, "created_at": at, "updated_at": at,
    })
}

fn list_contacts(state: &State, request: &Request) -> Answer {
    let account = lock(state);
    let email = request.query("email").map(str::to_ascii_lowercase);
    let external = request.query("unique_external_id");
    let state_filter = request.query("state");
    let since = request.query("_updated_since").and_then(parse_time);
    let items = account
        .contacts
        .values()
        .filter(|c| {
            let deleted = c["deleted"] == json!(true);
            match state_filter {
                Some("deleted") => deleted,
                Some("blocked") => c["blocked"] == json!(true) && !deleted,
                _ => !deleted,
            }
        })
        .filter(|c| {
            email.as_deref().is_none_or(|e| {
                c["email"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(e))
            })
        })
        .filter(|c| external.is_none_or(|x| c["unique_external_id"].as_str() == Some(x)))
        .filter(|c| {
            request.query("company_id").is_none_or(|r| {
                c["company_id"].as_u64().map(|x| x.to_string()).as_deref() == Some(r)
            })
        })
        .filter(|c| since.is_none_or(|s| time_of(c, "updated_at").is_some_and(|u| u >= s)))
        .collect();
    paged_refs(request, items, None)
}

fn save_contact(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "name",
            "email",
            "phone",
            "mobile",
            "twitter_id",
            "unique_external_id",
            "other_emails",
            "company_id",
            "view_all_tickets",
            "other_companies",
            "address",
            "description",
            "job_title",
            "language",
            "time_zone",
            "tags",
            "custom_fields",
        ],
    )?;
    let mut account = lock(state);
    id_in(&map, "company_id", |c| account.companies.contains_key(&c))?;
    string_list(&map, "tags")?;
    check_custom(&account.contact_fields, &map, "")?;
    if let Some(existing) = id {
        if !account.contacts.contains_key(&existing) {
            return Err(not_found());
        }
    } else {
        if map
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(invalid(
                "name",
                "It should not be blank as this is a mandatory field",
                "missing_field",
            ));
        }
        if ![
            "email",
            "phone",
            "mobile",
            "twitter_id",
            "unique_external_id",
        ]
        .iter()
        .any(|k| map.get(*k).is_some_and(|v| !v.is_null()))
        {
            return Err(invalid(
                "email",
                "Please fill at least 1 of email, mobile, phone, twitter_id, unique_external_id fields",
                "missing_field",
            ));
        }
    }
    if let Some(email) = map.get("email").and_then(Value::as_str) {
        let taken = account.contacts.values().any(|c| {
            c["id"].as_u64() != id
                && c["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
        }) || account.agents.values().any(|a| {
            a["contact"]["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        if taken {
            return Err(errors(
                409,
                vec![(
                    "email".into(),
                    "It should be a unique value".to_string(),
                    "duplicate_value".into(),
                )],
            ));
        }
    }
    if let Some(x) = map.get("unique_external_id").and_then(Value::as_str)
        && account
            .contacts
            .values()
            .any(|c| c["id"].as_u64() != id && c["unique_external_id"].as_str() == Some(x))
    {
        return Err(errors(
            409,
            vec![(
                "unique_external_id".into(),
                "It should be a unique value".into(),
                "duplicate_value".into(),
            )],
        ));
    }
    let at = now();
    let contact_id = match id {
        Some(id) => id,
        None => {
            let id = account.next_id();
            account.contacts.insert(id, new_contact(id, "", None));
            id
        }
    };
    let Some(contact) = account.contacts.get_mut(&contact_id) else {
        return Err(not_found());
    };
    merge(contact, map);
    contact["updated_at"] = json!(at);
    let contact = contact.clone();
    ok(if id.is_some() { 200 } else { 201 }, contact, request)
}

fn save_company(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "name",
            "description",
            "domains",
            "note",
            "health_score",
            "account_tier",
            "renewal_date",
            "industry",
            "custom_fields",
        ],
    )?;
    let mut account = lock(state);
    string_list(&map, "domains")?;
    check_custom(&account.company_fields, &map, "")?;
    if id.is_none()
        && map
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(invalid(
            "name",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    }
    if let Some(name) = map.get("name").and_then(Value::as_str)
        && account.companies.values().any(|c| {
            c["id"].as_u64() != id
                && c["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    {
        return Err(errors(
            409,
            vec![(
                "name".into(),
                "It should be a unique value".into(),
                "duplicate_value".into(),
            )],
        ));
    }
    let at = now();
    let company_id = match id {
        Some(id) if account.companies.contains_key(&id) => id,
        Some(_) => return Err(not_found()),
        None => {
            let id = account.next_id();
            account.companies.insert(id, json!({
                "id": id, "name": "", "description": null, "domains": [], "note": null,
                "health_score": null, "account_tier": null, "renewal_date": null, "industry": null,
                "custom_fields": {}, "created_at": at, "updated_at": at,
            }));
            id
        }
    };
    let Some(company) = account.companies.get_mut(&company_id) else {
        return Err(not_found());
    };
    merge(company, map);
    company["updated_at"] = json!(at);
    let company = company.clone();
    ok(if id.is_some() { 200 } else { 201 }, company, request)
}

fn save_group(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "name",
            "description",
            "agent_ids",
            "escalate_to",
            "unassigned_for",
            "business_hour_id",
            "auto_ticket_assign",
        ],
    )?;
    let mut account = lock(state);
    if id.is_none()
        && map
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(invalid(
            "name",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    }
    if let Some(name) = map.get("name").and_then(Value::as_str)
        && account.groups.values().any(|g| {
            g["id"].as_u64() != id
                && g["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    {
        return Err(errors(
            409,
            vec![(
                "name".into(),
                "It should be a unique value".into(),
                "duplicate_value".into(),
            )],
        ));
    }
    let at = now();
    let group_id = match id {
        Some(id) if account.groups.contains_key(&id) => id,
        Some(_) => return Err(not_found()),
        None => {
            let id = account.next_id();
            account.groups.insert(id, json!({
                "id": id, "name": "", "description": null, "business_hour_id": null, "escalate_to": null,
                "unassigned_for": null, "agent_ids": [], "auto_ticket_assign": 0,
                "created_at": at, "updated_at": at,
            }));
            id
        }
    };
    let Some(group) = account.groups.get_mut(&group_id) else {
        return Err(not_found());
    };
    merge(group, map);
    group["updated_at"] = json!(at);
    let group = group.clone();
    ok(if id.is_some() { 200 } else { 201 }, group, request)
}

fn create_agent(state: &State, request: &Request) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "email",
            "name",
            "ticket_scope",
            "occasional",
            "group_ids",
            "role_ids",
            "skill_ids",
            "signature",
            "language",
            "time_zone",
            "agent_type",
            "focus_mode",
        ],
    )?;
    let Some(email) = map.get("email").and_then(Value::as_str) else {
        return Err(invalid(
            "email",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    };
    int_in(&map, "ticket_scope", &[1, 2, 3])?.ok_or_else(|| {
        invalid(
            "ticket_scope",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        )
    })?;
    let mut account = lock(state);
    if account.agents.values().any(|a| {
        a["contact"]["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    }) {
        return Err(errors(
            409,
            vec![(
                "email".into(),
                "It should be a unique value".into(),
                "duplicate_value".into(),
            )],
        ));
    }
    let id = account.next_id();
    let user = switchover_model::User {
        name: map
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(email)
            .to_string(),
        email: Some(email.to_string()),
        created_at: Some(switchover_model::Timestamp::now()),
        updated_at: Some(switchover_model::Timestamp::now()),
        ..Default::default()
    };
    let agent = crate::seed::agent_json(id, &user);
    account.agents.insert(id, agent.clone());
    // Creating an agent sends an activation (invitation) email.
    count_email(state);
    ok(201, agent, request)
}

fn update_agent(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "occasional",
            "signature",
            "ticket_scope",
            "group_ids",
            "role_ids",
            "skill_ids",
            "name",
            "email",
            "phone",
            "mobile",
            "job_title",
            "language",
            "time_zone",
            "focus_mode",
        ],
    )?;
    let mut account = lock(state);
    let Some(agent) = id.and_then(|id| account.agents.get_mut(&id)) else {
        return Err(not_found());
    };
    for (k, v) in map {
        if [
            "name",
            "email",
            "phone",
            "mobile",
            "job_title",
            "language",
            "time_zone",
        ]
        .contains(&k.as_str())
        {
            agent["contact"][k] = v;
        } else {
            agent[k] = v;
        }
    }
    agent["updated_at"] = json!(now());
    let agent = agent.clone();
    ok(200, agent, request)
}

fn create_field(state: &State, request: &Request, object: &str) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "label",
            "label_for_customers",
            "type",
            "choices",
            "description",
            "position",
            "required_for_agents",
            "required_for_customers",
            "required_for_closure",
            "customers_can_edit",
            "displayed_to_customers",
            "editable_in_signup",
        ],
    )?;
    let Some(label) = map.get("label").and_then(Value::as_str).map(str::to_string) else {
        return Err(invalid(
            "label",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    };
    let kinds = [
        "custom_text",
        "custom_paragraph",
        "custom_checkbox",
        "custom_number",
        "custom_decimal",
        "custom_date",
        "custom_dropdown",
        "custom_multi_select_dropdown",
        "custom_url",
    ];
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    if !kinds.contains(&kind) {
        return Err(invalid(
            "type",
            &format!("It should be one of these values: '{}'", kinds.join(",")),
            "invalid_value",
        ));
    }
    let choices: Vec<String> = match map.get("choices") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| {
                c.as_str()
                    .map(str::to_string)
                    .or_else(|| c.get("value").and_then(Value::as_str).map(str::to_string))
            })
            .collect(),
        Some(_) => {
            return Err(invalid(
                "choices",
                "It should be a/an Array",
                "datatype_mismatch",
            ));
        }
    };
    if kind.ends_with("dropdown") && choices.is_empty() {
        return Err(invalid(
            "choices",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    }
    // The name is derived from the label, as in the web UI.
    let slug: String = label
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let base = if object == "ticket" {
        format!("cf_{slug}")
    } else {
        slug
    };
    let mut account = lock(state);
    let fields = account.fields_mut(object);
    // Custom labels are unique among the custom fields (default fields have their own names).
    if fields.values().any(|f| {
        f["default"] != json!(true)
            && f["label"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case(&label))
    }) {
        return Err(errors(
            409,
            vec![(
                "label".into(),
                "It should be a unique value".into(),
                "duplicate_value".into(),
            )],
        ));
    }
    let mut name = base.clone();
    let mut n = 1;
    while fields.values().any(|f| f["name"].as_str() == Some(&name)) {
        n += 1;
        name = format!("{base}{n}");
    }
    let position = fields.len() + 1;
    let id = account.next_id();
    let mut field = custom_field(id, object, &name, &label, kind, choices, position);
    for key in ["description", "required_for_agents"] {
        if let Some(v) = map.get(key) {
            field[key] = v.clone();
        }
    }
    account.fields_mut(object).insert(id, field.clone());
    ok(201, field, request)
}

fn update_field(state: &State, request: &Request, object: &str, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "label",
            "description",
            "choices",
            "required_for_agents",
            "position",
        ],
    )?;
    let mut account = lock(state);
    let Some(field) = id.and_then(|id| account.fields_mut(object).get_mut(&id)) else {
        return Err(not_found());
    };
    merge(field, map);
    field["updated_at"] = json!(now());
    let field = field.clone();
    ok(200, field, request)
}

/// `POST /tickets/{id}/satisfaction_ratings`: the rating is the ticket requester's (the
/// API has no rater field).
fn add_rating(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(&map, &["ratings", "feedback"])?;
    let allowed = [103, 102, 101, 100, -101, -102, -103];
    let Some(ratings) = map.get("ratings").and_then(Value::as_object) else {
        return Err(invalid(
            "ratings",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    };
    if !ratings.contains_key("default_question") {
        return Err(invalid(
            "ratings.default_question",
            "It should not be blank as this is a mandatory field",
            "missing_field",
        ));
    }
    for (question, value) in ratings {
        if !value.as_i64().is_some_and(|v| allowed.contains(&v)) {
            return Err(invalid(
                &format!("ratings.{question}"),
                "It should be one of these values: '103,102,101,100,-101,-102,-103'",
                "invalid_value",
            ));
        }
    }
    if map
        .get("feedback")
        .is_some_and(|f| !f.is_string() && !f.is_null())
    {
        return Err(invalid(
            "feedback",
            "It should be a/an String",
            "datatype_mismatch",
        ));
    }
    let mut account = lock(state);
    let Some(ticket) = id.and_then(|id| account.tickets.get(&id)).cloned() else {
        return Err(not_found());
    };
    let rid = account.next_id();
    let at = now();
    let rating = json!({
        "id": rid, "survey_id": 1, "user_id": ticket["requester_id"], "agent_id": ticket["responder_id"],
        "group_id": ticket["group_id"], "ticket_id": ticket["id"],
        "feedback": map.get("feedback").cloned().unwrap_or(Value::Null),
        "ratings": Value::Object(ratings.clone()), "created_at": at, "updated_at": at,
    });
    account.ratings.insert(rid, rating.clone());
    ok(201, rating, request)
}

/// The automation type of a path segment: 1, 3 or 4.
fn rule_type(segment: &str) -> Option<u64> {
    segment.parse().ok().filter(|t| {
        [
            rules::TICKET_CREATION,
            rules::TIME_TRIGGERS,
            rules::TICKET_UPDATES,
        ]
        .contains(t)
    })
}

fn sorted_rules(account: &Account, kind: u64) -> Vec<&Value> {
    let mut items: Vec<&Value> = account
        .rules
        .values()
        .filter(|r| r["automation_type_id"].as_u64() == Some(kind))
        .collect();
    items.sort_by_key(|r| (r["position"].as_u64().unwrap_or(u64::MAX), r["id"].as_u64()));
    items
}

fn list_rules(state: &State, request: &Request, kind: &str) -> Answer {
    let kind = rule_type(kind).ok_or_else(not_found)?;
    let account = lock(state);
    let items = sorted_rules(&account, kind)
        .into_iter()
        .map(rules::view)
        .collect();
    paged(request, items, None)
}

fn get_rule(state: &State, request: &Request, kind: &str, id: Option<u64>) -> Answer {
    let kind = rule_type(kind).ok_or_else(not_found)?;
    let account = lock(state);
    let Some(rule) = id
        .and_then(|id| account.rules.get(&id))
        .filter(|r| r["automation_type_id"].as_u64() == Some(kind))
    else {
        return Err(not_found());
    };
    let all = sorted_rules(&account, kind);
    let mut view = rules::view(rule);
    view["meta"] = json!({
        "total_active_count": all.iter().filter(|r| r["active"] == json!(true)).count(),
        "total_count": all.len(),
    });
    ok(200, view, request)
}

/// POST (`id` None) or PUT a rule: the merged rule is validated whole.
fn save_rule(state: &State, request: &Request, kind: &str, id: Option<u64>) -> Answer {
    let kind = rule_type(kind).ok_or_else(not_found)?;
    let (map, _) = body(request)?;
    let mut account = lock(state);
    let existing = match id {
        Some(id) => match account
            .rules
            .get(&id)
            .filter(|r| r["automation_type_id"].as_u64() == Some(kind))
        {
            Some(rule) => Some(rule.clone()),
            None => return Err(not_found()),
        },
        None => None,
    };
    let mut merged: Map<String, Value> = existing
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if map.contains_key("conditions") && !map.contains_key("operator") {
        // New condition sets bring their own joining operator (or none).
        merged.remove("operator");
    }
    for (key, value) in &map {
        merged.insert(key.clone(), value.clone());
    }
    rules::validate(&account, kind, &map, &merged).map_err(|list| errors(400, list))?;
    let at = now();
    let (id, created_at) = match &existing {
        Some(rule) => (rule["id"].as_u64().unwrap_or(0), rule["created_at"].clone()),
        None => (account.next_id(), json!(at)),
    };
    let position = merged
        .get("position")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| {
            sorted_rules(&account, kind)
                .iter()
                .filter_map(|r| r["position"].as_u64())
                .max()
                .unwrap_or(0)
                + 1
        });
    let field = |key: &str| merged.get(key).cloned().unwrap_or(Value::Null);
    let mut rule = json!({
        "id": id, "name": field("name"), "description": merged.get("description").cloned().unwrap_or(Value::Null),
        "position": position, "active": merged.get("active").cloned().unwrap_or(json!(true)),
        "automation_type_id": kind, "conditions": field("conditions"), "actions": field("actions"),
        "outdated": false, "last_updated_by": account.admin_id,
        "created_at": created_at, "updated_at": at,
    });
    if let Some(op) = merged.get("operator").filter(|o| !o.is_null()) {
        rule["operator"] = op.clone();
    }
    if kind == rules::TICKET_UPDATES {
        rule["performer"] = field("performer");
        rule["events"] = field("events");
    }
    rule["summary"] = rules::summary(&rule);
    account.rules.insert(id, rule.clone());
    ok(
        if existing.is_some() { 200 } else { 201 },
        rules::view(&rule),
        request,
    )
}
