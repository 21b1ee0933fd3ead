//! When scheduled reports and digests run, in their own time zone, and which
//! period each run reports on.
//!
//! A schedule ([`ScheduleConfig`] with a [`Frequency`]) has one *slot* per
//! run: a local calendar date of the schedule's time zone (every day, one
//! weekday a week, one day a month or one day a quarter) at the wall time
//! `time`. Slots are returned as UTC instants.
//!
//! # Calendar rules
//! - Weekly runs on `dayOfWeek` (0 = Sunday ... 6 = Saturday).
//! - Monthly runs on `dayOfMonth`; a day past the month's end means the
//!   month's last day (31 -> 30 April; 30 -> 28 February, or 29 in a leap year).
//! - Quarterly runs in the `monthOfQuarter`-th month of each quarter
//!   (quarters start in January, April, July and October), on `dayOfMonth`
//!   as for monthly.
//!
//! # Daylight saving and other offset changes
//! - A wall time that does not exist on a date (it falls in a spring-forward
//!   gap) runs at that wall time read with the UTC offset in force *before*
//!   the gap, i.e. as late into the day as the length of the gap. 02:30 in
//!   New York on 8 March 2026 runs at 03:30 EDT (07:30 UTC); 02:15 at
//!   Lord Howe Island on 5 October 2025 (a 30-minute gap) runs at 02:45
//!   local, not 03:15. This is the "compatible" rule of RFC 9557 / Temporal
//!   and of `jiff`, not a fixed "add one hour".
//! - A wall time that happens twice (fall back) runs once, at the earlier
//!   instant (01:30 EDT, not 01:30 EST).
//! - A gap that ends at midnight pushes the slot past midnight: in
//!   America/Nuuk (since 2024) 23:00 to 23:59 on the last Saturday of March
//!   do not exist, so a daily 23:30 run of that Saturday happens at 00:30 on
//!   the Sunday, and Sunday's own run at 23:30. The Saturday run still
//!   belongs to Saturday: [`report_period`] and [`next_run`] treat it so.
//! - The same rule covers every other change of offset in the tz database,
//!   including zones that changed their base offset or abolished daylight
//!   saving (America/Sao_Paulo since 2019) and days a zone skipped entirely
//!   (Pacific/Apia, 30 December 2011: that day's slot is the same instant as
//!   the next day's, so it runs once).
//!
//! # Validation
//! Functions taking a [`ScheduleConfig`] first check its ranges and return
//! [`Error::Invalid`] naming the field as a [`ScheduledReport`]'s JSON path
//! (`scheduleConfig.dayOfWeek`, `scheduleConfig.dayOfMonth`,
//! `scheduleConfig.monthOfQuarter`). The time zone and `time` are checked
//! when the config is parsed (`scheduleConfig.timezone`,
//! `scheduleConfig.time`), so no lookup by name happens here. Digest
//! functions name the digest's own fields (`dayOfWeek`). Instants so close
//! to the ends of chrono's calendar that the next slot cannot be represented
//! are [`Error::Invalid`] on `after` (or `at`, `slot`, `now`). Nothing here
//! panics.
//!
//! [`ScheduledReport`]: crate::model::ScheduledReport

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};

use crate::core::period::{clamped_date, previous_month, previous_quarter};
use crate::model::{DateRange, DigestFrequency, EmailDigestPreferences, Frequency, ScheduleConfig};
use crate::{Error, Result};

/// Prefix of the field names in validation errors of a schedule config.
const CONFIG_FIELD: &str = "scheduleConfig";

/// How many candidate dates a search may look at before giving up. A slot
/// is found after at most three candidates in every zone of the tz
/// database; the bound only guards against a runaway loop.
const MAX_CANDIDATES: usize = 16;

/// The earliest slot strictly after `after`.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use tokentra_reports::core::schedule::next_run;
/// use tokentra_reports::model::{Frequency, ScheduleConfig, TimeOfDay, Timezone};
///
/// let config = ScheduleConfig {
///     time: TimeOfDay::new(2, 30)?,
///     timezone: Timezone::parse("America/New_York")?,
///     ..ScheduleConfig::default()
/// };
/// let after: DateTime<Utc> = "2026-03-08T00:00:00Z".parse().unwrap();
/// // 02:30 does not exist that day (spring forward): 03:30 EDT.
/// assert_eq!(
///     next_run(Frequency::Daily, &config, after)?,
///     "2026-03-08T07:30:00Z".parse::<DateTime<Utc>>().unwrap()
/// );
/// # Ok::<(), tokentra_reports::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] on `scheduleConfig.dayOfWeek`, `.dayOfMonth` or
/// `.monthOfQuarter` when out of range, or on `after` when the next slot is
/// past the end of chrono's calendar.
pub fn next_run(
    frequency: Frequency,
    config: &ScheduleConfig,
    after: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    check_config(config)?;
    next_run_unchecked(frequency, config, after)
}

