//! Children written inside their parents: a target that imports a ticket together with
//! its comments (Zendesk's Ticket Import API) keeps the comments' authors and times and
//! fires no notification rules, which comments added one by one afterwards cannot do.
//!
//! The engine reads the child kind ahead into the state store (staging), hands each new
//! parent its children in [`WriteRequest::children`], records the children's outcomes
//! in the id map, and then runs the child kind's own pass over the staged copies: the
//! children already written are unchanged there, and the rest (new comments on tickets
//! written by an earlier run, children refused inside an import) are written as records
//! of their own kind. A child whose parent write was cut off stays pending and is
//! settled through [`switchover_adapter::Target::find_embedded`] before that pass.

use std::collections::{BTreeMap, HashMap, HashSet};

use switchover_adapter::{AdapterError, Operation, WriteOutcome, WriteRequest};
use switchover_model::digest::{Digest, FieldSet, record_digest};
use switchover_model::{Kind, Record, Timestamp};

use super::{Runner, digest_with_hashes};
use crate::EngineError;
use crate::events::{Event, KindCounts};
use crate::state::{KindCursor, RecordStatus};

/// The children attached to one page of parent writes.
pub(super) struct Attached {
    /// Their kind.
    pub kind: Kind,
    /// Their portable fields.
    pub fields: FieldSet,
    /// Child source id -> the record as read (source references) and its digest.
    pub records: HashMap<String, (Record, Digest)>,
    /// Parent source id -> the ids of the children sent with it, in order.
    pub by_parent: HashMap<String, Vec<String>>,
}

/// What became of attached children once their parents' outcomes are in.
#[derive(Default)]
pub(super) struct SettledChildren {
    /// Written with their parent: `(source id, target id, digest)`.
    pub written: Vec<(String, String, Digest)>,
    /// Not written (parent or child refused): their own pass sends them again.
    pub not_written: Vec<String>,
    /// Attachment bytes they carried.
    pub attachment_bytes: u64,
}

impl SettledChildren {
    /// Sorts the children sent with one parent by that parent's outcome. Children the
    /// outcome does not mention stay pending.
    pub fn settle(
        &mut self,
        attached: &Attached,
        outcome: &WriteOutcome,
        hashes: &HashMap<String, (Digest, u64)>,
        downloaded: &mut Vec<(String, Digest, u64)>,
        stop: &mut Option<AdapterError>,
    ) {
        let Some(sent) = attached.by_parent.get(&outcome.source_id) else {
            return;
        };
        if let Err(e) = &outcome.result {
            if !e.stops_run() {
                self.not_written.extend(sent.iter().cloned());
            }
            return;
        }
        let results: HashMap<&str, &Result<String, AdapterError>> = outcome
            .children
            .iter()
            .map(|c| (c.source_id.as_str(), &c.result))
            .collect();
        for id in sent {
            match results.get(id.as_str()) {
                Some(Ok(target)) => {
                    let Some((record, digest)) = attached.records.get(id) else {
                        continue;
                    };
                    let mut counts = KindCounts::default();
                    let digest = digest_with_hashes(
                        record,
                        *digest,
                        &attached.fields,
                        hashes,
                        downloaded,
                        &mut counts,
                    );
                    self.attachment_bytes += counts.attachment_bytes;
                    self.written.push((id.clone(), target.clone(), digest));
                }
                Some(Err(e)) if e.stops_run() => *stop = Some(e.clone()),
                Some(Err(_)) => self.not_written.push(id.clone()),
                None => {}
            }
        }
    }
}

