//! The Freshdesk adapter against the Freshdesk emulator: the shared conformance suite as
//! source and target (clean and with faults), the 300-page walk, and migrations through
//! the engine that verify equal on the portable fields and e-mail nobody.

use std::path::Path;
use std::time::Instant;
use switchover_adapter::Operation;

use switchover_adapter::{PageRequest, Settings, Source, TargetInfo};
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, migrate, verify};
use switchover_freshdesk_emulator::{FreshdeskEmulator, Interleaved};
use switchover_model::Kind;
use switchover_sandbox::EmulatorConfig;
use switchover_testkit::Conformance;

fn settings(url: &str, key: &str, dir: &Path, name: &str) -> Settings {
    let file = dir.join(name);
    std::fs::write(&file, format!("{key}\n")).expect("write key file");
    Settings::new("freshdesk", Default::default())
        .with("url", url)
        .with("api_key", format!("file:{}", file.display()))
}

/// A live account with the dataset's agents seated, as an admin would prepare it: its
/// own companies, contacts, groups, fields and tickets are there before the suite writes.
fn account(config: EmulatorConfig) -> FreshdeskEmulator {
    let config = EmulatorConfig {
        organizations: 2,
        users: 5,
        groups: 2,
        tickets: 4,
        comments_per_ticket: 1,
        custom_fields: true,
        ..config
    };
    let emulator = FreshdeskEmulator::start(config).expect("start emulator");
    emulator.add_agent("Ada Admin", "ada@helpdesk.example");
    emulator.add_agent("Grace Agent", "grace@helpdesk.example");
    emulator
}

fn conformance(config: EmulatorConfig, label: &str) {
    let emulator = account(config);
    let dir = tempfile::tempdir().expect("tempdir");
    let good = settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key");
    let bad = settings(&emulator.base_url(), "not-the-key", dir.path(), "bad-key");
    let started = Instant::now();
    Conformance::new(switchover_freshdesk::register(), good)
        .bad_credentials(bad)
        .run();
    eprintln!(
        "conformance ({label}) took {:.1}s, {} requests served",
        started.elapsed().as_secs_f64(),
        emulator.requests_served()
    );
    assert_eq!(emulator.emails_sent(), 0, "the run e-mailed someone");
}

#[test]
fn freshdesk_passes_the_conformance_suite() {
    conformance(EmulatorConfig::default(), "clean");
}

/// 429 bursts and latency: the HTTP kit waits out `Retry-After` for every request,
/// writes included. (5xx and resets on writes are left to the engine, see below.)
#[test]
fn freshdesk_passes_the_conformance_suite_through_429_bursts() {
    let config = EmulatorConfig {
        faults: "burst429=3,latency=1ms".parse().expect("faults"),
        ..EmulatorConfig::default()
    };
    conformance(config, "burst429=3,latency=1ms");
}

#[test]
fn preflight_names_the_active_automation_rules_and_the_notifications() {
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        triggers: 2,
        ..EmulatorConfig::default()
    })
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let target = switchover_freshdesk::Freshdesk::connect(&settings(
        &emulator.base_url(),
        &emulator.api_key(),
        dir.path(),
        "key",
    ))
    .expect("connect");
    let preflight = target.preflight().expect("preflight");
    let risks: Vec<&str> = preflight.risks.iter().map(|r| r.message.as_str()).collect();
    assert!(
        risks.iter().any(|r| r.contains("automation rule"))
            && preflight
                .risks
                .iter()
                .all(|r| r.name == switchover_adapter::TARGET_NOTIFICATIONS),
        "active rules are a notification risk: {risks:?}"
    );
    let text = preflight.warnings.join("\n");
    assert!(text.contains("Email Notifications"), "{text}");
}