/// The latest slot at or before `at` (the slot that was due most recently,
/// `at` itself when it is a slot). The engine uses it to catch up a missed
/// slot once.
///
/// # Errors
/// As [`next_run`], the instant error naming `at`.
pub fn latest_slot_at_or_before(
    frequency: Frequency,
    config: &ScheduleConfig,
    at: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    check_config(config)?;
    let tz = config.timezone.tz();
    let err = || instant_out_of_range("at");
    // A slot's instant is never before its local date's start in the
    // offset before a gap, so nothing after `at`'s local date + 1 can be at
    // or before `at`.
    let start = local_date(tz, at)
        .and_then(|d| d.succ_opt())
        .ok_or_else(err)?;
    let mut date = last_candidate_on_or_before(frequency, config, start).ok_or_else(err)?;
    for _ in 0..MAX_CANDIDATES {
        let slot = slot_on(tz, config, date).map_err(|_| err())?;
        if slot <= at {
            return Ok(slot);
        }
        date = previous_candidate(frequency, config, date).ok_or_else(err)?;
    }
    Err(err())
}

/// Alias of [`latest_slot_at_or_before`]: the slot that ran most recently.
///
/// # Errors
/// As [`latest_slot_at_or_before`].
pub fn previous_run(
    frequency: Frequency,
    config: &ScheduleConfig,
    at: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    latest_slot_at_or_before(frequency, config, at)
}

/// The slot of a given local date, whether or not the date is one the
/// schedule runs on: `time` on `date` in the schedule's zone, with the
/// daylight-saving rule of this module.
///
/// # Errors
/// [`Error::Invalid`] on `date` when the instant is outside chrono's range.
pub fn slot_on_date(config: &ScheduleConfig, date: NaiveDate) -> Result<DateTime<Utc>> {
    slot_on(config.timezone.tz(), config, date)
}

/// The period the report of `slot` covers: the last complete period before
/// the slot's local date. Daily: the previous day; weekly: the 7 days ending
/// the previous day; monthly: the previous calendar month; quarterly: the
/// previous calendar quarter.
///
/// The slot's local date is its calendar date in the schedule's zone; when a
/// daylight-saving gap pushed the slot of one date past midnight into the
/// next, the date the slot belongs to is used, so consecutive slots' periods
/// still tile. `slot` need not be a slot: any instant gives the period of a
/// run at that instant.
///
/// # Errors
/// [`Error::Invalid`] on the config's fields as [`next_run`], or on `slot`
/// when the period would leave chrono's calendar.
pub fn report_period(
    frequency: Frequency,
    config: &ScheduleConfig,
    slot: DateTime<Utc>,
) -> Result<DateRange> {
    check_config(config)?;
    let date = slot_date(frequency, config, slot).ok_or_else(|| instant_out_of_range("slot"))?;
    period_before(frequency, date).map_err(|e| retarget(e, "slot"))
}

/// The local date a slot belongs to (see [`report_period`]).
fn slot_date(
    frequency: Frequency,
    config: &ScheduleConfig,
    slot: DateTime<Utc>,
) -> Option<NaiveDate> {
    let tz = config.timezone.tz();
    let date = local_datetime(tz, slot)?.date();
    let is_slot_of = |d: NaiveDate| {
        is_candidate(frequency, config, d) && slot_on(tz, config, d).ok() == Some(slot)
    };
    if is_slot_of(date) {
        return Some(date);
    }
    // A gap (up to a whole skipped day, as Pacific/Kanton and Apia had)
    // pushed the slot of the day before past midnight.
    match date.pred_opt() {
        Some(prev) if is_slot_of(prev) => Some(prev),
        _ => Some(date),
    }
}

