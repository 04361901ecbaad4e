//! Freshdesk (API v2) as a Switchover source and target.
//!
//! Mapping:
//! - companies are organizations, contacts end users, agents agents (role as Freshdesk has
//!   it), groups groups; ticket, contact and company fields are field definitions (custom
//!   ones only; default fields are Freshdesk's own);
//! - a ticket's description is its first comment (`desc-<ticket id>`), its conversations
//!   the others; canned responses are macros; automation rules are rules, their
//!   `trigger_webhook` actions webhooks, SLA policies SLA policies, through the portable
//!   rule vocabulary (`rules.rs`); solution categories, folders and articles
//!   are the knowledge base; satisfaction ratings keep Freshdesk's −103..103 scale.
//! - Reading tickets walks `order_by=updated_at&order_type=asc` with `updated_since`,
//!   and on reaching Freshdesk's 300-page ceiling restarts at page 1 from the last
//!   `updated_at` seen, skipping the ids already returned at that instant; deleted and
//!   spam tickets follow when the `include_deleted` / `include_spam` settings ask.
//!
//! Source markers, so re-runs and crash recovery find what exists:
//! - contacts: `unique_external_id = "switchover:<source id>"`;
//! - agents (matched by email, never created: creating one e-mails an invitation and
//!   takes a paid seat): an HTML comment `<!-- switchover-source-id: … -->` in the signature;
//! - tickets and companies: a custom text field `switchover source id` the target creates
//!   on first use (`cf_switchover_source_id` on tickets, `switchover_source_id` on companies);
//! - groups, field definitions, automation rules and SLA policies: a
//!   `[switchover-source-id: …]` line in the description (rules calling webhooks also a
//!   `[switchover-webhooks: …]` line naming the webhooks' source ids);
//! - canned responses (macros): a hidden `<!-- switchover-source-id: … -->` at the end;
//! - webhooks: none; Freshdesk has no webhook records, so a webhook's target id is its
//!   definition and the rules calling it embed it (`rules.rs`);
//! - comments (written as notes, never replies, so no customer is e-mailed): a first
//!   paragraph `Originally written by … at … · source id <code>…</code>` which read-back parses
//!   and strips: Freshdesk cannot set a note's creation time.

#![deny(missing_docs)]

mod api;
mod bodies;
mod read;
mod rules;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::sync::{Mutex, RwLock};

use serde_json::Value;
use switchover_adapter::{
    AdapterError, AdapterSpec, Capabilities, ContentSource, KindCapability, LossyField, Page,
    PageRequest, Preflight, ReadBackPage, RequestCost, Settings, Source, Target, TargetInfo,
    WriteOutcome, WriteRequest,
};
use switchover_model::{Attachment, Kind, Record};

use api::Api;

/// The adapter's name in plans.
pub const NAME: &str = "freshdesk";
/// Label of the custom field (tickets and companies) that holds the source marker.
pub const MARKER_FIELD_LABEL: &str = "switchover source id";
/// Prefix of a contact's `unique_external_id` that marks it as migrated.
pub const CONTACT_MARKER_PREFIX: &str = "switchover:";

/// The adapter's one entry in the CLI: the adapter and its emulator.
pub fn platform() -> switchover_sandbox::Platform {
    switchover_sandbox::Platform::new(register())
        .with_emulator(switchover_freshdesk_emulator::spec())
}

/// Registers the Freshdesk adapter.
pub fn register() -> AdapterSpec {
    AdapterSpec {
        name: NAME,
        summary: "Freshdesk API v2: companies, contacts, agents (matched by email), groups, fields, tickets, conversations with attachments (as notes), satisfaction ratings, canned responses, automation rules and SLA policies (written switched off), solutions",
        settings_help: &[
            "url = \"https://acme.freshdesk.com\"   account URL (the API is under /api/v2)",
            "api_key = \"env:FRESHDESK_API_KEY\"    an administrator's API key (env:VAR or file:PATH)",
            "include_deleted = false              as a source: also read deleted (trashed) tickets",
            "include_spam = false                 as a source: also read tickets marked as spam",
            "requests_per_minute = 200            optional budget (Growth 200, Pro 400, Enterprise 700)",
            "max_ticket_page = 300                the deepest /tickets page the account serves (300 on Freshdesk)",
        ],
        capabilities,
        source: Some(|settings| Ok(Box::new(Freshdesk::connect(settings)?))),
        target: Some(|settings| Ok(Box::new(Freshdesk::connect(settings)?))),
    }
}

