//! Sample tickets a dry run shows before and after: the first tickets it processes, as
//! read from the source, with their comments, and per field what the target does with
//! it. Collected only when the sink is the dry one; a live run carries an empty
//! collector whose check is one comparison per page.
//!
//! The records kept here hold the prospect's data as read, unredacted: whoever renders
//! them (the report crate) redacts personal data. Their values are not serialized, so
//! the dry run's JSON output (`--json`) shows fields, fates and outcomes only.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use switchover_adapter::{Capabilities, TargetInfo};
use switchover_model::digest::{field_set, projection};
use switchover_model::{Kind, Record};

use crate::EngineError;
use crate::state::{Failure, RecordStatus, StateStore};

/// Comments kept per sample ticket (the first ones the dry run processes).
pub const COMMENTS_PER_SAMPLE: usize = 5;

/// Error kind of records the plan's policy skips instead of failing.
const SKIPPED: &str = "skipped_reference";

/// One ticket a dry run processed, with its comments, as the source has them and as
/// the target would take them.
#[derive(Debug, Clone, Serialize)]
pub struct SampleTicket {
    /// The ticket.
    pub ticket: SampleRecord,
    /// Its first comments (at most [`COMMENTS_PER_SAMPLE`]), oldest first.
    pub comments: Vec<SampleRecord>,
}

/// One record of a sample: as read, field by field, and what the dry run predicts.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRecord {
    /// Its kind.
    pub kind: Kind,
    /// Its id in the source.
    pub source_id: String,
    /// The record as read from the source (personal data included: redact to show).
    /// Not serialized, so the dry run's JSON output holds no personal data.
    #[serde(skip_serializing)]
    pub record: Record,
    /// Every field the source reads for this kind, in the model's order.
    pub fields: Vec<SampleField>,
    /// What the dry run predicts for the record.
    pub outcome: SampleOutcome,
}

/// One field of a sample record.
#[derive(Debug, Clone, Serialize)]
pub struct SampleField {
    /// Projection path (see `switchover_model::Entity::FIELDS`): `subject`,
    /// `attachments.size`.
    pub field: String,
    /// Its value in the source's projection; `null` when empty. A path inside a list
    /// (`attachments.size`) gives the list of that value per element. Not serialized,
    /// like [`SampleRecord::record`].
    #[serde(skip_serializing)]
    pub value: serde_json::Value,
    /// What the target does with it.
    pub target: FieldFate,
    /// The value the target will hold, where it keeps the field by a fixed rule of its
    /// own and the value changes (Freshdesk's open for a new ticket), by the target's
    /// own conversion ([`TargetInfo::as_stored`]). Not serialized, like `value`.
    #[serde(skip_serializing)]
    pub after: Option<serde_json::Value>,
}

/// What a target does with a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum FieldFate {
    /// Kept as it is (the field is portable between the two).
    Kept,
    /// Kept in altered form, as the target declares.
    Altered {
        /// How (the target's words).
        how: String,
    },
    /// Not kept at all.
    Dropped {
        /// Why.
        reason: String,
    },
}

/// What the dry run predicts for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SampleOutcome {
    /// It would be created (inside its parent, for children a target embeds).
    WouldBeCreated,
    /// It would fail.
    WouldFail {
        /// The error kind (`invalid_record`, `unresolved_reference`...).
        error_kind: String,
        /// The reason.
        reason: String,
    },
    /// The plan's policy would skip it.
    WouldBeSkipped {
        /// The reason.
        reason: String,
    },
    /// The dry run did not get to write it (stopped early, or a kind it did not move).
    NotWritten,
}

/// Collects the records of sample tickets as `process()` sees them.
#[derive(Debug, Default)]
pub(super) struct Collector {
    limit: usize,
    tickets: Vec<Record>,
    ticket_ids: HashSet<String>,
    comments: HashMap<String, Vec<Record>>,
}

impl Collector {
    /// A collector of up to `limit` tickets; 0 collects nothing.
    pub(super) fn new(limit: usize) -> Self {
        Collector {
            limit,
            ..Default::default()
        }
    }

