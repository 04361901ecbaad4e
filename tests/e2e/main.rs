//! End-to-end tests of the `switchover` binary: what a services engineer runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchover_adapter::{PageRequest, Source, Target};
use switchover_archive::Archive;
use switchover_model::Kind;
use switchover_testkit::Dataset;
use switchover_testkit::dataset::{AnyContent, Generated};

const BIN: &str = env!("CARGO_BIN_EXE_switchover");

fn seed(path: &Path, tickets: usize) {
    let dataset = Dataset::conformance();
    let content = AnyContent(&dataset);
    let archive = Archive::open_target(path).expect("seed archive");
    dataset.seed(&archive, &content).expect("seed dataset");
    Generated::seed(&archive, 0..tickets, 3, 512, &content).expect("seed tickets");
}

fn plan(dir: &Path) -> std::path::PathBuf {
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        "[source]\nadapter = \"archive\"\npath = \"src\"\n[target]\nadapter = \"archive\"\npath = \"dst\"\n\
         [run]\nstate = \"state.sqlite\"\nconcurrency = 3\nbatch_size = 20\npage_size = 100\n",
    )
    .expect("write plan");
    plan
}

fn count_live(path: &Path, kind: Kind) -> (usize, usize) {
    let archive = Archive::open_source(path).expect("open");
    let mut ids = std::collections::HashSet::new();
    let mut total = 0;
    let mut request = PageRequest::default();
    loop {
        let page = archive.read_page(kind, &request).expect("read");
        for r in &page.records {
            ids.insert(r.id().to_string());
            total += 1;
        }
        match page.next {
            Some(n) => request.cursor = Some(n),
            None => return (total, ids.len()),
        }
    }
}

/// A killed process (SIGKILL: no cleanup at all) must never lose or duplicate a record:
/// the next run resumes and verification matches.
#[test]
fn sigkill_at_random_moments_then_resume_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 1500);
    let plan = plan(dir.path());
    // How long one uninterrupted run of the same data takes on this machine, into a
    // scratch target: the kills below land at random fractions of it, so a fast machine
    // and a loaded one both see several kills mid-run.
    let probe = dir.path().join("probe.toml");
    std::fs::write(
        &probe,
        std::fs::read_to_string(&plan)
            .expect("read plan")
            .replace("path = \"dst\"", "path = \"probe-dst\"")
            .replace("state.sqlite", "probe.sqlite"),
    )
    .expect("write probe plan");
    let started = Instant::now();
    let probe_run = Command::new(BIN)
        .arg("migrate")
        .arg(&probe)
        .output()
        .expect("probe migrate");
    assert!(probe_run.status.success(), "the uninterrupted run failed");
    let full_run = started.elapsed();
    let mut killed_midway = 0;
    for _ in 0..30 {
        if killed_midway >= 6 {
            break;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // 5% to 20% of a full run.
        let delay = full_run.mul_f64(0.05 + f64::from(nanos % 1000) / 1000.0 * 0.15);
        let mut child = Command::new(BIN)
            .arg("migrate")
            .arg(&plan)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            killed_midway += 1;
        } else {
            // The migration finished: nothing is left to interrupt.
            break;
        }
        let _ = child.wait();
    }
    assert!(
        killed_midway >= 4,
        "only {killed_midway} kills landed mid-run (a full run takes {full_run:?})"
    );

    let status = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("final migrate");
    assert!(
        status.status.success(),
        "final migrate failed: {}{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&plan)
        .output()
        .expect("verify");
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && report.contains("all matched"),
        "{report}"
    );

    for kind in [Kind::User, Kind::Ticket, Kind::Comment] {
        let (source_total, _) = count_live(&dir.path().join("src"), kind);
        let (target_total, target_unique) = count_live(&dir.path().join("dst"), kind);
        assert_eq!(
            target_total, source_total,
            "{kind}: every source record on the target"
        );
        assert_eq!(target_unique, target_total, "{kind}: each exactly once");
    }
    // The archive appends a line whenever a record is written again. The only records
    // allowed a second write are those completing a link to a record of their own kind
    // written after them (tickets linking forward, nested KB sections).
    let source = Archive::open_source(&dir.path().join("src")).expect("open source");
    for kind in Kind::ALL.into_iter().filter(|k| k.is_streamed()) {
        let mut may_relink = std::collections::HashSet::new();
        let mut request = PageRequest::default();
        loop {
            let page = source.read_page(kind, &request).expect("read source");
            for record in &page.records {
                if record.references().iter().any(|(k, _)| *k == kind) {
                    may_relink.insert(record.id().to_string());
                }
            }
            match page.next {
                Some(n) => request.cursor = Some(n),
                None => break,
            }
        }
        let file = dir
            .path()
            .join("dst")
            .join(format!("{}.jsonl", kind.as_str()));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut lines_per_id: std::collections::HashMap<String, usize> = Default::default();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("archive line");
            if let Some(id) = value.get("id").and_then(|v| v.as_str()) {
                *lines_per_id.entry(id.to_string()).or_default() += 1;
            }
        }
        for (id, lines) in lines_per_id {
            assert!(
                lines == 1 || may_relink.contains(&id),
                "{kind} '{id}' was written {lines} times across the kills"
            );
        }
    }
}

#[test]
fn a_broken_plan_lists_every_problem_and_exits_with_the_plan_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, "[source]\nadapter = \"archive\"\n[target]\nadapter = \"zendesk\"\ntoken = \"s3cr3t\"\n[run]\nkinds = [\"tikets\"]\n").expect("write");
    let out = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    for expected in ["literal secret", "tikets", "state"] {
        assert!(
            stderr.contains(expected),
            "'{expected}' missing from: {stderr}"
        );
    }
    assert!(
        !stderr.contains("s3cr3t"),
        "the secret was printed: {stderr}"
    );
}

#[test]
fn an_unknown_adapter_names_the_known_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, "[source]\nadapter = \"zendsk\"\n[target]\nadapter = \"archive\"\npath = \"x\"\n[run]\nstate = \"s.sqlite\"\n").expect("write");
    let out = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("unknown adapter 'zendsk'") && stderr.contains("archive"),
        "{stderr}"
    );
}

