//! The shared conformance suite: the behaviour every `ReportStore` and every
//! `CostSource` backend must have, written once and run against each backend
//! (memory, SQLite, PostgreSQL) and through `Arc<dyn _>`.
//!
//! Each test function takes the port as `&dyn ...`. Store functions must be
//! given a fresh, empty store. Errors are asserted by kind, never with
//! `is_err()`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokentra_reports::model::*;
use tokentra_reports::ports::*;
use tokentra_reports::Error;

// ---------------------------------------------------------------------------
// Fixtures

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn template(org: OrganizationId, name: &str, is_default: bool) -> ReportTemplate {
    ReportTemplate {
        id: TemplateId::new(),
        organization_id: Some(org),
        name: name.into(),
        description: Some("desc".into()),
        report_type: ReportType::Team,
        config: ReportTemplateConfig::default(),
        branding: ReportBranding {
            primary_color: Some("#1F6FEB".into()),
            ..Default::default()
        },
        is_system: false,
        is_default,
        created_by: Some(UserId::new()),
        created_at: t0(),
        updated_at: t0(),
    }
}

pub fn schedule(org: OrganizationId, name: &str, created_at: DateTime<Utc>) -> ScheduledReport {
    ScheduledReport {
        id: ScheduledReportId::new(),
        organization_id: org,
        template_id: None,
        report_type: Some(ReportType::Executive),
        name: name.into(),
        description: None,
        frequency: Frequency::Weekly,
        schedule_config: ScheduleConfig {
            timezone: Timezone::parse("Europe/Paris").unwrap(),
            ..Default::default()
        },
        filters: ReportFilters {
            teams: vec!["search".into()],
            ..Default::default()
        },
        recipients: vec![ReportRecipient::email("cfo@example.com")],
        format: ReportFormat::Pdf,
        is_active: true,
        last_run_at: None,
        next_run_at: Some(t0()),
        last_status: None,
        last_error: None,
        run_count: 0,
        consecutive_failures: 0,
        paused_reason: None,
        created_by: None,
        created_at,
        updated_at: created_at,
    }
}

pub fn report(org: OrganizationId, created_at: DateTime<Utc>) -> GeneratedReport {
    GeneratedReport {
        id: ReportId::new(),
        organization_id: org,
        template_id: None,
        scheduled_report_id: None,
        schedule_slot: None,
        name: "October".into(),
        report_type: ReportType::Executive,
        format: ReportFormat::Pdf,
        date_range: DateRange::new(day("2026-10-01"), day("2026-10-31")).unwrap(),
        comparison_range: None,
        filters: ReportFilters::default(),
        status: ReportStatus::Pending,
        file_path: format!("reports/{org}/october.pdf"),
        file_size: None,
        page_count: None,
        checksum: None,
        summary_data: None,
        recipients: vec![ReportRecipient::email("a@example.com")],
        distribution_status: vec![],
        distributed_at: None,
        next_delivery_at: None,
        download_url: Some("https://reports.example.com/d?token=abc".into()),
        download_expires_at: Some(created_at + Duration::days(7)),
        generation_time_ms: None,
        error_message: None,
        expires_at: created_at + Duration::days(DEFAULT_REPORT_EXPIRY_DAYS),
        download_count: 0,
        created_by: None,
        created_at,
        started_at: None,
        completed_at: None,
    }
}

pub fn digest(org: OrganizationId, user: UserId, freq: DigestFrequency) -> EmailDigestPreferences {
    let mut p = EmailDigestPreferences::new(org, user, "user@example.com", t0());
    p.frequency = freq;
    p.timezone = Timezone::parse("America/New_York").unwrap();
    p.team_filter = vec!["search".into()];
    p
}

