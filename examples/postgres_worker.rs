//! Two workers sharing scheduled runs through PostgreSQL.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example postgres_worker --features postgres
//! ```
//!
//! Migrates a schema of its own (`tokentra_example`, dropped at the end),
//! seeds six due weekly schedules, and runs two workers, each on its own
//! connection pool as two processes would. Each worker claims due slots
//! with `claim_due_runs` (`FOR UPDATE SKIP LOCKED` plus a lease), records a
//! report for the slot, finishes the run and moves the schedule to its next
//! slot. Every slot runs exactly once. (This works at the store level; the
//! engine's `run_due` drives the same ports.)

use std::str::FromStr;

use chrono::{Duration, TimeZone, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokentra_reports::backends::postgres::PostgresStore;
use tokentra_reports::model::*;
use tokentra_reports::ports::{GeneratedReportStore, RunOutcome, ScheduleStore};

const SCHEMA: &str = "tokentra_example";

async fn store(url: &str) -> tokentra_reports::Result<PostgresStore> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| tokentra_reports::Error::invalid("DATABASE_URL", e))?
        .options([("search_path", SCHEMA)]);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(opts)
        .await
        .map_err(|e| tokentra_reports::Error::backend("postgres", true, e))?;
    Ok(PostgresStore::from_pool(pool))
}

async fn work(store: PostgresStore, name: &'static str) -> tokentra_reports::Result<usize> {
    // The host's Clock would give `now`; a fixed instant keeps the example repeatable.
    let now = Utc.with_ymd_and_hms(2026, 10, 5, 8, 1, 0).unwrap();
    let mut ran = 0;
    loop {
        let claimed = store
            .claim_due_runs(name, now, now + Duration::minutes(10), 2)
            .await?;
        if claimed.is_empty() {
            return Ok(ran);
        }
        for (schedule, run) in claimed {
            let org = schedule.organization_id;
            let report = GeneratedReport {
                id: ReportId::new(),
                organization_id: org,
                template_id: schedule.template_id,
                scheduled_report_id: Some(schedule.id),
                schedule_slot: Some(run.slot),
                name: format!("{} {}", schedule.name, run.slot.date_naive()),
                report_type: schedule.report_type,
                format: schedule.format,
                date_range: DateRange::new(
                    (run.slot - Duration::days(7)).date_naive(),
                    (run.slot - Duration::days(1)).date_naive(),
                )?,
                comparison_range: None,
                filters: schedule.filters.clone(),
                status: ReportStatus::Completed,
                file_size: None,
                page_count: None,
                checksum: None,
                summary_data: None,
                recipients: schedule.recipients.clone(),
                distribution_status: vec![],
                distributed_at: None,
                generation_time_ms: None,
                error_message: None,
                expires_at: now + Duration::days(DEFAULT_REPORT_EXPIRY_DAYS),
                download_count: 0,
                created_by: None,
                created_at: now,
                completed_at: Some(now),
            };
            store.create_report(org, &report).await?;
            let outcome = RunOutcome {
                status: RunStatus::Success,
                report_id: Some(report.id),
                error: None,
            };
            store
                .finish_run(org, schedule.id, run.slot, name, &outcome, now)
                .await?;
            let mut next = schedule.clone();
            next.last_run_at = Some(run.slot);
            next.next_run_at = Some(run.slot + Duration::days(7));
            next.last_status = Some(RunStatus::Success);
            next.run_count += 1;
            store.update_schedule(org, &next).await?;
            println!("{name} ran {:?} for slot {}", schedule.name, run.slot);
            ran += 1;
        }
    }
}

#[tokio::main]
async fn main() -> tokentra_reports::Result<()> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("SKIPPED: set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test");
        return Ok(());
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .map_err(|e| tokentra_reports::Error::backend("postgres", true, e))?;
    let ddl = |sql: String| {
        let admin = admin.clone();
        async move {
            sqlx::query(&sql)
                .execute(&admin)
                .await
                .map_err(|e| tokentra_reports::Error::backend("postgres", false, e))
        }
    };
    ddl(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")).await?;
    ddl(format!("CREATE SCHEMA {SCHEMA}")).await?;

    let seed = store(&url).await?;
    seed.migrate().await?;
    let org = OrganizationId::new();
    let slot = Utc.with_ymd_and_hms(2026, 10, 5, 8, 0, 0).unwrap();
    for i in 1..=6 {
        let s = ScheduledReport {
            id: ScheduledReportId::new(),
            organization_id: org,
            template_id: None,
            report_type: ReportType::Executive,
            name: format!("Weekly executive #{i}"),
            description: None,
            frequency: Frequency::Weekly,
            schedule_config: ScheduleConfig::default(),
            filters: ReportFilters::default(),
            recipients: vec![ReportRecipient::email("cfo@example.com")],
            format: ReportFormat::Pdf,
            is_active: true,
            last_run_at: None,
            next_run_at: Some(slot),
            last_status: None,
            last_error: None,
            run_count: 0,
            consecutive_failures: 0,
            paused_reason: None,
            created_by: None,
            created_at: slot - Duration::days(30),
            updated_at: slot - Duration::days(30),
        };
        seed.create_schedule(org, &s).await?;
    }

    let (a, b) = (store(&url).await?, store(&url).await?);
    let (ra, rb) = tokio::join!(work(a, "worker-a"), work(b, "worker-b"));
    let (ra, rb) = (ra?, rb?);
    let page = seed.list_reports(org, &Default::default()).await?;
    println!(
        "worker-a ran {ra}, worker-b ran {rb}; {} reports for 6 slots",
        page.reports.len()
    );
    ddl(format!("DROP SCHEMA {SCHEMA} CASCADE")).await?;
    Ok(())
}
