//! A bounded cache of tokens that passed validation, so that a client
//! sending the same access token on every request costs one signature
//! check per token instead of one per request.
//!
//! What a hit skips is only what cannot change for the same bytes: the
//! base64url decoding, the header and claims parsing and the signature
//! check. Everything that depends on time or on shared state runs again on
//! every hit: the algorithm allow-list against the store, the key lookup
//! (the store must still hand out the very key that verified the token),
//! `exp`/`nbf`/`iat`/age, issuer, audience, type, revocation and scopes.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use crate::ct::bytes_eq;
use crate::hashed::{HashedMap, shard_of};
use crate::jws::Header;
use crate::keys::VerifyingKey;

use super::claims::Claims;

/// The most entries a cache may be configured with.
pub(crate) const MAX_CAPACITY: usize = 10_000_000;

const SHARDS: usize = 16;

/// How many of a token's last bytes are hashed: more than any signature's
/// first bytes could share by chance, fewer than a whole token.
const HASHED_TAIL: usize = 64;

/// Tokens longer than this are validated in full every time, never kept:
/// an entry holds the token, its payload and its claims, several times
/// the token's size.
pub(crate) const MAX_CACHED_TOKEN: usize = 4096;

type Shard = Mutex<Slots>;

/// One shard: the entries, each with the number it came in as, and those
/// numbers' keys in the order they came in, the oldest first, so that a
/// full shard drops its oldest entry. A key removed and inserted again is
/// in the order twice; only the copy with its entry's number evicts it.
#[derive(Default)]
struct Slots {
    map: HashedMap<(u64, Arc<Entry>)>,
    order: VecDeque<(u64, u64)>,
    next: u64,
}

/// A validated token, as the cache keeps it. The key that verified it is
/// known by its RFC 7638 thumbprint, not held: a key the store drops
/// leaves memory with it.
pub(crate) struct Entry {
    token: Box<str>,
    pub(crate) key_thumbprint: Box<str>,
    pub(crate) header: Header,
    pub(crate) claims: Claims<()>,
    /// The decoded payload, for an application's own claims type.
    pub(crate) payload: Box<[u8]>,
}

impl Entry {
    pub(crate) fn new(
        token: &str,
        key: &VerifyingKey,
        header: Header,
        claims: Claims<()>,
        payload: &[u8],
    ) -> Self {
        Self {
            token: token.into(),
            key_thumbprint: key.thumbprint().into(),
            header,
            claims,
            payload: payload.into(),
        }
    }
}

/// Tokens that passed validation, keyed by a keyed hash of their last
/// bytes (the signature's; SipHash with a random key, so a caller cannot
/// aim tokens at one bucket) and compared whole, in constant time, on
/// lookup.
pub(crate) struct VerifiedCache {
    shards: Box<[Shard]>,
    per_shard: usize,
    hasher: RandomState,
}

