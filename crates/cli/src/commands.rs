//! The subcommands: each loads the plan, builds adapters through the registry and hands
//! them to the engine. Exit statuses say what happened.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use switchover_adapter::{Capabilities, RegistryError, Source, Target};
use switchover_archive::Archive;
use switchover_engine::failures::{FailureGroup, root_causes};
use switchover_engine::mapping::Mapping;
use switchover_engine::plan::Plan;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, EngineError, RunSummary, Silent, VerifyReport};
use switchover_model::Kind;
use switchover_report::{BudgetOrigin, ReportContext};
use switchover_testkit::Dataset;
use switchover_testkit::dataset::{AnyContent, Generated};

use crate::adapters::registry;
use crate::progress::Bars;

/// Some records failed; they are listed and `retry-failed` sends them again.
pub const EXIT_RECORDS_FAILED: u8 = 2;
/// Verification found differences.
pub const EXIT_VERIFY_DIFFERS: u8 = 3;
/// The plan is wrong.
pub const EXIT_BAD_PLAN: u8 = 4;
/// Credentials were refused.
pub const EXIT_AUTHENTICATION: u8 = 5;
/// Stopped by Ctrl-C; `migrate` again resumes.
pub const EXIT_INTERRUPTED: u8 = 130;
/// A side failed only transiently for longer than `give_up_after_seconds`; state saved.
pub const EXIT_UNREACHABLE: u8 = 6;

/// The exit status for an error.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            if e.is_authentication() {
                return EXIT_AUTHENTICATION;
            }
            if matches!(e, EngineError::Plan(_)) {
                return EXIT_BAD_PLAN;
            }
            if matches!(e, EngineError::Unreachable(_)) {
                return EXIT_UNREACHABLE;
            }
        }
        if let Some(e) = cause.downcast_ref::<RegistryError>() {
            return match e {
                RegistryError::Adapter(a)
                    if a.kind() == switchover_adapter::ErrorKind::Authentication =>
                {
                    EXIT_AUTHENTICATION
                }
                RegistryError::Adapter(a) if a.kind() != switchover_adapter::ErrorKind::Config => 1,
                _ => EXIT_BAD_PLAN,
            };
        }
    }
    1
}

/// A plan with its two sides connected.
pub(crate) struct Opened {
    /// The plan.
    pub plan: Plan,
    /// Its source.
    pub source: Box<dyn Source>,
    /// Its target.
    pub target: Box<dyn Target>,
}

/// Loads a plan and connects both sides through the registry.
pub(crate) fn open(plan_path: &Path) -> Result<Opened> {
    let mut plan = Plan::load(plan_path)?;
    // No single request may retry past the time the run gives a silent side.
    switchover_http::cap_total_wait(plan.options.give_up_after);
    let registry = registry();
    let source = registry
        .source(&plan.source)
        .context("cannot open the source")?;
    let target = registry
        .target(&plan.target)
        .context("cannot open the target")?;
    // The map is checked against both sides (read-only) before anything moves.
    if !plan.map.is_empty() {
        let mapping = Mapping::resolve(&plan.map, source.as_ref(), target.as_ref())?;
        plan.options.mapping = std::sync::Arc::new(mapping);
    }
    // The filter's scope, from the source as it is now (read-only).
    if !plan.filter.is_empty() {
        let scope = switchover_engine::filter::Scope::discover(source.as_ref(), &plan.filter)
            .context(
                "cannot apply the plan's [filter]: reading the source's tickets and users failed",
            )?;
        eprintln!(
            "filter: {} ticket(s) in scope, with {} user(s), {} organization(s) and {} group(s) they reference",
            scope.tickets.len(),
            scope.users.len(),
            scope.organizations.len(),
            scope.groups.len()
        );
        plan.options.scope = Some(std::sync::Arc::new(scope));
    }
    Ok(Opened {
        plan,
        source,
        target,
    })
}

