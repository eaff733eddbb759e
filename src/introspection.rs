//! Token introspection (RFC 7662) and revocation (RFC 7009), without HTTP.
//!
//! An [`Introspector`] knows the validator, API key verifier and refresh
//! tokens of an authorization server, recognises which kind a presented
//! token is by the format it parses as, and answers with an
//! [`IntrospectionResponse`] that serializes to the RFC's JSON. Anything
//! invalid, expired, revoked or unknown is `{"active":false}` and nothing
//! else.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

use crate::api_key::ApiKeyVerifier;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::jwt::{Claims, NoCustomClaims, Validator};
use crate::refresh::RefreshTokens;
use crate::revocation::{RevocationStore, instant};

/// An RFC 7662 §2.2 introspection response.
///
/// `token_type` follows RFC 6749 §5.1: `Bearer` for access tokens and API
/// keys (both are presented as bearer credentials), `N_A` for refresh
/// tokens (RFC 8693 §3: not an access token). The crate knows subjects,
/// not user names, so RFC 7662's optional `username` is not produced: an
/// application that has one adds it to the JSON itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntrospectionResponse {
    /// Whether the token is currently active.
    pub active: bool,
    /// Space-delimited scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OAuth client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The token type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not-before time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The audiences (a string when there is one).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "audience")]
    pub aud: Option<Vec<String>>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The token's identifier (`jti`; for an API key, its public id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

fn audience<S: serde::Serializer>(aud: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
    match aud.as_deref() {
        Some([one]) => s.serialize_str(one),
        Some(many) => many.serialize(s),
        None => s.serialize_none(),
    }
}

impl IntrospectionResponse {
    /// `{"active":false}`.
    pub fn inactive() -> Self {
        Self::default()
    }

    /// The RFC 7662 JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"active\":false}"))
    }
}

/// Introspects and revokes any token the crate issued.
///
/// Built with [`Introspector::builder`], which refuses a configuration
/// that knows no token kind, or whose API key and refresh token formats
/// overlap. A presented token is routed by the format it parses as (the
/// full check of length, lead, alphabet and checksum, never a prefix
/// alone): a refresh token, an API key, and anything else is a JWT access
/// token. So an API key `acme_live_…` is an API key even next to refresh
/// tokens `acme_…`, and API keys and refresh tokens may share a lead when
/// their lengths differ.
///
/// ```
/// use std::sync::Arc;
/// use tokengate::{Algorithm, Introspector, KeyRing, RevocationList, SigningKey, TokenBuilder, Validator};
///
/// let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
/// let revoked = Arc::new(RevocationList::new());
/// let validator = Validator::builder(Arc::clone(&ring))
///     .access_token_profile()
///     .issuer("https://auth.example.com")
///     .audience("https://api.example.com")
///     .revocation(revoked.clone())
///     .build()?;
/// let endpoint = Introspector::builder()
///     .access_tokens(validator)
///     .revocation(revoked)
///     .build()?;
///
/// let token = TokenBuilder::new()
///     .access_token()
///     .issuer("https://auth.example.com")
///     .audience("https://api.example.com")
///     .subject("user-42")
///     .client_id("web-app")
///     .sign(&ring.current())?;
/// assert!(endpoint.introspect(&token).active);
/// endpoint.revoke(&token, Some("web-app"))?; // by the client it was issued to
/// assert_eq!(endpoint.introspect(&token).to_json(), r#"{"active":false}"#);
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Introspector {
    validator: Option<Validator>,
    api_keys: Option<ApiKeyVerifier>,
    refresh: Option<RefreshTokens>,
    revocation: Option<Arc<dyn RevocationStore>>,
    clock: Option<Arc<dyn Clock>>,
}

/// Builds an [`Introspector`]: the token kinds it knows, where it revokes
/// access tokens, and its clock.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct IntrospectorBuilder {
    validator: Option<Validator>,
    api_keys: Option<ApiKeyVerifier>,
    refresh: Option<RefreshTokens>,
    revocation: Option<Arc<dyn RevocationStore>>,
    clock: Option<Arc<dyn Clock>>,
}

