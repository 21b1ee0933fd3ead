//! The archive of generated reports: listing, deletion, signed download
//! links and the clean-up of expired reports.
//!
//! Clean-up policy: an expired report keeps its row (status `expired`, so
//! the history of what was sent stays auditable) and loses its artifact.

use chrono::Duration;

use super::Engine;
use crate::model::{Artifact, GeneratedReport, OrganizationId, ReportId, ReportStatus};
use crate::ports::{ReportListQuery, ReportPage};
use crate::{Error, Result};

/// What [`Engine::cleanup_expired_reports`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanupStats {
    /// Reports marked expired (their artifacts deleted).
    pub expired: usize,
    /// Reports that could not be expired (errors are logged in the count only;
    /// they are retried on the next run).
    pub failed: usize,
}

/// A verified download: the report and its file.
#[derive(Clone, Debug)]
pub struct Download {
    /// The report (with its incremented download count).
    pub report: GeneratedReport,
    /// The file.
    pub artifact: Artifact,
}

/// What [`Engine::sweep_stuck_reports`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Reports marked `failed`.
    pub failed: usize,
    /// Reports the store could not update (tried again next time).
    pub errors: usize,
}

impl Engine {
    /// The organization's reports, newest first, paged.
    pub async fn list_reports(
        &self,
        org: OrganizationId,
        query: &ReportListQuery,
    ) -> Result<ReportPage> {
        self.store.list_reports(org, query).await
    }

    /// One report. `NotFound` when missing or another organization's.
    pub async fn get_report(&self, org: OrganizationId, id: ReportId) -> Result<GeneratedReport> {
        self.store.get_report(org, id).await
    }

    /// Delete a report and its artifact.
    pub async fn delete_report(&self, org: OrganizationId, id: ReportId) -> Result<()> {
        self.store.delete_report(org, id).await
    }

    /// The file of a completed report: its bytes, media type and file
    /// name, for a host that serves it behind its own authentication (the
    /// quickstart writes it to disk). Does not count as a download; signed
    /// links ([`download_url`](Self::download_url),
    /// [`verify_download`](Self::verify_download)) do.
    ///
    /// # Errors
    /// `NotFound` for a missing report or another organization's;
    /// [`Error::InvalidState`] when the report has no file (still pending
    /// or generating, failed, or expired).
    pub async fn artifact(&self, org: OrganizationId, id: ReportId) -> Result<Artifact> {
        let report = self.store.get_report(org, id).await?;
        match report.status {
            ReportStatus::Completed => self.store.get_artifact(org, id).await,
            ReportStatus::Expired => Err(Error::InvalidState(format!(
                "report {id} has expired and its file was deleted"
            ))),
            other => Err(Error::InvalidState(format!(
                "report {id} is {other:?}, only completed reports have a file"
            ))),
        }
    }

    /// A signed download URL for a completed report, valid for `ttl`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the engine has no [`LinkSigner`](super::LinkSigner);
    /// `NotFound` for a missing report; [`Error::InvalidState`] when the
    /// report has no file (not completed, or expired).
    pub async fn download_url(
        &self,
        org: OrganizationId,
        id: ReportId,
        ttl: Duration,
    ) -> Result<String> {
        let signer = self.config.links.as_ref().ok_or_else(|| {
            Error::Unsupported("download links need a LinkSigner in EngineConfig::links".into())
        })?;
        let report = self.store.get_report(org, id).await?;
        if report.status != ReportStatus::Completed {
            return Err(Error::InvalidState(format!(
                "report {id} is {:?}, only completed reports can be downloaded",
                report.status
            )));
        }
        let now = self.clock.now();
        let ttl = ttl.min(report.expires_at - now);
        if ttl <= Duration::zero() {
            return Err(Error::InvalidState(format!("report {id} has expired")));
        }
        Ok(signer.url(org, id, now, ttl))
    }

    /// Verify a download token and return the report and its file,
    /// counting the download.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] for a tampered, malformed or expired
    /// token; `NotFound` when the report or its file is gone.
    pub async fn verify_download(&self, token: &str) -> Result<Download> {
        let signer = self.config.links.as_ref().ok_or_else(|| {
            Error::Unsupported("download links need a LinkSigner in EngineConfig::links".into())
        })?;
        let grant = signer.verify(token, self.clock.now())?;
        let artifact = self
            .store
            .get_artifact(grant.organization_id, grant.report_id)
            .await?;
        self.store
            .increment_download_count(grant.organization_id, grant.report_id)
            .await?;
        let report = self
            .store
            .get_report(grant.organization_id, grant.report_id)
            .await?;
        Ok(Download { report, artifact })
    }

    /// Background job: expire every report whose `expiresAt` has passed:
    /// delete its artifact and mark it `expired` (the row is kept). Works in
    /// batches of 500 until none is left.
    pub async fn cleanup_expired_reports(&self) -> Result<CleanupStats> {
        let now = self.clock.now();
        let mut stats = CleanupStats::default();
        loop {
            let batch = self.store.expired_reports(now, 500).await?;
            if batch.is_empty() {
                break;
            }
            let mut progressed = false;
            for (org, id) in batch {
                match self.expire_one(org, id).await {
                    Ok(()) => {
                        stats.expired += 1;
                        progressed = true;
                    }
                    Err(Error::NotFound { .. }) => progressed = true, // deleted meanwhile
                    Err(_) => stats.failed += 1,
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(stats)
    }

    /// Background job: fail every report (all organizations) still
    /// `pending` or `generating` longer than
    /// [`EngineConfig::stuck_after`](super::EngineConfig::stuck_after) after
    /// its generation started, e.g. because its worker died outside a
    /// schedule's lease. Each is a compare-and-set: a worker finishing it
    /// meanwhile wins. A scheduled slot whose report was failed this way is
    /// generated again in place when its run is taken over.
    pub async fn sweep_stuck_reports(&self) -> Result<SweepStats> {
        let now = self.clock.now();
        let bound = self.config.stuck_after;
        let before = now - bound;
        let message = format!(
            "generation did not finish within {} minutes (its worker stopped); generate it again",
            bound.num_minutes()
        );
        let mut stats = SweepStats::default();
        loop {
            let batch = self.store.stuck_reports(before, 500).await?;
            if batch.is_empty() {
                break;
            }
            let mut progressed = false;
            for (org, id) in batch {
                match self
                    .store
                    .fail_stuck_report(org, id, before, &message, now)
                    .await
                {
                    Ok(true) => {
                        tracing::warn!(org = %org, report = %id, "stuck report marked failed");
                        stats.failed += 1;
                        progressed = true;
                    }
                    Ok(false) | Err(Error::NotFound { .. }) => progressed = true,
                    Err(e) => {
                        tracing::warn!(org = %org, report = %id, error = %e, "stuck report could not be marked failed");
                        stats.errors += 1;
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(stats)
    }

    async fn expire_one(&self, org: OrganizationId, id: ReportId) -> Result<()> {
        self.store.delete_artifact(org, id).await?;
        let mut report = self.store.get_report(org, id).await?;
        report.status = ReportStatus::Expired;
        self.store.update_report(org, &report).await
    }
}