#[test]
fn dry_run_writes_nothing_and_reports_what_would_move() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 30);
    let plan = plan(dir.path());
    let out = Command::new(BIN)
        .arg("dry-run")
        .arg(&plan)
        .arg("--json")
        .arg(dir.path().join("dry.json"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dry.json")).expect("json"))
            .expect("parse");
    assert_eq!(report["run"]["kinds"]["ticket"]["created"], 34);
    // A local folder has no request quota; the bytes that would move are counted
    // without downloading them.
    assert_eq!(report["requests"], 0);
    assert!(report["attachment_bytes"].as_u64().unwrap_or(0) > 3_000_000);
    // The target was opened for its capabilities only: no record reached it.
    let target =
        Archive::open_source(&dir.path().join("dst")).expect("target folder exists, empty");
    for kind in Kind::ALL.into_iter().filter(|k| k.is_streamed()) {
        assert_eq!(
            Source::count(&target, kind).ok().flatten(),
            Some(0),
            "{kind} was written by a dry run"
        );
    }
    assert!(
        !dir.path().join("state.sqlite").exists(),
        "a dry run must not create the migration's state"
    );
    let _ = Target::finish(&Archive::open_target(&dir.path().join("dst")).expect("reopen"));
}

/// What a sales engineer hands over: the dry run and the verification as HTML and
/// Markdown files; a report path that cannot be written fails at once, naming it.
#[test]
fn dry_run_and_verify_write_html_and_markdown_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 30);
    let plan = plan(dir.path());
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg(&plan)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    run(&[
        "dry-run",
        "--html",
        &file("dry.html"),
        "--markdown",
        &file("dry.md"),
    ]);
    let html = std::fs::read_to_string(dir.path().join("dry.html")).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<tr><td>tickets</td><td class=\"num\">34</td>"),
        "{html}"
    );
    assert!(html.contains("<bdi>archive</bdi> → <bdi>archive</bdi>"));
    assert!(html.contains("<bdi>plan.toml</bdi>"));
    assert!(!html.contains("<script"));
    let md = std::fs::read_to_string(dir.path().join("dry.md")).expect("markdown");
    assert!(md.contains("| tickets | 34 | 0 | 0 |"), "{md}");

    run(&["migrate"]);
    run(&[
        "verify",
        "--html",
        &file("verify.html"),
        "--markdown",
        &file("verify.md"),
    ]);
    let html = std::fs::read_to_string(dir.path().join("verify.html")).expect("html");
    assert!(
        html.contains("<p class=\"verdict ok\" id=\"verdict\">Verdict: ALL MATCHED"),
        "{html}"
    );
    let md = std::fs::read_to_string(dir.path().join("verify.md")).expect("markdown");
    assert!(md.contains("**Verdict: ALL MATCHED"), "{md}");

    let missing = dir.path().join("no-such-folder").join("report.html");
    let out = Command::new(BIN)
        .arg("dry-run")
        .arg(&plan)
        .arg("--html")
        .arg(&missing)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "the dry run ran before the path was checked"
    );
}

#[test]
fn adapters_lists_the_archive_with_its_capabilities() {
    let out = Command::new(BIN).arg("adapters").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("archive  (source + target)") && text.contains("tickets"),
        "{text}"
    );
}

/// Ctrl-C stops at the next batch boundary with the interrupted status, and the next
/// `migrate` resumes and finishes.
#[test]
fn ctrl_c_stops_cleanly_and_the_next_migrate_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 1500);
    let plan = plan(dir.path());
    let child = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the run is writing (the state store exists), then press Ctrl-C.
    let started = Instant::now();
    while !dir.path().join("state.sqlite").exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(0) {
        // The run was faster than the signal; nothing to resume.
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("interrupted: run `switchover migrate`"),
        "{stdout}"
    );

    let resumed = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("resume");
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{text}");
    assert!(text.contains("(resumed)"), "{text}");
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&plan)
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// `(kind, source id, error kind)` of each failure in a JSON list.
fn failure_set(list: &serde_json::Value) -> std::collections::BTreeSet<(String, String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (field("kind"), field("source_id"), field("error_kind"))
        })
        .collect()
}

