//! The record types of the canonical model.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::rules::{Action, Conditions, RuleEvent, Untranslated};
use crate::{Extra, Ref, Timestamp};

/// Typed custom field values keyed by the field definition they belong to.
pub type CustomFields = BTreeMap<Ref<FieldDefinition>, FieldValue>;

/// A customer company.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Organization {
    /// Id in the system the record was read from.
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail domains whose users belong to this organization.
    pub domains: BTreeSet<String>,
    /// Free-text details shown to agents.
    pub details: Option<String>,
    /// Internal notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// What a user may do in the helpdesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// A customer who asks for help.
    #[default]
    EndUser,
    /// A support agent.
    Agent,
    /// An agent who also administers the helpdesk.
    Admin,
}

/// Whether a user account can still be used. Suspended and deleted users are still
/// referenced by old tickets and comments and must migrate with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// Normal account.
    #[default]
    Active,
    /// Blocked from signing in, still present.
    Suspended,
    /// Deleted in the source; kept because records reference it.
    Deleted,
}

/// An end user, agent or admin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Id in the system the record was read from.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Primary e-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Role.
    pub role: UserRole,
    /// Account state.
    pub state: UserState,
    /// The organization the user belongs to.
    pub organization: Option<Ref<Organization>>,
    /// Preferred locale (BCP 47, e.g. `en-US`).
    pub locale: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A group of agents (a team, an RT queue).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    /// Id in the system the record was read from.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// Membership of an agent in a group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMembership {
    /// Id in the system the record was read from.
    pub id: String,
    /// The group.
    pub group: Ref<Group>,
    /// The agent.
    pub user: Ref<User>,
    /// Whether this is the agent's default group.
    pub is_default: bool,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// Which records a custom field applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldObject {
    /// Ticket fields.
    #[default]
    Ticket,
    /// User fields.
    User,
    /// Organization fields.
    Organization,
}

/// The type of a custom field, which decides the type of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    #[default]
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole or decimal number.
    Number,
    /// A calendar date.
    Date,
    /// A yes/no box.
    Checkbox,
    /// One value out of a list of options.
    Dropdown,
    /// Several values out of a list of options.
    MultiSelect,
    /// Text that must match a regular expression.
    Regex,
}

/// One option of a dropdown or multi-select field.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldOption {
    /// The stored value (Zendesk's tag, Freshdesk's choice).
    pub value: String,
    /// The label shown to people.
    pub label: String,
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldDefinition {
    /// Id in the system the record was read from.
    pub id: String,
    /// What the field applies to.
    pub object: FieldObject,
    /// Machine key (Zendesk `key`, Freshdesk `cf_` name, RT custom field name).
    pub key: String,
    /// Title shown to agents.
    pub title: String,
    /// Type of the field.
    pub field_type: FieldType,
    /// Options of dropdown and multi-select fields, in display order.
    pub options: Vec<FieldOption>,
    /// The pattern of a regex field.
    pub pattern: Option<String>,
    /// Whether agents must fill it.
    pub required: bool,
    /// Whether it is in use.
    pub active: bool,
    /// Display position.
    pub position: Option<i64>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A typed custom field value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// Text, textarea and regex fields.
    Text(String),
    /// Number fields.
    Number(f64),
    /// Date fields, `YYYY-MM-DD`.
    Date(String),
    /// Checkbox fields.
    Checkbox(bool),
    /// Dropdown fields: the option value.
    Dropdown(String),
    /// Multi-select fields: the option values, as a set.
    MultiSelect(BTreeSet<String>),
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Not yet looked at.
    #[default]
    New,
    /// Being worked on.
    Open,
    /// Waiting for the requester.
    Pending,
    /// Waiting for a third party.
    OnHold,
    /// Solved, may reopen.
    Solved,
    /// Closed for good.
    Closed,
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    /// A question.
    Question,
    /// An incident.
    Incident,
    /// A problem behind incidents.
    Problem,
    /// A task with a due date.
    Task,
}

/// How two tickets relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// This ticket depends on the other.
    DependsOn,
    /// The other ticket depends on this one.
    DependedOnBy,
    /// This ticket refers to the other.
    RefersTo,
    /// The other ticket refers to this one.
    ReferredToBy,
    /// The other ticket is this one's parent.
    Parent,
    /// The other ticket is this one's child.
    Child,
    /// This ticket is an incident of the other (a problem).
    IncidentOf,
}