/// Freshdesk refuses `/tickets` pages past 300; the source restarts from the last
/// `updated_at` and neither loses nor repeats a ticket (ceiling lowered to 3 pages).
#[test]
fn ticket_walk_restarts_past_the_page_ceiling_without_loss_or_repeats() {
    let emulator = FreshdeskEmulator::start_with_ticket_page_limit(
        EmulatorConfig {
            tickets: 40,
            users: 5,
            agents: 1,
            ..EmulatorConfig::default()
        },
        3,
    )
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key")
        .with("max_ticket_page", 3u64);
    let source = switchover_freshdesk::Freshdesk::connect(&settings).expect("connect");
    let mut seen = std::collections::BTreeSet::new();
    let mut request = PageRequest {
        page_size: Some(4),
        ..Default::default()
    };
    let mut pages = 0;
    loop {
        let page = source.read_page(Kind::Ticket, &request).expect("page");
        pages += 1;
        for record in page.records {
            assert!(
                seen.insert(record.id().to_string()),
                "{} twice",
                record.id()
            );
        }
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
        assert!(pages < 100, "the walk does not end");
    }
    // 40 generated, every 17th spam and every 19th deleted are left out by default.
    assert_eq!(seen.len(), 40 - 2 - 2, "pages read: {pages}");
    let with_deleted = switchover_freshdesk::Freshdesk::connect(
        &settings
            .clone()
            .with("include_deleted", true)
            .with("include_spam", true),
    )
    .expect("connect");
    let mut all = 0;
    let mut request = PageRequest {
        page_size: Some(100),
        ..Default::default()
    };
    loop {
        let page = with_deleted
            .read_page(Kind::Ticket, &request)
            .expect("page");
        all += page.records.len();
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(all, 40);
}

/// archive -> Freshdesk (with 5xx, resets and 429 bursts) -> archive through the engine;
/// both legs verify equal on the portable fields and the lossy fields are listed.
#[test]
fn archive_to_freshdesk_to_archive_verifies_on_the_portable_fields_despite_faults() {
    let emulator = account(EmulatorConfig {
        faults: "500=0.05,503=0.05,reset=0.01,burst429=5"
            .parse()
            .expect("faults"),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let fd_settings = settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key");
    let options = Options {
        batch_size: Some(10),
        backoff: std::time::Duration::from_millis(10),
        ..Options::default()
    };
    let started = Instant::now();
    let freshdesk = switchover_freshdesk::Freshdesk::connect(&fd_settings).expect("connect");
    // The live account's own tickets, there before the migration.
    let own_tickets = read_all(&freshdesk, Kind::Ticket).0 as u64;
    let source = switchover_freshdesk::Freshdesk::connect(&fd_settings).expect("connect");
    let dataset = switchover_testkit::Dataset::conformance();
    let run = switchover_testkit::archive_round_trip_of(&dataset, &freshdesk, &source, &options);
    assert_eq!(run.there.kinds[&Kind::Ticket].created, 4);
    let comment_lossy = run.lossy_fields(Kind::Comment);
    assert!(comment_lossy.contains(&"created_at") && comment_lossy.contains(&"author"));
    eprintln!(
        "archive -> freshdesk -> archive (faults on) in {:.1}s, {} requests served",
        started.elapsed().as_secs_f64(),
        emulator.requests_served()
    );
    assert_eq!(emulator.emails_sent(), 0, "the migration e-mailed someone");
    // The whole account comes back: the migrated tickets and its own.
    assert_eq!(run.back.kinds[&Kind::Ticket].created, 4 + own_tickets);
}

/// The demo migration: Zendesk emulator -> Freshdesk emulator -> a fresh Zendesk emulator
/// through the engine; each leg verifies equal on the fields both sides round-trip, and
/// the fields Freshdesk cannot keep are listed.
#[test]
fn zendesk_to_freshdesk_and_back_verifies_on_the_portable_fields() {
    use switchover_zendesk_emulator::ZendeskEmulator;

    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmulatorConfig {
        organizations: 3,
        users: 12,
        agents: 2,
        groups: 2,
        tickets: 12,
        comments_per_ticket: 3,
        attachment_share: 0.3,
        attachment_max_bytes: 64 * 1024,
        custom_fields: true,
        ..EmulatorConfig::empty()
    };
    let zendesk = ZendeskEmulator::start(config.clone()).expect("zendesk");
    let zd_settings = |emulator: &ZendeskEmulator, name: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, emulator.api_token()).expect("token file");
        Settings::new("zendesk", Default::default())
            .with("url", emulator.base_url())
            .with("email", emulator.email())
            .with("api_token", format!("file:{}", file.display()))
    };
    let source = switchover_zendesk::Zendesk::connect(&zd_settings(&zendesk, "zd-token"))
        .expect("zendesk source");
    // The Freshdesk admin seats the source's agents first (a migration never invites).
    let freshdesk = FreshdeskEmulator::start(EmulatorConfig::default()).expect("freshdesk");
    let generator = switchover_sandbox::generate::Generator::new(&config);
    for i in 1..=config.agents {
        let agent = generator.agent(i);
        freshdesk.add_agent(&agent.name, agent.email.as_deref().unwrap_or_default());
    }
    let fd_settings = settings(
        &freshdesk.base_url(),
        &freshdesk.api_key(),
        dir.path(),
        "fd-key",
    );
    let target = switchover_freshdesk::Freshdesk::connect(&fd_settings).expect("freshdesk target");
    let options = Options {
        batch_size: Some(20),
        backoff: std::time::Duration::from_millis(10),
        ..Options::default()
    };
    let started = Instant::now();
    let mut state = StateStore::open(&dir.path().join("zd-fd.sqlite")).expect("state");
    let moved = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("zendesk -> freshdesk");
    let there = started.elapsed();
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent)
        .expect("verify zendesk -> freshdesk");
    eprintln!(
        "zendesk -> freshdesk: {} failures, {:.1}s, {} zendesk + {} freshdesk requests",
        moved.failures.len(),
        there.as_secs_f64(),
        zendesk.requests_served(),
        freshdesk.requests_served()
    );
    for (kind, v) in &report.kinds {
        if !v.lossy.is_empty() {
            eprintln!(
                "  lossy {kind}: {}",
                v.lossy
                    .iter()
                    .map(|l| l.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    assert!(moved.failures.is_empty(), "failures: {:#?}", moved.failures);
    assert!(
        report.all_matched(),
        "zendesk -> freshdesk differs: {report:#?}"
    );
    assert_eq!(freshdesk.emails_sent(), 0, "the migration e-mailed someone");

    // Status and priority are compared through Freshdesk's own vocabulary (new is open,
    // no priority is low), not left out as lossy: a ticket whose status someone changes
    // on the target differs in `status`, by name.
    let tickets = &report.kinds[&Kind::Ticket];
    for field in ["status", "priority"] {
        assert!(
            tickets.fields.iter().any(|f| f == field),
            "verify compares {field}: {:?}",
            tickets.fields
        );
        assert!(
            tickets.lossy.iter().all(|l| l.field != field),
            "{field} is compared, so not lossy"
        );
    }
    let changed = state
        .target_id(Kind::Ticket, "1")
        .expect("state")
        .expect("ticket 1 migrated");
    let client = switchover_http::HttpClient::new(switchover_http::ClientConfig {
        auth: switchover_http::Auth::basic(
            freshdesk.api_key(),
            switchover_adapter::Secret::new("X"),
        ),
        ..switchover_http::ClientConfig::new(format!("{}/api/v2/", freshdesk.base_url()))
    })
    .expect("client");
    let current: serde_json::Value = client
        .send(switchover_http::Request::get(format!("tickets/{changed}")))
        .expect("GET ticket")
        .json()
        .expect("json");
    let other_status = if current["status"].as_u64() == Some(5) {
        3
    } else {
        5
    };
    client
        .send(
            switchover_http::Request::put(format!("tickets/{changed}"))
                .json(&serde_json::json!({ "status": other_status }))
                .expect("body"),
        )
        .expect("PUT ticket status");
    let after = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify again");
    let differing = &after.kinds[&Kind::Ticket].differing;
    assert_eq!(
        differing.len(),
        1,
        "exactly the changed ticket differs: {differing:?}"
    );
    assert!(
        format!("{differing:?}").contains("status"),
        "the difference is named status: {differing:?}"
    );
    client
        .send(
            switchover_http::Request::put(format!("tickets/{changed}"))
                .json(&serde_json::json!({ "status": current["status"] }))
                .expect("body"),
        )
        .expect("PUT the status back");

    let back = ZendeskEmulator::start(EmulatorConfig::empty()).expect("second zendesk");
    let fd_source =
        switchover_freshdesk::Freshdesk::connect(&fd_settings).expect("freshdesk source");
    let zd_target = switchover_zendesk::Zendesk::connect(&zd_settings(&back, "zd-token-2"))
        .expect("zendesk target");
    let mut state2 = StateStore::open(&dir.path().join("fd-zd.sqlite")).expect("state");
    let returned = migrate(
        &fd_source,
        &zd_target,
        &mut state2,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("freshdesk -> zendesk");
    let report2 = verify(&fd_source, &zd_target, &mut state2, &Kind::ALL, &Silent)
        .expect("verify freshdesk -> zendesk");
    eprintln!(
        "freshdesk -> zendesk: {} failures in {:.1}s in all",
        returned.failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        returned.failures.is_empty(),
        "failures: {:#?}",
        returned.failures
    );
    assert!(
        report2.all_matched(),
        "freshdesk -> zendesk differs: {report2:#?}"
    );
}

fn read_all(source: &switchover_freshdesk::Freshdesk, kind: Kind) -> (usize, usize) {
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
        assert!(pages < 100_000, "{kind} never ends");
    }
    (ids.len(), pages)
}

/// Every kind of a seeded account reads to the end, paging past 100 records.
#[test]
fn a_seeded_account_reads_every_kind() {
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 250,
        comments_per_ticket: 2,
        users: 150,
        ..EmulatorConfig::small(7)
    })
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let source = switchover_freshdesk::Freshdesk::connect(
        &settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key")
            .with("include_deleted", true)
            .with("include_spam", true),
    )
    .expect("connect");
    let capabilities = Source::capabilities(&source);
    let mut counts = Vec::new();
    for kind in Kind::ALL {
        if !kind.is_streamed() || !capabilities.supports(kind, Operation::Read) {
            continue;
        }
        let (records, pages) = read_all(&source, kind);
        counts.push(format!("{kind}={records} ({pages} pages)"));
        let at_least = match kind {
            Kind::Ticket => 250,
            // The description and one conversation per ticket.
            Kind::Comment => 500,
            Kind::User => 150,
            Kind::FieldDefinition | Kind::KbArticle | Kind::Macro | Kind::SatisfactionRating => 1,
            _ => 0,
        };
        assert!(records >= at_least, "{kind}: only {records} read");
    }
    eprintln!("read {}", counts.join(", "));
    // Roles come from /roles: only the administrator reads as an admin.
    let users = source
        .read_page(Kind::User, &PageRequest::default())
        .expect("agents");
    let admins = users
        .records
        .iter()
        .filter(|r| matches!(r, switchover_model::Record::User(u) if u.role == switchover_model::UserRole::Admin))
        .count();
    assert_eq!(admins, 1);
}

/// Benchmark: `SWITCHOVER_BENCH_TICKETS=20000 cargo test --release -p switchover-freshdesk
/// --test conformance -- --ignored --nocapture bench_extraction` (3 comments per ticket).
#[test]
#[ignore = "benchmark; run by hand"]
fn bench_extraction() {
    let tickets: usize = std::env::var("SWITCHOVER_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let started = Instant::now();
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        tickets,
        comments_per_ticket: 3,
        attachment_share: 0.0,
        ..EmulatorConfig::small(11)
    })
    .expect("start");
    eprintln!(
        "seeded {tickets} tickets in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let source = switchover_freshdesk::Freshdesk::connect(&settings(
        &emulator.base_url(),
        &emulator.api_key(),
        dir.path(),
        "key",
    ))
    .expect("connect");
    let before = emulator.requests_served();
    let started = Instant::now();
    let mut records = 0;
    for kind in [Kind::User, Kind::Ticket, Kind::Comment] {
        records += read_all(&source, kind).0;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "extracted {records} records ({tickets} tickets) in {seconds:.1}s: {:.0} records/s, {} requests",
        records as f64 / seconds,
        emulator.requests_served() - before
    );
}

