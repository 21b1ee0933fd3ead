//! FOCUS in Parquet against DuckDB, side by side in one run on the same
//! file: aggregate a generated FOCUS 1.0 Parquet file (1,000,000 rows shaped
//! like the bundled FinOps sample by default, `FOCUS_PARQUET_ROWS` to
//! change) by provider over one month, and by provider and day, with the
//! crate (`aggregate_focus`, one thread) and with DuckDB's `read_parquet` on
//! one thread (`SET threads = 1`, through Python's `duckdb` module, timed
//! inside Python so that the pipe is not counted). Both answers are checked
//! to be the same total to the last decimal place, in the same number of
//! buckets, before timing.
//!
//! ```text
//! pip install duckdb
//! cargo bench --bench focus_parquet --features parquet
//! ```
//!
//! Without the `duckdb` module, the DuckDB side prints SKIPPED and only the
//! crate is measured. Without the `parquet` feature the bench prints
//! SKIPPED and measures nothing.

#[cfg(feature = "parquet")]
mod bench {
    use std::io::{BufRead, BufReader, BufWriter, Write};
    use std::path::{Path, PathBuf};
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
    use std::time::Duration;

    use criterion::{Criterion, Throughput};
    use rust_decimal::Decimal;
    use tokentra_reports::backends::file::demo;
    use tokentra_reports::backends::file::focus::{
        aggregate_focus, FocusConfig, FocusCostColumn, FocusReader,
    };
    use tokentra_reports::backends::file::focus_parquet::FocusParquetWriter;
    use tokentra_reports::model::{
        CostQuery, Currency, DateRange, Dimension, FocusVersion, Granularity,
    };
    use tokentra_reports::render::focus::FocusExport;

    /// The two queries, as DuckDB SQL: by provider over September, and the
    /// same by day. The sum comes first so that the script adds column 0.
    const SQL_BY_PROVIDER: &str = "SELECT sum(BilledCost), ProviderName, BillingCurrency \
        FROM read_parquet('{path}') \
        WHERE ChargePeriodStart >= TIMESTAMPTZ '2024-09-01 00:00:00+00' \
        AND ChargePeriodStart < TIMESTAMPTZ '2024-10-01 00:00:00+00' \
        GROUP BY ALL";
    const SQL_BY_PROVIDER_DAILY: &str = "SELECT sum(BilledCost), ProviderName, BillingCurrency, \
        date_trunc('day', ChargePeriodStart) \
        FROM read_parquet('{path}') \
        WHERE ChargePeriodStart >= TIMESTAMPTZ '2024-09-01 00:00:00+00' \
        AND ChargePeriodStart < TIMESTAMPTZ '2024-10-01 00:00:00+00' \
        GROUP BY ALL";

    const PYTHON: &str = r#"
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute("SET TimeZone = 'UTC'")
q = sys.argv[1]
for _ in sys.stdin:
    t = time.perf_counter_ns()
    rows = con.execute(q).fetchall()
    ns = time.perf_counter_ns() - t
    print(ns, sum(r[0] for r in rows), len(rows), flush=True)
"#;

    fn config() -> FocusConfig {
        FocusConfig {
            cost_column: FocusCostColumn::BilledCost,
            ..Default::default()
        }
    }

    fn query() -> CostQuery {
        let range =
            DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap();
        CostQuery::total(range).group_by([Dimension::Provider])
    }

    /// The bench cases: name, the crate's query, DuckDB's.
    fn cases() -> [(&'static str, CostQuery, &'static str); 2] {
        [
            ("by_provider", query(), SQL_BY_PROVIDER),
            (
                "by_provider_daily",
                query().bucketed(Granularity::Day),
                SQL_BY_PROVIDER_DAILY,
            ),
        ]
    }

