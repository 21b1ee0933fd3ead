//! Faults against a real PostgreSQL: four engines run 120 due schedules
//! (two recipients each) while another connection terminates the engines'
//! backends every 50–150 ms for ten seconds. A retryable store error is
//! retried, never turned into a failed report: every slot ends with exactly
//! one completed report and one successful run, and every recipient gets
//! its report exactly once.
//!
//! Runs only when `DATABASE_URL` is set; otherwise prints `SKIPPED`.

#![cfg(feature = "postgres")]

mod pg_common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, TimeZone, Utc};
use pg_common::{url, Schema};
use sqlx::postgres::PgPool;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, RecordingDeliverer};
use tokentra_reports::backends::postgres::PostgresStore;
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::{CostSource, GeneratedReportStore, ReportListQuery, ScheduleStore};

/// Terminate every backend of `app` until `stop`; returns how many.
async fn killer(admin: PgPool, app: String, stop: Arc<AtomicBool>) -> i64 {
    let mut killed = 0;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let row: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()) t",
        )
        .bind(&app)
        .fetch_one(&admin)
        .await
        .unwrap();
        killed += row.0;
        n += 1;
        // 50 to 150 ms, varying.
        tokio::time::sleep(StdDuration::from_millis(50 + (n * 37) % 101)).await;
    }
    killed
}

/// A cost source answering after 150 ms.
struct Latent(MemoryCostSource);

#[async_trait::async_trait]
impl CostSource for Latent {
    async fn aggregate(
        &self,
        org: OrganizationId,
        query: &CostQuery,
    ) -> tokentra_reports::Result<Vec<CostBucket>> {
        tokio::time::sleep(StdDuration::from_millis(150)).await;
        self.0.aggregate(org, query).await
    }
}

