//! The [`ReportStore`](crate::ports::ReportStore) over SQL, shared by the
//! PostgreSQL and SQLite backends.
//!
//! Every method is a single statement, or one transaction
//! (`save_report`, the claim of due runs), filtered by `organization_id`
//! (the few cross-organization methods of the background jobs excepted, as
//! the port documents), so a failure never leaves half a change behind and the
//! database, not Rust code, enforces the uniqueness rules: the primary keys,
//! one report per `(scheduled_report_id, schedule_slot)`, one chargeback
//! record per `(configuration_id, period_start, period_end)`, one digest row
//! per `(organization_id, user_id)`. Claiming a run is one
//! `INSERT ... ON CONFLICT DO UPDATE ... WHERE <lease expired or mine>`, so
//! of two concurrent claims exactly one wins.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::values::{
    count32, count64, enum_text, json, opt_count32, opt_count64, opt_date, opt_enum_text, opt_json,
    opt_text, opt_ts, opt_uuid, text, ts, uuid, Db, Dialect, Kind, Row, Val,
};
use crate::model::{
    Allocation, Artifact, ChargebackConfigId, ChargebackConfiguration, ChargebackRecord,
    ChargebackRecordId, ChargebackStatus, DateRange, DistributionStatus, EmailDigestPreferences,
    GeneratedReport, OrganizationId, ReportId, ReportTemplate, RunStatus, ScheduleRun,
    ScheduledReport, ScheduledReportId, TemplateId, UserId,
};
use crate::ports::{
    claim_due_in_order, due_claim, ArtifactChange, ChargebackStore, ClaimOutcome, DeliveryClaim,
    DigestStore, GeneratedReportStore, ReportCursor, ReportListQuery, ReportPage, RunFence,
    RunOutcome, ScheduleStore, TemplateStore,
};
use crate::{Error, Result};

/// A [`ReportStore`](crate::ports::ReportStore) over a SQL database: use it
/// as [`PostgresStore`](crate::backends::postgres::PostgresStore) or
/// [`SqliteStore`](crate::backends::sqlite::SqliteStore). Cloning it gives
/// another handle on the same connection pool.
#[derive(Clone, Debug)]
pub struct SqlStore<D: Db> {
    pub(crate) db: D,
}

impl<D: Db> SqlStore<D> {
    pub(crate) fn from_db(db: D) -> Self {
        SqlStore { db }
    }

    fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    fn order_text(&self, col: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("{col} COLLATE \"C\""),
            Dialect::Sqlite => col.to_owned(),
        }
    }

    async fn rows(&self, sql: &str, args: Vec<Val>, kinds: &[Kind]) -> Result<Vec<Row>> {
        Ok(self
            .db
            .fetch(sql, args, kinds)
            .await?
            .into_iter()
            .map(Row::new)
            .collect())
    }

    async fn one(&self, sql: &str, args: Vec<Val>, kinds: &[Kind]) -> Result<Option<Row>> {
        Ok(self.rows(sql, args, kinds).await?.into_iter().next())
    }

    async fn exists(&self, sql: &str, args: Vec<Val>) -> Result<bool> {
        Ok(!self.db.fetch(sql, args, &[Kind::I32]).await?.is_empty())
    }
}

// ---------------------------------------------------------------------------
// Tables

struct Table {
    name: &'static str,
    cols: &'static [(&'static str, Kind)],
}

impl Table {
    fn select(&self) -> String {
        self.cols
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn kinds(&self) -> Vec<Kind> {
        self.cols.iter().map(|(_, k)| *k).collect()
    }

    fn insert(&self) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.name,
            self.select(),
            placeholders(1, self.cols.len())
        )
    }

    /// `INSERT INTO t (cols) SELECT $1.. WHERE <cond>`.
    fn insert_where(&self, cond: &str) -> String {
        format!(
            "INSERT INTO {} ({}) SELECT {} WHERE {cond}",
            self.name,
            self.select(),
            placeholders(1, self.cols.len())
        )
    }

    /// `col = $i` for every column but the skipped ones, numbered by the
    /// column's position (so the insert's values bind unchanged).
    fn set_all_but(&self, skip: &[&str]) -> String {
        self.cols
            .iter()
            .enumerate()
            .filter(|(_, (c, _))| !skip.contains(c))
            .map(|(i, (c, _))| format!("{c} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
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

fn limit_val(limit: usize) -> Val {
    Val::I64(i64::try_from(limit).unwrap_or(i64::MAX))
}

// Templates -----------------------------------------------------------------

const TEMPLATES: Table = Table {
    name: "report_templates",
    cols: &[
        ("id", Kind::Uuid),
        ("organization_id", Kind::Uuid),
        ("name", Kind::Text),
        ("description", Kind::Text),
        ("report_type", Kind::Text),
        ("config", Kind::Json),
        ("branding", Kind::Json),
        ("is_system", Kind::Bool),
        ("is_default", Kind::Bool),
        ("created_by", Kind::Uuid),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};

fn template_vals(t: &ReportTemplate) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(t.id.0),
        opt_uuid(t.organization_id.map(|o| o.0)),
        text(&t.name),
        opt_text(t.description.as_deref()),
        enum_text(&t.report_type)?,
        json(&t.config)?,
        json(&t.branding)?,
        Val::Bool(t.is_system),
        Val::Bool(t.is_default),
        opt_uuid(t.created_by.map(|u| u.0)),
        ts(t.created_at),
        ts(t.updated_at),
    ])
}

fn template_from(mut r: Row) -> Result<ReportTemplate> {
    Ok(ReportTemplate {
        id: r.uuid()?,
        organization_id: r.opt_uuid()?,
        name: r.text()?,
        description: r.opt_text()?,
        report_type: r.enum_()?,
        config: r.json()?,
        branding: r.json()?,
        is_system: r.bool()?,
        is_default: r.bool()?,
        created_by: r.opt_uuid()?,
        created_at: r.ts()?,
        updated_at: r.ts()?,
    })
}

#[async_trait]
impl<D: Db> TemplateStore for SqlStore<D> {
    async fn create_template(&self, org: OrganizationId, t: &ReportTemplate) -> Result<()> {
        check_org(org, t.organization_id, "template")?;
        self.db.exec(&TEMPLATES.insert(), template_vals(t)?).await?;
        Ok(())
    }

    async fn get_template(&self, org: OrganizationId, id: TemplateId) -> Result<ReportTemplate> {
        let sql = format!(
            "SELECT {} FROM report_templates WHERE id = $1 AND organization_id = $2",
            TEMPLATES.select()
        );
        let row = self
            .one(&sql, vec![uuid(id.0), uuid(org.0)], &TEMPLATES.kinds())
            .await?;
        row.map(template_from)
            .transpose()?
            .ok_or_else(|| Error::not_found("report template", id))
    }

    async fn list_templates(&self, org: OrganizationId) -> Result<Vec<ReportTemplate>> {
        let sql = format!(
            "SELECT {} FROM report_templates WHERE organization_id = $1 \
             ORDER BY is_default DESC, {}, id",
            TEMPLATES.select(),
            self.order_text("name")
        );
        self.rows(&sql, vec![uuid(org.0)], &TEMPLATES.kinds())
            .await?
            .into_iter()
            .map(template_from)
            .collect()
    }

    async fn update_template(&self, org: OrganizationId, t: &ReportTemplate) -> Result<()> {
        check_org(org, t.organization_id, "template")?;
        let sql = format!(
            "UPDATE report_templates SET {} WHERE id = $1 AND organization_id = $2",
            TEMPLATES.set_all_but(&["id", "organization_id"])
        );
        match self.db.exec(&sql, template_vals(t)?).await? {
            0 => Err(Error::not_found("report template", t.id)),
            _ => Ok(()),
        }
    }

    async fn delete_template(&self, org: OrganizationId, id: TemplateId) -> Result<()> {
        let n = self
            .db
            .exec(
                "DELETE FROM report_templates WHERE id = $1 AND organization_id = $2",
                vec![uuid(id.0), uuid(org.0)],
            )
            .await?;
        match n {
            0 => Err(Error::not_found("report template", id)),
            _ => Ok(()),
        }
    }
}

// Schedules and runs ----------------------------------------------------------

const SCHEDULES: Table = Table {
    name: "scheduled_reports",
    cols: &[
        ("id", Kind::Uuid),
        ("organization_id", Kind::Uuid),
        ("template_id", Kind::Uuid),
        ("report_type", Kind::Text),
        ("name", Kind::Text),
        ("description", Kind::Text),
        ("frequency", Kind::Text),
        ("schedule_config", Kind::Json),
        ("filters", Kind::Json),
        ("recipients", Kind::Json),
        ("format", Kind::Text),
        ("is_active", Kind::Bool),
        ("last_run_at", Kind::Ts),
        ("next_run_at", Kind::Ts),
        ("last_status", Kind::Text),
        ("last_error", Kind::Text),
        ("run_count", Kind::I32),
        ("consecutive_failures", Kind::I32),
        ("paused_reason", Kind::Text),
        ("created_by", Kind::Uuid),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};

fn schedule_vals(s: &ScheduledReport) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(s.id.0),
        uuid(s.organization_id.0),
        opt_uuid(s.template_id.map(|t| t.0)),
        opt_enum_text(s.report_type.as_ref())?,
        text(&s.name),
        opt_text(s.description.as_deref()),
        enum_text(&s.frequency)?,
        json(&s.schedule_config)?,
        json(&s.filters)?,
        json(&s.recipients)?,
        enum_text(&s.format)?,
        Val::Bool(s.is_active),
        opt_ts(s.last_run_at),
        opt_ts(s.next_run_at),
        opt_enum_text(s.last_status.as_ref())?,
        opt_text(s.last_error.as_deref()),
        count32("runCount", s.run_count)?,
        count32("consecutiveFailures", s.consecutive_failures)?,
        opt_text(s.paused_reason.as_deref()),
        opt_uuid(s.created_by.map(|u| u.0)),
        ts(s.created_at),
        ts(s.updated_at),
    ])
}

