//! In-memory [`ReportStore`](crate::ports::ReportStore): clones share state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{
    Artifact, ChargebackConfigId, ChargebackConfiguration, ChargebackRecord, ChargebackRecordId,
    ChargebackStatus, DigestFrequency, DistributionStatus, EmailDigestPreferences, GeneratedReport,
    OrganizationId, ReportId, ReportStatus, ReportTemplate, RunStatus, ScheduleRun,
    ScheduledReport, ScheduledReportId, TemplateId, UserId,
};
use crate::ports::{
    ArtifactChange, ChargebackStore, ClaimOutcome, DeliveryClaim, DigestStore,
    GeneratedReportStore, ReportCursor, ReportListQuery, ReportPage, RunFence, RunOutcome,
    ScheduleStore, TemplateStore,
};
use crate::{Error, Result};

#[derive(Debug, Default)]
struct State {
    templates: HashMap<TemplateId, ReportTemplate>,
    schedules: HashMap<ScheduledReportId, ScheduledReport>,
    runs: HashMap<(ScheduledReportId, DateTime<Utc>), ScheduleRun>,
    reports: HashMap<ReportId, GeneratedReport>,
    artifacts: HashMap<ReportId, Artifact>,
    digests: HashMap<(OrganizationId, UserId), EmailDigestPreferences>,
    chargeback_configs: HashMap<ChargebackConfigId, ChargebackConfiguration>,
    chargeback_records: HashMap<ChargebackRecordId, ChargebackRecord>,
    /// Delivery claims by report: (worker, token, lease end).
    deliveries: HashMap<ReportId, (String, u32, DateTime<Utc>)>,
}

/// A [`ReportStore`](crate::ports::ReportStore) in memory. Cloning it gives
/// another handle on the same data, so an engine and a test can share one.
/// Every method is atomic (one lock), which makes it a faithful model of the
/// SQL stores' guarantees for tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change
        // (every method validates before it writes), so a poisoned lock is
        // still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn owned<'a, K: std::hash::Hash + Eq, V>(
    map: &'a HashMap<K, V>,
    key: &K,
    org: OrganizationId,
    org_of: impl Fn(&V) -> Option<OrganizationId>,
) -> Option<&'a V> {
    map.get(key).filter(|v| org_of(v) == Some(org))
}

fn owned_mut<'a, K: std::hash::Hash + Eq, V>(
    map: &'a mut HashMap<K, V>,
    key: &K,
    org: OrganizationId,
    org_of: impl Fn(&V) -> Option<OrganizationId>,
) -> Option<&'a mut V> {
    map.get_mut(key).filter(|v| org_of(v) == Some(org))
}

fn check_org(org: OrganizationId, entity_org: Option<OrganizationId>, what: &str) -> Result<()> {
    if entity_org != Some(org) {
        return Err(Error::invalid(
            "organizationId",
            format!("the {what} belongs to another organization than the one given"),
        ));
    }
    Ok(())
}

#[async_trait]
impl TemplateStore for MemoryStore {
    async fn create_template(&self, org: OrganizationId, t: &ReportTemplate) -> Result<()> {
        check_org(org, t.organization_id, "template")?;
        let mut s = self.lock();
        if s.templates.contains_key(&t.id) {
            return Err(Error::Conflict(format!("template {} exists", t.id)));
        }
        s.templates.insert(t.id, t.clone());
        Ok(())
    }

    async fn get_template(&self, org: OrganizationId, id: TemplateId) -> Result<ReportTemplate> {
        owned(&self.lock().templates, &id, org, |t| t.organization_id)
            .cloned()
            .ok_or_else(|| Error::not_found("report template", id))
    }

    async fn list_templates(&self, org: OrganizationId) -> Result<Vec<ReportTemplate>> {
        let mut v: Vec<_> = self
            .lock()
            .templates
            .values()
            .filter(|t| t.organization_id == Some(org))
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            b.is_default
                .cmp(&a.is_default)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(v)
    }