/// The bad night in miniature, through the binary: the source's agents have no seat on
/// the target (a live Freshdesk account with its own companies, groups and fields), so
/// the agents fail and the tickets and comments that name them fail after them.
/// `migrate` and `failures` show the agents as the root cause with what to do, and
/// `verify` refuses to certify, listing every missing record with its reason.
#[test]
fn failures_show_the_root_cause_and_verify_refuses_an_incomplete_migration() {
    use switchover_freshdesk_emulator::FreshdeskEmulator;
    use switchover_sandbox::EmulatorConfig;

    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 0);
    let freshdesk = FreshdeskEmulator::start(EmulatorConfig {
        organizations: 2,
        groups: 2,
        custom_fields: true,
        ..EmulatorConfig::empty()
    })
    .expect("freshdesk");
    // The live account already has companies named like the source's organizations.
    let companies: Vec<String> = Archive::open_source(&dir.path().join("src"))
        .expect("source")
        .read_page(Kind::Organization, &PageRequest::default())
        .expect("organizations")
        .records
        .iter()
        .filter_map(|r| match r {
            switchover_model::Record::Organization(o) => Some(o.name.clone()),
            _ => None,
        })
        .collect();
    for name in &companies {
        freshdesk.add_company(name);
    }
    std::fs::write(dir.path().join("fd-key"), freshdesk.api_key()).expect("key file");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[source]\nadapter = \"archive\"\npath = \"src\"\n[target]\nadapter = \"freshdesk\"\nurl = \"{}\"\napi_key = \"file:fd-key\"\n\
             [run]\nstate = \"state.sqlite\"\nbatch_size = 10\n",
            freshdesk.base_url()
        ),
    )
    .expect("write plan");

    let verify_first = Command::new(BIN)
        .arg("verify")
        .arg(&plan)
        .output()
        .expect("verify");
    assert!(
        !verify_first.status.success(),
        "verify before any migration must fail"
    );
    assert!(
        String::from_utf8_lossy(&verify_first.stderr).contains("no migration has run"),
        "{}",
        String::from_utf8_lossy(&verify_first.stderr)
    );

    let account_before = freshdesk_snapshot(&freshdesk.base_url(), &freshdesk.api_key());

    // The dry run first: it asks the target (which agents have seats, which companies
    // exist) by the write's own rules.
    let dry = Command::new(BIN)
        .arg("dry-run")
        .arg(&plan)
        .arg("--json")
        .arg(dir.path().join("dry.json"))
        .output()
        .expect("dry-run");
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let predicted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dry.json")).expect("dry.json"))
            .expect("dry-run JSON");
    let predicted_failures = failure_set(&predicted["run"]["failures"]);
    assert!(
        !predicted_failures.is_empty(),
        "the dry run predicts the agents' refusal"
    );
    assert_eq!(
        predicted["run"]["kinds"]["organization"]["adopted"],
        companies.len(),
        "the account's companies of the same name are predicted adopted: {:#}",
        predicted["run"]["kinds"]
    );

    let migrate = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("migrate");
    let out = String::from_utf8_lossy(&migrate.stdout);
    assert_eq!(
        migrate.status.code(),
        Some(2),
        "{out}{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let first_group = out
        .lines()
        .find(|l| l.trim_start().starts_with("1. "))
        .unwrap_or_default();
    assert!(
        first_group.contains("users [invalid_record], and because of them"),
        "the agents without a seat come first, with what followed: {out}"
    );
    assert!(out.contains("no Freshdesk agent has the email"), "{out}");
    assert!(out.contains("what to do:"), "{out}");

    let failures = Command::new(BIN)
        .args(["failures", "--json"])
        .arg(&plan)
        .output()
        .expect("failures");
    assert_eq!(failures.status.code(), Some(2));
    let document: serde_json::Value =
        serde_json::from_slice(&failures.stdout).expect("failures --json is JSON");
    let groups = document["failure_groups"].as_array().expect("groups");
    assert_eq!(groups[0]["kind"], "user", "{document:#}");
    let follow_on: u64 = groups[0]["follow_on"]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    assert!(
        follow_on > 0,
        "tickets and comments failed because of the agents: {document:#}"
    );
    let total: u64 = groups
        .iter()
        .map(|g| {
            g["count"].as_u64().unwrap_or(0)
                + g["follow_on"]
                    .as_object()
                    .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
                    .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        total as usize,
        document["failures"].as_array().map_or(0, Vec::len),
        "every failure is in exactly one group"
    );

    assert_eq!(
        predicted_failures,
        failure_set(&document["failures"]),
        "the dry run's predicted failures are the migration's failures"
    );

    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&plan)
        .output()
        .expect("verify");
    let report = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(
        verify.status.code(),
        Some(3),
        "an incomplete migration is not certified: {report}"
    );
    assert!(report.contains("DIFFERENCES FOUND"), "{report}");
    assert!(
        report.contains("missing on target: ") && report.contains(" failed"),
        "{report}"
    );
    assert!(!report.contains("all matched"), "{report}");

    // Rollback deletes what the migration created and gives back what it adopted: the
    // account's own companies, groups and fields are as they were.
    let rollback = Command::new(BIN)
        .args(["rollback", "--yes"])
        .arg(&plan)
        .output()
        .expect("rollback");
    let undone = String::from_utf8_lossy(&rollback.stdout);
    assert!(
        rollback.status.success(),
        "{undone}{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
    assert!(undone.contains("given back"), "{undone}");
    assert_eq!(
        freshdesk_snapshot(&freshdesk.base_url(), &freshdesk.api_key()),
        account_before,
        "rollback left the live account's own records as they were: {undone}"
    );
}

/// A Freshdesk account's groups, companies, agents and field lists as its API lists
/// them, times of the last change left out.
fn freshdesk_snapshot(url: &str, key: &str) -> Vec<serde_json::Value> {
    use switchover_http::{Auth, ClientConfig, HttpClient, Request};
    let client = HttpClient::new(ClientConfig {
        auth: Auth::basic(key, switchover_adapter::Secret::new("X")),
        ..ClientConfig::new(format!("{url}/api/v2/"))
    })
    .expect("client");
    [
        "groups",
        "companies",
        "agents",
        "admin/ticket_fields",
        "admin/contact_fields",
        "admin/company_fields",
    ]
    .iter()
    .map(|path| {
        let mut list: serde_json::Value = client
            .send(Request::get(*path).query("per_page", "100"))
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
        list
    })
    .collect()
}

/// An empty Freshdesk account with `faults`, its admin having seated the dataset's agents
/// (a migration never invites agents); its API key in `dir/fd-key`.
fn freshdesk_for_the_dataset(
    dir: &Path,
    faults: &str,
) -> switchover_freshdesk_emulator::FreshdeskEmulator {
    let freshdesk = switchover_freshdesk_emulator::FreshdeskEmulator::start(
        switchover_sandbox::EmulatorConfig {
            faults: faults.parse().expect("faults"),
            ..switchover_sandbox::EmulatorConfig::empty()
        },
    )
    .expect("freshdesk");
    for (name, email) in [
        ("Ada Admin", "ada@helpdesk.example"),
        ("Grace Agent", "grace@helpdesk.example"),
    ] {
        freshdesk.add_agent(name, email);
    }
    std::fs::write(dir.join("fd-key"), freshdesk.api_key()).expect("key file");
    freshdesk
}

/// The target dies in the middle of a run: the run does not go on failing batch after
/// batch in silence. Past the plan's `give_up_after_seconds` it stops with exit 6 and
/// says which side stopped answering, since when, and that the state is saved; while
/// it waits, stderr (not a terminal here) says so in log lines.
#[test]
fn a_target_that_dies_mid_run_stops_the_run_within_the_bound_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 400);
    let freshdesk = freshdesk_for_the_dataset(dir.path(), "latency=4ms");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[source]\nadapter = \"archive\"\npath = \"src\"\n[target]\nadapter = \"freshdesk\"\nurl = \"{}\"\napi_key = \"file:fd-key\"\n\
             [run]\nstate = \"state.sqlite\"\nbatch_size = 10\ngive_up_after_seconds = 3\n",
            freshdesk.base_url()
        ),
    )
    .expect("write plan");
    let child = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn migrate");
    std::thread::sleep(Duration::from_millis(2500));
    drop(freshdesk);
    let died = Instant::now();
    let output = child.wait_with_output().expect("wait");
    let stopped_after = died.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(6),
        "exit 6 for a dead target: {stderr}"
    );
    assert!(
        // 3 s of silence plus the requests in flight; measured 10 s on a quiet machine and
        // 48 s with the whole suite loading both cores. Without the bound it went on for hours.
        stopped_after < Duration::from_secs(120),
        "the run stopped {stopped_after:?} after the target died; the bound is 3 s plus the retries in flight"
    );
    assert!(
        stderr.contains("the target (freshdesk) has not answered since"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run `switchover migrate` again"),
        "{stderr}"
    );
    assert!(
        stderr.contains("waiting "),
        "retry waits are logged when stderr is not a terminal: {stderr}"
    );
    assert_eq!(
        stderr.matches("has not answered since").count(),
        1,
        "the error is printed once: {stderr}"
    );
}

/// Ctrl-C against a SaaS at real latency stops within seconds, at a request boundary
/// rather than after the page in flight, and loses nothing: the next `migrate` resumes
/// and verification matches every source record.
#[test]
fn ctrl_c_against_a_slow_saas_stops_within_seconds_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 300);
    // 30 ms a request: the run takes well over the 3 s before Ctrl-C even with writes
    // side by side (at 6 ms it finished first).
    let freshdesk = freshdesk_for_the_dataset(dir.path(), "latency=30ms");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[source]\nadapter = \"archive\"\npath = \"src\"\n[target]\nadapter = \"freshdesk\"\nurl = \"{}\"\napi_key = \"file:fd-key\"\n\
             [run]\nstate = \"state.sqlite\"\nbatch_size = 10\npage_size = 200\n",
            freshdesk.base_url()
        ),
    )
    .expect("write plan");
    let child = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn migrate");
    std::thread::sleep(Duration::from_millis(3000));
    let sent = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let asked = Instant::now();
    let output = child.wait_with_output().expect("wait");
    let took = asked.elapsed();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        took < Duration::from_secs(10),
        "Ctrl-C took {took:?} to stop the run"
    );
    assert!(
        out.contains("(full)") || out.contains("run "),
        "a summary is printed: {out}"
    );

    let resumed = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("resume");
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        resumed.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&plan)
        .output()
        .expect("verify");
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && report.contains("all matched"),
        "{report}"
    );
}

