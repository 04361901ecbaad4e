//! Canonical seed records -> Zendesk-shaped JSON, and the numeric id scheme.
//! This is the emulator's own conversion: it shares nothing with the adapter.

use serde_json::{Value, json};
use switchover_model::*;
use switchover_sandbox::generate::{Generator, field_type_name};

/// First id of each collection; seeded record `i` has id `base + i` (tickets start at 1).
pub mod base {
    /// Tickets (nice ids from 1).
    pub const TICKETS: u64 = 1;
    /// Users: agents (admin first), then end users.
    pub const USERS: u64 = 360_000_000_000;
    /// Organizations.
    pub const ORGS: u64 = 361_000_000_000;
    /// Groups.
    pub const GROUPS: u64 = 362_000_000_000;
    /// Group memberships.
    pub const MEMBERSHIPS: u64 = 363_000_000_000;
    /// Ticket fields (system fields first).
    pub const TICKET_FIELDS: u64 = 364_000_000_000;
    /// User fields.
    pub const USER_FIELDS: u64 = 364_100_000_000;
    /// Organization fields.
    pub const ORG_FIELDS: u64 = 364_200_000_000;
    /// Satisfaction ratings (by ticket index).
    pub const CSAT: u64 = 365_000_000_000;
    /// Macros.
    pub const MACROS: u64 = 366_000_000_000;
    /// Triggers.
    pub const TRIGGERS: u64 = 367_000_000_000;
    /// Automations.
    pub const AUTOMATIONS: u64 = 368_000_000_000;
    /// Views.
    pub const VIEWS: u64 = 369_000_000_000;
    /// Webhooks (served as ULID-like strings).
    pub const WEBHOOKS: u64 = 370_000_000_000;
    /// SLA policies.
    pub const SLAS: u64 = 371_000_000_000;
    /// Help Center categories.
    pub const KB_CATEGORIES: u64 = 372_000_000_000;
    /// Help Center sections.
    pub const KB_SECTIONS: u64 = 373_000_000_000;
    /// Help Center articles.
    pub const KB_ARTICLES: u64 = 374_000_000_000;
    /// Guide permission groups (the built-in `Admins` group first).
    pub const PERMISSION_GROUPS: u64 = 375_000_000_000;
    /// Help Center translations other than an article's source locale (the source
    /// locale's translation has the article's id).
    pub const KB_TRANSLATIONS: u64 = 376_000_000_000;
    /// Help Center article attachments.
    pub const KB_ATTACHMENTS: u64 = 377_000_000_000;
    /// Comments: `COMMENTS + ticket_id * 10_000 + j`.
    pub const COMMENTS: u64 = 500_000_000_000;
    /// Seeded attachments: `ATTACHMENTS + (ticket_id * 10_000 + j) * 10 + k`.
    pub const ATTACHMENTS: u64 = 1_000_000_000_000_000;
    /// Uploaded attachments (and created comments), counted from here.
    pub const UPLOADED: u64 = 900_000_000_000_000;
}

/// System ticket fields listed before custom ones (not removable).
pub const SYSTEM_TICKET_FIELDS: &[(&str, &str)] = &[
    ("subject", "Subject"),
    ("description", "Description"),
    ("status", "Status"),
    ("tickettype", "Type"),
    ("priority", "Priority"),
    ("group", "Group"),
    ("assignee", "Assignee"),
];

/// Locales enabled in the emulated Help Center (the first is the default); articles and
/// translations in any other locale are refused, as Zendesk refuses locales a Help Center
/// has not enabled.
pub const HC_LOCALES: &[&str] = &["en-us", "de", "fr", "es", "nl", "ja", "ar", "he", "pt-br"];

/// Maps canonical ids of the seed to Zendesk numeric ids.
#[derive(Debug, Clone)]
pub struct Ids {
    /// Agents including the admin (`agent-0`).
    pub agents: usize,
}

