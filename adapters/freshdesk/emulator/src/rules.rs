//! Automation rules (`/api/v2/automations/{type}/rules`): the vocabulary, the validation
//! Freshdesk applies to writes, and a small evaluation that counts rule executions and the
//! e-mails their actions send.
//!
//! Where the facts come from:
//! - **[fd-src]** Freshdesk's own Rails sources as published in the public code index
//!   (`Admin::AutomationConstants`, `Admin::ConditionConstants`,
//!   `Admin::Automation::Action::TicketFieldConstants`,
//!   `Admin::Automation::Event::TicketFieldConstants`, `Admin::ConditionValidationHelper`,
//!   the API test helper `AutomationTestHelper`): the condition-set names `condition_set_1`
//!   and `condition_set_2`; at most two sets, **one** in time triggers
//!   (`MAXIMUM_SUPERVISOR_CONDITION_SET_COUNT = 1`); the joining `operator` spelled
//!   `"condition_set_1 and condition_set_2"` / `"condition_set_1 or condition_set_2"`,
//!   required with two sets and refused with fewer; `match_type` `all`/`any`; properties
//!   `resource_type` (`ticket`, `contact`, `company`; only `ticket` in time triggers),
//!   `field_name`, `operator`, `value`; the condition fields per rule type and their
//!   operator families (`in`/`not_in` for choice fields, `is`, `is_not`, `contains`,
//!   `does_not_contain`, `starts_with`, `ends_with`, `is_any_of`, `is_none_of` for text,
//!   `is`/`greater_than`/`less_than` for the hours fields of time triggers, `in`/`not_in`/`and`
//!   for tags, `selected`/`not_selected` for checkboxes); operators that take a list; custom
//!   text fields refused in time triggers; the action field names and the rule types that
//!   refuse them (`trigger_webhook`, `add_note`, `forward_ticket` not in type 3; `add_a_cc`
//!   and `skip_notification` not in 3 and 4); the webhook keys (`request_type` GET POST PUT
//!   PATCH DELETE, `url`, `content_type` JSON XML X-FORM-URLENCODED, `content_layout`,
//!   `content`, `auth_header` with `username`/`password`/`api_key`, `custom_headers`) and the
//!   masked `password`; the e-mail action keys (`email_to`, `email_subject`, `email_body`);
//!   the note keys (`note_body`, `notify_agents`); the event fields and which expect
//!   `from`/`to`; performer types 1 agent, 2 requester, 3 agent or requester, 4 system with
//!   `members`; `meta` {`total_active_count`, `total_count`} on a single rule; the default
//!   rules (see `tests/golden/automations.json` of the adapter).
//! - **[3p]** withone.ai transcriptions of the developer docs (#automations): the routes,
//!   `name`, `conditions` and `actions` required on create, `performer` and `events` only in
//!   type 4. Freshdesk help articles (support.freshdesk.com 207276, natero.com copy): ticket
//!   creation rules run once per ticket and, by default, only the first matching rule runs;
//!   ticket update rules all run; time triggers run hourly.
//! - **Assumptions** (no source found): `events` and `performer` are *required* in type 4;
//!   `active` defaults to true; `email_subject` and `email_body` are required on e-mail
//!   actions; a webhook `url` must be http(s) and `content_type` is required for POST, PUT
//!   and PATCH; `content_layout` is `"1"`/`"simple"` or `"2"`/`"advanced"`; the error `field`
//!   paths (`conditions[:condition_set_1][:status]`, `actions[:trigger_webhook]`, …) and
//!   codes; the shape of `summary` (readable strings); `-1` as "the assigned agent" in
//!   `send_email_to_agent`; one e-mail counted per e-mail action, forward and notifying note.
//!
//! The evaluation is deliberately small: ticket status, priority, source, group, agent,
//! type, tags, subject/description and ticket custom fields are evaluated; any other
//! condition (contact, company, dates, counts) and any event the emulator cannot observe
//! count as met, so an active rule is rather counted once too often than missed. Actions
//! are counted, not applied.

use serde_json::{Map, Value, json};

use crate::store::Account;

/// Automation type 1: rules that run on ticket creation (Dispatch'r).
pub(crate) const TICKET_CREATION: u64 = 1;
/// Automation type 3: time triggers, run hourly (Supervisor).
pub(crate) const TIME_TRIGGERS: u64 = 3;
/// Automation type 4: rules that run on ticket updates (Observer).
pub(crate) const TICKET_UPDATES: u64 = 4;

/// One validation error: field, message, code.
pub(crate) type Problem = (String, String, String);

const MANDATORY: &str = "It should not be blank as this is a mandatory field";
const UNEXPECTED: &str = "Unexpected/invalid field in request";

/// The two accepted spellings of the operator joining two condition sets.
pub(crate) const SET_OPERATORS: [&str; 2] = [
    "condition_set_1 and condition_set_2",
    "condition_set_1 or condition_set_2",
];

fn one_of(values: &[&str]) -> String {
    format!("It should be one of these values: '{}'", values.join(","))
}

fn problem(field: impl Into<String>, message: impl Into<String>, code: &str) -> Problem {
    (field.into(), message.into(), code.into())
}

/// The operator family of a condition field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldKind {
    Text,
    Email,
    Choice,
    Number,
    Decimal,
    Hours,
    DateTime,
    Date,
    Tags,
    Checkbox,
}

fn operators(kind: FieldKind, rule_type: u64) -> &'static [&'static str] {
    let hourly = rule_type == TIME_TRIGGERS;
    match kind {
        FieldKind::Text if hourly => &[
            "is",
            "is_not",
            "contains",
            "does_not_contain",
            "starts_with",
            "ends_with",
        ],
        FieldKind::Text => &[
            "is",
            "is_not",
            "contains",
            "does_not_contain",
            "starts_with",
            "ends_with",
            "is_any_of",
            "is_none_of",
        ],
        FieldKind::Email if hourly => &["is", "is_not", "contains", "does_not_contain"],
        FieldKind::Email => &[
            "is",
            "is_not",
            "contains",
            "does_not_contain",
            "is_any_of",
            "is_none_of",
        ],
        FieldKind::Choice => &["in", "not_in"],
        FieldKind::Number if hourly => &["is", "is_not", "greater_than", "less_than"],
        FieldKind::Number => &[
            "is",
            "is_not",
            "greater_than",
            "less_than",
            "is_any_of",
            "is_none_of",
        ],
        FieldKind::Decimal => &["is", "is_not", "greater_than", "less_than"],
        FieldKind::Hours => &["is", "greater_than", "less_than"],
        FieldKind::DateTime => &["during", "greater_than", "less_than"],
        FieldKind::Date => &["is", "is_not", "greater_than", "less_than"],
        FieldKind::Tags => &["in", "not_in", "and"],
        FieldKind::Checkbox => &["selected", "not_selected"],
    }
}

