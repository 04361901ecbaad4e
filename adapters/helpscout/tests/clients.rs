//! A real Help Scout client library, `helpscout-mailbox` from PyPI (installed by
//! `scripts/clients.sh`, which the test command runs), works against the emulator
//! unchanged but for its base URL: what it creates, our adapter reads back.

mod common;

use std::process::Command;

use switchover_adapter::{PageRequest, Source};
use switchover_helpscout_emulator::HelpScoutEmulator;
use switchover_model::{Kind, Record};
use switchover_sandbox::EmulatorConfig;

/// The Python with the client installed: `SWITCHOVER_CLIENTS_PYTHON`, set by the test
/// command. Without it the test is skipped, unless `SWITCHOVER_REQUIRE_CLIENTS=1`.
fn python() -> Option<String> {
    match std::env::var("SWITCHOVER_CLIENTS_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var("SWITCHOVER_REQUIRE_CLIENTS").as_deref() == Ok("1") => {
            panic!(
                "SWITCHOVER_REQUIRE_CLIENTS=1 but SWITCHOVER_CLIENTS_PYTHON is not set: run scripts/clients.sh"
            )
        }
        _ => {
            eprintln!("skipped: SWITCHOVER_CLIENTS_PYTHON is not set (scripts/test.sh sets it)");
            None
        }
    }
}

#[test]
fn the_helpscout_mailbox_python_client_works_against_the_emulator() {
    let Some(python) = python() else {
        return;
    };
    let emulator = HelpScoutEmulator::start(EmulatorConfig::default()).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let helpscout = common::connect(&emulator, dir.path());
    let mailbox = helpscout
        .read_page(Kind::Group, &PageRequest::default())
        .expect("mailboxes")
        .records
        .first()
        .map(|r| r.id().to_string())
        .expect("the account's mailbox");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/helpscout_mailbox_check.py"
    );
    let output = Command::new(&python)
        .arg(script)
        .arg(emulator.base_url())
        .arg(&mailbox)
        .env("HELPSCOUT_APP_ID", emulator.client_id())
        .env("HELPSCOUT_APP_SECRET", emulator.client_secret())
        .output()
        .expect("run the python client");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed: {stderr}");
    let seen: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    assert_eq!(seen["subject"], "Printer on fire");
    assert_eq!(seen["attachment"], "hello from the python client\n");
    let cid = seen["conversation"].to_string();
    assert!(
        seen["found"]
            .as_array()
            .is_some_and(|f| f.contains(&seen["conversation"])),
        "search did not find the conversation: {seen}"
    );
    // A draft reply e-mails nobody.
    assert_eq!(emulator.emails_sent(), 0);

    // What the library wrote, our adapter reads: the conversation closed and tagged,
    // the note private with its attachment.
    let tickets = helpscout
        .read_page(Kind::Ticket, &PageRequest::default())
        .expect("tickets");
    let Some(Record::Ticket(ticket)) = tickets.records.iter().find(|r| r.id() == cid) else {
        panic!(
            "the client's conversation is not read: {:?}",
            tickets.records
        );
    };
    assert_eq!(ticket.status, switchover_model::TicketStatus::Closed);
    assert!(
        ticket.tags.contains("hardware") && ticket.tags.contains("urgent"),
        "{:?}",
        ticket.tags
    );
    let comments = helpscout
        .read_page(Kind::Comment, &PageRequest::default())
        .expect("comments");
    let note = comments
        .records
        .iter()
        .find_map(|r| match r {
            Record::Comment(c) if c.ticket.id() == cid && !c.public => Some(c),
            _ => None,
        })
        .expect("the note");
    assert_eq!(note.attachments.len(), 1);
    assert_eq!(note.attachments[0].file_name, "log.txt");
}
