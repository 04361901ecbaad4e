//! Serde types for the Zendesk Support API v2 objects the adapter reads and writes, as
//! documented and as recorded (see `shared/fixtures`). Every field is optional and
//! defaulted: Zendesk omits fields by endpoint (`fields` in some CBP answers), and a
//! client that requires them breaks on the real service. Ids are 64-bit integers, except
//! webhook and job-status ids which are strings; [`Id`] accepts both.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A Zendesk id: a number for most objects, a string for webhooks and job statuses.
/// Kept as its decimal or string spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id(pub String);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Id(s)),
            Value::Number(n) => Ok(Id(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "an id must be a number or a string, found {other}"
            ))),
        }
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Numeric ids go out as numbers, as Zendesk expects them.
        match self.0.parse::<u64>() {
            Ok(n) => serializer.serialize_u64(n),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

/// Cursor-pagination metadata (`meta`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// Whether another page follows; the one stop condition.
    pub has_more: bool,
    /// Cursor of the next page.
    pub after_cursor: Option<String>,
    /// Cursor of the previous page.
    pub before_cursor: Option<String>,
}

/// Cursor-pagination links (`links`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Links {
    /// The next page (present on the last page too in Support recordings).
    pub next: Option<String>,
    /// The previous page.
    pub prev: Option<String>,
}

/// A list answer: the items under their plural key, and both pagination styles' keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListPage {
    /// CBP metadata.
    pub meta: Option<Meta>,
    /// CBP links.
    pub links: Option<Links>,
    /// OBP next page.
    pub next_page: Option<String>,
    /// OBP / show_many total.
    pub count: Option<u64>,
    /// Incremental export: next page URL.
    pub after_url: Option<String>,
    /// Incremental export: cursor of the next page.
    pub after_cursor: Option<String>,
    /// Incremental export: whether the stream is exhausted.
    pub end_of_stream: Option<bool>,
    /// Time-based incremental export: where the next page starts.
    pub end_time: Option<i64>,
    /// Everything else: the item arrays and side-loads, by key.
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

/// Where a ticket or comment came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Via {
    /// `email`, `web`, `api`, ...
    pub channel: Option<Value>,
    /// Details of the channel.
    pub source: Option<Value>,
}

/// A custom field value on a ticket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomFieldValue {
    /// The ticket field's id.
    pub id: Id,
    /// The value: string, number, boolean, array of option tags, or null.
    pub value: Value,
}

/// A ticket (`/tickets`, incremental exports, the import API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ticket {
    /// Id.
    pub id: Option<Id>,
    /// The source marker when written by a migration.
    pub external_id: Option<String>,
    /// Channel.
    pub via: Option<Via>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
    /// `problem`, `incident`, `question`, `task`.
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// First comment's text (read-only mirror).
    pub description: Option<String>,
    /// `low` .. `urgent`.
    pub priority: Option<String>,
    /// `new` .. `closed`, or `deleted` in incremental exports.
    pub status: Option<String>,
    /// Requester.
    pub requester_id: Option<Id>,
    /// Submitter.
    pub submitter_id: Option<Id>,
    /// Assignee.
    pub assignee_id: Option<Id>,
    /// Organization.
    pub organization_id: Option<Id>,
    /// Group.
    pub group_id: Option<Id>,
    /// The problem this incident belongs to.
    pub problem_id: Option<Id>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Custom field values.
    pub custom_fields: Option<Vec<CustomFieldValue>>,
    /// Same as `custom_fields` (omitted in some answers).
    pub fields: Option<Vec<CustomFieldValue>>,
    /// Brand.
    pub brand_id: Option<Id>,
    /// Form.
    pub ticket_form_id: Option<Id>,
    /// Set on import; present in some answers.
    pub solved_at: Option<String>,
    /// Incremental exports only.
    pub generated_timestamp: Option<i64>,
    /// Satisfaction rating summary.
    pub satisfaction_rating: Option<Value>,
    /// Every other field (kept as vendor leftovers).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// An attachment of a comment or an upload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Attachment {
    /// Id.
    pub id: Option<Id>,
    /// File name.
    pub file_name: Option<String>,
    /// Where the bytes are.
    pub content_url: Option<String>,
    /// MIME type.
    pub content_type: Option<String>,
    /// Bytes.
    pub size: Option<u64>,
    /// Inline image in the HTML body.
    pub inline: Option<bool>,
}

