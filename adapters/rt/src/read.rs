//! Reading RT records into the canonical model, finding them by source marker, opening
//! attachment bytes, deleting tickets.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use switchover_adapter::{AdapterError, Cursor, PageRequest};
use switchover_model::*;

use crate::api::reader;
use crate::{
    FieldInfo, MARKER, MARKER_FIELD, NAME, ORIGINAL_CREATED_FIELD, ORIGINAL_CREATOR_FIELD, Rt,
    USER_MARKER_PREFIX, UserInfo, segment, text, time,
};

/// The pattern a number field is stored with (RT has no number type).
pub(crate) const NUMBER_PATTERN: &str = "^-?[0-9]+(\\.[0-9]+)?$";
/// RT's marker for a mandatory field, at the start of its pattern.
pub(crate) const MANDATORY: &str = "(?#Mandatory)";
/// The line RT users' Comments carry when the source user was deleted.
pub(crate) const DELETED_NOTE: &str = "[Switchover] deleted in the source helpdesk";
/// The line of a migrated user's Comments that keeps its original creation time, where
/// RT dropped the `Created` of the create.
pub(crate) const CREATED_PREFIX: &str = "[Switchover] created in the source helpdesk at ";
/// The first line of a migrated comment that keeps its original author and time.
pub(crate) const ORIGIN_PREFIX: &str = "[Switchover] originally by ";
/// A line recording an empty attachment REST 2.0 would not take.
pub(crate) const EMPTY_PREFIX: &str = "[Switchover] empty attachment ";
/// The subject of a migrated comment, before its source id. No `[`: REST 2.0 takes any
/// query containing one for a JSON query.
pub(crate) const COMMENT_MARKER_PREFIX: &str = "Switchover-Source-Id: ";
/// Where the bytes of an empty attachment "are".
pub(crate) const EMPTY_LOCATION: &str = "rt:empty";

type Records = Vec<(Option<String>, Record)>;

fn items(value: &Value) -> Vec<Value> {
    value
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn page_of(request: &PageRequest) -> Result<u64, AdapterError> {
    match &request.cursor {
        None => Ok(1),
        Some(Cursor(c)) => c
            .strip_prefix("page:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                AdapterError::fatal(NAME, format!("cursor '{c}' is not an RT page cursor"))
            }),
    }
}

fn after_of(request: &PageRequest) -> Result<u64, AdapterError> {
    match &request.cursor {
        None => Ok(0),
        Some(Cursor(c)) => c
            .strip_prefix("after:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                AdapterError::fatal(NAME, format!("cursor '{c}' is not an RT id cursor"))
            }),
    }
}

fn per_page(request: &PageRequest) -> usize {
    request.page_size.unwrap_or(50).clamp(1, 100)
}

fn next_page(value: &Value, page: u64) -> Option<Cursor> {
    let pages = value.get("pages").and_then(Value::as_f64).unwrap_or(0.0);
    ((page as f64) < pages).then(|| Cursor(format!("page:{}", page + 1)))
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub(crate) fn status_from_rt(status: &str) -> TicketStatus {
    match status {
        "new" => TicketStatus::New,
        "stalled" => TicketStatus::Pending,
        "resolved" => TicketStatus::Solved,
        "rejected" | "deleted" => TicketStatus::Closed,
        _ => TicketStatus::Open,
    }
}

fn priority_from_rt(priority: i64) -> Option<Priority> {
    match priority {
        i64::MIN..=0 => None,
        1..=25 => Some(Priority::Low),
        26..=50 => Some(Priority::Normal),
        51..=75 => Some(Priority::High),
        _ => Some(Priority::Urgent),
    }
}

pub(crate) fn hex_sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content type as the part's own header has it (parameters included), else RT's.
fn content_type(part: &Value) -> String {
    let headers = text(part, "Headers");
    for line in headers.lines() {
        if let Some(value) = line.strip_prefix("Content-Type:") {
            let mut params = value.split(';').map(str::trim);
            let main = params.next().unwrap_or_default().to_string();
            let rest: Vec<String> = params
                .filter(|p| !p.is_empty() && !p.starts_with("name="))
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => format!("{}={}", k.trim(), v.trim().trim_matches('"')),
                    None => p.to_string(),
                })
                .collect();
            return if rest.is_empty() {
                main
            } else {
                format!("{main}; {}", rest.join("; "))
            };
        }
    }
    text(part, "ContentType")
}

