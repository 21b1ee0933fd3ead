//! Calendar periods: date range presets resolved against a reference date,
//! comparison periods, and the calendar months and quarters around a date.
//!
//! Every function works on local calendar dates ([`NaiveDate`]); which day
//! is "today" in which time zone is the caller's decision (a schedule's
//! slot gives it, see [`core::schedule`](crate::core::schedule)).
//!
//! Edge behaviour, all pinned by tests:
//! - A [`DateRange`] is inclusive: `last_7_days` on 2026-03-10 is
//!   2026-03-03 to 2026-03-09 (seven complete days, today excluded).
//! - Shifting a date back by months clamps a day past the month's end to its
//!   last day (31 May -> 30 April, 29 February 2024 -> 28 February 2023).
//! - A range that is made of whole calendar months (it starts on a 1st and
//!   ends on a month's last day) shifts to whole months: March maps to the
//!   whole of February, February 2024 to the whole of February 2023.
//! - Dates at the very ends of chrono's calendar (around year ±262,000) have
//!   no neighbour to move to: the functions return [`Error::Invalid`] naming
//!   `today` or `dateRange` instead of panicking.

use chrono::{Datelike, Duration, NaiveDate};

use crate::model::{ComparisonPeriod, DateRange, DateRangePreset};
use crate::{Error, Result};

fn out_of_range(field: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid(
        field,
        format!("{what} is outside the supported calendar range"),
    )
}

/// The last day of `month` (1 to 12) of `year`, or `None` when the month is
/// not a month or the year is outside chrono's range.
pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month.checked_add(1)?)
    };
    if !(1..=12).contains(&month) {
        return None;
    }
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

/// Day `day` of `month` of `year`, a day past the month's end meaning its
/// last day (`(2026, 4, 31)` is 30 April, `(2024, 2, 30)` is 29 February).
/// `None` when `day` is 0, the month is not 1 to 12, or the year is outside
/// chrono's range.
pub fn clamped_date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if day == 0 {
        return None;
    }
    let last = last_day_of_month(year, month)?;
    if day >= last.day() {
        Some(last)
    } else {
        last.with_day(day)
    }
}

/// The first day of the month of `date`.
pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    // Day 1 exists in every month chrono can represent.
    date.with_day(1).unwrap_or(date)
}

/// The whole calendar month containing `date`.
pub fn month_of(date: NaiveDate) -> DateRange {
    let start = first_of_month(date);
    let end = last_day_of_month(date.year(), date.month()).unwrap_or(date);
    DateRange { start, end }
}

/// The calendar quarter (1 to 4) of `date`; quarters start in January,
/// April, July and October.
pub fn quarter_number(date: NaiveDate) -> u32 {
    date.month0() / 3 + 1
}

/// The whole calendar quarter containing `date`.
pub fn quarter_of(date: NaiveDate) -> DateRange {
    let first_month = date.month0() / 3 * 3 + 1;
    let start = NaiveDate::from_ymd_opt(date.year(), first_month, 1).unwrap_or(date);
    let end = last_day_of_month(date.year(), first_month + 2).unwrap_or(date);
    DateRange { start, end }
}

/// The previous complete calendar month of `date` (for any day of March
/// 2026: 1 to 28 February 2026).
///
/// # Errors
/// [`Error::Invalid`] on `date` when the month before does not exist in
/// chrono's calendar.
pub fn previous_month(date: NaiveDate) -> Result<DateRange> {
    let last = first_of_month(date)
        .pred_opt()
        .ok_or_else(|| out_of_range("date", "the month before"))?;
    Ok(month_of(last))
}

/// The previous complete calendar quarter of `date` (for any day of April to
/// June 2026: 1 January to 31 March 2026).
///
/// # Errors
/// [`Error::Invalid`] on `date` when the quarter before does not exist in
/// chrono's calendar.
pub fn previous_quarter(date: NaiveDate) -> Result<DateRange> {
    let last = quarter_of(date)
        .start
        .pred_opt()
        .ok_or_else(|| out_of_range("date", "the quarter before"))?;
    Ok(quarter_of(last))
}

