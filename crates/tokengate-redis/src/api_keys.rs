//! API key records in Redis, served from a local replica fed by a Redis
//! Stream.
//!
//! # Key layout
//!
//! Every key shares the hash tag `{<prefix>:ak}`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{<prefix>:ak}:k:<id>` | hash | one record |
//! | `{<prefix>:ak}:o:<owner>` | set | the ids of one owner's keys |
//! | `{<prefix>:ak}:ids` | set | every id (the full reload walks it) |
//! | `{<prefix>:ak}:changes` | stream | one entry per change: `id`, `n` |
//! | `{<prefix>:ak}:seq` | string | the number of the last change |
//!
//! A record hash has the fields `rec` (the record's JSON as the core
//! serializes it, with `revoked_at`, `expires_at` and `replaced_by` left
//! out, never rewritten), `rv`, `ex` (Unix seconds) and `rb` (the
//! successor's id) for the mutable state, and `n`, the number of the last
//! change to it (its version). Only digests are stored, never a key.
//!
//! Every write is one Lua script that changes the records, increments the
//! counter and appends an entry per changed record to the stream with
//! `XADD ... MAXLEN ~`. Because the stream and the records must be written
//! in one script, they are in one slot: on Redis Cluster **all API key
//! records live on one master** (the one that owns the slot of
//! `{<prefix>:ak}`). A million records take a few hundred megabytes there
//! (see the crate docs for measured figures); give each tenant its own
//! prefix to spread them.
//!
//! # The replica
//!
//! [`RedisApiKeyStore::get`] never touches the network. Each store keeps
//! every record in memory and a background thread follows the stream
//! (`XREAD BLOCK` from its cursor), refetching each changed record. Change
//! numbers are consecutive, so a gap means entries were trimmed past the
//! cursor (or Redis lost its data): the thread then reloads everything
//! from the records, as it does at start and whenever the stream's last
//! entry is behind its cursor after a reconnect. Connection errors are
//! retried with backoff, resuming from the cursor: the stream holds what
//! was written meanwhile, so nothing is lost (plain pub/sub would drop it).
//! Writes made through a store wait (bounded) until its own replica has
//! applied them, so a store reads its own writes.
//!
//! **Staleness.** The replica knows when it last heard from Redis. Past
//! [`max_staleness`](RedisApiKeyStoreBuilder::max_staleness) (default
//! 30 s, as the revocation replica's: it rides out a Redis restart or
//! failover) it follows a [`StalePolicy`]; the default is
//! [`FailClosed`](StalePolicy::FailClosed): a replica that cannot
//! hear revocations must not keep accepting keys that may have been
//! revoked since, and `Error::Store` maps to "service unavailable", not to
//! "invalid key", so clients retry instead of discarding their keys. A
//! watchdog thread flips the replica to stale within a tenth of the bound,
//! so `get` reads one atomic and no clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::{Script, Value};
use time::OffsetDateTime;
use tokengate::api_key::{DuplicateKeyId, KeyRotation, KeyRotationOutcome};
use tokengate::{ApiKeyRecord, ApiKeyStore, Error, StalePolicy};

use crate::config::RedisConfig;
use crate::conn::{RedisClient, RedisConnection, bad_data, redis_error};
use crate::refresh::{Connections, opt_string, unix};
use crate::revocation::{DEFAULT_MAX_STALENESS, DEFAULT_STREAM_MAX_LEN};

const SHARDS: usize = 32;
/// Replica states.
const NOT_READY: u8 = 0;
const FRESH: u8 = 1;
const STALE: u8 = 2;
/// Records fetched per round trip when reloading or catching up.
const BATCH: usize = 1_000;

/// Why the replica refused to answer.
#[derive(Debug, thiserror::Error)]
enum ReplicaError {
    #[error("the API key replica has not finished its first load")]
    NotReady,
    #[error("the API key replica has not heard from redis for {0:?}")]
    Stale(Duration),
}

type Entry = (u64, Arc<ApiKeyRecord>);
type Map = HashMap<Box<str>, Entry>;

