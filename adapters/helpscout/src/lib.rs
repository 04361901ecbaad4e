//! Help Scout (Mailbox API 2.0) as a Switchover source and target.
//!
//! Mapping:
//! - organizations are organizations; customers are end users; Help Scout users (read-only
//!   in the API) are agents, matched by e-mail and never created; mailboxes (read-only) are
//!   groups, matched by name; conversation custom fields (per mailbox, read-only) are
//!   ticket field definitions, matched by name, one definition per name across mailboxes;
//! - conversations are tickets and their threads comments (customer threads, replies,
//!   notes, phone and chat threads; system line items are left out); a ticket is created
//!   with its comments in one request, every thread `imported: true`, so no e-mail goes
//!   out and the original times are kept; satisfaction ratings are read from the
//!   happiness report.
//!
//! Source markers, so re-runs and crash recovery find what exists (kit forms,
//! [`switchover_adapter::marker`]):
//! - organizations: a `[switchover:<id>]` line at the end of the note;
//! - customers: a `[switchover:<id>]` suffix of the background ("Notes");
//! - conversations: a tag `switchover-<id>` (found with `GET /conversations?tag=`), left
//!   out of the tags read back;
//! - threads: an empty hidden span `<span hidden data-switchover-source-id="…">` at the
//!   end of the body, stripped on reading.
//!
//! Target ids: customers, organizations, mailboxes and fields by their Help Scout id;
//! users as `user-<id>` (their ids live in another space); threads as
//! `<conversation id>/<thread id>`.

#![deny(missing_docs)]

mod api;
mod docs;
mod integrations;
mod read;
mod write;

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;
use sha2::Digest as _;
use switchover_adapter::marker::{HiddenMarker, HiddenStyle, SuffixMarker};
use switchover_adapter::{
    AdapterError, AdapterSpec, Capabilities, KindCapability, LossyField, Page, PageRequest,
    Preflight, ReadBackPage, RequestCost, Settings, Shared, Source, Target, TargetInfo,
    WriteOutcome, WriteRequest,
};
use switchover_model::{Attachment, Kind};

use api::Api;

/// The adapter's name in plans.
pub const NAME: &str = "helpscout";
/// Prefix of the tag that marks a migrated conversation (`switchover-<source id>`).
pub const TAG_MARKER_PREFIX: &str = "switchover-";

/// The marker of organizations (end of the note) and customers (end of the background).
pub(crate) const SUFFIX_MARKER: SuffixMarker = SuffixMarker::new("[switchover:", " ");
/// The marker of threads: a hidden span at the end of the body.
pub(crate) const THREAD_MARKER: HiddenMarker =
    HiddenMarker::new("switchover-source-id", HiddenStyle::Span);
/// The author of a private comment written by a customer: Help Scout notes are written
/// by users, so the customer's id rides in a hidden span and reading gives it back.
pub(crate) const AUTHOR_MARKER: HiddenMarker =
    HiddenMarker::new("switchover-author", HiddenStyle::Span);
/// The marker of the note a ticket without comments is created with (Help Scout needs a
/// thread); reading leaves such threads out.
pub(crate) const EMPTY_MARKER: HiddenMarker =
    HiddenMarker::new("switchover-empty", HiddenStyle::Span);

/// Registers the Help Scout adapter.
pub fn register() -> AdapterSpec {
    AdapterSpec {
        name: NAME,
        summary: "Help Scout Mailbox API 2.0: organizations, customers, users (matched by e-mail), mailboxes and custom fields (matched by name), conversations with threads and attachments (imported, no e-mail sent), satisfaction ratings (read)",
        settings_help: &[
            "url = \"https://api.helpscout.net\"      API root (the Mailbox API is under /v2)",
            "app_id = \"...\"                        OAuth2 app id (Your Profile > My Apps)",
            "app_secret = \"env:HELPSCOUT_SECRET\"   OAuth2 app secret (env:VAR or file:PATH)",
            "default_mailbox = \"Support\"           as a target: the mailbox of tickets with no group",
            "docs_api_key = \"env:HELPSCOUT_DOCS_KEY\" the Docs API key, for the knowledge base (optional)",
            "docs_url = \"https://docsapi.helpscout.net\" the Docs API root",
            "docs_site_id = \"...\"                  as a target: the Docs site new collections go to (default: that of an existing one)",
            "requests_per_minute = 200             the plan's budget (200, 400 or 800); writes count twice",
        ],
        capabilities,
        source: Some(|settings| Ok(Box::new(HelpScout::connect(settings)?))),
        target: Some(|settings| Ok(Box::new(HelpScout::connect(settings)?))),
    }
}

