//! Request Tracker 5 as a Switchover source and target, through RT's REST 2.0 API and,
//! for what REST 2.0 cannot reach (notification scrips), its web UI.
//!
//! Mapping:
//! - RT queues are groups; users are users (privileged = agent, unprivileged = end user,
//!   disabled = suspended, or deleted when the migration marked it so in `Comments`).
//! - Custom fields are field definitions: ticket fields are applied globally; user and
//!   organization fields are created on `RT::User` / `RT::Group` (REST 2.0 cannot apply
//!   those, so their values do not move).
//! - Tickets are found with TicketSQL (`id > cursor`, optionally `LastUpdated >= since`);
//!   their Create, Correspond and Comment transactions are comments (Comment = private).
//!
//! Source markers, so re-runs and crash recovery find what exists:
//! - tickets: the global ticket custom field `Switchover-Source-Id` (created if missing);
//! - users: the `Organization` attribute = `switchover:<source id>` (one of the few user
//!   attributes REST 2.0 can search; RT has no organizations to migrate into it, REST 2.0
//!   cannot apply user custom fields, and `Gecos`/`NickName` hold only 16 characters);
//! - queues and custom fields: a `[Switchover-Source-Id: <id>]` suffix of `Description`;
//! - comments: the message subject `Switchover-Source-Id: <id>`.
//!
//! RT records who wrote a transaction and when as the API user and the time of the
//! request; the original author and time are kept in a first line of the body,
//! `[Switchover] originally by … at …`, which reading parses back.
//!
//! Two kinds of RT take a ticket's or user's original `Created` (and a ticket's
//! `Creator`) differently: builds before the October 2026 security fix keep them on a
//! REST 2.0 create, current Debian and upstream builds drop them silently. The adapter
//! learns which kind it talks to from the read-back of its first create (see
//! [`ImportFields`]), never from a version string, and where RT dropped them keeps the
//! originals where an RT user can see and search them: the ticket custom fields
//! `Switchover-Original-Created` and `Switchover-Original-Creator`, and a user's
//! `[Switchover] created in the source helpdesk at …` line in Comments. Reading prefers
//! those over RT's own values.

#![deny(missing_docs)]

mod api;
mod read;
mod scrips;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde_json::Value;
use switchover_adapter::marker::SuffixMarker;
use switchover_adapter::{
    AdapterError, AdapterSpec, Capabilities, ContentSource, KindCapability, LossyField, Page,
    PageRequest, Preflight, ReadBackPage, RequestCost, Settings, Source, Target, TargetInfo,
    WriteOutcome, WriteRequest,
};
use switchover_model::{Attachment, FieldType, Kind, Timestamp};

use api::Api;
pub use scrips::{Scrip, parse_scrips};

/// The adapter's name in plans.
pub const NAME: &str = "rt";
/// Name of the ticket custom field that holds the source marker.
pub const MARKER_FIELD: &str = "Switchover-Source-Id";
/// Prefix of the user `Organization` attribute that holds a user's source marker.
pub const USER_MARKER_PREFIX: &str = "switchover:";
/// Ticket custom field that keeps a ticket's original creation time (RFC 3339, UTC)
/// where RT dropped the `Created` of the create.
pub const ORIGINAL_CREATED_FIELD: &str = "Switchover-Original-Created";
/// Ticket custom field that keeps the RT user name of a ticket's original creator
/// where RT dropped the `Creator` of the create.
pub const ORIGINAL_CREATOR_FIELD: &str = "Switchover-Original-Creator";

/// What an RT server did with one import field (`Created`, `Creator`) of a REST 2.0
/// create, as the read-back of the adapter's first such create showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFields {
    /// RT stored the value given (RT 4.4, 5.0.x before the October 2026 security fix).
    Kept,
    /// RT stored its own value instead (the request's time, the API user): current
    /// Debian and upstream builds, whose REST 2.0 drops these fields silently.
    Dropped,
}

/// The import fields whose treatment the adapter learns, one flag each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImportField {
    /// A ticket's `Created`.
    TicketCreated,
    /// A ticket's `Creator`.
    TicketCreator,
    /// A user's `Created`.
    UserCreated,
}

