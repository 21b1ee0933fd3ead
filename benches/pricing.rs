//! Pricing usage records with the bundled LiteLLM table: 1 million records
//! (12 models of OpenAI, Anthropic, Azure and Google, with cache reads and
//! writes, long prompts above Gemini's 200k tier, 10% batch) on one thread.
//! Throughput is records per second. The target is 5 million
//! records per second on one core.
//!
//! - `pricer_1m_records`: the cost of each record (`Pricer::cost`: resolve
//!   the model, price each token class), what pricing itself takes;
//! - `price_usage_1m_records`: the same into cost rows (`price_usage`),
//!   which also writes 1 million rows of about 250 bytes each.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokentra_reports::backends::file::demo;
use tokentra_reports::core::pricing::{price_usage, Pricer};
use tokentra_reports::model::{ServiceTier, TokenUsage, UsageRecord};

const RECORDS: usize = 1_000_000;

fn records() -> Vec<UsageRecord> {
    let models: [(&str, &str); 12] = [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini-2024-07-18"),
        ("openai", "gpt-4.1"),
        ("openai", "ft:gpt-4o-mini-2024-07-18:acme::x1"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-haiku-4-5"),
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("azure", "gpt-4-turbo-2024-04-09"),
        ("azure", "gpt-4o"),
        ("vertex_ai", "gemini-2.5-pro"),
        ("gemini", "gemini/gemini-2.5-flash"),
        ("openai", "text-embedding-3-small"),
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t0: chrono::DateTime<chrono::Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
    (0..RECORDS)
        .map(|i| {
            let (provider, model) = models[i % models.len()];
            let input = 200 + next() % 250_000;
            let cached = if i % 3 == 0 { input / 2 } else { 0 };
            let write = if provider == "anthropic" && i % 5 == 0 {
                input / 4
            } else {
                0
            };
            UsageRecord {
                timestamp: t0 + chrono::Duration::seconds((i / 12) as i64),
                provider: Some(provider.into()),
                model: Some(model.into()),
                team: Some(format!("team-{}", i % 20)),
                requests: 1,
                tokens: TokenUsage {
                    input_tokens: input,
                    output_tokens: next() % 4_000,
                    cached_input_tokens: cached,
                    cache_write_tokens: write,
                    ..TokenUsage::default()
                },
                service_tier: if i % 10 == 0 {
                    ServiceTier::Batch
                } else {
                    ServiceTier::Standard
                },
                ..Default::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let table = demo::price_table().unwrap();
    let input = records();
    let priced = price_usage(input.clone(), &table).unwrap();
    assert!(priced.unpriced.is_empty(), "{:?}", priced.unpriced.models());
    let mut g = c.benchmark_group("pricing");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("pricer_1m_records", |b| {
        b.iter(|| {
            let mut pricer = Pricer::new(&table);
            let mut total = rust_decimal::Decimal::ZERO;
            for r in &input {
                total += pricer.cost(r).unwrap().unwrap();
            }
            black_box(total)
        })
    });
    g.bench_function("price_usage_1m_records", |b| {
        b.iter_batched(
            || input.clone(),
            |records| black_box(price_usage(records, &table).unwrap()),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
