//! JSON: the report document itself, with its `schemaVersion`, decimals as
//! strings and dates in ISO 8601.
//!
//! # Schema (version [`REPORT_SCHEMA_VERSION`](crate::model::REPORT_SCHEMA_VERSION))
//!
//! The file is the serde form of [`ReportDocument`]: camelCase keys,
//! snake_case enum values. It is versioned by `schemaVersion`, bumped on any
//! change that is not the addition of an optional field, so consumers can
//! reject versions they do not know.
//!
//! - Amounts (`totalCost`, `cost`, `share`, `percentChange`...) are JSON
//!   **strings** holding exact decimals (`"12345.67"`), which is what
//!   `rust_decimal`'s `serde` feature writes; no precision is lost to floats.
//!   Readers accept strings and numbers.
//! - Counts (`totalRequests`, `tokens`) are JSON integers.
//! - Dates are ISO 8601: days `"2026-03-01"`, bucket starts
//!   `"2026-03-01T00:00:00"` (naive, in the report's time zone),
//!   `generatedAt` in UTC `"2026-04-01T06:00:00Z"`.
//! - `currency` is the ISO 4217 code that applies to every amount.
//! - `sections` lists what the report shows, in order; data for other
//!   sections may be present and is then not part of the rendered report.

use crate::model::{Artifact, ReportDocument, ReportFormat};
use crate::ports::{RenderedReport, Renderer};
use crate::{Error, Result};

/// Renders the [`ReportDocument`] as pretty-printed JSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonRenderer;

impl Renderer for JsonRenderer {
    fn format(&self) -> ReportFormat {
        ReportFormat::Json
    }

    fn render(&self, doc: &ReportDocument) -> Result<RenderedReport> {
        let bytes = serde_json::to_vec_pretty(doc).map_err(|e| Error::Render {
            format: "json",
            message: e.to_string(),
        })?;
        Ok(RenderedReport {
            artifact: Artifact {
                file_name: format!("{}.json", file_stem(doc)),
                media_type: ReportFormat::Json.media_type().to_owned(),
                bytes,
            },
            page_count: None,
        })
    }
}

/// A safe file name stem for a document: its title reduced to ASCII letters,
/// digits and dashes, then the period.
pub fn file_stem(doc: &ReportDocument) -> String {
    let mut stem = String::new();
    for ch in doc.title.chars() {
        if ch.is_ascii_alphanumeric() {
            stem.push(ch.to_ascii_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
        if stem.len() >= 60 {
            break;
        }
    }
    let stem = stem.trim_end_matches('-');
    let stem = if stem.is_empty() { "report" } else { stem };
    format!("{stem}-{}-{}", doc.date_range.start, doc.date_range.end)
}