/// What the store and its feed thread share.
#[derive(Debug)]
struct Shared {
    shards: Box<[RwLock<Map>]>,
    base: Instant,
    /// Nanoseconds after `base` when Redis last answered the feed.
    heard: AtomicU64,
    /// [`NOT_READY`], [`FRESH`] or [`STALE`]: what `get` reads, one
    /// atomic load (the watchdog thread keeps it current, so the hot path
    /// reads no clock).
    state: AtomicU8,
    stop: AtomicBool,
    /// The number of the last change applied.
    applied: Mutex<u64>,
    progress: Condvar,
    reloads: AtomicU64,
    max_staleness: Duration,
    policy: StalePolicy,
}

impl Shared {
    fn shard(&self, id: &str) -> Option<&RwLock<Map>> {
        self.shards.get(shard_index(id))
    }

    fn touch(&self) {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.heard.store(nanos.max(1), Ordering::Release);
        let _ = self
            .state
            .compare_exchange(STALE, FRESH, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The watchdog's tick: marks the replica stale once it has not heard
    /// from Redis for longer than the bound.
    fn check_staleness(&self) {
        if self.silence() > self.max_staleness {
            let _ = self
                .state
                .compare_exchange(FRESH, STALE, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn silence(&self) -> Duration {
        let heard = Duration::from_nanos(self.heard.load(Ordering::Acquire));
        self.base.elapsed().saturating_sub(heard)
    }

    /// Applies a fetched state if it is not older than the one held.
    fn apply(&self, id: &str, state: Option<Entry>) {
        let Some(shard) = self.shard(id) else { return };
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        match state {
            Some((n, rec)) => {
                if map.get(id).is_none_or(|(held, _)| *held <= n) {
                    map.insert(id.into(), (n, rec));
                }
            }
            None => {
                map.remove(id);
            }
        }
    }

    fn set_applied(&self, n: u64) {
        *self.applied.lock().unwrap_or_else(PoisonError::into_inner) = n;
        self.progress.notify_all();
    }

    /// Waits until change `n` is applied; `false` on timeout.
    fn wait_applied(&self, n: u64, timeout: Duration) -> bool {
        let guard = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .progress
            .wait_timeout_while(guard, timeout, |applied| *applied < n)
            .unwrap_or_else(PoisonError::into_inner);
        *guard >= n
    }
}

/// The names of the shared keys.
#[derive(Debug, Clone)]
struct Keys {
    config: RedisConfig,
    stream: String,
    seq: String,
    ids: String,
}

impl Keys {
    fn new(config: &RedisConfig) -> Self {
        Self {
            stream: config.key("ak", "changes"),
            seq: config.key("ak", "seq"),
            ids: config.key("ak", "ids"),
            config: config.clone(),
        }
    }

    fn record(&self, id: &str) -> String {
        self.config.key("ak", &format!("k:{id}"))
    }

    fn owner(&self, owner: &str) -> String {
        self.config.key("ak", &format!("o:{owner}"))
    }
}

struct Scripts {
    insert: Script,
    revoke: Script,
    retire: Script,
    rotate: Script,
    import: Script,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts").finish_non_exhaustive()
    }
}

macro_rules! api_key_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("lua/apikey_common.lua"),
            include_str!($file)
        ))
    };
}

/// Settings of a [`RedisApiKeyStore`], from
/// [`RedisApiKeyStore::builder`].
///
/// | setting | default |
/// |---|---|
/// | maximum staleness | 30 s (as the revocation replica) |
/// | staleness policy | [`StalePolicy::FailClosed`] |
/// | stream length kept (`MAXLEN ~`) | 100 000 entries |
/// | wait for a write to reach the own replica | 2 s |
#[derive(Debug, Clone)]
pub struct RedisApiKeyStoreBuilder {
    config: RedisConfig,
    max_staleness: Duration,
    policy: StalePolicy,
    stream_max_len: u64,
    write_sync: Duration,
}