/// Which values a field takes.
#[derive(Clone, Debug)]
enum Values {
    Status,
    Priority,
    Source,
    Group,
    Agent,
    TicketType,
    Choices(Vec<String>),
    Any,
}

/// The time-based fields of time triggers, in hours.
const HOURS_FIELDS: &[&str] = &[
    "hours_since_created",
    "pending_since",
    "resolved_at",
    "closed_at",
    "opened_at",
    "first_assigned_at",
    "assigned_at",
    "requester_responded_at",
    "agent_responded_at",
    "frDueBy",
    "due_by",
];

/// A default ticket condition field: kind, values, the rule types that accept it.
fn ticket_condition(name: &str) -> Option<(FieldKind, Values, &'static [u64])> {
    const ALL: &[u64] = &[1, 3, 4];
    const NOT_HOURLY: &[u64] = &[1, 4];
    Some(match name {
        "from_email" => (FieldKind::Email, Values::Any, NOT_HOURLY),
        "to_email" => (FieldKind::Email, Values::Any, ALL),
        "ticket_cc" => (FieldKind::Email, Values::Any, &[1]),
        "subject" | "description" | "subject_or_description" => {
            (FieldKind::Text, Values::Any, NOT_HOURLY)
        }
        "last_interaction" => (FieldKind::Text, Values::Any, &[4]),
        "status" => (FieldKind::Choice, Values::Status, ALL),
        "priority" => (FieldKind::Choice, Values::Priority, ALL),
        "source" => (FieldKind::Choice, Values::Source, ALL),
        "ticket_type" => (FieldKind::Choice, Values::TicketType, ALL),
        "group_id" => (FieldKind::Choice, Values::Group, ALL),
        "responder_id" => (FieldKind::Choice, Values::Agent, ALL),
        "product_id" => (FieldKind::Choice, Values::Any, ALL),
        "internal_group_id" => (FieldKind::Choice, Values::Group, NOT_HOURLY),
        "internal_agent_id" => (FieldKind::Choice, Values::Agent, NOT_HOURLY),
        "tag_names" => (FieldKind::Tags, Values::Any, NOT_HOURLY),
        "created_at" => (FieldKind::DateTime, Values::Any, &[1]),
        "updated_at" => (FieldKind::DateTime, Values::Any, &[4]),
        "inbound_count" | "outbound_count" => (FieldKind::Number, Values::Any, &[3, 4]),
        "contact_name" | "company_name" => (FieldKind::Text, Values::Any, &[3]),
        _ if HOURS_FIELDS.contains(&name) => (FieldKind::Hours, Values::Any, &[3]),
        _ => return None,
    })
}

fn contact_condition(name: &str) -> Option<(FieldKind, Values)> {
    Some(match name {
        "email" => (FieldKind::Email, Values::Any),
        "name" | "job_title" => (FieldKind::Text, Values::Any),
        "time_zone" | "language" | "segments" => (FieldKind::Choice, Values::Any),
        _ => return None,
    })
}

fn company_condition(name: &str) -> Option<(FieldKind, Values)> {
    Some(match name {
        "name" | "domains" => (FieldKind::Text, Values::Any),
        "segments" | "health_score" | "account_tier" | "industry" => {
            (FieldKind::Choice, Values::Any)
        }
        "renewal_date" => (FieldKind::Date, Values::Any),
        _ => return None,
    })
}

