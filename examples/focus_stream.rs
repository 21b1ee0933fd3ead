//! Stream a FOCUS file of any size (`.csv`, gzip-compressed `.csv.gz`, or
//! `.parquet` when built with `--features parquet`)
//! and print its billed cost by provider (or the dimensions given): one
//! line per bucket with its dimension values and amount, then one line per
//! currency, `total <CURRENCY> <amount>`. Memory stays flat whatever the
//! file size; the throughput goes to stderr. Charges of the last five
//! calendar years are counted (a query's longest range), or of the five
//! years from `FOCUS_FROM=YYYY-MM-DD`.
//!
//! ```text
//! # write a file of N rows shaped like the bundled sample, then aggregate it
//! cargo run --release --example focus_stream -- generate /tmp/focus_1g.csv 1400000
//! /usr/bin/time -v cargo run --release --example focus_stream -- aggregate /tmp/focus_1g.csv
//! # group by other dimensions (default: provider)
//! cargo run --release --example focus_stream -- aggregate /tmp/focus_1g.csv provider team
//! # a gzip-compressed export
//! cargo run --release --example focus_stream -- aggregate export.csv.gz model
//! # with no argument: aggregate the bundled 1,000-row sample
//! cargo run --release --example focus_stream
//! # write a FOCUS file as another version, CSV or (with `parquet`) Parquet:
//! # every value kept, columns the version renamed renamed, the others as x_
//! cargo run --example focus_stream -- export in.csv out.csv --focus-version 1.0
//! cargo run --example focus_stream --features parquet -- export in.csv.gz out.parquet
//! # a FOCUS Parquet file of N rows like the sample, every row its own
//! # resource, cost and hour (so it does not compress away), for memory and
//! # speed measurements
//! cargo run --release --example focus_stream --features parquet -- generate-parquet /tmp/focus.parquet 5000000
//! # the bundled LLM request trace, priced, as FOCUS: its cost rows
//! # (DIR/rows.csv) and a daily report detail by provider, model and team
//! # (DIR/detail.csv)
//! cargo run --example focus_stream -- export-demo /tmp/focus --focus-version 1.0
//! ```

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::time::Instant;

use rust_decimal::Decimal;

use chrono::Datelike;
use tokentra_reports::backends::file::demo;
use tokentra_reports::backends::file::focus::{aggregate_focus, FocusConfig, FocusCostColumn};
use tokentra_reports::backends::file::FocusReader;
use tokentra_reports::backends::memory::SystemClock;
use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension, FocusVersion};
use tokentra_reports::ports::Clock;
use tokentra_reports::render::focus::{FocusCsvWriter, FocusExport};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate") => {
            let path = args.get(1).ok_or("generate PATH ROWS")?;
            let rows: u64 = args.get(2).ok_or("generate PATH ROWS")?.parse()?;
            let mut out = BufWriter::new(std::fs::File::create(path)?);
            let bytes = demo::write_repeated_focus_sample(&mut out, rows)?;
            println!("wrote {rows} rows, {bytes} bytes to {path}");
        }
        Some("aggregate") => {
            let path = args.get(1).ok_or("aggregate PATH [DIMENSION...]")?;
            let dims = args
                .iter()
                .skip(2)
                .map(|d| d.parse::<Dimension>())
                .collect::<Result<Vec<_>, _>>()?;
            run(path, dims)?;
        }
        Some("export") => {
            let usage = "export IN OUT [--focus-version V]";
            let input = args.get(1).ok_or(usage)?;
            let output = args.get(2).ok_or(usage)?;
            let version = match args.get(3).map(String::as_str) {
                None => None,
                Some("--focus-version") => Some(args.get(4).ok_or(usage)?.parse()?),
                Some(_) => return Err(usage.into()),
            };
            export(input, output, version)?;
        }
        Some("generate-parquet") => {
            let usage = "generate-parquet PATH ROWS";
            let path = args.get(1).ok_or(usage)?;
            let rows: u64 = args.get(2).ok_or(usage)?.parse()?;
            generate_parquet(path, rows)?;
        }
        Some("export-demo") => {
            let usage = "export-demo DIR [--focus-version V]";
            let dir = args.get(1).ok_or(usage)?;
            let version = match args.get(2).map(String::as_str) {
                None => FocusVersion::V1_4,
                Some("--focus-version") => args.get(3).ok_or(usage)?.parse()?,
                Some(_) => return Err(usage.into()),
            };
            export_demo(std::path::Path::new(dir), version)?;
        }
        _ => run(&demo::focus_sample_path().display().to_string(), Vec::new())?,
    }
    Ok(())
}