/// At cutover the dry run previews the delta: after a completed migration it reads a
/// copy of the state store and counts what the next run would create, update, delete
/// and leave unchanged, and the state store is not changed by it.
#[test]
fn a_dry_run_after_a_migration_previews_the_delta_and_changes_no_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 20);
    let plan = plan(dir.path());
    let first = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("migrate");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    {
        // The source gains a ticket after the first run.
        let archive = Archive::open_target(&dir.path().join("src")).expect("reopen source");
        let late = switchover_model::Ticket {
            id: "late-ticket".into(),
            subject: "Arrived after the first run".into(),
            requester: Some(switchover_model::Ref::new("u-alice")),
            ..Default::default()
        };
        let written = archive
            .write_batch(
                Kind::Ticket,
                &[switchover_adapter::WriteRequest::create(
                    switchover_model::Entity::into_record(late),
                )],
                &Dataset::conformance(),
            )
            .expect("add a ticket");
        assert!(written[0].result.is_ok());
        Target::finish(&archive).expect("seal");
    }
    let state = dir.path().join("state.sqlite");
    let before = std::fs::read(&state).expect("state");
    let preview = Command::new(BIN)
        .arg("dry-run")
        .arg(&plan)
        .arg("--json")
        .arg(dir.path().join("preview.json"))
        .output()
        .expect("dry-run");
    let text = String::from_utf8_lossy(&preview.stdout);
    assert!(
        preview.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&preview.stderr)
    );
    assert!(text.contains("preview of the next run"), "{text}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("preview.json")).expect("preview.json"),
    )
    .expect("json");
    assert_eq!(report["run"]["mode"], "delta", "{report:#}");
    let tickets = &report["run"]["kinds"]["ticket"];
    assert_eq!(tickets["created"], 1, "{tickets:#}");
    assert_eq!(tickets["unchanged"], 24, "{tickets:#}");
    assert_eq!(
        std::fs::read(&state).expect("state"),
        before,
        "the dry run changed the state store"
    );

    let delta = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .output()
        .expect("migrate");
    let delta_text = String::from_utf8_lossy(&delta.stdout);
    assert!(delta.status.success(), "{delta_text}");
    assert!(delta_text.contains("(delta)"), "{delta_text}");
}

/// `switchover demo`, the README's first command: a Zendesk emulator moved into a live
/// Freshdesk emulator, no credentials given. It exits 0, every file its closing paragraph
/// names exists, the verification matched every source record, and no secret of either
/// emulator appears in what it printed or wrote.
#[test]
fn the_demo_writes_the_reports_it_names_and_verifies_all_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = dir.path().join("demo");
    let started = Instant::now();
    let output = Command::new(BIN)
        .args(["demo", "--tickets", "40", "--dir"])
        .arg(&demo)
        .output()
        .expect("run the demo");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // A debug build on a loaded 2-core machine; seconds in a release build.
    assert!(took < Duration::from_secs(240), "the demo took {took:?}");

    let paragraph = stdout.lines().last().unwrap_or_default();
    assert!(paragraph.contains("found all matched"), "{paragraph}");
    let root = demo.display().to_string();
    let named: Vec<&str> = paragraph
        .split_whitespace()
        .filter(|word| word.starts_with(&root))
        .map(|word| word.trim_end_matches(['.', ',', ')', ';']))
        .collect();
    for expected in [
        "dry-run.html",
        "dry-run.md",
        "verification.html",
        "verification.md",
        "compliance-archive",
    ] {
        assert!(
            named.iter().any(|path| path.ends_with(expected)),
            "the paragraph names no {expected}: {paragraph}"
        );
    }
    for path in &named {
        assert!(Path::new(path).exists(), "{path} is named but not there");
    }

    let verification: serde_json::Value = serde_json::from_slice(
        &std::fs::read(demo.join("verification.json")).expect("verification.json"),
    )
    .expect("verification JSON");
    let kinds = verification["kinds"].as_object().expect("kinds");
    assert!(kinds.contains_key("ticket") && kinds.contains_key("comment"));
    for (kind, v) in kinds {
        assert!(
            v["source_records"].as_u64().is_some_and(|n| n > 0)
                && v["matched"] == v["source_records"]
                && v["differ"] == 0
                && v["missing"] == 0
                && v["extra"] == 0,
            "{kind}: {v}"
        );
    }
    let html = std::fs::read_to_string(demo.join("dry-run.html")).expect("dry-run.html");
    assert!(html.contains("freshdesk") && html.contains("zendesk"));
    // The compliance archive holds what Freshdesk cannot: the account's macros.
    let archive = Archive::open_source(&demo.join("compliance-archive")).expect("archive");
    let macros = archive
        .read_page(Kind::Macro, &PageRequest::default())
        .expect("read macros");
    assert!(!macros.records.is_empty(), "no macros in the archive copy");

    let mut written = vec![stdout.to_string(), stderr.to_string()];
    for entry in std::fs::read_dir(&demo).expect("demo folder").flatten() {
        if entry
            .path()
            .extension()
            .is_some_and(|e| e == "html" || e == "md" || e == "json" || e == "toml")
        {
            written.push(std::fs::read_to_string(entry.path()).expect("read"));
        }
    }
    for secret in std::fs::read_dir(demo.join("secrets"))
        .expect("secrets")
        .flatten()
    {
        let value = std::fs::read_to_string(secret.path()).expect("secret");
        assert!(value.len() >= 8, "a secret of {} bytes", value.len());
        for text in &written {
            assert!(!text.contains(value.trim()), "a secret leaked");
        }
    }
}

/// `switchover completions SHELL` prints a script naming the subcommands, for each shell
/// a user installs it in.
#[test]
fn completions_name_the_subcommands_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef switchover"),
        ("fish", "complete -c switchover"),
    ] {
        let output = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .expect("completions");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{shell}: {output:?}");
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for subcommand in [
            "demo",
            "dry-run",
            "check",
            "migrate",
            "verify",
            "completions",
        ] {
            assert!(script.contains(subcommand), "{shell}: no {subcommand}");
        }
    }
    let unknown = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .expect("completions");
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
}

