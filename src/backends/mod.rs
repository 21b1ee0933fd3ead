//! Implementations of the ports. [`memory`] is always compiled; the others
//! come with cargo features (see the crate docs).

pub mod file;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
