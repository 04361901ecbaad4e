//! The Switchover transfer engine.
//!
//! It moves records kind by kind in dependency order ([`planner`]), streaming pages from
//! the source through a bounded pipeline: one thread reads the next page while the
//! current one is hashed and mapped on rayon and written in batches, a bounded number in
//! flight. Every write is recorded in a SQLite [`state::StateStore`] as an intent before
//! it is sent and as done after, so a killed run resumes without writing anything twice:
//! intents whose outcome is unknown are reconciled through the target's source marker.
//!
//! When a target writes a record together with its children (Zendesk imports a ticket
//! with its comments), the children's kind is read ahead into the state store, handed to
//! each new parent, and settled through [`switchover_adapter::Target::find_embedded`]
//! after a crash; children of parents already on the target are written on their own.
//!
//! The engine depends on the adapter contract only, never on a concrete adapter; it
//! reports progress as [`events::Event`]s and draws nothing.
//!
//! A dry run ([`dry_run`]) is given a [`switchover_adapter::TargetInfo`], which has no
//! write methods: it cannot write by construction.

#![deny(missing_docs)]

mod bodies;
mod cutover;
pub mod events;
mod executor;
pub mod failures;
pub mod filter;
pub mod integrations;
pub mod mapping;
pub mod plan;
pub mod planner;
pub mod profile;
mod rollback;
pub mod state;
mod verify;

pub use bodies::{BodyReport, OutsideBody};
pub use cutover::{CUTOVER_KINDS, CutoverItem, CutoverReport, cutover};
pub use events::{Cancel, Event, KindCounts, Observer, Silent};
pub use executor::{
    COMMENTS_PER_SAMPLE, DryRunReport, FieldFate, Options, RunSummary, SampleField, SampleOutcome,
    SampleRecord, SampleTicket, TierEstimate, UnresolvedPolicy, dry_run, dry_run_delta, migrate,
    retry_failed,
};
pub use rollback::{RollbackSummary, rollback};
pub use verify::{
    DifferingRecord, ExtraRecord, KindVerification, MissingReason, MissingRecord, VerifyReport,
    verify, verify_mapped, verify_scoped,
};

use switchover_adapter::AdapterError;

/// Why the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The state store failed.
    #[error("state store: {0}")]
    State(String),
    /// An adapter failed in a way that stops the run (authentication, bad settings, fatal).
    #[error("{0}")]
    Adapter(#[from] AdapterError),
    /// Nothing has been migrated with this state store, so there is nothing to verify
    /// or roll back; says what to run instead.
    #[error("{0}")]
    NotMigrated(String),
    /// One side of the run failed only transiently (refused connections, 5xx,
    /// timeouts) for longer than the plan allows; says which, since when, and that the
    /// state is saved.
    #[error("{0}")]
    Unreachable(String),
    /// The plan is wrong; every problem is listed.
    #[error("the plan has {} problem(s):\n  - {}", .0.len(), .0.join("\n  - "))]
    Plan(Vec<String>),
}

impl EngineError {
    /// Whether this is an authentication failure (its own exit status).
    pub fn is_authentication(&self) -> bool {
        matches!(self, EngineError::Adapter(e) if e.kind() == switchover_adapter::ErrorKind::Authentication)
    }
}