/// Files a report command writes besides what it prints.
#[derive(Debug, Default, clap::Args)]
pub struct Outputs {
    /// Also write the report as JSON to this file (`-`: to stdout, instead of the text).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the report as one self-contained HTML file (to hand to a customer).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the report as Markdown (for an e-mail or a ticket).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

impl Outputs {
    /// Fails before any work when a report could not be written where asked: a dry run
    /// against a large helpdesk takes hours, and a typo should cost a second.
    fn check(&self) -> Result<()> {
        for path in [&self.json, &self.html, &self.markdown]
            .into_iter()
            .flatten()
            .filter(|p| !is_stdout(p))
        {
            if path.is_dir() {
                bail!(
                    "cannot write the report to {}: it is a folder",
                    path.display()
                );
            }
            let folder = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !folder.is_dir() {
                bail!(
                    "cannot write the report to {}: there is no folder {}",
                    path.display(),
                    folder.display()
                );
            }
        }
        Ok(())
    }

    /// Writes every report asked for, each rendered only when asked for.
    fn write(
        &self,
        json: impl FnOnce() -> serde_json::Result<Vec<u8>>,
        html: impl FnOnce() -> Result<String, switchover_report::ReportError>,
        markdown: impl FnOnce() -> Result<String, switchover_report::ReportError>,
    ) -> Result<()> {
        if let Some(path) = &self.json {
            let bytes = versioned(&json()?)?;
            if is_stdout(path) {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                writeln!(out)?;
            } else {
                write_report(path, "JSON", &bytes)?;
            }
        }
        if let Some(path) = &self.html {
            write_report(path, "HTML", html()?.as_bytes())?;
        }
        if let Some(path) = &self.markdown {
            write_report(path, "Markdown", markdown()?.as_bytes())?;
        }
        Ok(())
    }
}

impl Outputs {
    /// Whether the JSON report goes to stdout, which then carries nothing else.
    pub(crate) fn json_to_stdout(&self) -> bool {
        self.json.as_deref().is_some_and(is_stdout)
    }
}

/// `-` names stdout.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The version of the JSON documents' shape, in every one as `schema_version`.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A JSON document with its `schema_version` added at the top.
fn versioned(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).context("the report's JSON is unreadable")?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
    Ok(serde_json::to_vec_pretty(&value)?)
}

fn write_report(path: &Path, format: &str, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)
        .with_context(|| format!("cannot write the {format} report to {}", path.display()))
}

/// What a report may say about the run: adapter names, the plan's file name, the time;
/// never the plan's settings (they may hold credentials).
fn report_context(plan_path: &Path, plan: &Plan) -> ReportContext {
    let plan_name = plan_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| plan_path.display().to_string());
    ReportContext::new(plan.source.adapter(), plan.target.adapter(), plan_name)
}

fn cancel_on_ctrl_c() -> Cancel {
    let cancel = Cancel::new();
    let flag = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.is_cancelled() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\nstopping after the batches in flight; run `switchover migrate` again to resume (Ctrl-C again to quit now)"
        );
        flag.cancel();
    });
    cancel
}

fn print_summary(summary: &RunSummary) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "run {} ({})", summary.run, summary.mode)?;
    writeln!(
        out,
        "{:<22} {:>9} {:>8} {:>9} {:>9} {:>10} {:>7} {:>8} {:>8}",
        "kind",
        "created",
        "adopted",
        "updated",
        "unchanged",
        "reconciled",
        "failed",
        "skipped",
        "deleted"
    )?;
    for (kind, c) in &summary.kinds {
        writeln!(
            out,
            "{:<22} {:>9} {:>8} {:>9} {:>9} {:>10} {:>7} {:>8} {:>8}",
            kind.as_str(),
            c.created,
            c.adopted,
            c.updated,
            c.unchanged,
            c.reconciled,
            c.failed,
            c.skipped,
            c.deleted
        )?;
    }
    for (kind, c) in summary.kinds.iter().filter(|(_, c)| c.mapped > 0) {
        writeln!(
            out,
            "mapped: {} {kind} folded by the plan's [map] into records the target has (not written themselves)",
            c.mapped
        )?;
    }
    for (kind, c) in summary.kinds.iter().filter(|(_, c)| c.filtered > 0) {
        writeln!(
            out,
            "filtered: {} {kind} outside the plan's [filter] (not moved)",
            c.filtered
        )?;
    }
    for (kind, reason) in &summary.left_behind {
        writeln!(out, "not moved: {kind}: {reason}")?;
    }
    if !summary.failures.is_empty() {
        let groups = root_causes(&summary.failures);
        writeln!(
            out,
            "\n{} record(s) failed, in {} group(s) by root cause (`switchover failures <plan>` lists them all; `switchover retry-failed <plan>` sends them again):",
            summary.failures.len(),
            groups.len()
        )?;
        print_failure_groups(&mut out, &groups[..groups.len().min(10)])?;
        if groups.len() > 10 {
            writeln!(out, "  and {} more group(s)", groups.len() - 10)?;
        }
    }
    if summary.interrupted {
        writeln!(
            out,
            "\ninterrupted: run `switchover migrate` with the same plan to resume"
        )?;
    }
    Ok(())
}