/// Benchmark: share of a 400 credits/minute budget (Pro) used over 2 minutes of comment
/// extraction (each ticket page costs 3 credits with `include=description`, each ticket's
/// conversations 1). `cargo test --release -p switchover-freshdesk --test conformance --
/// --ignored --nocapture bench_budget_share`.
#[test]
#[ignore = "benchmark; run by hand"]
fn bench_budget_share() {
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 5_000,
        comments_per_ticket: 2,
        rpm: Some(400),
        ..EmulatorConfig::small(12)
    })
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let source = switchover_freshdesk::Freshdesk::connect(
        &settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key")
            .with("requests_per_minute", 400u64),
    )
    .expect("connect");
    let started = Instant::now();
    let before = emulator.requests_served();
    let mut request = PageRequest::default();
    let mut comments = 0;
    while started.elapsed().as_secs() < 120 {
        let page = source.read_page(Kind::Comment, &request).expect("read");
        comments += page.records.len();
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let served = emulator.requests_served() - before;
    eprintln!(
        "{served} requests ({comments} comments) in {minutes:.2} min = {:.0} requests/min against a 400 credits/min budget",
        served as f64 / minutes
    );
}

/// Benchmark: a Zendesk emulator account migrated into a Freshdesk emulator through the
/// engine. `SWITCHOVER_BENCH_TICKETS=2000 cargo test --release -p switchover-freshdesk
/// --test conformance -- --ignored --nocapture bench_zendesk_to_freshdesk`.
#[test]
#[ignore = "benchmark; run by hand"]
fn bench_zendesk_to_freshdesk() {
    use switchover_zendesk_emulator::ZendeskEmulator;

    let tickets: usize = std::env::var("SWITCHOVER_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmulatorConfig {
        organizations: 20,
        users: tickets / 4,
        agents: 5,
        groups: 3,
        tickets,
        comments_per_ticket: 3,
        attachment_share: 0.1,
        attachment_max_bytes: 32 * 1024,
        custom_fields: true,
        ..EmulatorConfig::empty()
    };
    let zendesk = ZendeskEmulator::start(config.clone()).expect("zendesk");
    let file = dir.path().join("zd-token");
    std::fs::write(&file, zendesk.api_token()).expect("token file");
    let source = switchover_zendesk::Zendesk::connect(
        &Settings::new("zendesk", Default::default())
            .with("url", zendesk.base_url())
            .with("email", zendesk.email())
            .with("api_token", format!("file:{}", file.display())),
    )
    .expect("zendesk source");
    let freshdesk = FreshdeskEmulator::start(EmulatorConfig::default()).expect("freshdesk");
    let generator = switchover_sandbox::generate::Generator::new(&config);
    for i in 1..=config.agents {
        let agent = generator.agent(i);
        freshdesk.add_agent(&agent.name, agent.email.as_deref().unwrap_or_default());
    }
    let target = switchover_freshdesk::Freshdesk::connect(&settings(
        &freshdesk.base_url(),
        &freshdesk.api_key(),
        dir.path(),
        "fd-key",
    ))
    .expect("freshdesk target");
    let mut state = StateStore::open(&dir.path().join("bench.sqlite")).expect("state");
    let started = Instant::now();
    let moved = migrate(
        &source,
        &target,
        &mut state,
        &Options::default(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    let seconds = started.elapsed().as_secs_f64();
    let records: u64 = moved.kinds.values().map(|k| k.created).sum();
    eprintln!(
        "zendesk -> freshdesk: {records} records ({tickets} tickets) in {seconds:.1}s = {:.0} records/s; {} freshdesk requests ({:.2} per record), {} zendesk requests, {} failures",
        records as f64 / seconds,
        freshdesk.requests_served(),
        freshdesk.requests_served() as f64 / records.max(1) as f64,
        zendesk.requests_served(),
        moved.failures.len()
    );
}

/// What a live account holds that a migration must leave as it was: groups, companies,
/// agents and the field definitions, as Freshdesk's API lists them (times of the last
/// change left out).
fn account_snapshot(
    freshdesk: &FreshdeskEmulator,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use switchover_http::{Auth, ClientConfig, HttpClient, Request};
    let client = HttpClient::new(ClientConfig {
        auth: Auth::basic(freshdesk.api_key(), switchover_adapter::Secret::new("X")),
        ..ClientConfig::new(format!("{}/api/v2/", freshdesk.base_url()))
    })
    .expect("client");
    let mut snapshot = std::collections::BTreeMap::new();
    for path in [
        "groups",
        "companies",
        "agents",
        "admin/ticket_fields",
        "admin/contact_fields",
        "admin/company_fields",
    ] {
        let mut list: serde_json::Value = client
            .send(Request::get(path).query("per_page", "100"))
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .expect("json");
        if let Some(items) = list.as_array_mut() {
            for item in items.iter_mut() {
                if let Some(map) = item.as_object_mut() {
                    map.remove("updated_at");
                }
            }
            items.sort_by_key(|i| i["id"].as_u64());
        }
        snapshot.insert(path.to_string(), list);
    }
    snapshot
}

/// The target is a live account: it already holds the groups, companies and contact
/// and company fields the source has (same names). The migration adopts them, counts
/// them apart from what it created, verifies, and a rollback gives them back exactly as
/// they were while deleting everything it created.
#[test]
fn rollback_on_a_live_account_leaves_what_it_had_as_it_was() {
    use switchover_zendesk_emulator::ZendeskEmulator;

    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmulatorConfig {
        organizations: 3,
        users: 6,
        agents: 2,
        groups: 2,
        tickets: 6,
        comments_per_ticket: 2,
        custom_fields: true,
        ..EmulatorConfig::empty()
    };
    let zendesk = ZendeskEmulator::start(config.clone()).expect("zendesk");
    let token = dir.path().join("zd-token");
    std::fs::write(&token, zendesk.api_token()).expect("token file");
    let source = switchover_zendesk::Zendesk::connect(
        &Settings::new("zendesk", Default::default())
            .with("url", zendesk.base_url())
            .with("email", zendesk.email())
            .with("api_token", format!("file:{}", token.display())),
    )
    .expect("zendesk source");
    // The live account: the same companies, groups, agents and fields, no tickets yet.
    let freshdesk = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 0,
        users: 0,
        ..config.clone()
    })
    .expect("freshdesk");
    let before = account_snapshot(&freshdesk);
    assert!(
        before["groups"].as_array().is_some_and(|g| g.len() >= 2)
            && before["companies"].as_array().is_some_and(|c| c.len() >= 3),
        "the account is not empty: {before:#?}"
    );
    let fd_settings = settings(
        &freshdesk.base_url(),
        &freshdesk.api_key(),
        dir.path(),
        "fd-key",
    );
    let target = switchover_freshdesk::Freshdesk::connect(&fd_settings).expect("freshdesk target");
    let options = Options {
        batch_size: Some(20),
        backoff: std::time::Duration::from_millis(10),
        ..Options::default()
    };
    let mut state = StateStore::open(&dir.path().join("zd-fd.sqlite")).expect("state");
    let moved = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("zendesk -> freshdesk");
    assert!(moved.failures.is_empty(), "failures: {:#?}", moved.failures);
    for kind in [Kind::Group, Kind::Organization, Kind::FieldDefinition] {
        assert!(
            moved.kinds[&kind].adopted > 0,
            "{kind}: the account's own records are adopted, not created: {:?}",
            moved.kinds[&kind]
        );
    }
    assert_eq!(
        moved.kinds[&Kind::Organization].created,
        0,
        "{:?}",
        moved.kinds
    );
    assert!(moved.kinds[&Kind::Ticket].created > 0);
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(
        report.all_matched(),
        "zendesk -> live freshdesk differs: {report:#?}"
    );

    let undone = switchover_engine::rollback(&target, &mut state, &Silent).expect("rollback");
    assert!(undone.failed.is_empty(), "{:#?}", undone.failed);
    assert!(
        undone.released.get(&Kind::Group).copied().unwrap_or(0) >= 2,
        "{undone:#?}"
    );
    assert!(
        undone.deleted.get(&Kind::Ticket).copied().unwrap_or(0) > 0,
        "{undone:#?}"
    );
    let after = account_snapshot(&freshdesk);
    for (path, was) in &before {
        assert_eq!(&after[path], was, "{path} changed by migrate + rollback");
    }
    let tickets = switchover_freshdesk::Freshdesk::connect(&fd_settings)
        .expect("connect")
        .read_page(Kind::Ticket, &PageRequest::default())
        .expect("tickets")
        .records;
    assert!(
        tickets.is_empty(),
        "rollback left tickets: {}",
        tickets.len()
    );
}