fn schedule_from(mut r: Row) -> Result<ScheduledReport> {
    Ok(ScheduledReport {
        id: r.uuid()?,
        organization_id: r.uuid()?,
        template_id: r.opt_uuid()?,
        report_type: r.opt_enum()?,
        name: r.text()?,
        description: r.opt_text()?,
        frequency: r.enum_()?,
        schedule_config: r.json()?,
        filters: r.json()?,
        recipients: r.json()?,
        format: r.enum_()?,
        is_active: r.bool()?,
        last_run_at: r.opt_ts()?,
        next_run_at: r.opt_ts()?,
        last_status: r.opt_enum()?,
        last_error: r.opt_text()?,
        run_count: r.u32()?,
        consecutive_failures: r.u32()?,
        paused_reason: r.opt_text()?,
        created_by: r.opt_uuid()?,
        created_at: r.ts()?,
        updated_at: r.ts()?,
    })
}

const RUNS: Table = Table {
    name: "schedule_runs",
    cols: &[
        ("organization_id", Kind::Uuid),
        ("scheduled_report_id", Kind::Uuid),
        ("slot", Kind::Ts),
        ("status", Kind::Text),
        ("worker", Kind::Text),
        ("lease_expires_at", Kind::Ts),
        ("attempts", Kind::I32),
        ("report_id", Kind::Uuid),
        ("error", Kind::Text),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};

fn run_from(mut r: Row) -> Result<ScheduleRun> {
    Ok(ScheduleRun {
        organization_id: r.uuid()?,
        scheduled_report_id: r.uuid()?,
        slot: r.ts()?,
        status: r.enum_()?,
        worker: r.text()?,
        lease_expires_at: r.ts()?,
        attempts: r.u32()?,
        report_id: r.opt_uuid()?,
        error: r.opt_text()?,
        created_at: r.ts()?,
        updated_at: r.ts()?,
    })
}

impl<D: Db> SqlStore<D> {
    async fn schedule_exists(&self, org: OrganizationId, id: ScheduledReportId) -> Result<bool> {
        self.exists(
            "SELECT 1 FROM scheduled_reports WHERE id = $1 AND organization_id = $2",
            vec![uuid(id.0), uuid(org.0)],
        )
        .await
    }

    async fn get_run(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
        slot: DateTime<Utc>,
    ) -> Result<Option<ScheduleRun>> {
        let sql = format!(
            "SELECT {} FROM schedule_runs \
             WHERE scheduled_report_id = $1 AND slot = $2 AND organization_id = $3",
            RUNS.select()
        );
        self.one(
            &sql,
            vec![uuid(schedule.0), ts(slot), uuid(org.0)],
            &RUNS.kinds(),
        )
        .await?
        .map(run_from)
        .transpose()
    }
}

/// The claim of `claim_run`, one atomic statement: create the run, or take
/// it over when it is still running and either ours or its lease expired.
/// The database locks the conflicting row, so two claims never both win.
/// Binds: `$1` schedule id, `$2` organization id, `$3` slot, `$4` worker,
/// `$5` now, `$6` lease end; returns the run when claimed.
pub(crate) fn claim_run_sql() -> String {
    format!(
        "INSERT INTO schedule_runs ({cols}) \
         SELECT organization_id, id, $3, 'running', $4, $6, 1, NULL, NULL, $5, $5 \
         FROM scheduled_reports WHERE id = $1 AND organization_id = $2 \
         ON CONFLICT (scheduled_report_id, slot) DO UPDATE SET \
           attempts = CASE WHEN schedule_runs.worker = excluded.worker \
                      THEN schedule_runs.attempts ELSE schedule_runs.attempts + 1 END, \
           worker = excluded.worker, \
           lease_expires_at = excluded.lease_expires_at, \
           updated_at = excluded.updated_at \
         WHERE schedule_runs.status = 'running' \
           AND (schedule_runs.worker = excluded.worker OR schedule_runs.lease_expires_at <= $5) \
         RETURNING {ret}",
        cols = RUNS.select(),
        ret = RUNS.select(),
    )
}

#[async_trait]
impl<D: Db> ScheduleStore for SqlStore<D> {
    async fn create_schedule(&self, org: OrganizationId, s: &ScheduledReport) -> Result<()> {
        check_org(org, Some(s.organization_id), "scheduled report")?;
        self.db.exec(&SCHEDULES.insert(), schedule_vals(s)?).await?;
        Ok(())
    }

    async fn get_schedule(
        &self,
        org: OrganizationId,
        id: ScheduledReportId,
    ) -> Result<ScheduledReport> {
        let sql = format!(
            "SELECT {} FROM scheduled_reports WHERE id = $1 AND organization_id = $2",
            SCHEDULES.select()
        );
        self.one(&sql, vec![uuid(id.0), uuid(org.0)], &SCHEDULES.kinds())
            .await?
            .map(schedule_from)
            .transpose()?
            .ok_or_else(|| Error::not_found("scheduled report", id))
    }

    async fn list_schedules(&self, org: OrganizationId) -> Result<Vec<ScheduledReport>> {
        let sql = format!(
            "SELECT {} FROM scheduled_reports WHERE organization_id = $1 \
             ORDER BY created_at DESC, id DESC",
            SCHEDULES.select()
        );
        self.rows(&sql, vec![uuid(org.0)], &SCHEDULES.kinds())
            .await?
            .into_iter()
            .map(schedule_from)
            .collect()
    }

    async fn update_schedule(&self, org: OrganizationId, s: &ScheduledReport) -> Result<()> {
        check_org(org, Some(s.organization_id), "scheduled report")?;
        let sql = format!(
            "UPDATE scheduled_reports SET {} WHERE id = $1 AND organization_id = $2",
            SCHEDULES.set_all_but(&["id", "organization_id"])
        );
        match self.db.exec(&sql, schedule_vals(s)?).await? {
            0 => Err(Error::not_found("scheduled report", s.id)),
            _ => Ok(()),
        }
    }

    async fn delete_schedule(&self, org: OrganizationId, id: ScheduledReportId) -> Result<()> {
        // Runs go with it (ON DELETE CASCADE), in the same statement.
        let n = self
            .db
            .exec(
                "DELETE FROM scheduled_reports WHERE id = $1 AND organization_id = $2",
                vec![uuid(id.0), uuid(org.0)],
            )
            .await?;
        match n {
            0 => Err(Error::not_found("scheduled report", id)),
            _ => Ok(()),
        }
    }

    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ScheduledReport>> {
        let sql = format!(
            "SELECT {} FROM scheduled_reports WHERE is_active AND next_run_at <= $1 \
             ORDER BY next_run_at, id LIMIT $2",
            SCHEDULES.select()
        );
        let rows = self
            .rows(&sql, vec![ts(now), limit_val(limit)], &SCHEDULES.kinds())
            .await?;
        Ok(readable(rows, "scheduled report", schedule_from))
    }

    async fn claim_due_runs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ScheduledReport, ClaimOutcome)>> {
        let mut out: Vec<(ScheduledReport, ClaimOutcome)> = Vec::new();
        // Schedules whose row cannot be read: not picked again by this call.
        let mut unreadable = Vec::new();
        // A pick can lose a race: its snapshot predates a claim another
        // worker committed just before. Pick again (with a fresh snapshot)
        // rather than report "nothing due" while schedules are due.
        for _ in 0..8 {
            if out.len() >= limit {
                break;
            }
            let Some(picked) = self
                .db
                .claim_due_locked(worker, now, lease_until, limit - out.len(), &unreadable)
                .await?
            else {
                return claim_due_in_order(self, worker, now, lease_until, limit).await;
            };
            if picked.is_empty() {
                break;
            }
            for (id, org, slot) in picked {
                let (org, id) = (OrganizationId(org), ScheduledReportId(id));
                if out.iter().any(|(s, _)| s.id == id) {
                    continue;
                }
                let schedule = match self.get_schedule(org, id).await {
                    Ok(s) => s,
                    Err(Error::NotFound { .. }) => continue,
                    Err(e) if e.is_retryable() => return Err(e),
                    // One unreadable row never stops the others' runs.
                    Err(e) => {
                        tracing::error!(
                            org = %org,
                            schedule = %id,
                            error = %e,
                            "scheduled report row cannot be read; skipped"
                        );
                        unreadable.push(id.0);
                        continue;
                    }
                };
                // Claimed by the pick already: this renews our own claim
                // and reads the run back, or finds the slot done.
                let attempt = self
                    .claim_run(org, id, slot, worker, now, lease_until)
                    .await;
                if let Some(claim) = due_claim(attempt, now, lease_until)? {
                    out.push((schedule, claim));
                }
            }
        }
        Ok(out)
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
        let sql = claim_run_sql();
        for _ in 0..3 {
            let args = vec![
                uuid(schedule.0),
                uuid(org.0),
                ts(slot),
                text(worker),
                ts(now),
                ts(lease_until),
            ];
            if let Some(row) = self.one(&sql, args, &RUNS.kinds()).await? {
                return Ok(ClaimOutcome::Claimed(run_from(row)?));
            }
            if !self.schedule_exists(org, schedule).await? {
                return Err(Error::not_found("scheduled report", schedule));
            }
            if let Some(run) = self.get_run(org, schedule, slot).await? {
                return Ok(if run.status == RunStatus::Running {
                    ClaimOutcome::Busy(run)
                } else {
                    ClaimOutcome::Done(run)
                });
            }
            // The run vanished between the two statements (its schedule was
            // deleted and re-created): try again.
        }
        Err(Error::backend(
            self.db.name(),
            true,
            "the run of the slot kept changing while it was claimed",
        ))
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
        if outcome.status == RunStatus::Running {
            return Err(Error::invalid(
                "status",
                "a run is finished as success, failed or skipped",
            ));
        }
        let status = enum_text(&outcome.status)?;
        let report = opt_uuid(outcome.report_id.map(|r| r.0));
        let error = opt_text(outcome.error.as_deref());
        let sql = format!(
            "UPDATE schedule_runs SET status = $5, report_id = $6, error = $7, updated_at = $8 \
             WHERE scheduled_report_id = $1 AND slot = $2 AND organization_id = $3 \
               AND status = 'running' AND worker = $4 \
             RETURNING {}",
            RUNS.select()
        );
        let args = vec![
            uuid(schedule.0),
            ts(slot),
            uuid(org.0),
            text(worker),
            status.clone(),
            report.clone(),
            error.clone(),
            ts(now),
        ];
        if let Some(row) = self.one(&sql, args, &RUNS.kinds()).await? {
            return run_from(row);
        }
        if outcome.status == RunStatus::Skipped {
            // A missed slot nobody claimed: record it directly.
            let sql = format!(
                "INSERT INTO schedule_runs ({cols}) \
                 SELECT organization_id, id, $3, $5, $4, $8, 0, $6, $7, $8, $8 \
                 FROM scheduled_reports WHERE id = $1 AND organization_id = $2 \
                 ON CONFLICT (scheduled_report_id, slot) DO NOTHING \
                 RETURNING {cols}",
                cols = RUNS.select()
            );
            let args = vec![
                uuid(schedule.0),
                uuid(org.0),
                ts(slot),
                text(worker),
                status,
                report,
                error,
                ts(now),
            ];
            if let Some(row) = self.one(&sql, args, &RUNS.kinds()).await? {
                return run_from(row);
            }
        }
        if !self.schedule_exists(org, schedule).await? {
            return Err(Error::not_found("scheduled report", schedule));
        }
        match self.get_run(org, schedule, slot).await? {
            None => Err(Error::not_found(
                "schedule run",
                format!("{schedule}@{slot}"),
            )),
            Some(_) => Err(Error::Conflict(format!(
                "run {schedule}@{slot} is no longer held by worker {worker:?}"
            ))),
        }
    }

    async fn list_runs(
        &self,
        org: OrganizationId,
        schedule: ScheduledReportId,
    ) -> Result<Vec<ScheduleRun>> {
        if !self.schedule_exists(org, schedule).await? {
            return Err(Error::not_found("scheduled report", schedule));
        }
        let sql = format!(
            "SELECT {} FROM schedule_runs WHERE scheduled_report_id = $1 AND organization_id = $2 \
             ORDER BY slot DESC",
            RUNS.select()
        );
        self.rows(&sql, vec![uuid(schedule.0), uuid(org.0)], &RUNS.kinds())
            .await?
            .into_iter()
            .map(run_from)
            .collect()
    }
}