/// A ticket comment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Comment {
    /// Id.
    pub id: Option<Id>,
    /// `Comment` or `VoiceComment`.
    #[serde(rename = "type")]
    pub comment_type: Option<String>,
    /// Author.
    pub author_id: Option<Id>,
    /// Text.
    pub body: Option<String>,
    /// HTML.
    pub html_body: Option<String>,
    /// Stripped text.
    pub plain_body: Option<String>,
    /// Public reply or internal note.
    pub public: Option<bool>,
    /// Attachments.
    pub attachments: Option<Vec<Attachment>>,
    /// The audit that added it.
    pub audit_id: Option<Id>,
    /// Channel.
    pub via: Option<Via>,
    /// Client metadata; `custom` holds the migration's source marker.
    pub metadata: Option<Value>,
    /// Written at.
    pub created_at: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    /// Id.
    pub id: Option<Id>,
    /// Name.
    pub name: Option<String>,
    /// Primary e-mail.
    pub email: Option<String>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
    /// Zendesk's time zone name.
    pub time_zone: Option<String>,
    /// IANA time zone.
    pub iana_time_zone: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Locale (`en-US`).
    pub locale: Option<String>,
    /// Organization.
    pub organization_id: Option<Id>,
    /// `end-user`, `agent`, `admin`.
    pub role: Option<String>,
    /// Verified identity.
    pub verified: Option<bool>,
    /// The source marker when written by a migration.
    pub external_id: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// False for deleted users.
    pub active: Option<bool>,
    /// Suspended.
    pub suspended: Option<bool>,
    /// Details.
    pub details: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Custom field values by user field key.
    pub user_fields: Option<BTreeMap<String, Value>>,
}

/// An organization.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Organization {
    /// Id.
    pub id: Option<Id>,
    /// Name (unique).
    pub name: Option<String>,
    /// The source marker when written by a migration.
    pub external_id: Option<String>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
    /// Domains.
    pub domain_names: Option<Vec<String>>,
    /// Details.
    pub details: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Custom field values by organization field key.
    pub organization_fields: Option<BTreeMap<String, Value>>,
}

/// A group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Group {
    /// Id.
    pub id: Option<Id>,
    /// Name.
    pub name: Option<String>,
    /// Description; holds the source marker suffix when written by a migration.
    pub description: Option<String>,
    /// Deleted.
    pub deleted: Option<bool>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
}

/// A group membership.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupMembership {
    /// Id.
    pub id: Option<Id>,
    /// Agent.
    pub user_id: Option<Id>,
    /// Group.
    pub group_id: Option<Id>,
    /// Default group of the agent.
    pub default: Option<bool>,
}

/// An option of a drop-down or multi-select field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldOption {
    /// Id.
    pub id: Option<Id>,
    /// Label.
    pub name: Option<String>,
    /// Tag value.
    pub value: Option<String>,
}

/// A ticket, user or organization field definition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Field {
    /// Id.
    pub id: Option<Id>,
    /// Type (`text`, `tagger`, `dropdown`, ...; system types for ticket fields).
    #[serde(rename = "type")]
    pub field_type: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description; holds the source marker suffix for ticket fields.
    pub description: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// Active.
    pub active: Option<bool>,
    /// Required for agents.
    pub required: Option<bool>,
    /// Pattern of regexp fields.
    pub regexp_for_validation: Option<String>,
    /// Key (user and organization fields; some ticket fields).
    pub key: Option<String>,
    /// Whether a system field can be removed (false for system fields).
    pub removable: Option<bool>,
    /// Options (ticket fields).
    pub custom_field_options: Option<Vec<FieldOption>>,
}