/// The parsed first lines of a migrated comment.
#[derive(Default)]
struct Origin {
    author: Option<String>,
    at: Option<Timestamp>,
    empties: Vec<(usize, Attachment)>,
}

/// Strips and parses the `[Switchover] …` lines at the start of a body.
fn strip_origin(body: &str, html: bool) -> (String, Origin) {
    let mut origin = Origin::default();
    let mut rest = body;
    loop {
        let (line, after) = match rest.split_once('\n') {
            Some((line, after)) => (line, after),
            None => (rest, ""),
        };
        let inner = if html {
            line.strip_prefix("<p>")
                .and_then(|l| l.strip_suffix("</p>"))
                .unwrap_or(line)
        } else {
            line
        };
        let inner = switchover_adapter::html::unescape(inner);
        if let Some(o) = inner.strip_prefix(crate::read::ORIGIN_PREFIX) {
            if let Some((who, at)) = o.rsplit_once(" at ") {
                origin.at = at.trim().parse().ok();
                origin.author = who
                    .rsplit_once("(user ")
                    .and_then(|(_, id)| id.strip_suffix(')'))
                    .map(str::to_string);
            }
        } else if let Some(e) = inner.strip_prefix(EMPTY_PREFIX) {
            // "<index> <content type>: <file name>"
            if let Some((head, name)) = e.split_once(": ") {
                let (index, ctype) = head.split_once(' ').unwrap_or((head, ""));
                origin.empties.push((
                    index.parse().unwrap_or(usize::MAX),
                    Attachment {
                        id: format!("empty:{index}"),
                        file_name: name.to_string(),
                        content_type: ctype.to_string(),
                        size: 0,
                        sha256: Some(hex_sha(b"")),
                        location: Some(EMPTY_LOCATION.into()),
                        ..Default::default()
                    },
                ));
            }
        } else {
            break;
        }
        rest = after;
    }
    let body = if rest.len() == body.len() {
        body
    } else {
        rest.strip_prefix('\n').unwrap_or(rest)
    };
    (body.to_string(), origin)
}

impl Rt {
    pub(crate) fn read_kind(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        match kind {
            Kind::User => self.read_users(request),
            Kind::Group => self.read_queues(request),
            Kind::FieldDefinition => self.read_fields(request),
            Kind::Ticket => self.read_tickets(request),
            Kind::Comment => self.read_comments(request),
            other => Err(AdapterError::unsupported(NAME, other, "read")),
        }
    }

    // ---- users ----

    fn user_record(&self, full: &Value) -> (Option<String>, Record) {
        let name = text(full, "Name");
        let real = text(full, "RealName");
        let comments = text(full, "Comments");
        let disabled = text(full, "Disabled") == "1";
        let phone = ["WorkPhone", "MobilePhone", "HomePhone"]
            .iter()
            .map(|k| text(full, k))
            .find(|p| !p.is_empty());
        let organization = text(full, "Organization");
        let marker = organization
            .strip_prefix(USER_MARKER_PREFIX)
            .map(str::to_string);
        let nonempty = |s: String| (!s.is_empty()).then_some(s);
        let mut extra = Extra::new();
        extra.insert("rt_name".into(), json!(name));
        let user = User {
            id: text(full, "id"),
            name: if real.is_empty() { name.clone() } else { real },
            email: nonempty(text(full, "EmailAddress")),
            phone,
            role: if text(full, "Privileged") == "1" {
                UserRole::Agent
            } else {
                UserRole::EndUser
            },
            state: match (disabled, comments.contains(crate::read::DELETED_NOTE)) {
                (false, _) => UserState::Active,
                (true, true) => UserState::Deleted,
                (true, false) => UserState::Suspended,
            },
            locale: nonempty(text(full, "Lang")),
            time_zone: nonempty(text(full, "Timezone")),
            created_at: comments
                .lines()
                .find_map(|l| l.strip_prefix(CREATED_PREFIX))
                .and_then(|at| at.trim().parse().ok())
                .or_else(|| time(full, "Created")),
            updated_at: time(full, "LastUpdated"),
            extra,
            ..Default::default()
        };
        (marker, user.into_record())
    }

