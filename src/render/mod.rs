//! Renderers: each implements [`Renderer`](crate::ports::Renderer) for one
//! format and reads the same [`ReportDocument`](crate::model::ReportDocument),
//! so every format shows identical numbers.

pub mod focus;
pub mod json;

pub use json::JsonRenderer;
