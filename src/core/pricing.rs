//! Pricing LLM usage from a per-token price table, and the savings a
//! cheaper substitute model would bring.
//!
//! - [`PriceTable::from_litellm_json`] reads LiteLLM's
//!   `model_prices_and_context_window.json`. Prices are read as exact
//!   decimals from the JSON text (never through `f64`: `2.5e-06` is exactly
//!   `0.0000025`).
//! - [`PriceTable::resolve`] finds a model's prices from the name a log
//!   uses, handling provider prefixes and dated versions.
//! - [`price_usage`] turns [`UsageRecord`]s into [`CostRow`]s. A record
//!   whose model the table does not know is never priced at zero: it is left
//!   out and reported in [`UnpricedUsage`].
//! - [`savings_recommendations`] says what the top models' tokens would cost
//!   on the cheapest substitute the host accepts.
//!
//! Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use crate::model::{
    model_family, CostBucket, CostRow, Currency, ModelPrice, PartiallyPriced, Recommendation,
    ServiceTier, TokenClass, TokenClasses, TokenRate, TokenUsage, UnpricedUsage, UsageRecord,
};
use crate::{Error, Result};

/// Per-token prices by model name (in USD, as LiteLLM's table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceTable {
    models: HashMap<String, ModelPrice>,
    lower: HashMap<String, String>,
    /// Host aliases, by lower-case alias: the table name they stand for.
    aliases: HashMap<String, String>,
    skipped: usize,
}

/// What a LiteLLM price key prices: `input_cost_per_token`,
/// `output_cost_per_token`, `cache_read_input_token_cost`,
/// `cache_creation_input_token_cost` (and `..._above_1hr` for the one-hour
/// cache), `output_cost_per_reasoning_token`, `input_cost_per_audio_token`,
/// `output_cost_per_audio_token`, `output_cost_per_image`,
/// `input_cost_per_audio_per_second` and `input_cost_per_second`, each
/// optionally followed by a long-prompt tier `_above_<N>k_tokens` and a
/// service tier `_batches`, `_priority` or `_flex`. `None` for every other
/// key.
fn litellm_rate_key(key: &str) -> Option<(TokenClass, Option<u64>, ServiceTier)> {
    let (class, rest) = [
        ("input_cost_per_token", TokenClass::Input),
        ("output_cost_per_token", TokenClass::Output),
        ("cache_read_input_token_cost", TokenClass::CacheRead),
        (
            "cache_creation_input_token_cost_above_1hr",
            TokenClass::CacheWrite1h,
        ),
        ("cache_creation_input_token_cost", TokenClass::CacheWrite),
        ("output_cost_per_reasoning_token", TokenClass::Reasoning),
        ("input_cost_per_audio_token", TokenClass::AudioInput),
        ("output_cost_per_audio_token", TokenClass::AudioOutput),
        ("output_cost_per_image", TokenClass::Image),
        ("input_cost_per_audio_per_second", TokenClass::AudioSecond),
        ("input_cost_per_second", TokenClass::AudioSecond),
    ]
    .into_iter()
    .find_map(|(prefix, class)| key.strip_prefix(prefix).map(|rest| (class, rest)))?;
    let (tier, rest) = [
        ("_batches", ServiceTier::Batch),
        ("_priority", ServiceTier::Priority),
        ("_flex", ServiceTier::Flex),
    ]
    .into_iter()
    .find_map(|(suffix, tier)| rest.strip_suffix(suffix).map(|r| (tier, r)))
    .unwrap_or((ServiceTier::Standard, rest));
    let above = match rest {
        "" => None,
        r => {
            let n = r.strip_prefix("_above_")?.strip_suffix("k_tokens")?;
            Some(n.parse::<u64>().ok()?.checked_mul(1000)?)
        }
    };
    Some((class, above, tier))
}

/// An exact decimal from the text of a JSON number (or of a string holding
/// one). `None` for `null`.
fn json_decimal(raw: &RawValue, field: &str) -> Result<Option<Decimal>> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let unquoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let value = crate::model::parse_decimal(unquoted)
        .ok_or_else(|| Error::invalid(field, format!("{text} is not a decimal number")))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(Error::invalid(field, format!("{text} is a negative price")));
    }
    Ok(Some(value.normalize()))
}

