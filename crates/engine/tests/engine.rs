//! The engine end to end over archives and a fault-injecting target.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use switchover_adapter::{
    AdapterError, Capabilities, ContentSource, PageRequest, ReadBackPage, Source, Target,
    TargetInfo, WriteOutcome, WriteRequest,
};
use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{
    COMMENTS_PER_SAMPLE, Cancel, FieldFate, Options, RunSummary, SampleOutcome, Silent,
    VerifyReport, dry_run, migrate, retry_failed, rollback, verify,
};
use switchover_model::{Comment, Entity, Kind, Record, Ref, Ticket, TicketStatus};
use switchover_testkit::Dataset;
use switchover_testkit::wrap::{Wrap, Wrapped};

/// Writes the conformance dataset plus `extra_tickets` generated tickets (each with two
/// comments) into a new archive at `path`.
fn seed(path: &Path, extra_tickets: usize) {
    let dataset = Dataset::conformance();
    let archive = Archive::open_target(path).expect("open seed archive");
    dataset.seed(&archive, &dataset).expect("seed");
    let mut tickets = Vec::new();
    let mut comments = Vec::new();
    for i in 0..extra_tickets {
        tickets.push(WriteRequest {
            record: Ticket {
                id: format!("gen-{i:05}"),
                subject: format!("Generated ticket {i} — ü"),
                status: TicketStatus::Open,
                requester: Some(Ref::new("u-alice")),
                created_at: "2024-01-01T00:00:00Z".parse().ok(),
                updated_at: "2024-01-02T00:00:00Z".parse().ok(),
                ..Default::default()
            }
            .into_record(),
            existing: None,
            children: Vec::new(),
        });
        for c in 0..2 {
            comments.push(WriteRequest {
                record: Comment {
                    id: format!("gen-{i:05}-c{c}"),
                    ticket: Ref::new(format!("gen-{i:05}")),
                    author: Some(Ref::new(if c == 0 { "u-alice" } else { "u-agent" })),
                    public: c == 0,
                    body_text: format!("comment {c} on {i}"),
                    created_at: "2024-01-01T00:00:00Z".parse().ok(),
                    ..Default::default()
                }
                .into_record(),
                existing: None,
                children: Vec::new(),
            });
        }
    }
    for chunk in tickets.chunks(500) {
        archive
            .write_batch(Kind::Ticket, chunk, &dataset)
            .expect("seed tickets");
    }
    for chunk in comments.chunks(500) {
        archive
            .write_batch(Kind::Comment, chunk, &dataset)
            .expect("seed comments");
    }
}

fn test_options() -> Options {
    Options {
        backoff: Duration::from_millis(5),
        batch_size: Some(25),
        page_size: Some(60),
        ..Options::default()
    }
}

fn live_ids(path: &Path, kind: Kind) -> Vec<String> {
    let archive = Archive::open_source(path).expect("open archive");
    let mut ids = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = archive.read_page(kind, &request).expect("read");
        ids.extend(page.records.iter().map(|r| r.id().to_string()));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return ids,
        }
    }
}

fn superseded_lines(path: &Path) -> u64 {
    Archive::open_source(path)
        .expect("open")
        .manifest()
        .expect("manifest")
        .kinds
        .values()
        .map(|k| k.superseded)
        .sum()
}

#[test]
fn archive_to_archive_migration_verifies_all_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 300);
    let source = Archive::open_source(&src).expect("source");
    let target = Archive::open_target(&dst).expect("target");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert_eq!(summary.mode, "full");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(summary.kinds[&Kind::Ticket].created, 304);
    assert_eq!(summary.kinds[&Kind::Comment].created, 606);
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
    assert_eq!(report.kinds[&Kind::Comment].matched, 606);
    assert_eq!(report.kinds[&Kind::Comment].attachments_checked, 4);
    assert_eq!(report.kinds[&Kind::KbArticle].attachments_checked, 1);
    assert_eq!(report.source_manifest, report.target_manifest);

    // A second run finds everything unchanged and writes nothing.
    let again = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("again");
    assert_eq!(again.mode, "delta");
    assert_eq!(again.totals().created + again.totals().updated, 0);
    // Lines are superseded only by the second writes that completed forward links.
    let relinked = summary.totals().relinked;
    assert!(relinked > 0, "the dataset has tickets linking forward");
    assert_eq!(
        superseded_lines(&dst),
        relinked,
        "a record was written twice"
    );
}

