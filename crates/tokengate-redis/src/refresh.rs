//! Refresh token records in Redis, with the atomic rotation as a Lua script.
//!
//! # Key layout
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{<prefix>:rtf:<family_id>}:f` | hash | every record of one family |
//! | `{<prefix>:rti:<token_id>}:f` | string | the family id of token `token_id` |
//!
//! The family hash has, per token, the field `r:<id>` (the record's JSON as
//! the core serializes it, with `used_at` and `successor` left out, never
//! rewritten), `u:<id>` (its first use, Unix seconds) and `s:<id>` (its
//! successor's id); and, once revoked, the field `revoked` (Unix seconds,
//! the first revocation kept). A family's records live in one key, so in
//! one cluster slot: the rotation script reads and writes the presented
//! token, the successor it supersedes and the new token in one step, which
//! makes it linearizable over every record it touches.
//!
//! The index key is written once (`SET NX`) when a token is stored and
//! never changed, so reading it before the script is safe. It also keeps
//! ids unique across families: a rotation first claims the new id's index
//! entry, and gives the claim back when the script does not rotate.
//!
//! With [`RedisRefreshStore::family_lifetime`] set (the absolute lifetime
//! of [`RefreshTokens`](tokengate::RefreshTokens)), both keys expire
//! (`EXPIREAT`) when the family's lifetime ends: its tokens are refused
//! from then on anyway. Without it, records stay until deleted.

use std::sync::{Arc, Mutex, PoisonError};

use redis::{Script, Value};
use time::{Duration, OffsetDateTime};
use tokengate::refresh::{DuplicateRefreshId, Expected, RotateOutcome, RotateRequest};
use tokengate::{Error, RefreshRecord, RefreshStore};

use crate::config::RedisConfig;
use crate::conn::{RedisClient, RedisConnection, bad_data, invalid, redis_error};

/// The shortest TTL a write gives a family, so that a record written after
/// its family's lifetime ended is still briefly readable instead of
/// vanishing at once.
const MIN_TTL_SECS: i64 = 60;

/// Idle connections kept for reuse.
const POOL: usize = 16;

/// The connections of one store: idle ones are reused, one that failed is
/// dropped. After a Redis restart (or an idle timeout) a pooled socket is
/// dead, and a command sent on it fails without running; so that a store
/// does not fail its first calls after a restart:
///
/// - [`run_idempotent`](Self::run_idempotent) (doing it twice is doing it
///   once) runs again on a new connection when a pooled one turns out
///   dead;
/// - [`run_once`](Self::run_once) (a rotation, an insert) checks a pooled
///   connection with `PING` before using it.
#[derive(Debug)]
pub(crate) struct Connections {
    client: RedisClient,
    idle: Mutex<Vec<RedisConnection>>,
}

impl Connections {
    pub(crate) fn new(client: RedisClient, first: RedisConnection) -> Self {
        Self {
            client,
            idle: Mutex::new(vec![first]),
        }
    }

    /// A pooled connection (`true`), checked with `PING` if `check`, or a
    /// new one (`false`).
    fn take(&self, check: bool) -> Result<(RedisConnection, bool), Error> {
        loop {
            let pooled = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some(mut conn) = pooled else {
                return Ok((self.client.connection()?, false));
            };
            if !check || redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                return Ok((conn, true));
            }
        }
    }

    fn give_back(&self, conn: RedisConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL {
            idle.push(conn);
        }
    }

    /// Runs `f`, which must take effect at most once.
    pub(crate) fn run_once<T>(
        &self,
        f: impl FnOnce(&mut RedisConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (mut conn, _) = self.take(true)?;
        let out = f(&mut conn);
        if out.is_ok() {
            self.give_back(conn);
        }
        out
    }

    /// Runs `f`, which may run twice: again on a new connection when a
    /// pooled one turns out closed.
    pub(crate) fn run_idempotent<T>(
        &self,
        mut f: impl FnMut(&mut RedisConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (mut conn, pooled) = self.take(false)?;
        let mut out = f(&mut conn);
        if out.is_err() && pooled && !redis::ConnectionLike::is_open(&conn) {
            conn = self.client.connection()?;
            out = f(&mut conn);
        }
        if out.is_ok() {
            self.give_back(conn);
        }
        out
    }
}

/// A [`RefreshStore`] in Redis or Redis Cluster.
///
/// Every call is a network round trip (two for [`get`](RefreshStore::get)
/// and [`rotate`](RefreshStore::rotate): the immutable index, then the
/// family). `rotate` is one Lua script (`EVALSHA`, loaded on `NOSCRIPT`),
/// so two servers racing on one token cannot both win. Redis failures are
/// [`Error::Store`]. See the [module docs](self) for the key layout.
///
/// Connections come from a small pool: concurrent calls each get their
/// own. After a Redis restart, reads are repeated on a new connection and
/// writes check a pooled connection with `PING` first, so no call fails
/// on a socket that died with the old server.
///
/// ```no_run
/// use tokengate_redis::{RedisConfig, RedisRefreshStore};
/// # fn main() -> Result<(), tokengate::Error> {
/// let store = RedisRefreshStore::connect(&RedisConfig::new("redis://127.0.0.1/"))?
///     .family_lifetime(tokengate::time::Duration::days(30));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisRefreshStore {
    config: RedisConfig,
    lifetime: Option<Duration>,
    conns: Connections,
    scripts: Scripts,
}

