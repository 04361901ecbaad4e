//! Migrations into Zendesk through the engine: new tickets arrive through the Ticket
//! Import API carrying their comments (authors, original times, attachments), nothing
//! runs the account's triggers except updates Zendesk cannot avoid, faults and a killed
//! run duplicate nothing, and verification matches on every field Zendesk keeps.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchover_adapter::{
    AdapterError, ContentSource, PageRequest, Source, Target, WriteOutcome, WriteRequest,
};
use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, RunSummary, Silent, migrate, verify};
use switchover_model::{Kind, Record};
use switchover_sandbox::EmulatorConfig;
use switchover_testkit::Dataset;
use switchover_testkit::dataset::{AnyContent, Generated};
use switchover_testkit::wrap::{Wrap, Wrapped};
use switchover_zendesk::Zendesk;

mod common;
use common::Account;

/// The conformance dataset plus `tickets` generated tickets with three comments each
/// (every second comment with a 512-byte attachment).
fn seed_archive(path: &Path, tickets: usize) {
    let dataset = Dataset::conformance();
    let archive = Archive::open_target(path).expect("seed archive");
    dataset.seed(&archive, &dataset).expect("seed dataset");
    Generated::seed(&archive, 0..tickets, 3, 512, &AnyContent(&dataset)).expect("seed tickets");
    Target::finish(&archive).expect("seal");
}

/// An active trigger that e-mails requesters, as every real account has (created
/// directly, so it carries no source marker).
fn add_notifying_trigger(zendesk: &Zendesk) {
    let body = serde_json::json!({"trigger": {
        "title": "Notify requester of every update",
        "active": true,
        "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Change"}], "any": []},
        "actions": [{"field": "notification_user", "value": ["requester_id", "Updated", "Your request was updated"]}],
    }});
    let request = switchover_http::Request::post("triggers.json")
        .json(&body)
        .expect("trigger body");
    zendesk.http().send(request).expect("create trigger");
}

fn options() -> Options {
    Options {
        batch_size: Some(25),
        page_size: Some(100),
        concurrency: 2,
        backoff: Duration::from_millis(10),
        // These accounts keep an active notifying trigger on purpose (imports must not
        // run it; the dataset's own trigger is migrated active): the risk is accepted
        // by name, as a services engineer would after reading the preflight.
        accept_risks: vec![switchover_adapter::TARGET_NOTIFICATIONS.into()],
        ..Options::default()
    }
}

/// Comments per target ticket, read straight from the emulator.
fn comments_on_target(zendesk: &Zendesk) -> (usize, BTreeMap<String, usize>) {
    let mut per_ticket: BTreeMap<String, usize> = BTreeMap::new();
    let mut request = PageRequest::default();
    let mut total = 0;
    loop {
        let page = zendesk
            .read_back(Kind::Comment, &request)
            .expect("read comments");
        for read in &page.records {
            if let Record::Comment(c) = &read.record {
                *per_ticket.entry(c.ticket.id().to_string()).or_default() += 1;
                total += 1;
            }
        }
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return (total, per_ticket),
        }
    }
}

fn source_comments(archive: &Archive) -> usize {
    let mut request = PageRequest::default();
    let mut total = 0;
    loop {
        let page = archive.read_page(Kind::Comment, &request).expect("read");
        total += page.records.len();
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return total,
        }
    }
}

fn verify_matched(source: &Archive, zendesk: &Zendesk, state: &mut StateStore) {
    let report = verify(source, zendesk, state, &Kind::ALL, &Silent).expect("verify");
    assert!(
        report.all_matched(),
        "archive -> zendesk differs: {report:#?}"
    );
    let comments = &report.kinds[&Kind::Comment];
    assert!(
        comments.fields.iter().any(|f| f == "created_at"),
        "comment times are compared: {:?}",
        comments.fields
    );
    assert!(comments.attachments_checked > 0);
}

#[test]
fn archive_to_zendesk_imports_tickets_with_their_comments_and_runs_no_trigger() {
    let account = Account::start(EmulatorConfig {
        faults: "503=0.03,500=0.02,reset=0.01,burst429=3"
            .parse()
            .expect("faults"),
        ..EmulatorConfig::empty()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    seed_archive(&dir.path().join("src"), 60);
    let source = Archive::open_source(&dir.path().join("src")).expect("source");
    let zendesk = Zendesk::connect(&account.good()).expect("connect");
    add_notifying_trigger(&zendesk);
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &zendesk,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("archive -> zendesk");
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
    let expected = source_comments(&source);
    let comments = summary.kinds[&Kind::Comment];
    assert_eq!(
        comments.created as usize, expected,
        "every comment arrives inside its ticket's import: {comments:?}"
    );
    assert_eq!(comments.requests, 0, "no comment was written on its own");
    // Only the tickets updated afterwards to link them to a problem ticket written
    // later ran the account's trigger; the imports ran none.
    let relinked = summary.kinds[&Kind::Ticket].relinked;
    assert_eq!(account.emulator.trigger_runs(), relinked, "{summary:#?}");
    let (total, _) = comments_on_target(&zendesk);
    assert_eq!(total, expected, "a comment is missing or doubled");
    verify_matched(&source, &zendesk, &mut state);
}

/// Cuts the connection after the second ticket batch has landed: the process dies
/// without learning the outcome, like a SIGKILL after the request left.
struct CutAfterImport {
    inner: Zendesk,
    ticket_batches: AtomicU64,
}

impl Wrap for CutAfterImport {
    type Inner = Zendesk;
    fn inner(&self) -> &Zendesk {
        &self.inner
    }
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let outcomes = self.inner.write_batch(kind, batch, content)?;
        if kind == Kind::Ticket && self.ticket_batches.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(AdapterError::fatal(
                "zendesk",
                "the process was killed before the answer arrived",
            ));
        }
        Ok(outcomes)
    }
}

