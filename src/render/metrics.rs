//! The summary figures a report shows: one per metric of its template
//! (`config.metrics`), in the template's order, the same in every format
//! (cards in PDF, HTML and e-mail; rows in CSV and XLSX).

use rust_decimal::Decimal;

use crate::model::{Metric, ReportDocument};

/// Metrics shown when a document lists none (documents written before
/// templates chose their metrics).
pub const DEFAULT_METRICS: [Metric; 4] = [
    Metric::TotalCost,
    Metric::TotalRequests,
    Metric::TotalTokens,
    Metric::CostChange,
];

/// The value of one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricValue {
    /// An amount in the document's currency.
    Money(Decimal),
    /// A cost per unit (more decimals than money).
    UnitCost(Decimal),
    /// A count.
    Count(u64),
    /// A percentage (`12.5` is 12.5 %).
    Percent(Decimal),
}

/// One summary figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricFigure {
    /// Which metric.
    pub metric: Metric,
    /// Its value.
    pub value: MetricValue,
}

/// The label people read (`Total cost`, `Cache hit rate`).
pub fn label(metric: Metric) -> &'static str {
    match metric {
        Metric::TotalCost => "Total cost",
        Metric::TotalRequests => "Requests",
        Metric::TotalTokens => "Tokens",
        Metric::InputTokens => "Input tokens",
        Metric::OutputTokens => "Output tokens",
        Metric::AvgCostPerRequest => "Average cost per request",
        Metric::CacheHitRate => "Cache hit rate",
        Metric::CostChange => "Cost change",
        Metric::AllocatedCost => "Allocated cost",
        Metric::UnallocatedCost => "Unallocated cost",
        Metric::AnomalyCount => "Anomalies",
    }
}

/// The document's metrics (its template's, else [`DEFAULT_METRICS`]) with
/// their values, leaving out those the data does not have: no comparison
/// period, no allocation, no requests; and request and token counts of a
/// source that does not carry them (cloud billing, where cost comes with no
/// request or token count), which would read as zero.
pub fn figures(doc: &ReportDocument) -> Vec<MetricFigure> {
    let metrics: &[Metric] = if doc.metrics.is_empty() {
        &DEFAULT_METRICS
    } else {
        &doc.metrics
    };
    let s = doc.summary.clone().unwrap_or_default();
    let has_summary = doc.summary.is_some();
    let total_cost = if has_summary {
        s.total_cost
    } else {
        doc.summary_data.total_cost
    };
    let total_requests = if has_summary {
        s.total_requests
    } else {
        doc.summary_data.total_requests
    };
    // Spend with no request at all: the source does not count requests.
    let no_requests = total_requests == 0 && !total_cost.is_zero();
    let no_tokens = s.total_tokens == 0 && !total_cost.is_zero();
    let count = |n: u64, unknown: bool| (!unknown).then_some(MetricValue::Count(n));
    let with_requests = has_summary && s.total_requests > 0;
    metrics
        .iter()
        .filter_map(|&metric| {
            let value = match metric {
                Metric::TotalCost => Some(MetricValue::Money(total_cost)),
                Metric::TotalRequests => count(total_requests, no_requests),
                Metric::TotalTokens => count(s.total_tokens, no_tokens || !has_summary),
                Metric::InputTokens => count(s.input_tokens, no_tokens || !has_summary),
                Metric::OutputTokens => count(s.output_tokens, no_tokens || !has_summary),
                Metric::AvgCostPerRequest => {
                    with_requests.then_some(MetricValue::UnitCost(s.avg_cost_per_request))
                }
                Metric::CacheHitRate => {
                    with_requests.then_some(MetricValue::Percent(s.cache_hit_rate))
                }
                Metric::CostChange => s
                    .comparison
                    .as_ref()
                    .and_then(|c| c.percent_change)
                    .or(doc.summary_data.cost_change)
                    .map(MetricValue::Percent),
                Metric::AllocatedCost => doc
                    .chargeback
                    .as_ref()
                    .map(|a| MetricValue::Money(a.allocated_cost)),
                Metric::UnallocatedCost => doc
                    .chargeback
                    .as_ref()
                    .map(|a| MetricValue::Money(a.unallocated_cost)),
                Metric::AnomalyCount => Some(MetricValue::Count(u64::from(
                    doc.summary_data.anomaly_count,
                ))),
            };
            value.map(|value| MetricFigure { metric, value })
        })
        .collect()
}
