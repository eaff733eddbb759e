use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Debug;
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use time::OffsetDateTime;

use super::record::ApiKeyRecord;
use crate::error::Error;

/// One atomic API key rotation: what [`ApiKeyStore::rotate`] must do as a
/// single compare-and-set.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The id of the key being rotated.
    pub old_id: String,
    /// The successor's record, to insert.
    pub successor: ApiKeyRecord,
    /// The end of the old key's grace period: its new expiry, unless it
    /// already expires earlier.
    pub old_expires_at: OffsetDateTime,
    /// The instant of the rotation: the old key must not be expired then.
    pub at: OffsetDateTime,
}

impl KeyRotation {
    /// A rotation of key `old_id` into `successor` at `at`, the old key
    /// expiring at `old_expires_at` (or earlier, if it already does).
    pub fn new(
        old_id: impl Into<String>,
        successor: ApiKeyRecord,
        old_expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            old_id: old_id.into(),
            successor,
            old_expires_at,
            at,
        }
    }
}

/// What [`ApiKeyStore::rotate`] found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRotationOutcome {
    /// Done, in one step: the successor is stored, the old key names it in
    /// `replaced_by`, and the old key expires at the earlier of its expiry
    /// and [`KeyRotation::old_expires_at`].
    Rotated,
    /// No key with this id. Nothing changed.
    Unknown,
    /// The old key is revoked. Nothing changed.
    Revoked,
    /// The old key was already rotated (it has a successor). Nothing
    /// changed.
    AlreadyRotated,
    /// The old key expired at this instant, not after
    /// [`KeyRotation::at`]. Nothing changed.
    Expired(OffsetDateTime),
}

/// Where API key records live.
///
/// `Debug + Send + Sync`, object safe and synchronous; fallible so that a
/// database can stand behind it. The verifier looks records up by public
/// key id only, never by secret.
///
/// The contract (checked for any implementation by
/// `tokengate::testing::conformance::api_key_store`, feature `testing`):
///
/// - [`get`](Self::get) runs on every request that presents a key: answer
///   from memory (in a fleet, a local replica or a bounded cache that the
///   shared store's change feed invalidates, so a key revoked on one server
///   is refused on all), never with a network round trip per request.
/// - [`insert`](Self::insert) refuses an existing id; it never overwrites.
/// - [`revoke`](Self::revoke) keeps the first revocation instant;
///   [`retire`](Self::retire) only ever brings an expiry closer. Both are
///   idempotent.
/// - [`rotate`](Self::rotate) is one compare-and-set (a transaction, or a
///   Lua script on Redis), never a read followed by writes: of concurrent
///   rotations of one key at most one sees
///   [`KeyRotationOutcome::Rotated`], so a key never has two successors; a
///   key revoked (or expired) before the rotation commits gets none; every
///   other outcome and every `Err` leave the store unchanged.
/// - An `Err` rejects the key (fail closed) and reaches the caller as
///   [`Error::Store`].
pub trait ApiKeyStore: Debug + Send + Sync {
    /// The record with key id `id`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn get(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error>;

    /// Stores a new record.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails or a record with the same id
    /// exists.
    fn insert(&self, record: ApiKeyRecord) -> Result<(), Error>;

    /// Marks the key revoked at `at`. Returns `false` for an unknown id.
    /// Revoking twice keeps the first instant.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke(&self, id: &str, at: OffsetDateTime) -> Result<bool, Error>;

    /// Sets the key's expiry to `expires_at` unless it already expires
    /// earlier, and records its successor. Used by rotation. Returns `false`
    /// for an unknown id.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn retire(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        replaced_by: Option<&str>,
    ) -> Result<bool, Error>;

    /// Rotates a key as one compare-and-set: if key
    /// [`old_id`](KeyRotation::old_id) is live (not revoked, not rotated
    /// already, not expired at [`at`](KeyRotation::at)), inserts the
    /// successor, records it as the old key's `replaced_by` and brings the
    /// old key's expiry to [`old_expires_at`](KeyRotation::old_expires_at)
    /// (unless it expires earlier), all at once; otherwise changes nothing
    /// and says why. Used by
    /// [`ApiKeyIssuer::rotate`](super::ApiKeyIssuer::rotate).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails or a record with the
    /// successor's id exists; nothing is changed then.
    fn rotate(&self, rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error>;

    /// Every record of `owner`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error>;
}

