//! Values crossing the SQL boundary, the [`Db`] trait each database
//! implements, and a row reader that turns columns back into model types.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::{Error, Result};

/// The SQL spoken by a [`Db`] (plumbing, not a stable API).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// Null-safe equality operator.
    pub fn null_safe_eq(self) -> &'static str {
        match self {
            Dialect::Postgres => "IS NOT DISTINCT FROM",
            Dialect::Sqlite => "IS",
        }
    }
}

/// The type a column is read as (every column may be NULL).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    I32,
    I64,
    Bool,
    Ts,
    NaiveTs,
    Date,
    Dec,
    Json,
    Bytes,
    /// A list of strings (bound only, as `text[]` or JSON text).
    TextList,
}

/// A bound parameter or a read column.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null(Kind),
    Uuid(Uuid),
    Text(String),
    I32(i32),
    I64(i64),
    Bool(bool),
    Ts(DateTime<Utc>),
    NaiveTs(NaiveDateTime),
    Date(NaiveDate),
    Dec(Decimal),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
    TextList(Vec<String>),
}

/// A database handle of one of the SQL backends. Sealed: implemented by
/// the crate's PostgreSQL and SQLite handles only.
#[async_trait]
pub trait Db: super::sealed::Sealed + Clone + Debug + Send + Sync + 'static {
    /// Run a statement, returning the number of rows it changed.
    #[doc(hidden)]
    async fn exec(&self, sql: &str, args: Vec<Val>) -> Result<u64>;
    /// Run a query, reading each row's columns as `kinds`.
    #[doc(hidden)]
    async fn fetch(&self, sql: &str, args: Vec<Val>, kinds: &[Kind]) -> Result<Vec<Vec<Val>>>;
    /// [`fetch`](Self::fetch) with run-time settings (`work_mem`, ...) that
    /// apply to this query only (PostgreSQL: `set_config(name, value,
    /// true)` in the query's transaction). Databases without such settings
    /// ignore them.
    #[doc(hidden)]
    async fn fetch_tuned(
        &self,
        settings: &[(String, String)],
        sql: &str,
        args: Vec<Val>,
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Val>>> {
        let _ = settings;
        self.fetch(sql, args, kinds).await
    }
    /// Run statements in one transaction, all or none; the total of rows changed.
    #[doc(hidden)]
    async fn exec_batch(&self, stmts: Vec<(String, Vec<Val>)>) -> Result<u64>;
    /// Run statements in one transaction; when a statement marked required
    /// changes no row, roll everything back and return its index.
    #[doc(hidden)]
    async fn exec_all_or_none(&self, stmts: Vec<(String, Vec<Val>, bool)>)
        -> Result<Option<usize>>;
    /// The dialect.
    #[doc(hidden)]
    fn dialect(&self) -> Dialect;
    /// The backend's name in errors (`postgres`, `sqlite`).
    #[doc(hidden)]
    fn name(&self) -> &'static str;
    /// Pick the current slots of up to `limit` due schedules that no other
    /// worker holds under a live lease, locking the picked schedule rows so
    /// concurrent callers take disjoint sets, and claim them for `worker`
    /// (slots that already ran are picked but not claimed). Returns
    /// `(schedule id, organization id, slot)` of every pick, or `None` when
    /// the database cannot lock rows this way (then the portable
    /// in-order claim is used). Schedules in `skip` are never picked.
    #[doc(hidden)]
    async fn claim_due_locked(
        &self,
        _worker: &str,
        _now: DateTime<Utc>,
        _lease_until: DateTime<Utc>,
        _limit: usize,
        _skip: &[Uuid],
    ) -> Result<Option<Vec<(Uuid, Uuid, DateTime<Utc>)>>> {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------
// Writing values

pub(crate) fn uuid(u: impl Into<Uuid>) -> Val {
    Val::Uuid(u.into())
}

pub(crate) fn opt_uuid<T: Into<Uuid>>(u: Option<T>) -> Val {
    u.map_or(Val::Null(Kind::Uuid), |u| Val::Uuid(u.into()))
}

pub(crate) fn text(s: impl Into<String>) -> Val {
    Val::Text(s.into())
}

pub(crate) fn opt_text(s: Option<&str>) -> Val {
    s.map_or(Val::Null(Kind::Text), |s| Val::Text(s.to_owned()))
}

pub(crate) fn ts(t: DateTime<Utc>) -> Val {
    Val::Ts(t)
}

pub(crate) fn opt_ts(t: Option<DateTime<Utc>>) -> Val {
    t.map_or(Val::Null(Kind::Ts), Val::Ts)
}

pub(crate) fn opt_date(d: Option<NaiveDate>) -> Val {
    d.map_or(Val::Null(Kind::Date), Val::Date)
}

pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> Result<Val> {
    Ok(Val::Json(serde_json::to_value(v)?))
}

pub(crate) fn opt_json<T: Serialize>(v: Option<&T>) -> Result<Val> {
    v.map_or(Ok(Val::Null(Kind::Json)), json)
}

/// A serde enum (or any value serializing as a JSON string) as its text.
pub(crate) fn enum_text<T: Serialize + ?Sized>(v: &T) -> Result<Val> {
    match serde_json::to_value(v)? {
        serde_json::Value::String(s) => Ok(Val::Text(s)),
        other => Err(Error::invalid("", format!("{other} is not a text value"))),
    }
}

pub(crate) fn opt_enum_text<T: Serialize>(v: Option<&T>) -> Result<Val> {
    v.map_or(Ok(Val::Null(Kind::Text)), enum_text)
}

/// A `u32` count as INTEGER.
pub(crate) fn count32(field: &str, n: u32) -> Result<Val> {
    i32::try_from(n)
        .map(Val::I32)
        .map_err(|_| Error::invalid(field, format!("{n} is too large to store")))
}

pub(crate) fn opt_count32(field: &str, n: Option<u32>) -> Result<Val> {
    n.map_or(Ok(Val::Null(Kind::I32)), |n| count32(field, n))
}

/// A `u64` count as BIGINT.
pub(crate) fn count64(field: &str, n: u64) -> Result<Val> {
    i64::try_from(n)
        .map(Val::I64)
        .map_err(|_| Error::invalid(field, format!("{n} is too large to store")))
}

pub(crate) fn opt_count64(field: &str, n: Option<u64>) -> Result<Val> {
    n.map_or(Ok(Val::Null(Kind::I64)), |n| count64(field, n))
}

// ---------------------------------------------------------------------------
// SQLite text encodings

/// Fixed-width UTC text, so that text order is time order.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn ts_to_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub(crate) fn ts_from_text(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|e| corrupt(format!("bad timestamp {s:?}: {e}")))
}

pub(crate) fn naive_ts_from_text(s: &str) -> Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|e| corrupt(format!("bad date-time {s:?}: {e}")))
}

pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::Parse {
        location: "database row".into(),
        reason: msg.into(),
    }
}

// ---------------------------------------------------------------------------
// Reading rows

/// Reads the columns of one row in order.
#[derive(Clone)]
pub(crate) struct Row {
    cols: std::vec::IntoIter<Val>,
}

impl Row {
    pub(crate) fn new(cols: Vec<Val>) -> Self {
        Row {
            cols: cols.into_iter(),
        }
    }

    fn next(&mut self) -> Result<Val> {
        self.cols
            .next()
            .ok_or_else(|| corrupt("the row has fewer columns than expected"))
    }

    fn opt(&mut self) -> Result<Option<Val>> {
        Ok(match self.next()? {
            Val::Null(_) => None,
            v => Some(v),
        })
    }

    fn req<T>(v: Option<T>, what: &str) -> Result<T> {
        v.ok_or_else(|| corrupt(format!("unexpected NULL {what}")))
    }

    pub(crate) fn opt_uuid<T: From<Uuid>>(&mut self) -> Result<Option<T>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::Uuid(u)) => Ok(Some(T::from(u))),
            Some(Val::Text(s)) => Uuid::parse_str(&s)
                .map(|u| Some(T::from(u)))
                .map_err(|e| corrupt(format!("bad UUID {s:?}: {e}"))),
            Some(v) => Err(corrupt(format!("expected a UUID, got {v:?}"))),
        }
    }

    pub(crate) fn uuid<T: From<Uuid>>(&mut self) -> Result<T> {
        let v = self.opt_uuid()?;
        Self::req(v, "id")
    }

    pub(crate) fn opt_text(&mut self) -> Result<Option<String>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::Text(s)) => Ok(Some(s)),
            Some(v) => Err(corrupt(format!("expected text, got {v:?}"))),
        }
    }

    pub(crate) fn text(&mut self) -> Result<String> {
        let v = self.opt_text()?;
        Self::req(v, "text")
    }

    pub(crate) fn opt_i64(&mut self) -> Result<Option<i64>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::I64(n)) => Ok(Some(n)),
            Some(Val::I32(n)) => Ok(Some(i64::from(n))),
            Some(Val::Dec(d)) => d
                .trunc()
                .try_into()
                .map(Some)
                .map_err(|_| corrupt(format!("{d} is not a 64-bit integer"))),
            Some(v) => Err(corrupt(format!("expected an integer, got {v:?}"))),
        }
    }

    pub(crate) fn opt_u64(&mut self) -> Result<Option<u64>> {
        self.opt_i64()?
            .map(|n| u64::try_from(n).map_err(|_| corrupt(format!("negative count {n}"))))
            .transpose()
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        let v = self.opt_u64()?;
        Self::req(v, "count")
    }

    pub(crate) fn opt_u32(&mut self) -> Result<Option<u32>> {
        self.opt_i64()?
            .map(|n| u32::try_from(n).map_err(|_| corrupt(format!("count {n} out of range"))))
            .transpose()
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let v = self.opt_u32()?;
        Self::req(v, "count")
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        let n = self.u32()?;
        u8::try_from(n).map_err(|_| corrupt(format!("{n} out of range")))
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.opt()? {
            Some(Val::Bool(b)) => Ok(b),
            Some(Val::I64(n)) => Ok(n != 0),
            Some(Val::I32(n)) => Ok(n != 0),
            v => Err(corrupt(format!("expected a boolean, got {v:?}"))),
        }
    }

    pub(crate) fn opt_ts(&mut self) -> Result<Option<DateTime<Utc>>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::Ts(t)) => Ok(Some(t)),
            Some(Val::Text(s)) => ts_from_text(&s).map(Some),
            Some(v) => Err(corrupt(format!("expected a timestamp, got {v:?}"))),
        }
    }

    pub(crate) fn ts(&mut self) -> Result<DateTime<Utc>> {
        let v = self.opt_ts()?;
        Self::req(v, "timestamp")
    }

    pub(crate) fn opt_naive_ts(&mut self) -> Result<Option<NaiveDateTime>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::NaiveTs(t)) => Ok(Some(t)),
            Some(Val::Text(s)) => naive_ts_from_text(&s).map(Some),
            Some(v) => Err(corrupt(format!("expected a date-time, got {v:?}"))),
        }
    }

    pub(crate) fn opt_date(&mut self) -> Result<Option<NaiveDate>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::Date(d)) => Ok(Some(d)),
            Some(Val::Text(s)) => s
                .parse()
                .map(Some)
                .map_err(|e| corrupt(format!("bad date {s:?}: {e}"))),
            Some(v) => Err(corrupt(format!("expected a date, got {v:?}"))),
        }
    }

    pub(crate) fn date(&mut self) -> Result<NaiveDate> {
        let v = self.opt_date()?;
        Self::req(v, "date")
    }

    pub(crate) fn dec(&mut self) -> Result<Decimal> {
        match self.opt()? {
            Some(Val::Dec(d)) => Ok(d),
            Some(Val::Text(s)) => s
                .parse()
                .map_err(|e| corrupt(format!("bad decimal {s:?}: {e}"))),
            v => Err(corrupt(format!("expected a decimal, got {v:?}"))),
        }
    }

    pub(crate) fn opt_json<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        let value = match self.opt()? {
            None => return Ok(None),
            Some(Val::Json(v)) => v,
            Some(Val::Text(s)) => {
                serde_json::from_str(&s).map_err(|e| corrupt(format!("bad JSON column: {e}")))?
            }
            Some(v) => return Err(corrupt(format!("expected JSON, got {v:?}"))),
        };
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| corrupt(format!("JSON column does not fit the model: {e}")))
    }

    pub(crate) fn json<T: DeserializeOwned>(&mut self) -> Result<T> {
        let v = self.opt_json()?;
        Self::req(v, "JSON")
    }

    /// A text column holding a serde enum (or a string-serialized value).
    pub(crate) fn opt_enum<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        match self.opt_text()? {
            None => Ok(None),
            Some(s) => serde_json::from_value(serde_json::Value::String(s.clone()))
                .map(Some)
                .map_err(|e| corrupt(format!("unknown value {s:?}: {e}"))),
        }
    }

    pub(crate) fn enum_<T: DeserializeOwned>(&mut self) -> Result<T> {
        let v = self.opt_enum()?;
        Self::req(v, "enum")
    }

    pub(crate) fn opt_bytes(&mut self) -> Result<Option<Vec<u8>>> {
        match self.opt()? {
            None => Ok(None),
            Some(Val::Bytes(b)) => Ok(Some(b)),
            Some(v) => Err(corrupt(format!("expected bytes, got {v:?}"))),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors

/// A sqlx error as the crate's error: unique and foreign-key violations are
/// [`Error::Conflict`], check violations [`Error::Invalid`], lost
/// connections, pool timeouts, serialization failures and busy databases
/// retryable [`Error::Backend`]s, anything else a non-retryable one.
pub(crate) fn map_sqlx(backend: &'static str, e: sqlx::Error) -> Error {
    use sqlx::Error as E;
    match &e {
        E::Database(db) => {
            if db.is_unique_violation() {
                return Error::Conflict(format!("{backend}: {}", db.message()));
            }
            if db.is_foreign_key_violation() {
                return Error::Conflict(format!("{backend}: {}", db.message()));
            }
            if db.is_check_violation() {
                return Error::invalid("", format!("{backend}: {}", db.message()));
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let retryable = match backend {
                // serialization_failure, deadlock_detected, admin/crash
                // shutdown, cannot_connect_now, too_many_connections,
                // connection exceptions (class 08).
                "postgres" => {
                    matches!(
                        code.as_str(),
                        "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300"
                    ) || code.starts_with("08")
                }
                // SQLITE_BUSY, SQLITE_LOCKED and their extended codes.
                _ => matches!(code.as_str(), "5" | "6" | "261" | "517" | "262"),
            };
            Error::backend(backend, retryable, e)
        }
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_) => {
            Error::backend(backend, true, e)
        }
        E::Protocol(_) => Error::backend(backend, true, e),
        _ => Error::backend(backend, false, e),
    }
}

/// A migration error as the crate's error.
pub(crate) fn map_migrate(backend: &'static str, e: sqlx::migrate::MigrateError) -> Error {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => map_sqlx(backend, e),
        other => Error::backend(backend, false, other),
    }
}

/// Refuse a database whose applied schema is newer than the migrations this
/// build embeds: running old code on a newer schema could write rows the
/// newer code cannot read.
pub(crate) fn check_schema_version(
    backend: &'static str,
    applied: Option<i64>,
    migrator: &sqlx::migrate::Migrator,
) -> Result<()> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(v) if v > known => Err(Error::InvalidState(format!(
            "the {backend} database is at tokentra-reports schema version {v}, newer than the \
             version {known} this build knows; upgrade tokentra-reports (refusing to run on a \
             newer schema)"
        ))),
        _ => Ok(()),
    }
}