/// A valid access token to revoke, and the store to revoke it in.
struct ToRevoke<'a> {
    claims: Claims<NoCustomClaims>,
    store: &'a dyn RevocationStore,
}

/// What a presented token is, by the format it parses as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Refresh,
    ApiKey,
    /// Anything else: a JWT access token, or nothing this server issued.
    Jwt,
}

impl Introspector {
    /// A builder that knows no token kind yet.
    pub fn builder() -> IntrospectorBuilder {
        IntrospectorBuilder::default()
    }

    fn kind(&self, token: &str) -> Kind {
        if self
            .refresh
            .as_ref()
            .is_some_and(|r| r.format().is_well_formed(token))
        {
            Kind::Refresh
        } else if self
            .api_keys
            .as_ref()
            .is_some_and(|v| v.format().is_well_formed(token))
        {
            Kind::ApiKey
        } else {
            Kind::Jwt
        }
    }

    /// Introspects `token`. Never fails: anything that is not an active
    /// token of a configured kind is [`IntrospectionResponse::inactive`],
    /// and so is a token whose check hit a store failure (fail closed; use
    /// [`Introspector::try_introspect`] to see such failures).
    pub fn introspect(&self, token: &str) -> IntrospectionResponse {
        self.try_introspect(token)
            .unwrap_or_else(|_| IntrospectionResponse::inactive())
    }

    /// As [`Introspector::introspect`], but store failures are errors.
    ///
    /// # Errors
    ///
    /// Only internal failures ([`Error::is_internal`]).
    pub fn try_introspect(&self, token: &str) -> Result<IntrospectionResponse, Error> {
        let inactive = Ok(IntrospectionResponse::inactive());
        let kind = self.kind(token);
        if let (Kind::Refresh, Some(refresh)) = (kind, &self.refresh) {
            return Ok(match refresh.inspect(token)? {
                Some(r) => IntrospectionResponse {
                    active: true,
                    scope: (!r.scopes.is_empty()).then(|| r.scopes.to_string()),
                    client_id: r.client_id.clone(),
                    token_type: Some("N_A"),
                    exp: Some(refresh.expires_at(&r).unix_timestamp()),
                    iat: Some(r.issued_at.unix_timestamp()),
                    sub: Some(r.subject.clone()),
                    ..IntrospectionResponse::default()
                },
                None => IntrospectionResponse::inactive(),
            });
        }
        if let (Kind::ApiKey, Some(verifier)) = (kind, &self.api_keys) {
            return match verifier.verify(token) {
                Ok(k) => Ok(IntrospectionResponse {
                    active: true,
                    scope: (!k.scopes().is_empty()).then(|| k.scopes().to_string()),
                    token_type: Some("Bearer"),
                    exp: k.expires_at().map(time::OffsetDateTime::unix_timestamp),
                    iat: Some(k.record().created_at.unix_timestamp()),
                    sub: Some(k.owner().to_owned()),
                    jti: Some(k.id().to_owned()),
                    ..IntrospectionResponse::default()
                }),
                Err(e) if e.is_internal() => Err(e),
                Err(_) => inactive,
            };
        }
        let Some(validator) = &self.validator else {
            return inactive;
        };
        match validator.validate(token) {
            Ok(v) => {
                let c = v.into_claims();
                // Validators allow leeway for clock skew between servers;
                // introspection answers for this server's own clock
                // (RFC 7662 §2.2): past `exp` or before `nbf`, inactive.
                let now = validator.now_unix();
                if c.expires_at.is_some_and(|exp| now >= exp)
                    || c.not_before.is_some_and(|nbf| now < nbf)
                {
                    return inactive;
                }
                Ok(IntrospectionResponse {
                    active: true,
                    scope: c.scope.map(String::from),
                    client_id: c.client_id.map(String::from),
                    token_type: Some("Bearer"),
                    exp: c.expires_at,
                    iat: c.issued_at,
                    nbf: c.not_before,
                    sub: c.subject.map(String::from),
                    aud: c
                        .audience
                        .map(|a| a.iter().map(|s| s.to_string()).collect()),
                    iss: c.issuer.map(String::from),
                    jti: c.jwt_id.map(String::from),
                })
            }
            Err(e) if e.is_internal() => Err(e),
            Err(_) => inactive,
        }
    }

