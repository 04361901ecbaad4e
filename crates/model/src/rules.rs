//! The portable vocabulary of business rules, macros, SLA policies and views.
//!
//! Every vendor translator reads its own rule form into these closed sets and writes them
//! back out; no vendor's spelling appears here. What a vendor form cannot express with
//! them is kept as an [`Untranslated`] part, named and with its reason, never dropped.
//!
//! - Events ([`RuleEvent`]): when a rule is evaluated.
//! - Conditions ([`Condition`]): a [`ConditionField`], an [`Operator`] and a
//!   [`RuleValue`]; grouped into [`Conditions`] (all of / any of).
//! - Actions ([`Action`]): what a rule or macro does to a ticket, or whom it notifies.
//! - Placeholders ([`PLACEHOLDERS`]): the portable names of the values a notification or
//!   macro body can insert, translated with a vendor's table by [`translate_placeholders`].
//!
//! References inside rules (groups, users, organizations, custom fields, webhooks) are
//! typed [`Ref`]s, rewritten through the id map like every other reference.

use serde::{Deserialize, Serialize};

use crate::entities::{Group, Organization, Priority, TicketStatus, TicketType, User, Webhook};
use crate::{FieldDefinition, Kind, Ref};

/// When a business rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleEvent {
    /// A ticket was created.
    TicketCreated,
    /// A ticket was updated (a property changed or a comment was added).
    TicketUpdated,
    /// Every hour, for tickets matching time-based conditions.
    Hourly,
}

/// Which property of a ticket, or of the update being evaluated, a condition tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionField {
    /// The ticket's status.
    Status,
    /// The ticket's priority.
    Priority,
    /// The ticket's type.
    TicketType,
    /// The group it is assigned to.
    Group,
    /// The agent it is assigned to.
    Assignee,
    /// Who asked.
    Requester,
    /// The requester's organization.
    Organization,
    /// The ticket's tags.
    Tags,
    /// The channel it came in through (`email`, `web`, `phone`, `chat`, `api`...).
    Channel,
    /// The subject's text.
    Subject,
    /// The description's text (the first comment).
    Description,
    /// The text of the comment added by the update being evaluated.
    CommentText,
    /// A custom ticket field, by its migrated definition.
    CustomField(Ref<FieldDefinition>),
    /// Hours since the ticket was created.
    HoursSinceCreated,
    /// Hours since the ticket last changed.
    HoursSinceUpdated,
    /// Hours since the ticket was solved.
    HoursSinceSolved,
    /// Hours since the ticket was set pending.
    HoursSincePending,
    /// Hours since the ticket was assigned.
    HoursSinceAssigned,
    /// Hours since the ticket was opened.
    HoursSinceOpen,
    /// Whether the comment added by the update is public.
    CommentIsPublic,
    /// Who made the update: an agent or an end user ([`RuleValue::Role`]).
    UpdatedBy,
}

impl ConditionField {
    /// Whether the field compares hours (and so suits hourly rules).
    pub fn is_time_based(&self) -> bool {
        matches!(
            self,
            ConditionField::HoursSinceCreated
                | ConditionField::HoursSinceUpdated
                | ConditionField::HoursSinceSolved
                | ConditionField::HoursSincePending
                | ConditionField::HoursSinceAssigned
                | ConditionField::HoursSinceOpen
        )
    }
}

/// How a condition compares its field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal.
    Is,
    /// Not equal.
    IsNot,
    /// Less than (numbers, hours, ordered statuses and priorities).
    LessThan,
    /// Greater than.
    GreaterThan,
    /// Holds at least one of the values (tags, multi-values).
    Includes,
    /// Holds none of the values.
    NotIncludes,
    /// The text contains the value.
    Contains,
    /// The text does not contain the value.
    NotContains,
    /// The update changed the field.
    Changed,
    /// The update changed the field to the value.
    ChangedTo,
    /// The update changed the field from the value.
    ChangedFrom,
    /// The field has a value.
    Present,
    /// The field has no value.
    NotPresent,
}

/// Who made an update, for [`ConditionField::UpdatedBy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdaterRole {
    /// An agent or admin.
    Agent,
    /// The requester or another end user.
    EndUser,
}