/// `switchover ... | head`: when the reader of stdout (and stderr) is gone, the command
/// ends quietly, with no "Broken pipe" error and no panic, and the work it was doing is
/// done.
#[test]
fn a_broken_pipe_ends_quietly() {
    let closed = || {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        writer
    };
    for args in [
        &["adapters"][..],
        &["adapters", "--json"],
        &["completions", "bash"],
    ] {
        let output = Command::new(BIN)
            .args(args)
            .stdout(closed())
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{args:?}: {:?} {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // A migration whose stdout and stderr both go nowhere (`2>&1 | head -1`) still
    // migrates everything.
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 50);
    let plan = plan(dir.path());
    let status = Command::new(BIN)
        .arg("migrate")
        .arg(&plan)
        .stdout(closed())
        .stderr(closed())
        .status()
        .expect("migrate");
    assert!(status.success(), "{status:?}");
    let (verify, report) = run_on(&["verify"], &plan);
    assert!(verify.status.success(), "{report}");
}

/// Runs `switchover ARGS PLAN`; its output and its stdout as text.
fn run_on(args: &[&str], plan: &Path) -> (std::process::Output, String) {
    let output = Command::new(BIN)
        .args(args)
        .arg(plan)
        .output()
        .expect("run switchover");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn write_plan_file(dir: &Path, source: &str, target: &str) -> std::path::PathBuf {
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        format!("[source]\n{source}\n[target]\n{target}\n[run]\nstate = \"state.sqlite\"\n"),
    )
    .expect("write plan");
    plan
}

/// `switchover check` against a prospect's Zendesk and a Freshdesk account already in use:
/// both sides answer, the quota is Freshdesk's, the first organizations are found on the
/// target (adopted, not duplicated), and it exits 0; a wrong key exits 5 naming the side.
#[test]
fn check_finds_credentials_quota_and_collisions_without_a_full_read() {
    use switchover_freshdesk_emulator::FreshdeskEmulator;
    use switchover_sandbox::EmulatorConfig;
    use switchover_zendesk_emulator::ZendeskEmulator;

    let dir = tempfile::tempdir().expect("tempdir");
    let zendesk = ZendeskEmulator::start(EmulatorConfig::small(5)).expect("zendesk");
    // In use, with no automation rules that would e-mail anyone.
    let freshdesk = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 0,
        users: 0,
        triggers: 0,
        automations: 0,
        ..EmulatorConfig::small(5)
    })
    .expect("freshdesk");
    std::fs::write(dir.path().join("zd-token"), zendesk.api_token()).expect("token");
    std::fs::write(dir.path().join("fd-key"), freshdesk.api_key()).expect("key");
    std::fs::write(dir.path().join("bad-key"), "not-the-key").expect("key");
    let source = format!(
        "adapter = \"zendesk\"\nurl = \"{}\"\nemail = \"{}\"\napi_token = \"file:zd-token\"",
        zendesk.base_url(),
        zendesk.email()
    );
    let target = |key: &str| {
        format!(
            "adapter = \"freshdesk\"\nurl = \"{}\"\napi_key = \"file:{key}\"",
            freshdesk.base_url()
        )
    };
    let plan = write_plan_file(dir.path(), &source, &target("fd-key"));
    let before = freshdesk.requests_served();
    let (output, stdout) = run_on(&["check"], &plan);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ready: `migrate` can start"), "{stdout}");
    assert!(
        stdout.contains("200 requests/minute on freshdesk"),
        "{stdout}"
    );
    let organizations = stdout
        .lines()
        .find(|l| l.contains("organizations"))
        .unwrap_or_default();
    assert!(
        organizations.contains("already on the target"),
        "the live account's companies are found: {stdout}"
    );
    assert!(
        freshdesk.requests_served() - before < 200,
        "check read far more than a sample: {} requests",
        freshdesk.requests_served() - before
    );
    assert!(!state_written(dir.path()), "check wrote a state store");

    let (json, _) = run_on(&["check", "--json"], &plan);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(document["schema_version"], 1);
    assert_eq!(document["exit_status"], 0);
    assert!(document["findings"].as_array().is_some_and(|f| {
        f.iter()
            .any(|f| f["check"] == "target" && f["status"] == "ok")
    }));

    let wrong = write_plan_file(dir.path(), &source, &target("bad-key"));
    let (refused, stdout) = run_on(&["check"], &wrong);
    assert_eq!(refused.status.code(), Some(5), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("target") && l.contains("freshdesk")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not-the-key"),
        "the key is printed: {stdout}"
    );
}

fn state_written(dir: &Path) -> bool {
    dir.join("state.sqlite").exists()
}

/// A Zendesk target with active triggers that e-mail people: `check` says `migrate` would
/// stop, names the risk and how to accept it, and exits 4 as `migrate` would; accepted
/// in the plan, it is a warning and the check passes.
#[test]
fn check_names_a_notification_risk_the_plan_has_not_accepted() {
    use switchover_sandbox::EmulatorConfig;
    use switchover_zendesk_emulator::ZendeskEmulator;

    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 5);
    let zendesk = ZendeskEmulator::start(EmulatorConfig::small(3)).expect("zendesk");
    std::fs::write(dir.path().join("zd-token"), zendesk.api_token()).expect("token");
    let target = format!(
        "adapter = \"zendesk\"\nurl = \"{}\"\nemail = \"{}\"\napi_token = \"file:zd-token\"",
        zendesk.base_url(),
        zendesk.email()
    );
    let plan = write_plan_file(dir.path(), "adapter = \"archive\"\npath = \"src\"", &target);
    let (output, stdout) = run_on(&["check"], &plan);
    assert_eq!(output.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("'target_notifications'") && stdout.contains("accept_risks"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&plan).expect("plan");
    std::fs::write(
        &plan,
        format!("{text}accept_risks = [\"target_notifications\"]\n"),
    )
    .expect("plan");
    let (accepted, stdout) = run_on(&["check"], &plan);
    assert!(accepted.status.success(), "{stdout}");
    assert!(stdout.contains("accepted by the plan"), "{stdout}");
}

/// Under nohup or CI (stderr not a terminal), a plain progress line goes out every
/// `--progress-every` seconds for each running kind, with its total (and, once records
/// moved, a rounded rate and an ETA), whether or not a page finished in between; the
/// issue saw nothing at all for a whole run.
#[test]
fn progress_lines_go_out_every_few_seconds_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 150);
    let freshdesk = freshdesk_for_the_dataset(dir.path(), "latency=20ms");
    let target = format!(
        "adapter = \"freshdesk\"\nurl = \"{}\"\napi_key = \"file:fd-key\"",
        freshdesk.base_url()
    );
    let plan = write_plan_file(dir.path(), "adapter = \"archive\"\npath = \"src\"", &target);
    let (output, stdout) = run_on(&["--progress-every", "1", "migrate"], &plan);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    // `<time> comments: 120/456 (26%)[, 35/s, eta 9 s]`: 456 notes at 20 ms each, four at
    // a time, take seconds on any machine.
    let periodic: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": ") && l.contains("%)") && !l.contains("started"))
        .collect();
    assert!(
        periodic.len() >= 2,
        "fewer than two periodic lines with a total: {stderr}"
    );
    for line in &periodic {
        if let Some(rate) = line.split(", ").find(|part| part.ends_with("/s")) {
            assert!(
                !rate.trim_end_matches("/s").contains('.') || rate.len() <= 5,
                "a rate for people, not 49.0066/s: {line}"
            );
        }
    }
}