fn json_string(raw: Option<&RawValue>) -> Option<String> {
    raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

impl PriceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read LiteLLM's `model_prices_and_context_window.json` (the text).
    ///
    /// The `sample_spec` entry (documentation, not a model) is skipped, and
    /// so are entries with none of the prices below (per pixel, per
    /// character, per request...): see [`PriceTable::skipped`]. A price an
    /// entry lacks is `None`, not 0 (an embedding model has no output
    /// price): usage of that class makes a record partially priced.
    ///
    /// | LiteLLM key | price |
    /// |---|---|
    /// | `input_cost_per_token` | [`TokenClass::Input`] |
    /// | `output_cost_per_token` | [`TokenClass::Output`] |
    /// | `cache_read_input_token_cost` | [`TokenClass::CacheRead`] |
    /// | `cache_creation_input_token_cost` | [`TokenClass::CacheWrite`] (5-minute cache) |
    /// | `cache_creation_input_token_cost_above_1hr` | [`TokenClass::CacheWrite1h`] |
    /// | `output_cost_per_reasoning_token` | [`TokenClass::Reasoning`] |
    /// | `input_cost_per_audio_token`, `output_cost_per_audio_token` | [`TokenClass::AudioInput`], [`TokenClass::AudioOutput`] |
    /// | `output_cost_per_image` | [`TokenClass::Image`] (per image generated) |
    /// | `input_cost_per_audio_per_second`, else `input_cost_per_second` | [`TokenClass::AudioSecond`] |
    /// | `search_context_cost_per_query.search_context_size_medium` | [`TokenClass::WebSearch`] (per call) |
    /// | any of these + `_above_<N>k_tokens` | the long-context tier above N × 1,000 prompt tokens |
    /// | any of these + `_batches`, `_priority`, `_flex` | that [`ServiceTier`] |
    ///
    /// Other fields (per pixel, per character, image tokens, video, other
    /// service tiers) are ignored. How a request's price is picked from
    /// these: [`ModelPrice::rate`] and [`TokenClass`].
    ///
    /// # Errors
    /// [`Error::Parse`] when the text is not a JSON object of objects;
    /// [`Error::Invalid`] naming `<model>.<field>` when a price is not a
    /// non-negative number.
    pub fn from_litellm_json(text: &str) -> Result<Self> {
        let entries: BTreeMap<&str, &RawValue> = serde_json::from_str(text)?;
        let mut table = PriceTable::new();
        for (name, raw) in entries {
            if name == "sample_spec" {
                continue;
            }
            let e: BTreeMap<&str, &RawValue> = serde_json::from_str(raw.get())
                .map_err(|err| Error::invalid(name, format!("not a price entry: {err}")))?;
            let mut input = None;
            let mut output = None;
            let mut cache = None;
            let mut rates = Vec::new();
            for (key, value) in &e {
                let Some((class, above, tier)) = litellm_rate_key(key) else {
                    continue;
                };
                let Some(price) = json_decimal(value, &format!("{name}.{key}"))? else {
                    continue;
                };
                match (class, above, tier) {
                    (TokenClass::Input, None, ServiceTier::Standard) => input = Some(price),
                    (TokenClass::Output, None, ServiceTier::Standard) => output = Some(price),
                    (TokenClass::CacheRead, None, ServiceTier::Standard) => cache = Some(price),
                    _ => rates.push(TokenRate {
                        class,
                        tier,
                        above_tokens: above,
                        per_token: price,
                    }),
                }
            }
            // Web search calls: one price per search context size; the
            // medium one (the providers' default).
            if let Some(search) = e.get("search_context_cost_per_query") {
                let sizes: BTreeMap<&str, &RawValue> =
                    serde_json::from_str(search.get()).map_err(|err| {
                        Error::invalid(
                            format!("{name}.search_context_cost_per_query"),
                            format!("not an object of prices: {err}"),
                        )
                    })?;
                let field =
                    format!("{name}.search_context_cost_per_query.search_context_size_medium");
                if let Some(price) = sizes
                    .get("search_context_size_medium")
                    .map(|v| json_decimal(v, &field))
                    .transpose()?
                    .flatten()
                {
                    rates.push(TokenRate {
                        class: TokenClass::WebSearch,
                        tier: ServiceTier::Standard,
                        above_tokens: None,
                        per_token: price,
                    });
                }
            }
            if input.is_none() && output.is_none() && rates.is_empty() {
                table.skipped += 1;
                continue;
            }
            table.insert(
                name,
                ModelPrice {
                    input_per_token: input,
                    output_per_token: output,
                    cache_read_per_token: cache,
                    provider: json_string(e.get("litellm_provider").copied()),
                    mode: json_string(e.get("mode").copied()),
                    rates,
                },
            );
        }
        Ok(table)
    }

    /// Add or replace a model's prices.
    pub fn insert(&mut self, name: &str, price: ModelPrice) {
        self.lower
            .entry(name.to_lowercase())
            .or_insert_with(|| name.to_owned());
        self.models.insert(name.to_owned(), price);
    }

    /// Number of models with per-token prices.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the table has no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Entries of the source file left out because they have none of the
    /// prices the crate reads.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Make `alias` (a name logs use: `claude-3-5-sonnet-latest`, a
    /// deployment name `prod-chat`) stand for the table's `model`.
    /// Resolution tries aliases after the exact name and before the
    /// prefix, date and family rules (case ignored).
    ///
    /// # Errors
    /// [`Error::Invalid`] on `alias` when it is blank, on `model` when the
    /// table has no such entry.
    pub fn add_alias(&mut self, alias: &str, model: &str) -> Result<()> {
        let alias = alias.trim();
        if alias.is_empty() {
            return Err(Error::invalid("alias", "an alias must not be blank"));
        }
        let Some((name, _)) = self.find(model.trim()) else {
            return Err(Error::invalid(
                "model",
                format!("{model:?} is not in the price table"),
            ));
        };
        let name = name.to_owned();
        self.aliases.insert(alias.to_lowercase(), name);
        Ok(())
    }

    /// The prices of exactly this name.
    pub fn get(&self, name: &str) -> Option<&ModelPrice> {
        self.models.get(name)
    }

    fn find(&self, name: &str) -> Option<(&str, &ModelPrice)> {
        if let Some((k, v)) = self.models.get_key_value(name) {
            return Some((k.as_str(), v));
        }
        let key = self.lower.get(&name.to_lowercase())?;
        self.models.get_key_value(key).map(|(k, v)| (k.as_str(), v))
    }

    /// The table entry for a model as a log names it, with the name it was
    /// found under. Tried in order (each exactly, then ignoring case):
    /// `provider/name` without the log's own prefix (the provider's own
    /// price wins: `azure/gpt-4-turbo-2024-04-09`); the name; a host alias
    /// of the name ([`add_alias`](Self::add_alias)); the name
    /// without its provider prefix (`openai/gpt-4o-2024-08-06` →
    /// `gpt-4o-2024-08-06`); for a fine-tune `ft:<base>:<org>::<id>`,
    /// `ft:<base>` (the table's fine-tune price), `provider/<base>`, `<base>`
    /// and its family; `provider/family` and the family without a date or
    /// version stamp (→ `gpt-4o`, see [`model_family`]). `None` when
    /// nothing matches.
    pub fn resolve(&self, model: &str, provider: Option<&str>) -> Option<(&str, &ModelPrice)> {
        let model = model.trim();
        if model.is_empty() {
            return None;
        }
        let provider = provider.map(str::trim).filter(|p| !p.is_empty());
        let bare = model.rsplit('/').next().unwrap_or(model);
        let family = model_family(model);
        let mut candidates = Vec::with_capacity(8);
        // The provider's own entry first: Azure's gpt-4-turbo is not
        // OpenAI's price.
        if let Some(p) = provider {
            candidates.push(format!("{p}/{bare}"));
        }
        candidates.push(model.to_owned());
        for name in [model, bare] {
            if let Some(target) = self.aliases.get(&name.to_lowercase()) {
                candidates.push(target.clone());
            }
        }
        candidates.push(bare.to_owned());
        // A fine-tune (`ft:gpt-4o-mini-2024-07-18:acme::x`): the table's
        // fine-tune price of its base (`ft:gpt-4o-mini-2024-07-18`), else
        // the base model's.
        if let Some(base) = bare
            .strip_prefix("ft:")
            .and_then(|rest| rest.split(':').next())
            .filter(|b| !b.is_empty())
        {
            candidates.push(format!("ft:{base}"));
            if let Some(p) = provider {
                candidates.push(format!("{p}/{base}"));
            }
            candidates.push(base.to_owned());
            candidates.push(model_family(base).to_owned());
        }
        if let Some(p) = provider {
            candidates.push(format!("{p}/{family}"));
        }
        candidates.push(family.to_owned());
        candidates.iter().find_map(|c| self.find(c))
    }
}

