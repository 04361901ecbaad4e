//! Reading Help Scout into the canonical model: the source's pages and the target's
//! read-back are one code path, so what verify reads is what a migration out would read.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use switchover_adapter::cursor::{CursorFields, join};
use switchover_adapter::{AdapterError, Cursor, PageRequest, Preflight};
use switchover_model::*;

use crate::{
    AUTHOR_MARKER, EMPTY_MARKER, HelpScout, NAME, SUFFIX_MARKER, TAG_MARKER_PREFIX, THREAD_MARKER,
};

/// Records read, each with the source marker it carries (when the target wrote it).
pub(crate) type Marked = Vec<(Option<String>, Record)>;

/// The text of `v[key]`, if it is a non-empty string.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A numeric or string id as text.
pub(crate) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The timestamp in `v[key]`, if it parses.
pub(crate) fn time(v: &Value, key: &str) -> Option<Timestamp> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
}

/// The target id of a Help Scout user (`user-<id>`).
pub(crate) fn user_target_id(id: &str) -> String {
    format!("user-{id}")
}

/// The Help Scout id of a user target id, if it is one.
pub(crate) fn user_number(target_id: &str) -> Option<&str> {
    target_id.strip_prefix("user-")
}

/// The tag that marks a conversation migrated from `source_id`: lowercase letters, digits
/// and `-` are kept, every other byte is written as `_` and two hex digits (Help Scout
/// tags are case-insensitive slugs).
pub(crate) fn marker_tag(source_id: &str) -> String {
    let mut tag = String::from(TAG_MARKER_PREFIX);
    for b in source_id.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => tag.push(b as char),
            _ => tag.push_str(&format!("_{b:02x}")),
        }
    }
    tag
}

/// The source id a marker tag stands for.
pub(crate) fn marker_of_tag(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix(TAG_MARKER_PREFIX)?;
    let bytes = rest.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' {
            let hex = rest.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

/// Splits a full name into Help Scout's first and last name (each at most 40
/// characters): as many words as fit go first, the rest last.
pub(crate) fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    let mut first = String::new();
    let mut rest = name;
    for (at, _) in name.match_indices(' ') {
        if name[..at].chars().count() > 40 {
            break;
        }
        first = name[..at].to_string();
        rest = &name[at + 1..];
    }
    if first.is_empty() || name.chars().count() <= 40 {
        return (name.chars().take(40).collect(), String::new());
    }
    (first, rest.chars().take(40).collect())
}

fn full_name(first: Option<String>, last: Option<String>) -> String {
    match (first, last) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(f), None) => f,
        (None, Some(l)) => l,
        (None, None) => String::new(),
    }
}

impl HelpScout {
    /// Help Scout users (agents), listed once per connection.
    pub(crate) fn users(&self) -> Result<Vec<Value>, AdapterError> {
        if let Some(users) = &self.cache.lock().users {
            return Ok(users.clone());
        }
        let users = self.api.all("users", "users", &[])?;
        self.cache.lock().users = Some(users.clone());
        Ok(users)
    }

    /// Mailboxes, listed once per connection.
    pub(crate) fn mailboxes(&self) -> Result<Vec<Value>, AdapterError> {
        if let Some(mailboxes) = &self.cache.lock().mailboxes {
            return Ok(mailboxes.clone());
        }
        let mailboxes = self.api.all("mailboxes", "mailboxes", &[])?;
        self.cache.lock().mailboxes = Some(mailboxes.clone());
        Ok(mailboxes)
    }

    /// Every mailbox's custom fields, listed once per connection.
    pub(crate) fn fields(&self) -> Result<Vec<(u64, Value)>, AdapterError> {
        if let Some(fields) = &self.cache.lock().fields {
            return Ok(fields.clone());
        }
        let mut all = Vec::new();
        for mailbox in self.mailboxes()? {
            let Some(id) = mailbox.get("id").and_then(Value::as_u64) else {
                continue;
            };
            for field in self
                .api
                .all(&format!("mailboxes/{id}/fields"), "fields", &[])?
            {
                all.push((id, field));
            }
        }
        self.cache.lock().fields = Some(all.clone());
        Ok(all)
    }

