//! Stream a FOCUS file of any size and print its totals by provider, to
//! show that memory stays flat whatever the file size.
//!
//! ```text
//! # write a file of N rows shaped like the bundled sample, then aggregate it
//! cargo run --release --example focus_stream -- generate /tmp/focus_1g.csv 1400000
//! /usr/bin/time -v cargo run --release --example focus_stream -- aggregate /tmp/focus_1g.csv
//! # group by other dimensions (default: provider), daily
//! cargo run --release --example focus_stream -- aggregate /tmp/focus_1g.csv provider team
//! # with no argument: aggregate the bundled 1,000-row sample
//! cargo run --release --example focus_stream
//! ```

use std::io::BufWriter;
use std::time::Instant;

use tokentra_reports::backends::file::demo;
use tokentra_reports::backends::file::focus::{aggregate_focus, FocusConfig, FocusCostColumn};
use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension, Granularity};

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
    let range = DateRange::new("2024-09-01".parse()?, "2024-09-30".parse()?)?;
    let daily = !dims.is_empty();
    let dims = if dims.is_empty() {
        vec![Dimension::Provider]
    } else {
        dims
    };
    let mut query = CostQuery::total(range).group_by(dims);
    if daily {
        query = query.bucketed(Granularity::Day);
    }
    let size = std::fs::metadata(path)?.len();
    let t = Instant::now();
    let buckets = aggregate_focus(path, &config, &query, Currency::USD)?;
    let secs = t.elapsed().as_secs_f64();
    for b in buckets.iter().take(10) {
        let keys: Vec<&str> = b
            .keys
            .iter()
            .map(|k| k.as_deref().unwrap_or("(none)"))
            .collect();
        println!("{:<40} {} {}", keys.join(" / "), b.currency.code(), b.cost);
    }
    if buckets.len() > 10 {
        println!("... {} buckets in all", buckets.len());
    }
    // f64 only for the throughput figure, not for money.
    #[allow(clippy::cast_precision_loss)]
    let mb = size as f64 / 1e6;
    println!("{mb:.1} MB in {secs:.2} s: {:.0} MB/s", mb / secs);
    Ok(())
}
