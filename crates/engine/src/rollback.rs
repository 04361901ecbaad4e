//! Rollback: undoes the migration on the target, in reverse dependency order, and
//! touches nothing the target had before. Records this migration created are deleted;
//! records it adopted (the target had them: a group of the same name, a user with the
//! same e-mail) are given back, their marker removed and their earlier values written
//! back; records whose origin is unknown (found by marker after a crash, or recorded by
//! a Switchover that kept no origins) are left in place and listed.

use std::collections::BTreeMap;
use switchover_adapter::Operation;

use switchover_adapter::{Adopted, ErrorKind, Target};
use switchover_model::Kind;

use crate::EngineError;
use crate::events::{Event, Observer};
use crate::state::{Origin, RecordStatus, StateStore};

/// What a rollback did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RollbackSummary {
    /// Records the migration created, deleted (or already gone), per kind.
    pub deleted: BTreeMap<Kind, u64>,
    /// Records the migration adopted, given back as they were (never deleted), per kind.
    pub released: BTreeMap<Kind, u64>,
    /// Records the target refused to delete or give back: kind, source id, why.
    pub failed: Vec<(Kind, String, String)>,
    /// Created records of kinds the target cannot delete (left in place; listed for a person).
    pub not_deletable: Vec<(Kind, u64)>,
    /// Adopted records the target cannot give back: left in place with their marker
    /// and the migration's values.
    pub not_releasable: Vec<(Kind, u64)>,
    /// Records whose origin is unknown (a crash lost the write's answer, or the state
    /// store predates origins): left in place, since they may have been there before.
    pub origin_unknown: Vec<(Kind, u64)>,
    /// Bookkeeping the target adapter had added (marker fields) and removed, as nothing
    /// uses it any more.
    pub helpers_removed: Vec<String>,
}

/// Undoes every record the id map says this migration wrote, by its origin.
pub fn rollback(
    target: &dyn Target,
    state: &mut StateStore,
    observer: &dyn Observer,
) -> Result<RollbackSummary, EngineError> {
    if !state.has_any_run()? {
        return Err(EngineError::NotMigrated(
            "no migration has run on this state store, so there is nothing to roll back".into(),
        ));
    }
    let caps = target.capabilities();
    let mut summary = RollbackSummary::default();
    for kind in Kind::ALL.into_iter().rev() {
        let written = state.count(kind, RecordStatus::Written)?;
        if written == 0 {
            continue;
        }
        observer.event(&Event::KindStarted {
            kind,
            total: Some(written),
        });
        let can_delete = caps.supports(kind, Operation::Delete);
        let mut after = String::new();
        let (mut deleted, mut released, mut unknown, mut kept, mut unreleasable) =
            (0u64, 0u64, 0u64, 0u64, 0u64);
        loop {
            let page = state.written_origins_page(kind, &after, 100)?;
            let Some(last) = page.last() else { break };
            after = last.0.clone();
            let mut gone = Vec::new();
            let mut created: Vec<(&String, &String)> = Vec::new();
            for (source, target_id, origin) in &page {
                match origin {
                    Some(Origin::Created) if can_delete => created.push((source, target_id)),
                    Some(Origin::Created) => kept += 1,
                    Some(Origin::Adopted(before)) => {
                        let before = Adopted {
                            before: before.clone(),
                        };
                        match target.release(kind, target_id, &before) {
                            Ok(()) => {
                                released += 1;
                                gone.push(source.clone());
                            }
                            Err(e) if e.kind() == ErrorKind::Unsupported => unreleasable += 1,
                            Err(e) if e.stops_run() => return Err(EngineError::Adapter(e)),
                            Err(e) => summary.failed.push((kind, source.clone(), e.to_string())),
                        }
                    }
                    None => unknown += 1,
                }
            }
            if !created.is_empty() {
                let target_ids: Vec<String> = created.iter().map(|(_, t)| (*t).clone()).collect();
                let results = target.delete(kind, &target_ids)?;
                for ((source, _), result) in created.iter().zip(results) {
                    match result {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::NotFound => {}
                        Err(e) if e.stops_run() => return Err(EngineError::Adapter(e)),
                        Err(e) => {
                            summary
                                .failed
                                .push((kind, (*source).clone(), e.to_string()));
                            continue;
                        }
                    }
                    deleted += 1;
                    gone.push((*source).clone());
                }
            }
            state.set_status(kind, &gone, RecordStatus::RolledBack)?;
            observer.event(&Event::Progress {
                kind,
                done: deleted + released,
            });
        }
        if deleted > 0 {
            summary.deleted.insert(kind, deleted);
        }
        if released > 0 {
            summary.released.insert(kind, released);
        }
        for (list, n, why) in [
            (&mut summary.not_deletable, kept, "cannot delete"),
            (
                &mut summary.not_releasable,
                unreleasable,
                "cannot give back adopted",
            ),
        ] {
            if n > 0 {
                list.push((kind, n));
                observer.event(&Event::Warning(format!(
                    "{} {why} {kind}: {n} record(s) stay on the target",
                    caps.adapter
                )));
            }
        }
        if unknown > 0 {
            summary.origin_unknown.push((kind, unknown));
            observer.event(&Event::Warning(format!(
                "{kind}: {unknown} record(s) whose origin is unknown stay on the target (they may have been there before the migration)"
            )));
        }
    }
    if summary.failed.is_empty() && summary.origin_unknown.is_empty() {
        summary.helpers_removed = target.remove_helpers()?;
    }
    target.finish()?;
    state.set_setting("in_progress", "0")?;
    Ok(summary)
}
