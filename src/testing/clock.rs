//! A stopped clock at a documented instant.

use std::sync::Arc;

use crate::clock::FixedClock;

/// The instant [`clock`] reads: 1,750,000,000 seconds after the Unix
/// epoch, 2025-06-15T15:06:40Z. Tests issue and validate at a fixed
/// instant so that expiry never depends on the day they run.
pub const T0: i64 = 1_750_000_000;

/// A clock stopped at [`T0`].
///
/// Shared through the `Arc`, it can be moved with
/// [`FixedClock::advance`] or [`FixedClock::set_unix`] while validators,
/// issuers and verifiers hold it.
pub fn clock() -> Arc<FixedClock> {
    clock_at(T0)
}

/// A clock stopped at `unix` seconds after the Unix epoch.
pub fn clock_at(unix: i64) -> Arc<FixedClock> {
    Arc::new(FixedClock::at_unix(unix))
}
