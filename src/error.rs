//! The crate's one error type.
//!
//! Every fallible function in the crate returns [`Result<T>`](Result), whose
//! error is [`Error`]. Variants are the decisions a caller makes: show a
//! validation message ([`Error::Invalid`]), answer 404 ([`Error::NotFound`]),
//! 409 ([`Error::Conflict`]), 403 ([`Error::PermissionDenied`]), or retry
//! later ([`Error::is_retryable`]). Errors of the libraries behind the
//! backends (sqlx, lettre, reqwest, typst) never appear in a variant's type:
//! they are boxed inside [`Error::Backend`] or [`Error::Render`].

use std::fmt;

/// `Result` with the crate's [`Error`] as its default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from a library behind a backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `tokentra-reports`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input failed validation. `field` is the JSON path of the offending
    /// value as the specification's JSON names it, e.g.
    /// `scheduleConfig.timezone`, `recipients[2].address` or
    /// `allocationRules[0].percentage`.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// JSON path of the offending value.
        field: String,
        /// What is wrong with it, in plain words.
        reason: String,
    },

    /// The entity does not exist, or belongs to another organization (the two
    /// are deliberately indistinguishable).
    #[error("{entity} {id} not found")]
    NotFound {
        /// Kind of entity, e.g. `report template`.
        entity: &'static str,
        /// Its id as given by the caller.
        id: String,
    },

    /// The operation would break a uniqueness rule (a second chargeback
    /// record for the same period, a second report for one schedule slot...).
    #[error("conflict: {0}")]
    Conflict(String),

    /// The caller may not do this (approve without being an approver, change a
    /// system template...).
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    /// The operation is not allowed in the entity's current state (approving a
    /// record that is already final...).
    #[error("invalid state: {0}")]
    InvalidState(String),

    /// Input data could not be parsed (JSON, CSV, FOCUS...). `location` says
    /// where: a file, line and column, or a JSON path.
    #[error("cannot parse {location}: {reason}")]
    Parse {
        /// Where the bad input is.
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A format or capability that this build of the crate lacks (the cargo
    /// feature that provides it is off).
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// Rendering a report failed (template error, chart data...).
    #[error("rendering {format} failed: {message}")]
    Render {
        /// The output format being rendered.
        format: &'static str,
        /// The renderer's diagnostic, with its line where there is one.
        message: String,
    },

    /// A backend (database, SMTP server, HTTP endpoint, file) failed.
    #[error("{backend} backend error: {source}")]
    Backend {
        /// Which backend: `postgres`, `sqlite`, `smtp`, `slack`, `webhook`, `file`...
        backend: &'static str,
        /// Whether trying the same call again later may succeed.
        retryable: bool,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A validation error for `field` (a JSON path).
    pub fn invalid(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// A not-found error for an entity kind and id.
    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// A backend error.
    pub fn backend(backend: &'static str, retryable: bool, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            backend,
            retryable,
            source: source.into(),
        }
    }

    /// Whether the same call may succeed if tried again later (a lost
    /// connection, a timeout, HTTP 429 or 5xx). Validation, permission,
    /// conflict and not-found errors are never retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Backend {
                retryable: true,
                ..
            }
        )
    }

    /// The field a validation error names, if this is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Prefix the field path of a validation error with `prefix`, so a
    /// nested validator's `timezone` becomes `scheduleConfig.timezone`.
    /// Other errors pass through unchanged.
    pub fn in_field(self, prefix: &str) -> Self {
        match self {
            Error::Invalid { field, reason } => {
                let field = if field.is_empty() {
                    prefix.to_owned()
                } else if field.starts_with('[') {
                    format!("{prefix}{field}")
                } else {
                    format!("{prefix}.{field}")
                };
                Error::Invalid { field, reason }
            }
            other => other,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Parse {
            location: format!("JSON line {} column {}", e.line(), e.column()),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_only_for_retryable_backend_errors() {
        assert!(Error::backend("postgres", true, "connection reset").is_retryable());
        assert!(!Error::backend("postgres", false, "syntax error").is_retryable());
        assert!(!Error::invalid("name", "empty").is_retryable());
        assert!(!Error::Conflict("x".into()).is_retryable());
    }

    #[test]
    fn in_field_prefixes_paths() {
        let e = Error::invalid("timezone", "unknown").in_field("scheduleConfig");
        assert_eq!(e.field(), Some("scheduleConfig.timezone"));
        let e = Error::invalid("[2].address", "bad").in_field("recipients");
        assert_eq!(e.field(), Some("recipients[2].address"));
        assert_eq!(
            e.to_string(),
            "invalid recipients[2].address: bad".to_string()
        );
    }
}
