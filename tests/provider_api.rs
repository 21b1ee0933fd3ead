//! The providers' usage and cost APIs against a local server (wiremock)
//! answering in the documented shapes: every page is followed, a 429 is
//! waited out, credentials go in the providers' headers and never into
//! errors, and Anthropic's usage priced by the price book reconciles with
//! its cost report token class by token class.
#![cfg(feature = "provider-api")]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal_macros::dec;
use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy, RetryPolicy};
use tokentra_reports::backends::provider_api::{Provider, ProviderApi};
use tokentra_reports::core::pricebook::{reconcile_by_class, PriceBook};
use tokentra_reports::model::{OrganizationId, TokenClass};
use tokentra_reports::Error;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-ant-admin01-secret-key";

fn fast_http() -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(2),
        },
        outbound: OutboundPolicy::new()
            .allow_http()
            .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        max_response_bytes: 1 << 20,
        ..HttpOptions::default()
    }
}

fn api(provider: Provider, server: &MockServer) -> ProviderApi {
    ProviderApi::with_options(provider, KEY, fast_http())
        .unwrap()
        .with_base_url(&server.uri())
        .unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

const ANTHROPIC_USAGE_1: &str = r#"{
  "data": [{"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z",
    "results": [{"uncached_input_tokens": 1000000,
      "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 100000},
      "cache_read_input_tokens": 2000000, "output_tokens": 200000,
      "server_tool_use": {"web_search_requests": 0},
      "api_key_id": null, "workspace_id": "wrkspc_search",
      "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k"}]}],
  "has_more": true, "next_page": "page_Mg=="
}"#;

const ANTHROPIC_USAGE_2: &str = r#"{
  "data": [{"starting_at": "2026-10-02T00:00:00Z", "ending_at": "2026-10-03T00:00:00Z",
    "results": [{"uncached_input_tokens": 500000,
      "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
      "cache_read_input_tokens": 0, "output_tokens": 100000,
      "server_tool_use": {"web_search_requests": 0},
      "api_key_id": null, "workspace_id": "wrkspc_search",
      "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k"}]}],
  "has_more": false, "next_page": null
}"#;

fn cost(day: &str, token_type: &str, cents: &str) -> String {
    format!(
        r#"{{"currency": "USD", "amount": "{cents}", "workspace_id": "wrkspc_search",
            "description": "Claude Sonnet 4.5 Usage", "cost_type": "tokens",
            "context_window": "0-200k", "model": "claude-sonnet-4-5-20250929",
            "service_tier": "standard", "token_type": "{token_type}", "day": "{day}"}}"#
    )
}

#[tokio::test]
async fn anthropic_usage_priced_reconciles_with_its_cost_report_by_token_class() {
    let server = MockServer::start().await;
    // Usage: two pages; the credentials in Anthropic's headers; grouped so
    // that long-context and batch usage are priced right.
    Mock::given(method("GET"))
        .and(path("/v1/organizations/usage_report/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(query_param("group_by[]", "context_window"))
        .and(query_param("page", "page_Mg=="))
        .respond_with(json(ANTHROPIC_USAGE_2))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/organizations/usage_report/messages"))
        .and(header("x-api-key", KEY))
        .and(query_param("starting_at", "2026-10-01T00:00:00Z"))
        .and(query_param("bucket_width", "1d"))
        .respond_with(json(ANTHROPIC_USAGE_1))
        .expect(1)
        .with_priority(10)
        .mount(&server)
        .await;
    // Costs: rate limited once (429, Retry-After 1 s), then one page. The
    // output was billed 10 % above the list price.
    let d1 = "2026-10-01T00:00:00Z";
    let d2 = "2026-10-02T00:00:00Z";
    let costs = format!(
        r#"{{"data": [
          {{"starting_at": "{d1}", "ending_at": "2026-10-02T00:00:00Z", "results": [{}, {}, {}, {}]}},
          {{"starting_at": "{d2}", "ending_at": "2026-10-03T00:00:00Z", "results": [{}, {}]}}],
          "has_more": false, "next_page": null}}"#,
        cost(d1, "uncached_input_tokens", "300.00"),
        cost(d1, "cache_read_input_tokens", "60"),
        cost(d1, "cache_creation.ephemeral_5m_input_tokens", "37.5"),
        cost(d1, "output_tokens", "330.00"),
        cost(d2, "uncached_input_tokens", "150"),
        cost(d2, "output_tokens", "150"),
    );
    Mock::given(method("GET"))
        .and(path("/v1/organizations/cost_report"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/organizations/cost_report"))
        .and(header("x-api-key", KEY))
        .and(query_param("group_by[]", "description"))
        .respond_with(json(&costs))
        .expect(1)
        .mount(&server)
        .await;

    let api = api(Provider::Anthropic, &server);
    let (from, to) = (t("2026-10-01T00:00:00Z"), t("2026-10-03T00:00:00Z"));
    let usage = api.usage(from, to).await.unwrap();
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[0].tokens.input_tokens, 3_100_000);
    let started = std::time::Instant::now();
    let billed = api.costs(from, to).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the 429's Retry-After was waited"
    );
    assert_eq!(billed.len(), 6);

    let mut book = PriceBook::new();
    book.add_litellm(
        "litellm-1.110.2",
        t("2026-01-01T00:00:00Z"),
        include_str!("../data/prices/litellm-1.110.2_model_prices_subset.json"),
    )
    .unwrap();
    let org = OrganizationId::new();
    let priced = book.price_by_class(org, usage).unwrap();
    // Day 1: 1,000,000 × 3e-6; 2,000,000 × 3e-7; 100,000 × 3.75e-6;
    // 200,000 × 1.5e-5. Day 2: 500,000 × 3e-6; 100,000 × 1.5e-5.
    let costs: Vec<_> = priced
        .iter()
        .map(|r| (r.tags["token_class"].as_str(), r.cost.normalize()))
        .collect();
    assert_eq!(
        costs,
        vec![
            ("input", dec!(3)),
            ("cache_read", dec!(0.6)),
            ("cache_write", dec!(0.375)),
            ("output", dec!(3)),
            ("input", dec!(1.5)),
            ("output", dec!(1.5)),
        ]
    );
    assert!(priced
        .iter()
        .all(|r| r.tags["price_version"] == "litellm-1.110.2"));
    let v = reconcile_by_class(&priced, &billed, dec!(2)).unwrap();
    assert_eq!(v.len(), 6);
    let flagged: Vec<_> = v.iter().filter(|l| l.flagged).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].class, Some(TokenClass::Output));
    assert_eq!(flagged[0].date.to_string(), "2026-10-01");
    assert_eq!(flagged[0].difference.normalize(), dec!(0.3));
    assert_eq!(flagged[0].percent, Some(dec!(9.09)));
    assert!(v
        .iter()
        .filter(|l| !l.flagged)
        .all(|l| l.difference.is_zero()));
    // The variance table as finance opens it.
    let csv = String::from_utf8(tokentra_reports::render::csv::variance_csv(&v).unwrap()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Date,Model,Token Class,Priced,Billed,Difference,Percent,Flagged,Currency"
    );
    assert!(
        lines.contains(
            &"2026-10-01,claude-sonnet-4-5-20250929,output,3.000000,3.30,0.300000,9.09,yes,USD"
        ),
        "{csv}"
    );
}

