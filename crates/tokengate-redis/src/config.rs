//! Where the Redis deployment is, and how keys are named in it.

use std::fmt;
use std::time::Duration;

use tokengate::Error;

use crate::conn::RedisClient;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "tokengate";

/// Single server or cluster.
#[derive(Clone)]
enum Target {
    Single(String),
    Cluster(Vec<String>),
}

/// How to reach Redis and how to name keys there.
///
/// Built from a `redis://` or `rediss://` URL (TLS; ACL user and password
/// in the URL: `rediss://user:password@host:6380/0`), or from the URLs of
/// some nodes of a Redis Cluster. Every key the crate writes is named
/// `{<prefix>:<tag>}:<rest>` (see [`key`](Self::key)): the part in braces
/// is a cluster hash tag, so all keys one script touches live in one slot.
///
/// `Debug` never prints a password.
///
/// # Defaults
///
/// | setting | default |
/// |---|---|
/// | prefix | `"tokengate"` |
/// | connect timeout | 2 s |
/// | response timeout (every command but a blocking read) | 2 s |
#[derive(Clone)]
pub struct RedisConfig {
    target: Target,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl RedisConfig {
    /// One Redis server (or a proxy), from a `redis://`, `rediss://` or
    /// `redis+unix://` URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_target(Target::Single(url.into()))
    }

    /// A Redis Cluster, from the URLs of one or more of its nodes (the
    /// rest are discovered). ACL credentials and TLS are taken from the
    /// URLs.
    pub fn cluster<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_target(Target::Cluster(urls.into_iter().map(Into::into).collect()))
    }

    fn with_target(target: Target) -> Self {
        Self {
            target,
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        }
    }

    /// Names every key under `prefix` instead of `"tokengate"` (several
    /// applications, or environments, sharing one Redis). It must not
    /// contain `{` or `}`, which would break the hash tags:
    /// [`client`](Self::client) refuses such a prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Gives up connecting to a node after `timeout`.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Gives up waiting for the answer to a command after `timeout`, so a
    /// write during an outage fails with [`Error::Store`] instead of
    /// hanging.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// `true` for a cluster configuration.
    pub fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    /// The key `{<prefix>:<tag>}:<rest>`. Every key sharing `tag` hashes
    /// to the same cluster slot.
    pub fn key(&self, tag: &str, rest: &str) -> String {
        format!("{{{}:{}}}:{}", self.prefix, tag, rest)
    }

    /// A client for this configuration (no connection is made yet).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] for a URL the `redis` crate cannot read, a
    /// cluster without nodes, or a prefix with `{` or `}`.
    pub fn client(&self) -> Result<RedisClient, Error> {
        RedisClient::open(self)
    }

    pub(crate) fn single_url(&self) -> Option<&str> {
        match &self.target {
            Target::Single(url) => Some(url),
            Target::Cluster(_) => None,
        }
    }

    pub(crate) fn cluster_urls(&self) -> &[String] {
        match &self.target {
            Target::Single(_) => &[],
            Target::Cluster(urls) => urls,
        }
    }

    pub(crate) fn timeouts(&self) -> (Duration, Duration) {
        (self.connect_timeout, self.response_timeout)
    }
}

/// A URL with any `user:password@` cut to `***@`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_owned(),
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RedisConfig");
        match &self.target {
            Target::Single(url) => d.field("url", &redact(url)),
            Target::Cluster(urls) => d.field(
                "cluster",
                &urls.iter().map(|u| redact(u)).collect::<Vec<_>>(),
            ),
        };
        d.field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_carry_the_hash_tag() {
        let c = RedisConfig::new("redis://127.0.0.1/").prefix("app");
        assert_eq!(c.key("rev", "jti:abc"), "{app:rev}:jti:abc");
        assert_eq!(RedisConfig::new("redis://x/").key_prefix(), "tokengate");
    }

    #[test]
    fn debug_hides_passwords() {
        let c = RedisConfig::new("rediss://alice:s3cret@cache.example:6380/0");
        let d = format!("{c:?}");
        assert!(!d.contains("s3cret") && !d.contains("alice"), "{d}");
        assert!(d.contains("cache.example:6380"), "{d}");
        let c = RedisConfig::cluster(["redis://u:pw@a:1/", "redis://b:2/"]);
        let d = format!("{c:?}");
        assert!(!d.contains("pw"), "{d}");
    }

    #[test]
    fn braces_in_the_prefix_are_refused() {
        let err = RedisConfig::new("redis://127.0.0.1/")
            .prefix("a{b}")
            .client()
            .unwrap_err();
        assert_eq!(err.kind(), tokengate::ErrorKind::StoreFailure);
        assert!(RedisConfig::cluster(Vec::<String>::new()).client().is_err());
        assert!(RedisConfig::new("not a url").client().is_err());
    }
}