impl RedisApiKeyStoreBuilder {
    /// How long the replica may go without hearing from Redis before
    /// [`policy`](Self::policy) applies.
    #[must_use]
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound;
        self
    }

    /// What `get` does past the maximum staleness (default
    /// [`StalePolicy::FailClosed`]: no key is accepted on state that may
    /// be stale; `Error::Store` answers 503, so clients retry).
    #[must_use]
    pub fn policy(mut self, policy: StalePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The approximate number of entries the change stream keeps. A
    /// replica disconnected for longer than that many changes reloads in
    /// full when it comes back.
    #[must_use]
    pub fn stream_max_len(mut self, entries: u64) -> Self {
        self.stream_max_len = entries.max(1);
        self
    }

    /// How long a write waits for the store's own replica to apply it
    /// (normally well under a millisecond). Past it, the written records
    /// are fetched and applied directly.
    #[must_use]
    pub fn write_sync_timeout(mut self, timeout: Duration) -> Self {
        self.write_sync = timeout;
        self
    }

    /// Connects and starts the replica's feed thread. The store answers
    /// `get` once its first full load is done: see
    /// [`RedisApiKeyStore::wait_ready`].
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the configuration is unusable, Redis does not
    /// answer, or the thread cannot be started.
    pub fn connect(self) -> Result<RedisApiKeyStore, Error> {
        let client = self.config.client()?;
        let mut conn = client.connection()?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .map_err(redis_error)?;
        let shared = Arc::new(Shared {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            base: Instant::now(),
            heard: AtomicU64::new(0),
            state: AtomicU8::new(NOT_READY),
            stop: AtomicBool::new(false),
            applied: Mutex::new(0),
            progress: Condvar::new(),
            reloads: AtomicU64::new(0),
            max_staleness: self.max_staleness,
            policy: self.policy,
        });
        let keys = Keys::new(&self.config);
        // The feed's blocking read: short enough that the replica hears
        // from Redis several times per staleness bound, and within the
        // response timeout (which a cluster connection applies to the
        // nodes it reconnects to).
        let block = (self.max_staleness / 4)
            .min(client.response_timeout() / 2)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        let feed = Feed {
            shared: Arc::clone(&shared),
            client: client.clone(),
            keys: keys.clone(),
            block,
            cursor: String::new(),
            last_n: 0,
        };
        thread::Builder::new()
            .name("tokengate-redis-api-keys".into())
            .spawn(move || feed.run())
            .map_err(Error::store)?;
        // The watchdog: a tenth of the bound between checks, so `get`
        // turns stale at most that late.
        let tick =
            (self.max_staleness / 10).clamp(Duration::from_millis(5), Duration::from_millis(250));
        let watched = Arc::clone(&shared);
        thread::Builder::new()
            .name("tokengate-redis-api-keys-watchdog".into())
            .spawn(move || {
                while !watched.stop.load(Ordering::Acquire) {
                    thread::sleep(tick);
                    watched.check_staleness();
                }
            })
            .map_err(Error::store)?;
        Ok(RedisApiKeyStore {
            shared,
            keys,
            conns: Connections::new(client, conn),
            scripts: Scripts {
                insert: api_key_script!("lua/apikey_insert.lua"),
                revoke: api_key_script!("lua/apikey_revoke.lua"),
                retire: api_key_script!("lua/apikey_retire.lua"),
                rotate: api_key_script!("lua/apikey_rotate.lua"),
                import: api_key_script!("lua/apikey_import.lua"),
            },
            stream_max_len: self.stream_max_len,
            write_sync: self.write_sync,
        })
    }
}

/// An [`ApiKeyStore`] in Redis or Redis Cluster, read from a local
/// replica. See the [module docs](self) for the key layout, the change
/// feed and the staleness policy.
///
/// ```no_run
/// use std::time::Duration;
/// use tokengate_redis::{RedisApiKeyStore, RedisConfig};
/// # fn main() -> Result<(), tokengate::Error> {
/// let keys = RedisApiKeyStore::connect(&RedisConfig::new("redis://127.0.0.1/"))?
///     .wait_ready(Duration::from_secs(30))?;
/// # Ok(()) }
/// ```
///
/// Dropping the store stops its feed thread (within one blocking read).
#[derive(Debug)]
pub struct RedisApiKeyStore {
    shared: Arc<Shared>,
    keys: Keys,
    conns: Connections,
    scripts: Scripts,
    stream_max_len: u64,
    write_sync: Duration,
}

impl Drop for RedisApiKeyStore {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

impl RedisApiKeyStore {
    /// Settings for a store on the deployment `config` names.
    pub fn builder(config: &RedisConfig) -> RedisApiKeyStoreBuilder {
        RedisApiKeyStoreBuilder {
            config: config.clone(),
            max_staleness: DEFAULT_MAX_STALENESS.unsigned_abs(),
            policy: StalePolicy::FailClosed,
            stream_max_len: DEFAULT_STREAM_MAX_LEN as u64,
            write_sync: Duration::from_secs(2),
        }
    }