/// The condition kind of a custom field definition's `type`.
fn custom_kind(field: &Value) -> (FieldKind, Values) {
    let choices = || {
        Values::Choices(
            field["choices"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .or_else(|| v["value"].as_str().map(str::to_string))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    match field["type"].as_str().unwrap_or("") {
        "custom_checkbox" => (FieldKind::Checkbox, Values::Any),
        "custom_number" => (FieldKind::Number, Values::Any),
        "custom_decimal" => (FieldKind::Decimal, Values::Any),
        "custom_date" => (FieldKind::Date, Values::Any),
        "custom_dropdown" | "custom_multi_select_dropdown" | "nested_field" => {
            (FieldKind::Choice, choices())
        }
        _ => (FieldKind::Text, Values::Any),
    }
}

/// The custom field definition `name` (with or without `cf_`) of `object`.
fn custom_field<'a>(account: &'a Account, object: &str, name: &str) -> Option<&'a Value> {
    let fields = match object {
        "contact" => &account.contact_fields,
        "company" => &account.company_fields,
        _ => &account.ticket_fields,
    };
    let prefixed = format!("cf_{name}");
    fields.values().find(|f| {
        f["default"] != json!(true)
            && (f["name"].as_str() == Some(name) || f["name"].as_str() == Some(&prefixed))
    })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Validation of one rule body against one account.
struct Check<'a> {
    account: &'a Account,
    rule_type: u64,
    problems: Vec<Problem>,
}

impl Check<'_> {
    /// The objects of a list that must be a non-empty array of key/value pairs; what is
    /// not is refused under `field`, Freshdesk's way.
    fn objects<'v>(&mut self, field: &str, value: &'v Value) -> Vec<&'v Map<String, Value>> {
        let Some(list) = value.as_array().filter(|l| !l.is_empty()) else {
            self.push(
                field,
                "It should be a/an non-empty Array",
                "datatype_mismatch",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in list {
            match item.as_object() {
                Some(object) => out.push(object),
                None => self.push(
                    field,
                    "It should be a/an key/value pair",
                    "datatype_mismatch",
                ),
            }
        }
        out
    }

    fn push(&mut self, field: impl Into<String>, message: impl Into<String>, code: &str) {
        self.problems.push(problem(field, message, code));
    }

    fn statuses(&self) -> Vec<String> {
        self.account
            .ticket_fields
            .values()
            .find(|f| f["type"] == json!("default_status"))
            .and_then(|f| f["choices"].as_object())
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_else(|| ["2", "3", "4", "5"].map(String::from).to_vec())
    }

    fn sources(&self) -> Vec<String> {
        self.account
            .ticket_fields
            .values()
            .find(|f| f["type"] == json!("default_source"))
            .and_then(|f| f["choices"].as_object())
            .map(|c| c.values().map(text_of).collect())
            .unwrap_or_default()
    }

    fn ticket_types(&self) -> Vec<String> {
        self.account
            .ticket_fields
            .values()
            .find(|f| f["type"] == json!("default_ticket_type"))
            .and_then(|f| f["choices"].as_array())
            .map(|c| c.iter().map(text_of).collect())
            .unwrap_or_default()
    }

    /// Whether `v` is a value of `values`; `""` stands for "none".
    fn value_ok(&self, v: &Value, values: &Values) -> bool {
        if v.as_str() == Some("") {
            return matches!(
                values,
                Values::Group
                    | Values::Agent
                    | Values::TicketType
                    | Values::Choices(_)
                    | Values::Any
            );
        }
        match values {
            Values::Status => v.is_u64() && self.statuses().contains(&text_of(v)),
            Values::Priority => v.as_u64().is_some_and(|p| (1..=4).contains(&p)),
            Values::Source => v.is_u64() && self.sources().contains(&text_of(v)),
            Values::Group => v
                .as_u64()
                .is_some_and(|g| self.account.groups.contains_key(&g)),
            Values::Agent => v
                .as_u64()
                .is_some_and(|a| self.account.agents.contains_key(&a)),
            Values::TicketType => v.is_string() && self.ticket_types().contains(&text_of(v)),
            Values::Choices(choices) => v.is_string() && choices.contains(&text_of(v)),
            Values::Any => !v.is_object(),
        }
    }

    fn values_message(&self, values: &Values) -> String {
        match values {
            Values::Status => one_of(
                &self
                    .statuses()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
            Values::Priority => one_of(&["1", "2", "3", "4"]),
            Values::Source => one_of(
                &self
                    .sources()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
            Values::Group => "There is no group matching the given value".into(),
            Values::Agent => "There is no agent matching the given value".into(),
            Values::TicketType => one_of(
                &self
                    .ticket_types()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
            Values::Choices(c) => one_of(&c.iter().map(String::as_str).collect::<Vec<_>>()),
            Values::Any => "It should be a/an String or Number".into(),
        }
    }

    fn only(&mut self, at: &str, object: &Map<String, Value>, allowed: &[&str]) {
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.push(format!("{at}[:{key}]"), UNEXPECTED, "invalid_field");
            }
        }
    }

    fn conditions(&mut self, body: &Map<String, Value>) {
        let Some(sets) = body.get("conditions") else {
            self.push("conditions", MANDATORY, "missing_field");
            return;
        };
        let Some(sets) = sets.as_array() else {
            self.push("conditions", "It should be a/an Array", "datatype_mismatch");
            return;
        };
        if sets.is_empty() {
            self.push("conditions", MANDATORY, "missing_field");
        }
        let most = if self.rule_type == TIME_TRIGGERS {
            1
        } else {
            2
        };
        if sets.len() > most {
            self.push(
                "conditions",
                format!(
                    "Has {} condition sets, it can have at most {most}",
                    sets.len()
                ),
                "invalid_value",
            );
            return;
        }
        let mut names = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            let at = format!("conditions[{i}]");
            let Some(set) = set.as_object() else {
                self.push(at, "It should be a/an key/value pair", "datatype_mismatch");
                continue;
            };
            self.only(&at, set, &["name", "match_type", "properties"]);
            let name = set.get("name").and_then(Value::as_str).unwrap_or("");
            if !["condition_set_1", "condition_set_2"].contains(&name) {
                self.push(
                    format!("{at}[:name]"),
                    one_of(&["condition_set_1", "condition_set_2"]),
                    "invalid_value",
                );
            } else if names.contains(&name) {
                self.push(
                    format!("{at}[:name]"),
                    format!("{name} is given twice"),
                    "duplicate_value",
                );
            }
            names.push(name);
            let at = format!("conditions[:{name}]");
            match set.get("match_type").and_then(Value::as_str) {
                Some("all" | "any") => {}
                None => self.push(format!("{at}[:match_type]"), MANDATORY, "missing_field"),
                Some(_) => self.push(
                    format!("{at}[:match_type]"),
                    one_of(&["all", "any"]),
                    "invalid_value",
                ),
            }
            match set.get("properties").and_then(Value::as_array) {
                Some(list) if !list.is_empty() => {
                    for property in list {
                        self.property(&at, property);
                    }
                }
                Some(_) | None => self.push(
                    format!("{at}[:properties]"),
                    "It should not be blank",
                    "missing_field",
                ),
            }
        }
        match (sets.len(), body.get("operator")) {
            (2, None | Some(Value::Null)) => self.push("operator", MANDATORY, "missing_field"),
            (2, Some(op)) if !op.as_str().is_some_and(|o| SET_OPERATORS.contains(&o)) => {
                self.push("operator", one_of(&SET_OPERATORS), "invalid_value")
            }
            (0 | 1, Some(op)) if !op.is_null() => self.push(
                "operator",
                "operator joins two condition sets; it is not expected with one",
                "invalid_field",
            ),
            _ => {}
        }
    }

    fn property(&mut self, set_at: &str, property: &Value) {
        let Some(p) = property.as_object() else {
            self.push(
                format!("{set_at}[:properties]"),
                "It should be a/an key/value pair",
                "datatype_mismatch",
            );
            return;
        };
        let field = p.get("field_name").and_then(Value::as_str).unwrap_or("");
        let at = format!("{set_at}[:{field}]");
        self.only(
            &at,
            p,
            &[
                "resource_type",
                "field_name",
                "operator",
                "value",
                "case_sensitive",
                "nested_fields",
                "business_hours_id",
                "custom_status_id",
            ],
        );
        if field.is_empty() {
            self.push(format!("{set_at}[:field_name]"), MANDATORY, "missing_field");
            return;
        }
        let resource = match p.get("resource_type") {
            None => {
                self.push(format!("{at}[:resource_type]"), MANDATORY, "missing_field");
                return;
            }
            Some(r) => r.as_str().unwrap_or(""),
        };
        let allowed_resources: &[&str] = if self.rule_type == TIME_TRIGGERS {
            &["ticket"]
        } else {
            &["ticket", "contact", "company"]
        };
        if !allowed_resources.contains(&resource) {
            self.push(
                format!("{at}[:resource_type]"),
                one_of(allowed_resources),
                "invalid_value",
            );
            return;
        }
        let found = match resource {
            "ticket" => match ticket_condition(field) {
                Some((kind, values, types)) => {
                    if !types.contains(&self.rule_type) {
                        self.push(
                            at.clone(),
                            format!(
                                "{field} is not a condition of {} rules",
                                type_label(self.rule_type)
                            ),
                            "invalid_field",
                        );
                        return;
                    }
                    Some((kind, values))
                }
                None => custom_field(self.account, "ticket", field).map(custom_kind),
            },
            "contact" => contact_condition(field)
                .or_else(|| custom_field(self.account, "contact", field).map(custom_kind)),
            _ => company_condition(field)
                .or_else(|| custom_field(self.account, "company", field).map(custom_kind)),
        };
        let Some((kind, values)) = found else {
            self.push(
                at,
                format!("{field} is not a known {resource} field"),
                "invalid_field",
            );
            return;
        };
        if self.rule_type == TIME_TRIGGERS
            && kind == FieldKind::Text
            && ticket_condition(field).is_none()
        {
            self.push(
                at,
                "Custom text fields cannot be conditions of time triggers",
                "invalid_field",
            );
            return;
        }
        let Some(operator) = p.get("operator").and_then(Value::as_str) else {
            self.push(format!("{at}[:operator]"), MANDATORY, "missing_field");
            return;
        };
        let allowed = operators(kind, self.rule_type);
        if !allowed.contains(&operator) {
            self.push(format!("{at}[:operator]"), one_of(allowed), "invalid_value");
            return;
        }
        if kind == FieldKind::Checkbox {
            return;
        }
        let Some(value) = p.get("value") else {
            self.push(format!("{at}[:value]"), MANDATORY, "missing_field");
            return;
        };
        let list_expected = matches!(
            operator,
            "in" | "not_in" | "and" | "is_any_of" | "is_none_of"
        ) || (self.rule_type != TIME_TRIGGERS
            && matches!(
                operator,
                "contains" | "does_not_contain" | "starts_with" | "ends_with"
            ));
        let items: Vec<&Value> = match (list_expected, value) {
            (true, Value::Array(items)) if !items.is_empty() => items.iter().collect(),
            (true, _) => {
                self.push(
                    format!("{at}[:value]"),
                    "It should be a/an non-empty Array",
                    "datatype_mismatch",
                );
                return;
            }
            (false, Value::Array(_) | Value::Object(_)) => {
                self.push(
                    format!("{at}[:value]"),
                    "It should be a single value, not a list",
                    "datatype_mismatch",
                );
                return;
            }
            (false, v) => vec![v],
        };
        for item in items {
            let ok = match kind {
                FieldKind::Hours | FieldKind::Number => item.is_number(),
                FieldKind::Decimal => item.is_number(),
                FieldKind::Choice => self.value_ok(item, &values),
                _ => item.is_string(),
            };
            if !ok {
                let message = match kind {
                    FieldKind::Hours | FieldKind::Number | FieldKind::Decimal => {
                        "It should be a/an Number".to_string()
                    }
                    FieldKind::Choice => self.values_message(&values),
                    _ => "It should be a/an String".to_string(),
                };
                self.push(format!("{at}[:value]"), message, "invalid_value");
                return;
            }
        }
    }

    fn performer(&mut self, body: &Map<String, Value>) {
        let Some(performer) = body.get("performer") else {
            if self.rule_type == TICKET_UPDATES {
                self.push("performer", MANDATORY, "missing_field");
            }
            return;
        };
        if self.rule_type != TICKET_UPDATES {
            self.push(
                "performer",
                "performer is only for rules on ticket updates (type 4)",
                "invalid_field",
            );
            return;
        }
        let Some(p) = performer.as_object() else {
            self.push(
                "performer",
                "It should be a/an key/value pair",
                "datatype_mismatch",
            );
            return;
        };
        self.only("performer", p, &["type", "members"]);
        let kind = p.get("type").and_then(Value::as_u64);
        match kind {
            Some(1..=4) => {}
            None if !p.contains_key("type") => {
                self.push("performer[:type]", MANDATORY, "missing_field")
            }
            _ => self.push(
                "performer[:type]",
                one_of(&["1", "2", "3", "4"]),
                "invalid_value",
            ),
        }
        if let Some(members) = p.get("members").filter(|m| !m.is_null()) {
            if kind != Some(1) {
                self.push(
                    "performer[:members]",
                    "members name agents; they are only for performer type 1 (agent)",
                    "invalid_field",
                );
            } else if !members.as_array().is_some_and(|m| {
                m.iter().all(|a| {
                    a.as_u64()
                        .is_some_and(|a| self.account.agents.contains_key(&a))
                })
            }) {
                self.push(
                    "performer[:members]",
                    "It should be a/an Array of agent ids",
                    "invalid_value",
                );
            }
        }
    }

    fn events(&mut self, body: &Map<String, Value>) {
        let Some(events) = body.get("events") else {
            if self.rule_type == TICKET_UPDATES {
                self.push("events", MANDATORY, "missing_field");
            }
            return;
        };
        if self.rule_type != TICKET_UPDATES {
            self.push(
                "events",
                "events are only for rules on ticket updates (type 4)",
                "invalid_field",
            );
            return;
        }
        for e in self.objects("events", events) {
            let field = e.get("field_name").and_then(Value::as_str).unwrap_or("");
            let at = format!("events[:{field}]");
            self.only(
                &at,
                e,
                &[
                    "field_name",
                    "from",
                    "to",
                    "value",
                    "from_nested_field",
                    "to_nested_field",
                ],
            );
            let values = match field {
                "" => {
                    self.push("events[:field_name]", MANDATORY, "missing_field");
                    continue;
                }
                "priority" => EventValues::FromTo(Values::Priority),
                "status" => EventValues::FromTo(Values::Status),
                "ticket_type" => EventValues::FromTo(Values::TicketType),
                "group_id" => EventValues::FromTo(Values::Group),
                "responder_id" => EventValues::FromTo(Values::Agent),
                "note_type" => EventValues::Value(&["public", "private", "--"]),
                "ticket_action" => {
                    EventValues::Value(&["update", "delete", "marked_spam", "linked", "--"])
                }
                "time_sheet_action" => EventValues::Value(&["added", "updated", "--"]),
                "customer_feedback" => EventValues::AnyValue,
                "reply_sent"
                | "due_by"
                | "mail_del_failed_requester"
                | "mail_del_failed_others"
                | "response_due"
                | "resolution_due" => EventValues::Label,
                _ => match custom_field(self.account, "ticket", field) {
                    Some(f) if f["type"] == json!("custom_checkbox") => EventValues::AnyValue,
                    Some(f) if matches!(custom_kind(f).0, FieldKind::Choice) => {
                        EventValues::FromTo(custom_kind(f).1)
                    }
                    _ => {
                        self.push(
                            at,
                            format!("{field} is not an event of rules on ticket updates"),
                            "invalid_field",
                        );
                        continue;
                    }
                },
            };
            match values {
                EventValues::Label => {
                    for key in ["from", "to", "value"] {
                        if e.contains_key(key) {
                            self.push(
                                format!("{at}[:{key}]"),
                                format!("{field} takes no {key}"),
                                "invalid_field",
                            );
                        }
                    }
                }
                EventValues::FromTo(values) => {
                    for key in ["from", "to"] {
                        match e.get(key) {
                            None => self.push(format!("{at}[:{key}]"), MANDATORY, "missing_field"),
                            Some(v) if v.as_str() == Some("--") => {}
                            Some(v) if self.value_ok(v, &values) => {}
                            Some(_) => {
                                let message = self.values_message(&values);
                                self.push(format!("{at}[:{key}]"), message, "invalid_value")
                            }
                        }
                    }
                }
                EventValues::Value(allowed) => match e.get("value").and_then(Value::as_str) {
                    Some(v) if allowed.contains(&v) => {}
                    None if !e.contains_key("value") => {
                        self.push(format!("{at}[:value]"), MANDATORY, "missing_field")
                    }
                    _ => self.push(format!("{at}[:value]"), one_of(allowed), "invalid_value"),
                },
                EventValues::AnyValue => {
                    if !e.contains_key("value") {
                        self.push(format!("{at}[:value]"), MANDATORY, "missing_field");
                    }
                }
            }
        }
    }

    fn actions(&mut self, body: &Map<String, Value>) {
        let Some(actions) = body.get("actions") else {
            self.push("actions", MANDATORY, "missing_field");
            return;
        };
        for a in self.objects("actions", actions) {
            let field = a.get("field_name").and_then(Value::as_str).unwrap_or("");
            self.action(field, a);
        }
    }

    fn refuse_in(&mut self, at: &str, field: &str, types: &[u64]) -> bool {
        if types.contains(&self.rule_type) {
            self.push(
                at,
                format!(
                    "{field} is not an action of {} rules",
                    type_label(self.rule_type)
                ),
                "invalid_field",
            );
            return true;
        }
        false
    }

    fn action(&mut self, field: &str, a: &Map<String, Value>) {
        let at = format!("actions[:{field}]");
        const SET: &[&str] = &["field_name", "value", "nested_fields", "resource_type"];
        let set_value = |check: &mut Self, values: Values| {
            check.only(&at, a, SET);
            match a.get("value") {
                None => check.push(format!("{at}[:value]"), MANDATORY, "missing_field"),
                Some(v) if check.value_ok(v, &values) => {}
                Some(_) => {
                    let message = check.values_message(&values);
                    check.push(format!("{at}[:value]"), message, "invalid_value")
                }
            }
        };
        match field {
            "" => self.push("actions[:field_name]", MANDATORY, "missing_field"),
            "priority" => set_value(self, Values::Priority),
            "status" => set_value(self, Values::Status),
            "ticket_type" => set_value(self, Values::TicketType),
            "group_id" | "internal_group_id" => set_value(self, Values::Group),
            "product_id" => set_value(self, Values::Any),
            "responder_id" | "internal_agent_id" => {
                // -2 is "the agent who performed the event" (Va::RuleActivityLogger).
                if a.get("value").and_then(Value::as_i64) == Some(-2) {
                    self.only(&at, a, SET);
                } else {
                    set_value(self, Values::Agent)
                }
            }
            "add_tag" => {
                self.only(&at, a, SET);
                if !a.get("value").and_then(Value::as_array).is_some_and(|t| {
                    !t.is_empty() && t.iter().all(|t| t.as_str().is_some_and(|s| !s.is_empty()))
                }) {
                    self.push(
                        format!("{at}[:value]"),
                        "It should be a/an non-empty Array of Strings",
                        "datatype_mismatch",
                    );
                }
            }
            "add_watcher" => {
                self.only(&at, a, SET);
                if !a.get("value").and_then(Value::as_array).is_some_and(|t| {
                    !t.is_empty()
                        && t.iter().all(|id| {
                            id.as_u64()
                                .is_some_and(|id| self.account.agents.contains_key(&id))
                        })
                }) {
                    self.push(
                        format!("{at}[:value]"),
                        "It should be a/an non-empty Array of agent ids",
                        "invalid_value",
                    );
                }
            }
            "add_a_cc" => {
                if self.refuse_in(&at, field, &[3, 4]) {
                    return;
                }
                self.only(&at, a, SET);
                if !a
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.contains('@'))
                {
                    self.push(
                        format!("{at}[:value]"),
                        "It should be a/an email",
                        "invalid_value",
                    );
                }
            }
            "delete_ticket" | "mark_as_spam" => self.only(&at, a, &["field_name"]),
            "skip_notification" => {
                if !self.refuse_in(&at, field, &[3, 4]) {
                    self.only(&at, a, &["field_name"]);
                }
            }
            "send_email_to_group" | "send_email_to_agent" | "send_email_to_requester" => {
                self.email_action(&at, field, a)
            }
            "add_note" => {
                if self.refuse_in(&at, field, &[3]) {
                    return;
                }
                self.only(&at, a, &["field_name", "note_body", "notify_agents"]);
                if a.get("note_body")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    self.push(format!("{at}[:note_body]"), MANDATORY, "missing_field");
                }
                if let Some(agents) = a.get("notify_agents")
                    && !agents.as_array().is_some_and(|l| {
                        l.iter().all(|id| {
                            id.as_u64()
                                .is_some_and(|id| self.account.agents.contains_key(&id))
                        })
                    })
                {
                    self.push(
                        format!("{at}[:notify_agents]"),
                        "It should be a/an Array of agent ids",
                        "invalid_value",
                    );
                }
            }
            "forward_ticket" => {
                if self.refuse_in(&at, field, &[3]) {
                    return;
                }
                self.only(
                    &at,
                    a,
                    &[
                        "field_name",
                        "fwd_to",
                        "fwd_cc",
                        "fwd_bcc",
                        "fwd_note_body",
                        "show_quoted_text",
                    ],
                );
                if !a.get("fwd_to").and_then(Value::as_array).is_some_and(|l| {
                    !l.is_empty()
                        && l.iter()
                            .all(|e| e.as_str().is_some_and(|e| e.contains('@')))
                }) {
                    self.push(
                        format!("{at}[:fwd_to]"),
                        "It should be a/an non-empty Array of emails",
                        "invalid_value",
                    );
                }
            }
            "trigger_webhook" => {
                if !self.refuse_in(&at, field, &[3]) {
                    self.webhook(&at, a);
                }
            }
            _ => match custom_field(self.account, "ticket", field) {
                Some(def) => {
                    self.only(&at, a, SET);
                    let (kind, values) = custom_kind(def);
                    let ok = match (kind, a.get("value")) {
                        (_, None) => {
                            self.push(format!("{at}[:value]"), MANDATORY, "missing_field");
                            return;
                        }
                        (FieldKind::Choice, Some(v)) => self.value_ok(v, &values),
                        (FieldKind::Checkbox, Some(v)) => {
                            v.is_boolean() || v.as_u64().is_some_and(|n| n <= 1)
                        }
                        (FieldKind::Number | FieldKind::Decimal, Some(v)) => {
                            v.is_number() || v.as_str().is_some_and(|s| s.parse::<f64>().is_ok())
                        }
                        (_, Some(v)) => v.is_string(),
                    };
                    if !ok {
                        let message = self.values_message(&values);
                        self.push(format!("{at}[:value]"), message, "invalid_value");
                    }
                }
                None => self.push(
                    at,
                    format!("{field} is not an action of automation rules"),
                    "invalid_field",
                ),
            },
        }
    }

    fn email_action(&mut self, at: &str, field: &str, a: &Map<String, Value>) {
        if field == "send_email_to_requester" {
            self.only(at, a, &["field_name", "email_subject", "email_body"]);
        } else {
            self.only(
                at,
                a,
                &["field_name", "email_to", "email_subject", "email_body"],
            );
            let to = a.get("email_to");
            let ok = match (field, to) {
                (_, None) => {
                    self.push(format!("{at}[:email_to]"), MANDATORY, "missing_field");
                    true
                }
                ("send_email_to_group", Some(v)) => v
                    .as_u64()
                    .is_some_and(|g| self.account.groups.contains_key(&g)),
                // -1: the ticket's assigned agent (assumption, see the module comment).
                (_, Some(v)) => {
                    v.as_i64() == Some(-1)
                        || v.as_u64()
                            .is_some_and(|g| self.account.agents.contains_key(&g))
                }
            };
            if !ok {
                let what = if field == "send_email_to_group" {
                    "group"
                } else {
                    "agent"
                };
                self.push(
                    format!("{at}[:email_to]"),
                    format!("There is no {what} matching the given email_to"),
                    "invalid_value",
                );
            }
        }
        for key in ["email_subject", "email_body"] {
            if a.get(key)
                .and_then(Value::as_str)
                .is_none_or(|s| s.trim().is_empty())
            {
                self.push(format!("{at}[:{key}]"), MANDATORY, "missing_field");
            }
        }
    }

    fn webhook(&mut self, at: &str, a: &Map<String, Value>) {
        self.only(
            at,
            a,
            &[
                "field_name",
                "request_type",
                "url",
                "content_layout",
                "content_type",
                "auth_header",
                "custom_headers",
                "content",
                "resource_type",
            ],
        );
        const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
        let method = a.get("request_type").and_then(Value::as_str);
        match method {
            Some(m) if METHODS.contains(&m) => {}
            None => self.push(format!("{at}[:request_type]"), MANDATORY, "missing_field"),
            Some(_) => self.push(
                format!("{at}[:request_type]"),
                one_of(&METHODS),
                "invalid_value",
            ),
        }
        match a.get("url").and_then(Value::as_str) {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => {}
            None => self.push(format!("{at}[:url]"), MANDATORY, "missing_field"),
            Some(_) => self.push(
                format!("{at}[:url]"),
                "It should be a valid http or https URL",
                "invalid_value",
            ),
        }
        const TYPES: [&str; 3] = ["JSON", "XML", "X-FORM-URLENCODED"];
        match a.get("content_type").and_then(Value::as_str) {
            Some(t) if TYPES.contains(&t) => {}
            None if matches!(method, Some("POST" | "PUT" | "PATCH")) => {
                self.push(format!("{at}[:content_type]"), MANDATORY, "missing_field")
            }
            None => {}
            Some(_) => self.push(
                format!("{at}[:content_type]"),
                one_of(&TYPES),
                "invalid_value",
            ),
        }
        const LAYOUTS: [&str; 4] = ["1", "2", "simple", "advanced"];
        if let Some(layout) = a.get("content_layout") {
            if !layout.as_str().is_some_and(|l| LAYOUTS.contains(&l)) {
                self.push(
                    format!("{at}[:content_layout]"),
                    one_of(&LAYOUTS),
                    "invalid_value",
                );
            } else if a.get("content").is_none_or(Value::is_null) {
                self.push(format!("{at}[:content]"), MANDATORY, "missing_field");
            }
        }
        if let Some(auth) = a.get("auth_header") {
            match auth.as_object() {
                Some(map) => self.only(
                    &format!("{at}[:auth_header]"),
                    map,
                    &["username", "password", "api_key"],
                ),
                None => self.push(
                    format!("{at}[:auth_header]"),
                    "It should be a/an key/value pair",
                    "datatype_mismatch",
                ),
            }
        }
        if let Some(headers) = a.get("custom_headers")
            && !headers
                .as_object()
                .is_some_and(|h| h.values().all(Value::is_string))
        {
            self.push(
                format!("{at}[:custom_headers]"),
                "It should be a/an key/value pair of Strings",
                "datatype_mismatch",
            );
        }
    }
}

