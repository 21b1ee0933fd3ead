//! Projection of cost to the end of a period (the month by default; a
//! report over a month that is over forecasts the next month, see
//! [`forecast_ahead`]).
//!
//! ## Method: linear least squares (`linear_least_squares`)
//! The observed range gives a zero-filled daily series `y_0..y_{n-1}`. The
//! line `ŷ_t = ȳ + b (t - t̄)` with `t̄ = (n-1)/2` and
//! `b = Σ (t - t̄) y_t / Σ (t - t̄)²` is fitted in exact decimal arithmetic,
//! so a perfectly linear series is projected exactly (with one day, `b` is
//! 0 and the projection is flat). Each day after the observed range up to
//! `periodEnd` gets `ŷ_t`, rounded to 6 decimals; when the series has no
//! negative day (no credits) a projected day is never below 0.
//! `projectedTotal` is the observed cost plus the projected days.
//!
//! The 80% interval is `projectedTotal ± z·s·sqrt(h + h²/n + (Σ_j (t_j - t̄))² / Σ (t - t̄)²)`
//! with `z = 1.2816` (normal approximation), `h` the projected days and `s²`
//! the residual variance `Σ (y_t - ŷ_t)² / (n - 2)`, the variance of a sum
//! of `h` future days under the fitted model. It is computed in `f64` and
//! rounded to 6 decimals. With fewer than 3 observed days, or a perfect fit,
//! the interval is the projection itself.

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

use super::{add, in_currency, overflow, round, validate_range};
use crate::model::{
    CostBucket, Currency, DateRange, Forecast, ForecastBacktest, ForecastHorizon, ForecastPoint,
};
use crate::{Error, Result};

/// `method` of the forecasts this module makes.
pub const METHOD: &str = "linear_least_squares";

/// Two-sided 80% quantile of the standard normal distribution.
const Z80: f64 = 1.281_551_565_544_600_4;

/// Decimals of the forecast amounts.
pub const FORECAST_DP: u32 = 6;

