//! FOCUS export: a report's detail, cost rows and a chargeback allocation
//! written as FOCUS 1.0, 1.2 and 1.4 CSV, each checked against its version's
//! column table and read back with the FOCUS source; a FOCUS file passed
//! through keeps every value; and the FOCUS source through the shared
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
use tokentra_reports::backends::file::FocusReader;
use tokentra_reports::core::aggregate::aggregate_rows;
use tokentra_reports::model::{
    ChargebackConfiguration, ChargebackRecord, CostBucket, CostQuery, CostRow, Currency, DateRange,
    Dimension, FocusRecord, FocusVersion, Granularity,
};
use tokentra_reports::ports::CostSource;
use tokentra_reports::render::focus::{check, FocusExport};

const VERSIONS: [FocusVersion; 3] = [FocusVersion::V1_0, FocusVersion::V1_2, FocusVersion::V1_4];

fn export(v: FocusVersion) -> FocusExport {
    FocusExport::new(v, "org-7f3a").billing_account_name("Acme Corp")
}

fn focus_csv_from_buckets(
    b: &[CostBucket],
    d: &[Dimension],
    r: DateRange,
    g: Option<Granularity>,
) -> tokentra_reports::Result<Vec<u8>> {
    let e = export(FocusVersion::V1_2);
    e.csv(&e.records_from_buckets(b, d, r, g)?)
}

fn focus_csv_from_rows(rows: &[CostRow], currency: Currency) -> tokentra_reports::Result<Vec<u8>> {
    export(FocusVersion::V1_2)
        .default_currency(currency)
        .csv_from_rows(rows)
}

/// A CSV's header and records, as the passthrough reader reads them.
fn parse(csv: &[u8]) -> (Vec<String>, Vec<FocusRecord>) {
    let mut r = FocusReader::new(csv, "export", FocusConfig::default()).unwrap();
    let header = r.columns().to_vec();
    let mut out = Vec::new();
    while let Some(rec) = r.read_record().unwrap() {
        out.push(rec);
    }
    (header, out)
}

