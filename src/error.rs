//! The crate's one error type and its stable kinds.
//!
//! Every failure is an [`Error`]. Its [`Error::kind`] is an [`ErrorKind`]
//! whose [`ErrorKind::as_str`] name is stable, snake_case and safe to put in
//! logs and metrics. Messages never contain token contents or key material.
//!
//! [`Error::is_rejection`] separates "the presented token is not acceptable"
//! (answer 401/403) from [`Error::is_internal`] "our side failed" (a store
//! backend, answer 500) and [`Error::is_configuration`] mistakes made while
//! building keys or validators.

use std::borrow::Cow;
use std::fmt;

use crate::jws::Algorithm;

/// Everything that can go wrong while building keys and validators, issuing
/// tokens and validating them.
///
/// `Debug` is the derived form, except that the `kid` of
/// [`Error::UnknownKey`] shows as its length: neither `Display` nor `Debug`
/// quotes a token.
#[non_exhaustive]
#[derive(thiserror::Error)]
pub enum Error {
    /// The token is not a well-formed compact JWS / JWT.
    #[error("malformed token: {0}")]
    Malformed(Malformed),

    /// The token is longer than the validator's size limit; nothing was decoded.
    #[error("token of {len} bytes exceeds the limit of {limit} bytes")]
    TokenTooLarge {
        /// Length of the presented token in bytes.
        len: usize,
        /// The configured limit in bytes.
        limit: usize,
    },

    /// The `alg` header names no algorithm this crate implements (this
    /// includes `none`).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,

    /// The algorithm is implemented but not in the validator's allow-list.
    #[error("algorithm {0} is not allowed")]
    AlgorithmNotAllowed(Algorithm),

    /// No key in the store matches the token's `kid` and `alg`.
    ///
    /// `kid` is the token's key id (at most [`Error::MAX_KID_LEN`] bytes,
    /// cut at a character boundary), so an application can decide to
    /// refetch an identity provider's keys without decoding the header
    /// again. It comes from the unverified token: a map key to look up,
    /// never a path or a query. Neither the message nor `Debug` shows it
    /// (`Debug` gives its length).
    #[error("no key matches the token's key id and algorithm")]
    UnknownKey {
        /// The token's `kid`, when it has one (truncated).
        kid: Option<String>,
    },

    /// No API key or refresh token with the presented public id is in the
    /// store (or the record given is not the key's).
    #[error("no credential with this id")]
    UnknownCredential,

    /// The signature does not verify with the selected key.
    #[error("invalid signature")]
    InvalidSignature,