fn run_status(summary: &RunSummary) -> ExitCode {
    if summary.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if !summary.failures.is_empty() {
        ExitCode::from(EXIT_RECORDS_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// `switchover migrate`.
pub fn migrate(plan_path: &Path, json: bool) -> Result<ExitCode> {
    let opened = open(plan_path)?;
    let mut state = StateStore::open(&opened.plan.state)?;
    let cancel = cancel_on_ctrl_c();
    let summary = switchover_engine::migrate(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options,
        &Bars::new(),
        &cancel,
    )?;
    keep_report(&state, MIGRATION_REPORT, serde_json::to_string(&summary))?;
    if json {
        print_json_summary(&summary)?;
    } else {
        print_summary(&summary)?;
    }
    Ok(run_status(&summary))
}

/// Where the state store keeps the last migration's summary, for `switchover report`.
const MIGRATION_REPORT: &str = "report.migration";
/// Where it keeps the last verification's report.
const VERIFICATION_REPORT: &str = "report.verification";

/// Keeps a report in the state store, for `switchover report` to render again.
fn keep_report(state: &StateStore, key: &str, json: serde_json::Result<String>) -> Result<()> {
    let json = json.context("cannot serialize the report")?;
    state.set_setting(key, &json)?;
    Ok(())
}

/// `switchover report`: the last migration's summary and the last verification's
/// report, rendered again from the state store (no system is contacted).
pub fn report(plan_path: &Path, outputs: &Outputs) -> Result<ExitCode> {
    outputs.check()?;
    let plan = Plan::load(plan_path)?;
    if !plan.state.exists() {
        bail!(
            "no migration has run with this plan: {} does not exist; run `switchover migrate` first",
            plan.state.display()
        );
    }
    let state = StateStore::open(&plan.state)?;
    let migration: Option<RunSummary> = match state.setting(MIGRATION_REPORT)? {
        Some(json) => Some(
            serde_json::from_str(&json)
                .context("the state store's last migration summary is unreadable")?,
        ),
        None => None,
    };
    let verification: Option<switchover_engine::VerifyReport> =
        match state.setting(VERIFICATION_REPORT)? {
            Some(json) => Some(
                serde_json::from_str(&json)
                    .context("the state store's last verification report is unreadable")?,
            ),
            None => None,
        };
    if migration.is_none() && verification.is_none() {
        bail!(
            "the state store {} holds no report yet: run `switchover migrate` (and `switchover verify`) first",
            plan.state.display()
        );
    }
    let text = !outputs.json_to_stdout();
    if let Some(summary) = migration.as_ref().filter(|_| text) {
        print_summary(summary)?;
    }
    match &verification {
        Some(report) => {
            if text {
                print_verify(report)?;
            }
            let context = report_context(plan_path, &plan);
            outputs.write(
                || serde_json::to_vec_pretty(report),
                || switchover_report::verify_html(report, &context),
                || switchover_report::verify_markdown(report, &context),
            )?;
        }
        None => {
            writeln!(
                std::io::stdout().lock(),
                "no verification yet: run `switchover verify` for the report the customer signs off on"
            )?;
            if outputs.json.is_some() || outputs.html.is_some() || outputs.markdown.is_some() {
                bail!("no verification report to write yet: run `switchover verify` first");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `switchover retry-failed`.
pub fn retry_failed(plan_path: &Path, json: bool) -> Result<ExitCode> {
    let opened = open(plan_path)?;
    let mut state = StateStore::open(&opened.plan.state)?;
    let summary = switchover_engine::retry_failed(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options,
        &Bars::new(),
        &cancel_on_ctrl_c(),
    )?;
    keep_report(&state, MIGRATION_REPORT, serde_json::to_string(&summary))?;
    if json {
        print_json_summary(&summary)?;
    } else {
        print_summary(&summary)?;
    }
    Ok(run_status(&summary))
}

/// A run's summary with its failure groups, as one JSON document on stdout.
fn print_json_summary(summary: &RunSummary) -> Result<()> {
    let groups = root_causes(&summary.failures);
    let document = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "summary": summary,
        "failure_groups": groups,
    });
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&document)?
    )?;
    Ok(())
}

/// Failure groups as a person reads them: the root cause, how many it took down, an
/// example, what to do.
fn print_failure_groups(out: &mut dyn Write, groups: &[FailureGroup]) -> Result<()> {
    for (n, g) in groups.iter().enumerate() {
        let follow: Vec<String> = g
            .follow_on
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        writeln!(
            out,
            "  {}. {} {} [{}]{}",
            n + 1,
            g.count,
            g.kind,
            g.error_kind,
            if follow.is_empty() {
                String::new()
            } else {
                format!(", and because of them {}", follow.join(", "))
            }
        )?;
        writeln!(
            out,
            "     e.g. {} '{}': {}",
            g.example.kind, g.example.source_id, g.example.message
        )?;
        let shown: Vec<&str> = g.source_ids.iter().take(10).map(String::as_str).collect();
        let more = g.count.saturating_sub(shown.len() as u64);
        writeln!(
            out,
            "     records: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
        writeln!(out, "     what to do: {}", g.what_to_do)?;
    }
    Ok(())
}

/// `switchover failures`: the state store's failures grouped by root cause.
pub fn failures(plan_path: &Path, json: bool, kind: Option<&str>) -> Result<ExitCode> {
    let plan = Plan::load(plan_path)?;
    let state = StateStore::open(&plan.state)?;
    let kind: Option<switchover_model::Kind> = kind
        .map(|k| {
            k.parse().map_err(|_| {
                anyhow::anyhow!(
                    "--kind '{k}' is not a kind; use one of: {}",
                    switchover_model::Kind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .transpose()?;
    let all = state.failures()?;
    let groups: Vec<FailureGroup> = root_causes(&all)
        .into_iter()
        .filter(|g| kind.is_none_or(|k| g.kind == k))
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let document = serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "failure_groups": groups,
            "failures": all,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    } else if groups.is_empty() {
        writeln!(out, "no failures recorded in {}", plan.state.display())?;
    } else {
        writeln!(
            out,
            "{} failure(s) in {} group(s) by root cause (`switchover retry-failed {}` sends them again):",
            all.len(),
            groups.len(),
            plan_path.display()
        )?;
        print_failure_groups(&mut out, &groups)?;
    }
    Ok(if all.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RECORDS_FAILED)
    })
}

fn print_verify(report: &VerifyReport) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<22} {:>8} {:>8} {:>7} {:>8} {:>6} {:>9}  digest root",
        "kind", "source", "matched", "differ", "missing", "extra", "unmarked"
    )?;
    for (kind, v) in &report.kinds {
        writeln!(
            out,
            "{:<22} {:>8} {:>8} {:>7} {:>8} {:>6} {:>9}  {}",
            kind.as_str(),
            v.source_records,
            v.matched,
            v.differ,
            v.missing,
            v.extra,
            v.unmarked,
            v.target_root
        )?;
        let lines = |items: Vec<String>, total: u64| {
            let mut text = items.into_iter().take(10).collect::<Vec<_>>().join("; ");
            if total > 10 {
                text.push_str(&format!("; and {} more", total - 10));
            }
            text
        };
        if !v.differing.is_empty() {
            writeln!(
                out,
                "    differ (fields): {}",
                lines(
                    v.differing.iter().map(ToString::to_string).collect(),
                    v.differ
                )
            )?;
        }
        if v.missing > 0 {
            let reasons: Vec<String> = v
                .missing_by_reason
                .iter()
                .map(|(reason, n)| format!("{n} {}", reason.describe()))
                .collect();
            writeln!(out, "    missing on target: {}", reasons.join(", "))?;
            writeln!(
                out,
                "      {}",
                lines(
                    v.missing_records.iter().map(ToString::to_string).collect(),
                    v.missing
                )
            )?;
        }
        if !v.extra_records.is_empty() {
            writeln!(
                out,
                "    extra on target: {}",
                lines(
                    v.extra_records.iter().map(ToString::to_string).collect(),
                    v.extra
                )
            )?;
        }
        for a in &v.attachments_differ {
            writeln!(out, "    attachment: {a}")?;
        }
        if !v.mapped_fields.is_empty() {
            writeln!(
                out,
                "    mapped by the plan (compared as mapped): {}",
                v.mapped_fields.join(", ")
            )?;
        }
        if v.mapped > 0 {
            writeln!(
                out,
                "    folded by the plan into target records (not compared): {}",
                v.mapped
            )?;
        }
        if v.filtered > 0 {
            writeln!(
                out,
                "    outside the plan's [filter] (not expected on the target): {}",
                v.filtered
            )?;
        }
        if !v.lossy.is_empty() {
            writeln!(
                out,
                "    lossy: {}",
                v.lossy
                    .iter()
                    .map(|l| format!("{} ({})", l.field, l.how))
                    .collect::<Vec<_>>()
                    .join("; ")
            )?;
        }
    }
    for (kind, reason) in &report.not_verified {
        writeln!(out, "not verified: {kind}: {reason}")?;
    }
    writeln!(out, "source manifest digest: {}", report.source_manifest)?;
    writeln!(out, "target manifest digest: {}", report.target_manifest)?;
    writeln!(
        out,
        "{}",
        if report.all_matched() {
            "verification: all matched"
        } else {
            "verification: DIFFERENCES FOUND"
        }
    )?;
    Ok(())
}

/// `switchover verify`.
pub fn verify(plan_path: &Path, outputs: &Outputs) -> Result<ExitCode> {
    outputs.check()?;
    let opened = open(plan_path)?;
    let mut state = StateStore::open(&opened.plan.state)?;
    let report = switchover_engine::verify_scoped(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options.kinds,
        &opened.plan.options.mapping,
        opened.plan.options.scope.as_deref(),
        &Silent,
    )?;
    keep_report(&state, VERIFICATION_REPORT, serde_json::to_string(&report))?;
    if !outputs.json_to_stdout() {
        print_verify(&report)?;
    }
    let context = report_context(plan_path, &opened.plan);
    outputs.write(
        || serde_json::to_vec_pretty(&report),
        || switchover_report::verify_html(&report, &context),
        || switchover_report::verify_markdown(&report, &context),
    )?;
    Ok(if report.all_matched() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VERIFY_DIFFERS)
    })
}

/// `switchover cutover`.
pub fn cutover(
    plan_path: &Path,
    enable_rules: bool,
    dry_run: bool,
    json: Option<&Path>,
) -> Result<ExitCode> {
    if !enable_rules && !dry_run {
        bail!(
            "cutover switches on, on the target, the migrated rules and webhooks that were active in the source, so they start firing; run it after the final delta run with --enable-rules, or with --dry-run to list them"
        );
    }
    let opened = open(plan_path)?;
    let state = StateStore::open(&opened.plan.state)?;
    let report = switchover_engine::cutover(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &state,
        &opened.plan.options.kinds,
        dry_run,
    )?;
    if let Some(path) = json {
        std::fs::write(path, versioned(&serde_json::to_vec(&report)?)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    let verb = if dry_run {
        "would switch on"
    } else {
        "switched on"
    };
    for item in &report.switched_on {
        writeln!(
            out,
            "{verb}: {} '{}' (source {}, target {})",
            item.kind.as_str(),
            item.title,
            item.source_id,
            item.target_id
        )?;
    }
    writeln!(
        out,
        "{} {verb}; {} inactive in the source, left off",
        report.switched_on.len(),
        report.inactive_in_source
    )?;
    for item in &report.adopted {
        writeln!(
            out,
            "left as it was: {} '{}' (the target had it before the migration)",
            item.kind.as_str(),
            item.title
        )?;
    }
    for item in &report.origin_unknown {
        writeln!(
            out,
            "left off: {} '{}' (target {}): found by marker after a crash, so it may have been on the target before; switch it on by hand if it is the migrated one",
            item.kind.as_str(),
            item.title,
            item.target_id
        )?;
    }
    for item in &report.not_migrated {
        writeln!(
            out,
            "not on the target: {} '{}' (source {}): active in the source but not migrated; see `switchover failures`",
            item.kind.as_str(),
            item.title,
            item.source_id
        )?;
    }
    for (kind, why) in &report.unsupported {
        writeln!(out, "by hand: {}: {why}", kind.as_str())?;
    }
    for item in &report.by_hand {
        writeln!(
            out,
            "switch on by hand: {} '{}' (target {})",
            item.kind.as_str(),
            item.title,
            item.target_id
        )?;
    }
    for (item, why) in &report.failed {
        writeln!(
            out,
            "failed: {} '{}' (target {}): {why}",
            item.kind.as_str(),
            item.title,
            item.target_id
        )?;
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RECORDS_FAILED)
    })
}

/// `switchover rollback`.
pub fn rollback(plan_path: &Path, yes: bool) -> Result<ExitCode> {
    if !yes {
        bail!(
            "rollback deletes from the target every record this migration created and gives back, as they were, the records it adopted; run again with --yes to confirm"
        );
    }
    let opened = open(plan_path)?;
    let mut state = StateStore::open(&opened.plan.state)?;
    let summary = switchover_engine::rollback(opened.target.as_ref(), &mut state, &Bars::new())?;
    let mut out = std::io::stdout().lock();
    for (kind, n) in &summary.deleted {
        writeln!(
            out,
            "{:<22} {n} deleted (created by the migration)",
            kind.as_str()
        )?;
    }
    for (kind, n) in &summary.released {
        writeln!(
            out,
            "{:<22} {n} given back (the target had them before; marker removed, earlier values restored)",
            kind.as_str()
        )?;
    }
    for (kind, n) in &summary.not_deletable {
        writeln!(
            out,
            "{:<22} {n} left in place: the target cannot delete them",
            kind.as_str()
        )?;
    }
    for (kind, n) in &summary.not_releasable {
        writeln!(
            out,
            "{:<22} {n} adopted, left in place with the migration's marker and values: the target cannot give them back",
            kind.as_str()
        )?;
    }
    for (kind, n) in &summary.origin_unknown {
        writeln!(
            out,
            "{:<22} {n} left in place: their origin is unknown (found by marker after a crash), so they may have been there before",
            kind.as_str()
        )?;
    }
    for helper in &summary.helpers_removed {
        writeln!(
            out,
            "removed {helper} (the migration's bookkeeping; nothing uses it now)"
        )?;
    }
    for (kind, id, why) in &summary.failed {
        writeln!(out, "failed: {kind} '{id}': {why}")?;
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RECORDS_FAILED)
    })
}

