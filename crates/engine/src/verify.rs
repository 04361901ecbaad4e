//! Verification: a proof computed from the two sides, never from the migration's own
//! bookkeeping. The source is read afresh and every record in the plan's scope is
//! digested on the portable projection; the target is read back and digested the same
//! way (its references turned back into source ids through the id map). Each source
//! record is then matched, differing (with the fields named), or missing on the target
//! with the reason the state store knows (failed, skipped by policy, outcome unknown,
//! never attempted, rolled back, or written and since gone); each target record with a
//! source marker the source no longer has is extra. The Merkle roots and the manifest
//! digest of the source side are computed from what was read from the source.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use switchover_adapter::Operation;

use switchover_adapter::{Capabilities, LossyField, PageRequest, Source, Target};
use switchover_model::digest::{ContentHasher, Digest, FieldSet, field_digests, record_digest};
use switchover_model::merkle::{MerkleBuilder, manifest_digest};
use switchover_model::{Kind, Record};

use crate::EngineError;
use crate::events::{Cancel, Event, Observer};
use crate::executor::{Options, read_with_retry};
use crate::mapping::Mapping;
use crate::planner::plan_kinds;
use crate::state::StateStore;

/// How many records each list of a report keeps (the counts are always complete).
const LIST_LIMIT: usize = 1000;

/// A record on both sides whose compared fields differ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DifferingRecord {
    /// Its source id.
    pub source_id: String,
    /// The portable fields whose values differ.
    pub fields: Vec<String>,
}

impl fmt::Display for DifferingRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.source_id, self.fields.join(", "))
    }
}

/// Why a source record is not on the target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MissingReason {
    /// Its write failed; the error is recorded (`switchover retry-failed` sends it again).
    Failed,
    /// The plan's `unresolved_references = "skip"` left it out.
    SkippedByPolicy,
    /// A write was sent and its outcome is unknown (an interrupted run); the next
    /// `migrate` settles it through the target's source marker.
    OutcomeUnknown,
    /// No run has tried it: new in the source since, or the run stopped before it.
    NeverAttempted,
    /// A rollback removed it.
    RolledBack,
    /// The id map says it was written, but the target no longer has it.
    GoneFromTarget,
}

impl MissingReason {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            MissingReason::Failed => "failed",
            MissingReason::SkippedByPolicy => "skipped by the plan's policy",
            MissingReason::OutcomeUnknown => "sent, outcome unknown (run migrate to settle)",
            MissingReason::NeverAttempted => "never attempted (run migrate)",
            MissingReason::RolledBack => "rolled back",
            MissingReason::GoneFromTarget => "written, but no longer on the target",
        }
    }
}

/// A source record not on the target, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MissingRecord {
    /// Its source id.
    pub source_id: String,
    /// Why it is not there.
    pub reason: MissingReason,
    /// The recorded error, for failed and skipped records.
    pub error: Option<String>,
}

impl fmt::Display for MissingRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_id, self.reason.describe())?;
        if let Some(error) = &self.error {
            write!(f, ": {error}")?;
        }
        Ok(())
    }
}

/// A target record whose source marker names no record the source has now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtraRecord {
    /// The source id its marker names.
    pub source_id: String,
    /// What is known of it.
    pub reason: String,
}

impl fmt::Display for ExtraRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_id, self.reason)
    }
}

/// The verification of one kind.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct KindVerification {
    /// Records read from the source: the plan's scope for this kind.
    pub source_records: u64,
    /// Source records on the target and equal on every compared field.
    pub matched: u64,
    /// Source records on the target whose compared fields differ.
    pub differ: u64,
    /// The differing records with the fields that differ (first 1000).
    pub differing: Vec<DifferingRecord>,
    /// Source records not on the target.
    pub missing: u64,
    /// How many are missing for each reason.
    pub missing_by_reason: BTreeMap<MissingReason, u64>,
    /// The missing records with their reasons (first 1000).
    pub missing_records: Vec<MissingRecord>,
    /// Target records carrying a source marker of no source record, or a second copy.
    pub extra: u64,
    /// The extra records (first 1000).
    pub extra_records: Vec<ExtraRecord>,
    /// Records on the target without any source marker (there before the migration).
    pub unmarked: u64,
    /// Source records the plan's map folds into a record the target already has (a
    /// departed agent into its stand-in): not compared, not missing.
    pub mapped: u64,
    /// Source records outside the plan's `[filter]`: not expected on the target.
    pub filtered: u64,
    /// The fields whose source values the plan's map changes before the comparison.
    pub mapped_fields: Vec<String>,
    /// The fields compared.
    pub fields: Vec<String>,
    /// Fields the target does not keep as they are, and how.
    pub lossy: Vec<LossyField>,
    /// Merkle root over the digests of the records read from the source.
    pub source_root: Digest,
    /// Merkle root over the digests read back from the target.
    pub target_root: Digest,
    /// Attachments whose bytes were hashed on the target.
    pub attachments_checked: u64,
    /// Attachments whose bytes on the target do not hash to the source's SHA-256.
    pub attachments_differ: Vec<String>,
    /// Bodies on the target that still point at the source account's domain, with the
    /// URLs (first 1000): images and links that did not move, and links the source had
    /// to pages of its own that are not records.
    pub bodies_outside: Vec<crate::bodies::OutsideBody>,
}

