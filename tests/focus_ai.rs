//! The FOCUS AI billing examples (`data/focus/ai-examples`, CC BY 4.0):
//! every file read with the FOCUS reader; totals per currency (billed and
//! effective), per model (`SkuPriceDetails.ModelId`) and per token class
//! (`TokenDirection` + `TokenCacheAction`) equal the figures that
//! `data/focus/ai-examples/figures.py` computes independently with Python's
//! `decimal`. Then usage priced from the list prices of one example
//! reconciles with its bill token class by token class.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::backends::file::{FocusConfig, FocusCostColumn, FocusReader};
use tokentra_reports::core::pricebook::{reconcile_by_class, PriceBook, PriceVersion};
use tokentra_reports::core::pricing::PriceTable;
use tokentra_reports::model::{
    CostRow, ModelPrice, OrganizationId, ServiceTier, TokenClass, TokenRate, TokenUsage,
    UsageRecord,
};

fn read(name: &str, column: FocusCostColumn) -> Vec<CostRow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/focus/ai-examples")
        .join(name);
    let config = FocusConfig {
        cost_column: column,
        ..FocusConfig::default()
    };
    FocusReader::open(&path, config)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sum_by(rows: &[CostRow], key: impl Fn(&CostRow) -> String) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(key(r)).or_insert(Decimal::ZERO) += r.cost;
    }
    out.into_iter().map(|(k, v)| (k, v.normalize())).collect()
}

fn map(pairs: &[(&str, Decimal)]) -> BTreeMap<String, Decimal> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.normalize()))
        .collect()
}

