//! The display model shared by the PDF, HTML and e-mail renderers: every
//! number of the [`ReportDocument`] formatted once, in Rust, with exact
//! decimals ([`Currency::format`]), so all formats show the same strings.
//! Only the sections the document lists are present, in its order.

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::{
    ChartType, Currency, DateRange, Granularity, ReportDocument, ReportSection, Severity, Trend,
};

/// Breakdowns with more items than this are shown as a table, not bars.
pub const MAX_BARS: usize = 12;

/// Colour used when the branding has none (or an invalid one).
pub const DEFAULT_PRIMARY: &str = "#4F46E5";

/// A report ready for display.
#[derive(Clone, Debug, Serialize)]
pub struct ReportView {
    /// Report title.
    pub title: String,
    /// Company shown above the title (branding, else the organization).
    pub company: String,
    /// Branding header text (may be empty).
    pub header_text: String,
    /// Footer line: company · title · period, then the branding footer text.
    pub footer_text: String,
    /// Primary colour, validated `#RRGGBB`.
    pub primary: String,
    /// `1 – 31 March 2026`.
    pub period: String,
    /// `Generated 1 April 2026`.
    pub generated: String,
    /// ISO code of every amount.
    pub currency: String,
    /// Sections, in the document's order.
    pub sections: Vec<SectionView>,
}

/// One summary card.
#[derive(Clone, Debug, Serialize)]
pub struct Card {
    /// Upper-case label.
    pub label: String,
    /// The big figure.
    pub value: String,
    /// Small line below it.
    pub note: String,
    /// `primary`, `up` (spend increased: red) or `down` (green).
    pub accent: &'static str,
}

/// One row of a table: already formatted cells.
pub type Row = Vec<String>;

/// A table with header, rows and which columns are numeric (right-aligned).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Table {
    /// Column headers.
    pub header: Vec<String>,
    /// Right-aligned columns.
    pub numeric: Vec<bool>,
    /// Rows.
    pub rows: Vec<Row>,
    /// Optional total row.
    pub total: Option<Row>,
    /// Column widths and row heights measured by the PDF renderer (`None`
    /// elsewhere, and when it cannot measure every cell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<TableFit>,
}

impl Table {
    /// The table without the columns whose index `drop` says (a column the
    /// data does not have).
    pub(crate) fn without(mut self, drop: impl Fn(usize) -> bool) -> Table {
        fn keep<T>(v: Vec<T>, drop: &impl Fn(usize) -> bool) -> Vec<T> {
            v.into_iter()
                .enumerate()
                .filter(|(i, _)| !drop(*i))
                .map(|(_, x)| x)
                .collect()
        }
        self.header = keep(self.header, &drop);
        self.numeric = keep(self.numeric, &drop);
        self.rows = self.rows.into_iter().map(|r| keep(r, &drop)).collect();
        self.total = self.total.map(|r| keep(r, &drop));
        self
    }
}

/// How a table fits the page, measured from the font (see [`Table::fit`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableFit {
    /// Width of each column in points; 0 for a text column that shares
    /// what the numeric ones leave.
    pub widths: Vec<f64>,
    /// Whether every cell fits on one line, so rows can have a fixed
    /// height (`header_row` for the header, `row` for the others).
    pub one_line: bool,
    /// Height of the header row in points.
    pub header_row: f64,
    /// Height of the other rows in points.
    pub row: f64,
}

/// A bar of a horizontal bar chart.
#[derive(Clone, Debug, Serialize)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Formatted amount.
    pub value: String,
    /// Length relative to the largest bar, 0 to 1 (negative amounts draw 0).
    pub ratio: f64,
}

/// An entry of a pie chart's legend, set as text next to the slices.
#[derive(Clone, Debug, Serialize)]
pub struct LegendItem {
    /// Slice colour, `#RRGGBB`.
    pub color: String,
    /// Label (clipped to 40 characters).
    pub label: String,
    /// Formatted amount.
    pub value: String,
    /// Share of the total, e.g. `42.1%`.
    pub share: String,
}

