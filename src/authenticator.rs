//! The front door: one call from an HTTP `Authorization` header value to a
//! [`Principal`], for any web framework.
//!
//! The header must use the RFC 6750 `Bearer` scheme (scheme name
//! case-insensitive, then one or more spaces, then a `b64token`: letters,
//! digits, `-._~+/`, optionally followed by `=` padding, and nothing else).
//! The credential is an API key when it parses as one of the API key
//! format (length, lead, alphabet and checksum, before any lookup), and
//! otherwise a JWT access token: routing is by a full parse, never by a
//! prefix alone. (A JWT, with its dots, never parses as an API key, so
//! the two kinds cannot overlap.) Failures carry the RFC 6750 §3.1 error
//! code, the HTTP status and a ready `WWW-Authenticate` value.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::api_key::ApiKeyVerifier;
use crate::error::{Error, Malformed};
use crate::jwt::{Claims, NoCustomClaims, Validator, parse_custom};
use crate::scope::{ScopeRequirement, ScopeSet};

/// Which kind of credential authenticated the request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A JWT access token.
    AccessToken,
    /// An API key.
    ApiKey,
}

/// The authenticated caller.
///
/// `T` is the application's own claims type, read from an access token by
/// [`Authenticator::authenticate_with`] (a tenant id, roles); the common
/// calls, [`Authenticator::authenticate`] and
/// [`Authenticator::authenticate_for`], read none.
///
/// Read through methods, as every value the crate verified: only the
/// crate makes one. For an access token, the subject, issuer and ids are
/// read from the verified claims themselves, not from copies of them.
/// Cloning shares them: a clone (into request extensions, into a
/// handler) copies no claim.
#[derive(Debug, PartialEq, Eq)]
pub struct Principal<T = NoCustomClaims> {
    inner: Arc<Held<T>>,
}

impl<T> Clone for Principal<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Held<T> {
    scopes: ScopeSet,
    source: Source<T>,
}

// Held once, behind the principal's `Arc`: boxing the claims would cost
// an allocation to save bytes that are never moved.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source<T> {
    AccessToken(Claims<T>),
    ApiKey {
        owner: String,
        id: String,
        expires_at: Option<i64>,
    },
}

impl<T> Principal<T> {
    fn new(scopes: ScopeSet, source: Source<T>) -> Self {
        Self {
            inner: Arc::new(Held { scopes, source }),
        }
    }

    /// `sub` of the token (`None` for a token without one, such as a client
    /// credentials grant's), or the API key's owner.
    pub fn subject(&self) -> Option<&str> {
        match &self.inner.source {
            Source::AccessToken(claims) => claims.subject.as_deref(),
            Source::ApiKey { owner, .. } => Some(owner),
        }
    }

    /// `iss` of the token; `None` for an API key.
    pub fn issuer(&self) -> Option<&str> {
        match &self.inner.source {
            Source::AccessToken(claims) => claims.issuer.as_deref(),
            Source::ApiKey { .. } => None,
        }
    }

    /// The scopes granted.
    pub fn scopes(&self) -> &ScopeSet {
        &self.inner.scopes
    }

    /// The credential kind.
    pub fn kind(&self) -> CredentialKind {
        match &self.inner.source {
            Source::AccessToken(_) => CredentialKind::AccessToken,
            Source::ApiKey { .. } => CredentialKind::ApiKey,
        }
    }

    /// The token's `jti`, or the API key's id.
    pub fn credential_id(&self) -> Option<&str> {
        match &self.inner.source {
            Source::AccessToken(claims) => claims.jwt_id.as_deref(),
            Source::ApiKey { id, .. } => Some(id),
        }
    }

    /// The OAuth client, for access tokens that name one.
    pub fn client_id(&self) -> Option<&str> {
        match &self.inner.source {
            Source::AccessToken(claims) => claims.client_id.as_deref(),
            Source::ApiKey { .. } => None,
        }
    }

