//! Rules, automations and webhooks migrated into Zendesk arrive switched off, so nothing
//! fires during the migration; `cutover` then switches on exactly those that were active
//! in the source, and leaves alone what the target had before.

use std::collections::BTreeSet;

use switchover_adapter::{PageRequest, Target, WriteRequest};
use switchover_archive::Archive;
use switchover_engine::integrations::IntegrationVerdict;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, cutover, dry_run, migrate, verify};
use switchover_model::*;
use switchover_sandbox::EmulatorConfig;
use switchover_testkit::Dataset;
use switchover_zendesk::Zendesk;

mod common;
use common::Account;

/// Title -> active of every record of `kind` on the Zendesk account.
fn active_by_title(zendesk: &Zendesk, kind: Kind) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = zendesk.read_back(kind, &request).expect("read back");
        out.extend(page.records.iter().filter_map(|read| match &read.record {
            Record::Rule(r) => Some((r.title.clone(), r.active)),
            Record::Webhook(w) => Some((w.name.clone(), w.active)),
            _ => None,
        }));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    out.sort();
    out
}

#[test]
fn migrated_rules_arrive_off_and_cutover_switches_on_exactly_those_active_in_the_source() {
    let account = Account::start(EmulatorConfig::empty());
    let zendesk = Zendesk::connect(&account.good()).expect("connect");
    // The target's own trigger, active before the migration.
    let own = serde_json::json!({"trigger": {
        "title": "Their own routing", "active": true,
        "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"}], "any": []},
        "actions": [{"field": "priority", "value": "high"}],
    }});
    zendesk
        .http()
        .send(
            switchover_http::Request::post("triggers.json")
                .json(&own)
                .expect("body"),
        )
        .expect("create the target's own trigger");

    // The source: the conformance dataset (an active trigger calling an active webhook,
    // an active automation) plus a trigger switched off in the source.
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = Dataset::conformance();
    let archive = Archive::open_target(&dir.path().join("src")).expect("archive");
    dataset.seed(&archive, &dataset).expect("seed");
    let off = Rule {
        id: "r-off".into(),
        title: "Retired escalation".into(),
        active: false,
        events: BTreeSet::from([RuleEvent::TicketUpdated]),
        conditions: Conditions {
            all: vec![Condition {
                field: ConditionField::Priority,
                operator: Operator::ChangedTo,
                value: RuleValue::Priority(Priority::Urgent),
            }],
            any: vec![],
        },
        actions: vec![
            Action::Notify {
                recipient: Recipient::AllAgents,
                subject: "Urgent: {{ticket.subject}}".into(),
                body: "{{ticket.url}}".into(),
            },
            // Zendesk rules cannot e-mail an outside address: left out and named.
            Action::EmailAddress {
                address: "pager@ops.example.com".into(),
                subject: "Urgent".into(),
                body: "See https://status.example.com/incidents".into(),
            },
        ],
        ..Default::default()
    };
    archive
        .write_batch(
            Kind::Rule,
            &[WriteRequest::create(off.into_record())],
            &dataset,
        )
        .expect("add the inactive rule");
    Target::finish(&archive).expect("seal");
    let source = Archive::open_source(&dir.path().join("src")).expect("source");

    let options = Options {
        accept_risks: vec![switchover_adapter::TARGET_NOTIFICATIONS.into()],
        ..Options::default()
    };

    // The dry run's inventory says what happens to each, by the write's own rules.
    let dry = dry_run(&source, &zendesk, &options, None, &Silent, &Cancel::new()).expect("dry run");
    let verdict = |title: &str| {
        dry.integrations
            .items
            .iter()
            .find(|i| i.title == title)
            .map(|i| i.verdict.clone())
            .unwrap_or_else(|| panic!("{title} is in the inventory: {:#?}", dry.integrations))
    };
    assert_eq!(
        verdict("Notify requester of receipt"),
        IntegrationVerdict::Translated
    );
    match verdict("Retired escalation") {
        IntegrationVerdict::WithChanges { changes } => {
            assert_eq!(changes.len(), 1, "{changes:#?}");
            assert!(
                changes[0].reason.contains("outside address"),
                "{changes:#?}"
            );
        }
        other => panic!("the outside e-mail is a change: {other:#?}"),
    }
    assert_eq!(
        dry.integrations
            .external_urls
            .get("https://crm.example/hooks/helpdesk?src=zd"),
        Some(&vec!["CRM sync".to_string()])
    );
    assert!(
        dry.integrations
            .external_urls
            .contains_key("https://status.example.com/incidents")
    );
    let markdown = switchover_report::dry_run_markdown(
        &dry,
        &switchover_report::ReportContext::new("archive", "zendesk", "plan.toml"),
    )
    .expect("render");
    assert!(markdown.contains("## Integrations"), "{markdown}");
    // The estimate at each of Zendesk's plans, the assumed one marked.
    assert!(
        markdown.contains("| Enterprise | 700 requests/minute |"),
        "{markdown}"
    );
    assert!(markdown.contains("(assumed above)"), "{markdown}");
    assert!(markdown.contains("translated with changes"), "{markdown}");
    assert!(
        !markdown.contains("pager@ops.example.com"),
        "addresses in rule parts are masked"
    );

    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &zendesk,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);

    // Everything migrated is off; the target's own trigger is as it was.
    let rules = active_by_title(&zendesk, Kind::Rule);
    assert_eq!(
        rules,
        vec![
            ("Close solved after 4 days".to_string(), false),
            ("Notify requester of receipt".to_string(), false),
            ("Retired escalation".to_string(), false),
            ("Their own routing".to_string(), true),
        ]
    );
    assert_eq!(
        active_by_title(&zendesk, Kind::Webhook),
        vec![("CRM sync".to_string(), false)]
    );
    // Verify matches: `active` is declared as differing until cutover.
    let report = verify(&source, &zendesk, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
    let rule_lossy = &report.kinds[&Kind::Rule];
    assert!(
        rule_lossy.lossy.iter().any(|l| l.field == "active"),
        "the report says why active differs: {rule_lossy:#?}"
    );

    // A dry run lists and changes nothing.
    let listed = cutover(&source, &zendesk, &state, &Kind::ALL, true).expect("cutover --dry-run");
    let names: BTreeSet<String> = listed.switched_on.iter().map(|i| i.title.clone()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "CRM sync".to_string(),
            "Close solved after 4 days".to_string(),
            "Notify requester of receipt".to_string(),
        ])
    );
    assert_eq!(listed.inactive_in_source, 1);
    assert!(
        active_by_title(&zendesk, Kind::Rule)
            .iter()
            .all(|(title, active)| *active == (title == "Their own routing"))
    );

    let done = cutover(&source, &zendesk, &state, &Kind::ALL, false).expect("cutover");
    assert_eq!(done.switched_on.len(), 3, "{done:#?}");
    assert!(
        done.failed.is_empty() && done.by_hand.is_empty(),
        "{done:#?}"
    );
    assert_eq!(
        active_by_title(&zendesk, Kind::Rule),
        vec![
            ("Close solved after 4 days".to_string(), true),
            ("Notify requester of receipt".to_string(), true),
            ("Retired escalation".to_string(), false),
            ("Their own routing".to_string(), true),
        ]
    );
    assert_eq!(
        active_by_title(&zendesk, Kind::Webhook),
        vec![("CRM sync".to_string(), true)]
    );
}