#[test]
fn verify_notices_a_record_changed_on_the_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 10);
    let source = Archive::open_source(&src).expect("source");
    let target = Archive::open_target(&dst).expect("target");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    // Someone edits a ticket on the target behind the migration's back.
    let mut ticket = source
        .read_page(Kind::Ticket, &PageRequest::default())
        .expect("read")
        .records
        .remove(0);
    if let Record::Ticket(t) = &mut ticket {
        t.subject = "edited on the target".into();
    }
    let id = ticket.id().to_string();
    target
        .write_batch(
            Kind::Ticket,
            &[WriteRequest {
                record: ticket,
                existing: None,
                children: Vec::new(),
            }],
            &Dataset::conformance(),
        )
        .expect("edit");
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(!report.all_matched());
    assert_eq!(
        report.kinds[&Kind::Ticket].differing,
        [switchover_engine::DifferingRecord {
            source_id: id,
            fields: vec!["subject".into()],
        }]
    );
    assert_ne!(report.source_manifest, report.target_manifest);
}

/// The proof is computed from the source: a migration that left records behind (refused,
/// or added to the source after the run) is not certified, and each missing record says
/// why; a change in the source since the migration shows as a difference.
#[test]
fn verify_reads_the_source_and_names_every_record_that_did_not_arrive() {
    use switchover_engine::MissingReason;
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 20);
    let source = Archive::open_source(&src).expect("source");
    let target = Wrapped(Flaky {
        inner: Archive::open_target(&dst).expect("target"),
        calls: AtomicU64::new(0),
        faults: AtomicBool::new(false),
        refuse: Mutex::new(HashSet::new()),
    });
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let error = verify(&source, &target, &mut state, &Kind::ALL, &Silent)
        .expect_err("verify before any migration");
    assert!(
        error.to_string().contains("no migration has run"),
        "{error}"
    );

    // Refuse one ticket (and so its two comments), with no other fault.
    target
        .refuse
        .lock()
        .expect("lock")
        .insert("gen-00003".into());
    target.faults.store(true, Ordering::SeqCst);
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    );
    target.faults.store(false, Ordering::SeqCst);
    let summary = summary.expect("migrate");
    assert!(!summary.failures.is_empty());
    drop(source);

    // After the run the source gains a ticket and changes another.
    {
        let archive = Archive::open_target(&src).expect("reopen source");
        let mut late = Ticket {
            id: "gen-late".into(),
            subject: "Arrived after the migration".into(),
            status: TicketStatus::New,
            requester: Some(Ref::new("u-alice")),
            ..Default::default()
        };
        let changed = Ticket {
            id: "gen-00005".into(),
            subject: "Renamed in the source".into(),
            ..late.clone()
        };
        late.created_at = "2024-05-01T00:00:00Z".parse().ok();
        archive
            .write_batch(
                Kind::Ticket,
                &[
                    WriteRequest::create(late.into_record()),
                    WriteRequest::create(changed.into_record()),
                ],
                &Dataset::conformance(),
            )
            .expect("change the source");
        Target::finish(&archive).expect("seal");
    }
    let source = Archive::open_source(&src).expect("source");
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(
        !report.all_matched(),
        "an incomplete migration is not certified"
    );
    let tickets = &report.kinds[&Kind::Ticket];
    assert_eq!(
        tickets.source_records, 25,
        "20 generated, 4 of the dataset, 1 new"
    );
    let missing: BTreeMap<&str, MissingReason> = tickets
        .missing_records
        .iter()
        .map(|m| (m.source_id.as_str(), m.reason))
        .collect();
    assert_eq!(
        missing.get("gen-00003"),
        Some(&MissingReason::Failed),
        "{missing:?}"
    );
    assert_eq!(
        missing.get("gen-late"),
        Some(&MissingReason::NeverAttempted),
        "{missing:?}"
    );
    let refused = tickets
        .missing_records
        .iter()
        .find(|m| m.source_id == "gen-00003")
        .and_then(|m| m.error.clone())
        .unwrap_or_default();
    assert!(
        refused.contains("too long"),
        "the refusal's error: {refused}"
    );
    assert_eq!(
        tickets.missing,
        tickets.missing_by_reason.values().sum::<u64>()
    );
    assert!(
        tickets
            .differing
            .iter()
            .any(|d| d.source_id == "gen-00005" && d.fields.contains(&"subject".to_string())),
        "{:?}",
        tickets.differing
    );
    let comments = &report.kinds[&Kind::Comment];
    assert_eq!(
        comments.missing_by_reason.get(&MissingReason::Failed),
        Some(&2),
        "both comments of the refused ticket: {:?}",
        comments.missing_records
    );
    assert_ne!(tickets.source_root, tickets.target_root);
    assert_ne!(report.source_manifest, report.target_manifest);
}

