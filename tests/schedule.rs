//! Schedules and periods through the public paths, in many time zones, with
//! daylight saving: fixed cases checked by hand against the tz database, and
//! property tests over every zone chrono-tz knows.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use proptest::prelude::*;
use tokentra_reports::core::period::{self, resolve_preset};
use tokentra_reports::core::schedule::{
    digest_due, latest_slot_at_or_before, next_digest, next_run, report_period, runs_on,
    slot_on_date, upcoming, DigestDue,
};
use tokentra_reports::model::{
    from_json, DateRange, DateRangePreset, DigestFrequency, EmailDigestPreferences, Frequency,
    OrganizationId, ScheduleConfig, TimeOfDay, Timezone, UserId,
};
use tokentra_reports::Error;

const FREQUENCIES: [Frequency; 4] = [
    Frequency::Daily,
    Frequency::Weekly,
    Frequency::Monthly,
    Frequency::Quarterly,
];

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn config(tz: &str, hh: u32, mm: u32) -> ScheduleConfig {
    ScheduleConfig {
        time: TimeOfDay::new(hh, mm).unwrap(),
        timezone: Timezone::parse(tz).unwrap(),
        ..ScheduleConfig::default()
    }
}

fn local(c: &ScheduleConfig, t: DateTime<Utc>) -> String {
    t.with_timezone(&c.timezone.tz())
        .format("%F %R %:z")
        .to_string()
}

fn daily(c: &ScheduleConfig, after: &str) -> DateTime<Utc> {
    next_run(Frequency::Daily, c, utc(after)).unwrap()
}

#[test]
fn half_hour_and_45_minute_offsets() {
    let c = config("Asia/Kolkata", 9, 0);
    assert_eq!(
        daily(&c, "2026-06-01T00:00:00Z"),
        utc("2026-06-01T03:30:00Z")
    );
    let c = config("Asia/Kathmandu", 9, 0);
    assert_eq!(
        daily(&c, "2026-06-01T00:00:00Z"),
        utc("2026-06-01T03:15:00Z")
    );
    // Chatham: +12:45 in winter, +13:45 in summer.
    let c = config("Pacific/Chatham", 9, 0);
    assert_eq!(
        daily(&c, "2026-06-01T00:00:00Z"),
        utc("2026-06-01T20:15:00Z")
    );
    assert_eq!(
        daily(&c, "2026-12-01T00:00:00Z"),
        utc("2026-12-01T19:15:00Z")
    );
    // Its spring forward (27 September 2026, 02:45 -> 03:45): 03:00 is in the
    // gap and runs at 03:00 read at +12:45, i.e. 04:00 +13:45.
    let c = config("Pacific/Chatham", 3, 0);
    let slot = daily(&c, "2026-09-26T12:00:00Z");
    assert_eq!(slot, utc("2026-09-26T14:15:00Z"));
    assert_eq!(local(&c, slot), "2026-09-27 04:00 +13:45");
}