/// A record's cost and the classes of its usage the table has no price
/// for ([`ModelPrice::price`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Priced {
    /// The cost of the classes priced.
    pub cost: Decimal,
    /// Classes with usage but no price (empty: fully priced).
    pub unpriced: TokenClasses,
}

impl ModelPrice {
    /// The cost of `tokens` at the standard tier: [`cost_for`](Self::cost_for).
    ///
    /// # Errors
    /// As [`cost_for`](Self::cost_for).
    pub fn cost(&self, tokens: &TokenUsage) -> Result<Decimal> {
        self.cost_for(tokens, ServiceTier::Standard)
    }

    /// The price of one unit of `class` for a request served at `tier`
    /// whose prompt has `prompt` tokens; `None` when the table has none
    /// (see [`TokenClass`] for the classes billed at another's price).
    ///
    /// The long-context tier is the largest `aboveTokens` the prompt
    /// exceeds, and applies to every token of the request (as the providers
    /// bill). The price is looked up, in order: at `tier` and that
    /// long-context tier; at `tier`; at the standard tier and that
    /// long-context tier; at the standard tier. So batch, priority and flex
    /// requests cost the normal price where the table has no price for
    /// their tier.
    pub fn rate(&self, class: TokenClass, tier: ServiceTier, prompt: u64) -> Option<Decimal> {
        self.rate_in(class, tier, self.long_tier(prompt))
    }

    /// The long-context tier a prompt of `prompt` tokens falls in.
    fn long_tier(&self, prompt: u64) -> Option<u64> {
        self.rates
            .iter()
            .filter_map(|r| r.above_tokens)
            .filter(|t| prompt > *t)
            .max()
    }

    /// [`rate`](Self::rate) with the long-context tier known.
    fn rate_in(&self, class: TokenClass, tier: ServiceTier, long: Option<u64>) -> Option<Decimal> {
        let own = self.lookup(class, tier, long);
        if own.is_some() {
            return own;
        }
        match class {
            TokenClass::CacheRead | TokenClass::CacheWrite => {
                self.lookup(TokenClass::Input, tier, long)
            }
            TokenClass::CacheWrite1h => self
                .lookup(TokenClass::CacheWrite, tier, long)
                .or_else(|| self.lookup(TokenClass::Input, tier, long)),
            TokenClass::Reasoning => self.lookup(TokenClass::Output, tier, long),
            _ => None,
        }
    }

    /// The price of `class` in the order of [`rate`](Self::rate), in one
    /// pass over the rates: 0 at `tier` and `long`, 1 at `tier`, 2 standard
    /// at `long`, 3 standard.
    fn lookup(&self, class: TokenClass, tier: ServiceTier, long: Option<u64>) -> Option<Decimal> {
        let standard = ServiceTier::Standard;
        let rank = |t: ServiceTier, above: Option<u64>| -> Option<u8> {
            match (t == tier, t == standard, above) {
                (true, _, Some(a)) if long == Some(a) => Some(0),
                (true, _, None) => Some(1),
                (_, true, Some(a)) if long == Some(a) => Some(2),
                (_, true, None) => Some(3),
                _ => None,
            }
        };
        // The three base prices live in their own fields (standard, no tier).
        let base = match class {
            TokenClass::Input => self.input_per_token,
            TokenClass::Output => self.output_per_token,
            TokenClass::CacheRead => self.cache_read_per_token,
            _ => None,
        };
        let mut best: Option<(u8, Decimal)> =
            base.and_then(|b| rank(standard, None).map(|r| (r, b)));
        for r in &self.rates {
            if r.class != class {
                continue;
            }
            if let Some(k) = rank(r.tier, r.above_tokens) {
                if best.is_none_or(|(b, _)| k < b) {
                    best = Some((k, r.per_token));
                }
            }
        }
        best.map(|(_, price)| price)
    }

    /// The cost of `tokens` for a request served at `tier`: each class of
    /// usage at its [`rate`](Self::rate). Exact. Classes the table has no
    /// price for are left out: use [`price`](Self::price) to know which.
    ///
    /// # Errors
    /// As [`price`](Self::price).
    pub fn cost_for(&self, tokens: &TokenUsage, tier: ServiceTier) -> Result<Decimal> {
        self.price(tokens, tier).map(|p| p.cost)
    }

    /// The cost of `tokens` for a request served at `tier` (each class of
    /// usage at its [`rate`](Self::rate), exact), and the classes with usage
    /// the table has no price for (not in the cost, never priced at zero).
    ///
    /// # Errors
    /// As [`cost_by_class`](Self::cost_by_class).
    pub fn price(&self, tokens: &TokenUsage, tier: ServiceTier) -> Result<Priced> {
        self.price_in(tokens, tier, self.long_tier(tokens.input_tokens))
    }

    /// [`price`](Self::price) of a record: at its service tier, its
    /// long-context tier chosen by the prompt of one of its requests
    /// ([`UsageRecord::prompt_size`]), not by the bucket's sum.
    ///
    /// # Errors
    /// As [`price`](Self::price).
    pub fn price_record(&self, r: &UsageRecord) -> Result<Priced> {
        self.price_in(&r.tokens, r.service_tier, self.long_tier(r.prompt_size()))
    }

    fn price_in(
        &self,
        tokens: &TokenUsage,
        tier: ServiceTier,
        long: Option<u64>,
    ) -> Result<Priced> {
        if let Some(priced) = self.price_exact_i128(tokens, tier, long) {
            return Ok(priced);
        }
        let mut total = Decimal::ZERO;
        let unpriced = self.each_class(tokens, tier, long, |_, part| {
            total = total.checked_add(part).ok_or_else(overflow)?;
            Ok(())
        })?;
        Ok(Priced {
            cost: total,
            unpriced,
        })
    }