fn run(path: &str, dims: Vec<Dimension>) -> Result<(), Box<dyn std::error::Error>> {
    let config = FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        ..Default::default()
    };
    // A query covers at most five years: the charges from `FOCUS_FROM`
    // (a date), else of the last five calendar years.
    let from = match std::env::var("FOCUS_FROM") {
        Ok(d) => d.parse()?,
        Err(_) => chrono::NaiveDate::from_ymd_opt(SystemClock.now().year() - 4, 1, 1)
            .ok_or("no such date")?,
    };
    let to = from
        .checked_add_months(chrono::Months::new(60))
        .and_then(|d| d.pred_opt())
        .ok_or("no such date")?;
    let range = DateRange::new(from, to)?;
    let dims = if dims.is_empty() {
        vec![Dimension::Provider]
    } else {
        dims
    };
    let query = CostQuery::total(range).group_by(dims);
    let size = std::fs::metadata(path)?.len();
    let t = Instant::now();
    let buckets = aggregate_focus(path, &config, &query, Currency::USD)?;
    let secs = t.elapsed().as_secs_f64();
    let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
    for b in &buckets {
        let keys: Vec<&str> = b
            .keys
            .iter()
            .map(|k| k.as_deref().unwrap_or("(none)"))
            .collect();
        println!("{}\t{} {}", keys.join("\t"), b.currency.code(), b.cost);
        *totals.entry(b.currency.code()).or_default() += b.cost;
    }
    for (currency, amount) in &totals {
        println!("total {currency} {amount}");
    }
    // f64 only for the throughput figure, not for money.
    #[allow(clippy::cast_precision_loss)]
    let mb = size as f64 / 1e6;
    eprintln!("{mb:.1} MB in {secs:.2} s: {:.0} MB/s", mb / secs);
    Ok(())
}

/// Pass a FOCUS file through to `version` (default: the input's own).
fn export(
    input: &str,
    output: &str,
    version: Option<FocusVersion>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut reader = FocusReader::open_passthrough(input, FocusConfig::default())?;
    let from = reader.version();
    let version = version.unwrap_or(from);
    // The billing account comes from each record: a passthrough sets none.
    let export = FocusExport::new(version, "");
    let columns = export.passthrough_columns(reader.columns());
    let out = BufWriter::new(std::fs::File::create(output)?);
    let mut n = 0u64;
    if output.ends_with(".parquet") {
        #[cfg(feature = "parquet")]
        {
            use tokentra_reports::backends::file::focus_parquet::FocusParquetWriter;
            let mut w = FocusParquetWriter::new(out, version, &columns)?;
            while let Some(rec) = reader.read_record()? {
                w.write(export.convert(rec))?;
                n += 1;
            }
            w.finish()?;
        }
        #[cfg(not(feature = "parquet"))]
        {
            drop(out);
            return Err("writing Parquet needs `--features parquet`".into());
        }
    } else {
        let mut w = FocusCsvWriter::new(out, columns)?;
        while let Some(rec) = reader.read_record()? {
            w.write(&export.convert(rec))?;
            n += 1;
        }
        w.finish()?;
    }
    println!("wrote {n} records of FOCUS {from} as FOCUS {version} to {output}");
    Ok(())
}

