//! The five ports a host wires the engine with: [`CostSource`],
//! [`ReportStore`], [`Renderer`], [`Deliverer`] and [`Clock`].
//!
//! Every port is object-safe and `Send + Sync + 'static`, so an engine holds
//! `Arc<dyn CostSource>` and friends, and returns the crate's
//! [`Error`](crate::Error). The traits ask only for what a backend must
//! provide; conveniences built on them live in the engine.
//!
//! [`ReportStore`] is the sum of one sub-trait per aggregate:
//! [`TemplateStore`], [`ScheduleStore`], [`GeneratedReportStore`],
//! [`DigestStore`] and [`ChargebackStore`]. Any type implementing all five is
//! a `ReportStore`.
//!
//! ## Scoping
//! Every store method takes the organization id and only ever reads,
//! changes or deletes that organization's rows: an id of another
//! organization is [`Error::NotFound`](crate::Error::NotFound), exactly as a
//! missing id. The few methods the background jobs need across
//! organizations (`due_schedules`, `claim_due_runs`, `claim_due_deliveries`,
//! `digest_candidates`, `active_chargeback_configurations`,
//! `expired_reports`, `stuck_reports`) say so in their docs, and return
//! rows that carry their organization id. Those that return whole rows
//! leave out a row they cannot read (with an error event), so one
//! organization's bad row never stops a job for the others.
//!
//! ## Claims and fencing
//! A scheduled run is claimed with a lease ([`ScheduleStore::claim_run`]);
//! its [`RunFence`] guards every write of the slot's report and artifact
//! ([`GeneratedReportStore::save_report`]), so a worker whose lease was
//! taken over changes nothing. Delivering a report has its own claim
//! ([`GeneratedReportStore::claim_delivery`]), separate from the run's.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{
    Artifact, ChargebackConfigId, ChargebackConfiguration, ChargebackRecord, ChargebackRecordId,
    ChargebackStatus, CostBucket, CostQuery, Currency, DistributionStatus, EmailDigestPreferences,
    GeneratedReport, OrganizationId, RecipientKind, ReportDocument, ReportFormat, ReportId,
    ReportRecipient, ReportStatus, ReportTemplate, RunStatus, ScheduleRun, ScheduledReport,
    ScheduledReportId, TemplateId, UsageRecord, UserId,
};
use crate::Result;

// ---------------------------------------------------------------------------
// UsageSource

/// Request-level LLM usage (token classes, service tiers) of an
/// organization: what the `repricing` section prices again under another
/// price version. Cost reports themselves read a [`CostSource`].
#[async_trait]
pub trait UsageSource: Send + Sync + 'static {
    /// The organization's usage records with a timestamp in `[from, to)`.
    async fn usage(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UsageRecord>>;
}

// ---------------------------------------------------------------------------
// CostSource

