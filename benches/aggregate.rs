//! Aggregation of in-memory cost rows for an executive report.
//!
//! 10 million rows generated deterministically (5 providers, 60 models, 40
//! teams, 200 projects, 40 cost centers, 8 features, 1,000 users, 90 days)
//! in a `MemoryCostSource`. One iteration computes everything an executive
//! report needs, through the `CostSource` port and `core::insight`: the
//! summary of the last 45 days with its comparison against the 45 days
//! before, breakdowns by provider, model and team (each with its change
//! against the comparison period) and the daily trend. Every row is read by
//! four queries. Throughput is rows of the table per second, on one thread.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use tokentra_reports::backends::memory::MemoryCostSource;
use tokentra_reports::core::insight::{breakdown, summary, trend};
use tokentra_reports::model::{
    CostBucket, CostQuery, CostRow, Currency, DateRange, Dimension, Granularity, OrganizationId,
    ReportDocument,
};
use tokentra_reports::ports::CostSource;

const ROWS: u64 = 10_000_000;

/// xorshift64*: deterministic and fast.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn first_day() -> chrono::NaiveDate {
    "2026-08-03".parse().unwrap()
}

fn rows(n: u64) -> impl Iterator<Item = CostRow> {
    let providers = ["openai", "anthropic", "google", "aws-bedrock", "mistral"];
    let models = names("model", 60);
    let teams = names("team", 40);
    let projects = names("project", 200);
    let features = names("feature", 8);
    let users = names("user", 1000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n).map(move |i| {
        let model = rng.below(60) as usize;
        let project = rng.below(200) as usize;
        let team = project % 40;
        let requests = 1 + rng.below(50);
        let input = requests * (200 + rng.below(2000));
        CostRow {
            date: first_day() + chrono::Duration::days((i % 90) as i64),
            provider: Some(providers[model % 5].to_owned()),
            model: Some(models[model].clone()),
            team: Some(teams[team].clone()),
            project: Some(projects[project].clone()),
            cost_center: Some(format!("CC-{team}")),
            feature: Some(features[rng.below(8) as usize].clone()),
            user: Some(users[rng.below(1000) as usize].clone()),
            cost: Decimal::new(rng.below(2_000_000) as i64, 6),
            requests,
            input_tokens: input,
            output_tokens: input / 4,
            cached_requests: rng.below(requests + 1),
            ..Default::default()
        }
    })
}

struct Executive {
    summary: tokentra_reports::model::CostSummary,
    trend: tokentra_reports::model::CostTrend,
    breakdowns: Vec<tokentra_reports::model::Breakdown>,
}

async fn executive(src: &dyn CostSource, org: OrganizationId) -> Executive {
    let start = first_day();
    let previous = DateRange::new(start, start + chrono::Duration::days(44)).unwrap();
    let current = DateRange::new(
        start + chrono::Duration::days(45),
        start + chrono::Duration::days(89),
    )
    .unwrap();
    let q = |range: DateRange| CostQuery::total(range);
    let daily = src
        .aggregate(org, &q(current).bucketed(Granularity::Day))
        .await
        .unwrap();
    let prev_total = src.aggregate(org, &q(previous)).await.unwrap();
    let usd = Currency::USD;
    let summary = summary::summarize_with_comparison(&daily, &prev_total, previous, usd).unwrap();
    let trend = trend::trend(&daily, current, Granularity::Day, usd).unwrap();
    let mut breakdowns = Vec::new();
    for dim in [Dimension::Provider, Dimension::Model, Dimension::Team] {
        let cur: Vec<CostBucket> = src
            .aggregate(org, &q(current).group_by([dim.clone()]))
            .await
            .unwrap();
        let prev = src
            .aggregate(org, &q(previous).group_by([dim.clone()]))
            .await
            .unwrap();
        breakdowns.push(breakdown::breakdown(dim, &cur, Some(&prev), 10, usd).unwrap());
    }
    Executive {
        summary,
        trend,
        breakdowns,
    }
}

/// CPU time of the current thread from `/proc/thread-self/schedstat` (its
/// first field, nanoseconds on the CPU); wall time where that is missing.
fn thread_cpu_time() -> Duration {
    static WALL: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| WALL.get_or_init(Instant::now).elapsed())
}

fn bench(c: &mut Criterion) {
    let org = OrganizationId::new();
    let src = MemoryCostSource::new();
    src.insert(org, rows(ROWS));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    // Sanity: the report adds up.
    let e = rt.block_on(executive(&src, org));
    assert_eq!(e.trend.points.len(), 45);
    for b in &e.breakdowns {
        assert_eq!(b.total, e.summary.total_cost);
    }
    let _ = std::mem::size_of::<ReportDocument>();

    let mut g = c.benchmark_group("memory_cost_source");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS));
    g.bench_function("executive_report_10m_rows", |b| {
        b.iter(|| rt.block_on(executive(black_box(&src), org)))
    });
    // The same, timed by the CPU time of this thread (Linux), so the figure
    // is one core's throughput even when other processes share the machine.
    g.bench_function("executive_report_10m_rows_cpu_time", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                black_box(rt.block_on(executive(black_box(&src), org)));
            }
            thread_cpu_time().saturating_sub(start)
        })
    });
    g.bench_function("by_team_daily_90_days_10m_rows", |b| {
        let range = DateRange::new(first_day(), first_day() + chrono::Duration::days(89)).unwrap();
        let q = CostQuery::total(range)
            .group_by([Dimension::Team])
            .bucketed(Granularity::Day);
        b.iter(|| rt.block_on(src.aggregate(org, black_box(&q))).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