    /// When the credential expires, seconds since the epoch.
    pub fn expires_at(&self) -> Option<i64> {
        match &self.inner.source {
            Source::AccessToken(claims) => claims.expires_at,
            Source::ApiKey { expires_at, .. } => *expires_at,
        }
    }

    /// Every verified claim of an access token, the application's own
    /// (`T`) included, so a handler reads them without validating the token
    /// again; `None` for an API key.
    pub fn claims(&self) -> Option<&Claims<T>> {
        match &self.inner.source {
            Source::AccessToken(claims) => Some(claims),
            Source::ApiKey { .. } => None,
        }
    }

    /// The application's own claims of an access token; `None` for an API
    /// key.
    pub fn custom(&self) -> Option<&T> {
        self.claims().map(|c| &c.custom)
    }

    /// Takes the verified claims out (copied if a clone of this principal
    /// is still alive); `None` for an API key.
    pub fn into_claims(self) -> Option<Claims<T>>
    where
        T: Clone,
    {
        match Arc::unwrap_or_clone(self.inner).source {
            Source::AccessToken(claims) => Some(claims),
            Source::ApiKey { .. } => None,
        }
    }
}

/// The RFC 6750 §3.1 error codes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// The request carried no bearer credential at all: answer 401 with a
    /// bare challenge and no error code (RFC 6750 §3.1).
    MissingCredentials,
    /// The `Authorization` header is malformed: 400.
    InvalidRequest,
    /// The credential is malformed, expired, revoked, unknown or otherwise
    /// invalid: 401.
    InvalidToken,
    /// The credential lacks scopes: 403.
    InsufficientScope,
    /// Our side failed (the crypto library, the random generator, a
    /// misconfiguration): 500. The request was not authenticated.
    ServerError,
    /// A dependency of ours is unavailable (a shared store, a remote key
    /// set past its staleness bound): 503, so clients retry rather than
    /// discard their credentials. The request was not authenticated.
    Unavailable,
}

impl BearerError {
    /// The `error` attribute value, if this kind has one.
    pub fn code(self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest => Some("invalid_request"),
            Self::InvalidToken => Some("invalid_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
            Self::MissingCredentials | Self::ServerError | Self::Unavailable => None,
        }
    }

    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::MissingCredentials | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::Unavailable => 503,
        }
    }
}

/// Why a request was not authenticated.
#[derive(Debug)]
pub struct AuthError {
    kind: BearerError,
    cause: Option<Error>,
    realm: Option<String>,
    required: Option<ScopeSet>,
}

impl AuthError {
    /// The RFC 6750 category.
    pub fn bearer_error(&self) -> BearerError {
        self.kind
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The underlying error, with its stable [`kind`](Error::kind), for
    /// logs; `None` when no credential was presented or the header was
    /// malformed.
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_ref()
    }

    /// The `WWW-Authenticate` response header value, such as
    /// `Bearer realm="api", error="invalid_token"`. It names the error
    /// class only, never the token or the precise reason (which stays in
    /// [`AuthError::cause`] for logs). For `insufficient_scope`, `scope`
    /// lists every scope the route's requirement names (RFC 6750 §3: the
    /// scope necessary to access the resource), not only the missing ones.
    /// A challenge belongs on 401 and 403 answers; with
    /// [`BearerError::ServerError`] (500) and [`BearerError::Unavailable`]
    /// (503) send none.
    pub fn www_authenticate(&self) -> String {
        let mut out = String::from("Bearer");
        let mut attrs: Vec<String> = Vec::new();
        if let Some(realm) = &self.realm {
            attrs.push(format!("realm=\"{}\"", quote(realm)));
        }
        if let Some(code) = self.kind.code() {
            attrs.push(format!("error=\"{code}\""));
        }
        if let Some(scopes) = &self.required {
            attrs.push(format!("scope=\"{}\"", quote(&scopes.to_string())));
        }
        if !attrs.is_empty() {
            out.push(' ');
            out.push_str(&attrs.join(", "));
        }
        out
    }
}

