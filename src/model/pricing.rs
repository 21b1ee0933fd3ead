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
    /// Price of one input (prompt) token not read from the cache; `None`
    /// for a model the table prices by other units only (per second, per
    /// image): its input tokens are then not priced (never priced at 0).
    #[serde(default)]
    pub input_per_token: Option<Decimal>,
    /// Price of one output (completion) token; `None` when the table has
    /// none (embedding models, per-second models).
    #[serde(default)]
    pub output_per_token: Option<Decimal>,
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
    /// Further prices: cache writes, reasoning and audio tokens, per-unit
    /// items (images, audio seconds, web searches), long-prompt tiers,
    /// batch, priority and flex service (see [`TokenRate`]). Empty for a
    /// table with the three prices above only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<TokenRate>,
}

/// A class of usage with a price of its own: tokens of a kind, or a
/// counted item (an image, a second of audio, a web search).
///
/// When the table has no price of a class's own, some classes are billed
/// at another's price (as the providers bill them); the others make the
/// record *partially priced* (reported, never priced at zero):
///
/// | class | without a price of its own |
/// |---|---|
/// | `input` | not priced |
/// | `cache_read`, `cache_write` | the input price (no cache discount or surcharge) |
/// | `cache_write_1h` | the `cache_write` price, else the input price |
/// | `output` | not priced |
/// | `reasoning` | the output price (billed as output tokens) |
/// | `audio_input`, `audio_output`, `image`, `audio_second`, `web_search` | not priced |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenClass {
    /// Text prompt tokens neither read from nor written to the cache.
    Input,
    /// Prompt tokens read from the cache.
    CacheRead,
    /// Prompt tokens written to the cache (5-minute cache, Anthropic).
    CacheWrite,
    /// Prompt tokens written to the one-hour cache (Anthropic).
    CacheWrite1h,
    /// Text output (completion) tokens other than reasoning tokens.
    Output,
    /// Reasoning (thinking) tokens, a part of the output.
    Reasoning,
    /// Audio prompt tokens.
    AudioInput,
    /// Audio output tokens.
    AudioOutput,
    /// Images generated (per image).
    Image,
    /// Seconds of audio transcribed or translated (per second).
    AudioSecond,
    /// Web search calls (per call).
    WebSearch,
}

impl TokenClass {
    /// Every class, in the order costs list them.
    pub const ALL: [TokenClass; 11] = [
        TokenClass::Input,
        TokenClass::CacheRead,
        TokenClass::CacheWrite,
        TokenClass::CacheWrite1h,
        TokenClass::Output,
        TokenClass::Reasoning,
        TokenClass::AudioInput,
        TokenClass::AudioOutput,
        TokenClass::Image,
        TokenClass::AudioSecond,
        TokenClass::WebSearch,
    ];

