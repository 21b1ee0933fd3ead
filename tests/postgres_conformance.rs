//! The shared conformance suite against the PostgreSQL backends, plus the
//! many-workers guarantees, faults and migrations, on a real server.
//!
//! Runs only when `DATABASE_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`); otherwise every test prints
//! `SKIPPED: DATABASE_URL not set` and passes. Each test works in a fresh
//! schema (`CREATE SCHEMA t_<uuid>`, then `search_path` on every
//! connection) and drops it at the end, so tests run in parallel.

#![cfg(feature = "postgres")]

mod conformance;
mod pg_common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use pg_common::{url, Schema};
use rust_decimal_macros::dec;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, RecordingDeliverer};
use tokentra_reports::backends::postgres::{PostgresCostSource, PostgresStore};
use tokentra_reports::backends::sql::UsageTable;
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::*;
use tokentra_reports::Error;

#[tokio::test]
async fn postgres_store_passes_the_report_store_suite() {
    let Some(url) = url() else { return };
    let schemas = std::sync::Mutex::new(Vec::new());
    conformance::report_store_suite(|| {
        let url = url.clone();
        let schemas = &schemas;
        async move {
            let schema = Schema::new(&url).await;
            let store = schema.store(8).await;
            schemas.lock().unwrap().push(schema);
            Arc::new(store) as Arc<dyn ReportStore>
        }
    })
    .await;
    for s in schemas.into_inner().unwrap() {
        s.drop().await;
    }
}

#[tokio::test]
async fn postgres_cost_source_passes_the_cost_source_suite() {
    let Some(url) = url() else { return };
    let schema = Arc::new(Schema::new(&url).await);
    let s2 = schema.clone();
    conformance::cost_source_suite(Box::new(move |data| {
        let schema = s2.clone();
        Box::pin(async move {
            let store = schema.store(4).await;
            let src =
                PostgresCostSource::new(store.pool().clone(), &UsageTable::default()).unwrap();
            sqlx::query("TRUNCATE cost_usage")
                .execute(store.pool())
                .await
                .unwrap();
            for (org, rows) in data {
                src.insert_rows(org, &rows).await.unwrap();
            }
            Arc::new(src) as Arc<dyn CostSource>
        })
    }))
    .await;
    Arc::try_unwrap(schema).ok().unwrap().drop().await;
}

fn due_schedule(org: OrganizationId, i: usize, slot: DateTime<Utc>) -> ScheduledReport {
    let mut s = conformance::schedule(org, &format!("s{i}"), conformance::t0());
    s.next_run_at = Some(slot);
    s
}

/// What one worker does with a claimed slot: create the slot's report,
/// finish the run, move the schedule on. Returns whether it created it.
async fn run_slot(
    store: &PostgresStore,
    worker: &str,
    s: &ScheduledReport,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let mut r = conformance::report(s.organization_id, now);
    r.scheduled_report_id = Some(s.id);
    r.schedule_slot = Some(slot);
    r.status = ReportStatus::Completed;
    let created = match store.create_report(s.organization_id, &r).await {
        Ok(()) => true,
        Err(Error::Conflict(_)) => false,
        Err(e) => panic!("create_report: {e}"),
    };
    let outcome = RunOutcome {
        status: RunStatus::Success,
        report_id: Some(r.id),
        error: None,
    };
    match store
        .finish_run(s.organization_id, s.id, slot, worker, &outcome, now)
        .await
    {
        Ok(_) | Err(Error::Conflict(_)) => {}
        Err(e) => panic!("finish_run: {e}"),
    }
    let mut next = s.clone();
    next.last_run_at = Some(slot);
    next.next_run_at = Some(slot + Duration::days(7));
    next.run_count += 1;
    next.last_status = Some(ReportStatus::Completed);
    store
        .update_schedule(s.organization_id, &next)
        .await
        .unwrap();
    created
}

/// The single number `sql` answers.
async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// After `n` due slots ran: `n` reports, one per (schedule, slot), and `n`
/// runs that succeeded at their first attempt.
async fn assert_each_slot_ran_once(pool: &PgPool, n: i64) {
    assert_eq!(
        count(pool, "SELECT COUNT(*) FROM generated_reports").await,
        n
    );
    let distinct = count(
        pool,
        "SELECT COUNT(DISTINCT (scheduled_report_id, schedule_slot)) FROM generated_reports",
    )
    .await;
    assert_eq!(distinct, n, "each slot once");
    let first_attempt = count(
        pool,
        "SELECT COUNT(*) FROM schedule_runs WHERE status = 'success' AND attempts = 1",
    )
    .await;
    assert_eq!(first_attempt, n);
}

