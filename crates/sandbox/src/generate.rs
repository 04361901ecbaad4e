//! Seeded generator of realistic, hostile helpdesk data in the canonical model.
//!
//! Every record is a pure function of `(seed, kind, index)`: ticket 73,512 is generated on
//! its own, without generating the 73,511 before it, so an emulator can serve 100,000
//! tickets and 500,000 comments while holding none of them. Attachment bytes are a pure
//! function of the attachment id and size.
//!
//! Ids are `org-{i}`, `user-{i}` (end users), `agent-{i}` (`agent-0` is the admin),
//! `group-{i}`, `field-{object}-{type}`, `ticket-{i}`, `ticket-{i}-c{j}`,
//! `att-{i}-{j}-{k}`, `kbcat-{i}`, `kbsec-{i}`, `kbart-{i}`, `macro-{i}`, `trigger-{i}`,
//! `automation-{i}`, `view-{i}`, `webhook-{i}`, `sla-{i}`, `csat-{i}`, `gm-{i}`.
//!
//! Timestamps grow with the index within a kind (`updated_at` of record i+1 is later than
//! that of record i), so incremental exports can be served in index order.
//!
//! What breaks naive tools, on purpose: suspended and deleted users still referenced by
//! tickets (`user-{i}` with `i % 7 == 3` is suspended, `i % 7 == 5` is deleted), inline
//! images in HTML bodies, attachments from 0 bytes up to the configured maximum (the first
//! attachment-bearing comment gets the maximum), unicode and right-to-left text, every
//! custom field type, closed and archived tickets.

use std::collections::{BTreeMap, BTreeSet};

use switchover_model::*;

use crate::EmulatorConfig;
use crate::rng::{Rng, hash};

/// Start of generated time: 2019-01-01T00:00:00Z.
pub const EPOCH: i64 = 1_546_300_800;

const FIRST: &[&str] = &[
    "Ann",
    "Bob",
    "Zoë",
    "José",
    "Łukasz",
    "Søren",
    "Chloé",
    "Ngozi",
    "Mehmet",
    "Priya",
    "Jürgen",
    "محمد",
    "נועה",
    "Дмитрий",
    "美咲",
    "민준",
    "Ελένη",
    "O'Brien",
    "Renée",
    "Ōtani",
];
const LAST: &[&str] = &[
    "Lee",
    "Smith",
    "García",
    "Müller",
    "Kowalski",
    "Nguyễn",
    "Østergaard",
    "العلي",
    "כהן",
    "Иванова",
    "佐藤",
    "김",
    "Papadopoulos",
    "D'Angelo",
    "Ñúñez",
];
const SUBJECTS: &[&str] = &[
    "Printer on fire",
    "Refund request for order #{n}",
    "Не могу войти в аккаунт",
    "لا يمكنني تسجيل الدخول إلى حسابي",
    "ההזמנה שלי לא הגיעה",
    "注文が届きません",
    "Invoice {n} shows the wrong VAT ✓",
    "Emoji in subject 🚀🔥 keeps breaking exports",
    "Quotes \"double\" and 'single' & <angle> brackets",
    "Password reset link expired",
    "Feature request: dark mode",
    "Größe des Anhangs überschritten",
];
const SENTENCES: &[&str] = &[
    "Hi there, my widget is broken again.",
    "Could you please look into this as soon as possible?",
    "Привет! Заказ так и не пришёл.",
    "مرحبا، لم يصل طلبي بعد.",
    "שלום, ההזמנה עדיין לא הגיעה.",
    "お世話になっております。",
    "Thanks — we've escalated this to tier 2.",
    "Tabs\tand  double  spaces   stay.",
    "A line with <b>markup-looking</b> text & ampersands.",
    "Combining marks: e\u{301} vs é; zero-width\u{200b}joiner.",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "exämple.net", "corp.example"];
const TAGS: &[&str] = &[
    "vip",
    "billing",
    "bug",
    "how_to",
    "refund",
    "مهم",
    "urgent_fix",
];
const EXTENSIONS: &[(&str, &str)] = &[
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("csv", "text/csv"),
    ("bin", "application/octet-stream"),
];

