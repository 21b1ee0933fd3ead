//! Aggregation of cost rows into buckets: the reference semantics of
//! [`CostSource::aggregate`](crate::ports::CostSource::aggregate), used by
//! the in-memory source and by tests of the SQL sources.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;

use crate::model::{CostBucket, CostQuery, CostRow, Currency, Granularity};
use crate::{Error, Result};

/// Longest range an aggregate query may cover (5 years of days).
pub const MAX_QUERY_DAYS: i64 = 5 * 366;

/// Check a query: the range is at most [`MAX_QUERY_DAYS`] long and the
/// grouping names each dimension once.
pub fn validate_query(query: &CostQuery) -> Result<()> {
    query.range.validate()?;
    if query.range.days() > MAX_QUERY_DAYS {
        return Err(Error::invalid(
            "range",
            format!(
                "{} days is longer than the 5 years a query may cover",
                query.range.days()
            ),
        ));
    }
    for (i, d) in query.group_by.iter().enumerate() {
        if query.group_by[..i].contains(d) {
            return Err(Error::invalid(
                format!("groupBy[{i}]"),
                format!("{d} is grouped by twice"),
            ));
        }
    }
    Ok(())
}

/// Start of the time bucket a row falls in: the hour of its timestamp (or
/// midnight of its date when it has none), its day, the Monday of its week,
/// or the 1st of its month.
pub fn bucket_start(
    granularity: Granularity,
    date: NaiveDate,
    timestamp: Option<NaiveDateTime>,
) -> NaiveDateTime {
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    match granularity {
        Granularity::Hour => match timestamp {
            Some(ts) if ts.date() == date => ts
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(ts),
            _ => midnight(date),
        },
        Granularity::Day => midnight(date),
        Granularity::Week => midnight(
            date.checked_sub_signed(Duration::days(i64::from(
                date.weekday().num_days_from_monday(),
            )))
            .unwrap_or(date),
        ),
        Granularity::Month => midnight(date.with_day(1).unwrap_or(date)),
    }
}

type GroupKey<'a> = (Option<NaiveDateTime>, Vec<Option<&'a str>>, Currency);

#[derive(Default)]
struct Acc {
    cost: Decimal,
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
    cached_requests: u64,
}

/// Sort buckets as every cost source returns them: by period, then the
/// group keys, then the currency code. Sources that must give the same
/// answer (the row path and the columnar ones) share this order.
pub fn sort_buckets(buckets: &mut [CostBucket]) {
    buckets.sort_by(|a, b| {
        (a.period_start, &a.keys, a.currency.code()).cmp(&(
            b.period_start,
            &b.keys,
            b.currency.code(),
        ))
    });
}

