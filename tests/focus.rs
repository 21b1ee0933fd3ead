//! The FOCUS source on the bundled 1,000-row FinOps sample and on the
//! specification's hand-made examples. Expected figures were computed
//! independently with Python's `decimal` module (`data/focus/figures.py`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::backends::file::focus::{
    aggregate_focus, read_focus_rows, FocusConfig, FocusCostColumn, FocusCostSource, FocusFix,
    FocusReader,
};
use tokentra_reports::model::{
    CostBucket, CostQuery, Currency, DateRange, Dimension, Granularity, OrganizationId,
    ReportFilters,
};
use tokentra_reports::ports::CostSource;
use tokentra_reports::Error;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/focus/finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv"
);

fn example(name: &str) -> String {
    format!(
        "{}/data/focus/spec-examples/{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn september() -> DateRange {
    DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap()
}

fn billed() -> FocusConfig {
    FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        ..Default::default()
    }
}

fn by_key(buckets: &[CostBucket]) -> BTreeMap<Option<String>, Decimal> {
    let mut m = BTreeMap::new();
    for b in buckets {
        assert_eq!(b.currency, Currency::USD);
        *m.entry(b.keys.first().cloned().flatten()).or_default() += b.cost;
    }
    m
}

fn total(buckets: &[CostBucket]) -> Decimal {
    buckets.iter().map(|b| b.cost).sum()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn reads_every_row_of_the_sample_with_its_quirks() {
    let (rows, fixes) =
        read_focus_rows(std::fs::File::open(SAMPLE).unwrap(), "sample", billed()).unwrap();
    assert_eq!(rows.len(), 1000);
    assert!(fixes.is_empty());
    // 11 decimal places kept exactly; credits negative.
    assert_eq!(
        rows.iter().map(|r| r.cost).sum::<Decimal>(),
        dec!(20.52022672899)
    );
    let credits: Vec<_> = rows.iter().filter(|r| r.cost < Decimal::ZERO).collect();
    assert_eq!(credits.len(), 13);
    assert_eq!(
        credits.iter().map(|r| r.cost).sum::<Decimal>(),
        dec!(-2.77567130010)
    );
    // "2024-09-18 22:00:00": no T, no zone, read as UTC.
    let first = &rows[0];
    assert_eq!(
        first.timestamp.unwrap().to_rfc3339(),
        "2024-09-18T22:00:00+00:00"
    );
    assert_eq!(first.date.to_string(), "2024-09-18");
    assert_eq!(first.cost, dec!(0.00000080000));
    assert_eq!(first.provider.as_deref(), Some("AWS"));
    assert_eq!(first.model.as_deref(), Some("Amazon Simple Queue Service"));
    assert_eq!(first.currency, Some(Currency::USD));
    // NULL Tags: no tags, no team.
    assert!(first.tags.is_empty());
    assert_eq!(first.team, None);
    // The second row's tags.
    assert_eq!(rows[1].team.as_deref(), Some("ViennaAI"));
    assert_eq!(rows[1].project.as_deref(), Some("BrightLensMatrix"));
    assert_eq!(rows[1].tags["environment"], "dev");
    // The " org" key is trimmed.
    assert!(rows
        .iter()
        .any(|r| r.tags.get("org").map(String::as_str) == Some("trey")));
    assert!(rows.iter().all(|r| !r.tags.contains_key(" org")));
}

#[test]
fn totals_and_group_bys_match_python_decimal() {
    let f = |config: &FocusConfig, q: CostQuery| {
        aggregate_focus(SAMPLE, config, &q, Currency::USD).unwrap()
    };
    let all = CostQuery::total(september());

    // EffectiveCost is the default.
    let eff = FocusConfig::default();
    assert_eq!(total(&f(&eff, all.clone())), dec!(14.97651418586));
    assert_eq!(
        by_key(&f(&eff, all.clone().group_by([Dimension::Provider]))),
        BTreeMap::from([
            (s("AWS"), dec!(13.00000000000)),
            (s("Microsoft"), dec!(1.97651418586)),
            (s("Oracle"), dec!(0)),
        ])
    );

    let b = billed();
    let t = f(&b, all.clone());
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].cost, dec!(20.52022672899));
    assert_eq!(
        by_key(&f(&b, all.clone().group_by([Dimension::Provider]))),
        BTreeMap::from([
            (s("AWS"), dec!(18.00663861840)),
            (s("Microsoft"), dec!(1.97651418586)),
            (s("Oracle"), dec!(0.53707392473)),
        ])
    );
    // Team from the `business_unit` tag (default keys).
    let team = by_key(&f(&b, all.clone().group_by([Dimension::Team])));
    assert_eq!(team.len(), 302);
    assert_eq!(team[&None], dec!(0.27416448666));
    assert_eq!(team[&s("PeoriaData")], dec!(15.95809931820));
    assert_eq!(team[&s("PragueEngineering")], dec!(0.44400000000));
    // Cost center from `CostCenter` (key matched without case or `_`).
    assert_eq!(
        by_key(&f(&b, all.clone().group_by([Dimension::CostCenter]))),
        BTreeMap::from([
            (None, dec!(18.76339185079)),
            (s("1234"), dec!(1.75683487820)),
            (s("Marketing"), dec!(0)),
        ])
    );
    // The key written " org" counts as `org`.
    assert_eq!(
        by_key(&f(&b, all.clone().group_by([Dimension::Tag("org".into())]))),
        BTreeMap::from([
            (None, dec!(18.38681497632)),
            (s("trey"), dec!(2.13341175267))
        ])
    );
    let services = by_key(&f(&b, all.clone().group_by([Dimension::Model])));
    assert_eq!(services.len(), 33);
    assert_eq!(
        services[&s("Amazon Elastic Compute Cloud")],
        dec!(16.04169305050)
    );

    // Days (ChargePeriodStart's UTC date), hours, ranges, filters.
    let days = f(&b, all.clone().bucketed(Granularity::Day));
    assert_eq!(days.len(), 30);
    let day = |d: &str| {
        days.iter()
            .find(|x| x.period_start.unwrap().date().to_string() == d)
            .unwrap()
            .cost
    };
    assert_eq!(day("2024-09-18"), dec!(2.28791439970));
    assert_eq!(day("2024-09-01"), dec!(0.12759140350));
    assert_eq!(day("2024-09-30"), dec!(1.06985930120));
    let hours = f(&b, all.clone().bucketed(Granularity::Hour));
    let h = hours
        .iter()
        .find(|x| x.period_start.unwrap().to_string() == "2024-09-18 22:00:00")
        .unwrap();
    assert_eq!(h.cost, dec!(2.00000080000));
    let half =
        DateRange::new("2024-09-01".parse().unwrap(), "2024-09-15".parse().unwrap()).unwrap();
    assert_eq!(total(&f(&b, CostQuery::total(half))), dec!(5.69001013875));
    let filtered = CostQuery::total(september()).filtered(ReportFilters {
        providers: vec!["AWS".into()],
        teams: vec!["PeoriaData".into()],
        ..Default::default()
    });
    assert_eq!(total(&f(&b, filtered)), dec!(15.95809931820));
    assert!(f(
        &b,
        CostQuery::total(DateRange::day("2024-10-01".parse().unwrap()))
    )
    .is_empty());
}