enum EventValues {
    Label,
    FromTo(Values),
    Value(&'static [&'static str]),
    AnyValue,
}

/// A readable name of a rule type.
pub(crate) fn type_label(rule_type: u64) -> &'static str {
    match rule_type {
        TICKET_CREATION => "ticket creation",
        TIME_TRIGGERS => "time trigger",
        _ => "ticket update",
    }
}

/// The writable top-level keys of a rule.
const RULE_FIELDS: &[&str] = &[
    "name",
    "description",
    "position",
    "active",
    "performer",
    "events",
    "conditions",
    "operator",
    "actions",
];

/// Checks a whole rule body (after a PUT, the merged rule) of `rule_type`; every problem
/// at once, as Freshdesk answers.
pub(crate) fn validate(
    account: &Account,
    rule_type: u64,
    request: &Map<String, Value>,
    merged: &Map<String, Value>,
) -> Result<(), Vec<Problem>> {
    let mut check = Check {
        account,
        rule_type,
        problems: Vec::new(),
    };
    check.only("", request, RULE_FIELDS);
    // Field paths of top-level keys carry no leading `[:…]`.
    for p in &mut check.problems {
        if let Some(inner) = p.0.strip_prefix("[:").and_then(|s| s.strip_suffix(']')) {
            p.0 = inner.to_string();
        }
    }
    match merged.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => {}
        None | Some(Value::Null) => check.push("name", MANDATORY, "missing_field"),
        Some(Value::String(_)) => check.push("name", MANDATORY, "missing_field"),
        Some(_) => check.push("name", "It should be a/an String", "datatype_mismatch"),
    }
    if merged.get("active").is_some_and(|a| !a.is_boolean()) {
        check.push("active", "It should be a/an Boolean", "datatype_mismatch");
    }
    if merged
        .get("position")
        .is_some_and(|p| p.as_u64().is_none_or(|p| p < 1))
    {
        check.push(
            "position",
            "It should be a/an Positive Integer",
            "datatype_mismatch",
        );
    }
    if merged
        .get("description")
        .is_some_and(|d| !(d.is_string() || d.is_null()))
    {
        check.push(
            "description",
            "It should be a/an String",
            "datatype_mismatch",
        );
    }
    check.performer(merged);
    check.events(merged);
    check.conditions(merged);
    check.actions(merged);
    if check.problems.is_empty() {
        Ok(())
    } else {
        Err(check.problems)
    }
}

