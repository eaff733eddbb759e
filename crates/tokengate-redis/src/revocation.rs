//! Revocation on Redis: the shared store, with its change stream, and the
//! replica each server validates against.
//!
//! # Keys
//!
//! Every key carries the hash tag `{<prefix>:rev}` (prefix from
//! [`RedisConfig::prefix`], default `tokengate`), so every script touches
//! one cluster slot:
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `{p:rev}:jti:<jti>` | string | the token's `exp` (Unix s) | at `exp` + retention margin (`EXAT`) |
//! | `{p:rev}:sub:<subject>` | string | "revoked before" (Unix s, rounded up) | never, or at before + max token lifetime + margin when declared |
//! | `{p:rev}:kid:<kid>` | string | `0` | never: a compromised key stays revoked |
//! | `{p:rev}:sid:<sid>` | string | the session's `until` (Unix s) | at `until` + margin |
//! | `{p:rev}:stream` | stream | one entry per change, field `c` = the [`RevocationChange`] JSON | trimmed to about [`DEFAULT_STREAM_MAX_LEN`] entries (`XADD MAXLEN ~`) |
//! | `{p:rev}:epoch` | string | a random id of this store's life | never |
//!
//! The entry keys are the authority; the stream is the feed replicas
//! follow. A write is one Lua script that compares, sets the entry and
//! appends to the stream, atomically, and only when the entry changed
//! (writes are monotone: a later `exp`, `before` or `until` wins, an
//! earlier one is a no-op).
//!
//! # Memory
//!
//! Measured with Redis 7.0.15 (`benches/propagation.rs`): a revoked `jti`
//! of 22 characters costs 88 B for its key (`MEMORY USAGE`) and 94 B for
//! its stream entry while the stream keeps it; Redis's `used_memory`
//! grows by about 231 B per revoked `jti` in all (with the keyspace and
//! expiry tables). A replica holds about 22 B of heap per revoked `jti`.
//!
//! # Cursors
//!
//! A [`ChangeCursor`] is `<epoch>/<stream id>`. The epoch is created with
//! the first write (or snapshot) and lives as long as the data: a Redis
//! restarted without persistence, or flushed, has lost its epoch with its
//! data, so every cursor of before answers [`ChangeFeed::Resync`] instead
//! of a silent "nothing new". A cursor older than the last entry the
//! stream still holds (`XINFO STREAM`'s first entry, once entries were
//! trimmed; or its `max-deleted-entry-id`, after an `XDEL`) answers
//! `Resync` too: the replica then loads a [`Snapshot`] from the entry
//! keys, so trimming never loses a revocation. (A cursor at exactly the
//! last trimmed entry resyncs needlessly: harmless.) The check and the read are
//! one script, so a trim cannot slip between them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use redis::{Script, Value};
use time::{Duration, OffsetDateTime};
use tokengate::revocation::DEFAULT_RETENTION_MARGIN;
use tokengate::{
    ChangeCursor, ChangeFeed, Error, Revocation, RevocationChange, RevocationQuery,
    RevocationReplica, RevocationStore, Snapshot, StalePolicy,
};

use crate::config::RedisConfig;
use crate::conn::{Pool, RedisConnection, bad_data, redis_error};

/// Stream entries kept by default (`XADD MAXLEN ~`): a replica that falls
/// further behind than this resyncs from the entry keys.
pub const DEFAULT_STREAM_MAX_LEN: usize = 100_000;

/// The hash tag of every revocation key.
const TAG: &str = "rev";

/// Sets an entry unless a later one is held, and appends the change.
///
/// KEYS: stream, epoch, entry. ARGV: value (Unix s), expire-at (Unix s,
/// or empty for none), change JSON, stream max length, epoch candidate.
/// Returns 1 when it wrote, 0 when the entry already said as much (or the
/// entry would already have expired).
const WRITE: &str = r"
local now = tonumber(redis.call('TIME')[1])
if ARGV[2] ~= '' and tonumber(ARGV[2]) <= now then return 0 end
local held = redis.call('GET', KEYS[3])
if held and tonumber(held) >= tonumber(ARGV[1]) then return 0 end
-- The append first: if it fails (a key of another type in the way),
-- nothing is written, and the entry never exists without its change.
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'c', ARGV[3])
redis.call('SET', KEYS[2], ARGV[5], 'NX')
-- Never bring an expiry closer: writers with a longer retention margin
-- (or none) may have set a later one.
local exat = ARGV[2]
if held then
  local current = redis.call('EXPIRETIME', KEYS[3])
  if current == -1 then
    exat = ''
  elseif exat ~= '' and current > tonumber(exat) then
    exat = tostring(current)
  end