fn period_before(frequency: Frequency, date: NaiveDate) -> Result<DateRange> {
    let err = || Error::invalid("slot", "the report period is outside chrono's calendar");
    match frequency {
        Frequency::Daily => Ok(DateRange::day(date.pred_opt().ok_or_else(err)?)),
        Frequency::Weekly => {
            let end = date.pred_opt().ok_or_else(err)?;
            let start = date.checked_sub_signed(Duration::days(7)).ok_or_else(err)?;
            Ok(DateRange { start, end })
        }
        Frequency::Monthly => previous_month(date),
        Frequency::Quarterly => previous_quarter(date),
    }
}

fn retarget(e: Error, field: &str) -> Error {
    match e {
        Error::Invalid { reason, .. } => Error::invalid(field, reason),
        other => other,
    }
}

/// The slots strictly after `after`, in order, as an iterator (see
/// [`Upcoming`]).
///
/// ```
/// use chrono::{DateTime, Utc};
/// use tokentra_reports::core::schedule::upcoming;
/// use tokentra_reports::model::{Frequency, ScheduleConfig};
///
/// let after: DateTime<Utc> = "2026-01-31T12:00:00Z".parse().unwrap();
/// let config = ScheduleConfig { day_of_month: 31, ..ScheduleConfig::default() };
/// let next: Vec<_> = upcoming(Frequency::Monthly, &config, after)
///     .take(3)
///     .collect::<Result<_, _>>()?;
/// let days: Vec<String> = next.iter().map(|t| t.format("%F %R").to_string()).collect();
/// assert_eq!(days, ["2026-02-28 09:00", "2026-03-31 09:00", "2026-04-30 09:00"]);
/// # Ok::<(), tokentra_reports::Error>(())
/// ```
pub fn upcoming(frequency: Frequency, config: &ScheduleConfig, after: DateTime<Utc>) -> Upcoming {
    Upcoming {
        frequency,
        config: *config,
        after: Some(after),
    }
}

/// Iterator over the slots of a schedule after an instant, from
/// [`upcoming`].
///
/// Yields `Ok(slot)` in strictly increasing order, one slot per run date
/// (a slot that a gap pushed past midnight belongs to the date before, see
/// the module docs). An invalid config, or reaching the end of chrono's calendar,
/// yields one `Err` and then the iterator ends (it is fused).
#[derive(Clone, Debug)]
pub struct Upcoming {
    frequency: Frequency,
    config: ScheduleConfig,
    after: Option<DateTime<Utc>>,
}

impl Iterator for Upcoming {
    type Item = Result<DateTime<Utc>>;

