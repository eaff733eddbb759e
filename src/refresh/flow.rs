//! The refresh logic as steps without I/O: the synchronous
//! [`RefreshTokens::refresh`] drives them with its store; an application
//! on an async runtime drives them with its own client.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use super::record::{RefreshRecord, TokenPair};
use super::service::RefreshTokens;
use super::store::{Expected, RotateOutcome, RotateRequest};
use crate::api_key::SecretDigest;
use crate::error::Error;
use crate::scope::ScopeSet;

/// A presented refresh token that passed the format check (prefix, length,
/// alphabet, checksum), with the client that presents it. Made by
/// [`RefreshTokens::begin_refresh`]; holds the secret's digest, never the
/// secret.
#[derive(Debug)]
pub struct RefreshAttempt {
    pub(super) id: String,
    pub(super) digest: SecretDigest,
    pub(super) client_id: Option<String>,
    /// What the request's `scope` asked for, if it had one.
    pub(super) scopes: Option<Asked>,
}

/// A refresh request's `scope`.
#[derive(Debug)]
pub(super) enum Asked {
    /// These scopes only.
    Narrow(ScopeSet),
    /// Not RFC 6749 scope syntax: refused only once the token's state is
    /// known (a used token must still revoke its family).
    Invalid,
}

impl RefreshAttempt {
    /// The public id of the presented token: fetch its record with it.
    pub fn token_id(&self) -> &str {
        &self.id
    }

    /// Asks for an access token with only the space-delimited `scope` of
    /// the request (RFC 6749 §6), each of which the family must hold. The
    /// new refresh token keeps the family's scopes, so a later refresh
    /// can ask for all of them again. A `scope` that is not valid RFC 6749
    /// syntax (an empty or all-space `scope` included: RFC 6749 §3.3
    /// gives a scope at least one token) is refused as
    /// [`Error::InvalidScope`], but only after a reused token has revoked
    /// its family.
    #[must_use]
    pub fn narrow_scopes(mut self, scope: &str) -> Self {
        self.scopes = Some(match ScopeSet::parse(scope) {
            Ok(set) if !set.is_empty() => Asked::Narrow(set),
            _ => Asked::Invalid,
        });
        self
    }
}

/// What to do next for a refresh, decided by
/// [`RefreshTokens::plan_refresh`].
#[must_use]
#[derive(Debug)]
// Made once per refresh and matched at once: boxing the plan would cost an
// allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub enum RefreshStep {
    /// Perform [`RotationPlan::request`] as one atomic compare-and-set in
    /// the store, then hand the outcome to
    /// [`RefreshTokens::finish_refresh`].
    Rotate(RotationPlan),
    /// The token is being reused: revoke its family in the refresh store
    /// and its access tokens in the revocation store as
    /// [`FamilyRevocation`] says, then answer
    /// [`FamilyRevocation::error`].
    RevokeFamily(FamilyRevocation),
}

/// A rotation ready to be committed: the store request, and the new tokens
/// (already signed) that are handed out if it succeeds. Dropping it
/// changes nothing.
pub struct RotationPlan {
    pub(super) request: RotateRequest,
    pub(super) pair: TokenPair,
}

impl RotationPlan {
    /// The compare-and-set to perform with [`RefreshStore::rotate`](super::RefreshStore::rotate)
    /// semantics.
    pub fn request(&self) -> &RotateRequest {
        &self.request
    }

    /// `true` when `presented` (the presented token's record, read again)
    /// already points at this plan's successor: the rotation committed even
    /// though the store's answer was lost. The successor's id is random and
    /// known only to this plan, so no other request can have written it.
    /// After a failed or timed-out `rotate`, read the record again and, if
    /// this is `true`, hand out the plan's tokens with
    /// [`RotationPlan::into_pair`].
    pub fn committed_in(&self, presented: &RefreshRecord) -> bool {
        presented.id == self.request.presented
            && presented.successor.as_deref() == Some(self.request.successor.id.as_str())
    }

    /// The tokens of a plan whose commit was confirmed by
    /// [`RotationPlan::committed_in`].
    pub fn into_pair(self) -> TokenPair {
        self.pair
    }
}

impl fmt::Debug for RotationPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationPlan")
            .field("request", &self.request)
            .field("pair", &self.pair)
            .finish()
    }
}

/// A family to revoke: its refresh tokens in the refresh store
/// (`revoke_family(family_id, at)`) and its access tokens in the
/// revocation store (`revoke_session(family_id, sessions_until)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRevocation {
    pub(super) family_id: String,
    pub(super) at: OffsetDateTime,
    pub(super) sessions_until: OffsetDateTime,
}

