//! FOCUS in Parquet: files written here with arrow-rs in the shapes cloud
//! exports use (DECIMAL, DOUBLE and string costs; timestamps with and
//! without a zone; dictionary, large and view strings; MAP and STRUCT
//! columns; nulls) read to exactly what the same data gives as CSV.
#![cfg(feature = "parquet")]

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Decimal128Array, DictionaryArray, Float64Array, LargeStringArray, ListArray,
    RecordBatch, StringArray, StringViewArray, TimestampMicrosecondArray, TimestampNanosecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rust_decimal::Decimal;
use tokentra_reports::backends::file::focus::{aggregate_focus, FocusConfig, FocusCostColumn};
use tokentra_reports::backends::file::FocusReader;
use tokentra_reports::model::{CostQuery, CostRow, Currency, DateRange, Dimension};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/focus/finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv"
);

fn csv_rows(path: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.trim_start_matches('\u{feff}').to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn null(v: &str) -> Option<&str> {
    (!v.is_empty() && v != "NULL").then_some(v)
}

fn micros(v: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp_micros()
}

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>, row_group: usize) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
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

/// The FinOps sample as Parquet: BilledCost DECIMAL(38, 12), EffectiveCost
/// DOUBLE, ListCost as strings, ChargePeriodStart TIMESTAMP(µs, UTC),
/// ProviderName dictionary-encoded, currency as large strings, ServiceName
/// as string views, Tags JSON text; row groups of 300 rows.
fn sample_parquet(dir: &Path) -> std::path::PathBuf {
    let rows = csv_rows(SAMPLE);
    let path = dir.join("focus_sample.parquet");
    let dec = |k: &str| -> Decimal128Array {
        rows.iter()
            .map(|r| {
                null(&r[k]).map(|v| {
                    let d: Decimal = v.parse().unwrap();
                    let mut d = d;
                    d.rescale(12);
                    d.mantissa()
                })
            })
            .collect::<Decimal128Array>()
            .with_precision_and_scale(38, 12)
            .unwrap()
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "ChargePeriodStart",
            Arc::new(
                rows.iter()
                    .map(|r| Some(micros(&r["ChargePeriodStart"])))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("UTC"),
            ),
        ),
        ("BilledCost", Arc::new(dec("BilledCost"))),
        (
            "EffectiveCost",
            Arc::new(
                rows.iter()
                    .map(|r| null(&r["EffectiveCost"]).map(|v| v.parse::<f64>().unwrap()))
                    .collect::<Float64Array>(),
            ),
        ),
        (
            "ListCost",
            Arc::new(
                rows.iter()
                    .map(|r| null(&r["ListCost"]))
                    .collect::<StringArray>(),
            ),
        ),
        (
            "BillingCurrency",
            Arc::new(
                rows.iter()
                    .map(|r| null(&r["BillingCurrency"]))
                    .collect::<LargeStringArray>(),
            ),
        ),
        (
            "ProviderName",
            Arc::new(
                rows.iter()
                    .map(|r| null(&r["ProviderName"]))
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
        ),
        (
            "ServiceName",
            Arc::new(
                rows.iter()
                    .map(|r| null(&r["ServiceName"]))
                    .collect::<StringViewArray>(),
            ),
        ),
        (
            "Tags",
            Arc::new(
                rows.iter()
                    .map(|r| null(&r["Tags"]))
                    .collect::<StringArray>(),
            ),
        ),
    ];
    write(&path, columns, 300);
    path
}

fn query(dims: &[Dimension]) -> CostQuery {
    CostQuery::total(
        DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap(),
    )
    .group_by(dims.to_vec())
}

fn config(column: FocusCostColumn) -> FocusConfig {
    FocusConfig {
        cost_column: column,
        ..FocusConfig::default()
    }
}