#[test]
fn configurable_tag_keys_and_model_column() {
    use tokentra_reports::backends::file::focus::FocusModelColumn;
    let config = FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        team_tags: vec!["  ENVIRONMENT ".into()],
        model_columns: vec![FocusModelColumn::ResourceName, FocusModelColumn::SkuId],
        keep_tags: false,
        ..Default::default()
    };
    let (rows, _) = read_focus_rows(std::fs::File::open(SAMPLE).unwrap(), "s", config).unwrap();
    assert_eq!(rows[1].team.as_deref(), Some("dev"));
    assert!(rows[1].tags.is_empty());
    // ResourceName is NULL on the first row: SkuId is next.
    assert_eq!(rows[0].model.as_deref(), Some("G95FST5FTYV3JSRX"));
}

#[tokio::test]
async fn the_source_streams_per_organization() {
    let org = OrganizationId::new();
    let src = FocusCostSource::new(billed()).with_file(org, SAMPLE);
    let q = CostQuery::total(september());
    let b = src.aggregate(org, &q).await.unwrap();
    assert_eq!(total(&b), dec!(20.52022672899));
    assert!(src
        .aggregate(OrganizationId::new(), &q)
        .await
        .unwrap()
        .is_empty());
    // Two files for one organization add up.
    let twice = src.clone().with_file(org, SAMPLE);
    assert_eq!(
        total(&twice.aggregate(org, &q).await.unwrap()),
        dec!(41.04045345798)
    );
    // An invalid query is rejected even before reading.
    let bad = CostQuery::total(september()).group_by([Dimension::Team, Dimension::Team]);
    assert_eq!(
        src.aggregate(org, &bad).await.unwrap_err().field(),
        Some("groupBy[1]")
    );
    // A missing file is a backend error.
    let missing = FocusCostSource::new(billed()).with_file(org, "/nonexistent/focus.csv");
    assert!(matches!(
        missing.aggregate(org, &q).await.unwrap_err(),
        Error::Backend {
            backend: "file",
            retryable: false,
            ..
        }
    ));
    assert_eq!(src.check(org).unwrap().rows, 1000);
}

