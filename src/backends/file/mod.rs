//! File-based cost data: cost rows from CSV, FOCUS billing exports
//! ([`focus`]), LLM request logs priced from a price table ([`llm_usage`]),
//! the providers' usage and cost API pages ([`openai_usage`],
//! [`anthropic_usage`]; fetched by `backends::provider_api` with the
//! `provider-api` feature), and the bundled demo data ([`demo`]).

pub mod anthropic_usage;
pub mod demo;
pub mod focus;
#[cfg(feature = "parquet")]
pub mod focus_parquet;
pub mod llm_usage;
pub mod openai_usage;
mod rows_csv;

pub use anthropic_usage::{
    anthropic_token_class, next_page, read_anthropic_cost_page, read_anthropic_usage_page,
};
pub use focus::{
    FocusConfig, FocusCostColumn, FocusCostSource, FocusModelColumn, FocusReader, FocusVersion,
};
pub use llm_usage::{read_usage_csv, read_usage_jsonl};
pub use openai_usage::{line_item_class, read_openai_costs_page, read_openai_usage_page};
pub use rows_csv::read_cost_rows_csv;