/// The bundled request trace as FOCUS `version`: rows and a report detail.
fn export_demo(
    dir: &std::path::Path,
    version: FocusVersion,
) -> Result<(), Box<dyn std::error::Error>> {
    use tokentra_reports::core::aggregate::aggregate_rows;
    use tokentra_reports::model::Granularity;
    std::fs::create_dir_all(dir)?;
    let rows = demo::llm_trace_rows()?;
    let export = FocusExport::new(version, "demo-org").billing_account_name("Demo Org");
    std::fs::write(dir.join("rows.csv"), export.csv_from_rows(&rows)?)?;
    let (first, last) = rows.iter().fold(
        (None, None),
        |(a, b): (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>), r| {
            (
                Some(a.map_or(r.date, |a| a.min(r.date))),
                Some(b.map_or(r.date, |b| b.max(r.date))),
            )
        },
    );
    let range = DateRange::new(first.ok_or("no rows")?, last.ok_or("no rows")?)?;
    let dims = vec![Dimension::Provider, Dimension::Model, Dimension::Team];
    let q = CostQuery::total(range)
        .group_by(dims.clone())
        .bucketed(Granularity::Day);
    let detail = aggregate_rows(&rows, &q, Currency::USD)?;
    let records = export.records_from_buckets(&detail, &dims, range, Some(Granularity::Day))?;
    std::fs::write(dir.join("detail.csv"), export.csv(&records)?)?;
    println!(
        "wrote {} rows and {} detail lines as FOCUS {version} to {}",
        rows.len(),
        records.len(),
        dir.display()
    );
    Ok(())
}

/// Write `rows` FOCUS 1.0 records shaped like the bundled sample as Parquet:
/// line `i` is sample line `i % 1000` with its own `ResourceId`, a cost
/// raised by `i` millionths and a start hour moved within September 2024.
#[cfg(feature = "parquet")]
fn generate_parquet(path: &str, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    use rust_decimal::Decimal;
    use tokentra_reports::backends::file::focus_parquet::FocusParquetWriter;
    let mut reader =
        FocusReader::open_passthrough(demo::focus_sample_path(), FocusConfig::default())?;
    let export = FocusExport::new(FocusVersion::V1_0, "");
    let columns = export.passthrough_columns(reader.columns());
    let mut sample = Vec::new();
    while let Some(r) = reader.read_record()? {
        sample.push(export.convert(r));
    }
    let out = BufWriter::new(std::fs::File::create(path)?);
    let mut w = FocusParquetWriter::new(out, FocusVersion::V1_0, &columns)?;
    let start = chrono::NaiveDate::from_ymd_opt(2024, 9, 1)
        .ok_or("no such date")?
        .and_hms_opt(0, 0, 0)
        .ok_or("no such time")?;
    for i in 0..rows {
        let idx = usize::try_from(i % sample.len() as u64)?;
        let mut r = sample[idx].clone();
        let id = format!("{}-{i}", r.get("ResourceId").unwrap_or("resource"));
        r.set("ResourceId", Some(id));
        let bump = Decimal::new(i64::try_from(i % 1_000_000)?, 6);
        for c in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"] {
            if let Some(v) = r.get(c).and_then(|v| v.parse::<Decimal>().ok()) {
                r.set(c, Some((v + bump).to_string()));
            }
        }
        let t = start + chrono::Duration::hours(i64::try_from(i % 720)?);
        let end = t + chrono::Duration::hours(1);
        r.set(
            "ChargePeriodStart",
            Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        r.set(
            "ChargePeriodEnd",
            Some(end.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        w.write(r)?;
    }
    w.finish()?;
    println!(
        "wrote {rows} rows, {} bytes to {path}",
        std::fs::metadata(path)?.len()
    );
    Ok(())
}

#[cfg(not(feature = "parquet"))]
fn generate_parquet(_: &str, _: u64) -> Result<(), Box<dyn std::error::Error>> {
    Err("generate-parquet needs `--features parquet`".into())
}
