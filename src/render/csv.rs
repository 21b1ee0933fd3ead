//! CSV (RFC 4180, through the `csv` crate), in two layouts:
//!
//! - [`CsvLayout::Sections`]: the report as blocks, in the document's section
//!   order: `Section,Metric,Value,Currency` for the summary, then one block
//!   per breakdown (and the trend, anomalies, forecast, recommendations, top
//!   costs and efficiency), separated by an empty line. Rows of different
//!   blocks have different lengths.
//! - [`CsvLayout::Detail`]: one row per aggregate bucket of
//!   `doc.detail`, for spreadsheets and BI tools.
//!
//! Money is a plain decimal (`1234.56`, never `$1,234.56`) with the currency
//! code in its own column. Text cells that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) are
//! prefixed with `'`, as the OWASP CSV-injection guidance advises; numeric
//! cells are written by the renderer and never prefixed. UTF-8, with an
//! optional byte-order mark so Excel detects the encoding.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use crate::model::{Artifact, ReportDocument, ReportFormat, ReportSection};
use crate::ports::{RenderedReport, Renderer};
use crate::render::json::file_stem;
use crate::render::metrics::MetricValue;
use crate::{Error, Result};

/// Which CSV to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvLayout {
    /// Summary and per-section blocks.
    #[default]
    Sections,
    /// One row per detail bucket.
    Detail,
}

/// Renders CSV.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvRenderer {
    layout: CsvLayout,
    bom: bool,
}

/// Neutralise a text cell against formula injection (OWASP): a cell whose
/// first character is `=`, `+`, `-`, `@`, a tab, a carriage return or a
/// line feed, or whose first character after leading spaces and line
/// breaks is `=`, `+`, `-` or `@` (spreadsheets skip those), gets a `'` in
/// front.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n')
    ) || matches!(
        cell.trim_start_matches([' ', '\t', '\r', '\n', '\u{a0}', '\u{3000}'])
            .as_bytes()
            .first(),
        Some(b'=' | b'+' | b'-' | b'@')
    );
    if risky {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// `d` as its `Display` would write it (plain digits, `-` when negative,
/// exactly `scale` decimals), without going through `fmt`: the detail
/// export writes one per row.
fn push_decimal(out: &mut String, d: Decimal) {
    let scale = d.scale() as usize;
    let m = d.mantissa();
    let mut b = itoa::Buffer::new();
    let digits = b.format(m.unsigned_abs());
    if m < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    }
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Render {
        format: "csv",
        message: e.to_string(),
    }
}

fn writer(buf: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(buf)
}

struct Out {
    w: csv::Writer<Vec<u8>>,
    scratch: String,
}

impl Out {
    fn text(&mut self, s: &str) -> Result<()> {
        self.w.write_field(neutralize(s).as_bytes()).map_err(err)
    }
    fn num(&mut self, d: Decimal) -> Result<()> {
        self.scratch.clear();
        push_decimal(&mut self.scratch, d);
        self.w.write_field(self.scratch.as_bytes()).map_err(err)
    }
    fn int(&mut self, n: u64) -> Result<()> {
        let mut b = itoa::Buffer::new();
        self.w.write_field(b.format(n).as_bytes()).map_err(err)
    }
    fn raw(&mut self, s: &str) -> Result<()> {
        self.w.write_field(s.as_bytes()).map_err(err)
    }
    fn end(&mut self) -> Result<()> {
        self.w.write_record(None::<&[u8]>).map_err(err)
    }
    fn row(&mut self, cells: &[&str]) -> Result<()> {
        for c in cells {
            self.text(c)?;
        }
        self.end()
    }
    fn blank(&mut self) -> Result<()> {
        // An empty line between blocks: one empty field would be `""`, so
        // write the line break through the underlying writer.
        let old = std::mem::replace(&mut self.w, writer(Vec::new()));
        let mut buf = old.into_inner().map_err(|e| err(e.error()))?;
        buf.extend_from_slice(b"\r\n");
        self.w = writer(buf);
        Ok(())
    }
}