fn writable(
    declared: &[&str],
    lost: &[(&str, &str)],
    per_record: f64,
    incremental: bool,
) -> KindCapability {
    KindCapability {
        read: true,
        incremental,
        write: true,
        update: true,
        read_back: true,
        delete: true,
        fields: switchover_model::digest::field_set(declared.iter().copied()),
        lossy: LossyField::list(lost),
        max_batch: 20,
        write_cost: RequestCost {
            per_batch: 0.0,
            per_record,
            per_attachment: 0.0,
        },
        page_size: 100,
        embeds: None,
        matched_only: false,
    }
}

fn read_only() -> KindCapability {
    KindCapability {
        read: true,
        page_size: 100,
        ..Default::default()
    }
}

/// What Freshdesk can do, declared per kind: the fields listed round-trip exactly.
pub fn capabilities() -> Capabilities {
    let mut caps = Capabilities::new(NAME);
    caps.kinds.insert(
        Kind::FieldDefinition,
        writable(
            &["object", "title", "required"],
            &[
                ("key", "Freshdesk derives a field's name from its label (cf_<label> on tickets)"),
                ("field_type", "regex fields become text fields, number fields decimal fields"),
                ("options", "Freshdesk choices are plain strings: option values are written as the choices, labels are not kept"),
                ("pattern", "Freshdesk fields have no pattern"),
                ("active", "Freshdesk fields have no active flag"),
                ("position", "Freshdesk places new fields after the existing ones"),
                ("extra", "not kept"),
            ],
            2.0,
            false,
        ),
    );
    caps.kinds.insert(
        Kind::Organization,
        writable(
            &["name", "domains", "details", "notes", "custom_fields"],
            &[
                ("tags", "Freshdesk companies have no tags"),
                (
                    "created_at",
                    "Freshdesk sets creation times to the time of the write",
                ),
                (
                    "updated_at",
                    "Freshdesk sets update times to the time of the write",
                ),
                ("extra", "not kept"),
            ],
            1.0,
            false,
        ),
    );
    caps.kinds.insert(
        Kind::User,
        writable(
            &["name", "email", "phone", "organization", "tags", "custom_fields"],
            &[
                ("role", "agents are matched by email and keep the role they have in Freshdesk; end users become contacts"),
                ("state", "deleted users become soft-deleted contacts; suspended users become ordinary contacts (blocking is not in the API)"),
                ("locale", "Freshdesk keeps a language code (en, de...), not a full locale"),
                ("time_zone", "Freshdesk uses its own time zone names"),
                ("created_at", "Freshdesk sets creation times to the time of the write"),
                ("updated_at", "Freshdesk sets update times to the time of the write"),
                ("extra", "not kept"),
            ],
            2.0,
            true,
        ),
    );
    caps.kinds.insert(
        Kind::Group,
        writable(
            &["name", "description"],
            &[
                (
                    "created_at",
                    "Freshdesk sets creation times to the time of the write",
                ),
                (
                    "updated_at",
                    "Freshdesk sets update times to the time of the write",
                ),
                ("extra", "not kept"),
            ],
            1.0,
            false,
        ),
    );
    caps.kinds.insert(
        Kind::Ticket,
        writable(
            &["subject", "tags", "requester", "assignee", "group", "organization", "custom_fields"],
            &[
                ("status", "Freshdesk has open/pending/resolved/closed: new becomes open, on-hold becomes pending"),
                ("priority", "no priority becomes Low (Freshdesk requires one); normal is Medium"),
                ("ticket_type", "only the account's ticket types can be set: task becomes no type unless the account defines it"),
                ("submitter", "Freshdesk has no submitter"),
                ("channel", "written as the Freshdesk source (email, portal, phone, chat); api and other channels become portal"),
                ("links", "not kept (Freshdesk's parent/child associations are not written)"),
                ("archived", "Freshdesk does not archive tickets"),
                ("created_at", "Freshdesk cannot set creation times; the original time is kept in the first line of the description"),
                ("updated_at", "Freshdesk sets update times to the time of the write"),
                ("solved_at", "Freshdesk records its own resolution time"),
                ("extra", "not kept"),
            ],
            1.0,
            true,
        ),
    );
    caps.kinds.insert(
        Kind::Comment,
        writable(
            &[
                "ticket",
                "public",
                "body_html",
                "attachments.file_name",
                "attachments.content_type",
                "attachments.size",
                "attachments.sha256",
            ],
            &[
                ("author", "written as the note's user_id where Freshdesk accepts it; the original author is also kept visibly in the note's first line 'Originally written by NAME (user ID) at TIME'"),
                ("created_at", "Freshdesk cannot set a note's creation time; the original time is kept visibly in the note's first line"),
                ("body_text", "Freshdesk derives the plain text from the HTML body"),
                ("attachments.inline", "Freshdesk attaches every file as a regular attachment"),
                ("extra", "not kept"),
            ],
            1.0,
            false,
        ),
    );
    let mut ratings = writable(
        &["ticket", "score", "comment"],
        &[
            (
                "requester",
                "the API has no rater field: a rating belongs to the ticket's requester",
            ),
            (
                "created_at",
                "Freshdesk sets a rating's time to the time of the write",
            ),
            ("extra", "not kept"),
        ],
        1.0,
        true,
    );
    // Ratings cannot be edited or deleted through the API.
    ratings.update = false;
    ratings.delete = false;
    caps.kinds.insert(Kind::SatisfactionRating, ratings);
    caps.kinds.insert(Kind::KbCategory, read_only());
    caps.kinds.insert(Kind::KbSection, read_only());
    caps.kinds.insert(Kind::KbArticle, read_only());
    const UNTRANSLATED: &str = "parts with no portable form, or none on Freshdesk, are named in the reports for a person to rebuild";
    const OFF: &str = "created switched off, so that nothing fires during the migration; `switchover cutover PLAN --enable-rules` switches on those active in the source";
    const TIMES: &str = "Freshdesk sets creation and update times to the time of the write";
    const FITTED: &str = "kept as Freshdesk holds it: what its vocabulary cannot express is left out and named as untranslated (compared after that fitting)";
    let mut macros = writable(
        &["title"],
        &[
            (
                "actions",
                "a canned response holds the macro's texts as one reply; its other actions are left out and named as untranslated (compared after that fitting)",
            ),
            ("untranslated", UNTRANSLATED),
            (
                "active",
                "canned responses have no active flag: they are available to every agent",
            ),
            ("description", "canned responses have no description"),
            ("position", "canned responses have no position"),
            ("created_at", TIMES),
            ("updated_at", TIMES),
            ("extra", "not kept"),
        ],
        1.0,
        false,
    );
    macros.max_batch = 10;
    caps.kinds.insert(Kind::Macro, macros);
    caps.kinds.insert(
        Kind::Rule,
        writable(
            &["title"],
            &[
                ("rule_kind", "time-based rules are time triggers (type 3), every other a trigger"),
                ("events", "a rule on both created and updated tickets is a ticket update rule (type 4), its creation part named as a change"),
                ("conditions", FITTED),
                ("actions", FITTED),
                ("active", OFF),
                ("untranslated", UNTRANSLATED),
                ("position", "Freshdesk numbers positions per rule type"),
                ("created_at", TIMES),
                ("updated_at", TIMES),
                ("extra", "not kept"),
            ],
            1.0,
            false,
        ),
    );
    let mut webhooks = writable(
        &["endpoint", "method", "format"],
        &[
            (
                "name",
                "Freshdesk keeps no webhook records: the webhook is embedded in each rule that calls it",
            ),
            (
                "auth",
                "secrets are never moved, and Freshdesk keeps credentials in each rule's webhook action: enter them there",
            ),
            (
                "subscriptions",
                "a Freshdesk webhook is called by the rules that embed it",
            ),
            ("active", "on when the rules that embed it are switched on"),
            ("created_at", TIMES),
            ("updated_at", TIMES),
            ("extra", "not kept"),
        ],
        0.0,
        false,
    );
    webhooks.read_back = false;
    webhooks.update = false;
    caps.kinds.insert(Kind::Webhook, webhooks);
    let mut sla = writable(
        &["title", "description"],
        &[
            (
                "filter",
                "Freshdesk applies a policy by group, company, ticket type or source: other conditions are left out and named; a policy for every ticket applies to every source the account has",
            ),
            (
                "targets",
                "Freshdesk keeps first reply, next reply and resolution targets for each of its four priorities, in whole minutes: a target for no priority applies to each",
            ),
            ("untranslated", UNTRANSLATED),
            ("position", "Freshdesk numbers positions"),
            ("created_at", TIMES),
            ("updated_at", TIMES),
            ("extra", "not kept"),
        ],
        1.0,
        false,
    );
    sla.delete = false;
    caps.kinds.insert(Kind::SlaPolicy, sla);
    if let Some(comment) = caps.kinds.get_mut(&Kind::Comment) {
        comment.write_cost.per_attachment = 0.0;
        comment.max_batch = 10;
    }
    caps.max_attachment_bytes = Some(20 * 1024 * 1024);
    caps.requests_per_minute = Some(200);
    // Account-wide budgets of the current plans (vendor-apis.md §2.4; the headers win).
    caps.plan_tiers =
        switchover_adapter::PlanTier::list(&[("Growth", 200), ("Pro", 400), ("Enterprise", 700)]);
    caps.reads_back_attachment_content = true;
    caps.read_back_hashes_attachments = true;
    caps.notes = vec![
        "history is written as notes (POST /tickets/{id}/notes), never replies, forwards or outbound e-mails; public messages become public notes, customer messages incoming notes".into(),
        "Freshdesk cannot set historical creation times: each ticket's description and each note start with a visible line giving the original time and author".into(),
        "before a run an admin must switch off Admin > Workflows > Email Notifications (requester and agent notifications) and the automation rules preflight lists; notification e-mails cannot be switched off through the API".into(),
        "agents are matched by email and never created (creating one e-mails an invitation and takes a paid seat): create the seats first; an unmatched agent is refused and so are tickets assigned to them".into(),
        "rollback deletes tickets (to the trash), notes, contacts (for good), companies, groups and the fields the migration created; matched agents and fields only lose their marker".into(),
        "a note carries at most 20 MB of attachments: larger comments are refused".into(),
        "satisfaction ratings are written with POST /tickets/{id}/satisfaction_ratings (the ticket's requester rates; other scales map to the nearest of Freshdesk's seven points); the feedback ends with a '[switchover-source-id: …]' line; ratings cannot be edited or deleted, so rollback leaves them".into(),
        "time entries and group memberships are not migrated".into(),
        "automation rules are written through /api/v2/automations/{type}/rules, switched off (active false): time-based rules as time triggers (type 3), rules on ticket creation only as type 1, every other as a ticket update rule (type 4; a rule on both creation and updates is named as changed: its creation part needs a type 1 rule by hand). Their target id is '<type>/<id>'; their description carries '[switchover-source-id: …]' and, for rules calling webhooks, '[switchover-webhooks: …]' naming the webhooks' source ids".into(),
        "Freshdesk has no webhook records: a webhook's target id is its definition (method, URL, format, source id), nothing is sent when it is written, and each rule that calls it embeds it as a trigger_webhook action. Webhooks are verified through those rules (read back is not possible) and switched on with them; credentials (basic, API key) must be entered in the rules' webhook actions".into(),
        "macros that only add text become canned responses in the folder 'Switchover' (created once), marked by a hidden '<!-- switchover-source-id: … -->' at the end; their other actions are named untranslated, and a macro that adds no text is refused (scenario automations cannot be created through the API)".into(),
        "SLA policies are created switched off, never as the default, with '[switchover-source-id: …]' in their description; Freshdesk requires targets for all four priorities and something to apply to (group, company, ticket type or source), and cannot delete a policy, so rollback leaves them".into(),
    ];
    caps.translated(Kind::Ticket, &["status", "priority"])
        .translated(
            Kind::Rule,
            &["rule_kind", "events", "conditions", "actions"],
        )
        .translated(Kind::Macro, &["actions"])
        .translated(Kind::SlaPolicy, &["filter", "targets"])
}