/// A section ready for display.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SectionView {
    /// Summary cards.
    Summary {
        /// Cards.
        cards: Vec<Card>,
    },
    /// Cost over time.
    Trend {
        /// Heading.
        title: String,
        /// Chart kind (`line`, `area`, `bar`) or `none` when charts are off.
        chart: &'static str,
        /// The chart as SVG (empty when charts are off).
        svg: String,
        /// Table of the points (date, cost, requests).
        table: Table,
    },
    /// One breakdown by a dimension.
    Breakdown {
        /// Heading, e.g. `Cost by provider`.
        title: String,
        /// Bars (empty when charts are off, the template has no bar chart,
        /// or there are more than [`MAX_BARS`] items).
        bars: Vec<Bar>,
        /// Whether to show the table (when there are no bars: the bars
        /// already show every label and amount).
        show_table: bool,
        /// Pie chart SVG with its legend drawn in (empty unless the
        /// template asks for a pie).
        pie_svg: String,
        /// The pie's slices alone (square SVG), for renderers that set
        /// [`pie_legend`](SectionView::Breakdown::pie_legend) as text.
        pie_slices_svg: String,
        /// The pie's legend (empty without a pie).
        pie_legend: Vec<LegendItem>,
        /// Table.
        table: Table,
    },
    /// Anomalies.
    Anomalies {
        /// Heading.
        title: String,
        /// What to say when there are none: none found, or not judged
        /// (the period's data has not arrived).
        empty_note: String,
        /// Table (empty rows: "No anomalies").
        table: Table,
    },
    /// Forecast.
    Forecast {
        /// Heading.
        title: String,
        /// Cards: to date, projected, lower and upper bound (empty when
        /// there is too little history; `note` says so).
        cards: Vec<Card>,
        /// Method and horizon in words.
        note: String,
        /// Next month and next quarter (no rows without an outlook).
        outlook: Table,
        /// The method's error on past data in words (empty when unknown).
        accuracy: String,
    },
    /// The headline facts in sentences, before any detail (executive
    /// overview).
    Overview {
        /// Heading.
        title: String,
        /// Sentences.
        items: Vec<String>,
    },
    /// A page break in paged formats (PDF); others ignore it.
    PageBreak,
    /// One team's or project's page.
    Group {
        /// Heading: the team or project.
        title: String,
        /// `Team · 40.6% of the total`.
        subtitle: String,
        /// Its figures.
        cards: Vec<Card>,
        /// Its cost over the period as a line chart (SVG; empty without
        /// charts).
        svg: String,
        /// Its breakdowns.
        tables: Vec<SubTable>,
    },
    /// A chargeback statement.
    Statement {
        /// Heading.
        title: String,
        /// Configuration, basis, status, approver, date...
        facts: Vec<Fact>,
        /// The allocation: one row per target, unallocated, total.
        allocation: Table,
        /// The rules applied.
        rules: Table,
        /// How the amounts tie out, in words.
        check: String,
    },
    /// Each anomaly with its baseline chart and what moved.
    AnomalyDetails {
        /// Heading.
        title: String,
        /// The anomalies, largest deviation first.
        items: Vec<AnomalyView>,
    },
    /// Recommendations.
    Recommendations {
        /// Heading.
        title: String,
        /// Items.
        items: Vec<RecommendationView>,
    },
    /// The period re-priced under another price version.
    Repricing {
        /// Heading.
        title: String,
        /// What was compared, in words (or why there is nothing to show).
        note: String,
        /// By model and token class, with the total.
        table: Table,
    },
    /// Top costs.
    TopCosts {
        /// Heading.
        title: String,
        /// Table.
        table: Table,
    },
    /// Efficiency.
    Efficiency {
        /// Heading.
        title: String,
        /// Table.
        table: Table,
    },
}

/// A titled table inside a section.
#[derive(Clone, Debug, Serialize)]
pub struct SubTable {
    /// Title.
    pub title: String,
    /// Table.
    pub table: Table,
}

/// A labelled value.
#[derive(Clone, Debug, Serialize)]
pub struct Fact {
    /// Label.
    pub label: String,
    /// Value.
    pub value: String,
}

/// One anomaly in detail.
#[derive(Clone, Debug, Serialize)]
pub struct AnomalyView {
    /// `Team research · 14 October 2026`.
    pub heading: String,
    /// `$789.61 against $114.99 expected (+586.7%), 24.4σ, critical`.
    pub summary: String,
    /// Baseline chart (SVG; empty without charts or history).
    pub svg: String,
    /// The change split into volume, model mix, cache rate and price (no
    /// rows when the data has no request counts).
    pub effects: Table,
    /// Requests, cache rate and the model that moved most, in words; or why
    /// the change is not split.
    pub note: String,
}

/// A recommendation for display.
#[derive(Clone, Debug, Serialize)]
pub struct RecommendationView {
    /// Title.
    pub title: String,
    /// Explanation.
    pub message: String,
    /// `Potential savings $840.00` or empty.
    pub savings: String,
}

/// Format an integer with thousands separators (`1,284,337`).
pub fn group(n: u64) -> String {
    group_digits(&n.to_string())
}

fn group_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Compact count: `987.7M`, `12.3k`, `950`.
pub fn compact(n: u64) -> String {
    let f = n as f64;
    if n >= 1_000_000_000 {
        format!("{:.1}B", f / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1}M", f / 1e6)
    } else if n >= 10_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        group(n)
    }
}

/// A percentage with one decimal and an explicit sign: `+8.4%`, `-2.0%`.
pub fn signed_percent(p: Decimal) -> String {
    let r = p.round_dp(1);
    let sign = if r > Decimal::ZERO { "+" } else { "" };
    format!("{sign}{r:.1}%")
}

