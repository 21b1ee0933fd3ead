//! PDF through typst: native layout, embedded Inter fonts, no browser.
//!
//! The main template (`report.typ`, embedded) reads the report from the
//! virtual file `/data.cbor` (`cbor("/data.cbor")`; the same data is also at
//! `/data.json`, but typst reads its numbers as dictionaries because the crate
//! turns on serde_json's `arbitrary_precision`), a [`ReportView`] serialized by Rust, so user
//! strings are data, never markup, and money is formatted from exact
//! decimals. Fonts and typst's standard library are loaded once per process
//! and shared by every render. After each render typst's memoization cache is
//! trimmed ([`typst::comemo::evict`]) so a long-running process stays
//! bounded (see `examples/pdf_memory.rs`).
//!
//! Output is deterministic: the PDF's creation date is the report's
//! `generatedAt` and its `/ID` is derived from the report data, so the same
//! document gives byte-identical files (which an archive can checksum).

mod fit;
mod world;

use std::sync::Arc;

use chrono::{Datelike, Timelike};
use serde::Serialize;
use typst::diag::{Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{DiagSpanKind, Source};
use typst::WorldExt;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use crate::model::{Artifact, LogoFormat, ReportDocument, ReportFormat};
use crate::ports::{RenderedReport, Renderer};
use crate::render::json::file_stem;
use crate::render::view::ReportView;
use crate::{Error, Result};

use world::ReportWorld;

/// The embedded main template.
pub const DEFAULT_TEMPLATE: &str = include_str!("report.typ");

/// Paper size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PaperSize {
    /// ISO A4 (210 × 297 mm).
    #[default]
    A4,
    /// US Letter (8.5 × 11 in).
    UsLetter,
}

impl PaperSize {
    fn typst_name(self) -> &'static str {
        match self {
            PaperSize::A4 => "a4",
            PaperSize::UsLetter => "us-letter",
        }
    }

    /// Width between the embedded template's margins (16 mm each side), in
    /// points.
    fn content_width(self) -> f64 {
        let margins = 2.0 * 16.0 / 25.4 * 72.0;
        match self {
            PaperSize::A4 => 210.0 / 25.4 * 72.0 - margins,
            PaperSize::UsLetter => 8.5 * 72.0 - margins,
        }
    }
}

/// How many rounds of `comemo::evict` a memoized result survives unused.
/// Small enough that memory stays bounded, large enough that the fonts and
/// the template stay warm between renders.
const CACHE_MAX_AGE: usize = 3;

/// Renders reports as PDF.
#[derive(Clone, Debug)]
pub struct PdfRenderer {
    paper: PaperSize,
    pdf_a: bool,
    template: Arc<str>,
}

impl Default for PdfRenderer {
    fn default() -> Self {
        PdfRenderer {
            paper: PaperSize::A4,
            pdf_a: false,
            template: Arc::from(DEFAULT_TEMPLATE),
        }
    }
}

#[derive(Serialize)]
struct PdfData<'a> {
    #[serde(flatten)]
    view: &'a ReportView,
    paper: &'static str,
    logo: Option<&'static str>,
}

impl PdfRenderer {
    /// A4 and the embedded template.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use another paper size.
    pub fn paper(mut self, paper: PaperSize) -> Self {
        self.paper = paper;
        self
    }

    /// Produce PDF/A-2b (for archiving) instead of plain PDF 1.7.
    pub fn pdf_a(mut self, yes: bool) -> Self {
        self.pdf_a = yes;
        self
    }

    /// Replace the main template with the host's own typst source. It reads
    /// the same `cbor("/data.cbor")`; errors in it surface as
    /// [`Error::Render`] with the typst message and line.
    pub fn with_template(mut self, source: impl Into<String>) -> Self {
        self.template = Arc::from(source.into());
        self
    }

    /// Render `doc` to PDF bytes and the page count.
    pub fn render_pdf(&self, doc: &ReportDocument) -> Result<(Vec<u8>, u32)> {
        let result = self.compile(doc);
        // Trim typst's memo cache on every path, including errors.
        typst::comemo::evict(CACHE_MAX_AGE);
        result
    }

