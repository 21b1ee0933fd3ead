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
use crate::model::{
    Anomaly, AnomalyDay, AnomalyExplanation, CostBucket, Currency, DateRange, Dimension,
    ModelChange, Severity,
};
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
            // The window and the day, for the baseline chart.
            let mut history = Vec::with_capacity(params.window as usize + 1);
            for back in (0..=window).rev() {
                let Some(d) = day.checked_sub_signed(Duration::days(back)) else {
                    continue;
                };
                if d >= first || back == 0 {
                    history.push(AnomalyDay {
                        date: d,
                        cost: cost_on(d),
                        in_baseline: back > 0 && !flagged.contains(&d),
                    });
                }
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
                history,
                explanation: None,
            });
        }
    }
    out.sort_by(|a, b| (a.date, &a.value).cmp(&(b.date, &b.value)));
    Ok(out)
}

/// One model's usage on one day, for [`explain_anomaly`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelUsage {
    /// Cost.
    pub cost: Decimal,
    /// Requests.
    pub requests: u64,
    /// Requests served from the cache.
    pub cached_requests: u64,
}

/// Split an anomaly's change against its baseline into what moved.
///
/// `usage` gives, for the anomaly's dimension value, each day's usage by
/// model; the baseline is the mean of the days of `anomaly.history` marked
/// `inBaseline` (the days its expected cost was the mean of). With `R` the
/// requests, and per model `s` its share of requests, `h` its cache hit
/// rate and `u` its cost per uncached request (cost = `R Σ s (1-h) u`), the
/// change from baseline (`b`) to the day (`d`) is taken one factor at a
/// time:
///
/// | effect | amount |
/// |---|---|
/// | volume | `(R_d - R_b) · cost_b / R_b` |
/// | model mix | `R_d · (Σ s_d c_b - cost_b / R_b)`, `c_b` a model's baseline cost per request |
/// | cache rate | `R_d · Σ s_d (h_b - h_d) u_b` |
/// | price | the rest: `actual - expected -` the three above |
///
/// so the four add up to `actualCost - expectedCost` exactly. A model new
/// on the day is taken at its own cost per request and cache rate (its cost
/// shows as mix). Amounts are rounded to 6 decimals (price takes the
/// rounding).
///
/// Returns `None` when the data has no request counts (cloud billing):
/// there is nothing to split by.
pub fn explain_anomaly(
    anomaly: &Anomaly,
    usage: &BTreeMap<NaiveDate, BTreeMap<String, ModelUsage>>,
) -> Option<AnomalyExplanation> {
    let baseline_days: Vec<NaiveDate> = anomaly
        .history
        .iter()
        .filter(|d| d.in_baseline)
        .map(|d| d.date)
        .collect();
    if baseline_days.is_empty() {
        return None;
    }
    let n = Decimal::from(baseline_days.len() as u64);
    let empty = BTreeMap::new();
    let on_day = usage.get(&anomaly.date).unwrap_or(&empty);
    // Baseline per model: means over the baseline days.
    let mut base: BTreeMap<&str, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    for day in &baseline_days {
        for (model, u) in usage.get(day).unwrap_or(&empty) {
            let e = base.entry(model.as_str()).or_default();
            e.0 = e.0.checked_add(u.cost)?;
            e.1 = e.1.checked_add(Decimal::from(u.requests))?;
            e.2 = e.2.checked_add(Decimal::from(u.cached_requests))?;
        }
    }
    for e in base.values_mut() {
        *e = (
            e.0.checked_div(n)?,
            e.1.checked_div(n)?,
            e.2.checked_div(n)?,
        );
    }
    fn sum(v: impl Iterator<Item = Decimal>) -> Option<Decimal> {
        v.into_iter()
            .try_fold(Decimal::ZERO, |a, x| a.checked_add(x))
    }
    let r_b = sum(base.values().map(|e| e.1))?;
    let r_d = on_day
        .values()
        .fold(0u64, |a, u| a.saturating_add(u.requests));
    let cached_d = on_day
        .values()
        .fold(0u64, |a, u| a.saturating_add(u.cached_requests));
    if r_b.is_zero() && r_d == 0 {
        return None;
    }
    let r_dd = Decimal::from(r_d);
    let cost_b = sum(base.values().map(|e| e.0))?;
    let delta = anomaly.actual_cost.checked_sub(anomaly.expected_cost)?;
    let (volume, mix, cache) = if r_b.is_zero() || r_d == 0 {
        // No requests on one side: it is all volume.
        (delta, Decimal::ZERO, Decimal::ZERO)
    } else {
        let cpr_b = cost_b.checked_div(r_b)?;
        let volume = r_dd.checked_sub(r_b)?.checked_mul(cpr_b)?;
        let mut mixed = Decimal::ZERO;
        let mut cache = Decimal::ZERO;
        for (model, u) in on_day {
            if u.requests == 0 {
                continue;
            }
            let req = Decimal::from(u.requests);
            let share = req.checked_div(r_dd)?;
            let h_d = Decimal::from(u.cached_requests).checked_div(req)?;
            let (c_b, h_b, u_b) = match base.get(model.as_str()) {
                Some(&(c, rq, ca)) if !rq.is_zero() => {
                    let uncached = rq.checked_sub(ca)?;
                    let u_b = if uncached.is_zero() {
                        Decimal::ZERO
                    } else {
                        c.checked_div(uncached)?
                    };
                    (c.checked_div(rq)?, ca.checked_div(rq)?, u_b)
                }
                // New on the day: its own figures (no cache effect).
                _ => (u.cost.checked_div(req)?, h_d, Decimal::ZERO),
            };
            mixed = mixed.checked_add(share.checked_mul(c_b)?)?;
            let moved = h_b.checked_sub(h_d)?.checked_mul(u_b)?;
            cache = cache.checked_add(share.checked_mul(moved)?)?;
        }
        let mix = r_dd.checked_mul(mixed.checked_sub(cpr_b)?)?;
        let cache = r_dd.checked_mul(cache)?;
        (round(volume, 6), round(mix, 6), round(cache, 6))
    };
    let price = delta
        .checked_sub(volume)?
        .checked_sub(mix)?
        .checked_sub(cache)?;
    let cached_b = sum(base.values().map(|e| e.2))?;
    let rate = |c: Decimal, r: Decimal| {
        if r.is_zero() {
            Decimal::ZERO
        } else {
            c.checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(r))
                .map(|x| round(x, 1))
                .unwrap_or_default()
        }
    };
    let mut models: Vec<(&str, Decimal)> = base
        .keys()
        .copied()
        .chain(on_day.keys().map(String::as_str))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|m| {
            let day = on_day.get(m).map(|u| u.cost).unwrap_or_default();
            let before = base.get(m).map(|e| e.0).unwrap_or_default();
            (m, day.checked_sub(before).unwrap_or_default())
        })
        .collect();
    models.sort_by(|a, b| b.1.abs().cmp(&a.1.abs()).then(a.0.cmp(b.0)));
    Some(AnomalyExplanation {
        volume,
        model_mix: mix,
        cache_rate: cache,
        price,
        requests: r_d,
        expected_requests: round(r_b, 1),
        cache_hit_rate: rate(Decimal::from(cached_d), r_dd),
        expected_cache_hit_rate: rate(cached_b, r_b),
        top_model: models
            .first()
            .filter(|(_, c)| !c.is_zero())
            .map(|(m, c)| ModelChange {
                model: (*m).to_owned(),
                change: round(*c, 6),
            }),
    })
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
                history: found[0].history.clone(),
                explanation: None,
            }]
        );
        assert_eq!(found[0].history.len(), 11);
        assert!(found[0].history[..10].iter().all(|d| d.in_baseline));
        assert!(!found[0].history[10].in_baseline);
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

    fn judged(expected: Decimal, actual: Decimal) -> Anomaly {
        let day = |s: &str, cost, in_baseline| AnomalyDay {
            date: d(s),
            cost,
            in_baseline,
        };
        Anomaly {
            date: d("2026-10-03"),
            dimension: Dimension::Team,
            value: "search".into(),
            expected_cost: expected,
            actual_cost: actual,
            deviation: dec!(5),
            severity: Severity::Medium,
            history: vec![
                day("2026-10-01", expected, true),
                day("2026-10-02", expected, true),
                day("2026-10-03", actual, false),
            ],
            explanation: None,
        }
    }

    /// (model, cost, requests, cached requests).
    type ModelRow<'a> = (&'a str, Decimal, u64, u64);

    fn usage(days: &[(&str, &[ModelRow])]) -> BTreeMap<NaiveDate, BTreeMap<String, ModelUsage>> {
        days.iter()
            .map(|(day, models)| {
                (
                    d(day),
                    models
                        .iter()
                        .map(|(m, cost, requests, cached)| {
                            (
                                (*m).to_owned(),
                                ModelUsage {
                                    cost: *cost,
                                    requests: *requests,
                                    cached_requests: *cached,
                                },
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn an_anomaly_splits_into_volume_mix_cache_and_price() {
        // Twice the requests, a quarter of them now cached: +10 volume, -5
        // cache, nothing else.
        let u = usage(&[
            ("2026-10-01", &[("a", dec!(10), 100, 0)]),
            ("2026-10-02", &[("a", dec!(10), 100, 0)]),
            ("2026-10-03", &[("a", dec!(15), 200, 50)]),
        ]);
        let e = explain_anomaly(&judged(dec!(10), dec!(15)), &u).unwrap();
        assert_eq!(
            (e.volume, e.model_mix, e.cache_rate, e.price),
            (dec!(10), dec!(0), dec!(-5), dec!(0))
        );
        assert_eq!((e.requests, e.expected_requests), (200, dec!(100)));
        assert_eq!(
            (e.cache_hit_rate, e.expected_cache_hit_rate),
            (dec!(25), dec!(0))
        );
        assert_eq!(
            e.top_model,
            Some(ModelChange {
                model: "a".into(),
                change: dec!(5)
            })
        );

        // The same requests moving to the dearer model: all mix.
        let u = usage(&[
            (
                "2026-10-01",
                &[("a", dec!(10), 100, 0), ("b", dec!(1), 100, 0)],
            ),
            (
                "2026-10-02",
                &[("a", dec!(10), 100, 0), ("b", dec!(1), 100, 0)],
            ),
            (
                "2026-10-03",
                &[("a", dec!(15), 150, 0), ("b", dec!(0.5), 50, 0)],
            ),
        ]);
        let e = explain_anomaly(&judged(dec!(11), dec!(15.5)), &u).unwrap();
        assert_eq!(
            (e.volume, e.model_mix, e.cache_rate, e.price),
            (dec!(0), dec!(4.5), dec!(0), dec!(0))
        );

        // A price rise: same requests and cache, each request dearer.
        let u = usage(&[
            ("2026-10-01", &[("a", dec!(10), 100, 20)]),
            ("2026-10-02", &[("a", dec!(10), 100, 20)]),
            ("2026-10-03", &[("a", dec!(25), 100, 20)]),
        ]);
        let e = explain_anomaly(&judged(dec!(10), dec!(25)), &u).unwrap();
        assert_eq!(
            (e.volume, e.model_mix, e.cache_rate, e.price),
            (dec!(0), dec!(0), dec!(0), dec!(15))
        );

        // A new model on the day counts as mix; the effects always add up.
        let u = usage(&[
            ("2026-10-01", &[("a", dec!(10), 100, 0)]),
            ("2026-10-02", &[("a", dec!(10), 100, 0)]),
            (
                "2026-10-03",
                &[("a", dec!(10), 100, 0), ("new", dec!(30), 50, 0)],
            ),
        ]);
        let a = judged(dec!(10), dec!(40));
        let e = explain_anomaly(&a, &u).unwrap();
        assert_eq!(e.volume + e.model_mix + e.cache_rate + e.price, dec!(30));
        assert_eq!(e.volume, dec!(5));
        assert_eq!(e.model_mix, dec!(25));

        // Cloud billing: no request counts, nothing to split by.
        let u = usage(&[
            ("2026-10-01", &[("a", dec!(10), 0, 0)]),
            ("2026-10-03", &[("a", dec!(25), 0, 0)]),
        ]);
        assert_eq!(explain_anomaly(&judged(dec!(10), dec!(25)), &u), None);
    }
}