/// A reconciliation's variance table as CSV (one line per day, model and
/// token class: `Date,Model,Token Class,Priced,Billed,Difference,Percent,
/// Flagged`), for finance to open beside the invoice. Amounts are exact
/// decimals in USD; text cells are neutralized against formula injection.
///
/// # Errors
/// [`Error::Render`] when writing fails.
pub fn variance_csv(lines: &[crate::core::pricebook::Variance]) -> Result<Vec<u8>> {
    let mut out = Out {
        w: writer(Vec::new()),
        scratch: String::new(),
    };
    out.row(&[
        "Date",
        "Model",
        "Token Class",
        "Priced",
        "Billed",
        "Difference",
        "Percent",
        "Flagged",
        "Currency",
    ])?;
    for l in lines {
        out.raw(&l.date.to_string())?;
        out.text(&l.model)?;
        out.raw(l.class.map(|c| c.as_str()).unwrap_or(""))?;
        out.num(l.priced)?;
        out.num(l.billed)?;
        out.num(l.difference)?;
        match l.percent {
            Some(p) => out.num(p)?,
            None => out.raw("")?,
        }
        out.raw(if l.flagged { "yes" } else { "no" })?;
        out.raw("USD")?;
        out.end()?;
    }
    out.w.into_inner().map_err(|e| err(e.error()))
}

impl CsvRenderer {
    /// The sections layout, without BOM.
    pub fn new() -> Self {
        Self::default()
    }

    /// The flat detail export, without BOM.
    pub fn detail() -> Self {
        CsvRenderer {
            layout: CsvLayout::Detail,
            bom: false,
        }
    }

    /// Choose the layout.
    pub fn layout(mut self, layout: CsvLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Start the file with a UTF-8 byte-order mark (for Excel).
    pub fn with_bom(mut self, bom: bool) -> Self {
        self.bom = bom;
        self
    }

    /// The CSV bytes of `doc`.
    pub fn render_bytes(&self, doc: &ReportDocument) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(match self.layout {
            CsvLayout::Detail => 64 + doc.detail.len() * 96,
            CsvLayout::Sections => 4096,
        });
        if self.bom {
            buf.extend_from_slice("\u{feff}".as_bytes());
        }
        let w = writer(buf);
        let mut out = Out {
            w,
            scratch: String::with_capacity(32),
        };
        match self.layout {
            CsvLayout::Detail => write_detail(&mut out, doc)?,
            CsvLayout::Sections => write_sections(&mut out, doc)?,
        }
        out.w.into_inner().map_err(|e| err(e.error()))
    }
}

fn write_detail(out: &mut Out, doc: &ReportDocument) -> Result<()> {
    out.raw("period_start")?;
    for d in &doc.detail_dimensions {
        out.text(&d.name())?;
    }
    for h in [
        "currency",
        "cost",
        "requests",
        "input_tokens",
        "output_tokens",
        "cached_requests",
    ] {
        out.raw(h)?;
    }
    out.end()?;
    let dims = doc.detail_dimensions.len();
    // Rows come grouped by day: format each date once.
    let mut day: Option<(chrono::NaiveDate, String)> = None;
    for b in &doc.detail {
        match b.period_start {
            Some(p) => {
                let date = p.date();
                if day.as_ref().is_none_or(|(d, _)| *d != date) {
                    day = Some((date, date.to_string()));
                }
                let text = day.as_ref().map_or("", |(_, t)| t.as_str());
                out.w.write_field(text.as_bytes()).map_err(err)?;
            }
            None => out.raw("")?,
        }
        for i in 0..dims {
            out.text(b.keys.get(i).and_then(|k| k.as_deref()).unwrap_or(""))?;
        }
        out.raw(b.currency.code())?;
        out.num(b.cost)?;
        out.int(b.requests)?;
        out.int(b.input_tokens)?;
        out.int(b.output_tokens)?;
        out.int(b.cached_requests)?;
        out.end()?;
    }
    Ok(())
}

