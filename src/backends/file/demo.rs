//! The real data bundled under `data/`, ready for examples and first runs.
//!
//! - [`focus_sample_rows`]: the FinOps Foundation's 1,000-row FOCUS 1.0
//!   sample (AWS, Microsoft, Oracle; September 2024; CC-BY-4.0), read with
//!   `BilledCost` as the cost (the sample's `EffectiveCost` is zero on most
//!   AWS rows), team from the `business_unit` tag, project from
//!   `application`, cost center from `CostCenter`.
//! - [`llm_trace_rows`]: the Azure LLM inference trace of code requests
//!   (8,819 real requests of 16 November 2023, 18:17 to 19:14 UTC;
//!   CC-BY-4.0), which has timestamps and token counts only. Each request
//!   gets a model, provider, team, project, user and feature chosen
//!   deterministically from its position, and is priced with the bundled
//!   LiteLLM price subset ([`price_table`]): 60% `gpt-4o-2024-08-06`, 30%
//!   `gpt-4o-mini`, 10% `claude-sonnet-4-5`, for a total of $35.12854510.
//! - [`demo_cost_source`]: both in one [`MemoryCostSource`] for one
//!   organization.
//!
//! The files are read at run time from this crate's `data/` directory
//! ([`data_dir`]), which ships with the crate's sources.
//!
//! ```
//! use tokentra_reports::backends::file::demo;
//! let rows = demo::llm_trace_rows()?;
//! assert_eq!(rows.len(), 8819);
//! let total: rust_decimal::Decimal = rows.iter().map(|r| r.cost).sum();
//! assert_eq!(total.to_string(), "35.12854510");
//! # Ok::<(), tokentra_reports::Error>(())
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::backends::file::focus::{read_focus_rows, FocusConfig, FocusCostColumn};
use crate::backends::file::llm_usage::read_usage_csv;
use crate::backends::memory::MemoryCostSource;
use crate::core::pricing::{price_usage, PriceTable};
use crate::model::{CostRow, OrganizationId, UsageRecord};
use crate::{Error, Result};

/// The crate's `data/` directory.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Path of the bundled FOCUS 1.0 sample.
pub fn focus_sample_path() -> PathBuf {
    data_dir().join("focus/finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv")
}

/// Path of the bundled Azure LLM code trace.
pub fn llm_trace_path() -> PathBuf {
    data_dir().join("llm/azurepublicdataset_AzureLLMInferenceTrace2023_code.csv")
}

/// Path of the bundled LiteLLM price subset.
pub fn price_table_path() -> PathBuf {
    data_dir().join("prices/litellm-1.110.2_model_prices_subset.json")
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::backend(
            "file",
            false,
            format!("cannot open {}: {e}", path.display()),
        )
    })
}

/// The mapping the demo reads the FOCUS sample with.
pub fn focus_demo_config() -> FocusConfig {
    FocusConfig {
        cost_column: FocusCostColumn::BilledCost,
        ..FocusConfig::default()
    }
}

/// The 1,000 rows of the bundled FOCUS sample (total $20.52022672899).
///
/// # Errors
/// `Error::Backend` (`file`) when the data directory is missing.
pub fn focus_sample_rows() -> Result<Vec<CostRow>> {
    let path = focus_sample_path();
    let (rows, _) = read_focus_rows(
        open(&path)?,
        &path.display().to_string(),
        focus_demo_config(),
    )?;
    Ok(rows)
}

