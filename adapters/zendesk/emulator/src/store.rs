//! Collections: seeded records generated on demand from their index, plus an overlay of
//! what clients created, changed or deleted. Nothing seeded is held in memory.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// The kinds the emulator stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum K {
    /// Tickets.
    Tickets,
    /// Users (agents first).
    Users,
    /// Organizations.
    Orgs,
    /// Groups.
    Groups,
    /// Group memberships.
    Memberships,
    /// Ticket fields.
    TicketFields,
    /// User fields.
    UserFields,
    /// Organization fields.
    OrgFields,
    /// Satisfaction ratings.
    Csat,
    /// Macros.
    Macros,
    /// Triggers.
    Triggers,
    /// Automations.
    Automations,
    /// Views.
    Views,
    /// Webhooks.
    Webhooks,
    /// SLA policies.
    Slas,
    /// Help Center categories.
    KbCategories,
    /// Help Center sections.
    KbSections,
    /// Help Center articles.
    KbArticles,
}

/// One collection.
#[derive(Debug, Default)]
pub struct Collection {
    /// Id of seeded record 0.
    pub base: u64,
    /// Seeded records (ids `base..base + seeded`).
    pub seeded: usize,
    /// Created, changed (`Some`) or deleted (`None`) records by id.
    pub overlay: BTreeMap<u64, Option<Value>>,
    /// Next id for a created record.
    pub next: u64,
    /// Lower-cased external id -> id, for records written by clients.
    pub external: HashMap<String, u64>,
    /// When each overlay record was last written (unix seconds), for incremental exports.
    pub written: HashMap<u64, i64>,
}

impl Collection {
    /// A collection of `seeded` records from `base`.
    pub fn new(base: u64, seeded: usize) -> Self {
        Collection {
            base,
            seeded,
            next: base + seeded as u64 + 1_000,
            ..Default::default()
        }
    }

    /// The seeded index of an id, if it is in the seeded range.
    pub fn index(&self, id: u64) -> Option<usize> {
        (id >= self.base && id < self.base + self.seeded as u64).then(|| (id - self.base) as usize)
    }

    /// Every id after `after` (exclusive) in ascending order; `gen(index)` says whether a
    /// seeded index exists.
    pub fn ids_after(&self, after: Option<u64>) -> impl Iterator<Item = u64> + '_ {
        let start = after
            .map(|a| a.saturating_add(1))
            .unwrap_or(0)
            .max(self.base);
        let seeded_end = self.base + self.seeded as u64;
        (start..seeded_end.max(start))
            .filter(move |id| !matches!(self.overlay.get(id), Some(None)))
            .chain(
                self.overlay
                    .range(start.max(seeded_end)..)
                    .filter(|(_, v)| v.is_some())
                    .map(|(id, _)| *id),
            )
    }

    /// Every id before `before` (exclusive), descending.
    pub fn ids_before(&self, before: u64) -> impl Iterator<Item = u64> + '_ {
        let seeded_end = self.base + self.seeded as u64;
        self.overlay
            .range(seeded_end..before.max(seeded_end))
            .rev()
            .filter(|(_, v)| v.is_some())
            .map(|(id, _)| *id)
            .chain(
                (self.base..before.min(seeded_end))
                    .rev()
                    .filter(move |id| !matches!(self.overlay.get(id), Some(None))),
            )
    }

    /// Writes a record (created or changed) at `now`.
    pub fn put(&mut self, id: u64, value: Value, now: i64) {
        if let Some(external) = value.get("external_id").and_then(Value::as_str) {
            self.external.insert(external.to_lowercase(), id);
        }
        self.overlay.insert(id, Some(value));
        self.written.insert(id, now);
    }

    /// Deletes a record.
    pub fn delete(&mut self, id: u64, now: i64) {
        self.external.retain(|_, v| *v != id);
        self.overlay.insert(id, None);
        self.written.insert(id, now);
    }

    /// A fresh id.
    pub fn fresh_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}
