//! What the PostgreSQL and SQLite backends share: the store and cost-source
//! logic written once over a small [`Db`] trait, with the few SQL
//! differences spelled out by [`Dialect`].
//!
//! Every query is a runtime query with bind parameters (`$1`, `$2`...):
//! nothing is checked against a database at build time and no value is
//! ever spliced into SQL text. Every store method is one SQL statement (or
//! a compare-and-set retried on a lost race), so a failure part-way never
//! leaves a half-written record.

mod cost;
mod store;
pub(crate) mod values;

pub use cost::{SqlCostSource, UsageTable};
#[cfg(feature = "postgres")]
pub(crate) use store::claim_run_sql;
pub use store::SqlStore;
pub use values::Db;
#[doc(hidden)]
pub use values::{Dialect, Kind, Val};

mod sealed {
    /// Only this crate's database handles implement [`Db`](super::Db).
    pub trait Sealed {}
    #[cfg(feature = "postgres")]
    impl Sealed for crate::backends::postgres::PgDb {}
    #[cfg(feature = "sqlite")]
    impl Sealed for crate::backends::sqlite::SqliteDb {}
}
