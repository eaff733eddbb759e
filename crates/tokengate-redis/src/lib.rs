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
//! # Refresh tokens and API keys
//!
//! [`RedisRefreshStore`] is a [`tokengate::RefreshStore`]: every call goes
//! to Redis, and the rotation is one Lua script over the family's hash, so
//! two servers racing on one token cannot both win.
//! [`RedisApiKeyStore`] is a [`tokengate::ApiKeyStore`]: writes are Lua
//! scripts that also append to a change stream; lookups are served from a
//! local replica that the stream keeps current, so a key revoked or
//! rotated on one server is refused on every other, with no network round
//! trip per request. Past its maximum staleness the replica fails closed
//! by default ([`tokengate::StalePolicy`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tokengate::{ApiKeyFormat, ApiKeyVerifier};
//! use tokengate_redis::{RedisApiKeyStore, RedisConfig, RedisRefreshStore};
//!
//! # fn main() -> Result<(), tokengate::Error> {
//! let config = RedisConfig::new("redis://127.0.0.1:6379/").prefix("myapp");
//! let refresh = RedisRefreshStore::connect(&config)?
//!     .family_lifetime(tokengate::time::Duration::days(30));
//! let keys = Arc::new(RedisApiKeyStore::connect(&config)?.wait_ready(Duration::from_secs(30))?);
//! let verifier = ApiKeyVerifier::new(ApiKeyFormat::new("acme")?, keys);
//! # let _ = (refresh, verifier);
//! # Ok(())
//! # }
//! ```
//!
//! ## Key layout
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{<prefix>:rtf:<family_id>}:f` | hash | a refresh family: per token `r:<id>` (record JSON), `u:<id>` (first use), `s:<id>` (successor); `revoked` |
//! | `{<prefix>:rti:<token_id>}:f` | string | the family of a refresh token (written once) |
//! | `{<prefix>:ak}:k:<id>` | hash | an API key record: `rec` (JSON), `rv`, `ex`, `rb` (mutable state), `n` (version) |
//! | `{<prefix>:ak}:o:<owner>` | set | the ids of an owner's API keys |
//! | `{<prefix>:ak}:ids` | set | every API key id |
//! | `{<prefix>:ak}:changes` | stream | API key change events (`id`, `n`), `MAXLEN ~ 100000` |
//! | `{<prefix>:ak}:seq` | string | the last API key change number |
//!
//! Refresh families spread over the cluster (one slot per family). All API
//! key keys share the tag `{<prefix>:ak}`, because each write changes
//! records and appends to the stream in one script: on a cluster they all
//! live on one master. Use one prefix per tenant to spread them. See
//! [`refresh`] and [`api_keys`] for the details.
//!
//! ## Memory, measured
//!
//! Redis 7.0, 10^6 API keys of the core's default format (owner, name,
//! one scope, no metadata), by `cargo bench -p tokengate-redis --bench
//! api_keys`:
//!
//! | what | bytes |
//! |---|---|
//! | `MEMORY USAGE` of one API key record hash | 552 |
//! | its share of the `ids` set and of its owner's set | 48 + 48 |
//! | the change stream, per entry (at most about 100 000 kept) | 36 |
//! | Redis `used_memory` per API key, everything included | 709 |
//! | replica heap per API key record | 387 (the core's `InMemoryApiKeyStore`: 399) |
//! | `MEMORY USAGE` of a refresh family hash with one token | 616 |
//! | each further token of the family (rotations) | about 600 |
//! | a refresh token's index key | 120 |
//!
//! API key verification among 10^6 keys through the replica costs what
//! it costs with the core's `InMemoryApiKeyStore`, within noise: 1 035 ns
//! against 972 ns per verification in the best rounds (1.07×; median of
//! paired rounds 1.08×) on a shared 2-core machine. A cold replica loads
//! 10^6 records in about 20 s there; `RedisApiKeyStore::import` writes
//! them in about 35 s.
//!
//! # Features
//!
//! - `tls` (default): `rediss://` URLs, through rustls.
//! - `testing`: the `testing` module, a harness that starts real `redis-server`
//!   processes and clusters on loopback ports for tests and benchmarks.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api_keys;
mod config;
mod conn;
pub mod refresh;
pub mod revocation;

#[cfg(feature = "testing")]
pub mod testing;

pub use api_keys::{RedisApiKeyStore, RedisApiKeyStoreBuilder};
pub use config::{DEFAULT_PREFIX, RedisConfig};
pub use conn::{RedisClient, RedisConnection};
pub use refresh::RedisRefreshStore;
pub use revocation::{
    DEFAULT_MAX_STALENESS, DEFAULT_STREAM_MAX_LEN, RedisRevocationReplica, RedisRevocationStore,
    ReplicaBuilder,
};
// The `redis` crate, re-exported for commands on a [`RedisConnection`].
#[doc(no_inline)]
pub use redis;
