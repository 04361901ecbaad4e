//! The emulator kit every vendor emulator is built on.
//!
//! Design decisions:
//! - One hand-rolled HTTP/1.1 server on `std::net` ([`Server`]): loopback only, port 0 by
//!   default, thread per connection, stops when dropped. Hand-rolled so that faults such as
//!   a reset in the middle of a response are exact, and so no second HTTP stack is built.
//! - Vendor-neutral layers around a vendor's handler ([`Gate`]): a per-minute request
//!   budget answering 429 with `Retry-After` and the vendor's header names, and seeded
//!   fault injection ([`Faults`]). Authentication stays with each emulator (schemes differ);
//!   [`auth`] parses the common ones.
//! - A seeded generator ([`generate::Generator`]) builds canonical records on demand from
//!   an index, so an emulator can serve 100,000 tickets without holding them.
//! - Emulators register with the CLI through [`EmulatorSpec`], inside the adapter crate's
//!   one [`Platform`] entry.

#![deny(missing_docs)]

pub mod auth;
mod config;
mod faults;
pub mod generate;
mod limits;
pub mod mangle;
pub mod multipart;
mod platform;
pub mod rng;
mod server;

pub use config::{EmulatorConfig, EmulatorSpec, RunningEmulator};
pub use faults::{FaultDecision, Faults};
pub use limits::{Budget, BudgetCheck, Gate, PageLimits, RateHeaders};
pub use platform::Platform;
pub use server::{
    Handler, MAX_BODY, Request, Response, Server, parse_query, percent_decode, percent_encode,
};

/// What can go wrong starting or configuring an emulator.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The loopback port could not be bound.
    #[error("cannot bind the loopback server")]
    Bind {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A fault specification did not parse.
    #[error("invalid fault spec {spec:?}: {reason}")]
    FaultSpec {
        /// The text given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No emulator has this name.
    #[error("no emulator named {name:?} (known: {known})")]
    UnknownEmulator {
        /// The name asked for.
        name: String,
        /// The names known, comma separated.
        known: String,
    },
    /// Anything else an emulator reports while starting.
    #[error("{0}")]
    Other(String),
}
