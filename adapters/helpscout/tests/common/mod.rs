//! A Help Scout account as an admin prepares it for a migration: its own organizations,
//! customers and conversations, the agents invited, and the mailboxes and fields (which
//! the API cannot create) named as the source's.

#![allow(dead_code)]

use std::path::Path;

use switchover_adapter::Settings;
use switchover_helpscout_emulator::HelpScoutEmulator;
use switchover_model::Kind;
use switchover_sandbox::EmulatorConfig;
use switchover_testkit::Conformance;

/// Plan settings for the emulator, the app secret in a file as a real plan keeps it.
pub fn settings(emulator: &HelpScoutEmulator, secret: &str, dir: &Path, name: &str) -> Settings {
    let file = dir.join(name);
    std::fs::write(&file, format!("{secret}\n")).expect("write the secret file");
    let docs_key = dir.join(format!("{name}-docs"));
    std::fs::write(&docs_key, emulator.docs_api_key()).expect("write the Docs key file");
    Settings::new("helpscout", Default::default())
        .with("url", emulator.base_url())
        .with("app_id", emulator.client_id())
        .with("app_secret", format!("file:{}", file.display()))
        .with("docs_url", emulator.base_url())
        .with("docs_api_key", format!("file:{}", docs_key.display()))
}

/// The adapter connected to `emulator` with good credentials.
pub fn connect(emulator: &HelpScoutEmulator, dir: &Path) -> switchover_helpscout::HelpScout {
    switchover_helpscout::HelpScout::connect(&settings(
        emulator,
        &emulator.client_secret(),
        dir,
        "secret",
    ))
    .expect("connect to the Help Scout emulator")
}

/// A live account (its own records seeded from `config`) with the conformance
/// dataset's agents, groups and ticket fields prepared.
pub fn account(config: EmulatorConfig) -> HelpScoutEmulator {
    let emulator = HelpScoutEmulator::start(EmulatorConfig {
        organizations: 2,
        users: 5,
        groups: 1,
        tickets: 4,
        comments_per_ticket: 2,
        ..config
    })
    .expect("start the Help Scout emulator");
    emulator.add_user("Ada", "Admin", "ada@helpdesk.example");
    emulator.add_user("Grace", "Agent", "grace@helpdesk.example");
    for (name, email) in [
        ("Support Tier 1", "support@helpdesk.example"),
        ("Billing & Accounts", "billing@helpdesk.example"),
    ] {
        let mailbox = emulator.add_mailbox(name, email);
        for (field, kind, options) in [
            ("order reference", "singleline", &[][..]),
            ("steps to reproduce", "multiline", &[]),
            ("units affected", "number", &[]),
            ("renewal date", "date", &[]),
            ("escalated", "dropdown", &["Yes", "No"]),
            (
                "product",
                "dropdown",
                &["widget_pro", "widget_lite", "gizmo"],
            ),
            ("asset tag", "singleline", &[]),
        ] {
            emulator.add_custom_field(mailbox, field, kind, options);
        }
    }
    emulator
}

/// The field definitions of the conformance dataset Help Scout has no place for, and why.
pub const NO_PLACE: &[(&str, &str)] = &[
    ("cf-multi", "Help Scout has no multi-select fields"),
    (
        "cf-user-text",
        "Help Scout has no customer fields in the API",
    ),
    ("cf-org-dropdown", "Help Scout has no organization fields"),
];

/// The conformance dataset without what Help Scout has no place for.
pub fn dataset() -> switchover_testkit::Dataset {
    NO_PLACE
        .iter()
        .fold(switchover_testkit::Dataset::conformance(), |d, (id, _)| {
            d.without(Kind::FieldDefinition, id)
        })
}

/// The conformance suite as Help Scout can take the dataset: fields of kinds Help Scout
/// has no place for are left out, saying why.
pub fn conformance(emulator: &HelpScoutEmulator, dir: &Path) -> Conformance {
    let good = settings(emulator, &emulator.client_secret(), dir, "secret");
    let bad = settings(emulator, "not-the-secret", dir, "bad-secret");
    Conformance::new(switchover_helpscout::register(), good)
        .bad_credentials(bad)
        .leave_out(
            Kind::FieldDefinition,
            "cf-multi",
            "Help Scout has no multi-select fields",
        )
        .leave_out(
            Kind::FieldDefinition,
            "cf-user-text",
            "Help Scout has no customer fields in the API",
        )
        .leave_out(
            Kind::FieldDefinition,
            "cf-org-dropdown",
            "Help Scout has no organization fields",
        )
}
