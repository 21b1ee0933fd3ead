//! Generating a report: resolve the template and period, gather the data,
//! render, store, and record every step of the lifecycle
//! `pending -> generating -> completed | failed`.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::Engine;
use crate::core::period::{comparison_period, resolve_preset};
use crate::model::{
    DateRange, GenerateReportRequest, GeneratedReport, OrganizationId, ReportDocument,
    ReportFilters, ReportFormat, ReportGenerationResult, ReportId, ReportRecipient, ReportStatus,
    ReportTemplate, ReportTemplateConfig, ScheduledReportId, UserId,
};
use crate::ports::{RenderedReport, Renderer};
use crate::{Error, Result};

/// A request resolved against its template: everything generation needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedReport {
    /// The template used.
    pub template: ReportTemplate,
    /// Its effective configuration.
    pub config: ReportTemplateConfig,
    /// The report's name.
    pub name: String,
    /// The period.
    pub date_range: DateRange,
    /// The comparison period, when the template compares.
    pub comparison_range: Option<DateRange>,
    /// Filters.
    pub filters: ReportFilters,
    /// Output format.
    pub format: ReportFormat,
    /// Who receives it.
    pub recipients: Vec<ReportRecipient>,
    /// The allocation shown by a chargeback report.
    pub chargeback: Option<crate::model::Allocation>,
    /// The dimension the allocation's keys are values of (its basis); the
    /// allocation is shown as the report's first breakdown by it.
    pub allocation_dimension: Option<crate::model::Dimension>,
}

/// Where a generation comes from: a user's request, or a schedule's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) user: Option<UserId>,
    /// The schedule the report is generated for, and the slot when it is a
    /// scheduled run ((schedule, slot) is unique); `None` for a run started
    /// by hand (`run_schedule_now`).
    pub(crate) schedule: Option<(ScheduledReportId, Option<DateTime<Utc>>)>,
}

impl Engine {
    /// Resolve a request: the template (by id, else the organization's
    /// default for the type, else the system one), the period (explicit
    /// range, else the request's preset, else the template's preset, resolved
    /// against the clock's UTC date), and the comparison period.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field for a bad request, `NotFound` for
    /// an unknown template.
    pub async fn resolve(
        &self,
        org: OrganizationId,
        request: &GenerateReportRequest,
    ) -> Result<ResolvedReport> {
        request.validate()?;
        let template = self
            .template_for(org, request.template_id, request.report_type)
            .await?;
        let today = self.clock.now().date_naive();
        self.resolve_with(template, request, today)
    }

    pub(crate) fn resolve_with(
        &self,
        template: ReportTemplate,
        request: &GenerateReportRequest,
        today: NaiveDate,
    ) -> Result<ResolvedReport> {
        let config = template.config.clone();
        let date_range = match (request.date_range, request.date_preset) {
            (Some(r), _) => r,
            (None, Some(p)) => resolve_preset(p, today)?,
            (None, None) => resolve_preset(config.date_range, today)?,
        };
        crate::core::period::check_window("dateRange", date_range, today)?;
        crate::core::aggregate::validate_query(&crate::model::CostQuery::total(date_range))
            .map_err(|e| match e {
                Error::Invalid { reason, .. } => Error::invalid("dateRange", reason),
                other => other,
            })?;
        let comparison_range = match config.comparison {
            Some(c) if c.enabled => Some(comparison_period(date_range, c.period)?),
            _ => None,
        };
        let name = request
            .name
            .clone()
            .unwrap_or_else(|| format!("{} {}", template.name, period_label(date_range)));
        Ok(ResolvedReport {
            config,
            name,
            date_range,
            comparison_range,
            filters: request.filters.clone(),
            format: request.format,
            recipients: request.recipients.clone(),
            chargeback: None,
            allocation_dimension: None,
            template,
        })
    }

