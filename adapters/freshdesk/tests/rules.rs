//! Business rules across vendors through the portable vocabulary (issue 12), with the
//! golden sets of both vendors:
//! - Zendesk's golden set migrated into a live Freshdesk account arrives switched off,
//!   fires no rule and e-mails nobody during the migration, verifies, and `cutover`
//!   switches on exactly what was active in Zendesk;
//! - Zendesk -> Freshdesk -> Zendesk keeps every part both sides translate;
//! - Freshdesk's golden set reads into portable form, every part translated or named,
//!   and migrates into Zendesk.
//!
//! Figures: `cargo test -p switchover-freshdesk --test rules -- --nocapture` prints the
//! share of conditions, actions and placeholders Freshdesk holds, per kind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use switchover_adapter::{PageRequest, Settings, Source, Target, TargetInfo};
use switchover_engine::integrations::IntegrationVerdict;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, cutover, migrate, verify};
use switchover_freshdesk::Freshdesk;
use switchover_freshdesk_emulator::FreshdeskEmulator;
use switchover_model::rules::Coverage;
use switchover_model::*;
use switchover_sandbox::EmulatorConfig;
use switchover_zendesk::Zendesk;
use switchover_zendesk_emulator::ZendeskEmulator;

fn key_file(dir: &Path, name: &str, key: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, format!("{key}\n")).expect("write key file");
    format!("file:{}", file.display())
}

fn zendesk_settings(emulator: &ZendeskEmulator, dir: &Path, name: &str) -> Settings {
    Settings::new("zendesk", Default::default())
        .with("url", emulator.base_url())
        .with("email", emulator.email())
        .with("api_token", key_file(dir, name, &emulator.api_token()))
}

fn freshdesk_settings(emulator: &FreshdeskEmulator, dir: &Path, name: &str) -> Settings {
    Settings::new("freshdesk", Default::default())
        .with("url", emulator.base_url())
        .with("api_key", key_file(dir, name, &emulator.api_key()))
}

/// A Zendesk account holding the Zendesk golden set.
fn zendesk_golden(dir: &Path) -> (ZendeskEmulator, Zendesk) {
    let emulator = ZendeskEmulator::start(EmulatorConfig::empty()).expect("start Zendesk");
    let zendesk =
        Zendesk::connect(&zendesk_settings(&emulator, dir, "zd-source")).expect("connect");
    switchover_testkit::golden::seed_zendesk(&mut |path, body| {
        let request = switchover_http::Request::post(path)
            .json(body)
            .expect("body");
        zendesk
            .http()
            .send(request)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
            .json()
            .expect("json answer")
    });
    (emulator, zendesk)
}

/// A Freshdesk account with data of its own and seats for `agents`.
fn freshdesk_account(agents: &[(&str, String)]) -> FreshdeskEmulator {
    let emulator = FreshdeskEmulator::start(EmulatorConfig {
        organizations: 2,
        users: 3,
        groups: 2,
        tickets: 2,
        comments_per_ticket: 1,
        custom_fields: true,
        ..EmulatorConfig::empty()
    })
    .expect("start Freshdesk");
    for (name, email) in agents {
        emulator.add_agent(name, email);
    }
    emulator
}

fn read_all(source: &dyn Source, kind: Kind) -> Vec<Record> {
    let mut out = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = source.read_page(kind, &request).expect("read");
        out.extend(page.records);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return out,
        }
    }
}

fn read_back_all(target: &dyn Target, kind: Kind) -> Vec<Record> {
    let mut out = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = target.read_back(kind, &request).expect("read back");
        out.extend(
            page.records
                .into_iter()
                .filter(|r| r.source_id.is_some())
                .map(|r| r.record),
        );
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return out,
        }
    }
}

fn options() -> Options {
    Options {
        accept_risks: vec![switchover_adapter::TARGET_NOTIFICATIONS.into()],
        ..Options::default()
    }
}