/// A readable summary of a rule (read-only on the API).
pub(crate) fn summary(rule: &Value) -> Value {
    let property = |p: &Value| {
        format!(
            "{} {} {} {}",
            p["resource_type"].as_str().unwrap_or("ticket"),
            p["field_name"].as_str().unwrap_or(""),
            p["operator"].as_str().unwrap_or(""),
            text_of(&p["value"])
        )
        .trim_end()
        .to_string()
    };
    let mut conditions = Map::new();
    for set in rule["conditions"].as_array().into_iter().flatten() {
        let name = set["name"]
            .as_str()
            .unwrap_or("condition_set_1")
            .to_string();
        let parts: Vec<String> = set["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .map(property)
            .collect();
        let joiner = if set["match_type"] == json!("any") {
            " or "
        } else {
            " and "
        };
        conditions.insert(name, json!(parts.join(joiner)));
    }
    let actions: Vec<String> = rule["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let field = a["field_name"].as_str().unwrap_or("");
            match field {
                "trigger_webhook" => format!(
                    "Trigger webhook {} {}",
                    a["request_type"].as_str().unwrap_or(""),
                    a["url"].as_str().unwrap_or("")
                ),
                f if f.starts_with("send_email_to_") => format!(
                    "Send email to {}: {}",
                    f.trim_start_matches("send_email_to_"),
                    a["email_subject"].as_str().unwrap_or("")
                ),
                f => format!("Set {f} as {}", text_of(&a["value"])),
            }
        })
        .collect();
    let mut out = json!({"conditions": conditions, "actions": actions});
    if let Some(events) = rule["events"].as_array() {
        out["events"] = json!(
            events
                .iter()
                .map(|e| e["field_name"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        );
    }
    if let Some(kind) = rule["performer"]["type"].as_u64() {
        out["performer"] = json!(match kind {
            1 => "Agent",
            2 => "Requester",
            3 => "Agent or Requester",
            _ => "System",
        });
    }
    out
}

/// A rule as the API shows it: webhook passwords masked.
pub(crate) fn view(rule: &Value) -> Value {
    let mut out = rule.clone();
    for action in out["actions"].as_array_mut().into_iter().flatten() {
        if let Some(auth) = action.get_mut("auth_header").and_then(Value::as_object_mut)
            && auth.contains_key("password")
        {
            auth.insert("password".into(), json!(""));
        }
    }
    out
}

/// What happened to a ticket, for the rules to match.
pub(crate) struct Happening<'a> {
    /// The ticket after the change.
    pub ticket: &'a Value,
    /// The ticket before an update (`None` on creation and for conversations).
    pub before: Option<&'a Value>,
    /// Who did it: the API key's agent, or the `user_id` of a note or reply.
    pub actor: u64,
    /// A reply was sent.
    pub reply: bool,
    /// A note was added: `Some(private)`.
    pub note: Option<bool>,
}

/// What the rules that fired did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Fired {
    /// Rules executed.
    pub rules: u64,
    /// Notification e-mails their actions sent.
    pub emails: u64,
    /// Webhooks their actions called.
    pub webhooks: u64,
}