    /// The canonical id of each field name: the first mailbox's field of that name stands
    /// for the fields of the same name in every mailbox.
    fn field_ids_by_name(&self) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut by_name = BTreeMap::new();
        for (_, field) in self.fields()? {
            if let (Some(name), Some(id)) = (text(&field, "name"), field.get("id").and_then(id_of))
            {
                by_name.entry(name.to_lowercase()).or_insert(id);
            }
        }
        Ok(by_name)
    }

    pub(crate) fn count_kind(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        let (path, key, query) = match kind {
            Kind::Ticket => (
                "conversations",
                "conversations",
                vec![("status", "all".to_string())],
            ),
            Kind::Organization => ("organizations", "organizations", Vec::new()),
            _ => return Ok(None),
        };
        Ok(Some(self.api.page(path, key, &query, 1)?.total))
    }

    /// One page of a kind, with the markers its records carry.
    pub(crate) fn read_kind(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let at = CursorFields::of(NAME, request);
        match kind {
            Kind::Organization => self.read_organizations(&at),
            Kind::User => self.read_users(&at, request),
            Kind::Group => Ok((
                self.mailboxes()?
                    .iter()
                    .map(|m| (None, mailbox_record(m)))
                    .collect(),
                None,
            )),
            Kind::FieldDefinition => self.read_fields(),
            Kind::Ticket => self.read_tickets(&at, request),
            Kind::Comment => self.read_comments(&at, request),
            Kind::SatisfactionRating => self.read_ratings(&at),
            Kind::KbCategory | Kind::KbSection | Kind::KbArticle => {
                self.docs(kind)?.read(kind, request)
            }
            Kind::Macro => Ok((self.read_macros()?, None)),
            Kind::Webhook => Ok((self.read_webhooks()?, None)),
            Kind::Rule => Ok((self.read_workflows()?, None)),
            other => Err(AdapterError::unsupported(NAME, other, "read")),
        }
    }

    fn read_organizations(
        &self,
        at: &CursorFields,
    ) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let page = at.get::<u64>(0, 1)?;
        let listing = self.api.page("organizations", "organizations", &[], page)?;
        let records = listing
            .items
            .iter()
            .map(|o| {
                let (notes, marker) =
                    SUFFIX_MARKER.split_opt(o.get("note").and_then(Value::as_str));
                let record = Organization {
                    id: o.get("id").and_then(id_of).unwrap_or_default(),
                    name: text(o, "name").unwrap_or_default(),
                    domains: o
                        .get("domains")
                        .and_then(Value::as_array)
                        .map(|d| {
                            d.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                    details: text(o, "description"),
                    notes,
                    created_at: time(o, "createdAt"),
                    updated_at: time(o, "updatedAt"),
                    ..Default::default()
                };
                (marker, record.into_record())
            })
            .collect();
        Ok((records, next_page(page, listing.total_pages)))
    }

    /// Customers first (the end users), then Help Scout users (the agents).
    fn read_users(
        &self,
        at: &CursorFields,
        request: &PageRequest,
    ) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let phase = at.text(0).unwrap_or("customers").to_string();
        let page = at.get::<u64>(1, 1)?;
        match phase.as_str() {
            "customers" => {
                let mut query = vec![
                    ("sortField", "modifiedAt".to_string()),
                    ("sortOrder", "asc".to_string()),
                ];
                if let Some(since) = request.changed_since {
                    query.push(("modifiedSince", hs_time(&since)));
                }
                let listing = self.api.page("customers", "customers", &query, page)?;
                let records = listing.items.iter().map(customer_record).collect();
                let next = match next_page(page, listing.total_pages) {
                    Some(_) => Some(join(&[&"customers", &(page + 1)])),
                    None => Some(join(&[&"users", &1u64])),
                };
                Ok((records, next))
            }
            "users" => {
                let listing = self.api.page("users", "users", &[], page)?;
                let records = listing
                    .items
                    .iter()
                    .filter(|u| {
                        request
                            .changed_since
                            .is_none_or(|since| time(u, "updatedAt").is_none_or(|t| t >= since))
                    })
                    .map(|u| (None, agent_record(u)))
                    .collect();
                let next =
                    next_page(page, listing.total_pages).map(|_| join(&[&"users", &(page + 1)]));
                Ok((records, next))
            }
            _ => Err(at.corrupt("the first field is neither customers nor users")),
        }
    }

    fn read_fields(&self) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        for (_, field) in self.fields()? {
            let Some(name) = text(&field, "name") else {
                continue;
            };
            if !seen.insert(name.to_lowercase()) {
                continue;
            }
            let options: Vec<String> = field
                .get("options")
                .and_then(Value::as_array)
                .map(|o| o.iter().filter_map(|x| text(x, "label")).collect())
                .unwrap_or_default();
            let field_type = match field.get("type").and_then(Value::as_str).unwrap_or("") {
                "multiline" => FieldType::Textarea,
                "number" => FieldType::Number,
                "date" => FieldType::Date,
                "dropdown" if is_yes_no(&options) => FieldType::Checkbox,
                "dropdown" => FieldType::Dropdown,
                _ => FieldType::Text,
            };
            let record = FieldDefinition {
                id: field.get("id").and_then(id_of).unwrap_or_default(),
                object: FieldObject::Ticket,
                key: name.to_lowercase().replace(' ', "_"),
                title: name,
                field_type,
                options: if field_type == FieldType::Dropdown {
                    options
                        .iter()
                        .map(|o| FieldOption {
                            value: o.clone(),
                            label: o.clone(),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                required: field
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                active: true,
                position: field.get("order").and_then(Value::as_i64),
                ..Default::default()
            };
            records.push((None, record.into_record()));
        }
        Ok((records, None))
    }

    fn conversation_page(
        &self,
        page: u64,
        request: &PageRequest,
    ) -> Result<crate::api::HalPage, AdapterError> {
        let mut query = vec![
            ("status", "all".to_string()),
            ("sortField", "modifiedAt".to_string()),
            ("sortOrder", "asc".to_string()),
        ];
        if let Some(since) = request.changed_since {
            query.push(("modifiedSince", hs_time(&since)));
        }
        self.api
            .page("conversations", "conversations", &query, page)
    }

    fn read_tickets(
        &self,
        at: &CursorFields,
        request: &PageRequest,
    ) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let page = at.get::<u64>(0, 1)?;
        let listing = self.conversation_page(page, request)?;
        let field_ids = self.field_ids_by_name()?;
        let fields = self.fields()?;
        let records = listing
            .items
            .iter()
            .map(|c| self.ticket_record(c, &field_ids, &fields))
            .collect();
        Ok((records, next_page(page, listing.total_pages)))
    }

    fn ticket_record(
        &self,
        c: &Value,
        field_ids: &BTreeMap<String, String>,
        fields: &[(u64, Value)],
    ) -> (Option<String>, Record) {
        let mut marker = None;
        let mut tags = BTreeSet::new();
        for tag in c
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = text(tag, "tag").or_else(|| text(tag, "name")) else {
                continue;
            };
            match marker_of_tag(&name) {
                Some(source) => marker = Some(source),
                None => {
                    tags.insert(name);
                }
            }
        }
        let mailbox = c.get("mailboxId").and_then(Value::as_u64);
        let mut custom_fields = CustomFields::new();
        for value in c
            .get("customFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = text(value, "name") else {
                continue;
            };
            let Some(id) = field_ids.get(&name.to_lowercase()) else {
                continue;
            };
            let definition = fields.iter().find(|(m, f)| {
                Some(*m) == mailbox && text(f, "name").as_deref() == Some(name.as_str())
            });
            if let Some(v) = field_value(value, definition.map(|(_, f)| f)) {
                custom_fields.insert(Ref::new(id.clone()), v);
            }
        }
        let status = status_from(c.get("status").and_then(Value::as_str).unwrap_or(""));
        let record = Ticket {
            id: c.get("id").and_then(id_of).unwrap_or_default(),
            subject: text(c, "subject").unwrap_or_default(),
            status,
            tags,
            requester: c
                .get("primaryCustomer")
                .and_then(|p| p.get("id"))
                .and_then(id_of)
                .map(Ref::new),
            assignee: c
                .get("assignee")
                .and_then(|a| a.get("id"))
                .and_then(id_of)
                .map(|id| Ref::new(user_target_id(&id))),
            group: mailbox.map(|m| Ref::new(m.to_string())),
            channel: text(c, "type"),
            custom_fields,
            created_at: time(c, "createdAt"),
            updated_at: time(c, "userUpdatedAt").or_else(|| time(c, "updatedAt")),
            solved_at: time(c, "closedAt"),
            ..Default::default()
        };
        (marker, record.into_record())
    }

    /// The comments of one page of conversations, oldest thread first.
    fn read_comments(
        &self,
        at: &CursorFields,
        request: &PageRequest,
    ) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let page = at.get::<u64>(0, 1)?;
        let listing = self.conversation_page(page, request)?;
        let mut records = Vec::new();
        for c in &listing.items {
            let Some(cid) = c.get("id").and_then(id_of) else {
                continue;
            };
            records.extend(self.threads_of(&cid)?);
        }
        Ok((records, next_page(page, listing.total_pages)))
    }

    /// Every comment of a conversation, oldest first, with its marker.
    pub(crate) fn threads_of(&self, cid: &str) -> Result<Marked, AdapterError> {
        let mut threads = self
            .api
            .all(&format!("conversations/{cid}/threads"), "threads", &[])?;
        threads.sort_by_key(|t| {
            (
                text(t, "createdAt").unwrap_or_default(),
                t.get("id").and_then(Value::as_u64).unwrap_or(0),
            )
        });
        Ok(threads
            .iter()
            .filter_map(|t| comment_record(cid, t))
            .collect())
    }

    /// Ratings from the happiness report (`GET /reports/happiness/ratings`), which
    /// answers `{results, page, pages}` (not HAL): `id` is the conversation, `ratingId`
    /// the score (1 great, 2 okay, 3 not good), `ratingDbId` the rating itself.
    fn read_ratings(&self, at: &CursorFields) -> Result<(Marked, Option<Cursor>), AdapterError> {
        let page = at.get::<u64>(0, 1)?;
        let answer = self.api.get(
            "reports/happiness/ratings",
            &[
                ("start", "2000-01-01T00:00:00Z".to_string()),
                ("end", hs_time(&Timestamp::now())),
                ("page", page.to_string()),
            ],
        )?;
        let results = answer
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                AdapterError::transient(NAME, "the happiness report has no results list")
            })?;
        let pages = answer.get("pages").and_then(Value::as_u64).unwrap_or(1);
        let records = results
            .iter()
            .filter_map(|r| {
                let ticket = r.get("id").and_then(id_of)?;
                let score = match r.get("ratingId").and_then(Value::as_u64) {
                    Some(1) => Score::Good,
                    Some(3) => Score::Bad,
                    _ => Score::Scale { value: 2, max: 3 },
                };
                let rating = SatisfactionRating {
                    id: r
                        .get("ratingDbId")
                        .and_then(id_of)
                        .unwrap_or_else(|| format!("{ticket}-rating")),
                    ticket: Ref::new(ticket),
                    requester: r.get("ratingCustomerId").and_then(id_of).map(Ref::new),
                    score,
                    comment: text(r, "ratingComments"),
                    created_at: time(r, "ratingCreatedAt"),
                    extra: Extra::new(),
                };
                Some((None, rating.into_record()))
            })
            .collect();
        Ok((records, next_page(page, pages)))
    }

    /// Target ids of records carrying these source markers.
    pub(crate) fn find(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let wanted: BTreeSet<&str> = source_ids.iter().map(String::as_str).collect();
        let mut found = BTreeMap::new();
        match kind {
            Kind::Ticket => {
                for id in source_ids {
                    let listing = self.api.page(
                        "conversations",
                        "conversations",
                        &[("status", "all".to_string()), ("tag", marker_tag(id))],
                        1,
                    )?;
                    if let Some(cid) = listing
                        .items
                        .iter()
                        .find_map(|c| c.get("id").and_then(id_of))
                    {
                        found.insert(id.clone(), cid);
                    }
                }
            }
            Kind::Organization | Kind::User | Kind::Comment | Kind::Macro | Kind::Webhook => {
                let mut request = PageRequest::default();
                loop {
                    let (records, next) = self.read_kind(kind, &request)?;
                    for (marker, record) in records {
                        if let Some(m) = marker.filter(|m| wanted.contains(m.as_str())) {
                            found.insert(m, record.id().to_string());
                        }
                    }
                    match next {
                        Some(next) => request.cursor = Some(next),
                        None => break,
                    }
                }
            }
            Kind::KbCategory | Kind::KbSection | Kind::KbArticle => {
                return self.docs(kind)?.find(kind, source_ids);
            }
            // Mailboxes and fields carry no marker (matched only).
            _ => {}
        }
        Ok(found)
    }

    /// The threads of conversation `cid` that carry the markers of `children`.
    pub(crate) fn find_threads(
        &self,
        cid: &str,
        children: &[switchover_adapter::WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let wanted: BTreeSet<&str> = children.iter().map(|c| c.record.id()).collect();
        Ok(self
            .threads_of(cid)?
            .into_iter()
            .filter_map(|(marker, record)| {
                let m = marker.filter(|m| wanted.contains(m.as_str()))?;
                Some((m, record.id().to_string()))
            })
            .collect())
    }

    /// Active automatic workflows act on imported conversations: a notification risk.
    pub(crate) fn preflight_checks(&self) -> Result<Preflight, AdapterError> {
        let mut preflight = Preflight::default();
        let workflows = self.api.all("workflows", "workflows", &[])?;
        let active: Vec<String> = workflows
            .iter()
            .filter(|w| {
                text(w, "type").as_deref() == Some("automatic")
                    && text(w, "status").as_deref() == Some("active")
            })
            .filter_map(|w| text(w, "name"))
            .collect();
        if !active.is_empty() {
            preflight.notifications(format!(
                "{} active automatic workflow(s) may e-mail customers or change imported conversations: {}; pause them in Help Scout (Manage > Workflows) for the run",
                active.len(),
                active.join(", ")
            ));
        }
        if self.mailboxes()?.is_empty() {
            preflight
                .blockers
                .push("the account has no mailbox: create one in Help Scout first".into());
        }
        Ok(preflight)
    }
}

