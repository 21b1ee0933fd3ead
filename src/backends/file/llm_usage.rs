//! LLM request logs (a gateway's, LiteLLM's...) as CSV or JSON Lines, read
//! into [`UsageRecord`]s to be priced with
//! [`price_usage`](crate::core::pricing::price_usage).
//!
//! Fields are found by name, ignoring case, `_`, `-` and spaces (so
//! `input_tokens`, `inputTokens` and `Input Tokens` are one field), in any
//! order; unknown fields are ignored:
//!
//! | field | also accepted as | |
//! |---|---|---|
//! | `timestamp` | `time`, `created_at`, `start_time` | required: RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC), or (JSON) Unix seconds |
//! | `provider`, `model`, `team`, `project`, `cost_center`, `feature`, `user` | `user_id` for user | text, empty or `null` = none |
//! | `input_tokens` | `prompt_tokens`, `context_tokens` | input tokens (default 0): see the conventions below |
//! | `output_tokens` | `completion_tokens`, `generated_tokens` | default 0 |
//! | `cached_input_tokens` | `cached_tokens`, `input_cached_tokens` | cache reads counted inside `input_tokens` (OpenAI), default 0 |
//! | `cache_read_input_tokens` | | cache reads counted apart from `input_tokens` (Anthropic), default 0 |
//! | `cache_creation_input_tokens` | `cache_write_tokens`, `ephemeral_5m_input_tokens` | 5-minute cache writes, apart from `input_tokens` (Anthropic), default 0 |
//! | `ephemeral_1h_input_tokens` | `cache_write_1h_tokens` | one-hour cache writes, apart from `input_tokens` (Anthropic), default 0 |
//! | `reasoning_tokens` | | reasoning tokens, a part of `output_tokens` (OpenAI's `completion_tokens_details`; Anthropic counts thinking in `output_tokens` too), default 0 |
//! | `audio_input_tokens` | `input_audio_tokens` | audio prompt tokens, a part of `input_tokens`, default 0 |
//! | `audio_output_tokens` | `output_audio_tokens` | audio output tokens, a part of `output_tokens`, default 0 |
//! | `images` | `images_generated` | images generated, default 0 |
//! | `audio_seconds` | | whole seconds of audio transcribed, default 0 |
//! | `web_search_calls` | `web_search_requests` | web search calls, default 0 |
//! | `service_tier` | `tier` | `standard` (also `default`, `auto`), `batch`, `priority`, `flex` |
//! | `batch` | `is_batch` | `true`/`false`/`1`/`0`: a batch API request |
//! | `requests` | `num_model_requests` | default 1 |
//! | `cost` | | optional exact decimal; when present the line is not priced |
//! | `currency` | | ISO 4217 code of `cost` |
//!
//! ## Token conventions
//!
//! | provider's usage | input tokens | cache reads | cache writes |
//! |---|---|---|---|
//! | OpenAI (`prompt_tokens`, `prompt_tokens_details.cached_tokens`) | include the cache reads | `cached_tokens`, a part of the input | none |
//! | Anthropic (`input_tokens`, `cache_read_input_tokens`, `cache_creation_input_tokens`) | exclude cache reads and writes | counted apart | counted apart (5-minute; `ephemeral_1h_input_tokens` one-hour) |
//!
//! A record's [`TokenUsage`] counts every prompt token in `input_tokens`
//! (the OpenAI way): Anthropic's counts are added to it.
//!
//! So the Azure LLM inference traces (`TIMESTAMP,ContextTokens,GeneratedTokens`)
//! read as they are. JSON numbers are read from their text (exact
//! decimals). Errors name the input, line and column (CSV) or field (JSON).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::value::RawValue;

use crate::backends::file::focus::{is_blank, parse_timestamp};
use crate::model::{Currency, ServiceTier, TokenUsage, UsageRecord};
use crate::{Error, Result};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Timestamp,
    Provider,
    Model,
    Team,
    Project,
    CostCenter,
    Feature,
    User,
    Input,
    Output,
    Cached,
    CacheRead,
    CacheWrite,
    CacheWrite1h,
    Reasoning,
    AudioInput,
    AudioOutput,
    Images,
    AudioSeconds,
    WebSearch,
    Tier,
    Batch,
    Requests,
    Cost,
    Currency,
}

