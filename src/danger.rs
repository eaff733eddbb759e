//! Reading tokens **without verifying them**.
//!
//! Nothing returned here is authenticated: anyone can write any header and
//! any claims. Use these functions to debug, to log, or to pick a key store
//! or tenant by `kid` or `iss` before validating — never to decide what the
//! bearer may do. Authorization takes a [`crate::jwt::Verified`] token,
//! which only [`crate::jwt::Validator`] makes.

use serde::de::DeserializeOwned;

use crate::encoding::{DEFAULT_MAX_TOKEN_SIZE, b64_decode};
use crate::error::Error;
use crate::jws::{Compact, Header};
use crate::jwt::{Claims, parse_claims};

/// Decodes the header of `token` without verifying anything.
///
/// # Errors
///
/// [`Error::TokenTooLarge`] over 8 KiB, [`Error::Malformed`],
/// [`Error::UnsupportedAlgorithm`], [`Error::UnsupportedCriticalHeader`]:
/// the same header checks as validation.
pub fn decode_header_unverified(token: &str) -> Result<Header, Error> {
    Compact::split(token, DEFAULT_MAX_TOKEN_SIZE)?.header()
}

/// Decodes the claims of `token` without verifying its signature or any
/// claim. Registered claims are still strictly typed.
///
/// # Errors
///
/// [`Error::TokenTooLarge`] over 8 KiB and [`Error::Malformed`].
pub fn decode_claims_unverified<T: DeserializeOwned>(token: &str) -> Result<Claims<T>, Error> {
    let compact = Compact::split(token, DEFAULT_MAX_TOKEN_SIZE)?;
    parse_claims(&b64_decode(compact.payload)?)
}
