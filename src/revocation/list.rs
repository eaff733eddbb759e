//! The in-memory revocation list.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use time::{Duration, OffsetDateTime};

use super::{
    ChangeCursor, ChangeFeed, Revocation, RevocationChange, RevocationQuery, RevocationStore,
    Snapshot,
};
use crate::error::Error;
use crate::hashed::{HashedMap, shard_of};

const SHARDS: usize = 16;

/// How long past a token's `exp` its revocation entry is kept: longer than
/// any sane validator leeway, so pruning never lets a revoked token pass
/// while a validator still accepts it as unexpired.
pub const DEFAULT_RETENTION_MARGIN: Duration = Duration::minutes(5);

/// The log of changes the list serves to replicas: one entry per change
/// still in force, numbered from 1.
#[derive(Debug, Default)]
struct Journal {
    last: u64,
    entries: VecDeque<(u64, RevocationChange)>,
}

/// The in-memory revocation list: a [`Revocation`] and a
/// [`RevocationStore`].
///
/// It answers for:
/// - one token by `jti`, kept only until that token's `exp` plus the
///   retention margin (then [`RevocationList::prune`] drops it), so memory
///   is bounded by the revoked tokens still alive;
/// - every token of a subject issued before an instant ("log out
///   everywhere", a password change); a token of that subject without `iat`
///   is treated as revoked. Kept forever, unless the application declares
///   the longest lifetime of its tokens
///   ([`RevocationList::max_token_lifetime`]): then dropped once every
///   token issued before the instant has expired;
/// - every token signed by a key id (key compromise); kept forever (see
///   [`RevocationList::key_count`]), since whoever holds a compromised key
///   can mint tokens with any `iat`;
/// - every token of a session (`sid`), used when a refresh token family is
///   revoked; kept until the given instant plus the margin.
///
/// Lookups never touch a string the list stores: `jti`s and session ids
/// are kept as 64-bit SipHash values under a random per-list key (16 bytes
/// of map entry each), so an attacker cannot aim collisions at the map. A
/// collision could only revoke an innocent token (probability about
/// n / 2^64), never accept a revoked one. Lookups take a read lock on one
/// of 16 shards; writers hold a shard's write lock only for one map update.
///
/// With [`RevocationList::with_change_feed`] the list also keeps the
/// change feed ([`RevocationStore::changes_since`]): one journal entry per
/// revocation in force, with its text, pruned with it. Because the journal
/// holds every live revocation, [`RevocationStore::snapshot`] is complete
/// and the feed never answers [`ChangeFeed::Resync`] for a cursor the list
/// gave out.
#[derive(Debug)]
pub struct RevocationList {
    keys: RandomState,
    /// Random per list, written into its cursors, so a cursor of another
    /// list (or of this process before a restart) is recognised.
    epoch: u64,
    margin: i64,
    max_lifetime: Option<i64>,
    jti: Box<[Guarded<HashedMap<i64>>]>,
    sessions: Guarded<HashedMap<i64>>,
    subjects: Guarded<HashMap<String, i64>>,
    key_ids: Guarded<HashMap<String, ()>>,
    journal: Option<Mutex<Journal>>,
}

impl Default for RevocationList {
    fn default() -> Self {
        Self::new()
    }
}

/// A map behind a lock, with its length readable without the lock. Taking
/// a read lock writes to the lock's word, which two threads then pass back
/// and forth; while a map is empty (the key ids and sessions of most
/// lists, every map of a list nothing was revoked in) a lookup skips the
/// lock.
#[derive(Debug, Default)]
struct Guarded<M> {
    map: RwLock<M>,
    len: AtomicUsize,
}

impl<M: Len> Guarded<M> {
    /// `true` when the map holds nothing. A writer stores the length
    /// before it unlocks, so a lookup that sees 0 comes before any
    /// revocation not yet stored, as it would with the lock.
    fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }
}

/// The length of a map, for [`Guarded`].
trait Len {
    fn len(&self) -> usize;
}

impl<K, V, S> Len for HashMap<K, V, S> {
    fn len(&self) -> usize {
        HashMap::len(self)
    }
}