impl KindVerification {
    /// Whether every source record of the kind is on the target and equal, and nothing
    /// else carries a marker.
    pub fn all_matched(&self) -> bool {
        self.differ == 0
            && self.missing == 0
            && self.extra == 0
            && self.attachments_differ.is_empty()
    }

    fn add_missing(&mut self, record: MissingRecord) {
        self.missing += 1;
        *self.missing_by_reason.entry(record.reason).or_default() += 1;
        if self.missing_records.len() < LIST_LIMIT {
            self.missing_records.push(record);
        }
    }

    fn add_extra(&mut self, source_id: String, reason: impl Into<String>) {
        self.extra += 1;
        if self.extra_records.len() < LIST_LIMIT {
            self.extra_records.push(ExtraRecord {
                source_id,
                reason: reason.into(),
            });
        }
    }
}

/// A verification report.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct VerifyReport {
    /// Per kind.
    pub kinds: BTreeMap<Kind, KindVerification>,
    /// Kinds that could not be verified, with why.
    pub not_verified: Vec<(Kind, String)>,
    /// One digest over the source roots.
    pub source_manifest: Digest,
    /// One digest over the target roots; equal to the source's when all matched.
    pub target_manifest: Digest,
    /// Every macro, rule, webhook, SLA policy and view of the source, with what the
    /// target holds of it, and the external URLs they call.
    pub integrations: crate::integrations::IntegrationsReport,
}

impl VerifyReport {
    /// Whether every in-scope source record is on the target and equal.
    pub fn all_matched(&self) -> bool {
        self.kinds.values().all(KindVerification::all_matched)
    }
}

/// Verifies the target against a fresh reading of the source, for the kinds of the plan.
/// An error if no migration has run on `state` yet: there is nothing to verify.
pub fn verify(
    source: &dyn Source,
    target: &dyn Target,
    state: &mut StateStore,
    kinds: &[Kind],
    observer: &dyn Observer,
) -> Result<VerifyReport, EngineError> {
    verify_mapped(source, target, state, kinds, &Mapping::default(), observer)
}

/// [`verify`] for a plan that maps values: the target is compared with the source as
/// the plan's map makes it (the same [`Mapping::apply`] a migration runs), records the
/// map folds into a target record are counted `mapped` instead of compared, and each
/// kind's report names the fields the plan mapped.
pub fn verify_mapped(
    source: &dyn Source,
    target: &dyn Target,
    state: &mut StateStore,
    kinds: &[Kind],
    mapping: &Mapping,
    observer: &dyn Observer,
) -> Result<VerifyReport, EngineError> {
    verify_scoped(source, target, state, kinds, mapping, None, observer)
}

