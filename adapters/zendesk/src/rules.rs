//! Zendesk's rule vocabulary (triggers, automations, macros, views, SLA filters) to and
//! from the portable one in `switchover_model::rules`.
//!
//! Facts used, from Zendesk's conditions and actions references and recorded answers
//! (`../shared/vendor-apis.md` §1.6.10): conditions are `{field, operator, value}` in
//! `all`/`any`; `update_type` is `Create` or `Change`; time fields of automations are
//! `NEW`, `OPEN`, `PENDING`, `SOLVED`, `assigned_at`, `updated_at` with hours as text;
//! `current_tags` holds space-separated tags; custom fields are `custom_fields_<id>`;
//! the "changed to/from" operators are spelled `value` and `value_previous`; actions
//! `notification_user`, `notification_group` are `[recipient, subject, body]` and
//! `notification_webhook` is `[webhook id, body]`; a macro's `comment_mode_is_public`
//! `"false"` makes its `comment_value` a private note. The `via_id` channel numbers are
//! from the reference as recalled (0 web form, 4 email, 5 API, 29 chat, 33 phone).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchover_model::rules::{Direction, translate_placeholders};
use switchover_model::*;

use crate::convert::{priority_from, status_from, status_to, type_from};
use crate::{NAME, wire};

/// Zendesk's placeholders and their portable names.
pub(crate) const PLACEHOLDERS: &[(&str, &str)] = &[
    ("ticket.id", "ticket.id"),
    ("ticket.title", "ticket.subject"),
    ("ticket.description", "ticket.description"),
    ("ticket.status", "ticket.status"),
    ("ticket.priority", "ticket.priority"),
    ("ticket.ticket_type", "ticket.type"),
    ("ticket.tags", "ticket.tags"),
    ("ticket.link", "ticket.url"),
    ("ticket.url", "ticket.url"),
    ("ticket.latest_comment", "ticket.latest_comment"),
    (
        "ticket.latest_public_comment",
        "ticket.latest_public_comment",
    ),
    ("ticket.requester.name", "ticket.requester.name"),
    ("ticket.requester.first_name", "ticket.requester.first_name"),
    ("ticket.requester.email", "ticket.requester.email"),
    ("ticket.assignee.name", "ticket.assignee.name"),
    ("ticket.assignee.email", "ticket.assignee.email"),
    ("ticket.group.name", "ticket.group.name"),
    ("ticket.organization.name", "ticket.organization.name"),
    ("current_user.name", "current_user.name"),
    ("ticket.account", "helpdesk.name"),
];

/// Channels and Zendesk's `via_id` numbers.
const CHANNELS: &[(&str, &str)] = &[
    ("web", "0"),
    ("email", "4"),
    ("api", "5"),
    ("chat", "29"),
    ("phone", "33"),
];

/// Time-based condition fields of automations.
const HOURS: &[(ConditionField, &str)] = &[
    (ConditionField::HoursSinceCreated, "NEW"),
    (ConditionField::HoursSinceOpen, "OPEN"),
    (ConditionField::HoursSincePending, "PENDING"),
    (ConditionField::HoursSinceSolved, "SOLVED"),
    (ConditionField::HoursSinceAssigned, "assigned_at"),
    (ConditionField::HoursSinceUpdated, "updated_at"),
];

fn compact(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Translates the placeholders of a text read from Zendesk, naming unknown ones.
fn read_text(text: &str, untranslated: &mut Vec<Untranslated>) -> String {
    switchover_model::rules::read_placeholders(text, PLACEHOLDERS, NAME, untranslated)
}

fn write_text(text: &str) -> String {
    translate_placeholders(text, PLACEHOLDERS, Direction::FromPortable).text
}

fn operator_from(op: &str, text: bool) -> Option<Operator> {
    Some(match op {
        "is" => Operator::Is,
        "is_not" => Operator::IsNot,
        "less_than" => Operator::LessThan,
        "greater_than" => Operator::GreaterThan,
        "includes" if text => Operator::Contains,
        "not_includes" if text => Operator::NotContains,
        "includes" => Operator::Includes,
        "not_includes" => Operator::NotIncludes,
        "changed" => Operator::Changed,
        "value" => Operator::ChangedTo,
        "value_previous" => Operator::ChangedFrom,
        "present" => Operator::Present,
        "not_present" => Operator::NotPresent,
        _ => return None,
    })
}

fn operator_to(op: Operator) -> &'static str {
    match op {
        Operator::Is => "is",
        Operator::IsNot => "is_not",
        Operator::LessThan => "less_than",
        Operator::GreaterThan => "greater_than",
        Operator::Includes | Operator::Contains => "includes",
        Operator::NotIncludes | Operator::NotContains => "not_includes",
        Operator::Changed => "changed",
        Operator::ChangedTo => "value",
        Operator::ChangedFrom => "value_previous",
        Operator::Present => "present",
        Operator::NotPresent => "not_present",
    }
}

