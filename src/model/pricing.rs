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
