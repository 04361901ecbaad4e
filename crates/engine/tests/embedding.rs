//! A target that writes new tickets together with their comments (as Zendesk's Ticket
//! Import API does): the engine must hand every new ticket its comments, settle them
//! after a cut-off write without sending them twice, and write comments of tickets
//! already on the target as comments of their own.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use switchover_adapter::{
    AdapterError, Capabilities, ContentSource, PageRequest, Source, Target, TargetInfo,
    WriteOutcome, WriteRequest,
};
use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, dry_run, migrate, retry_failed, verify};
use switchover_model::{Comment, Entity, Kind, Ref, Ticket, TicketStatus};
use switchover_testkit::Dataset;
use switchover_testkit::wrap::{Wrap, Wrapped};

/// An archive that imports tickets with their comments inside, and counts comments
/// written on their own. Like Zendesk's imported comments, a comment written inside a
/// ticket carries no source marker: `find_by_source` does not see it, only
/// `find_embedded` (through its ticket) does.
struct Importing {
    inner: Archive,
    /// Comments written as records of their own (not inside a ticket).
    comments_alone: AtomicU64,
    /// Comments that arrived inside a ticket import.
    comments_inside: AtomicU64,
    /// Ticket batches written so far.
    ticket_batches: AtomicU64,
    /// After this many ticket batches, a batch lands and then the connection is lost
    /// (the answer never arrives); 0 = never.
    cut_after: AtomicU64,
    /// Whether the cut ends the process (a fatal error) or is a transient failure.
    cut_is_fatal: AtomicBool,
    /// Source ids of the comments written inside tickets (unmarked).
    imported: Mutex<HashSet<String>>,
}

impl Importing {
    fn new(inner: Archive) -> Wrapped<Self> {
        Wrapped(Importing {
            inner,
            comments_alone: AtomicU64::new(0),
            comments_inside: AtomicU64::new(0),
            ticket_batches: AtomicU64::new(0),
            cut_after: AtomicU64::new(0),
            cut_is_fatal: AtomicBool::new(false),
            imported: Mutex::new(HashSet::new()),
        })
    }
}

impl Wrap for Importing {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.inner
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = TargetInfo::capabilities(&self.inner);
        caps.adapter = "importing".into();
        if let Some(tickets) = caps.kinds.get_mut(&Kind::Ticket) {
            tickets.embeds = Some(Kind::Comment);
        }
        // A SaaS charges a request a record, where the local archive charges none.
        for capability in caps.kinds.values_mut() {
            capability.write_cost = switchover_adapter::RequestCost::default();
        }
        caps
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        if kind == Kind::Comment {
            self.comments_alone
                .fetch_add(batch.len() as u64, Ordering::SeqCst);
            return self.inner.write_batch(kind, batch, content);
        }
        if kind != Kind::Ticket {
            return self.inner.write_batch(kind, batch, content);
        }
        let parents: Vec<WriteRequest> = batch
            .iter()
            .map(|r| WriteRequest {
                children: Vec::new(),
                ..r.clone()
            })
            .collect();
        let mut outcomes = self.inner.write_batch(kind, &parents, content)?;
        for (request, outcome) in batch.iter().zip(outcomes.iter_mut()) {
            let Ok(ticket_id) = &outcome.result else {
                continue;
            };
            assert!(
                request.existing.is_none() || request.children.is_empty(),
                "children are only sent with new tickets"
            );
            let children: Vec<WriteRequest> = request
                .children
                .iter()
                .map(|child| {
                    let mut child = child.clone();
                    let parent = child.record.parent_id_mut().expect("a comment");
                    assert!(parent.is_empty(), "the parent reference arrives empty");
                    *parent = ticket_id.clone();
                    child
                })
                .collect();
            self.comments_inside
                .fetch_add(children.len() as u64, Ordering::SeqCst);
            self.imported
                .lock()
                .expect("lock")
                .extend(children.iter().map(|c| c.record.id().to_string()));
            outcome.children = self.inner.write_batch(Kind::Comment, &children, content)?;
        }
        let n = self.ticket_batches.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.cut_after.load(Ordering::SeqCst) {
            let message = "connection reset after the import was sent".to_string();
            return Err(if self.cut_is_fatal.load(Ordering::SeqCst) {
                AdapterError::Fatal {
                    adapter: "importing".into(),
                    message,
                }
            } else {
                AdapterError::Transient {
                    adapter: "importing".into(),
                    message,
                }
            });
        }
        Ok(outcomes)
    }
    fn find_by_source(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut found = self.inner.find_by_source(kind, ids)?;
        if kind == Kind::Comment {
            let imported = self.imported.lock().expect("lock");
            found.retain(|id, _| !imported.contains(id));
        }
        Ok(found)
    }
    fn find_embedded(
        &self,
        _parent_kind: Kind,
        _parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let ids: Vec<String> = children.iter().map(|c| c.record.id().to_string()).collect();
        self.inner.find_by_source(Kind::Comment, &ids)
    }
}

