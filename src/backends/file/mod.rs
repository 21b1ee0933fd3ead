//! File-based cost data: cost rows from CSV, FOCUS billing exports
//! ([`focus`]), LLM request logs priced from a price table ([`llm_usage`],
//! [`openai_usage`]), and the bundled demo data ([`demo`]).

pub mod focus;
mod rows_csv;

pub use focus::{FocusConfig, FocusCostColumn, FocusCostSource, FocusModelColumn, FocusReader};
pub use rows_csv::read_cost_rows_csv;
