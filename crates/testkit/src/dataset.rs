//! A fixed, realistic and hostile dataset: what breaks naive migration tools, small enough
//! to write to a real server in seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor as IoCursor, Read};

use sha2::{Digest as _, Sha256};
use switchover_adapter::{AdapterError, ContentSource};
use switchover_model::*;

/// A name rclone's suite feeds every backend; it breaks quoting, paths and encodings.
pub const HOSTILE_NAME: &str = "hello? sausage/êé/Hello, 世界/ \" ' @ < > & ? + ≠/z";

/// The dataset: records of every kind in dependency order, and the bytes of every attachment.
pub struct Dataset {
    /// Records by kind, in dependency order within each kind.
    pub records: BTreeMap<Kind, Vec<Record>>,
    blobs: BTreeMap<String, Vec<u8>>,
}

fn ts(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Deterministic pseudo-random bytes (xorshift), so a multi-megabyte attachment needs no file.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

impl Dataset {
    /// The fixed conformance dataset.
    pub fn conformance() -> Self {
        let mut blobs = BTreeMap::new();
        let mut attachment =
            |id: &str, name: &str, content_type: &str, bytes: Vec<u8>, inline: bool| {
                let sha = hex_sha(&bytes);
                let size = bytes.len() as u64;
                blobs.insert(id.to_string(), bytes);
                Attachment {
                    id: id.into(),
                    file_name: name.into(),
                    content_type: content_type.into(),
                    size,
                    sha256: Some(sha),
                    inline,
                    location: Some(format!("dataset:{id}")),
                    extra: Extra::new(),
                }
            };
        let empty = attachment("att-empty", "empty.txt", "text/plain", Vec::new(), false);
        let big = attachment(
            "att-big",
            "Größe report ✓.bin",
            "application/octet-stream",
            noise(3 * 1024 * 1024 + 17, 7),
            false,
        );
        let logo = attachment("att-inline", "logo.png", "image/png", noise(2048, 11), true);
        let notes = attachment(
            "att-notes",
            "نموذج.txt",
            "text/plain; charset=utf-8",
            "مرحبا بالعالم\nhello\n".as_bytes().to_vec(),
            false,
        );
        let guide = attachment(
            "att-guide",
            "guide.pdf",
            "application/pdf",
            noise(40_000, 13),
            false,
        );

        let org = |id: &str, name: &str, domains: &[&str]| Organization {
            id: id.into(),
            name: name.into(),
            domains: set(domains),
            details: Some(format!("Customer since 2015 — {name}")),
            tags: set(&["vip", "emea"]),
            created_at: ts("2019-03-04T10:00:00Z"),
            updated_at: ts("2024-01-02T03:04:05Z"),
            ..Default::default()
        };
        let organizations = vec![
            org("org-1", "Ünïcødé GmbH", &["unicode.example"]),
            org("org-2", "شركة المثال", &["example.sa"]),
        ];

        let field = |id: &str,
                     object: FieldObject,
                     key: &str,
                     field_type: FieldType,
                     options: &[&str]| FieldDefinition {
            id: id.into(),
            object,
            key: key.into(),
            title: key.replace('_', " "),
            field_type,
            options: options
                .iter()
                .map(|o| FieldOption {
                    value: o.to_string(),
                    label: o.replace('_', " "),
                })
                .collect(),
            pattern: (field_type == FieldType::Regex).then(|| "^[A-Z]{3}-[0-9]+$".to_string()),
            active: true,
            ..Default::default()
        };
        let fields = vec![
            field(
                "cf-text",
                FieldObject::Ticket,
                "order_reference",
                FieldType::Text,
                &[],
            ),
            field(
                "cf-textarea",
                FieldObject::Ticket,
                "steps_to_reproduce",
                FieldType::Textarea,
                &[],
            ),
            field(
                "cf-number",
                FieldObject::Ticket,
                "units_affected",
                FieldType::Number,
                &[],
            ),
            field(
                "cf-date",
                FieldObject::Ticket,
                "renewal_date",
                FieldType::Date,
                &[],
            ),
            field(
                "cf-checkbox",
                FieldObject::Ticket,
                "escalated",
                FieldType::Checkbox,
                &[],
            ),
            field(
                "cf-dropdown",
                FieldObject::Ticket,
                "product",
                FieldType::Dropdown,
                &["widget_pro", "widget_lite", "gizmo"],
            ),
            field(
                "cf-multi",
                FieldObject::Ticket,
                "regions",
                FieldType::MultiSelect,
                &["emea", "apac", "amer"],
            ),
            field(
                "cf-regex",
                FieldObject::Ticket,
                "asset_tag",
                FieldType::Regex,
                &[],
            ),
            field(
                "cf-user-text",
                FieldObject::User,
                "employee_number",
                FieldType::Text,
                &[],
            ),
            field(
                "cf-org-dropdown",
                FieldObject::Organization,
                "tier",
                FieldType::Dropdown,
                &["gold", "silver"],
            ),
        ];

        let user = |id: &str,
                    name: &str,
                    email: &str,
                    role: UserRole,
                    state: UserState,
                    org: Option<&str>| User {
            id: id.into(),
            name: name.into(),
            email: Some(email.into()),
            role,
            state,
            organization: org.map(Ref::new),
            locale: Some("en-US".into()),
            time_zone: Some("Europe/Berlin".into()),
            created_at: ts("2020-01-01T00:00:00Z"),
            updated_at: ts("2024-02-02T02:02:02Z"),
            ..Default::default()
        };
        let mut users = vec![
            user(
                "u-admin",
                "Ada Admin",
                "ada@helpdesk.example",
                UserRole::Admin,
                UserState::Active,
                None,
            ),
            user(
                "u-agent",
                "Grace Agent",
                "grace@helpdesk.example",
                UserRole::Agent,
                UserState::Active,
                None,
            ),
            user(
                "u-alice",
                "Alice Ünïcødé",
                "alice@unicode.example",
                UserRole::EndUser,
                UserState::Active,
                Some("org-1"),
            ),
            user(
                "u-suspended",
                "Sam Suspended",
                "sam@unicode.example",
                UserRole::EndUser,
                UserState::Suspended,
                Some("org-1"),
            ),
            user(
                "u-deleted",
                "Dora Deleted",
                "dora@example.sa",
                UserRole::EndUser,
                UserState::Deleted,
                Some("org-2"),
            ),
            user(
                "u-hostile",
                HOSTILE_NAME,
                "hostile+tag@example.com",
                UserRole::EndUser,
                UserState::Active,
                None,
            ),
        ];
        users[2]
            .custom_fields
            .insert(Ref::new("cf-user-text"), FieldValue::Text("E-1001".into()));
        users[2].tags = set(&["beta"]);

        let groups = vec![
            Group {
                id: "g-support".into(),
                name: "Support Tier 1".into(),
                description: Some("First line".into()),
                ..Default::default()
            },
            Group {
                id: "g-billing".into(),
                name: "Billing & Accounts".into(),
                ..Default::default()
            },
        ];
        let memberships = vec![
            GroupMembership {
                id: "gm-1".into(),
                group: Ref::new("g-support"),
                user: Ref::new("u-agent"),
                is_default: true,
                ..Default::default()
            },
            GroupMembership {
                id: "gm-2".into(),
                group: Ref::new("g-billing"),
                user: Ref::new("u-admin"),
                ..Default::default()
            },
        ];

        let mut all_fields = CustomFields::new();
        all_fields.insert(Ref::new("cf-text"), FieldValue::Text("PO-77/ü".into()));
        all_fields.insert(
            Ref::new("cf-textarea"),
            FieldValue::Text("1. open\n2. click \"save\"\n3. <crash>".into()),
        );
        all_fields.insert(Ref::new("cf-number"), FieldValue::Number(42.5));
        all_fields.insert(Ref::new("cf-date"), FieldValue::Date("2025-12-31".into()));
        all_fields.insert(Ref::new("cf-checkbox"), FieldValue::Checkbox(true));
        all_fields.insert(
            Ref::new("cf-dropdown"),
            FieldValue::Dropdown("widget_pro".into()),
        );
        all_fields.insert(
            Ref::new("cf-multi"),
            FieldValue::MultiSelect(set(&["emea", "apac"])),
        );
        all_fields.insert(Ref::new("cf-regex"), FieldValue::Text("ABC-123".into()));

        let ticket = |id: &str, subject: &str, status: TicketStatus, requester: &str| Ticket {
            id: id.into(),
            subject: subject.into(),
            status,
            priority: Some(Priority::Normal),
            ticket_type: Some(TicketType::Question),
            requester: Some(Ref::new(requester)),
            submitter: Some(Ref::new(requester)),
            assignee: Some(Ref::new("u-agent")),
            group: Some(Ref::new("g-support")),
            channel: Some("email".into()),
            created_at: ts("2023-05-01T09:00:00Z"),
            updated_at: ts("2023-05-03T17:30:00Z"),
            ..Default::default()
        };
        let mut tickets = vec![
            ticket(
                "t-1",
                "Printer on fire 🔥 — урок",
                TicketStatus::Open,
                "u-alice",
            ),
            ticket("t-2", "طلب استرداد", TicketStatus::Pending, "u-deleted"),
            ticket("t-3", HOSTILE_NAME, TicketStatus::Solved, "u-suspended"),
            ticket("t-4", "Closed long ago", TicketStatus::Closed, "u-hostile"),
        ];
        tickets[0].custom_fields = all_fields;
        tickets[0].tags = set(&["fire", "hardware", "ünïcødé"]);
        tickets[0].priority = Some(Priority::Urgent);
        tickets[0].ticket_type = Some(TicketType::Incident);
        tickets[0].organization = Some(Ref::new("org-1"));
        tickets[0].links.insert(TicketLink {
            kind: LinkKind::RefersTo,
            ticket: Ref::new("t-2"),
        });
        tickets[1].organization = Some(Ref::new("org-2"));
        tickets[1].group = Some(Ref::new("g-billing"));
        tickets[1].links.insert(TicketLink {
            kind: LinkKind::DependsOn,
            ticket: Ref::new("t-3"),
        });
        tickets[2].solved_at = ts("2023-05-03T17:30:00Z");
        tickets[3].archived = true;
        tickets[3].assignee = None;
        tickets[3].priority = None;
        tickets[3].solved_at = ts("2023-05-02T12:00:00Z");
        tickets[3]
            .extra
            .insert("vendor_brand_id".into(), serde_json::json!(360001));

        let comment =
            |id: &str, ticket: &str, author: &str, public: bool, text: &str, at: &str| Comment {
                id: id.into(),
                ticket: Ref::new(ticket),
                author: Some(Ref::new(author)),
                public,
                body_html: Some(format!(
                    "<p>{}</p>",
                    text.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                )),
                body_text: text.into(),
                created_at: ts(at),
                ..Default::default()
            };
        let mut comments = vec![
            comment(
                "c-1",
                "t-1",
                "u-alice",
                true,
                "My printer is on fire. Привет! <b>not bold</b>",
                "2023-05-01T09:00:00Z",
            ),
            comment(
                "c-2",
                "t-1",
                "u-agent",
                true,
                "Please unplug it & stand back.",
                "2023-05-01T09:05:00Z",
            ),
            comment(
                "c-3",
                "t-1",
                "u-agent",
                false,
                "Internal: customer is VIP 🚨",
                "2023-05-01T09:06:00Z",
            ),
            comment(
                "c-4",
                "t-2",
                "u-deleted",
                true,
                "أريد استرداد أموالي",
                "2023-05-01T10:00:00Z",
            ),
            comment(
                "c-5",
                "t-3",
                "u-suspended",
                true,
                HOSTILE_NAME,
                "2023-05-02T08:00:00Z",
            ),
            comment(
                "c-6",
                "t-4",
                "u-hostile",
                true,
                "Thanks, solved.",
                "2023-05-02T11:00:00Z",
            ),
        ];
        comments[0].attachments = vec![big, logo];
        comments[0].body_html = Some(
            "<p>My printer is on fire. Привет! &lt;b&gt;not bold&lt;/b&gt;</p><p><img src=\"cid:logo.png\" alt=\"logo\"></p>".into(),
        );
        comments[1].attachments = vec![empty];
        comments[3].attachments = vec![notes];

        let ratings = vec![SatisfactionRating {
            id: "sr-1".into(),
            ticket: Ref::new("t-3"),
            requester: Some(Ref::new("u-suspended")),
            score: Score::Good,
            comment: Some("Schnell & freundlich".into()),
            created_at: ts("2023-05-04T08:00:00Z"),
            extra: Extra::new(),
        }];

        let categories = vec![KbCategory {
            id: "kc-1".into(),
            name: "Getting started".into(),
            locale: Some("en-us".into()),
            position: Some(1),
            created_at: ts("2021-01-01T00:00:00Z"),
            updated_at: ts("2021-01-01T00:00:00Z"),
            ..Default::default()
        }];
        let sections = vec![
            KbSection {
                id: "ks-1".into(),
                category: Ref::new("kc-1"),
                name: "Printers".into(),
                locale: Some("en-us".into()),
                ..Default::default()
            },
            KbSection {
                id: "ks-2".into(),
                category: Ref::new("kc-1"),
                parent: Some(Ref::new("ks-1")),
                name: "Printer fires".into(),
                locale: Some("en-us".into()),
                ..Default::default()
            },
        ];
        let mut translations = BTreeMap::new();
        translations.insert(
            "de".to_string(),
            Translation {
                locale: "de".into(),
                title: "Drucker brennt".into(),
                body_html: "<p>Stecker ziehen.</p>".into(),
            },
        );
        let articles = vec![KbArticle {
            id: "ka-1".into(),
            section: Ref::new("ks-2"),
            author: Some(Ref::new("u-admin")),
            title: "What to do when your printer is on fire".into(),
            body_html: "<h1>Stay calm</h1><p>Unplug &amp; call us.</p>".into(),
            locale: "en-us".into(),
            labels: set(&["safety", "printers"]),
            translations,
            attachments: vec![guide],
            created_at: ts("2021-02-01T00:00:00Z"),
            updated_at: ts("2022-02-01T00:00:00Z"),
            ..Default::default()
        }];

        let status_is = |status: TicketStatus| Condition {
            field: ConditionField::Status,
            operator: Operator::Is,
            value: RuleValue::Status(status),
        };
        let macros = vec![Macro {
            id: "m-1".into(),
            title: "Close & thank".into(),
            active: true,
            actions: vec![
                Action::SetStatus {
                    status: TicketStatus::Solved,
                },
                Action::PublicReply {
                    body: "Thanks for contacting us, {{ticket.requester.first_name}}!".into(),
                },
            ],
            ..Default::default()
        }];
        let rules = vec![
            Rule {
                id: "r-1".into(),
                rule_kind: RuleKind::Trigger,
                title: "Notify requester of receipt".into(),
                active: true,
                events: BTreeSet::from([RuleEvent::TicketCreated]),
                conditions: Conditions {
                    all: vec![Condition {
                        field: ConditionField::Status,
                        operator: Operator::IsNot,
                        value: RuleValue::Status(TicketStatus::Solved),
                    }],
                    any: vec![],
                },
                actions: vec![
                    Action::Notify {
                        recipient: Recipient::Requester,
                        subject: "Received: {{ticket.subject}}".into(),
                        body: "We got ticket #{{ticket.id}}".into(),
                    },
                    Action::CallWebhook {
                        webhook: Ref::new("w-1"),
                        body: "{\"id\": \"{{ticket.id}}\"}".into(),
                    },
                ],
                ..Default::default()
            },
            Rule {
                id: "r-2".into(),
                rule_kind: RuleKind::Automation,
                title: "Close solved after 4 days".into(),
                active: true,
                events: BTreeSet::from([RuleEvent::Hourly]),
                conditions: Conditions {
                    all: vec![
                        status_is(TicketStatus::Solved),
                        Condition {
                            field: ConditionField::HoursSinceSolved,
                            operator: Operator::GreaterThan,
                            value: RuleValue::Number(96),
                        },
                    ],
                    any: vec![],
                },
                actions: vec![Action::SetStatus {
                    status: TicketStatus::Closed,
                }],
                ..Default::default()
            },
        ];
        let webhooks = vec![Webhook {
            id: "w-1".into(),
            name: "CRM sync".into(),
            endpoint: "https://crm.example/hooks/helpdesk?src=zd".into(),
            method: "POST".into(),
            format: "json".into(),
            auth: WebhookAuth::Basic {
                username: "crm-bot".into(),
            },
            active: true,
            subscriptions: set(&["ticket.created", "ticket.solved"]),
            ..Default::default()
        }];
        let slas = vec![SlaPolicy {
            id: "sla-1".into(),
            title: "Incidents".into(),
            filter: Conditions {
                all: vec![Condition {
                    field: ConditionField::TicketType,
                    operator: Operator::Is,
                    value: RuleValue::TicketType(TicketType::Incident),
                }],
                any: vec![],
            },
            // A first reply and a resolution target for every priority, as the targets
            // that keep SLA policies (Freshdesk) require.
            targets: [
                (Priority::Urgent, 30, 240),
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
                        business_hours: false,
                    },
                ]
            })
            .collect(),
            ..Default::default()
        }];
        let views = vec![View {
            id: "v-1".into(),
            title: "My open tickets".into(),
            active: true,
            conditions: Conditions {
                all: vec![Condition {
                    field: ConditionField::Assignee,
                    operator: Operator::Is,
                    value: RuleValue::CurrentUser,
                }],
                any: vec![],
            },
            columns: vec!["subject".into(), "requester".into(), "updated_at".into()],
            sort_by: Some("updated_at".into()),
            ..Default::default()
        }];

        let mut records: BTreeMap<Kind, Vec<Record>> = BTreeMap::new();
        fn put<T: Entity>(records: &mut BTreeMap<Kind, Vec<Record>>, items: Vec<T>) {
            records.insert(
                T::KIND,
                items.into_iter().map(Entity::into_record).collect(),
            );
        }
        put(&mut records, organizations);
        put(&mut records, users);
        put(&mut records, groups);
        put(&mut records, memberships);
        put(&mut records, fields);
        put(&mut records, tickets);
        put(&mut records, comments);
        put(&mut records, ratings);
        put(&mut records, categories);
        put(&mut records, sections);
        put(&mut records, articles);
        put(&mut records, macros);
        put(&mut records, rules);
        put(&mut records, webhooks);
        put(&mut records, slas);
        put(&mut records, views);
        Dataset { records, blobs }
    }

    /// The records of one kind.
    pub fn of(&self, kind: Kind) -> &[Record] {
        self.records.get(&kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The dataset without record `id` of `kind`, for a platform that has no place for
    /// it: a field definition's values go from every record too (they would point at a
    /// field that is not there); other references to it stay.
    pub fn without(mut self, kind: Kind, id: &str) -> Self {
        if let Some(records) = self.records.get_mut(&kind) {
            records.retain(|r| r.id() != id);
        }
        if kind == Kind::FieldDefinition {
            for records in self.records.values_mut() {
                for record in records {
                    let fields = match record {
                        Record::Ticket(t) => &mut t.custom_fields,
                        Record::User(u) => &mut u.custom_fields,
                        Record::Organization(o) => &mut o.custom_fields,
                        _ => continue,
                    };
                    fields.retain(|field, _| field.id() != id);
                }
            }
        }
        self
    }

    /// The bytes of an attachment, by attachment id.
    pub fn blob(&self, attachment_id: &str) -> Option<&[u8]> {
        self.blobs.get(attachment_id).map(Vec::as_slice)
    }
}

/// Lowercase hex SHA-256 of some bytes.
pub fn hex_sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ContentSource for Dataset {
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError> {
        let bytes = self
            .blob(&attachment.id)
            .ok_or_else(|| AdapterError::NotFound {
                adapter: "dataset".into(),
                kind: Kind::Attachment,
                id: attachment.id.clone(),
            })?;
        Ok(Box::new(IoCursor::new(bytes.to_vec())))
    }
}

/// Generated bulk tickets with comments and small attachments, deterministic for a
/// seed-free index range: what demos and benchmarks move in volume.
pub struct Generated;

impl Generated {
    /// Tickets `range` (requested by the dataset's users), each with `comments` comments;
    /// every second comment carries an attachment of `attachment_bytes` bytes.
    pub fn tickets(
        range: std::ops::Range<usize>,
        comments: usize,
        attachment_bytes: usize,
    ) -> (Vec<Record>, Vec<Record>) {
        let requesters = ["u-alice", "u-suspended", "u-deleted", "u-hostile"];
        let mut tickets = Vec::with_capacity(range.len());
        let mut all_comments = Vec::with_capacity(range.len() * comments);
        for i in range {
            let id = format!("gen-{i:08}");
            let requester = requesters[i % requesters.len()];
            tickets.push(
                Ticket {
                    id: id.clone(),
                    subject: format!("Generated ticket {i}: order #{} не доставлен", 10_000 + i),
                    status: [
                        TicketStatus::Open,
                        TicketStatus::Pending,
                        TicketStatus::Solved,
                        TicketStatus::Closed,
                    ][i % 4],
                    priority: Some(Priority::Normal),
                    tags: set(&["generated"]),
                    requester: Some(Ref::new(requester)),
                    assignee: Some(Ref::new("u-agent")),
                    group: Some(Ref::new("g-support")),
                    created_at: Timestamp::from_unix(1_600_000_000 + i as i64 * 60),
                    updated_at: Timestamp::from_unix(1_600_000_000 + i as i64 * 60 + 3600),
                    ..Default::default()
                }
                .into_record(),
            );
            for c in 0..comments {
                let attachments = if c % 2 == 1 && attachment_bytes > 0 {
                    let bytes = noise(attachment_bytes, (i * 31 + c) as u64);
                    vec![Attachment {
                        id: format!("gen-att-{i}-{c}-{attachment_bytes}"),
                        file_name: format!("log-{c}.txt"),
                        content_type: "text/plain".into(),
                        size: attachment_bytes as u64,
                        sha256: Some(hex_sha(&bytes)),
                        location: Some(format!("generated:{i}:{c}:{attachment_bytes}")),
                        ..Default::default()
                    }]
                } else {
                    Vec::new()
                };
                all_comments.push(
                    Comment {
                        id: format!("{id}-c{c}"),
                        ticket: Ref::new(id.clone()),
                        author: Some(Ref::new(if c % 2 == 0 { requester } else { "u-agent" })),
                        public: c % 3 != 2,
                        body_html: Some(format!("<p>Reply {c} on ticket {i}</p>")),
                        body_text: format!("Reply {c} on ticket {i}"),
                        attachments,
                        created_at: Timestamp::from_unix(1_600_000_000 + i as i64 * 60 + c as i64),
                        ..Default::default()
                    }
                    .into_record(),
                );
            }
        }
        (tickets, all_comments)
    }

    /// The bytes of a generated attachment, from its location.
    pub fn content(attachment: &Attachment) -> Option<Vec<u8>> {
        let location = attachment.location.as_deref()?.strip_prefix("generated:")?;
        let mut parts = location.split(':').map(|p| p.parse::<usize>().ok());
        let (i, c, size) = (parts.next()??, parts.next()??, parts.next()??);
        Some(noise(size, (i * 31 + c) as u64))
    }
}

/// Attachment bytes for both the fixed dataset and generated tickets.
pub struct AnyContent<'a>(pub &'a Dataset);