/// The next page number as a cursor, if there is one.
fn next_page(page: u64, total_pages: u64) -> Option<Cursor> {
    (page < total_pages).then(|| join(&[&(page + 1)]))
}

/// A timestamp as Help Scout takes it: `yyyy-MM-ddTHH:mm:ssZ`.
pub(crate) fn hs_time(at: &Timestamp) -> String {
    at.as_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_yes_no(options: &[String]) -> bool {
    options.len() == 2 && options.iter().any(|o| o == "Yes") && options.iter().any(|o| o == "No")
}

fn field_value(value: &Value, definition: Option<&Value>) -> Option<FieldValue> {
    let kind = definition
        .and_then(|d| d.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("singleline");
    let raw = value.get("value").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })?;
    Some(match kind {
        "number" => FieldValue::Number(raw.parse().ok()?),
        "date" => FieldValue::Date(raw),
        "dropdown" => {
            let options: Vec<String> = definition
                .and_then(|d| d.get("options"))
                .and_then(Value::as_array)
                .map(|o| o.iter().filter_map(|x| text(x, "label")).collect())
                .unwrap_or_default();
            let label = text(value, "text").unwrap_or(raw);
            if is_yes_no(&options) {
                FieldValue::Checkbox(label == "Yes")
            } else {
                FieldValue::Dropdown(label)
            }
        }
        _ => FieldValue::Text(raw),
    })
}

