use std::borrow::Cow;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use time::Duration;

use super::builder::ACCESS_TOKEN_TYPE;
use super::cache::{self, Entry, VerifiedCache};
use super::claims::{Claim, Claims, NoCustomClaims, Registered, parse_custom, parse_registered};
use crate::clock::{Clock, SystemClock};
use crate::encoding::{DEFAULT_MAX_TOKEN_SIZE, DecodeBuf, MAX_TOKEN_SIZE_LIMIT, b64_check};
use crate::error::Error;
use crate::jws::{Algorithm, AlgorithmSet, Compact, Header, HeaderRef, typ_matches};
use crate::keys::{KeyQuery, KeyStore, VerifyingKey};
use crate::revocation::{Revocation, RevocationQuery};
use crate::scope::ScopeRequirement;

/// The default clock leeway: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::seconds(30);

/// A token whose signature, header and claims passed every check of a
/// [`Validator`]. Only this crate can make one.
#[derive(Debug, Clone)]
pub struct Verified<T = NoCustomClaims> {
    header: Header,
    claims: Claims<T>,
}

impl<T> Verified<T> {
    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The verified claims.
    pub fn claims(&self) -> &Claims<T> {
        &self.claims
    }

    /// The application's custom claims.
    pub fn custom(&self) -> &T {
        &self.claims.custom
    }

    /// `sub`, if present.
    pub fn subject(&self) -> Option<&str> {
        self.claims.subject.as_deref()
    }

    /// Takes the claims out.
    pub fn into_claims(self) -> Claims<T> {
        self.claims
    }

    /// Checks the token's granted scopes (`scope`, or the validator's
    /// [`scope_claim`](ValidatorBuilder::scope_claim), string or array)
    /// against `requirement`, without allocating unless it fails.
    ///
    /// # Errors
    ///
    /// [`Error::InsufficientScope`] with the scopes that are missing.
    pub fn require(&self, requirement: &ScopeRequirement) -> Result<(), Error> {
        requirement.check(self.claims.scope.as_deref().unwrap_or(""))
    }
}

#[derive(Debug, Clone)]
enum TypPolicy {
    Unset,
    Any,
    Required(String),
}

#[derive(Debug, Clone)]
enum IssuerPolicy {
    Unset,
    Any,
    OneOf(Vec<String>),
}

#[derive(Debug, Clone)]
enum AudiencePolicy {
    Unset,
    Any,
    NoneExpected,
    AnyOf(Vec<String>),
    AllOf(Vec<String>),
}

#[derive(Debug)]
struct Config {
    store: Arc<dyn KeyStore>,
    allowed: AlgorithmSet,
    issuer: IssuerPolicy,
    audience: AudiencePolicy,
    typ: Option<String>,
    required: u16,
    leeway: i64,
    max_age: Option<i64>,
    max_size: usize,
    clock: Arc<dyn Clock>,
    revocation: Option<Arc<dyn Revocation>>,
    scopes: Option<ScopeRequirement>,
    scope_claim: Box<str>,
    cache: Option<VerifiedCache>,
}

/// Validates JWTs (the resource-server side). Built once with
/// [`Validator::builder`], immutable, `Send + Sync`, and cheap to clone
/// (clones share one configuration).
///
/// # Order of checks
///
/// size → shape → header (`alg` supported, no `crit`) → `alg` allowed →
/// signature and payload base64url → key lookup by `kid` and `alg` →
/// signature → claims types and duplicate
/// members → required claims → `typ` → `exp`, `nbf`, `iat`, age → issuer →
/// audience → revocation → scope requirement → custom claims type. Nothing in the payload is read before the
/// signature verifies, so a forged token reports a signature or key
/// failure, never a claim error.
///
/// With [`ValidatorBuilder::cache_verified`], a token seen before skips the
/// decoding, parsing and signature steps; every other step runs again.
#[derive(Debug, Clone)]
pub struct Validator {
    config: Arc<Config>,
}