/// An archive target that fails like a SaaS does: batches that land but whose answer is
/// lost (503 after the write), 429s with Retry-After, and records it refuses.
struct Flaky {
    inner: Archive,
    calls: AtomicU64,
    faults: AtomicBool,
    refuse: Mutex<HashSet<String>>,
}

impl Wrap for Flaky {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.inner
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = TargetInfo::capabilities(&self.inner);
        caps.adapter = "flaky".into();
        caps
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let faults = self.faults.load(Ordering::SeqCst);
        if faults && call % 5 == 1 {
            return Err(AdapterError::RateLimited {
                adapter: "flaky".into(),
                retry_after: Some(Duration::from_millis(20)),
            });
        }
        let refuse = self.refuse.lock().expect("lock").clone();
        let allowed: Vec<WriteRequest> = batch
            .iter()
            .filter(|r| !faults || !refuse.contains(r.record.id()))
            .cloned()
            .collect();
        let mut outcomes = self.inner.write_batch(kind, &allowed, content)?;
        if faults && call % 4 == 2 {
            // The write landed, the answer did not.
            return Err(AdapterError::Transient {
                adapter: "flaky".into(),
                message: "503 after write".into(),
            });
        }
        for request in batch
            .iter()
            .filter(|r| faults && refuse.contains(r.record.id()))
        {
            outcomes.push(WriteOutcome {
                source_id: request.record.id().to_string(),
                result: Err(AdapterError::InvalidRecord {
                    adapter: "flaky".into(),
                    kind,
                    id: request.record.id().to_string(),
                    field: "subject".into(),
                    reason: "is too long for this plan".into(),
                }),
                children: Vec::new(),
                adopted: None,
            });
        }
        Ok(outcomes)
    }
}

#[test]
fn faults_are_survived_rejections_reported_and_retry_failed_fixes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 200);
    let source = Archive::open_source(&src).expect("source");
    let refused: HashSet<String> = ["gen-00007", "gen-00150", "t-2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let target = Wrapped(Flaky {
        inner: Archive::open_target(&dst).expect("target"),
        calls: AtomicU64::new(0),
        faults: AtomicBool::new(true),
        refuse: Mutex::new(refused.clone()),
    });
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("the run completes despite faults");
    let mut refused = refused;
    // t-1 links to the refused t-2: its link cannot be completed, and it says so.
    refused.insert("t-1".to_string());
    let failed: HashSet<String> = summary
        .failures
        .iter()
        .filter(|f| f.kind == Kind::Ticket)
        .map(|f| f.source_id.clone())
        .collect();
    assert_eq!(failed, refused, "exactly the refused tickets are reported");
    assert!(
        summary
            .failures
            .iter()
            .any(|f| f.message.contains("too long"))
    );
    // Comments of refused tickets cannot be placed either, and say why.
    assert!(
        summary
            .failures
            .iter()
            .any(|f| f.kind == Kind::Comment && f.error_kind == "unresolved_reference")
    );
    assert_eq!(
        superseded_lines(&dst),
        summary.totals().relinked,
        "a lost answer made the engine write a record twice"
    );

    target.faults.store(false, Ordering::SeqCst);
    let retried = retry_failed(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("retry");
    assert!(retried.failures.is_empty(), "{:?}", retried.failures);
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
    assert_eq!(report.kinds[&Kind::Ticket].matched, 204);
}

