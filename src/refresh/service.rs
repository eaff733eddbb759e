//! The refresh token service: login, rotation, logout, inspection.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::flow::{Finished, MAX_ROUNDS, RefreshStep, RotationContention};
use super::record::{Grant, RefreshRecord, RefreshToken, TokenPair};
use super::store::RefreshStore;
use super::{
    DEFAULT_ABSOLUTE_LIFETIME, DEFAULT_ACCESS_LIFETIME, DEFAULT_IDLE_TIMEOUT, DEFAULT_REUSE_GRACE,
    FamilyRevocation,
};
use crate::api_key::ApiKeyFormat;
use crate::clock::{Clock, SystemClock};
use crate::crypto::rand::SystemRandom;
use crate::error::Error;
use crate::jwt::{TokenBuilder, ValidatorBuilder};
use crate::keys::KeyRing;
use crate::revocation::{Revocation, RevocationStore};
use crate::scope::ScopeSet;

/// Logs in, rotates refresh tokens and revokes families.
///
/// Built with [`RefreshTokens::builder`]. See the [module docs](super) for
/// the rotation rules, the reuse grace window and the async flow.
///
/// # Defaults
///
/// | setting | default |
/// |---|---|
/// | absolute lifetime of a family | 30 days |
/// | idle timeout of a refresh token | 7 days |
/// | access token lifetime | 15 minutes |
/// | reuse grace window | 5 seconds |
/// | token prefix | `rt` |
/// | revocation of access tokens | required choice: [`RefreshTokensBuilder::revocation`] or [`RefreshTokensBuilder::without_access_token_revocation`] |
#[derive(Debug, Clone)]
pub struct RefreshTokens {
    pub(super) format: ApiKeyFormat,
    store: Arc<dyn RefreshStore>,
    keys: Arc<KeyRing>,
    access: TokenBuilder,
    revocation: Option<Arc<dyn RevocationStore>>,
    absolute: Duration,
    idle: Duration,
    pub(super) grace: Duration,
    pub(super) access_lifetime: Duration,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) rng: SystemRandom,
}

/// Builds [`RefreshTokens`]; see its `# Defaults`.
#[derive(Debug)]
#[must_use]
pub struct RefreshTokensBuilder {
    store: Arc<dyn RefreshStore>,
    keys: Arc<KeyRing>,
    access: TokenBuilder,
    revocation: Option<Arc<dyn RevocationStore>>,
    revocation_decided: bool,
    absolute: Duration,
    idle: Duration,
    grace: Duration,
    access_lifetime: Duration,
    clock: Arc<dyn Clock>,
    prefix: String,
}

impl RefreshTokens {
    /// Refresh tokens kept in `store`, with access tokens made from the
    /// `access` template (issuer, audience, `typ`...) and signed by the
    /// current key of `keys`.
    pub fn builder(
        store: Arc<dyn RefreshStore>,
        keys: Arc<KeyRing>,
        access: TokenBuilder,
    ) -> RefreshTokensBuilder {
        RefreshTokensBuilder {
            store,
            keys,
            access,
            revocation: None,
            revocation_decided: false,
            absolute: DEFAULT_ABSOLUTE_LIFETIME,
            idle: DEFAULT_IDLE_TIMEOUT,
            grace: DEFAULT_REUSE_GRACE,
            access_lifetime: DEFAULT_ACCESS_LIFETIME,
            clock: Arc::new(SystemClock),
            prefix: String::from("rt"),
        }
    }

    /// The format of the refresh tokens, for routing and scanners.
    pub fn format(&self) -> &ApiKeyFormat {
        &self.format
    }

    /// A validator builder for this service's access tokens, already wired
    /// to its key ring, its revocation store and its clock: the one place
    /// revocation is connected. Add the issuer, audience and token type
    /// policies and build.
    pub fn validator_builder(&self) -> ValidatorBuilder {
        let mut b =
            crate::jwt::Validator::builder(Arc::clone(&self.keys)).clock(Arc::clone(&self.clock));
        if let Some(r) = &self.revocation {
            let read: Arc<dyn Revocation> = Arc::clone(r) as Arc<dyn Revocation>;
            b = b.revocation(read);
        }
        b
    }

