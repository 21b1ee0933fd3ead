//! Delivery bookkeeping: each recipient of a report has a
//! [`DistributionStatus`]; a retry sends only to recipients not yet `sent`;
//! every delivery carries an idempotency key derived from (report,
//! recipient), the same on every attempt.

use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};

use super::generate::STORE_TRIES;
use super::{retry_transient, Engine};
use crate::model::{
    DeliveryState, DistributionStatus, GeneratedReport, OrganizationId, ReportDocument, ReportId,
    ReportRecipient, ReportStatus,
};
use crate::ports::{Delivery, DeliveryClaim, DeliveryKind};
use crate::{Error, Result};

/// What one distribution pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DistributionOutcome {
    /// Recipients sent to in this pass.
    pub sent: usize,
    /// Recipients whose delivery failed in this pass.
    pub failed: usize,
    /// Recipients skipped because an earlier pass already sent to them.
    pub already_sent: usize,
    /// Recipients left for a later pass: the delivery budget ran out, the
    /// store could not record the attempt, or their retry is not due yet.
    pub deferred: usize,
    /// Recipients the engine gave up on (a non-retryable error, or no
    /// attempts left), skipped by this pass.
    pub gave_up: usize,
}

/// What one [`Engine::retry_failed_deliveries`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryRetryStats {
    /// Reports whose delivery was taken up.
    pub reports: usize,
    /// Recipients sent to.
    pub sent: usize,
    /// Recipients whose delivery failed again.
    pub failed: usize,
    /// Reports whose pass ended in an error (store failure); the others
    /// still ran, and these are taken up again when their claim expires.
    pub errors: usize,
}

/// Reports one [`Engine::retry_failed_deliveries`] call takes up at most.
const MAX_RETRIES_PER_CALL: usize = 500;

/// Tries of recording a delivery that went out: a failure here would send
/// it again later, so the engine tries hard (about 25 s in all).
const SENT_TRIES: u32 = 10;