    /// Revokes `token` for the authenticated client `client_id` (RFC 7009
    /// §2.2: revoking an unknown, invalid or already revoked token
    /// succeeds; §2.1: a token issued to another client is refused). An
    /// access token is revoked in the revocation store by its `jti` until
    /// its `exp`, or by its `sid` (its whole session) when it has no
    /// `jti`; a refresh token revokes its whole family and that family's
    /// access tokens; an API key is revoked in its store.
    ///
    /// An access token with neither `jti` nor `sid` cannot be revoked
    /// alone: only together with every token of its subject, which is a
    /// different request ("log out everywhere") that the caller makes
    /// explicitly with [`Introspector::revoke_subject`]. A revocation
    /// endpoint answers this error with RFC 7009's
    /// `unsupported_token_type`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] for a token that goes to the access
    /// token path of an introspector built without
    /// [`revocation`](IntrospectorBuilder::revocation): it could not revoke
    /// it, and "200 for unknown tokens" is about tokens, not about a server
    /// that cannot revoke. [`Error::MissingClaim`] (`jti`) for a valid
    /// access token with neither `jti` nor `sid`: nothing is revoked.
    /// [`Error::WrongClient`] for a refresh token, or an access token with
    /// a `client_id` claim, issued to another client, and for an API key
    /// of another owner than `client_id`; internal failures,
    /// such as a store that cannot be written.
    pub fn revoke(&self, token: &str, client_id: Option<&str>) -> Result<(), Error> {
        let kind = self.kind(token);
        if let (Kind::Refresh, Some(refresh)) = (kind, &self.refresh) {
            return refresh.revoke(token, client_id);
        }
        if let (Kind::ApiKey, Some(verifier)) = (kind, &self.api_keys) {
            return match verifier.verify(token) {
                // An API key's client is its owner: another client that
                // got hold of it may not revoke it.
                Ok(k) if client_id.is_some_and(|c| c != k.owner()) => Err(Error::WrongClient),
                Ok(k) => verifier.revoke(k.id()).map(|_| ()),
                Err(e) if e.is_internal() => Err(e),
                Err(_) => Ok(()),
            };
        }
        let Some(ToRevoke {
            claims,
            store: list,
        }) = self.access_token_to_revoke(token, client_id)?
        else {
            return Ok(());
        };
        let now = self.now_unix();
        // A token without exp lives until revoked: keep the entry for the
        // largest NumericDate.
        let until = instant(claims.expires_at.unwrap_or(i64::MAX).max(now));
        match (&claims.jwt_id, &claims.session_id) {
            (Some(jti), _) => list.revoke_token(jti, until),
            (None, Some(sid)) => list.revoke_session(sid, until),
            (None, None) => Err(Error::MissingClaim(Cow::Borrowed("jti"))),
        }
    }

    /// Revokes every access token of the subject of `token` issued up to
    /// now, this second included ("log out everywhere", presented with one
    /// of the subject's access tokens), for the authenticated client
    /// `client_id`. The way to take back a token that has neither `jti`
    /// nor `sid`, which [`Introspector::revoke`] refuses; tokens issued
    /// from the next second on are valid. The entry stays in the
    /// revocation store until the store's `max_token_lifetime` has passed
    /// (for [`RevocationList`](crate::RevocationList), forever without
    /// one). As [`Introspector::revoke`], an invalid, expired or unknown
    /// token revokes nothing and succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] for an introspector without access
    /// tokens or without a revocation store; [`Error::MissingClaim`]
    /// (`sub`) for a valid token without a subject; [`Error::WrongClient`]
    /// for a token with a `client_id` claim issued to another client;
    /// internal failures.
    pub fn revoke_subject(&self, token: &str, client_id: Option<&str>) -> Result<(), Error> {
        if self.validator.is_none() {
            return Err(Error::config(
                "this introspector has no validator for access tokens",
            ));
        }
        let Some(ToRevoke {
            claims,
            store: list,
        }) = self.access_token_to_revoke(token, client_id)?
        else {
            return Ok(());
        };
        let subject = claims
            .subject
            .ok_or(Error::MissingClaim(Cow::Borrowed("sub")))?;
        list.revoke_subject_issued_through(&subject, instant(self.now_unix()))
    }

