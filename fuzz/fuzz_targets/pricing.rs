//! Price tables and request logs from arbitrary bytes: no panic, the fast
//! integer path of `ModelPrice::price_record` equals the decimal sum of
//! `cost_by_class_record` whenever both answer, and no class is both priced
//! and reported unpriced.
//!
//! The input is `<LiteLLM JSON>\0<usage CSV>`; when the JSON part does not
//! parse, the bundled LiteLLM subset prices the log. The JSON part is also
//! read as a page of the OpenAI and Anthropic usage and cost APIs, and the
//! CSV part as a FOCUS file: errors, never panics; the rows it gives write
//! as FOCUS 1.0 and 1.4 and read back to the same count and cost, and its
//! records passed through to 1.4 read back cell for cell.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use tokentra_reports::backends::file::{
    next_page, read_anthropic_cost_page, read_anthropic_usage_page, read_openai_costs_page,
    read_openai_usage_page, read_usage_csv, FocusConfig, FocusReader,
};
use tokentra_reports::core::pricing::{price_usage, PriceTable};
use tokentra_reports::model::FocusVersion;
use tokentra_reports::render::focus::{check, FocusCsvWriter, FocusExport};

fn bundled() -> &'static PriceTable {
    static TABLE: OnceLock<PriceTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        PriceTable::from_litellm_json(include_str!(
            "../../data/prices/litellm-1.110.2_model_prices_subset.json"
        ))
        .expect("the bundled table parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (prices, log) = text.split_once('\0').unwrap_or(("", &text));
    let _ = read_anthropic_usage_page(prices);
    let _ = read_anthropic_cost_page(prices);
    let _ = read_openai_usage_page(prices);
    let _ = read_openai_costs_page(prices);
    let _ = next_page(prices);
    if let Ok(reader) = FocusReader::new(log.as_bytes(), "fuzz.csv", FocusConfig::default()) {
        let mut rows = Vec::new();
        for row in reader.take(1000) {
            match row {
                Ok(r) => rows.push(r),
                Err(_) => break,
            }
        }
        // What was read writes as FOCUS and reads back to the same cost.
        for version in [FocusVersion::V1_0, FocusVersion::V1_4] {
            let export = FocusExport::new(version, "fuzz");
            let csv = export.csv_from_rows(&rows).expect("rows write as FOCUS");
            let mut back = FocusReader::new(csv.as_slice(), "back.csv", FocusConfig::default())
                .expect("an export has a FOCUS header");
            let mut n = 0usize;
            let mut total = rust_decimal::Decimal::ZERO;
            while let Some(r) = back.read_row().expect("an export reads back") {
                total += r.cost;
                n += 1;
            }
            assert_eq!(n, rows.len());
            assert_eq!(total, rows.iter().map(|r| r.cost).sum());
        }
    }
    // Passthrough: every cell of a FOCUS file survives a conversion.
    if let Ok(mut reader) = FocusReader::new(log.as_bytes(), "fuzz.csv", FocusConfig::default()) {
        let export = FocusExport::new(FocusVersion::V1_4, "fuzz");
        let columns = export.passthrough_columns(reader.columns());
        let mut records = Vec::new();
        while let Ok(Some(r)) = reader.read_record() {
            records.push(export.convert(r));
            if records.len() >= 1000 {
                break;
            }
        }
        let mut w = FocusCsvWriter::new(Vec::new(), columns).expect("header");
        for r in &records {
            w.write(r).expect("record");
        }
        let csv = w.finish().expect("finish");
        let _ = check(
            FocusVersion::V1_4,
            &export.passthrough_columns(reader.columns()),
            &records,
        );
        let mut back = FocusReader::new(csv.as_slice(), "back.csv", FocusConfig::default())
            .expect("a passthrough has a FOCUS header");
        // A one-column file's all-null line is a blank line: skipped.
        let skip = back.columns().len() < 2;
        for r in records.iter().filter(|_| !skip) {
            let b = back.read_record().expect("reads back").expect("same count");
            assert_eq!(&b, r);
        }
    }
    let own = PriceTable::from_litellm_json(prices).ok();
    let table = own.as_ref().unwrap_or_else(|| bundled());
    let Ok(records) = read_usage_csv(log.as_bytes(), "fuzz.csv") else {
        return;
    };
    for r in &records {
        let Some(model) = r.model.as_deref() else {
            continue;
        };
        let Some((_, price)) = table.resolve(model, r.provider.as_deref()) else {
            continue;
        };
        if let (Ok(priced), Ok(parts)) = (price.price_record(r), price.cost_by_class_record(r)) {
            let sum = parts
                .iter()
                .try_fold(Decimal::ZERO, |s, (_, c)| s.checked_add(*c));
            if let Some(sum) = sum {
                assert_eq!(priced.cost, sum, "{r:?}");
            }
            for (class, _) in &parts {
                assert!(!priced.unpriced.contains(*class), "{r:?}");
            }
        }
    }
    let _ = price_usage(records, table);
});