struct Scripts {
    insert: Script,
    rotate: Script,
    revoke: Script,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts").finish_non_exhaustive()
    }
}

impl RedisRefreshStore {
    /// A store on the Redis deployment `config` names. Makes one connection
    /// to check that Redis answers.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the configuration is unusable or Redis does
    /// not answer.
    pub fn connect(config: &RedisConfig) -> Result<Self, Error> {
        let client = config.client()?;
        let mut conn = client.connection()?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .map_err(redis_error)?;
        Ok(Self {
            config: config.clone(),
            lifetime: None,
            conns: Connections::new(client, conn),
            scripts: Scripts {
                insert: Script::new(include_str!("lua/refresh_insert.lua")),
                rotate: Script::new(include_str!("lua/refresh_rotate.lua")),
                revoke: Script::new(include_str!("lua/refresh_revoke.lua")),
            },
        })
    }

    /// Lets a family's keys expire `lifetime` after the family started
    /// (give the absolute lifetime of
    /// [`RefreshTokensBuilder::absolute_lifetime`](tokengate::RefreshTokensBuilder::absolute_lifetime)).
    /// Without it, records are kept until deleted. A family revoked before
    /// any of its records was stored expires `lifetime` after the
    /// revocation.
    #[must_use]
    pub fn family_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    fn family_key(&self, family_id: &str) -> String {
        self.config.key(&format!("rtf:{family_id}"), "f")
    }

    fn index_key(&self, id: &str) -> String {
        self.config.key(&format!("rti:{id}"), "f")
    }

    /// The `EXPIREAT` instant for a family that started at `started`: its
    /// end of life, but at least a minute from now.
    fn expire_at(&self, started: OffsetDateTime) -> Option<i64> {
        let lifetime = self.lifetime?;
        let end = started.saturating_add(lifetime).unix_timestamp();
        let floor = OffsetDateTime::now_utc()
            .unix_timestamp()
            .saturating_add(MIN_TTL_SECS);
        Some(end.max(floor))
    }

    fn once<T>(
        &self,
        f: impl FnOnce(&mut RedisConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.conns.run_once(f)
    }

    fn idempotent<T>(
        &self,
        f: impl FnMut(&mut RedisConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.conns.run_idempotent(f)
    }

    /// The family of token `id`, from its index entry.
    fn family_of(&self, conn: &mut RedisConnection, id: &str) -> Result<Option<String>, Error> {
        redis::cmd("GET")
            .arg(self.index_key(id))
            .query(conn)
            .map_err(redis_error)
    }

    /// Claims the index entry of a new id for `family_id`; `false` when the
    /// id is taken.
    fn claim(
        &self,
        conn: &mut RedisConnection,
        id: &str,
        family_id: &str,
        expire_at: Option<i64>,
    ) -> Result<bool, Error> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.index_key(id)).arg(family_id).arg("NX");
        if let Some(at) = expire_at {
            cmd.arg("EXAT").arg(at);
        }
        let reply: Option<String> = cmd.query(conn).map_err(redis_error)?;
        Ok(reply.is_some())
    }

    fn release(&self, conn: &mut RedisConnection, id: &str) -> Result<(), Error> {
        redis::cmd("DEL")
            .arg(self.index_key(id))
            .query::<i64>(conn)
            .map_err(redis_error)?;
        Ok(())
    }
}

/// The record's JSON without its mutable state, and that state.
fn split(record: &RefreshRecord) -> Result<(String, String, String), Error> {
    let mut frozen = record.clone();
    frozen.used_at = None;
    frozen.successor = None;
    let json = serde_json::to_string(&frozen).map_err(|e| bad_data(e.to_string()))?;
    let used = record
        .used_at
        .map(|t| t.unix_timestamp().to_string())
        .unwrap_or_default();
    let successor = record.successor.clone().unwrap_or_default();
    Ok((json, used, successor))
}

/// A record from its stored JSON and mutable fields.
fn join(
    json: &str,
    used: Option<String>,
    successor: Option<String>,
) -> Result<RefreshRecord, Error> {
    let mut record: RefreshRecord =
        serde_json::from_str(json).map_err(|e| bad_data(format!("refresh record: {e}")))?;
    record.used_at = match used {
        Some(s) => Some(unix(&s)?),
        None => None,
    };
    record.successor = successor;
    Ok(record)
}

/// An instant stored as Unix seconds.
pub(crate) fn unix(s: &str) -> Result<OffsetDateTime, Error> {
    s.parse::<i64>()
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp(n).ok())
        .ok_or_else(|| bad_data(format!("not a Unix instant: {s:?}")))
}