/// A custom field as the target knows it.
#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub(crate) id: u64,
    /// `ticket`, `contact` or `company`.
    pub(crate) object: &'static str,
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) kind: String,
    pub(crate) description: String,
    /// The description exactly as listed (`null` and `""` differ), to give it back.
    pub(crate) description_raw: Value,
    pub(crate) required: bool,
    pub(crate) choices: Vec<String>,
    pub(crate) position: Option<i64>,
}

/// What the adapter remembers between calls.
#[derive(Default)]
pub(crate) struct Cache {
    /// Custom fields of every object, once loaded.
    pub(crate) fields: Option<Vec<FieldInfo>>,
    /// Bumped by every change of the fields this connection makes: a load begun before
    /// one is not kept.
    pub(crate) fields_generation: u64,
    /// Agent ids, once loaded.
    pub(crate) agents: Option<BTreeSet<u64>>,
    /// Ids of the tickets a source read leaves out (deleted, spam), once listed.
    pub(crate) tickets_left_out: Option<BTreeSet<String>>,
    /// Administrator role ids, once loaded.
    pub(crate) admin_roles: Option<BTreeSet<u64>>,
    /// Source marker -> target id, per kind: entries are only added (by writes, scans
    /// and lookups) or removed by this connection's deletes, never replaced by a scan.
    pub(crate) markers: HashMap<Kind, BTreeMap<String, String>>,
    /// Kinds whose markers were read in full by a scan.
    pub(crate) scanned: HashSet<Kind>,
    /// Kinds with a write of unknown outcome since their scan: a marker missing from
    /// the cache proves nothing for them until the target is read again.
    pub(crate) stale: HashSet<Kind>,
    /// Tickets (target ids) whose notes' markers are all in the cache: read in full, and
    /// every note this connection wrote to them since recorded.
    pub(crate) notes_read: HashSet<String>,
    /// Companies and groups as listed for a dry run's predictions, once loaded.
    pub(crate) listed: HashMap<&'static str, Vec<Value>>,
}