/// Escapes `"` and `\` for a quoted-string (RFC 9110 §5.6.4).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.cause, self.kind.code()) {
            (Some(e), _) => write!(f, "{e}"),
            (None, Some(code)) => f.write_str(code),
            (None, None) => f.write_str("no bearer credentials"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_ref().map(|e| e as _)
    }
}

/// Authenticates requests from their `Authorization` header.
///
/// ```
/// use std::sync::Arc;
/// use tokengate::authenticator::Authenticator;
/// use tokengate::{Algorithm, KeyRing, ScopeRequirement, SigningKey, TokenBuilder, Validator};
///
/// let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
/// let validator = Validator::builder(Arc::clone(&ring))
///     .access_token_profile()
///     .issuer("https://auth.example.com")
///     .audience("orders-api")
///     .build()?;
/// let door = Authenticator::builder()
///     .access_tokens(validator)
///     .realm("orders")
///     .build()?;
///
/// let token = TokenBuilder::new()
///     .access_token()
///     .client_id("orders-web")
///     .issuer("https://auth.example.com")
///     .audience("orders-api")
///     .subject("user-7")
///     .scope("orders:read")
///     .sign(&ring.current())?;
/// let header = format!("Bearer {token}");
///
/// let principal = door.authenticate_for(Some(&header), &ScopeRequirement::all("orders:read")?)?;
/// assert_eq!(principal.subject(), Some("user-7"));
/// assert_eq!(principal.issuer(), Some("https://auth.example.com"));
///
/// let denied = door
///     .authenticate_for(Some(&header), &ScopeRequirement::all("orders:write")?)
///     .unwrap_err();
/// assert_eq!(denied.status(), 403);
/// assert_eq!(
///     denied.www_authenticate(),
///     r#"Bearer realm="orders", error="insufficient_scope", scope="orders:write""#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Built with [`Authenticator::builder`], which refuses a front door that
/// accepts no credential kind (it would answer every request 401, a
/// misconfiguration passed off as a bad token).
#[derive(Debug, Clone)]
pub struct Authenticator {
    validator: Option<Validator>,
    api_keys: Option<ApiKeyVerifier>,
    realm: Option<String>,
}

/// Builds an [`Authenticator`]: the credential kinds it accepts and the
/// realm of its challenges.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct AuthenticatorBuilder {
    validator: Option<Validator>,
    api_keys: Option<ApiKeyVerifier>,
    realm: Option<String>,
}

impl AuthenticatorBuilder {
    /// Accepts JWT access tokens checked by `validator`. Its scope
    /// requirement ([`ValidatorBuilder::require_scopes`](crate::ValidatorBuilder::require_scopes)),
    /// if any, applies to API keys at this door as well: one requirement
    /// for every credential kind.
    pub fn access_tokens(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Accepts API keys checked by `verifier`.
    pub fn api_keys(mut self, verifier: ApiKeyVerifier) -> Self {
        self.api_keys = Some(verifier);
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The configured front door.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when it accepts neither access
    /// tokens nor API keys.
    pub fn build(self) -> Result<Authenticator, Error> {
        if self.validator.is_none() && self.api_keys.is_none() {
            return Err(Error::config(
                "a front door needs `access_tokens(validator)`, `api_keys(verifier)` or both",
            ));
        }
        Ok(Authenticator {
            validator: self.validator,
            api_keys: self.api_keys,
            realm: self.realm,
        })
    }
}

impl Authenticator {
    /// A builder that accepts nothing yet.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    fn fail(&self, kind: BearerError, cause: Option<Error>) -> AuthError {
        let required = match &cause {
            Some(Error::InsufficientScope { missing }) => Some(missing.clone()),
            _ => None,
        };
        AuthError {
            kind,
            cause,
            realm: self.realm.clone(),
            required,
        }
    }

    /// As `reject`, naming in the challenge every scope of the
    /// requirements that applied: the validator's own (for access tokens)
    /// and the route's.
    fn reject_for(
        &self,
        e: Error,
        own: Option<&ScopeRequirement>,
        route: Option<&ScopeRequirement>,
    ) -> AuthError {
        let mut err = self.reject(e);
        if err.kind == BearerError::InsufficientScope {
            let mut needed: Vec<String> = Vec::new();
            for req in own.into_iter().chain(route) {
                needed.extend(req.scopes().iter().map(str::to_owned));
            }
            if let Ok(set) = ScopeSet::from_tokens(needed)
                && !set.is_empty()
            {
                err.required = Some(set);
            }
        }
        err
    }

    fn reject(&self, e: Error) -> AuthError {
        let kind = if e.is_unavailable() {
            BearerError::Unavailable
        } else if e.is_internal() || e.is_configuration() {
            BearerError::ServerError
        } else if matches!(e, Error::InsufficientScope { .. }) {
            BearerError::InsufficientScope
        } else {
            BearerError::InvalidToken
        };
        self.fail(kind, Some(e))
    }

    /// Authenticates a request from its `Authorization` header value
    /// (`None` when the request has none).
    ///
    /// # Errors
    ///
    /// An [`AuthError`] whose [`BearerError`] gives the status and
    /// challenge.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        self.authenticate_inner(authorization, None, |_| Ok(NoCustomClaims))
    }

