//! Delivery bookkeeping: each recipient of a report has a
//! [`DistributionStatus`]; a retry sends only to recipients not yet `sent`;
//! every delivery carries an idempotency key derived from (report,
//! recipient), the same on every attempt.

use sha2::{Digest, Sha256};

use super::Engine;
use crate::model::{
    DeliveryState, DistributionStatus, GeneratedReport, OrganizationId, ReportDocument, ReportId,
    ReportRecipient, ReportStatus,
};
use crate::ports::{Delivery, DeliveryKind};
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
}

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
    /// recipient has it. Running it again retries only the failed or pending
    /// recipients.
    ///
    /// # Errors
    /// `NotFound` for a missing report; [`Error::InvalidState`] when it is
    /// not completed; [`Error::Unsupported`] when the engine has no
    /// deliverer. A failing recipient is not an error of the call: it is
    /// recorded and counted.
    pub async fn distribute(
        &self,
        org: OrganizationId,
        id: ReportId,
    ) -> Result<DistributionOutcome> {
        self.distribute_with(org, id, None).await
    }

    pub(crate) async fn distribute_with(
        &self,
        org: OrganizationId,
        id: ReportId,
        document: Option<&ReportDocument>,
    ) -> Result<DistributionOutcome> {
        let deliverer = self
            .deliverer
            .clone()
            .ok_or_else(|| Error::Unsupported("the engine has no deliverer".into()))?;
        let report = self.store.get_report(org, id).await?;
        if report.status != ReportStatus::Completed {
            return Err(Error::InvalidState(format!(
                "report {id} is {:?}; only completed reports are distributed",
                report.status
            )));
        }
        let artifact = self.store.get_artifact(org, id).await?;
        let download_url = self
            .signed_link(org, id, report.expires_at)
            .map(|(url, _)| url);
        let mut outcome = DistributionOutcome::default();
        for recipient in &report.recipients {
            let previous = report
                .distribution_status
                .iter()
                .find(|d| &d.recipient == recipient);
            if previous.is_some_and(|d| d.status == DeliveryState::Sent) {
                outcome.already_sent += 1;
                continue;
            }
            let key = idempotency_key(id, recipient);
            let (subject, html_body, text_body) =
                report_message(&report, document, download_url.as_deref());
            let attempts = previous.map_or(0, |d| d.attempts) + 1;
            let delivery = Delivery {
                idempotency_key: key.clone(),
                organization_id: org,
                kind: DeliveryKind::Report,
                report_id: Some(id),
                recipient: recipient.clone(),
                subject,
                html_body,
                text_body,
                attachment: Some(artifact.clone()),
                download_url: download_url.clone(),
                document: document.map(|d| Box::new(d.clone())),
            };
            // Recorded before the attempt (the specification's `pending`), so
            // a crash mid-send leaves a visible, retryable state.
            self.store
                .set_distribution_status(
                    org,
                    id,
                    &DistributionStatus {
                        recipient: recipient.clone(),
                        status: DeliveryState::Pending,
                        attempts,
                        sent_at: None,
                        error: previous.and_then(|d| d.error.clone()),
                        idempotency_key: key.clone(),
                    },
                )
                .await?;
            let span = tracing::info_span!(
                "deliver",
                org = %org,
                report = %id,
                channel = recipient.kind.as_str(),
                key = %key,
                attempt = attempts,
            );
            let result = if deliverer.supports(recipient.kind) {
                use tracing::Instrument as _;
                deliverer.deliver(&delivery).instrument(span.clone()).await
            } else {
                Err(Error::Unsupported(format!(
                    "no deliverer for {:?} recipients",
                    recipient.kind
                )))
            };
            let now = self.clock.now();
            let status = match result {
                Ok(_) => {
                    outcome.sent += 1;
                    DistributionStatus {
                        recipient: recipient.clone(),
                        status: DeliveryState::Sent,
                        attempts,
                        sent_at: Some(now),
                        error: None,
                        idempotency_key: key,
                    }
                }
                Err(e) => {
                    tracing::warn!(parent: &span, error = %e, retryable = e.is_retryable(), "delivery failed");
                    outcome.failed += 1;
                    DistributionStatus {
                        recipient: recipient.clone(),
                        status: DeliveryState::Failed,
                        attempts,
                        sent_at: None,
                        error: Some(e.to_string()),
                        idempotency_key: key,
                    }
                }
            };
            self.store.set_distribution_status(org, id, &status).await?;
        }
        let mut latest = self.store.get_report(org, id).await?;
        let all_sent = latest.recipients.iter().all(|r| {
            latest
                .distribution_status
                .iter()
                .any(|d| &d.recipient == r && d.status == DeliveryState::Sent)
        });
        if all_sent && latest.distributed_at.is_none() && !latest.recipients.is_empty() {
            latest.distributed_at = Some(self.clock.now());
            self.store.update_report(org, &latest).await?;
        }
        Ok(outcome)
    }
}

/// Subject, HTML and text of a report delivery: the rendered report e-mail
/// when the document is at hand and the `html` feature is on, else a
/// plain-text message from the stored summary.
fn report_message(
    report: &GeneratedReport,
    document: Option<&ReportDocument>,
    download_url: Option<&str>,
) -> (String, Option<String>, String) {
    #[cfg(feature = "html")]
    if let Some(doc) = document {
        if let Ok(mail) = crate::render::email::render_report_email(
            &crate::render::html::Templates::shared(),
            doc,
            download_url,
        ) {
            return (mail.subject, Some(mail.html), mail.text);
        }
    }
    #[cfg(not(feature = "html"))]
    let _ = document;
    (
        report_subject(report),
        None,
        report_text(report, download_url),
    )
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
