//! Insights over aggregate buckets: the numbers every report is built from.
//!
//! Each function takes the [`CostBucket`]s a
//! [`CostSource::aggregate`](crate::ports::CostSource::aggregate) returned
//! (plus ranges and parameters) and returns the model types the renderers
//! read. They are pure: no I/O, no clock, deterministic. The engine calls one
//! function per report section:
//!
//! | section | function | buckets it expects |
//! |---|---|---|
//! | summary | [`summary::summarize`], [`summary::summarize_with_comparison`] | any grouping (they are summed) |
//! | breakdown | [`breakdown::breakdown`] | grouped by the dimension (first key) |
//! | trend | [`trend::trend`] | bucketed by the granularity |
//! | anomalies | [`anomaly::detect_anomalies`] | grouped by the dimension, bucketed by day, covering the baseline window before the range |
//! | forecast | [`forecast::forecast`] | bucketed by day |
//! | recommendations | [`recommend::recommend`] | the results of the others |
//! | headline figures | [`summary::summary_data`] | grouped by provider and by model |
//!
//! ## Conventions
//! - A report is in one currency: buckets in any other currency than the
//!   `currency` argument are left out (a source never mixes currencies in one
//!   bucket, and summing two currencies would be meaningless).
//! - Money stays [`Decimal`]; sums use checked arithmetic and an overflow is
//!   [`Error::Invalid`] on `cost`, never a panic.
//! - Percentages are rounded half away from zero to 2 decimals
//!   ([`PERCENT_DP`]), breakdown shares to 1 decimal. A percentage of a zero
//!   whole is absent (`None`) or 0, never a division by zero.
//! - Empty data gives zeros and empty lists.
//! - Bad parameters are [`Error::Invalid`]: a range longer than 5 years
//!   ([`validate_range`]), an unknown dimension name ([`parse_dimension`]),
//!   a breakdown limit of 0.

pub mod anomaly;
pub mod breakdown;
pub mod forecast;
pub mod recommend;
pub mod summary;
pub mod trend;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::core::aggregate::MAX_QUERY_DAYS;
use crate::model::{CostBucket, Currency, DateRange, Dimension};
use crate::{Error, Result};

/// Decimals of the percentages the insights compute (cache hit rate, change).
pub const PERCENT_DP: u32 = 2;

/// Check that `range` is valid and covers at most 5 years
/// ([`MAX_QUERY_DAYS`] days).
///
/// # Errors
/// [`Error::Invalid`] on `range` when it is longer, on `dateRange.end` when
/// its end precedes its start.
pub fn validate_range(range: &DateRange) -> Result<()> {
    range.validate()?;
    if range.days() > MAX_QUERY_DAYS {
        return Err(Error::invalid(
            "range",
            format!(
                "{} days is longer than the 5 years a report may cover",
                range.days()
            ),
        ));
    }
    Ok(())
}

/// Parse a dimension name (`provider`, `model`, `model_family`, `team`,
/// `project`, `cost_center`, `feature`, `user`, `tag:<key>`).
///
/// # Errors
/// [`Error::Invalid`] on `dimension` for any other name.
pub fn parse_dimension(name: &str) -> Result<Dimension> {
    name.parse()
}

/// Round half away from zero to `dp` decimals.
pub(crate) fn round(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

pub(crate) fn overflow() -> Error {
    Error::invalid("cost", "the amounts are too large to add up exactly")
}

/// `a + b`, an error instead of an overflow.
pub(crate) fn add(a: Decimal, b: Decimal) -> Result<Decimal> {
    a.checked_add(b).ok_or_else(overflow)
}

/// `part / whole * 100` rounded to [`PERCENT_DP`], `None` when `whole` is 0.
pub(crate) fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let ratio = part.checked_div(whole)?;
    ratio
        .checked_mul(Decimal::ONE_HUNDRED)
        .map(|p| round(p, PERCENT_DP))
}

/// Change from `previous` to `current` in percent of `|previous|`, rounded
/// to [`PERCENT_DP`]; `None` when `previous` is 0. Dividing by the absolute
/// value keeps the sign of the direction when the previous period was a
/// net credit.
pub(crate) fn percent_change(current: Decimal, previous: Decimal) -> Option<Decimal> {
    let diff = current.checked_sub(previous)?;
    percent_of(diff, previous.abs())
}

/// `part / whole * 100` as a u64 ratio (cache hit rate), 0 when `whole` is 0.
pub(crate) fn count_percent(part: u64, whole: u64) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    percent_of(Decimal::from(part), Decimal::from(whole)).unwrap_or(Decimal::ZERO)
}

/// The buckets in `currency`.
pub(crate) fn in_currency(
    buckets: &[CostBucket],
    currency: Currency,
) -> impl Iterator<Item = &CostBucket> {
    buckets.iter().filter(move |b| b.currency == currency)
}

/// Label of a dimension value for people (`Unassigned` for rows without one).
pub(crate) fn value_label(value: Option<&str>) -> String {
    value.unwrap_or(UNASSIGNED).to_owned()
}

/// Label of rows lacking a dimension.
pub const UNASSIGNED: &str = "Unassigned";

#[cfg(test)]
pub(crate) mod test_util {
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use crate::model::{CostBucket, Currency};

    pub fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    pub fn bucket(
        day: Option<&str>,
        keys: &[Option<&str>],
        cost: Decimal,
        requests: u64,
    ) -> CostBucket {
        CostBucket {
            period_start: day.map(|s| d(s).and_hms_opt(0, 0, 0).unwrap()),
            keys: keys.iter().map(|k| k.map(str::to_owned)).collect(),
            currency: Currency::USD,
            cost,
            requests,
            input_tokens: requests * 100,
            output_tokens: requests * 10,
            cached_requests: requests / 4,
        }
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use test_util::d;

    #[test]
    fn percentages_never_divide_by_zero() {
        assert_eq!(percent_of(dec!(1), dec!(0)), None);
        assert_eq!(percent_of(dec!(1), dec!(3)), Some(dec!(33.33)));
        assert_eq!(percent_change(dec!(115), dec!(100)), Some(dec!(15)));
        assert_eq!(percent_change(dec!(5), dec!(0)), None);
        // A smaller credit is an increase.
        assert_eq!(percent_change(dec!(-5), dec!(-10)), Some(dec!(50)));
        assert_eq!(count_percent(1, 0), dec!(0));
        assert_eq!(count_percent(2, 3), dec!(66.67));
    }

    #[test]
    fn bad_parameters_are_invalid() {
        let long = DateRange::new(d("2020-01-01"), d("2025-01-06")).unwrap();
        match validate_range(&long).unwrap_err() {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "range");
                assert_eq!(
                    reason,
                    "1833 days is longer than the 5 years a report may cover"
                );
            }
            e => panic!("{e:?}"),
        }
        let ok = DateRange::new(d("2020-01-01"), d("2025-01-03")).unwrap();
        assert!(validate_range(&ok).is_ok());
        assert_eq!(parse_dimension("team").unwrap(), Dimension::Team);
        assert_eq!(
            parse_dimension("tag:env").unwrap(),
            Dimension::Tag("env".into())
        );
        assert_eq!(
            parse_dimension("colour").unwrap_err().field(),
            Some("dimension")
        );
    }
}
