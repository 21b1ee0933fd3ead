//! Two engines sharing scheduled runs through PostgreSQL.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example postgres_worker --features postgres
//! ```
//!
//! Migrates a schema of its own (`tokentra_example`, dropped at the end),
//! loads the bundled demo usage into `cost_usage`, creates six weekly
//! executive reports (Monday 08:00 in three time zones), and lets two
//! engines, each on its own connection pool as two processes would be, call
//! `run_due` at the same moment. They claim schedules with `FOR UPDATE SKIP
//! LOCKED` plus a lease, so each slot runs exactly once: six reports, each
//! generated from the data in PostgreSQL and delivered once.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{ManualClock, RecordingDeliverer};
use tokentra_reports::backends::postgres::{PostgresCostSource, PostgresStore};
use tokentra_reports::backends::sql::UsageTable;
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::GeneratedReportStore;

const SCHEMA: &str = "tokentra_example";

async fn store(url: &str) -> tokentra_reports::Result<PostgresStore> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| tokentra_reports::Error::invalid("DATABASE_URL", e))?
        .options([("search_path", SCHEMA)]);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .map_err(|e| tokentra_reports::Error::backend("postgres", true, e))?;
    Ok(PostgresStore::from_pool(pool))
}

/// An engine as one process of the host would build it: its own pool, the
/// shared clock (a fixed instant keeps the example repeatable) and a
/// deliverer that records what it sends.
async fn engine(
    url: &str,
    name: &str,
    clock: &ManualClock,
    sent: &RecordingDeliverer,
) -> tokentra_reports::Result<Engine> {
    let store = store(url).await?;
    let costs = PostgresCostSource::new(store.pool().clone(), &UsageTable::default())?;
    Engine::builder()
        .store(Arc::new(store))
        .cost_source(Arc::new(costs))
        .deliverer(Arc::new(sent.clone()))
        .clock(Arc::new(clock.clone()))
        .config(EngineConfig {
            worker_id: name.into(),
            ..Default::default()
        })
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("SKIPPED: set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test");
        return Ok(());
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    for sql in [
        format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"),
        format!("CREATE SCHEMA {SCHEMA}"),
    ] {
        sqlx::query(&sql).execute(&admin).await?;
    }

    let seed = store(&url).await?;
    seed.migrate().await?;
    let org = OrganizationId::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = read_cost_rows_csv(std::fs::File::open(path)?, "demo")?;
    let costs = PostgresCostSource::new(seed.pool().clone(), &UsageTable::default())?;
    let n = costs.insert_rows(org, &rows).await?;
    println!("loaded {n} usage rows into {SCHEMA}.cost_usage");

    // Create the schedules on Sunday 1 November 2026; their first slots are
    // Monday 2 November, 08:00 local time.
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap());
    let sent = RecordingDeliverer::new();
    let a = engine(&url, "engine-a", &clock, &sent).await?;
    let b = engine(&url, "engine-b", &clock, &sent).await?;
    for (i, zone) in ["Europe/Berlin", "America/New_York", "Asia/Tokyo"]
        .iter()
        .cycle()
        .take(6)
        .enumerate()
    {
        let s = a
            .create_schedule(
                org,
                ScheduleInput {
                    name: format!("Weekly executive #{} ({zone})", i + 1),
                    description: None,
                    template_id: None,
                    report_type: Some(ReportType::Executive),
                    frequency: Frequency::Weekly,
                    schedule_config: ScheduleConfig {
                        time: TimeOfDay::parse("08:00")?,
                        timezone: Timezone::parse(zone)?,
                        day_of_week: 1,
                        ..Default::default()
                    },
                    filters: ReportFilters::default(),
                    recipients: vec![ReportRecipient::email("cfo@example.com")],
                    format: ReportFormat::Json,
                    is_active: true,
                },
                None,
            )
            .await?;
        println!("{}: next run {:?}", s.name, s.next_run_at);
    }

    // Tuesday: every slot is due; both engines run the job at once.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 3, 6, 0, 0).unwrap());
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    let (ra, rb) = (ra?, rb?);
    println!("engine-a ran {}, engine-b ran {}", ra.ran, rb.ran);
    // Running again finds nothing due.
    let again = a.run_due().await?;
    let page = seed.list_reports(org, &Default::default()).await?;
    println!(
        "{} reports for 6 slots, {} deliveries, {} run on the second call",
        page.reports.len(),
        sent.sent().len(),
        again.ran
    );
    for r in &page.reports {
        let total = r.summary_data.as_ref().map(|s| s.total_cost.to_string());
        println!(
            "  {} [{:?}] total {}",
            r.name,
            r.status,
            total.unwrap_or_default()
        );
    }
    sqlx::query(&format!("DROP SCHEMA {SCHEMA} CASCADE"))
        .execute(&admin)
        .await?;
    Ok(())
}
