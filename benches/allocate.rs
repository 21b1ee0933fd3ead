//! Chargeback allocation end to end, from cost rows to the rounded
//! `Allocation`: 1 million rows, 40 targets, 200 rules (direct, percentage
//! and split), USD.

use std::hint::black_box;

use chrono::DateTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use tokentra_reports::core::allocate::allocate;
use tokentra_reports::model::{
    AllocationBasis, AllocationRule, ChargebackConfigId, ChargebackConfiguration,
    ChargebackFrequency, CostRow, Currency, Dimension, OrganizationId, SplitTarget,
};

const ROWS: usize = 1_000_000;
const TARGETS: usize = 40;
const RULES: usize = 200;

fn config() -> ChargebackConfiguration {
    let target = |i: usize| format!("team-{:02}", i % TARGETS);
    let rules = (0..RULES)
        .map(|i| {
            let source = format!("src-{i:03}");
            match i % 3 {
                0 => AllocationRule {
                    source,
                    target: Some(target(i)),
                    ..Default::default()
                },
                1 => AllocationRule {
                    source,
                    target: Some(target(i)),
                    percentage: Some(Decimal::new(375, 1)),
                    split: None,
                },
                _ => AllocationRule {
                    source,
                    split: Some(
                        (0..3)
                            .map(|j| SplitTarget {
                                target: target(i + 7 * j),
                                weight: Decimal::from(j as i64 + 1),
                            })
                            .collect(),
                    ),
                    ..Default::default()
                },
            }
        })
        .collect();
    ChargebackConfiguration {
        id: ChargebackConfigId::new(),
        organization_id: OrganizationId::new(),
        name: "bench".into(),
        description: None,
        allocation_basis: AllocationBasis::Team,
        custom_tag_key: None,
        allocation_rules: rules,
        report_frequency: ChargebackFrequency::Monthly,
        include_breakdown_by: vec![Dimension::Provider, Dimension::Model],
        currency: Currency::USD,
        requires_approval: false,
        approvers: vec![],
        auto_distribute: false,
        distribution_list: vec![],
        is_active: true,
        created_by: None,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
    }
}

fn rows() -> Vec<CostRow> {
    let providers = ["openai", "anthropic", "google", "mistral"];
    let models = [
        "gpt-4o",
        "gpt-4o-mini",
        "o1",
        "claude-3-5-sonnet",
        "claude-3-5-haiku",
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "mistral-large",
    ];
    // Keys: the 200 rule sources, the 40 targets themselves, and untagged.
    let keys: Vec<Option<String>> = (0..RULES)
        .map(|i| Some(format!("src-{i:03}")))
        .chain((0..TARGETS).map(|i| Some(format!("team-{i:02}"))))
        .chain([None])
        .collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..ROWS)
        .map(|_| {
            // xorshift: deterministic pseudo-random rows.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = &keys[(x % keys.len() as u64) as usize];
            let p = ((x >> 20) % providers.len() as u64) as usize;
            let m = ((x >> 24) % models.len() as u64) as usize;
            CostRow {
                date: "2026-10-01".parse().unwrap(),
                team: key.clone(),
                provider: Some(providers[p].into()),
                model: Some(models[m].into()),
                // 0.000000 to 99.999999 USD, one in 50 rows a credit.
                cost: Decimal::new(
                    ((x >> 32) % 100_000_000) as i64 * if x.is_multiple_of(50) { -1 } else { 1 },
                    6,
                ),
                requests: 1,
                ..Default::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = config();
    let rows = rows();
    let mut g = c.benchmark_group("allocate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function("1M_rows_40_targets_200_rules_usd", |b| {
        b.iter(|| allocate(black_box(&config), black_box(&rows)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
