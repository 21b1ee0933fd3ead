//! Report templates: what a report contains and how it looks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    ComparisonPeriod, DateRangePreset, Dimension, Granularity, OrganizationId, TemplateId, UserId,
};
use crate::model::validate::{non_empty_name, Validator};
use crate::Result;

/// The kind of report. Every kind has a system template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportType {
    /// Executive summary: totals, trend, top providers, models and teams.
    Executive,
    /// Cost per team.
    Team,
    /// Cost per project.
    Project,
    /// Chargeback: costs allocated to teams or cost centers.
    Chargeback,
    /// Anomalies found in the period.
    Anomaly,
    /// Forecast to the end of the period.
    Forecast,
    /// A report built entirely from its template: the template's sections,
    /// metrics and breakdowns, nothing implied by the type.
    Custom,
    /// A short usage digest (what digest e-mails contain). Not in the
    /// specification's list: this crate's own type for digests.
    Digest,
}

impl ReportType {
    /// Every report type, in declaration order.
    pub const ALL: [ReportType; 8] = [
        ReportType::Executive,
        ReportType::Team,
        ReportType::Project,
        ReportType::Chargeback,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Custom,
        ReportType::Digest,
    ];

    /// The JSON name (`executive`, `cost_center`...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ReportType::Executive => "executive",
            ReportType::Team => "team",
            ReportType::Project => "project",
            ReportType::Chargeback => "chargeback",
            ReportType::Anomaly => "anomaly",
            ReportType::Forecast => "forecast",
            ReportType::Custom => "custom",
            ReportType::Digest => "digest",
        }
    }
}

/// Output format of a generated report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// PDF document (feature `pdf`).
    #[default]
    Pdf,
    /// CSV (always available).
    Csv,
    /// JSON report document (always available).
    Json,
    /// Self-contained HTML page (feature `html`).
    Html,
    /// Excel workbook (feature `xlsx`).
    Xlsx,
}

impl ReportFormat {
    /// The file extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            ReportFormat::Pdf => "pdf",
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
            ReportFormat::Xlsx => "xlsx",
        }
    }

    /// The MIME type of files in this format.
    pub fn media_type(&self) -> &'static str {
        match self {
            ReportFormat::Pdf => "application/pdf",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Json => "application/json",
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

/// A section of a report, rendered in the order the template lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSection {
    /// Summary cards: totals and change.
    Summary,
    /// Cost over time.
    Trend,
    /// Breakdowns by the template's dimensions.
    Breakdown,
    /// Anomalies.
    Anomalies,
    /// Recommendations.
    Recommendations,
    /// Forecast to the end of the period.
    Forecast,
    /// The most expensive items.
    TopCosts,
    /// Efficiency: cost per request, tokens per request, cache hit rate.
    Efficiency,
    /// What the period's usage would cost under another price version, by
    /// model and token class (needs a price book and request-level usage:
    /// `EngineBuilder::price_book`).
    Repricing,
}

/// A metric a report shows as a summary card, in the order the template
/// lists them.
///
/// JSON names are the specification's camelCase strings (`"totalCost"`,
/// `"requestCount"`, `"cacheHitRate"`); the snake_case names this crate
/// wrote before (`"total_cost"`) are read too. An unknown name is an error
/// naming the entry (`config.metrics[2]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Total cost.
    #[serde(rename = "totalCost", alias = "total_cost")]
    TotalCost,
    /// Total requests (the specification's `requestCount`).
    #[serde(
        rename = "requestCount",
        alias = "totalRequests",
        alias = "total_requests",
        alias = "request_count"
    )]
    TotalRequests,
    /// All tokens (input, cache reads and writes, output).
    #[serde(rename = "totalTokens", alias = "total_tokens")]
    TotalTokens,
    /// Input tokens.
    #[serde(rename = "inputTokens", alias = "input_tokens")]
    InputTokens,
    /// Output tokens.
    #[serde(rename = "outputTokens", alias = "output_tokens")]
    OutputTokens,
    /// Cost divided by requests.
    #[serde(rename = "avgCostPerRequest", alias = "avg_cost_per_request")]
    AvgCostPerRequest,
    /// Cached requests over requests, in percent.
    #[serde(rename = "cacheHitRate", alias = "cache_hit_rate")]
    CacheHitRate,
    /// Change against the comparison period, in percent.
    #[serde(rename = "costChange", alias = "cost_change")]
    CostChange,
    /// Cost allocated to chargeback targets (chargeback reports).
    #[serde(rename = "allocatedCost", alias = "allocated_cost")]
    AllocatedCost,
    /// Cost no chargeback rule allocated (chargeback reports).
    #[serde(rename = "unallocatedCost", alias = "unallocated_cost")]
    UnallocatedCost,
    /// Number of anomalies found in the period.
    #[serde(rename = "anomalyCount", alias = "anomaly_count")]
    AnomalyCount,
}