/// A condition of a business rule as Zendesk writes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleCondition {
    /// Field.
    pub field: String,
    /// Operator.
    pub operator: String,
    /// Value.
    pub value: Value,
}

/// `{all, any}` conditions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleConditions {
    /// All must hold.
    pub all: Vec<RuleCondition>,
    /// One must hold.
    pub any: Vec<RuleCondition>,
}

/// An action of a macro or rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleAction {
    /// Field.
    pub field: String,
    /// Value.
    pub value: Value,
}

/// A macro, trigger or automation (the same shape, macros without conditions).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// Id.
    pub id: Option<Id>,
    /// Title; holds the source marker suffix when written by a migration.
    pub title: Option<String>,
    /// Active.
    pub active: Option<bool>,
    /// Position.
    pub position: Option<i64>,
    /// Description.
    pub description: Option<String>,
    /// Conditions (triggers, automations).
    pub conditions: Option<RuleConditions>,
    /// Actions.
    pub actions: Option<Vec<RuleAction>>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
}

/// A view.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct View {
    /// Id.
    pub id: Option<Id>,
    /// Title; holds the source marker suffix when written by a migration.
    pub title: Option<String>,
    /// Active.
    pub active: Option<bool>,
    /// Position.
    pub position: Option<i64>,
    /// Conditions.
    pub conditions: Option<RuleConditions>,
    /// Columns and sorting.
    pub execution: Option<ViewExecution>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
}

/// How a view shows its tickets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ViewExecution {
    /// Columns: objects with `id` (recorded) or plain names.
    pub columns: Option<Vec<Value>>,
    /// Sort field.
    pub sort_by: Option<String>,
    /// `asc` or `desc`.
    pub sort_order: Option<String>,
}

/// Webhook authentication, without secrets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebhookAuth {
    /// `basic_auth`, `bearer_token`, `api_key`.
    #[serde(rename = "type")]
    pub auth_type: Option<String>,
    /// Non-secret parts (`username`, `name` of the header).
    pub data: Option<Value>,
    /// `header`.
    pub add_position: Option<String>,
}

/// A webhook.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Webhook {
    /// Id (a ULID string).
    pub id: Option<Id>,
    /// Name.
    pub name: Option<String>,
    /// Description; holds the source marker when written by a migration.
    pub description: Option<String>,
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// Subscribed events.
    pub subscriptions: Option<Vec<String>>,
    /// Endpoint.
    pub endpoint: Option<String>,
    /// Method.
    pub http_method: Option<String>,
    /// `json`, `xml`, `form_encoded`.
    pub request_format: Option<String>,
    /// Authentication.
    pub authentication: Option<WebhookAuth>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
}

/// One target of an SLA policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyMetric {
    /// Priority.
    pub priority: Option<String>,
    /// Metric.
    pub metric: Option<String>,
    /// Minutes.
    pub target: Option<u64>,
    /// Business hours only.
    pub business_hours: Option<bool>,
}

/// An SLA policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SlaPolicy {
    /// Id.
    pub id: Option<Id>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// Filter.
    pub filter: Option<RuleConditions>,
    /// Targets.
    pub policy_metrics: Option<Vec<PolicyMetric>>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
}

/// A satisfaction rating.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SatisfactionRating {
    /// Id.
    pub id: Option<Id>,
    /// Rated ticket.
    pub ticket_id: Option<Id>,
    /// Who rated.
    pub requester_id: Option<Id>,
    /// `good`, `bad`, `offered`, `unoffered`.
    pub score: Option<String>,
    /// Remark.
    pub comment: Option<String>,
    /// Created.
    pub created_at: Option<String>,
}