fn parse_error(e: Error) -> (String, String) {
    match e {
        Error::Parse { location, reason } => (location, reason),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn non_conforming_spec_examples_are_rejected_with_file_line_and_column() {
    let path = example("saas_examples_simple_agreements_simple_saas_agreements_a1");
    let e = aggregate_focus(
        &path,
        &billed(),
        &CostQuery::total(september()),
        Currency::USD,
    )
    .unwrap_err();
    let (location, reason) = parse_error(e);
    assert_eq!(
        location,
        format!("{path}: line 2, column 15 (ChargePeriodStart)")
    );
    assert_eq!(reason, "not a date-time: \"4/1/25\"");

    // Another SaaS example: its first data line is rejected at the start date.
    let path = example("saas_examples_spend_agreements_saas_spend_agreements_a2");
    let (location, reason) = parse_error(
        aggregate_focus(
            &path,
            &billed(),
            &CostQuery::total(september()),
            Currency::USD,
        )
        .unwrap_err(),
    );
    assert_eq!(
        location,
        format!("{path}: line 2, column 15 (ChargePeriodStart)")
    );
    assert_eq!(reason, "not a date-time: \"4/1/25\"");

    // A byte order mark before the header does not hide the column name.
    let path = example("saas_examples_virtual_currency_pricing_model_a2");
    let (location, reason) = parse_error(
        read_focus_rows(std::fs::File::open(&path).unwrap(), "a2.csv", billed()).unwrap_err(),
    );
    assert_eq!(location, "a2.csv: line 2, column 12 (ChargePeriodStart)");
    assert_eq!(reason, "not a date-time: \"4/1/25\"");

    // Money written with a dollar sign and thousands separators.
    let csv = "ChargePeriodStart,BilledCost\n2025-04-01T00:00:00Z,\"$10,000.00 \"\n";
    let (location, reason) =
        parse_error(read_focus_rows(csv.as_bytes(), "m.csv", billed()).unwrap_err());
    assert_eq!(location, "m.csv: line 2, column 2 (BilledCost)");
    assert_eq!(reason, "not a decimal number: \"$10,000.00 \"");

    // A header without the cost column.
    let (location, reason) = parse_error(
        read_focus_rows(
            "ChargePeriodStart\n".as_bytes(),
            "h.csv",
            FocusConfig::default(),
        )
        .unwrap_err(),
    );
    assert_eq!(location, "h.csv: line 1");
    assert_eq!(reason, "the header has no `EffectiveCost` column");

    // Bad tags, a bad currency, a null start, a short line.
    for (csv, loc) in [
        (
            "ChargePeriodStart,EffectiveCost,Tags\n2024-09-01 00:00:00,1,{oops\n",
            "t.csv: line 2, column 3 (Tags)",
        ),
        (
            "ChargePeriodStart,EffectiveCost,BillingCurrency\n2024-09-01 00:00:00,1,DOLLARS\n",
            "t.csv: line 2, column 3 (BillingCurrency)",
        ),
        (
            "ChargePeriodStart,EffectiveCost\nNULL,1\n",
            "t.csv: line 2, column 1 (ChargePeriodStart)",
        ),
        (
            "ChargePeriodStart,EffectiveCost\n2024-13-01 00:00:00,1\n",
            "t.csv: line 2, column 1 (ChargePeriodStart)",
        ),
        (
            "ChargePeriodStart,EffectiveCost\n2024-09-01 00:00:00\n",
            "t.csv: line 2",
        ),
    ] {
        let (location, _) = parse_error(
            read_focus_rows(csv.as_bytes(), "t.csv", FocusConfig::default()).unwrap_err(),
        );
        assert_eq!(location, loc, "{csv}");
    }
}

#[test]
fn blank_crlf_lines_are_skipped() {
    let csv = "ChargePeriodStart,EffectiveCost\r\n2024-09-01T00:00:00Z,1.5\r\n\r\n2024-09-02T00:00:00Z,2\r\n\r\n";
    let (rows, _) = read_focus_rows(csv.as_bytes(), "b", FocusConfig::default()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].cost, dec!(2));
    let bad = "ChargePeriodStart,EffectiveCost\r\n\r\n2024-09-02T00:00:00Z\r\n";
    let (location, reason) =
        parse_error(read_focus_rows(bad.as_bytes(), "b", FocusConfig::default()).unwrap_err());
    assert_eq!(location, "b: line 3");
    assert_eq!(reason, "the line has 1 fields, the header 2");
}

#[test]
fn conforming_spec_example_without_currency_or_provider_is_read() {
    // ISO timestamps with Z; `null` only in columns the reader does not use.
    let path = example("commitment_discount_scenarios_commitment_discount_usage_scenario_4");
    let (rows, fixes) = read_focus_rows(
        std::fs::File::open(&path).unwrap(),
        "u4",
        FocusConfig::default(),
    )
    .unwrap();
    assert!(fixes.is_empty());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.iter().map(|r| r.cost).sum::<Decimal>(), dec!(1.50));
    assert_eq!(rows[0].currency, None);
    assert_eq!(rows[0].provider, None);
    assert_eq!(
        rows[0].timestamp.unwrap().to_rfc3339(),
        "2023-01-01T00:00:00+00:00"
    );
}

