//! The Zendesk adapter's one test binary: its wire types against every recorded Zendesk
//! response in `shared/fixtures`, and the shared conformance suite against the loopback
//! emulator (empty, with faults) plus a source read of a seeded account.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;
use switchover_adapter::Operation;

use serde_json::Value;
use switchover_adapter::{PageRequest, Source};
use switchover_model::Kind;
use switchover_sandbox::EmulatorConfig;
use switchover_testkit::Conformance;
use switchover_zendesk::wire;

mod common;
use common::Account;

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    assert!(
        dir.join("SOURCES.md").exists(),
        "the recorded Zendesk fixtures are expected at {} (vendored in the repository with their licenses, see tests/fixtures/SOURCES.md); they are missing",
        dir.display()
    );
    dir
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// A nock recording's response: JSON, or hex-encoded gzip (one string or chunks).
fn nock_body(response: &Value) -> Option<Value> {
    let hex_text = match response {
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => s.clone(),
        Value::Array(chunks) if chunks.iter().all(Value::is_string) => chunks
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .concat(),
        other => return Some(other.clone()),
    };
    let bytes = hex::decode(hex_text.trim()).expect("nock body is hex");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("nock body is gzip");
    if text.trim().is_empty() {
        return None;
    }
    Some(serde_json::from_str(&text).expect("nock body is JSON"))
}

