//! PostgreSQL backends (feature `postgres`): [`PostgresStore`], a
//! [`ReportStore`](crate::ports::ReportStore) safe with many workers on many
//! connection pools, and [`PostgresCostSource`], a
//! [`CostSource`](crate::ports::CostSource) that pushes every aggregate into
//! one `GROUP BY`.
//!
//! ## Setup
//! ```no_run
//! # async fn run() -> tokentra_reports::Result<()> {
//! use tokentra_reports::backends::postgres::{PostgresCostSource, PostgresStore};
//! use tokentra_reports::backends::sql::UsageTable;
//! let store = PostgresStore::connect("postgres://app@db/app").await?;
//! store.migrate().await?; // explicit, idempotent, refuses a newer schema
//! let costs = PostgresCostSource::new(store.pool().clone(), &UsageTable::default())?;
//! # let _ = costs; Ok(()) }
//! ```
//! The migrations (`migrations/postgres/`, embedded) create the
//! specification's six tables plus `schedule_runs`, `report_artifacts` and
//! `cost_usage` in the connection's current schema, and record themselves in
//! `_sqlx_migrations`. To keep them apart from a host's own tables, connect
//! with a `search_path` of a dedicated schema (e.g. `options=-c
//! search_path=tokentra` in the URL). No table references a host's
//! `organizations` or `users`; a host that has them may add its own foreign
//! keys in its own migrations.
//!
//! ## Many workers
//! Claiming a slot is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` on
//! `schedule_runs` (primary key `(scheduled_report_id, slot)`), so of any
//! number of workers on any number of pools exactly one holds a live claim;
//! a claim whose lease expired is taken over. The unique
//! `(scheduled_report_id, schedule_slot)` of `generated_reports` keeps one
//! report per slot even if a worker outlives its lease.
//! Its [`claim_due_runs`](crate::ports::ScheduleStore::claim_due_runs)
//! (what [`Engine::run_due`](crate::engine::Engine::run_due) calls) picks
//! due schedules with `FOR UPDATE SKIP LOCKED`, so concurrent workers take
//! different schedules instead of queueing on the same rows.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Postgres, Row as _};
use uuid::Uuid;

use crate::backends::sql::values::{check_schema_version, map_migrate, map_sqlx};
use crate::backends::sql::{Db, Dialect, Kind, SqlCostSource, SqlStore, UsageTable, Val};
use crate::Result;

const NAME: &str = "postgres";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A PostgreSQL connection pool as a [`Db`].
#[derive(Clone, Debug)]
pub struct PgDb {
    pool: PgPool,
}

fn bind<'q>(q: Query<'q, Postgres, PgArguments>, v: Val) -> Query<'q, Postgres, PgArguments> {
    match v {
        Val::Null(k) => match k {
            Kind::Uuid => q.bind(None::<Uuid>),
            Kind::Text => q.bind(None::<String>),
            Kind::I32 => q.bind(None::<i32>),
            Kind::I64 => q.bind(None::<i64>),
            Kind::Bool => q.bind(None::<bool>),
            Kind::Ts => q.bind(None::<DateTime<Utc>>),
            Kind::NaiveTs => q.bind(None::<NaiveDateTime>),
            Kind::Date => q.bind(None::<NaiveDate>),
            Kind::Dec => q.bind(None::<Decimal>),
            Kind::Json => q.bind(None::<Json<serde_json::Value>>),
            Kind::Bytes => q.bind(None::<Vec<u8>>),
            Kind::TextList => q.bind(None::<Vec<String>>),
        },
        Val::Uuid(u) => q.bind(u),
        Val::Text(s) => q.bind(s),
        Val::I32(n) => q.bind(n),
        Val::I64(n) => q.bind(n),
        Val::Bool(b) => q.bind(b),
        Val::Ts(t) => q.bind(t),
        Val::NaiveTs(t) => q.bind(t),
        Val::Date(d) => q.bind(d),
        Val::Dec(d) => q.bind(d),
        Val::Json(j) => q.bind(Json(j)),
        Val::Bytes(b) => q.bind(b),
        Val::TextList(l) => q.bind(l),
    }
}

fn query<'q>(sql: &'q str, args: Vec<Val>) -> Query<'q, Postgres, PgArguments> {
    args.into_iter().fold(sqlx::query(sql), bind)
}

