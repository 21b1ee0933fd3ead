//! Generated reports: the archive entries, their artifacts, generation
//! requests and delivery bookkeeping.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    DateRange, DateRangePreset, OrganizationId, RecipientKind, ReportFilters, ReportFormat,
    ReportId, ReportRecipient, ReportType, ScheduledReportId, TemplateId, UserId,
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
    /// Done; the artifact is stored. (`success`, which the specification's
    /// scheduler writes into `lastStatus`, reads as this.)
    #[serde(alias = "success")]
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
    #[serde(default)]
    pub total_cost: Decimal,
    /// Total requests of the period.
    #[serde(default)]
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
///
/// JSON is the specification's `{channel, recipient, status, sentAt?, error?}`
/// with `recipient` the address as a string and `channel` the recipient's
/// kind (`email`, `slack`, `webhook`, `user`), plus the extra keys
/// `attempts`, `idempotencyKey`, `name` and `nextAttemptAt`. A `recipient` object (this
/// crate's earlier shape) is read too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistributionStatus {
    /// The recipient.
    pub recipient: ReportRecipient,
    /// State.
    pub status: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Last error.
    pub error: Option<String>,
    /// The idempotency key every attempt carries (derived from report and
    /// recipient; empty when the stored JSON had none, and then derived again
    /// by the engine).
    pub idempotency_key: String,
    /// When a failed delivery is tried again; `None` on a `failed` status
    /// means the engine gave up (a non-retryable error, or the attempts
    /// ran out). JSON `nextAttemptAt`.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DistributionOut<'a> {
    channel: RecipientKind,
    recipient: &'a str,
    status: DeliveryState,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "is_zero")]
    attempts: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    idempotency_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Serialize for DistributionStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        DistributionOut {
            channel: self.recipient.kind,
            recipient: &self.recipient.address,
            status: self.status,
            sent_at: self.sent_at,
            error: self.error.as_deref(),
            attempts: self.attempts,
            idempotency_key: &self.idempotency_key,
            name: self.recipient.name.as_deref(),
            next_attempt_at: self.next_attempt_at,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DistributionStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum RecipientIn {
            Address(String),
            Full(ReportRecipient),
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct In {
            #[serde(default)]
            channel: Option<RecipientKind>,
            recipient: RecipientIn,
            status: DeliveryState,
            #[serde(default)]
            sent_at: Option<DateTime<Utc>>,
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            attempts: u32,
            #[serde(default)]
            idempotency_key: String,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            next_attempt_at: Option<DateTime<Utc>>,
        }
        let w = In::deserialize(d)?;
        let recipient = match w.recipient {
            RecipientIn::Full(r) => r,
            RecipientIn::Address(address) => ReportRecipient {
                kind: w.channel.ok_or_else(|| {
                    serde::de::Error::custom("`channel` is required with a string `recipient`")
                })?,
                address,
                name: w.name,
            },
        };
        Ok(DistributionStatus {
            recipient,
            status: w.status,
            attempts: w.attempts,
            sent_at: w.sent_at,
            error: w.error,
            idempotency_key: w.idempotency_key,
            next_attempt_at: w.next_attempt_at,
        })
    }
}

