//! Renderers: each implements [`Renderer`](crate::ports::Renderer) for one
//! format and reads the same [`ReportDocument`](crate::model::ReportDocument),
//! so every format shows identical numbers.
//!
//! | format | module | feature |
//! |--------|--------|---------|
//! | PDF (typst, embedded Inter) | [`pdf`] | `pdf` (default) |
//! | HTML page, HTML + text e-mail (minijinja) | [`html`], [`email`] | `html` (default) |
//! | CSV (sections, flat detail) | [`csv`] | always |
//! | JSON (versioned schema) | [`json`] | always |
//! | XLSX (rust_xlsxwriter) | [`xlsx`] | `xlsx` |
//!
//! [`view`] formats every figure once (exact decimals) for the visual
//! formats; [`charts`] draws the SVG charts they share.

pub mod charts;
pub mod csv;
#[cfg(feature = "html")]
pub mod email;
pub mod focus;
#[cfg(feature = "html")]
pub mod html;
pub mod json;
pub mod metrics;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod readers;
#[doc(hidden)]
pub mod sample;
pub mod view;
#[cfg(feature = "xlsx")]
pub mod xlsx;

pub use self::csv::{CsvLayout, CsvRenderer};
#[cfg(feature = "html")]
pub use html::HtmlRenderer;
pub use json::JsonRenderer;
#[cfg(feature = "pdf")]
pub use pdf::{PaperSize, PdfRenderer};
#[cfg(feature = "xlsx")]
pub use xlsx::XlsxRenderer;