#[test]
fn delta_run_moves_exactly_what_changed_added_and_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 50);
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    {
        let source = Archive::open_source(&src).expect("source");
        let target = Archive::open_target(&dst).expect("target");
        migrate(
            &source,
            &target,
            &mut state,
            &test_options(),
            &Silent,
            &Cancel::new(),
        )
        .expect("full run");
    }
    {
        // The helpdesk keeps living: one ticket changes, one appears, one is deleted.
        let live = Archive::open_target(&src).expect("source as writer");
        let mut changed = Archive::open_source(&src)
            .expect("read")
            .read_page(Kind::Ticket, &PageRequest::default())
            .expect("read")
            .records
            .into_iter()
            .find(|r| r.id() == "gen-00003")
            .expect("ticket");
        if let Record::Ticket(t) = &mut changed {
            t.status = TicketStatus::Solved;
        }
        let added = Ticket {
            id: "gen-new".into(),
            subject: "New since Friday".into(),
            ..Default::default()
        }
        .into_record();
        let dataset = Dataset::conformance();
        live.write_batch(
            Kind::Ticket,
            &[
                WriteRequest {
                    record: changed,
                    existing: None,
                    children: Vec::new(),
                },
                WriteRequest {
                    record: added,
                    existing: None,
                    children: Vec::new(),
                },
            ],
            &dataset,
        )
        .expect("change");
        live.delete(Kind::Comment, &["gen-00009-c1".to_string()])
            .expect("delete");
    }
    let source = Archive::open_source(&src).expect("source");
    let target = Archive::open_target(&dst).expect("target");
    let delta = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("delta");
    assert_eq!(delta.mode, "delta");
    let tickets = delta.kinds[&Kind::Ticket];
    assert_eq!(
        (tickets.created, tickets.updated, tickets.deleted),
        (1, 1, 0)
    );
    assert_eq!(tickets.unchanged, 53);
    let comments = delta.kinds[&Kind::Comment];
    assert_eq!(
        (comments.created, comments.updated, comments.deleted),
        (0, 0, 1)
    );
    assert!(!live_ids(&dst, Kind::Comment).contains(&"gen-00009-c1".to_string()));
    assert!(live_ids(&dst, Kind::Ticket).contains(&"gen-new".to_string()));
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
}

#[test]
fn rollback_leaves_the_target_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 20);
    let target = Archive::open_target(&dst).expect("target");
    // The target already holds the customer's own records.
    let own = switchover_model::Organization {
        id: "customer-own".into(),
        name: "Already here".into(),
        ..Default::default()
    };
    target
        .write_batch(
            Kind::Organization,
            &[WriteRequest {
                record: own.into_record(),
                existing: None,
                children: Vec::new(),
            }],
            &Dataset::conformance(),
        )
        .expect("own");
    let before: Vec<(Kind, Vec<String>)> = Kind::ALL
        .iter()
        .filter(|k| k.is_streamed())
        .map(|k| (*k, live_ids(&dst, *k)))
        .collect();

    let source = Archive::open_source(&src).expect("source");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(live_ids(&dst, Kind::Ticket).len() > 20);
    let summary = rollback(&target, &mut state, &Silent).expect("rollback");
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let after: Vec<(Kind, Vec<String>)> = Kind::ALL
        .iter()
        .filter(|k| k.is_streamed())
        .map(|k| (*k, live_ids(&dst, *k)))
        .collect();
    assert_eq!(before, after);
}

/// A target that, like every SaaS, gives records ids of its own ("T:" + source id).
struct Renaming(Archive);

fn renamed(id: &str) -> String {
    format!("T:{id}")
}

impl Wrap for Renaming {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.0
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = TargetInfo::capabilities(&self.0);
        caps.adapter = "renaming".into();
        caps
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let mut outcomes = self.0.write_batch(kind, batch, content)?;
        for outcome in &mut outcomes {
            if let Ok(id) = &outcome.result {
                outcome.result = Ok(renamed(id));
            }
        }
        Ok(outcomes)
    }
    fn find_by_source(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        Ok(self
            .0
            .find_by_source(kind, ids)?
            .into_iter()
            .map(|(s, t)| (s, renamed(&t)))
            .collect())
    }
    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        let mut page = self.0.read_back(kind, request)?;
        for read in &mut page.records {
            let id = renamed(read.record.id());
            *read.record.id_mut() = id;
        }
        Ok(page)
    }
    fn delete(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        let stripped: Vec<String> = ids
            .iter()
            .map(|i| i.trim_start_matches("T:").to_string())
            .collect();
        self.0.delete(kind, &stripped)
    }
}

/// Tickets link forward to tickets written later: the first write cannot know their
/// target ids, so the engine completes the links once they exist instead of leaving
/// source ids (which, on a real target, point at unrelated records).
#[test]
fn forward_links_are_completed_with_target_ids_once_the_linked_records_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 0);
    let source = Archive::open_source(&src).expect("source");
    let target = Wrapped(Renaming(Archive::open_target(&dst).expect("target")));
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let options = Options {
        batch_size: Some(1),
        ..test_options()
    };
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let stored = Archive::open_source(&dst).expect("stored");
    let tickets = stored
        .read_page(Kind::Ticket, &PageRequest::default())
        .expect("read")
        .records;
    let links_of = |id: &str| -> Vec<String> {
        tickets
            .iter()
            .find(|r| r.id() == id)
            .and_then(|r| match r {
                Record::Ticket(t) => {
                    Some(t.links.iter().map(|l| l.ticket.id().to_string()).collect())
                }
                _ => None,
            })
            .unwrap_or_default()
    };
    assert_eq!(links_of("t-1"), ["T:t-2"]);
    assert_eq!(links_of("t-2"), ["T:t-3"]);
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
}