/// A worker loop at the store level: due_schedules, claim_run, then the
/// slot's work, until a pass claims nothing (nothing due, or every due slot
/// held by a live claim of another worker). The engine's `run_due` does the
/// same through the ports.
async fn worker_loop(store: PostgresStore, worker: String, now: DateTime<Utc>) -> usize {
    let mut created = 0;
    loop {
        let due = store.due_schedules(now, 50).await.unwrap();
        let mut claimed_any = false;
        for s in due {
            let Some(slot) = s.next_run_at else { continue };
            let lease = now + Duration::minutes(5);
            match store
                .claim_run(s.organization_id, s.id, slot, &worker, now, lease)
                .await
                .unwrap()
            {
                ClaimOutcome::Claimed(_) => {
                    claimed_any = true;
                    if run_slot(&store, &worker, &s, slot, now).await {
                        created += 1;
                    }
                }
                ClaimOutcome::Busy(_) | ClaimOutcome::Done(_) => {}
            }
        }
        if !claimed_any {
            return created;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_workers_on_four_pools_run_400_slots_exactly_once() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let seed = schema.store(4).await;
    let slot = conformance::t0();
    let orgs: Vec<OrganizationId> = (0..4).map(|_| OrganizationId::new()).collect();
    let mut all = Vec::new();
    for i in 0..400 {
        let org = orgs[i % 4];
        let s = due_schedule(org, i, slot);
        seed.create_schedule(org, &s).await.unwrap();
        all.push(s);
    }
    let now = slot + Duration::minutes(1);
    let mut handles = Vec::new();
    for w in 0..4 {
        let store = schema.store(4).await; // a separate pool per worker
        handles.push(tokio::spawn(worker_loop(store, format!("w{w}"), now)));
    }
    let mut created = 0;
    for h in handles {
        created += h.await.unwrap();
    }
    assert_eq!(created, 400, "every slot's report created once");
    assert_each_slot_ran_once(seed.pool(), 400).await;
    assert!(seed.due_schedules(now, 10).await.unwrap().is_empty());
    schema.drop().await;
}

/// The engine builds every report type's document from PostgreSQL (one
/// `GROUPING SETS` statement per range through `aggregate_many`) exactly as
/// from the in-memory source holding the same rows.
#[tokio::test]
async fn engine_documents_from_postgres_equal_those_from_memory() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let store = schema.store(4).await;
    let org = OrganizationId::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = tokentra_reports::backends::file::read_cost_rows_csv(
        std::fs::File::open(path).unwrap(),
        "demo",
    )
    .unwrap();
    let pg = PostgresCostSource::new(store.pool().clone(), &UsageTable::default()).unwrap();
    pg.insert_rows(org, &rows).await.unwrap();
    let clock = ManualClock::new(conformance::t0() + Duration::days(40));
    let engine = |costs: Arc<dyn CostSource>| {
        Engine::builder()
            .cost_source(costs)
            .store(Arc::new(
                tokentra_reports::backends::memory::MemoryStore::new(),
            ))
            .clock(Arc::new(clock.clone()))
            .deliverer(Arc::new(RecordingDeliverer::new()))
            .build()
            .unwrap()
    };
    let from_pg = engine(Arc::new(pg));
    let from_memory = engine(Arc::new(MemoryCostSource::with_rows(org, rows)));
    let october =
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    let mut checked = 0;
    for report_type in [
        ReportType::Executive,
        ReportType::Team,
        ReportType::Project,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Digest,
    ] {
        for (format, filters) in [
            (ReportFormat::Json, ReportFilters::default()),
            // CSV adds the detail query (five dimensions by day).
            (ReportFormat::Csv, ReportFilters::default()),
            (
                ReportFormat::Json,
                ReportFilters {
                    teams: vec!["search".into(), "support".into()],
                    ..Default::default()
                },
            ),
        ] {
            let request = GenerateReportRequest {
                report_type: Some(report_type),
                date_range: Some(october),
                filters,
                format,
                ..Default::default()
            };
            let resolved = from_pg.resolve(org, &request).await.unwrap();
            let a = from_pg.build_document(org, &resolved).await.unwrap();
            let b = from_memory.build_document(org, &resolved).await.unwrap();
            assert!(a.summary.as_ref().is_some_and(|s| !s.total_cost.is_zero()));
            assert_eq!(a, b, "{report_type:?} {format:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
    schema.drop().await;
}

/// The acceptance test at the engine level: four engines, each on
/// its own pool, call `run_due` at once over 400 due weekly schedules.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_engines_run_due_over_400_schedules_each_slot_once() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let seed = schema.store(4).await;
    let org = OrganizationId::new();
    let costs: Arc<dyn CostSource> =
        Arc::new(MemoryCostSource::with_rows(org, conformance::cost_rows()));
    let created = conformance::t0() - Duration::days(3);
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
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    let admin = make(seed.clone(), "admin".into());
    let mut slots = std::collections::BTreeSet::new();
    for i in 0..400 {
        let s = admin
            .create_schedule(
                org,
                ScheduleInput {
                    name: format!("weekly {i}"),
                    description: None,
                    template_id: None,
                    report_type: Some(ReportType::Executive),
                    frequency: Frequency::Weekly,
                    schedule_config: ScheduleConfig {
                        timezone: Timezone::parse(["Europe/Paris", "America/New_York"][i % 2])
                            .unwrap(),
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
            .await
            .unwrap();
        slots.insert(s.next_run_at.unwrap());
    }
    // Every schedule's first slot has passed.
    let now = *slots.last().unwrap() + Duration::hours(1);
    assert!(now - *slots.first().unwrap() < Duration::days(7));
    clock.set(now);
    let mut handles = Vec::new();
    for w in 0..4 {
        let engine = make(schema.store(4).await, format!("engine-{w}"));
        handles.push(tokio::spawn(async move { engine.run_due().await.unwrap() }));
    }
    let mut ran = Vec::new();
    for h in handles {
        let st = h.await.unwrap();
        assert_eq!(st.failed, 0, "{st:?}");
        ran.push(st.ran);
    }
    assert_eq!(ran.iter().sum::<usize>(), 400, "{ran:?}");
    let completed = count(
        seed.pool(),
        "SELECT COUNT(*) FROM generated_reports WHERE status = 'completed'",
    )
    .await;
    assert_eq!(completed, 400);
    assert_each_slot_ran_once(seed.pool(), 400).await;
    assert_eq!(deliverer.sent().len(), 400, "each report delivered once");
    // Nothing is due any more.
    assert_eq!(admin.run_due().await.unwrap().ran, 0);
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claim_due_runs_with_skip_locked_splits_the_work() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let seed = schema.store(4).await;
    let slot = conformance::t0();
    let org = OrganizationId::new();
    for i in 0..400 {
        seed.create_schedule(org, &due_schedule(org, i, slot))
            .await
            .unwrap();
    }
    let now = slot + Duration::minutes(1);
    let mut handles = Vec::new();
    for w in 0..4 {
        let store = schema.store(4).await;
        handles.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut created = 0;
            loop {
                let claimed = store
                    .claim_due_runs(&worker, now, now + Duration::minutes(5), 25)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return created;
                }
                for (s, claim) in claimed {
                    // `Done`: another worker finished the slot and is
                    // about to move the schedule on.
                    let ClaimOutcome::Claimed(run) = claim else {
                        assert!(matches!(claim, ClaimOutcome::Done(_)), "{claim:?}");
                        continue;
                    };
                    assert_eq!(run.worker, worker);
                    if run_slot(&store, &worker, &s, run.slot, now).await {
                        created += 1;
                    }
                }
            }
        }));
    }
    let mut per_worker = Vec::new();
    for h in handles {
        per_worker.push(h.await.unwrap());
    }
    assert_eq!(per_worker.iter().sum::<usize>(), 400, "{per_worker:?}");
    assert_eq!(
        count(seed.pool(), "SELECT COUNT(*) FROM generated_reports").await,
        400
    );
    schema.drop().await;
}

#[tokio::test]
async fn a_dead_workers_claim_is_taken_over_after_its_lease_and_runs_once() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let seed = schema.store(2).await;
    let slot = conformance::t0();
    let org = OrganizationId::new();
    let s = due_schedule(org, 0, slot);
    seed.create_schedule(org, &s).await.unwrap();
    let now = slot + Duration::minutes(1);
    let lease = Duration::minutes(5);

    // Worker A claims on its own pool, then dies: pool closed, nothing finished.
    {
        let a = schema.store(2).await;
        assert!(matches!(
            a.claim_run(org, s.id, slot, "a", now, now + lease)
                .await
                .unwrap(),
            ClaimOutcome::Claimed(_)
        ));
        a.pool().close().await;
    }
    let b = schema.store(2).await;
    // Inside A's lease B finds the slot busy and leaves it.
    assert_eq!(
        worker_loop(b.clone(), "b".into(), now + Duration::minutes(1)).await,
        0
    );
    // After the lease B takes over and runs it.
    let later = now + lease + Duration::seconds(1);
    assert_eq!(worker_loop(b.clone(), "b".into(), later).await, 1);
    let runs = b.list_runs(org, s.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].worker, "b");
    assert_eq!(runs[0].attempts, 2);
    assert_eq!(runs[0].status, RunStatus::Success);
    // A coming back to life cannot finish the slot again.
    let a_again = schema.store(2).await;
    let outcome = RunOutcome {
        status: RunStatus::Success,
        report_id: None,
        error: None,
    };
    assert!(matches!(
        a_again
            .finish_run(org, s.id, slot, "a", &outcome, later)
            .await,
        Err(Error::Conflict(_))
    ));
    let page = b
        .list_reports(
            org,
            &ReportListQuery {
                scheduled_report_id: Some(s.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.reports.len(), 1, "the slot ran exactly once");
    schema.drop().await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_a_newer_schema_is_refused() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let store = schema.store(2).await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    match store.migrate().await {
        Err(Error::InvalidState(msg)) => {
            assert!(msg.contains("schema version 999"), "{msg}");
            assert!(msg.contains("upgrade tokentra-reports"), "{msg}");
        }
        other => panic!("expected InvalidState, got {other:?}"),
    }
    schema.drop().await;
}

#[tokio::test]
async fn a_lost_connection_is_a_retryable_backend_error_and_writes_nothing() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    // One connection, not pinged before use, so the next call really meets
    // the dead connection.
    let store = PostgresStore::from_pool(
        schema
            .pool_with(1, PgPoolOptions::new().test_before_acquire(false), |o| o)
            .await,
    );
    store.migrate().await.unwrap();
    let org = OrganizationId::new();
    let t = conformance::template(org, "before", false);
    store.create_template(org, &t).await.unwrap();
    // Kill the store's only connection from the outside.
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&schema.admin)
        .await
        .unwrap();
    // pg_terminate_backend only signals: wait until the backend is gone.
    for _ in 0..100 {
        let alive: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(&schema.admin)
            .await
            .unwrap();
        if alive == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut t2 = t.clone();
    t2.name = "after".into();
    // sqlx may notice the dead socket when the connection is taken from
    // the pool and reconnect by itself (then the update simply succeeds,
    // once); if the statement meets the dead connection, the error must be
    // a retryable backend error and nothing may have been written.
    match store.update_template(org, &t2).await {
        Ok(()) => {
            assert_eq!(store.get_template(org, t.id).await.unwrap().name, "after");
        }
        Err(e @ Error::Backend { .. }) => {
            assert!(e.is_retryable(), "{e}");
            assert!(matches!(
                e,
                Error::Backend {
                    backend: "postgres",
                    ..
                }
            ));
            // The update did not happen; retrying on a fresh connection works.
            assert_eq!(store.get_template(org, t.id).await.unwrap().name, "before");
            store.update_template(org, &t2).await.unwrap();
            assert_eq!(store.get_template(org, t.id).await.unwrap().name, "after");
        }
        other => panic!("expected success or a retryable backend error, got {other:?}"),
    }
    // A server that is not there: retryable too, nothing written anywhere.
    let down = PostgresStore::from_pool(
        PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(500))
            .connect_lazy("postgres://postgres@127.0.0.1:1/none")
            .unwrap(),
    );
    match down.create_template(org, &t2).await {
        Err(e @ Error::Backend { .. }) => assert!(e.is_retryable(), "{e}"),
        other => panic!("expected a retryable backend error, got {other:?}"),
    }
    // A half-written record never exists: the chargeback record insert is
    // one statement, refused whole when its configuration is missing.
    let rec =
        conformance::chargeback_record(org, ChargebackConfigId::new(), "2026-10-01", "2026-10-31");
    assert!(matches!(
        store.create_chargeback_record(org, &rec).await,
        Err(Error::NotFound { .. })
    ));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chargeback_records")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    schema.drop().await;
}