end
if exat == '' then
  redis.call('SET', KEYS[3], ARGV[1])
else
  redis.call('SET', KEYS[3], ARGV[1], 'EXAT', exat)
end
return 1
";

/// Stream id comparison and the stream's bounds, shared by the scripts.
const STREAM_LIB: &str = r"
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function cmp(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end
local function field(info, name)
  for i = 1, #info, 2 do
    if info[i] == name then return info[i + 1] end
  end
  return nil
end
local function last_id(stream)
  return field(redis.call('XINFO', 'STREAM', stream), 'last-generated-id')
end
-- true when the stream no longer holds every entry after `cursor`, or
-- never gave it out.
local function must_resync(stream, cursor)
  local info = redis.call('XINFO', 'STREAM', stream)
  local last = field(info, 'last-generated-id')
  if cmp(cursor, last) > 0 then return true end
  -- XDEL (Redis 7 records the largest id it deleted).
  local deleted = field(info, 'max-deleted-entry-id')
  if deleted and cmp(cursor, deleted) < 0 then return true end
  -- Trimming removes the oldest entries: a cursor before the first entry
  -- left may have missed some, unless nothing was ever removed (Redis 7
  -- counts entries added; before it, assume something was).
  local added = field(info, 'entries-added')
  local length = field(info, 'length')
  if added and length and tonumber(added) <= tonumber(length) then return false end
  local first = field(info, 'first-entry')
  if type(first) ~= 'table' then return cmp(cursor, last) < 0 end
  return cmp(cursor, first[1]) < 0
end
";

/// The feed after a cursor, or a resync.
///
/// KEYS: stream, epoch. ARGV: the cursor's epoch (empty for the start
/// cursor), its stream id, the page size. Returns `{'resync'}` or
/// `{'ok', epoch, id1, change1, id2, change2...}`.
const FEED: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  if ARGV[1] == '' then return {'ok', ''} end
  return {'resync'}
end
if ARGV[1] ~= '' and ARGV[1] ~= epoch then return {'resync'} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[2] == '0-0' then return {'ok', epoch} end
  return {'resync'}
end
if must_resync(KEYS[1], ARGV[2]) then return {'resync'} end
local out = {'ok', epoch}
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])
for _, e in ipairs(entries) do
  local change = ''
  local fields = e[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'c' then change = fields[i + 1] end
  end
  out[#out + 1] = e[1]
  out[#out + 1] = change
end
return out
";

/// Where the feed stands now: `{epoch, last id}`, creating the epoch.
///
/// KEYS: stream, epoch. ARGV: epoch candidate.
const HEAD: &str = r"
redis.call('SET', KEYS[2], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[2])
local last = '0-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  last = last_id(KEYS[1])
end
return {epoch, last}
";

/// A fresh random epoch id (16 hex digits). Uniqueness is all it needs:
/// it tells a store's life from the next.
fn new_epoch() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

/// Unix seconds of an instant, rounded up (as the core's list stores a
/// "revoked before" instant).
fn unix_ceil(t: OffsetDateTime) -> i64 {
    let secs = t.unix_timestamp();
    if t.nanosecond() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

fn instant(unix: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|_| bad_data("an instant out of range"))
}

/// A parsed cursor: the epoch (empty for the start cursor) and a stream id.
struct Position {
    epoch: String,
    id: String,
}

fn is_stream_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
            && ms.len() <= 20
            && seq.len() <= 20
    })
}