/// The adapter's one entry in the CLI: the adapter and its emulator.
pub fn platform() -> switchover_sandbox::Platform {
    switchover_sandbox::Platform::new(register())
        .with_emulator(switchover_helpscout_emulator::spec())
}

fn kind(
    declared: &[&str],
    lost: &[(&str, &str)],
    per_record: f64,
    page_size: usize,
) -> KindCapability {
    KindCapability {
        read: true,
        write: true,
        update: true,
        read_back: true,
        delete: true,
        fields: switchover_model::digest::field_set(declared.iter().copied()),
        lossy: LossyField::list(lost),
        max_batch: 10,
        write_cost: RequestCost {
            per_batch: 0.0,
            per_record,
            per_attachment: 0.0,
        },
        page_size,
        ..Default::default()
    }
}

/// What Help Scout can do, declared per kind: the fields listed round-trip exactly.
pub fn capabilities() -> Capabilities {
    let mut caps = Capabilities::new(NAME);
    caps.kinds.insert(
        Kind::Organization,
        kind(
            &["name", "domains", "details", "notes"],
            &[
                ("tags", "Help Scout organizations have no tags"),
                ("custom_fields", "organization properties are not written"),
                (
                    "created_at",
                    "Help Scout sets creation times to the time of the write",
                ),
                (
                    "updated_at",
                    "Help Scout sets update times to the time of the write",
                ),
                ("extra", "not kept"),
            ],
            1.0,
            50,
        ),
    );
    let mut users = kind(
        &["name", "email", "phone", "organization"],
        &[
            (
                "role",
                "end users become customers; agents are matched to Help Scout users by e-mail and keep the role they have there",
            ),
            (
                "state",
                "Help Scout customers have no suspended or deleted state",
            ),
            ("locale", "not kept"),
            (
                "time_zone",
                "customers have no time zone; users keep their own",
            ),
            ("tags", "not kept"),
            ("custom_fields", "customer properties are not written"),
            (
                "created_at",
                "Help Scout sets creation times to the time of the write",
            ),
            (
                "updated_at",
                "Help Scout sets update times to the time of the write",
            ),
            ("extra", "not kept"),
        ],
        1.0,
        50,
    );
    users.incremental = true;
    // Agents are matched, never created or marked.
    users.matched_only = true;
    caps.kinds.insert(Kind::User, users);
    let mut groups = kind(
        &["name"],
        &[
            ("description", "Help Scout mailboxes have no description"),
            ("created_at", "mailboxes are matched, not created"),
            ("updated_at", "mailboxes are matched, not created"),
            ("extra", "not kept"),
        ],
        0.0,
        50,
    );
    groups.update = false;
    groups.delete = false;
    groups.matched_only = true;
    caps.kinds.insert(Kind::Group, groups);
    let mut fields = kind(
        &["object", "title", "required"],
        &[
            ("key", "Help Scout fields have only a name"),
            (
                "field_type",
                "text and regex fields are single-line fields; a checkbox is a Yes/No dropdown",
            ),
            ("options", "dropdown options are matched by label"),
            ("pattern", "Help Scout fields have no pattern"),
            ("active", "Help Scout fields have no active flag"),
            ("position", "the mailbox orders its fields"),
            ("extra", "not kept"),
        ],
        0.0,
        50,
    );
    fields.update = false;
    fields.delete = false;
    fields.matched_only = true;
    caps.kinds.insert(Kind::FieldDefinition, fields);
    let mut tickets = kind(
        &[
            "subject",
            "tags",
            "requester",
            "assignee",
            "group",
            "created_at",
        ],
        &[
            (
                "status",
                "Help Scout has active/pending/closed: new and open become active, on-hold becomes pending, solved becomes closed",
            ),
            ("priority", "Help Scout conversations have no priority"),
            ("ticket_type", "Help Scout conversations have no type"),
            ("submitter", "not kept"),
            (
                "organization",
                "a conversation belongs to its customer's organization",
            ),
            (
                "channel",
                "written as the conversation type (email, chat, phone); other channels become email",
            ),
            (
                "custom_fields",
                "values of fields the mailbox defines are written (dropdowns by label, checkboxes as Yes/No); multi-select values and fields the mailbox lacks are not",
            ),
            ("links", "not kept"),
            ("archived", "Help Scout does not archive conversations"),
            (
                "updated_at",
                "Help Scout sets update times to the time of the write",
            ),
            (
                "solved_at",
                "kept as the closing time of closed conversations only",
            ),
            ("extra", "not kept"),
        ],
        2.0,
        25,
    );
    tickets.incremental = true;
    tickets.embeds = Some(Kind::Comment);
    caps.kinds.insert(Kind::Ticket, tickets);
    let mut comments = kind(
        &[
            "ticket",
            "public",
            "body_html",
            "author",
            "created_at",
            "attachments.file_name",
            "attachments.content_type",
            "attachments.size",
            "attachments.sha256",
        ],
        &[
            (
                "body_text",
                "Help Scout derives the plain text from the HTML body",
            ),
            (
                "attachments.inline",
                "every file is attached as a regular attachment",
            ),
            ("extra", "not kept"),
        ],
        1.0,
        25,
    );
    // Threads cannot be deleted through the API (rollback deletes the conversation).
    comments.delete = false;
    caps.kinds.insert(Kind::Comment, comments);
    caps.kinds.insert(
        Kind::KbCategory,
        kind(
            &["name", "description", "position"],
            &[
                ("locale", "a Docs site has one language"),
                (
                    "created_at",
                    "Docs sets creation times to the time of the write",
                ),
                (
                    "updated_at",
                    "Docs sets update times to the time of the write",
                ),
                ("extra", "not kept"),
            ],
            1.0,
            50,
        ),
    );
    caps.kinds.insert(
        Kind::KbSection,
        kind(
            &["category", "name", "description"],
            &[
                ("parent", "Docs categories are not nested: a subsection becomes a category of the same collection"),
                ("locale", "a Docs site has one language"),
                ("position", "Docs numbers the categories of a collection itself"),
                ("created_at", "Docs sets creation times to the time of the write"),
                ("updated_at", "Docs sets update times to the time of the write"),
                ("extra", "not kept"),
            ],
            1.0,
            50,
        ),
    );
    caps.kinds.insert(
        Kind::KbArticle,
        kind(
            &["section", "title", "body_html", "draft", "labels"],
            &[
                ("author", "Docs records the API key's user as the author"),
                ("locale", "a Docs site has one language"),
                (
                    "translations",
                    "a Docs site has one language: translations are not written",
                ),
                (
                    "attachments.file_name",
                    "article attachments are not uploaded (links in the body stay)",
                ),
                (
                    "attachments.content_type",
                    "article attachments are not uploaded",
                ),
                ("attachments.size", "article attachments are not uploaded"),
                ("attachments.sha256", "article attachments are not uploaded"),
                ("attachments.inline", "article attachments are not uploaded"),
                (
                    "created_at",
                    "Docs sets creation times to the time of the write",
                ),
                (
                    "updated_at",
                    "Docs sets update times to the time of the write",
                ),
                ("extra", "not kept"),
            ],
            2.0,
            50,
        ),
    );
    caps.kinds.insert(
        Kind::Macro,
        kind(
            &["title"],
            &[
                ("actions", "a saved reply only adds text: the macro's text is kept, its other actions (status, assignee, tags) are not, and a macro with no text is refused"),
                ("description", "saved replies have no description"),
                ("active", "saved replies are always available"),
                ("position", "saved replies are listed by name"),
                ("untranslated", "not kept"),
                ("created_at", "Help Scout sets creation times to the time of the write"),
                ("updated_at", "Help Scout sets update times to the time of the write"),
                ("extra", "not kept"),
            ],
            2.0,
            50,
        ),
    );
    caps.kinds.insert(
        Kind::Webhook,
        kind(
            &["name", "endpoint"],
            &[
                ("subscriptions", "translated to Help Scout events by meaning (ticket.created becomes convo.created, status changes convo.status, user events customer events…); events with no equivalent are dropped, and a webhook left with none is refused"),
                ("method", "Help Scout always POSTs"),
                ("format", "Help Scout always sends JSON"),
                ("auth", "Help Scout signs every delivery with a new secret instead: give it to the receiving service"),
                ("active", "a written webhook is enabled"),
                ("created_at", "Help Scout sets creation times to the time of the write"),
                ("updated_at", "Help Scout sets update times to the time of the write"),
                ("extra", "not kept"),
            ],
            1.0,
            50,
        ),
    );
    caps.kinds.insert(
        Kind::Rule,
        KindCapability {
            read: true,
            page_size: 50,
            ..Default::default()
        },
    );
    caps.kinds.insert(
        Kind::SatisfactionRating,
        KindCapability {
            read: true,
            page_size: 50,
            ..Default::default()
        },
    );
    caps.max_attachment_bytes = Some(10 * 1024 * 1024);
    caps.requests_per_minute = Some(200);
    caps.reads_back_attachment_content = true;
    caps.read_back_hashes_attachments = true;
    caps.notes = vec![
        "conversations are created with every thread imported: Help Scout sends no e-mail and keeps the original times".into(),
        "users, mailboxes and custom fields cannot be created through the API: invite the agents, create the mailboxes (named as the source's groups) and the fields (named as the source's) before a run; unmatched ones are refused, and so are the records that need them".into(),
        "automatic workflows may act on imported conversations: preflight lists the active ones; pause them for the run".into(),
        "satisfaction ratings cannot be written through the API".into(),
        "macros become saved replies of the default mailbox (text only); webhooks subscribe to Help Scout events and sign with a new secret; workflows are read with what a person must rebuild, as the API can neither show their rules nor create them".into(),
        "the knowledge base moves through the Docs API, with its own key (docs_api_key): collections are KB categories, categories are sections (not nested), one language per site".into(),
        "rollback deletes the conversations, customers and organizations the migration created; matched users, mailboxes and fields are left as they were, adopted customers and organizations lose their marker".into(),
    ];
    caps.translated(Kind::Ticket, &["status"])
}