/// The idempotency key of delivering `report` to `recipient`: the first 32
/// hex digits of SHA-256 over `"{report}:{recipient key}"`. Stable across
/// retries, processes and engines.
pub fn idempotency_key(report: ReportId, recipient: &ReportRecipient) -> String {
    let digest = Sha256::digest(format!("{report}:{}", recipient.key()).as_bytes());
    let mut key = String::with_capacity(32);
    for b in &digest[..16] {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

impl Engine {
    /// A signed download link valid for the engine's link lifetime, at most
    /// until `expires_at` (when the archive deletes the file), with its
    /// expiry; `None` without a link signer or when the report has expired.
    pub(crate) fn signed_link(
        &self,
        org: OrganizationId,
        id: ReportId,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
        let signer = self.config.links.as_ref()?;
        let now = self.clock.now();
        let ttl = self.config.link_ttl.min(expires_at - now);
        (ttl > chrono::Duration::zero()).then(|| (signer.url(org, id, now, ttl), now + ttl))
    }

    /// Send a completed report to its recipients that have not had it yet,
    /// recording each recipient's status; `distributedAt` is set once every
    /// recipient has it. Running it again retries only the recipients not
    /// yet sent, including those the engine gave up on.
    ///
    /// The pass holds the report's delivery claim, so it never runs twice at
    /// once for one report (across engines too), and lasts at most the
    /// engine's [`delivery_budget`](super::EngineConfig::delivery_budget).
    ///
    /// # Errors
    /// `NotFound` for a missing report; [`Error::InvalidState`] when it is
    /// not completed; [`Error::Conflict`] while another pass is delivering
    /// it; [`Error::Unsupported`] when the engine has no deliverer. A failing
    /// recipient is not an error of the call: it is recorded and counted.
    pub async fn distribute(
        &self,
        org: OrganizationId,
        id: ReportId,
    ) -> Result<DistributionOutcome> {
        if self.deliverer.is_none() {
            return Err(Error::Unsupported("the engine has no deliverer".into()));
        }
        let report = self.store.get_report(org, id).await?;
        if report.status != ReportStatus::Completed {
            return Err(not_completed(&report));
        }
        let claim = self.claim_delivery(org, id).await?.ok_or_else(|| {
            Error::Conflict(format!("report {id} is being delivered by another worker"))
        })?;
        self.deliver_claimed(&claim, None, true).await
    }

    /// Deliver a report just completed (after generation), unless another
    /// worker is already at it. `None` when it was.
    pub(crate) async fn deliver_now(
        &self,
        org: OrganizationId,
        id: ReportId,
        document: Option<&ReportDocument>,
    ) -> Result<Option<DistributionOutcome>> {
        match self.claim_delivery(org, id).await? {
            Some(claim) => self
                .deliver_claimed(&claim, document, false)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// Background job: send every report whose delivery is due
    /// (`nextDeliveryAt` passed: a report completed but not yet delivered,
    /// or recipients whose retry is due), all organizations, each report
    /// under its delivery claim so several engines never send one twice.
    /// Only recipients not yet sent are sent; a recipient is tried at most
    /// [`delivery_attempts`](super::EngineConfig::delivery_attempts) times,
    /// with backoff. At most 500 reports per call.
    ///
    /// # Errors
    /// Only when the store cannot hand out claims; one report's failure is
    /// counted in [`DeliveryRetryStats::errors`] and the others go on.
    pub async fn retry_failed_deliveries(&self) -> Result<DeliveryRetryStats> {
        let mut stats = DeliveryRetryStats::default();
        if self.deliverer.is_none() {
            return Ok(stats);
        }
        let mut handled = std::collections::HashSet::new();
        while handled.len() < MAX_RETRIES_PER_CALL {
            let now = self.clock.now();
            let claims = self
                .store
                .claim_due_deliveries(&self.config.worker_id, now, now + self.delivery_lease(), 1)
                .await?;
            let Some(claim) = claims.into_iter().next() else {
                break;
            };
            if !handled.insert(claim.report_id) {
                // Its pass of this call left it due (out of budget): the
                // next call goes on with it.
                // (Unreadable now: the claim runs out by itself.)
                if let Ok(r) = self
                    .store
                    .get_report(claim.organization_id, claim.report_id)
                    .await
                {
                    let _ = self
                        .store
                        .release_delivery(&claim, r.next_delivery_at, None)
                        .await;
                }
                break;
            }
            stats.reports += 1;
            match self.deliver_claimed(&claim, None, false).await {
                Ok(o) => {
                    stats.sent += o.sent;
                    stats.failed += o.failed;
                }
                Err(Error::InvalidState(_) | Error::NotFound { .. }) => {}
                Err(e) => {
                    stats.errors += 1;
                    tracing::warn!(
                        org = %claim.organization_id,
                        report = %claim.report_id,
                        error = %e,
                        "delivery retry failed"
                    );
                }
            }
        }
        Ok(stats)
    }

    /// Claim a report's delivery for this engine now (`None` while another
    /// pass holds it).
    async fn claim_delivery(
        &self,
        org: OrganizationId,
        id: ReportId,
    ) -> Result<Option<DeliveryClaim>> {
        let now = self.clock.now();
        self.store
            .claim_delivery(
                org,
                id,
                &self.config.worker_id,
                now,
                now + self.delivery_lease(),
            )
            .await
    }

    /// How long a delivery claim holds: the budget and a minute.
    fn delivery_lease(&self) -> chrono::Duration {
        self.config.delivery_budget + chrono::Duration::minutes(1)
    }

    /// Wait before retry number `attempts` of a recipient.
    fn delivery_backoff(&self, attempts: u32) -> chrono::Duration {
        let factor = 4i32.saturating_pow(attempts.saturating_sub(1).min(10));
        (self.config.delivery_backoff * factor).min(chrono::Duration::hours(6))
    }

    /// One delivery pass under `claim`: each recipient not yet sent (and,
    /// unless `manual`, whose retry is due and not given up) is recorded
    /// `pending`, sent, and recorded `sent` or `failed` with its next
    /// attempt. Ends by releasing the claim with the report's next delivery
    /// time (`None` once nothing is left) and `distributedAt` once all have it.
    async fn deliver_claimed(
        &self,
        claim: &DeliveryClaim,
        document: Option<&ReportDocument>,
        manual: bool,
    ) -> Result<DistributionOutcome> {
        let deliverer = self
            .deliverer
            .clone()
            .ok_or_else(|| Error::Unsupported("the engine has no deliverer".into()))?;
        let (org, id) = (claim.organization_id, claim.report_id);
        let report = retry_transient(STORE_TRIES, || self.store.get_report(org, id)).await?;
        if report.status != ReportStatus::Completed {
            // Expired or regenerating meanwhile: nothing to send now.
            self.store.release_delivery(claim, None, None).await?;
            return Err(not_completed(&report));
        }
        let artifact = match retry_transient(STORE_TRIES, || self.store.get_artifact(org, id)).await
        {
            Ok(a) => a,
            Err(e @ Error::NotFound { .. }) => {
                self.store.release_delivery(claim, None, None).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let download_url = self
            .signed_link(org, id, report.expires_at)
            .map(|(url, _)| url);
        // A retry (or `distribute` later) no longer has the document: the
        // e-mail is made from the stored summary through the same template,
        // and a JSON report carries its document.
        let from_store = match document {
            Some(_) => None,
            None if report.format == crate::model::ReportFormat::Json => {
                serde_json::from_slice::<ReportDocument>(&artifact.bytes).ok()
            }
            None => None,
        }
        .or_else(|| {
            document
                .is_none()
                .then(|| summary_document(&report, self.costs.default_currency(), self.clock.now()))
        });
        let (subject, html_body, text_body) = report_message(
            &self.mail_templates,
            &report,
            document.or(from_store.as_ref()),
            download_url.as_deref(),
        );
        let budget = self
            .config
            .delivery_budget
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(300));
        let deadline = std::time::Instant::now() + budget;
        let mut outcome = DistributionOutcome::default();
        // Earliest time a recipient left unsent is to be tried again.
        let mut next: Option<DateTime<Utc>> = None;
        let mut soonest =
            |t: DateTime<Utc>| next = Some(next.map_or(t, |n: DateTime<Utc>| n.min(t)));
        // Sent, but the store refused to record it: written again at the end.
        let mut unrecorded = Vec::new();
        for recipient in &report.recipients {
            let previous = report
                .distribution_status
                .iter()
                .find(|d| &d.recipient == recipient);
            if previous.is_some_and(|d| d.status == DeliveryState::Sent) {
                outcome.already_sent += 1;
                continue;
            }
            let now = self.clock.now();
            if !manual {
                if let Some(d) = previous.filter(|d| d.status == DeliveryState::Failed) {
                    match d.next_attempt_at {
                        None => {
                            outcome.gave_up += 1;
                            continue;
                        }
                        Some(t) if t > now => {
                            outcome.deferred += 1;
                            soonest(t);
                            continue;
                        }
                        Some(_) => {}
                    }
                }
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                outcome.deferred += 1;
                soonest(now);
                continue;
            }
            let key = idempotency_key(id, recipient);
            let attempts = previous.map_or(0, |d| d.attempts).saturating_add(1);
            let status = |state, sent_at, error, next_attempt_at| DistributionStatus {
                recipient: recipient.clone(),
                status: state,
                attempts,
                sent_at,
                error,
                idempotency_key: key.clone(),
                next_attempt_at,
            };
            // Recorded before the attempt (the specification's `pending`), so
            // a crash mid-send leaves a visible state the next pass retries
            // (with the same idempotency key, for receivers to drop a repeat).
            let pending = status(
                DeliveryState::Pending,
                None,
                previous.and_then(|d| d.error.clone()),
                None,
            );
            if let Err(e) = retry_transient(STORE_TRIES, || {
                self.store.set_distribution_status(org, id, &pending)
            })
            .await
            {
                tracing::warn!(org = %org, report = %id, error = %e, "could not record a delivery attempt; not sending now");
                outcome.deferred += 1;
                soonest(now);
                continue;
            }
            let delivery = Delivery {
                idempotency_key: key.clone(),
                organization_id: org,
                kind: DeliveryKind::Report,
                report_id: Some(id),
                recipient: recipient.clone(),
                subject: subject.clone(),
                html_body: html_body.clone(),
                text_body: text_body.clone(),
                attachment: Some(artifact.clone()),
                download_url: download_url.clone(),
                document: document.map(|d| Box::new(d.clone())),
            };
            let span = tracing::info_span!(
                "deliver",
                org = %org,
                report = %id,
                channel = recipient.kind.as_str(),
                key = %key,
                attempt = attempts,
            );
            let mut out_of_time = false;
            let result = if deliverer.supports(recipient.kind) {
                use futures::FutureExt as _;
                use tracing::Instrument as _;
                // A panicking deliverer (a host's bug) fails this recipient,
                // not the job.
                let send = std::panic::AssertUnwindSafe(deliverer.deliver(&delivery))
                    .catch_unwind()
                    .map(|r| r.unwrap_or_else(|p| Err(super::generate::panicked(p))));
                within(left, send.instrument(span.clone()))
                    .await
                    .unwrap_or_else(|| {
                        out_of_time = true;
                        Err(Error::backend(
                            "delivery",
                            true,
                            "timed out: the report's delivery budget ran out",
                        ))
                    })
            } else {
                Err(Error::Unsupported(format!(
                    "no deliverer for {:?} recipients",
                    recipient.kind
                )))
            };
            let now = self.clock.now();
            match result {
                Ok(_) => {
                    outcome.sent += 1;
                    let sent = status(DeliveryState::Sent, Some(now), None, None);
                    if let Err(e) = retry_transient(SENT_TRIES, || {
                        self.store.set_distribution_status(org, id, &sent)
                    })
                    .await
                    {
                        tracing::error!(parent: &span, error = %e, "sent, but the store could not record it");
                        unrecorded.push(sent);
                    }
                }
                Err(e) => {
                    // Cut off by the budget (not the recipient's fault):
                    // due again at once, in the next pass.
                    let wait = if out_of_time {
                        chrono::Duration::zero()
                    } else {
                        self.delivery_backoff(attempts)
                    };
                    let retry_at = (e.is_retryable() && attempts < self.config.delivery_attempts)
                        .then(|| now + wait);
                    tracing::warn!(
                        parent: &span,
                        error = %e,
                        retryable = e.is_retryable(),
                        next_attempt = ?retry_at,
                        "delivery failed"
                    );
                    outcome.failed += 1;
                    if let Some(t) = retry_at {
                        soonest(t);
                    }
                    let failed = status(DeliveryState::Failed, None, Some(e.to_string()), retry_at);
                    if let Err(e) = retry_transient(STORE_TRIES, || {
                        self.store.set_distribution_status(org, id, &failed)
                    })
                    .await
                    {
                        // Left `pending`: the next pass tries it again.
                        tracing::warn!(parent: &span, error = %e, "could not record a failed delivery");
                        soonest(now);
                    }
                }
            }
        }
        for sent in &unrecorded {
            retry_transient(SENT_TRIES, || {
                self.store.set_distribution_status(org, id, sent)
            })
            .await?;
        }
        let latest = retry_transient(STORE_TRIES, || self.store.get_report(org, id)).await?;
        let all_sent = latest.recipients.iter().all(|r| {
            latest
                .distribution_status
                .iter()
                .any(|d| &d.recipient == r && d.status == DeliveryState::Sent)
        });
        let now = self.clock.now();
        let (next, distributed) = if all_sent {
            (
                None,
                (latest.distributed_at.is_none() && !latest.recipients.is_empty()).then_some(now),
            )
        } else {
            (next, None)
        };
        let released = retry_transient(STORE_TRIES, || {
            self.store.release_delivery(claim, next, distributed)
        })
        .await?;
        if !released {
            tracing::warn!(org = %org, report = %id, "delivery claim expired during the pass");
        }
        Ok(outcome)
    }
}

/// `InvalidState` for delivering a report that is not completed.
fn not_completed(report: &GeneratedReport) -> Error {
    Error::InvalidState(format!(
        "report {} is {:?}; only completed reports are distributed",
        report.id, report.status
    ))
}

/// `fut`, or `None` when `limit` passes first (inside tokio; elsewhere no
/// limit applies).
async fn within<T>(
    limit: std::time::Duration,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::timeout(limit, fut).await.ok()
    } else {
        Some(fut.await)
    }
}

/// Subject, HTML and text of a report delivery: the rendered report e-mail
/// when the document is at hand and the `html` feature is on, else a
/// plain-text message from the stored summary.
fn report_message(
    templates: &super::MailTemplates,
    report: &GeneratedReport,
    document: Option<&ReportDocument>,
    download_url: Option<&str>,
) -> (String, Option<String>, String) {
    #[cfg(feature = "html")]
    if let Some(doc) = document {
        match crate::render::email::render_report_email(templates, doc, download_url) {
            Ok(mail) => return (mail.subject, Some(mail.html), mail.text),
            // A host template that fails on this report: the plain message
            // still goes out, and the log says why.
            Err(e) => {
                tracing::warn!(report = %report.id, error = %e, "report e-mail template failed; sending plain text")
            }
        }
    }
    #[cfg(not(feature = "html"))]
    let _ = (templates, document);
    (
        report_subject(report),
        None,
        report_text(report, download_url),
    )
}

/// A report's e-mail document made from what the archive keeps (its name,
/// period and headline figures), for deliveries made after the run.
fn summary_document(
    report: &GeneratedReport,
    currency: crate::model::Currency,
    now: chrono::DateTime<chrono::Utc>,
) -> ReportDocument {
    use crate::model::{Metric, ReportSection};
    let data = report.summary_data.clone().unwrap_or_default();
    let mut metrics = vec![Metric::TotalCost];
    if data.total_requests > 0 {
        metrics.push(Metric::TotalRequests);
    }
    if data.cost_change.is_some() {
        metrics.push(Metric::CostChange);
    }
    if data.anomaly_count > 0 {
        metrics.push(Metric::AnomalyCount);
    }
    ReportDocument {
        schema_version: crate::model::REPORT_SCHEMA_VERSION,
        title: report.name.clone(),
        report_type: report.report_type,
        organization_name: None,
        generated_at: report.completed_at.unwrap_or(now),
        date_range: report.date_range,
        comparison_range: report.comparison_range,
        filters: report.filters.clone(),
        currency,
        branding: Default::default(),
        sections: vec![ReportSection::Summary],
        metrics,
        include_charts: false,
        chart_types: Vec::new(),
        summary_data: data,
        summary: None,
        trend: None,
        breakdowns: Vec::new(),
        anomalies: Vec::new(),
        forecast: None,
        recommendations: Vec::new(),
        top_costs: Vec::new(),
        efficiency: Vec::new(),
        repricing: None,
        chargeback: None,
        detail: Vec::new(),
        detail_dimensions: Vec::new(),
        data_complete_through: None,
        dimension_labels: Default::default(),
        groups: Vec::new(),
        statement: None,
        forecast_unavailable: None,
    }
}

/// The report's name, with its period unless the name already says it.
fn report_subject(report: &GeneratedReport) -> String {
    let label = super::generate::period_label(report.date_range);
    if report.name.contains(&label) {
        report.name.clone()
    } else {
        format!("{} ({label})", report.name)
    }
}

/// The plain-text body of a report delivery.
fn report_text(report: &GeneratedReport, download_url: Option<&str>) -> String {
    let mut text = format!(
        "{}\nPeriod: {} to {}\n",
        report.name, report.date_range.start, report.date_range.end
    );
    if let Some(s) = &report.summary_data {
        text.push_str(&format!(
            "Total cost: {}\nRequests: {}\n",
            s.total_cost, s.total_requests
        ));
        if let Some(c) = s.cost_change {
            text.push_str(&format!("Change vs previous period: {}%\n", c.round_dp(1)));
        }
        if let Some(p) = &s.top_provider {
            text.push_str(&format!("Top provider: {p}\n"));
        }
        if let Some(m) = &s.top_model {
            text.push_str(&format!("Top model: {m}\n"));
        }
        if s.anomaly_count > 0 {
            text.push_str(&format!("Anomalies: {}\n", s.anomaly_count));
        }
    }
    if let Some(url) = download_url {
        text.push_str(&format!("\nDownload: {url}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_stable_and_distinct() {
        let r = ReportId::new();
        let a = ReportRecipient::email("a@example.com");
        let b = ReportRecipient::email("b@example.com");
        assert_eq!(idempotency_key(r, &a), idempotency_key(r, &a));
        assert_ne!(idempotency_key(r, &a), idempotency_key(r, &b));
        assert_ne!(idempotency_key(r, &a), idempotency_key(ReportId::new(), &a));
        assert_eq!(idempotency_key(r, &a).len(), 32);
    }
}