/// Coverage of a rule or macro.
fn coverage_of(record: &Record) -> Coverage {
    match record {
        Record::Rule(r) => Coverage::of(
            &r.conditions.iter().collect::<Vec<_>>(),
            &r.actions,
            &r.untranslated,
        ),
        Record::Macro(m) => Coverage::of(&[], &m.actions, &m.untranslated),
        _ => Coverage::default(),
    }
}

/// Placeholders a fitting named as having no Freshdesk form (they are also in the
/// portable text, and so counted translated by [`Coverage::of`]).
fn unheld_placeholders(record: &Record) -> usize {
    let untranslated = match record {
        Record::Rule(r) => &r.untranslated,
        Record::Macro(m) => &m.untranslated,
        _ => return 0,
    };
    untranslated
        .iter()
        .filter(|u| u.part == RulePart::Placeholder && u.vendor == "portable")
        .count()
}

/// Prints the share of parts held, per kind, and gives it back.
fn figures(label: &str, kind: &str, records: &[Record]) -> f64 {
    let mut c = Coverage::default();
    let mut unheld = 0;
    for r in records {
        c.add(coverage_of(r));
        unheld += unheld_placeholders(r);
    }
    let held = c.translated() - unheld;
    let total = held + c.untranslated();
    let share = if total == 0 {
        1.0
    } else {
        held as f64 / total as f64
    };
    eprintln!(
        "{label}, {kind}: {held} of {total} parts held ({:.1}%): conditions {} held, {} named; actions {} held, {} named; placeholders {} held, {} named; other named {}",
        100.0 * share,
        c.conditions,
        c.untranslated_conditions,
        c.actions,
        c.untranslated_actions,
        c.placeholders - unheld,
        c.untranslated_placeholders,
        c.untranslated_other
    );
    share
}

fn title_of(record: &Record) -> String {
    match record {
        Record::Rule(r) => r.title.clone(),
        Record::Macro(m) => m.title.clone(),
        Record::Webhook(w) => w.name.clone(),
        other => other.id().to_string(),
    }
}

/// A rule's translated parts with every reference blanked (ids differ per account), in
/// a stable order.
fn shape(record: &Record) -> (BTreeSet<RuleEvent>, Vec<String>, Vec<String>, Vec<String>) {
    let mut record = record.clone();
    record.for_each_ref_mut(&mut |_, id| id.clear());
    let Record::Rule(r) = record else {
        panic!("a rule")
    };
    let sorted = |items: Vec<String>| {
        let mut items = items;
        items.sort();
        items
    };
    (
        r.events.clone(),
        sorted(
            r.conditions
                .all
                .iter()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .collect(),
        ),
        sorted(
            r.conditions
                .any
                .iter()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .collect(),
        ),
        sorted(
            r.actions
                .iter()
                .map(|a| serde_json::to_string(a).unwrap_or_default())
                .collect(),
        ),
    )
}