#[test]
fn every_recorded_zendesk_body_parses_with_the_adapters_types() {
    let root = fixtures();
    let mut bodies: Vec<(String, Value)> = Vec::new();
    for folder in [
        "go-zendesk",
        "justeat-ZendeskApiClient",
        "aaronellington-zendesk-go",
    ] {
        let mut files = Vec::new();
        json_files(&root.join(folder), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read fixture");
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
            bodies.push((file.display().to_string(), body));
        }
    }
    let mut files = Vec::new();
    json_files(&root.join("node-zendesk/test/fixtures"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read fixture");
        let recording: Value = serde_json::from_str(&text).expect("nock JSON");
        for (n, interaction) in recording
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(body) = interaction.get("response").and_then(nock_body) {
                bodies.push((format!("{}#{n}", file.display()), body));
            }
        }
    }
    let mut typed = 0;
    let mut problems = Vec::new();
    for (name, body) in &bodies {
        match wire::parse_known(body) {
            Ok(keys) => typed += usize::from(!keys.is_empty()),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    assert!(
        problems.is_empty(),
        "fixtures the adapter's types cannot parse:\n{}",
        problems.join("\n")
    );
    assert!(
        bodies.len() > 100 && typed > 80,
        "expected the Zendesk fixtures to be found and typed: {} bodies, {typed} typed",
        bodies.len()
    );
}

#[test]
fn an_oauth_token_authenticates_and_a_wrong_one_does_not() {
    let account = Account::start(EmulatorConfig::empty());
    let good =
        switchover_zendesk::Zendesk::connect(&account.oauth(&account.emulator.oauth_token()))
            .expect("connect");
    good.check()
        .expect("the emulator's OAuth token is accepted");
    let bad =
        switchover_zendesk::Zendesk::connect(&account.oauth("zd-oauth-wrong")).expect("connect");
    let refused = bad.check().expect_err("a wrong OAuth token is refused");
    assert_eq!(
        refused.kind(),
        switchover_adapter::ErrorKind::Authentication,
        "{refused}"
    );
}

/// Runs the suite against the emulator; panics on any failed trial.
fn conformance(account: &Account) {
    Conformance::new(switchover_zendesk::register(), account.good())
        .bad_credentials(account.bad())
        .run();
}

/// A live account, as a customer's target is: its own organizations, users, agents,
/// groups, custom fields and tickets are there before the suite writes.
fn live_account() -> EmulatorConfig {
    EmulatorConfig {
        organizations: 3,
        users: 8,
        agents: 2,
        groups: 2,
        tickets: 6,
        comments_per_ticket: 2,
        custom_fields: true,
        ..EmulatorConfig::empty()
    }
}

#[test]
fn zendesk_passes_the_conformance_suite_against_a_live_account() {
    let account = Account::start(live_account());
    let started = Instant::now();
    conformance(&account);
    eprintln!(
        "conformance in {:.1}s, {} requests",
        started.elapsed().as_secs_f64(),
        account.emulator.requests_served()
    );
}

#[test]
fn zendesk_passes_the_conformance_suite_with_faults_and_a_small_budget() {
    let config = EmulatorConfig {
        // The pacer follows X-Rate-Limit, so 429s come from the forced burst; a budget
        // this size keeps the run short (the pacer spaces requests 25 ms apart).
        rpm: Some(2400),
        faults: "503=0.05,500=0.02,reset=0.01,burst429=3"
            .parse()
            .expect("fault spec"),
        ..EmulatorConfig::empty()
    };
    let account = Account::start(config);
    let started = Instant::now();
    conformance(&account);
    eprintln!(
        "conformance with faults in {:.1}s, {} requests",
        started.elapsed().as_secs_f64(),
        account.emulator.requests_served()
    );
}

#[test]
fn a_seeded_account_reads_every_kind_past_page_limits() {
    let config = EmulatorConfig {
        tickets: 300,
        comments_per_ticket: 2,
        users: 150,
        ..EmulatorConfig::small(7)
    };
    let account = Account::start(config);
    let source = switchover_zendesk::Zendesk::connect(&account.good()).expect("connect");
    let capabilities = source.capabilities();
    let mut counts = Vec::new();
    for kind in Kind::ALL {
        if !kind.is_streamed() || !capabilities.supports(kind, Operation::Read) {
            continue;
        }
        let mut request = PageRequest {
            page_size: Some(100),
            ..Default::default()
        };
        let mut ids = std::collections::BTreeSet::new();
        let mut pages = 0;
        loop {
            let page = source
                .read_page(kind, &request)
                .unwrap_or_else(|e| panic!("reading {kind}: {e}"));
            pages += 1;
            for record in page.records {
                assert!(
                    ids.insert(record.id().to_string()),
                    "{kind} {} twice",
                    record.id()
                );
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
            assert!(pages < 10_000, "{kind} never ends");
        }
        counts.push(format!("{kind}={} ({pages} pages)", ids.len()));
        if matches!(kind, Kind::Ticket | Kind::User | Kind::Comment) {
            assert!(ids.len() > 100, "{kind}: only {} read", ids.len());
        }
    }
    eprintln!("read {}", counts.join(", "));
}

/// Reads tickets and comments of a seeded account to the end; returns records and seconds.
fn extract(account: &Account, kinds: &[Kind]) -> (u64, f64) {
    let source = switchover_zendesk::Zendesk::connect(&account.good()).expect("connect");
    let started = Instant::now();
    let mut records = 0u64;
    for kind in kinds {
        let mut request = PageRequest {
            page_size: Some(100),
            ..Default::default()
        };
        loop {
            let page = source
                .read_page(*kind, &request)
                .unwrap_or_else(|e| panic!("reading {kind}: {e}"));
            records += page.records.len() as u64;
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
    }
    (records, started.elapsed().as_secs_f64())
}

/// Benchmark, not a timed test: `SWITCHOVER_BENCH_TICKETS=100000 cargo test --release -p
/// switchover-zendesk -- --ignored --nocapture bench_extraction` (5 comments per ticket).
#[test]
#[ignore = "benchmark; run by hand"]
fn bench_extraction() {
    let tickets: usize = std::env::var("SWITCHOVER_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let config = EmulatorConfig {
        tickets,
        comments_per_ticket: 5,
        attachment_share: 0.0,
        ..EmulatorConfig::small(11)
    };
    let account = Account::start(config);
    let before = account.emulator.requests_served();
    let (records, seconds) = extract(&account, &[Kind::User, Kind::Ticket, Kind::Comment]);
    let requests = account.emulator.requests_served() - before;
    eprintln!(
        "extracted {records} records ({tickets} tickets) in {seconds:.1}s: {:.0} records/s, {requests} requests",
        records as f64 / seconds
    );
}

/// Benchmark: achieved share of a 700 requests/minute budget over 3 minutes of comment
/// extraction. `cargo test --release -p switchover-zendesk -- --ignored --nocapture
/// bench_budget_share`.
#[test]
#[ignore = "benchmark; run by hand"]
fn bench_budget_share() {
    let config = EmulatorConfig {
        tickets: 20_000,
        comments_per_ticket: 2,
        rpm: Some(700),
        ..EmulatorConfig::small(12)
    };
    let account = Account::start(config);
    let settings = account.good().with("requests_per_minute", 700);
    let source = switchover_zendesk::Zendesk::connect(&settings).expect("connect");
    let started = Instant::now();
    let before = account.emulator.requests_served();
    let mut request = PageRequest::default();
    while started.elapsed().as_secs() < 180 {
        let page = source.read_page(Kind::Comment, &request).expect("read");
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let served = account.emulator.requests_served() - before;
    let counters = source.http().snapshot();
    eprintln!(
        "{served} requests in {minutes:.2} min = {:.0}/min, {:.1}% of 700; client counters {counters:?}",
        served as f64 / minutes,
        served as f64 / minutes / 7.0
    );
}

/// A new source record matching a record of the seeded account (same name, same
/// e-mail) is predicted adopted as that record and adopted by the write; a second source
/// record matching it then finds the first one's marker on it, and is refused, by the
/// dry run as by the write.
fn a_match_is_adopted_and_a_second_match_refused(
    kind: Kind,
    pick: fn(&switchover_model::Record) -> bool,
) {
    use switchover_adapter::{Prediction, Target, TargetInfo};
    let account = Account::start(EmulatorConfig::small(3));
    let zendesk = switchover_zendesk::Zendesk::connect(&account.good()).expect("connect");
    let page = zendesk
        .read_page(kind, &PageRequest::default())
        .expect("read the seeded records");
    let existing = page
        .records
        .into_iter()
        .find(pick)
        .unwrap_or_else(|| panic!("a seeded {kind} to match"));
    let mut record = existing.clone();
    *record.id_mut() = "crm-77".into();
    match &mut record {
        switchover_model::Record::Organization(o) => o.custom_fields.clear(),
        switchover_model::Record::User(u) => u.custom_fields.clear(),
        _ => {}
    }
    let request = switchover_adapter::WriteRequest {
        record,
        existing: None,
        children: Vec::new(),
    };
    // The dry run's prediction follows the write's rule, and names the record adopted.
    let predicted = match zendesk.predict(kind, &request) {
        Ok(Prediction::AdoptAs(id)) => id,
        other => panic!("a dry run predicts the adoption, not {other:?}"),
    };
    assert_eq!(predicted, existing.id(), "the prediction names the {kind}");
    let dataset = switchover_testkit::Dataset::conformance();
    let outcomes = zendesk
        .write_batch(kind, std::slice::from_ref(&request), &dataset)
        .expect("write");
    let written = outcomes[0].result.clone().expect("adopted, not refused");
    assert_eq!(written, existing.id(), "the existing {kind} is reused");
    assert!(
        outcomes[0].adopted.is_some(),
        "reported adopted, for rollback"
    );
    let found = zendesk
        .find_by_source(kind, &["crm-77".to_string()])
        .expect("find");
    assert_eq!(found.get("crm-77"), Some(&written));
    // Another source record matching it is now refused, in the dry run as in the write.
    let mut other = request.clone();
    *other.record.id_mut() = "crm-78".into();
    assert!(
        matches!(zendesk.predict(kind, &other), Ok(Prediction::Refuse(_))),
        "a dry run predicts the refusal"
    );
    let refused = zendesk
        .write_batch(kind, &[other], &dataset)
        .expect("write");
    let error = refused[0].result.clone().expect_err("refused");
    assert!(error.to_string().contains("crm-77"), "{error}");
    let found = zendesk
        .find_by_source(kind, &["crm-77".to_string()])
        .expect("find");
    assert_eq!(
        found.get("crm-77"),
        Some(&written),
        "the first keeps its record"
    );
}

/// Regression: an organization whose name already exists on the target (unique in
/// Zendesk) was refused instead of being adopted and marked.
#[test]
fn an_existing_organization_of_the_same_name_is_adopted() {
    a_match_is_adopted_and_a_second_match_refused(Kind::Organization, |_| true);
}

/// Regression: a user whose e-mail the target has was predicted created by the dry run,
/// and a second source user of that e-mail took the first one's record over.
#[test]
fn an_existing_user_of_the_same_email_is_adopted_and_never_taken_over() {
    a_match_is_adopted_and_a_second_match_refused(Kind::User, |r| {
        matches!(r, switchover_model::Record::User(u)
            if u.role == switchover_model::UserRole::EndUser && u.email.is_some())
    });
}

// Group memberships and Help Center articles as a target.

use switchover_adapter::{AdapterError, Target, WriteRequest};
use switchover_model::digest::projection;
use switchover_model::{
    Entity, GroupMembership, KbArticle, KbCategory, KbSection, Record, Ref, Translation, UserRole,
};

fn connect(account: &Account) -> switchover_zendesk::Zendesk {
    switchover_zendesk::Zendesk::connect(&account.good()).expect("connect")
}

/// Every record of a kind the target reads back, over all pages.
fn read_back_all(
    zendesk: &switchover_zendesk::Zendesk,
    kind: Kind,
) -> Vec<(Option<String>, Record)> {
    let mut request = PageRequest {
        page_size: Some(2),
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let page = zendesk
            .read_back(kind, &request)
            .unwrap_or_else(|e| panic!("reading back {kind}: {e}"));
        all.extend(page.records.into_iter().map(|r| (r.source_id, r.record)));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return all,
        }
    }
}

/// Target ids of the seeded users with `role`.
fn users_with_role(zendesk: &switchover_zendesk::Zendesk, role: UserRole) -> Vec<String> {
    read_back_all(zendesk, Kind::User)
        .into_iter()
        .filter_map(|(_, r)| match r {
            Record::User(u) if u.role == role => Some(u.id),
            _ => None,
        })
        .collect()
}

/// Writes one record and returns its outcome.
fn write_one(
    zendesk: &switchover_zendesk::Zendesk,
    record: Record,
    existing: Option<String>,
) -> Result<String, AdapterError> {
    let kind = record.kind();
    let request = WriteRequest {
        record,
        existing,
        children: Vec::new(),
    };
    zendesk
        .write_batch(
            kind,
            &[request],
            &switchover_testkit::Dataset::conformance(),
        )
        .unwrap_or_else(|e| panic!("writing {kind} failed as a batch: {e}"))
        .remove(0)
        .result
}

fn new_group(zendesk: &switchover_zendesk::Zendesk, name: &str) -> String {
    let group = switchover_model::Group {
        id: format!("src-{name}"),
        name: name.into(),
        ..Default::default()
    };
    write_one(zendesk, group.into_record(), None).expect("group written")
}

fn membership(id: &str, user: &str, group: &str, is_default: bool) -> WriteRequest {
    WriteRequest::create(
        GroupMembership {
            id: id.into(),
            user: Ref::new(user),
            group: Ref::new(group),
            is_default,
            ..Default::default()
        }
        .into_record(),
    )
}

/// (user, group) pairs the target holds, with how many memberships each.
fn pairs(
    zendesk: &switchover_zendesk::Zendesk,
) -> std::collections::BTreeMap<(String, String), usize> {
    let mut out = std::collections::BTreeMap::new();
    for (_, record) in read_back_all(zendesk, Kind::GroupMembership) {
        if let Record::GroupMembership(m) = record {
            *out.entry((m.user.id().to_string(), m.group.id().to_string()))
                .or_default() += 1;
        }
    }
    out
}

/// Memberships keep no source marker: a run restarted after its writes landed (outcomes
/// lost) must find the (agent, group) pairs on the target and adopt them, through the
/// bulk path and the single-record path alike, never add a second membership.
#[test]
fn a_membership_written_again_after_a_restart_is_adopted_not_duplicated() {
    let account = Account::start(EmulatorConfig {
        agents: 2,
        groups: 1,
        ..EmulatorConfig::empty()
    });
    let first = connect(&account);
    let agents = users_with_role(&first, UserRole::Agent);
    assert_eq!(agents.len(), 2, "two seeded agents: {agents:?}");
    let group = new_group(&first, "Escalations");
    let batch = vec![
        membership("gm-a", &agents[0], &group, true),
        membership("gm-b", &agents[1], &group, false),
    ];
    let content = switchover_testkit::Dataset::conformance();
    let first_outcomes = first
        .write_batch(Kind::GroupMembership, &batch, &content)
        .expect("first write");
    assert!(
        first_outcomes.iter().all(|o| o.adopted.is_none()),
        "new pairs are created"
    );
    let written: Vec<String> = first_outcomes
        .into_iter()
        .map(|o| o.result.expect("written"))
        .collect();
    assert_ne!(written[0], written[1]);

    // A new process: it was never told about these pairs.
    let restarted = connect(&account);
    let second = restarted
        .write_batch(Kind::GroupMembership, &batch, &content)
        .expect("second write");
    assert!(
        second.iter().all(|o| o.adopted.is_some()),
        "pairs found on the target are reported adopted, so a rollback leaves them"
    );
    let again: Vec<String> = second
        .into_iter()
        .map(|o| o.result.expect("adopted"))
        .collect();
    assert_eq!(again, written, "the same memberships, adopted");
    let single = connect(&account)
        .write_batch(Kind::GroupMembership, &batch[1..], &content)
        .expect("third write");
    assert_eq!(single[0].result.as_ref().ok(), Some(&written[1]));

    let held = pairs(&restarted);
    for agent in &agents {
        assert_eq!(
            held.get(&(agent.clone(), group.clone())),
            Some(&1),
            "agent {agent} is in the group once: {held:?}"
        );
    }
    let found = restarted
        .find_by_source(
            Kind::GroupMembership,
            &["gm-a".into(), "gm-b".into(), "gm-x".into()],
        )
        .expect("find");
    assert_eq!(found.get("gm-a"), Some(&written[0]));
    assert_eq!(found.get("gm-b"), Some(&written[1]));
    assert!(!found.contains_key("gm-x"));
    // gm-a made the new group the agent's default one.
    let defaults: Vec<String> = read_back_all(&restarted, Kind::GroupMembership)
        .into_iter()
        .filter_map(|(_, r)| match r {
            Record::GroupMembership(m) if m.user.id() == agents[0] && m.is_default => {
                Some(m.group.id().to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(defaults, vec![group]);
}

/// Zendesk takes only agents into groups: an end user's membership is refused for that
/// record with a reason that says so, and the rest of its batch is written.
#[test]
fn an_end_user_membership_is_refused_for_that_record_alone() {
    let account = Account::start(EmulatorConfig {
        agents: 1,
        users: 1,
        groups: 1,
        ..EmulatorConfig::empty()
    });
    let zendesk = connect(&account);
    let agent = users_with_role(&zendesk, UserRole::Agent).remove(0);
    let end_user = users_with_role(&zendesk, UserRole::EndUser).remove(0);
    let group = new_group(&zendesk, "Billing");
    let content = switchover_testkit::Dataset::conformance();
    let check = |refusal: &AdapterError| match refusal {
        AdapterError::InvalidRecord { id, reason, .. } => {
            assert_eq!(id, "gm-customer");
            assert!(
                reason.contains(&end_user) && reason.contains("agents"),
                "the reason names the user and the rule: {reason}"
            );
        }
        other => panic!("expected a refused record, got {other}"),
    };
    // Bulk path (create_many and its job).
    let outcomes = zendesk
        .write_batch(
            Kind::GroupMembership,
            &[
                membership("gm-agent", &agent, &group, false),
                membership("gm-customer", &end_user, &group, false),
            ],
            &content,
        )
        .expect("the batch itself succeeds");
    assert!(outcomes[0].result.is_ok(), "{:?}", outcomes[0].result);
    check(outcomes[1].result.as_ref().expect_err("end user refused"));
    // Single-record path (POST group_memberships).
    let alone = zendesk
        .write_batch(
            Kind::GroupMembership,
            &[membership("gm-customer", &end_user, &group, false)],
            &content,
        )
        .expect("the batch itself succeeds");
    check(alone[0].result.as_ref().expect_err("end user refused"));
    let held = pairs(&zendesk);
    assert_eq!(held.get(&(agent, group.clone())), Some(&1));
    assert!(!held.contains_key(&(end_user, group)), "{held:?}");
}

/// A category, a section and its target ids, for article tests.
fn kb_section(zendesk: &switchover_zendesk::Zendesk) -> String {
    let category = KbCategory {
        id: "src-cat".into(),
        name: "Getting started".into(),
        locale: Some("en-us".into()),
        ..Default::default()
    };
    let category = write_one(zendesk, category.into_record(), None).expect("category");
    let section = KbSection {
        id: "src-sec".into(),
        category: Ref::new(category),
        name: "Printers".into(),
        locale: Some("en-us".into()),
        ..Default::default()
    };
    write_one(zendesk, section.into_record(), None).expect("section")
}

fn translation(locale: &str, title: &str, body: &str) -> (String, Translation) {
    (
        locale.into(),
        Translation {
            locale: locale.into(),
            title: title.into(),
            body_html: body.into(),
        },
    )
}

/// The conformance dataset's article (German translation, a PDF attachment) with its
/// references on the target.
fn article(section: &str, author: &str) -> KbArticle {
    let dataset = switchover_testkit::Dataset::conformance();
    let Some(Record::KbArticle(mut article)) = dataset.of(Kind::KbArticle).first().cloned() else {
        panic!("the dataset has an article");
    };
    article.section = Ref::new(section);
    article.author = Some(Ref::new(author));
    article
}

fn read_article(zendesk: &switchover_zendesk::Zendesk, id: &str) -> (Option<String>, KbArticle) {
    read_back_all(zendesk, Kind::KbArticle)
        .into_iter()
        .find_map(|(marker, r)| match r {
            Record::KbArticle(a) if a.id == id => Some((marker, a)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("article {id} reads back"))
}

/// An article with a translation and an attachment comes back equal on every field the
/// adapter declares, by the target and by the source; an update adds, changes and removes
/// translations in place.
#[test]
fn an_article_with_a_translation_round_trips() {
    let account = Account::start(EmulatorConfig::empty());
    let zendesk = connect(&account);
    let admin = users_with_role(&zendesk, UserRole::Admin).remove(0);
    let section = kb_section(&zendesk);
    let mut wanted = article(&section, &admin);
    assert!(wanted.translations.contains_key("de") && !wanted.attachments.is_empty());
    let id = write_one(&zendesk, wanted.clone().into_record(), None).expect("article written");

    let fields = switchover_zendesk::capabilities()
        .kind(Kind::KbArticle)
        .map(|c| c.fields.clone())
        .expect("articles declared");
    assert!(fields.contains("translations"));
    let (marker, back) = read_article(&zendesk, &id);
    assert_eq!(marker.as_deref(), Some(wanted.id.as_str()));
    assert_eq!(back.translations["de"].title, "Drucker brennt");
    assert_eq!(back.body_html, wanted.body_html, "the marker is stripped");
    let mut expected = wanted.clone();
    expected.id = id.clone();
    assert_eq!(
        projection(&back.clone().into_record(), &fields),
        projection(&expected.clone().into_record(), &fields)
    );
    let sourced = connect(&account)
        .read_page(Kind::KbArticle, &PageRequest::default())
        .expect("source read");
    let sourced = sourced
        .records
        .into_iter()
        .find(|r| r.id() == id)
        .expect("the source reads it");
    // A source states no content hash: the engine hashes the bytes on their way out.
    for attachment in &mut expected.attachments {
        attachment.sha256 = None;
    }
    assert_eq!(
        projection(&sourced, &fields),
        projection(&expected.into_record(), &fields)
    );

    // A delta: the German text changes, a French translation appears.
    wanted.translations.extend([
        translation("de", "Drucker brennt!", "<p>Sofort Stecker ziehen.</p>"),
        translation("fr", "L'imprimante brûle", "<p>Débranchez.</p>"),
    ]);
    let updated = write_one(&zendesk, wanted.clone().into_record(), Some(id.clone()));
    assert_eq!(updated.ok().as_ref(), Some(&id));
    let (_, back) = read_article(&zendesk, &id);
    assert_eq!(back.translations["de"].title, "Drucker brennt!");
    assert_eq!(back.translations["fr"].body_html, "<p>Débranchez.</p>");
    // And the French one goes again.
    wanted.translations.remove("fr");
    write_one(&zendesk, wanted.into_record(), Some(id.clone())).expect("updated");
    let (_, back) = read_article(&zendesk, &id);
    assert_eq!(back.translations.keys().collect::<Vec<_>>(), ["de"]);
    assert_eq!(
        back.attachments.len(),
        1,
        "the attachment is kept, not uploaded again"
    );
}

/// A run killed after creating an article but before its translations leaves it marked
/// pending: it is not reported as written, and writing it again completes that article
/// instead of creating a second one.
#[test]
fn an_article_interrupted_before_its_translations_is_completed_not_duplicated() {
    let account = Account::start(EmulatorConfig::empty());
    let zendesk = connect(&account);
    let admin = users_with_role(&zendesk, UserRole::Admin).remove(0);
    let section = kb_section(&zendesk);
    let wanted = article(&section, &admin);
    let group = zendesk
        .http()
        .get_json::<Value>("guide/permission_groups.json")
        .expect("permission groups")["permission_groups"][0]["id"]
        .clone();
    // What the killed run's first request left behind.
    let body = serde_json::json!({"article": {
        "title": wanted.title, "locale": wanted.locale, "permission_group_id": group,
        "user_segment_id": null,
        "body": format!("{}<span data-switchover-pending=\"{}\"></span>", wanted.body_html, wanted.id),
    }});
    let created: Value = zendesk
        .http()
        .send(
            switchover_http::Request::post(format!("help_center/sections/{section}/articles.json"))
                .json(&body)
                .expect("json"),
        )
        .and_then(|r| r.json())
        .expect("article created");
    let pending = created["article"]["id"].to_string();
    let found = zendesk
        .find_by_source(Kind::KbArticle, std::slice::from_ref(&wanted.id))
        .expect("find");
    assert!(
        found.is_empty(),
        "an incomplete article is not reported written: {found:?}"
    );

    let written = write_one(&zendesk, wanted.clone().into_record(), None).expect("written");
    assert_eq!(written, pending, "the pending article is completed");
    let articles = read_back_all(&zendesk, Kind::KbArticle);
    assert_eq!(articles.len(), 1, "one article on the target");
    let (marker, back) = read_article(&zendesk, &written);
    assert_eq!(marker.as_deref(), Some(wanted.id.as_str()));
    assert_eq!(back.translations["de"].title, "Drucker brennt");
    assert_eq!(back.attachments.len(), wanted.attachments.len());
    let found = zendesk
        .find_by_source(Kind::KbArticle, std::slice::from_ref(&wanted.id))
        .expect("find");
    assert_eq!(found.get(&wanted.id), Some(&written));
}

/// Every article needs a permission group: one the target does not have is refused for
/// that article, with the field named.
#[test]
fn an_article_with_an_unknown_permission_group_is_refused_for_that_record() {
    let account = Account::start(EmulatorConfig::empty());
    let zendesk = connect(&account);
    let admin = users_with_role(&zendesk, UserRole::Admin).remove(0);
    let section = kb_section(&zendesk);
    let wrong =
        switchover_zendesk::Zendesk::connect(&account.good().with("permission_group_id", 4242))
            .expect("connect");
    let refused =
        write_one(&wrong, article(&section, &admin).into_record(), None).expect_err("refused");
    match refused {
        AdapterError::InvalidRecord { field, .. } => assert_eq!(field, "permission_group_id"),
        other => panic!("expected a refused record, got {other}"),
    }
    assert!(read_back_all(&zendesk, Kind::KbArticle).is_empty());
}

/// An article whose translation the target refuses (its locale is not enabled there) is
/// refused as a record and not reported written; once the translation is dropped, the
/// next write completes the article already there instead of adding a second one.
#[test]
fn an_article_whose_translation_is_refused_is_completed_by_the_next_write() {
    let account = Account::start(EmulatorConfig::empty());
    let zendesk = connect(&account);
    let admin = users_with_role(&zendesk, UserRole::Admin).remove(0);
    let section = kb_section(&zendesk);
    let mut wanted = article(&section, &admin);
    wanted
        .translations
        .extend([translation("tlh", "Qagh", "<p>ghuy'cha'</p>")]);
    let refused = write_one(&zendesk, wanted.clone().into_record(), None).expect_err("refused");
    match &refused {
        AdapterError::InvalidRecord { field, reason, .. } => {
            assert_eq!(field, "translations.tlh");
            assert!(reason.contains("enabled"), "{reason}");
        }
        other => panic!("expected a refused record, got {other}"),
    }
    let found = zendesk
        .find_by_source(Kind::KbArticle, std::slice::from_ref(&wanted.id))
        .expect("find");
    assert!(found.is_empty(), "not reported written: {found:?}");

    wanted.translations.remove("tlh");
    let written = write_one(&zendesk, wanted.clone().into_record(), None).expect("written");
    assert_eq!(
        read_back_all(&zendesk, Kind::KbArticle).len(),
        1,
        "no second article"
    );
    let found = zendesk
        .find_by_source(Kind::KbArticle, std::slice::from_ref(&wanted.id))
        .expect("find");
    assert_eq!(found.get(&wanted.id), Some(&written));
    let (_, back) = read_article(&zendesk, &written);
    assert_eq!(back.translations.keys().collect::<Vec<_>>(), ["de"]);
}

/// Sources spell an article's language their own way: a bare language (Freshdesk's
/// `en`) is written in the enabled locale of that language, no locale at all (Help
/// Scout Docs) in the Help Center's default, instead of being refused.
#[test]
fn an_article_in_a_bare_language_or_none_is_written_in_an_enabled_locale() {
    let account = Account::start(EmulatorConfig::empty());
    let zendesk = connect(&account);
    let admin = users_with_role(&zendesk, UserRole::Admin).remove(0);
    let section = kb_section(&zendesk);
    for (id, locale) in [("bare", "en"), ("none", "")] {
        let mut wanted = article(&section, &admin);
        wanted.id = format!("ka-{id}");
        wanted.title = format!("Article in '{locale}'");
        wanted.locale = locale.into();
        wanted.translations.clear();
        let target = write_one(&zendesk, wanted.into_record(), None)
            .unwrap_or_else(|e| panic!("locale '{locale}' refused: {e}"));
        let (_, back) = read_article(&zendesk, &target);
        assert_eq!(back.locale, "en-us", "written from '{locale}'");
    }
}

/// Zendesk answering reads malformed (a value of another type, a key missing, the text
/// cut short): every kind reads page by page into records or an error naming Zendesk,
/// never a panic.
fn read_through_malformed_answers(seed: u64) -> switchover_testkit::malformed::MalformedReads {
    let account = Account::start_unchecked(EmulatorConfig {
        seed,
        faults: "mangle=0.3".parse().expect("faults"),
        ..EmulatorConfig::small(4)
    });
    let zendesk = switchover_zendesk::Zendesk::connect(&account.good()).expect("connect");
    switchover_testkit::malformed::read_through_malformed_answers(&zendesk, 40)
}

switchover_testkit::malformed_answer_tests!(read_through_malformed_answers, "zendesk");