// Generated reports -------------------------------------------------------------

const REPORTS: Table = Table {
    name: "generated_reports",
    cols: &[
        ("id", Kind::Uuid),
        ("organization_id", Kind::Uuid),
        ("template_id", Kind::Uuid),
        ("scheduled_report_id", Kind::Uuid),
        ("schedule_slot", Kind::Ts),
        ("name", Kind::Text),
        ("report_type", Kind::Text),
        ("format", Kind::Text),
        ("date_range_start", Kind::Date),
        ("date_range_end", Kind::Date),
        ("comparison_start", Kind::Date),
        ("comparison_end", Kind::Date),
        ("filters", Kind::Json),
        ("status", Kind::Text),
        ("file_size", Kind::I64),
        ("page_count", Kind::I32),
        ("checksum", Kind::Text),
        ("summary_data", Kind::Json),
        ("recipients", Kind::Json),
        ("distribution_status", Kind::Json),
        ("distributed_at", Kind::Ts),
        ("generation_time_ms", Kind::I64),
        ("error_message", Kind::Text),
        ("expires_at", Kind::Ts),
        ("download_count", Kind::I32),
        ("created_by", Kind::Uuid),
        ("created_at", Kind::Ts),
        ("completed_at", Kind::Ts),
        ("file_path", Kind::Text),
        ("download_url", Kind::Text),
        ("download_expires_at", Kind::Ts),
        ("started_at", Kind::Ts),
        ("next_delivery_at", Kind::Ts),
    ],
};

