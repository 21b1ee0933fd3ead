//! The columnar Parquet path (`aggregate_columnar`) gives the row path's
//! answer on generated files: rows over three months in and out of time
//! order, small row groups (so row-group statistics skip, take whole, or
//! read row by row), timestamps in every unit with and without a zone,
//! strings plain, large, as views or dictionary-encoded, nulls and `NULL`
//! in every string column, null costs, two model columns; for every
//! grouping, granularity and filter the path takes.
#![cfg(feature = "parquet")]

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Decimal128Array, DictionaryArray, LargeStringArray, RecordBatch, StringArray,
    StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;
use tokentra_reports::backends::file::focus::{
    aggregate_stream, FocusConfig, FocusCostColumn, FocusModelColumn,
};
use tokentra_reports::backends::file::focus_parquet::aggregate_columnar;
use tokentra_reports::backends::file::FocusReader;
use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension, Granularity};

#[derive(Debug, Clone)]
struct Row {
    /// Seconds after 2024-08-20 00:00 UTC (up to about 2024-10-24).
    at: i64,
    cost: Option<i64>,
    currency: Option<String>,
    provider: Option<String>,
    service: Option<String>,
    sku: Option<String>,
}

const BASE: i64 = 1_724_112_000; // 2024-08-20T00:00:00Z

fn text(values: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        4 => proptest::sample::select(values).prop_map(Some),
        1 => Just(None),
        1 => Just(Some("NULL")),
        1 => Just(Some("")),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (
        0i64..65 * 86_400,
        proptest::option::weighted(0.9, -5_000_000i64..2_000_000_000),
        text(&["USD", "EUR"]),
        text(&["AWS", "Microsoft", "Google Cloud", "OpenAI"]),
        text(&["Amazon Bedrock", "Azure OpenAI", "Vertex AI"]),
        text(&["sku-1", "sku-2"]),
    )
        .prop_map(|(at, cost, currency, provider, service, sku)| Row {
            at,
            cost,
            currency: currency.map(str::to_owned),
            provider: provider.map(str::to_owned),
            service: service.map(str::to_owned),
            sku: sku.map(str::to_owned),
        })
}

/// How a string column is stored.
#[derive(Debug, Clone, Copy)]
enum Strings {
    Plain,
    Large,
    View,
    Dictionary,
}

fn strings(kind: Strings, values: Vec<Option<&str>>) -> ArrayRef {
    match kind {
        Strings::Plain => Arc::new(values.into_iter().collect::<StringArray>()),
        Strings::Large => Arc::new(values.into_iter().collect::<LargeStringArray>()),
        Strings::View => Arc::new(values.into_iter().collect::<StringViewArray>()),
        Strings::Dictionary => Arc::new(values.into_iter().collect::<DictionaryArray<Int32Type>>()),
    }
}

