//! FOCUS ingestion: parse and aggregate a generated file of 1,000,000 rows
//! shaped like the bundled FinOps sample (about 750 MB, written to a
//! temporary directory at start and removed at the end), reported in bytes
//! per second. Also: the bundled 1,000-row sample, and pricing the bundled
//! Azure trace.
//!
//! `FOCUS_BENCH_ROWS` overrides the row count of the large file.

use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokentra_reports::backends::file::demo;
use tokentra_reports::backends::file::focus::{aggregate_focus, FocusConfig, FocusCostColumn};
use tokentra_reports::core::pricing::price_usage;
use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension, Granularity};

fn config() -> FocusConfig {
    FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        ..Default::default()
    }
}

fn query() -> CostQuery {
    let range =
        DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap();
    CostQuery::total(range)
        .group_by([Dimension::Provider, Dimension::Team])
        .bucketed(Granularity::Day)
}

fn generate(rows: u64) -> (PathBuf, u64) {
    let dir = std::env::temp_dir().join(format!("tokentra-focus-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("focus.csv");
    let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
    let bytes = demo::write_repeated_focus_sample(&mut out, rows).unwrap();
    drop(out);
    (path, bytes)
}

fn focus(c: &mut Criterion) {
    let rows: u64 = std::env::var("FOCUS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (path, bytes) = generate(rows);
    let mut g = c.benchmark_group("focus");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(40))
        .throughput(Throughput::Bytes(bytes));
    g.bench_function(format!("parse_and_aggregate_{rows}_rows"), |b| {
        b.iter(|| aggregate_focus(&path, &config(), &query(), Currency::USD).unwrap())
    });
    g.finish();
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }

    let sample = demo::focus_sample_path();
    let size = std::fs::metadata(&sample).unwrap().len();
    let mut g = c.benchmark_group("focus_sample");
    g.throughput(Throughput::Bytes(size));
    g.bench_function("parse_and_aggregate_1000_rows", |b| {
        b.iter(|| aggregate_focus(&sample, &config(), &query(), Currency::USD).unwrap())
    });
    g.finish();

    let records = demo::llm_trace_records().unwrap();
    let table = demo::price_table().unwrap();
    let mut g = c.benchmark_group("pricing");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("price_azure_trace_8819_requests", |b| {
        b.iter(|| price_usage(records.clone(), &table).unwrap())
    });
    g.finish();
}

criterion_group!(benches, focus);
criterion_main!(benches);
