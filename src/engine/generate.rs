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
use crate::ports::{ArtifactChange, RenderedReport, Renderer, RunFence};
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
    /// The chargeback statement (rules and approval) of the record a
    /// chargeback report is made for.
    pub statement: Option<crate::model::ChargebackStatement>,
}

/// Where a generation comes from: a user's request, or a schedule's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) user: Option<UserId>,
    /// Whether the report is due for delivery to its recipients as soon as
    /// it completes (a chargeback report waits for its approval).
    pub(crate) deliver: bool,
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
            statement: None,
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
    /// report when it completed and the engine has a deliverer (within the
    /// engine's delivery budget; recipients not reached are tried again by
    /// [`retry_failed_deliveries`](Self::retry_failed_deliveries)).
    pub async fn generate(
        &self,
        org: OrganizationId,
        request: GenerateReportRequest,
        user: Option<UserId>,
    ) -> Result<ReportGenerationResult> {
        let resolved = self.resolve(org, &request).await?;
        let origin = Origin {
            user,
            schedule: None,
            deliver: true,
        };
        let (result, doc) = self
            .generate_resolved(org, &resolved, origin, None, None)
            .await?
            .into_result()?;
        self.deliver_generated(org, &resolved.recipients, &result, doc.as_ref())
            .await;
        Ok(result)
    }

    /// Send a report just generated to its recipients when it completed,
    /// has recipients and the engine has a deliverer. Failures are recorded
    /// on the report (and its `nextDeliveryAt` set for the retry job), never
    /// returned: the report itself is done.
    pub(crate) async fn deliver_generated(
        &self,
        org: OrganizationId,
        recipients: &[ReportRecipient],
        result: &ReportGenerationResult,
        doc: Option<&ReportDocument>,
    ) {
        if result.status != ReportStatus::Completed
            || recipients.is_empty()
            || self.deliverer.is_none()
        {
            return;
        }
        if let Err(e) = self.deliver_now(org, result.report_id, doc).await {
            tracing::warn!(
                org = %org,
                report = %result.report_id,
                error = %e,
                "delivery after generation failed; the retry job sends it"
            );
        }
    }

    /// The lifecycle after resolution. `Err` only when the store refuses the
    /// initial record or fails while recording the outcome (after retrying
    /// transient errors).
    ///
    /// `reuse` is the record of a schedule slot whose generation a dead
    /// worker left unfinished: it is generated again in place (same id).
    /// `fence` is the claim of the slot's run: every write of the record and
    /// its artifact is made only while the claim holds.
    ///
    /// A transient failure (a retryable store or cost-source error) is tried
    /// again a few times. For a scheduled slot it is never turned into a
    /// failed report: the record stays `generating`, the error is returned,
    /// and the slot (still claimed) is generated again on a later call.
    pub(crate) async fn generate_resolved(
        &self,
        org: OrganizationId,
        resolved: &ResolvedReport,
        origin: Origin,
        reuse: Option<GeneratedReport>,
        fence: Option<&RunFence>,
    ) -> Result<Generation> {
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
            next_delivery_at: None,
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
            None => match self.create_report_once(org, &report).await {
                Ok(()) => {}
                Err(Error::Conflict(_)) if report.schedule_slot.is_some() => {
                    return Ok(Generation::SlotTaken)
                }
                Err(e) => return Err(e),
            },
        }
        report.status = ReportStatus::Generating;
        report.started_at = Some(started);
        match self
            .save_retrying(org, &report, ArtifactChange::Keep, fence)
            .await
        {
            Ok(()) => {}
            Err(Error::Conflict(_)) if fence.is_some() => return Ok(Generation::LostClaim),
            Err(e) => return Err(e),
        }

        let span = tracing::info_span!(
            "generate",
            org = %org,
            report = %report.id,
            schedule = ?origin.schedule.map(|(id, _)| id.to_string()),
            format = report.format.extension(),
        );
        // A transient failure is tried again. A panic in the cost source,
        // the core or a renderer fails this report (recorded with its
        // message) instead of unwinding through the caller and leaving the
        // record `generating`.
        let outcome = {
            use futures::FutureExt as _;
            use tracing::Instrument as _;
            super::retry_transient(GENERATION_TRIES, || {
                std::panic::AssertUnwindSafe(self.produce(org, resolved, renderer.clone()))
                    .catch_unwind()
                    .instrument(span.clone())
                    .map(|r| r.unwrap_or_else(|panic| Err(panicked(panic))))
            })
            .await
        };
        if let Err(e) = &outcome {
            tracing::warn!(parent: &span, error = %e, retryable = e.is_retryable(), "report generation failed");
        }
        let outcome = match outcome {
            // The slot stays claimed and is generated again later.
            Err(e) if e.is_retryable() && fence.is_some() => return Err(e),
            other => other,
        };
        let finished = self.clock.now();
        let elapsed = (finished - started).num_milliseconds().max(0) as u64;
        report.generation_time_ms = Some(elapsed);
        let (saved, doc) = match outcome {
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
                // Due for delivery in the same write that completes it, so a
                // crash right after still gets it sent (by the retry job).
                if origin.deliver && self.deliverer.is_some() && !report.recipients.is_empty() {
                    report.next_delivery_at = Some(finished);
                }
                let saved = self
                    .save_retrying(org, &report, ArtifactChange::Put(&rendered.artifact), fence)
                    .await;
                (saved, Some(doc))
            }
            Err(e) => {
                // Whatever was stored of the artifact goes; the request stays.
                report.status = ReportStatus::Failed;
                report.error_message = Some(e.to_string());
                report.completed_at = Some(finished);
                let saved = self
                    .save_retrying(org, &report, ArtifactChange::Delete, fence)
                    .await;
                (saved, None)
            }
        };
        match saved {
            Ok(()) => {}
            Err(Error::Conflict(_)) if fence.is_some() => return Ok(Generation::LostClaim),
            Err(e) => return Err(e),
        }
        let completed = report.status == ReportStatus::Completed;
        Ok(Generation::Done(
            ReportGenerationResult {
                report_id: report.id,
                status: report.status,
                download_url: report.download_url.clone(),
                summary: report.summary_data.clone(),
                file_size: report.file_size,
                page_count: report.page_count,
                error: report.error_message.clone(),
            },
            doc.filter(|_| completed).map(Box::new),
        ))
    }

    /// Create the record, retrying transient errors; a retry that finds the
    /// record (the first write did land) counts as created.
    async fn create_report_once(
        &self,
        org: OrganizationId,
        report: &GeneratedReport,
    ) -> Result<()> {
        let mut tried = false;
        super::retry_transient(STORE_TRIES, || {
            let first = !tried;
            tried = true;
            async move {
                match self.store.create_report(org, report).await {
                    Err(Error::Conflict(_)) if !first => {
                        match self.store.get_report(org, report.id).await {
                            Ok(r) if r.created_at == report.created_at => Ok(()),
                            Ok(_) | Err(Error::NotFound { .. }) => {
                                Err(Error::Conflict(format!("report {} exists", report.id)))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    other => other,
                }
            }
        })
        .await
    }

    /// [`save_report`](crate::ports::GeneratedReportStore::save_report),
    /// retrying transient errors (the write is a whole replacement, so
    /// repeating it is harmless).
    pub(crate) async fn save_retrying(
        &self,
        org: OrganizationId,
        report: &GeneratedReport,
        artifact: ArtifactChange<'_>,
        fence: Option<&RunFence>,
    ) -> Result<()> {
        super::retry_transient(STORE_TRIES, || {
            self.store.save_report(org, report, artifact, fence)
        })
        .await
    }

    /// Gather the data and render it.
    async fn produce(
        &self,
        org: OrganizationId,
        resolved: &ResolvedReport,
        renderer: Arc<dyn Renderer>,
    ) -> Result<(ReportDocument, RenderedReport)> {
        let doc = self.build_document(org, resolved).await?;
        render_off_executor(renderer, doc).await
    }
}

/// How a generation ended.
#[derive(Debug)]
pub(crate) enum Generation {
    /// The record is `completed` or `failed`; the document when completed.
    Done(ReportGenerationResult, Option<Box<ReportDocument>>),
    /// A report for the slot exists (another holder of the claim made it).
    SlotTaken,
    /// The slot's claim was taken over by another worker: nothing was
    /// written after that.
    LostClaim,
}

impl Generation {
    /// The result, or `Conflict` for a taken slot or a lost claim.
    pub(crate) fn into_result(self) -> Result<(ReportGenerationResult, Option<ReportDocument>)> {
        match self {
            Generation::Done(r, d) => Ok((r, d.map(|d| *d))),
            Generation::SlotTaken => Err(Error::Conflict(
                "a report for this schedule slot exists".into(),
            )),
            Generation::LostClaim => {
                Err(Error::Conflict("another worker took over this run".into()))
            }
        }
    }
}

/// Tries of a generation whose data or rendering failed transiently.
const GENERATION_TRIES: u32 = 3;

/// Tries of a store write that failed transiently.
pub(crate) const STORE_TRIES: u32 = 5;

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
    crate::core::period::label(range)
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