/// What a condition compares with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleValue {
    /// No value (for `present`, `changed`..., or "nobody" / "no group").
    #[default]
    None,
    /// Free text (subject words, a custom field's option value, a channel).
    Text(String),
    /// A number (hours).
    Number(i64),
    /// Yes or no.
    Bool(bool),
    /// A status.
    Status(TicketStatus),
    /// A priority.
    Priority(Priority),
    /// A ticket type.
    TicketType(TicketType),
    /// A group.
    Group(Ref<Group>),
    /// A user (agent or end user).
    User(Ref<User>),
    /// An organization.
    Organization(Ref<Organization>),
    /// The agent the rule runs as (macros, views: "me").
    CurrentUser,
    /// A set of tags.
    Tags(Vec<String>),
    /// Who made the update.
    Role(UpdaterRole),
}

/// One condition of a rule, SLA policy or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// What is tested.
    pub field: ConditionField,
    /// How.
    pub operator: Operator,
    /// Against what.
    #[serde(default)]
    pub value: RuleValue,
}

/// Conditions that must all hold, and conditions of which at least one must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Conditions {
    /// Every one must hold.
    pub all: Vec<Condition>,
    /// At least one must hold (when not empty).
    pub any: Vec<Condition>,
}

impl Conditions {
    /// Every condition, `all` first.
    pub fn iter(&self) -> impl Iterator<Item = &Condition> {
        self.all.iter().chain(self.any.iter())
    }

    /// Whether there is no condition at all.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }

    /// The number of conditions.
    pub fn len(&self) -> usize {
        self.all.len() + self.any.len()
    }
}

/// Whom a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The requester.
    Requester,
    /// The requester and the people in copy.
    RequesterAndCcs,
    /// The assigned agent.
    Assignee,
    /// The agents of the ticket's group.
    AssignedGroup,
    /// Every agent.
    AllAgents,
    /// The agents of a group.
    Group(Ref<Group>),
    /// One user.
    User(Ref<User>),
}

/// Whom an assignment action assigns the ticket to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// Nobody (unassign).
    Nobody,
    /// The agent applying the macro or making the update.
    CurrentUser,
    /// One agent.
    User(Ref<User>),
}

/// One action of a rule or macro.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Sets the status.
    SetStatus {
        /// The new status.
        status: TicketStatus,
    },
    /// Sets the priority.
    SetPriority {
        /// The new priority.
        priority: Priority,
    },
    /// Sets the type (none clears it).
    SetType {
        /// The new type.
        ticket_type: Option<TicketType>,
    },
    /// Assigns a group (none clears it).
    SetGroup {
        /// The group.
        group: Option<Ref<Group>>,
    },
    /// Assigns an agent.
    SetAssignee {
        /// The agent.
        assignee: Assignee,
    },
    /// Sets a custom field to a value (an option's value for dropdowns).
    SetCustomField {
        /// The field, by its migrated definition.
        field: Ref<FieldDefinition>,
        /// The value, as text.
        value: String,
    },
    /// Adds tags.
    AddTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// Removes tags.
    RemoveTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// Replaces the tags.
    SetTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// Adds a public reply.
    PublicReply {
        /// The reply, HTML, with portable placeholders.
        body: String,
    },
    /// Adds a private note.
    PrivateNote {
        /// The note, HTML, with portable placeholders.
        body: String,
    },
    /// E-mails someone about the ticket.
    Notify {
        /// Whom.
        recipient: Recipient,
        /// The subject, with portable placeholders.
        subject: String,
        /// The body, with portable placeholders.
        body: String,
    },
    /// Calls a webhook.
    CallWebhook {
        /// The webhook, by its migrated record.
        webhook: Ref<Webhook>,
        /// The request body, with portable placeholders.
        body: String,
    },
    /// E-mails an address outside the helpdesk.
    EmailAddress {
        /// The address.
        address: String,
        /// The subject, with portable placeholders.
        subject: String,
        /// The body, with portable placeholders.
        body: String,
    },
}