impl Position {
    fn parse(cursor: &ChangeCursor) -> Option<Self> {
        if cursor.is_start() {
            return Some(Self {
                epoch: String::new(),
                id: "0-0".to_owned(),
            });
        }
        let (epoch, id) = cursor.as_str().split_once('/')?;
        (!epoch.is_empty() && is_stream_id(id)).then(|| Self {
            epoch: epoch.to_owned(),
            id: id.to_owned(),
        })
    }

    fn cursor(epoch: &str, id: &str) -> ChangeCursor {
        ChangeCursor::new(format!("{epoch}/{id}"))
    }
}

/// The key names of one store.
#[derive(Debug, Clone)]
struct Keys {
    /// `{p:rev}:`, the start of every key.
    base: String,
    stream: String,
    epoch: String,
}

impl Keys {
    fn new(config: &RedisConfig) -> Self {
        Self {
            base: config.key(TAG, ""),
            stream: config.key(TAG, "stream"),
            epoch: config.key(TAG, "epoch"),
        }
    }

    fn entry(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.base)
    }

    /// The `SCAN MATCH` pattern of every entry key.
    fn pattern(&self) -> String {
        let mut p = String::with_capacity(self.base.len() + 2);
        for c in self.base.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push_str("*:*");
        p
    }
}

/// The shared revocation store on Redis: a [`RevocationStore`] whose
/// writes are durable in Redis when they return and reach every
/// [`RedisRevocationReplica`] through a Redis Stream.
///
/// Give it to the services that revoke ([`tokengate::RefreshTokens`],
/// [`tokengate::Introspector`], [`tokengate::KeyRing::revoke_compromised`])
/// as an `Arc<dyn RevocationStore>`. Its own [`Revocation::is_revoked`]
/// reads Redis (one `MGET`) on every call: it is the write side. Validators
/// use a [`RedisRevocationReplica`], which answers from memory.
///
/// Every Redis failure, on a write or a read, is [`Error::Store`]: a write
/// that failed was not made, and must not be reported as done.
///
/// # Defaults
///
/// | setting | default |
/// |---|---|
/// | retention margin past `exp` / `until` | [`DEFAULT_RETENTION_MARGIN`] (5 min) |
/// | max token lifetime (prunes subject entries) | none: subject entries are kept |
/// | stream length | [`DEFAULT_STREAM_MAX_LEN`] (about 100,000 entries) |
#[derive(Debug)]
pub struct RedisRevocationStore {
    pool: Pool,
    keys: Keys,
    margin: i64,
    max_lifetime: Option<i64>,
    max_len: usize,
    write: Script,
    feed: Script,
    head: Script,
}

impl RedisRevocationStore {
    /// A store on the Redis of `config`, its keys under
    /// `{<prefix>:rev}`. Connects on first use.
    ///
    /// # Errors
    ///
    /// As [`RedisConfig::client`].
    pub fn new(config: &RedisConfig) -> Result<Self, Error> {
        Ok(Self {
            pool: Pool::new(config.client()?),
            keys: Keys::new(config),
            margin: DEFAULT_RETENTION_MARGIN.whole_seconds(),
            max_lifetime: None,
            max_len: DEFAULT_STREAM_MAX_LEN,
            write: Script::new(WRITE),
            feed: Script::new(&format!("{STREAM_LIB}{FEED}")),
            head: Script::new(&format!("{STREAM_LIB}{HEAD}")),
        })
    }

    /// Keeps `jti` and session entries `margin` past their `exp` /
    /// `until` (default [`DEFAULT_RETENTION_MARGIN`]); at least the
    /// largest leeway of any validator (a validator over a store or replica
    /// with a smaller margin is refused at build). Give replicas the same.
    #[must_use]
    pub fn with_retention_margin(mut self, margin: Duration) -> Self {
        self.margin = margin.whole_seconds().max(0);
        self
    }