/// Active automation rules would e-mail customers about every migrated ticket: the run
/// stops before its first write and says how to go on; a plan that accepts the risk by
/// name goes ahead.
#[test]
fn active_automation_rules_stop_the_migration_unless_the_plan_accepts_the_risk() {
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        triggers: 2,
        ..EmulatorConfig::default()
    })
    .expect("start");
    emulator.add_agent("Ada Admin", "ada@helpdesk.example");
    emulator.add_agent("Grace Agent", "grace@helpdesk.example");
    let dir = tempfile::tempdir().expect("tempdir");
    let archive_dir = dir.path().join("src");
    {
        let dataset = switchover_testkit::Dataset::conformance();
        let seed = switchover_archive::Archive::open_target(&archive_dir).expect("seed");
        dataset.seed(&seed, &dataset).expect("seed");
    }
    let source = switchover_archive::Archive::open_source(&archive_dir).expect("source");
    let target = switchover_freshdesk::Freshdesk::connect(&settings(
        &emulator.base_url(),
        &emulator.api_key(),
        dir.path(),
        "key",
    ))
    .expect("connect");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let served = emulator.requests_served();
    let refused = migrate(
        &source,
        &target,
        &mut state,
        &Options::default(),
        &Silent,
        &Cancel::new(),
    )
    .expect_err("the risk stops the run");
    let text = refused.to_string();
    assert!(text.contains("automation rule"), "{text}");
    assert!(
        text.contains("accept_risks = [\"target_notifications\"]"),
        "{text}"
    );
    assert!(
        emulator.requests_served() - served < 10,
        "only the preflight reads ran before the stop"
    );
    assert!(
        read_all(&target, Kind::Ticket).0 == 0,
        "nothing was written"
    );
    let accepted = Options {
        accept_risks: vec![switchover_adapter::TARGET_NOTIFICATIONS.into()],
        ..Options::default()
    };
    let moved = migrate(
        &source,
        &target,
        &mut state,
        &accepted,
        &Silent,
        &Cancel::new(),
    )
    .expect("accepted, the run goes ahead");
    assert!(moved.kinds[&Kind::Ticket].created > 0);
}