/// A target whose credentials are revoked mid-run: authentication fails after a few batches.
struct Revoked {
    inner: Archive,
    batches: AtomicU64,
}

impl Wrap for Revoked {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.inner
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        if self.batches.fetch_add(1, Ordering::SeqCst) >= 12 {
            return Err(AdapterError::Authentication {
                adapter: "revoked".into(),
                message: "token revoked".into(),
            });
        }
        self.inner.write_batch(kind, batch, content)
    }
}

/// Regression: a fatal error while the reader thread waited to hand over the next page
/// used to deadlock the run instead of stopping it.
#[test]
fn authentication_failure_mid_run_stops_the_run_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 400);
    let (tx, rx) = std::sync::mpsc::channel();
    let state_path = dir.path().join("state.sqlite");
    std::thread::spawn(move || {
        let source = Archive::open_source(&src).expect("source");
        let target = Wrapped(Revoked {
            inner: Archive::open_target(&dst).expect("target"),
            batches: AtomicU64::new(0),
        });
        let mut state = StateStore::open(&state_path).expect("state");
        let result = migrate(
            &source,
            &target,
            &mut state,
            &test_options(),
            &Silent,
            &Cancel::new(),
        );
        let _ = tx.send(result.err().map(|e| (e.is_authentication(), e.to_string())));
    });
    let outcome = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the run stopped instead of hanging");
    let (is_auth, message) = outcome.expect("the run must fail");
    assert!(is_auth, "{message}");
    assert!(message.contains("token revoked"), "{message}");
}

/// An archive as a narrower target declares itself: tickets' tags kept only as one
/// label, their channel not kept at all, attachments up to 1 MiB.
struct Labelling(Archive);

impl Wrap for Labelling {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.0
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = TargetInfo::capabilities(&self.0);
        caps.adapter = "labelling".into();
        caps.max_attachment_bytes = Some(1024 * 1024);
        if let Some(ticket) = caps.kinds.get_mut(&Kind::Ticket) {
            ticket.fields.remove("tags");
            ticket.fields.remove("channel");
            ticket.lossy =
                switchover_adapter::LossyField::list(&[("tags", "joined into one label")]);
        }
        caps
    }
}