    /// Opens a family for `grant`: the first refresh token and access
    /// token.
    ///
    /// # Errors
    ///
    /// As [`RefreshTokens::prepare_login`]; the store's errors.
    pub fn login(&self, grant: Grant) -> Result<TokenPair, Error> {
        let (record, pair) = self.prepare_login(grant)?.into_parts();
        self.store.insert(record)?;
        Ok(pair)
    }

    /// Draws a new refresh token for `template` (whose id and digest are
    /// replaced) and mints its access token, with `scopes` instead of the
    /// family's when given. Writes nothing.
    pub(super) fn issue(
        &self,
        mut template: RefreshRecord,
        scopes: Option<&ScopeSet>,
    ) -> Result<(RefreshRecord, TokenPair), Error> {
        let (id, token, digest) = self.format.generate(&self.rng)?;
        template.secret_digest = digest;
        template.id.clone_from(&id);
        let access_token = self.mint_access(&template, scopes.unwrap_or(&template.scopes))?;
        let pair = TokenPair {
            access_token,
            refresh_token: RefreshToken { token, id },
            family_id: template.family_id.clone(),
            expires_in: self.access_lifetime.whole_seconds(),
        };
        Ok((template, pair))
    }

    fn mint_access(&self, r: &RefreshRecord, scopes: &ScopeSet) -> Result<String, Error> {
        // Nothing of the template's grant claims or fixed jti reaches the
        // family's tokens: each gets this family's values and its own jti.
        let mut b = self
            .access
            .clone()
            .without_grant_claims()
            .random_jwt_id()
            .subject(r.subject.clone())
            .session_id(r.family_id.clone())
            .lifetime(self.access_lifetime);
        if !scopes.is_empty() {
            b = b.scope(scopes.to_string());
        }
        if let Some(c) = &r.client_id {
            b = b.client_id(c.clone());
        }
        let key = self.keys.current();
        if r.claims.is_empty() {
            b.sign(&key)
        } else {
            b.custom(&r.claims).sign(&key)
        }
    }

    /// Uses a refresh token presented by `client_id` (the authenticated
    /// OAuth client, `None` for a family issued without one): returns a new
    /// refresh token and access token and invalidates the one presented.
    ///
    /// The store's rotation is one atomic compare-and-set, prepared before
    /// anything is written: a failure (signing, the store) leaves the
    /// presented token redeemable, and a retry succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`], [`Error::UnknownCredential`], [`Error::InvalidSecret`];
    /// [`Error::WrongClient`] for another client's token (nothing changes);
    /// [`Error::Revoked`] for a revoked family;
    /// [`Error::RefreshTokenReused`] for a token used before, outside the
    /// grace window (the family is revoked before this returns);
    /// [`Error::Expired`] past the idle timeout or the family's absolute
    /// lifetime; the stores' errors.
    pub fn refresh(&self, presented: &str, client_id: Option<&str>) -> Result<TokenPair, Error> {
        self.refresh_with_scope(presented, client_id, None)
    }

    /// As [`RefreshTokens::refresh`], the new access token carrying only
    /// the space-delimited `scope` when given (RFC 6749 §6: the `scope`
    /// parameter of a refresh request, each of which the family must
    /// hold). The new refresh token keeps the family's scopes.
    ///
    /// # Errors
    ///
    /// As [`RefreshTokens::refresh`], and, for an unused token,
    /// [`Error::InsufficientScope`] (naming what the family lacks) when
    /// `scope` asks for more than the family holds, or
    /// [`Error::InvalidScope`] when it is not RFC 6749 scope syntax:
    /// nothing changes, the presented token stays redeemable. A reused
    /// token revokes its family whatever it asks, and so does a used one
    /// inside the grace window that asks for more than the family holds
    /// (a retry of a lost response asks for what was granted).
    pub fn refresh_with_scope(
        &self,
        presented: &str,
        client_id: Option<&str>,
        scope: Option<&str>,
    ) -> Result<TokenPair, Error> {
        let mut attempt = self.begin_refresh(presented, client_id)?;
        if let Some(scope) = scope {
            attempt = attempt.narrow_scopes(scope);
        }
        let mut record = self.store.get(attempt.token_id())?;
        for _ in 0..MAX_ROUNDS {
            let reuse = match self.plan_refresh(&attempt, record)? {
                RefreshStep::Rotate(plan) => {
                    let outcome = match self.store.rotate(plan.request()) {
                        Ok(outcome) => outcome,
                        Err(e) => {
                            // The store may have committed before its
                            // answer was lost: only this plan knows the
                            // successor's random id, so finding it on the
                            // presented record proves the commit.
                            return match self.store.get(attempt.token_id()) {
                                Ok(Some(now)) if plan.committed_in(&now) => Ok(plan.pair),
                                _ => Err(e),
                            };
                        }
                    };
                    match self.finish_refresh(plan, outcome)? {
                        Finished::Issued(pair) => return Ok(pair),
                        Finished::Retry(current) => {
                            record = Some(current);
                            continue;
                        }
                        Finished::Reused(revocation) => revocation,
                    }
                }
                RefreshStep::RevokeFamily(revocation) => {
                    // A family revoked already (by logout, or an earlier
                    // reuse) answers as revoked; its access tokens were
                    // revoked first (see `apply`).
                    if self.store.is_family_revoked(revocation.family_id())? {
                        return Err(Error::Revoked);
                    }
                    revocation
                }
            };
            self.apply(&reuse)?;
            return Err(reuse.error());
        }
        Err(Error::store(RotationContention))
    }