fn field_of(name: &str) -> Option<Field> {
    let n: String = name
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match n.as_str() {
        "timestamp" | "time" | "createdat" | "starttime" => Field::Timestamp,
        "provider" => Field::Provider,
        "model" => Field::Model,
        "team" => Field::Team,
        "project" | "projectid" => Field::Project,
        "costcenter" => Field::CostCenter,
        "feature" => Field::Feature,
        "user" | "userid" => Field::User,
        "inputtokens" | "prompttokens" | "contexttokens" => Field::Input,
        "outputtokens" | "completiontokens" | "generatedtokens" => Field::Output,
        "cachedinputtokens" | "cachedtokens" | "inputcachedtokens" => Field::Cached,
        "cachereadinputtokens" => Field::CacheRead,
        "cachecreationinputtokens" | "cachewritetokens" | "ephemeral5minputtokens" => {
            Field::CacheWrite
        }
        "ephemeral1hinputtokens" | "cachewrite1htokens" => Field::CacheWrite1h,
        "reasoningtokens" => Field::Reasoning,
        "audioinputtokens" | "inputaudiotokens" => Field::AudioInput,
        "audiooutputtokens" | "outputaudiotokens" => Field::AudioOutput,
        "images" | "imagesgenerated" => Field::Images,
        "audioseconds" => Field::AudioSeconds,
        "websearchcalls" | "websearchrequests" => Field::WebSearch,
        "servicetier" | "tier" => Field::Tier,
        "batch" | "isbatch" => Field::Batch,
        "requests" | "nummodelrequests" => Field::Requests,
        "cost" => Field::Cost,
        "currency" => Field::Currency,
        _ => return None,
    })
}

/// Build a record from a field getter; `bad(field, what)` makes the error.
fn record_from<'a>(
    get: impl Fn(Field) -> Option<Cow<'a, str>>,
    bad: impl Fn(Field, &str) -> Error,
    missing: impl Fn(&str) -> Error,
) -> Result<UsageRecord> {
    let text = |f: Field| {
        get(f)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let count = |f: Field, default: u64| -> Result<u64> {
        match text(f) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .or_else(|_| {
                    // JSON writers sometimes write 12.0 for a count.
                    v.parse::<Decimal>()
                        .ok()
                        .filter(|d| d.fract().is_zero() && !d.is_sign_negative())
                        .and_then(|d| u64::try_from(d).ok())
                        .ok_or(())
                })
                .map_err(|_| bad(f, "not a non-negative integer")),
        }
    };
    let ts_text = text(Field::Timestamp).ok_or_else(|| missing("timestamp"))?;
    let timestamp = parse_timestamp(&ts_text)
        .or_else(|| {
            ts_text
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        })
        .ok_or_else(|| bad(Field::Timestamp, "not a timestamp"))?;
    let cost = match text(Field::Cost) {
        None => None,
        Some(v) => Some(
            crate::model::parse_decimal(&v)
                .ok_or_else(|| bad(Field::Cost, "not a decimal number"))?,
        ),
    };
    let currency = match text(Field::Currency) {
        None => None,
        Some(v) => {
            Some(Currency::parse(&v).map_err(|_| bad(Field::Currency, "not an ISO 4217 code"))?)
        }
    };
    // Anthropic counts cache reads and writes apart from the input tokens;
    // a record counts them inside (see the module docs).
    let read_apart = count(Field::CacheRead, 0)?;
    let write = count(Field::CacheWrite, 0)?;
    let write_1h = count(Field::CacheWrite1h, 0)?;
    let input = count(Field::Input, 0)?
        .checked_add(read_apart)
        .and_then(|n| n.checked_add(write))
        .and_then(|n| n.checked_add(write_1h))
        .ok_or_else(|| bad(Field::Input, "too many tokens"))?;
    let cached_inside = count(Field::Cached, 0)?;
    let tokens = TokenUsage {
        input_tokens: input,
        output_tokens: count(Field::Output, 0)?,
        cached_input_tokens: cached_inside
            .checked_add(read_apart)
            .ok_or_else(|| bad(Field::Cached, "too many tokens"))?,
        cache_write_tokens: write,
        cache_write_1h_tokens: write_1h,
        reasoning_tokens: count(Field::Reasoning, 0)?,
        audio_input_tokens: count(Field::AudioInput, 0)?,
        audio_output_tokens: count(Field::AudioOutput, 0)?,
        images: count(Field::Images, 0)?,
        audio_seconds: count(Field::AudioSeconds, 0)?,
        web_search_calls: count(Field::WebSearch, 0)?,
    };
    if cached_inside > input {
        return Err(bad(
            Field::Cached,
            "more cached input tokens than input tokens",
        ));
    }
    if tokens
        .cached_input_tokens
        .saturating_add(write)
        .saturating_add(write_1h)
        .saturating_add(tokens.audio_input_tokens)
        > input
    {
        return Err(bad(
            Field::AudioInput,
            "cache and audio input tokens are more than the input tokens",
        ));
    }
    if tokens
        .reasoning_tokens
        .saturating_add(tokens.audio_output_tokens)
        > tokens.output_tokens
    {
        return Err(bad(
            Field::Reasoning,
            "reasoning and audio output tokens are more than the output tokens",
        ));
    }
    let batch = match text(Field::Batch).map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) => match v.as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err(bad(Field::Batch, "not true or false")),
        },
    };
    let service_tier = match text(Field::Tier).map(|v| v.to_ascii_lowercase()) {
        None => ServiceTier::Standard,
        Some(v) => match v.as_str() {
            "standard" | "default" | "auto" | "on_demand" => ServiceTier::Standard,
            "batch" => ServiceTier::Batch,
            "priority" => ServiceTier::Priority,
            "flex" => ServiceTier::Flex,
            _ => {
                return Err(bad(
                    Field::Tier,
                    "not a service tier (standard, batch, priority, flex)",
                ))
            }
        },
    };
    let service_tier = if batch {
        ServiceTier::Batch
    } else {
        service_tier
    };
    Ok(UsageRecord {
        timestamp,
        provider: text(Field::Provider),
        model: text(Field::Model),
        team: text(Field::Team),
        project: text(Field::Project),
        cost_center: text(Field::CostCenter),
        feature: text(Field::Feature),
        user: text(Field::User),
        requests: count(Field::Requests, 1)?,
        tokens,
        service_tier,
        prompt_tokens: None,
        cost,
        currency,
    })
}