#[test]
fn lenient_mode_fixes_and_reports_every_value() {
    let path = example("saas_examples_simple_agreements_simple_saas_agreements_a1");
    let config = FocusConfig {
        lenient: true,
        ..billed()
    };
    let mut reader = FocusReader::open(&path, config).unwrap();
    let row = reader.read_row().unwrap().unwrap();
    assert_eq!(row.cost, dec!(10000.00));
    assert_eq!(row.date.to_string(), "2025-04-01");
    assert_eq!(row.provider.as_deref(), Some("ACMECORP"));
    assert!(reader.read_row().unwrap().is_none());
    assert_eq!(
        reader.take_fixes(),
        vec![
            FocusFix {
                location: format!("{path}: line 2, column 15 (ChargePeriodStart)"),
                original: "4/1/25".into(),
                fixed: "2025-04-01T00:00:00Z".into(),
            },
            FocusFix {
                location: format!("{path}: line 2, column 2 (BilledCost)"),
                original: "$10,000.00 ".into(),
                fixed: "10000.00".into(),
            },
        ]
    );
    // `null` spellings in a used column are reported too.
    let csv = "ChargePeriodStart,EffectiveCost,ProviderName\n2025-04-01,null,Null\n";
    let (rows, fixes) = read_focus_rows(
        csv.as_bytes(),
        "n.csv",
        FocusConfig {
            lenient: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rows[0].cost, Decimal::ZERO);
    assert_eq!(rows[0].provider, None);
    assert_eq!(
        fixes
            .iter()
            .map(|f| f.location.as_str())
            .collect::<Vec<_>>(),
        vec![
            "n.csv: line 2, column 2 (EffectiveCost)",
            "n.csv: line 2, column 3 (ProviderName)"
        ]
    );
    // The same input is rejected in strict mode.
    assert!(matches!(
        read_focus_rows(csv.as_bytes(), "n.csv", FocusConfig::default()).unwrap_err(),
        Error::Parse { .. }
    ));
}

#[test]
fn tags_with_escapes_numbers_and_nulls() {
    let csv = r#"ChargePeriodStart,EffectiveCost,Tags
2024-09-01 00:00:00,1,"{""Te\u0061m"": ""a\""b"", ""n"": 3, ""user"": null, "" project "": ""  p1 ""}"
"#;
    let (rows, _) = read_focus_rows(csv.as_bytes(), "t", FocusConfig::default()).unwrap();
    let r = &rows[0];
    assert_eq!(r.team.as_deref(), Some("a\"b"));
    assert_eq!(r.project.as_deref(), Some("p1"));
    assert_eq!(r.user, None);
    assert_eq!(
        r.tags,
        BTreeMap::from([
            ("Team".to_owned(), "a\"b".to_owned()),
            ("n".to_owned(), "3".to_owned()),
            ("project".to_owned(), "  p1 ".to_owned()),
        ])
    );
}

