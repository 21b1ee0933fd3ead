//! Calendar types: inclusive date ranges, presets, comparison periods, time
//! zones and wall-clock times as the specification's JSON writes them.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// An inclusive range of local calendar dates, `[start, end]`.
///
/// Serializes as `{"start":"YYYY-MM-DD","end":"YYYY-MM-DD"}`.
/// [`DateRange::new`] and deserialization both reject an end before the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DateRange {
    /// First day, included.
    pub start: NaiveDate,
    /// Last day, included.
    pub end: NaiveDate,
}

impl DateRange {
    /// A range from `start` to `end`, both included.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `dateRange.end` when `end` precedes `start`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self> {
        if end < start {
            return Err(Error::invalid(
                "dateRange.end",
                format!("end {end} is before start {start}"),
            ));
        }
        Ok(DateRange { start, end })
    }

    /// A range of one day.
    pub fn day(day: NaiveDate) -> Self {
        DateRange {
            start: day,
            end: day,
        }
    }

    /// Number of days in the range (at least 1).
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// Whether `date` lies inside the range, bounds included.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }

    /// The days of the range in order.
    pub fn iter_days(&self) -> impl Iterator<Item = NaiveDate> {
        let end = self.end;
        self.start.iter_days().take_while(move |d| *d <= end)
    }

    /// Check the invariant (end not before start) on a value built by hand.
    pub fn validate(&self) -> Result<()> {
        DateRange::new(self.start, self.end).map(|_| ())
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {}", self.start, self.end)
    }
}

impl<'de> Deserialize<'de> for DateRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        /// `YYYY-MM-DD`, or a JavaScript `toISOString()` timestamp whose
        /// date part is taken (`2026-10-01T00:00:00.000Z`).
        struct Day(NaiveDate);
        impl<'de> Deserialize<'de> for Day {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let date = match s.split_once('T') {
                    Some((day, _)) if s.len() > 10 => day,
                    _ => s.as_str(),
                };
                date.parse().map(Day).map_err(|_| {
                    serde::de::Error::custom(format!("{s:?} is not a date YYYY-MM-DD"))
                })
            }
        }
        #[derive(Deserialize)]
        struct Wire {
            start: Day,
            end: Day,
        }
        let w = Wire::deserialize(d)?;
        let w = DateRange {
            start: w.start.0,
            end: w.end.0,
        };
        if w.end < w.start {
            return Err(serde::de::Error::custom(format!(
                "end {} is before start {}",
                w.end, w.start
            )));
        }
        Ok(DateRange {
            start: w.start,
            end: w.end,
        })
    }
}

/// A relative date range, resolved against a reference date `today`
/// (see `core::period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateRangePreset {
    /// The day before `today`.
    Yesterday,
    /// The 7 complete days ending yesterday.
    #[serde(rename = "last_7_days")]
    Last7Days,
    /// The 30 complete days ending yesterday.
    #[serde(rename = "last_30_days")]
    Last30Days,
    /// The 90 complete days ending yesterday.
    #[serde(rename = "last_90_days")]
    Last90Days,
    /// The 1st of this month to `today`.
    ThisMonth,
    /// The previous calendar month.
    LastMonth,
    /// The 1st day of this quarter to `today`.
    ThisQuarter,
    /// The previous calendar quarter.
    LastQuarter,
    /// 1 January to `today`.
    YearToDate,
    /// The previous calendar year.
    LastYear,
}

/// The period a report compares itself with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparisonPeriod {
    /// The same number of days ending the day before the range starts.
    PreviousPeriod,
    /// Both ends shifted back one month (clamped to the month's last day).
    SamePeriodLastMonth,
    /// Both ends shifted back one year (clamped to the month's last day).
    SamePeriodLastYear,
}

/// An IANA time zone (`Europe/Paris`, `Asia/Kathmandu`...), parsed once.
///
/// Serializes as its IANA name. Deserializing an unknown name is an error.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timezone(pub chrono_tz::Tz);

impl Timezone {
    /// Coordinated Universal Time, the specification's default.
    pub const UTC: Timezone = Timezone(chrono_tz::Tz::UTC);

    /// Parse an IANA name.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `timezone` for a name chrono-tz does not know.
    pub fn parse(name: &str) -> Result<Self> {
        name.parse::<chrono_tz::Tz>().map(Timezone).map_err(|_| {
            Error::invalid(
                "timezone",
                format!("{name:?} is not an IANA time zone name"),
            )
        })
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The chrono-tz zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

impl Default for Timezone {
    fn default() -> Self {
        Timezone::UTC
    }
}

impl fmt::Debug for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timezone({})", self.name())
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Timezone {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Timezone::parse(s)
    }
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timezone::parse(&s)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IANA time zone name")))
    }
}

/// A wall-clock time of day written `"HH:MM"` (24-hour, `00:00` to `23:59`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeOfDay(NaiveTime);

