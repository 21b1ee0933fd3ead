//! # tokentra-reports
//!
//! Reports on what a company spends on AI/LLM APIs, for embedding in a Rust
//! host application. From cost data it builds executive, team, project,
//! chargeback, anomaly and forecast reports; renders them to PDF, HTML, CSV
//! and JSON; runs them on schedules in any time zone; sends per-user digests;
//! allocates costs for chargeback with an approval workflow; delivers by
//! e-mail, Slack and signed webhooks; and keeps an archive with expiring
//! download links.
//!
//! ## The picture
//!
//! ```text
//!   backends ──> ports ──> model        engine ──> ports + core
//!   render   ──> model + core           core   ──> model
//! ```
//!
//! - [`model`]: plain serde data in the specification's JSON shape. Money is
//!   [`rust_decimal::Decimal`], never a float.
//! - [`core`]: pure logic (aggregation, periods, schedules, allocation,
//!   insights): no I/O, no clock, not async.
//! - [`ports`]: the five traits a host wires: [`CostSource`](ports::CostSource),
//!   [`ReportStore`](ports::ReportStore), [`Renderer`](ports::Renderer),
//!   [`Deliverer`](ports::Deliverer), [`Clock`](ports::Clock).
//! - [`engine`]: orchestration over the ports.
//! - [`render`]: one renderer per format.
//! - [`backends`]: implementations of the ports.
//!
//! ## Backends and features
//!
//! | feature | brings | default |
//! |---|---|---|
//! | (none) | [`backends::memory`]: store, cost source, recording deliverer, clocks; JSON rendering; [`backends::routing`]: per-kind delivery routing, user resolution | always |
//! | (none) | [`backends::file`]: cost rows from CSV, FOCUS billing exports ([`FocusCostSource`](backends::file::FocusCostSource)), LLM request logs and the OpenAI and Anthropic usage and cost reports priced with a LiteLLM price table ([`core::pricing`]); FOCUS 1.0 to 1.4 export of rows, report detail and chargeback allocations, and passthrough ([`render::focus`]) | always |
//! | `pdf` | PDF rendering (typst) | yes |
//! | `html` | HTML pages and e-mail (minijinja) | yes |
//! | `xlsx` | Excel workbooks | no |
//! | `sqlite` | SQLite store and cost source (sqlx) | no |
//! | `postgres` | PostgreSQL store and cost source (sqlx): due runs claimed with `FOR UPDATE SKIP LOCKED` across engines, a report's aggregates answered by one `GROUPING SETS` statement | no |
//! | `smtp` | `backends::smtp`: e-mail delivery (lettre, rustls) | no |
//! | `slack` | `backends::slack`: Slack delivery (reqwest, rustls), with `backends::http` | no |
//! | `webhook` | `backends::webhook`: Standard Webhooks signing and `verify`, with `backends::http` | no |
//! | `parquet` | `backends::file::focus_parquet`: FOCUS exports in Parquet, read and written streamed by record batch (arrow-rs `parquet`) | no |
//! | `provider-api` | `backends::provider_api`: OpenAI's Usage and Costs APIs and Anthropic's usage and cost reports, paged and rate-limited (reqwest, rustls), with `backends::http` | no |
//!
//! ## Wiring an engine
//!
//! ```
//! use std::sync::Arc;
//! use chrono::{TimeZone, Utc};
//! use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
//! use tokentra_reports::engine::Engine;
//! use tokentra_reports::model::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> tokentra_reports::Result<()> {
//! let org = OrganizationId::new();
//! let rows: Vec<CostRow> = serde_json::from_str(r#"[
//!     {"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search","cost":"12.50","requests":10},
//!     {"date":"2026-10-02","provider":"anthropic","model":"claude-sonnet-4-5","team":"ads","cost":"7.25","requests":4}
//! ]"#)?;
//! let engine = Engine::builder()
//!     .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
//!     .store(Arc::new(MemoryStore::new()))
//!     .clock(Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap())))
//!     .build()?;
//!
//! // An executive report of last month (October), as JSON.
//! let result = engine
//!     .generate(
//!         org,
//!         GenerateReportRequest {
//!             report_type: Some(ReportType::Executive),
//!             date_preset: Some(DateRangePreset::LastMonth),
//!             format: ReportFormat::Json,
//!             ..Default::default()
//!         },
//!         None,
//!     )
//!     .await?;
//! assert_eq!(result.status, ReportStatus::Completed);
//! let summary = result.summary.unwrap();
//! assert_eq!(summary.total_cost.to_string(), "19.75");
//! assert_eq!(summary.top_provider.as_deref(), Some("openai"));
//!
//! // It is in the archive, with its file.
//! let report = engine.get_report(org, result.report_id).await?;
//! assert_eq!(report.name, "Executive Summary October 2026");
//! # Ok(())
//! # }
//! ```
//!
//! ## Reports by reader
//!
//! Each report type is laid out for its reader ([`render::readers`]): a
//! one-page overview for leadership (executive), a page per team or project,
//! a chargeback statement that ties out to the cent with its rules and
//! approval, anomalies with baseline charts and what moved (volume, model
//! mix, cache rate, price), and forecasts of next month and next quarter
//! with their error on past data. `cargo run --example report_gallery`
//! writes one of each.
//!
//! ## Errors
//!
//! One [`Error`] type. Validation errors name the JSON path of the offending
//! value (`scheduleConfig.timezone`, `allocationRules[0].percentage`); backend
//! errors say whether a retry may help ([`Error::is_retryable`]).

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod backends;
pub mod core;
pub mod engine;
mod error;
pub mod model;
pub mod ports;
pub mod render;

pub use error::{BoxError, Error, Result};
