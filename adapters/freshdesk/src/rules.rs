//! Freshdesk's automation rules, canned responses and SLA policies to and from the
//! portable vocabulary in `switchover_model::rules`.
//!
//! Facts used (the emulator's `rules.rs` names their sources): a rule of
//! `/api/v2/automations/{type}/rules` is type 1 (ticket creation), 3 (time triggers,
//! hourly) or 4 (ticket updates); it has at most two condition sets (one in time
//! triggers), each `{name, match_type all|any, properties}`, joined by `operator`
//! `"condition_set_1 and condition_set_2"` or `... or ...`; a property is `{resource_type,
//! field_name, operator, value}` with `in`/`not_in` and a list for choice fields; type 4
//! has `performer` (1 agent, 2 requester, 3 agent or requester, 4 system) and `events`
//! (any one of them runs the rule); `trigger_webhook` carries the whole webhook
//! (`request_type`, `url`, `content_type`, `content_layout`, `content`); `-2` as the
//! responder is the agent who performed the event, `-1` as `email_to` the assigned agent.
//! Placeholders as Freshdesk's placeholder list spells them (as recalled:
//! `{{ticket.agent.name}}`, `{{ticket.requester.firstname}}`, `{{helpdesk_name}}`...).
//!
//! Choices made here, mirrored by [`fit_rule`] so verify compares what Freshdesk holds:
//! - a rule for both created and updated tickets is written as one ticket update rule
//!   (type 4), its creation part named as a change;
//! - a rule without conditions gets the condition "priority is any of the four", which
//!   always holds (Freshdesk requires one), and which reading drops again;
//! - a rule on any update gets the events [`ANY_UPDATE`], which reading drops again;
//! - conditions on a change (changed, changed to/from), the comment's visibility and who
//!   updated become the events and the performer; a multi-valued `in` becomes one
//!   condition per value in the "any of" list, `not_in` one per value in "all of".

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchover_model::rules::{Direction, translate_placeholders};
use switchover_model::*;

use crate::read::{priority_code, priority_of_code, status_code, status_of_code};
use crate::{FieldInfo, NAME};

/// Freshdesk's placeholders and their portable names.
pub(crate) const PLACEHOLDERS: &[(&str, &str)] = &[
    ("ticket.id", "ticket.id"),
    ("ticket.subject", "ticket.subject"),
    ("ticket.description", "ticket.description"),
    ("ticket.status", "ticket.status"),
    ("ticket.priority", "ticket.priority"),
    ("ticket.ticket_type", "ticket.type"),
    ("ticket.tags", "ticket.tags"),
    ("ticket.url", "ticket.url"),
    ("ticket.portal_url", "ticket.portal_url"),
    (
        "ticket.latest_public_comment",
        "ticket.latest_public_comment",
    ),
    ("ticket.requester.name", "ticket.requester.name"),
    ("ticket.requester.firstname", "ticket.requester.first_name"),
    ("ticket.requester.email", "ticket.requester.email"),
    ("ticket.agent.name", "ticket.assignee.name"),
    ("ticket.agent.email", "ticket.assignee.email"),
    ("ticket.group.name", "ticket.group.name"),
    ("ticket.company.name", "ticket.organization.name"),
    ("helpdesk_name", "helpdesk.name"),
];

/// Rule type 1: ticket creation.
pub(crate) const CREATION: u64 = 1;
/// Rule type 3: time triggers (hourly).
pub(crate) const HOURLY: u64 = 3;
/// Rule type 4: ticket updates.
pub(crate) const UPDATES: u64 = 4;
/// The rule types, in reading order.
pub(crate) const RULE_TYPES: [u64; 3] = [CREATION, HOURLY, UPDATES];

/// The events written for "any update": a property change, a reply or a note.
pub(crate) fn any_update() -> Vec<Value> {
    vec![
        json!({"field_name": "ticket_action", "value": "update"}),
        json!({"field_name": "reply_sent"}),
        json!({"field_name": "note_type", "value": "--"}),
    ]
}

/// The condition written when a rule has none: every priority, which always holds.
fn always() -> Value {
    json!({"resource_type": "ticket", "field_name": "priority", "operator": "in", "value": [1, 2, 3, 4]})
}

/// Time trigger hours fields and their portable names.
const HOURS: &[(ConditionField, &str)] = &[
    (ConditionField::HoursSinceCreated, "hours_since_created"),
    (ConditionField::HoursSincePending, "pending_since"),
    (ConditionField::HoursSinceSolved, "resolved_at"),
    (ConditionField::HoursSinceOpen, "opened_at"),
    (ConditionField::HoursSinceAssigned, "assigned_at"),
];

/// Channels and Freshdesk's `source` codes.
const CHANNELS: &[(&str, u64)] = &[("email", 1), ("web", 2), ("phone", 3), ("chat", 7)];

/// Webhook formats: portable and Freshdesk's `content_type`.
const FORMATS: &[(&str, &str)] = &[
    ("json", "JSON"),
    ("xml", "XML"),
    ("form_encoded", "X-FORM-URLENCODED"),
];

/// The marker line of the webhooks a migrated rule calls: `[switchover-webhooks: a b]`,
/// before the source marker, so read-back names them by their source ids.
pub(crate) const WEBHOOK_MARKER: switchover_adapter::marker::SuffixMarker =
    switchover_adapter::marker::SuffixMarker::new("[switchover-webhooks: ", "\n");

fn compact(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Translates a text read from Freshdesk, naming unknown placeholders.
fn read_text(text: &str, untranslated: &mut Vec<Untranslated>) -> String {
    switchover_model::rules::read_placeholders(text, PLACEHOLDERS, NAME, untranslated)
}

fn write_text(text: &str) -> String {
    translate_placeholders(text, PLACEHOLDERS, Direction::FromPortable).text
}

/// The portable placeholders of `text` Freshdesk has no spelling for.
fn placeholders_without_freshdesk_form(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        if rules::PLACEHOLDERS.contains(&name) && !PLACEHOLDERS.iter().any(|(_, p)| *p == name) {
            out.push(format!("{{{{{name}}}}}"));
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out
}

fn ticket_type_name(t: TicketType) -> &'static str {
    match t {
        TicketType::Question => "Question",
        TicketType::Incident => "Incident",
        TicketType::Problem => "Problem",
        TicketType::Task => "Task",
    }
}

fn ticket_type_of(name: &str) -> Option<TicketType> {
    Some(match name {
        "Question" => TicketType::Question,
        "Incident" => TicketType::Incident,
        "Problem" => TicketType::Problem,
        "Task" => TicketType::Task,
        _ => return None,
    })
}

/// A Freshdesk status code as a portable status; custom statuses have none.
fn status_of(value: &Value) -> Option<TicketStatus> {
    value
        .as_u64()
        .filter(|c| (2..=5).contains(c))
        .map(|c| status_of_code(Some(c)))
}

/// A status as Freshdesk holds it (new is open, on-hold pending).
fn status_held(s: TicketStatus) -> TicketStatus {
    status_of_code(Some(status_code(s)))
}

fn id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id))
}

// ---------------------------------------------------------------------------------------
// Webhooks embedded in rules.

/// A webhook as a Freshdesk rule embeds it: the target id of a migrated webhook is this
/// definition, since Freshdesk keeps no webhook records of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmbeddedWebhook {
    /// The webhook's source id.
    pub source: String,
    /// `GET`, `POST`...
    pub method: String,
    /// The endpoint.
    pub url: String,
    /// The portable format (`json`...).
    pub format: String,
}

/// The prefix of a webhook's synthetic target id.
const EMBEDDED: &str = "embedded-webhook:";

impl EmbeddedWebhook {
    /// The synthetic target id.
    pub(crate) fn target_id(&self) -> String {
        format!(
            "{EMBEDDED}{}",
            json!({"source": self.source, "method": self.method, "url": self.url, "format": self.format})
        )
    }

    /// The definition a synthetic target id holds.
    pub(crate) fn parse(id: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(id.strip_prefix(EMBEDDED)?).ok()?;
        Some(EmbeddedWebhook {
            source: v["source"].as_str()?.to_string(),
            method: v["method"].as_str()?.to_string(),
            url: v["url"].as_str()?.to_string(),
            format: v["format"].as_str()?.to_string(),
        })
    }

    /// The webhook as a migration writes it.
    pub(crate) fn of(w: &Webhook) -> Self {
        EmbeddedWebhook {
            source: w.id.clone(),
            method: if w.method.is_empty() {
                "POST".into()
            } else {
                w.method.to_uppercase()
            },
            url: w.endpoint.clone(),
            format: if w.format.is_empty() {
                "json".into()
            } else {
                w.format.clone()
            },
        }
    }
}

fn content_type_of(format: &str) -> &'static str {
    FORMATS
        .iter()
        .find(|(p, _)| *p == format)
        .map(|(_, f)| *f)
        .unwrap_or("JSON")
}

fn format_of(content_type: &str) -> String {
    FORMATS
        .iter()
        .find(|(_, f)| f.eq_ignore_ascii_case(content_type))
        .map(|(p, _)| p.to_string())
        .unwrap_or_else(|| "json".into())
}

/// The webhook source ids a migrated rule's webhook marker names, in order.
fn marked_webhooks(rule: &Value) -> Vec<String> {
    let (description, _) = crate::read::DESC_MARKER.split_opt(rule["description"].as_str());
    let (_, ids) = WEBHOOK_MARKER.split_opt(description.as_deref());
    ids.map(|ids| ids.split(' ').map(str::to_string).collect())
        .unwrap_or_default()
}

/// The id of the webhook the `n`th (from 1) `trigger_webhook` action of a rule calls: the
/// synthetic id of a webhook a migration embedded (named by the rule's webhook marker),
/// else `<type>/<rule id>/webhook` (`.../webhook/2` for the second...).
fn webhook_id(rule: &Value, rule_type: u64, n: usize, action: &Value) -> String {
    match marked_webhooks(rule).get(n - 1) {
        Some(source) => EmbeddedWebhook {
            source: source.clone(),
            method: text_of(&action["request_type"]),
            url: text_of(&action["url"]),
            format: format_of(action["content_type"].as_str().unwrap_or("JSON")),
        }
        .target_id(),
        None => {
            let rule_id = format!("{rule_type}/{}", text_of(&rule["id"]));
            if n == 1 {
                format!("{rule_id}/webhook")
            } else {
                format!("{rule_id}/webhook/{n}")
            }
        }
    }
}