/// A percentage with one decimal: `12.5%`.
pub fn percent(p: Decimal) -> String {
    format!("{:.1}%", p.round_dp(1))
}

/// An amount with more precision than the currency's minor unit, for unit
/// costs (`$0.0096`): four decimals, symbol placed as in [`Currency::format`].
pub fn unit_cost(currency: Currency, amount: Decimal) -> String {
    let r = amount.round_dp(4);
    let negative = r.is_sign_negative() && !r.is_zero();
    let plain = format!("{:.4}", r.abs());
    let (int, frac) = plain.split_once('.').unwrap_or((plain.as_str(), "0000"));
    let grouped = group_digits(int);
    let sign = if negative { "-" } else { "" };
    let symbol = currency.symbol();
    if symbol.chars().count() > 1 && symbol.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{sign}{grouped}.{frac} {symbol}")
    } else {
        format!("{sign}{symbol}{grouped}.{frac}")
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_name(m: u32) -> &'static str {
    MONTHS
        .get(usize::try_from(m).unwrap_or(1).saturating_sub(1))
        .copied()
        .unwrap_or("")
}

/// `1 April 2026`.
pub fn long_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), month_name(d.month()), d.year())
}

/// `Mar 1`.
pub fn short_date(d: NaiveDate) -> String {
    format!(
        "{} {}",
        &month_name(d.month()).get(..3).unwrap_or(""),
        d.day()
    )
}

/// `1 – 31 March 2026`, `28 February – 3 March 2026`, or across years in full.
pub fn period(r: &DateRange) -> String {
    let (s, e) = (r.start, r.end);
    if s == e {
        long_date(s)
    } else if s.year() == e.year() && s.month() == e.month() {
        format!(
            "{} – {} {} {}",
            s.day(),
            e.day(),
            month_name(e.month()),
            e.year()
        )
    } else if s.year() == e.year() {
        format!(
            "{} {} – {} {} {}",
            s.day(),
            month_name(s.month()),
            e.day(),
            month_name(e.month()),
            e.year()
        )
    } else {
        format!("{} – {}", long_date(s), long_date(e))
    }
}

/// A valid `#RRGGBB` colour from the branding, else [`DEFAULT_PRIMARY`].
pub fn primary_color(doc: &ReportDocument) -> String {
    match &doc.branding.primary_color {
        Some(c)
            if c.len() == 7
                && c.starts_with('#')
                && c.bytes().skip(1).all(|b| b.is_ascii_hexdigit()) =>
        {
            c.to_ascii_uppercase()
        }
        _ => DEFAULT_PRIMARY.to_owned(),
    }
}

/// `Cost by provider`, from a dimension's label (`Provider`, or the
/// source's own: [`ReportDocument::dimension_label`]).
pub fn breakdown_title(label: &str) -> String {
    format!("Cost by {}", label.to_lowercase())
}

pub(crate) fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// User-supplied text is shortened to this many characters for display (the
/// CSV, JSON and XLSX exports keep it whole).
pub const MAX_TEXT: usize = 200;

pub(crate) fn clip(s: &str) -> String {
    super::charts::truncate(s, MAX_TEXT)
}

fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

impl SectionView {
    /// The section's tables.
    pub fn tables_mut(&mut self) -> Vec<&mut Table> {
        match self {
            SectionView::Trend { table, .. }
            | SectionView::Breakdown { table, .. }
            | SectionView::Anomalies { table, .. }
            | SectionView::TopCosts { table, .. }
            | SectionView::Repricing { table, .. }
            | SectionView::Efficiency { table, .. } => vec![table],
            SectionView::Forecast { outlook, .. } => vec![outlook],
            SectionView::Group { tables, .. } => tables.iter_mut().map(|t| &mut t.table).collect(),
            SectionView::Statement {
                allocation, rules, ..
            } => vec![allocation, rules],
            SectionView::AnomalyDetails { items, .. } => {
                items.iter_mut().map(|i| &mut i.effects).collect()
            }
            SectionView::Summary { .. }
            | SectionView::Recommendations { .. }
            | SectionView::Overview { .. }
            | SectionView::PageBreak => Vec::new(),
        }
    }
}

