//! Generated reports: the archive entries, their artifacts, generation
//! requests and delivery bookkeeping.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    DateRange, DateRangePreset, OrganizationId, ReportFilters, ReportFormat, ReportId,
    ReportRecipient, ReportType, ScheduledReportId, TemplateId, UserId,
};
use crate::model::validate::{non_empty_name, Validator};
use crate::Result;

/// Lifecycle of a generated report: `pending -> generating -> completed | failed`,
/// and `expired` once the clean-up job removed its artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Recorded, not started.
    Pending,
    /// Being generated.
    Generating,
    /// Done; the artifact is stored.
    Completed,
    /// Generation failed; `errorMessage` says why.
    Failed,
    /// Past `expiresAt`; the artifact was deleted.
    Expired,
}

/// The figures every report, digest and notification leads with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportSummaryData {
    /// Total cost of the period.
    pub total_cost: Decimal,
    /// Total requests of the period.
    pub total_requests: u64,
    /// Change of cost against the comparison period, in percent; absent when
    /// the comparison period cost nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_change: Option<Decimal>,
    /// Provider with the highest cost (ties by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_provider: Option<String>,
    /// Model with the highest cost (ties by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_model: Option<String>,
    /// Number of anomalies found in the period.
    #[serde(default)]
    pub anomaly_count: u32,
}

/// Delivery state of one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not sent yet.
    Pending,
    /// Sent (accepted by the server).
    Sent,
    /// The last attempt failed.
    Failed,
}

/// Delivery bookkeeping for one recipient of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistributionStatus {
    /// The recipient.
    pub recipient: ReportRecipient,
    /// State.
    pub status: DeliveryState,
    /// Attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// When it was sent.
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// Last error.
    #[serde(default)]
    pub error: Option<String>,
    /// The idempotency key every attempt carries (derived from report and recipient).
    pub idempotency_key: String,
}

/// A generated report: an archive entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedReport {
    /// Id.
    pub id: ReportId,
    /// Owner.
    pub organization_id: OrganizationId,
    /// Template used.
    #[serde(default)]
    pub template_id: Option<TemplateId>,
    /// Schedule that produced it, if any.
    #[serde(default)]
    pub scheduled_report_id: Option<ScheduledReportId>,
    /// The schedule slot it was generated for; (schedule, slot) is unique.
    #[serde(default)]
    pub schedule_slot: Option<DateTime<Utc>>,
    /// Name.
    pub name: String,
    /// Kind.
    pub report_type: ReportType,
    /// Format.
    pub format: ReportFormat,
    /// Period covered.
    pub date_range: DateRange,
    /// Period compared with.
    #[serde(default)]
    pub comparison_range: Option<DateRange>,
    /// Filters applied.
    #[serde(default)]
    pub filters: ReportFilters,
    /// Lifecycle state.
    pub status: ReportStatus,
    /// Size of the artifact in bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Pages (PDF only).
    #[serde(default)]
    pub page_count: Option<u32>,
    /// SHA-256 of the artifact, lowercase hex.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Headline figures.
    #[serde(default)]
    pub summary_data: Option<ReportSummaryData>,
    /// Who it goes to.
    #[serde(default)]
    pub recipients: Vec<ReportRecipient>,
    /// Delivery state per recipient.
    #[serde(default)]
    pub distribution_status: Vec<DistributionStatus>,
    /// When every recipient had it.
    #[serde(default)]
    pub distributed_at: Option<DateTime<Utc>>,
    /// Generation time in milliseconds (from the `Clock`).
    #[serde(default)]
    pub generation_time_ms: Option<u64>,
    /// Why generation failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// When the archive may delete it (default: 90 days after creation).
    pub expires_at: DateTime<Utc>,
    /// Downloads through signed links.
    #[serde(default)]
    pub download_count: u32,
    /// Who asked for it (`None` for scheduled runs).
    #[serde(default)]
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Completion time.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// Days a generated report is kept by default (the specification's 90 days).
pub const DEFAULT_REPORT_EXPIRY_DAYS: i64 = 90;

/// The bytes of a rendered report.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// File name offered on download (`executive-2026-10.pdf`).
    pub file_name: String,
    /// MIME type.
    pub media_type: String,
    /// Content.
    #[serde(with = "crate::model::base64_bytes")]
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("file_name", &self.file_name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A request to generate a report now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateReportRequest {
    /// Template to use; else the organization's default for `reportType`,
    /// else the system template.
    pub template_id: Option<TemplateId>,
    /// Kind of report (used when no template is given).
    pub report_type: Option<ReportType>,
    /// Name; defaults to the template's name and the period.
    pub name: Option<String>,
    /// Explicit period; else `datePreset`; else the template's preset.
    pub date_range: Option<DateRange>,
    /// Relative period.
    pub date_preset: Option<DateRangePreset>,
    /// Filters.
    pub filters: ReportFilters,
    /// Format.
    pub format: ReportFormat,
    /// Recipients to deliver to once generated.
    pub recipients: Vec<ReportRecipient>,
}

impl GenerateReportRequest {
    /// Check the name, the period and the recipients.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        if let Some(name) = &self.name {
            v.check(non_empty_name("name", name));
        }
        if let Some(r) = &self.date_range {
            v.check(r.validate());
        }
        for (i, r) in self.recipients.iter().enumerate() {
            v.check_in(&format!("recipients[{i}]"), r.validate());
        }
        v.finish()
    }
}

/// What [`generate`](crate::engine) returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportGenerationResult {
    /// The report's id.
    pub report_id: ReportId,
    /// Its final state (`completed` or `failed`).
    pub status: ReportStatus,
    /// Headline figures when completed.
    #[serde(default)]
    pub summary: Option<ReportSummaryData>,
    /// Size of the artifact.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Pages (PDF).
    #[serde(default)]
    pub page_count: Option<u32>,
    /// Error message when failed.
    #[serde(default)]
    pub error: Option<String>,
}
