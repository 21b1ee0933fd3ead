//! Chargeback records: generating one per (organization, configuration,
//! period) from the [`CostSource`](crate::ports::CostSource), the approval
//! workflow, and the periodic job that produces last period's records.
//!
//! ## Life of a record
//!
//! ```text
//!   generate ──> draft ──> pending_approval ──> approved   (final)
//!                  │              └───────────> rejected   (final, with a reason)
//!                  └─────────────────────────> approved    (when approval is not required)
//! ```
//!
//! A record is created as `draft` and submitted at once: to
//! `pending_approval` when the configuration `requiresApproval`, else to
//! `approved` (with `approvedAt` set and no `approvedBy`: nobody had to
//! approve). Only a user listed in the configuration's `approvers` may
//! approve or reject, and only a `pending_approval` record. Every status
//! change goes through the store's compare-and-set, so two approvers acting
//! at once never both succeed.
//!
//! A record that stays `draft` (the submission was interrupted) or was
//! `rejected` can be computed again with `regenerate: true`: the record
//! keeps its id and creation time, its allocation is recomputed from the
//! current cost data, the rejection is cleared and it is submitted again.
//!
//! ## Reports
//!
//! Generating the chargeback *report* (rendered document, distribution to
//! `distributionList`) is a separate step: records are created with
//! `reportId: None`, and [`PeriodicChargebacks::created`] lists the records a
//! run produced so a report step can follow it and set `reportId`.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};

use super::Engine;
use crate::core::allocate::allocate;
use crate::model::{
    AllocationBasis, ChargebackConfigId, ChargebackConfiguration, ChargebackFrequency,
    ChargebackRecord, ChargebackRecordId, ChargebackStatus, CostQuery, CostRow, DateRange,
    Dimension, OrganizationId, UserId,
};
use crate::{Error, Result};

/// The day, week (Monday to Sunday), calendar month or quarter (by
/// `frequency`) that contains `date`.
pub fn chargeback_period(frequency: ChargebackFrequency, date: NaiveDate) -> DateRange {
    let months = match frequency {
        ChargebackFrequency::Daily => return DateRange::day(date),
        ChargebackFrequency::Weekly => {
            let back = i64::from(date.weekday().num_days_from_monday());
            let start = date
                .checked_sub_signed(chrono::Duration::days(back))
                .unwrap_or(date);
            let end = start
                .checked_add_signed(chrono::Duration::days(6))
                .unwrap_or(NaiveDate::MAX);
            return DateRange { start, end };
        }
        ChargebackFrequency::Monthly => 1,
        ChargebackFrequency::Quarterly => 3,
    };
    let first_month = (date.month() - 1) / months * months + 1;
    let start = NaiveDate::from_ymd_opt(date.year(), first_month, 1).unwrap_or(date);
    let end = start
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(date);
    DateRange { start, end }
}

/// The period that closed with `today`: when `today` is the first day of a
/// period (every day for daily, a Monday for weekly, the 1st for monthly, 1
/// January, April, July or October for quarterly), the whole previous
/// period; otherwise `None`.
pub fn closed_period(frequency: ChargebackFrequency, today: NaiveDate) -> Option<DateRange> {
    if chargeback_period(frequency, today).start != today {
        return None;
    }
    Some(chargeback_period(frequency, today.pred_opt()?))
}

/// The latest period that has closed by `today`: the period before the one
/// containing `today` (yesterday for daily, last Monday-to-Sunday week,
/// last calendar month or quarter). `None` only at the start of the
/// calendar.
pub fn last_closed_period(frequency: ChargebackFrequency, today: NaiveDate) -> Option<DateRange> {
    let current = chargeback_period(frequency, today);
    Some(chargeback_period(frequency, current.start.pred_opt()?))
}

/// What [`Engine::process_periodic_chargebacks`] did.
#[derive(Debug, Default)]
pub struct PeriodicChargebacks {
    /// Records created by this run (status `pending_approval` or `approved`,
    /// `reportId` still `None`), in the order of the configurations.
    pub created: Vec<ChargebackRecord>,
    /// Configurations whose record for the latest closed period already existed.
    pub existing: usize,
    /// Active configurations with no closed period since they were created.
    pub not_due: usize,
    /// Configurations whose record could not be produced, with the error.
    /// The other configurations still ran.
    pub failed: Vec<PeriodicChargebackFailure>,
}

/// A configuration the periodic job could not produce a record for.
#[derive(Debug)]
pub struct PeriodicChargebackFailure {
    /// Its organization.
    pub organization_id: OrganizationId,
    /// The configuration.
    pub configuration_id: ChargebackConfigId,
    /// The period it tried.
    pub period: DateRange,
    /// Why it failed.
    pub error: Error,
}

