//! Where "now" comes from.
//!
//! Validators, issuers and key rings read time through the [`Clock`] trait.
//! [`SystemClock`] is the default; [`FixedClock`] pins time for tests and for
//! replaying recorded traffic.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, PrimitiveDateTime};

/// What a [`Clock`] that cannot tell the time reports: `i64::MAX`, the end
/// of time.
///
/// Every `exp` has then passed (the validator's `now >= exp + leeway`
/// holds for any `exp`, and so do the expiry checks of API keys, refresh
/// tokens and key rings), so every expiring credential is refused: the
/// clock fails closed. Reporting the epoch or any other plausible instant
/// instead would put every expiry in the future and accept expired
/// tokens.
pub const UNKNOWN_TIME: i64 = i64::MAX;

/// A source of the current time, in whole seconds since the Unix epoch.
///
/// Implementations must be cheap: the validator reads the clock once per
/// token. One that cannot tell the time (its source failed, or reads
/// before 1970 as [`SystemClock`] can) returns [`UNKNOWN_TIME`], never a
/// guess.
pub trait Clock: Debug + Send + Sync {
    /// Seconds since the Unix epoch (1970-01-01T00:00:00Z), or
    /// [`UNKNOWN_TIME`].
    fn now_unix(&self) -> i64;

    /// The current instant as a [`time::OffsetDateTime`] in UTC. Seconds
    /// beyond what it can represent (the years -9999 to 9999), such as
    /// [`UNKNOWN_TIME`], saturate to its first or last second: never to
    /// the epoch, which would put every expiry back in the future.
    fn now(&self) -> OffsetDateTime {
        instant(self.now_unix())
    }
}

/// The UTC instant `unix` seconds after the epoch, clamped to the range of
/// [`OffsetDateTime`] (the years -9999 to 9999): a time too far to
/// represent (a lifetime too long, [`UNKNOWN_TIME`]) ends at the first or
/// last representable second, never wraps and never falls back to the
/// epoch.
pub(crate) fn instant(unix: i64) -> OffsetDateTime {
    /// -9999-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    const FIRST: i64 = -377_705_116_800;
    const LAST: i64 = 253_402_300_799;
    OffsetDateTime::from_unix_timestamp(unix.clamp(FIRST, LAST))
        // Cannot fail within the range; were it to, the end of time fails
        // closed.
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc())
}

/// The operating system's wall clock.
///
/// A wall clock set before 1970 cannot be trusted: it reads as
/// [`UNKNOWN_TIME`], so every expiring credential is refused until the
/// clock is fixed (fail closed), instead of as the epoch, which would
/// accept every expired token.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        unix_seconds(SystemTime::now())
    }
}

/// Whole seconds from the Unix epoch to `t`.
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(UNKNOWN_TIME),
        // A clock set before 1970 is wrong, and by an unknown amount.
        Err(_) => UNKNOWN_TIME,
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

    #[test]
    fn a_system_clock_before_1970_fails_closed() {
        use std::time::Duration;
        // A wall clock set before the epoch cannot be trusted: it reads as
        // the end of time, past every expiry, never as a plausible instant.
        for before in [1, 86_400, 1_000_000_000] {
            let t = UNIX_EPOCH - Duration::from_secs(before);
            assert_eq!(unix_seconds(t), i64::MAX, "{before} s before 1970");
        }
        assert_eq!(unix_seconds(UNIX_EPOCH), 0);
        assert_eq!(
            unix_seconds(UNIX_EPOCH + Duration::from_secs(1_750_000_000)),
            1_750_000_000
        );
        // `now()` of such a reading is the last representable instant, not
        // the epoch (which would put every expiry in the future).
        let unknown = FixedClock::at_unix(i64::MAX);
        assert_eq!(unknown.now().year(), 9999);
        assert!(unknown.now() > OffsetDateTime::from_unix_timestamp(253_402_300_798).unwrap());
        assert_eq!(FixedClock::at_unix(i64::MIN).now().year(), -9999);
    }
}
