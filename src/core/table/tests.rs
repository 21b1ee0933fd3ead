use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::core::aggregate::aggregate_rows;
use crate::model::{DateRange, ReportFilters};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn table(rows: &[CostRow]) -> CostTable {
    let mut t = CostTable::new();
    t.extend(rows);
    t
}

/// Same buckets, and the same decimal scale of every cost (so JSON output
/// is identical too).
fn assert_same(rows: &[CostRow], q: &CostQuery) {
    let want = aggregate_rows(rows, q, Currency::USD).unwrap();
    let got = table(rows).aggregate(q, Currency::USD).unwrap();
    assert_eq!(got, want, "{q:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.cost.to_string(), w.cost.to_string());
    }
}

fn row(date: &str, provider: Option<&str>, cost: Decimal) -> CostRow {
    CostRow {
        date: d(date),
        provider: provider.map(Into::into),
        cost,
        requests: 1,
        ..Default::default()
    }
}

#[test]
fn scales_rise_and_huge_costs_go_exact() {
    let mut rows = vec![
        row("2026-10-01", Some("a"), dec!(1.10)),
        row("2026-10-01", Some("a"), dec!(2.2)),
        row("2026-10-02", Some("b"), dec!(0.000001)),
        row("2026-10-02", Some("b"), dec!(-3)),
    ];
    let q = CostQuery::total(DateRange::new(d("2026-10-01"), d("2026-10-02")).unwrap())
        .group_by([Dimension::Provider]);
    assert_same(&rows, &q);
    let got = table(&rows).aggregate(&q, Currency::USD).unwrap();
    assert_eq!(got[0].cost.to_string(), "3.30");
    assert_eq!(got[1].cost.to_string(), "-2.999999");
    rows.push(row("2026-10-02", Some("b"), dec!(12345678901234567890.5)));
    let t = table(&rows);
    assert_eq!(t.scale, None);
    assert_same(&rows, &q);
    // Overflow is an error, not a panic.
    let big = vec![
        row("2026-10-01", None, Decimal::MAX),
        row("2026-10-01", None, Decimal::MAX),
    ];
    let q = CostQuery::total(DateRange::day(d("2026-10-01")));
    assert_eq!(
        table(&big)
            .aggregate(&q, Currency::USD)
            .unwrap_err()
            .field(),
        Some("cost")
    );
    assert_eq!(
        aggregate_rows(&big, &q, Currency::USD).unwrap_err().field(),
        Some("cost")
    );
}

#[test]
fn counts_widen_and_saturate() {
    let mut rows = vec![
        row("2026-10-01", Some("a"), dec!(1)),
        row("2026-10-01", Some("a"), dec!(1)),
    ];
    rows[1].input_tokens = u64::from(u32::MAX) + 1;
    rows.push(CostRow {
        input_tokens: u64::MAX,
        ..rows[1].clone()
    });
    let t = table(&rows);
    assert!(matches!(
        t.blocks.values().next().unwrap().counts,
        Counts::Wide(_)
    ));
    let range = DateRange::day(d("2026-10-01"));
    for q in [
        CostQuery::total(range),
        CostQuery::total(range).group_by([Dimension::Provider]),
    ] {
        assert_same(&rows, &q);
        assert_eq!(
            t.aggregate(&q, Currency::USD).unwrap()[0].input_tokens,
            u64::MAX
        );
        assert_eq!(t.aggregate(&q, Currency::USD).unwrap()[0].requests, 3);
    }
}

