//! FOCUS export: a report's detail and cost rows written as FOCUS CSV, read
//! back with the FOCUS source; and the FOCUS source through the shared
//! cost-source conformance suite (rows written as FOCUS files).

mod conformance;

use std::path::PathBuf;
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::backends::file::demo;
use tokentra_reports::backends::file::focus::{
    aggregate_focus, read_focus_rows, FocusConfig, FocusCostSource,
};
use tokentra_reports::core::aggregate::aggregate_rows;
use tokentra_reports::model::{
    CostBucket, CostQuery, CostRow, Currency, DateRange, Dimension, Granularity,
};
use tokentra_reports::ports::CostSource;
use tokentra_reports::render::focus::{focus_csv_from_buckets, focus_csv_from_rows, FOCUS_COLUMNS};

fn temp_file(bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokentra-focus-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("export.csv");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn remove(path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn september() -> DateRange {
    DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap()
}

fn sum(b: &[CostBucket]) -> Decimal {
    b.iter().map(|b| b.cost).sum()
}

#[test]
fn report_detail_round_trips_through_focus() {
    let rows = demo::focus_sample_rows().unwrap();
    let dims = vec![
        Dimension::Provider,
        Dimension::Model,
        Dimension::Team,
        Dimension::Tag("org".into()),
    ];
    let q = CostQuery::total(september())
        .group_by(dims.clone())
        .bucketed(Granularity::Day);
    let detail = aggregate_rows(&rows, &q, Currency::USD).unwrap();
    let csv = focus_csv_from_buckets(&detail, &dims, september(), Some(Granularity::Day)).unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert_eq!(text.lines().next().unwrap(), FOCUS_COLUMNS.join(","));
    assert_eq!(text.lines().count(), detail.len() + 1);

    // Read back with the default mapping (EffectiveCost, model from ServiceName).
    let path = temp_file(&csv);
    let back =
        |q: CostQuery| aggregate_focus(&path, &FocusConfig::default(), &q, Currency::USD).unwrap();
    assert_eq!(
        sum(&back(CostQuery::total(september()))),
        dec!(20.52022672899)
    );
    for d in [
        Dimension::Provider,
        Dimension::Model,
        Dimension::Team,
        Dimension::Tag("org".into()),
    ] {
        let q = CostQuery::total(september()).group_by([d.clone()]);
        assert_eq!(
            back(q.clone()),
            aggregate_rows(&rows, &q, Currency::USD).unwrap(),
            "{d}"
        );
    }
    let daily = CostQuery::total(september()).bucketed(Granularity::Day);
    assert_eq!(
        back(daily.clone()),
        aggregate_rows(&rows, &daily, Currency::USD).unwrap()
    );
    remove(&path);
    // ServiceCategory and the charge period of a daily bucket.
    let (read, _) = read_focus_rows(csv.as_slice(), "x", FocusConfig::default()).unwrap();
    assert_eq!(read.len(), detail.len());
    let first = text.lines().nth(1).unwrap();
    assert!(
        first.contains(",2024-09-01T00:00:00Z,2024-09-02T00:00:00Z,Usage,"),
        "{first}"
    );
    assert!(first.contains(",AI and Machine Learning,"), "{first}");
    assert!(
        first.starts_with(",2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,"),
        "{first}"
    );
}

#[test]
fn weekly_buckets_are_clipped_to_the_range_and_totals_need_no_time() {
    let rows = demo::focus_sample_rows().unwrap();
    let range =
        DateRange::new("2024-09-04".parse().unwrap(), "2024-09-20".parse().unwrap()).unwrap();
    let q = CostQuery::total(range).bucketed(Granularity::Week);
    let detail = aggregate_rows(&rows, &q, Currency::USD).unwrap();
    let csv = String::from_utf8(
        focus_csv_from_buckets(&detail, &[], range, Some(Granularity::Week)).unwrap(),
    )
    .unwrap();
    let periods: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[3].to_owned(), f[4].to_owned())
        })
        .collect();
    assert_eq!(
        periods,
        vec![
            (
                "2024-09-04T00:00:00Z".to_owned(),
                "2024-09-09T00:00:00Z".to_owned()
            ),
            (
                "2024-09-09T00:00:00Z".to_owned(),
                "2024-09-16T00:00:00Z".to_owned()
            ),
            (
                "2024-09-16T00:00:00Z".to_owned(),
                "2024-09-21T00:00:00Z".to_owned()
            ),
        ]
    );
    let (back, _) = read_focus_rows(csv.as_bytes(), "w", FocusConfig::default()).unwrap();
    assert_eq!(back.iter().map(|r| r.cost).sum::<Decimal>(), sum(&detail));

    // No time buckets: one line spanning the range.
    let total = aggregate_rows(&rows, &CostQuery::total(range), Currency::USD).unwrap();
    let csv = String::from_utf8(focus_csv_from_buckets(&total, &[], range, None).unwrap()).unwrap();
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .contains(",2024-09-04T00:00:00Z,2024-09-21T00:00:00Z,"));
    // Keys and dimensions must agree.
    let e = focus_csv_from_buckets(&total, &[Dimension::Team], range, None).unwrap_err();
    assert_eq!(e.field(), Some("detailDimensions"));
}

#[test]
fn formula_like_text_is_written_inert() {
    let row = CostRow {
        date: "2024-09-01".parse().unwrap(),
        team: Some("=HYPERLINK(\"x\")".into()),
        provider: Some("@evil".into()),
        cost: dec!(-1.5),
        ..Default::default()
    };
    let csv = String::from_utf8(focus_csv_from_rows(&[row], Currency::EUR).unwrap()).unwrap();
    let line = csv.lines().nth(1).unwrap();
    assert!(line.contains(",'@evil,'@evil,'@evil,"), "{line}");
    // Tags is a JSON object: the cell starts with `{`, so the value inside
    // stays as written.
    assert!(
        line.contains(r#","{""team"":""=HYPERLINK(\""x\"")""}","#),
        "{line}"
    );
    // Amounts stay numbers, credits negative.
    assert!(line.contains(",-1.5,-1.5,-1.5,-1.5,EUR,"), "{line}");
}

#[tokio::test]
async fn focus_source_passes_the_cost_source_suite() {
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let w = written.clone();
    conformance::cost_source_suite(Box::new(move |data| {
        let w = w.clone();
        Box::pin(async move {
            let mut src = FocusCostSource::new(FocusConfig::default());
            for (org, rows) in data {
                let csv = focus_csv_from_rows(&rows, Currency::USD).unwrap();
                let path = temp_file(&csv);
                w.lock().unwrap().push(path.clone());
                src = src.with_file(org, path);
            }
            Arc::new(src) as Arc<dyn CostSource>
        })
    }))
    .await;
    for p in written.lock().unwrap().iter() {
        remove(p);
    }
}