#[test]
fn a_dry_run_shows_sample_tickets_field_by_field_with_their_comments_and_outcomes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    seed(&src, 10);
    let source = Archive::open_source(&src).expect("source");
    let target = Wrapped(Labelling(
        Archive::open_target(&dir.path().join("dst")).expect("target"),
    ));
    let dataset = Dataset::conformance();
    let comments_of = |ticket: &str| -> usize {
        if ticket.starts_with("gen-") {
            return 2;
        }
        dataset
            .of(Kind::Comment)
            .iter()
            .filter(|c| c.parent().map(|(_, p)| p) == Some(ticket))
            .count()
    };

    let report = dry_run(
        &source,
        &target,
        &test_options(),
        None,
        &Silent,
        &Cancel::new(),
    )
    .expect("dry run");
    assert_eq!(report.samples.len(), Options::default().samples);
    for sample in &report.samples {
        let fate = |field: &str| {
            sample
                .ticket
                .fields
                .iter()
                .find(|f| f.field == field)
                .map(|f| f.target.clone())
                .unwrap_or_else(|| panic!("no {field} in {}", sample.ticket.source_id))
        };
        assert_eq!(
            fate("tags"),
            FieldFate::Altered {
                how: "joined into one label".into()
            }
        );
        assert!(matches!(fate("channel"), FieldFate::Dropped { .. }));
        assert_eq!(fate("subject"), FieldFate::Kept);
        assert_eq!(fate("status"), FieldFate::Kept);
        assert_eq!(sample.ticket.outcome, SampleOutcome::WouldBeCreated);
        // Comments attached to their own ticket, all of them up to the cap, oldest first.
        let id = sample.ticket.source_id.as_str();
        assert_eq!(
            sample.comments.len(),
            comments_of(id).min(COMMENTS_PER_SAMPLE),
            "comments of {id}"
        );
        assert!(
            sample
                .comments
                .iter()
                .all(|c| c.record.parent().map(|(_, p)| p) == Some(id))
        );
        for comment in &sample.comments {
            assert!(comment.fields.iter().any(|f| f.field == "body_text"
                && f.target == FieldFate::Kept
                && f.value.is_string()));
        }
    }

    // The JSON form holds fates and outcomes, never the values read.
    let json = serde_json::to_string(&report).expect("json");
    assert!(json.contains("\"fate\":\"altered\""), "{json}");
    for sample in &report.samples {
        let subject = match &sample.ticket.record {
            switchover_model::Record::Ticket(t) => t.subject.clone(),
            _ => panic!("not a ticket"),
        };
        assert!(
            !json.contains(&subject),
            "JSON shows the subject {subject:?}"
        );
    }

    // Every ticket sampled: the comment with a 3 MiB attachment would fail, and says why.
    let all = dry_run(
        &source,
        &target,
        &Options {
            samples: 100,
            ..test_options()
        },
        None,
        &Silent,
        &Cancel::new(),
    )
    .expect("dry run");
    assert_eq!(all.samples.len(), dataset.of(Kind::Ticket).len() + 10);
    let too_big = all
        .samples
        .iter()
        .flat_map(|s| &s.comments)
        .find(|c| c.source_id == "c-1")
        .expect("c-1 sampled");
    match &too_big.outcome {
        SampleOutcome::WouldFail { reason, .. } => assert!(reason.contains("limit"), "{reason}"),
        other => panic!("c-1 would be {other:?}"),
    }

    // Samples off: none kept.
    let none = dry_run(
        &source,
        &target,
        &Options {
            samples: 0,
            ..test_options()
        },
        None,
        &Silent,
        &Cancel::new(),
    )
    .expect("dry run");
    assert!(none.samples.is_empty());

    // A live run keeps none (its summary has no place for them) and still moves.
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(!summary.interrupted);
    assert!(summary.totals().created > 0);
}

/// A source that, like every SaaS, states no SHA-256 for its attachments: their bytes
/// are hashed only as they are downloaded.
struct Unhashed(Archive);

impl Source for Unhashed {
    fn capabilities(&self) -> Capabilities {
        Source::capabilities(&self.0)
    }
    fn check(&self) -> Result<(), AdapterError> {
        self.0.check()
    }
    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        self.0.count(kind)
    }
    fn read_page(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<switchover_adapter::Page, AdapterError> {
        let mut page = self.0.read_page(kind, request)?;
        for record in &mut page.records {
            if let Some(attachments) = record.attachments_mut() {
                for a in attachments.iter_mut() {
                    a.sha256 = None;
                }
            }
        }
        Ok(page)
    }
    fn open_attachment(
        &self,
        attachment: &switchover_model::Attachment,
    ) -> Result<Box<dyn std::io::Read + Send>, AdapterError> {
        Source::open_attachment(&self.0, attachment)
    }
}

/// A target whose process dies right after the first write that `dies_on` picks lands:
/// nothing of that write is recorded but the intent.
struct DiesAfterWrite {
    inner: Archive,
    died: AtomicBool,
    dies_on: fn(Kind, &[WriteRequest]) -> bool,
}

impl Wrap for DiesAfterWrite {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.inner
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let outcomes = self.inner.write_batch(kind, batch, content)?;
        if (self.dies_on)(kind, batch) && !self.died.swap(true, Ordering::SeqCst) {
            return Err(AdapterError::fatal("dies", "killed after the write landed"));
        }
        Ok(outcomes)
    }
}