    fn next(&mut self) -> Option<Self::Item> {
        let after = self.after?;
        match next_run(self.frequency, &self.config, after) {
            Ok(slot) => {
                self.after = Some(slot);
                Some(Ok(slot))
            }
            Err(e) => {
                self.after = None;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Upcoming {}

/// A digest that is due: the slot it is for and the period it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DigestDue {
    /// The digest's slot: record it as `lastSentAt` once sent.
    pub slot: DateTime<Utc>,
    /// The days the digest covers: the previous local day for a daily
    /// digest, the 7 days ending the previous day for a weekly one.
    pub period: DateRange,
}

/// The schedule of a user's digest: `(frequency, config)` at the user's
/// `digestTime`, `timezone` and `dayOfWeek`, or `None` when the user
/// chose no digest.
///
/// # Errors
/// [`Error::Invalid`] on `dayOfWeek` when outside 0 to 6.
pub fn digest_schedule(
    prefs: &EmailDigestPreferences,
) -> Result<Option<(Frequency, ScheduleConfig)>> {
    let frequency = match prefs.frequency {
        DigestFrequency::Daily => Frequency::Daily,
        DigestFrequency::Weekly => Frequency::Weekly,
        DigestFrequency::None => return Ok(None),
    };
    if prefs.day_of_week > 6 {
        return Err(Error::invalid(
            "dayOfWeek",
            format!(
                "{} is outside 0 (Sunday) to 6 (Saturday)",
                prefs.day_of_week
            ),
        ));
    }
    let config = ScheduleConfig {
        time: prefs.digest_time,
        timezone: prefs.timezone,
        day_of_week: prefs.day_of_week,
        ..ScheduleConfig::default()
    };
    Ok(Some((frequency, config)))
}

/// Whether a user's digest is due at `now`, and for which slot and period.
///
/// The digest is due when its latest slot at or before `now` is later than
/// `lastSentAt` (or nothing was ever sent): a digest missed while the host
/// was down is sent once when it comes back, for the latest slot only, and a
/// slot already sent is never sent again. `None` when not due or when the
/// user's frequency is `none`.
///
/// # Errors
/// [`Error::Invalid`] on `dayOfWeek` when outside 0 to 6, or on `now` at the
/// ends of chrono's calendar.
pub fn digest_due(prefs: &EmailDigestPreferences, now: DateTime<Utc>) -> Result<Option<DigestDue>> {
    let Some((frequency, config)) = digest_schedule(prefs)? else {
        return Ok(None);
    };
    let slot = latest_slot_at_or_before(frequency, &config, now).map_err(|e| retarget(e, "now"))?;
    if prefs.last_sent_at.is_some_and(|sent| slot <= sent) {
        return Ok(None);
    }
    let date = slot_date(frequency, &config, slot).ok_or_else(|| instant_out_of_range("now"))?;
    let period = period_before(frequency, date).map_err(|e| retarget(e, "now"))?;
    Ok(Some(DigestDue { slot, period }))
}

/// The next digest slot strictly after `after`, or `None` for no digest.
///
/// # Errors
/// As [`digest_due`], the instant error naming `after`.
pub fn next_digest(
    prefs: &EmailDigestPreferences,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    match digest_schedule(prefs)? {
        Some((frequency, config)) => next_run_unchecked(frequency, &config, after).map(Some),
        None => Ok(None),
    }
}

fn check_config(config: &ScheduleConfig) -> Result<()> {
    config.validate().map_err(|e| e.in_field(CONFIG_FIELD))
}

fn instant_out_of_range(field: &str) -> Error {
    Error::invalid(
        field,
        "the schedule's slots around this instant are outside chrono's calendar",
    )
}

fn next_run_unchecked(
    frequency: Frequency,
    config: &ScheduleConfig,
    after: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let tz = config.timezone.tz();
    let err = || instant_out_of_range("after");
    let today = local_date(tz, after).ok_or_else(err)?;
    let mut date = first_candidate_on_or_after(frequency, config, today).ok_or_else(err)?;
    let first = slot_on(tz, config, date).map_err(|_| err())?;
    if first > after {
        // Slots never go down from one run date to the next, so the only
        // earlier slot that can still lie after `after` is the run of the day
        // before `after`'s local date, when a gap pushed it past midnight.
        if let Some(yesterday) = today.pred_opt() {
            if is_candidate(frequency, config, yesterday) {
                if let Ok(slot) = slot_on(tz, config, yesterday) {
                    if slot > after {
                        return Ok(slot);
                    }
                }
            }
        }
        return Ok(first);
    }
    for _ in 0..MAX_CANDIDATES {
        date = next_candidate(frequency, config, date).ok_or_else(err)?;
        let slot = slot_on(tz, config, date).map_err(|_| err())?;
        if slot > after {
            return Ok(slot);
        }
    }
    Err(err())
}

/// The wall time of `at` in `tz`; `None` past the ends of chrono's calendar
/// (where `DateTime::naive_local` would panic).
fn local_datetime(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    at.naive_utc().checked_add_offset(offset)
}

fn local_date(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDate> {
    local_datetime(tz, at).map(|t| t.date())
}

/// `time` on `date` in `tz`, with the gap and fold rules of the module.
fn slot_on(tz: Tz, config: &ScheduleConfig, date: NaiveDate) -> Result<DateTime<Utc>> {
    resolve_local(tz, date.and_time(config.time.naive()))
}

fn resolve_local(tz: Tz, local: NaiveDateTime) -> Result<DateTime<Utc>> {
    let bad = || Error::invalid("date", format!("{local} is outside chrono's range"));
    match tz.offset_from_local_datetime(&local) {
        chrono::LocalResult::Single(offset) => to_utc(local, offset.fix()).ok_or_else(bad),
        chrono::LocalResult::Ambiguous(a, b) => {
            let a = to_utc(local, a.fix()).ok_or_else(bad)?;
            let b = to_utc(local, b.fix()).ok_or_else(bad)?;
            Ok(a.min(b))
        }
        chrono::LocalResult::None => {
            // In a gap: read the wall time with the offset in force just
            // before the gap.
            let before = GapInfo::new(&local, &tz)
                .and_then(|gap| gap.begin)
                .map(|(_, offset)| offset.fix())
                .ok_or_else(bad)?;
            to_utc(local, before).ok_or_else(bad)
        }
    }
}

fn to_utc(local: NaiveDateTime, offset: chrono::FixedOffset) -> Option<DateTime<Utc>> {
    local
        .checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
        .map(|t| t.and_utc())
}

/// Whether the schedule runs on `date`.
fn is_candidate(frequency: Frequency, config: &ScheduleConfig, date: NaiveDate) -> bool {
    match frequency {
        Frequency::Daily => true,
        Frequency::Weekly => date.weekday().num_days_from_sunday() == u32::from(config.day_of_week),
        Frequency::Monthly => month_slot(config, date.year(), date.month()) == Some(date),
        Frequency::Quarterly => {
            date.month0() % 3 + 1 == u32::from(config.month_of_quarter)
                && month_slot(config, date.year(), date.month()) == Some(date)
        }
    }
}

fn month_slot(config: &ScheduleConfig, year: i32, month: u32) -> Option<NaiveDate> {
    clamped_date(year, month, u32::from(config.day_of_month))
}

/// Months between runs and the month index (year * 12 + month0) of the run
/// month at or after `index`.
fn run_month_at_or_after(frequency: Frequency, config: &ScheduleConfig, index: i64) -> i64 {
    match frequency {
        Frequency::Quarterly => {
            let offset = i64::from(config.month_of_quarter) - 1;
            let quarter_start = index - index.rem_euclid(3);
            let m = quarter_start + offset;
            if m >= index {
                m
            } else {
                m + 3
            }
        }
        _ => index,
    }
}

fn month_step(frequency: Frequency) -> i64 {
    if frequency == Frequency::Quarterly {
        3
    } else {
        1
    }
}

fn month_index(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

fn slot_of_month_index(config: &ScheduleConfig, index: i64) -> Option<NaiveDate> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    month_slot(config, year, month)
}

/// The first date on or after `date` the schedule runs on.
fn first_candidate_on_or_after(
    frequency: Frequency,
    config: &ScheduleConfig,
    date: NaiveDate,
) -> Option<NaiveDate> {
    match frequency {
        Frequency::Daily => Some(date),
        Frequency::Weekly => {
            let today = i64::from(date.weekday().num_days_from_sunday());
            let ahead = (i64::from(config.day_of_week) - today).rem_euclid(7);
            date.checked_add_signed(Duration::days(ahead))
        }
        Frequency::Monthly | Frequency::Quarterly => {
            let mut m = run_month_at_or_after(frequency, config, month_index(date));
            let slot = slot_of_month_index(config, m)?;
            if slot >= date {
                return Some(slot);
            }
            m += month_step(frequency);
            slot_of_month_index(config, m)
        }
    }
}

/// The last date on or before `date` the schedule runs on.
fn last_candidate_on_or_before(
    frequency: Frequency,
    config: &ScheduleConfig,
    date: NaiveDate,
) -> Option<NaiveDate> {
    match frequency {
        Frequency::Daily => Some(date),
        Frequency::Weekly => {
            let today = i64::from(date.weekday().num_days_from_sunday());
            let back = (today - i64::from(config.day_of_week)).rem_euclid(7);
            date.checked_sub_signed(Duration::days(back))
        }
        Frequency::Monthly | Frequency::Quarterly => {
            let step = month_step(frequency);
            let mut m = run_month_at_or_after(frequency, config, month_index(date));
            // `m` is the run month at or after this month: step back until
            // its slot is on or before `date` (at most twice).
            for _ in 0..3 {
                let slot = slot_of_month_index(config, m);
                if let Some(slot) = slot {
                    if slot <= date {
                        return Some(slot);
                    }
                }
                m -= step;
            }
            None
        }
    }
}

/// The date of the run after the one on `date` (a candidate date).
fn next_candidate(
    frequency: Frequency,
    config: &ScheduleConfig,
    date: NaiveDate,
) -> Option<NaiveDate> {
    match frequency {
        Frequency::Daily => date.succ_opt(),
        Frequency::Weekly => date.checked_add_signed(Duration::days(7)),
        Frequency::Monthly | Frequency::Quarterly => {
            slot_of_month_index(config, month_index(date) + month_step(frequency))
        }
    }
}

/// The date of the run before the one on `date` (a candidate date).
fn previous_candidate(
    frequency: Frequency,
    config: &ScheduleConfig,
    date: NaiveDate,
) -> Option<NaiveDate> {
    match frequency {
        Frequency::Daily => date.pred_opt(),
        Frequency::Weekly => date.checked_sub_signed(Duration::days(7)),
        Frequency::Monthly | Frequency::Quarterly => {
            slot_of_month_index(config, month_index(date) - month_step(frequency))
        }
    }
}

/// Whether the schedule runs on the local date `date` (weekly: its weekday;
/// monthly and quarterly: its clamped day of a run month).
///
/// # Errors
/// [`Error::Invalid`] on the config's fields as [`next_run`].
pub fn runs_on(frequency: Frequency, config: &ScheduleConfig, date: NaiveDate) -> Result<bool> {
    check_config(config)?;
    Ok(is_candidate(frequency, config, date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TimeOfDay, Timezone};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn config(tz: &str, hh: u32, mm: u32) -> ScheduleConfig {
        ScheduleConfig {
            time: TimeOfDay::new(hh, mm).unwrap(),
            timezone: Timezone::parse(tz).unwrap(),
            ..ScheduleConfig::default()
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn daily_in_utc() {
        let c = config("UTC", 9, 0);
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-05-01T08:59:59Z")).unwrap(),
            utc("2026-05-01T09:00:00Z")
        );
        // Strictly after: a slot equal to `after` is not returned.
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-05-01T09:00:00Z")).unwrap(),
            utc("2026-05-02T09:00:00Z")
        );
        assert_eq!(
            latest_slot_at_or_before(Frequency::Daily, &c, utc("2026-05-01T09:00:00Z")).unwrap(),
            utc("2026-05-01T09:00:00Z")
        );
        assert_eq!(
            previous_run(Frequency::Daily, &c, utc("2026-05-01T08:59:59Z")).unwrap(),
            utc("2026-04-30T09:00:00Z")
        );
    }

    #[test]
    fn weekly_uses_sunday_zero() {
        let mut c = config("Europe/Paris", 8, 0);
        c.day_of_week = 0;
        // Wednesday 2026-05-06 -> Sunday 2026-05-10 08:00 CEST.
        assert_eq!(
            next_run(Frequency::Weekly, &c, utc("2026-05-06T12:00:00Z")).unwrap(),
            utc("2026-05-10T06:00:00Z")
        );
        c.day_of_week = 6;
        assert_eq!(
            next_run(Frequency::Weekly, &c, utc("2026-05-06T12:00:00Z")).unwrap(),
            utc("2026-05-09T06:00:00Z")
        );
        assert_eq!(
            latest_slot_at_or_before(Frequency::Weekly, &c, utc("2026-05-06T12:00:00Z")).unwrap(),
            utc("2026-05-02T06:00:00Z")
        );
    }

    #[test]
    fn monthly_clamps_to_the_last_day() {
        let mut c = config("UTC", 9, 0);
        c.day_of_month = 31;
        let got: Vec<_> = upcoming(Frequency::Monthly, &c, utc("2024-01-01T00:00:00Z"))
            .take(5)
            .map(|r| r.unwrap().date_naive())
            .collect();
        assert_eq!(
            got,
            [
                d("2024-01-31"),
                d("2024-02-29"),
                d("2024-03-31"),
                d("2024-04-30"),
                d("2024-05-31")
            ]
        );
        c.day_of_month = 29;
        let got: Vec<_> = upcoming(Frequency::Monthly, &c, utc("2025-01-30T00:00:00Z"))
            .take(3)
            .map(|r| r.unwrap().date_naive())
            .collect();
        assert_eq!(got, [d("2025-02-28"), d("2025-03-29"), d("2025-04-29")]);
        c.day_of_month = 30;
        assert_eq!(
            next_run(Frequency::Monthly, &c, utc("2024-02-01T00:00:00Z")).unwrap(),
            utc("2024-02-29T09:00:00Z")
        );
    }

    #[test]
    fn quarterly_honours_month_of_quarter() {
        let mut c = config("UTC", 6, 0);
        c.day_of_month = 31;
        c.month_of_quarter = 2;
        let got: Vec<_> = upcoming(Frequency::Quarterly, &c, utc("2026-01-15T00:00:00Z"))
            .take(4)
            .map(|r| r.unwrap().date_naive())
            .collect();
        assert_eq!(
            got,
            [
                d("2026-02-28"),
                d("2026-05-31"),
                d("2026-08-31"),
                d("2026-11-30")
            ]
        );
        c.month_of_quarter = 3;
        c.day_of_month = 1;
        assert_eq!(
            next_run(Frequency::Quarterly, &c, utc("2026-03-01T06:00:00Z")).unwrap(),
            utc("2026-06-01T06:00:00Z")
        );
        assert_eq!(
            latest_slot_at_or_before(Frequency::Quarterly, &c, utc("2026-02-28T00:00:00Z"))
                .unwrap(),
            utc("2025-12-01T06:00:00Z")
        );
        c.month_of_quarter = 1;
        assert_eq!(
            next_run(Frequency::Quarterly, &c, utc("2026-01-01T06:00:00Z")).unwrap(),
            utc("2026-04-01T06:00:00Z")
        );
    }

    #[test]
    fn new_york_gap_and_fold() {
        let c = config("America/New_York", 2, 30);
        // Spring forward 2026-03-08: 02:30 does not exist -> 03:30 EDT.
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-03-08T00:00:00Z")).unwrap(),
            utc("2026-03-08T07:30:00Z")
        );
        // Not "add one hour" to the UTC of the previous day's offset either:
        // the day before runs at 02:30 EST = 07:30 UTC, the day after at
        // 02:30 EDT = 06:30 UTC.
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-03-07T00:00:00Z")).unwrap(),
            utc("2026-03-07T07:30:00Z")
        );
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-03-08T07:30:00Z")).unwrap(),
            utc("2026-03-09T06:30:00Z")
        );
        // Fall back 2026-11-01: 01:30 happens twice; runs once, at 01:30 EDT.
        let c = config("America/New_York", 1, 30);
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-11-01T00:00:00Z")).unwrap(),
            utc("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-11-01T05:30:00Z")).unwrap(),
            utc("2026-11-02T06:30:00Z")
        );
        // Between the two 01:30s the latest slot is the first one.
        assert_eq!(
            latest_slot_at_or_before(Frequency::Daily, &c, utc("2026-11-01T06:15:00Z")).unwrap(),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn lord_howe_half_hour_gap() {
        // Lord Howe: +10:30 standard, +11 in summer; on 2025-10-05 the clock
        // goes from 02:00 to 02:30. 02:15 runs at 02:45 local (+11), which is
        // 02:15 read at +10:30 = 15:45 UTC the day before. "Add one hour"
        // would give 03:15 local = 16:15 UTC.
        let c = config("Australia/Lord_Howe", 2, 15);
        let slot = next_run(Frequency::Daily, &c, utc("2025-10-04T12:00:00Z")).unwrap();
        assert_eq!(slot, utc("2025-10-04T15:45:00Z"));
        let local = slot.with_timezone(&c.timezone.tz());
        assert_eq!(
            local.format("%F %R %:z").to_string(),
            "2025-10-05 02:45 +11:00"
        );
        assert_ne!(slot, utc("2025-10-04T16:15:00Z"));
        // Fall back 2026-04-05: 01:30 (+11) then 01:30 again (+10:30) ->
        // the earlier one, 14:30 UTC.
        let c = config("Australia/Lord_Howe", 1, 45);
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-04-04T12:00:00Z")).unwrap(),
            utc("2026-04-04T14:45:00Z")
        );
        assert_eq!(
            next_run(Frequency::Daily, &c, utc("2026-04-04T14:45:00Z")).unwrap(),
            utc("2026-04-05T15:15:00Z")
        );
    }

    #[test]
    fn skipped_day_runs_once() {
        // Samoa skipped 30 December 2011 (-10 -> +14).
        let c = config("Pacific/Apia", 9, 0);
        let got: Vec<_> = upcoming(Frequency::Daily, &c, utc("2011-12-28T00:00:00Z"))
            .take(4)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got,
            [
                utc("2011-12-28T19:00:00Z"),
                utc("2011-12-29T19:00:00Z"),
                // 30 Dec 09:00 read at -10 = 31 Dec 09:00 +14: one run for both.
                utc("2011-12-30T19:00:00Z"),
                utc("2011-12-31T19:00:00Z"),
            ]
        );
    }

