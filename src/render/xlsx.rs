//! XLSX workbooks through rust_xlsxwriter: one sheet per section (one per
//! breakdown), money as real numbers with the currency's number format (not
//! text), percentages as numbers, dates as Excel dates, frozen header rows
//! and fitted column widths. Text cells are written as strings, which a
//! spreadsheet never evaluates as formulas.
//!
//! Cells are IEEE doubles in the file format itself, so amounts are
//! converted from `Decimal` at the last step; they read back equal to the
//! decimals rounded to the currency's minor unit.

use chrono::{Datelike, NaiveDate, Timelike};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::model::{Artifact, Currency, ReportDocument, ReportFormat, ReportSection};
use crate::ports::{RenderedReport, Renderer};
use crate::render::json::file_stem;
use crate::render::view::breakdown_title;
use crate::{Error, Result};

/// Renders XLSX workbooks.
#[derive(Clone, Copy, Debug, Default)]
pub struct XlsxRenderer;

enum Cell {
    Text(String),
    Money(Decimal),
    Unit(Decimal),
    Int(u64),
    Num(Decimal),
    Pct(Decimal),
    Date(NaiveDate),
    Empty,
}

fn err(e: XlsxError) -> Error {
    Error::Render {
        format: "xlsx",
        message: e.to_string(),
    }
}

/// Excel number format for amounts of `currency`: `"$"#,##0.00`.
pub fn money_format(currency: Currency, decimals: u32) -> String {
    let zeros = "0".repeat(usize::try_from(decimals).unwrap_or(2));
    let body = if zeros.is_empty() {
        "#,##0".to_owned()
    } else {
        format!("#,##0.{zeros}")
    };
    let sym = currency.symbol().replace('"', "");
    if sym.chars().count() > 1 && sym.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{body} \"{sym}\";-{body} \"{sym}\"")
    } else {
        format!("\"{sym}\"{body};-\"{sym}\"{body}")
    }
}