    async fn update_template(&self, org: OrganizationId, t: &ReportTemplate) -> Result<()> {
        check_org(org, t.organization_id, "template")?;
        let mut s = self.lock();
        let slot = owned_mut(&mut s.templates, &t.id, org, |t| t.organization_id)
            .ok_or_else(|| Error::not_found("report template", t.id))?;
        *slot = t.clone();
        Ok(())
    }

    async fn delete_template(&self, org: OrganizationId, id: TemplateId) -> Result<()> {
        let mut s = self.lock();
        owned(&s.templates, &id, org, |t| t.organization_id)
            .ok_or_else(|| Error::not_found("report template", id))?;
        s.templates.remove(&id);
        Ok(())
    }
}

#[async_trait]
impl ScheduleStore for MemoryStore {
    async fn create_schedule(&self, org: OrganizationId, sch: &ScheduledReport) -> Result<()> {
        check_org(org, Some(sch.organization_id), "scheduled report")?;
        let mut s = self.lock();
        if s.schedules.contains_key(&sch.id) {
            return Err(Error::Conflict(format!(
                "scheduled report {} exists",
                sch.id
            )));
        }
        s.schedules.insert(sch.id, sch.clone());
        Ok(())
    }

    async fn get_schedule(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
    ) -> Result<ScheduledReport> {
        owned(&self.lock().schedules, &id, org, |s| {
            Some(s.organization_id)
        })
        .cloned()
        .ok_or_else(|| Error::not_found("scheduled report", id))
    }

    async fn list_schedules(&self, org: OrganizationId) -> Result<Vec<ScheduledReport>> {
        let mut v: Vec<_> = self
            .lock()
            .schedules
            .values()
            .filter(|s| s.organization_id == org)
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(v)
    }

    async fn update_schedule(&self, org: OrganizationId, sch: &ScheduledReport) -> Result<()> {
        check_org(org, Some(sch.organization_id), "scheduled report")?;
        let mut s = self.lock();
        let slot = owned_mut(&mut s.schedules, &sch.id, org, |s| Some(s.organization_id))
            .ok_or_else(|| Error::not_found("scheduled report", sch.id))?;
        *slot = sch.clone();
        Ok(())
    }

    async fn delete_schedule(&self, org: OrganizationId, id: ScheduledReportId) -> Result<()> {
        let mut s = self.lock();
        owned(&s.schedules, &id, org, |s| Some(s.organization_id))
            .ok_or_else(|| Error::not_found("scheduled report", id))?;
        s.schedules.remove(&id);
        s.runs.retain(|(sid, _), _| *sid != id);
        Ok(())
    }

    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ScheduledReport>> {
        let mut v: Vec<_> = self
            .lock()
            .schedules
            .values()
            .filter(|s| s.is_active && s.next_run_at.is_some_and(|t| t <= now))
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            a.next_run_at
                .cmp(&b.next_run_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        v.truncate(limit);
        Ok(v)
    }

    async fn claim_run(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
        slot: DateTime<Utc>,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<ClaimOutcome> {
        let mut s = self.lock();
        owned(&s.schedules, &schedule, org, |s| Some(s.organization_id))
            .ok_or_else(|| Error::not_found("scheduled report", schedule))?;
        let run = s
            .runs
            .entry((schedule, slot))
            .or_insert_with(|| ScheduleRun {
                organization_id: org,
                scheduled_report_id: schedule,
                slot,
                status: RunStatus::Running,
                worker: worker.to_owned(),
                lease_expires_at: lease_until,
                attempts: 0,
                report_id: None,
                error: None,
                created_at: now,
                updated_at: now,
            });
        if run.status != RunStatus::Running {
            return Ok(ClaimOutcome::Done(run.clone()));
        }
        let fresh = run.attempts == 0;
        let mine = run.worker == worker;
        if fresh || mine || run.lease_expires_at <= now {
            if !mine || fresh {
                run.attempts = run.attempts.saturating_add(1);
            }
            run.worker = worker.to_owned();
            run.lease_expires_at = lease_until;
            run.updated_at = now;
            Ok(ClaimOutcome::Claimed(run.clone()))
        } else {
            Ok(ClaimOutcome::Busy(run.clone()))
        }
    }

    async fn finish_run(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
        slot: DateTime<Utc>,
        worker: &str,
        outcome: &RunOutcome,
        now: DateTime<Utc>,
    ) -> Result<ScheduleRun> {
        let RunOutcome {
            status,
            report_id,
            error,
        } = outcome.clone();
        if status == RunStatus::Running {
            return Err(Error::invalid(
                "status",
                "a run is finished as success, failed or skipped",
            ));
        }
        let mut s = self.lock();
        owned(&s.schedules, &schedule, org, |s| Some(s.organization_id))
            .ok_or_else(|| Error::not_found("scheduled report", schedule))?;
        let key = (schedule, slot);
        match s.runs.get_mut(&key) {
            None if status == RunStatus::Skipped => {
                let run = ScheduleRun {
                    organization_id: org,
                    scheduled_report_id: schedule,
                    slot,
                    status,
                    worker: worker.to_owned(),
                    lease_expires_at: now,
                    attempts: 0,
                    report_id,
                    error,
                    created_at: now,
                    updated_at: now,
                };
                s.runs.insert(key, run.clone());
                Ok(run)
            }
            None => Err(Error::not_found(
                "schedule run",
                format!("{schedule}@{slot}"),
            )),
            Some(run) => {
                if run.status != RunStatus::Running || run.worker != worker {
                    return Err(Error::Conflict(format!(
                        "run {schedule}@{slot} is no longer held by worker {worker:?}"
                    )));
                }
                run.status = status;
                run.report_id = report_id;
                run.error = error;
                run.updated_at = now;
                Ok(run.clone())
            }
        }
    }

    async fn list_runs(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
    ) -> Result<Vec<ScheduleRun>> {
        let s = self.lock();
        owned(&s.schedules, &schedule, org, |s| Some(s.organization_id))
            .ok_or_else(|| Error::not_found("scheduled report", schedule))?;
        let mut v: Vec<_> = s
            .runs
            .values()
            .filter(|r| r.scheduled_report_id == schedule)
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.slot));
        Ok(v)
    }
}

