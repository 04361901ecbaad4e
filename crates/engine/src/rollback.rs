//! Rollback: deletes from the target what this migration created, in reverse dependency
//! order, and nothing else.

use std::collections::BTreeMap;

use switchover_adapter::{ErrorKind, Target};
use switchover_model::Kind;

use crate::EngineError;
use crate::events::{Event, Observer};
use crate::state::{RecordStatus, StateStore};

/// What a rollback did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RollbackSummary {
    /// Records deleted (or already gone) per kind.
    pub deleted: BTreeMap<Kind, u64>,
    /// Records the target refused to delete: kind, source id, why.
    pub failed: Vec<(Kind, String, String)>,
    /// Kinds with records the target cannot delete (left in place; listed for a person).
    pub not_deletable: Vec<(Kind, u64)>,
}

/// Deletes every record the id map says this migration wrote.
pub fn rollback(
    target: &dyn Target,
    state: &mut StateStore,
    observer: &dyn Observer,
) -> Result<RollbackSummary, EngineError> {
    let caps = target.capabilities();
    let mut summary = RollbackSummary::default();
    for kind in Kind::ALL.into_iter().rev() {
        let written = state.count(kind, RecordStatus::Written)?;
        if written == 0 {
            continue;
        }
        if !caps.supports(kind, "delete") {
            summary.not_deletable.push((kind, written));
            observer.event(&Event::Warning(format!(
                "{} cannot delete {kind}: {written} record(s) stay on the target",
                caps.adapter
            )));
            continue;
        }
        observer.event(&Event::KindStarted {
            kind,
            total: Some(written),
        });
        let mut after = String::new();
        let mut done = 0u64;
        loop {
            let page = state.written_page(kind, &after, 100)?;
            let Some(last) = page.last() else { break };
            after = last.0.clone();
            let target_ids: Vec<String> = page.iter().map(|(_, t, _)| t.clone()).collect();
            let results = target.delete(kind, &target_ids)?;
            let mut gone = Vec::new();
            for ((source, _, _), result) in page.iter().zip(results) {
                match result {
                    Ok(()) => gone.push(source.clone()),
                    Err(e) if e.kind() == ErrorKind::NotFound => gone.push(source.clone()),
                    Err(e) if e.stops_run() => return Err(EngineError::Adapter(e)),
                    Err(e) => summary.failed.push((kind, source.clone(), e.to_string())),
                }
            }
            done += gone.len() as u64;
            state.set_status(kind, &gone, RecordStatus::RolledBack)?;
            observer.event(&Event::Progress { kind, done });
        }
        summary.deleted.insert(kind, done);
    }
    target.finish()?;
    state.set_setting("in_progress", "0")?;
    Ok(summary)
}
