//! The worker loop ticks the jobs and stops gracefully.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::jobs::{Worker, WorkerConfig};
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::Clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_runs_jobs_until_shutdown() {
    let org = OrganizationId::new();
    let rows = vec![CostRow {
        date: "2026-10-30".parse().unwrap(),
        provider: Some("openai".into()),
        cost: Decimal::new(500, 2),
        requests: 5,
        ..Default::default()
    }];
    let start = Utc.with_ymd_and_hms(2026, 10, 30, 0, 0, 0).unwrap();
    let clock = ManualClock::new(start);
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .deliverer(Arc::new(deliverer.clone()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    engine
        .create_schedule(
            org,
            ScheduleInput {
                name: "Daily".into(),
                description: None,
                template_id: None,
                report_type: Some(ReportType::Executive),
                frequency: Frequency::Daily,
                schedule_config: ScheduleConfig::default(),
                filters: ReportFilters::default(),
                recipients: vec![ReportRecipient::email("a@example.com")],
                format: ReportFormat::Json,
                is_active: true,
            },
            None,
        )
        .await
        .unwrap();
    let fast = StdDuration::from_millis(2);
    let worker = Worker::new(
        engine,
        WorkerConfig {
            scheduled_reports: fast,
            digests: fast,
            chargebacks: fast,
            cleanup: fast,
            deliveries: fast,
        },
    )
    .unwrap();
    let end = start + Duration::days(2);
    let c = clock.clone();
    let stepper = tokio::spawn(async move {
        while c.now() < end {
            // 5 ms per simulated hour: the worker (ticking every 2 ms) sees
            // each slot's day many times.
            tokio::time::sleep(StdDuration::from_millis(5)).await;
            c.advance(Duration::hours(1));
        }
    });
    let c = clock.clone();
    let d = deliverer.clone();
    let stats = worker
        .run(async move {
            while c.now() < end {
                tokio::time::sleep(StdDuration::from_millis(2)).await;
            }
            // Give the worker time to tick after the last step (bounded, so
            // a worker that never runs the second slot fails the test).
            for _ in 0..2500 {
                if d.sent().len() >= 2 {
                    break;
                }
                tokio::time::sleep(StdDuration::from_millis(2)).await;
            }
        })
        .await;
    stepper.await.unwrap();
    // Daily 09:00 UTC slots on 30 and 31 October.
    assert_eq!(stats.runs, 2, "{stats:?}");
    assert_eq!(stats.errors, 0);
    assert!(stats.ticks > 10);
    assert_eq!(deliverer.sent().len(), 2);
}