    /// As [`Authenticator::authenticate`], and requires `requirement`
    /// (after the validator's own requirement, which applies to API keys
    /// too).
    ///
    /// # Errors
    ///
    /// As [`Authenticator::authenticate`]; missing scopes are
    /// [`BearerError::InsufficientScope`] with the scopes named in the
    /// challenge.
    pub fn authenticate_for(
        &self,
        authorization: Option<&str>,
        requirement: &ScopeRequirement,
    ) -> Result<Principal, AuthError> {
        self.authenticate_inner(authorization, Some(requirement), |_| Ok(NoCustomClaims))
    }

    /// As [`Authenticator::authenticate_for`] (or, without a requirement,
    /// [`Authenticator::authenticate`]), and reads the application's own
    /// claims of an access token into `T`, kept in
    /// [`Principal::claims`] so a handler needs no second validation.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tokengate::{Algorithm, Authenticator, KeyRing, SigningKey, TokenBuilder, Validator};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Tenant {
    ///     tenant: String,
    /// }
    /// # let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
    /// # let validator = Validator::builder(Arc::clone(&ring))
    /// #     .danger_accept_any_type()
    /// #     .issuer("https://auth.example.com")
    /// #     .audience("orders-api")
    /// #     .build()?;
    /// # let door = Authenticator::builder().access_tokens(validator).build()?;
    /// // A client credentials token: no `sub`, a tenant claim.
    /// let token = TokenBuilder::new()
    ///     .issuer("https://auth.example.com")
    ///     .audience("orders-api")
    ///     .custom(Tenant { tenant: "acme".into() })
    ///     .sign(&ring.current())?;
    /// let header = format!("Bearer {token}");
    /// let caller = door.authenticate_with::<Tenant>(Some(&header), None)?;
    /// assert_eq!(caller.subject(), None);
    /// assert_eq!(caller.custom().map(|t| t.tenant.as_str()), Some("acme"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Authenticator::authenticate_for`]; an access token whose claims
    /// do not deserialize into `T` is [`BearerError::InvalidToken`].
    pub fn authenticate_with<T: DeserializeOwned>(
        &self,
        authorization: Option<&str>,
        requirement: Option<&ScopeRequirement>,
    ) -> Result<Principal<T>, AuthError> {
        self.authenticate_inner(authorization, requirement, parse_custom::<T>)
    }