/// The earliest date a report may cover.
pub const EARLIEST_REPORT_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// How far past `today` a report's period may end.
pub const MAX_DAYS_AHEAD: i64 = 366;

/// Check that a requested period lies in a sane window around `today`:
/// from [`EARLIEST_REPORT_DATE`] to [`MAX_DAYS_AHEAD`] days after `today`
/// (the span itself is bounded by the cost query's 5 years). Far dates are
/// refused before any record exists, so no date arithmetic on them can
/// overflow later.
///
/// # Errors
/// [`Error::Invalid`] on `field`.
pub fn check_window(field: &str, range: DateRange, today: NaiveDate) -> Result<()> {
    range.validate().map_err(|e| match e {
        Error::Invalid { reason, .. } => Error::invalid(field, reason),
        other => other,
    })?;
    if range.start < EARLIEST_REPORT_DATE {
        return Err(Error::invalid(
            field,
            format!("{} is before {EARLIEST_REPORT_DATE}", range.start),
        ));
    }
    let latest = today
        .checked_add_signed(Duration::days(MAX_DAYS_AHEAD))
        .unwrap_or(today);
    if range.end > latest {
        return Err(Error::invalid(
            field,
            format!(
                "{} is more than {MAX_DAYS_AHEAD} days ahead of {today}",
                range.end
            ),
        ));
    }
    Ok(())
}

/// Resolve a preset against the reference date `today` (see
/// [`DateRangePreset`] for each preset's meaning). Ranges ending "today"
/// include `today`; `last_N_days` are the N complete days ending yesterday.
///
/// # Errors
/// [`Error::Invalid`] on `today` when the range would leave chrono's calendar.
pub fn resolve_preset(preset: DateRangePreset, today: NaiveDate) -> Result<DateRange> {
    let yesterday = || {
        today
            .pred_opt()
            .ok_or_else(|| out_of_range("today", "the day before"))
    };
    let last_days = |n: i64| -> Result<DateRange> {
        let end = yesterday()?;
        let start = today
            .checked_sub_signed(Duration::days(n))
            .ok_or_else(|| out_of_range("today", format!("{n} days before")))?;
        Ok(DateRange { start, end })
    };
    match preset {
        DateRangePreset::Yesterday => Ok(DateRange::day(yesterday()?)),
        DateRangePreset::Last7Days => last_days(7),
        DateRangePreset::Last30Days => last_days(30),
        DateRangePreset::Last90Days => last_days(90),
        DateRangePreset::ThisMonth => Ok(DateRange {
            start: first_of_month(today),
            end: today,
        }),
        DateRangePreset::LastMonth => previous_month(today).map_err(|e| retarget(e, "today")),
        DateRangePreset::ThisQuarter => Ok(DateRange {
            start: quarter_of(today).start,
            end: today,
        }),
        DateRangePreset::LastQuarter => previous_quarter(today).map_err(|e| retarget(e, "today")),
        DateRangePreset::YearToDate => Ok(DateRange {
            start: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
            end: today,
        }),
        DateRangePreset::LastYear => {
            let year = today
                .year()
                .checked_sub(1)
                .ok_or_else(|| out_of_range("today", "the year before"))?;
            match (
                NaiveDate::from_ymd_opt(year, 1, 1),
                NaiveDate::from_ymd_opt(year, 12, 31),
            ) {
                (Some(start), Some(end)) => Ok(DateRange { start, end }),
                _ => Err(out_of_range("today", "the year before")),
            }
        }
    }
}

fn retarget(e: Error, field: &str) -> Error {
    match e {
        Error::Invalid { reason, .. } => Error::invalid(field, reason),
        other => other,
    }
}

/// The period `range` compares itself with (see [`ComparisonPeriod`]).
///
/// # Errors
/// [`Error::Invalid`] on `dateRange` when `range` ends before it starts or
/// the comparison period would leave chrono's calendar.
pub fn comparison_period(range: DateRange, comparison: ComparisonPeriod) -> Result<DateRange> {
    match comparison {
        ComparisonPeriod::PreviousPeriod => previous_period(range),
        ComparisonPeriod::SamePeriodLastMonth => same_period_last_month(range),
        ComparisonPeriod::SamePeriodLastYear => same_period_last_year(range),
    }
}

