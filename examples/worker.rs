//! The ready-made worker loop over in-memory backends: three simulated days
//! (a manual clock advanced 15 minutes every few milliseconds), a daily and
//! a weekly schedule in different time zones, two digest users, then a
//! graceful stop.
//!
//! ```sh
//! cargo run --example worker
//! ```

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::jobs::{Worker, WorkerConfig};
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::Clock;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let org = OrganizationId::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = read_cost_rows_csv(std::fs::File::open(path)?, "demo")?;
    let start = Utc.with_ymd_and_hms(2026, 10, 30, 0, 0, 0).unwrap();
    let end = start + Duration::days(3);
    let clock = ManualClock::new(start);
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .deliverer(Arc::new(deliverer.clone()))
        .clock(Arc::new(clock.clone()))
        .config(EngineConfig {
            worker_id: "example-worker".into(),
            ..Default::default()
        })
        .build()?;

    for (name, frequency, zone, time) in [
        (
            "Daily spend (Tokyo)",
            Frequency::Daily,
            "Asia/Tokyo",
            "07:30",
        ),
        (
            "Weekly exec (New York)",
            Frequency::Weekly,
            "America/New_York",
            "08:00",
        ),
    ] {
        let s = engine
            .create_schedule(
                org,
                ScheduleInput {
                    name: name.into(),
                    description: None,
                    template_id: None,
                    report_type: Some(ReportType::Executive),
                    frequency,
                    schedule_config: ScheduleConfig {
                        time: TimeOfDay::parse(time)?,
                        timezone: Timezone::parse(zone)?,
                        day_of_week: 0,
                        ..Default::default()
                    },
                    filters: ReportFilters::default(),
                    recipients: vec![ReportRecipient::email("finance@example.com")],
                    format: ReportFormat::Json,
                    is_active: true,
                },
                None,
            )
            .await?;
        println!(
            "scheduled {:<24} next run {}",
            s.name,
            s.next_run_at.unwrap()
        );
    }
    for (i, zone) in ["Europe/Berlin", "Asia/Kolkata"].into_iter().enumerate() {
        let mut p = engine
            .digest_preferences(org, UserId::new(), &format!("user{i}@example.com"))
            .await?;
        p.frequency = DigestFrequency::Daily;
        p.timezone = Timezone::parse(zone)?;
        p.last_sent_at = Some(start);
        engine.upsert_digest_preferences(org, p).await?;
    }

    // Simulated time: 15 minutes every 5 ms of real time.
    let ticker = {
        let clock = clock.clone();
        tokio::spawn(async move {
            while clock.now() < end {
                tokio::time::sleep(StdDuration::from_millis(5)).await;
                clock.advance(Duration::minutes(15));
            }
        })
    };
    let worker = Worker::new(
        engine.clone(),
        WorkerConfig {
            scheduled_reports: StdDuration::from_millis(5),
            digests: StdDuration::from_millis(5),
            chargebacks: StdDuration::from_millis(50),
            cleanup: StdDuration::from_millis(50),
            deliveries: StdDuration::from_millis(5),
        },
    )?;
    let shutdown = {
        let clock = clock.clone();
        async move {
            while clock.now() < end {
                tokio::time::sleep(StdDuration::from_millis(5)).await;
            }
        }
    };
    let stats = worker.run(shutdown).await;
    ticker.await?;
    println!(
        "worker stopped at {}: {} ticks, {} scheduled runs, {} digests, {} errors",
        clock.now(),
        stats.ticks,
        stats.runs,
        stats.digests,
        stats.errors
    );
    for d in deliverer.sent() {
        println!(
            "  sent {:?} to {}: {}",
            d.kind, d.recipient.address, d.subject
        );
    }
    Ok(())
}
