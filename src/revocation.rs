//! Taking tokens back before they expire.
//!
//! A [`Revocation`] is consulted by the [`Validator`](crate::Validator)
//! after the signature and claims are verified, so forged tokens never cost
//! a lookup. [`RevocationList`] is the in-memory implementation.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::Debug;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{PoisonError, RwLock};

use crate::error::Error;

/// What the validator tells a [`Revocation`] about a verified token.
///
/// Non-exhaustive so fields can be added; implementations read the fields,
/// only the crate builds queries.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default)]
pub struct RevocationQuery<'a> {
    /// `jti`, the token's id.
    pub jti: Option<&'a str>,
    /// `sub`, the subject.
    pub subject: Option<&'a str>,
    /// `iat`, when the token was issued (seconds since the epoch).
    pub issued_at: Option<i64>,
    /// `exp`, when the token expires.
    pub expires_at: Option<i64>,
    /// The `kid` of the key that signed the token.
    pub key_id: Option<&'a str>,
    /// `sid`, the session (refresh token family) the token belongs to.
    pub session_id: Option<&'a str>,
}

impl<'a> RevocationQuery<'a> {
    /// A query about a token with this `jti` and nothing else known (to
    /// test or benchmark a [`Revocation`] implementation).
    pub fn for_jti(jti: Option<&'a str>) -> Self {
        Self {
            jti,
            ..Self::default()
        }
    }

    /// The same query with `sub` and `iat` set.
    #[must_use]
    pub fn with_subject(mut self, subject: Option<&'a str>, issued_at: Option<i64>) -> Self {
        self.subject = subject;
        self.issued_at = issued_at;
        self
    }

    /// The same query with the signing key's id and the session id set.
    #[must_use]
    pub fn with_key_and_session(
        mut self,
        key_id: Option<&'a str>,
        session_id: Option<&'a str>,
    ) -> Self {
        self.key_id = key_id;
        self.session_id = session_id;
        self
    }

    pub(crate) fn new(
        jti: Option<&'a str>,
        subject: Option<&'a str>,
        issued_at: Option<i64>,
        expires_at: Option<i64>,
        key_id: Option<&'a str>,
        session_id: Option<&'a str>,
    ) -> Self {
        Self {
            jti,
            subject,
            issued_at,
            expires_at,
            key_id,
            session_id,
        }
    }
}

/// Decides whether a verified token has been revoked.
///
/// `Debug + Send + Sync`, object safe and synchronous: it runs on every
/// request, so serve answers from memory (a fleet keeps a local replica fed
/// by a shared store's change feed). An `Err` rejects the token: failures
/// close.
pub trait Revocation: Debug + Send + Sync {
    /// `true` when the token described by `query` is revoked.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when a backend fails.
    fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, Error>;
}

impl<R: Revocation + ?Sized> Revocation for std::sync::Arc<R> {
    fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, Error> {
        (**self).is_revoked(query)
    }
}

/// A `Hasher` for keys that are already keyed 64-bit hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashedMap<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

const SHARDS: usize = 16;

/// How long past a token's `exp` its revocation entry is kept: longer than
/// any sane validator leeway, so pruning never lets a revoked token pass
/// while a validator still accepts it as unexpired.
pub const DEFAULT_RETENTION_MARGIN: time::Duration = time::Duration::minutes(5);

/// The in-memory revocation list.
///
/// It answers for:
/// - one token by `jti`, kept only until that token's `exp` has passed
///   (then [`RevocationList::prune`] drops it), so memory is bounded by the
///   revoked tokens still alive;
/// - every token of a subject issued before an instant ("log out
///   everywhere", a password change); a token of that subject without `iat`
///   is treated as revoked;
/// - every token signed by a key id (key compromise);
/// - every token of a session (`sid`), used when a refresh token family is
///   revoked; kept until the given instant.
///
/// `jti`s and session ids are stored as 64-bit SipHash values under a
/// random per-list key (16 bytes of map entry each, no string), so a
/// million revoked tokens take tens of megabytes, and an attacker cannot
/// aim collisions at the map. A collision could only revoke an innocent
/// token (probability about n / 2^64), never accept a revoked one.
///
/// Lookups take a read lock on one of 16 shards; writers hold a shard's
/// write lock only for one map update.
#[derive(Debug)]
pub struct RevocationList {
    keys: RandomState,
    margin: i64,
    jti: Box<[RwLock<HashedMap<i64>>]>,
    sessions: RwLock<HashedMap<i64>>,
    subjects: RwLock<HashMap<String, i64>>,
    key_ids: RwLock<HashMap<String, ()>>,
}

impl Default for RevocationList {
    fn default() -> Self {
        Self::new()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::with_retention_margin(DEFAULT_RETENTION_MARGIN)
    }

    /// An empty list that keeps entries `margin` past the tokens' `exp`
    /// (default [`DEFAULT_RETENTION_MARGIN`]). Keep it at least as long as
    /// the largest leeway of the validators that consult the list.
    pub fn with_retention_margin(margin: time::Duration) -> Self {
        Self {
            margin: margin.whole_seconds().max(0),
            keys: RandomState::new(),
            jti: (0..SHARDS)
                .map(|_| RwLock::new(HashedMap::default()))
                .collect(),
            sessions: RwLock::new(HashedMap::default()),
            subjects: RwLock::new(HashMap::new()),
            key_ids: RwLock::new(HashMap::new()),
        }
    }

    fn hash(&self, domain: u8, s: &str) -> u64 {
        let mut h = self.keys.build_hasher();
        h.write_u8(domain);
        h.write(s.as_bytes());
        h.finish()
    }

    fn jti_shard(&self, hash: u64) -> Option<&RwLock<HashedMap<i64>>> {
        self.jti.get((hash >> 59) as usize % SHARDS)
    }