/// Runs the active rules of `rule_type` on `happening`: the first matching one on ticket
/// creation (Freshdesk's default), every matching one on updates.
pub(crate) fn fire(account: &Account, rule_type: u64, happening: &Happening) -> Fired {
    let mut rules: Vec<&Value> = account
        .rules
        .values()
        .filter(|r| r["automation_type_id"].as_u64() == Some(rule_type))
        .filter(|r| r["active"] == json!(true))
        .collect();
    rules.sort_by_key(|r| (r["position"].as_u64().unwrap_or(u64::MAX), r["id"].as_u64()));
    let mut fired = Fired::default();
    for rule in rules {
        let matches = (rule_type != TICKET_UPDATES
            || (performer_matches(account, rule, happening.actor)
                && events_match(rule, happening)))
            && conditions_hold(account, rule, happening.ticket);
        if !matches {
            continue;
        }
        fired.rules += 1;
        for action in rule["actions"].as_array().into_iter().flatten() {
            match action["field_name"].as_str().unwrap_or("") {
                "send_email_to_requester"
                | "send_email_to_agent"
                | "send_email_to_group"
                | "forward_ticket" => fired.emails += 1,
                "add_note"
                    if action["notify_agents"]
                        .as_array()
                        .is_some_and(|l| !l.is_empty()) =>
                {
                    fired.emails += 1
                }
                "trigger_webhook" => fired.webhooks += 1,
                _ => {}
            }
        }
        if rule_type == TICKET_CREATION {
            break;
        }
    }
    fired
}