/// The sort key that keeps a parent's children in time order.
fn sort_key(record: &Record) -> String {
    match record {
        Record::Comment(c) => c
            .created_at
            .as_ref()
            .map(Timestamp::to_canonical)
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn parse(kind: Kind, id: &str, json: &str) -> Result<Record, EngineError> {
    serde_json::from_str(json)
        .map_err(|e| EngineError::State(format!("staged copy of {kind} '{id}' is unreadable: {e}")))
}

impl Runner<'_> {
    /// A staged child as the target should get it: known attachment hashes filled, its
    /// parent reference emptied (the parent has no target id yet), every other reference
    /// mapped. `None` when a reference cannot be resolved: the child's own pass then
    /// applies the plan's policy and reports it.
    fn child_request(
        &self,
        kind: Kind,
        id: &str,
        json: &str,
        fields: &FieldSet,
        cache: &mut HashMap<(Kind, String), Option<String>>,
    ) -> Result<Option<(Record, Digest, WriteRequest)>, EngineError> {
        let mut record = parse(kind, id, json)?;
        if self.ctx.options.mapping.folds(&record)
            || self.ctx.options.mapping.apply(&mut record).is_err()
        {
            // Its own pass counts it mapped, or fails it naming the value.
            return Ok(None);
        }
        self.extract_bodies(&mut record);
        self.fill_known_hashes(&mut record)?;
        let mut digest = record_digest(&record, fields);
        let mut mapped = record.clone();
        if let Some(parent) = mapped.parent_id_mut() {
            parent.clear();
        }
        Ok(match self.map_references(&mut mapped, cache, true)? {
            Ok(_) => {
                let can_update = self.ctx.target_caps.supports(kind, Operation::Update);
                if self.prepare_bodies(&mut mapped)? > 0 && can_update {
                    // Its links wait for records not on the target yet: a different
                    // digest and a place in the queue, so a later pass re-points them.
                    digest = crate::bodies::waiting_digest(digest);
                    let json = serde_json::to_string(&record).map_err(|e| {
                        EngineError::State(format!("cannot keep {kind} '{id}' waiting: {e}"))
                    })?;
                    self.state.defer(kind, id, &json)?;
                }
                Some((record, digest, WriteRequest::create(mapped)))
            }
            Err(_) => None,
        })
    }

    /// Gives every new parent in `writes` its staged children not yet on the target.
    pub(super) fn attach_children(
        &self,
        kind: Kind,
        writes: &mut [(Record, Digest, WriteRequest)],
        cache: &mut HashMap<(Kind, String), Option<String>>,
    ) -> Result<Option<Attached>, EngineError> {
        let Some(child) = self.ctx.embedded_child(kind) else {
            return Ok(None);
        };
        let parents: Vec<&str> = writes
            .iter()
            .filter(|(_, _, w)| w.existing.is_none())
            .map(|(r, _, _)| r.id())
            .collect();
        if parents.is_empty() {
            return Ok(None);
        }
        let staged = self.state.staged_children(child, &parents)?;
        let ids: Vec<&str> = staged.iter().map(|(_, id, _)| id.as_str()).collect();
        let on_target: HashSet<String> = self
            .state
            .lookup(child, &ids)?
            .into_iter()
            .filter(|(_, _, status)| *status == RecordStatus::Written)
            .map(|(id, _, _)| id)
            .collect();
        let mut attached = Attached {
            kind: child,
            fields: self.ctx.fields(child),
            records: HashMap::new(),
            by_parent: HashMap::new(),
        };
        let mut requests: HashMap<String, Vec<WriteRequest>> = HashMap::new();
        for (parent, id, json) in staged {
            if on_target.contains(&id) {
                continue;
            }
            let Some((record, digest, request)) =
                self.child_request(child, &id, &json, &attached.fields, cache)?
            else {
                continue;
            };
            attached
                .by_parent
                .entry(parent.clone())
                .or_default()
                .push(id.clone());
            requests.entry(parent).or_default().push(request);
            attached.records.insert(id, (record, digest));
        }
        for (record, _, request) in writes.iter_mut() {
            if request.existing.is_none()
                && let Some(children) = requests.remove(record.id())
            {
                request.children = children;
            }
        }
        Ok(Some(attached))
    }

    /// Reads the child kind from the source into the state store, from its saved
    /// read-ahead position; `Ok(false)` when a Ctrl-C stopped it.
    pub(super) fn stage_children(
        &mut self,
        kind: Kind,
        changed_since: Option<Timestamp>,
    ) -> Result<bool, EngineError> {
        let start = self.state.staging_cursor(kind)?;
        if start.done {
            return Ok(true);
        }
        if start.cursor.is_none() {
            self.state.clear_staged(kind)?;
        }
        let mut read = 0u64;
        let first = start.cursor.map(switchover_adapter::Cursor);
        self.read_source(kind, first, changed_since, |runner, page| {
            let mut rows = Vec::with_capacity(page.records.len());
            let scope = runner.ctx.options.scope.clone();
            for record in page
                .records
                .iter()
                .filter(|r| scope.as_ref().is_none_or(|s| s.contains(r)))
            {
                let json = serde_json::to_string(record).map_err(|e| {
                    EngineError::State(format!("cannot stage {kind} '{}': {e}", record.id()))
                })?;
                let parent = record
                    .parent()
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_default();
                rows.push((parent, record.id().to_string(), sort_key(record), json));
            }
            let next = page.next.clone();
            runner.state.stage(
                kind,
                &rows,
                &KindCursor {
                    cursor: next.as_ref().map(|c| c.0.clone()),
                    done: next.is_none(),
                },
            )?;
            read += rows.len() as u64;
            runner.ctx.observer.event(&Event::ReadAhead { kind, read });
            Ok(!(runner.ctx.cancel.is_cancelled() && next.is_some()))
        })
    }

    /// The child kind's own pass, over the staged copies instead of the source.
    pub(super) fn move_staged(
        &mut self,
        kind: Kind,
        counts: &mut KindCounts,
    ) -> Result<bool, EngineError> {
        let start = self.state.cursor(kind)?;
        if start.done {
            return Ok(true);
        }
        self.ctx
            .observer
            .event(&Event::KindStarted { kind, total: None });
        let page_size = self.ctx.options.page_size.unwrap_or(500).max(1);
        let mut after = start.cursor.unwrap_or_default();
        loop {
            let rows = self.state.staged_page(kind, &after, page_size)?;
            let last = rows.len() < page_size;
            let mut records = Vec::with_capacity(rows.len());
            for (id, json) in &rows {
                records.push(parse(kind, id, json)?);
            }
            if let Some((id, _)) = rows.last() {
                after = id.clone();
            }
            self.process(kind, records, false, false, counts)?;
            if self.ctx.cancel.is_cancelled() {
                // Some of this page may not have been sent: take it again next run.
                return Ok(false);
            }
            self.state.save_cursor(
                kind,
                &KindCursor {
                    cursor: Some(after.clone()),
                    done: last,
                },
            )?;
            self.ctx.observer.event(&Event::Progress {
                kind,
                done: counts.processed(),
            });
            if last {
                break;
            }
            if self.ctx.cancel.is_cancelled() {
                return Ok(false);
            }
        }
        // Children written inside their parents were counted unchanged just now.
        if let Some(embedded) = self.embedded.remove(&kind) {
            counts.unchanged = counts.unchanged.saturating_sub(embedded.created);
            counts.add(&embedded);
        }
        Ok(true)
    }

    /// Settles children a cut-off parent write left pending, by asking the target which
    /// of them its parent holds.
    pub(super) fn reconcile_embedded(
        &mut self,
        kind: Kind,
        parent_kind: Kind,
        counts: &mut KindCounts,
    ) -> Result<(), EngineError> {
        let pending = self.state.pending(kind)?;
        if pending.is_empty() {
            return Ok(());
        }
        let digests: HashMap<String, Option<Digest>> = pending.into_iter().collect();
        let ids: Vec<String> = digests.keys().cloned().collect();
        let parents = self.state.staged_parents(kind, &ids)?;
        let mut groups: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        let mut absent = Vec::new();
        for id in ids {
            match parents.get(&id) {
                Some(parent) => {
                    groups.entry(parent.clone()).or_default().insert(id);
                }
                None => absent.push(id),
            }
        }
        let fields = self.ctx.fields(kind);
        let mut cache = HashMap::new();
        let mut written = Vec::new();
        for (parent, waiting) in groups {
            let Some(parent_target) = self.state.target_id(parent_kind, &parent)? else {
                // A parent whose own write is still unknown may hold them: they wait
                // for it. A parent known not to be on the target holds none.
                let parent_pending = self
                    .state
                    .lookup(parent_kind, &[parent.as_str()])?
                    .iter()
                    .any(|(_, _, status)| *status == RecordStatus::Pending);
                if !parent_pending {
                    absent.extend(waiting);
                }
                continue;
            };
            let mut requests = Vec::new();
            let mut records: HashMap<String, (Record, Digest)> = HashMap::new();
            for (_, id, json) in self.state.staged_children(kind, &[parent.as_str()])? {
                if waiting.contains(&id)
                    && let Some((record, digest, request)) =
                        self.child_request(kind, &id, &json, &fields, &mut cache)?
                {
                    requests.push(request);
                    records.insert(id, (record, digest));
                }
            }
            let found =
                self.ctx
                    .find_embedded_with_retry(parent_kind, &parent_target, &requests)?;
            for id in waiting {
                match found.get(&id) {
                    Some(target) => {
                        // The digest a write would have stored, attachment hashes
                        // included.
                        let digest = match records.get_mut(&id) {
                            Some((record, digest)) => {
                                self.reconciled_digest(record, &fields, *digest)?
                            }
                            None => digests.get(&id).copied().flatten().unwrap_or_default(),
                        };
                        written.push((id, target.clone(), digest));
                    }
                    None => absent.push(id),
                }
            }
        }
        counts.reconciled += written.len() as u64;
        if !written.is_empty() {
            self.ctx.observer.event(&Event::Warning(format!(
                "{kind}: {} record(s) an interrupted run had sent inside their {parent_kind} were found on the target and not sent again",
                written.len()
            )));
        }
        self.state.mark_written(kind, self.generation, &written)?;
        self.state.drop_pending(kind, &absent)?;
        Ok(())
    }
}