/// The forecast's outlook table (next month, next quarter) and its
/// accuracy on past data in words.
fn forecast_extras(doc: &ReportDocument, f: &crate::model::Forecast) -> (Table, String) {
    let cur = doc.currency;
    let rows = f
        .outlook
        .iter()
        .map(|h| {
            vec![
                match h.horizon.as_str() {
                    "next_month" => "Next month".to_owned(),
                    "next_quarter" => "Next quarter".to_owned(),
                    other => other.replace('_', " "),
                },
                if h.horizon == "next_quarter" {
                    format!(
                        "Q{} {} ({})",
                        (h.period_start.month() - 1) / 3 + 1,
                        h.period_start.year(),
                        period(&DateRange {
                            start: h.period_start,
                            end: h.period_end,
                        })
                    )
                } else {
                    crate::core::period::label(DateRange {
                        start: h.period_start,
                        end: h.period_end,
                    })
                },
                cur.format(h.projected_total),
                format!(
                    "{} – {}",
                    cur.format(h.lower_bound),
                    cur.format(h.upper_bound)
                ),
            ]
        })
        .collect();
    let accuracy = match &f.backtest {
        Some(b) => format!(
            "Accuracy on past data: off by {} on average (mean absolute percentage error) over \
             {} earlier {}-day forecasts, each fitted on the {} days before it.",
            percent(b.mape),
            b.folds,
            b.horizon_days,
            b.fit_days
        ),
        None => "Accuracy on past data: not enough history yet to measure it.".into(),
    };
    (
        Table {
            fit: None,
            header: vec![
                "Horizon".into(),
                "Period".into(),
                "Projected".into(),
                "80% interval".into(),
            ],
            numeric: vec![false, false, true, true],
            rows,
            total: None,
        },
        accuracy,
    )
}

/// The summary card of one metric.
fn metric_card(
    doc: &ReportDocument,
    s: &crate::model::CostSummary,
    f: crate::render::metrics::MetricFigure,
) -> Card {
    use crate::model::Metric;
    use crate::render::metrics::MetricValue as V;
    let cur = doc.currency;
    let card = |label: &str, value: String, note: String| Card {
        label: label.into(),
        value,
        note,
        accent: "primary",
    };
    let na = |label: &str, note: &str| card(label, "n/a".into(), note.into());
    match (f.metric, f.value) {
        (Metric::TotalCost, V::Money(total)) => card(
            "TOTAL COST",
            cur.format(total),
            match &s.comparison {
                // Nothing measured then: no "previous period" to show.
                Some(c) if !c.previous_cost.is_zero() => {
                    format!("Prev. period {}", cur.format(c.previous_cost))
                }
                _ => format!("{} days", doc.date_range.days()),
            },
        ),
        (Metric::TotalRequests, V::Count(n)) => card(
            "REQUESTS",
            group(n),
            if n > 0 {
                format!("Avg {} / request", unit_cost(cur, s.avg_cost_per_request))
            } else {
                String::new()
            },
        ),
        (Metric::TotalTokens, V::Count(n)) => {
            card("TOKENS", compact(n), "All token classes".into())
        }
        (Metric::InputTokens, V::Count(n)) => card("INPUT TOKENS", compact(n), String::new()),
        (Metric::OutputTokens, V::Count(n)) => card("OUTPUT TOKENS", compact(n), String::new()),
        (Metric::AvgCostPerRequest, V::UnitCost(c)) => card(
            "AVG COST / REQUEST",
            unit_cost(cur, c),
            format!("{} requests", group(s.total_requests)),
        ),
        (Metric::CacheHitRate, V::Percent(p)) => card(
            "CACHE HIT RATE",
            percent(p),
            format!("{} cached requests", group(s.cached_requests)),
        ),
        (Metric::CostChange, V::Percent(p)) => {
            let trend = s.comparison.as_ref().map(|c| c.trend);
            let up = trend.map_or(p > Decimal::ZERO, |t| t == Trend::Up);
            let down = trend.map_or(p < Decimal::ZERO, |t| t == Trend::Down);
            Card {
                label: "VS PREVIOUS PERIOD".into(),
                value: signed_percent(p),
                note: if up {
                    "Spend increased".into()
                } else if down {
                    "Spend decreased".into()
                } else {
                    "Spend stable".into()
                },
                accent: if up {
                    "up"
                } else if down {
                    "down"
                } else {
                    "primary"
                },
            }
        }
        (Metric::AllocatedCost, V::Money(a)) => {
            card("ALLOCATED", cur.format(a), "Charged to targets".into())
        }
        (Metric::UnallocatedCost, V::Money(a)) => {
            card("UNALLOCATED", cur.format(a), "No rule matched".into())
        }
        (Metric::AnomalyCount, V::Count(n)) => {
            // Anomalies are per dimension value: four providers on one day
            // are four anomalies on one day.
            let days = crate::model::anomaly_days(&doc.anomalies);
            card(
                "ANOMALIES",
                group(n),
                match (n, days) {
                    (0, _) => "Spend within its baseline".into(),
                    (_, 0) => "Spend outside its baseline".into(),
                    (_, 1) => "On 1 day".into(),
                    (_, d) => format!("On {d} days"),
                },
            )
        }
        (m, _) => na(
            &crate::render::metrics::label(m).to_uppercase(),
            "Not in this report's data",
        ),
    }
}