/// A bulk string or nil from a script's reply.
pub(crate) fn opt_string(v: Option<&Value>) -> Result<Option<String>, Error> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::BulkString(b)) => String::from_utf8(b.clone())
            .map(Some)
            .map_err(|_| bad_data("a non-UTF-8 string")),
        Some(Value::SimpleString(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad_data(format!("unexpected reply {other:?}"))),
    }
}

impl RefreshStore for RedisRefreshStore {
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        self.idempotent(|conn| {
            let Some(family) = self.family_of(conn, id)? else {
                return Ok(None);
            };
            let (json, used, succ): (Option<String>, Option<String>, Option<String>) =
                redis::cmd("HMGET")
                    .arg(self.family_key(&family))
                    .arg(format!("r:{id}"))
                    .arg(format!("u:{id}"))
                    .arg(format!("s:{id}"))
                    .query(conn)
                    .map_err(redis_error)?;
            match json {
                // An index entry claimed by a rotation that did not (yet)
                // store its record.
                None => Ok(None),
                Some(json) => join(&json, used, succ).map(|r| Some(Arc::new(r))),
            }
        })
    }

    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        let (json, used, succ) = split(&record)?;
        let exp = self.expire_at(record.family_started_at);
        self.once(|conn| {
            if !self.claim(conn, &record.id, &record.family_id, exp)? {
                return Err(Error::store(DuplicateRefreshId));
            }
            // An error here may come after the script ran: the claim then
            // stays, reserving the id (ids are random).
            let reply: String = self
                .scripts
                .insert
                .key(self.family_key(&record.family_id))
                .arg(&record.id)
                .arg(json.as_str())
                .arg(used.as_str())
                .arg(succ.as_str())
                .arg(exp.map(|e| e.to_string()).unwrap_or_default())
                .invoke(conn)
                .map_err(redis_error)?;
            match reply.as_str() {
                "ok" => Ok(()),
                "duplicate" => {
                    self.release(conn, &record.id)?;
                    Err(Error::store(DuplicateRefreshId))
                }
                other => Err(bad_data(format!("insert script answered {other:?}"))),
            }
        })
    }

    fn rotate(&self, request: &RotateRequest) -> Result<RotateOutcome, Error> {
        let (json, new_used, new_succ) = split(&request.successor)?;
        let (mode, earlier) = match &request.expected {
            Expected::Unused => ("u", ""),
            Expected::Superseding(s) => ("s", s.as_str()),
            _ => return Err(invalid("an expected state this store does not know")),
        };
        // The successor carries its family: the script answers `unknown`
        // when the presented token is not in it, so no lookup of the
        // presented token's family comes first.
        let family = &request.successor.family_id;
        self.once(|conn| {
            let exp = self.expire_at(request.successor.family_started_at);
            let new_id = &request.successor.id;
            let claimed = self.claim(conn, new_id, family, exp)?;
            // An error here may come after the script ran: the claim then
            // stays (a dangling claim only reserves a random id).
            let reply: Vec<Value> = self
                .scripts
                .rotate
                .key(self.family_key(family))
                .arg(&request.presented)
                .arg(mode)
                .arg(earlier)
                .arg(new_id)
                .arg(json.as_str())
                .arg(request.at.unix_timestamp())
                .arg(if claimed { "1" } else { "0" })
                .arg(exp.map(|e| e.to_string()).unwrap_or_default())
                .arg(new_used.as_str())
                .arg(new_succ.as_str())
                .invoke(conn)
                .map_err(redis_error)?;
            let outcome = match opt_string(reply.first())?.as_deref() {
                Some("rotated") => return Ok(RotateOutcome::Rotated),
                Some("unknown") => Ok(RotateOutcome::Unknown),
                Some("family_revoked") => Ok(RotateOutcome::FamilyRevoked),
                Some("successor_used") => Ok(RotateOutcome::SuccessorUsed),
                Some("duplicate") => Err(Error::store(DuplicateRefreshId)),
                Some("changed") => {
                    let json = opt_string(reply.get(1))?
                        .ok_or_else(|| bad_data("changed without a record"))?;
                    let current =
                        join(&json, opt_string(reply.get(2))?, opt_string(reply.get(3))?)?;
                    Ok(RotateOutcome::Changed(Arc::new(current)))
                }
                other => Err(bad_data(format!("rotate script answered {other:?}"))),
            };
            if claimed {
                self.release(conn, new_id)?;
            }
            outcome
        })
    }

    fn revoke_family(&self, family_id: &str, at: OffsetDateTime) -> Result<(), Error> {
        let exp = self.expire_at(at);
        self.idempotent(|conn| {
            self.scripts
                .revoke
                .key(self.family_key(family_id))
                .arg(at.unix_timestamp())
                .arg(exp.map(|e| e.to_string()).unwrap_or_default())
                .invoke::<String>(conn)
                .map_err(redis_error)?;
            Ok(())
        })
    }

    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error> {
        self.idempotent(|conn| {
            redis::cmd("HEXISTS")
                .arg(self.family_key(family_id))
                .arg("revoked")
                .query(conn)
                .map_err(redis_error)
        })
    }
}