#[test]
fn lord_howe_runs_inside_its_30_minute_gap_at_02_45() {
    // Lord Howe moves from +10:30 to +11 on 5 October 2025, 02:00 -> 02:30.
    let c = config("Australia/Lord_Howe", 2, 15);
    let slot = daily(&c, "2025-10-04T12:00:00Z");
    assert_eq!(local(&c, slot), "2025-10-05 02:45 +11:00");
    assert_eq!(slot, utc("2025-10-04T15:45:00Z"));
    // What "add one hour" would give: 03:15 local. Not what we do.
    let naive_plus_hour = c
        .timezone
        .tz()
        .with_ymd_and_hms(2025, 10, 5, 3, 15, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    assert_ne!(slot, naive_plus_hour);
    assert_eq!(naive_plus_hour - slot, Duration::minutes(30));
    // The days around it run at 02:15 local.
    let next = daily(&c, "2025-10-04T15:45:00Z");
    assert_eq!(local(&c, next), "2025-10-06 02:15 +11:00");
    let prev = latest_slot_at_or_before(Frequency::Daily, &c, utc("2025-10-04T15:44:59Z")).unwrap();
    assert_eq!(local(&c, prev), "2025-10-04 02:15 +10:30");
}

#[test]
fn new_york_spring_forward_and_fall_back() {
    let c = config("America/New_York", 2, 30);
    assert_eq!(
        daily(&c, "2026-03-08T00:00:00Z"),
        utc("2026-03-08T07:30:00Z")
    );
    assert_eq!(
        local(&c, utc("2026-03-08T07:30:00Z")),
        "2026-03-08 03:30 -04:00"
    );
    let c = config("America/New_York", 1, 30);
    let first = daily(&c, "2026-11-01T04:00:00Z");
    assert_eq!(local(&c, first), "2026-11-01 01:30 -04:00");
    // The second 01:30 (EST) is not another run.
    let next = daily(&c, &first.to_rfc3339());
    assert_eq!(local(&c, next), "2026-11-02 01:30 -05:00");
}

#[test]
fn southern_hemisphere() {
    // Sydney: spring forward 4 October 2026 02:00 -> 03:00.
    let c = config("Australia/Sydney", 2, 30);
    let slot = daily(&c, "2026-10-03T12:00:00Z");
    assert_eq!(local(&c, slot), "2026-10-04 03:30 +11:00");
    // Fall back 5 April 2026 03:00 -> 02:00: 02:30 runs once, at +11.
    let slot = daily(&c, "2026-04-04T12:00:00Z");
    assert_eq!(slot, utc("2026-04-04T15:30:00Z"));
    assert_eq!(local(&c, slot), "2026-04-05 02:30 +11:00");
    assert_eq!(
        local(&c, daily(&c, "2026-04-04T15:30:00Z")),
        "2026-04-06 02:30 +10:00"
    );

    // Santiago: clocks go from 00:00 to 01:00 on 6 September 2026, and from
    // 00:00 back to 23:00 on the night of 4 to 5 April 2026.
    let c = config("America/Santiago", 0, 30);
    let slot = daily(&c, "2026-09-05T12:00:00Z");
    assert_eq!(local(&c, slot), "2026-09-06 01:30 -03:00");
    assert_eq!(slot, utc("2026-09-06T04:30:00Z"));
    let c = config("America/Santiago", 23, 30);
    let slot = daily(&c, "2026-04-04T12:00:00Z");
    assert_eq!(local(&c, slot), "2026-04-04 23:30 -03:00");
    assert_eq!(slot, utc("2026-04-05T02:30:00Z"));
    assert_eq!(
        local(&c, daily(&c, &slot.to_rfc3339())),
        "2026-04-05 23:30 -04:00"
    );
}

#[test]
fn sao_paulo_before_and_after_abolishing_dst() {
    // 2018: spring forward on 4 November, 00:00 -> 01:00.
    let c = config("America/Sao_Paulo", 0, 30);
    let slot = daily(&c, "2018-11-03T12:00:00Z");
    assert_eq!(local(&c, slot), "2018-11-04 01:30 -02:00");
    // Since 2019 there is no daylight saving: the same night is ordinary.
    let slot = daily(&c, "2026-11-01T00:00:00Z");
    assert_eq!(slot, utc("2026-11-01T03:30:00Z"));
    assert_eq!(local(&c, slot), "2026-11-01 00:30 -03:00");
    let c = config("America/Sao_Paulo", 9, 0);
    for t in ["2026-01-15T00:00:00Z", "2026-07-15T00:00:00Z"] {
        assert_eq!(local(&c, daily(&c, t)).get(11..), Some("09:00 -03:00"));
    }
}

#[test]
fn gap_just_before_midnight_runs_after_midnight_once() {
    // Nuuk moves from -02 to -01 at 23:00 on the last Saturday of March
    // (since 2024): 23:00 to 23:59 that Saturday do not exist.
    let c = config("America/Nuuk", 23, 30);
    let got: Vec<String> = upcoming(Frequency::Daily, &c, utc("2026-03-27T12:00:00Z"))
        .take(3)
        .map(|t| local(&c, t.unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "2026-03-27 23:30 -02:00",
            // Saturday's run: 23:30 read at -02.
            "2026-03-29 00:30 -01:00",
            "2026-03-29 23:30 -01:00",
        ]
    );
    // Ten minutes after Sunday's midnight, Saturday's run is still to come.
    assert_eq!(
        next_run(Frequency::Daily, &c, utc("2026-03-29T01:10:00Z")).unwrap(),
        utc("2026-03-29T01:30:00Z")
    );
    // Each run reports on the day before the date it belongs to.
    assert_eq!(
        report_period(Frequency::Daily, &c, utc("2026-03-29T01:30:00Z")).unwrap(),
        DateRange::day(d("2026-03-27"))
    );
    assert_eq!(
        report_period(Frequency::Daily, &c, utc("2026-03-30T00:30:00Z")).unwrap(),
        DateRange::day(d("2026-03-28"))
    );
}

#[test]
fn monthly_and_quarterly_clamp_and_honour_month_of_quarter() {
    let mut c = config("Europe/Berlin", 8, 0);
    c.day_of_month = 31;
    let got: Vec<String> = upcoming(Frequency::Monthly, &c, utc("2028-01-31T12:00:00Z"))
        .take(4)
        .map(|t| local(&c, t.unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "2028-02-29 08:00 +01:00",
            "2028-03-31 08:00 +02:00",
            "2028-04-30 08:00 +02:00",
            "2028-05-31 08:00 +02:00"
        ]
    );
    c.month_of_quarter = 3;
    c.day_of_month = 30;
    let got: Vec<String> = upcoming(Frequency::Quarterly, &c, utc("2026-01-01T00:00:00Z"))
        .take(4)
        .map(|t| local(&c, t.unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "2026-03-30 08:00 +02:00",
            "2026-06-30 08:00 +02:00",
            "2026-09-30 08:00 +02:00",
            "2026-12-30 08:00 +01:00"
        ]
    );
}

#[test]
fn report_periods_are_local_calendar_periods() {
    // 09:00 on 1 April in Auckland is still 31 March in UTC: the period is
    // decided by the schedule's local date.
    let mut c = config("Pacific/Auckland", 9, 0);
    let slot = next_run(Frequency::Monthly, &c, utc("2026-03-31T00:00:00Z")).unwrap();
    assert_eq!(slot, utc("2026-03-31T20:00:00Z"));
    assert_eq!(
        report_period(Frequency::Monthly, &c, slot).unwrap(),
        DateRange::new(d("2026-03-01"), d("2026-03-31")).unwrap()
    );
    assert_eq!(
        report_period(Frequency::Quarterly, &c, slot).unwrap(),
        DateRange::new(d("2026-01-01"), d("2026-03-31")).unwrap()
    );
    assert_eq!(
        report_period(Frequency::Weekly, &c, slot).unwrap(),
        DateRange::new(d("2026-03-25"), d("2026-03-31")).unwrap()
    );
    assert_eq!(
        report_period(Frequency::Daily, &c, slot).unwrap(),
        DateRange::day(d("2026-03-31"))
    );
    c.day_of_month = 40;
    assert_eq!(
        report_period(Frequency::Monthly, &c, slot)
            .unwrap_err()
            .field(),
        Some("scheduleConfig.dayOfMonth")
    );
}

#[derive(serde::Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Wrapper {
    schedule_config: ScheduleConfig,
}

