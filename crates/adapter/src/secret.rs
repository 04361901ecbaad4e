use std::fmt;

/// A credential. Its `Debug` and `Display` never show the value, so it cannot leak into
/// logs or reports by accident; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Why a secret reference could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// The plan holds a literal where a reference belongs.
    #[error(
        "setting '{setting}' holds a literal secret; write it as env:VARIABLE or file:PATH so it never sits in a plan, argv or a log"
    )]
    Literal {
        /// The setting's name.
        setting: String,
    },
    /// The environment variable is not set.
    #[error(
        "setting '{setting}' refers to environment variable {variable}, which is not set; export it before running"
    )]
    MissingVariable {
        /// The setting's name.
        setting: String,
        /// The variable.
        variable: String,
    },
    /// The file cannot be read.
    #[error("setting '{setting}' refers to file {path}, which cannot be read: {reason}")]
    UnreadableFile {
        /// The setting's name.
        setting: String,
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

impl Secret {
    /// Wraps a value already obtained safely (tests, emulators).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Resolves `env:VARIABLE` or `file:PATH` (trailing newline trimmed) for `setting`.
    pub fn resolve(setting: &str, reference: &str) -> Result<Secret, SecretError> {
        if let Some(variable) = reference.strip_prefix("env:") {
            return std::env::var(variable)
                .map(Secret)
                .map_err(|_| SecretError::MissingVariable {
                    setting: setting.into(),
                    variable: variable.into(),
                });
        }
        if let Some(path) = reference.strip_prefix("file:") {
            return std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|e| SecretError::UnreadableFile {
                    setting: setting.into(),
                    path: path.into(),
                    reason: e.to_string(),
                });
        }
        Err(SecretError::Literal {
            setting: setting.into(),
        })
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_secrets_are_refused_and_values_never_print() {
        let err = Secret::resolve("token", "hunter2")
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("env:VARIABLE"));
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
    }

    #[test]
    fn file_references_resolve_without_trailing_newline() {
        let path = std::env::temp_dir().join(format!("switchover-secret-{}", std::process::id()));
        let written = std::fs::write(&path, "s3cret\n");
        assert!(written.is_ok());
        let resolved = Secret::resolve("token", &format!("file:{}", path.display()));
        assert_eq!(resolved.ok().as_ref().map(Secret::expose), Some("s3cret"));
        let _ = std::fs::remove_file(path);
    }
}
