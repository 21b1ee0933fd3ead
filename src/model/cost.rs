//! Cost data: the rows a host records, the aggregate queries a
//! [`CostSource`](crate::ports::CostSource) answers and the buckets it returns.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Currency, DateRange, ReportFilters};
use crate::{Error, Result};

/// One line of cost data: a request, or an already aggregated bucket of
/// requests, with its dimensions.
///
/// Deserializes from JSON such as
/// `{"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search","cost":"12.3456","requests":10}`:
/// every dimension is optional, counts default to 0, `cost` may be a string
/// (exact) or a JSON number. `date` may be left out when `timestamp` is
/// given: it is then the timestamp's UTC date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "CostRowWire")]
pub struct CostRow {
    /// The usage date (the calendar day the cost belongs to).
    pub date: NaiveDate,
    /// The exact instant, when known (needed for hourly trends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Provider (`openai`, `anthropic`, `aws`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model (`gpt-4o`, `claude-3-5-sonnet`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Model family when the source names it (a FOCUS `SkuPriceDetails`
    /// `ModelFamily`); `None`: derived from the model ([`model_family`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_family: Option<String>,
    /// Team the usage is attributed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Cost center (finance's code, e.g. `CC-100`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Product feature that made the calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// End user or API key owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Free-form tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Cost in `currency` (negative for credits).
    pub cost: Decimal,
    /// Currency of `cost`; `None` means the source's default currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Number of requests.
    pub requests: u64,
    /// Input (prompt) tokens, cache reads and writes included.
    pub input_tokens: u64,
    /// Output (completion) tokens.
    pub output_tokens: u64,
    /// Requests answered (fully or partly) from a cache.
    pub cached_requests: u64,
    /// Input tokens read from the prompt cache (a part of `input_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache (a part of `input_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CostRow {
    /// The row's value for a dimension, `None` when it lacks one.
    pub fn dimension(&self, dim: &Dimension) -> Option<&str> {
        match dim {
            Dimension::Provider => self.provider.as_deref(),
            Dimension::Model => self.model.as_deref(),
            Dimension::ModelFamily => self
                .model_family
                .as_deref()
                .or_else(|| self.model.as_deref().map(model_family)),
            Dimension::Team => self.team.as_deref(),
            Dimension::Project => self.project.as_deref(),
            Dimension::CostCenter => self.cost_center.as_deref(),
            Dimension::Feature => self.feature.as_deref(),
            Dimension::User => self.user.as_deref(),
            Dimension::Tag(key) => self.tags.get(key).map(String::as_str),
        }
        .filter(|v| !v.is_empty())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CostRowWire {
    date: Option<NaiveDate>,
    timestamp: Option<DateTime<Utc>>,
    provider: Option<String>,
    model: Option<String>,
    model_family: Option<String>,
    team: Option<String>,
    project: Option<String>,
    cost_center: Option<String>,
    feature: Option<String>,
    user: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    cost: Decimal,
    currency: Option<Currency>,
    #[serde(default)]
    requests: u64,
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cached_requests: u64,
    #[serde(default)]
    cache_read_tokens: u64,
    #[serde(default)]
    cache_write_tokens: u64,
}

impl TryFrom<CostRowWire> for CostRow {
    type Error = String;
    fn try_from(w: CostRowWire) -> std::result::Result<Self, String> {
        let date = match (w.date, w.timestamp) {
            (Some(d), _) => d,
            (None, Some(ts)) => ts.date_naive(),
            (None, None) => return Err("a cost row needs a `date` or a `timestamp`".into()),
        };
        Ok(CostRow {
            date,
            timestamp: w.timestamp,
            provider: w.provider,
            model: w.model,
            model_family: w.model_family,
            team: w.team,
            project: w.project,
            cost_center: w.cost_center,
            feature: w.feature,
            user: w.user,
            tags: w.tags,
            cost: w.cost,
            currency: w.currency,
            requests: w.requests,
            input_tokens: w.input_tokens,
            output_tokens: w.output_tokens,
            cached_requests: w.cached_requests,
            cache_read_tokens: w.cache_read_tokens,
            cache_write_tokens: w.cache_write_tokens,
        })
    }
}

/// The family of a model name: the name without a provider prefix and
/// without a trailing date or version stamp, so `openai/gpt-4o-2024-08-06`
/// and `gpt-4o` both belong to `gpt-4o`, and `claude-3-5-sonnet-20241022` to
/// `claude-3-5-sonnet`.
pub fn model_family(model: &str) -> &str {
    let name = model.rsplit('/').next().unwrap_or(model);
    let mut end = name.len();
    // Strip a trailing -YYYY-MM-DD, -YYYYMMDD, @YYYYMMDD, -MMDD or -latest.
    loop {
        let head = &name[..end];
        let cut = head.rfind(['-', '@']);
        let Some(cut) = cut else { break };
        let tail = &head[cut + 1..];
        let all_digits = !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit());
        let is_stamp = tail == "latest"
            || (all_digits && (tail.len() == 8 || tail.len() == 4 || tail.len() == 6))
            || (all_digits && tail.len() == 2 && looks_like_date_tail(head, cut));
        if is_stamp && cut > 0 {
            end = cut;
        } else {
            break;
        }
    }
    &name[..end]
}

/// `...-2024-08-06`: the `06` and `08` parts are stripped one by one, but only
/// when a four-digit year stands before them.
fn looks_like_date_tail(head: &str, cut: usize) -> bool {
    let before = &head[..cut];
    let parts: Vec<&str> = before.rsplitn(3, '-').collect();
    match parts.as_slice() {
        [p1, p2, ..] if p1.len() == 2 && p2.len() == 4 => {
            p1.bytes().all(|b| b.is_ascii_digit()) && p2.bytes().all(|b| b.is_ascii_digit())
        }
        [p1, ..] => p1.len() == 4 && p1.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// A dimension cost can be grouped or filtered by.
///
/// Serializes as a snake_case string: `provider`, `model`, `model_family`,
/// `team`, `project`, `cost_center`, `feature`, `user`, or `tag:<key>` for a
/// free-form tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// Provider.
    Provider,
    /// Model.
    Model,
    /// Model family (see [`model_family`]).
    ModelFamily,
    /// Team.
    Team,
    /// Project.
    Project,
    /// Cost center.
    CostCenter,
    /// Feature.
    Feature,
    /// User.
    User,
    /// A tag key.
    Tag(String),
}

impl Dimension {
    /// The snake_case name (`cost_center`, `tag:env`).
    pub fn name(&self) -> String {
        match self {
            Dimension::Tag(k) => format!("tag:{k}"),
            other => other.static_name().to_owned(),
        }
    }

    fn static_name(&self) -> &'static str {
        match self {
            Dimension::Provider => "provider",
            Dimension::Model => "model",
            Dimension::ModelFamily => "model_family",
            Dimension::Team => "team",
            Dimension::Project => "project",
            Dimension::CostCenter => "cost_center",
            Dimension::Feature => "feature",
            Dimension::User => "user",
            Dimension::Tag(_) => "tag",
        }
    }

    /// A label for people (`Cost center`, `Tag env`).
    pub fn label(&self) -> String {
        match self {
            Dimension::Provider => "Provider".into(),
            Dimension::Model => "Model".into(),
            Dimension::ModelFamily => "Model family".into(),
            Dimension::Team => "Team".into(),
            Dimension::Project => "Project".into(),
            Dimension::CostCenter => "Cost center".into(),
            Dimension::Feature => "Feature".into(),
            Dimension::User => "User".into(),
            Dimension::Tag(k) => format!("Tag {k}"),
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::Tag(k) => write!(f, "tag:{k}"),
            other => f.write_str(other.static_name()),
        }
    }
}

impl FromStr for Dimension {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "provider" => Dimension::Provider,
            "model" => Dimension::Model,
            "model_family" => Dimension::ModelFamily,
            "team" => Dimension::Team,
            "project" => Dimension::Project,
            "cost_center" => Dimension::CostCenter,
            "feature" => Dimension::Feature,
            "user" => Dimension::User,
            other => match other.strip_prefix("tag:") {
                Some(key) if !key.trim().is_empty() => Dimension::Tag(key.trim().to_owned()),
                _ => {
                    return Err(Error::invalid(
                        "dimension",
                        format!(
                            "unknown dimension {other:?}: expected provider, model, model_family, \
                             team, project, cost_center, feature, user or tag:<key>"
                        ),
                    ))
                }
            },
        })
    }
}

