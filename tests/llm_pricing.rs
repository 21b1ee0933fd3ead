//! Pricing a real LLM request trace with the bundled LiteLLM prices.
//! The expected total was computed independently with Python's `decimal`
//! module (`data/llm/figures.py`).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::backends::file::{demo, read_usage_csv};
use tokentra_reports::core::pricing::price_usage;

#[test]
fn azure_code_trace_priced_as_gpt_4o() {
    let path = demo::llm_trace_path();
    let mut records = read_usage_csv(std::fs::File::open(&path).unwrap(), "azure-code").unwrap();
    assert_eq!(records.len(), 8819);
    // `2023-11-16 18:17:03.9799600`: seven fractional digits, UTC.
    assert_eq!(
        records[0].timestamp.to_rfc3339(),
        "2023-11-16T18:17:03.979960+00:00"
    );
    assert_eq!(records[0].tokens.input_tokens, 4808);
    assert_eq!(records[0].tokens.output_tokens, 10);
    for r in &mut records {
        r.model = Some("openai/gpt-4o".into());
    }
    let table = demo::price_table().unwrap();
    let priced = price_usage(records, &table).unwrap();
    assert!(priced.unpriced.is_empty());
    let total: Decimal = priced.rows.iter().map(|r| r.cost).sum();
    // 18,059,974 input tokens × $0.0000025 + 245,896 output tokens × $0.00001.
    assert_eq!(total, dec!(47.6088950));
    assert_eq!(priced.rows.iter().map(|r| r.requests).sum::<u64>(), 8819);
}

#[test]
fn an_unknown_model_is_reported_with_its_request_count() {
    let path = demo::llm_trace_path();
    let mut records = read_usage_csv(std::fs::File::open(&path).unwrap(), "azure-code").unwrap();
    for (i, r) in records.iter_mut().enumerate() {
        r.model = Some(
            if i % 2 == 0 {
                "gpt-4o"
            } else {
                "in-house-coder-7b"
            }
            .into(),
        );
    }
    let priced = price_usage(records, &demo::price_table().unwrap()).unwrap();
    assert_eq!(priced.rows.len(), 4410);
    assert_eq!(priced.unpriced.lines, 4409);
    assert_eq!(priced.unpriced.models(), vec!["in-house-coder-7b"]);
    assert_eq!(priced.unpriced.requests_by_model["in-house-coder-7b"], 4409);
}