/// A Help Center category, section or article (the shared subset of their fields).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HcItem {
    /// Id.
    pub id: Option<Id>,
    /// Category or section name.
    pub name: Option<String>,
    /// Article title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Article body.
    pub body: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Source locale.
    pub source_locale: Option<String>,
    /// Position.
    pub position: Option<i64>,
    /// Section's category.
    pub category_id: Option<Id>,
    /// Nested section's parent.
    pub parent_section_id: Option<Id>,
    /// Article's section.
    pub section_id: Option<Id>,
    /// Article's author.
    pub author_id: Option<Id>,
    /// Article draft.
    pub draft: Option<bool>,
    /// Article labels.
    pub label_names: Option<Vec<String>>,
    /// Article's permission group.
    pub permission_group_id: Option<Id>,
    /// Created.
    pub created_at: Option<String>,
    /// Updated.
    pub updated_at: Option<String>,
}

/// A Help Center translation (`/help_center/articles/{id}/translations`): the content of
/// an article in one locale, its source locale included.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Translation {
    /// Id.
    pub id: Option<Id>,
    /// Locale (`en-us`, `de`...).
    pub locale: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// HTML body.
    pub body: Option<String>,
    /// Whether this locale's version is a draft.
    pub draft: Option<bool>,
}

/// A Help Center article attachment (`/help_center/articles/{id}/attachments`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArticleAttachment {
    /// Id.
    pub id: Option<Id>,
    /// The article.
    pub article_id: Option<Id>,
    /// File name.
    pub file_name: Option<String>,
    /// Where the bytes are.
    pub content_url: Option<String>,
    /// MIME type.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Whether it is an inline image of the body.
    pub inline: Option<bool>,
}

/// A Guide permission group (`/guide/permission_groups`): who may edit and publish
/// articles; every article names one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PermissionGroup {
    /// Id.
    pub id: Option<Id>,
    /// Name (`Admins` for the built-in one).
    pub name: Option<String>,
    /// Whether Zendesk made it (it cannot be deleted).
    pub built_in: Option<bool>,
}

/// A job status of a bulk request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobStatus {
    /// Id (a string).
    pub id: Option<Id>,
    /// `queued`, `working`, `completed`, `failed`, `killed`.
    pub status: Option<String>,
    /// Items.
    pub total: Option<u64>,
    /// Items done.
    pub progress: Option<u64>,
    /// Human message.
    pub message: Option<String>,
    /// Per-item results, not in request order.
    pub results: Option<Vec<JobResult>>,
}

/// One item's result in a job status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobResult {
    /// Request index.
    pub index: Option<usize>,
    /// Id of the record made or changed.
    pub id: Option<Id>,
    /// `create` or `update`.
    pub action: Option<String>,
    /// `Created`, `Updated`, `Failed`...
    pub status: Option<String>,
    /// Whether it worked.
    pub success: Option<bool>,
    /// Error code of a failed item.
    pub error: Option<Value>,
    /// Error detail of a failed item.
    pub details: Option<Value>,
    /// The item's external id, when the job reports it.
    pub external_id: Option<String>,
}

impl JobStatus {
    /// The per-item results keyed by request index (Zendesk lists them in any order).
    pub fn results_by_index(self) -> std::collections::HashMap<usize, JobResult> {
        self.results
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.index.map(|i| (i, r)))
            .collect()
    }
}

impl JobResult {
    /// The id of the record the item made or changed, when it worked.
    pub fn succeeded_id(&self) -> Option<&Id> {
        self.id
            .as_ref()
            .filter(|_| self.error.is_none() && self.success != Some(false))
    }

    /// Why the item failed, as Zendesk put it.
    pub fn failure_reason(self) -> Option<String> {
        self.details.or(self.error).map(|d| d.to_string())
    }
}

/// The answer to `POST /uploads`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Upload {
    /// Token to pass in a comment's `uploads`.
    pub token: Option<String>,
    /// The attachment made.
    pub attachment: Option<Attachment>,
    /// All attachments of the upload.
    pub attachments: Option<Vec<Attachment>>,
}

/// A Zendesk error body: `{"error": ..., "description": ..., "details": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// Code (`RecordInvalid`, `RecordNotFound`) or an object in older answers.
    pub error: Option<Value>,
    /// Text.
    pub description: Option<String>,
    /// Per-field problems.
    pub details: Option<BTreeMap<String, Vec<ErrorDetail>>>,
    /// OBP depth errors.
    pub errors: Option<Vec<Value>>,
}

