//! Totals of a period, the comparison with another period, and the headline
//! figures ([`ReportSummaryData`]).
//!
//! - `cacheHitRate` is cached requests over requests in percent, rounded to
//!   2 decimals; 0 when there were no requests.
//! - `avgCostPerRequest` is cost over requests rounded to 6 decimals (a
//!   request often costs a fraction of a cent); 0 when there were no requests.
//! - The comparison's `percentChange` is `(current - previous) / |previous|`
//!   in percent, rounded to 2 decimals, and absent when the previous period
//!   cost nothing. `trend` is `stable` when the exact change is within ±1%
//!   (bounds included), else `up` or `down`; when the previous period cost
//!   nothing it is `up` for a positive current cost, `down` for a negative
//!   one and `stable` for zero.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{add, count_percent, in_currency, percent_change, round, validate_range};
use crate::model::{
    Comparison, CostBucket, CostSummary, Currency, DateRange, ReportSummaryData, Trend,
};
use crate::Result;

/// Decimals of `avgCostPerRequest`.
pub const AVG_COST_DP: u32 = 6;

/// Sum of the cost of buckets in `currency`.
///
/// # Errors
/// [`Error::Invalid`](crate::Error::Invalid) on `cost` when the sum overflows.
pub fn total_cost(buckets: &[CostBucket], currency: Currency) -> Result<Decimal> {
    in_currency(buckets, currency).try_fold(Decimal::ZERO, |acc, b| add(acc, b.cost))
}

/// Totals of the buckets in `currency` (any grouping: they are summed),
/// without a comparison.
///
/// # Errors
/// [`Error::Invalid`](crate::Error::Invalid) on `cost` when the sum overflows.
pub fn summarize(buckets: &[CostBucket], currency: Currency) -> Result<CostSummary> {
    let mut s = CostSummary::default();
    for b in in_currency(buckets, currency) {
        s.total_cost = add(s.total_cost, b.cost)?;
        s.total_requests = s.total_requests.saturating_add(b.requests);
        s.input_tokens = s.input_tokens.saturating_add(b.input_tokens);
        s.output_tokens = s.output_tokens.saturating_add(b.output_tokens);
        s.cached_requests = s.cached_requests.saturating_add(b.cached_requests);
    }
    s.total_tokens = s.input_tokens.saturating_add(s.output_tokens);
    s.cache_hit_rate = count_percent(s.cached_requests, s.total_requests);
    s.avg_cost_per_request = if s.total_requests == 0 {
        Decimal::ZERO
    } else {
        s.total_cost
            .checked_div(Decimal::from(s.total_requests))
            .map(|v| round(v, AVG_COST_DP))
            .unwrap_or(Decimal::ZERO)
    };
    Ok(s)
}

/// Totals of `current` with the comparison against `previous`, the buckets
/// of `comparison_range` (the engine queries both periods with the same
/// filters).
///
/// # Errors
/// [`Error::Invalid`](crate::Error::Invalid) on `range` when
/// `comparison_range` is longer than 5 years, on `cost` when a sum overflows.
pub fn summarize_with_comparison(
    current: &[CostBucket],
    previous: &[CostBucket],
    comparison_range: DateRange,
    currency: Currency,
) -> Result<CostSummary> {
    validate_range(&comparison_range)?;
    let mut s = summarize(current, currency)?;
    let prev = total_cost(previous, currency)?;
    s.comparison = Some(compare(s.total_cost, prev, comparison_range)?);
    Ok(s)
}

/// The comparison of a cost with a previous one (see the module docs).
///
/// # Errors
/// [`Error::Invalid`](crate::Error::Invalid) on `cost` when the difference
/// overflows.
pub fn compare(current: Decimal, previous: Decimal, range: DateRange) -> Result<Comparison> {
    let absolute_change = current.checked_sub(previous).ok_or_else(super::overflow)?;
    Ok(Comparison {
        range,
        previous_cost: previous,
        absolute_change,
        percent_change: percent_change(current, previous),
        trend: trend_of(current, previous),
    })
}