pub fn chargeback_config(org: OrganizationId, name: &str) -> ChargebackConfiguration {
    ChargebackConfiguration {
        id: ChargebackConfigId::new(),
        organization_id: org,
        name: name.into(),
        description: None,
        allocation_basis: AllocationBasis::Team,
        custom_tag_key: None,
        allocation_rules: vec![AllocationRule {
            source: String::new(),
            target: Some("shared".into()),
            percentage: Some(dec!(50)),
            split: None,
        }],
        report_frequency: ChargebackFrequency::Monthly,
        include_breakdown_by: vec![Dimension::Provider, Dimension::Model],
        currency: Currency::USD,
        requires_approval: true,
        approvers: vec![UserId::new()],
        auto_distribute: false,
        // Recipients of every kind are stored and read back.
        distribution_list: vec![
            ReportRecipient::email("finance@example.com"),
            ReportRecipient {
                kind: RecipientKind::Slack,
                address: "#finance".into(),
                name: None,
            },
            ReportRecipient {
                kind: RecipientKind::Webhook,
                address: "https://hooks.example.com/cb".into(),
                name: Some("ERP".into()),
            },
            ReportRecipient {
                kind: RecipientKind::User,
                address: UserId::new().to_string(),
                name: None,
            },
        ],
        is_active: true,
        created_by: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

pub fn chargeback_record(
    org: OrganizationId,
    config: ChargebackConfigId,
    start: &str,
    end: &str,
) -> ChargebackRecord {
    let mut allocations = BTreeMap::new();
    allocations.insert(
        "search".to_string(),
        ChargebackAllocation {
            total_cost: dec!(12.34),
            breakdown: AllocationBreakdown {
                by_provider: [("openai".to_string(), dec!(12.34))].into(),
                by_model: [("gpt-4o".to_string(), dec!(12.34))].into(),
            },
        },
    );
    ChargebackRecord {
        id: ChargebackRecordId::new(),
        organization_id: org,
        configuration_id: config,
        period_start: day(start),
        period_end: day(end),
        allocation: Allocation {
            allocations,
            total_cost: dec!(12.35),
            allocated_cost: dec!(12.34),
            unallocated_cost: dec!(0.01),
            currency: Currency::USD,
        },
        status: ChargebackStatus::PendingApproval,
        approved_by: None,
        approved_at: None,
        rejected_by: None,
        rejection_reason: None,
        report_id: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(r: Result<T, Error>) {
    match r {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(r: Result<T, Error>) {
    match r {
        Err(Error::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// ReportStore

/// Run every store test, each on a fresh store from `fresh`.
pub async fn report_store_suite<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ReportStore>>,
{
    templates(&*fresh().await).await;
    schedules(&*fresh().await).await;
    schedule_runs(&*fresh().await).await;
    claim_due_runs(&*fresh().await).await;
    generated_reports(&*fresh().await).await;
    report_paging(&*fresh().await).await;
    artifacts(&*fresh().await).await;
    stuck_reports(&*fresh().await).await;
    run_fencing(&*fresh().await).await;
    delivery_claims(&*fresh().await).await;
    digests(&*fresh().await).await;
    chargeback(&*fresh().await).await;
    org_isolation(&*fresh().await).await;
    concurrency(fresh().await).await;
}

pub async fn templates(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    assert!(store.list_templates(org).await.unwrap().is_empty());
    let b = template(org, "Beta", false);
    let a = template(org, "Alpha", false);
    let z = template(org, "Zulu default", true);
    for t in [&b, &a, &z] {
        store.create_template(org, t).await.unwrap();
    }
    assert_conflict(store.create_template(org, &a).await);
    assert_eq!(store.get_template(org, a.id).await.unwrap(), a);
    let names: Vec<_> = store
        .list_templates(org)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["Zulu default", "Alpha", "Beta"]);

    let mut a2 = a.clone();
    a2.name = "Alpha 2".into();
    a2.config.breakdowns = vec![Dimension::Tag("env".into())];
    a2.updated_at = t0() + Duration::hours(1);
    store.update_template(org, &a2).await.unwrap();
    assert_eq!(store.get_template(org, a.id).await.unwrap(), a2);

    store.delete_template(org, a.id).await.unwrap();
    assert_not_found(store.get_template(org, a.id).await);
    assert_not_found(store.delete_template(org, a.id).await);
    assert_not_found(store.update_template(org, &a2).await);
    assert_eq!(store.list_templates(org).await.unwrap().len(), 2);
}

pub async fn schedules(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    assert!(store.list_schedules(org).await.unwrap().is_empty());
    let old = schedule(org, "old", t0());
    let new = schedule(org, "new", t0() + Duration::hours(1));
    store.create_schedule(org, &old).await.unwrap();
    store.create_schedule(org, &new).await.unwrap();
    assert_conflict(store.create_schedule(org, &old).await);
    assert_eq!(store.get_schedule(org, old.id).await.unwrap(), old);
    let names: Vec<_> = store
        .list_schedules(org)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["new", "old"], "newest first");

    // due_schedules: active, next_run_at <= now, earliest first, limited.
    let mut later = schedule(org, "later", t0());
    later.next_run_at = Some(t0() + Duration::days(1));
    let mut paused = schedule(org, "paused", t0());
    paused.is_active = false;
    let mut earliest = schedule(org, "earliest", t0());
    earliest.next_run_at = Some(t0() - Duration::hours(2));
    let mut never = schedule(org, "never", t0());
    never.next_run_at = None;
    for s in [&later, &paused, &earliest, &never] {
        store.create_schedule(org, s).await.unwrap();
    }
    let due = store.due_schedules(t0(), 10).await.unwrap();
    assert_eq!(due.len(), 3);
    assert_eq!(due[0].id, earliest.id);
    assert!(due.iter().all(|s| s.id != later.id && s.id != paused.id));
    assert_eq!(store.due_schedules(t0(), 1).await.unwrap().len(), 1);
    assert_eq!(
        store
            .due_schedules(t0() + Duration::days(1), 10)
            .await
            .unwrap()
            .len(),
        4
    );

    let mut upd = old.clone();
    upd.is_active = false;
    upd.run_count = 3;
    upd.last_status = Some(ReportStatus::Failed);
    upd.last_error = Some("boom".into());
    upd.schedule_config.day_of_week = 0;
    store.update_schedule(org, &upd).await.unwrap();
    assert_eq!(store.get_schedule(org, old.id).await.unwrap(), upd);

    store.delete_schedule(org, old.id).await.unwrap();
    assert_not_found(store.get_schedule(org, old.id).await);
    assert_not_found(store.delete_schedule(org, old.id).await);
    assert_not_found(store.update_schedule(org, &upd).await);
}

pub async fn schedule_runs(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let s = schedule(org, "runs", t0());
    store.create_schedule(org, &s).await.unwrap();
    let slot = t0();
    let now = t0();
    let lease = now + Duration::minutes(10);

    let ClaimOutcome::Claimed(run) = store
        .claim_run(org, s.id, slot, "w1", now, lease)
        .await
        .unwrap()
    else {
        panic!("first claim wins")
    };
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.attempts, 1);
    assert_eq!(run.worker, "w1");
    assert_eq!(run.lease_expires_at, lease);

    // Another worker while the lease lives: busy.
    assert!(matches!(
        store
            .claim_run(org, s.id, slot, "w2", now + Duration::minutes(5), lease)
            .await
            .unwrap(),
        ClaimOutcome::Busy(r) if r.worker == "w1"
    ));
    // The same worker renews.
    let renewed = lease + Duration::minutes(5);
    assert!(matches!(
        store
            .claim_run(org, s.id, slot, "w1", now + Duration::minutes(5), renewed)
            .await
            .unwrap(),
        ClaimOutcome::Claimed(r) if r.attempts == 1 && r.lease_expires_at == renewed
    ));
    // After the lease, another worker takes over.
    let later = renewed + Duration::seconds(1);
    let ClaimOutcome::Claimed(run) = store
        .claim_run(org, s.id, slot, "w2", later, later + Duration::minutes(10))
        .await
        .unwrap()
    else {
        panic!("an expired claim is taken over")
    };
    assert_eq!(run.worker, "w2");
    assert_eq!(run.attempts, 2);

    // The dead worker cannot finish any more.
    let done = RunOutcome {
        status: RunStatus::Success,
        report_id: Some(ReportId::new()),
        error: None,
    };
    assert_conflict(store.finish_run(org, s.id, slot, "w1", &done, later).await);
    let finished = store
        .finish_run(org, s.id, slot, "w2", &done, later)
        .await
        .unwrap();
    assert_eq!(finished.status, RunStatus::Success);
    assert_eq!(finished.report_id, done.report_id);
    assert_conflict(store.finish_run(org, s.id, slot, "w2", &done, later).await);
    // A finished slot is done for everyone.
    assert!(matches!(
        store
            .claim_run(org, s.id, slot, "w3", later + Duration::days(1), later + Duration::days(2))
            .await
            .unwrap(),
        ClaimOutcome::Done(r) if r.status == RunStatus::Success
    ));

    // A missed slot recorded as skipped without a claim.
    let missed = slot - Duration::days(7);
    let skipped = store
        .finish_run(
            org,
            s.id,
            missed,
            "w1",
            &RunOutcome {
                status: RunStatus::Skipped,
                report_id: None,
                error: Some("host was down".into()),
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(skipped.status, RunStatus::Skipped);
    // Finishing an unknown slot as success is NotFound.
    assert_not_found(
        store
            .finish_run(org, s.id, slot + Duration::days(7), "w1", &done, later)
            .await,
    );
    // `running` is not an outcome.
    let running = RunOutcome {
        status: RunStatus::Running,
        report_id: None,
        error: None,
    };
    assert!(matches!(
        store
            .finish_run(org, s.id, slot, "w2", &running, later)
            .await,
        Err(Error::Invalid { .. })
    ));

    let runs = store.list_runs(org, s.id).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].slot, slot, "latest slot first");
    assert_eq!(runs[1].slot, missed);

    // Claiming for a missing schedule.
    assert_not_found(
        store
            .claim_run(org, ScheduledReportId::new(), slot, "w1", now, lease)
            .await,
    );
    // Deleting the schedule deletes its runs.
    store.delete_schedule(org, s.id).await.unwrap();
    assert_not_found(store.list_runs(org, s.id).await);
}

/// `claim_due_runs`: earliest first, at most `limit`, slots held by another
/// worker left out, slots finished but not moved on returned as `Done` once
/// a lease length has passed (left to their worker before), our own claims
/// renewed, expired claims taken over.
pub async fn claim_due_runs(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let now = t0() + Duration::minutes(1);
    let lease_len = Duration::minutes(10);
    let lease = now + lease_len;
    let mut due = Vec::new();
    // due[0..4] fall due a minute apart; due[4] is the last.
    for i in 0..5 {
        let mut s = schedule(org, &format!("due {i}"), t0());
        s.next_run_at = Some(t0() - Duration::minutes(4) + Duration::minutes(i));
        store.create_schedule(org, &s).await.unwrap();
        due.push(s);
    }
    let mut not_yet = schedule(org, "not yet", t0());
    not_yet.next_run_at = Some(now + Duration::hours(1));
    store.create_schedule(org, &not_yet).await.unwrap();
    let mut inactive = schedule(org, "inactive", t0());
    inactive.is_active = false;
    store.create_schedule(org, &inactive).await.unwrap();
    let slot = |i: usize| due[i].next_run_at.unwrap();
    let ids =
        |v: &[(ScheduledReport, ClaimOutcome)]| v.iter().map(|(s, _)| s.id).collect::<Vec<_>>();
    let ok = RunOutcome {
        status: RunStatus::Success,
        report_id: Some(ReportId::new()),
        error: None,
    };

    // due[0] is held by another worker. due[1] ran 20 minutes ago and was
    // not moved on (its worker died); due[4] ran just now and its worker
    // is moving it on.
    let claim = |i: usize, at: DateTime<Utc>| {
        store.claim_run(org, due[i].id, slot(i), "other", at, at + lease_len)
    };
    assert!(matches!(
        claim(0, now).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    let long_ago = now - Duration::minutes(20);
    assert!(matches!(
        claim(1, long_ago).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    store
        .finish_run(org, due[1].id, slot(1), "other", &ok, long_ago)
        .await
        .unwrap();
    assert!(matches!(
        claim(4, now).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    store
        .finish_run(org, due[4].id, slot(4), "other", &ok, now)
        .await
        .unwrap();

    assert!(store
        .claim_due_runs("w1", now, lease, 0)
        .await
        .unwrap()
        .is_empty());
    let got = store.claim_due_runs("w1", now, lease, 1).await.unwrap();
    assert_eq!(ids(&got), vec![due[1].id]);
    assert!(matches!(&got[0].1, ClaimOutcome::Done(r) if r.status == RunStatus::Success));

    let got = store.claim_due_runs("w1", now, lease, 10).await.unwrap();
    assert_eq!(ids(&got), vec![due[1].id, due[2].id, due[3].id]);
    for (s, claim) in &got[1..] {
        let ClaimOutcome::Claimed(run) = claim else {
            panic!("{}: {claim:?}", s.name)
        };
        assert_eq!((run.worker.as_str(), run.attempts), ("w1", 1));
        assert_eq!(Some(run.slot), s.next_run_at);
        assert_eq!(run.lease_expires_at, lease);
    }
    // Asking again renews our own claims.
    let renewed = lease + Duration::minutes(1);
    let got = store.claim_due_runs("w1", now, renewed, 10).await.unwrap();
    assert_eq!(ids(&got), vec![due[1].id, due[2].id, due[3].id]);
    assert!(
        matches!(&got[2].1, ClaimOutcome::Claimed(r) if r.attempts == 1 && r.lease_expires_at == renewed)
    );
    // Another worker finds only the slot finished long ago.
    let got = store.claim_due_runs("w2", now, lease, 10).await.unwrap();
    assert_eq!(ids(&got), vec![due[1].id]);

    // Once every lease has run out, a worker takes the open slots over, and
    // due[4], finished more than a lease ago by now, is up for repair too.
    let after = renewed + Duration::seconds(1);
    let got = store
        .claim_due_runs("w2", after, after + lease_len, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&got),
        vec![due[0].id, due[1].id, due[2].id, due[3].id, due[4].id]
    );
    for i in [0, 2, 3] {
        assert!(
            matches!(&got[i].1, ClaimOutcome::Claimed(r) if r.worker == "w2" && r.attempts == 2),
            "{:?}",
            got[i].1
        );
    }
    assert!(matches!(&got[4].1, ClaimOutcome::Done(_)));
    // Moving the done schedules on takes them out of the due set.
    for i in [1, 4] {
        let mut moved = due[i].clone();
        moved.next_run_at = Some(slot(i) + Duration::days(7));
        store.update_schedule(org, &moved).await.unwrap();
    }
    let got = store
        .claim_due_runs("w2", after, after + lease_len, 10)
        .await
        .unwrap();
    assert_eq!(ids(&got), vec![due[0].id, due[2].id, due[3].id]);
}

pub async fn generated_reports(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let sch = schedule(org, "s", t0());
    store.create_schedule(org, &sch).await.unwrap();

    let mut r = report(org, t0());
    store.create_report(org, &r).await.unwrap();
    assert_conflict(store.create_report(org, &r).await);
    assert_eq!(store.get_report(org, r.id).await.unwrap(), r);

    // One report per schedule slot.
    let mut s1 = report(org, t0());
    s1.scheduled_report_id = Some(sch.id);
    s1.schedule_slot = Some(t0());
    store.create_report(org, &s1).await.unwrap();
    let mut s2 = report(org, t0());
    s2.scheduled_report_id = Some(sch.id);
    s2.schedule_slot = Some(t0());
    assert_conflict(store.create_report(org, &s2).await);
    s2.schedule_slot = Some(t0() + Duration::days(7));
    store.create_report(org, &s2).await.unwrap();
    // A report cannot name another organization's schedule.
    let other = OrganizationId::new();
    let mut foreign = report(other, t0());
    foreign.scheduled_report_id = Some(sch.id);
    foreign.schedule_slot = Some(t0() + Duration::days(14));
    assert_not_found(store.create_report(other, &foreign).await);

    // Lifecycle update keeps everything written.
    r.status = ReportStatus::Completed;
    r.file_size = Some(1234);
    r.page_count = Some(3);
    r.checksum = Some("ab".repeat(32));
    r.generation_time_ms = Some(42);
    r.completed_at = Some(t0() + Duration::seconds(2));
    r.summary_data = Some(ReportSummaryData {
        total_cost: dec!(1234.5678),
        total_requests: 99,
        cost_change: Some(dec!(-12.5)),
        top_provider: Some("openai".into()),
        top_model: Some("gpt-4o".into()),
        anomaly_count: 2,
    });
    store.update_report(org, &r).await.unwrap();
    assert_eq!(store.get_report(org, r.id).await.unwrap(), r);

    // Failed reports keep their request and error.
    let mut f = report(org, t0());
    store.create_report(org, &f).await.unwrap();
    f.status = ReportStatus::Failed;
    f.error_message = Some("cost source timed out".into());
    store.update_report(org, &f).await.unwrap();
    let back = store.get_report(org, f.id).await.unwrap();
    assert_eq!(back.error_message.as_deref(), Some("cost source timed out"));
    assert_eq!(back.date_range, f.date_range);

    // Downloads and distribution status.
    assert_eq!(store.increment_download_count(org, r.id).await.unwrap(), 1);
    assert_eq!(store.increment_download_count(org, r.id).await.unwrap(), 2);
    let mut st = DistributionStatus {
        recipient: ReportRecipient::email("a@example.com"),
        status: DeliveryState::Failed,
        attempts: 1,
        sent_at: None,
        error: Some("421".into()),
        idempotency_key: "k1".into(),
        next_attempt_at: Some(t0() + Duration::minutes(1)),
    };
    store.set_distribution_status(org, r.id, &st).await.unwrap();
    st.status = DeliveryState::Sent;
    st.attempts = 2;
    st.sent_at = Some(t0());
    st.error = None;
    st.next_attempt_at = None;
    store.set_distribution_status(org, r.id, &st).await.unwrap();
    // Sent stays sent: a stale worker's later `failed` is ignored.
    let stale = DistributionStatus {
        status: DeliveryState::Failed,
        error: Some("timed out".into()),
        ..st.clone()
    };
    store
        .set_distribution_status(org, r.id, &stale)
        .await
        .unwrap();
    let other = DistributionStatus {
        recipient: ReportRecipient::email("b@example.com"),
        status: DeliveryState::Pending,
        attempts: 0,
        sent_at: None,
        error: None,
        idempotency_key: "k2".into(),
        next_attempt_at: None,
    };
    store
        .set_distribution_status(org, r.id, &other)
        .await
        .unwrap();
    let back = store.get_report(org, r.id).await.unwrap();
    assert_eq!(back.download_count, 2);
    assert_eq!(back.distribution_status, vec![st, other]);

    // Expired: expires_at <= now and not yet expired.
    let now = t0() + Duration::days(DEFAULT_REPORT_EXPIRY_DAYS);
    let expired = store.expired_reports(now, 100).await.unwrap();
    assert_eq!(expired.len(), 4);
    assert!(expired.iter().all(|(o, _)| *o == org));
    assert!(store
        .expired_reports(now - Duration::seconds(1), 100)
        .await
        .unwrap()
        .is_empty());
    let mut gone = store.get_report(org, r.id).await.unwrap();
    gone.status = ReportStatus::Expired;
    store.update_report(org, &gone).await.unwrap();
    assert_eq!(store.expired_reports(now, 100).await.unwrap().len(), 3);
    assert_eq!(store.expired_reports(now, 2).await.unwrap().len(), 2);

    store.delete_report(org, r.id).await.unwrap();
    assert_not_found(store.get_report(org, r.id).await);
    assert_not_found(store.delete_report(org, r.id).await);
    assert_not_found(store.update_report(org, &r).await);
    assert_not_found(store.increment_download_count(org, r.id).await);
}

pub async fn report_paging(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let sch = schedule(org, "s", t0());
    store.create_schedule(org, &sch).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        // Two reports share each creation time to exercise the id tie-break.
        let mut r = report(org, t0() + Duration::minutes(i / 2));
        if i % 3 == 0 {
            r.scheduled_report_id = Some(sch.id);
            r.schedule_slot = Some(t0() + Duration::days(i));
        }
        if i == 6 {
            r.status = ReportStatus::Failed;
        }
        store.create_report(org, &r).await.unwrap();
        ids.push((r.created_at, r.id));
    }
    ids.sort_by(|a, b| b.cmp(a));
    let expected: Vec<ReportId> = ids.iter().map(|(_, id)| *id).collect();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_reports(
                org,
                &ReportListQuery {
                    limit: 3,
                    cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.reports.len() <= 3);
        seen.extend(page.reports.iter().map(|r| r.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected, "newest first, each once, across pages");

    let by_schedule = store
        .list_reports(
            org,
            &ReportListQuery {
                scheduled_report_id: Some(sch.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_schedule.reports.len(), 3);
    assert_eq!(by_schedule.next_cursor, None);
    let failed = store
        .list_reports(
            org,
            &ReportListQuery {
                status: Some(ReportStatus::Failed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.reports.len(), 1);
    let empty = store
        .list_reports(OrganizationId::new(), &ReportListQuery::default())
        .await
        .unwrap();
    assert!(empty.reports.is_empty() && empty.next_cursor.is_none());
    assert!(matches!(
        store
            .list_reports(
                org,
                &ReportListQuery {
                    limit: 0,
                    ..Default::default()
                }
            )
            .await,
        Err(Error::Invalid { .. })
    ));
}

pub async fn artifacts(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let r = report(org, t0());
    store.create_report(org, &r).await.unwrap();
    assert_not_found(store.get_artifact(org, r.id).await);
    // Bytes survive exactly, including non-UTF-8.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let a = Artifact {
        file_name: "october.pdf".into(),
        media_type: "application/pdf".into(),
        bytes,
    };
    store.put_artifact(org, r.id, &a).await.unwrap();
    assert_eq!(store.get_artifact(org, r.id).await.unwrap(), a);
    let b = Artifact {
        bytes: b"%PDF-1.7 replaced".to_vec(),
        ..a.clone()
    };
    store.put_artifact(org, r.id, &b).await.unwrap();
    assert_eq!(store.get_artifact(org, r.id).await.unwrap(), b);
    store.delete_artifact(org, r.id).await.unwrap();
    store.delete_artifact(org, r.id).await.unwrap(); // missing artifact: fine
    assert_not_found(store.get_artifact(org, r.id).await);
    assert_eq!(
        store.get_report(org, r.id).await.unwrap().id,
        r.id,
        "record kept"
    );

    store.put_artifact(org, r.id, &a).await.unwrap();
    store.delete_report(org, r.id).await.unwrap();
    assert_not_found(store.get_artifact(org, r.id).await);
    assert_not_found(store.put_artifact(org, r.id, &a).await);
    assert_not_found(store.delete_artifact(org, r.id).await);
}

/// A worker that lost its run claim cannot change the slot's report or
/// artifact: `save_report` under a stale fence is refused and changes
/// nothing; under the live fence it replaces record and artifact together.
pub async fn run_fencing(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let s = schedule(org, "fenced", t0());
    store.create_schedule(org, &s).await.unwrap();
    let slot = t0() + Duration::days(1);
    let now = slot;
    let ClaimOutcome::Claimed(run1) = store
        .claim_run(org, s.id, slot, "w1", now, now + Duration::minutes(10))
        .await
        .unwrap()
    else {
        panic!("first claim wins")
    };
    let stale = RunFence::of(&run1);
    assert_eq!(stale.token, 1);
    let mut r = report(org, now);
    r.scheduled_report_id = Some(s.id);
    r.schedule_slot = Some(slot);
    store.create_report(org, &r).await.unwrap();
    r.status = ReportStatus::Generating;
    store
        .save_report(org, &r, ArtifactChange::Keep, Some(&stale))
        .await
        .unwrap();

    // w1's lease runs out; w2 takes the run over and completes the report.
    let later = now + Duration::minutes(11);
    let ClaimOutcome::Claimed(run2) = store
        .claim_run(org, s.id, slot, "w2", later, later + Duration::minutes(10))
        .await
        .unwrap()
    else {
        panic!("takeover after the lease")
    };
    let live = RunFence::of(&run2);
    assert_eq!(live.token, 2);
    let art = Artifact {
        file_name: "october.pdf".into(),
        media_type: "application/pdf".into(),
        bytes: b"%PDF-1.7 by w2".to_vec(),
    };
    let mut done = r.clone();
    done.status = ReportStatus::Completed;
    done.file_size = Some(art.bytes.len() as u64);
    store
        .save_report(org, &done, ArtifactChange::Put(&art), Some(&live))
        .await
        .unwrap();
    assert_eq!(store.get_report(org, r.id).await.unwrap(), done);
    assert_eq!(store.get_artifact(org, r.id).await.unwrap(), art);

    // The stale worker fails late: refused, nothing changes.
    let mut failed = r.clone();
    failed.status = ReportStatus::Failed;
    failed.error_message = Some("cost source timed out".into());
    assert_conflict(
        store
            .save_report(org, &failed, ArtifactChange::Delete, Some(&stale))
            .await,
    );
    let other = Artifact {
        bytes: b"%PDF-1.7 by w1".to_vec(),
        ..art.clone()
    };
    assert_conflict(
        store
            .save_report(org, &failed, ArtifactChange::Put(&other), Some(&stale))
            .await,
    );
    // The same worker name with an old token is stale too.
    let reused = RunFence {
        worker: "w2".into(),
        token: 1,
        ..live.clone()
    };
    assert_conflict(
        store
            .save_report(org, &failed, ArtifactChange::Delete, Some(&reused))
            .await,
    );
    // A fence of another slot does not cover this report.
    let elsewhere = RunFence {
        slot: slot + Duration::days(1),
        ..live.clone()
    };
    assert_conflict(
        store
            .save_report(org, &failed, ArtifactChange::Delete, Some(&elsewhere))
            .await,
    );
    assert_eq!(store.get_report(org, r.id).await.unwrap(), done);
    assert_eq!(store.get_artifact(org, r.id).await.unwrap(), art);

    // Once the run is finished no fence holds.
    let outcome = RunOutcome {
        status: RunStatus::Success,
        report_id: Some(r.id),
        error: None,
    };
    store
        .finish_run(org, s.id, slot, "w2", &outcome, later)
        .await
        .unwrap();
    assert_conflict(
        store
            .save_report(org, &failed, ArtifactChange::Delete, Some(&live))
            .await,
    );
    assert_eq!(store.get_artifact(org, r.id).await.unwrap(), art);

    // Unfenced: record and artifact change together; a missing report is
    // NotFound and the schedule and slot cannot change.
    let mut plain = report(org, now);
    store.create_report(org, &plain).await.unwrap();
    plain.status = ReportStatus::Completed;
    store
        .save_report(org, &plain, ArtifactChange::Put(&art), None)
        .await
        .unwrap();
    assert_eq!(store.get_report(org, plain.id).await.unwrap(), plain);
    assert_eq!(store.get_artifact(org, plain.id).await.unwrap(), art);
    plain.status = ReportStatus::Failed;
    store
        .save_report(org, &plain, ArtifactChange::Delete, None)
        .await
        .unwrap();
    assert_not_found(store.get_artifact(org, plain.id).await);
    let missing = report(org, now);
    assert_not_found(
        store
            .save_report(org, &missing, ArtifactChange::Keep, None)
            .await,
    );
    let mut moved = plain.clone();
    moved.scheduled_report_id = Some(s.id);
    moved.schedule_slot = Some(slot + Duration::days(3));
    let e = store
        .save_report(org, &moved, ArtifactChange::Keep, None)
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("scheduleSlot"), "{e}");
}

/// Delivery claims: due reports are claimed across organizations, earliest
/// first, by one worker at a time; a claim holds until released or its lease
/// ends; only the latest claim can release.
pub async fn delivery_claims(store: &dyn ReportStore) {
    let (a, b) = (OrganizationId::new(), OrganizationId::new());
    let now = t0() + Duration::days(1);
    let lease = now + Duration::minutes(5);
    let completed = |org, next: Option<DateTime<Utc>>| {
        let mut r = report(org, t0());
        r.status = ReportStatus::Completed;
        r.next_delivery_at = next;
        r
    };
    let due = completed(a, Some(now));
    let earlier = completed(b, Some(now - Duration::minutes(1)));
    let later = completed(a, Some(now + Duration::hours(1)));
    let none = completed(a, None);
    let mut generating = completed(a, Some(now));
    generating.status = ReportStatus::Generating;
    for r in [&due, &earlier, &later, &none, &generating] {
        store.create_report(r.organization_id, r).await.unwrap();
    }
    assert_eq!(
        store.get_report(a, due.id).await.unwrap().next_delivery_at,
        Some(now)
    );

    let claims = store
        .claim_due_deliveries("w1", now, lease, 10)
        .await
        .unwrap();
    let ids: Vec<_> = claims
        .iter()
        .map(|c| (c.organization_id, c.report_id))
        .collect();
    assert_eq!(ids, [(b, earlier.id), (a, due.id)]);
    assert!(claims
        .iter()
        .all(|c| c.worker == "w1" && c.token == 1 && c.lease_until == lease));
    // Held: nobody else gets them, not even the same worker.
    assert!(store
        .claim_due_deliveries("w2", now, lease, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .claim_delivery(a, due.id, "w2", now, lease)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_delivery(a, due.id, "w1", now, lease)
            .await
            .unwrap(),
        None
    );

    // Released with nothing left to send, and distributed.
    let c_due = claims.iter().find(|c| c.report_id == due.id).unwrap();
    assert!(store
        .release_delivery(c_due, None, Some(now))
        .await
        .unwrap());
    let back = store.get_report(a, due.id).await.unwrap();
    assert_eq!(back.next_delivery_at, None);
    assert_eq!(back.distributed_at, Some(now));
    assert!(!store.release_delivery(c_due, None, None).await.unwrap());

    // A lease that ran out is taken over; the old holder cannot release.
    let c_old = claims.iter().find(|c| c.report_id == earlier.id).unwrap();
    let after = lease + Duration::seconds(1);
    let taken = store
        .claim_due_deliveries("w2", after, after + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].report_id, earlier.id);
    assert_eq!(taken[0].token, 2);
    assert!(!store.release_delivery(c_old, None, None).await.unwrap());
    let retry_at = after + Duration::minutes(4);
    assert!(store
        .release_delivery(&taken[0], Some(retry_at), None)
        .await
        .unwrap());
    let back = store.get_report(b, earlier.id).await.unwrap();
    assert_eq!(back.next_delivery_at, Some(retry_at));
    assert_eq!(back.distributed_at, None);

    // A report not due can still be claimed by hand (`distribute`).
    let manual = store
        .claim_delivery(a, later.id, "w3", now, lease)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(manual.token, 1);
    assert!(store
        .release_delivery(&manual, later.next_delivery_at, None)
        .await
        .unwrap());
    assert_not_found(
        store
            .claim_delivery(a, ReportId::new(), "w", now, lease)
            .await,
    );
    let foreign = DeliveryClaim {
        organization_id: a,
        ..taken[0].clone()
    };
    assert_not_found(store.release_delivery(&foreign, None, None).await);
}

/// Reports left unfinished are found across organizations and failed by
/// compare-and-set.
pub async fn stuck_reports(store: &dyn ReportStore) {
    let (a, b) = (OrganizationId::new(), OrganizationId::new());
    let now = t0() + Duration::hours(2);
    let before = now - Duration::minutes(30);
    // Started an hour ago and never finished (two organizations); started
    // 10 minutes ago; created long ago but restarted 5 minutes ago; done.
    let mut old_a = report(a, t0());
    old_a.status = ReportStatus::Generating;
    old_a.started_at = Some(now - Duration::hours(1));
    let mut old_b = report(b, t0());
    old_b.status = ReportStatus::Pending;
    let mut recent = report(a, now - Duration::minutes(10));
    recent.status = ReportStatus::Generating;
    recent.started_at = Some(now - Duration::minutes(10));
    let mut restarted = report(a, t0());
    restarted.status = ReportStatus::Generating;
    restarted.started_at = Some(now - Duration::minutes(5));
    let mut done = report(b, t0());
    done.status = ReportStatus::Completed;
    for r in [&old_a, &old_b, &recent, &restarted, &done] {
        store.create_report(r.organization_id, r).await.unwrap();
    }
    let stuck = store.stuck_reports(before, 100).await.unwrap();
    // Oldest start first: old_b (created t0, never started), then old_a.
    assert_eq!(stuck, [(b, old_b.id), (a, old_a.id)]);
    assert_eq!(store.stuck_reports(before, 1).await.unwrap().len(), 1);

    assert!(store
        .fail_stuck_report(a, old_a.id, before, "worker stopped", now)
        .await
        .unwrap());
    let failed = store.get_report(a, old_a.id).await.unwrap();
    assert_eq!(failed.status, ReportStatus::Failed);
    assert_eq!(failed.error_message.as_deref(), Some("worker stopped"));
    assert_eq!(failed.completed_at, Some(now));
    // Compare-and-set: not again, not a recent one, not a finished one,
    // not through another organization.
    assert!(!store
        .fail_stuck_report(a, old_a.id, before, "again", now)
        .await
        .unwrap());
    assert!(!store
        .fail_stuck_report(a, restarted.id, before, "x", now)
        .await
        .unwrap());
    assert!(!store
        .fail_stuck_report(b, done.id, before, "x", now)
        .await
        .unwrap());
    assert_not_found(store.fail_stuck_report(a, old_b.id, before, "x", now).await);
    assert_eq!(
        store.get_report(b, old_b.id).await.unwrap().status,
        ReportStatus::Pending
    );
    assert_eq!(
        store.stuck_reports(before, 100).await.unwrap(),
        [(b, old_b.id)]
    );
}

pub async fn digests(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    let (u1, u2, u3) = (UserId::new(), UserId::new(), UserId::new());
    assert_not_found(store.get_digest_preferences(org, u1).await);
    assert!(store.digest_candidates().await.unwrap().is_empty());

    let p1 = digest(org, u1, DigestFrequency::Daily);
    store.upsert_digest_preferences(org, &p1).await.unwrap();
    assert_eq!(store.get_digest_preferences(org, u1).await.unwrap(), p1);

    // Upsert replaces, keeping the stored id and creation time.
    let mut p1b = digest(org, u1, DigestFrequency::Weekly);
    p1b.digest_time = TimeOfDay::parse("07:15").unwrap();
    p1b.day_of_week = 5;
    p1b.include_forecast = false;
    p1b.updated_at = t0() + Duration::days(1);
    p1b.created_at = t0() + Duration::days(1);
    store.upsert_digest_preferences(org, &p1b).await.unwrap();
    let back = store.get_digest_preferences(org, u1).await.unwrap();
    assert_eq!(back.id, p1.id);
    assert_eq!(back.created_at, p1.created_at);
    assert_eq!(back.frequency, DigestFrequency::Weekly);
    assert_eq!(back.digest_time.to_string(), "07:15");
    assert_eq!(back.day_of_week, 5);
    assert!(!back.include_forecast);
    assert_eq!(back.updated_at, p1b.updated_at);

    store
        .upsert_digest_preferences(org, &digest(org, u2, DigestFrequency::None))
        .await
        .unwrap();
    store
        .upsert_digest_preferences(org, &digest(org, u3, DigestFrequency::Daily))
        .await
        .unwrap();
    // An inactive user (the specification's isActive) without a stored
    // address (sent to the user through the host's resolver).
    let u4 = UserId::new();
    let mut off = digest(org, u4, DigestFrequency::Daily);
    off.is_active = false;
    off.email = None;
    store.upsert_digest_preferences(org, &off).await.unwrap();
    assert_eq!(store.get_digest_preferences(org, u4).await.unwrap(), off);
    let cands = store.digest_candidates().await.unwrap();
    assert_eq!(
        cands.len(),
        2,
        "frequency none and inactive users are not candidates"
    );
    assert!(cands.iter().all(|p| p.user_id != u4));
    assert!(cands.iter().all(|p| p.user_id != u2));
    let mut sorted = cands.clone();
    sorted.sort_by_key(|p| (p.organization_id, p.user_id));
    assert_eq!(cands, sorted);

    // Compare-and-set of lastSentAt.
    let slot = t0();
    assert!(store.mark_digest_sent(org, u1, None, slot).await.unwrap());
    assert!(!store.mark_digest_sent(org, u1, None, slot).await.unwrap());
    let next = slot + Duration::days(7);
    assert!(store
        .mark_digest_sent(org, u1, Some(slot), next)
        .await
        .unwrap());
    assert_eq!(
        store
            .get_digest_preferences(org, u1)
            .await
            .unwrap()
            .last_sent_at,
        Some(next)
    );

    store.delete_digest_preferences(org, u1).await.unwrap();
    assert_not_found(store.get_digest_preferences(org, u1).await);
    assert_not_found(store.delete_digest_preferences(org, u1).await);
    assert_not_found(store.mark_digest_sent(org, u1, None, slot).await);
}

pub async fn chargeback(store: &dyn ReportStore) {
    let org = OrganizationId::new();
    assert!(store.list_chargeback_configs(org).await.unwrap().is_empty());
    let b = chargeback_config(org, "B config");
    let mut a = chargeback_config(org, "A config");
    a.allocation_rules.push(AllocationRule {
        source: "platform".into(),
        target: None,
        percentage: None,
        split: Some(vec![
            SplitTarget {
                target: "search".into(),
                weight: dec!(2),
            },
            SplitTarget {
                target: "ads".into(),
                weight: dec!(1.5),
            },
        ]),
    });
    let mut inactive = chargeback_config(org, "C inactive");
    inactive.is_active = false;
    for c in [&b, &a, &inactive] {
        store.create_chargeback_config(org, c).await.unwrap();
    }
    assert_conflict(store.create_chargeback_config(org, &a).await);
    assert_eq!(store.get_chargeback_config(org, a.id).await.unwrap(), a);
    let names: Vec<_> = store
        .list_chargeback_configs(org)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["A config", "B config", "C inactive"]);
    let active = store.active_chargeback_configurations().await.unwrap();
    assert_eq!(
        active.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );

    let mut a2 = a.clone();
    a2.requires_approval = false;
    a2.currency = Currency::EUR;
    a2.report_frequency = ChargebackFrequency::Quarterly;
    store.update_chargeback_config(org, &a2).await.unwrap();
    assert_eq!(store.get_chargeback_config(org, a.id).await.unwrap(), a2);

    // Records: unique per (config, period).
    let sep = chargeback_record(org, a.id, "2026-09-01", "2026-09-30");
    let oct = chargeback_record(org, a.id, "2026-10-01", "2026-10-31");
    store.create_chargeback_record(org, &sep).await.unwrap();
    store.create_chargeback_record(org, &oct).await.unwrap();
    assert_conflict(
        store
            .create_chargeback_record(
                org,
                &chargeback_record(org, a.id, "2026-10-01", "2026-10-31"),
            )
            .await,
    );
    assert_conflict(store.create_chargeback_record(org, &sep).await);
    // Same period, other configuration: fine.
    store
        .create_chargeback_record(
            org,
            &chargeback_record(org, b.id, "2026-10-01", "2026-10-31"),
        )
        .await
        .unwrap();
    // Unknown configuration.
    assert_not_found(
        store
            .create_chargeback_record(
                org,
                &chargeback_record(org, ChargebackConfigId::new(), "2026-10-01", "2026-10-31"),
            )
            .await,
    );
    assert_eq!(store.get_chargeback_record(org, oct.id).await.unwrap(), oct);
    assert_eq!(
        store
            .find_chargeback_record(org, a.id, day("2026-10-01"), day("2026-10-31"))
            .await
            .unwrap(),
        Some(oct.clone())
    );
    assert_eq!(
        store
            .find_chargeback_record(org, a.id, day("2026-11-01"), day("2026-11-30"))
            .await
            .unwrap(),
        None
    );
    let of_a = store
        .list_chargeback_records(org, Some(a.id))
        .await
        .unwrap();
    assert_eq!(
        of_a.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![oct.id, sep.id],
        "latest period first"
    );
    assert_eq!(
        store
            .list_chargeback_records(org, None)
            .await
            .unwrap()
            .len(),
        3
    );

    // Compare-and-set on status.
    let approver = a.approvers[0];
    let mut approved = oct.clone();
    approved.status = ChargebackStatus::Approved;
    approved.approved_by = Some(approver);
    approved.approved_at = Some(t0() + Duration::days(1));
    store
        .update_chargeback_record(org, &approved, ChargebackStatus::PendingApproval)
        .await
        .unwrap();
    let mut rejected = oct.clone();
    rejected.status = ChargebackStatus::Rejected;
    rejected.rejection_reason = Some("late".into());
    assert_conflict(
        store
            .update_chargeback_record(org, &rejected, ChargebackStatus::PendingApproval)
            .await,
    );
    assert_eq!(
        store.get_chargeback_record(org, oct.id).await.unwrap(),
        approved
    );

    // Configurations with records are financial history.
    assert_conflict(store.delete_chargeback_config(org, a.id).await);
    store
        .delete_chargeback_config(org, inactive.id)
        .await
        .unwrap();
    assert_not_found(store.get_chargeback_config(org, inactive.id).await);
    assert_not_found(store.delete_chargeback_config(org, inactive.id).await);
    assert_not_found(store.update_chargeback_config(org, &inactive).await);
}

/// Org B can neither read, list, update nor delete org A's rows: every
/// method given the wrong organization answers NotFound (or an empty list).
pub async fn org_isolation(store: &dyn ReportStore) {
    let a = OrganizationId::new();
    let b = OrganizationId::new();

    let t = template(a, "A's", true);
    store.create_template(a, &t).await.unwrap();
    let s = schedule(a, "A's", t0());
    store.create_schedule(a, &s).await.unwrap();
    let r = report(a, t0());
    store.create_report(a, &r).await.unwrap();
    let art = Artifact {
        file_name: "a.pdf".into(),
        media_type: "application/pdf".into(),
        bytes: b"secret".to_vec(),
    };
    store.put_artifact(a, r.id, &art).await.unwrap();
    let user = UserId::new();
    store
        .upsert_digest_preferences(a, &digest(a, user, DigestFrequency::Daily))
        .await
        .unwrap();
    let c = chargeback_config(a, "A's");
    store.create_chargeback_config(a, &c).await.unwrap();
    let rec = chargeback_record(a, c.id, "2026-10-01", "2026-10-31");
    store.create_chargeback_record(a, &rec).await.unwrap();

    // Templates.
    assert_not_found(store.get_template(b, t.id).await);
    assert!(store.list_templates(b).await.unwrap().is_empty());
    let mut t_b = t.clone();
    t_b.organization_id = Some(b);
    t_b.name = "hijacked".into();
    assert_not_found(store.update_template(b, &t_b).await);
    assert_not_found(store.delete_template(b, t.id).await);
    // Schedules and runs.
    assert_not_found(store.get_schedule(b, s.id).await);
    assert!(store.list_schedules(b).await.unwrap().is_empty());
    let mut s_b = s.clone();
    s_b.organization_id = b;
    assert_not_found(store.update_schedule(b, &s_b).await);
    assert_not_found(store.delete_schedule(b, s.id).await);
    assert_not_found(
        store
            .claim_run(b, s.id, t0(), "w", t0(), t0() + Duration::minutes(1))
            .await,
    );
    let outcome = RunOutcome {
        status: RunStatus::Skipped,
        report_id: None,
        error: None,
    };
    assert_not_found(store.finish_run(b, s.id, t0(), "w", &outcome, t0()).await);
    assert_not_found(store.list_runs(b, s.id).await);
    // Reports and artifacts.
    assert_not_found(store.get_report(b, r.id).await);
    let page = store
        .list_reports(b, &ReportListQuery::default())
        .await
        .unwrap();
    assert!(page.reports.is_empty());
    let mut r_b = r.clone();
    r_b.organization_id = b;
    assert_not_found(store.update_report(b, &r_b).await);
    assert_not_found(store.get_artifact(b, r.id).await);
    assert_not_found(store.put_artifact(b, r.id, &art).await);
    assert_not_found(store.delete_artifact(b, r.id).await);
    assert_not_found(store.increment_download_count(b, r.id).await);
    let st = DistributionStatus {
        recipient: ReportRecipient::email("x@example.com"),
        status: DeliveryState::Sent,
        attempts: 1,
        sent_at: Some(t0()),
        error: None,
        idempotency_key: "k".into(),
        next_attempt_at: None,
    };
    assert_not_found(store.set_distribution_status(b, r.id, &st).await);
    assert_not_found(store.save_report(b, &r_b, ArtifactChange::Keep, None).await);
    assert_not_found(
        store
            .claim_delivery(b, r.id, "w", t0(), t0() + Duration::minutes(5))
            .await,
    );
    assert_not_found(store.delete_report(b, r.id).await);
    // Digests.
    assert_not_found(store.get_digest_preferences(b, user).await);
    assert_not_found(store.mark_digest_sent(b, user, None, t0()).await);
    assert_not_found(store.delete_digest_preferences(b, user).await);
    // Chargeback.
    assert_not_found(store.get_chargeback_config(b, c.id).await);
    assert!(store.list_chargeback_configs(b).await.unwrap().is_empty());
    let mut c_b = c.clone();
    c_b.organization_id = b;
    assert_not_found(store.update_chargeback_config(b, &c_b).await);
    assert_not_found(store.delete_chargeback_config(b, c.id).await);
    assert_not_found(store.get_chargeback_record(b, rec.id).await);
    assert_eq!(
        store
            .find_chargeback_record(b, c.id, day("2026-10-01"), day("2026-10-31"))
            .await
            .unwrap(),
        None
    );
    assert!(store
        .list_chargeback_records(b, None)
        .await
        .unwrap()
        .is_empty());
    let mut rec_b = rec.clone();
    rec_b.organization_id = b;
    rec_b.status = ChargebackStatus::Approved;
    assert_not_found(
        store
            .update_chargeback_record(b, &rec_b, ChargebackStatus::PendingApproval)
            .await,
    );
    let mut rec_b2 = chargeback_record(b, c.id, "2026-11-01", "2026-11-30");
    rec_b2.organization_id = b;
    assert_not_found(store.create_chargeback_record(b, &rec_b2).await);

    // A wrong org id inside the entity is refused too.
    let mut sneaky = template(b, "sneaky", false);
    sneaky.organization_id = Some(a);
    assert!(matches!(
        store.create_template(b, &sneaky).await,
        Err(Error::Invalid { .. })
    ));

    // Nothing of A's changed.
    assert_eq!(store.get_template(a, t.id).await.unwrap(), t);
    assert_eq!(store.get_schedule(a, s.id).await.unwrap(), s);
    assert_eq!(store.get_report(a, r.id).await.unwrap(), r);
    assert_eq!(store.get_artifact(a, r.id).await.unwrap(), art);
    assert_eq!(
        store
            .get_digest_preferences(a, user)
            .await
            .unwrap()
            .last_sent_at,
        None
    );
    assert_eq!(store.get_chargeback_config(a, c.id).await.unwrap(), c);
    assert_eq!(store.get_chargeback_record(a, rec.id).await.unwrap(), rec);
}

/// Uniqueness rules hold under concurrent callers.
pub async fn concurrency(store: Arc<dyn ReportStore>) {
    let org = OrganizationId::new();
    let s = schedule(org, "c", t0());
    store.create_schedule(org, &s).await.unwrap();

    // 16 workers claim one slot: exactly one wins.
    let claims = futures::future::join_all((0..16).map(|i| {
        let store = store.clone();
        async move {
            store
                .claim_run(
                    org,
                    s.id,
                    t0(),
                    &format!("w{i}"),
                    t0(),
                    t0() + Duration::minutes(5),
                )
                .await
                .unwrap()
        }
    }))
    .await;
    let won = claims
        .iter()
        .filter(|c| matches!(c, ClaimOutcome::Claimed(_)))
        .count();
    assert_eq!(won, 1, "{claims:?}");

    // 16 workers create the report of one slot: exactly one succeeds.
    let creates = futures::future::join_all((0..16).map(|_| {
        let store = store.clone();
        async move {
            let mut r = report(org, t0());
            r.scheduled_report_id = Some(s.id);
            r.schedule_slot = Some(t0());
            store.create_report(org, &r).await
        }
    }))
    .await;
    assert_eq!(creates.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(creates
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, Error::Conflict(_))));

    // 16 generators of one chargeback period: exactly one record.
    let c = chargeback_config(org, "c");
    store.create_chargeback_config(org, &c).await.unwrap();
    let records = futures::future::join_all((0..16).map(|_| {
        let store = store.clone();
        async move {
            store
                .create_chargeback_record(
                    org,
                    &chargeback_record(org, c.id, "2026-10-01", "2026-10-31"),
                )
                .await
        }
    }))
    .await;
    assert_eq!(records.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(
        store
            .list_chargeback_records(org, Some(c.id))
            .await
            .unwrap()
            .len(),
        1
    );

    // Concurrent download counts are not lost.
    let r = report(org, t0());
    store.create_report(org, &r).await.unwrap();
    futures::future::join_all((0..20).map(|_| {
        let store = store.clone();
        async move { store.increment_download_count(org, r.id).await.unwrap() }
    }))
    .await;
    assert_eq!(
        store.get_report(org, r.id).await.unwrap().download_count,
        20
    );
}

// ---------------------------------------------------------------------------
// CostSource

/// Builds a cost source holding the given rows for the given organizations.
pub type CostSourceFactory = Box<
    dyn Fn(
        Vec<(OrganizationId, Vec<CostRow>)>,
    ) -> Pin<Box<dyn Future<Output = Arc<dyn CostSource>>>>,
>;

/// A small data set touching every dimension, both range bounds, an
/// untagged row, a credit and a second currency.
pub fn cost_rows() -> Vec<CostRow> {
    let row = |date: &str,
               provider: &str,
               model: &str,
               team: Option<&str>,
               project: &str,
               cost: Decimal,
               requests: u64| CostRow {
        date: day(date),
        timestamp: Some(
            Utc.from_utc_datetime(
                &day(date)
                    .and_hms_opt((requests % 24) as u32, 30, 0)
                    .unwrap(),
            ),
        ),
        provider: Some(provider.into()),
        model: Some(model.into()),
        model_family: None,
        team: team.map(Into::into),
        project: Some(project.into()),
        cost_center: team.map(|t| format!("CC-{t}")),
        feature: Some(
            if requests.is_multiple_of(2) {
                "chat"
            } else {
                "search"
            }
            .into(),
        ),
        user: Some(format!("user{}", requests % 3)),
        tags: [(
            "env".to_string(),
            if requests > 5 { "prod" } else { "dev" }.to_string(),
        )]
        .into(),
        cost,
        currency: None,
        requests,
        input_tokens: requests * 100,
        output_tokens: requests * 10,
        cached_requests: requests / 4,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
    };
    vec![
        row(
            "2026-09-30",
            "openai",
            "gpt-4o-2024-08-06",
            Some("search"),
            "alpha",
            dec!(1000),
            1,
        ),
        row(
            "2026-10-01",
            "openai",
            "gpt-4o-2024-08-06",
            Some("search"),
            "alpha",
            dec!(12.3456),
            10,
        ),
        row(
            "2026-10-01",
            "openai",
            "gpt-4o-mini",
            Some("ads"),
            "beta",
            dec!(0.0004),
            3,
        ),
        row(
            "2026-10-02",
            "anthropic",
            "claude-3-5-sonnet-20241022",
            Some("search"),
            "beta",
            dec!(7.25),
            4,
        ),
        row(
            "2026-10-05",
            "anthropic",
            "claude-3-5-sonnet-latest",
            None,
            "alpha",
            dec!(2.5),
            8,
        ),
        row(
            "2026-10-12",
            "openai",
            "gpt-4o",
            Some("ads"),
            "alpha",
            dec!(-1.10),
            0,
        ),
        row(
            "2026-10-31",
            "google",
            "gemini-1.5-pro",
            Some("platform"),
            "gamma",
            dec!(3.333333),
            7,
        ),
        row(
            "2026-11-01",
            "openai",
            "gpt-4o",
            Some("search"),
            "alpha",
            dec!(500),
            2,
        ),
    ]
}

fn october() -> DateRange {
    DateRange::new(day("2026-10-01"), day("2026-10-31")).unwrap()
}

fn sums(buckets: &[CostBucket]) -> BTreeMap<Vec<Option<String>>, (Decimal, u64)> {
    let mut m = BTreeMap::new();
    for b in buckets {
        let e = m.entry(b.keys.clone()).or_insert((Decimal::ZERO, 0));
        e.0 += b.cost;
        e.1 += b.requests;
    }
    m
}

fn k(v: &[Option<&str>]) -> Vec<Option<String>> {
    v.iter().map(|x| x.map(str::to_owned)).collect()
}

/// Run every cost source test.
pub async fn cost_source_suite(make: CostSourceFactory) {
    let org = OrganizationId::new();
    let other = OrganizationId::new();
    let mut eur = cost_rows()[1].clone();
    eur.currency = Some(Currency::EUR);
    eur.cost = dec!(99);
    let mut others_row = cost_rows()[1].clone();
    others_row.cost = dec!(777);
    let mut rows = cost_rows();
    rows.push(eur);
    let source = make(vec![(org, rows), (other, vec![others_row])]).await;
    let src = &*source;

    // Totals: bounds inclusive, other org invisible, currencies apart.
    let total = src
        .aggregate(org, &CostQuery::total(october()))
        .await
        .unwrap();
    let usd: Vec<_> = total
        .iter()
        .filter(|b| b.currency == Currency::USD)
        .collect();
    let eur: Vec<_> = total
        .iter()
        .filter(|b| b.currency == Currency::EUR)
        .collect();
    assert_eq!(usd.len(), 1, "{total:?}");
    assert_eq!(usd[0].cost, dec!(24.329333));
    assert_eq!(usd[0].requests, 32);
    assert_eq!(usd[0].input_tokens, 3200);
    assert_eq!(usd[0].output_tokens, 320);
    assert_eq!(usd[0].cached_requests, 6);
    assert_eq!(usd[0].keys, Vec::<Option<String>>::new());
    assert_eq!(eur.len(), 1);
    assert_eq!(eur[0].cost, dec!(99));

    // One day, both bounds.
    let first = src
        .aggregate(org, &CostQuery::total(DateRange::day(day("2026-10-01"))))
        .await
        .unwrap();
    let first_usd: Decimal = first
        .iter()
        .filter(|b| b.currency == Currency::USD)
        .map(|b| b.cost)
        .sum();
    assert_eq!(first_usd, dec!(12.3460));
    let last = src
        .aggregate(org, &CostQuery::total(DateRange::day(day("2026-10-31"))))
        .await
        .unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].cost, dec!(3.333333));

    // Nothing: empty, not a zero bucket.
    let none = src
        .aggregate(org, &CostQuery::total(DateRange::day(day("2020-01-01"))))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(src
        .aggregate(OrganizationId::new(), &CostQuery::total(october()))
        .await
        .unwrap()
        .is_empty());
    let theirs = src
        .aggregate(other, &CostQuery::total(october()))
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].cost, dec!(777));

    // Group by each dimension (USD only: filter the EUR row out by model/provider sums).
    let by = |d: Dimension| CostQuery::total(october()).group_by([d]);
    let usd_only = |b: Vec<CostBucket>| -> Vec<CostBucket> {
        b.into_iter()
            .filter(|b| b.currency == Currency::USD)
            .collect()
    };

    let team = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Team)).await.unwrap(),
    ));
    assert_eq!(
        team,
        BTreeMap::from([
            (k(&[None]), (dec!(2.5), 8)),
            (k(&[Some("ads")]), (dec!(-1.0996), 3)),
            (k(&[Some("platform")]), (dec!(3.333333), 7)),
            (k(&[Some("search")]), (dec!(19.5956), 14)),
        ])
    );
    let provider = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Provider)).await.unwrap(),
    ));
    assert_eq!(
        provider,
        BTreeMap::from([
            (k(&[Some("anthropic")]), (dec!(9.75), 12)),
            (k(&[Some("google")]), (dec!(3.333333), 7)),
            (k(&[Some("openai")]), (dec!(11.2460), 13)),
        ])
    );
    let model = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Model)).await.unwrap(),
    ));
    assert_eq!(model.len(), 6);
    assert_eq!(model[&k(&[Some("gpt-4o")])], (dec!(-1.10), 0));
    let family = sums(&usd_only(
        src.aggregate(org, &by(Dimension::ModelFamily))
            .await
            .unwrap(),
    ));
    assert_eq!(
        family,
        BTreeMap::from([
            (k(&[Some("claude-3-5-sonnet")]), (dec!(9.75), 12)),
            (k(&[Some("gemini-1.5-pro")]), (dec!(3.333333), 7)),
            (k(&[Some("gpt-4o")]), (dec!(11.2456), 10)),
            (k(&[Some("gpt-4o-mini")]), (dec!(0.0004), 3)),
        ])
    );
    let project = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Project)).await.unwrap(),
    ));
    assert_eq!(project[&k(&[Some("alpha")])], (dec!(13.7456), 18));
    assert_eq!(project[&k(&[Some("beta")])], (dec!(7.2504), 7));
    assert_eq!(project[&k(&[Some("gamma")])], (dec!(3.333333), 7));
    let cc = sums(&usd_only(
        src.aggregate(org, &by(Dimension::CostCenter))
            .await
            .unwrap(),
    ));
    assert_eq!(cc[&k(&[None])], (dec!(2.5), 8));
    assert_eq!(cc[&k(&[Some("CC-search")])], (dec!(19.5956), 14));
    let feature = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Feature)).await.unwrap(),
    ));
    assert_eq!(feature[&k(&[Some("chat")])], (dec!(20.9956), 22));
    assert_eq!(feature[&k(&[Some("search")])], (dec!(3.333733), 10));
    let user = sums(&usd_only(
        src.aggregate(org, &by(Dimension::User)).await.unwrap(),
    ));
    assert_eq!(user[&k(&[Some("user1")])], (dec!(22.928933), 21));
    let env = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Tag("env".into())))
            .await
            .unwrap(),
    ));
    assert_eq!(env[&k(&[Some("prod")])], (dec!(18.178933), 25));
    assert_eq!(env[&k(&[Some("dev")])], (dec!(6.1504), 7));
    let missing_tag = sums(&usd_only(
        src.aggregate(org, &by(Dimension::Tag("nope".into())))
            .await
            .unwrap(),
    ));
    assert_eq!(
        missing_tag.keys().cloned().collect::<Vec<_>>(),
        vec![k(&[None])]
    );

    // Two dimensions at once, keys in query order.
    let two = sums(&usd_only(
        src.aggregate(
            org,
            &CostQuery::total(october()).group_by([Dimension::Team, Dimension::Provider]),
        )
        .await
        .unwrap(),
    ));
    assert_eq!(
        two[&k(&[Some("search"), Some("anthropic")])],
        (dec!(7.25), 4)
    );
    assert_eq!(
        two[&k(&[Some("search"), Some("openai")])],
        (dec!(12.3456), 10)
    );
    assert_eq!(two.len(), 5);

    // Filters: every list, combined with AND, a missing value fails the filter.
    let f = |filters: ReportFilters| CostQuery::total(october()).filtered(filters);
    let cost_of = |b: Vec<CostBucket>| -> Decimal {
        b.iter()
            .filter(|b| b.currency == Currency::USD)
            .map(|b| b.cost)
            .sum()
    };
    assert_eq!(
        cost_of(
            src.aggregate(
                org,
                &f(ReportFilters {
                    teams: vec!["search".into(), "ads".into()],
                    ..Default::default()
                })
            )
            .await
            .unwrap()
        ),
        dec!(18.4960)
    );
    assert_eq!(
        cost_of(
            src.aggregate(
                org,
                &f(ReportFilters {
                    providers: vec!["anthropic".into()],
                    ..Default::default()
                })
            )
            .await
            .unwrap()
        ),
        dec!(9.75)
    );
    assert_eq!(
        cost_of(
            src.aggregate(
                org,
                &f(ReportFilters {
                    models: vec!["gpt-4o-mini".into()],
                    ..Default::default()
                })
            )
            .await
            .unwrap()
        ),
        dec!(0.0004)
    );
    assert_eq!(
        cost_of(
            src.aggregate(
                org,
                &f(ReportFilters {
                    projects: vec!["beta".into()],
                    teams: vec!["search".into()],
                    ..Default::default()
                })
            )
            .await
            .unwrap()
        ),
        dec!(7.25)
    );
    assert_eq!(
        cost_of(
            src.aggregate(
                org,
                &f(ReportFilters {
                    cost_centers: vec!["CC-platform".into()],
                    ..Default::default()
                })
            )
            .await
            .unwrap()
        ),
        dec!(3.333333)
    );
    assert!(src
        .aggregate(
            org,
            &f(ReportFilters {
                teams: vec!["nobody".into()],
                ..Default::default()
            })
        )
        .await
        .unwrap()
        .is_empty());

    // Time buckets.
    let daily = usd_only(
        src.aggregate(org, &CostQuery::total(october()).bucketed(Granularity::Day))
            .await
            .unwrap(),
    );
    assert_eq!(daily.len(), 5, "one bucket per day with usage: {daily:?}");
    let oct2 = daily
        .iter()
        .find(|b| b.period_start == Some(day("2026-10-02").and_hms_opt(0, 0, 0).unwrap()))
        .unwrap();
    assert_eq!(oct2.cost, dec!(7.25));
    let weekly = sums_by_period(&usd_only(
        src.aggregate(
            org,
            &CostQuery::total(october()).bucketed(Granularity::Week),
        )
        .await
        .unwrap(),
    ));
    assert_eq!(
        weekly,
        BTreeMap::from([
            (day("2026-09-28"), dec!(19.5960)),
            (day("2026-10-05"), dec!(2.5)),
            (day("2026-10-12"), dec!(-1.10)),
            (day("2026-10-26"), dec!(3.333333)),
        ])
    );
    let monthly = sums_by_period(&usd_only(
        src.aggregate(
            org,
            &CostQuery::total(DateRange::new(day("2026-09-01"), day("2026-11-30")).unwrap())
                .bucketed(Granularity::Month),
        )
        .await
        .unwrap(),
    ));
    assert_eq!(
        monthly,
        BTreeMap::from([
            (day("2026-09-01"), dec!(1000)),
            (day("2026-10-01"), dec!(24.329333)),
            (day("2026-11-01"), dec!(500)),
        ])
    );
    let hourly = usd_only(
        src.aggregate(
            org,
            &CostQuery::total(DateRange::day(day("2026-10-01"))).bucketed(Granularity::Hour),
        )
        .await
        .unwrap(),
    );
    let hours: BTreeMap<_, _> = hourly
        .iter()
        .map(|b| (b.period_start.unwrap().format("%H:%M").to_string(), b.cost))
        .collect();
    assert_eq!(
        hours,
        BTreeMap::from([
            ("03:00".to_string(), dec!(0.0004)),
            ("10:00".to_string(), dec!(12.3456))
        ])
    );
    // Buckets and groups together.
    let daily_team = usd_only(
        src.aggregate(
            org,
            &CostQuery::total(october())
                .bucketed(Granularity::Day)
                .group_by([Dimension::Team]),
        )
        .await
        .unwrap(),
    );
    assert_eq!(daily_team.len(), 6);

    // Invalid queries are errors, not panics.
    let too_long = CostQuery::total(DateRange::new(day("2019-01-01"), day("2026-01-01")).unwrap());
    assert!(matches!(
        src.aggregate(org, &too_long).await,
        Err(Error::Invalid { .. })
    ));

    aggregate_many_matches_aggregate(src, org).await;
    assert!(matches!(
        src.aggregate_many(org, &[CostQuery::total(october()), too_long])
            .await,
        Err(Error::Invalid { .. })
    ));
}