/// `switchover dry-run`: the target is opened, but only its read-only side reaches the engine.
pub fn dry_run(plan_path: &Path, outputs: &Outputs) -> Result<ExitCode> {
    outputs.check()?;
    let opened = open(plan_path)?;
    let target_info: &dyn switchover_adapter::TargetInfo = opened.target.as_ref();
    // After a migration, the dry run previews the next run (the cutover delta) from a
    // copy of its state store; the store itself is never changed.
    let existing = if opened.plan.state.exists() {
        let state = StateStore::open(&opened.plan.state)?;
        state.has_any_run()?.then_some(state)
    } else {
        None
    };
    let report = match &existing {
        Some(state) => switchover_engine::dry_run_delta(
            opened.source.as_ref(),
            target_info,
            state,
            &opened.plan.options,
            opened.plan.requests_per_minute,
            &Bars::new(),
            &cancel_on_ctrl_c(),
        )?,
        None => switchover_engine::dry_run(
            opened.source.as_ref(),
            target_info,
            &opened.plan.options,
            opened.plan.requests_per_minute,
            &Bars::new(),
            &cancel_on_ctrl_c(),
        )?,
    };
    // With `--json -` the JSON document is all stdout carries.
    if !outputs.json_to_stdout() {
        if existing.is_some() {
            println_out(&format!(
                "preview of the next run of the migration in {} (its state store is not changed)",
                opened.plan.state.display()
            ))?;
        }
        print_summary(&report.run)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "attachment bytes: {}", report.attachment_bytes)?;
        writeln!(out, "target requests:  {}", report.requests)?;
        match (report.requests_per_minute, report.estimated_hours) {
            (Some(rpm), Some(hours)) => writeln!(
                out,
                "estimated time:   {hours:.1} h at {rpm} requests/minute"
            )?,
            _ => writeln!(
                out,
                "estimated time:   unknown (the plan sets no requests_per_minute and the target declares none)"
            )?,
        }
        for (kind, lossy) in &report.lossy {
            writeln!(
                out,
                "lossy {kind}: {}",
                lossy
                    .iter()
                    .map(|l| format!("{} ({})", l.field, l.how))
                    .collect::<Vec<_>>()
                    .join("; ")
            )?;
        }
        for w in &report.warnings {
            writeln!(out, "warning: {w}")?;
        }
        let unmapped: Vec<_> = report.coverage.iter().filter(|r| r.unmapped).collect();
        if !unmapped.is_empty() {
            writeln!(
                out,
                "unmapped values ({}; the JSON report's `coverage` lists every value in use):",
                unmapped.len()
            )?;
            for row in unmapped {
                writeln!(
                    out,
                    "  {} '{}': {} record(s), {}",
                    row.field, row.value, row.records, row.lands
                )?;
            }
        }
        drop(out);
    }
    let context = ReportContext {
        budget_origin: match (opened.plan.requests_per_minute, report.requests_per_minute) {
            (Some(_), _) => Some(BudgetOrigin::Plan),
            (None, Some(_)) => Some(BudgetOrigin::TargetDefault),
            (None, None) => None,
        },
        ..report_context(plan_path, &opened.plan)
    };
    outputs.write(
        || serde_json::to_vec_pretty(&report),
        || switchover_report::dry_run_html(&report, &context),
        || switchover_report::dry_run_markdown(&report, &context),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the fixed dataset plus generated tickets into a new archive at `path`.
fn seed_archive(
    path: &Path,
    tickets: usize,
    comments: usize,
    attachment_bytes: usize,
) -> Result<u64> {
    let dataset = Dataset::conformance();
    let content = AnyContent(&dataset);
    let archive = Archive::open_target(path)?;
    let mut written = dataset.seed(&archive, &content)?;
    written += Generated::seed(&archive, 0..tickets, comments, attachment_bytes, &content)?;
    archive.finish()?;
    Ok(written)
}

pub(crate) fn work_dir(dir: Option<PathBuf>, name: &str) -> Result<PathBuf> {
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("switchover-{name}-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn write_plan(dir: &Path) -> Result<PathBuf> {
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        "# Archive to archive: the old helpdesk's export moves into a new archive.\n\
         [source]\nadapter = \"archive\"\npath = \"old-helpdesk\"\n\n\
         [target]\nadapter = \"archive\"\npath = \"new-helpdesk\"\n\n\
         [run]\nstate = \"migration.sqlite\"\nconcurrency = 4\n",
    )?;
    Ok(plan)
}

fn println_out(text: &str) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

pub(crate) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `switchover bench`.
pub fn bench(tickets: usize, attachment_bytes: usize, dir: Option<PathBuf>) -> Result<ExitCode> {
    let dir = work_dir(dir, "bench")?;
    let source = dir.join("old-helpdesk");
    let t0 = Instant::now();
    let seeded = if source.exists() {
        0
    } else {
        seed_archive(&source, tickets, 4, attachment_bytes)?
    };
    let seed_secs = t0.elapsed().as_secs_f64();
    let rss_after_seed = peak_rss_mb();
    let plan = write_plan(&dir)?;
    let opened = open(&plan)?;
    let mut state = StateStore::open(&opened.plan.state)?;
    let t1 = Instant::now();
    let summary = switchover_engine::migrate(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options,
        &Silent,
        &Cancel::new(),
    )?;
    let migrate_secs = t1.elapsed().as_secs_f64();
    let moved = summary.totals().processed();
    let t2 = Instant::now();
    let report = switchover_engine::verify(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options.kinds,
        &Silent,
    )?;
    let verify_secs = t2.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bench: {tickets} tickets x 4 comments, attachments {attachment_bytes} B on every second comment, in {}",
        dir.display()
    )?;
    writeln!(
        out,
        "seeded:   {seeded} records in {seed_secs:.1} s (peak RSS so far {:.0} MB)",
        rss_after_seed.unwrap_or(0.0)
    )?;
    writeln!(
        out,
        "migrate:  {moved} records in {migrate_secs:.1} s = {:.0} records/s, {} attachment bytes",
        moved as f64 / migrate_secs.max(1e-9),
        summary.totals().attachment_bytes
    )?;
    writeln!(
        out,
        "verify:   {:.1} s, all matched: {}",
        verify_secs,
        report.all_matched()
    )?;
    writeln!(out, "peak RSS: {:.0} MB", peak_rss_mb().unwrap_or(0.0))?;
    Ok(if report.all_matched() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VERIFY_DIFFERS)
    })
}