    fn read_users(&self, request: &PageRequest) -> Result<(Records, Option<Cursor>), AdapterError> {
        let page = page_of(request)?;
        let list = self.api.get_query(
            "users",
            &[
                ("page", page.to_string()),
                ("per_page", per_page(request).to_string()),
                ("orderby", "id".into()),
                ("order", "ASC".into()),
                ("find_disabled_rows", "1".into()),
            ],
        )?;
        let mut records = Vec::new();
        for item in items(&list) {
            let name = text(&item, "id");
            if name == "Nobody" || name == "RT_System" {
                continue;
            }
            let full = self.api.get(&format!("user/{}", segment(&name)))?;
            self.remember_user(&full);
            records.push(self.user_record(&full));
        }
        Ok((records, next_page(&list, page)))
    }

    pub(crate) fn remember_user(&self, full: &Value) -> UserInfo {
        let info = UserInfo {
            id: text(full, "id"),
            name: text(full, "Name"),
            real_name: text(full, "RealName"),
            email: text(full, "EmailAddress"),
        };
        let mut cache = self.cache.lock();
        cache.users_by_name.insert(info.name.clone(), info.clone());
        cache.users_by_id.insert(info.id.clone(), info.clone());
        info
    }

    /// A user by RT Name or numeric id.
    pub(crate) fn user(&self, key: &str) -> Result<UserInfo, AdapterError> {
        {
            let cache = self.cache.lock();
            if let Some(u) = cache
                .users_by_name
                .get(key)
                .or_else(|| cache.users_by_id.get(key))
            {
                return Ok(u.clone());
            }
        }
        let full = self.api.get(&format!("user/{}", segment(key)))?;
        Ok(self.remember_user(&full))
    }

    fn user_ref(&self, value: &Value, key: &str) -> Result<Option<Ref<User>>, AdapterError> {
        let name = text(value, key);
        if name.is_empty() || name == "Nobody" {
            return Ok(None);
        }
        Ok(Some(Ref::new(self.user(&name)?.id)))
    }

    // ---- queues ----

    fn read_queues(
        &self,
        request: &PageRequest,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        let page = page_of(request)?;
        let list = self.api.get_query(
            "queues/all",
            &[
                ("page", page.to_string()),
                ("per_page", per_page(request).to_string()),
                ("orderby", "id".into()),
                ("order", "ASC".into()),
                (
                    "fields",
                    "Name,Description,Disabled,Created,LastUpdated".into(),
                ),
            ],
        )?;
        let mut records = Vec::new();
        for item in items(&list) {
            let name = text(&item, "Name");
            if name.starts_with("___") {
                continue; // RT's internal approvals queue
            }
            let (description, marker) = MARKER.split_opt(Some(&text(&item, "Description")));
            let mut extra = Extra::new();
            if text(&item, "Disabled") == "1" {
                extra.insert("rt_disabled".into(), json!(true));
            }
            let group = Group {
                id: text(&item, "id"),
                name,
                description,
                created_at: time(&item, "Created"),
                updated_at: time(&item, "LastUpdated"),
                extra,
            };
            records.push((marker, group.into_record()));
        }
        Ok((records, next_page(&list, page)))
    }

    // ---- custom fields ----

    /// Option values of a select field, in order, with their labels.
    fn field_options(&self, id: &str) -> Result<Vec<FieldOption>, AdapterError> {
        let list = self.api.get_query(
            &format!("customfield/{id}/values"),
            &[("per_page", "100".into())],
        )?;
        let mut options = Vec::new();
        for item in items(&list) {
            let value_id = text(&item, "id");
            let full = self
                .api
                .get(&format!("customfield/{id}/value/{value_id}"))?;
            let value = text(&full, "Name");
            let label = text(&full, "Description");
            let order: i64 = text(&full, "SortOrder").parse().unwrap_or(0);
            options.push((
                order,
                value_id.parse::<u64>().unwrap_or(0),
                FieldOption {
                    label: if label.is_empty() {
                        value.clone()
                    } else {
                        label
                    },
                    value,
                },
            ));
        }
        options.sort_by_key(|(order, id, _)| (*order, *id));
        Ok(options.into_iter().map(|(_, _, o)| o).collect())
    }