/// A link from a ticket to another ticket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TicketLink {
    /// How they relate.
    pub kind: LinkKind,
    /// The other ticket.
    pub ticket: Ref<Ticket>,
}

/// A ticket.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ticket {
    /// Id in the system the record was read from.
    pub id: String,
    /// Subject line.
    pub subject: String,
    /// Status.
    pub status: TicketStatus,
    /// Priority.
    pub priority: Option<Priority>,
    /// Type.
    pub ticket_type: Option<TicketType>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Who asked.
    pub requester: Option<Ref<User>>,
    /// Who submitted it on the requester's behalf.
    pub submitter: Option<Ref<User>>,
    /// The agent working on it.
    pub assignee: Option<Ref<User>>,
    /// The group working on it.
    pub group: Option<Ref<Group>>,
    /// The requester's organization.
    pub organization: Option<Ref<Organization>>,
    /// Channel it came in through (email, web, phone, chat, api).
    pub channel: Option<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
    /// Links to other tickets, as a set.
    pub links: BTreeSet<TicketLink>,
    /// Whether the source archived it (Zendesk archives closed tickets after 120 days).
    pub archived: bool,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// When it was solved.
    pub solved_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A file attached to a comment or article. The bytes are not in the model: the source
/// adapter opens them on demand from `location`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Attachment {
    /// Id in the system the record was read from.
    pub id: String,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex, once known.
    pub sha256: Option<String>,
    /// Whether it is an inline image referenced from the HTML body.
    pub inline: bool,
    /// Where the source adapter fetches the bytes (a URL, a blob key). Not portable.
    pub location: Option<String>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A public reply or private note on a ticket, with its attachments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Comment {
    /// Id in the system the record was read from.
    pub id: String,
    /// The ticket it belongs to.
    pub ticket: Ref<Ticket>,
    /// Who wrote it.
    pub author: Option<Ref<User>>,
    /// Public reply (visible to the requester) or private note.
    pub public: bool,
    /// HTML body.
    pub body_html: Option<String>,
    /// Plain text body.
    pub body_text: String,
    /// Attachments, in order.
    pub attachments: Vec<Attachment>,
    /// When it was written.
    pub created_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A satisfaction score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Score {
    /// Thumbs up.
    Good,
    /// Thumbs down.
    Bad,
    /// A point on a scale (Freshdesk's 1..5 and similar).
    Scale {
        /// The chosen point.
        value: i64,
        /// The top of the scale.
        max: i64,
    },
}

/// A customer satisfaction rating of a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionRating {
    /// Id in the system the record was read from.
    pub id: String,
    /// The rated ticket.
    pub ticket: Ref<Ticket>,
    /// Who rated.
    #[serde(default)]
    pub requester: Option<Ref<User>>,
    /// The score.
    pub score: Score,
    /// The customer's remark.
    #[serde(default)]
    pub comment: Option<String>,
    /// When it was given.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Vendor leftovers.
    #[serde(default)]
    pub extra: Extra,
}

/// A knowledge base category.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KbCategory {
    /// Id in the system the record was read from.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Source locale.
    pub locale: Option<String>,
    /// Display position.
    pub position: Option<i64>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A knowledge base section (a folder), possibly nested.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KbSection {
    /// Id in the system the record was read from.
    pub id: String,
    /// The category it is in.
    pub category: Ref<KbCategory>,
    /// The parent section, for nested sections.
    pub parent: Option<Ref<KbSection>>,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Source locale.
    pub locale: Option<String>,
    /// Display position.
    pub position: Option<i64>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// A translation of an article into another locale.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Translation {
    /// Locale of this translation.
    pub locale: String,
    /// Translated title.
    pub title: String,
    /// Translated HTML body.
    pub body_html: String,
}

