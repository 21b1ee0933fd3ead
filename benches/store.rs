//! The PostgreSQL backends under load (needs `--features postgres` and
//! `DATABASE_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`; without
//! it the bench prints that it skipped).
//!
//! - `claim_and_complete/{in_order,skip_locked}/{1,4}_workers`: 200 due
//!   slots run by 1 or 4 workers, each on its own pool. `in_order`:
//!   `due_schedules` then `claim_run` per schedule (what the engine did
//!   before `claim_due_runs`; the portable default does the same);
//!   `skip_locked`: `ScheduleStore::claim_due_runs` as PostgreSQL implements
//!   it (`FOR UPDATE SKIP LOCKED`), one schedule per call as
//!   `Engine::run_due` does. Then `create_report`,
//!   `finish_run`, `update_schedule` per slot. The `_5ms_work` variants add
//!   5 ms of (simulated) report generation per slot, as a real run has.
//! - `executive_1m`: the aggregate queries of an executive report over one
//!   million usage rows in `cost_usage`, through `aggregate_many` (one
//!   statement, as the engine asks) and as five separate queries.
//!
//! Everything happens in a schema created for the run and dropped after.
//! With `BENCH_DEBUG` set, each worker prints how many slots it ran, to
//! see how evenly the work is shared.

use std::str::FromStr;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{Criterion, Throughput};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokentra_reports::backends::postgres::{PostgresCostSource, PostgresStore};
use tokentra_reports::backends::sql::UsageTable;
use tokentra_reports::model::*;
use tokentra_reports::ports::*;
use tokentra_reports::Error;

const SLOTS: usize = 200;

fn slot() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 5, 8, 0, 0).unwrap()
}

async fn pool(url: &str, schema: &str, max: u32) -> PgPool {
    let opts = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema)]);
    PgPoolOptions::new()
        .max_connections(max)
        .connect_with(opts)
        .await
        .unwrap()
}

fn schedule(org: OrganizationId, i: usize) -> ScheduledReport {
    ScheduledReport {
        id: ScheduledReportId::new(),
        organization_id: org,
        template_id: None,
        report_type: Some(ReportType::Executive),
        name: format!("weekly {i}"),
        description: None,
        frequency: Frequency::Weekly,
        schedule_config: ScheduleConfig::default(),
        filters: ReportFilters::default(),
        recipients: vec![ReportRecipient::email("cfo@example.com")],
        format: ReportFormat::Pdf,
        is_active: true,
        last_run_at: None,
        next_run_at: Some(slot()),
        last_status: None,
        last_error: None,
        run_count: 0,
        consecutive_failures: 0,
        paused_reason: None,
        created_by: None,
        created_at: slot() - Duration::days(30),
        updated_at: slot() - Duration::days(30),
    }
}

async fn worker(store: PostgresStore, name: String, work: StdDuration, skip_locked: bool) -> usize {
    let now = slot() + Duration::minutes(1);
    let lease = now + Duration::minutes(5);
    let mut done = 0;
    loop {
        // In order: due_schedules then claim_run per schedule; or
        // claim_due_runs (on PostgreSQL: FOR UPDATE SKIP LOCKED).
        let mut mine = Vec::new();
        if skip_locked {
            for (s, claim) in store.claim_due_runs(&name, now, lease, 1).await.unwrap() {
                if let ClaimOutcome::Claimed(run) = claim {
                    mine.push((s, run.slot));
                }
            }
        } else {
            for s in store.due_schedules(now, 20).await.unwrap() {
                let Some(slot) = s.next_run_at else { continue };
                let claim = store
                    .claim_run(s.organization_id, s.id, slot, &name, now, lease)
                    .await
                    .unwrap();
                if matches!(claim, ClaimOutcome::Claimed(_)) {
                    mine.push((s, slot));
                }
            }
        }
        let claimed_any = !mine.is_empty();
        for (s, slot) in mine {
            let org = s.organization_id;
            if !work.is_zero() {
                tokio::time::sleep(work).await;
            }
            let r = GeneratedReport {
                id: ReportId::new(),
                organization_id: org,
                template_id: None,
                scheduled_report_id: Some(s.id),
                schedule_slot: Some(slot),
                name: s.name.clone(),
                report_type: s.report_type.unwrap_or(ReportType::Executive),
                format: s.format,
                date_range: DateRange::new(
                    "2026-09-28".parse().unwrap(),
                    "2026-10-04".parse().unwrap(),
                )
                .unwrap(),
                comparison_range: None,
                filters: s.filters.clone(),
                status: ReportStatus::Completed,
                file_size: Some(1000),
                page_count: Some(2),
                checksum: None,
                summary_data: None,
                recipients: s.recipients.clone(),
                distribution_status: vec![],
                distributed_at: None,
                next_delivery_at: None,
                file_path: String::new(),
                download_url: None,
                download_expires_at: None,
                generation_time_ms: Some(5),
                error_message: None,
                expires_at: now + Duration::days(90),
                download_count: 0,
                created_by: None,
                created_at: now,
                started_at: None,
                completed_at: Some(now),
            };
            match store.create_report(org, &r).await {
                Ok(()) | Err(Error::Conflict(_)) => {}
                Err(e) => panic!("{e}"),
            }
            let outcome = RunOutcome {
                status: RunStatus::Success,
                report_id: Some(r.id),
                error: None,
            };
            store
                .finish_run(org, s.id, slot, &name, &outcome, now)
                .await
                .unwrap();
            let mut next = s.clone();
            next.last_run_at = Some(slot);
            next.next_run_at = Some(slot + Duration::days(7));
            next.run_count += 1;
            store.update_schedule(org, &next).await.unwrap();
            done += 1;
        }
        if !claimed_any {
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!("{name}: {done}");
            }
            return done;
        }
    }
}