    /// Whether records of `kind` may be wanted: the cheap check on every page.
    pub(super) fn wants(&self, kind: Kind) -> bool {
        self.limit > 0
            && match kind {
                Kind::Ticket => self.tickets.len() < self.limit,
                Kind::Comment => !self.tickets.is_empty(),
                _ => false,
            }
    }

    /// Keeps copies of the records of a page that belong to the sample.
    pub(super) fn offer(&mut self, kind: Kind, records: &[Record]) {
        match kind {
            Kind::Ticket => {
                for record in records {
                    if self.tickets.len() >= self.limit {
                        break;
                    }
                    if self.ticket_ids.insert(record.id().to_string()) {
                        self.tickets.push(record.clone());
                    }
                }
            }
            Kind::Comment => {
                for record in records {
                    let Some((Kind::Ticket, parent)) = record.parent() else {
                        continue;
                    };
                    if !self.ticket_ids.contains(parent) {
                        continue;
                    }
                    let kept = self.comments.entry(parent.to_string()).or_default();
                    if kept.len() < COMMENTS_PER_SAMPLE
                        && !kept.iter().any(|c| c.id() == record.id())
                    {
                        kept.push(record.clone());
                    }
                }
            }
            _ => {}
        }
    }

    /// The samples, with each field's fate and each record's predicted outcome from
    /// the dry run's state store and failures.
    pub(super) fn finish(
        mut self,
        state: &StateStore,
        failures: &[Failure],
        source: &Capabilities,
        target_info: &dyn TargetInfo,
    ) -> Result<Vec<SampleTicket>, EngineError> {
        let target = &target_info.capabilities();
        let failed: HashMap<(Kind, &str), &Failure> = failures
            .iter()
            .map(|f| ((f.kind, f.source_id.as_str()), f))
            .collect();
        let fates = |kind: Kind| FieldFates::new(source, target, kind);
        let (ticket_fates, comment_fates) = (fates(Kind::Ticket), fates(Kind::Comment));
        let mut out = Vec::with_capacity(self.tickets.len());
        for ticket in std::mem::take(&mut self.tickets) {
            let mut comments = self.comments.remove(ticket.id()).unwrap_or_default();
            comments.sort_by(|a, b| {
                created_at(a)
                    .cmp(&created_at(b))
                    .then_with(|| a.id().cmp(b.id()))
            });
            let comments = comments
                .into_iter()
                .map(|c| sample(c, &comment_fates, target_info, state, &failed))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(SampleTicket {
                ticket: sample(ticket, &ticket_fates, target_info, state, &failed)?,
                comments,
            });
        }
        Ok(out)
    }
}

fn created_at(record: &Record) -> Option<String> {
    match record {
        Record::Comment(c) => c.created_at.as_ref().map(|t| t.to_canonical()),
        _ => None,
    }
}

/// Per field of a kind, what the target does with it.
struct FieldFates {
    /// The fields the source reads, in the model's order, with their fate.
    fields: Vec<(String, FieldFate)>,
}

impl FieldFates {
    fn new(source: &Capabilities, target: &Capabilities, kind: Kind) -> Self {
        let read = source.kind(kind).map(|c| &c.fields);
        let portable = Capabilities::portable_fields(source, target, kind);
        let lossy = Capabilities::lossy_fields(source, target, kind);
        let declared = target.kind(kind).map(|c| c.lossy.as_slice()).unwrap_or(&[]);
        let fields = kind
            .fields()
            .iter()
            .filter(|f| read.is_some_and(|r| r.contains(**f)))
            .map(|field| {
                let fate = if portable.contains(*field) {
                    FieldFate::Kept
                } else if let Some(l) = declared.iter().find(|l| l.field == *field) {
                    FieldFate::Altered { how: l.how.clone() }
                } else {
                    FieldFate::Dropped {
                        reason: lossy
                            .iter()
                            .find(|l| l.field == *field)
                            .map(|l| l.how.clone())
                            .unwrap_or_else(|| {
                                format!("{} does not take {}", target.adapter, kind.as_str())
                            }),
                    }
                };
                (field.to_string(), fate)
            })
            .collect();
        FieldFates { fields }
    }
}

