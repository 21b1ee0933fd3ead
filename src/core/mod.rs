//! Pure logic: no I/O, no clock, nothing async. Every function is a
//! deterministic function of its arguments, so it can be unit-tested,
//! fuzzed and benchmarked alone. `core` depends only on [`model`](crate::model).

pub mod aggregate;
pub mod allocate;
pub mod insight;
pub mod period;
pub mod pricebook;
pub mod pricing;
pub mod schedule;
pub mod table;