/// Migrates the conformance dataset from `source` into an archive whose process dies
/// after the write `dies_on` picks, resumes with a healthy target, and verifies: the
/// resumed run's summary and the verification.
fn die_then_resume(
    source: &dyn Source,
    dir: &Path,
    dies_on: fn(Kind, &[WriteRequest]) -> bool,
) -> (RunSummary, VerifyReport) {
    let dst = dir.join("dst");
    let state_path = dir.join("state.sqlite");
    let options = Options {
        batch_size: Some(1),
        concurrency: 1,
        ..test_options()
    };
    {
        let target = Wrapped(DiesAfterWrite {
            inner: Archive::open_target(&dst).expect("target"),
            died: AtomicBool::new(false),
            dies_on,
        });
        let mut state = StateStore::open(&state_path).expect("state");
        let killed = migrate(
            source,
            &target,
            &mut state,
            &options,
            &Silent,
            &Cancel::new(),
        );
        assert!(killed.is_err(), "the first run must die");
        assert!(
            target.0.died.load(Ordering::SeqCst),
            "the write to die after never came"
        );
    }
    let target = Archive::open_target(&dst).expect("target");
    let mut state = StateStore::open(&state_path).expect("state");
    let summary = migrate(
        source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("resume");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let report = verify(source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    (summary, report)
}

/// Regression: a comment whose write landed with attachments just before the run died
/// was reconciled by marker with a digest lacking the attachment hashes, and verify then
/// called it differing although its text and bytes were equal.
#[test]
fn a_write_with_attachments_reconciled_after_a_kill_verifies_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    seed(&src, 0);
    let source = Unhashed(Archive::open_source(&src).expect("source"));
    let (summary, report) = die_then_resume(&source, dir.path(), |kind, batch| {
        kind == Kind::Comment && batch.iter().any(|r| !r.record.attachments().is_empty())
    });
    assert!(
        summary.kinds[&Kind::Comment].reconciled >= 1,
        "the landed comment was not reconciled: {:?}",
        summary.kinds[&Kind::Comment]
    );
    let comments = &report.kinds[&Kind::Comment];
    assert!(
        comments.differing.is_empty() && report.all_matched(),
        "differing: {:?}",
        comments.differing
    );
}

/// Regression: a ticket written with its forward link left empty (t-1 links to t-2,
/// written after it) was queued for the relink only after its write's answer, so a
/// kill between the two lost the link for good: the resumed run found the ticket by
/// marker and never wrote the link.
#[test]
fn a_forward_link_whose_write_landed_before_a_kill_is_still_completed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    seed(&src, 0);
    let source = Archive::open_source(&src).expect("source");
    let (_, report) = die_then_resume(&source, dir.path(), |kind, batch| {
        kind == Kind::Ticket && batch.iter().any(|r| r.record.id() == "t-1")
    });
    let tickets = &report.kinds[&Kind::Ticket];
    assert!(
        tickets.differing.is_empty() && report.all_matched(),
        "differing: {:?}",
        tickets.differing
    );
}

/// An archive target that says which records came as proven never sent
/// ([`Target::write_new_batch`]) and which as possibly sent before, and loses its first
/// new ticket batch without writing it (a 503 before the write).
struct SaysHowSent {
    inner: Archive,
    new: Mutex<Vec<String>>,
    /// Tickets created through `write_batch`.
    again: Mutex<Vec<String>>,
    lost_one: AtomicBool,
    lost: Mutex<Vec<String>>,
    /// Records asked for by marker or where they were sent.
    looked: Mutex<Vec<String>>,
}

impl Wrap for SaysHowSent {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.inner
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let ids = batch
            .iter()
            .filter(|r| kind == Kind::Ticket && r.existing.is_none())
            .map(|r| r.record.id().to_string());
        self.again.lock().expect("lock").extend(ids);
        self.inner.write_batch(kind, batch, content)
    }
    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let ids = batch.iter().map(|r| r.record.id().to_string());
        self.new.lock().expect("lock").extend(ids);
        if kind == Kind::Ticket && !self.lost_one.swap(true, Ordering::SeqCst) {
            let ids = batch.iter().map(|r| r.record.id().to_string());
            self.lost.lock().expect("lock").extend(ids);
            return Err(AdapterError::Transient {
                adapter: "says-how-sent".into(),
                message: "503 before the write".into(),
            });
        }
        self.inner.write_new_batch(kind, batch, content)
    }
    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let ids = sent.iter().map(|r| r.record.id().to_string());
        self.looked.lock().expect("lock").extend(ids);
        self.inner.find_sent(kind, sent)
    }
    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.looked
            .lock()
            .expect("lock")
            .extend_from_slice(source_ids);
        self.inner.find_by_source(kind, source_ids)
    }
}