/// The value of one projection path of a record.
fn field_value(record: &Record, path: &str) -> serde_json::Value {
    let projected = projection(record, &field_set([path]));
    let (head, inner) = match path.split_once('.') {
        Some((head, inner)) => (head, Some(inner)),
        None => (path, None),
    };
    let value = projected
        .get(head)
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    match (inner, value) {
        (Some(inner), serde_json::Value::Array(items)) => serde_json::Value::Array(
            items
                .into_iter()
                .map(|item| item.get(inner).cloned().unwrap_or(serde_json::Value::Null))
                .collect(),
        ),
        (_, value) => value,
    }
}

fn sample(
    record: Record,
    fates: &FieldFates,
    target: &dyn TargetInfo,
    state: &StateStore,
    failed: &HashMap<(Kind, &str), &Failure>,
) -> Result<SampleRecord, EngineError> {
    let kind = record.kind();
    let id = record.id().to_string();
    let outcome = match failed.get(&(kind, id.as_str())) {
        Some(f) if f.error_kind == SKIPPED => SampleOutcome::WouldBeSkipped {
            reason: f.message.clone(),
        },
        Some(f) => SampleOutcome::WouldFail {
            error_kind: f.error_kind.clone(),
            reason: f.message.clone(),
        },
        None => {
            let written = state
                .lookup(kind, &[id.as_str()])?
                .into_iter()
                .any(|(_, _, status)| status == RecordStatus::Written);
            if written {
                SampleOutcome::WouldBeCreated
            } else {
                SampleOutcome::NotWritten
            }
        }
    };
    let mut stored = record.clone();
    target.as_stored(kind, &mut stored);
    let fields = fates
        .fields
        .iter()
        .map(|(field, fate)| {
            let value = field_value(&record, field);
            let after = Some(field_value(&stored, field)).filter(|after| *after != value);
            SampleField {
                field: field.clone(),
                value,
                target: fate.clone(),
                after,
            }
        })
        .collect();
    Ok(SampleRecord {
        kind,
        source_id: id,
        record,
        fields,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchover_model::{Comment, Entity, Ref, Ticket};

    fn ticket(id: &str) -> Record {
        Ticket {
            id: id.into(),
            ..Default::default()
        }
        .into_record()
    }

    fn comment(id: &str, ticket: &str) -> Record {
        Comment {
            id: id.into(),
            ticket: Ref::new(ticket),
            ..Default::default()
        }
        .into_record()
    }

    #[test]
    fn a_live_run_collector_wants_nothing() {
        let collector = Collector::new(0);
        assert!(!collector.wants(Kind::Ticket));
        assert!(!collector.wants(Kind::Comment));
    }

    #[test]
    fn the_first_tickets_are_kept_once_with_their_comments_capped() {
        let mut collector = Collector::new(2);
        assert!(!collector.wants(Kind::Comment), "no ticket yet");
        collector.offer(Kind::Ticket, &[ticket("a"), ticket("a"), ticket("b")]);
        assert!(!collector.wants(Kind::Ticket), "full");
        collector.offer(Kind::Ticket, &[ticket("c")]);
        assert_eq!(collector.tickets.len(), 2);
        let comments: Vec<Record> = (0..9)
            .map(|i| comment(&format!("a-{i}"), "a"))
            .chain([comment("c-1", "c"), comment("b-1", "b")])
            .collect();
        assert!(collector.wants(Kind::Comment));
        collector.offer(Kind::Comment, &comments);
        collector.offer(Kind::Comment, &comments);
        assert_eq!(collector.comments["a"].len(), COMMENTS_PER_SAMPLE);
        assert_eq!(collector.comments["b"].len(), 1);
        assert!(!collector.comments.contains_key("c"), "not a sample ticket");
    }
}