/// `up`, `down` or `stable` (within ±1% of `|previous|`, bounds included).
pub fn trend_of(current: Decimal, previous: Decimal) -> Trend {
    let diff = current.checked_sub(previous);
    let Some(diff) = diff else {
        return if current > previous {
            Trend::Up
        } else {
            Trend::Down
        };
    };
    if previous.is_zero() {
        return match current.cmp(&Decimal::ZERO) {
            std::cmp::Ordering::Greater => Trend::Up,
            std::cmp::Ordering::Less => Trend::Down,
            std::cmp::Ordering::Equal => Trend::Stable,
        };
    }
    // |diff| <= |previous| / 100, written without a division.
    let band = previous.abs().checked_div(Decimal::ONE_HUNDRED);
    match band {
        Some(band) if diff.abs() <= band => Trend::Stable,
        _ if diff > Decimal::ZERO => Trend::Up,
        _ => Trend::Down,
    }
}

/// The headline figures exactly as DESIGN.md defines them: `totalCost`,
/// `totalRequests`, `costChange` (the comparison's percent change, absent
/// without a comparison or when the comparison period cost nothing),
/// `topProvider` and `topModel` (the named value with the highest cost, ties
/// by name ascending; rows without a provider or model are not candidates,
/// and there is none when no named value has a positive cost) and
/// `anomalyCount` (saturating at `u32::MAX`).
///
/// `by_provider` and `by_model` are buckets grouped by provider and by model
/// (first key), any time bucketing; buckets in another currency are left out.
///
/// # Errors
/// [`Error::Invalid`](crate::Error::Invalid) on `cost` when a sum overflows.
pub fn summary_data(
    summary: &CostSummary,
    by_provider: &[CostBucket],
    by_model: &[CostBucket],
    anomaly_count: usize,
    currency: Currency,
) -> Result<ReportSummaryData> {
    Ok(ReportSummaryData {
        total_cost: summary.total_cost,
        total_requests: summary.total_requests,
        cost_change: summary.comparison.as_ref().and_then(|c| c.percent_change),
        top_provider: top_value(by_provider, currency)?,
        top_model: top_value(by_model, currency)?,
        anomaly_count: u32::try_from(anomaly_count).unwrap_or(u32::MAX),
    })
}