impl Metric {
    /// Every metric, in declaration order.
    pub const ALL: [Metric; 11] = [
        Metric::TotalCost,
        Metric::TotalRequests,
        Metric::TotalTokens,
        Metric::InputTokens,
        Metric::OutputTokens,
        Metric::AvgCostPerRequest,
        Metric::CacheHitRate,
        Metric::CostChange,
        Metric::AllocatedCost,
        Metric::UnallocatedCost,
        Metric::AnomalyCount,
    ];
}

/// A chart kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartType {
    /// Line chart.
    Line,
    /// Bar chart.
    Bar,
    /// Pie chart.
    Pie,
    /// Area chart.
    Area,
}

/// Whether and with what a report compares its period.
///
/// Written as the specification writes it, a bare period string
/// (`"previous_period"`). Reads that, `{"enabled":true,"period":"previous_period"}`
/// (this crate's earlier shape), or `false`/`null` (no comparison).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComparisonConfig {
    /// Whether the comparison is shown.
    pub enabled: bool,
    /// Which period to compare with.
    pub period: ComparisonPeriod,
}

impl Default for ComparisonConfig {
    fn default() -> Self {
        ComparisonConfig {
            enabled: true,
            period: ComparisonPeriod::PreviousPeriod,
        }
    }
}

impl Serialize for ComparisonConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.enabled {
            self.period.serialize(s)
        } else {
            s.serialize_bool(false)
        }
    }
}

impl<'de> Deserialize<'de> for ComparisonConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Flag(bool),
            Period(ComparisonPeriod),
            Full {
                #[serde(default = "yes")]
                enabled: bool,
                #[serde(default = "previous")]
                period: ComparisonPeriod,
            },
        }
        fn yes() -> bool {
            true
        }
        fn previous() -> ComparisonPeriod {
            ComparisonPeriod::PreviousPeriod
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Flag(enabled) => ComparisonConfig {
                enabled,
                period: ComparisonPeriod::PreviousPeriod,
            },
            Wire::Period(period) => ComparisonConfig {
                enabled: true,
                period,
            },
            Wire::Full { enabled, period } => ComparisonConfig { enabled, period },
        })
    }
}

/// What a report contains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportTemplateConfig {
    /// Sections, in the order they are rendered.
    pub sections: Vec<ReportSection>,
    /// Metrics shown in the summary.
    pub metrics: Vec<Metric>,
    /// Dimensions broken down in the breakdown section.
    pub breakdowns: Vec<Dimension>,
    /// Trend bucket size.
    pub granularity: Granularity,
    /// Default period when a request gives none.
    pub date_range: DateRangePreset,
    /// Whether charts are drawn.
    pub include_charts: bool,
    /// Which charts.
    pub chart_types: Vec<ChartType>,
    /// Comparison period; `None` (absent, `false` or `null` in JSON, as the
    /// specification's Monthly Chargeback leaves it out) for none.
    #[serde(
        default,
        deserialize_with = "comparison_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub comparison: Option<ComparisonConfig>,
    /// How many items each breakdown lists before folding the rest into "Other".
    pub breakdown_limit: u32,
    /// The price version the `repricing` section compares with (default:
    /// the price book's latest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reprice_with: Option<String>,
}

fn comparison_or_none<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ComparisonConfig>, D::Error> {
    Ok(Option::<ComparisonConfig>::deserialize(d)?.filter(|c| c.enabled))
}

impl Default for ReportTemplateConfig {
    fn default() -> Self {
        ReportTemplateConfig {
            sections: vec![
                ReportSection::Summary,
                ReportSection::Trend,
                ReportSection::Breakdown,
            ],
            metrics: vec![
                Metric::TotalCost,
                Metric::TotalRequests,
                Metric::AvgCostPerRequest,
                Metric::CostChange,
            ],
            breakdowns: vec![Dimension::Provider, Dimension::Model],
            granularity: Granularity::Day,
            date_range: DateRangePreset::Last30Days,
            include_charts: true,
            chart_types: vec![ChartType::Area, ChartType::Bar],
            comparison: Some(ComparisonConfig::default()),
            breakdown_limit: 10,
            reprice_with: None,
        }
    }
}

