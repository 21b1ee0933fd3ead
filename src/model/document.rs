//! The report document: everything the engine gathered for one report, in
//! one value that every renderer (PDF, HTML, CSV, JSON, XLSX) reads, so the
//! numbers are identical in every format. The analytics core produces its
//! parts.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    Allocation, ChartType, CostBucket, Currency, DateRange, Dimension, Granularity, Metric,
    ReportBranding, ReportFilters, ReportSection, ReportSummaryData, ReportType,
};

/// Version of the report document's JSON schema. Bumped on any change that
/// is not a pure addition of optional fields.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Direction of a change against the comparison period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Up by more than 1%.
    Up,
    /// Down by more than 1%.
    Down,
    /// Within ±1%.
    Stable,
}

/// The period compared with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The comparison range.
    pub range: DateRange,
    /// Its cost.
    pub previous_cost: Decimal,
    /// `current - previous`.
    pub absolute_change: Decimal,
    /// Change in percent; `None` when the previous period cost nothing.
    pub percent_change: Option<Decimal>,
    /// Direction.
    pub trend: Trend,
}

/// Totals of a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostSummary {
    /// Total cost.
    pub total_cost: Decimal,
    /// Requests.
    pub total_requests: u64,
    /// Input plus output tokens.
    pub total_tokens: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cached requests.
    pub cached_requests: u64,
    /// Cached requests over requests, percent (0 when there were no requests).
    pub cache_hit_rate: Decimal,
    /// Cost over requests (0 when there were no requests).
    pub avg_cost_per_request: Decimal,
    /// Against the comparison period, when the template asks for one.
    #[serde(default)]
    pub comparison: Option<Comparison>,
}

/// One line of a breakdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownItem {
    /// The dimension value (`None` for rows without it, and for "Other").
    pub value: Option<String>,
    /// Display label (`Unassigned`, `Other (12 more)`...).
    pub label: String,
    /// Cost.
    pub cost: Decimal,
    /// Requests.
    pub requests: u64,
    /// Input plus output tokens.
    pub tokens: u64,
    /// Share of the total in percent, one decimal; shares add up to 100.0.
    pub share: Decimal,
    /// Change against the comparison period in percent (`None` when new or
    /// no comparison).
    #[serde(default)]
    pub change: Option<Decimal>,
    /// Whether this item folds the rows beyond the limit.
    #[serde(default)]
    pub is_other: bool,
}

/// Cost by one dimension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    /// The dimension.
    pub dimension: Dimension,
    /// Items by cost descending (ties by name), "Other" last.
    pub items: Vec<BreakdownItem>,
    /// Sum of the items (equals the summary's total).
    pub total: Decimal,
}

/// One point of a trend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    /// Start of the bucket.
    pub period_start: NaiveDateTime,
    /// Cost (0 for a bucket without usage).
    pub cost: Decimal,
    /// Requests.
    pub requests: u64,
    /// Tokens.
    pub tokens: u64,
}

/// Cost over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostTrend {
    /// Bucket size.
    pub granularity: Granularity,
    /// Zero-filled points, in order.
    pub points: Vec<TrendPoint>,
}

/// How far off an anomaly is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// A day whose cost for one dimension value left its baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anomaly {
    /// The day.
    pub date: NaiveDate,
    /// Dimension examined.
    pub dimension: Dimension,
    /// Its value.
    pub value: String,
    /// Baseline (expected) cost.
    pub expected_cost: Decimal,
    /// Actual cost.
    pub actual_cost: Decimal,
    /// Deviation in standard deviations of the baseline.
    pub deviation: Decimal,
    /// Severity.
    pub severity: Severity,
}

/// Projection of cost to the end of a period: the rest of the reported
/// period's month, or, when the reported period is a whole month that is
/// over, the next month (then `periodStart` is its first day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    /// Method used (`linear_least_squares`, `holt_linear`).
    pub method: String,
    /// First day of the period forecast when it is not the reported
    /// period's first day: the next month (after a month that is over; its
    /// `actualToDate` is 0), or the month of the reported period's last day
    /// (a week across a month's end). The amounts count from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<NaiveDate>,
    /// Last day projected.
    pub period_end: NaiveDate,
    /// Cost observed so far.
    pub actual_to_date: Decimal,
    /// Projected total at `periodEnd`.
    pub projected_total: Decimal,
    /// Lower bound of the 80% interval.
    pub lower_bound: Decimal,
    /// Upper bound of the 80% interval.
    pub upper_bound: Decimal,
    /// Projected daily costs after the last observed day.
    pub points: Vec<ForecastPoint>,
}

