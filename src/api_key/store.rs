use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Debug;
use std::sync::{Arc, PoisonError, RwLock};

use time::OffsetDateTime;

use super::record::ApiKeyRecord;
use crate::error::Error;

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
    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        (**self).list_by_owner(owner)
    }
}

/// A record with this id already exists.
#[derive(Debug, thiserror::Error)]
#[error("an API key record with this id already exists")]
pub struct DuplicateKeyId;

const SHARDS: usize = 32;

type Shard = RwLock<HashMap<Box<str>, Arc<ApiKeyRecord>>>;

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

    /// The shard of an id: its last byte. Issued ids are uniformly random
    /// base62, so shards fill evenly; an attacker who picks ids can only
    /// crowd one shard's lock, never the SipHash map inside it. One hash
    /// per lookup instead of two.
    fn shard(&self, id: &str) -> Option<&Shard> {
        let last = id.as_bytes().last().copied().unwrap_or(0);
        self.shards.get(usize::from(last) % SHARDS)
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