#[tokio::test]
async fn money_is_numeric_and_json_is_jsonb() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let store = schema.store(2).await;
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name IN \
         ('total_cost', 'allocated_cost', 'cost', 'config', 'filters', 'recipients', 'allocation_rules', 'allocations') \
         ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(!types.is_empty());
    for (col, ty) in &types {
        let want = if col.ends_with("cost") {
            "numeric"
        } else {
            "jsonb"
        };
        assert_eq!(ty, want, "{col}");
    }
    // Exact sums over NUMERIC.
    let src = PostgresCostSource::new(store.pool().clone(), &UsageTable::default()).unwrap();
    let org = OrganizationId::new();
    let day = "2026-10-01".parse().unwrap();
    let rows: Vec<CostRow> = [dec!(0.1), dec!(0.2), dec!(0.0000000001)]
        .into_iter()
        .map(|cost| CostRow {
            date: day,
            cost,
            ..Default::default()
        })
        .collect();
    src.insert_rows(org, &rows).await.unwrap();
    let b = src
        .aggregate(org, &CostQuery::total(DateRange::day(day)))
        .await
        .unwrap();
    assert_eq!(b[0].cost, dec!(0.3000000001));
    schema.drop().await;
}

/// Rows written under the schema before migration 3 (the specification's
/// shapes) are carried forward: e-mail strings in a distribution list, a
/// schedule whose last status is `success`, a completed report without a
/// file path, digest rows without `is_active`; new digest rows take the
/// specification's defaults.
#[tokio::test]
async fn migration_3_carries_existing_rows_forward() {
    use tokentra_reports::model::{OrganizationId, RecipientKind, ReportStatus};
    use tokentra_reports::ports::{
        ChargebackStore, DigestStore, GeneratedReportStore, ScheduleStore,
    };
    let Some(url) = url() else { return };
    let schema = Schema::new(&url).await;
    let pool = schema.pool(2).await;
    let all = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/postgres"
    )))
    .await
    .unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            all.iter().filter(|m| m.version < 3).cloned().collect(),
        ),
        ignore_missing: false,
        locking: false,
        no_tx: false,
    };
    before.run(&pool).await.unwrap();
    let org = OrganizationId::new();
    let (cfg, sched, rep, user) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    let org_u: uuid::Uuid = org.0;
    sqlx::query(
        "INSERT INTO chargeback_configurations (id, organization_id, name, allocation_basis, distribution_list) \
         VALUES ($1, $2, 'Old', 'team', '[\"finance@example.com\", \"cfo@example.com\"]')",
    )
    .bind(cfg)
    .bind(org_u)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO scheduled_reports (id, organization_id, report_type, name, frequency, last_status) \
         VALUES ($1, $2, 'executive', 'Old', 'weekly', 'success')",
    )
    .bind(sched)
    .bind(org_u)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO generated_reports (id, organization_id, name, report_type, format, \
         date_range_start, date_range_end, status, expires_at) \
         VALUES ($1, $2, 'Old', 'team', 'csv', '2026-09-01', '2026-09-30', 'completed', NOW())",
    )
    .bind(rep)
    .bind(org_u)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO email_digest_preferences (id, organization_id, user_id, email) \
         VALUES ($1, $2, $3, 'u@example.com')",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(org_u)
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    let store = PostgresStore::from_pool(pool.clone());
    store.migrate().await.unwrap();

    let c = store.get_chargeback_config(org, cfg.into()).await.unwrap();
    assert_eq!(c.distribution_list.len(), 2);
    assert!(c
        .distribution_list
        .iter()
        .all(|r| r.kind == RecipientKind::Email));
    assert_eq!(c.distribution_list[1].address, "cfo@example.com");
    let s = store.get_schedule(org, sched.into()).await.unwrap();
    assert_eq!(s.last_status, Some(ReportStatus::Completed));
    let r = store.get_report(org, rep.into()).await.unwrap();
    assert_eq!(r.file_path, format!("reports/{org}/{rep}.csv"));
    let p = store
        .get_digest_preferences(org, user.into())
        .await
        .unwrap();
    assert!(p.is_active);
    sqlx::query(
        "INSERT INTO email_digest_preferences (id, organization_id, user_id) VALUES ($1, $2, $3)",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(org_u)
    .bind(uuid::Uuid::new_v4())
    .execute(&pool)
    .await
    .unwrap();
    let defaults: (bool, bool, bool, Option<String>) = sqlx::query_as(
        "SELECT include_forecast, include_team_breakdown, is_active, email \
         FROM email_digest_preferences WHERE email IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(defaults, (false, true, true, None));
    pool.close().await;
    schema.drop().await;
}