/// Read a request log from CSV with a header line (see the module docs for
/// the columns). `source` names the input in errors.
///
/// # Errors
/// [`Error::Parse`] naming the line and column of a bad cell, or the line
/// of a row without a timestamp; a header without a timestamp column.
pub fn read_usage_csv<R: Read>(reader: R, source: &str) -> Result<Vec<UsageRecord>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| parse_err(source, e.position().map(|p| p.line()), &e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut cols: BTreeMap<u8, usize> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(f) = field_of(h) {
            cols.entry(f as u8).or_insert(i);
        }
    }
    if !cols.contains_key(&(Field::Timestamp as u8)) {
        return Err(parse_err(
            source,
            Some(1),
            "the header has no timestamp column",
        ));
    }
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(parse_err(
                    source,
                    e.position().map(|p| p.line()),
                    &e.to_string(),
                ))
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if is_blank(&rec) {
            continue;
        }
        if rec.len() != headers.len() {
            return Err(parse_err(
                source,
                Some(line),
                &format!(
                    "the line has {} fields, the header {}",
                    rec.len(),
                    headers.len()
                ),
            ));
        }
        let cell = |f: Field| {
            cols.get(&(f as u8))
                .and_then(|&i| rec.get(i))
                .map(|v| v.strip_suffix('\r').unwrap_or(v))
                .filter(|v| !v.is_empty() && *v != "NULL")
                .map(Cow::Borrowed)
        };
        let bad = |f: Field, what: &str| {
            let i = cols.get(&(f as u8)).copied().unwrap_or(0);
            let v = rec.get(i).unwrap_or_default();
            Error::Parse {
                location: format!(
                    "{source}: line {line}, column {} ({})",
                    i + 1,
                    headers.get(i).map_or("", String::as_str)
                ),
                reason: format!("{what}: {:?}", v.strip_suffix('\r').unwrap_or(v)),
            }
        };
        let missing = |name: &str| parse_err(source, Some(line), &format!("no {name}"));
        out.push(record_from(cell, bad, missing)?);
    }
    Ok(out)
}

/// Read a request log in JSON Lines: one JSON object per line (blank lines
/// are skipped; see the module docs for the fields).
///
/// # Errors
/// [`Error::Parse`] naming the line and the field of a bad value, or the
/// line of text that is not a JSON object.
pub fn read_usage_jsonl<R: BufRead>(reader: R, source: &str) -> Result<Vec<UsageRecord>> {
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line_no = n + 1;
        let line = line.map_err(|e| Error::backend("file", false, format!("{source}: {e}")))?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let obj: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|e| {
            parse_err(
                source,
                Some(line_no as u64),
                &format!("not a JSON object: {e}"),
            )
        })?;
        let mut fields: BTreeMap<u8, (&str, &RawValue)> = BTreeMap::new();
        for (k, v) in &obj {
            if let Some(f) = field_of(k) {
                fields.entry(f as u8).or_insert((k.as_str(), v));
            }
        }
        let value = |f: Field| -> Option<Cow<'_, str>> {
            let (_, raw) = fields.get(&(f as u8))?;
            let t = raw.get().trim();
            if t == "null" {
                return None;
            }
            if t.starts_with('"') {
                return serde_json::from_str::<String>(t).ok().map(Cow::Owned);
            }
            Some(Cow::Borrowed(t))
        };
        let bad = |f: Field, what: &str| {
            let (name, raw) = fields
                .get(&(f as u8))
                .map_or(("?", ""), |(k, v)| (*k, v.get()));
            Error::Parse {
                location: format!("{source}: line {line_no}, field `{name}`"),
                reason: format!("{what}: {raw}"),
            }
        };
        let missing = |name: &str| parse_err(source, Some(line_no as u64), &format!("no {name}"));
        out.push(record_from(value, bad, missing)?);
    }
    Ok(out)
}

