//! The golden sets of business rules (issue 12), in each vendor's own API shape, and the
//! seeding that creates what they refer to, so that every adapter's tests seed them the
//! same way.
//!
//! - Zendesk: `adapters/zendesk/tests/golden/rules.json`, with `$group:N`, `$agent:N`,
//!   `$field:0` and `$webhook:0` standing for ids the seeding creates.
//! - Freshdesk: `adapters/freshdesk/tests/golden/automations.json`, with placeholder ids
//!   [`FRESHDESK_GROUPS`] and [`FRESHDESK_AGENTS`] (see its README).

use serde_json::{Value, json};

/// Zendesk's golden triggers, automations and macros.
pub const ZENDESK_RULES: &str = include_str!("../../../adapters/zendesk/tests/golden/rules.json");

/// Freshdesk's golden automation rules.
pub const FRESHDESK_RULES: &str =
    include_str!("../../../adapters/freshdesk/tests/golden/automations.json");

/// The groups the Zendesk golden set names (`$group:N`).
pub const ZENDESK_GROUPS: [&str; 3] = ["Billing", "Tier 1", "Escalations"];

/// The agents the Zendesk golden set names (`$agent:N`): name and e-mail.
pub const ZENDESK_AGENTS: [(&str, &str); 2] = [
    ("Vera Vip-Desk", "agent0@golden.example"),
    ("Manny Manager", "agent1@golden.example"),
];

/// The placeholder ids of the Freshdesk golden set's groups, and their names.
pub const FRESHDESK_GROUPS: [(&str, &str); 5] = [
    ("900000000001", "Billing"),
    ("900000000002", "Escalations"),
    ("900000000003", "Tier 2"),
    ("900000000004", "Sales"),
    ("900000000005", "VIP Support"),
];

/// The placeholder ids of the Freshdesk golden set's agents, their names and e-mails.
pub const FRESHDESK_AGENTS: [(&str, &str, &str); 2] = [
    ("800000000001", "Lena Lead", "lead@helpdesk.example"),
    ("800000000002", "Max Manager", "manager@helpdesk.example"),
];

fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Seeds a Zendesk account through `post(path, body) -> answer` (paths relative to
/// `/api/v2/`): the groups, agents, field and webhook the golden set refers to, then
/// every golden trigger, automation and macro with their ids in place. Returns the
/// golden set with the ids substituted.
pub fn seed_zendesk(post: &mut dyn FnMut(&str, &Value) -> Value) -> Value {
    let mut ids: Vec<(String, String)> = Vec::new();
    for (n, name) in ZENDESK_GROUPS.iter().enumerate() {
        let answer = post("groups.json", &json!({"group": {"name": name}}));
        ids.push((format!("$group:{n}"), id_text(&answer["group"]["id"])));
    }
    for (n, (name, email)) in ZENDESK_AGENTS.iter().enumerate() {
        let answer = post(
            "users.json",
            &json!({"user": {"name": name, "email": email, "role": "agent"}}),
        );
        ids.push((format!("$agent:{n}"), id_text(&answer["user"]["id"])));
    }
    let field = post(
        "ticket_fields.json",
        &json!({"ticket_field": {"type": "tagger", "title": "Product area", "custom_field_options": [
            {"name": "Enterprise", "value": "enterprise"}, {"name": "Starter", "value": "starter"}]}}),
    );
    ids.push(("$field:0".into(), id_text(&field["ticket_field"]["id"])));
    let webhook = post(
        "webhooks",
        &json!({"webhook": {"name": "CRM", "endpoint": "https://crm.example.com/hooks/zendesk", "http_method": "POST",
                "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"]}}),
    );
    ids.push(("$webhook:0".into(), id_text(&webhook["webhook"]["id"])));
    let mut text = ZENDESK_RULES.to_string();
    for (placeholder, id) in &ids {
        text = text.replace(placeholder.as_str(), id);
    }
    let golden: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    for (list, path, key) in [
        ("triggers", "triggers.json", "trigger"),
        ("automations", "automations.json", "automation"),
        ("macros", "macros.json", "macro"),
    ] {
        for item in golden[list].as_array().into_iter().flatten() {
            post(path, &json!({ key: item }));
        }
    }
    golden
}

/// The Freshdesk golden rules with the placeholder ids replaced by `ids` (placeholder,
/// id), each as `(automation type, body to POST)`.
pub fn freshdesk_rules(ids: &[(String, String)]) -> Vec<(u64, Value)> {
    let mut text = FRESHDESK_RULES.to_string();
    for (placeholder, id) in ids {
        text = text.replace(placeholder.as_str(), id);
    }
    let golden: Vec<Value> = serde_json::from_str(&text).unwrap_or_default();
    golden
        .into_iter()
        .map(|mut rule| {
            let kind = rule["automation_type_id"].as_u64().unwrap_or(1);
            if let Some(map) = rule.as_object_mut() {
                map.remove("automation_type_id");
            }
            (kind, rule)
        })
        .collect()
}
