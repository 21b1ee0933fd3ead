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
    /// A short usage digest (what digest e-mails contain).
    Digest,
}

impl ReportType {
    /// Every report type, in declaration order.
    pub const ALL: [ReportType; 7] = [
        ReportType::Executive,
        ReportType::Team,
        ReportType::Project,
        ReportType::Chargeback,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Digest,
    ];
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
}

/// A metric a report shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Total cost.
    TotalCost,
    /// Total requests.
    TotalRequests,
    /// Input plus output tokens.
    TotalTokens,
    /// Input tokens.
    InputTokens,
    /// Output tokens.
    OutputTokens,
    /// Cost divided by requests.
    AvgCostPerRequest,
    /// Cached requests over requests, in percent.
    CacheHitRate,
    /// Change against the comparison period, in percent.
    CostChange,
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
/// Reads `{"enabled":true,"period":"previous_period"}`, a bare period string
/// (`"previous_period"`), or `false`/`null` (no comparison).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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
    /// Comparison period; `None` (or `false` in JSON) for none.
    #[serde(deserialize_with = "comparison_or_none")]
    pub comparison: Option<ComparisonConfig>,
    /// How many items each breakdown lists before folding the rest into "Other".
    pub breakdown_limit: u32,
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
        if self.breakdown_limit == 0 || self.breakdown_limit > 1000 {
            v.fail("breakdownLimit", "must be between 1 and 1000");
        }
        v.finish()
    }
}

/// Colours, texts and logo applied to rendered reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportBranding {
    /// Company name shown in the banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Primary colour as `#RRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// Text in the page header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_text: Option<String>,
    /// Text in the page footer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer_text: Option<String>,
    /// Where the host serves the logo (shown by HTML only when no bytes are given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// The logo itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
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
            if logo.data.len() > 1024 * 1024 {
                v.fail("logo.data", "a logo may be at most 1 MiB");
            }
            if logo.data.is_empty() {
                v.fail("logo.data", "the logo is empty");
            }
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
    /// Owner; `None` for system templates.
    #[serde(default)]
    pub organization_id: Option<OrganizationId>,
    /// Name shown to users.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Kind of report.
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
    #[serde(default)]
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
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
