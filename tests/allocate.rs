//! Chargeback allocation through the public path
//! `tokentra_reports::core::allocate::allocate`: the JSON forms, each rule
//! kind, the exact identities, and property tests.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use tokentra_reports::core::allocate::{allocate, unrounded};
use tokentra_reports::model::{
    Allocation, AllocationRule, ChargebackConfiguration, CostRow, Currency, SplitTarget,
};
use tokentra_reports::Error;

fn config(extra: serde_json::Value) -> ChargebackConfiguration {
    let mut base = json!({
        "id": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11",
        "organizationId": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12",
        "name": "Monthly chargeback",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z"
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(base).unwrap()
}

fn rows(v: serde_json::Value) -> Vec<CostRow> {
    serde_json::from_value(v).unwrap()
}

fn check_identities(a: &Allocation) {
    let sum: Decimal = a.allocations.values().map(|x| x.total_cost).sum();
    assert_eq!(sum, a.allocated_cost, "allocatedCost is the sum");
    assert_eq!(
        sum + a.unallocated_cost,
        a.total_cost,
        "nothing appears or vanishes"
    );
    for (name, x) in &a.allocations {
        let p: Decimal = x.breakdown.by_provider.values().sum();
        let m: Decimal = x.breakdown.by_model.values().sum();
        assert_eq!(p, x.total_cost, "byProvider of {name}");
        assert_eq!(m, x.total_cost, "byModel of {name}");
    }
    let dp = a.currency.minor_units();
    for amount in [a.total_cost, a.allocated_cost, a.unallocated_cost] {
        assert_eq!(amount.scale(), dp);
    }
}

#[test]
fn issue_json_row_and_record_shape() {
    let c = config(json!({
        "allocationBasis": "team",
        "allocationRules": [{"source": "search", "target": "platform", "percentage": 10}]
    }));
    let r = rows(json!([
        {"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search","project":"alpha",
         "costCenter":"CC-100","cost":"12.3456","requests":10,"inputTokens":1000,"outputTokens":200},
        {"date":"2026-10-02","provider":"anthropic","model":"claude-3-5-sonnet","cost":"0.995"}
    ]));
    let a = allocate(&c, &r).unwrap();
    check_identities(&a);
    let v = serde_json::to_value(&a).unwrap();
    // 12.3456 * 90% = 11.11104, * 10% = 1.23456; unallocated 0.995 -> 1.00;
    // total 13.3406 -> 13.34; allocated 12.34 = 11.11 + 1.23.
    assert_eq!(
        v,
        json!({
            "allocations": {
                "platform": {"totalCost": num("1.23"), "breakdown": {
                    "byProvider": {"openai": num("1.23")}, "byModel": {"gpt-4o": num("1.23")}}},
                "search": {"totalCost": num("11.11"), "breakdown": {
                    "byProvider": {"openai": num("11.11")}, "byModel": {"gpt-4o": num("11.11")}}}
            },
            "totalCost": num("13.34"),
            "allocatedCost": num("12.34"),
            "unallocatedCost": num("1.00"),
            "currency": "USD"
        })
    );
    let back: Allocation = serde_json::from_value(v).unwrap();
    assert_eq!(back, a);
}

#[test]
fn every_basis_reads_its_own_dimension() {
    let r = rows(json!([
        {"date":"2026-10-01","team":"t1","project":"p1","costCenter":"CC-1",
         "tags":{"department":"legal"},"cost":"3"},
        {"date":"2026-10-01","team":"t2","project":"p1","costCenter":"CC-2","cost":"2"}
    ]));
    let keys = |basis: &str, tag: Option<&str>| {
        let c = config(json!({"allocationBasis": basis, "customTagKey": tag}));
        let a = allocate(&c, &r).unwrap();
        check_identities(&a);
        (
            a.allocations
                .iter()
                .map(|(k, v)| (k.clone(), v.total_cost))
                .collect::<Vec<_>>(),
            a.unallocated_cost,
        )
    };
    assert_eq!(
        keys("team", None),
        (
            vec![("t1".into(), dec!(3.00)), ("t2".into(), dec!(2.00))],
            dec!(0.00)
        )
    );
    assert_eq!(
        keys("project", None),
        (vec![("p1".into(), dec!(5.00))], dec!(0.00))
    );
    assert_eq!(
        keys("cost_center", None),
        (
            vec![("CC-1".into(), dec!(3.00)), ("CC-2".into(), dec!(2.00))],
            dec!(0.00)
        )
    );
    assert_eq!(
        keys("custom", Some("department")),
        (vec![("legal".into(), dec!(3.00))], dec!(2.00))
    );
    // `custom` without its key is invalid.
    let c = config(json!({"allocationBasis": "custom"}));
    assert_eq!(allocate(&c, &r).unwrap_err().field(), Some("customTagKey"));
}

#[test]
fn rules_target_split_shared_and_unmatched() {
    let c = config(json!({
        "allocationBasis": "team",
        "allocationRules": [
            {"source": "infra", "split": [{"target": "search", "weight": 1}, {"target": "ads", "weight": 3}]},
            {"source": "", "target": "shared", "percentage": "50"},
            {"source": "search", "target": "ads"}
        ]
    }));
    let r = rows(json!([
        {"date":"2026-10-01","team":"infra","provider":"openai","model":"gpt-4o","cost":"100"},
        {"date":"2026-10-01","provider":"openai","model":"gpt-4o","cost":"9.99"},
        {"date":"2026-10-01","team":"search","provider":"anthropic","model":"claude","cost":"7"},
        {"date":"2026-10-01","team":"mobile","provider":"anthropic","model":"claude","cost":"1.5"}
    ]));
    let a = allocate(&c, &r).unwrap();
    check_identities(&a);
    let got: BTreeMap<&str, Decimal> = a
        .allocations
        .iter()
        .map(|(k, v)| (k.as_str(), v.total_cost))
        .collect();
    // Rules do not chain: search's 25 from infra stays with search, while
    // search's own 7 moves to ads. Half of the untagged 9.99 (4.995 each)
    // goes to shared; the other half is unallocated and, as a total, rounds
    // half away from zero to 5.00, so shared gets the floor 4.99.
    assert_eq!(
        got,
        BTreeMap::from([
            ("ads", dec!(82.00)),
            ("mobile", dec!(1.50)),
            ("search", dec!(25.00)),
            ("shared", dec!(4.99)),
        ])
    );
    assert_eq!(a.unallocated_cost, dec!(5.00));
    assert_eq!(a.total_cost, dec!(118.49));
    assert_eq!(a.allocated_cost, dec!(113.49));
    let ads = &a.allocations["ads"].breakdown;
    assert_eq!(ads.by_provider["openai"], dec!(75.00));
    assert_eq!(ads.by_provider["anthropic"], dec!(7.00));
}

#[test]
fn untagged_rows_without_a_rule_are_unallocated() {
    let c = config(json!({"allocationBasis": "project"}));
    let r = rows(json!([
        {"date":"2026-10-01","team":"x","cost":"1.01"},
        {"date":"2026-10-01","project":"","cost":"2"},
        {"date":"2026-10-01","project":"p","cost":"-0.50"}
    ]));
    let a = allocate(&c, &r).unwrap();
    check_identities(&a);
    assert_eq!(a.unallocated_cost, dec!(3.01));
    assert_eq!(a.allocations["p"].total_cost, dec!(-0.50));
    assert_eq!(
        a.allocations["p"].breakdown.by_provider["unknown"],
        dec!(-0.50)
    );
    assert_eq!(a.total_cost, dec!(2.51));
}

#[test]
fn empty_input_allocates_nothing() {
    let a = allocate(&config(json!({})), &[]).unwrap();
    assert!(a.allocations.is_empty());
    assert_eq!(a.total_cost.to_string(), "0.00");
    check_identities(&a);
}

#[test]
fn invalid_rules_name_their_index() {
    let cases = [
        (
            json!([{"source": "a", "target": "b", "percentage": 100.5}]),
            "allocationRules[0].percentage",
        ),
        (
            json!([{"source": "a", "target": "b", "percentage": -1}]),
            "allocationRules[0].percentage",
        ),
        (
            json!([{"source": "a", "target": "b"}, {"source": "c", "target": " "}]),
            "allocationRules[1].target",
        ),
        (
            json!([{"source": "a", "target": "b"}, {"source": "a", "target": "c"}]),
            "allocationRules[1].source",
        ),
        (
            json!([{"source": "", "split": [{"target": "x", "weight": 0}]}]),
            "allocationRules[0].split",
        ),
        (
            json!([{"source": "", "split": []}]),
            "allocationRules[0].split",
        ),
        (
            json!([{"source": "", "split": [{"target": "", "weight": 1}]}]),
            "allocationRules[0].split[0].target",
        ),
    ];
    let r = rows(json!([{"date":"2026-10-01","team":"a","cost":"1"}]));
    for (rules, field) in cases {
        let c = config(json!({ "allocationRules": rules }));
        match allocate(&c, &r) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected Invalid on {field}, got {other:?}"),
        }
    }
}

#[test]
fn a_row_in_another_currency_is_an_error() {
    let c = config(json!({"currency": "JPY"}));
    let r = rows(json!([
        {"date":"2026-10-01","team":"a","cost":"100","currency":"JPY"},
        {"date":"2026-10-01","team":"a","cost":"1","currency":"USD"}
    ]));
    match allocate(&c, &r) {
        Err(Error::Invalid { field, reason }) => {
            assert_eq!(field, "rows[1].currency");
            assert!(reason.contains("USD") && reason.contains("JPY"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ties_go_by_target_name_in_every_currency() {
    for (code, total, first, rest) in [
        ("USD", dec!(0.02), dec!(0.01), dec!(0.00)),
        ("JPY", dec!(2), dec!(1), dec!(0)),
        ("KWD", dec!(0.002), dec!(0.001), dec!(0.000)),
    ] {
        let c = config(json!({
            "currency": code,
            "allocationRules": [{"source": "", "split": [
                {"target": "c", "weight": 1}, {"target": "b", "weight": 1}, {"target": "a", "weight": 1}]}]
        }));
        let r = rows(json!([{"date":"2026-10-01","cost": total}]));
        let a = allocate(&c, &r).unwrap();
        check_identities(&a);
        assert_eq!(a.allocations["a"].total_cost, first, "{code}");
        assert_eq!(a.allocations["b"].total_cost, first, "{code}");
        assert_eq!(a.allocations["c"].total_cost, rest, "{code}");
    }
}

// ---------------------------------------------------------------------------
// Properties

const CURRENCIES: [&str; 6] = ["USD", "JPY", "KWD", "EUR", "CLF", "BHD"];

fn arb_rule(source: &'static str) -> impl Strategy<Value = AllocationRule> {
    let target = (
        prop::sample::select(vec!["a", "b", "x", "y"]),
        prop::option::of((0i64..=10_000).prop_map(|p| Decimal::new(p, 2))),
    )
        .prop_map(move |(t, pct)| AllocationRule {
            source: source.into(),
            target: Some(t.into()),
            percentage: pct,
            split: None,
        });
    let split = (
        prop::sample::subsequence(vec!["a", "x", "y", "z"], 1..=4),
        prop::collection::vec(0i64..50, 4),
    )
        .prop_map(move |(targets, weights)| {
            let mut split: Vec<SplitTarget> = targets
                .iter()
                .zip(&weights)
                .map(|(t, w)| SplitTarget {
                    target: (*t).into(),
                    weight: Decimal::new(*w, 1),
                })
                .collect();
            if let Some(first) = split.first_mut() {
                first.weight += Decimal::ONE;
            }
            AllocationRule {
                source: source.into(),
                split: Some(split),
                ..Default::default()
            }
        });
    prop_oneof![target, split]
}

fn arb_config() -> impl Strategy<Value = ChargebackConfiguration> {
    (
        prop::option::of(arb_rule("")),
        prop::option::of(arb_rule("a")),
        prop::option::of(arb_rule("b")),
        prop::option::of(arb_rule("c")),
        prop::sample::select(CURRENCIES.to_vec()),
    )
        .prop_map(|(r0, r1, r2, r3, cur)| {
            let mut c = config(json!({}));
            c.allocation_rules = [r0, r1, r2, r3].into_iter().flatten().collect();
            c.currency = Currency::parse(cur).unwrap();
            c
        })
}

fn arb_rows() -> impl Strategy<Value = Vec<CostRow>> {
    let row = (
        prop::option::of(prop::sample::select(vec!["a", "b", "c", "d", "x"])),
        prop::option::of(prop::sample::select(vec!["openai", "anthropic"])),
        prop::option::of(prop::sample::select(vec!["m1", "m2", "m3"])),
        -100_000_000i64..100_000_000,
        0u32..7,
    )
        .prop_map(|(team, provider, model, mantissa, scale)| CostRow {
            date: "2026-10-01".parse().unwrap(),
            team: team.map(Into::into),
            provider: provider.map(Into::into),
            model: model.map(Into::into),
            cost: Decimal::new(mantissa, scale),
            ..Default::default()
        });
    prop::collection::vec(row, 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn identities_hold_for_random_rules_rows_and_currencies(c in arb_config(), r in arb_rows()) {
        let a = allocate(&c, &r).unwrap();
        check_identities(&a);
        // The total is the exact sum rounded half away from zero.
        let exact: Decimal = r.iter().map(|x| x.cost).sum();
        prop_assert_eq!(a.total_cost, c.currency.round(exact));
        // Each allocation is within one minor unit of its exact share
        // (exactly one when the total and the unallocated amount both end
        // in a half unit: each is rounded half away from zero on its own,
        // and the allocated difference carries both halves, e.g. a total of
        // -81,704,616.745 and 19,903.255 unallocated leave -81,724,520.01
        // for an exact -81,724,520.00).
        let unit = Decimal::new(1, c.currency.minor_units());
        let u = unrounded(&c, &r).unwrap();
        prop_assert_eq!(u.targets.keys().collect::<Vec<_>>(), a.allocations.keys().collect::<Vec<_>>());
        for (name, alloc) in &a.allocations {
            let share = &u.targets[name];
            let lo = alloc.total_cost - unit;
            let hi = alloc.total_cost + unit;
            prop_assert!(tokentra_reports::core::allocate::Exact::from_decimal(lo) <= *share);
            prop_assert!(*share <= tokentra_reports::core::allocate::Exact::from_decimal(hi));
        }
    }

    #[test]
    fn allocation_is_independent_of_row_order(
        c in arb_config(),
        (r, shuffled) in arb_rows().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
    ) {
        prop_assert_eq!(allocate(&c, &r).unwrap(), allocate(&c, &shuffled).unwrap());
    }

    #[test]
    fn scaling_costs_by_ten_scales_every_unrounded_share(c in arb_config(), r in arb_rows()) {
        let scaled: Vec<CostRow> = r
            .iter()
            .map(|x| CostRow { cost: x.cost * Decimal::TEN, ..x.clone() })
            .collect();
        let base = unrounded(&c, &r).unwrap();
        let ten = unrounded(&c, &scaled).unwrap();
        prop_assert_eq!(base.targets.len(), ten.targets.len());
        for (name, share) in &base.targets {
            prop_assert_eq!(&ten.targets[name], &share.scaled(Decimal::TEN));
        }
        prop_assert_eq!(ten.unallocated, base.unallocated.scaled(Decimal::TEN));
        prop_assert_eq!(ten.total, base.total.scaled(Decimal::TEN));
    }
}

/// A JSON number with exactly this text (money is written as exact decimals).
fn num(text: &str) -> serde_json::Value {
    serde_json::Value::Number(text.parse().unwrap())
}