/// Where cost data comes from: answers aggregate queries for one
/// organization, so a SQL backend can push the work into the database.
#[async_trait]
pub trait CostSource: Send + Sync + 'static {
    /// Aggregate the organization's cost over `query.range` (inclusive, by
    /// the rows' date), keeping rows that pass `query.filters`, grouped by
    /// `query.group_by` and, when given, by `query.granularity`.
    ///
    /// Edges: no matching rows gives an empty list (not a zero bucket);
    /// rows lacking a grouped dimension form their own group with key
    /// `None`; buckets never mix currencies (rows in different currencies
    /// form different buckets); the order of buckets is unspecified. An
    /// organization the source knows nothing about has no rows.
    async fn aggregate(&self, org: OrganizationId, query: &CostQuery) -> Result<Vec<CostBucket>>;

    /// Several aggregates of one organization at once: the answer to
    /// `queries[i]` is `result[i]`, exactly what
    /// [`aggregate`](Self::aggregate) would give for it.
    ///
    /// A report asks for many groupings of the same rows (by provider, by
    /// model, by team, by day, ...). The default runs the queries
    /// concurrently, one [`aggregate`](Self::aggregate) each; a source that
    /// can answer queries over the same range and filters in one pass
    /// overrides it (PostgreSQL: one scan with `GROUPING SETS`).
    async fn aggregate_many(
        &self,
        org: OrganizationId,
        queries: &[CostQuery],
    ) -> Result<Vec<Vec<CostBucket>>> {
        futures::future::try_join_all(queries.iter().map(|q| self.aggregate(org, q))).await
    }

    /// The currency amounts are in when rows do not say (default USD).
    fn default_currency(&self) -> Currency {
        Currency::USD
    }

    /// The last day whose data is complete for `org` (a watermark: the
    /// newest charge period ingested, a billing export's cut-off); `None`
    /// (the default) when the source does not know, and then every day is
    /// taken as complete. Reports over later days say "data complete
    /// through ..." and never turn missing data into a drop, an anomaly or
    /// a lower forecast; digests wait for it.
    async fn complete_through(&self, org: OrganizationId) -> Result<Option<NaiveDate>> {
        let _ = org;
        Ok(None)
    }

    /// What this source's data calls `dimension`, when that is not its
    /// usual label ([`Dimension::label`](crate::model::Dimension::label)):
    /// cloud billing fills `model` with the billed service, so a FOCUS
    /// source says `Service`. Reports title their columns and sections with
    /// it. `None` (the default) keeps the usual label.
    fn dimension_label(&self, dimension: &crate::model::Dimension) -> Option<String> {
        let _ = dimension;
        None
    }
}

// ---------------------------------------------------------------------------
// ReportStore and its parts

/// Report templates of organizations (system templates live in the engine,
/// not in the store).
#[async_trait]
pub trait TemplateStore: Send + Sync + 'static {
    /// Store a new template. `Conflict` if its id exists.
    async fn create_template(&self, org: OrganizationId, template: &ReportTemplate) -> Result<()>;
    /// The template. `NotFound` when missing or another organization's.
    async fn get_template(&self, org: OrganizationId, id: TemplateId) -> Result<ReportTemplate>;
    /// The organization's templates, default ones first, then by name. Empty
    /// when there are none.
    async fn list_templates(&self, org: OrganizationId) -> Result<Vec<ReportTemplate>>;
    /// Replace a template (matched by id). `NotFound` when missing.
    async fn update_template(&self, org: OrganizationId, template: &ReportTemplate) -> Result<()>;
    /// Delete a template. `NotFound` when missing.
    async fn delete_template(&self, org: OrganizationId, id: TemplateId) -> Result<()>;
}

/// Outcome of [`ScheduleStore::claim_run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This worker now holds the slot's claim until the returned run's lease
    /// expires (a new claim, or one taken over after a dead worker's lease).
    Claimed(ScheduleRun),
    /// Another worker holds a live claim on the slot.
    Busy(ScheduleRun),
    /// The slot already ran (success, failed or skipped): nothing to do.
    Done(ScheduleRun),
}

/// How a claimed run ended, for [`ScheduleStore::finish_run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// `success`, `failed` or `skipped` (`running` is refused).
    pub status: RunStatus,
    /// The report generated for the slot.
    pub report_id: Option<ReportId>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