/// [`verify_mapped`] for a plan with a `[filter]`: only the source records in `scope`
/// (discovered from the source, as the migration did) are expected on the target; the
/// rest are counted `filtered`.
pub fn verify_scoped(
    source: &dyn Source,
    target: &dyn Target,
    state: &mut StateStore,
    kinds: &[Kind],
    mapping: &Mapping,
    scope: Option<&crate::filter::Scope>,
    observer: &dyn Observer,
) -> Result<VerifyReport, EngineError> {
    if !state.has_any_run()? {
        return Err(EngineError::NotMigrated(
            "no migration has run on this state store yet, so there is nothing to verify; run `switchover migrate` first (or `switchover dry-run` for a preview)".into(),
        ));
    }
    let source_caps = source.capabilities();
    let target_caps = target.capabilities();
    let plan = plan_kinds(kinds, &source_caps, &target_caps);
    let mut report = VerifyReport::default();
    let mut integrations = crate::integrations::Collector::default();
    state.begin_verify()?;
    for kind in plan.moves {
        if !target_caps.supports(kind, Operation::ReadBack) {
            report.not_verified.push((
                kind,
                format!("{} cannot read {kind} back", target_caps.adapter),
            ));
            continue;
        }
        // Fields the target keeps by a fixed rule (Freshdesk's status) are compared
        // after that rule, so they are no longer lossy here.
        let fields = Capabilities::compared_fields(&source_caps, &target_caps, kind);
        let mut result = KindVerification {
            fields: fields.iter().cloned().collect(),
            lossy: Capabilities::lossy_fields(&source_caps, &target_caps, kind)
                .into_iter()
                .filter(|l| !fields.contains(&l.field))
                .collect(),
            mapped_fields: mapping.mapped_fields(kind),
            ..Default::default()
        };
        // Bodies in portable form on both sides, as the migration wrote them.
        let side = SourceSide {
            source,
            target,
            mapping,
            scope,
            body_urls: target.body_urls().map(|_| source.body_urls()),
        };
        read_source_side(
            &side,
            kind,
            &fields,
            state,
            observer,
            (&mut result, &mut integrations),
        )?;
        read_target_side(
            target,
            kind,
            &fields,
            &target_caps,
            state,
            source.body_urls(),
            observer,
            &mut result,
        )?;
        classify(state, kind, &mut result)?;
        result.source_root = root(state, kind, StateStore::verify_source_page)?;
        result.target_root = root(state, kind, StateStore::verified_page)?;
        report.kinds.insert(kind, result);
    }
    report.not_verified.extend(plan.left_behind);
    report.integrations = integrations.finish(target);
    report.source_manifest = manifest_digest(
        report
            .kinds
            .iter()
            .map(|(k, v)| (k.as_str(), &v.source_root)),
    );
    report.target_manifest = manifest_digest(
        report
            .kinds
            .iter()
            .map(|(k, v)| (k.as_str(), &v.target_root)),
    );
    Ok(report)
}

/// The digest of a record and of each of its fields, as stored for the comparison.
fn digests(record: &Record, fields: &FieldSet) -> (Digest, String) {
    let per_field = serde_json::to_string(&field_digests(record, fields)).unwrap_or_default();
    (record_digest(record, fields), per_field)
}

/// What the source side of a verification reads, and what it applies to each record
/// before the digest: the plan's mapping, then the target's own fixed rules.
struct SourceSide<'a> {
    source: &'a dyn Source,
    target: &'a dyn Target,
    mapping: &'a Mapping,
    /// The plan's filter scope, if any.
    scope: Option<&'a crate::filter::Scope>,
    /// How the source spells its body URLs, when the target rewrites bodies.
    body_urls: Option<Option<&'a dyn switchover_adapter::bodies::BodyUrls>>,
}