fn get(row: &PgRow, i: usize, k: Kind) -> std::result::Result<Val, sqlx::Error> {
    fn or_null<T>(v: Option<T>, k: Kind, f: impl FnOnce(T) -> Val) -> Val {
        v.map_or(Val::Null(k), f)
    }
    Ok(match k {
        Kind::Uuid => or_null(row.try_get(i)?, k, Val::Uuid),
        Kind::Text => or_null(row.try_get(i)?, k, Val::Text),
        Kind::I32 => or_null(row.try_get(i)?, k, Val::I32),
        Kind::I64 => or_null(row.try_get(i)?, k, Val::I64),
        Kind::Bool => or_null(row.try_get(i)?, k, Val::Bool),
        Kind::Ts => or_null(row.try_get(i)?, k, Val::Ts),
        Kind::NaiveTs => or_null(row.try_get(i)?, k, Val::NaiveTs),
        Kind::Date => or_null(row.try_get(i)?, k, Val::Date),
        Kind::Dec => or_null(row.try_get(i)?, k, Val::Dec),
        Kind::Json => or_null(
            row.try_get::<Option<Json<serde_json::Value>>, _>(i)?,
            k,
            |j| Val::Json(j.0),
        ),
        Kind::Bytes => or_null(row.try_get(i)?, k, Val::Bytes),
        Kind::TextList => or_null(row.try_get(i)?, k, Val::TextList),
    })
}

#[async_trait]
impl Db for PgDb {
    async fn exec(&self, sql: &str, args: Vec<Val>) -> Result<u64> {
        query(sql, args)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| map_sqlx(NAME, e))
    }

    async fn fetch(&self, sql: &str, args: Vec<Val>, kinds: &[Kind]) -> Result<Vec<Vec<Val>>> {
        let rows = query(sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(NAME, e))?;
        read_rows(&rows, kinds)
    }

    async fn fetch_tuned(
        &self,
        settings: &[(String, String)],
        sql: &str,
        args: Vec<Val>,
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Val>>> {
        if settings.is_empty() {
            return self.fetch(sql, args, kinds).await;
        }
        // `set_config(.., true)` lasts until the end of the transaction, so
        // the settings never leak to the next user of the connection.
        let mut tx = self.pool.begin().await.map_err(|e| map_sqlx(NAME, e))?;
        for (name, value) in settings {
            sqlx::query("SELECT set_config($1, $2, true)")
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(NAME, e))?;
        }
        let rows = query(sql, args)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| map_sqlx(NAME, e))?;
        tx.commit().await.map_err(|e| map_sqlx(NAME, e))?;
        read_rows(&rows, kinds)
    }

    async fn exec_all_or_none(
        &self,
        stmts: Vec<(String, Vec<Val>, bool)>,
    ) -> Result<Option<usize>> {
        let mut tx = self.pool.begin().await.map_err(|e| map_sqlx(NAME, e))?;
        for (i, (sql, args, required)) in stmts.into_iter().enumerate() {
            let n = query(&sql, args)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(NAME, e))?
                .rows_affected();
            if required && n == 0 {
                // Dropping the transaction rolls it back.
                return Ok(Some(i));
            }
        }
        tx.commit().await.map_err(|e| map_sqlx(NAME, e))?;
        Ok(None)
    }

    async fn exec_batch(&self, stmts: Vec<(String, Vec<Val>)>) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(|e| map_sqlx(NAME, e))?;
        let mut n = 0;
        for (sql, args) in &stmts {
            n += query(sql, args.clone())
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(NAME, e))?
                .rows_affected();
        }
        tx.commit().await.map_err(|e| map_sqlx(NAME, e))?;
        Ok(n)
    }

    async fn claim_due_locked(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        skip: &[Uuid],
    ) -> Result<Option<Vec<(Uuid, Uuid, DateTime<Utc>)>>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await.map_err(|e| map_sqlx(NAME, e))?;
        // Due schedules whose current slot no other worker holds under a
        // live lease and that did not just finish (slots finished longer
        // ago are picked: the caller moves such a schedule on). Rows
        // another transaction has locked are skipped, so concurrent workers
        // take different schedules.
        let picked: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT s.id, s.organization_id, s.next_run_at FROM scheduled_reports s \
             WHERE s.is_active AND s.next_run_at <= $1 AND s.id <> ALL($5) \
             AND NOT EXISTS (SELECT 1 FROM schedule_runs r \
                 WHERE r.scheduled_report_id = s.id AND r.slot = s.next_run_at \
                 AND ((r.status = 'running' AND r.lease_expires_at > $1 AND r.worker <> $2) \
                      OR (r.status <> 'running' AND r.updated_at > $4))) \
             ORDER BY s.next_run_at, s.id LIMIT $3 FOR UPDATE OF s SKIP LOCKED",
        )
        .bind(now)
        .bind(worker)
        .bind(limit)
        .bind(crate::ports::fresh_after(now, lease_until))
        .bind(skip)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map_sqlx(NAME, e))?;
        // Claim while the schedule rows are locked, so no other caller
        // picks them before the claims are visible: `claim_run`'s statement
        // (a new run, a renewal of ours, or a takeover of an expired lease;
        // a finished run is left alone).
        let claim = crate::backends::sql::claim_run_sql();
        for (id, org, slot) in &picked {
            sqlx::query(&claim)
                .bind(id)
                .bind(org)
                .bind(slot)
                .bind(worker)
                .bind(now)
                .bind(lease_until)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(NAME, e))?;
        }
        tx.commit().await.map_err(|e| map_sqlx(NAME, e))?;
        Ok(Some(picked))
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn read_rows(rows: &[PgRow], kinds: &[Kind]) -> Result<Vec<Vec<Val>>> {
    rows.iter()
        .map(|row| {
            kinds
                .iter()
                .enumerate()
                .map(|(i, k)| get(row, i, *k).map_err(|e| map_sqlx(NAME, e)))
                .collect()
        })
        .collect()
}

