//! Taking tokens back before they expire.
//!
//! Two sides, two traits:
//!
//! - [`Revocation`] is the read side, consulted by the
//!   [`Validator`](crate::Validator) on every request after the signature
//!   and claims are verified (forged tokens never cost a lookup). It is
//!   synchronous and must answer from memory.
//! - [`RevocationStore`] is the write side: revoke a token, every token of a
//!   subject issued up to an instant ("log out everywhere",
//!   [`RevocationStore::revoke_subject_issued_through`]), every token of a signing key, every
//!   token of a session; plus a change feed ([`RevocationStore::changes_since`],
//!   [`RevocationStore::snapshot`]) from which replicas catch up. The
//!   services that revoke ([`RefreshTokens`](crate::RefreshTokens) on reuse
//!   and logout, [`Introspector::revoke`](crate::Introspector::revoke),
//!   [`KeyRing::revoke_compromised`](crate::KeyRing::revoke_compromised))
//!   take an `Arc<dyn RevocationStore>`, so a store shared by a fleet of
//!   servers plugs in without touching them.
//!
//! [`RevocationList`] is the in-memory implementation of both, the embedded
//! default for one process. [`RevocationReplica`] is the read side of a
//! fleet: a local [`RevocationList`] kept current from any
//! [`RevocationStore`]'s change feed, with a staleness bound and an explicit
//! policy past it.
//!
//! # The store contract
//!
//! | call | must |
//! |---|---|
//! | `is_revoked` | answer from memory (a replica), never wait on a network |
//! | `revoke_*` | be durable in the shared store when it returns `Ok`, idempotent, never un-revoke (a later call with an earlier instant keeps the later one) |
//! | `changes_since` | return every change after the cursor, oldest first, or [`ChangeFeed::Resync`] when it no longer can |
//! | `snapshot` | return every live revocation and the cursor to resume from |
//!
//! A store that keeps no feed (a [`RevocationList`] built without
//! [`with_change_feed`](RevocationList::with_change_feed)) answers `Resync`
//! and fails `snapshot`: it serves one process and cannot be replicated.
//!
//! An `Err` from any call fails closed: a read rejects the token, a write
//! is reported to the caller (who must not report the revocation as done).

mod list;
mod replica;

use std::fmt;
use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Error;

pub use list::{DEFAULT_RETENTION_MARGIN, RevocationList};
pub use replica::{RevocationReplica, StalePolicy, SyncReport};

/// What the validator tells a [`Revocation`] about a verified token.
///
/// Non-exhaustive so fields can be added; implementations read the fields,
/// only the crate builds queries. Times are the token's own NumericDate
/// claims, in seconds since the Unix epoch, as on the wire.
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

/// Decides whether a verified token has been revoked: the read side.
///
/// `Debug + Send + Sync`, object safe and synchronous: it runs on every
/// request, so answer from memory (a fleet keeps a local replica fed by a
/// shared store's change feed, see [`RevocationReplica`]). An `Err` rejects
/// the token: failures close.
pub trait Revocation: Debug + Send + Sync {
    /// `true` when the token described by `query` is revoked.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when a backend fails or a replica is too stale.
    fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, Error>;

    /// How long past a token's `exp` this store still remembers a
    /// revocation of it (its retention margin), or `None` when it never
    /// forgets one by itself (the default).
    ///
    /// A validator accepts a token until `exp` plus its leeway, so an entry
    /// dropped earlier would let a revoked token through again:
    /// [`ValidatorBuilder::build`](crate::ValidatorBuilder::build) refuses
    /// a leeway larger than this. A store that prunes must report it.
    fn retention_margin(&self) -> Option<time::Duration> {
        None
    }
}

impl<R: Revocation + ?Sized> Revocation for std::sync::Arc<R> {
    fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, Error> {
        (**self).is_revoked(query)
    }
    fn retention_margin(&self) -> Option<time::Duration> {
        (**self).retention_margin()
    }
}