/// A knowledge base article.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KbArticle {
    /// Id in the system the record was read from.
    pub id: String,
    /// The section it is in.
    pub section: Ref<KbSection>,
    /// Who wrote it.
    pub author: Option<Ref<User>>,
    /// Title in the source locale.
    pub title: String,
    /// HTML body in the source locale.
    pub body_html: String,
    /// Source locale.
    pub locale: String,
    /// Whether it is an unpublished draft.
    pub draft: bool,
    /// Labels.
    pub labels: BTreeSet<String>,
    /// Translations into other locales, keyed by locale.
    pub translations: BTreeMap<String, Translation>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// An agent macro.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Macro {
    /// Id in the system the record was read from.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Whether agents can use it.
    pub active: bool,
    /// What it does.
    pub actions: Vec<Action>,
    /// Display position.
    pub position: Option<i64>,
    /// Actions the source used that have no portable form, named for the report.
    pub untranslated: Vec<Untranslated>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// Whether a business rule fires on ticket events or on a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Fires when a ticket is created or updated.
    #[default]
    Trigger,
    /// Fires on a schedule for tickets matching time-based conditions.
    Automation,
}

/// A business rule: a trigger or time-based automation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// Id in the system the record was read from.
    pub id: String,
    /// Trigger or automation.
    pub rule_kind: RuleKind,
    /// Title.
    pub title: String,
    /// Whether it fires. Targets create migrated rules switched off; `cutover
    /// --enable-rules` switches on those active in the source.
    pub active: bool,
    /// When it is evaluated (ticket created, updated, hourly).
    pub events: BTreeSet<RuleEvent>,
    /// Which tickets it acts on.
    pub conditions: Conditions,
    /// What it does.
    pub actions: Vec<Action>,
    /// Order of evaluation.
    pub position: Option<i64>,
    /// Events, conditions, actions, placeholders or settings with no portable form (or
    /// none on the target), named with their reason for the report.
    pub untranslated: Vec<Untranslated>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// How a webhook authenticates to its endpoint. Only the kind and non-secret parts move;
/// secrets must be entered again on the target.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WebhookAuth {
    /// No authentication.
    #[default]
    None,
    /// HTTP basic authentication with this user name.
    Basic {
        /// User name (the password is a secret and does not move).
        username: String,
    },
    /// A bearer token (does not move).
    BearerToken,
    /// An API key in a header (the key does not move).
    ApiKey {
        /// Header name.
        header: String,
    },
}

/// An outgoing webhook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Webhook {
    /// Id in the system the record was read from.
    pub id: String,
    /// Name.
    pub name: String,
    /// Endpoint URL.
    pub endpoint: String,
    /// HTTP method (`POST`, `PUT`...).
    pub method: String,
    /// Request format (`json`, `xml`, `form_encoded`).
    pub format: String,
    /// Authentication kind, without secrets.
    pub auth: WebhookAuth,
    /// Whether it is active.
    pub active: bool,
    /// Events it subscribes to.
    pub subscriptions: BTreeSet<String>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// One target of an SLA policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaTarget {
    /// The priority it applies to.
    pub priority: Option<Priority>,
    /// Metric (`first_reply_time`, `next_reply_time`, `periodic_update_time`,
    /// `requester_wait_time`, `agent_work_time`, `resolution_time`).
    pub metric: String,
    /// Target in minutes.
    pub minutes: u64,
    /// Whether it counts business hours only.
    pub business_hours: bool,
}

/// A service level agreement policy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaPolicy {
    /// Id in the system the record was read from.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Order of evaluation.
    pub position: Option<i64>,
    /// Which tickets it applies to.
    pub filter: Conditions,
    /// Targets per priority and metric.
    pub targets: Vec<SlaTarget>,
    /// Filter conditions or settings with no portable form, named for the report.
    pub untranslated: Vec<Untranslated>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}

/// An agent's ticket view (a saved filter).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct View {
    /// Id in the system the record was read from.
    pub id: String,
    /// Title.
    pub title: String,
    /// Whether it is shown.
    pub active: bool,
    /// Which tickets it shows.
    pub conditions: Conditions,
    /// Conditions or settings with no portable form, named for the report.
    pub untranslated: Vec<Untranslated>,
    /// Columns shown, as canonical field names.
    pub columns: Vec<String>,
    /// Field it sorts by.
    pub sort_by: Option<String>,
    /// Whether it sorts ascending.
    pub sort_ascending: bool,
    /// Display position.
    pub position: Option<i64>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
    /// Vendor leftovers.
    pub extra: Extra,
}
