//! The emulator's own conversion of the kit's canonical seed data into Freshdesk JSON.
//! It shares no code with the adapter, so the adapter's mapping mistakes show.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use switchover_model::*;
use switchover_sandbox::EmulatorConfig;
use switchover_sandbox::generate::Generator;

use crate::store::{Account, Blob};

/// Freshdesk's spelling of a timestamp.
pub(crate) fn fd_time(ts: Option<&Timestamp>) -> Value {
    match ts {
        Some(t) => Value::String(t.as_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => Value::Null,
    }
}

fn status_code(status: TicketStatus) -> u64 {
    match status {
        TicketStatus::New | TicketStatus::Open => 2,
        TicketStatus::Pending | TicketStatus::OnHold => 3,
        TicketStatus::Solved => 4,
        TicketStatus::Closed => 5,
    }
}

fn priority_code(priority: Option<Priority>) -> u64 {
    match priority {
        None | Some(Priority::Low) => 1,
        Some(Priority::Normal) => 2,
        Some(Priority::High) => 3,
        Some(Priority::Urgent) => 4,
    }
}

fn source_code(channel: Option<&str>) -> u64 {
    match channel {
        Some("email") => 1,
        Some("phone") => 3,
        Some("chat") => 7,
        _ => 2,
    }
}

fn field_type_name(field_type: FieldType, object: &str) -> &'static str {
    match (field_type, object) {
        (FieldType::Textarea, _) => "custom_paragraph",
        (FieldType::Number, _) => "custom_decimal",
        (FieldType::Date, _) => "custom_date",
        (FieldType::Checkbox, _) => "custom_checkbox",
        (FieldType::Dropdown, _) => "custom_dropdown",
        (FieldType::MultiSelect, _) => "custom_multi_select_dropdown",
        _ => "custom_text",
    }
}

fn value_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Text(s) | FieldValue::Date(s) | FieldValue::Dropdown(s) => json!(s),
        FieldValue::Number(n) => json!(n),
        FieldValue::Checkbox(b) => json!(b),
        FieldValue::MultiSelect(set) => json!(set),
    }
}

/// Strips tags and decodes the common entities: Freshdesk's `*_text` companions.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag.trim_start_matches('/').to_ascii_lowercase();
                if (name.starts_with("p") || name.starts_with("br") || name.starts_with("div"))
                    && !out.is_empty()
                    && !out.ends_with('\n')
                {
                    out.push('\n');
                }
            }
            _ if in_tag => tag.push(c),
            _ => out.push(c),
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// The default ticket fields every account has.
pub(crate) fn default_ticket_fields(account: &mut Account) {
    let defaults: [(&str, &str, &str, Value); 11] = [
        (
            "requester",
            "Search a requester",
            "default_requester",
            Value::Null,
        ),
        ("subject", "Subject", "default_subject", Value::Null),
        (
            "ticket_type",
            "Type",
            "default_ticket_type",
            json!([
                "Question",
                "Incident",
                "Problem",
                "Feature Request",
                "Refund"
            ]),
        ),
        (
            "source",
            "Source",
            "default_source",
            json!({"Email": 1, "Portal": 2, "Phone": 3, "Chat": 7, "Feedback Widget": 9, "Outbound Email": 10}),
        ),
        (
            "status",
            "Status",
            "default_status",
            json!({"2": ["Open", "Being Processed"], "3": ["Pending", "Awaiting your Reply"], "4": ["Resolved", "This ticket has been Resolved"], "5": ["Closed", "This ticket has been Closed"]}),
        ),
        (
            "priority",
            "Priority",
            "default_priority",
            json!({"Low": 1, "Medium": 2, "High": 3, "Urgent": 4}),
        ),
        ("group", "Group", "default_group", Value::Null),
        ("agent", "Agent", "default_agent", Value::Null),
        ("product", "Product", "default_product", Value::Null),
        (
            "description",
            "Description",
            "default_description",
            Value::Null,
        ),
        ("company", "Company", "default_company", Value::Null),
    ];
    for (position, (name, label, kind, choices)) in defaults.into_iter().enumerate() {
        let id = account.next_id();
        let mut field = json!({
            "id": id, "name": name, "label": label, "description": null, "position": position + 1,
            "required_for_closure": false, "required_for_agents": name == "requester" || name == "subject",
            "type": kind, "default": true, "customers_can_edit": true, "label_for_customers": label,
            "required_for_customers": false, "displayed_to_customers": true,
            "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"
        });
        if !choices.is_null() {
            field["choices"] = choices;
        }
        account.fields_mut("ticket").insert(id, field);
    }
}

