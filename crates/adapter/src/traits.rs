use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use switchover_model::{Attachment, Kind, Record, Timestamp};

use crate::{AdapterError, Capabilities};

/// An opaque position in a source's stream of one kind; the engine stores it after every
/// page so a resumed run continues where the last one stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// Which page of a kind to read.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Continue after this position; `None` starts at the beginning.
    pub cursor: Option<Cursor>,
    /// Only records changed at or after this time (delta runs); adapters that cannot
    /// filter return everything and let the engine compare digests.
    pub changed_since: Option<Timestamp>,
    /// Preferred page size; the adapter may cap it.
    pub page_size: Option<usize>,
}

/// One page of records.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The records, with their source ids and source-id references.
    pub records: Vec<Record>,
    /// Where the next page starts; `None` when this was the last one.
    pub next: Option<Cursor>,
}

/// Reads a platform.
pub trait Source: Send + Sync {
    /// What it can read.
    fn capabilities(&self) -> Capabilities;

    /// Checks that the credentials work, with one cheap request.
    fn check(&self) -> Result<(), AdapterError>;

    /// How many records of a kind there are, when the platform says so cheaply.
    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError>;

    /// Reads one page of a kind.
    fn read_page(&self, kind: Kind, request: &PageRequest) -> Result<Page, AdapterError>;

    /// Opens the bytes of an attachment this source described.
    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError>;

    /// How this account spells the URLs of its attachments and records in bodies, so
    /// the engine can move the images and re-point the links; `None`: it cannot say.
    fn body_urls(&self) -> Option<&dyn crate::bodies::BodyUrls> {
        None
    }
}

/// Where a target gets attachment bytes from while writing: the source, in a migration.
pub trait ContentSource: Sync {
    /// Opens the bytes of an attachment.
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError>;
}

impl<S: Source + ?Sized> ContentSource for S {
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.open_attachment(attachment)
    }
}

/// One record to write.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The record as read from the source: its `id` is the source id (the target stores it
    /// as the source marker), its references are already mapped to target ids. A
    /// reference with an empty id points at a record of the same kind that is not on the
    /// target yet (a ticket linking forward): the target leaves it out, and the engine
    /// writes the record again, as an update, once the referenced record exists.
    pub record: Record,
    /// The target id of an earlier copy to update instead of creating a new one.
    pub existing: Option<String>,
    /// Records that belong to this one (the comments of a new ticket), to be written
    /// inside it in the order given, when the target declares that this kind embeds
    /// them ([`crate::KindCapability::embeds`]): a ticket import that carries its
    /// comments keeps their authors and times and fires no notification rules. Filled
    /// only when creating; their parent reference is empty (the parent has no target
    /// id yet), every other reference is mapped. Empty for every other target.
    pub children: Vec<WriteRequest>,
}

impl WriteRequest {
    /// A request to create `record`, with no children.
    pub fn create(record: Record) -> Self {
        WriteRequest {
            record,
            existing: None,
            children: Vec::new(),
        }
    }

    /// A request to update the earlier copy `existing` of `record`.
    pub fn update(record: Record, existing: impl Into<String>) -> Self {
        WriteRequest {
            record,
            existing: Some(existing.into()),
            children: Vec::new(),
        }
    }
}

/// What became of one [`WriteRequest`].
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The record's source id.
    pub source_id: String,
    /// Its target id, or why the target refused it.
    pub result: Result<String, AdapterError>,
    /// Outcomes of the request's children that were written with it. A child left out
    /// is not known written: the engine asks [`Target::find_embedded`] or writes it as
    /// a record of its own kind later.
    pub children: Vec<WriteOutcome>,
    /// Set when the target already had this record before the migration (a group of
    /// the same name, a user with the same e-mail) and the write adopted it instead of
    /// creating one: rollback then gives it back ([`Target::release`]) instead of
    /// deleting it. `None` means the write created the record (or updated one it had
    /// created before).
    pub adopted: Option<Adopted>,
}

impl WriteOutcome {
    /// The outcome of a record written without children.
    pub fn new(source_id: impl Into<String>, result: Result<String, AdapterError>) -> Self {
        WriteOutcome {
            source_id: source_id.into(),
            result,
            children: Vec::new(),
            adopted: None,
        }
    }

    /// The outcome of a write that adopted a record the target already had.
    pub fn adopted(
        source_id: impl Into<String>,
        target_id: impl Into<String>,
        adopted: Adopted,
    ) -> Self {
        WriteOutcome {
            adopted: Some(adopted),
            ..WriteOutcome::new(source_id, Ok(target_id.into()))
        }
    }
}

/// What a target had of a record the migration adopted, so that a rollback can give it
/// back as it was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Adopted {
    /// The values the adopting write changed, as the target had them before, in the
    /// adapter's own form (the vendor's field names). [`Target::release`] writes them
    /// back.
    pub before: serde_json::Value,
}