    /// A store with the default settings (see
    /// [`RedisApiKeyStoreBuilder`]).
    ///
    /// # Errors
    ///
    /// As [`RedisApiKeyStoreBuilder::connect`].
    pub fn connect(config: &RedisConfig) -> Result<Self, Error> {
        Self::builder(config).connect()
    }

    /// Waits until the replica has loaded every record, at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the load is not done in time.
    pub fn wait_ready(self, timeout: Duration) -> Result<Self, Error> {
        let deadline = Instant::now() + timeout;
        let guard = self
            .shared
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut guard = guard;
        while !self.is_ready() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::store(ReplicaError::NotReady));
            }
            guard = self
                .shared
                .progress
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(guard);
        Ok(self)
    }

    /// `true` once the first full load is done.
    pub fn is_ready(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) != NOT_READY
    }

    /// How long since the replica last heard from Redis.
    pub fn silence(&self) -> Duration {
        self.shared.silence()
    }

    /// How many full loads the replica has done (1 after a normal start;
    /// more after a trimmed stream or a Redis that lost its data).
    pub fn full_loads(&self) -> u64 {
        self.shared.reloads.load(Ordering::Acquire)
    }

    /// The number of records in the replica.
    pub fn replica_len(&self) -> usize {
        self.shared
            .shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Inserts many records, a few hundred per script call, skipping ids
    /// that exist (an import or a migration, much faster than one
    /// [`insert`](ApiKeyStore::insert) per record). Returns how many were
    /// inserted. Each record is one change event, like an insert. Returns
    /// once this store's replica has applied them, or after the write
    /// sync timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when Redis fails; the batches sent before the
    /// failure stay inserted.
    pub fn import(&self, records: impl IntoIterator<Item = ApiKeyRecord>) -> Result<usize, Error> {
        const CHUNK: usize = 500;
        let mut total = 0usize;
        let mut last = 0i64;
        let mut batch: Vec<ApiKeyRecord> = Vec::with_capacity(CHUNK);
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            batch.clear();
            batch.extend(records.by_ref().take(CHUNK));
            let mut inv = self.invocation(&self.scripts.import);
            for record in &batch {
                inv.key(self.keys.record(&record.id))
                    .key(self.keys.owner(&record.owner))
                    .arg(&record.id);
                for field in split(record)? {
                    inv.arg(field);
                }
            }
            let reply: (i64, i64) = self.once(|conn| inv.invoke(conn).map_err(redis_error))?;
            total = total.saturating_add(usize::try_from(reply.0).unwrap_or(0));
            last = last.max(reply.1);
        }
        if let Ok(n) = u64::try_from(last) {
            self.shared.wait_applied(n, self.write_sync);
        }
        Ok(total)
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

    /// A script invocation with the shared keys and arguments first.
    fn invocation<'a>(&self, script: &'a Script) -> redis::ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.key(&self.keys.stream)
            .key(&self.keys.seq)
            .key(&self.keys.ids)
            .arg(self.stream_max_len);
        inv
    }

    /// Makes change `n` (to the records `ids`) visible in this store's
    /// replica before returning: waits for the feed, or fetches directly.
    fn sync(&self, n: i64, ids: &[&str]) -> Result<(), Error> {
        let Ok(n) = u64::try_from(n) else {
            return Ok(());
        };
        if n == 0 || self.shared.wait_applied(n, self.write_sync) {
            return Ok(());
        }
        self.idempotent(|conn| {
            let states = fetch(conn, &self.keys, ids)?;
            for (id, state) in ids.iter().zip(states) {
                self.shared.apply(id, state);
            }
            Ok(())
        })
    }
}

/// The record's JSON without its mutable state, and that state.
fn split(record: &ApiKeyRecord) -> Result<[String; 4], Error> {
    let mut frozen = record.clone();
    frozen.revoked_at = None;
    frozen.expires_at = None;
    frozen.replaced_by = None;
    let json = serde_json::to_string(&frozen).map_err(|e| bad_data(e.to_string()))?;
    let secs = |t: Option<OffsetDateTime>| t.map(|t| t.unix_timestamp().to_string());
    Ok([
        json,
        secs(record.revoked_at).unwrap_or_default(),
        secs(record.expires_at).unwrap_or_default(),
        record.replaced_by.clone().unwrap_or_default(),
    ])
}