impl TimeOfDay {
    /// `hour:minute`.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `time` when the hour is over 23 or the minute over 59.
    pub fn new(hour: u32, minute: u32) -> Result<Self> {
        NaiveTime::from_hms_opt(hour, minute, 0)
            .filter(|_| hour < 24 && minute < 60)
            .map(TimeOfDay)
            .ok_or_else(|| {
                Error::invalid(
                    "time",
                    format!("{hour:02}:{minute:02} is not a time of day"),
                )
            })
    }

    /// Parse `"HH:MM"` (one-digit hours such as `"9:00"` are accepted), or
    /// `"HH:MM:00"` as a SQL `TIME` column reads (the specification's
    /// `digest_time TIME DEFAULT '09:00:00'`).
    ///
    /// # Errors
    /// [`Error::Invalid`] on `time` for anything else (`"25:00"`, `"9am"`,
    /// `"09:00:30"`: schedules run on whole minutes).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("time", format!("{s:?} is not a time written HH:MM"));
        let s = s
            .strip_suffix(":00")
            .filter(|t| t.len() >= 4 && t.contains(':'))
            .unwrap_or(s);
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.is_empty()
            || h.len() > 2
            || m.len() != 2
            || !h.bytes().all(|b| b.is_ascii_digit())
            || !m.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let hour: u32 = h.parse().map_err(|_| bad())?;
        let minute: u32 = m.parse().map_err(|_| bad())?;
        TimeOfDay::new(hour, minute).map_err(|_| bad())
    }

    /// The time as chrono's `NaiveTime` (seconds are always 0).
    pub fn naive(&self) -> NaiveTime {
        self.0
    }

    /// The hour, 0 to 23.
    pub fn hour(&self) -> u32 {
        self.0.hour()
    }

    /// The minute, 0 to 59.
    pub fn minute(&self) -> u32 {
        self.0.minute()
    }
}

impl Default for TimeOfDay {
    /// 09:00, the specification's default digest and schedule time.
    fn default() -> Self {
        TimeOfDay(NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a valid time"))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl fmt::Debug for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeOfDay({self})")
    }
}

impl FromStr for TimeOfDay {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TimeOfDay::parse(s)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TimeOfDay::parse(&s)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a time written HH:MM")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn date_range_json_shape_and_validation() {
        let r = DateRange::new(d("2026-10-01"), d("2026-10-31")).unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"start":"2026-10-01","end":"2026-10-31"}"#
        );
        assert_eq!(r.days(), 31);
        assert!(r.contains(d("2026-10-31")) && !r.contains(d("2026-11-01")));
        let e = DateRange::new(d("2026-10-02"), d("2026-10-01")).unwrap_err();
        assert_eq!(e.field(), Some("dateRange.end"));
        assert!(
            serde_json::from_str::<DateRange>(r#"{"start":"2026-10-02","end":"2026-10-01"}"#)
                .is_err()
        );
        assert_eq!(r.iter_days().count(), 31);
    }

    #[test]
    fn presets_use_the_spec_strings() {
        assert_eq!(
            serde_json::to_string(&DateRangePreset::Last7Days).unwrap(),
            "\"last_7_days\""
        );
        assert_eq!(
            serde_json::from_str::<DateRangePreset>("\"year_to_date\"").unwrap(),
            DateRangePreset::YearToDate
        );
        assert_eq!(
            serde_json::to_string(&ComparisonPeriod::SamePeriodLastMonth).unwrap(),
            "\"same_period_last_month\""
        );
    }

    #[test]
    fn time_of_day_parses_hh_mm_only() {
        assert_eq!(TimeOfDay::parse("09:30").unwrap().to_string(), "09:30");
        // A SQL TIME column's text, as the specification's table stores it.
        assert_eq!(TimeOfDay::parse("09:00:00").unwrap().to_string(), "09:00");
        assert_eq!(TimeOfDay::parse("12:00").unwrap().to_string(), "12:00");
        assert_eq!(TimeOfDay::parse("9:05").unwrap().to_string(), "09:05");
        assert_eq!(TimeOfDay::parse("23:59").unwrap().minute(), 59);
        for bad in [
            "25:00", "24:00", "12:60", "9am", "", ":", "09:00:30", ":00:00", "+1:00", "1:5",
            "０9:00",
        ] {
            let e = TimeOfDay::parse(bad).unwrap_err();
            assert_eq!(e.field(), Some("time"), "{bad}");
        }
    }

    #[test]
    fn timezone_by_iana_name() {
        assert_eq!(
            Timezone::parse("Asia/Kathmandu").unwrap().name(),
            "Asia/Kathmandu"
        );
        assert_eq!(
            Timezone::parse("Mars/Olympus").unwrap_err().field(),
            Some("timezone")
        );
        assert!(serde_json::from_str::<Timezone>("\"Nope/Nope\"").is_err());
        assert_eq!(serde_json::to_string(&Timezone::UTC).unwrap(), "\"UTC\"");
    }
}
