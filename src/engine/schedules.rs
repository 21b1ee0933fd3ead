//! Scheduled reports: create, update, pause, delete, and `run_due`, which
//! runs each due slot exactly once however many engines share the store.
//!
//! ## How a run is made exactly once
//! A run is identified by (schedule, slot). `run_due` claims the slot in the
//! store with a lease ([`ScheduleStore::claim_run`](crate::ports::ScheduleStore::claim_run));
//! the report it generates carries the schedule and slot, which the store
//! keeps unique. A worker that dies holding a claim loses it when the lease
//! expires and another worker completes the run.
//!
//! ## Missed slots
//! When the host was down across several slots, the policy in
//! [`EngineConfig::catch_up`](super::EngineConfig) decides:
//! [`CatchUpPolicy::LatestOnly`](super::CatchUpPolicy) (default) runs the
//! latest missed slot once and records the older ones as `skipped`;
//! [`CatchUpPolicy::ReplayAll`](super::CatchUpPolicy) runs each missed slot
//! in order (at most 100 per call).
//!
//! ## Failures
//! A failed run is recorded (`lastStatus` failed, `lastError`) and the
//! schedule keeps its cadence: `nextRunAt` moves to the next slot. After
//! `max_consecutive_failures` failures in a row the schedule is paused with
//! the reason in `pausedReason`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::generate::{Generation, Origin, STORE_TRIES};
use super::{CatchUpPolicy, Engine};
use crate::core::schedule::{latest_slot_at_or_before, next_run, report_period};
use crate::model::{
    Frequency, GenerateReportRequest, OrganizationId, ReportFilters, ReportFormat, ReportId,
    ReportRecipient, ReportStatus, ReportType, RunStatus, ScheduleConfig, ScheduleRun,
    ScheduledReport, ScheduledReportId, TemplateId, UserId,
};
use crate::ports::{ClaimOutcome, RunFence, RunOutcome};
use crate::{Error, Result};

/// Most missed slots handled for one schedule in one call.
const MAX_CATCH_UP: usize = 100;

/// Schedules one [`Engine::run_due`] call handles at most.
const MAX_PER_CALL: usize = 1000;

/// What a user fills in to create or change a scheduled report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInput {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Template (else the organization's default for `type`).
    #[serde(default)]
    pub template_id: Option<TemplateId>,
    /// Kind of report; `None` takes the template's. JSON `type` (alias `reportType`).
    #[serde(default, rename = "type", alias = "reportType")]
    pub report_type: Option<ReportType>,
    /// How often.
    pub frequency: Frequency,
    /// When.
    #[serde(default)]
    pub schedule_config: ScheduleConfig,
    /// Filters.
    #[serde(default)]
    pub filters: ReportFilters,
    /// Recipients.
    #[serde(default)]
    pub recipients: Vec<ReportRecipient>,
    /// Format.
    #[serde(default)]
    pub format: ReportFormat,
    /// Active (default true).
    #[serde(default = "crate::model::yes")]
    pub is_active: bool,
}

/// What one [`Engine::run_due`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunDueStats {
    /// Slots this engine ran (success or failure).
    pub ran: usize,
    /// Of those, completed reports.
    pub succeeded: usize,
    /// Of those, failed generations.
    pub failed: usize,
    /// Missed slots recorded as skipped.
    pub skipped: usize,
    /// Slots another engine was running when this one reached them (a
    /// catch-up slot, or a schedule claimed between this engine's pick and
    /// its claim); due schedules another engine holds are not picked at
    /// all, so they are not counted.
    pub busy: usize,
    /// Schedules paused for failing too often.
    pub paused: usize,
    /// Schedules whose handling failed in this call (store errors, invalid
    /// schedules); the others still ran. A non-retryable error is recorded
    /// in the schedule's `lastError`.
    pub errors: usize,
}

impl Engine {
    /// Create a scheduled report; `nextRunAt` is its first slot after now.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field (`scheduleConfig.dayOfWeek`,
    /// `recipients[1].address`...), `NotFound` for an unknown template,
    /// [`Error::Unsupported`] for a format this engine cannot render.
    pub async fn create_schedule(
        &self,
        org: OrganizationId,
        input: ScheduleInput,
        user: Option<UserId>,
    ) -> Result<ScheduledReport> {
        let now = self.clock.now();
        let mut s = ScheduledReport {
            id: ScheduledReportId::new(),
            organization_id: org,
            template_id: input.template_id,
            report_type: input.report_type,
            name: input.name,
            description: input.description,
            frequency: input.frequency,
            schedule_config: input.schedule_config,
            filters: input.filters,
            recipients: input.recipients,
            format: input.format,
            is_active: input.is_active,
            last_run_at: None,
            next_run_at: None,
            last_status: None,
            last_error: None,
            run_count: 0,
            consecutive_failures: 0,
            paused_reason: None,
            created_by: user,
            created_at: now,
            updated_at: now,
        };
        s.report_type = Some(self.check_schedule(org, &s).await?);
        s.next_run_at = Some(next_run(s.frequency, &s.schedule_config, now)?);
        self.store.create_schedule(org, &s).await?;
        Ok(s)
    }

