//! Shared state for a fleet of [`tokengate`] servers, on Redis.
//!
//! A fleet of API servers shares revocations through Redis, behind the
//! core's store traits. The hot path never waits on the network: each
//! server keeps a local replica, loaded in full at start and kept current
//! by a Redis Stream that loses nothing across a disconnect.
//!
//! - [`RedisRevocationStore`]: the write side, a
//!   [`tokengate::RevocationStore`] for the services that revoke. Every
//!   write is one Lua script that updates the entry and appends the change
//!   to the stream, atomically.
//! - [`RedisRevocationReplica`]: the read side of each server, a
//!   [`tokengate::RevocationReplica`] kept current by a background thread
//!   (`XREAD BLOCK`, reconnect with backoff, full resync when the stream
//!   no longer reaches back to its cursor), with a staleness bound and
//!   fail-closed past it by default.
//!
//! Connections are made from a [`RedisConfig`]: one server (`redis://` or,
//! with TLS, `rediss://`, ACL user and password in the URL) or a Redis
//! Cluster. Every key is named `{<prefix>:<tag>}:<rest>`; the braces are a
//! cluster hash tag, so every script touches one slot and the same code
//! runs on a single server and on a cluster. The key layout is in
//! [`revocation`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use tokengate::{Algorithm, KeySetStore, RevocationStore, SigningKey, Validator};
//! use tokengate_redis::{RedisConfig, RedisRevocationReplica, RedisRevocationStore};
//!
//! # fn main() -> Result<(), tokengate::Error> {
//! let config = RedisConfig::new("rediss://app:secret@redis.internal:6380/").prefix("myapp");
//!
//! // The write side, for the services that revoke (refresh tokens,
//! // introspection, key compromise).
//! let store: Arc<dyn RevocationStore> = Arc::new(RedisRevocationStore::new(&config)?);
//!
//! // The read side of this server: loaded in full before it answers.
//! let replica = RedisRevocationReplica::start(&config)?;
//! replica.wait_ready(Duration::from_secs(10))?;
//!
//! let key = SigningKey::hmac(Algorithm::HS256, &[7; 32])?;
//! let validator = Validator::builder(KeySetStore::new([key.verifying_key()])?)
//!     .issuer("https://auth.example.com")
//!     .audience("https://api.example.com")
//!     .revocation(replica.replica())
//!     .build()?;
//!
//! // On any server: every replica of the fleet rejects the token within
//! // milliseconds.
//! let exp = tokengate::time::OffsetDateTime::now_utc() + tokengate::time::Duration::hours(1);
//! store.revoke_token("the-token-jti", exp)?;
//! # let _ = validator;
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `tls` (default): `rediss://` URLs, through rustls.
//! - `testing`: the `testing` module, a harness that starts real `redis-server`
//!   processes and clusters on loopback ports for tests and benchmarks.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod conn;
pub mod revocation;

#[cfg(feature = "testing")]
pub mod testing;

pub use config::{DEFAULT_PREFIX, RedisConfig};
pub use conn::{RedisClient, RedisConnection};
pub use revocation::{
    DEFAULT_MAX_STALENESS, DEFAULT_STREAM_MAX_LEN, RedisRevocationReplica, RedisRevocationStore,
    ReplicaBuilder,
};
// The `redis` crate, re-exported for commands on a [`RedisConnection`].
#[doc(no_inline)]
pub use redis;