/// Write `rows` as a FOCUS Parquet file; `unit` 0..4 is seconds to
/// nanoseconds, `zone` whether the timestamps carry UTC.
fn write(
    path: &std::path::Path,
    rows: &[Row],
    unit: u8,
    zone: bool,
    kind: Strings,
    row_group: usize,
) {
    let z = zone.then_some("UTC");
    let secs = rows.iter().map(|r| Some(BASE + r.at));
    let ts: ArrayRef = match unit {
        0 => Arc::new(secs.collect::<TimestampSecondArray>().with_timezone_opt(z)),
        1 => Arc::new(
            secs.map(|s| s.map(|s| s * 1_000))
                .collect::<TimestampMillisecondArray>()
                .with_timezone_opt(z),
        ),
        2 => Arc::new(
            secs.map(|s| s.map(|s| s * 1_000_000))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone_opt(z),
        ),
        _ => Arc::new(
            secs.map(|s| s.map(|s| s * 1_000_000_000 + 999))
                .collect::<TimestampNanosecondArray>()
                .with_timezone_opt(z),
        ),
    };
    let cost = rows
        .iter()
        .map(|r| r.cost.map(i128::from))
        .collect::<Decimal128Array>()
        .with_precision_and_scale(38, 6)
        .unwrap();
    let batch = RecordBatch::try_from_iter([
        ("ChargePeriodStart", ts),
        ("BilledCost", Arc::new(cost) as ArrayRef),
        (
            "BillingCurrency",
            strings(kind, rows.iter().map(|r| r.currency.as_deref()).collect()),
        ),
        (
            "ProviderName",
            strings(kind, rows.iter().map(|r| r.provider.as_deref()).collect()),
        ),
        (
            "ServiceName",
            strings(kind, rows.iter().map(|r| r.service.as_deref()).collect()),
        ),
        (
            "SkuId",
            strings(kind, rows.iter().map(|r| r.sku.as_deref()).collect()),
        ),
    ])
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn query(
    group: u8,
    granularity: u8,
    providers: Vec<&str>,
    models: Vec<&str>,
    days: (u32, u32),
) -> CostQuery {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 8, 25).unwrap()
        + chrono::Duration::days(i64::from(days.0));
    let end = start + chrono::Duration::days(i64::from(days.1));
    let dims = match group {
        0 => vec![],
        1 => vec![Dimension::Provider],
        2 => vec![Dimension::Model],
        3 => vec![Dimension::Provider, Dimension::Model],
        _ => vec![Dimension::Model, Dimension::Provider],
    };
    let mut q = CostQuery::total(DateRange::new(start, end).unwrap()).group_by(dims);
    q.granularity = match granularity {
        0 => None,
        1 => Some(Granularity::Hour),
        2 => Some(Granularity::Day),
        3 => Some(Granularity::Week),
        _ => Some(Granularity::Month),
    };
    q.filters.providers = providers.into_iter().map(str::to_owned).collect();
    q.filters.models = models.into_iter().map(str::to_owned).collect();
    q
}

fn config() -> FocusConfig {
    FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        model_columns: vec![FocusModelColumn::ServiceName, FocusModelColumn::SkuId],
        ..FocusConfig::default()
    }
}

fn check(path: &std::path::Path, q: &CostQuery) {
    let columnar = aggregate_columnar(path, &config(), q, Currency::EUR)
        .unwrap()
        .unwrap_or_else(|| panic!("the columnar path takes {q:?}"));
    let rows = FocusReader::open(path, config()).unwrap().only_for(q);
    let by_row = aggregate_stream(rows, q, Currency::EUR).unwrap();
    assert_eq!(columnar, by_row, "{q:?}");
    // The same decimals, scale included (`0` for null costs only).
    let text = |b: &[tokentra_reports::model::CostBucket]| -> Vec<String> {
        b.iter().map(|b| b.cost.to_string()).collect()
    };
    assert_eq!(text(&columnar), text(&by_row), "{q:?}");
}