#[test]
fn empty_values_group_as_none_but_filter_as_themselves() {
    let mut a = row("2026-10-01", Some(""), dec!(1));
    a.team = Some(String::new());
    a.model = Some("gpt-4o-2024-08-06".into());
    a.tags = BTreeMap::from([("env".into(), String::new())]);
    let mut b = row("2026-10-01", None, dec!(2));
    b.model = Some("gpt-4o".into());
    b.timestamp = Some(Utc.with_ymd_and_hms(2026, 10, 1, 13, 5, 0).unwrap());
    let mut c = row("2026-10-01", Some("x"), dec!(4));
    c.timestamp = Some(Utc.with_ymd_and_hms(2026, 10, 2, 1, 0, 0).unwrap());
    c.tags = BTreeMap::from([("env".into(), "prod".into())]);
    let rows = vec![a, b, c];
    let range = DateRange::day(d("2026-10-01"));
    for dims in [
        vec![Dimension::Provider],
        vec![Dimension::ModelFamily, Dimension::Team],
        vec![Dimension::Tag("env".into())],
        vec![Dimension::Tag("nope".into()), Dimension::Model],
    ] {
        for g in [None, Some(Granularity::Hour), Some(Granularity::Week)] {
            let mut q = CostQuery::total(range).group_by(dims.clone());
            q.granularity = g;
            assert_same(&rows, &q);
        }
    }
    let q = CostQuery::total(range).filtered(ReportFilters {
        teams: vec![String::new()],
        ..Default::default()
    });
    assert_same(&rows, &q);
    assert_eq!(
        table(&rows).aggregate(&q, Currency::USD).unwrap()[0].cost,
        dec!(1)
    );
}

#[test]
fn sparse_groups_match_too() {
    // 600 users x 600 projects over a day is beyond the dense limit.
    let rows: Vec<CostRow> = (0..1200u32)
        .map(|i| CostRow {
            date: d("2026-10-01"),
            user: Some(format!("u{}", i % 600)),
            project: Some(format!("p{}", (i * 7) % 600)),
            cost: Decimal::new(i64::from(i), 2),
            requests: 1,
            ..Default::default()
        })
        .collect();
    let q = CostQuery::total(DateRange::day(d("2026-10-01")))
        .group_by([Dimension::User, Dimension::Project]);
    assert_same(&rows, &q);
}

fn arb_row() -> impl Strategy<Value = CostRow> {
    let opt = |vals: &'static [&'static str]| {
        prop::option::weighted(0.8, prop::sample::select(vals)).prop_map(|o| o.map(str::to_owned))
    };
    (
        (0u32..20, 0u32..24, prop::bool::ANY),
        opt(&["openai", "anthropic", "google", ""]),
        opt(&[
            "gpt-4o",
            "gpt-4o-2024-08-06",
            "claude-3-5-sonnet-20241022",
            "o1",
        ]),
        opt(&["search", "ads", ""]),
        opt(&["alpha", "beta"]),
        opt(&["CC-1", "CC-2"]),
        (
            opt(&["chat"]),
            opt(&["u1", "u2", "u3"]),
            opt(&["prod", "dev", ""]),
        ),
        (-100_000i64..100_000, 0u32..5),
        prop::option::of(prop::sample::select(vec![Currency::USD, Currency::EUR])),
        (0u64..1000, 0u64..1000, 0u64..1000, 0u64..10),
    )
        .prop_map(
            |(
                (day, hour, ts),
                provider,
                model,
                team,
                project,
                cost_center,
                (feature, user, env),
                (m, s),
                currency,
                (requests, i, o, c),
            )| {
                let date = d("2026-09-25") + Duration::days(i64::from(day));
                CostRow {
                    date,
                    timestamp: ts.then(|| {
                        Utc.from_utc_datetime(
                            &(date.and_hms_opt(hour, 7, 0).unwrap()
                                + Duration::hours(i64::from(hour % 3) * 12)),
                        )
                    }),
                    provider,
                    model,
                    // Some rows name their family (as FOCUS AI rows do).
                    model_family: feature.as_ref().map(|f| format!("family-{f}")),
                    team,
                    project,
                    cost_center,
                    feature,
                    user,
                    tags: env
                        .map(|e| BTreeMap::from([("env".to_string(), e)]))
                        .unwrap_or_default(),
                    cost: Decimal::new(m, s),
                    currency,
                    requests,
                    input_tokens: i,
                    output_tokens: o,
                    cached_requests: c,
                    cache_read_tokens: 0,
                    cache_write_tokens: 0,
                }
            },
        )
}