/// One projected day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastPoint {
    /// The day.
    pub date: NaiveDate,
    /// Projected cost.
    pub cost: Decimal,
}

/// A data-driven recommendation with the number that triggered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// Stable identifier of the rule (`cost_increase`, `low_cache_hit_rate`...).
    pub kind: String,
    /// Short title.
    pub title: String,
    /// Plain-text explanation.
    pub message: String,
    /// The observed value that triggered it.
    pub metric: Decimal,
    /// The threshold it crossed.
    pub threshold: Decimal,
    /// Estimated savings, when one can be computed.
    #[serde(default)]
    pub potential_savings: Option<Decimal>,
}

/// One of the most expensive combinations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopCost {
    /// Dimension values, e.g. `[("team","search"),("model","gpt-4o")]`.
    pub keys: Vec<(Dimension, Option<String>)>,
    /// Cost.
    pub cost: Decimal,
    /// Requests.
    pub requests: u64,
    /// Share of the total in percent.
    pub share: Decimal,
}

/// Efficiency figures per model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfficiencyRow {
    /// Model.
    pub model: String,
    /// Cost per request.
    pub cost_per_request: Decimal,
    /// Cost per 1,000 tokens.
    pub cost_per_1k_tokens: Decimal,
    /// Tokens per request.
    pub tokens_per_request: Decimal,
    /// Cache hit rate in percent.
    pub cache_hit_rate: Decimal,
}

/// Everything one report shows. Renderers draw only `sections`, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDocument {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Title (the report's name).
    pub title: String,
    /// Kind.
    pub report_type: ReportType,
    /// Organization name for the banner.
    #[serde(default)]
    pub organization_name: Option<String>,
    /// When it was generated (from the `Clock`).
    pub generated_at: DateTime<Utc>,
    /// Period.
    pub date_range: DateRange,
    /// Comparison period.
    #[serde(default)]
    pub comparison_range: Option<DateRange>,
    /// Filters applied.
    #[serde(default)]
    pub filters: ReportFilters,
    /// Currency of every amount.
    pub currency: Currency,
    /// Look.
    #[serde(default)]
    pub branding: ReportBranding,
    /// Sections to render, in order.
    pub sections: Vec<ReportSection>,
    /// Summary metrics, in order (the template's `metrics`); empty shows
    /// the default set.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Whether to draw charts.
    #[serde(default)]
    pub include_charts: bool,
    /// Which charts.
    #[serde(default)]
    pub chart_types: Vec<ChartType>,
    /// Headline figures.
    pub summary_data: ReportSummaryData,
    /// Totals.
    #[serde(default)]
    pub summary: Option<CostSummary>,
    /// Cost over time.
    #[serde(default)]
    pub trend: Option<CostTrend>,
    /// Breakdowns, in the template's order.
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
    /// Anomalies.
    #[serde(default)]
    pub anomalies: Vec<Anomaly>,
    /// Forecast.
    #[serde(default)]
    pub forecast: Option<Forecast>,
    /// Recommendations.
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    /// Most expensive combinations.
    #[serde(default)]
    pub top_costs: Vec<TopCost>,
    /// Efficiency per model.
    #[serde(default)]
    pub efficiency: Vec<EfficiencyRow>,
    /// Chargeback allocation (chargeback reports).
    #[serde(default)]
    pub chargeback: Option<Allocation>,
    /// The aggregate buckets behind the report (flat CSV/FOCUS export).
    #[serde(default)]
    pub detail: Vec<CostBucket>,
    /// Dimensions of each detail bucket's `keys`.
    #[serde(default)]
    pub detail_dimensions: Vec<Dimension>,
    /// The last day whose data was complete when the report was made, when
    /// that is before the end of its period (the cost source's watermark):
    /// later days are not judged (no anomalies, no comparison, the forecast
    /// fitted on complete days only) and the report says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_complete_through: Option<NaiveDate>,
}