impl ContentSource for AnyContent<'_> {
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError> {
        match Generated::content(attachment) {
            Some(bytes) => Ok(Box::new(IoCursor::new(bytes))),
            None => self.0.open(attachment),
        }
    }
}

/// Writes records of one kind to a target as new records in batches of 500; a refused
/// record is an error. For seeding test, demo and benchmark backends.
pub fn seed_kind(
    target: &dyn switchover_adapter::Target,
    kind: Kind,
    records: &[Record],
    content: &dyn ContentSource,
) -> Result<u64, AdapterError> {
    let mut written = 0;
    for chunk in records.chunks(500) {
        let batch: Vec<switchover_adapter::WriteRequest> = chunk
            .iter()
            .map(|r| switchover_adapter::WriteRequest {
                record: r.clone(),
                existing: None,
                children: Vec::new(),
            })
            .collect();
        for outcome in target.write_batch(kind, &batch, content)? {
            outcome.result?;
            written += 1;
        }
    }
    Ok(written)
}

impl Dataset {
    /// Writes every record of the dataset to a target, kind by kind in dependency order.
    pub fn seed(
        &self,
        target: &dyn switchover_adapter::Target,
        content: &dyn ContentSource,
    ) -> Result<u64, AdapterError> {
        let mut written = 0;
        for (kind, records) in &self.records {
            written += seed_kind(target, *kind, records, content)?;
        }
        Ok(written)
    }
}

impl Generated {
    /// Writes generated tickets `range` with their comments to a target, 1,000 tickets at
    /// a time so memory stays flat however many are asked for.
    pub fn seed(
        target: &dyn switchover_adapter::Target,
        range: std::ops::Range<usize>,
        comments: usize,
        attachment_bytes: usize,
        content: &dyn ContentSource,
    ) -> Result<u64, AdapterError> {
        let mut written = 0;
        let mut start = range.start;
        while start < range.end {
            let end = (start + 1000).min(range.end);
            let (tickets, all_comments) =
                Generated::tickets(start..end, comments, attachment_bytes);
            written += seed_kind(target, Kind::Ticket, &tickets, content)?;
            written += seed_kind(target, Kind::Comment, &all_comments, content)?;
            start = end;
        }
        Ok(written)
    }
}
