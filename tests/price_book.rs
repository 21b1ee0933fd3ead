//! The effective-dated price book: records priced as of their timestamps
//! by the version then in force, organizations' own prices and discounts,
//! re-pricing under another version, reconciliation with a bill.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::core::pricebook::{reconcile, OrgTerms, PriceBook, PriceVersion};
use tokentra_reports::core::pricing::PriceTable;
use tokentra_reports::model::{
    CostRow, ModelPrice, OrganizationId, TokenClass, TokenUsage, UsageRecord,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// gpt-4o at 2.5e-6 / 1e-5 (list), then from 1 October at 2e-6 / 8e-6.
fn book() -> PriceBook {
    let v1 = PriceTable::from_litellm_json(
        r#"{"gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
             "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai", "mode": "chat"},
            "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
             "cache_creation_input_token_cost": 3.75e-06, "litellm_provider": "anthropic", "mode": "chat"}}"#,
    )
    .unwrap();
    let v2 = PriceTable::from_litellm_json(
        r#"{"gpt-4o": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
             "cache_read_input_token_cost": 1e-06, "litellm_provider": "openai", "mode": "chat"},
            "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
             "cache_creation_input_token_cost": 3.75e-06, "litellm_provider": "anthropic", "mode": "chat"}}"#,
    )
    .unwrap();
    let mut b = PriceBook::new();
    b.add_version(PriceVersion {
        id: "2026-10".into(),
        effective_from: at("2026-10-01T00:00:00Z"),
        table: v2,
    })
    .unwrap();
    b.add_version(PriceVersion {
        id: "2026-01".into(),
        effective_from: at("2026-01-01T00:00:00Z"),
        table: v1,
    })
    .unwrap();
    b
}

fn rec(ts: &str, model: &str, input: u64, output: u64) -> UsageRecord {
    UsageRecord {
        timestamp: at(ts),
        model: Some(model.into()),
        requests: 1,
        tokens: TokenUsage {
            input_tokens: input,
            output_tokens: output,
            ..TokenUsage::default()
        },
        ..Default::default()
    }
}

#[test]
fn each_record_is_priced_by_the_version_in_force_at_its_time() {
    let b = book();
    assert_eq!(
        b.version_at(at("2026-09-30T23:59:59Z")).unwrap().id,
        "2026-01"
    );
    assert_eq!(
        b.version_at(at("2026-10-01T00:00:00Z")).unwrap().id,
        "2026-10"
    );
    assert!(b.version_at(at("2025-12-31T23:59:59Z")).is_none());
    assert_eq!(b.effective_to("2026-01"), Some(at("2026-10-01T00:00:00Z")));
    assert_eq!(b.effective_to("2026-10"), None);
    let org = OrganizationId::new();
    let out = b
        .price_usage(
            org,
            [
                // 1,000 × 2.5e-6 + 1,000 × 1e-5.
                rec("2026-09-30T23:59:59Z", "gpt-4o", 1_000, 1_000),
                // 1,000 × 2e-6 + 1,000 × 8e-6.
                rec("2026-10-01T00:00:00Z", "gpt-4o", 1_000, 1_000),
                // Before the first version: not priced, reported.
                rec("2025-06-01T00:00:00Z", "gpt-4o", 1_000, 1_000),
                rec("2026-10-02T00:00:00Z", "acme-llm", 5, 5),
            ],
        )
        .unwrap();
    let costs: Vec<Decimal> = out.usage.rows.iter().map(|r| r.cost.normalize()).collect();
    assert_eq!(costs, vec![dec!(0.0125), dec!(0.01)]);
    let versions: Vec<&str> = out
        .provenance
        .iter()
        .map(|p| p.as_ref().unwrap().version.as_str())
        .collect();
    assert_eq!(versions, ["2026-01", "2026-10"]);
    // The rows say it too, for reports grouped by the tag.
    let tagged: Vec<&str> = out
        .usage
        .rows
        .iter()
        .map(|r| r.tags["price_version"].as_str())
        .collect();
    assert_eq!(tagged, versions);
    assert_eq!(out.usage.unpriced.lines, 2);
    assert_eq!(out.usage.unpriced.requests_by_model["gpt-4o"], 1);
    assert_eq!(out.usage.unpriced.requests_by_model["acme-llm"], 1);
}

#[test]
fn organizations_have_their_own_prices_and_discounts() {
    let mut b = book();
    let (acme, other) = (OrganizationId::new(), OrganizationId::new());
    let mut overrides = PriceTable::new();
    overrides.insert(
        "claude-sonnet-4-5",
        ModelPrice {
            input_per_token: Some(dec!(0.000002)),
            output_per_token: Some(dec!(0.00001)),
            ..ModelPrice::default()
        },
    );
    b.set_terms(
        acme,
        OrgTerms {
            overrides,
            discounts: [("gpt-4o".to_owned(), dec!(20)), ("*".to_owned(), dec!(5))]
                .into_iter()
                .collect(),
        },
    );
    let records = || {
        [
            rec("2026-10-05T10:00:00Z", "gpt-4o-2024-08-06", 1_000, 1_000),
            rec("2026-10-05T10:00:00Z", "claude-sonnet-4-5", 1_000, 1_000),
        ]
    };
    let acme_out = b.price_usage(acme, records()).unwrap();
    let other_out = b.price_usage(other, records()).unwrap();
    let costs = |o: &tokentra_reports::core::pricebook::BookPriced| -> Vec<Decimal> {
        o.usage.rows.iter().map(|r| r.cost.normalize()).collect()
    };
    // List: 0.01 (gpt-4o family's price), 1,000 × 3e-6 + 1,000 × 1.5e-5.
    assert_eq!(costs(&other_out), vec![dec!(0.01), dec!(0.018)]);
    // Acme: 20% off gpt-4o (the family's discount wins over "*"), and its
    // own claude price 1,000 × 2e-6 + 1,000 × 1e-5.
    assert_eq!(costs(&acme_out), vec![dec!(0.008), dec!(0.012)]);
    let p = acme_out.provenance[0].as_ref().unwrap();
    assert_eq!((p.model.as_str(), p.discount_percent), ("gpt-4o", dec!(20)));
    assert_eq!(acme_out.provenance[1].as_ref().unwrap().version, "override");
    // A discount outside 0..=100 names itself.
    b.set_terms(
        other,
        OrgTerms {
            discounts: [("*".to_owned(), dec!(120))].into_iter().collect(),
            ..OrgTerms::default()
        },
    );
    let e = b.price_usage(other, records()).unwrap_err();
    assert_eq!(e.field(), Some("discounts.*"));
}

