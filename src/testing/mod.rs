//! Helpers for the tests, benchmarks and fuzz targets of tokengate and of
//! the applications and backends built on it.
//!
//! - A forger of well-formed API keys and refresh tokens: [`checksum`],
//!   [`with_checksum`], [`reseal`], [`forge`] and [`wrong_secret`]. The
//!   checksum is computed here from the format's documentation, not with
//!   the crate's own encoder, so a test that compares the two checks
//!   something.
//! - What an attacker signs with: [`attacker_hmac_key`], an HMAC key over
//!   a public key's bytes, which [`crate::SigningKey::hmac`] refuses.
//! - A stopped clock: [`clock`] at [`T0`], or [`clock_at`] any instant.
//! - Backends that are down: [`FailingApiKeyStore`] and
//!   [`FailingRevocation`].
//! - [`conformance`]: one suite per store trait that any implementation
//!   (the in-memory stores here, a Redis or SQL backend elsewhere) runs to
//!   show that it keeps the trait's contract.
//!
//! Enabled by the `testing` feature, for dev-dependencies only: nothing
//! here belongs on a production code path.
//!
//! ```
//! use tokengate::ApiKeyFormat;
//! use tokengate::testing::{T0, clock, forge};
//! use tokengate::Clock;
//!
//! let format = ApiKeyFormat::new("acme")?.environment("live")?;
//! let key = forge(&format, "AAAAAAAAAAAA", &"s".repeat(33));
//! assert!(format.is_well_formed(&key));
//! assert_eq!(clock().now_unix(), T0);
//! # Ok::<(), tokengate::Error>(())
//! ```

mod attacker;
mod clock;
pub mod conformance;
mod encoding;
mod failing;
mod forge;

pub use attacker::attacker_hmac_key;
pub use clock::{T0, clock, clock_at};
pub use encoding::{b64_decode, b64_encode};
pub use failing::{FailingApiKeyStore, FailingRevocation};
pub use forge::{BASE62, checksum, forge, reseal, with_checksum, wrong_secret};