/// One revocation as it is written to a store and replayed by replicas.
///
/// Serializes as a tagged JSON object with instants in Unix seconds, for
/// stores that keep a change log (`{"type":"token","jti":"…","expires_at":…}`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RevocationChange {
    /// The token with this `jti`, until its `exp`.
    Token {
        /// The token's `jti`.
        jti: String,
        /// The token's own `exp`: the entry is needed until then (plus the
        /// store's retention margin).
        #[serde(with = "time::serde::timestamp")]
        expires_at: OffsetDateTime,
    },
    /// Every token of `subject` issued before `before`.
    SubjectBefore {
        /// The `sub`.
        subject: String,
        /// Tokens whose `iat` is earlier are revoked.
        #[serde(with = "time::serde::timestamp")]
        before: OffsetDateTime,
    },
    /// Every token signed by the key with this `kid`.
    Key {
        /// The key id.
        kid: String,
    },
    /// Every token carrying `sid` = `sid`, until `until`.
    Session {
        /// The session (refresh token family) id.
        sid: String,
        /// The latest `exp` a token of the session can have.
        #[serde(with = "time::serde::timestamp")]
        until: OffsetDateTime,
    },
}

/// A position in a store's change feed. Opaque: each store defines its
/// own text (a sequence number, a Redis stream id...). The
/// [`ChangeCursor::start`] cursor stands before every change.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeCursor(String);

impl ChangeCursor {
    /// The cursor before the first change.
    pub fn start() -> Self {
        Self(String::new())
    }

    /// A cursor a store made, read back from where it was kept.
    pub fn new(position: impl Into<String>) -> Self {
        Self(position.into())
    }

    /// `true` for [`ChangeCursor::start`].
    pub fn is_start(&self) -> bool {
        self.0.is_empty()
    }

    /// The store's text for this position.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Debug for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChangeCursor({:?})", self.0)
    }
}

/// What [`RevocationStore::changes_since`] answers.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeFeed {
    /// The changes after the given cursor, oldest first (empty when the
    /// caller is up to date), and the cursor to resume from: the cursor of
    /// the last change returned, or the given one when there is none.
    Changes {
        /// The changes, oldest first, at most the requested limit.
        changes: Vec<RevocationChange>,
        /// Where to continue.
        cursor: ChangeCursor,
    },
    /// The store no longer holds every change after the cursor (its log
    /// was trimmed past it, or the cursor is not one of its own): load a
    /// [`RevocationStore::snapshot`].
    Resync,
}

/// Every live revocation of a store and the cursor to follow its feed
/// from. Changes that happen while a snapshot is taken are either in it or
/// after its cursor (possibly both: applying a change twice is harmless).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The live revocations.
    pub changes: Vec<RevocationChange>,
    /// Follow the feed from here.
    pub cursor: ChangeCursor,
}

/// The write side of revocation, and its change feed.
///
/// `Debug + Send + Sync`, object safe, synchronous. Implementations are
/// also [`Revocation`]s, so one object can be handed to both the services
/// that revoke and, in one process, to the validator. In a fleet the shared
/// store takes the writes and each server validates against a
/// [`RevocationReplica`] of it.
///
/// Every write is idempotent and monotone: revoking again with an earlier
/// instant keeps the later one; nothing un-revokes. Instants are
/// [`OffsetDateTime`]s, kept to the second (tokens carry whole seconds); a
/// "revoked before" instant with a fraction rounds up, so a token issued
/// in the same second as a logout is revoked. The conformance suite in `tokengate::testing`
/// (feature `testing`) checks these rules for any implementation.
pub trait RevocationStore: Revocation {
    /// Revokes the token with this `jti`. `expires_at` is the token's own
    /// `exp`: the store may forget the entry once that (plus its retention
    /// margin) has passed, when every validator rejects the token anyway.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails; the token is then not
    /// known to be revoked.
    fn revoke_token(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), Error>;

    /// Revokes every token of `subject` issued before `before`: an `iat`
    /// strictly earlier (a fractional `before` rounds up). A token of that
    /// subject without `iat` is treated as revoked. For "log out
    /// everywhere" at now, use
    /// [`revoke_subject_issued_through`](Self::revoke_subject_issued_through):
    /// with a whole-second `before` such as a [`Clock`](crate::Clock)'s
    /// now, this call leaves tokens issued earlier in that same second
    /// valid.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke_subject_before(&self, subject: &str, before: OffsetDateTime) -> Result<(), Error>;