    /// Revokes the token with this `jti`; `expires_at` is the token's own
    /// `exp` (seconds since the epoch). [`RevocationList::prune`] drops the
    /// entry once `exp` plus the retention margin has passed, when every
    /// validator rejects the token as expired anyway.
    pub fn revoke_jti(&self, jti: &str, expires_at: i64) {
        let h = self.hash(0, jti);
        if let Some(shard) = self.jti_shard(h) {
            let mut map = write(shard);
            let e = map.entry(h).or_insert(expires_at);
            *e = (*e).max(expires_at);
        }
    }

    /// Revokes every token of `subject` issued before `before` (seconds
    /// since the epoch). A later call with an earlier instant does not
    /// un-revoke anything.
    pub fn revoke_subject_before(&self, subject: &str, before: i64) {
        let mut map = write(&self.subjects);
        let e = map.entry(subject.to_owned()).or_insert(before);
        *e = (*e).max(before);
    }

    /// Revokes every token signed by the key with this id.
    pub fn revoke_key_id(&self, kid: &str) {
        write(&self.key_ids).insert(kid.to_owned(), ());
    }

    /// Revokes every token carrying `sid` = `session_id`, remembering it
    /// until `until` (the latest `exp` such a token can have).
    pub fn revoke_session(&self, session_id: &str, until: i64) {
        let h = self.hash(1, session_id);
        let mut map = write(&self.sessions);
        let e = map.entry(h).or_insert(until);
        *e = (*e).max(until);
    }

    /// Drops `jti` and session entries whose tokens expired more than the
    /// retention margin before `now`. Returns how many entries were dropped. Subject and key id
    /// entries have no end and stay until the list is dropped: there is
    /// one per user who logged out everywhere or per compromised key, not
    /// one per token.
    pub fn prune(&self, now: i64) -> usize {
        let mut dropped: usize = 0;
        for shard in self.jti.iter().chain(std::iter::once(&self.sessions)) {
            let mut map = write(shard);
            let before = map.len();
            let margin = self.margin;
            map.retain(|_, exp| exp.saturating_add(margin) > now);
            dropped = dropped.saturating_add(before.saturating_sub(map.len()));
        }
        dropped
    }

    /// The number of revoked `jti`s held.
    pub fn jti_count(&self) -> usize {
        self.jti.iter().map(|s| read(s).len()).sum()
    }

    fn jti_revoked(&self, jti: &str) -> bool {
        let h = self.hash(0, jti);
        self.jti_shard(h).is_some_and(|s| read(s).contains_key(&h))
    }
}

impl Revocation for RevocationList {
    fn is_revoked(&self, q: &RevocationQuery<'_>) -> Result<bool, Error> {
        if q.jti.is_some_and(|j| self.jti_revoked(j)) {
            return Ok(true);
        }
        if let Some(sid) = q.session_id {
            let h = self.hash(1, sid);
            if read(&self.sessions).contains_key(&h) {
                return Ok(true);
            }
        }
        if let Some(sub) = q.subject {
            let subjects = read(&self.subjects);
            if !subjects.is_empty()
                && let Some(before) = subjects.get(sub)
                && q.issued_at.is_none_or(|iat| iat < *before)
            {
                return Ok(true);
            }
        }
        if let Some(kid) = q.key_id {
            let kids = read(&self.key_ids);
            if !kids.is_empty() && kids.contains_key(kid) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(jti: Option<&'a str>, sub: Option<&'a str>, iat: Option<i64>) -> RevocationQuery<'a> {
        RevocationQuery::new(jti, sub, iat, None, None, None)
    }

    #[test]
    fn jti_until_exp_then_pruned() {
        let list = RevocationList::new();
        list.revoke_jti("a", 100);
        assert!(list.is_revoked(&q(Some("a"), None, None)).unwrap());
        assert!(!list.is_revoked(&q(Some("b"), None, None)).unwrap());
        assert!(!list.is_revoked(&q(None, None, None)).unwrap());
        assert_eq!(list.prune(399), 0);
        assert_eq!(list.jti_count(), 1);
        assert_eq!(list.prune(400), 1);
        assert_eq!(list.jti_count(), 0);
    }

    #[test]
    fn subject_before_instant() {
        let list = RevocationList::new();
        list.revoke_subject_before("u", 50);
        list.revoke_subject_before("u", 40);
        assert!(list.is_revoked(&q(None, Some("u"), Some(49))).unwrap());
        assert!(!list.is_revoked(&q(None, Some("u"), Some(50))).unwrap());
        assert!(list.is_revoked(&q(None, Some("u"), None)).unwrap());
        assert!(!list.is_revoked(&q(None, Some("v"), Some(1))).unwrap());
    }

    #[test]
    fn key_ids_and_sessions() {
        let list = RevocationList::new();
        list.revoke_key_id("k1");
        list.revoke_session("s1", 10);
        let by_kid = RevocationQuery::new(None, None, None, None, Some("k1"), None);
        let by_sid = RevocationQuery::new(None, None, None, None, Some("k2"), Some("s1"));
        let other = RevocationQuery::new(None, None, None, None, Some("k2"), Some("s2"));
        assert!(list.is_revoked(&by_kid).unwrap());
        assert!(list.is_revoked(&by_sid).unwrap());
        assert!(!list.is_revoked(&other).unwrap());
        // A jti and a session id with the same text do not alias.
        assert!(!list.is_revoked(&q(Some("s1"), None, None)).unwrap());
        list.prune(310);
        assert!(!list.is_revoked(&by_sid).unwrap());
        let strict = RevocationList::with_retention_margin(time::Duration::ZERO);
        strict.revoke_jti("a", 100);
        assert_eq!(strict.prune(100), 1);
    }
}