impl ReportTemplateConfig {
    /// Check limits and duplicates.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        if self.sections.is_empty() {
            v.fail("sections", "a template needs at least one section");
        }
        for (i, s) in self.sections.iter().enumerate() {
            if self.sections[..i].contains(s) {
                v.fail(format!("sections[{i}]"), format!("{s:?} is listed twice"));
            }
        }
        v.check(crate::model::validate::at_most(
            "breakdowns",
            self.breakdowns.len(),
            crate::model::MAX_BREAKDOWNS,
        ));
        for (i, d) in self.breakdowns.iter().enumerate() {
            if self.breakdowns[..i].contains(d) {
                v.fail(format!("breakdowns[{i}]"), format!("{d} is listed twice"));
            }
        }
        for (i, c) in self.chart_types.iter().enumerate() {
            if self.chart_types[..i].contains(c) {
                v.fail(format!("chartTypes[{i}]"), format!("{c:?} is listed twice"));
            }
        }
        for (i, m) in self.metrics.iter().enumerate() {
            if self.metrics[..i].contains(m) {
                v.fail(format!("metrics[{i}]"), format!("{m:?} is listed twice"));
            }
        }
        if self.breakdown_limit == 0 || self.breakdown_limit > 1000 {
            v.fail("breakdownLimit", "must be between 1 and 1000");
        }
        v.finish()
    }
}

/// Colours, texts and logo applied to rendered reports.
///
/// JSON: the specification's `{logo?, primaryColor?, headerText?, footerText?}`
/// plus `companyName`. `logo` is a string as the specification has it: a
/// `data:image/png;base64,...` (or `image/svg+xml`) URI is read into
/// [`logo`](Self::logo) and embedded in every format; any other string is
/// the URL where the host serves the logo ([`logo_url`](Self::logo_url),
/// used by HTML only). The object `{"format":"png","data":"<base64>"}` this
/// crate wrote before is read too, and `logoUrl` is an alias. Written back,
/// `logo` is the data URI when the bytes are known, else the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportBranding {
    /// Company name shown in the banner.
    pub company_name: Option<String>,
    /// Primary colour as `#RRGGBB`.
    pub primary_color: Option<String>,
    /// Text in the page header.
    pub header_text: Option<String>,
    /// Text in the page footer.
    pub footer_text: Option<String>,
    /// Where the host serves the logo (shown by HTML only when no bytes are given).
    pub logo_url: Option<String>,
    /// The logo itself.
    pub logo: Option<Logo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrandingOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    logo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_color: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    footer_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_url: Option<&'a str>,
}

impl Serialize for ReportBranding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (logo, logo_url) = match (&self.logo, &self.logo_url) {
            (Some(l), url) => (Some(l.data_uri()), url.as_deref()),
            (None, url) => (url.clone(), None),
        };
        BrandingOut {
            logo,
            primary_color: self.primary_color.as_deref(),
            header_text: self.header_text.as_deref(),
            footer_text: self.footer_text.as_deref(),
            company_name: self.company_name.as_deref(),
            logo_url,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ReportBranding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum LogoIn {
            Text(String),
            Object(Logo),
        }
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct In {
            company_name: Option<String>,
            primary_color: Option<String>,
            header_text: Option<String>,
            footer_text: Option<String>,
            logo_url: Option<String>,
            logo: Option<LogoIn>,
        }
        let w = Option::<In>::deserialize(d)?.unwrap_or_default();
        let mut b = ReportBranding {
            company_name: w.company_name,
            primary_color: w.primary_color,
            header_text: w.header_text,
            footer_text: w.footer_text,
            logo_url: w.logo_url,
            logo: None,
        };
        match w.logo {
            None => {}
            Some(LogoIn::Object(l)) => b.logo = Some(l),
            Some(LogoIn::Text(t)) if t.trim().is_empty() => {}
            Some(LogoIn::Text(t)) => {
                if t.trim_start().starts_with("data:") {
                    b.logo = Some(Logo::from_data_uri(&t).map_err(serde::de::Error::custom)?);
                } else if b.logo_url.is_none() {
                    b.logo_url = Some(t);
                }
            }
        }
        Ok(b)
    }
}

