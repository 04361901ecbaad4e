//! The entry points: `migrate` (full, resumed or delta), `retry-failed` and `dry-run`.

use std::collections::BTreeMap;
use switchover_adapter::Operation;

use switchover_adapter::{
    AdapterError, Capabilities, ErrorKind, PageRequest, Source, Target, TargetInfo,
};
use switchover_model::{Kind, Record};

use super::samples::{Collector, SampleTicket};
use super::sink::{Dry, Live, Sink};
use super::{Options, RunSummary, runner};
use crate::EngineError;
use crate::events::{Cancel, Event, KindCounts, Observer};
use crate::mapping::CoverageRow;
use crate::state::{RecordStatus, StateStore};

/// Brings the target up to date with the source: a full run the first time, a resumed
/// run after an interruption, a delta run (only what changed, deletions included) after
/// a completed one.
pub fn migrate(
    source: &dyn Source,
    target: &dyn Target,
    state: &mut StateStore,
    options: &Options,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<RunSummary, EngineError> {
    source.check()?;
    let preflight = target.preflight()?;
    for warning in &preflight.warnings {
        observer.event(&Event::Warning(warning.clone()));
    }
    if !preflight.blockers.is_empty() {
        return Err(EngineError::Plan(preflight.blockers));
    }
    // What the run would do to people stops it, unless the plan accepts it by name.
    let mut refused = Vec::new();
    for risk in &preflight.risks {
        if options.accept_risks.contains(&risk.name) {
            observer.event(&Event::Warning(format!(
                "accepted risk '{}' ([run] accept_risks): {}",
                risk.name, risk.message
            )));
        } else {
            refused.push(format!(
                "{} (risk '{}'); nothing was written. Switch it off, or accept it with [run] accept_risks = [\"{}\"]",
                risk.message, risk.name, risk.name
            ));
        }
    }
    if !refused.is_empty() {
        return Err(EngineError::Plan(refused));
    }
    let sink = Live(target);
    run_migration(source, &sink, state, options, observer, cancel).map(|run| run.summary)
}

/// What a run leaves: its summary, and in a dry run what it collected for the report.
struct Finished {
    summary: RunSummary,
    samples: Collector,
    coverage: Vec<CoverageRow>,
    integrations: crate::integrations::Collector,
    profile: crate::profile::AccountProfile,
}

fn run_migration(
    source: &dyn Source,
    sink: &dyn Sink,
    state: &mut StateStore,
    options: &Options,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<Finished, EngineError> {
    let resuming = state.setting("in_progress")?.as_deref() == Some("1");
    let previous: i64 = state
        .setting("generation")?
        .and_then(|g| g.parse().ok())
        .unwrap_or(0);
    let generation = if resuming {
        previous.max(1)
    } else {
        previous + 1
    };
    if !resuming {
        state.reset_cursors()?;
        state.set_setting("generation", &generation.to_string())?;
        state.set_setting("in_progress", "1")?;
    }
    let mode = match (resuming, generation) {
        (true, _) => "resumed",
        (false, 1) => "full",
        _ => "delta",
    };
    let run = state.begin_run("migrate")?;
    let since = if generation > 1 && options.incremental {
        state.setting("high_water")?.and_then(|t| t.parse().ok())
    } else {
        None
    };
    let started_at = switchover_model::Timestamp::now();
    let (mut runner, left_behind) =
        runner(source, sink, state, options, observer, cancel, generation)?;
    for (kind, reason) in &left_behind {
        observer.event(&Event::Warning(format!("{kind} will not move: {reason}")));
    }
    let mut summary = RunSummary {
        run,
        mode: mode.into(),
        left_behind,
        ..Default::default()
    };
    let kinds = runner.ctx.moved.clone();
    let mut completed = true;
    // The kinds move one after another; their source reads begin ahead of their turn
    // (all of them at once, each holding at most two pages), so the requests of small
    // kinds do not wait for each other.
    std::thread::scope(|scope| -> Result<(), EngineError> {
        let moved = (|| -> Result<(), EngineError> {
            for (i, kind) in kinds.iter().enumerate() {
                let mut counts = KindCounts::default();
                let finished = match runner
                    .read_ahead(scope, &kinds[i..], since)
                    .and_then(|()| runner.run_kind(*kind, since, &mut counts))
                {
                    Ok(f) => f,
                    Err(e) => {
                        runner.state.end_run(run, "failed")?;
                        return Err(runner.ctx.explain(e));
                    }
                };
                summary.kinds.insert(*kind, counts);
                if !finished {
                    completed = false;
                    break;
                }
                observer.event(&Event::KindFinished {
                    kind: *kind,
                    counts,
                });
            }
            Ok(())
        })();
        runner.stop_read_ahead();
        moved
    })?;
    // Records the source no longer has: deleted since the last run (full reads only).
    // A filtered run reads only its scope, so it cannot tell a deletion from a record
    // outside the scope: it deletes nothing, and says so.
    let filtered = options.scope.is_some();
    if filtered && generation > 1 {
        observer.event(&Event::Warning(
            "the plan's [filter] limits this run: records deleted in the source are not removed from the target until a run without a filter".into(),
        ));
    }
    if completed && generation > 1 && since.is_none() && !filtered {
        for kind in kinds.iter().rev() {
            if !runner.ctx.target_caps.supports(*kind, Operation::Delete) {
                continue;
            }
            let gone = runner.state.unseen(*kind, generation)?;
            if sink.is_dry() {
                // A preview: these would be deleted.
                if let Some(c) = summary.kinds.get_mut(kind) {
                    c.deleted += gone.len() as u64;
                }
                continue;
            }
            for chunk in gone.chunks(100) {
                let target_ids: Vec<String> = chunk.iter().map(|(_, t)| t.clone()).collect();
                let results = sink.delete(*kind, &target_ids)?;
                let deleted: Vec<String> = chunk
                    .iter()
                    .zip(results)
                    .filter(|(_, r)| r.as_ref().is_ok_or_not_found())
                    .map(|((s, _), _)| s.clone())
                    .collect();
                if let Some(c) = summary.kinds.get_mut(kind) {
                    c.deleted += deleted.len() as u64;
                }
                runner
                    .state
                    .set_status(*kind, &deleted, RecordStatus::DeletedInSource)?;
            }
        }
    }
    sink.finish()?;
    summary.failures = runner.state.failures()?;
    summary.interrupted = !completed;
    summary.bodies = runner.body_report();
    let samples = std::mem::take(&mut runner.samples);
    let coverage = runner
        .coverage
        .take()
        .map(|c| c.rows(&options.mapping))
        .unwrap_or_default();
    if completed {
        runner.state.set_setting("in_progress", "0")?;
        runner
            .state
            .set_setting("high_water", &started_at.to_canonical())?;
        runner.state.end_run(run, "completed")?;
    } else {
        runner.state.end_run(run, "interrupted")?;
    }
    let integrations = runner.integrations.take().unwrap_or_default();
    let profile = runner.profile.take().unwrap_or_default();
    Ok(Finished {
        summary,
        samples,
        coverage,
        integrations,
        profile,
    })
}

trait OkOrNotFound {
    fn is_ok_or_not_found(&self) -> bool;
}

impl OkOrNotFound for Result<&(), &AdapterError> {
    fn is_ok_or_not_found(&self) -> bool {
        match self {
            Ok(()) => true,
            Err(e) => e.kind() == ErrorKind::NotFound,
        }
    }
}

/// Sends again every record that failed, from the copies kept in the state store.
pub fn retry_failed(
    source: &dyn Source,
    target: &dyn Target,
    state: &mut StateStore,
    options: &Options,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<RunSummary, EngineError> {
    let generation: i64 = state
        .setting("generation")?
        .and_then(|g| g.parse().ok())
        .unwrap_or(1);
    let run = state.begin_run("retry-failed")?;
    let sink = Live(target);
    let (mut runner, left_behind) =
        runner(source, &sink, state, options, observer, cancel, generation)?;
    let mut summary = RunSummary {
        run,
        mode: "retry-failed".into(),
        left_behind,
        ..Default::default()
    };
    for kind in runner.ctx.moved.clone() {
        // Writes whose outcome was unknown are settled first: a record found on the
        // target (a ticket that landed, the comments inside it) is not sent again.
        let mut settled = KindCounts::default();
        runner.settle_pending(kind, &mut settled)?;
        let stored = runner.state.failed_records(kind)?;
        if stored.is_empty() {
            continue;
        }
        let mut records = Vec::with_capacity(stored.len());
        for (id, json) in stored {
            let record: Record = serde_json::from_str(&json).map_err(|e| {
                EngineError::State(format!("stored copy of {kind} '{id}' is unreadable: {e}"))
            })?;
            records.push(record);
        }
        let mut counts = settled;
        observer.event(&Event::KindStarted {
            kind,
            total: Some(records.len() as u64),
        });
        if let Err(e) = runner.process(kind, records, true, false, &mut counts) {
            runner.state.end_run(run, "failed")?;
            return Err(runner.ctx.explain(e));
        }
        let finished = runner.complete_deferred(kind, &mut counts)?;
        observer.event(&Event::KindFinished { kind, counts });
        summary.kinds.insert(kind, counts);
        if !finished || cancel.is_cancelled() {
            summary.interrupted = true;
            break;
        }
    }
    target.finish()?;
    summary.failures = runner.state.failures()?;
    summary.bodies = runner.body_report();
    runner.state.end_run(
        run,
        if summary.interrupted {
            "interrupted"
        } else {
            "completed"
        },
    )?;
    Ok(summary)
}

/// What a dry run found: what would move, what would fail, and what it would cost.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRunReport {
    /// Per kind: records that would be created, fail or be skipped, and requests.
    pub run: RunSummary,
    /// Attachment bytes that would move, per kind.
    pub attachment_bytes: u64,
    /// Target requests the real run would make.
    pub requests: u64,
    /// The target's request budget per minute used for the estimate.
    pub requests_per_minute: Option<u32>,
    /// Estimated hours at that budget.
    pub estimated_hours: Option<f64>,
    /// Preflight warnings from the target.
    pub warnings: Vec<String>,
    /// Fields of each kind the target will not keep as they are.
    pub lossy: BTreeMap<Kind, Vec<switchover_adapter::LossyField>>,
    /// The first tickets the dry run processed (up to [`Options::samples`]) with their
    /// comments, field by field as read and as the target would keep them. They hold
    /// the source's data unredacted: redact before showing them to anyone.
    pub samples: Vec<SampleTicket>,
    /// Every status, priority, type, group, assignee and custom field option the
    /// source's records use, with its record count and where the plan's map lands it.
    pub coverage: Vec<CoverageRow>,
    /// Every macro, rule, webhook, SLA policy and view of the source, with what happens
    /// to it on the target, and the external URLs they call.
    pub integrations: crate::integrations::IntegrationsReport,
    /// Counts for the report's charts: tickets per month, by status, priority and
    /// channel, attachment bytes per month.
    pub profile: crate::profile::AccountProfile,
    /// The estimate at each of the target's plans, cheapest first.
    pub tiers: Vec<TierEstimate>,
}

/// The estimated time of the run at one of the target's plans.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TierEstimate {
    /// The plan's name.
    pub name: String,
    /// Its budget, requests per minute.
    pub requests_per_minute: u32,
    /// Estimated hours at that budget.
    pub hours: f64,
    /// Whether it is the budget this estimate assumed (the plan's, or the default).
    pub assumed: bool,
}

/// Plans, reads, maps and validates everything a migration would, and writes nothing:
/// the target is given only as [`TargetInfo`], which has no write method. Each new
/// record is predicted by the target ([`TargetInfo::predict`]): created, adopted or
/// refused, by the rules its writes apply.
pub fn dry_run(
    source: &dyn Source,
    target: &dyn TargetInfo,
    options: &Options,
    requests_per_minute: Option<u32>,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<DryRunReport, EngineError> {
    let state = StateStore::scratch()?;
    preview(
        source,
        target,
        state,
        options,
        requests_per_minute,
        observer,
        cancel,
    )
}

/// A dry run of the next run of an existing migration: a copy of its state store
/// (never the store itself) says what is on the target already, so the report counts
/// what would be created, updated, deleted and left unchanged: the cutover delta.
pub fn dry_run_delta(
    source: &dyn Source,
    target: &dyn TargetInfo,
    state: &StateStore,
    options: &Options,
    requests_per_minute: Option<u32>,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<DryRunReport, EngineError> {
    let copy = state.scratch_copy()?;
    preview(
        source,
        target,
        copy,
        options,
        requests_per_minute,
        observer,
        cancel,
    )
}

#[allow(clippy::too_many_arguments)]
fn preview(
    source: &dyn Source,
    target: &dyn TargetInfo,
    mut state: StateStore,
    options: &Options,
    requests_per_minute: Option<u32>,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<DryRunReport, EngineError> {
    source.check()?;
    let preflight = target.preflight()?;
    let capabilities = target.capabilities();
    let sink = Dry {
        capabilities: capabilities.clone(),
        target,
    };
    let Finished {
        summary: run,
        samples,
        coverage,
        mut integrations,
        profile,
    } = run_migration(source, &sink, &mut state, options, observer, cancel)?;
    // Integrations the target does not write are still read, so the report names each
    // one left behind instead of only the kind.
    let readable = source.capabilities();
    for (kind, _) in &run.left_behind {
        if !kind.is_integration() || !readable.supports(*kind, Operation::Read) {
            continue;
        }
        let mut request = PageRequest::default();
        loop {
            match source.read_page(*kind, &request) {
                Ok(page) => {
                    integrations.observe(&page.records);
                    match page.next {
                        Some(next) => request.cursor = Some(next),
                        None => break,
                    }
                }
                Err(e) => {
                    observer.event(&Event::Warning(format!(
                        "cannot list the {} left behind: {e}",
                        kind.as_str()
                    )));
                    break;
                }
            }
        }
    }
    let totals = run.totals();
    let budget = requests_per_minute.or(capabilities.requests_per_minute);
    let source_caps = source.capabilities();
    let samples = samples.finish(&state, &run.failures, &source_caps, target)?;
    let lossy = run
        .kinds
        .keys()
        .map(|k| {
            (
                *k,
                Capabilities::lossy_fields(&source_caps, &capabilities, *k),
            )
        })
        .filter(|(_, l)| !l.is_empty())
        .collect();
    Ok(DryRunReport {
        attachment_bytes: totals.attachment_bytes,
        requests: totals.requests,
        requests_per_minute: budget,
        estimated_hours: budget.map(|b| totals.requests as f64 / f64::from(b.max(1)) / 60.0),
        warnings: preflight
            .risks
            .iter()
            .map(|r| {
                let accepted = options.accept_risks.contains(&r.name);
                format!(
                    "risk '{}'{}: {}",
                    r.name,
                    if accepted {
                        " (accepted in the plan)"
                    } else {
                        " (stops the migration unless the plan accepts it)"
                    },
                    r.message
                )
            })
            .chain(preflight.warnings)
            .collect(),
        lossy,
        samples,
        coverage,
        integrations: integrations.finish(target),
        profile,
        tiers: capabilities
            .plan_tiers
            .iter()
            .map(|tier| TierEstimate {
                name: tier.name.clone(),
                requests_per_minute: tier.requests_per_minute,
                hours: totals.requests as f64 / f64::from(tier.requests_per_minute.max(1)) / 60.0,
                assumed: budget == Some(tier.requests_per_minute),
            })
            .collect(),
        run,
    })
}
