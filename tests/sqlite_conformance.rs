//! The shared conformance suite against the SQLite backends, on temporary
//! files and on `:memory:`, plus SQLite-specific behaviour (migrations,
//! schema version, exact money, bad rows).

#![cfg(feature = "sqlite")]

mod conformance;

use std::sync::Arc;

use rust_decimal_macros::dec;
use tokentra_reports::backends::sql::UsageTable;
use tokentra_reports::backends::sqlite::{self, SqliteCostSource, SqliteStore};
use tokentra_reports::model::{CostQuery, CostRow, DateRange, OrganizationId};
use tokentra_reports::ports::{CostSource, ReportStore, TemplateStore};
use tokentra_reports::Error;

async fn file_store(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    let store = SqliteStore::open(dir.path().join(name)).await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test]
async fn sqlite_file_store_passes_the_report_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    conformance::report_store_suite(|| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = &dir;
        async move { Arc::new(file_store(dir, &format!("s{i}.db")).await) as Arc<dyn ReportStore> }
    })
    .await;
}

#[tokio::test]
async fn sqlite_memory_store_passes_the_report_store_suite() {
    conformance::report_store_suite(|| async {
        let store = SqliteStore::memory().await.unwrap();
        store.migrate().await.unwrap();
        Arc::new(store) as Arc<dyn ReportStore>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_is_safe_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ReportStore> = Arc::new(file_store(&dir, "threads.db").await);
    tokio::spawn(async move { conformance::concurrency(store).await })
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_cost_source_passes_the_cost_source_suite() {
    conformance::cost_source_suite(Box::new(|data| {
        Box::pin(async move {
            let pool = sqlite::memory().await.unwrap();
            sqlite::migrate(&pool).await.unwrap();
            let src = SqliteCostSource::new(pool, &UsageTable::default()).unwrap();
            for (org, rows) in data {
                src.insert_rows(org, &rows).await.unwrap();
            }
            Arc::new(src) as Arc<dyn CostSource>
        })
    }))
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let org = OrganizationId::new();
    let t = conformance::template(org, "kept", true);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.create_template(org, &t).await.unwrap();
        store.pool().close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.get_template(org, t.id).await.unwrap(), t);
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_a_clear_message() {
    let store = SqliteStore::memory().await.unwrap();
    store.migrate().await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from the future', TRUE, X'00', 0)",
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
}

#[tokio::test]
async fn costs_are_exact_and_excess_precision_is_refused() {
    let pool = sqlite::memory().await.unwrap();
    sqlite::migrate(&pool).await.unwrap();
    let src = SqliteCostSource::new(pool, &UsageTable::default()).unwrap();
    let org = OrganizationId::new();
    let day = "2026-10-01".parse().unwrap();
    let row = |cost| CostRow {
        date: day,
        cost,
        requests: 1,
        ..Default::default()
    };
    // 0.1 + 0.2 is exactly 0.3, which a float sum would not give.
    let rows: Vec<CostRow> = [dec!(0.1), dec!(0.2), dec!(0.000000001)]
        .into_iter()
        .map(row)
        .collect();
    src.insert_rows(org, &rows).await.unwrap();
    let b = src
        .aggregate(org, &CostQuery::total(DateRange::day(day)))
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].cost, dec!(0.300000001));
    match src.insert_rows(org, &[row(dec!(0.0000000001))]).await {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "rows[0].cost"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Nothing of the refused batch was written.
    let b = src
        .aggregate(org, &CostQuery::total(DateRange::day(day)))
        .await
        .unwrap();
    assert_eq!(b[0].requests, 3);
}

#[tokio::test]
async fn a_host_table_with_bad_names_is_refused() {
    let pool = sqlite::memory().await.unwrap();
    let bad = UsageTable {
        team: Some("team; DROP TABLE x".into()),
        ..UsageTable::default()
    };
    match SqliteCostSource::new(pool, &bad) {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "team"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_host_view_with_other_column_names_is_read() {
    let pool = sqlite::memory().await.unwrap();
    sqlx::query(
        "CREATE TABLE llm_calls (tenant TEXT, day TEXT, vendor TEXT, squad TEXT, \
         micro_usd INTEGER, calls INTEGER)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let org = OrganizationId::new();
    for (vendor, squad, micros, calls) in [
        ("openai", "search", 1_250_000, 3),
        ("openai", "ads", 10, 1),
        ("anthropic", "search", 2_000_000, 2),
    ] {
        sqlx::query("INSERT INTO llm_calls VALUES ($1, '2026-10-01', $2, $3, $4, $5)")
            .bind(org.to_string())
            .bind(vendor)
            .bind(squad)
            .bind(micros)
            .bind(calls)
            .execute(&pool)
            .await
            .unwrap();
    }
    let table = UsageTable {
        table: "llm_calls".into(),
        organization_id: "tenant".into(),
        date: "day".into(),
        timestamp: None,
        provider: Some("vendor".into()),
        model: None,
        team: Some("squad".into()),
        project: None,
        cost_center: None,
        feature: None,
        user: None,
        tags: None,
        cost: "micro_usd".into(),
        cost_scale: 6,
        currency: None,
        requests: Some("calls".into()),
        input_tokens: None,
        output_tokens: None,
        cached_requests: None,
    };
    let src = SqliteCostSource::new(pool, &table).unwrap();
    let q = CostQuery::total(DateRange::day("2026-10-01".parse().unwrap()))
        .group_by([tokentra_reports::model::Dimension::Team]);
    let b = src.aggregate(org, &q).await.unwrap();
    let got: Vec<_> = b
        .iter()
        .map(|b| (b.keys[0].clone().unwrap(), b.cost, b.requests))
        .collect();
    assert_eq!(
        got,
        vec![
            ("ads".to_string(), dec!(0.00001), 1),
            ("search".to_string(), dec!(3.25), 5)
        ]
    );
    // A dimension the host does not have is the key None.
    let q = CostQuery::total(DateRange::day("2026-10-01".parse().unwrap()))
        .group_by([tokentra_reports::model::Dimension::Model]);
    let b = src.aggregate(org, &q).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].keys, vec![None]);
}
