//! What the engine reports while it works. The engine draws nothing: an observer (the
//! CLI's progress bars, a test's recorder) decides what to show.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchover_model::Kind;

/// One thing that happened during a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// A kind starts moving; `total` when the source can count cheaply.
    KindStarted {
        /// The kind.
        kind: Kind,
        /// Records expected.
        total: Option<u64>,
    },
    /// Records of a kind were processed.
    Progress {
        /// The kind.
        kind: Kind,
        /// Records processed so far in this run (written, unchanged, failed or skipped).
        done: u64,
    },
    /// Records of a kind were read ahead into the state store, to travel inside their
    /// parents (comments inside a ticket import).
    ReadAhead {
        /// The kind.
        kind: Kind,
        /// Records read ahead so far in this run.
        read: u64,
    },
    /// A kind is finished.
    KindFinished {
        /// The kind.
        kind: Kind,
        /// What happened to its records.
        counts: KindCounts,
    },
    /// The target or source asked to slow down or failed transiently; the engine waits.
    Backoff {
        /// The kind being written.
        kind: Kind,
        /// How long it waits.
        wait: Duration,
        /// Why.
        reason: String,
    },
    /// Something a person should read.
    Warning(String),
}

/// Counts of what happened to the records of one kind in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindCounts {
    /// Newly created on the target.
    pub created: u64,
    /// Already on the target before the migration (same name, same e-mail) and adopted:
    /// marked and updated, never deleted by a rollback.
    pub adopted: u64,
    /// Updated on the target (changed in the source since the last run).
    pub updated: u64,
    /// Already on the target with the same digest.
    pub unchanged: u64,
    /// Found on the target by source marker after a crash, not sent again.
    pub reconciled: u64,
    /// Refused or not sent; listed in the failures.
    pub failed: u64,
    /// Skipped by plan policy (unresolvable reference), listed with the reason.
    pub skipped: u64,
    /// Deleted from the target because the source deleted them.
    pub deleted: u64,
    /// Written a second time to complete references to records of their own kind that
    /// were not on the target at the first write (tickets linking forward).
    pub relinked: u64,
    /// Folded by the plan's map into a record the target already has (a departed agent
    /// into its stand-in, with its group memberships): not written themselves.
    pub mapped: u64,
    /// Left out by the plan's `[filter]` (not in the run's scope).
    pub filtered: u64,
    /// Target requests the writes would cost (dry runs).
    pub requests: u64,
    /// Attachment bytes moved.
    pub attachment_bytes: u64,
}

impl KindCounts {
    /// Adds another count set.
    pub fn add(&mut self, other: &KindCounts) {
        self.created += other.created;
        self.adopted += other.adopted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.reconciled += other.reconciled;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.deleted += other.deleted;
        self.relinked += other.relinked;
        self.mapped += other.mapped;
        self.filtered += other.filtered;
        self.requests += other.requests;
        self.attachment_bytes += other.attachment_bytes;
    }

    /// Records processed.
    pub fn processed(&self) -> u64 {
        self.created
            + self.adopted
            + self.updated
            + self.unchanged
            + self.reconciled
            + self.failed
            + self.skipped
            + self.mapped
    }
}

/// Receives events. Implementations must be cheap: they are called from the run loop.
pub trait Observer: Send + Sync {
    /// Called for every event.
    fn event(&self, event: &Event);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _event: &Event) {}
}

/// A flag that asks a run to stop cleanly at the next batch boundary (Ctrl-C).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether stopping was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps for `wait`, or less if stopping is asked for meanwhile (a retry wait or a
    /// rate-limit pause must not hold up a Ctrl-C).
    pub fn sleep(&self, wait: std::time::Duration) {
        let until = std::time::Instant::now() + wait;
        while !self.is_cancelled() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
        }
    }
}
