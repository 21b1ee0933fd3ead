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
//! ```

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::time::Instant;

use rust_decimal::Decimal;

use chrono::Datelike;
use tokentra_reports::backends::file::demo;
use tokentra_reports::backends::file::focus::{aggregate_focus, FocusConfig, FocusCostColumn};
use tokentra_reports::backends::memory::SystemClock;
use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension};
use tokentra_reports::ports::Clock;

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