/// A Zendesk user-or-keyword value (`current_user`, empty for nobody, an id).
fn person_from(value: &Value) -> Option<RuleValue> {
    match text_of(value)?.as_str() {
        "" => Some(RuleValue::None),
        "current_user" => Some(RuleValue::CurrentUser),
        id if id.chars().all(|c| c.is_ascii_digit()) => Some(RuleValue::User(Ref::new(id))),
        _ => None,
    }
}

fn custom_field_id(field: &str) -> Option<&str> {
    field
        .strip_prefix("custom_fields_")
        .or_else(|| field.strip_prefix("ticket_fields_"))
        .filter(|id| !id.is_empty())
}

/// One Zendesk condition in portable form, or why it has none.
fn condition_from(c: &wire::RuleCondition) -> Result<Condition, String> {
    let unknown_value = || format!("value {} has no portable form", c.value);
    let text = matches!(
        c.field.as_str(),
        "subject_includes_word" | "comment_includes_word"
    );
    let operator = operator_from(&c.operator, text)
        .ok_or_else(|| format!("operator '{}' has no portable form", c.operator))?;
    let as_text = || text_of(&c.value).unwrap_or_default();
    let (field, value) = match c.field.as_str() {
        "status" => (
            ConditionField::Status,
            RuleValue::Status(known_status(&as_text()).ok_or_else(unknown_value)?),
        ),
        "priority" => (
            ConditionField::Priority,
            RuleValue::Priority(priority_from(&as_text()).ok_or_else(unknown_value)?),
        ),
        "type" => (
            ConditionField::TicketType,
            RuleValue::TicketType(type_from(&as_text()).ok_or_else(unknown_value)?),
        ),
        "group_id" => (
            ConditionField::Group,
            match as_text().as_str() {
                "" => RuleValue::None,
                id => RuleValue::Group(Ref::new(id)),
            },
        ),
        "assignee_id" => (
            ConditionField::Assignee,
            person_from(&c.value).ok_or_else(unknown_value)?,
        ),
        "requester_id" => (
            ConditionField::Requester,
            person_from(&c.value).ok_or_else(unknown_value)?,
        ),
        "organization_id" => (
            ConditionField::Organization,
            match as_text().as_str() {
                "" => RuleValue::None,
                id => RuleValue::Organization(Ref::new(id)),
            },
        ),
        "current_tags" => (
            ConditionField::Tags,
            RuleValue::Tags(as_text().split_whitespace().map(str::to_string).collect()),
        ),
        "via_id" => (
            ConditionField::Channel,
            RuleValue::Text(
                CHANNELS
                    .iter()
                    .find(|(_, n)| *n == as_text())
                    .map(|(name, _)| name.to_string())
                    .ok_or_else(unknown_value)?,
            ),
        ),
        "subject_includes_word" => (ConditionField::Subject, RuleValue::Text(as_text())),
        "comment_includes_word" => (ConditionField::CommentText, RuleValue::Text(as_text())),
        "comment_is_public" => (
            ConditionField::CommentIsPublic,
            match as_text().as_str() {
                "true" => RuleValue::Bool(true),
                "false" => RuleValue::Bool(false),
                _ => return Err(unknown_value()),
            },
        ),
        "role" => (
            ConditionField::UpdatedBy,
            match as_text().as_str() {
                "end_user" => RuleValue::Role(UpdaterRole::EndUser),
                "agent" => RuleValue::Role(UpdaterRole::Agent),
                _ => return Err(unknown_value()),
            },
        ),
        field => {
            if let Some((portable, _)) = HOURS.iter().find(|(_, z)| *z == field) {
                let hours = as_text()
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| unknown_value())?;
                (portable.clone(), RuleValue::Number(hours))
            } else if let Some(id) = custom_field_id(field) {
                (
                    ConditionField::CustomField(Ref::new(id)),
                    match text_of(&c.value) {
                        Some(v) if !v.is_empty() => RuleValue::Text(v),
                        _ => RuleValue::None,
                    },
                )
            } else {
                return Err(format!("no portable condition for Zendesk's '{field}'"));
            }
        }
    };
    Ok(Condition {
        field,
        operator,
        value,
    })
}