impl VerifiedCache {
    /// A cache of at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = SHARDS.min(capacity.max(1));
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            // Rounded down, so the shards never hold more than `capacity`.
            per_shard: capacity.checked_div(shards).unwrap_or(1).max(1),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, hash: u64) -> Option<&Shard> {
        self.shards.get(shard_of(hash, self.shards.len()))
    }

    /// The map key of `token`: a keyed hash of its last bytes, which hold
    /// the signature. Tokens that share them share a slot; the whole
    /// token is compared on every lookup.
    fn hash(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        let tail = bytes
            .get(bytes.len().saturating_sub(HASHED_TAIL)..)
            .unwrap_or(bytes);
        self.hasher.hash_one(tail)
    }

    /// `true` when a token of these bytes, verified with a key of this
    /// thumbprint, would be kept: at most [`MAX_CACHED_TOKEN`] bytes, and a
    /// key whose material a hit can check again.
    pub(crate) fn keeps(token: &str, key_thumbprint: &str) -> bool {
        token.len() <= MAX_CACHED_TOKEN && !key_thumbprint.is_empty()
    }

    /// The entry for exactly these bytes, if any. A token too long to be
    /// kept costs no hashing and no lock.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        if token.len() > MAX_CACHED_TOKEN {
            return None;
        }
        let hash = self.hash(token);
        let shard = self.shard(hash)?;
        let entry = shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .get(&hash)
            .map(|(_, e)| Arc::clone(e))?;
        bytes_eq(entry.token.as_bytes(), token.as_bytes()).then_some(entry)
    }

    /// Keeps `entry` (unless its token is over [`MAX_CACHED_TOKEN`]
    /// bytes), making room by dropping the oldest entry of its shard when
    /// the shard is full: the one most likely expired, and never a token
    /// that stays pinned while newer ones come and go.
    pub(crate) fn insert(&self, entry: Entry) {
        if !Self::keeps(&entry.token, &entry.key_thumbprint) {
            return;
        }
        let hash = self.hash(&entry.token);
        let Some(shard) = self.shard(hash) else {
            return;
        };
        let mut slots = shard.lock().unwrap_or_else(PoisonError::into_inner);
        let Slots { map, order, next } = &mut *slots;
        let number = *next;
        *next = next.wrapping_add(1);
        if let Some((_, held)) = map.get_mut(&hash) {
            // The slot was taken (the same token, or one sharing its
            // tail): it keeps its place in the order.
            *held = Arc::new(entry);
            return;
        }
        map.insert(hash, (number, Arc::new(entry)));
        order.push_back((hash, number));
        while map.len() > self.per_shard {
            let Some((oldest, n)) = order.pop_front() else {
                break;
            };
            // A key whose entry was removed, or removed and inserted
            // again since, is skipped.
            if map.get(&oldest).is_some_and(|(m, _)| *m == n) {
                map.remove(&oldest);
            }
        }
        if order.len() > self.per_shard.saturating_mul(2) {
            // Removals leave keys behind in the order: drop them.
            order.retain(|(h, n)| map.get(h).is_some_and(|(m, _)| m == n));
        }
    }

    /// Forgets the entry for these bytes (it failed a check on a hit that
    /// it can never pass again, or its key is gone), and not another
    /// token's that took the slot since.
    pub(crate) fn remove(&self, token: &str) {
        let hash = self.hash(token);
        if let Some(shard) = self.shard(hash) {
            let mut slots = shard.lock().unwrap_or_else(PoisonError::into_inner);
            if slots
                .map
                .get(&hash)
                .is_some_and(|(_, e)| bytes_eq(e.token.as_bytes(), token.as_bytes()))
            {
                slots.map.remove(&hash);
            }
        }
    }

    /// How many entries are kept now.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }

    /// The most entries kept at once.
    pub(crate) fn capacity(&self) -> usize {
        self.per_shard.saturating_mul(self.shards.len())
    }
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens: they are bearer credentials.
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::Algorithm;
    use crate::keys::SigningKey;

    fn entry(token: &str) -> Entry {
        let key = SigningKey::generate(Algorithm::HS256)
            .unwrap()
            .verifying_key();
        let header = Header::parse(br#"{"alg":"HS256"}"#).unwrap();
        Entry::new(token, &key, header, Claims::<()>::default(), b"{}")
    }

    #[test]
    fn tokens_sharing_their_last_bytes_are_told_apart() {
        let cache = VerifiedCache::new(8);
        let tail = "s".repeat(HASHED_TAIL);
        cache.insert(entry(&format!("a.b.{tail}")));
        assert!(cache.get(&format!("a.c.{tail}")).is_none());
        assert!(cache.get(&format!("a.b.{tail}")).is_some());
    }

    #[test]
    fn finds_only_the_same_bytes() {
        let cache = VerifiedCache::new(8);
        cache.insert(entry("a.b.c"));
        assert!(cache.get("a.b.c").is_some());
        assert!(cache.get("a.b.d").is_none());
        assert!(cache.get("a.b.c ").is_none());
        assert!(cache.get("").is_none());
        cache.remove("a.b.c");
        assert!(cache.get("a.b.c").is_none());
    }

    #[test]
    fn never_holds_more_than_its_capacity() {
        let cache = VerifiedCache::new(40);
        for i in 0..1_000 {
            cache.insert(entry(&format!("t.{i}.s")));
            assert!(cache.len() <= cache.capacity());
        }
        assert!(cache.capacity() <= 40 && cache.capacity() > 40 - SHARDS);
        assert!(cache.len() >= 20, "{}", cache.len());
    }

    #[test]
    fn a_full_cache_drops_its_oldest_entries_first() {
        let cache = VerifiedCache::new(1_600);
        let token = |i: usize| format!("t.{i}.signature-{i:08}");
        for i in 0..100_000 {
            cache.insert(entry(&token(i)));
        }
        assert!(cache.len() <= cache.capacity());
        let kept = |range: std::ops::Range<usize>| {
            range.filter(|i| cache.get(&token(*i)).is_some()).count()
        };
        // The newest stay, the oldest went.
        assert_eq!(kept(0..1_600), 0);
        assert!(kept(99_900..100_000) == 100, "{}", kept(99_900..100_000));
        assert!(kept(98_400..100_000) > 1_200, "{}", kept(98_400..100_000));
        // Removals leave the order bounded.
        for i in 99_000..100_000 {
            cache.remove(&token(i));
        }
        for i in 100_000..101_000 {
            cache.insert(entry(&token(i)));
        }
        for shard in cache.shards.iter() {
            let slots = shard.lock().unwrap();
            assert!(
                slots.order.len() <= 2 * cache.per_shard + 1,
                "{}",
                slots.order.len()
            );
        }
    }

    #[test]
    fn tokens_over_the_limit_are_never_kept() {
        let cache = VerifiedCache::new(8);
        let long = format!("a.b.{}", "s".repeat(MAX_CACHED_TOKEN));
        cache.insert(entry(&long));
        assert!(cache.get(&long).is_none());
        let at_limit = format!("a.b.{}", "s".repeat(MAX_CACHED_TOKEN - 4));
        cache.insert(entry(&at_limit));
        assert!(cache.get(&at_limit).is_some());
    }

    #[test]
    fn removing_a_token_leaves_another_in_its_slot() {
        let cache = VerifiedCache::new(8);
        let tail = "s".repeat(HASHED_TAIL);
        let (a, b) = (format!("a.b.{tail}"), format!("a.c.{tail}"));
        cache.insert(entry(&a));
        cache.insert(entry(&b));
        cache.remove(&a);
        assert!(cache.get(&b).is_some());
    }

    #[test]
    fn debug_shows_no_token() {
        let cache = VerifiedCache::new(4);
        cache.insert(entry("secret.token.bytes"));
        let shown = format!("{cache:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