/// A write lock on a [`Guarded`] map that records the map's length when
/// it is released.
struct GuardedWrite<'a, M: Len> {
    guard: RwLockWriteGuard<'a, M>,
    len: &'a AtomicUsize,
}

impl<M: Len> Drop for GuardedWrite<'_, M> {
    fn drop(&mut self) {
        // Runs before `guard` unlocks.
        self.len.store(self.guard.len(), Ordering::Release);
    }
}

impl<M: Len> Deref for GuardedWrite<'_, M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.guard
    }
}

impl<M: Len> DerefMut for GuardedWrite<'_, M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.guard
    }
}

fn read<M>(g: &Guarded<M>) -> RwLockReadGuard<'_, M> {
    g.map.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<M: Len>(g: &Guarded<M>) -> GuardedWrite<'_, M> {
    GuardedWrite {
        guard: g.map.write().unwrap_or_else(PoisonError::into_inner),
        len: &g.len,
    }
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::with_retention_margin(DEFAULT_RETENTION_MARGIN)
    }

    /// An empty list that keeps entries `margin` past the tokens' `exp`
    /// (default [`DEFAULT_RETENTION_MARGIN`]). Keep it at least as long as
    /// the largest leeway of the validators that consult the list.
    pub fn with_retention_margin(margin: Duration) -> Self {
        let keys = RandomState::new();
        let epoch = keys.hash_one("revocation-list-epoch");
        Self {
            margin: margin.whole_seconds().max(0),
            max_lifetime: None,
            keys,
            epoch,
            jti: (0..SHARDS).map(|_| Guarded::default()).collect(),
            sessions: Guarded::default(),
            subjects: Guarded::default(),
            key_ids: Guarded::default(),
            journal: None,
        }
    }

    /// Keeps the change feed ([`RevocationStore::changes_since`],
    /// [`RevocationStore::snapshot`]) so that [`RevocationReplica`]s can
    /// follow this list: one journal entry per revocation in force, pruned
    /// with it. It costs the revoked ids' text and about 140 bytes per
    /// entry (a million revoked `jti`s: about 200 MB instead of 60 MB), so
    /// it is off unless asked for. A list without it answers
    /// [`ChangeFeed::Resync`] and fails [`RevocationStore::snapshot`]: it
    /// cannot be replicated.
    ///
    /// [`RevocationReplica`]: super::RevocationReplica
    #[must_use]
    pub fn with_change_feed(mut self) -> Self {
        self.journal = Some(Mutex::new(Journal::default()));
        self
    }

    /// A list for lookups only, with no change feed (a replica's local
    /// copy).
    pub(crate) fn without_journal(margin: i64, max_lifetime: Option<i64>) -> Self {
        let mut list = Self::with_retention_margin(Duration::seconds(margin));
        list.max_lifetime = max_lifetime;
        list.journal = None;
        list
    }

    /// Declares that no token the list protects lives longer than
    /// `lifetime` from its `iat`. Subject entries ("revoked before") are
    /// then pruned once that lifetime plus the margin has passed since the
    /// instant, when every token they could revoke has expired. Declare it
    /// only when every token carries `iat` and `exp` within that lifetime
    /// (a validator with [`max_age`](crate::ValidatorBuilder::max_age) of
    /// the same length enforces it).
    #[must_use]
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime.whole_seconds().max(0));
        self
    }

    fn hash(&self, domain: u8, s: &str) -> u64 {
        let mut h = self.keys.build_hasher();
        h.write_u8(domain);
        h.write(s.as_bytes());
        h.finish()
    }

    fn jti_shard(&self, hash: u64) -> Option<&Guarded<HashedMap<i64>>> {
        self.jti.get(shard_of(hash, SHARDS))
    }

    fn journal(&self, change: RevocationChange) {
        if let Some(journal) = &self.journal {
            let mut j = journal.lock().unwrap_or_else(PoisonError::into_inner);
            j.last = j.last.saturating_add(1);
            let seq = j.last;
            j.entries.push_back((seq, change));
        }
    }

    /// Drops entries that can no longer matter at `now`: `jti` and session
    /// entries whose tokens expired more than the retention margin ago,
    /// and, with a declared [`max_token_lifetime`](Self::max_token_lifetime),
    /// subject entries older than that lifetime plus the margin. Key id
    /// entries stay. Returns how many entries were dropped. Call it
    /// periodically (once a minute is plenty).
    pub fn prune(&self, now: OffsetDateTime) -> usize {
        let now = now.unix_timestamp();
        let margin = self.margin;
        let mut dropped: usize = 0;
        for shard in self.jti.iter().chain(std::iter::once(&self.sessions)) {
            let mut map = write(shard);
            let before = map.len();
            map.retain(|_, exp| exp.saturating_add(margin) > now);
            dropped = dropped.saturating_add(before.saturating_sub(map.len()));
        }
        let subject_live = |before: i64| match self.max_lifetime {
            Some(life) => before.saturating_add(life).saturating_add(margin) > now,
            None => true,
        };
        {
            let mut subjects = write(&self.subjects);
            let before = subjects.len();
            subjects.retain(|_, b| subject_live(*b));
            dropped = dropped.saturating_add(before.saturating_sub(subjects.len()));
        }
        if let Some(journal) = &self.journal {
            let mut j = journal.lock().unwrap_or_else(PoisonError::into_inner);
            j.entries.retain(|(_, c)| match c {
                RevocationChange::Token { expires_at: t, .. }
                | RevocationChange::Session { until: t, .. } => {
                    t.unix_timestamp().saturating_add(margin) > now
                }
                RevocationChange::SubjectBefore { before, .. } => subject_live(unix_ceil(*before)),
                RevocationChange::Key { .. } => true,
            });
        }
        dropped
    }

    /// The number of revoked `jti`s held.
    pub fn jti_count(&self) -> usize {
        self.jti.iter().map(|s| read(s).len()).sum()
    }

    /// The number of revoked sessions held.
    pub fn session_count(&self) -> usize {
        read(&self.sessions).len()
    }

    /// The number of subjects with a "revoked before" instant.
    pub fn subject_count(&self) -> usize {
        read(&self.subjects).len()
    }

    /// The number of revoked key ids (these entries are permanent).
    pub fn key_count(&self) -> usize {
        read(&self.key_ids).len()
    }

    /// The number of changes the feed holds (one per revocation in force).
    pub fn journal_len(&self) -> usize {
        self.journal.as_ref().map_or(0, |j| {
            j.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entries
                .len()
        })
    }

    fn cursor(&self, seq: u64) -> ChangeCursor {
        ChangeCursor::new(format!("{:016x}-{seq}", self.epoch))
    }

    fn parse_cursor(&self, cursor: &ChangeCursor) -> Option<u64> {
        let (epoch, seq) = cursor.as_str().split_once('-')?;
        if u64::from_str_radix(epoch, 16).ok()? != self.epoch {
            return None;
        }
        seq.parse().ok()
    }

    fn jti_revoked(&self, jti: &str) -> bool {
        let h = self.hash(0, jti);
        self.jti_shard(h)
            .is_some_and(|s| !s.is_empty() && read(s).contains_key(&h))
    }

    /// Records `value` for `key` unless a later one is held; `true` when
    /// the map changed (and the change belongs in the journal).
    fn raise<K: std::hash::Hash + Eq, H: BuildHasher>(
        map: &mut HashMap<K, i64, H>,
        key: K,
        value: i64,
    ) -> bool {
        match map.get_mut(&key) {
            Some(held) if *held >= value => false,
            Some(held) => {
                *held = value;
                true
            }
            None => {
                map.insert(key, value);
                true
            }
        }
    }

    fn insert_jti(&self, jti: &str, expires_at: i64) -> bool {
        let h = self.hash(0, jti);
        self.jti_shard(h)
            .is_some_and(|shard| Self::raise(&mut write(shard), h, expires_at))
    }

    fn insert_session(&self, sid: &str, until: i64) -> bool {
        let h = self.hash(1, sid);
        Self::raise(&mut write(&self.sessions), h, until)
    }

    fn insert_subject(&self, subject: &str, before: i64) -> bool {
        let mut map = write(&self.subjects);
        if map.get(subject).is_some_and(|held| *held >= before) {
            return false;
        }
        map.insert(subject.to_owned(), before);
        true
    }
}

