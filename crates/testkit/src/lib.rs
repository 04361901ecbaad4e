//! The conformance suite every Switchover adapter passes, in the manner of rclone's
//! fstests and OpenDAL's behaviour tests: an adapter's `tests/conformance.rs` is a few
//! lines naming its spec and settings; trials are gated by the capabilities the adapter
//! declares, and every skip states its reason.
//!
//! ```no_run
//! # fn settings_for_my_backend() -> switchover_adapter::Settings { unimplemented!() }
//! # fn my_adapter_register() -> switchover_adapter::AdapterSpec { unimplemented!() }
//! switchover_testkit::Conformance::new(my_adapter_register(), settings_for_my_backend())
//!     .no_credentials("a local folder needs none")
//!     .run();
//! ```
//!
//! The suite writes the fixed hostile [`Dataset`] through the target, reads it back and
//! through the source, compares digests on the declared portable fields, writes it again
//! to prove no duplicates appear, updates, finds by source marker, and deletes.

#![deny(missing_docs)]

pub mod dataset;
pub mod golden;
pub mod malformed;
pub mod round_trip;

pub use round_trip::{
    RoundTripRun, archive_round_trip, archive_round_trip_of, seed_archive, seed_target,
};
pub mod wrap;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use switchover_adapter::Operation;

use switchover_adapter::{
    AdapterError, AdapterSpec, Capabilities, ErrorKind, PageRequest, Settings, Source, Target,
    WriteRequest,
};
use switchover_model::digest::{ContentHasher, FieldSet, projection};
use switchover_model::{Kind, Record, UserRole};

pub use dataset::Dataset;

/// How one trial ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed; the text says what it checked.
    Pass(String),
    /// It did not run; the text says why.
    Skip(String),
    /// It failed; the text says how.
    Fail(String),
}

/// A trial's name and outcome.
#[derive(Debug, Clone)]
pub struct TrialResult {
    /// Trial name.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// Every trial's result for one adapter.
#[derive(Debug, Clone)]
pub struct Report {
    /// Adapter name.
    pub adapter: String,
    /// Results in the order the trials ran.
    pub trials: Vec<TrialResult>,
}

impl Report {
    /// The failed trials.
    pub fn failures(&self) -> Vec<&TrialResult> {
        self.trials
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Fail(_)))
            .collect()
    }

    /// The outcome of a trial by name.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.trials
            .iter()
            .find(|t| t.name == name)
            .map(|t| &t.outcome)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of adapter '{}':", self.adapter)?;
        for trial in &self.trials {
            let (tag, text) = match &trial.outcome {
                Outcome::Pass(t) => ("PASS", t),
                Outcome::Skip(t) => ("SKIP", t),
                Outcome::Fail(t) => ("FAIL", t),
            };
            writeln!(f, "  {tag} {:<40} {text}", trial.name)?;
        }
        Ok(())
    }
}

/// The conformance suite for one adapter against one backend.
pub struct Conformance {
    spec: AdapterSpec,
    settings: Settings,
    bad_credentials: Result<Settings, String>,
    dataset: Dataset,
    left_out: Vec<String>,
}

type TrialFn = fn(&mut Run) -> Result<Outcome, String>;

/// The trials, in the order they run; later ones use what earlier ones wrote.
const TRIALS: &[(&str, TrialFn)] = &[
    (
        "capabilities_are_consistent",
        Run::capabilities_are_consistent,
    ),
    (
        "bad_credentials_are_refused",
        Run::bad_credentials_are_refused,
    ),
    (
        "unsupported_kind_is_a_clear_error",
        Run::unsupported_kind_is_a_clear_error,
    ),
    ("writes_the_dataset", Run::writes_the_dataset),
    ("reads_back_equal_digests", Run::reads_back_equal_digests),
    (
        "reads_back_attachment_bytes",
        Run::reads_back_attachment_bytes,
    ),
    (
        "source_reads_every_kind_with_resumable_cursors",
        Run::source_reads_every_kind,
    ),
    (
        "incremental_read_honours_changed_since",
        Run::incremental_read,
    ),
    (
        "writing_again_creates_no_duplicates",
        Run::writing_again_creates_no_duplicates,
    ),
    (
        "a_name_collision_never_takes_over_another_record",
        Run::name_collision_never_takes_over,
    ),
    ("update_changes_the_record_in_place", Run::update_in_place),
    (
        "find_by_source_marker_finds_every_record",
        Run::find_by_source,
    ),
    ("delete_removes_what_was_written", Run::delete_removes),
    (
        "records_already_on_the_target_survive_the_migration_and_its_rollback",
        Run::records_already_there_survive,
    ),
];

impl Conformance {
    /// The suite for the adapter `spec`, built from `settings` pointing at a test backend.
    /// The backend should start empty of the dataset's source markers.
    pub fn new(spec: AdapterSpec, settings: Settings) -> Self {
        Conformance {
            spec,
            settings,
            bad_credentials: Err("no bad-credential settings were given to the suite".into()),
            dataset: Dataset::conformance(),
            left_out: Vec::new(),
        }
    }

    /// Leaves a dataset record out of every trial because the platform has no place for
    /// it (Help Scout has no user or organization fields), saying why; the report lists
    /// what was left out ([`Dataset::without`]).
    pub fn leave_out(mut self, kind: Kind, id: &str, why: &str) -> Self {
        self.dataset = self.dataset.without(kind, id);
        self.left_out.push(format!("{kind} '{id}': {why}"));
        self
    }