/// A saved cursor that does not read (edited, or from another version) is an error that
/// says so; the walk never silently starts over from the first ticket.
#[test]
fn a_corrupt_cursor_is_an_error_not_a_restart() {
    let emulator = account(EmulatorConfig::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let source = switchover_freshdesk::Freshdesk::connect(&settings(
        &emulator.base_url(),
        &emulator.api_key(),
        dir.path(),
        "key",
    ))
    .expect("connect");
    for (kind, cursor) in [
        (Kind::Ticket, "t|zero|2026-01-01T00:00:00Z|1|100"),
        (Kind::Ticket, "garbage"),
        (Kind::Organization, "page-two|100"),
        (Kind::User, "x|1|100"),
    ] {
        let request = PageRequest {
            cursor: Some(switchover_adapter::Cursor(cursor.into())),
            ..Default::default()
        };
        let error = source
            .read_page(kind, &request)
            .expect_err("a corrupt cursor must not read");
        assert!(
            error.to_string().contains("cannot be read") && error.stops_run(),
            "{kind} '{cursor}': {error}"
        );
    }
    assert!(
        read_all(&source, Kind::Ticket).0 > 0,
        "a fresh walk still reads"
    );
}

/// Tickets `t-000`.. each with one comment `t-NNN-c0`, in a new archive at `path`.
fn tickets_with_one_comment(path: &Path, tickets: usize) {
    use switchover_adapter::{Target, WriteRequest};
    use switchover_model::{Comment, Entity, Ticket, TicketStatus};
    let archive = switchover_archive::Archive::open_target(path).expect("archive");
    let content = switchover_testkit::Dataset::conformance();
    let (mut ts, mut cs) = (Vec::new(), Vec::new());
    for i in 0..tickets {
        ts.push(WriteRequest::create(
            Ticket {
                id: format!("t-{i:03}"),
                subject: format!("ticket {i}"),
                status: TicketStatus::Open,
                created_at: "2024-01-01T00:00:00Z".parse().ok(),
                updated_at: "2024-01-02T00:00:00Z".parse().ok(),
                ..Default::default()
            }
            .into_record(),
        ));
        cs.push(WriteRequest::create(
            Comment {
                id: format!("t-{i:03}-c0"),
                ticket: switchover_model::Ref::new(format!("t-{i:03}")),
                public: false,
                body_text: format!("the comment on ticket {i}"),
                created_at: "2024-01-01T00:00:00Z".parse().ok(),
                ..Default::default()
            }
            .into_record(),
        ));
    }
    archive
        .write_batch(Kind::Ticket, &ts, &content)
        .expect("tickets");
    archive
        .write_batch(Kind::Comment, &cs, &content)
        .expect("comments");
}

/// How many notes on the target carry each source marker, read through Freshdesk's own
/// API (not the state store).
fn notes_by_marker(settings: &Settings) -> std::collections::BTreeMap<String, usize> {
    use switchover_adapter::Target;
    let target = switchover_freshdesk::Freshdesk::connect(settings).expect("connect");
    let mut counts = std::collections::BTreeMap::new();
    let mut request = PageRequest::default();
    loop {
        let page = target
            .read_back(Kind::Comment, &request)
            .expect("read back");
        for read in page.records {
            if let Some(marker) = read.source_id {
                *counts.entry(marker).or_insert(0) += 1;
            }
        }
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return counts,
        }
    }
}