/// A Freshdesk account in use before a migration with a plan that maps: its own group
/// "Escalations", a dropdown "Product tier" whose options (Gold, Silver, Other) are
/// not the source's, the seats of the source's admin and first two agents, and a
/// "Former Agent" seat for those who left. Its API key in `dir/fd-key`.
fn freshdesk_for_a_mapped_plan(dir: &Path) -> switchover_freshdesk_emulator::FreshdeskEmulator {
    use switchover_http::{Auth, ClientConfig, HttpClient, Request};
    let freshdesk = switchover_freshdesk_emulator::FreshdeskEmulator::start(
        switchover_sandbox::EmulatorConfig::empty(),
    )
    .expect("freshdesk");
    let generator = switchover_sandbox::generate::Generator::new(&mapped_source_config());
    for i in 1..=2 {
        let agent = generator.agent(i);
        freshdesk.add_agent(&agent.name, agent.email.as_deref().unwrap_or_default());
    }
    freshdesk.add_agent("Former Agent", "former@acme.example");
    let client = HttpClient::new(ClientConfig {
        auth: Auth::basic(freshdesk.api_key(), switchover_adapter::Secret::new("X")),
        ..ClientConfig::new(format!("{}/api/v2/", freshdesk.base_url()))
    })
    .expect("client");
    for (path, body) in [
        (
            "groups",
            serde_json::json!({"name": "Escalations", "description": "the account's own"}),
        ),
        (
            "admin/ticket_fields",
            serde_json::json!({
                "label": "Product tier", "label_for_customers": "Product tier",
                "type": "custom_dropdown", "required_for_agents": false,
                "choices": ["Gold", "Silver", "Other"],
            }),
        ),
    ] {
        let request = Request::post(path).json(&body).expect("body");
        client
            .send(request)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    }
    std::fs::write(dir.join("fd-key"), freshdesk.api_key()).expect("key file");
    freshdesk
}

/// The account a mapped plan migrates: agent-3 has no seat on the target (departed).
fn mapped_source_config() -> switchover_sandbox::EmulatorConfig {
    switchover_sandbox::EmulatorConfig {
        organizations: 2,
        users: 6,
        agents: 3,
        groups: 3,
        tickets: 12,
        comments_per_ticket: 2,
        custom_fields: true,
        ..switchover_sandbox::EmulatorConfig::empty()
    }
}

/// The Zendesk emulator account `plan_with_map` migrates.
fn zendesk_for_a_mapped_plan(dir: &Path) -> switchover_zendesk_emulator::ZendeskEmulator {
    let zendesk = switchover_zendesk_emulator::ZendeskEmulator::start(mapped_source_config())
        .expect("zendesk");
    std::fs::write(dir.join("zd-token"), zendesk.api_token()).expect("token");
    zendesk
}

fn plan_with_map(
    dir: &Path,
    zendesk: &switchover_zendesk_emulator::ZendeskEmulator,
    freshdesk: &switchover_freshdesk_emulator::FreshdeskEmulator,
    map: &str,
) -> std::path::PathBuf {
    let plan = dir.join("mapped.toml");
    std::fs::write(
        &plan,
        format!(
            "[source]\nadapter = \"zendesk\"\nurl = \"{}\"\nemail = \"{}\"\napi_token = \"file:zd-token\"\n\
             [target]\nadapter = \"freshdesk\"\nurl = \"{}\"\napi_key = \"file:fd-key\"\n\
             [run]\nstate = \"state.sqlite\"\naccept_risks = [\"target_notifications\"]\n{map}",
            zendesk.base_url(),
            zendesk.email(),
            freshdesk.base_url()
        ),
    )
    .expect("write plan");
    plan
}