    /// Replace a schedule's settings; `nextRunAt` is recomputed from now.
    pub async fn update_schedule(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
        input: ScheduleInput,
    ) -> Result<ScheduledReport> {
        let now = self.clock.now();
        let mut s = self.store.get_schedule(org, id).await?;
        s.name = input.name;
        s.description = input.description;
        s.template_id = input.template_id;
        s.report_type = input.report_type;
        s.frequency = input.frequency;
        s.schedule_config = input.schedule_config;
        s.filters = input.filters;
        s.recipients = input.recipients;
        s.format = input.format;
        if input.is_active && !s.is_active {
            s.consecutive_failures = 0;
            s.paused_reason = None;
        }
        s.is_active = input.is_active;
        s.updated_at = now;
        s.report_type = Some(self.check_schedule(org, &s).await?);
        s.next_run_at = Some(next_run(s.frequency, &s.schedule_config, now)?);
        self.store.update_schedule(org, &s).await?;
        Ok(s)
    }

    /// Pause (`active = false`) or resume a schedule. Resuming clears the
    /// failure count and computes the next slot from now (missed slots are
    /// not replayed).
    pub async fn set_schedule_active(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
        active: bool,
    ) -> Result<ScheduledReport> {
        let now = self.clock.now();
        let mut s = self.store.get_schedule(org, id).await?;
        s.is_active = active;
        if active {
            s.consecutive_failures = 0;
            s.paused_reason = None;
            s.next_run_at = Some(next_run(s.frequency, &s.schedule_config, now)?);
        }
        s.updated_at = now;
        self.store.update_schedule(org, &s).await?;
        Ok(s)
    }

    /// Delete a schedule (its generated reports stay in the archive).
    pub async fn delete_schedule(&self, org: OrganizationId, id: ScheduledReportId) -> Result<()> {
        self.store.delete_schedule(org, id).await
    }

    /// Run a scheduled report now, outside its cadence (the specification's
    /// `runScheduledReport(id)`): the report of the last complete period
    /// before now (as a slot now would have), sent to the schedule's
    /// recipients. `nextRunAt` does not move; `runCount`, `lastRunAt`,
    /// `lastStatus` and `lastError` record the run. The report carries the
    /// schedule's id and no slot, so it never takes the place of a
    /// scheduled run.
    ///
    /// # Errors
    /// `NotFound` for an unknown schedule (or another organization's);
    /// [`Error::Invalid`] when its template is gone. A failed generation is
    /// `Ok` with status `failed`, recorded on the schedule.
    pub async fn run_schedule_now(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
        user: Option<UserId>,
    ) -> Result<crate::model::ReportGenerationResult> {
        let s = self.store.get_schedule(org, id).await?;
        let now = self.clock.now();
        let resolved = self.resolve_schedule(&s, now, now).await?;
        let origin = Origin {
            user,
            schedule: Some((s.id, None)),
            deliver: true,
        };
        let (result, doc) = self
            .generate_resolved(org, &resolved, origin, None, None)
            .await?
            .into_result()?;
        self.deliver_generated(org, &resolved.recipients, &result, doc.as_ref())
            .await;
        let mut latest = self.store.get_schedule(org, id).await?;
        latest.last_run_at = Some(now);
        latest.last_status = Some(result.status);
        latest.last_error = result.error.clone();
        latest.run_count = latest.run_count.saturating_add(1);
        latest.updated_at = self.clock.now();
        self.store.update_schedule(org, &latest).await?;
        Ok(result)
    }

    /// The organization's schedules, newest first.
    pub async fn list_schedules(&self, org: OrganizationId) -> Result<Vec<ScheduledReport>> {
        self.store.list_schedules(org).await
    }

