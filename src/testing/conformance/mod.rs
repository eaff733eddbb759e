//! Conformance suites: one function per store trait that checks every rule
//! of the trait's contract against a fresh store, including concurrency,
//! idempotence, and expiry boundaries (on an injected clock for refresh
//! tokens and API keys; on the system clock for revocation, whose stores
//! may expire entries in real time).
//!
//! Every implementation of these traits, in this crate or in a backend
//! crate (Redis, SQL...), runs the same suite from its tests:
//!
//! ```
//! use std::sync::Arc;
//! use tokengate::testing::conformance;
//! use tokengate::{InMemoryApiKeyStore, InMemoryRefreshStore, RevocationList};
//!
//! conformance::revocation_store(|| Arc::new(RevocationList::new().with_change_feed()));
//! conformance::refresh_store(|| Arc::new(InMemoryRefreshStore::new()));
//! conformance::api_key_store(InMemoryApiKeyStore::new);
//! ```
//!
//! A suite panics, like `assert!`, at the first rule the store breaks, with
//! a message naming the rule. The `make` closure is called once per group
//! of checks and must return an empty store each time (a backend can give
//! each call its own key prefix or database).
//!
//! The [`KeyStore`](crate::KeyStore) suites ask each question through both
//! `find_key` and `find_key_ref` and require the same key from both, so a
//! store that counts its lookups sees each one twice.

// The suites report a broken rule the way tests do: by panicking with a
// message that names it.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects
)]

mod api_keys;
mod keys;
mod refresh;
mod revocation;

pub use api_keys::api_key_store;
pub use keys::{key_set_store, single_key_store};
pub use refresh::refresh_store;
pub use revocation::revocation_store;

use std::fmt::Debug;

use crate::error::Error;

/// Unwraps a store call, naming the rule when the store failed.
fn ok<T>(rule: &str, r: Result<T, Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{rule}: the store failed: {e}"),
    }
}

/// Checks `got == want`, naming the rule.
fn same<T: PartialEq + Debug>(rule: &str, got: T, want: T) {
    assert!(got == want, "{rule}: got {got:?}, want {want:?}");
}
