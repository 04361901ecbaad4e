//! Verification: read the target back, recompute digests on the portable projection,
//! hash attachment bytes, and sort every record into matched, differ, missing on target
//! and extra on target, with per-kind Merkle roots and one manifest digest.

use std::collections::{BTreeMap, HashMap};

use switchover_adapter::{Capabilities, LossyField, PageRequest, Target};
use switchover_model::Kind;
use switchover_model::digest::{ContentHasher, Digest, record_digest};
use switchover_model::merkle::{MerkleBuilder, manifest_digest};

use crate::EngineError;
use crate::events::{Event, Observer};
use crate::planner::plan_kinds;
use crate::state::StateStore;

/// How many ids each list of a report keeps (the counts are always complete).
const LIST_LIMIT: usize = 1000;

/// The verification of one kind.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct KindVerification {
    /// Records equal on every portable field.
    pub matched: u64,
    /// Records on both sides whose portable fields differ.
    pub differ: u64,
    /// Source ids of differing records (first 1000).
    pub differ_ids: Vec<String>,
    /// Records written by the migration and not found on the target.
    pub missing: u64,
    /// Source ids of missing records (first 1000).
    pub missing_ids: Vec<String>,
    /// Records on the target carrying a source marker this migration does not know.
    pub extra: u64,
    /// Their source markers (first 1000).
    pub extra_ids: Vec<String>,
    /// Records on the target without any source marker (there before the migration).
    pub unmarked: u64,
    /// The fields compared.
    pub fields: Vec<String>,
    /// Fields the target does not keep as they are, and how.
    pub lossy: Vec<LossyField>,
    /// Merkle root over the source digests recorded at write time.
    pub source_root: Digest,
    /// Merkle root over the digests read back from the target.
    pub target_root: Digest,
    /// Attachments whose bytes were hashed on the target.
    pub attachments_checked: u64,
    /// Attachments whose bytes on the target do not hash to the source's SHA-256.
    pub attachments_differ: Vec<String>,
}

/// A verification report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Per kind.
    pub kinds: BTreeMap<Kind, KindVerification>,
    /// Kinds that could not be verified, with why.
    pub not_verified: Vec<(Kind, String)>,
    /// One digest over the source roots.
    pub source_manifest: Digest,
    /// One digest over the target roots; equal to the source's when all matched.
    pub target_manifest: Digest,
}

impl VerifyReport {
    /// Whether everything matched.
    pub fn all_matched(&self) -> bool {
        self.kinds.values().all(|k| {
            k.differ == 0 && k.missing == 0 && k.extra == 0 && k.attachments_differ.is_empty()
        })
    }
}

/// Verifies what the migration recorded in `state` against what `target` holds.
pub fn verify(
    source_capabilities: &Capabilities,
    target: &dyn Target,
    state: &mut StateStore,
    kinds: &[Kind],
    observer: &dyn Observer,
) -> Result<VerifyReport, EngineError> {
    let target_caps = target.capabilities();
    let plan = plan_kinds(kinds, source_capabilities, &target_caps);
    let mut report = VerifyReport::default();
    state.begin_verify()?;
    for kind in plan.moves {
        if !target_caps.supports(kind, "read_back") {
            report.not_verified.push((
                kind,
                format!("{} cannot read {kind} back", target_caps.adapter),
            ));
            continue;
        }
        let fields = Capabilities::portable_fields(source_capabilities, &target_caps, kind);
        let mut result = KindVerification {
            fields: fields.iter().cloned().collect(),
            lossy: Capabilities::lossy_fields(source_capabilities, &target_caps, kind),
            ..Default::default()
        };
        observer.event(&Event::KindStarted { kind, total: None });
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
                &fields,
                &target_caps,
                target,
                state,
                &mut reverse,
                &mut result,
            );
            state.commit_batch()?;
            seen += checked?;
            observer.event(&Event::Progress { kind, done: seen });
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        let (missing, missing_ids) = state.missing_after_verify(kind, LIST_LIMIT)?;
        result.missing = missing;
        result.missing_ids = missing_ids;
        result.source_root = source_root(state, kind)?;
        result.target_root = target_root(state, kind)?;
        report.kinds.insert(kind, result);
    }
    report.not_verified.extend(plan.left_behind);
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

/// Checks one page of read-back records; returns how many were compared.
#[allow(clippy::too_many_arguments)]
fn check_page(
    records: Vec<switchover_adapter::ReadBack>,
    kind: Kind,
    fields: &switchover_model::digest::FieldSet,
    target_caps: &Capabilities,
    target: &dyn Target,
    state: &mut StateStore,
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
        let Some(expected) = state
            .lookup(kind, &[source_id.as_str()])?
            .into_iter()
            .find(|(_, _, s)| *s == crate::state::RecordStatus::Written)
            .map(|(_, row, _)| row.digest)
        else {
            result.extra += 1;
            if result.extra_ids.len() < LIST_LIMIT {
                result.extra_ids.push(source_id);
            }
            continue;
        };
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
        let digest = record_digest(&record, fields);
        if !state.verify_seen(kind, &source_id, &digest)? {
            result.extra += 1;
            if result.extra_ids.len() < LIST_LIMIT {
                result
                    .extra_ids
                    .push(format!("{source_id} (a second copy)"));
            }
            continue;
        }
        if expected == Some(digest) {
            result.matched += 1;
        } else {
            result.differ += 1;
            if result.differ_ids.len() < LIST_LIMIT {
                result.differ_ids.push(source_id.clone());
            }
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
                        switchover_adapter::AdapterError::Transient {
                            adapter: target_caps.adapter.clone(),
                            message: format!(
                                "reading attachment '{}' back failed: {e}",
                                attachment.file_name
                            ),
                        }
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

fn source_root(state: &StateStore, kind: Kind) -> Result<Digest, EngineError> {
    let mut builder = MerkleBuilder::new();
    let mut after = String::new();
    loop {
        let page = state.written_page(kind, &after, 5000)?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (source, _, digest) in &page {
            builder
                .push(source, &digest.unwrap_or_default())
                .map_err(|e| EngineError::State(e.to_string()))?;
        }
    }
    Ok(builder.finish())
}

fn target_root(state: &StateStore, kind: Kind) -> Result<Digest, EngineError> {
    let mut builder = MerkleBuilder::new();
    let mut after = String::new();
    loop {
        let page = state.verified_page(kind, &after, 5000)?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (source, digest) in &page {
            builder
                .push(source, digest)
                .map_err(|e| EngineError::State(e.to_string()))?;
        }
    }
    Ok(builder.finish())
}