/// A logo image embedded in reports.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logo {
    /// `png` or `svg`.
    pub format: LogoFormat,
    /// The image bytes, base64 in JSON.
    #[serde(with = "crate::model::base64_bytes")]
    pub data: Vec<u8>,
}

/// Largest logo file accepted.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;
/// Largest logo width and height, in pixels (PNG) or SVG user units.
pub const MAX_LOGO_SIDE: u32 = 4096;
/// Most XML nodes an SVG logo may have.
pub const MAX_SVG_NODES: u32 = 20_000;

impl Logo {
    /// Check the logo by its content, not its declared format: at most
    /// [`MAX_LOGO_BYTES`]; a PNG whose header declares at most
    /// [`MAX_LOGO_SIDE`] pixels a side; an SVG that is plain UTF-8 XML (no
    /// gzip-compressed `svgz`, no DTD or entities, at most
    /// [`MAX_SVG_NODES`] nodes) with an `svg` root, no scripts, no foreign
    /// objects, no embedded or external images, and no references outside
    /// itself (`href` only to `#fragments`, no `url(...)` but `url(#...)`,
    /// no `@import`).
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) on `data` (or `format` when
    /// the content is not what the format says).
    pub fn validate(&self) -> Result<()> {
        use crate::Error;
        let data = &self.data;
        if data.is_empty() {
            return Err(Error::invalid("data", "the logo is empty"));
        }
        if data.len() > MAX_LOGO_BYTES {
            return Err(Error::invalid("data", "a logo may be at most 1 MiB"));
        }
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        let is_png = data.starts_with(PNG);
        match (self.format, is_png) {
            (LogoFormat::Png, true) => check_png(data),
            (LogoFormat::Png, false) => Err(Error::invalid("format", "the logo is not a PNG")),
            (LogoFormat::Svg, true) => {
                Err(Error::invalid("format", "the logo is a PNG, not an SVG"))
            }
            (LogoFormat::Svg, false) => check_svg(data),
        }
    }

    /// The logo as a `data:` URI (`data:image/png;base64,...`).
    pub fn data_uri(&self) -> String {
        use base64::Engine as _;
        let media = match self.format {
            LogoFormat::Png => "image/png",
            LogoFormat::Svg => "image/svg+xml",
        };
        format!(
            "data:{media};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&self.data)
        )
    }

    /// Read a `data:image/png;base64,...` or `data:image/svg+xml;base64,...` URI.
    pub fn from_data_uri(uri: &str) -> std::result::Result<Logo, String> {
        use base64::Engine as _;
        let rest = uri
            .trim()
            .strip_prefix("data:")
            .ok_or("a logo data URI starts with `data:`")?;
        let (meta, payload) = rest
            .split_once(',')
            .ok_or("a logo data URI needs a `,` before its data")?;
        let mut parts = meta.split(';').map(str::trim);
        let format = match parts.next().map(str::to_ascii_lowercase).as_deref() {
            Some("image/png") => LogoFormat::Png,
            Some("image/svg+xml") => LogoFormat::Svg,
            other => {
                return Err(format!(
                    "logo media type {:?} is not supported: use image/png or image/svg+xml",
                    other.unwrap_or("")
                ))
            }
        };
        let base64 = parts.any(|p| p.eq_ignore_ascii_case("base64"));
        let data = if base64 {
            let clean: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(clean)
                .map_err(|e| format!("the logo's base64 data is invalid: {e}"))?
        } else {
            return Err("a logo data URI must be base64 (`;base64,`)".into());
        };
        Ok(Logo { format, data })
    }
}

fn check_png(data: &[u8]) -> Result<()> {
    use crate::Error;
    // Signature, then the IHDR chunk: length 13, "IHDR", width, height.
    let ihdr = data.get(8..24).filter(|h| &h[..8] == b"\0\0\0\rIHDR");
    let Some(h) = ihdr else {
        return Err(Error::invalid("data", "the PNG has no IHDR header"));
    };
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, hgt) = (be(&h[8..12]), be(&h[12..16]));
    if w == 0 || hgt == 0 || w > MAX_LOGO_SIDE || hgt > MAX_LOGO_SIDE {
        return Err(Error::invalid(
            "data",
            format!("the PNG is {w}x{hgt} pixels; a logo may be at most {MAX_LOGO_SIDE}x{MAX_LOGO_SIDE}"),
        ));
    }
    Ok(())
}