fn report_vals(r: &GeneratedReport) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(r.id.0),
        uuid(r.organization_id.0),
        opt_uuid(r.template_id.map(|t| t.0)),
        opt_uuid(r.scheduled_report_id.map(|s| s.0)),
        opt_ts(r.schedule_slot),
        text(&r.name),
        enum_text(&r.report_type)?,
        enum_text(&r.format)?,
        Val::Date(r.date_range.start),
        Val::Date(r.date_range.end),
        opt_date(r.comparison_range.map(|c| c.start)),
        opt_date(r.comparison_range.map(|c| c.end)),
        json(&r.filters)?,
        enum_text(&r.status)?,
        opt_count64("fileSize", r.file_size)?,
        opt_count32("pageCount", r.page_count)?,
        opt_text(r.checksum.as_deref()),
        opt_json(r.summary_data.as_ref())?,
        json(&r.recipients)?,
        json(&r.distribution_status)?,
        opt_ts(r.distributed_at),
        opt_count64("generationTimeMs", r.generation_time_ms)?,
        opt_text(r.error_message.as_deref()),
        ts(r.expires_at),
        count32("downloadCount", r.download_count)?,
        opt_uuid(r.created_by.map(|u| u.0)),
        ts(r.created_at),
        opt_ts(r.completed_at),
        text(&r.file_path),
        opt_text(r.download_url.as_deref()),
        opt_ts(r.download_expires_at),
        opt_ts(r.started_at),
        opt_ts(r.next_delivery_at),
    ])
}

fn range(start: Option<NaiveDate>, end: Option<NaiveDate>) -> Result<Option<DateRange>> {
    match (start, end) {
        (Some(s), Some(e)) => DateRange::new(s, e)
            .map(Some)
            .map_err(|e| super::values::corrupt(e.to_string())),
        _ => Ok(None),
    }
}

fn report_from(mut r: Row) -> Result<GeneratedReport> {
    Ok(GeneratedReport {
        id: r.uuid()?,
        organization_id: r.uuid()?,
        template_id: r.opt_uuid()?,
        scheduled_report_id: r.opt_uuid()?,
        schedule_slot: r.opt_ts()?,
        name: r.text()?,
        report_type: r.enum_()?,
        format: r.enum_()?,
        date_range: {
            let (s, e) = (r.date()?, r.date()?);
            range(Some(s), Some(e))?.ok_or_else(|| super::values::corrupt("date range"))?
        },
        comparison_range: {
            let (s, e) = (r.opt_date()?, r.opt_date()?);
            range(s, e)?
        },
        filters: r.json()?,
        status: r.enum_()?,
        file_size: r.opt_u64()?,
        page_count: r.opt_u32()?,
        checksum: r.opt_text()?,
        summary_data: r.opt_json()?,
        recipients: r.json()?,
        distribution_status: r.json()?,
        distributed_at: r.opt_ts()?,
        generation_time_ms: r.opt_u64()?,
        error_message: r.opt_text()?,
        expires_at: r.ts()?,
        download_count: r.u32()?,
        created_by: r.opt_uuid()?,
        created_at: r.ts()?,
        completed_at: r.opt_ts()?,
        file_path: r.text()?,
        download_url: r.opt_text()?,
        download_expires_at: r.opt_ts()?,
        started_at: r.opt_ts()?,
        next_delivery_at: r.opt_ts()?,
    })
}

/// The rows of a cross-organization job query that can be read: a row
/// that cannot (a value written by hand or by a newer version) is left out
/// with an error event naming it, so one organization's bad row never stops
/// the job for every other. The first two columns are the id and the
/// organization id.
fn readable<T>(rows: Vec<Row>, what: &'static str, decode: fn(Row) -> Result<T>) -> Vec<T> {
    rows.into_iter()
        .filter_map(|row| {
            let mut probe = row.clone();
            match decode(row) {
                Ok(v) => Some(v),
                Err(e) => {
                    let id: Option<uuid::Uuid> = probe.uuid().ok();
                    let org: Option<uuid::Uuid> = probe.uuid().ok();
                    tracing::error!(
                        entity = what,
                        id = ?id,
                        org = ?org,
                        error = %e,
                        "row cannot be read; skipped by the job"
                    );
                    None
                }
            }
        })
        .collect()
}

const PUT_ARTIFACT: &str = "INSERT INTO report_artifacts \
    (report_id, organization_id, file_name, media_type, bytes, storage_path, byte_size) \
    SELECT id, organization_id, $3, $4, $5, NULL, $6 FROM generated_reports \
    WHERE id = $1 AND organization_id = $2 \
    ON CONFLICT (report_id) DO UPDATE SET file_name = excluded.file_name, \
    media_type = excluded.media_type, bytes = excluded.bytes, \
    storage_path = NULL, byte_size = excluded.byte_size";

const DELETE_ARTIFACT: &str =
    "DELETE FROM report_artifacts WHERE report_id = $1 AND organization_id = $2";

fn artifact_vals(org: OrganizationId, id: ReportId, a: &Artifact) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(id.0),
        uuid(org.0),
        text(&a.file_name),
        text(&a.media_type),
        Val::Bytes(a.bytes.clone()),
        count64("bytes", a.bytes.len() as u64)?,
    ])
}