fn known_status(text: &str) -> Option<TicketStatus> {
    matches!(
        text,
        "new" | "open" | "pending" | "hold" | "solved" | "closed"
    )
    .then(|| status_from(text))
}

fn value_to(value: &RuleValue) -> Value {
    match value {
        RuleValue::None => Value::from(""),
        RuleValue::Text(t) => Value::from(t.clone()),
        RuleValue::Number(n) => Value::from(n.to_string()),
        RuleValue::Bool(b) => Value::from(b.to_string()),
        RuleValue::Status(s) => Value::from(status_to(*s)),
        RuleValue::Priority(p) => crate::convert::priority_to(Some(*p)),
        RuleValue::TicketType(t) => crate::convert::type_to(Some(*t)),
        RuleValue::Group(r) => Value::from(r.id()),
        RuleValue::User(r) => Value::from(r.id()),
        RuleValue::Organization(r) => Value::from(r.id()),
        RuleValue::CurrentUser => Value::from("current_user"),
        RuleValue::Tags(tags) => Value::from(tags.join(" ")),
        RuleValue::Role(UpdaterRole::Agent) => Value::from("agent"),
        RuleValue::Role(UpdaterRole::EndUser) => Value::from("end_user"),
    }
}

/// One portable condition in Zendesk's form, or why Zendesk cannot hold it.
pub(crate) fn condition_to(c: &Condition) -> Result<wire::RuleCondition, String> {
    let field = match &c.field {
        ConditionField::Status => "status".to_string(),
        ConditionField::Priority => "priority".to_string(),
        ConditionField::TicketType => "type".to_string(),
        ConditionField::Group => "group_id".to_string(),
        ConditionField::Assignee => "assignee_id".to_string(),
        ConditionField::Requester => "requester_id".to_string(),
        ConditionField::Organization => "organization_id".to_string(),
        ConditionField::Tags => "current_tags".to_string(),
        ConditionField::Subject => "subject_includes_word".to_string(),
        ConditionField::CommentText => "comment_includes_word".to_string(),
        ConditionField::CommentIsPublic => "comment_is_public".to_string(),
        ConditionField::UpdatedBy => "role".to_string(),
        ConditionField::CustomField(r) => format!("custom_fields_{}", r.id()),
        ConditionField::Channel => {
            let RuleValue::Text(channel) = &c.value else {
                return Err("a channel condition needs a channel name".into());
            };
            let number = CHANNELS
                .iter()
                .find(|(name, _)| name == channel)
                .map(|(_, n)| *n)
                .ok_or_else(|| format!("Zendesk has no channel '{channel}'"))?;
            return Ok(wire::RuleCondition {
                field: "via_id".into(),
                operator: operator_to(c.operator).into(),
                value: Value::from(number),
            });
        }
        ConditionField::Description => {
            return Err("Zendesk rules cannot test the description's text".into());
        }
        hours => HOURS
            .iter()
            .find(|(p, _)| p == hours)
            .map(|(_, z)| z.to_string())
            .ok_or_else(|| "no Zendesk condition for it".to_string())?,
    };
    Ok(wire::RuleCondition {
        field,
        operator: operator_to(c.operator).into(),
        value: value_to(&c.value),
    })
}

/// A rule's conditions and events read from Zendesk; `update_type` becomes the events.
pub(crate) fn conditions_from(
    c: &Option<wire::RuleConditions>,
    untranslated: &mut Vec<Untranslated>,
) -> (Conditions, BTreeSet<RuleEvent>) {
    let mut events = BTreeSet::new();
    let mut out = Conditions::default();
    let Some(c) = c else {
        return (out, events);
    };
    for (group, list, target) in [("all", &c.all, &mut out.all), ("any", &c.any, &mut out.any)] {
        for condition in list {
            if condition.field == "update_type" && condition.operator == "is" {
                match text_of(&condition.value).as_deref() {
                    Some("Create") => {
                        events.insert(RuleEvent::TicketCreated);
                        continue;
                    }
                    Some("Change") => {
                        events.insert(RuleEvent::TicketUpdated);
                        continue;
                    }
                    _ => {}
                }
            }
            match condition_from(condition) {
                Ok(portable) => target.push(portable),
                Err(reason) => untranslated.push(Untranslated::new(
                    NAME,
                    RulePart::Condition,
                    compact(&json!({ group: condition })),
                    reason,
                )),
            }
        }
    }
    (out, events)
}