fn flags(caps: &Capabilities, kind: Kind) -> String {
    let Some(cap) = caps.kind(kind) else {
        return "-".into();
    };
    [
        (cap.read, 'r'),
        (cap.incremental, 'i'),
        (cap.write, 'w'),
        (cap.update, 'u'),
        (cap.read_back, 'b'),
        (cap.delete, 'd'),
    ]
    .iter()
    .map(|(on, c)| format!("{} ", if *on { *c } else { '.' }))
    .collect::<String>()
    .trim_end()
    .to_string()
}

/// `switchover adapters`.
pub fn list_adapters(json: bool) -> Result<ExitCode> {
    let registry = registry();
    let mut out = std::io::stdout().lock();
    if json {
        let all: Vec<_> = registry
            .specs()
            .map(|spec| {
                serde_json::json!({
                    "name": spec.name,
                    "summary": spec.summary,
                    "source": spec.source.is_some(),
                    "target": spec.target.is_some(),
                    "settings": spec.settings_help,
                    "capabilities": (spec.capabilities)(),
                })
            })
            .collect();
        let document = serde_json::json!({ "schema_version": SCHEMA_VERSION, "adapters": all });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for spec in registry.specs() {
        let caps = (spec.capabilities)();
        let roles = match (spec.source.is_some(), spec.target.is_some()) {
            (true, true) => "source + target",
            (true, false) => "source",
            (false, true) => "target",
            (false, false) => "neither",
        };
        writeln!(out, "{}  ({roles})  {}", spec.name, spec.summary)?;
        for line in spec.settings_help {
            writeln!(out, "    setting: {line}")?;
        }
        writeln!(
            out,
            "    {:<22} {:<11} fields round-tripped / lossy",
            "kind", "r i w u b d"
        )?;
        for kind in Kind::ALL {
            let Some(cap) = caps.kind(kind) else {
                writeln!(out, "    {:<22} {:<11} not supported", kind.as_str(), "-")?;
                continue;
            };
            let lossy = if cap.lossy.is_empty() {
                String::new()
            } else {
                format!(
                    "; lossy: {}",
                    cap.lossy
                        .iter()
                        .map(|l| format!("{} ({})", l.field, l.how))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            writeln!(
                out,
                "    {:<22} {:<11} {} of {} fields{lossy}",
                kind.as_str(),
                flags(&caps, kind),
                cap.fields.len(),
                kind.fields().len()
            )?;
        }
        for note in &caps.notes {
            writeln!(out, "    note: {note}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "flags: r read, i incremental (delta), w write, u update, b read back (verify), d delete (rollback)"
    )?;
    Ok(ExitCode::SUCCESS)
}