fn write_sections(out: &mut Out, doc: &ReportDocument) -> Result<()> {
    let cur = doc.currency.code();
    // Request and token counts of a source that does not carry them (cloud
    // billing: cost with no request counted) would read as zeros: left out.
    let counts = doc
        .summary
        .as_ref()
        .is_none_or(|s| s.total_cost.is_zero() || s.total_requests > 0 || s.total_tokens > 0);
    let mut first = true;
    let mut sep = |out: &mut Out| -> Result<()> {
        if !first {
            out.blank()?;
        }
        first = false;
        Ok(())
    };
    for section in &doc.sections {
        match section {
            ReportSection::Summary => {
                sep(out)?;
                out.row(&["Section", "Metric", "Value", "Currency"])?;
                // One row per metric of the template, in its order.
                for f in crate::render::metrics::figures(doc) {
                    out.raw("Summary")?;
                    out.raw(crate::render::metrics::label(f.metric))?;
                    match f.value {
                        MetricValue::Money(v) | MetricValue::UnitCost(v) => {
                            out.num(v)?;
                            out.raw(cur)?;
                        }
                        MetricValue::Count(n) => {
                            out.int(n)?;
                            out.raw("")?;
                        }
                        MetricValue::Percent(p) => {
                            out.num(p)?;
                            out.raw("%")?;
                        }
                    }
                    out.end()?;
                }
            }
            ReportSection::Breakdown => {
                for b in &doc.breakdowns {
                    sep(out)?;
                    let dim = doc.dimension_label(&b.dimension);
                    out.row(&[&format!("Breakdown by {dim}")])?;
                    if counts {
                        out.row(&[
                            &dim, "Cost", "Currency", "Share %", "Requests", "Tokens", "Change %",
                        ])?;
                    } else {
                        out.row(&[&dim, "Cost", "Currency", "Share %", "Change %"])?;
                    }
                    for i in &b.items {
                        out.text(&i.label)?;
                        out.num(i.cost)?;
                        out.raw(cur)?;
                        out.num(i.share)?;
                        if counts {
                            out.int(i.requests)?;
                            out.int(i.tokens)?;
                        }
                        match i.change {
                            Some(c) => out.num(c)?,
                            None => out.raw("")?,
                        }
                        out.end()?;
                    }
                    out.raw("Total")?;
                    out.num(b.total)?;
                    out.raw(cur)?;
                    out.end()?;
                }
            }
            ReportSection::Trend => {
                sep(out)?;
                out.row(&["Trend"])?;
                if counts {
                    out.row(&["Period Start", "Cost", "Currency", "Requests", "Tokens"])?;
                } else {
                    out.row(&["Period Start", "Cost", "Currency"])?;
                }
                for p in doc.trend.iter().flat_map(|t| &t.points) {
                    out.scratch.clear();
                    let _ = write!(
                        out.scratch,
                        "{}",
                        p.period_start.format("%Y-%m-%dT%H:%M:%S")
                    );
                    out.w.write_field(out.scratch.as_bytes()).map_err(err)?;
                    out.num(p.cost)?;
                    out.raw(cur)?;
                    if counts {
                        out.int(p.requests)?;
                        out.int(p.tokens)?;
                    }
                    out.end()?;
                }
            }
            ReportSection::Anomalies => {
                sep(out)?;
                out.row(&["Anomalies"])?;
                out.row(&[
                    "Date",
                    "Dimension",
                    "Value",
                    "Expected",
                    "Actual",
                    "Currency",
                    "Deviation",
                    "Severity",
                ])?;
                for a in &doc.anomalies {
                    out.raw(&a.date.to_string())?;
                    out.text(&a.dimension.name())?;
                    out.text(&a.value)?;
                    out.num(a.expected_cost)?;
                    out.num(a.actual_cost)?;
                    out.raw(cur)?;
                    out.num(a.deviation)?;
                    out.raw(match a.severity {
                        crate::model::Severity::Low => "low",
                        crate::model::Severity::Medium => "medium",
                        crate::model::Severity::High => "high",
                        crate::model::Severity::Critical => "critical",
                    })?;
                    out.end()?;
                }
            }
            ReportSection::Forecast => {
                if let Some(f) = &doc.forecast {
                    sep(out)?;
                    out.row(&["Forecast"])?;
                    out.row(&["Metric", "Value", "Currency"])?;
                    for (name, v) in [
                        ("Actual To Date", f.actual_to_date),
                        ("Projected Total", f.projected_total),
                        ("Lower Bound", f.lower_bound),
                        ("Upper Bound", f.upper_bound),
                    ] {
                        out.raw(name)?;
                        out.num(v)?;
                        out.raw(cur)?;
                        out.end()?;
                    }
                    out.raw("Period End")?;
                    out.raw(&f.period_end.to_string())?;
                    out.end()?;
                    out.raw("Method")?;
                    out.text(&f.method)?;
                    out.end()?;
                }
            }
            ReportSection::Recommendations => {
                sep(out)?;
                out.row(&["Recommendations"])?;
                out.row(&[
                    "Kind",
                    "Title",
                    "Message",
                    "Metric",
                    "Threshold",
                    "Potential Savings",
                    "Currency",
                ])?;
                for r in &doc.recommendations {
                    out.text(&r.kind)?;
                    out.text(&r.title)?;
                    out.text(&r.message)?;
                    out.num(r.metric)?;
                    out.num(r.threshold)?;
                    match r.potential_savings {
                        Some(s) => out.num(s)?,
                        None => out.raw("")?,
                    }
                    out.raw(cur)?;
                    out.end()?;
                }
            }
            ReportSection::TopCosts => {
                sep(out)?;
                out.row(&["Top Costs"])?;
                out.row(&[
                    "Rank",
                    "Combination",
                    "Cost",
                    "Currency",
                    "Requests",
                    "Share %",
                ])?;
                for (i, t) in doc.top_costs.iter().enumerate() {
                    out.int(u64::try_from(i + 1).unwrap_or(u64::MAX))?;
                    let combo = t
                        .keys
                        .iter()
                        .map(|(d, v)| format!("{}={}", d.name(), v.as_deref().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join("; ");
                    out.text(&combo)?;
                    out.num(t.cost)?;
                    out.raw(cur)?;
                    out.int(t.requests)?;
                    out.num(t.share)?;
                    out.end()?;
                }
            }
            ReportSection::Repricing => {
                let Some(r) = &doc.repricing else {
                    continue;
                };
                sep(out)?;
                out.row(&["Repricing"])?;
                out.row(&[
                    "Model",
                    "Token Class",
                    "As Priced",
                    "Repriced",
                    "Difference",
                    "Currency",
                    "Price Version",
                ])?;
                for l in &r.lines {
                    out.text(&l.model)?;
                    out.raw(l.class.as_str())?;
                    out.num(l.before)?;
                    out.num(l.after)?;
                    out.num(l.after - l.before)?;
                    out.raw("USD")?;
                    out.text(&r.version)?;
                    out.end()?;
                }
            }
            ReportSection::Efficiency => {
                sep(out)?;
                out.row(&["Efficiency"])?;
                out.row(&[
                    "Model",
                    "Cost per Request",
                    "Cost per 1k Tokens",
                    "Currency",
                    "Tokens per Request",
                    "Cache Hit Rate %",
                ])?;
                for e in &doc.efficiency {
                    out.text(&e.model)?;
                    out.num(e.cost_per_request)?;
                    out.num(e.cost_per_1k_tokens)?;
                    out.raw(cur)?;
                    out.num(e.tokens_per_request)?;
                    out.num(e.cache_hit_rate)?;
                    out.end()?;
                }
            }
        }
    }
    Ok(())
}

impl Renderer for CsvRenderer {
    fn format(&self) -> ReportFormat {
        ReportFormat::Csv
    }

    fn render(&self, doc: &ReportDocument) -> Result<RenderedReport> {
        let bytes = self.render_bytes(doc)?;
        let suffix = match self.layout {
            CsvLayout::Sections => "",
            CsvLayout::Detail => "-detail",
        };
        Ok(RenderedReport {
            artifact: Artifact {
                file_name: format!("{}{suffix}.csv", file_stem(doc)),
                media_type: ReportFormat::Csv.media_type().to_owned(),
                bytes,
            },
            page_count: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for s in [
            "0",
            "-0",
            "0.00",
            "-0.001",
            "1",
            "-1",
            "12.5",
            "0.05",
            "1234567.891011",
            "-98765.4321",
            "0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7.9228162514264337593543950335",
        ] {
            let d: Decimal = s.parse().unwrap();
            let mut out = String::new();
            super::push_decimal(&mut out, d);
            assert_eq!(out, d.to_string(), "{s}");
        }
        let mut out = String::new();
        super::push_decimal(&mut out, Decimal::new(-5, 3));
        assert_eq!(out, "-0.005");
    }

    proptest::proptest! {
        #[test]
        fn any_decimal_is_written_as_display_writes_it(m in proptest::num::i128::ANY, scale in 0u32..=28) {
            let m = m % 79_228_162_514_264_337_593_543_950_335_i128;
            let d = Decimal::from_i128_with_scale(m, scale);
            let mut out = String::new();
            super::push_decimal(&mut out, d);
            proptest::prop_assert_eq!(out, d.to_string());
        }
    }
}

#[cfg(test)]
mod neutralize_tests {
    use super::neutralize;

    #[test]
    fn formulas_behind_spaces_and_line_breaks_are_neutralised() {
        for risky in [
            "=SUM(A1)",
            "+1",
            "-2",
            "@cmd",
            "\t=1",
            "\r=1",
            "\n=HYPERLINK(\"x\")",
            "  =1+1",
            "\n\n  @x",
            "\u{a0}=1",
        ] {
            assert_eq!(neutralize(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["search", "a=b", " team", "1.5", ""] {
            assert_eq!(neutralize(safe), safe, "{safe:?}");
        }
    }
}