impl Serialize for Dimension {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dimension {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: Error| serde::de::Error::custom(e))
    }
}

/// Time bucket size of a trend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One bucket per hour (rows without a timestamp count at midnight).
    Hour,
    /// One bucket per day.
    #[default]
    Day,
    /// One bucket per ISO week, starting Monday.
    Week,
    /// One bucket per calendar month.
    Month,
}

/// An aggregate query: one organization's cost over a date range, filtered,
/// grouped by dimensions and optionally by time bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostQuery {
    /// Inclusive date range (by the rows' `date`).
    pub range: DateRange,
    /// Filters; an empty list means "any value".
    #[serde(default)]
    pub filters: ReportFilters,
    /// Dimensions to group by, in order. Empty gives one bucket per time
    /// bucket (or one in all).
    #[serde(default)]
    pub group_by: Vec<Dimension>,
    /// Time bucket size; `None` aggregates the whole range.
    #[serde(default)]
    pub granularity: Option<Granularity>,
}

impl CostQuery {
    /// A query for the whole range, no grouping, no filters.
    pub fn total(range: DateRange) -> Self {
        CostQuery {
            range,
            filters: ReportFilters::default(),
            group_by: Vec::new(),
            granularity: None,
        }
    }

    /// The same query grouped by `dims`.
    pub fn group_by(mut self, dims: impl IntoIterator<Item = Dimension>) -> Self {
        self.group_by = dims.into_iter().collect();
        self
    }

