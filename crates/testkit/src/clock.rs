//! A clock tests set and move, and the instant the checked-in fixtures are dated (the
//! system's clock is `airlock_domain::ports::SystemClock`).

use std::sync::{Arc, Mutex};

use airlock_domain::{Timestamp, ports::Clock};

/// A clock that stands still until told to move; clones share one reading, so a test
/// keeps one and the handler under test another.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<Timestamp>>);

impl FixedClock {
    /// A clock reading `at`.
    pub fn at(at: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        *self.reading() += by;
    }

    fn reading(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A test that panicked while holding the lock left a valid instant behind.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.reading()
    }
}

/// 2026-03-01T12:00:00Z: the instant the fixtures' events and records are dated.
pub fn fixture_time() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("a valid RFC 3339 instant")
        .to_utc()
}