/// A custom field definition in Freshdesk form, for `object` (`ticket`, `contact`, `company`).
pub(crate) fn custom_field(
    id: u64,
    object: &str,
    name: &str,
    label: &str,
    kind: &str,
    choices: Vec<String>,
    position: usize,
) -> Value {
    let mut field = json!({
        "id": id, "name": name, "label": label, "description": null, "position": position,
        "required_for_closure": false, "required_for_agents": false, "type": kind,
        "default": false, "customers_can_edit": false, "label_for_customers": label,
        "required_for_customers": false, "displayed_to_customers": false,
        "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"
    });
    if kind.ends_with("dropdown") {
        field["choices"] = json!(choices);
    }
    if object != "ticket" {
        // Contact and company fields are shaped slightly differently.
        if let Some(o) = field.as_object_mut() {
            o.remove("required_for_closure");
            o.remove("label_for_customers");
        }
    }
    field
}

/// Seeds `account` from the kit's generator.
pub(crate) fn seed(account: &mut Account, config: &EmulatorConfig) {
    let generator = Generator::new(config);
    default_ticket_fields(account);
    let mut ids: HashMap<String, u64> = HashMap::new();
    // Custom field definitions: name by object.
    let mut field_names: HashMap<String, String> = HashMap::new();
    for (object, fd_object) in [
        (FieldObject::Ticket, "ticket"),
        (FieldObject::User, "contact"),
        (FieldObject::Organization, "company"),
    ] {
        for def in generator.field_definitions(object) {
            let id = account.next_id();
            let base = def.key.to_ascii_lowercase();
            let name = if fd_object == "ticket" {
                format!("cf_{base}")
            } else {
                base
            };
            let choices = def.options.iter().map(|o| o.value.clone()).collect();
            let position = account.fields_mut(fd_object).len() + 1;
            let field = custom_field(
                id,
                fd_object,
                &name,
                &def.title,
                field_type_name(def.field_type, fd_object),
                choices,
                position,
            );
            account.fields_mut(fd_object).insert(id, field);
            field_names.insert(def.id.clone(), name);
        }
    }
    let custom = |values: &CustomFields| -> Value {
        let mut map = Map::new();
        for (key, value) in values {
            if let Some(name) = field_names.get(key.id()) {
                map.insert(name.clone(), value_json(value));
            }
        }
        Value::Object(map)
    };
    for i in 0..config.organizations {
        let org = generator.organization(i);
        let id = account.next_id();
        ids.insert(org.id.clone(), id);
        account.companies.insert(
            id,
            json!({
                "id": id, "name": org.name, "description": org.details, "domains": org.domains,
                "note": org.notes, "health_score": null, "account_tier": null, "renewal_date": null,
                "industry": null, "custom_fields": custom(&org.custom_fields),
                "created_at": fd_time(org.created_at.as_ref()), "updated_at": fd_time(org.updated_at.as_ref()),
            }),
        );
    }
    let mut group_agents: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in 0..=config.agents {
        let agent = generator.agent(i);
        let id = if i == 0 {
            account.admin_id
        } else {
            account.next_id()
        };
        ids.insert(agent.id.clone(), id);
        account.agents.insert(id, agent_json(id, &agent));
    }
    for i in 0..config.groups {
        let group = generator.group(i);
        let id = account.next_id();
        ids.insert(group.id.clone(), id);
        account.groups.insert(id, json!({
            "id": id, "name": group.name, "description": group.description, "business_hour_id": null,
            "escalate_to": null, "unassigned_for": null, "agent_ids": [], "auto_ticket_assign": 0,
            "created_at": fd_time(group.created_at.as_ref()), "updated_at": fd_time(group.updated_at.as_ref()),
        }));
    }
    for i in 0..generator.group_membership_count() {
        let m = generator.group_membership(i);
        if let (Some(g), Some(a)) = (ids.get(m.group.id()), ids.get(m.user.id())) {
            group_agents
                .entry(m.group.id().to_string())
                .or_default()
                .push(*a);
            if let Some(group) = account.groups.get_mut(g)
                && let Some(list) = group["agent_ids"].as_array_mut()
            {
                list.push(json!(a));
            }
            if let Some(agent) = account.agents.get_mut(a)
                && let Some(list) = agent["group_ids"].as_array_mut()
            {
                list.push(json!(g));
            }
        }
    }
    for i in 0..config.users {
        let user = generator.user(i);
        let id = account.next_id();
        ids.insert(user.id.clone(), id);
        let company = user
            .organization
            .as_ref()
            .and_then(|o| ids.get(o.id()))
            .copied();
        account.contacts.insert(
            id,
            json!({
                "id": id, "name": user.name, "email": user.email, "other_emails": [],
                "phone": user.phone, "mobile": null, "twitter_id": null, "facebook_id": null,
                "unique_external_id": null, "company_id": company, "view_all_tickets": false,
                "other_companies": [], "address": null, "description": null, "job_title": null,
                "language": user.locale.as_deref().map(|l| l.split('-').next().unwrap_or("en")).unwrap_or("en"),
                "time_zone": user.time_zone, "tags": user.tags,
                "active": user.state == UserState::Active, "deleted": user.state == UserState::Deleted,
                "blocked": user.state == UserState::Suspended,
                "csat_rating": null, "preferred_source": "email",
                "custom_fields": custom(&user.custom_fields), "avatar": null,
                "created_at": fd_time(user.created_at.as_ref()), "updated_at": fd_time(user.updated_at.as_ref()),
            }),
        );
    }
    let agent_ids: std::collections::HashSet<u64> = account.agents.keys().copied().collect();
    for i in 0..config.tickets {
        let ticket = generator.ticket(i);
        let comments = generator.comments(i);
        let id = account.next_ticket_id();
        ids.insert(ticket.id.clone(), id);
        let r = |o: &Option<Ref<User>>| o.as_ref().and_then(|r| ids.get(r.id())).copied();
        let mut description = String::from("<div></div>");
        let mut attachments = Vec::new();
        let mut rest = comments.as_slice();
        if let Some((first, others)) = comments.split_first() {
            description = first.body_html.clone().unwrap_or_default();
            attachments = first
                .attachments
                .iter()
                .map(|a| attachment_json(account, a, first.created_at.as_ref()))
                .collect();
            rest = others;
        }
        let mut fd_ticket = json!({
            "id": id, "subject": ticket.subject,
            "type": ticket.ticket_type.map(|t| match t {
                TicketType::Question => "Question", TicketType::Incident => "Incident",
                TicketType::Problem => "Problem", TicketType::Task => "Feature Request" }),
            "description": description, "description_text": html_to_text(&description),
            "status": status_code(ticket.status), "priority": priority_code(ticket.priority),
            "source": source_code(ticket.channel.as_deref()),
            "requester_id": r(&ticket.requester), "responder_id": r(&ticket.assignee),
            "group_id": ticket.group.as_ref().and_then(|g| ids.get(g.id())),
            "company_id": ticket.organization.as_ref().and_then(|o| ids.get(o.id())),
            "product_id": null, "email_config_id": null, "support_email": null,
            "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [], "to_emails": null,
            "fr_escalated": false, "is_escalated": false, "nr_escalated": false, "spam": false,
            "due_by": fd_time(ticket.created_at.as_ref()), "fr_due_by": fd_time(ticket.created_at.as_ref()), "nr_due_by": null,
            "tags": ticket.tags, "custom_fields": custom(&ticket.custom_fields),
            "attachments": attachments, "association_type": null, "associated_tickets_count": null,
            "source_additional_info": null, "internal_agent_id": null, "internal_group_id": null,
            "created_at": fd_time(ticket.created_at.as_ref()), "updated_at": fd_time(ticket.updated_at.as_ref()),
        });
        // Every 17th ticket is spam, every 19th deleted (excluded from the default list).
        if i % 17 == 16 {
            fd_ticket["spam"] = json!(true);
        }
        if i % 19 == 18 {
            fd_ticket["deleted"] = json!(true);
        }
        account.tickets.insert(id, fd_ticket);
        for comment in rest {
            let cid = account.next_id();
            let user_id = r(&comment.author);
            let incoming = user_id.is_some_and(|u| !agent_ids.contains(&u));
            let attachments: Vec<Value> = comment
                .attachments
                .iter()
                .map(|a| attachment_json(account, a, comment.created_at.as_ref()))
                .collect();
            let html = comment.body_html.clone().unwrap_or_default();
            account.insert_conversation(cid, json!({
                "id": cid, "ticket_id": id, "user_id": user_id, "body": html, "body_text": html_to_text(&html),
                "incoming": incoming, "private": !comment.public, "source": if comment.public && !incoming { 0 } else { 2 },
                "category": 2, "support_email": null, "from_email": null, "to_emails": [], "cc_emails": [],
                "bcc_emails": null, "attachments": attachments, "source_additional_info": null,
                "last_edited_at": null, "last_edited_user_id": null,
                "created_at": fd_time(comment.created_at.as_ref()), "updated_at": fd_time(comment.created_at.as_ref()),
            }));
        }
        if let Some(rating) = generator.satisfaction_rating(i) {
            let rid = account.next_id();
            let score = match rating.score {
                Score::Good => 103,
                Score::Bad => -103,
                Score::Scale { value, .. } => value,
            };
            account.ratings.insert(rid, json!({
                "id": rid, "survey_id": 1, "user_id": r(&rating.requester), "agent_id": r(&ticket.assignee),
                "group_id": null, "ticket_id": id, "feedback": rating.comment,
                "ratings": {"default_question": score},
                "created_at": fd_time(rating.created_at.as_ref()), "updated_at": fd_time(rating.created_at.as_ref()),
            }));
        }
        if i % 5 == 0
            && let Some(agent) = r(&ticket.assignee)
        {
            let tid = account.next_id();
            account.time_entries.insert(tid, json!({
                    "id": tid, "ticket_id": id, "agent_id": agent, "company_id": fd_ticket_company(account, id),
                    "billable": true, "note": "Investigated", "timer_running": false, "time_spent": "00:10",
                    "executed_at": fd_time(ticket.updated_at.as_ref()), "start_time": fd_time(ticket.updated_at.as_ref()),
                    "created_at": fd_time(ticket.updated_at.as_ref()), "updated_at": fd_time(ticket.updated_at.as_ref()),
                }));
        }
    }
    for i in 0..generator.kb_category_count() {
        let c = generator.kb_category(i);
        let id = account.next_id();
        ids.insert(c.id.clone(), id);
        account.categories.insert(id, json!({"id": id, "name": c.name, "description": c.description,
            "created_at": fd_time(c.created_at.as_ref()), "updated_at": fd_time(c.updated_at.as_ref())}));
    }
    for i in 0..generator.kb_section_count() {
        let s = generator.kb_section(i);
        let id = account.next_id();
        ids.insert(s.id.clone(), id);
        account.folders.insert(id, json!({"id": id, "name": s.name, "description": s.description,
            "visibility": 1, "category_id": ids.get(s.category.id()),
            "parent_folder_id": s.parent.as_ref().and_then(|p| ids.get(p.id())),
            "created_at": fd_time(s.created_at.as_ref()), "updated_at": fd_time(s.updated_at.as_ref())}));
    }
    for i in 0..config.kb_articles {
        let a = generator.kb_article(i);
        let id = account.next_id();
        let folder = ids.get(a.section.id()).copied();
        let category = folder
            .and_then(|f| account.folders.get(&f))
            .map(|f| f["category_id"].clone())
            .unwrap_or(Value::Null);
        let attachments: Vec<Value> = a
            .attachments
            .iter()
            .map(|x| attachment_json(account, x, a.created_at.as_ref()))
            .collect();
        account.articles.insert(id, json!({
            "id": id, "type": 1, "status": if a.draft { 1 } else { 2 },
            "agent_id": a.author.as_ref().and_then(|r| ids.get(r.id())).copied().unwrap_or(account.admin_id),
            "category_id": category, "folder_id": folder, "title": a.title, "description": a.body_html,
            "description_text": html_to_text(&a.body_html),
            "seo_data": {"meta_title": null, "meta_description": null}, "tags": a.labels,
            "attachments": attachments, "cloud_files": [], "thumbs_up": 0, "thumbs_down": 0, "hits": 0,
            "suggested": 0, "feedback_count": 0,
            "created_at": fd_time(a.created_at.as_ref()), "updated_at": fd_time(a.updated_at.as_ref()),
        }));
    }
    if config.macros > 0 {
        let folder = account.next_id();
        account.canned_folders.insert(
            folder,
            json!({"id": folder, "name": "General", "personal": false, "responses_count": config.macros,
                   "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"}),
        );
        for i in 0..config.macros {
            let m = generator.macro_(i);
            let id = account.next_id();
            let text: Vec<String> = m
                .actions
                .iter()
                .filter_map(|a| match a {
                    Action::PublicReply { body } => Some(body.clone()),
                    _ => None,
                })
                .collect();
            let html = format!("<p>{}</p>", text.join(" "));
            account.canned_responses.insert(id, json!({
                "id": id, "title": m.title, "folder_id": folder, "content": html_to_text(&html),
                "content_html": html, "attachments": [], "visibility": 0, "group_ids": [],
                "created_at": fd_time(m.created_at.as_ref()), "updated_at": fd_time(m.updated_at.as_ref()),
            }));
        }
    }
    // Rules in Freshdesk's own vocabulary (`crate::rules`): ticket creation rules that
    // e-mail the requester about urgent tickets, time triggers that close tickets left
    // pending for a day.
    for (count, automation, type_id) in [(config.triggers, false, 1), (config.automations, true, 3)]
    {
        for i in 0..count {
            let rule = generator.rule(i, automation);
            let id = account.next_id();
            let (conditions, actions) = if automation {
                (
                    json!([{"name": "condition_set_1", "match_type": "all", "properties": [
                        {"resource_type": "ticket", "field_name": "status", "operator": "in", "value": [3]},
                        {"resource_type": "ticket", "field_name": "pending_since", "operator": "greater_than", "value": 24},
                    ]}]),
                    json!([{"field_name": "status", "value": 5}]),
                )
            } else {
                (
                    json!([{"name": "condition_set_1", "match_type": "all", "properties": [
                        {"resource_type": "ticket", "field_name": "priority", "operator": "in", "value": [4]},
                    ]}]),
                    json!([{"field_name": "send_email_to_requester", "email_subject": "Received: {{ticket.subject}}",
                            "email_body": "<p>We got it: ticket #{{ticket.id}}.</p>"}]),
                )
            };
            let mut stored = json!({
                "id": id, "name": rule.title, "position": i + 1, "active": rule.active,
                "automation_type_id": type_id, "description": null,
                "conditions": conditions, "actions": actions, "outdated": false,
                "last_updated_by": account.admin_id,
                "created_at": fd_time(rule.created_at.as_ref()), "updated_at": fd_time(rule.updated_at.as_ref()),
            });
            stored["summary"] = crate::rules::summary(&stored);
            account.rules.insert(id, stored);
        }
    }
    // Every account has its default SLA policy.
    let sla = account.next_id();
    account
        .sla_policies
        .insert(sla, crate::sla::default_policy(sla));
}