    /// [`cost_for`](Self::cost_for) by class: the priced classes with usage,
    /// in [`TokenClass::ALL`] order.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `cachedInputTokens` when the cache reads and
    /// writes and audio tokens are more than the input tokens, on
    /// `reasoningTokens` when reasoning and audio output tokens are more
    /// than the output tokens, or on `cost` when an amount overflows a
    /// decimal.
    pub fn cost_by_class(
        &self,
        tokens: &TokenUsage,
        tier: ServiceTier,
    ) -> Result<Vec<(TokenClass, Decimal)>> {
        self.classes_in(tokens, tier, self.long_tier(tokens.input_tokens))
    }

    /// [`cost_by_class`](Self::cost_by_class) of a record, as
    /// [`price_record`](Self::price_record) prices it.
    ///
    /// # Errors
    /// As [`cost_by_class`](Self::cost_by_class).
    pub fn cost_by_class_record(&self, r: &UsageRecord) -> Result<Vec<(TokenClass, Decimal)>> {
        self.classes_in(&r.tokens, r.service_tier, self.long_tier(r.prompt_size()))
    }

    fn classes_in(
        &self,
        tokens: &TokenUsage,
        tier: ServiceTier,
        long: Option<u64>,
    ) -> Result<Vec<(TokenClass, Decimal)>> {
        let mut out = Vec::with_capacity(5);
        self.each_class(tokens, tier, long, |class, part| {
            out.push((class, part));
            Ok(())
        })?;
        Ok(out)
    }

    /// [`price`](Self::price) in 128-bit integers: each count times its
    /// price's mantissa, brought to the largest scale and summed, then one
    /// decimal. The same exact amount, several times faster than decimal
    /// arithmetic; `None` when the counts do not add up or an amount does
    /// not fit (then the decimal path answers, with its error).
    fn price_exact_i128(
        &self,
        tokens: &TokenUsage,
        tier: ServiceTier,
        long: Option<u64>,
    ) -> Option<Priced> {
        let counts = class_counts(tokens).ok()?;
        let mut sum: i128 = 0;
        let mut scale: u32 = 0;
        let mut unpriced = TokenClasses::EMPTY;
        for (class, n) in counts {
            if n == 0 {
                continue;
            }
            let Some(rate) = self.rate_in(class, tier, long) else {
                unpriced.insert(class);
                continue;
            };
            let mut part = rate.mantissa().checked_mul(i128::from(n))?;
            let s = rate.scale();
            if s > scale {
                sum = sum.checked_mul(10i128.checked_pow(s - scale)?)?;
                scale = s;
            } else if s < scale {
                part = part.checked_mul(10i128.checked_pow(scale - s)?)?;
            }
            sum = sum.checked_add(part)?;
        }
        let cost = Decimal::try_from_i128_with_scale(sum, scale).ok()?;
        Some(Priced { cost, unpriced })
    }

    /// Call `f` with the cost of each priced class that has usage; the
    /// classes with usage but no price.
    fn each_class(
        &self,
        tokens: &TokenUsage,
        tier: ServiceTier,
        long: Option<u64>,
        mut f: impl FnMut(TokenClass, Decimal) -> Result<()>,
    ) -> Result<TokenClasses> {
        let mut unpriced = TokenClasses::EMPTY;
        for (class, n) in class_counts(tokens)? {
            if n == 0 {
                continue;
            }
            let Some(rate) = self.rate_in(class, tier, long) else {
                unpriced.insert(class);
                continue;
            };
            let part = Decimal::from(n).checked_mul(rate).ok_or_else(overflow)?;
            f(class, part)?;
        }
        Ok(unpriced)
    }
}

/// The usage of each class, in [`TokenClass::ALL`] order.
///
/// # Errors
/// [`Error::Invalid`] on `cachedInputTokens` when the cache reads and
/// writes and audio prompt tokens are more than the input tokens; on
/// `reasoningTokens` when the reasoning and audio output tokens are more
/// than the output tokens.
pub(crate) fn class_counts(tokens: &TokenUsage) -> Result<[(TokenClass, u64); 11]> {
    let uncached = tokens
        .cached_input_tokens
        .checked_add(tokens.cache_write_tokens)
        .and_then(|n| n.checked_add(tokens.cache_write_1h_tokens))
        .and_then(|n| n.checked_add(tokens.audio_input_tokens))
        .and_then(|n| tokens.input_tokens.checked_sub(n))
        .ok_or_else(|| {
            Error::invalid(
                "cachedInputTokens",
                format!(
                    "{} cached, {} and {} cache-write and {} audio input tokens are more than \
                     the {} input tokens",
                    tokens.cached_input_tokens,
                    tokens.cache_write_tokens,
                    tokens.cache_write_1h_tokens,
                    tokens.audio_input_tokens,
                    tokens.input_tokens
                ),
            )
        })?;
    let text_output = tokens
        .reasoning_tokens
        .checked_add(tokens.audio_output_tokens)
        .and_then(|n| tokens.output_tokens.checked_sub(n))
        .ok_or_else(|| {
            Error::invalid(
                "reasoningTokens",
                format!(
                    "{} reasoning and {} audio output tokens are more than the {} output tokens",
                    tokens.reasoning_tokens, tokens.audio_output_tokens, tokens.output_tokens
                ),
            )
        })?;
    Ok([
        (TokenClass::Input, uncached),
        (TokenClass::CacheRead, tokens.cached_input_tokens),
        (TokenClass::CacheWrite, tokens.cache_write_tokens),
        (TokenClass::CacheWrite1h, tokens.cache_write_1h_tokens),
        (TokenClass::Output, text_output),
        (TokenClass::Reasoning, tokens.reasoning_tokens),
        (TokenClass::AudioInput, tokens.audio_input_tokens),
        (TokenClass::AudioOutput, tokens.audio_output_tokens),
        (TokenClass::Image, tokens.images),
        (TokenClass::AudioSecond, tokens.audio_seconds),
        (TokenClass::WebSearch, tokens.web_search_calls),
    ])
}

fn overflow() -> Error {
    Error::invalid("cost", "the amount overflows a decimal")
}