/// Configures a [`Validator`].
///
/// # Defaults
///
/// | setting | default | why |
/// |---|---|---|
/// | algorithms | those of the keys in the store | never wider than the keys |
/// | issuer | **must be chosen**: [`issuer`](Self::issuer) / [`issuers`](Self::issuers) or [`danger_accept_any_issuer`](Self::danger_accept_any_issuer) | a forgotten issuer check is a silent hole |
/// | audience | **must be chosen**: [`audience`](Self::audience) / [`audiences`](Self::audiences), [`expect_no_audience`](Self::expect_no_audience), or (an authorization server introspecting for many resource servers) [`danger_accept_any_audience`](Self::danger_accept_any_audience) | RFC 7519 §4.1.3: a token for someone else must not pass |
/// | `exp` | required | a token without expiry lives forever |
/// | `nbf`, `iat` | checked when present | |
/// | leeway | 30 s ([`DEFAULT_LEEWAY`]) | clock skew between servers |
/// | maximum age | none | |
/// | token type (`typ`) | **must be chosen**: [`access_token_profile`](Self::access_token_profile) (RFC 9068 `at+jwt`), [`typ`](Self::typ), or [`danger_accept_any_type`](Self::danger_accept_any_type) | RFC 8725 §3.11: an ID token, a logout token or a DPoP proof of the same issuer and audience must not pass as an access token |
/// | maximum token size | 8 KiB | garbage is refused before decoding |
/// | clock | [`SystemClock`] | |
/// | revocation | none ([`revocation`](Self::revocation) to consult a list) | |
/// | scope requirement | none ([`require_scopes`](Self::require_scopes), or per call with [`Validator::validate_for`]) | |
/// | scopes read from | `scope`, a space-delimited string or an array of strings ([`scope_claim`](Self::scope_claim) for `scp`) | the shapes providers send, each strictly typed |
/// | verified-token cache | off ([`cache_verified`](Self::cache_verified)) | a repeated token can skip its signature check; every time-, key- and revocation-dependent check still runs |
#[derive(Debug, Clone)]
pub struct ValidatorBuilder {
    store: Arc<dyn KeyStore>,
    allowed: Option<AlgorithmSet>,
    issuer: IssuerPolicy,
    audience: AudiencePolicy,
    typ: TypPolicy,
    required: u16,
    exp_optional: bool,
    leeway: Duration,
    max_age: Option<Duration>,
    max_size: usize,
    clock: Arc<dyn Clock>,
    revocation: Option<Arc<dyn Revocation>>,
    scopes: Option<ScopeRequirement>,
    scope_claim: String,
    cache: Option<usize>,
}

impl Validator {
    /// Starts configuring a validator whose keys come from `store`.
    pub fn builder(store: impl KeyStore + 'static) -> ValidatorBuilder {
        ValidatorBuilder {
            store: Arc::new(store),
            allowed: None,
            issuer: IssuerPolicy::Unset,
            audience: AudiencePolicy::Unset,
            typ: TypPolicy::Unset,
            required: 0,
            exp_optional: false,
            leeway: DEFAULT_LEEWAY,
            max_age: None,
            max_size: DEFAULT_MAX_TOKEN_SIZE,
            clock: Arc::new(SystemClock),
            revocation: None,
            scopes: None,
            scope_claim: Claim::Scope.name().to_owned(),
            cache: None,
        }
    }

    /// How many verified tokens the validator's cache holds now (0 without
    /// [`ValidatorBuilder::cache_verified`]).
    pub fn cached_tokens(&self) -> usize {
        self.config.cache.as_ref().map_or(0, VerifiedCache::len)
    }

    /// The claim the granted scopes are read from: `scope`, unless
    /// [`ValidatorBuilder::scope_claim`] named another.
    pub fn scope_claim(&self) -> &str {
        &self.config.scope_claim
    }

    /// The scope requirement every token must meet, if one was set.
    pub fn scope_requirement(&self) -> Option<&ScopeRequirement> {
        self.config.scopes.as_ref()
    }

    /// The validator's clock, seconds since the epoch.
    pub(crate) fn now_unix(&self) -> i64 {
        self.config.clock.now_unix()
    }

