//! SQLite backends (feature `sqlite`): [`SqliteStore`] and
//! [`SqliteCostSource`], for a host that wants persistence in one file
//! without a database server.
//!
//! ## Single process
//! SQLite is for one process. [`open`] and [`memory`] give a pool of **one**
//! connection, so every statement of the process runs in turn: the store's
//! atomicity and uniqueness rules hold (they are enforced by the same
//! constraints and `ON CONFLICT` statements as on PostgreSQL), but several
//! processes sharing a file are not supported (use PostgreSQL for many
//! workers). A busy or locked database is a retryable
//! [`Error::Backend`](crate::Error::Backend).
//!
//! ## Types
//! Ids are hyphenated UUID text, instants fixed-width UTC text
//! (`2026-10-01T09:00:00.000000000Z`, so text order is time order), dates
//! `YYYY-MM-DD`, money exact decimal text, JSON columns validated text
//! (`CHECK (json_valid(...))`). The usage table keeps cost as an integer of
//! nano-units so that `SUM` stays exact (see
//! [`UsageTable`]).
//!
//! ```no_run
//! # async fn run() -> tokentra_reports::Result<()> {
//! use tokentra_reports::backends::sqlite::{self, SqliteCostSource, SqliteStore};
//! use tokentra_reports::backends::sql::UsageTable;
//! let pool = sqlite::open("reports.db").await?;
//! let store = SqliteStore::from_pool(pool.clone());
//! store.migrate().await?;
//! let costs = SqliteCostSource::new(pool, &UsageTable::default())?;
//! # let _ = costs; Ok(()) }
//! ```

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow,
};
use sqlx::{Row as _, Sqlite};

use crate::backends::sql::values::{check_schema_version, map_migrate, map_sqlx, ts_to_text};
use crate::backends::sql::{Db, Dialect, Kind, SqlCostSource, SqlStore, UsageTable, Val};
use crate::Result;

const NAME: &str = "sqlite";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A SQLite connection pool as a [`Db`].
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pool: SqlitePool,
}

fn bind<'q>(
    q: Query<'q, Sqlite, SqliteArguments<'q>>,
    v: Val,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    match v {
        Val::Null(_) => q.bind(None::<String>),
        Val::Uuid(u) => q.bind(u.hyphenated().to_string()),
        Val::Text(s) => q.bind(s),
        Val::I32(n) => q.bind(i64::from(n)),
        Val::I64(n) => q.bind(n),
        Val::Bool(b) => q.bind(b),
        Val::Ts(t) => q.bind(ts_to_text(t)),
        Val::NaiveTs(t) => q.bind(t.format("%Y-%m-%d %H:%M:%S").to_string()),
        Val::Date(d) => q.bind(d.format("%Y-%m-%d").to_string()),
        Val::Dec(d) => q.bind(d.to_string()),
        Val::Json(j) => q.bind(j.to_string()),
        Val::Bytes(b) => q.bind(b),
        Val::TextList(l) => q.bind(serde_json::to_string(&l).unwrap_or_else(|_| "[]".into())),
    }
}

fn query<'q>(sql: &'q str, args: Vec<Val>) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    args.into_iter().fold(sqlx::query(sql), bind)
}

fn get(row: &SqliteRow, i: usize, k: Kind) -> std::result::Result<Val, sqlx::Error> {
    fn or_null<T>(v: Option<T>, k: Kind, f: impl FnOnce(T) -> Val) -> Val {
        v.map_or(Val::Null(k), f)
    }
    Ok(match k {
        Kind::I32 | Kind::I64 | Kind::Bool => or_null(row.try_get(i)?, k, Val::I64),
        Kind::Bytes => or_null(row.try_get(i)?, k, Val::Bytes),
        // Everything else is text here and parsed by the row reader.
        _ => or_null(row.try_get(i)?, k, Val::Text),
    })
}

#[async_trait]
impl Db for SqliteDb {
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

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The [`ReportStore`](crate::ports::ReportStore) on SQLite. Cloning shares
/// the pool.
pub type SqliteStore = SqlStore<SqliteDb>;

/// The [`CostSource`](crate::ports::CostSource) on SQLite.
pub type SqliteCostSource = SqlCostSource<SqliteDb>;

fn single() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// Open (creating it if missing) the database file at `path`, in WAL mode
/// with foreign keys on, as a pool of one connection (see the module docs).
pub async fn open(path: impl AsRef<Path>) -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    single()
        .connect_with(opts)
        .await
        .map_err(|e| map_sqlx(NAME, e))
}

