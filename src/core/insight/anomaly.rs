//! Anomalies: days whose cost for one dimension value left its trailing
//! baseline.
//!
//! ## Method
//! For each value of the dimension (rows without one are the value
//! `Unassigned`) the buckets give a daily cost series, zero-filled from the
//! value's first day with usage. For each day `d` of the range:
//!
//! 1. The baseline is the value's costs on the `window` days before `d`
//!    (default 14), leaving out days before its first usage and days already
//!    found anomalous (so one spike does not hide the next). With fewer than
//!    `minHistory` days (default 7) in the baseline, `d` is not judged.
//! 2. `expected` is the baseline's mean and `σ` its (population) standard
//!    deviation. The effective deviation is `σ' = max(σ, minAbsDeviation /
//!    threshold)`, so a perfectly flat baseline still needs a move of at
//!    least `minAbsDeviation` (default 1.00) to alert and pennies never do.
//! 3. `deviation = (actual - expected) / σ'`. The day is an anomaly when
//!    `|deviation| >= threshold` (default 3): spikes and drops both count.
//! 4. Severity by `|deviation|`: below 4 `low`, below 6 `medium`, below 10
//!    `high`, else `critical`.
//!
//! The statistics are computed in `f64` and converted back: `expectedCost`
//! is rounded to 6 decimals, `deviation` to 2. Results are ordered by date,
//! then value. The buckets must be grouped by the dimension (first key),
//! bucketed by day, and should start `window` days before the range so the
//! first days of the range have a baseline.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

use super::{add, in_currency, round, validate_range, UNASSIGNED};
use crate::model::{Anomaly, CostBucket, Currency, DateRange, Dimension, Severity};
use crate::{Error, Result};

/// Parameters of the detection (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyParams {
    /// Days in the trailing baseline (default 14).
    pub window: u32,
    /// Fewest baseline days needed to judge a day (default 7).
    pub min_history: u32,
    /// Deviations (in effective standard deviations) that make an anomaly
    /// (default 3).
    pub threshold: f64,
    /// Smallest absolute move of cost that can alert (default 1.00).
    pub min_abs_deviation: Decimal,
}

impl Default for AnomalyParams {
    fn default() -> Self {
        AnomalyParams {
            window: 14,
            min_history: 7,
            threshold: 3.0,
            min_abs_deviation: Decimal::ONE,
        }
    }
}

impl AnomalyParams {
    /// Check the parameters.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `window` (0 or over 366), `minHistory` (0 or
    /// over `window`), `threshold` (not a positive finite number) or
    /// `minAbsDeviation` (negative).
    pub fn validate(&self) -> Result<()> {
        if self.window == 0 || self.window > 366 {
            return Err(Error::invalid("window", "must be between 1 and 366 days"));
        }
        if self.min_history == 0 || self.min_history > self.window {
            return Err(Error::invalid(
                "minHistory",
                "must be between 1 and the window",
            ));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(Error::invalid("threshold", "must be a positive number"));
        }
        if self.min_abs_deviation.is_sign_negative() && !self.min_abs_deviation.is_zero() {
            return Err(Error::invalid("minAbsDeviation", "must not be negative"));
        }
        Ok(())
    }
}