/// The adapter's one entry in the CLI: the adapter.
pub fn platform() -> switchover_sandbox::Platform {
    switchover_sandbox::Platform::new(register())
}

/// Registers the RT adapter.
pub fn register() -> AdapterSpec {
    AdapterSpec {
        name: NAME,
        summary: "Request Tracker 5 over REST 2.0: queues, users, custom fields, tickets, correspondence and comments with attachments",
        settings_help: &[
            "url = \"https://rt.example.com\"      RT web root (REST 2.0 is under /REST/2.0)",
            "user = \"root\"                        an RT user with SuperUser (admin) rights",
            "password = \"env:RT_PASSWORD\"         the user's password (env:VAR or file:PATH)",
            "disable_notifications = true         as a target: disable mail-sending scrips before writing",
            "requests_per_minute = 600            optional request budget",
        ],
        capabilities,
        source: Some(|settings| Ok(Box::new(Rt::connect(settings)?))),
        target: Some(|settings| Ok(Box::new(Rt::connect(settings)?))),
    }
}

fn kind_cap(
    read: bool,
    incremental: bool,
    delete: bool,
    declared: &[&str],
    lost: &[(&str, &str)],
    cost: RequestCost,
) -> KindCapability {
    KindCapability {
        read,
        incremental,
        write: true,
        update: true,
        read_back: true,
        delete,
        fields: switchover_model::digest::field_set(declared.iter().copied()),
        lossy: LossyField::list(lost),
        max_batch: 50,
        write_cost: cost,
        page_size: 50,
        embeds: None,
        matched_only: false,
    }
}

