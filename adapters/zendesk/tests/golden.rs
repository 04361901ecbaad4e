//! The golden set (`tests/golden/rules.json`): Zendesk's default triggers and
//! automations and realistic custom rules and macros, in Zendesk's own API shape. Read
//! into the portable vocabulary, every part is translated or named as untranslated with
//! its reason; migrated Zendesk to Zendesk, every rule keeps all of its conditions and
//! actions and verifies on the portable fields.
//!
//! Figures: `cargo test -p switchover-zendesk --test golden -- --nocapture` prints the
//! translated share per kind.

use serde_json::Value;
use switchover_adapter::{PageRequest, Source, Target};
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, migrate, verify};
use switchover_model::rules::Coverage;
use switchover_model::*;
use switchover_sandbox::EmulatorConfig;
use switchover_zendesk::Zendesk;

mod common;
use common::Account;

/// Creates the groups, agents, field and webhook the golden set refers to, then every
/// golden rule and macro with those ids in place of `$group:N` and the like.
fn seed_golden(zendesk: &Zendesk) -> Value {
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
    })
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

fn coverage(records: &[Record]) -> Coverage {
    let mut total = Coverage::default();
    for record in records {
        let c = match record {
            Record::Rule(r) => Coverage::of(
                &r.conditions.iter().collect::<Vec<_>>(),
                &r.actions,
                &r.untranslated,
            ),
            Record::Macro(m) => Coverage::of(&[], &m.actions, &m.untranslated),
            _ => continue,
        };
        total.add(c);
    }
    total
}

/// Title -> (conditions, actions) counts of the raw Zendesk JSON of every rule and macro.
fn raw_shape(zendesk: &Zendesk) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for path in ["triggers.json", "automations.json", "macros.json"] {
        let answer: Value = zendesk
            .http()
            .send(switchover_http::Request::get(path))
            .expect("list")
            .json()
            .expect("json");
        let key = path.trim_end_matches(".json");
        for item in answer[key].as_array().into_iter().flatten() {
            let title = item["title"].as_str().unwrap_or_default();
            // The migration's marker suffix is not part of the title.
            let title = title.split(" [switchover:").next().unwrap_or_default();
            let conditions = ["all", "any"]
                .iter()
                .map(|k| item["conditions"][k].as_array().map_or(0, Vec::len))
                .sum();
            let actions = item["actions"].as_array().map_or(0, Vec::len);
            out.push((title.to_string(), conditions, actions));
        }
    }
    out.sort();
    out
}

#[test]
fn the_golden_set_translates_or_names_every_part_and_survives_zendesk_to_zendesk() {
    let source_account = Account::start(EmulatorConfig::empty());
    let source = Zendesk::connect(&source_account.good()).expect("connect source");
    seed_golden(&source);

    let rules = read_all(&source, Kind::Rule);
    let macros = read_all(&source, Kind::Macro);
    assert_eq!((rules.len(), macros.len()), (28, 7));
    for (kind, records) in [("rules", &rules), ("macros", &macros)] {
        let c = coverage(records);
        eprintln!(
            "Zendesk -> portable, {kind}: {} of {} parts translated ({:.1}%): conditions {}, actions {}, placeholders {}; untranslated conditions {}, actions {}, placeholders {}, other {}",
            c.translated(),
            c.translated() + c.untranslated(),
            100.0 * c.share(),
            c.conditions,
            c.actions,
            c.placeholders,
            c.untranslated_conditions,
            c.untranslated_actions,
            c.untranslated_placeholders,
            c.untranslated_other
        );
        assert!(c.share() >= 0.9, "{kind}: {c:?}");
    }
    // Every untranslated part says what it is and why.
    let untranslated: Vec<&Untranslated> = rules
        .iter()
        .chain(&macros)
        .flat_map(|r| match r {
            Record::Rule(r) => r.untranslated.iter().collect::<Vec<_>>(),
            Record::Macro(m) => m.untranslated.iter().collect(),
            _ => Vec::new(),
        })
        .collect();
    let forms: Vec<&str> = untranslated
        .iter()
        .map(|u| u.vendor_form.as_str())
        .collect();
    for expected in [
        "ticket_is_public",
        "not_relevant",
        "satisfaction_score",
        "\"cc\"",
        "{{ticket.comments_formatted}}",
        "{{satisfaction.rating_section}}",
    ] {
        assert!(
            forms.iter().any(|f| f.contains(expected)),
            "{expected} is named as untranslated: {forms:#?}"
        );
    }
    assert!(untranslated.iter().all(|u| !u.reason.is_empty()));

    // Zendesk to Zendesk: every condition and action arrives, translated or verbatim.
    let target_account = Account::start(EmulatorConfig::empty());
    let target = Zendesk::connect(&target_account.good()).expect("connect target");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let options = Options {
        accept_risks: vec![switchover_adapter::TARGET_NOTIFICATIONS.into()],
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
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
    assert_eq!(raw_shape(&target), raw_shape(&source));
    let report = verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify");
    assert!(report.all_matched(), "{report:#?}");
    for kind in [Kind::Rule, Kind::Macro] {
        let fields = &report.kinds[&kind].fields;
        assert!(
            fields.iter().any(|f| f == "actions"),
            "{kind}: actions are compared: {fields:?}"
        );
    }
    // Nothing migrated is switched on before cutover.
    let read_back: Vec<bool> = {
        let mut out = Vec::new();
        let mut request = PageRequest::default();
        loop {
            let page = target.read_back(Kind::Rule, &request).expect("read back");
            out.extend(page.records.iter().filter_map(|r| match &r.record {
                Record::Rule(rule) => Some(rule.active),
                _ => None,
            }));
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
        out
    };
    assert_eq!(read_back.len(), 28);
    assert!(read_back.iter().all(|active| !active));
}
