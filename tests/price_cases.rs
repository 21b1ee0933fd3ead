//! Hand-checked costs from LiteLLM's published prices (the bundled subset of
//! `model_prices_and_context_window.json`, LiteLLM 1.110.2): cache reads and
//! writes, long-context tiers, batch, priority and flex service, provider
//! and fine-tune names, embeddings. Each expected amount is worked out in
//! its comment from the table's per-token prices.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::backends::file::{demo, read_usage_csv};
use tokentra_reports::backends::file::{
    line_item_class, read_openai_costs_page, read_openai_usage_page,
};
use tokentra_reports::core::pricing::{price_usage, PriceTable};
use tokentra_reports::model::{
    ModelPrice, ServiceTier, TokenClass, TokenRate, TokenUsage, UsageRecord,
};

fn table() -> PriceTable {
    demo::price_table().unwrap()
}

fn tokens(input: u64, cached: u64, write: u64, write_1h: u64, output: u64) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_write_tokens: write,
        cache_write_1h_tokens: write_1h,
        ..TokenUsage::default()
    }
}

/// The cost of `t` for `model` (with `provider`) at `tier`, and the name the
/// table priced it under.
fn cost(
    model: &str,
    provider: Option<&str>,
    t: TokenUsage,
    tier: ServiceTier,
) -> (String, Decimal) {
    let table = table();
    let (name, price) = table
        .resolve(model, provider)
        .unwrap_or_else(|| panic!("{model} is not in the table"));
    (
        name.to_owned(),
        price.cost_for(&t, tier).unwrap().normalize(),
    )
}

fn std_cost(model: &str, t: TokenUsage) -> Decimal {
    cost(model, None, t, ServiceTier::Standard).1
}

#[test]
fn long_context_tiers_price_the_whole_request() {
    // gemini-2.5-pro: input 1.25e-6, output 1e-5; above 200k 2.5e-6, 1.5e-5.
    // 250,000 × 0.0000025 + 2,000 × 0.000015 = 0.625 + 0.03.
    assert_eq!(
        std_cost("gemini-2.5-pro", tokens(250_000, 0, 0, 0, 2_000)),
        dec!(0.655)
    );
    // 100,000 × 0.00000125 + 2,000 × 0.00001 = 0.125 + 0.02.
    assert_eq!(
        std_cost("gemini-2.5-pro", tokens(100_000, 0, 0, 0, 2_000)),
        dec!(0.145)
    );
    // Exactly 200,000 is not above: 200,000 × 0.00000125.
    assert_eq!(
        std_cost("gemini-2.5-pro", tokens(200_000, 0, 0, 0, 0)),
        dec!(0.25)
    );
    // 200,001: every token at the higher price, 200,001 × 0.0000025.
    assert_eq!(
        std_cost("gemini-2.5-pro", tokens(200_001, 0, 0, 0, 0)),
        dec!(0.5000025)
    );
    // Cached reads above the tier: 50,000 × 2.5e-7 + 200,000 × 2.5e-6.
    assert_eq!(
        std_cost("gemini-2.5-pro", tokens(250_000, 50_000, 0, 0, 0)),
        dec!(0.5125)
    );
    // Below the tier: 50,000 × 1.25e-7 + 50,000 × 1.25e-6.
    assert_eq!(
        std_cost("gemini-2.5-pro", tokens(100_000, 50_000, 0, 0, 0)),
        dec!(0.06875)
    );
}