/// Reads the stored fields (`rec`, `rv`, `ex`, `rb`, `n`) of records.
static FETCH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/apikey_fetch.lua")));

type Fields = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<u64>,
);

/// A record and its version from its stored fields; `None` when it is gone.
fn join((json, rv, ex, rb, n): Fields) -> Result<Option<Entry>, Error> {
    let Some(json) = json else { return Ok(None) };
    let mut record: ApiKeyRecord =
        serde_json::from_str(&json).map_err(|e| bad_data(format!("API key record: {e}")))?;
    record.revoked_at = rv.as_deref().map(unix).transpose()?;
    record.expires_at = ex.as_deref().map(unix).transpose()?;
    record.replaced_by = rb;
    Ok(Some((n.unwrap_or(0), Arc::new(record))))
}

/// The current state of records `ids`, in one round trip. A record this
/// version cannot read fails the call.
fn fetch(
    conn: &mut RedisConnection,
    keys: &Keys,
    ids: &[&str],
) -> Result<Vec<Option<Entry>>, Error> {
    fetch_rows(conn, keys, ids)?.into_iter().map(join).collect()
}

/// As [`fetch`], for a replica: a record this version cannot read (a
/// hand edit, a newer schema) is treated as absent, so its key is refused,
/// and the replica goes on applying every other change. Failing the batch
/// instead would stall the replica at that entry, and with it every later
/// revocation.
fn fetch_for_replica(
    conn: &mut RedisConnection,
    keys: &Keys,
    ids: &[&str],
) -> Result<Vec<Option<Entry>>, Error> {
    Ok(fetch_rows(conn, keys, ids)?
        .into_iter()
        .map(|row| join(row).unwrap_or(None))
        .collect())
}

fn fetch_rows(conn: &mut RedisConnection, keys: &Keys, ids: &[&str]) -> Result<Vec<Fields>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut fetch = FETCH.prepare_invoke();
    for id in ids {
        fetch.key(keys.record(id));
    }
    fetch.invoke(conn).map_err(redis_error)
}

fn int_reply(v: &Value) -> Result<i64, Error> {
    match v {
        Value::Int(n) => Ok(*n),
        other => Err(bad_data(format!("unexpected reply {other:?}"))),
    }
}

