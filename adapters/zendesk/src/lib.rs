//! Zendesk Support API v2 as a Switchover source and target.
//!
//! Reading:
//! - tickets and users through the cursor-based incremental exports
//!   (`/incremental/tickets/cursor`, `/incremental/users/cursor`), which include archived
//!   tickets, deleted tickets (`status: "deleted"`, skipped) and deleted users (`active:
//!   false`); `changed_since` becomes `start_time` (organizations then use the time-based
//!   export, and a fully read kind cursor pagination);
//! - everything else through cursor pagination (`page[size]`, stopping on
//!   `meta.has_more == false`); tickets side-load `metric_sets`, where `solved_at` lives;
//! - comments ticket by ticket (`/tickets/{id}/comments`), following the ticket export;
//!   attachment bytes are streamed from `content_url` on demand.
//!
//! A cursor is the next URL the API gave (plus, for comments, the tickets still to
//! visit), so a fresh adapter resumes where another stopped.
//!
//! Writing (source markers, so a resumed run finds what a killed run wrote):
//! - organizations and users: `create_or_update_many` keyed by `external_id` = source id,
//!   polling the job status until it completes;
//! - tickets: the Ticket Import API (`/imports/tickets/create_many`, 100 per job) with
//!   `external_id` = source id, original timestamps and no triggers; comments are added
//!   by ticket update with their author and uploaded attachments, the source marker sent
//!   as the update's `metadata` (Zendesk keeps it as the comment's
//!   `metadata.custom.switchover_source_id`); tickets closed in the source are imported
//!   `solved` and closed by [`Target::finish`] once their comments are in (Zendesk
//!   refuses updates to closed tickets);
//! - groups, custom fields, SLA policies, Help Center categories and sections, macros,
//!   triggers, automations and views have no external id: their marker is a
//!   `[switchover:<source id>]` suffix of the description or (macros, rules, views) the
//!   title, stripped when reading; webhooks carry it in their description;
//! - group memberships have no external id and no free text: the (agent, group) pair is
//!   their key, looked up per agent before creating (`create_many` and its job), so a
//!   resumed or retried write adopts the membership instead of duplicating it;
//! - Help Center articles carry their marker as a hidden element at the end of the
//!   source locale's body, pending until their translations and attachments are in (see
//!   `write/articles.rs`); they need a permission group (the plan's or the built-in one);
//! - a create that fails so that it is unknown whether Zendesk processed it is looked up
//!   by its marker before it is sent again, so faults never duplicate a record.

#![deny(missing_docs)]

mod bodies;
mod convert;
mod read;
mod rules;
pub mod wire;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde_json::Value;
use switchover_adapter::{
    AdapterError, AdapterSpec, Capabilities, ContentSource, KindCapability, LossyField, Page,
    PageRequest, Preflight, ReadBackPage, RequestCost, Settings, Source, Target, TargetInfo,
    WriteOutcome, WriteRequest,
};
use switchover_http::{Auth, ClientConfig, HttpClient, Request};
use switchover_model::{Attachment, Kind};

/// The adapter's name in plans.
pub const NAME: &str = "zendesk";

/// The adapter's one entry in the CLI: the adapter and its emulator.
pub fn platform() -> switchover_sandbox::Platform {
    switchover_sandbox::Platform::new(register()).with_emulator(switchover_zendesk_emulator::spec())
}

/// Registers the Zendesk adapter.
pub fn register() -> AdapterSpec {
    AdapterSpec {
        name: NAME,
        summary: "Zendesk Support API v2: users, organizations, groups, custom fields, tickets with comments and attachments, ratings, Help Center, macros, rules, views, webhooks, SLA policies",
        settings_help: &[
            "subdomain = \"acme\"                 the account (https://acme.zendesk.com), or",
            "url = \"https://acme.zendesk.com\"  the base URL (an emulator's http://127.0.0.1:PORT)",
            "email = \"admin@acme.com\"          with api_token: email/token basic auth",
            "api_token = \"env:ZENDESK_TOKEN\"   API token (env:VAR or file:PATH)",
            "oauth_token = \"env:ZENDESK_OAUTH\" or an OAuth access token instead",
            "requests_per_minute = 700          optional request budget (the plan's limit)",
            "permission_group_id = 360001234    optional Guide permission group for written articles (default: the built-in one)",
        ],
        capabilities,
        source: Some(|settings| Ok(Box::new(Zendesk::connect(settings)?))),
        target: Some(|settings| Ok(Box::new(Zendesk::connect(settings)?))),
    }
}

