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

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use crate::ct::bytes_eq;
use crate::jws::Header;
use crate::keys::VerifyingKey;

use super::claims::Claims;

/// The most entries a cache may be configured with.
pub(crate) const MAX_CAPACITY: usize = 10_000_000;

const SHARDS: usize = 16;

/// How many of a token's last bytes are hashed: more than any signature's
/// first bytes could share by chance, fewer than a whole token.
const HASHED_TAIL: usize = 64;

type Shard = Mutex<HashMap<u64, Arc<Entry>>>;

/// A validated token, as the cache keeps it.
pub(crate) struct Entry {
    token: Box<str>,
    pub(crate) key: Arc<VerifyingKey>,
    pub(crate) header: Header,
    pub(crate) claims: Claims<()>,
    /// The decoded payload, for an application's own claims type.
    pub(crate) payload: Box<[u8]>,
}

impl Entry {
    pub(crate) fn new(
        token: &str,
        key: Arc<VerifyingKey>,
        header: Header,
        claims: Claims<()>,
        payload: &[u8],
    ) -> Self {
        Self {
            token: token.into(),
            key,
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
    /// A cache of at most `capacity` entries (at least one per shard).
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = SHARDS.min(capacity.max(1));
        Self {
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(shards).max(1),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, hash: u64) -> Option<&Shard> {
        // The low bits pick the shard; the map rehashes the whole value.
        let len = u64::try_from(self.shards.len()).ok()?;
        let index = usize::try_from(hash.checked_rem(len)?).ok()?;
        self.shards.get(index)
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

    /// The entry for exactly these bytes, if any.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        let hash = self.hash(token);
        let shard = self.shard(hash)?;
        let entry = shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
            .cloned()?;
        bytes_eq(entry.token.as_bytes(), token.as_bytes()).then_some(entry)
    }

    /// Keeps `entry`, making room by dropping an arbitrary entry of its
    /// shard when the shard is full.
    pub(crate) fn insert(&self, entry: Entry) {
        let hash = self.hash(&entry.token);
        let Some(shard) = self.shard(hash) else {
            return;
        };
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.per_shard && !map.contains_key(&hash) {
            // Iteration order follows the random hash key: an arbitrary
            // victim, found without scanning the shard.
            if let Some(victim) = map.keys().next().copied() {
                map.remove(&victim);
            }
        }
        map.insert(hash, Arc::new(entry));
    }

    /// Forgets the entry for these bytes (it failed a check on a hit that
    /// it can never pass again, or its key is gone).
    pub(crate) fn remove(&self, token: &str) {
        let hash = self.hash(token);
        if let Some(shard) = self.shard(hash) {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&hash);
        }
    }

    /// How many entries are kept now.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
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
        Entry::new(token, key, header, Claims::<()>::default(), b"{}")
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
        assert!(cache.capacity() >= 40 && cache.capacity() < 40 + SHARDS);
        assert!(cache.len() >= 20, "{}", cache.len());
    }

    #[test]
    fn debug_shows_no_token() {
        let cache = VerifiedCache::new(4);
        cache.insert(entry("secret.token.bytes"));
        let shown = format!("{cache:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