    /// Revokes every token of `subject` issued up to `at`, the whole second
    /// of `at` included: "log out everywhere", a password change. Tokens
    /// carry `iat` in whole seconds, so a token issued in the same second
    /// as the logout, before or after it, cannot be told apart and is
    /// revoked; tokens from the next second on pass. The same as
    /// `revoke_subject_before(subject, ⌊at⌋ + 1 s)`, and recorded as that
    /// change.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke_subject_issued_through(
        &self,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        self.revoke_subject_before(subject, instant(at.unix_timestamp().saturating_add(1)))
    }

    /// Revokes every token signed by the key with this id (a compromised
    /// key). Permanent: whoever holds the key can mint tokens with any
    /// `iat` and `exp`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke_key(&self, kid: &str) -> Result<(), Error>;

    /// Revokes every token carrying `sid` = `sid`, remembering it until
    /// `until` (the latest `exp` such a token can have).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke_session(&self, sid: &str, until: OffsetDateTime) -> Result<(), Error>;

    /// At most `limit` changes after `cursor`, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn changes_since(&self, cursor: &ChangeCursor, limit: usize) -> Result<ChangeFeed, Error>;

    /// Every live revocation, and the cursor to follow the feed from.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn snapshot(&self) -> Result<Snapshot, Error>;

    /// Applies one change through the matching `revoke_*` call (what a
    /// replica does with the feed).
    ///
    /// # Errors
    ///
    /// As the `revoke_*` call.
    fn apply(&self, change: &RevocationChange) -> Result<(), Error> {
        match change {
            RevocationChange::Token { jti, expires_at } => self.revoke_token(jti, *expires_at),
            RevocationChange::SubjectBefore { subject, before } => {
                self.revoke_subject_before(subject, *before)
            }
            RevocationChange::Key { kid } => self.revoke_key(kid),
            RevocationChange::Session { sid, until } => self.revoke_session(sid, *until),
        }
    }
}

impl<S: RevocationStore + ?Sized> RevocationStore for std::sync::Arc<S> {
    fn revoke_token(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), Error> {
        (**self).revoke_token(jti, expires_at)
    }
    fn revoke_subject_before(&self, subject: &str, before: OffsetDateTime) -> Result<(), Error> {
        (**self).revoke_subject_before(subject, before)
    }
    fn revoke_subject_issued_through(
        &self,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        (**self).revoke_subject_issued_through(subject, at)
    }
    fn revoke_key(&self, kid: &str) -> Result<(), Error> {
        (**self).revoke_key(kid)
    }
    fn revoke_session(&self, sid: &str, until: OffsetDateTime) -> Result<(), Error> {
        (**self).revoke_session(sid, until)
    }
    fn changes_since(&self, cursor: &ChangeCursor, limit: usize) -> Result<ChangeFeed, Error> {
        (**self).changes_since(cursor, limit)
    }
    fn snapshot(&self) -> Result<Snapshot, Error> {
        (**self).snapshot()
    }
    fn apply(&self, change: &RevocationChange) -> Result<(), Error> {
        (**self).apply(change)
    }
}

pub(crate) use list::instant;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_serialize_as_tagged_objects_with_unix_seconds() {
        let c = RevocationChange::Token {
            jti: "j1".into(),
            expires_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"type":"token","jti":"j1","expires_at":1700000000}"#
        );
        assert_eq!(serde_json::from_str::<RevocationChange>(&json).unwrap(), c);
        let k = serde_json::to_string(&RevocationChange::Key { kid: "k".into() }).unwrap();
        assert_eq!(k, r#"{"type":"key","kid":"k"}"#);
        assert!(serde_json::from_str::<RevocationChange>(r#"{"type":"nope"}"#).is_err());
        assert!(
            serde_json::from_str::<RevocationChange>(r#"{"type":"key","kid":"k","x":1}"#).is_err()
        );
    }

    #[test]
    fn cursor_start_and_debug() {
        assert!(ChangeCursor::start().is_start());
        assert!(!ChangeCursor::new("5").is_start());
        assert_eq!(
            format!("{:?}", ChangeCursor::new("5")),
            "ChangeCursor(\"5\")"
        );
    }
}
