//! The run loop shared by `migrate`, `retry-failed` and `dry-run`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use switchover_adapter::Operation;

use rayon::prelude::*;
use switchover_adapter::{
    AdapterError, Capabilities, ErrorKind, PageRequest, Source, WriteOutcome, WriteRequest,
};
use switchover_model::digest::{ContentHasher, Digest, FieldSet, record_digest};
use switchover_model::{Kind, Record};

mod embed;
pub(crate) mod health;
mod runs;
mod samples;
mod sink;

use embed::SettledChildren;
pub use runs::{DryRunReport, TierEstimate, dry_run, dry_run_delta, migrate, retry_failed};
pub use samples::{
    COMMENTS_PER_SAMPLE, FieldFate, SampleField, SampleOutcome, SampleRecord, SampleTicket,
};
use sink::{HashingContent, Sink};

use crate::EngineError;
use crate::events::{Cancel, Event, KindCounts, Observer};
use crate::planner::plan_kinds;
use crate::state::{Failure, KindCursor, RecordStatus, StateStore};

/// What to do with a record whose reference points at a record not on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnresolvedPolicy {
    /// Record it as a failure (retry-failed may send it once the reference exists).
    #[default]
    Fail,
    /// Skip it, with the reason listed in the report.
    Skip,
    /// Point user references at the plan's placeholder user; other references fail.
    Placeholder,
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kinds to move (filtered to what both sides support).
    pub kinds: Vec<Kind>,
    /// Batches written at the same time.
    pub concurrency: usize,
    /// Records per batch (capped by the target's `max_batch`).
    pub batch_size: Option<usize>,
    /// Records per source page.
    pub page_size: Option<usize>,
    /// Unresolvable references.
    pub unresolved: UnresolvedPolicy,
    /// Target id of the user that stands in for users not on the target.
    pub placeholder_user: Option<String>,
    /// Attempts per batch on transient errors and rate limits before its records fail.
    pub batch_attempts: u32,
    /// First wait between attempts (doubles each time, capped at a minute).
    pub backoff: Duration,
    /// In delta runs, ask the source only for records changed since the last run, when
    /// it can filter (faster; deletions in the source are then not detected).
    pub incremental: bool,
    /// Sample tickets a dry run keeps, with their comments, to show before and after;
    /// 0 keeps none. A live run keeps none whatever this says.
    pub samples: usize,
    /// How long one side may fail only transiently (refused connections, 5xx,
    /// timeouts), with no answer at all, before the run stops and says since when.
    pub give_up_after: Duration,
    /// Preflight risks (by name, e.g. `target_notifications`) the plan accepts; any
    /// other risk stops a migration before its first write.
    pub accept_risks: Vec<String>,
    /// The plan's map, resolved against both sides; applied to every record between
    /// read and write, and part of the digest a write stores. Empty: nothing mapped.
    pub mapping: std::sync::Arc<crate::mapping::Mapping>,
    /// The records the plan's `[filter]` keeps ([`crate::filter::Scope::discover`]);
    /// `None` moves everything.
    pub scope: Option<std::sync::Arc<crate::filter::Scope>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kinds: Kind::ALL.to_vec(),
            concurrency: 4,
            batch_size: None,
            page_size: None,
            unresolved: UnresolvedPolicy::Fail,
            placeholder_user: None,
            batch_attempts: 6,
            backoff: Duration::from_millis(500),
            incremental: false,
            samples: 3,
            give_up_after: Duration::from_secs(300),
            accept_risks: Vec::new(),
            mapping: Default::default(),
            scope: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// Run id in the state store.
    pub run: i64,
    /// `full`, `resumed` or `delta`.
    pub mode: String,
    /// Counts per kind.
    pub kinds: BTreeMap<Kind, KindCounts>,
    /// Kinds asked for that could not move, with why.
    pub left_behind: Vec<(Kind, String)>,
    /// Every failure recorded so far (this run and earlier ones not yet fixed).
    pub failures: Vec<Failure>,
    /// Whether the run stopped early (Ctrl-C); the next `migrate` resumes.
    pub interrupted: bool,
    /// Inline images moved and links re-pointed in bodies, and the bodies that still
    /// reference the source account.
    pub bodies: crate::bodies::BodyReport,
}

impl RunSummary {
    /// Totals over every kind.
    pub fn totals(&self) -> KindCounts {
        let mut total = KindCounts::default();
        for counts in self.kinds.values() {
            total.add(counts);
        }
        total
    }
}

/// The parts of a run shared by the threads that write batches.
struct Ctx<'a> {
    source_caps: Capabilities,
    target_caps: Capabilities,
    sink: &'a dyn Sink,
    content: HashingContent<'a>,
    options: &'a Options,
    observer: &'a dyn Observer,
    cancel: &'a Cancel,
    moved: Vec<Kind>,
    /// `(parent, child)` when the target writes new parents with their children inside
    /// (tickets imported with their comments).
    embedding: Option<(Kind, Kind)>,
    /// How long the target has gone without answering.
    target_health: health::Health,
    /// How long the source has gone without answering (shared with the reader thread).
    source_health: std::sync::Arc<health::Health>,
    /// Images and links in bodies, when the target can take them.
    bodies: Option<crate::bodies::Bodies<'a>>,
}