fn ticket(id: &str) -> WriteRequest {
    WriteRequest::create(
        Ticket {
            id: id.into(),
            subject: format!("Ticket {id}"),
            status: TicketStatus::Open,
            requester: Some(Ref::new("u-alice")),
            created_at: "2024-01-01T00:00:00Z".parse().ok(),
            ..Default::default()
        }
        .into_record(),
    )
}

fn comment(ticket: &str, n: usize, at: &str) -> WriteRequest {
    WriteRequest::create(
        Comment {
            id: format!("{ticket}-c{n}"),
            ticket: Ref::new(ticket),
            author: Some(Ref::new(if n.is_multiple_of(2) {
                "u-alice"
            } else {
                "u-agent"
            })),
            public: n % 3 != 2,
            body_text: format!("comment {n} on {ticket}"),
            created_at: at.parse().ok(),
            ..Default::default()
        }
        .into_record(),
    )
}

/// The conformance dataset plus `extra` tickets with three comments each, written
/// newest first so the source order is not time order.
fn seed(path: &Path, extra: usize) {
    let dataset = Dataset::conformance();
    {
        let archive = Archive::open_target(path).expect("open seed archive");
        dataset.seed(&archive, &dataset).expect("seed");
    }
    add(
        path,
        &(0..extra)
            .map(|i| format!("gen-{i:04}"))
            .collect::<Vec<_>>(),
    );
}

fn add(path: &Path, tickets: &[String]) {
    let dataset = Dataset::conformance();
    let archive = Archive::open_target(path).expect("open seed archive");
    let requests: Vec<WriteRequest> = tickets.iter().map(|t| ticket(t)).collect();
    let comments: Vec<WriteRequest> = tickets
        .iter()
        .flat_map(|t| {
            (0..3)
                .rev()
                .map(|n| comment(t, n, &format!("2024-01-0{}T10:00:00Z", n + 1)))
        })
        .collect();
    archive
        .write_batch(Kind::Ticket, &requests, &dataset)
        .expect("seed tickets");
    archive
        .write_batch(Kind::Comment, &comments, &dataset)
        .expect("seed comments");
    archive.finish().expect("seal");
}

fn options() -> Options {
    Options {
        backoff: Duration::from_millis(5),
        batch_size: Some(10),
        page_size: Some(40),
        ..Options::default()
    }
}

fn comment_count(path: &Path) -> (usize, usize) {
    let archive = Archive::open_source(path).expect("open");
    let mut ids = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = archive.read_page(Kind::Comment, &request).expect("read");
        ids.extend(page.records.iter().map(|r| r.id().to_string()));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    let lines = ids.len();
    ids.sort();
    ids.dedup();
    let superseded = archive
        .manifest()
        .expect("manifest")
        .kinds
        .get(Kind::Comment.as_str())
        .map(|k| k.superseded)
        .unwrap_or(0) as usize;
    (ids.len(), lines + superseded - ids.len())
}