/// A connection to one Freshdesk account.
pub struct Freshdesk {
    pub(crate) api: Api,
    pub(crate) include_deleted: bool,
    pub(crate) include_spam: bool,
    pub(crate) max_ticket_page: usize,
    /// Read requests kept in flight at once (the conversations of that many tickets).
    pub(crate) read_width: usize,
    pub(crate) cache: switchover_adapter::Shared<Cache>,
    /// Writes that look for earlier copies by marker, and marker scans, hold it alone
    /// (markers are checked and set without races; no write moves a record during a
    /// walk); writes of batches the engine proves were never sent share it, as they
    /// look nothing up.
    pub(crate) write_lock: RwLock<()>,
    /// Held while the field or agent cache loads, so threads that find it empty load it
    /// once.
    pub(crate) cache_load: Mutex<()>,
    /// Held while a marker field is looked for and created, so it is created once.
    pub(crate) marker_field: Mutex<()>,
    /// The "Switchover" canned response folder's id once known; held while it is looked
    /// for and created, so writes side by side create it once.
    pub(crate) canned_folder: Mutex<Option<u64>>,
}

impl Freshdesk {
    /// Whether any record of `kind` on the target carries a source marker.
    fn any_marked(&self, kind: Kind) -> Result<bool, AdapterError> {
        let mut request = PageRequest {
            page_size: Some(100),
            ..Default::default()
        };
        loop {
            let page = self.read_back(kind, &request)?;
            if page.records.iter().any(|r| r.source_id.is_some()) {
                return Ok(true);
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(false),
            }
        }
    }

