//! Help Scout specifics: migrations through the engine (archive round trip despite 5xx,
//! resets and 429s; Zendesk → Help Scout → Zendesk), nobody e-mailed, tokens renewed,
//! and what a person must prepare named clearly.

mod common;

use std::time::Instant;

use switchover_adapter::{ErrorKind, Settings, Source, Target, WriteRequest};
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, migrate, verify};
use switchover_helpscout::HelpScout;
use switchover_helpscout_emulator::HelpScoutEmulator;
use switchover_model::{Group, Kind, Record, User, UserRole};
use switchover_sandbox::EmulatorConfig;

fn options() -> Options {
    Options {
        batch_size: Some(10),
        backoff: std::time::Duration::from_millis(10),
        ..Options::default()
    }
}

/// archive → Help Scout (5xx, resets, 429 bursts) → archive: both legs verify equal on
/// the portable fields, the account's own conversations come back too, nobody is
/// e-mailed.
#[test]
fn archive_to_helpscout_to_archive_verifies_despite_faults() {
    let emulator = common::account(EmulatorConfig {
        faults: "500=0.05,503=0.05,reset=0.01,burst429=5"
            .parse()
            .expect("faults"),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = common::settings(&emulator, &emulator.client_secret(), dir.path(), "secret");
    let target = HelpScout::connect(&settings).expect("connect");
    let own = count(&target, Kind::Ticket);
    let source = HelpScout::connect(&settings).expect("connect");
    let started = Instant::now();
    let run =
        switchover_testkit::archive_round_trip_of(&common::dataset(), &target, &source, &options());
    eprintln!(
        "archive -> helpscout -> archive (faults on) in {:.1}s, {} requests served",
        started.elapsed().as_secs_f64(),
        emulator.requests_served()
    );
    // A write whose answer a reset cut off is found again by its marker (reconciled).
    let tickets = &run.there.kinds[&Kind::Ticket];
    assert_eq!(tickets.created + tickets.reconciled, 4, "{tickets:?}");
    // Status is compared through Help Scout's three statuses, not left out as lossy.
    assert!(!run.lossy_fields(Kind::Ticket).contains(&"status"));
    assert!(run.lossy_fields(Kind::Ticket).contains(&"priority"));
    let back = &run.back.kinds[&Kind::Ticket];
    assert_eq!(back.created + back.reconciled, 4 + own, "{back:?}");
    assert_eq!(emulator.emails_sent(), 0, "the migration e-mailed someone");
}

fn count(source: &HelpScout, kind: Kind) -> u64 {
    source
        .count(kind)
        .expect("count")
        .expect("Help Scout counts conversations")
}

fn zendesk_settings(
    emulator: &switchover_zendesk_emulator::ZendeskEmulator,
    dir: &std::path::Path,
    name: &str,
) -> Settings {
    let file = dir.join(name);
    std::fs::write(&file, emulator.api_token()).expect("token file");
    Settings::new("zendesk", Default::default())
        .with("url", emulator.base_url())
        .with("email", emulator.email())
        .with("api_token", format!("file:{}", file.display()))
}

/// Scenario 2's direction and back: a Zendesk account moves into Help Scout (the admin
/// invited its agents and created its groups as mailboxes), then Help Scout into a
/// fresh Zendesk; each leg verifies equal on the fields both sides round-trip, and what
/// Help Scout cannot keep is listed.
#[test]
fn zendesk_to_helpscout_and_back_verifies_on_the_portable_fields() {
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
        kb_articles: 4,
        macros: 3,
        ..EmulatorConfig::empty()
    };
    let zendesk = ZendeskEmulator::start(config.clone()).expect("zendesk");
    let source =
        switchover_zendesk::Zendesk::connect(&zendesk_settings(&zendesk, dir.path(), "zd"))
            .expect("zendesk source");
    let helpscout = HelpScoutEmulator::start(EmulatorConfig {
        tickets: 3,
        users: 4,
        organizations: 1,
        ..EmulatorConfig::empty()
    })
    .expect("helpscout");
    let generator = switchover_sandbox::generate::Generator::new(&config);
    for i in 1..=config.agents {
        let agent = generator.agent(i);
        let (first, last) = agent.name.split_once(' ').unwrap_or((&agent.name, ""));
        helpscout.add_user(first, last, agent.email.as_deref().unwrap_or_default());
    }
    // Zendesk's own admin (agent 0) is the Help Scout account's owner already.
    for i in 0..config.groups {
        helpscout.add_mailbox(
            &generator.group(i).name,
            &format!("group{i}@helpdesk.example"),
        );
    }
    let hs_settings = common::settings(&helpscout, &helpscout.client_secret(), dir.path(), "hs");
    let target = HelpScout::connect(&hs_settings).expect("helpscout target");
    let started = Instant::now();
    let mut state = StateStore::open(&dir.path().join("zd-hs.sqlite")).expect("state");
    let kinds = vec![
        Kind::Organization,
        Kind::User,
        Kind::Group,
        Kind::Ticket,
        Kind::Comment,
        Kind::KbCategory,
        Kind::KbSection,
        Kind::KbArticle,
        Kind::Macro,
    ];
    let options = Options {
        kinds: kinds.clone(),
        ..options()
    };
    let moved = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("zendesk -> helpscout");
    assert!(moved.failures.is_empty(), "failures: {:#?}", moved.failures);
    let report = verify(&source, &target, &mut state, &kinds, &Silent).expect("verify");
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
    assert!(
        report.all_matched(),
        "zendesk -> helpscout differs: {report:#?}"
    );
    assert_eq!(helpscout.emails_sent(), 0, "the migration e-mailed someone");
    eprintln!(
        "zendesk -> helpscout in {:.1}s: {} tickets, {} comments",
        started.elapsed().as_secs_f64(),
        moved.kinds[&Kind::Ticket].created,
        moved.kinds[&Kind::Comment].created
    );

    let back = ZendeskEmulator::start(EmulatorConfig::empty()).expect("second zendesk");
    let hs_source = HelpScout::connect(&hs_settings).expect("helpscout source");
    let zd_target =
        switchover_zendesk::Zendesk::connect(&zendesk_settings(&back, dir.path(), "zd2"))
            .expect("zendesk target");
    let mut state2 = StateStore::open(&dir.path().join("hs-zd.sqlite")).expect("state");
    let returned = migrate(
        &hs_source,
        &zd_target,
        &mut state2,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("helpscout -> zendesk");
    assert!(
        returned.failures.is_empty(),
        "failures: {:#?}",
        returned.failures
    );
    let report2 = verify(&hs_source, &zd_target, &mut state2, &kinds, &Silent).expect("verify");
    assert!(
        report2.all_matched(),
        "helpscout -> zendesk differs: {report2:#?}"
    );
    // The whole Help Scout account went back: its own conversations and the migrated.
    assert_eq!(
        returned.kinds[&Kind::Ticket].created,
        moved.kinds[&Kind::Ticket].created + 3
    );
}

/// An expired token is renewed once and the request goes through; a wrong secret is an
/// authentication error, not a retry loop.
#[test]
fn an_expired_token_is_renewed_and_a_wrong_secret_is_an_authentication_error() {
    let emulator = HelpScoutEmulator::start(EmulatorConfig::default()).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let helpscout = common::connect(&emulator, dir.path());
    Source::check(&helpscout).expect("first call");
    emulator.expire_tokens();
    Source::check(&helpscout).expect("a call after the token expired");
    let wrong = HelpScout::connect(&common::settings(&emulator, "wrong", dir.path(), "bad"))
        .expect("connect");
    let error = Source::check(&wrong).expect_err("a wrong secret");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{error}");
    assert!(
        !error.to_string().contains("wrong"),
        "the secret leaked: {error}"
    );
}

/// Agents, mailboxes and fields cannot be created through the API: an unmatched one is
/// refused for that record alone, saying what a person must do, and the dry run
/// predicts the same refusal.
#[test]
fn an_uninvited_agent_and_a_missing_mailbox_are_refused_saying_what_to_do() {
    use switchover_adapter::{Prediction, TargetInfo};
    let emulator = HelpScoutEmulator::start(EmulatorConfig::default()).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let helpscout = common::connect(&emulator, dir.path());
    let agent = WriteRequest::create(Record::User(User {
        id: "u-9".into(),
        name: "Nora New".into(),
        email: Some("nora@helpdesk.example".into()),
        role: UserRole::Agent,
        ..Default::default()
    }));
    let mailbox = WriteRequest::create(Record::Group(Group {
        id: "g-9".into(),
        name: "VIP Desk".into(),
        ..Default::default()
    }));
    for (kind, request, says) in [
        (Kind::User, agent, "invite the agent"),
        (Kind::Group, mailbox, "create it in Help Scout"),
    ] {
        let outcome = helpscout
            .write_batch(
                kind,
                std::slice::from_ref(&request),
                &switchover_testkit::Dataset::conformance(),
            )
            .expect("the batch")
            .remove(0);
        let error = outcome.result.expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::InvalidRecord);
        assert!(error.to_string().contains(says), "{error}");
        match helpscout.predict(kind, &request).expect("predict") {
            Prediction::Refuse(predicted) => assert_eq!(predicted.to_string(), error.to_string()),
            other => panic!("predicted {other:?} for a refused {kind}"),
        }
    }
    assert!(matches!(
        helpscout
            .predict(
                Kind::Group,
                &WriteRequest::create(Record::Group(Group {
                    id: "g-1".into(),
                    name: "support".into(),
                    ..Default::default()
                }))
            )
            .expect("predict"),
        Prediction::AdoptAs(_)
    ));
}

/// A webhook moves with its events translated by meaning; a Zendesk webhook that only
/// triggers call (`conditional_ticket_events`) has no Help Scout equivalent and is
/// refused for that record, saying what a person must choose.
#[test]
fn webhooks_move_with_their_events_translated_or_are_refused_saying_why() {
    use switchover_model::Webhook;
    let emulator = HelpScoutEmulator::start(EmulatorConfig::default()).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let helpscout = common::connect(&emulator, dir.path());
    let hook = |id: &str, events: &[&str]| {
        WriteRequest::create(Record::Webhook(Webhook {
            id: id.into(),
            name: format!("CRM {id}"),
            endpoint: "https://crm.example/hooks".into(),
            method: "POST".into(),
            format: "json".into(),
            active: true,
            subscriptions: events.iter().map(|e| e.to_string()).collect(),
            ..Default::default()
        }))
    };
    let dataset = switchover_testkit::Dataset::conformance();
    let outcomes = helpscout
        .write_batch(
            Kind::Webhook,
            &[
                hook("w-1", &["zen:event-type:ticket.created", "ticket.solved"]),
                hook("w-2", &["conditional_ticket_events"]),
            ],
            &dataset,
        )
        .expect("the batch");
    let written = outcomes[0].result.clone().expect("w-1 written");
    let refused = outcomes[1].result.clone().expect_err("w-2 refused");
    assert_eq!(refused.kind(), ErrorKind::InvalidRecord);
    assert!(
        refused.to_string().contains("choose the events by hand"),
        "{refused}"
    );
    let read = helpscout
        .read_page(Kind::Webhook, &switchover_adapter::PageRequest::default())
        .expect("webhooks");
    let Some(Record::Webhook(back)) = read.records.iter().find(|r| r.id() == written) else {
        panic!("the webhook is not read back: {:?}", read.records);
    };
    assert_eq!(back.name, "CRM w-1", "the marker is left out of the name");
    let events: Vec<&str> = back.subscriptions.iter().map(String::as_str).collect();
    assert_eq!(events, ["convo.created", "convo.status"]);
}

/// A seeded account reads to the end in every kind the adapter reads, past the fixed
/// page sizes (25 conversations, 50 of the rest); workflows come with what a person
/// must rebuild.
#[test]
fn a_seeded_account_reads_every_kind() {
    use switchover_adapter::{Operation, PageRequest};
    let emulator = HelpScoutEmulator::start(EmulatorConfig {
        tickets: 60,
        users: 70,
        ..EmulatorConfig::small(3)
    })
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let helpscout = common::connect(&emulator, dir.path());
    let capabilities = Source::capabilities(&helpscout);
    let mut counts = Vec::new();
    for kind in Kind::ALL {
        if !kind.is_streamed() || !capabilities.supports(kind, Operation::Read) {
            continue;
        }
        let mut request = PageRequest::default();
        let mut ids = std::collections::BTreeSet::new();
        let mut records = Vec::new();
        loop {
            let page = helpscout.read_page(kind, &request).expect("page");
            for record in page.records {
                assert!(
                    ids.insert(record.id().to_string()),
                    "{kind} {} twice",
                    record.id()
                );
                records.push(record);
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        counts.push(format!("{kind}={}", ids.len()));
        let at_least = match kind {
            Kind::Ticket => 60,
            Kind::User => 70,
            Kind::Comment => 60,
            Kind::SatisfactionRating | Kind::Rule | Kind::Macro | Kind::Webhook => 1,
            Kind::KbCategory | Kind::KbSection | Kind::KbArticle => 1,
            _ => 0,
        };
        assert!(ids.len() >= at_least, "{kind}: only {} read", ids.len());
        if kind == Kind::Rule {
            assert!(records.iter().all(|r| matches!(r, Record::Rule(rule) if rule.untranslated.iter().any(|u| u.reason.contains("rebuild it by hand")))));
        }
    }
    eprintln!("read {}", counts.join(", "));
}

/// The whole dataset, fields Help Scout has no place for included: those field
/// definitions are refused, each saying why, and every other record still moves, their
/// values of those fields left out (not the records failed with them).
#[test]
fn fields_with_no_place_are_refused_and_everything_else_still_moves() {
    let emulator = common::account(EmulatorConfig::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let helpscout = common::connect(&emulator, dir.path());
    let archive_path = dir.path().join("old");
    let dataset = switchover_testkit::Dataset::conformance();
    switchover_testkit::seed_archive(&archive_path, &dataset);
    let archive = switchover_archive::Archive::open_source(&archive_path).expect("archive");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let run = migrate(
        &archive,
        &helpscout,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("archive -> helpscout");
    let failed: Vec<(Kind, &str)> = run
        .failures
        .iter()
        .map(|f| (f.kind, f.source_id.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            (Kind::FieldDefinition, "cf-multi"),
            (Kind::FieldDefinition, "cf-org-dropdown"),
            (Kind::FieldDefinition, "cf-user-text"),
        ],
        "{:#?}",
        run.failures
    );
    assert_eq!(run.kinds[&Kind::Ticket].created, 4);
    assert_eq!(run.kinds[&Kind::User].failed, 0);
}

/// The dry run predicts the run: Help Scout into a live Freshdesk account (the same
/// agents, groups and fields, its dropdown choices spelled differently), the dry run's
/// created, adopted and failed counts per kind are the migration's.
#[test]
fn a_dry_run_into_freshdesk_predicts_what_the_migration_does() {
    use switchover_engine::dry_run;
    use switchover_freshdesk_emulator::FreshdeskEmulator;
    let source_account = HelpScoutEmulator::start(EmulatorConfig {
        tickets: 40,
        ..EmulatorConfig::small(7)
    })
    .expect("helpscout");
    // A live account whose admin switched its notifying rules off, as preflight asks.
    let target_account = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 3,
        triggers: 0,
        automations: 0,
        ..EmulatorConfig::small(7)
    })
    .expect("freshdesk");
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("fd-key");
    std::fs::write(&key, target_account.api_key()).expect("key file");
    let fd_settings = Settings::new("freshdesk", Default::default())
        .with("url", target_account.base_url())
        .with("api_key", format!("file:{}", key.display()));
    let source = common::connect(&source_account, dir.path());
    let target = switchover_freshdesk::Freshdesk::connect(&fd_settings).expect("freshdesk");
    let kinds = vec![
        Kind::FieldDefinition,
        Kind::Organization,
        Kind::User,
        Kind::Group,
        Kind::Ticket,
        Kind::Comment,
    ];
    let options = Options {
        kinds: kinds.clone(),
        ..options()
    };
    let predicted =
        dry_run(&source, &target, &options, None, &Silent, &Cancel::new()).expect("dry run");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let run = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("helpscout -> freshdesk");
    for kind in kinds {
        let (p, r) = (&predicted.run.kinds[&kind], &run.kinds[&kind]);
        assert_eq!(
            (p.created, p.adopted, p.failed),
            (r.created, r.adopted, r.failed),
            "{kind}: predicted {p:?}, the run did {r:?}; failures {:#?}",
            run.failures
                .iter()
                .filter(|f| f.kind == kind)
                .collect::<Vec<_>>()
        );
    }
    // The run had refusals to predict (dropdown values Freshdesk's choices lack).
    assert!(
        run.kinds[&Kind::Ticket].failed > 0,
        "{:?}",
        run.kinds[&Kind::Ticket]
    );
}

/// Help Scout answering reads malformed (a value of another type, a key missing, the
/// text cut short), the OAuth token and Docs API included: every kind reads page by
/// page into records or an error naming Help Scout, never a panic.
fn read_through_malformed_answers(seed: u64) -> switchover_testkit::malformed::MalformedReads {
    let emulator = common::account(EmulatorConfig {
        seed,
        faults: "mangle=0.3".parse().expect("faults"),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = common::settings(&emulator, &emulator.client_secret(), dir.path(), "secret");
    let helpscout = HelpScout::connect(&settings).expect("connect");
    switchover_testkit::malformed::read_through_malformed_answers(&helpscout, 40)
}

switchover_testkit::malformed_answer_tests!(read_through_malformed_answers, "helpscout");
