//! The emulator's own conversion of the kit's canonical seed data into Help Scout JSON,
//! and the record builders the routes share. Nothing here is shared with the adapter.

use std::collections::HashMap;

use serde_json::{Value, json};
use switchover_model::*;
use switchover_sandbox::EmulatorConfig;
use switchover_sandbox::generate::Generator;

use crate::store::{Account, Blob, StoredAttachment, slug};

/// Help Scout's spelling of a timestamp.
pub(crate) fn hs_time(ts: Option<&Timestamp>) -> Value {
    match ts {
        Some(t) => Value::String(t.as_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => Value::Null,
    }
}

fn time_text(ts: Option<&Timestamp>) -> String {
    hs_time(ts)
        .as_str()
        .unwrap_or("2019-01-01T00:00:00Z")
        .to_string()
}

/// Splits a display name into first and last names.
pub(crate) fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((first, last)) => (first.to_string(), last.trim().to_string()),
        None => (name.trim().to_string(), String::new()),
    }
}

/// A user record.
pub(crate) fn user_json(
    id: u64,
    first: &str,
    last: &str,
    email: &str,
    role: &str,
    timezone: &str,
    at: &str,
) -> Value {
    json!({
        "id": id, "firstName": first, "lastName": last, "email": email, "role": role,
        "timezone": timezone, "photoUrl": "https://d33v4339jhl8k0.cloudfront.net/users/default.png",
        "createdAt": at, "updatedAt": at, "type": "user", "mention": first.to_lowercase(),
        "initials": format!("{}{}", first.chars().next().unwrap_or('U'), last.chars().next().unwrap_or('U')),
        "jobTitle": null, "phone": null, "alternateEmails": [],
    })
}

/// A reference to a user inside another record.
pub(crate) fn user_ref(user: &Value) -> Value {
    json!({
        "id": user["id"], "type": "user", "first": user["firstName"], "last": user["lastName"],
        "email": user["email"],
    })
}

/// A reference to a customer inside another record.
pub(crate) fn customer_ref(customer: &Value) -> Value {
    json!({
        "id": customer["id"], "type": "customer", "first": customer["firstName"],
        "last": customer["lastName"], "email": primary_email(customer),
    })
}

/// The first email of a customer.
pub(crate) fn primary_email(customer: &Value) -> Value {
    customer["_embedded"]["emails"][0]["value"].clone()
}

/// Adds a mailbox and its default folders, returning its id.
pub(crate) fn add_mailbox(account: &mut Account, name: &str, email: &str, at: &str) -> u64 {
    let id = account.next_id();
    account.mailboxes.insert(
        id,
        json!({
            "id": id, "name": name, "slug": format!("{:016x}", switchover_sandbox::rng::hash(7, "mailbox-slug", id)),
            "email": email, "createdAt": at, "updatedAt": at,
        }),
    );
    let mut folders = Vec::new();
    for (folder, kind) in [
        ("Unassigned", "open"),
        ("Mine", "mine"),
        ("Drafts", "drafts"),
        ("Assigned", "assigned"),
        ("Closed", "closed"),
        ("Spam", "spam"),
    ] {
        let fid = account.next_id();
        folders.push(json!({
            "id": fid, "name": folder, "type": kind, "userId": 0, "totalCount": 0,
            "activeCount": 0, "updatedAt": at,
        }));
    }
    account.folders.insert(id, folders);
    account.fields.insert(id, Vec::new());
    id
}

/// Adds a custom field definition to a mailbox, returning its id (0 for no such mailbox).
pub(crate) fn add_field(
    account: &mut Account,
    mailbox: u64,
    name: &str,
    field_type: &str,
    options: &[String],
) -> u64 {
    if !account.mailboxes.contains_key(&mailbox) {
        return 0;
    }
    let id = account.next_id();
    let options: Vec<Value> = options
        .iter()
        .enumerate()
        .map(|(order, label)| {
            let oid = account.next_id();
            json!({"id": oid, "order": order + 1, "label": label})
        })
        .collect();
    let list = account.fields.entry(mailbox).or_default();
    let order = list.len() + 1;
    list.push(json!({
        "id": id, "name": name, "type": field_type, "order": order, "required": false,
        "options": options,
    }));
    id
}

