//! Shared state for a fleet of [`tokengate`] servers, on Redis.
//!
//! A fleet of API servers shares revocations, API key records and refresh
//! token families through Redis, behind the core's store traits. The hot
//! path never waits on the network: each server keeps a local replica,
//! loaded at start and kept current by a Redis Stream that loses nothing
//! across a disconnect.
//!
//! Connections are made from a [`RedisConfig`]: one server (`redis://` or,
//! with TLS, `rediss://`, ACL user and password in the URL) or a Redis
//! Cluster. Every key is named `{<prefix>:<tag>}:<rest>`; the braces are a
//! cluster hash tag, so every script touches one slot and the same code
//! runs on a single server and on a cluster.
//!
//! ```no_run
//! use tokengate_redis::RedisConfig;
//!
//! # fn main() -> Result<(), tokengate::Error> {
//! let config = RedisConfig::new("redis://127.0.0.1:6379/").prefix("myapp");
//! let client = config.client()?;
//! let mut conn = client.connection()?;
//! let pong: String = redis::cmd("PING")
//!     .query(&mut conn)
//!     .map_err(tokengate::Error::store)?;
//! assert_eq!(pong, "PONG");
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `tls` (default): `rediss://` URLs, through rustls.
//! - `testing`: [`testing`], a harness that starts real `redis-server`
//!   processes and clusters on loopback ports for tests and benchmarks.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod conn;

#[cfg(feature = "testing")]
pub mod testing;

pub use config::{DEFAULT_PREFIX, RedisConfig};
pub use conn::{RedisClient, RedisConnection};
// The `redis` crate, re-exported for commands on a [`RedisConnection`].
#[doc(no_inline)]
pub use redis;
