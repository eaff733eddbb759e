//! Opaque refresh tokens with rotation and reuse detection (RFC 9700
//! §4.14.2).
//!
//! A login opens a *family*: one refresh token and one access token. Each
//! use of a refresh token returns a new refresh token and a new access
//! token and invalidates the one presented. Presenting an already-used
//! refresh token means two parties hold it, so the whole family is revoked:
//! every refresh token descended from the login and, through the
//! revocation list and the access tokens' `sid` claim, every access token
//! minted from it. Two racing uses of one token: exactly one wins, the
//! other is treated as reuse.
//!
//! Refresh tokens use the API key format with the `rt` prefix and a
//! 43-character secret (256 bits): `rt_` + 12-character id + secret +
//! checksum. Stores keep a SHA-256 digest of the secret, compared in
//! constant time; lookups are by the public id.

use std::collections::HashMap;
use std::fmt;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::crypto::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use time::Duration;
use zeroize::Zeroizing;

use crate::api_key::{ApiKeyFormat, SecretDigest};
use crate::clock::{Clock, SystemClock};
use crate::encoding::b64_encode;
use crate::error::Error;
use crate::jwt::TokenBuilder;
use crate::keys::KeyRing;
use crate::revocation::RevocationList;
use crate::scope::ScopeSet;

/// The default absolute lifetime of a family: 30 days from login.
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::days(30);
/// The default idle timeout: a refresh token unused for 7 days expires.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::days(7);
/// The default access token lifetime: 15 minutes.
pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::minutes(15);

/// What a store keeps about one refresh token: no secret, only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// The public id embedded in the token; the lookup key.
    pub id: String,
    /// SHA-256 of the token's secret.
    pub secret_digest: SecretDigest,
    /// The family (login session); also the `sid` of its access tokens.
    pub family_id: String,
    /// The id of the token this one replaced, if any.
    pub parent: Option<String>,
    /// The subject the tokens act for.
    pub subject: String,
    /// The OAuth client, if any.
    pub client_id: Option<String>,
    /// The scopes granted at login.
    pub scopes: ScopeSet,
    /// When this token was issued (seconds since the epoch).
    pub issued_at: i64,
    /// When the family was opened, for the absolute lifetime.
    pub family_started_at: i64,
    /// When this token was used, if it was.
    pub used_at: Option<i64>,
}

/// The outcome of [`RefreshStore::consume`].
#[derive(Debug, Clone)]
pub enum Consumed {
    /// The token was unused and is now marked used.
    Fresh(Arc<RefreshRecord>),
    /// The token had already been used (by this caller or a racing one).
    AlreadyUsed(Arc<RefreshRecord>),
    /// No such token.
    Unknown,
}

/// Where refresh token records live.
///
/// `Send + Sync`, object safe, synchronous and fallible. [`consume`](Self::consume)
/// must be atomic: of any number of concurrent calls for one id, exactly
/// one sees [`Consumed::Fresh`].
pub trait RefreshStore: Debug + Send + Sync {
    /// The record with this id.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error>;

    /// Stores a new record.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails or the id exists.
    fn insert(&self, record: RefreshRecord) -> Result<(), Error>;

    /// Atomically marks the token used at `at` if it was unused.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn consume(&self, id: &str, at: i64) -> Result<Consumed, Error>;