/// A customer record in the shape `GET /v2/customers/{id}` answers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn customer_json(
    id: u64,
    first: Value,
    last: Value,
    organization: Value,
    organization_id: Value,
    background: Value,
    emails: Vec<Value>,
    phones: Vec<Value>,
    at: &str,
) -> Value {
    json!({
        "id": id, "firstName": first, "lastName": last, "gender": "unknown", "jobTitle": null,
        "location": null, "organization": organization, "organizationId": organization_id,
        "photoType": "unknown", "photoUrl": null, "background": background, "age": null,
        "createdAt": at, "updatedAt": at,
        "_embedded": {
            "emails": emails, "phones": phones, "chats": [], "social_profiles": [], "websites": [],
        },
    })
}

/// A thread record in the shape `GET .../threads` answers (attachments without links).
#[allow(clippy::too_many_arguments)]
pub(crate) fn thread_json(
    id: u64,
    read_type: &str,
    body: &str,
    status: &str,
    state: &str,
    at: &str,
    created_by: Value,
    customer: Value,
    assigned_to: Value,
    attachments: Vec<Value>,
) -> Value {
    let via = if created_by["type"] == "customer" {
        "customer"
    } else {
        "user"
    };
    json!({
        "id": id, "type": read_type, "status": status, "state": state,
        "action": {"type": "default", "associatedEntities": {}},
        "body": body, "source": {"type": "api", "via": via},
        "customer": customer, "createdBy": created_by, "assignedTo": assigned_to,
        "savedReplyId": 0, "to": [], "cc": [], "bcc": [], "createdAt": at, "openedAt": null,
        "_embedded": {"attachments": attachments},
    })
}

/// An attachment record (the bytes are kept apart).
pub(crate) fn attachment_json(
    id: u64,
    filename: &str,
    mime: &str,
    size: u64,
    image: bool,
) -> Value {
    json!({
        "id": id, "filename": filename, "mimeType": mime, "size": size,
        "width": if image { 64 } else { 0 }, "height": if image { 64 } else { 0 },
        "state": "valid",
    })
}

/// Strips tags for previews.
pub(crate) fn preview(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(255).collect()
}

fn field_type(field_type: FieldType) -> Option<&'static str> {
    match field_type {
        FieldType::Text | FieldType::Regex => Some("singleline"),
        FieldType::Textarea => Some("multiline"),
        FieldType::Number => Some("number"),
        FieldType::Date => Some("date"),
        FieldType::Dropdown | FieldType::Checkbox => Some("dropdown"),
        FieldType::MultiSelect => None,
    }
}