impl ApiKeyStore for RedisApiKeyStore {
    fn get(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error> {
        let shared = &*self.shared;
        match shared.state.load(Ordering::Acquire) {
            FRESH => {}
            STALE if shared.policy == StalePolicy::ServeStale => {}
            STALE => return Err(Error::store(ReplicaError::Stale(shared.silence()))),
            _ => return Err(Error::store(ReplicaError::NotReady)),
        }
        Ok(shared.shard(id).and_then(|s| {
            s.read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(id)
                .map(|(_, rec)| Arc::clone(rec))
        }))
    }

    fn insert(&self, record: ApiKeyRecord) -> Result<(), Error> {
        let [json, rv, ex, rb] = split(&record)?;
        let n = self.once(|conn| {
            let reply: Value = self
                .invocation(&self.scripts.insert)
                .key(self.keys.record(&record.id))
                .key(self.keys.owner(&record.owner))
                .arg(&record.id)
                .arg(json)
                .arg(rv)
                .arg(ex)
                .arg(rb)
                .invoke(conn)
                .map_err(redis_error)?;
            int_reply(&reply)
        })?;
        if n < 0 {
            return Err(Error::store(DuplicateKeyId));
        }
        self.sync(n, &[&record.id])
    }

    fn revoke(&self, id: &str, at: OffsetDateTime) -> Result<bool, Error> {
        let n = self.idempotent(|conn| {
            let reply: Value = self
                .invocation(&self.scripts.revoke)
                .key(self.keys.record(id))
                .arg(id)
                .arg(at.unix_timestamp())
                .invoke(conn)
                .map_err(redis_error)?;
            int_reply(&reply)
        })?;
        if n < 0 {
            return Ok(false);
        }
        self.sync(n, &[id])?;
        Ok(true)
    }

    fn retire(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        replaced_by: Option<&str>,
    ) -> Result<bool, Error> {
        let n = self.idempotent(|conn| {
            let reply: Value = self
                .invocation(&self.scripts.retire)
                .key(self.keys.record(id))
                .arg(id)
                .arg(expires_at.unix_timestamp())
                .arg(replaced_by.unwrap_or_default())
                .invoke(conn)
                .map_err(redis_error)?;
            int_reply(&reply)
        })?;
        if n < 0 {
            return Ok(false);
        }
        self.sync(n, &[id])?;
        Ok(true)
    }

    fn rotate(&self, rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error> {
        let successor = &rotation.successor;
        let [json, rv, ex, rb] = split(successor)?;
        let reply: Vec<Value> = self.once(|conn| {
            self.invocation(&self.scripts.rotate)
                .key(self.keys.record(&rotation.old_id))
                .key(self.keys.record(&successor.id))
                .key(self.keys.owner(&successor.owner))
                .arg(&rotation.old_id)
                .arg(rotation.at.unix_timestamp())
                .arg(rotation.old_expires_at.unix_timestamp())
                .arg(&successor.id)
                .arg(json)
                .arg(rv)
                .arg(ex)
                .arg(rb)
                .invoke(conn)
                .map_err(redis_error)
        })?;
        match opt_string(reply.first())?.as_deref() {
            Some("rotated") => {
                let n = reply.get(1).map(int_reply).transpose()?.unwrap_or(0);
                self.sync(n, &[&successor.id, &rotation.old_id])?;
                Ok(KeyRotationOutcome::Rotated)
            }
            Some("unknown") => Ok(KeyRotationOutcome::Unknown),
            Some("revoked") => Ok(KeyRotationOutcome::Revoked),
            Some("rotated_already") => Ok(KeyRotationOutcome::AlreadyRotated),
            Some("expired") => {
                let at =
                    opt_string(reply.get(1))?.ok_or_else(|| bad_data("expired without instant"))?;
                Ok(KeyRotationOutcome::Expired(unix(&at)?))
            }
            Some("duplicate") => Err(Error::store(DuplicateKeyId)),
            other => Err(bad_data(format!("rotate script answered {other:?}"))),
        }
    }

    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        self.idempotent(|conn| {
            let ids: Vec<String> = redis::cmd("SMEMBERS")
                .arg(self.keys.owner(owner))
                .query(conn)
                .map_err(redis_error)?;
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(BATCH) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                out.extend(
                    fetch(conn, &self.keys, &refs)?
                        .into_iter()
                        .flatten()
                        .map(|(_, r)| r),
                );
            }
            Ok(out)
        })
    }
}

/// The replica's feed: follows the change stream on its own connection.
struct Feed {
    shared: Arc<Shared>,
    client: RedisClient,
    keys: Keys,
    block: Duration,
    /// The id of the last stream entry applied; empty before the first
    /// full load.
    cursor: String,
    /// The change number of that entry.
    last_n: u64,
}

/// Why the feed loop left its connection.
enum Break {
    /// Reload everything, then follow again.
    Resync,
    /// The connection failed: reconnect.
    Failed,
    /// The store was dropped.
    Stop,
}