#[test]
fn the_finops_sample_in_parquet_aggregates_exactly_as_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = sample_parquet(dir.path());
    for column in [
        FocusCostColumn::BilledCost,
        FocusCostColumn::EffectiveCost,
        FocusCostColumn::ListCost,
    ] {
        for dims in [
            vec![Dimension::Provider],
            vec![Dimension::Model, Dimension::Team],
            vec![Dimension::Tag("org".into())],
        ] {
            let q = query(&dims);
            let a = aggregate_focus(SAMPLE, &config(column), &q, Currency::USD).unwrap();
            let b = aggregate_focus(&parquet, &config(column), &q, Currency::USD).unwrap();
            assert_eq!(a, b, "{column:?} {dims:?}");
            assert!(!a.is_empty());
        }
    }
    // Row by row, too.
    let csv: Vec<CostRow> = FocusReader::open(SAMPLE, config(FocusCostColumn::BilledCost))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let pq: Vec<CostRow> = FocusReader::open(&parquet, config(FocusCostColumn::BilledCost))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(csv.len(), 1000);
    assert_eq!(csv, pq);
}

#[test]
fn ai_billing_with_map_details_naive_timestamps_and_string_costs() {
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/focus/ai-examples/ai_prompt_caching__ai_prompt_caching_a.csv"
    );
    let rows = csv_rows(src);
    let mut details = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for r in &rows {
        let d: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&r["SkuPriceDetails"]).unwrap();
        for (k, v) in d {
            details.keys().append_value(k);
            details.values().append_value(v.as_str().unwrap());
        }
        details.append(true).unwrap();
    }
    let nanos = |v: &str| {
        chrono::DateTime::parse_from_rfc3339(v)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ai.parquet");
    let col = |k: &str| -> ArrayRef {
        Arc::new(rows.iter().map(|r| null(&r[k])).collect::<StringArray>())
    };
    write(
        &path,
        vec![
            (
                "ChargePeriodStart",
                Arc::new(
                    rows.iter()
                        .map(|r| Some(nanos(&r["ChargePeriodStart"])))
                        .collect::<TimestampNanosecondArray>(),
                ),
            ),
            ("BilledCost", col("BilledCost")),
            ("BillingCurrency", col("BillingCurrency")),
            ("ServiceProviderName", col("ServiceProviderName")),
            ("ServiceName", col("ServiceName")),
            ("ConsumedUnit", col("ConsumedUnit")),
            (
                "ConsumedQuantity",
                Arc::new(
                    rows.iter()
                        .map(|r| Some(r["ConsumedQuantity"].parse::<f64>().unwrap()))
                        .collect::<Float64Array>(),
                ),
            ),
            ("SkuPriceDetails", Arc::new(details.finish())),
        ],
        1024,
    );
    let read = |p: &Path| -> Vec<CostRow> {
        FocusReader::open(p, config(FocusCostColumn::BilledCost))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let pq = read(&path);
    let csv = read(Path::new(src));
    let key = |r: &CostRow| {
        (
            r.date,
            r.model.clone(),
            r.provider.clone(),
            r.tags.get("token_class").cloned(),
            r.cost,
            r.input_tokens,
            r.output_tokens,
        )
    };
    assert_eq!(
        pq.iter().map(key).collect::<Vec<_>>(),
        csv.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(pq[1].tags["token_class"], "cache_write");
    assert_eq!(pq[1].model.as_deref(), Some("solora-reasoning-pro"));
}

#[test]
fn unreadable_files_and_columns_name_themselves() {
    let dir = tempfile::tempdir().unwrap();
    // Not Parquet at all.
    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, b"BilledCost,ChargePeriodStart\n1,2024-01-01\n").unwrap();
    let e = FocusReader::open(&fake, FocusConfig::default()).unwrap_err();
    assert!(e.to_string().contains("fake.parquet"), "{e}");
    // A mapped column of a type with no text form: Tags as a list.
    let path = dir.path().join("list.parquet");
    let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    write(
        &path,
        vec![
            (
                "ChargePeriodStart",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(micros("2024-09-01 00:00:00"))])
                        .with_timezone("UTC"),
                ),
            ),
            (
                "EffectiveCost",
                Arc::new(StringArray::from(vec![Some("1.5")])),
            ),
            ("Tags", Arc::new(tags)),
        ],
        1024,
    );
    let q = query(&[Dimension::Team]);
    let e = aggregate_focus(&path, &FocusConfig::default(), &q, Currency::USD).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("list.parquet") && text.contains("Tags"),
        "{text}"
    );
}