    /// The JSON name (`cache_read`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenClass::Input => "input",
            TokenClass::CacheRead => "cache_read",
            TokenClass::CacheWrite => "cache_write",
            TokenClass::CacheWrite1h => "cache_write_1h",
            TokenClass::Output => "output",
            TokenClass::Reasoning => "reasoning",
            TokenClass::AudioInput => "audio_input",
            TokenClass::AudioOutput => "audio_output",
            TokenClass::Image => "image",
            TokenClass::AudioSecond => "audio_second",
            TokenClass::WebSearch => "web_search",
        }
    }

    /// In words, for reports (`Cache reads`).
    pub fn label(self) -> &'static str {
        match self {
            TokenClass::Input => "Input tokens",
            TokenClass::CacheRead => "Cache reads",
            TokenClass::CacheWrite => "Cache writes",
            TokenClass::CacheWrite1h => "Cache writes (1 h)",
            TokenClass::Output => "Output tokens",
            TokenClass::Reasoning => "Reasoning tokens",
            TokenClass::AudioInput => "Audio input tokens",
            TokenClass::AudioOutput => "Audio output tokens",
            TokenClass::Image => "Images",
            TokenClass::AudioSecond => "Audio seconds",
            TokenClass::WebSearch => "Web searches",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl std::fmt::Display for TokenClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`TokenClass`]es (the classes of a record the table has no
/// price for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenClasses(u16);

impl TokenClasses {
    /// The empty set.
    pub const EMPTY: TokenClasses = TokenClasses(0);

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `class` is in the set.
    pub fn contains(self, class: TokenClass) -> bool {
        self.0 & class.bit() != 0
    }

    /// Add `class`.
    pub fn insert(&mut self, class: TokenClass) {
        self.0 |= class.bit();
    }

    /// The classes, in [`TokenClass::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = TokenClass> {
        TokenClass::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
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

/// Token counts of one request or of many, and the items priced per unit.
///
/// `input_tokens` counts every input token, the cached ones included;
/// `cached_input_tokens` (at most `input_tokens`) are the ones read from
/// the prompt cache, as OpenAI's usage API and LiteLLM count them. Cache
/// writes and audio prompt tokens are parts of `input_tokens` too;
/// reasoning and audio output tokens are parts of `output_tokens`.
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
    /// Reasoning tokens, a part of `output_tokens` (OpenAI's
    /// `completion_tokens_details.reasoning_tokens`).
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub reasoning_tokens: u64,
    /// Audio prompt tokens, a part of `input_tokens`.
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub audio_input_tokens: u64,
    /// Audio output tokens, a part of `output_tokens`.
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub audio_output_tokens: u64,
    /// Images generated.
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub images: u64,
    /// Seconds of audio transcribed or translated (whole seconds, rounded
    /// up as the providers bill).
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub audio_seconds: u64,
    /// Web search calls (priced at the table's medium search context).
    #[serde(
        default,
        deserialize_with = "crate::model::any_u64::deserialize",
        skip_serializing_if = "is_zero"
    )]
    pub web_search_calls: u64,
}

impl TokenUsage {
    /// `self + other`, saturating.
    pub fn saturating_add(self, other: &TokenUsage) -> TokenUsage {
        TokenUsage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_add(other.cached_input_tokens),
            cache_write_tokens: self
                .cache_write_tokens
                .saturating_add(other.cache_write_tokens),
            cache_write_1h_tokens: self
                .cache_write_1h_tokens
                .saturating_add(other.cache_write_1h_tokens),
            reasoning_tokens: self.reasoning_tokens.saturating_add(other.reasoning_tokens),
            audio_input_tokens: self
                .audio_input_tokens
                .saturating_add(other.audio_input_tokens),
            audio_output_tokens: self
                .audio_output_tokens
                .saturating_add(other.audio_output_tokens),
            images: self.images.saturating_add(other.images),
            audio_seconds: self.audio_seconds.saturating_add(other.audio_seconds),
            web_search_calls: self.web_search_calls.saturating_add(other.web_search_calls),
        }
    }
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
    /// Prompt tokens of one request, for the long-context tier; `None`:
    /// see [`prompt_size`](Self::prompt_size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// The cost when the log already has one (then it is kept, not priced).
    #[serde(default)]
    pub cost: Option<Decimal>,
    /// Currency of `cost` (default: the source's).
    #[serde(default)]
    pub currency: Option<Currency>,
}

impl UsageRecord {
    /// The prompt of one of its requests, which picks the long-context
    /// price tier: `prompt_tokens` when set (a usage report that says which
    /// context window its tokens were billed in), else `input_tokens`
    /// divided by `requests` (a bucket of many requests: their average,
    /// never the bucket's sum), else `input_tokens`.
    pub fn prompt_size(&self) -> u64 {
        self.prompt_tokens.unwrap_or(match self.requests {
            0 | 1 => self.tokens.input_tokens,
            n => self.tokens.input_tokens / n,
        })
    }
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

/// Records priced for some of their usage only: a token class or item
/// (audio tokens, images, output of a model without an output price...)
/// the table has no price for. Their rows carry the cost of what was
/// priced; what was not is counted here, never priced at zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartiallyPriced {
    /// Number of log lines priced in part.
    pub lines: u64,
    /// Their requests, per model name as written in the log.
    pub requests_by_model: BTreeMap<String, u64>,
    /// Units left unpriced (tokens, images, seconds, calls), per class.
    pub unpriced_units: BTreeMap<TokenClass, u64>,
}

impl PartiallyPriced {
    /// Whether no record was priced in part.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }
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
