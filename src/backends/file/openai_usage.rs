//! Responses of the OpenAI organization Usage API
//! (`GET /v1/organization/usage/completions`): pages of time buckets, each
//! with results grouped by project, user, API key, model...; and of the
//! Costs API (`GET /v1/organization/costs`), whose amounts are already in
//! money ([`read_openai_costs_page`]).
//!
//! Each result becomes one [`UsageRecord`] at its bucket's `start_time`,
//! provider `openai`, with `model`, `project_id` as project, `user_id` as
//! user, `num_model_requests` as requests, `input_tokens` (which include
//! the cached and audio ones), `input_cached_tokens`, `input_audio_tokens`,
//! `output_tokens` (which include the audio ones), `output_audio_tokens`,
//! and `batch: true` as the batch tier. A result
//! without `model` (the API leaves it out unless the query groups by model)
//! cannot be priced and is reported as an unknown model by
//! [`price_usage`](crate::core::pricing::price_usage).

use serde::Deserialize;

use chrono::{DateTime, Utc};

use crate::model::{TokenUsage, UsageRecord};
use crate::{Error, Result};

#[derive(Deserialize)]
struct Page {
    data: Vec<Bucket>,
}

#[derive(Deserialize)]
struct Bucket {
    start_time: i64,
    #[serde(default)]
    results: Vec<UsageResult>,
}

#[derive(Deserialize)]
struct UsageResult {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    input_cached_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    input_audio_tokens: Option<u64>,
    #[serde(default)]
    output_audio_tokens: Option<u64>,
    #[serde(default)]
    num_model_requests: Option<u64>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    /// Present when the query groups by `batch`: a batch API request.
    #[serde(default)]
    batch: Option<bool>,
}