impl Engine {
    /// Store a new chargeback configuration for `org`: validated first (rules,
    /// approvers, every recipient of `distributionList` by its kind; the
    /// error names the field), owned by `org`, stamped with the clock.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field; `Conflict` for a duplicate id.
    pub async fn create_chargeback_configuration(
        &self,
        org: OrganizationId,
        mut config: ChargebackConfiguration,
    ) -> Result<ChargebackConfiguration> {
        config.organization_id = org;
        config.validate()?;
        let now = self.clock().now();
        config.created_at = now;
        config.updated_at = now;
        self.store().create_chargeback_config(org, &config).await?;
        Ok(config)
    }

    /// Replace a chargeback configuration of `org`, validated as on create;
    /// its creation time is kept.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field; `NotFound` for a missing one (or
    /// another organization's).
    pub async fn update_chargeback_configuration(
        &self,
        org: OrganizationId,
        mut config: ChargebackConfiguration,
    ) -> Result<ChargebackConfiguration> {
        config.organization_id = org;
        config.validate()?;
        let stored = self.store().get_chargeback_config(org, config.id).await?;
        config.created_at = stored.created_at;
        config.updated_at = self.clock().now();
        self.store().update_chargeback_config(org, &config).await?;
        Ok(config)
    }

    /// Compute and store the chargeback record of configuration `config` for
    /// `period`, then submit it (see the [module docs](self)).
    ///
    /// The cost data is the [`CostSource`](crate::ports::CostSource)'s
    /// aggregate over `period`, grouped by the allocation basis, provider and
    /// model, allocated by [`allocate`].
    ///
    /// # Errors
    /// - [`Error::Conflict`] when a record for the period exists, unless it
    ///   is `draft` or `rejected` and `regenerate` is true (it is then
    ///   replaced in place); also when another worker created or changed it
    ///   meanwhile. Never a second record.
    /// - [`Error::NotFound`] when the configuration is missing.
    /// - [`Error::Invalid`]: the configuration is invalid (its field), the
    ///   period's end precedes its start or it lies outside the window of
    ///   `core::period::check_window` (`period`), or the cost data for the period is
    ///   in another currency than the configuration's (`currency`).
    pub async fn generate_chargeback_record(
        &self,
        org: OrganizationId,
        config: ChargebackConfigId,
        period: DateRange,
        regenerate: bool,
    ) -> Result<ChargebackRecord> {
        crate::core::period::check_window("period", period, self.clock().now().date_naive())?;
        let store = self.store();
        let config = store.get_chargeback_config(org, config).await?;
        let existing = store
            .find_chargeback_record(org, config.id, period.start, period.end)
            .await?;
        if let Some(r) = &existing {
            let replaceable = matches!(
                r.status,
                ChargebackStatus::Draft | ChargebackStatus::Rejected
            );
            if !regenerate || !replaceable {
                return Err(Error::Conflict(format!(
                    "chargeback record {} for configuration {} and period {period} exists \
                     (status {}){}",
                    r.id,
                    config.id,
                    status_name(r.status),
                    if replaceable {
                        "; ask to regenerate it to replace it"
                    } else {
                        ""
                    }
                )));
            }
        }
        let allocation = allocate(&config, &self.chargeback_rows(org, &config, period).await?)?;
        let now = self.clock().now();
        let draft = match existing {
            Some(old) => {
                let r = ChargebackRecord {
                    allocation,
                    status: ChargebackStatus::Draft,
                    approved_by: None,
                    approved_at: None,
                    rejected_by: None,
                    rejection_reason: None,
                    report_id: None,
                    updated_at: now,
                    ..old.clone()
                };
                store.update_chargeback_record(org, &r, old.status).await?;
                r
            }
            None => {
                let r = ChargebackRecord {
                    id: ChargebackRecordId::new(),
                    organization_id: org,
                    configuration_id: config.id,
                    period_start: period.start,
                    period_end: period.end,
                    allocation,
                    status: ChargebackStatus::Draft,
                    approved_by: None,
                    approved_at: None,
                    rejected_by: None,
                    rejection_reason: None,
                    report_id: None,
                    created_at: now,
                    updated_at: now,
                };
                store.create_chargeback_record(org, &r).await?;
                r
            }
        };
        let submitted = if config.requires_approval {
            ChargebackRecord {
                status: ChargebackStatus::PendingApproval,
                ..draft
            }
        } else {
            ChargebackRecord {
                status: ChargebackStatus::Approved,
                approved_at: Some(now),
                ..draft
            }
        };
        store
            .update_chargeback_record(org, &submitted, ChargebackStatus::Draft)
            .await?;
        Ok(self.attach_report(org, submitted).await)
    }