/// Portable conditions in Zendesk's form; what Zendesk cannot hold is left out (the
/// target's [`fit_rule`] names it). Conditions a Zendesk source could not translate go
/// back verbatim, so Zendesk to Zendesk keeps them.
pub(crate) fn conditions_to(
    c: &Conditions,
    events: &BTreeSet<RuleEvent>,
    untranslated: &[Untranslated],
) -> wire::RuleConditions {
    let mut all: Vec<wire::RuleCondition> =
        c.all.iter().filter_map(|c| condition_to(c).ok()).collect();
    let mut any: Vec<wire::RuleCondition> =
        c.any.iter().filter_map(|c| condition_to(c).ok()).collect();
    let created = events.contains(&RuleEvent::TicketCreated);
    let updated = events.contains(&RuleEvent::TicketUpdated);
    if created != updated {
        all.insert(
            0,
            wire::RuleCondition {
                field: "update_type".into(),
                operator: "is".into(),
                value: Value::from(if created { "Create" } else { "Change" }),
            },
        );
    }
    for u in verbatim(untranslated, RulePart::Condition) {
        let parsed: Option<(String, wire::RuleCondition)> = serde_json::from_str::<
            std::collections::BTreeMap<String, wire::RuleCondition>,
        >(&u.vendor_form)
        .ok()
        .and_then(|m| m.into_iter().next());
        match parsed {
            Some((group, condition)) if group == "any" => any.push(condition),
            Some((_, condition)) => all.push(condition),
            None => {}
        }
    }
    wire::RuleConditions { all, any }
}

/// The untranslated parts of `part` read from Zendesk, which Zendesk can take back.
fn verbatim(untranslated: &[Untranslated], part: RulePart) -> impl Iterator<Item = &Untranslated> {
    untranslated
        .iter()
        .filter(move |u| u.vendor == NAME && u.part == part)
}

/// `[recipient, subject, body]` of a notification action.
fn notification_parts(value: &Value) -> Option<(String, String, String)> {
    let items = value.as_array()?;
    let part = |i: usize| items.get(i).and_then(text_of).unwrap_or_default();
    (items.len() >= 3).then(|| (part(0), part(1), part(2)))
}

fn tags_of(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(text_of).collect(),
        other => text_of(other)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    }
}