impl FamilyRevocation {
    /// The family (and `sid`) to revoke.
    pub fn family_id(&self) -> &str {
        &self.family_id
    }

    /// The instant of the revocation.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// Until when the family's access tokens can be alive: the `until` of
    /// the session revocation.
    pub fn sessions_until(&self) -> OffsetDateTime {
        self.sessions_until
    }

    /// The error to answer once the family is revoked:
    /// [`Error::RefreshTokenReused`].
    pub fn error(&self) -> Error {
        Error::RefreshTokenReused
    }
}

/// What [`RefreshTokens::finish_refresh`] returns.
#[must_use]
#[derive(Debug)]
pub enum Finished {
    /// The rotation is committed: hand these tokens to the client.
    Issued(TokenPair),
    /// The token changed under the plan (a racing request used it): plan
    /// again with this current record.
    Retry(Arc<RefreshRecord>),
    /// The grace window's retry found the earlier successor already used:
    /// the token is being reused. Revoke the family as with
    /// [`RefreshStep::RevokeFamily`].
    Reused(FamilyRevocation),
}

/// A login ready to be stored: insert [`LoginPlan::record`] with
/// [`RefreshStore::insert`](super::RefreshStore::insert), then hand out
/// the pair.
pub struct LoginPlan {
    pub(super) record: RefreshRecord,
    pub(super) pair: TokenPair,
}

impl LoginPlan {
    /// The record to insert.
    pub fn record(&self) -> &RefreshRecord {
        &self.record
    }

    /// The record to insert and the tokens to hand out once it is stored.
    pub fn into_parts(self) -> (RefreshRecord, TokenPair) {
        (self.record, self.pair)
    }
}

impl fmt::Debug for LoginPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginPlan")
            .field("record", &self.record)
            .field("pair", &self.pair)
            .finish()
    }
}

/// Rounds of plan → rotate before a refresh gives up. Each `Changed`
/// outcome means another request used or superseded the token in between;
/// several retries racing within the grace window can each supersede the
/// last, so a loser may need a few rounds. Giving up burns nothing: the
/// caller gets a store error and may retry.
pub(super) const MAX_ROUNDS: usize = 8;

/// Racing requests kept changing the token.
#[derive(Debug, thiserror::Error)]
#[error("the refresh token kept changing under concurrent requests")]
pub(super) struct RotationContention;

impl RefreshTokens {
    /// Step 1 of a refresh without I/O: checks the presented token's
    /// format and remembers the presenting client. Fetch the record of
    /// [`RefreshAttempt::token_id`] next.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for anything that is not a token of this
    /// service's format (no store is consulted).
    pub fn begin_refresh(
        &self,
        presented: &str,
        client_id: Option<&str>,
    ) -> Result<RefreshAttempt, Error> {
        let parsed = self.format.parse(presented)?;
        Ok(RefreshAttempt {
            id: parsed.id.to_owned(),
            digest: parsed.digest(),
            client_id: client_id.map(str::to_owned),
            scopes: None,
        })
    }