/// Scheduled reports and the runs of their slots.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Store a new schedule. `Conflict` if its id exists.
    async fn create_schedule(&self, org: OrganizationId, schedule: &ScheduledReport) -> Result<()>;
    /// The schedule. `NotFound` when missing or another organization's.
    async fn get_schedule(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
    ) -> Result<ScheduledReport>;
    /// The organization's schedules, newest first (`createdAt` descending,
    /// then id). Empty when there are none.
    async fn list_schedules(&self, org: OrganizationId) -> Result<Vec<ScheduledReport>>;
    /// Replace a schedule (matched by id). `NotFound` when missing.
    async fn update_schedule(&self, org: OrganizationId, schedule: &ScheduledReport) -> Result<()>;
    /// Delete a schedule and its runs. `NotFound` when missing.
    async fn delete_schedule(&self, org: OrganizationId, id: ScheduledReportId) -> Result<()>;

    /// Across organizations (background job): active schedules whose
    /// `nextRunAt <= now`, earliest `nextRunAt` first, at most `limit`.
    async fn due_schedules(&self, now: DateTime<Utc>, limit: usize)
        -> Result<Vec<ScheduledReport>>;

    /// Claim the run of `(schedule, slot)` for `worker` until `lease_until`.
    ///
    /// Creates the run if none exists. A run held by another worker whose
    /// lease expired at or before `now` is taken over (attempts + 1). A
    /// finished run is [`ClaimOutcome::Done`]; a live claim of another worker
    /// is [`ClaimOutcome::Busy`]; the same worker claiming again renews its
    /// lease. The check and the write are atomic: of two concurrent claims
    /// exactly one wins. `NotFound` when the schedule is missing.
    async fn claim_run(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
        slot: DateTime<Utc>,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<ClaimOutcome>;

    /// Across organizations (background job): claim the current slot
    /// (`nextRunAt`) of up to `limit` due schedules for `worker`, earliest
    /// `nextRunAt` first, as [`claim_run`](Self::claim_run) would.
    ///
    /// Returns each picked schedule with [`ClaimOutcome::Claimed`], or with
    /// [`ClaimOutcome::Done`] when its current slot already ran but the
    /// schedule was not moved on (a worker stopped between finishing the run
    /// and updating the schedule), so the caller can repair it. Left out,
    /// never returned as [`ClaimOutcome::Busy`]: slots another worker holds
    /// under a live lease; slots finished less than a lease length
    /// (`lease_until - now`) ago, whose worker is presumably moving the
    /// schedule on right now; schedules deleted meanwhile.
    ///
    /// The default reads [`due_schedules`](Self::due_schedules) and claims
    /// them in order, which is correct for any backend but makes concurrent
    /// workers contend for the same first rows. A backend that can do better
    /// overrides it (PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so N
    /// workers take disjoint sets at once).
    async fn claim_due_runs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ScheduledReport, ClaimOutcome)>> {
        claim_due_in_order(self, worker, now, lease_until, limit).await
    }

    /// Record the outcome of a claimed run (`success`, `failed` or
    /// `skipped`). `Conflict` when `worker` no longer holds the claim (its
    /// lease expired and another worker took it over, or the run is already
    /// finished); `NotFound` when there is no such run. Recording `skipped`
    /// for a slot nobody claimed creates the run directly.
    async fn finish_run(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
        slot: DateTime<Utc>,
        worker: &str,
        outcome: &RunOutcome,
        now: DateTime<Utc>,
    ) -> Result<ScheduleRun>;

    /// The runs of a schedule, latest slot first. Empty when none.
    async fn list_runs(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
    ) -> Result<Vec<ScheduleRun>>;
}

/// The portable [`ScheduleStore::claim_due_runs`]: read the due schedules,
/// earliest first, and [`claim_run`](ScheduleStore::claim_run) their current
/// slots one by one until `limit` are claimed (or found done). Public so a
/// backend that overrides `claim_due_runs` can fall back to it.
pub async fn claim_due_in_order<S: ScheduleStore + ?Sized>(
    store: &S,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(ScheduledReport, ClaimOutcome)>> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    // Slots other workers hold are skipped, so read past `limit`.
    let due = store
        .due_schedules(now, limit.saturating_mul(4).max(1000))
        .await?;
    for s in due {
        if out.len() >= limit {
            break;
        }
        let Some(slot) = s.next_run_at else {
            continue;
        };
        let attempt = store
            .claim_run(s.organization_id, s.id, slot, worker, now, lease_until)
            .await;
        if let Some(claim) = due_claim(attempt, now, lease_until)? {
            out.push((s, claim));
        }
    }
    Ok(out)
}