impl Ctx<'_> {
    /// The error a run stops with: a side that stopped answering is said so, with since
    /// when, instead of as its last transient failure.
    fn explain(&self, error: EngineError) -> EngineError {
        match self
            .target_health
            .gave_up()
            .or_else(|| self.source_health.gave_up())
        {
            Some(why) => EngineError::Unreachable(why),
            None => error,
        }
    }

    fn fields(&self, kind: Kind) -> FieldSet {
        Capabilities::portable_fields(&self.source_caps, &self.target_caps, kind)
    }

    fn batch_size(&self, kind: Kind) -> usize {
        let max = self
            .target_caps
            .kind(kind)
            .map(|c| c.max_batch)
            .unwrap_or(100)
            .max(1);
        self.options.batch_size.unwrap_or(max).clamp(1, max)
    }

    fn backoff(&self, attempt: u32, error: &AdapterError) -> Duration {
        error
            .retry_after()
            .unwrap_or_else(|| self.options.backoff.saturating_mul(1 << attempt.min(7)))
            .min(Duration::from_secs(60))
    }

    /// Writes one batch, retrying transient failures and rate limits. Before re-sending
    /// after a transient failure it asks the target which records landed anyway; those
    /// are also returned by source id, as their origin (created or adopted) is unknown.
    /// `never_sent`: the state store proves no earlier attempt sent any of the batch; it
    /// holds for the first attempt only.
    fn write_with_retry(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        never_sent: bool,
    ) -> Result<BatchWritten, AdapterError> {
        let mut remaining: Vec<WriteRequest> = batch.to_vec();
        let mut done = Vec::with_capacity(batch.len());
        let mut found = Vec::new();
        let attempts = self.options.batch_attempts.max(1);
        for attempt in 1..=attempts {
            // After a Ctrl-C nothing more is sent: the records stay pending (their
            // intents are recorded) and the next run settles and sends them.
            if self.cancel.is_cancelled() {
                return Ok((done, found));
            }
            let first = never_sent && attempt == 1;
            match self.sink.write(kind, &remaining, &self.content, first) {
                Ok(outcomes) => {
                    self.target_health.answered();
                    done.extend(outcomes);
                    return Ok((done, found));
                }
                Err(e) if e.is_retryable() && attempt < attempts && !self.cancel.is_cancelled() => {
                    self.target_health.check(&self.target_caps.adapter, &e)?;
                    let wait = self.backoff(attempt - 1, &e);
                    self.observer.event(&Event::Backoff {
                        kind,
                        wait,
                        reason: e.to_string(),
                    });
                    self.cancel.sleep(wait);
                    if e.kind() == ErrorKind::Transient {
                        // Where each of them would be, not a scan of the account.
                        let landed = self.find_sent_with_retry(kind, &remaining)?;
                        remaining.retain(|r| {
                            let id = r.record.id();
                            match landed.get(id) {
                                Some(target) => {
                                    done.push(WriteOutcome::new(id, Ok(target.clone())));
                                    found.push(id.to_string());
                                    false
                                }
                                None => true,
                            }
                        });
                        if remaining.is_empty() {
                            return Ok((done, found));
                        }
                    }
                }
                Err(e) => {
                    if e.is_retryable() {
                        self.target_health.check(&self.target_caps.adapter, &e)?;
                    }
                    return Err(e);
                }
            }
        }
        Err(AdapterError::fatal(
            &self.target_caps.adapter,
            "batch retries exhausted",
        ))
    }

    /// The kind whose records new records of `kind` carry inside them, if any.
    fn embedded_child(&self, kind: Kind) -> Option<Kind> {
        self.embedding
            .filter(|(parent, _)| *parent == kind)
            .map(|(_, child)| child)
    }

    /// The kind whose new records carry records of `kind` inside them, if any.
    fn embedding_parent(&self, kind: Kind) -> Option<Kind> {
        self.embedding
            .filter(|(_, child)| *child == kind)
            .map(|(parent, _)| parent)
    }

    fn find_embedded_with_retry(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let attempts = self.options.batch_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self
                .sink
                .find_embedded(parent_kind, parent_target_id, children)
            {
                Err(e) if e.is_retryable() && attempt < attempts && !self.cancel.is_cancelled() => {
                    self.target_health.check(&self.target_caps.adapter, &e)?;
                    self.cancel.sleep(self.backoff(attempt - 1, &e));
                    attempt += 1;
                }
                Ok(found) => {
                    self.target_health.answered();
                    return Ok(found);
                }
                other => return other,
            }
        }
    }

    fn find_with_retry(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.lookup_with_retry(|| self.sink.find(kind, ids))
    }

    /// Asks the target which of these sent writes landed, where each would be.
    fn find_sent_with_retry(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        if sent.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.lookup_with_retry(|| self.sink.find_sent(kind, sent))
    }

    /// Runs a lookup, retrying transient failures; a lookup that keeps failing is an
    /// error (unknown), never an empty answer (absent).
    fn lookup_with_retry(
        &self,
        lookup: impl Fn() -> Result<BTreeMap<String, String>, AdapterError>,
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let attempts = self.options.batch_attempts.max(1);
        let mut attempt = 1;
        loop {
            match lookup() {
                Err(e) if e.is_retryable() && attempt < attempts && !self.cancel.is_cancelled() => {
                    self.target_health.check(&self.target_caps.adapter, &e)?;
                    self.cancel.sleep(self.backoff(attempt - 1, &e));
                    attempt += 1;
                }
                Ok(found) => {
                    self.target_health.answered();
                    return Ok(found);
                }
                other => return other,
            }
        }
    }
}

/// A batch's outcomes, and the source ids among them that were found by marker after a
/// lost answer (their origin, created or adopted, is unknown).
type BatchWritten = (Vec<WriteOutcome>, Vec<String>);