fn delivery_claim_from(
    row: &mut Row,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> Result<DeliveryClaim> {
    Ok(DeliveryClaim {
        organization_id: row.uuid()?,
        report_id: row.uuid()?,
        worker: worker.to_owned(),
        token: row.u32()?,
        lease_until,
    })
}

impl<D: Db> SqlStore<D> {
    /// Replace every column of a report but its identity, schedule and
    /// slot (binds: the report's values, as `report_vals`).
    fn update_report_sql(&self) -> String {
        let eq = self.dialect().null_safe_eq();
        format!(
            "UPDATE generated_reports SET {} WHERE id = $1 AND organization_id = $2 \
             AND scheduled_report_id {eq} $4 AND schedule_slot {eq} $5",
            REPORTS.set_all_but(&[
                "id",
                "organization_id",
                "scheduled_report_id",
                "schedule_slot"
            ])
        )
    }

    /// Why a report update changed no row: the report is missing, or the
    /// update tried to move it to another schedule or slot.
    async fn update_refused(&self, org: OrganizationId, id: ReportId) -> Error {
        match self.report_exists(org, id).await {
            Ok(true) => Error::invalid(
                "scheduleSlot",
                "the schedule and slot of a report cannot change",
            ),
            Ok(false) => Error::not_found("report", id),
            Err(e) => e,
        }
    }

    async fn report_exists(&self, org: OrganizationId, id: ReportId) -> Result<bool> {
        self.exists(
            "SELECT 1 FROM generated_reports WHERE id = $1 AND organization_id = $2",
            vec![uuid(id.0), uuid(org.0)],
        )
        .await
    }
}

#[async_trait]
impl<D: Db> GeneratedReportStore for SqlStore<D> {
    async fn create_report(&self, org: OrganizationId, r: &GeneratedReport) -> Result<()> {
        check_org(org, Some(r.organization_id), "report")?;
        // The schedule, when given, must be this organization's.
        let sql = REPORTS.insert_where(
            "$4 IS NULL OR EXISTS (SELECT 1 FROM scheduled_reports \
             WHERE id = $4 AND organization_id = $2)",
        );
        match self.db.exec(&sql, report_vals(r)?).await? {
            0 => Err(Error::not_found(
                "scheduled report",
                r.scheduled_report_id
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            )),
            _ => Ok(()),
        }
    }

    async fn get_report(&self, org: OrganizationId, id: ReportId) -> Result<GeneratedReport> {
        let sql = format!(
            "SELECT {} FROM generated_reports WHERE id = $1 AND organization_id = $2",
            REPORTS.select()
        );
        self.one(&sql, vec![uuid(id.0), uuid(org.0)], &REPORTS.kinds())
            .await?
            .map(report_from)
            .transpose()?
            .ok_or_else(|| Error::not_found("report", id))
    }

    async fn update_report(&self, org: OrganizationId, r: &GeneratedReport) -> Result<()> {
        check_org(org, Some(r.organization_id), "report")?;
        if self
            .db
            .exec(&self.update_report_sql(), report_vals(r)?)
            .await?
            > 0
        {
            return Ok(());
        }
        Err(self.update_refused(org, r.id).await)
    }

    async fn list_reports(&self, org: OrganizationId, q: &ReportListQuery) -> Result<ReportPage> {
        if q.limit == 0 || q.limit > 1000 {
            return Err(Error::invalid("limit", "must be between 1 and 1000"));
        }
        let mut sql = format!(
            "SELECT {} FROM generated_reports WHERE organization_id = $1",
            REPORTS.select()
        );
        let mut args = vec![uuid(org.0)];
        if let Some(s) = q.scheduled_report_id {
            args.push(uuid(s.0));
            sql.push_str(&format!(" AND scheduled_report_id = ${}", args.len()));
        }
        if let Some(st) = q.status {
            args.push(enum_text(&st)?);
            sql.push_str(&format!(" AND status = ${}", args.len()));
        }
        if let Some(c) = q.cursor {
            args.push(ts(c.created_at));
            let t = args.len();
            args.push(uuid(c.id.0));
            let i = args.len();
            sql.push_str(&format!(
                " AND (created_at < ${t} OR (created_at = ${t} AND id < ${i}))"
            ));
        }
        args.push(limit_val(q.limit + 1));
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${}",
            args.len()
        ));
        let mut reports = self
            .rows(&sql, args, &REPORTS.kinds())
            .await?
            .into_iter()
            .map(report_from)
            .collect::<Result<Vec<_>>>()?;
        let more = reports.len() > q.limit;
        reports.truncate(q.limit);
        let next_cursor = if more {
            reports.last().map(|r| ReportCursor {
                created_at: r.created_at,
                id: r.id,
            })
        } else {
            None
        };
        Ok(ReportPage {
            reports,
            next_cursor,
        })
    }

    async fn delete_report(&self, org: OrganizationId, id: ReportId) -> Result<()> {
        // The artifact goes with it (ON DELETE CASCADE).
        let n = self
            .db
            .exec(
                "DELETE FROM generated_reports WHERE id = $1 AND organization_id = $2",
                vec![uuid(id.0), uuid(org.0)],
            )
            .await?;
        match n {
            0 => Err(Error::not_found("report", id)),
            _ => Ok(()),
        }
    }

    async fn put_artifact(&self, org: OrganizationId, id: ReportId, a: &Artifact) -> Result<()> {
        let n = self
            .db
            .exec(PUT_ARTIFACT, artifact_vals(org, id, a)?)
            .await?;
        match n {
            0 => Err(Error::not_found("report", id)),
            _ => Ok(()),
        }
    }

    async fn get_artifact(&self, org: OrganizationId, id: ReportId) -> Result<Artifact> {
        let row = self
            .one(
                "SELECT r.id, a.file_name, a.media_type, a.bytes, a.storage_path \
                 FROM generated_reports r LEFT JOIN report_artifacts a ON a.report_id = r.id \
                 WHERE r.id = $1 AND r.organization_id = $2",
                vec![uuid(id.0), uuid(org.0)],
                &[Kind::Uuid, Kind::Text, Kind::Text, Kind::Bytes, Kind::Text],
            )
            .await?;
        let Some(mut row) = row else {
            return Err(Error::not_found("report", id));
        };
        let _: ReportId = row.uuid()?;
        let (Some(file_name), Some(media_type)) = (row.opt_text()?, row.opt_text()?) else {
            return Err(Error::not_found("report artifact", id));
        };
        match (row.opt_bytes()?, row.opt_text()?) {
            (Some(bytes), _) => Ok(Artifact {
                file_name,
                media_type,
                bytes,
            }),
            (None, Some(path)) => Err(Error::Unsupported(format!(
                "the artifact of report {id} is kept at {path:?} in the host's storage; \
                 resolve it there"
            ))),
            (None, None) => Err(Error::not_found("report artifact", id)),
        }
    }

    async fn delete_artifact(&self, org: OrganizationId, id: ReportId) -> Result<()> {
        let n = self
            .db
            .exec(DELETE_ARTIFACT, vec![uuid(id.0), uuid(org.0)])
            .await?;
        if n > 0 || self.report_exists(org, id).await? {
            Ok(())
        } else {
            Err(Error::not_found("report", id))
        }
    }

    async fn increment_download_count(&self, org: OrganizationId, id: ReportId) -> Result<u32> {
        let row = self
            .one(
                "UPDATE generated_reports SET download_count = download_count + 1 \
                 WHERE id = $1 AND organization_id = $2 RETURNING download_count",
                vec![uuid(id.0), uuid(org.0)],
                &[Kind::I32],
            )
            .await?;
        match row {
            Some(mut r) => r.u32(),
            None => Err(Error::not_found("report", id)),
        }
    }

    async fn set_distribution_status(
        &self,
        org: OrganizationId,
        id: ReportId,
        status: &DistributionStatus,
    ) -> Result<()> {
        // Compare-and-set on the whole list: concurrent updates of different
        // recipients retry instead of overwriting each other.
        for _ in 0..64 {
            let row = self
                .one(
                    "SELECT distribution_status FROM generated_reports \
                     WHERE id = $1 AND organization_id = $2",
                    vec![uuid(id.0), uuid(org.0)],
                    &[Kind::Json],
                )
                .await?;
            let Some(mut row) = row else {
                return Err(Error::not_found("report", id));
            };
            let old: serde_json::Value = row.json()?;
            let mut list: Vec<DistributionStatus> = serde_json::from_value(old.clone())
                .map_err(|e| super::values::corrupt(e.to_string()))?;
            match list.iter_mut().find(|d| d.recipient == status.recipient) {
                // Sent stays sent.
                Some(d) if d.status == crate::model::DeliveryState::Sent => return Ok(()),
                Some(d) => *d = status.clone(),
                None => list.push(status.clone()),
            }
            let n = self
                .db
                .exec(
                    "UPDATE generated_reports SET distribution_status = $3 \
                     WHERE id = $1 AND organization_id = $2 AND distribution_status = $4",
                    vec![uuid(id.0), uuid(org.0), json(&list)?, Val::Json(old)],
                )
                .await?;
            if n > 0 {
                return Ok(());
            }
        }
        Err(Error::backend(
            self.db.name(),
            true,
            "the distribution status kept changing while it was written",
        ))
    }

    async fn save_report(
        &self,
        org: OrganizationId,
        r: &GeneratedReport,
        artifact: ArtifactChange<'_>,
        fence: Option<&RunFence>,
    ) -> Result<()> {
        check_org(org, Some(r.organization_id), "report")?;
        let mut stmts = Vec::new();
        if let Some(f) = fence {
            if r.scheduled_report_id != Some(f.schedule) || r.schedule_slot != Some(f.slot) {
                return Err(f.lost());
            }
            // Locks the run row for the transaction: a concurrent takeover
            // waits for it, or has already happened and nothing matches.
            stmts.push((
                "UPDATE schedule_runs SET updated_at = updated_at \
                 WHERE organization_id = $1 AND scheduled_report_id = $2 AND slot = $3 \
                 AND status = 'running' AND worker = $4 AND attempts = $5"
                    .to_owned(),
                vec![
                    uuid(org.0),
                    uuid(f.schedule.0),
                    ts(f.slot),
                    text(&f.worker),
                    count32("attempts", f.token)?,
                ],
                true,
            ));
        }
        let update = stmts.len();
        stmts.push((self.update_report_sql(), report_vals(r)?, true));
        match artifact {
            ArtifactChange::Keep => {}
            ArtifactChange::Put(a) => {
                stmts.push((PUT_ARTIFACT.to_owned(), artifact_vals(org, r.id, a)?, true));
            }
            ArtifactChange::Delete => stmts.push((
                DELETE_ARTIFACT.to_owned(),
                vec![uuid(r.id.0), uuid(org.0)],
                false,
            )),
        }
        match self.db.exec_all_or_none(stmts).await? {
            None => Ok(()),
            Some(i) if i < update => Err(fence.map_or_else(
                || Error::Conflict("the run fence no longer holds".into()),
                RunFence::lost,
            )),
            Some(_) => Err(self.update_refused(org, r.id).await),
        }
    }

    async fn claim_delivery(
        &self,
        org: OrganizationId,
        id: ReportId,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<DeliveryClaim>> {
        let row = self
            .one(
                "UPDATE generated_reports SET delivery_worker = $3, \
                 delivery_token = delivery_token + 1, delivery_lease_until = $5 \
                 WHERE id = $1 AND organization_id = $2 \
                 AND (delivery_lease_until IS NULL OR delivery_lease_until <= $4) \
                 RETURNING organization_id, id, delivery_token",
                vec![
                    uuid(id.0),
                    uuid(org.0),
                    text(worker),
                    ts(now),
                    ts(lease_until),
                ],
                &[Kind::Uuid, Kind::Uuid, Kind::I32],
            )
            .await?;
        match row {
            Some(mut row) => delivery_claim_from(&mut row, worker, lease_until).map(Some),
            None if self.report_exists(org, id).await? => Ok(None),
            None => Err(Error::not_found("report", id)),
        }
    }

    async fn claim_due_deliveries(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DeliveryClaim>> {
        let lock = match self.dialect() {
            // Concurrent workers skip each other's picks instead of waiting.
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            // SQLite runs one writer at a time.
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE generated_reports SET delivery_worker = $1, \
             delivery_token = delivery_token + 1, delivery_lease_until = $3 \
             WHERE id IN (SELECT id FROM generated_reports \
                 WHERE status = 'completed' AND next_delivery_at <= $2 \
                 AND (delivery_lease_until IS NULL OR delivery_lease_until <= $2) \
                 ORDER BY next_delivery_at, id LIMIT $4{lock}) \
             AND (delivery_lease_until IS NULL OR delivery_lease_until <= $2) \
             RETURNING organization_id, id, delivery_token, next_delivery_at"
        );
        let mut claims = self
            .rows(
                &sql,
                vec![text(worker), ts(now), ts(lease_until), limit_val(limit)],
                &[Kind::Uuid, Kind::Uuid, Kind::I32, Kind::Ts],
            )
            .await?
            .into_iter()
            .map(|mut row| {
                let claim = delivery_claim_from(&mut row, worker, lease_until)?;
                Ok((row.opt_ts()?, claim))
            })
            .collect::<Result<Vec<_>>>()?;
        // RETURNING keeps no order: earliest due first, as the port says.
        claims.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.report_id.cmp(&y.report_id)));
        Ok(claims.into_iter().map(|(_, c)| c).collect())
    }

    async fn release_delivery(
        &self,
        claim: &DeliveryClaim,
        next_delivery_at: Option<DateTime<Utc>>,
        distributed_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let (org, id) = (claim.organization_id, claim.report_id);
        let n = self
            .db
            .exec(
                "UPDATE generated_reports SET next_delivery_at = $5, \
                 distributed_at = COALESCE($6, distributed_at), delivery_lease_until = NULL \
                 WHERE id = $1 AND organization_id = $2 AND delivery_worker = $3 \
                 AND delivery_token = $4 AND delivery_lease_until IS NOT NULL",
                vec![
                    uuid(id.0),
                    uuid(org.0),
                    text(&claim.worker),
                    count32("deliveryToken", claim.token)?,
                    opt_ts(next_delivery_at),
                    opt_ts(distributed_at),
                ],
            )
            .await?;
        match n {
            0 if self.report_exists(org, id).await? => Ok(false),
            0 => Err(Error::not_found("report", id)),
            _ => Ok(true),
        }
    }

    async fn expired_reports(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(OrganizationId, ReportId)>> {
        self.rows(
            "SELECT organization_id, id FROM generated_reports \
             WHERE expires_at <= $1 AND status <> 'expired' ORDER BY expires_at, id LIMIT $2",
            vec![ts(now), limit_val(limit)],
            &[Kind::Uuid, Kind::Uuid],
        )
        .await?
        .into_iter()
        .map(|mut r| Ok((r.uuid()?, r.uuid()?)))
        .collect()
    }

    async fn stuck_reports(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(OrganizationId, ReportId)>> {
        self.rows(
            "SELECT organization_id, id FROM generated_reports \
             WHERE status IN ('pending', 'generating') AND COALESCE(started_at, created_at) < $1 \
             ORDER BY COALESCE(started_at, created_at), id LIMIT $2",
            vec![ts(before), limit_val(limit)],
            &[Kind::Uuid, Kind::Uuid],
        )
        .await?
        .into_iter()
        .map(|mut r| Ok((r.uuid()?, r.uuid()?)))
        .collect()
    }

    async fn fail_stuck_report(
        &self,
        org: OrganizationId,
        id: ReportId,
        before: DateTime<Utc>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .db
            .exec(
                "UPDATE generated_reports SET status = 'failed', error_message = $3, completed_at = $4 \
                 WHERE id = $1 AND organization_id = $2 AND status IN ('pending', 'generating') \
                 AND COALESCE(started_at, created_at) < $5",
                vec![uuid(id.0), uuid(org.0), text(message), ts(now), ts(before)],
            )
            .await?;
        if n > 0 {
            return Ok(true);
        }
        if self.report_exists(org, id).await? {
            Ok(false)
        } else {
            Err(Error::not_found("report", id))
        }
    }
}

// Digests -------------------------------------------------------------------------

const DIGESTS: Table = Table {
    name: "email_digest_preferences",
    cols: &[
        ("id", Kind::Uuid),
        ("organization_id", Kind::Uuid),
        ("user_id", Kind::Uuid),
        ("email", Kind::Text),
        ("frequency", Kind::Text),
        ("digest_time", Kind::Text),
        ("timezone", Kind::Text),
        ("day_of_week", Kind::I32),
        ("include_summary", Kind::Bool),
        ("include_anomalies", Kind::Bool),
        ("include_recommendations", Kind::Bool),
        ("include_forecast", Kind::Bool),
        ("include_team_breakdown", Kind::Bool),
        ("team_filter", Kind::Json),
        ("project_filter", Kind::Json),
        ("is_active", Kind::Bool),
        ("last_sent_at", Kind::Ts),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};

fn digest_vals(p: &EmailDigestPreferences) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(p.id.0),
        uuid(p.organization_id.0),
        uuid(p.user_id.0),
        opt_text(p.email.as_deref()),
        enum_text(&p.frequency)?,
        enum_text(&p.digest_time)?,
        enum_text(&p.timezone)?,
        Val::I32(i32::from(p.day_of_week)),
        Val::Bool(p.include_summary),
        Val::Bool(p.include_anomalies),
        Val::Bool(p.include_recommendations),
        Val::Bool(p.include_forecast),
        Val::Bool(p.include_team_breakdown),
        json(&p.team_filter)?,
        json(&p.project_filter)?,
        Val::Bool(p.is_active),
        opt_ts(p.last_sent_at),
        ts(p.created_at),
        ts(p.updated_at),
    ])
}