    /// Validate a schedule and return its report type (the template's when
    /// the schedule names none).
    async fn check_schedule(&self, org: OrganizationId, s: &ScheduledReport) -> Result<ReportType> {
        s.validate()?;
        self.renderer(s.format)?;
        let t = self
            .template_for(org, s.template_id, s.report_type)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::invalid(
                    "templateId",
                    format!(
                        "no template {} in this organization",
                        s.template_id.map(|t| t.to_string()).unwrap_or_default()
                    ),
                ),
                other => other,
            })?;
        Ok(t.report_type)
    }

    /// Background job: run every due slot of every active schedule (all
    /// organizations), each exactly once. Safe to call from several engines
    /// at once and to call again after a crash.
    ///
    /// Schedules are claimed one at a time with
    /// [`ScheduleStore::claim_due_runs`](crate::ports::ScheduleStore::claim_due_runs),
    /// so engines sharing a store take different schedules (on PostgreSQL
    /// without waiting on each other's row locks) and a crash strands at
    /// most one claim until its lease runs out. At most 1,000 schedules per
    /// call; the rest wait for the next call.
    pub async fn run_due(&self) -> Result<RunDueStats> {
        let mut stats = RunDueStats::default();
        let now = self.clock.now();
        let worker = self.config.worker_id.as_str();
        // Schedules handled by this call. One the store hands back is still
        // due (a store error left our claim open) and is not run twice in a
        // call; asking for one more than those claims exactly one new
        // schedule at a time, so other engines share the rest.
        let mut handled = HashSet::new();
        let mut again = 0;
        while handled.len() < MAX_PER_CALL {
            let limit = again + 1;
            let batch = self
                .store
                .claim_due_runs(worker, now, now + self.config.lease, limit)
                .await?;
            let returned = batch.len();
            again = 0;
            let mut fresh = None;
            for (s, _) in batch {
                if handled.contains(&s.id) {
                    again += 1;
                } else if fresh.is_none() {
                    fresh = Some(s);
                }
            }
            let Some(schedule) = fresh else {
                if returned == limit {
                    // Only handled ones, and maybe more due behind them.
                    continue;
                }
                break;
            };
            handled.insert(schedule.id);
            // Another task of this engine holds the same worker's claim on
            // it right now: leave it to that task.
            let Some(_running) = RunningGuard::enter(&self.running, schedule.id) else {
                stats.busy += 1;
                continue;
            };
            if let Err(e) = self.run_schedule(&schedule, now, &mut stats).await {
                // One schedule's failure never stops the others. A retryable
                // one is tried again on the next call; any other is recorded
                // on the schedule (`lastError`) where the host sees it.
                stats.errors += 1;
                tracing::warn!(
                    org = %schedule.organization_id,
                    schedule = %schedule.id,
                    error = %e,
                    retryable = e.is_retryable(),
                    "scheduled run could not be handled"
                );
                if !e.is_retryable() && !matches!(e, Error::NotFound { .. } | Error::Conflict(_)) {
                    self.record_schedule_error(&schedule, &e).await;
                }
            }
        }
        Ok(stats)
    }

    /// The report a schedule makes for the slot `at`: the last complete
    /// period before it, the schedule's template (else its type's default),
    /// filters, format and recipients, named after the period.
    async fn resolve_schedule(
        &self,
        s: &ScheduledReport,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<super::generate::ResolvedReport> {
        let period = report_period(s.frequency, &s.schedule_config, at)?;
        let request = GenerateReportRequest {
            template_id: s.template_id,
            report_type: s.report_type,
            name: Some(format!(
                "{} {}",
                s.name,
                super::generate::period_label(period)
            )),
            date_range: Some(period),
            date_preset: None,
            filters: s.filters.clone(),
            format: s.format,
            recipients: s.recipients.clone(),
        };
        let template = self
            .template_for(s.organization_id, s.template_id, s.report_type)
            .await?;
        self.resolve_with(template, &request, now.date_naive())
    }

    /// Best effort: put `error` in the schedule's `lastError` (the next
    /// successful run clears it).
    async fn record_schedule_error(&self, s: &ScheduledReport, error: &Error) {
        let org = s.organization_id;
        if let Ok(mut latest) = self.store.get_schedule(org, s.id).await {
            latest.last_error = Some(error.to_string());
            latest.updated_at = self.clock.now();
            let _ = self.store.update_schedule(org, &latest).await;
        }
    }

    async fn run_schedule(
        &self,
        s: &ScheduledReport,
        now: DateTime<Utc>,
        stats: &mut RunDueStats,
    ) -> Result<()> {
        let org = s.organization_id;
        let Some(first_due) = s.next_run_at else {
            return Ok(());
        };
        let latest = latest_slot_at_or_before(s.frequency, &s.schedule_config, now)?;
        // The slots due: from next_run_at to the latest one at or before now.
        let mut slots = vec![first_due.min(latest)];
        while let Some(&last) = slots.last() {
            if last >= latest || slots.len() > MAX_CATCH_UP {
                break;
            }
            let next = next_run(s.frequency, &s.schedule_config, last)?;
            if next > latest {
                break;
            }
            slots.push(next);
        }
        if slots.last() != Some(&latest) {
            slots.push(latest);
        }
        let (skip, run): (Vec<_>, Vec<_>) = match self.config.catch_up {
            CatchUpPolicy::LatestOnly => {
                let n = slots.len() - 1;
                (slots[..n].to_vec(), vec![slots[n]])
            }
            CatchUpPolicy::ReplayAll => (Vec::new(), slots),
        };
        let worker = self.config.worker_id.as_str();
        for slot in skip {
            let outcome = RunOutcome {
                status: RunStatus::Skipped,
                report_id: None,
                error: Some(format!(
                    "missed while the host was down; the run of {latest} covers it"
                )),
            };
            match self
                .store
                .claim_run(org, s.id, slot, worker, now, now + self.config.lease)
                .await?
            {
                ClaimOutcome::Claimed(_) => {
                    self.store
                        .finish_run(org, s.id, slot, worker, &outcome, now)
                        .await?;
                    stats.skipped += 1;
                }
                ClaimOutcome::Busy(_) | ClaimOutcome::Done(_) => {}
            }
        }
        for slot in run {
            match self
                .store
                .claim_run(org, s.id, slot, worker, now, now + self.config.lease)
                .await?
            {
                ClaimOutcome::Claimed(run) => self.run_slot(s, &run, now, stats).await?,
                ClaimOutcome::Busy(_) => stats.busy += 1,
                ClaimOutcome::Done(_) => {
                    self.advance(org, s.id, slot, None).await?;
                }
            }
        }
        Ok(())
    }

    /// Generate the report of one claimed slot, record the run, move the
    /// schedule on, then deliver the report: delivery runs outside the run's
    /// claim, under the report's own delivery claim and budget, so slow
    /// recipients never hold the slot (and a takeover never sends again).
    async fn run_slot(
        &self,
        s: &ScheduledReport,
        run: &ScheduleRun,
        now: DateTime<Utc>,
        stats: &mut RunDueStats,
    ) -> Result<()> {
        let org = s.organization_id;
        let slot = run.slot;
        let fence = RunFence::of(run);
        let origin = Origin {
            user: None,
            schedule: Some((s.id, Some(slot))),
            deliver: true,
        };
        let generated = match self.resolve_schedule(s, slot, now).await {
            Ok(resolved) => {
                match self
                    .generate_resolved(org, &resolved, origin, None, Some(&fence))
                    .await?
                {
                    // The slot's report exists: a previous holder of the
                    // claim made it and died before recording the run. A
                    // completed one counts; an unfinished or failed one is
                    // generated again in place, so the slot still has
                    // exactly one report.
                    Generation::SlotTaken => match self.report_of_slot(org, s.id, slot).await? {
                        Some(r) if r.status == ReportStatus::Completed => Generation::Done(
                            crate::model::ReportGenerationResult {
                                report_id: r.id,
                                status: r.status,
                                download_url: None,
                                summary: r.summary_data.clone(),
                                file_size: r.file_size,
                                page_count: r.page_count,
                                error: None,
                            },
                            None,
                        ),
                        Some(r) => {
                            self.generate_resolved(org, &resolved, origin, Some(r), Some(&fence))
                                .await?
                        }
                        None => {
                            return Err(Error::Conflict(format!(
                                "the report of schedule {} slot {slot} vanished",
                                s.id
                            )))
                        }
                    },
                    other => other,
                }
            }
            Err(e) if e.is_retryable() => return Err(e),
            // The schedule cannot make a report (its template is gone...):
            // a failed run with no report.
            Err(e) => {
                return self
                    .record_run(s, slot, None, Some(e.to_string()), stats)
                    .await
                    .map(|_| ());
            }
        };
        let (result, doc) = match generated {
            Generation::Done(result, doc) => (result, doc),
            // Another worker took the slot over: it records the outcome.
            Generation::SlotTaken | Generation::LostClaim => return Ok(()),
        };
        let completed = result.status == ReportStatus::Completed;
        let recorded = self
            .record_run(
                s,
                slot,
                Some((result.report_id, completed)),
                result.error.clone(),
                stats,
            )
            .await?;
        // Failed recipients are recorded on the report and tried again by
        // `retry_failed_deliveries`; the run itself succeeded.
        if recorded && completed {
            self.deliver_generated(org, &s.recipients, &result, doc.as_deref())
                .await;
        }
        Ok(())
    }

    /// Record the outcome of a claimed slot (its report and whether it
    /// completed) and move the schedule on. `false` when another worker
    /// took the slot over meanwhile (it records the outcome).
    async fn record_run(
        &self,
        s: &ScheduledReport,
        slot: DateTime<Utc>,
        report: Option<(ReportId, bool)>,
        error: Option<String>,
        stats: &mut RunDueStats,
    ) -> Result<bool> {
        let org = s.organization_id;
        let worker = self.config.worker_id.as_str();
        let status = match report {
            Some((_, true)) => RunStatus::Success,
            _ => RunStatus::Failed,
        };
        let outcome = RunOutcome {
            status,
            report_id: report.map(|(id, _)| id),
            error: error.clone(),
        };
        let finished = super::retry_transient(STORE_TRIES, || {
            self.store
                .finish_run(org, s.id, slot, worker, &outcome, self.clock.now())
        })
        .await;
        match finished {
            Ok(_) => {}
            // Our lease ran out and another worker took the slot over: it
            // records the outcome.
            Err(Error::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        stats.ran += 1;
        if status == RunStatus::Success {
            stats.succeeded += 1;
        } else {
            stats.failed += 1;
        }
        let paused = super::retry_transient(STORE_TRIES, || {
            self.advance(org, s.id, slot, Some((status, error.clone())))
        })
        .await?;
        if paused {
            stats.paused += 1;
        }
        Ok(true)
    }

    /// Record a run on the schedule and move `nextRunAt` past `slot`.
    /// Returns whether the schedule was paused for failing too often.
    async fn advance(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
        slot: DateTime<Utc>,
        outcome: Option<(RunStatus, Option<String>)>,
    ) -> Result<bool> {
        let mut s = self.store.get_schedule(org, id).await?;
        let now = self.clock.now();
        let after = slot.max(now);
        let next = latest_slot_at_or_before(s.frequency, &s.schedule_config, after)
            .and_then(|l| next_run(s.frequency, &s.schedule_config, l.max(slot)))?;
        if s.next_run_at.is_some_and(|n| n >= next) && outcome.is_none() {
            return Ok(false);
        }
        s.next_run_at = Some(next);
        let mut paused = false;
        if let Some((status, error)) = outcome {
            s.last_run_at = Some(slot);
            s.last_status = status.report_status().or(s.last_status);
            s.last_error = error.clone();
            s.run_count = s.run_count.saturating_add(1);
            if status == RunStatus::Failed {
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                if s.consecutive_failures >= self.config.max_consecutive_failures && s.is_active {
                    s.is_active = false;
                    s.paused_reason = Some(format!(
                        "paused after {} failed runs in a row; last error: {}",
                        s.consecutive_failures,
                        error.unwrap_or_default()
                    ));
                    paused = true;
                }
            } else {
                s.consecutive_failures = 0;
            }
        }
        s.updated_at = now;
        self.store.update_schedule(org, &s).await?;
        Ok(paused)
    }

    async fn report_of_slot(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
        slot: DateTime<Utc>,
    ) -> Result<Option<crate::model::GeneratedReport>> {
        let mut cursor = None;
        loop {
            let page = self
                .store
                .list_reports(
                    org,
                    &crate::ports::ReportListQuery {
                        limit: 200,
                        cursor,
                        scheduled_report_id: Some(id),
                        status: None,
                    },
                )
                .await?;
            if let Some(r) = page.reports.iter().find(|r| r.schedule_slot == Some(slot)) {
                return Ok(Some(r.clone()));
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(None),
            }
        }
    }
}

/// Marks a schedule as being run by a task of this engine until dropped.
struct RunningGuard<'a> {
    set: &'a std::sync::Mutex<HashSet<ScheduledReportId>>,
    id: ScheduledReportId,
}

impl<'a> RunningGuard<'a> {
    fn enter(
        set: &'a std::sync::Mutex<HashSet<ScheduledReportId>>,
        id: ScheduledReportId,
    ) -> Option<Self> {
        let mut running = set.lock().unwrap_or_else(|p| p.into_inner());
        running.insert(id).then_some(RunningGuard { set, id })
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}