/// The named first-key value with the highest positive cost, ties by name.
pub(crate) fn top_value(buckets: &[CostBucket], currency: Currency) -> Result<Option<String>> {
    let mut sums: BTreeMap<&str, Decimal> = BTreeMap::new();
    for b in in_currency(buckets, currency) {
        if let Some(Some(v)) = b.keys.first() {
            let e = sums.entry(v.as_str()).or_default();
            *e = add(*e, b.cost)?;
        }
    }
    // BTreeMap iterates by name, so keeping the first strict maximum breaks
    // ties by name ascending.
    let mut best: Option<(&str, Decimal)> = None;
    for (name, cost) in sums {
        if cost > Decimal::ZERO && best.is_none_or(|(_, c)| cost > c) {
            best = Some((name, cost));
        }
    }
    Ok(best.map(|(n, _)| n.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insight::test_util::{bucket, d};
    use crate::Error;
    use rust_decimal_macros::dec;

    fn range() -> DateRange {
        DateRange::new(d("2026-09-01"), d("2026-09-30")).unwrap()
    }

    #[test]
    fn totals_rates_and_averages() {
        let b = vec![
            bucket(None, &[Some("openai")], dec!(10.50), 8),
            bucket(None, &[Some("anthropic")], dec!(4.25), 3),
            bucket(None, &[None], dec!(-0.75), 0),
        ];
        let s = summarize(&b, Currency::USD).unwrap();
        assert_eq!(s.total_cost, dec!(14.00));
        assert_eq!(s.total_requests, 11);
        assert_eq!(s.input_tokens, 1100);
        assert_eq!(s.output_tokens, 110);
        assert_eq!(s.total_tokens, 1210);
        assert_eq!(s.cached_requests, 2);
        assert_eq!(s.cache_hit_rate, dec!(18.18));
        assert_eq!(s.avg_cost_per_request, dec!(1.272727));
        assert_eq!(s.comparison, None);
    }

    #[test]
    fn other_currencies_are_left_out() {
        let mut eur = bucket(None, &[], dec!(99), 1);
        eur.currency = Currency::EUR;
        let b = vec![bucket(None, &[], dec!(1), 1), eur];
        assert_eq!(summarize(&b, Currency::USD).unwrap().total_cost, dec!(1));
        assert_eq!(summarize(&b, Currency::EUR).unwrap().total_cost, dec!(99));
    }

    #[test]
    fn empty_data_is_zero_not_nan() {
        let s = summarize(&[], Currency::USD).unwrap();
        assert_eq!(s, CostSummary::default());
        let s = summarize_with_comparison(&[], &[], range(), Currency::USD).unwrap();
        let c = s.comparison.unwrap();
        assert_eq!(c.previous_cost, dec!(0));
        assert_eq!(c.absolute_change, dec!(0));
        assert_eq!(c.percent_change, None);
        assert_eq!(c.trend, Trend::Stable);
    }

    #[test]
    fn comparison_change_and_trend() {
        let cur = vec![bucket(None, &[], dec!(115), 10)];
        let prev = vec![bucket(None, &[], dec!(100), 10)];
        let s = summarize_with_comparison(&cur, &prev, range(), Currency::USD).unwrap();
        assert_eq!(
            s.comparison,
            Some(Comparison {
                range: range(),
                previous_cost: dec!(100),
                absolute_change: dec!(15),
                percent_change: Some(dec!(15.00)),
                trend: Trend::Up,
            })
        );
        assert_eq!(trend_of(dec!(101), dec!(100)), Trend::Stable);
        assert_eq!(trend_of(dec!(99), dec!(100)), Trend::Stable);
        assert_eq!(trend_of(dec!(101.01), dec!(100)), Trend::Up);
        assert_eq!(trend_of(dec!(98.99), dec!(100)), Trend::Down);
        assert_eq!(trend_of(dec!(5), dec!(0)), Trend::Up);
        assert_eq!(trend_of(dec!(-5), dec!(0)), Trend::Down);
        let c = compare(dec!(2), dec!(3), range()).unwrap();
        assert_eq!(c.percent_change, Some(dec!(-33.33)));
        assert_eq!(c.trend, Trend::Down);
        let c = compare(dec!(7), dec!(0), range()).unwrap();
        assert_eq!(c.percent_change, None);
        assert_eq!(c.absolute_change, dec!(7));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let b = vec![
            bucket(None, &[], Decimal::MAX, 1),
            bucket(None, &[], Decimal::MAX, 1),
        ];
        match summarize(&b, Currency::USD).unwrap_err() {
            Error::Invalid { field, .. } => assert_eq!(field, "cost"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn summary_data_as_designed() {
        let cur = vec![bucket(None, &[], dec!(300), 30)];
        let prev = vec![bucket(None, &[], dec!(240), 20)];
        let s = summarize_with_comparison(&cur, &prev, range(), Currency::USD).unwrap();
        let providers = vec![
            bucket(Some("2026-10-01"), &[Some("openai")], dec!(100), 10),
            bucket(Some("2026-10-02"), &[Some("openai")], dec!(50), 10),
            bucket(Some("2026-10-01"), &[Some("anthropic")], dec!(150), 10),
            bucket(Some("2026-10-01"), &[None], dec!(900), 10),
        ];
        let models = vec![
            bucket(None, &[Some("gpt-4o")], dec!(150), 10),
            bucket(None, &[Some("claude")], dec!(120), 10),
            bucket(None, &[Some("zeta")], dec!(30), 10),
        ];
        let data = summary_data(&s, &providers, &models, 4, Currency::USD).unwrap();
        assert_eq!(
            data,
            ReportSummaryData {
                total_cost: dec!(300),
                total_requests: 30,
                cost_change: Some(dec!(25.00)),
                // 150 each: ties by name.
                top_provider: Some("anthropic".into()),
                top_model: Some("gpt-4o".into()),
                anomaly_count: 4,
            }
        );
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"totalCost":300,"totalRequests":30,"costChange":25.00,"topProvider":"anthropic","topModel":"gpt-4o","anomalyCount":4}"#
        );
        // No comparison, previous zero, no data.
        let s = summarize_with_comparison(&cur, &[], range(), Currency::USD).unwrap();
        let data = summary_data(&s, &[], &[], 0, Currency::USD).unwrap();
        assert_eq!(data.cost_change, None);
        assert_eq!(data.top_provider, None);
        assert_eq!(data.top_model, None);
        let zero = vec![bucket(None, &[Some("openai")], dec!(0), 1)];
        assert_eq!(top_value(&zero, Currency::USD).unwrap(), None);
    }
}
