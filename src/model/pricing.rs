//! Per-token prices and LLM usage records: what a request log carries
//! before it is priced into [`CostRow`](super::CostRow)s (see
//! `core::pricing`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Currency;

/// Prices of one model, per token, in USD (the price table's currency).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPrice {
    /// Price of one input (prompt) token not read from the cache.
    pub input_per_token: Decimal,
    /// Price of one output (completion) token.
    pub output_per_token: Decimal,
    /// Price of one input token read from the prompt cache; `None` when the
    /// table has none (cached tokens are then priced as input tokens).
    #[serde(default)]
    pub cache_read_per_token: Option<Decimal>,
    /// Provider as the table names it (`openai`, `azure`, `anthropic`...).
    #[serde(default)]
    pub provider: Option<String>,
    /// Mode as the table names it (`chat`, `embedding`, `completion`...).
    #[serde(default)]
    pub mode: Option<String>,
    /// Further prices: cache writes, long-prompt tiers, batch, priority and
    /// flex service (see [`TokenRate`]). Empty for a table with the three
    /// prices above only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<TokenRate>,
}

/// A class of tokens with a price of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenClass {
    /// Prompt tokens neither read from nor written to the cache.
    Input,
    /// Prompt tokens read from the cache.
    CacheRead,
    /// Prompt tokens written to the cache (5-minute cache, Anthropic).
    CacheWrite,
    /// Prompt tokens written to the one-hour cache (Anthropic).
    CacheWrite1h,
    /// Output (completion) tokens, reasoning tokens included.
    Output,
}

/// How a request was served, when that changes its price.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    /// The normal price.
    #[default]
    Standard,
    /// A batch API request (OpenAI, Anthropic, Vertex batches).
    Batch,
    /// Priority processing.
    Priority,
    /// Flex processing.
    Flex,
}

/// One price of a token class: for a service tier, and, for a long-context
/// tier, when the prompt has more than `aboveTokens` tokens (then the whole
/// request is priced at it, as the providers bill).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRate {
    /// Which tokens.
    pub class: TokenClass,
    /// Service tier.
    #[serde(default)]
    pub tier: ServiceTier,
    /// The prompt size this price applies above (`None`: any size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_tokens: Option<u64>,
    /// Price of one token.
    pub per_token: Decimal,
}

/// Token counts of one request or of many.
///
/// `input_tokens` counts every input token, the cached ones included;
/// `cached_input_tokens` (at most `input_tokens`) are the ones read from
/// the prompt cache, as OpenAI's usage API and LiteLLM count them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Input tokens, cached ones included.
    #[serde(deserialize_with = "crate::model::any_u64::deserialize")]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(deserialize_with = "crate::model::any_u64::deserialize")]
    pub output_tokens: u64,
    /// Input tokens read from the cache (a part of `input_tokens`).
    #[serde(deserialize_with = "crate::model::any_u64::deserialize")]
    pub cached_input_tokens: u64,
    /// Input tokens written to the (5-minute) prompt cache, a part of
    /// `input_tokens` (Anthropic's `cache_creation_input_tokens`).
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub cache_write_tokens: u64,
    /// Input tokens written to the one-hour prompt cache, a part of
    /// `input_tokens`.
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub cache_write_1h_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One line of an LLM request log (a gateway, LiteLLM, the OpenAI usage
/// API): one request, or `requests` requests of one usage bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    /// When the request was made (the start of the bucket for bucketed usage).
    pub timestamp: DateTime<Utc>,
    /// Provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// Model as the log names it (`openai/gpt-4o-2024-08-06`...).
    #[serde(default)]
    pub model: Option<String>,
    /// Team.
    #[serde(default)]
    pub team: Option<String>,
    /// Project.
    #[serde(default)]
    pub project: Option<String>,
    /// Cost center.
    #[serde(default)]
    pub cost_center: Option<String>,
    /// Feature.
    #[serde(default)]
    pub feature: Option<String>,
    /// User.
    #[serde(default)]
    pub user: Option<String>,
    /// Number of requests (1 for a request log line).
    #[serde(deserialize_with = "crate::model::any_u64::deserialize")]
    pub requests: u64,
    /// Tokens.
    #[serde(flatten)]
    pub tokens: TokenUsage,
    /// How the request was served (batch, priority, flex): priced at that
    /// tier's prices when the table has them.
    #[serde(default)]
    pub service_tier: ServiceTier,
    /// The cost when the log already has one (then it is kept, not priced).
    #[serde(default)]
    pub cost: Option<Decimal>,
    /// Currency of `cost` (default: the source's).
    #[serde(default)]
    pub currency: Option<Currency>,
}

/// Requests that could not be priced because their model is not in the
/// price table (they are left out of the rows, never priced at zero).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnpricedUsage {
    /// Number of log lines left out.
    pub lines: u64,
    /// Requests left out, per model name as written in the log (`""` for a
    /// line without a model).
    pub requests_by_model: BTreeMap<String, u64>,
    /// Tokens left out.
    pub tokens: TokenUsage,
}

impl UnpricedUsage {
    /// Whether every line was priced.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// The unknown model names, sorted.
    pub fn models(&self) -> Vec<&str> {
        self.requests_by_model.keys().map(String::as_str).collect()
    }
}