/// A valid, unique sheet name (31 characters, none of `[]:*?/\`).
fn sheet_name(wanted: &str, used: &mut Vec<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| {
            if "[]:*?/\\'".contains(c) || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let base: String = clean.trim().chars().take(28).collect();
    let base = if base.is_empty() {
        "Sheet".to_owned()
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        name = format!("{base} {n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

struct Formats {
    header: Format,
    money: Format,
    unit: Format,
    int: Format,
    num: Format,
    pct: Format,
    date: Format,
}

fn write_sheet(ws: &mut Worksheet, f: &Formats, header: &[&str], rows: &[Vec<Cell>]) -> Result<()> {
    for (c, h) in header.iter().enumerate() {
        let col = u16::try_from(c).unwrap_or(u16::MAX);
        ws.write_string_with_format(0, col, *h, &f.header)
            .map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let rr = u32::try_from(r + 1).map_err(|_| Error::Render {
            format: "xlsx",
            message: "too many rows".into(),
        })?;
        for (c, cell) in row.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            let dec = |d: &Decimal| d.to_f64().unwrap_or(0.0);
            match cell {
                Cell::Text(s) => {
                    // Excel's cell limit is 32,767 characters.
                    let s: String = s.chars().take(32_000).collect();
                    ws.write_string(rr, col, s).map(|_| ())
                }
                Cell::Money(d) => ws
                    .write_number_with_format(rr, col, dec(d), &f.money)
                    .map(|_| ()),
                Cell::Unit(d) => ws
                    .write_number_with_format(rr, col, dec(d), &f.unit)
                    .map(|_| ()),
                Cell::Int(n) => ws
                    .write_number_with_format(rr, col, *n as f64, &f.int)
                    .map(|_| ()),
                Cell::Num(d) => ws
                    .write_number_with_format(rr, col, dec(d), &f.num)
                    .map(|_| ()),
                Cell::Pct(d) => ws
                    .write_number_with_format(rr, col, dec(d) / 100.0, &f.pct)
                    .map(|_| ()),
                Cell::Date(d) => {
                    match ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).unwrap_or(1900),
                        u8::try_from(d.month()).unwrap_or(1),
                        u8::try_from(d.day()).unwrap_or(1),
                    ) {
                        Ok(x) => ws
                            .write_datetime_with_format(rr, col, &x, &f.date)
                            .map(|_| ()),
                        Err(_) => ws.write_string(rr, col, d.to_string()).map(|_| ()),
                    }
                }
                Cell::Empty => Ok(()),
            }
            .map_err(err)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    ws.set_autofit_max_width(420);
    ws.autofit();
    Ok(())
}

impl XlsxRenderer {
    /// The workbook bytes of `doc`.
    pub fn render_bytes(&self, doc: &ReportDocument) -> Result<Vec<u8>> {
        let cur = doc.currency;
        let mut wb = Workbook::new();
        let g = doc.generated_at;
        if let Ok(created) = ExcelDateTime::from_ymd(
            u16::try_from(g.year()).unwrap_or(2000),
            u8::try_from(g.month()).unwrap_or(1),
            u8::try_from(g.day()).unwrap_or(1),
        )
        .and_then(|d| {
            d.and_hms(
                u16::try_from(g.hour()).unwrap_or(0),
                u8::try_from(g.minute()).unwrap_or(0),
                u8::try_from(g.second()).unwrap_or(0),
            )
        }) {
            wb.set_properties(
                &DocProperties::new()
                    .set_title(doc.title.chars().take(200).collect::<String>())
                    .set_creation_datetime(&created),
            );
        }
        let f = Formats {
            header: Format::new().set_bold().set_background_color("F3F4F6"),
            money: Format::new().set_num_format(money_format(cur, cur.minor_units())),
            unit: Format::new().set_num_format(money_format(cur, 4)),
            int: Format::new().set_num_format("#,##0"),
            num: Format::new().set_num_format("#,##0.0##"),
            pct: Format::new().set_num_format("0.0%"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        };
        let mut used = Vec::new();
        let text = |s: &str| Cell::Text(s.to_owned());
        for section in &doc.sections {
            match section {
                ReportSection::Summary => {
                    use crate::render::metrics::{figures, label, MetricValue as V};
                    // One row per metric of the template, in its order.
                    let rows: Vec<Vec<Cell>> = figures(doc)
                        .into_iter()
                        .map(|f| {
                            let value = match f.value {
                                V::Money(v) => Cell::Money(v),
                                V::UnitCost(v) => Cell::Unit(v),
                                V::Count(n) => Cell::Int(n),
                                V::Percent(p) => Cell::Pct(p),
                            };
                            vec![text(label(f.metric)), value]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Summary", &mut used)).map_err(err)?;
                    write_sheet(ws, &f, &["Metric", "Value"], &rows)?;
                }
                ReportSection::Trend => {
                    let rows: Vec<Vec<Cell>> = doc
                        .trend
                        .iter()
                        .flat_map(|t| &t.points)
                        .map(|p| {
                            vec![
                                Cell::Date(p.period_start.date()),
                                Cell::Money(p.cost),
                                Cell::Int(p.requests),
                                Cell::Int(p.tokens),
                            ]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Trend", &mut used)).map_err(err)?;
                    write_sheet(
                        ws,
                        &f,
                        &["Period start", "Cost", "Requests", "Tokens"],
                        &rows,
                    )?;
                }
                ReportSection::Breakdown => {
                    for b in &doc.breakdowns {
                        let dim = b.dimension.label();
                        let mut rows: Vec<Vec<Cell>> = b
                            .items
                            .iter()
                            .map(|i| {
                                vec![
                                    text(&i.label),
                                    Cell::Money(i.cost),
                                    Cell::Pct(i.share),
                                    Cell::Int(i.requests),
                                    Cell::Int(i.tokens),
                                    i.change.map_or(Cell::Empty, Cell::Pct),
                                ]
                            })
                            .collect();
                        rows.push(vec![text("Total"), Cell::Money(b.total)]);
                        let ws = wb.add_worksheet();
                        ws.set_name(sheet_name(
                            &breakdown_title(&b.dimension.label()),
                            &mut used,
                        ))
                        .map_err(err)?;
                        write_sheet(
                            ws,
                            &f,
                            &[&dim, "Cost", "Share", "Requests", "Tokens", "Change"],
                            &rows,
                        )?;
                    }
                }
                ReportSection::Anomalies => {
                    let rows: Vec<Vec<Cell>> = doc
                        .anomalies
                        .iter()
                        .map(|a| {
                            vec![
                                Cell::Date(a.date),
                                text(&a.dimension.label()),
                                text(&a.value),
                                Cell::Money(a.expected_cost),
                                Cell::Money(a.actual_cost),
                                Cell::Num(a.deviation),
                                text(&format!("{:?}", a.severity).to_lowercase()),
                            ]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Anomalies", &mut used))
                        .map_err(err)?;
                    write_sheet(
                        ws,
                        &f,
                        &[
                            "Date",
                            "Dimension",
                            "Value",
                            "Expected",
                            "Actual",
                            "Deviation",
                            "Severity",
                        ],
                        &rows,
                    )?;
                }
                ReportSection::Forecast => {
                    if let Some(fc) = &doc.forecast {
                        let rows = vec![
                            vec![text("Actual to date"), Cell::Money(fc.actual_to_date)],
                            vec![text("Projected total"), Cell::Money(fc.projected_total)],
                            vec![text("Lower bound (80%)"), Cell::Money(fc.lower_bound)],
                            vec![text("Upper bound (80%)"), Cell::Money(fc.upper_bound)],
                            vec![text("Period end"), Cell::Date(fc.period_end)],
                            vec![text("Method"), text(&fc.method)],
                        ];
                        let ws = wb.add_worksheet();
                        ws.set_name(sheet_name("Forecast", &mut used))
                            .map_err(err)?;
                        write_sheet(ws, &f, &["Metric", "Value"], &rows)?;
                    }
                }
                ReportSection::Recommendations => {
                    let rows: Vec<Vec<Cell>> = doc
                        .recommendations
                        .iter()
                        .map(|r| {
                            vec![
                                text(&r.title),
                                text(&r.message),
                                Cell::Num(r.metric),
                                Cell::Num(r.threshold),
                                r.potential_savings.map_or(Cell::Empty, Cell::Money),
                            ]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Recommendations", &mut used))
                        .map_err(err)?;
                    write_sheet(
                        ws,
                        &f,
                        &[
                            "Title",
                            "Message",
                            "Metric",
                            "Threshold",
                            "Potential savings",
                        ],
                        &rows,
                    )?;
                }
                ReportSection::TopCosts => {
                    let rows: Vec<Vec<Cell>> = doc
                        .top_costs
                        .iter()
                        .map(|t| {
                            vec![
                                text(
                                    &t.keys
                                        .iter()
                                        .map(|(d, v)| {
                                            format!(
                                                "{}: {}",
                                                d.label(),
                                                v.as_deref().unwrap_or("Unassigned")
                                            )
                                        })
                                        .collect::<Vec<_>>()
                                        .join(" · "),
                                ),
                                Cell::Money(t.cost),
                                Cell::Int(t.requests),
                                Cell::Pct(t.share),
                            ]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Top costs", &mut used))
                        .map_err(err)?;
                    write_sheet(ws, &f, &["Combination", "Cost", "Requests", "Share"], &rows)?;
                }
                ReportSection::Repricing => {
                    let Some(r) = &doc.repricing else {
                        continue;
                    };
                    let rows: Vec<Vec<Cell>> = r
                        .lines
                        .iter()
                        .map(|l| {
                            vec![
                                text(&l.model),
                                text(l.class.label()),
                                Cell::Num(l.before),
                                Cell::Num(l.after),
                                Cell::Num(l.after - l.before),
                            ]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Repricing", &mut used))
                        .map_err(err)?;
                    write_sheet(
                        ws,
                        &f,
                        &[
                            "Model",
                            "Usage",
                            "As priced (USD)",
                            "Re-priced (USD)",
                            "Change (USD)",
                        ],
                        &rows,
                    )?;
                }
                ReportSection::Efficiency => {
                    let rows: Vec<Vec<Cell>> = doc
                        .efficiency
                        .iter()
                        .map(|e| {
                            vec![
                                text(&e.model),
                                Cell::Unit(e.cost_per_request),
                                Cell::Unit(e.cost_per_1k_tokens),
                                Cell::Num(e.tokens_per_request),
                                Cell::Pct(e.cache_hit_rate),
                            ]
                        })
                        .collect();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet_name("Efficiency", &mut used))
                        .map_err(err)?;
                    write_sheet(
                        ws,
                        &f,
                        &[
                            "Model",
                            "Cost per request",
                            "Cost per 1k tokens",
                            "Tokens per request",
                            "Cache hit rate",
                        ],
                        &rows,
                    )?;
                }
            }
        }
        if used.is_empty() {
            let ws = wb.add_worksheet();
            ws.set_name("Report").map_err(err)?;
            ws.write_string(0, 0, "This report has no sections.")
                .map_err(err)?;
        }
        wb.save_to_buffer().map_err(err)
    }
}

impl Renderer for XlsxRenderer {
    fn format(&self) -> ReportFormat {
        ReportFormat::Xlsx
    }

    fn render(&self, doc: &ReportDocument) -> Result<RenderedReport> {
        Ok(RenderedReport {
            artifact: Artifact {
                file_name: format!("{}.xlsx", file_stem(doc)),
                media_type: ReportFormat::Xlsx.media_type().to_owned(),
                bytes: self.render_bytes(doc)?,
            },
            page_count: None,
        })
    }
}
