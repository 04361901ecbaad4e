//! The HTML reports opened in a real browser: Debian's Chromium, headless, installed by
//! `scripts/test.sh` (`scripts/browser.sh`). The page must load with no console message,
//! render its charts and tables, and leave a screenshot in the test output.
//!
//! Without Chromium the test says so and passes, unless `SWITCHOVER_REQUIRE_BROWSER=1`
//! (set by `scripts/test.sh`), where a missing browser fails it.

use std::path::{Path, PathBuf};
use std::process::Command;

use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, Silent, dry_run, migrate, verify};
use switchover_report::{ReportContext, dry_run_html, verify_html};
use switchover_testkit::Dataset;
use switchover_testkit::dataset::{AnyContent, Generated};

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SWITCHOVER_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs headless Chromium on `page` with `args`; returns stdout and stderr.
fn run(browser: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Opens `page`: no console message, the DOM has `sections` and `svgs` charts, and a
/// screenshot lands next to the test's other output.
fn check_in_browser(browser: &Path, page: &Path, sections: &[&str], svgs: usize) {
    let (dom, log) = run(browser, page, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    for section in sections {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "the rendered page has no {section} section"
        );
    }
    assert_eq!(
        dom.matches("<svg").count(),
        svgs,
        "charts in the rendered page"
    );
    let name = page
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("report");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    run(
        browser,
        page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,3000",
        ],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "the screenshot {} is empty", shot.display());
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn the_reports_render_in_chromium_with_their_charts_and_no_console_message() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("SWITCHOVER_REQUIRE_BROWSER").is_err(),
            "SWITCHOVER_REQUIRE_BROWSER is set but Chromium is not installed: run scripts/browser.sh"
        );
        eprintln!("skipped: Chromium is not installed (scripts/browser.sh installs it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = Dataset::conformance();
    let content = AnyContent(&dataset);
    let src = dir.path().join("src");
    {
        let archive = Archive::open_target(&src).expect("seed");
        dataset.seed(&archive, &content).expect("seed dataset");
        Generated::seed(&archive, 0..40, 2, 2048, &content).expect("seed tickets");
        switchover_adapter::Target::finish(&archive).expect("seal");
    }
    let source = Archive::open_source(&src).expect("source");
    let target = Archive::open_target(&dir.path().join("dst")).expect("target");
    let options = Options::default();
    let context = ReportContext::new("archive", "archive", "plan.toml");

    let report =
        dry_run(&source, &target, &options, None, &Silent, &Cancel::new()).expect("dry run");
    let page = dir.path().join("dry-run.html");
    std::fs::write(&page, dry_run_html(&report, &context).expect("render")).expect("write");
    let charts = dry_run_html(&report, &context)
        .expect("render")
        .matches("<svg")
        .count();
    assert!(charts >= 4, "the dry-run report has its charts");
    check_in_browser(
        &browser,
        &page,
        &["summary", "charts", "kinds", "integrations"],
        charts,
    );

    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    let verified = verify(&source, &target, &mut state, &options.kinds, &Silent).expect("verify");
    let page = dir.path().join("verification.html");
    std::fs::write(&page, verify_html(&verified, &context).expect("render")).expect("write");
    check_in_browser(&browser, &page, &["integrations"], 0);
}