/// A generated report: an archive entry.
///
/// JSON is the specification's `GeneratedReport`: `orgId`, `type`, the
/// period as `dateRangeStart` / `dateRangeEnd`, `filePath`, `downloadUrl`,
/// `downloadExpiresAt`, `generatedBy`... (this crate's earlier
/// `organizationId`, `reportType`, `dateRange: {start, end}` and `createdBy`
/// are read too), plus the extra keys `scheduleSlot`, `comparisonRange`,
/// `checksum`, `recipients`, `expiresAt`, `startedAt`, `completedAt` and
/// `nextDeliveryAt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "GeneratedReportJson", try_from = "GeneratedReportJson")]
pub struct GeneratedReport {
    /// Id.
    pub id: ReportId,
    /// Owner.
    pub organization_id: OrganizationId,
    /// Template used.
    pub template_id: Option<TemplateId>,
    /// Schedule that produced it, if any.
    pub scheduled_report_id: Option<ScheduledReportId>,
    /// The schedule slot it was generated for; (schedule, slot) is unique.
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
    pub comparison_range: Option<DateRange>,
    /// Filters applied.
    pub filters: ReportFilters,
    /// Lifecycle state.
    pub status: ReportStatus,
    /// Where the artifact is kept (`reports/{orgId}/{id}.{ext}`, the
    /// specification's path); empty until the report is completed.
    pub file_path: String,
    /// Size of the artifact in bytes.
    pub file_size: Option<u64>,
    /// Pages (PDF only).
    pub page_count: Option<u32>,
    /// SHA-256 of the artifact, lowercase hex.
    pub checksum: Option<String>,
    /// Headline figures.
    pub summary_data: Option<ReportSummaryData>,
    /// Who it goes to.
    pub recipients: Vec<ReportRecipient>,
    /// Delivery state per recipient.
    pub distribution_status: Vec<DistributionStatus>,
    /// When every recipient had it.
    pub distributed_at: Option<DateTime<Utc>>,
    /// When recipients not yet sent are tried next (by
    /// [`Engine::retry_failed_deliveries`](crate::engine::Engine::retry_failed_deliveries));
    /// `None` when there is nothing left to send. JSON `nextDeliveryAt`.
    pub next_delivery_at: Option<DateTime<Utc>>,
    /// The last signed download link handed out for it, if the engine signs links.
    pub download_url: Option<String>,
    /// When [`download_url`](Self::download_url) stops working.
    pub download_expires_at: Option<DateTime<Utc>>,
    /// Generation time in milliseconds (from the `Clock`).
    pub generation_time_ms: Option<u64>,
    /// Why generation failed.
    pub error_message: Option<String>,
    /// When the archive may delete it (default: 90 days after creation).
    pub expires_at: DateTime<Utc>,
    /// Downloads through signed links.
    pub download_count: u32,
    /// Who asked for it (`None` for scheduled runs). JSON `generatedBy`
    /// (alias `createdBy`).
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When its generation last started (`generating`); the sweeper fails a
    /// report stuck unfinished long after it.
    pub started_at: Option<DateTime<Utc>>,
    /// Completion time.
    pub completed_at: Option<DateTime<Utc>>,
}

/// The JSON of a [`GeneratedReport`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratedReportJson {
    id: ReportId,
    #[serde(rename = "orgId", alias = "organizationId")]
    organization_id: OrganizationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheduled_report_id: Option<ScheduledReportId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template_id: Option<TemplateId>,
    name: String,
    #[serde(rename = "type", alias = "reportType")]
    report_type: ReportType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date_range_start: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date_range_end: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    filters: ReportFilters,
    format: ReportFormat,
    #[serde(default)]
    file_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_count: Option<u32>,
    #[serde(
        default,
        deserialize_with = "empty_summary_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    summary_data: Option<ReportSummaryData>,
    status: ReportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generation_time_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distributed_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    distribution_status: Vec<DistributionStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_delivery_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    download_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    download_count: u32,
    #[serde(
        default,
        rename = "generatedBy",
        alias = "createdBy",
        skip_serializing_if = "Option::is_none"
    )]
    created_by: Option<UserId>,
    created_at: DateTime<Utc>,
    // Extra keys of this crate.
    #[serde(default, skip_serializing)]
    date_range: Option<DateRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule_slot: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comparison_range: Option<DateRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    recipients: Vec<ReportRecipient>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    completed_at: Option<DateTime<Utc>>,
}

/// The table's `summary_data JSONB DEFAULT '{}'`: an empty object (a report
/// that has not completed) reads as no summary.
fn empty_summary_as_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ReportSummaryData>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(serde_json::Value::Object(m)) if m.is_empty() => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl From<GeneratedReport> for GeneratedReportJson {
    fn from(r: GeneratedReport) -> Self {
        GeneratedReportJson {
            id: r.id,
            organization_id: r.organization_id,
            scheduled_report_id: r.scheduled_report_id,
            template_id: r.template_id,
            name: r.name,
            report_type: r.report_type,
            date_range_start: Some(r.date_range.start),
            date_range_end: Some(r.date_range.end),
            filters: r.filters,
            format: r.format,
            file_path: r.file_path,
            file_size: r.file_size,
            page_count: r.page_count,
            summary_data: r.summary_data,
            status: r.status,
            error_message: r.error_message,
            generation_time_ms: r.generation_time_ms,
            distributed_at: r.distributed_at,
            distribution_status: r.distribution_status,
            next_delivery_at: r.next_delivery_at,
            download_url: r.download_url,
            download_expires_at: r.download_expires_at,
            download_count: r.download_count,
            created_by: r.created_by,
            created_at: r.created_at,
            date_range: None,
            schedule_slot: r.schedule_slot,
            comparison_range: r.comparison_range,
            checksum: r.checksum,
            recipients: r.recipients,
            expires_at: Some(r.expires_at),
            started_at: r.started_at,
            completed_at: r.completed_at,
        }
    }
}