#[test]
fn struct_details_with_dictionary_encoded_fields() {
    use arrow_array::StructArray;
    use arrow_schema::{DataType, Field};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("struct.parquet");
    let model: DictionaryArray<Int32Type> = vec![
        Some("solora-atlas-5.5"),
        Some("solora-atlas-5.4-mini"),
        Some("solora-atlas-5.5"),
    ]
    .into_iter()
    .collect();
    let direction: DictionaryArray<Int32Type> = vec![Some("Input"), Some("Output"), Some("Output")]
        .into_iter()
        .collect();
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let details = StructArray::from(vec![
        (
            Arc::new(Field::new("ModelId", dict.clone(), true)),
            Arc::new(model) as ArrayRef,
        ),
        (
            Arc::new(Field::new("TokenDirection", dict, true)),
            Arc::new(direction) as ArrayRef,
        ),
    ]);
    let start = micros("2025-01-01 00:00:00");
    write(
        &path,
        vec![
            (
                "ChargePeriodStart",
                Arc::new(TimestampMicrosecondArray::from(vec![start; 3]).with_timezone("UTC")),
            ),
            (
                "BilledCost",
                Arc::new(StringArray::from(vec!["50.00", "2.25", "52.25"])),
            ),
            ("SkuPriceDetails", Arc::new(details)),
        ],
        1024,
    );
    let rows: Vec<CostRow> = FocusReader::open(&path, config(FocusCostColumn::BilledCost))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.model.as_deref().unwrap(), r.tags["token_class"].as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("solora-atlas-5.5", "input"),
            ("solora-atlas-5.4-mini", "output"),
            ("solora-atlas-5.5", "output"),
        ]
    );
}