/// Of a `claim_run` on a picked due schedule, what
/// [`ScheduleStore::claim_due_runs`] returns: the claim, or nothing for a
/// slot another worker holds, a slot finished less than a lease length ago
/// (its worker is moving the schedule on), or a schedule deleted meanwhile.
pub fn due_claim(
    attempt: Result<ClaimOutcome>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ClaimOutcome>> {
    match attempt {
        Ok(ClaimOutcome::Busy(_)) | Err(crate::Error::NotFound { .. }) => Ok(None),
        Ok(ClaimOutcome::Done(run)) if run.updated_at > fresh_after(now, lease_until) => Ok(None),
        Ok(claim) => Ok(Some(claim)),
        Err(e) => Err(e),
    }
}

/// A slot finished after this instant is left to the worker that finished
/// it (see [`ScheduleStore::claim_due_runs`]): one lease length before `now`.
pub fn fresh_after(now: DateTime<Utc>, lease_until: DateTime<Utc>) -> DateTime<Utc> {
    now - (lease_until - now).max(chrono::Duration::zero())
}

/// The claim a worker holds on a scheduled run, as a fencing token: the
/// run of `(schedule, slot)` is held by `worker` and has been claimed
/// `token` times ([`ScheduleRun::attempts`]). A takeover by another worker
/// (after the lease ran out) raises the count, so a worker that lost its
/// claim holds a stale fence and every fenced write of it is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFence {
    /// The schedule.
    pub schedule: ScheduledReportId,
    /// The slot.
    pub slot: DateTime<Utc>,
    /// The worker holding the claim.
    pub worker: String,
    /// The run's `attempts` when the worker claimed it.
    pub token: u32,
}

impl RunFence {
    /// The fence of a claimed run.
    pub fn of(run: &ScheduleRun) -> Self {
        RunFence {
            schedule: run.scheduled_report_id,
            slot: run.slot,
            worker: run.worker.clone(),
            token: run.attempts,
        }
    }

    /// The refusal of a write under this fence once it no longer holds.
    pub(crate) fn lost(&self) -> crate::Error {
        crate::Error::Conflict(format!(
            "the run {}@{} is no longer held by worker {:?} (claim {}): another worker took it over",
            self.schedule, self.slot, self.worker, self.token
        ))
    }
}

/// What [`GeneratedReportStore::save_report`] does to the artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactChange<'a> {
    /// Leave it as it is.
    Keep,
    /// Store (or replace) it.
    Put(&'a Artifact),
    /// Delete it (no error when there is none).
    Delete,
}

/// A worker's claim on delivering one report
/// ([`GeneratedReportStore::claim_delivery`]): the token rises with every
/// claim, so a worker whose claim was taken over cannot release it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryClaim {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The report.
    pub report_id: ReportId,
    /// The worker holding it.
    pub worker: String,
    /// The claim's number (1 for the first claim of the report).
    pub token: u32,
    /// Until when it holds.
    pub lease_until: DateTime<Utc>,
}

/// Filter and page of [`GeneratedReportStore::list_reports`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportListQuery {
    /// At most this many (1 to 1000).
    pub limit: usize,
    /// Continue after this cursor (from the previous page).
    pub cursor: Option<ReportCursor>,
    /// Only reports of this schedule.
    pub scheduled_report_id: Option<ScheduledReportId>,
    /// Only reports in this state.
    pub status: Option<ReportStatus>,
}

impl Default for ReportListQuery {
    fn default() -> Self {
        ReportListQuery {
            limit: 50,
            cursor: None,
            scheduled_report_id: None,
            status: None,
        }
    }
}

/// Position in the newest-first list of reports: after `(createdAt, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportCursor {
    /// `createdAt` of the last report seen.
    pub created_at: DateTime<Utc>,
    /// Its id (breaks ties).
    pub id: ReportId,
}

/// One page of reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportPage {
    /// Reports, newest first (`createdAt` descending, then id descending).
    pub reports: Vec<GeneratedReport>,
    /// Cursor of the next page, `None` on the last one.
    pub next_cursor: Option<ReportCursor>,
}