fn mailbox_record(m: &Value) -> Record {
    Group {
        id: m.get("id").and_then(id_of).unwrap_or_default(),
        name: text(m, "name").unwrap_or_default(),
        created_at: time(m, "createdAt"),
        updated_at: time(m, "updatedAt"),
        ..Default::default()
    }
    .into_record()
}

fn customer_record(c: &Value) -> (Option<String>, Record) {
    let (_, marker) = SUFFIX_MARKER.split_opt(c.get("background").and_then(Value::as_str));
    let entry = |list: &str| {
        c.get("_embedded")
            .and_then(|e| e.get(list))
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|x| text(x, "value"))
    };
    let record = User {
        id: c.get("id").and_then(id_of).unwrap_or_default(),
        name: full_name(text(c, "firstName"), text(c, "lastName")),
        email: entry("emails"),
        phone: entry("phones"),
        role: UserRole::EndUser,
        state: UserState::Active,
        organization: c.get("organizationId").and_then(id_of).map(Ref::new),
        created_at: time(c, "createdAt"),
        updated_at: time(c, "updatedAt"),
        ..Default::default()
    };
    (marker, record.into_record())
}

fn agent_record(u: &Value) -> Record {
    User {
        id: user_target_id(&u.get("id").and_then(id_of).unwrap_or_default()),
        name: full_name(text(u, "firstName"), text(u, "lastName")),
        email: text(u, "email"),
        phone: text(u, "phone"),
        role: match u.get("role").and_then(Value::as_str) {
            Some("owner" | "admin") => UserRole::Admin,
            _ => UserRole::Agent,
        },
        state: UserState::Active,
        time_zone: text(u, "timezone"),
        created_at: time(u, "createdAt"),
        updated_at: time(u, "updatedAt"),
        ..Default::default()
    }
    .into_record()
}