/// A macro's or rule's actions read from Zendesk.
pub(crate) fn actions_from(
    actions: &[wire::RuleAction],
    untranslated: &mut Vec<Untranslated>,
) -> Vec<Action> {
    let private = actions.iter().any(|a| {
        a.field == "comment_mode_is_public" && text_of(&a.value).as_deref() == Some("false")
    });
    let mut out = Vec::new();
    for a in actions {
        let mut refuse = |reason: String| {
            untranslated.push(Untranslated::new(
                NAME,
                RulePart::Action,
                compact(a),
                reason,
            ));
        };
        let value_text = text_of(&a.value).unwrap_or_default();
        let portable = match a.field.as_str() {
            "comment_mode_is_public" => continue,
            "status" => match known_status(&value_text) {
                Some(status) => Action::SetStatus { status },
                None => {
                    refuse(format!("status '{value_text}' has no portable form"));
                    continue;
                }
            },
            "priority" => match priority_from(&value_text) {
                Some(priority) => Action::SetPriority { priority },
                None => {
                    refuse(format!("priority '{value_text}' has no portable form"));
                    continue;
                }
            },
            "type" => Action::SetType {
                ticket_type: type_from(&value_text),
            },
            "group_id" => Action::SetGroup {
                group: Some(value_text.clone())
                    .filter(|g| !g.is_empty())
                    .map(Ref::new),
            },
            "assignee_id" => Action::SetAssignee {
                assignee: match person_from(&a.value) {
                    Some(RuleValue::CurrentUser) => Assignee::CurrentUser,
                    Some(RuleValue::User(r)) => Assignee::User(r),
                    Some(_) => Assignee::Nobody,
                    None => {
                        refuse(format!("assignee '{value_text}' has no portable form"));
                        continue;
                    }
                },
            },
            "current_tags" => Action::AddTags {
                tags: tags_of(&a.value),
            },
            "remove_tags" => Action::RemoveTags {
                tags: tags_of(&a.value),
            },
            "set_tags" => Action::SetTags {
                tags: tags_of(&a.value),
            },
            "comment_value" | "comment_value_html" => {
                // A string, or `[channel, text]`.
                let text = match &a.value {
                    Value::Array(items) => items.last().and_then(text_of).unwrap_or_default(),
                    other => text_of(other).unwrap_or_default(),
                };
                let body = read_text(&text, untranslated);
                if private {
                    Action::PrivateNote { body }
                } else {
                    Action::PublicReply { body }
                }
            }
            "notification_user" | "notification_group" => {
                let Some((who, subject, body)) = notification_parts(&a.value) else {
                    refuse("a notification needs a recipient, a subject and a body".into());
                    continue;
                };
                let recipient = match (a.field.as_str(), who.as_str()) {
                    ("notification_user", "requester_id") => Recipient::Requester,
                    ("notification_user", "requester_and_ccs") => Recipient::RequesterAndCcs,
                    ("notification_user", "assignee_id") => Recipient::Assignee,
                    ("notification_user", "all_agents") => Recipient::AllAgents,
                    ("notification_group", "group_id") => Recipient::AssignedGroup,
                    ("notification_user", id) if id.chars().all(|c| c.is_ascii_digit()) => {
                        Recipient::User(Ref::new(id))
                    }
                    ("notification_group", id) if id.chars().all(|c| c.is_ascii_digit()) => {
                        Recipient::Group(Ref::new(id))
                    }
                    _ => {
                        refuse(format!("recipient '{who}' has no portable form"));
                        continue;
                    }
                };
                Action::Notify {
                    recipient,
                    subject: read_text(&subject, untranslated),
                    body: read_text(&body, untranslated),
                }
            }
            "notification_webhook" => {
                let items = a.value.as_array().cloned().unwrap_or_default();
                let Some(webhook) = items.first().and_then(text_of) else {
                    refuse("a webhook call needs the webhook's id".into());
                    continue;
                };
                let body = items
                    .get(1)
                    .map(|b| text_of(b).unwrap_or_else(|| b.to_string()))
                    .unwrap_or_default();
                Action::CallWebhook {
                    webhook: Ref::new(webhook),
                    body: read_text(&body, untranslated),
                }
            }
            field => match custom_field_id(field) {
                Some(id) => Action::SetCustomField {
                    field: Ref::new(id),
                    value: match &a.value {
                        Value::Array(items) => items
                            .iter()
                            .filter_map(text_of)
                            .collect::<Vec<_>>()
                            .join(" "),
                        other => text_of(other).unwrap_or_default(),
                    },
                },
                None => {
                    refuse(format!("no portable action for Zendesk's '{field}'"));
                    continue;
                }
            },
        };
        out.push(portable);
    }
    out
}

/// One portable action in Zendesk's form (a private note is two actions), or why
/// Zendesk cannot hold it.
pub(crate) fn action_to(action: &Action) -> Result<Vec<wire::RuleAction>, String> {
    let one = |field: &str, value: Value| {
        Ok(vec![wire::RuleAction {
            field: field.into(),
            value,
        }])
    };
    match action {
        Action::SetStatus { status } => one("status", Value::from(status_to(*status))),
        Action::SetPriority { priority } => {
            one("priority", crate::convert::priority_to(Some(*priority)))
        }
        Action::SetType { ticket_type } => one(
            "type",
            match ticket_type {
                Some(t) => crate::convert::type_to(Some(*t)),
                None => Value::from(""),
            },
        ),
        Action::SetGroup { group } => one(
            "group_id",
            Value::from(group.as_ref().map(|g| g.id()).unwrap_or_default()),
        ),
        Action::SetAssignee { assignee } => one(
            "assignee_id",
            Value::from(match assignee {
                Assignee::Nobody => "",
                Assignee::CurrentUser => "current_user",
                Assignee::User(r) => r.id(),
            }),
        ),
        Action::SetCustomField { field, value } => one(
            &format!("custom_fields_{}", field.id()),
            Value::from(value.clone()),
        ),
        Action::AddTags { tags } => one("current_tags", Value::from(tags.join(" "))),
        Action::RemoveTags { tags } => one("remove_tags", Value::from(tags.join(" "))),
        Action::SetTags { tags } => one("set_tags", Value::from(tags.join(" "))),
        Action::PublicReply { body } => one("comment_value_html", Value::from(write_text(body))),
        Action::PrivateNote { body } => Ok(vec![
            wire::RuleAction {
                field: "comment_mode_is_public".into(),
                value: Value::from("false"),
            },
            wire::RuleAction {
                field: "comment_value_html".into(),
                value: Value::from(write_text(body)),
            },
        ]),
        Action::Notify {
            recipient,
            subject,
            body,
        } => {
            let (field, who) = match recipient {
                Recipient::Requester => ("notification_user", "requester_id".to_string()),
                Recipient::RequesterAndCcs => {
                    ("notification_user", "requester_and_ccs".to_string())
                }
                Recipient::Assignee => ("notification_user", "assignee_id".to_string()),
                Recipient::AllAgents => ("notification_user", "all_agents".to_string()),
                Recipient::AssignedGroup => ("notification_group", "group_id".to_string()),
                Recipient::Group(r) => ("notification_group", r.id().to_string()),
                Recipient::User(r) => ("notification_user", r.id().to_string()),
            };
            one(field, json!([who, write_text(subject), write_text(body)]))
        }
        Action::CallWebhook { webhook, body } => one(
            "notification_webhook",
            json!([webhook.id(), write_text(body)]),
        ),
        Action::EmailAddress { address, .. } => Err(format!(
            "Zendesk rules cannot e-mail an outside address ({address}) without a legacy target"
        )),
    }
}