/// Generated reports (the archive) and their artifacts.
#[async_trait]
pub trait GeneratedReportStore: Send + Sync + 'static {
    /// Store a new report record. `Conflict` if its id exists, or if it has
    /// a `scheduledReportId` and `scheduleSlot` and a report for that slot
    /// exists (at most one report per slot, whatever the number of workers).
    async fn create_report(&self, org: OrganizationId, report: &GeneratedReport) -> Result<()>;
    /// The report. `NotFound` when missing or another organization's.
    async fn get_report(&self, org: OrganizationId, id: ReportId) -> Result<GeneratedReport>;
    /// Replace a report record (matched by id). `NotFound` when missing.
    async fn update_report(&self, org: OrganizationId, report: &GeneratedReport) -> Result<()>;
    /// The organization's reports, newest first, paged. An empty page has
    /// no cursor.
    async fn list_reports(
        &self,
        org: OrganizationId,
        query: &ReportListQuery,
    ) -> Result<ReportPage>;
    /// Delete a report and its artifact. `NotFound` when missing.
    async fn delete_report(&self, org: OrganizationId, id: ReportId) -> Result<()>;

    /// Store (or replace) the artifact of a report. `NotFound` when the
    /// report is missing.
    async fn put_artifact(
        &self,
        org: OrganizationId,
        id: ReportId,
        artifact: &Artifact,
    ) -> Result<()>;
    /// The artifact. `NotFound` when the report or its artifact is missing.
    async fn get_artifact(&self, org: OrganizationId, id: ReportId) -> Result<Artifact>;
    /// Delete the artifact, keeping the record. Deleting a missing artifact
    /// of an existing report is not an error; a missing report is `NotFound`.
    async fn delete_artifact(&self, org: OrganizationId, id: ReportId) -> Result<()>;

    /// Add one to `downloadCount` atomically and return the new count.
    /// `NotFound` when missing.
    async fn increment_download_count(&self, org: OrganizationId, id: ReportId) -> Result<u32>;

    /// Replace the delivery status of one recipient (matched by recipient)
    /// atomically, adding it when absent. A recipient recorded `sent` stays
    /// `sent` (a later write for it is ignored), so a worker that lost its
    /// claim cannot undo a delivery. `NotFound` when missing.
    async fn set_distribution_status(
        &self,
        org: OrganizationId,
        id: ReportId,
        status: &DistributionStatus,
    ) -> Result<()>;

    /// Replace a report record and change its artifact in one atomic step
    /// (both or neither). With a `fence` the step happens only while the
    /// fence holds: the run of `(fence.schedule, fence.slot)` is `running`,
    /// held by `fence.worker`, with `attempts == fence.token`, and the report
    /// is that slot's; otherwise `Conflict` and nothing changes. `NotFound`
    /// when the report is missing; the schedule and slot of a report cannot
    /// change (as in [`update_report`](Self::update_report)).
    async fn save_report(
        &self,
        org: OrganizationId,
        report: &GeneratedReport,
        artifact: ArtifactChange<'_>,
        fence: Option<&RunFence>,
    ) -> Result<()>;

    /// Claim the delivery of one report for `worker` until `lease_until`,
    /// whether or not it is due: `None` while a live claim (one whose lease
    /// ends after `now`) exists, even this worker's own. A new claim takes
    /// over an expired one and raises the report's claim token. `NotFound`
    /// when the report is missing.
    async fn claim_delivery(
        &self,
        org: OrganizationId,
        id: ReportId,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<DeliveryClaim>>;

    /// Across organizations (background job): claim, as
    /// [`claim_delivery`](Self::claim_delivery) would, up to `limit`
    /// completed reports whose `nextDeliveryAt` is at or before `now` and
    /// that no other worker holds under a live claim, earliest first.
    /// Concurrent callers get disjoint sets.
    async fn claim_due_deliveries(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DeliveryClaim>>;

    /// End a delivery claim: set `nextDeliveryAt` (`None`: nothing more to
    /// send) and, when given, `distributedAt`, and release the claim, only
    /// if `claim` is still the report's latest claim. Returns whether it was.
    /// `NotFound` when the report is missing.
    async fn release_delivery(
        &self,
        claim: &DeliveryClaim,
        next_delivery_at: Option<DateTime<Utc>>,
        distributed_at: Option<DateTime<Utc>>,
    ) -> Result<bool>;

    /// Across organizations (background job): reports whose `expiresAt` is
    /// at or before `now` and whose status is not yet `expired`, oldest
    /// expiry first, at most `limit`, as (organization, report id).
    async fn expired_reports(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(OrganizationId, ReportId)>>;

    /// Across organizations (background job): reports still `pending` or
    /// `generating` whose generation started (`startedAt`, else
    /// `createdAt`) before `before`, oldest first, at most `limit`, as
    /// (organization, report id).
    async fn stuck_reports(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(OrganizationId, ReportId)>>;

    /// Mark a report `failed` with `message` (and `completedAt` = `now`) only
    /// if it is still `pending` or `generating` and started before `before`:
    /// a compare-and-set, so a worker that finishes it meanwhile wins.
    /// Returns whether it was marked. `NotFound` when missing.
    async fn fail_stuck_report(
        &self,
        org: OrganizationId,
        id: ReportId,
        before: DateTime<Utc>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
}

/// Per-user e-mail digest preferences.
#[async_trait]
pub trait DigestStore: Send + Sync + 'static {
    /// The user's preferences. `NotFound` when the user has none here.
    async fn get_digest_preferences(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<EmailDigestPreferences>;
    /// Create or replace the user's preferences (one row per organization
    /// and user; the stored id is kept when replacing).
    async fn upsert_digest_preferences(
        &self,
        org: OrganizationId,
        prefs: &EmailDigestPreferences,
    ) -> Result<()>;
    /// Delete the user's preferences. `NotFound` when none.
    async fn delete_digest_preferences(&self, org: OrganizationId, user: UserId) -> Result<()>;
    /// Across organizations (background job): every active preferences row
    /// (`isActive`) whose frequency is not `none`, ordered by organization
    /// then user.
    async fn digest_candidates(&self) -> Result<Vec<EmailDigestPreferences>>;
    /// Set `lastSentAt` to `slot` only if the stored value is still
    /// `expected` (compare-and-set, so two workers never both record one
    /// slot). Returns whether it was set. `NotFound` when none.
    async fn mark_digest_sent(
        &self,
        org: OrganizationId,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        slot: DateTime<Utc>,
    ) -> Result<bool>;
}

/// Chargeback configurations and records.
#[async_trait]
pub trait ChargebackStore: Send + Sync + 'static {
    /// Store a new configuration. `Conflict` if its id exists.
    async fn create_chargeback_config(
        &self,
        org: OrganizationId,
        config: &ChargebackConfiguration,
    ) -> Result<()>;
    /// The configuration. `NotFound` when missing.
    async fn get_chargeback_config(
        &self,
        org: OrganizationId,
        id: ChargebackConfigId,
    ) -> Result<ChargebackConfiguration>;
    /// The organization's configurations by name. Empty when none.
    async fn list_chargeback_configs(
        &self,
        org: OrganizationId,
    ) -> Result<Vec<ChargebackConfiguration>>;
    /// Replace a configuration. `NotFound` when missing.
    async fn update_chargeback_config(
        &self,
        org: OrganizationId,
        config: &ChargebackConfiguration,
    ) -> Result<()>;
    /// Delete a configuration. `NotFound` when missing; `Conflict` while
    /// records of it exist (records are financial history).
    async fn delete_chargeback_config(
        &self,
        org: OrganizationId,
        id: ChargebackConfigId,
    ) -> Result<()>;
    /// Across organizations (background job): active configurations,
    /// ordered by organization then name.
    async fn active_chargeback_configurations(&self) -> Result<Vec<ChargebackConfiguration>>;

    /// Store a new record. `Conflict` when a record of the same
    /// configuration and period (start, end) exists, or its id exists;
    /// `NotFound` when the configuration is missing.
    async fn create_chargeback_record(
        &self,
        org: OrganizationId,
        record: &ChargebackRecord,
    ) -> Result<()>;
    /// The record. `NotFound` when missing.
    async fn get_chargeback_record(
        &self,
        org: OrganizationId,
        id: ChargebackRecordId,
    ) -> Result<ChargebackRecord>;
    /// The record of a configuration for a period, if any.
    async fn find_chargeback_record(
        &self,
        org: OrganizationId,
        config: ChargebackConfigId,
        period_start: NaiveDate,
        period_end: NaiveDate,
    ) -> Result<Option<ChargebackRecord>>;
    /// The organization's records, optionally of one configuration, latest
    /// period first (then newest). Empty when none.
    async fn list_chargeback_records(
        &self,
        org: OrganizationId,
        config: Option<ChargebackConfigId>,
    ) -> Result<Vec<ChargebackRecord>>;
    /// Replace a record only if its stored status is still `expected`
    /// (compare-and-set, so two approvers never both act). `NotFound` when
    /// missing; `Conflict` when the status changed meanwhile.
    async fn update_chargeback_record(
        &self,
        org: OrganizationId,
        record: &ChargebackRecord,
        expected: ChargebackStatus,
    ) -> Result<()>;
}

/// Everything the engine keeps: the sum of the five aggregate stores.
/// Implemented for every type that implements them all.
pub trait ReportStore:
    TemplateStore + ScheduleStore + GeneratedReportStore + DigestStore + ChargebackStore
{
}

impl<T> ReportStore for T where
    T: TemplateStore + ScheduleStore + GeneratedReportStore + DigestStore + ChargebackStore
{
}

// ---------------------------------------------------------------------------
// Renderer

/// A rendered report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedReport {
    /// The file.
    pub artifact: Artifact,
    /// Pages, for paged formats (PDF).
    pub page_count: Option<u32>,
}

/// Turns a [`ReportDocument`] into a file of one format.
///
/// Rendering is CPU work, not I/O, so the trait is synchronous: the engine
/// runs it on a blocking thread (`tokio::task::spawn_blocking` where the host
/// runs tokio) so the executor is never blocked.
pub trait Renderer: Send + Sync + 'static {
    /// The format this renderer produces.
    fn format(&self) -> ReportFormat;
    /// Render `doc`. Renders only `doc.sections`, in order. Bad data or a
    /// template error is [`Error::Render`](crate::Error::Render), never a panic.
    fn render(&self, doc: &ReportDocument) -> Result<RenderedReport>;
}

// ---------------------------------------------------------------------------
// Deliverer

/// What is being delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryKind {
    /// A generated report.
    Report,
    /// An e-mail digest.
    Digest,
}

