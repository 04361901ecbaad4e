use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{AdapterError, Secret};

/// The settings a plan gives one adapter (its `[source]` or `[target]` table, minus the
/// adapter name), with typed accessors whose errors name the setting and the fix.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    adapter: String,
    values: Map<String, Value>,
}

impl Settings {
    /// Settings for `adapter` from a JSON object.
    pub fn new(adapter: impl Into<String>, values: Map<String, Value>) -> Self {
        Settings {
            adapter: adapter.into(),
            values,
        }
    }

    /// The adapter these settings are for.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// The raw values.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Sets a value (tests and the CLI's overrides).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// A required string setting.
    pub fn string(&self, key: &str) -> Result<String, AdapterError> {
        self.optional_string(key)?.ok_or_else(|| {
            AdapterError::config(
                &self.adapter,
                format!("missing setting '{key}'; add `{key} = \"...\"` to the plan's table"),
            )
        })
    }

    /// An optional string setting.
    pub fn optional_string(&self, key: &str) -> Result<Option<String>, AdapterError> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(AdapterError::config(
                &self.adapter,
                format!("setting '{key}' must be a string, found {other}"),
            )),
        }
    }

    /// An optional whole-number setting.
    pub fn optional_u64(&self, key: &str) -> Result<Option<u64>, AdapterError> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(other) => Err(AdapterError::config(
                &self.adapter,
                format!("setting '{key}' must be a whole number, found {other}"),
            )),
        }
    }

    /// An optional true/false setting.
    pub fn optional_bool(&self, key: &str) -> Result<Option<bool>, AdapterError> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(AdapterError::config(
                &self.adapter,
                format!("setting '{key}' must be true or false, found {other}"),
            )),
        }
    }

    /// The request budget per minute, `requests_per_minute` (the plan's `[run]` value is
    /// handed to both sides), if set.
    pub fn requests_per_minute(&self) -> Result<Option<u32>, AdapterError> {
        Ok(self
            .optional_u64("requests_per_minute")?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// A required secret, given in the plan as `env:VAR` or `file:PATH`.
    pub fn secret(&self, key: &str) -> Result<Secret, AdapterError> {
        let reference = self.string(key)?;
        Secret::resolve(key, &reference)
            .map_err(|e| AdapterError::config(&self.adapter, e.to_string()))
    }

    /// An optional secret.
    pub fn optional_secret(&self, key: &str) -> Result<Option<Secret>, AdapterError> {
        match self.optional_string(key)? {
            None => Ok(None),
            Some(reference) => Secret::resolve(key, &reference)
                .map(Some)
                .map_err(|e| AdapterError::config(&self.adapter, e.to_string())),
        }
    }

    /// All settings as an adapter's own config struct.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AdapterError> {
        serde_json::from_value(Value::Object(self.values.clone()))
            .map_err(|e| AdapterError::config(&self.adapter, e.to_string()))
    }
}