    #[test]
    fn report_periods() {
        let mut c = config("Asia/Tokyo", 7, 0);
        // 2026-03-01 07:00 JST = 2026-02-28T22:00Z: local date 1 March.
        let slot = utc("2026-02-28T22:00:00Z");
        assert_eq!(
            report_period(Frequency::Daily, &c, slot).unwrap(),
            DateRange::day(d("2026-02-28"))
        );
        assert_eq!(
            report_period(Frequency::Weekly, &c, slot).unwrap(),
            DateRange::new(d("2026-02-22"), d("2026-02-28")).unwrap()
        );
        assert_eq!(
            report_period(Frequency::Monthly, &c, slot).unwrap(),
            DateRange::new(d("2026-02-01"), d("2026-02-28")).unwrap()
        );
        assert_eq!(
            report_period(Frequency::Quarterly, &c, slot).unwrap(),
            DateRange::new(d("2025-10-01"), d("2025-12-31")).unwrap()
        );
        c.day_of_week = 7;
        assert_eq!(
            report_period(Frequency::Daily, &c, slot)
                .unwrap_err()
                .field(),
            Some("scheduleConfig.dayOfWeek")
        );
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let after = utc("2026-01-01T00:00:00Z");
        type Break = fn(&mut ScheduleConfig);
        let cases: [(Break, &str); 5] = [
            (|c| c.day_of_week = 9, "scheduleConfig.dayOfWeek"),
            (|c| c.day_of_month = 0, "scheduleConfig.dayOfMonth"),
            (|c| c.day_of_month = 32, "scheduleConfig.dayOfMonth"),
            (|c| c.month_of_quarter = 0, "scheduleConfig.monthOfQuarter"),
            (|c| c.month_of_quarter = 4, "scheduleConfig.monthOfQuarter"),
        ];
        for (break_it, field) in cases {
            let mut c = ScheduleConfig::default();
            break_it(&mut c);
            for f in [
                Frequency::Daily,
                Frequency::Weekly,
                Frequency::Monthly,
                Frequency::Quarterly,
            ] {
                let e = next_run(f, &c, after).unwrap_err();
                assert!(
                    matches!(&e, Error::Invalid { field: got, .. } if got == field),
                    "{e}"
                );
                let e = latest_slot_at_or_before(f, &c, after).unwrap_err();
                assert_eq!(e.field(), Some(field));
                let mut it = upcoming(f, &c, after);
                assert_eq!(it.next().unwrap().unwrap_err().field(), Some(field));
                assert!(it.next().is_none());
                assert_eq!(
                    runs_on(f, &c, d("2026-01-01")).unwrap_err().field(),
                    Some(field)
                );
            }
        }
    }

