//! `switchover check PLAN`: what would stop or spoil a migration, found in seconds and
//! before anything is read in full: credentials on both sides, the target's preflight
//! (warnings, blockers, notification risks and whether the plan accepts them), the request
//! budget, and the collisions a first page of each kind would meet on the target.
//!
//! It exits with the status `migrate` would end with for what it found: 5 credentials
//! refused, 4 a blocker or a risk the plan does not accept, 2 records the target would
//! refuse, 0 ready.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use switchover_adapter::{
    AdapterError, ErrorKind, Operation, PageRequest, Prediction, WriteRequest,
};
use switchover_model::Kind;

use crate::commands::{EXIT_AUTHENTICATION, EXIT_BAD_PLAN, EXIT_RECORDS_FAILED, Opened, open};

/// Records of each kind whose fate on the target is asked.
const SAMPLE: usize = 20;
/// Source ids shown per outcome.
const SHOWN: usize = 5;

/// How one finding bears on the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    /// Nothing to do.
    Ok,
    /// Worth knowing; the run goes ahead.
    Warning,
    /// Records would be refused (`migrate` exits 2).
    RecordsRefused,
    /// `migrate` would stop before its first write (exit 4).
    Blocked,
    /// Credentials refused (exit 5).
    Authentication,
}

impl Status {
    /// Its name in `check --json`.
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::RecordsRefused => "records_refused",
            Status::Blocked => "blocked",
            Status::Authentication => "authentication",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::RecordsRefused => "refused",
            Status::Blocked => "blocks",
            Status::Authentication => "refused",
        }
    }
}

/// One thing `check` found.
#[derive(Debug)]
struct Finding {
    /// What was checked: `source`, `target`, `quota`, `risk`, a kind's name...
    check: String,
    status: Status,
    detail: String,
}

fn auth_or(error: &AdapterError, otherwise: Status) -> Status {
    if error.kind() == ErrorKind::Authentication {
        Status::Authentication
    } else {
        otherwise
    }
}

