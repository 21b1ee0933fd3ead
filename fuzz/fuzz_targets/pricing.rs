//! Price tables and request logs from arbitrary bytes: no panic, the fast
//! integer path of `ModelPrice::price_record` equals the decimal sum of
//! `cost_by_class_record` whenever both answer, and no class is both priced
//! and reported unpriced.
//!
//! The input is `<LiteLLM JSON>\0<usage CSV>`; when the JSON part does not
//! parse, the bundled LiteLLM subset prices the log. The JSON part is also
//! read as a page of the OpenAI and Anthropic usage and cost APIs, and the
//! CSV part as a FOCUS file: errors, never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use tokentra_reports::backends::file::{
    next_page, read_anthropic_cost_page, read_anthropic_usage_page, read_openai_costs_page,
    read_openai_usage_page, read_usage_csv, FocusConfig, FocusReader,
};
use tokentra_reports::core::pricing::{price_usage, PriceTable};

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
        for row in reader.take(1000) {
            if row.is_err() {
                break;
            }
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