fn fd_ticket_company(account: &Account, id: u64) -> Value {
    account
        .tickets
        .get(&id)
        .map(|t| t["company_id"].clone())
        .unwrap_or(Value::Null)
}

/// An agent in Freshdesk form.
pub(crate) fn agent_json(id: u64, agent: &User) -> Value {
    json!({
        "id": id, "available": true, "occasional": false, "ticket_scope": 1, "signature": null,
        "group_ids": [], "role_ids": [if agent.role == UserRole::Admin { 1 } else { 2 }], "skill_ids": [], "available_since": null,
        "type": "support_agent", "created_at": fd_time(agent.created_at.as_ref()),
        "updated_at": fd_time(agent.updated_at.as_ref()),
        "contact": {
            "active": true, "email": agent.email, "job_title": null, "language": "en",
            "last_login_at": null, "mobile": null, "name": agent.name, "phone": null,
            "time_zone": agent.time_zone, "created_at": fd_time(agent.created_at.as_ref()),
            "updated_at": fd_time(agent.updated_at.as_ref()),
        },
    })
}

fn attachment_json(account: &mut Account, a: &Attachment, at: Option<&Timestamp>) -> Value {
    let id = account.next_id();
    account.blobs.insert(
        id,
        Blob::Generated {
            key: a.id.clone(),
            size: a.size,
        },
    );
    json!({
        "id": id, "name": a.file_name, "content_type": a.content_type, "size": a.size,
        "created_at": fd_time(at), "updated_at": fd_time(at),
    })
}
