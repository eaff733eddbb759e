use std::sync::Arc;

use crate::crypto::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::claims::{Claims, ClaimsView, MAX_NUMERIC_DATE, NoCustomClaims, Registered};
use super::text::{Audience, ClaimStr};
use crate::clock::{Clock, SystemClock};
use crate::encoding::b64_encode_slice;
use crate::error::Error;
use crate::jws;
use crate::keys::SigningKey;

/// The default token lifetime: 15 minutes.
pub const DEFAULT_LIFETIME: Duration = Duration::minutes(15);

/// `typ` of RFC 9068 JWT access tokens.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

#[derive(Debug, Clone)]
enum Expiry {
    Lifetime(Duration),
    At(i64),
    Never,
}

#[derive(Debug, Clone)]
enum JwtId {
    Random,
    Fixed(String),
    Omit,
}

/// Builds and signs JWTs (the issuer side).
///
/// # Defaults
///
/// - `iat` is the clock's now; `exp` is now + 15 minutes
///   ([`DEFAULT_LIFETIME`]); no `nbf`.
/// - `jti` is 128 random bits from the system generator, base64url.
/// - header `typ` is `JWT` (`at+jwt` after [`TokenBuilder::access_token`]);
///   `kid` is the signing key's id.
///
/// A builder is a template: [`TokenBuilder::sign`] takes `&self`, reads the
/// clock and draws a fresh `jti` for every token.
///
/// ```
/// use tokengate::{Algorithm, SigningKey, TokenBuilder};
/// use time::Duration;
///
/// let key = SigningKey::generate(Algorithm::ES256)?;
/// let token = TokenBuilder::new()
///     .issuer("https://auth.example.com")
///     .subject("user-42")
///     .audience("https://api.example.com")
///     .lifetime(Duration::minutes(5))
///     .scope("orders:read")
///     .sign(&key)?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenBuilder<T = NoCustomClaims> {
    claims: Claims<T>,
    expiry: Expiry,
    not_before: Option<i64>,
    jti: JwtId,
    typ: String,
    clock: Arc<dyn Clock>,
}

impl Default for TokenBuilder<NoCustomClaims> {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenBuilder<NoCustomClaims> {
    /// A builder with the defaults above and no claims set.
    pub fn new() -> Self {
        Self {
            claims: Claims::default(),
            expiry: Expiry::Lifetime(DEFAULT_LIFETIME),
            not_before: None,
            jti: JwtId::Random,
            typ: "JWT".to_owned(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl<T: Serialize> TokenBuilder<T> {
    /// Sets `iss`.
    #[must_use]
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.claims.issuer = Some(ClaimStr::from(iss.into()));
        self
    }

    /// Sets `sub`.
    #[must_use]
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.claims.subject = Some(ClaimStr::from(sub.into()));
        self
    }

    /// Sets `aud` to one audience (serialized as a string).
    #[must_use]
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.claims.audience = Some(Audience::from(aud.into()));
        self
    }

    /// Sets `aud` to several audiences (serialized as an array unless there
    /// is exactly one).
    #[must_use]
    pub fn audiences<I, S>(mut self, aud: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.claims.audience = Some(aud.into_iter().map(Into::<String>::into).collect());
        self
    }

    /// Sets `exp` to `lifetime` after the time of issue.
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.expiry = Expiry::Lifetime(lifetime);
        self
    }

    /// Sets `exp` to a fixed instant.
    #[must_use]
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expiry = Expiry::At(at.unix_timestamp());
        self
    }

    /// Omits `exp`. Validators reject such tokens unless told otherwise;
    /// a token without `exp` can only be taken back by revocation.
    #[must_use]
    pub fn no_expiry(mut self) -> Self {
        self.expiry = Expiry::Never;
        self
    }

    /// Sets `nbf`.
    #[must_use]
    pub fn not_before(mut self, at: OffsetDateTime) -> Self {
        self.not_before = Some(at.unix_timestamp());
        self
    }

    /// Uses a fixed `jti` instead of a random one.
    #[must_use]
    pub fn jwt_id(mut self, jti: impl Into<String>) -> Self {
        self.jti = JwtId::Fixed(jti.into());
        self
    }

    /// Omits `jti`.
    #[must_use]
    pub fn without_jwt_id(mut self) -> Self {
        self.jti = JwtId::Omit;
        self
    }

    /// Draws a random 128-bit `jti` for each token signed (the default),
    /// whatever a template said: tokens minted from one template must not
    /// share an id, or revoking one would revoke them all.
    #[must_use]
    pub fn random_jwt_id(mut self) -> Self {
        self.jti = JwtId::Random;
        self
    }

    /// Removes `scope`, `client_id` and `sid`: what a template may carry but
    /// must not hand to a token minted for a particular grant, whose own
    /// values are set after.
    #[must_use]
    pub fn without_grant_claims(mut self) -> Self {
        self.claims.scope = None;
        self.claims.client_id = None;
        self.claims.session_id = None;
        self
    }

