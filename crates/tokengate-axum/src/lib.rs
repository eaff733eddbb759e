//! # tokengate-axum
//!
//! [tokengate] for axum and tower: one layer that authenticates
//! JWT access tokens and API keys with RFC 6750 answers, extractors for the
//! caller and its claims, per-route scopes, several issuers, an identity
//! provider's key rotation ridden out mid-request, and the authorization
//! server's endpoints (JWKS, token, introspection, revocation) as routers
//! to merge.
//!
//! ## Quick start
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::{get, post}};
//! use tokengate::{Algorithm, ApiKeyFormat, ApiKeyVerifier, Authenticator, InMemoryApiKeyStore,
//!                 KeyRing, SigningKey, Validator};
//! use tokengate_axum::{Auth, AuthLayer, RequireScopes};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::ES256)?));
//! let door = Arc::new(
//!     Authenticator::builder()
//!         .access_tokens(
//!             Validator::builder(Arc::clone(&ring))
//!                 .access_token_profile()
//!                 .issuer("https://auth.example.com")
//!                 .audience("https://orders.example.com")
//!                 .build()?,
//!         )
//!         .api_keys(ApiKeyVerifier::new(
//!             ApiKeyFormat::new("acme")?,
//!             Arc::new(InMemoryApiKeyStore::new()),
//!         ))
//!         .realm("orders")
//!         .build()?,
//! );
//!
//! async fn list(Auth(caller): Auth) -> String {
//!     format!("orders of {}", caller.subject().unwrap_or("?"))
//! }
//!
//! let app = Router::new()
//!     .route("/orders", get(list))
//!     .merge(
//!         Router::new()
//!             .route("/orders", post(|| async { "created" }))
//!             .route_layer(RequireScopes::all("orders:write")?), // 403 names the scope
//!     )
//!     .layer(AuthLayer::new(door)); // every route: 400/401/403/503 answered here
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! A complete authorization server with a protected API is the `server`
//! example: `cargo run -p tokengate-axum --example server` (add
//! `-- --self-test` to have it walk through its own endpoints).
//!
//! ## What a refused request gets
//!
//! | case | status | `WWW-Authenticate` | default body |
//! |---|---|---|---|
//! | no credentials (or another scheme, such as `Basic`) | 401 | `Bearer realm="orders"` | `{"error":"unauthorized"}` |
//! | malformed header: no token, bad characters, two `Authorization` headers, non-ASCII bytes | 400 | `Bearer realm="orders", error="invalid_request"` | `{"error":"invalid_request"}` |
//! | invalid, expired, revoked or unknown token or API key | 401 | `Bearer realm="orders", error="invalid_token"` | `{"error":"invalid_token"}` |
//! | missing scopes | 403 | `Bearer realm="orders", error="insufficient_scope", scope="orders:write"` | `{"error":"insufficient_scope","scope":"orders:write"}` |
//! | a shared store or a remote key set unavailable | 503 | none; `Retry-After: 5` | `{"error":"temporarily_unavailable"}` |
//! | our side failed | 500 | none | `{"error":"server_error"}` |
//!
//! The body is replaceable ([`AuthLayer::error_body`], any
//! `Fn(&AuthError) -> Response`); the status and headers are not. The
//! precise reason stays in [`AuthError::cause`](tokengate::AuthError::cause)
//! for logs. The [`Auth`] and [`VerifiedClaims`] extractors and
//! [`RequireScopes`] answer with the same responses ([`AuthRejection`]).
//!
//! ## Pieces
//!
//! - [`AuthLayer`]: [`new`](AuthLayer::new) over one
//!   [`Authenticator`](tokengate::Authenticator), or
//!   [`multi`](AuthLayer::multi) over a [`MultiIssuer`];
//!   [`claims::<T>()`](AuthLayer::claims) for the application's own claims
//!   type; [`optional()`](AuthLayer::optional) for routes that serve
//!   anonymous callers too (a presented but bad credential is still
//!   refused); [`key_refresh`](AuthLayer::key_refresh) for a remote key set.
//! - Extractors: [`Auth<T>`] (the
//!   [`Principal<T>`](tokengate::Principal)), [`VerifiedClaims<T>`] (the
//!   access token's claims; an API key is refused), and their `Option<…>`
//!   forms (`None` for an anonymous caller).
//! - [`RequireScopes`]: a route's scope requirement as a `route_layer`.
//! - [`MultiIssuer`]: the door chosen by the token's unverified `iss`,
//!   which the chosen door's validator then checks with its own keys.
//! - [`KeyRefresh`]: on a token with an unknown `kid`, await one refetch of
//!   the key set (single flight, cooldown and waiter cap decided by the
//!   core's [`RemoteKeySet`](tokengate::RemoteKeySet)) and authenticate
//!   again: [`RemoteKeySetRefresh`] with the application's own fetch, or
//!   `tokengate_jwks::RemoteJwks` with the `jwks` feature.
//! - [`server`]: `GET /.well-known/jwks.json`, the RFC 6749 token endpoint
//!   (`client_credentials` and `refresh_token`, clients authenticated with
//!   an API key as client secret), RFC 7662 introspection and RFC 7009
//!   revocation.
//!
//! ## Synchronous stores in async code
//!
//! tokengate's stores are synchronous traits. The ones on the request's hot
//! path (keys, revocations, API keys) answer from memory by contract, shared
//! stores included, which keep local replicas fed by a change feed; the
//! layer calls them inline, and no tokio worker waits on the network. The
//! one wait in the layer, a key refetch, is awaited. The server endpoints'
//! store calls (a refresh rotation is one compare-and-set in a shared store,
//! a revocation a write) can be network round trips: they run on tokio's
//! blocking pool (`spawn_blocking`).
//!
//! ## Features
//!
//! - `jwks`: `tokengate_jwks::RemoteJwks` implements [`KeyRefresh`].

#![forbid(unsafe_code, unused_must_use)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod extract;
mod issuers;
mod layer;
pub mod refetch;
mod response;
pub mod server;

pub use extract::{Auth, RequireScopes, RequireScopesService, VerifiedClaims};
pub use issuers::MultiIssuer;
pub use layer::{AuthLayer, AuthService, ClaimsType};
pub use refetch::{Fetched, KeyRefresh, RemoteKeySetRefresh};
pub use response::{AuthRejection, ErrorBody, JsonErrorBody};

/// Every Rust snippet of the README, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;