    /// The front door, the custom claims of an access token read by
    /// `custom` (for [`NoCustomClaims`], nothing is read).
    fn authenticate_inner<T>(
        &self,
        authorization: Option<&str>,
        requirement: Option<&ScopeRequirement>,
        custom: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<Principal<T>, AuthError> {
        let credential = match parse_bearer(authorization) {
            Ok(c) => c,
            Err(kind) => return Err(self.fail(kind, None)),
        };
        if let Some(verifier) = &self.api_keys {
            let key = match verifier.verify(credential) {
                Ok(key) => key,
                // Not an API key of this format (the parse failed before
                // any lookup): a JWT, if this door takes them.
                Err(Error::Malformed(Malformed::ApiKey)) if self.validator.is_some() => {
                    return self.access_token(credential, requirement, custom);
                }
                Err(e) => return Err(self.reject(e)),
            };
            // The validator's own requirement binds every credential
            // kind, then the route's, in the validator's order.
            let own = self
                .validator
                .as_ref()
                .and_then(Validator::scope_requirement);
            for req in own.into_iter().chain(requirement) {
                req.check(key.scopes())
                    .map_err(|e| self.reject_for(e, own, requirement))?;
            }
            return Ok(Principal::new(
                key.scopes().clone(),
                Source::ApiKey {
                    owner: key.owner().to_owned(),
                    id: key.id().to_owned(),
                    expires_at: key.expires_at().map(OffsetDateTime::unix_timestamp),
                },
            ));
        }
        self.access_token(credential, requirement, custom)
    }

    /// The refusal for a request whose `Authorization` field is malformed
    /// in a way only the HTTP layer can see, such as several
    /// `Authorization` lines (a request carries one credential): 400
    /// `invalid_request` with this door's realm, never "no credentials".
    pub fn refuse_malformed_header(&self) -> AuthError {
        self.fail(BearerError::InvalidRequest, None)
    }

    /// Checks a further scope requirement on a caller this door already
    /// authenticated (a route's own requirement, checked after a
    /// middleware authenticated every request), with the refusal this door
    /// would have given: 403 `insufficient_scope`, its realm, and the
    /// scopes of the validator's requirement and of `requirement` named in
    /// the challenge.
    ///
    /// # Errors
    ///
    /// [`BearerError::InsufficientScope`] when `principal`'s scopes do not
    /// satisfy `requirement`.
    pub fn require_scopes<T>(
        &self,
        principal: &Principal<T>,
        requirement: &ScopeRequirement,
    ) -> Result<(), AuthError> {
        let own = self
            .validator
            .as_ref()
            .and_then(Validator::scope_requirement);
        requirement
            .check(principal.scopes())
            .map_err(|e| self.reject_for(e, own, Some(requirement)))
    }

    /// The verified claims of a caller this door already authenticated,
    /// for a route that reads token claims: an API key has none, and is
    /// refused as this door refuses an invalid token (401
    /// `invalid_token`, its realm), with [`Error::MissingClaim`] (`iss`)
    /// as the cause for logs.
    ///
    /// # Errors
    ///
    /// [`BearerError::InvalidToken`] for an API key.
    pub fn require_claims<'p, T>(
        &self,
        principal: &'p Principal<T>,
    ) -> Result<&'p Claims<T>, AuthError> {
        principal
            .claims()
            .ok_or_else(|| self.reject(Error::MissingClaim(std::borrow::Cow::Borrowed("iss"))))
    }

    fn access_token<T>(
        &self,
        credential: &str,
        requirement: Option<&ScopeRequirement>,
        custom: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<Principal<T>, AuthError> {
        let Some(validator) = &self.validator else {
            // The builder refuses a door without either kind, and one
            // with API keys only answered above.
            return Err(self.reject(Error::config("no validator for access tokens")));
        };
        let ((), claims) = validator
            .verify::<T, ()>(credential, requirement, custom)
            .map_err(|e| self.reject_for(e, validator.scope_requirement(), requirement))?;
        let scopes = ScopeSet::parse(claims.scope.as_deref().unwrap_or(""))
            .map_err(|_| self.reject(Error::claim(validator.scope_claim().to_owned())))?;
        Ok(Principal::new(scopes, Source::AccessToken(claims)))
    }
}

