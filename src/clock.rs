//! Where "now" comes from.
//!
//! Validators, issuers and key rings read time through the [`Clock`] trait.
//! [`SystemClock`] is the default; [`FixedClock`] pins time for tests and for
//! replaying recorded traffic.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// A source of the current time, in whole seconds since the Unix epoch.
///
/// Implementations must be cheap: the validator reads the clock once per
/// token.
pub trait Clock: Debug + Send + Sync {
    /// Seconds since the Unix epoch (1970-01-01T00:00:00Z).
    fn now_unix(&self) -> i64;

    /// The current instant as a [`time::OffsetDateTime`] in UTC.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.now_unix()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970: report the epoch; every `exp` is then
            // in the future and every `nbf`/`iat` check stays conservative.
            Err(_) => 0,
        }
    }
}

/// A clock that returns a set instant until it is moved.
///
/// Shared by reference or `Arc`, it can be advanced while validators hold it,
/// which makes expiry and rotation boundaries testable.
#[derive(Debug, Default)]
pub struct FixedClock {
    secs: AtomicI64,
}

impl FixedClock {
    /// A clock fixed at `unix_seconds` since the epoch.
    pub fn at_unix(unix_seconds: i64) -> Self {
        Self {
            secs: AtomicI64::new(unix_seconds),
        }
    }

    /// A clock fixed at `instant`.
    pub fn at(instant: OffsetDateTime) -> Self {
        Self::at_unix(instant.unix_timestamp())
    }

    /// Moves the clock to `unix_seconds`.
    pub fn set_unix(&self, unix_seconds: i64) {
        self.secs.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the clock forward (or backward, for a negative value) by
    /// `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.secs.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.secs.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::at_unix(1_000);
        assert_eq!(c.now_unix(), 1_000);
        c.advance(60);
        assert_eq!(c.now_unix(), 1_060);
        c.set_unix(5);
        assert_eq!(c.now().unix_timestamp(), 5);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now_unix() > 1_704_067_200);
    }
}