/// One problem in an error body's `details`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    /// Text (always present).
    pub description: Option<String>,
    /// Code.
    pub error: Option<String>,
}

impl ErrorBody {
    /// The first field and reason named by the body, for an invalid-record error.
    pub fn field_and_reason(&self) -> Option<(String, String)> {
        if let Some(details) = &self.details {
            for (field, problems) in details {
                if let Some(problem) = problems.first() {
                    return Some((
                        field.clone(),
                        problem.description.clone().unwrap_or_default(),
                    ));
                }
            }
        }
        self.description.clone().map(|d| (String::new(), d))
    }
}

fn parse_one<T: serde::de::DeserializeOwned>(key: &str, value: &Value) -> Result<(), String> {
    let result = match value {
        Value::Array(items) => items.iter().try_for_each(|v| T::deserialize(v).map(|_| ())),
        Value::Null => Ok(()),
        other => T::deserialize(other).map(|_| ()),
    };
    result.map_err(|e| format!("'{key}': {e}"))
}

/// Parses every object of a Zendesk response body that the adapter has a type for, by
/// its top-level key; returns the keys it parsed. Used to check the adapter's types
/// against recorded responses.
pub fn parse_known(body: &Value) -> Result<Vec<String>, String> {
    let Value::Object(map) = body else {
        return Ok(Vec::new());
    };
    let mut parsed = Vec::new();
    for (key, value) in map {
        let result = match key.as_str() {
            "ticket" | "tickets" | "results" if key != "results" || is_tickets(value) => {
                parse_one::<Ticket>(key, value)
            }
            "comment" | "comments" => parse_one::<Comment>(key, value),
            "user" | "users" => parse_one::<User>(key, value),
            "organization" | "organizations" => parse_one::<Organization>(key, value),
            "group" | "groups" => parse_one::<Group>(key, value),
            "group_membership" | "group_memberships" => parse_one::<GroupMembership>(key, value),
            "ticket_field"
            | "ticket_fields"
            | "user_field"
            | "user_fields"
            | "organization_field"
            | "organization_fields" => parse_one::<Field>(key, value),
            "macro" | "macros" | "trigger" | "triggers" | "automation" | "automations" => {
                parse_one::<Rule>(key, value)
            }
            "view" | "views" => parse_one::<View>(key, value),
            "webhook" | "webhooks" => parse_one::<Webhook>(key, value),
            "sla_policy" | "sla_policies" => parse_one::<SlaPolicy>(key, value),
            "satisfaction_rating" | "satisfaction_ratings" => {
                parse_one::<SatisfactionRating>(key, value)
            }
            "category" | "categories" | "section" | "sections" | "article" | "articles" => {
                parse_one::<HcItem>(key, value)
            }
            "translation" | "translations" => parse_one::<Translation>(key, value),
            "article_attachment" | "article_attachments" => {
                parse_one::<ArticleAttachment>(key, value)
            }
            "permission_group" | "permission_groups" => parse_one::<PermissionGroup>(key, value),
            "job_status" | "job_statuses" => parse_one::<JobStatus>(key, value),
            "upload" => parse_one::<Upload>(key, value),
            "attachment" | "attachments" => parse_one::<Attachment>(key, value),
            "meta" => parse_one::<Meta>(key, value),
            "links" => parse_one::<Links>(key, value),
            "error" | "details" | "description" => continue,
            _ => continue,
        };
        result?;
        parsed.push(key.clone());
    }
    if map.contains_key("error") || map.contains_key("errors") {
        ErrorBody::deserialize(body).map_err(|e| format!("error body: {e}"))?;
        parsed.push("error".into());
    }
    Ok(parsed)
}

fn is_tickets(value: &Value) -> bool {
    value
        .as_array()
        .and_then(|a| a.first())
        .and_then(|t| t.get("result_type"))
        .and_then(Value::as_str)
        == Some("ticket")
}