/// Regression: after a note's answer was lost, the engine asked what landed and the
/// adapter rescanned every ticket's conversations, walking tickets by `updated_at`; a
/// note another writer added meanwhile moved a ticket off the first page, the walk
/// skipped the ticket holding the landed note, and the note was written a second time
/// (an orphan no state row knows). Issue 18.
#[test]
fn a_note_whose_answer_was_lost_is_found_where_it_is_and_not_written_twice() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let emulator = FreshdeskEmulator::start(EmulatorConfig::empty()).expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    // One ticket more than a page of the walk (100), so the walk has a second page.
    tickets_with_one_comment(&src, 101);
    let fd = settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key");
    // The answer to the note of the last ticket is lost after it landed; right after,
    // another writer adds a note to a ticket on the page being walked, a second later.
    let lost = Arc::new(AtomicBool::new(false));
    let fired = AtomicBool::new(false);
    let armed = lost.clone();
    let auth = switchover_sandbox::auth::basic_header(&emulator.api_key(), "X");
    emulator.interleave(move |request| {
        let mut around = Interleaved::default();
        let Some(rest) = request.path.strip_prefix("/api/v2/tickets/") else {
            return around;
        };
        if request.method == "POST"
            && rest.ends_with("/notes")
            && String::from_utf8_lossy(&request.body).contains("<code>t-100-c0</code>")
            && !armed.swap(true, Ordering::SeqCst)
        {
            around.lose_answer = true;
            return around;
        }
        let Some(ticket) = rest.strip_suffix("/conversations") else {
            return around;
        };
        if request.method != "GET"
            || !armed.load(Ordering::SeqCst)
            || fired.swap(true, Ordering::SeqCst)
        {
            return around;
        }
        // Stored times have whole seconds: a later second orders the ticket last.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        around.before.push(switchover_sandbox::Request {
            method: "POST".into(),
            path: format!("/api/v2/tickets/{ticket}/notes"),
            headers: vec![
                ("authorization".into(), auth.clone()),
                ("content-type".into(), "application/json".into()),
            ],
            body: br#"{"body":"<p>another agent's note</p>","private":true}"#.to_vec(),
            ..Default::default()
        });
        around
    });
    let target = switchover_freshdesk::Freshdesk::connect(&fd).expect("connect");
    let source = switchover_archive::Archive::open_source(&src).expect("source");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let options = Options {
        kinds: vec![Kind::Ticket, Kind::Comment],
        concurrency: 1,
        batch_size: Some(1),
        backoff: std::time::Duration::from_millis(5),
        ..Options::default()
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
    assert!(lost.load(Ordering::SeqCst), "the answer was never lost");
    let notes = notes_by_marker(&fd);
    let twice: Vec<(&String, &usize)> = notes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "notes written more than once: {twice:?}");
    assert_eq!(notes.len(), 101, "every comment is on the target once");
}