impl ReportView {
    /// Build the view of `doc`. `svg_charts` says whether to draw trend and
    /// pie charts as SVG and lay the report out for its reader
    /// ([`readers`](super::readers)): PDF and HTML do, e-mail does not.
    pub fn build(doc: &ReportDocument, svg_charts: bool) -> ReportView {
        let cur = doc.currency;
        let money = |d: Decimal| cur.format(d);
        let primary = primary_color(doc);
        let company = doc
            .branding
            .company_name
            .clone()
            .or_else(|| doc.organization_name.clone())
            .unwrap_or_default();
        let period_s = period(&doc.date_range);
        let mut footer = [company.as_str(), doc.title.as_str(), period_s.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" · ");
        if let Some(f) = doc
            .branding
            .footer_text
            .as_deref()
            .filter(|f| !f.is_empty())
        {
            footer = format!("{footer} · {f}");
        }
        // The period's data has not arrived at all (the source's watermark
        // is before its first day).
        let nothing_complete = doc
            .data_complete_through
            .is_some_and(|d| d < doc.date_range.start);
        let charts = doc.include_charts;
        let wants = |t: ChartType| charts && doc.chart_types.contains(&t);
        let mut sections = Vec::new();
        for section in &doc.sections {
            match section {
                // Nothing complete: no cards of zeros (the intro says why).
                ReportSection::Summary if nothing_complete => {}
                ReportSection::Summary => {
                    let s = doc.summary.clone().unwrap_or_default();
                    let cards = crate::render::metrics::figures(doc)
                        .into_iter()
                        .map(|f| metric_card(doc, &s, f))
                        .collect();
                    sections.push(SectionView::Summary { cards });
                }
                ReportSection::Trend => {
                    let points = doc
                        .trend
                        .as_ref()
                        .map(|t| t.points.as_slice())
                        .unwrap_or(&[]);
                    let gran = doc
                        .trend
                        .as_ref()
                        .map(|t| t.granularity)
                        .unwrap_or_default();
                    let label = |p: &crate::model::TrendPoint| match gran {
                        Granularity::Hour => p.period_start.format("%b %-d %H:00").to_string(),
                        Granularity::Month => p.period_start.format("%b %Y").to_string(),
                        _ => short_date(p.period_start.date()),
                    };
                    let chart = if wants(ChartType::Area) {
                        "area"
                    } else if wants(ChartType::Line) {
                        "line"
                    } else if charts {
                        "area"
                    } else {
                        "none"
                    };
                    let svg = if svg_charts && chart != "none" {
                        let labels: Vec<String> = points.iter().map(label).collect();
                        let values: Vec<f64> = points.iter().map(|p| to_f64(p.cost)).collect();
                        super::charts::line_chart(
                            &labels,
                            &values,
                            &super::charts::ChartStyle::new(&primary, cur),
                            chart == "area",
                        )
                    } else {
                        String::new()
                    };
                    let gran_word = match gran {
                        Granularity::Hour => "Hourly",
                        Granularity::Day => "Daily",
                        Granularity::Week => "Weekly",
                        Granularity::Month => "Monthly",
                    };
                    sections.push(SectionView::Trend {
                        title: format!("{gran_word} cost, {period_s}"),
                        chart,
                        svg,
                        table: Table {
                            fit: None,
                            header: vec!["Period".into(), "Cost".into(), "Requests".into()],
                            numeric: vec![false, true, true],
                            rows: points
                                .iter()
                                .map(|p| vec![label(p), money(p.cost), group(p.requests)])
                                .collect(),
                            total: None,
                        },
                    });
                }
                ReportSection::Breakdown => {
                    for (i, b) in doc.breakdowns.iter().enumerate() {
                        // A chargeback's allocation is the first breakdown;
                        // laid out for finance, the statement shows it.
                        if svg_charts
                            && i == 0
                            && doc.report_type == crate::model::ReportType::Chargeback
                            && doc.chargeback.is_some()
                            && b.items.iter().any(|i| i.value.is_some())
                            && b.items
                                .iter()
                                .filter(|i| i.value.is_some())
                                .all(|i| i.label.ends_with(" (allocated)"))
                        {
                            continue;
                        }
                        let max = b
                            .items
                            .iter()
                            .map(|i| to_f64(i.cost))
                            .fold(0.0_f64, f64::max);
                        let bars = if charts
                            && b.items.len() <= MAX_BARS
                            && (doc.chart_types.is_empty() || wants(ChartType::Bar))
                        {
                            b.items
                                .iter()
                                .map(|i| Bar {
                                    label: super::charts::truncate(&i.label, 40),
                                    value: money(i.cost),
                                    ratio: if max > 0.0 {
                                        (to_f64(i.cost) / max).clamp(0.0, 1.0)
                                    } else {
                                        0.0
                                    },
                                })
                                .collect()
                        } else {
                            Vec::new()
                        };
                        // One chart per breakdown: bars when the template
                        // asks for them and they fit, else the pie.
                        let (pie_svg, pie_slices_svg, pie_legend) =
                            if svg_charts && bars.is_empty() && wants(ChartType::Pie) {
                                let items: Vec<(String, f64)> = b
                                    .items
                                    .iter()
                                    .map(|i| (i.label.clone(), to_f64(i.cost)))
                                    .collect();
                                let style = super::charts::ChartStyle::new(&primary, cur);
                                let (slices, legend) =
                                    super::charts::pie_chart_parts(&items, &style);
                                let legend = legend
                                    .into_iter()
                                    .zip(&b.items)
                                    .map(|(e, i)| LegendItem {
                                        color: e.color,
                                        label: super::charts::truncate(&i.label, 40),
                                        value: money(i.cost),
                                        share: percent(i.share),
                                    })
                                    .collect();
                                (super::charts::pie_chart(&items, &style), slices, legend)
                            } else {
                                (String::new(), String::new(), Vec::new())
                            };
                        sections.push(SectionView::Breakdown {
                            title: breakdown_title(&doc.dimension_label(&b.dimension)),
                            show_table: bars.is_empty(),
                            bars,
                            pie_svg,
                            pie_slices_svg,
                            pie_legend,
                            table: Table {
                                fit: None,
                                header: vec![
                                    doc.dimension_label(&b.dimension),
                                    "Cost".into(),
                                    "Share".into(),
                                    "Requests".into(),
                                    "Tokens".into(),
                                    "Change".into(),
                                ],
                                numeric: vec![false, true, true, true, true, true],
                                rows: b
                                    .items
                                    .iter()
                                    .map(|i| {
                                        vec![
                                            clip(&i.label),
                                            money(i.cost),
                                            percent(i.share),
                                            group(i.requests),
                                            compact(i.tokens),
                                            i.change
                                                .map(signed_percent)
                                                .unwrap_or_else(|| "new".into()),
                                        ]
                                    })
                                    .collect(),
                                total: Some(vec![
                                    "Total".into(),
                                    money(b.total),
                                    String::new(),
                                    group(
                                        b.items
                                            .iter()
                                            .fold(0u64, |n, i| n.saturating_add(i.requests)),
                                    ),
                                    compact(
                                        b.items
                                            .iter()
                                            .fold(0u64, |n, i| n.saturating_add(i.tokens)),
                                    ),
                                    String::new(),
                                ]),
                            }
                            // Columns the data does not have: requests and
                            // tokens of a source that does not count them
                            // (cloud billing), the change when there was
                            // nothing to compare with.
                            .without(|c| match c {
                                3 => !b.total.is_zero() && b.items.iter().all(|i| i.requests == 0),
                                4 => !b.total.is_zero() && b.items.iter().all(|i| i.tokens == 0),
                                5 => b.items.iter().all(|i| i.change.is_none()),
                                _ => false,
                            }),
                        });
                    }
                }
                ReportSection::Anomalies => sections.push(SectionView::Anomalies {
                    title: "Anomalies".into(),
                    empty_note: if nothing_complete {
                        "Not judged: the data for this period has not arrived yet.".into()
                    } else {
                        "No anomalies were detected in this period.".into()
                    },
                    table: Table {
                        fit: None,
                        header: vec![
                            "Date".into(),
                            "Dimension".into(),
                            "Value".into(),
                            "Expected".into(),
                            "Actual".into(),
                            "Deviation".into(),
                            "Severity".into(),
                        ],
                        numeric: vec![false, false, false, true, true, true, false],
                        rows: doc
                            .anomalies
                            .iter()
                            .map(|a| {
                                vec![
                                    a.date.to_string(),
                                    doc.dimension_label(&a.dimension),
                                    clip(&a.value),
                                    money(a.expected_cost),
                                    money(a.actual_cost),
                                    format!("{:.1}σ", a.deviation.round_dp(1)),
                                    severity(a.severity).into(),
                                ]
                            })
                            .collect(),
                        total: None,
                    },
                }),
                ReportSection::Forecast => {
                    let ahead = |f: &&crate::model::Forecast| {
                        f.period_start.is_some_and(|s| s > doc.date_range.end)
                    };
                    if let Some(f) = doc.forecast.as_ref().filter(ahead) {
                        // The next period, on its own.
                        let start = f.period_start.unwrap_or(f.period_end);
                        let next = DateRange {
                            start,
                            end: f.period_end,
                        };
                        let interval = "80% interval".to_owned();
                        let (outlook, accuracy) = forecast_extras(doc, f);
                        sections.push(SectionView::Forecast {
                            outlook,
                            accuracy,
                            title: format!("Forecast for {}", crate::core::period::label(next)),
                            cards: vec![
                                Card {
                                    label: "PROJECTED".into(),
                                    value: money(f.projected_total),
                                    note: period(&next),
                                    accent: "primary",
                                },
                                Card {
                                    label: "LOWER BOUND".into(),
                                    value: money(f.lower_bound),
                                    note: interval.clone(),
                                    accent: "primary",
                                },
                                Card {
                                    label: "UPPER BOUND".into(),
                                    value: money(f.upper_bound),
                                    note: interval,
                                    accent: "primary",
                                },
                            ],
                            note: format!(
                                "Method: {}, fitted on the daily cost of {}",
                                f.method.replace('_', " "),
                                f.fitted_on
                                    .as_ref()
                                    .map_or_else(|| period_s.clone(), period)
                            ),
                        });
                    } else if let Some(f) = &doc.forecast {
                        let (outlook, accuracy) = forecast_extras(doc, f);
                        sections.push(SectionView::Forecast {
                            outlook,
                            accuracy,
                            title: format!("Forecast to {}", long_date(f.period_end)),
                            cards: vec![
                                Card {
                                    label: "ACTUAL TO DATE".into(),
                                    value: money(f.actual_to_date),
                                    note: match f.period_start {
                                        Some(start) => period(&DateRange {
                                            start,
                                            end: doc.date_range.end.max(start),
                                        }),
                                        None => period_s.clone(),
                                    },
                                    accent: "primary",
                                },
                                Card {
                                    label: "PROJECTED TOTAL".into(),
                                    value: money(f.projected_total),
                                    note: format!("By {}", long_date(f.period_end)),
                                    accent: "primary",
                                },
                                Card {
                                    label: "LOWER BOUND".into(),
                                    value: money(f.lower_bound),
                                    note: "80% interval".into(),
                                    accent: "primary",
                                },
                                Card {
                                    label: "UPPER BOUND".into(),
                                    value: money(f.upper_bound),
                                    note: "80% interval".into(),
                                    accent: "primary",
                                },
                            ],
                            note: match &f.fitted_on {
                                Some(fit) => format!(
                                    "Method: {}, fitted on the daily cost of {}",
                                    f.method.replace('_', " "),
                                    period(fit)
                                ),
                                None => format!("Method: {}", f.method.replace('_', " ")),
                            },
                        });
                    } else if let Some(why) = &doc.forecast_unavailable {
                        sections.push(SectionView::Forecast {
                            title: "Forecast".into(),
                            cards: Vec::new(),
                            note: clip(why),
                            outlook: Table::default(),
                            accuracy: String::new(),
                        });
                    }
                }
                ReportSection::Recommendations => sections.push(SectionView::Recommendations {
                    title: "Recommendations".into(),
                    items: doc
                        .recommendations
                        .iter()
                        .map(|r| RecommendationView {
                            title: clip(&r.title),
                            message: super::charts::truncate(&r.message, 2000),
                            savings: r
                                .potential_savings
                                .map(|s| format!("Potential savings {}", money(s)))
                                .unwrap_or_default(),
                        })
                        .collect(),
                }),
                ReportSection::TopCosts => sections.push(SectionView::TopCosts {
                    title: "Top costs".into(),
                    table: Table {
                        fit: None,
                        header: vec![
                            "#".into(),
                            "Combination".into(),
                            "Cost".into(),
                            "Requests".into(),
                            "Share".into(),
                        ],
                        numeric: vec![true, false, true, true, true],
                        rows: doc
                            .top_costs
                            .iter()
                            .enumerate()
                            .map(|(i, t)| {
                                vec![
                                    (i + 1).to_string(),
                                    t.keys
                                        .iter()
                                        .map(|(d, v)| {
                                            format!(
                                                "{}: {}",
                                                doc.dimension_label(d),
                                                v.as_deref().unwrap_or("Unassigned")
                                            )
                                        })
                                        .collect::<Vec<_>>()
                                        .join(" · ")
                                        .chars()
                                        .take(MAX_TEXT)
                                        .collect(),
                                    money(t.cost),
                                    group(t.requests),
                                    percent(t.share),
                                ]
                            })
                            .collect(),
                        total: None,
                    }
                    // No requests column for a source that does not count them.
                    .without(|c| {
                        c == 3
                            && doc.top_costs.iter().any(|t| !t.cost.is_zero())
                            && doc.top_costs.iter().all(|t| t.requests == 0)
                    }),
                }),
                ReportSection::Repricing => sections.push(repricing_view(doc)),
                ReportSection::Efficiency => sections.push(SectionView::Efficiency {
                    title: "Efficiency by model".into(),
                    table: Table {
                        fit: None,
                        header: vec![
                            "Model".into(),
                            "Cost / request".into(),
                            "Cost / 1k tokens".into(),
                            "Tokens / request".into(),
                            "Cache hit rate".into(),
                        ],
                        numeric: vec![false, true, true, true, true],
                        rows: doc
                            .efficiency
                            .iter()
                            .map(|e| {
                                vec![
                                    clip(&e.model),
                                    unit_cost(cur, e.cost_per_request),
                                    unit_cost(cur, e.cost_per_1k_tokens),
                                    e.tokens_per_request
                                        .round_dp(0)
                                        .to_u64()
                                        .map(group)
                                        .unwrap_or_else(|| {
                                            e.tokens_per_request.round_dp(0).to_string()
                                        }),
                                    percent(e.cache_hit_rate),
                                ]
                            })
                            .collect(),
                        total: None,
                    },
                }),
            }
        }
        // The reader's layout in documents (PDF, HTML); an e-mail stays a
        // summary of the attached report.
        if svg_charts {
            super::readers::arrange(doc, &mut sections, svg_charts, &primary);
        }
        ReportView {
            title: clip(&doc.title),
            company: clip(&company),
            header_text: clip(doc.branding.header_text.as_deref().unwrap_or_default()),
            footer_text: super::charts::truncate(&footer, 2 * MAX_TEXT),
            primary,
            period: period_s,
            generated: match doc.data_complete_through {
                Some(day) => format!(
                    "Generated {} · data complete through {}",
                    long_date(doc.generated_at.date_naive()),
                    long_date(day)
                ),
                None => format!("Generated {}", long_date(doc.generated_at.date_naive())),
            },
            currency: cur.code().to_owned(),
            sections,
        }
    }
}