fn digest_from(mut r: Row) -> Result<EmailDigestPreferences> {
    Ok(EmailDigestPreferences {
        id: r.uuid()?,
        organization_id: r.uuid()?,
        user_id: r.uuid()?,
        email: r.opt_text()?,
        frequency: r.enum_()?,
        digest_time: r.enum_()?,
        timezone: r.enum_()?,
        day_of_week: r.u8()?,
        include_summary: r.bool()?,
        include_anomalies: r.bool()?,
        include_recommendations: r.bool()?,
        include_forecast: r.bool()?,
        include_team_breakdown: r.bool()?,
        team_filter: r.json()?,
        project_filter: r.json()?,
        is_active: r.bool()?,
        last_sent_at: r.opt_ts()?,
        created_at: r.ts()?,
        updated_at: r.ts()?,
    })
}

impl<D: Db> SqlStore<D> {
    async fn digest_exists(&self, org: OrganizationId, user: UserId) -> Result<bool> {
        self.exists(
            "SELECT 1 FROM email_digest_preferences WHERE organization_id = $1 AND user_id = $2",
            vec![uuid(org.0), uuid(user.0)],
        )
        .await
    }
}

#[async_trait]
impl<D: Db> DigestStore for SqlStore<D> {
    async fn get_digest_preferences(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<EmailDigestPreferences> {
        let sql = format!(
            "SELECT {} FROM email_digest_preferences WHERE organization_id = $1 AND user_id = $2",
            DIGESTS.select()
        );
        self.one(&sql, vec![uuid(org.0), uuid(user.0)], &DIGESTS.kinds())
            .await?
            .map(digest_from)
            .transpose()?
            .ok_or_else(|| Error::not_found("digest preferences of user", user))
    }

    async fn upsert_digest_preferences(
        &self,
        org: OrganizationId,
        p: &EmailDigestPreferences,
    ) -> Result<()> {
        check_org(org, Some(p.organization_id), "digest preferences")?;
        let set = DIGESTS
            .cols
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !["id", "organization_id", "user_id", "created_at"].contains(c))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "{} ON CONFLICT (organization_id, user_id) DO UPDATE SET {set}",
            DIGESTS.insert()
        );
        self.db.exec(&sql, digest_vals(p)?).await?;
        Ok(())
    }

    async fn delete_digest_preferences(&self, org: OrganizationId, user: UserId) -> Result<()> {
        let n = self
            .db
            .exec(
                "DELETE FROM email_digest_preferences WHERE organization_id = $1 AND user_id = $2",
                vec![uuid(org.0), uuid(user.0)],
            )
            .await?;
        match n {
            0 => Err(Error::not_found("digest preferences of user", user)),
            _ => Ok(()),
        }
    }

    async fn digest_candidates(&self) -> Result<Vec<EmailDigestPreferences>> {
        let sql = format!(
            "SELECT {} FROM email_digest_preferences WHERE is_active AND frequency <> 'none' \
             ORDER BY organization_id, user_id",
            DIGESTS.select()
        );
        let rows = self.rows(&sql, vec![], &DIGESTS.kinds()).await?;
        Ok(readable(rows, "digest preferences", digest_from))
    }

    async fn mark_digest_sent(
        &self,
        org: OrganizationId,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        slot: DateTime<Utc>,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE email_digest_preferences SET last_sent_at = $4 \
             WHERE organization_id = $1 AND user_id = $2 AND last_sent_at {} $3",
            self.dialect().null_safe_eq()
        );
        let n = self
            .db
            .exec(
                &sql,
                vec![uuid(org.0), uuid(user.0), opt_ts(expected), ts(slot)],
            )
            .await?;
        if n > 0 {
            Ok(true)
        } else if self.digest_exists(org, user).await? {
            Ok(false)
        } else {
            Err(Error::not_found("digest preferences of user", user))
        }
    }
}