    /// Generate a report now.
    ///
    /// The request is validated and resolved first: a bad request, an
    /// unknown template or a format this engine cannot render is an `Err`
    /// and leaves no record. After that a record exists, goes `pending`,
    /// then `generating`, and ends `completed` (artifact stored, size, page
    /// count, checksum, summary, generation time) or `failed` (with the
    /// error message; the request is kept). Both end states are `Ok`, with
    /// the status in the result. Recipients in the request are sent the
    /// report when it completed and the engine has a deliverer.
    pub async fn generate(
        &self,
        org: OrganizationId,
        request: GenerateReportRequest,
        user: Option<UserId>,
    ) -> Result<ReportGenerationResult> {
        let resolved = self.resolve(org, &request).await?;
        let (result, doc) = self
            .generate_resolved(
                org,
                &resolved,
                Origin {
                    user,
                    schedule: None,
                },
                None,
            )
            .await?;
        self.deliver_generated(org, &resolved.recipients, &result, doc.as_ref())
            .await?;
        Ok(result)
    }

    /// Send a report just generated to `recipients` when it completed and
    /// the engine has a deliverer. Per-recipient failures are recorded on
    /// the report; `Err` only when the store fails.
    pub(crate) async fn deliver_generated(
        &self,
        org: OrganizationId,
        recipients: &[crate::model::ReportRecipient],
        result: &ReportGenerationResult,
        doc: Option<&ReportDocument>,
    ) -> Result<()> {
        if result.status != ReportStatus::Completed
            || recipients.is_empty()
            || self.deliverer.is_none()
        {
            return Ok(());
        }
        self.distribute_with(org, result.report_id, doc)
            .await
            .map(|_| ())
    }

    /// The lifecycle after resolution. `Err` only when the store refuses the
    /// initial record (e.g. `Conflict` for a schedule slot that already has a
    /// report) or fails while recording the outcome.
    ///
    /// `reuse` is the record of a schedule slot whose generation a dead
    /// worker left unfinished: it is generated again in place (same id).
    pub(crate) async fn generate_resolved(
        &self,
        org: OrganizationId,
        resolved: &ResolvedReport,
        origin: Origin,
        reuse: Option<GeneratedReport>,
    ) -> Result<(ReportGenerationResult, Option<ReportDocument>)> {
        let renderer = self.renderer(resolved.format)?.clone();
        let started = self.clock.now();
        let mut report = GeneratedReport {
            id: reuse.as_ref().map_or_else(ReportId::new, |r| r.id),
            organization_id: org,
            template_id: Some(resolved.template.id),
            scheduled_report_id: origin.schedule.map(|(id, _)| id),
            schedule_slot: origin.schedule.and_then(|(_, slot)| slot),
            name: resolved.name.clone(),
            report_type: resolved.template.report_type,
            format: resolved.format,
            date_range: resolved.date_range,
            comparison_range: resolved.comparison_range,
            filters: resolved.filters.clone(),
            status: ReportStatus::Pending,
            file_path: String::new(),
            file_size: None,
            page_count: None,
            checksum: None,
            summary_data: None,
            recipients: resolved.recipients.clone(),
            distribution_status: Vec::new(),
            distributed_at: None,
            download_url: None,
            download_expires_at: None,
            generation_time_ms: None,
            error_message: None,
            expires_at: started + self.config.report_expiry,
            download_count: 0,
            created_by: origin.user,
            created_at: started,
            started_at: None,
            completed_at: None,
        };
        match &reuse {
            Some(old) => {
                report.created_at = old.created_at;
                report.expires_at = old.expires_at;
                report.distribution_status = old.distribution_status.clone();
            }
            None => self.store.create_report(org, &report).await?,
        }
        report.status = ReportStatus::Generating;
        report.started_at = Some(started);
        self.store.update_report(org, &report).await?;

        // A panic in the cost source, the core or a renderer fails this
        // report (recorded with its message) instead of unwinding through
        // the caller and leaving the record `generating`.
        let span = tracing::info_span!(
            "generate",
            org = %org,
            report = %report.id,
            schedule = ?origin.schedule.map(|(id, _)| id.to_string()),
            format = report.format.extension(),
        );
        let outcome = {
            use futures::FutureExt as _;
            use tracing::Instrument as _;
            std::panic::AssertUnwindSafe(self.produce(org, resolved, &report, renderer))
                .catch_unwind()
                .instrument(span.clone())
                .await
                .unwrap_or_else(|panic| Err(panicked(panic)))
        };
        if let Err(e) = &outcome {
            tracing::warn!(parent: &span, error = %e, "report generation failed");
        }
        let finished = self.clock.now();
        let elapsed = (finished - started).num_milliseconds().max(0) as u64;
        report.generation_time_ms = Some(elapsed);
        match outcome {
            Ok((doc, rendered)) => {
                let bytes = &rendered.artifact.bytes;
                report.status = ReportStatus::Completed;
                report.file_path = GeneratedReport::storage_path(org, report.id, report.format);
                if let Some((url, expires)) = self.signed_link(org, report.id, report.expires_at) {
                    report.download_url = Some(url);
                    report.download_expires_at = Some(expires);
                }
                report.file_size = Some(bytes.len() as u64);
                report.page_count = rendered.page_count;
                report.checksum = Some(hex_sha256(bytes));
                report.summary_data = Some(doc.summary_data.clone());
                report.completed_at = Some(finished);
                self.store.update_report(org, &report).await?;
                Ok((
                    ReportGenerationResult {
                        report_id: report.id,
                        status: report.status,
                        download_url: report.download_url.clone(),
                        summary: report.summary_data.clone(),
                        file_size: report.file_size,
                        page_count: report.page_count,
                        error: None,
                    },
                    Some(doc),
                ))
            }
            Err(e) => {
                // Whatever was stored of the artifact goes; the request stays.
                let _ = self.store.delete_artifact(org, report.id).await;
                report.status = ReportStatus::Failed;
                report.error_message = Some(e.to_string());
                report.completed_at = Some(finished);
                self.store.update_report(org, &report).await?;
                Ok((
                    ReportGenerationResult {
                        report_id: report.id,
                        status: report.status,
                        download_url: None,
                        summary: None,
                        file_size: None,
                        page_count: None,
                        error: report.error_message.clone(),
                    },
                    None,
                ))
            }
        }
    }