/// What RT can do, declared per kind: the fields listed round-trip exactly.
pub fn capabilities() -> Capabilities {
    let mut caps = Capabilities::new(NAME);
    let per = |per_record: f64| RequestCost {
        per_batch: 0.0,
        per_record,
        per_attachment: 0.0,
    };
    caps.kinds.insert(
        Kind::User,
        kind_cap(true, false, false,
            &["name", "email", "phone", "state", "locale", "time_zone", "created_at"],
            &[
                ("role", "admins become privileged users (agents): RT rights are not migrated; the source role is noted in the user's Comments"),
                ("organization", "RT has no organizations; not kept (the user's Organization attribute holds the source marker)"),
                ("tags", "RT users have no tags; not kept"),
                ("custom_fields", "REST 2.0 cannot apply user custom fields, so values are not kept"),
                ("updated_at", "RT sets LastUpdated to the time of the write"),
                ("extra", "not kept"),
            ],
            per(3.0)),
    );
    caps.kinds.insert(
        Kind::Group,
        kind_cap(
            true,
            false,
            false,
            &["name", "description"],
            &[
                (
                    "created_at",
                    "RT sets a queue's Created to the time of the write",
                ),
                ("updated_at", "RT sets LastUpdated to the time of the write"),
                ("extra", "not kept"),
            ],
            per(2.0),
        ),
    );
    caps.kinds.insert(
        Kind::FieldDefinition,
        kind_cap(
            true,
            false,
            false,
            &[
                "object",
                "key",
                "title",
                "field_type",
                "options",
                "pattern",
                "required",
                "active",
                "position",
            ],
            &[("extra", "not kept")],
            per(4.0),
        ),
    );
    caps.kinds.insert(
        Kind::Ticket,
        kind_cap(true, true, true,
            &["subject", "priority", "requester", "submitter", "assignee", "group", "custom_fields", "links", "created_at", "solved_at"],
            &[
                ("status", "RT's default lifecycle has new/open/stalled/resolved/rejected: pending and on-hold both become stalled, solved and closed both become resolved"),
                ("ticket_type", "RT tickets have no type; not kept"),
                ("tags", "RT tickets have no tags; not kept"),
                ("organization", "RT has no organizations; not kept"),
                ("channel", "not kept"),
                ("archived", "RT does not archive tickets; not kept"),
                ("updated_at", "RT sets LastUpdated to the time of the write"),
                ("extra", "not kept"),
            ],
            per(4.0)),
    );
    caps.kinds.insert(
        Kind::Comment,
        kind_cap(true, true, false,
            &["ticket", "public", "body_text", "attachments.file_name", "attachments.content_type", "attachments.size", "attachments.sha256"],
            &[
                ("author", "RT records the migrating account as the transaction's creator; the original author is kept in a first line '[Switchover] originally by NAME <EMAIL> (user ID) at TIME' of the body"),
                ("created_at", "RT records the time of the write as the transaction's Created; the original time is kept in the '[Switchover] originally by … at TIME' line of the body"),
                ("body_html", "RT keeps one body per message via REST 2.0: the plain-text body is stored, the HTML alternative is not (HTML-only comments are stored as HTML)"),
                ("attachments.inline", "REST 2.0 attaches every file as a regular attachment"),
                ("extra", "not kept"),
            ],
            RequestCost { per_batch: 0.0, per_record: 6.0, per_attachment: 1.0 }),
    );
    caps.max_attachment_bytes = Some(10 * 1024 * 1024);
    caps.reads_back_attachment_content = true;
    caps.read_back_hashes_attachments = true;
    caps.notes = vec![
        "rollback: deleting a ticket sets its status to 'deleted' (RT's soft delete); deleted tickets vanish from searches, read-back and find_by_source, so a later run creates them anew; an RT admin can restore one by setting its status or remove it for good with rt-shredder".into(),
        "users, queues, custom fields and comments cannot be deleted through REST 2.0 (users, queues and custom fields can only be disabled); rollback leaves them in place".into(),
        "transaction authors and times cannot be set through REST 2.0: the original author and time are kept in a first line of each migrated comment".into(),
        format!("ticket and user creation times and ticket creators: RT builds before the October 2026 security fix keep the Created and Creator of a REST 2.0 create, current builds drop them silently; the first create's read-back shows which, and where RT dropped them the originals are kept in the ticket custom fields {ORIGINAL_CREATED_FIELD} (RFC 3339, UTC) and {ORIGINAL_CREATOR_FIELD} (the RT user name), searchable in TicketSQL and shown on the ticket, and in a '[Switchover] created in the source helpdesk at TIME' line of a user's Comments; reading prefers these over RT's own"),
        "RT sends mail from scrips: preflight lists active notification scrips; with disable_notifications = true the target disables them (web UI, Admin > Scrips) before its first write".into(),
        "owners must have the OwnTicket right in the queue (REST 2.0 cannot grant rights); a refused owner is reported as a rejected assignee".into(),
        "REST 2.0 refuses empty files: a 0-byte attachment is recorded in a '[Switchover] empty attachment' line of the body and read back from it".into(),
        "links: RT stores each link once and shows it from both tickets; reading reports the forward kinds (depends_on, refers_to, parent); incident_of is written as refers_to; a link to a ticket written in a later batch is added when that ticket is written only if it is found by its source marker".into(),
        "user and organization custom fields are created unapplied (REST 2.0 can only apply ticket fields), so their values do not move".into(),
    ];
    caps.translated(Kind::Ticket, &["status"])
}

/// What the adapter knows about one RT custom field.
#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub(crate) field_type: FieldType,
}

/// A user's identity in RT.
#[derive(Debug, Clone)]
pub(crate) struct UserInfo {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) real_name: String,
    pub(crate) email: String,
}

#[derive(Default)]
pub(crate) struct Cache {
    /// RT user Name -> user.
    pub(crate) users_by_name: HashMap<String, UserInfo>,
    /// RT numeric user id -> user.
    pub(crate) users_by_id: HashMap<String, UserInfo>,
    /// Custom field id -> what it is.
    pub(crate) fields: HashMap<String, FieldInfo>,
    /// Whether notification scrips were dealt with.
    pub(crate) notifications_checked: bool,
    /// Ticket custom fields known to exist, by name (the marker, the originals).
    pub(crate) ticket_fields_ready: std::collections::BTreeSet<&'static str>,
    /// What this server does with each import field, once a write showed it.
    pub(crate) import_fields: BTreeMap<ImportField, ImportFields>,
}