impl Revocation for RevocationList {
    fn retention_margin(&self) -> Option<Duration> {
        Some(Duration::seconds(self.margin))
    }

    fn is_revoked(&self, q: &RevocationQuery<'_>) -> Result<bool, Error> {
        if q.jti.is_some_and(|j| self.jti_revoked(j)) {
            return Ok(true);
        }
        if let Some(sid) = q.session_id
            && !self.sessions.is_empty()
            && read(&self.sessions).contains_key(&self.hash(1, sid))
        {
            return Ok(true);
        }
        if let Some(sub) = q.subject
            && !self.subjects.is_empty()
            && let Some(before) = read(&self.subjects).get(sub).copied()
            && q.issued_at.is_none_or(|iat| iat < before)
        {
            return Ok(true);
        }
        if let Some(kid) = q.key_id
            && !self.key_ids.is_empty()
            && read(&self.key_ids).contains_key(kid)
        {
            return Ok(true);
        }
        Ok(false)
    }
}

impl RevocationStore for RevocationList {
    fn revoke_token(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), Error> {
        if self.insert_jti(jti, expires_at.unix_timestamp()) {
            self.journal(RevocationChange::Token {
                jti: jti.to_owned(),
                expires_at,
            });
        }
        Ok(())
    }

    fn revoke_subject_before(&self, subject: &str, before: OffsetDateTime) -> Result<(), Error> {
        let before = unix_ceil(before);
        if self.insert_subject(subject, before) {
            // The feed carries whole seconds, rounded up as stored, so a
            // replica that reads it back revokes the same tokens. A subject
            // keeps one entry: the later instant replaces the earlier.
            if let Some(journal) = &self.journal {
                journal
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entries
                    .retain(|(_, c)| {
                        !matches!(c, RevocationChange::SubjectBefore { subject: s, .. } if s == subject)
                    });
            }
            self.journal(RevocationChange::SubjectBefore {
                subject: subject.to_owned(),
                before: instant(before),
            });
        }
        Ok(())
    }