    /// The same query bucketed by `granularity`.
    pub fn bucketed(mut self, granularity: Granularity) -> Self {
        self.granularity = Some(granularity);
        self
    }

    /// The same query with `filters`.
    pub fn filtered(mut self, filters: ReportFilters) -> Self {
        self.filters = filters;
        self
    }
}

/// One group of an aggregate answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostBucket {
    /// Start of the time bucket when the query asked for a granularity
    /// (midnight of the day, the Monday, the 1st of the month, or the hour).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_start: Option<NaiveDateTime>,
    /// The value of each `group_by` dimension, in the query's order; `None`
    /// for rows that lack the dimension.
    pub keys: Vec<Option<String>>,
    /// Currency of the bucket: a source never sums different currencies.
    pub currency: Currency,
    /// Sum of cost.
    pub cost: Decimal,
    /// Sum of requests.
    pub requests: u64,
    /// Sum of input tokens.
    pub input_tokens: u64,
    /// Sum of output tokens.
    pub output_tokens: u64,
    /// Sum of cached requests.
    pub cached_requests: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn cost_row_from_the_issue_json() {
        let row: CostRow = serde_json::from_str(
            r#"{"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search",
                "project":"alpha","costCenter":"CC-100","cost":"12.3456","requests":10,
                "inputTokens":1000,"outputTokens":200,"unknownField":true}"#,
        )
        .unwrap();
        assert_eq!(row.cost, dec!(12.3456));
        assert_eq!(row.cost_center.as_deref(), Some("CC-100"));
        assert_eq!(row.cached_requests, 0);
        assert_eq!(row.dimension(&Dimension::Team), Some("search"));
        assert_eq!(row.dimension(&Dimension::Feature), None);
        let back: CostRow = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
        assert_eq!(back, row);
    }

    #[test]
    fn cost_row_number_cost_and_timestamp_only() {
        let row: CostRow = serde_json::from_str(
            r#"{"timestamp":"2026-10-01T23:30:00Z","cost":0.1,"tags":{"env":"prod"}}"#,
        )
        .unwrap();
        assert_eq!(row.date.to_string(), "2026-10-01");
        assert_eq!(row.cost, dec!(0.1));
        assert_eq!(row.dimension(&Dimension::Tag("env".into())), Some("prod"));
        assert!(serde_json::from_str::<CostRow>(r#"{"cost":"1"}"#).is_err());
        assert!(serde_json::from_str::<CostRow>(r#"{"date":"2026-10-01","cost":"x"}"#).is_err());
        assert!(serde_json::from_str::<CostRow>(
            r#"{"date":"2026-10-01","cost":"1","requests":-1}"#
        )
        .is_err());
    }

    #[test]
    fn dimensions_round_trip_as_strings() {
        for s in [
            "provider",
            "model",
            "model_family",
            "team",
            "project",
            "cost_center",
            "feature",
            "user",
            "tag:env",
        ] {
            let d: Dimension = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(
            "region".parse::<Dimension>().unwrap_err().field(),
            Some("dimension")
        );
        assert!("tag:".parse::<Dimension>().is_err());
    }

    #[test]
    fn model_families() {
        assert_eq!(model_family("openai/gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(model_family("gpt-4o"), "gpt-4o");
        assert_eq!(model_family("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(
            model_family("claude-3-5-sonnet-20241022"),
            "claude-3-5-sonnet"
        );
        assert_eq!(
            model_family("claude-3-5-sonnet-latest"),
            "claude-3-5-sonnet"
        );
        assert_eq!(model_family("gpt-4-0613"), "gpt-4");
        assert_eq!(model_family("gemini-1.5-pro-002"), "gemini-1.5-pro-002");
        assert_eq!(model_family("o1"), "o1");
        assert_eq!(model_family(""), "");
        assert_eq!(model_family("-2024"), "-2024");
    }
}