    /// The token expired (`exp`), beyond the allowed leeway.
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`, seconds since the Unix epoch.
        exp: i64,
        /// The validator's clock, seconds since the Unix epoch.
        now: i64,
    },

    /// The token is not valid yet (`nbf`), beyond the allowed leeway.
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`, seconds since the Unix epoch.
        nbf: i64,
        /// The validator's clock, seconds since the Unix epoch.
        now: i64,
    },

    /// The token's `iat` lies in the future, beyond the allowed leeway.
    #[error("token issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The token's `iat`, seconds since the Unix epoch.
        iat: i64,
        /// The validator's clock, seconds since the Unix epoch.
        now: i64,
    },

    /// The token is older than the validator's maximum age (from `iat`).
    #[error("token issued at {iat} is older than {max_age} seconds (now {now})")]
    TokenTooOld {
        /// The token's `iat`, seconds since the Unix epoch.
        iat: i64,
        /// The validator's clock, seconds since the Unix epoch.
        now: i64,
        /// The configured maximum age in seconds.
        max_age: i64,
    },

    /// The `iss` claim is not one of the accepted issuers.
    #[error("issuer not accepted")]
    InvalidIssuer,

    /// The `aud` claim does not name an accepted audience, or names one
    /// where no audience is expected.
    #[error("audience not accepted")]
    InvalidAudience,

    /// The `typ` header is not the required type.
    #[error("token type not accepted")]
    InvalidType,

    /// A claim the validator requires is absent.
    #[error("missing required claim `{0}`")]
    MissingClaim(Cow<'static, str>),

    /// The header carries `crit`; no extensions are understood, so the token
    /// must be rejected (RFC 7515 §4.1.11).
    #[error("unsupported critical header parameter")]
    UnsupportedCriticalHeader,

    /// Key material was rejected when the key was built or imported.
    #[error("invalid key: {0}")]
    InvalidKey(KeyError),

    /// A builder was given settings that contradict each other or leave a
    /// required policy undecided.
    #[error("invalid configuration: {0}")]
    InvalidConfiguration(Cow<'static, str>),

    /// An API key's secret does not match the stored digest.
    #[error("invalid API key secret")]
    InvalidSecret,

    /// The credential was revoked.
    #[error("revoked")]
    Revoked,

    /// The credential lacks scopes the operation requires.
    #[error("insufficient scope: missing `{missing}`")]
    InsufficientScope {
        /// Scopes that would satisfy the requirement.
        missing: crate::scope::ScopeSet,
    },

    /// A refresh token was presented again after it had been used: its
    /// whole family is now revoked (RFC 9700 §4.14.2).
    #[error("refresh token reused; its family is revoked")]
    RefreshTokenReused,

    /// The credential was issued to another OAuth client than the one
    /// presenting it (RFC 6749 §6, RFC 7009 §2.1). Nothing was changed.
    /// At a token endpoint this is `invalid_grant`
    /// ([`Error::oauth_error`]).
    #[error("credential was issued to another client")]
    WrongClient,

    /// A scope token holds a character outside the RFC 6749 alphabet.
    #[error("invalid scope")]
    InvalidScope,

    /// A signing operation failed inside the crypto library.
    #[error("signing failed")]
    SigningFailed,

    /// The system random generator failed while making a key, a secret or
    /// an identifier. Our side failed: answer 500.
    #[error("the system random generator failed")]
    RandomnessFailed,

    /// A pluggable store (key store, revocation list, ...) failed. The token
    /// is rejected: failures close, they never open. Our side is
    /// unavailable: answer 503.
    #[error("store failure: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync + 'static>),

    /// A remote key set has no keys to check the token with: it was never
    /// fetched, or every fetch failed for longer than its maximum
    /// staleness. The token was not judged; our side is unavailable:
    /// answer 503, not 401.
    #[error("the key set is unavailable: {0}")]
    KeySetUnavailable(String),
}

/// The `kid` of an [`Error::UnknownKey`] in `Debug`: its length only.
struct KidLen(usize);

impl fmt::Debug for KidLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} bytes]", self.0)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => f.debug_tuple("Malformed").field(e).finish(),
            Self::TokenTooLarge { len, limit } => f
                .debug_struct("TokenTooLarge")
                .field("len", len)
                .field("limit", limit)
                .finish(),
            Self::UnsupportedAlgorithm => f.write_str("UnsupportedAlgorithm"),
            Self::AlgorithmNotAllowed(a) => f.debug_tuple("AlgorithmNotAllowed").field(a).finish(),
            Self::UnknownKey { kid } => f
                .debug_struct("UnknownKey")
                .field("kid", &kid.as_ref().map(|k| KidLen(k.len())))
                .finish(),
            Self::UnknownCredential => f.write_str("UnknownCredential"),
            Self::InvalidSignature => f.write_str("InvalidSignature"),
            Self::Expired { exp, now } => f
                .debug_struct("Expired")
                .field("exp", exp)
                .field("now", now)
                .finish(),
            Self::NotYetValid { nbf, now } => f
                .debug_struct("NotYetValid")
                .field("nbf", nbf)
                .field("now", now)
                .finish(),
            Self::IssuedInFuture { iat, now } => f
                .debug_struct("IssuedInFuture")
                .field("iat", iat)
                .field("now", now)
                .finish(),
            Self::TokenTooOld { iat, now, max_age } => f
                .debug_struct("TokenTooOld")
                .field("iat", iat)
                .field("now", now)
                .field("max_age", max_age)
                .finish(),
            Self::InvalidIssuer => f.write_str("InvalidIssuer"),
            Self::InvalidAudience => f.write_str("InvalidAudience"),
            Self::InvalidType => f.write_str("InvalidType"),
            Self::MissingClaim(c) => f.debug_tuple("MissingClaim").field(c).finish(),
            Self::UnsupportedCriticalHeader => f.write_str("UnsupportedCriticalHeader"),
            Self::InvalidKey(e) => f.debug_tuple("InvalidKey").field(e).finish(),
            Self::InvalidConfiguration(m) => {
                f.debug_tuple("InvalidConfiguration").field(m).finish()
            }
            Self::InvalidSecret => f.write_str("InvalidSecret"),
            Self::Revoked => f.write_str("Revoked"),
            Self::InsufficientScope { missing } => f
                .debug_struct("InsufficientScope")
                .field("missing", missing)
                .finish(),
            Self::RefreshTokenReused => f.write_str("RefreshTokenReused"),
            Self::WrongClient => f.write_str("WrongClient"),
            Self::InvalidScope => f.write_str("InvalidScope"),
            Self::SigningFailed => f.write_str("SigningFailed"),
            Self::RandomnessFailed => f.write_str("RandomnessFailed"),
            Self::Store(e) => f.debug_tuple("Store").field(e).finish(),
            Self::KeySetUnavailable(why) => f.debug_tuple("KeySetUnavailable").field(why).finish(),
        }
    }
}