fn performer_matches(account: &Account, rule: &Value, actor: u64) -> bool {
    let agent = account.agents.contains_key(&actor);
    match rule["performer"]["type"].as_u64() {
        Some(1) => {
            agent
                && rule["performer"]["members"]
                    .as_array()
                    .is_none_or(|m| m.is_empty() || m.iter().any(|a| a.as_u64() == Some(actor)))
        }
        Some(2) => !agent,
        Some(3) => true,
        // System events (type 4) never come from API requests.
        Some(_) => false,
        None => true,
    }
}

fn ticket_key(field: &str) -> &str {
    if field == "ticket_type" {
        "type"
    } else {
        field
    }
}

fn field_value<'a>(ticket: &'a Value, field: &str) -> &'a Value {
    if field.starts_with("cf_") {
        &ticket["custom_fields"][field]
    } else {
        &ticket[ticket_key(field)]
    }
}

fn same(a: &Value, b: &Value) -> bool {
    text_of(a) == text_of(b)
}

fn events_match(rule: &Value, h: &Happening) -> bool {
    rule["events"].as_array().into_iter().flatten().any(|e| {
        let field = e["field_name"].as_str().unwrap_or("");
        match field {
            "reply_sent" => h.reply,
            "note_type" => h.note.is_some_and(|private| match e["value"].as_str() {
                Some("public") => !private,
                Some("private") => private,
                _ => true,
            }),
            "ticket_action" => match e["value"].as_str() {
                Some("update" | "--") => h.before.is_some(),
                _ => false,
            },
            "priority" | "status" | "ticket_type" | "group_id" | "responder_id" => {
                changed(h, field, e)
            }
            f if f.starts_with("cf_") => changed(h, field, e),
            // Events the emulator cannot observe (feedback, time sheets, SLA, bounces):
            // counted as happening.
            _ => true,
        }
    })
}