#[test]
fn comments_of_an_import_whose_answer_was_lost_are_matched_not_written_again() {
    let account = Account::start(EmulatorConfig::empty());
    let dir = tempfile::tempdir().expect("tempdir");
    seed_archive(&dir.path().join("src"), 80);
    let source = Archive::open_source(&dir.path().join("src")).expect("source");
    let cut = Wrapped(CutAfterImport {
        inner: Zendesk::connect(&account.good()).expect("connect"),
        ticket_batches: AtomicU64::new(0),
    });
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let first = migrate(
        &source,
        &cut,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    );
    assert!(first.is_err(), "the cut ends the first run");
    let zendesk = Zendesk::connect(&account.good()).expect("connect");
    let resumed: RunSummary = migrate(
        &source,
        &zendesk,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("resume");
    assert_eq!(resumed.mode, "resumed");
    assert!(resumed.failures.is_empty(), "{:#?}", resumed.failures);
    assert!(
        resumed.kinds[&Kind::Ticket].reconciled > 0 && resumed.kinds[&Kind::Comment].reconciled > 0,
        "the cut-off batch was found on the target: {resumed:#?}"
    );
    assert_eq!(
        resumed.kinds[&Kind::Comment].requests,
        0,
        "no comment was written on its own"
    );
    let expected = source_comments(&source);
    let (total, per_ticket) = comments_on_target(&zendesk);
    assert_eq!(total, expected, "comments doubled or lost: {per_ticket:?}");
    verify_matched(&source, &zendesk, &mut state);
}

/// A delta run after cutover: a reply added in the source to a ticket already on
/// Zendesk goes by ticket update, with its marker, exactly once; a run after that writes
/// nothing; verification names that reply alone, whose time Zendesk sets to the write.
#[test]
fn a_delta_run_adds_a_late_reply_to_a_migrated_ticket_once() {
    let account = Account::start(EmulatorConfig::empty());
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    seed_archive(&src, 8);
    let zendesk = Zendesk::connect(&account.good()).expect("connect");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let run = |state: &mut StateStore| {
        let source = Archive::open_source(&src).expect("source");
        let summary = migrate(
            &source,
            &zendesk,
            state,
            &options(),
            &Silent,
            &Cancel::new(),
        )
        .expect("migrate");
        assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
        summary
    };
    run(&mut state);
    {
        // An open ticket (generated ticket 4) gets a reply after the first run.
        let archive = Archive::open_target(&src).expect("reopen source");
        let reply = switchover_model::Comment {
            id: "late-reply".into(),
            ticket: switchover_model::Ref::new("gen-00000004"),
            author: Some(switchover_model::Ref::new("u-agent")),
            public: true,
            body_text: "Following up: the courier has it now.".into(),
            created_at: "2021-03-01T09:00:00Z".parse().ok(),
            ..Default::default()
        };
        let written = archive
            .write_batch(
                Kind::Comment,
                &[WriteRequest::create(switchover_model::Entity::into_record(
                    reply,
                ))],
                &Dataset::conformance(),
            )
            .expect("add reply");
        assert!(written[0].result.is_ok());
        Target::finish(&archive).expect("seal");
    }
    let delta = run(&mut state);
    assert_eq!(delta.mode, "delta");
    assert_eq!(delta.kinds[&Kind::Comment].created, 1, "{delta:#?}");
    assert_eq!(delta.kinds[&Kind::Ticket].created, 0);
    let source = Archive::open_source(&src).expect("source");
    let (total, _) = comments_on_target(&zendesk);
    assert_eq!(total, source_comments(&source), "the reply is there once");

    let again = run(&mut state);
    let totals = again.totals();
    assert_eq!(totals.created + totals.updated, 0, "{again:#?}");
    assert_eq!(comments_on_target(&zendesk).0, total);

    let report = verify(&source, &zendesk, &mut state, &Kind::ALL, &Silent).expect("verify");
    let differing = &report.kinds[&Kind::Comment].differing;
    assert_eq!(
        differing
            .iter()
            .map(|d| d.source_id.as_str())
            .collect::<Vec<_>>(),
        ["late-reply"]
    );
    assert!(
        !differing[0].fields.is_empty(),
        "the report names the fields that differ: {differing:?}"
    );
    for (kind, v) in &report.kinds {
        let expected_differ = u64::from(*kind == Kind::Comment);
        assert!(
            v.differ == expected_differ && v.missing == 0 && v.extra == 0,
            "{kind}: {v:#?}"
        );
    }
}

/// Zendesk archives closed tickets on its own schedule, imported ones too, and
/// `GET /tickets` stops listing them: a verification days after the cutover must still
/// find them and their comments.
#[test]
fn tickets_zendesk_archives_after_the_import_still_verify() {
    let account = Account::start(EmulatorConfig::empty());
    let dir = tempfile::tempdir().expect("tempdir");
    seed_archive(&dir.path().join("src"), 12);
    let source = Archive::open_source(&dir.path().join("src")).expect("source");
    let zendesk = Zendesk::connect(&account.good()).expect("connect");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &zendesk,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
    let archived = account.emulator.archive_closed_tickets();
    assert!(archived >= 3, "generated tickets 3, 7 and 11 are closed");
    verify_matched(&source, &zendesk, &mut state);
}