/// The bundled LiteLLM price subset (652 chat models of OpenAI, Anthropic,
/// Azure, Gemini, Mistral and Bedrock).
///
/// # Errors
/// `Error::Backend` (`file`) when the data directory is missing.
pub fn price_table() -> Result<PriceTable> {
    let path = price_table_path();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::backend(
            "file",
            false,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    PriceTable::from_litellm_json(&text)
}

const MODELS: [(&str, &str); 10] = [
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
];
const TEAMS: [(&str, &str); 4] = [
    ("search", "CC-100"),
    ("ads", "CC-200"),
    ("platform", "CC-300"),
    ("research", "CC-400"),
];
const PROJECTS: [&str; 3] = ["copilot", "review-bot", "docs-assistant"];

/// Give request `i` of a trace its model, team, project, user and feature
/// (deterministic: a multiplicative hash of `i`).
fn assign(i: usize, r: &mut UsageRecord) {
    let h = (i as u64).wrapping_mul(2_654_435_761) % (1 << 32);
    let pick = |n: u64| usize::try_from(n).unwrap_or(0);
    let (provider, model) = MODELS[pick((h >> 8) % 10)];
    let (team, cost_center) = TEAMS[pick(h % 4)];
    r.provider = Some(provider.into());
    r.model = Some(model.into());
    r.team = Some(team.into());
    r.cost_center = Some(cost_center.into());
    r.project = Some(PROJECTS[pick((h >> 4) % 3)].into());
    r.user = Some(format!("dev-{:02}", (h >> 12) % 12 + 1));
    r.feature = Some(
        if r.tokens.output_tokens <= 30 {
            "code-completion"
        } else {
            "code-generation"
        }
        .into(),
    );
}

/// The Azure code trace as usage records with the demo's assignment, not
/// yet priced.
///
/// # Errors
/// `Error::Backend` (`file`) when the data directory is missing.
pub fn llm_trace_records() -> Result<Vec<UsageRecord>> {
    let path = llm_trace_path();
    let mut records = read_usage_csv(open(&path)?, &path.display().to_string())?;
    for (i, r) in records.iter_mut().enumerate() {
        assign(i, r);
    }
    Ok(records)
}

/// The Azure code trace priced with [`price_table`] (every model is known).
///
/// # Errors
/// `Error::Backend` (`file`) when the data directory is missing.
pub fn llm_trace_rows() -> Result<Vec<CostRow>> {
    price_usage(llm_trace_records()?, &price_table()?)?.require_all_priced()
}

/// Write a FOCUS file of `rows` data lines shaped like the bundled sample
/// (its header, then its 1,000 lines repeated in order), for benchmarks and
/// memory measurements. Returns the bytes written.
///
/// # Errors
/// `Error::Backend` (`file`) when the sample cannot be read or `out`
/// cannot be written.
pub fn write_repeated_focus_sample(out: &mut impl std::io::Write, rows: u64) -> Result<u64> {
    let path = focus_sample_path();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::backend(
            "file",
            false,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let io = |e: std::io::Error| Error::backend("file", false, e);
    let (header, body) = text.split_once('\n').unwrap_or((&text, ""));
    let lines: Vec<&str> = body.lines().filter(|l| !l.is_empty()).collect();
    let mut written = 0u64;
    out.write_all(header.as_bytes()).map_err(io)?;
    out.write_all(b"\n").map_err(io)?;
    written += header.len() as u64 + 1;
    if lines.is_empty() {
        return Ok(written);
    }
    for i in 0..rows {
        let line = lines[usize::try_from(i).unwrap_or(0) % lines.len()];
        out.write_all(line.as_bytes()).map_err(io)?;
        out.write_all(b"\n").map_err(io)?;
        written += line.len() as u64 + 1;
    }
    Ok(written)
}

/// A cost source holding the FOCUS sample and the priced trace for `org`.
///
/// # Errors
/// As [`focus_sample_rows`] and [`llm_trace_rows`].
pub fn demo_cost_source(org: OrganizationId) -> Result<MemoryCostSource> {
    let src = MemoryCostSource::with_rows(org, focus_sample_rows()?);
    src.insert(org, llm_trace_rows()?);
    Ok(src)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostQuery, DateRange, Dimension};
    use crate::ports::CostSource;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    #[test]
    fn price_subset_parses_every_model() {
        let t = price_table().unwrap();
        // 840 entries: sample_spec and 839 chat, embedding, transcription,
        // realtime and image models (the embeddings of Mistral without an
        // output price and whisper-1 with a per-second price only among
        // them).
        assert_eq!(t.len(), 839);
        assert_eq!(t.skipped(), 0);
        assert_eq!(
            t.get("claude-sonnet-4-5").unwrap().input_per_token,
            Some(dec!(0.000003))
        );
    }

    #[tokio::test]
    async fn priced_trace_matches_python_decimal() {
        // Figures from data/llm/figures.py.
        let rows = llm_trace_rows().unwrap();
        assert_eq!(rows.len(), 8819);
        let sum = |f: &dyn Fn(&CostRow) -> bool| -> Decimal {
            rows.iter().filter(|r| f(r)).map(|r| r.cost).sum()
        };
        assert_eq!(sum(&|_| true), dec!(35.12854510));
        let model = |m: &'static str| move |r: &CostRow| r.model.as_deref() == Some(m);
        assert_eq!(sum(&model("gpt-4o-2024-08-06")), dec!(28.4558800));
        assert_eq!(sum(&model("gpt-4o-mini")), dec!(0.86267910));
        assert_eq!(sum(&model("claude-sonnet-4-5")), dec!(5.809986));
        let team = |t: &'static str| move |r: &CostRow| r.team.as_deref() == Some(t);
        assert_eq!(sum(&team("search")), dec!(8.74203940));
        assert_eq!(sum(&team("research")), dec!(8.85410925));

        let org = OrganizationId::new();
        let src = demo_cost_source(org).unwrap();
        let range =
            DateRange::new("2023-11-01".parse().unwrap(), "2024-09-30".parse().unwrap()).unwrap();
        let by = src
            .aggregate(
                org,
                &CostQuery::total(range).group_by([Dimension::Provider]),
            )
            .await
            .unwrap();
        let m: BTreeMap<_, _> = by
            .iter()
            .map(|b| (b.keys[0].clone().unwrap_or_default(), b.cost))
            .collect();
        assert_eq!(m["AWS"], dec!(18.00663861840));
        assert_eq!(m["openai"], dec!(29.31855910));
        assert_eq!(m["anthropic"], dec!(5.809986));
    }

    #[test]
    fn savings_on_the_priced_trace() {
        use crate::core::aggregate::aggregate_rows;
        use crate::core::pricing::{
            model_spend_from_buckets, savings_recommendations, SavingsConfig,
        };
        use crate::model::Currency;
        let rows = llm_trace_rows().unwrap();
        let range = DateRange::day("2023-11-16".parse().unwrap());
        let q = CostQuery::total(range).group_by([Dimension::Provider, Dimension::Model]);
        let buckets = aggregate_rows(&rows, &q, Currency::USD).unwrap();
        let spend = model_spend_from_buckets(&buckets, 1, Some(0)).unwrap();
        assert_eq!(spend[0].model, "gpt-4o-2024-08-06");
        assert_eq!(spend[0].tokens.input_tokens, 10_777_124);
        let config = SavingsConfig {
            substitutes: BTreeMap::from([(
                "gpt-4o".to_owned(),
                vec!["gpt-4o-mini".to_owned(), "claude-haiku-4-5".to_owned()],
            )]),
            ..Default::default()
        };
        let recs = savings_recommendations(&spend, &price_table().unwrap(), &config, Currency::USD);
        // Figures from data/llm/figures.py; claude-haiku-4-5 is another
        // provider, so not a candidate.
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].threshold, dec!(1.70735280));
        assert_eq!(recs[0].potential_savings, Some(dec!(26.75)));
        assert_eq!(
            recs[0].message,
            "Moving 100% of gpt-4o-2024-08-06 to gpt-4o-mini would save $26.75"
        );
    }
}