impl<S: ApiKeyStore + ?Sized> ApiKeyStore for Arc<S> {
    fn get(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error> {
        (**self).get(id)
    }
    fn insert(&self, record: ApiKeyRecord) -> Result<(), Error> {
        (**self).insert(record)
    }
    fn revoke(&self, id: &str, at: OffsetDateTime) -> Result<bool, Error> {
        (**self).revoke(id, at)
    }
    fn retire(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        replaced_by: Option<&str>,
    ) -> Result<bool, Error> {
        (**self).retire(id, expires_at, replaced_by)
    }
    fn rotate(&self, rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error> {
        (**self).rotate(rotation)
    }
    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        (**self).list_by_owner(owner)
    }
}

/// A record with this id already exists.
#[derive(Debug, thiserror::Error)]
#[error("an API key record with this id already exists")]
pub struct DuplicateKeyId;

const SHARDS: usize = 32;

type Records = HashMap<Box<str>, Arc<ApiKeyRecord>>;
type Shard = RwLock<Records>;

/// The in-memory [`ApiKeyStore`]: the embedded default.
///
/// Records sit in 32 independently locked shards, each a SipHash map (so
/// attacker-chosen ids cannot degrade lookups), so concurrent verifications
/// rarely touch the same lock and writers block only one shard. Lookups
/// clone an `Arc`, never a record.
#[derive(Debug)]
pub struct InMemoryApiKeyStore {
    shards: Box<[Shard]>,
    by_owner: RwLock<HashMap<String, Vec<Box<str>>>>,
}

impl Default for InMemoryApiKeyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryApiKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            by_owner: RwLock::new(HashMap::new()),
        }
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// `true` when the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard of an id (see [`shard_index`]).
    fn shard(&self, id: &str) -> Option<&Shard> {
        self.shards.get(shard_index(id))
    }

    /// The write lock of shard `index`.
    fn lock(&self, index: usize) -> Result<RwLockWriteGuard<'_, Records>, Error> {
        let shard = self
            .shards
            .get(index)
            .ok_or_else(|| Error::store(MissingShard))?;
        Ok(shard.write().unwrap_or_else(PoisonError::into_inner))
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut ApiKeyRecord)) -> bool {
        let Some(shard) = self.shard(id) else {
            return false;
        };
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(id) {
            Some(rec) => {
                f(Arc::make_mut(rec));
                true
            }
            None => false,
        }
    }
}

impl ApiKeyStore for InMemoryApiKeyStore {
    fn get(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error> {
        Ok(self.shard(id).and_then(|s| {
            s.read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(id)
                .cloned()
        }))
    }

    fn insert(&self, record: ApiKeyRecord) -> Result<(), Error> {
        let shard = self
            .shard(&record.id)
            .ok_or_else(|| Error::store(DuplicateKeyId))?;
        let id: Box<str> = record.id.as_str().into();
        let owner = record.owner.clone();
        match shard
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.clone())
        {
            Entry::Occupied(_) => return Err(Error::store(DuplicateKeyId)),
            Entry::Vacant(v) => {
                v.insert(Arc::new(record));
            }
        }
        self.by_owner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(owner)
            .or_default()
            .push(id);
        Ok(())
    }

    fn revoke(&self, id: &str, at: OffsetDateTime) -> Result<bool, Error> {
        Ok(self.update(id, |r| {
            r.revoked_at.get_or_insert(at);
        }))
    }

    fn retire(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        replaced_by: Option<&str>,
    ) -> Result<bool, Error> {
        Ok(self.update(id, |r| {
            r.expires_at = Some(r.expires_at.map_or(expires_at, |e| e.min(expires_at)));
            if let Some(next) = replaced_by {
                r.replaced_by = Some(next.to_owned());
            }
        }))
    }

    fn rotate(&self, rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error> {
        let old = shard_index(&rotation.old_id);
        let new = shard_index(&rotation.successor.id);
        let outcome = if old == new {
            rotate_in(&mut *self.lock(old)?, None, rotation)?
        } else {
            // Both shards stay locked for the whole compare-and-set, taken
            // in shard order so that two rotations never wait on each other
            // in a cycle.
            let mut first = self.lock(old.min(new))?;
            let mut second = self.lock(old.max(new))?;
            let (old_map, new_map) = if old < new {
                (&mut *first, &mut *second)
            } else {
                (&mut *second, &mut *first)
            };
            rotate_in(old_map, Some(new_map), rotation)?
        };
        if outcome == KeyRotationOutcome::Rotated {
            self.by_owner
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(rotation.successor.owner.clone())
                .or_default()
                .push(rotation.successor.id.as_str().into());
        }
        Ok(outcome)
    }

    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        let ids = self
            .by_owner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(owner)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(rec) = self.get(&id)? {
                out.push(rec);
            }
        }
        Ok(out)
    }
}

