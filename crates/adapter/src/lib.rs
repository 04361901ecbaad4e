//! The contract between the Switchover engine and the platform adapters.
//!
//! An adapter crate implements [`Source`] (read a platform) and/or [`Target`] (write a
//! platform), declares what it can do in [`Capabilities`] instead of letting callers guess,
//! and exports one `register` function returning an [`AdapterSpec`]. The engine depends on
//! this crate only, never on a concrete adapter; only the CLI holds the list of adapters.
//!
//! Errors are typed by what a caller can do about them ([`AdapterError`]): stop the run
//! (authentication, fatal), record and go on (invalid record, permission), wait and retry
//! (rate limited, transient).

#![deny(missing_docs)]

pub mod bodies;
mod capabilities;
pub mod checked;
pub mod cursor;
mod error;
pub mod html;
pub mod marker;
pub mod parallel;
mod registry;
mod secret;
mod settings;
mod shared;
mod traits;

pub use capabilities::{
    Capabilities, KindCapability, LossyField, Operation, PlanTier, RequestCost,
};
pub use error::{AdapterError, ErrorKind};
pub use registry::{AdapterSpec, Registry, RegistryError, SourceFactory, TargetFactory};
pub use secret::{Secret, SecretError};
pub use settings::Settings;
pub use shared::Shared;
pub use traits::{
    Adopted, ContentSource, Cursor, Page, PageRequest, Prediction, Preflight, ReadBack,
    ReadBackPage, Risk, Source, TARGET_NOTIFICATIONS, Target, TargetInfo, WriteOutcome,
    WriteRequest,
};

pub use switchover_model as model;