/// The result of [`price_usage`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PricedUsage {
    /// One cost row per priced record (records that carried a cost keep it).
    pub rows: Vec<CostRow>,
    /// Records left out because their model is not in the table.
    pub unpriced: UnpricedUsage,
    /// Records priced in part: usage of a class the model's entry has no
    /// price for (their rows carry the cost of the rest).
    pub partial: PartiallyPriced,
}

impl PricedUsage {
    /// `Ok` with the rows when every record was priced in full.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `model`, listing the unknown models and how many
    /// requests each had; on `tokens` when records were priced in part,
    /// listing the classes without a price and the models.
    pub fn require_all_priced(self) -> Result<Vec<CostRow>> {
        if !self.partial.is_empty() {
            let classes = self
                .partial
                .unpriced_units
                .iter()
                .map(|(c, n)| format!("{n} {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let models = self
                .partial
                .requests_by_model
                .keys()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::invalid(
                "tokens",
                format!(
                    "{} lines have usage the price table has no price for ({classes}) on {models}",
                    self.partial.lines
                ),
            ));
        }
        if self.unpriced.is_empty() {
            return Ok(self.rows);
        }
        let list = self
            .unpriced
            .requests_by_model
            .iter()
            .map(|(m, n)| format!("{m:?} ({n} requests)"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Error::invalid(
            "model",
            format!(
                "{} lines have a model the price table does not know: {list}",
                self.unpriced.lines
            ),
        ))
    }
}

/// Price usage records into cost rows.
///
/// A record with a `cost` keeps it (in its `currency`). Otherwise its model
/// is [resolved](PriceTable::resolve) and its tokens priced in USD with
/// [`ModelPrice::price`]. A record whose model is missing or unknown is left
/// out and counted in [`PricedUsage::unpriced`] (never priced at zero); a
/// record with usage of a class its model has no price for keeps the cost
/// of the rest and is counted in [`PricedUsage::partial`].
///
/// Rows carry the record's dimensions, its date (the UTC date of its
/// timestamp) and timestamp, requests and tokens; a record with cached
/// input tokens counts all its requests as cached requests.
///
/// # Errors
/// As [`ModelPrice::cost`], prefixed with the record's index
/// (`[12].cachedInputTokens`).
pub fn price_usage(
    records: impl IntoIterator<Item = UsageRecord>,
    table: &PriceTable,
) -> Result<PricedUsage> {
    let records = records.into_iter();
    let mut out = PricedUsage {
        rows: Vec::with_capacity(records.size_hint().0),
        ..PricedUsage::default()
    };
    let mut pricer = Pricer::new(table);
    for (i, r) in records.enumerate() {
        let (cost, currency) = match r.cost {
            Some(c) => (c, r.currency),
            None => match pricer
                .price(&r)
                .map_err(|e| e.in_field(&format!("[{i}]")))?
            {
                Some(p) => {
                    if !p.unpriced.is_empty() {
                        out.partial.add(&r, p.unpriced)?;
                    }
                    (p.cost, Some(Currency::USD))
                }
                None => {
                    out.unpriced.add(&r);
                    continue;
                }
            },
        };
        out.rows.push(row_of(UsageRecord {
            cost: Some(cost),
            currency,
            ..r
        }));
    }
    Ok(out)
}

/// Prices records one at a time against a table, resolving each (model,
/// provider) once: for a stream of records priced as they arrive, without
/// building cost rows ([`price_usage`] uses it).
#[derive(Debug)]
pub struct Pricer<'a> {
    table: &'a PriceTable,
    /// By model name: the entry found for each provider it came with.
    resolved: HashMap<String, Vec<Resolved<'a>>>,
}

/// A provider and the price entry found for (model, provider).
type Resolved<'a> = (Option<String>, Option<&'a ModelPrice>);

impl<'a> Pricer<'a> {
    /// A pricer over `table`.
    pub fn new(table: &'a PriceTable) -> Self {
        Pricer {
            table,
            resolved: HashMap::new(),
        }
    }

    /// The price entry of a model as a log names it ([`PriceTable::resolve`],
    /// remembered).
    pub fn resolve(&mut self, model: &str, provider: Option<&str>) -> Option<&'a ModelPrice> {
        if let Some(price) = self.resolved.get(model).and_then(|by| {
            by.iter()
                .find(|(p, _)| p.as_deref() == provider)
                .map(|(_, price)| *price)
        }) {
            return price;
        }
        let price = self.table.resolve(model, provider).map(|(_, p)| p);
        self.resolved
            .entry(model.to_owned())
            .or_default()
            .push((provider.map(str::to_owned), price));
        price
    }

    /// The list cost of a record in USD at its service tier (its own `cost`
    /// is not looked at) and the classes of its usage without a price;
    /// `None` when it has no model or the table does not know it.
    ///
    /// # Errors
    /// As [`ModelPrice::price`].
    pub fn price(&mut self, r: &UsageRecord) -> Result<Option<Priced>> {
        let Some(model) = r.model.as_deref() else {
            return Ok(None);
        };
        match self.resolve(model, r.provider.as_deref()) {
            Some(price) => price.price_record(r).map(Some),
            None => Ok(None),
        }
    }

    /// [`price`](Self::price)'s cost alone (classes without a price left
    /// out).
    ///
    /// # Errors
    /// As [`ModelPrice::price`].
    pub fn cost(&mut self, r: &UsageRecord) -> Result<Option<Decimal>> {
        Ok(self.price(r)?.map(|p| p.cost))
    }
}

/// The cost row of a priced record (its `cost` set): its dimensions, the
/// UTC date of its timestamp, requests and tokens; a record with cached
/// input tokens counts all its requests as cached requests.
pub(crate) fn row_of(r: UsageRecord) -> CostRow {
    CostRow {
        date: r.timestamp.date_naive(),
        timestamp: Some(r.timestamp),
        provider: r.provider,
        model: r.model,
        model_family: None,
        team: r.team,
        project: r.project,
        cost_center: r.cost_center,
        feature: r.feature,
        user: r.user,
        tags: BTreeMap::new(),
        cost: r.cost.unwrap_or_default(),
        currency: r.currency,
        requests: r.requests,
        input_tokens: r.tokens.input_tokens,
        output_tokens: r.tokens.output_tokens,
        cached_requests: if r.tokens.cached_input_tokens > 0 {
            r.requests
        } else {
            0
        },
        cache_read_tokens: r.tokens.cached_input_tokens,
        cache_write_tokens: r
            .tokens
            .cache_write_tokens
            .saturating_add(r.tokens.cache_write_1h_tokens),
    }
}

