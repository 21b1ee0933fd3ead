//! FOCUS-shaped CSV: a report's detail (the aggregate buckets behind it) or
//! cost rows, written so finance tools that read FOCUS (FinOps Open Cost
//! and Usage Specification 1.0 to 1.2) take them. Reading the output back
//! with [`FocusReader`](crate::backends::file::focus::FocusReader) gives the
//! same totals.
//!
//! Columns, in this order:
//!
//! | column | value |
//! |---|---|
//! | `BillingAccountId` | empty (unknown to the report) |
//! | `BillingPeriodStart`, `BillingPeriodEnd` | the calendar month holding `ChargePeriodStart` |
//! | `ChargePeriodStart`, `ChargePeriodEnd` | the bucket's period (start inclusive, end exclusive, UTC, `YYYY-MM-DDTHH:MM:SSZ`), clipped to the report's range; the whole range when the detail has no time buckets |
//! | `ChargeCategory` | `Usage` |
//! | `ChargeDescription` | the dimension values, e.g. `team=search; model=gpt-4o` |
//! | `BilledCost`, `EffectiveCost`, `ListCost`, `ContractedCost` | the bucket's cost (the report knows no discounts), exact |
//! | `BillingCurrency` | the bucket's currency |
//! | `ProviderName`, `PublisherName`, `InvoiceIssuerName` | the `provider` key (empty when not grouped by provider) |
//! | `ServiceName`, `SkuId` | the `model` key, else `LLM API` |
//! | `ServiceCategory` | `AI and Machine Learning` |
//! | `Tags` | a JSON object of the other dimensions: `team`, `project`, `cost_center`, `feature`, `user`, `model_family`, and `tag:<key>` as `<key>` (keys without a value are left out) |
//! | `x_Requests`, `x_InputTokens`, `x_OutputTokens`, `x_CachedRequests` | the counts (custom columns, `x_` as the specification asks) |
//!
//! Text cells that a spreadsheet would run as a formula (starting with `=`,
//! `+`, `-`, `@`, tab or carriage return) are written with a leading `'`.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::model::{
    CostBucket, CostRow, Currency, DateRange, Dimension, Granularity, ReportDocument,
};
use crate::{Error, Result};

/// The columns written, in order.
pub const FOCUS_COLUMNS: [&str; 23] = [
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceName",
    "ServiceCategory",
    "SkuId",
    "Tags",
    "x_Requests",
    "x_InputTokens",
    "x_OutputTokens",
    "x_CachedRequests",
];

/// One line to write.
struct Line<'a> {
    start: NaiveDateTime,
    end: NaiveDateTime,
    cost: rust_decimal::Decimal,
    currency: Currency,
    provider: Option<&'a str>,
    model: Option<&'a str>,
    tags: BTreeMap<String, &'a str>,
    description: String,
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
    cached_requests: u64,
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let first = month_start(d);
    first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first)
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

fn inert(s: &str) -> String {
    crate::render::csv::neutralize(s).into_owned()
}