    /// Connects with the plan's settings (no request is sent until used).
    pub fn connect(settings: &Settings) -> Result<Self, AdapterError> {
        let url = settings.string("url")?;
        let key = settings.secret("api_key")?;
        let rpm = settings.requests_per_minute()?;
        Ok(Freshdesk {
            api: Api::new(&url, key, rpm)?,
            include_deleted: settings.optional_bool("include_deleted")?.unwrap_or(false),
            include_spam: settings.optional_bool("include_spam")?.unwrap_or(false),
            max_ticket_page: settings
                .optional_u64("max_ticket_page")?
                .map(|n| n.clamp(1, 300) as usize)
                .unwrap_or(read::MAX_TICKET_PAGE),
            read_width: switchover_adapter::parallel::read_width(rpm),
            cache: switchover_adapter::Shared::default(),
            write_lock: RwLock::new(()),
            cache_load: Mutex::new(()),
            marker_field: Mutex::new(()),
            canned_folder: Mutex::new(None),
        })
    }

    /// Requests sent so far (for benchmarks).
    pub fn requests_sent(&self) -> u64 {
        self.api.requests()
    }
}

impl Source for Freshdesk {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn check(&self) -> Result<(), AdapterError> {
        self.api.get("agents/me", &[]).map(|_| ())
    }