impl UnpricedUsage {
    /// Count a record left unpriced.
    pub fn add(&mut self, r: &UsageRecord) {
        self.lines += 1;
        let n = self
            .requests_by_model
            .entry(r.model.clone().unwrap_or_default())
            .or_default();
        *n = n.saturating_add(r.requests);
        self.tokens = self.tokens.saturating_add(&r.tokens);
    }
}

impl PartiallyPriced {
    /// Count a record priced in part: `classes` had usage but no price.
    ///
    /// # Errors
    /// As [`ModelPrice::price`] (the record's counts do not add up).
    pub fn add(&mut self, r: &UsageRecord, classes: TokenClasses) -> Result<()> {
        let counts = class_counts(&r.tokens)?;
        self.lines += 1;
        let n = self
            .requests_by_model
            .entry(r.model.clone().unwrap_or_default())
            .or_default();
        *n = n.saturating_add(r.requests);
        for (class, units) in counts {
            if classes.contains(class) {
                let e = self.unpriced_units.entry(class).or_default();
                *e = e.saturating_add(units);
            }
        }
        Ok(())
    }
}

/// What a host accepts as substitutes, for [`savings_recommendations`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavingsConfig {
    /// Acceptable substitutes of a model, keyed by the model's name as the
    /// data writes it, its price-table name, or its family (tried in that
    /// order). Empty by default: no recommendation without the host's say.
    pub substitutes: BTreeMap<String, Vec<String>>,
    /// How many of the most expensive models to look at (default 3).
    pub top_models: usize,
    /// Share of the model's usage to move, in percent (default 100).
    pub share_percent: Decimal,
    /// Smallest saving worth a recommendation, in the currency (default 0:
    /// any positive saving after rounding).
    pub min_savings: Decimal,
}

impl Default for SavingsConfig {
    fn default() -> Self {
        SavingsConfig {
            substitutes: BTreeMap::new(),
            top_models: 3,
            share_percent: Decimal::ONE_HUNDRED,
            min_savings: Decimal::ZERO,
        }
    }
}

/// Spend and tokens of one model, the input of
/// [`savings_recommendations`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelSpend {
    /// Model as the data names it.
    pub model: String,
    /// Provider, when known (helps resolving the model).
    pub provider: Option<String>,
    /// What was spent on it (USD, the price table's currency).
    pub cost: Decimal,
    /// Its tokens.
    pub tokens: TokenUsage,
}

/// Spend per model from aggregate buckets whose key at `model_index` is
/// the model (and, when given, at `provider_index` the provider). Buckets
/// without a model and buckets not in USD are ignored; cached input tokens
/// are unknown in buckets and counted as 0 (substitutes then look no
/// cheaper than they are). Sorted by cost, highest first, then by name.
///
/// # Errors
/// [`Error::Invalid`] on `cost` when one model's
/// spend overflows the decimal range.
pub fn model_spend_from_buckets(
    buckets: &[CostBucket],
    model_index: usize,
    provider_index: Option<usize>,
) -> crate::Result<Vec<ModelSpend>> {
    let mut by: BTreeMap<(String, Option<String>), ModelSpend> = BTreeMap::new();
    for b in buckets.iter().filter(|b| b.currency == Currency::USD) {
        let Some(Some(model)) = b.keys.get(model_index) else {
            continue;
        };
        let provider = provider_index.and_then(|i| b.keys.get(i).cloned().flatten());
        let e = by
            .entry((model.clone(), provider.clone()))
            .or_insert_with(|| ModelSpend {
                model: model.clone(),
                provider,
                ..Default::default()
            });
        e.cost = e.cost.checked_add(b.cost).ok_or_else(|| {
            crate::Error::invalid("cost", format!("the spend of model {model} overflows"))
        })?;
        e.tokens.input_tokens = e.tokens.input_tokens.saturating_add(b.input_tokens);
        e.tokens.output_tokens = e.tokens.output_tokens.saturating_add(b.output_tokens);
    }
    let mut out: Vec<ModelSpend> = by.into_values().collect();
    out.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.model.cmp(&b.model)));
    Ok(out)
}