/// (file, billed USD, effective USD, billed by model, billed by class);
/// `-` is no token class; a row without `ModelId` has its `ServiceName`
/// as model (the default model column). From `figures.py`.
#[allow(clippy::type_complexity)]
fn figures() -> Vec<(
    &'static str,
    Decimal,
    Decimal,
    Vec<(&'static str, Decimal)>,
    Vec<(&'static str, Decimal)>,
)> {
    let cached = vec![("cache_read", dec!(10.00)), ("cache_write", dec!(37.50))];
    let jupiter = vec![("aura-web.solora-jupiter-5", dec!(4.50))];
    let half = vec![("input", dec!(2.25)), ("output", dec!(2.25))];
    let drawdown_models = vec![
        ("Solora Generative AI API", dec!(500000.00)),
        ("solora-saturn-5.0", dec!(0)),
    ];
    let drawdown_classes = vec![
        ("-", dec!(500000.00)),
        ("input", dec!(0)),
        ("output", dec!(0)),
    ];
    let atlas = vec![
        ("solora-atlas-5.6-jupiter", dec!(2000.00)),
        ("solora-atlas-5.6-mars", dec!(35.00)),
        ("solora-atlas-5.6-venus", dec!(2.36)),
    ];
    let atlas_classes = vec![
        ("cache_read", dec!(0.01)),
        ("cache_write", dec!(0.10)),
        ("input", dec!(513.25)),
        ("output", dec!(1524.00)),
    ];
    let multi = vec![
        ("solora-atlas-5.4-mini", dec!(4.50)),
        ("solora-atlas-5.5", dec!(100.00)),
    ];
    let saturn = vec![("solora-saturn-4.8", dec!(94.50))];
    let saturn_classes = vec![("input", dec!(42.00)), ("output", dec!(52.50))];
    let neptune = vec![("solora-neptune-5.0", dec!(47.50))];
    vec![
        (
            "ai_billing__cached_tokens_via_csp_marketplace.csv",
            dec!(47.50),
            dec!(47.50),
            neptune.clone(),
            cached.clone(),
        ),
        (
            "ai_billing__csp_served_foundation_model_first_party.csv",
            dec!(4.50),
            dec!(4.50),
            jupiter.clone(),
            half.clone(),
        ),
        (
            "ai_billing__csp_served_frontier_model_first_party.csv",
            dec!(4.50),
            dec!(4.50),
            jupiter.clone(),
            half.clone(),
        ),
        (
            "ai_billing__drawdown_via_prepayment_foundation_model_api.csv",
            dec!(500000.00),
            dec!(50.00),
            drawdown_models.clone(),
            drawdown_classes.clone(),
        ),
        (
            "ai_billing__drawdown_via_prepayment_frontier_model_api.csv",
            dec!(500000.00),
            dec!(50.00),
            drawdown_models.clone(),
            drawdown_classes.clone(),
        ),
        (
            "ai_billing__foundation_model_via_csp_marketplace.csv",
            dec!(47.50),
            dec!(47.50),
            neptune.clone(),
            cached.clone(),
        ),
        (
            "ai_billing__multi_model_invoice_via_csp_marketplace.csv",
            dec!(2037.36),
            dec!(2037.36),
            atlas.clone(),
            atlas_classes.clone(),
        ),
        (
            "ai_billing__multi_model_usage.csv",
            dec!(104.50),
            dec!(104.50),
            multi.clone(),
            vec![("-", dec!(104.50))],
        ),
        (
            "ai_billing__per_token_foundation_model_api.csv",
            dec!(94.50),
            dec!(94.50),
            saturn.clone(),
            saturn_classes.clone(),
        ),
        (
            "ai_model_billing__cached_tokens_via_csp_marketplace.csv",
            dec!(47.50),
            dec!(47.50),
            neptune.clone(),
            cached.clone(),
        ),
        (
            "ai_model_billing__csp_served_third_party_model.csv",
            dec!(4.50),
            dec!(4.50),
            jupiter.clone(),
            half.clone(),
        ),
        (
            "ai_model_billing__drawdown_via_prepayment_ai_model_api.csv",
            dec!(500000.00),
            dec!(50.00),
            drawdown_models,
            drawdown_classes,
        ),
        (
            "ai_model_billing__multi_model_invoice_via_csp_marketplace.csv",
            dec!(2037.36),
            dec!(2037.36),
            atlas,
            atlas_classes,
        ),
        (
            "ai_model_billing__multi_model_usage.csv",
            dec!(104.50),
            dec!(104.50),
            multi,
            vec![("input", dec!(52.25)), ("output", dec!(52.25))],
        ),
        (
            "ai_model_billing__per_token_ai_model_api.csv",
            dec!(94.50),
            dec!(94.50),
            saturn,
            saturn_classes,
        ),
        (
            "ai_model_identity__ai_model_identity_a.csv",
            dec!(37.5),
            dec!(37.5),
            vec![("solora-reasoning-pro", dec!(37.5))],
            vec![("-", dec!(37.5))],
        ),
        (
            "ai_model_identity__ai_model_identity_b.csv",
            dec!(37.5),
            dec!(37.5),
            vec![("latticescale.solora-reasoning-pro", dec!(37.5))],
            vec![("-", dec!(37.5))],
        ),
        (
            "ai_prompt_caching__ai_prompt_caching_a.csv",
            dec!(33.9),
            dec!(33.9),
            vec![("solora-reasoning-pro", dec!(33.9))],
            vec![
                ("cache_read", dec!(2.4)),
                ("cache_write", dec!(7.5)),
                ("input", dec!(1.5)),
                ("output", dec!(22.5)),
            ],
        ),
        (
            "ai_prompt_caching__ai_prompt_caching_b.csv",
            dec!(38.4),
            dec!(38.4),
            vec![("latticescale.solora-reasoning-pro", dec!(38.4))],
            vec![
                ("-", dec!(6.0)),
                ("cache_read", dec!(2.4)),
                ("input", dec!(7.5)),
                ("output", dec!(22.5)),
            ],
        ),
    ]
}

#[test]
fn every_ai_example_reads_to_the_independent_figures() {
    let figures = figures();
    assert_eq!(figures.len(), 19);
    for (name, billed, effective, models, classes) in figures {
        let rows = read(name, FocusCostColumn::BilledCost);
        assert!(
            rows.iter()
                .all(|r| r.currency.map(|c| c.code()) == Some("USD")),
            "{name}"
        );
        let total: Decimal = rows.iter().map(|r| r.cost).sum();
        assert_eq!(total.normalize(), billed.normalize(), "{name} billed");
        let eff: Decimal = read(name, FocusCostColumn::EffectiveCost)
            .iter()
            .map(|r| r.cost)
            .sum();
        assert_eq!(eff.normalize(), effective.normalize(), "{name} effective");
        let by_model = sum_by(&rows, |r| r.model.clone().unwrap_or_else(|| "-".into()));
        assert_eq!(by_model, map(&models), "{name} models");
        let by_class = sum_by(&rows, |r| {
            r.tags
                .get("token_class")
                .cloned()
                .unwrap_or_else(|| "-".into())
        });
        assert_eq!(by_class, map(&classes), "{name} token classes");
    }
}

#[test]
fn the_provider_comes_from_service_provider_name_and_tokens_from_consumed_quantity() {
    let rows = read(
        "ai_prompt_caching__ai_prompt_caching_a.csv",
        FocusCostColumn::BilledCost,
    );
    assert!(rows
        .iter()
        .all(|r| r.provider.as_deref() == Some("Solora AI")));
    let input: u64 = rows.iter().map(|r| r.input_tokens).sum();
    let output: u64 = rows.iter().map(|r| r.output_tokens).sum();
    // 500,000 uncached + 2,000,000 cache writes + 8,000,000 cache reads.
    assert_eq!((input, output), (10_500_000, 1_500_000));
}

#[test]
fn usage_priced_at_the_list_prices_reconciles_with_the_focus_bill_by_token_class() {
    // Solora Reasoning Pro's list prices in the example (ListUnitPrice per
    // 1,000,000 tokens): input 3.0, cache write 3.75, cache read 0.3,
    // output 15.0.
    let mut table = PriceTable::new();
    table.insert(
        "solora-reasoning-pro",
        ModelPrice {
            input_per_token: Some(dec!(0.000003)),
            output_per_token: Some(dec!(0.000015)),
            cache_read_per_token: Some(dec!(0.0000003)),
            rates: vec![TokenRate {
                class: TokenClass::CacheWrite,
                tier: ServiceTier::Standard,
                above_tokens: None,
                per_token: dec!(0.00000375),
            }],
            ..ModelPrice::default()
        },
    );
    let mut book = PriceBook::new();
    book.add_version(PriceVersion {
        id: "solora-2025".into(),
        effective_from: "2025-01-01T00:00:00Z".parse().unwrap(),
        table,
    })
    .unwrap();
    // The month's usage as the provider's log has it.
    let usage = UsageRecord {
        timestamp: "2025-01-01T00:00:00Z".parse().unwrap(),
        provider: Some("Solora AI".into()),
        model: Some("solora-reasoning-pro".into()),
        requests: 1_000,
        tokens: TokenUsage {
            input_tokens: 10_500_000,
            cached_input_tokens: 8_000_000,
            cache_write_tokens: 2_000_000,
            output_tokens: 1_500_000,
            ..TokenUsage::default()
        },
        ..UsageRecord::default()
    };
    let priced = book.price_by_class(OrganizationId::new(), [usage]).unwrap();
    let billed = read(
        "ai_prompt_caching__ai_prompt_caching_a.csv",
        FocusCostColumn::BilledCost,
    );
    let v = reconcile_by_class(&priced, &billed, dec!(0.5)).unwrap();
    let lines: Vec<_> = v
        .iter()
        .map(|l| {
            (
                l.class,
                l.priced.normalize(),
                l.billed.normalize(),
                l.flagged,
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (Some(TokenClass::Input), dec!(1.5), dec!(1.5), false),
            (Some(TokenClass::CacheRead), dec!(2.4), dec!(2.4), false),
            (Some(TokenClass::CacheWrite), dec!(7.5), dec!(7.5), false),
            (Some(TokenClass::Output), dec!(22.5), dec!(22.5), false),
        ]
    );
}

#[test]
fn versions_principals_and_host_providers() {
    use tokentra_reports::backends::file::FocusVersion;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/focus/ai-examples");
    // The AI examples have ServiceProviderName and no ProviderName: 1.4.
    let r = FocusReader::open(
        path.join("ai_model_billing__multi_model_usage.csv"),
        FocusConfig::default(),
    )
    .unwrap();
    assert_eq!(r.version(), FocusVersion::V1_4);
    let rows: Vec<CostRow> = r.collect::<Result<_, _>>().unwrap();
    assert!(rows
        .iter()
        .all(|r| r.user.as_deref() == Some("c10a4f89-72b3-4f24-b196-857189f78315")));
    assert!(rows
        .iter()
        .all(|r| r.tags.get("HostProviderName").map(String::as_str) == Some("Solora AI")));
    assert_eq!(rows[0].tags["ModelFamily"], "Solora Atlas");
    // The FinOps 1.0 sample is 1.0; a header with both provider columns 1.3.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/focus/finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv");
    assert_eq!(
        FocusReader::open(sample, FocusConfig::default())
            .unwrap()
            .version(),
        FocusVersion::V1_0
    );
    assert_eq!(
        FocusVersion::detect(&["ProviderName", "ServiceProviderName", "ChargePeriodStart"]),
        FocusVersion::V1_3
    );
    assert_eq!(
        FocusVersion::detect(&["ProviderName", "InvoiceId", "SkuPriceDetails"]),
        FocusVersion::V1_2
    );
    assert_eq!(
        FocusVersion::detect(&["SkuPriceDetails"]).to_string(),
        "1.1"
    );
}

#[test]
fn the_model_family_comes_from_sku_price_details() {
    use tokentra_reports::core::aggregate::aggregate_rows;
    use tokentra_reports::core::table::CostTable;
    use tokentra_reports::model::{CostQuery, Currency, DateRange, Dimension};
    let rows = read(
        "ai_model_billing__multi_model_usage.csv",
        FocusCostColumn::BilledCost,
    );
    assert_eq!(rows[0].model.as_deref(), Some("solora-atlas-5.5"));
    assert_eq!(rows[0].model_family.as_deref(), Some("Solora Atlas"));
    let range =
        DateRange::new("2025-01-01".parse().unwrap(), "2025-12-31".parse().unwrap()).unwrap();
    let q = CostQuery::total(range).group_by([Dimension::ModelFamily]);
    let by_rows = aggregate_rows(&rows, &q, Currency::USD).unwrap();
    let families: Vec<&str> = by_rows
        .iter()
        .map(|b| b.keys[0].as_deref().unwrap())
        .collect();
    assert!(families.contains(&"Solora Atlas"), "{families:?}");
    assert!(
        !families.iter().any(|f| f.starts_with("solora-")),
        "{families:?}"
    );
    // The columnar table (the memory source) groups the same way.
    let mut table = CostTable::default();
    for r in &rows {
        table.push(r);
    }
    assert_eq!(table.aggregate(&q, Currency::USD).unwrap(), by_rows);
}

#[test]
fn cache_reads_and_writes_are_counted_on_the_row() {
    let rows = read(
        "ai_prompt_caching__ai_prompt_caching_a.csv",
        FocusCostColumn::BilledCost,
    );
    let counts: Vec<(u64, u64, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r.input_tokens,
                r.cache_read_tokens,
                r.cache_write_tokens,
                r.output_tokens,
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (500_000, 0, 0, 0),
            (2_000_000, 0, 2_000_000, 0),
            (8_000_000, 8_000_000, 0, 0),
            (0, 0, 0, 1_500_000),
        ]
    );
    // Written back as FOCUS, the counts survive (x_CacheReadTokens,
    // x_CacheWriteTokens).
    use tokentra_reports::backends::file::focus::read_focus_rows;
    use tokentra_reports::model::FocusVersion;
    use tokentra_reports::render::focus::FocusExport;
    let csv = FocusExport::new(FocusVersion::V1_4, "acct-1001")
        .csv_from_rows(&rows)
        .unwrap();
    let (back, _) = read_focus_rows(csv.as_slice(), "x", FocusConfig::default()).unwrap();
    let again: Vec<(u64, u64, u64, u64)> = back
        .iter()
        .map(|r| {
            (
                r.input_tokens,
                r.cache_read_tokens,
                r.cache_write_tokens,
                r.output_tokens,
            )
        })
        .collect();
    assert_eq!(again, counts);
}