/// The dry run's sample tickets show the value a field will hold on Freshdesk where
/// Freshdesk keeps it by a rule of its own (a ticket with no priority gets Low), by the
/// write's own conversion, not only the rule in words.
#[test]
fn dry_run_samples_show_the_value_freshdesk_will_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let dataset = switchover_testkit::Dataset::conformance();
    switchover_testkit::seed_archive(&src, &dataset);
    let source = switchover_archive::Archive::open_source(&src).expect("source");
    let emulator = account(EmulatorConfig::default());
    let target = switchover_freshdesk::Freshdesk::connect(&settings(
        &emulator.base_url(),
        &emulator.api_key(),
        dir.path(),
        "fd-key",
    ))
    .expect("freshdesk");
    let options = Options {
        samples: 4,
        ..Options::default()
    };
    let report =
        switchover_engine::dry_run(&source, &target, &options, None, &Silent, &Cancel::new())
            .expect("dry run");
    let t4 = report
        .samples
        .iter()
        .find(|s| s.ticket.source_id == "t-4")
        .expect("t-4 sampled");
    let priority = t4
        .ticket
        .fields
        .iter()
        .find(|f| f.field == "priority")
        .expect("priority sampled");
    assert!(
        priority.value.is_null(),
        "t-4 has no priority in the source"
    );
    assert_eq!(
        priority.after,
        Some(serde_json::json!("low")),
        "Freshdesk will hold Low"
    );
    let subject = t4.ticket.fields.iter().find(|f| f.field == "subject");
    assert_eq!(
        subject.and_then(|f| f.after.clone()),
        None,
        "a kept field has no after-value"
    );
}