impl Action {
    /// The texts the action carries (bodies and subjects), for placeholder counts.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Action::PublicReply { body } | Action::PrivateNote { body } => vec![body],
            Action::CallWebhook { body, .. } => vec![body],
            Action::Notify { subject, body, .. } | Action::EmailAddress { subject, body, .. } => {
                vec![subject, body]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the action sends something outside the ticket (an e-mail or a request).
    pub fn reaches_out(&self) -> bool {
        matches!(
            self,
            Action::Notify { .. } | Action::CallWebhook { .. } | Action::EmailAddress { .. }
        )
    }
}

/// Which part of a vendor's rule form a translation could not express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RulePart {
    /// When the rule runs.
    Event,
    /// A condition.
    Condition,
    /// An action.
    Action,
    /// A placeholder in a body or subject.
    Placeholder,
    /// A setting of the rule itself (restrictions, categories, performers...).
    Setting,
}

/// A part of a vendor's rule, macro, SLA policy or view that the portable vocabulary (or
/// the target's) cannot express: kept for the report and for a person to rebuild.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Untranslated {
    /// What kind of part.
    pub part: RulePart,
    /// The vendor whose form `vendor_form` is (a target of the same vendor may write it
    /// back verbatim).
    #[serde(default)]
    pub vendor: String,
    /// The part in the vendor's own form (compact JSON or text).
    pub vendor_form: String,
    /// Why it could not be translated.
    pub reason: String,
}

impl Untranslated {
    /// An untranslated part of `vendor`'s form.
    pub fn new(
        vendor: &str,
        part: RulePart,
        vendor_form: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Untranslated {
            part,
            vendor: vendor.to_string(),
            vendor_form: vendor_form.into(),
            reason: reason.into(),
        }
    }
}

/// The portable placeholders: what a notification or macro body can insert. Vendor
/// translators map their own spellings to these with [`translate_placeholders`].
pub const PLACEHOLDERS: &[&str] = &[
    "ticket.id",
    "ticket.subject",
    "ticket.description",
    "ticket.status",
    "ticket.priority",
    "ticket.type",
    "ticket.tags",
    "ticket.url",
    "ticket.portal_url",
    "ticket.latest_comment",
    "ticket.latest_public_comment",
    "ticket.requester.name",
    "ticket.requester.first_name",
    "ticket.requester.email",
    "ticket.assignee.name",
    "ticket.assignee.email",
    "ticket.group.name",
    "ticket.organization.name",
    "current_user.name",
    "helpdesk.name",
];

/// Which way [`translate_placeholders`] reads a vendor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Vendor spelling to portable (reading).
    ToPortable,
    /// Portable to vendor spelling (writing).
    FromPortable,
}

/// The outcome of translating the placeholders of one text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceholderTranslation {
    /// The text with every known placeholder translated; unknown ones kept verbatim.
    pub text: String,
    /// How many placeholders were translated.
    pub translated: usize,
    /// The placeholders the table does not know, verbatim (`{{ticket.foo}}`).
    pub unknown: Vec<String>,
}

/// Translates every `{{name}}` in `text` with `table` (pairs of vendor spelling and
/// portable name, without braces). Liquid tags (`{% ... %}`) and placeholders with
/// filters are unknown: they are listed and kept verbatim.
pub fn translate_placeholders(
    text: &str,
    table: &[(&str, &str)],
    direction: Direction,
) -> PlaceholderTranslation {
    let mut out = PlaceholderTranslation::default();
    let mut rest = text;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        out.text.push_str(&rest[..start]);
        let closing = if rest[start..].starts_with("{%") {
            "%}"
        } else {
            "}}"
        };
        let Some(len) = rest[start + 2..].find(closing) else {
            out.text.push_str(&rest[start..]);
            out.unknown.push(rest[start..].to_string());
            return out;
        };
        let whole = &rest[start..start + 2 + len + 2];
        let name = rest[start + 2..start + 2 + len].trim();
        let found = (closing == "}}")
            .then(|| {
                table.iter().find_map(|(vendor, portable)| match direction {
                    Direction::ToPortable => (*vendor == name).then_some(*portable),
                    Direction::FromPortable => (*portable == name).then_some(*vendor),
                })
            })
            .flatten();
        match found {
            Some(translated) => {
                out.text.push_str("{{");
                out.text.push_str(translated);
                out.text.push_str("}}");
                out.translated += 1;
            }
            None => {
                out.text.push_str(whole);
                out.unknown.push(whole.to_string());
            }
        }
        rest = &rest[start + whole.len()..];
    }
    out.text.push_str(rest);
    out
}

