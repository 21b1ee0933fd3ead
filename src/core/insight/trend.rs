//! Cost over time, zero-filled.
//!
//! Points run from the bucket holding `range.start` to the bucket holding
//! `range.end`, one per hour (24 per day of the range), day, week (starting
//! Monday; the first and last weeks may reach outside the range) or calendar
//! month (starting the 1st), in order. A bucket without usage is a zero point,
//! not a missing one. Buckets are placed by their `periodStart` normalized to
//! the granularity (see [`bucket_start`]); buckets outside the points' span
//! and buckets in another currency are left out, so the points add up to the
//! total of the range's buckets.

use std::collections::HashMap;

use chrono::{Duration, Months, NaiveDateTime};
use rust_decimal::Decimal;

use super::{add, in_currency, validate_range};
use crate::core::aggregate::bucket_start;
use crate::model::{CostBucket, CostTrend, Currency, DateRange, Granularity, TrendPoint};
use crate::{Error, Result};

/// The starts of the buckets covering `range`, in order.
///
/// # Errors
/// [`Error::Invalid`] on `range` when it is longer than 5 years.
pub fn bucket_starts(range: DateRange, granularity: Granularity) -> Result<Vec<NaiveDateTime>> {
    validate_range(&range)?;
    let first = bucket_start(granularity, range.start, None);
    let last = match granularity {
        Granularity::Hour => range.end.and_hms_opt(23, 0, 0).unwrap_or(first),
        g => bucket_start(g, range.end, None),
    };
    let mut out = Vec::new();
    let mut t = first;
    while t <= last {
        out.push(t);
        let next = match granularity {
            Granularity::Hour => t.checked_add_signed(Duration::hours(1)),
            Granularity::Day => t.checked_add_signed(Duration::days(1)),
            Granularity::Week => t.checked_add_signed(Duration::days(7)),
            Granularity::Month => t.checked_add_months(Months::new(1)),
        };
        match next {
            Some(n) => t = n,
            None => break,
        }
    }
    Ok(out)
}

/// The zero-filled trend of `buckets` over `range` (see the module docs).
///
/// # Errors
/// [`Error::Invalid`] on `range` when it is longer than 5 years, on
/// `periodStart` when a bucket has none (the query had no granularity), on
/// `cost` when a sum overflows.
pub fn trend(
    buckets: &[CostBucket],
    range: DateRange,
    granularity: Granularity,
    currency: Currency,
) -> Result<CostTrend> {
    let starts = bucket_starts(range, granularity)?;
    let index: HashMap<NaiveDateTime, usize> =
        starts.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut points: Vec<TrendPoint> = starts
        .iter()
        .map(|t| TrendPoint {
            period_start: *t,
            cost: Decimal::ZERO,
            requests: 0,
            tokens: 0,
        })
        .collect();
    for b in in_currency(buckets, currency) {
        let Some(ts) = b.period_start else {
            return Err(Error::invalid(
                "periodStart",
                "a trend needs buckets with a period start (a query with a granularity)",
            ));
        };
        let start = bucket_start(granularity, ts.date(), Some(ts));
        let Some(&i) = index.get(&start) else {
            continue;
        };
        if let Some(p) = points.get_mut(i) {
            p.cost = add(p.cost, b.cost)?;
            p.requests = p.requests.saturating_add(b.requests);
            p.tokens = p
                .tokens
                .saturating_add(b.input_tokens)
                .saturating_add(b.output_tokens);
        }
    }
    Ok(CostTrend {
        granularity,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insight::test_util::{bucket, d};
    use rust_decimal_macros::dec;

    #[test]
    fn daily_trend_is_zero_filled() {
        let r = DateRange::new(d("2026-10-01"), d("2026-10-04")).unwrap();
        let b = vec![
            bucket(Some("2026-10-01"), &[Some("a")], dec!(1.5), 2),
            bucket(Some("2026-10-01"), &[Some("b")], dec!(0.5), 1),
            bucket(Some("2026-10-03"), &[], dec!(4), 4),
            bucket(Some("2026-10-09"), &[], dec!(100), 4),
        ];
        let t = trend(&b, r, Granularity::Day, Currency::USD).unwrap();
        let view: Vec<_> = t
            .points
            .iter()
            .map(|p| {
                (
                    p.period_start.date().to_string(),
                    p.cost,
                    p.requests,
                    p.tokens,
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                ("2026-10-01".into(), dec!(2.0), 3, 330),
                ("2026-10-02".into(), dec!(0), 0, 0),
                ("2026-10-03".into(), dec!(4), 4, 440),
                ("2026-10-04".into(), dec!(0), 0, 0),
            ]
        );
    }

    #[test]
    fn weeks_start_on_monday_months_on_the_first_hours_per_day() {
        // 2026-11-04 is a Wednesday, 2026-11-17 a Tuesday.
        let r = DateRange::new(d("2026-11-04"), d("2026-11-17")).unwrap();
        let starts = bucket_starts(r, Granularity::Week).unwrap();
        let days: Vec<_> = starts.iter().map(|t| t.date().to_string()).collect();
        assert_eq!(days, vec!["2026-11-02", "2026-11-09", "2026-11-16"]);
        let b = vec![
            bucket(Some("2026-11-05"), &[], dec!(1), 1),
            bucket(Some("2026-11-08"), &[], dec!(2), 1),
            bucket(Some("2026-11-09"), &[], dec!(4), 1),
        ];
        let t = trend(&b, r, Granularity::Week, Currency::USD).unwrap();
        assert_eq!(
            t.points.iter().map(|p| p.cost).collect::<Vec<_>>(),
            vec![dec!(3), dec!(4), dec!(0)]
        );
        let r = DateRange::new(d("2026-01-31"), d("2026-04-01")).unwrap();
        let m = bucket_starts(r, Granularity::Month).unwrap();
        let days: Vec<_> = m.iter().map(|t| t.date().to_string()).collect();
        assert_eq!(
            days,
            vec!["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
        );
        let r = DateRange::new(d("2026-11-01"), d("2026-11-02")).unwrap();
        let h = bucket_starts(r, Granularity::Hour).unwrap();
        assert_eq!(h.len(), 48);
        assert_eq!(h[47].to_string(), "2026-11-02 23:00:00");
        let mut late = bucket(None, &[], dec!(7), 1);
        late.period_start = d("2026-11-02").and_hms_opt(23, 0, 0);
        let t = trend(&[late], r, Granularity::Hour, Currency::USD).unwrap();
        assert_eq!(t.points[47].cost, dec!(7));
        assert_eq!(t.points.iter().map(|p| p.cost).sum::<Decimal>(), dec!(7));
    }

    #[test]
    fn bad_input() {
        let r = DateRange::new(d("2020-01-01"), d("2026-01-01")).unwrap();
        assert_eq!(
            trend(&[], r, Granularity::Day, Currency::USD)
                .unwrap_err()
                .field(),
            Some("range")
        );
        let r = DateRange::day(d("2026-01-01"));
        let e = trend(
            &[bucket(None, &[], dec!(1), 1)],
            r,
            Granularity::Day,
            Currency::USD,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("periodStart"));
        let t = trend(&[], r, Granularity::Day, Currency::USD).unwrap();
        assert_eq!(t.points.len(), 1);
        assert_eq!(t.points[0].cost, dec!(0));
    }
}