/// Freshdesk answering reads malformed (a value of another type, a key missing, the
/// text cut short): every kind reads page by page into records or an error naming
/// Freshdesk, never a panic.
fn read_through_malformed_answers(seed: u64) -> switchover_testkit::malformed::MalformedReads {
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = account(EmulatorConfig {
        seed,
        faults: "mangle=0.3".parse().expect("faults"),
        ..EmulatorConfig::default()
    });
    let freshdesk = switchover_freshdesk::Freshdesk::connect(&settings(
        &emulator.base_url(),
        &emulator.api_key(),
        dir.path(),
        "fd-key",
    ))
    .expect("connect");
    switchover_testkit::malformed::read_through_malformed_answers(&freshdesk, 40)
}

switchover_testkit::malformed_answer_tests!(read_through_malformed_answers, "freshdesk");

/// The ids of every record of a kind a source reads.
fn ids_read(source: &switchover_freshdesk::Freshdesk, kind: Kind) -> Vec<switchover_model::Record> {
    let mut request = PageRequest {
        page_size: Some(100),
        ..Default::default()
    };
    let mut records = Vec::new();
    loop {
        let page = source
            .read_page(kind, &request)
            .unwrap_or_else(|e| panic!("reading {kind}: {e}"));
        records.extend(page.records);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return records,
        }
    }
}

/// Regression: a read of an account with deleted and spam tickets (left out by default)
/// still read their satisfaction ratings, which then failed on the target for want of
/// their ticket; a read leaves them out with their tickets.
#[test]
fn ratings_of_tickets_the_read_leaves_out_are_left_out_too() {
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 120,
        comments_per_ticket: 1,
        ..EmulatorConfig::small(7)
    })
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(&emulator.base_url(), &emulator.api_key(), dir.path(), "key");
    let ticket_of = |r: &switchover_model::Record| match r {
        switchover_model::Record::SatisfactionRating(r) => r.ticket.id().to_string(),
        _ => String::new(),
    };
    let ids = |records: Vec<switchover_model::Record>| -> std::collections::BTreeSet<String> {
        records.iter().map(|r| r.id().to_string()).collect()
    };
    let everything = switchover_freshdesk::Freshdesk::connect(
        &settings
            .clone()
            .with("include_deleted", true)
            .with("include_spam", true),
    )
    .expect("connect");
    let default = switchover_freshdesk::Freshdesk::connect(&settings).expect("connect");
    let tickets = ids(ids_read(&default, Kind::Ticket));
    let all_ratings = ids_read(&everything, Kind::SatisfactionRating);
    assert!(
        all_ratings.iter().any(|r| !tickets.contains(&ticket_of(r))),
        "the account has no rating of a deleted or spam ticket to test with"
    );
    let ratings = ids_read(&default, Kind::SatisfactionRating);
    assert!(!ratings.is_empty(), "no rating was read");
    for rating in &ratings {
        assert!(
            tickets.contains(&ticket_of(rating)),
            "rating {} of ticket {} is read without its ticket",
            rating.id(),
            ticket_of(rating)
        );
    }
    assert_eq!(
        ratings.len(),
        all_ratings
            .iter()
            .filter(|r| tickets.contains(&ticket_of(r)))
            .count()
    );
}