/// A message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Same on every retry of the same (report, recipient); receivers use it
    /// to drop duplicates.
    pub idempotency_key: String,
    /// The organization it belongs to.
    pub organization_id: OrganizationId,
    /// Report or digest.
    pub kind: DeliveryKind,
    /// The report, for report deliveries.
    pub report_id: Option<ReportId>,
    /// Who receives it.
    pub recipient: ReportRecipient,
    /// Subject line / title.
    pub subject: String,
    /// HTML body (e-mail), when rendered.
    pub html_body: Option<String>,
    /// Plain-text body (always present).
    pub text_body: String,
    /// The report file, when attached.
    pub attachment: Option<Artifact>,
    /// A signed download link, when the host configured a base URL.
    pub download_url: Option<String>,
    /// The report document the message is about, for channels that build
    /// their own layout (Slack blocks, webhook JSON).
    pub document: Option<Box<ReportDocument>>,
}

/// Proof of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// The channel's message id, when it gives one.
    pub message_id: Option<String>,
}

/// Sends a message to one recipient over one channel (e-mail, Slack,
/// webhook...).
#[async_trait]
pub trait Deliverer: Send + Sync + 'static {
    /// Whether this deliverer handles recipients of `kind`.
    fn supports(&self, kind: RecipientKind) -> bool;
    /// Send. A failure names the recipient and is retryable when sending
    /// again later may work ([`Error::is_retryable`](crate::Error::is_retryable)).
    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt>;
}

// ---------------------------------------------------------------------------
// Clock

/// The only way the crate reads the time. Tests use
/// [`ManualClock`](crate::backends::memory::ManualClock).
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn assert_send_sync<T: Send + Sync + ?Sized>() {}

    #[test]
    fn ports_are_object_safe_send_and_sync() {
        assert_send_sync::<Arc<dyn CostSource>>();
        assert_send_sync::<Arc<dyn ReportStore>>();
        assert_send_sync::<Arc<dyn Renderer>>();
        assert_send_sync::<Arc<dyn Deliverer>>();
        assert_send_sync::<Arc<dyn Clock>>();
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::model::ReportDocument>();
    }
}