fn bench_claims(c: &mut Criterion, rt: &tokio::runtime::Runtime, url: &str, schema: &str) {
    let seed = rt.block_on(async {
        let store = PostgresStore::from_pool(pool(url, schema, 4).await);
        store.migrate().await.unwrap();
        let orgs: Vec<_> = (0..8).map(|_| OrganizationId::new()).collect();
        for i in 0..SLOTS {
            let org = orgs[i % orgs.len()];
            store.create_schedule(org, &schedule(org, i)).await.unwrap();
        }
        store
    });
    let stores: Vec<PostgresStore> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(PostgresStore::from_pool(pool(url, schema, 2).await));
        }
        v
    });
    let reset = || {
        rt.block_on(async {
            for sql in [
                "DELETE FROM generated_reports",
                "DELETE FROM schedule_runs",
                "UPDATE scheduled_reports SET next_run_at = '2026-10-05T08:00:00Z', run_count = 0",
            ] {
                sqlx::query(sql).execute(seed.pool()).await.unwrap();
            }
        })
    };
    let mut g = c.benchmark_group("claim_and_complete");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SLOTS as u64));
    for (mode, skip_locked) in [("in_order", false), ("skip_locked", true)] {
        for (label, work) in [
            ("", StdDuration::ZERO),
            ("_5ms_work", StdDuration::from_millis(5)),
        ] {
            for workers in [1usize, 4] {
                g.bench_function(format!("{mode}/{workers}_workers{label}"), |b| {
                    b.iter_custom(|iters| {
                        let mut total = StdDuration::ZERO;
                        for _ in 0..iters {
                            reset();
                            let start = Instant::now();
                            let done: usize = rt.block_on(async {
                                let handles: Vec<_> = stores[..workers]
                                    .iter()
                                    .enumerate()
                                    .map(|(i, s)| {
                                        tokio::spawn(worker(
                                            s.clone(),
                                            format!("w{i}"),
                                            work,
                                            skip_locked,
                                        ))
                                    })
                                    .collect();
                                let mut n = 0;
                                for h in handles {
                                    n += h.await.unwrap();
                                }
                                n
                            });
                            total += start.elapsed();
                            assert_eq!(done, SLOTS);
                        }
                        total
                    })
                });
            }
        }
    }
    g.finish();
}