    /// Performs a [`FamilyRevocation`]: the access tokens in the
    /// revocation store first, then the family in the refresh store. In
    /// that order a family the refresh store reports revoked always has its
    /// access tokens revoked too, so the paths that stop at "already
    /// revoked" (a later reuse, a repeated logout) never leave them valid
    /// after a failure between the two writes.
    fn apply(&self, r: &FamilyRevocation) -> Result<(), Error> {
        if let Some(list) = &self.revocation {
            list.revoke_session(&r.family_id, r.sessions_until)?;
        }
        self.store.revoke_family(&r.family_id, r.at)
    }

    /// Checks a presented token's format, record, secret and family, for
    /// logout and introspection.
    fn check(&self, presented: &str) -> Result<Arc<RefreshRecord>, Error> {
        let parsed = self.format.parse(presented)?;
        let digest = parsed.digest();
        let record = self.store.get(parsed.id)?.ok_or(Error::UnknownCredential)?;
        if !record.secret_digest.matches(&digest) {
            return Err(Error::InvalidSecret);
        }
        if self.store.is_family_revoked(&record.family_id)? {
            return Err(Error::Revoked);
        }
        Ok(record)
    }

    /// Logs out: revokes the family of a presented refresh token and its
    /// access tokens. RFC 7009 semantics: an unknown, malformed or already
    /// revoked token is not an error, but another client's token is
    /// refused (§2.1).
    ///
    /// # Errors
    ///
    /// [`Error::WrongClient`] when the token belongs to another client;
    /// the stores' errors.
    pub fn revoke(&self, presented: &str, client_id: Option<&str>) -> Result<(), Error> {
        match self.check(presented) {
            Ok(record) if record.client_id.as_deref() != client_id => Err(Error::WrongClient),
            Ok(record) => self.apply(&self.family_revocation(&record.family_id)),
            Err(e) if e.is_internal() => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// Revokes a family by id (for example from an admin console).
    ///
    /// # Errors
    ///
    /// The stores' errors.
    pub fn revoke_session(&self, family_id: &str) -> Result<(), Error> {
        self.apply(&self.family_revocation(family_id))
    }

    /// The record of a presented, valid, unused refresh token (for
    /// introspection); `None` for anything else.
    ///
    /// # Errors
    ///
    /// Only the store's errors.
    pub fn inspect(&self, presented: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        match self.check(presented) {
            Ok(r) => {
                let live = r.used_at.is_none() && self.clock.now() < self.expires_at(&r);
                Ok(live.then_some(r))
            }
            Err(e) if e.is_internal() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// When a refresh token stops working: the earlier of its idle timeout
    /// and its family's absolute lifetime.
    pub fn expires_at(&self, record: &RefreshRecord) -> OffsetDateTime {
        let absolute = record.family_started_at.saturating_add(self.absolute);
        let idle = record.issued_at.saturating_add(self.idle);
        absolute.min(idle)
    }
}

impl RefreshTokensBuilder {
    /// Revokes the access tokens of a revoked family (by their `sid`) in
    /// `store`: the one the API's validators consult, directly or through
    /// a replica. [`RefreshTokens::validator_builder`] wires it into a
    /// validator.
    pub fn revocation(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocation = Some(store);
        self.revocation_decided = true;
        self
    }

    /// Declares that revoking a family leaves its access tokens valid
    /// until they expire (short-lived access tokens, no revocation store).
    pub fn without_access_token_revocation(mut self) -> Self {
        self.revocation = None;
        self.revocation_decided = true;
        self
    }

    /// Sets the absolute lifetime of a family, from login.
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute = lifetime;
        self
    }

    /// Sets how long a refresh token may sit unused.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// Sets the reuse grace window: for this long after a token's first
    /// use, the same client presenting it again gets a fresh pair (which
    /// supersedes the first successor) instead of a family revocation.
    /// `Duration::ZERO` turns it off.
    pub fn reuse_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sets the access token lifetime.
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// Sets the token prefix (lowercase letters and digits). The stored
    /// digest covers it, so services that share a [`RefreshStore`] with
    /// different prefixes never redeem each other's tokens; give each such
    /// service its own prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Reads time from `clock` (the access token template too).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.access = self.access.clock(Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// The configured service.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when the revocation of access
    /// tokens was not decided, for an invalid prefix, or for a negative or
    /// zero lifetime or a negative grace window.
    pub fn build(self) -> Result<RefreshTokens, Error> {
        if !self.revocation_decided {
            return Err(Error::config(
                "decide how a revoked family's access tokens are revoked: \
                 `revocation(store)` (the store the validators consult) or \
                 `without_access_token_revocation()`",
            ));
        }
        if !self.absolute.is_positive()
            || !self.idle.is_positive()
            || !self.access_lifetime.is_positive()
        {
            return Err(Error::config(
                "refresh token lifetimes and the access token lifetime must be positive",
            ));
        }
        if self.grace.is_negative() {
            return Err(Error::config("the reuse grace window cannot be negative"));
        }
        Ok(RefreshTokens {
            format: ApiKeyFormat::new(&self.prefix)?.secret_len(43)?,
            store: self.store,
            keys: self.keys,
            access: self.access,
            revocation: self.revocation,
            absolute: self.absolute,
            idle: self.idle,
            grace: self.grace,
            access_lifetime: self.access_lifetime,
            clock: self.clock,
            rng: SystemRandom::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Validator;
    use crate::clock::FixedClock;
    use crate::error::ErrorKind;
    use crate::jws::Algorithm;
    use crate::keys::SigningKey;
    use crate::revocation::RevocationList;
    use crate::scope::ScopeSet;

    struct Setup {
        tokens: RefreshTokens,
        validator: Validator,
        clock: Arc<FixedClock>,
        store: Arc<super::super::InMemoryRefreshStore>,
    }

    fn setup(grace: Duration) -> Setup {
        let clock = Arc::new(FixedClock::at_unix(1_000_000));
        let ring = Arc::new(KeyRing::with_clock(
            SigningKey::generate(Algorithm::ES256).unwrap(),
            clock.clone(),
        ));
        let list = Arc::new(RevocationList::new());
        let store = Arc::new(super::super::InMemoryRefreshStore::new());
        let tokens = RefreshTokens::builder(
            store.clone(),
            ring,
            TokenBuilder::new().issuer("https://auth").audience("api"),
        )
        .revocation(list)
        .idle_timeout(Duration::hours(1))
        .absolute_lifetime(Duration::hours(3))
        .reuse_grace(grace)
        .clock(clock.clone())
        .build()
        .unwrap();
        let validator = tokens
            .validator_builder()
            .danger_accept_any_type()
            .issuer("https://auth")
            .audience("api")
            .build()
            .unwrap();
        Setup {
            tokens,
            validator,
            clock,
            store,
        }
    }

    #[test]
    fn rotation_and_reuse_revokes_the_family() {
        let s = setup(Duration::ZERO);
        let first = s
            .tokens
            .login(Grant::new("alice").scopes(ScopeSet::parse("a b").unwrap()))
            .unwrap();
        let v = s.validator.validate(&first.access_token).unwrap();
        assert_eq!(
            v.claims().session_id.as_deref(),
            Some(first.family_id.as_str())
        );
        assert_eq!(v.claims().scope.as_deref(), Some("a b"));
        let second = s
            .tokens
            .refresh(first.refresh_token.expose_secret(), None)
            .unwrap();
        assert_eq!(second.family_id, first.family_id);
        let err = s
            .tokens
            .refresh(first.refresh_token.expose_secret(), None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RefreshTokenReused);
        let err = s
            .tokens
            .refresh(second.refresh_token.expose_secret(), None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
        for access in [&first.access_token, &second.access_token] {
            let err = s.validator.validate(access).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Revoked);
        }
    }

    #[test]
    fn idle_and_absolute_lifetimes() {
        let s = setup(Duration::ZERO);
        let pair = s.tokens.login(Grant::new("bob")).unwrap();
        s.clock.advance(3599);
        let pair = s
            .tokens
            .refresh(pair.refresh_token.expose_secret(), None)
            .unwrap();
        s.clock.advance(3600);
        let err = s
            .tokens
            .refresh(pair.refresh_token.expose_secret(), None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);

        let s = setup(Duration::ZERO);
        let mut pair = s.tokens.login(Grant::new("bob")).unwrap();
        for _ in 0..5 {
            s.clock.advance(1800);
            pair = s
                .tokens
                .refresh(pair.refresh_token.expose_secret(), None)
                .unwrap();
        }
        s.clock.advance(1800);
        let err = s
            .tokens
            .refresh(pair.refresh_token.expose_secret(), None)
            .unwrap_err();
        assert!(
            matches!(err, Error::Expired { exp: 1_010_800, .. }),
            "{err:?}"
        );
        let started_after_login = OffsetDateTime::from_unix_timestamp(1_000_001).unwrap();
        assert_eq!(s.store.prune(started_after_login), 6);
    }

    #[test]
    fn grace_window_reissues_once_then_reuse_revokes() {
        let s = setup(Duration::seconds(5));
        let first = s.tokens.login(Grant::new("erin").client_id("app")).unwrap();
        let t0 = first.refresh_token.expose_secret();
        let lost = s.tokens.refresh(t0, Some("app")).unwrap();
        s.clock.advance(4);
        // The response was lost: the retry gets a working pair.
        let retry = s.tokens.refresh(t0, Some("app")).unwrap();
        assert_eq!(retry.family_id, first.family_id);
        s.validator.validate(&retry.access_token).unwrap();
        // The retry's token is the family's one live refresh token ...
        let next = s
            .tokens
            .refresh(retry.refresh_token.expose_secret(), Some("app"))
            .unwrap();
        // ... and the lost one was superseded: presenting it is reuse.
        let err = s
            .tokens
            .refresh(lost.refresh_token.expose_secret(), Some("app"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RefreshTokenReused);
        assert_eq!(
            s.validator.validate(&next.access_token).unwrap_err().kind(),
            ErrorKind::Revoked
        );
    }

    #[test]
    fn custom_claims_reach_every_access_token() {
        #[derive(serde::Deserialize)]
        struct Tenant {
            tenant_id: String,
        }
        let s = setup(Duration::ZERO);
        let grant = Grant::new("frank")
            .claims(&serde_json::json!({"tenant_id": "t-42"}))
            .unwrap();
        let pair = s.tokens.login(grant).unwrap();
        let pair = s
            .tokens
            .refresh(pair.refresh_token.expose_secret(), None)
            .unwrap();
        let v = s
            .validator
            .validate_with::<Tenant>(&pair.access_token, None)
            .unwrap();
        assert_eq!(v.custom().tenant_id, "t-42");
        assert!(Grant::new("x").claims(&5).is_err());
        let clash = Grant::new("x")
            .claims(&serde_json::json!({"sub": "mallory"}))
            .unwrap();
        assert_eq!(
            s.tokens.login(clash).unwrap_err().kind(),
            ErrorKind::InvalidConfiguration
        );
    }

    #[test]
    fn building_needs_a_revocation_decision_and_sane_lifetimes() {
        let ring = Arc::new(KeyRing::new(
            SigningKey::generate(Algorithm::ES256).unwrap(),
        ));
        let store: Arc<dyn RefreshStore> = Arc::new(super::super::InMemoryRefreshStore::new());
        let b = || RefreshTokens::builder(store.clone(), ring.clone(), TokenBuilder::new());
        let err = b().build().unwrap_err();
        assert!(err.to_string().contains("without_access_token_revocation"));
        assert!(b().without_access_token_revocation().build().is_ok());
        for bad in [
            b().without_access_token_revocation()
                .reuse_grace(Duration::seconds(-1)),
            b().without_access_token_revocation()
                .idle_timeout(Duration::ZERO),
            b().without_access_token_revocation().prefix("RT!"),
        ] {
            assert_eq!(
                bad.build().unwrap_err().kind(),
                ErrorKind::InvalidConfiguration
            );
        }
    }
}
