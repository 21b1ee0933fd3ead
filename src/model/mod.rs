//! Plain data: the entities of the specification with serde in its JSON
//! shape (camelCase fields, snake_case enum strings), money as
//! [`Decimal`](rust_decimal::Decimal), ids as typed UUIDs.
//!
//! # The JSON shape
//!
//! Every type reads the JSON of the specification's TypeScript types
//! (section 3) and its `SYSTEM_TEMPLATES` (section 4) exactly, and writes
//! it back with the specification's keys and enum strings, so a host's
//! stored JSONB, API clients and webhook consumers need no translation:
//!
//! - Keys are the specification's: `orgId`, `type` (templates, reports,
//!   requests), `configId`, `dateRangeStart`/`dateRangeEnd` on generated
//!   reports, `generatedBy`, `filePath`, `downloadUrl`; metrics are its
//!   camelCase names (`totalCost`, `requestCount`, `cacheHitRate`).
//! - Recipients are `{type, address?, channel?, url?, userId?}`: an e-mail
//!   has `address`, Slack `channel` (or `url` for an incoming webhook), a
//!   webhook `url`, a user `userId`. A delivery status is
//!   `{channel, recipient, status, sentAt?, error?}`.
//! - What this crate adds is extra keys (`format` and `consecutiveFailures`
//!   on schedules, `expiresAt`, `checksum`, `recipients` on reports,
//!   `currency` on chargeback records, `breakdownLimit` in template
//!   configs...), never renames. The names this crate wrote before
//!   (`organizationId`, `reportType`, `dateRange`, `createdBy`,
//!   `configurationId`, snake_case metrics, `address` for every recipient)
//!   are read as aliases.
//! - A field the specification lacks is optional with a default (a missing
//!   `createdAt` reads as the epoch; the engine stamps new records); optional
//!   values are left out when absent rather than written `null`.
//! - Money is a JSON number carrying the exact decimal text
//!   (`"totalCost": 13690.41`, `"weight": 2`), read from a number or a string
//!   and never through `f64` (serde_json's `arbitrary_precision`).
//! - Timestamps are RFC 3339 in UTC (`2026-10-01T09:00:00Z`; JavaScript's
//!   `2026-10-01T09:00:00.000Z` reads too); dates are `YYYY-MM-DD`; a time
//!   of day is `HH:MM` (`HH:MM:00` reads too).
//!
//! Reading JSON: unknown fields are ignored, wrong types are errors.
//! [`from_json`] reports the JSON path of a bad value
//! (`scheduleConfig.timezone`), and [`Validate`] checks the rules serde
//! cannot (ranges, e-mail addresses, URL schemes, rule uniqueness).

mod chargeback;
mod cost;
mod digest;
mod document;
mod focus;
mod ids;
mod money;
mod pricing;
mod report;
mod schedule;
mod template;
mod time;
pub(crate) mod validate;

pub use validate::{
    MAX_ALLOCATION_RULES, MAX_APPROVERS, MAX_BREAKDOWNS, MAX_FILTER_VALUES, MAX_FILTER_VALUE_CHARS,
    MAX_RECIPIENTS, MAX_SPLIT_TARGETS,
};

pub use chargeback::*;
pub use cost::*;
pub use digest::*;
pub use document::*;
pub use focus::{FocusColumn, FocusDataType, FocusFeatureLevel, FocusRecord, FocusVersion};
pub use ids::*;
pub use money::*;
pub use pricing::*;
pub use report::*;
pub use schedule::*;
pub use template::*;
pub use time::*;

use serde::de::DeserializeOwned;
use serde::Deserialize as _;

use crate::{Error, Result};

pub(crate) fn yes() -> bool {
    true
}

/// serde helper: `null` (as nullable SQL columns come back through the
/// specification's services) reads as the type's default, like a missing key.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// serde helper: an empty or blank string reads as `None` (the
/// specification's `name || default`).
pub(crate) fn blank_as_none<'de, D>(d: D) -> std::result::Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

/// serde default of timestamps the specification's JSON lacks
/// (`createdAt` of a chargeback configuration, ...): 1970-01-01T00:00:00Z.
/// The engine's create methods stamp new records from the `Clock`.
pub(crate) fn epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::UNIX_EPOCH
}

/// serde helper: an unsigned count read through `deserialize_any`, so it also
/// reads inside `#[serde(flatten)]` where serde_json's `arbitrary_precision`
/// hands numbers over as `{"$serde_json::private::Number": "12"}`.
pub(crate) mod any_u64 {
    use serde::de::{self, Deserializer, MapAccess, Visitor};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                v.parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
                let _key: Option<String> = map.next_key()?;
                let text: String = map.next_value()?;
                self.visit_str(&text)
            }
        }
        d.deserialize_any(V)
    }
}

/// Entities that check their own rules beyond what their types enforce.
pub trait Validate {
    /// `Ok` when valid, else [`Error::Invalid`] naming the JSON path of the
    /// first offending value.
    fn validate(&self) -> Result<()>;
}

macro_rules! impl_validate {
    ($($t:ty),*) => {$(
        impl Validate for $t {
            fn validate(&self) -> Result<()> {
                <$t>::validate(self)
            }
        }
    )*};
}
impl_validate!(
    ReportTemplate,
    ScheduledReport,
    EmailDigestPreferences,
    ChargebackConfiguration,
    GenerateReportRequest
);