    /// Sets `scope` (space-delimited scope tokens).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.claims.scope = Some(ClaimStr::from(scope.into()));
        self
    }

    /// Sets `client_id`.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.claims.client_id = Some(ClaimStr::from(client_id.into()));
        self
    }

    /// Sets `sid`, the session (refresh token family) the token belongs to,
    /// so that revoking the session revokes the token.
    #[must_use]
    pub fn session_id(mut self, sid: impl Into<String>) -> Self {
        self.claims.session_id = Some(ClaimStr::from(sid.into()));
        self
    }

    /// Sets the header `typ`.
    #[must_use]
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = typ.into();
        self
    }

    /// Marks the token as an RFC 9068 access token: header `typ` `at+jwt`.
    /// RFC 9068 also requires `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`
    /// and `jti`; [`TokenBuilder::sign`] refuses an access token without
    /// them.
    #[must_use]
    pub fn access_token(self) -> Self {
        self.typ(ACCESS_TOKEN_TYPE)
    }

    /// Reads time from `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the custom claims with `custom`, which must serialize to a
    /// JSON object whose members are not registered claim names.
    #[must_use]
    pub fn custom<U: Serialize>(self, custom: U) -> TokenBuilder<U> {
        TokenBuilder {
            claims: self.claims.with_custom(custom),
            expiry: self.expiry,
            not_before: self.not_before,
            jti: self.jti,
            typ: self.typ,
            clock: self.clock,
        }
    }

    /// The claims the next token would carry, with times from the clock
    /// and a fresh `jti`.
    ///
    /// # Errors
    ///
    /// As [`TokenBuilder::sign`], less signing.
    pub fn claims(&self) -> Result<Claims<&T>, Error> {
        let mut jti = [0u8; JTI_LEN];
        let r = self.registered(&mut jti)?;
        let c = &self.claims;
        Ok(Claims {
            issuer: c.issuer.clone(),
            subject: c.subject.clone(),
            audience: c.audience.clone(),
            expires_at: r.expires_at,
            not_before: r.not_before,
            issued_at: r.issued_at,
            jwt_id: r.jwt_id.map(ClaimStr::from),
            scope: c.scope.clone(),
            client_id: c.client_id.clone(),
            session_id: c.session_id.clone(),
            custom: &c.custom,
        })
    }

    /// The registered claims of the next token, borrowing the builder's
    /// strings; a random `jti` is written into `jti`. Checks the times and
    /// the RFC 9068 claims of an access token.
    fn registered<'a>(&'a self, jti: &'a mut [u8; JTI_LEN]) -> Result<Registered<'a>, Error> {
        let now = self.clock.now_unix();
        let c = &self.claims;
        let mut r = Registered::of(c);
        r.issued_at = Some(now);
        r.not_before = self.not_before;
        r.expires_at = match self.expiry {
            Expiry::Lifetime(d) => Some(now.saturating_add(d.whole_seconds())),
            Expiry::At(t) => Some(t),
            Expiry::Never => None,
        };
        r.jwt_id = match &self.jti {
            JwtId::Random => Some(random_jti(jti)?),
            JwtId::Fixed(j) => Some(j.as_str()),
            JwtId::Omit => None,
        };
        for t in [r.expires_at, r.not_before, r.issued_at]
            .into_iter()
            .flatten()
        {
            if !(0..=MAX_NUMERIC_DATE).contains(&t) {
                return Err(Error::config(
                    "a token time is outside the NumericDate range",
                ));
            }
        }
        if jws::typ_matches(ACCESS_TOKEN_TYPE, &self.typ) {
            use super::claims::Claim::*;
            for claim in [
                Issuer, ExpiresAt, Audience, Subject, ClientId, IssuedAt, JwtId,
            ] {
                if !r.has(claim) {
                    return Err(Error::InvalidConfiguration(
                        format!("an at+jwt access token needs `{claim}`").into(),
                    ));
                }
            }
        }
        Ok(r)
    }

    /// Signs a token with `key` and returns it in compact form.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when the custom claims do not
    /// serialize to an object, repeat a registered claim, a time is out of
    /// range, or an `at+jwt` token lacks an RFC 9068 claim;
    /// [`Error::SigningFailed`] when the crypto library fails;
    /// [`Error::RandomnessFailed`] when the system random generator fails
    /// while drawing a `jti`.
    pub fn sign(&self, key: &SigningKey) -> Result<String, Error> {
        let mut jti = [0u8; JTI_LEN];
        let view = ClaimsView {
            registered: self.registered(&mut jti)?,
            custom: &self.claims.custom,
        };
        let payload = serde_json::to_vec(&view)
            .map_err(|e| Error::InvalidConfiguration(e.to_string().into()))?;
        jws::sign(&payload, key, Some(&self.typ))
    }
}

/// Characters of a random `jti`: 128 bits in base64url.
const JTI_LEN: usize = 22;

/// 128 random bits, base64url (22 characters), written into `out`.
fn random_jti(out: &mut [u8; JTI_LEN]) -> Result<&str, Error> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::RandomnessFailed)?;
    b64_encode_slice(&bytes, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::jws::Algorithm;

    #[test]
    fn defaults() {
        let b = TokenBuilder::new().clock(Arc::new(FixedClock::at_unix(1_000)));
        let c = b.claims().unwrap();
        assert_eq!(c.issued_at, Some(1_000));
        assert_eq!(c.expires_at, Some(1_000 + 900));
        assert_eq!(c.not_before, None);
        let jti = c.jwt_id.unwrap();
        assert_eq!(jti.len(), 22);
        assert_ne!(b.claims().unwrap().jwt_id.unwrap(), jti);
    }

    #[test]
    fn access_tokens_need_rfc9068_claims() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let b = TokenBuilder::new().access_token().issuer("i").subject("s");
        assert!(matches!(b.sign(&key), Err(Error::InvalidConfiguration(_))));
        let b = b.audience("a").client_id("c");
        assert!(b.sign(&key).is_ok());
        assert!(b.clone().without_jwt_id().sign(&key).is_err());
    }

    #[test]
    fn out_of_range_times_are_refused() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let b = TokenBuilder::new().lifetime(Duration::days(365 * 20_000));
        assert!(matches!(b.sign(&key), Err(Error::InvalidConfiguration(_))));
    }
}
