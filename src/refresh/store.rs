//! The refresh token store contract.

use std::fmt::Debug;
use std::sync::Arc;

use time::OffsetDateTime;

use super::record::RefreshRecord;
use crate::error::Error;

/// The state a rotation expects the presented token to be in.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Never used: the ordinary rotation.
    Unused,
    /// Used once already, within the reuse grace window, and replaced by
    /// the token with this id, which must still be unused: the retry
    /// supersedes that successor (it stops working) with a new one.
    Superseding(String),
}

/// One atomic rotation: what [`RefreshStore::rotate`] must do as a single
/// compare-and-set.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct RotateRequest {
    /// The id of the presented token.
    pub presented: String,
    /// The state the presented token must be in.
    pub expected: Expected,
    /// The record of the new token, to insert.
    pub successor: RefreshRecord,
    /// The instant of the rotation.
    pub at: OffsetDateTime,
}

impl RotateRequest {
    /// A request to rotate `presented` into `successor` at `at`, if
    /// `presented` is in the `expected` state.
    pub fn new(
        presented: impl Into<String>,
        expected: Expected,
        successor: RefreshRecord,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            presented: presented.into(),
            expected,
            successor,
            at,
        }
    }
}

/// What [`RefreshStore::rotate`] found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// Done: the presented token is marked used (its first use instant
    /// kept), its `successor` is the new token, which is stored; when
    /// superseding, the earlier successor is marked used too.
    Rotated,
    /// The presented token is not in the expected state (a racing request
    /// used it since it was read): nothing changed; here is its current
    /// record, to decide again.
    Changed(Arc<RefreshRecord>),
    /// Superseding failed because the earlier successor was already used:
    /// the presented token is being reused. Nothing changed.
    SuccessorUsed,
    /// The presented token's family is revoked. Nothing changed.
    FamilyRevoked,
    /// No such token in the successor's family. Nothing changed.
    Unknown,
}

/// Where refresh token records live.
///
/// `Debug + Send + Sync`, object safe, synchronous and fallible. Unlike the
/// hot-path lookups (keys, revocation, API keys), these calls are *not*
/// served from a replica: [`rotate`](Self::rotate) must be atomic across
/// every server that shares the store (a transaction, or a Lua script on
/// Redis). An application on an async runtime that cannot make blocking
/// calls drives the same logic itself through
/// [`RefreshTokens::begin_refresh`](crate::RefreshTokens::begin_refresh)
/// with its own async client.
///
/// The contract (checked for any implementation by the conformance suite
/// in `tokengate::testing`, feature `testing`):
///
/// - `rotate` is one compare-and-set, linearizable over **every record it
///   reads or writes**: the presented token, the earlier successor it
///   supersedes ([`Expected::Superseding`]) and the new successor's id.
///   Locking only the presented token's row is not enough: a supersede
///   racing a plain rotation of the earlier successor would then leave the
///   family two live tokens. (Keep a family's records together, e.g. one
///   Redis hash tag per family, so one script or transaction covers them.)
///   Of any number of concurrent calls that touch the same record, at most
///   one sees [`RotateOutcome::Rotated`]; every outcome but `Rotated` and
///   every `Err` leave the store unchanged, so a failed rotation leaves the
///   presented token redeemable.
/// - The checks, in this order: the presented token exists (`Unknown`);
///   its family is not revoked (`FamilyRevoked`); it is in the expected
///   state (`Changed`: unused for `Unused`; for `Superseding(s)`, its
///   successor is still `s`); for `Superseding(s)`, `s` is unused
///   (`SuccessorUsed`); the new id is free (`Err`).
/// - `insert` and `rotate` refuse an id that exists with [`Error::Store`].
/// - `revoke_family` is idempotent and keeps the first instant; a revoked
///   family's tokens never rotate again.
/// - An `Err` is a backend failure: the caller rejects the request and
///   reports "our side failed".
pub trait RefreshStore: Debug + Send + Sync {
    /// The record with this id.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error>;

    /// Stores the first record of a new family.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails or the id exists.
    fn insert(&self, record: RefreshRecord) -> Result<(), Error>;

    /// The atomic rotation described by `request` (see the trait docs).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails or the successor's id
    /// exists; nothing is changed then.
    fn rotate(&self, request: &RotateRequest) -> Result<RotateOutcome, Error>;

    /// Revokes a whole family at `at`. Idempotent.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke_family(&self, family_id: &str, at: OffsetDateTime) -> Result<(), Error>;

    /// `true` when the family was revoked.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error>;
}

impl<S: RefreshStore + ?Sized> RefreshStore for Arc<S> {
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        (**self).get(id)
    }
    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        (**self).insert(record)
    }
    fn rotate(&self, request: &RotateRequest) -> Result<RotateOutcome, Error> {
        (**self).rotate(request)
    }
    fn revoke_family(&self, family_id: &str, at: OffsetDateTime) -> Result<(), Error> {
        (**self).revoke_family(family_id, at)
    }
    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error> {
        (**self).is_family_revoked(family_id)
    }
}

/// A record with this id already exists.
#[derive(Debug, thiserror::Error)]
#[error("a refresh token record with this id already exists")]
pub struct DuplicateRefreshId;