/// Seeds `account` from the kit's generator: the owner and "Support" always.
pub(crate) fn seed(account: &mut Account, config: &EmulatorConfig) {
    let generator = Generator::new(config);
    let mut ids: HashMap<String, u64> = HashMap::new();
    let admin = generator.agent(0);
    let owner = account.next_id();
    account.owner_id = owner;
    let at = time_text(admin.created_at.as_ref());
    let (first, last) = split_name(&admin.name);
    let owner_email = admin.email.clone().unwrap_or_default();
    account.users.insert(
        owner,
        user_json(owner, &first, &last, &owner_email, "owner", "UTC", &at),
    );
    ids.insert(admin.id.clone(), owner);
    let support = add_mailbox(account, "Support", "support@switchover.example", &at);

    for i in 0..config.organizations {
        let org = generator.organization(i);
        let id = account.next_id();
        ids.insert(org.id.clone(), id);
        account.organizations.insert(
            id,
            json!({
                "id": id, "name": org.name, "website": org.domains.iter().next().map(|d| format!("https://{d}")),
                "description": org.details, "location": null, "logoUrl": null, "note": org.notes,
                "domains": org.domains, "phones": [], "brandColor": null,
                "createdAt": hs_time(org.created_at.as_ref()), "updatedAt": hs_time(org.updated_at.as_ref()),
            }),
        );
    }
    for i in 1..=config.agents {
        let agent = generator.agent(i);
        let id = account.next_id();
        ids.insert(agent.id.clone(), id);
        let (first, last) = split_name(&agent.name);
        account.users.insert(
            id,
            user_json(
                id,
                &first,
                &last,
                agent.email.as_deref().unwrap_or(""),
                "user",
                agent.time_zone.as_deref().unwrap_or("UTC"),
                &time_text(agent.created_at.as_ref()),
            ),
        );
    }
    let mut mailboxes = vec![support];
    for i in 0..config.groups {
        let group = generator.group(i);
        let id = add_mailbox(
            account,
            &group.name,
            &format!("group{i}@switchover.example"),
            &time_text(group.created_at.as_ref()),
        );
        ids.insert(group.id.clone(), id);
        mailboxes.push(id);
    }
    // Field definitions: canonical id -> (mailbox -> (field id, type, option ids by value)).
    type FieldMap = HashMap<u64, (u64, String, String, HashMap<String, (u64, String)>)>;
    let mut fields: HashMap<String, FieldMap> = HashMap::new();
    for def in generator.field_definitions(FieldObject::Ticket) {
        let Some(kind) = field_type(def.field_type) else {
            continue;
        };
        let labels: Vec<(String, String)> = if def.field_type == FieldType::Checkbox {
            vec![("true".into(), "Yes".into()), ("false".into(), "No".into())]
        } else {
            def.options
                .iter()
                .map(|o| (o.value.clone(), o.label.clone()))
                .collect()
        };
        let mut per_mailbox = HashMap::new();
        for mailbox in &mailboxes {
            let label_list: Vec<String> = labels.iter().map(|(_, l)| l.clone()).collect();
            let fid = add_field(account, *mailbox, &def.title, kind, &label_list);
            let mut options = HashMap::new();
            if let Some(stored) = account
                .fields
                .get(mailbox)
                .and_then(|l| l.iter().find(|f| f["id"] == fid))
            {
                for ((value, label), option) in labels
                    .iter()
                    .zip(stored["options"].as_array().into_iter().flatten())
                {
                    options.insert(
                        value.clone(),
                        (option["id"].as_u64().unwrap_or(0), label.clone()),
                    );
                }
            }
            per_mailbox.insert(
                *mailbox,
                (fid, kind.to_string(), def.title.clone(), options),
            );
        }
        fields.insert(def.id.clone(), per_mailbox);
    }
    for i in 0..config.users {
        let user = generator.user(i);
        let id = account.next_id();
        ids.insert(user.id.clone(), id);
        let (first, last) = split_name(&user.name);
        let org = user
            .organization
            .as_ref()
            .and_then(|o| ids.get(o.id()))
            .copied();
        let org_name = org
            .and_then(|o| account.organizations.get(&o))
            .map(|o| o["name"].clone())
            .unwrap_or(Value::Null);
        let mut emails = Vec::new();
        if let Some(email) = &user.email {
            let eid = account.next_id();
            emails.push(json!({"id": eid, "type": "work", "value": email}));
        }
        let mut phones = Vec::new();
        if let Some(phone) = &user.phone {
            let pid = account.next_id();
            phones.push(json!({"id": pid, "type": "work", "value": phone}));
        }
        let background = user
            .extra
            .get("notes")
            .and_then(Value::as_str)
            .map(|s| Value::String(s.chars().take(200).collect()))
            .unwrap_or(Value::Null);
        let customer = customer_json(
            id,
            json!(first.chars().take(40).collect::<String>()),
            if last.is_empty() {
                Value::Null
            } else {
                json!(last.chars().take(40).collect::<String>())
            },
            org_name,
            org.map(Value::from).unwrap_or(Value::Null),
            background,
            emails,
            phones,
            &time_text(user.created_at.as_ref()),
        );
        let mut customer = customer;
        customer["updatedAt"] = hs_time(user.updated_at.as_ref());
        account.customers.insert(id, customer);
    }
    for i in 0..config.tickets {
        seed_ticket(account, &generator, i, &ids, &fields, support);
    }
    for i in 0..config.macros {
        let m = generator.macro_(i);
        let id = account.next_id();
        let text = m
            .actions
            .iter()
            .find_map(|a| match a {
                Action::PublicReply { body } => Some(body.clone()),
                _ => None,
            })
            .unwrap_or_default();
        account.saved_replies.insert(
            id,
            (
                support,
                json!({"id": id, "name": m.title, "text": text, "chatText": text}),
            ),
        );
    }
    let mut order = 0;
    for (count, automation) in [(config.triggers, false), (config.automations, true)] {
        for i in 0..count {
            let rule = generator.rule(i, automation);
            let id = account.next_id();
            order += 1;
            account.workflows.insert(
                id,
                json!({
                    "id": id, "mailboxId": mailboxes[i % mailboxes.len()],
                    "type": if automation { "manual" } else { "automatic" },
                    "status": if rule.active { "active" } else { "inactive" }, "order": order,
                    "name": rule.title, "createdAt": hs_time(rule.created_at.as_ref()),
                    "modifiedAt": hs_time(rule.updated_at.as_ref()),
                }),
            );
        }
    }
    for i in 0..config.webhooks {
        let hook = generator.webhook(i);
        let id = account.next_id();
        account.webhooks.insert(
            id,
            json!({
                "id": id, "url": hook.endpoint, "state": if hook.active { "enabled" } else { "disabled" },
                "events": ["convo.created", "convo.customer.reply.created"], "notification": false,
                "payloadVersion": "V2", "label": hook.name, "mailboxIds": [],
                "secret": format!("secret{i}"),
            }),
        );
    }
    seed_docs(account, &generator, owner);
}

