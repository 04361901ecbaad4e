//! Cutover: after the final delta run, switches on the migrated rules, automations and
//! webhooks that were active in the source. Targets create them switched off so that
//! nothing fires, e-mails customers or calls a CRM during the migration.
//!
//! What was active is read from the source, never from the state store; which target
//! record is the migrated one comes from the id map. Only records this migration
//! created are switched on: a record it adopted was on the target before and is left as
//! the target had it.

use std::collections::HashMap;

use switchover_adapter::{ErrorKind, PageRequest, Source, Target};
use switchover_model::{Kind, Record};

use crate::EngineError;
use crate::state::{Origin, StateStore};

/// The kinds a cutover switches on.
pub const CUTOVER_KINDS: [Kind; 2] = [Kind::Webhook, Kind::Rule];

/// One rule or webhook a cutover named.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CutoverItem {
    /// Its kind.
    pub kind: Kind,
    /// Its id in the source.
    pub source_id: String,
    /// Its id on the target (empty when it was not migrated).
    pub target_id: String,
    /// Its title or name.
    pub title: String,
}

/// What a cutover did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CutoverReport {
    /// Whether it only listed.
    pub dry_run: bool,
    /// Active in the source and switched on (or to be, in a dry run).
    pub switched_on: Vec<CutoverItem>,
    /// Inactive in the source: left switched off.
    pub inactive_in_source: usize,
    /// Active in the source but adopted (the target had them): left as they were.
    pub adopted: Vec<CutoverItem>,
    /// Active in the source but found by marker after a crash, so they may have been
    /// on the target before: left as they are, for a person to check.
    pub origin_unknown: Vec<CutoverItem>,
    /// Active in the source but not on the target (not migrated, or failed).
    pub not_migrated: Vec<CutoverItem>,
    /// Kinds the target cannot switch on, with the target's reason.
    pub unsupported: Vec<(Kind, String)>,
    /// Active in the source, migrated, but of a kind the target cannot switch on: a
    /// person must, on the target.
    pub by_hand: Vec<CutoverItem>,
    /// Records the target refused to switch on: the record and why.
    pub failed: Vec<(CutoverItem, String)>,
}

fn title_of(record: &Record) -> String {
    match record {
        Record::Rule(r) => r.title.clone(),
        Record::Webhook(w) => w.name.clone(),
        other => other.id().to_string(),
    }
}

fn active_of(record: &Record) -> bool {
    match record {
        Record::Rule(r) => r.active,
        Record::Webhook(w) => w.active,
        _ => false,
    }
}

/// Switches on, on the target, every migrated rule and webhook of `kinds` (the plan's
/// kinds among [`CUTOVER_KINDS`]) that is active in the source. With `dry_run` it only
/// lists what it would switch on.
pub fn cutover(
    source: &dyn Source,
    target: &dyn Target,
    state: &StateStore,
    kinds: &[Kind],
    dry_run: bool,
) -> Result<CutoverReport, EngineError> {
    if !state.has_any_run()? {
        return Err(EngineError::NotMigrated(
            "no migration has run on this state store, so there is nothing to switch on; run `switchover migrate` first".into(),
        ));
    }
    let mut report = CutoverReport {
        dry_run,
        ..Default::default()
    };
    for kind in CUTOVER_KINDS.into_iter().filter(|k| kinds.contains(k)) {
        let mut migrated: HashMap<String, (String, Option<Origin>)> = HashMap::new();
        let mut after = String::new();
        loop {
            let page = state.written_origins_page(kind, &after, 500)?;
            let Some(last) = page.last() else { break };
            after = last.0.clone();
            for (source_id, target_id, origin) in page {
                migrated.insert(source_id, (target_id, origin));
            }
        }
        let mut request = PageRequest::default();
        let mut unsupported = false;
        loop {
            let page = source.read_page(kind, &request)?;
            for record in &page.records {
                if !active_of(record) {
                    report.inactive_in_source += 1;
                    continue;
                }
                let mut item = CutoverItem {
                    kind,
                    source_id: record.id().to_string(),
                    target_id: String::new(),
                    title: title_of(record),
                };
                let Some((target_id, origin)) = migrated.get(record.id()) else {
                    report.not_migrated.push(item);
                    continue;
                };
                item.target_id = target_id.clone();
                match origin {
                    Some(Origin::Adopted(_)) => report.adopted.push(item),
                    None => report.origin_unknown.push(item),
                    Some(Origin::Created) if unsupported => report.by_hand.push(item),
                    Some(Origin::Created) if dry_run => report.switched_on.push(item),
                    Some(Origin::Created) => {
                        match target.set_active(kind, target_id, record, true) {
                            Ok(()) => report.switched_on.push(item),
                            Err(e) if e.kind() == ErrorKind::Unsupported => {
                                unsupported = true;
                                report.unsupported.push((kind, e.to_string()));
                                report.by_hand.push(item);
                            }
                            Err(e) if e.stops_run() => return Err(EngineError::Adapter(e)),
                            Err(e) => report.failed.push((item, e.to_string())),
                        }
                    }
                }
            }
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(report)
}
