//! The chargeback report of a chargeback record: a rendered document of the
//! allocation (PDF when the engine renders PDF, else JSON), broken down by
//! the configuration's `includeBreakdownBy`, linked from the record as
//! `reportId`, and sent to the configuration's `distributionList` when
//! `autoDistribute` is set: at once when no approval is required, after
//! approval otherwise (a rejected record is never sent).

use super::distribute::DistributionOutcome;
use super::generate::{Origin, ResolvedReport};
use super::Engine;
use crate::model::{
    ChargebackRecord, ChargebackRecordId, ChargebackStatus, GenerateReportRequest, OrganizationId,
    ReportFormat, ReportId, ReportSection, ReportStatus, ReportType,
};
use crate::{Error, Result};

impl Engine {
    /// Generate the chargeback report of a record and link it as the
    /// record's `reportId` (replacing a previous one). Returns the report id.
    ///
    /// # Errors
    /// `NotFound` for a missing record or configuration;
    /// [`Error::InvalidState`] when the report could not be generated (the
    /// failed report stays in the archive with its error).
    pub async fn generate_chargeback_report(
        &self,
        org: OrganizationId,
        record_id: ChargebackRecordId,
    ) -> Result<ReportId> {
        let format = if self.renderer(ReportFormat::Pdf).is_ok() {
            ReportFormat::Pdf
        } else {
            ReportFormat::Json
        };
        self.generate_chargeback_report_as(org, record_id, format)
            .await
    }

    /// [`generate_chargeback_report`](Self::generate_chargeback_report) in
    /// `format` (HTML for an intranet page, XLSX for finance's workbook).
    /// The report shows the allocation, the configuration's rules and the
    /// record's approval as they are now.
    ///
    /// # Errors
    /// As [`generate_chargeback_report`](Self::generate_chargeback_report);
    /// [`Error::Unsupported`] when the engine cannot render `format`.
    pub async fn generate_chargeback_report_as(
        &self,
        org: OrganizationId,
        record_id: ChargebackRecordId,
        format: ReportFormat,
    ) -> Result<ReportId> {
        self.renderer(format)?;
        let record = self.store.get_chargeback_record(org, record_id).await?;
        let config = self
            .store
            .get_chargeback_config(org, record.configuration_id)
            .await?;
        let template = self
            .template_for(org, None, Some(ReportType::Chargeback))
            .await?;
        let period = crate::model::DateRange::new(record.period_start, record.period_end)?;
        let request = GenerateReportRequest {
            template_id: Some(template.id),
            report_type: Some(ReportType::Chargeback),
            name: Some(format!(
                "{} {}",
                config.name,
                super::generate::period_label(period)
            )),
            date_range: Some(period),
            format,
            recipients: config.distribution_list.clone(),
            ..Default::default()
        };
        let mut resolved: ResolvedReport =
            self.resolve_with(template, &request, self.clock.now().date_naive())?;
        resolved.config.breakdowns = config.include_breakdown_by.clone();
        if !resolved.config.sections.contains(&ReportSection::Breakdown) {
            resolved.config.sections.push(ReportSection::Breakdown);
        }
        resolved.comparison_range = None;
        resolved.chargeback = Some(record.allocation.clone());
        resolved.allocation_dimension = config.basis_dimension();
        resolved.statement = Some(crate::model::ChargebackStatement {
            configuration: config.name.clone(),
            basis: config.allocation_basis,
            tag_key: config.custom_tag_key.clone(),
            rules: config.allocation_rules.clone(),
            status: record.status,
            requires_approval: config.requires_approval,
            approvers: config.approvers.clone(),
            approved_by: record.approved_by,
            approved_at: record.approved_at,
            rejected_by: record.rejected_by,
            rejection_reason: record.rejection_reason.clone(),
        });
        let (result, _) = self
            .generate_resolved(
                org,
                &resolved,
                Origin {
                    user: None,
                    schedule: None,
                    // Sent by `distribute_chargeback`, once approved.
                    deliver: false,
                },
                None,
                None,
            )
            .await?
            .into_result()?;
        if result.status != ReportStatus::Completed {
            return Err(Error::InvalidState(format!(
                "the chargeback report of record {record_id} failed: {}",
                result.error.unwrap_or_default()
            )));
        }
        self.link_report(org, record, result.report_id).await?;
        Ok(result.report_id)
    }

    /// Send a record's chargeback report to the configuration's
    /// distribution list, if `autoDistribute` is set and the record is
    /// approved (or approval is not required). Returns `None` when nothing
    /// is to be sent.
    pub async fn distribute_chargeback(
        &self,
        org: OrganizationId,
        record_id: ChargebackRecordId,
    ) -> Result<Option<DistributionOutcome>> {
        let record = self.store.get_chargeback_record(org, record_id).await?;
        let config = self
            .store
            .get_chargeback_config(org, record.configuration_id)
            .await?;
        if !config.auto_distribute
            || config.distribution_list.is_empty()
            || record.status != ChargebackStatus::Approved
            || self.deliverer.is_none()
        {
            return Ok(None);
        }
        let report = match record.report_id {
            Some(id) => id,
            None => self.generate_chargeback_report(org, record_id).await?,
        };
        self.distribute(org, report).await.map(Some)
    }

    /// Set `reportId` on the record, compare-and-set on its status (retried
    /// if an approval landed meanwhile).
    async fn link_report(
        &self,
        org: OrganizationId,
        mut record: ChargebackRecord,
        report: ReportId,
    ) -> Result<()> {
        for _ in 0..3 {
            let expected = record.status;
            record.report_id = Some(report);
            record.updated_at = self.clock.now();
            match self
                .store
                .update_chargeback_record(org, &record, expected)
                .await
            {
                Err(Error::Conflict(_)) => {
                    record = self.store.get_chargeback_record(org, record.id).await?;
                }
                other => return other,
            }
        }
        Err(Error::Conflict(format!(
            "chargeback record {} keeps changing; its report {report} was not linked",
            record.id
        )))
    }
}