/// For the `top_models` models with the highest spend, what the same tokens
/// would cost on the cheapest acceptable substitute (from
/// `config.substitutes`) of the same provider and mode in the price table,
/// as recommendations "Moving N% of X to Y would save $Z".
///
/// A model gets no recommendation when it has no listed substitute, when it
/// or its substitutes are not in the table, when no substitute has the same
/// provider and mode, or when the saving (rounded to `currency`'s minor
/// unit) is not above `config.min_savings`. The recommendation's `metric` is
/// the spend on the model, `threshold` what the same tokens would cost on
/// the substitute, `potential_savings` the saving for the moved share.
/// Ordered by saving, highest first.
pub fn savings_recommendations(
    spend: &[ModelSpend],
    table: &PriceTable,
    config: &SavingsConfig,
    currency: Currency,
) -> Vec<Recommendation> {
    let mut top: Vec<&ModelSpend> = spend.iter().filter(|s| s.cost > Decimal::ZERO).collect();
    top.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.model.cmp(&b.model)));
    let share = config
        .share_percent
        .clamp(Decimal::ZERO, Decimal::ONE_HUNDRED);
    let mut out: Vec<(Decimal, Recommendation)> = Vec::new();
    for s in top.into_iter().take(config.top_models) {
        let Some((key, current)) = table.resolve(&s.model, s.provider.as_deref()) else {
            continue;
        };
        let subs = config
            .substitutes
            .get(&s.model)
            .or_else(|| config.substitutes.get(key))
            .or_else(|| config.substitutes.get(model_family(&s.model)));
        let Some(subs) = subs else { continue };
        let mut best: Option<(Decimal, &str)> = None;
        for name in subs {
            let Some((sub_key, sub)) = table.resolve(name, None) else {
                continue;
            };
            if sub_key == key || sub.provider != current.provider || sub.mode != current.mode {
                continue;
            }
            // A substitute that cannot price all of the usage (no output
            // price, no audio price...) would look cheaper than it is.
            let Ok(Priced {
                cost,
                unpriced: TokenClasses::EMPTY,
            }) = sub.price(&s.tokens, ServiceTier::Standard)
            else {
                continue;
            };
            let better = match best {
                None => true,
                Some((c, n)) => cost < c || (cost == c && name.as_str() < n),
            };
            if better {
                best = Some((cost, name.as_str()));
            }
        }
        let Some((sub_cost, sub_name)) = best else {
            continue;
        };
        let Some(saving) = s
            .cost
            .checked_sub(sub_cost)
            .and_then(|d| d.checked_mul(share))
            .and_then(|d| d.checked_div(Decimal::ONE_HUNDRED))
            .map(|d| currency.round(d))
        else {
            continue;
        };
        if saving <= Decimal::ZERO || saving <= config.min_savings {
            continue;
        }
        let pct = share.normalize();
        out.push((
            saving,
            Recommendation {
                kind: "model_substitution".into(),
                title: format!("Switch {} to {sub_name}", s.model),
                message: format!(
                    "Moving {pct}% of {} to {sub_name} would save {}",
                    s.model,
                    currency.format(saving)
                ),
                metric: s.cost,
                threshold: sub_cost,
                potential_savings: Some(saving),
            },
        ));
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.title.cmp(&b.1.title)));
    out.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const JSON: &str = r#"{
        "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "one of"},
        "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                   "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai", "mode": "chat"},
        "gpt-4o-2024-08-06": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                   "litellm_provider": "openai", "mode": "chat"},
        "gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
                   "cache_read_input_token_cost": 7.5e-08, "litellm_provider": "openai", "mode": "chat"},
        "azure/gpt-4o": {"input_cost_per_token": 0.0000027, "output_cost_per_token": 0.000011,
                   "litellm_provider": "azure", "mode": "chat"},
        "text-embedding-3-small": {"input_cost_per_token": 2e-08, "output_cost_per_token": 0.0,
                   "litellm_provider": "openai", "mode": "embedding"},
        "dall-e-3": {"input_cost_per_pixel": 1e-07, "litellm_provider": "openai", "mode": "image_generation"},
        "odd": {"input_cost_per_token": 0.1000000000000000055511151231257827, "output_cost_per_token": "3E-7"}
    }"#;

    fn table() -> PriceTable {
        PriceTable::from_litellm_json(JSON).unwrap()
    }

    #[test]
    fn parses_prices_exactly_from_the_text() {
        let t = table();
        assert_eq!(t.len(), 6);
        assert_eq!(t.skipped(), 1);
        assert!(t.get("sample_spec").is_none());
        let p = t.get("gpt-4o").unwrap();
        assert_eq!(p.input_per_token, Some(dec!(0.0000025)));
        assert_eq!(p.output_per_token, Some(dec!(0.00001)));
        assert_eq!(p.cache_read_per_token, Some(dec!(0.00000125)));
        assert_eq!(p.provider.as_deref(), Some("openai"));
        assert_eq!(p.mode.as_deref(), Some("chat"));
        // 34 significant digits would be lost through f64; the text is kept
        // up to Decimal's 28 digits.
        assert_eq!(
            t.get("odd").unwrap().input_per_token,
            Some(dec!(0.1000000000000000055511151231))
        );
        assert_eq!(
            t.get("odd").unwrap().output_per_token,
            Some(dec!(0.0000003))
        );
    }

    #[test]
    fn bad_prices_name_the_model_and_field() {
        let e = PriceTable::from_litellm_json(
            r#"{"m": {"input_cost_per_token": -1, "output_cost_per_token": 1}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("m.input_cost_per_token"));
        let e = PriceTable::from_litellm_json(
            r#"{"m": {"input_cost_per_token": true, "output_cost_per_token": 1}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("m.input_cost_per_token"));
        let e = PriceTable::from_litellm_json(r#"{"m": 3}"#).unwrap_err();
        assert_eq!(e.field(), Some("m"));
        assert!(matches!(
            PriceTable::from_litellm_json("[1]").unwrap_err(),
            Error::Parse { .. }
        ));
    }

    #[test]
    fn resolves_prefixes_and_dated_versions() {
        let t = table();
        let name = |m: &str, p: Option<&str>| t.resolve(m, p).map(|(k, _)| k.to_owned());
        assert_eq!(
            name("openai/gpt-4o-2024-08-06", None).as_deref(),
            Some("gpt-4o-2024-08-06")
        );
        assert_eq!(
            name("openai/gpt-4o-2025-01-01", None).as_deref(),
            Some("gpt-4o")
        );
        assert_eq!(name("GPT-4o", None).as_deref(), Some("gpt-4o"));
        // The provider's own entry wins when the provider is known.
        assert_eq!(
            name("gpt-4o", Some("azure")).as_deref(),
            Some("azure/gpt-4o")
        );
        assert_eq!(name("gpt-4o", Some("openai")).as_deref(), Some("gpt-4o"));
        assert_eq!(name("azure/gpt-4o", None).as_deref(), Some("azure/gpt-4o"));
        assert_eq!(
            name("gpt-4o-2099-12-31", Some("azure")).as_deref(),
            Some("azure/gpt-4o")
        );
        assert_eq!(name("gpt-4o-2099-12-31", None).as_deref(), Some("gpt-4o"));
        assert_eq!(name("my-own-model", Some("openai")), None);
        assert_eq!(name("  ", None), None);
    }

    #[test]
    fn prices_cached_tokens_at_the_cache_read_price() {
        let t = table();
        let tokens = TokenUsage {
            input_tokens: 1000,
            output_tokens: 500,
            cached_input_tokens: 400,
            ..TokenUsage::default()
        };
        // 600 × 0.0000025 + 400 × 0.00000125 + 500 × 0.00001
        assert_eq!(t.get("gpt-4o").unwrap().cost(&tokens).unwrap(), dec!(0.007));
        // Without a cache price, cached tokens cost the input price.
        assert_eq!(
            t.get("gpt-4o-2024-08-06").unwrap().cost(&tokens).unwrap(),
            dec!(0.0075)
        );
        let bad = TokenUsage {
            input_tokens: 1,
            cached_input_tokens: 2,
            output_tokens: 0,
            ..TokenUsage::default()
        };
        assert_eq!(
            t.get("gpt-4o").unwrap().cost(&bad).unwrap_err().field(),
            Some("cachedInputTokens")
        );
    }

    fn record(model: Option<&str>, input: u64, cost: Option<Decimal>) -> UsageRecord {
        UsageRecord {
            timestamp: "2026-10-01T23:30:00Z".parse().unwrap(),
            provider: Some("openai".into()),
            model: model.map(Into::into),
            team: Some("search".into()),
            requests: 1,
            tokens: TokenUsage {
                input_tokens: input,
                output_tokens: 10,
                cached_input_tokens: 0,
                ..TokenUsage::default()
            },
            cost,
            ..Default::default()
        }
    }

    #[test]
    fn unknown_models_are_reported_never_priced_at_zero() {
        let t = table();
        let priced = price_usage(
            vec![
                record(Some("openai/gpt-4o-2024-08-06"), 100, None),
                record(Some("mystery-1"), 100, None),
                record(Some("mystery-1"), 50, None),
                record(None, 7, None),
                record(Some("mystery-2"), 1, Some(dec!(0.5))),
            ],
            &t,
        )
        .unwrap();
        assert_eq!(priced.rows.len(), 2);
        assert_eq!(priced.rows[0].cost, dec!(0.00035));
        assert_eq!(priced.rows[0].currency, Some(Currency::USD));
        assert_eq!(priced.rows[0].date.to_string(), "2026-10-01");
        assert_eq!(priced.rows[0].team.as_deref(), Some("search"));
        assert_eq!(priced.rows[1].cost, dec!(0.5));
        assert_eq!(priced.unpriced.lines, 3);
        assert_eq!(priced.unpriced.models(), vec!["", "mystery-1"]);
        assert_eq!(priced.unpriced.requests_by_model["mystery-1"], 2);
        assert_eq!(priced.unpriced.tokens.input_tokens, 157);
        let e = priced.require_all_priced().unwrap_err();
        assert_eq!(e.field(), Some("model"));
        assert_eq!(
            e.to_string(),
            "invalid model: 3 lines have a model the price table does not know: \
             \"\" (1 requests), \"mystery-1\" (2 requests)"
        );
    }

    #[test]
    fn savings_on_the_cheapest_acceptable_substitute() {
        let t = table();
        let spend = vec![
            ModelSpend {
                model: "openai/gpt-4o-2024-08-06".into(),
                provider: Some("openai".into()),
                cost: dec!(35),
                tokens: TokenUsage {
                    input_tokens: 10_000_000,
                    output_tokens: 1_000_000,
                    cached_input_tokens: 0,
                    ..TokenUsage::default()
                },
            },
            ModelSpend {
                model: "azure/gpt-4o".into(),
                cost: dec!(1),
                ..Default::default()
            },
        ];
        // Empty map by default: nothing.
        assert!(
            savings_recommendations(&spend, &t, &SavingsConfig::default(), Currency::USD)
                .is_empty()
        );
        let config = SavingsConfig {
            substitutes: BTreeMap::from([(
                "gpt-4o".to_owned(),
                // azure/gpt-4o is another provider, the embedding model another
                // mode, nope is unknown: only gpt-4o-mini qualifies.
                vec![
                    "azure/gpt-4o".to_owned(),
                    "text-embedding-3-small".to_owned(),
                    "nope".to_owned(),
                    "gpt-4o-mini".to_owned(),
                ],
            )]),
            share_percent: dec!(50),
            ..Default::default()
        };
        let recs = savings_recommendations(&spend, &t, &config, Currency::USD);
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        // gpt-4o-mini: 10M × 0.00000015 + 1M × 0.0000006 = 2.10; (35 − 2.10) × 50%.
        assert_eq!(r.threshold, dec!(2.1));
        assert_eq!(r.potential_savings, Some(dec!(16.45)));
        assert_eq!(r.metric, dec!(35));
        assert_eq!(r.kind, "model_substitution");
        assert_eq!(
            r.message,
            "Moving 50% of openai/gpt-4o-2024-08-06 to gpt-4o-mini would save $16.45"
        );
        // Above the minimum only.
        let strict = SavingsConfig {
            min_savings: dec!(20),
            ..config.clone()
        };
        assert!(savings_recommendations(&spend, &t, &strict, Currency::USD).is_empty());
        // A substitute without an output price would look free for the
        // output tokens: it is not recommended.
        let mut t = t;
        t.insert(
            "gpt-4o-cheap",
            ModelPrice {
                input_per_token: Some(dec!(0.0000001)),
                provider: Some("openai".into()),
                mode: Some("chat".into()),
                ..ModelPrice::default()
            },
        );
        let config = SavingsConfig {
            substitutes: BTreeMap::from([(
                "gpt-4o".to_owned(),
                vec!["gpt-4o-cheap".to_owned(), "gpt-4o-mini".to_owned()],
            )]),
            ..config
        };
        let recs = savings_recommendations(&spend, &t, &config, Currency::USD);
        assert_eq!(recs.len(), 1);
        assert!(recs[0]
            .message
            .ends_with("to gpt-4o-mini would save $16.45"));
    }

    #[test]
    fn spend_from_buckets_sums_usd_models() {
        let b = |model: Option<&str>, cost: Decimal, cur: Currency| CostBucket {
            period_start: None,
            keys: vec![Some("openai".into()), model.map(Into::into)],
            currency: cur,
            cost,
            requests: 1,
            input_tokens: 10,
            output_tokens: 1,
            cached_requests: 0,
        };
        let spend = model_spend_from_buckets(
            &[
                b(Some("a"), dec!(1), Currency::USD),
                b(Some("b"), dec!(5), Currency::USD),
                b(Some("a"), dec!(2), Currency::USD),
                b(Some("a"), dec!(100), Currency::EUR),
                b(None, dec!(9), Currency::USD),
            ],
            1,
            Some(0),
        )
        .unwrap();
        assert_eq!(spend.len(), 2);
        assert_eq!(spend[0].model, "b");
        assert_eq!(spend[1].cost, dec!(3));
        assert_eq!(spend[1].tokens.input_tokens, 20);
        assert_eq!(spend[1].provider.as_deref(), Some("openai"));
    }
}
