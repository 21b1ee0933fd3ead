//! Responses of the Anthropic Admin API's usage report
//! (`GET /v1/organizations/usage_report/messages`) and cost report
//! (`GET /v1/organizations/cost_report`): pages of time buckets
//! (`starting_at`, `ending_at`), each with results grouped as the query
//! asked (`group_by[]`).
//!
//! Usage ([`read_anthropic_usage_page`]): one [`UsageRecord`] per result at
//! its bucket's `starting_at`, provider `anthropic`, `model`, `workspace_id`
//! as project, `api_key_id` as user, and the tokens in the crate's
//! convention (every prompt token in `input_tokens`):
//!
//! | report field | record |
//! |---|---|
//! | `uncached_input_tokens` | input, neither read from nor written to the cache |
//! | `cache_read_input_tokens` | `cached_input_tokens` (and in `input_tokens`) |
//! | `cache_creation.ephemeral_5m_input_tokens` | `cache_write_tokens` (and in `input_tokens`) |
//! | `cache_creation.ephemeral_1h_input_tokens` | `cache_write_1h_tokens` (and in `input_tokens`) |
//! | `output_tokens` | `output_tokens` |
//! | `server_tool_use.web_search_requests` | `web_search_calls` |
//! | `service_tier` | `standard`, `batch`, `priority` (`priority_on_demand`), `flex` (`flex_discount`) |
//! | `context_window` | `200k-1M`: priced at the long-context tier above 200k prompt tokens; `0-200k` or absent: below it (group by `context_window` to price long prompts right) |
//!
//! The report counts no requests: records have `requests` 0.
//!
//! Costs ([`read_anthropic_cost_page`]): one [`CostRow`] per result, dated
//! by its bucket, `amount` (a decimal string in the currency's lowest
//! unit: `"123.45"` USD is $1.23) divided by 100 exactly, `model`,
//! `workspace_id` as project, and the tags `description`, `cost_type`,
//! `token_type`, `service_tier`, `context_window` and `token_class`
//! (the [`TokenClass`] of `token_type`, or `web_search` for a web search
//! cost) where present.
//!
//! [`next_page`] reads the cursor of either API's page (and of OpenAI's).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::backends::file::focus::parse_timestamp;
use crate::model::{
    parse_decimal, CostRow, Currency, ServiceTier, TokenClass, TokenUsage, UsageRecord,
};
use crate::{Error, Result};

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<Bucket<T>>,
}

