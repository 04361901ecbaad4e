//! Reading: incremental exports, cursor pagination, comments ticket by ticket, and the
//! conversion of each Zendesk object into the canonical model.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchover_adapter::{AdapterError, Cursor, PageRequest};
use switchover_model::*;

use crate::convert::*;
use crate::{FieldInfo, NAME, Zendesk, rules, wire};

/// Records with their source markers (read-back) and the next cursor.
pub(crate) type Records = Vec<(Option<String>, Record)>;

/// Where a multi-stage list (several endpoints for one kind) stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StageCursor {
    /// Index of the endpoint being read.
    s: usize,
    /// Next URL within it; `None` starts the endpoint.
    u: Option<String>,
}

/// Where the comment stream stands: the ticket page to fetch next, the tickets of the
/// current page still to visit, and the next comment page of the first of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CommentCursor {
    after: Option<String>,
    ids: Vec<String>,
    next: Option<String>,
}

fn bad_cursor(kind: Kind, e: impl std::fmt::Display) -> AdapterError {
    AdapterError::config(
        NAME,
        format!("the saved {kind} cursor cannot be read ({e}); start the kind again without it"),
    )
}

fn decode<T: DeserializeOwned + Default>(
    kind: Kind,
    cursor: &Option<Cursor>,
) -> Result<Option<T>, AdapterError> {
    match cursor {
        None => Ok(None),
        Some(Cursor(text)) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| bad_cursor(kind, e)),
    }
}

fn encode<T: Serialize>(value: &T) -> Cursor {
    Cursor(serde_json::to_string(value).unwrap_or_default())
}

fn page_size(request: &PageRequest) -> usize {
    request.page_size.unwrap_or(100).clamp(1, 100)
}

/// Page size for incremental exports: always their largest, 1,000. They allow 10
/// requests a minute, so the engine's write-sized pages (100) would make reading 100,000
/// tickets take 100 minutes instead of 10.
fn export_size(_request: &PageRequest) -> usize {
    1000
}

/// `start_time` for an incremental export, or `None` when `changed_since` is so recent
/// (or in the future) that nothing can have changed: Zendesk refuses start times less
/// than a minute old.
fn start_time(request: &PageRequest) -> Option<i64> {
    match request.changed_since {
        None => Some(0),
        Some(since) if since.unix() > Timestamp::now().unix() - 60 => None,
        Some(since) => Some(since.unix()),
    }
}

fn parse<T: DeserializeOwned>(kind: Kind, value: Value) -> Result<T, AdapterError> {
    serde_json::from_value(value).map_err(|e| {
        AdapterError::transient(
            NAME,
            format!("a {kind} in Zendesk's answer has an unexpected shape: {e}"),
        )
    })
}

/// One page of a list endpoint: items under `key` and the next URL, in either the
/// cursor-pagination shape (`meta.has_more`, `links.next`) or the incremental-export one
/// (`end_of_stream`, `after_url` / `next_page`).
pub(crate) struct ListAnswer {
    pub(crate) items: Vec<Value>,
    pub(crate) next: Option<String>,
    /// Side-loaded arrays (`include=`), by key.
    pub(crate) sideloads: BTreeMap<String, Value>,
}

impl Zendesk {
    pub(crate) fn list(&self, url: &str, key: &str) -> Result<ListAnswer, AdapterError> {
        self.list_http(url, key).map_err(|e| e.into_adapter(NAME))
    }