/// `switchover check`.
pub fn check(plan_path: &Path, json: bool) -> Result<ExitCode> {
    let Opened {
        plan,
        source,
        target,
    } = open(plan_path)?;
    let target_info: &dyn switchover_adapter::TargetInfo = target.as_ref();
    let (from, to) = (plan.source.adapter(), plan.target.adapter());
    let mut findings = Vec::new();
    let mut finding = |check: &str, status: Status, detail: String| {
        findings.push(Finding {
            check: check.into(),
            status,
            detail,
        });
    };

    let source_ok = match source.check() {
        Ok(()) => {
            finding(
                "source",
                Status::Ok,
                format!("{from}: answered, credentials accepted"),
            );
            true
        }
        Err(e) => {
            finding(
                "source",
                auth_or(&e, Status::Blocked),
                format!("{from}: {e}"),
            );
            false
        }
    };
    let target_ok = match target_info.preflight() {
        Ok(preflight) => {
            finding(
                "target",
                Status::Ok,
                format!("{to}: answered, credentials accepted"),
            );
            for warning in preflight.warnings {
                finding("target", Status::Warning, warning);
            }
            for blocker in preflight.blockers {
                finding("target", Status::Blocked, blocker);
            }
            for risk in preflight.risks {
                if plan.options.accept_risks.contains(&risk.name) {
                    finding(
                        "risk",
                        Status::Warning,
                        format!("'{}', accepted by the plan: {}", risk.name, risk.message),
                    );
                } else {
                    finding(
                        "risk",
                        Status::Blocked,
                        format!(
                            "'{}': {}; `migrate` stops before its first write until it is switched off or the plan accepts it ([run] accept_risks = [\"{}\"])",
                            risk.name, risk.message, risk.name
                        ),
                    );
                }
            }
            true
        }
        Err(e) => {
            finding("target", auth_or(&e, Status::Blocked), format!("{to}: {e}"));
            false
        }
    };

    let target_caps = target_info.capabilities();
    finding(
        "quota",
        Status::Ok,
        match (plan.requests_per_minute, target_caps.requests_per_minute) {
            (Some(rpm), _) => format!(
                "{rpm} requests/minute on {to} (the plan's budget); the run also follows the rate-limit headers {to} sends"
            ),
            (None, Some(rpm)) => format!(
                "{rpm} requests/minute on {to} ({to}'s usual quota; the plan sets none: requests_per_minute in [run]); the run also follows the rate-limit headers {to} sends"
            ),
            (None, None) => format!(
                "no budget set and none declared by {to}; the run follows the rate-limit headers {to} sends"
            ),
        },
    );

    if source_ok && target_ok {
        let source_caps = source.capabilities();
        for kind in plan.options.kinds.iter().copied().filter(|k| {
            k.parent_kind().is_none()
                && source_caps.supports(*k, Operation::Read)
                && target_caps.supports(*k, Operation::Write)
        }) {
            // Only the read-only side of the target: `check` cannot write by construction.
            let (status, detail) = sample(source.as_ref(), target_info, kind);
            finding(kind.as_str(), status, detail);
        }
    }

    let worst = findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Ok);
    let exit_status = match worst {
        Status::Ok | Status::Warning => 0,
        Status::RecordsRefused => EXIT_RECORDS_FAILED,
        Status::Blocked => EXIT_BAD_PLAN,
        Status::Authentication => EXIT_AUTHENTICATION,
    };
    let mut out = std::io::stdout().lock();
    if json {
        // schema_version: the version of this document's shape.
        let report = serde_json::json!({
            "schema_version": crate::commands::SCHEMA_VERSION,
            "source": from,
            "target": to,
            "findings": findings
                .iter()
                .map(|f| serde_json::json!({
                    "check": f.check,
                    "status": f.status.as_str(),
                    "detail": f.detail,
                }))
                .collect::<Vec<_>>(),
            "exit_status": exit_status,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "check of {} ({from} -> {to})", plan_path.display())?;
        for f in &findings {
            writeln!(out, "{:<8} {:<22} {}", f.status.label(), f.check, f.detail)?;
        }
        writeln!(
            out,
            "{}",
            match worst {
                Status::Ok | Status::Warning => "ready: `migrate` can start",
                Status::RecordsRefused =>
                    "ready, but the target would refuse some records (see above); `dry-run` lists them all",
                Status::Blocked => "not ready: `migrate` would stop before its first write",
                Status::Authentication => "not ready: credentials refused",
            }
        )?;
    }
    Ok(ExitCode::from(exit_status))
}

/// Asks the target what it would do with the first records of `kind`: create them, adopt
/// a record it holds (same name or e-mail), or refuse them.
fn sample(
    source: &dyn switchover_adapter::Source,
    target: &dyn switchover_adapter::TargetInfo,
    kind: Kind,
) -> (Status, String) {
    let page = match source.read_page(
        kind,
        &PageRequest {
            page_size: Some(SAMPLE),
            ..PageRequest::default()
        },
    ) {
        Ok(page) => page,
        Err(e) => return (Status::Warning, format!("could not read a sample: {e}")),
    };
    let (mut created, mut adopted, mut refused, mut unknown) = (0, Vec::new(), Vec::new(), 0);
    let records = page.records.into_iter().take(SAMPLE).collect::<Vec<_>>();
    let asked = records.len();
    for record in records {
        let id = record.id().to_string();
        match target.predict(kind, &WriteRequest::create(record)) {
            Ok(Prediction::Create) => created += 1,
            Ok(Prediction::Adopt | Prediction::AdoptAs(_)) => adopted.push(id),
            Ok(Prediction::Refuse(e)) => refused.push(format!("'{id}': {e}")),
            Err(_) => unknown += 1,
        }
    }
    if asked == 0 {
        return (Status::Ok, "none in the source".into());
    }
    let mut detail = format!("first {asked}: {created} new");
    if !adopted.is_empty() {
        detail.push_str(&format!(
            ", {} already on the target (same name or e-mail: adopted, not duplicated; rollback gives them back): {}",
            adopted.len(),
            shown(&adopted)
        ));
    }
    if unknown > 0 {
        detail.push_str(&format!(", {unknown} could not be asked"));
    }
    if refused.is_empty() {
        (Status::Ok, detail)
    } else {
        detail.push_str(&format!(", {} refused: {}", refused.len(), shown(&refused)));
        (Status::RecordsRefused, detail)
    }
}

fn shown(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}