    /// Declares that no token lives longer than `lifetime` from its
    /// `iat`: subject entries then expire once every token they revoke has
    /// (see [`tokengate::RevocationList::max_token_lifetime`]).
    #[must_use]
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime.whole_seconds().max(0));
        self
    }

    /// Keeps about `entries` stream entries (at least 1; default
    /// [`DEFAULT_STREAM_MAX_LEN`]). Redis trims whole stream nodes (100
    /// entries by default), so a few more are kept.
    #[must_use]
    pub fn stream_max_len(mut self, entries: usize) -> Self {
        self.max_len = entries.max(1);
        self
    }

    /// The stream's key, for tools (`XINFO STREAM`, `XLEN`).
    pub fn stream_key(&self) -> &str {
        &self.keys.stream
    }

    /// The key of a revoked `jti`'s entry, for tools (`TTL`, `MEMORY
    /// USAGE`).
    pub fn jti_key(&self, jti: &str) -> String {
        self.keys.entry("jti", jti)
    }

    /// Checks that Redis answers.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when it does not.
    pub fn ping(&self) -> Result<(), Error> {
        self.pool
            .run_idempotent(|conn| redis::cmd("PING").query::<String>(conn).map(drop))
    }

    fn write_entry(
        &self,
        kind: &str,
        id: &str,
        value: i64,
        expire_at: Option<i64>,
        change: &RevocationChange,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(change).map_err(Error::store)?;
        let key = self.keys.entry(kind, id);
        let expire = expire_at.map(|t| t.to_string()).unwrap_or_default();
        let epoch = new_epoch();
        self.pool.run_idempotent(|conn| {
            self.write
                .key(&self.keys.stream)
                .key(&self.keys.epoch)
                .key(&key)
                .arg(value)
                .arg(&expire)
                .arg(&json)
                .arg(self.max_len)
                .arg(&epoch)
                .invoke::<i64>(conn)
                .map(drop)
        })
    }

    /// The feed's current end: `(epoch, last id)`.
    fn head(&self, conn: &mut RedisConnection) -> redis::RedisResult<(String, String)> {
        self.head
            .key(&self.keys.stream)
            .key(&self.keys.epoch)
            .arg(new_epoch())
            .invoke(conn)
    }

    /// Every entry key, by `SCAN` on the node that holds the tag.
    fn scan_entries(&self, conn: &mut RedisConnection) -> redis::RedisResult<Vec<String>> {
        let pattern = self.keys.pattern();
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1_000);
            let (next, batch): (u64, Vec<String>) =
                conn.query_on_node_of_raw(&cmd, &self.keys.stream)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// The change an entry key and its value stand for; `None` for a key
    /// that is not an entry.
    fn change_of(&self, key: &str, value: &str) -> Result<Option<RevocationChange>, Error> {
        let Some((kind, id)) = key
            .strip_prefix(self.keys.base.as_str())
            .and_then(|rest| rest.split_once(':'))
        else {
            return Ok(None);
        };
        let at = || {
            value
                .parse::<i64>()
                .map_err(|_| bad_data(format!("{kind} entry value is not Unix seconds")))
                .and_then(instant)
        };
        Ok(Some(match kind {
            "jti" => RevocationChange::Token {
                jti: id.to_owned(),
                expires_at: at()?,
            },
            "sub" => RevocationChange::SubjectBefore {
                subject: id.to_owned(),
                before: at()?,
            },
            "kid" => RevocationChange::Key { kid: id.to_owned() },
            "sid" => RevocationChange::Session {
                sid: id.to_owned(),
                until: at()?,
            },
            _ => return Ok(None),
        }))
    }
}

impl Revocation for RedisRevocationStore {
    fn retention_margin(&self) -> Option<Duration> {
        Some(Duration::seconds(self.margin))
    }

