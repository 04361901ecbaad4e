//! Routing and handlers of the Support API v2 and Help Center.

use std::sync::Mutex;

use serde_json::{Map, Value, json};
use switchover_model::*;
use switchover_sandbox::auth::{self, Credentials};
use switchover_sandbox::{Budget, BudgetCheck, Request, Response, percent_encode};

use crate::convert::{HC_LOCALES, base, seeded_token, zts_unix};
use crate::state::{Blob, State, webhook_id, webhook_number};
use crate::store::K;

/// Page size cap of list endpoints.
const MAX_PAGE: usize = 100;
/// Deepest record reachable with offset pagination.
const MAX_OFFSET_RECORDS: usize = 10_000;
/// Items per bulk request.
const MAX_BULK: usize = 100;
/// Largest Help Center article attachment (Zendesk: 20 MB).
const MAX_KB_ATTACHMENT: usize = 20 * 1024 * 1024;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin(u64),
    Agent(u64),
    EndUser(u64),
}

impl Who {
    fn id(self) -> u64 {
        match self {
            Who::Admin(id) | Who::Agent(id) | Who::EndUser(id) => id,
        }
    }
}

/// The API: state behind one lock, credentials, the incremental-export budget.
pub struct Api {
    /// The account.
    pub state: Mutex<State>,
    /// Valid API token.
    pub api_token: String,
    /// Valid OAuth token.
    pub oauth_token: String,
    /// Incremental exports' own per-minute budget (only when the account has one).
    pub incremental: Option<Budget>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn err(status: u16, body: Value) -> Response {
    Response::json(status, &body)
}

fn not_found() -> Response {
    err(
        404,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}

fn unauthorized() -> Response {
    err(401, json!({"error": "Couldn't authenticate you"}))
}

fn forbidden() -> Response {
    err(
        403,
        json!({"error": "Forbidden", "description": "You do not have access to this page. Please contact the account owner of this help desk for further help."}),
    )
}

fn bad_request(error: &str, description: &str) -> Response {
    err(400, json!({"error": error, "description": description}))
}

/// 422 RecordInvalid with one problem on `field`.
fn invalid(field: &str, error: &str, description: &str) -> Response {
    err(422, invalid_body(field, error, description))
}

fn invalid_body(field: &str, error: &str, description: &str) -> Value {
    json!({"error": "RecordInvalid", "description": "Record validation errors",
           "details": {field: [{"description": description, "error": error}]}})
}

fn created(location: String, key: &str, value: Value) -> Response {
    let mut body = Map::new();
    body.insert(key.into(), value);
    Response::json(201, &Value::Object(body)).with_header("Location", location)
}

fn one(key: &str, value: Value) -> Response {
    let mut body = Map::new();
    body.insert(key.into(), value);
    Response::json(200, &Value::Object(body))
}

fn encode_cursor(id: u64) -> String {
    let mut raw = vec![b'i'];
    raw.extend_from_slice(&id.to_le_bytes());
    let inner = json!({"o": "id", "v": auth::b64(&raw)}).to_string();
    auth::b64(inner.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let inner: Value = serde_json::from_slice(&auth::unb64(cursor)?).ok()?;
    let raw = auth::unb64(inner.get("v")?.as_str()?)?;
    let bytes: [u8; 8] = raw.get(1..9)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

fn ts_of(text: Option<&str>) -> Option<i64> {
    text?.parse::<Timestamp>().ok().map(|t| t.unix())
}

fn ids_param(request: &Request, name: &str) -> Vec<String> {
    request
        .query(name)
        .map(|s| {
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Copies the keys of `from` that `into` already has (Zendesk ignores unknown attributes),
/// except read-only ones.
fn merge_known(into: &mut Value, from: &Value, read_only: &[&str]) {
    let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (key, value) in from {
        if read_only.contains(&key.as_str()) || !into.contains_key(key) {
            continue;
        }
        into.insert(key.clone(), value.clone());
    }
}

const READ_ONLY: &[&str] = &["id", "url", "created_at", "updated_at"];

fn required_missing(body: &Value, fields: &[&str]) -> Option<Response> {
    for field in fields {
        let missing = match body.get(*field) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            _ => false,
        };
        if missing {
            let label = field.replace('_', " ");
            let mut label_chars = label.chars();
            let label = label_chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + label_chars.as_str())
                .unwrap_or_default();
            return Some(invalid(
                field,
                "BlankValue",
                &format!("{label}: cannot be blank"),
            ));
        }
    }
    None
}

/// A simple CRUD resource.
struct Simple {
    kind: K,
    singular: &'static str,
    plural: &'static str,
    path: &'static str,
    required: &'static [&'static str],
    admin_writes: bool,
}

const SIMPLE: &[Simple] = &[
    Simple {
        kind: K::Groups,
        singular: "group",
        plural: "groups",
        path: "groups",
        required: &["name"],
        admin_writes: true,
    },
    Simple {
        kind: K::Memberships,
        singular: "group_membership",
        plural: "group_memberships",
        path: "group_memberships",
        required: &["user_id", "group_id"],
        admin_writes: true,
    },
    Simple {
        kind: K::TicketFields,
        singular: "ticket_field",
        plural: "ticket_fields",
        path: "ticket_fields",
        required: &["type", "title"],
        admin_writes: true,
    },
    Simple {
        kind: K::UserFields,
        singular: "user_field",
        plural: "user_fields",
        path: "user_fields",
        required: &["type", "title", "key"],
        admin_writes: true,
    },
    Simple {
        kind: K::OrgFields,
        singular: "organization_field",
        plural: "organization_fields",
        path: "organization_fields",
        required: &["type", "title", "key"],
        admin_writes: true,
    },
    Simple {
        kind: K::Macros,
        singular: "macro",
        plural: "macros",
        path: "macros",
        required: &["title", "actions"],
        admin_writes: false,
    },
    Simple {
        kind: K::Triggers,
        singular: "trigger",
        plural: "triggers",
        path: "triggers",
        required: &["title", "conditions", "actions"],
        admin_writes: true,
    },
    Simple {
        kind: K::Automations,
        singular: "automation",
        plural: "automations",
        path: "automations",
        required: &["title", "conditions", "actions"],
        admin_writes: true,
    },
    Simple {
        kind: K::Views,
        singular: "view",
        plural: "views",
        path: "views",
        required: &["title"],
        admin_writes: false,
    },
    Simple {
        kind: K::Slas,
        singular: "sla_policy",
        plural: "sla_policies",
        path: "slas/policies",
        required: &["title", "filter", "policy_metrics"],
        admin_writes: true,
    },
    Simple {
        kind: K::Webhooks,
        singular: "webhook",
        plural: "webhooks",
        path: "webhooks",
        required: &[
            "name",
            "endpoint",
            "http_method",
            "request_format",
            "status",
            "subscriptions",
        ],
        admin_writes: true,
    },
];

/// How a list is paged.
enum Paging {
    Cursor {
        size: usize,
        after: Option<u64>,
        before: Option<u64>,
    },
    Offset {
        page: usize,
        per_page: usize,
    },
}

impl Api {
    /// Answers one request (after the kit's gate).
    pub fn handle(&self, request: &Request) -> Response {
        let mut response = self.route(request);
        response
            .headers
            .push(("x-zendesk-api-version".into(), "v2".into()));
        response
    }

    fn authenticate(&self, st: &State, request: &Request) -> Option<Who> {
        let id = match auth::credentials(request)? {
            Credentials::Bearer(token) if token == self.oauth_token => base::USERS,
            Credentials::Basic { user, password } => {
                let email = user.strip_suffix("/token")?;
                if password != self.api_token {
                    return None;
                }
                st.user_by_email(email)?
            }
            Credentials::Bearer(_) => return None,
        };
        let user = st.get(K::Users, id)?;
        if user["active"] == Value::Bool(false) || user["suspended"] == Value::Bool(true) {
            return None;
        }
        Some(match user["role"].as_str() {
            Some("admin") => Who::Admin(id),
            Some("agent") => Who::Agent(id),
            _ => Who::EndUser(id),
        })
    }

    fn route(&self, request: &Request) -> Response {
        let path = request.path.trim_end_matches('/');
        let path = path.strip_suffix(".json").unwrap_or(path);
        // Attachment content: auth required like everything else.
        if let Some(rest) = path.strip_prefix("/attachments/token/") {
            return self.content(request, rest);
        }
        if let Some(rest) = path.strip_prefix("/hc/article_attachments/") {
            return self.kb_content(request, rest);
        }
        if let Some(page) = self.web_page(request, path) {
            return page;
        }
        let Some(rest) = path.strip_prefix("/api/v2/") else {
            return not_found();
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let mut st = match self.state.lock() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        let who = self.authenticate(&st, request);
        let method = request.method.as_str();
        if segments == ["users", "me"] && method == "GET" {
            // Recorded: without valid credentials /users/me answers 200 with an anonymous user.
            return match who {
                Some(who) => st
                    .get(K::Users, who.id())
                    .map(|u| one("user", u))
                    .unwrap_or_else(not_found),
                None => one(
                    "user",
                    json!({"id": Value::Null, "url": Value::Null, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user", "active": true, "verified": false}),
                ),
            };
        }
        let Some(who) = who else {
            return unauthorized();
        };
        if matches!(who, Who::EndUser(_)) {
            return forbidden();
        }
        let admin = matches!(who, Who::Admin(_));
        let body = request.json().unwrap_or(Value::Null);
        match (method, segments.as_slice()) {
            (
                "DELETE",
                [
                    resource @ ("users" | "organizations" | "tickets"),
                    "destroy_many",
                ],
            ) => {
                if !admin {
                    return forbidden();
                }
                let kind = match *resource {
                    "users" => K::Users,
                    "organizations" => K::Orgs,
                    _ => K::Tickets,
                };
                let ids = ids_param(request, "ids");
                if ids.is_empty() || ids.len() > MAX_BULK {
                    return bad_request(
                        "InvalidValue",
                        &format!("ids: between 1 and {MAX_BULK} ids"),
                    );
                }
                let mut results = Vec::new();
                for (index, id) in ids.iter().enumerate() {
                    let deleted = self.delete(&mut st, kind, id).status == 204;
                    results.push(if deleted {
                        json!({"action": "delete", "id": id.parse::<u64>().unwrap_or_default(), "status": "Deleted", "success": true})
                    } else {
                        json!({"index": index, "id": id.parse::<u64>().unwrap_or_default(), "error": "RecordNotFound", "details": "Not found", "success": false})
                    });
                }
                let job = st.new_job("Bulk Delete", "Deleting", results);
                one("job_status", job)
            }
            ("PUT", [resource @ ("organizations" | "users"), "update_many"]) => {
                let (key, verb) = if *resource == "users" {
                    ("users", "Updating user")
                } else {
                    ("organizations", "Updating organization")
                };
                self.bulk(&mut st, &body, key, "Bulk Update", verb, |api, st, item| {
                    let Some(id) = item.get("id").and_then(Value::as_u64) else {
                        return Err(invalid("id", "BlankValue", "Id: cannot be blank"));
                    };
                    let response = if key == "users" {
                        api.update_user(st, &id.to_string(), item)
                    } else {
                        api.update_org(st, &id.to_string(), item)
                    };
                    if response.status == 200 {
                        let body: Value =
                            serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                        Ok((
                            200,
                            body.as_object()
                                .and_then(|o| o.values().next().cloned())
                                .unwrap_or(Value::Null),
                        ))
                    } else {
                        Err(response)
                    }
                })
            }
            ("GET", ["organizations", "autocomplete"]) => {
                let prefix = request.query("name").unwrap_or_default().to_lowercase();
                if prefix.chars().count() < 2 {
                    return invalid(
                        "name",
                        "InvalidValue",
                        "Name: must be at least 2 characters",
                    );
                }
                let mut ids: Vec<u64> = st
                    .org_names
                    .iter()
                    .filter(|(name, _)| name.starts_with(&prefix))
                    .map(|(_, id)| *id)
                    .collect();
                ids.sort_unstable();
                let found: Vec<Value> = ids
                    .into_iter()
                    .filter_map(|id| st.get(K::Orgs, id))
                    .take(MAX_PAGE)
                    .collect();
                let count = found.len();
                Response::json(
                    200,
                    &json!({"organizations": found, "next_page": Value::Null, "previous_page": Value::Null, "count": count}),
                )
            }
            // Counts (`{"count": {"value", "refreshed_at"}}`; Zendesk caches counts of
            // large accounts, here they are exact).
            ("GET", [resource @ ("tickets" | "users" | "organizations"), "count"]) => {
                let kind = match *resource {
                    "tickets" => K::Tickets,
                    "users" => K::Users,
                    _ => K::Orgs,
                };
                let value = st.col(kind).ids_after(None).count();
                Response::json(
                    200,
                    &json!({"count": {"value": value, "refreshed_at": zts_unix(now())}}),
                )
            }
            // Users
            ("GET", ["users"]) => {
                let roles: Vec<String> = request
                    .query_all("role")
                    .into_iter()
                    .chain(request.query_all("role[]"))
                    .map(str::to_string)
                    .collect();
                self.list(&st, request, K::Users, "users", &|_| true, &|u: &Value| {
                    roles.is_empty()
                        || u["role"]
                            .as_str()
                            .is_some_and(|r| roles.iter().any(|x| x == r))
                })
            }
            ("GET", ["users", "show_many"]) => self.show_many(&st, request, K::Users, "users"),
            ("GET", ["users", "search"]) => self.search_by(&st, request, K::Users, "users"),
            ("GET", ["users", id]) => self.show(&st, K::Users, "user", id),
            ("POST", ["users"]) => self
                .upsert_user(&mut st, &body["user"], false)
                .map(|(code, v)| {
                    if code == 201 {
                        created(v["url"].as_str().unwrap_or_default().to_string(), "user", v)
                    } else {
                        one("user", v)
                    }
                })
                .unwrap_or_else(|e| e),
            ("POST", ["users", "create_or_update"]) => self
                .upsert_user(&mut st, &body["user"], true)
                .map(|(code, v)| {
                    if code == 201 {
                        created(v["url"].as_str().unwrap_or_default().to_string(), "user", v)
                    } else {
                        one("user", v)
                    }
                })
                .unwrap_or_else(|e| e),
            ("POST", ["users", "create_many"]) | ("POST", ["users", "create_or_update_many"]) => {
                if !admin {
                    return forbidden();
                }
                let upsert = segments[1] == "create_or_update_many";
                self.bulk(
                    &mut st,
                    &body,
                    "users",
                    if upsert {
                        "Create or update many users"
                    } else {
                        "Bulk Create User"
                    },
                    "Creating user",
                    |api, st, item| api.upsert_user(st, item, upsert),
                )
            }
            ("PUT", ["users", id]) => self.update_user(&mut st, id, &body["user"]),
            ("DELETE", ["users", id]) => {
                let Some(id) = id.parse::<u64>().ok() else {
                    return not_found();
                };
                let Some(mut user) = st.get(K::Users, id) else {
                    return not_found();
                };
                user["active"] = Value::Bool(false);
                user["updated_at"] = zts_unix(now());
                st.col_mut(K::Users).put(id, user.clone(), now());
                one("user", user)
            }
            // Organizations
            ("GET", ["organizations"]) => {
                self.list(&st, request, K::Orgs, "organizations", &|_| true, &|_| true)
            }
            ("GET", ["organizations", "show_many"]) => {
                self.show_many(&st, request, K::Orgs, "organizations")
            }
            ("GET", ["organizations", "search"]) => {
                self.search_by(&st, request, K::Orgs, "organizations")
            }
            ("GET", ["organizations", id]) => self.show(&st, K::Orgs, "organization", id),
            ("POST", ["organizations"]) => self
                .upsert_org(&mut st, &body["organization"], false)
                .map(|(_, v)| {
                    created(
                        v["url"].as_str().unwrap_or_default().to_string(),
                        "organization",
                        v,
                    )
                })
                .unwrap_or_else(|e| e),
            ("POST", ["organizations", "create_or_update"]) => self
                .upsert_org(&mut st, &body["organization"], true)
                .map(|(code, v)| {
                    if code == 201 {
                        created(
                            v["url"].as_str().unwrap_or_default().to_string(),
                            "organization",
                            v,
                        )
                    } else {
                        one("organization", v)
                    }
                })
                .unwrap_or_else(|e| e),
            ("POST", ["organizations", "create_many"])
            | ("POST", ["organizations", "create_or_update_many"]) => {
                let upsert = segments[1] == "create_or_update_many";
                self.bulk(
                    &mut st,
                    &body,
                    "organizations",
                    if upsert {
                        "Create or update many organizations"
                    } else {
                        "Bulk Create Organization"
                    },
                    "Creating organization",
                    |api, st, item| api.upsert_org(st, item, upsert),
                )
            }
            ("PUT", ["organizations", id]) => self.update_org(&mut st, id, &body["organization"]),
            ("DELETE", ["organizations", id]) => self.delete(&mut st, K::Orgs, id),
            // Tickets
            ("GET", ["tickets"]) => {
                if let Some(external) = request.query("external_id") {
                    let found: Vec<Value> = st
                        .by_external(K::Tickets, external)
                        .and_then(|id| st.get(K::Tickets, id))
                        .into_iter()
                        .collect();
                    return Response::json(
                        200,
                        &json!({"tickets": found, "next_page": Value::Null, "previous_page": Value::Null, "count": found.len()}),
                    );
                }
                self.list(
                    &st,
                    request,
                    K::Tickets,
                    "tickets",
                    &|id| !st.is_archived(id),
                    &|_| true,
                )
            }
            ("GET", ["tickets", "show_many"]) => {
                self.show_many(&st, request, K::Tickets, "tickets")
            }
            ("GET", ["tickets", id]) => self.show(&st, K::Tickets, "ticket", id),
            ("GET", ["tickets", id, "comments"]) => {
                let Some(id) = id
                    .parse::<u64>()
                    .ok()
                    .filter(|id| st.get(K::Tickets, *id).is_some())
                else {
                    return not_found();
                };
                let mut comments = st.ticket_comments(id);
                if request.query("sort_order") == Some("desc") {
                    comments.reverse();
                }
                self.list_values(request, comments, "comments")
            }
            ("POST", ["tickets", "create_many"]) => self.bulk(
                &mut st,
                &body,
                "tickets",
                "Bulk Create Ticket",
                "Creating ticket",
                |api, st, item| {
                    let response = api.create_ticket(st, who, item);
                    if response.status == 201 {
                        let body: Value =
                            serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                        Ok((201, body["ticket"].clone()))
                    } else {
                        Err(response)
                    }
                },
            ),
            ("POST", ["tickets"]) => self.create_ticket(&mut st, who, &body["ticket"]),
            ("PUT", ["tickets", id]) => self.update_ticket(&mut st, who, id, &body["ticket"]),
            ("DELETE", ["tickets", id]) => self.delete(&mut st, K::Tickets, id),
            ("POST", ["imports", "tickets"]) => {
                if !admin {
                    return forbidden();
                }
                let archive = request.query("archive_immediately") == Some("true");
                match self.import_ticket(&mut st, &body["ticket"], archive) {
                    Ok(ticket) => created(
                        ticket["url"].as_str().unwrap_or_default().to_string(),
                        "ticket",
                        ticket,
                    ),
                    Err(e) => e,
                }
            }
            ("POST", ["imports", "tickets", "create_many"]) => {
                if !admin {
                    return forbidden();
                }
                let archive = request.query("archive_immediately") == Some("true");
                self.bulk(
                    &mut st,
                    &body,
                    "tickets",
                    "Bulk Import Tickets",
                    "Importing ticket",
                    |api, st, item| api.import_ticket(st, item, archive).map(|t| (201, t)),
                )
            }
            // Uploads and attachments
            ("POST", ["uploads"]) => self.upload(&mut st, request),
            ("DELETE", ["uploads", token]) => match st.uploads.remove(*token) {
                Some(_) => Response::empty(204),
                None => not_found(),
            },
            ("GET", ["attachments", id]) => {
                let Some(id) = id.parse::<u64>().ok() else {
                    return not_found();
                };
                self.attachment_meta(&st, id)
                    .map(|a| one("attachment", a))
                    .unwrap_or_else(not_found)
            }
            // Satisfaction ratings
            ("GET", ["satisfaction_ratings"]) => {
                let score = request.query("score").map(str::to_string);
                self.list(
                    &st,
                    request,
                    K::Csat,
                    "satisfaction_ratings",
                    &|_| true,
                    &|r: &Value| {
                        score
                            .as_deref()
                            .is_none_or(|s| r["score"].as_str() == Some(s))
                    },
                )
            }
            ("GET", ["satisfaction_ratings", id]) => {
                self.show(&st, K::Csat, "satisfaction_rating", id)
            }
            // Jobs
            ("GET", ["job_statuses", "show_many"]) => {
                let ids = ids_param(request, "ids");
                let jobs: Vec<Value> = ids.iter().filter_map(|id| st.poll_job(id)).collect();
                Response::json(200, &json!({"job_statuses": jobs}))
            }
            ("GET", ["job_statuses", id]) => st
                .poll_job(id)
                .map(|j| one("job_status", j))
                .unwrap_or_else(not_found),
            // Incremental exports (admin only)
            ("GET", ["incremental", ..]) => {
                if !admin {
                    return forbidden();
                }
                if let Some(budget) = &self.incremental
                    && let BudgetCheck::Exceeded { retry_after } = budget.spend()
                {
                    return Response::json(429, &json!({"error": "APIRateLimitExceeded", "description": "Number of allowed incremental export API requests per minute exceeded"}))
                            .with_header("Retry-After", retry_after.to_string());
                }
                match &segments[1..] {
                    ["tickets", "cursor"] => {
                        self.incremental(&st, request, K::Tickets, "tickets", true)
                    }
                    ["tickets"] => self.incremental(&st, request, K::Tickets, "tickets", false),
                    ["users", "cursor"] => self.incremental(&st, request, K::Users, "users", true),
                    ["users"] => self.incremental(&st, request, K::Users, "users", false),
                    ["ticket_events"] => self.ticket_events(&st, request),
                    ["organizations"] => {
                        self.incremental(&st, request, K::Orgs, "organizations", false)
                    }
                    _ => not_found(),
                }
            }
            ("GET", ["search"]) => self.search(&st, request, false),
            ("GET", ["search", "count"]) => self.search(&st, request, true),
            // Guide permission groups (Help Center managers: admins here)
            ("GET", ["guide", "permission_groups", ..]) => {
                if !admin {
                    return forbidden();
                }
                match &segments[2..] {
                    [] => Response::json(
                        200,
                        &json!({"permission_groups": [st.ctx().permission_group(base::PERMISSION_GROUPS)],
                                "next_page": Value::Null, "previous_page": Value::Null, "count": 1}),
                    ),
                    [id] if id.parse::<u64>().ok() == Some(base::PERMISSION_GROUPS) => one(
                        "permission_group",
                        st.ctx().permission_group(base::PERMISSION_GROUPS),
                    ),
                    _ => not_found(),
                }
            }
            // Group memberships beyond plain CRUD
            ("POST", ["group_memberships", "create_many"]) => {
                if !admin {
                    return forbidden();
                }
                self.bulk(
                    &mut st,
                    &body,
                    "group_memberships",
                    "Bulk Create Group Memberships",
                    "Creating group membership",
                    |api, st, item| {
                        let response = api.create_membership(st, item);
                        if response.status == 201 {
                            let body: Value =
                                serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                            Ok((201, body["group_membership"].clone()))
                        } else {
                            Err(response)
                        }
                    },
                )
            }
            ("GET", ["users", user, "group_memberships"]) => {
                let Some(user) = user
                    .parse::<u64>()
                    .ok()
                    .filter(|id| st.get(K::Users, *id).is_some())
                else {
                    return not_found();
                };
                self.list(
                    &st,
                    request,
                    K::Memberships,
                    "group_memberships",
                    &|_| true,
                    &|m: &Value| m["user_id"].as_u64() == Some(user),
                )
            }
            ("GET", ["groups", group, "memberships"]) => {
                let Some(group) = group
                    .parse::<u64>()
                    .ok()
                    .filter(|id| st.get(K::Groups, *id).is_some())
                else {
                    return not_found();
                };
                self.list(
                    &st,
                    request,
                    K::Memberships,
                    "group_memberships",
                    &|_| true,
                    &|m: &Value| m["group_id"].as_u64() == Some(group),
                )
            }
            ("GET" | "DELETE", ["users", user, "group_memberships", id]) => {
                let found = id.parse::<u64>().ok().and_then(|id| {
                    st.get(K::Memberships, id)
                        .filter(|m| {
                            m["user_id"].as_u64().map(|u| u.to_string()).as_deref() == Some(*user)
                        })
                        .map(|m| (id, m))
                });
                match (method, found) {
                    (_, None) => not_found(),
                    ("GET", Some((_, m))) => one("group_membership", m),
                    (_, Some((id, _))) => {
                        if !admin {
                            return forbidden();
                        }
                        st.col_mut(K::Memberships).delete(id, now());
                        Response::empty(204)
                    }
                }
            }
            ("PUT", ["users", user, "group_memberships", id, "make_default"]) => {
                let found = id.parse::<u64>().ok().filter(|id| {
                    st.get(K::Memberships, *id).is_some_and(|m| {
                        m["user_id"].as_u64().map(|u| u.to_string()).as_deref() == Some(*user)
                    })
                });
                let Some(id) = found else {
                    return not_found();
                };
                self.make_default(&mut st, id);
                let user = user.parse::<u64>().unwrap_or_default();
                let all: Vec<Value> = st
                    .col(K::Memberships)
                    .ids_after(None)
                    .filter_map(|id| st.get(K::Memberships, id))
                    .filter(|m| m["user_id"].as_u64() == Some(user))
                    .collect();
                Response::json(200, &json!({"group_memberships": all}))
            }
            ("POST", ["group_memberships"]) => {
                if !admin {
                    return forbidden();
                }
                self.create_membership(&mut st, &body["group_membership"])
            }
            // Help Center
            ("GET" | "POST" | "PUT" | "DELETE", ["help_center", ..]) => {
                self.help_center(&mut st, request, who, &segments[1..], &body)
            }
            // Everything with plain CRUD
            _ => self.simple(&mut st, request, admin, &segments, &body),
        }
    }

    fn paging(
        &self,
        request: &Request,
        default: usize,
        help_center: bool,
    ) -> Result<Paging, Response> {
        let size = request.query("page[size]");
        let after = request.query("page[after]");
        let before = request.query("page[before]");
        if size.is_some() || after.is_some() || before.is_some() {
            let size = match size {
                None => MAX_PAGE,
                Some(s) => match s.parse::<usize>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                    _ => {
                        return Err(bad_request(
                            "InvalidPaginationParameter",
                            &format!("page[size] must be a number between 1 and {MAX_PAGE}"),
                        ));
                    }
                },
            };
            let decode = |c: Option<&str>| -> Result<Option<u64>, Response> {
                match c {
                    None | Some("") => Ok(None),
                    Some(c) => decode_cursor(c)
                        .map(Some)
                        .ok_or_else(|| bad_request("InvalidPaginationParameter", "invalid cursor")),
                }
            };
            return Ok(Paging::Cursor {
                size,
                after: decode(after)?,
                before: decode(before)?,
            });
        }
        let page = request
            .query("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let per_page = request
            .query("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(default)
            .clamp(1, MAX_PAGE);
        if page.saturating_mul(per_page) > MAX_OFFSET_RECORDS && page > 1 {
            return Err(if help_center {
                bad_request(
                    "LimitError",
                    "Offset-based pagination is limited to 100 pages",
                )
            } else {
                err(
                    400,
                    json!({"errors": [{"code": "InvalidPaginationDepth", "title": "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records (page * per_page)", "detail": "There are limits to the page depth in Offset Pagination. To retrieve more records, use Cursor Pagination.", "status": "400"}]}),
                )
            });
        }
        Ok(Paging::Offset { page, per_page })
    }

    fn page_url(&self, st: &State, request: &Request, replace: &[(&str, String)]) -> String {
        let mut query: Vec<(String, String)> = request
            .query
            .iter()
            .filter(|(k, _)| {
                !replace.iter().any(|(r, _)| r == k) && !k.starts_with("page[") && k != "page"
            })
            .cloned()
            .collect();
        for (k, v) in replace {
            query.push((k.to_string(), v.clone()));
        }
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        format!("{}{}?{}", st.base_url, request.path, query.join("&"))
    }

    #[allow(clippy::type_complexity)]
    fn list(
        &self,
        st: &State,
        request: &Request,
        kind: K,
        key: &str,
        id_ok: &dyn Fn(u64) -> bool,
        value_ok: &dyn Fn(&Value) -> bool,
    ) -> Response {
        self.list_inner(st, request, kind, key, id_ok, value_ok, false)
    }

    #[allow(clippy::too_many_arguments)]
    fn list_inner(
        &self,
        st: &State,
        request: &Request,
        kind: K,
        key: &str,
        id_ok: &dyn Fn(u64) -> bool,
        value_ok: &dyn Fn(&Value) -> bool,
        help_center: bool,
    ) -> Response {
        let paging = match self.paging(request, if help_center { 30 } else { 100 }, help_center) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let col = st.col(kind);
        let fetch = |id: u64| st.get(kind, id).filter(|v| value_ok(v));
        // Every filter here rejects a record without fields unless it filters nothing.
        let trivial = value_ok(&Value::Null);
        match paging {
            Paging::Cursor {
                size,
                after,
                before,
            } => {
                let mut items: Vec<(u64, Value)> = Vec::new();
                let has_more;
                if let Some(before) = before {
                    for id in col.ids_before(before).filter(|id| id_ok(*id)) {
                        if let Some(v) = fetch(id) {
                            items.push((id, v));
                            if items.len() > size {
                                break;
                            }
                        }
                    }
                    has_more = items.len() > size;
                    items.truncate(size);
                    items.reverse();
                } else {
                    for id in col.ids_after(after).filter(|id| id_ok(*id)) {
                        if let Some(v) = fetch(id) {
                            items.push((id, v));
                            if items.len() > size {
                                break;
                            }
                        }
                    }
                    has_more = items.len() > size;
                    items.truncate(size);
                }
                let first = items.first().map(|(id, _)| encode_cursor(*id));
                let last = items.last().map(|(id, _)| encode_cursor(*id));
                let link = |name: &str, cursor: &Option<String>| match cursor {
                    Some(c) => Value::from(self.page_url(
                        st,
                        request,
                        &[(name, c.clone()), ("page[size]", size.to_string())],
                    )),
                    None => Value::Null,
                };
                let mut links = json!({"prev": link("page[before]", &first), "next": link("page[after]", &last)});
                if help_center {
                    if !has_more {
                        links["next"] = Value::Null;
                    }
                    links["first"] = Value::from(self.page_url(
                        st,
                        request,
                        &[("page[size]", size.to_string())],
                    ));
                    links["last"] = Value::Null;
                }
                let values: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
                let mut body = Map::new();
                body.insert(key.into(), Value::from(values));
                body.insert(
                    "meta".into(),
                    json!({"has_more": has_more, "after_cursor": last, "before_cursor": first}),
                );
                body.insert("links".into(), links);
                self.sideload(st, request, key, &mut body);
                Response::json(200, &Value::Object(body))
            }
            Paging::Offset { page, per_page } => {
                let skip = (page - 1) * per_page;
                let mut count = 0usize;
                let mut values = Vec::new();
                for id in col.ids_after(None).filter(|id| id_ok(*id)) {
                    let in_window = count >= skip && values.len() < per_page;
                    // Outside the page, generate records only when a filter needs their fields.
                    if in_window || !trivial {
                        let Some(v) = fetch(id) else { continue };
                        if in_window {
                            values.push(v);
                        }
                    } else if kind == K::Csat && st.get(kind, id).is_none() {
                        continue;
                    }
                    count += 1;
                }
                self.offset_body(st, request, key, values, page, per_page, count, help_center)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn offset_body(
        &self,
        st: &State,
        request: &Request,
        key: &str,
        values: Vec<Value>,
        page: usize,
        per_page: usize,
        count: usize,
        help_center: bool,
    ) -> Response {
        let next = (page * per_page < count).then(|| {
            self.page_url(
                st,
                request,
                &[
                    ("page", (page + 1).to_string()),
                    ("per_page", per_page.to_string()),
                ],
            )
        });
        let prev = (page > 1).then(|| {
            self.page_url(
                st,
                request,
                &[
                    ("page", (page - 1).to_string()),
                    ("per_page", per_page.to_string()),
                ],
            )
        });
        let mut body = Map::new();
        body.insert(key.into(), Value::from(values));
        body.insert("next_page".into(), json!(next));
        body.insert("previous_page".into(), json!(prev));
        body.insert("count".into(), json!(count));
        if help_center {
            body.insert("page".into(), json!(page));
            body.insert("per_page".into(), json!(per_page));
            body.insert("page_count".into(), json!(count.div_ceil(per_page)));
            body.insert("sort_by".into(), json!("position"));
            body.insert("sort_order".into(), json!("asc"));
        }
        self.sideload(st, request, key, &mut body);
        Response::json(200, &Value::Object(body))
    }

    /// Pages an already materialized list (comments of one ticket).
    fn list_values(&self, request: &Request, values: Vec<Value>, key: &str) -> Response {
        let paging = match self.paging(request, 100, false) {
            Ok(p) => p,
            Err(e) => return e,
        };
        match paging {
            Paging::Cursor { size, after, .. } => {
                let start = after.map(|a| a as usize + 1).unwrap_or(0);
                let page: Vec<Value> = values.iter().skip(start).take(size).cloned().collect();
                let has_more = start + page.len() < values.len();
                let last =
                    (!page.is_empty()).then(|| encode_cursor((start + page.len() - 1) as u64));
                let first = (!page.is_empty()).then(|| encode_cursor(start as u64));
                let base = format!("{}?", request.path);
                let next = last.as_ref().map(|c| {
                    format!(
                        "{base}page%5Bafter%5D={}&page%5Bsize%5D={size}",
                        percent_encode(c)
                    )
                });
                let prev = first.as_ref().map(|c| {
                    format!(
                        "{base}page%5Bbefore%5D={}&page%5Bsize%5D={size}",
                        percent_encode(c)
                    )
                });
                let mut body = Map::new();
                body.insert(key.into(), Value::from(page));
                body.insert(
                    "meta".into(),
                    json!({"has_more": has_more, "after_cursor": last, "before_cursor": first}),
                );
                body.insert("links".into(), json!({"prev": prev, "next": next}));
                Response::json(200, &Value::Object(body))
            }
            Paging::Offset { page, per_page } => {
                let count = values.len();
                let items: Vec<Value> = values
                    .into_iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .collect();
                let mut body = Map::new();
                body.insert(key.into(), Value::from(items));
                body.insert(
                    "next_page".into(),
                    json!((page * per_page < count).then(|| format!(
                        "{}?page={}&per_page={per_page}",
                        request.path,
                        page + 1
                    ))),
                );
                body.insert(
                    "previous_page".into(),
                    json!((page > 1).then(|| format!(
                        "{}?page={}&per_page={per_page}",
                        request.path,
                        page - 1
                    ))),
                );
                body.insert("count".into(), json!(count));
                Response::json(200, &Value::Object(body))
            }
        }
    }

    fn show(&self, st: &State, kind: K, key: &str, id: &str) -> Response {
        id.parse::<u64>()
            .ok()
            .and_then(|id| st.get(kind, id))
            .map(|v| one(key, v))
            .unwrap_or_else(not_found)
    }

    fn show_many(&self, st: &State, request: &Request, kind: K, key: &str) -> Response {
        let ids = ids_param(request, "ids");
        let externals = ids_param(request, "external_ids");
        if ids.len() + externals.len() > MAX_BULK {
            return bad_request("InvalidValue", &format!("at most {MAX_BULK} ids"));
        }
        let mut found: Vec<Value> = ids
            .iter()
            .filter_map(|id| id.parse::<u64>().ok())
            .filter_map(|id| st.get(kind, id))
            .collect();
        found.extend(
            externals
                .iter()
                .filter_map(|e| st.by_external(kind, e))
                .filter_map(|id| st.get(kind, id)),
        );
        let count = found.len();
        let mut body = Map::new();
        body.insert(key.into(), Value::from(found));
        body.insert("next_page".into(), Value::Null);
        body.insert("previous_page".into(), Value::Null);
        body.insert("count".into(), json!(count));
        Response::json(200, &Value::Object(body))
    }

    fn search_by(&self, st: &State, request: &Request, kind: K, key: &str) -> Response {
        let mut found = Vec::new();
        if let Some(external) = request.query("external_id") {
            found.extend(
                st.by_external(kind, external)
                    .and_then(|id| st.get(kind, id)),
            );
        } else if let Some(query) = request.query("query") {
            let email = query.strip_prefix("email:").unwrap_or(query).trim();
            if kind == K::Users {
                found.extend(st.user_by_email(email).and_then(|id| st.get(kind, id)));
            }
        } else if kind == K::Orgs
            && let Some(name) = request.query("name")
        {
            found.extend(st.org_by_name(name).and_then(|id| st.get(kind, id)));
        }
        let count = found.len();
        let mut body = Map::new();
        body.insert(key.into(), Value::from(found));
        body.insert("next_page".into(), Value::Null);
        body.insert("previous_page".into(), Value::Null);
        body.insert("count".into(), json!(count));
        Response::json(200, &Value::Object(body))
    }

    /// Side-loads `include=users,groups,organizations,metric_sets` next to a ticket list.
    fn sideload(&self, st: &State, request: &Request, key: &str, body: &mut Map<String, Value>) {
        let Some(include) = request.query("include") else {
            return;
        };
        if key != "tickets" {
            return;
        }
        let tickets: Vec<Value> = body
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for what in include.split(',').map(str::trim) {
            let (kind, fields): (K, &[&str]) = match what {
                "users" => (K::Users, &["requester_id", "submitter_id", "assignee_id"]),
                "groups" => (K::Groups, &["group_id"]),
                "organizations" => (K::Orgs, &["organization_id"]),
                "metric_sets" => {
                    let sets: Vec<Value> = tickets
                        .iter()
                        .filter_map(|t| t["id"].as_u64())
                        .map(|id| st.metric_set(id))
                        .collect();
                    body.insert("metric_sets".into(), Value::from(sets));
                    continue;
                }
                _ => continue,
            };
            let mut ids: Vec<u64> = tickets
                .iter()
                .flat_map(|t| fields.iter().filter_map(|f| t[*f].as_u64()))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let values: Vec<Value> = ids.into_iter().filter_map(|id| st.get(kind, id)).collect();
            body.insert(what.into(), Value::from(values));
        }
    }

    /// The search API, for the lookups migrations need: `type:user email:x`,
    /// `type:{user|organization|ticket} external_id:x`, `type:organization name:x`.
    /// Anything else finds nothing.
    fn search(&self, st: &State, request: &Request, count_only: bool) -> Response {
        let query = request.query("query").unwrap_or_default();
        let mut kind = None;
        let mut filters = Vec::new();
        for token in search_tokens(query) {
            match token.split_once(':') {
                Some(("type", t)) => kind = Some(t.to_string()),
                Some((k, v)) => filters.push((k.to_string(), v.trim_matches('"').to_string())),
                None => filters.push(("email".into(), token.to_string())),
            }
        }
        let mut results = Vec::new();
        let (k, result_type) = match kind.as_deref() {
            Some("user") => (K::Users, "user"),
            Some("organization") => (K::Orgs, "organization"),
            Some("ticket") => (K::Tickets, "ticket"),
            Some("group") => (K::Groups, "group"),
            _ => (K::Users, "user"),
        };
        for (key, value) in &filters {
            let id = match key.as_str() {
                "external_id" => st.by_external(k, value),
                "email" if k == K::Users => st.user_by_email(value),
                "name" if k == K::Orgs => st.org_by_name(value),
                _ => None,
            };
            if let Some(mut v) = id.and_then(|id| st.get(k, id)) {
                v["result_type"] = json!(result_type);
                results.push(v);
            }
        }
        if filters.is_empty() && kind.is_some() {
            // Type only: the first page of that kind (search returns at most 1,000 results).
            let mut listed = 0usize;
            for id in st.col(k).ids_after(None) {
                let Some(mut v) = st.get(k, id) else { continue };
                listed += 1;
                if results.len() < MAX_PAGE {
                    v["result_type"] = json!(result_type);
                    results.push(v);
                }
                if listed >= 1_000 {
                    break;
                }
            }
            if count_only {
                return Response::json(200, &json!({"count": listed}));
            }
        }
        if count_only {
            return Response::json(200, &json!({"count": results.len()}));
        }
        let count = results.len();
        Response::json(
            200,
            &json!({"results": results, "facets": Value::Null, "next_page": Value::Null, "previous_page": Value::Null, "count": count}),
        )
    }

    fn delete(&self, st: &mut State, kind: K, id: &str) -> Response {
        let Some(id) = id.parse::<u64>().ok() else {
            return not_found();
        };
        let Some(mut value) = st.get(kind, id) else {
            return not_found();
        };
        if kind == K::Tickets {
            value["status"] = json!("deleted");
            value["updated_at"] = zts_unix(now());
            st.deleted_tickets.insert(id, value);
        }
        st.col_mut(kind).delete(id, now());
        Response::empty(204)
    }

    /// Runs `each` over the items of a bulk body (≤100) and answers with a queued job.
    fn bulk(
        &self,
        st: &mut State,
        body: &Value,
        key: &str,
        job_type: &str,
        verb: &str,
        each: impl Fn(&Api, &mut State, &Value) -> Result<(u16, Value), Response>,
    ) -> Response {
        let Some(items) = body.get(key).and_then(Value::as_array) else {
            return bad_request("InvalidValue", &format!("{key} must be an array"));
        };
        if items.len() > MAX_BULK {
            return bad_request(
                "TooManyValues",
                &format!("at most {MAX_BULK} {key} per request"),
            );
        }
        let mut results = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match each(self, st, item) {
                Ok((code, value)) => {
                    let mut result = json!({"index": index, "id": value["id"], "status": if code == 201 { "Created" } else { "Updated" }, "action": if code == 201 { "create" } else { "update" }, "success": true});
                    if let Some(external) = value.get("external_id").filter(|e| !e.is_null()) {
                        result["external_id"] = external.clone();
                    }
                    if key == "tickets" {
                        result = json!({"index": index, "id": value["id"], "account_id": 1});
                    }
                    results.push(result);
                }
                Err(response) => {
                    let detail: Value =
                        serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                    results.push(json!({"index": index, "error": detail.get("error").cloned().unwrap_or(json!("RecordInvalid")), "details": detail.get("details").cloned().unwrap_or(Value::Null), "success": false}));
                }
            }
        }
        let job = st.new_job(job_type, verb, results);
        one("job_status", job)
    }

    fn content(&self, request: &Request, token: &str) -> Response {
        let (generator, found) = {
            let st = match self.state.lock() {
                Ok(st) => st,
                Err(poisoned) => poisoned.into_inner(),
            };
            if self.authenticate(&st, request).is_none() {
                return unauthorized();
            }
            let found =
                if let Some(aid) = token.strip_prefix('u').and_then(|t| t.parse::<u64>().ok()) {
                    st.blobs.get(&aid).map(|b| {
                        Ok((
                            b.meta["content_type"]
                                .as_str()
                                .unwrap_or("application/octet-stream")
                                .to_string(),
                            b.bytes.clone(),
                        ))
                    })
                } else {
                    self.seeded_attachment(&st, token).map(Err)
                };
            (st.generator.clone(), found)
        };
        match found {
            None => not_found(),
            Some(Ok((content_type, bytes))) => {
                Response::bytes(200, &content_type, bytes.as_ref().clone())
            }
            Some(Err((canonical_id, size, content_type))) => Response::bytes(
                200,
                &content_type,
                generator.attachment_bytes(&canonical_id, size),
            ),
        }
    }

    /// Content of a Help Center article attachment (`/hc/article_attachments/{id}/{name}`),
    /// behind authentication like every other content route of the emulator.
    /// The pages people open from links in bodies: the agent's ticket page
    /// (`/agent/tickets/{id}`) and Help Center articles, sections and categories
    /// (`/hc/{locale}/articles/{id}-{slug}`, the locale optional), behind auth like the
    /// rest; 404 for records the account does not have. `None` for other paths.
    fn web_page(&self, request: &Request, path: &str) -> Option<Response> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (kind, id) = match segments.as_slice() {
            ["agent", "tickets", id] => (K::Tickets, *id),
            ["hc", kind, id] | ["hc", _, kind, id] => match *kind {
                "articles" => (K::KbArticles, *id),
                "sections" => (K::KbSections, *id),
                "categories" => (K::KbCategories, *id),
                _ => return None,
            },
            _ => return None,
        };
        let id: String = id.chars().take_while(char::is_ascii_digit).collect();
        let st = match self.state.lock() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.authenticate(&st, request).is_none() {
            return Some(unauthorized());
        }
        Some(match id.parse().ok().and_then(|id| st.get(kind, id)) {
            Some(record) => {
                let title = record["title"]
                    .as_str()
                    .or(record["subject"].as_str())
                    .or(record["name"].as_str())
                    .unwrap_or_default();
                Response::bytes(
                    200,
                    "text/html; charset=utf-8",
                    format!("<html><title>{title}</title></html>").into_bytes(),
                )
            }
            None => not_found(),
        })
    }

    fn kb_content(&self, request: &Request, rest: &str) -> Response {
        let st = match self.state.lock() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.authenticate(&st, request).is_none() {
            return unauthorized();
        }
        let id = rest.split('/').next().and_then(|id| id.parse::<u64>().ok());
        match id.and_then(|id| st.kb_attachments.get(&id)) {
            Some(blob) => Response::bytes(
                200,
                blob.meta["content_type"]
                    .as_str()
                    .unwrap_or("application/octet-stream"),
                blob.bytes.as_ref().clone(),
            ),
            None => not_found(),
        }
    }

    /// `POST /group_memberships` (and each item of `create_many`): the user must be an
    /// agent and the group must exist; a membership made `default` becomes the agent's
    /// only default one.
    fn create_membership(&self, st: &mut State, body: &Value) -> Response {
        let Some(resource) = SIMPLE.iter().find(|r| r.kind == K::Memberships) else {
            return not_found();
        };
        let response = self.create_simple(st, resource, body);
        if response.status != 201 {
            return response;
        }
        let created_body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let membership = &created_body["group_membership"];
        match membership["id"].as_u64() {
            Some(id) if membership["default"] == json!(true) => {
                self.make_default(st, id);
                let value = st.get(K::Memberships, id).unwrap_or(Value::Null);
                created(
                    value["url"].as_str().unwrap_or_default().to_string(),
                    "group_membership",
                    value,
                )
            }
            _ => response,
        }
    }

    /// Makes membership `id` its agent's default one, and no other.
    fn make_default(&self, st: &mut State, id: u64) {
        let Some(user) = st
            .get(K::Memberships, id)
            .and_then(|m| m["user_id"].as_u64())
        else {
            return;
        };
        let theirs: Vec<(u64, Value)> = st
            .col(K::Memberships)
            .ids_after(None)
            .filter_map(|mid| st.get(K::Memberships, mid).map(|m| (mid, m)))
            .filter(|(_, m)| m["user_id"].as_u64() == Some(user))
            .collect();
        let at = now();
        for (mid, mut m) in theirs {
            let default = mid == id;
            if m["default"] != json!(default) {
                m["default"] = json!(default);
                m["updated_at"] = zts_unix(at);
                st.col_mut(K::Memberships).put(mid, m, at);
            }
        }
    }

    /// A seeded attachment's canonical id, size and type, from its content token.
    fn seeded_attachment(&self, st: &State, token: &str) -> Option<(String, u64, String)> {
        let (aid, size) = token.strip_prefix('s')?.split_once('x')?;
        let (aid, size) = (aid.parse::<u64>().ok()?, size.parse::<u64>().ok()?);
        let meta = self.attachment_meta(st, aid)?;
        (meta["size"].as_u64() == Some(size)).then_some(())?;
        let n = aid.checked_sub(base::ATTACHMENTS)?;
        let (k, rest) = (n % 10, n / 10);
        let (ticket_id, j) = (rest / 10_000, rest % 10_000);
        Some((
            format!("att-{}-{j}-{k}", ticket_id - base::TICKETS),
            size,
            meta["content_type"]
                .as_str()
                .unwrap_or("application/octet-stream")
                .to_string(),
        ))
    }

    fn attachment_meta(&self, st: &State, id: u64) -> Option<Value> {
        if let Some(blob) = st.blobs.get(&id) {
            return Some(blob.meta.clone());
        }
        let n = id.checked_sub(base::ATTACHMENTS)?;
        let (k, rest) = (n % 10, n / 10);
        let (ticket_id, j) = (rest / 10_000, rest % 10_000);
        let index = st.col(K::Tickets).index(ticket_id)?;
        st.get(K::Tickets, ticket_id)?;
        let comment = st.generator.comments(index).into_iter().nth(j as usize)?;
        let a = comment
            .attachments
            .iter()
            .find(|a| a.id == format!("att-{index}-{j}-{k}"))?;
        Some(st.ctx().attachment(
            id,
            &a.file_name,
            &a.content_type,
            a.size,
            a.inline,
            &seeded_token(id, a.size),
        ))
    }

    fn upload(&self, st: &mut State, request: &Request) -> Response {
        let Some(filename) = request.query("filename").filter(|f| !f.trim().is_empty()) else {
            return invalid("base", "BlankValue", "Filename: cannot be blank");
        };
        let content_type = request
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string();
        let extension = filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_lowercase())
            .unwrap_or_default();
        let image_ext = [
            "png", "jpg", "jpeg", "gif", "webp", "bmp", "svg", "ico", "tif", "tiff", "heic",
        ];
        if content_type.starts_with("image/") && !image_ext.contains(&extension.as_str()) {
            return invalid(
                "base",
                "InvalidValue",
                "The file type and file extension do not match. Try again.",
            );
        }
        st.next_attachment += 1;
        let aid = st.next_attachment;
        let meta = st.ctx().attachment(
            aid,
            filename,
            &content_type,
            request.body.len() as u64,
            false,
            &format!("u{aid}"),
        );
        st.blobs.insert(
            aid,
            Blob {
                meta: meta.clone(),
                bytes: std::sync::Arc::new(request.body.clone()),
            },
        );
        let token = match request
            .query("token")
            .filter(|t| st.uploads.contains_key(*t))
        {
            Some(t) => t.to_string(),
            None => {
                let h = switchover_sandbox::rng::hash(st.generator.config().seed, "upload", aid);
                let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
                (0..25)
                    .map(|n| {
                        alphabet[((h >> (n % 10 * 6)) as usize + n * 7) % alphabet.len()] as char
                    })
                    .collect()
            }
        };
        st.uploads.entry(token.clone()).or_default().push(aid);
        let attachments: Vec<Value> = st.uploads[&token]
            .iter()
            .filter_map(|id| st.blobs.get(id).map(|b| b.meta.clone()))
            .collect();
        let body = json!({"upload": {"token": token, "expires_at": zts_unix(now() + 3 * 86_400), "attachments": attachments, "attachment": meta}});
        // Recorded: uploads answer JSON with a text/plain content type.
        Response::bytes(
            201,
            "text/plain; charset=utf-8",
            serde_json::to_vec(&body).unwrap_or_default(),
        )
        .with_header(
            "Location",
            format!("{}/api/v2/attachments/{aid}.json", st.base_url),
        )
    }

    fn take_uploads(&self, st: &mut State, tokens: &Value) -> Result<Vec<Value>, Response> {
        let mut out = Vec::new();
        for token in tokens.as_array().into_iter().flatten() {
            let Some(token) = token.as_str() else {
                return Err(invalid(
                    "uploads",
                    "InvalidValue",
                    "Uploads: must be tokens",
                ));
            };
            let Some(ids) = st.uploads.remove(token) else {
                return Err(invalid(
                    "uploads",
                    "InvalidValue",
                    &format!("Uploads: token {token} is invalid or expired"),
                ));
            };
            out.extend(
                ids.iter()
                    .filter_map(|id| st.blobs.get(id).map(|b| b.meta.clone())),
            );
        }
        Ok(out)
    }

    fn make_comment(
        &self,
        st: &mut State,
        ticket_id: u64,
        c: &Value,
        default_author: u64,
        at: i64,
    ) -> Result<Value, Response> {
        let html = c.get("html_body").and_then(Value::as_str);
        let text = c
            .get("body")
            .or_else(|| c.get("value"))
            .and_then(Value::as_str);
        if html.is_none() && text.is_none() {
            return Err(invalid(
                "comment",
                "BlankValue",
                "Comment: body cannot be blank",
            ));
        }
        let author = match c.get("author_id") {
            None | Some(Value::Null) => default_author,
            Some(v) => match v.as_u64().filter(|id| st.get(K::Users, *id).is_some()) {
                Some(id) => id,
                None => return Err(invalid("author_id", "InvalidValue", "Author: is invalid")),
            },
        };
        let created_at = match c.get("created_at").and_then(Value::as_str) {
            None => at,
            Some(s) => match ts_of(Some(s)) {
                Some(t) if t > now() + 60 => {
                    return Err(invalid(
                        "created_at",
                        "InvalidValue",
                        "Created at: cannot be in the future",
                    ));
                }
                Some(t) => t.max(0),
                None => {
                    return Err(invalid(
                        "created_at",
                        "InvalidValue",
                        "Created at: is invalid",
                    ));
                }
            },
        };
        let attachments = self.take_uploads(st, c.get("uploads").unwrap_or(&Value::Null))?;
        let plain = text
            .map(str::to_string)
            .unwrap_or_else(|| strip_tags(html.unwrap_or_default()));
        let html = html.map(str::to_string).unwrap_or_else(|| {
            format!(
                "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">{}</p></div>",
                plain
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            )
        });
        st.next_attachment += 1;
        let id = st.next_attachment;
        let _ = ticket_id;
        Ok(json!({
            "id": id, "type": "Comment", "author_id": author, "body": plain, "html_body": html, "plain_body": plain,
            "public": c.get("public").and_then(Value::as_bool).unwrap_or(true), "attachments": attachments,
            "audit_id": id + 1, "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": Value::Null}},
            "metadata": {"system": {"client": "switchover-emulator", "ip_address": "127.0.0.1"}, "custom": {}},
            "created_at": zts_unix(created_at),
        }))
    }

    /// Applies writable ticket attributes of `body` to `ticket`; validates references.
    fn apply_ticket(
        &self,
        st: &mut State,
        ticket: &mut Value,
        body: &Value,
    ) -> Result<(), Response> {
        for (field, kind) in [
            ("requester_id", K::Users),
            ("submitter_id", K::Users),
            ("assignee_id", K::Users),
            ("group_id", K::Groups),
            ("organization_id", K::Orgs),
        ] {
            if let Some(v) = body.get(field) {
                if !v.is_null() && v.as_u64().and_then(|id| st.get(kind, id)).is_none() {
                    let label = field.trim_end_matches("_id");
                    return Err(invalid(
                        field,
                        "InvalidValue",
                        &format!("{}: is invalid", capitalize(label)),
                    ));
                }
                ticket[field] = v.clone();
            }
        }
        if let Some(assignee) = body.get("assignee_id").and_then(Value::as_u64)
            && st
                .get(K::Users, assignee)
                .is_some_and(|u| u["role"] == json!("end-user"))
        {
            return Err(invalid(
                "assignee_id",
                "InvalidValue",
                "Assignee: is not an agent",
            ));
        }
        if let Some(requester) = body.get("requester").filter(|r| r.is_object()) {
            let email = requester.get("email").and_then(Value::as_str);
            let id = match email.and_then(|e| st.user_by_email(e)) {
                Some(id) => id,
                None => self
                    .upsert_user(st, requester, false)
                    .map(|(_, u)| u["id"].as_u64().unwrap_or_default())?,
            };
            ticket["requester_id"] = json!(id);
        }
        if let Some(status) = body.get("status") {
            let ok = ["new", "open", "pending", "hold", "solved", "closed"];
            if !status.as_str().is_some_and(|s| ok.contains(&s)) {
                return Err(invalid("status", "InvalidValue", "Status: is invalid"));
            }
            ticket["status"] = status.clone();
        }
        if let Some(priority) = body.get("priority") {
            if !(priority.is_null()
                || priority
                    .as_str()
                    .is_some_and(|p| ["low", "normal", "high", "urgent"].contains(&p)))
            {
                return Err(invalid("priority", "InvalidValue", "Priority: is invalid"));
            }
            ticket["priority"] = priority.clone();
        }
        if let Some(kind) = body.get("type") {
            if !(kind.is_null()
                || kind
                    .as_str()
                    .is_some_and(|k| ["question", "incident", "problem", "task"].contains(&k)))
            {
                return Err(invalid("type", "InvalidValue", "Type: is invalid"));
            }
            ticket["type"] = kind.clone();
        }
        for field in [
            "subject",
            "external_id",
            "tags",
            "due_at",
            "collaborator_ids",
            "follower_ids",
            "email_cc_ids",
            "problem_id",
            "brand_id",
            "ticket_form_id",
        ] {
            if let Some(v) = body.get(field) {
                ticket[field] = v.clone();
            }
        }
        if let Some(subject) = body.get("subject") {
            ticket["raw_subject"] = subject.clone();
        }
        if let Some(fields) = body
            .get("custom_fields")
            .or_else(|| body.get("fields"))
            .and_then(Value::as_array)
        {
            let mut current: Vec<Value> = ticket["custom_fields"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for f in fields {
                let Some(id) = f.get("id").and_then(Value::as_u64) else {
                    return Err(invalid(
                        "custom_fields",
                        "InvalidValue",
                        "Custom fields: id is required",
                    ));
                };
                if st.get(K::TicketFields, id).is_none() {
                    return Err(invalid(
                        "custom_fields",
                        "InvalidValue",
                        &format!("Custom field {id}: does not exist"),
                    ));
                }
                let value = f.get("value").cloned().unwrap_or(Value::Null);
                match current.iter_mut().find(|c| c["id"].as_u64() == Some(id)) {
                    Some(c) => c["value"] = value,
                    None => current.push(json!({"id": id, "value": value})),
                }
            }
            ticket["custom_fields"] = Value::from(current.clone());
            ticket["fields"] = Value::from(current);
        }
        if ticket["organization_id"].is_null()
            && let Some(requester) = ticket["requester_id"]
                .as_u64()
                .and_then(|id| st.get(K::Users, id))
        {
            ticket["organization_id"] = requester["organization_id"].clone();
        }
        Ok(())
    }

    fn blank_ticket(&self, st: &mut State) -> (u64, Value) {
        let id = st.col_mut(K::Tickets).fresh_id();
        let mut ticket = st.ctx().ticket(id, &Ticket::default(), "");
        ticket["status"] = json!("new");
        ticket["custom_fields"] = json!([]);
        ticket["fields"] = json!([]);
        ticket["via"]["channel"] = json!("api");
        (id, ticket)
    }

    fn create_ticket(&self, st: &mut State, who: Who, body: &Value) -> Response {
        if !body.is_object() {
            return invalid("base", "InvalidValue", "Ticket: is missing");
        }
        let (id, mut ticket) = self.blank_ticket(st);
        ticket["requester_id"] = json!(who.id());
        ticket["submitter_id"] = json!(who.id());
        if let Err(e) = self.apply_ticket(st, &mut ticket, body) {
            return e;
        }
        let comment = body
            .get("comment")
            .cloned()
            .or_else(|| body.get("description").map(|d| json!({"body": d})));
        let Some(comment) = comment else {
            return invalid("description", "BlankValue", "Description: cannot be blank");
        };
        let at = now();
        let mut comment = match self.make_comment(st, id, &comment, who.id(), at) {
            Ok(c) => c,
            Err(e) => return e,
        };
        comment["metadata"]["custom"] = audit_custom(body);
        ticket["description"] = comment["body"].clone();
        if ticket["subject"].is_null() || ticket["subject"] == json!("") {
            let subject: String = comment["body"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(50)
                .collect();
            ticket["subject"] = json!(subject);
            ticket["raw_subject"] = json!(subject);
        }
        if body.get("status").is_none() && !ticket["assignee_id"].is_null() {
            ticket["status"] = json!("open");
        }
        ticket["created_at"] = zts_unix(at);
        ticket["updated_at"] = zts_unix(at);
        st.comments.entry(id).or_default().push(comment.clone());
        st.col_mut(K::Tickets).put(id, ticket.clone(), at);
        self.run_triggers(st);
        let audit = json!({"id": comment["audit_id"], "ticket_id": id, "created_at": zts_unix(at), "author_id": who.id(),
            "metadata": {"system": {"client": "switchover-emulator", "ip_address": "127.0.0.1", "location": "", "latitude": 0.0, "longitude": 0.0}, "custom": {}},
            "events": [comment], "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": Value::Null}}});
        Response::json(201, &json!({"ticket": ticket, "audit": audit})).with_header(
            "Location",
            format!("{}/api/v2/tickets/{id}.json", st.base_url),
        )
    }

    fn run_triggers(&self, st: &mut State) {
        let col = st.col(K::Triggers);
        let active = col.ids_after(None).any(|id| {
            st.get(K::Triggers, id)
                .is_some_and(|t| t["active"] == json!(true))
        });
        if active {
            st.trigger_runs += 1;
        }
    }

    fn update_ticket(&self, st: &mut State, who: Who, id: &str, body: &Value) -> Response {
        let Some(id) = id.parse::<u64>().ok() else {
            return not_found();
        };
        let Some(mut ticket) = st.get(K::Tickets, id) else {
            return not_found();
        };
        if st.is_archived(id) {
            return invalid(
                "status",
                "InvalidValue",
                "Status: closed prevents ticket update",
            );
        }
        if ticket["status"] == json!("closed") {
            return invalid(
                "status",
                "InvalidValue",
                "Status: closed prevents ticket update",
            );
        }
        if let Err(e) = self.apply_ticket(st, &mut ticket, body) {
            return e;
        }
        let at = now();
        let mut events = Vec::new();
        if let Some(comment) = body.get("comment") {
            match self.make_comment(st, id, comment, who.id(), at) {
                Ok(mut c) => {
                    c["metadata"]["custom"] = audit_custom(body);
                    st.comments.entry(id).or_default().push(c.clone());
                    events.push(c);
                }
                Err(e) => return e,
            }
        }
        ticket["updated_at"] = zts_unix(at);
        st.col_mut(K::Tickets).put(id, ticket.clone(), at);
        self.run_triggers(st);
        let audit = json!({"id": at as u64 * 10, "ticket_id": id, "created_at": zts_unix(at), "author_id": who.id(),
            "metadata": {"system": {}, "custom": {}}, "events": events, "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": Value::Null}}});
        Response::json(200, &json!({"ticket": ticket, "audit": audit}))
    }

    /// Ticket Import API: keeps timestamps, comments with authors, fires no triggers.
    fn import_ticket(
        &self,
        st: &mut State,
        body: &Value,
        archive: bool,
    ) -> Result<Value, Response> {
        if !body.is_object() {
            return Err(invalid("base", "InvalidValue", "Ticket: is missing"));
        }
        if body.get("requester_id").is_none() && body.get("requester").is_none() {
            return Err(invalid(
                "requester",
                "BlankValue",
                "Requester: cannot be blank",
            ));
        }
        let (id, mut ticket) = self.blank_ticket(st);
        self.apply_ticket(st, &mut ticket, body)?;
        if ticket["submitter_id"].is_null() {
            ticket["submitter_id"] = ticket["requester_id"].clone();
        }
        let at = now();
        let stamp = |field: &str| -> Result<Option<i64>, Response> {
            match body.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match ts_of(v.as_str()) {
                    Some(t) if t > at + 60 => Err(invalid(
                        field,
                        "InvalidValue",
                        &format!(
                            "{}: cannot be in the future",
                            capitalize(&field.replace('_', " "))
                        ),
                    )),
                    Some(t) => Ok(Some(t.max(0))),
                    None => Err(invalid(
                        field,
                        "InvalidValue",
                        &format!("{}: is invalid", capitalize(&field.replace('_', " "))),
                    )),
                },
            }
        };
        let created_at = stamp("created_at")?.unwrap_or(at);
        let updated_at = stamp("updated_at")?.unwrap_or(created_at);
        let solved_at = stamp("solved_at")?;
        let requester = ticket["requester_id"].as_u64().unwrap_or(base::USERS);
        let mut comments = Vec::new();
        for c in body
            .get("comments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            comments.push(self.make_comment(st, id, c, requester, created_at)?);
        }
        if comments.is_empty()
            && let Some(d) = body.get("description")
        {
            comments.push(self.make_comment(
                st,
                id,
                &json!({"body": d, "author_id": requester}),
                requester,
                created_at,
            )?);
        }
        ticket["description"] = comments
            .first()
            .map(|c| c["body"].clone())
            .unwrap_or(json!(""));
        if body.get("status").is_none() {
            ticket["status"] = json!("open");
        }
        ticket["created_at"] = zts_unix(created_at);
        ticket["updated_at"] = zts_unix(updated_at);
        if let Some(solved) = solved_at {
            st.solved_at.insert(id, solved);
        }
        st.comments.insert(id, comments);
        st.col_mut(K::Tickets).put(id, ticket.clone(), at);
        if archive && ticket["status"] == json!("closed") {
            st.archived.insert(id);
        }
        Ok(ticket)
    }

    fn upsert_user(
        &self,
        st: &mut State,
        body: &Value,
        upsert: bool,
    ) -> Result<(u16, Value), Response> {
        if !body.is_object() {
            return Err(invalid("base", "InvalidValue", "User: is missing"));
        }
        let email = body.get("email").and_then(Value::as_str);
        let external = body.get("external_id").and_then(Value::as_str);
        let existing = external
            .and_then(|e| st.by_external(K::Users, e))
            .or_else(|| email.and_then(|e| st.user_by_email(e)));
        if let Some(id) = existing {
            if !upsert && let Some(e) = email.filter(|e| st.user_by_email(e).is_some()) {
                return Err(invalid(
                    "email",
                    "DuplicateValue",
                    &format!("Email: {e} is already being used by another user"),
                ));
            }
            let mut user = st.get(K::Users, id).ok_or_else(not_found)?;
            self.apply_user(st, &mut user, body)?;
            user["updated_at"] = zts_unix(now());
            st.col_mut(K::Users).put(id, user.clone(), now());
            return Ok((200, user));
        }
        if let Some(e) = required_missing(body, &["name"]) {
            return Err(e);
        }
        let id = st.col_mut(K::Users).fresh_id();
        let mut user = st.ctx().user(
            id,
            &User {
                role: UserRole::EndUser,
                ..Default::default()
            },
        );
        user["user_fields"] = json!({});
        user["created_at"] = zts_unix(now());
        user["updated_at"] = zts_unix(now());
        user["verified"] = json!(false);
        user["time_zone"] = json!("Eastern Time (US & Canada)");
        user["iana_time_zone"] = json!("America/New_York");
        user["locale"] = json!("en-US");
        self.apply_user(st, &mut user, body)?;
        st.col_mut(K::Users).put(id, user.clone(), now());
        Ok((201, user))
    }

    fn apply_user(&self, st: &State, user: &mut Value, body: &Value) -> Result<(), Response> {
        if let Some(role) = body.get("role")
            && !role
                .as_str()
                .is_some_and(|r| ["end-user", "agent", "admin"].contains(&r))
        {
            return Err(invalid("role", "InvalidValue", "Role: is invalid"));
        }
        if let Some(org) = body.get("organization_id").filter(|o| !o.is_null())
            && org.as_u64().and_then(|id| st.get(K::Orgs, id)).is_none()
        {
            return Err(invalid(
                "organization_id",
                "InvalidValue",
                "Organization: is invalid",
            ));
        }
        if let Some(email) = body.get("email").and_then(Value::as_str)
            && !email.contains('@')
        {
            return Err(invalid(
                "email",
                "InvalidValue",
                &format!("Email: {email} is not properly formatted"),
            ));
        }
        let fields = body.get("user_fields").cloned();
        merge_known(
            user,
            body,
            &["id", "url", "created_at", "updated_at", "user_fields"],
        );
        if let Some(Value::Object(fields)) = fields {
            for (k, v) in fields {
                user["user_fields"][k] = v;
            }
        }
        if user["role"] == json!("admin") {
            user["role_type"] = json!(4);
        }
        Ok(())
    }

    fn update_user(&self, st: &mut State, id: &str, body: &Value) -> Response {
        let Some(id) = id.parse::<u64>().ok() else {
            return not_found();
        };
        let Some(mut user) = st.get(K::Users, id) else {
            return not_found();
        };
        if let Err(e) = self.apply_user(st, &mut user, body) {
            return e;
        }
        user["updated_at"] = zts_unix(now());
        st.col_mut(K::Users).put(id, user.clone(), now());
        one("user", user)
    }

    fn upsert_org(
        &self,
        st: &mut State,
        body: &Value,
        upsert: bool,
    ) -> Result<(u16, Value), Response> {
        if !body.is_object() {
            return Err(invalid("base", "InvalidValue", "Organization: is missing"));
        }
        let external = body.get("external_id").and_then(Value::as_str);
        let name = body.get("name").and_then(Value::as_str);
        let existing = external
            .and_then(|e| st.by_external(K::Orgs, e))
            .or_else(|| {
                if upsert {
                    name.and_then(|n| st.org_by_name(n))
                } else {
                    None
                }
            });
        if let (Some(id), true) = (existing, upsert) {
            let mut org = st.get(K::Orgs, id).ok_or_else(not_found)?;
            if let Some(n) = name.filter(|n| st.org_by_name(n).is_some_and(|other| other != id)) {
                return Err(invalid(
                    "name",
                    "DuplicateValue",
                    &format!("Name: {n} has already been taken"),
                ));
            }
            self.apply_org(&mut org, body);
            org["updated_at"] = zts_unix(now());
            st.put_org(id, org.clone(), now());
            return Ok((200, org));
        }
        if let Some(e) = required_missing(body, &["name"]) {
            return Err(e);
        }
        if let Some(n) = name.filter(|n| st.org_by_name(n).is_some()) {
            return Err(invalid(
                "name",
                "DuplicateValue",
                &format!("Name: {n} has already been taken"),
            ));
        }
        let id = st.col_mut(K::Orgs).fresh_id();
        let mut org = st.ctx().organization(id, &Organization::default());
        org["organization_fields"] = json!({});
        org["created_at"] = zts_unix(now());
        org["updated_at"] = zts_unix(now());
        self.apply_org(&mut org, body);
        st.put_org(id, org.clone(), now());
        Ok((201, org))
    }

    fn apply_org(&self, org: &mut Value, body: &Value) {
        let fields = body.get("organization_fields").cloned();
        merge_known(
            org,
            body,
            &[
                "id",
                "url",
                "created_at",
                "updated_at",
                "organization_fields",
            ],
        );
        if let Some(Value::Object(fields)) = fields {
            for (k, v) in fields {
                org["organization_fields"][k] = v;
            }
        }
    }

    fn update_org(&self, st: &mut State, id: &str, body: &Value) -> Response {
        let Some(id) = id.parse::<u64>().ok() else {
            return not_found();
        };
        let Some(mut org) = st.get(K::Orgs, id) else {
            return not_found();
        };
        if let Some(n) = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| st.org_by_name(n).is_some_and(|other| other != id))
        {
            return invalid(
                "name",
                "DuplicateValue",
                &format!("Name: {n} has already been taken"),
            );
        }
        self.apply_org(&mut org, body);
        org["updated_at"] = zts_unix(now());
        st.put_org(id, org.clone(), now());
        one("organization", org)
    }

    fn incremental(
        &self,
        st: &State,
        request: &Request,
        kind: K,
        key: &str,
        cursor_mode: bool,
    ) -> Response {
        let per_page = request
            .query("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1000)
            .clamp(1, 1000);
        let at = now();
        let position: (i64, u64) =
            if let Some(cursor) = request.query("cursor").filter(|_| cursor_mode) {
                match decode_export_cursor(cursor) {
                    Some(p) => p,
                    None => return bad_request("InvalidValue", "cursor is invalid"),
                }
            } else {
                let Some(start) = request
                    .query("start_time")
                    .and_then(|s| s.parse::<i64>().ok())
                else {
                    return bad_request(
                        "InvalidValue",
                        "start_time is required and must be a unix time in seconds",
                    );
                };
                if start > at - 60 {
                    return bad_request(
                        "InvalidValue",
                        "Too recent start_time. Use a start_time older than 1 minute",
                    );
                }
                // Items at or after start_time: position just before it.
                (start - 1, u64::MAX)
            };
        let exclude_deleted = request.query("exclude_deleted") == Some("true");
        let col = st.col(kind);
        let mut items: Vec<(i64, u64, Value)> = Vec::new();
        // Seeded records not written by clients, in id order (their timestamps grow with the id).
        let seeded_ts = |index: usize| -> i64 {
            let id = col.base + index as u64;
            st.seeded(kind, index)
                .map(|v| st.generated_timestamp(kind, id, &v))
                .unwrap_or(0)
        };
        let (mut lo, mut hi) = (0usize, col.seeded);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let ts = seeded_ts(mid);
            if (ts, col.base + mid as u64) > position {
                hi = mid
            } else {
                lo = mid + 1
            }
        }
        let mut index = lo;
        let mut more = false;
        while index < col.seeded {
            let id = col.base + index as u64;
            index += 1;
            if col.overlay.contains_key(&id) {
                continue;
            }
            let Some(v) = st.seeded(kind, index - 1) else {
                continue;
            };
            let ts = st.generated_timestamp(kind, id, &v);
            // Time-based pages keep records sharing the last timestamp together.
            if items.len() >= per_page && (cursor_mode || items.last().map(|l| l.0) != Some(ts)) {
                more = true;
                break;
            }
            items.push((ts, id, v));
        }
        if !more {
            let mut written: Vec<(i64, u64)> = col
                .written
                .iter()
                .map(|(id, ts)| (*ts, *id))
                .filter(|p| *p > position)
                .collect();
            written.sort();
            for (ts, id) in written {
                let value = match st.get(kind, id) {
                    Some(v) => Some(v),
                    None if kind == K::Tickets && !exclude_deleted => {
                        st.deleted_tickets.get(&id).cloned()
                    }
                    None => None,
                };
                let Some(v) = value else { continue };
                if items.len() >= per_page && (cursor_mode || items.last().map(|l| l.0) != Some(ts))
                {
                    more = true;
                    break;
                }
                items.push((ts, id, v));
            }
        }
        let last = items.last().map(|(ts, id, _)| (*ts, *id));
        let first_ts = items.first().map(|(ts, _, _)| *ts);
        let values: Vec<Value> = items
            .into_iter()
            .map(|(ts, _, mut v)| {
                v["generated_timestamp"] = json!(ts);
                v
            })
            .collect();
        let mut body = Map::new();
        let count = values.len();
        body.insert(key.into(), Value::from(values));
        if cursor_mode {
            let position = last.unwrap_or(position);
            let cursor = encode_export_cursor(position);
            body.insert(
                "after_url".into(),
                json!(format!(
                    "{}{}?cursor={}&per_page={per_page}",
                    st.base_url,
                    request.path,
                    percent_encode(&cursor)
                )),
            );
            body.insert("after_cursor".into(), json!(cursor));
            body.insert("before_url".into(), Value::Null);
            body.insert("before_cursor".into(), Value::Null);
            body.insert("end_of_stream".into(), json!(!more));
        } else {
            let mut end_time = last.map(|(ts, _)| ts).unwrap_or(position.0 + 1);
            if more && first_ts == Some(end_time) {
                // The whole page shares one timestamp: move past it, or the next page repeats it.
                end_time += 1;
            }
            body.insert("count".into(), json!(count));
            body.insert(
                "next_page".into(),
                json!(format!(
                    "{}{}?start_time={end_time}&per_page={per_page}",
                    st.base_url, request.path
                )),
            );
            body.insert("end_time".into(), json!(end_time));
            body.insert("end_of_stream".into(), json!(!more));
        }
        self.sideload(st, request, key, &mut body);
        Response::json(200, &Value::Object(body))
    }

    /// Time-based ticket events: one `Create` event per ticket at its creation, with its
    /// comments as child events when `include=comment_events`.
    fn ticket_events(&self, st: &State, request: &Request) -> Response {
        let per_page = request
            .query("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1000)
            .clamp(1, 1000);
        let Some(start) = request
            .query("start_time")
            .and_then(|s| s.parse::<i64>().ok())
        else {
            return bad_request(
                "InvalidValue",
                "start_time is required and must be a unix time in seconds",
            );
        };
        if start > now() - 60 {
            return bad_request(
                "InvalidValue",
                "Too recent start_time. Use a start_time older than 1 minute",
            );
        }
        let comments = request
            .query("include")
            .is_some_and(|i| i.split(',').any(|x| x.trim() == "comment_events"));
        let col = st.col(K::Tickets);
        let created = |id: u64| -> Option<(i64, Value)> {
            let t = st.get(K::Tickets, id)?;
            Some((ts_of(t["created_at"].as_str()).unwrap_or(0), t))
        };
        // Seeded creation times grow with the id: find the first at or after start_time.
        let (mut lo, mut hi) = (col.base, col.base + col.seeded as u64);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ts = ts_of(
                st.generator
                    .ticket((mid - col.base) as usize)
                    .created_at
                    .map(|t| t.to_string())
                    .as_deref(),
            )
            .unwrap_or(0);
            if ts >= start { hi = mid } else { lo = mid + 1 }
        }
        let mut events = Vec::new();
        let mut candidates: Vec<(i64, u64, Value)> = Vec::new();
        for id in col.ids_after(lo.checked_sub(1)) {
            if candidates.len() > per_page {
                break;
            }
            if let Some((ts, t)) = created(id).filter(|(ts, _)| *ts >= start) {
                candidates.push((ts, id, t));
            }
        }
        candidates.sort_by_key(|(ts, id, _)| (*ts, *id));
        candidates.truncate(per_page);
        for (ts, id, t) in &candidates {
            let mut event = json!({"id": id * 10, "ticket_id": id, "timestamp": ts, "created_at": zts_unix(*ts),
                "updater_id": t["submitter_id"], "via": t["via"]["channel"], "system": {}, "event_type": "Create",
                "child_events": []});
            if comments {
                let children: Vec<Value> = st.ticket_comments(*id).into_iter().take(1).map(|c| json!({
                    "id": c["id"], "via": t["via"]["channel"], "event_type": "Comment", "comment_present": true,
                    "comment_public": c["public"], "body": c["body"], "html_body": c["html_body"], "public": c["public"],
                    "author_id": c["author_id"], "attachments": c["attachments"], "created_at": c["created_at"]})).collect();
                event["child_events"] = Value::from(children);
            }
            events.push(event);
        }
        let count = events.len();
        let end_time = candidates.last().map(|(ts, _, _)| *ts).unwrap_or(start);
        Response::json(
            200,
            &json!({"ticket_events": events, "count": count, "end_time": end_time,
            "next_page": format!("{}{}?start_time={end_time}&per_page={per_page}", st.base_url, request.path),
            "end_of_stream": count < per_page}),
        )
    }

    fn help_center(
        &self,
        st: &mut State,
        request: &Request,
        who: Who,
        segments: &[&str],
        body: &Value,
    ) -> Response {
        let admin = matches!(who, Who::Admin(_));
        // Optional locale segment: /help_center/en-us/articles
        let segments: Vec<&str> = match segments.first() {
            Some(first) if first.contains('-') || first.len() == 2 => segments[1..].to_vec(),
            _ => segments.to_vec(),
        };
        let method = request.method.as_str();
        let hc_list = |st: &State, kind: K, key: &str, parent: Option<(&str, u64)>| {
            self.list_inner(
                st,
                request,
                kind,
                key,
                &|_| true,
                &|v: &Value| parent.is_none_or(|(field, id)| v[field].as_u64() == Some(id)),
                true,
            )
        };
        match (method, segments.as_slice()) {
            ("GET", ["categories"]) => hc_list(st, K::KbCategories, "categories", None),
            ("GET", ["sections"]) => hc_list(st, K::KbSections, "sections", None),
            ("GET", ["articles"]) => hc_list(st, K::KbArticles, "articles", None),
            ("GET", ["categories", id, "sections"]) => match id
                .parse::<u64>()
                .ok()
                .filter(|id| st.get(K::KbCategories, *id).is_some())
            {
                Some(id) => hc_list(st, K::KbSections, "sections", Some(("category_id", id))),
                None => not_found(),
            },
            ("GET", ["sections", id, "articles"]) => match id
                .parse::<u64>()
                .ok()
                .filter(|id| st.get(K::KbSections, *id).is_some())
            {
                Some(id) => hc_list(st, K::KbArticles, "articles", Some(("section_id", id))),
                None => not_found(),
            },
            ("GET", ["categories", id]) => self.show(st, K::KbCategories, "category", id),
            ("GET", ["sections", id]) => self.show(st, K::KbSections, "section", id),
            ("GET", ["articles", id]) => self.show(st, K::KbArticles, "article", id),
            ("POST", ["categories"]) => {
                if !admin {
                    return forbidden();
                }
                self.hc_create(
                    st,
                    K::KbCategories,
                    "category",
                    &body["category"],
                    &["name"],
                    |s, id| s.ctx().kb_category(id, &KbCategory::default()),
                    &[],
                )
            }
            ("POST", ["categories", parent, "sections"]) => {
                let Some(parent) = parent
                    .parse::<u64>()
                    .ok()
                    .filter(|id| st.get(K::KbCategories, *id).is_some())
                else {
                    return not_found();
                };
                self.hc_create(
                    st,
                    K::KbSections,
                    "section",
                    &body["section"],
                    &["name"],
                    |s, id| s.ctx().kb_section(id, &KbSection::default()),
                    &[("category_id", parent)],
                )
            }
            ("POST", ["sections", parent, "articles"]) => {
                let Some(parent) = parent
                    .parse::<u64>()
                    .ok()
                    .filter(|id| st.get(K::KbSections, *id).is_some())
                else {
                    return not_found();
                };
                // The author is the caller unless given.
                let mut article = body["article"].clone();
                if article.is_object() && article["author_id"].is_null() {
                    article["author_id"] = json!(who.id());
                }
                let article = &article;
                if article.get("user_segment_id").is_none() {
                    return invalid(
                        "user_segment_id",
                        "BlankValue",
                        "User segment: must be given (null means everyone)",
                    );
                }
                if let Some(e) =
                    required_missing(article, &["title", "permission_group_id", "locale"])
                        .or_else(|| self.article_refusal(st, article))
                {
                    return e;
                }
                self.hc_create(
                    st,
                    K::KbArticles,
                    "article",
                    article,
                    &["title", "permission_group_id", "locale"],
                    |s, id| s.ctx().kb_article(id, &KbArticle::default()),
                    &[("section_id", parent)],
                )
            }
            ("PUT", ["articles", id]) => {
                // Zendesk's article update changes metadata only: title, body, locale and
                // draft belong to the translations (`PUT .../translations/{locale}`).
                let mut patch = body["article"].clone();
                if let Some(map) = patch.as_object_mut() {
                    for key in ["title", "name", "body", "locale", "source_locale", "draft"] {
                        map.remove(key);
                    }
                }
                if let Some(e) = self.article_refusal(st, &patch) {
                    return e;
                }
                self.update_simple(st, K::KbArticles, "article", id, &patch)
            }
            ("PUT", [resource @ ("categories" | "sections"), id]) => {
                let (kind, key) = hc_kind(resource);
                self.update_simple(st, kind, key, id, &body[key])
            }
            ("DELETE", ["articles", id]) => {
                let response = self.delete(st, K::KbArticles, id);
                if response.status == 204
                    && let Ok(article) = id.parse::<u64>()
                {
                    st.translations.remove(&article);
                    st.kb_attachments
                        .retain(|_, blob| blob.meta["article_id"].as_u64() != Some(article));
                }
                response
            }
            ("DELETE", [resource @ ("categories" | "sections"), id]) => {
                let (kind, _) = hc_kind(resource);
                self.delete(st, kind, id)
            }
            ("GET", ["locales"]) => Response::json(
                200,
                &json!({"locales": HC_LOCALES, "default_locale": HC_LOCALES[0]}),
            ),
            // Translations of articles
            ("GET", ["articles", id, "translations"]) => match self.article_id(st, id) {
                Some(article) => {
                    let all = self.article_translations(st, article);
                    self.list_values(request, all, "translations")
                }
                None => not_found(),
            },
            ("GET", ["articles", id, "translations", locale]) => self
                .article_id(st, id)
                .and_then(|article| {
                    self.article_translations(st, article)
                        .into_iter()
                        .find(|t| same_locale(&t["locale"], locale))
                })
                .map(|t| one("translation", t))
                .unwrap_or_else(not_found),
            ("POST", ["articles", id, "translations"]) => match self.article_id(st, id) {
                Some(article) => self.create_translation(st, article, &body["translation"]),
                None => not_found(),
            },
            ("PUT", ["articles", id, "translations", locale]) => match self.article_id(st, id) {
                Some(article) => self.update_translation(st, article, locale, &body["translation"]),
                None => not_found(),
            },
            ("DELETE", ["translations", id]) => self.delete_translation(st, id),
            // Article attachments
            ("POST", ["articles", id, "attachments"]) => match self.article_id(st, id) {
                Some(article) => self.create_kb_attachment(st, request, article),
                None => not_found(),
            },
            ("GET", ["articles", "attachments", id]) => id
                .parse::<u64>()
                .ok()
                .and_then(|id| st.kb_attachments.get(&id))
                .map(|blob| one("article_attachment", blob.meta.clone()))
                .unwrap_or_else(not_found),
            ("GET", ["articles", id, "attachments"]) => match self.article_id(st, id) {
                Some(article) => {
                    let list: Vec<Value> = st
                        .kb_attachments
                        .values()
                        .filter(|blob| blob.meta["article_id"].as_u64() == Some(article))
                        .map(|blob| blob.meta.clone())
                        .collect();
                    Response::json(200, &json!({"article_attachments": list}))
                }
                None => not_found(),
            },
            ("DELETE", ["articles", "attachments", id]) => {
                match id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| st.kb_attachments.remove(&id))
                {
                    Some(_) => Response::empty(204),
                    None => not_found(),
                }
            }
            _ => not_found(),
        }
    }

    /// Why Zendesk would refuse these article attributes (create or update): the
    /// permission group, user segment, section and author must exist, the locale must be
    /// enabled in the Help Center. Only the attributes present are checked.
    fn article_refusal(&self, st: &State, article: &Value) -> Option<Response> {
        if let Some(group) = article.get("permission_group_id")
            && group.as_u64() != Some(base::PERMISSION_GROUPS)
        {
            return Some(invalid(
                "permission_group_id",
                "InvalidValue",
                "Permission group: is invalid",
            ));
        }
        // The emulated account has no user segments: null (everyone) is the only valid one.
        if article.get("user_segment_id").is_some_and(|s| !s.is_null()) {
            return Some(invalid(
                "user_segment_id",
                "InvalidValue",
                "User segment: is invalid",
            ));
        }
        if let Some(locale) = article.get("locale")
            && !HC_LOCALES.iter().any(|l| same_locale(locale, l))
        {
            return Some(invalid(
                "locale",
                "InvalidValue",
                &format!(
                    "Locale: {} is not enabled in this Help Center",
                    locale.as_str().unwrap_or_default()
                ),
            ));
        }
        if let Some(section) = article.get("section_id")
            && section
                .as_u64()
                .and_then(|id| st.get(K::KbSections, id))
                .is_none()
        {
            return Some(invalid("section_id", "InvalidValue", "Section: is invalid"));
        }
        if let Some(author) = article.get("author_id").filter(|a| !a.is_null())
            && author
                .as_u64()
                .and_then(|id| st.get(K::Users, id))
                .is_none()
        {
            return Some(invalid("author_id", "InvalidValue", "Author: is invalid"));
        }
        if let Some(labels) = article.get("label_names")
            && !labels
                .as_array()
                .is_some_and(|l| l.iter().all(Value::is_string))
        {
            return Some(invalid(
                "label_names",
                "InvalidValue",
                "Label names: must be a list of names",
            ));
        }
        None
    }

    /// The id of an existing article.
    fn article_id(&self, st: &State, id: &str) -> Option<u64> {
        id.parse::<u64>()
            .ok()
            .filter(|id| st.get(K::KbArticles, *id).is_some())
    }

    /// Every translation of an article: its source locale's (from the article itself,
    /// with the article's id) first, then the others.
    fn article_translations(&self, st: &State, article: u64) -> Vec<Value> {
        let Some(a) = st.get(K::KbArticles, article) else {
            return Vec::new();
        };
        let source = json!({
            "locale": a["source_locale"], "title": a["title"], "body": a["body"],
            "draft": a["draft"], "created_at": a["created_at"], "updated_at": a["updated_at"],
            "created_by_id": a["author_id"], "updated_by_id": a["author_id"],
        });
        let mut all = vec![st.ctx().kb_translation(article, article, &source)];
        all.extend(st.translations.get(&article).cloned().unwrap_or_default());
        all
    }

    /// `POST /help_center/articles/{id}/translations`: title and locale required, the
    /// locale enabled and not yet translated.
    fn create_translation(&self, st: &mut State, article: u64, body: &Value) -> Response {
        if let Some(e) = required_missing(body, &["locale", "title"]) {
            return e;
        }
        let locale = body["locale"].as_str().unwrap_or_default().to_string();
        if !HC_LOCALES.iter().any(|l| same_locale(&body["locale"], l)) {
            return invalid(
                "locale",
                "InvalidValue",
                &format!("Locale: {locale} is not enabled in this Help Center"),
            );
        }
        if self
            .article_translations(st, article)
            .iter()
            .any(|t| same_locale(&t["locale"], &locale))
        {
            return invalid(
                "locale",
                "DuplicateValue",
                &format!("Locale: the article already has a {locale} translation"),
            );
        }
        st.next_translation += 1;
        let id = st.next_translation;
        let at = zts_unix(now());
        let fields = json!({
            "locale": locale, "title": body["title"],
            "body": body.get("body").cloned().unwrap_or(json!("")),
            "draft": body.get("draft").cloned().unwrap_or(json!(false)),
            "created_at": at, "updated_at": at,
        });
        let value = st.ctx().kb_translation(id, article, &fields);
        st.translations
            .entry(article)
            .or_default()
            .push(value.clone());
        created(
            value["url"].as_str().unwrap_or_default().to_string(),
            "translation",
            value,
        )
    }

    /// `PUT /help_center/articles/{id}/translations/{locale}`: title, body and draft; the
    /// source locale's translation is the article's own title and body.
    fn update_translation(
        &self,
        st: &mut State,
        article: u64,
        locale: &str,
        body: &Value,
    ) -> Response {
        let Some(mut a) = st.get(K::KbArticles, article) else {
            return not_found();
        };
        if let Some(title) = body.get("title")
            && title.as_str().is_none_or(|t| t.trim().is_empty())
        {
            return invalid("title", "BlankValue", "Title: cannot be blank");
        }
        let at = zts_unix(now());
        if same_locale(&a["source_locale"], locale) {
            for key in ["title", "body", "draft"] {
                if let Some(v) = body.get(key) {
                    a[key] = v.clone();
                }
            }
            a["name"] = a["title"].clone();
            a["updated_at"] = at.clone();
            a["edited_at"] = at;
            st.col_mut(K::KbArticles).put(article, a, now());
            return match self.article_translations(st, article).into_iter().next() {
                Some(t) => one("translation", t),
                None => not_found(),
            };
        }
        let Some(t) = st
            .translations
            .get_mut(&article)
            .and_then(|list| list.iter_mut().find(|t| same_locale(&t["locale"], locale)))
        else {
            return not_found();
        };
        for key in ["title", "body", "draft"] {
            if let Some(v) = body.get(key) {
                t[key] = v.clone();
            }
        }
        t["updated_at"] = at;
        one("translation", t.clone())
    }

    /// `DELETE /help_center/translations/{id}`; an article's source translation stays.
    fn delete_translation(&self, st: &mut State, id: &str) -> Response {
        let Some(id) = id.parse::<u64>().ok() else {
            return not_found();
        };
        for list in st.translations.values_mut() {
            if let Some(at) = list.iter().position(|t| t["id"].as_u64() == Some(id)) {
                list.remove(at);
                return Response::empty(204);
            }
        }
        if st.get(K::KbArticles, id).is_some() {
            return invalid(
                "locale",
                "InvalidValue",
                "Translation: the source locale's translation cannot be deleted",
            );
        }
        not_found()
    }

    /// `POST /help_center/articles/{id}/attachments`: a multipart form with a `file` part
    /// and an optional `inline` part; at most 20 MB per file.
    fn create_kb_attachment(&self, st: &mut State, request: &Request, article: u64) -> Response {
        let content_type = request.header("content-type").unwrap_or_default();
        if !content_type
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
        {
            return invalid("file", "BlankValue", "File: cannot be blank");
        }
        let Some(parts) = switchover_sandbox::multipart::parse(content_type, &request.body) else {
            return bad_request("InvalidValue", "malformed multipart body");
        };
        let Some(file) = parts
            .iter()
            .find(|p| p.name == "file" && p.file_name.is_some())
        else {
            return invalid("file", "BlankValue", "File: cannot be blank");
        };
        if file.data.len() > MAX_KB_ATTACHMENT {
            return invalid(
                "file",
                "InvalidValue",
                "File: is larger than the 20 MB an article attachment may have",
            );
        }
        let inline = parts
            .iter()
            .find(|p| p.name == "inline")
            .is_some_and(|p| p.data.eq_ignore_ascii_case(b"true"));
        st.next_kb_attachment += 1;
        let id = st.next_kb_attachment;
        let meta = st.ctx().kb_attachment(
            id,
            article,
            file.file_name.as_deref().unwrap_or_default(),
            file.content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
            file.data.len() as u64,
            inline,
            now(),
        );
        st.kb_attachments.insert(
            id,
            Blob {
                meta: meta.clone(),
                bytes: std::sync::Arc::new(file.data.clone()),
            },
        );
        created(
            meta["url"].as_str().unwrap_or_default().to_string(),
            "article_attachment",
            meta,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn hc_create(
        &self,
        st: &mut State,
        kind: K,
        key: &str,
        body: &Value,
        required: &[&str],
        template: impl Fn(&State, u64) -> Value,
        fixed: &[(&str, u64)],
    ) -> Response {
        if let Some(e) = required_missing(body, required) {
            return e;
        }
        let id = st.col_mut(kind).fresh_id();
        let mut value = template(st, id);
        merge_known(&mut value, body, READ_ONLY);
        if kind == K::KbArticles {
            value["name"] = value["title"].clone();
            value["source_locale"] = value["locale"].clone();
            value["edited_at"] = zts_unix(now());
        }
        for (field, v) in fixed {
            value[*field] = json!(v);
        }
        value["created_at"] = zts_unix(now());
        value["updated_at"] = zts_unix(now());
        st.col_mut(kind).put(id, value.clone(), now());
        created(
            value["url"].as_str().unwrap_or_default().to_string(),
            key,
            value,
        )
    }

    fn update_simple(
        &self,
        st: &mut State,
        kind: K,
        key: &str,
        id: &str,
        body: &Value,
    ) -> Response {
        let Some(id) = id.parse::<u64>().ok() else {
            return not_found();
        };
        let Some(mut value) = st.get(kind, id) else {
            return not_found();
        };
        merge_known(&mut value, body, READ_ONLY);
        value["updated_at"] = zts_unix(now());
        st.col_mut(kind).put(id, value.clone(), now());
        one(key, value)
    }

    fn simple(
        &self,
        st: &mut State,
        request: &Request,
        admin: bool,
        segments: &[&str],
        body: &Value,
    ) -> Response {
        let path = segments.join("/");
        let Some((resource, rest)) = SIMPLE.iter().find_map(|r| {
            let rest = path.strip_prefix(r.path)?;
            if rest.is_empty() {
                Some((r, None))
            } else {
                rest.strip_prefix('/')
                    .filter(|x| !x.contains('/'))
                    .map(|id| (r, Some(id.to_string())))
            }
        }) else {
            return not_found();
        };
        let is_webhook = resource.kind == K::Webhooks;
        let id = rest.as_deref().and_then(|id| {
            if is_webhook {
                webhook_number(id)
            } else {
                id.parse::<u64>().ok()
            }
        });
        let method = request.method.as_str();
        if method != "GET" && resource.admin_writes && !admin {
            return forbidden();
        }
        match (method, rest.as_deref(), id) {
            ("GET", None, _) => {
                if is_webhook {
                    return self.list_webhooks(st, request);
                }
                self.list(
                    st,
                    request,
                    resource.kind,
                    resource.plural,
                    &|_| true,
                    &|_| true,
                )
            }
            ("GET", Some("active"), _) => self.list(
                st,
                request,
                resource.kind,
                resource.plural,
                &|_| true,
                &|v: &Value| v["active"] == json!(true),
            ),
            ("GET", Some(_), Some(id)) => st
                .get(resource.kind, id)
                .map(|v| one(resource.singular, v))
                .unwrap_or_else(not_found),
            ("POST", None, _) => self.create_simple(st, resource, &body[resource.singular]),
            ("PUT" | "PATCH", Some(_), Some(id)) => {
                let Some(mut value) = st.get(resource.kind, id) else {
                    return not_found();
                };
                let mut patch = body[resource.singular].clone();
                strip_secrets(&mut patch);
                if resource.kind == K::Views {
                    apply_view_output(&mut patch);
                    if patch.get("all").is_some() || patch.get("any").is_some() {
                        patch["conditions"] = json!({"all": patch.get("all").cloned().unwrap_or(json!([])), "any": patch.get("any").cloned().unwrap_or(json!([]))});
                    }
                }
                merge_known(&mut value, &patch, READ_ONLY);
                value["updated_at"] = zts_unix(now());
                st.col_mut(resource.kind).put(id, value.clone(), now());
                if is_webhook {
                    Response::empty(204)
                } else {
                    one(resource.singular, value)
                }
            }
            ("DELETE", Some(_), Some(id)) => {
                if st.get(resource.kind, id).is_none() {
                    return not_found();
                }
                st.col_mut(resource.kind).delete(id, now());
                Response::empty(204)
            }
            _ => not_found(),
        }
    }

    fn list_webhooks(&self, st: &State, request: &Request) -> Response {
        // Webhooks: cursor only; meta has has_more plus cursors that apply, links only those that exist.
        let size = match request.query("page[size]").map(|s| s.parse::<usize>()) {
            None => MAX_PAGE,
            Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return bad_request(
                    "InvalidPaginationParameter",
                    "page[size] must be between 1 and 100",
                );
            }
        };
        let after = request.query("page[after]").and_then(decode_cursor);
        let filter = request
            .query("filter[name_contains]")
            .map(str::to_lowercase);
        let col = st.col(K::Webhooks);
        let mut items = Vec::new();
        for id in col.ids_after(after) {
            let Some(v) = st.get(K::Webhooks, id) else {
                continue;
            };
            if filter.as_ref().is_some_and(|f| {
                !v["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains(f)
            }) {
                continue;
            }
            items.push((id, v));
            if items.len() > size {
                break;
            }
        }
        let has_more = items.len() > size;
        items.truncate(size);
        let mut meta = json!({"has_more": has_more});
        let mut links = json!({});
        if has_more && let Some((id, _)) = items.last() {
            let cursor = encode_cursor(*id);
            links["next"] = json!(format!(
                "{}/api/v2/webhooks?page[after]={}&page[size]={size}",
                st.base_url,
                percent_encode(&cursor)
            ));
            meta["after_cursor"] = json!(cursor);
        }
        let values: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
        Response::json(
            200,
            &json!({"webhooks": values, "meta": meta, "links": links}),
        )
    }

    fn create_simple(&self, st: &mut State, resource: &Simple, body: &Value) -> Response {
        if !body.is_object() {
            return invalid(
                "base",
                "InvalidValue",
                &format!("{}: is missing", capitalize(resource.singular)),
            );
        }
        let mut body = body.clone();
        if resource.kind == K::Views {
            apply_view_output(&mut body);
            if body.get("conditions").is_none()
                && (body.get("all").is_some() || body.get("any").is_some())
            {
                body["conditions"] = json!({"all": body.get("all").cloned().unwrap_or(json!([])), "any": body.get("any").cloned().unwrap_or(json!([]))});
            }
            if body["conditions"]["all"]
                .as_array()
                .is_none_or(|a| a.is_empty())
            {
                return invalid(
                    "conditions",
                    "InvalidValue",
                    "Conditions: a view needs at least one 'all' condition",
                );
            }
        }
        if let Some(e) = required_missing(&body, resource.required) {
            return e;
        }
        if resource.kind == K::Automations {
            let timed = [
                "NEW",
                "OPEN",
                "PENDING",
                "HOLD",
                "SOLVED",
                "CLOSED",
                "ASSIGNED_AT",
                "UPDATE",
                "REQUESTER_UPDATE_AT",
                "ASSIGNEE_UPDATED_AT",
                "DUE_DATE",
                // The conditions reference spells the "hours since" fields other than
                // the statuses in lower case.
                "assigned_at",
                "updated_at",
                "requester_updated_at",
                "assignee_updated_at",
                "due_date",
                "until_due_date",
            ];
            let has_time = ["all", "any"]
                .iter()
                .flat_map(|k| {
                    body["conditions"][k]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .any(|c| c["field"].as_str().is_some_and(|f| timed.contains(&f)));
            if !has_time {
                return invalid(
                    "base",
                    "InvalidValue",
                    "Automations must have a time based condition",
                );
            }
        }
        if resource.kind == K::Memberships {
            let user = body["user_id"].as_u64().and_then(|id| st.get(K::Users, id));
            if !user
                .as_ref()
                .is_some_and(|u| u["role"] != json!("end-user"))
            {
                return invalid("user_id", "InvalidValue", "User: must be an agent");
            }
            if body["group_id"]
                .as_u64()
                .and_then(|id| st.get(K::Groups, id))
                .is_none()
            {
                return invalid("group_id", "InvalidValue", "Group: is invalid");
            }
        }
        if matches!(resource.kind, K::UserFields | K::OrgFields) {
            let key = body["key"].as_str().unwrap_or_default().to_string();
            let col = st.col(resource.kind);
            if col.ids_after(None).any(|id| {
                st.get(resource.kind, id)
                    .is_some_and(|f| f["key"].as_str() == Some(&key))
            }) {
                return invalid(
                    "key",
                    "DuplicateValue",
                    &format!("Key: {key} has already been taken"),
                );
            }
        }
        strip_secrets(&mut body);
        let id = st.col_mut(resource.kind).fresh_id();
        let ctx = st.ctx();
        let mut value = match resource.kind {
            K::Groups => ctx.group(id, &Group::default()),
            K::Memberships => {
                let mut v = ctx.membership(
                    id,
                    &GroupMembership {
                        user: Ref::new("agent-0"),
                        group: Ref::new("group-0"),
                        ..Default::default()
                    },
                );
                v["default"] = json!(false);
                v
            }
            K::TicketFields | K::UserFields | K::OrgFields => {
                let object = match resource.kind {
                    K::UserFields => FieldObject::User,
                    K::OrgFields => FieldObject::Organization,
                    _ => FieldObject::Ticket,
                };
                let mut v = ctx.custom_field(
                    resource.plural,
                    id,
                    &FieldDefinition {
                        object,
                        field_type: FieldType::Text,
                        key: String::new(),
                        active: true,
                        ..Default::default()
                    },
                );
                v["custom_field_options"] = json!([]);
                v["position"] = json!(9999);
                v
            }
            K::Macros => ctx.macro_(
                id,
                &Macro {
                    active: true,
                    ..Default::default()
                },
            ),
            K::Triggers => ctx.rule(
                "triggers",
                id,
                &Rule {
                    active: true,
                    ..Default::default()
                },
            ),
            K::Automations => ctx.rule(
                "automations",
                id,
                &Rule {
                    active: true,
                    rule_kind: RuleKind::Automation,
                    ..Default::default()
                },
            ),
            K::Views => ctx.view(
                id,
                &View {
                    active: true,
                    ..Default::default()
                },
            ),
            K::Slas => ctx.sla_policy(id, &SlaPolicy::default()),
            K::Webhooks => {
                let mut v = ctx.webhook(
                    &webhook_id(id),
                    &Webhook {
                        active: true,
                        ..Default::default()
                    },
                );
                v["authentication"] = Value::Null;
                v
            }
            _ => json!({"id": id}),
        };
        merge_known(&mut value, &body, READ_ONLY);
        if let Some(title) = body
            .get("title")
            .filter(|_| value.get("raw_title").is_some())
        {
            value["raw_title"] = title.clone();
        }
        if matches!(
            resource.kind,
            K::TicketFields | K::UserFields | K::OrgFields
        ) {
            value["removable"] = json!(true);
            if resource.kind == K::TicketFields {
                value["key"] = Value::Null;
            }
        }
        let at = now();
        value["created_at"] = zts_unix(at);
        value["updated_at"] = zts_unix(at);
        if is_webhook(resource) {
            // Fractional seconds on webhook create, as recorded.
            value["created_at"] = json!(
                chrono::Utc::now()
                    .format("%Y-%m-%dT%H:%M:%S%.9fZ")
                    .to_string()
            );
        }
        st.col_mut(resource.kind).put(id, value.clone(), at);
        let location = value["url"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/api/v2/{}/{}", st.base_url, resource.path, value["id"]));
        created(location, resource.singular, value)
    }
}

/// Audit metadata a ticket create/update carries (`ticket.metadata`), kept as the audit's
/// and its comment's `metadata.custom`, as Zendesk does.
fn audit_custom(ticket: &Value) -> Value {
    ticket
        .get("metadata")
        .filter(|m| m.is_object())
        .cloned()
        .unwrap_or(json!({}))
}

/// A view write's `output` (columns, grouping, sorting) becomes the view's `execution`.
fn apply_view_output(body: &mut Value) {
    let Some(output) = body.get("output").filter(|o| o.is_object()).cloned() else {
        return;
    };
    let columns: Vec<Value> = output["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let id = c
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| c.to_string());
            json!({"id": id, "title": id})
        })
        .collect();
    let order = output["sort_order"].as_str().unwrap_or("desc").to_string();
    let sort_by = output.get("sort_by").cloned().unwrap_or(Value::Null);
    let group_by = output.get("group_by").cloned().unwrap_or(Value::Null);
    body["execution"] = json!({
        "group_by": group_by, "group_order": output["group_order"].as_str().unwrap_or("asc"),
        "sort_by": sort_by, "sort_order": order,
        "group": if group_by.is_null() { Value::Null } else { json!({"id": group_by, "title": group_by, "order": output["group_order"].as_str().unwrap_or("asc")}) },
        "sort": {"id": sort_by, "title": sort_by, "order": order},
        "columns": columns.clone(), "fields": columns, "custom_fields": [],
    });
}

fn is_webhook(resource: &Simple) -> bool {
    resource.kind == K::Webhooks
}

/// Webhook secrets are never stored nor echoed.
fn strip_secrets(body: &mut Value) {
    if let Some(data) = body
        .get_mut("authentication")
        .and_then(|a| a.get_mut("data"))
        .and_then(Value::as_object_mut)
    {
        data.retain(|k, _| k == "username" || k == "name");
    }
}

/// Whether a JSON locale names `locale` (Help Center locales compare case-insensitively).
fn same_locale(value: &Value, locale: &str) -> bool {
    value
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case(locale))
}

fn hc_kind(resource: &str) -> (K, &'static str) {
    match resource {
        "categories" => (K::KbCategories, "category"),
        "sections" => (K::KbSections, "section"),
        _ => (K::KbArticles, "article"),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn encode_export_cursor((ts, id): (i64, u64)) -> String {
    auth::b64(format!("{ts}.0||{id}|").as_bytes())
}

fn decode_export_cursor(cursor: &str) -> Option<(i64, u64)> {
    let text = String::from_utf8(auth::unb64(cursor)?).ok()?;
    let (ts, rest) = text.split_once(".0||")?;
    Some((ts.parse().ok()?, rest.trim_end_matches('|').parse().ok()?))
}

/// The terms of a search query: whitespace separates them, except inside double quotes
/// (`name:"Acme Widgets Ltd"` is one term), as Zendesk's search reads phrases.
fn search_tokens(query: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}
