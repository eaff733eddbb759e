//! # tokengate
//!
//! Issue and validate API security tokens — signed JWTs and prefixed API
//! keys — with strict validation, safe defaults, scopes, rotation,
//! revocation and refresh in one place. A pure, synchronous library, fast
//! enough for every request's hot path.
//!
//! - **Signed JWTs** ([`jwt`]): HS256/384/512, RS256/384/512,
//!   PS256/384/512, ES256, ES384, and Ed25519 under both `EdDSA` and its
//!   RFC 9864 fully-specified name `Ed25519`, through ring (ES512
//!   too with the `aws-lc-rs` feature, see [`CRYPTO_BACKEND`]). There is no `none`.
//! - **Keys** ([`keys`]): one key, one algorithm; PEM, DER and JWK import;
//!   JWK Set import that leaves out, and reports, the members it cannot use
//!   (and any secret in a public set); JWK Set export for
//!   `/.well-known/jwks.json`; RFC 7638 thumbprints as key ids; stores for
//!   one key, a replaceable key set, and a rotating issuer key ring.
//! - **Validation** ([`Validator`]): issuer, audience and token type policies you must
//!   choose, `exp` required, strict claim types, `typ` checks, the RFC 9068
//!   access token profile, revocation and scope requirements, an
//!   injectable [`Clock`].
//! - **API keys** ([`api_key`]): `acme_live_…` keys with a public id, a
//!   196-bit secret and a CRC32 checksum; stored as digests, verified in
//!   constant time; expiry, revocation and rotation with a grace period.
//! - **Access control** ([`scope`]): scope sets, all-of / any-of
//!   requirements, roles; scopes read from `scope` as a string or an array,
//!   or from the claim a provider uses (`scp`).
//! - **Revocation** ([`revocation`]): a read side on the hot path and a
//!   write side with a change feed, so a fleet of servers shares one store
//!   through local replicas; **refresh tokens** ([`refresh`]) rotated by
//!   one atomic compare-and-set, with reuse detection, a grace window for
//!   lost responses and client binding; **introspection** (RFC 7662) and
//!   revocation (RFC 7009) logic ([`introspection`]); and one **front
//!   door** from an `Authorization` header to a [`Principal`]
//!   ([`authenticator`]).
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
//!     .access_token() // typ at+jwt (RFC 9068)
//!     .issuer("https://auth.example.com")
//!     .subject("user-42")
//!     .audience("https://api.example.com")
//!     .client_id("web-app")
//!     .scope("orders:read")
//!     .sign(&ring.current())?;
//!
//! // What the issuer publishes at /.well-known/jwks.json.
//! let jwks = ring.jwks().to_json();
//! assert!(jwks.contains("\"kty\":\"OKP\""));
//!
//! // The API: a validator over the same keys (or over the published JWKS).
//! let validator = Validator::builder(Arc::clone(&ring))
//!     .access_token_profile() // RFC 9068: typ at+jwt, sub, client_id, iat, jti
//!     .issuer("https://auth.example.com")
//!     .audience("https://api.example.com")
//!     .build()?;
//! let verified: Verified = validator.validate(&token)?;
//! assert_eq!(verified.subject(), Some("user-42"));
//!
//! // A tampered token is rejected with a stable error kind.
//! let tampered = format!("{}x", &token[..token.len() - 1]);
//! let err = validator.validate(&tampered).unwrap_err();
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
//! ## Stores: one process or a fleet
//!
//! Every store is a trait: [`KeyStore`], [`Revocation`] and
//! [`RevocationStore`], [`ApiKeyStore`], [`RefreshStore`], and [`Clock`].
//! Each is `Debug + Send + Sync`, object safe, synchronous, and used as an
//! `Arc<dyn …>`; the in-memory implementations ship here and are the
//! default for one process. Their contracts:
//!
//! - **Served from memory, every request:** key lookup, revocation
//!   lookup, API key lookup by id. In a fleet each server keeps a local
//!   replica ([`RevocationReplica`] for revocations) fed by the shared
//!   store's change feed; the request never waits on the network.
//! - **Atomic in the shared store:** refresh token rotation
//!   ([`RefreshStore::rotate`]) and API key rotation
//!   ([`ApiKeyStore::rotate`]), each one compare-and-set across every
//!   server; revocation writes, idempotent and never un-revoking.
//! - **An `Err` fails closed:** the token is rejected with
//!   [`Error::Store`] (answer 503), never accepted.
//!
//! The core has no async runtime. An async application keeps the hot-path
//! lookups as they are (they are in-memory) and drives the one networked
//! atomic step, the refresh rotation, through I/O-free steps with its own
//! async client ([`RefreshTokens::begin_refresh`], see [`refresh`]).
//! `tokengate::testing::conformance` (feature `testing`) holds one
//! conformance suite per trait that every implementation, here or in a
//! backend crate, runs.
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
//!   duplicate JSON members are rejected in every object of the header and
//!   claims, nested ones included, and a number beyond the f64 range
//!   anywhere rejects the token.
//! - Secret keys are not `Clone`, print `[redacted]`, and their decoded
//!   bytes are zeroized; HMAC tags are compared in constant time by the
//!   crypto library, API key and refresh token digests with `subtle`.
//! - Reading a token without verification is only possible through
//!   [`danger`].
//!
//! ## Time
//!
//! Instants are [`time::OffsetDateTime`] values in UTC
//! ([`TokenBuilder::expires_at`], [`NewApiKey::expires_at`], the instants of
//! an [`ApiKeyRecord`] and a [`RefreshRecord`], and those an
//! [`ApiKeyStore`], a [`RefreshStore`] and a [`RevocationStore`] are
//! given), and grace
//! periods and lifetimes are [`time::Duration`]s ([`TokenBuilder::lifetime`],
//! [`ValidatorBuilder::leeway`], and the grace of [`ApiKeyIssuer::rotate`]
//! and [`KeyRing::rotate`], the refresh tokens' reuse grace, counted from
//! the [`Clock`]'s now). JWT claims
//! ([`Claims`]: `exp`, `iat`, `nbf`) keep NumericDate `i64` seconds since
//! the Unix epoch, as on the wire (RFC 7519 §2), and so do the values that
//! report them: [`Error::Expired`], [`IntrospectionResponse`] and
//! [`Principal::expires_at`]. A [`Clock`] counts whole seconds.
//!
//! ## Fields and methods
//!
//! One rule for every public type. What the crate verified or made, and
//! only it can make ([`Verified`], [`Principal`], [`Header`],
//! [`VerifiedApiKey`], [`IssuedApiKey`], [`RefreshToken`], [`AuthError`]),
//! is read through methods, so it cannot be altered after the check.
//! Plain data that an application or a store builds and reads back
//! ([`Claims`], [`ApiKeyRecord`], [`RefreshRecord`], [`TokenPair`],
//! [`IntrospectionResponse`], [`RevocationQuery`], [`Snapshot`]) has public
//! fields.

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
mod crypto;
mod ct;
pub mod danger;
mod encoding;
pub mod error;
mod hashed;
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
pub use authenticator::{
    AuthError, Authenticator, AuthenticatorBuilder, BearerError, CredentialKind, Principal,
};
pub use clock::{Clock, FixedClock, SystemClock, UNKNOWN_TIME};
pub use crypto::BACKEND as CRYPTO_BACKEND;
pub use encoding::{DEFAULT_MAX_TOKEN_SIZE, MAX_TOKEN_SIZE_LIMIT};
pub use error::{Error, ErrorKind, KeyError, Malformed};
pub use introspection::{IntrospectionResponse, Introspector, IntrospectorBuilder};
pub use jws::{Algorithm, AlgorithmSet, Header};
pub use jwt::{
    Audience, Claim, ClaimStr, Claims, INLINE_CLAIM_BYTES, NoCustomClaims, TokenBuilder, Validator,
    ValidatorBuilder, Verified,
};
pub use keys::{
    Jwk, JwkSet, JwkSetImport, JwkSetOptions, KeyQuery, KeyRing, KeySetPolicy, KeySetStatus,
    KeySetStore, KeyStore, RemoteKeySet, SigningKey, SingleKeyStore, SkipReason, SkippedJwk,
    VerifyingKey,
};
pub use refresh::{
    Grant, InMemoryRefreshStore, RefreshRecord, RefreshStore, RefreshToken, RefreshTokens,
    RefreshTokensBuilder, TokenPair,
};
pub use revocation::{
    ChangeCursor, ChangeFeed, Revocation, RevocationChange, RevocationList, RevocationQuery,
    RevocationReplica, RevocationStore, Snapshot, StalePolicy,
};
pub use scope::{RoleMap, ScopeRequirement, ScopeSet};

/// The `time` crate, whose `Duration` and `OffsetDateTime` the builders
/// take, re-exported so applications need not depend on it themselves.
pub use time;

/// Every Rust snippet of the README, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;