fn sorted(mut buckets: Vec<CostBucket>) -> Vec<CostBucket> {
    buckets.sort_by(|a, b| {
        (a.period_start, &a.keys, a.currency.code()).cmp(&(
            b.period_start,
            &b.keys,
            b.currency.code(),
        ))
    });
    buckets
}

/// `aggregate_many` answers each query exactly as `aggregate` does, however
/// the queries share ranges, filters, dimensions and granularities.
async fn aggregate_many_matches_aggregate(src: &dyn CostSource, org: OrganizationId) {
    let oct = october();
    let week = DateRange::new(day("2026-10-01"), day("2026-10-07")).unwrap();
    let search = ReportFilters {
        teams: vec!["search".into()],
        ..Default::default()
    };
    let queries = vec![
        CostQuery::total(oct),
        CostQuery::total(oct).group_by([Dimension::Provider]),
        CostQuery::total(oct).group_by([Dimension::Model]),
        CostQuery::total(oct).group_by([Dimension::ModelFamily]),
        CostQuery::total(oct).group_by([Dimension::Team]),
        // The same grouping twice, and the same dimensions in another order.
        CostQuery::total(oct).group_by([Dimension::Team]),
        CostQuery::total(oct).group_by([Dimension::Team, Dimension::Model]),
        CostQuery::total(oct).group_by([Dimension::Model, Dimension::Team]),
        CostQuery::total(oct).group_by([Dimension::Tag("env".into())]),
        CostQuery::total(oct).group_by([Dimension::Tag("missing".into()), Dimension::User]),
        CostQuery::total(oct).bucketed(Granularity::Day),
        CostQuery::total(oct).bucketed(Granularity::Week),
        CostQuery::total(oct).bucketed(Granularity::Hour),
        CostQuery::total(oct)
            .bucketed(Granularity::Day)
            .group_by([Dimension::Provider, Dimension::Feature]),
        CostQuery::total(oct).group_by([Dimension::Project, Dimension::CostCenter]),
        // Another range and other filters.
        CostQuery::total(week).group_by([Dimension::Provider]),
        CostQuery::total(week),
        CostQuery::total(oct)
            .filtered(search.clone())
            .group_by([Dimension::Model]),
        CostQuery::total(oct)
            .filtered(search)
            .bucketed(Granularity::Month),
        // Only totals in a group.
        CostQuery::total(DateRange::day(day("2026-10-01"))),
        CostQuery::total(DateRange::day(day("2026-10-01"))),
        // Alone in its group.
        CostQuery::total(DateRange::day(day("2026-10-31"))).group_by([Dimension::Team]),
    ];
    let many = src.aggregate_many(org, &queries).await.unwrap();
    assert_eq!(many.len(), queries.len());
    for (i, (query, got)) in queries.iter().zip(many).enumerate() {
        let one = src.aggregate(org, query).await.unwrap();
        assert!(!one.is_empty(), "query {i} finds rows");
        assert_eq!(sorted(got), sorted(one), "query {i}: {query:?}");
    }
    assert!(src.aggregate_many(org, &[]).await.unwrap().is_empty());
}

fn sums_by_period(buckets: &[CostBucket]) -> BTreeMap<NaiveDate, Decimal> {
    let mut m = BTreeMap::new();
    for b in buckets {
        *m.entry(b.period_start.unwrap().date())
            .or_insert(Decimal::ZERO) += b.cost;
    }
    m
}