/// The Webhook records a Freshdesk rule's `trigger_webhook` actions carry (ids by
/// [`webhook_id`]), named after the rule, active as the rule.
pub(crate) fn webhooks_of(rule: &Value, rule_type: u64) -> Vec<Webhook> {
    let name = text_of(&rule["name"]);
    let mut out = Vec::new();
    let mut n = 0;
    for action in rule["actions"].as_array().into_iter().flatten() {
        if action["field_name"] != json!("trigger_webhook") {
            continue;
        }
        n += 1;
        let auth = match &action["auth_header"] {
            Value::Object(a) if a.get("api_key").is_some() => WebhookAuth::ApiKey {
                header: "Authorization".into(),
            },
            Value::Object(a) if a.get("username").is_some() => WebhookAuth::Basic {
                username: text_of(&a["username"]),
            },
            _ => WebhookAuth::None,
        };
        out.push(Webhook {
            id: webhook_id(rule, rule_type, n, action),
            name: if n == 1 {
                name.clone()
            } else {
                format!("{name} ({n})")
            },
            endpoint: text_of(&action["url"]),
            method: text_of(&action["request_type"]),
            format: format_of(action["content_type"].as_str().unwrap_or("JSON")),
            auth,
            active: rule["active"] == json!(true),
            ..Default::default()
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Reading.

/// What one property reads as: one condition, or several joined by or / and.
enum Read {
    One(Condition),
    AnyOf(Vec<Condition>),
    AllOf(Vec<Condition>),
}

fn cond(field: ConditionField, operator: Operator, value: RuleValue) -> Condition {
    Condition {
        field,
        operator,
        value,
    }
}

/// One value of a list property.
fn values_of(p: &Value) -> Vec<Value> {
    match &p["value"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// A list property (`in`/`not_in`) read value by value with `one`.
fn listed(
    p: &Value,
    field: ConditionField,
    one: impl Fn(&Value) -> Option<RuleValue>,
) -> Result<Read, String> {
    let op = p["operator"].as_str().unwrap_or("");
    let (operator, any) = match op {
        "in" | "is" => (Operator::Is, true),
        "not_in" | "is_not" => (Operator::IsNot, false),
        _ => return Err(format!("operator '{op}' has no portable form here")),
    };
    let mut out = Vec::new();
    for v in values_of(p) {
        let value = one(&v).ok_or_else(|| format!("value {v} has no portable form"))?;
        out.push(cond(field.clone(), operator, value));
    }
    Ok(match (out.len(), any) {
        (0, _) => return Err("no value".into()),
        (1, _) => Read::One(out.remove(0)),
        (_, true) => Read::AnyOf(out),
        (_, false) => Read::AllOf(out),
    })
}

fn text_property(p: &Value, fields: &[ConditionField]) -> Result<Read, String> {
    let op = p["operator"].as_str().unwrap_or("");
    let (operator, any) = match op {
        "contains" => (Operator::Contains, true),
        "does_not_contain" => (Operator::NotContains, false),
        "is" | "is_any_of" => (Operator::Is, true),
        "is_not" | "is_none_of" => (Operator::IsNot, false),
        _ => return Err(format!("operator '{op}' has no portable form")),
    };
    let mut out = Vec::new();
    for v in values_of(p) {
        for f in fields {
            out.push(cond(f.clone(), operator, RuleValue::Text(text_of(&v))));
        }
    }
    Ok(match (out.len(), any) {
        (0, _) => return Err("no value".into()),
        (1, _) => Read::One(out.remove(0)),
        (_, true) => Read::AnyOf(out),
        (_, false) => Read::AllOf(out),
    })
}

/// One Freshdesk property in portable form, or why it has none.
fn property_from(p: &Value, rule_type: u64, fields: &[FieldInfo]) -> Result<Read, String> {
    // On creation the description is the comment the ticket was created with.
    let description = if rule_type == CREATION {
        ConditionField::CommentText
    } else {
        ConditionField::Description
    };
    let resource = p["resource_type"].as_str().unwrap_or("ticket");
    let field = p["field_name"].as_str().unwrap_or("");
    if resource != "ticket" {
        return Err(format!(
            "a condition on the {resource}'s '{field}': the portable vocabulary tests requesters and organizations by reference only"
        ));
    }
    let group = |v: &Value| match text_of(v).as_str() {
        "" => Some(RuleValue::None),
        id => Some(RuleValue::Group(Ref::new(id))),
    };
    let agent = |v: &Value| match text_of(v).as_str() {
        "" => Some(RuleValue::None),
        id => Some(RuleValue::User(Ref::new(id))),
    };
    match field {
        "status" => listed(p, ConditionField::Status, |v| {
            status_of(v).map(RuleValue::Status)
        }),
        "priority" => listed(p, ConditionField::Priority, |v| {
            v.as_u64()
                .and_then(|c| priority_of_code(Some(c)))
                .map(RuleValue::Priority)
        }),
        "source" => listed(p, ConditionField::Channel, |v| {
            CHANNELS
                .iter()
                .find(|(_, c)| Some(*c) == v.as_u64())
                .map(|(n, _)| RuleValue::Text(n.to_string()))
        }),
        "ticket_type" => listed(p, ConditionField::TicketType, |v| {
            ticket_type_of(&text_of(v)).map(RuleValue::TicketType)
        }),
        "group_id" => listed(p, ConditionField::Group, group),
        "responder_id" => listed(p, ConditionField::Assignee, agent),
        "tag_names" => {
            let tags: Vec<String> = values_of(p).iter().map(text_of).collect();
            match p["operator"].as_str().unwrap_or("") {
                "in" => Ok(Read::One(cond(
                    ConditionField::Tags,
                    Operator::Includes,
                    RuleValue::Tags(tags),
                ))),
                "not_in" => Ok(Read::One(cond(
                    ConditionField::Tags,
                    Operator::NotIncludes,
                    RuleValue::Tags(tags),
                ))),
                "and" => Ok(Read::AllOf(
                    tags.into_iter()
                        .map(|t| {
                            cond(
                                ConditionField::Tags,
                                Operator::Includes,
                                RuleValue::Tags(vec![t]),
                            )
                        })
                        .collect(),
                )),
                op => Err(format!("operator '{op}' has no portable form")),
            }
        }
        "subject" => text_property(p, &[ConditionField::Subject]),
        "description" => text_property(p, &[description]),
        "subject_or_description" => text_property(p, &[ConditionField::Subject, description]),
        "last_interaction" => text_property(p, &[ConditionField::CommentText]),
        _ => {
            if let Some((portable, _)) = HOURS.iter().find(|(_, f)| *f == field) {
                let operator = match p["operator"].as_str().unwrap_or("") {
                    "is" => Operator::Is,
                    "greater_than" => Operator::GreaterThan,
                    "less_than" => Operator::LessThan,
                    op => return Err(format!("operator '{op}' has no portable form")),
                };
                let hours = p["value"]
                    .as_i64()
                    .or_else(|| text_of(&p["value"]).parse().ok())
                    .ok_or_else(|| format!("hours {} are not a number", p["value"]))?;
                return Ok(Read::One(cond(
                    portable.clone(),
                    operator,
                    RuleValue::Number(hours),
                )));
            }
            let Some(def) = fields
                .iter()
                .find(|f| f.object == "ticket" && f.name == field)
            else {
                return Err(format!("no portable condition for Freshdesk's '{field}'"));
            };
            let r = ConditionField::CustomField(Ref::new(def.id.to_string()));
            match p["operator"].as_str().unwrap_or("") {
                "selected" => Ok(Read::One(cond(
                    r,
                    Operator::Is,
                    RuleValue::Text("true".into()),
                ))),
                "not_selected" => Ok(Read::One(cond(
                    r,
                    Operator::Is,
                    RuleValue::Text("false".into()),
                ))),
                "in" | "not_in" => listed(p, r, |v| Some(RuleValue::Text(text_of(v)))),
                _ => text_property(p, &[r]),
            }
        }
    }
}

/// A condition set in portable form: `all` and at most one `any` list.
fn set_from(
    set: &Value,
    rule_type: u64,
    fields: &[FieldInfo],
    untranslated: &mut Vec<Untranslated>,
) -> Conditions {
    let mut out = Conditions::default();
    let any_set = set["match_type"] == json!("any");
    let properties = set["properties"].as_array().cloned().unwrap_or_default();
    if properties.len() == 1 && properties[0] == always() {
        return out;
    }
    for p in &properties {
        let refuse = |reason: String, untranslated: &mut Vec<Untranslated>| {
            untranslated.push(Untranslated::new(
                NAME,
                RulePart::Condition,
                compact(p),
                reason,
            ))
        };
        match property_from(p, rule_type, fields) {
            Ok(Read::One(c)) if any_set => out.any.push(c),
            Ok(Read::One(c)) => out.all.push(c),
            Ok(Read::AnyOf(list)) if any_set || out.any.is_empty() => out.any.extend(list),
            Ok(Read::AllOf(list)) if !any_set => out.all.extend(list),
            Ok(Read::AnyOf(_)) => refuse(
                "a second list of alternatives in an all-of set: the portable form has one any-of list".into(),
                untranslated,
            ),
            Ok(Read::AllOf(_)) => refuse(
                "several values that must all hold inside an any-of set have no portable form"
                    .into(),
                untranslated,
            ),
            Err(reason) => refuse(reason, untranslated),
        }
    }
    out
}

/// A pure any-of list (or a single condition) of a set, if it is one.
fn as_alternatives(c: &Conditions) -> Option<Vec<Condition>> {
    match (c.all.len(), c.any.len()) {
        (0, _) => Some(c.any.clone()),
        (1, 0) => Some(c.all.clone()),
        _ => None,
    }
}

/// The conditions of a rule's condition sets, joined as Freshdesk's `operator` says.
fn sets_from(
    rule: &Value,
    rule_type: u64,
    fields: &[FieldInfo],
    untranslated: &mut Vec<Untranslated>,
) -> Conditions {
    let sets = rule["conditions"].as_array().cloned().unwrap_or_default();
    let mut read: Vec<(Value, Conditions)> = Vec::new();
    for set in &sets {
        let c = set_from(set, rule_type, fields, untranslated);
        read.push((set.clone(), c));
    }
    let mut iter = read.into_iter();
    let Some((_, mut out)) = iter.next() else {
        return Conditions::default();
    };
    let or = rule["operator"]
        .as_str()
        .is_some_and(|o| o.contains(" or "));
    for (raw, second) in iter {
        let refuse = |reason: &str, untranslated: &mut Vec<Untranslated>| {
            untranslated.push(Untranslated::new(
                NAME,
                RulePart::Condition,
                compact(&json!({"operator": rule["operator"], "condition_set": raw})),
                reason,
            ))
        };
        if second.is_empty() {
            continue;
        }
        if !or {
            if !second.any.is_empty() && !out.any.is_empty() {
                refuse(
                    "two any-of sets joined by and: the portable form has one any-of list",
                    untranslated,
                );
                continue;
            }
            out.all.extend(second.all);
            out.any.extend(second.any);
        } else if out.is_empty() {
            out = second;
        } else {
            match (as_alternatives(&out), as_alternatives(&second)) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    out = Conditions {
                        all: Vec::new(),
                        any: a,
                    };
                }
                _ => refuse(
                    "two condition sets joined by or that are not both lists of alternatives",
                    untranslated,
                ),
            }
        }
    }
    out
}

fn change_field(field: &str) -> Option<ConditionField> {
    Some(match field {
        "status" => ConditionField::Status,
        "priority" => ConditionField::Priority,
        "ticket_type" => ConditionField::TicketType,
        "group_id" => ConditionField::Group,
        "responder_id" => ConditionField::Assignee,
        _ => return None,
    })
}

fn change_value(field: &ConditionField, v: &Value) -> Option<RuleValue> {
    match field {
        ConditionField::Status => status_of(v).map(RuleValue::Status),
        ConditionField::Priority => v
            .as_u64()
            .and_then(|c| priority_of_code(Some(c)))
            .map(RuleValue::Priority),
        ConditionField::TicketType => ticket_type_of(&text_of(v)).map(RuleValue::TicketType),
        ConditionField::Group => Some(match text_of(v).as_str() {
            "" => RuleValue::None,
            id => RuleValue::Group(Ref::new(id)),
        }),
        ConditionField::Assignee => Some(match text_of(v).as_str() {
            "" => RuleValue::None,
            id => RuleValue::User(Ref::new(id)),
        }),
        _ => None,
    }
}

/// One event of a type 4 rule as conditions (all of them hold), or why it has none.
fn event_from(e: &Value) -> Result<Vec<Condition>, String> {
    let name = e["field_name"].as_str().unwrap_or("");
    if let Some(field) = change_field(name) {
        let from = &e["from"];
        let to = &e["to"];
        let any = |v: &Value| v.is_null() || v.as_str() == Some("--");
        let mut out = Vec::new();
        if !any(from) {
            let value = change_value(&field, from)
                .ok_or_else(|| format!("value {from} has no portable form"))?;
            out.push(cond(field.clone(), Operator::ChangedFrom, value));
        }
        if !any(to) {
            let value = change_value(&field, to)
                .ok_or_else(|| format!("value {to} has no portable form"))?;
            out.push(cond(field.clone(), Operator::ChangedTo, value));
        }
        if out.is_empty() {
            out.push(cond(field, Operator::Changed, RuleValue::None));
        }
        return Ok(out);
    }
    match (name, e["value"].as_str()) {
        ("reply_sent", _) | ("note_type", Some("public")) => Ok(vec![cond(
            ConditionField::CommentIsPublic,
            Operator::Is,
            RuleValue::Bool(true),
        )]),
        ("note_type", Some("private")) => Ok(vec![cond(
            ConditionField::CommentIsPublic,
            Operator::Is,
            RuleValue::Bool(false),
        )]),
        _ => Err(format!("no portable event for Freshdesk's '{name}'")),
    }
}

/// The conditions a type 4 rule's performer and events stand for: (into `all`, into
/// `any`).
fn events_from(
    rule: &Value,
    untranslated: &mut Vec<Untranslated>,
) -> (Vec<Condition>, Vec<Condition>) {
    let mut all = Vec::new();
    let performer = &rule["performer"];
    match performer["type"].as_u64() {
        Some(1) => {
            all.push(cond(
                ConditionField::UpdatedBy,
                Operator::Is,
                RuleValue::Role(UpdaterRole::Agent),
            ));
            if performer["members"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
            {
                untranslated.push(Untranslated::new(
                    NAME,
                    RulePart::Setting,
                    compact(performer),
                    "the performer is one of named agents: the portable form says only 'an agent'",
                ));
            }
        }
        Some(2) => all.push(cond(
            ConditionField::UpdatedBy,
            Operator::Is,
            RuleValue::Role(UpdaterRole::EndUser),
        )),
        Some(3) | None => {}
        Some(_) => untranslated.push(Untranslated::new(
            NAME,
            RulePart::Event,
            compact(performer),
            "updates by the system (other rules, time triggers) have no portable form",
        )),
    }
    let events = rule["events"].as_array().cloned().unwrap_or_default();
    let as_set = |list: &[Value]| -> BTreeSet<String> { list.iter().map(compact).collect() };
    if as_set(&events) == as_set(&any_update()) {
        return (all, Vec::new());
    }
    let mut groups: Vec<Vec<Condition>> = Vec::new();
    for e in &events {
        match event_from(e) {
            Ok(conditions) => {
                if !groups.contains(&conditions) {
                    groups.push(conditions)
                }
            }
            Err(reason) => {
                untranslated.push(Untranslated::new(NAME, RulePart::Event, compact(e), reason))
            }
        }
    }
    match groups.len() {
        0 => (all, Vec::new()),
        1 => {
            all.extend(groups.remove(0));
            (all, Vec::new())
        }
        _ if groups.iter().all(|g| g.len() == 1) => (all, groups.into_iter().flatten().collect()),
        _ => {
            all.extend(groups.remove(0));
            for g in groups {
                untranslated.push(Untranslated::new(
                    NAME,
                    RulePart::Event,
                    compact(&g),
                    "Freshdesk runs the rule on any one of its events; this alternative, a change from one value to another, has no place beside the others in the portable form",
                ));
            }
            (all, Vec::new())
        }
    }
}

/// A Freshdesk rule read into portable form, with its source marker. Its id is
/// `<type>/<id>` (switching on and deleting need the type's path); its webhook
/// references are by [`webhook_id`].
pub(crate) fn rule_from(
    rule: &Value,
    rule_type: u64,
    fields: &[FieldInfo],
) -> (Option<String>, Rule) {
    let mut untranslated = Vec::new();
    let (_, marker) = crate::read::DESC_MARKER.split_opt(rule["description"].as_str());
    let id = text_of(&rule["id"]);
    let mut conditions = sets_from(rule, rule_type, fields, &mut untranslated);
    if rule_type == UPDATES {
        let (mut all, any) = events_from(rule, &mut untranslated);
        all.append(&mut conditions.all);
        conditions.all = all;
        if !any.is_empty() {
            if conditions.any.is_empty() {
                conditions.any = any;
            } else {
                for c in any {
                    untranslated.push(Untranslated::new(
                        NAME,
                        RulePart::Event,
                        compact(&c),
                        "alternative events beside a list of alternative conditions: the portable form has one any-of list",
                    ));
                }
            }
        }
    }
    let mut webhooks = 0usize;
    let actions = actions_from(
        rule["actions"].as_array().map(Vec::as_slice).unwrap_or(&[]),
        fields,
        &mut |action| {
            webhooks += 1;
            webhook_id(rule, rule_type, webhooks, action)
        },
        &mut untranslated,
    );
    let record = Rule {
        id: format!("{rule_type}/{id}"),
        rule_kind: if rule_type == HOURLY {
            RuleKind::Automation
        } else {
            RuleKind::Trigger
        },
        title: text_of(&rule["name"]),
        active: rule["active"] == json!(true),
        events: BTreeSet::from([match rule_type {
            CREATION => RuleEvent::TicketCreated,
            HOURLY => RuleEvent::Hourly,
            _ => RuleEvent::TicketUpdated,
        }]),
        conditions,
        actions,
        position: rule["position"].as_i64(),
        untranslated,
        created_at: crate::read::time(rule, "created_at"),
        updated_at: crate::read::time(rule, "updated_at"),
        extra: Extra::new(),
    };
    (marker, record)
}

/// A rule's actions in portable form; `webhook` names the webhook of a
/// `trigger_webhook` action.
fn actions_from(
    actions: &[Value],
    fields: &[FieldInfo],
    webhook: &mut dyn FnMut(&Value) -> String,
    untranslated: &mut Vec<Untranslated>,
) -> Vec<Action> {
    let mut out = Vec::new();
    for a in actions {
        let field = a["field_name"].as_str().unwrap_or("");
        let value = &a["value"];
        let mut refuse = |reason: String| {
            untranslated.push(Untranslated::new(
                NAME,
                RulePart::Action,
                compact(a),
                reason,
            ))
        };
        let action = match field {
            "status" => match status_of(value) {
                Some(status) => Action::SetStatus { status },
                None => {
                    refuse(format!("status {value} has no portable form"));
                    continue;
                }
            },
            "priority" => match value.as_u64().and_then(|c| priority_of_code(Some(c))) {
                Some(priority) => Action::SetPriority { priority },
                None => {
                    refuse(format!("priority {value} has no portable form"));
                    continue;
                }
            },
            "ticket_type" => match text_of(value).as_str() {
                "" => Action::SetType { ticket_type: None },
                name => match ticket_type_of(name) {
                    Some(t) => Action::SetType {
                        ticket_type: Some(t),
                    },
                    None => {
                        refuse(format!("the ticket type '{name}' has no portable form"));
                        continue;
                    }
                },
            },
            "group_id" => Action::SetGroup {
                group: Some(text_of(value)).filter(|g| !g.is_empty()).map(Ref::new),
            },
            "responder_id" => Action::SetAssignee {
                assignee: match text_of(value).as_str() {
                    "" => Assignee::Nobody,
                    "-2" => Assignee::CurrentUser,
                    id => Assignee::User(Ref::new(id)),
                },
            },
            "add_tag" => Action::AddTags {
                tags: values_of(a).iter().map(text_of).collect(),
            },
            "add_note" => {
                if a["notify_agents"].as_array().is_some_and(|l| !l.is_empty()) {
                    refuse(
                        "the note e-mails named agents (notify_agents): the portable note notifies nobody"
                            .into(),
                    );
                }
                Action::PrivateNote {
                    body: read_text(&text_of(&a["note_body"]), untranslated),
                }
            }
            "send_email_to_requester" | "send_email_to_agent" | "send_email_to_group" => {
                let to = text_of(&a["email_to"]);
                let recipient = match (field, to.as_str()) {
                    ("send_email_to_requester", _) => Recipient::Requester,
                    ("send_email_to_agent", "-1") => Recipient::Assignee,
                    ("send_email_to_agent", id) if !id.is_empty() => Recipient::User(Ref::new(id)),
                    ("send_email_to_group", id) if !id.is_empty() => Recipient::Group(Ref::new(id)),
                    _ => {
                        refuse(format!("recipient '{to}' has no portable form"));
                        continue;
                    }
                };
                Action::Notify {
                    recipient,
                    subject: read_text(&text_of(&a["email_subject"]), untranslated),
                    body: read_text(&text_of(&a["email_body"]), untranslated),
                }
            }
            "trigger_webhook" => {
                if a["custom_headers"]
                    .as_object()
                    .is_some_and(|h| !h.is_empty())
                {
                    refuse("custom headers of the webhook call are not moved".into());
                }
                Action::CallWebhook {
                    webhook: Ref::new(webhook(a)),
                    body: read_text(&text_of(&a["content"]), untranslated),
                }
            }
            other => match fields
                .iter()
                .find(|f| f.object == "ticket" && f.name == other)
            {
                Some(def) => Action::SetCustomField {
                    field: Ref::new(def.id.to_string()),
                    value: text_of(value),
                },
                None => {
                    refuse(format!("no portable action for Freshdesk's '{other}'"));
                    continue;
                }
            },
        };
        out.push(action);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Writing.

/// What the target knows when writing: a custom field's name and type by target id,
/// and a webhook by target id. Fitting (`as_stored`) knows neither and accepts both.
pub(crate) trait Resolve {
    /// The Freshdesk name and type of the ticket field with this target id.
    fn field(&self, id: &str) -> Option<(String, String)>;
    /// Whether references are target ids that must resolve.
    fn strict(&self) -> bool;
}

/// Fitting: references are source ids; every reference is taken to resolve.
pub(crate) struct Lenient;

impl Resolve for Lenient {
    fn field(&self, _id: &str) -> Option<(String, String)> {
        Some(("cf_field".into(), "custom_dropdown".into()))
    }
    fn strict(&self) -> bool {
        false
    }
}

/// The Freshdesk rule type of a portable rule.
pub(crate) fn rule_type(r: &Rule) -> u64 {
    if r.rule_kind == RuleKind::Automation || r.events.contains(&RuleEvent::Hourly) {
        HOURLY
    } else if r.events.contains(&RuleEvent::TicketCreated)
        && !r.events.contains(&RuleEvent::TicketUpdated)
    {
        CREATION
    } else {
        UPDATES
    }
}

fn is_change(c: &Condition) -> bool {
    matches!(
        c.operator,
        Operator::Changed | Operator::ChangedTo | Operator::ChangedFrom
    ) && change_field_name(&c.field).is_some()
}

fn is_event_like(c: &Condition) -> bool {
    is_change(c) || c.field == ConditionField::CommentIsPublic
}

fn change_field_name(f: &ConditionField) -> Option<&'static str> {
    Some(match f {
        ConditionField::Status => "status",
        ConditionField::Priority => "priority",
        ConditionField::TicketType => "ticket_type",
        ConditionField::Group => "group_id",
        ConditionField::Assignee => "responder_id",
        _ => return None,
    })
}

/// A value as Freshdesk's choice fields take it.
fn choice_value(v: &RuleValue) -> Result<Value, String> {
    Ok(match v {
        RuleValue::None => Value::from(""),
        RuleValue::Status(s) => Value::from(status_code(*s)),
        RuleValue::Priority(p) => Value::from(priority_code(Some(*p))),
        RuleValue::TicketType(t) => Value::from(ticket_type_name(*t)),
        RuleValue::Group(r) => id_value(r.id()),
        RuleValue::User(r) => id_value(r.id()),
        RuleValue::Text(t) => Value::from(t.clone()),
        other => return Err(format!("the value {other:?} has no Freshdesk form here")),
    })
}

/// One portable condition as a Freshdesk property of a rule of `rule_type` (events,
/// performers and changes are not properties), or why Freshdesk cannot hold it.
fn property_to(c: &Condition, rule_type: u64, resolve: &dyn Resolve) -> Result<Value, String> {
    let hourly = rule_type == HOURLY;
    let prop = |field: &str, operator: &str, value: Value| json!({"resource_type": "ticket", "field_name": field, "operator": operator, "value": value});
    let in_or_not = |c: &Condition| match c.operator {
        Operator::Is => Ok("in"),
        Operator::IsNot => Ok("not_in"),
        op => Err(format!(
            "Freshdesk compares this field by 'in' and 'not in' only, not {op:?}"
        )),
    };
    match &c.field {
        ConditionField::Status
        | ConditionField::Priority
        | ConditionField::TicketType
        | ConditionField::Group => {
            let field = change_field_name(&c.field).unwrap_or_default();
            if matches!(c.value, RuleValue::None)
                && matches!(c.field, ConditionField::Status | ConditionField::Priority)
            {
                return Err("a status or priority condition needs a value".into());
            }
            Ok(prop(field, in_or_not(c)?, json!([choice_value(&c.value)?])))
        }
        ConditionField::Assignee => match &c.value {
            RuleValue::CurrentUser => {
                Err("Freshdesk conditions cannot name 'the agent making the update'".into())
            }
            v => Ok(prop(
                "responder_id",
                in_or_not(c)?,
                json!([choice_value(v)?]),
            )),
        },
        ConditionField::Channel => {
            let RuleValue::Text(name) = &c.value else {
                return Err("a channel condition needs a channel name".into());
            };
            let code = CHANNELS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
                .ok_or_else(|| format!("Freshdesk has no source for the channel '{name}'"))?;
            Ok(prop("source", in_or_not(c)?, json!([code])))
        }
        ConditionField::Tags if hourly => Err("Freshdesk's time triggers cannot test tags".into()),
        ConditionField::Tags => {
            let RuleValue::Tags(tags) = &c.value else {
                return Err("a tags condition needs tags".into());
            };
            if tags.is_empty() {
                return Err("a tags condition needs tags".into());
            }
            let op = match c.operator {
                Operator::Includes | Operator::Is => "in",
                Operator::NotIncludes | Operator::IsNot => "not_in",
                op => {
                    return Err(format!(
                        "Freshdesk tests tags by in, not in and all of, not {op:?}"
                    ));
                }
            };
            Ok(prop("tag_names", op, json!(tags)))
        }
        ConditionField::Subject | ConditionField::Description | ConditionField::CommentText => {
            let field = match (&c.field, rule_type) {
                (_, HOURLY) => return Err("Freshdesk's time triggers cannot test texts".into()),
                (ConditionField::Subject, _) => "subject",
                // On creation the comment is the description.
                (_, CREATION) => "description",
                (ConditionField::Description, _) => "description",
                _ => "last_interaction",
            };
            let RuleValue::Text(t) = &c.value else {
                return Err("a text condition needs a text".into());
            };
            let (op, list) = match c.operator {
                Operator::Contains | Operator::Includes => ("contains", true),
                Operator::NotContains | Operator::NotIncludes => ("does_not_contain", true),
                Operator::Is => ("is", false),
                Operator::IsNot => ("is_not", false),
                op => return Err(format!("Freshdesk has no text operator for {op:?}")),
            };
            Ok(prop(field, op, if list { json!([t]) } else { json!(t) }))
        }
        ConditionField::CustomField(r) => {
            if hourly {
                return Err("Freshdesk's time triggers refuse custom text fields, and which type the field has is known only on the target: left out".into());
            }
            let (name, kind) = resolve
                .field(r.id())
                .ok_or_else(|| format!("the custom field '{}' is not on the target", r.id()))?;
            let value = match &c.value {
                RuleValue::Text(t) => t.clone(),
                RuleValue::None => String::new(),
                other => return Err(format!("the value {other:?} has no Freshdesk form")),
            };
            match kind.as_str() {
                "custom_checkbox" => Ok(json!({"resource_type": "ticket", "field_name": name,
                    "operator": if (value == "true") == (c.operator == Operator::Is) { "selected" } else { "not_selected" }})),
                "custom_dropdown" | "custom_multi_select_dropdown" | "nested_field" => {
                    Ok(prop(&name, in_or_not(c)?, json!([value])))
                }
                _ => {
                    let op = match c.operator {
                        Operator::Is => "is",
                        Operator::IsNot => "is_not",
                        Operator::Contains => "contains",
                        Operator::NotContains => "does_not_contain",
                        op => return Err(format!("Freshdesk has no operator for {op:?}")),
                    };
                    Ok(prop(&name, op, json!(value)))
                }
            }
        }
        hours if hours.is_time_based() => {
            if !hourly {
                return Err("hours conditions belong to time triggers".into());
            }
            let field = HOURS
                .iter()
                .find(|(p, _)| p == hours)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    "Freshdesk's time triggers have no 'hours since the last update'".to_string()
                })?;
            let RuleValue::Number(n) = c.value else {
                return Err("an hours condition needs a number".into());
            };
            let op = match c.operator {
                Operator::Is => "is",
                Operator::GreaterThan => "greater_than",
                Operator::LessThan => "less_than",
                op => {
                    return Err(format!(
                        "Freshdesk compares hours by is, greater and less, not {op:?}"
                    ));
                }
            };
            Ok(prop(field, op, json!(n)))
        }
        ConditionField::Requester => {
            Err("Freshdesk rules test the requester's e-mail, not the user".into())
        }
        ConditionField::Organization => {
            Err("Freshdesk rules test the company's name, not the company".into())
        }
        _ => Err("no Freshdesk condition for it in this kind of rule".into()),
    }
}

/// A rule as Freshdesk takes it, and what of it Freshdesk cannot hold.
pub(crate) struct Plan {
    /// The rule type.
    pub rule_type: u64,
    /// The body of the create (without name, description, active).
    pub body: Value,
    /// Conditions left out: (in the any list, index, reason).
    pub refused_conditions: Vec<(bool, usize, String)>,
    /// Actions left out: (index, reason).
    pub refused_actions: Vec<(usize, String)>,
    /// Changes Freshdesk makes to what it keeps (named in the record's untranslated).
    pub changes: Vec<Untranslated>,
    /// The conditions as Freshdesk keeps them, in the order reading gives them.
    pub kept: Conditions,
    /// The events as Freshdesk keeps them.
    pub events: BTreeSet<RuleEvent>,
}

fn change(part: RulePart, form: impl Into<String>, reason: impl Into<String>) -> Untranslated {
    Untranslated::new("portable", part, form, reason)
}

/// Conditions as Freshdesk holds their values (new is open, on-hold pending).
fn held(c: &Condition) -> Condition {
    let mut c = c.clone();
    if let RuleValue::Status(s) = c.value {
        c.value = RuleValue::Status(status_held(s));
    }
    c
}

/// Plans the Freshdesk form of a portable rule: the write sends `body`, and fitting
/// applies the same refusals and changes.
pub(crate) fn plan_rule(
    r: &Rule,
    resolve: &dyn Resolve,
    webhook: &dyn Fn(&str) -> Option<EmbeddedWebhook>,
) -> Plan {
    let rule_type = rule_type(r);
    let mut refused_conditions = Vec::new();
    let mut changes = Vec::new();
    if rule_type == UPDATES && r.events.contains(&RuleEvent::TicketCreated) {
        changes.push(change(
            RulePart::Event,
            "ticket_created",
            "the source rule also runs on ticket creation; Freshdesk keeps it as a ticket update rule (type 4), so a ticket creation rule (type 1) must be added by a person if new tickets need it",
        ));
    }
    // Performer and events (type 4).
    let mut performer: Option<u64> = None;
    let mut events: Vec<Value> = Vec::new();
    let mut kept_events_all: Vec<Condition> = Vec::new();
    let mut kept_events_any: Vec<Condition> = Vec::new();
    let mut used_all = vec![false; r.conditions.all.len()];
    let mut used_any = vec![false; r.conditions.any.len()];
    if rule_type == UPDATES {
        for (i, c) in r.conditions.all.iter().enumerate() {
            if c.field != ConditionField::UpdatedBy {
                continue;
            }
            used_all[i] = true;
            let kind = match (&c.value, c.operator) {
                (RuleValue::Role(UpdaterRole::Agent), Operator::Is)
                | (RuleValue::Role(UpdaterRole::EndUser), Operator::IsNot) => Some(1),
                (RuleValue::Role(UpdaterRole::EndUser), Operator::Is)
                | (RuleValue::Role(UpdaterRole::Agent), Operator::IsNot) => Some(2),
                _ => None,
            };
            match (kind, performer) {
                (Some(k), None) => {
                    performer = Some(k);
                    kept_events_all.push(cond(
                        ConditionField::UpdatedBy,
                        Operator::Is,
                        RuleValue::Role(if k == 1 {
                            UpdaterRole::Agent
                        } else {
                            UpdaterRole::EndUser
                        }),
                    ));
                }
                (Some(k), Some(p)) if k == p => {}
                _ => refused_conditions.push((
                    false,
                    i,
                    "Freshdesk's performer is one of agent, requester or either".to_string(),
                )),
            }
        }
        // Changes required by the all list: one field.
        let mut field: Option<ConditionField> = None;
        let mut from: Option<&Condition> = None;
        let mut to: Option<&Condition> = None;
        let mut changed = false;
        let mut public: Option<bool> = None;
        for (i, c) in r.conditions.all.iter().enumerate() {
            if !is_event_like(c) {
                continue;
            }
            used_all[i] = true;
            let same = field.as_ref().is_none_or(|f| *f == c.field);
            let refuse = |reason: &str, list: &mut Vec<(bool, usize, String)>| {
                list.push((false, i, reason.to_string()))
            };
            if !same {
                refuse(
                    "Freshdesk runs a rule on any one of its events: a second change cannot be required as well",
                    &mut refused_conditions,
                );
                continue;
            }
            if c.field == ConditionField::CommentIsPublic {
                match (&c.value, c.operator) {
                    (RuleValue::Bool(b), Operator::Is) if public.is_none() => {
                        public = Some(*b);
                        field = Some(c.field.clone());
                    }
                    _ => refuse(
                        "Freshdesk tests a comment's visibility by the event that added it",
                        &mut refused_conditions,
                    ),
                }
                continue;
            }
            if choice_value(&c.value).is_err() && c.operator != Operator::Changed {
                refuse(
                    "the changed value has no Freshdesk form",
                    &mut refused_conditions,
                );
                continue;
            }
            match c.operator {
                Operator::ChangedFrom if from.is_none() => from = Some(c),
                Operator::ChangedTo if to.is_none() => to = Some(c),
                Operator::Changed if !changed => changed = true,
                _ => {
                    refuse(
                        "a second change of the same field cannot be required",
                        &mut refused_conditions,
                    );
                    continue;
                }
            }
            field = Some(c.field.clone());
        }
        if let Some(b) = public {
            events.extend(if b {
                vec![
                    json!({"field_name": "reply_sent"}),
                    json!({"field_name": "note_type", "value": "public"}),
                ]
            } else {
                vec![json!({"field_name": "note_type", "value": "private"})]
            });
            kept_events_all.push(cond(
                ConditionField::CommentIsPublic,
                Operator::Is,
                RuleValue::Bool(b),
            ));
        } else if let Some(f) = &field {
            let name = change_field_name(f).unwrap_or_default();
            let v = |c: Option<&Condition>| {
                c.and_then(|c| choice_value(&held(c).value).ok())
                    .unwrap_or(json!("--"))
            };
            events.push(json!({"field_name": name, "from": v(from), "to": v(to)}));
            if let Some(c) = from {
                kept_events_all.push(held(c));
            }
            if let Some(c) = to {
                kept_events_all.push(held(c));
            }
            if from.is_none() && to.is_none() {
                kept_events_all.push(cond(f.clone(), Operator::Changed, RuleValue::None));
            }
        }
        // Alternatives of the any list that are all events.
        let any_events = !r.conditions.any.is_empty()
            && r.conditions.any.iter().all(is_event_like)
            && events.is_empty();
        for (i, c) in r.conditions.any.iter().enumerate() {
            if !is_event_like(c) {
                continue;
            }
            used_any[i] = true;
            if !any_events {
                refused_conditions.push((
                    true,
                    i,
                    "a change among alternative conditions: Freshdesk keeps changes as events, which cannot be mixed with conditions or added to required changes".into(),
                ));
                continue;
            }
            let event = if c.field == ConditionField::CommentIsPublic {
                match c.value {
                    RuleValue::Bool(false) => {
                        json!({"field_name": "note_type", "value": "private"})
                    }
                    _ => json!({"field_name": "note_type", "value": "public"}),
                }
            } else {
                let name = change_field_name(&c.field).unwrap_or_default();
                let v = choice_value(&held(c).value).unwrap_or(json!("--"));
                match c.operator {
                    Operator::ChangedFrom => json!({"field_name": name, "from": v, "to": "--"}),
                    Operator::ChangedTo => json!({"field_name": name, "from": "--", "to": v}),
                    _ => json!({"field_name": name, "from": "--", "to": "--"}),
                }
            };
            events.push(event);
            kept_events_any.push(if c.field == ConditionField::CommentIsPublic {
                cond(
                    ConditionField::CommentIsPublic,
                    Operator::Is,
                    RuleValue::Bool(!matches!(c.value, RuleValue::Bool(false))),
                )
            } else {
                held(c)
            });
        }
        if events.is_empty() {
            events = any_update();
        }
    }
    // Condition sets.
    let props =
        |list: &[Condition], any: bool, used: &[bool], refused: &mut Vec<(bool, usize, String)>| {
            let mut out = Vec::new();
            let mut kept = Vec::new();
            for (i, c) in list.iter().enumerate() {
                if used[i] {
                    continue;
                }
                let result = if rule_type != UPDATES
                    && (is_event_like(c) || c.field == ConditionField::UpdatedBy)
                {
                    Err(match rule_type {
                        HOURLY => "time triggers have no update events".to_string(),
                        _ => "ticket creation rules have no update events".to_string(),
                    })
                } else {
                    property_to(c, rule_type, resolve)
                };
                match result {
                    Ok(p) => {
                        out.push(p);
                        let mut c = held(c);
                        // On creation the description is the comment: read back as such.
                        if rule_type == CREATION && c.field == ConditionField::Description {
                            c.field = ConditionField::CommentText;
                        }
                        kept.push(c);
                    }
                    Err(reason) => refused.push((any, i, reason)),
                }
            }
            (out, kept)
        };
    let (all_props, mut kept_all) =
        props(&r.conditions.all, false, &used_all, &mut refused_conditions);
    let (mut any_props, mut kept_any) =
        props(&r.conditions.any, true, &used_any, &mut refused_conditions);
    if rule_type == HOURLY && !all_props.is_empty() && !any_props.is_empty() {
        for (i, c) in r.conditions.any.iter().enumerate() {
            if kept_any.contains(&held(c)) {
                refused_conditions.push((
                    true,
                    i,
                    "Freshdesk's time triggers take one condition set: the alternatives are left out".into(),
                ));
            }
        }
        any_props.clear();
        kept_any.clear();
    }
    // A single alternative is a required condition.
    let single_any = any_props.len() == 1;
    let mut sets = Vec::new();
    let all_props = if single_any && rule_type != HOURLY {
        let mut a = all_props;
        a.append(&mut any_props);
        kept_all.append(&mut kept_any);
        a
    } else {
        all_props
    };
    if !all_props.is_empty() {
        sets.push(json!({"name": "condition_set_1", "match_type": "all", "properties": all_props}));
    }
    if !any_props.is_empty() {
        let name = if sets.is_empty() {
            "condition_set_1"
        } else {
            "condition_set_2"
        };
        sets.push(json!({"name": name, "match_type": "any", "properties": any_props}));
    }
    if sets.is_empty() {
        sets.push(
            json!({"name": "condition_set_1", "match_type": "all", "properties": [always()]}),
        );
    }
    let mut body = json!({"conditions": sets});
    if body["conditions"].as_array().is_some_and(|s| s.len() == 2) {
        body["operator"] = json!("condition_set_1 and condition_set_2");
    }
    if rule_type == UPDATES {
        body["performer"] = json!({"type": performer.unwrap_or(3)});
        body["events"] = Value::Array(events);
    }
    // Actions.
    let mut actions = Vec::new();
    let mut refused_actions = Vec::new();
    for (i, a) in r.actions.iter().enumerate() {
        match action_to(a, rule_type, resolve, webhook) {
            Ok(mut list) => {
                actions.append(&mut list);
                if let Action::Notify {
                    recipient: Recipient::RequesterAndCcs,
                    ..
                } = a
                {
                    changes.push(change(
                        RulePart::Action,
                        compact(a),
                        "Freshdesk's rule e-mails go to the requester only: the people in copy are not e-mailed",
                    ));
                }
                for text in a.texts() {
                    for p in placeholders_without_freshdesk_form(text) {
                        changes.push(change(
                            RulePart::Placeholder,
                            p,
                            "Freshdesk has no placeholder for it: written verbatim, it shows as typed",
                        ));
                    }
                }
            }
            Err(reason) => refused_actions.push((i, reason)),
        }
    }
    body["actions"] = Value::Array(actions);
    let mut kept_all_final = kept_events_all;
    kept_all_final.append(&mut kept_all);
    let mut kept_any_final = kept_events_any;
    kept_any_final.append(&mut kept_any);
    Plan {
        rule_type,
        body,
        refused_conditions,
        refused_actions,
        changes,
        kept: Conditions {
            all: kept_all_final,
            any: kept_any_final,
        },
        events: BTreeSet::from([match rule_type {
            CREATION => RuleEvent::TicketCreated,
            HOURLY => RuleEvent::Hourly,
            _ => RuleEvent::TicketUpdated,
        }]),
    }
}

/// One portable action in Freshdesk's form for a rule of `rule_type`, or why Freshdesk
/// cannot hold it.
fn action_to(
    a: &Action,
    rule_type: u64,
    resolve: &dyn Resolve,
    webhook: &dyn Fn(&str) -> Option<EmbeddedWebhook>,
) -> Result<Vec<Value>, String> {
    let set = |field: &str, value: Value| Ok(vec![json!({"field_name": field, "value": value})]);
    let email = |field: &str, to: Option<Value>, subject: &str, body: &str| {
        if subject.trim().is_empty() || body.trim().is_empty() {
            return Err("Freshdesk's rule e-mails need a subject and a body".to_string());
        }
        let mut v = json!({"field_name": field, "email_subject": write_text(subject), "email_body": write_text(body)});
        if let Some(to) = to {
            v["email_to"] = to;
        }
        Ok(vec![v])
    };
    match a {
        Action::SetStatus { status } => set("status", json!(status_code(*status))),
        Action::SetPriority { priority } => set("priority", json!(priority_code(Some(*priority)))),
        Action::SetType { ticket_type } => set(
            "ticket_type",
            json!(ticket_type.map(ticket_type_name).unwrap_or_default()),
        ),
        Action::SetGroup { group } => set(
            "group_id",
            group
                .as_ref()
                .map(|g| id_value(g.id()))
                .unwrap_or(json!("")),
        ),
        Action::SetAssignee { assignee } => match assignee {
            Assignee::Nobody => set("responder_id", json!("")),
            Assignee::User(r) => set("responder_id", id_value(r.id())),
            Assignee::CurrentUser if rule_type == UPDATES => set("responder_id", json!(-2)),
            Assignee::CurrentUser => Err(
                "'the agent making the update' exists only in Freshdesk's ticket update rules"
                    .into(),
            ),
        },
        Action::SetCustomField { field, value } => {
            let (name, kind) = resolve
                .field(field.id())
                .ok_or_else(|| format!("the custom field '{}' is not on the target", field.id()))?;
            let value = match kind.as_str() {
                "custom_checkbox" => json!(value == "true"),
                "custom_number" | "custom_decimal" => value
                    .parse::<f64>()
                    .map(|n| json!(n))
                    .unwrap_or(json!(value)),
                _ => json!(value),
            };
            set(&name, value)
        }
        Action::AddTags { tags } if !tags.is_empty() => set("add_tag", json!(tags)),
        Action::AddTags { .. } => Err("no tags to add".into()),
        Action::RemoveTags { .. } => {
            Err("Freshdesk's automation rules can add tags, not remove them".into())
        }
        Action::SetTags { .. } => {
            Err("Freshdesk's automation rules can add tags, not replace them".into())
        }
        Action::PublicReply { .. } => Err(
            "Freshdesk's automation rules cannot add a public reply (an e-mail to the requester is the nearest)"
                .into(),
        ),
        Action::PrivateNote { .. } if rule_type == HOURLY => {
            Err("Freshdesk's time triggers cannot add notes".into())
        }
        Action::PrivateNote { body } if !body.trim().is_empty() => {
            Ok(vec![json!({"field_name": "add_note", "note_body": write_text(body)})])
        }
        Action::PrivateNote { .. } => Err("an empty note".into()),
        Action::Notify {
            recipient,
            subject,
            body,
        } => match recipient {
            Recipient::Requester | Recipient::RequesterAndCcs => {
                email("send_email_to_requester", None, subject, body)
            }
            Recipient::Assignee => email("send_email_to_agent", Some(json!(-1)), subject, body),
            Recipient::User(u) => email("send_email_to_agent", Some(id_value(u.id())), subject, body),
            Recipient::Group(g) => email("send_email_to_group", Some(id_value(g.id())), subject, body),
            Recipient::AssignedGroup => Err(
                "Freshdesk's rules e-mail a named group, not the ticket's group".into(),
            ),
            Recipient::AllAgents => Err("Freshdesk's rules cannot e-mail every agent".into()),
        },
        Action::CallWebhook { .. } if rule_type == HOURLY => {
            Err("Freshdesk's time triggers cannot call webhooks".into())
        }
        Action::CallWebhook { webhook: w, body } => {
            let def = match webhook(w.id()) {
                Some(def) => def,
                None if !resolve.strict() => EmbeddedWebhook {
                    source: w.id().to_string(),
                    method: "POST".into(),
                    url: "https://example.invalid".into(),
                    format: "json".into(),
                },
                None => return Err(format!("the webhook '{}' is not on the target", w.id())),
            };
            let mut v = json!({"field_name": "trigger_webhook", "request_type": def.method, "url": def.url});
            if matches!(def.method.as_str(), "POST" | "PUT" | "PATCH") || !body.is_empty() {
                v["content_type"] = json!(content_type_of(&def.format));
            }
            if !body.is_empty() {
                v["content_layout"] = json!("2");
                v["content"] = json!(write_text(body));
            }
            Ok(vec![v])
        }
        Action::EmailAddress { address, .. } => Err(format!(
            "Freshdesk's automation rules cannot e-mail an outside address ({address}) with a subject and body of their own"
        )),
    }
}

/// Whether a macro's action is one a canned response holds (it only adds text).
pub(crate) fn canned_text(a: &Action) -> Option<&str> {
    match a {
        Action::PublicReply { body } | Action::PrivateNote { body } => Some(body),
        _ => None,
    }
}

/// A macro's canned response body: its texts, placeholders in Freshdesk's spelling.
pub(crate) fn canned_body(m: &Macro) -> String {
    m.actions
        .iter()
        .filter_map(canned_text)
        .map(write_text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A canned response's text read back into portable form.
pub(crate) fn canned_from(html: &str, untranslated: &mut Vec<Untranslated>) -> String {
    read_text(html, untranslated)
}

/// Why the write refuses a plan's rule: the field and the reason, which says the rule
/// needs a person.
fn plan_refusal(plan: &Plan) -> Option<(&'static str, String)> {
    if plan.rule_type == HOURLY && !plan.kept.iter().any(|c| c.field.is_time_based()) {
        return Some((
            "conditions",
            "none of the time trigger's hours conditions has a Freshdesk form, and without one it would act on every matching ticket every hour: the rule needs a person".into(),
        ));
    }
    if plan.body["actions"].as_array().is_none_or(Vec::is_empty) {
        return Some((
            "actions",
            "none of the rule's actions has a Freshdesk form, and Freshdesk requires one: the rule needs a person".into(),
        ));
    }
    None
}

/// Why the write refuses a rule, macro or SLA policy as a whole (Freshdesk can hold
/// nothing useful of it): the field and the reason. The dry run predicts the same.
pub(crate) fn refusal(record: &Record) -> Option<(&'static str, String)> {
    match record {
        Record::Rule(r) => plan_refusal(&plan_rule(r, &Lenient, &|_| None)),
        Record::Macro(m) if canned_body(m).trim().is_empty() => Some((
            "actions",
            "the macro adds no text, and a Freshdesk canned response only inserts text: it needs a person (its field changes need a scenario automation, which the API cannot create)".into(),
        )),
        Record::SlaPolicy(s) => {
            let (applicable, _) = sla_filter_to(&s.filter);
            if !s.filter.is_empty() && applicable.as_object().is_none_or(|a| a.is_empty()) {
                return Some((
                    "filter",
                    "Freshdesk's SLA policies other than the default apply to a group, company, ticket type or source, and none of the policy's conditions is one: the policy needs a person".into(),
                ));
            }
            sla_targets_to(s).err().map(|reason| ("targets", reason))
        }
        _ => None,
    }
}

/// Moves what Freshdesk cannot hold out of a record into its untranslated parts, and
/// rewrites the rest as Freshdesk keeps it: what the write leaves out and changes.
pub(crate) fn fit_rule(record: &mut Record) {
    match record {
        Record::Rule(r) => {
            let plan = plan_rule(r, &Lenient, &|_| None);
            let mut untranslated = std::mem::take(&mut r.untranslated);
            for (any, i, reason) in &plan.refused_conditions {
                let list = if *any {
                    &r.conditions.any
                } else {
                    &r.conditions.all
                };
                if let Some(c) = list.get(*i) {
                    untranslated.push(change(
                        RulePart::Condition,
                        compact(c),
                        format!("not written: {reason}"),
                    ));
                }
            }
            let mut kept_actions = Vec::new();
            for (i, a) in r.actions.iter().enumerate() {
                match plan.refused_actions.iter().find(|(j, _)| *j == i) {
                    Some((_, reason)) => untranslated.push(change(
                        RulePart::Action,
                        compact(a),
                        format!("not written: {reason}"),
                    )),
                    None => kept_actions.push(match a {
                        Action::Notify {
                            recipient: Recipient::RequesterAndCcs,
                            subject,
                            body,
                        } => Action::Notify {
                            recipient: Recipient::Requester,
                            subject: subject.clone(),
                            body: body.clone(),
                        },
                        Action::SetStatus { status } => Action::SetStatus {
                            status: status_held(*status),
                        },
                        other => other.clone(),
                    }),
                }
            }
            untranslated.extend(plan.changes);
            r.conditions = plan.kept;
            r.actions = kept_actions;
            r.events = plan.events;
            r.rule_kind = if plan.rule_type == HOURLY {
                RuleKind::Automation
            } else {
                RuleKind::Trigger
            };
            r.untranslated = untranslated;
        }
        Record::Macro(m) => {
            let mut kept = Vec::new();
            for a in std::mem::take(&mut m.actions) {
                if canned_text(&a).is_some() {
                    kept.push(a);
                } else {
                    m.untranslated.push(change(
                        RulePart::Action,
                        compact(&a),
                        "not written: a Freshdesk canned response only inserts text",
                    ));
                }
            }
            // One canned response holds the texts as one reply.
            if !kept.is_empty() {
                let body = kept
                    .iter()
                    .filter_map(canned_text)
                    .collect::<Vec<_>>()
                    .join("\n");
                if kept.iter().any(|a| matches!(a, Action::PrivateNote { .. })) {
                    m.untranslated.push(change(
                        RulePart::Action,
                        "private_note",
                        "a canned response is inserted into whatever the agent writes: a reply or a note, as the agent chooses",
                    ));
                }
                kept = vec![Action::PublicReply { body }];
            }
            for text in kept.iter().flat_map(Action::texts) {
                for p in placeholders_without_freshdesk_form(text) {
                    m.untranslated.push(change(
                        RulePart::Placeholder,
                        p,
                        "Freshdesk has no placeholder for it: written verbatim, it shows as typed",
                    ));
                }
            }
            m.actions = kept;
        }
        Record::SlaPolicy(s) => {
            let (_, refused) = sla_filter_to(&s.filter);
            if s.filter.is_empty() {
                s.untranslated.push(change(
                    RulePart::Setting,
                    "every ticket",
                    "Freshdesk's policies other than the default apply to listed values: this one applies to every source the account has when it is written, not to a source added later",
                ));
            }
            let mut kept = Conditions::default();
            for c in s.filter.iter() {
                match refused.iter().find(|(x, _)| x == c) {
                    Some((_, reason)) => s.untranslated.push(change(
                        RulePart::Condition,
                        compact(c),
                        format!("not written: {reason}"),
                    )),
                    None => kept.all.push(c.clone()),
                }
            }
            s.filter = kept;
            let has_resolution = s.targets.iter().any(|t| t.metric == "resolution_time");
            let (kept, left): (Vec<SlaTarget>, Vec<SlaTarget>) =
                std::mem::take(&mut s.targets).into_iter().partition(|t| {
                    SLA_METRICS.iter().any(|(m, _)| *m == t.metric)
                        || (t.metric == "requester_wait_time" && !has_resolution)
                });
            if kept.iter().any(|t| t.metric == "requester_wait_time") {
                s.untranslated.push(change(
                    RulePart::Setting,
                    "requester_wait_time",
                    "written as Freshdesk's resolution target (resolve_within): Freshdesk has no requester wait time",
                ));
            }
            for t in left {
                s.untranslated.push(change(
                    RulePart::Setting,
                    compact(&t),
                    format!(
                        "not written: Freshdesk's SLA targets are first reply, next reply and resolution times, not '{}'",
                        t.metric
                    ),
                ));
            }
            s.targets = kept;
            match sla_targets_held(s) {
                Ok(targets) => s.targets = targets,
                Err(reason) => s
                    .untranslated
                    .push(change(RulePart::Setting, "targets", reason)),
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// SLA policies.

/// SLA metrics and Freshdesk's `sla_target` keys.
const SLA_METRICS: &[(&str, &str)] = &[
    ("first_reply_time", "respond_within"),
    ("next_reply_time", "next_respond_within"),
    ("resolution_time", "resolve_within"),
];

/// Whether a policy's `applicable_to` is every source of the account and nothing else:
/// how a policy for every ticket is written.
fn every_source(applicable: &Value, all_sources: &[u64]) -> bool {
    let Some(map) = applicable.as_object() else {
        return false;
    };
    let listed: BTreeSet<u64> = applicable["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    !all_sources.is_empty()
        && listed == all_sources.iter().copied().collect()
        && map
            .iter()
            .all(|(k, v)| k == "sources" || v.as_array().is_none_or(Vec::is_empty))
}

/// A Freshdesk SLA policy in portable form, with its marker; `all_sources` are the
/// account's ticket sources.
pub(crate) fn sla_from(p: &Value, all_sources: &[u64]) -> (Option<String>, SlaPolicy) {
    let (description, marker) = crate::read::DESC_MARKER.split_opt(p["description"].as_str());
    let mut filter = Conditions::default();
    let mut untranslated = Vec::new();
    let none = json!({});
    let applicable = if every_source(&p["applicable_to"], all_sources) {
        &none
    } else {
        &p["applicable_to"]
    };
    let ids = |key: &str| -> Vec<String> {
        applicable[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(text_of)
            .collect()
    };
    // Several values of one list are alternatives; lists are required together.
    let mut lists: Vec<Vec<Condition>> = Vec::new();
    lists.push(
        ids("group_ids")
            .into_iter()
            .map(|g| {
                cond(
                    ConditionField::Group,
                    Operator::Is,
                    RuleValue::Group(Ref::new(g)),
                )
            })
            .collect(),
    );
    lists.push(
        ids("company_ids")
            .into_iter()
            .map(|c| {
                cond(
                    ConditionField::Organization,
                    Operator::Is,
                    RuleValue::Organization(Ref::new(c)),
                )
            })
            .collect(),
    );
    lists.push(
        ids("ticket_types")
            .into_iter()
            .filter_map(|t| {
                ticket_type_of(&t).map(|t| {
                    cond(
                        ConditionField::TicketType,
                        Operator::Is,
                        RuleValue::TicketType(t),
                    )
                })
            })
            .collect(),
    );
    lists.push(
        ids("sources")
            .into_iter()
            .filter_map(|s| {
                CHANNELS
                    .iter()
                    .find(|(_, c)| c.to_string() == s)
                    .map(|(n, _)| {
                        cond(
                            ConditionField::Channel,
                            Operator::Is,
                            RuleValue::Text(n.to_string()),
                        )
                    })
            })
            .collect(),
    );
    for list in lists.into_iter().filter(|l| !l.is_empty()) {
        if list.len() == 1 {
            filter.all.extend(list);
        } else if filter.any.is_empty() {
            filter.any = list;
        } else {
            untranslated.push(Untranslated::new(
                NAME,
                RulePart::Condition,
                compact(&list),
                "a second list of alternatives: the portable form has one any-of list",
            ));
        }
    }
    for key in ["product_ids", "contact_segments", "company_segments"] {
        if applicable[key].as_array().is_some_and(|l| !l.is_empty()) {
            untranslated.push(Untranslated::new(
                NAME,
                RulePart::Condition,
                compact(&json!({key: applicable[key]})),
                format!("no portable condition for Freshdesk's '{key}'"),
            ));
        }
    }
    if p["escalation"].as_object().is_some_and(|e| !e.is_empty()) {
        untranslated.push(Untranslated::new(
            NAME,
            RulePart::Setting,
            compact(&p["escalation"]),
            "escalations (whom to e-mail when a target is missed) have no portable form",
        ));
    }
    let mut targets = Vec::new();
    for code in 1..=4u64 {
        let t = &p["sla_target"][format!("priority_{code}")];
        for (metric, key) in SLA_METRICS {
            if let Some(seconds) = t[*key].as_u64() {
                targets.push(SlaTarget {
                    priority: priority_of_code(Some(code)),
                    metric: metric.to_string(),
                    minutes: seconds / 60,
                    business_hours: t["business_hours"] == json!(true),
                });
            }
        }
    }
    let record = SlaPolicy {
        id: text_of(&p["id"]),
        title: text_of(&p["name"]),
        description,
        position: p["position"].as_i64(),
        filter,
        targets,
        untranslated,
        created_at: crate::read::time(p, "created_at"),
        updated_at: crate::read::time(p, "updated_at"),
        extra: Extra::new(),
    };
    (marker, record)
}

/// A policy's filter as Freshdesk's `applicable_to`, and the conditions it cannot hold.
pub(crate) fn sla_filter_to(filter: &Conditions) -> (Value, Vec<(Condition, String)>) {
    let mut applicable = serde_json::Map::new();
    let mut refused = Vec::new();
    for c in filter.iter() {
        if c.operator != Operator::Is {
            refused.push((
                c.clone(),
                "Freshdesk's SLA policies apply to listed values only".to_string(),
            ));
            continue;
        }
        let (key, value) = match (&c.field, &c.value) {
            (ConditionField::Group, RuleValue::Group(g)) => ("group_ids", id_value(g.id())),
            (ConditionField::Organization, RuleValue::Organization(o)) => {
                ("company_ids", id_value(o.id()))
            }
            (ConditionField::TicketType, RuleValue::TicketType(t)) => {
                ("ticket_types", json!(ticket_type_name(*t)))
            }
            (ConditionField::Channel, RuleValue::Text(n)) => {
                match CHANNELS.iter().find(|(x, _)| x == n) {
                    Some((_, code)) => ("sources", json!(code)),
                    None => {
                        refused.push((c.clone(), format!("Freshdesk has no source '{n}'")));
                        continue;
                    }
                }
            }
            _ => {
                refused.push((
                    c.clone(),
                    "Freshdesk's SLA policies apply by group, company, ticket type or source only"
                        .to_string(),
                ));
                continue;
            }
        };
        if let Some(list) = applicable
            .entry(key)
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            list.push(value);
        }
    }
    (Value::Object(applicable), refused)
}

/// The targets as Freshdesk keeps them: per priority (low to urgent) and metric, whole
/// minutes, business hours if any target of the priority counts them.
pub(crate) fn sla_targets_held(s: &SlaPolicy) -> Result<Vec<SlaTarget>, String> {
    let value = sla_targets_to(s)?;
    let mut out = Vec::new();
    for code in 1..=4u64 {
        let t = &value[format!("priority_{code}")];
        for (metric, key) in SLA_METRICS {
            if let Some(seconds) = t[*key].as_u64() {
                out.push(SlaTarget {
                    priority: priority_of_code(Some(code)),
                    metric: metric.to_string(),
                    minutes: seconds / 60,
                    business_hours: t["business_hours"] == json!(true),
                });
            }
        }
    }
    Ok(out)
}

/// A policy's `sla_target`: all four priorities, in seconds; a target the policy lacks
/// for a priority is taken from its priority-less target, or the refusal's reason.
pub(crate) fn sla_targets_to(s: &SlaPolicy) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    for code in 1..=4u64 {
        let priority = priority_of_code(Some(code));
        let mut target = serde_json::Map::new();
        let mut business = false;
        for (metric, key) in SLA_METRICS {
            let of = |wanted: &str| {
                s.targets
                    .iter()
                    .find(|t| t.metric == wanted && t.priority == priority)
                    .or_else(|| {
                        s.targets
                            .iter()
                            .find(|t| t.metric == wanted && t.priority.is_none())
                    })
            };
            // Zendesk has no resolution metric: its requester wait time (how long the
            // requester waits for a solution) stands for Freshdesk's resolution target.
            let found = of(metric).or_else(|| {
                (*metric == "resolution_time")
                    .then(|| of("requester_wait_time"))
                    .flatten()
            });
            if let Some(t) = found {
                target.insert(key.to_string(), json!(t.minutes.max(1) * 60));
                business |= t.business_hours;
            }
        }
        for key in ["respond_within", "resolve_within"] {
            if !target.contains_key(key) {
                return Err(format!(
                    "Freshdesk needs first reply and resolution targets for every priority, and the policy has none for priority {code} ({key}): the policy needs a person"
                ));
            }
        }
        target.insert("business_hours".into(), json!(business));
        target.insert("escalation_enabled".into(), json!(false));
        out.insert(format!("priority_{code}"), Value::Object(target));
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------
// The connection: pages, writes, switching on.

use switchover_adapter::AdapterError;
use switchover_http::Request;

/// The name of the canned response folder migrated macros go into.
pub(crate) const CANNED_FOLDER: &str = "Switchover";

/// Resolves custom fields against the target's fields; webhooks by their synthetic ids.
struct OnTarget(Vec<FieldInfo>);

impl Resolve for OnTarget {
    fn field(&self, id: &str) -> Option<(String, String)> {
        self.0
            .iter()
            .find(|f| f.object == "ticket" && f.id.to_string() == id)
            .map(|f| (f.name.clone(), f.kind.clone()))
    }
    fn strict(&self) -> bool {
        true
    }
}

fn invalid(kind: Kind, id: &str, field: &str, reason: impl Into<String>) -> AdapterError {
    AdapterError::invalid(NAME, kind, id, field, reason)
}

/// `<type>/<id>` of a rule's target id.
fn rule_path(target_id: &str) -> Result<String, AdapterError> {
    match target_id.split_once('/') {
        Some((t, id)) if RULE_TYPES.iter().any(|x| x.to_string() == t) && !id.is_empty() => {
            Ok(format!("automations/{t}/rules/{id}"))
        }
        _ => Err(AdapterError::fatal(
            NAME,
            format!("'{target_id}' is not a Freshdesk rule id (<type>/<id>)"),
        )),
    }
}

impl crate::Freshdesk {
    /// Every automation rule of types 1, 3 and 4, with markers.
    pub(crate) fn rule_records(&self) -> Result<Vec<(Option<String>, Record)>, AdapterError> {
        let fields = self.fields()?;
        let mut out = Vec::new();
        for t in RULE_TYPES {
            for rule in self.api.list_all(&format!("automations/{t}/rules"), &[])? {
                let (marker, r) = rule_from(&rule, t, &fields);
                out.push((marker, r.into_record()));
            }
        }
        Ok(out)
    }

    /// The webhooks Freshdesk rules carry, each once (a webhook a migration embedded in
    /// several rules is one record). None carries a marker: writing one sends nothing.
    pub(crate) fn webhook_records(&self) -> Result<Vec<(Option<String>, Record)>, AdapterError> {
        let mut out: Vec<(Option<String>, Record)> = Vec::new();
        for t in [CREATION, UPDATES] {
            for rule in self.api.list_all(&format!("automations/{t}/rules"), &[])? {
                for w in webhooks_of(&rule, t) {
                    if !out.iter().any(|(_, r)| r.id() == w.id) {
                        out.push((None, w.into_record()));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Canned responses as macros, with markers.
    pub(crate) fn canned_records(&self) -> Result<Vec<(Option<String>, Record)>, AdapterError> {
        let mut records = Vec::new();
        let folders = self.api.get("canned_response_folders", &[])?;
        for folder in folders.as_array().into_iter().flatten() {
            let Some(fid) = crate::read::num_id(folder, "id") else {
                continue;
            };
            for r in self
                .api
                .list_all(&format!("canned_response_folders/{fid}/responses"), &[])?
            {
                let (html, marker) =
                    crate::read::SIGNATURE_MARKER.split(r["content_html"].as_str().unwrap_or(""));
                let mut untranslated = Vec::new();
                let body = canned_from(&html, &mut untranslated);
                records.push((
                    marker,
                    Macro {
                        id: crate::read::num_id(&r, "id").unwrap_or_default(),
                        title: crate::read::text(&r, "title").unwrap_or_default(),
                        active: true,
                        actions: vec![Action::PublicReply { body }],
                        untranslated,
                        created_at: crate::read::time(&r, "created_at"),
                        updated_at: crate::read::time(&r, "updated_at"),
                        ..Default::default()
                    }
                    .into_record(),
                ));
            }
        }
        Ok(records)
    }

    /// SLA policies, with markers.
    pub(crate) fn sla_records(&self) -> Result<Vec<(Option<String>, Record)>, AdapterError> {
        let sources = self.account_sources()?;
        Ok(self
            .api
            .list_all("sla_policies", &[])?
            .iter()
            .map(|p| {
                let (marker, s) = sla_from(p, &sources);
                (marker, s.into_record())
            })
            .collect())
    }

    /// Writes a rule switched off (an update leaves `active` as the target has it).
    pub(crate) fn write_rule(
        &self,
        r: &Rule,
        existing: Option<String>,
    ) -> Result<String, AdapterError> {
        let kind = Kind::Rule;
        let plan = plan_rule(r, &OnTarget(self.fields()?), &EmbeddedWebhook::parse);
        if let Some((field, reason)) = plan_refusal(&plan) {
            return Err(invalid(kind, &r.id, field, reason));
        }
        let kept_webhooks: Vec<String> = r
            .actions
            .iter()
            .enumerate()
            .filter(|(i, _)| !plan.refused_actions.iter().any(|(j, _)| j == i))
            .filter_map(|(_, a)| match a {
                Action::CallWebhook { webhook, .. } => EmbeddedWebhook::parse(webhook.id()),
                _ => None,
            })
            .map(|w| w.source)
            .collect();
        let description = if kept_webhooks.is_empty() {
            String::new()
        } else {
            WEBHOOK_MARKER.tag(&kept_webhooks.join(" "))
        };
        let mut body = plan.body;
        body["name"] = json!(r.title);
        body["description"] = json!(crate::read::DESC_MARKER.append(&description, &r.id));
        if let Some(p) = r.position.filter(|p| *p > 0) {
            body["position"] = json!(p);
        }
        let answer = match existing {
            Some(id) => self
                .api
                .write_json(Request::put(rule_path(&id)?), &body, kind, &r.id)?,
            None => {
                body["active"] = json!(false);
                self.api.write_json(
                    Request::post(format!("automations/{}/rules", plan.rule_type)),
                    &body,
                    kind,
                    &r.id,
                )?
            }
        };
        let id = crate::read::num_id(&answer, "id").ok_or_else(|| {
            AdapterError::fatal(
                NAME,
                format!("writing rule '{}': no id in the answer", r.id),
            )
        })?;
        Ok(format!("{}/{id}", plan.rule_type))
    }

    /// Switches a migrated rule on or off. A webhook has no switch of its own on
    /// Freshdesk: it is called by the rules that embed it, switched on with them.
    pub(crate) fn set_rule_active(
        &self,
        kind: Kind,
        target_id: &str,
        active: bool,
    ) -> Result<(), AdapterError> {
        match kind {
            Kind::Rule => self
                .api
                .write_json(
                    Request::put(rule_path(target_id)?),
                    &json!({"active": active}),
                    kind,
                    target_id,
                )
                .map(|_| ()),
            Kind::Webhook => Ok(()),
            other => Err(AdapterError::unsupported(NAME, other, "switch on or off")),
        }
    }

    /// The id of the canned response folder for migrated macros, created once.
    fn canned_folder(&self) -> Result<u64, AdapterError> {
        // One thread looks for it and creates it; the others wait and use its id.
        let mut known = self.canned_folder.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = *known {
            return Ok(id);
        }
        let folders = self.api.get("canned_response_folders", &[])?;
        let found = folders.as_array().into_iter().flatten().find_map(|f| {
            (f["name"].as_str() == Some(CANNED_FOLDER))
                .then(|| f["id"].as_u64())
                .flatten()
        });
        let id = match found {
            Some(id) => id,
            None => {
                let answer = self.api.write_json(
                    Request::post("canned_response_folders"),
                    &json!({"name": CANNED_FOLDER}),
                    Kind::Macro,
                    CANNED_FOLDER,
                )?;
                answer["id"].as_u64().ok_or_else(|| {
                    AdapterError::fatal(
                        NAME,
                        "creating the canned response folder: no id in the answer",
                    )
                })?
            }
        };
        *known = Some(id);
        Ok(id)
    }

    /// Writes a macro that adds text as a canned response in the "Switchover" folder.
    pub(crate) fn write_canned(
        &self,
        m: &Macro,
        existing: Option<String>,
    ) -> Result<String, AdapterError> {
        let kind = Kind::Macro;
        if let Some((field, reason)) = refusal(&Record::Macro(m.clone())) {
            return Err(invalid(kind, &m.id, field, reason));
        }
        let body = canned_body(m);
        let html = crate::read::SIGNATURE_MARKER.append(&body, &m.id);
        let mut request = json!({"title": m.title, "content_html": html});
        let answer = match existing {
            Some(id) => self.api.write_json(
                Request::put(format!("canned_responses/{id}")),
                &request,
                kind,
                &m.id,
            )?,
            None => {
                request["folder_id"] = json!(self.canned_folder()?);
                request["visibility"] = json!(0);
                self.api
                    .write_json(Request::post("canned_responses"), &request, kind, &m.id)?
            }
        };
        crate::read::num_id(&answer, "id").ok_or_else(|| {
            AdapterError::fatal(
                NAME,
                format!("writing macro '{}': no id in the answer", m.id),
            )
        })
    }

    /// The codes of the account's ticket sources (the choices of its source field).
    fn account_sources(&self) -> Result<Vec<u64>, AdapterError> {
        let fields = self.api.get("ticket_fields", &[])?;
        let mut out: Vec<u64> = fields
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["type"] == json!("default_source"))
            .flat_map(|f| {
                f["choices"]
                    .as_object()
                    .map(|c| c.values().filter_map(Value::as_u64).collect::<Vec<_>>())
                    .unwrap_or_default()
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Writes an SLA policy switched off, never as the default.
    pub(crate) fn write_sla(
        &self,
        s: &SlaPolicy,
        existing: Option<String>,
    ) -> Result<String, AdapterError> {
        let kind = Kind::SlaPolicy;
        let (mut applicable, _) = sla_filter_to(&s.filter);
        if s.filter.is_empty() {
            // For every ticket: every source the account has.
            applicable = json!({"sources": self.account_sources()?});
        }
        if let Some((field, reason)) = refusal(&Record::SlaPolicy(s.clone())) {
            return Err(invalid(kind, &s.id, field, reason));
        }
        let targets =
            sla_targets_to(s).map_err(|reason| invalid(kind, &s.id, "targets", reason))?;
        let mut body = json!({
            "name": s.title,
            "description": crate::read::DESC_MARKER.append_opt(s.description.as_deref(), &s.id),
            "sla_target": targets,
            "applicable_to": applicable,
        });
        let answer = match existing {
            Some(id) => self.api.write_json(
                Request::put(format!("sla_policies/{id}")),
                &body,
                kind,
                &s.id,
            )?,
            None => {
                body["active"] = json!(false);
                self.api
                    .write_json(Request::post("sla_policies"), &body, kind, &s.id)?
            }
        };
        crate::read::num_id(&answer, "id").ok_or_else(|| {
            AdapterError::fatal(
                NAME,
                format!("writing SLA policy '{}': no id in the answer", s.id),
            )
        })
    }

    /// Deletes a migrated rule, canned response or (nothing to delete) webhook.
    pub(crate) fn delete_rule_kind(&self, kind: Kind, id: &str) -> Result<(), AdapterError> {
        match kind {
            Kind::Rule => self.api.delete(&rule_path(id)?, kind, id),
            Kind::Macro => self.api.delete(&format!("canned_responses/{id}"), kind, id),
            Kind::Webhook => Ok(()),
            other => Err(AdapterError::unsupported(NAME, other, "delete")),
        }
    }
}