/// What the adapter remembers between calls.
#[derive(Default)]
pub(crate) struct Cache {
    /// Help Scout users, once listed.
    pub(crate) users: Option<Vec<Value>>,
    /// Mailboxes, once listed.
    pub(crate) mailboxes: Option<Vec<Value>>,
    /// Custom fields of every mailbox, once listed: `(mailbox id, field)`.
    pub(crate) fields: Option<Vec<(u64, Value)>>,
}

/// A connection to one Help Scout account.
pub struct HelpScout {
    pub(crate) api: Api,
    pub(crate) docs: Option<docs::Docs>,
    pub(crate) default_mailbox: Option<String>,
    pub(crate) cache: Shared<Cache>,
}

impl HelpScout {
    /// Connects with plan settings (`url`, `app_id`, `app_secret`, optional
    /// `default_mailbox`, `requests_per_minute`).
    pub fn connect(settings: &Settings) -> Result<Self, AdapterError> {
        let url = settings
            .optional_string("url")?
            .unwrap_or_else(|| "https://api.helpscout.net".into());
        let app_id = settings.string("app_id")?;
        let app_secret = settings.secret("app_secret")?;
        let rpm = settings.requests_per_minute()?;
        let api = Api::new(&url, &app_id, app_secret, rpm)?;
        let docs = match settings.optional_secret("docs_api_key")? {
            Some(key) => Some(docs::Docs::new(
                &settings
                    .optional_string("docs_url")?
                    .unwrap_or_else(|| "https://docsapi.helpscout.net".into()),
                key,
                rpm,
                settings.optional_string("docs_site_id")?,
            )?),
            None => None,
        };
        Ok(HelpScout {
            api,
            docs,
            default_mailbox: settings.optional_string("default_mailbox")?,
            cache: Shared::default(),
        })
    }

