//! In-memory backends, always compiled: a [`MemoryStore`], a
//! [`MemoryCostSource`], a [`RecordingDeliverer`], the [`SystemClock`] and a
//! [`ManualClock`]. They make the crate useful with no database and every
//! test fast.

mod clock;
mod cost;
mod deliverer;
mod store;
mod usage;

pub use clock::{ManualClock, SystemClock};
pub use cost::MemoryCostSource;
pub use deliverer::{Attempt, AttemptOutcome, InjectedFailure, RecordingDeliverer};
pub use store::MemoryStore;
pub use usage::MemoryUsageSource;