/// Portable actions in Zendesk's form; what Zendesk cannot hold is left out (the
/// target's [`fit_rule`] names it). Actions a Zendesk source could not translate go back
/// verbatim.
pub(crate) fn actions_to(
    actions: &[Action],
    untranslated: &[Untranslated],
) -> Vec<wire::RuleAction> {
    let mut out: Vec<wire::RuleAction> = actions
        .iter()
        .filter_map(|a| action_to(a).ok())
        .flatten()
        .collect();
    out.extend(
        verbatim(untranslated, RulePart::Action)
            .filter_map(|u| serde_json::from_str::<wire::RuleAction>(&u.vendor_form).ok()),
    );
    out
}

/// The events a Zendesk rule of `kind` has: automations run hourly; a trigger runs on
/// creation, on updates, or (no `update_type` condition, or neither event) on both.
pub(crate) fn zendesk_events(kind: RuleKind, events: &BTreeSet<RuleEvent>) -> BTreeSet<RuleEvent> {
    if kind == RuleKind::Automation {
        return BTreeSet::from([RuleEvent::Hourly]);
    }
    let mut out: BTreeSet<RuleEvent> = events
        .iter()
        .copied()
        .filter(|e| *e != RuleEvent::Hourly)
        .collect();
    if out.is_empty() {
        out = BTreeSet::from([RuleEvent::TicketCreated, RuleEvent::TicketUpdated]);
    }
    out
}

