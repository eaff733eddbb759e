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
    /// Redis answered with data this crate did not write.
    #[error("unexpected data in redis: {0}")]
    Data(String),
}

/// [`Error::Store`] for a failed Redis call.
pub(crate) fn redis_error(e: redis::RedisError) -> Error {
    Error::store(Failure::Redis(e))
}

/// [`Error::Store`] for a configuration or argument that cannot be used.
pub(crate) fn invalid(msg: &'static str) -> Error {
    Error::store(Failure::Invalid(msg))
}

/// [`Error::Store`] for data in Redis that this crate cannot read.
pub(crate) fn bad_data(what: impl Into<String>) -> Error {
    Error::store(Failure::Data(what.into()))
}

/// A few idle connections for a store used from many threads: each call
/// takes one (or opens one), and gives it back only when the call
/// succeeded, so a connection that failed is never reused (the next call
/// reconnects).
#[derive(Debug)]
pub(crate) struct Pool {
    client: RedisClient,
    idle: std::sync::Mutex<Vec<RedisConnection>>,
}

/// Idle connections kept per pool.
const POOL_IDLE: usize = 8;

impl Pool {
    pub(crate) fn new(client: RedisClient) -> Self {
        Self {
            client,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Runs `f`, an idempotent operation (doing it twice is doing it
    /// once), on a connection; when an idle connection turns out to be
    /// dead (Redis restarted, an idle timeout closed it), once more on a
    /// new one. A connection goes back to the pool only after a success.
    pub(crate) fn run_idempotent<T>(
        &self,
        mut f: impl FnMut(&mut RedisConnection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        if let Some(mut conn) = self.take_idle() {
            match f(&mut conn) {
                Ok(value) => {
                    self.give_back(conn);
                    return Ok(value);
                }
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {}
                Err(e) => return Err(redis_error(e)),
            }
        }
        let mut conn = self.client.connection()?;
        let value = f(&mut conn).map_err(redis_error)?;
        self.give_back(conn);
        Ok(value)
    }

    fn take_idle(&self) -> Option<RedisConnection> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    fn give_back(&self, conn: RedisConnection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < POOL_IDLE {
            idle.push(conn);
        }
    }
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
                    // No automatic resend: the client resends a command
                    // that only timed out, which would run a rotation or an
                    // insert script twice (the second run then reports the
                    // first's success as a conflict). Idempotent calls are
                    // retried by the stores themselves.
                    .retries(0)
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
        self.query_on_node_of_raw(cmd, key).map_err(redis_error)
    }

    pub(crate) fn query_on_node_of_raw<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        key: &str,
    ) -> redis::RedisResult<T> {
        let value = match &mut self.kind {
            ConnKind::Single(c) => c.req_command(cmd),
            ConnKind::Cluster(c) => c.route_command(
                cmd,
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
                    key,
                    SlotAddr::Master,
                ))),
            ),
        }?;
        redis::from_redis_value(value).map_err(Into::into)
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