/// The group names a Freshdesk account lists.
fn freshdesk_group_names(
    freshdesk: &switchover_freshdesk_emulator::FreshdeskEmulator,
) -> Vec<String> {
    freshdesk_snapshot(&freshdesk.base_url(), &freshdesk.api_key())[0]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 13's "done when": a Zendesk account moves into a Freshdesk account in use with
/// a plan that maps statuses, a group onto the target's own, a departed agent onto a
/// stand-in and a dropdown whose options differ; nothing fails, verify compares the
/// target with the mapped source and reports all matched, naming what the plan mapped.
#[test]
fn a_mapped_plan_moves_zendesk_into_freshdesk_and_verifies_all_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zendesk = zendesk_for_a_mapped_plan(dir.path());
    let freshdesk = freshdesk_for_a_mapped_plan(dir.path());
    let plan = plan_with_map(
        dir.path(),
        &zendesk,
        &freshdesk,
        r#"
[map.status]
new = "open"
on_hold = "pending"
[map.groups]
"Tier 2 2" = "Escalations"
[map.users]
departed_agents = "former@acme.example"
[map.fields."Custom dropdown ✎"]
to = "Product tier"
values = { "dropdown_gold" = "Gold", "Silber ✓" = "silver" }
unmapped = "default:Other"
"#,
    );
    // The dry run lists every value in use, and as unmapped exactly the options the
    // plan does not map and the target field lacks (bronze becomes the default).
    let coverage = dir.path().join("coverage.json");
    let (dry, stdout) = run_on(
        &["dry-run", "--json", coverage.to_str().unwrap_or_default()],
        &plan,
    );
    assert!(
        dry.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&coverage).expect("dry-run JSON")).expect("JSON");
    let rows = report["coverage"].as_array().cloned().unwrap_or_default();
    let unmapped: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| r["unmapped"] == true)
        .map(|r| {
            (
                r["field"].as_str().unwrap_or_default().to_string(),
                r["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let bronze_used = rows
        .iter()
        .any(|r| r["field"] == "field: Custom dropdown ✎" && r["value"] == "dropdown_bronze");
    assert!(
        bronze_used,
        "the seeded account uses bronze (seed 1): {rows:#?}"
    );
    let expected: std::collections::BTreeSet<(String, String)> = [(
        "field: Custom dropdown ✎".to_string(),
        "dropdown_bronze".to_string(),
    )]
    .into();
    assert_eq!(unmapped, expected, "{rows:#?}");
    assert!(
        rows.iter().any(|r| r["field"] == "group"
            && r["value"] == "Tier 2 2"
            && r["lands"] == "mapped by the plan to 'Escalations'"),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .all(|r| r["records"].as_u64().is_some_and(|n| n > 0)),
        "{rows:#?}"
    );
    let (migrated, stdout) = run_on(&["migrate"], &plan);
    assert!(
        migrated.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    // agent-3 left: the stand-in takes the agent and its group memberships.
    assert!(
        stdout.contains("mapped: 1 users folded"),
        "the departed agent is not folded into the stand-in: {stdout}"
    );
    let groups = freshdesk_group_names(&freshdesk);
    assert!(
        groups.iter().any(|g| g == "Escalations") && !groups.iter().any(|g| g == "Tier 2 2"),
        "Tier 2 2 should land on the account's Escalations: {groups:?}"
    );
    let (verified, stdout) = run_on(&["verify"], &plan);
    assert!(
        verified.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(stdout.contains("verification: all matched"), "{stdout}");
    let tickets = stdout
        .lines()
        .skip_while(|l| !l.starts_with("tickets"))
        .take_while(|l| l.starts_with("tickets") || l.starts_with("    "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        tickets.contains("mapped by the plan")
            && tickets.contains("custom_fields (Custom dropdown ✎)"),
        "the report does not say what the plan mapped: {tickets}"
    );
}

/// Every kind of plan error in `[map]` at once, each naming its key and the nearest
/// name, exiting 4 before anything is written on the target.
#[test]
fn a_map_naming_what_neither_side_has_is_a_plan_error_listing_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zendesk = zendesk_for_a_mapped_plan(dir.path());
    let freshdesk = freshdesk_for_a_mapped_plan(dir.path());
    let before = freshdesk_snapshot(&freshdesk.base_url(), &freshdesk.api_key());
    let plan = plan_with_map(
        dir.path(),
        &zendesk,
        &freshdesk,
        r#"
[map.groups]
"Tier 2 3" = "Escalations"
[map.users]
"agent9@switchover.example" = "former@acme.example"
departed_agents = "formr@acme.example"
[map.fields."Custom dropdwn ✎"]
to = "Product tier"
[map.fields."Custom dropdown ✎"]
to = "Product teir"
[map.fields."Custom multiselect ✎"]
to = "Product tier"
values = { "multiselect_gold" = "Platinum" }
"#,
    );
    for command in ["migrate", "dry-run", "verify"] {
        let (output, stdout) = run_on(&[command], &plan);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(4), "{command}: {stdout}{stderr}");
        for expected in [
            "[map.groups] \"Tier 2 3\": the source has no group of that name; did you mean 'Tier 2 2'?",
            "[map.users] \"agent9@switchover.example\": the source has no user with that e-mail; did you mean 'agent",
            "[map.users] departed_agents = \"formr@acme.example\": the target has no user with that e-mail",
            "[map.fields.\"Custom dropdwn ✎\"]: the source has no field with that title, key or id; did you mean 'Custom dropdown ✎'?",
            "[map.fields.\"Custom dropdown ✎\"] to = \"Product teir\": the target has no such field; did you mean 'Product tier'?",
            "the target field 'Product tier' has no option 'Platinum'",
        ] {
            assert!(
                stderr.contains(expected),
                "{command}: missing '{expected}' in:\n{stderr}"
            );
        }
    }
    assert!(!state_written(dir.path()), "a state store was written");
    assert_eq!(
        freshdesk_snapshot(&freshdesk.base_url(), &freshdesk.api_key()),
        before,
        "the target changed before the plan was valid"
    );
}

/// A delta run after the plan's map changed: the records whose mapped values changed
/// are updated on the target (the map applies before the digest), the rest are left
/// alone, and verify matches the target against the new map.
#[test]
fn a_changed_map_updates_exactly_the_records_it_changes_on_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zendesk = zendesk_for_a_mapped_plan(dir.path());
    let freshdesk = freshdesk_for_a_mapped_plan(dir.path());
    let map = |silver: &str| {
        format!(
            "[map.status]\nnew = \"open\"\non_hold = \"pending\"\n[map.groups]\n\"Tier 2 2\" = \"Escalations\"\n\
             [map.users]\ndeparted_agents = \"former@acme.example\"\n\
             [map.fields.\"Custom dropdown ✎\"]\nto = \"Product tier\"\n\
             values = {{ \"dropdown_gold\" = \"Gold\", \"Silber ✓\" = \"{silver}\" }}\nunmapped = \"default:Other\"\n"
        )
    };
    let plan = plan_with_map(dir.path(), &zendesk, &freshdesk, &map("silver"));
    let (first, stdout) = run_on(&["migrate"], &plan);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The same plan again: nothing to update.
    let (again, stdout) = run_on(&["migrate", "--json"], &plan);
    assert!(again.status.success(), "{stdout}");
    let unchanged: serde_json::Value = serde_json::from_str(&stdout).expect("migrate --json");
    let updated = |summary: &serde_json::Value| {
        summary["summary"]["kinds"]["ticket"]["updated"]
            .as_u64()
            .or_else(|| summary["kinds"]["ticket"]["updated"].as_u64())
    };
    assert_eq!(updated(&unchanged), Some(0), "{unchanged:#}");
    // Silver now lands on Gold: the tickets with that option are updated.
    let plan = plan_with_map(dir.path(), &zendesk, &freshdesk, &map("Gold"));
    let (delta, stdout) = run_on(&["migrate", "--json"], &plan);
    assert!(
        delta.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&delta.stderr)
    );
    let changed: serde_json::Value = serde_json::from_str(&stdout).expect("migrate --json");
    // Exactly the tickets with that option: the dry run's coverage counts them.
    let coverage = dir.path().join("coverage.json");
    let (dry, _) = run_on(
        &["dry-run", "--json", coverage.to_str().unwrap_or_default()],
        &plan,
    );
    assert!(dry.status.success());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&coverage).expect("dry-run JSON")).expect("JSON");
    let silver = report["coverage"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["field"] == "field: Custom dropdown ✎"
                && r["value"] == "dropdown_silver"
                && r["lands"] == "mapped by the plan to 'Gold'"
        })
        .and_then(|r| r["records"].as_u64())
        .unwrap_or_else(|| panic!("the seeded tickets use Silber ✓: {:#}", report["coverage"]));
    assert_eq!(
        updated(&changed),
        Some(silver),
        "the tickets with Silber ✓, and only those, are updated: {changed:#}"
    );
    let (verified, stdout) = run_on(&["verify"], &plan);
    assert!(
        verified.status.success() && stdout.contains("verification: all matched"),
        "{stdout}"
    );
}

/// `-q` prints no progress at all, only the summary on stdout; `-v` prints a line per
/// batch of progress when stderr is not a terminal; without either, a line per kind.
#[test]
fn quiet_and_verbose_change_what_a_run_prints_while_it_runs() {
    let run = |flag: Option<&str>| {
        let dir = tempfile::tempdir().expect("tempdir");
        seed(&dir.path().join("src"), 120);
        let plan = plan(dir.path());
        let mut command = Command::new(BIN);
        command.args(flag).arg("migrate").arg(&plan);
        let output = command.output().expect("migrate");
        assert!(output.status.success(), "{flag:?}: {output:?}");
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (normal_out, normal_err) = run(None);
    assert!(normal_err.contains("tickets: started"), "{normal_err}");
    let (quiet_out, quiet_err) = run(Some("-q"));
    assert!(
        !quiet_err.contains("started") && !quiet_err.contains("done"),
        "-q printed progress: {quiet_err}"
    );
    assert_eq!(quiet_out, normal_out, "-q keeps the summary");
    let (_, verbose_err) = run(Some("-v"));
    let per_batch = |err: &str| {
        err.lines()
            .filter(|l| l.contains("tickets: ") && l.ends_with(" done"))
            .count()
    };
    assert!(
        per_batch(&verbose_err) > per_batch(&normal_err),
        "-v adds a line per batch: {verbose_err}"
    );
}

/// Every record of `kind` in an archive.
fn archive_records(path: &Path, kind: Kind) -> Vec<switchover_model::Record> {
    let archive = Archive::open_source(path).expect("open");
    let mut out = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = archive.read_page(kind, &request).expect("read");
        out.extend(page.records);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return out,
        }
    }
}

/// Runs `switchover COMMAND PLAN` and returns what it printed.
fn switchover(command: &str, plan: &Path) -> std::process::Output {
    Command::new(BIN)
        .arg(command)
        .arg(plan)
        .output()
        .unwrap_or_else(|e| panic!("cannot run switchover {command}: {e}"))
}