    /// Reads Redis (one `MGET`): the write side's own check. Validators
    /// use a [`RedisRevocationReplica`].
    fn is_revoked(&self, q: &RevocationQuery<'_>) -> Result<bool, Error> {
        let mut keys = Vec::with_capacity(4);
        if let Some(jti) = q.jti {
            keys.push(self.keys.entry("jti", jti));
        }
        if let Some(sid) = q.session_id {
            keys.push(self.keys.entry("sid", sid));
        }
        if let Some(kid) = q.key_id {
            keys.push(self.keys.entry("kid", kid));
        }
        let subject_at = keys.len();
        if let Some(sub) = q.subject {
            keys.push(self.keys.entry("sub", sub));
        }
        if keys.is_empty() {
            return Ok(false);
        }
        let values: Vec<Option<String>> = self
            .pool
            .run_idempotent(|conn| redis::cmd("MGET").arg(&keys).query(conn))?;
        for (i, value) in values.iter().enumerate() {
            let Some(value) = value else { continue };
            if i < subject_at {
                return Ok(true);
            }
            let before: i64 = value
                .parse()
                .map_err(|_| bad_data("subject entry value is not Unix seconds"))?;
            if q.issued_at.is_none_or(|iat| iat < before) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl RevocationStore for RedisRevocationStore {
    fn revoke_token(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), Error> {
        let exp = expires_at.unix_timestamp();
        self.write_entry(
            "jti",
            jti,
            exp,
            Some(exp.saturating_add(self.margin)),
            &RevocationChange::Token {
                jti: jti.to_owned(),
                expires_at: instant(exp)?,
            },
        )
    }

    fn revoke_subject_before(&self, subject: &str, before: OffsetDateTime) -> Result<(), Error> {
        let before = unix_ceil(before);
        let expire = self
            .max_lifetime
            .map(|life| before.saturating_add(life).saturating_add(self.margin));
        self.write_entry(
            "sub",
            subject,
            before,
            expire,
            &RevocationChange::SubjectBefore {
                subject: subject.to_owned(),
                before: instant(before)?,
            },
        )
    }

    fn revoke_key(&self, kid: &str) -> Result<(), Error> {
        self.write_entry(
            "kid",
            kid,
            0,
            None,
            &RevocationChange::Key {
                kid: kid.to_owned(),
            },
        )
    }

    fn revoke_session(&self, sid: &str, until: OffsetDateTime) -> Result<(), Error> {
        let until = until.unix_timestamp();
        self.write_entry(
            "sid",
            sid,
            until,
            Some(until.saturating_add(self.margin)),
            &RevocationChange::Session {
                sid: sid.to_owned(),
                until: instant(until)?,
            },
        )
    }

    fn changes_since(&self, cursor: &ChangeCursor, limit: usize) -> Result<ChangeFeed, Error> {
        let Some(at) = Position::parse(cursor) else {
            return Ok(ChangeFeed::Resync);
        };
        let reply: Vec<Value> = self.pool.run_idempotent(|conn| {
            self.feed
                .key(&self.keys.stream)
                .key(&self.keys.epoch)
                .arg(&at.epoch)
                .arg(&at.id)
                .arg(limit.max(1))
                .invoke(conn)
        })?;
        let mut items = reply
            .into_iter()
            .map(|v| redis::from_redis_value::<String>(v).map_err(|_| bad_data("a feed reply")));
        match items.next().transpose()?.as_deref() {
            Some("resync") => return Ok(ChangeFeed::Resync),
            Some("ok") => {}
            _ => return Err(bad_data("a feed reply")),
        }
        let epoch = items.next().transpose()?.unwrap_or_default();
        let mut changes = Vec::new();
        let mut last = None;
        while let Some(id) = items.next().transpose()? {
            let json = items
                .next()
                .transpose()?
                .ok_or_else(|| bad_data("a feed reply"))?;
            let change: RevocationChange = serde_json::from_str(&json)
                .map_err(|_| bad_data(format!("stream entry {id} is not a revocation change")))?;
            changes.push(change);
            last = Some(id);
        }
        let cursor = match last {
            Some(id) => Position::cursor(&epoch, &id),
            None => cursor.clone(),
        };
        Ok(ChangeFeed::Changes { changes, cursor })
    }

    /// Reads the feed's end first, then every entry key (`SCAN`, `MGET`):
    /// a change made meanwhile is in the snapshot, after its cursor, or
    /// both.
    fn snapshot(&self) -> Result<Snapshot, Error> {
        let (epoch, last, entries) = self.pool.run_idempotent(|conn| {
            let (epoch, last) = self.head(conn)?;
            let keys = self.scan_entries(conn)?;
            let mut entries = Vec::with_capacity(keys.len());
            for chunk in keys.chunks(500) {
                let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query(conn)?;
                // A value is gone when its key expired after the scan.
                entries.extend(
                    chunk
                        .iter()
                        .zip(values)
                        .filter_map(|(k, v)| Some((k.clone(), v?))),
                );
            }
            Ok((epoch, last, entries))
        })?;
        let mut changes = Vec::with_capacity(entries.len());
        for (key, value) in &entries {
            if let Some(change) = self.change_of(key, value)? {
                changes.push(change);
            }
        }
        Ok(Snapshot {
            changes,
            cursor: Position::cursor(&epoch, &last),
        })
    }
}

/// The state the follower thread shares with its handle.
#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    /// Set once the first snapshot is loaded; notified then.
    loaded: Mutex<bool>,
    loaded_cv: Condvar,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn set_error(&self, e: Option<&Error>) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = e.map(|e| e.to_string());
    }
}

/// How a [`RedisRevocationReplica`] is set up (see
/// [`RedisRevocationReplica::builder`]).
#[derive(Debug, Clone)]
pub struct ReplicaBuilder {
    config: RedisConfig,
    max_staleness: Duration,
    policy: StalePolicy,
    block: StdDuration,
    max_backoff: StdDuration,
    margin: Duration,
    max_lifetime: Option<Duration>,
}

/// The default staleness bound of a [`RedisRevocationReplica`].
pub const DEFAULT_MAX_STALENESS: Duration = Duration::seconds(30);

impl ReplicaBuilder {
    /// Tolerates `bound` without contact with Redis, then applies the
    /// policy (default [`DEFAULT_MAX_STALENESS`], 30 s). The replica
    /// counts whole seconds, so the policy applies within a second after
    /// the bound.
    #[must_use]
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound;
        self
    }