fn check_svg(data: &[u8]) -> Result<()> {
    use crate::Error;
    let bad = |why: String| Err(Error::invalid("data", why));
    if data.starts_with(&[0x1f, 0x8b]) {
        return bad("a compressed SVG (svgz) is not accepted: give it uncompressed".into());
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return bad("an SVG logo must be UTF-8 text".into());
    };
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_SVG_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = match roxmltree::Document::parse_with_options(text, options) {
        Ok(d) => d,
        Err(e) => return bad(format!("the SVG does not parse: {e}")),
    };
    if doc.root_element().tag_name().name() != "svg" {
        return bad("the logo's root element is not <svg>".into());
    }
    let outside = |css: &str| {
        let lower = css.to_ascii_lowercase();
        lower.contains("@import")
            || lower.match_indices("url(").any(|(i, _)| {
                !lower[i + 4..]
                    .trim_start_matches(['\'', '"', ' '])
                    .starts_with('#')
            })
    };
    for node in doc.descendants() {
        if node.is_text()
            && node
                .parent()
                .is_some_and(|p| p.tag_name().name() == "style")
        {
            if node.text().is_some_and(outside) {
                return bad("the SVG's style refers outside the logo".into());
            }
            continue;
        }
        if !node.is_element() {
            continue;
        }
        let name = node.tag_name().name();
        if matches!(name, "script" | "foreignObject" | "image" | "feImage") {
            return bad(format!("an SVG logo may not contain <{name}>"));
        }
        for a in node.attributes() {
            let value = a.value().trim();
            if a.name() == "href" && !value.starts_with('#') {
                return bad(format!("the SVG refers outside the logo ({value:?})"));
            }
            if a.name().starts_with("on") {
                return bad(format!(
                    "an SVG logo may not carry event handlers ({})",
                    a.name()
                ));
            }
            if outside(value) {
                return bad(format!("the SVG's {} refers outside the logo", a.name()));
            }
        }
        for dim in ["width", "height"] {
            let n: Option<f64> = node
                .attribute(dim)
                .filter(|_| name == "svg")
                .and_then(|v| v.trim().trim_end_matches("px").parse().ok());
            if n.is_some_and(|n| !(0.0..=f64::from(MAX_LOGO_SIDE)).contains(&n)) {
                return bad(format!("the SVG's {dim} is outside 0 to {MAX_LOGO_SIDE}"));
            }
        }
    }
    Ok(())
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo")
            .field("format", &self.format)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// Image format of a [`Logo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogoFormat {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

impl ReportBranding {
    /// Check the colour and the logo size (1 MiB at most).
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        if let Some(c) = &self.primary_color {
            let hex = c.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                v.fail(
                    "primaryColor",
                    format!("{c:?} is not a colour written #RRGGBB"),
                );
            }
        }
        if let Some(logo) = &self.logo {
            v.check_in("logo", logo.validate());
        }
        for (field, text) in [
            ("companyName", &self.company_name),
            ("headerText", &self.header_text),
            ("footerText", &self.footer_text),
        ] {
            if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
                v.fail(field, "at most 500 characters");
            }
        }
        v.finish()
    }
}

/// A report template: a system template (shipped with the crate, shared by
/// every organization) or an organization's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportTemplate {
    /// Id.
    pub id: TemplateId,
    /// Owner; `None` for system templates. JSON `orgId` (alias `organizationId`).
    #[serde(
        default,
        rename = "orgId",
        alias = "organizationId",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization_id: Option<OrganizationId>,
    /// Name shown to users.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kind of report. JSON `type` (alias `reportType`).
    #[serde(rename = "type", alias = "reportType")]
    pub report_type: ReportType,
    /// Contents.
    #[serde(default)]
    pub config: ReportTemplateConfig,
    /// Look.
    #[serde(default)]
    pub branding: ReportBranding,
    /// Whether the crate ships it (system templates cannot be changed).
    #[serde(default)]
    pub is_system: bool,
    /// Whether it is the organization's default for its report type.
    #[serde(default)]
    pub is_default: bool,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// Creation time (the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub created_at: DateTime<Utc>,
    /// Last change (the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub updated_at: DateTime<Utc>,
}

impl ReportTemplate {
    /// Check the name, config and branding.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        v.check(non_empty_name("name", &self.name));
        v.check_in("config", self.config.validate());
        v.check_in("branding", self.branding.validate());
        v.finish()
    }
}