#[async_trait]
impl GeneratedReportStore for MemoryStore {
    async fn create_report(&self, org: OrganizationId, r: &GeneratedReport) -> Result<()> {
        check_org(org, Some(r.organization_id), "report")?;
        let mut s = self.lock();
        // The schedule, when given, must be this organization's (as the SQL
        // stores check).
        if let Some(sid) = r.scheduled_report_id {
            owned(&s.schedules, &sid, org, |x| Some(x.organization_id))
                .ok_or_else(|| Error::not_found("scheduled report", sid))?;
        }
        if s.reports.contains_key(&r.id) {
            return Err(Error::Conflict(format!("report {} exists", r.id)));
        }
        if let (Some(sid), Some(slot)) = (r.scheduled_report_id, r.schedule_slot) {
            if s.reports
                .values()
                .any(|o| o.scheduled_report_id == Some(sid) && o.schedule_slot == Some(slot))
            {
                return Err(Error::Conflict(format!(
                    "a report for schedule {sid} slot {slot} exists"
                )));
            }
        }
        s.reports.insert(r.id, r.clone());
        Ok(())
    }

    async fn get_report(&self, org: OrganizationId, id: ReportId) -> Result<GeneratedReport> {
        owned(&self.lock().reports, &id, org, |r| Some(r.organization_id))
            .cloned()
            .ok_or_else(|| Error::not_found("report", id))
    }

    async fn update_report(&self, org: OrganizationId, r: &GeneratedReport) -> Result<()> {
        self.save_report(org, r, ArtifactChange::Keep, None).await
    }

    async fn list_reports(&self, org: OrganizationId, q: &ReportListQuery) -> Result<ReportPage> {
        if q.limit == 0 || q.limit > 1000 {
            return Err(Error::invalid("limit", "must be between 1 and 1000"));
        }
        let s = self.lock();
        let mut v: Vec<&GeneratedReport> = s
            .reports
            .values()
            .filter(|r| r.organization_id == org)
            .filter(|r| {
                q.scheduled_report_id
                    .is_none_or(|id| r.scheduled_report_id == Some(id))
            })
            .filter(|r| q.status.is_none_or(|st| r.status == st))
            .filter(|r| {
                q.cursor
                    .is_none_or(|c| (r.created_at, r.id) < (c.created_at, c.id))
            })
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        let more = v.len() > q.limit;
        v.truncate(q.limit);
        let next_cursor = if more {
            v.last().map(|r| ReportCursor {
                created_at: r.created_at,
                id: r.id,
            })
        } else {
            None
        };
        Ok(ReportPage {
            reports: v.into_iter().cloned().collect(),
            next_cursor,
        })
    }