#[test]
fn a_book_rejects_duplicate_versions() {
    let mut b = book();
    let t = PriceTable::new();
    let e = b
        .add_version(PriceVersion {
            id: "2026-10".into(),
            effective_from: at("2027-01-01T00:00:00Z"),
            table: t.clone(),
        })
        .unwrap_err();
    assert_eq!(e.field(), Some("id"));
    let e = b
        .add_version(PriceVersion {
            id: "x".into(),
            effective_from: at("2026-10-01T00:00:00Z"),
            table: t,
        })
        .unwrap_err();
    assert_eq!(e.field(), Some("effectiveFrom"));
}

#[test]
fn repricing_shows_the_difference_by_model_and_token_class() {
    let b = book();
    let org = OrganizationId::new();
    let mut cached = rec("2026-09-10T00:00:00Z", "gpt-4o", 10_000, 2_000);
    cached.tokens.cached_input_tokens = 4_000;
    let records = vec![
        cached,
        rec("2026-09-11T00:00:00Z", "claude-sonnet-4-5", 1_000, 100),
        rec("2026-09-12T00:00:00Z", "acme-llm", 1, 1),
    ];
    let r = b.reprice(org, records, "2026-10").unwrap();
    assert_eq!(r.skipped, 1);
    let line = |model: &str, class: TokenClass| {
        r.lines
            .iter()
            .find(|l| l.model == model && l.class == class)
            .map(|l| (l.before.normalize(), l.after.normalize()))
            .unwrap()
    };
    // 6,000 uncached × 2.5e-6 → × 2e-6.
    assert_eq!(
        line("gpt-4o", TokenClass::Input),
        (dec!(0.015), dec!(0.012))
    );
    // 4,000 cached × 1.25e-6 → × 1e-6.
    assert_eq!(
        line("gpt-4o", TokenClass::CacheRead),
        (dec!(0.005), dec!(0.004))
    );
    // 2,000 output × 1e-5 → × 8e-6.
    assert_eq!(
        line("gpt-4o", TokenClass::Output),
        (dec!(0.02), dec!(0.016))
    );
    // Claude's price did not change.
    assert_eq!(
        line("claude-sonnet-4-5", TokenClass::Input),
        (dec!(0.003), dec!(0.003))
    );
    assert_eq!(r.total_before.normalize(), dec!(0.0445));
    assert_eq!(r.total_after.normalize(), dec!(0.0365));
    let e = b.reprice(org, Vec::new(), "2099").unwrap_err();
    assert!(matches!(e, tokentra_reports::Error::NotFound { .. }));
}

#[test]
fn reconciliation_flags_days_the_bill_disagrees() {
    let row = |date: &str, model: &str, cost: Decimal| CostRow {
        date: date.parse().unwrap(),
        model: Some(model.into()),
        cost,
        ..CostRow::default()
    };
    let priced = [
        row("2026-10-01", "gpt-4o", dec!(100.00)),
        row("2026-10-01", "gpt-4o", dec!(50.00)),
        row("2026-10-01", "claude-sonnet-4-5", dec!(80.00)),
        row("2026-10-02", "gpt-4o", dec!(10.00)),
    ];
    let billed = [
        row("2026-10-01", "gpt-4o", dec!(151.00)),
        row("2026-10-01", "claude-sonnet-4-5", dec!(100.00)),
        row("2026-10-03", "o3", dec!(7.00)),
    ];
    let v = reconcile(&priced, &billed, dec!(2)).unwrap();
    let flat: Vec<(String, &str, Decimal, Option<Decimal>, bool)> = v
        .iter()
        .map(|x| {
            (
                x.date.to_string(),
                x.model.as_str(),
                x.difference,
                x.percent,
                x.flagged,
            )
        })
        .collect();
    assert_eq!(
        flat,
        vec![
            // 150 priced, 151 billed: 0.66% is within 2%.
            (
                "2026-10-01".into(),
                "claude-sonnet-4-5",
                dec!(20.00),
                Some(dec!(20.00)),
                true
            ),
            (
                "2026-10-01".into(),
                "gpt-4o",
                dec!(1.00),
                Some(dec!(0.66)),
                false
            ),
            // Priced, not billed at all.
            ("2026-10-02".into(), "gpt-4o", dec!(-10.00), None, true),
            // Billed, not in our usage: 100% of the bill.
            (
                "2026-10-03".into(),
                "o3",
                dec!(7.00),
                Some(dec!(100.00)),
                true
            ),
        ]
    );
}
