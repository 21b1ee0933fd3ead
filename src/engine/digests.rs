//! Per-user e-mail digests: preferences, which digests are due (in each
//! user's own time zone and day), their content and their delivery.
//!
//! A digest is due when its latest slot at or before now is later than
//! `lastSentAt`; `lastSentAt` is set (compare-and-set) only after the send
//! succeeded, so a failed send is retried on the next run and a sent slot is
//! never sent twice, even by two engines at once.

use chrono::{DateTime, Utc};

use super::generate::ResolvedReport;
use super::templates::system_template;
use super::Engine;
use crate::core::period::previous_period;
use crate::core::schedule::{digest_due, DigestDue};
use crate::model::{
    DateRange, DigestFrequency, EmailDigestPreferences, OrganizationId, ReportDocument,
    ReportFilters, ReportFormat, ReportSection, ReportType, UserId,
};
use crate::ports::{Delivery, DeliveryKind};
use crate::{Error, Result};

/// What [`Engine::process_email_digests`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigestStats {
    /// Digests sent.
    pub sent: usize,
    /// Digests that could not be built or sent (retried at the next tick;
    /// one user's or organization's failure never stops the others).
    pub failed: usize,
    /// Digests held back because their period's data is not complete yet
    /// (the cost source's watermark); sent once it is, or with a note after
    /// [`DIGEST_MAX_WAIT`].
    pub waiting: usize,
    /// Digests another engine recorded first.
    pub raced: usize,
}

/// Longest a digest waits for its period's data after its slot (well before
/// the next slot of a daily digest); then it goes out saying up to when the
/// data is complete.
pub const DIGEST_MAX_WAIT: chrono::Duration = chrono::Duration::hours(6);

impl Engine {
    /// A user's preferences; the specification's defaults when the user has
    /// none stored (not stored until [`Engine::upsert_digest_preferences`]).
    pub async fn digest_preferences(
        &self,
        org: OrganizationId,
        user: UserId,
        email: &str,
    ) -> Result<EmailDigestPreferences> {
        match self.store.get_digest_preferences(org, user).await {
            Ok(p) => Ok(p),
            Err(Error::NotFound { .. }) => Ok(EmailDigestPreferences::new(
                org,
                user,
                email,
                self.clock.now(),
            )),
            Err(e) => Err(e),
        }
    }

    /// Validate and store a user's preferences (one row per user).
    pub async fn upsert_digest_preferences(
        &self,
        org: OrganizationId,
        mut prefs: EmailDigestPreferences,
    ) -> Result<EmailDigestPreferences> {
        prefs.organization_id = org;
        prefs.updated_at = self.clock.now();
        // The specification's JSON has no timestamps: a row without one is new now.
        if prefs.created_at == crate::model::epoch() {
            prefs.created_at = prefs.updated_at;
        }
        prefs.validate()?;
        if let Some((f, c)) = crate::core::schedule::digest_schedule(&prefs)? {
            crate::core::schedule::next_run(f, &c, prefs.updated_at)?;
        }
        self.store.upsert_digest_preferences(org, &prefs).await?;
        self.store.get_digest_preferences(org, prefs.user_id).await
    }

    /// Digests due now, each with the slot and the period it covers.
    pub async fn due_digests(&self) -> Result<Vec<(EmailDigestPreferences, DigestDue)>> {
        let now = self.clock.now();
        let mut due = Vec::new();
        for prefs in self.store.digest_candidates().await? {
            // The store answers only active users; a host's own store may
            // not, so an inactive user is skipped here too.
            if prefs.frequency == DigestFrequency::None || !prefs.is_active {
                continue;
            }
            // A row that no longer validates is skipped, not fatal for others.
            if let Ok(Some(d)) = digest_due(&prefs, now) {
                due.push((prefs, d));
            }
        }
        Ok(due)
    }

    /// The content of a user's digest for `period`: the Usage Digest
    /// template with the sections the user chose, filtered by the user's
    /// teams and projects.
    pub async fn digest_document(
        &self,
        prefs: &EmailDigestPreferences,
        period: DateRange,
    ) -> Result<ReportDocument> {
        let resolved = self.digest_report(prefs, period)?;
        self.build_document(prefs.organization_id, &resolved).await
    }

