//! Backends that are down, to check that their failures fail closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::api_key::{ApiKeyRecord, ApiKeyStore, KeyRotation, KeyRotationOutcome};
use crate::error::Error;
use crate::revocation::{Revocation, RevocationQuery};

/// The error every call to a failing backend returns.
fn down() -> Error {
    Error::store(std::io::Error::other("backend unavailable"))
}

/// An [`ApiKeyStore`] whose backend is down: every call fails with
/// [`Error::Store`].
///
/// It counts `get` calls, so a test can tell which presented keys reached
/// the store and which were refused before any lookup.
#[derive(Debug, Default)]
pub struct FailingApiKeyStore {
    gets: AtomicUsize,
}

impl FailingApiKeyStore {
    /// A store that has not been asked anything yet.
    pub const fn new() -> Self {
        Self {
            gets: AtomicUsize::new(0),
        }
    }

    /// How many times [`ApiKeyStore::get`] has been called.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }
}

impl ApiKeyStore for FailingApiKeyStore {
    fn get(&self, _id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        Err(down())
    }

    fn insert(&self, _record: ApiKeyRecord) -> Result<(), Error> {
        Err(down())
    }

    fn revoke(&self, _id: &str, _at: time::OffsetDateTime) -> Result<bool, Error> {
        Err(down())
    }

    fn retire(
        &self,
        _id: &str,
        _expires_at: time::OffsetDateTime,
        _replaced_by: Option<&str>,
    ) -> Result<bool, Error> {
        Err(down())
    }

    fn rotate(&self, _rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error> {
        Err(down())
    }

    fn list_by_owner(&self, _owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        Err(down())
    }
}

/// A [`Revocation`] backend that is down: every query fails with
/// [`Error::Store`].
#[derive(Debug, Default, Clone, Copy)]
pub struct FailingRevocation;

impl Revocation for FailingRevocation {
    fn is_revoked(&self, _query: &RevocationQuery<'_>) -> Result<bool, Error> {
        Err(down())
    }
}
