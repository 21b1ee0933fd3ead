//! Arbitrary schedule configs (any time zone chrono-tz knows, any byte for
//! the day fields, any wall time) and arbitrary instants, through every
//! public schedule function: nothing may panic, and a valid config must give
//! a slot strictly after the instant, found again by
//! `latest_slot_at_or_before`, with a period that ends before the slot's
//! local date.
#![no_main]

use chrono::{DateTime, Datelike};
use libfuzzer_sys::fuzz_target;
use tokentra_reports::core::period;
use tokentra_reports::core::schedule::{
    latest_slot_at_or_before, next_run, report_period, upcoming,
};
use tokentra_reports::model::{
    ComparisonPeriod, DateRange, DateRangePreset, Frequency, ScheduleConfig, TimeOfDay, Timezone,
};

const FREQUENCIES: [Frequency; 4] = [
    Frequency::Daily,
    Frequency::Weekly,
    Frequency::Monthly,
    Frequency::Quarterly,
];

const PRESETS: [DateRangePreset; 10] = [
    DateRangePreset::Yesterday,
    DateRangePreset::Last7Days,
    DateRangePreset::Last30Days,
    DateRangePreset::Last90Days,
    DateRangePreset::ThisMonth,
    DateRangePreset::LastMonth,
    DateRangePreset::ThisQuarter,
    DateRangePreset::LastQuarter,
    DateRangePreset::YearToDate,
    DateRangePreset::LastYear,
];

fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = N.min(data.len());
    out[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    out
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let [tz_hi, tz_lo, hour, minute, dow, dom, moq, freq] = take::<8>(&mut data);
    let secs = i64::from_le_bytes(take::<8>(&mut data));
    let zones = chrono_tz::TZ_VARIANTS;
    let tz = zones[usize::from(u16::from_be_bytes([tz_hi, tz_lo])) % zones.len()];
    // Hours and minutes are also tried out of range: they must be refused.
    let Ok(time) = TimeOfDay::new(u32::from(hour % 32), u32::from(minute % 64)) else {
        assert!(hour % 32 > 23 || minute % 64 > 59);
        return;
    };
    let config = ScheduleConfig {
        time,
        timezone: Timezone(tz),
        day_of_week: dow,
        day_of_month: dom,
        month_of_quarter: moq,
    };
    let f = FREQUENCIES[usize::from(freq % 4)];
    // Mostly realistic instants, sometimes anything chrono can hold.
    let after = if freq & 0x80 == 0 {
        DateTime::from_timestamp(secs.rem_euclid(4_102_444_800), 0)
    } else {
        DateTime::from_timestamp(secs / 1000, 0)
    };
    let Some(after) = after else { return };
    let valid = config.validate().is_ok();
    match next_run(f, &config, after) {
        Ok(next) => {
            assert!(valid);
            assert!(next > after);
            assert_eq!(latest_slot_at_or_before(f, &config, next).ok(), Some(next));
            // `with_timezone` would panic at the very ends of the calendar.
            if let (Ok(p), true) = (report_period(f, &config, next), next.year().abs() < 10_000) {
                let local = next.with_timezone(&tz).date_naive();
                assert!(p.end < local);
            }
        }
        Err(e) => assert!(e.field().is_some(), "{e}"),
    }
    let _ = latest_slot_at_or_before(f, &config, after);
    let _ = report_period(f, &config, after);
    let slots: Vec<_> = upcoming(f, &config, after).take(3).collect();
    for w in slots.windows(2) {
        if let (Ok(a), Ok(b)) = (&w[0], &w[1]) {
            assert!(a < b);
        }
    }

    // Periods from the same bytes.
    let today = after.date_naive();
    let preset = PRESETS[usize::from(dow) % PRESETS.len()];
    if let Ok(range) = period::resolve_preset(preset, today) {
        assert!(range.start <= range.end);
        for c in [
            ComparisonPeriod::PreviousPeriod,
            ComparisonPeriod::SamePeriodLastMonth,
            ComparisonPeriod::SamePeriodLastYear,
        ] {
            if let Ok(prev) = period::comparison_period(range, c) {
                assert!(prev.start <= prev.end);
                assert!(prev.end < range.end);
            }
        }
    }
    let odd = DateRange {
        start: today,
        end: after.date_naive(),
    };
    let _ = period::previous_period(odd);
});
