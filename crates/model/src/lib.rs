//! The canonical helpdesk model every Switchover adapter reads into and writes from.
//!
//! Design decisions:
//! - Every record carries the id it has in the system it was read from (`id`). References
//!   to other records are typed ([`Ref<T>`]) and hold that same kind of id; the engine
//!   rewrites them through its id map ([`Record::for_each_ref_mut`]) before a write and
//!   after a read-back, so digests compare source ids on both sides.
//! - Timestamps are [`Timestamp`]: UTC, one canonical RFC 3339 spelling on output, any
//!   equivalent spelling accepted on input.
//! - Attachments are described inside the comment or article they belong to; their bytes
//!   are opened lazily by the source adapter, never held in the model.
//! - Vendor leftovers go in each record's `extra` map; the archive keeps them, other
//!   targets report them as lossy.
//! - A record's digest ([`digest::record_digest`]) is SHA-256 over canonical JSON of its
//!   portable projection: only the fields both adapters declare they round-trip.

#![deny(missing_docs)]

pub mod canonical;
pub mod digest;
mod entities;
mod kind;
pub mod merkle;
mod record;
mod refs;
pub mod rules;
mod time;

pub use entities::*;
pub use kind::{Kind, UnknownKind};
pub use record::{Entity, Record};
pub use refs::Ref;
pub use rules::{
    Action, Assignee, Condition, ConditionField, Conditions, Operator, Recipient, RuleEvent,
    RulePart, RuleValue, Untranslated, UpdaterRole,
};
pub use time::{Timestamp, TimestampError};

/// Vendor-specific leftovers of a record, kept verbatim by the archive and reported as
/// lossy by other targets.
pub type Extra = std::collections::BTreeMap<String, serde_json::Value>;