fn writable(
    fields: &[&str],
    lost: &[(&str, &str)],
    incremental: bool,
    max_batch: usize,
    cost: RequestCost,
) -> KindCapability {
    KindCapability {
        read: true,
        incremental,
        write: true,
        update: true,
        read_back: true,
        delete: true,
        fields: switchover_model::digest::field_set(fields.iter().copied()),
        lossy: LossyField::list(lost),
        max_batch,
        write_cost: cost,
        page_size: 100,
        embeds: None,
        matched_only: false,
    }
}

fn read_only(fields: &[&str], incremental: bool) -> KindCapability {
    KindCapability {
        read: true,
        incremental,
        fields: switchover_model::digest::field_set(fields.iter().copied()),
        max_batch: 1,
        page_size: 100,
        ..Default::default()
    }
}

const TIMES_SET_BY_ZENDESK: &str = "Zendesk sets it to the time of the write";

/// What Zendesk can do, declared per kind: the fields listed round-trip exactly.
pub fn capabilities() -> Capabilities {
    let mut caps = Capabilities::new(NAME);
    let per = |per_batch: f64, per_record: f64, per_attachment: f64| RequestCost {
        per_batch,
        per_record,
        per_attachment,
    };
    caps.kinds.insert(
        Kind::FieldDefinition,
        writable(
            &[
                "object",
                "key",
                "title",
                "field_type",
                "options",
                "pattern",
                "required",
                "active",
            ],
            &[
                (
                    "position",
                    "Zendesk renumbers positions among the account's fields",
                ),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::Organization,
        writable(
            &[
                "name",
                "domains",
                "details",
                "notes",
                "tags",
                "custom_fields",
            ],
            &[
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            true,
            100,
            per(3.0, 0.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::User,
        writable(
            &["name", "email", "phone", "role", "state", "organization", "tags", "custom_fields"],
            &[
                ("locale", "written as given; Zendesk keeps its own locale list and may answer another spelling"),
                ("time_zone", "written as given; Zendesk keeps its own time zone names (\"Berlin\" for Europe/Berlin)"),
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            true,
            100,
            per(3.0, 0.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::Group,
        writable(
            &["name", "description"],
            &[
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::GroupMembership,
        writable(
            &["group", "user", "is_default"],
            &[("extra", "not kept")],
            false,
            100,
            // create_many and about two job polls per batch; one membership listing per
            // agent of the batch (the pair is the only key).
            per(3.0, 1.0, 0.0),
        ),
    );
    let mut tickets = writable(
        &[
            "subject",
            "status",
            "priority",
            "ticket_type",
            "tags",
            "requester",
            "assignee",
            "group",
            "custom_fields",
            "created_at",
            "solved_at",
        ],
        &[
            (
                "updated_at",
                "kept from the source by the import, but Zendesk moves it to the time of any later update (a delta run's changes, completing a link to a ticket written after it)",
            ),
            (
                "submitter",
                "Zendesk sets a ticket's submitter to its requester when none is given",
            ),
            (
                "organization",
                "Zendesk sets a ticket's organization to its requester's when none is given",
            ),
            (
                "channel",
                "the Ticket Import API records the channel as 'api'",
            ),
            (
                "links",
                "Zendesk links tickets only as incident -> problem (problem_id); other link kinds are not kept, and a closed incident keeps no link to a problem ticket written after it",
            ),
            (
                "archived",
                "the API does not say whether a ticket is archived (Zendesk archives closed tickets itself after 120 days); read as false, and imported without archive_immediately because archived tickets refuse the updates a delta run or a link completion makes",
            ),
            ("extra", "not kept"),
        ],
        true,
        100,
        // The import and its job polls per batch; per ticket its marker lookup (a
        // resumed or repeated write must not import it twice) and one read of its
        // comments to learn their ids; per attachment of its comments one upload.
        per(3.0, 2.0, 1.0),
    );
    tickets.embeds = Some(Kind::Comment);
    caps.kinds.insert(Kind::Ticket, tickets);
    caps.kinds.insert(
        Kind::Comment,
        writable(
            &[
                "ticket", "author", "public", "body_html", "created_at", "attachments.file_name",
                "attachments.content_type", "attachments.size", "attachments.sha256",
            ],
            &[
                ("body_text", "Zendesk derives the plain text from the HTML body"),
                ("attachments.inline", "attachments are uploaded as files; Zendesk marks images inline only when the HTML body references their content URL"),
                ("extra", "not kept"),
            ],
            true,
            20,
            per(0.0, 1.0, 1.0),
        ),
    );
    if let Some(comments) = caps.kinds.get_mut(&Kind::Comment) {
        // Zendesk can redact a comment, not delete or edit it; rollback deletes the ticket.
        comments.delete = false;
        comments.update = false;
    }
    caps.kinds.insert(
        Kind::SatisfactionRating,
        read_only(
            &["ticket", "requester", "score", "comment", "created_at"],
            false,
        ),
    );
    let hc_lost: &[(&str, &str)] = &[
        ("created_at", TIMES_SET_BY_ZENDESK),
        ("updated_at", TIMES_SET_BY_ZENDESK),
        ("extra", "not kept"),
    ];
    caps.kinds.insert(
        Kind::KbCategory,
        writable(
            &["name", "description", "locale", "position"],
            hc_lost,
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::KbSection,
        writable(
            &[
                "category",
                "parent",
                "name",
                "description",
                "locale",
                "position",
            ],
            hc_lost,
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::KbArticle,
        writable(
            &[
                "section",
                "author",
                "title",
                "body_html",
                "locale",
                "draft",
                "labels",
                "translations",
                "attachments.file_name",
                "attachments.content_type",
                "attachments.size",
                "attachments.sha256",
                "attachments.inline",
            ],
            &[
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            // The marker scan per batch; per article the create, the translation and
            // attachment listings (updates) and the final marker; one request per
            // translation and per attachment on top.
            per(1.0, 4.0, 1.0),
        ),
    );
    caps.kinds.insert(
        Kind::Macro,
        writable(
            &["title", "description", "active", "actions"],
            &[
                ("untranslated", "parts with no portable form (or none on Zendesk) are named in the reports for a person to rebuild; those read from Zendesk are written back verbatim"),
                ("position", "Zendesk renumbers positions"),
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::Rule,
        writable(
            &["rule_kind", "title", "events", "conditions", "actions"],
            &[
                ("active", "created switched off, so that nothing fires during the migration; `switchover cutover PLAN --enable-rules` switches on those active in the source"),
                ("untranslated", "parts with no portable form (or none on Zendesk) are named in the reports for a person to rebuild; those read from Zendesk are written back verbatim"),
                ("position", "Zendesk renumbers positions"),
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::View,
        writable(
            &[
                "title",
                "active",
                "conditions",
                "columns",
                "sort_by",
                "sort_ascending",
            ],
            &[
                ("untranslated", "parts with no portable form (or none on Zendesk) are named in the reports for a person to rebuild; those read from Zendesk are written back verbatim"),
                ("position", "Zendesk renumbers positions"),
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::Webhook,
        writable(
            &[
                "name",
                "endpoint",
                "method",
                "format",
                "auth",
                "subscriptions",
            ],
            &[
                ("active", "created switched off, so that nothing fires during the migration; `switchover cutover PLAN --enable-rules` switches on those active in the source"),
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.kinds.insert(
        Kind::SlaPolicy,
        writable(
            &["title", "description", "filter", "targets"],
            &[
                ("untranslated", "parts with no portable form (or none on Zendesk) are named in the reports for a person to rebuild; those read from Zendesk are written back verbatim"),
                ("position", "Zendesk renumbers positions"),
                ("created_at", TIMES_SET_BY_ZENDESK),
                ("updated_at", TIMES_SET_BY_ZENDESK),
                ("extra", "not kept"),
            ],
            false,
            20,
            per(0.0, 1.0, 0.0),
        ),
    );
    caps.max_attachment_bytes = Some(50 * 1024 * 1024);
    caps.requests_per_minute = Some(400);
    // Support API budgets per plan (vendor-apis.md §1.3).
    caps.plan_tiers = switchover_adapter::PlanTier::list(&[
        ("Team", 200),
        ("Growth / Professional", 400),
        ("Enterprise", 700),
        ("Enterprise Plus, or the High Volume API add-on", 2500),
    ]);
    caps.reads_back_attachment_content = true;
    caps.read_back_hashes_attachments = true;
    caps.notes = vec![
        "source markers: organizations, users and tickets use external_id; comments the audit metadata (metadata.custom.switchover_source_id); groups, custom fields, SLA policies and Help Center categories and sections a '[switchover:<id>]' suffix of their description; macros, triggers, automations and views a ' [switchover:<id>]' suffix of their title; webhooks their description. Suffixes are stripped when reading".into(),
        "new tickets are written with the Ticket Import API carrying their comments (authors, original times, visibility, uploaded attachments): no triggers fire and no one is e-mailed; tickets closed in the source are imported closed. After each import the ticket's comments are read once to learn their ids, which imported comments cannot carry a marker for: they are matched in order by author, visibility and creation second".into(),
        "comments added to tickets already on Zendesk (a delta run's new comments, or a comment whose author was not on the target when its ticket was imported) go by ticket update: they carry the time of the write (verify lists them as differing in created_at), and the update runs triggers: preflight lists active triggers that notify people".into(),
        "archived tickets are read through the incremental export (GET /tickets does not list them)".into(),
        "deleted users are read from the incremental user export (active: false); written as suspended users tagged switchover_deleted, since Zendesk cannot import a deleted user that tickets still reference".into(),
        "satisfaction ratings are read but not written: only the ticket's requester can rate; Help Center categories and sections and SLA policies (Professional plan and up) carry the '[switchover:<id>]' marker in their description".into(),
        "group memberships have no external id or free text for a marker: the (agent, group) pair is their key. Every write lists the agent's memberships first and adopts a membership of the same group instead of creating a second, so a resumed or retried run never duplicates one; after a restart find_by_source knows no pairs, so a membership an interrupted run wrote is matched when it is written again. A membership the target already had (or one an interrupted run wrote, found again with no id map row) is reported adopted, and rollback leaves it. Only agents and admins can be group members: an end user's membership is refused per record. An agent's default group can be moved to another membership, not unset".into(),
        "Help Center articles carry their source marker as a hidden <span data-switchover-source=...> at the end of the source locale's body (stripped when reading); it stays 'pending' until the article's translations and attachments are written, so an interrupted article is completed, not duplicated. Articles go into the permission group `permission_group_id` names, or the target's built-in one, visible to everyone (user_segment_id null: restrict them on the target if the source did), without notifying subscribers; translations need their locale enabled in the target Help Center; attachments are uploaded to the article (20 MB each); labels are kept only on plans that have article labels; links and images in bodies keep pointing where the source had them".into(),
        "tickets in Zendesk's trash (soft-deleted: status 'deleted' in the incremental export) are skipped when reading: the API lists them only with a few summary fields (GET /deleted_tickets), their comments cannot be read without restoring them, which would change the source, and Zendesk purges them 30 days after deletion; restore any that must migrate before running".into(),
        "webhooks are written without secrets (passwords, tokens, API keys): re-enter them on the target".into(),
        "users are upserted by external_id or email: a source user whose email already exists on the target (the migrating admin, shared agents) updates that user and gives it the source marker; an organization whose name already exists on the target (names are unique) is found by search and adopted when it carries no other source marker".into(),
        "a delta run cannot add comments to a ticket the target has already closed: Zendesk refuses updates to closed tickets".into(),
        "the incremental exports allow 10 requests per minute: the HTTP kit waits out their 429s".into(),
    ];
    caps
}

/// What the adapter knows about one custom field definition on the account.
#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub(crate) object: switchover_model::FieldObject,
    pub(crate) key: String,
    pub(crate) field_type: switchover_model::FieldType,
}

/// Lazily filled lookups.
#[derive(Default)]
pub(crate) struct Cache {
    /// Field definitions by Zendesk id (all three objects).
    pub(crate) fields: Option<HashMap<String, FieldInfo>>,
    /// The Guide permission group written articles go into (the plan's setting, else
    /// found on the target when the first article is written).
    pub(crate) permission_group: Option<String>,
    /// Source id -> (target user id, target group id) of every membership this adapter
    /// was given to write: memberships keep no source marker, so these pairs are all
    /// `find_by_source` can look up.
    pub(crate) memberships: HashMap<String, (String, String)>,
    /// The Help Center's enabled locales and its default, once read.
    pub(crate) hc_locales: Option<(Vec<String>, String)>,
}

/// A connection to one Zendesk account, usable as a source and as a target.
pub struct Zendesk {
    pub(crate) http: HttpClient,
    pub(crate) cache: switchover_adapter::Shared<Cache>,
    /// Requests kept in flight at once within one read or write (the comments of that
    /// many tickets read, the attachments of that many new tickets uploaded).
    pub(crate) read_width: usize,
    /// Held while a cache entry loads, so threads that find it empty load it once.
    pub(crate) cache_load: std::sync::Mutex<()>,
}

impl Zendesk {
    /// Builds the adapter from plan settings: `subdomain` or `url`; `email` + `api_token`
    /// or `oauth_token` (secret references); optional `requests_per_minute`.
    pub fn connect(settings: &Settings) -> Result<Self, AdapterError> {
        let base = match (
            settings.optional_string("url")?,
            settings.optional_string("subdomain")?,
        ) {
            (Some(url), _) => format!("{}/api/v2/", url.trim_end_matches('/')),
            (None, Some(sub)) => format!("https://{sub}.zendesk.com/api/v2/"),
            (None, None) => {
                return Err(AdapterError::config(
                    NAME,
                    "missing setting 'subdomain' (or 'url'); add `subdomain = \"acme\"` to the plan's table",
                ));
            }
        };
        let auth = match settings.optional_secret("oauth_token")? {
            Some(token) => Auth::bearer(token),
            None => {
                let email = settings.string("email").map_err(|_| {
                    AdapterError::config(
                        NAME,
                        "give either `oauth_token` or `email` with `api_token`",
                    )
                })?;
                let token = settings.secret("api_token")?;
                Auth::basic(format!("{email}/token"), token)
            }
        };
        let rpm = settings.requests_per_minute()?;
        let permission_group = settings
            .optional_u64("permission_group_id")?
            .map(|id| id.to_string());
        let http = HttpClient::new(ClientConfig {
            auth,
            requests_per_minute: rpm,
            ..ClientConfig::new(base)
        })
        .map_err(|e| e.into_adapter(NAME))?;
        Ok(Zendesk {
            http,
            read_width: switchover_adapter::parallel::read_width(rpm),
            cache_load: std::sync::Mutex::new(()),
            cache: switchover_adapter::Shared::new(Cache {
                permission_group,
                ..Cache::default()
            }),
        })
    }

    /// The HTTP client, for its counters (benchmarks).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `GET /users/me`: Zendesk answers bad credentials there with 200 and an anonymous
    /// user (recorded), not 401, so a missing user id is an authentication failure.
    pub(crate) fn whoami(&self) -> Result<(), AdapterError> {
        let me: serde_json::Value = self
            .http
            .get_json("users/me.json")
            .map_err(|e| e.into_adapter(NAME))?;
        match me.pointer("/user/id") {
            Some(id) if !id.is_null() => Ok(()),
            _ => Err(AdapterError::Authentication {
                adapter: NAME.into(),
                message: "Zendesk answered as the anonymous user: the email, API token or OAuth token was not accepted".into(),
            }),
        }
    }
}

impl Source for Zendesk {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn check(&self) -> Result<(), AdapterError> {
        self.whoami()
    }

    /// `GET /tickets|users|organizations/count`: one request, for progress totals
    /// (Zendesk refreshes the counts of large accounts daily, so they are approximate).
    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        let path = match kind {
            Kind::Ticket => "tickets/count.json",
            Kind::User => "users/count.json",
            Kind::Organization => "organizations/count.json",
            _ => return Ok(None),
        };
        let response = self
            .http
            .send(Request::get(path))
            .map_err(|e| e.into_adapter(NAME))?;
        let body: serde_json::Value = response.json().map_err(|e| e.into_adapter(NAME))?;
        Ok(body
            .pointer("/count/value")
            .and_then(serde_json::Value::as_u64))
    }

    fn read_page(&self, kind: Kind, request: &PageRequest) -> Result<Page, AdapterError> {
        let (records, next) = self.read_kind(kind, request, false)?;
        Ok(Page {
            records: records.into_iter().map(|(_, r)| r).collect(),
            next,
        })
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.open_content(attachment)
    }

    fn body_urls(&self) -> Option<&dyn switchover_adapter::bodies::BodyUrls> {
        Some(self)
    }
}

/// The `id` of a record as Zendesk answers it (a number), as the text the id map keeps.
fn json_id(record: &Value) -> Option<String> {
    match record.get("id")? {
        Value::Null => None,
        Value::String(id) => Some(id.clone()),
        id => Some(id.to_string()),
    }
}

impl TargetInfo for Zendesk {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn body_urls(&self) -> Option<&dyn switchover_adapter::bodies::BodyUrls> {
        Some(self)
    }

    /// Rules, macros, views and SLA policies as Zendesk keeps them: what its
    /// vocabulary cannot hold is left out of the write and named as untranslated.
    fn as_stored(&self, kind: Kind, record: &mut switchover_model::Record) {
        if matches!(
            kind,
            Kind::Rule | Kind::Macro | Kind::View | Kind::SlaPolicy
        ) {
            rules::fit_rule(record);
        }
        // Zendesk renders comments inside its own `zd-comment` div and reading strips
        // it: a body that already came wrapped (exported from Zendesk, or written by a
        // tool that kept the wrapper) reads back without it.
        if let switchover_model::Record::Comment(c) = record
            && let Some(html) = &mut c.body_html
        {
            *html = convert::unwrap_comment_html(html);
        }
    }

    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.preflight_checks()
    }

    /// Organizations of the same name and users of the same e-mail are adopted, or
    /// refused when another value is in their `external_id` (the write's rules,
    /// `organization_to_adopt` and `user_to_adopt`; one search per user, as the write).
    fn predict(
        &self,
        kind: Kind,
        request: &WriteRequest,
    ) -> Result<switchover_adapter::Prediction, AdapterError> {
        use switchover_adapter::Prediction;
        match (&request.record, kind) {
            (switchover_model::Record::Organization(org), Kind::Organization) => {
                Prediction::of_match_as(self.organization_to_adopt(org), json_id)
            }
            (switchover_model::Record::User(user), Kind::User) => {
                Prediction::of_match_as(self.user_to_adopt(user), json_id)
            }
            _ => Ok(Prediction::Create),
        }
    }
}

impl Target for Zendesk {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        match kind {
            Kind::GroupMembership => self.write_memberships(batch),
            Kind::KbArticle => self.write_articles(batch, content),
            _ => self.write_kind(kind, batch, content, true),
        }
    }

    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        match kind {
            Kind::GroupMembership | Kind::KbArticle => self.write_batch(kind, batch, content),
            _ => self.write_kind(kind, batch, content, false),
        }
    }

    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        match kind {
            Kind::GroupMembership => self.find_memberships(source_ids),
            // Only articles written completely: an interrupted one is written again.
            Kind::KbArticle => self.find_articles(source_ids, false),
            _ => self.find_markers(kind, source_ids),
        }
    }

    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        if parent_kind != Kind::Ticket {
            return Err(AdapterError::unsupported(
                NAME,
                parent_kind,
                "find records written inside",
            ));
        }
        self.embedded_comments(parent_target_id, children)
    }

    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        let (mut records, next) = self.read_kind(kind, request, true)?;
        // Zendesk keeps no content hash: hash the bytes as stored, so verification
        // compares them with what left the source.
        for (_, record) in records.iter_mut() {
            if let Some(attachments) = record.attachments_mut() {
                for attachment in attachments.iter_mut() {
                    let mut reader = self.open_content(attachment)?;
                    let (digest, size) = switchover_model::digest::ContentHasher::hash_reader(
                        &mut reader,
                    )
                    .map_err(|e| {
                        AdapterError::transient(
                            NAME,
                            format!(
                                "reading attachment '{}' back failed: {e}",
                                attachment.file_name
                            ),
                        )
                    })?;
                    attachment.sha256 = Some(digest.to_hex());
                    attachment.size = size;
                }
            }
        }
        Ok(ReadBackPage {
            records: records
                .into_iter()
                .map(|(source_id, record)| switchover_adapter::ReadBack { source_id, record })
                .collect(),
            next,
        })
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.open_content(attachment)
    }

    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        match kind {
            Kind::GroupMembership => self.delete_memberships(target_ids),
            Kind::KbArticle => self.delete_articles(target_ids),
            _ => self.delete_kind(kind, target_ids),
        }
    }

    fn release(
        &self,
        kind: Kind,
        target_id: &str,
        before: &switchover_adapter::Adopted,
    ) -> Result<(), AdapterError> {
        self.release(kind, target_id, before)
    }

    fn set_active(
        &self,
        kind: Kind,
        target_id: &str,
        record: &switchover_model::Record,
        active: bool,
    ) -> Result<(), AdapterError> {
        self.set_active(kind, target_id, record, active)
    }
}