/// The [`ReportStore`](crate::ports::ReportStore) on PostgreSQL. Cloning
/// shares the pool.
pub type PostgresStore = SqlStore<PgDb>;

/// The [`CostSource`](crate::ports::CostSource) on PostgreSQL.
pub type PostgresCostSource = SqlCostSource<PgDb>;

/// Connect a pool to `url` (`postgres://user@host:port/db`). Connection
/// failures are retryable [`Error::Backend`](crate::Error::Backend)s.
pub async fn connect(url: &str) -> Result<PgPool> {
    let opts = PgConnectOptions::from_str(url).map_err(|e| map_sqlx(NAME, e))?;
    PgPoolOptions::new()
        .connect_with(opts)
        .await
        .map_err(|e| map_sqlx(NAME, e))
}

impl SqlStore<PgDb> {
    /// Connect to `url` with a default pool (see [`connect`]).
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self::from_pool(connect(url).await?))
    }

    /// A store on an existing pool (the host's, or one built with its own
    /// options such as a `search_path`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self::from_db(PgDb { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// Apply the embedded migrations (`migrations/postgres/`) that are not
    /// applied yet. Idempotent, and safe when several workers call it at
    /// once (the migrator takes an advisory lock). A database already at a
    /// newer schema version than this build knows is refused with
    /// [`Error::InvalidState`](crate::Error::InvalidState) before anything is changed.
    pub async fn migrate(&self) -> Result<()> {
        migrate(self.pool()).await
    }
}

/// Apply the embedded PostgreSQL migrations on `pool` (see
/// [`PostgresStore::migrate`]).
pub async fn migrate(pool: &PgPool) -> Result<()> {
    let has_table: Option<String> =
        sqlx::query_scalar("SELECT CAST(to_regclass('_sqlx_migrations') AS TEXT)")
            .fetch_one(pool)
            .await
            .map_err(|e| map_sqlx(NAME, e))?;
    if has_table.is_some() {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
                .map_err(|e| map_sqlx(NAME, e))?;
        check_schema_version(NAME, applied, &MIGRATOR)?;
    }
    MIGRATOR.run(pool).await.map_err(|e| map_migrate(NAME, e))
}

impl SqlCostSource<PgDb> {
    /// A cost source reading `table` through `pool`. `Invalid` when a name
    /// in `table` is not a plain SQL identifier.
    pub fn new(pool: PgPool, table: &UsageTable) -> Result<Self> {
        Self::from_db(PgDb { pool }, table)
    }
}
