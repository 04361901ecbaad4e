//! The shared conformance suite against a live Help Scout account (emulated), clean and
//! through 5xx, resets and 429 bursts; no run e-mails anyone.

mod common;

use switchover_sandbox::EmulatorConfig;

fn run(faults: &str) {
    let emulator = common::account(EmulatorConfig {
        faults: faults.parse().expect("faults"),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    common::conformance(&emulator, dir.path()).run();
    assert_eq!(emulator.emails_sent(), 0, "the suite e-mailed a customer");
}

#[test]
fn helpscout_passes_the_conformance_suite() {
    run("");
}

#[test]
fn helpscout_passes_the_conformance_suite_with_faults() {
    run("burst429=3,latency=1ms");
}