fn bench_aggregate(c: &mut Criterion, rt: &tokio::runtime::Runtime, url: &str, schema: &str) {
    let org = OrganizationId::new();
    let src = rt.block_on(async {
        let p = pool(url, schema, 4).await;
        PostgresStore::from_pool(p.clone()).migrate().await.unwrap();
        // One million rows over the 92 days of August to October 2026 for
        // the benchmarked organization, plus 100,000 of another.
        let seed = "INSERT INTO cost_usage (organization_id, ts, usage_date, provider, model, team, \
                    project, cost_center, feature, end_user, tags, cost, currency, requests, \
                    input_tokens, output_tokens, cached_requests) \
                    SELECT $1, ts, ts::date, (ARRAY['openai','anthropic','google','aws'])[1 + i % 4], \
                    (ARRAY['gpt-4o-2024-08-06','gpt-4o-mini','claude-3-5-sonnet-20241022', \
                           'gemini-1.5-pro','claude-3-haiku','titan-text'])[1 + i % 6], \
                    'team' || (i % 12), 'project' || (i % 40), 'CC-' || (i % 7), \
                    'feature' || (i % 9), 'user' || (i % 500), \
                    jsonb_build_object('env', CASE WHEN i % 3 = 0 THEN 'dev' ELSE 'prod' END), \
                    round((i % 1000)::numeric / 997, 6), NULL, 1 + i % 5, 100 * (i % 50), \
                    10 * (i % 50), i % 2 \
                    FROM (SELECT i, TIMESTAMPTZ '2026-08-01 00:00:00+00' + ((i::bigint * 7919) % 7948800) * INTERVAL '1 second' AS ts \
                          FROM generate_series(1, $2) AS i) g";
        let t = Instant::now();
        sqlx::query(seed)
            .bind(org.0)
            .bind(1_000_000_i32)
            .execute(&p)
            .await
            .unwrap();
        sqlx::query(seed)
            .bind(OrganizationId::new().0)
            .bind(100_000_i32)
            .execute(&p)
            .await
            .unwrap();
        sqlx::query("ANALYZE cost_usage").execute(&p).await.unwrap();
        eprintln!("seeded 1,100,000 usage rows in {:?}", t.elapsed());
        PostgresCostSource::new(p, &UsageTable::default()).unwrap()
    });
    let month =
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    let quarter =
        DateRange::new("2026-08-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    // What an executive report asks for: totals, by provider, by model
    // family, by team, the daily trend, and the previous period's total.
    let executive = |range: DateRange| {
        vec![
            CostQuery::total(range),
            CostQuery::total(range).group_by([Dimension::Provider]),
            CostQuery::total(range).group_by([Dimension::ModelFamily]),
            CostQuery::total(range).group_by([Dimension::Team]),
            CostQuery::total(range).bucketed(Granularity::Day),
        ]
    };
    let mut g = c.benchmark_group("executive_1m");
    g.sample_size(10);
    g.bench_function("quarter_total_1m_rows", |b| {
        b.iter(|| {
            rt.block_on(src.aggregate(org, &CostQuery::total(quarter)))
                .unwrap()
        })
    });
    g.bench_function("quarter_by_team_daily_1m_rows", |b| {
        let q = CostQuery::total(quarter)
            .group_by([Dimension::Team])
            .bucketed(Granularity::Day);
        b.iter(|| rt.block_on(src.aggregate(org, &q)).unwrap())
    });
    // As the engine asks: `aggregate_many`, one statement with GROUPING SETS.
    for (name, range) in [
        ("executive_report_quarter_1m_rows", quarter),
        ("executive_report_month", month),
    ] {
        let qs = executive(range);
        g.bench_function(name, |b| {
            b.iter(|| {
                let all = rt.block_on(src.aggregate_many(org, &qs)).unwrap();
                all.iter().map(Vec::len).sum::<usize>()
            })
        });
    }
    // The same five queries sent one `aggregate` each, concurrently.
    g.bench_function("executive_report_quarter_1m_rows_separate_queries", |b| {
        let qs = executive(quarter);
        b.iter(|| {
            rt.block_on(async {
                let all = futures::future::join_all(qs.iter().map(|q| src.aggregate(org, q))).await;
                all.into_iter().map(|r| r.unwrap().len()).sum::<usize>()
            })
        })
    });
    g.finish();
}

fn main() {
    let url = match std::env::var("DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!(
                "SKIPPED: DATABASE_URL not set (the PostgreSQL store benchmarks did not run)"
            );
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let admin = rt.block_on(async {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        admin
    });
    let mut c = Criterion::default().configure_from_args();
    bench_claims(&mut c, &rt, &url, &schema);
    bench_aggregate(&mut c, &rt, &url, &schema);
    c.final_summary();
    rt.block_on(async {
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .unwrap();
    });
}