    fn revoke_key(&self, kid: &str) -> Result<(), Error> {
        let fresh = write(&self.key_ids).insert(kid.to_owned(), ()).is_none();
        if fresh {
            self.journal(RevocationChange::Key {
                kid: kid.to_owned(),
            });
        }
        Ok(())
    }

    fn revoke_session(&self, sid: &str, until: OffsetDateTime) -> Result<(), Error> {
        if self.insert_session(sid, until.unix_timestamp()) {
            self.journal(RevocationChange::Session {
                sid: sid.to_owned(),
                until,
            });
        }
        Ok(())
    }

    fn changes_since(&self, cursor: &ChangeCursor, limit: usize) -> Result<ChangeFeed, Error> {
        let Some(journal) = &self.journal else {
            return Ok(ChangeFeed::Resync);
        };
        let after: u64 = if cursor.is_start() {
            0
        } else {
            match self.parse_cursor(cursor) {
                Some(n) => n,
                None => return Ok(ChangeFeed::Resync),
            }
        };
        let j = journal.lock().unwrap_or_else(PoisonError::into_inner);
        if after > j.last {
            // Not a cursor of this list (another list, or a restart).
            return Ok(ChangeFeed::Resync);
        }
        let start = j.entries.partition_point(|(seq, _)| *seq <= after);
        let mut changes = Vec::new();
        let mut last = after;
        for (seq, change) in j.entries.range(start..).take(limit) {
            changes.push(change.clone());
            last = *seq;
        }
        let cursor = if last == after {
            cursor.clone()
        } else {
            self.cursor(last)
        };
        Ok(ChangeFeed::Changes { changes, cursor })
    }