/// The shard of an id: Fibonacci hashing of its last 8 bytes (read as a
/// big-endian number, multiplied by 2^64/φ, the top 5 bits kept). Issued ids
/// are uniformly random base62; a byte taken modulo 32 maps those 62
/// symbols onto the shards unevenly and leaves some empty, while the
/// multiply spreads every tail byte over all the top bits, so shards fill
/// evenly. An attacker who picks ids can only crowd one shard's lock,
/// never the SipHash map inside it. One multiply per lookup, not a second
/// SipHash.
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

/// The compare-and-set of [`InMemoryApiKeyStore::rotate`], under the locks
/// of the old key's shard and (when it is another one) the successor's.
fn rotate_in(
    old_map: &mut Records,
    new_map: Option<&mut Records>,
    rotation: &KeyRotation,
) -> Result<KeyRotationOutcome, Error> {
    let Some(old) = old_map.get(rotation.old_id.as_str()) else {
        return Ok(KeyRotationOutcome::Unknown);
    };
    if old.revoked_at.is_some() {
        return Ok(KeyRotationOutcome::Revoked);
    }
    if old.replaced_by.is_some() {
        return Ok(KeyRotationOutcome::AlreadyRotated);
    }
    if let Some(exp) = old.expires_at
        && exp <= rotation.at
    {
        return Ok(KeyRotationOutcome::Expired(exp));
    }
    let successor_id = rotation.successor.id.as_str();
    let taken = match &new_map {
        Some(map) => map.contains_key(successor_id),
        None => old_map.contains_key(successor_id),
    };
    if taken {
        return Err(Error::store(DuplicateKeyId));
    }
    // Every check passed: both changes under the locks.
    let successor = Arc::new(rotation.successor.clone());
    match new_map {
        Some(map) => map.insert(successor_id.into(), successor),
        None => old_map.insert(successor_id.into(), successor),
    };
    if let Some(old) = old_map.get_mut(rotation.old_id.as_str()) {
        let old = Arc::make_mut(old);
        let until = rotation.old_expires_at;
        old.expires_at = Some(old.expires_at.map_or(until, |e| e.min(until)));
        old.replaced_by = Some(rotation.successor.id.clone());
    }
    Ok(KeyRotationOutcome::Rotated)
}

/// A shard index out of range: cannot happen, the index is taken modulo
/// the number of shards.
#[derive(Debug, thiserror::Error)]
#[error("API key store shard out of range")]
struct MissingShard;

#[cfg(test)]
mod tests {
    use super::*;

    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// Records per shard for `ids`, and the ratio of the fullest shard to
    /// the emptiest (infinite when a shard stays empty).
    fn occupancy(ids: impl Iterator<Item = String>) -> f64 {
        let mut counts = [0u32; SHARDS];
        for id in ids {
            counts[shard_index(&id)] += 1;
        }
        let max = *counts.iter().max().unwrap();
        let min = *counts.iter().min().unwrap();
        f64::from(max) / f64::from(min)
    }

    #[test]
    fn shards_fill_evenly_when_only_the_last_two_characters_vary() {
        // 62^2 ids, one per two-character tail.
        let ids = BASE62.iter().flat_map(|a| {
            BASE62
                .iter()
                .map(move |b| format!("BnTItscTDx{}{}", *a as char, *b as char))
        });
        let ratio = occupancy(ids);
        assert!(ratio < 1.25, "max/min shard occupancy {ratio}");
    }

    #[test]
    fn shards_fill_evenly_for_issued_like_ids() {
        // 16 · 62^2 ids of 12 base62 characters from a fixed-seed generator,
        // so the test is deterministic.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let ids = (0..16 * 62 * 62).map(|_| {
            (0..12)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    BASE62[(state % 62) as usize] as char
                })
                .collect::<String>()
        });
        let ratio = occupancy(ids);
        assert!(ratio < 1.25, "max/min shard occupancy {ratio}");
    }

    #[test]
    fn any_id_has_a_shard() {
        for id in ["", "a", "0123456789abcdefghij", "\u{e9}t\u{e9}"] {
            assert!(shard_index(id) < SHARDS);
        }
    }
}