fn arb_query() -> impl Strategy<Value = CostQuery> {
    let dims = prop::sample::subsequence(
        vec![
            Dimension::Provider,
            Dimension::Model,
            Dimension::ModelFamily,
            Dimension::Team,
            Dimension::Project,
            Dimension::CostCenter,
            Dimension::Feature,
            Dimension::User,
            Dimension::Tag("env".into()),
            Dimension::Tag("other".into()),
        ],
        0..3,
    );
    let list = |vals: &'static [&'static str]| {
        prop::sample::subsequence(vals.to_vec(), 0..=vals.len())
            .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    (
        0i64..20,
        0i64..20,
        dims,
        prop::option::of(prop::sample::select(vec![
            Granularity::Hour,
            Granularity::Day,
            Granularity::Week,
            Granularity::Month,
        ])),
        (
            list(&["search", "ads", ""]),
            list(&["alpha"]),
            list(&["CC-1"]),
            list(&["openai", "google"]),
            list(&["o1", "gpt-4o"]),
        ),
    )
        .prop_map(
            |(
                a,
                len,
                group_by,
                granularity,
                (teams, projects, cost_centers, providers, models),
            )| {
                let start = d("2026-09-24") + Duration::days(a);
                CostQuery {
                    range: DateRange::new(start, start + Duration::days(len)).unwrap(),
                    filters: ReportFilters {
                        teams,
                        projects,
                        cost_centers,
                        providers,
                        models,
                    },
                    group_by,
                    granularity,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The table answers every query exactly as the reference does.
    #[test]
    fn table_matches_the_reference(rows in prop::collection::vec(arb_row(), 0..60), q in arb_query()) {
        let want = aggregate_rows(&rows, &q, Currency::USD).unwrap();
        let got = table(&rows).aggregate(&q, Currency::USD).unwrap();
        prop_assert_eq!(&got, &want);
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g.cost.to_string(), w.cost.to_string());
        }
    }

    /// The same with one currency and no filters (the fast paths).
    #[test]
    fn table_matches_the_reference_on_fast_paths(rows in prop::collection::vec(arb_row(), 0..60), q in arb_query(), big in prop::bool::weighted(0.2)) {
        let mut rows = rows;
        for r in &mut rows {
            r.currency = None;
        }
        if big {
            if let Some(r) = rows.first_mut() {
                r.cost = Decimal::new(i64::MAX, 0) * Decimal::from(1000);
            }
        }
        let q = CostQuery { filters: ReportFilters::default(), ..q };
        let want = aggregate_rows(&rows, &q, Currency::USD).unwrap();
        let got = table(&rows).aggregate(&q, Currency::USD).unwrap();
        prop_assert_eq!(&got, &want);
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g.cost.to_string(), w.cost.to_string());
        }
    }

    /// Filtering then aggregating equals aggregating the filtered rows.
    #[test]
    fn filters_commute_with_aggregation(rows in prop::collection::vec(arb_row(), 0..60), q in arb_query()) {
        let kept: Vec<CostRow> = rows
            .iter()
            .filter(|r| q.filters.matches(r.team.as_deref(), r.project.as_deref(), r.cost_center.as_deref(), r.provider.as_deref(), r.model.as_deref()))
            .cloned()
            .collect();
        let unfiltered = CostQuery { filters: ReportFilters::default(), ..q.clone() };
        let a = table(&rows).aggregate(&q, Currency::USD).unwrap();
        let b = table(&kept).aggregate(&unfiltered, Currency::USD).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(aggregate_rows(&rows, &q, Currency::USD).unwrap(), aggregate_rows(&kept, &unfiltered, Currency::USD).unwrap());
    }
}