/// The same number of days as `range`, ending the day before `range.start`
/// (1 to 14 March -> 15 to 28 February).
///
/// # Errors
/// [`Error::Invalid`] on `dateRange` when `range` is inverted or the period
/// would leave chrono's calendar.
pub fn previous_period(range: DateRange) -> Result<DateRange> {
    range.validate()?;
    let end = range
        .start
        .pred_opt()
        .ok_or_else(|| out_of_range("dateRange", "the previous period"))?;
    let start = range
        .start
        .checked_sub_signed(Duration::days(range.days()))
        .ok_or_else(|| out_of_range("dateRange", "the previous period"))?;
    Ok(DateRange { start, end })
}

/// Both ends of `range` one month back, a day past the month's end clamped to
/// its last day (31 March -> 28 or 29 February). A range of whole calendar
/// months maps to whole months (March -> all of February; 1 April to 30 June
/// -> 1 March to 31 May).
///
/// # Errors
/// [`Error::Invalid`] on `dateRange` when `range` is inverted or the period
/// would leave chrono's calendar.
pub fn same_period_last_month(range: DateRange) -> Result<DateRange> {
    shift_months(range, 1)
}

/// Both ends of `range` one year back, 29 February mapping to 28 February; a
/// range of whole calendar months maps to the same whole months a year
/// earlier (February 2025 -> 1 to 29 February 2024).
///
/// # Errors
/// [`Error::Invalid`] on `dateRange` when `range` is inverted or the period
/// would leave chrono's calendar.
pub fn same_period_last_year(range: DateRange) -> Result<DateRange> {
    shift_months(range, 12)
}

fn shift_months(range: DateRange, months: u32) -> Result<DateRange> {
    range.validate()?;
    let whole_months = range.start.day() == 1
        && last_day_of_month(range.end.year(), range.end.month()) == Some(range.end);
    let err = || out_of_range("dateRange", "the comparison period");
    let start = months_back(range.start, months, range.start.day()).ok_or_else(err)?;
    let end_day = if whole_months { 31 } else { range.end.day() };
    let end = months_back(range.end, months, end_day).ok_or_else(err)?;
    Ok(DateRange { start, end })
}

/// `date` moved `months` months back, on `day` clamped to that month.
fn months_back(date: NaiveDate, months: u32, day: u32) -> Option<NaiveDate> {
    let index = i64::from(date.year()) * 12 + i64::from(date.month0()) - i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    clamped_date(year, month, day)
}