    /// The report a user's digest for `period` is built from.
    fn digest_report(
        &self,
        prefs: &EmailDigestPreferences,
        period: DateRange,
    ) -> Result<ResolvedReport> {
        crate::core::period::check_window("period", period, self.clock.now().date_naive())?;
        let template = system_template(ReportType::Digest).clone();
        let mut config = template.config.clone();
        config.sections = [
            (prefs.include_summary, ReportSection::Summary),
            (prefs.include_team_breakdown, ReportSection::Breakdown),
            (prefs.include_anomalies, ReportSection::Anomalies),
            (prefs.include_forecast, ReportSection::Forecast),
            (
                prefs.include_recommendations,
                ReportSection::Recommendations,
            ),
        ]
        .into_iter()
        .filter_map(|(on, s)| on.then_some(s))
        .collect();
        config.breakdown_limit = 5;
        let resolved = ResolvedReport {
            name: format!(
                "Your {} AI spend digest",
                match prefs.frequency {
                    DigestFrequency::Daily => "daily",
                    _ => "weekly",
                }
            ),
            date_range: period,
            comparison_range: Some(previous_period(period)?),
            filters: ReportFilters {
                teams: prefs.team_filter.clone(),
                projects: prefs.project_filter.clone(),
                ..Default::default()
            },
            format: ReportFormat::Html,
            recipients: vec![prefs.recipient()],
            chargeback: None,
            allocation_dimension: None,
            statement: None,
            config,
            template,
        };
        Ok(resolved)
    }

    /// Background job: send every due digest once.
    pub async fn process_email_digests(&self) -> Result<DigestStats> {
        let deliverer = self
            .deliverer
            .clone()
            .ok_or_else(|| Error::Unsupported("digests need a deliverer".into()))?;
        let mut stats = DigestStats::default();
        for (prefs, due) in self.due_digests().await? {
            let org = prefs.organization_id;
            // Any failure is this user's alone: count it and go on with the
            // next user (the slot stays due, so the next tick tries again).
            // A period whose data has not all arrived waits (a day without
            // data is not a day without spend), for a while.
            let watermark = match self.data_watermark(org, due.period.end).await {
                Ok(Some(w))
                    if w < due.period.end && self.clock.now() < due.slot + DIGEST_MAX_WAIT =>
                {
                    stats.waiting += 1;
                    continue;
                }
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(org = %org, user = %prefs.user_id, error = %e, "digest data freshness unknown");
                    stats.failed += 1;
                    continue;
                }
            };
            // Built with the watermark just read: the source is asked once.
            let doc = match async {
                let resolved = self.digest_report(&prefs, due.period)?;
                self.build_document_with(org, &resolved, watermark).await
            }
            .await
            {
                Ok(doc) => doc,
                Err(e) => {
                    tracing::warn!(org = %org, user = %prefs.user_id, error = %e, "digest could not be built");
                    stats.failed += 1;
                    continue;
                }
            };
            let (subject, html, text) = digest_message(
                &self.mail_templates,
                &doc,
                self.config.dashboard_url.as_deref(),
            );
            let recipient = prefs.recipient();
            let delivery = Delivery {
                idempotency_key: digest_key(org, prefs.user_id, due.slot),
                organization_id: org,
                kind: DeliveryKind::Digest,
                report_id: None,
                recipient,
                subject,
                html_body: html,
                text_body: text,
                attachment: None,
                download_url: None,
                document: Some(Box::new(doc)),
            };
            let sent = {
                use futures::FutureExt as _;
                // A panicking deliverer (a host's bug) fails this digest only.
                std::panic::AssertUnwindSafe(deliverer.deliver(&delivery))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|p| Err(super::generate::panicked(p)))
            };
            match sent {
                Ok(_) => match self
                    .store
                    .mark_digest_sent(org, prefs.user_id, prefs.last_sent_at, due.slot)
                    .await
                {
                    Ok(true) => stats.sent += 1,
                    Ok(false) => stats.raced += 1,
                    // Sent but not recorded: the delivery's idempotency key
                    // (user and slot) lets the channel drop the repeat.
                    Err(e) => {
                        tracing::warn!(org = %org, user = %prefs.user_id, error = %e, "digest sent but not recorded");
                        stats.failed += 1;
                    }
                },
                Err(e) => {
                    tracing::warn!(org = %org, user = %prefs.user_id, error = %e, "digest delivery failed");
                    stats.failed += 1;
                }
            }
        }
        Ok(stats)
    }
}