/// Why a token is malformed. Carries no token contents.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Not exactly three dot-separated segments, or an empty segment.
    Shape,
    /// Not an API key of the expected format: length, prefix, alphabet or
    /// checksum. Checked before any store lookup.
    ApiKey,
    /// A segment is not strict unpadded base64url (RFC 7515 §2).
    Base64,
    /// The header or claims are not a JSON object.
    Json,
    /// A JSON object repeats a member name (RFC 7515 §5.2, RFC 7519 §4).
    DuplicateMember,
    /// A header parameter has the wrong JSON type or value.
    Header(&'static str),
    /// A claim is present with the wrong JSON type or an out-of-range value;
    /// it is never treated as absent.
    Claim(Cow<'static, str>),
    /// The claims did not deserialize into the application's claims type.
    CustomClaims,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape => f.write_str("not three non-empty dot-separated segments"),
            Self::ApiKey => f.write_str("not an API key of the expected format"),
            Self::Base64 => f.write_str("invalid base64url"),
            Self::Json => f.write_str("header or claims are not a JSON object"),
            Self::DuplicateMember => f.write_str("duplicate JSON member"),
            Self::Header(name) => write!(f, "invalid header parameter `{name}`"),
            Self::Claim(name) => write!(f, "invalid claim `{name}`"),
            Self::CustomClaims => f.write_str("claims do not match the expected type"),
        }
    }
}

/// Why key material was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The bytes could not be parsed as the stated format.
    Format(&'static str),
    /// The key does not belong to the requested algorithm: wrong key type
    /// or curve, or a JWK whose `alg` names another algorithm. (A JWK whose
    /// `use` or `key_ops` forbids the use is [`KeyError::Rejected`].)
    AlgorithmMismatch,
    /// An HMAC secret shorter than the hash output (RFC 7518 §3.2).
    SecretTooShort {
        /// The minimum length in bytes.
        min: usize,
        /// The length given.
        len: usize,
    },
    /// An RSA modulus under 2048 bits.
    RsaTooSmall {
        /// The modulus size in bits, when known before the crypto library
        /// refused the key.
        bits: Option<usize>,
    },
    /// The crypto library rejected the key.
    Rejected(&'static str),
    /// The operation needs a key type this algorithm does not have (for
    /// example generating an RSA key, or exporting a secret key).
    Unsupported(&'static str),
    /// An HMAC secret that is a key document rather than random bytes: a
    /// PEM document, a DER public key or certificate, a JWK or JWK Set, or
    /// an EC public point. A public key is public: anyone who has it could
    /// sign tokens this HMAC key accepts (the key confusion of
    /// CVE-2016-10555, from the configuration side).
    PublicKeyAsHmacSecret {
        /// What the secret is, such as `"PEM document"`.
        form: &'static str,
    },
    /// A JWK Set gave no usable signature key: it is empty, or every member
    /// was left out (each with its reason).
    NoUsableKey {
        /// The members and why each was left out, in document order.
        skipped: Vec<crate::keys::SkippedJwk>,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Format(what) => write!(f, "cannot parse {what}"),
            Self::AlgorithmMismatch => f.write_str("key does not match the requested algorithm"),
            Self::SecretTooShort { min, len } => {
                write!(f, "HMAC secret of {len} bytes is shorter than {min} bytes")
            }
            Self::RsaTooSmall { bits: Some(bits) } => {
                write!(f, "RSA modulus of {bits} bits is under 2048")
            }
            Self::RsaTooSmall { bits: None } => f.write_str("RSA modulus is under 2048 bits"),
            Self::Rejected(why) => write!(f, "key rejected: {why}"),
            Self::Unsupported(what) => write!(f, "unsupported: {what}"),
            Self::NoUsableKey { skipped } if skipped.is_empty() => {
                f.write_str("the JWK Set holds no key")
            }
            Self::NoUsableKey { skipped } => {
                const SHOWN: usize = 4;
                f.write_str("the JWK Set holds no usable signature key (")?;
                for (i, member) in skipped.iter().take(SHOWN).enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{member}")?;
                }
                if let Some(more) = skipped.len().checked_sub(SHOWN).filter(|n| *n > 0) {
                    write!(f, "; and {more} more")?;
                }
                f.write_str(")")
            }
            Self::PublicKeyAsHmacSecret { form } => write!(
                f,
                "an HMAC secret must be random bytes, not a public key: this secret is a \
                 {form}, and anyone who has that key could sign tokens with it"
            ),
        }
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Error::InvalidKey(e)
    }
}