    /// Turns an RT custom field into a field definition; `None` for kinds not migrated.
    fn field_record(
        &self,
        cf: &Value,
    ) -> Result<Option<(Option<String>, FieldDefinition)>, AdapterError> {
        let id = text(cf, "id");
        let name = text(cf, "Name");
        let object = match text(cf, "LookupType").as_str() {
            "RT::Queue-RT::Ticket" => FieldObject::Ticket,
            "RT::User" => FieldObject::User,
            "RT::Group" => FieldObject::Organization,
            _ => return Ok(None),
        };
        if [MARKER_FIELD, ORIGINAL_CREATED_FIELD, ORIGINAL_CREATOR_FIELD].contains(&name.as_str()) {
            return Ok(None);
        }
        let rt_type = text(cf, "Type");
        let single = text(cf, "MaxValues") == "1";
        let mut pattern = text(cf, "Pattern");
        let required = pattern.starts_with(MANDATORY);
        if required {
            pattern = pattern[MANDATORY.len()..].to_string();
            if pattern == "." {
                pattern.clear();
            }
        }
        let mut options = Vec::new();
        let field_type = match rt_type.as_str() {
            "Freeform" if pattern == NUMBER_PATTERN => {
                pattern.clear();
                FieldType::Number
            }
            "Freeform" if !pattern.is_empty() => FieldType::Regex,
            "Freeform" => FieldType::Text,
            "Text" | "WikiText" => FieldType::Textarea,
            "Date" | "DateTime" => FieldType::Date,
            "Select" | "Combobox" | "Autocomplete" => {
                options = self.field_options(&id)?;
                let values: BTreeSet<&str> = options.iter().map(|o| o.value.as_str()).collect();
                if single && values == BTreeSet::from(["true", "false"]) {
                    options.clear();
                    FieldType::Checkbox
                } else if single {
                    FieldType::Dropdown
                } else {
                    FieldType::MultiSelect
                }
            }
            _ => FieldType::Text,
        };
        let (title, marker) = MARKER.split_opt(Some(&text(cf, "Description")));
        let position: i64 = text(cf, "SortOrder").parse().unwrap_or(0);
        self.cache
            .lock()
            .fields
            .insert(id.clone(), FieldInfo { field_type });
        Ok(Some((
            marker,
            FieldDefinition {
                id,
                object,
                key: name.clone(),
                title: title.unwrap_or(name),
                field_type,
                options,
                pattern: (!pattern.is_empty()).then_some(pattern),
                required,
                active: text(cf, "Disabled") != "1",
                position: (position != 0).then_some(position),
                extra: Extra::new(),
            },
        )))
    }

    const CF_FIELDS: &'static str =
        "Name,Description,Type,MaxValues,LookupType,Pattern,Disabled,SortOrder";

    fn read_fields(
        &self,
        request: &PageRequest,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        let page = page_of(request)?;
        let list = self.api.search_json(
            "customfields",
            &[
                ("page", page.to_string()),
                ("per_page", per_page(request).to_string()),
                ("orderby", "id".into()),
                ("order", "ASC".into()),
                ("fields", Self::CF_FIELDS.into()),
                ("find_disabled_rows", "1".into()),
            ],
            &json!([{"field": "id", "operator": ">", "value": "0"}]),
        )?;
        let mut records = Vec::new();
        for item in items(&list) {
            if let Some((marker, field)) = self.field_record(&item)? {
                records.push((marker, field.into_record()));
            }
        }
        Ok((records, next_page(&list, page)))
    }

    /// What a custom field is, by id (cached).
    pub(crate) fn field_info(&self, id: &str) -> Result<Option<FieldInfo>, AdapterError> {
        if let Some(info) = self.cache.lock().fields.get(id) {
            return Ok(Some(info.clone()));
        }
        let cf = self.api.get(&format!("customfield/{id}"))?;
        self.field_record(&cf)?;
        Ok(self.cache.lock().fields.get(id).cloned())
    }

    // ---- tickets ----

    /// How many tickets reading would return: those not deleted.
    pub(crate) fn count_tickets(&self) -> Result<u64, AdapterError> {
        let list = self.api.get_query(
            "tickets",
            &[
                ("query", "id > 0 AND Status != 'deleted'".into()),
                ("per_page", "1".into()),
                ("fields", "id".into()),
            ],
        )?;
        list.get("total").and_then(Value::as_u64).ok_or_else(|| {
            AdapterError::fatal(
                NAME,
                "RT answered a ticket search without a total; is this RT 5's REST 2.0?",
            )
        })
    }