    /// The claims of `token`, a valid access token of `client_id` (or of
    /// no client), and the store to revoke it in; `None` when there is
    /// nothing to revoke (no access tokens configured, or an invalid,
    /// expired or unknown token).
    fn access_token_to_revoke(
        &self,
        token: &str,
        client_id: Option<&str>,
    ) -> Result<Option<ToRevoke<'_>>, Error> {
        let Some(validator) = &self.validator else {
            // No access tokens here: not a token this server knows.
            return Ok(None);
        };
        // Refused whatever the token, valid or not: the answer must not
        // depend on it, and the server cannot revoke any access token.
        let list = self.revocation.as_ref().ok_or_else(|| {
            Error::config(
                "this introspector cannot revoke access tokens: \
                 build it with `revocation(store)`",
            )
        })?;
        let claims = match validator.validate(token) {
            Ok(v) => v.into_claims(),
            Err(e) if e.is_internal() => return Err(e),
            Err(_) => return Ok(None),
        };
        if let Some(owner) = &claims.client_id
            && Some(owner.as_str()) != client_id
        {
            return Err(Error::WrongClient);
        }
        Ok(Some(ToRevoke {
            claims,
            store: &**list,
        }))
    }

    fn now_unix(&self) -> i64 {
        self.clock
            .as_ref()
            .map_or_else(|| SystemClock.now_unix(), |c| c.now_unix())
    }
}

impl IntrospectorBuilder {
    /// Introspects JWT access tokens with `validator`.
    pub fn access_tokens(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Introspects API keys with `verifier`.
    pub fn api_keys(mut self, verifier: ApiKeyVerifier) -> Self {
        self.api_keys = Some(verifier);
        self
    }

    /// Introspects refresh tokens.
    pub fn refresh_tokens(mut self, refresh: RefreshTokens) -> Self {
        self.refresh = Some(refresh);
        self
    }

    /// Revokes access tokens into `store` (by `jti` until their `exp`):
    /// the store the validators consult, directly or through a
    /// [`RevocationReplica`](crate::RevocationReplica). Without it, the
    /// introspector still introspects access tokens but refuses to revoke
    /// them ([`Introspector::revoke`] answers
    /// [`Error::InvalidConfiguration`]).
    pub fn revocation(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocation = Some(store);
        self
    }

    /// The clock used when revoking access tokens without `exp`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The configured introspector.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when no token kind is configured
    /// (every token would be inactive, every revocation a silent no-op),
    /// or when the API key format and the refresh token format overlap
    /// ([`ApiKeyFormat::overlaps`](crate::ApiKeyFormat::overlaps): the same
    /// lead and length), so that one string would be both and routing
    /// could not tell which it is.
    pub fn build(self) -> Result<Introspector, Error> {
        if self.validator.is_none() && self.api_keys.is_none() && self.refresh.is_none() {
            return Err(Error::config(
                "an introspector needs at least one token kind: \
                 `access_tokens`, `api_keys` or `refresh_tokens`",
            ));
        }
        if let (Some(keys), Some(refresh)) = (&self.api_keys, &self.refresh)
            && keys.format().overlaps(refresh.format())
        {
            return Err(Error::config(
                "the API key format and the refresh token format overlap \
                 (same lead and length): give them different prefixes",
            ));
        }
        Ok(Introspector {
            validator: self.validator,
            api_keys: self.api_keys,
            refresh: self.refresh,
            revocation: self.revocation,
            clock: self.clock,
        })
    }
}
