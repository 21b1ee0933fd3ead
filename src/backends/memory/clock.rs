//! Clocks: the system clock and a manual one for tests and simulations.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::ports::Clock;

/// The system clock: the one place the crate reads the wall time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the system time
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told. Clones share the time.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Set the time (it may go backwards: tests decide).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Move the time forward by `by` and return the new time.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut t = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
        *t
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_and_moves_when_told() {
        let c = ManualClock::new(DateTime::UNIX_EPOCH);
        let c2 = c.clone();
        assert_eq!(c2.advance(Duration::minutes(15)).timestamp(), 900);
        assert_eq!(c.now().timestamp(), 900);
        c.set(DateTime::UNIX_EPOCH);
        assert_eq!(c2.now(), DateTime::UNIX_EPOCH);
        assert!(SystemClock.now() > DateTime::UNIX_EPOCH);
    }
}