    fn ticket_query(after: u64, request: &PageRequest) -> String {
        let mut query = format!("id > {after}");
        if let Some(since) = &request.changed_since {
            query.push_str(&format!(" AND LastUpdated >= '{}'", crate::sql_time(since)));
        }
        query
    }

    fn read_tickets(
        &self,
        request: &PageRequest,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        let after = after_of(request)?;
        let per = per_page(request);
        let list = self.api.get_query(
            "tickets",
            &[
                ("query", Self::ticket_query(after, request)),
                ("orderby", "id".into()),
                ("order", "ASC".into()),
                ("per_page", per.to_string()),
                ("fields", "id".into()),
            ],
        )?;
        let found = items(&list);
        let mut records = Vec::new();
        let mut last = after;
        for item in &found {
            let id = text(item, "id");
            last = last.max(id.parse().unwrap_or(0));
            let full = self.api.get(&format!("ticket/{id}"))?;
            if text(&full, "Status") == "deleted" {
                continue;
            }
            records.push(self.ticket_record(&full)?);
        }
        let total = list.get("total").and_then(Value::as_u64).unwrap_or(0);
        let next = (total > found.len() as u64 && !found.is_empty())
            .then(|| Cursor(format!("after:{last}")));
        Ok((records, next))
    }

    pub(crate) fn ticket_record(
        &self,
        full: &Value,
    ) -> Result<(Option<String>, Record), AdapterError> {
        let mut marker = None;
        let mut original_created = None;
        let mut original_creator = None;
        let mut custom_fields = CustomFields::new();
        for cf in full
            .get("CustomFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let values: Vec<String> = cf
                .get("values")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if values.is_empty() {
                continue;
            }
            match text(&cf, "name").as_str() {
                MARKER_FIELD => {
                    marker = values.first().cloned();
                    continue;
                }
                ORIGINAL_CREATED_FIELD => {
                    original_created = values.first().and_then(|v| v.parse::<Timestamp>().ok());
                    continue;
                }
                ORIGINAL_CREATOR_FIELD => {
                    original_creator = values.first().cloned();
                    continue;
                }
                _ => {}
            }
            let id = text(&cf, "id");
            let Some(info) = self.field_info(&id)? else {
                continue;
            };
            let first = values.first().cloned().unwrap_or_default();
            let value = match info.field_type {
                FieldType::Number => match first.parse::<f64>() {
                    Ok(n) => FieldValue::Number(n),
                    Err(_) => FieldValue::Text(first),
                },
                FieldType::Date => FieldValue::Date(first.chars().take(10).collect()),
                FieldType::Checkbox => FieldValue::Checkbox(first == "true"),
                FieldType::Dropdown => FieldValue::Dropdown(first),
                FieldType::MultiSelect => FieldValue::MultiSelect(values.into_iter().collect()),
                FieldType::Text | FieldType::Textarea | FieldType::Regex => FieldValue::Text(first),
            };
            custom_fields.insert(Ref::new(id), value);
        }
        let mut links = BTreeSet::new();
        for link in full
            .get("_hyperlinks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let kind = match text(&link, "ref").as_str() {
                "depends-on" => LinkKind::DependsOn,
                "refers-to" => LinkKind::RefersTo,
                "parent" => LinkKind::Parent,
                _ => continue,
            };
            if text(&link, "type") != "ticket" {
                continue;
            }
            links.insert(TicketLink {
                kind,
                ticket: Ref::new(text(&link, "id")),
            });
        }
        let status = text(full, "Status");
        let mut extra = Extra::new();
        extra.insert("rt_status".into(), json!(status));
        let requester = match full
            .get("Requestor")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            Some(first) => {
                let name = text(first, "id");
                Some(Ref::new(self.user(&name)?.id))
            }
            None => None,
        };
        let ticket = Ticket {
            id: text(full, "id"),
            subject: text(full, "Subject"),
            status: status_from_rt(&status),
            priority: priority_from_rt(text(full, "Priority").parse().unwrap_or(0)),
            requester,
            submitter: match original_creator {
                Some(name) => Some(Ref::new(self.user(&name)?.id)),
                None => self.user_ref(full, "Creator")?,
            },
            assignee: self.user_ref(full, "Owner")?,
            group: Some(Ref::new(text(full, "Queue"))).filter(|g: &Ref<Group>| !g.id().is_empty()),
            custom_fields,
            links,
            created_at: original_created.or_else(|| time(full, "Created")),
            updated_at: time(full, "LastUpdated"),
            solved_at: time(full, "Resolved"),
            extra,
            ..Default::default()
        };
        Ok((marker, ticket.into_record()))
    }

    // ---- comments ----

    fn comment_query(after: u64, request: &PageRequest) -> String {
        let mut query = format!(
            "ObjectType = 'RT::Ticket' AND TicketStatus != 'deleted' AND ( Type = 'Create' OR Type = 'Correspond' OR Type = 'Comment' ) AND id > {after}"
        );
        if let Some(since) = &request.changed_since {
            query.push_str(&format!(" AND Created >= '{}'", crate::sql_time(since)));
        }
        query
    }

    fn read_comments(
        &self,
        request: &PageRequest,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        let after = after_of(request)?;
        let per = per_page(request);
        let list = self.api.get_query(
            "transactions",
            &[
                ("query", Self::comment_query(after, request)),
                ("orderby", "id".into()),
                ("order", "ASC".into()),
                ("per_page", per.to_string()),
                ("fields", "Type,Created,Creator,ObjectId".into()),
            ],
        )?;
        let found = items(&list);
        let mut records = Vec::new();
        let mut last = after;
        for item in &found {
            let id = text(item, "id");
            last = last.max(id.parse().unwrap_or(0));
            if let Some(record) = self.comment_record(item)? {
                records.push(record);
            }
        }
        let total = list.get("total").and_then(Value::as_u64).unwrap_or(0);
        let next = (total > found.len() as u64 && !found.is_empty())
            .then(|| Cursor(format!("after:{last}")));
        Ok((records, next))
    }

    /// A transaction as a comment; `None` for a Create without content.
    fn comment_record(
        &self,
        txn: &Value,
    ) -> Result<Option<(Option<String>, Record)>, AdapterError> {
        let id = text(txn, "id");
        let parts = self.api.get_query(
            &format!("transaction/{id}/attachments"),
            &[
                ("per_page", "100".into()),
                (
                    "fields",
                    "Subject,ContentType,Filename,ContentLength,Headers".into(),
                ),
            ],
        )?;
        let parts = items(&parts);
        let marker = parts.first().map(|p| text(p, "Subject")).and_then(|s| {
            s.strip_prefix(COMMENT_MARKER_PREFIX)
                .map(|m| m.trim().to_string())
        });
        let mut body: Option<(String, bool)> = None;
        let mut attachments = Vec::new();
        for part in &parts {
            let ctype = text(part, "ContentType");
            let file_name = text(part, "Filename");
            if ctype.starts_with("multipart/") {
                continue;
            }
            if file_name.is_empty() && ctype.starts_with("text/") && body.is_none() {
                let bytes = self.api.attachment_bytes(&text(part, "id"))?;
                body = Some((
                    String::from_utf8_lossy(&bytes).into_owned(),
                    ctype == "text/html",
                ));
                continue;
            }
            if file_name.is_empty() {
                continue;
            }
            let part_id = text(part, "id");
            let bytes = self.api.attachment_bytes(&part_id)?;
            attachments.push(Attachment {
                id: part_id.clone(),
                file_name,
                content_type: content_type(part),
                size: bytes.len() as u64,
                sha256: Some(hex_sha(&bytes)),
                inline: false,
                location: Some(format!("rt:attachment:{part_id}")),
                extra: Extra::new(),
            });
        }
        let kind = text(txn, "Type");
        let Some((raw, html)) = body else {
            if kind == "Create" && attachments.is_empty() {
                return Ok(None);
            }
            return Ok(Some((
                marker,
                self.comment(
                    txn,
                    &kind,
                    String::new(),
                    false,
                    Origin::default(),
                    attachments,
                )?,
            )));
        };
        let (content, origin) = strip_origin(&raw, html);
        if kind == "Create"
            && content.trim().is_empty()
            && attachments.is_empty()
            && origin.empties.is_empty()
        {
            return Ok(None);
        }
        Ok(Some((
            marker,
            self.comment(txn, &kind, content, html, origin, attachments)?,
        )))
    }

    fn comment(
        &self,
        txn: &Value,
        kind: &str,
        content: String,
        html: bool,
        origin: Origin,
        mut attachments: Vec<Attachment>,
    ) -> Result<Record, AdapterError> {
        let mut empties = origin.empties;
        empties.sort_by_key(|(i, _)| *i);
        for (index, attachment) in empties {
            let at = index.min(attachments.len());
            attachments.insert(at, attachment);
        }
        let author = match origin.author {
            Some(id) => Some(Ref::new(id)),
            None => self.user_ref(txn, "Creator")?,
        };
        let comment = Comment {
            id: text(txn, "id"),
            ticket: Ref::new(text(txn, "ObjectId")),
            author,
            public: kind != "Comment",
            body_html: html.then(|| content.clone()),
            body_text: if html { String::new() } else { content },
            attachments,
            created_at: origin.at.or_else(|| time(txn, "Created")),
            extra: Extra::new(),
        };
        Ok(comment.into_record())
    }

    // ---- attachments ----

    pub(crate) fn open(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        let location = attachment.location.clone().unwrap_or_default();
        if location == EMPTY_LOCATION {
            return Ok(reader(Vec::new()));
        }
        let id = location
            .strip_prefix("rt:attachment:")
            .map(str::to_string)
            .unwrap_or_else(|| attachment.id.clone());
        Ok(reader(self.api.attachment_bytes(&id)?))
    }

    // ---- markers ----

    pub(crate) fn find(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut found = BTreeMap::new();
        for source in source_ids {
            if let Some(target) = self.find_one(kind, source)? {
                found.insert(source.clone(), target);
            }
        }
        Ok(found)
    }

    pub(crate) fn find_one(
        &self,
        kind: Kind,
        source: &str,
    ) -> Result<Option<String>, AdapterError> {
        match kind {
            Kind::User => {
                let list = self.api.search_json(
                    "users",
                    &[("fields", "Organization".into()), ("per_page", "100".into()), ("find_disabled_rows", "1".into())],
                    &json!([{"field": "Organization", "operator": "=", "value": format!("{USER_MARKER_PREFIX}{source}")}]),
                )?;
                for item in items(&list) {
                    if text(&item, "Organization") == format!("{USER_MARKER_PREFIX}{source}") {
                        return Ok(Some(self.user(&text(&item, "id"))?.id));
                    }
                }
                Ok(None)
            }
            Kind::Group | Kind::FieldDefinition => {
                let (path, fields) = if kind == Kind::Group {
                    ("queues/all", "Description")
                } else {
                    ("customfields", "Description")
                };
                let list = self.api.search_json(
                    path,
                    &[("fields", fields.into()), ("per_page", "100".into())],
                    &json!([{"field": "Description", "operator": "LIKE", "value": MARKER.tag(source)}]),
                )?;
                Ok(items(&list)
                    .iter()
                    .find(|item| {
                        MARKER
                            .split_opt(Some(&text(item, "Description")))
                            .1
                            .as_deref()
                            == Some(source)
                    })
                    .map(|item| text(item, "id")))
            }
            Kind::Ticket => {
                let list = self.api.get_query(
                    "tickets",
                    &[
                        (
                            "query",
                            format!("'CF.{{{MARKER_FIELD}}}' = {}", quote(source)),
                        ),
                        ("fields", format!("CF.{{{MARKER_FIELD}}}")),
                        ("orderby", "id".into()),
                    ],
                )?;
                Ok(items(&list).first().map(|item| text(item, "id")))
            }
            Kind::Comment => {
                let query = format!(
                    "ObjectType = 'RT::Ticket' AND TicketStatus != 'deleted' AND Subject = {}",
                    quote(&format!("{COMMENT_MARKER_PREFIX}{source}"))
                );
                let list = self.api.get_query(
                    "transactions",
                    &[("query", query), ("orderby", "id".into())],
                )?;
                Ok(items(&list).first().map(|item| text(item, "id")))
            }
            other => Err(AdapterError::unsupported(NAME, other, "find")),
        }
    }

    // ---- delete ----

    pub(crate) fn delete_ticket(&self, id: &str) -> Result<(), AdapterError> {
        match self.api.delete(&format!("ticket/{id}")) {
            Ok(_) => Ok(()),
            Err(e) => {
                // A second DELETE answers 500; the ticket is deleted all the same.
                let current = self.api.get(&format!("ticket/{id}"))?;
                if text(&current, "Status") == "deleted" {
                    Ok(())
                } else {
                    Err(e.for_record(NAME, Kind::Ticket, id))
                }
            }
        }
    }
}