/// Aggregate rows as a [`CostSource`](crate::ports::CostSource) must: keep
/// rows dated inside `query.range` that pass `query.filters`, group by
/// `query.group_by` (a missing or empty value is the key `None`), by time
/// bucket when `query.granularity` is set, and by currency (rows without one
/// are in `default_currency`). Buckets are returned sorted by period, keys
/// and currency, so the answer is deterministic.
///
/// # Errors
/// [`Error::Invalid`] when the query is invalid (see [`validate_query`]),
/// on `cost` when a sum does not fit a [`Decimal`].
pub fn aggregate_rows<'a>(
    rows: impl IntoIterator<Item = &'a CostRow>,
    query: &CostQuery,
    default_currency: Currency,
) -> Result<Vec<CostBucket>> {
    validate_query(query)?;
    let mut groups: HashMap<GroupKey<'a>, Acc> = HashMap::new();
    let f = &query.filters;
    for row in rows {
        if !query.range.contains(row.date)
            || !f.matches(
                row.team.as_deref(),
                row.project.as_deref(),
                row.cost_center.as_deref(),
                row.provider.as_deref(),
                row.model.as_deref(),
            )
        {
            continue;
        }
        let period = query
            .granularity
            .map(|g| bucket_start(g, row.date, row.timestamp.map(|t| t.naive_utc())));
        let keys = query.group_by.iter().map(|d| row.dimension(d)).collect();
        let currency = row.currency.unwrap_or(default_currency);
        let acc = groups.entry((period, keys, currency)).or_default();
        acc.cost = acc
            .cost
            .checked_add(row.cost)
            .ok_or_else(|| Error::invalid("cost", "the sum of costs does not fit a decimal"))?;
        acc.requests = acc.requests.saturating_add(row.requests);
        acc.input_tokens = acc.input_tokens.saturating_add(row.input_tokens);
        acc.output_tokens = acc.output_tokens.saturating_add(row.output_tokens);
        acc.cached_requests = acc.cached_requests.saturating_add(row.cached_requests);
    }
    let mut out: Vec<CostBucket> = groups
        .into_iter()
        .map(|((period_start, keys, currency), a)| CostBucket {
            period_start,
            keys: keys.into_iter().map(|k| k.map(str::to_owned)).collect(),
            currency,
            cost: a.cost,
            requests: a.requests,
            input_tokens: a.input_tokens,
            output_tokens: a.output_tokens,
            cached_requests: a.cached_requests,
        })
        .collect();
    sort_buckets(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DateRange, Dimension, ReportFilters};
    use rust_decimal_macros::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn week_buckets_start_on_monday_and_months_on_the_first() {
        // 2026-11-24 is a Tuesday.
        assert_eq!(
            bucket_start(Granularity::Week, d("2026-11-24"), None).date(),
            d("2026-11-23")
        );
        assert_eq!(
            bucket_start(Granularity::Week, d("2026-11-23"), None).date(),
            d("2026-11-23")
        );
        assert_eq!(
            bucket_start(Granularity::Month, d("2026-11-24"), None).date(),
            d("2026-11-01")
        );
        let ts = d("2026-11-24").and_hms_opt(13, 45, 12).unwrap();
        assert_eq!(
            bucket_start(Granularity::Hour, d("2026-11-24"), Some(ts)),
            d("2026-11-24").and_hms_opt(13, 0, 0).unwrap()
        );
    }

    #[test]
    fn groups_filters_and_splits_currencies() {
        let row = |date: &str, team: Option<&str>, cost: Decimal, cur: Option<Currency>| CostRow {
            date: d(date),
            team: team.map(Into::into),
            provider: Some("openai".into()),
            cost,
            currency: cur,
            requests: 1,
            ..Default::default()
        };
        let rows = vec![
            row("2026-10-01", Some("a"), dec!(1.10), None),
            row("2026-10-02", Some("a"), dec!(2.20), None),
            row("2026-10-02", None, dec!(0.05), None),
            row("2026-10-03", Some("a"), dec!(5), Some(Currency::EUR)),
            row("2026-10-04", Some("a"), dec!(100), None),
        ];
        let range = DateRange::new(d("2026-10-01"), d("2026-10-03")).unwrap();
        let q = CostQuery::total(range).group_by([Dimension::Team]);
        let b = aggregate_rows(&rows, &q, Currency::USD).unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].keys, vec![None]);
        assert_eq!(b[0].cost, dec!(0.05));
        let usd_a = b
            .iter()
            .find(|x| x.keys == vec![Some("a".into())] && x.currency == Currency::USD)
            .unwrap();
        assert_eq!(usd_a.cost, dec!(3.30));
        assert_eq!(usd_a.requests, 2);
        let q = CostQuery::total(range).filtered(ReportFilters {
            teams: vec!["a".into()],
            ..Default::default()
        });
        let b = aggregate_rows(&rows, &q, Currency::USD).unwrap();
        assert_eq!(b.iter().map(|x| x.cost).sum::<Decimal>(), dec!(8.30));
    }

    #[test]
    fn rejects_long_ranges_and_duplicate_groups() {
        let r = DateRange::new(d("2020-01-01"), d("2026-01-01")).unwrap();
        let e = aggregate_rows(&[], &CostQuery::total(r), Currency::USD).unwrap_err();
        assert_eq!(e.field(), Some("range"));
        let r = DateRange::day(d("2026-01-01"));
        let q = CostQuery::total(r).group_by([Dimension::Team, Dimension::Team]);
        assert_eq!(
            aggregate_rows(&[], &q, Currency::USD).unwrap_err().field(),
            Some("groupBy[1]")
        );
    }
}
