//! The in-memory refresh token store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use time::OffsetDateTime;

use super::record::RefreshRecord;
use super::store::{DuplicateRefreshId, Expected, RefreshStore, RotateOutcome, RotateRequest};
use crate::error::Error;

/// The in-memory [`RefreshStore`]: one mutex makes `rotate` atomic.
#[derive(Debug, Default)]
pub struct InMemoryRefreshStore {
    records: Mutex<HashMap<String, Arc<RefreshRecord>>>,
    revoked: RwLock<HashMap<String, OffsetDateTime>>,
}

impl InMemoryRefreshStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<RefreshRecord>>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn revoked(&self, family_id: &str) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(family_id)
    }

    /// Drops records of families opened before `started_before` (their
    /// absolute lifetime is over, so they can only be rejected anyway).
    /// Returns how many records were dropped.
    pub fn prune(&self, started_before: OffsetDateTime) -> usize {
        let mut records = self.records();
        let before = records.len();
        records.retain(|_, r| r.family_started_at >= started_before);
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let live: HashSet<&str> = records.values().map(|r| r.family_id.as_str()).collect();
        revoked.retain(|family, _| live.contains(family.as_str()));
        before.saturating_sub(records.len())
    }

    /// The number of records held.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// `true` when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RefreshStore for InMemoryRefreshStore {
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        Ok(self.records().get(id).cloned())
    }

    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        let mut records = self.records();
        if records.contains_key(&record.id) {
            return Err(Error::store(DuplicateRefreshId));
        }
        records.insert(record.id.clone(), Arc::new(record));
        Ok(())
    }

    fn rotate(&self, request: &RotateRequest) -> Result<RotateOutcome, Error> {
        let mut records = self.records();
        // The presented token, in the successor's family.
        let Some(old) = records
            .get(&request.presented)
            .filter(|old| old.family_id == request.successor.family_id)
        else {
            return Ok(RotateOutcome::Unknown);
        };
        if self.revoked(&old.family_id) {
            return Ok(RotateOutcome::FamilyRevoked);
        }
        let superseded = match &request.expected {
            Expected::Unused => {
                if old.used_at.is_some() {
                    return Ok(RotateOutcome::Changed(Arc::clone(old)));
                }
                None
            }
            Expected::Superseding(earlier) => {
                if old.successor.as_deref() != Some(earlier.as_str()) {
                    return Ok(RotateOutcome::Changed(Arc::clone(old)));
                }
                match records.get(earlier) {
                    Some(e) if e.used_at.is_none() => Some(earlier.clone()),
                    _ => return Ok(RotateOutcome::SuccessorUsed),
                }
            }
        };
        if records.contains_key(&request.successor.id) {
            return Err(Error::store(DuplicateRefreshId));
        }
        // Every check passed: apply all three changes under the one lock.
        if let Some(old) = records.get_mut(&request.presented) {
            let old = Arc::make_mut(old);
            old.used_at.get_or_insert(request.at);
            old.successor = Some(request.successor.id.clone());
        }
        if let Some(earlier) = superseded
            && let Some(e) = records.get_mut(&earlier)
        {
            Arc::make_mut(e).used_at = Some(request.at);
        }
        records.insert(
            request.successor.id.clone(),
            Arc::new(request.successor.clone()),
        );
        Ok(RotateOutcome::Rotated)
    }

    fn revoke_family(&self, family_id: &str, at: OffsetDateTime) -> Result<(), Error> {
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(family_id.to_owned())
            .or_insert(at);
        Ok(())
    }

    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error> {
        Ok(self.revoked(family_id))
    }
}