    /// Revokes a whole family at `at`. Idempotent.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the backend fails.
    fn revoke_family(&self, family_id: &str, at: i64) -> Result<(), Error>;

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
    fn consume(&self, id: &str, at: i64) -> Result<Consumed, Error> {
        (**self).consume(id, at)
    }
    fn revoke_family(&self, family_id: &str, at: i64) -> Result<(), Error> {
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

/// The in-memory [`RefreshStore`]: one mutex makes `consume` atomic.
#[derive(Debug, Default)]
pub struct InMemoryRefreshStore {
    records: Mutex<HashMap<String, Arc<RefreshRecord>>>,
    revoked: RwLock<HashMap<String, i64>>,
}

impl InMemoryRefreshStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops records of families opened before `started_before` (their
    /// absolute lifetime is over, so they can only be rejected anyway).
    /// Returns how many records were dropped.
    pub fn prune(&self, started_before: i64) -> usize {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let before = records.len();
        records.retain(|_, r| r.family_started_at >= started_before);
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let live: std::collections::HashSet<&str> =
            records.values().map(|r| r.family_id.as_str()).collect();
        revoked.retain(|family, _| live.contains(family.as_str()));
        before.saturating_sub(records.len())
    }

    /// The number of records held.
    pub fn len(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// `true` when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RefreshStore for InMemoryRefreshStore {
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        Ok(self
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned())
    }

    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.contains_key(&record.id) {
            return Err(Error::store(DuplicateRefreshId));
        }
        records.insert(record.id.clone(), Arc::new(record));
        Ok(())
    }

    fn consume(&self, id: &str, at: i64) -> Result<Consumed, Error> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(rec) = records.get_mut(id) else {
            return Ok(Consumed::Unknown);
        };
        if rec.used_at.is_some() {
            return Ok(Consumed::AlreadyUsed(Arc::clone(rec)));
        }
        Arc::make_mut(rec).used_at = Some(at);
        Ok(Consumed::Fresh(Arc::clone(rec)))
    }

    fn revoke_family(&self, family_id: &str, at: i64) -> Result<(), Error> {
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(family_id.to_owned())
            .or_insert(at);
        Ok(())
    }

    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error> {
        Ok(self
            .revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(family_id))
    }
}

/// A plaintext refresh token, shown once. Zeroized on drop; `Debug` shows
/// only its public id; no `Display`, `Clone` or `Serialize`.
pub struct RefreshToken {
    token: Zeroizing<String>,
    id: String,
}

impl RefreshToken {
    /// The token, to hand to the client.
    pub fn expose_secret(&self) -> &str {
        &self.token
    }

    /// The public id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshToken")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// What a login or a refresh returns. `Debug` shows neither token: both
/// are live bearer credentials.
pub struct TokenPair {
    /// A signed JWT access token carrying `sid` = the family id.
    pub access_token: String,
    /// The new refresh token; the one presented no longer works.
    pub refresh_token: RefreshToken,
    /// The family (session) id.
    pub family_id: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token)
            .field("family_id", &self.family_id)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Who logs in: the subject, the OAuth client and the scopes granted.
#[derive(Debug, Clone)]
pub struct Grant {
    subject: String,
    client_id: Option<String>,
    scopes: ScopeSet,
}

impl Grant {
    /// A grant for `subject` with no client and no scopes.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: None,
            scopes: ScopeSet::new(),
        }
    }

    /// The OAuth client the tokens are issued to.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The scopes granted.
    #[must_use]
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }
}

/// Logs in, rotates refresh tokens and revokes families.
///
/// # Defaults
///
/// | setting | default |
/// |---|---|
/// | absolute lifetime of a family | 30 days |
/// | idle timeout of a refresh token | 7 days |
/// | access token lifetime | 15 minutes |
/// | token prefix | `rt` |
#[derive(Debug, Clone)]
pub struct RefreshTokens {
    format: ApiKeyFormat,
    store: Arc<dyn RefreshStore>,
    keys: Arc<KeyRing>,
    access: TokenBuilder,
    revocation: Option<Arc<RevocationList>>,
    absolute: Duration,
    idle: Duration,
    access_lifetime: Duration,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
}

impl RefreshTokens {
    /// Refresh tokens kept in `store`, with access tokens made from the
    /// `access` template (issuer, audience, `typ`...) and signed by the
    /// current key of `keys`.
    ///
    /// # Errors
    ///
    /// Never in practice: the `rt` format is valid.
    pub fn new(
        store: Arc<dyn RefreshStore>,
        keys: Arc<KeyRing>,
        access: TokenBuilder,
    ) -> Result<Self, Error> {
        Ok(Self {
            format: ApiKeyFormat::new("rt")?.secret_len(43)?,
            store,
            keys,
            access,
            revocation: None,
            absolute: DEFAULT_ABSOLUTE_LIFETIME,
            idle: DEFAULT_IDLE_TIMEOUT,
            access_lifetime: DEFAULT_ACCESS_LIFETIME,
            clock: Arc::new(SystemClock),
            rng: SystemRandom::new(),
        })
    }

