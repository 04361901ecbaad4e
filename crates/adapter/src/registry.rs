use std::collections::BTreeMap;

use crate::{AdapterError, Capabilities, Settings, Source, Target};

/// Builds a source from its plan settings.
pub type SourceFactory = fn(&Settings) -> Result<Box<dyn Source>, AdapterError>;
/// Builds a target from its plan settings.
pub type TargetFactory = fn(&Settings) -> Result<Box<dyn Target>, AdapterError>;

/// What an adapter crate's `register()` returns: its name, what it does, and how to build it.
#[derive(Clone)]
pub struct AdapterSpec {
    /// Name used in plans (`archive`, `zendesk`...).
    pub name: &'static str,
    /// One line saying what platform it talks to.
    pub summary: &'static str,
    /// The settings it takes, one line each (`path = "..."  folder of the archive`).
    pub settings_help: &'static [&'static str],
    /// What it can do.
    pub capabilities: fn() -> Capabilities,
    /// How to build it as a source, if it is one.
    pub source: Option<SourceFactory>,
    /// How to build it as a target, if it is one.
    pub target: Option<TargetFactory>,
}

/// Why the registry could not build an adapter.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No adapter has this name.
    #[error("unknown adapter '{name}'; known adapters: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names registered.
        known: String,
    },
    /// The adapter cannot be used in this role.
    #[error("adapter '{name}' cannot be used as a {role}")]
    WrongRole {
        /// The adapter.
        name: String,
        /// `source` or `target`.
        role: &'static str,
    },
    /// The adapter refused its settings or could not connect.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}

/// Maps adapter names to their constructors, so callers need no per-adapter code.
#[derive(Clone, Default)]
pub struct Registry {
    specs: BTreeMap<&'static str, AdapterSpec>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an adapter.
    pub fn register(&mut self, spec: AdapterSpec) -> &mut Self {
        self.specs.insert(spec.name, spec);
        self
    }

    /// Every adapter, by name.
    pub fn specs(&self) -> impl Iterator<Item = &AdapterSpec> {
        self.specs.values()
    }

    /// One adapter's spec.
    pub fn spec(&self, name: &str) -> Result<&AdapterSpec, RegistryError> {
        self.specs.get(name).ok_or_else(|| RegistryError::Unknown {
            name: name.to_string(),
            known: self.specs.keys().copied().collect::<Vec<_>>().join(", "),
        })
    }

    /// Builds a source.
    pub fn source(&self, settings: &Settings) -> Result<Box<dyn Source>, RegistryError> {
        let spec = self.spec(settings.adapter())?;
        let factory = spec.source.ok_or(RegistryError::WrongRole {
            name: spec.name.to_string(),
            role: "source",
        })?;
        Ok(factory(settings)?)
    }

    /// Builds a target.
    pub fn target(&self, settings: &Settings) -> Result<Box<dyn Target>, RegistryError> {
        let spec = self.spec(settings.adapter())?;
        let factory = spec.target.ok_or(RegistryError::WrongRole {
            name: spec.name.to_string(),
            role: "target",
        })?;
        Ok(factory(settings)?)
    }
}