fn changed(h: &Happening, field: &str, e: &Value) -> bool {
    let Some(before) = h.before else {
        return false;
    };
    let (old, new) = (field_value(before, field), field_value(h.ticket, field));
    if same(old, new) {
        return false;
    }
    let fits = |want: &Value, got: &Value| want.as_str() == Some("--") || same(want, got);
    (e.get("from").is_none() || fits(&e["from"], old))
        && (e.get("to").is_none() || fits(&e["to"], new))
}

fn conditions_hold(account: &Account, rule: &Value, ticket: &Value) -> bool {
    let sets: Vec<bool> = rule["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|set| {
            let props = set["properties"].as_array().cloned().unwrap_or_default();
            if set["match_type"] == json!("any") {
                props.is_empty() || props.iter().any(|p| holds(account, ticket, p))
            } else {
                props.iter().all(|p| holds(account, ticket, p))
            }
        })
        .collect();
    if rule["operator"].as_str() == Some(SET_OPERATORS[1]) {
        sets.is_empty() || sets.iter().any(|s| *s)
    } else {
        sets.iter().all(|s| *s)
    }
}

/// Whether one condition holds; what the emulator cannot evaluate holds.
fn holds(account: &Account, ticket: &Value, p: &Value) -> bool {
    if p["resource_type"].as_str().unwrap_or("ticket") != "ticket" {
        return true;
    }
    let field = p["field_name"].as_str().unwrap_or("");
    let operator = p["operator"].as_str().unwrap_or("");
    let wanted: Vec<&Value> = match &p["value"] {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    let choice = |got: &Value| {
        let any = wanted.iter().any(|w| same(w, got));
        match operator {
            "in" => any,
            "not_in" => !any,
            _ => true,
        }
    };
    match field {
        "status" | "priority" | "source" | "group_id" | "responder_id" | "product_id"
        | "ticket_type" | "internal_group_id" | "internal_agent_id" => {
            choice(field_value(ticket, field))
        }
        "tag_names" => {
            let tags: Vec<String> = ticket["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text_of)
                .collect();
            let has = |w: &&Value| tags.iter().any(|t| t.eq_ignore_ascii_case(&text_of(w)));
            match operator {
                "in" => wanted.iter().any(has),
                "not_in" => !wanted.iter().any(has),
                "and" => wanted.iter().all(has),
                _ => true,
            }
        }
        "subject" | "description" | "subject_or_description" | "from_email" => {
            let text = match field {
                "subject" => text_of(&ticket["subject"]),
                "description" => text_of(&ticket["description_text"]),
                "subject_or_description" => format!(
                    "{}\n{}",
                    text_of(&ticket["subject"]),
                    text_of(&ticket["description_text"])
                ),
                _ => ticket["requester_id"]
                    .as_u64()
                    .and_then(|id| account.contacts.get(&id))
                    .map(|c| text_of(&c["email"]))
                    .unwrap_or_default(),
            };
            text_holds(&text, operator, &wanted, p["case_sensitive"] == json!(true))
        }
        f if f.starts_with("cf_") => {
            let got = field_value(ticket, f);
            match operator {
                "in" | "not_in" => choice(got),
                "selected" => got == &json!(true),
                "not_selected" => got != &json!(true),
                "is" | "is_not" | "contains" | "does_not_contain" | "starts_with" | "ends_with"
                | "is_any_of" | "is_none_of"
                    if got.is_string() || got.is_null() =>
                {
                    text_holds(&text_of(got), operator, &wanted, false)
                }
                _ => true,
            }
        }
        _ => true,
    }
}

fn text_holds(text: &str, operator: &str, wanted: &[&Value], case_sensitive: bool) -> bool {
    let norm = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let text = norm(text);
    let words: Vec<String> = wanted.iter().map(|w| norm(&text_of(w))).collect();
    match operator {
        "is" | "is_any_of" => words.contains(&text),
        "is_not" | "is_none_of" => words.iter().all(|w| text != *w),
        "contains" => words.iter().any(|w| text.contains(w.as_str())),
        "does_not_contain" => words.iter().all(|w| !text.contains(w.as_str())),
        "starts_with" => words.iter().any(|w| text.starts_with(w.as_str())),
        "ends_with" => words.iter().any(|w| text.ends_with(w.as_str())),
        _ => true,
    }
}