#[test]
fn zendesk_golden_rules_arrive_in_freshdesk_switched_off_verify_and_cutover_switches_on_those_active_in_zendesk()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zd_emulator, source) = zendesk_golden(dir.path());
    // The golden agents hold seats; the Zendesk account's owner does not (a seat for
    // it would come back to Zendesk as an agent of the owner's e-mail).
    let agents: Vec<(&str, String)> = switchover_testkit::golden::ZENDESK_AGENTS
        .iter()
        .map(|(name, email)| (*name, email.to_string()))
        .collect();
    let fd_emulator = freshdesk_account(&agents);
    let target = Freshdesk::connect(&freshdesk_settings(&fd_emulator, dir.path(), "fd"))
        .expect("connect Freshdesk");

    // Figures: what Freshdesk holds of the golden set, by the write's own fitting.
    let source_rules = read_all(&source, Kind::Rule);
    let source_macros = read_all(&source, Kind::Macro);
    assert_eq!((source_rules.len(), source_macros.len()), (28, 7));
    let fit = |records: &[Record], kind: Kind| -> Vec<Record> {
        records
            .iter()
            .cloned()
            .map(|mut r| {
                target.as_stored(kind, &mut r);
                r
            })
            .collect()
    };
    let fitted_rules = fit(&source_rules, Kind::Rule);
    let fitted_macros = fit(&source_macros, Kind::Macro);
    figures("Zendesk -> portable", "rules", &source_rules);
    figures("Zendesk -> portable", "macros", &source_macros);
    let rule_share = figures("Zendesk -> Freshdesk", "rules", &fitted_rules);
    figures("Zendesk -> Freshdesk", "macros", &fitted_macros);
    if std::env::var("SHOW_UNTRANSLATED").is_ok() {
        for record in fitted_rules.iter().chain(&fitted_macros) {
            let (Record::Rule(Rule { untranslated, .. })
            | Record::Macro(Macro { untranslated, .. })) = record
            else {
                continue;
            };
            for u in untranslated {
                eprintln!(
                    "{} | {:?} {} | {} | {}",
                    title_of(record),
                    u.part,
                    u.vendor,
                    u.vendor_form,
                    u.reason
                );
            }
        }
    }
    assert!(rule_share >= 0.7, "rules: {rule_share}");
    for record in fitted_rules.iter().chain(&fitted_macros) {
        let untranslated = match record {
            Record::Rule(r) => &r.untranslated,
            Record::Macro(m) => &m.untranslated,
            _ => continue,
        };
        assert!(
            untranslated.iter().all(|u| !u.reason.is_empty()),
            "every part left out says why: {untranslated:#?}"
        );
    }

    // The dry run's inventory names what Freshdesk leaves out, by the write's fitting.
    let dry =
        switchover_engine::dry_run(&source, &target, &options(), None, &Silent, &Cancel::new())
            .expect("dry run");
    let verdict = |title: &str| {
        dry.integrations
            .items
            .iter()
            .find(|i| i.title == title)
            .map(|i| i.verdict.clone())
            .unwrap_or_else(|| panic!("{title} is in the inventory"))
    };
    match verdict("Notify all agents of received request") {
        IntegrationVerdict::WithChanges { changes }
        | IntegrationVerdict::NeedsPerson { parts: changes } => {
            assert!(
                changes.iter().any(|c| c.reason.contains("every agent")),
                "{changes:#?}"
            );
        }
        other => panic!("e-mailing every agent is named: {other:?}"),
    }
    assert!(
        dry.integrations
            .external_urls
            .contains_key("https://crm.example.com/hooks/zendesk"),
        "{:#?}",
        dry.integrations.external_urls
    );

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
    // What Freshdesk cannot hold at all is refused per record and named; so is the
    // Zendesk owner, who has no seat.
    let mut refused: BTreeMap<Kind, usize> = BTreeMap::new();
    for failure in &summary.failures {
        eprintln!("refused: {failure:?}");
        if failure.kind == Kind::User {
            assert!(
                failure.message.contains(&zd_emulator.email()) || failure.message.contains("seat"),
                "{failure:?}"
            );
            *refused.entry(failure.kind).or_default() += 1;
            continue;
        }
        let text = format!("{failure:?}");
        assert!(text.contains("needs a person"), "{text}");
        *refused.entry(failure.kind).or_default() += 1;
    }
    assert!(
        refused
            .keys()
            .all(|k| matches!(k, Kind::Macro | Kind::Rule)),
        "{refused:?}"
    );
    // The dry run predicted exactly these refusals, by the write's own rule.
    let ids = |failures: &[switchover_engine::state::Failure]| -> BTreeSet<(Kind, String)> {
        failures
            .iter()
            .filter(|f| matches!(f.kind, Kind::Rule | Kind::Macro))
            .map(|f| (f.kind, f.source_id.clone()))
            .collect()
    };
    assert_eq!(ids(&dry.run.failures), ids(&summary.failures));
    assert!(!ids(&summary.failures).is_empty());
    // Nothing fired, nobody was e-mailed, no webhook was called.
    assert_eq!(fd_emulator.rule_executions(), 0);
    assert_eq!(fd_emulator.emails_sent(), 0);
    assert_eq!(fd_emulator.webhooks_called(), 0);
    // Every migrated rule is off.
    let on_target = read_back_all(&target, Kind::Rule);
    let migrated_rules = source_rules.len() - refused.get(&Kind::Rule).copied().unwrap_or(0);
    assert_eq!(on_target.len(), migrated_rules);
    assert!(
        on_target
            .iter()
            .all(|r| matches!(r, Record::Rule(r) if !r.active))
    );
    assert_eq!(
        read_back_all(&target, Kind::Macro).len(),
        source_macros.len() - refused.get(&Kind::Macro).copied().unwrap_or(0)
    );

    // Verify compares what Freshdesk holds, and matches.
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    for (kind, result) in &report.kinds {
        assert!(
            result.differ == 0 && result.extra == 0,
            "{kind}: {result:#?}"
        );
        assert_eq!(
            result.missing,
            refused.get(kind).copied().unwrap_or(0) as u64,
            "{kind}: only what was refused is missing: {result:#?}"
        );
    }
    let rules = &report.kinds[&Kind::Rule];
    assert!(rules.fields.iter().any(|f| f == "conditions"));
    assert!(
        !rules.fields.iter().any(|f| f == "active"),
        "active differs until cutover and is not compared"
    );
    assert!(rules.matched > 0);

    // Cutover switches on exactly those active in Zendesk.
    let done = cutover(&source, &target, &state, &Kind::ALL, false).expect("cutover");
    assert!(
        done.failed.is_empty() && done.by_hand.is_empty(),
        "{done:#?}"
    );
    let active_in_source: BTreeSet<String> = source_rules
        .iter()
        .filter(|r| matches!(r, Record::Rule(r) if r.active))
        .map(title_of)
        .filter(|t| on_target.iter().any(|r| title_of(r) == *t))
        .collect();
    let active_on_target: BTreeSet<String> = read_back_all(&target, Kind::Rule)
        .iter()
        .filter(|r| matches!(r, Record::Rule(r) if r.active))
        .map(title_of)
        .collect();
    assert_eq!(active_on_target, active_in_source);
    assert!(!active_on_target.is_empty());
    assert_eq!(fd_emulator.emails_sent(), 0);

    // Zendesk -> Freshdesk -> Zendesk keeps every part both translate.
    let back_emulator = ZendeskEmulator::start(EmulatorConfig::empty()).expect("start Zendesk");
    let back = Zendesk::connect(&zendesk_settings(&back_emulator, dir.path(), "zd-back"))
        .expect("connect");
    let fd_source = Freshdesk::connect(&freshdesk_settings(&fd_emulator, dir.path(), "fd2"))
        .expect("connect Freshdesk as source");
    let mut back_state = StateStore::open(&dir.path().join("back.sqlite")).expect("state");
    let back_options = Options {
        kinds: vec![
            Kind::Group,
            Kind::User,
            Kind::FieldDefinition,
            Kind::Webhook,
            Kind::Rule,
        ],
        ..options()
    };
    let summary = migrate(
        &fd_source,
        &back,
        &mut back_state,
        &back_options,
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate back");
    let rule_failures: Vec<_> = summary
        .failures
        .iter()
        .filter(|f| f.kind == Kind::Rule)
        .collect();
    assert!(rule_failures.is_empty(), "{rule_failures:#?}");
    let returned: BTreeMap<String, Record> = read_back_all(&back, Kind::Rule)
        .into_iter()
        .map(|r| (title_of(&r), r))
        .collect();
    let mut compared = 0;
    for expected in &fitted_rules {
        let title = title_of(expected);
        if !on_target.iter().any(|r| title_of(r) == title) {
            continue;
        }
        let mut expected = expected.clone();
        back.as_stored(Kind::Rule, &mut expected);
        let got = returned
            .get(&title)
            .unwrap_or_else(|| panic!("{title} came back"));
        assert_eq!(shape(got), shape(&expected), "{title}");
        compared += 1;
    }
    assert_eq!(compared, migrated_rules);
}