/// A record read back from a target.
#[derive(Debug, Clone)]
pub struct ReadBack {
    /// The source marker the target stored with it, if it was written by a migration.
    pub source_id: Option<String>,
    /// The record as the target has it: target id and target-id references.
    pub record: Record,
}

/// One page of read-back records.
#[derive(Debug, Clone, Default)]
pub struct ReadBackPage {
    /// The records.
    pub records: Vec<ReadBack>,
    /// Where the next page starts; `None` when this was the last one.
    pub next: Option<Cursor>,
}

/// What a target found before a migration starts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Preflight {
    /// Things a person should know or switch off.
    pub warnings: Vec<String>,
    /// Things that make the migration impossible until fixed.
    pub blockers: Vec<String>,
    /// Things the run would do to people (e-mail customers, notify agents): a migration
    /// stops before its first write unless the plan accepts each by name.
    #[serde(default)]
    pub risks: Vec<Risk>,
}

/// The name of the risk that the target e-mails or notifies people while records are
/// written (active triggers, automation rules, notification scrips).
pub const TARGET_NOTIFICATIONS: &str = "target_notifications";

/// A risk a preflight found: what it is called in a plan's `accept_risks`, and what
/// would happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// Its name, e.g. [`TARGET_NOTIFICATIONS`].
    pub name: String,
    /// What would happen and how to switch it off.
    pub message: String,
}

impl Preflight {
    /// Adds a risk that the target notifies people, with what would happen.
    pub fn notifications(&mut self, message: impl Into<String>) {
        self.risks.push(Risk {
            name: TARGET_NOTIFICATIONS.into(),
            message: message.into(),
        });
    }
}

/// What a target would do with one write, as a dry run asks it: read what the target
/// holds and apply the same rules the write applies, without writing.
#[derive(Debug, Clone)]
pub enum Prediction {
    /// It would create the record.
    Create,
    /// It would adopt a record the target already has (same name, same e-mail).
    Adopt,
    /// It would adopt this target record, whose id the prediction found: the dry run
    /// points references at it, so what it predicts for the records that use it (a
    /// ticket's value of an adopted field) is judged against the real record.
    AdoptAs(String),
    /// It would refuse the record, with the error the write would give.
    Refuse(AdapterError),
}

impl Prediction {
    /// The prediction for a record matched by name or e-mail: adopt what was found,
    /// create when nothing was, refuse with the write's own error for a record it would
    /// refuse. Errors that are not about the record stay errors.
    pub fn of_match<T>(found: Result<Option<T>, AdapterError>) -> Result<Self, AdapterError> {
        match found {
            Ok(Some(_)) => Ok(Prediction::Adopt),
            Ok(None) => Ok(Prediction::Create),
            Err(e) if e.kind() == crate::ErrorKind::InvalidRecord => Ok(Prediction::Refuse(e)),
            Err(e) => Err(e),
        }
    }

    /// [`Prediction::of_match`], naming the found record's target id (`id_of`) so the
    /// dry run points references at it ([`Prediction::AdoptAs`]).
    pub fn of_match_as<T>(
        found: Result<Option<T>, AdapterError>,
        id_of: impl Fn(&T) -> Option<String>,
    ) -> Result<Self, AdapterError> {
        Ok(match found {
            Ok(Some(had)) => match id_of(&had) {
                Some(id) => Prediction::AdoptAs(id),
                None => Prediction::Adopt,
            },
            other => Self::of_match(other)?,
        })
    }
}

/// The part of a target that cannot change it: what a dry run is given, so that a dry
/// run cannot write by construction.
pub trait TargetInfo: Send + Sync {
    /// What it can write.
    fn capabilities(&self) -> Capabilities;

    /// Checks credentials and settings that would make a migration misbehave (rules
    /// that e-mail customers, missing plan features) without changing anything.
    fn preflight(&self) -> Result<Preflight, AdapterError>;

    /// How this account spells the URLs of its records in bodies. `Some` also promises
    /// that its writes resolve inline placeholders to the URLs its uploads get
    /// ([`crate::bodies::resolve_inline`]); `None` leaves bodies as the source has them.
    fn body_urls(&self) -> Option<&dyn crate::bodies::BodyUrls> {
        None
    }

    /// What writing this new record would do, from what the target holds now, by the
    /// rules the write itself applies (an adapter keeps those rules in one place for
    /// both). References in `request` point at records a dry run has not written, so a
    /// prediction must not depend on them. The default predicts a create.
    fn predict(&self, kind: Kind, request: &WriteRequest) -> Result<Prediction, AdapterError> {
        let _ = (kind, request);
        Ok(Prediction::Create)
    }