/// Read one page of the completions Usage API's response (the JSON text).
/// Follow `next_page` yourself and read each page.
///
/// # Errors
/// [`Error::Invalid`] with the JSON path of a value of the wrong type
/// (`data[0].results[1].input_tokens`), or of a `start_time` that is not a
/// valid Unix time; [`Error::Parse`] for malformed JSON; `Invalid` on
/// `...input_cached_tokens` when they exceed the input tokens.
pub fn read_openai_usage_page(json: &str) -> Result<Vec<UsageRecord>> {
    let page: Page = crate::model::from_json(json)?;
    let mut out = Vec::new();
    for (bi, b) in page.data.into_iter().enumerate() {
        let timestamp = DateTime::<Utc>::from_timestamp(b.start_time, 0).ok_or_else(|| {
            Error::invalid(
                format!("data[{bi}].start_time"),
                format!("{} is not a valid Unix time", b.start_time),
            )
        })?;
        for (ri, r) in b.results.into_iter().enumerate() {
            let tokens = TokenUsage {
                input_tokens: r.input_tokens.unwrap_or(0),
                output_tokens: r.output_tokens.unwrap_or(0),
                cached_input_tokens: r.input_cached_tokens.unwrap_or(0),
                audio_input_tokens: r.input_audio_tokens.unwrap_or(0),
                audio_output_tokens: r.output_audio_tokens.unwrap_or(0),
                ..TokenUsage::default()
            };
            if tokens.cached_input_tokens > tokens.input_tokens {
                return Err(Error::invalid(
                    format!("data[{bi}].results[{ri}].input_cached_tokens"),
                    "more cached input tokens than input tokens",
                ));
            }
            if tokens
                .cached_input_tokens
                .saturating_add(tokens.audio_input_tokens)
                > tokens.input_tokens
            {
                return Err(Error::invalid(
                    format!("data[{bi}].results[{ri}].input_audio_tokens"),
                    "cached and audio input tokens are more than the input tokens",
                ));
            }
            if tokens.audio_output_tokens > tokens.output_tokens {
                return Err(Error::invalid(
                    format!("data[{bi}].results[{ri}].output_audio_tokens"),
                    "more audio output tokens than output tokens",
                ));
            }
            out.push(UsageRecord {
                timestamp,
                provider: Some("openai".into()),
                model: r.model.filter(|m| !m.is_empty()),
                project: r.project_id,
                user: r.user_id,
                requests: r.num_model_requests.unwrap_or(0),
                tokens,
                service_tier: if r.batch == Some(true) {
                    crate::model::ServiceTier::Batch
                } else {
                    crate::model::ServiceTier::Standard
                },
                ..Default::default()
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CostPage<'a> {
    #[serde(borrow)]
    data: Vec<CostBucketJson<'a>>,
}

#[derive(Deserialize)]
struct CostBucketJson<'a> {
    start_time: i64,
    #[serde(borrow, default)]
    results: Vec<CostResult<'a>>,
}

#[derive(Deserialize)]
struct CostResult<'a> {
    #[serde(borrow)]
    amount: Amount<'a>,
    #[serde(default)]
    line_item: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
}

#[derive(Deserialize)]
struct Amount<'a> {
    #[serde(borrow)]
    value: &'a serde_json::value::RawValue,
    currency: String,
}

/// Read one page of the Costs API's response into cost rows: one per
/// result, dated by its bucket's `start_time` (UTC), provider `openai`,
/// `project_id` as project, `line_item` as the tag `line_item` (a line
/// item `<model>, <kind>`, as `gpt-4o-2024-08-06, cached input`, also sets
/// the model and the tag `token_class`: see [`line_item_class`]), and
/// `amount.value` read as an exact decimal from the JSON text in
/// `amount.currency`.
///
/// # Errors
/// [`Error::Invalid`] with the JSON path of a bad value
/// (`data[0].results[0].amount.value`); [`Error::Parse`] for malformed JSON.
pub fn read_openai_costs_page(json: &str) -> Result<Vec<crate::model::CostRow>> {
    let page: CostPage<'_> = crate::model::from_json(json)?;
    let mut out = Vec::new();
    for (bi, b) in page.data.into_iter().enumerate() {
        let timestamp = DateTime::<Utc>::from_timestamp(b.start_time, 0).ok_or_else(|| {
            Error::invalid(
                format!("data[{bi}].start_time"),
                format!("{} is not a valid Unix time", b.start_time),
            )
        })?;
        for (ri, r) in b.results.into_iter().enumerate() {
            let field = |f: &str| format!("data[{bi}].results[{ri}].amount.{f}");
            let text = r.amount.value.get().trim();
            let cost = crate::model::parse_decimal(text)
                .ok_or_else(|| Error::invalid(field("value"), format!("{text} is not a number")))?;
            let currency = crate::model::Currency::parse(&r.amount.currency)
                .map_err(|e| Error::invalid(field("currency"), e))?;
            let mut tags = std::collections::BTreeMap::new();
            let mut model = None;
            if let Some(item) = r.line_item.filter(|s| !s.is_empty()) {
                if let Some((m, class)) = line_item_class(&item) {
                    model = Some(m.to_owned());
                    tags.insert("token_class".to_owned(), class.as_str().to_owned());
                }
                tags.insert("line_item".to_owned(), item);
            }
            out.push(crate::model::CostRow {
                date: timestamp.date_naive(),
                timestamp: Some(timestamp),
                provider: Some("openai".into()),
                model,
                project: r.project_id,
                tags,
                cost,
                currency: Some(currency),
                ..Default::default()
            });
        }
    }
    Ok(out)
}

/// The model and token class of a Costs API line item written
/// `<model>, <kind>` (kind `input`, `cached input`, `output`, `audio input`,
/// `audio output`, `cache write`, case ignored); `None` for other line items
/// (`Web search tool calls`, `File search`...).
pub fn line_item_class(item: &str) -> Option<(&str, crate::model::TokenClass)> {
    use crate::model::TokenClass;
    let (model, kind) = item.rsplit_once(", ")?;
    let model = model.trim();
    let class = match kind.trim().to_ascii_lowercase().as_str() {
        "input" => TokenClass::Input,
        "cached input" => TokenClass::CacheRead,
        "cache write" | "cached write" => TokenClass::CacheWrite,
        "output" => TokenClass::Output,
        "audio input" => TokenClass::AudioInput,
        "audio output" => TokenClass::AudioOutput,
        _ => return None,
    };
    (!model.is_empty()).then_some((model, class))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pricing::{price_usage, PriceTable};
    use rust_decimal_macros::dec;

    /// The example response of openai/openai-openapi (MIT), unchanged.
    const EXAMPLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/llm/openai-openapi_example_usage_completions_response.json"
    ));

    #[test]
    fn reads_the_api_example() {
        let r = read_openai_usage_page(EXAMPLE).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].timestamp.to_rfc3339(), "2024-11-01T00:00:00+00:00");
        assert_eq!(r[0].requests, 5);
        assert_eq!(
            r[0].tokens,
            TokenUsage {
                input_tokens: 1000,
                output_tokens: 500,
                cached_input_tokens: 400,
                audio_input_tokens: 50,
                audio_output_tokens: 50,
                ..TokenUsage::default()
            }
        );
        assert_eq!(r[0].model, None);
        // Without a model it is reported, not priced at zero.
        let table = PriceTable::from_litellm_json(
            r#"{"gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                "cache_read_input_token_cost": 1.25e-06}}"#,
        )
        .unwrap();
        let priced = price_usage(r.clone(), &table).unwrap();
        assert!(priced.rows.is_empty());
        assert_eq!(priced.unpriced.requests_by_model[""], 5);
        // Grouped by model, it is priced with the cache-read price.
        let mut with_model = r;
        with_model[0].model = Some("gpt-4o-2024-08-06".into());
        let priced = price_usage(with_model, &table).unwrap();
        // The table has no audio price: the 50 audio input and 50 audio
        // output tokens are reported, the rest priced: 550 × 2.5e-6 +
        // 400 × 1.25e-6 + 450 × 1e-5.
        assert_eq!(priced.rows[0].cost, dec!(0.006375));
        assert_eq!(priced.rows[0].cached_requests, 5);
        assert_eq!(priced.partial.lines, 1);
        assert_eq!(
            priced
                .partial
                .unpriced_units
                .values()
                .copied()
                .collect::<Vec<_>>(),
            vec![50, 50]
        );
    }

    /// The Costs API example of openai/openai-openapi (MIT), unchanged.
    const COSTS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/llm/openai-openapi_example_costs_response.json"
    ));

    #[test]
    fn reads_the_costs_example_exactly() {
        let rows = read_openai_costs_page(COSTS).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].cost, dec!(0.06));
        assert_eq!(rows[0].currency, Some(crate::model::Currency::USD));
        assert_eq!(rows[0].date.to_string(), "2024-11-01");
        assert!(rows[0].tags.is_empty());
        let rows = read_openai_costs_page(
            r#"{"data":[{"start_time":0,"results":[{"amount":{"value":0.1000000000000000055511151231,"currency":"eur"},"line_item":"gpt-4o, input","project_id":"p1"}]}]}"#,
        )
        .unwrap();
        assert_eq!(rows[0].cost, dec!(0.1000000000000000055511151231));
        assert_eq!(rows[0].tags["line_item"], "gpt-4o, input");
        assert_eq!(rows[0].project.as_deref(), Some("p1"));
        let e = read_openai_costs_page(
            r#"{"data":[{"start_time":0,"results":[{"amount":{"value":"x","currency":"usd"}}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].amount.value"));
        let e = read_openai_costs_page(
            r#"{"data":[{"start_time":0,"results":[{"amount":{"value":1,"currency":"zzz"}}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].amount.currency"));
    }

    #[test]
    fn bad_values_name_their_path() {
        let e = read_openai_usage_page(
            r#"{"data":[{"start_time":0,"results":[{"input_tokens":"x"}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].input_tokens"));
        let e = read_openai_usage_page(
            r#"{"data":[{"start_time":0,"results":[{"input_tokens":1,"input_cached_tokens":2}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("data[0].results[0].input_cached_tokens"));
        assert!(matches!(
            read_openai_usage_page("{").unwrap_err(),
            Error::Parse { .. }
        ));
    }
}
