//! The Zendesk adapter's one test binary: its wire types against every recorded Zendesk
//! response in `shared/fixtures`, and the shared conformance suite against the loopback
//! emulator (empty, with faults) plus a source read of a seeded account.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

#[test]
fn zendesk_passes_the_conformance_suite_against_an_empty_emulator() {
    let account = Account::start(EmulatorConfig::empty());
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
        if !kind.is_streamed() || !capabilities.supports(kind, "read") {
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

/// Regression: an organization whose name already exists on the target (unique in
/// Zendesk) was refused instead of being adopted and marked.
#[test]
fn an_existing_organization_of_the_same_name_is_adopted() {
    let account = Account::start(EmulatorConfig::small(3));
    let zendesk = switchover_zendesk::Zendesk::connect(&account.good()).expect("connect");
    let page = zendesk
        .read_page(Kind::Organization, &PageRequest::default())
        .expect("read organizations");
    let existing = page
        .records
        .first()
        .cloned()
        .expect("a seeded organization");
    let switchover_model::Record::Organization(mut org) = existing.clone() else {
        panic!("not an organization");
    };
    org.id = "crm-77".into();
    org.custom_fields.clear();
    let request = switchover_adapter::WriteRequest {
        record: switchover_model::Entity::into_record(org),
        existing: None,
        children: Vec::new(),
    };
    use switchover_adapter::Target;
    let outcomes = zendesk
        .write_batch(
            Kind::Organization,
            &[request],
            &switchover_testkit::Dataset::conformance(),
        )
        .expect("write");
    let written = outcomes[0].result.clone().expect("adopted, not refused");
    assert_eq!(
        written,
        existing.id(),
        "the existing organization is reused"
    );
    let found = zendesk
        .find_by_source(Kind::Organization, &["crm-77".to_string()])
        .expect("find");
    assert_eq!(found.get("crm-77"), Some(&written));
}