    /// The Docs API, or the error saying it needs its key.
    pub(crate) fn docs(&self, kind: Kind) -> Result<&docs::Docs, AdapterError> {
        self.docs.as_ref().ok_or_else(|| docs::no_key(kind))
    }

    /// Requests sent so far (for benchmarks).
    pub fn requests_sent(&self) -> u64 {
        self.api.requests()
    }
}

impl Source for HelpScout {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn check(&self) -> Result<(), AdapterError> {
        self.api.get("users/me", &[]).map(|_| ())
    }

    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        self.count_kind(kind)
    }

    fn read_page(&self, kind: Kind, request: &PageRequest) -> Result<Page, AdapterError> {
        let (records, next) = self.read_kind(kind, request)?;
        Ok(Page {
            records: records.into_iter().map(|(_, r)| r).collect(),
            next,
        })
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.open(attachment)
    }
}

impl TargetInfo for HelpScout {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.preflight_checks()
    }

    /// A ticket's status as Help Scout's three conversation statuses hold it: the status
    /// the write sends, read back.
    fn as_stored(&self, kind: Kind, record: &mut switchover_model::Record) {
        if let (Kind::Ticket, switchover_model::Record::Ticket(t)) = (kind, record) {
            t.status = read::status_from(write::status_of(t.status));
        }
    }

    fn predict(
        &self,
        kind: Kind,
        request: &WriteRequest,
    ) -> Result<switchover_adapter::Prediction, AdapterError> {
        self.predict_write(kind, request)
    }
}