fn verify_all(source: &Archive, target: &Wrapped<Importing>, state: &mut StateStore) {
    let report = verify(source, target, state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
}

#[test]
fn new_tickets_carry_their_comments_in_time_order_and_later_comments_go_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 50);
    let source = Archive::open_source(&src).expect("source");
    let target = Importing::new(Archive::open_target(&dst).expect("target"));
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let source_comments = comment_count(&src).0;
    assert_eq!(
        target.comments_alone.load(Ordering::SeqCst),
        0,
        "every comment of a new ticket travels inside it"
    );
    assert_eq!(
        target.comments_inside.load(Ordering::SeqCst) as usize,
        source_comments
    );
    let counts = summary.kinds[&Kind::Comment];
    assert_eq!(counts.created as usize, source_comments);
    assert_eq!(counts.unchanged, 0);
    verify_all(&source, &target, &mut state);

    // Order inside each import: the stored comments of a generated ticket are in time
    // order although the source listed them newest first.
    let stored = Archive::open_source(&dst).expect("stored");
    let order: Vec<String> = stored
        .read_page(
            Kind::Comment,
            &PageRequest {
                page_size: Some(100_000),
                ..Default::default()
            },
        )
        .expect("read")
        .records
        .iter()
        .filter(|r| r.id().starts_with("gen-0007-"))
        .map(|r| r.id().to_string())
        .collect();
    assert_eq!(order, ["gen-0007-c0", "gen-0007-c1", "gen-0007-c2"]);

    // Delta: a new comment on a ticket already there goes alone; a new ticket carries
    // its own comments.
    drop(source);
    {
        let archive = Archive::open_target(&src).expect("reopen source");
        archive
            .write_batch(
                Kind::Comment,
                &[comment("gen-0003", 7, "2024-02-01T10:00:00Z")],
                &Dataset::conformance(),
            )
            .expect("add comment");
        archive.finish().expect("seal");
    }
    add(&src, &["new-ticket".to_string()]);
    let source = Archive::open_source(&src).expect("source");
    let delta = migrate(
        &source,
        &target,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("delta");
    assert_eq!(delta.mode, "delta");
    assert!(delta.failures.is_empty(), "{:?}", delta.failures);
    assert_eq!(target.comments_alone.load(Ordering::SeqCst), 1);
    assert_eq!(
        target.comments_inside.load(Ordering::SeqCst) as usize,
        source_comments + 3
    );
    assert_eq!(delta.kinds[&Kind::Comment].created, 4);
    assert_eq!(delta.kinds[&Kind::Ticket].created, 1);
    verify_all(&source, &target, &mut state);
    let (unique, repeated) = comment_count(&dst);
    assert_eq!(unique, source_comments + 4);
    assert_eq!(repeated, 0, "a comment was written twice");
}

#[test]
fn comments_of_an_import_cut_off_are_found_not_sent_again() {
    for fatal in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        seed(&src, 40);
        let source = Archive::open_source(&src).expect("source");
        let target = Importing::new(Archive::open_target(&dst).expect("target"));
        target.cut_after.store(2, Ordering::SeqCst);
        target.cut_is_fatal.store(fatal, Ordering::SeqCst);
        let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
        let first = migrate(
            &source,
            &target,
            &mut state,
            &options(),
            &Silent,
            &Cancel::new(),
        );
        let summary = if fatal {
            assert!(first.is_err(), "a fatal error ends the run");
            // The next run (the process restarted) resumes.
            let again = migrate(
                &source,
                &target,
                &mut state,
                &options(),
                &Silent,
                &Cancel::new(),
            )
            .expect("resume");
            assert_eq!(again.mode, "resumed");
            again
        } else {
            first.expect("a transient error is retried")
        };
        assert!(summary.failures.is_empty(), "{:?}", summary.failures);
        assert!(summary.kinds[&Kind::Comment].reconciled > 0, "{summary:#?}");
        assert_eq!(
            target.comments_alone.load(Ordering::SeqCst),
            0,
            "comments of the cut-off import were sent again on their own"
        );
        let source_comments = comment_count(&src).0;
        let (unique, repeated) = comment_count(&dst);
        assert_eq!(unique, source_comments);
        assert_eq!(repeated, 0, "a comment was written twice");
        verify_all(&source, &target, &mut state);
    }
}