/// Reads one page, waiting out rate limits and transient failures.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_with_retry(
    kind: Kind,
    source: &dyn Source,
    request: &PageRequest,
    options: &Options,
    observer: &dyn Observer,
    cancel: &Cancel,
    health: &health::Health,
) -> Result<switchover_adapter::Page, AdapterError> {
    let attempts = options.batch_attempts.max(1);
    let mut attempt = 1;
    loop {
        match source.read_page(kind, request) {
            Ok(page) => {
                health.answered();
                return Ok(page);
            }
            Err(e) if e.is_retryable() && attempt < attempts && !cancel.is_cancelled() => {
                health.check(&source.capabilities().adapter, &e)?;
                let wait = e
                    .retry_after()
                    .unwrap_or_else(|| options.backoff.saturating_mul(1 << (attempt - 1).min(7)))
                    .min(Duration::from_secs(60));
                observer.event(&Event::Backoff {
                    kind,
                    wait,
                    reason: e.to_string(),
                });
                cancel.sleep(wait);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The digest of a written record with the hashes of the attachment bytes that went to
/// the target filled in, recording those downloads and counting the bytes moved.
fn digest_with_hashes(
    record: &Record,
    digest: Digest,
    fields: &FieldSet,
    hashes: &HashMap<String, (Digest, u64)>,
    downloaded: &mut Vec<(String, Digest, u64)>,
    counts: &mut KindCounts,
) -> Digest {
    if record.attachments().is_empty() {
        return digest;
    }
    let mut filled = record.clone();
    if let Some(attachments) = filled.attachments_mut() {
        for a in attachments.iter_mut() {
            match hashes.get(&a.id) {
                Some((sha, size)) => {
                    downloaded.push((a.id.clone(), *sha, *size));
                    counts.attachment_bytes += size;
                    if a.sha256.is_none() {
                        a.sha256 = Some(sha.to_hex());
                        a.size = *size;
                    }
                }
                // Not read on the way (a dry run, or a target that had the bytes
                // already): count the size the source states.
                None => counts.attachment_bytes += a.size,
            }
        }
    }
    record_digest(&filled, fields)
}

fn failure(kind: Kind, source_id: &str, error: &AdapterError) -> Failure {
    Failure {
        kind,
        source_id: source_id.to_string(),
        error_kind: serde_json::to_value(error.kind())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        message: error.to_string(),
        attempts: 1,
    }
}

/// One run over a set of kinds.
struct Runner<'a> {
    ctx: Ctx<'a>,
    source: &'a dyn Source,
    state: &'a mut StateStore,
    generation: i64,
    pool: rayon::ThreadPool,
    /// Children written inside their parents this run, per child kind: added to the
    /// child kind's counts when its own pass finds them already written.
    embedded: HashMap<Kind, KindCounts>,
    /// Sample tickets and their comments, collected in a dry run only.
    samples: samples::Collector,
    /// Records written in a final pass whose body links still wait for records not on
    /// the target (not even in the source yet): kept deferred, so a later run re-points
    /// them once those records are migrated.
    links_waiting: std::collections::HashSet<(Kind, String)>,
    /// Fields not on the target whose values were left out, each warned about once.
    dropped_fields: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// The records of the page being processed as the source had them, before the
    /// plan's map (kept only when the plan maps something).
    originals: HashMap<(Kind, String), Record>,
    /// The source values in use and where the map lands them (dry runs only).
    coverage: Option<crate::mapping::Coverage>,
    /// The integration records read (dry runs only), for the inventory.
    integrations: Option<crate::integrations::Collector>,
    /// Counts for the report's charts (dry runs only).
    profile: Option<crate::profile::AccountProfile>,
    /// Readers started before their kind's turn ([`Runner::read_ahead`]), by kind.
    read_ahead: HashMap<Kind, ReadAhead>,
}

/// A kind's source read begun before the kind's turn, so that the requests of many small
/// kinds are in flight at once instead of one kind after another: its pages wait in a
/// channel of one (so at most two pages of each kind are held), and its count.
struct ReadAhead {
    /// The request it started with; used only by a read that would start the same way.
    request: PageRequest,
    /// The source's count of the kind, when the kind's pass asks for one.
    total: Option<std::sync::mpsc::Receiver<Option<u64>>>,
    pages: std::sync::mpsc::Receiver<Result<switchover_adapter::Page, AdapterError>>,
}

/// Whether two page requests start at the same place with the same filter and size.
fn same_request(a: &PageRequest, b: &PageRequest) -> bool {
    a.cursor == b.cursor && a.changed_since == b.changed_since && a.page_size == b.page_size
}

/// Reads a kind page after page from `request` into `tx` until the last page, an error,
/// or the receiver going away.
#[allow(clippy::too_many_arguments)]
fn read_pages(
    kind: Kind,
    source: &dyn Source,
    mut request: PageRequest,
    options: &Options,
    observer: &dyn Observer,
    cancel: &Cancel,
    health: &health::Health,
    tx: std::sync::mpsc::SyncSender<Result<switchover_adapter::Page, AdapterError>>,
) {
    loop {
        let page = read_with_retry(kind, source, &request, options, observer, cancel, health);
        let next = page.as_ref().ok().and_then(|p| p.next.clone());
        let last = page.is_err() || next.is_none();
        if tx.send(page).is_err() || last {
            return;
        }
        request.cursor = next;
    }
}

impl<'a> Runner<'a> {
    /// Puts a record's bodies in portable form (images as attachments, links as
    /// references), when the target can take them.
    fn extract_bodies(&self, record: &mut Record) {
        if let Some(bodies) = &self.ctx.bodies {
            crate::bodies::extract(bodies.source(), record);
        }
    }

    /// What this run did to bodies.
    fn body_report(&self) -> crate::bodies::BodyReport {
        self.ctx
            .bodies
            .as_ref()
            .map(|b| b.report())
            .unwrap_or_default()
    }

    /// Resolves the links of a record about to be written through the id map; how many
    /// still wait for their record.
    fn prepare_bodies(&self, record: &mut Record) -> Result<u64, EngineError> {
        match &self.ctx.bodies {
            Some(bodies) => bodies.prepare(record, |kind, id| self.state.target_id(kind, id)),
            None => Ok(0),
        }
    }

    /// Fills attachment hashes known from earlier downloads, so digests compare bytes.
    fn fill_known_hashes(&self, record: &mut Record) -> Result<(), EngineError> {
        if let Some(attachments) = record.attachments_mut() {
            for attachment in attachments.iter_mut().filter(|a| a.sha256.is_none()) {
                if let Some((digest, size)) = self.state.attachment(&attachment.id)? {
                    attachment.sha256 = Some(digest.to_hex());
                    attachment.size = size;
                }
            }
        }
        Ok(())
    }

    /// Applies the plan's map to a page read from the source, before anything is
    /// digested or written: records the map folds into a target record are counted
    /// mapped and not written; a record with a value the map leaves unmapped under
    /// `unmapped = "fail"` fails, saying which value.
    fn apply_mapping(
        &mut self,
        kind: Kind,
        records: Vec<Record>,
        counts: &mut KindCounts,
    ) -> Result<Vec<Record>, EngineError> {
        let mapping = std::sync::Arc::clone(&self.ctx.options.mapping);
        if mapping.is_empty() {
            return Ok(records);
        }
        self.originals.clear();
        let mut kept = Vec::with_capacity(records.len());
        for mut record in records {
            self.originals
                .insert((kind, record.id().to_string()), record.clone());
            if mapping.folds(&record) {
                counts.mapped += 1;
                continue;
            }
            match mapping.apply(&mut record) {
                Ok(()) => kept.push(record),
                Err(message) => {
                    let failure = Failure {
                        kind,
                        source_id: record.id().to_string(),
                        error_kind: "unmapped_value".into(),
                        message,
                        attempts: 1,
                    };
                    self.fail(&record, &failure, counts)?;
                }
            }
        }
        Ok(kept)
    }

    /// Rewrites references to target ids. `Ok(true)` means a reference to a record of
    /// the same kind not on the target yet (a ticket linking forward) was left empty, to
    /// be completed by [`Runner::complete_deferred`]; on the final pass such references
    /// fall under the plan's policy like any other. `Err` gives the policy's verdict
    /// (skip or fail) and the reason.
    fn map_references(
        &self,
        record: &mut Record,
        cache: &mut HashMap<(Kind, String), Option<String>>,
        final_pass: bool,
    ) -> Result<Result<bool, (bool, String)>, EngineError> {
        let kind = record.kind();
        let mut problem: Option<(bool, String)> = None;
        let mut deferred = false;
        let mut dropped_fields: Vec<String> = Vec::new();
        let mut lookups: Vec<(Kind, String)> = Vec::new();
        record.for_each_ref_mut(&mut |ref_kind, id| {
            if !id.is_empty() && !cache.contains_key(&(ref_kind, id.clone())) {
                lookups.push((ref_kind, id.clone()));
            }
        });
        for (ref_kind, id) in lookups {
            let target = self.state.target_id(ref_kind, &id)?;
            cache.insert((ref_kind, id), target);
        }
        let moved = &self.ctx.moved;
        let options = self.ctx.options;
        record.for_each_ref_mut(&mut |ref_kind, id| {
            if id.is_empty() || !moved.contains(&ref_kind) {
                return;
            }
            // A user the plan folds into one the target has (a departed agent).
            if ref_kind == Kind::User
                && let Some(stand_in) = options.mapping.user(id)
            {
                *id = stand_in.to_string();
                return;
            }
            match cache.get(&(ref_kind, id.clone())).cloned().flatten() {
                Some(target) => *id = target,
                // A field the target does not have (refused: no place for it there, its
                // own failure says why): the value is left out, the record still moves.
                None if ref_kind == Kind::FieldDefinition => {
                    dropped_fields.push(std::mem::take(id));
                }
                None if ref_kind == kind && !final_pass => {
                    id.clear();
                    deferred = true;
                }
                None => {
                    let placeholder = (options.unresolved == UnresolvedPolicy::Placeholder
                        && ref_kind == Kind::User)
                        .then(|| options.placeholder_user.clone())
                        .flatten();
                    match placeholder {
                        Some(user) => *id = user,
                        None if problem.is_none() => {
                            problem = Some((
                                options.unresolved == UnresolvedPolicy::Skip,
                                format!(
                                    "references {} '{id}', which is not on the target",
                                    ref_kind.as_str()
                                ),
                            ));
                        }
                        None => {}
                    }
                }
            }
        });
        if !dropped_fields.is_empty() {
            if let Some(fields) = record.custom_fields_mut() {
                fields.retain(|field, _| !field.id().is_empty());
            }
            let mut warned = self
                .dropped_fields
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for field in dropped_fields {
                if warned.insert(field.clone()) {
                    self.ctx.observer.event(&Event::Warning(format!(
                        "values of field definition '{field}' are left out of every record that has them: the field is not on the target (its failure says why; `switchover failures`)"
                    )));
                }
            }
        }
        Ok(match problem {
            Some(p) => Err(p),
            None => Ok(deferred),
        })
    }

    fn fail(
        &mut self,
        record: &Record,
        error: &Failure,
        counts: &mut KindCounts,
    ) -> Result<(), EngineError> {
        // The copy kept for retry-failed is the record as read from the source, so a
        // retry maps it again by the plan as it is then, never twice.
        let kept = self
            .originals
            .get(&(record.kind(), record.id().to_string()))
            .unwrap_or(record);
        let json = serde_json::to_string(kept).unwrap_or_default();
        self.state.record_failure(error, &json)?;
        counts.failed += 1;
        Ok(())
    }

    /// Moves one page of records: digests, compares with the id map, maps references,
    /// writes in parallel batches, records every outcome.
    ///
    /// `forced` writes even records whose digest is unchanged (retries, completing
    /// references); `final_pass` applies the plan's policy to same-kind references
    /// instead of deferring them.
    fn process(
        &mut self,
        kind: Kind,
        records: Vec<Record>,
        forced: bool,
        final_pass: bool,
        counts: &mut KindCounts,
    ) -> Result<(), EngineError> {
        let mut records = records;
        if let Some(scope) = &self.ctx.options.scope {
            let before = records.len();
            records.retain(|r| scope.contains(r));
            counts.filtered += (before - records.len()) as u64;
        }
        if self.samples.wants(kind) {
            self.samples.offer(kind, &records);
        }
        let fields = self.ctx.fields(kind);
        if let Some(coverage) = &mut self.coverage {
            for record in &records {
                coverage.observe(record);
            }
        }
        // Counted once, as first read (a relink pass reads the same records again).
        if !forced {
            if let Some(integrations) = &mut self.integrations {
                integrations.observe(&records);
            }
            if let Some(profile) = &mut self.profile {
                profile.observe(&records);
            }
        }
        let records = self.apply_mapping(kind, records, counts)?;
        let mut records = records;
        for record in records.iter_mut() {
            self.extract_bodies(record);
            self.fill_known_hashes(record)?;
        }
        let digests: Vec<Digest> = self.pool.install(|| {
            records
                .par_iter()
                .map(|r| record_digest(r, &fields))
                .collect()
        });
        let ids: Vec<&str> = records.iter().map(|r| r.id()).collect();
        let rows: HashMap<String, (Option<String>, Option<Digest>, RecordStatus)> = self
            .state
            .lookup(kind, &ids)?
            .into_iter()
            .map(|(id, row, status)| (id, (row.target_id, row.digest, status)))
            .collect();

        // Pending rows: a crash left their outcome unknown; ask the target first.
        let pending: Vec<String> = rows
            .iter()
            .filter(|(_, (_, _, s))| *s == RecordStatus::Pending)
            .map(|(id, _)| id.clone())
            .collect();
        let landed = if pending.is_empty() {
            BTreeMap::new()
        } else {
            let pending: Vec<&Record> = records
                .iter()
                .filter(|r| pending.iter().any(|p| p == r.id()))
                .collect();
            self.find_landed(kind, pending)?
        };

        let can_update = self.ctx.target_caps.supports(kind, Operation::Update);
        let mut plans: Vec<(Record, Digest, WriteRequest)> = Vec::with_capacity(records.len());
        let mut seen: Vec<String> = Vec::new();
        let mut reconciled: Vec<(String, String, Digest)> = Vec::new();
        for (mut record, digest) in records.into_iter().zip(digests) {
            let id = record.id().to_string();
            let existing = match rows.get(&id) {
                Some((Some(target), Some(old), RecordStatus::Written))
                    if *old == digest && !forced =>
                {
                    seen.push(id);
                    counts.unchanged += 1;
                    continue;
                }
                Some((Some(target), _, RecordStatus::Written)) => Some(target.clone()),
                Some((_, _, RecordStatus::Pending)) => match landed.get(&id) {
                    Some(target) => {
                        let digest = self.reconciled_digest(&mut record, &fields, digest)?;
                        reconciled.push((id, target.clone(), digest));
                        counts.reconciled += 1;
                        continue;
                    }
                    None => None,
                },
                _ => None,
            };
            if existing.is_some() && !can_update {
                let error =
                    AdapterError::unsupported(&self.ctx.target_caps.adapter, kind, "update");
                self.fail(&record, &failure(kind, &id, &error), counts)?;
                continue;
            }
            let request = WriteRequest {
                record: record.clone(),
                existing,
                children: Vec::new(),
            };
            plans.push((record, digest, request));
        }
        if !seen.is_empty() {
            let seen_refs: Vec<&str> = seen.iter().map(String::as_str).collect();
            self.state.mark_seen(kind, self.generation, &seen_refs)?;
        }
        if !reconciled.is_empty() {
            self.state
                .mark_written(kind, self.generation, &reconciled)?;
        }

        // Map references through the id map, applying the plan's policy.
        let mut cache = HashMap::new();
        let mut writes: Vec<(Record, Digest, WriteRequest)> = Vec::with_capacity(plans.len());
        let mut deferred: std::collections::HashSet<String> = Default::default();
        for (record, mut digest, mut request) in plans {
            match self.map_references(&mut request.record, &mut cache, final_pass)? {
                Ok(waits) => {
                    // Links to records not on the target yet: written again once they
                    // are, at the end of this kind's pass or on a later run.
                    let links_wait = self.prepare_bodies(&mut request.record)? > 0 && can_update;
                    if links_wait {
                        digest = crate::bodies::waiting_digest(digest);
                    }
                    if links_wait && final_pass {
                        self.links_waiting.insert((kind, record.id().to_string()));
                    }
                    if waits || links_wait {
                        deferred.insert(record.id().to_string());
                    }
                    writes.push((record, digest, request))
                }
                Err((skip, reason)) => {
                    let f = Failure {
                        kind,
                        source_id: record.id().to_string(),
                        error_kind: if skip {
                            "skipped_reference"
                        } else {
                            "unresolved_reference"
                        }
                        .into(),
                        message: reason,
                        attempts: 1,
                    };
                    self.fail(&record, &f, counts)?;
                    if skip {
                        counts.failed -= 1;
                        counts.skipped += 1;
                    }
                }
            }
        }
        if writes.is_empty() {
            return Ok(());
        }
        let children = self.attach_children(kind, &mut writes, &mut cache)?;

        // Intents first, then the writes, a bounded number of batches in flight.
        let mut intents: Vec<(&str, Digest, String)> = Vec::with_capacity(writes.len());
        for (record, digest, _) in &writes {
            let json = serde_json::to_string(record).map_err(|e| {
                EngineError::State(format!("cannot keep {kind} '{}' sent: {e}", record.id()))
            })?;
            intents.push((record.id(), *digest, json));
        }
        self.state.mark_pending_records(kind, &intents)?;
        // Records sent with a same-kind reference left empty are queued for their
        // relink before they are sent: a kill between the write and its answer must
        // not lose the relink (the resumed run finds the record by marker and the
        // queue still holds it). A refused record leaves the queue below.
        for (record, _, _) in writes.iter().filter(|(r, _, _)| deferred.contains(r.id())) {
            let json = serde_json::to_string(record).map_err(|e| {
                EngineError::State(format!("cannot keep {kind} '{}' sent: {e}", record.id()))
            })?;
            self.state.defer(kind, record.id(), &json)?;
        }
        if let Some(children) = &children {
            let intents: Vec<(&str, Digest)> = children
                .records
                .iter()
                .map(|(id, (_, d))| (id.as_str(), *d))
                .collect();
            self.state.mark_pending(children.kind, &intents)?;
        }
        let requests: Vec<WriteRequest> = writes.iter().map(|(_, _, w)| w.clone()).collect();
        // Unless the plan sets a batch size, a page goes out as at least `concurrency`
        // batches when that costs no more requests: records carrying attachments (their
        // bytes, downloaded from the source and uploaded to the target, are in flight at
        // once instead of one batch after another), and kinds the target writes one
        // request per record (a batch is no bulk request there, only a unit of work).
        // Where a batch costs no request of its own, a page goes out as four batches per
        // thread, so that a thread done early (fewer attachments in its batches) takes
        // the rest instead of idling while the last batch finishes.
        let carries_bytes = requests.iter().any(|r| !r.record.attachments().is_empty());
        let cost = self.ctx.target_caps.kind(kind).map(|c| c.write_cost);
        let free_batches = cost.is_some_and(|c| c.per_batch == 0.0);
        let one_per_record = free_batches && cost.is_some_and(|c| c.per_record >= 1.0);
        let batch_size = match self.ctx.options.batch_size {
            Some(_) => self.ctx.batch_size(kind),
            None if !carries_bytes && !one_per_record => self.ctx.batch_size(kind),
            None => {
                let threads = self.ctx.options.concurrency.max(1);
                let parts = if free_batches { threads * 4 } else { threads };
                self.ctx
                    .batch_size(kind)
                    .min(requests.len().div_ceil(parts))
                    .max(1)
            }
        };
        let batches: Vec<&[WriteRequest]> = requests.chunks(batch_size).collect();
        // A record the state store knows nothing of was never sent (intents are stored
        // before every write): its batch may skip the target's marker lookups.
        let never_sent: Vec<bool> = batches
            .iter()
            .map(|batch| batch.iter().all(|r| !rows.contains_key(r.record.id())))
            .collect();
        if let Some(cost) = self.ctx.target_caps.kind(kind).map(|c| c.write_cost) {
            let attachments: usize = requests
                .iter()
                .map(|r| {
                    r.record.attachments().len()
                        + r.children
                            .iter()
                            .map(|c| c.record.attachments().len())
                            .sum::<usize>()
                })
                .sum();
            counts.requests += (cost.per_batch * batches.len() as f64
                + cost.per_record * requests.len() as f64
                + cost.per_attachment * attachments as f64)
                .ceil() as u64;
        }
        let ctx = &self.ctx;
        let results: Vec<Result<BatchWritten, AdapterError>> = self.pool.install(|| {
            batches
                .par_iter()
                .zip(never_sent.par_iter())
                .map(|(batch, never_sent)| ctx.write_with_retry(kind, batch, *never_sent))
                .collect()
        });

        let by_id: HashMap<&str, (&Record, &Digest, bool)> = writes
            .iter()
            .map(|(r, d, w)| (r.id(), (r, d, w.existing.is_some())))
            .collect();
        let mut written: Vec<(String, String, Digest)> = Vec::new();
        let mut origins: Vec<(String, crate::state::Origin)> = Vec::new();
        let mut downloaded: Vec<(String, Digest, u64)> = Vec::new();
        let mut refused: Vec<String> = Vec::new();
        let mut settled_children = SettledChildren::default();
        let mut stop: Option<AdapterError> = None;
        let hashes = self
            .ctx
            .content
            .hashes
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        for (batch, result) in batches.iter().zip(results) {
            match result {
                Ok((outcomes, found_by_marker)) => {
                    for outcome in outcomes {
                        let origin_unknown = found_by_marker.contains(&outcome.source_id);
                        let Some((record, digest, was_update)) =
                            by_id.get(outcome.source_id.as_str()).copied()
                        else {
                            continue;
                        };
                        if let Some(children) = &children {
                            settled_children.settle(
                                children,
                                &outcome,
                                &hashes,
                                &mut downloaded,
                                &mut stop,
                            );
                        }
                        match outcome.result {
                            Ok(target_id) => {
                                let digest = digest_with_hashes(
                                    record,
                                    *digest,
                                    &fields,
                                    &hashes,
                                    &mut downloaded,
                                    counts,
                                );
                                if was_update {
                                    counts.updated += 1;
                                } else if origin_unknown {
                                    // Landed, answer lost, found by marker: created or
                                    // adopted, nobody can say; rollback leaves it.
                                    counts.reconciled += 1;
                                } else if let Some(adopted) = &outcome.adopted {
                                    counts.adopted += 1;
                                    origins.push((
                                        outcome.source_id.clone(),
                                        crate::state::Origin::Adopted(adopted.before.clone()),
                                    ));
                                } else {
                                    counts.created += 1;
                                    origins.push((
                                        outcome.source_id.clone(),
                                        crate::state::Origin::Created,
                                    ));
                                }
                                written.push((outcome.source_id, target_id, digest));
                            }
                            Err(e) if e.stops_run() => stop = Some(e),
                            Err(e) => {
                                self.fail(record, &failure(kind, &outcome.source_id, &e), counts)?;
                                refused.push(outcome.source_id);
                            }
                        }
                    }
                }
                Err(e) if e.stops_run() => stop = Some(e),
                Err(e) => {
                    // Outcome unknown: the rows stay pending and are reconciled by
                    // source marker on the next run; retry-failed can send them.
                    for request in batch.iter() {
                        let f = failure(kind, request.record.id(), &e);
                        if let Some((record, _, _)) = by_id.get(request.record.id()) {
                            self.fail(record, &f, counts)?;
                        }
                    }
                }
            }
        }
        if let Ok(mut map) = self.ctx.content.hashes.lock() {
            map.clear();
        }
        self.state.record_attachments(&downloaded)?;
        self.state.mark_written(kind, self.generation, &written)?;
        self.state.record_origins(kind, &origins)?;
        self.state.drop_pending(kind, &refused)?;
        for id in refused.iter().filter(|id| deferred.contains(*id)) {
            self.state.undefer(kind, id)?;
        }
        if let Some(children) = &children {
            let embedded = self.embedded.entry(children.kind).or_default();
            embedded.created += settled_children.written.len() as u64;
            embedded.attachment_bytes += settled_children.attachment_bytes;
            self.state
                .mark_written(children.kind, self.generation, &settled_children.written)?;
            let created: Vec<(String, crate::state::Origin)> = settled_children
                .written
                .iter()
                .map(|(id, _, _)| (id.clone(), crate::state::Origin::Created))
                .collect();
            self.state.record_origins(children.kind, &created)?;
            self.state
                .drop_pending(children.kind, &settled_children.not_written)?;
        }
        match stop {
            Some(e) => Err(EngineError::Adapter(e)),
            None => Ok(()),
        }
    }

    /// Writes again, as updates, the records whose references to records of their own
    /// kind were left empty because those were not on the target yet. References still
    /// unresolvable now fall under the plan's policy.
    fn complete_deferred(
        &mut self,
        kind: Kind,
        counts: &mut KindCounts,
    ) -> Result<bool, EngineError> {
        let waiting = self.state.deferred(kind)?;
        if waiting.is_empty() {
            return Ok(true);
        }
        let mut records = Vec::with_capacity(waiting.len());
        for (id, json) in waiting {
            let record: Record = serde_json::from_str(&json).map_err(|e| {
                EngineError::State(format!("stored copy of {kind} '{id}' is unreadable: {e}"))
            })?;
            records.push(record);
        }
        // A forced pass rewrites them with existing target ids; a reference still not on
        // the target is now handled by the plan's policy instead of being left empty.
        let mut pass = KindCounts::default();
        let mut finished = true;
        for chunk in records.chunks(500) {
            self.process(kind, chunk.to_vec(), true, true, &mut pass)?;
            if self.ctx.cancel.is_cancelled() {
                // A Ctrl-C may have cut this chunk: keep them waiting for the next run.
                finished = false;
                break;
            }
            // Only now: a crash before this point completes them on the next run.
            // Records whose links still wait stay queued for a later run.
            for record in chunk {
                let key = (kind, record.id().to_string());
                if !self.links_waiting.remove(&key) {
                    self.state.undefer(kind, record.id())?;
                }
            }
        }
        counts.relinked += pass.updated;
        counts.failed += pass.failed;
        counts.skipped += pass.skipped;
        counts.requests += pass.requests;
        Ok(finished)
    }

    /// Settles intents a killed run left behind: each is looked for where it would be
    /// on the target (from the record the intent kept), or by source marker for intents
    /// that kept none. Found ones get the digest a write would have stored, attachment
    /// hashes included; the rest are proven absent and sent again.
    fn reconcile_pending(
        &mut self,
        kind: Kind,
        counts: &mut KindCounts,
    ) -> Result<(), EngineError> {
        let pending = self.state.pending_records(kind)?;
        if pending.is_empty() {
            return Ok(());
        }
        let fields = self.ctx.fields(kind);
        let mut landed_count = 0usize;
        let mut absent = Vec::new();
        for chunk in pending.chunks(500) {
            let mut kept: Vec<Record> = Vec::new();
            let mut bare: Vec<String> = Vec::new();
            for row in chunk {
                match row.record.as_deref().map(serde_json::from_str::<Record>) {
                    Some(Ok(record)) => kept.push(record),
                    _ => bare.push(row.source_id.clone()),
                }
            }
            let mut found = self.find_landed(kind, kept.iter().collect())?;
            if !bare.is_empty() {
                found.extend(self.ctx.find_with_retry(kind, &bare)?);
            }
            let mut written: Vec<(String, String, Digest)> = Vec::new();
            let mut by_id: HashMap<String, Record> =
                kept.into_iter().map(|r| (r.id().to_string(), r)).collect();
            for row in chunk {
                let Some(target) = found.get(&row.source_id) else {
                    absent.push(row.source_id.clone());
                    continue;
                };
                let stored = row.digest.unwrap_or_default();
                let digest = match by_id.get_mut(&row.source_id) {
                    Some(record) => {
                        self.fill_known_hashes(record)?;
                        let digest = record_digest(record, &fields);
                        self.reconciled_digest(record, &fields, digest)?
                    }
                    None => stored,
                };
                written.push((row.source_id.clone(), target.clone(), digest));
            }
            landed_count += written.len();
            counts.reconciled += written.len() as u64;
            self.state.mark_written(kind, self.generation, &written)?;
        }
        self.state.drop_pending(kind, &absent)?;
        if landed_count > 0 {
            self.ctx.observer.event(&Event::Warning(format!(
                "{kind}: {landed_count} record(s) an interrupted run had sent were found on the target by source marker and not sent again",
            )));
        }
        Ok(())
    }

    /// Asks the target which of these records (as read from the source, their write
    /// outcome unknown) it holds, each where it would be: references are mapped as the
    /// write mapped them. Records whose references no longer map are asked for by
    /// source marker alone.
    fn find_landed(
        &self,
        kind: Kind,
        records: Vec<&Record>,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let mut cache = HashMap::new();
        let mut sent = Vec::with_capacity(records.len());
        let mut bare = Vec::new();
        for record in records {
            let mut mapped = record.clone();
            match self.map_references(&mut mapped, &mut cache, false)? {
                Ok(_) => sent.push(WriteRequest::create(mapped)),
                Err(_) => bare.push(record.id().to_string()),
            }
        }
        let mut found = self.ctx.find_sent_with_retry(kind, &sent)?;
        if !bare.is_empty() {
            found.extend(self.ctx.find_with_retry(kind, &bare)?);
        }
        Ok(found)
    }

    /// The digest of a record found on the target after its write's answer was lost
    /// (or its run killed): the one a write would have stored. Attachment bytes no
    /// download recorded are hashed from the source now (only records in flight get
    /// here) and recorded, so that verify compares bytes on both sides. A source that
    /// cannot give the bytes leaves the digest as it was, with a warning.
    fn reconciled_digest(
        &mut self,
        record: &mut Record,
        fields: &FieldSet,
        digest: Digest,
    ) -> Result<Digest, EngineError> {
        let source = self.source;
        let mut hashed: Vec<(String, Digest, u64)> = Vec::new();
        let mut unread = Vec::new();
        if let Some(attachments) = record.attachments_mut() {
            for attachment in attachments.iter_mut().filter(|a| a.sha256.is_none()) {
                let bytes = crate::bodies::open(source, attachment).and_then(|mut reader| {
                    ContentHasher::hash_reader(&mut reader).map_err(|e| {
                        AdapterError::transient(
                            &self.ctx.source_caps.adapter,
                            format!("reading attachment '{}': {e}", attachment.file_name),
                        )
                    })
                });
                match bytes {
                    Ok((sha, size)) => {
                        attachment.sha256 = Some(sha.to_hex());
                        attachment.size = size;
                        hashed.push((attachment.id.clone(), sha, size));
                    }
                    Err(e) => unread.push(format!("'{}': {e}", attachment.file_name)),
                }
            }
        }
        if !unread.is_empty() {
            self.ctx.observer.event(&Event::Warning(format!(
                "{} '{}' was found on the target, but its attachments could not be read from the source to digest them ({}); verify may report it as differing",
                record.kind(),
                record.id(),
                unread.join("; ")
            )));
        }
        if hashed.is_empty() {
            return Ok(digest);
        }
        self.state.record_attachments(&hashed)?;
        Ok(record_digest(record, fields))
    }

    /// Reads one kind from its saved cursor to the end, a page ahead of the writes.
    fn move_kind(
        &mut self,
        kind: Kind,
        changed_since: Option<switchover_model::Timestamp>,
        counts: &mut KindCounts,
    ) -> Result<bool, EngineError> {
        let start = self.state.cursor(kind)?;
        if start.done {
            return Ok(true);
        }
        // A source's count is of everything it holds: no total when reading only changes.
        let counted = self
            .read_ahead
            .get_mut(&kind)
            .and_then(|ahead| ahead.total.take())
            .map(|rx| rx.recv().ok().flatten());
        let total = match (changed_since, counted) {
            (Some(_), _) => None,
            (None, Some(counted)) => counted,
            (None, None) => self.source.count(kind).ok().flatten(),
        };
        self.ctx.observer.event(&Event::KindStarted { kind, total });
        let first = start.cursor.clone().map(switchover_adapter::Cursor);
        self.read_source(kind, first, changed_since, |runner, page| {
            let next = page.next.clone();
            runner.process(kind, page.records, false, false, counts)?;
            if runner.ctx.cancel.is_cancelled() {
                // Some of this page may not have been sent: read it again next run.
                return Ok(false);
            }
            runner.state.save_cursor(
                kind,
                &KindCursor {
                    cursor: next.as_ref().map(|c| c.0.clone()),
                    done: next.is_none(),
                },
            )?;
            runner.ctx.observer.event(&Event::Progress {
                kind,
                done: counts.processed(),
            });
            Ok(!(runner.ctx.cancel.is_cancelled() && next.is_some()))
        })
    }

    /// Reads a kind from the source starting at `first`, on a reader thread one page
    /// ahead, and hands every page to `on_page`. `Ok(false)` when `on_page` asked to stop
    /// early (it returned `false`).
    fn read_source(
        &mut self,
        kind: Kind,
        first: Option<switchover_adapter::Cursor>,
        changed_since: Option<switchover_model::Timestamp>,
        mut on_page: impl FnMut(&mut Self, switchover_adapter::Page) -> Result<bool, EngineError>,
    ) -> Result<bool, EngineError> {
        let request = PageRequest {
            cursor: first,
            changed_since,
            page_size: self.page_size(kind),
        };
        // A reader started ahead for this very read is used; one that started elsewhere
        // is dropped (it stops at its next page).
        let ahead = self
            .read_ahead
            .remove(&kind)
            .filter(|ahead| same_request(&ahead.request, &request));
        let source = self.source;
        let (options, observer, cancel) = (self.ctx.options, self.ctx.observer, self.ctx.cancel);
        let health = std::sync::Arc::clone(&self.ctx.source_health);
        std::thread::scope(|scope| -> Result<bool, EngineError> {
            // Owned by this closure, so an early return (Ctrl-C, an error) drops the
            // receiver and unblocks the reader before the scope joins it.
            let rx = match ahead {
                Some(ahead) => ahead.pages,
                None => {
                    let (tx, rx) = std::sync::mpsc::sync_channel(1);
                    scope.spawn(move || {
                        read_pages(
                            kind, source, request, options, observer, cancel, &health, tx,
                        )
                    });
                    rx
                }
            };
            for page in rx.iter() {
                if !on_page(self, page?)? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    /// Records per source page of a kind: the plan's, else the source's.
    fn page_size(&self, kind: Kind) -> Option<usize> {
        self.ctx
            .options
            .page_size
            .or_else(|| self.ctx.source_caps.kind(kind).map(|c| c.page_size))
            .filter(|n| *n > 0)
    }

    /// The source read a kind's pass starts with in this run, and whether the pass asks
    /// the source for a count first; `None` when the kind reads nothing from the source
    /// (read completely already, or its records are staged inside their parents' pass).
    fn first_read(
        &self,
        kind: Kind,
        since: Option<switchover_model::Timestamp>,
    ) -> Result<Option<(PageRequest, bool)>, EngineError> {
        let changed_since =
            since.filter(|_| self.ctx.source_caps.supports(kind, Operation::Incremental));
        // Children travelling inside their parents are read during the parents' pass,
        // from their read-ahead position; the others from their cursor.
        let (start, counts) = match self.ctx.embedding_parent(kind) {
            Some(_) => (self.state.staging_cursor(kind)?, false),
            None => (self.state.cursor(kind)?, changed_since.is_none()),
        };
        if start.done {
            return Ok(None);
        }
        Ok(Some((
            PageRequest {
                cursor: start.cursor.map(switchover_adapter::Cursor),
                changed_since,
                page_size: self.page_size(kind),
            },
            counts,
        )))
    }

    /// Starts reading, on threads of `scope`, the kinds of `upcoming` that have no reader
    /// yet, so their requests overlap the kinds moving before them. Reading never
    /// depends on what was written, and a cursor still only moves once a page is
    /// processed in its kind's turn: an interrupted run reads again what was read ahead.
    /// Each reader holds at most two pages.
    pub(crate) fn read_ahead<'scope>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        upcoming: &[Kind],
        since: Option<switchover_model::Timestamp>,
    ) -> Result<(), EngineError>
    where
        'a: 'scope,
    {
        for &kind in upcoming {
            if self.read_ahead.contains_key(&kind) {
                continue;
            }
            let Some((request, counts)) = self.first_read(kind, since)? else {
                continue;
            };
            let source = self.source;
            let (options, observer, cancel) =
                (self.ctx.options, self.ctx.observer, self.ctx.cancel);
            let health = std::sync::Arc::clone(&self.ctx.source_health);
            let (tx, pages) = std::sync::mpsc::sync_channel(1);
            let (count_tx, total) = if counts {
                let (count_tx, total) = std::sync::mpsc::sync_channel(1);
                (Some(count_tx), Some(total))
            } else {
                (None, None)
            };
            let first = request.clone();
            scope.spawn(move || {
                if let Some(count_tx) = count_tx {
                    let _ = count_tx.send(source.count(kind).ok().flatten());
                }
                read_pages(kind, source, first, options, observer, cancel, &health, tx)
            });
            self.read_ahead.insert(
                kind,
                ReadAhead {
                    request,
                    total,
                    pages,
                },
            );
        }
        Ok(())
    }

    /// Drops the readers started ahead, so their threads stop at their next page.
    pub(crate) fn stop_read_ahead(&mut self) {
        self.read_ahead.clear();
    }

    /// Settles the writes of a kind whose outcome an interrupted run left unknown: by
    /// source marker, or for children written inside their parents, through the parent.
    fn settle_pending(&mut self, kind: Kind, counts: &mut KindCounts) -> Result<(), EngineError> {
        match self.ctx.embedding_parent(kind) {
            Some(parent) => self.reconcile_embedded(kind, parent, counts),
            None => self.reconcile_pending(kind, counts),
        }
    }

    /// Moves one kind: settles what an interrupted run left pending, then reads it (from
    /// the source, or from the staged copies when its records travel inside their
    /// parents) and completes deferred references. `Ok(false)` when a Ctrl-C stopped it.
    fn run_kind(
        &mut self,
        kind: Kind,
        since: Option<switchover_model::Timestamp>,
        counts: &mut KindCounts,
    ) -> Result<bool, EngineError> {
        let incremental = |runner: &Self, k: Kind| {
            since.filter(|_| runner.ctx.source_caps.supports(k, Operation::Incremental))
        };
        self.settle_pending(kind, counts)?;
        let finished = if self.ctx.embedding_parent(kind).is_some() {
            self.move_staged(kind, counts)?
        } else {
            let staged = match self.ctx.embedded_child(kind) {
                Some(child) => self.stage_children(child, incremental(self, child))?,
                None => true,
            };
            staged && self.move_kind(kind, incremental(self, kind), counts)?
        };
        if finished {
            return self.complete_deferred(kind, counts);
        }
        Ok(finished)
    }
}

fn build_pool(concurrency: usize) -> Result<rayon::ThreadPool, EngineError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(concurrency.max(1))
        .thread_name(|i| format!("switchover-write-{i}"))
        .build()
        .map_err(|e| EngineError::State(format!("cannot start worker threads: {e}")))
}

fn runner<'a>(
    source: &'a dyn Source,
    sink: &'a dyn Sink,
    state: &'a mut StateStore,
    options: &'a Options,
    observer: &'a dyn Observer,
    cancel: &'a Cancel,
    generation: i64,
) -> Result<(Runner<'a>, Vec<(Kind, String)>), EngineError> {
    let source_caps = source.capabilities();
    let target_caps = sink.capabilities();
    let plan = plan_kinds(&options.kinds, &source_caps, &target_caps);
    for (_, why) in &plan.added {
        observer.event(&Event::Warning(why.clone()));
    }
    let embedding = plan.moves.iter().find_map(|kind| {
        target_caps
            .kind(*kind)
            .and_then(|c| c.embeds)
            .filter(|child| plan.moves.contains(child) && child.parent_kind() == Some(*kind))
            .map(|child| (*kind, child))
    });
    let moves = plan.moves.clone();
    let ctx = Ctx {
        source_caps,
        target_caps,
        sink,
        content: HashingContent {
            source,
            hashes: Default::default(),
        },
        options,
        observer,
        cancel,
        moved: plan.moves,
        embedding,
        target_health: health::Health::new("target", options.give_up_after),
        source_health: std::sync::Arc::new(health::Health::new("source", options.give_up_after)),
        bodies: sink
            .body_urls()
            .map(|target| crate::bodies::Bodies::new(source.body_urls(), target, moves)),
    };
    Ok((
        Runner {
            ctx,
            source,
            state,
            generation,
            pool: build_pool(options.concurrency)?,
            embedded: HashMap::new(),
            samples: samples::Collector::new(if sink.is_dry() { options.samples } else { 0 }),
            links_waiting: Default::default(),
            dropped_fields: Default::default(),
            originals: HashMap::new(),
            coverage: sink.is_dry().then(Default::default),
            integrations: sink.is_dry().then(Default::default),
            profile: sink.is_dry().then(Default::default),
            read_ahead: HashMap::new(),
        },
        plan.left_behind,
    ))
}