fn write_lines<'a>(lines: impl Iterator<Item = Line<'a>>) -> Result<Vec<u8>> {
    let err = |e: &dyn std::fmt::Display| Error::Render {
        format: "focus",
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(FOCUS_COLUMNS).map_err(|e| err(&e))?;
    for l in lines {
        let tags = if l.tags.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&l.tags).map_err(|e| err(&e))?
        };
        let cost = l.cost.to_string();
        let provider = l.provider.map(inert).unwrap_or_default();
        let model = inert(l.model.unwrap_or("LLM API"));
        let record: [String; 23] = [
            String::new(),
            ts(midnight(month_start(l.start.date()))),
            ts(midnight(next_month(l.start.date()))),
            ts(l.start),
            ts(l.end),
            "Usage".into(),
            inert(&l.description),
            cost.clone(),
            cost.clone(),
            cost.clone(),
            cost,
            l.currency.code().into(),
            provider.clone(),
            provider.clone(),
            provider,
            model.clone(),
            "AI and Machine Learning".into(),
            model,
            tags,
            l.requests.to_string(),
            l.input_tokens.to_string(),
            l.output_tokens.to_string(),
            l.cached_requests.to_string(),
        ];
        w.write_record(&record).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

fn tag_name(d: &Dimension) -> Option<String> {
    match d {
        Dimension::Provider | Dimension::Model => None,
        Dimension::Tag(k) => Some(k.clone()),
        other => Some(other.name()),
    }
}

/// Write aggregate buckets as FOCUS CSV. `dimensions` names each bucket's
/// `keys` in order; `range` is the report's period; `granularity` the time
/// bucket size of the buckets (`None` when they have no `period_start`).
///
/// # Errors
/// [`Error::Invalid`] on `detailDimensions` when a bucket has a different
/// number of keys than `dimensions`, or on `granularity` when a bucket has a
/// `period_start` but no granularity is given; [`Error::Render`] when the
/// CSV cannot be written.
pub fn focus_csv_from_buckets(
    buckets: &[CostBucket],
    dimensions: &[Dimension],
    range: DateRange,
    granularity: Option<Granularity>,
) -> Result<Vec<u8>> {
    let range_start = midnight(range.start);
    let range_end = midnight(range.end.succ_opt().unwrap_or(range.end));
    let mut lines = Vec::with_capacity(buckets.len());
    for (i, b) in buckets.iter().enumerate() {
        if b.keys.len() != dimensions.len() {
            return Err(Error::invalid(
                "detailDimensions",
                format!(
                    "bucket {i} has {} keys for {} dimensions",
                    b.keys.len(),
                    dimensions.len()
                ),
            ));
        }
        let (start, end) = match (b.period_start, granularity) {
            (None, _) => (range_start, range_end),
            (Some(_), None) => {
                return Err(Error::invalid(
                    "granularity",
                    "the detail has time buckets but no granularity",
                ))
            }
            (Some(p), Some(g)) => {
                let step = |d: Duration| p.checked_add_signed(d).unwrap_or(range_end);
                let end = match g {
                    Granularity::Hour => step(Duration::hours(1)),
                    Granularity::Day => step(Duration::days(1)),
                    Granularity::Week => step(Duration::days(7)),
                    Granularity::Month => midnight(next_month(p.date())),
                };
                (p.max(range_start), end.min(range_end))
            }
        };
        let mut line = Line {
            start,
            end,
            cost: b.cost,
            currency: b.currency,
            provider: None,
            model: None,
            tags: BTreeMap::new(),
            description: String::new(),
            requests: b.requests,
            input_tokens: b.input_tokens,
            output_tokens: b.output_tokens,
            cached_requests: b.cached_requests,
        };
        let mut parts = Vec::new();
        for (d, k) in dimensions.iter().zip(&b.keys) {
            let Some(v) = k.as_deref() else { continue };
            parts.push(format!("{}={v}", d.name()));
            match d {
                Dimension::Provider => line.provider = Some(v),
                Dimension::Model => line.model = Some(v),
                other => {
                    if let Some(name) = tag_name(other) {
                        line.tags.insert(name, v);
                    }
                }
            }
        }
        line.description = parts.join("; ");
        lines.push(line);
    }
    write_lines(lines.into_iter())
}

/// Write a report's detail (`detail`, `detailDimensions`, `dateRange` and,
/// for time buckets, the trend's granularity) as FOCUS CSV.
///
/// # Errors
/// As [`focus_csv_from_buckets`].
pub fn focus_csv(doc: &ReportDocument) -> Result<Vec<u8>> {
    let granularity = if doc.detail.iter().any(|b| b.period_start.is_some()) {
        doc.trend.as_ref().map(|t| t.granularity)
    } else {
        None
    };
    focus_csv_from_buckets(
        &doc.detail,
        &doc.detail_dimensions,
        doc.date_range,
        granularity,
    )
}

/// Write cost rows as FOCUS CSV, one line per row: the charge period is the
/// row's hour when it has a timestamp, else its day; team, project, cost
/// center, feature, user and the row's tags go into `Tags` (the dimensions
/// win over a tag of the same name). Rows without a currency are written
/// in `default_currency`.
///
/// # Errors
/// [`Error::Render`] when the CSV cannot be written.
pub fn focus_csv_from_rows(rows: &[CostRow], default_currency: Currency) -> Result<Vec<u8>> {
    let lines = rows.iter().map(|r| {
        let (start, end) = match r.timestamp {
            Some(t) => {
                let t = t.naive_utc();
                let hour = t.date().and_time(
                    NaiveTime::from_hms_opt(chrono::Timelike::hour(&t), 0, 0)
                        .unwrap_or(NaiveTime::MIN),
                );
                // Keep the exact instant so the row's date and hour survive.
                let end = hour
                    .checked_add_signed(Duration::hours(1))
                    .unwrap_or(NaiveDateTime::MAX);
                (t, end)
            }
            None => (
                midnight(r.date),
                midnight(r.date.succ_opt().unwrap_or(r.date)),
            ),
        };
        let mut tags: BTreeMap<String, &str> = r
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str()))
            .collect();
        for (k, v) in [
            ("team", &r.team),
            ("project", &r.project),
            ("cost_center", &r.cost_center),
            ("feature", &r.feature),
            ("user", &r.user),
        ] {
            if let Some(v) = v.as_deref() {
                tags.insert(k.to_owned(), v);
            }
        }
        Line {
            start,
            end,
            cost: r.cost,
            currency: r.currency.unwrap_or(default_currency),
            provider: r.provider.as_deref(),
            model: r.model.as_deref(),
            tags,
            description: String::new(),
            requests: r.requests,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cached_requests: r.cached_requests,
        }
    });
    write_lines(lines)
}