/// Assert the CSV conforms to `version`'s column table.
fn assert_conforms(version: FocusVersion, csv: &[u8]) {
    let (header, records) = parse(csv);
    let issues = check(version, &header, &records);
    assert!(
        issues.is_empty(),
        "FOCUS {version}: {}",
        issues
            .iter()
            .take(10)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

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
    assert_eq!(text.lines().count(), detail.len() + 1);
    assert_conforms(FocusVersion::V1_2, &csv);

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
    // The columns of a daily bucket.
    let (read, _) = read_focus_rows(csv.as_slice(), "x", FocusConfig::default()).unwrap();
    assert_eq!(read.len(), detail.len());
    let (_, records) = parse(&csv);
    let first = &records[0];
    for (column, value) in [
        ("BillingAccountId", "org-7f3a"),
        ("BillingAccountName", "Acme Corp"),
        ("BillingPeriodStart", "2024-09-01T00:00:00Z"),
        ("BillingPeriodEnd", "2024-10-01T00:00:00Z"),
        ("ChargePeriodStart", "2024-09-01T00:00:00Z"),
        ("ChargePeriodEnd", "2024-09-02T00:00:00Z"),
        ("ChargeCategory", "Usage"),
        ("ChargeFrequency", "Usage-Based"),
    ] {
        assert_eq!(first.get(column), Some(value), "{column}");
    }
    // Nothing the report does not know is made up.
    for column in [
        "ChargeClass",
        "RegionId",
        "ResourceId",
        "SkuPriceId",
        "SubAccountId",
        "CommitmentDiscountId",
        "PricingCategory",
    ] {
        assert_eq!(first.get(column), None, "{column}");
    }
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
    let periods: Vec<(String, String)> = parse(csv.as_bytes())
        .1
        .iter()
        .map(|r| {
            let g = |c: &str| r.get(c).unwrap().to_owned();
            (g("ChargePeriodStart"), g("ChargePeriodEnd"))
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
    let csv = focus_csv_from_buckets(&total, &[], range, None).unwrap();
    let (_, records) = parse(&csv);
    assert_eq!(
        records[0].get("ChargePeriodStart"),
        Some("2024-09-04T00:00:00Z")
    );
    assert_eq!(
        records[0].get("ChargePeriodEnd"),
        Some("2024-09-21T00:00:00Z")
    );
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
    let (_, records) = parse(csv.as_bytes());
    let r = &records[0];
    for c in ["ProviderName", "PublisherName", "InvoiceIssuerName"] {
        assert_eq!(r.get(c), Some("'@evil"), "{c}");
    }
    // Tags is a JSON object: the cell starts with `{`, so the value inside
    // stays as written.
    assert_eq!(r.get("Tags"), Some(r#"{"team":"=HYPERLINK(\"x\")"}"#));
    // Amounts stay numbers, credits negative.
    for c in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"] {
        assert_eq!(r.get(c), Some("-1.5"), "{c}");
    }
    assert_eq!(r.get("BillingCurrency"), Some("EUR"));
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

fn sample_rows() -> Vec<CostRow> {
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("env".to_owned(), "prod".to_owned());
    tags.insert("ModelFamily".to_owned(), "gpt-4o".to_owned());
    vec![
        CostRow {
            date: "2026-10-03".parse().unwrap(),
            timestamp: Some("2026-10-03T14:25:00Z".parse().unwrap()),
            provider: Some("openai".into()),
            model: Some("gpt-4o-2024-08-06".into()),
            team: Some("search".into()),
            tags,
            cost: dec!(12.5),
            requests: 40,
            input_tokens: 1_000_000,
            output_tokens: 250_000,
            cached_requests: 3,
            ..Default::default()
        },
        CostRow {
            date: "2026-10-04".parse().unwrap(),
            provider: Some("anthropic".into()),
            model: Some("claude-sonnet-4-5".into()),
            project: Some("bot".into()),
            cost: dec!(3),
            currency: Some(Currency::EUR),
            requests: 2,
            ..Default::default()
        },
    ]
}

#[test]
fn cost_rows_conform_to_each_version_and_read_back() {
    let rows = sample_rows();
    for v in VERSIONS {
        let csv = export(v).csv_from_rows(&rows).unwrap();
        assert_conforms(v, &csv);
        let (header, records) = parse(&csv);
        // Every required column, in the table's order, then the counts.
        let required: Vec<&str> = v.required_columns().map(|c| c.name).collect();
        for c in &required {
            assert!(header.iter().any(|h| h == c), "{v}: {c}");
        }
        assert_eq!(
            &header[header.len() - 6..],
            [
                "x_Requests",
                "x_InputTokens",
                "x_OutputTokens",
                "x_CachedRequests",
                "x_CacheReadTokens",
                "x_CacheWriteTokens"
            ]
        );
        let r = &records[0];
        assert_eq!(r.get("ServiceCategory"), Some("AI and Machine Learning"));
        assert_eq!(r.get("ServiceName"), Some("gpt-4o-2024-08-06"));
        assert_eq!(r.get("SkuId"), Some("gpt-4o-2024-08-06"));
        assert_eq!(r.get("ConsumedQuantity"), Some("1250000.0"));
        assert_eq!(r.get("ConsumedUnit"), Some("Tokens"));
        assert_eq!(r.get("BilledCost"), Some("12.5"));
        assert_eq!(r.get("ChargePeriodStart"), Some("2026-10-03T14:25:00Z"));
        assert_eq!(r.get("ChargePeriodEnd"), Some("2026-10-03T15:00:00Z"));
        // The model family goes into SkuPriceDetails (1.1+), else Tags.
        let tags = if v == FocusVersion::V1_0 {
            r#"{"ModelFamily":"gpt-4o","env":"prod","team":"search"}"#
        } else {
            r#"{"env":"prod","team":"search"}"#
        };
        assert_eq!(r.get("Tags"), Some(tags));
        assert_eq!(records[1].get("ConsumedUnit"), Some("Requests"));
        assert_eq!(records[1].get("BilledCost"), Some("3.0"));
        assert_eq!(records[1].get("BillingCurrency"), Some("EUR"));
        match v {
            FocusVersion::V1_0 => {
                assert_eq!(r.get("ProviderName"), Some("openai"));
                assert!(!header.iter().any(|h| h == "SkuPriceDetails"));
            }
            FocusVersion::V1_4 => {
                assert_eq!(r.get("ServiceProviderName"), Some("openai"));
                assert!(!header.iter().any(|h| h == "ProviderName"));
                // Known to the row, so written: not invented.
                assert_eq!(
                    r.get("SkuPriceDetails"),
                    Some(r#"{"ModelFamily":"gpt-4o","ModelId":"gpt-4o-2024-08-06"}"#)
                );
                assert_eq!(r.get("HostProviderName"), None);
            }
            _ => {}
        }
        // Read back: the same rows (the model from SkuPriceDetails or
        // ServiceName, tags and counts).
        let (back, _) = read_focus_rows(csv.as_slice(), "x", FocusConfig::default()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(back[0].team.as_deref(), Some("search"));
        assert_eq!(back[0].cost, dec!(12.5));
        assert_eq!(back[0].input_tokens, 1_000_000);
        assert_eq!(back[1].currency, Some(Currency::EUR));
        assert_eq!(back[1].project.as_deref(), Some("bot"));
    }
}

#[test]
fn a_tag_named_like_a_focus_column_fills_it() {
    let mut row = sample_rows().remove(0);
    row.tags.insert("RegionId".into(), "eastus".into());
    row.tags.insert("ChargeCategory".into(), "Credit".into());
    row.tags
        .insert("HostProviderName".into(), "Microsoft".into());
    row.cost = dec!(-2.00);
    let e = export(FocusVersion::V1_4);
    let r = e.record_from_row(&row).unwrap();
    assert_eq!(r.get("RegionId"), Some("eastus"));
    assert_eq!(r.get("ChargeCategory"), Some("Credit"));
    assert_eq!(r.get("HostProviderName"), Some("Microsoft"));
    assert_eq!(r.get("BilledCost"), Some("-2.00"));
    assert_eq!(r.get("Tags"), Some(r#"{"env":"prod","team":"search"}"#));
    // A tag outside the allowed values is caught by the check.
    row.tags.insert("ChargeCategory".into(), "Refund".into());
    let csv = e.csv_from_rows(&[row]).unwrap();
    let (header, records) = parse(&csv);
    let issues = check(FocusVersion::V1_4, &header, &records);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].column, "ChargeCategory");
}

#[test]
fn every_version_check_catches_missing_columns_nulls_and_types() {
    let e = export(FocusVersion::V1_0);
    let csv = e.csv_from_rows(&sample_rows()).unwrap();
    let (mut header, mut records) = parse(&csv);
    header.retain(|h| h != "BillingAccountName");
    records[0].set("BilledCost", Some("$12"));
    records[1].set("BillingCurrency", None::<String>);
    records[1].set("ChargePeriodEnd", Some("4/1/25"));
    let issues: Vec<String> = check(FocusVersion::V1_0, &header, &records)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        issues,
        [
            "header, BillingAccountName: required column missing",
            "record 0, BilledCost: \"$12\" is not a Decimal",
            "record 1, BillingCurrency: null",
            "record 1, ChargePeriodEnd: \"4/1/25\" is not a DateTime",
        ]
    );
}

#[test]
fn report_detail_conforms_to_each_version() {
    let rows = demo::focus_sample_rows().unwrap();
    let dims = vec![Dimension::Provider, Dimension::Model, Dimension::Team];
    let q = CostQuery::total(september())
        .group_by(dims.clone())
        .bucketed(Granularity::Week);
    let detail = aggregate_rows(&rows, &q, Currency::USD).unwrap();
    for v in VERSIONS {
        let e = export(v);
        let records = e
            .records_from_buckets(&detail, &dims, september(), Some(Granularity::Week))
            .unwrap();
        let csv = e.csv(&records).unwrap();
        assert_conforms(v, &csv);
        let (back, _) = read_focus_rows(csv.as_slice(), "x", FocusConfig::default()).unwrap();
        assert_eq!(back.iter().map(|r| r.cost).sum::<Decimal>(), sum(&detail));
    }
}

fn allocation() -> (ChargebackRecord, ChargebackConfiguration) {
    let config: ChargebackConfiguration = serde_json::from_value(serde_json::json!({
        "id": "5d0c8a55-8f7e-4a43-9a57-0c3b7c1b2d10",
        "organizationId": "0b6c1f2e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
        "name": "Teams",
        "allocationBasis": "team",
        "allocationRules": [{"source": "", "split": [{"target": "search", "weight": 1}, {"target": "ads", "weight": 1}]}],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    let record: ChargebackRecord = serde_json::from_value(serde_json::json!({
        "id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        "organizationId": "0b6c1f2e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
        "configurationId": "5d0c8a55-8f7e-4a43-9a57-0c3b7c1b2d10",
        "periodStart": "2026-10-01",
        "periodEnd": "2026-10-31",
            "allocations": {
                "search": {"totalCost": 60.25, "breakdown": {
                    "byProvider": {"openai": 60.25},
                    "byModel": {"gpt-4o": 50.00, "gpt-4o-mini": 10.25}}},
                "ads": {"totalCost": 30.00, "breakdown": {
                    "byProvider": {"anthropic": 30.00},
                    "byModel": {"claude-sonnet-4-5": 30.00}}}
            },
            "totalCost": 100.00,
            "allocatedCost": 90.25,
            "unallocatedCost": 9.75,
        "status": "approved",
        "createdAt": "2026-11-01T00:00:00Z",
        "updatedAt": "2026-11-01T00:00:00Z"
    }))
    .unwrap();
    (record, config)
}

#[test]
fn a_chargeback_allocation_is_written_as_allocated_focus_rows() {
    let (record, config) = allocation();
    for v in VERSIONS {
        let e = export(v);
        let records = e.records_from_allocation(&record, &config).unwrap();
        let csv = e.csv(&records).unwrap();
        let (header, back) = parse(&csv);
        // Conforming, but for the unallocated line: the allocation does not
        // say which provider or service its cost came from.
        for i in check(v, &header, &back) {
            assert_eq!(i.record, Some(3), "{i}");
            assert!(
                [
                    "ProviderName",
                    "PublisherName",
                    "ServiceProviderName",
                    "InvoiceIssuerName",
                    "ServiceName",
                    "ServiceCategory"
                ]
                .contains(&i.column.as_str()),
                "{i}"
            );
        }
        // search: two models, ads: one, and the unallocated cost.
        assert_eq!(back.len(), 4);
        let p = if v >= FocusVersion::V1_3 { "" } else { "x_" };
        let col = |r: &FocusRecord, c: &str| r.get(&format!("{p}{c}")).map(str::to_owned);
        let total: Decimal = back
            .iter()
            .map(|r| r.get("BilledCost").unwrap().parse::<Decimal>().unwrap())
            .sum();
        assert_eq!(total, dec!(100.00));
        let search: Vec<&FocusRecord> = back
            .iter()
            .filter(|r| col(r, "AllocatedResourceId").as_deref() == Some("search"))
            .collect();
        assert_eq!(search.len(), 2);
        assert_eq!(search[0].get("SkuId"), Some("gpt-4o"));
        assert_eq!(search[0].get("InvoiceIssuerName"), Some("openai"));
        assert_eq!(search[0].get("BilledCost"), Some("50.00"));
        assert_eq!(
            col(search[0], "AllocatedMethodId").as_deref(),
            Some("5d0c8a55-8f7e-4a43-9a57-0c3b7c1b2d10")
        );
        let details: serde_json::Value =
            serde_json::from_str(&col(search[0], "AllocatedMethodDetails").unwrap()).unwrap();
        assert_eq!(details["AllocationBasis"], "team");
        assert_eq!(details["AllocationRules"][0]["split"][1]["target"], "ads");
        let unallocated = back.last().unwrap();
        assert_eq!(col(unallocated, "AllocatedResourceId"), None);
        assert_eq!(unallocated.get("BilledCost"), Some("9.75"));
        assert_eq!(
            unallocated.get("ChargePeriodEnd"),
            Some("2026-11-01T00:00:00Z")
        );
    }
}

#[test]
fn a_focus_file_passed_through_keeps_every_value() {
    let sample = demo::focus_sample_path();
    let read_all = |path: &std::path::Path| {
        let mut r = FocusReader::open_passthrough(path, FocusConfig::default()).unwrap();
        let header = r.columns().to_vec();
        let mut out = Vec::new();
        while let Some(rec) = r.read_record().unwrap() {
            out.push(rec);
        }
        (header, out)
    };
    let (header, original) = read_all(&sample);
    assert_eq!(original.len(), 1000);
    // 1.0 to 1.0: every cell as it was (the sample's `Id` is not a FOCUS
    // column: kept as `x_Id`).
    let e = export(FocusVersion::V1_0);
    let columns = e.passthrough_columns(&header);
    assert!(columns.iter().any(|c| c == "x_Id"));
    let converted: Vec<FocusRecord> = original.iter().cloned().map(|r| e.convert(r)).collect();
    let csv = {
        let mut w =
            tokentra_reports::render::focus::FocusCsvWriter::new(Vec::new(), columns).unwrap();
        for r in &converted {
            w.write(r).unwrap();
        }
        w.finish().unwrap()
    };
    let (_, back) = parse(&csv);
    for (a, b) in original.iter().zip(&back) {
        for (k, v) in a.iter() {
            let k = if k == "Id" { "x_Id" } else { k };
            assert_eq!(b.get(k), Some(v), "{k}");
        }
        assert_eq!(a.iter().count(), b.iter().count());
    }
    // Nothing made up: the categories, SKUs and costs of the bill stay.
    let count = |c: &str, v: &str| back.iter().filter(|r| r.get(c) == Some(v)).count();
    let orig = |c: &str, v: &str| original.iter().filter(|r| r.get(c) == Some(v)).count();
    for (c, v) in [
        ("ChargeCategory", "Credit"),
        ("ChargeCategory", "Adjustment"),
        ("ServiceCategory", "AI and Machine Learning"),
    ] {
        assert_eq!(count(c, v), orig(c, v), "{c} {v}");
    }
    assert!(orig("ChargeCategory", "Credit") > 0);
    // 1.0 to 1.4: ProviderName becomes ServiceProviderName, PublisherName
    // (gone in 1.4) is kept as x_PublisherName, and the result conforms but
    // for the mandatory columns 1.0 did not have.
    let e = export(FocusVersion::V1_4);
    let r = e.convert(original[0].clone());
    assert_eq!(
        r.get("ServiceProviderName"),
        original[0].get("ProviderName")
    );
    assert_eq!(r.get("x_ProviderName"), original[0].get("ProviderName"));
    assert_eq!(r.get("x_PublisherName"), original[0].get("PublisherName"));
    assert_eq!(r.get("BilledCost"), original[0].get("BilledCost"));
}
