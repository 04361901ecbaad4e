use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use switchover_model::Kind;
use switchover_model::digest::FieldSet;

/// What an adapter can do, declared rather than guessed (rclone's features, OpenDAL's
/// capability struct). Callers branch on this, never on an adapter's name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// Adapter name.
    pub adapter: String,
    /// What it can do per kind; a kind absent here is not supported at all.
    pub kinds: BTreeMap<Kind, KindCapability>,
    /// Largest attachment the platform accepts, in bytes.
    pub max_attachment_bytes: Option<u64>,
    /// Default request budget per minute when the plan sets none.
    pub requests_per_minute: Option<u32>,
    /// Whether attachment bytes can be read back from the target for verification.
    pub reads_back_attachment_content: bool,
    /// Whether `read_back` fills each attachment's `sha256` by hashing the bytes the
    /// target holds (SaaS targets keep no hash): verification then compares bytes
    /// through the record digest and need not download every attachment a second time.
    #[serde(default)]
    pub read_back_hashes_attachments: bool,
    /// Caveats a person should know (what a migration into it cannot do).
    pub notes: Vec<String>,
    /// The vendor's plans and their request budgets, cheapest first, for the dry run's
    /// estimate per plan (empty when the vendor has one budget or the adapter does not
    /// know them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_tiers: Vec<PlanTier>,
}

/// One of a vendor's plans and the request budget it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTier {
    /// The plan's name as the vendor sells it.
    pub name: String,
    /// Requests per minute.
    pub requests_per_minute: u32,
}

impl PlanTier {
    /// Tiers from `(name, requests per minute)` pairs.
    pub fn list(pairs: &[(&str, u32)]) -> Vec<PlanTier> {
        pairs
            .iter()
            .map(|(name, rpm)| PlanTier {
                name: name.to_string(),
                requests_per_minute: *rpm,
            })
            .collect()
    }
}

/// A field that a target keeps only in altered form, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LossyField {
    /// Projection path of the field.
    pub field: String,
    /// What happens to it (e.g. "creation time kept in a header line of the note").
    pub how: String,
    /// The target keeps it by a fixed rule of its own vocabulary (Freshdesk has no "new"
    /// status: new becomes open), which [`crate::TargetInfo::as_stored`] applies: verify
    /// compares the target's value with the source's value after that rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub translated: bool,
}

impl LossyField {
    /// Lossy fields from `(field, how)` pairs, the form adapters declare them in.
    pub fn list(pairs: &[(&str, &str)]) -> Vec<LossyField> {
        pairs
            .iter()
            .map(|(field, how)| LossyField {
                field: field.to_string(),
                how: how.to_string(),
                translated: false,
            })
            .collect()
    }
}

/// How many requests a write costs, so a dry run can predict a real run's requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RequestCost {
    /// Requests per batch written.
    pub per_batch: f64,
    /// Requests per record written.
    pub per_record: f64,
    /// Requests per attachment uploaded.
    pub per_attachment: f64,
}

impl Default for RequestCost {
    fn default() -> Self {
        RequestCost {
            per_batch: 0.0,
            per_record: 1.0,
            per_attachment: 1.0,
        }
    }
}

/// What can be done with records of a kind: the closed set a capability declares and
/// the check layer ([`crate::checked`]) enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Read from the source.
    Read,
    /// Read only what changed since a time.
    Incremental,
    /// Write new records (and find them by source marker).
    Write,
    /// Write changes to records written before.
    Update,
    /// Read back what was written, to verify it.
    ReadBack,
    /// Delete what was written (rollback, deletions in the source).
    Delete,
}

impl Operation {
    /// The operation in words, for errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Incremental => "read incrementally",
            Operation::Write => "write",
            Operation::Update => "update",
            Operation::ReadBack => "read back",
            Operation::Delete => "delete",
        }
    }
}

/// What an adapter can do with one kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KindCapability {
    /// It can read this kind as a source.
    pub read: bool,
    /// It can read only what changed since a time (delta runs).
    pub incremental: bool,
    /// It can write this kind as a target.
    pub write: bool,
    /// It can update a record it wrote earlier (delta runs).
    pub update: bool,
    /// It can read back what it wrote, for verification.
    pub read_back: bool,
    /// It can delete what it wrote, for rollback.
    pub delete: bool,
    /// Fields it round-trips unchanged (projection paths, see `Entity::FIELDS`).
    pub fields: BTreeSet<String>,
    /// Fields it keeps only in altered form.
    pub lossy: Vec<LossyField>,
    /// Largest write batch.
    pub max_batch: usize,
    /// What writes cost in requests.
    pub write_cost: RequestCost,
    /// Records per read request.
    pub page_size: usize,
    /// A kind whose records this kind carries inside it when created (Zendesk imports a
    /// ticket with its comments): the engine then hands new records their children in
    /// [`crate::WriteRequest::children`], and writes children of records already on the
    /// target (a delta run's new comments) as their own kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeds: Option<Kind>,
    /// The platform's API can neither create nor mark records of this kind (Help Scout's
    /// users, mailboxes and field definitions): a write matches a record the target
    /// already has (by e-mail, by name) or is refused, and creates nothing. With no
    /// marker, [`crate::Target::find_by_source`] cannot find them; a resumed run matches
    /// them again, which is safe because nothing is ever created.
    #[serde(default)]
    pub matched_only: bool,
}