    /// What to do past the staleness bound (default
    /// [`StalePolicy::FailClosed`]; see [`RedisRevocationReplica`] for
    /// why).
    #[must_use]
    pub fn policy(mut self, policy: StalePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long one `XREAD BLOCK` waits for a change (default 500 ms,
    /// at least 10 ms). Each read, with or without a change, is contact
    /// with Redis; keep it well under the staleness bound. Dropping the
    /// replica waits at most about this long.
    #[must_use]
    pub fn block(mut self, block: StdDuration) -> Self {
        self.block = block.max(StdDuration::from_millis(10));
        self
    }

    /// The longest wait between reconnection attempts (default 2 s; the
    /// wait starts at 50 ms and doubles).
    #[must_use]
    pub fn max_backoff(mut self, wait: StdDuration) -> Self {
        self.max_backoff = wait.max(StdDuration::from_millis(1));
        self
    }

    /// Retention settings of the local copy; use the store's (see
    /// [`RevocationReplica::retention`]).
    #[must_use]
    pub fn retention(mut self, margin: Duration, max_token_lifetime: Option<Duration>) -> Self {
        self.margin = margin;
        self.max_lifetime = max_token_lifetime;
        self
    }

    /// Starts the follower thread. The replica is not ready (every lookup
    /// is [`Error::Store`]) until it has loaded a full snapshot; see
    /// [`RedisRevocationReplica::wait_ready`].
    ///
    /// # Errors
    ///
    /// As [`RedisConfig::client`]; and [`Error::Store`] when the thread
    /// cannot be spawned. Redis being down is not an error here: the
    /// thread keeps trying.
    pub fn start(self) -> Result<RedisRevocationReplica, Error> {
        let store = RedisRevocationStore::new(&self.config)?
            .with_retention_margin(self.margin)
            .max_token_lifetime_opt(self.max_lifetime);
        let client = self.config.client()?;
        let replica = Arc::new(
            RevocationReplica::new(self.max_staleness, self.policy)
                .retention(self.margin, self.max_lifetime),
        );
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            loaded: Mutex::new(false),
            loaded_cv: Condvar::new(),
            last_error: Mutex::new(None),
        });
        let follower = Follower {
            store,
            client,
            replica: Arc::clone(&replica),
            shared: Arc::clone(&shared),
            block: self.block,
            max_backoff: self.max_backoff,
        };
        let thread = std::thread::Builder::new()
            .name("tokengate-redis-replica".to_owned())
            .spawn(move || follower.run())
            .map_err(Error::store)?;
        Ok(RedisRevocationReplica {
            replica,
            shared,
            thread: Some(thread),
        })
    }
}