// Chargeback ---------------------------------------------------------------------

const CONFIGS: Table = Table {
    name: "chargeback_configurations",
    cols: &[
        ("id", Kind::Uuid),
        ("organization_id", Kind::Uuid),
        ("name", Kind::Text),
        ("description", Kind::Text),
        ("allocation_basis", Kind::Text),
        ("custom_tag_key", Kind::Text),
        ("allocation_rules", Kind::Json),
        ("report_frequency", Kind::Text),
        ("include_breakdown_by", Kind::Json),
        ("currency", Kind::Text),
        ("requires_approval", Kind::Bool),
        ("approvers", Kind::Json),
        ("auto_distribute", Kind::Bool),
        ("distribution_list", Kind::Json),
        ("is_active", Kind::Bool),
        ("created_by", Kind::Uuid),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};

fn config_vals(c: &ChargebackConfiguration) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(c.id.0),
        uuid(c.organization_id.0),
        text(&c.name),
        opt_text(c.description.as_deref()),
        enum_text(&c.allocation_basis)?,
        opt_text(c.custom_tag_key.as_deref()),
        json(&c.allocation_rules)?,
        enum_text(&c.report_frequency)?,
        json(&c.include_breakdown_by)?,
        enum_text(&c.currency)?,
        Val::Bool(c.requires_approval),
        json(&c.approvers)?,
        Val::Bool(c.auto_distribute),
        json(&c.distribution_list)?,
        Val::Bool(c.is_active),
        opt_uuid(c.created_by.map(|u| u.0)),
        ts(c.created_at),
        ts(c.updated_at),
    ])
}

fn config_from(mut r: Row) -> Result<ChargebackConfiguration> {
    Ok(ChargebackConfiguration {
        id: r.uuid()?,
        organization_id: r.uuid()?,
        name: r.text()?,
        description: r.opt_text()?,
        allocation_basis: r.enum_()?,
        custom_tag_key: r.opt_text()?,
        allocation_rules: r.json()?,
        report_frequency: r.enum_()?,
        include_breakdown_by: r.json()?,
        currency: r.enum_()?,
        requires_approval: r.bool()?,
        approvers: r.json()?,
        auto_distribute: r.bool()?,
        distribution_list: r.json::<crate::model::DistributionListJson>()?.0,
        is_active: r.bool()?,
        created_by: r.opt_uuid()?,
        created_at: r.ts()?,
        updated_at: r.ts()?,
    })
}

const RECORDS: Table = Table {
    name: "chargeback_records",
    cols: &[
        ("id", Kind::Uuid),
        ("organization_id", Kind::Uuid),
        ("configuration_id", Kind::Uuid),
        ("period_start", Kind::Date),
        ("period_end", Kind::Date),
        ("allocations", Kind::Json),
        ("total_cost", Kind::Dec),
        ("allocated_cost", Kind::Dec),
        ("unallocated_cost", Kind::Dec),
        ("currency", Kind::Text),
        ("status", Kind::Text),
        ("approved_by", Kind::Uuid),
        ("approved_at", Kind::Ts),
        ("rejected_by", Kind::Uuid),
        ("rejection_reason", Kind::Text),
        ("report_id", Kind::Uuid),
        ("created_at", Kind::Ts),
        ("updated_at", Kind::Ts),
    ],
};

fn record_vals(r: &ChargebackRecord) -> Result<Vec<Val>> {
    Ok(vec![
        uuid(r.id.0),
        uuid(r.organization_id.0),
        uuid(r.configuration_id.0),
        Val::Date(r.period_start),
        Val::Date(r.period_end),
        json(&r.allocation.allocations)?,
        Val::Dec(r.allocation.total_cost),
        Val::Dec(r.allocation.allocated_cost),
        Val::Dec(r.allocation.unallocated_cost),
        enum_text(&r.allocation.currency)?,
        enum_text(&r.status)?,
        opt_uuid(r.approved_by.map(|u| u.0)),
        opt_ts(r.approved_at),
        opt_uuid(r.rejected_by.map(|u| u.0)),
        opt_text(r.rejection_reason.as_deref()),
        opt_uuid(r.report_id.map(|u| u.0)),
        ts(r.created_at),
        ts(r.updated_at),
    ])
}

fn record_from(mut r: Row) -> Result<ChargebackRecord> {
    Ok(ChargebackRecord {
        id: r.uuid()?,
        organization_id: r.uuid()?,
        configuration_id: r.uuid()?,
        period_start: r.date()?,
        period_end: r.date()?,
        allocation: Allocation {
            allocations: r.json()?,
            total_cost: r.dec()?,
            allocated_cost: r.dec()?,
            unallocated_cost: r.dec()?,
            currency: r.enum_()?,
        },
        status: r.enum_()?,
        approved_by: r.opt_uuid()?,
        approved_at: r.opt_ts()?,
        rejected_by: r.opt_uuid()?,
        rejection_reason: r.opt_text()?,
        report_id: r.opt_uuid()?,
        created_at: r.ts()?,
        updated_at: r.ts()?,
    })
}

