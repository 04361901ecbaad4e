//! Conversions between Zendesk's wire form and the canonical model, and the source
//! markers of kinds without an `external_id`.

use serde_json::{Value, json};
use switchover_adapter::marker::SuffixMarker;
use switchover_model::*;

use crate::wire;

/// The marker suffix of kinds without an `external_id`: `Title [switchover:<source id>]`.
pub(crate) const MARKER: SuffixMarker = SuffixMarker::new("[switchover:", " ");

/// The tag that marks a user deleted in the source (Zendesk cannot import a deleted user).
pub(crate) const DELETED_TAG: &str = "switchover_deleted";

pub(crate) fn ts(text: &Option<String>) -> Option<Timestamp> {
    text.as_deref().and_then(|t| t.parse().ok())
}

pub(crate) fn id_of(id: &Option<wire::Id>) -> String {
    id.as_ref().map(|i| i.0.clone()).unwrap_or_default()
}

pub(crate) fn opt_ref<T: Entity>(id: &Option<wire::Id>) -> Option<Ref<T>> {
    id.as_ref()
        .filter(|i| !i.0.is_empty())
        .map(|i| Ref::new(i.0.clone()))
}

/// A reference as a Zendesk numeric id (or null).
pub(crate) fn ref_json<T: Entity>(r: &Option<Ref<T>>) -> Value {
    match r.as_ref().map(Ref::id).filter(|id| !id.is_empty()) {
        None => Value::Null,
        Some(id) => id
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(id)),
    }
}

pub(crate) fn status_from(text: &str) -> TicketStatus {
    match text {
        "open" => TicketStatus::Open,
        "pending" => TicketStatus::Pending,
        "hold" => TicketStatus::OnHold,
        "solved" => TicketStatus::Solved,
        "closed" => TicketStatus::Closed,
        _ => TicketStatus::New,
    }
}

pub(crate) fn status_to(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending => "pending",
        TicketStatus::OnHold => "hold",
        TicketStatus::Solved => "solved",
        TicketStatus::Closed => "closed",
    }
}

pub(crate) fn priority_from(text: &str) -> Option<Priority> {
    match text {
        "low" => Some(Priority::Low),
        "normal" => Some(Priority::Normal),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
}

pub(crate) fn priority_to(p: Option<Priority>) -> Value {
    match p {
        None => Value::Null,
        Some(Priority::Low) => "low".into(),
        Some(Priority::Normal) => "normal".into(),
        Some(Priority::High) => "high".into(),
        Some(Priority::Urgent) => "urgent".into(),
    }
}

pub(crate) fn type_from(text: &str) -> Option<TicketType> {
    match text {
        "question" => Some(TicketType::Question),
        "incident" => Some(TicketType::Incident),
        "problem" => Some(TicketType::Problem),
        "task" => Some(TicketType::Task),
        _ => None,
    }
}

pub(crate) fn type_to(t: Option<TicketType>) -> Value {
    match t {
        None => Value::Null,
        Some(TicketType::Question) => "question".into(),
        Some(TicketType::Incident) => "incident".into(),
        Some(TicketType::Problem) => "problem".into(),
        Some(TicketType::Task) => "task".into(),
    }
}

pub(crate) fn role_from(text: &str) -> UserRole {
    match text {
        "admin" => UserRole::Admin,
        "agent" => UserRole::Agent,
        _ => UserRole::EndUser,
    }
}

pub(crate) fn role_to(role: UserRole) -> &'static str {
    match role {
        UserRole::Admin => "admin",
        UserRole::Agent => "agent",
        UserRole::EndUser => "end-user",
    }
}

/// Zendesk field type -> canonical; `None` for system ticket fields.
pub(crate) fn field_type_from(text: &str) -> Option<FieldType> {
    Some(match text {
        "text" => FieldType::Text,
        "textarea" => FieldType::Textarea,
        "integer" | "decimal" => FieldType::Number,
        "date" => FieldType::Date,
        "checkbox" => FieldType::Checkbox,
        "tagger" | "dropdown" => FieldType::Dropdown,
        "multiselect" => FieldType::MultiSelect,
        "regexp" => FieldType::Regex,
        _ => return None,
    })
}

pub(crate) fn field_type_to(t: FieldType, object: FieldObject) -> &'static str {
    match t {
        FieldType::Text => "text",
        FieldType::Textarea => "textarea",
        FieldType::Number => "decimal",
        FieldType::Date => "date",
        FieldType::Checkbox => "checkbox",
        FieldType::Dropdown if object == FieldObject::Ticket => "tagger",
        FieldType::Dropdown => "dropdown",
        FieldType::MultiSelect => "multiselect",
        FieldType::Regex => "regexp",
    }
}

/// A Zendesk custom field value as the canonical typed value.
pub(crate) fn value_from(field_type: FieldType, value: &Value) -> Option<FieldValue> {
    let text = || match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Some(match field_type {
        FieldType::Text | FieldType::Textarea | FieldType::Regex => FieldValue::Text(text()?),
        FieldType::Number => FieldValue::Number(match value {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        }),
        FieldType::Date => FieldValue::Date(text()?),
        FieldType::Checkbox => FieldValue::Checkbox(match value {
            Value::Bool(b) => *b,
            Value::String(s) => s == "true" || s == "1",
            _ => return None,
        }),
        FieldType::Dropdown => FieldValue::Dropdown(text()?),
        FieldType::MultiSelect => FieldValue::MultiSelect(match value {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            _ => return None,
        }),
    })
}

/// A canonical value as Zendesk expects it.
pub(crate) fn value_to(value: &FieldValue) -> Value {
    match value {
        FieldValue::Text(s) | FieldValue::Date(s) | FieldValue::Dropdown(s) => s.clone().into(),
        FieldValue::Number(n) => json!(n),
        FieldValue::Checkbox(b) => (*b).into(),
        FieldValue::MultiSelect(items) => items.iter().cloned().collect::<Vec<_>>().into(),
    }
}

/// Unwraps the `<div class="zd-comment" dir="auto">…</div>` Zendesk puts around
/// rendered comment HTML.
pub(crate) fn unwrap_comment_html(html: &str) -> String {
    let trimmed = html.trim();
    if let Some(rest) = trimmed.strip_prefix("<div class=\"zd-comment\"")
        && let Some(start) = rest.find('>')
        && let Some(inner) = rest[start + 1..].strip_suffix("</div>")
    {
        return inner.to_string();
    }
    html.to_string()
}