/// A record the state store knows nothing of goes out as never sent, so a target may
/// skip its marker lookup; a batch sent again after a lost answer goes out as possibly
/// sent, keeping the lookup that prevents duplicates, and a record a crash
/// left pending is looked for on the target before it is sent again.
#[test]
fn only_records_the_state_store_proves_unsent_skip_the_marker_lookup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 30);
    let source = Archive::open_source(&src).expect("source");
    let target = Wrapped(SaysHowSent {
        inner: Archive::open_target(&dst).expect("target"),
        new: Mutex::default(),
        again: Mutex::default(),
        lost_one: AtomicBool::new(false),
        lost: Mutex::default(),
        looked: Mutex::default(),
    });
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let new = target.0.new.lock().expect("lock").clone();
    let again = target.0.again.lock().expect("lock").clone();
    assert!(new.contains(&"gen-00029".to_string()), "{new:?}");
    // The lost batch was sent again as possibly sent, and only it.
    let lost = target.0.lost.lock().expect("lock").clone();
    assert!(!lost.is_empty(), "no ticket batch was lost");
    assert_eq!(
        again.iter().collect::<HashSet<_>>(),
        lost.iter().collect::<HashSet<_>>()
    );
    let unique: HashSet<&String> = new.iter().collect();
    assert_eq!(unique.len(), new.len(), "a record went out as new twice");

    // A ticket whose write a crash left pending is looked for before it is sent.
    drop(source);
    {
        let archive = Archive::open_target(&src).expect("reopen source");
        let late = Ticket {
            id: "gen-late".into(),
            subject: "Written when the run was killed".into(),
            requester: Some(Ref::new("u-alice")),
            ..Default::default()
        };
        archive
            .write_batch(
                Kind::Ticket,
                &[WriteRequest::create(late.into_record())],
                &Dataset::conformance(),
            )
            .expect("change the source");
        Target::finish(&archive).expect("seal");
    }
    state
        .mark_pending_records(
            Kind::Ticket,
            &[("gen-late", Default::default(), String::new())],
        )
        .expect("an intent");
    let source = Archive::open_source(&src).expect("source");
    target.0.new.lock().expect("lock").clear();
    target.0.again.lock().expect("lock").clear();
    target.0.looked.lock().expect("lock").clear();
    migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("resume");
    let late = "gen-late".to_string();
    assert!(
        target.0.looked.lock().expect("lock").contains(&late),
        "a pending record was sent without being looked for"
    );
    let sent = [target.0.new.lock(), target.0.again.lock()]
        .into_iter()
        .map(|ids| ids.expect("lock").iter().filter(|id| **id == late).count())
        .sum::<usize>();
    assert_eq!(sent, 1, "the pending record, absent, is sent once");
}

/// A source that answers each page after a round trip and notes how many page reads of
/// different kinds were under way at once.
struct SlowSource {
    inner: Archive,
    reading: Mutex<Vec<Kind>>,
    most_kinds_at_once: AtomicU64,
}

impl Source for SlowSource {
    fn capabilities(&self) -> Capabilities {
        Source::capabilities(&self.inner)
    }
    fn check(&self) -> Result<(), AdapterError> {
        Source::check(&self.inner)
    }
    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        Source::count(&self.inner, kind)
    }
    fn read_page(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<switchover_adapter::Page, AdapterError> {
        {
            let mut reading = self.reading.lock().expect("lock");
            reading.push(kind);
            let kinds: HashSet<&Kind> = reading.iter().collect();
            self.most_kinds_at_once
                .fetch_max(kinds.len() as u64, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(40));
        let page = Source::read_page(&self.inner, kind, request);
        let mut reading = self.reading.lock().expect("lock");
        if let Some(at) = reading.iter().position(|k| *k == kind) {
            reading.remove(at);
        }
        page
    }
    fn open_attachment(
        &self,
        attachment: &switchover_model::Attachment,
    ) -> Result<Box<dyn std::io::Read + Send>, AdapterError> {
        Source::open_attachment(&self.inner, attachment)
    }
}

/// Small kinds read one after another each wait a round trip: their reads begin ahead
/// of their turn, several kinds at once, and everything still arrives in order and
/// verifies.
#[test]
fn the_reads_of_later_kinds_overlap_the_kinds_before_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 40);
    let source = SlowSource {
        inner: Archive::open_source(&src).expect("source"),
        reading: Mutex::default(),
        most_kinds_at_once: AtomicU64::new(0),
    };
    let target = Archive::open_target(&dst).expect("target");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &test_options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert!(
        source.most_kinds_at_once.load(Ordering::SeqCst) >= 3,
        "kinds were read one after another"
    );
    assert_eq!(summary.kinds[&Kind::Ticket].created, 44);
    assert_eq!(summary.kinds[&Kind::Comment].created, 86);
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
}