    fn count(&self, _kind: Kind) -> Result<Option<u64>, AdapterError> {
        // Freshdesk lists carry no totals.
        Ok(None)
    }

    fn read_page(&self, kind: Kind, request: &PageRequest) -> Result<Page, AdapterError> {
        self.read_source(kind, request)
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.api.open_attachment(attachment)
    }

    fn body_urls(&self) -> Option<&dyn switchover_adapter::bodies::BodyUrls> {
        Some(self)
    }
}

impl TargetInfo for Freshdesk {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn body_urls(&self) -> Option<&dyn switchover_adapter::bodies::BodyUrls> {
        Some(self)
    }

    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.preflight_checks()
    }

    /// Agents must hold a seat (the write's rule, [`Freshdesk::seated_agent`]); companies,
    /// groups and fields of the same name or label are adopted. Contacts are predicted
    /// created (a look-up per contact would cost a request each).
    /// A ticket's status and priority as Freshdesk's four statuses and required
    /// priority hold them: the codes the write sends, read back.
    fn as_stored(&self, kind: Kind, record: &mut switchover_model::Record) {
        if let (Kind::Ticket, switchover_model::Record::Ticket(t)) = (kind, &mut *record) {
            t.status = read::status_of_code(Some(read::status_code(t.status)));
            t.priority = read::priority_of_code(Some(read::priority_code(t.priority)));
        }
        if matches!(kind, Kind::Rule | Kind::Macro | Kind::SlaPolicy) {
            rules::fit_rule(record);
        }
    }

    fn predict(
        &self,
        kind: Kind,
        request: &WriteRequest,
    ) -> Result<switchover_adapter::Prediction, AdapterError> {
        use switchover_adapter::Prediction;
        use switchover_model::{Record, UserRole};
        let refuse_or = |result: Result<bool, AdapterError>| match result {
            Ok(true) => Ok(Prediction::Adopt),
            Ok(false) => Ok(Prediction::Create),
            Err(e) if e.kind() == switchover_adapter::ErrorKind::InvalidRecord => {
                Ok(Prediction::Refuse(e))
            }
            Err(e) => Err(e),
        };
        match (&request.record, kind) {
            (Record::User(u), Kind::User)
                if matches!(u.role, UserRole::Agent | UserRole::Admin) =>
            {
                let email = u.email.clone().unwrap_or_default();
                // The seat's id, so references (a plan's stand-in for departed agents)
                // can point at it.
                match self.seated_agent(u, &email) {
                    Ok(agent) => Ok(match agent.get("id") {
                        Some(id) => Prediction::AdoptAs(id.to_string()),
                        None => Prediction::Adopt,
                    }),
                    Err(e) => refuse_or(Err(e)),
                }
            }
            // An end user whose e-mail a contact has is adopted; one an agent has is
            // refused, as the write finds when Freshdesk answers its create.
            (Record::User(u), Kind::User) if u.email.as_deref().is_some_and(|e| !e.is_empty()) => {
                let email = u.email.clone().unwrap_or_default();
                let same = |c: &Value| {
                    read::text(c, "email").is_some_and(|e| e.eq_ignore_ascii_case(&email))
                };
                if let Some(contact) = self.listed("contacts")?.iter().find(|c| same(c)) {
                    let contact = match write::contact_to_adopt(u, contact.clone()) {
                        Ok(contact) => contact,
                        Err(refusal) => return Ok(Prediction::Refuse(refusal)),
                    };
                    return Ok(match contact.get("id") {
                        Some(id) => Prediction::AdoptAs(id.to_string()),
                        None => Prediction::Adopt,
                    });
                }
                if self.listed("contacts?state=deleted")?.iter().any(same) {
                    return Ok(Prediction::Refuse(write::email_of_deleted_contact(&u.id)));
                }
                if self
                    .listed("agents")?
                    .iter()
                    .any(|a| a.get("contact").is_some_and(same))
                {
                    return Ok(Prediction::Refuse(write::email_taken_by_agent(&u.id)));
                }
                Ok(Prediction::Create)
            }
            (Record::Organization(o), Kind::Organization) => {
                let companies = self.listed("companies")?;
                let marker = self
                    .fields()?
                    .into_iter()
                    .find(|f| f.object == "company" && read::is_marker_field(f))
                    .map(|f| f.name);
                refuse_or(
                    self.company_to_adopt(o, &companies, marker.as_deref())
                        .map(|c| c.is_some()),
                )
            }
            (Record::Group(g), Kind::Group) => {
                Ok(
                    if self.listed("groups")?.iter().any(|x| {
                        read::text(x, "name").is_some_and(|n| n.eq_ignore_ascii_case(&g.name))
                    }) {
                        Prediction::Adopt
                    } else {
                        Prediction::Create
                    },
                )
            }
            (Record::FieldDefinition(f), Kind::FieldDefinition) => {
                let object = write::fd_object(f.object);
                Ok(
                    match self
                        .fields()?
                        .iter()
                        .find(|x| x.object == object && x.label.eq_ignore_ascii_case(&f.title))
                    {
                        // The field's id, so the tickets' values are judged against it.
                        Some(x) => Prediction::AdoptAs(x.id.to_string()),
                        None => Prediction::Create,
                    },
                )
            }
            // Values of fields already on the target must be among their choices, by
            // the write's own check.
            (Record::Ticket(t), Kind::Ticket) => {
                let on_target: BTreeSet<String> =
                    self.fields()?.iter().map(|f| f.id.to_string()).collect();
                let known: switchover_model::CustomFields = t
                    .custom_fields
                    .iter()
                    // References that are not target fields yet (a field the run would
                    // create, or a `check` that asks before mapping) are not judged.
                    .filter(|(field, _)| on_target.contains(field.id()))
                    .map(|(field, value)| (field.clone(), value.clone()))
                    .collect();
                refuse_or(
                    self.custom_json("ticket", &known, kind, &t.id)
                        .map(|_| false),
                )
            }
            // Rules, macros and SLA policies Freshdesk can hold nothing useful of, by the
            // write's own rule.
            (record @ (Record::Rule(_) | Record::Macro(_) | Record::SlaPolicy(_)), _) => {
                Ok(match rules::refusal(record) {
                    Some((field, reason)) => Prediction::Refuse(AdapterError::invalid(
                        NAME,
                        kind,
                        record.id(),
                        field,
                        reason,
                    )),
                    None => Prediction::Create,
                })
            }
            _ => Ok(Prediction::Create),
        }
    }
}

