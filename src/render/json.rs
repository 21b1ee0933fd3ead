//! JSON: the report document itself, with its `schemaVersion`, decimals as
//! strings and dates in ISO 8601.

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