    /// Revokes the access tokens of a revoked family through `list` (the
    /// one the API's validator consults), by their `sid`.
    #[must_use]
    pub fn revocation_list(mut self, list: Arc<RevocationList>) -> Self {
        self.revocation = Some(list);
        self
    }

    /// Sets the absolute lifetime of a family, from login.
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute = lifetime;
        self
    }

    /// Sets how long a refresh token may sit unused.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// Sets the access token lifetime.
    #[must_use]
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// Sets the token prefix (lowercase letters and digits).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] for an invalid prefix.
    pub fn prefix(mut self, prefix: &str) -> Result<Self, Error> {
        self.format = ApiKeyFormat::new(prefix)?.secret_len(43)?;
        Ok(self)
    }

    /// Reads time from `clock` (the access token template keeps its own).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.access = self.access.clock(Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// The format of the refresh tokens, for routing and scanners.
    pub fn format(&self) -> &ApiKeyFormat {
        &self.format
    }

    /// Opens a family for `grant`: the first refresh token and access
    /// token.
    ///
    /// # Errors
    ///
    /// [`Error::SigningFailed`] if randomness or signing fails; the store's
    /// errors.
    pub fn login(&self, grant: Grant) -> Result<TokenPair, Error> {
        let now = self.clock.now_unix();
        let mut family = [0u8; 16];
        self.rng
            .fill(&mut family)
            .map_err(|_| Error::SigningFailed)?;
        let family_id = b64_encode(family);
        let record = RefreshRecord {
            id: String::new(),
            secret_digest: SecretDigest::from_bytes([0; 32]),
            family_id,
            parent: None,
            subject: grant.subject,
            client_id: grant.client_id,
            scopes: grant.scopes,
            issued_at: now,
            family_started_at: now,
            used_at: None,
        };
        self.issue(record)
    }

    /// Stores a new token for `template` (whose id and digest are
    /// replaced) and mints its access token.
    fn issue(&self, mut template: RefreshRecord) -> Result<TokenPair, Error> {
        let (id, token, digest) = self.format.generate(&self.rng)?;
        template.secret_digest = digest;
        template.id.clone_from(&id);
        let access_token = self.mint_access(&template)?;
        let family_id = template.family_id.clone();
        self.store.insert(template)?;
        Ok(TokenPair {
            access_token,
            refresh_token: RefreshToken { token, id },
            family_id,
            expires_in: self.access_lifetime.whole_seconds(),
        })
    }

    fn mint_access(&self, r: &RefreshRecord) -> Result<String, Error> {
        let mut b = self
            .access
            .clone()
            .subject(r.subject.clone())
            .session_id(r.family_id.clone())
            .lifetime(self.access_lifetime);
        if !r.scopes.is_empty() {
            b = b.scope(r.scopes.to_string());
        }
        if let Some(c) = &r.client_id {
            b = b.client_id(c.clone());
        }
        b.sign(&self.keys.current())
    }

    /// Checks a presented token up to (not including) its use.
    fn check(&self, presented: &str) -> Result<Arc<RefreshRecord>, Error> {
        let parsed = self.format.parse(presented)?;
        let digest = SecretDigest::of(parsed.secret);
        let record = self.store.get(parsed.id)?.ok_or(Error::UnknownKey)?;
        if !record.secret_digest.ct_eq(&digest) {
            return Err(Error::InvalidSecret);
        }
        if self.store.is_family_revoked(&record.family_id)? {
            return Err(Error::Revoked);
        }
        Ok(record)
    }

    /// Uses a refresh token: returns a new refresh token and access token
    /// and invalidates the one presented.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`], [`Error::UnknownKey`], [`Error::InvalidSecret`];
    /// [`Error::Revoked`] for a revoked family;
    /// [`Error::RefreshTokenReused`] for a token used before (the family is
    /// revoked before this returns); [`Error::Expired`] past the idle
    /// timeout or the family's absolute lifetime; the store's errors.
    pub fn refresh(&self, presented: &str) -> Result<TokenPair, Error> {
        let record = self.check(presented)?;
        let now = self.clock.now_unix();
        if record.used_at.is_some() {
            return Err(self.reuse(&record, now));
        }
        let exp = self.expires_at(&record);
        if now >= exp {
            return Err(Error::Expired { exp, now });
        }
        match self.store.consume(&record.id, now)? {
            Consumed::Fresh(used) => {
                let mut next = (*used).clone();
                next.parent = Some(used.id.clone());
                next.issued_at = now;
                next.used_at = None;
                self.issue(next)
            }
            Consumed::AlreadyUsed(used) => Err(self.reuse(&used, now)),
            Consumed::Unknown => Err(Error::UnknownKey),
        }
    }

    fn reuse(&self, record: &RefreshRecord, now: i64) -> Error {
        match self.revoke_family(&record.family_id, now) {
            Ok(()) => Error::RefreshTokenReused,
            Err(e) => e,
        }
    }

    fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), Error> {
        self.store.revoke_family(family_id, now)?;
        if let Some(list) = &self.revocation {
            // Access tokens of the family live at most this long; the
            // list keeps the entry a margin longer for validators' leeway.
            let until = now.saturating_add(self.access_lifetime.whole_seconds());
            list.revoke_session(family_id, until);
        }
        Ok(())
    }

    /// Logs out: revokes the family of a presented refresh token (RFC 7009
    /// semantics: an unknown, malformed or already revoked token is not an
    /// error).
    ///
    /// # Errors
    ///
    /// Only the store's errors.
    pub fn revoke(&self, presented: &str) -> Result<(), Error> {
        match self.check(presented) {
            Ok(record) => self.revoke_family(&record.family_id, self.clock.now_unix()),
            Err(e) if e.is_internal() => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// Revokes a family by id (for example from an admin console).
    ///
    /// # Errors
    ///
    /// The store's errors.
    pub fn revoke_session(&self, family_id: &str) -> Result<(), Error> {
        self.revoke_family(family_id, self.clock.now_unix())
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
                let live = r.used_at.is_none() && self.clock.now_unix() < self.expires_at(&r);
                Ok(live.then_some(r))
            }
            Err(e) if e.is_internal() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// When a refresh token stops working: the earlier of its idle timeout
    /// and its family's absolute lifetime.
    pub fn expires_at(&self, record: &RefreshRecord) -> i64 {
        record
            .family_started_at
            .saturating_add(self.absolute.whole_seconds())
            .min(record.issued_at.saturating_add(self.idle.whole_seconds()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::error::ErrorKind;
    use crate::jws::Algorithm;
    use crate::keys::SigningKey;
    use crate::{NoCustomClaims, Validator};

    struct Setup {
        tokens: RefreshTokens,
        validator: Validator,
        clock: Arc<FixedClock>,
        store: Arc<InMemoryRefreshStore>,
    }

    fn setup() -> Setup {
        let clock = Arc::new(FixedClock::at_unix(1_000_000));
        let ring = Arc::new(KeyRing::with_clock(
            SigningKey::generate(Algorithm::ES256).unwrap(),
            clock.clone(),
        ));
        let list = Arc::new(RevocationList::new());
        let store = Arc::new(InMemoryRefreshStore::new());
        let tokens = RefreshTokens::new(
            store.clone(),
            ring.clone(),
            TokenBuilder::new().issuer("https://auth").audience("api"),
        )
        .unwrap()
        .revocation_list(list.clone())
        .idle_timeout(Duration::hours(1))
        .absolute_lifetime(Duration::hours(3))
        .clock(clock.clone());
        let validator = Validator::builder(ring)
            .issuer("https://auth")
            .audience("api")
            .revocation(list)
            .clock(clock.clone())
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
        let s = setup();
        let first = s
            .tokens
            .login(Grant::new("alice").scopes(ScopeSet::parse("a b").unwrap()))
            .unwrap();
        let v = s
            .validator
            .validate::<NoCustomClaims>(&first.access_token)
            .unwrap();
        assert_eq!(
            v.claims().session_id.as_deref(),
            Some(first.family_id.as_str())
        );
        assert_eq!(v.claims().scope.as_deref(), Some("a b"));
        assert!(first.refresh_token.expose_secret().starts_with("rt_"));

        let second = s
            .tokens
            .refresh(first.refresh_token.expose_secret())
            .unwrap();
        assert_eq!(second.family_id, first.family_id);
        s.validator
            .validate::<NoCustomClaims>(&second.access_token)
            .unwrap();

        // Replaying the used token revokes everything in the family.
        let err = s
            .tokens
            .refresh(first.refresh_token.expose_secret())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RefreshTokenReused);
        let err = s
            .tokens
            .refresh(second.refresh_token.expose_secret())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
        for access in [&first.access_token, &second.access_token] {
            let err = s.validator.validate::<NoCustomClaims>(access).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Revoked);
        }
        // Other families are untouched.
        let other = s.tokens.login(Grant::new("alice")).unwrap();
        assert!(
            s.tokens
                .refresh(other.refresh_token.expose_secret())
                .is_ok()
        );
    }

    #[test]
    fn idle_and_absolute_lifetimes() {
        let s = setup();
        let pair = s.tokens.login(Grant::new("bob")).unwrap();
        s.clock.advance(3599);
        let pair = s
            .tokens
            .refresh(pair.refresh_token.expose_secret())
            .unwrap();
        s.clock.advance(3600);
        let err = s
            .tokens
            .refresh(pair.refresh_token.expose_secret())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);

        let s = setup();
        let mut pair = s.tokens.login(Grant::new("bob")).unwrap();
        for _ in 0..5 {
            s.clock.advance(1800);
            pair = s
                .tokens
                .refresh(pair.refresh_token.expose_secret())
                .unwrap();
        }
        s.clock.advance(1799);
        // 3 h after login: the family's absolute lifetime is over.
        s.clock.advance(1);
        let err = s
            .tokens
            .refresh(pair.refresh_token.expose_secret())
            .unwrap_err();
        assert!(
            matches!(err, Error::Expired { exp: 1_010_800, .. }),
            "{err:?}"
        );
        assert_eq!(s.store.prune(1_000_001), 6);
    }

    #[test]
    fn logout_and_bad_tokens() {
        let s = setup();
        let pair = s.tokens.login(Grant::new("carol")).unwrap();
        assert!(
            s.tokens
                .inspect(pair.refresh_token.expose_secret())
                .unwrap()
                .is_some()
        );
        s.tokens.revoke(pair.refresh_token.expose_secret()).unwrap();
        assert_eq!(
            s.tokens
                .refresh(pair.refresh_token.expose_secret())
                .unwrap_err()
                .kind(),
            ErrorKind::Revoked
        );
        assert!(
            s.tokens
                .inspect(pair.refresh_token.expose_secret())
                .unwrap()
                .is_none()
        );
        // Revoking garbage or an unknown token is not an error.
        s.tokens.revoke("garbage").unwrap();
        assert_eq!(
            s.tokens.refresh("garbage").unwrap_err().kind(),
            ErrorKind::Malformed
        );
        assert!(format!("{:?}", pair.refresh_token).contains("[redacted]"));
    }

    #[test]
    fn racing_uses_have_one_winner() {
        let s = setup();
        let pair = s.tokens.login(Grant::new("dave")).unwrap();
        let token = pair.refresh_token.expose_secret().to_owned();
        let results: Vec<Result<TokenPair, Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| s.tokens.refresh(&token)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1);
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(
                r.kind(),
                ErrorKind::RefreshTokenReused | ErrorKind::Revoked
            ));
        }
        // The winner's new token belongs to a revoked family now.
        let winner = results.into_iter().find_map(Result::ok).unwrap();
        assert_eq!(
            s.tokens
                .refresh(winner.refresh_token.expose_secret())
                .unwrap_err()
                .kind(),
            ErrorKind::Revoked
        );
    }
}