    pub(crate) fn list_http(
        &self,
        url: &str,
        key: &str,
    ) -> Result<ListAnswer, switchover_http::HttpError> {
        let mut page: wire::ListPage = self.http.get_json(url)?;
        let items = match page.rest.remove(key) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other],
        };
        let next = if let Some(end) = page.end_of_stream {
            if end || items.is_empty() {
                None
            } else {
                page.after_url.or(page.next_page)
            }
        } else if let Some(meta) = &page.meta {
            if meta.has_more {
                page.links.as_ref().and_then(|l| l.next.clone())
            } else {
                None
            }
        } else if items.is_empty() {
            None
        } else {
            page.next_page
        };
        Ok(ListAnswer {
            items,
            next,
            sideloads: std::mem::take(&mut page.rest),
        })
    }

    /// Reads one page of `kind`; with `read_back`, through the endpoints that list what a
    /// target holds (cursor pagination) instead of the exports.
    pub(crate) fn read_kind(
        &self,
        kind: Kind,
        request: &PageRequest,
        read_back: bool,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        let size = page_size(request);
        let cbp = |path: &str| {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}page[size]={size}")
        };
        let stages: Vec<(String, &str)> = match kind {
            Kind::FieldDefinition => vec![
                (cbp("ticket_fields.json"), "ticket_fields"),
                (cbp("user_fields.json"), "user_fields"),
                (cbp("organization_fields.json"), "organization_fields"),
            ],
            Kind::Organization => {
                if request.changed_since.is_some() && !read_back {
                    let Some(start) = start_time(request) else {
                        return Ok((Vec::new(), None));
                    };
                    vec![(
                        format!(
                            "incremental/organizations.json?start_time={start}&per_page={}",
                            export_size(request)
                        ),
                        "organizations",
                    )]
                } else {
                    vec![(cbp("organizations.json"), "organizations")]
                }
            }
            Kind::User => {
                if read_back {
                    vec![(cbp("users.json"), "users")]
                } else {
                    let Some(start) = start_time(request) else {
                        return Ok((Vec::new(), None));
                    };
                    vec![(
                        format!(
                            "incremental/users/cursor.json?start_time={start}&per_page={}",
                            export_size(request)
                        ),
                        "users",
                    )]
                }
            }
            Kind::Group => vec![(cbp("groups.json"), "groups")],
            Kind::GroupMembership => vec![(cbp("group_memberships.json"), "group_memberships")],
            // The export, for reading back too: `GET /tickets` leaves out archived
            // tickets, and Zendesk archives closed ones (imported ones included) on its
            // own schedule, so a verification days later would call them missing.
            Kind::Ticket => {
                let Some(start) = start_time(request) else {
                    return Ok((Vec::new(), None));
                };
                vec![(
                    format!(
                        "incremental/tickets/cursor.json?start_time={start}&per_page={}",
                        export_size(request)
                    ),
                    "tickets",
                )]
            }
            Kind::Comment => return self.read_comments(request),
            Kind::SatisfactionRating => {
                vec![(cbp("satisfaction_ratings.json"), "satisfaction_ratings")]
            }
            Kind::KbCategory => vec![(cbp("help_center/categories.json"), "categories")],
            Kind::KbSection => vec![(cbp("help_center/sections.json"), "sections")],
            Kind::KbArticle => vec![(cbp("help_center/articles.json"), "articles")],
            Kind::Macro => vec![(cbp("macros.json"), "macros")],
            Kind::Rule => vec![
                (cbp("triggers.json"), "triggers"),
                (cbp("automations.json"), "automations"),
            ],
            Kind::View => vec![(cbp("views.json"), "views")],
            Kind::Webhook => vec![(cbp("webhooks"), "webhooks")],
            Kind::SlaPolicy => vec![("slas/policies.json".to_string(), "sla_policies")],
            Kind::Attachment => return Err(AdapterError::unsupported(NAME, kind, "read")),
        };
        let mut at: StageCursor = decode(kind, &request.cursor)?.unwrap_or_default();
        let mut out = Vec::new();
        while at.s < stages.len() {
            let (first, key) = &stages[at.s];
            let mut url = at.u.clone().unwrap_or_else(|| first.clone());
            if kind == Kind::Ticket && !url.contains("include=") {
                // Next-page links need not repeat the side-loads asked for.
                url.push_str(if url.contains('?') { "&" } else { "?" });
                url.push_str("include=metric_sets");
            }
            let answer = self.list(&url, key)?;
            // Ticket metrics (side-loaded) hold when a ticket was solved.
            let solved: HashMap<String, String> = answer
                .sideloads
                .get("metric_sets")
                .and_then(Value::as_array)
                .map(|sets| {
                    sets.iter()
                        .filter_map(|m| {
                            let ticket = match m.get("ticket_id")? {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            Some((ticket, m.get("solved_at")?.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            for item in answer.items {
                if let Some(mut record) = self.convert(kind, at.s, item, request, read_back)? {
                    if let Record::Ticket(t) = &mut record.1
                        && t.solved_at.is_none()
                    {
                        t.solved_at = solved.get(&t.id).and_then(|s| s.parse().ok());
                    }
                    out.push(record);
                }
            }
            match answer.next {
                Some(next) => at.u = Some(next),
                None => {
                    at = StageCursor {
                        s: at.s + 1,
                        u: None,
                    };
                }
            }
            if !out.is_empty() || at.u.is_some() {
                break;
            }
        }
        let next = (at.s < stages.len()).then(|| encode(&at));
        Ok((out, next))
    }

    fn convert(
        &self,
        kind: Kind,
        stage: usize,
        item: Value,
        request: &PageRequest,
        read_back: bool,
    ) -> Result<Option<(Option<String>, Record)>, AdapterError> {
        let converted = match kind {
            Kind::FieldDefinition => {
                let object = [
                    FieldObject::Ticket,
                    FieldObject::User,
                    FieldObject::Organization,
                ][stage.min(2)];
                self.field_record(object, parse(kind, item)?)
            }
            Kind::Organization => Some(self.organization_record(parse(kind, item)?)?),
            Kind::User => {
                let user: wire::User = parse(kind, item)?;
                // A target lists what it holds; a deleted user is gone from it.
                if read_back && user.active == Some(false) {
                    None
                } else {
                    Some(self.user_record(user)?)
                }
            }
            Kind::Group => group_record(parse(kind, item)?),
            Kind::GroupMembership => Some(membership_record(parse(kind, item)?)),
            Kind::Ticket => self.ticket_record(parse(kind, item)?)?,
            Kind::SatisfactionRating => rating_record(parse(kind, item)?),
            Kind::KbCategory | Kind::KbSection => Some(hc_record(kind, parse(kind, item)?)),
            Kind::KbArticle => self.article_record(parse(kind, item)?)?,
            Kind::Macro => Some(macro_record(parse(kind, item)?)),
            Kind::Rule => Some(rule_record(
                if stage == 0 {
                    RuleKind::Trigger
                } else {
                    RuleKind::Automation
                },
                parse(kind, item)?,
            )),
            Kind::View => Some(view_record(parse(kind, item)?)),
            Kind::Webhook => Some(webhook_record(parse(kind, item)?)),
            Kind::SlaPolicy => Some(sla_record(parse(kind, item)?)),
            Kind::Comment | Kind::Attachment => None,
        };
        // Exports may return a record changed before start_time (generated_timestamp
        // decides); a delta run wants nothing older than it asked for.
        Ok(converted.filter(
            |(_, record)| match (request.changed_since, record.changed_at()) {
                (Some(since), Some(at)) => at >= since,
                _ => true,
            },
        ))
    }

    /// Every custom field definition on the account, by Zendesk id (cached).
    pub(crate) fn fields(&self) -> Result<HashMap<String, FieldInfo>, AdapterError> {
        if let Some(fields) = &self.cache.lock().fields {
            return Ok(fields.clone());
        }
        // Kinds read side by side may all get here: one thread lists the fields, the
        // others wait and find them.
        let _loading = self
            .cache_load
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(fields) = &self.cache.lock().fields {
            return Ok(fields.clone());
        }
        let mut all = HashMap::new();
        for (object, path, key) in [
            (
                FieldObject::Ticket,
                "ticket_fields.json?page[size]=100",
                "ticket_fields",
            ),
            (
                FieldObject::User,
                "user_fields.json?page[size]=100",
                "user_fields",
            ),
            (
                FieldObject::Organization,
                "organization_fields.json?page[size]=100",
                "organization_fields",
            ),
        ] {
            let mut url = Some(path.to_string());
            while let Some(current) = url {
                let answer = self.list(&current, key)?;
                for item in answer.items {
                    let field: wire::Field = parse(Kind::FieldDefinition, item)?;
                    let Some((_, Record::FieldDefinition(def))) =
                        self.field_record(object, field.clone())
                    else {
                        continue;
                    };
                    all.insert(
                        id_of(&field.id),
                        FieldInfo {
                            object,
                            key: def.key,
                            field_type: def.field_type,
                        },
                    );
                }
                url = answer.next;
            }
        }
        self.cache.lock().fields = Some(all.clone());
        Ok(all)
    }

    pub(crate) fn forget_fields(&self) {
        self.cache.lock().fields = None;
    }

    fn field_record(
        &self,
        object: FieldObject,
        f: wire::Field,
    ) -> Option<(Option<String>, Record)> {
        let field_type = field_type_from(f.field_type.as_deref()?)?;
        if f.removable == Some(false) {
            return None;
        }
        let (_, marker) = MARKER.split(f.description.as_deref().unwrap_or_default());
        let title = f.title.clone().unwrap_or_default();
        let key = f
            .key
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| title.to_lowercase().replace(' ', "_"));
        let def = FieldDefinition {
            id: id_of(&f.id),
            object,
            key,
            title,
            field_type,
            options: f
                .custom_field_options
                .unwrap_or_default()
                .into_iter()
                .map(|o| FieldOption {
                    value: o.value.unwrap_or_default(),
                    label: o.name.unwrap_or_default(),
                })
                .collect(),
            pattern: f.regexp_for_validation.filter(|p| !p.is_empty()),
            required: f.required.unwrap_or(false),
            active: f.active.unwrap_or(true),
            position: f.position,
            extra: Extra::new(),
        };
        Some((marker, def.into_record()))
    }

    fn keyed_values(
        &self,
        object: FieldObject,
        values: Option<BTreeMap<String, Value>>,
    ) -> Result<CustomFields, AdapterError> {
        let mut out = CustomFields::new();
        let values = values.unwrap_or_default();
        if values.values().all(Value::is_null) {
            return Ok(out);
        }
        for (id, info) in self.fields()? {
            if info.object != object {
                continue;
            }
            if let Some(value) = values
                .get(&info.key)
                .and_then(|v| value_from(info.field_type, v))
            {
                out.insert(Ref::new(id), value);
            }
        }
        Ok(out)
    }

    fn organization_record(
        &self,
        o: wire::Organization,
    ) -> Result<(Option<String>, Record), AdapterError> {
        let org = Organization {
            id: id_of(&o.id),
            name: o.name.unwrap_or_default(),
            domains: o.domain_names.unwrap_or_default().into_iter().collect(),
            details: o.details.filter(|d| !d.is_empty()),
            notes: o.notes.filter(|d| !d.is_empty()),
            tags: o.tags.unwrap_or_default().into_iter().collect(),
            custom_fields: self.keyed_values(FieldObject::Organization, o.organization_fields)?,
            created_at: ts(&o.created_at),
            updated_at: ts(&o.updated_at),
            extra: Extra::new(),
        };
        Ok((o.external_id, org.into_record()))
    }

    fn user_record(&self, u: wire::User) -> Result<(Option<String>, Record), AdapterError> {
        let mut tags: std::collections::BTreeSet<String> =
            u.tags.unwrap_or_default().into_iter().collect();
        let marked_deleted = tags.remove(DELETED_TAG);
        let state = if u.active == Some(false) || marked_deleted {
            UserState::Deleted
        } else if u.suspended == Some(true) {
            UserState::Suspended
        } else {
            UserState::Active
        };
        let user = User {
            id: id_of(&u.id),
            name: u.name.unwrap_or_default(),
            email: u.email.filter(|e| !e.is_empty()),
            phone: u.phone.filter(|p| !p.is_empty()),
            role: role_from(u.role.as_deref().unwrap_or_default()),
            state,
            organization: opt_ref(&u.organization_id),
            locale: u.locale,
            time_zone: u.iana_time_zone.or(u.time_zone),
            tags,
            custom_fields: self.keyed_values(FieldObject::User, u.user_fields)?,
            created_at: ts(&u.created_at),
            updated_at: ts(&u.updated_at),
            extra: Extra::new(),
        };
        Ok((u.external_id, user.into_record()))
    }

    pub(crate) fn ticket_record(
        &self,
        t: wire::Ticket,
    ) -> Result<Option<(Option<String>, Record)>, AdapterError> {
        if t.status.as_deref() == Some("deleted") {
            return Ok(None);
        }
        let mut custom_fields = CustomFields::new();
        let values = t.custom_fields.or(t.fields).unwrap_or_default();
        if values.iter().any(|v| !v.value.is_null()) {
            let fields = self.fields()?;
            for v in values {
                if let Some(info) = fields.get(&v.id.0)
                    && let Some(value) = value_from(info.field_type, &v.value)
                {
                    custom_fields.insert(Ref::new(v.id.0.clone()), value);
                }
            }
        }
        let mut extra = Extra::new();
        for (key, value) in [
            (
                "brand_id",
                t.brand_id.as_ref().map(|i| Value::from(i.0.clone())),
            ),
            (
                "ticket_form_id",
                t.ticket_form_id.as_ref().map(|i| Value::from(i.0.clone())),
            ),
            ("external_id", t.external_id.clone().map(Value::from)),
            ("satisfaction_rating", t.satisfaction_rating.clone()),
        ] {
            if let Some(value) = value.filter(|v| !v.is_null()) {
                extra.insert(key.to_string(), value);
            }
        }
        for key in [
            "custom_status_id",
            "due_at",
            "collaborator_ids",
            "follower_ids",
            "email_cc_ids",
            "recipient",
            "is_public",
            "sharing_agreement_ids",
            "followup_ids",
        ] {
            if let Some(value) = t
                .other
                .get(key)
                .filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
            {
                extra.insert(key.to_string(), value.clone());
            }
        }
        let mut links = std::collections::BTreeSet::new();
        if let Some(problem) = opt_ref::<Ticket>(&t.problem_id) {
            links.insert(TicketLink {
                kind: LinkKind::IncidentOf,
                ticket: problem,
            });
        }
        let ticket = Ticket {
            id: id_of(&t.id),
            subject: t.subject.unwrap_or_default(),
            status: status_from(t.status.as_deref().unwrap_or_default()),
            priority: t.priority.as_deref().and_then(priority_from),
            ticket_type: t.ticket_type.as_deref().and_then(type_from),
            tags: t.tags.unwrap_or_default().into_iter().collect(),
            requester: opt_ref(&t.requester_id),
            submitter: opt_ref(&t.submitter_id),
            assignee: opt_ref(&t.assignee_id),
            group: opt_ref(&t.group_id),
            organization: opt_ref(&t.organization_id),
            channel: t
                .via
                .as_ref()
                .and_then(|v| v.channel.as_ref())
                .and_then(|c| c.as_str().map(str::to_string)),
            custom_fields,
            links,
            archived: false,
            created_at: ts(&t.created_at),
            updated_at: ts(&t.updated_at),
            solved_at: ts(&t.solved_at),
            extra,
        };
        Ok(Some((t.external_id, ticket.into_record())))
    }

    fn read_comments(
        &self,
        request: &PageRequest,
    ) -> Result<(Records, Option<Cursor>), AdapterError> {
        let size = page_size(request);
        let mut at: CommentCursor = match decode(Kind::Comment, &request.cursor)? {
            Some(at) => at,
            None => {
                // Tickets come from the export, archived ones included (see tickets).
                let Some(start) = start_time(request) else {
                    return Ok((Vec::new(), None));
                };
                let first = format!(
                    "incremental/tickets/cursor.json?start_time={start}&per_page={}",
                    export_size(request)
                );
                CommentCursor {
                    after: Some(first),
                    ids: Vec::new(),
                    next: None,
                }
            }
        };
        let mut out = Vec::new();
        while out.len() < size {
            if at.ids.is_empty() {
                let Some(url) = at.after.take() else { break };
                let answer = self.list(&url, "tickets")?;
                at.after = answer.next;
                for item in answer.items {
                    let t: wire::Ticket = parse(Kind::Ticket, item)?;
                    if t.status.as_deref() != Some("deleted") && t.id.is_some() {
                        at.ids.push(id_of(&t.id));
                    }
                }
                continue;
            };
            // The comments of the next tickets are asked for at once; a ticket whose
            // comments run over one page is continued alone, in order.
            let urls: Vec<String> = match at.next.take() {
                Some(next) => vec![next],
                None => at
                    .ids
                    .iter()
                    .take(self.read_width)
                    .map(|id| format!("tickets/{id}/comments.json?page[size]={}", size.max(10)))
                    .collect(),
            };
            let answers =
                switchover_adapter::parallel::map_ordered(&urls, self.read_width, |url| {
                    self.list_http(url, "comments")
                });
            for answer in answers {
                let Some(ticket_id) = at.ids.first().cloned() else {
                    break;
                };
                let answer = match answer {
                    Ok(answer) => answer,
                    // The ticket went away (deleted) since the export listed it.
                    Err(e) if e.status() == Some(404) => {
                        at.ids.remove(0);
                        continue;
                    }
                    Err(e) => return Err(e.into_adapter(NAME)),
                };
                for item in answer.items {
                    let c: wire::Comment = parse(Kind::Comment, item)?;
                    let (marker, record) = comment_record(&ticket_id, c);
                    let keep = match (request.changed_since, record.changed_at()) {
                        (Some(since), Some(at)) => at >= since,
                        _ => true,
                    };
                    if keep {
                        out.push((marker, record));
                    }
                }
                match answer.next {
                    // Its next page before any later ticket: the answers asked for
                    // after it are dropped and asked for again.
                    Some(next) => {
                        at.next = Some(next);
                        break;
                    }
                    None => {
                        at.ids.remove(0);
                    }
                }
            }
        }
        let done = at.ids.is_empty() && at.after.is_none();
        Ok((out, (!done).then(|| encode(&at))))
    }

    pub(crate) fn open_content(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        let url = attachment.location.as_deref().ok_or_else(|| {
            AdapterError::fatal(
                NAME,
                format!(
                    "attachment '{}' has no content URL to read it from",
                    attachment.file_name
                ),
            )
        })?;
        self.http
            .download(url)
            .map_err(|e| e.for_record(NAME, Kind::Attachment, &attachment.id))
    }
}

fn group_record(g: wire::Group) -> Option<(Option<String>, Record)> {
    if g.deleted == Some(true) {
        return None;
    }
    let (description, marker) = MARKER.split(g.description.as_deref().unwrap_or_default());
    let group = Group {
        id: id_of(&g.id),
        name: g.name.unwrap_or_default(),
        description: Some(description).filter(|d| !d.is_empty()),
        created_at: ts(&g.created_at),
        updated_at: ts(&g.updated_at),
        extra: Extra::new(),
    };
    Some((marker, group.into_record()))
}

fn membership_record(m: wire::GroupMembership) -> (Option<String>, Record) {
    let membership = GroupMembership {
        id: id_of(&m.id),
        group: Ref::new(id_of(&m.group_id)),
        user: Ref::new(id_of(&m.user_id)),
        is_default: m.default.unwrap_or(false),
        extra: Extra::new(),
    };
    (None, membership.into_record())
}

pub(crate) fn comment_record(ticket_id: &str, c: wire::Comment) -> (Option<String>, Record) {
    let marker = c
        .metadata
        .as_ref()
        .and_then(|m| m.pointer("/custom/switchover_source_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let comment = Comment {
        id: id_of(&c.id),
        ticket: Ref::new(ticket_id),
        author: opt_ref(&c.author_id),
        public: c.public.unwrap_or(true),
        body_html: c.html_body.as_deref().map(unwrap_comment_html),
        body_text: c.body.or(c.plain_body).unwrap_or_default(),
        attachments: c
            .attachments
            .unwrap_or_default()
            .into_iter()
            .map(|a| Attachment {
                id: id_of(&a.id),
                file_name: a.file_name.unwrap_or_default(),
                content_type: a.content_type.unwrap_or_default(),
                size: a.size.unwrap_or(0),
                sha256: None,
                inline: a.inline.unwrap_or(false),
                location: a.content_url,
                extra: Extra::new(),
            })
            .collect(),
        created_at: ts(&c.created_at),
        extra: Extra::new(),
    };
    (marker, comment.into_record())
}

fn rating_record(r: wire::SatisfactionRating) -> Option<(Option<String>, Record)> {
    let score = match r.score.as_deref()? {
        "good" => Score::Good,
        "bad" => Score::Bad,
        _ => return None,
    };
    let rating = SatisfactionRating {
        id: id_of(&r.id),
        ticket: Ref::new(id_of(&r.ticket_id)),
        requester: opt_ref(&r.requester_id),
        score,
        comment: r.comment.filter(|c| !c.is_empty()),
        created_at: ts(&r.created_at),
        extra: Extra::new(),
    };
    Some((None, rating.into_record()))
}

/// A Help Center category (`kind`) or section (anything else), marker stripped.
fn hc_record(kind: Kind, mut h: wire::HcItem) -> (Option<String>, Record) {
    let (description, marker) = MARKER.split(h.description.as_deref().unwrap_or_default());
    h.description = Some(description);
    let record = match kind {
        Kind::KbCategory => KbCategory {
            id: id_of(&h.id),
            name: h.name.unwrap_or_default(),
            description: h.description.filter(|d| !d.is_empty()),
            locale: h.locale.or(h.source_locale),
            position: h.position,
            created_at: ts(&h.created_at),
            updated_at: ts(&h.updated_at),
            extra: Extra::new(),
        }
        .into_record(),
        _ => KbSection {
            id: id_of(&h.id),
            category: Ref::new(id_of(&h.category_id)),
            parent: opt_ref(&h.parent_section_id),
            name: h.name.unwrap_or_default(),
            description: h.description.filter(|d| !d.is_empty()),
            locale: h.locale.or(h.source_locale),
            position: h.position,
            created_at: ts(&h.created_at),
            updated_at: ts(&h.updated_at),
            extra: Extra::new(),
        }
        .into_record(),
    };
    (marker, record)
}

fn macro_record(m: wire::Rule) -> (Option<String>, Record) {
    let (title, marker) = MARKER.split(m.title.as_deref().unwrap_or_default());
    let mut untranslated = Vec::new();
    let actions = rules::actions_from(&m.actions.unwrap_or_default(), &mut untranslated);
    let record = Macro {
        id: id_of(&m.id),
        title,
        description: m.description.filter(|d| !d.is_empty()),
        active: m.active.unwrap_or(true),
        actions,
        position: m.position,
        untranslated,
        created_at: ts(&m.created_at),
        updated_at: ts(&m.updated_at),
        extra: Extra::new(),
    };
    (marker, record.into_record())
}

fn rule_record(rule_kind: RuleKind, r: wire::Rule) -> (Option<String>, Record) {
    let (title, marker) = MARKER.split(r.title.as_deref().unwrap_or_default());
    let mut untranslated = Vec::new();
    let (conditions, events) = rules::conditions_from(&r.conditions, &mut untranslated);
    let events = rules::zendesk_events(rule_kind, &events);
    let actions = rules::actions_from(&r.actions.unwrap_or_default(), &mut untranslated);
    let record = Rule {
        id: id_of(&r.id),
        rule_kind,
        title,
        active: r.active.unwrap_or(true),
        events,
        conditions,
        actions,
        position: r.position,
        untranslated,
        created_at: ts(&r.created_at),
        updated_at: ts(&r.updated_at),
        extra: Extra::new(),
    };
    (marker, record.into_record())
}

fn view_record(v: wire::View) -> (Option<String>, Record) {
    let (title, marker) = MARKER.split(v.title.as_deref().unwrap_or_default());
    let execution = v.execution.unwrap_or_default();
    let mut untranslated = Vec::new();
    let (conditions, _) = rules::conditions_from(&v.conditions, &mut untranslated);
    let record = View {
        id: id_of(&v.id),
        title,
        active: v.active.unwrap_or(true),
        conditions,
        untranslated,
        columns: execution
            .columns
            .unwrap_or_default()
            .iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        sort_by: execution.sort_by,
        sort_ascending: execution.sort_order.as_deref() != Some("desc"),
        position: v.position,
        created_at: ts(&v.created_at),
        updated_at: ts(&v.updated_at),
        extra: Extra::new(),
    };
    (marker, record.into_record())
}

fn webhook_record(w: wire::Webhook) -> (Option<String>, Record) {
    let (_, marker) = MARKER.split(w.description.as_deref().unwrap_or_default());
    let auth = match w.authentication {
        None => WebhookAuth::None,
        Some(a) => match a.auth_type.as_deref() {
            Some("basic_auth") => WebhookAuth::Basic {
                username: a
                    .data
                    .as_ref()
                    .and_then(|d| d.get("username"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            },
            Some("bearer_token") => WebhookAuth::BearerToken,
            Some("api_key") => WebhookAuth::ApiKey {
                header: a
                    .data
                    .as_ref()
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            },
            _ => WebhookAuth::None,
        },
    };
    let record = Webhook {
        id: id_of(&w.id),
        name: w.name.unwrap_or_default(),
        endpoint: w.endpoint.unwrap_or_default(),
        method: w.http_method.unwrap_or_default(),
        format: w.request_format.unwrap_or_default(),
        auth,
        active: w.status.as_deref() != Some("inactive"),
        subscriptions: w.subscriptions.unwrap_or_default().into_iter().collect(),
        created_at: ts(&w.created_at),
        updated_at: ts(&w.updated_at),
        extra: Extra::new(),
    };
    (marker, record.into_record())
}

fn sla_record(s: wire::SlaPolicy) -> (Option<String>, Record) {
    let (description, marker) = MARKER.split(s.description.as_deref().unwrap_or_default());
    let mut untranslated = Vec::new();
    let (filter, _) = rules::conditions_from(&s.filter, &mut untranslated);
    let record = SlaPolicy {
        id: id_of(&s.id),
        title: s.title.unwrap_or_default(),
        description: Some(description).filter(|d| !d.is_empty()),
        position: s.position,
        filter,
        untranslated,
        targets: s
            .policy_metrics
            .unwrap_or_default()
            .into_iter()
            .map(|m| SlaTarget {
                priority: m.priority.as_deref().and_then(priority_from),
                metric: m.metric.unwrap_or_default(),
                minutes: m.target.unwrap_or(0),
                business_hours: m.business_hours.unwrap_or(false),
            })
            .collect(),
        created_at: ts(&s.created_at),
        updated_at: ts(&s.updated_at),
        extra: Extra::new(),
    };
    (marker, record.into_record())
}