    fn snapshot(&self) -> Result<Snapshot, Error> {
        let Some(journal) = &self.journal else {
            return Err(Error::store(NoChangeFeed));
        };
        let j = journal.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Snapshot {
            changes: j.entries.iter().map(|(_, c)| c.clone()).collect(),
            cursor: if j.last == 0 {
                ChangeCursor::start()
            } else {
                self.cursor(j.last)
            },
        })
    }
}

/// A list built without [`RevocationList::with_change_feed`].
#[derive(Debug, thiserror::Error)]
#[error("this revocation list keeps no change feed (see RevocationList::with_change_feed)")]
struct NoChangeFeed;

/// Unix seconds of an instant, rounded up: "revoked before 10.5 s" covers
/// tokens issued at second 10.
fn unix_ceil(t: OffsetDateTime) -> i64 {
    let secs = t.unix_timestamp();
    if t.nanosecond() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

/// The instant for Unix seconds, for revocation entries: never before the
/// epoch (NumericDates are not negative), and beyond year 9999 the furthest
/// instant `time` represents.
pub(crate) fn instant(unix_seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(if unix_seconds < 0 {
        OffsetDateTime::UNIX_EPOCH
    } else {
        time::PrimitiveDateTime::MAX.assume_utc()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(jti: Option<&'a str>, sub: Option<&'a str>, iat: Option<i64>) -> RevocationQuery<'a> {
        RevocationQuery::new(jti, sub, iat, None, None, None)
    }

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(s).unwrap()
    }

    #[test]
    fn jti_until_exp_then_pruned() {
        let list = RevocationList::new().with_change_feed();
        list.revoke_token("a", t(100)).unwrap();
        assert!(list.is_revoked(&q(Some("a"), None, None)).unwrap());
        assert!(!list.is_revoked(&q(Some("b"), None, None)).unwrap());
        assert!(!list.is_revoked(&q(None, None, None)).unwrap());
        assert_eq!(list.prune(t(399)), 0);
        assert_eq!(list.jti_count(), 1);
        assert_eq!(list.journal_len(), 1);
        assert_eq!(list.prune(t(400)), 1);
        assert_eq!(list.jti_count(), 0);
        assert_eq!(list.journal_len(), 0);
    }

    #[test]
    fn subject_before_instant() {
        let list = RevocationList::new();
        list.revoke_subject_before("u", t(50)).unwrap();
        list.revoke_subject_before("u", t(40)).unwrap();
        assert!(list.is_revoked(&q(None, Some("u"), Some(49))).unwrap());
        assert!(!list.is_revoked(&q(None, Some("u"), Some(50))).unwrap());
        assert!(list.is_revoked(&q(None, Some("u"), None)).unwrap());
        assert!(!list.is_revoked(&q(None, Some("v"), Some(1))).unwrap());
        // Without a declared lifetime, subject entries are permanent.
        assert_eq!(list.prune(t(1_000_000)), 0);
        assert_eq!(list.subject_count(), 1);
    }

    #[test]
    fn subject_entries_pruned_after_declared_lifetime() {
        let list = RevocationList::with_retention_margin(Duration::seconds(10))
            .max_token_lifetime(Duration::seconds(100))
            .with_change_feed();
        list.revoke_subject_before("u", t(50)).unwrap();
        // A token issued at 49 lives until 149 at most; plus the margin.
        assert_eq!(list.prune(t(159)), 0);
        assert!(list.is_revoked(&q(None, Some("u"), Some(49))).unwrap());
        assert_eq!(list.prune(t(160)), 1);
        assert_eq!(list.subject_count(), 0);
        assert_eq!(list.journal_len(), 0);
    }

    #[test]
    fn key_ids_and_sessions() {
        let list = RevocationList::new().with_change_feed();
        list.revoke_key("k1").unwrap();
        list.revoke_key("k1").unwrap();
        list.revoke_session("s1", t(10)).unwrap();
        let by_kid = RevocationQuery::new(None, None, None, None, Some("k1"), None);
        let by_sid = RevocationQuery::new(None, None, None, None, Some("k2"), Some("s1"));
        let other = RevocationQuery::new(None, None, None, None, Some("k2"), Some("s2"));
        assert!(list.is_revoked(&by_kid).unwrap());
        assert!(list.is_revoked(&by_sid).unwrap());
        assert!(!list.is_revoked(&other).unwrap());
        // A jti and a session id with the same text do not alias.
        assert!(!list.is_revoked(&q(Some("s1"), None, None)).unwrap());
        assert_eq!((list.key_count(), list.session_count()), (1, 1));
        assert_eq!(
            list.journal_len(),
            2,
            "a repeated key revocation is one change"
        );
        list.revoke_session("s1", t(5)).unwrap();
        assert_eq!(list.journal_len(), 2, "an earlier instant changes nothing");
        list.prune(t(310));
        assert!(!list.is_revoked(&by_sid).unwrap());
        assert!(list.is_revoked(&by_kid).unwrap());
        let strict = RevocationList::with_retention_margin(Duration::ZERO);
        strict.revoke_token("a", t(100)).unwrap();
        assert_eq!(strict.prune(t(100)), 1);
    }

    #[test]
    fn feed_pages_and_resumes() {
        let list = RevocationList::new().with_change_feed();
        for i in 0..5 {
            list.revoke_token(&format!("j{i}"), t(1_000)).unwrap();
        }
        let ChangeFeed::Changes { changes, cursor } =
            list.changes_since(&ChangeCursor::start(), 3).unwrap()
        else {
            panic!("expected changes")
        };
        assert_eq!(changes.len(), 3);
        let ChangeFeed::Changes { changes, cursor } = list.changes_since(&cursor, 3).unwrap()
        else {
            panic!("expected changes")
        };
        assert_eq!(changes.len(), 2);
        let ChangeFeed::Changes {
            changes,
            cursor: same,
        } = list.changes_since(&cursor, 3).unwrap()
        else {
            panic!("expected changes")
        };
        assert!(changes.is_empty());
        assert_eq!(same, cursor);
        assert_eq!(
            list.changes_since(&list.cursor(99), 3).unwrap(),
            ChangeFeed::Resync
        );
        let other = RevocationList::new().with_change_feed();
        assert_eq!(
            list.changes_since(&other.cursor(1), 3).unwrap(),
            ChangeFeed::Resync,
            "another list's cursor"
        );
        assert_eq!(
            list.changes_since(&ChangeCursor::new("x"), 3).unwrap(),
            ChangeFeed::Resync
        );
        let snap = list.snapshot().unwrap();
        assert_eq!(snap.changes.len(), 5);
        assert_eq!(snap.cursor, cursor);
    }

    #[test]
    fn subject_instants_round_up_to_the_second_in_the_feed_too() {
        let list = RevocationList::new().with_change_feed();
        let half = t(10) + Duration::milliseconds(500);
        list.revoke_subject_before("u", half).unwrap();
        assert!(list.is_revoked(&q(None, Some("u"), Some(10))).unwrap());
        assert!(!list.is_revoked(&q(None, Some("u"), Some(11))).unwrap());
        // What a replica reads back revokes the same tokens.
        let snap = list.snapshot().unwrap();
        assert_eq!(
            snap.changes,
            vec![RevocationChange::SubjectBefore {
                subject: "u".into(),
                before: t(11)
            }]
        );
        // A later instant replaces the subject's entry instead of adding one.
        list.revoke_subject_before("u", t(20)).unwrap();
        list.revoke_subject_before("v", t(20)).unwrap();
        assert_eq!(list.journal_len(), 2);
    }

    #[test]
    fn without_a_change_feed_the_list_cannot_be_replicated() {
        let list = RevocationList::new();
        list.revoke_token("a", t(100)).unwrap();
        assert_eq!(list.journal_len(), 0);
        assert_eq!(
            list.changes_since(&ChangeCursor::start(), 10).unwrap(),
            ChangeFeed::Resync
        );
        assert!(matches!(list.snapshot(), Err(Error::Store(_))));
    }

    #[test]
    fn far_instants_clamp() {
        assert_eq!(instant(i64::MAX), time::PrimitiveDateTime::MAX.assume_utc());
        assert_eq!(instant(i64::MIN), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(instant(5).unix_timestamp(), 5);
    }
}