/// The last day of `day`'s month.
pub fn end_of_month(day: NaiveDate) -> NaiveDate {
    let first_next = if day.month() == 12 {
        NaiveDate::from_ymd_opt(day.year().saturating_add(1), 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
    };
    first_next.and_then(|d| d.pred_opt()).unwrap_or(day)
}

/// [`forecast`] to the end of the month of `observed.end`.
///
/// # Errors
/// As [`forecast`].
pub fn forecast_month(
    buckets: &[CostBucket],
    observed: DateRange,
    currency: Currency,
) -> Result<Forecast> {
    let f = forecast(buckets, observed, end_of_month(observed.end), currency)?;
    let month_start = observed.end.with_day(1).unwrap_or(observed.end);
    if observed.start >= month_start {
        return Ok(f);
    }
    // The observed range began in an earlier month (a week across a month's
    // end): the forecast is of this month, so the days before it are fitted
    // on but not counted.
    let mut before = Decimal::ZERO;
    for b in in_currency(buckets, currency) {
        if let Some(ts) = b.period_start {
            let day = ts.date();
            if day >= observed.start && day < month_start {
                before = add(before, b.cost)?;
            }
        }
    }
    // (The lower bound stays at or above the actual: both lose `before`.)
    let less = |v: Decimal| v.checked_sub(before).ok_or_else(overflow);
    Ok(Forecast {
        period_start: Some(month_start),
        actual_to_date: less(f.actual_to_date)?,
        projected_total: less(f.projected_total)?,
        lower_bound: less(f.lower_bound)?,
        upper_bound: less(f.upper_bound)?,
        ..f
    })
}

/// The forecast a report shows: when `observed` ends on the last day of a
/// month (a month, quarter or year that is over), the next calendar month,
/// on its own (`periodStart` set, `actualToDate` 0, amounts of that month
/// only); otherwise [`forecast_month`], the rest of the month of
/// `observed.end`.
///
/// # Errors
/// As [`forecast`].
pub fn forecast_ahead(
    buckets: &[CostBucket],
    observed: DateRange,
    currency: Currency,
) -> Result<Forecast> {
    if end_of_month(observed.end) != observed.end {
        return forecast_month(buckets, observed, currency);
    }
    let Some(next_start) = observed.end.succ_opt() else {
        return forecast_month(buckets, observed, currency);
    };
    let next_end = end_of_month(next_start);
    let f = forecast(buckets, observed, next_end, currency)?;
    // The next month alone: what was spent before it is not part of it.
    // (Without credits the lower bound is at least the actual, so these
    // stay at or above zero.)
    let already = f.actual_to_date;
    let less = |v: Decimal| v.checked_sub(already).ok_or_else(overflow);
    Ok(Forecast {
        period_start: Some(next_start),
        actual_to_date: Decimal::ZERO,
        projected_total: less(f.projected_total)?,
        lower_bound: less(f.lower_bound)?,
        upper_bound: less(f.upper_bound)?,
        ..f
    })
}

/// Project the daily cost of `buckets` (bucketed by day; those outside
/// `observed` and in another currency are left out) from `observed` to
/// `period_end` (see the module docs). A `period_end` on or before
/// `observed.end` projects nothing: the total is the observed cost.
///
/// # Errors
/// [`Error::Invalid`] on `range` when `observed` or the span to
/// `period_end` is longer than 5 years, on `periodStart` when a bucket has
/// none, on `cost` when the amounts overflow.
pub fn forecast(
    buckets: &[CostBucket],
    observed: DateRange,
    period_end: NaiveDate,
    currency: Currency,
) -> Result<Forecast> {
    validate_range(&observed)?;
    if period_end > observed.end {
        validate_range(&DateRange::new(observed.start, period_end)?)?;
    }
    let fit = Fit::new(buckets, observed, currency)?;
    let horizon = (period_end - observed.end).num_days().max(0);
    let mut points = Vec::with_capacity(usize::try_from(horizon).unwrap_or(0));
    let mut projected = fit.actual;
    for k in 1..=horizon {
        let cost = fit.day(fit.n - 1 + k)?;
        projected = add(projected, cost)?;
        points.push(ForecastPoint {
            date: observed.end + Duration::days(k),
            cost,
        });
    }
    let margin = fit.margin(fit.n..fit.n + horizon);
    let projected_total = round(projected, FORECAST_DP);
    let mut lower_bound = round(
        projected_total.checked_sub(margin).ok_or_else(overflow)?,
        FORECAST_DP,
    );
    // Spend already incurred stays: without credits (negative amounts) the
    // total cannot end below what was spent so far.
    if fit.no_credits && lower_bound < fit.actual {
        lower_bound = round(fit.actual, FORECAST_DP);
    }
    Ok(Forecast {
        method: METHOD.to_owned(),
        period_start: None,
        period_end: period_end.max(observed.end),
        actual_to_date: fit.actual,
        projected_total,
        lower_bound,
        upper_bound: round(add(projected_total, margin)?, FORECAST_DP),
        points,
        outlook: Vec::new(),
        fitted_on: None,
        backtest: None,
    })
}

/// The least-squares line through a daily series (see the module docs).
struct Fit {
    /// Observed days.
    n: i64,
    /// Observed cost.
    actual: Decimal,
    mean: Decimal,
    slope: Decimal,
    /// Σu² with u = 2(t - t̄).
    suu: Decimal,
    /// Residual variance (`None` below 3 days).
    s2: Option<f64>,
    /// No negative day: projected days are never below 0.
    no_credits: bool,
}

impl Fit {
    fn new(buckets: &[CostBucket], observed: DateRange, currency: Currency) -> Result<Fit> {
        let n = usize::try_from(observed.days()).unwrap_or(0).max(1);
        let mut y = vec![Decimal::ZERO; n];
        for b in in_currency(buckets, currency) {
            let Some(ts) = b.period_start else {
                return Err(Error::invalid(
                    "periodStart",
                    "a forecast needs buckets by day",
                ));
            };
            if !observed.contains(ts.date()) {
                continue;
            }
            let t = usize::try_from((ts.date() - observed.start).num_days()).unwrap_or(0);
            if let Some(slot) = y.get_mut(t) {
                *slot = add(*slot, b.cost)?;
            }
        }
        let actual = y.iter().try_fold(Decimal::ZERO, |a, c| add(a, *c))?;
        let no_credits = y.iter().all(|c| !c.is_sign_negative() || c.is_zero());
        // Work with u = 2(t - t̄) = 2t - (n - 1), an integer.
        let n_i = i64::try_from(n).map_err(|_| overflow())?;
        let mean = actual
            .checked_div(Decimal::from(n_i))
            .ok_or_else(overflow)?;
        // Σu² = n(n² - 1)/3.
        let suu = Decimal::from(i128::from(n_i) * (i128::from(n_i) * i128::from(n_i) - 1) / 3);
        let mut suy = Decimal::ZERO;
        for (t, yt) in y.iter().enumerate() {
            let term = Decimal::from(2 * t as i64 - (n_i - 1))
                .checked_mul(*yt)
                .ok_or_else(overflow)?;
            suy = add(suy, term)?;
        }
        // b = Σ(t-t̄)y / Σ(t-t̄)² = (Σuy/2) / (Σu²/4) = 2Σuy / Σu².
        let slope = if suu.is_zero() {
            Decimal::ZERO
        } else {
            suy.checked_mul(Decimal::TWO)
                .and_then(|x| x.checked_div(suu))
                .ok_or_else(overflow)?
        };
        let mut fit = Fit {
            n: n_i,
            actual,
            mean,
            slope,
            suu,
            s2: None,
            no_credits,
        };
        if n >= 3 {
            let mut sse = 0.0f64;
            for (t, yt) in y.iter().enumerate() {
                let r = yt
                    .checked_sub(fit.predict(t as i64)?)
                    .ok_or_else(overflow)?;
                let r = r.to_f64().unwrap_or(0.0);
                sse += r * r;
            }
            fit.s2 = Some(sse / (n as f64 - 2.0));
        }
        Ok(fit)
    }

    /// ŷ at day index `t` (0 is the first observed day).
    fn predict(&self, t: i64) -> Result<Decimal> {
        let half_u = Decimal::from(2 * t - (self.n - 1))
            .checked_div(Decimal::TWO)
            .ok_or_else(overflow)?;
        let v = self.slope.checked_mul(half_u).ok_or_else(overflow)?;
        add(self.mean, v)
    }

    /// The projected cost of day `t`, rounded, never below 0 without credits.
    fn day(&self, t: i64) -> Result<Decimal> {
        let cost = round(self.predict(t)?, FORECAST_DP);
        Ok(if self.no_credits && cost.is_sign_negative() {
            Decimal::ZERO
        } else {
            cost
        })
    }

    /// Half-width of the 80% interval of the sum of the days `ts`.
    fn margin(&self, ts: std::ops::Range<i64>) -> Decimal {
        let Some(s2) = self.s2.filter(|_| !ts.is_empty()) else {
            return Decimal::ZERO;
        };
        let h = (ts.end - ts.start) as f64;
        let sum_u: f64 = ts.map(|t| (2 * t - (self.n - 1)) as f64 / 2.0).sum();
        let sxx = self.suu.to_f64().unwrap_or(1.0) / 4.0;
        let var = s2 * (h + h * h / self.n as f64 + sum_u * sum_u / sxx);
        let margin = Z80 * var.sqrt();
        Decimal::from_f64(if margin.is_finite() { margin } else { 0.0 })
            .map(|m| round(m, FORECAST_DP))
            .unwrap_or(Decimal::ZERO)
    }

    /// The projected total of the days `from..=to` (after the observed
    /// range) with its interval, the lower bound never below 0 without
    /// credits.
    fn window(
        &self,
        observed_end: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(Decimal, Decimal, Decimal)> {
        let first = self.n - 1 + (from - observed_end).num_days().max(1);
        let last = self.n - 1 + (to - observed_end).num_days();
        let mut total = Decimal::ZERO;
        for t in first..=last {
            total = add(total, self.day(t)?)?;
        }
        let margin = self.margin(first..last + 1);
        let mut lower = total.checked_sub(margin).ok_or_else(overflow)?;
        if self.no_credits && lower.is_sign_negative() {
            lower = Decimal::ZERO;
        }
        Ok((total, lower, add(total, margin)?))
    }
}

/// The first day of the calendar quarter after the one of `day`.
fn next_quarter_start(day: NaiveDate) -> Option<NaiveDate> {
    let q = (day.month() - 1) / 3;
    if q == 3 {
        NaiveDate::from_ymd_opt(day.year().checked_add(1)?, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), q * 3 + 4, 1)
    }
}

/// The next calendar month and the next calendar quarter after
/// `observed.end`'s, projected with the fit of `observed` (the same line
/// and interval as [`forecast`]).
///
/// # Errors
/// As [`forecast`].
pub fn outlook(
    buckets: &[CostBucket],
    observed: DateRange,
    currency: Currency,
) -> Result<Vec<ForecastHorizon>> {
    validate_range(&observed)?;
    let fit = Fit::new(buckets, observed, currency)?;
    let mut out = Vec::new();
    let month = end_of_month(observed.end)
        .succ_opt()
        .map(|s| (s, end_of_month(s)));
    let quarter = next_quarter_start(observed.end).and_then(|s| {
        let third = s.checked_add_months(chrono::Months::new(2))?;
        Some((s, end_of_month(third)))
    });
    for (name, span) in [("next_month", month), ("next_quarter", quarter)] {
        let Some((start, end)) = span else { continue };
        validate_range(&DateRange::new(observed.start, end)?)?;
        let (projected_total, lower_bound, upper_bound) = fit.window(observed.end, start, end)?;
        out.push(ForecastHorizon {
            horizon: name.to_owned(),
            period_start: start,
            period_end: end,
            projected_total,
            lower_bound,
            upper_bound,
        });
    }
    Ok(out)
}

/// Fewest days with cost a forecast is made from.
pub const MIN_HISTORY_DAYS: u32 = 7;

/// Most folds a backtest measures.
pub const BACKTEST_FOLDS: u32 = 6;

/// Days before `observed.start` of daily history the engine asks for, so
/// [`backtest`] has its folds: the folds a week apart and one horizon.
pub fn history_days_needed(observed: DateRange, horizon_days: u32) -> i64 {
    observed.days() + i64::from(horizon_days) + 7 * i64::from(BACKTEST_FOLDS)
}

/// Days of `buckets` (in `currency`, within `observed`) with any cost.
pub fn days_with_cost(buckets: &[CostBucket], observed: DateRange, currency: Currency) -> u32 {
    let days: std::collections::BTreeSet<NaiveDate> = in_currency(buckets, currency)
        .filter(|b| !b.cost.is_zero())
        .filter_map(|b| b.period_start.map(|t| t.date()))
        .filter(|d| observed.contains(*d))
        .collect();
    u32::try_from(days.len()).unwrap_or(u32::MAX)
}

/// The error of the method on past data: at origins a week apart going
/// back from the last day that leaves a whole horizon before
/// `history.end`, fit on the `fit_days` days before the origin, project the
/// next `horizon_days`, and compare the projected total with the actual one.
/// The folds start no earlier than the first day with cost in `history` and
/// skip horizons that cost nothing. `mape` is the mean of
/// `|projected - actual| / actual` over the folds, in percent. `None` with
/// fewer than 2 folds.
///
/// # Errors
/// As [`forecast`].
pub fn backtest(
    buckets: &[CostBucket],
    history: DateRange,
    fit_days: u32,
    horizon_days: u32,
    currency: Currency,
) -> Result<Option<ForecastBacktest>> {
    validate_range(&history)?;
    if fit_days == 0 || horizon_days == 0 {
        return Ok(None);
    }
    let Some(first) = in_currency(buckets, currency)
        .filter(|b| !b.cost.is_zero())
        .filter_map(|b| b.period_start.map(|t| t.date()))
        .filter(|d| history.contains(*d))
        .min()
    else {
        return Ok(None);
    };
    let mut actual_by_day: std::collections::BTreeMap<NaiveDate, Decimal> = Default::default();
    for b in in_currency(buckets, currency) {
        if let Some(t) = b.period_start {
            let e = actual_by_day.entry(t.date()).or_default();
            *e = add(*e, b.cost)?;
        }
    }
    let mut errors: Vec<f64> = Vec::new();
    // The last origin: its horizon ends on history.end.
    let mut fit_end = history.end - Duration::days(i64::from(horizon_days));
    for _ in 0..BACKTEST_FOLDS {
        let fit_start = fit_end - Duration::days(i64::from(fit_days) - 1);
        if fit_start < first || fit_start < history.start {
            break;
        }
        let fitted = DateRange::new(fit_start, fit_end)?;
        let fit = Fit::new(buckets, fitted, currency)?;
        let from = fit_end + Duration::days(1);
        let to = fit_end + Duration::days(i64::from(horizon_days));
        let (projected, _, _) = fit.window(fit_end, from, to)?;
        let actual = actual_by_day
            .range(from..=to)
            .try_fold(Decimal::ZERO, |a, (_, c)| add(a, *c))?;
        if !actual.is_zero() {
            let err = projected
                .checked_sub(actual)
                .and_then(|d| d.abs().checked_div(actual.abs()))
                .ok_or_else(overflow)?;
            errors.push(err.to_f64().unwrap_or(0.0));
        }
        fit_end -= Duration::days(7);
    }
    if errors.len() < 2 {
        return Ok(None);
    }
    let mape = errors.iter().sum::<f64>() / errors.len() as f64 * 100.0;
    Ok(Some(ForecastBacktest {
        folds: u32::try_from(errors.len()).unwrap_or(u32::MAX),
        fit_days,
        horizon_days,
        mape: Decimal::from_f64(mape)
            .map(|m| round(m, 1))
            .unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insight::test_util::{bucket, d};
    use rust_decimal_macros::dec;

    fn daily(start: &str, costs: &[Decimal]) -> Vec<CostBucket> {
        costs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let day = (d(start) + Duration::days(i as i64)).to_string();
                bucket(Some(&day), &[], *c, 1)
            })
            .collect()
    }

    #[test]
    fn a_linear_series_is_projected_exactly() {
        let costs: Vec<Decimal> = (0..10)
            .map(|t| dec!(10.01) + dec!(2.37) * Decimal::from(t))
            .collect();
        let b = daily("2026-11-01", &costs);
        let obs = DateRange::new(d("2026-11-01"), d("2026-11-10")).unwrap();
        let f = forecast_month(&b, obs, Currency::USD).unwrap();
        assert_eq!(f.method, "linear_least_squares");
        assert_eq!(f.period_end, d("2026-11-30"));
        assert_eq!(f.points.len(), 20);
        for (k, p) in f.points.iter().enumerate() {
            let t = Decimal::from(10 + k as i64);
            assert_eq!(p.cost, dec!(10.01) + dec!(2.37) * t, "{}", p.date);
        }
        assert_eq!(f.points[0].date, d("2026-11-11"));
        assert_eq!(f.points[19].cost, dec!(78.74));
        // Σ_{t=0}^{29} (10.01 + 2.37 t) = 300.3 + 2.37 * 435.
        assert_eq!(f.actual_to_date, dec!(206.75));
        assert_eq!(f.projected_total, dec!(1331.25));
        assert_eq!(f.lower_bound, f.projected_total);
        assert_eq!(f.upper_bound, f.projected_total);
    }

    #[test]
    fn least_squares_with_an_interval() {
        let b = daily("2026-02-25", &[dec!(1), dec!(3), dec!(2)]);
        let obs = DateRange::new(d("2026-02-25"), d("2026-02-27")).unwrap();
        let f = forecast_month(&b, obs, Currency::USD).unwrap();
        assert_eq!(f.period_end, d("2026-02-28"));
        assert_eq!(
            f.points,
            vec![ForecastPoint {
                date: d("2026-02-28"),
                cost: dec!(3)
            }]
        );
        let f = forecast(&b, obs, d("2026-03-01"), Currency::USD).unwrap();
        assert_eq!(
            f.points.iter().map(|p| p.cost).collect::<Vec<_>>(),
            vec![dec!(3), dec!(3.5)]
        );
        assert_eq!(f.actual_to_date, dec!(6));
        assert_eq!(f.projected_total, dec!(12.5));
        // s² = 1.5, var = 1.5 (2 + 4/3 + 25/2) = 23.75, margin = z sqrt(23.75).
        assert_eq!(f.lower_bound, dec!(6.254490));
        assert_eq!(f.upper_bound, dec!(18.745510));
    }

    #[test]
    fn a_month_that_is_over_forecasts_the_next_month() {
        // October, one euro more each day: November continues the line.
        let costs: Vec<Decimal> = (1..=31).map(Decimal::from).collect();
        let b = daily("2026-10-01", &costs);
        let october = DateRange::new(d("2026-10-01"), d("2026-10-31")).unwrap();
        let f = forecast_ahead(&b, october, Currency::USD).unwrap();
        assert_eq!(f.period_start, Some(d("2026-11-01")));
        assert_eq!(f.period_end, d("2026-11-30"));
        assert_eq!(f.actual_to_date, dec!(0));
        // Σ_{k=32}^{61} k = 1395.
        assert_eq!(f.projected_total, dec!(1395));
        assert_eq!(f.points.len(), 30);
        assert_eq!(f.points[0].date, d("2026-11-01"));
        assert_eq!((f.lower_bound, f.upper_bound), (dec!(1395), dec!(1395)));
        // A month under way is projected to its end, as before.
        let part = DateRange::new(d("2026-10-01"), d("2026-10-10")).unwrap();
        let f = forecast_ahead(&b, part, Currency::USD).unwrap();
        assert_eq!(f.period_start, None);
        assert_eq!(f.period_end, d("2026-10-31"));
        assert_eq!(f.actual_to_date, dec!(55));
    }

    #[test]
    fn a_week_across_a_months_end_forecasts_the_new_month_only() {
        // 26 October to 1 November, 10 a day: November is 30 x 10, with 10
        // spent so far; October's days are fitted on but not counted.
        let b = daily("2026-10-26", &[dec!(10); 7]);
        let week = DateRange::new(d("2026-10-26"), d("2026-11-01")).unwrap();
        let f = forecast_month(&b, week, Currency::USD).unwrap();
        assert_eq!(f.period_start, Some(d("2026-11-01")));
        assert_eq!(f.period_end, d("2026-11-30"));
        assert_eq!(f.actual_to_date, dec!(10));
        assert_eq!(f.projected_total, dec!(300));
        assert!(f.lower_bound >= f.actual_to_date);
    }

    #[test]
    fn edges() {
        let obs = DateRange::new(d("2026-11-01"), d("2026-11-10")).unwrap();
        let f = forecast_month(&[], obs, Currency::USD).unwrap();
        assert_eq!(f.projected_total, dec!(0));
        assert_eq!(f.points.len(), 20);
        assert!(f.points.iter().all(|p| p.cost.is_zero()));
        // A falling series does not project negative costs.
        let b = daily("2026-11-01", &[dec!(30), dec!(20), dec!(10)]);
        let obs = DateRange::new(d("2026-11-01"), d("2026-11-03")).unwrap();
        let f = forecast(&b, obs, d("2026-11-06"), Currency::USD).unwrap();
        assert_eq!(
            f.points.iter().map(|p| p.cost).collect::<Vec<_>>(),
            vec![dec!(0), dec!(0), dec!(0)]
        );
        // Nothing to project.
        let f = forecast(&b, obs, d("2026-11-02"), Currency::USD).unwrap();
        assert_eq!(f.points, vec![]);
        assert_eq!(f.projected_total, dec!(60));
        assert_eq!(f.period_end, d("2026-11-03"));
        // One day: flat.
        let one = DateRange::day(d("2026-11-01"));
        let f = forecast(&b, one, d("2026-11-03"), Currency::USD).unwrap();
        assert_eq!(
            f.points.iter().map(|p| p.cost).collect::<Vec<_>>(),
            vec![dec!(30), dec!(30)]
        );
        assert_eq!(f.lower_bound, dec!(90));
        // A noisy series with a wide interval: the lower bound never drops
        // below what was already spent (the weekly digest said
        // -$14,980.20), and never below zero.
        let noisy = daily(
            "2026-10-26",
            &[
                dec!(5000),
                dec!(100),
                dec!(9000),
                dec!(50),
                dec!(7000),
                dec!(10),
                dec!(0),
            ],
        );
        let week = DateRange::new(d("2026-10-26"), d("2026-11-01")).unwrap();
        let f = forecast(&noisy, week, d("2026-11-30"), Currency::USD).unwrap();
        assert_eq!(f.actual_to_date, dec!(21160));
        assert_eq!(f.lower_bound, f.actual_to_date, "{f:?}");
        assert!(f.upper_bound > f.projected_total);
        let e = forecast(&b, obs, d("2040-01-01"), Currency::USD).unwrap_err();
        assert_eq!(e.field(), Some("range"));
        assert_eq!(end_of_month(d("2024-02-10")), d("2024-02-29"));
        assert_eq!(end_of_month(d("2026-12-31")), d("2026-12-31"));
    }

    #[test]
    fn the_outlook_projects_next_month_and_next_quarter() {
        // October, one more each day: the line continues.
        let costs: Vec<Decimal> = (1..=31).map(Decimal::from).collect();
        let b = daily("2026-10-01", &costs);
        let october = DateRange::new(d("2026-10-01"), d("2026-10-31")).unwrap();
        let o = outlook(&b, october, Currency::USD).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].horizon, "next_month");
        assert_eq!(
            (o[0].period_start, o[0].period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        // Σ_{k=32}^{61} k.
        assert_eq!(o[0].projected_total, dec!(1395));
        assert_eq!(o[1].horizon, "next_quarter");
        assert_eq!(
            (o[1].period_start, o[1].period_end),
            (d("2027-01-01"), d("2027-03-31"))
        );
        // 1 January is day 93; Σ_{k=93}^{182} k = 12375.
        assert_eq!(o[1].projected_total, dec!(12375));
        assert_eq!(
            (o[1].lower_bound, o[1].upper_bound),
            (dec!(12375), dec!(12375))
        );
        // Mid-quarter: the next quarter is the following one.
        let may = DateRange::new(d("2026-05-01"), d("2026-05-20")).unwrap();
        let o = outlook(&daily("2026-05-01", &costs[..20]), may, Currency::USD).unwrap();
        assert_eq!(
            (o[0].period_start, o[1].period_start),
            (d("2026-06-01"), d("2026-07-01"))
        );
        // Noisy spend with a falling trend: intervals never go below zero.
        let noisy: Vec<Decimal> = (0..31)
            .map(|t| Decimal::from(100 - 3 * t + (t % 3) * 20))
            .collect();
        let o = outlook(&daily("2026-10-01", &noisy), october, Currency::USD).unwrap();
        for h in &o {
            assert!(h.lower_bound >= Decimal::ZERO && h.lower_bound <= h.projected_total);
            assert!(h.projected_total <= h.upper_bound);
        }
    }

    #[test]
    fn the_backtest_measures_past_forecasts() {
        // A perfect line over August to October: every fold is exact.
        let costs: Vec<Decimal> = (1..=92).map(Decimal::from).collect();
        let b = daily("2026-08-01", &costs);
        let history = DateRange::new(d("2026-08-01"), d("2026-10-31")).unwrap();
        let t = backtest(&b, history, 31, 30, Currency::USD)
            .unwrap()
            .unwrap();
        // Origins 1 Oct, 24, 17, 10 and 3 September; 27 August would fit
        // from July, before the data.
        assert_eq!(t.folds, 5);
        assert_eq!((t.fit_days, t.horizon_days), (31, 30));
        assert_eq!(t.mape, dec!(0));
        // Spend that steps from 10 to 20 a day on 17 October: the folds
        // whose horizon holds the step are off.
        let flat = daily("2026-08-01", &vec![dec!(10); 92]);
        let mut jump = flat.clone();
        jump.extend(daily("2026-10-17", &vec![dec!(10); 15]));
        let t = backtest(&jump, history, 14, 14, Currency::USD)
            .unwrap()
            .unwrap();
        assert!(t.mape > dec!(0) && t.mape < dec!(100), "{}", t.mape);
        // Too little history for two folds.
        let short = DateRange::new(d("2026-08-01"), d("2026-09-09")).unwrap();
        assert_eq!(backtest(&b, short, 31, 30, Currency::USD).unwrap(), None);
        assert_eq!(backtest(&[], history, 31, 30, Currency::USD).unwrap(), None);
    }
}