#[test]
fn freshdesk_golden_rules_read_into_portable_and_migrate_into_zendesk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fd_emulator = FreshdeskEmulator::start(EmulatorConfig::empty()).expect("start");
    let client = reqwest::blocking::Client::new();
    let api = |path: &str, body: &Value| -> Value {
        let response = client
            .post(format!("{}/api/v2/{path}", fd_emulator.base_url()))
            .basic_auth(fd_emulator.api_key(), Some("X"))
            .json(body)
            .send()
            .expect("send");
        let status = response.status().as_u16();
        let answer: Value = response.json().expect("json");
        assert_eq!(status, 201, "POST {path}: {answer}");
        answer
    };
    let mut ids = Vec::new();
    for (placeholder, name) in switchover_testkit::golden::FRESHDESK_GROUPS {
        let group = api("groups", &json!({"name": name}));
        ids.push((placeholder.to_string(), group["id"].to_string()));
    }
    for (placeholder, name, email) in switchover_testkit::golden::FRESHDESK_AGENTS {
        ids.push((
            placeholder.to_string(),
            fd_emulator.add_agent(name, email).to_string(),
        ));
    }
    api(
        "admin/ticket_fields",
        &json!({"label": "Plan", "type": "custom_dropdown", "choices": ["Gold", "Silver", "Bronze"]}),
    );
    let golden = switchover_testkit::golden::freshdesk_rules(&ids);
    for (kind, body) in &golden {
        api(&format!("automations/{kind}/rules"), body);
    }
    let source =
        Freshdesk::connect(&freshdesk_settings(&fd_emulator, dir.path(), "fd")).expect("connect");
    let rules = read_all(&source, Kind::Rule);
    assert_eq!(rules.len(), golden.len());
    let share = figures("Freshdesk -> portable", "rules", &rules);
    assert!(share >= 0.8, "{share}");
    for rule in &rules {
        let Record::Rule(r) = rule else { continue };
        assert!(r.untranslated.iter().all(|u| !u.reason.is_empty()));
        assert_eq!(r.events.len(), 1, "{}", r.title);
    }
    // The default reopen rule: a requester's reply to a ticket not open opens it.
    let reopen = rules
        .iter()
        .find_map(|r| match r {
            Record::Rule(r)
                if r.title == "Automatically reopen tickets when the customer responds" =>
            {
                Some(r)
            }
            _ => None,
        })
        .expect("the reopen rule");
    assert!(reopen.conditions.all.contains(&Condition {
        field: ConditionField::UpdatedBy,
        operator: Operator::Is,
        value: RuleValue::Role(UpdaterRole::EndUser),
    }));
    assert!(reopen.actions.contains(&Action::SetStatus {
        status: TicketStatus::Open
    }));
    // Webhooks carried by rules are webhooks of their own, URLs and all.
    let webhooks = read_all(&source, Kind::Webhook);
    assert_eq!(webhooks.len(), 2, "{webhooks:#?}");
    assert!(webhooks.iter().all(|w| matches!(w, Record::Webhook(w) if w.endpoint.starts_with("https://") && w.id.ends_with("/webhook"))));

    // Freshdesk -> Zendesk.
    let zd_emulator = ZendeskEmulator::start(EmulatorConfig::empty()).expect("start Zendesk");
    let target = Zendesk::connect(&zendesk_settings(&zd_emulator, dir.path(), "zd"))
        .expect("connect Zendesk");
    let fitted: Vec<Record> = rules
        .iter()
        .cloned()
        .map(|mut r| {
            target.as_stored(Kind::Rule, &mut r);
            r
        })
        .collect();
    figures("Freshdesk -> Zendesk", "rules", &fitted);
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let kinds = vec![
        Kind::Group,
        Kind::User,
        Kind::FieldDefinition,
        Kind::Webhook,
        Kind::Rule,
        Kind::Macro,
    ];
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &Options {
            kinds: kinds.clone(),
            ..options()
        },
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    // Zendesk refuses an automation without a time condition: a Freshdesk time trigger
    // whose only hours condition has no portable form (the first response due time).
    for failure in &summary.failures {
        eprintln!("refused by Zendesk: {failure:?}");
        assert!(
            failure.kind == Kind::Rule && failure.message.contains("time based condition"),
            "{failure:?}"
        );
    }
    let on_zendesk = read_back_all(&target, Kind::Rule);
    assert_eq!(on_zendesk.len(), rules.len() - summary.failures.len());
    assert!(
        on_zendesk
            .iter()
            .all(|r| matches!(r, Record::Rule(r) if !r.active))
    );
    let report = verify(&source, &target, &mut state, &kinds, &Silent).expect("verify");
    let result = &report.kinds[&Kind::Rule];
    assert!(result.differ == 0 && result.extra == 0, "{result:#?}");
    assert_eq!(result.missing, summary.failures.len() as u64, "{result:#?}");
}