    /// Approve a `pending_approval` record as `user`, stamping `approvedBy`
    /// and `approvedAt` (from the clock).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the record (or its configuration) is missing;
    /// [`Error::PermissionDenied`] when `user` is not one of the
    /// configuration's `approvers` (checked first, whatever the status);
    /// [`Error::InvalidState`] when the record is not `pending_approval`
    /// (`approved` and `rejected` are final); [`Error::Conflict`] when
    /// another approver acted meanwhile.
    pub async fn approve_chargeback_record(
        &self,
        org: OrganizationId,
        record: ChargebackRecordId,
        user: UserId,
    ) -> Result<ChargebackRecord> {
        let r = self.pending_for(org, record, user, "approve").await?;
        let now = self.clock().now();
        let approved = ChargebackRecord {
            status: ChargebackStatus::Approved,
            approved_by: Some(user),
            approved_at: Some(now),
            updated_at: now,
            ..r
        };
        self.store()
            .update_chargeback_record(org, &approved, ChargebackStatus::PendingApproval)
            .await?;
        // The statement shows the approval: the report made when the record
        // was submitted said "pending approval". (Should this fail, the
        // earlier report stays linked.)
        let _ = self.generate_chargeback_report(org, approved.id).await;
        // Auto-distribution waits for approval; a failed send is recorded on
        // the report's distribution status and can be retried.
        let _ = self.distribute_chargeback(org, approved.id).await;
        Ok(self
            .store()
            .get_chargeback_record(org, approved.id)
            .await
            .unwrap_or(approved))
    }

    /// Generate the record's chargeback report (linked as `reportId`) and,
    /// when the record is already approved and the configuration
    /// auto-distributes, send it. The record is stored whatever happens
    /// here: a report that could not be generated leaves `reportId` empty
    /// (call [`Engine::generate_chargeback_report`] again), a failed send
    /// is recorded per recipient on the report.
    async fn attach_report(
        &self,
        org: OrganizationId,
        record: ChargebackRecord,
    ) -> ChargebackRecord {
        if self
            .generate_chargeback_report(org, record.id)
            .await
            .is_err()
        {
            return record;
        }
        let _ = self.distribute_chargeback(org, record.id).await;
        self.store()
            .get_chargeback_record(org, record.id)
            .await
            .unwrap_or(record)
    }