/// The bytes of RFC 6750 §2.1 `b64token` (before its trailing `=`s):
/// letters, digits and `-._~+/`.
// Evaluated at compile time: an index out of bounds would fail the build,
// never panic at run time.
#[allow(clippy::indexing_slicing)]
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// Extracts the credential of an RFC 6750 §2.1 `Bearer` header.
fn parse_bearer(header: Option<&str>) -> Result<&str, BearerError> {
    let header = header.ok_or(BearerError::MissingCredentials)?;
    let (scheme, rest) = match header.split_once(' ') {
        Some(parts) => parts,
        // `Bearer` glued to anything but a space is a malformed attempt.
        None if header
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer")) =>
        {
            return Err(BearerError::InvalidRequest);
        }
        None => return Err(BearerError::MissingCredentials),
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, ...): no bearer credentials were offered.
        return Err(BearerError::MissingCredentials);
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    // One table lookup per byte, no early exit: the credential's bytes
    // are only ever checked in full.
    let valid = !body.is_empty()
        && body.bytes().fold(true, |ok, b| {
            ok & B64TOKEN.get(usize::from(b)).copied().unwrap_or(false)
        });
    if valid {
        Ok(token)
    } else {
        Err(BearerError::InvalidRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_of_b64token_and_no_other_is_accepted() {
        // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
        // "~" / "+" / "/" ) *"="
        let allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
        for b in 0..=255u8 {
            let expected = allowed.as_bytes().contains(&b);
            assert_eq!(B64TOKEN[usize::from(b)], expected, "byte {b:#04x}");
            if let Ok(text) = std::str::from_utf8(&[b'a', b, b'a']) {
                let header = format!("Bearer {text}");
                assert_eq!(parse_bearer(Some(&header)).is_ok(), expected, "{header:?}");
            }
        }
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(
            parse_bearer(Some("Bearer abc.def-_~+/==")),
            Ok("abc.def-_~+/==")
        );
        assert_eq!(parse_bearer(Some("bearer   abc")), Ok("abc"));
        assert_eq!(parse_bearer(Some("BEARER abc")), Ok("abc"));
        assert_eq!(parse_bearer(None), Err(BearerError::MissingCredentials));
        assert_eq!(
            parse_bearer(Some("Basic dXNlcjpwYXNz")),
            Err(BearerError::MissingCredentials)
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer abc def",
            "Bearer abc ",
            "Bearer a\tb",
            "Bearer \"abc\"",
            "Bearer abc,def",
            "Bearer ==",
            "Bearer a=b",
            "Bearer\tabc",
        ] {
            assert!(
                matches!(
                    parse_bearer(Some(bad)),
                    Err(BearerError::InvalidRequest | BearerError::MissingCredentials)
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_bearer(Some("Bearer abc def")),
            Err(BearerError::InvalidRequest)
        );
    }

    fn door(realm: Option<&str>) -> Authenticator {
        Authenticator {
            validator: None,
            api_keys: None,
            realm: realm.map(str::to_owned),
        }
    }

    #[test]
    fn challenges() {
        let e = door(Some("a\"b")).fail(BearerError::MissingCredentials, None);
        assert_eq!(e.www_authenticate(), r#"Bearer realm="a\"b""#);
        assert_eq!(e.status(), 401);
        let e = door(None).fail(BearerError::InvalidRequest, None);
        assert_eq!(e.www_authenticate(), r#"Bearer error="invalid_request""#);
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn checks_after_authentication() {
        let key_holder: Principal = Principal::new(
            ScopeSet::parse("orders:read").unwrap(),
            Source::ApiKey {
                owner: "billing".into(),
                id: "k1".into(),
                expires_at: None,
            },
        );
        let door = door(Some("api"));
        assert!(
            door.require_scopes(&key_holder, &ScopeRequirement::all("orders:read").unwrap())
                .is_ok()
        );
        let denied = door
            .require_scopes(&key_holder, &ScopeRequirement::all("orders:write").unwrap())
            .unwrap_err();
        assert_eq!(denied.status(), 403);
        assert_eq!(
            denied.www_authenticate(),
            r#"Bearer realm="api", error="insufficient_scope", scope="orders:write""#
        );
        let no_claims = door.require_claims(&key_holder).unwrap_err();
        assert_eq!(no_claims.status(), 401);
        assert_eq!(
            no_claims.www_authenticate(),
            r#"Bearer realm="api", error="invalid_token""#
        );
    }
}
