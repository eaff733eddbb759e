//! # tokengate-axum
//!
//! (docs below)

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
