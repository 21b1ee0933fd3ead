//! The report document: everything the engine gathered for one report, in
//! one value that every renderer (PDF, HTML, CSV, JSON, XLSX) reads, so the
//! numbers are identical in every format. The analytics core produces its
//! parts.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{
    Allocation, AllocationBasis, AllocationRule, ChargebackStatus, ChartType, CostBucket, Currency,
    DateRange, Dimension, Granularity, Metric, ReportBranding, ReportFilters, ReportSection,
    ReportSummaryData, ReportType, UserId,
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
    /// The value's daily cost over the baseline window and the day itself,
    /// oldest first (for the baseline chart); empty in documents made
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<AnomalyDay>,
    /// What moved: the change against the baseline split into volume,
    /// model mix, cache rate and price (`None` when the data has no request
    /// counts to split by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<AnomalyExplanation>,
}

/// One day of an anomaly's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyDay {
    /// The day.
    pub date: NaiveDate,
    /// The value's cost that day.
    pub cost: Decimal,
    /// Whether the day is part of the baseline (days before the value's
    /// first usage and earlier anomalies are not).
    pub in_baseline: bool,
}

/// The change of an anomaly's cost against its baseline (the mean of the
/// baseline days), split into four effects that add up to
/// `actualCost - expectedCost` exactly (see
/// [`explain_anomaly`](crate::core::insight::anomaly::explain_anomaly)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyExplanation {
    /// More or fewer requests at the baseline's cost per request.
    pub volume: Decimal,
    /// Requests moving between models of different cost per request.
    pub model_mix: Decimal,
    /// A higher or lower share of requests served from the cache.
    pub cache_rate: Decimal,
    /// Cost per uncached request of each model (prices, prompt and answer
    /// lengths), and what the other effects leave.
    pub price: Decimal,
    /// Requests on the day.
    pub requests: u64,
    /// Mean requests per baseline day.
    pub expected_requests: Decimal,
    /// Cache hit rate on the day, percent.
    pub cache_hit_rate: Decimal,
    /// Cache hit rate of the baseline days, percent.
    pub expected_cache_hit_rate: Decimal,
    /// The model whose cost moved most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_model: Option<ModelChange>,
}

/// A model's change of cost against the baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelChange {
    /// The model.
    pub model: String,
    /// Its cost on the day less its baseline cost.
    pub change: Decimal,
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
    /// Further periods projected with the same fit: the next calendar month
    /// and the next calendar quarter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outlook: Vec<ForecastHorizon>,
    /// The days the line was fitted on, when the engine knows them (a
    /// period shorter than 14 days is fitted on the last 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted_on: Option<DateRange>,
    /// The method's error on past data (`None` when the history is too
    /// short to measure it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest: Option<ForecastBacktest>,
}

/// The projection of one future period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastHorizon {
    /// `next_month` or `next_quarter`.
    pub horizon: String,
    /// First day.
    pub period_start: NaiveDate,
    /// Last day.
    pub period_end: NaiveDate,
    /// Projected cost of the period.
    pub projected_total: Decimal,
    /// Lower bound of the 80% interval.
    pub lower_bound: Decimal,
    /// Upper bound of the 80% interval.
    pub upper_bound: Decimal,
}

/// How the forecast did on past data: the method refitted at earlier
/// origins, each fold fitted on as many days as the forecast and projecting
/// as many days ahead, compared with what was then spent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastBacktest {
    /// Folds measured (origins a week apart).
    pub folds: u32,
    /// Days fitted on per fold.
    pub fit_days: u32,
    /// Days projected per fold.
    pub horizon_days: u32,
    /// Mean absolute percentage error of the projected totals, percent,
    /// one decimal.
    pub mape: Decimal,
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
    /// The period re-priced under another price version (the `repricing`
    /// section; `None` without a price book).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repricing: Option<RepricingSummary>,
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
    /// What the cost source calls a dimension where that differs from its
    /// usual label, by dimension name: `{"model": "Service"}` for cloud
    /// billing, whose `model` is the billed service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimension_labels: BTreeMap<String, String>,
    /// One page per team (team reports) or project (project reports), the
    /// largest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDetail>,
    /// The chargeback statement of a chargeback record: its rules and
    /// approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<ChargebackStatement>,
    /// Why there is no forecast although the template asks for one (too
    /// little history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_unavailable: Option<String>,
}

/// The number of distinct days among `anomalies`: four providers off on one
/// day are one day of unusual spending.
pub fn anomaly_days(anomalies: &[Anomaly]) -> usize {
    anomalies
        .iter()
        .map(|a| a.date)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// What a period's usage costs as priced and under another price version,
/// by model and token class ([`ReportSection::Repricing`](super::ReportSection::Repricing)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepricingSummary {
    /// The version compared with.
    pub version: String,
    /// The versions that priced the usage, as of each record's time.
    pub priced_with: Vec<String>,
    /// By model, then token class.
    pub lines: Vec<RepricingLine>,
    /// Sum of `before`.
    pub total_before: Decimal,
    /// Sum of `after`.
    pub total_after: Decimal,
    /// Usage records left out (a cost of their own, or a model neither
    /// version prices).
    pub skipped: u64,
}

/// One model's token class in a [`RepricingSummary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepricingLine {
    /// Model as the usage names it.
    pub model: String,
    /// Token class.
    pub class: super::TokenClass,
    /// Cost as priced (the versions in force then).
    pub before: Decimal,
    /// Cost under the version compared with.
    pub after: Decimal,
}

impl ReportDocument {
    /// The label of `dimension` in this document: the source's own name for
    /// it (see [`dimension_labels`](Self::dimension_labels)), else
    /// [`Dimension::label`].
    pub fn dimension_label(&self, dimension: &Dimension) -> String {
        self.dimension_labels
            .get(&dimension.to_string())
            .cloned()
            .unwrap_or_else(|| dimension.label())
    }
}

/// One team's or project's page: its figures and its own breakdowns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDetail {
    /// `team` or `project`.
    pub dimension: Dimension,
    /// The value (`None`: rows without one).
    pub value: Option<String>,
    /// Display label (`Unassigned` for `None`).
    pub label: String,
    /// Cost.
    pub cost: Decimal,
    /// Requests.
    pub requests: u64,
    /// Input plus output tokens.
    pub tokens: u64,
    /// Share of the report's total, percent.
    pub share: Decimal,
    /// Cost in the comparison period (`None` without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_cost: Option<Decimal>,
    /// Change against it in percent (`None` when new or without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Decimal>,
    /// Its cost by model, by feature (team) or by team (project)...
    pub breakdowns: Vec<Breakdown>,
    /// Its cost over the period (the report's granularity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<CostTrend>,
}

/// What finance signs: the configuration behind a chargeback allocation and
/// where its approval stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargebackStatement {
    /// Configuration name.
    pub configuration: String,
    /// What costs were allocated by.
    pub basis: AllocationBasis,
    /// The tag key when the basis is a tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_key: Option<String>,
    /// The rules applied, in order.
    pub rules: Vec<AllocationRule>,
    /// Approval status of the record.
    pub status: ChargebackStatus,
    /// Whether the configuration requires approval.
    pub requires_approval: bool,
    /// Who may approve.
    #[serde(default)]
    pub approvers: Vec<UserId>,
    /// Who approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<UserId>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<Utc>>,
    /// Who rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<UserId>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}