    /// Settings with wrong credentials: building or checking the adapter must give the
    /// authentication error.
    pub fn bad_credentials(mut self, settings: Settings) -> Self {
        self.bad_credentials = Ok(settings);
        self
    }

    /// Says why the adapter has no credentials to get wrong.
    pub fn no_credentials(mut self, reason: &str) -> Self {
        self.bad_credentials = Err(reason.to_string());
        self
    }

    /// Runs every trial and returns the report.
    pub fn report(self) -> Report {
        let capabilities = (self.spec.capabilities)();
        let target = match self.spec.target {
            None => Ok(None),
            // As the registry builds it: behind the capability check layer.
            Some(factory) => factory(&self.settings)
                .map(|t| {
                    Some(Box::new(switchover_adapter::checked::CheckedTarget::new(t))
                        as Box<dyn Target>)
                })
                .map_err(|e| format!("building the target failed: {}", describe(&e))),
        };
        let mut run = Run {
            conformance: self,
            capabilities,
            id_map: BTreeMap::new(),
            target,
            adopted: BTreeMap::new(),
            before: BTreeMap::new(),
            first_write: false,
        };
        let mut trials = Vec::new();
        for (name, trial) in TRIALS {
            let outcome = match catch_unwind(AssertUnwindSafe(|| trial(&mut run))) {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(failure)) => Outcome::Fail(failure),
                Err(panic) => Outcome::Fail(format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )),
            };
            trials.push(TrialResult { name, outcome });
        }
        Report {
            adapter: run.conformance.spec.name.to_string(),
            trials,
        }
    }

    /// Runs every trial, prints the report and panics if any trial failed.
    pub fn run(self) {
        for line in &self.left_out {
            eprintln!("left out of the dataset: {line}");
        }
        let report = self.report();
        eprintln!("{report}");
        let failures = report.failures();
        assert!(
            failures.is_empty(),
            "{} conformance trial(s) failed for adapter '{}': {}",
            failures.len(),
            report.adapter,
            failures
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// State shared by the trials of one run.
struct Run {
    conformance: Conformance,
    capabilities: Capabilities,
    /// (kind, dataset id) -> target id, from the write trial.
    id_map: BTreeMap<(Kind, String), String>,
    /// The target, built once before the trials (a target may hold a lock or a session).
    target: Result<Option<Box<dyn Target>>, String>,
    /// (kind, target id) -> what a record the write trial adopted had before: given back
    /// by the delete trial, as a rollback does, never deleted.
    adopted: BTreeMap<(Kind, String), switchover_adapter::Adopted>,
    /// What the target held before the first write, per kind and target id (records
    /// carrying no source marker), as JSON without its change times.
    before: BTreeMap<(Kind, String), serde_json::Value>,
    /// While the first write of the dataset runs: its adoptions are of records the
    /// target had before.
    first_write: bool,
}

fn pass(text: impl Into<String>) -> Result<Outcome, String> {
    Ok(Outcome::Pass(text.into()))
}

fn skip(text: impl Into<String>) -> Result<Outcome, String> {
    Ok(Outcome::Skip(text.into()))
}

fn describe(e: &AdapterError) -> String {
    format!("{:?} error: {e}", e.kind())
}

/// Names the fields whose projections differ, with both values.
fn field_differences(expected: &Record, actual: &Record, fields: &FieldSet) -> Vec<String> {
    let (serde_json::Value::Object(e), serde_json::Value::Object(a)) =
        (projection(expected, fields), projection(actual, fields))
    else {
        return vec!["projection is not an object".into()];
    };
    let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
    keys.into_iter()
        .filter(|k| e.get(*k) != a.get(*k))
        .map(|k| {
            format!(
                "{k}: expected {} got {}",
                e.get(k).cloned().unwrap_or_default(),
                a.get(k).cloned().unwrap_or_default()
            )
        })
        .collect()
}

impl Run {
    fn source(&self) -> Result<Option<Box<dyn Source>>, String> {
        match self.conformance.spec.source {
            None => Ok(None),
            Some(factory) => factory(&self.conformance.settings)
                .map(|s| {
                    Some(Box::new(switchover_adapter::checked::CheckedSource::new(s))
                        as Box<dyn Source>)
                })
                .map_err(|e| format!("building the source failed: {}", describe(&e))),
        }
    }

    fn target(&self) -> Result<Option<&dyn Target>, String> {
        match &self.target {
            Ok(target) => Ok(target.as_deref()),
            Err(e) => Err(e.clone()),
        }
    }

    fn writable_kinds(&self) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| k.is_streamed() && self.capabilities.supports(*k, Operation::Write))
            .collect()
    }

    /// Dataset records of a kind with references mapped to target ids.
    fn mapped(&self, kind: Kind) -> Vec<Record> {
        self.conformance
            .dataset
            .of(kind)
            .iter()
            .map(|record| {
                let mut record = record.clone();
                record.for_each_ref_mut(&mut |ref_kind, id| {
                    if let Some(target_id) = self.id_map.get(&(ref_kind, id.clone())) {
                        *id = target_id.clone();
                    }
                });
                record
            })
            .collect()
    }

    /// A read-back record turned back into dataset ids, if it is one the suite wrote.
    fn unmapped(&self, kind: Kind, mut record: Record) -> Option<Record> {
        let reverse: BTreeMap<(Kind, &str), &str> = self
            .id_map
            .iter()
            .map(|((k, source), target)| ((*k, target.as_str()), source.as_str()))
            .collect();
        let source_id = reverse.get(&(kind, record.id()))?.to_string();
        *record.id_mut() = source_id;
        record.for_each_ref_mut(&mut |ref_kind, id| {
            if let Some(source) = reverse.get(&(ref_kind, id.as_str())) {
                *id = source.to_string();
            }
        });
        Some(record)
    }

    /// The kind whose new records carry records of `kind` inside them, if the target
    /// declares one (Zendesk imports tickets with their comments).
    fn embedding_parent(&self, kind: Kind) -> Option<Kind> {
        self.capabilities
            .kinds
            .iter()
            .find(|(_, c)| c.embeds == Some(kind))
            .map(|(parent, _)| *parent)
    }

    /// Dataset records of the kind `kind` embeds, grouped by parent as the engine hands
    /// them over: references mapped, the parent reference empty, in time order.
    fn children_by_parent(&self, kind: Kind) -> BTreeMap<String, Vec<WriteRequest>> {
        let mut by_parent: BTreeMap<String, Vec<Record>> = BTreeMap::new();
        let Some(child) = self.capabilities.kind(kind).and_then(|c| c.embeds) else {
            return BTreeMap::new();
        };
        for (original, mut mapped) in self
            .conformance
            .dataset
            .of(child)
            .iter()
            .zip(self.mapped(child))
        {
            let Some((_, parent)) = original.parent() else {
                continue;
            };
            let parent = parent.to_string();
            if let Some(id) = mapped.parent_id_mut() {
                id.clear();
            }
            by_parent.entry(parent).or_default().push(mapped);
        }
        by_parent
            .into_iter()
            .map(|(parent, mut records)| {
                records.sort_by_key(|r| match r {
                    Record::Comment(c) => c.created_at,
                    _ => None,
                });
                (
                    parent,
                    records.into_iter().map(WriteRequest::create).collect(),
                )
            })
            .collect()
    }

    /// Writes the dataset's records of one kind, as new records or (`existing`) as
    /// updates of what was written; new parents carry their children when the target
    /// embeds them. Returns every `(kind, source id, target id)` written.
    fn write_kind(
        &mut self,
        kind: Kind,
        existing: bool,
    ) -> Result<Vec<(Kind, String, String)>, String> {
        let max_batch = self
            .capabilities
            .kind(kind)
            .map(|c| c.max_batch.max(1))
            .unwrap_or(1);
        let mut children = if existing {
            BTreeMap::new()
        } else {
            self.children_by_parent(kind)
        };
        // Children travel inside their parents; only those left over go alone.
        let embedded = !existing && self.embedding_parent(kind).is_some();
        let requests: Vec<WriteRequest> = self
            .mapped(kind)
            .into_iter()
            .filter(|record| {
                !embedded || !self.id_map.contains_key(&(kind, record.id().to_string()))
            })
            .map(|record| WriteRequest {
                existing: existing
                    .then(|| self.id_map.get(&(kind, record.id().to_string())).cloned())
                    .flatten(),
                children: children.remove(record.id()).unwrap_or_default(),
                record,
            })
            .collect();
        let dataset = &self.conformance.dataset;
        let target = self.target()?.ok_or("the target was not built")?;
        let mut written = Vec::new();
        let mut adoptions = Vec::new();
        for batch in requests.chunks(max_batch) {
            let outcomes = target
                .write_batch(kind, batch, dataset)
                .map_err(|e| format!("writing {kind} failed: {}", describe(&e)))?;
            if outcomes.len() != batch.len() {
                return Err(format!(
                    "writing {} {kind} returned {} outcomes",
                    batch.len(),
                    outcomes.len()
                ));
            }
            for outcome in outcomes {
                if let (Ok(target_id), Some(had)) = (&outcome.result, &outcome.adopted) {
                    adoptions.push(((kind, target_id.clone()), had.clone()));
                }
                let target_id = outcome.result.map_err(|e| {
                    format!(
                        "{kind} '{}' was refused: {}",
                        outcome.source_id,
                        describe(&e)
                    )
                })?;
                for child in outcome.children {
                    let child_kind = self
                        .capabilities
                        .kind(kind)
                        .and_then(|c| c.embeds)
                        .unwrap_or(kind);
                    let child_id = child.result.map_err(|e| {
                        format!(
                            "{child_kind} '{}' inside {kind} '{}' was refused: {}",
                            child.source_id,
                            outcome.source_id,
                            describe(&e)
                        )
                    })?;
                    written.push((child_kind, child.source_id, child_id));
                }
                written.push((kind, outcome.source_id, target_id));
            }
        }
        // Only the first write adopts what the target had; a later write that finds
        // its own earlier record by marker reports it adopted too, but created it.
        if self.first_write {
            for (key, had) in adoptions {
                self.adopted.entry(key).or_insert(had);
            }
        }
        Ok(written)
    }

    fn read_back_all(&self, kind: Kind) -> Result<Vec<(Option<String>, Record)>, String> {
        let target = self.target()?.ok_or("no target")?;
        let mut request = PageRequest {
            page_size: Some(3),
            ..Default::default()
        };
        let mut all = Vec::new();
        for _ in 0..100_000 {
            let page = target
                .read_back(kind, &request)
                .map_err(|e| format!("reading back {kind} failed: {}", describe(&e)))?;
            all.extend(page.records.into_iter().map(|r| (r.source_id, r.record)));
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(all),
            }
        }
        Err(format!("reading back {kind} never reached the last page"))
    }

    fn capabilities_are_consistent(&mut self) -> Result<Outcome, String> {
        let mut problems = Vec::new();
        for (kind, cap) in &self.capabilities.kinds {
            let known: BTreeSet<&str> = kind.fields().iter().copied().collect();
            for field in &cap.fields {
                if !known.contains(field.as_str()) {
                    problems.push(format!("{kind}: declares unknown field '{field}'"));
                }
            }
            if cap.write && cap.max_batch == 0 {
                problems.push(format!("{kind}: writable with max_batch 0"));
            }
            if cap.write && cap.fields.is_empty() {
                problems.push(format!("{kind}: writable but round-trips no field"));
            }
            if (cap.update || cap.delete || cap.read_back) && !cap.write {
                problems.push(format!(
                    "{kind}: updates, deletes or reads back without writing"
                ));
            }
        }
        if self.capabilities.adapter != self.conformance.spec.name {
            problems.push(format!(
                "capabilities name adapter '{}' but the spec is '{}'",
                self.capabilities.adapter, self.conformance.spec.name
            ));
        }
        if problems.is_empty() {
            pass(format!("{} kinds declared", self.capabilities.kinds.len()))
        } else {
            Err(problems.join("; "))
        }
    }

    fn bad_credentials_are_refused(&mut self) -> Result<Outcome, String> {
        let settings = match &self.conformance.bad_credentials {
            Ok(settings) => settings.clone(),
            Err(reason) => return skip(reason.clone()),
        };
        let spec = &self.conformance.spec;
        let mut checked = Vec::new();
        if let Some(factory) = spec.source {
            let result = factory(&settings).and_then(|source| source.check());
            match result {
                Err(e) if e.kind() == ErrorKind::Authentication => checked.push("source"),
                Err(e) => return Err(format!("source with bad credentials gave {}", describe(&e))),
                Ok(()) => return Err("source with bad credentials passed its check".into()),
            }
        }
        if let Some(factory) = spec.target {
            let result = factory(&settings).and_then(|target| target.preflight().map(|_| ()));
            match result {
                Err(e) if e.kind() == ErrorKind::Authentication => checked.push("target"),
                Err(e) => return Err(format!("target with bad credentials gave {}", describe(&e))),
                Ok(()) => return Err("target with bad credentials passed its preflight".into()),
            }
        }
        pass(format!(
            "authentication error from {}",
            checked.join(" and ")
        ))
    }

    fn unsupported_kind_is_a_clear_error(&mut self) -> Result<Outcome, String> {
        let mut checked = Vec::new();
        let unreadable = Kind::ALL
            .into_iter()
            .find(|k| !self.capabilities.supports(*k, Operation::Read));
        if let (Some(kind), Some(source)) = (unreadable, self.source()?) {
            match source.read_page(kind, &PageRequest::default()) {
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    checked.push(format!("read {kind}"))
                }
                Err(e) => return Err(format!("reading unsupported {kind} gave {}", describe(&e))),
                Ok(_) => return Err(format!("reading undeclared {kind} succeeded")),
            }
        }
        let unwritable = Kind::ALL
            .into_iter()
            .find(|k| !self.capabilities.supports(*k, Operation::Write));
        let dataset_record =
            unwritable.and_then(|k| self.conformance.dataset.of(k).first().cloned());
        if let (Some(kind), Some(target)) = (unwritable, self.target()?) {
            let batch: Vec<WriteRequest> = dataset_record
                .into_iter()
                .map(|record| WriteRequest {
                    record,
                    existing: None,
                    children: Vec::new(),
                })
                .collect();
            match target.write_batch(kind, &batch, &self.conformance.dataset) {
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    checked.push(format!("write {kind}"))
                }
                Err(e) => return Err(format!("writing unsupported {kind} gave {}", describe(&e))),
                Ok(_) => return Err(format!("writing undeclared {kind} succeeded")),
            }
        }
        if checked.is_empty() {
            return skip("the adapter reads and writes every kind it is built as");
        }
        pass(format!("Unsupported error for {}", checked.join(", ")))
    }

    fn writes_the_dataset(&mut self) -> Result<Outcome, String> {
        if self.target()?.is_none() {
            return skip("the adapter is not a target");
        }
        self.before = self.unmarked_records()?;
        self.first_write = true;
        let mut total = 0;
        for kind in self.writable_kinds() {
            for (kind, source, target) in self.write_kind(kind, false)? {
                self.id_map.insert((kind, source), target);
                total += 1;
            }
        }
        self.first_write = false;
        if let Some(target) = self.target()? {
            target
                .finish()
                .map_err(|e| format!("finishing the run failed: {}", describe(&e)))?;
        }
        pass(format!(
            "{total} records across {} kinds",
            self.writable_kinds().len()
        ))
    }

    fn reads_back_equal_digests(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        let mut problems = Vec::new();
        let mut compared = 0;
        for kind in self.writable_kinds() {
            let Some(cap) = self.capabilities.kind(kind).cloned() else {
                continue;
            };
            if !cap.read_back {
                continue;
            }
            let expected: BTreeMap<String, Record> = self
                .conformance
                .dataset
                .of(kind)
                .iter()
                .map(|r| (r.id().to_string(), r.clone()))
                .collect();
            let mut seen = BTreeSet::new();
            for (marker, record) in self.read_back_all(kind)? {
                let Some(record) = self.unmapped(kind, record) else {
                    continue;
                };
                if marker.as_deref().is_some_and(|m| m != record.id()) {
                    problems.push(format!(
                        "{kind} '{}': source marker says '{marker:?}'",
                        record.id()
                    ));
                }
                if !seen.insert(record.id().to_string()) {
                    problems.push(format!("{kind} '{}' read back twice", record.id()));
                    continue;
                }
                if let Some(want) = expected.get(record.id()) {
                    let diffs = field_differences(want, &record, &cap.fields);
                    if !diffs.is_empty() {
                        problems.push(format!(
                            "{kind} '{}' differs: {}",
                            record.id(),
                            diffs.join("; ")
                        ));
                    }
                    compared += 1;
                }
            }
            for id in expected.keys().filter(|id| !seen.contains(*id)) {
                problems.push(format!("{kind} '{id}' missing on read-back"));
            }
        }
        if problems.is_empty() {
            pass(format!("{compared} records equal on their declared fields"))
        } else {
            Err(problems.join("\n    "))
        }
    }

    fn reads_back_attachment_bytes(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        if !self.capabilities.reads_back_attachment_content {
            return skip("the adapter declares it cannot read attachment content back");
        }
        let mut checked = 0;
        let mut problems = Vec::new();
        for kind in [Kind::Comment, Kind::KbArticle] {
            if !self.capabilities.supports(kind, Operation::ReadBack) {
                continue;
            }
            let records = self.read_back_all(kind)?;
            let target = self.target()?.ok_or("no target")?;
            for (_, record) in records {
                for attachment in record.attachments() {
                    let want = self
                        .conformance
                        .dataset
                        .of(kind)
                        .iter()
                        .flat_map(|r| r.attachments())
                        .find(|a| a.file_name == attachment.file_name && a.size == attachment.size);
                    let Some(want) = want else { continue };
                    let mut reader = target.open_attachment(attachment).map_err(|e| {
                        format!(
                            "opening '{}' failed: {}",
                            attachment.file_name,
                            describe(&e)
                        )
                    })?;
                    let (digest, size) = ContentHasher::hash_reader(&mut reader)
                        .map_err(|e| format!("reading '{}' failed: {e}", attachment.file_name))?;
                    if Some(digest.to_hex()) != want.sha256 || size != want.size {
                        problems.push(format!(
                            "'{}': {size} bytes with SHA-256 {digest}, expected {} bytes {:?}",
                            attachment.file_name, want.size, want.sha256
                        ));
                    }
                    checked += 1;
                }
            }
        }
        // Kinds that declare attachment bytes lossy (Help Scout Docs articles) are not
        // expected to bring theirs back.
        let expected = Kind::ALL
            .into_iter()
            .filter(|k| {
                self.capabilities.supports(*k, Operation::ReadBack)
                    && self
                        .capabilities
                        .kind(*k)
                        .is_some_and(|c| c.fields.contains("attachments.sha256"))
            })
            .flat_map(|k| {
                self.conformance
                    .dataset
                    .of(k)
                    .iter()
                    .flat_map(|r| r.attachments())
            })
            .count();
        if checked < expected {
            problems.push(format!(
                "only {checked} of {expected} attachments came back"
            ));
        }
        if problems.is_empty() {
            pass(format!(
                "{checked} attachments byte-identical (0 bytes to 3 MB)"
            ))
        } else {
            Err(problems.join("; "))
        }
    }

    fn source_reads_every_kind(&mut self) -> Result<Outcome, String> {
        if self.source()?.is_none() {
            return skip("the adapter is not a source");
        }
        let mut problems = Vec::new();
        let mut total = 0;
        let readable: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| k.is_streamed() && self.capabilities.supports(*k, Operation::Read))
            .collect();
        for kind in &readable {
            let kind = *kind;
            let mut seen = BTreeSet::new();
            let mut request = PageRequest {
                page_size: Some(2),
                ..Default::default()
            };
            let mut pages = 0;
            loop {
                // A fresh source per page: cursors must survive a restart.
                let source = self.source()?.ok_or("no source")?;
                let page = source
                    .read_page(kind, &request)
                    .map_err(|e| format!("reading {kind} failed: {}", describe(&e)))?;
                pages += 1;
                for record in page.records {
                    if record.kind() != kind {
                        problems.push(format!("reading {kind} returned a {}", record.kind()));
                        continue;
                    }
                    if !seen.insert(record.id().to_string()) {
                        problems.push(format!("{kind} '{}' returned twice", record.id()));
                    }
                    total += 1;
                    if let Some(mut mine) = self.unmapped(kind, record) {
                        // Bytes are hashed on their way out, as the engine does; a hash the
                        // source states must match them.
                        for attachment in mine.attachments_mut().into_iter().flatten() {
                            let mut reader = source.open_attachment(attachment).map_err(|e| {
                                format!(
                                    "opening attachment '{}' failed: {}",
                                    attachment.file_name,
                                    describe(&e)
                                )
                            })?;
                            let (digest, size) = ContentHasher::hash_reader(&mut reader)
                                .map_err(|e| format!("reading attachment failed: {e}"))?;
                            if attachment
                                .sha256
                                .as_deref()
                                .is_some_and(|s| s != digest.to_hex())
                            {
                                problems.push(format!(
                                    "attachment '{}' hashes to {digest}, but the record says {:?}",
                                    attachment.file_name, attachment.sha256
                                ));
                            }
                            if attachment.sha256.is_none() {
                                attachment.sha256 = Some(digest.to_hex());
                                attachment.size = size;
                            }
                        }
                        let want = self
                            .conformance
                            .dataset
                            .of(kind)
                            .iter()
                            .find(|r| r.id() == mine.id());
                        let fields = self
                            .capabilities
                            .kind(kind)
                            .map(|c| c.fields.clone())
                            .unwrap_or_default();
                        if let Some(want) = want {
                            let diffs = field_differences(want, &mine, &fields);
                            if !diffs.is_empty() {
                                problems.push(format!(
                                    "{kind} '{}' read differs: {}",
                                    mine.id(),
                                    diffs.join("; ")
                                ));
                            }
                        }
                    }
                }
                match page.next {
                    Some(next) => request.cursor = Some(next),
                    None => break,
                }
                if pages > 100_000 {
                    return Err(format!("reading {kind} never reached the last page"));
                }
            }
            let written: Vec<&String> = self
                .id_map
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|(_, target)| target)
                .collect();
            for target_id in written {
                if !seen.contains(target_id) {
                    problems.push(format!(
                        "{kind} '{target_id}' written but not read by the source"
                    ));
                }
            }
            if let Ok(Some(count)) = self.source()?.ok_or("no source")?.count(kind)
                && count != seen.len() as u64
            {
                problems.push(format!(
                    "{kind}: count() says {count}, reading found {}",
                    seen.len()
                ));
            }
        }
        if problems.is_empty() {
            pass(format!(
                "{total} records across {} kinds, 2 per page, a new source per page",
                readable.len()
            ))
        } else {
            Err(problems.join("\n    "))
        }
    }

    fn incremental_read(&mut self) -> Result<Outcome, String> {
        let Some(source) = self.source()? else {
            return skip("the adapter is not a source");
        };
        let Some(kind) = Kind::ALL
            .into_iter()
            .find(|k| k.is_streamed() && self.capabilities.supports(*k, Operation::Incremental))
        else {
            return skip("the adapter declares no incremental kind");
        };
        let future = "2999-01-01T00:00:00Z".parse().ok();
        let mut request = PageRequest {
            changed_since: future,
            ..Default::default()
        };
        loop {
            let page = source
                .read_page(kind, &request)
                .map_err(|e| format!("incremental read of {kind} failed: {}", describe(&e)))?;
            if let Some(r) = page.records.iter().find(|r| r.changed_at().is_some()) {
                return Err(format!(
                    "{kind} '{}' changed at {:?} was returned for changes since 2999",
                    r.id(),
                    r.changed_at()
                ));
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        pass(format!(
            "nothing older than the cursor came back for {kind}"
        ))
    }

    fn writing_again_creates_no_duplicates(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        let mut problems = Vec::new();
        for kind in self.writable_kinds() {
            for (kind, source, target) in self.write_kind(kind, false)? {
                let first = self.id_map.get(&(kind, source.clone()));
                if first != Some(&target) {
                    problems.push(format!("{kind} '{source}' written again got target id '{target}', first '{first:?}'"));
                }
            }
            if self.capabilities.supports(kind, Operation::ReadBack) {
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                for (_, record) in self.read_back_all(kind)? {
                    if let Some(record) = self.unmapped(kind, record) {
                        *counts.entry(record.id().to_string()).or_default() += 1;
                    }
                }
                for (id, n) in counts.into_iter().filter(|(_, n)| *n > 1) {
                    problems.push(format!("{kind} '{id}' is on the target {n} times"));
                }
            }
        }
        if problems.is_empty() {
            pass("every record written twice is on the target once")
        } else {
            Err(problems.join("; "))
        }
    }

    /// A new source record whose name is taken on the target by a record this migration
    /// wrote for another source record (two source groups named alike) is refused with a
    /// reason or written as a record of its own: it never takes the other record over,
    /// whose marker must still find it.
    fn name_collision_never_takes_over(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        let target = self.target()?.ok_or("the target was not built")?;
        let mut problems = Vec::new();
        let mut checked = Vec::new();
        for kind in [Kind::Group, Kind::Organization, Kind::User] {
            if !self.capabilities.supports(kind, Operation::Write) {
                continue;
            }
            if self.capabilities.kind(kind).is_some_and(|c| c.matched_only) {
                // Matched by name and never marked: records of one name share the
                // target's record by design, and there is no marker to take over.
                checked.push(format!("{kind} (matched by name, skipped)"));
                continue;
            }
            // Users collide by e-mail: an end user's (agents are matched to the seats
            // the target has, and some targets never create them).
            let Some(original) = self.mapped(kind).into_iter().find(|r| match r {
                Record::User(u) => {
                    u.role == UserRole::EndUser && u.email.as_deref().is_some_and(|e| !e.is_empty())
                }
                _ => true,
            }) else {
                continue;
            };
            let original_id = original.id().to_string();
            let Some(original_target) = self.id_map.get(&(kind, original_id.clone())).cloned()
            else {
                continue;
            };
            let mut twin = original;
            *twin.id_mut() = format!("{original_id}-twin");
            let twin_id = twin.id().to_string();
            let outcome = target.write_batch(
                kind,
                &[WriteRequest::create(twin)],
                &self.conformance.dataset,
            );
            match outcome.map(|mut o| o.pop().map(|o| o.result)) {
                Ok(Some(Ok(id))) if id == original_target => problems.push(format!(
                    "{kind} '{twin_id}' took over '{original_id}' (target id {id}) because their names are alike"
                )),
                Ok(Some(Ok(id))) => {
                    // A record of its own: leave the target as the later trials expect.
                    if self.capabilities.supports(kind, Operation::Delete) {
                        let _ = target.delete(kind, &[id]);
                    }
                }
                Ok(Some(Err(e))) | Err(e) if e.kind() == ErrorKind::InvalidRecord => {}
                Ok(Some(Err(e))) | Err(e) => problems.push(format!(
                    "{kind} '{twin_id}' failed without a per-record reason: {}",
                    describe(&e)
                )),
                Ok(None) => problems.push(format!("{kind} '{twin_id}' got no outcome")),
            }
            match target.find_by_source(kind, std::slice::from_ref(&original_id)) {
                Ok(found) if found.get(&original_id) == Some(&original_target) => {}
                Ok(found) => problems.push(format!(
                    "after the collision {kind} '{original_id}' is found at {:?}, not {original_target}",
                    found.get(&original_id)
                )),
                Err(e) => problems.push(format!("finding {kind} '{original_id}': {}", describe(&e))),
            }
            checked.push(kind.to_string());
        }
        if checked.is_empty() {
            return skip("the adapter writes no groups, organizations or users");
        }
        if problems.is_empty() {
            pass(format!("{} keep their records", checked.join(" and ")))
        } else {
            Err(problems.join("\n    "))
        }
    }

    fn update_in_place(&mut self) -> Result<Outcome, String> {
        let kind = Kind::Ticket;
        if !self.capabilities.supports(kind, Operation::Update)
            || !self.capabilities.supports(kind, Operation::ReadBack)
        {
            return skip("the adapter does not update and read back tickets");
        }
        let Some(target_id) = self.id_map.get(&(kind, "t-1".to_string())).cloned() else {
            return skip("ticket t-1 was not written");
        };
        let mut record = self
            .mapped(kind)
            .into_iter()
            .find(|r| r.id() == "t-1")
            .ok_or("the dataset lost ticket t-1")?;
        if let Record::Ticket(ticket) = &mut record {
            ticket.subject = "Printer still on fire (updated)".into();
        }
        let target = self.target()?.ok_or("no target")?;
        let outcomes = target
            .write_batch(
                kind,
                &[WriteRequest {
                    record,
                    existing: Some(target_id.clone()),
                    children: Vec::new(),
                }],
                &self.conformance.dataset,
            )
            .map_err(|e| format!("updating failed: {}", describe(&e)))?;
        let new_id = outcomes
            .into_iter()
            .next()
            .ok_or("no outcome")?
            .result
            .map_err(|e| format!("update refused: {}", describe(&e)))?;
        if new_id != target_id {
            return Err(format!(
                "update created '{new_id}' instead of updating '{target_id}'"
            ));
        }
        let subject = self
            .read_back_all(kind)?
            .into_iter()
            .find(|(_, r)| r.id() == target_id)
            .and_then(|(_, r)| match r {
                Record::Ticket(t) => Some(t.subject),
                _ => None,
            });
        if subject.as_deref() != Some("Printer still on fire (updated)") {
            return Err(format!("after the update the subject reads {subject:?}"));
        }
        pass("the ticket's subject changed, its target id did not")
    }

    fn find_by_source(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        let mut problems = Vec::new();
        for kind in self.writable_kinds() {
            let ids: Vec<String> = self
                .conformance
                .dataset
                .of(kind)
                .iter()
                .map(|r| r.id().to_string())
                .collect();
            let target = self.target()?.ok_or("no target")?;
            let found = match self.embedding_parent(kind) {
                Some(parent) => self.find_embedded(parent, kind)?,
                None => target
                    .find_by_source(kind, &ids)
                    .map_err(|e| format!("finding {kind} failed: {}", describe(&e)))?,
            };
            let matched_only = self.capabilities.kind(kind).is_some_and(|c| c.matched_only);
            let absent = vec!["never-written-marker".to_string()];
            let phantom = target
                .find_by_source(kind, &absent)
                .map_err(|e| format!("finding {kind} failed: {}", describe(&e)))?;
            if !phantom.is_empty() {
                problems.push(format!("{kind}: found a record for a marker never written"));
            }
            for id in ids {
                let want = self.id_map.get(&(kind, id.clone()));
                // A matched-only kind carries no marker: what is found must be right,
                // but nothing need be found.
                if matched_only && !found.contains_key(&id) {
                    continue;
                }
                if found.get(&id) != want {
                    problems.push(format!(
                        "{kind} '{id}': found {:?}, written as {want:?}",
                        found.get(&id)
                    ));
                }
            }
        }
        if problems.is_empty() {
            pass("every written record is found by its source marker")
        } else {
            Err(problems.join("; "))
        }
    }

    /// Finds every embedded child through its parent, as the engine does after a
    /// cut-off write.
    fn find_embedded(&self, parent: Kind, kind: Kind) -> Result<BTreeMap<String, String>, String> {
        let target = self.target()?.ok_or("no target")?;
        let mut found = BTreeMap::new();
        for (parent_id, children) in self.children_by_parent(parent) {
            let Some(parent_target) = self.id_map.get(&(parent, parent_id.clone())) else {
                continue;
            };
            found.extend(
                target
                    .find_embedded(parent, parent_target, &children)
                    .map_err(|e| {
                        format!(
                            "finding {kind} inside {parent} '{parent_id}' failed: {}",
                            describe(&e)
                        )
                    })?,
            );
        }
        Ok(found)
    }

    fn delete_removes(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        let mut problems = Vec::new();
        let mut deleted = 0;
        let mut kinds = self.writable_kinds();
        kinds.reverse();
        let mut skipped = Vec::new();
        for kind in kinds {
            if !self.capabilities.supports(kind, Operation::Delete) {
                skipped.push(kind.as_str());
                continue;
            }
            // As a rollback does: what the write adopted is given back, not deleted.
            let (adopted, ids): (Vec<String>, Vec<String>) = self
                .id_map
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|(_, t)| t.clone())
                .partition(|t| self.adopted.contains_key(&(kind, t.clone())));
            let target = self.target()?.ok_or("no target")?;
            for id in &adopted {
                if let Some(had) = self.adopted.get(&(kind, id.clone()))
                    && let Err(e) = target.release(kind, id, had)
                {
                    problems.push(format!(
                        "adopted {kind} '{id}' not given back: {}",
                        describe(&e)
                    ));
                }
            }
            let results = target
                .delete(kind, &ids)
                .map_err(|e| format!("deleting {kind} failed: {}", describe(&e)))?;
            for (id, result) in ids.iter().zip(results) {
                match result {
                    Ok(()) => deleted += 1,
                    Err(e) => problems.push(format!("{kind} '{id}' not deleted: {}", describe(&e))),
                }
            }
            let sources: Vec<String> = self
                .conformance
                .dataset
                .of(kind)
                .iter()
                .map(|r| r.id().to_string())
                .collect();
            let left = target
                .find_by_source(kind, &sources)
                .map_err(|e| format!("finding {kind} failed: {}", describe(&e)))?;
            // Adopted records were given back: their marker is gone, they stay.
            if !left.is_empty() {
                problems.push(format!(
                    "{kind}: still found after delete: {:?}",
                    left.keys().collect::<Vec<_>>()
                ));
            }
            if self.capabilities.supports(kind, Operation::ReadBack) {
                // Records a matched-only kind matched (no marker) were never created,
                // so they stay.
                let matched_only = self.capabilities.kind(kind).is_some_and(|c| c.matched_only);
                let still = self
                    .read_back_all(kind)?
                    .into_iter()
                    .filter(|(marker, r)| {
                        ids.contains(&r.id().to_string()) && (!matched_only || marker.is_some())
                    })
                    .count();
                if still > 0 {
                    problems.push(format!("{kind}: {still} deleted records still read back"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let note = if skipped.is_empty() {
            String::new()
        } else {
            format!("; not deletable: {}", skipped.join(", "))
        };
        let given_back = if self.adopted.is_empty() {
            String::new()
        } else {
            format!(", {} adopted records given back", self.adopted.len())
        };
        pass(format!("{deleted} records deleted{given_back}{note}"))
    }

    /// Every record the target read back without a source marker, per kind and target
    /// id, as JSON without its change times: what the target held before the migration.
    fn unmarked_records(&self) -> Result<BTreeMap<(Kind, String), serde_json::Value>, String> {
        let mut records = BTreeMap::new();
        for kind in self.writable_kinds() {
            if !self.capabilities.supports(kind, Operation::ReadBack) {
                continue;
            }
            for (marker, record) in self.read_back_all(kind)? {
                if marker.is_none() {
                    let mut json = serde_json::to_value(&record)
                        .map_err(|e| format!("{kind} '{}' as JSON: {e}", record.id()))?;
                    if let Some(map) = json.as_object_mut() {
                        map.remove("updated_at");
                    }
                    records.insert((kind, record.id().to_string()), json);
                }
            }
        }
        Ok(records)
    }

    /// The target held records before the first write (a live account): after the
    /// writes, the updates, the collisions and the rollback of the trials before, each
    /// is still there, unchanged but for its change time, adopted ones included.
    fn records_already_there_survive(&mut self) -> Result<Outcome, String> {
        if self.id_map.is_empty() {
            return skip("nothing was written (the adapter is not a target)");
        }
        if self.before.is_empty() {
            return skip(
                "the target held nothing before the migration (test it against a live, seeded account)",
            );
        }
        let after = self.unmarked_records()?;
        let mut problems = Vec::new();
        for ((kind, id), had) in &self.before {
            match after.get(&(*kind, id.clone())) {
                None => problems.push(format!("{kind} '{id}', on the target before, is gone")),
                Some(now) if now != had => {
                    problems.push(format!("{kind} '{id}' changed: before {had}, after {now}"))
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            pass(format!(
                "{} records the target had are there as they were ({} of them adopted and given back)",
                self.before.len(),
                self.adopted.len()
            ))
        } else {
            Err(problems.join("\n    "))
        }
    }
}