#[test]
fn batch_priority_and_flex_use_their_own_prices() {
    let g = |t, tier| cost("gemini-2.5-pro", None, t, tier).1;
    // Batch: 100,000 × 6.25e-7 + 1,000 × 5e-6.
    assert_eq!(
        g(tokens(100_000, 0, 0, 0, 1_000), ServiceTier::Batch),
        dec!(0.0675)
    );
    // Batch above 200k: 250,000 × 1.25e-6 + 1,000 × 7.5e-6.
    assert_eq!(
        g(tokens(250_000, 0, 0, 0, 1_000), ServiceTier::Batch),
        dec!(0.32)
    );
    // Priority: 1,000 × 2.25e-6 + 1,000 × 1.8e-5.
    assert_eq!(
        g(tokens(1_000, 0, 0, 0, 1_000), ServiceTier::Priority),
        dec!(0.02025)
    );
    // Flex: 1,000 × 6.25e-7 + 1,000 × 5e-6.
    assert_eq!(
        g(tokens(1_000, 0, 0, 0, 1_000), ServiceTier::Flex),
        dec!(0.005625)
    );
    // gpt-4o-mini-2024-07-18 batch: 1,000 × 7.5e-8 + 1,000 × 3e-7.
    let m = |t, tier| cost("gpt-4o-mini-2024-07-18", None, t, tier).1;
    assert_eq!(
        m(tokens(1_000, 0, 0, 0, 1_000), ServiceTier::Batch),
        dec!(0.000375)
    );
    // No batch cache-read price: cache reads at the standard one,
    // 600 × 7.5e-8 (batch input) + 400 × 7.5e-8 (standard cache read).
    assert_eq!(
        m(tokens(1_000, 400, 0, 0, 0), ServiceTier::Batch),
        dec!(0.000075)
    );
    // Standard, for comparison: 1,000 × 1.5e-7 + 1,000 × 6e-7: batch is half.
    assert_eq!(
        m(tokens(1_000, 0, 0, 0, 1_000), ServiceTier::Standard),
        dec!(0.00075)
    );
    // A model without batch prices is priced at its normal ones:
    // azure/gpt-4-turbo-2024-04-09, 1,000 × 1.1e-5.
    let (_, c) = cost(
        "gpt-4-turbo-2024-04-09",
        Some("azure"),
        tokens(1_000, 0, 0, 0, 0),
        ServiceTier::Batch,
    );
    assert_eq!(c, dec!(0.011));
}

#[test]
fn anthropic_cache_reads_and_writes() {
    // claude-sonnet-4-5: input 3e-6, cache read 3e-7, cache write 3.75e-6,
    // one-hour write 6e-6, output 1.5e-5.
    // 1,000 uncached × 3e-6 + 50,000 reads × 3e-7 + 10,000 writes × 3.75e-6
    // + 500 × 1.5e-5 = 0.003 + 0.015 + 0.0375 + 0.0075.
    assert_eq!(
        std_cost("claude-sonnet-4-5", tokens(61_000, 50_000, 10_000, 0, 500)),
        dec!(0.063)
    );
    // One-hour writes: 10,000 × 6e-6.
    assert_eq!(
        std_cost("claude-sonnet-4-5", tokens(10_000, 0, 0, 10_000, 0)),
        dec!(0.06)
    );
    // Writes cost more than plain input: 10,000 × 3e-6 would be 0.03.
    assert_eq!(
        std_cost("claude-sonnet-4-5", tokens(10_000, 0, 10_000, 0, 0)),
        dec!(0.0375)
    );
    // Batch: 1,000 × 1.5e-6 + 10,000 × 1.875e-6 + 500 × 7.5e-6.
    let (_, c) = cost(
        "claude-sonnet-4-5",
        None,
        tokens(11_000, 0, 10_000, 0, 500),
        ServiceTier::Batch,
    );
    assert_eq!(c, dec!(0.0240));
    // A dated name resolves to its own entry.
    let (name, c) = cost(
        "claude-sonnet-4-5-20250929",
        Some("anthropic"),
        tokens(1_000, 0, 0, 0, 0),
        ServiceTier::Standard,
    );
    assert_eq!(
        (name.as_str(), c),
        ("claude-sonnet-4-5-20250929", dec!(0.003))
    );
    // More cache reads and writes than input tokens is an error naming it.
    let table = table();
    let (_, p) = table.resolve("claude-sonnet-4-5", None).unwrap();
    let e = p.cost(&tokens(100, 60, 50, 0, 0)).unwrap_err();
    assert_eq!(e.field(), Some("cachedInputTokens"));
}