    /// Rewrites `record` as this target keeps it, by the fixed rules of its vocabulary
    /// that its capabilities declare as translated lossy fields (a status it lacks
    /// becomes its nearest one): the write's own conversions, so that verify compares
    /// those fields with what the target can hold. The default keeps the record as it is.
    fn as_stored(&self, kind: Kind, record: &mut Record) {
        let _ = (kind, record);
    }
}

/// Writes a platform. Every write stores the record's source id as a source marker
/// (external_id, a custom field, a tag) so that a resumed run finds what a killed run
/// wrote ([`Target::find_by_source`]) instead of writing it twice.
pub trait Target: TargetInfo {
    /// Writes a batch of records of one kind (no larger than the kind's `max_batch`).
    /// Per-record refusals are reported in the outcomes; an `Err` means the whole batch
    /// failed (authentication, rate limit, transient) and none of it is known written.
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError>;

    /// [`Target::write_batch`] for a batch the engine proves was never sent: its state
    /// store holds no intent, no id and no outcome for any of these records, and intents
    /// are stored before a write is sent, so no earlier attempt can have put one on the
    /// target. A target may then skip looking for earlier copies by source marker (a
    /// lookup per new record saved). A batch re-sent after a failed attempt, or holding
    /// a record a crash left pending or unknown, goes to `write_batch` and keeps its
    /// lookups. The default is `write_batch`.
    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.write_batch(kind, batch, content)
    }

    /// Target ids of records carrying these source markers; absent ones are not written.
    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError>;

    /// Target ids of records whose writes were sent and may have landed (an answer
    /// lost, a run killed), given as they were sent: references mapped to target ids,
    /// so a target can look where each one would be (the notes of its ticket) instead
    /// of scanning the whole account. Absent ones are proven not written; a lookup that
    /// failed, faulted or read only part of what it needed is an `Err`, never an
    /// absence. A record whose parent reference is empty has no parent on the target.
    /// The default asks [`Target::find_by_source`].
    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let ids: Vec<String> = sent.iter().map(|r| r.record.id().to_string()).collect();
        self.find_by_source(kind, &ids)
    }

    /// Target ids of children written inside the parent `parent_target_id` (see
    /// [`WriteRequest::children`]), keyed by source id; absent ones are not there. The
    /// children are given as they were sent, in the same order, so a target that keeps
    /// no marker on them (Zendesk's imported comments) can match them by position and
    /// content. The default asks [`Target::find_by_source`].
    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let _ = (parent_kind, parent_target_id);
        let Some(kind) = children.first().map(|c| c.record.kind()) else {
            return Ok(BTreeMap::new());
        };
        let ids: Vec<String> = children.iter().map(|c| c.record.id().to_string()).collect();
        self.find_by_source(kind, &ids)
    }

    /// Reads back a page of everything of a kind the target holds.
    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError>;

    /// Opens attachment bytes as stored on the target, to verify them.
    fn open_attachment(
        &self,
        _attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        Err(AdapterError::unsupported(
            &self.capabilities().adapter,
            Kind::Attachment,
            "read back attachment content of",
        ))
    }

    /// Called once after a run has written everything it will write: seal what needs
    /// sealing (the archive computes its digest roots here). Writing may resume later.
    fn finish(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Deletes records by target id; per-record results in the same order. The engine
    /// asks only for records the migration created.
    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError>;

    /// Called at the end of a rollback: removes what the adapter added to the target for
    /// its own bookkeeping (a source-marker custom field, say) where no record on the
    /// target uses it any more, and says what it removed. The default removes nothing.
    fn remove_helpers(&self) -> Result<Vec<String>, AdapterError> {
        Ok(Vec::new())
    }

    /// Switches a migrated rule, automation or webhook on or off (`switchover cutover`):
    /// targets create them switched off so nothing fires during the migration. `record`
    /// is the source record, for targets whose endpoint depends on it (a trigger or an
    /// automation). The default says the target cannot.
    fn set_active(
        &self,
        kind: Kind,
        target_id: &str,
        record: &Record,
        active: bool,
    ) -> Result<(), AdapterError> {
        let _ = (target_id, record, active);
        Err(AdapterError::unsupported(
            &self.capabilities().adapter,
            kind,
            "switch on or off",
        ))
    }

    /// Gives back a record the migration adopted ([`WriteOutcome::adopted`]): removes
    /// its source marker and writes back the values it had before. Never deletes it.
    /// The default says the target cannot, and rollback leaves the record in place.
    fn release(&self, kind: Kind, target_id: &str, before: &Adopted) -> Result<(), AdapterError> {
        let _ = (target_id, before);
        Err(AdapterError::unsupported(
            &self.capabilities().adapter,
            kind,
            "give back (release) adopted records of",
        ))
    }
}