/// A pilot run of five ticket ids moves those tickets, their comments, and of the
/// people only those the tickets reference; verify proves the pilot's scope and says
/// what it left out; the full run afterwards moves the rest and deletes nothing.
#[test]
fn a_pilot_of_five_ticket_ids_moves_those_tickets_and_only_what_they_reference() {
    use std::collections::BTreeSet;
    use switchover_model::Record;
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    {
        // The usual source, plus customers no ticket of the pilot names.
        let dataset = Dataset::conformance();
        let content = AnyContent(&dataset);
        let archive = Archive::open_target(&src).expect("seed archive");
        dataset.seed(&archive, &content).expect("seed dataset");
        Generated::seed(&archive, 0..40, 3, 512, &content).expect("seed tickets");
        let extra: Vec<switchover_adapter::WriteRequest> = (0..3)
            .map(|i| {
                switchover_adapter::WriteRequest::create(switchover_model::Entity::into_record(
                    switchover_model::User {
                        id: format!("u-quiet-{i}"),
                        name: format!("Quiet customer {i}"),
                        email: Some(format!("quiet{i}@example.com")),
                        ..Default::default()
                    },
                ))
            })
            .collect();
        archive
            .write_batch(Kind::User, &extra, &content)
            .expect("extra users");
        Target::finish(&archive).expect("seal");
    }
    let tickets = archive_records(&src, Kind::Ticket);
    let chosen: Vec<String> = tickets
        .iter()
        .skip(3)
        .step_by(7)
        .take(5)
        .map(|t| t.id().to_string())
        .collect();
    assert_eq!(chosen.len(), 5);
    // What they reference, read independently of the engine: the tickets' people and
    // the knowledge base's authors (configuration moves whole, with whom it names).
    let mut users = BTreeSet::new();
    for t in tickets
        .iter()
        .filter(|t| chosen.contains(&t.id().to_string()))
    {
        if let Record::Ticket(t) = t {
            for u in [&t.requester, &t.submitter, &t.assignee]
                .into_iter()
                .flatten()
            {
                users.insert(u.id().to_string());
            }
        }
    }
    for a in archive_records(&src, Kind::KbArticle) {
        if let Record::KbArticle(a) = a
            && let Some(author) = &a.author
        {
            users.insert(author.id().to_string());
        }
    }
    assert!(
        users.len() < archive_records(&src, Kind::User).len(),
        "the pilot leaves some users behind, or the test proves nothing"
    );
    let plan = plan(dir.path());
    let ids: Vec<String> = chosen.iter().map(|id| format!("\"{id}\"")).collect();
    let mut text = std::fs::read_to_string(&plan).expect("plan");
    text.push_str(&format!("[filter]\nticket_ids = [{}]\n", ids.join(", ")));
    let pilot = dir.path().join("pilot.toml");
    std::fs::write(&pilot, text).expect("pilot plan");

    let run = switchover("migrate", &pilot);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("filter: 5 ticket(s) in scope"), "{stderr}");
    assert!(stdout.contains("filtered: "), "{stdout}");

    let dst = dir.path().join("dst");
    let moved: BTreeSet<String> = archive_records(&dst, Kind::Ticket)
        .iter()
        .map(|t| t.id().to_string())
        .collect();
    assert_eq!(moved, chosen.iter().cloned().collect::<BTreeSet<_>>());
    let moved_users: BTreeSet<String> = archive_records(&dst, Kind::User)
        .iter()
        .map(|u| u.id().to_string())
        .collect();
    assert_eq!(
        moved_users, users,
        "only the users the pilot's tickets reference"
    );
    let comments = archive_records(&dst, Kind::Comment);
    let expected_comments = archive_records(&src, Kind::Comment)
        .iter()
        .filter(|c| matches!(c, Record::Comment(c) if chosen.contains(&c.ticket.id().to_string())))
        .count();
    assert_eq!(comments.len(), expected_comments);
    assert!(
        comments.iter().all(
            |c| matches!(c, Record::Comment(c) if chosen.contains(&c.ticket.id().to_string()))
        )
    );

    let verify = switchover("verify", &pilot);
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && report.contains("all matched"),
        "{report}"
    );
    assert!(report.contains("outside the plan's [filter]"), "{report}");

    // The full run, without the filter, moves the rest and removes nothing.
    let full = switchover("migrate", &plan);
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    assert_eq!(
        archive_records(&dst, Kind::Ticket).len(),
        tickets.len(),
        "every ticket after the full run"
    );
    let verify = switchover("verify", &plan);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// The soak, small and seeded (issue 18): Zendesk into Freshdesk with faults on both
/// sides, killed with SIGKILL at random moments, resumed to the end; every record
/// counted on the target by its marker, then verified. `switchover bench soak` with
/// its defaults (20 kills) is the full variant, run by hand.
#[test]
fn a_small_soak_of_kills_and_faults_loses_duplicates_and_orphans_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(BIN)
        .args([
            "bench",
            "soak",
            "--from",
            "zendesk",
            "--to",
            "freshdesk",
            "--kills",
            "3",
            "--tickets",
            "20",
            "--seed",
            "7",
            "--dir",
        ])
        .arg(dir.path().join("soak"))
        .output()
        .expect("soak");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for kind in ["users", "tickets", "comments"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} line: {text}"));
        assert!(line.ends_with("0 lost, 0 duplicated, 0 orphans"), "{line}");
    }
    assert!(text.contains("verify:    all matched"), "{text}");
}

/// `switchover report` renders the last migration's summary and verification again from
/// the state store, the same report verify wrote, without contacting either system.
#[test]
fn report_renders_the_last_migration_and_verification_from_the_state_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"), 20);
    let plan = plan(dir.path());
    let early = switchover("report", &plan);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("no migration has run with this plan"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    assert!(switchover("migrate", &plan).status.success());
    let verified = Command::new(BIN)
        .arg("verify")
        .arg(&plan)
        .arg("--json")
        .arg(dir.path().join("verify.json"))
        .output()
        .expect("verify");
    assert!(verified.status.success());
    // `--json -`: the JSON document is all stdout carries, with its schema version.
    let stdout = Command::new(BIN)
        .args(["verify", "--json", "-"])
        .arg(&plan)
        .output()
        .expect("verify --json -");
    let document: serde_json::Value =
        serde_json::from_slice(&stdout.stdout).expect("stdout is one JSON document");
    assert_eq!(document["schema_version"], 1);
    assert!(
        document["kinds"]["ticket"]["matched"].as_u64() > Some(0),
        "{document}"
    );
    // The source is gone: the report needs only the state store.
    std::fs::remove_dir_all(dir.path().join("src")).expect("remove the source");
    let report = Command::new(BIN)
        .arg("report")
        .arg(&plan)
        .arg("--json")
        .arg(dir.path().join("report.json"))
        .arg("--html")
        .arg(dir.path().join("report.html"))
        .output()
        .expect("report");
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert!(text.contains("tickets"), "the migration's summary: {text}");
    assert!(text.contains("all matched"), "the verification: {text}");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join(name)).expect("read")).expect("json")
    };
    let first = read("verify.json");
    assert_eq!(first["schema_version"], 1);
    assert_eq!(read("report.json"), first);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(
        html.contains("ALL MATCHED") || html.contains("All matched"),
        "{html}"
    );
}