/// A private in-memory database (gone when the pool is dropped).
pub async fn memory() -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str("sqlite::memory:")
        .map_err(|e| map_sqlx(NAME, e))?
        .foreign_keys(true);
    single()
        .connect_with(opts)
        .await
        .map_err(|e| map_sqlx(NAME, e))
}

impl SqlStore<SqliteDb> {
    /// A store on a database file (see [`open`]).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::from_pool(open(path).await?))
    }

    /// A store on a private in-memory database (see [`memory`]).
    pub async fn memory() -> Result<Self> {
        Ok(Self::from_pool(memory().await?))
    }

    /// A store on an existing pool. Foreign keys must be on (sqlx's
    /// default); keep the pool to one connection (see the module docs).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self::from_db(SqliteDb { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.db.pool
    }

    /// Apply the embedded migrations (`migrations/sqlite/`) not applied
    /// yet. Idempotent. A database at a newer schema version than this
    /// build knows is refused with
    /// [`Error::InvalidState`](crate::Error::InvalidState) before anything
    /// is changed.
    pub async fn migrate(&self) -> Result<()> {
        migrate(self.pool()).await
    }
}

/// Apply the embedded SQLite migrations on `pool` (see
/// [`SqliteStore::migrate`]).
pub async fn migrate(pool: &SqlitePool) -> Result<()> {
    let has_table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
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

impl SqlCostSource<SqliteDb> {
    /// A cost source reading `table` through `pool`. `Invalid` when a name
    /// in `table` is not a plain SQL identifier.
    pub fn new(pool: SqlitePool, table: &UsageTable) -> Result<Self> {
        Self::from_db(SqliteDb { pool }, table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrganizationId, RecipientKind, ReportStatus};
    use crate::ports::{ChargebackStore, DigestStore, GeneratedReportStore, ScheduleStore};

    /// Rows written by the schema before migration 3 (the specification's
    /// shapes) are carried forward: a distribution list of e-mail strings, a
    /// schedule whose last status is `success`, a completed report without
    /// a file path, a digest row without `is_active`.
    #[tokio::test]
    async fn migration_3_carries_existing_rows_forward() {
        let pool = memory().await.unwrap();
        let before = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                MIGRATOR.iter().filter(|m| m.version < 3).cloned().collect(),
            ),
            ignore_missing: false,
            locking: true,
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
        let t = "2026-10-01T00:00:00.000000000Z";
        for (sql, args) in [
            (
                "INSERT INTO chargeback_configurations (id, organization_id, name, allocation_basis, \
                 distribution_list, created_at, updated_at) \
                 VALUES (?1, ?2, 'Old', 'team', '[\"finance@example.com\",\"cfo@example.com\"]', ?3, ?3)",
                vec![cfg.to_string(), org.to_string(), t.to_string()],
            ),
            (
                "INSERT INTO scheduled_reports (id, organization_id, report_type, name, frequency, \
                 last_status, created_at, updated_at) \
                 VALUES (?1, ?2, 'executive', 'Old', 'weekly', 'success', ?3, ?3)",
                vec![sched.to_string(), org.to_string(), t.to_string()],
            ),
            (
                "INSERT INTO generated_reports (id, organization_id, name, report_type, format, \
                 date_range_start, date_range_end, status, expires_at, created_at) \
                 VALUES (?1, ?2, 'Old', 'team', 'csv', '2026-09-01', '2026-09-30', 'completed', ?3, ?3)",
                vec![rep.to_string(), org.to_string(), t.to_string()],
            ),
            (
                "INSERT INTO email_digest_preferences (id, organization_id, user_id, email, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, 'u@example.com', ?4, ?4)",
                vec![
                    uuid::Uuid::new_v4().to_string(),
                    org.to_string(),
                    user.to_string(),
                    t.to_string(),
                ],
            ),
        ] {
            let mut q = sqlx::query(sql);
            for a in args {
                q = q.bind(a);
            }
            q.execute(&pool).await.unwrap();
        }
        let store = SqliteStore::from_pool(pool);
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
        assert_eq!(p.email.as_deref(), Some("u@example.com"));
        // New rows take the specification's defaults.
        sqlx::query(
            "INSERT INTO email_digest_preferences (id, organization_id, user_id, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(org.to_string())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(t)
        .execute(store.pool())
        .await
        .unwrap();
        let defaults: (i64, i64, Option<String>) = sqlx::query_as(
            "SELECT include_forecast, include_team_breakdown, email FROM email_digest_preferences \
             WHERE email IS NULL",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(defaults, (0, 1, None));
    }
}