/// The custom field types seeded, one definition each per object.
pub const FIELD_TYPES: &[FieldType] = &[
    FieldType::Text,
    FieldType::Textarea,
    FieldType::Number,
    FieldType::Date,
    FieldType::Checkbox,
    FieldType::Dropdown,
    FieldType::MultiSelect,
    FieldType::Regex,
];

/// The canonical name of a field type, as used in field ids.
pub fn field_type_name(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text => "text",
        FieldType::Textarea => "textarea",
        FieldType::Number => "number",
        FieldType::Date => "date",
        FieldType::Checkbox => "checkbox",
        FieldType::Dropdown => "dropdown",
        FieldType::MultiSelect => "multiselect",
        FieldType::Regex => "regex",
    }
}

fn object_name(object: FieldObject) -> &'static str {
    match object {
        FieldObject::Ticket => "ticket",
        FieldObject::User => "user",
        FieldObject::Organization => "organization",
    }
}

/// The numeric index at the end of a generated id (`ticket-42` -> 42, `ticket-42-c3` -> 3).
pub fn index_of(id: &str) -> Option<usize> {
    id.rsplit(['-', 'c']).next()?.parse().ok()
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_unix(seconds)
}

/// The seeded generator.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    config: EmulatorConfig,
}

impl Generator {
    /// A generator sized by `config` (its counts) and seeded by `config.seed`.
    pub fn new(config: &EmulatorConfig) -> Self {
        Generator {
            seed: config.seed,
            config: config.clone(),
        }
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    fn rng(&self, stream: &str, index: usize) -> Rng {
        Rng::for_item(self.seed, stream, index as u64)
    }

    fn name(&self, rng: &mut Rng) -> String {
        format!("{} {}", rng.pick(FIRST), rng.pick(LAST))
    }

    fn sentence(&self, rng: &mut Rng) -> String {
        rng.pick(SENTENCES).to_string()
    }

    /// Organization `i`.
    pub fn organization(&self, i: usize) -> Organization {
        let mut rng = self.rng("org", i);
        let created = EPOCH + i as i64 * 3_600;
        let mut custom_fields = CustomFields::new();
        if self.config.custom_fields {
            custom_fields = self.custom_values(FieldObject::Organization, &mut rng);
        }
        Organization {
            id: format!("org-{i}"),
            name: format!(
                "{} {} Ltd #{i}",
                rng.pick(LAST),
                rng.pick(&["Holdings", "GmbH", "شركة", "株式会社", "& Sons"])
            ),
            domains: BTreeSet::from([format!("org{i}.{}", rng.pick(DOMAINS))]),
            details: rng.chance(0.5).then(|| self.sentence(&mut rng)),
            notes: rng
                .chance(0.3)
                .then(|| "Key account — handle with care ✓".to_string()),
            tags: self.tags(&mut rng),
            custom_fields,
            created_at: ts(created),
            updated_at: ts(created + rng.below(3_500) as i64),
            extra: Extra::new(),
        }
    }

    /// End user `i`: every 7th (from 3) is suspended, every 7th (from 5) deleted.
    pub fn user(&self, i: usize) -> User {
        let mut rng = self.rng("user", i);
        let created = EPOCH + 600 + i as i64 * 600;
        let state = match i % 7 {
            3 => UserState::Suspended,
            5 => UserState::Deleted,
            _ => UserState::Active,
        };
        let organization = (self.config.organizations > 0 && !rng.chance(0.2)).then(|| {
            Ref::new(format!(
                "org-{}",
                rng.below(self.config.organizations as u64)
            ))
        });
        let name = self.name(&mut rng);
        let custom_fields = if self.config.custom_fields {
            self.custom_values(FieldObject::User, &mut rng)
        } else {
            CustomFields::new()
        };
        User {
            id: format!("user-{i}"),
            name,
            email: (!rng.chance(0.05)).then(|| format!("user{i}@{}", rng.pick(DOMAINS))),
            phone: rng.chance(0.3).then(|| format!("+1 555 {:04}", i % 10_000)),
            role: UserRole::EndUser,
            state,
            organization,
            locale: Some(
                rng.pick(&["en-US", "de", "ar", "he", "ja", "ru"])
                    .to_string(),
            ),
            time_zone: Some(
                rng.pick(&["UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York"])
                    .to_string(),
            ),
            tags: self.tags(&mut rng),
            custom_fields,
            created_at: ts(created),
            updated_at: ts(created + rng.below(590) as i64),
            extra: Extra::new(),
        }
    }

    /// Agent `i`; `agent-0` is the admin.
    pub fn agent(&self, i: usize) -> User {
        let mut rng = self.rng("agent", i);
        let name = if i == 0 {
            "Admin Agent".to_string()
        } else {
            self.name(&mut rng)
        };
        User {
            id: format!("agent-{i}"),
            name,
            email: Some(if i == 0 {
                "admin@switchover.example".into()
            } else {
                format!("agent{i}@switchover.example")
            }),
            role: if i == 0 {
                UserRole::Admin
            } else {
                UserRole::Agent
            },
            state: UserState::Active,
            locale: Some("en-US".into()),
            time_zone: Some("UTC".into()),
            created_at: ts(EPOCH),
            updated_at: ts(EPOCH + i as i64),
            ..Default::default()
        }
    }

    /// Group `i`.
    pub fn group(&self, i: usize) -> Group {
        Group {
            id: format!("group-{i}"),
            name: format!(
                "{} {i}",
                ["Support", "Billing", "Tier 2", "Ventes / مبيعات"][i % 4]
            ),
            description: Some(String::new()),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// Group membership `i`: agent `(i / groups) % (agents + 1)` (0 is the admin) in group
    /// `i % groups`; each agent's first group is its default, as Zendesk keeps exactly one
    /// default group per agent.
    pub fn group_membership(&self, i: usize) -> GroupMembership {
        let agents = self.config.agents.max(1);
        GroupMembership {
            id: format!("gm-{i}"),
            group: Ref::new(format!("group-{}", i % self.config.groups.max(1))),
            user: Ref::new(format!(
                "agent-{}",
                (i / self.config.groups.max(1)) % (agents + 1)
            )),
            is_default: i.is_multiple_of(self.config.groups.max(1)),
            extra: Extra::new(),
        }
    }

    /// Number of group memberships: every agent and the admin in every group.
    pub fn group_membership_count(&self) -> usize {
        if self.config.groups == 0 {
            0
        } else {
            self.config.groups * (self.config.agents + 1)
        }
    }

    /// The custom field definitions of an object: one per type (empty unless enabled).
    pub fn field_definitions(&self, object: FieldObject) -> Vec<FieldDefinition> {
        if !self.config.custom_fields {
            return Vec::new();
        }
        FIELD_TYPES
            .iter()
            .enumerate()
            .map(|(position, field_type)| {
                let type_name = field_type_name(*field_type);
                let options = match field_type {
                    FieldType::Dropdown | FieldType::MultiSelect => vec![
                        FieldOption {
                            value: format!("{type_name}_gold"),
                            label: "Gold".into(),
                        },
                        FieldOption {
                            value: format!("{type_name}_silver"),
                            label: "Silber ✓".into(),
                        },
                        FieldOption {
                            value: format!("{type_name}_bronze"),
                            label: "برونزي".into(),
                        },
                    ],
                    _ => Vec::new(),
                };
                FieldDefinition {
                    id: format!("field-{}-{type_name}", object_name(object)),
                    object,
                    key: format!("so_{type_name}"),
                    title: format!("Custom {type_name} ✎"),
                    field_type: *field_type,
                    options,
                    pattern: (*field_type == FieldType::Regex)
                        .then(|| "^[A-Z]{2}-\\d+$".to_string()),
                    required: false,
                    active: true,
                    position: Some(position as i64),
                    extra: Extra::new(),
                }
            })
            .collect()
    }

    fn custom_values(&self, object: FieldObject, rng: &mut Rng) -> CustomFields {
        let mut values = CustomFields::new();
        for definition in self.field_definitions(object) {
            if rng.chance(0.25) {
                continue;
            }
            let value = match definition.field_type {
                FieldType::Text => FieldValue::Text(self.sentence(rng)),
                FieldType::Textarea => {
                    FieldValue::Text(format!("{}\n{}", self.sentence(rng), self.sentence(rng)))
                }
                FieldType::Number => FieldValue::Number(rng.below(100_000) as f64 / 4.0),
                FieldType::Date => FieldValue::Date(format!(
                    "20{:02}-{:02}-{:02}",
                    19 + rng.below(6),
                    1 + rng.below(12),
                    1 + rng.below(28)
                )),
                FieldType::Checkbox => FieldValue::Checkbox(rng.chance(0.5)),
                FieldType::Dropdown => {
                    FieldValue::Dropdown(rng.pick(&definition.options).value.clone())
                }
                FieldType::MultiSelect => FieldValue::MultiSelect(
                    definition
                        .options
                        .iter()
                        .filter(|_| rng.chance(0.5))
                        .map(|o| o.value.clone())
                        .collect(),
                ),
                FieldType::Regex => FieldValue::Text(format!("AB-{}", rng.below(9999))),
            };
            values.insert(Ref::new(definition.id), value);
        }
        values
    }

    fn tags(&self, rng: &mut Rng) -> BTreeSet<String> {
        (0..rng.below(3))
            .map(|_| rng.pick(TAGS).to_string())
            .collect()
    }

    fn requester(&self, rng: &mut Rng) -> Option<String> {
        if self.config.users > 0 {
            Some(format!("user-{}", rng.below(self.config.users as u64)))
        } else {
            Some("agent-0".into())
        }
    }

    fn some_agent(&self, rng: &mut Rng) -> String {
        format!("agent-{}", rng.below(self.config.agents as u64 + 1))
    }

    /// Ticket `i`. About a fifth are closed; every closed ticket with `i % 3 == 0` is
    /// archived. Tickets 3 and 5 (when present) are requested by a suspended and a deleted user.
    pub fn ticket(&self, i: usize) -> Ticket {
        let mut rng = self.rng("ticket", i);
        let created = EPOCH + 86_400 + i as i64 * 300;
        let status = Self::status_from(&mut rng);
        let requester = if self.config.users > 5 && (i == 3 || i == 5) {
            Some(format!("user-{i}"))
        } else {
            self.requester(&mut rng)
        };
        let organization = requester.as_deref().and_then(|r| {
            r.strip_prefix("user-")
                .and_then(|n| n.parse().ok())
                .and_then(|n| self.user(n).organization)
        });
        let subject = rng.pick(SUBJECTS).replace("{n}", &(10_000 + i).to_string());
        let comments = self.config.comments_per_ticket.max(1) as i64;
        let updated = created + comments * 1_800 + 60;
        let solved = matches!(status, TicketStatus::Solved | TicketStatus::Closed);
        let custom_fields = if self.config.custom_fields {
            self.custom_values(FieldObject::Ticket, &mut rng)
        } else {
            CustomFields::new()
        };
        Ticket {
            id: format!("ticket-{i}"),
            subject,
            status,
            priority: [
                None,
                Some(Priority::Low),
                Some(Priority::Normal),
                Some(Priority::High),
                Some(Priority::Urgent),
            ][rng.below(5) as usize],
            ticket_type: [
                None,
                Some(TicketType::Question),
                Some(TicketType::Incident),
                Some(TicketType::Problem),
                Some(TicketType::Task),
            ][rng.below(5) as usize],
            tags: self.tags(&mut rng),
            requester: requester.clone().map(Ref::new),
            submitter: requester.map(Ref::new),
            assignee: (!matches!(status, TicketStatus::New))
                .then(|| Ref::new(self.some_agent(&mut rng))),
            group: (self.config.groups > 0)
                .then(|| Ref::new(format!("group-{}", rng.below(self.config.groups as u64)))),
            organization,
            channel: Some(rng.pick(&["email", "web", "api"]).to_string()),
            custom_fields,
            links: BTreeSet::new(),
            archived: status == TicketStatus::Closed && i.is_multiple_of(3),
            created_at: ts(created),
            updated_at: ts(updated),
            solved_at: solved.then(|| ts(updated - 30)).flatten(),
            extra: Extra::new(),
        }
    }

    fn status_from(rng: &mut Rng) -> TicketStatus {
        match rng.below(10) {
            0 => TicketStatus::New,
            1..=3 => TicketStatus::Open,
            4 => TicketStatus::Pending,
            5 => TicketStatus::OnHold,
            6 | 7 => TicketStatus::Solved,
            _ => TicketStatus::Closed,
        }
    }

    /// Whether ticket `i` is archived, without generating it (cheap enough to filter 100,000).
    pub fn ticket_archived(&self, i: usize) -> bool {
        Self::status_from(&mut self.rng("ticket", i)) == TicketStatus::Closed && i.is_multiple_of(3)
    }

    /// Number of comments of ticket `i`.
    pub fn comment_count(&self, _ticket: usize) -> usize {
        self.config.comments_per_ticket
    }

    /// Comment `j` of ticket `i`. The first is public and written by the requester; some
    /// carry attachments, some an inline image referenced from the HTML body.
    pub fn comment(&self, i: usize, j: usize) -> Comment {
        let ticket = self.ticket(i);
        self.comment_of(&ticket, i, j)
    }

    /// Every comment of ticket `i`, generating the ticket once.
    pub fn comments(&self, i: usize) -> Vec<Comment> {
        let ticket = self.ticket(i);
        (0..self.comment_count(i))
            .map(|j| self.comment_of(&ticket, i, j))
            .collect()
    }

    fn comment_of(&self, ticket: &Ticket, i: usize, j: usize) -> Comment {
        let mut rng = self.rng("comment", i * 10_007 + j);
        let author = if j.is_multiple_of(2) {
            ticket.requester.clone()
        } else {
            ticket
                .assignee
                .clone()
                .or_else(|| Some(Ref::new("agent-0")))
        };
        let text = format!("{}\n\n{}", self.sentence(&mut rng), self.sentence(&mut rng));
        let mut attachments = Vec::new();
        let mut html = format!(
            "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">{}</p></div>",
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace("\n\n", "</p><p dir=\"auto\">")
        );
        if self.config.attachment_share > 0.0 && rng.chance(self.config.attachment_share) {
            let count = 1 + rng.below(2) as usize;
            for k in 0..count {
                attachments.push(self.attachment(i, j, k, &mut rng));
            }
        }
        if j == 1 && i % 4 == 1 {
            let id = format!("att-{i}-{j}-9");
            html.push_str(&format!(
                "<p><img src=\"cid:{id}\" alt=\"screenshot\" width=\"64\"></p>"
            ));
            attachments.push(Attachment {
                id: id.clone(),
                file_name: "screenshot.png".into(),
                content_type: "image/png".into(),
                size: 2_048 + rng.below(2_048),
                sha256: None,
                inline: true,
                location: Some(id),
                extra: Extra::new(),
            });
        }
        Comment {
            id: format!("ticket-{i}-c{j}"),
            ticket: Ref::new(format!("ticket-{i}")),
            author,
            public: j == 0 || !rng.chance(0.25),
            body_html: Some(html),
            body_text: text,
            attachments,
            created_at: ts(ticket
                .created_at
                .as_ref()
                .map(Timestamp::unix)
                .unwrap_or(EPOCH)
                + j as i64 * 1_800),
            extra: Extra::new(),
        }
    }

    fn attachment(&self, i: usize, j: usize, k: usize, rng: &mut Rng) -> Attachment {
        let (min, max) = (
            self.config.attachment_min_bytes,
            self.config
                .attachment_max_bytes
                .max(self.config.attachment_min_bytes),
        );
        // Mostly small, a few large; one zero-byte file and one of the maximum size.
        let size = if i == 0 && k == 0 {
            max
        } else if rng.chance(0.05) {
            min
        } else {
            let span = (max - min).max(1);
            let scale = [span / 1000, span / 100, span / 10, span][rng.below(4) as usize].max(1);
            min + rng.below(scale.min(span) + 1)
        };
        let (ext, content_type) = *rng.pick(EXTENSIONS);
        let id = format!("att-{i}-{j}-{k}");
        Attachment {
            id: id.clone(),
            file_name: format!(
                "{}-{i}-{j}.{ext}",
                rng.pick(&["report", "Größe ✓", "تقرير", "log file", "scan"])
            ),
            content_type: content_type.into(),
            size,
            sha256: None,
            inline: false,
            location: Some(id),
            extra: Extra::new(),
        }
    }

    /// The bytes of a generated attachment, from its id and size.
    pub fn attachment_bytes(&self, id: &str, size: u64) -> Vec<u8> {
        crate::rng::bytes(hash(self.seed, id, size), size as usize)
    }

    /// Satisfaction rating of ticket `i`, if it has one (solved or closed tickets, about half).
    pub fn satisfaction_rating(&self, i: usize) -> Option<SatisfactionRating> {
        let ticket = self.ticket(i);
        let mut rng = self.rng("csat", i);
        if !matches!(ticket.status, TicketStatus::Solved | TicketStatus::Closed) || !rng.chance(0.5)
        {
            return None;
        }
        Some(SatisfactionRating {
            id: format!("csat-{i}"),
            ticket: Ref::new(ticket.id.clone()),
            requester: ticket.requester.clone(),
            score: if rng.chance(0.8) {
                Score::Good
            } else {
                Score::Bad
            },
            comment: rng.chance(0.5).then(|| "Fast! شكراً".to_string()),
            created_at: ticket.updated_at,
            extra: Extra::new(),
        })
    }

    /// Knowledge-base category count (one per 20 articles, at least one when any).
    pub fn kb_category_count(&self) -> usize {
        if self.config.kb_articles == 0 {
            0
        } else {
            self.config.kb_articles.div_ceil(20)
        }
    }

    /// Knowledge-base section count (one per 5 articles).
    pub fn kb_section_count(&self) -> usize {
        self.config.kb_articles.div_ceil(5)
    }

    /// KB category `i`.
    pub fn kb_category(&self, i: usize) -> KbCategory {
        KbCategory {
            id: format!("kbcat-{i}"),
            name: ["General", "Facturation", "الأسئلة الشائعة", "はじめに"][i % 4].to_string(),
            description: Some(String::new()),
            locale: Some("en-us".into()),
            position: Some(i as i64),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// KB section `i` (nested under section `i-1` when `i % 4 == 3`).
    pub fn kb_section(&self, i: usize) -> KbSection {
        KbSection {
            id: format!("kbsec-{i}"),
            category: Ref::new(format!("kbcat-{}", i % self.kb_category_count().max(1))),
            parent: (i % 4 == 3).then(|| Ref::new(format!("kbsec-{}", i - 1))),
            name: format!(
                "Section {i} — {}",
                ["Getting started", "Troubleshooting", "حسابي"][i % 3]
            ),
            description: Some(String::new()),
            locale: Some("en-us".into()),
            position: Some(i as i64),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// KB article `i`.
    pub fn kb_article(&self, i: usize) -> KbArticle {
        let mut rng = self.rng("kbart", i);
        let title = format!(
            "How to {} ({i})",
            rng.pick(&["reset a password", "export data", "تغيير اللغة", "返品する"])
        );
        KbArticle {
            id: format!("kbart-{i}"),
            section: Ref::new(format!("kbsec-{}", i % self.kb_section_count().max(1))),
            author: Some(Ref::new("agent-0")),
            title: title.clone(),
            body_html: format!(
                "<h2>{title}</h2><p>{}</p><p><img src=\"/hc/article_attachments/{i}/diagram.png\" alt=\"\"></p>",
                self.sentence(&mut rng)
            ),
            locale: "en-us".into(),
            draft: i % 9 == 8,
            labels: self.tags(&mut rng),
            translations: BTreeMap::new(),
            attachments: Vec::new(),
            created_at: ts(EPOCH + i as i64 * 100),
            updated_at: ts(EPOCH + i as i64 * 100 + 50),
            extra: Extra::new(),
        }
    }

    /// Macro `i`: solves the ticket with a thank-you reply.
    pub fn macro_(&self, i: usize) -> Macro {
        Macro {
            id: format!("macro-{i}"),
            title: format!("Close & thank {i}"),
            description: None,
            active: i % 5 != 4,
            actions: vec![
                Action::SetStatus {
                    status: TicketStatus::Solved,
                },
                Action::PublicReply {
                    body: "Thanks, {{ticket.requester.first_name}}! شكراً".into(),
                },
            ],
            position: Some(i as i64),
            untranslated: Vec::new(),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// Trigger (`automation == false`) or automation `i`: a trigger tells the requester
    /// of an urgent new ticket it was received; an automation closes tickets pending for
    /// more than a day.
    pub fn rule(&self, i: usize, automation: bool) -> Rule {
        let (kind, prefix) = if automation {
            (RuleKind::Automation, "automation")
        } else {
            (RuleKind::Trigger, "trigger")
        };
        let (events, conditions, actions) = if automation {
            (
                BTreeSet::from([RuleEvent::Hourly]),
                Conditions {
                    all: vec![
                        Condition {
                            field: ConditionField::Status,
                            operator: Operator::Is,
                            value: RuleValue::Status(TicketStatus::Pending),
                        },
                        Condition {
                            field: ConditionField::HoursSincePending,
                            operator: Operator::GreaterThan,
                            value: RuleValue::Number(24),
                        },
                    ],
                    any: Vec::new(),
                },
                vec![Action::SetStatus {
                    status: TicketStatus::Closed,
                }],
            )
        } else {
            (
                BTreeSet::from([RuleEvent::TicketCreated]),
                Conditions {
                    all: Vec::new(),
                    any: vec![Condition {
                        field: ConditionField::Priority,
                        operator: Operator::Is,
                        value: RuleValue::Priority(Priority::Urgent),
                    }],
                },
                vec![Action::Notify {
                    recipient: Recipient::Requester,
                    subject: "Received: ticket #{{ticket.id}}".into(),
                    body: "We got ticket #{{ticket.id}}".into(),
                }],
            )
        };
        Rule {
            id: format!("{prefix}-{i}"),
            rule_kind: kind,
            title: format!("Notify requester {prefix} {i}"),
            active: true,
            events,
            conditions,
            actions,
            position: Some(i as i64),
            untranslated: Vec::new(),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// View `i`: tickets not yet solved.
    pub fn view(&self, i: usize) -> View {
        View {
            id: format!("view-{i}"),
            title: format!("Open tickets {i}"),
            active: true,
            conditions: Conditions {
                all: vec![Condition {
                    field: ConditionField::Status,
                    operator: Operator::LessThan,
                    value: RuleValue::Status(TicketStatus::Solved),
                }],
                any: Vec::new(),
            },
            untranslated: Vec::new(),
            columns: vec!["subject".into(), "requester".into(), "created".into()],
            sort_by: Some("created".into()),
            sort_ascending: false,
            position: Some(i as i64),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// Webhook `i`.
    pub fn webhook(&self, i: usize) -> Webhook {
        Webhook {
            id: format!("webhook-{i}"),
            name: format!("Hook {i}"),
            endpoint: format!("https://hooks.example.com/{i}"),
            method: "POST".into(),
            format: "json".into(),
            auth: if i.is_multiple_of(2) {
                WebhookAuth::Basic {
                    username: "john_smith".into(),
                }
            } else {
                WebhookAuth::BearerToken
            },
            active: true,
            subscriptions: BTreeSet::from(["conditional_ticket_events".to_string()]),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }

    /// SLA policy `i`.
    pub fn sla_policy(&self, i: usize) -> SlaPolicy {
        SlaPolicy {
            id: format!("sla-{i}"),
            title: format!("Incidents {i}"),
            description: Some(String::new()),
            position: Some(i as i64 + 1),
            filter: Conditions {
                all: vec![Condition {
                    field: ConditionField::TicketType,
                    operator: Operator::Is,
                    value: RuleValue::TicketType(TicketType::Incident),
                }],
                any: Vec::new(),
            },
            untranslated: Vec::new(),
            // A first reply and a requester wait target for every priority, as an
            // account's SLA policy usually has.
            targets: [
                (Priority::Urgent, 10, 240),
                (Priority::High, 60, 480),
                (Priority::Normal, 240, 1440),
                (Priority::Low, 480, 2880),
            ]
            .into_iter()
            .flat_map(|(priority, reply, wait)| {
                [
                    SlaTarget {
                        priority: Some(priority),
                        metric: "first_reply_time".into(),
                        minutes: reply,
                        business_hours: false,
                    },
                    SlaTarget {
                        priority: Some(priority),
                        metric: "requester_wait_time".into(),
                        minutes: wait,
                        business_hours: true,
                    },
                ]
            })
            .collect(),
            created_at: ts(EPOCH + i as i64),
            updated_at: ts(EPOCH + i as i64),
            extra: Extra::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EmulatorConfig {
        EmulatorConfig {
            tickets: 200,
            users: 50,
            organizations: 5,
            agents: 3,
            groups: 2,
            comments_per_ticket: 4,
            attachment_share: 0.5,
            attachment_max_bytes: 30 * 1024 * 1024,
            custom_fields: true,
            ..EmulatorConfig::small(9)
        }
    }

    #[test]
    fn same_seed_same_records_any_order() {
        let a = Generator::new(&config());
        let b = Generator::new(&config());
        assert_eq!(a.ticket(150), b.ticket(150));
        assert_eq!(a.comments(7), b.comments(7));
        let other = Generator::new(&EmulatorConfig {
            seed: 10,
            ..config()
        });
        assert_ne!(
            a.ticket(150).subject.clone() + &a.user(3).name,
            other.ticket(150).subject.clone() + &other.user(3).name
        );
    }

    #[test]
    fn hostile_cases_are_present() {
        let generator = Generator::new(&config());
        assert_eq!(generator.user(3).state, UserState::Suspended);
        assert_eq!(generator.user(5).state, UserState::Deleted);
        assert_eq!(
            generator
                .ticket(3)
                .requester
                .as_ref()
                .map(|r| r.id().to_string()),
            Some("user-3".into())
        );
        let tickets: Vec<Ticket> = (0..200).map(|i| generator.ticket(i)).collect();
        assert!(tickets.iter().any(|t| t.archived));
        assert!(
            tickets
                .iter()
                .any(|t| t.status == TicketStatus::Closed && !t.archived)
        );
        let comments: Vec<Comment> = (0..200).flat_map(|i| generator.comments(i)).collect();
        let sizes: Vec<u64> = comments
            .iter()
            .flat_map(|c| c.attachments.iter().map(|a| a.size))
            .collect();
        assert!(sizes.contains(&0));
        assert!(sizes.contains(&(30 * 1024 * 1024)));
        assert!(
            comments
                .iter()
                .any(|c| c.attachments.iter().any(|a| a.inline)
                    && c.body_html.as_deref().is_some_and(|h| h.contains("<img")))
        );
        assert!(tickets.iter().any(|t| {
            t.subject
                .chars()
                .any(|c| ('\u{0590}'..='\u{06FF}').contains(&c))
        }));
        let types: BTreeSet<&str> = generator
            .field_definitions(FieldObject::Ticket)
            .iter()
            .map(|d| field_type_name(d.field_type))
            .collect();
        assert_eq!(types.len(), FIELD_TYPES.len());
        let bytes = generator.attachment_bytes("att-1-1-0", 1000);
        assert_eq!(bytes, generator.attachment_bytes("att-1-1-0", 1000));
        assert_eq!(bytes.len(), 1000);
    }
}