impl KindCapability {
    /// Every operation, every field of the kind: what a lossless store like the archive offers.
    pub fn everything(kind: Kind) -> Self {
        KindCapability {
            read: true,
            incremental: true,
            write: true,
            update: true,
            read_back: true,
            delete: true,
            fields: kind.fields().iter().map(|f| f.to_string()).collect(),
            lossy: Vec::new(),
            max_batch: 500,
            write_cost: RequestCost::default(),
            page_size: 500,
            embeds: None,
            matched_only: false,
        }
    }

    /// Whether it supports `operation` (`read`, `write`, `update`, `read_back`, `delete`).
    pub fn supports(&self, operation: Operation) -> bool {
        match operation {
            Operation::Read => self.read,
            Operation::Incremental => self.incremental,
            Operation::Write => self.write,
            Operation::Update => self.update,
            Operation::ReadBack => self.read_back,
            Operation::Delete => self.delete,
        }
    }
}

impl Capabilities {
    /// A capability set for `adapter` with no kinds yet.
    pub fn new(adapter: impl Into<String>) -> Self {
        Capabilities {
            adapter: adapter.into(),
            ..Default::default()
        }
    }

    /// Adds a kind's capability.
    pub fn with_kind(mut self, kind: Kind, capability: KindCapability) -> Self {
        self.kinds.insert(kind, capability);
        self
    }

    /// The capability for a kind, if supported at all.
    pub fn kind(&self, kind: Kind) -> Option<&KindCapability> {
        self.kinds.get(&kind)
    }

    /// Whether it supports `operation` on `kind`.
    pub fn supports(&self, kind: Kind, operation: Operation) -> bool {
        self.kind(kind).is_some_and(|c| c.supports(operation))
    }

    /// The fields both sides round-trip for a kind: what a digest may compare.
    pub fn portable_fields(source: &Capabilities, target: &Capabilities, kind: Kind) -> FieldSet {
        match (source.kind(kind), target.kind(kind)) {
            (Some(s), Some(t)) => s.fields.intersection(&t.fields).cloned().collect(),
            _ => FieldSet::new(),
        }
    }

    /// The fields verify compares for a kind: those both sides round-trip, and those the
    /// source reads that the target keeps by a fixed rule (translated lossy fields),
    /// which are compared after [`crate::TargetInfo::as_stored`] applies the rule.
    pub fn compared_fields(source: &Capabilities, target: &Capabilities, kind: Kind) -> FieldSet {
        let mut fields = Self::portable_fields(source, target, kind);
        if let (Some(s), Some(t)) = (source.kind(kind), target.kind(kind)) {
            fields.extend(
                t.lossy
                    .iter()
                    .filter(|l| l.translated && s.fields.contains(&l.field))
                    .map(|l| l.field.clone()),
            );
        }
        fields
    }

    /// Marks lossy fields of `kind` as kept by a fixed rule that the adapter's
    /// [`crate::TargetInfo::as_stored`] applies (see [`LossyField::translated`]).
    pub fn translated(mut self, kind: Kind, fields: &[&str]) -> Self {
        if let Some(capability) = self.kinds.get_mut(&kind) {
            for lossy in capability.lossy.iter_mut() {
                if fields.contains(&lossy.field.as_str()) {
                    lossy.translated = true;
                }
            }
        }
        self
    }

    /// Fields the source reads that the target does not round-trip, with how the target
    /// treats them: what the verification report lists as lossy.
    pub fn lossy_fields(
        source: &Capabilities,
        target: &Capabilities,
        kind: Kind,
    ) -> Vec<LossyField> {
        let (Some(s), Some(t)) = (source.kind(kind), target.kind(kind)) else {
            return Vec::new();
        };
        s.fields
            .difference(&t.fields)
            .map(|field| {
                t.lossy
                    .iter()
                    .find(|l| &l.field == field)
                    .cloned()
                    .unwrap_or_else(|| LossyField {
                        field: field.clone(),
                        how: format!("not kept by {}", target.adapter),
                        translated: false,
                    })
            })
            .collect()
    }
}