/// A thread as a comment (`None` for line items and the placeholder of an empty ticket).
fn comment_record(cid: &str, t: &Value) -> Option<(Option<String>, Record)> {
    let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        kind,
        "customer" | "message" | "reply" | "note" | "phone" | "chat"
    ) {
        return None;
    }
    let body = t.get("body").and_then(Value::as_str).unwrap_or("");
    if EMPTY_MARKER.split(body).1.is_some() {
        return None;
    }
    let (body, written_by) = AUTHOR_MARKER.split(body);
    let (html, marker) = THREAD_MARKER.split(&body);
    let tid = t.get("id").and_then(id_of)?;
    let author = written_by.map(Ref::new).or_else(|| {
        t.get("createdBy").and_then(|by| {
            let id = by.get("id").and_then(id_of)?;
            Some(match by.get("type").and_then(Value::as_str) {
                Some("user") => Ref::new(user_target_id(&id)),
                _ => Ref::new(id),
            })
        })
    });
    let attachments = t
        .get("_embedded")
        .and_then(|e| e.get("attachments"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let aid = a.get("id").and_then(id_of)?;
            Some(Attachment {
                id: aid.clone(),
                file_name: text(a, "filename")
                    .or_else(|| text(a, "fileName"))
                    .unwrap_or_default(),
                content_type: text(a, "mimeType").unwrap_or_default(),
                size: a.get("size").and_then(Value::as_u64).unwrap_or(0),
                location: Some(format!("conversations/{cid}/attachments/{aid}/data")),
                ..Default::default()
            })
        })
        .collect();
    let record = Comment {
        id: format!("{cid}/{tid}"),
        ticket: Ref::new(cid.to_string()),
        author,
        public: kind != "note",
        body_text: switchover_adapter::html::text_of(&html),
        body_html: Some(html),
        attachments,
        created_at: time(t, "createdAt"),
        ..Default::default()
    };
    Some((marker, record.into_record()))
}

/// The status of a Help Scout conversation status (active reads as open).
pub(crate) fn status_from(status: &str) -> TicketStatus {
    match status {
        "pending" => TicketStatus::Pending,
        "closed" | "spam" => TicketStatus::Closed,
        _ => TicketStatus::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_tag_reads_back_any_source_id() {
        for id in ["t-1", "12345", "Ünïcødé/ID 7", "a_b"] {
            let tag = marker_tag(id);
            assert!(
                tag.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'_'),
                "{tag}"
            );
            assert_eq!(marker_of_tag(&tag).as_deref(), Some(id));
        }
        assert_eq!(marker_of_tag("vip"), None);
    }

    #[test]
    fn names_split_into_first_and_last_of_at_most_40_characters() {
        assert_eq!(split_name("Ada Admin"), ("Ada Admin".into(), String::new()));
        let hostile = switchover_testkit_free_hostile();
        let (first, last) = split_name(hostile);
        assert!(first.chars().count() <= 40 && last.chars().count() <= 40);
        assert_eq!(format!("{first} {last}"), hostile);
    }

    fn switchover_testkit_free_hostile() -> &'static str {
        "hello? sausage/êé/Hello, 世界/ \" ' @ < > & ? + ≠/z"
    }
}