fn parse_err(source: &str, line: Option<u64>, reason: &str) -> Error {
    Error::Parse {
        location: match line {
            Some(l) => format!("{source}: line {l}"),
            None => source.to_owned(),
        },
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn csv_with_any_spelling_of_the_columns() {
        let csv = "Timestamp,Provider,Model,Team,Project,User,Feature,Input Tokens,outputTokens,cached_tokens,cost\r\n\
                   2026-10-01T10:00:00Z,openai,gpt-4o,search,alpha,u1,chat,1000,200,400,\r\n\
                   2026-10-01 11:00:00.5,anthropic,claude,ads,,u2,,10,5,0,0.0123\r\n\r\n";
        let r = read_usage_csv(csv.as_bytes(), "log.csv").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].tokens.cached_input_tokens, 400);
        assert_eq!(r[0].requests, 1);
        assert_eq!(r[0].cost, None);
        assert_eq!(r[0].feature.as_deref(), Some("chat"));
        assert_eq!(r[1].cost, Some(dec!(0.0123)));
        assert_eq!(r[1].project, None);
        assert_eq!(r[1].timestamp.to_rfc3339(), "2026-10-01T11:00:00.500+00:00");
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let csv = "timestamp,input_tokens\n2026-10-01T10:00:00Z,1\n2026-10-01T10:00:00Z,-1\n";
        let e = read_usage_csv(csv.as_bytes(), "log.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse log.csv: line 3, column 2 (input_tokens): not a non-negative integer: \"-1\""
        );
        let e = read_usage_csv("model\nx\n".as_bytes(), "l.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse l.csv: line 1: the header has no timestamp column"
        );
        let csv = "timestamp,input_tokens,cached_tokens\n2026-10-01T10:00:00Z,1,2\n";
        let e = read_usage_csv(csv.as_bytes(), "l.csv").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot parse l.csv: line 2, column 3 (cached_tokens)"),
            "{e}"
        );
    }

    #[test]
    fn json_lines_with_exact_costs_and_unix_times() {
        let jsonl = r#"{"timestamp":"2026-10-01T10:00:00Z","model":"openai/gpt-4o","prompt_tokens":100,"completion_tokens":20,"team":"search","cost":0.1000000000000000055511151231}

{"created_at":1730419200,"model":"gpt-4o-mini","inputTokens":5,"requests":3,"user":null,"cost":"2.5e-06"}
"#;
        let r = read_usage_jsonl(jsonl.as_bytes(), "log.jsonl").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].cost, Some(dec!(0.1000000000000000055511151231)));
        assert_eq!(r[0].tokens.input_tokens, 100);
        assert_eq!(r[0].tokens.output_tokens, 20);
        assert_eq!(r[1].timestamp.to_rfc3339(), "2024-11-01T00:00:00+00:00");
        assert_eq!(r[1].requests, 3);
        assert_eq!(r[1].user, None);
        assert_eq!(r[1].cost, Some(dec!(0.0000025)));
        let e = read_usage_jsonl(
            "{\"timestamp\":\"2026-10-01T10:00:00Z\",\"output_tokens\":\"many\"}\n".as_bytes(),
            "l.jsonl",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse l.jsonl: line 1, field `output_tokens`: not a non-negative integer: \"many\""
        );
        let e = read_usage_jsonl("[1]\n".as_bytes(), "l.jsonl").unwrap_err();
        assert!(matches!(e, Error::Parse { ref location, .. } if location == "l.jsonl: line 1"));
        let e = read_usage_jsonl("{\"model\":\"x\"}\n".as_bytes(), "l.jsonl").unwrap_err();
        assert_eq!(e.to_string(), "cannot parse l.jsonl: line 1: no timestamp");
    }
}