/// Idempotency key of a user's digest for a slot.
fn digest_key(org: OrganizationId, user: UserId, slot: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("digest:{org}:{user}:{}", slot.timestamp()).as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Subject, HTML body and text body of a digest e-mail.
fn digest_message(
    templates: &super::MailTemplates,
    doc: &ReportDocument,
    dashboard_url: Option<&str>,
) -> (String, Option<String>, String) {
    #[cfg(feature = "html")]
    match crate::render::email::render_digest_email(templates, doc, dashboard_url) {
        Ok(mail) => return (mail.subject, Some(mail.html), mail.text),
        // A host template that fails: the plain digest still goes out.
        Err(e) => tracing::warn!(error = %e, "digest e-mail template failed; sending plain text"),
    }
    #[cfg(not(feature = "html"))]
    let _ = templates;
    let subject = format!(
        "{}: {} to {}",
        doc.title, doc.date_range.start, doc.date_range.end
    );
    let c = doc.currency;
    let s = &doc.summary_data;
    let mut text = format!(
        "{}\n{} to {}\n\nTotal cost: {}\nRequests: {}\n",
        doc.title,
        doc.date_range.start,
        doc.date_range.end,
        c.format(s.total_cost),
        s.total_requests
    );
    if let Some(ch) = s.cost_change {
        text.push_str(&format!("Change vs previous period: {}%\n", ch.round_dp(1)));
    }
    if let Some(p) = &s.top_provider {
        text.push_str(&format!("Top provider: {p}\n"));
    }
    if let Some(m) = &s.top_model {
        text.push_str(&format!("Top model: {m}\n"));
    }
    for b in &doc.breakdowns {
        text.push_str(&format!("\nTop {}:\n", b.dimension.label().to_lowercase()));
        for item in &b.items {
            text.push_str(&format!("  {:<24} {}\n", item.label, c.format(item.cost)));
        }
    }
    if !doc.anomalies.is_empty() {
        text.push_str("\nAnomalies:\n");
        for a in doc.anomalies.iter().take(5) {
            text.push_str(&format!(
                "  {} {}: {} (expected {})\n",
                a.date,
                a.value,
                c.format(a.actual_cost),
                c.format(a.expected_cost)
            ));
        }
    }
    if let Some(f) = &doc.forecast {
        text.push_str(&format!(
            "\nForecast to {}: {} ({} to {})\n",
            f.period_end,
            c.format(f.projected_total),
            c.format(f.lower_bound),
            c.format(f.upper_bound)
        ));
    }
    if !doc.recommendations.is_empty() {
        text.push_str("\nRecommendations:\n");
        for r in &doc.recommendations {
            text.push_str(&format!("  - {}: {}\n", r.title, r.message));
        }
    }
    if let Some(day) = doc.data_complete_through {
        text.push_str(&format!("\nData complete through {day}.\n"));
    }
    if let Some(url) = dashboard_url {
        text.push_str(&format!("\nOpen the dashboard: {url}\n"));
    }
    (subject, None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_links_the_hosts_dashboard() {
        let doc = crate::render::sample::sample_document();
        let url = "https://app.example.com/costs";
        let t = crate::engine::default_mail_templates();
        let (_, html, text) = digest_message(&t, &doc, Some(url));
        assert!(
            text.contains("Open the dashboard: https://app.example.com/costs"),
            "{text}"
        );
        if let Some(html) = html {
            assert!(html.contains("Open the dashboard"));
            assert!(html.contains("app.example.com"));
        }
        let (_, _, text) = digest_message(&t, &doc, None);
        assert!(!text.contains("dashboard"));
    }
}