impl Freshdesk {
    /// Every record at `path` (`companies`, `groups`), listed once per connection.
    fn listed(&self, path: &'static str) -> Result<Vec<Value>, AdapterError> {
        if let Some(list) = self.cache.lock().listed.get(path) {
            return Ok(list.clone());
        }
        // A path may carry one filter (`contacts?state=deleted`).
        let list = match path
            .split_once('?')
            .and_then(|(p, q)| Some((p, q.split_once('=')?)))
        {
            Some((p, (k, v))) => self.api.list_all(p, &[(k, v.to_string())])?,
            None => self.api.list_all(path, &[])?,
        };
        self.cache.lock().listed.insert(path, list.clone());
        Ok(list)
    }
}

impl Target for Freshdesk {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.write(kind, batch, content, true)
    }

    /// No marker lookups (no scan of the kind, no listing of a note's ticket): nothing
    /// of the batch can be on the target yet. Such batches are written side by side.
    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.write(kind, batch, content, false)
    }

    /// Scans the kind when the cache cannot say, under the write lock so that no
    /// write of this connection happens during the walk (a note moves its ticket in
    /// the `updated_at` order the walk follows).
    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let _guard = self
            .write_lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let markers = self.markers(kind)?;
        Ok(source_ids
            .iter()
            .filter_map(|id| markers.get(id).map(|t| (id.clone(), t.clone())))
            .collect())
    }

    /// Notes are looked for on their tickets (one listing of each ticket's
    /// conversations), never by a scan of the account; other kinds by marker.
    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        if kind != Kind::Comment {
            let ids: Vec<String> = sent.iter().map(|r| r.record.id().to_string()).collect();
            return self.find_by_source(kind, &ids);
        }
        let _guard = self
            .write_lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut found = BTreeMap::new();
        for request in sent {
            let Record::Comment(c) = &request.record else {
                continue;
            };
            // No ticket on the target: the note cannot be there.
            if c.ticket.id().is_empty() {
                continue;
            }
            if let Some(target) = self.note_on(c.ticket.id(), &c.id)? {
                found.insert(c.id.clone(), target);
            }
        }
        Ok(found)
    }

    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        self.read_back_page(kind, request)
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.api.open_attachment(attachment)
    }

    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        self.delete_records(kind, target_ids)
    }

    /// The company and ticket marker fields, once no company or ticket on the target
    /// carries a marker (a full read of both: rollbacks are rare).
    fn remove_helpers(&self) -> Result<Vec<String>, AdapterError> {
        let mut removed = Vec::new();
        for (object, kind) in [("company", Kind::Organization), ("ticket", Kind::Ticket)] {
            let Some(field) = self
                .fields()?
                .into_iter()
                .find(|f| f.object == object && read::is_marker_field(f))
            else {
                continue;
            };
            if self.any_marked(kind)? {
                continue;
            }
            let id = field.id.to_string();
            self.api.delete(
                &format!("admin/{object}_fields/{id}"),
                Kind::FieldDefinition,
                &id,
            )?;
            self.refresh_fields();
            removed.push(format!("the {object} field '{MARKER_FIELD_LABEL}'"));
        }
        Ok(removed)
    }

    fn set_active(
        &self,
        kind: Kind,
        target_id: &str,
        _record: &Record,
        active: bool,
    ) -> Result<(), AdapterError> {
        self.set_rule_active(kind, target_id, active)
    }

    fn release(
        &self,
        kind: Kind,
        target_id: &str,
        before: &switchover_adapter::Adopted,
    ) -> Result<(), AdapterError> {
        let _guard = self
            .write_lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.release(kind, target_id, before)
    }
}