fn severity(z: f64) -> Severity {
    let z = z.abs();
    if z < 4.0 {
        Severity::Low
    } else if z < 6.0 {
        Severity::Medium
    } else if z < 10.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// Anomalies of the days of `range` by `dimension` (see the module docs).
///
/// # Errors
/// [`Error::Invalid`] on `range` when it is longer than 5 years, on a
/// parameter (see [`AnomalyParams::validate`]), on `periodStart` when a
/// bucket has none, on `cost` when a sum overflows.
pub fn detect_anomalies(
    buckets: &[CostBucket],
    dimension: &Dimension,
    range: DateRange,
    params: &AnomalyParams,
    currency: Currency,
) -> Result<Vec<Anomaly>> {
    validate_range(&range)?;
    params.validate()?;
    // value -> day -> cost
    let mut series: BTreeMap<&str, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
    for b in in_currency(buckets, currency) {
        let Some(ts) = b.period_start else {
            return Err(Error::invalid(
                "periodStart",
                "anomaly detection needs buckets by day",
            ));
        };
        let value = b
            .keys
            .first()
            .and_then(|k| k.as_deref())
            .unwrap_or(UNASSIGNED);
        let e = series
            .entry(value)
            .or_default()
            .entry(ts.date())
            .or_default();
        *e = add(*e, b.cost)?;
    }
    let window = i64::from(params.window);
    let floor = params.min_abs_deviation.to_f64().unwrap_or(0.0) / params.threshold;
    let mut out = Vec::new();
    for (value, days) in &series {
        let Some(&first) = days.keys().next() else {
            continue;
        };
        let cost_on = |d: NaiveDate| days.get(&d).copied().unwrap_or(Decimal::ZERO);
        let mut flagged: BTreeSet<NaiveDate> = BTreeSet::new();
        for day in range.iter_days() {
            let mut base: Vec<Decimal> = Vec::with_capacity(params.window as usize);
            for back in (1..=window).rev() {
                let Some(d) = day.checked_sub_signed(Duration::days(back)) else {
                    continue;
                };
                if d >= first && !flagged.contains(&d) {
                    base.push(cost_on(d));
                }
            }
            if base.len() < params.min_history as usize {
                continue;
            }
            let n = Decimal::from(base.len() as u64);
            let sum = base.iter().try_fold(Decimal::ZERO, |a, c| add(a, *c))?;
            let expected = sum.checked_div(n).unwrap_or(Decimal::ZERO);
            let mean = expected.to_f64().unwrap_or(0.0);
            let var = base
                .iter()
                .map(|c| {
                    let x = c.to_f64().unwrap_or(0.0) - mean;
                    x * x
                })
                .sum::<f64>()
                / base.len() as f64;
            let sigma = var.sqrt().max(floor);
            let actual = cost_on(day);
            let diff = actual.to_f64().unwrap_or(0.0) - mean;
            let z = if sigma > 0.0 {
                diff / sigma
            } else if diff == 0.0 {
                0.0
            } else {
                // minAbsDeviation 0 and a flat baseline: any move alerts.
                diff.signum() * f64::INFINITY
            };
            if z.is_nan() || z.abs() < params.threshold {
                continue;
            }
            flagged.insert(day);
            let deviation = Decimal::from_f64(z)
                .map(|z| round(z, 2))
                .unwrap_or(if z > 0.0 { Decimal::MAX } else { Decimal::MIN });
            out.push(Anomaly {
                date: day,
                dimension: dimension.clone(),
                value: (*value).to_owned(),
                expected_cost: round(expected, 6),
                actual_cost: actual,
                deviation,
                severity: severity(z),
            });
        }
    }
    out.sort_by(|a, b| (a.date, &a.value).cmp(&(b.date, &b.value)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insight::test_util::{bucket, d};
    use rust_decimal_macros::dec;

    /// 60 days of a noisy but regular series per provider, with spikes.
    fn series(spikes: &[(&str, i64, Decimal)]) -> Vec<CostBucket> {
        let start = d("2026-08-01");
        let mut out = Vec::new();
        for (p, base) in [("openai", dec!(100)), ("anthropic", dec!(40))] {
            for i in 0..60i64 {
                // A weekly wobble of ±3%.
                let wobble = Decimal::from((i * 7) % 5 - 2) * base / dec!(66);
                let mut cost = base + wobble;
                for (sp, day, extra) in spikes {
                    if *sp == p && *day == i {
                        cost += *extra;
                    }
                }
                let date = (start + Duration::days(i)).to_string();
                out.push(bucket(Some(&date), &[Some(p)], round(cost, 2), 10));
            }
        }
        out
    }

    #[test]
    fn finds_exactly_the_injected_spikes() {
        let spikes = [
            ("openai", 20, dec!(60)),
            ("openai", 25, dec!(200)),
            ("anthropic", 40, dec!(35)),
            ("anthropic", 50, dec!(-30)),
        ];
        let b = series(&spikes);
        let range = DateRange::new(d("2026-08-01"), d("2026-09-29")).unwrap();
        let found = detect_anomalies(
            &b,
            &Dimension::Provider,
            range,
            &AnomalyParams::default(),
            Currency::USD,
        )
        .unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|a| (a.date.to_string(), a.value.as_str(), a.severity))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-08-21".to_string(), "openai", Severity::Critical),
                ("2026-08-26".to_string(), "openai", Severity::Critical),
                ("2026-09-10".to_string(), "anthropic", Severity::Critical),
                ("2026-09-20".to_string(), "anthropic", Severity::Critical),
            ]
        );
        let a = &found[0];
        assert_eq!(a.dimension, Dimension::Provider);
        assert!(a.deviation > dec!(3));
        assert!(found[3].deviation < dec!(-3));
        // No spikes: nothing.
        let quiet = detect_anomalies(
            &series(&[]),
            &Dimension::Provider,
            range,
            &AnomalyParams::default(),
            Currency::USD,
        )
        .unwrap();
        assert_eq!(quiet, vec![]);
    }

    #[test]
    fn flat_baseline_needs_the_minimum_move_and_history() {
        let mut b: Vec<CostBucket> = Vec::new();
        for v in ["x", "y"] {
            for i in 1..=10 {
                b.push(bucket(
                    Some(&format!("2026-10-{i:02}")),
                    &[Some(v)],
                    dec!(5),
                    1,
                ));
            }
        }
        // Day 11: x up 0.99 (below minAbsDeviation), y up 1.00.
        b.push(bucket(Some("2026-10-11"), &[Some("x")], dec!(5.99), 1));
        b.push(bucket(Some("2026-10-11"), &[Some("y")], dec!(6.00), 1));
        let range = DateRange::new(d("2026-10-01"), d("2026-10-11")).unwrap();
        let found = detect_anomalies(
            &b,
            &Dimension::Model,
            range,
            &AnomalyParams::default(),
            Currency::USD,
        )
        .unwrap();
        assert_eq!(
            found,
            vec![Anomaly {
                date: d("2026-10-11"),
                dimension: Dimension::Model,
                value: "y".into(),
                expected_cost: dec!(5),
                actual_cost: dec!(6.00),
                deviation: dec!(3.00),
                severity: Severity::Low,
            }]
        );
        // Fewer than 7 days of history: the first 7 days are not judged.
        let early = vec![
            bucket(Some("2026-10-01"), &[None], dec!(1), 1),
            bucket(Some("2026-10-02"), &[None], dec!(1000), 1),
        ];
        assert_eq!(
            detect_anomalies(
                &early,
                &Dimension::Team,
                range,
                &AnomalyParams::default(),
                Currency::USD
            )
            .unwrap(),
            vec![]
        );
    }

    #[test]
    fn empty_and_bad_parameters() {
        let range = DateRange::new(d("2026-10-01"), d("2026-10-12")).unwrap();
        assert_eq!(
            detect_anomalies(
                &[],
                &Dimension::Provider,
                range,
                &AnomalyParams::default(),
                Currency::USD
            )
            .unwrap(),
            vec![]
        );
        let bad = AnomalyParams {
            min_history: 20,
            ..Default::default()
        };
        assert_eq!(
            detect_anomalies(&[], &Dimension::Provider, range, &bad, Currency::USD)
                .unwrap_err()
                .field(),
            Some("minHistory")
        );
        let bad = AnomalyParams {
            threshold: f64::NAN,
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().field(), Some("threshold"));
        let e = detect_anomalies(
            &[bucket(None, &[], dec!(1), 1)],
            &Dimension::Provider,
            range,
            &AnomalyParams::default(),
            Currency::USD,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("periodStart"));
    }
}