/// Translates the placeholders of a text read from `vendor` into portable ones with the
/// vendor's `table`; each placeholder the table does not know is kept verbatim and named
/// in `untranslated`.
pub fn read_placeholders(
    text: &str,
    table: &[(&str, &str)],
    vendor: &str,
    untranslated: &mut Vec<Untranslated>,
) -> String {
    let out = translate_placeholders(text, table, Direction::ToPortable);
    for unknown in out.unknown {
        untranslated.push(Untranslated::new(
            vendor,
            RulePart::Placeholder,
            unknown,
            "no portable placeholder for it; kept verbatim",
        ));
    }
    out.text
}

/// Calls `visit` with every reference the conditions hold.
pub(crate) fn visit_conditions(c: &mut Conditions, visit: &mut dyn FnMut(Kind, &mut String)) {
    for condition in c.all.iter_mut().chain(c.any.iter_mut()) {
        if let ConditionField::CustomField(field) = &mut condition.field {
            visit(Kind::FieldDefinition, field.id_mut());
        }
        visit_value(&mut condition.value, visit);
    }
}

fn visit_value(value: &mut RuleValue, visit: &mut dyn FnMut(Kind, &mut String)) {
    match value {
        RuleValue::Group(r) => visit(Kind::Group, r.id_mut()),
        RuleValue::User(r) => visit(Kind::User, r.id_mut()),
        RuleValue::Organization(r) => visit(Kind::Organization, r.id_mut()),
        _ => {}
    }
}

/// Calls `visit` with every reference the actions hold.
pub(crate) fn visit_actions(actions: &mut [Action], visit: &mut dyn FnMut(Kind, &mut String)) {
    for action in actions {
        match action {
            Action::SetGroup { group: Some(r) } => visit(Kind::Group, r.id_mut()),
            Action::SetAssignee {
                assignee: Assignee::User(r),
            } => visit(Kind::User, r.id_mut()),
            Action::SetCustomField { field, .. } => visit(Kind::FieldDefinition, field.id_mut()),
            Action::Notify { recipient, .. } => match recipient {
                Recipient::Group(r) => visit(Kind::Group, r.id_mut()),
                Recipient::User(r) => visit(Kind::User, r.id_mut()),
                _ => {}
            },
            Action::CallWebhook { webhook, .. } => visit(Kind::Webhook, webhook.id_mut()),
            _ => {}
        }
    }
}

/// How much of a rule or macro the portable vocabulary holds: translated conditions,
/// actions and placeholders, and the parts named as untranslated, for reports and figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Conditions translated.
    pub conditions: usize,
    /// Actions translated.
    pub actions: usize,
    /// Placeholders translated (portable placeholders in bodies and subjects).
    pub placeholders: usize,
    /// Untranslated conditions.
    pub untranslated_conditions: usize,
    /// Untranslated actions.
    pub untranslated_actions: usize,
    /// Untranslated placeholders.
    pub untranslated_placeholders: usize,
    /// Other untranslated parts (events, settings).
    pub untranslated_other: usize,
}

impl Coverage {
    /// The coverage of a record's conditions, actions and untranslated parts.
    pub fn of(
        conditions: &[&Condition],
        actions: &[Action],
        untranslated: &[Untranslated],
    ) -> Self {
        let identity: Vec<(&str, &str)> = PLACEHOLDERS.iter().map(|p| (*p, *p)).collect();
        let placeholders = actions
            .iter()
            .flat_map(Action::texts)
            .map(|text| translate_placeholders(text, &identity, Direction::ToPortable).translated)
            .sum();
        let count = |part: RulePart| untranslated.iter().filter(|u| u.part == part).count();
        Coverage {
            conditions: conditions.len(),
            actions: actions.len(),
            placeholders,
            untranslated_conditions: count(RulePart::Condition),
            untranslated_actions: count(RulePart::Action),
            untranslated_placeholders: count(RulePart::Placeholder),
            untranslated_other: count(RulePart::Event) + count(RulePart::Setting),
        }
    }