#[tokio::test]
async fn openai_pages_are_followed_with_the_bearer_key() {
    let server = MockServer::start().await;
    let page = |start: i64, input: u64, more: bool| {
        format!(
            r#"{{"object": "page", "data": [{{"object": "bucket", "start_time": {start},
              "end_time": {}, "results": [{{"object": "organization.usage.completions.result",
              "input_tokens": {input}, "output_tokens": 100, "input_cached_tokens": 0,
              "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": 10,
              "project_id": "proj_1", "user_id": null, "api_key_id": null,
              "model": "gpt-4o-mini-2024-07-18", "batch": {more}}}]}}],
              "has_more": {more}, "next_page": {}}}"#,
            start + 86_400,
            if more { "\"page_AAAA\"" } else { "null" }
        )
    };
    Mock::given(method("GET"))
        .and(path("/v1/organization/usage/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(query_param("page", "page_AAAA"))
        .respond_with(json(&page(1_790_899_200, 2_000, false)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/usage/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(query_param("start_time", "1790812800"))
        .and(query_param("group_by", "model"))
        .respond_with(json(&page(1_790_812_800, 1_000, true)))
        .expect(1)
        .with_priority(10)
        .mount(&server)
        .await;
    let api = api(Provider::OpenAi, &server);
    let usage = api
        .usage(t("2026-10-01T00:00:00Z"), t("2026-10-03T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(usage.len(), 2);
    assert_eq!(
        usage
            .iter()
            .map(|r| r.tokens.input_tokens)
            .collect::<Vec<_>>(),
        vec![1_000, 2_000]
    );
    // The first bucket was a batch.
    assert_eq!(
        usage[0].service_tier,
        tokentra_reports::model::ServiceTier::Batch
    );
    // A bucket of 10 requests is priced at the tier of one request's prompt.
    assert_eq!(usage[1].prompt_size(), 200);
}

#[tokio::test]
async fn failures_say_what_failed_without_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"error": {"message": "Invalid admin key", "type": "invalid_request_error"}}"#,
        ))
        .mount(&server)
        .await;
    let api = api(Provider::OpenAi, &server);
    let e = api
        .costs(t("2026-10-01T00:00:00Z"), t("2026-10-02T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(!e.is_retryable());
    let text = format!("{e} {e:?} {api:?}");
    assert!(text.contains("401") && text.contains("page 1"), "{text}");
    assert!(!text.contains(KEY), "{text}");

    // A cursor that comes back again is an error, not an endless loop.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organizations/cost_report"))
        .respond_with(json(
            r#"{"data": [], "has_more": true, "next_page": "page_same"}"#,
        ))
        .mount(&server)
        .await;
    let e = api_err(Provider::Anthropic, &server).await;
    assert_eq!(e.field(), Some("page 2.next_page"), "{e}");

    // 5xx until the retries are spent: retryable.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let e = api_err(Provider::Anthropic, &server).await;
    assert!(e.is_retryable(), "{e}");

    // A page that does not read names its page and path.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(
            r#"{"data": [{"starting_at": "2026-10-01T00:00:00Z", "results": [{"amount": "x", "currency": "USD"}]}], "has_more": false}"#,
        ))
        .mount(&server)
        .await;
    let e = api_err(Provider::Anthropic, &server).await;
    assert_eq!(e.field(), Some("page 1.data[0].results[0].amount"), "{e}");

    // Bad arguments name their field.
    assert!(matches!(
        ProviderApi::new(Provider::OpenAi, " "),
        Err(Error::Invalid { ref field, .. }) if field == "adminKey"
    ));
    let e = ProviderApi::new(Provider::OpenAi, "k")
        .unwrap()
        .with_base_url("ftp://example.com")
        .unwrap_err();
    assert_eq!(e.field(), Some("baseUrl"));
}

async fn api_err(provider: Provider, server: &MockServer) -> Error {
    api(provider, server)
        .costs(t("2026-10-01T00:00:00Z"), t("2026-10-02T00:00:00Z"))
        .await
        .unwrap_err()
}