/// The columnar path gives up (`Ok(None)`) and the row path errors.
fn falls_back(path: &std::path::Path, q: &CostQuery) -> String {
    let columnar = aggregate_columnar(path, &config(), q, Currency::EUR).unwrap();
    assert_eq!(columnar, None, "{q:?}");
    let rows = FocusReader::open(path, config()).unwrap().only_for(q);
    aggregate_stream(rows, q, Currency::EUR)
        .unwrap_err()
        .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn columnar_answers_as_the_row_path(
        mut rows in proptest::collection::vec(row(), 1..300),
        sorted in any::<bool>(),
        unit in 0u8..4,
        zone in any::<bool>(),
        kind in prop_oneof![
            Just(Strings::Plain),
            Just(Strings::Large),
            Just(Strings::View),
            Just(Strings::Dictionary),
        ],
        row_group in 1usize..80,
        group in 0u8..5,
        granularity in 0u8..5,
        providers in proptest::sample::subsequence(vec!["AWS", "OpenAI", "Other"], 0..=2),
        models in proptest::sample::subsequence(vec!["Vertex AI", "sku-2"], 0..=1),
        days in (0u32..50, 0u32..40),
    ) {
        if sorted {
            rows.sort_by_key(|r| r.at);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focus.parquet");
        write(&path, &rows, unit, zone, kind, row_group);
        check(&path, &query(group, granularity, providers, models, days));
        // The whole of September, as reports ask.
        check(&path, &query(group, granularity, vec![], vec![], (7, 29)));
    }
}

/// Sorted rows in row groups of a day's rows: most row groups are skipped
/// or taken whole (no timestamps read), and the answer is the same.
#[test]
fn row_groups_outside_and_inside_the_range() {
    let rows: Vec<Row> = (0..65 * 24)
        .map(|h| Row {
            at: h * 3_600 + 59,
            cost: Some(1_000_000 + h),
            currency: Some(if h % 5 == 0 { "EUR" } else { "USD" }.to_owned()),
            provider: Some(["AWS", "OpenAI", "Microsoft"][(h % 3) as usize].to_owned()),
            service: (h % 7 != 0).then(|| "Azure OpenAI".to_owned()),
            sku: Some("sku-1".to_owned()),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.parquet");
    write(&path, &rows, 2, true, Strings::Dictionary, 24);
    for group in 0..5 {
        for granularity in 0..5 {
            check(&path, &query(group, granularity, vec![], vec![], (7, 29)));
            check(
                &path,
                &query(group, granularity, vec!["OpenAI"], vec!["sku-1"], (3, 3)),
            );
        }
    }
    // September: 30 days of 24 rows; EUR every fifth hour of the file.
    let q = query(0, 0, vec![], vec![], (7, 29));
    let total = aggregate_columnar(&path, &config(), &q, Currency::USD)
        .unwrap()
        .unwrap();
    let expect = |eur: bool| -> i64 {
        (12 * 24..42 * 24)
            .filter(|h| (h % 5 == 0) == eur)
            .map(|h| 1_000_000 + h)
            .sum()
    };
    assert_eq!(total.len(), 2);
    for b in total {
        let cents = b.cost * rust_decimal::Decimal::from(1_000_000);
        assert_eq!(
            cents,
            rust_decimal::Decimal::from(expect(b.currency == Currency::EUR)),
            "{b:?}"
        );
    }
}

/// Row groups of 70,000 rows (several batches each) and more key
/// combinations than the dense table holds (211 providers x 101 services x
/// currencies): the hash-map side of the group lookup.
#[test]
fn long_row_groups_and_many_key_combinations() {
    let rows: Vec<Row> = (0..150_000i64)
        .map(|i| Row {
            // September and the first days of October, in order.
            at: 12 * 86_400 + i * 20,
            cost: (i % 97 != 0).then_some(i % 10_007),
            currency: Some(if i % 3 == 0 { "EUR" } else { "USD" }.to_owned()),
            provider: Some(format!("p{}", i % 211)),
            service: Some(format!("s{}", i % 101)),
            sku: None,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.parquet");
    write(&path, &rows, 2, true, Strings::Dictionary, 70_000);
    for granularity in [0, 2, 4] {
        check(&path, &query(3, granularity, vec![], vec![], (7, 29)));
    }
    check(&path, &query(1, 0, vec!["p7", "p8"], vec![], (7, 29)));
}

/// What the row path rejects anywhere in the file, the columnar path does
/// not answer: an unknown currency and a null start, both in a row group
/// outside the range.
#[test]
fn a_null_start_or_an_unknown_currency_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("focus.parquet");
    let row = |at: i64, currency: &str| Row {
        at,
        cost: Some(1),
        currency: Some(currency.to_owned()),
        provider: Some("AWS".to_owned()),
        service: None,
        sku: None,
    };
    // Two rows in August (first row group), one in September (second).
    let rows = vec![row(0, "USD"), row(86_400, "X!"), row(15 * 86_400, "USD")];
    write(&path, &rows, 2, true, Strings::Dictionary, 2);
    let q = query(1, 0, vec![], vec![], (7, 29));
    let e = falls_back(&path, &q);
    assert!(e.contains("currency"), "{e}");

    let starts: ArrayRef = Arc::new(
        [
            Some(BASE * 1_000_000),
            None,
            Some((BASE + 15 * 86_400) * 1_000_000),
        ]
        .into_iter()
        .collect::<TimestampMicrosecondArray>()
        .with_timezone("UTC"),
    );
    let costs = [Some(1i128), Some(2), Some(3)]
        .into_iter()
        .collect::<Decimal128Array>()
        .with_precision_and_scale(38, 6)
        .unwrap();
    let batch = RecordBatch::try_from_iter([
        ("ChargePeriodStart", starts),
        ("BilledCost", Arc::new(costs) as ArrayRef),
        (
            "BillingCurrency",
            Arc::new(StringArray::from(vec!["USD"; 3])) as ArrayRef,
        ),
    ])
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(2))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let e = falls_back(&path, &q);
    assert!(e.contains("ChargePeriodStart"), "{e}");
}