/// Reads every record of `kind` from the source and records its digests, as the
/// migration wrote it: mapped by the plan, then as the target keeps it
/// ([`TargetInfo::as_stored`](switchover_adapter::TargetInfo::as_stored)).
fn read_source_side(
    side: &SourceSide<'_>,
    kind: Kind,
    fields: &FieldSet,
    state: &mut StateStore,
    observer: &dyn Observer,
    (result, integrations): (&mut KindVerification, &mut crate::integrations::Collector),
) -> Result<(), EngineError> {
    let SourceSide {
        source,
        target,
        mapping,
        scope,
        body_urls,
    } = *side;
    let total = source.count(kind).ok().flatten();
    observer.event(&Event::KindStarted { kind, total });
    let options = Options::default();
    let cancel = Cancel::new();
    let health = crate::executor::health::Health::new("source", options.give_up_after);
    let mut request = PageRequest {
        page_size: source
            .capabilities()
            .kind(kind)
            .map(|c| c.page_size)
            .filter(|n| *n > 0),
        ..Default::default()
    };
    loop {
        let page = read_with_retry(kind, source, &request, &options, observer, &cancel, &health)
            .map_err(|e| match health.gave_up() {
                Some(why) => EngineError::Unreachable(why),
                None => EngineError::Adapter(e),
            })?;
        state.begin_batch()?;
        for mut record in page.records {
            if scope.is_some_and(|s| !s.contains(&record)) {
                result.filtered += 1;
                continue;
            }
            if mapping.folds(&record) {
                result.mapped += 1;
                continue;
            }
            // As the migration wrote it. A value left unmapped failed that record, so
            // it is missing on the target whatever is digested here.
            let _ = mapping.apply(&mut record);
            integrations.observe(std::slice::from_ref(&record));
            target.as_stored(kind, &mut record);
            // A folded user is on the target as its stand-in, which the target side
            // reads back as the stand-in's source id when it has one.
            let mut stand_ins = Vec::new();
            record.for_each_ref_mut(&mut |k, id| {
                if k == Kind::User
                    && let Some(target_id) = mapping.user(id)
                {
                    stand_ins.push((id.clone(), target_id.to_string()));
                }
            });
            if !stand_ins.is_empty() {
                let mut back = HashMap::new();
                for (source_id, target_id) in stand_ins {
                    let seen_as = state
                        .source_id_of(Kind::User, &target_id)?
                        .unwrap_or(target_id);
                    back.insert(source_id, seen_as);
                }
                record.for_each_ref_mut(&mut |k, id| {
                    if k == Kind::User
                        && let Some(seen_as) = back.get(id.as_str())
                    {
                        *id = seen_as.clone();
                    }
                });
            }
            if let Some(urls) = body_urls {
                crate::bodies::extract(urls, &mut record);
            }
            // The bytes were hashed when they were downloaded from the source; the
            // target's are hashed on read-back.
            if let Some(attachments) = record.attachments_mut() {
                for attachment in attachments.iter_mut().filter(|a| a.sha256.is_none()) {
                    if let Some((digest, size)) = state.attachment(&attachment.id)? {
                        attachment.sha256 = Some(digest.to_hex());
                        attachment.size = size;
                    }
                }
            }
            let (digest, per_field) = digests(&record, fields);
            if state.verify_source_record(kind, record.id(), &digest, &per_field)? {
                result.source_records += 1;
            }
        }
        state.commit_batch()?;
        observer.event(&Event::Progress {
            kind,
            done: result.source_records,
        });
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    Ok(())
}

/// Reads every record of `kind` back from the target and records its digests in
/// source id space.
#[allow(clippy::too_many_arguments)]
fn read_target_side(
    target: &dyn Target,
    kind: Kind,
    fields: &FieldSet,
    target_caps: &Capabilities,
    state: &mut StateStore,
    source_urls: Option<&dyn switchover_adapter::bodies::BodyUrls>,
    observer: &dyn Observer,
    result: &mut KindVerification,
) -> Result<(), EngineError> {
    let source_hosts = source_urls.map(|u| u.hosts()).unwrap_or_default();
    let mut reverse: HashMap<(Kind, String), Option<String>> = HashMap::new();
    let mut request = PageRequest {
        page_size: Some(500),
        ..Default::default()
    };
    let mut seen = 0u64;
    loop {
        let page = target.read_back(kind, &request)?;
        state.begin_batch()?;
        let checked = check_page(
            page.records,
            kind,
            fields,
            target_caps,
            target,
            state,
            (&source_hosts, source_urls),
            &mut reverse,
            result,
        );
        state.commit_batch()?;
        seen += checked?;
        observer.event(&Event::Progress { kind, done: seen });
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    Ok(())
}

/// Sorts the records of both sides into matched, differing, missing and extra.
fn classify(
    state: &StateStore,
    kind: Kind,
    result: &mut KindVerification,
) -> Result<(), EngineError> {
    state.verify_pairs(
        kind,
        |source_id, digest, fields, target_digest, target_fields| {
            if digest == target_digest {
                result.matched += 1;
                return;
            }
            result.differ += 1;
            if result.differing.len() < LIST_LIMIT {
                let want: BTreeMap<String, String> =
                    serde_json::from_str(&fields).unwrap_or_default();
                let have: BTreeMap<String, String> =
                    serde_json::from_str(&target_fields).unwrap_or_default();
                let names: std::collections::BTreeSet<&String> = want
                    .keys()
                    .chain(have.keys())
                    .filter(|k| want.get(*k) != have.get(*k))
                    .collect();
                result.differing.push(DifferingRecord {
                    source_id,
                    fields: names.into_iter().cloned().collect(),
                });
            }
        },
    )?;
    state.verify_missing(kind, |source_id, status, error_kind, message| {
        let reason = match (status.as_deref(), error_kind.as_deref()) {
            (_, Some("skipped_reference")) => MissingReason::SkippedByPolicy,
            (_, Some(_)) => MissingReason::Failed,
            (Some("pending"), None) => MissingReason::OutcomeUnknown,
            (Some("written"), None) => MissingReason::GoneFromTarget,
            (Some("rolled_back"), None) => MissingReason::RolledBack,
            _ => MissingReason::NeverAttempted,
        };
        let error = error_kind.is_some().then_some(message).flatten();
        result.add_missing(MissingRecord {
            source_id,
            reason,
            error,
        });
    })?;
    state.verify_extra(kind, |source_id, status| {
        let reason = match status.as_deref() {
            Some("written") => {
                "migrated, but the source no longer has it (deleted since; a delta run removes it)"
            }
            Some("deleted_in_source") => {
                "deleted in the source, and a delta run could not remove it"
            }
            _ => "its marker names no record this migration knows",
        };
        result.add_extra(source_id, reason);
    })?;
    Ok(())
}

/// Checks one page of read-back records; returns how many were compared.
#[allow(clippy::too_many_arguments)]
fn check_page(
    records: Vec<switchover_adapter::ReadBack>,
    kind: Kind,
    fields: &FieldSet,
    target_caps: &Capabilities,
    target: &dyn Target,
    state: &mut StateStore,
    (source_hosts, source_urls): (&[String], Option<&dyn switchover_adapter::bodies::BodyUrls>),
    reverse: &mut HashMap<(Kind, String), Option<String>>,
    result: &mut KindVerification,
) -> Result<u64, EngineError> {
    let mut seen = 0u64;
    for read in records {
        let mut record = read.record;
        let source_id = match read.source_id {
            Some(id) => Some(id),
            None => state.source_id_of(kind, record.id())?,
        };
        let Some(source_id) = source_id else {
            result.unmarked += 1;
            continue;
        };
        let outside = crate::bodies::pointing_at(&mut record, source_hosts);
        if !outside.is_empty() && result.bodies_outside.len() < 1000 {
            result.bodies_outside.push(crate::bodies::OutsideBody {
                kind,
                source_id: source_id.clone(),
                urls: outside,
            });
        }
        if let Some(urls) = target.body_urls() {
            let mut failed = None;
            crate::bodies::normalize_target(urls, source_urls, &mut record, |k, id| {
                state.source_id_of(k, id).unwrap_or_else(|e| {
                    failed.get_or_insert(e);
                    None
                })
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        // Back to source ids, so the digest compares like with like.
        let mut lookups = Vec::new();
        record.for_each_ref_mut(&mut |k, id| {
            if !reverse.contains_key(&(k, id.clone())) {
                lookups.push((k, id.clone()));
            }
        });
        // Keep memory flat: the cache only saves repeated lookups.
        if reverse.len() > 50_000 {
            reverse.clear();
        }
        for (k, id) in lookups {
            let source = state.source_id_of(k, &id)?;
            reverse.insert((k, id), source);
        }
        record.for_each_ref_mut(&mut |k, id| {
            if let Some(Some(source)) = reverse.get(&(k, id.clone())) {
                *id = source.clone();
            }
        });
        *record.id_mut() = source_id.clone();
        let (digest, per_field) = digests(&record, fields);
        if !state.verify_seen(kind, &source_id, &digest, &per_field)? {
            result.add_extra(source_id, "a second copy on the target");
            continue;
        }
        if target_caps.read_back_hashes_attachments {
            // The hashes were taken from the target's bytes and are part of the digest.
            result.attachments_checked += record
                .attachments()
                .iter()
                .filter(|a| a.sha256.is_some())
                .count() as u64;
        } else if target_caps.reads_back_attachment_content {
            for attachment in record.attachments() {
                let Some(claimed) = &attachment.sha256 else {
                    continue;
                };
                let bytes = target.open_attachment(attachment).and_then(|mut reader| {
                    ContentHasher::hash_reader(&mut reader).map_err(|e| {
                        switchover_adapter::AdapterError::transient(
                            &target_caps.adapter.clone(),
                            format!(
                                "reading attachment '{}' back failed: {e}",
                                attachment.file_name
                            ),
                        )
                    })
                });
                result.attachments_checked += 1;
                match bytes {
                    Ok((digest, _)) if digest.to_hex() == *claimed => {}
                    Ok((digest, _)) => result.attachments_differ.push(format!(
                        "{kind} '{source_id}' attachment '{}': bytes hash to {digest}, expected {claimed}",
                        attachment.file_name
                    )),
                    Err(e) => result.attachments_differ.push(format!(
                        "{kind} '{source_id}' attachment '{}': {e}",
                        attachment.file_name
                    )),
                }
            }
        }
        seen += 1;
    }
    Ok(seen)
}

/// Reads one page of `(source id, digest)` of one side of a verification.
type DigestPage = fn(&StateStore, Kind, &str, usize) -> Result<Vec<(String, Digest)>, EngineError>;

/// A Merkle root over one side's digests of a kind, in source id order.
fn root(state: &StateStore, kind: Kind, page: DigestPage) -> Result<Digest, EngineError> {
    let mut builder = MerkleBuilder::new();
    let mut after = String::new();
    loop {
        let rows = page(state, kind, &after, 5000)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (source, digest) in &rows {
            builder
                .push(source, digest)
                .map_err(|e| EngineError::State(e.to_string()))?;
        }
    }
    Ok(builder.finish())
}