    async fn produce(
        &self,
        org: OrganizationId,
        resolved: &ResolvedReport,
        report: &GeneratedReport,
        renderer: Arc<dyn Renderer>,
    ) -> Result<(ReportDocument, RenderedReport)> {
        let doc = self.build_document(org, resolved).await?;
        let (doc, rendered) = render_off_executor(renderer, doc).await?;
        self.store
            .put_artifact(org, report.id, &rendered.artifact)
            .await?;
        Ok((doc, rendered))
    }
}

/// Render on tokio's blocking pool when running inside tokio (so a PDF
/// never stalls the executor), inline otherwise.
async fn render_off_executor(
    renderer: Arc<dyn Renderer>,
    doc: ReportDocument,
) -> Result<(ReportDocument, RenderedReport)> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(move || {
                let _span =
                    tracing::info_span!("render", format = renderer.format().extension()).entered();
                let rendered = renderer.render(&doc);
                rendered.map(|r| (doc, r))
            })
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(panic) => panicked(panic),
                Err(e) => Error::Render {
                    format: "any",
                    message: format!("the rendering task failed: {e}"),
                },
            })?,
        Err(_) => {
            let rendered = renderer.render(&doc)?;
            Ok((doc, rendered))
        }
    }
}

/// A caught panic as a non-retryable error carrying its message.
pub(crate) fn panicked(payload: Box<dyn std::any::Any + Send>) -> Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::Backend {
        backend: "engine",
        retryable: false,
        source: format!("panicked: {message}").into(),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `October 2026` for a whole month, `2026-10-01 to 2026-10-15` otherwise.
pub(crate) fn period_label(range: DateRange) -> String {
    use chrono::Datelike;
    let whole_month = range.start.day() == 1
        && range.start.year() == range.end.year()
        && range.start.month() == range.end.month()
        && range.end.succ_opt().is_none_or(|d| d.day() == 1);
    if whole_month {
        range.start.format("%B %Y").to_string()
    } else if range.start == range.end {
        range.start.to_string()
    } else {
        format!("{} to {}", range.start, range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_labels() {
        let r = |a: &str, b: &str| DateRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap();
        assert_eq!(period_label(r("2026-10-01", "2026-10-31")), "October 2026");
        assert_eq!(period_label(r("2026-02-01", "2026-02-28")), "February 2026");
        assert_eq!(
            period_label(r("2026-10-01", "2026-10-30")),
            "2026-10-01 to 2026-10-30"
        );
        assert_eq!(period_label(r("2026-10-05", "2026-10-05")), "2026-10-05");
    }
}