#[async_trait]
impl<D: Db> ChargebackStore for SqlStore<D> {
    async fn create_chargeback_config(
        &self,
        org: OrganizationId,
        c: &ChargebackConfiguration,
    ) -> Result<()> {
        check_org(org, Some(c.organization_id), "chargeback configuration")?;
        self.db.exec(&CONFIGS.insert(), config_vals(c)?).await?;
        Ok(())
    }

    async fn get_chargeback_config(
        &self,
        org: OrganizationId,
        id: ChargebackConfigId,
    ) -> Result<ChargebackConfiguration> {
        let sql = format!(
            "SELECT {} FROM chargeback_configurations WHERE id = $1 AND organization_id = $2",
            CONFIGS.select()
        );
        self.one(&sql, vec![uuid(id.0), uuid(org.0)], &CONFIGS.kinds())
            .await?
            .map(config_from)
            .transpose()?
            .ok_or_else(|| Error::not_found("chargeback configuration", id))
    }

    async fn list_chargeback_configs(
        &self,
        org: OrganizationId,
    ) -> Result<Vec<ChargebackConfiguration>> {
        let sql = format!(
            "SELECT {} FROM chargeback_configurations WHERE organization_id = $1 ORDER BY {}, id",
            CONFIGS.select(),
            self.order_text("name")
        );
        self.rows(&sql, vec![uuid(org.0)], &CONFIGS.kinds())
            .await?
            .into_iter()
            .map(config_from)
            .collect()
    }

    async fn update_chargeback_config(
        &self,
        org: OrganizationId,
        c: &ChargebackConfiguration,
    ) -> Result<()> {
        check_org(org, Some(c.organization_id), "chargeback configuration")?;
        let sql = format!(
            "UPDATE chargeback_configurations SET {} WHERE id = $1 AND organization_id = $2",
            CONFIGS.set_all_but(&["id", "organization_id"])
        );
        match self.db.exec(&sql, config_vals(c)?).await? {
            0 => Err(Error::not_found("chargeback configuration", c.id)),
            _ => Ok(()),
        }
    }

    async fn delete_chargeback_config(
        &self,
        org: OrganizationId,
        id: ChargebackConfigId,
    ) -> Result<()> {
        // The foreign key (ON DELETE RESTRICT) refuses it too if a record
        // arrives between the check and the delete.
        let n = self
            .db
            .exec(
                "DELETE FROM chargeback_configurations WHERE id = $1 AND organization_id = $2 \
                 AND NOT EXISTS (SELECT 1 FROM chargeback_records WHERE configuration_id = $1)",
                vec![uuid(id.0), uuid(org.0)],
            )
            .await?;
        if n > 0 {
            return Ok(());
        }
        let exists = self
            .exists(
                "SELECT 1 FROM chargeback_configurations WHERE id = $1 AND organization_id = $2",
                vec![uuid(id.0), uuid(org.0)],
            )
            .await?;
        if exists {
            Err(Error::Conflict(format!(
                "chargeback configuration {id} has records; deactivate it instead"
            )))
        } else {
            Err(Error::not_found("chargeback configuration", id))
        }
    }

    async fn active_chargeback_configurations(&self) -> Result<Vec<ChargebackConfiguration>> {
        let sql = format!(
            "SELECT {} FROM chargeback_configurations WHERE is_active \
             ORDER BY organization_id, {}, id",
            CONFIGS.select(),
            self.order_text("name")
        );
        let rows = self.rows(&sql, vec![], &CONFIGS.kinds()).await?;
        Ok(readable(rows, "chargeback configuration", config_from))
    }

    async fn create_chargeback_record(
        &self,
        org: OrganizationId,
        r: &ChargebackRecord,
    ) -> Result<()> {
        check_org(org, Some(r.organization_id), "chargeback record")?;
        let sql = RECORDS.insert_where(
            "EXISTS (SELECT 1 FROM chargeback_configurations WHERE id = $3 AND organization_id = $2)",
        );
        match self.db.exec(&sql, record_vals(r)?).await? {
            0 => Err(Error::not_found(
                "chargeback configuration",
                r.configuration_id,
            )),
            _ => Ok(()),
        }
    }

    async fn get_chargeback_record(
        &self,
        org: OrganizationId,
        id: ChargebackRecordId,
    ) -> Result<ChargebackRecord> {
        let sql = format!(
            "SELECT {} FROM chargeback_records WHERE id = $1 AND organization_id = $2",
            RECORDS.select()
        );
        self.one(&sql, vec![uuid(id.0), uuid(org.0)], &RECORDS.kinds())
            .await?
            .map(record_from)
            .transpose()?
            .ok_or_else(|| Error::not_found("chargeback record", id))
    }

    async fn find_chargeback_record(
        &self,
        org: OrganizationId,
        config: ChargebackConfigId,
        period_start: NaiveDate,
        period_end: NaiveDate,
    ) -> Result<Option<ChargebackRecord>> {
        let sql = format!(
            "SELECT {} FROM chargeback_records WHERE organization_id = $1 \
             AND configuration_id = $2 AND period_start = $3 AND period_end = $4",
            RECORDS.select()
        );
        self.one(
            &sql,
            vec![
                uuid(org.0),
                uuid(config.0),
                Val::Date(period_start),
                Val::Date(period_end),
            ],
            &RECORDS.kinds(),
        )
        .await?
        .map(record_from)
        .transpose()
    }

    async fn list_chargeback_records(
        &self,
        org: OrganizationId,
        config: Option<ChargebackConfigId>,
    ) -> Result<Vec<ChargebackRecord>> {
        let mut sql = format!(
            "SELECT {} FROM chargeback_records WHERE organization_id = $1",
            RECORDS.select()
        );
        let mut args = vec![uuid(org.0)];
        if let Some(c) = config {
            args.push(uuid(c.0));
            sql.push_str(" AND configuration_id = $2");
        }
        sql.push_str(" ORDER BY period_start DESC, created_at DESC, id DESC");
        self.rows(&sql, args, &RECORDS.kinds())
            .await?
            .into_iter()
            .map(record_from)
            .collect()
    }

    async fn update_chargeback_record(
        &self,
        org: OrganizationId,
        r: &ChargebackRecord,
        expected: ChargebackStatus,
    ) -> Result<()> {
        check_org(org, Some(r.organization_id), "chargeback record")?;
        let mut args = record_vals(r)?;
        args.push(enum_text(&expected)?);
        let sql = format!(
            "UPDATE chargeback_records SET {} WHERE id = $1 AND organization_id = $2 \
             AND configuration_id = $3 AND period_start = $4 AND period_end = $5 AND status = ${}",
            RECORDS.set_all_but(&[
                "id",
                "organization_id",
                "configuration_id",
                "period_start",
                "period_end"
            ]),
            args.len()
        );
        if self.db.exec(&sql, args).await? > 0 {
            return Ok(());
        }
        let current = self
            .one(
                "SELECT status, configuration_id, period_start, period_end FROM chargeback_records \
                 WHERE id = $1 AND organization_id = $2",
                vec![uuid(r.id.0), uuid(org.0)],
                &[Kind::Text, Kind::Uuid, Kind::Date, Kind::Date],
            )
            .await?;
        let Some(mut cur) = current else {
            return Err(Error::not_found("chargeback record", r.id));
        };
        let status: ChargebackStatus = cur.enum_()?;
        let config: ChargebackConfigId = cur.uuid()?;
        let (start, end) = (cur.date()?, cur.date()?);
        if status != expected {
            return Err(Error::Conflict(format!(
                "chargeback record {} is {:?}, not {:?}",
                r.id, status, expected
            )));
        }
        if config != r.configuration_id || start != r.period_start || end != r.period_end {
            return Err(Error::invalid(
                "periodStart",
                "the configuration and period of a record cannot change",
            ));
        }
        Err(Error::Conflict(format!(
            "chargeback record {} changed meanwhile",
            r.id
        )))
    }
}