    /// Reject a `pending_approval` record as `user` with `reason` (stored as
    /// `rejectionReason`, trimmed; `rejectedBy` is `user`, `updatedAt` the
    /// clock's time).
    ///
    /// # Errors
    /// As [`approve_chargeback_record`](Self::approve_chargeback_record), and
    /// [`Error::Invalid`] on `reason` when it is blank.
    pub async fn reject_chargeback_record(
        &self,
        org: OrganizationId,
        record: ChargebackRecordId,
        user: UserId,
        reason: &str,
    ) -> Result<ChargebackRecord> {
        let r = self.pending_for(org, record, user, "reject").await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "a rejection needs a reason"));
        }
        let now = self.clock().now();
        let rejected = ChargebackRecord {
            status: ChargebackStatus::Rejected,
            rejected_by: Some(user),
            rejection_reason: Some(reason.to_owned()),
            updated_at: now,
            ..r
        };
        self.store()
            .update_chargeback_record(org, &rejected, ChargebackStatus::PendingApproval)
            .await?;
        Ok(rejected)
    }

    /// The periodic job: for every active configuration of every
    /// organization, make the record of its latest closed period (see
    /// [`last_closed_period`]; "today" is the clock's date in UTC) if it does
    /// not exist yet and the period ended on or after the day the
    /// configuration was created. A job that did not run on the 1st (or the
    /// Monday, or the day after) catches up at its next run: the missed
    /// period is made once, never twice, whenever the job runs.
    ///
    /// Running it twice the same day creates nothing new: existing records
    /// are counted in [`PeriodicChargebacks::existing`] (whatever their
    /// status; a draft or rejected record is regenerated only on request,
    /// through [`generate_chargeback_record`](Self::generate_chargeback_record)).
    ///
    /// # Errors
    /// Only when the store cannot list the configurations; a failing
    /// configuration is reported in [`PeriodicChargebacks::failed`] and the
    /// others still run.
    pub async fn process_periodic_chargebacks(&self) -> Result<PeriodicChargebacks> {
        let today = self.clock().now().date_naive();
        let mut out = PeriodicChargebacks::default();
        for config in self.store().active_chargeback_configurations().await? {
            let Some(period) = last_closed_period(config.report_frequency, today)
                .filter(|p| p.end >= config.created_at.date_naive())
            else {
                out.not_due += 1;
                continue;
            };
            let org = config.organization_id;
            let existing = self
                .store()
                .find_chargeback_record(org, config.id, period.start, period.end)
                .await;
            let result = match existing {
                Ok(Some(_)) => {
                    out.existing += 1;
                    continue;
                }
                Ok(None) => {
                    self.generate_chargeback_record(org, config.id, period, false)
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(r) => out.created.push(r),
                Err(Error::Conflict(_)) => out.existing += 1,
                Err(error) => out.failed.push(PeriodicChargebackFailure {
                    organization_id: org,
                    configuration_id: config.id,
                    period,
                    error,
                }),
            }
        }
        Ok(out)
    }

    /// The record, if `user` may act on it and it awaits approval.
    async fn pending_for(
        &self,
        org: OrganizationId,
        record: ChargebackRecordId,
        user: UserId,
        action: &str,
    ) -> Result<ChargebackRecord> {
        let r = self.store().get_chargeback_record(org, record).await?;
        let config = self
            .store()
            .get_chargeback_config(org, r.configuration_id)
            .await?;
        if !config.approvers.contains(&user) {
            return Err(Error::PermissionDenied(format!(
                "user {user} is not an approver of chargeback configuration {}",
                config.id
            )));
        }
        if r.status != ChargebackStatus::PendingApproval {
            return Err(Error::InvalidState(format!(
                "cannot {action} chargeback record {record}: it is {}, not pending_approval",
                status_name(r.status)
            )));
        }
        Ok(r)
    }

    /// The period's cost as rows for [`allocate`]: one row per (basis key,
    /// provider, model). Cost data in another currency is `Invalid` on
    /// `currency`.
    async fn chargeback_rows(
        &self,
        org: OrganizationId,
        config: &ChargebackConfiguration,
        period: DateRange,
    ) -> Result<Vec<CostRow>> {
        let basis = config.basis_dimension().ok_or_else(|| {
            Error::invalid(
                "customTagKey",
                "a `custom` allocation basis needs the tag key to allocate by",
            )
        })?;
        let query = CostQuery::total(period).group_by([
            basis.clone(),
            Dimension::Provider,
            Dimension::Model,
        ]);
        let buckets = self.costs().aggregate(org, &query).await?;
        let mut rows = Vec::with_capacity(buckets.len());
        for b in buckets {
            if b.currency != config.currency {
                return Err(Error::invalid(
                    "currency",
                    format!(
                        "cost data for {period} is in {} but the configuration allocates {}",
                        b.currency, config.currency
                    ),
                ));
            }
            let mut keys = b.keys.into_iter();
            let (key, provider, model) = (
                keys.next().flatten(),
                keys.next().flatten(),
                keys.next().flatten(),
            );
            let mut row = CostRow {
                date: period.start,
                provider,
                model,
                cost: b.cost,
                currency: Some(b.currency),
                requests: b.requests,
                input_tokens: b.input_tokens,
                output_tokens: b.output_tokens,
                cached_requests: b.cached_requests,
                ..Default::default()
            };
            match (config.allocation_basis, &basis) {
                (AllocationBasis::Team, _) => row.team = key,
                (AllocationBasis::Project, _) => row.project = key,
                (AllocationBasis::CostCenter, _) => row.cost_center = key,
                (AllocationBasis::Custom, Dimension::Tag(tag)) => {
                    if let Some(k) = key {
                        row.tags = BTreeMap::from([(tag.clone(), k)]);
                    }
                }
                (AllocationBasis::Custom, _) => {}
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

fn status_name(s: ChargebackStatus) -> &'static str {
    match s {
        ChargebackStatus::Draft => "draft",
        ChargebackStatus::PendingApproval => "pending_approval",
        ChargebackStatus::Approved => "approved",
        ChargebackStatus::Rejected => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<PeriodicChargebacks>();
        check::<PeriodicChargebackFailure>();
    }

    #[test]
    fn periods_close_on_the_first_of_a_month_or_quarter() {
        use ChargebackFrequency::*;
        assert_eq!(
            closed_period(Monthly, d("2026-03-01")),
            Some(DateRange::new(d("2026-02-01"), d("2026-02-28")).unwrap())
        );
        assert_eq!(
            closed_period(Monthly, d("2025-01-01")),
            Some(DateRange::new(d("2024-12-01"), d("2024-12-31")).unwrap())
        );
        assert_eq!(closed_period(Monthly, d("2026-03-02")), None);
        assert_eq!(
            closed_period(Quarterly, d("2026-04-01")),
            Some(DateRange::new(d("2026-01-01"), d("2026-03-31")).unwrap())
        );
        assert_eq!(
            closed_period(Quarterly, d("2027-01-01")),
            Some(DateRange::new(d("2026-10-01"), d("2026-12-31")).unwrap())
        );
        assert_eq!(closed_period(Quarterly, d("2026-05-01")), None);
        assert_eq!(
            chargeback_period(Quarterly, d("2024-08-15")),
            DateRange::new(d("2024-07-01"), d("2024-09-30")).unwrap()
        );
        assert_eq!(
            chargeback_period(Monthly, d("2024-02-15")),
            DateRange::new(d("2024-02-01"), d("2024-02-29")).unwrap()
        );
    }
}