impl Feed {
    fn run(mut self) {
        let mut backoff = Duration::from_millis(20);
        while !self.shared.stop.load(Ordering::Acquire) {
            let outcome = self.client.connection().and_then(|mut conn| {
                conn.set_read_timeout(Some(self.block + self.client.response_timeout()))?;
                Ok(self.follow(&mut conn))
            });
            match outcome {
                Ok(Break::Stop) => return,
                Ok(Break::Resync) => {
                    self.cursor.clear();
                    backoff = Duration::from_millis(20);
                }
                Ok(Break::Failed) | Err(_) => {
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Loads if needed, then follows the stream until something breaks.
    fn follow(&mut self, conn: &mut RedisConnection) -> Break {
        let resync = if self.cursor.is_empty() {
            true
        } else {
            match self.head(conn) {
                // The stream's last entry is behind the cursor (or gone):
                // Redis lost data.
                Ok(head) => head.is_none_or(|(id, _)| stream_id(&id) < stream_id(&self.cursor)),
                Err(_) => return Break::Failed,
            }
        };
        if resync && self.reload(conn).is_err() {
            return Break::Failed;
        }
        loop {
            if self.shared.stop.load(Ordering::Acquire) {
                return Break::Stop;
            }
            let reply: Result<Option<StreamReadReply>, _> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(u64::try_from(self.block.as_millis()).unwrap_or(1_000))
                .arg("STREAMS")
                .arg(&self.keys.stream)
                .arg(&self.cursor)
                .query(conn);
            let Ok(reply) = reply else {
                return Break::Failed;
            };
            let entries = reply
                .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect::<Vec<_>>())
                .unwrap_or_default();
            if entries.is_empty() {
                // Nothing new: the replica is current as of now.
                self.shared.touch();
                continue;
            }
            let mut ids: Vec<String> = Vec::with_capacity(entries.len());
            let mut last = (self.cursor.clone(), self.last_n);
            for entry in &entries {
                let n: Option<u64> = entry.get("n");
                let id: Option<String> = entry.get("id");
                match (n, id) {
                    (Some(n), Some(id)) if n == last.1.saturating_add(1) => {
                        ids.push(id);
                        last = (entry.id.clone(), n);
                    }
                    // A gap: entries were trimmed past the cursor, or the
                    // counter restarted.
                    _ => return Break::Resync,
                }
            }
            ids.sort_unstable();
            ids.dedup();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            match fetch_for_replica(conn, &self.keys, &refs) {
                Ok(states) => {
                    for (id, state) in refs.iter().zip(states) {
                        self.shared.apply(id, state);
                    }
                }
                Err(_) => return Break::Failed,
            }
            (self.cursor, self.last_n) = last;
            self.shared.set_applied(self.last_n);
            // Current only once the changes are applied: hearing from
            // Redis without applying what it said is not freshness.
            self.shared.touch();
        }
    }

    /// The stream's last entry: its id and change number.
    fn head(&self, conn: &mut RedisConnection) -> Result<Option<(String, u64)>, Error> {
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&self.keys.stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query(conn)
            .map_err(redis_error)?;
        Ok(reply
            .ids
            .into_iter()
            .next()
            .map(|e| (e.id.clone(), e.get("n").unwrap_or(0))))
    }

    /// Loads every record, then continues from the stream's last entry as
    /// read *before* the load: changes made during the load are replayed.
    fn reload(&mut self, conn: &mut RedisConnection) -> Result<(), Error> {
        let (cursor, last_n) = self.head(conn)?.unwrap_or_else(|| ("0-0".to_owned(), 0));
        let mut fresh: Vec<Map> = (0..SHARDS).map(|_| HashMap::new()).collect();
        let mut scan = 0u64;
        loop {
            let (next, ids): (u64, Vec<String>) = redis::cmd("SSCAN")
                .arg(&self.keys.ids)
                .arg(scan)
                .arg("COUNT")
                .arg(BATCH)
                .query(conn)
                .map_err(redis_error)?;
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            for (id, state) in refs.iter().zip(fetch_for_replica(conn, &self.keys, &refs)?) {
                if let (Some(entry), Some(map)) = (state, fresh.get_mut(shard_index(id))) {
                    map.insert((*id).into(), entry);
                }
            }
            if next == 0 {
                break;
            }
            scan = next;
        }
        for (shard, map) in self.shared.shards.iter().zip(fresh) {
            *shard.write().unwrap_or_else(PoisonError::into_inner) = map;
        }
        self.cursor = cursor;
        self.last_n = last_n;
        // Current as of the head read before the load, now swapped in.
        self.shared.touch();
        self.shared.reloads.fetch_add(1, Ordering::AcqRel);
        let _ = self.shared.state.compare_exchange(
            NOT_READY,
            FRESH,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.shared.set_applied(last_n);
        Ok(())
    }
}

/// A stream entry id as `(milliseconds, sequence)`, for comparison.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// The shard of an id: Fibonacci hashing of its last 8 bytes, the top 5
/// bits kept (as the core's in-memory store does): issued ids are uniform
/// base62, and the multiply spreads every tail byte over the top bits.
fn shard_index(id: &str) -> usize {
    const SHARD_BITS: u32 = SHARDS.trailing_zeros();
    let bytes = id.as_bytes();
    let tail = bytes
        .get(bytes.len().saturating_sub(8)..)
        .unwrap_or_default();
    let x = tail
        .iter()
        .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b));
    let top = x
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_shr(u64::BITS.wrapping_sub(SHARD_BITS));
    usize::try_from(top).unwrap_or(0)
}