impl Target for HelpScout {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn switchover_adapter::ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.write(kind, batch, content)
    }

    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.find(kind, source_ids)
    }

    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let _ = parent_kind;
        self.find_threads(parent_target_id, children)
    }

    /// Comments' attachments come back with the SHA-256 of the bytes Help Scout holds
    /// (it keeps no hash), so verify compares bytes through the digest.
    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        let (mut records, next) = self.read_kind(kind, request)?;
        for (_, record) in &mut records {
            if let Some(attachments) = record.attachments_mut() {
                for attachment in attachments {
                    let mut hasher = sha2::Sha256::new();
                    let mut reader = self.open(attachment)?;
                    std::io::copy(&mut reader, &mut hasher).map_err(|e| {
                        AdapterError::transient(
                            NAME,
                            format!("reading attachment {}: {e}", attachment.id),
                        )
                    })?;
                    attachment.sha256 = Some(hex::encode(hasher.finalize()));
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
        self.open(attachment)
    }

    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        Ok(target_ids
            .iter()
            .map(|id| self.delete_one(kind, id))
            .collect())
    }

    fn release(
        &self,
        kind: Kind,
        target_id: &str,
        before: &switchover_adapter::Adopted,
    ) -> Result<(), AdapterError> {
        self.give_back(kind, target_id, before)
    }
}

impl HelpScout {
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError> {
        let path = attachment
            .location
            .as_deref()
            .ok_or_else(|| AdapterError::NotFound {
                adapter: NAME.into(),
                kind: Kind::Attachment,
                id: attachment.id.clone(),
            })?;
        let bytes = self.api.attachment_bytes(path, &attachment.id)?;
        Ok(Box::new(std::io::Cursor::new(bytes)))
    }
}