impl From<Malformed> for Error {
    fn from(e: Malformed) -> Self {
        Error::Malformed(e)
    }
}

/// The stable category of an [`Error`], for logs, metrics and branching.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// See [`Error::Malformed`].
    Malformed,
    /// See [`Error::TokenTooLarge`].
    TokenTooLarge,
    /// See [`Error::UnsupportedAlgorithm`].
    UnsupportedAlgorithm,
    /// See [`Error::AlgorithmNotAllowed`].
    AlgorithmNotAllowed,
    /// See [`Error::UnknownKey`].
    UnknownKey,
    /// See [`Error::UnknownCredential`].
    UnknownCredential,
    /// See [`Error::InvalidSignature`].
    InvalidSignature,
    /// See [`Error::Expired`].
    Expired,
    /// See [`Error::NotYetValid`].
    NotYetValid,
    /// See [`Error::IssuedInFuture`].
    IssuedInFuture,
    /// See [`Error::TokenTooOld`].
    TokenTooOld,
    /// See [`Error::InvalidIssuer`].
    InvalidIssuer,
    /// See [`Error::InvalidAudience`].
    InvalidAudience,
    /// See [`Error::InvalidType`].
    InvalidType,
    /// See [`Error::MissingClaim`].
    MissingClaim,
    /// See [`Error::UnsupportedCriticalHeader`].
    UnsupportedCriticalHeader,
    /// See [`Error::InvalidKey`].
    InvalidKey,
    /// See [`Error::InvalidConfiguration`].
    InvalidConfiguration,
    /// See [`Error::InvalidSecret`].
    InvalidSecret,
    /// See [`Error::Revoked`].
    Revoked,
    /// See [`Error::InsufficientScope`].
    InsufficientScope,
    /// See [`Error::RefreshTokenReused`].
    RefreshTokenReused,
    /// See [`Error::WrongClient`].
    WrongClient,
    /// See [`Error::InvalidScope`].
    InvalidScope,
    /// See [`Error::SigningFailed`].
    SigningFailed,
    /// See [`Error::RandomnessFailed`].
    RandomnessFailed,
    /// See [`Error::Store`].
    StoreFailure,
    /// See [`Error::KeySetUnavailable`].
    KeySetUnavailable,
}