    async fn delete_report(&self, org: OrganizationId, id: ReportId) -> Result<()> {
        let mut s = self.lock();
        owned(&s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        s.reports.remove(&id);
        s.artifacts.remove(&id);
        s.deliveries.remove(&id);
        Ok(())
    }

    async fn put_artifact(&self, org: OrganizationId, id: ReportId, a: &Artifact) -> Result<()> {
        let mut s = self.lock();
        owned(&s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        s.artifacts.insert(id, a.clone());
        Ok(())
    }

    async fn get_artifact(&self, org: OrganizationId, id: ReportId) -> Result<Artifact> {
        let s = self.lock();
        owned(&s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        s.artifacts
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found("report artifact", id))
    }

    async fn delete_artifact(&self, org: OrganizationId, id: ReportId) -> Result<()> {
        let mut s = self.lock();
        owned(&s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        s.artifacts.remove(&id);
        Ok(())
    }

    async fn increment_download_count(&self, org: OrganizationId, id: ReportId) -> Result<u32> {
        let mut s = self.lock();
        let r = owned_mut(&mut s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        r.download_count = r.download_count.saturating_add(1);
        Ok(r.download_count)
    }

    async fn set_distribution_status(
        &self,
        org: OrganizationId,
        id: ReportId,
        status: &DistributionStatus,
    ) -> Result<()> {
        let mut s = self.lock();
        let r = owned_mut(&mut s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        match r
            .distribution_status
            .iter_mut()
            .find(|d| d.recipient == status.recipient)
        {
            // Sent stays sent.
            Some(d) if d.status == crate::model::DeliveryState::Sent => {}
            Some(d) => *d = status.clone(),
            None => r.distribution_status.push(status.clone()),
        }
        Ok(())
    }

    async fn save_report(
        &self,
        org: OrganizationId,
        r: &GeneratedReport,
        artifact: ArtifactChange<'_>,
        fence: Option<&RunFence>,
    ) -> Result<()> {
        check_org(org, Some(r.organization_id), "report")?;
        let mut s = self.lock();
        let stored = owned(&s.reports, &r.id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", r.id))?;
        if stored.scheduled_report_id != r.scheduled_report_id
            || stored.schedule_slot != r.schedule_slot
        {
            return Err(Error::invalid(
                "scheduleSlot",
                "the schedule and slot of a report cannot change",
            ));
        }
        if let Some(f) = fence {
            let holds = stored.scheduled_report_id == Some(f.schedule)
                && stored.schedule_slot == Some(f.slot)
                && s.runs.get(&(f.schedule, f.slot)).is_some_and(|run| {
                    run.organization_id == org
                        && run.status == RunStatus::Running
                        && run.worker == f.worker
                        && run.attempts == f.token
                });
            if !holds {
                return Err(f.lost());
            }
        }
        s.reports.insert(r.id, r.clone());
        match artifact {
            ArtifactChange::Keep => {}
            ArtifactChange::Put(a) => {
                s.artifacts.insert(r.id, a.clone());
            }
            ArtifactChange::Delete => {
                s.artifacts.remove(&r.id);
            }
        }
        Ok(())
    }

    async fn claim_delivery(
        &self,
        org: OrganizationId,
        id: ReportId,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<DeliveryClaim>> {
        let mut s = self.lock();
        owned(&s.reports, &id, org, |r| Some(r.organization_id))
            .ok_or_else(|| Error::not_found("report", id))?;
        Ok(claim_delivery_locked(
            &mut s,
            org,
            id,
            worker,
            now,
            lease_until,
        ))
    }

    async fn claim_due_deliveries(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DeliveryClaim>> {
        let mut s = self.lock();
        let mut due: Vec<(DateTime<Utc>, ReportId, OrganizationId)> = s
            .reports
            .values()
            .filter(|r| r.status == ReportStatus::Completed)
            .filter_map(|r| {
                r.next_delivery_at
                    .filter(|t| *t <= now)
                    .map(|t| (t, r.id, r.organization_id))
            })
            .filter(|(_, id, _)| {
                s.deliveries
                    .get(id)
                    .is_none_or(|(_, _, until)| *until <= now)
            })
            .collect();
        due.sort();
        due.truncate(limit);
        Ok(due
            .into_iter()
            .filter_map(|(_, id, org)| {
                claim_delivery_locked(&mut s, org, id, worker, now, lease_until)
            })
            .collect())
    }

    async fn release_delivery(
        &self,
        claim: &DeliveryClaim,
        next_delivery_at: Option<DateTime<Utc>>,
        distributed_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let mut s = self.lock();
        let id = claim.report_id;
        owned(&s.reports, &id, claim.organization_id, |r| {
            Some(r.organization_id)
        })
        .ok_or_else(|| Error::not_found("report", id))?;
        let current = s.deliveries.get(&id).is_some_and(|(w, t, until)| {
            *w == claim.worker && *t == claim.token && *until != DateTime::<Utc>::MIN_UTC
        });
        if !current {
            return Ok(false);
        }
        if let Some((_, _, until)) = s.deliveries.get_mut(&id) {
            *until = DateTime::<Utc>::MIN_UTC;
        }
        if let Some(r) = s.reports.get_mut(&id) {
            r.next_delivery_at = next_delivery_at;
            if distributed_at.is_some() {
                r.distributed_at = distributed_at;
            }
        }
        Ok(true)
    }

    async fn expired_reports(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(OrganizationId, ReportId)>> {
        let s = self.lock();
        let mut v: Vec<&GeneratedReport> = s
            .reports
            .values()
            .filter(|r| r.expires_at <= now && r.status != ReportStatus::Expired)
            .collect();
        v.sort_by_key(|r| (r.expires_at, r.id));
        Ok(v.into_iter()
            .take(limit)
            .map(|r| (r.organization_id, r.id))
            .collect())
    }

    async fn stuck_reports(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(OrganizationId, ReportId)>> {
        let s = self.lock();
        let mut v: Vec<(DateTime<Utc>, &GeneratedReport)> = s
            .reports
            .values()
            .filter(|r| is_unfinished(r))
            .map(|r| (r.started_at.unwrap_or(r.created_at), r))
            .filter(|(started, _)| *started < before)
            .collect();
        v.sort_by_key(|(started, r)| (*started, r.id));
        Ok(v.into_iter()
            .take(limit)
            .map(|(_, r)| (r.organization_id, r.id))
            .collect())
    }

    async fn fail_stuck_report(
        &self,
        org: OrganizationId,
        id: ReportId,
        before: DateTime<Utc>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut s = self.lock();
        let r = s
            .reports
            .get_mut(&id)
            .filter(|r| r.organization_id == org)
            .ok_or_else(|| Error::not_found("report", id))?;
        if !is_unfinished(r) || r.started_at.unwrap_or(r.created_at) >= before {
            return Ok(false);
        }
        r.status = ReportStatus::Failed;
        r.error_message = Some(message.to_owned());
        r.completed_at = Some(now);
        Ok(true)
    }
}

/// Claim a report's delivery when no other worker holds a live claim.
fn claim_delivery_locked(
    s: &mut State,
    org: OrganizationId,
    id: ReportId,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Option<DeliveryClaim> {
    let entry = s
        .deliveries
        .entry(id)
        .or_insert_with(|| (String::new(), 0, DateTime::<Utc>::MIN_UTC));
    // A live claim holds against every worker, this one too (two tasks of
    // one engine never deliver the same report at once).
    if entry.2 > now {
        return None;
    }
    entry.0 = worker.to_owned();
    entry.1 = entry.1.saturating_add(1);
    entry.2 = lease_until;
    Some(DeliveryClaim {
        organization_id: org,
        report_id: id,
        worker: worker.to_owned(),
        token: entry.1,
        lease_until,
    })
}

fn is_unfinished(r: &GeneratedReport) -> bool {
    matches!(r.status, ReportStatus::Pending | ReportStatus::Generating)
}

#[async_trait]
impl DigestStore for MemoryStore {
    async fn get_digest_preferences(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<EmailDigestPreferences> {
        self.lock()
            .digests
            .get(&(org, user))
            .cloned()
            .ok_or_else(|| Error::not_found("digest preferences of user", user))
    }

    async fn upsert_digest_preferences(
        &self,
        org: OrganizationId,
        prefs: &EmailDigestPreferences,
    ) -> Result<()> {
        check_org(org, Some(prefs.organization_id), "digest preferences")?;
        let mut s = self.lock();
        let key = (org, prefs.user_id);
        let mut new = prefs.clone();
        if let Some(old) = s.digests.get(&key) {
            new.id = old.id;
            new.created_at = old.created_at;
        }
        s.digests.insert(key, new);
        Ok(())
    }

    async fn delete_digest_preferences(&self, org: OrganizationId, user: UserId) -> Result<()> {
        self.lock()
            .digests
            .remove(&(org, user))
            .map(|_| ())
            .ok_or_else(|| Error::not_found("digest preferences of user", user))
    }

    async fn digest_candidates(&self) -> Result<Vec<EmailDigestPreferences>> {
        let mut v: Vec<_> = self
            .lock()
            .digests
            .values()
            .filter(|p| p.is_active && p.frequency != DigestFrequency::None)
            .cloned()
            .collect();
        v.sort_by_key(|p| (p.organization_id, p.user_id));
        Ok(v)
    }

    async fn mark_digest_sent(
        &self,
        org: OrganizationId,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        slot: DateTime<Utc>,
    ) -> Result<bool> {
        let mut s = self.lock();
        let p = s
            .digests
            .get_mut(&(org, user))
            .ok_or_else(|| Error::not_found("digest preferences of user", user))?;
        if p.last_sent_at != expected {
            return Ok(false);
        }
        p.last_sent_at = Some(slot);
        Ok(true)
    }
}

#[async_trait]
impl ChargebackStore for MemoryStore {
    async fn create_chargeback_config(
        &self,
        org: OrganizationId,
        c: &ChargebackConfiguration,
    ) -> Result<()> {
        check_org(org, Some(c.organization_id), "chargeback configuration")?;
        let mut s = self.lock();
        if s.chargeback_configs.contains_key(&c.id) {
            return Err(Error::Conflict(format!(
                "chargeback configuration {} exists",
                c.id
            )));
        }
        s.chargeback_configs.insert(c.id, c.clone());
        Ok(())
    }

    async fn get_chargeback_config(
        &self,
        org: OrganizationId,
        id: ChargebackConfigId,
    ) -> Result<ChargebackConfiguration> {
        owned(&self.lock().chargeback_configs, &id, org, |c| {
            Some(c.organization_id)
        })
        .cloned()
        .ok_or_else(|| Error::not_found("chargeback configuration", id))
    }

    async fn list_chargeback_configs(
        &self,
        org: OrganizationId,
    ) -> Result<Vec<ChargebackConfiguration>> {
        let mut v: Vec<_> = self
            .lock()
            .chargeback_configs
            .values()
            .filter(|c| c.organization_id == org)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(v)
    }

    async fn update_chargeback_config(
        &self,
        org: OrganizationId,
        c: &ChargebackConfiguration,
    ) -> Result<()> {
        check_org(org, Some(c.organization_id), "chargeback configuration")?;
        let mut s = self.lock();
        let slot = owned_mut(&mut s.chargeback_configs, &c.id, org, |c| {
            Some(c.organization_id)
        })
        .ok_or_else(|| Error::not_found("chargeback configuration", c.id))?;
        *slot = c.clone();
        Ok(())
    }

    async fn delete_chargeback_config(
        &self,
        org: OrganizationId,
        id: ChargebackConfigId,
    ) -> Result<()> {
        let mut s = self.lock();
        owned(&s.chargeback_configs, &id, org, |c| Some(c.organization_id))
            .ok_or_else(|| Error::not_found("chargeback configuration", id))?;
        if s.chargeback_records
            .values()
            .any(|r| r.configuration_id == id)
        {
            return Err(Error::Conflict(format!(
                "chargeback configuration {id} has records; deactivate it instead"
            )));
        }
        s.chargeback_configs.remove(&id);
        Ok(())
    }

    async fn active_chargeback_configurations(&self) -> Result<Vec<ChargebackConfiguration>> {
        let mut v: Vec<_> = self
            .lock()
            .chargeback_configs
            .values()
            .filter(|c| c.is_active)
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            (a.organization_id, &a.name, a.id).cmp(&(b.organization_id, &b.name, b.id))
        });
        Ok(v)
    }

    async fn create_chargeback_record(
        &self,
        org: OrganizationId,
        r: &ChargebackRecord,
    ) -> Result<()> {
        check_org(org, Some(r.organization_id), "chargeback record")?;
        let mut s = self.lock();
        owned(&s.chargeback_configs, &r.configuration_id, org, |c| {
            Some(c.organization_id)
        })
        .ok_or_else(|| Error::not_found("chargeback configuration", r.configuration_id))?;
        if s.chargeback_records.contains_key(&r.id) {
            return Err(Error::Conflict(format!(
                "chargeback record {} exists",
                r.id
            )));
        }
        if s.chargeback_records.values().any(|o| {
            o.configuration_id == r.configuration_id
                && o.period_start == r.period_start
                && o.period_end == r.period_end
        }) {
            return Err(Error::Conflict(format!(
                "a chargeback record for configuration {} and period {} to {} exists",
                r.configuration_id, r.period_start, r.period_end
            )));
        }
        s.chargeback_records.insert(r.id, r.clone());
        Ok(())
    }

    async fn get_chargeback_record(
        &self,
        org: OrganizationId,
        id: ChargebackRecordId,
    ) -> Result<ChargebackRecord> {
        owned(&self.lock().chargeback_records, &id, org, |r| {
            Some(r.organization_id)
        })
        .cloned()
        .ok_or_else(|| Error::not_found("chargeback record", id))
    }

    async fn find_chargeback_record(
        &self,
        org: OrganizationId,
        config: ChargebackConfigId,
        period_start: NaiveDate,
        period_end: NaiveDate,
    ) -> Result<Option<ChargebackRecord>> {
        Ok(self
            .lock()
            .chargeback_records
            .values()
            .find(|r| {
                r.organization_id == org
                    && r.configuration_id == config
                    && r.period_start == period_start
                    && r.period_end == period_end
            })
            .cloned())
    }

    async fn list_chargeback_records(
        &self,
        org: OrganizationId,
        config: Option<ChargebackConfigId>,
    ) -> Result<Vec<ChargebackRecord>> {
        let mut v: Vec<_> = self
            .lock()
            .chargeback_records
            .values()
            .filter(|r| r.organization_id == org)
            .filter(|r| config.is_none_or(|c| r.configuration_id == c))
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            (b.period_start, b.created_at, b.id).cmp(&(a.period_start, a.created_at, a.id))
        });
        Ok(v)
    }

    async fn update_chargeback_record(
        &self,
        org: OrganizationId,
        r: &ChargebackRecord,
        expected: ChargebackStatus,
    ) -> Result<()> {
        check_org(org, Some(r.organization_id), "chargeback record")?;
        let mut s = self.lock();
        let slot = owned_mut(&mut s.chargeback_records, &r.id, org, |r| {
            Some(r.organization_id)
        })
        .ok_or_else(|| Error::not_found("chargeback record", r.id))?;
        if slot.status != expected {
            return Err(Error::Conflict(format!(
                "chargeback record {} is {:?}, not {:?}",
                r.id, slot.status, expected
            )));
        }
        if slot.configuration_id != r.configuration_id
            || slot.period_start != r.period_start
            || slot.period_end != r.period_end
        {
            return Err(Error::invalid(
                "periodStart",
                "the configuration and period of a record cannot change",
            ));
        }
        *slot = r.clone();
        Ok(())
    }
}