/// A period's name: `October 2026` for a whole calendar month,
/// `2026-10-05` for one day, `2026-10-01 to 2026-10-15` otherwise. Report
/// names are made from it.
pub fn label(range: DateRange) -> String {
    let whole_month = range.start.day() == 1
        && range.start.year() == range.end.year()
        && range.start.month() == range.end.month()
        && range.end.succ_opt().is_none_or(|d| d.day() == 1);
    if whole_month {
        range.start.format("%B %Y").to_string()
    } else if range.start == range.end {
        range.start.to_string()
    } else {
        format!("{} to {}", range.start, range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn r(a: &str, b: &str) -> DateRange {
        DateRange::new(d(a), d(b)).unwrap()
    }

    #[test]
    fn presets_resolve_against_today() {
        let today = d("2026-05-15");
        let cases = [
            (DateRangePreset::Yesterday, r("2026-05-14", "2026-05-14")),
            (DateRangePreset::Last7Days, r("2026-05-08", "2026-05-14")),
            (DateRangePreset::Last30Days, r("2026-04-15", "2026-05-14")),
            (DateRangePreset::Last90Days, r("2026-02-14", "2026-05-14")),
            (DateRangePreset::ThisMonth, r("2026-05-01", "2026-05-15")),
            (DateRangePreset::LastMonth, r("2026-04-01", "2026-04-30")),
            (DateRangePreset::ThisQuarter, r("2026-04-01", "2026-05-15")),
            (DateRangePreset::LastQuarter, r("2026-01-01", "2026-03-31")),
            (DateRangePreset::YearToDate, r("2026-01-01", "2026-05-15")),
            (DateRangePreset::LastYear, r("2025-01-01", "2025-12-31")),
        ];
        for (preset, want) in cases {
            assert_eq!(resolve_preset(preset, today).unwrap(), want, "{preset:?}");
        }
        for (preset, n) in [
            (DateRangePreset::Last7Days, 7),
            (DateRangePreset::Last30Days, 30),
            (DateRangePreset::Last90Days, 90),
        ] {
            assert_eq!(resolve_preset(preset, today).unwrap().days(), n);
        }
    }

    #[test]
    fn presets_at_year_and_quarter_boundaries() {
        let today = d("2026-01-01");
        assert_eq!(
            resolve_preset(DateRangePreset::Yesterday, today).unwrap(),
            r("2025-12-31", "2025-12-31")
        );
        assert_eq!(
            resolve_preset(DateRangePreset::LastMonth, today).unwrap(),
            r("2025-12-01", "2025-12-31")
        );
        assert_eq!(
            resolve_preset(DateRangePreset::LastQuarter, today).unwrap(),
            r("2025-10-01", "2025-12-31")
        );
        assert_eq!(
            resolve_preset(DateRangePreset::ThisMonth, today).unwrap(),
            r("2026-01-01", "2026-01-01")
        );
        assert_eq!(
            resolve_preset(DateRangePreset::LastMonth, d("2024-03-31")).unwrap(),
            r("2024-02-01", "2024-02-29")
        );
        assert_eq!(
            resolve_preset(DateRangePreset::ThisQuarter, d("2026-12-31")).unwrap(),
            r("2026-10-01", "2026-12-31")
        );
    }

    #[test]
    fn presets_at_the_edge_of_the_calendar_are_errors() {
        let e = resolve_preset(DateRangePreset::Yesterday, NaiveDate::MIN).unwrap_err();
        assert_eq!(e.field(), Some("today"));
        let e = resolve_preset(DateRangePreset::LastMonth, NaiveDate::MIN).unwrap_err();
        assert_eq!(e.field(), Some("today"));
        let e = resolve_preset(DateRangePreset::LastYear, NaiveDate::MIN).unwrap_err();
        assert_eq!(e.field(), Some("today"));
        assert_eq!(
            resolve_preset(DateRangePreset::ThisMonth, NaiveDate::MAX)
                .unwrap()
                .end,
            NaiveDate::MAX
        );
    }

    #[test]
    fn months_and_quarters() {
        assert_eq!(month_of(d("2024-02-10")), r("2024-02-01", "2024-02-29"));
        assert_eq!(quarter_of(d("2026-08-31")), r("2026-07-01", "2026-09-30"));
        assert_eq!(quarter_number(d("2026-08-31")), 3);
        assert_eq!(
            previous_month(d("2026-01-15")).unwrap(),
            r("2025-12-01", "2025-12-31")
        );
        assert_eq!(
            previous_quarter(d("2026-02-15")).unwrap(),
            r("2025-10-01", "2025-12-31")
        );
        assert_eq!(
            previous_quarter(d("2026-06-30")).unwrap(),
            r("2026-01-01", "2026-03-31")
        );
        assert_eq!(clamped_date(2026, 4, 31), Some(d("2026-04-30")));
        assert_eq!(clamped_date(2024, 2, 31), Some(d("2024-02-29")));
        assert_eq!(clamped_date(2023, 2, 29), Some(d("2023-02-28")));
        assert_eq!(clamped_date(2026, 2, 0), None);
        assert_eq!(clamped_date(2026, 13, 1), None);
        assert_eq!(last_day_of_month(2026, 0), None);
        assert_eq!(last_day_of_month(i32::MAX, 12), None);
        assert_eq!(
            previous_month(NaiveDate::MIN).unwrap_err().field(),
            Some("date")
        );
    }

    #[test]
    fn previous_period_has_the_same_length() {
        assert_eq!(
            previous_period(r("2026-03-01", "2026-03-14")).unwrap(),
            r("2026-02-15", "2026-02-28")
        );
        assert_eq!(
            previous_period(r("2026-03-01", "2026-03-31")).unwrap(),
            r("2026-01-29", "2026-02-28")
        );
        assert_eq!(
            previous_period(r("2026-03-05", "2026-03-05")).unwrap(),
            r("2026-03-04", "2026-03-04")
        );
        let bad = DateRange {
            start: d("2026-03-05"),
            end: d("2026-03-01"),
        };
        assert_eq!(
            previous_period(bad).unwrap_err().field(),
            Some("dateRange.end")
        );
        let e = previous_period(DateRange::day(NaiveDate::MIN)).unwrap_err();
        assert_eq!(e.field(), Some("dateRange"));
    }

    #[test]
    fn same_period_last_month_clamps() {
        let cases = [
            // Partial ranges: both ends shift, clamped to the month's end.
            (r("2026-03-10", "2026-03-20"), r("2026-02-10", "2026-02-20")),
            (r("2026-03-29", "2026-03-31"), r("2026-02-28", "2026-02-28")),
            (r("2024-03-15", "2024-03-30"), r("2024-02-15", "2024-02-29")),
            (r("2026-05-31", "2026-05-31"), r("2026-04-30", "2026-04-30")),
            (r("2026-01-10", "2026-01-20"), r("2025-12-10", "2025-12-20")),
            // Whole months map to whole months.
            (r("2026-03-01", "2026-03-31"), r("2026-02-01", "2026-02-28")),
            (r("2026-02-01", "2026-02-28"), r("2026-01-01", "2026-01-31")),
            (r("2024-03-01", "2024-03-31"), r("2024-02-01", "2024-02-29")),
            (r("2026-04-01", "2026-06-30"), r("2026-03-01", "2026-05-31")),
            // Ends on a month's last day but does not start on a 1st.
            (r("2026-02-15", "2026-02-28"), r("2026-01-15", "2026-01-28")),
        ];
        for (range, want) in cases {
            assert_eq!(same_period_last_month(range).unwrap(), want, "{range}");
        }
    }

    #[test]
    fn same_period_last_year_clamps_leap_days() {
        let cases = [
            (r("2026-03-10", "2026-03-20"), r("2025-03-10", "2025-03-20")),
            (r("2024-02-29", "2024-02-29"), r("2023-02-28", "2023-02-28")),
            (r("2024-02-01", "2024-02-29"), r("2023-02-01", "2023-02-28")),
            (r("2025-02-01", "2025-02-28"), r("2024-02-01", "2024-02-29")),
            (r("2025-02-10", "2025-02-28"), r("2024-02-10", "2024-02-28")),
            (r("2026-01-01", "2026-12-31"), r("2025-01-01", "2025-12-31")),
        ];
        for (range, want) in cases {
            assert_eq!(same_period_last_year(range).unwrap(), want, "{range}");
        }
        assert_eq!(
            comparison_period(
                r("2026-03-01", "2026-03-14"),
                ComparisonPeriod::PreviousPeriod
            )
            .unwrap(),
            r("2026-02-15", "2026-02-28")
        );
        assert_eq!(
            comparison_period(
                r("2026-03-01", "2026-03-31"),
                ComparisonPeriod::SamePeriodLastMonth
            )
            .unwrap(),
            r("2026-02-01", "2026-02-28")
        );
        assert_eq!(
            comparison_period(
                r("2026-03-01", "2026-03-31"),
                ComparisonPeriod::SamePeriodLastYear
            )
            .unwrap(),
            r("2025-03-01", "2025-03-31")
        );
        let e = same_period_last_year(DateRange::day(NaiveDate::MIN)).unwrap_err();
        assert_eq!(e.field(), Some("dateRange"));
    }
}
