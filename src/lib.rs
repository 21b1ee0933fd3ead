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
//! | `pdf` | PDF rendering (typst) | yes |
//! | `html` | HTML pages and e-mail (minijinja) | yes |
//! | `xlsx` | Excel workbooks | no |
//! | `sqlite` | SQLite store and cost source (sqlx) | no |
//! | `postgres` | PostgreSQL store and cost source (sqlx) | no |
//! | `smtp` | `backends::smtp`: e-mail delivery (lettre, rustls) | no |
//! | `slack` | `backends::slack`: Slack delivery (reqwest, rustls), with `backends::http` | no |
//! | `webhook` | `backends::webhook`: Standard Webhooks signing and `verify`, with `backends::http` | no |
//!
//! ## Wiring an engine
//!
//! ```
//! use std::sync::Arc;
//! use chrono::{TimeZone, Utc};
//! use rust_decimal::Decimal;
//! use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
//! use tokentra_reports::engine::Engine;
//! use tokentra_reports::model::{CostQuery, CostRow, DateRange, Dimension, OrganizationId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> tokentra_reports::Result<()> {
//! let org = OrganizationId::new();
//! let rows: Vec<CostRow> = serde_json::from_str(r#"[
//!     {"date":"2026-10-01","provider":"openai","model":"gpt-4o","team":"search","cost":"12.50","requests":10},
//!     {"date":"2026-10-02","provider":"anthropic","model":"claude-3-5-sonnet","team":"ads","cost":"7.25","requests":4}
//! ]"#)?;
//! let engine = Engine::builder()
//!     .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
//!     .store(Arc::new(MemoryStore::new()))
//!     .clock(Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap())))
//!     .build()?;
//!
//! let october = DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap())?;
//! let by_team = engine
//!     .costs()
//!     .aggregate(org, &CostQuery::total(october).group_by([Dimension::Team]))
//!     .await?;
//! let total: Decimal = by_team.iter().map(|b| b.cost).sum();
//! assert_eq!(total.to_string(), "19.75");
//! # Ok(())
//! # }
//! ```
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