impl TryFrom<GeneratedReportJson> for GeneratedReport {
    type Error = String;

    fn try_from(j: GeneratedReportJson) -> std::result::Result<Self, String> {
        let date_range = match (j.date_range_start, j.date_range_end, j.date_range) {
            (Some(start), Some(end), _) => DateRange::new(start, end)
                .map_err(|_| format!("dateRangeEnd {end} is before dateRangeStart {start}"))?,
            (None, None, Some(range)) => range,
            (None, _, None) => return Err("missing field `dateRangeStart`".into()),
            (_, None, _) => return Err("missing field `dateRangeEnd`".into()),
            (None, Some(_), Some(_)) => return Err("missing field `dateRangeStart`".into()),
        };
        let expires_at = j.expires_at.unwrap_or_else(|| {
            j.created_at
                .checked_add_signed(chrono::Duration::days(DEFAULT_REPORT_EXPIRY_DAYS))
                .unwrap_or(j.created_at)
        });
        Ok(GeneratedReport {
            id: j.id,
            organization_id: j.organization_id,
            template_id: j.template_id,
            scheduled_report_id: j.scheduled_report_id,
            schedule_slot: j.schedule_slot,
            name: j.name,
            report_type: j.report_type,
            format: j.format,
            date_range,
            comparison_range: j.comparison_range,
            filters: j.filters,
            status: j.status,
            file_path: j.file_path,
            file_size: j.file_size,
            page_count: j.page_count,
            checksum: j.checksum,
            summary_data: j.summary_data,
            recipients: j.recipients,
            distribution_status: j.distribution_status,
            distributed_at: j.distributed_at,
            next_delivery_at: j.next_delivery_at,
            download_url: j.download_url,
            download_expires_at: j.download_expires_at,
            generation_time_ms: j.generation_time_ms,
            error_message: j.error_message,
            expires_at,
            download_count: j.download_count,
            created_by: j.created_by,
            created_at: j.created_at,
            started_at: j.started_at,
            completed_at: j.completed_at,
        })
    }
}

impl GeneratedReport {
    /// The specification's storage path of a report's file:
    /// `reports/{orgId}/{id}.{ext}`.
    pub fn storage_path(org: OrganizationId, id: ReportId, format: ReportFormat) -> String {
        format!("reports/{org}/{id}.{}", format.extension())
    }
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
///
/// JSON is the specification's `GenerateReportRequest`
/// (`{"type":"executive","dateRange":{"start":"2026-10-01","end":"2026-10-31"},"format":"json"}`);
/// `reportType` is read as an alias of `type`, and `datePreset` is an extra key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateReportRequest {
    /// Template to use; else the organization's default for `type`,
    /// else the system template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<TemplateId>,
    /// Kind of report (used when no template is given).
    #[serde(
        rename = "type",
        alias = "reportType",
        skip_serializing_if = "Option::is_none"
    )]
    pub report_type: Option<ReportType>,
    /// Name; defaults to the template's name and the period (also when
    /// empty, as the specification's `name || default`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::model::blank_as_none"
    )]
    pub name: Option<String>,
    /// Explicit period; else `datePreset`; else the template's preset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
    /// Relative period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_preset: Option<DateRangePreset>,
    /// Filters.
    #[serde(
        skip_serializing_if = "ReportFilters::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    pub filters: ReportFilters,
    /// Format.
    pub format: ReportFormat,
    /// Recipients to deliver to once generated.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
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
        v.check_in("filters", self.filters.validate());
        v.check(crate::model::validate::at_most(
            "recipients",
            self.recipients.len(),
            crate::model::MAX_RECIPIENTS,
        ));
        for (i, r) in self.recipients.iter().enumerate() {
            v.check_in(&format!("recipients[{i}]"), r.validate());
        }
        v.finish()
    }
}

/// What [`generate`](crate::engine) returns: the specification's
/// `{reportId, status, downloadUrl?, error?}` plus `summary`, `fileSize` and
/// `pageCount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportGenerationResult {
    /// The report's id.
    pub report_id: ReportId,
    /// Its final state (`completed` or `failed`).
    pub status: ReportStatus,
    /// A signed download link when completed and the engine signs links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Error message when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Headline figures when completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ReportSummaryData>,
    /// Size of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Pages (PDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
}
