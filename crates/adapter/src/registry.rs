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

/// Settings every adapter takes: the plan's `[run] requests_per_minute` is handed to
/// both sides.
const COMMON_SETTINGS: &[&str] = &["requests_per_minute"];

impl AdapterSpec {
    /// The setting names the adapter declares: the first word of each line of
    /// `settings_help`.
    pub fn setting_names(&self) -> Vec<&'static str> {
        self.settings_help
            .iter()
            .filter_map(|line| line.split([' ', '=']).find(|w| !w.is_empty()))
            .chain(COMMON_SETTINGS.iter().copied())
            .collect()
    }

    /// A settings error naming every setting the plan gives that the adapter does not
    /// declare (a typo would otherwise be ignored), with the nearest declared name.
    pub fn check_settings(&self, settings: &Settings) -> Result<(), AdapterError> {
        let known = self.setting_names();
        let unknown: Vec<String> = settings
            .values()
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .map(|key| match nearest(key, &known) {
                Some(near) => format!("'{key}' (did you mean '{near}'?)"),
                None => format!("'{key}'"),
            })
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(AdapterError::config(
            self.name,
            format!(
                "unknown setting{} {}; {} takes: {}",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", "),
                self.name,
                known.join(", ")
            ),
        ))
    }
}

/// The declared name closest to `key` by edit distance, if close enough to be a typo.
fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
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

    /// Builds a source, wrapped in the capability check layer.
    pub fn source(&self, settings: &Settings) -> Result<Box<dyn Source>, RegistryError> {
        let spec = self.spec(settings.adapter())?;
        spec.check_settings(settings)?;
        let factory = spec.source.ok_or(RegistryError::WrongRole {
            name: spec.name.to_string(),
            role: "source",
        })?;
        Ok(Box::new(crate::checked::CheckedSource::new(factory(
            settings,
        )?)))
    }

    /// Builds a target, wrapped in the capability check layer.
    pub fn target(&self, settings: &Settings) -> Result<Box<dyn Target>, RegistryError> {
        let spec = self.spec(settings.adapter())?;
        spec.check_settings(settings)?;
        let factory = spec.target.ok_or(RegistryError::WrongRole {
            name: spec.name.to_string(),
            role: "target",
        })?;
        Ok(Box::new(crate::checked::CheckedTarget::new(factory(
            settings,
        )?)))
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    fn spec() -> AdapterSpec {
        AdapterSpec {
            name: "demo",
            summary: "a demo",
            settings_help: &[
                "url = \"https://x\"   the account",
                "include_deleted = false   as a source: also deleted tickets",
            ],
            capabilities: || Capabilities::new("demo"),
            source: None,
            target: None,
        }
    }

    #[test]
    fn a_typo_in_a_setting_is_an_error_that_names_the_setting_meant() {
        let settings = Settings::new("demo", Default::default())
            .with("ulr", "https://x")
            .with("include_deletd", true)
            .with("requests_per_minite", 10);
        let error = spec().check_settings(&settings).expect_err("typos");
        let text = error.to_string();
        assert!(text.contains("'ulr' (did you mean 'url'?)"), "{text}");
        assert!(
            text.contains("'include_deletd' (did you mean 'include_deleted'?)"),
            "{text}"
        );
        assert!(
            text.contains("'requests_per_minite' (did you mean 'requests_per_minute'?)"),
            "{text}"
        );
        assert_eq!(error.kind(), crate::ErrorKind::Config);
        let good = Settings::new("demo", Default::default())
            .with("url", "https://x")
            .with("requests_per_minute", 10);
        assert!(spec().check_settings(&good).is_ok());
    }
}