/// A batch whose every attempt failed after the import had landed: the run ends with
/// the tickets' outcome unknown and their comments waiting. Neither `retry-failed` nor
/// the next `migrate` may send those comments again on their own.
#[test]
fn comments_of_an_import_with_no_answer_at_all_are_settled_by_the_next_run() {
    for next in ["retry-failed", "migrate"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        seed(&src, 40);
        let source = Archive::open_source(&src).expect("source");
        let target = Importing::new(Archive::open_target(&dst).expect("target"));
        target.cut_after.store(2, Ordering::SeqCst);
        let options = Options {
            batch_attempts: 1,
            ..options()
        };
        let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
        let first = migrate(
            &source,
            &target,
            &mut state,
            &options,
            &Silent,
            &Cancel::new(),
        )
        .expect("the run completes with failures");
        assert!(
            first.failures.iter().any(|f| f.kind == Kind::Ticket),
            "the cut batch is reported: {:#?}",
            first.failures
        );
        let second = match next {
            "retry-failed" => retry_failed(
                &source,
                &target,
                &mut state,
                &options,
                &Silent,
                &Cancel::new(),
            ),
            _ => migrate(
                &source,
                &target,
                &mut state,
                &options,
                &Silent,
                &Cancel::new(),
            ),
        }
        .expect("second run");
        assert!(second.failures.is_empty(), "{next}: {:#?}", second.failures);
        assert_eq!(
            target.comments_alone.load(Ordering::SeqCst),
            0,
            "{next} sent comments of the landed import again on their own"
        );
        let (unique, repeated) = comment_count(&dst);
        assert_eq!(unique, comment_count(&src).0, "{next}");
        assert_eq!(repeated, 0, "{next}: a comment was written twice");
        verify_all(&source, &target, &mut state);
    }
}

#[test]
fn dry_run_counts_comments_that_would_travel_inside_tickets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    seed(&src, 20);
    let source = Archive::open_source(&src).expect("source");
    let target = Importing::new(Archive::open_target(&dst).expect("target"));
    let report =
        dry_run(&source, &target, &options(), None, &Silent, &Cancel::new()).expect("dry run");
    assert_eq!(
        report.run.kinds[&Kind::Comment].created as usize,
        comment_count(&src).0
    );
    let stated: u64 = [Kind::Comment, Kind::KbArticle]
        .into_iter()
        .flat_map(|kind| {
            source
                .read_page(
                    kind,
                    &PageRequest {
                        page_size: Some(100_000),
                        ..Default::default()
                    },
                )
                .expect("read")
                .records
        })
        .flat_map(|r| r.attachments().iter().map(|a| a.size).collect::<Vec<_>>())
        .sum();
    assert!(stated > 3_000_000, "the dataset carries a 3 MB attachment");
    assert_eq!(
        report.attachment_bytes, stated,
        "the bytes that would move, though a dry run downloads nothing it knows the size of"
    );
    assert_eq!(
        report.run.kinds[&Kind::Comment].requests,
        0,
        "comments inside ticket imports cost no requests of their own"
    );
    assert!(report.run.kinds[&Kind::Ticket].requests > 0);
    assert_eq!(target.comments_inside.load(Ordering::SeqCst), 0);
    assert_eq!(target.comments_alone.load(Ordering::SeqCst), 0);

    // Samples: comments read ahead (staged) still reach their ticket's sample, in time
    // order, predicted as created (inside their ticket).
    assert_eq!(report.samples.len(), Options::default().samples);
    let all_comments = source
        .read_page(
            Kind::Comment,
            &PageRequest {
                page_size: Some(100_000),
                ..Default::default()
            },
        )
        .expect("read")
        .records;
    for sample in &report.samples {
        let id = sample.ticket.source_id.as_str();
        let expected = all_comments
            .iter()
            .filter(|c| c.parent().map(|(_, p)| p) == Some(id))
            .count()
            .min(switchover_engine::COMMENTS_PER_SAMPLE);
        assert!(expected > 0, "{id} has comments in the dataset");
        assert_eq!(sample.comments.len(), expected, "comments of {id}");
        let times: Vec<_> = sample
            .comments
            .iter()
            .map(|c| match &c.record {
                switchover_model::Record::Comment(c) => c.created_at,
                _ => None,
            })
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted, "comments of {id} in time order");
        for comment in &sample.comments {
            assert_ne!(
                comment.outcome,
                switchover_engine::SampleOutcome::NotWritten,
                "{}",
                comment.source_id
            );
        }
    }
}