#[test]
fn openai_cached_tokens() {
    // gpt-4o-mini-2024-07-18: 600 × 1.5e-7 + 400 × 7.5e-8.
    assert_eq!(
        std_cost("gpt-4o-mini-2024-07-18", tokens(1_000, 400, 0, 0, 0)),
        dec!(0.00012)
    );
    // gpt-4o: 600 × 2.5e-6 + 400 × 1.25e-6 + 500 × 1e-5.
    assert_eq!(
        std_cost("gpt-4o", tokens(1_000, 400, 0, 0, 500)),
        dec!(0.007)
    );
    // A model without a cache-write price bills writes as input:
    // 1,000 × 2.5e-6.
    assert_eq!(
        std_cost("gpt-4o", tokens(1_000, 0, 1_000, 0, 0)),
        dec!(0.0025)
    );
}

#[test]
fn a_cache_read_never_costs_more_than_the_same_tokens_uncached() {
    let table = table();
    let mut checked = 0;
    for name in [
        "gpt-4o",
        "gpt-4o-mini-2024-07-18",
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "ft:gpt-4o-mini-2024-07-18",
    ] {
        let (_, p) = table.resolve(name, None).unwrap();
        for tier in [
            ServiceTier::Standard,
            ServiceTier::Batch,
            ServiceTier::Priority,
            ServiceTier::Flex,
        ] {
            for prompt in [1_000, 250_000, 300_000] {
                assert!(
                    p.rate(TokenClass::CacheRead, tier, prompt).unwrap()
                        <= p.rate(TokenClass::Input, tier, prompt).unwrap(),
                    "{name} {tier:?} {prompt}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 60);
}

#[test]
fn names_resolve_to_the_providers_own_price() {
    // Azure's gpt-4-turbo is not OpenAI's: 1,000 × 1.1e-5 + 1,000 × 3.3e-5.
    let (name, c) = cost(
        "gpt-4-turbo-2024-04-09",
        Some("azure"),
        tokens(1_000, 0, 0, 0, 1_000),
        ServiceTier::Standard,
    );
    assert_eq!(
        (name.as_str(), c),
        ("azure/gpt-4-turbo-2024-04-09", dec!(0.044))
    );
    // OpenAI's: 1,000 × 1e-5 + 1,000 × 3e-5.
    let (name, c) = cost(
        "gpt-4-turbo-2024-04-09",
        Some("openai"),
        tokens(1_000, 0, 0, 0, 1_000),
        ServiceTier::Standard,
    );
    assert_eq!((name.as_str(), c), ("gpt-4-turbo-2024-04-09", dec!(0.04)));
    // A prefixed name as a gateway writes it.
    let (name, _) = cost(
        "openai/gpt-4o-2024-08-06",
        None,
        tokens(1, 0, 0, 0, 0),
        ServiceTier::Standard,
    );
    assert_eq!(name, "gpt-4o-2024-08-06");
    // A fine-tune: the table's fine-tune price of its base,
    // 1,000 × 3e-7 + 1,000 × 1.2e-6.
    let (name, c) = cost(
        "ft:gpt-4o-mini-2024-07-18:acme::x1y2z3",
        Some("openai"),
        tokens(1_000, 0, 0, 0, 1_000),
        ServiceTier::Standard,
    );
    assert_eq!(
        (name.as_str(), c),
        ("ft:gpt-4o-mini-2024-07-18", dec!(0.0015))
    );
    // Batch fine-tune: 1,000 × 1.5e-7 + 1,000 × 6e-7.
    let (_, c) = cost(
        "ft:gpt-4o-mini-2024-07-18:acme::x1y2z3",
        None,
        tokens(1_000, 0, 0, 0, 1_000),
        ServiceTier::Batch,
    );
    assert_eq!(c, dec!(0.00075));
    // A fine-tune of a base the table has no fine-tune price for: the base
    // model's own price (gpt-4o-2024-05-13: 1,000 × 5e-6).
    let (name, c) = cost(
        "ft:gpt-4o-2024-05-13:acme::abc",
        None,
        tokens(1_000, 0, 0, 0, 0),
        ServiceTier::Standard,
    );
    assert_eq!((name.as_str(), c), ("gpt-4o-2024-05-13", dec!(0.005)));
    // Unknown names are not priced.
    assert!(table().resolve("acme-llm-7b", Some("openai")).is_none());
}

#[test]
fn embedding_models_are_priced_without_an_output_price() {
    // text-embedding-3-small: 1,000,000 × 2e-8.
    assert_eq!(
        std_cost("text-embedding-3-small", tokens(1_000_000, 0, 0, 0, 0)),
        dec!(0.02)
    );
    // mistral/mistral-embed has no output price in the table: 1,000,000 × 1e-7.
    let (name, c) = cost(
        "mistral-embed",
        Some("mistral"),
        tokens(1_000_000, 0, 0, 0, 0),
        ServiceTier::Standard,
    );
    assert_eq!((name.as_str(), c), ("mistral/mistral-embed", dec!(0.1)));
}

#[test]
fn an_anthropic_log_is_read_with_its_own_convention_and_priced() {
    // Anthropic counts cache reads and writes apart from input tokens; the
    // second line was rejected before ("more cached input tokens than
    // input tokens").
    let csv = "timestamp,provider,model,input_tokens,cache_read_input_tokens,cache_creation_input_tokens,output_tokens,service_tier\n\
               2026-10-01T10:00:00Z,anthropic,claude-sonnet-4-5,1000,50000,10000,500,standard\n\
               2026-10-01T10:01:00Z,anthropic,claude-sonnet-4-5,10,20000,0,100,batch\n\
               2026-10-01T10:02:00Z,openai,gpt-4o-mini-2024-07-18,1000,0,0,1000,\n";
    let records = read_usage_csv(csv.as_bytes(), "anthropic.csv").unwrap();
    assert_eq!(records[0].tokens, tokens(61_000, 50_000, 10_000, 0, 500));
    assert_eq!(records[1].tokens, tokens(20_010, 20_000, 0, 0, 100));
    assert_eq!(records[1].service_tier, ServiceTier::Batch);
    let priced = price_usage(records, &table()).unwrap();
    assert!(priced.unpriced.is_empty());
    let costs: Vec<Decimal> = priced.rows.iter().map(|r| r.cost.normalize()).collect();
    // 0.063 as above; batch: 10 × 1.5e-6 + 20,000 × 1.5e-7 + 100 × 7.5e-6
    // = 0.000015 + 0.003 + 0.00075; 1,000 × 1.5e-7 + 1,000 × 6e-7.
    assert_eq!(costs, vec![dec!(0.063), dec!(0.003765), dec!(0.00075)]);
    // A bad tier names its column.
    let bad = "timestamp,model,input_tokens,service_tier\n2026-10-01T10:00:00Z,gpt-4o,1,turbo\n";
    let e = read_usage_csv(bad.as_bytes(), "bad.csv").unwrap_err();
    assert!(e.to_string().contains("service_tier"), "{e}");
}

#[test]
fn cost_is_additive_over_records() {
    let table = table();
    let rec = |t: TokenUsage| UsageRecord {
        timestamp: "2026-10-01T10:00:00Z".parse().unwrap(),
        model: Some("claude-sonnet-4-5".into()),
        requests: 1,
        tokens: t,
        ..Default::default()
    };
    let a = tokens(61_000, 50_000, 10_000, 0, 500);
    let b = tokens(3_000, 1_000, 0, 2_000, 40);
    let both = tokens(64_000, 51_000, 10_000, 2_000, 540);
    let parts = price_usage([rec(a), rec(b)], &table).unwrap();
    let whole = price_usage([rec(both)], &table).unwrap();
    let sum: Decimal = parts.rows.iter().map(|r| r.cost).sum();
    assert_eq!(sum, whole.rows[0].cost);
    // No uncached input: 1,000 × 3e-7 + 2,000 × 6e-6 + 40 × 1.5e-5.
    assert_eq!(parts.rows[1].cost.normalize(), dec!(0.0129));
}

fn record(model: &str, provider: Option<&str>, t: TokenUsage) -> UsageRecord {
    UsageRecord {
        timestamp: "2026-10-01T10:00:00Z".parse().unwrap(),
        provider: provider.map(str::to_owned),
        model: Some(model.into()),
        requests: 1,
        tokens: t,
        ..Default::default()
    }
}

#[test]
fn reasoning_tokens_at_their_own_price_else_the_output_price() {
    // gemini-2.5-flash: input 3e-7, output 2.5e-6, reasoning 2.5e-6.
    // 1,000 × 3e-7 + 1,000 × 2.5e-6 + 2,000 × 2.5e-6 = 0.0003 + 0.0025 + 0.005.
    let t = TokenUsage {
        reasoning_tokens: 2_000,
        ..tokens(1_000, 0, 0, 0, 3_000)
    };
    assert_eq!(std_cost("gemini-2.5-flash", t), dec!(0.0078));
    // gpt-4o has no reasoning price: reasoning is output (1e-5).
    // 1,000 × 2.5e-6 + 1,000 × 1e-5.
    let t = TokenUsage {
        reasoning_tokens: 400,
        ..tokens(1_000, 0, 0, 0, 1_000)
    };
    assert_eq!(std_cost("gpt-4o", t), dec!(0.0125));
    // A host's model with a reasoning price of its own: 50 × 2e-6 + 50 × 4e-6.
    let own = ModelPrice {
        input_per_token: Some(dec!(0.000001)),
        output_per_token: Some(dec!(0.000002)),
        rates: vec![TokenRate {
            class: TokenClass::Reasoning,
            tier: ServiceTier::Standard,
            above_tokens: None,
            per_token: dec!(0.000004),
        }],
        ..ModelPrice::default()
    };
    let t = TokenUsage {
        reasoning_tokens: 50,
        ..tokens(0, 0, 0, 0, 100)
    };
    assert_eq!(own.cost(&t).unwrap().normalize(), dec!(0.0003));
    assert_eq!(
        own.cost_by_class(&t, ServiceTier::Standard).unwrap(),
        vec![
            (TokenClass::Output, dec!(0.000100)),
            (TokenClass::Reasoning, dec!(0.000200))
        ]
    );
}

#[test]
fn audio_tokens_at_the_audio_prices() {
    // gpt-4o-audio-preview-2024-12-17: text in 2.5e-6, out 1e-5; audio in
    // 4e-5, out 8e-5. 1,000 input of which 600 audio, 500 output of which
    // 300 audio: 400 × 2.5e-6 + 600 × 4e-5 + 200 × 1e-5 + 300 × 8e-5
    // = 0.001 + 0.024 + 0.002 + 0.024.
    let t = TokenUsage {
        audio_input_tokens: 600,
        audio_output_tokens: 300,
        ..tokens(1_000, 0, 0, 0, 500)
    };
    assert_eq!(std_cost("gpt-4o-audio-preview-2024-12-17", t), dec!(0.051));
}

#[test]
fn transcription_seconds_images_and_web_searches_per_unit() {
    // whisper-1: 0.0001 per second; 90 s.
    let t = TokenUsage {
        audio_seconds: 90,
        ..TokenUsage::default()
    };
    assert_eq!(std_cost("whisper-1", t), dec!(0.009));
    // gemini-2.5-flash-image: 0.039 per image; 4 images and 100 prompt
    // tokens at 3e-7: 0.156 + 0.00003.
    let (name, c) = cost(
        "gemini-2.5-flash-image",
        Some("gemini"),
        TokenUsage {
            images: 4,
            ..tokens(100, 0, 0, 0, 0)
        },
        ServiceTier::Standard,
    );
    assert_eq!(
        (name.as_str(), c),
        ("gemini/gemini-2.5-flash-image", dec!(0.15603))
    );
    // gpt-4o-mini-search-preview: 0.025 per search (medium context); 10
    // searches and 1,000 prompt tokens at 1.5e-7: 0.25 + 0.00015.
    let t = TokenUsage {
        web_search_calls: 10,
        ..tokens(1_000, 0, 0, 0, 0)
    };
    assert_eq!(std_cost("gpt-4o-mini-search-preview", t), dec!(0.25015));
}

#[test]
fn usage_without_a_price_is_partially_priced_never_free() {
    let table = table();
    // gpt-4o has no audio price: the audio tokens are not priced at the
    // text price nor at 0; the rest is (900 × 2.5e-6 + 10 × 1e-5).
    let audio = TokenUsage {
        audio_input_tokens: 100,
        ..tokens(1_000, 0, 0, 0, 10)
    };
    let (_, p) = table.resolve("gpt-4o", None).unwrap();
    let priced = p.price(&audio, ServiceTier::Standard).unwrap();
    assert_eq!(priced.cost.normalize(), dec!(0.00235));
    assert_eq!(
        priced.unpriced.iter().collect::<Vec<_>>(),
        vec![TokenClass::AudioInput]
    );
    // whisper-1 has no token prices; mistral-embed no output price.
    let whisper = TokenUsage {
        audio_seconds: 10,
        ..tokens(0, 0, 0, 0, 25)
    };
    let embed = tokens(1_000, 0, 0, 0, 7);
    let out = price_usage(
        [
            record("gpt-4o", None, audio),
            record("whisper-1", Some("openai"), whisper),
            record("mistral-embed", Some("mistral"), embed),
            record("gpt-4o", None, tokens(1_000, 0, 0, 0, 10)),
        ],
        &table,
    )
    .unwrap();
    // Every record has a row with what could be priced; three are reported.
    let costs: Vec<Decimal> = out.rows.iter().map(|r| r.cost.normalize()).collect();
    assert_eq!(
        costs,
        vec![dec!(0.00235), dec!(0.001), dec!(0.0001), dec!(0.0026)]
    );
    assert_eq!(out.partial.lines, 3);
    assert_eq!(
        out.partial
            .unpriced_units
            .iter()
            .map(|(c, n)| (*c, *n))
            .collect::<Vec<_>>(),
        vec![(TokenClass::Output, 32), (TokenClass::AudioInput, 100)]
    );
    assert_eq!(out.partial.requests_by_model["gpt-4o"], 1);
    let e = out.require_all_priced().unwrap_err().to_string();
    assert!(e.contains("tokens") && e.contains("audio_input"), "{e}");
}

#[test]
fn token_parts_that_do_not_add_up_name_their_field() {
    let table = table();
    let (_, p) = table.resolve("gpt-4o", None).unwrap();
    let t = TokenUsage {
        reasoning_tokens: 11,
        ..tokens(0, 0, 0, 0, 10)
    };
    let e = p.cost(&t).unwrap_err().to_string();
    assert!(e.contains("reasoningTokens"), "{e}");
    let t = TokenUsage {
        audio_input_tokens: 6,
        ..tokens(10, 5, 0, 0, 0)
    };
    let e = p.cost(&t).unwrap_err().to_string();
    assert!(e.contains("cachedInputTokens"), "{e}");
}

#[test]
fn logs_read_reasoning_audio_and_unit_columns() {
    let csv = "timestamp,model,prompt_tokens,completion_tokens,reasoning_tokens,input_audio_tokens,output_audio_tokens,images,audio_seconds,web_search_calls\n\
               2026-10-01T10:00:00Z,gpt-4o,100,50,20,10,5,1,3,2\n";
    let r = read_usage_csv(csv.as_bytes(), "log.csv").unwrap();
    assert_eq!(
        r[0].tokens,
        TokenUsage {
            reasoning_tokens: 20,
            audio_input_tokens: 10,
            audio_output_tokens: 5,
            images: 1,
            audio_seconds: 3,
            web_search_calls: 2,
            ..tokens(100, 0, 0, 0, 50)
        }
    );
    let bad = "timestamp,model,completion_tokens,reasoning_tokens\n2026-10-01T10:00:00Z,o3,10,11\n";
    let e = read_usage_csv(bad.as_bytes(), "bad.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("reasoning_tokens"), "{e}");
}

#[test]
fn openai_usage_and_cost_pages_carry_audio_and_token_classes() {
    let usage = r#"{"object": "page", "data": [{"object": "bucket", "start_time": 1730419200,
        "end_time": 1730505600, "results": [{"object": "organization.usage.completions.result",
        "input_tokens": 1000, "output_tokens": 500, "input_cached_tokens": 200,
        "input_audio_tokens": 300, "output_audio_tokens": 100, "num_model_requests": 4,
        "project_id": null, "user_id": null, "api_key_id": null,
        "model": "gpt-4o-audio-preview-2024-12-17", "batch": null}]}],
        "has_more": false, "next_page": null}"#;
    let r = read_openai_usage_page(usage).unwrap();
    assert_eq!(r[0].tokens.audio_input_tokens, 300);
    assert_eq!(r[0].tokens.audio_output_tokens, 100);
    // 500 × 2.5e-6 + 200 × 2.5e-6 (no cache price: input) + 300 × 4e-5
    // + 400 × 1e-5 + 100 × 8e-5 = 0.00125 + 0.0005 + 0.012 + 0.004 + 0.008.
    let priced = price_usage(r, &table()).unwrap();
    assert_eq!(priced.rows[0].cost.normalize(), dec!(0.02575));
    let costs = r#"{"object": "page", "data": [{"object": "bucket", "start_time": 1730419200,
        "end_time": 1730505600, "results": [
        {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"},
         "line_item": "gpt-4o-2024-08-06, cached input", "project_id": "proj_abc"},
        {"object": "organization.costs.result", "amount": {"value": 0.5, "currency": "usd"},
         "line_item": "Web search tool calls", "project_id": "proj_abc"}]}],
        "has_more": false, "next_page": null}"#;
    let rows = read_openai_costs_page(costs).unwrap();
    assert_eq!(rows[0].model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(rows[0].tags["token_class"], "cache_read");
    assert_eq!(rows[1].model, None);
    assert_eq!(
        line_item_class("gpt-4o-mini, output"),
        Some(("gpt-4o-mini", TokenClass::Output))
    );
    assert_eq!(line_item_class("File search"), None);
}

#[test]
fn host_aliases_resolve_to_their_table_entry() {
    let mut table = table();
    table
        .add_alias("prod-chat", "claude-sonnet-4-5-20250929")
        .unwrap();
    // Claude Sonnet 4.5: 1,000 × 3e-6 + 1,000 × 1.5e-5.
    let (name, price) = table.resolve("PROD-CHAT", Some("anthropic")).unwrap();
    assert_eq!(name, "claude-sonnet-4-5-20250929");
    assert_eq!(
        price
            .cost(&tokens(1_000, 0, 0, 0, 1_000))
            .unwrap()
            .normalize(),
        dec!(0.018)
    );
    // A name of the table wins over an alias of the same spelling.
    table.add_alias("gpt-4o", "gpt-4o-mini").unwrap();
    assert_eq!(table.resolve("gpt-4o", None).unwrap().0, "gpt-4o");
    let e = table.add_alias("x", "no-such-model").unwrap_err();
    assert_eq!(e.field(), Some("model"));
    let e = table.add_alias(" ", "gpt-4o").unwrap_err();
    assert_eq!(e.field(), Some("alias"));
}
