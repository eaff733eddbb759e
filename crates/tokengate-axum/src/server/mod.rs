//! The authorization server side, as routers an application merges into
//! its own:
//!
//! | router | endpoint |
//! |---|---|
//! | [`jwks_router`] | `GET /.well-known/jwks.json` from a [`KeyRing`](tokengate::KeyRing), with `Cache-Control` |
//! | [`TokenEndpoint::router`] | RFC 6749 token endpoint: `client_credentials` and `refresh_token` |
//! | [`introspection_router`] | RFC 7662 introspection, the caller authenticated and scoped |
//! | [`revocation_router`] | RFC 7009 revocation, the client authenticated |
//!
//! OAuth clients authenticate with an API key as their `client_secret`
//! (HTTP Basic or form parameters; see [`TokenEndpoint`]). Every store
//! call these endpoints make runs on tokio's blocking pool: a refresh
//! rotation or a revocation write may be a round trip to a shared store,
//! and must not hold an async worker.

mod introspect;
mod jwks;
mod oauth;
mod token;

pub use introspect::{introspection_router, revocation_router};
pub use jwks::{JWKS_PATH, jwks_router};
pub use token::{DEFAULT_CLIENT_TOKEN_LIFETIME, TokenEndpoint};