/// A connection to one RT instance, usable as a source and as a target.
pub struct Rt {
    pub(crate) api: Api,
    disable_notifications: bool,
    pub(crate) cache: switchover_adapter::Shared<Cache>,
}

impl Rt {
    /// Builds the adapter from plan settings: `url`, `user`, `password` (a secret
    /// reference), optional `disable_notifications` and `requests_per_minute`.
    pub fn connect(settings: &Settings) -> Result<Self, AdapterError> {
        let url = settings.string("url")?;
        let user = settings
            .optional_string("user")?
            .unwrap_or_else(|| "root".into());
        let password = settings.secret("password")?;
        let disable_notifications = settings
            .optional_bool("disable_notifications")?
            .unwrap_or(false);
        let rpm = settings.requests_per_minute()?;
        Ok(Rt {
            api: Api::new(&url, &user, password, rpm)?,
            disable_notifications,
            cache: switchover_adapter::Shared::default(),
        })
    }

    /// What this server was seen to do with an import field; `None` until a create
    /// that carried it was read back.
    pub fn import_fields(&self, field: ImportField) -> Option<ImportFields> {
        self.cache.lock().import_fields.get(&field).copied()
    }

    /// Records what a read-back showed about an import field; says so once per server.
    pub(crate) fn learn_import_field(&self, field: ImportField, kept: bool) -> ImportFields {
        let seen = if kept {
            ImportFields::Kept
        } else {
            ImportFields::Dropped
        };
        let before = self.cache.lock().import_fields.insert(field, seen);
        if before.is_none() {
            match seen {
                ImportFields::Kept => log::info!(
                    "rt: {} keeps {field:?} on REST 2.0 creates; the original value is stored as RT's own",
                    self.api.root()
                ),
                ImportFields::Dropped => log::warn!(
                    "rt: {} drops {field:?} from REST 2.0 creates (RT's security fix of October 2026); the original value is kept in {}",
                    self.api.root(),
                    match field {
                        ImportField::TicketCreated => ORIGINAL_CREATED_FIELD,
                        ImportField::TicketCreator => ORIGINAL_CREATOR_FIELD,
                        ImportField::UserCreated =>
                            "a '[Switchover] created in the source helpdesk at' line of the user's Comments",
                    }
                ),
            }
        }
        seen
    }

    fn ping(&self) -> Result<(), AdapterError> {
        let about = self.api.get("rt")?;
        if about.get("Version").is_none() {
            return Err(AdapterError::config(
                NAME,
                format!(
                    "{} does not look like RT 5 REST 2.0 (no Version in /REST/2.0/rt)",
                    self.api.root()
                ),
            ));
        }
        Ok(())
    }

    /// Active notification scrips, as the web UI lists them.
    pub fn active_notification_scrips(&self) -> Result<Vec<Scrip>, AdapterError> {
        let cookie = self.api.web_login()?;
        Ok(scrips::list(&self.api, &cookie)?
            .into_iter()
            .filter(|s| s.enabled && s.sends_mail())
            .collect())
    }

    /// Before the first write: disables notification scrips if the plan says so.
    pub(crate) fn ensure_quiet(&self) -> Result<(), AdapterError> {
        if self.cache.lock().notifications_checked {
            return Ok(());
        }
        if self.disable_notifications {
            let disabled = scrips::disable_notifications(&self.api)?;
            for scrip in disabled {
                log::info!(
                    "rt: disabled notification scrip #{} {}",
                    scrip.id,
                    scrip.description
                );
            }
        }
        self.cache.lock().notifications_checked = true;
        Ok(())
    }
}

