//! Connections to one Redis server or to a Redis Cluster, behind one type.

use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, ConnectionLike, FromRedisValue, Value};
use tokengate::Error;

use crate::config::RedisConfig;

/// Why a Redis call failed, wrapped in [`Error::Store`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The `redis` crate or the server reported an error (I/O, timeout,
    /// refused command, script error...).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A configuration or an argument that cannot be used.
    #[error("invalid: {0}")]
    Invalid(&'static str),
}

/// [`Error::Store`] for a failed Redis call.
pub(crate) fn redis_error(e: redis::RedisError) -> Error {
    Error::store(Failure::Redis(e))
}

/// [`Error::Store`] for a configuration or argument that cannot be used.
pub(crate) fn invalid(msg: &'static str) -> Error {
    Error::store(Failure::Invalid(msg))
}

#[derive(Clone)]
enum ClientKind {
    Single(redis::Client),
    Cluster(ClusterClient),
}

/// A client for one Redis server or a Redis Cluster (made by
/// [`RedisConfig::client`]). Cheap to clone; each
/// [`connection`](Self::connection) is a new connection.
#[derive(Clone)]
pub struct RedisClient {
    kind: ClientKind,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl std::fmt::Debug for RedisClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClient")
            .field(
                "kind",
                &match self.kind {
                    ClientKind::Single(_) => "single",
                    ClientKind::Cluster(_) => "cluster",
                },
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl RedisClient {
    pub(crate) fn open(config: &RedisConfig) -> Result<Self, Error> {
        if config.key_prefix().contains(['{', '}']) {
            return Err(invalid("the key prefix must not contain '{' or '}'"));
        }
        let (connect_timeout, response_timeout) = config.timeouts();
        let kind = match config.single_url() {
            Some(url) => ClientKind::Single(redis::Client::open(url).map_err(redis_error)?),
            None => {
                let urls = config.cluster_urls();
                if urls.is_empty() {
                    return Err(invalid(
                        "a cluster configuration needs at least one node URL",
                    ));
                }
                let client = ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(connect_timeout)
                    .response_timeout(response_timeout)
                    .retries(2)
                    .build()
                    .map_err(redis_error)?;
                ClientKind::Cluster(client)
            }
        };
        Ok(Self {
            kind,
            connect_timeout,
            response_timeout,
        })
    }

    /// `true` for a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.kind, ClientKind::Cluster(_))
    }

    /// The configured response timeout.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// A new connection, with the configured connect and response
    /// timeouts.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when no connection can be made.
    pub fn connection(&self) -> Result<RedisConnection, Error> {
        let kind = match &self.kind {
            ClientKind::Single(client) => {
                let conn = client
                    .get_connection_with_timeout(self.connect_timeout)
                    .map_err(redis_error)?;
                conn.set_read_timeout(Some(self.response_timeout))
                    .map_err(redis_error)?;
                conn.set_write_timeout(Some(self.response_timeout))
                    .map_err(redis_error)?;
                ConnKind::Single(conn)
            }
            ClientKind::Cluster(client) => {
                ConnKind::Cluster(Box::new(client.get_connection().map_err(redis_error)?))
            }
        };
        Ok(RedisConnection {
            kind,
            response_timeout: self.response_timeout,
        })
    }
}

enum ConnKind {
    Single(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

/// A connection to one server or to a cluster: a
/// [`redis::ConnectionLike`], so `redis::cmd(..).query(&mut conn)` and
/// [`redis::Script`]s work on both.
pub struct RedisConnection {
    kind: ConnKind,
    response_timeout: Duration,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("cluster", &matches!(self.kind, ConnKind::Cluster(_)))
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Waits at most `timeout` for a reply (`None`: forever). A blocking
    /// read (`XREAD BLOCK`) needs more than its block time.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the socket refuses the setting.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Error> {
        match &self.kind {
            ConnKind::Single(c) => c.set_read_timeout(timeout),
            ConnKind::Cluster(c) => c.set_read_timeout(timeout),
        }
        .map_err(redis_error)
    }

    /// Back to the configured response timeout.
    ///
    /// # Errors
    ///
    /// As [`set_read_timeout`](Self::set_read_timeout).
    pub fn reset_read_timeout(&self) -> Result<(), Error> {
        self.set_read_timeout(Some(self.response_timeout))
    }

    /// Runs `cmd` on the node that holds `key` (its cluster slot's
    /// master): for commands that name no key but concern that node's
    /// keys, such as `SCAN` over one hash tag. On one server it simply
    /// runs `cmd`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the command fails or its reply is not a `T`.
    pub fn query_on_node_of<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        key: &str,
    ) -> Result<T, Error> {
        let value = match &mut self.kind {
            ConnKind::Single(c) => c.req_command(cmd),
            ConnKind::Cluster(c) => c.route_command(
                cmd,
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
                    key,
                    SlotAddr::Master,
                ))),
            ),
        }
        .map_err(redis_error)?;
        redis::from_redis_value(value).map_err(|e| redis_error(e.into()))
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> redis::RedisResult<Value> {
        match &mut self.kind {
            ConnKind::Single(c) => c.req_packed_command(cmd),
            ConnKind::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<Value>> {
        match &mut self.kind {
            ConnKind::Single(c) => c.req_packed_commands(cmd, offset, count),
            ConnKind::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &Cmd) -> redis::RedisResult<Value> {
        match &mut self.kind {
            ConnKind::Single(c) => c.req_command(cmd),
            ConnKind::Cluster(c) => c.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.kind {
            ConnKind::Single(c) => c.get_db(),
            ConnKind::Cluster(c) => c.get_db(),
        }
    }

    fn supports_pipelining(&self) -> bool {
        match &self.kind {
            ConnKind::Single(c) => c.supports_pipelining(),
            ConnKind::Cluster(c) => c.supports_pipelining(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match &mut self.kind {
            ConnKind::Single(c) => c.check_connection(),
            ConnKind::Cluster(c) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match &self.kind {
            ConnKind::Single(c) => c.is_open(),
            ConnKind::Cluster(c) => c.is_open(),
        }
    }
}