impl Ids {
    /// The Zendesk id of a canonical seed id, by its prefix.
    pub fn of(&self, id: &str) -> Option<u64> {
        let (prefix, rest) = id.rsplit_once('-')?;
        let n: u64 = rest.parse().ok()?;
        Some(match prefix {
            "agent" => base::USERS + n,
            "user" => base::USERS + self.agents as u64 + n,
            "org" => base::ORGS + n,
            "group" => base::GROUPS + n,
            "ticket" => base::TICKETS + n,
            "kbcat" => base::KB_CATEGORIES + n,
            "kbsec" => base::KB_SECTIONS + n,
            _ => return None,
        })
    }

    fn opt<T: Entity>(&self, r: &Option<Ref<T>>) -> Value {
        r.as_ref()
            .and_then(|r| self.of(r.id()))
            .map(Value::from)
            .unwrap_or(Value::Null)
    }
}

/// Timestamp as Zendesk writes it (`2023-09-18T23:22:25Z`).
pub fn zts(t: &Option<Timestamp>) -> Value {
    t.as_ref()
        .map(|t| Value::from(t.as_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()))
        .unwrap_or(Value::Null)
}

/// A unix time as a Zendesk timestamp.
pub fn zts_unix(seconds: i64) -> Value {
    zts(&Timestamp::from_unix(seconds))
}

/// Context for URLs.
pub struct Ctx<'a> {
    /// `http://127.0.0.1:PORT`.
    pub base_url: &'a str,
    /// Id mapping.
    pub ids: &'a Ids,
    /// The generator.
    pub generator: &'a Generator,
}