#[test]
fn only_for_maps_just_what_the_query_uses() {
    let by_provider = CostQuery::total(september()).group_by([Dimension::Provider]);
    let mut r = FocusReader::open(SAMPLE, billed())
        .unwrap()
        .only_for(&by_provider);
    r.read_row().unwrap();
    let second = r.read_row().unwrap().unwrap();
    assert_eq!(second.provider.as_deref(), Some("AWS"));
    assert_eq!(second.team, None);
    assert_eq!(second.model, None);
    assert!(second.tags.is_empty());
    let by_tag = CostQuery::total(september()).group_by([Dimension::Tag("environment".into())]);
    let mut r = FocusReader::open(SAMPLE, billed())
        .unwrap()
        .only_for(&by_tag);
    r.read_row().unwrap();
    let second = r.read_row().unwrap().unwrap();
    assert_eq!(second.tags["environment"], "dev");
    assert_eq!(second.team.as_deref(), Some("ViennaAI"));
    let filtered = CostQuery::total(september()).filtered(ReportFilters {
        models: vec!["Elastic Load Balancing".into()],
        ..Default::default()
    });
    let mut r = FocusReader::open(SAMPLE, billed())
        .unwrap()
        .only_for(&filtered);
    r.read_row().unwrap();
    assert_eq!(
        r.read_row().unwrap().unwrap().model.as_deref(),
        Some("Elastic Load Balancing")
    );
}

#[test]
fn billing_currency_is_honoured() {
    let csv = "ChargePeriodStart,EffectiveCost,BillingCurrency,ProviderName\n\
               2024-09-01 00:00:00,1.10,EUR,Azure\n\
               2024-09-01 01:00:00,2.20,USD,AWS\n\
               2024-09-02 00:00:00,3,EUR,Azure\n\
               2024-09-02 00:00:00,4,NULL,GCP\n";
    let org = OrganizationId::new();
    let path =
        std::env::temp_dir().join(format!("tokentra-focus-cur-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(&path, csv).unwrap();
    let src = FocusCostSource::new(FocusConfig::default())
        .with_default_currency(Currency::JPY)
        .with_file(org, &path);
    let q = CostQuery::total(september());
    let b = aggregate_focus(&path, src.config(), &q, src.default_currency()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let by: BTreeMap<&str, Decimal> = b.iter().map(|b| (b.currency.code(), b.cost)).collect();
    assert_eq!(
        by,
        BTreeMap::from([("EUR", dec!(4.10)), ("JPY", dec!(4)), ("USD", dec!(2.20))])
    );
}

#[test]
fn a_gzip_compressed_export_reads_as_the_plain_one() {
    use std::io::Write;
    let plain = std::path::PathBuf::from(SAMPLE);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("focus_sample.csv.gz");
    // Two gzip members, as exports split in parts are concatenated.
    let bytes = std::fs::read(&plain).unwrap();
    let (head, tail) = bytes.split_at(bytes.len() / 2);
    let mut out = std::fs::File::create(&gz).unwrap();
    for part in [head, tail] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part).unwrap();
        out.write_all(&enc.finish().unwrap()).unwrap();
    }
    drop(out);
    let query = CostQuery::total(
        DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap(),
    )
    .group_by([Dimension::Provider]);
    let config = FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        ..FocusConfig::default()
    };
    let a = aggregate_focus(&plain, &config, &query, Currency::USD).unwrap();
    let b = aggregate_focus(&gz, &config, &query, Currency::USD).unwrap();
    assert_eq!(a, b);
    assert!(!a.is_empty());
    // A corrupt file is an error naming it, not a short read.
    let bad = dir.path().join("broken.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&bytes).unwrap();
    let mut z = enc.finish().unwrap();
    let n = z.len();
    z.truncate(n / 2);
    std::fs::write(&bad, z).unwrap();
    let e = aggregate_focus(&bad, &config, &query, Currency::USD).unwrap_err();
    assert!(e.to_string().contains("broken.csv.gz"), "{e}");
}
