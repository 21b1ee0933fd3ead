//! Small helpers shared by the `validate()` methods of the model.

use crate::{Error, Result};

/// Collects the first validation failure of a value, so `validate()` reads
/// as a list of checks and reports the first one that failed with its field.
#[derive(Debug, Default)]
pub(crate) struct Validator {
    first: Option<Error>,
}

impl Validator {
    /// Record a failure on `field` unless one is already recorded.
    pub(crate) fn fail(&mut self, field: impl Into<String>, reason: impl std::fmt::Display) {
        if self.first.is_none() {
            self.first = Some(Error::invalid(field, reason));
        }
    }

    /// Record the error of a check, if any.
    pub(crate) fn check(&mut self, r: Result<()>) {
        if let Err(e) = r {
            if self.first.is_none() {
                self.first = Some(e);
            }
        }
    }

    /// Record the error of a nested value's check, its field prefixed with `prefix`.
    pub(crate) fn check_in(&mut self, prefix: &str, r: Result<()>) {
        self.check(r.map_err(|e| e.in_field(prefix)));
    }

    /// `Ok` when every check passed, else the first failure.
    pub(crate) fn finish(self) -> Result<()> {
        match self.first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Most recipients one report, schedule or distribution list may have.
pub const MAX_RECIPIENTS: usize = 100;
/// Most breakdowns a template may list.
pub const MAX_BREAKDOWNS: usize = 10;
/// Most allocation rules a chargeback configuration may have.
pub const MAX_ALLOCATION_RULES: usize = 1_000;
/// Most targets one split rule may have.
pub const MAX_SPLIT_TARGETS: usize = 100;
/// Most approvers a chargeback configuration may name.
pub const MAX_APPROVERS: usize = 100;
/// Most values one filter list may hold.
pub const MAX_FILTER_VALUES: usize = 1_000;
/// Longest filter value, in characters.
pub const MAX_FILTER_VALUE_CHARS: usize = 255;

/// `Invalid` on `field` when a list is longer than `max`.
pub(crate) fn at_most(field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::invalid(
            field,
            format!("{len} entries; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// Filter values: at most [`MAX_FILTER_VALUES`] of at most
/// [`MAX_FILTER_VALUE_CHARS`] characters each.
pub(crate) fn filter_values(field: &str, values: &[String]) -> Result<()> {
    at_most(field, values.len(), MAX_FILTER_VALUES)?;
    for (i, v) in values.iter().enumerate() {
        if v.chars().count() > MAX_FILTER_VALUE_CHARS {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                format!("at most {MAX_FILTER_VALUE_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

/// A name must have visible characters and at most 255 of them.
pub(crate) fn non_empty_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if name.chars().count() > 255 {
        return Err(Error::invalid(field, "must be at most 255 characters"));
    }
    Ok(())
}

/// An e-mail address as RFC 5322 `addr-spec` (`name@example.com`).
pub(crate) fn email(field: &str, address: &str) -> Result<()> {
    if address.trim() != address || !email_address::EmailAddress::is_valid(address) {
        return Err(Error::invalid(
            field,
            format!("{address:?} is not an e-mail address"),
        ));
    }
    Ok(())
}

/// An absolute `http` or `https` URL with a host.
pub(crate) fn http_url(field: &str, value: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(value)
        .map_err(|e| Error::invalid(field, format!("{value:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid(
            field,
            format!(
                "scheme {:?} is not allowed: use http or https",
                parsed.scheme()
            ),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, "the URL has no host"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("e", "ana@example.com").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            " ana@example.com",
            "a b@example.com",
        ] {
            assert_eq!(email("e", bad).unwrap_err().field(), Some("e"), "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        assert!(http_url("u", "https://hooks.example.com/x").is_ok());
        assert!(http_url("u", "http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "ftp://x.org",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "nope",
            "",
        ] {
            assert_eq!(
                http_url("u", bad).unwrap_err().field(),
                Some("u"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names() {
        assert!(non_empty_name("name", "Weekly").is_ok());
        assert!(non_empty_name("name", "  ").is_err());
        assert!(non_empty_name("name", &"x".repeat(256)).is_err());
    }

    #[test]
    fn validator_keeps_the_first_failure() {
        let mut v = Validator::default();
        v.fail("a", "first");
        v.fail("b", "second");
        assert_eq!(v.finish().unwrap_err().field(), Some("a"));
    }
}