    /// A Parquet file of `rows` sample-shaped lines, written by the crate's
    /// Parquet writer from the generated CSV.
    fn generate(dir: &Path, rows: u64) -> PathBuf {
        let csv = dir.join("focus.csv");
        let mut out = BufWriter::new(std::fs::File::create(&csv).unwrap());
        demo::write_repeated_focus_sample(&mut out, rows).unwrap();
        drop(out);
        let path = dir.join("focus.parquet");
        let mut reader = FocusReader::open_passthrough(&csv, FocusConfig::default()).unwrap();
        let export = FocusExport::new(FocusVersion::V1_0, "");
        let columns = export.passthrough_columns(reader.columns());
        let out = BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = FocusParquetWriter::new(out, FocusVersion::V1_0, &columns).unwrap();
        while let Some(r) = reader.read_record().unwrap() {
            w.write(export.convert(r)).unwrap();
        }
        w.finish().unwrap();
        let _ = std::fs::remove_file(csv);
        path
    }

    struct DuckDb {
        child: Child,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
    }

    impl DuckDb {
        fn start(path: &Path, sql: &str) -> Option<DuckDb> {
            let ok = Command::new("python3")
                .args(["-c", "import duckdb"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
            let sql = sql.replace("{path}", &path.display().to_string());
            let mut child = Command::new("python3")
                .args(["-c", PYTHON, &sql])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .ok()?;
            let stdin = child.stdin.take()?;
            let stdout = BufReader::new(child.stdout.take()?);
            Some(DuckDb {
                child,
                stdin,
                stdout,
            })
        }

        /// Run the query once: its time, total and number of rows.
        fn run(&mut self) -> (Duration, Decimal, usize) {
            self.stdin.write_all(b"\n").unwrap();
            self.stdin.flush().unwrap();
            let mut line = String::new();
            self.stdout.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let ns: u64 = parts.next().unwrap().parse().unwrap();
            let total: Decimal = parts.next().unwrap().parse().unwrap();
            let rows: usize = parts.next().unwrap().parse().unwrap();
            (Duration::from_nanos(ns), total, rows)
        }
    }

    impl Drop for DuckDb {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn focus_parquet(c: &mut Criterion) {
        let rows: u64 = std::env::var("FOCUS_PARQUET_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let dir = std::env::temp_dir().join(format!("tokentra-pq-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = generate(&dir, rows);
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!("{rows} rows, {size} bytes of Parquet");
        let mut g = c.benchmark_group("focus_parquet");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(20))
            .throughput(Throughput::Elements(rows));
        for (name, q, sql) in cases() {
            let ours = aggregate_focus(&path, &config(), &q, Currency::USD).unwrap();
            let total: Decimal = ours.iter().map(|b| b.cost).sum();
            eprintln!("{name}: {} buckets, total {total}", ours.len());
            let mut duck = DuckDb::start(&path, sql);
            match duck.as_mut() {
                Some(d) => {
                    let (_, t, n) = d.run();
                    assert_eq!((t, n), (total, ours.len()), "DuckDB and the crate disagree");
                }
                None => eprintln!(
                    "SKIPPED duckdb: `python3 -c 'import duckdb'` failed (pip install duckdb)"
                ),
            }
            g.bench_function(format!("tokentra_{name}_{rows}_rows"), |b| {
                b.iter(|| aggregate_focus(&path, &config(), &q, Currency::USD).unwrap())
            });
            if let Some(d) = duck.as_mut() {
                g.bench_function(format!("duckdb_1_thread_{name}_{rows}_rows"), |b| {
                    b.iter_custom(|iters| (0..iters).map(|_| d.run().0).sum())
                });
            }
        }
        g.finish();
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(feature = "parquet")]
criterion::criterion_group!(benches, bench::focus_parquet);
#[cfg(feature = "parquet")]
criterion::criterion_main!(benches);

#[cfg(not(feature = "parquet"))]
fn main() {
    eprintln!("SKIPPED focus_parquet: build with --features parquet");
}