/// The API path of a rule by its target id (`<type>/<id>`).
fn rule_path(target_id: &str) -> String {
    let (kind, id) = target_id.split_once('/').expect("<type>/<id>");
    format!("automations/{kind}/rules/{id}")
}

fn get(emulator: &FreshdeskEmulator, path: &str) -> Value {
    reqwest::blocking::Client::new()
        .get(format!("{}/api/v2/{path}", emulator.base_url()))
        .basic_auth(emulator.api_key(), Some("X"))
        .send()
        .expect("send")
        .json()
        .expect("json")
}

#[test]
fn portable_rules_take_freshdesks_shape_switched_off_and_switch_on_by_their_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = FreshdeskEmulator::start(EmulatorConfig::empty()).expect("start");
    let target =
        Freshdesk::connect(&freshdesk_settings(&emulator, dir.path(), "fd")).expect("connect");
    let webhook = Webhook {
        id: "w-7".into(),
        name: "CRM".into(),
        endpoint: "https://crm.example/hooks".into(),
        method: "POST".into(),
        format: "json".into(),
        ..Default::default()
    };
    let served = emulator.requests_served();
    let outcome = target
        .write_batch(
            Kind::Webhook,
            &[switchover_adapter::WriteRequest::create(
                webhook.into_record(),
            )],
            &switchover_testkit::Dataset::conformance(),
        )
        .expect("write webhook");
    let webhook_id = outcome[0].result.clone().expect("a synthetic id");
    assert_eq!(
        emulator.requests_served(),
        served,
        "Freshdesk keeps no webhook records: writing one sends nothing"
    );
    let reopen = Rule {
        id: "z-reopen".into(),
        title: "Reopen on customer reply".into(),
        active: true,
        events: BTreeSet::from([RuleEvent::TicketUpdated]),
        conditions: Conditions {
            all: vec![
                Condition {
                    field: ConditionField::UpdatedBy,
                    operator: Operator::Is,
                    value: RuleValue::Role(UpdaterRole::EndUser),
                },
                Condition {
                    field: ConditionField::Status,
                    operator: Operator::ChangedFrom,
                    value: RuleValue::Status(TicketStatus::OnHold),
                },
                Condition {
                    field: ConditionField::Tags,
                    operator: Operator::NotIncludes,
                    value: RuleValue::Tags(vec!["vip".into()]),
                },
            ],
            any: vec![],
        },
        actions: vec![
            Action::SetStatus {
                status: TicketStatus::Open,
            },
            Action::CallWebhook {
                webhook: Ref::new(webhook_id.clone()),
                body: "{\"id\": \"{{ticket.id}}\", \"who\": \"{{ticket.assignee.name}}\"}".into(),
            },
            Action::RemoveTags {
                tags: vec!["waiting".into()],
            },
        ],
        ..Default::default()
    };
    let outcome = target
        .write_batch(
            Kind::Rule,
            &[switchover_adapter::WriteRequest::create(
                reopen.clone().into_record(),
            )],
            &switchover_testkit::Dataset::conformance(),
        )
        .expect("write rule");
    let rule_id = outcome[0].result.clone().expect("written");
    assert!(rule_id.starts_with("4/"), "{rule_id}");
    let raw = get(&emulator, &rule_path(&rule_id));
    assert_eq!(raw["active"], json!(false));
    assert_eq!(raw["performer"], json!({"type": 2}));
    assert_eq!(
        raw["events"],
        json!([{"field_name": "status", "from": 3, "to": "--"}])
    );
    assert_eq!(
        raw["conditions"][0]["properties"],
        json!([{"resource_type": "ticket", "field_name": "tag_names", "operator": "not_in", "value": ["vip"]}])
    );
    let actions = raw["actions"].as_array().expect("actions");
    assert_eq!(
        actions.len(),
        2,
        "remove tags has no Freshdesk form: {actions:#?}"
    );
    assert_eq!(actions[1]["url"], json!("https://crm.example/hooks"));
    assert_eq!(
        actions[1]["content"],
        json!("{\"id\": \"{{ticket.id}}\", \"who\": \"{{ticket.agent.name}}\"}")
    );
    // What verify compares: the read-back equals the fitted source, webhook included.
    let mut expected = reopen.clone().into_record();
    target.as_stored(Kind::Rule, &mut expected);
    let back = read_back_all(&target, Kind::Rule);
    assert_eq!(back.len(), 1);
    let (Record::Rule(got), Record::Rule(want)) = (&back[0], &expected) else {
        panic!("rules")
    };
    assert_eq!(got.conditions, want.conditions);
    assert_eq!(got.actions, want.actions);
    assert_eq!(got.events, want.events);
    assert!(
        want.untranslated
            .iter()
            .any(|u| u.vendor_form.contains("remove_tags"))
    );
    // Switched on by its type's path; the webhook has no switch of its own.
    target
        .set_active(Kind::Rule, &rule_id, &reopen.into_record(), true)
        .expect("switch on");
    let raw = get(&emulator, &rule_path(&rule_id));
    assert_eq!(raw["active"], json!(true));
    assert_eq!(emulator.emails_sent(), 0);

    // SLA policies: created off; a policy for every ticket applies to every source; one
    // Freshdesk cannot hold is refused, naming why.
    let target_of = |minutes: u64| {
        [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ]
        .into_iter()
        .flat_map(|p| {
            ["first_reply_time", "resolution_time"].map(|metric| SlaTarget {
                priority: Some(p),
                metric: metric.into(),
                minutes,
                business_hours: true,
            })
        })
        .collect::<Vec<_>>()
    };
    let everyone = SlaPolicy {
        id: "sla-all".into(),
        title: "Everyone".into(),
        targets: target_of(60),
        ..Default::default()
    };
    let urgent_only = SlaPolicy {
        id: "sla-urgent".into(),
        title: "Urgent".into(),
        filter: Conditions {
            all: vec![Condition {
                field: ConditionField::Priority,
                operator: Operator::Is,
                value: RuleValue::Priority(Priority::Urgent),
            }],
            any: vec![],
        },
        targets: target_of(30),
        ..Default::default()
    };
    let outcomes = target
        .write_batch(
            Kind::SlaPolicy,
            &[
                switchover_adapter::WriteRequest::create(everyone.clone().into_record()),
                switchover_adapter::WriteRequest::create(urgent_only.into_record()),
            ],
            &switchover_testkit::Dataset::conformance(),
        )
        .expect("write policies");
    let id = outcomes[0].result.clone().expect("written");
    let raw = get(&emulator, &format!("sla_policies/{id}"));
    assert_eq!(raw["active"], json!(false));
    assert_eq!(raw["is_default"], json!(false));
    assert_eq!(
        raw["sla_target"]["priority_4"]["respond_within"],
        json!(3600)
    );
    let refused = outcomes[1].result.clone().expect_err("refused");
    assert!(refused.to_string().contains("needs a person"), "{refused}");
    let mut want = everyone.into_record();
    target.as_stored(Kind::SlaPolicy, &mut want);
    let back = read_back_all(&target, Kind::SlaPolicy);
    assert_eq!(back.len(), 1, "only the migrated policy carries a marker");
    let (Record::SlaPolicy(got), Record::SlaPolicy(want)) = (&back[0], &want) else {
        panic!("policies")
    };
    assert_eq!((&got.filter, &got.targets), (&want.filter, &want.targets));
}