/// Write records to a Parquet file with the crate's writer.
fn write_parquet(
    path: &Path,
    version: tokentra_reports::model::FocusVersion,
    columns: &[String],
    records: Vec<tokentra_reports::model::FocusRecord>,
) {
    use tokentra_reports::backends::file::focus_parquet::FocusParquetWriter;
    let out = std::fs::File::create(path).unwrap();
    let mut w = FocusParquetWriter::new(out, version, columns).unwrap();
    for r in records {
        w.write(r).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn a_focus_file_written_as_parquet_reads_back_with_every_value() {
    use tokentra_reports::model::FocusVersion;
    use tokentra_reports::render::focus::FocusExport;
    let sample = tokentra_reports::backends::file::demo::focus_sample_path();
    let mut r = FocusReader::open_passthrough(&sample, FocusConfig::default()).unwrap();
    let header = r.columns().to_vec();
    let mut original = Vec::new();
    while let Some(rec) = r.read_record().unwrap() {
        original.push(rec);
    }
    let e = FocusExport::new(FocusVersion::V1_0, "");
    let columns = e.passthrough_columns(&header);
    let dir = std::env::temp_dir().join(format!("tokentra-pq-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sample.parquet");
    write_parquet(
        &path,
        FocusVersion::V1_0,
        &columns,
        original.iter().cloned().map(|r| e.convert(r)).collect(),
    );
    let mut r = FocusReader::open_passthrough(&path, FocusConfig::default()).unwrap();
    assert_eq!(r.columns(), columns.as_slice());
    let mut n = 0;
    while let Some(back) = r.read_record().unwrap() {
        let a = &original[n];
        for (k, v) in a.iter() {
            let k = if k == "Id" { "x_Id" } else { k };
            let got = back.get(k).unwrap_or_else(|| panic!("row {n} {k}"));
            let col = FocusVersion::V1_0.column(k);
            match col.map(|c| c.data_type) {
                // Same number (DECIMAL(38, 18) writes the trailing zeros).
                Some(tokentra_reports::model::FocusDataType::Decimal) => assert_eq!(
                    v.parse::<Decimal>().unwrap(),
                    got.parse::<Decimal>().unwrap(),
                    "row {n} {k}"
                ),
                // Same instant, written RFC 3339.
                Some(tokentra_reports::model::FocusDataType::DateTime) => {
                    assert_eq!(got, format!("{}Z", v.replace(' ', "T")), "row {n} {k}")
                }
                _ => assert_eq!(got, v, "row {n} {k}"),
            }
        }
        assert_eq!(a.iter().count(), back.iter().count(), "row {n}");
        n += 1;
    }
    assert_eq!(n, 1000);
    // And the totals by currency equal the CSV's.
    let range =
        DateRange::new("2020-01-01".parse().unwrap(), "2024-12-31".parse().unwrap()).unwrap();
    let config = FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        ..Default::default()
    };
    let q = CostQuery::total(range).group_by([Dimension::Provider]);
    assert_eq!(
        aggregate_focus(&path, &config, &q, Currency::USD).unwrap(),
        aggregate_focus(&sample, &config, &q, Currency::USD).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_decimal_that_does_not_fit_is_an_error_naming_the_column() {
    use tokentra_reports::backends::file::focus_parquet::FocusParquetWriter;
    use tokentra_reports::model::{FocusRecord, FocusVersion};
    let columns = vec!["BilledCost".to_owned()];
    let mut w = FocusParquetWriter::new(Vec::new(), FocusVersion::V1_2, &columns).unwrap();
    let mut rec = FocusRecord::new();
    rec.set("BilledCost", Some("0.0000000000000000001"));
    w.write(rec).unwrap();
    let e = w.finish().unwrap_err();
    assert_eq!(e.field(), Some("BilledCost"), "{e}");
    assert!(e.to_string().contains("record 0"), "{e}");
}

#[test]
fn the_columnar_path_answers_as_the_row_path() {
    use tokentra_reports::backends::file::focus::aggregate_stream;
    use tokentra_reports::backends::file::focus_parquet::aggregate_columnar;
    use tokentra_reports::model::Granularity;
    let dir = tempfile::tempdir().unwrap();
    let parquet = sample_parquet(dir.path());
    let sept = |dims: &[Dimension]| query(dims);
    let mut queries = Vec::new();
    for dims in [
        vec![],
        vec![Dimension::Provider],
        vec![Dimension::Model],
        vec![Dimension::Provider, Dimension::Model],
        vec![Dimension::Model, Dimension::Provider],
    ] {
        queries.push(sept(&dims));
        for g in [
            Granularity::Hour,
            Granularity::Day,
            Granularity::Week,
            Granularity::Month,
        ] {
            queries.push(sept(&dims).bucketed(g));
        }
    }
    let mut filtered = sept(&[Dimension::Model]);
    filtered.filters.providers = vec!["Microsoft".into(), "Oracle".into()];
    queries.push(filtered);
    let mut filtered = sept(&[Dimension::Provider]);
    filtered.filters.models = vec!["Elastic Load Balancing".into(), "AmazonCloudWatch".into()];
    queries.push(filtered);
    let config = config(FocusCostColumn::BilledCost);
    for q in &queries {
        let columnar = aggregate_columnar(&parquet, &config, q, Currency::EUR)
            .unwrap()
            .unwrap_or_else(|| panic!("the columnar path takes {q:?}"));
        let rows = FocusReader::open(&parquet, config.clone())
            .unwrap()
            .only_for(q);
        let by_row = aggregate_stream(rows, q, Currency::EUR).unwrap();
        assert_eq!(columnar, by_row, "{q:?}");
        assert!(!by_row.is_empty(), "{q:?}");
    }
    // What it does not take falls back: a team, a tag, another cost type.
    for (q, c) in [
        (sept(&[Dimension::Team]), FocusCostColumn::BilledCost),
        (
            sept(&[Dimension::Tag("org".into())]),
            FocusCostColumn::BilledCost,
        ),
        (sept(&[Dimension::Provider]), FocusCostColumn::EffectiveCost),
    ] {
        assert_eq!(
            aggregate_columnar(&parquet, &self::config(c), &q, Currency::USD).unwrap(),
            None
        );
    }
}