    fn compile(&self, doc: &ReportDocument) -> Result<(Vec<u8>, u32)> {
        let ids = world::ids().ok_or_else(|| render_err("cannot create typst file ids"))?;
        let mut view = ReportView::build(doc, true);
        if let Some(faces) = fit::Faces::get() {
            let content_width = self.paper.content_width();
            for table in view.sections.iter_mut().flat_map(|s| s.tables_mut()) {
                table.fit = fit::fit(faces, table, content_width);
            }
        }
        // A logo that fails its content checks (stored before they existed)
        // is left out rather than handed to the SVG or PNG decoder.
        let logo = doc
            .branding
            .logo
            .as_ref()
            .filter(|l| l.validate().is_ok())
            .map(|l| match l.format {
                LogoFormat::Png => (ids.logo_png, "/logo.png", l.data.clone()),
                LogoFormat::Svg => (ids.logo_svg, "/logo.svg", l.data.clone()),
            });
        let data = PdfData {
            view: &view,
            paper: self.paper.typst_name(),
            logo: logo.as_ref().map(|l| l.1),
        };
        let json = serde_json::to_string(&data).map_err(|e| render_err(e.to_string()))?;
        // The template reads CBOR: typst parses JSON with serde_json, whose
        // `arbitrary_precision` (on for exact money in JSON) would hand it
        // every number as a dictionary.
        let mut cbor = Vec::with_capacity(json.len());
        ciborium::into_writer(&data, &mut cbor).map_err(|e| render_err(e.to_string()))?;
        let g = doc.generated_at;
        let today = Datetime::from_ymd(
            g.year(),
            u8::try_from(g.month()).unwrap_or(1),
            u8::try_from(g.day()).unwrap_or(1),
        );
        let world = ReportWorld {
            shared: world::shared(),
            ids,
            main: Source::new(ids.main, self.template.to_string()),
            data: Bytes::new(json.clone().into_bytes()),
            data_cbor: Bytes::new(cbor),
            logo: logo.map(|(id, _, bytes)| (id, Bytes::new(bytes))),
            today,
        };
        let warned = typst::compile::<PagedDocument>(&world);
        let document = warned
            .output
            .map_err(|diags| diagnostics_error(&world, &diags))?;
        let timestamp = Datetime::from_ymd_hms(
            g.year(),
            u8::try_from(g.month()).unwrap_or(1),
            u8::try_from(g.day()).unwrap_or(1),
            u8::try_from(g.hour()).unwrap_or(0),
            u8::try_from(g.minute()).unwrap_or(0),
            u8::try_from(g.second()).unwrap_or(0),
        )
        .map(Timestamp::new_utc);
        let standards = if self.pdf_a {
            PdfStandards::new(&[PdfStandard::A_2b])
                .map_err(|e| render_err(format!("PDF/A: {}", e.message())))?
        } else {
            PdfStandards::default()
        };
        let options = PdfOptions {
            ident: Smart::Custom(json),
            creator: Smart::Custom(Some("tokentra-reports".into())),
            timestamp,
            page_ranges: None,
            standards,
            tagged: true,
            pretty: false,
        };
        let bytes = typst_pdf::pdf(&document, &options)
            .map_err(|diags| diagnostics_error(&world, &diags))?;
        let pages = u32::try_from(document.pages().len()).unwrap_or(u32::MAX);
        Ok((bytes, pages))
    }
}

fn render_err(message: impl Into<String>) -> Error {
    Error::Render {
        format: "pdf",
        message: message.into(),
    }
}

/// `error at line 12: unknown variable: foo (hint: ...)`, for each error.
fn diagnostics_error(world: &ReportWorld, diags: &[SourceDiagnostic]) -> Error {
    let mut parts = Vec::new();
    for diag in diags.iter().filter(|d| d.severity == Severity::Error) {
        let mut line = String::new();
        if let DiagSpanKind::Number { id, .. } | DiagSpanKind::Range { id, .. } = diag.span.get() {
            let file = if id == world.ids.main {
                "template"
            } else if id == world.ids.data || id == world.ids.data_cbor {
                "data"
            } else {
                "file"
            };
            let pos = world.range(diag.span).and_then(|r| {
                if id == world.ids.main {
                    world.main.lines().byte_to_line(r.start)
                } else {
                    None
                }
            });
            line = match pos {
                Some(l) => format!(" at {file} line {}", l + 1),
                None => format!(" in {file}"),
            };
        }
        let hints: Vec<String> = diag.hints.iter().map(|h| h.v.to_string()).collect();
        let hint = if hints.is_empty() {
            String::new()
        } else {
            format!(" (hint: {})", hints.join("; "))
        };
        parts.push(format!("error{line}: {}{hint}", diag.message));
    }
    if parts.is_empty() {
        parts.push("typst reported an error without details".into());
    }
    render_err(parts.join("\n"))
}

impl Renderer for PdfRenderer {
    fn format(&self) -> ReportFormat {
        ReportFormat::Pdf
    }

    fn render(&self, doc: &ReportDocument) -> Result<RenderedReport> {
        let (bytes, pages) = self.render_pdf(doc)?;
        Ok(RenderedReport {
            artifact: Artifact {
                file_name: format!("{}.pdf", file_stem(doc)),
                media_type: ReportFormat::Pdf.media_type().to_owned(),
                bytes,
            },
            page_count: Some(pages),
        })
    }
}