#[test]
fn bad_input_is_invalid_naming_the_field() {
    let cases = [
        (
            r#"{"scheduleConfig":{"timezone":"Mars/Olympus"}}"#,
            "scheduleConfig.timezone",
        ),
        (
            r#"{"scheduleConfig":{"time":"25:00"}}"#,
            "scheduleConfig.time",
        ),
        (
            r#"{"scheduleConfig":{"time":"9am"}}"#,
            "scheduleConfig.time",
        ),
        (
            r#"{"scheduleConfig":{"dayOfWeek":-1}}"#,
            "scheduleConfig.dayOfWeek",
        ),
    ];
    for (json, field) in cases {
        match from_json::<Wrapper>(json) {
            Err(Error::Invalid { field: got, .. }) => assert_eq!(got, field, "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    // Parsed but out of range: next_run names the field.
    let w: Wrapper = from_json(r#"{"scheduleConfig":{"dayOfWeek":9}}"#).unwrap();
    for f in FREQUENCIES {
        match next_run(f, &w.schedule_config, utc("2026-01-01T00:00:00Z")) {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "scheduleConfig.dayOfWeek");
                assert_eq!(reason, "9 is outside 0 (Sunday) to 6 (Saturday)");
            }
            other => panic!("{other:?}"),
        }
    }
}

fn prefs(frequency: DigestFrequency, tz: &str, hh: u32, dow: u8) -> EmailDigestPreferences {
    let mut p = EmailDigestPreferences::new(
        OrganizationId::new(),
        UserId::new(),
        "ana@example.com",
        utc("2026-01-01T00:00:00Z"),
    );
    p.frequency = frequency;
    p.timezone = Timezone::parse(tz).unwrap();
    p.digest_time = TimeOfDay::new(hh, 0).unwrap();
    p.day_of_week = dow;
    p
}

#[test]
fn digests_are_due_once_per_slot() {
    let mut p = prefs(DigestFrequency::Daily, "Asia/Kolkata", 8, 1);
    // 08:00 IST = 02:30 UTC.
    let now = utc("2026-05-12T02:29:00Z");
    let due = digest_due(&p, now).unwrap().unwrap();
    assert_eq!(
        due,
        DigestDue {
            slot: utc("2026-05-11T02:30:00Z"),
            period: DateRange::day(d("2026-05-10")),
        }
    );
    p.last_sent_at = Some(due.slot);
    assert_eq!(digest_due(&p, now).unwrap(), None);
    // At the slot it is due again, for the next day.
    let due = digest_due(&p, utc("2026-05-12T02:30:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(due.slot, utc("2026-05-12T02:30:00Z"));
    assert_eq!(due.period, DateRange::day(d("2026-05-11")));
    // Down for three days: caught up once, for the latest slot only.
    let due = digest_due(&p, utc("2026-05-15T12:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(due.slot, utc("2026-05-15T02:30:00Z"));
    p.last_sent_at = Some(due.slot);
    assert_eq!(digest_due(&p, utc("2026-05-15T23:00:00Z")).unwrap(), None);
    assert_eq!(
        next_digest(&p, utc("2026-05-15T23:00:00Z")).unwrap(),
        Some(utc("2026-05-16T02:30:00Z"))
    );

    // Weekly on Monday 09:00 in Los Angeles: the 7 days ending Sunday.
    let p = prefs(DigestFrequency::Weekly, "America/Los_Angeles", 9, 1);
    let due = digest_due(&p, utc("2026-05-14T00:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(due.slot, utc("2026-05-11T16:00:00Z"));
    assert_eq!(
        due.period,
        DateRange::new(d("2026-05-04"), d("2026-05-10")).unwrap()
    );

    let p = prefs(DigestFrequency::None, "UTC", 9, 1);
    assert_eq!(digest_due(&p, utc("2026-05-14T00:00:00Z")).unwrap(), None);
    assert_eq!(next_digest(&p, utc("2026-05-14T00:00:00Z")).unwrap(), None);

    let p = prefs(DigestFrequency::Weekly, "UTC", 9, 7);
    assert_eq!(
        digest_due(&p, utc("2026-05-14T00:00:00Z"))
            .unwrap_err()
            .field(),
        Some("dayOfWeek")
    );
}

#[test]
fn presets_through_the_public_path() {
    assert_eq!(
        resolve_preset(DateRangePreset::Last7Days, d("2026-03-01")).unwrap(),
        DateRange::new(d("2026-02-22"), d("2026-02-28")).unwrap()
    );
    assert_eq!(
        period::same_period_last_month(DateRange::new(d("2026-03-31"), d("2026-03-31")).unwrap())
            .unwrap(),
        DateRange::day(d("2026-02-28"))
    );
}

// ---------------------------------------------------------------------------
// Properties.

fn tz_strategy() -> impl Strategy<Value = Tz> {
    (0..TZ_VARIANTS.len()).prop_map(|i| TZ_VARIANTS[i])
}

fn frequency_strategy() -> impl Strategy<Value = Frequency> {
    prop::sample::select(FREQUENCIES.to_vec())
}

/// 1970 to 2099, the years chrono-tz has transitions for.
const MIN_SECS: i64 = 0;
const MAX_SECS: i64 = 4_102_444_800;

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The date the slot belongs to: its local date, or the day before when a
/// gap pushed the slot past midnight.
fn nominal_date(f: Frequency, c: &ScheduleConfig, slot: DateTime<Utc>) -> NaiveDate {
    let local = slot.with_timezone(&c.timezone.tz()).date_naive();
    if runs_on(f, c, local).unwrap() && slot_on_date(c, local).unwrap() == slot {
        local
    } else {
        local.pred_opt().unwrap()
    }
}

fn check_schedule(
    f: Frequency,
    c: &ScheduleConfig,
    after: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let tz = c.timezone.tz();
    let next = next_run(f, c, after).unwrap();
    // 1. Strictly after.
    prop_assert!(next > after, "{next} <= {after}");

    // 2. The wall time is the configured one, except inside a gap, where it
    //    is the configured wall time read with the offset before the gap;
    //    in a fold it is the earlier instant.
    let nominal = nominal_date(f, c, next);
    prop_assert!(
        runs_on(f, c, nominal).unwrap(),
        "{nominal} is not a run date"
    );
    let wall = nominal.and_time(c.time.naive());
    let local = next.with_timezone(&tz);
    match tz.from_local_datetime(&wall) {
        chrono::LocalResult::Single(t) => {
            prop_assert_eq!(t.with_timezone(&Utc), next);
            prop_assert_eq!(local.time(), c.time.naive());
        }
        chrono::LocalResult::Ambiguous(a, b) => {
            prop_assert_eq!(a.min(b).with_timezone(&Utc), next);
        }
        chrono::LocalResult::None => {
            // Independent of the implementation: some offset in force within
            // the 26 hours before the slot reads `wall` as `next`, and the
            // slot is later in the day than the wall time.
            let read_before = (1..=26 * 4).any(|k| {
                let probe = next - Duration::minutes(15 * k);
                let o = offset_at(tz, probe);
                next.naive_utc() + Duration::seconds(i64::from(o)) == wall
                    && offset_at(tz, next) > o
            });
            prop_assert!(read_before, "gap slot {next} for {wall} in {tz}");
            prop_assert!(local.naive_local() > wall);
        }
    }

    // 3. No slot skipped: every run date around the interval has its slot
    //    at or before `after`, or at or after `next`.
    let from = after.with_timezone(&tz).date_naive() - Duration::days(2);
    let to = local.date_naive() + Duration::days(1);
    let mut day = from;
    while day <= to {
        if runs_on(f, c, day).unwrap() {
            let s = slot_on_date(c, day).unwrap();
            prop_assert!(
                s <= after || s >= next,
                "slot {s} of {day} lies between {after} and {next}"
            );
        }
        day += Duration::days(1);
    }

    // The latest slot at or before `next` is `next`; just before it, an
    // earlier one whose next run is `next`.
    prop_assert_eq!(latest_slot_at_or_before(f, c, next).unwrap(), next);
    let prev = latest_slot_at_or_before(f, c, next - Duration::seconds(1)).unwrap();
    prop_assert!(prev < next);
    prop_assert!(prev <= after);
    prop_assert_eq!(next_run(f, c, prev).unwrap(), next);

    // 4. Upcoming never yields the same local day twice; 5. periods.
    let slots: Vec<DateTime<Utc>> = upcoming(f, c, after)
        .take(6)
        .collect::<Result<_, _>>()
        .unwrap();
    prop_assert_eq!(slots[0], next);
    let mut days = Vec::new();
    let mut periods = Vec::new();
    for w in slots.windows(2) {
        prop_assert!(w[0] < w[1]);
    }
    let mut local_days = Vec::new();
    for s in &slots {
        // The local date each slot belongs to is never repeated...
        let day = nominal_date(f, c, *s);
        prop_assert!(!days.contains(&day), "{day} twice in {slots:?}");
        days.push(day);
        // ...and neither is the local date of the instant, except when a gap
        // just before midnight pushed the previous day's slot past midnight
        // (America/Nuuk since 2024: 23:30 on the Saturday runs at 00:30 on
        // the Sunday).
        let local_day = s.with_timezone(&tz).date_naive();
        if local_days.contains(&local_day) {
            prop_assert!(
                day != local_day || days.iter().rev().nth(1) == local_day.pred_opt().as_ref(),
                "{local_day} twice in {slots:?}"
            );
        }
        local_days.push(local_day);
        let p = report_period(f, c, *s).unwrap();
        prop_assert!(p.end < local_day, "period {p} overlaps {local_day}");
        prop_assert!(p.end < day);
        periods.push(p);
    }
    if matches!(f, Frequency::Monthly | Frequency::Quarterly) {
        for w in periods.windows(2) {
            prop_assert_eq!(w[0].end.succ_opt().unwrap(), w[1].start);
        }
        for p in &periods {
            prop_assert_eq!(p.start.day(), 1);
        }
    }
    Ok(())
}

proptest! {
    // Most zone-years have no transition and are rejected by
    // `schedules_around_transitions`: allow plenty of rejects so the test
    // never aborts on an unlucky draw.
    #![proptest_config(ProptestConfig {
        cases: 512,
        max_global_rejects: 1 << 20,
        ..ProptestConfig::default()
    })]

    #[test]
    fn schedules_in_random_zones(
        tz in tz_strategy(),
        hour in 0u32..24,
        minute in 0u32..60,
        f in frequency_strategy(),
        secs in MIN_SECS..MAX_SECS,
        dow in 0u8..7,
        dom in 1u8..=31,
        moq in 1u8..=3,
    ) {
        let c = ScheduleConfig {
            time: TimeOfDay::new(hour, minute).unwrap(),
            timezone: Timezone(tz),
            day_of_week: dow,
            day_of_month: dom,
            month_of_quarter: moq,
        };
        check_schedule(f, &c, instant(secs))?;
    }

    /// Aimed at offset changes: pick a transition of a random zone, set the
    /// wall time near the transition's wall time and start shortly before.
    #[test]
    fn schedules_around_transitions(
        tz in tz_strategy(),
        year in 1970i32..2099,
        pick in any::<prop::sample::Index>(),
        shift_minutes in -90i64..=90,
        lead_hours in 0i64..72,
        f in frequency_strategy(),
        dow in 0u8..7,
        dom in 1u8..=31,
        moq in 1u8..=3,
    ) {
        let transitions = transitions_in(tz, year);
        prop_assume!(!transitions.is_empty());
        let (t, before) = transitions[pick.index(transitions.len())];
        // The wall clock reading just before the transition, shifted.
        let wall = t.naive_utc() + Duration::seconds(i64::from(before)) + Duration::minutes(shift_minutes);
        let after = t - Duration::hours(lead_hours);
        let mut c = make_config(tz, wall.hour(), wall.minute(), dow, dom, moq);
        // Let monthly and quarterly schedules land on the transition's date.
        if matches!(f, Frequency::Monthly | Frequency::Quarterly) {
            c.day_of_month = u8::try_from(wall.day()).unwrap();
            c.month_of_quarter = u8::try_from(wall.month0() % 3 + 1).unwrap();
        }
        if f == Frequency::Weekly {
            c.day_of_week = u8::try_from(wall.weekday().num_days_from_sunday()).unwrap();
        }
        check_schedule(f, &c, after)?;
    }
}

fn make_config(tz: Tz, hour: u32, minute: u32, dow: u8, dom: u8, moq: u8) -> ScheduleConfig {
    ScheduleConfig {
        time: TimeOfDay::new(hour, minute).unwrap(),
        timezone: Timezone(tz),
        day_of_week: dow,
        day_of_month: dom,
        month_of_quarter: moq,
    }
}

/// The instants in `year` where `tz` changes offset, with the offset before.
fn transitions_in(tz: Tz, year: i32) -> Vec<(DateTime<Utc>, i32)> {
    let start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    let mut out = Vec::new();
    let mut prev = offset_at(tz, start);
    for day in 1..=366 {
        let t = start + Duration::days(day);
        let o = offset_at(tz, t);
        if o != prev {
            // Bisect to the second.
            let (mut lo, mut hi) = (t - Duration::days(1), t);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == prev {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push((hi, prev));
            prev = o;
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A digest is sent at most once per slot, and the slot is never later
    /// than now.
    #[test]
    fn digests_never_twice(
        tz in tz_strategy(),
        hour in 0u32..24,
        weekly in any::<bool>(),
        dow in 0u8..7,
        secs in MIN_SECS..MAX_SECS,
        step_minutes in 1i64..3000,
    ) {
        let mut p = prefs(
            if weekly { DigestFrequency::Weekly } else { DigestFrequency::Daily },
            "UTC",
            hour,
            dow,
        );
        p.timezone = Timezone(tz);
        let mut now = instant(secs);
        let mut sent = Vec::new();
        for _ in 0..10 {
            if let Some(due) = digest_due(&p, now).unwrap() {
                prop_assert!(due.slot <= now);
                prop_assert!(!sent.contains(&due.slot));
                prop_assert!(p.last_sent_at.is_none_or(|t| due.slot > t));
                prop_assert!(due.period.end < due.slot.with_timezone(&tz).date_naive());
                prop_assert_eq!(due.period.days(), if weekly { 7 } else { 1 });
                sent.push(due.slot);
                p.last_sent_at = Some(due.slot);
            }
            prop_assert_eq!(digest_due(&p, now).unwrap(), None);
            now += Duration::minutes(step_minutes);
        }
    }
}

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

fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + i32::try_from(d.month0()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn presets_and_comparisons(
        days in -40_000i64..80_000,
        preset in prop::sample::select(PRESETS.to_vec()),
    ) {
        let today = d("1970-01-01") + Duration::days(days);
        let range = resolve_preset(preset, today).unwrap();
        prop_assert!(range.start <= range.end);
        prop_assert!(range.end <= today);
        // Presets ending today include it; the others end before it.
        let ends_today = matches!(
            preset,
            DateRangePreset::ThisMonth | DateRangePreset::ThisQuarter | DateRangePreset::YearToDate
        );
        prop_assert_eq!(range.end == today, ends_today);

        let prev = period::previous_period(range).unwrap();
        prop_assert_eq!(prev.days(), range.days());
        prop_assert_eq!(prev.end.succ_opt().unwrap(), range.start);

        let last_month = period::same_period_last_month(range).unwrap();
        prop_assert_eq!(month_index(last_month.start), month_index(range.start) - 1);
        prop_assert_eq!(month_index(last_month.end), month_index(range.end) - 1);
        // Each end is the same day one month back, clamped to the month's
        // last day; a range of whole months ends on a month's last day.
        let whole = range.start.day() == 1 && range.end.succ_opt().unwrap().day() == 1;
        let back = |date: NaiveDate, day: u32| {
            let m = month_index(date) - 1;
            period::clamped_date(m.div_euclid(12), u32::try_from(m.rem_euclid(12)).unwrap() + 1, day)
                .unwrap()
        };
        prop_assert_eq!(last_month.start, back(range.start, range.start.day()));
        let end_day = if whole { 31 } else { range.end.day() };
        prop_assert_eq!(last_month.end, back(range.end, end_day));

        let last_year = period::same_period_last_year(range).unwrap();
        prop_assert_eq!(month_index(last_year.start), month_index(range.start) - 12);
        prop_assert_eq!(month_index(last_year.end), month_index(range.end) - 12);

        // Whole months map to whole months.
        if matches!(preset, DateRangePreset::LastMonth | DateRangePreset::LastQuarter | DateRangePreset::LastYear) {
            for shifted in [last_month, last_year] {
                prop_assert_eq!(shifted.start.day(), 1);
                prop_assert_eq!(shifted.end.succ_opt().unwrap().day(), 1);
            }
        }
    }
}
