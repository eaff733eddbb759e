//! # tokengate
//!
//! Issue and validate API security tokens — signed JWTs and prefixed API
//! keys — with strict validation, safe defaults, scopes, rotation,
//! revocation and refresh in one place. A pure, synchronous library, fast
//! enough for every request's hot path.
//!
//! - **Signed JWTs** ([`jwt`]): HS256/384/512, RS256/384/512,
//!   PS256/384/512, ES256, ES384 and EdDSA (Ed25519) through ring (ES512
//!   too with the `aws-lc-rs` feature, see [`crypto`]). There is no `none`.
//! - **Keys** ([`keys`]): one key, one algorithm; PEM, DER and JWK import;
//!   JWK Set export for `/.well-known/jwks.json`; RFC 7638 thumbprints as
//!   key ids; stores for one key, a replaceable key set, and a rotating
//!   issuer key ring.
//! - **Validation** ([`Validator`]): issuer and audience policies you must
//!   choose, `exp` required, strict claim types, `typ` checks, the RFC 9068
//!   access token profile, revocation and scope requirements, an
//!   injectable [`Clock`].
//! - **API keys** ([`api_key`]): `acme_live_…` keys with a public id, a
//!   196-bit secret and a CRC32 checksum; stored as digests, verified in
//!   constant time; expiry, revocation and rotation with a grace period.
//! - **Access control** ([`scope`]): scope sets, all-of / any-of
//!   requirements, roles.
//! - **Revocation** ([`revocation`]), **refresh tokens** with reuse
//!   detection ([`refresh`]), **introspection** (RFC 7662) and revocation
//!   (RFC 7009) logic ([`introspection`]), and one **front door** from an
//!   `Authorization` header to a [`Principal`] ([`authenticator`]).
//! - **Errors** ([`Error`]): one enum with a stable [`ErrorKind`] name per
//!   reason.
//!
//! ## Getting started
//!
//! ```
//! use std::sync::Arc;
//! use tokengate::{Algorithm, ErrorKind, KeyRing, SigningKey, TokenBuilder, Validator, Verified};
//!
//! // The issuer: a rotating key ring around a fresh Ed25519 key.
//! let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
//! let token = TokenBuilder::new()
//!     .issuer("https://auth.example.com")
//!     .subject("user-42")
//!     .audience("https://api.example.com")
//!     .scope("orders:read")
//!     .sign(&ring.current())?;
//!
//! // What the issuer publishes at /.well-known/jwks.json.
//! let jwks = ring.jwks().to_json();
//! assert!(jwks.contains("\"kty\":\"OKP\""));
//!
//! // The API: a validator over the same keys (or over the published JWKS).
//! let validator = Validator::builder(Arc::clone(&ring))
//!     .issuer("https://auth.example.com")
//!     .audience("https://api.example.com")
//!     .build()?;
//! let verified: Verified = validator.validate(&token)?;
//! assert_eq!(verified.subject(), Some("user-42"));
//!
//! // A tampered token is rejected with a stable error kind.
//! let tampered = format!("{}x", &token[..token.len() - 1]);
//! let err = validator.validate::<tokengate::NoCustomClaims>(&tampered).unwrap_err();
//! assert!(matches!(err.kind(), ErrorKind::InvalidSignature | ErrorKind::Malformed));
//! # Ok::<(), tokengate::Error>(())
//! ```
//!
//! The other token kind, an API key:
//!
//! ```
//! use std::sync::Arc;
//! use tokengate::{ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore, NewApiKey, ScopeSet};
//!
//! let format = ApiKeyFormat::new("acme")?.environment("live")?;
//! let store = Arc::new(InMemoryApiKeyStore::new());
//! let key = ApiKeyIssuer::new(format.clone()).issue_into(
//!     &*store,
//!     NewApiKey::new("service-billing").scopes(ScopeSet::parse("invoices:read")?),
//! )?;
//! // Show key.expose_secret() to its owner once; the store keeps a digest.
//! let verified = ApiKeyVerifier::new(format, store).verify(key.expose_secret())?;
//! assert_eq!(verified.owner(), "service-billing");
//! # Ok::<(), tokengate::Error>(())
//! ```
//!
//! ## Security model
//!
//! The short form; [`security`] has the threat model with the tests that
//! back each claim.
//!
//! - A key is bound to one algorithm when built; a token is verified only
//!   by a key whose algorithm equals its `alg` and is in the validator's
//!   allow-list (RFC 8725 §3.1), so HS/RS key confusion cannot be
//!   expressed.
//! - Header parameters that bring their own trust (`jwk`, `jku`, `x5u`,
//!   `x5c`) are never used; `crit` rejects the token.
//! - Size, shape and strict base64url are checked before any key lookup;
//!   the payload is parsed only after the signature verifies.
//! - Claims are strictly typed: a string `exp` is an error, not "absent";
//!   duplicate JSON members are rejected.
//! - Secret keys are not `Clone`, print `[redacted]`, and their decoded
//!   bytes are zeroized; HMAC tags are compared in constant time by the
//!   crypto library, API key and refresh token digests with `subtle`.
//! - Reading a token without verification is only possible through
//!   [`danger`].

#![forbid(unsafe_code, unused_must_use)]
#![deny(missing_docs, clippy::arithmetic_side_effects)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod api_key;
pub mod authenticator;
pub mod clock;
pub mod crypto;
pub mod danger;
pub mod encoding;
pub mod error;
pub mod introspection;
mod json;
pub mod jws;
pub mod jwt;
pub mod keys;
pub mod refresh;
pub mod revocation;
pub mod scope;
pub mod security;
#[cfg(feature = "testing")]
pub mod testing;

pub use api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyRecord, ApiKeyStore, ApiKeyVerifier, InMemoryApiKeyStore,
    IssuedApiKey, NewApiKey, VerifiedApiKey,
};
pub use authenticator::{AuthError, Authenticator, BearerError, CredentialKind, Principal};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, ErrorKind, KeyError, Malformed};
pub use introspection::{IntrospectionResponse, Introspector};
pub use jws::{Algorithm, AlgorithmSet, Header};
pub use jwt::{Claim, Claims, NoCustomClaims, TokenBuilder, Validator, ValidatorBuilder, Verified};
pub use keys::{
    Jwk, JwkSet, KeyQuery, KeyRing, KeySetStore, KeyStore, SigningKey, SingleKeyStore, VerifyingKey,
};
pub use refresh::{
    Grant, InMemoryRefreshStore, RefreshRecord, RefreshStore, RefreshToken, RefreshTokens,
    TokenPair,
};
pub use revocation::{Revocation, RevocationList, RevocationQuery};
pub use scope::{RoleMap, ScopeRequirement, ScopeSet};

/// The `time` crate, whose `Duration` and `OffsetDateTime` the builders
/// take, re-exported so applications need not depend on it themselves.
pub use time;