/// Moves what Zendesk cannot hold out of a record's conditions and actions into its
/// untranslated parts: what the write leaves out, so verify compares what Zendesk keeps.
pub(crate) fn fit_rule(record: &mut Record) {
    fn fit_conditions(c: &mut Conditions, untranslated: &mut Vec<Untranslated>) {
        for list in [&mut c.all, &mut c.any] {
            list.retain(|condition| match condition_to(condition) {
                Ok(_) => true,
                Err(reason) => {
                    untranslated.push(Untranslated::new(
                        "portable",
                        RulePart::Condition,
                        compact(condition),
                        format!("not written: {reason}"),
                    ));
                    false
                }
            });
        }
    }
    fn fit_actions(actions: &mut Vec<Action>, untranslated: &mut Vec<Untranslated>) {
        actions.retain(|action| match action_to(action) {
            Ok(_) => true,
            Err(reason) => {
                untranslated.push(Untranslated::new(
                    "portable",
                    RulePart::Action,
                    compact(action),
                    format!("not written: {reason}"),
                ));
                false
            }
        });
    }
    match record {
        Record::Rule(r) => {
            fit_conditions(&mut r.conditions, &mut r.untranslated);
            fit_actions(&mut r.actions, &mut r.untranslated);
            r.events = zendesk_events(r.rule_kind, &r.events);
        }
        Record::Macro(m) => fit_actions(&mut m.actions, &mut m.untranslated),
        Record::View(v) => fit_conditions(&mut v.conditions, &mut v.untranslated),
        Record::SlaPolicy(s) => fit_conditions(&mut s.filter, &mut s.untranslated),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(field: &str, operator: &str, value: Value) -> wire::RuleCondition {
        wire::RuleCondition {
            field: field.into(),
            operator: operator.into(),
            value,
        }
    }

    #[test]
    fn a_default_trigger_reads_into_portable_events_conditions_and_placeholders() {
        let mut untranslated = Vec::new();
        let (conditions, events) = conditions_from(
            &Some(wire::RuleConditions {
                all: vec![
                    cond("update_type", "is", json!("Create")),
                    cond("status", "is_not", json!("solved")),
                    cond("ticket_is_public", "is", json!("public")),
                ],
                any: vec![],
            }),
            &mut untranslated,
        );
        assert_eq!(events, BTreeSet::from([RuleEvent::TicketCreated]));
        assert_eq!(
            conditions.all,
            vec![Condition {
                field: ConditionField::Status,
                operator: Operator::IsNot,
                value: RuleValue::Status(TicketStatus::Solved),
            }]
        );
        assert_eq!(untranslated.len(), 1, "{untranslated:?}");
        assert_eq!(untranslated[0].part, RulePart::Condition);
        let actions = actions_from(
            &[wire::RuleAction {
                field: "notification_user".into(),
                value: json!([
                    "requester_and_ccs",
                    "[{{ticket.account}}] Re: {{ticket.title}}",
                    "{{ticket.comments_formatted}}"
                ]),
            }],
            &mut untranslated,
        );
        assert_eq!(
            actions,
            vec![Action::Notify {
                recipient: Recipient::RequesterAndCcs,
                subject: "[{{helpdesk.name}}] Re: {{ticket.subject}}".into(),
                body: "{{ticket.comments_formatted}}".into(),
            }]
        );
        assert_eq!(untranslated.len(), 2);
        assert_eq!(untranslated[1].part, RulePart::Placeholder);
        // And back: the event is the update_type condition again.
        let back = conditions_to(&conditions, &events, &untranslated);
        assert_eq!(back.all[0].field, "update_type");
        assert_eq!(back.all[1].value, json!("solved"));
        assert_eq!(
            back.all[2].field, "ticket_is_public",
            "an untranslated Zendesk condition goes back to Zendesk verbatim"
        );
        let written = actions_to(&actions, &untranslated);
        assert_eq!(
            written[0].value,
            json!([
                "requester_and_ccs",
                "[{{ticket.account}}] Re: {{ticket.title}}",
                "{{ticket.comments_formatted}}"
            ])
        );
    }

    #[test]
    fn a_macro_with_a_private_comment_is_a_private_note() {
        let mut untranslated = Vec::new();
        let actions = actions_from(
            &[
                wire::RuleAction {
                    field: "comment_mode_is_public".into(),
                    value: json!("false"),
                },
                wire::RuleAction {
                    field: "comment_value".into(),
                    value: json!(["channel:all", "Escalated by {{current_user.name}}"]),
                },
                wire::RuleAction {
                    field: "custom_fields_360".into(),
                    value: json!("billing"),
                },
            ],
            &mut untranslated,
        );
        assert!(untranslated.is_empty(), "{untranslated:?}");
        assert_eq!(
            actions,
            vec![
                Action::PrivateNote {
                    body: "Escalated by {{current_user.name}}".into()
                },
                Action::SetCustomField {
                    field: Ref::new("360"),
                    value: "billing".into()
                },
            ]
        );
    }

    #[test]
    fn what_zendesk_cannot_hold_is_named_when_fitted() {
        let mut record = Rule {
            actions: vec![Action::EmailAddress {
                address: "ops@example.com".into(),
                subject: "s".into(),
                body: "b".into(),
            }],
            conditions: Conditions {
                all: vec![Condition {
                    field: ConditionField::Description,
                    operator: Operator::Contains,
                    value: RuleValue::Text("refund".into()),
                }],
                any: vec![],
            },
            ..Default::default()
        }
        .into_record();
        fit_rule(&mut record);
        let Record::Rule(r) = record else {
            unreachable!("a rule stays a rule")
        };
        assert!(r.actions.is_empty() && r.conditions.is_empty());
        assert_eq!(r.untranslated.len(), 2);
        assert!(
            r.untranslated
                .iter()
                .all(|u| u.reason.starts_with("not written"))
        );
    }
}
