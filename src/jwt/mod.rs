//! JSON Web Tokens (RFC 7519): claims, issuing and validation.
//!
//! [`TokenBuilder`] signs tokens on the issuer side; [`Validator`] checks
//! them on the resource-server side and hands out [`Verified`] claims.

mod builder;
mod cache;
mod claims;
mod text;
mod validator;

pub use builder::{ACCESS_TOKEN_TYPE, DEFAULT_LIFETIME, TokenBuilder};
pub use claims::{Claim, Claims, NoCustomClaims};
pub use text::{Audience, ClaimStr, INLINE_CLAIM_BYTES};
pub use validator::{DEFAULT_LEEWAY, Validator, ValidatorBuilder, Verified};

pub(crate) use claims::{parse_claims, parse_custom, string_claim};