/// Read a value from JSON text, reporting a type error or an unknown enum
/// string as [`Error::Invalid`] with the JSON path of the offending value
/// (`scheduleConfig.timezone`, `recipients[2].type`), and syntax errors as
/// [`Error::Parse`].
///
/// `T` may borrow from `json` (a page read with `&RawValue` amounts).
pub fn from_json<'de, T: serde::Deserialize<'de>>(json: &'de str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            Error::Parse {
                location: format!("JSON line {} column {}", inner.line(), inner.column()),
                reason: inner.to_string(),
            }
        } else {
            let field = if path == "." { String::new() } else { path };
            Error::Invalid {
                field,
                reason: strip_position(&inner.to_string()),
            }
        }
    })
}

/// Read and validate: [`from_json`] then [`Validate::validate`].
pub fn from_json_validated<T: DeserializeOwned + Validate>(json: &str) -> Result<T> {
    let value: T = from_json(json)?;
    value.validate()?;
    Ok(value)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// serde helper: bytes as standard base64 text.
pub(crate) mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: &str = r#"{
        "id": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11",
        "organizationId": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12",
        "reportType": "executive",
        "name": "Weekly exec",
        "frequency": "weekly",
        "scheduleConfig": {"time": "08:00", "timezone": "Europe/Paris", "dayOfWeek": 1},
        "recipients": [{"type": "email", "address": "cfo@example.com"}],
        "format": "pdf",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "someFutureField": {"x": 1}
    }"#;

    #[test]
    fn reads_the_spec_shape_and_ignores_unknown_fields() {
        let s: ScheduledReport = from_json_validated(SCHEDULE).unwrap();
        assert_eq!(s.frequency, Frequency::Weekly);
        assert_eq!(s.schedule_config.timezone.name(), "Europe/Paris");
        assert!(s.is_active);
        assert_eq!(s.run_count, 0);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["scheduleConfig"]["dayOfWeek"], 1);
        assert_eq!(v["type"], "executive");
        assert_eq!(v["orgId"], "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12");
    }

    #[test]
    fn type_errors_name_the_json_path() {
        let bad_tz = SCHEDULE.replace("Europe/Paris", "Europe/Atlantis");
        let e = from_json::<ScheduledReport>(&bad_tz).unwrap_err();
        assert_eq!(e.field(), Some("scheduleConfig.timezone"), "{e}");
        let bad_time = SCHEDULE.replace("08:00", "25:00");
        assert_eq!(
            from_json::<ScheduledReport>(&bad_time).unwrap_err().field(),
            Some("scheduleConfig.time")
        );
        let bad_type = SCHEDULE.replace(r#""type": "email""#, r#""type": "pigeon""#);
        assert_eq!(
            from_json::<ScheduledReport>(&bad_type).unwrap_err().field(),
            Some("recipients[0].type")
        );
        let bad_dow = SCHEDULE.replace(r#""dayOfWeek": 1"#, r#""dayOfWeek": 9"#);
        assert_eq!(
            from_json_validated::<ScheduledReport>(&bad_dow)
                .unwrap_err()
                .field(),
            Some("scheduleConfig.dayOfWeek")
        );
        let bad_mail = SCHEDULE.replace("cfo@example.com", "cfo");
        assert_eq!(
            from_json_validated::<ScheduledReport>(&bad_mail)
                .unwrap_err()
                .field(),
            Some("recipients[0].address")
        );
        let empty_name = SCHEDULE.replace("Weekly exec", " ");
        assert_eq!(
            from_json_validated::<ScheduledReport>(&empty_name)
                .unwrap_err()
                .field(),
            Some("name")
        );
        assert!(matches!(
            from_json::<ScheduledReport>("{"),
            Err(Error::Parse { .. })
        ));
    }

    #[test]
    fn template_comparison_accepts_several_spellings() {
        let base = |cmp: &str| {
            format!(
                r#"{{"id":"6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11","name":"T","reportType":"team",
                    "config":{{"sections":["summary","breakdown"],"comparison":{cmp}}},
                    "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}}"#
            )
        };
        let t: ReportTemplate = from_json_validated(&base("false")).unwrap();
        assert_eq!(t.config.comparison, None);
        let t: ReportTemplate = from_json_validated(&base("\"same_period_last_year\"")).unwrap();
        assert_eq!(
            t.config.comparison.unwrap().period,
            ComparisonPeriod::SamePeriodLastYear
        );
        let t: ReportTemplate = from_json_validated(&base(
            r#"{"enabled":true,"period":"same_period_last_month"}"#,
        ))
        .unwrap();
        assert_eq!(
            t.config.comparison.unwrap().period,
            ComparisonPeriod::SamePeriodLastMonth
        );
        let t: ReportTemplate = from_json_validated(&base(r#"{"enabled":false}"#)).unwrap();
        assert_eq!(t.config.comparison, None);
        assert_eq!(t.config.granularity, Granularity::Day);
        let e = from_json_validated::<ReportTemplate>(
            &base("null")
                .replace("\"summary\",", "")
                .replace("\"breakdown\"", ""),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("config.sections"));
    }
}
