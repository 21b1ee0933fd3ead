//! Property tests across the insight functions.

use chrono::Duration;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::breakdown::breakdown;
use super::summary::summarize;
use super::test_util::d;
use super::trend::trend;
use crate::model::{CostBucket, Currency, DateRange, Dimension, Granularity};

fn arb_bucket() -> impl Strategy<Value = CostBucket> {
    (
        0i64..40,
        prop::option::of(prop::sample::select(vec![
            "a", "b", "c", "d", "e", "f", "g",
        ])),
        -1_000_000i64..1_000_000,
        0u32..6,
        0u64..1000,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(day, key, m, s, requests, eur)| CostBucket {
            period_start: Some(
                (d("2026-10-01") + Duration::days(day))
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            ),
            keys: vec![key.map(str::to_owned)],
            currency: if eur { Currency::EUR } else { Currency::USD },
            cost: Decimal::new(m, s),
            requests,
            input_tokens: requests * 3,
            output_tokens: requests,
            cached_requests: requests / 2,
        })
}

proptest! {
    /// Breakdown items, "Other" included, add up to the summary's total
    /// exactly, and their shares to exactly 100.0 (0 for a zero total).
    #[test]
    fn breakdown_items_sum_to_the_summary_total(
        buckets in prop::collection::vec(arb_bucket(), 0..80),
        limit in 1usize..8,
    ) {
        let total = summarize(&buckets, Currency::USD).unwrap().total_cost;
        let b = breakdown(Dimension::Team, &buckets, Some(&buckets[..buckets.len() / 2]), limit, Currency::USD).unwrap();
        prop_assert_eq!(b.total, total);
        prop_assert_eq!(b.items.iter().map(|i| i.cost).sum::<Decimal>(), total);
        prop_assert!(b.items.iter().filter(|i| !i.is_other).count() <= limit);
        prop_assert!(b.items.iter().filter(|i| i.is_other).count() <= 1);
        let shares: Decimal = b.items.iter().map(|i| i.share).sum();
        if total.is_zero() {
            prop_assert_eq!(shares, Decimal::ZERO);
        } else {
            prop_assert_eq!(shares, Decimal::new(1000, 1));
        }
        for i in &b.items {
            prop_assert_eq!(i.share.scale(), 1);
        }
    }

    /// Trend points add up to the total of the range's buckets, and every
    /// bucket start of the range is a point.
    #[test]
    fn trend_points_sum_to_the_total(
        buckets in prop::collection::vec(arb_bucket(), 0..80),
        a in 0i64..40,
        len in 0i64..40,
        g in prop::sample::select(vec![Granularity::Hour, Granularity::Day, Granularity::Week, Granularity::Month]),
    ) {
        let range = DateRange::new(d("2026-10-01") + Duration::days(a), d("2026-10-01") + Duration::days(a + len)).unwrap();
        let inside: Vec<CostBucket> = buckets
            .iter()
            .filter(|b| range.contains(b.period_start.unwrap().date()))
            .cloned()
            .collect();
        let t = trend(&inside, range, g, Currency::USD).unwrap();
        let total = summarize(&inside, Currency::USD).unwrap();
        prop_assert_eq!(t.points.iter().map(|p| p.cost).sum::<Decimal>(), total.total_cost);
        prop_assert_eq!(t.points.iter().map(|p| p.requests).sum::<u64>(), total.total_requests);
        prop_assert!(t.points.windows(2).all(|w| w[0].period_start < w[1].period_start));
        if g == Granularity::Day {
            prop_assert_eq!(t.points.len() as i64, range.days());
        }
    }
}
