//! `next_run` over 100,000 schedules spread across 50 time zones (with and
//! without daylight saving, half-hour and 45-minute offsets) and all four
//! frequencies, from instants spread over 2020 to 2030.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokentra_reports::core::schedule::next_run;
use tokentra_reports::model::{Frequency, ScheduleConfig, TimeOfDay, Timezone};

const ZONES: [&str; 50] = [
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Phoenix",
    "America/Toronto",
    "America/Mexico_City",
    "America/Bogota",
    "America/Lima",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Havana",
    "America/St_Johns",
    "America/Halifax",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Jerusalem",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Yangon",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Australia/Eucla",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Pacific/Kiritimati",
];

const FREQUENCIES: [Frequency; 4] = [
    Frequency::Daily,
    Frequency::Weekly,
    Frequency::Monthly,
    Frequency::Quarterly,
];

/// A small deterministic generator (SplitMix64), so the benchmark needs no
/// random-number crate and always measures the same inputs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn schedules(n: usize) -> Vec<(Frequency, ScheduleConfig, DateTime<Utc>)> {
    let zones: Vec<Timezone> = ZONES.iter().map(|z| Timezone::parse(z).unwrap()).collect();
    let start = 1_577_836_800; // 2020-01-01
    let span = 10 * 365 * 86_400;
    let mut rng = SplitMix(42);
    (0..n)
        .map(|i| {
            let config = ScheduleConfig {
                time: TimeOfDay::new(rng.below(24) as u32, (rng.below(4) * 15) as u32).unwrap(),
                timezone: zones[i % zones.len()],
                day_of_week: rng.below(7) as u8,
                day_of_month: 1 + rng.below(31) as u8,
                month_of_quarter: 1 + rng.below(3) as u8,
            };
            let after = DateTime::from_timestamp(start + rng.below(span) as i64, 0).unwrap();
            (FREQUENCIES[(i / zones.len()) % 4], config, after)
        })
        .collect()
}

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn bench(c: &mut Criterion) {
    let inputs = schedules(100_000);
    let mut g = c.benchmark_group("next_run");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function("100k_schedules_50_zones", |b| {
        b.iter(|| {
            for (f, config, after) in &inputs {
                black_box(next_run(*f, black_box(config), *after).unwrap());
            }
        })
    });
    // The same work timed in CPU time of this thread: the throughput of one
    // core even when other processes share the machine.
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function("100k_schedules_50_zones_thread_cpu_time", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                for (f, config, after) in &inputs {
                    black_box(next_run(*f, black_box(config), *after).unwrap());
                }
            }
            thread_cpu_time().saturating_sub(start)
        })
    });
    for f in FREQUENCIES {
        let only: Vec<_> = inputs.iter().filter(|(g, ..)| *g == f).collect();
        g.throughput(Throughput::Elements(only.len() as u64));
        g.bench_function(format!("{f:?}").to_lowercase(), |b| {
            b.iter(|| {
                for (f, config, after) in &only {
                    black_box(next_run(*f, black_box(config), *after).unwrap());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