/// The `repricing` section: by model and token class, what the period cost
/// as priced and under the version compared with (USD, the price tables'
/// currency).
fn repricing_view(doc: &ReportDocument) -> SectionView {
    let usd = Currency::USD;
    let Some(r) = &doc.repricing else {
        return SectionView::Repricing {
            title: "Prices".into(),
            note: "Re-pricing needs a price book and request-level usage \
                   (EngineBuilder::price_book)."
                .into(),
            table: Table::default(),
        };
    };
    let change = |before: Decimal, after: Decimal| {
        let d = after - before;
        if d.is_sign_positive() && !d.is_zero() {
            format!("+{}", usd.format(d))
        } else {
            usd.format(d)
        }
    };
    let mut note = format!(
        "Usage as priced with {} and under {}, in USD.",
        if r.priced_with.is_empty() {
            "no version".to_owned()
        } else {
            r.priced_with.join(", ")
        },
        r.version
    );
    if r.skipped > 0 {
        let records = if r.skipped == 1 {
            "usage record is"
        } else {
            "usage records are"
        };
        note.push_str(&format!(
            " {} {records} left out (a cost of their own, or a model neither version prices).",
            group(r.skipped)
        ));
    }
    if r.lines.is_empty() {
        note.push_str(" No usage to re-price in this period.");
    }
    SectionView::Repricing {
        title: format!("Prices: this period under {}", clip(&r.version)),
        note,
        table: Table {
            fit: None,
            header: vec![
                "Model".into(),
                "Usage".into(),
                "As priced".into(),
                "Re-priced".into(),
                "Change".into(),
            ],
            numeric: vec![false, false, true, true, true],
            rows: r
                .lines
                .iter()
                .map(|l| {
                    vec![
                        clip(&l.model),
                        l.class.label().to_owned(),
                        usd.format(l.before),
                        usd.format(l.after),
                        change(l.before, l.after),
                    ]
                })
                .collect(),
            total: (!r.lines.is_empty()).then(|| {
                vec![
                    "Total".into(),
                    String::new(),
                    usd.format(r.total_before),
                    usd.format(r.total_after),
                    change(r.total_before, r.total_after),
                ]
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn numbers_are_formatted_exactly() {
        assert_eq!(group(1_284_337), "1,284,337");
        assert_eq!(group(0), "0");
        assert_eq!(compact(987_700_000), "987.7M");
        assert_eq!(compact(9_999), "9,999");
        assert_eq!(signed_percent(dec!(8.44)), "+8.4%");
        assert_eq!(signed_percent(dec!(-2)), "-2.0%");
        assert_eq!(signed_percent(dec!(0)), "0.0%");
        assert_eq!(unit_cost(Currency::USD, dec!(0.00961)), "$0.0096");
        assert_eq!(unit_cost(Currency::USD, dec!(1234.5)), "$1,234.5000");
        assert_eq!(unit_cost(Currency::JPY, dec!(3.25)), "¥3.2500");
    }

    #[test]
    fn periods_read_naturally() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let r = |a, b| DateRange {
            start: d(a),
            end: d(b),
        };
        assert_eq!(period(&r("2026-03-01", "2026-03-31")), "1 – 31 March 2026");
        assert_eq!(
            period(&r("2026-02-27", "2026-03-02")),
            "27 February – 2 March 2026"
        );
        assert_eq!(
            period(&r("2025-12-30", "2026-01-02")),
            "30 December 2025 – 2 January 2026"
        );
        assert_eq!(period(&r("2026-03-05", "2026-03-05")), "5 March 2026");
    }
}
