//! Aggregation of in-memory cost rows (the reference `CostSource`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::core::aggregate::aggregate_rows;
use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension, Granularity};

fn demo_rows() -> Vec<tokentra_reports::model::CostRow> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    read_cost_rows_csv(std::fs::File::open(path).unwrap(), "demo").unwrap()
}

fn bench(c: &mut Criterion) {
    // The demo data repeated to 92,000 rows.
    let base = demo_rows();
    let rows: Vec<_> = base
        .iter()
        .cycle()
        .take(base.len() * 100)
        .cloned()
        .collect();
    let range =
        DateRange::new("2026-08-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    let mut g = c.benchmark_group("aggregate_rows");
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function("by_team_daily", |b| {
        let q = CostQuery::total(range)
            .group_by([Dimension::Team])
            .bucketed(Granularity::Day);
        b.iter(|| aggregate_rows(black_box(&rows), &q, Currency::USD).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