/// The text form of a JSON value that RT may give as a string or a number.
pub(crate) fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Object(o)) => o
            .get("id")
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// An RT date, `None` for RT's "unset" (1970-01-01).
pub(crate) fn time(value: &Value, key: &str) -> Option<Timestamp> {
    let raw = text(value, key);
    if raw.is_empty() || raw.starts_with("1970-01-01") {
        return None;
    }
    raw.parse().ok()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC: the only format RT's import fields take.
pub(crate) fn sql_time(at: &Timestamp) -> String {
    at.as_datetime().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Percent-encodes one URL path segment (RT user names may be e-mail addresses).
pub(crate) fn segment(raw: &str) -> String {
    let mut out = String::new();
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The marker suffix kept in a queue's or custom field's Description:
/// `<text> [Switchover-Source-Id: <source id>]`.
pub(crate) const MARKER: SuffixMarker = SuffixMarker::new("[Switchover-Source-Id: ", " ");

impl Source for Rt {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn check(&self) -> Result<(), AdapterError> {
        self.ping()
    }

    /// Tickets: the `total` of a one-row TicketSQL search (what progress bars need for an
    /// ETA over a 400,000-ticket queue). Other kinds are read with a request per record
    /// and counted as they come.
    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        if kind != Kind::Ticket {
            return Ok(None);
        }
        self.count_tickets().map(Some)
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

/// The `id` of a record as RT answers it, when it has one.
fn id_text(record: &serde_json::Value) -> Option<String> {
    Some(text(record, "id")).filter(|id| !id.is_empty())
}

impl TargetInfo for Rt {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.ping()?;
        let mut preflight = Preflight::default();
        let active = self.active_notification_scrips()?;
        if !active.is_empty() {
            let names: Vec<String> = active
                .iter()
                .map(|s| format!("#{} {}", s.id, s.description))
                .collect();
            if self.disable_notifications {
                preflight.warnings.push(format!("{} notification scrips will be disabled before the first write (disable_notifications = true): {}", active.len(), names.join(", ")));
            } else {
                preflight.notifications(format!("{} active notification scrips would e-mail requesters and agents during the migration: {}; set disable_notifications = true or disable them in Admin > Scrips", active.len(), names.join(", ")));
            }
        }
        preflight.warnings.push(
            "RT cannot set who wrote a comment or when through REST 2.0: the original author and time are kept in a first line of each comment".into(),
        );
        preflight.warnings.push(format!(
            "if this RT drops Created and Creator from REST 2.0 creates (current builds do; the first create shows it), original ticket creation times and creators are kept in the custom fields {ORIGINAL_CREATED_FIELD} and {ORIGINAL_CREATOR_FIELD}, and a user's creation time in its Comments"
        ));
        Ok(preflight)
    }

    /// Queues of the same name and users of the same e-mail are adopted, or refused
    /// when another record's marker is on them (the write's rules, `queue_to_adopt` and
    /// `user_to_adopt`); other records are predicted created.
    /// A ticket's status as RT's default lifecycle holds it: the status the write sends,
    /// read back.
    fn as_stored(&self, kind: Kind, record: &mut switchover_model::Record) {
        if let (Kind::Ticket, switchover_model::Record::Ticket(t)) = (kind, record) {
            t.status = read::status_from_rt(write::status_to_rt(t.status));
        }
    }

    fn predict(
        &self,
        kind: Kind,
        request: &WriteRequest,
    ) -> Result<switchover_adapter::Prediction, AdapterError> {
        use switchover_adapter::Prediction;
        match (&request.record, kind) {
            (switchover_model::Record::Group(group), Kind::Group) => {
                Prediction::of_match_as(self.queue_to_adopt(group), id_text)
            }
            (switchover_model::Record::User(user), Kind::User) => {
                Prediction::of_match_as(self.user_to_adopt(user), id_text)
            }
            _ => Ok(Prediction::Create),
        }
    }
}

impl Target for Rt {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.ensure_quiet()?;
        self.write_kind(kind, batch, content)
    }

    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.find(kind, source_ids)
    }

    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        let (records, next) = self.read_kind(kind, request)?;
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
        if kind != Kind::Ticket {
            return Err(AdapterError::unsupported(NAME, kind, "delete"));
        }
        Ok(target_ids.iter().map(|id| self.delete_ticket(id)).collect())
    }

    fn release(
        &self,
        kind: Kind,
        target_id: &str,
        before: &switchover_adapter::Adopted,
    ) -> Result<(), AdapterError> {
        self.release(kind, target_id, before)
    }
}