    /// The algorithms this validator accepts now: its allow-list narrowed
    /// to the algorithms of the keys in its store.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.config
            .allowed
            .intersection(self.config.store.algorithms())
    }

    /// Validates `token` and returns its verified header and registered
    /// claims. To read the application's own claims too, use
    /// [`Validator::validate_with`].
    ///
    /// # Errors
    ///
    /// The first failed check, in the order given on [`Validator`]:
    /// [`Error::TokenTooLarge`], [`Error::Malformed`],
    /// [`Error::UnsupportedAlgorithm`], [`Error::UnsupportedCriticalHeader`],
    /// [`Error::AlgorithmNotAllowed`], [`Error::UnknownKey`],
    /// [`Error::InvalidSignature`], [`Error::MissingClaim`],
    /// [`Error::InvalidType`], [`Error::Expired`], [`Error::NotYetValid`],
    /// [`Error::IssuedInFuture`], [`Error::TokenTooOld`],
    /// [`Error::InvalidIssuer`], [`Error::InvalidAudience`],
    /// [`Error::Revoked`], [`Error::InsufficientScope`];
    /// [`Error::Store`] when the key store or revocation list fails.
    pub fn validate(&self, token: &str) -> Result<Verified, Error> {
        self.validate_inner(token, None, |_| Ok(NoCustomClaims))
    }

    /// As [`Validator::validate`], and then checks `requirement` (per
    /// route or per call) after the validator's own requirement, if any.
    ///
    /// # Errors
    ///
    /// As [`Validator::validate`].
    pub fn validate_for(
        &self,
        token: &str,
        requirement: &ScopeRequirement,
    ) -> Result<Verified, Error> {
        self.validate_inner(token, Some(requirement), |_| Ok(NoCustomClaims))
    }

    /// As [`Validator::validate_for`] (or, without a requirement,
    /// [`Validator::validate`]), and deserializes the application's own
    /// claims into `T`, after every other check has passed.
    ///
    /// ```
    /// # use tokengate::{Algorithm, SigningKey, SingleKeyStore, TokenBuilder, Validator};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Tenant {
    ///     tenant: String,
    /// }
    /// # let key = SigningKey::generate(Algorithm::EdDSA)?;
    /// # let validator = Validator::builder(SingleKeyStore::new(key.verifying_key()))
    /// #     .danger_accept_any_type()
    /// #     .issuer("https://auth.example.com")
    /// #     .audience("orders-api")
    /// #     .build()?;
    /// let token = TokenBuilder::new()
    ///     .issuer("https://auth.example.com")
    ///     .audience("orders-api")
    ///     .custom(Tenant { tenant: "acme".into() })
    ///     .sign(&key)?;
    /// let verified = validator.validate_with::<Tenant>(&token, None)?;
    /// assert_eq!(verified.claims().custom.tenant, "acme");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Validator::validate`]; claims that do not deserialize into `T`
    /// are [`Error::Malformed`].
    pub fn validate_with<T: DeserializeOwned>(
        &self,
        token: &str,
        requirement: Option<&ScopeRequirement>,
    ) -> Result<Verified<T>, Error> {
        self.validate_inner(token, requirement, parse_custom::<T>)
    }

    fn validate_inner<T>(
        &self,
        token: &str,
        requirement: Option<&ScopeRequirement>,
        custom: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<Verified<T>, Error> {
        let (header, claims) = self.verify::<T, Header>(token, requirement, custom)?;
        Ok(Verified { header, claims })
    }

    /// As [`Validator::validate_with`], the custom claims read by `custom`
    /// from the verified payload, and the header kept as `H` (`()` when
    /// only the claims are wanted).
    pub(crate) fn verify<T, H: HeaderOut>(
        &self,
        token: &str,
        requirement: Option<&ScopeRequirement>,
        custom: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<(H, Claims<T>), Error> {
        let cfg = &*self.config;
        // A cached token passed every check of this validator's shape and
        // size before: the lookup comes first.
        if let Some(cache) = &cfg.cache
            && let Some(entry) = cache.get(token)
        {
            match self.check_cached(&entry, requirement) {
                Ok(true) => {
                    let custom = custom(&entry.payload)?;
                    return Ok((
                        H::from_owned(&entry.header),
                        entry.claims.clone().with_custom(custom),
                    ));
                }
                // The store now hands out another key for this `kid`:
                // validate afresh against it.
                Ok(false) => cache.remove(token),
                Err(e) => {
                    // A failure the same bytes can never recover from
                    // (expired, revoked, key gone, ...) frees the entry; a
                    // route's scopes and an unavailable store do not.
                    if !matches!(e, Error::InsufficientScope { .. }) && !e.is_unavailable() {
                        cache.remove(token);
                    }
                    return Err(e);
                }
            }
        }
        let compact = Compact::split(token, cfg.max_size)?;
        self.verify_compact(token, &compact, requirement, custom)
    }

    /// The checks after the shape's: kept out of [`Validator::verify`] so
    /// that garbage, refused by the shape, costs no frame with the
    /// decoding buffers.
    #[inline(never)]
    fn verify_compact<T, H: HeaderOut>(
        &self,
        token: &str,
        compact: &Compact<'_>,
        requirement: Option<&ScopeRequirement>,
        custom: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<(H, Claims<T>), Error> {
        let cfg = &*self.config;
        let mut header = DecodeBuf::<512>::new();
        let header = HeaderRef::parse(header.decode(compact.header)?)?;
        if !self.algorithms().contains(header.alg) {
            return Err(Error::AlgorithmNotAllowed(header.alg));
        }
        let mut signature = DecodeBuf::<1024>::new();
        let signature = signature.decode(compact.signature)?;
        // Checked (not decoded) before the key lookup, so a payload that is
        // not base64url costs no lookup and no crypto; decoded only after
        // the signature verified, so a wrong signature costs no decode.
        b64_check(compact.payload)?;
        let key = self.key_for(header.alg, header.kid.as_deref())?;
        key.verify(compact.signing_input, signature)?;
        let mut payload = DecodeBuf::<2048>::new();
        let payload = payload.decode(compact.payload)?;
        // Everything below reads bytes that the key holder signed.
        let claims = parse_registered(payload, &cfg.scope_claim)?;
        self.check_claims(header.typ.as_deref(), &claims)?;
        self.check_revocation(&claims, &key)?;
        let header = match &cfg.cache {
            Some(cache) if VerifiedCache::keeps(token, key.thumbprint()) => {
                // Kept before the scope check: the token is valid, and a
                // route's requirement is checked again on every hit.
                let owned = header.into_owned();
                let out = H::from_owned(&owned);
                cache.insert(Entry::new(token, &key, owned, claims.clone(), payload));
                out
            }
            _ => H::from_ref(header),
        };
        self.check_scopes(&claims, requirement)?;
        let custom = custom(payload)?;
        Ok((header, claims.with_custom(custom)))
    }

    /// Everything that can change for the same bytes, checked again for a
    /// cached token: `Ok(false)` when the key that verified it is no longer
    /// the key the store hands out for its `kid`.
    fn check_cached(
        &self,
        entry: &Entry,
        requirement: Option<&ScopeRequirement>,
    ) -> Result<bool, Error> {
        let alg = entry.header.alg;
        if !self.algorithms().contains(alg) {
            return Err(Error::AlgorithmNotAllowed(alg));
        }
        let key = self.key_for(alg, entry.header.kid.as_deref())?;
        // The same key material (a thumbprint covers it, an HMAC secret
        // included), bound to the same algorithm (`key_for`): a store that
        // rebuilt its keys from the same JWK Set keeps its hits; another
        // key under the same `kid` does not.
        if key.thumbprint() != &*entry.key_thumbprint {
            return Ok(false);
        }
        self.check_claims(entry.header.typ.as_deref(), &entry.claims)?;
        self.check_revocation(&entry.claims, &key)?;
        self.check_scopes(&entry.claims, requirement)?;
        Ok(true)
    }

    /// The store's key for a token's `alg` and `kid`, refused unless it is
    /// bound to that very algorithm.
    // Inlined into both callers: called out of line, its `Cow` result cost
    // about 40 instructions per validation (benches/instructions.sh).
    #[inline(always)]
    fn key_for(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Cow<'_, Arc<VerifyingKey>>, Error> {
        let key = self.config.store.find_key_ref(&KeyQuery::new(alg, kid))?;
        if key.algorithm() != alg {
            return Err(Error::unknown_key(kid));
        }
        Ok(key)
    }

    fn check_revocation(&self, claims: &Claims<()>, key: &VerifyingKey) -> Result<(), Error> {
        if let Some(revocation) = &self.config.revocation {
            let query = RevocationQuery::new(
                claims.jwt_id.as_deref(),
                claims.subject.as_deref(),
                claims.issued_at,
                claims.expires_at,
                Some(key.key_id()),
                claims.session_id.as_deref(),
            );
            if revocation.is_revoked(&query)? {
                return Err(Error::Revoked);
            }
        }
        Ok(())
    }

    fn check_scopes(
        &self,
        claims: &Claims<()>,
        requirement: Option<&ScopeRequirement>,
    ) -> Result<(), Error> {
        let granted = claims.scope.as_deref().unwrap_or("");
        for req in self.config.scopes.iter().chain(requirement) {
            req.check(granted)?;
        }
        Ok(())
    }

    fn check_claims<T>(&self, typ: Option<&str>, claims: &Claims<T>) -> Result<(), Error> {
        let cfg = &*self.config;
        let registered = Registered::of(claims);
        for claim in ALL_CLAIMS {
            if cfg.required & claim.bit() != 0 && !registered.has(claim) {
                return Err(Error::MissingClaim(match claim {
                    Claim::Scope if *cfg.scope_claim != *Claim::Scope.name() => {
                        cfg.scope_claim.to_string().into()
                    }
                    _ => claim.name().into(),
                }));
            }
        }
        if let Some(expected) = &cfg.typ
            && !typ.is_some_and(|t| typ_matches(expected, t))
        {
            return Err(Error::InvalidType);
        }
        let now = cfg.clock.now_unix();
        let leeway = cfg.leeway;
        if let Some(exp) = claims.expires_at
            && now >= exp.saturating_add(leeway)
        {
            return Err(Error::Expired { exp, now });
        }
        if let Some(nbf) = claims.not_before
            && now.saturating_add(leeway) < nbf
        {
            return Err(Error::NotYetValid { nbf, now });
        }
        if let Some(iat) = claims.issued_at {
            if iat > now.saturating_add(leeway) {
                return Err(Error::IssuedInFuture { iat, now });
            }
            if let Some(max_age) = cfg.max_age
                && now.saturating_sub(iat) > max_age.saturating_add(leeway)
            {
                return Err(Error::TokenTooOld { iat, now, max_age });
            }
        }
        if let IssuerPolicy::OneOf(accepted) = &cfg.issuer {
            let iss = claims.issuer.as_deref().unwrap_or_default();
            if !accepted.iter().any(|a| a == iss) {
                return Err(Error::InvalidIssuer);
            }
        }
        match (&cfg.audience, &claims.audience) {
            (AudiencePolicy::Any, _) | (AudiencePolicy::NoneExpected, None) => {}
            (AudiencePolicy::AnyOf(accepted), Some(aud))
                if aud.iter().any(|a| accepted.iter().any(|x| a == x)) => {}
            (AudiencePolicy::AllOf(needed), Some(aud))
                if needed.iter().all(|n| aud.contains(n)) => {}
            _ => return Err(Error::InvalidAudience),
        }
        Ok(())
    }
}

/// How a validation hands out the verified header: as a [`Header`], or
/// not at all (`()`), so a caller that reads only the claims copies none
/// of its strings.
pub(crate) trait HeaderOut: Sized {
    fn from_ref(header: HeaderRef<'_>) -> Self;
    fn from_owned(header: &Header) -> Self;
}

impl HeaderOut for Header {
    fn from_ref(header: HeaderRef<'_>) -> Self {
        header.into_owned()
    }

    fn from_owned(header: &Header) -> Self {
        header.clone()
    }
}

impl HeaderOut for () {
    fn from_ref(_: HeaderRef<'_>) -> Self {}

    fn from_owned(_: &Header) -> Self {}
}

const ALL_CLAIMS: [Claim; 10] = [
    Claim::Issuer,
    Claim::Subject,
    Claim::Audience,
    Claim::ExpiresAt,
    Claim::NotBefore,
    Claim::IssuedAt,
    Claim::JwtId,
    Claim::Scope,
    Claim::ClientId,
    Claim::SessionId,
];

impl ValidatorBuilder {
    /// Narrows the accepted algorithms. Every algorithm named must belong
    /// to a key in the store.
    #[must_use]
    pub fn algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.allowed = Some(algs.into_iter().collect());
        self
    }

    /// Accepts tokens whose `iss` equals `issuer` (and makes `iss`
    /// required). Repeatable: each call adds an accepted issuer.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        match &mut self.issuer {
            IssuerPolicy::OneOf(list) => list.push(issuer.into()),
            _ => self.issuer = IssuerPolicy::OneOf(vec![issuer.into()]),
        }
        self
    }

    /// Accepts tokens whose `iss` is one of `issuers` (exact, case-sensitive
    /// comparison) and makes `iss` required.
    #[must_use]
    pub fn issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for i in issuers {
            self = self.issuer(i);
        }
        if matches!(self.issuer, IssuerPolicy::Unset) {
            self.issuer = IssuerPolicy::OneOf(Vec::new());
        }
        self
    }

    /// Accepts any issuer, or none. Only for a store whose keys belong to a
    /// single issuer you trust for every purpose.
    #[must_use]
    pub fn danger_accept_any_issuer(mut self) -> Self {
        self.issuer = IssuerPolicy::Any;
        self
    }

    /// Accepts tokens whose `aud` names `audience` (and makes `aud`
    /// required). Repeatable: each call adds an accepted audience; by
    /// default one match is enough.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        match &mut self.audience {
            AudiencePolicy::AnyOf(list) | AudiencePolicy::AllOf(list) => list.push(audience.into()),
            _ => self.audience = AudiencePolicy::AnyOf(vec![audience.into()]),
        }
        self
    }

    /// Accepts tokens whose `aud` names at least one of `audiences`.
    #[must_use]
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for a in audiences {
            self = self.audience(a);
        }
        if matches!(self.audience, AudiencePolicy::Unset) {
            self.audience = AudiencePolicy::AnyOf(Vec::new());
        }
        self
    }

    /// Requires `aud` to name every configured audience instead of one.
    #[must_use]
    pub fn require_all_audiences(mut self) -> Self {
        if let AudiencePolicy::AnyOf(list) = &mut self.audience {
            self.audience = AudiencePolicy::AllOf(std::mem::take(list));
        }
        self
    }

    /// Declares that this service is nobody's audience: tokens that carry
    /// `aud` are rejected (RFC 7519 §4.1.3), tokens without it pass.
    #[must_use]
    pub fn expect_no_audience(mut self) -> Self {
        self.audience = AudiencePolicy::NoneExpected;
        self
    }

    /// Accepts a token whatever its `aud` says, or without one. For an
    /// authorization server that introspects (RFC 7662) tokens it issued
    /// for many resource servers, and reports `aud` for each to decide.
    /// Never for a resource server: a token minted for another service
    /// then passes here too (RFC 7519 §4.1.3, RFC 8725 §3.9).
    #[must_use]
    pub fn danger_accept_any_audience(mut self) -> Self {
        self.audience = AudiencePolicy::Any;
        self
    }

    /// Requires the header `typ` to name this media type (compared
    /// case-insensitively, `application/` prefix optional, RFC 7515
    /// §4.1.9). One of the token type choices; for access tokens prefer
    /// [`access_token_profile`](Self::access_token_profile).
    #[must_use]
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = TypPolicy::Required(typ.into());
        self
    }

    /// Accepts a token whatever its `typ` header says, or without one: an
    /// ID token, a logout token or a DPoP proof of the same issuer and
    /// audience then passes as well (RFC 8725 §3.11). Only for keys that
    /// sign a single kind of token.
    #[must_use]
    pub fn danger_accept_any_type(mut self) -> Self {
        self.typ = TypPolicy::Any;
        self
    }

    /// Requires a registered claim to be present.
    #[must_use]
    pub fn require(mut self, claim: Claim) -> Self {
        self.required |= claim.bit();
        self
    }

    /// The RFC 9068 access token profile: `typ` must be `at+jwt`, and `iss`,
    /// `exp`, `aud`, `sub`, `client_id`, `iat` and `jti` are required, so an
    /// ID token or any other JWT from the same issuer cannot pass as an
    /// access token. Issuer and audience must still be configured.
    #[must_use]
    pub fn access_token_profile(mut self) -> Self {
        self.typ = TypPolicy::Required(ACCESS_TOKEN_TYPE.to_owned());
        for claim in [
            Claim::Issuer,
            Claim::ExpiresAt,
            Claim::Audience,
            Claim::Subject,
            Claim::ClientId,
            Claim::IssuedAt,
            Claim::JwtId,
        ] {
            self.required |= claim.bit();
        }
        self
    }

    /// Accepts tokens without `exp`. Such tokens never expire: only
    /// revocation takes them back.
    #[must_use]
    pub fn danger_allow_missing_exp(mut self) -> Self {
        self.exp_optional = true;
        self
    }

    /// Sets the leeway applied to `exp`, `nbf`, `iat` and the maximum age.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Rejects tokens issued more than `max_age` ago (requires `iat`).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Sets the maximum token size in bytes (default 8 KiB, at most 1 MiB).
    #[must_use]
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// Reads time from `clock`.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Consults `revocation` for every token that passed the other checks.
    /// A token without `jti` cannot be revoked individually (only by
    /// subject, key or session); combine with
    /// [`require(Claim::JwtId)`](Self::require) to refuse such tokens.
    #[must_use]
    pub fn revocation(mut self, revocation: Arc<dyn Revocation>) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// Requires every token to meet `requirement` (reported as
    /// [`Error::InsufficientScope`]).
    #[must_use]
    pub fn require_scopes(mut self, requirement: ScopeRequirement) -> Self {
        self.scopes = Some(requirement);
        self
    }

    /// Keeps up to `capacity` tokens that passed validation, so that a
    /// client sending the same token on every request pays for one
    /// signature check per token, not per request. Off by default.
    ///
    /// A hit skips only what cannot change for the same bytes (decoding,
    /// parsing, the signature check): the allow-list, the key lookup (the
    /// store must still hand out the very key that verified the token, so
    /// a retired or replaced key takes its tokens with it), `exp`, `nbf`,
    /// `iat`, age, issuer, audience, `typ`, revocation and scopes are
    /// checked again on every hit. Only tokens that passed every check
    /// enter; a forged or failed token never does. Entries are keyed by a
    /// SipHash of the token under a random key and compared in constant
    /// time; a full cache drops its oldest entry to make room. An entry
    /// holds the token, its decoded payload and its claims, a few times the
    /// token's size; tokens over 4 KiB are validated in full every time and
    /// never kept. A hit is faster than a miss, so the response time tells
    /// whether a token was used recently; only its bearer can ask.
    pub fn cache_verified(mut self, capacity: usize) -> Self {
        self.cache = Some(capacity);
        self
    }

    /// Reads the granted scopes from the claim `name` instead of `scope`:
    /// `scope_claim("scp")` for Okta and Entra ID. Either claim may be a
    /// space-delimited string or an array of strings; any other type, or an
    /// array element that is empty or holds a space, is
    /// [`Error::Malformed`] naming the claim. With another claim named, a
    /// `scope` member grants nothing. [`require(Claim::Scope)`](Self::require)
    /// then requires the named claim.
    #[must_use]
    pub fn scope_claim(mut self, name: impl Into<String>) -> Self {
        self.scope_claim = name.into();
        self
    }

    /// Builds the validator.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when no issuer, audience or token
    /// type policy was chosen, a list of issuers or audiences is empty or
    /// holds an empty string, the required type is empty, the allow-list is
    /// empty or names an algorithm no key in the store has, the store holds
    /// no key and no allow-list is given, the leeway or maximum age is
    /// negative, the size limit is 0 or over 1 MiB, or the scope claim is
    /// empty or another registered claim (`sub`, `aud`, ...).
    pub fn build(self) -> Result<Validator, Error> {
        match &self.issuer {
            IssuerPolicy::Unset => {
                return Err(Error::config(
                    "no issuer policy: call issuer()/issuers() or danger_accept_any_issuer()",
                ));
            }
            IssuerPolicy::OneOf(list) if list.is_empty() => {
                return Err(Error::config("the list of issuers is empty"));
            }
            _ => {}
        }
        match &self.audience {
            AudiencePolicy::Unset => {
                return Err(Error::config(
                    "no audience policy: call audience()/audiences(), expect_no_audience() \
                     or danger_accept_any_audience()",
                ));
            }
            AudiencePolicy::AnyOf(list) | AudiencePolicy::AllOf(list) if list.is_empty() => {
                return Err(Error::config("the list of audiences is empty"));
            }
            _ => {}
        }
        let typ = match self.typ {
            TypPolicy::Unset => {
                return Err(Error::config(
                    "no token type policy: call access_token_profile() (RFC 9068 at+jwt), \
                     typ(..) or danger_accept_any_type()",
                ));
            }
            TypPolicy::Required(t) if t.trim().is_empty() => {
                return Err(Error::config("the required token type is empty"));
            }
            TypPolicy::Required(t) => Some(t),
            TypPolicy::Any => None,
        };
        if let IssuerPolicy::OneOf(list) = &self.issuer
            && list.iter().any(|i| i.is_empty())
        {
            return Err(Error::config("an accepted issuer is the empty string"));
        }
        if let AudiencePolicy::AnyOf(list) | AudiencePolicy::AllOf(list) = &self.audience
            && list.iter().any(|a| a.is_empty())
        {
            return Err(Error::config("an accepted audience is the empty string"));
        }
        let in_store = self.store.algorithms();
        let allowed = match self.allowed {
            Some(list) if list.is_empty() => {
                return Err(Error::config("the algorithm allow-list is empty"));
            }
            Some(list) if !in_store.is_empty() && !list.is_subset_of(in_store) => {
                let missing: Vec<&str> = list
                    .iter()
                    .filter(|a| !in_store.contains(*a))
                    .map(Algorithm::as_str)
                    .collect();
                return Err(Error::InvalidConfiguration(
                    format!(
                        "the allow-list names algorithms no key in the store has: {}",
                        missing.join(", ")
                    )
                    .into(),
                ));
            }
            Some(list) => list,
            None if in_store.is_empty() => {
                return Err(Error::config(
                    "the key store holds no key: if it was imported from a JWK Set \
                     whose keys have no `alg` (RSA keys often have none), bind them \
                     with JwkSetOptions::assume_alg, since an allow-list cannot use \
                     a key bound to no algorithm; for a store filled later, name the \
                     algorithms to accept",
                ));
            }
            None => Algorithm::ALL.into_iter().collect(),
        };
        if self.leeway.is_negative() {
            return Err(Error::config("the leeway is negative"));
        }
        if let Some(margin) = self.revocation.as_ref().and_then(|r| r.retention_margin())
            && self.leeway > margin
        {
            // Tokens pass until exp + leeway; the store forgets their
            // revocation at exp + margin. In between, a revoked token
            // would validate again.
            return Err(Error::InvalidConfiguration(
                format!(
                    "the leeway ({} s) exceeds the revocation store's retention margin \
                     ({} s): a revoked token would pass again after its entry is pruned; \
                     keep the leeway at most the margin, or widen the margin",
                    self.leeway.whole_seconds(),
                    margin.whole_seconds()
                )
                .into(),
            ));
        }
        if self.max_age.is_some_and(|m| m.is_negative()) {
            return Err(Error::config("the maximum age is negative"));
        }
        if self.max_size == 0 || self.max_size > MAX_TOKEN_SIZE_LIMIT {
            return Err(Error::config(
                "the token size limit must be 1 byte to 1 MiB",
            ));
        }
        if self
            .cache
            .is_some_and(|c| c == 0 || c > cache::MAX_CAPACITY)
        {
            return Err(Error::config(
                "the verified-token cache must hold 1 to 10,000,000 tokens",
            ));
        }
        if self.scope_claim.is_empty() {
            return Err(Error::config("the scope claim name is empty"));
        }
        if ALL_CLAIMS
            .iter()
            .any(|c| *c != Claim::Scope && c.name() == self.scope_claim)
        {
            return Err(Error::config(
                "the scope claim is another registered claim: scopes cannot be read from it",
            ));
        }
        let mut required = self.required;
        if !self.exp_optional {
            required |= Claim::ExpiresAt.bit();
        }
        if matches!(self.issuer, IssuerPolicy::OneOf(_)) {
            required |= Claim::Issuer.bit();
        }
        if matches!(
            self.audience,
            AudiencePolicy::AnyOf(_) | AudiencePolicy::AllOf(_)
        ) {
            required |= Claim::Audience.bit();
        }
        if self.max_age.is_some() {
            required |= Claim::IssuedAt.bit();
        }
        Ok(Validator {
            config: Arc::new(Config {
                store: self.store,
                allowed,
                issuer: self.issuer,
                audience: self.audience,
                typ,
                required,
                leeway: self.leeway.whole_seconds(),
                max_age: self.max_age.map(|m| m.whole_seconds()),
                max_size: self.max_size,
                clock: self.clock,
                revocation: self.revocation,
                scopes: self.scopes,
                scope_claim: self.scope_claim.into(),
                cache: self.cache.map(VerifiedCache::new),
            }),
        })
    }
}
