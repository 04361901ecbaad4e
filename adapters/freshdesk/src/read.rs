//! Reading: source pages, read-back, markers, preflight, and Freshdesk JSON -> canonical.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use switchover_adapter::cursor::CursorFields;
use switchover_adapter::{
    AdapterError, Cursor, Page, PageRequest, Preflight, ReadBack, ReadBackPage,
};
use switchover_model::digest::Digest;
use switchover_model::*;

use crate::{FieldInfo, Freshdesk, MARKER_FIELD_LABEL, NAME};

/// Freshdesk's page ceiling on `/tickets`.
pub(crate) const MAX_TICKET_PAGE: usize = 300;
/// The oldest `updated_since` a full export asks for.
const BEGINNING: &str = "2000-01-01T00:00:00Z";

pub(crate) fn num_id(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub(crate) fn time(v: &Value, key: &str) -> Option<Timestamp> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

pub(crate) use switchover_adapter::html::{escape, unescape};
use switchover_adapter::marker::{HiddenMarker, HiddenStyle, SuffixMarker, ValueMarker};

/// The marker line of descriptions (groups, fields, rating feedback):
/// `<text>\n[switchover-source-id: <source id>]`.
pub(crate) const DESC_MARKER: SuffixMarker = SuffixMarker::new("[switchover-source-id: ", "\n");

/// The signature comment that marks a matched agent: `<!-- switchover-source-id: … -->`.
pub(crate) const SIGNATURE_MARKER: HiddenMarker =
    HiddenMarker::new("switchover-source-id", HiddenStyle::Comment);

/// The `unique_external_id` that marks a contact: `switchover:<source id>`.
pub(crate) const CONTACT_MARKER: ValueMarker = ValueMarker::new(crate::CONTACT_MARKER_PREFIX);

/// The opening of the first paragraph that carries a migrated record's origin.
pub(crate) const ORIGIN_OPEN: &str = "<p class=\"switchover-origin\">";

/// Splits a migrated body into (marker, body without the origin paragraph).
pub(crate) fn split_origin(html: &str) -> (Option<String>, String) {
    let Some(rest) = html.strip_prefix(ORIGIN_OPEN) else {
        return (None, html.to_string());
    };
    let Some(end) = rest.find("</p>") else {
        return (None, html.to_string());
    };
    let line = &rest[..end];
    let marker = line
        .rfind("<code>")
        .and_then(|at| line[at + 6..].split("</code>").next())
        .map(unescape);
    (marker, rest[end + 4..].to_string())
}

fn field_type(kind: &str) -> FieldType {
    match kind {
        "custom_paragraph" => FieldType::Textarea,
        "custom_number" | "custom_decimal" => FieldType::Number,
        "custom_date" => FieldType::Date,
        "custom_checkbox" => FieldType::Checkbox,
        "custom_dropdown" => FieldType::Dropdown,
        "custom_multi_select_dropdown" => FieldType::MultiSelect,
        _ => FieldType::Text,
    }
}

fn object_of(object: &str) -> FieldObject {
    match object {
        "contact" => FieldObject::User,
        "company" => FieldObject::Organization,
        _ => FieldObject::Ticket,
    }
}

/// A custom field as Freshdesk lists it (or answers its creation); `None` for default
/// fields and answers without an id.
pub(crate) fn field_info(object: &'static str, f: &Value) -> Option<FieldInfo> {
    if f.get("default").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let id = f.get("id").and_then(Value::as_u64)?;
    Some(FieldInfo {
        id,
        object,
        name: text(f, "name").unwrap_or_default(),
        label: text(f, "label").unwrap_or_default(),
        kind: text(f, "type").unwrap_or_default(),
        description: text(f, "description").unwrap_or_default(),
        description_raw: f.get("description").cloned().unwrap_or(Value::Null),
        required: f.get("required_for_agents").and_then(Value::as_bool) == Some(true),
        choices: f
            .get("choices")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        position: f.get("position").and_then(Value::as_i64),
    })
}

pub(crate) fn is_marker_field(f: &FieldInfo) -> bool {
    f.label.eq_ignore_ascii_case(MARKER_FIELD_LABEL)
}

fn page_size(request: &PageRequest) -> usize {
    request.page_size.unwrap_or(100).clamp(1, 100)
}

/// Records with their source markers, and the next cursor.
type MarkedPage = (Vec<(Option<String>, Record)>, Option<Cursor>);

/// A position in the ticket walk.
#[derive(Debug, Clone)]
struct TicketCursor {
    /// 0: live tickets, 1: deleted, 2: spam.
    phase: u8,
    since: String,
    page: usize,
    per_page: usize,
    skip: BTreeSet<String>,
}

impl TicketCursor {
    /// The position a request's cursor names; an error for a cursor that does not read.
    fn parse(request: &PageRequest) -> Result<Self, AdapterError> {
        let fields = CursorFields::of(NAME, request);
        let since = request
            .changed_since
            .as_ref()
            .map(Timestamp::to_canonical)
            .unwrap_or_else(|| BEGINNING.to_string());
        if fields.at_start() {
            return Ok(TicketCursor {
                phase: 0,
                since,
                page: 1,
                per_page: page_size(request),
                skip: BTreeSet::new(),
            });
        }
        if fields.text(0) != Some("t") {
            return Err(fields.corrupt("not a ticket cursor"));
        }
        Ok(TicketCursor {
            phase: fields.get(1, 0)?,
            since: fields
                .text(2)
                .map(str::to_string)
                .ok_or_else(|| fields.corrupt("no time"))?,
            page: fields.get(3, 1)?,
            per_page: fields.get(4, 100)?,
            skip: fields
                .text(5)
                .map(|s| {
                    s.split(',')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    fn encode(&self) -> Cursor {
        Cursor(format!(
            "t|{}|{}|{}|{}|{}",
            self.phase,
            self.since,
            self.page,
            self.per_page,
            self.skip.iter().cloned().collect::<Vec<_>>().join(",")
        ))
    }
}

impl Freshdesk {
    /// The custom fields of every object (cached).
    /// Threads that find the cache empty load it once, one after the other (the others
    /// then find it filled); a load that a write changed the fields during is returned
    /// but not kept.
    pub(crate) fn fields(&self) -> Result<Vec<FieldInfo>, AdapterError> {
        if let Some(fields) = &self.cache.lock().fields {
            return Ok(fields.clone());
        }
        let _loading = self
            .cache_load
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let generation = {
            let cache = self.cache.lock();
            if let Some(fields) = &cache.fields {
                return Ok(fields.clone());
            }
            cache.fields_generation
        };
        let mut all = Vec::new();
        for object in ["ticket", "contact", "company"] {
            let list = self.api.get(&format!("{object}_fields"), &[])?;
            all.extend(
                list.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| field_info(object, f)),
            );
        }
        let mut cache = self.cache.lock();
        if cache.fields_generation == generation {
            cache.fields = Some(all.clone());
        }
        Ok(all)
    }

    /// Ids of the tickets a source read leaves out: deleted ones unless
    /// `include_deleted`, spam unless `include_spam` (listed once, cached).
    fn tickets_left_out(&self) -> Result<BTreeSet<String>, AdapterError> {
        if let Some(ids) = &self.cache.lock().tickets_left_out {
            return Ok(ids.clone());
        }
        let mut ids = BTreeSet::new();
        for (filter, included) in [
            ("deleted", self.include_deleted),
            ("spam", self.include_spam),
        ] {
            if included {
                continue;
            }
            let query = [
                ("filter", filter.to_string()),
                ("updated_since", BEGINNING.to_string()),
            ];
            ids.extend(
                self.api
                    .list_all("tickets", &query)?
                    .iter()
                    .filter_map(|t| num_id(t, "id")),
            );
        }
        self.cache.lock().tickets_left_out = Some(ids.clone());
        Ok(ids)
    }

    /// The agent ids (cached).
    pub(crate) fn agent_ids(&self) -> Result<BTreeSet<u64>, AdapterError> {
        if let Some(ids) = &self.cache.lock().agents {
            return Ok(ids.clone());
        }
        // One thread loads them; the others wait and find them.
        let _loading = self
            .cache_load
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(ids) = &self.cache.lock().agents {
            return Ok(ids.clone());
        }
        let ids: BTreeSet<u64> = self
            .api
            .list_all("agents", &[])?
            .iter()
            .filter_map(|a| a.get("id").and_then(Value::as_u64))
            .collect();
        self.cache.lock().agents = Some(ids.clone());
        Ok(ids)
    }

    /// Ids of the administrator roles (`/roles` names containing "Administrator"), cached.
    fn admin_roles(&self) -> Result<BTreeSet<u64>, AdapterError> {
        if let Some(roles) = &self.cache.lock().admin_roles {
            return Ok(roles.clone());
        }
        let roles: BTreeSet<u64> = self
            .api
            .get("roles", &[])?
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| text(r, "name").is_some_and(|n| n.contains("Administrator")))
            .filter_map(|r| r.get("id").and_then(Value::as_u64))
            .collect();
        self.cache.lock().admin_roles = Some(roles.clone());
        Ok(roles)
    }

    /// Custom field values of an object's record, without the marker field.
    fn custom_values(
        &self,
        object: &str,
        values: Option<&Value>,
    ) -> Result<CustomFields, AdapterError> {
        let mut out = CustomFields::new();
        let Some(values) = values.and_then(Value::as_object) else {
            return Ok(out);
        };
        if values.values().all(Value::is_null) {
            return Ok(out);
        }
        let fields = self.fields()?;
        for (name, value) in values {
            if value.is_null() {
                continue;
            }
            let Some(field) = fields
                .iter()
                .find(|f| f.object == object && &f.name == name)
            else {
                continue;
            };
            if is_marker_field(field) {
                continue;
            }
            let typed = match field_type(&field.kind) {
                FieldType::Checkbox => match value {
                    Value::Bool(b) => FieldValue::Checkbox(*b),
                    Value::String(s) => FieldValue::Checkbox(s == "true"),
                    _ => continue,
                },
                FieldType::Number => match value {
                    Value::Number(n) => FieldValue::Number(n.as_f64().unwrap_or(0.0)),
                    Value::String(s) => match s.parse() {
                        Ok(n) => FieldValue::Number(n),
                        Err(_) => continue,
                    },
                    _ => continue,
                },
                FieldType::Date => FieldValue::Date(
                    value
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(10)
                        .collect(),
                ),
                FieldType::Dropdown => {
                    FieldValue::Dropdown(value.as_str().unwrap_or_default().to_string())
                }
                FieldType::MultiSelect => FieldValue::MultiSelect(
                    value
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => match value {
                    Value::String(s) => FieldValue::Text(s.clone()),
                    other => FieldValue::Text(other.to_string()),
                },
            };
            out.insert(Ref::new(field.id.to_string()), typed);
        }
        Ok(out)
    }

    fn marker_value(
        &self,
        object: &str,
        values: Option<&Value>,
    ) -> Result<Option<String>, AdapterError> {
        let fields = self.fields()?;
        let Some(field) = fields
            .iter()
            .find(|f| f.object == object && is_marker_field(f))
        else {
            return Ok(None);
        };
        Ok(values
            .and_then(|v| v.get(&field.name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    fn field_record(&self, f: &FieldInfo) -> (Option<String>, Record) {
        let (_, marker) = DESC_MARKER.split_opt(Some(&f.description));
        let key = f.name.strip_prefix("cf_").unwrap_or(&f.name).to_string();
        let record = FieldDefinition {
            id: f.id.to_string(),
            object: object_of(f.object),
            key,
            title: f.label.clone(),
            field_type: field_type(&f.kind),
            options: f
                .choices
                .iter()
                .map(|c| FieldOption {
                    value: c.clone(),
                    label: c.clone(),
                })
                .collect(),
            pattern: None,
            required: f.required,
            active: true,
            position: f.position,
            extra: Extra::new(),
        };
        (marker, record.into_record())
    }

    fn company(&self, c: &Value) -> Result<(Option<String>, Record), AdapterError> {
        let marker = self.marker_value("company", c.get("custom_fields"))?;
        let mut extra = Extra::new();
        for key in ["health_score", "account_tier", "renewal_date", "industry"] {
            if let Some(v) = c.get(key).filter(|v| !v.is_null()) {
                extra.insert(key.into(), v.clone());
            }
        }
        let record = Organization {
            id: num_id(c, "id").unwrap_or_default(),
            name: text(c, "name").unwrap_or_default(),
            domains: c
                .get("domains")
                .and_then(Value::as_array)
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            details: text(c, "description"),
            notes: text(c, "note"),
            tags: BTreeSet::new(),
            custom_fields: self.custom_values("company", c.get("custom_fields"))?,
            created_at: time(c, "created_at"),
            updated_at: time(c, "updated_at"),
            extra,
        };
        Ok((marker, record.into_record()))
    }

    fn agent(&self, a: &Value, admins: &BTreeSet<u64>) -> (Option<String>, Record) {
        let contact = a.get("contact").cloned().unwrap_or(Value::Null);
        let (_, marker) = SIGNATURE_MARKER.split_opt(a.get("signature").and_then(Value::as_str));
        let role = match a.get("role_ids").and_then(Value::as_array) {
            Some(roles)
                if roles
                    .iter()
                    .any(|r| r.as_u64().is_some_and(|r| admins.contains(&r))) =>
            {
                UserRole::Admin
            }
            _ => UserRole::Agent,
        };
        let record = User {
            id: num_id(a, "id").unwrap_or_default(),
            name: text(&contact, "name").unwrap_or_default(),
            email: text(&contact, "email"),
            phone: text(&contact, "phone"),
            role,
            state: if contact.get("active").and_then(Value::as_bool) == Some(false) {
                UserState::Suspended
            } else {
                UserState::Active
            },
            organization: None,
            locale: text(&contact, "language"),
            time_zone: text(&contact, "time_zone"),
            created_at: time(a, "created_at"),
            updated_at: time(a, "updated_at"),
            ..Default::default()
        };
        (marker, record.into_record())
    }

    fn contact(&self, c: &Value) -> Result<(Option<String>, Record), AdapterError> {
        let marker = text(c, "unique_external_id")
            .and_then(|x| CONTACT_MARKER.id_in(&x).map(str::to_string));
        let state = if c.get("deleted").and_then(Value::as_bool) == Some(true) {
            UserState::Deleted
        } else if c.get("blocked").and_then(Value::as_bool) == Some(true) {
            UserState::Suspended
        } else {
            UserState::Active
        };
        let mut extra = Extra::new();
        for key in [
            "mobile",
            "twitter_id",
            "job_title",
            "address",
            "description",
            "unique_external_id",
        ] {
            if let Some(v) = c.get(key).filter(|v| !v.is_null()) {
                extra.insert(key.into(), v.clone());
            }
        }
        let record = User {
            id: num_id(c, "id").unwrap_or_default(),
            name: text(c, "name").unwrap_or_default(),
            email: text(c, "email"),
            phone: text(c, "phone"),
            role: UserRole::EndUser,
            state,
            organization: num_id(c, "company_id").map(Ref::new),
            locale: text(c, "language"),
            time_zone: text(c, "time_zone"),
            tags: c
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            custom_fields: self.custom_values("contact", c.get("custom_fields"))?,
            created_at: time(c, "created_at"),
            updated_at: time(c, "updated_at"),
            extra,
        };
        Ok((marker, record.into_record()))
    }

    fn group(&self, g: &Value) -> (Option<String>, Record) {
        let (description, marker) =
            DESC_MARKER.split_opt(g.get("description").and_then(Value::as_str));
        let record = Group {
            id: num_id(g, "id").unwrap_or_default(),
            name: text(g, "name").unwrap_or_default(),
            description,
            created_at: time(g, "created_at"),
            updated_at: time(g, "updated_at"),
            extra: Extra::new(),
        };
        (marker, record.into_record())
    }

    fn ticket(&self, t: &Value) -> Result<(Option<String>, Record), AdapterError> {
        let marker = self.marker_value("ticket", t.get("custom_fields"))?;
        let status = status_of_code(t.get("status").and_then(Value::as_u64));
        let priority = priority_of_code(t.get("priority").and_then(Value::as_u64));
        let kind = text(t, "type");
        let ticket_type = match kind.as_deref() {
            Some("Question") => Some(TicketType::Question),
            Some("Incident") => Some(TicketType::Incident),
            Some("Problem") => Some(TicketType::Problem),
            Some("Task") => Some(TicketType::Task),
            _ => None,
        };
        let channel = match t.get("source").and_then(Value::as_u64) {
            Some(1) | Some(10) => "email",
            Some(3) => "phone",
            Some(7) => "chat",
            _ => "web",
        };
        let mut extra = Extra::new();
        if ticket_type.is_none() && kind.is_some() {
            extra.insert("type".into(), Value::from(kind));
        }
        for key in [
            "due_by",
            "fr_due_by",
            "product_id",
            "spam",
            "deleted",
            "source",
        ] {
            if let Some(v) = t
                .get(key)
                .filter(|v| !v.is_null() && **v != Value::Bool(false))
            {
                extra.insert(key.into(), v.clone());
            }
        }
        for key in ["cc_emails", "fwd_emails"] {
            if let Some(v) = t
                .get(key)
                .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            {
                extra.insert(key.into(), v.clone());
            }
        }
        let stats = t.get("stats").cloned().unwrap_or(Value::Null);
        let solved_at = time(&stats, "resolved_at").or_else(|| time(&stats, "closed_at"));
        let record = Ticket {
            id: num_id(t, "id").unwrap_or_default(),
            subject: text(t, "subject").unwrap_or_default(),
            status,
            priority,
            ticket_type,
            tags: t
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            requester: num_id(t, "requester_id").map(Ref::new),
            submitter: None,
            assignee: num_id(t, "responder_id").map(Ref::new),
            group: num_id(t, "group_id").map(Ref::new),
            organization: num_id(t, "company_id").map(Ref::new),
            channel: Some(channel.into()),
            custom_fields: self.custom_values("ticket", t.get("custom_fields"))?,
            links: BTreeSet::new(),
            archived: false,
            created_at: time(t, "created_at"),
            updated_at: time(t, "updated_at"),
            solved_at,
            extra,
        };
        Ok((marker, record.into_record()))
    }

    fn attachments(
        &self,
        list: Option<&Value>,
        hash: bool,
    ) -> Result<Vec<Attachment>, AdapterError> {
        let mut out = Vec::new();
        for a in list.and_then(Value::as_array).into_iter().flatten() {
            let id = num_id(a, "id").unwrap_or_default();
            let url = text(a, "attachment_url");
            let mut size = a
                .get("size")
                .or_else(|| a.get("file_size"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let mut sha256 = None;
            if hash && let Some(url) = &url {
                let bytes = self.api.attachment_bytes(url, &id)?;
                size = bytes.len() as u64;
                sha256 = Some(Digest::of(&bytes).to_hex());
            }
            out.push(Attachment {
                id,
                file_name: text(a, "name").unwrap_or_default(),
                content_type: text(a, "content_type")
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size,
                sha256,
                inline: false,
                location: url,
                extra: Extra::new(),
            });
        }
        Ok(out)
    }

    fn description_comment(&self, t: &Value, hash: bool) -> Result<Record, AdapterError> {
        let ticket_id = num_id(t, "id").unwrap_or_default();
        let html = text(t, "description").unwrap_or_default();
        Ok(Comment {
            id: format!("desc-{ticket_id}"),
            ticket: Ref::new(ticket_id),
            author: num_id(t, "requester_id").map(Ref::new),
            public: true,
            body_html: Some(html),
            body_text: text(t, "description_text").unwrap_or_default(),
            attachments: self.attachments(t.get("attachments"), hash)?,
            created_at: time(t, "created_at"),
            extra: Extra::new(),
        }
        .into_record())
    }

    fn conversation(
        &self,
        c: &Value,
        hash: bool,
    ) -> Result<(Option<String>, Record), AdapterError> {
        let html = text(c, "body").unwrap_or_default();
        let (marker, body) = split_origin(&html);
        let mut extra = Extra::new();
        if c.get("incoming").and_then(Value::as_bool) == Some(true) {
            extra.insert("incoming".into(), Value::Bool(true));
        }
        if let Some(source) = c.get("source") {
            extra.insert("source".into(), source.clone());
        }
        let body_text = if marker.is_some() {
            crate::write::html_text(&body)
        } else {
            text(c, "body_text").unwrap_or_default()
        };
        let record = Comment {
            id: num_id(c, "id").unwrap_or_default(),
            ticket: Ref::new(num_id(c, "ticket_id").unwrap_or_default()),
            author: num_id(c, "user_id").map(Ref::new),
            public: c.get("private").and_then(Value::as_bool) != Some(true),
            body_html: Some(body),
            body_text,
            attachments: self.attachments(c.get("attachments"), hash)?,
            created_at: time(c, "created_at"),
            extra,
        };
        Ok((marker, record.into_record()))
    }

    /// One page of the ticket walk: raw tickets and the next cursor.
    fn ticket_page(
        &self,
        request: &PageRequest,
        include: &str,
    ) -> Result<(Vec<Value>, Option<Cursor>), AdapterError> {
        let mut cursor = TicketCursor::parse(request)?;
        loop {
            let phase_on = match cursor.phase {
                0 => true,
                1 => self.include_deleted,
                2 => self.include_spam,
                _ => return Ok((Vec::new(), None)),
            };
            if !phase_on {
                cursor = TicketCursor {
                    phase: cursor.phase + 1,
                    page: 1,
                    skip: BTreeSet::new(),
                    since: request
                        .changed_since
                        .as_ref()
                        .map(Timestamp::to_canonical)
                        .unwrap_or_else(|| BEGINNING.to_string()),
                    ..cursor
                };
                continue;
            }
            let mut query = vec![
                ("updated_since", cursor.since.clone()),
                ("order_by", "updated_at".to_string()),
                ("order_type", "asc".to_string()),
                ("per_page", cursor.per_page.to_string()),
                ("page", cursor.page.to_string()),
            ];
            if !include.is_empty() {
                query.push(("include", include.to_string()));
            }
            match cursor.phase {
                1 => query.push(("filter", "deleted".into())),
                2 => query.push(("filter", "spam".into())),
                _ => {}
            }
            let listing = self.api.list("tickets", &query)?;
            let items: Vec<Value> = listing
                .items
                .into_iter()
                .filter(|t| num_id(t, "id").is_none_or(|id| !cursor.skip.contains(&id)))
                .collect();
            let next = if !listing.has_next {
                if cursor.phase < 2 {
                    Some(TicketCursor {
                        phase: cursor.phase + 1,
                        page: 1,
                        skip: BTreeSet::new(),
                        since: request
                            .changed_since
                            .as_ref()
                            .map(Timestamp::to_canonical)
                            .unwrap_or_else(|| BEGINNING.to_string()),
                        ..cursor.clone()
                    })
                } else {
                    None
                }
            } else if cursor.page < self.max_ticket_page() {
                Some(TicketCursor {
                    page: cursor.page + 1,
                    ..cursor.clone()
                })
            } else {
                // The 300-page ceiling: restart from the last update time seen, skipping
                // what was already returned at that instant.
                let last = items
                    .last()
                    .and_then(|t| text(t, "updated_at"))
                    .unwrap_or_else(|| cursor.since.clone());
                let mut skip: BTreeSet<String> = items
                    .iter()
                    .filter(|t| text(t, "updated_at").as_deref() == Some(last.as_str()))
                    .filter_map(|t| num_id(t, "id"))
                    .collect();
                if last == cursor.since {
                    skip.extend(cursor.skip.iter().cloned());
                }
                Some(TicketCursor {
                    since: last,
                    page: 1,
                    skip,
                    ..cursor.clone()
                })
            };
            // Phases that are off end the walk right away.
            let next = next.filter(|n| match n.phase {
                0 => true,
                1 => self.include_deleted || self.include_spam,
                2 => self.include_spam,
                _ => false,
            });
            return Ok((items, next.map(|n| n.encode())));
        }
    }

    pub(crate) fn max_ticket_page(&self) -> usize {
        self.max_ticket_page
    }

    fn simple_page(
        &self,
        path: &str,
        extra: &[(&str, String)],
        request: &PageRequest,
    ) -> Result<(Vec<Value>, Option<Cursor>), AdapterError> {
        let fields = CursorFields::of(NAME, request);
        let page: usize = fields.get(0, 1)?;
        let per_page: usize = fields.get(1, page_size(request))?;
        let mut query = extra.to_vec();
        query.push(("per_page", per_page.to_string()));
        query.push(("page", page.to_string()));
        let listing = self.api.list(path, &query)?;
        let next = listing
            .has_next
            .then(|| Cursor(format!("{}|{per_page}", page + 1)));
        Ok((listing.items, next))
    }

    /// Users: agents, then contacts, then deleted contacts.
    /// `for_target`: agents only when a migration matched them (they are never deleted).
    fn user_page(
        &self,
        request: &PageRequest,
        for_target: bool,
    ) -> Result<MarkedPage, AdapterError> {
        let fields = CursorFields::of(NAME, request);
        let phase: u8 = fields.get(0, 0)?;
        let inner = PageRequest {
            cursor: fields.rest(1),
            ..request.clone()
        };
        let since = request.changed_since.as_ref().map(Timestamp::to_canonical);
        let (items, next) = match phase {
            0 => self.simple_page("agents", &[], &inner)?,
            1 => {
                let q: Vec<(&str, String)> = since
                    .iter()
                    .map(|s| ("_updated_since", s.clone()))
                    .collect();
                self.simple_page("contacts", &q, &inner)?
            }
            _ => {
                let mut q: Vec<(&str, String)> = vec![("state", "deleted".into())];
                q.extend(since.iter().map(|s| ("_updated_since", s.clone())));
                self.simple_page("contacts", &q, &inner)?
            }
        };
        let admins = if phase == 0 {
            self.admin_roles()?
        } else {
            BTreeSet::new()
        };
        let mut records = Vec::new();
        for item in &items {
            let (marker, record) = if phase == 0 {
                self.agent(item, &admins)
            } else {
                self.contact(item)?
            };
            if phase == 0 && for_target && marker.is_none() {
                continue;
            }
            if phase == 0
                && request
                    .changed_since
                    .as_ref()
                    .is_some_and(|s| record.changed_at().is_some_and(|c| c < *s))
            {
                continue;
            }
            records.push((marker, record));
        }
        let next = match next {
            Some(c) => Some(Cursor(format!("{phase}|{}", c.0))),
            None if phase < 2 => Some(Cursor(format!("{}", phase + 1))),
            None => None,
        };
        Ok((records, next))
    }

    /// One page of a kind, with each record's source marker (for read-back).
    fn marked_page(
        &self,
        kind: Kind,
        request: &PageRequest,
        hash: bool,
        for_target: bool,
    ) -> Result<MarkedPage, AdapterError> {
        match kind {
            Kind::FieldDefinition => {
                let records = self
                    .fields()?
                    .iter()
                    .filter(|f| !is_marker_field(f))
                    .map(|f| self.field_record(f))
                    .collect();
                Ok((records, None))
            }
            Kind::Organization => {
                let (items, next) = self.simple_page("companies", &[], request)?;
                let records = items
                    .iter()
                    .map(|c| self.company(c))
                    .collect::<Result<_, _>>()?;
                Ok((records, next))
            }
            Kind::User => self.user_page(request, for_target),
            Kind::Group => {
                let (items, next) = self.simple_page("groups", &[], request)?;
                Ok((items.iter().map(|g| self.group(g)).collect(), next))
            }
            Kind::Ticket => {
                let (items, next) =
                    self.ticket_page(request, if for_target { "" } else { "stats" })?;
                let records = items
                    .iter()
                    .map(|t| self.ticket(t))
                    .collect::<Result<_, _>>()?;
                Ok((records, next))
            }
            Kind::Comment => {
                let (items, next) =
                    self.ticket_page(request, if for_target { "" } else { "description" })?;
                // The conversations of the page's tickets are asked for at once and
                // kept in ticket order.
                let paths: Vec<Option<String>> = items
                    .iter()
                    .map(|t| num_id(t, "id").map(|id| format!("tickets/{id}/conversations")))
                    .collect();
                let lists =
                    switchover_adapter::parallel::map_ordered(&paths, self.read_width, |path| {
                        path.as_ref()
                            .map(|path| self.api.list_all(path, &[]))
                            .transpose()
                    });
                let mut records = Vec::new();
                for (t, list) in items.iter().zip(lists) {
                    if !for_target {
                        records.push((None, self.description_comment(t, hash)?));
                    }
                    for c in list?.unwrap_or_default() {
                        records.push(self.conversation(&c, hash)?);
                    }
                }
                Ok((records, next))
            }
            Kind::SatisfactionRating => {
                let q: Vec<(&str, String)> = request
                    .changed_since
                    .iter()
                    .map(|s| ("created_since", s.to_canonical()))
                    .collect();
                let (items, next) =
                    self.simple_page("surveys/satisfaction_ratings", &q, request)?;
                // A source read leaves out the ratings of the tickets it leaves out
                // (deleted, spam), as it leaves out their conversations: they would only
                // fail on the target for want of their ticket.
                let left_out = if for_target {
                    BTreeSet::new()
                } else {
                    self.tickets_left_out()?
                };
                Ok((
                    items
                        .iter()
                        .filter(|r| num_id(r, "ticket_id").is_none_or(|t| !left_out.contains(&t)))
                        .map(rating)
                        .collect(),
                    next,
                ))
            }
            Kind::KbCategory => {
                let list = self.api.get("solutions/categories", &[])?;
                let records = list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, c)| {
                        (
                            None,
                            KbCategory {
                                id: num_id(c, "id").unwrap_or_default(),
                                name: text(c, "name").unwrap_or_default(),
                                description: text(c, "description"),
                                locale: None,
                                position: Some(i as i64),
                                created_at: time(c, "created_at"),
                                updated_at: time(c, "updated_at"),
                                extra: Extra::new(),
                            }
                            .into_record(),
                        )
                    })
                    .collect();
                Ok((records, None))
            }
            Kind::KbSection => {
                let records = self
                    .folders()?
                    .iter()
                    .map(|(category, f)| {
                        (
                            None,
                            KbSection {
                                id: num_id(f, "id").unwrap_or_default(),
                                category: Ref::new(category.clone()),
                                parent: num_id(f, "parent_folder_id").map(Ref::new),
                                name: text(f, "name").unwrap_or_default(),
                                description: text(f, "description"),
                                created_at: time(f, "created_at"),
                                updated_at: time(f, "updated_at"),
                                ..Default::default()
                            }
                            .into_record(),
                        )
                    })
                    .collect();
                Ok((records, None))
            }
            Kind::KbArticle => {
                let folders = self.folders()?;
                let index: usize = CursorFields::of(NAME, request).get(0, 0)?;
                let Some((_, folder)) = folders.get(index) else {
                    return Ok((Vec::new(), None));
                };
                let folder_id = num_id(folder, "id").unwrap_or_default();
                let mut records = Vec::new();
                for a in self
                    .api
                    .list_all(&format!("solutions/folders/{folder_id}/articles"), &[])?
                {
                    records.push((
                        None,
                        KbArticle {
                            id: num_id(&a, "id").unwrap_or_default(),
                            section: Ref::new(folder_id.clone()),
                            author: num_id(&a, "agent_id").map(Ref::new),
                            title: text(&a, "title").unwrap_or_default(),
                            body_html: text(&a, "description").unwrap_or_default(),
                            locale: "en".into(),
                            draft: a.get("status").and_then(Value::as_u64) == Some(1),
                            labels: a
                                .get("tags")
                                .and_then(Value::as_array)
                                .map(|t| {
                                    t.iter()
                                        .filter_map(|x| x.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default(),
                            attachments: self.attachments(a.get("attachments"), false)?,
                            created_at: time(&a, "created_at"),
                            updated_at: time(&a, "updated_at"),
                            ..Default::default()
                        }
                        .into_record(),
                    ));
                }
                let next = (index + 1 < folders.len()).then(|| Cursor((index + 1).to_string()));
                Ok((records, next))
            }
            Kind::Macro => Ok((self.canned_records()?, None)),
            Kind::Rule => Ok((self.rule_records()?, None)),
            Kind::Webhook => Ok((self.webhook_records()?, None)),
            Kind::SlaPolicy => Ok((self.sla_records()?, None)),
            other => Err(AdapterError::unsupported(NAME, other, "read")),
        }
    }

    fn folders(&self) -> Result<Vec<(String, Value)>, AdapterError> {
        let mut out = Vec::new();
        let categories = self.api.get("solutions/categories", &[])?;
        for c in categories.as_array().into_iter().flatten() {
            let Some(cid) = num_id(c, "id") else { continue };
            let folders = self
                .api
                .get(&format!("solutions/categories/{cid}/folders"), &[])?;
            for f in folders.as_array().into_iter().flatten() {
                out.push((cid.clone(), f.clone()));
            }
        }
        Ok(out)
    }

    /// A source page.
    pub(crate) fn read_source(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<Page, AdapterError> {
        // Attachment bytes are not read here: the engine hashes them as they pass to the
        // target, so reading them first would download each one twice.
        let (records, next) = self.marked_page(kind, request, false, false)?;
        Ok(Page {
            records: records.into_iter().map(|(_, r)| r).collect(),
            next,
        })
    }

    /// A read-back page: what the migration wrote, with its markers.
    pub(crate) fn read_back_page(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<ReadBackPage, AdapterError> {
        let (records, next) = self.marked_page(kind, request, true, true)?;
        Ok(ReadBackPage {
            records: records
                .into_iter()
                .map(|(source_id, record)| ReadBack { source_id, record })
                .collect(),
            next,
        })
    }

    /// Source marker -> target id of everything of a kind on the target. Scanned once,
    /// and again only after a write of unknown outcome; a scan adds what it finds to
    /// the cache and never replaces it, so entries written meanwhile stay. Callers hold
    /// the write lock, so no write of this connection happens during the walk.
    pub(crate) fn markers(&self, kind: Kind) -> Result<BTreeMap<String, String>, AdapterError> {
        {
            let cache = self.cache.lock();
            if cache.scanned.contains(&kind) && !cache.stale.contains(&kind) {
                return Ok(cache.markers.get(&kind).cloned().unwrap_or_default());
            }
        }
        let mut found = BTreeMap::new();
        let mut request = PageRequest {
            page_size: Some(100),
            ..Default::default()
        };
        loop {
            let (records, next) = self.marked_page(kind, &request, false, true)?;
            for (marker, record) in records {
                if let Some(marker) = marker {
                    found.insert(marker, record.id().to_string());
                }
            }
            match next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        let mut cache = self.cache.lock();
        let entries = cache.markers.entry(kind).or_default();
        for (marker, id) in found {
            entries.entry(marker).or_insert(id);
        }
        let merged = entries.clone();
        cache.scanned.insert(kind);
        cache.stale.remove(&kind);
        Ok(merged)
    }

    /// The target id of the note carrying `source_id` on ticket `ticket` (a target
    /// id), if it is there: from the cache when it knows every note of the ticket, else
    /// from one listing of the ticket's conversations, whose markers join the cache. A
    /// listing that fails is an error (unknown), never an absence. Callers hold the
    /// write lock.
    pub(crate) fn note_on(
        &self,
        ticket: &str,
        source_id: &str,
    ) -> Result<Option<String>, AdapterError> {
        {
            let cache = self.cache.lock();
            let known = cache.notes_read.contains(ticket)
                || (cache.scanned.contains(&Kind::Comment)
                    && !cache.stale.contains(&Kind::Comment));
            if known {
                return Ok(cache
                    .markers
                    .get(&Kind::Comment)
                    .and_then(|m| m.get(source_id))
                    .cloned());
            }
        }
        let mut found = Vec::new();
        for c in self
            .api
            .list_all(&format!("tickets/{ticket}/conversations"), &[])?
        {
            if let (Some(marker), record) = self.conversation(&c, false)? {
                found.push((marker, record.id().to_string()));
            }
        }
        let mut cache = self.cache.lock();
        let entries = cache.markers.entry(Kind::Comment).or_default();
        for (marker, id) in found {
            entries.entry(marker).or_insert(id);
        }
        let answer = entries.get(source_id).cloned();
        cache.notes_read.insert(ticket.to_string());
        Ok(answer)
    }

    /// What would misbehave: rules and notifications that e-mail people.
    pub(crate) fn preflight_checks(&self) -> Result<Preflight, AdapterError> {
        self.api.get("agents/me", &[])?;
        let mut preflight = Preflight::default();
        for (type_id, what) in [
            (1, "ticket creation"),
            (3, "time triggers (hourly)"),
            (4, "ticket updates"),
        ] {
            let rules = match self
                .api
                .list_all(&format!("automations/{type_id}/rules"), &[])
            {
                Ok(rules) => rules,
                Err(e) if e.kind() == switchover_adapter::ErrorKind::Permission => {
                    preflight.warnings.push(format!(
                        "cannot list {what} automation rules (permission denied): check them in Admin > Workflows > Automations before the run"
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let active: Vec<String> = rules
                .iter()
                .filter(|r| r.get("active").and_then(Value::as_bool) == Some(true))
                .map(|r| {
                    format!(
                        "'{}' (id {})",
                        text(r, "name").unwrap_or_default(),
                        num_id(r, "id").unwrap_or_default()
                    )
                })
                .collect();
            if !active.is_empty() {
                preflight.notifications(format!(
                    "{} active automation rule(s) on {what} would fire on every migrated ticket: {}; switch them off (Admin > Workflows > Automations, or PUT /api/v2/automations/{type_id}/rules/{{id}} {{\"active\":false}}) and back on after cutover",
                    active.len(),
                    active.join(", ")
                ));
            }
        }
        preflight.warnings.push(
            "Freshdesk e-mail notifications cannot be switched off through the API: before the run an admin must disable, in Admin > Workflows > Email Notifications, the requester notifications (New Ticket Created, Agent Adds Comment to Ticket, Agent Solves the Ticket, Agent Closes the Ticket) and the agent notifications (New Ticket Created, Ticket Assigned to Group/Agent, Requester Replies/Note Added); history is written as notes, never replies".into(),
        );
        Ok(preflight)
    }
}

fn rating(r: &Value) -> (Option<String>, Record) {
    let score = r
        .get("ratings")
        .and_then(|x| x.get("default_question"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let (comment, marker) = DESC_MARKER.split_opt(r.get("feedback").and_then(Value::as_str));
    let mut extra = Extra::new();
    if let Some(others) = r.get("ratings").and_then(Value::as_object) {
        let others: serde_json::Map<String, Value> = others
            .iter()
            .filter(|(k, _)| *k != "default_question")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !others.is_empty() {
            extra.insert("ratings".into(), Value::Object(others));
        }
    }
    let record = SatisfactionRating {
        id: num_id(r, "id").unwrap_or_default(),
        ticket: Ref::new(num_id(r, "ticket_id").unwrap_or_default()),
        requester: num_id(r, "user_id").map(Ref::new),
        score: match score {
            103 => Score::Good,
            -103 => Score::Bad,
            other => Score::Scale {
                value: other,
                max: 103,
            },
        },
        comment,
        created_at: time(r, "created_at"),
        extra,
    }
    .into_record();
    (marker, record)
}

/// Freshdesk's status code for a status: its four statuses hold the six portable ones
/// (new becomes open, on-hold becomes pending).
pub(crate) fn status_code(status: TicketStatus) -> u64 {
    match status {
        TicketStatus::New | TicketStatus::Open => 2,
        TicketStatus::Pending | TicketStatus::OnHold => 3,
        TicketStatus::Solved => 4,
        TicketStatus::Closed => 5,
    }
}

/// The status of a Freshdesk status code (custom statuses read as open).
pub(crate) fn status_of_code(code: Option<u64>) -> TicketStatus {
    match code {
        Some(3) => TicketStatus::Pending,
        Some(4) => TicketStatus::Solved,
        Some(5) => TicketStatus::Closed,
        _ => TicketStatus::Open,
    }
}

/// Freshdesk's priority code for a priority: Freshdesk requires one, so none is Low.
pub(crate) fn priority_code(priority: Option<Priority>) -> u64 {
    match priority {
        None | Some(Priority::Low) => 1,
        Some(Priority::Normal) => 2,
        Some(Priority::High) => 3,
        Some(Priority::Urgent) => 4,
    }
}

/// The priority of a Freshdesk priority code.
pub(crate) fn priority_of_code(code: Option<u64>) -> Option<Priority> {
    match code {
        Some(1) => Some(Priority::Low),
        Some(2) => Some(Priority::Normal),
        Some(3) => Some(Priority::High),
        Some(4) => Some(Priority::Urgent),
        _ => None,
    }
}