#[derive(Deserialize)]
struct Bucket<T> {
    starting_at: String,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

#[derive(Deserialize, Default)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Option<u64>,
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct ServerToolUse {
    #[serde(default)]
    web_search_requests: Option<u64>,
}

#[derive(Deserialize)]
struct UsageResult {
    #[serde(default)]
    uncached_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    server_tool_use: Option<ServerToolUse>,
    #[serde(default)]
    api_key_id: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    service_tier: Option<String>,
    #[serde(default)]
    context_window: Option<String>,
}

/// The prompt size standing for a context window: above 200k tokens for
/// `200k-1M`, none for `0-200k` or no window.
const LONG_CONTEXT_PROMPT: u64 = 200_001;

fn bucket_start(text: &str, field: impl Fn() -> String) -> Result<DateTime<Utc>> {
    parse_timestamp(text.trim())
        .ok_or_else(|| Error::invalid(field(), format!("{text:?} is not an RFC 3339 time")))
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn service_tier(v: Option<&str>, field: impl Fn() -> String) -> Result<ServiceTier> {
    Ok(match v.map(str::trim) {
        None | Some("" | "standard") => ServiceTier::Standard,
        Some("batch") => ServiceTier::Batch,
        Some("priority" | "priority_on_demand") => ServiceTier::Priority,
        Some("flex" | "flex_discount") => ServiceTier::Flex,
        Some(other) => {
            return Err(Error::invalid(
                field(),
                format!("{other:?} is not a service tier (standard, batch, priority, flex)"),
            ))
        }
    })
}

/// Read one page of the messages usage report (the JSON text). Follow
/// [`next_page`] for the rest.
///
/// # Errors
/// [`Error::Invalid`] with the JSON path of a value of the wrong type
/// (`data[0].results[1].output_tokens`), a bad `starting_at`,
/// `service_tier` or `context_window`, or token counts that overflow;
/// [`Error::Parse`] for malformed JSON.
pub fn read_anthropic_usage_page(json: &str) -> Result<Vec<UsageRecord>> {
    let page: Page<UsageResult> = crate::model::from_json(json)?;
    let mut out = Vec::new();
    for (bi, b) in page.data.into_iter().enumerate() {
        let timestamp = bucket_start(&b.starting_at, || format!("data[{bi}].starting_at"))?;
        for (ri, r) in b.results.into_iter().enumerate() {
            let path = |f: &str| format!("data[{bi}].results[{ri}].{f}");
            let cache = r.cache_creation.unwrap_or_default();
            let read = r.cache_read_input_tokens.unwrap_or(0);
            let write = cache.ephemeral_5m_input_tokens.unwrap_or(0);
            let write_1h = cache.ephemeral_1h_input_tokens.unwrap_or(0);
            let input = r
                .uncached_input_tokens
                .unwrap_or(0)
                .checked_add(read)
                .and_then(|n| n.checked_add(write))
                .and_then(|n| n.checked_add(write_1h))
                .ok_or_else(|| Error::invalid(path("uncached_input_tokens"), "too many tokens"))?;
            let prompt_tokens = match r.context_window.as_deref().map(str::trim) {
                None | Some("" | "0-200k") => Some(0),
                Some("200k-1M") => Some(LONG_CONTEXT_PROMPT),
                Some(other) => {
                    return Err(Error::invalid(
                        path("context_window"),
                        format!("{other:?} is not a context window (0-200k, 200k-1M)"),
                    ))
                }
            };
            out.push(UsageRecord {
                timestamp,
                provider: Some("anthropic".into()),
                model: nonempty(r.model),
                project: nonempty(r.workspace_id),
                user: nonempty(r.api_key_id),
                requests: 0,
                tokens: TokenUsage {
                    input_tokens: input,
                    output_tokens: r.output_tokens.unwrap_or(0),
                    cached_input_tokens: read,
                    cache_write_tokens: write,
                    cache_write_1h_tokens: write_1h,
                    web_search_calls: r
                        .server_tool_use
                        .and_then(|s| s.web_search_requests)
                        .unwrap_or(0),
                    ..TokenUsage::default()
                },
                service_tier: service_tier(r.service_tier.as_deref(), || path("service_tier"))?,
                prompt_tokens,
                ..UsageRecord::default()
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CostResult<'a> {
    #[serde(borrow)]
    amount: &'a RawValue,
    currency: String,
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    cost_type: Option<String>,
    #[serde(default)]
    context_window: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    service_tier: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct CostPage<'a> {
    #[serde(borrow)]
    data: Vec<CostBucket<'a>>,
}

#[derive(Deserialize)]
struct CostBucket<'a> {
    starting_at: String,
    #[serde(borrow, default)]
    results: Vec<CostResult<'a>>,
}

/// The token class of a cost report's `token_type` (and `cost_type`).
pub fn anthropic_token_class(
    token_type: Option<&str>,
    cost_type: Option<&str>,
) -> Option<TokenClass> {
    match (token_type.map(str::trim), cost_type.map(str::trim)) {
        (Some("uncached_input_tokens"), _) => Some(TokenClass::Input),
        (Some("output_tokens"), _) => Some(TokenClass::Output),
        (Some("cache_read_input_tokens"), _) => Some(TokenClass::CacheRead),
        (Some("cache_creation.ephemeral_5m_input_tokens"), _) => Some(TokenClass::CacheWrite),
        (Some("cache_creation.ephemeral_1h_input_tokens"), _) => Some(TokenClass::CacheWrite1h),
        (_, Some("web_search")) => Some(TokenClass::WebSearch),
        _ => None,
    }
}

/// Read one page of the cost report (the JSON text) into cost rows.
///
/// # Errors
/// [`Error::Invalid`] with the JSON path of a bad value
/// (`data[0].results[0].amount`), a bad `starting_at` or currency;
/// [`Error::Parse`] for malformed JSON.
pub fn read_anthropic_cost_page(json: &str) -> Result<Vec<CostRow>> {
    let page: CostPage<'_> = crate::model::from_json(json)?;
    let mut out = Vec::new();
    for (bi, b) in page.data.into_iter().enumerate() {
        let timestamp = bucket_start(&b.starting_at, || format!("data[{bi}].starting_at"))?;
        for (ri, r) in b.results.into_iter().enumerate() {
            let path = |f: &str| format!("data[{bi}].results[{ri}].{f}");
            let raw = r.amount.get().trim();
            let text = raw
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(raw)
                .trim();
            let minor = parse_decimal(text).ok_or_else(|| {
                Error::invalid(path("amount"), format!("{raw} is not a decimal number"))
            })?;
            let cost = minor
                .checked_div(Decimal::ONE_HUNDRED)
                .ok_or_else(|| Error::invalid(path("amount"), "the amount overflows a decimal"))?;
            let currency =
                Currency::parse(&r.currency).map_err(|e| Error::invalid(path("currency"), e))?;
            let class = anthropic_token_class(r.token_type.as_deref(), r.cost_type.as_deref());
            let mut tags = BTreeMap::new();
            for (k, v) in [
                ("description", r.description),
                ("cost_type", r.cost_type),
                ("token_type", r.token_type),
                ("service_tier", r.service_tier),
                ("context_window", r.context_window),
            ] {
                if let Some(v) = nonempty(v) {
                    tags.insert(k.to_owned(), v);
                }
            }
            if let Some(c) = class {
                tags.insert("token_class".to_owned(), c.as_str().to_owned());
            }
            out.push(CostRow {
                date: timestamp.date_naive(),
                timestamp: Some(timestamp),
                provider: Some("anthropic".into()),
                model: nonempty(r.model),
                project: nonempty(r.workspace_id),
                tags,
                cost,
                currency: Some(currency),
                ..CostRow::default()
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Cursor {
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

/// The cursor of the next page of a paged usage or cost response
/// (`has_more`, `next_page`: Anthropic's and OpenAI's alike); `None` on the
/// last page.
///
/// # Errors
/// [`Error::Invalid`] on `next_page` when `has_more` is true without a
/// cursor; [`Error::Parse`] for malformed JSON.
pub fn next_page(json: &str) -> Result<Option<String>> {
    let c: Cursor = crate::model::from_json(json)?;
    match (c.has_more, nonempty(c.next_page)) {
        (false, _) => Ok(None),
        (true, Some(p)) => Ok(Some(p)),
        (true, None) => Err(Error::invalid(
            "next_page",
            "has_more is true but there is no next_page cursor",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// The shape of the example in Anthropic's API reference for the
    /// messages usage report, with distinct counts.
    const USAGE: &str = r#"{
      "data": [
        {
          "starting_at": "2025-08-01T00:00:00Z",
          "ending_at": "2025-08-02T00:00:00Z",
          "results": [
            {
              "uncached_input_tokens": 1500,
              "cache_creation": {
                "ephemeral_1h_input_tokens": 1000,
                "ephemeral_5m_input_tokens": 500
              },
              "cache_read_input_tokens": 200,
              "output_tokens": 500,
              "server_tool_use": {
                "web_search_requests": 10
              },
              "api_key_id": "apikey_01Rj2N8SVvo6BePZj99NhmiT",
              "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
              "model": "claude-sonnet-4-20250514",
              "service_tier": "standard",
              "context_window": "0-200k"
            }
          ]
        }
      ],
      "has_more": true,
      "next_page": "page_MjAyNS0wNS0xNFQwMDowMDowMFo="
    }"#;

    #[test]
    fn reads_usage_in_the_crates_convention() {
        let r = read_anthropic_usage_page(USAGE).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].timestamp.to_rfc3339(), "2025-08-01T00:00:00+00:00");
        assert_eq!(r[0].model.as_deref(), Some("claude-sonnet-4-20250514"));
        assert_eq!(
            r[0].project.as_deref(),
            Some("wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ")
        );
        assert_eq!(
            r[0].tokens,
            TokenUsage {
                input_tokens: 3200,
                output_tokens: 500,
                cached_input_tokens: 200,
                cache_write_tokens: 500,
                cache_write_1h_tokens: 1000,
                web_search_calls: 10,
                ..TokenUsage::default()
            }
        );
        assert_eq!(r[0].prompt_size(), 0);
        assert_eq!(
            next_page(USAGE).unwrap().as_deref(),
            Some("page_MjAyNS0wNS0xNFQwMDowMDowMFo=")
        );
        let long = USAGE
            .replace("0-200k", "200k-1M")
            .replace("standard", "batch");
        let r = read_anthropic_usage_page(&long).unwrap();
        assert_eq!(r[0].prompt_size(), 200_001);
        assert_eq!(r[0].service_tier, ServiceTier::Batch);
    }

    #[test]
    fn bad_usage_values_name_their_path() {
        let e = read_anthropic_usage_page(&USAGE.replace("\"standard\"", "\"turbo\"")).unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].service_tier"));
        let e = read_anthropic_usage_page(&USAGE.replace("\"0-200k\"", "\"2M\"")).unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].context_window"));
        let e = read_anthropic_usage_page(&USAGE.replace("2025-08-01T00:00:00Z", "yesterday"))
            .unwrap_err();
        assert_eq!(e.field(), Some("data[0].starting_at"));
        let e = read_anthropic_usage_page(&USAGE.replace("1500", "-1")).unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].uncached_input_tokens"));
        let e = next_page(r#"{"data": [], "has_more": true, "next_page": null}"#).unwrap_err();
        assert_eq!(e.field(), Some("next_page"));
    }

    #[test]
    fn reads_costs_in_cents_exactly() {
        let json = r#"{"data": [{"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z",
          "results": [
            {"currency": "USD", "amount": "123.78912", "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
             "description": "Claude Sonnet 4 Usage - Input Tokens", "cost_type": "tokens",
             "context_window": "0-200k", "model": "claude-sonnet-4-20250514", "service_tier": "standard",
             "token_type": "uncached_input_tokens"},
            {"currency": "USD", "amount": "1000", "workspace_id": null, "description": "Web Search",
             "cost_type": "web_search", "context_window": null, "model": null, "service_tier": null,
             "token_type": null}]}],
          "has_more": false, "next_page": null}"#;
        let rows = read_anthropic_cost_page(json).unwrap();
        assert_eq!(rows[0].cost, dec!(1.2378912));
        assert_eq!(rows[0].model.as_deref(), Some("claude-sonnet-4-20250514"));
        assert_eq!(rows[0].tags["token_class"], "input");
        assert_eq!(rows[0].tags["token_type"], "uncached_input_tokens");
        assert_eq!(rows[1].cost, dec!(10));
        assert_eq!(rows[1].tags["token_class"], "web_search");
        assert_eq!(rows[1].project, None);
        assert_eq!(next_page(json).unwrap(), None);
        let e = read_anthropic_cost_page(&json.replace("\"123.78912\"", "\"12,3\"")).unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].amount"));
        let e = read_anthropic_cost_page(&json.replace("\"USD\"", "\"US\"")).unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].currency"));
    }
}