type Fields = HashMap<String, HashMap<u64, (u64, String, String, HashMap<String, (u64, String)>)>>;

fn seed_ticket(
    account: &mut Account,
    generator: &Generator,
    i: usize,
    ids: &HashMap<String, u64>,
    fields: &Fields,
    support: u64,
) {
    let ticket = generator.ticket(i);
    let comments = generator.comments(i);
    let mailbox = ticket
        .group
        .as_ref()
        .and_then(|g| ids.get(g.id()))
        .copied()
        .unwrap_or(support);
    let owner = account.owner_id;
    let person = |account: &Account, r: Option<&Ref<User>>| -> Value {
        let id = r.and_then(|r| ids.get(r.id())).copied();
        match id {
            Some(id) if account.customers.contains_key(&id) => {
                customer_ref(&account.customers[&id])
            }
            Some(id) if account.users.contains_key(&id) => user_ref(&account.users[&id]),
            _ => user_ref(&account.users[&owner]),
        }
    };
    let requester = ticket
        .requester
        .as_ref()
        .and_then(|r| ids.get(r.id()))
        .copied()
        .filter(|id| account.customers.contains_key(id));
    // A ticket requested by an agent gets a stand-in customer.
    let customer_id = match requester {
        Some(id) => id,
        None => {
            let id = account.next_id();
            let eid = account.next_id();
            let at = time_text(ticket.created_at.as_ref());
            account.customers.insert(
                id,
                customer_json(
                    id,
                    json!("Agent"),
                    json!("Requester"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    vec![json!({"id": eid, "type": "work", "value": format!("requester{i}@switchover.example")})],
                    Vec::new(),
                    &at,
                ),
            );
            id
        }
    };
    let customer = customer_ref(&account.customers[&customer_id]);
    let status = match ticket.status {
        TicketStatus::New | TicketStatus::Open => "active",
        TicketStatus::Pending | TicketStatus::OnHold => "pending",
        TicketStatus::Solved | TicketStatus::Closed => "closed",
    };
    let assignee = ticket
        .assignee
        .as_ref()
        .and_then(|a| ids.get(a.id()))
        .copied()
        .filter(|id| account.users.contains_key(id));
    let id = account.next_id();
    let number = account.next_number();
    let mut threads = Vec::new();
    let requester_ref = ticket.requester.as_ref().map(|r| r.id().to_string());
    for (j, comment) in comments.iter().enumerate() {
        let tid = account.next_id();
        let by_requester =
            comment.author.as_ref().map(|a| a.id().to_string()) == requester_ref || j == 0;
        let (read_type, created_by) = if j == 0 || (by_requester && comment.public) {
            ("customer", customer.clone())
        } else if comment.public {
            ("message", person(account, comment.author.as_ref()))
        } else {
            ("note", person(account, comment.author.as_ref()))
        };
        let created_by = if created_by["type"] == "customer" && read_type != "customer" {
            user_ref(&account.users[&owner])
        } else {
            created_by
        };
        let mut attachments = Vec::new();
        for a in &comment.attachments {
            let aid = account.next_id();
            account.attachments.insert(
                aid,
                StoredAttachment {
                    conversation: id,
                    thread: tid,
                    blob: Blob::Generated {
                        key: a.id.clone(),
                        size: a.size,
                    },
                },
            );
            attachments.push(attachment_json(
                aid,
                &a.file_name,
                &a.content_type,
                a.size,
                a.content_type.starts_with("image/"),
            ));
        }
        let body = comment.body_html.clone().unwrap_or_default();
        threads.push(thread_json(
            tid,
            read_type,
            &body,
            if read_type == "note" {
                "nochange"
            } else {
                status
            },
            "published",
            &time_text(comment.created_at.as_ref()),
            created_by,
            customer.clone(),
            assignee
                .map(|a| user_ref(&account.users[&a]))
                .unwrap_or(Value::Null),
            attachments,
        ));
    }
    let now = time_text(ticket.created_at.as_ref());
    let tags: Vec<Value> = ticket
        .tags
        .iter()
        .map(|t| {
            let tid = account.tag_id(t, &now);
            let tag = &account.tags[&tid];
            json!({"id": tid, "color": tag["color"], "tag": tag["name"]})
        })
        .collect();
    let mut custom = Vec::new();
    for (key, value) in &ticket.custom_fields {
        let Some((fid, kind, name, options)) = fields.get(key.id()).and_then(|m| m.get(&mailbox))
        else {
            continue;
        };
        let (value, text) = match (kind.as_str(), value) {
            ("dropdown", FieldValue::Dropdown(v)) => match options.get(v) {
                Some((oid, label)) => (oid.to_string(), label.clone()),
                None => continue,
            },
            ("dropdown", FieldValue::Checkbox(b)) => match options.get(&b.to_string()) {
                Some((oid, label)) => (oid.to_string(), label.clone()),
                None => continue,
            },
            (_, FieldValue::Text(s)) => {
                let s: String = s.chars().take(255).collect();
                (s.clone(), s)
            }
            (_, FieldValue::Date(s)) => (s.clone(), s.clone()),
            (_, FieldValue::Number(n)) => (n.to_string(), n.to_string()),
            _ => continue,
        };
        custom.push(json!({"id": fid, "name": name, "value": value, "text": text}));
    }
    let folder = account.folders.get(&mailbox).and_then(|f| {
        let kind = match status {
            "closed" => "closed",
            _ if assignee.is_some() => "assigned",
            _ => "open",
        };
        f.iter()
            .find(|x| x["type"] == kind)
            .map(|x| x["id"].clone())
    });
    let last_body = threads
        .last()
        .and_then(|t| t["body"].as_str())
        .unwrap_or("")
        .to_string();
    let closed = status == "closed";
    let mut conversation = json!({
        "id": id, "number": number, "type": "email", "folderId": folder,
        "status": status, "state": "published", "subject": ticket.subject,
        "preview": preview(&last_body), "mailboxId": mailbox,
        "createdBy": customer.clone(), "createdAt": hs_time(ticket.created_at.as_ref()),
        "closedAt": if closed { hs_time(ticket.solved_at.as_ref().or(ticket.updated_at.as_ref())) } else { Value::Null },
        "userUpdatedAt": hs_time(ticket.updated_at.as_ref()),
        "source": {"type": "email", "via": "customer"}, "tags": tags, "cc": [], "bcc": [],
        "primaryCustomer": customer.clone(), "customFields": custom,
    });
    if let Some(a) = assignee {
        conversation["assignee"] = user_ref(&account.users[&a]);
    }
    if closed {
        let closer = assignee.unwrap_or(owner);
        conversation["closedBy"] = json!(closer);
        conversation["closedByUser"] = user_ref(&account.users[&closer]);
    }
    if let Some(rating) = generator.satisfaction_rating(i) {
        let rid = account.next_id();
        let word = match rating.score {
            Score::Good => "great",
            Score::Bad => "not_good",
            Score::Scale { value, max } if value * 2 > max + 1 => "great",
            Score::Scale { value, max } if value * 2 == max + 1 => "okay",
            Score::Scale { .. } => "not_good",
        };
        let rated = threads
            .iter()
            .rev()
            .find(|t| t["type"] == "message")
            .or(threads.last());
        let user = assignee.unwrap_or(owner);
        let u = &account.users[&user];
        let c = &account.customers[&customer_id];
        account.ratings.insert(
            rid,
            json!({
                "id": rid,
                "customer": {"id": customer_id, "email": primary_email(c), "firstName": c["firstName"], "lastName": c["lastName"]},
                "threadId": rated.map(|t| t["id"].clone()).unwrap_or(Value::Null),
                "conversationId": id, "conversationNumber": number, "mailboxId": mailbox,
                "rating": word,
                "user": {"id": user, "email": u["email"], "firstName": u["firstName"], "lastName": u["lastName"]},
                "comments": rating.comment, "createdAt": hs_time(rating.created_at.as_ref()),
                "modifiedAt": hs_time(rating.created_at.as_ref()),
            }),
        );
    }
    account.conversations.insert(id, conversation);
    account.threads.insert(id, threads);
}

fn seed_docs(account: &mut Account, generator: &Generator, owner: u64) {
    let mut ids: HashMap<String, String> = HashMap::new();
    let site = "5e0000000000000000000001";
    for i in 0..generator.kb_category_count() {
        let c = generator.kb_category(i);
        let id = account.next_docs_id();
        ids.insert(c.id.clone(), id.clone());
        let at = hs_time(c.created_at.as_ref());
        account.collections.insert(
            id.clone(),
            json!({
                "id": id, "siteId": site, "number": i + 1, "slug": slug(&c.name),
                "visibility": "public", "order": c.position.unwrap_or(0) + 1, "name": c.name,
                "description": c.description, "publicUrl": format!("https://docs.switchover.example/collection/{}-{}", i + 1, slug(&c.name)),
                "createdBy": owner, "updatedBy": owner, "createdAt": at, "updatedAt": hs_time(c.updated_at.as_ref()),
            }),
        );
    }
    for i in 0..generator.kb_section_count() {
        let s = generator.kb_section(i);
        let Some(collection) = ids.get(s.category.id()).cloned() else {
            continue;
        };
        let id = account.next_docs_id();
        ids.insert(s.id.clone(), id.clone());
        account.categories.insert(
            id.clone(),
            json!({
                "id": id, "number": i + 1, "slug": slug(&s.name), "visibility": "public",
                "order": s.position.unwrap_or(0) + 1, "defaultSort": "popularity", "name": s.name,
                "description": s.description, "collectionId": collection,
                "publicUrl": format!("https://docs.switchover.example/category/{}-{}", i + 1, slug(&s.name)),
                "createdBy": owner, "updatedBy": owner, "createdAt": hs_time(s.created_at.as_ref()),
                "updatedAt": hs_time(s.updated_at.as_ref()),
            }),
        );
    }
    for i in 0..generator.config().kb_articles {
        let a = generator.kb_article(i);
        let Some(category) = ids.get(a.section.id()).cloned() else {
            continue;
        };
        let collection = account.categories[&category]["collectionId"].clone();
        let id = account.next_docs_id();
        account.articles.insert(
            id.clone(),
            json!({
                "id": id, "number": i + 1, "collectionId": collection,
                "status": if a.draft { "notpublished" } else { "published" }, "hasDraft": false,
                "name": a.title, "text": a.body_html, "categories": [category], "related": [],
                "keywords": a.labels, "slug": slug(&a.title),
                "publicUrl": format!("https://docs.switchover.example/article/{}-{}", i + 1, slug(&a.title)),
                "popularity": 0.0, "viewCount": 0, "createdBy": owner, "updatedBy": owner,
                "createdAt": hs_time(a.created_at.as_ref()), "updatedAt": hs_time(a.updated_at.as_ref()),
                "lastPublishedAt": if a.draft { Value::Null } else { hs_time(a.updated_at.as_ref()) },
            }),
        );
    }
}
