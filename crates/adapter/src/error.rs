use std::time::Duration;

use switchover_model::Kind;

/// What kind of failure an [`AdapterError`] is, which decides what the engine does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Credentials were refused: stop the run.
    Authentication,
    /// The account may not do this (role or plan tier): record the failure, go on.
    Permission,
    /// The record does not exist.
    NotFound,
    /// Too many requests: wait as told, then retry.
    RateLimited,
    /// The platform rejected a record: record the failure with its field, go on.
    InvalidRecord,
    /// A passing failure (5xx, dropped connection): retry with backoff.
    Transient,
    /// The adapter cannot do this for this kind.
    Unsupported,
    /// The plan's settings for the adapter are wrong: fix the plan.
    Config,
    /// Anything else that makes going on pointless: stop the run.
    Fatal,
}

/// A failure of an adapter, typed so the caller can act on it, with the context needed
/// to act: which adapter, which record, which field, how long to wait.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdapterError {
    /// Credentials were refused.
    #[error(
        "{adapter}: authentication failed: {message}; check the credentials the plan references (env:VAR or file:PATH)"
    )]
    Authentication {
        /// Adapter name.
        adapter: String,
        /// What the platform said (never the credentials).
        message: String,
    },
    /// The account is not allowed to do this.
    #[error(
        "{adapter}: permission denied for {action}: {message}; the account's role or plan tier may not include it"
    )]
    Permission {
        /// Adapter name.
        adapter: String,
        /// What was attempted.
        action: String,
        /// What the platform said.
        message: String,
    },
    /// The record does not exist.
    #[error("{adapter}: {kind} '{id}' not found")]
    NotFound {
        /// Adapter name.
        adapter: String,
        /// Kind looked for.
        kind: Kind,
        /// Id looked for.
        id: String,
    },
    /// Too many requests.
    #[error("{adapter}: rate limited{}", retry_after.map(|d| format!("; retry after {:.1}s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// Adapter name.
        adapter: String,
        /// How long the platform asked to wait.
        retry_after: Option<Duration>,
    },
    /// The platform rejected a record.
    #[error("{adapter}: {kind} '{id}' rejected: field '{field}': {reason}")]
    InvalidRecord {
        /// Adapter name.
        adapter: String,
        /// Kind of the record.
        kind: Kind,
        /// Source id of the record.
        id: String,
        /// The offending field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A passing failure worth retrying.
    #[error("{adapter}: transient failure: {message}")]
    Transient {
        /// Adapter name.
        adapter: String,
        /// What happened.
        message: String,
    },
    /// The adapter cannot do this.
    #[error("{adapter} cannot {operation} {kind}; see `switchover adapters` for what it supports")]
    Unsupported {
        /// Adapter name.
        adapter: String,
        /// Kind asked for.
        kind: Kind,
        /// Operation asked for (read, write, read back, delete).
        operation: String,
    },
    /// The adapter's settings are wrong.
    #[error("{adapter}: bad settings: {message}")]
    Config {
        /// Adapter name.
        adapter: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Going on is pointless.
    #[error("{adapter}: {message}")]
    Fatal {
        /// Adapter name.
        adapter: String,
        /// What happened.
        message: String,
    },
}

impl AdapterError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdapterError::Authentication { .. } => ErrorKind::Authentication,
            AdapterError::Permission { .. } => ErrorKind::Permission,
            AdapterError::NotFound { .. } => ErrorKind::NotFound,
            AdapterError::RateLimited { .. } => ErrorKind::RateLimited,
            AdapterError::InvalidRecord { .. } => ErrorKind::InvalidRecord,
            AdapterError::Transient { .. } => ErrorKind::Transient,
            AdapterError::Unsupported { .. } => ErrorKind::Unsupported,
            AdapterError::Config { .. } => ErrorKind::Config,
            AdapterError::Fatal { .. } => ErrorKind::Fatal,
        }
    }

    /// Whether trying the same thing again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::RateLimited | ErrorKind::Transient)
    }

    /// Whether the whole run must stop (nothing else will work either).
    pub fn stops_run(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Authentication | ErrorKind::Config | ErrorKind::Fatal
        )
    }

    /// How long the platform asked to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AdapterError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Shorthand for a fatal error.
    pub fn fatal(adapter: &str, message: impl Into<String>) -> Self {
        AdapterError::Fatal {
            adapter: adapter.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an unsupported operation.
    pub fn unsupported(adapter: &str, kind: Kind, operation: &str) -> Self {
        AdapterError::Unsupported {
            adapter: adapter.into(),
            kind,
            operation: operation.into(),
        }
    }

    /// Shorthand for a settings error.
    pub fn config(adapter: &str, message: impl Into<String>) -> Self {
        AdapterError::Config {
            adapter: adapter.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a record the platform (or the adapter, on the platform's rules)
    /// rejects: the record's kind and source id, the field at fault and why.
    pub fn invalid(
        adapter: &str,
        kind: Kind,
        id: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        AdapterError::InvalidRecord {
            adapter: adapter.into(),
            kind,
            id: id.into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for a passing failure worth retrying.
    pub fn transient(adapter: &str, message: impl Into<String>) -> Self {
        AdapterError::Transient {
            adapter: adapter.into(),
            message: message.into(),
        }
    }
}