impl RedisRevocationStore {
    fn max_token_lifetime_opt(self, lifetime: Option<Duration>) -> Self {
        match lifetime {
            Some(l) => self.max_token_lifetime(l),
            None => self,
        }
    }
}

/// The read side for a validator of the fleet: a local
/// [`RevocationReplica`] kept current from a [`RedisRevocationStore`]'s
/// stream by a background thread (no async runtime).
///
/// The thread loads a full snapshot (every entry key) before the replica
/// answers anything, then waits for changes with `XREAD BLOCK` from its
/// cursor and reads them through the store's feed (which checks the
/// cursor is still good: a trimmed stream or a Redis that lost its data
/// gives a resync, a full snapshot on top of what the replica knew). On a
/// connection error it backs off (50 ms doubling to 2 s), reconnects and
/// resumes from its cursor: a Redis Stream keeps what was written while
/// the replica was away, where plain pub/sub would have dropped it.
///
/// Lookups ([`Revocation::is_revoked`], also through
/// [`replica`](Self::replica)) never touch the network.
///
/// # Staleness
///
/// Every successful read of the stream, even one that timed out with no
/// change, is contact with Redis. After [`DEFAULT_MAX_STALENESS`] (30 s)
/// without contact, the default policy is [`StalePolicy::FailClosed`]:
/// every lookup is [`Error::Store`] (answer 503, not 401) until Redis
/// answers again. A replica that cannot hear from Redis cannot know
/// whether a token was revoked since; serving stale would let a revoked
/// token (a stolen one, a fired employee's) through for as long as the
/// partition lasts, while failing closed bounds that window to 30 s at the
/// cost of availability during a Redis outage. 30 s is shorter than any
/// access token lifetime worth revoking, and long enough to ride out a
/// Redis restart or a failover. Choose [`StalePolicy::ServeStale`] with
/// [`ReplicaBuilder::policy`] where availability matters more.
///
/// # Defaults
///
/// | setting | default |
/// |---|---|
/// | max staleness | 30 s |
/// | policy past it | fail closed |
/// | `XREAD BLOCK` | 500 ms |
/// | reconnect backoff | 50 ms doubling to 2 s |
/// | retention margin | [`DEFAULT_RETENTION_MARGIN`] |
///
/// Dropping it stops the thread (within about one block time).
#[derive(Debug)]
pub struct RedisRevocationReplica {
    replica: Arc<RevocationReplica>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl RedisRevocationReplica {
    /// A replica of the store at `config` with every default; call
    /// [`wait_ready`](Self::wait_ready) before serving.
    ///
    /// # Errors
    ///
    /// As [`ReplicaBuilder::start`].
    pub fn start(config: &RedisConfig) -> Result<Self, Error> {
        Self::builder(config).start()
    }

    /// Settings for a replica of the store at `config`.
    pub fn builder(config: &RedisConfig) -> ReplicaBuilder {
        ReplicaBuilder {
            config: config.clone(),
            max_staleness: DEFAULT_MAX_STALENESS,
            policy: StalePolicy::FailClosed,
            block: StdDuration::from_millis(500),
            max_backoff: StdDuration::from_secs(2),
            margin: DEFAULT_RETENTION_MARGIN,
            max_lifetime: None,
        }
    }

    /// Waits until the replica has loaded a full snapshot, at most
    /// `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when it has not by then (with the last Redis
    /// error, if any).
    pub fn wait_ready(&self, timeout: StdDuration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let mut loaded = self
            .shared
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while !*loaded {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::store(NotReady(self.last_error())));
            }
            loaded = self
                .shared
                .loaded_cv
                .wait_timeout(loaded, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(())
    }

    /// `true` once the first snapshot is loaded.
    pub fn is_ready(&self) -> bool {
        *self
            .shared
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The local replica, to hand to a [`tokengate::Validator`]
    /// (`.revocation(..)`) or to inspect ([`RevocationReplica::staleness`],
    /// [`RevocationReplica::cursor`]).
    pub fn replica(&self) -> Arc<RevocationReplica> {
        Arc::clone(&self.replica)
    }

    /// The last error the thread met talking to Redis, cleared by the
    /// next success.
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Revocation for RedisRevocationReplica {
    fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, Error> {
        self.replica.is_revoked(query)
    }
    fn retention_margin(&self) -> Option<Duration> {
        self.replica.retention_margin()
    }
}

impl Drop for RedisRevocationReplica {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A replica that has not loaded its snapshot in time.
#[derive(Debug, thiserror::Error)]
#[error("the Redis revocation replica is not ready{}", .0.as_deref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
struct NotReady(Option<String>);

/// The background thread's state.
struct Follower {
    store: RedisRevocationStore,
    client: crate::conn::RedisClient,
    replica: Arc<RevocationReplica>,
    shared: Arc<Shared>,
    block: StdDuration,
    max_backoff: StdDuration,
}

/// How often the local copy drops expired entries.
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(60);

impl Follower {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    fn run(self) {
        let mut backoff = StdDuration::from_millis(50);
        let mut reader: Option<RedisConnection> = None;
        let mut pruned = Instant::now();
        while !self.stopping() {
            match self.step(&mut reader) {
                Ok(()) => {
                    self.shared.set_error(None);
                    backoff = StdDuration::from_millis(50);
                }
                Err(e) => {
                    self.shared.set_error(Some(&e));
                    reader = None;
                    self.sleep(backoff);
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                self.replica.prune();
                pruned = Instant::now();
            }
        }
    }

    /// Sleeps `wait` in short steps, returning early when stopping.
    fn sleep(&self, wait: StdDuration) {
        let until = Instant::now() + wait;
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(StdDuration::from_millis(20)));
        }
    }

    /// One round: the first snapshot if not loaded, else catch up with the
    /// feed, then wait for the next change.
    fn step(&self, reader: &mut Option<RedisConnection>) -> Result<(), Error> {
        let loaded = *self
            .shared
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if loaded {
            self.replica.sync(&self.store)?;
        } else {
            // Everything at once, before the first answer: a replica
            // never serves a partial load.
            self.replica.load_snapshot(self.store.snapshot()?)?;
            *self
                .shared
                .loaded
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = true;
            self.shared.loaded_cv.notify_all();
        }
        self.wait_for_change(reader)
    }

    /// `XREAD BLOCK` after the replica's cursor: returns when an entry
    /// follows it, or after the block time.
    fn wait_for_change(&self, reader: &mut Option<RedisConnection>) -> Result<(), Error> {
        let id = Position::parse(&self.replica.cursor()).map_or_else(|| "0-0".to_owned(), |p| p.id);
        let conn = match reader {
            Some(conn) => conn,
            None => {
                let conn = self.client.connection()?;
                conn.set_read_timeout(Some(self.block + self.client.response_timeout()))?;
                reader.insert(conn)
            }
        };
        let block_ms = u64::try_from(self.block.as_millis()).unwrap_or(u64::MAX);
        let _: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&self.store.keys.stream)
            .arg(&id)
            .query(conn)
            .map_err(redis_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_parse_strictly() {
        let ok = |s: &str| Position::parse(&ChangeCursor::new(s)).is_some();
        assert!(ok("abc/1-0"));
        assert!(ok("abc/1700000000000-12"));
        assert!(Position::parse(&ChangeCursor::start()).is_some());
        for bad in [
            "not-a-cursor",
            "/1-0",
            "abc/1",
            "abc/-1",
            "abc/1-x",
            "abc/1-0-0",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn scan_pattern_escapes_the_prefix() {
        let keys = Keys::new(&RedisConfig::new("redis://x/").prefix("a*b?[c]"));
        assert_eq!(keys.pattern(), r"{a\*b\?\[c\]:rev}:*:*");
        assert_eq!(keys.entry("jti", "j"), "{a*b?[c]:rev}:jti:j");
    }

    #[test]
    fn epochs_differ() {
        assert_ne!(new_epoch(), new_epoch());
    }
}