impl Ctx<'_> {
    fn url(&self, collection: &str, id: u64) -> String {
        format!("{}/api/v2/{collection}/{id}.json", self.base_url)
    }

    /// Organization JSON.
    pub fn organization(&self, id: u64, o: &Organization) -> Value {
        json!({
            "url": self.url("organizations", id), "id": id, "name": o.name,
            "shared_tickets": false, "shared_comments": false, "external_id": Value::Null,
            "created_at": zts(&o.created_at), "updated_at": zts(&o.updated_at),
            "domain_names": o.domains, "details": o.details, "notes": o.notes, "group_id": Value::Null,
            "tags": o.tags, "organization_fields": self.field_map(FieldObject::Organization, &o.custom_fields),
        })
    }

    fn field_map(&self, object: FieldObject, values: &CustomFields) -> Value {
        let mut map = serde_json::Map::new();
        for definition in self.generator.field_definitions(object) {
            let value = values
                .get(&Ref::new(definition.id.clone()))
                .map(field_value)
                .unwrap_or(Value::Null);
            map.insert(definition.key.clone(), value);
        }
        Value::Object(map)
    }

    /// User JSON.
    pub fn user(&self, id: u64, u: &User) -> Value {
        let role = match u.role {
            UserRole::EndUser => "end-user",
            UserRole::Agent => "agent",
            UserRole::Admin => "admin",
        };
        json!({
            "id": id, "url": self.url("users", id), "name": u.name, "email": u.email,
            "created_at": zts(&u.created_at), "updated_at": zts(&u.updated_at),
            "time_zone": u.time_zone, "iana_time_zone": u.time_zone, "phone": u.phone,
            "shared_phone_number": Value::Null, "photo": Value::Null, "locale_id": 1,
            "locale": u.locale, "organization_id": self.ids.opt(&u.organization), "role": role,
            "verified": true, "external_id": Value::Null, "tags": u.tags, "alias": Value::Null,
            "active": u.state != UserState::Deleted, "shared": false, "shared_agent": false,
            "last_login_at": Value::Null, "two_factor_auth_enabled": false, "signature": Value::Null,
            "details": Value::Null, "notes": Value::Null,
            "role_type": if u.role == UserRole::Admin { Value::from(4) } else { Value::Null },
            "custom_role_id": Value::Null, "moderator": u.role != UserRole::EndUser,
            "ticket_restriction": if u.role == UserRole::EndUser { Value::from("requested") } else { Value::Null },
            "only_private_comments": false, "restricted_agent": u.role == UserRole::EndUser,
            "suspended": u.state == UserState::Suspended, "chat_only": false,
            "default_group_id": Value::Null, "report_csv": u.role == UserRole::Admin,
            "user_fields": self.field_map(FieldObject::User, &u.custom_fields),
        })
    }

    /// Group JSON.
    pub fn group(&self, id: u64, g: &Group) -> Value {
        json!({
            "url": self.url("groups", id), "id": id, "name": g.name, "description": g.description.clone().unwrap_or_default(),
            "default": id == base::GROUPS, "deleted": false, "is_public": true,
            "created_at": zts(&g.created_at), "updated_at": zts(&g.updated_at),
        })
    }

    /// Group membership JSON.
    pub fn membership(&self, id: u64, m: &GroupMembership) -> Value {
        json!({
            "url": self.url("group_memberships", id), "id": id,
            "user_id": self.ids.of(m.user.id()), "group_id": self.ids.of(m.group.id()),
            "default": m.is_default,
            "created_at": zts_unix(switchover_sandbox::generate::EPOCH), "updated_at": zts_unix(switchover_sandbox::generate::EPOCH),
        })
    }

    /// Ticket field JSON: system field `i` or custom definition.
    pub fn ticket_field(&self, id: u64, index: usize) -> Value {
        if let Some((kind, title)) = SYSTEM_TICKET_FIELDS.get(index) {
            return self.field_json(
                "ticket_fields",
                id,
                kind,
                title,
                None,
                false,
                index as i64,
                &[],
                None,
            );
        }
        let definitions = self.generator.field_definitions(FieldObject::Ticket);
        let Some(d) = definitions.get(index - SYSTEM_TICKET_FIELDS.len()) else {
            return Value::Null;
        };
        self.custom_field("ticket_fields", id, d)
    }

    /// Custom field JSON for any object.
    pub fn custom_field(&self, collection: &str, id: u64, d: &FieldDefinition) -> Value {
        let zendesk_type = match (d.field_type, d.object) {
            (FieldType::Text, _) => "text",
            (FieldType::Textarea, _) => "textarea",
            (FieldType::Number, _) => "decimal",
            (FieldType::Date, _) => "date",
            (FieldType::Checkbox, _) => "checkbox",
            (FieldType::Dropdown, FieldObject::Ticket) => "tagger",
            (FieldType::Dropdown, _) => "dropdown",
            (FieldType::MultiSelect, _) => "multiselect",
            (FieldType::Regex, _) => "regexp",
        };
        let _ = field_type_name;
        let options: Vec<Value> = d
            .options
            .iter()
            .enumerate()
            .map(|(n, o)| json!({"id": id * 10 + n as u64, "name": o.label, "raw_name": o.label, "value": o.value, "position": n, "default": false}))
            .collect();
        let key = (d.object != FieldObject::Ticket).then(|| d.key.clone());
        self.field_json(
            collection,
            id,
            zendesk_type,
            &d.title,
            key,
            true,
            d.position.unwrap_or(0),
            &options,
            d.pattern.clone(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn field_json(
        &self,
        collection: &str,
        id: u64,
        kind: &str,
        title: &str,
        key: Option<String>,
        removable: bool,
        position: i64,
        options: &[Value],
        pattern: Option<String>,
    ) -> Value {
        let at = zts_unix(switchover_sandbox::generate::EPOCH);
        let mut value = json!({
            "url": self.url(collection, id), "id": id, "type": kind, "title": title, "raw_title": title,
            "description": "", "raw_description": "", "position": position, "active": true,
            "required": false, "collapsed_for_agents": false, "regexp_for_validation": pattern,
            "title_in_portal": title, "raw_title_in_portal": title, "visible_in_portal": false,
            "editable_in_portal": false, "required_in_portal": false, "tag": Value::Null,
            "created_at": at, "updated_at": at, "removable": removable, "key": key,
            "agent_description": Value::Null,
        });
        if !options.is_empty() {
            value["custom_field_options"] = Value::from(options.to_vec());
        }
        value
    }

    /// Ticket JSON (without `generated_timestamp`).
    pub fn ticket(&self, id: u64, t: &Ticket, description: &str) -> Value {
        let custom: Vec<Value> = self
            .generator
            .field_definitions(FieldObject::Ticket)
            .iter()
            .enumerate()
            .map(|(n, d)| {
                let value = t.custom_fields.get(&Ref::new(d.id.clone())).map(field_value).unwrap_or(Value::Null);
                json!({"id": base::TICKET_FIELDS + (SYSTEM_TICKET_FIELDS.len() + n) as u64, "value": value})
            })
            .collect();
        let status = status_name(t.status);
        let priority = t.priority.map(|p| match p {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        });
        let kind = t.ticket_type.map(|k| match k {
            TicketType::Question => "question",
            TicketType::Incident => "incident",
            TicketType::Problem => "problem",
            TicketType::Task => "task",
        });
        json!({
            "url": self.url("tickets", id), "id": id, "external_id": Value::Null,
            "via": self.via(t),
            "created_at": zts(&t.created_at), "updated_at": zts(&t.updated_at),
            "type": kind, "subject": t.subject, "raw_subject": t.subject, "description": description,
            "priority": priority, "status": status, "custom_status_id": 1000 + status.len() as u64,
            "recipient": Value::Null, "requester_id": self.ids.opt(&t.requester),
            "submitter_id": self.ids.opt(&t.submitter), "assignee_id": self.ids.opt(&t.assignee),
            "organization_id": self.ids.opt(&t.organization), "group_id": self.ids.opt(&t.group),
            "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [], "forum_topic_id": Value::Null,
            "problem_id": Value::Null, "has_incidents": false, "is_public": true, "due_at": Value::Null,
            "tags": t.tags, "custom_fields": custom.clone(), "satisfaction_rating": Value::Null,
            "sharing_agreement_ids": [], "fields": custom, "followup_ids": [],
            "ticket_form_id": 1, "brand_id": 1, "satisfaction_probability": Value::Null,
            "allow_channelback": false, "allow_attachments": true, "from_messaging_channel": false,
        })
    }

    fn via(&self, t: &Ticket) -> Value {
        let channel = t.channel.clone().unwrap_or_else(|| "api".into());
        if channel != "email" {
            return json!({"channel": channel, "source": {"from": {}, "to": {}, "rel": Value::Null}});
        }
        let requester = t
            .requester
            .as_ref()
            .map(|r| r.id().to_string())
            .unwrap_or_default();
        let (name, address) = match requester
            .rsplit_once('-')
            .and_then(|(p, n)| Some((p, n.parse::<usize>().ok()?)))
        {
            Some(("user", n)) => {
                let user = self.generator.user(n);
                (user.name, user.email.unwrap_or_default())
            }
            _ => (
                "Admin Agent".to_string(),
                "admin@switchover.example".to_string(),
            ),
        };
        json!({"channel": "email", "source": {
            "from": {"address": address, "name": name},
            "to": {"name": "Switchover Support", "address": "support@switchover.example"},
            "rel": Value::Null}})
    }

    /// Comment JSON; `ticket_id` numbers its attachments.
    pub fn comment(&self, ticket_id: u64, j: usize, c: &Comment) -> Value {
        let id = base::COMMENTS + ticket_id * 10_000 + j as u64;
        let attachments: Vec<Value> = c
            .attachments
            .iter()
            .map(|a| {
                let k =
                    a.id.rsplit('-')
                        .next()
                        .and_then(|k| k.parse::<u64>().ok())
                        .unwrap_or(0);
                let aid = base::ATTACHMENTS + (ticket_id * 10_000 + j as u64) * 10 + k;
                self.attachment(
                    aid,
                    &a.file_name,
                    &a.content_type,
                    a.size,
                    a.inline,
                    &seeded_token(aid, a.size),
                )
            })
            .collect();
        let html = c.body_html.clone().unwrap_or_default();
        let html = attachments.iter().fold(html, |html, a| {
            match (a["file_name"].as_str(), a["content_url"].as_str()) {
                (Some(_), Some(url)) if a["inline"] == Value::Bool(true) => {
                    // Inline images point at their content URL, as Zendesk renders them.
                    let needle = c
                        .attachments
                        .iter()
                        .find(|x| x.inline)
                        .map(|x| format!("cid:{}", x.id))
                        .unwrap_or_default();
                    if needle.is_empty() {
                        html
                    } else {
                        html.replace(&needle, url)
                    }
                }
                _ => html,
            }
        });
        json!({
            "id": id, "type": "Comment", "author_id": self.ids.opt(&c.author), "body": c.body_text,
            "html_body": html, "plain_body": c.body_text, "public": c.public,
            "attachments": attachments, "audit_id": id + 1,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": Value::Null}},
            "metadata": {"system": {"client": "Mozilla/5.0", "ip_address": "127.0.0.1"}, "custom": {}},
            "created_at": zts(&c.created_at),
        })
    }

    /// Attachment JSON.
    pub fn attachment(
        &self,
        id: u64,
        name: &str,
        content_type: &str,
        size: u64,
        inline: bool,
        token: &str,
    ) -> Value {
        let content_url = format!(
            "{}/attachments/token/{token}/?name={}",
            self.base_url,
            switchover_sandbox::percent_encode(name)
        );
        let image = content_type.starts_with("image/");
        json!({
            "url": self.url("attachments", id), "id": id, "file_name": name,
            "content_url": content_url, "mapped_content_url": content_url,
            "content_type": content_type, "size": size,
            "width": if image { Value::from(64) } else { Value::Null },
            "height": if image { Value::from(64) } else { Value::Null },
            "inline": inline, "deleted": false, "malware_access_override": false,
            "malware_scan_result": "malware_not_found", "thumbnails": [],
        })
    }

    /// Satisfaction rating JSON.
    pub fn satisfaction_rating(&self, id: u64, ticket: &Ticket, r: &SatisfactionRating) -> Value {
        let score = match r.score {
            Score::Good => "good",
            _ => "bad",
        };
        json!({
            "id": id, "url": self.url("satisfaction_ratings", id),
            "assignee_id": self.ids.opt(&ticket.assignee), "group_id": self.ids.opt(&ticket.group),
            "requester_id": self.ids.opt(&r.requester), "ticket_id": self.ids.of(r.ticket.id()),
            "score": score, "comment": r.comment.clone().unwrap_or_default(), "reason": "", "reason_id": Value::Null,
            "created_at": zts(&r.created_at), "updated_at": zts(&r.created_at),
        })
    }

    /// Macro JSON.
    pub fn macro_(&self, id: u64, m: &Macro) -> Value {
        json!({
            "url": self.url("macros", id), "id": id, "title": m.title, "raw_title": m.title,
            "active": m.active, "default": false, "position": m.position, "description": m.description,
            "restriction": Value::Null, "actions": actions(&m.actions),
            "created_at": zts(&m.created_at), "updated_at": zts(&m.updated_at),
        })
    }

    /// Trigger or automation JSON.
    pub fn rule(&self, collection: &str, id: u64, r: &Rule) -> Value {
        let mut value = json!({
            "url": self.url(collection, id), "id": id, "title": r.title, "raw_title": r.title,
            "active": r.active, "position": r.position, "description": Value::Null,
            "conditions": with_events(conditions(&r.conditions), &r.events), "actions": actions(&r.actions),
            "created_at": zts(&r.created_at), "updated_at": zts(&r.updated_at),
        });
        if collection == "triggers" {
            value["category_id"] = Value::from("1");
        }
        value
    }

    /// View JSON.
    pub fn view(&self, id: u64, v: &View) -> Value {
        let columns: Vec<Value> = v
            .columns
            .iter()
            .map(|c| json!({"id": c, "title": c}))
            .collect();
        let order = if v.sort_ascending { "asc" } else { "desc" };
        json!({
            "url": self.url("views", id), "id": id, "title": v.title, "raw_title": v.title, "active": v.active,
            "position": v.position, "description": Value::Null, "default": false, "restriction": Value::Null,
            "sla_id": Value::Null,
            "conditions": conditions(&v.conditions),
            "watchable": true,
            "execution": {"group_by": Value::Null, "group_order": "asc", "sort_by": v.sort_by, "sort_order": order,
                          "group": Value::Null, "sort": {"id": v.sort_by, "title": v.sort_by, "order": order},
                          "columns": columns.clone(), "fields": columns, "custom_fields": []},
            "created_at": zts(&v.created_at), "updated_at": zts(&v.updated_at),
        })
    }

    /// Webhook JSON (secrets never echoed).
    pub fn webhook(&self, id: &str, w: &Webhook) -> Value {
        let authentication = match &w.auth {
            WebhookAuth::None => Value::Null,
            WebhookAuth::Basic { username } => {
                json!({"type": "basic_auth", "data": {"username": username}, "add_position": "header"})
            }
            WebhookAuth::BearerToken => json!({"type": "bearer_token", "add_position": "header"}),
            WebhookAuth::ApiKey { header } => {
                json!({"type": "api_key", "data": {"name": header}, "add_position": "header"})
            }
        };
        json!({
            "id": id, "name": w.name, "description": "", "status": if w.active { "active" } else { "inactive" },
            "subscriptions": w.subscriptions, "created_at": zts(&w.created_at), "created_by": base::USERS.to_string(),
            "updated_at": zts(&w.updated_at), "updated_by": base::USERS.to_string(),
            "endpoint": w.endpoint, "http_method": w.method, "request_format": w.format,
            "authentication": authentication,
        })
    }

    /// SLA policy JSON.
    pub fn sla_policy(&self, id: u64, s: &SlaPolicy) -> Value {
        let metrics: Vec<Value> = s
            .targets
            .iter()
            .map(|t| json!({"priority": t.priority.map(|p| format!("{p:?}").to_lowercase()), "metric": t.metric, "target": t.minutes, "business_hours": t.business_hours}))
            .collect();
        json!({
            "url": format!("{}/api/v2/slas/policies/{id}.json", self.base_url), "id": id, "title": s.title,
            "description": s.description.clone().unwrap_or_default(), "position": s.position,
            "filter": conditions(&s.filter), "policy_metrics": metrics,
            "created_at": zts(&s.created_at), "updated_at": zts(&s.updated_at),
        })
    }

    /// Help Center category JSON.
    pub fn kb_category(&self, id: u64, c: &KbCategory) -> Value {
        json!({
            "id": id, "url": format!("{}/api/v2/help_center/en-us/categories/{id}.json", self.base_url),
            "html_url": format!("{}/hc/en-us/categories/{id}", self.base_url), "position": c.position,
            "name": c.name, "description": c.description.clone().unwrap_or_default(), "locale": "en-us",
            "source_locale": "en-us", "outdated": false,
            "created_at": zts(&c.created_at), "updated_at": zts(&c.updated_at),
        })
    }

    /// Help Center section JSON.
    pub fn kb_section(&self, id: u64, s: &KbSection) -> Value {
        json!({
            "id": id, "url": format!("{}/api/v2/help_center/en-us/sections/{id}.json", self.base_url),
            "html_url": format!("{}/hc/en-us/sections/{id}", self.base_url),
            "category_id": self.ids.of(s.category.id()), "position": s.position, "sorting": "manual",
            "name": s.name, "description": s.description.clone().unwrap_or_default(), "locale": "en-us",
            "source_locale": "en-us", "outdated": false, "parent_section_id": self.ids.opt(&s.parent),
            "theme_template": "section_page", "manageable_by": "staff", "user_segment_id": Value::Null,
            "created_at": zts(&s.created_at), "updated_at": zts(&s.updated_at),
        })
    }

    /// Help Center article JSON.
    pub fn kb_article(&self, id: u64, a: &KbArticle) -> Value {
        json!({
            "id": id, "url": format!("{}/api/v2/help_center/en-us/articles/{id}.json", self.base_url),
            "html_url": format!("{}/hc/en-us/articles/{id}", self.base_url),
            "author_id": self.ids.opt(&a.author), "comments_disabled": false, "content_tag_ids": [],
            "label_names": a.labels, "draft": a.draft, "promoted": false, "position": 0, "vote_sum": 0,
            "vote_count": 0, "section_id": self.ids.of(a.section.id()),
            "created_at": zts(&a.created_at), "updated_at": zts(&a.updated_at), "edited_at": zts(&a.updated_at),
            "name": a.title, "title": a.title, "body": a.body_html, "source_locale": a.locale, "locale": a.locale,
            "outdated": false, "outdated_locales": [], "permission_group_id": base::PERMISSION_GROUPS,
            "user_segment_id": Value::Null, "user_segment_ids": [],
        })
    }

    /// A Guide permission group (`GET /guide/permission_groups`); only the built-in
    /// `Admins` group exists in the emulated account.
    pub fn permission_group(&self, id: u64) -> Value {
        json!({
            "id": id, "name": "Admins", "built_in": true, "edit": [], "publish": [],
            "created_at": zts_unix(switchover_sandbox::generate::EPOCH),
            "updated_at": zts_unix(switchover_sandbox::generate::EPOCH),
        })
    }

    /// A Help Center translation of article `article` (`GET .../translations`).
    pub fn kb_translation(&self, id: u64, article: u64, fields: &Value) -> Value {
        let locale = fields["locale"].as_str().unwrap_or_default();
        json!({
            "id": id,
            "url": format!("{}/api/v2/help_center/articles/{article}/translations/{id}.json", self.base_url),
            "html_url": format!("{}/hc/{locale}/articles/{article}", self.base_url),
            "source_id": article, "source_type": "Article", "locale": locale,
            "title": fields["title"], "body": fields.get("body").cloned().unwrap_or(json!("")),
            "outdated": false, "draft": fields.get("draft").cloned().unwrap_or(json!(false)),
            "hidden": false, "created_at": fields["created_at"], "updated_at": fields["updated_at"],
            "updated_by_id": fields.get("updated_by_id").cloned().unwrap_or(Value::Null),
            "created_by_id": fields.get("created_by_id").cloned().unwrap_or(Value::Null),
        })
    }

    /// A Help Center article attachment (`{"article_attachment": ...}`); its content is
    /// served at `/hc/article_attachments/{id}/{file name}`, as Zendesk serves it.
    #[allow(clippy::too_many_arguments)]
    pub fn kb_attachment(
        &self,
        id: u64,
        article: u64,
        file_name: &str,
        content_type: &str,
        size: u64,
        inline: bool,
        at: i64,
    ) -> Value {
        json!({
            "id": id,
            "url": format!("{}/api/v2/help_center/articles/attachments/{id}.json", self.base_url),
            "article_id": article, "file_name": file_name,
            "content_url": format!("{}/hc/article_attachments/{id}/{}", self.base_url, switchover_sandbox::percent_encode(file_name)),
            "content_type": content_type, "size": size, "inline": inline,
            "created_at": zts_unix(at), "updated_at": zts_unix(at),
        })
    }
}

/// Token of a seeded attachment (encodes id and size, so bytes regenerate from it).
pub fn seeded_token(id: u64, size: u64) -> String {
    format!("s{id}x{size}")
}

fn field_value(value: &FieldValue) -> Value {
    match value {
        FieldValue::Text(t) | FieldValue::Date(t) | FieldValue::Dropdown(t) => {
            Value::from(t.clone())
        }
        FieldValue::Number(n) => Value::from(n.to_string()),
        FieldValue::Checkbox(b) => Value::from(*b),
        FieldValue::MultiSelect(set) => Value::from(set.iter().cloned().collect::<Vec<_>>()),
    }
}

/// The seeded accounts' conditions in Zendesk's spelling. Seeds use a few of the
/// portable fields; this is the emulator's own rendering, not the adapter's translator.
fn conditions(c: &Conditions) -> Value {
    let value = |v: &RuleValue| match v {
        RuleValue::Status(s) => Value::from(status_name(*s)),
        RuleValue::Priority(p) => Value::from(format!("{p:?}").to_lowercase()),
        RuleValue::TicketType(t) => Value::from(format!("{t:?}").to_lowercase()),
        RuleValue::Number(n) => Value::from(n.to_string()),
        RuleValue::CurrentUser => Value::from("current_user"),
        RuleValue::Text(t) => Value::from(t.clone()),
        RuleValue::Tags(t) => Value::from(t.join(" ")),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    };
    let field = |f: &ConditionField| match f {
        ConditionField::Status => "status".to_string(),
        ConditionField::Priority => "priority".to_string(),
        ConditionField::TicketType => "type".to_string(),
        ConditionField::Assignee => "assignee_id".to_string(),
        ConditionField::Group => "group_id".to_string(),
        ConditionField::Tags => "current_tags".to_string(),
        ConditionField::HoursSincePending => "PENDING".to_string(),
        ConditionField::HoursSinceSolved => "SOLVED".to_string(),
        ConditionField::HoursSinceCreated => "NEW".to_string(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    };
    let op = |o: &Operator| {
        serde_json::to_value(o)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let one = |c: &Condition| json!({"field": field(&c.field), "operator": op(&c.operator), "value": value(&c.value)});
    json!({"all": c.all.iter().map(one).collect::<Vec<_>>(), "any": c.any.iter().map(one).collect::<Vec<_>>()})
}

fn status_name(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending => "pending",
        TicketStatus::OnHold => "hold",
        TicketStatus::Solved => "solved",
        TicketStatus::Closed => "closed",
    }
}

/// A seeded rule's events as Zendesk's `update_type` condition.
fn with_events(mut conditions: Value, events: &std::collections::BTreeSet<RuleEvent>) -> Value {
    let created = events.contains(&RuleEvent::TicketCreated);
    let updated = events.contains(&RuleEvent::TicketUpdated);
    if created != updated
        && let Some(all) = conditions.get_mut("all").and_then(Value::as_array_mut)
    {
        all.insert(
            0,
            json!({"field": "update_type", "operator": "is", "value": if created { "Create" } else { "Change" }}),
        );
    }
    conditions
}

/// The seeded accounts' actions in Zendesk's spelling.
fn actions(a: &[Action]) -> Value {
    Value::from(
        a.iter()
            .filter_map(|a| match a {
                Action::SetStatus { status } => {
                    Some(json!({"field": "status", "value": status_name(*status)}))
                }
                Action::PublicReply { body } => {
                    Some(json!({"field": "comment_value", "value": body}))
                }
                Action::Notify { subject, body, .. } => Some(
                    json!({"field": "notification_user", "value": ["requester_id", subject, body]}),
                ),
                _ => None,
            })
            .collect::<Vec<_>>(),
    )
}