impl ErrorKind {
    /// The stable snake_case name of this kind, such as `"expired"`.
    ///
    /// These names never change once released: `malformed`,
    /// `token_too_large`, `unsupported_algorithm`, `algorithm_not_allowed`,
    /// `unknown_key` (no signing key for a JWT's `kid` and `alg`),
    /// `unknown_credential` (no API key or refresh token with the id),
    /// `invalid_signature`, `expired`, `not_yet_valid`, `issued_in_future`,
    /// `token_too_old`, `invalid_issuer`, `invalid_audience`,
    /// `invalid_type`, `missing_claim`, `unsupported_critical_header`,
    /// `invalid_key`, `invalid_configuration`, `invalid_secret`, `revoked`,
    /// `insufficient_scope`, `refresh_token_reused`, `wrong_client`,
    /// `invalid_scope`, `signing_failed`, `randomness_failed`,
    /// `store_failure`, `key_set_unavailable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TokenTooLarge => "token_too_large",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::UnknownCredential => "unknown_credential",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::TokenTooOld => "token_too_old",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidType => "invalid_type",
            Self::MissingClaim => "missing_claim",
            Self::UnsupportedCriticalHeader => "unsupported_critical_header",
            Self::InvalidKey => "invalid_key",
            Self::InvalidConfiguration => "invalid_configuration",
            Self::InvalidSecret => "invalid_secret",
            Self::Revoked => "revoked",
            Self::InsufficientScope => "insufficient_scope",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::WrongClient => "wrong_client",
            Self::InvalidScope => "invalid_scope",
            Self::SigningFailed => "signing_failed",
            Self::RandomnessFailed => "randomness_failed",
            Self::StoreFailure => "store_failure",
            Self::KeySetUnavailable => "key_set_unavailable",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed(_) => ErrorKind::Malformed,
            Self::TokenTooLarge { .. } => ErrorKind::TokenTooLarge,
            Self::UnsupportedAlgorithm => ErrorKind::UnsupportedAlgorithm,
            Self::AlgorithmNotAllowed(_) => ErrorKind::AlgorithmNotAllowed,
            Self::UnknownKey { .. } => ErrorKind::UnknownKey,
            Self::UnknownCredential => ErrorKind::UnknownCredential,
            Self::InvalidSignature => ErrorKind::InvalidSignature,
            Self::Expired { .. } => ErrorKind::Expired,
            Self::NotYetValid { .. } => ErrorKind::NotYetValid,
            Self::IssuedInFuture { .. } => ErrorKind::IssuedInFuture,
            Self::TokenTooOld { .. } => ErrorKind::TokenTooOld,
            Self::InvalidIssuer => ErrorKind::InvalidIssuer,
            Self::InvalidAudience => ErrorKind::InvalidAudience,
            Self::InvalidType => ErrorKind::InvalidType,
            Self::MissingClaim(_) => ErrorKind::MissingClaim,
            Self::UnsupportedCriticalHeader => ErrorKind::UnsupportedCriticalHeader,
            Self::InvalidKey(_) => ErrorKind::InvalidKey,
            Self::InvalidConfiguration(_) => ErrorKind::InvalidConfiguration,
            Self::InvalidSecret => ErrorKind::InvalidSecret,
            Self::Revoked => ErrorKind::Revoked,
            Self::InsufficientScope { .. } => ErrorKind::InsufficientScope,
            Self::RefreshTokenReused => ErrorKind::RefreshTokenReused,
            Self::WrongClient => ErrorKind::WrongClient,
            Self::InvalidScope => ErrorKind::InvalidScope,
            Self::SigningFailed => ErrorKind::SigningFailed,
            Self::RandomnessFailed => ErrorKind::RandomnessFailed,
            Self::Store(_) => ErrorKind::StoreFailure,
            Self::KeySetUnavailable(_) => ErrorKind::KeySetUnavailable,
        }
    }

    /// `true` when the presented token is unacceptable: answer the request
    /// with 401 (or 403), not 500.
    pub fn is_rejection(&self) -> bool {
        !self.is_internal() && !self.is_configuration()
    }

    /// `true` when our side failed (a store backend, a key set that cannot
    /// be fetched, the crypto library while signing, the system random
    /// generator); the token was still rejected. Of these,
    /// [`Error::is_unavailable`] ones answer 503, the others 500.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(_)
                | Self::KeySetUnavailable(_)
                | Self::SigningFailed
                | Self::RandomnessFailed
        )
    }

    /// `true` when a dependency of ours is unavailable (a shared store, a
    /// remote key set): answer 503, so that clients and load balancers
    /// retry instead of dropping their credentials.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(_) | Self::KeySetUnavailable(_))
    }

    /// `true` for mistakes in building keys, validators and tokens.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::InvalidKey(_) | Self::InvalidConfiguration(_) | Self::InvalidScope
        )
    }

    /// The RFC 6749 §5.2 `error` code a token endpoint answers with when
    /// a grant (a refresh token, an authorization code) fails with this
    /// error: `invalid_grant` for every problem with the presented
    /// credential (malformed, unknown, expired, revoked, reused, another
    /// client's), `invalid_scope` for a bad scope, and `server_error` (not
    /// an RFC 6749 §5.2 code; answer 500) when our side failed or is
    /// misconfigured.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            Self::InvalidScope | Self::InsufficientScope { .. } => "invalid_scope",
            e if e.is_rejection() => "invalid_grant",
            _ => "server_error",
        }
    }

    /// The longest `kid` an [`Error::UnknownKey`] keeps, in bytes.
    pub const MAX_KID_LEN: usize = 128;

    /// [`Error::UnknownKey`] for a token with key id `kid`, cut to at most
    /// [`Error::MAX_KID_LEN`] bytes at a character boundary. For
    /// [`KeyStore`](crate::KeyStore) implementations; see also
    /// [`KeyQuery::unknown_key`](crate::KeyQuery::unknown_key).
    pub fn unknown_key(kid: Option<&str>) -> Self {
        let kid = kid.map(|kid| {
            let mut end = kid.len().min(Self::MAX_KID_LEN);
            while !kid.is_char_boundary(end) {
                end = end.saturating_sub(1);
            }
            kid.get(..end).unwrap_or_default().to_owned()
        });
        Self::UnknownKey { kid }
    }

    /// The token's `kid` (truncated) of an [`Error::UnknownKey`]; `None`
    /// for a token without `kid` and for every other error.
    pub fn unknown_key_id(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { kid } => kid.as_deref(),
            _ => None,
        }
    }

    /// Wraps a pluggable store's failure.
    pub fn store(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Store(Box::new(err))
    }

    pub(crate) fn config(msg: &'static str) -> Self {
        Self::InvalidConfiguration(Cow::Borrowed(msg))
    }

    pub(crate) fn claim(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Malformed(Malformed::Claim(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every variant, with its kind name.
    fn every_error() -> Vec<(Error, &'static str)> {
        vec![
            (Error::Malformed(Malformed::Shape), "malformed"),
            (Error::TokenTooLarge { len: 9, limit: 8 }, "token_too_large"),
            (Error::UnsupportedAlgorithm, "unsupported_algorithm"),
            (
                Error::AlgorithmNotAllowed(Algorithm::HS256),
                "algorithm_not_allowed",
            ),
            (Error::unknown_key(Some("k1")), "unknown_key"),
            (Error::unknown_key(None), "unknown_key"),
            (Error::UnknownCredential, "unknown_credential"),
            (Error::InvalidSignature, "invalid_signature"),
            (Error::Expired { exp: 1, now: 2 }, "expired"),
            (Error::NotYetValid { nbf: 2, now: 1 }, "not_yet_valid"),
            (Error::IssuedInFuture { iat: 2, now: 1 }, "issued_in_future"),
            (
                Error::TokenTooOld {
                    iat: 1,
                    now: 9,
                    max_age: 2,
                },
                "token_too_old",
            ),
            (Error::InvalidIssuer, "invalid_issuer"),
            (Error::InvalidAudience, "invalid_audience"),
            (Error::InvalidType, "invalid_type"),
            (Error::MissingClaim("sub".into()), "missing_claim"),
            (
                Error::UnsupportedCriticalHeader,
                "unsupported_critical_header",
            ),
            (
                Error::InvalidKey(KeyError::AlgorithmMismatch),
                "invalid_key",
            ),
            (Error::config("x"), "invalid_configuration"),
            (Error::InvalidSecret, "invalid_secret"),
            (Error::Revoked, "revoked"),
            (
                Error::InsufficientScope {
                    missing: crate::scope::ScopeSet::new(),
                },
                "insufficient_scope",
            ),
            (Error::RefreshTokenReused, "refresh_token_reused"),
            (Error::WrongClient, "wrong_client"),
            (Error::InvalidScope, "invalid_scope"),
            (Error::SigningFailed, "signing_failed"),
            (Error::RandomnessFailed, "randomness_failed"),
            (Error::store(std::io::Error::other("down")), "store_failure"),
            (
                Error::KeySetUnavailable("never fetched".into()),
                "key_set_unavailable",
            ),
        ]
    }

    #[test]
    fn kind_names_are_stable_snake_case() {
        let cases = every_error();
        for (err, name) in cases {
            assert_eq!(err.kind().as_str(), name);
            assert_eq!(err.kind().to_string(), name);
        }
    }

    /// The `kid` of an unknown key is kept for the application (cut to 128
    /// bytes on a character boundary) but never shown in the message: it
    /// is token content.
    #[test]
    fn unknown_key_carries_the_kid_but_never_shows_it() {
        let kid = "attacker-chosen-kid-<script>";
        let err = Error::unknown_key(Some(kid));
        assert_eq!(err.unknown_key_id(), Some(kid));
        assert_eq!(
            err.to_string(),
            "no key matches the token's key id and algorithm"
        );
        assert!(!err.to_string().contains("attacker"));
        assert_eq!(Error::unknown_key(None).unknown_key_id(), None);
        assert_eq!(Error::UnknownCredential.unknown_key_id(), None);
        let long = "é".repeat(100); // 200 bytes of two-byte characters
        let err = Error::unknown_key(Some(&long));
        let kept = err.unknown_key_id().unwrap();
        assert_eq!(kept.len(), Error::MAX_KID_LEN);
        assert!(long.starts_with(kept));
        let odd = format!("a{long}");
        let kept = Error::unknown_key(Some(&odd))
            .unknown_key_id()
            .unwrap()
            .to_owned();
        assert_eq!(kept.len(), Error::MAX_KID_LEN - 1);
        assert!(odd.starts_with(&kept));
        assert!(!err.to_string().contains('é'));
        // `Debug` shows the length only.
        let shown = format!("{:?} {:#?}", Error::unknown_key(Some(kid)), err);
        assert!(
            !shown.contains("attacker") && !shown.contains('é'),
            "{shown}"
        );
        assert_eq!(
            format!("{:?}", Error::unknown_key(Some(kid))),
            "UnknownKey { kid: Some([28 bytes]) }"
        );
        assert_eq!(
            format!("{:?}", Error::unknown_key(None)),
            "UnknownKey { kid: None }"
        );
        assert_eq!(
            format!("{:?}", Error::InvalidKey(KeyError::AlgorithmMismatch)),
            "InvalidKey(AlgorithmMismatch)"
        );
    }

    /// Every kind's category, written out by hand (not derived from the
    /// predicates under test): the credential is refused (401/403), the
    /// configuration is wrong (500), or our side failed, unavailable (503)
    /// or broken (500). Each error is in exactly one.
    #[test]
    fn every_kind_has_exactly_one_category() {
        const REJECTED: &[&str] = &[
            "malformed",
            "token_too_large",
            "unsupported_algorithm",
            "algorithm_not_allowed",
            "unknown_key",
            "unknown_credential",
            "invalid_signature",
            "expired",
            "not_yet_valid",
            "issued_in_future",
            "token_too_old",
            "invalid_issuer",
            "invalid_audience",
            "invalid_type",
            "missing_claim",
            "unsupported_critical_header",
            "invalid_secret",
            "revoked",
            "insufficient_scope",
            "refresh_token_reused",
            "wrong_client",
        ];
        const CONFIGURATION: &[&str] = &["invalid_key", "invalid_configuration", "invalid_scope"];
        const UNAVAILABLE: &[&str] = &["store_failure", "key_set_unavailable"];
        const BROKEN: &[&str] = &["signing_failed", "randomness_failed"];
        let cases = every_error();
        let mut seen = std::collections::BTreeSet::new();
        for (err, name) in &cases {
            seen.insert(*name);
            let expected = [
                REJECTED.contains(name),
                CONFIGURATION.contains(name),
                UNAVAILABLE.contains(name),
                BROKEN.contains(name),
            ];
            assert_eq!(
                expected.iter().filter(|b| **b).count(),
                1,
                "{name} must be listed in exactly one category"
            );
            let actual = [
                err.is_rejection(),
                err.is_configuration(),
                err.is_internal() && err.is_unavailable(),
                err.is_internal() && !err.is_unavailable(),
            ];
            assert_eq!(actual, expected, "{name}");
            let oauth = err.oauth_error();
            if *name == "invalid_scope" || *name == "insufficient_scope" {
                assert_eq!(oauth, "invalid_scope");
            } else if expected[0] {
                assert_eq!(oauth, "invalid_grant", "{name}");
            } else {
                assert_eq!(oauth, "server_error", "{name}");
            }
        }
        // Every kind is covered: the lists name each exactly once.
        let listed: std::collections::BTreeSet<&str> =
            [REJECTED, CONFIGURATION, UNAVAILABLE, BROKEN]
                .concat()
                .into_iter()
                .collect();
        assert_eq!(seen, listed);
    }

    #[test]
    fn oauth_error_codes() {
        assert_eq!(Error::WrongClient.oauth_error(), "invalid_grant");
        assert_eq!(Error::RefreshTokenReused.oauth_error(), "invalid_grant");
        assert_eq!(
            Error::Expired { exp: 1, now: 2 }.oauth_error(),
            "invalid_grant"
        );
        assert_eq!(Error::InvalidScope.oauth_error(), "invalid_scope");
        assert_eq!(
            Error::store(std::io::Error::other("down")).oauth_error(),
            "server_error"
        );
        assert_eq!(Error::config("x").oauth_error(), "server_error");
    }
}