fn schedule(i: usize) -> ScheduleInput {
    ScheduleInput {
        name: format!("daily {i}"),
        description: None,
        template_id: None,
        report_type: Some(ReportType::Executive),
        frequency: Frequency::Daily,
        schedule_config: ScheduleConfig {
            time: TimeOfDay::parse("08:00").unwrap(),
            timezone: Timezone::parse(["Europe/Paris", "America/New_York", "Asia/Tokyo"][i % 3])
                .unwrap(),
            ..Default::default()
        },
        filters: ReportFilters::default(),
        recipients: vec![
            ReportRecipient::email(format!("finance-{i}@example.com")),
            ReportRecipient::email(format!("ops-{i}@example.com")),
        ],
        format: ReportFormat::Json,
        is_active: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connections_never_fail_a_report_or_send_twice() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let app = format!("tokentra-fault-{}", schema.name);
    // The seed store is not killed (another application name).
    let seed = PostgresStore::from_pool(schema.pool_named(2, "tokentra-seed").await);
    seed.migrate().await.unwrap();

    let orgs: Vec<OrganizationId> = (0..4).map(|_| OrganizationId::new()).collect();
    // A warehouse that takes a moment per query, so the work spreads over
    // the ten seconds of faults.
    let costs: Arc<dyn CostSource> = Arc::new(Latent(MemoryCostSource::new()));
    let created = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let clock = ManualClock::new(created);
    let deliverer = RecordingDeliverer::new();
    let make = |store: PostgresStore, name: String| {
        Engine::builder()
            .cost_source(costs.clone())
            .store(Arc::new(store))
            .clock(Arc::new(clock.clone()))
            .deliverer(Arc::new(deliverer.clone()))
            .config(EngineConfig {
                worker_id: name,
                lease: Duration::minutes(2),
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    let admin_engine = make(seed.clone(), "admin".into());
    let mut schedules = Vec::new();
    for i in 0..120 {
        let org = orgs[i % orgs.len()];
        let s = admin_engine
            .create_schedule(org, schedule(i), None)
            .await
            .unwrap();
        schedules.push(s);
    }
    // Every schedule's first slot has passed (the last is New York's 08:00
    // on 2 November, 13:00 UTC); the next (Tokyo's) is 9.5 hours later.
    let last_slot = schedules
        .iter()
        .filter_map(|s| s.next_run_at)
        .max()
        .unwrap();
    clock.set(last_slot + Duration::minutes(30));

    let stop_kill = Arc::new(AtomicBool::new(false));
    let stop_work = Arc::new(AtomicBool::new(false));
    let kill = tokio::spawn(killer(schema.admin.clone(), app.clone(), stop_kill.clone()));
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = PostgresStore::from_pool(schema.pool_named(4, &app).await);
        let engine = make(store, format!("engine-{w}"));
        let stop = stop_work.clone();
        workers.push(tokio::spawn(async move {
            let mut errors = 0usize;
            let mut failed_runs = 0usize;
            while !stop.load(Ordering::SeqCst) {
                match engine.run_due().await {
                    Ok(s) => failed_runs += s.failed,
                    Err(_) => errors += 1,
                }
                if engine.retry_failed_deliveries().await.is_err() {
                    errors += 1;
                }
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            }
            (errors, failed_runs)
        }));
    }
    let started = Instant::now();
    let mut all_sent_at = None;
    while started.elapsed() < StdDuration::from_secs(10) {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        if all_sent_at.is_none() && deliverer.sent().len() >= 240 {
            all_sent_at = Some(started.elapsed());
        }
    }
    eprintln!("all sent after {all_sent_at:?} (faults for 10 s)");
    stop_kill.store(true, Ordering::SeqCst);
    let killed = kill.await.unwrap();
    assert!(
        killed > 20,
        "the faults happened: {killed} backends terminated"
    );

    // Without faults the engines finish: claims left by calls that failed
    // mid-way run out (the clock moves past every lease), slots recorded
    // but not moved on are repaired, deliveries left unfinished are taken up.
    let deadline = Instant::now() + StdDuration::from_secs(90);
    let done = loop {
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        // A minute a round: past every lease soon, far from the next slot.
        clock.advance(Duration::minutes(1));
        let mut pending = 0;
        for s in &schedules {
            let now = seed.get_schedule(s.organization_id, s.id).await.unwrap();
            if now.next_run_at == s.next_run_at {
                pending += 1;
            }
        }
        let mut undelivered = 0;
        for org in &orgs {
            let page = seed
                .list_reports(
                    *org,
                    &ReportListQuery {
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            undelivered += page
                .reports
                .iter()
                .filter(|r| r.distributed_at.is_none())
                .count();
            undelivered += 30usize.saturating_sub(page.reports.len());
        }
        if pending == 0 && undelivered == 0 {
            break true;
        }
        if Instant::now() > deadline {
            eprintln!(
                "not done: {pending} schedules not moved on, {undelivered} reports not delivered"
            );
            break false;
        }
    };
    stop_work.store(true, Ordering::SeqCst);
    let mut failed_runs = 0;
    for w in workers {
        let (errors, failed) = w.await.unwrap();
        eprintln!("worker: {errors} calls ended in a store error");
        failed_runs += failed;
    }
    assert!(done, "the engines finished after the faults");
    assert_eq!(failed_runs, 0, "no run failed");

    // Every slot: one run, successful; one report, completed and delivered.
    let mut reports = HashMap::new();
    for s in &schedules {
        let org = s.organization_id;
        let runs = seed.list_runs(org, s.id).await.unwrap();
        assert_eq!(runs.len(), 1, "one run for {}", s.name);
        assert_eq!(runs[0].status, RunStatus::Success, "{:?}", runs[0].error);
        let page = seed
            .list_reports(
                org,
                &ReportListQuery {
                    scheduled_report_id: Some(s.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.reports.len(), 1, "one report for {}", s.name);
        let r = &page.reports[0];
        assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error_message);
        assert_eq!(runs[0].report_id, Some(r.id));
        assert!(r
            .distribution_status
            .iter()
            .all(|d| d.status == DeliveryState::Sent));
        assert!(seed.get_artifact(org, r.id).await.is_ok());
        reports.insert(r.id, s.recipients.clone());
    }
    // Each recipient exactly once.
    let mut sends: HashMap<(ReportId, String), usize> = HashMap::new();
    for d in deliverer.sent() {
        *sends
            .entry((d.report_id.unwrap(), d.recipient.address.clone()))
            .or_default() += 1;
    }
    let twice: Vec<_> = sends.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(sends.len(), 240, "every recipient of every report");
    for (id, recipients) in &reports {
        for r in recipients {
            assert_eq!(sends.get(&(*id, r.address.clone())), Some(&1));
        }
    }

    seed.pool().close().await;
    schema.drop().await;
}

/// One organization's unreadable schedule row (PostgreSQL picks due rows
/// with `SKIP LOCKED`, then reads each) never stops `run_due` for the rest.
#[tokio::test]
async fn an_unreadable_schedule_row_does_not_stop_run_due() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let store = schema.store(2).await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap());
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let mut schedules = Vec::new();
    for i in 0..3 {
        let mut input = schedule(i);
        input.recipients.clear();
        let s = engine
            .create_schedule(OrganizationId::new(), input, None)
            .await
            .unwrap();
        schedules.push(s);
    }
    sqlx::query("UPDATE scheduled_reports SET frequency = 'fortnightly' WHERE id = $1")
        .bind(schedules[1].id.0)
        .execute(store.pool())
        .await
        .unwrap();
    clock.advance(Duration::days(1));
    let stats = engine.run_due().await.unwrap();
    assert_eq!(stats.succeeded, 2, "{stats:?}");
    for i in [0, 2] {
        let s = &schedules[i];
        let after = store.get_schedule(s.organization_id, s.id).await.unwrap();
        assert_eq!(after.run_count, 1);
    }
    store.pool().close().await;
    schema.drop().await;
}