    /// Adds another coverage to this one.
    pub fn add(&mut self, other: Coverage) {
        self.conditions += other.conditions;
        self.actions += other.actions;
        self.placeholders += other.placeholders;
        self.untranslated_conditions += other.untranslated_conditions;
        self.untranslated_actions += other.untranslated_actions;
        self.untranslated_placeholders += other.untranslated_placeholders;
        self.untranslated_other += other.untranslated_other;
    }

    /// Parts translated.
    pub fn translated(&self) -> usize {
        self.conditions + self.actions + self.placeholders
    }

    /// Parts named as untranslated.
    pub fn untranslated(&self) -> usize {
        self.untranslated_conditions
            + self.untranslated_actions
            + self.untranslated_placeholders
            + self.untranslated_other
    }

    /// The share translated, 0.0 to 1.0 (1.0 when there was nothing to translate).
    pub fn share(&self) -> f64 {
        let total = self.translated() + self.untranslated();
        if total == 0 {
            1.0
        } else {
            self.translated() as f64 / total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(&str, &str)] = &[
        ("ticket.title", "ticket.subject"),
        ("ticket.id", "ticket.id"),
    ];

    #[test]
    fn placeholders_translate_both_ways_and_unknown_ones_are_listed() {
        let read = translate_placeholders(
            "#{{ticket.id}}: {{ ticket.title }} {{ticket.brand}} {% if x %}",
            TABLE,
            Direction::ToPortable,
        );
        assert_eq!(
            read.text,
            "#{{ticket.id}}: {{ticket.subject}} {{ticket.brand}} {% if x %}"
        );
        assert_eq!(read.translated, 2);
        assert_eq!(read.unknown, vec!["{{ticket.brand}}", "{% if x %}"]);
        let written = translate_placeholders(&read.text, TABLE, Direction::FromPortable);
        assert_eq!(
            written.text,
            "#{{ticket.id}}: {{ticket.title}} {{ticket.brand}} {% if x %}"
        );
    }

    #[test]
    fn an_unclosed_placeholder_is_kept_and_listed() {
        let read = translate_placeholders("Hi {{ticket.id", TABLE, Direction::ToPortable);
        assert_eq!(read.text, "Hi {{ticket.id");
        assert_eq!(read.unknown, vec!["{{ticket.id"]);
    }

    #[test]
    fn references_inside_rules_are_visited() {
        let mut conditions = Conditions {
            all: vec![Condition {
                field: ConditionField::CustomField(Ref::new("f1")),
                operator: Operator::Is,
                value: RuleValue::Group(Ref::new("g1")),
            }],
            any: vec![],
        };
        let mut actions = vec![
            Action::CallWebhook {
                webhook: Ref::new("w1"),
                body: String::new(),
            },
            Action::Notify {
                recipient: Recipient::User(Ref::new("u1")),
                subject: String::new(),
                body: String::new(),
            },
        ];
        let mut seen = Vec::new();
        visit_conditions(&mut conditions, &mut |k, id| seen.push((k, id.clone())));
        visit_actions(&mut actions, &mut |k, id| seen.push((k, id.clone())));
        assert_eq!(
            seen,
            vec![
                (Kind::FieldDefinition, "f1".to_string()),
                (Kind::Group, "g1".to_string()),
                (Kind::Webhook, "w1".to_string()),
                (Kind::User, "u1".to_string()),
            ]
        );
    }

    #[test]
    fn coverage_counts_translated_and_untranslated_parts() {
        let condition = Condition {
            field: ConditionField::Status,
            operator: Operator::Is,
            value: RuleValue::Status(TicketStatus::Open),
        };
        let actions = vec![Action::PublicReply {
            body: "Hi {{ticket.requester.name}}, {{ticket.brand}}".into(),
        }];
        let untranslated = vec![Untranslated::new(
            "zendesk",
            RulePart::Placeholder,
            "{{ticket.brand}}",
            "no portable placeholder",
        )];
        let c = Coverage::of(&[&condition], &actions, &untranslated);
        assert_eq!((c.conditions, c.actions, c.placeholders), (1, 1, 1));
        assert_eq!(c.untranslated(), 1);
        assert!((c.share() - 0.75).abs() < 1e-9);
    }
}