    #[test]
    fn calendar_ends_are_errors_not_panics() {
        let c = config("Pacific/Kiritimati", 23, 59);
        for f in [
            Frequency::Daily,
            Frequency::Weekly,
            Frequency::Monthly,
            Frequency::Quarterly,
        ] {
            let e = next_run(f, &c, DateTime::<Utc>::MAX_UTC).unwrap_err();
            assert_eq!(e.field(), Some("after"));
            let e = latest_slot_at_or_before(f, &c, DateTime::<Utc>::MIN_UTC).unwrap_err();
            assert_eq!(e.field(), Some("at"));
            assert!(report_period(f, &c, DateTime::<Utc>::MIN_UTC).is_err());
        }
    }

    #[test]
    fn candidates() {
        let mut c = ScheduleConfig {
            day_of_month: 31,
            month_of_quarter: 3,
            ..ScheduleConfig::default()
        };
        assert!(runs_on(Frequency::Quarterly, &c, d("2026-09-30")).unwrap());
        assert!(!runs_on(Frequency::Quarterly, &c, d("2026-08-31")).unwrap());
        assert!(runs_on(Frequency::Monthly, &c, d("2026-02-28")).unwrap());
        c.day_of_week = 0;
        assert!(runs_on(Frequency::Weekly, &c, d("2026-05-10")).unwrap());
        assert!(!runs_on(Frequency::Weekly, &c, d("2026-05-11")).unwrap());
        assert_eq!(
            slot_on_date(&c, d("2026-05-10")).unwrap(),
            utc("2026-05-10T09:00:00Z")
        );
    }
}
