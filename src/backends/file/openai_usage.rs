//! Responses of the OpenAI organization Usage API
//! (`GET /v1/organization/usage/completions`): pages of time buckets, each
//! with results grouped by project, user, API key, model...
//!
//! Each result becomes one [`UsageRecord`] at its bucket's `start_time`,
//! provider `openai`, with `model`, `project_id` as project, `user_id` as
//! user, `num_model_requests` as requests, `input_tokens` (which include
//! the cached ones), `input_cached_tokens` and `output_tokens`. A result
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
    num_model_requests: Option<u64>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    model: Option<String>,
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
            };
            if tokens.cached_input_tokens > tokens.input_tokens {
                return Err(Error::invalid(
                    format!("data[{bi}].results[{ri}].input_cached_tokens"),
                    "more cached input tokens than input tokens",
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
                ..Default::default()
            });
        }
    }
    Ok(out)
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
                cached_input_tokens: 400
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
        assert_eq!(priced.rows[0].cost, dec!(0.007));
        assert_eq!(priced.rows[0].cached_requests, 5);
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