    /// Step 2: decides what to do with the presented token given its
    /// `record` (`None` when the store has none). Signs the new access
    /// token and draws the new refresh token before anything is written,
    /// so a failure here leaves the presented token untouched.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownCredential`], [`Error::InvalidSecret`] (compared in
    /// constant time), [`Error::WrongClient`] for another client's token,
    /// [`Error::Expired`] past the idle timeout or the family's absolute
    /// lifetime, [`Error::InsufficientScope`] when
    /// [`RefreshAttempt::narrow_scopes`] asked for scopes the family does
    /// not hold ([`Error::InvalidScope`] for a scope that is not one),
    /// [`Error::SigningFailed`], [`Error::RandomnessFailed`].
    pub fn plan_refresh(
        &self,
        attempt: &RefreshAttempt,
        record: Option<Arc<RefreshRecord>>,
    ) -> Result<RefreshStep, Error> {
        let record = record.ok_or(Error::UnknownCredential)?;
        if record.id != attempt.id || !record.secret_digest.matches(&attempt.digest) {
            return Err(Error::InvalidSecret);
        }
        if record.client_id != attempt.client_id {
            return Err(Error::WrongClient);
        }
        let now = self.clock.now();
        let expected = match (&record.used_at, &record.successor) {
            (None, _) => Expected::Unused,
            (Some(used), Some(successor)) if now < used.saturating_add(self.grace) => {
                Expected::Superseding(successor.clone())
            }
            (Some(_), _) => {
                return Ok(RefreshStep::RevokeFamily(
                    self.family_revocation_at(&record.family_id, now),
                ));
            }
        };
        let exp = self.expires_at(&record);
        if now >= exp {
            return Err(Error::Expired {
                exp: exp.unix_timestamp(),
                now: now.unix_timestamp(),
            });
        }
        // A scope the family lacks: refused for an unused token, with
        // nothing changed. A used token (within the grace window, here)
        // that asks for one is no retry of a lost response, which asked
        // for scopes that were granted: it is reuse.
        let refusal = match &attempt.scopes {
            Some(Asked::Invalid) => Some(Error::InvalidScope),
            Some(Asked::Narrow(asked)) if !record.scopes.contains_all(asked) => {
                Some(Error::InsufficientScope {
                    missing: asked.not_in(&record.scopes),
                })
            }
            _ => None,
        };
        if let Some(refusal) = refusal {
            return match expected {
                Expected::Unused => Err(refusal),
                Expected::Superseding(_) => Ok(RefreshStep::RevokeFamily(
                    self.family_revocation_at(&record.family_id, now),
                )),
            };
        }
        let mut next = (*record).clone();
        next.parent = Some(record.id.clone());
        next.issued_at = now;
        next.used_at = None;
        next.successor = None;
        let narrowed = match &attempt.scopes {
            Some(Asked::Narrow(scopes)) => Some(scopes),
            _ => None,
        };
        let (successor, pair) = self.issue(next, narrowed)?;
        Ok(RefreshStep::Rotate(RotationPlan {
            request: RotateRequest::new(record.id.clone(), expected, successor, now),
            pair,
        }))
    }

    /// Step 3: turns the store's answer to [`RotationPlan::request`] into
    /// the tokens to hand out, or into another round.
    ///
    /// # Errors
    ///
    /// [`Error::Revoked`] for a revoked family, [`Error::UnknownCredential`] for a
    /// token that disappeared.
    pub fn finish_refresh(
        &self,
        plan: RotationPlan,
        outcome: RotateOutcome,
    ) -> Result<Finished, Error> {
        match outcome {
            RotateOutcome::Rotated => Ok(Finished::Issued(plan.pair)),
            RotateOutcome::Changed(current) => Ok(Finished::Retry(current)),
            RotateOutcome::SuccessorUsed => Ok(Finished::Reused(
                self.family_revocation_at(&plan.request.successor.family_id, plan.request.at),
            )),
            RotateOutcome::FamilyRevoked => Err(Error::Revoked),
            RotateOutcome::Unknown => Err(Error::UnknownCredential),
        }
    }

    /// Step 1 of a login without I/O: the first record of a new family and
    /// its tokens.
    ///
    /// # Errors
    ///
    /// [`Error::RandomnessFailed`] if the system random generator fails,
    /// [`Error::SigningFailed`] if signing fails;
    /// [`Error::InvalidConfiguration`] when the grant's claims repeat a
    /// registered claim.
    pub fn prepare_login(&self, grant: super::Grant) -> Result<LoginPlan, Error> {
        let now = self.clock.now();
        let mut family = [0u8; 16];
        crate::crypto::rand::SecureRandom::fill(&self.rng, &mut family)
            .map_err(|_| Error::RandomnessFailed)?;
        let record = RefreshRecord {
            id: String::new(),
            secret_digest: SecretDigest::from_bytes([0; 32]),
            family_id: crate::encoding::b64_encode(family),
            parent: None,
            subject: grant.subject,
            client_id: grant.client_id,
            scopes: grant.scopes,
            claims: grant.claims,
            issued_at: now,
            family_started_at: now,
            used_at: None,
            successor: None,
        };
        let (record, pair) = self.issue(record, None)?;
        Ok(LoginPlan { record, pair })
    }

    /// What revoking `family_id` now takes, for an application that
    /// performs the writes itself.
    pub fn family_revocation(&self, family_id: &str) -> FamilyRevocation {
        self.family_revocation_at(family_id, self.clock.now())
    }

    fn family_revocation_at(&self, family_id: &str, at: OffsetDateTime) -> FamilyRevocation {
        FamilyRevocation {
            family_id: family_id.to_owned(),
            at,
            // Access tokens of the family live at most this long; the
            // revocation store keeps the entry a margin longer for
            // validators' leeway.
            sessions_until: at.saturating_add(self.access_lifetime),
        }
    }
}
