//! Reading tokens **without verifying them**.
//!
//! Nothing returned here is authenticated: anyone can write any header and
//! any claims. Use these functions to debug, to log, or to pick a key store
//! or tenant by `kid` or `iss` before validating — never to decide what the
//! bearer may do. Authorization takes a [`crate::jwt::Verified`] token,
//! which only [`crate::jwt::Validator`] makes.

use serde::de::DeserializeOwned;

use crate::encoding::{DEFAULT_MAX_TOKEN_SIZE, DecodeBuf, MAX_TOKEN_SIZE_LIMIT, b64_decode};
use crate::error::Error;
use crate::json::walk_object;
use crate::jws::{Compact, Header};
use crate::jwt::{ClaimStr, Claims, parse_claims, string_claim};

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

/// The `iss` of `token`, without verifying anything: for choosing which
/// issuer's validator checks the token, never for trusting it. Only `iss`
/// is read, so the chosen validator's own rules (its size limit, the claim
/// it reads scopes from) decide everything else; a token that is not
/// valid JSON, or repeats a member, is still refused here.
///
/// # Errors
///
/// [`Error::TokenTooLarge`] over [`MAX_TOKEN_SIZE_LIMIT`], the largest
/// limit a validator can have; [`Error::Malformed`] for a token that is
/// not three base64url segments with a JSON object in the middle, or an
/// `iss` that is not a string.
pub fn issuer_unverified(token: &str) -> Result<Option<ClaimStr>, Error> {
    let compact = Compact::split(token, MAX_TOKEN_SIZE_LIMIT)?;
    let mut payload = DecodeBuf::<2048>::new();
    let payload = payload.decode(compact.payload)?;
    let mut issuer = None;
    walk_object(
        payload,
        |name| (name == "iss").then_some(0),
        |_, value| {
            issuer = Some(string_claim(value, "iss")?);
            Ok(())
        },
    )?;
    Ok(issuer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::b64_encode;

    fn token(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            b64_encode(r#"{"alg":"HS256"}"#),
            b64_encode(payload)
        )
    }

    #[test]
    fn reads_the_issuer_and_nothing_else() {
        let iss = |p: &str| issuer_unverified(&token(p)).map(|i| i.map(String::from));
        assert_eq!(
            iss(r#"{"iss":"a","scope":7,"exp":"x"}"#)
                .unwrap()
                .as_deref(),
            Some("a")
        );
        assert_eq!(iss(r#"{"sub":"s"}"#).unwrap(), None);
        assert!(iss(r#"{"iss":1}"#).is_err());
        assert!(iss(r#"{"iss":"a","iss":"b"}"#).is_err());
        assert!(iss("not json").is_err());
        // Past the default size limit, within the largest a validator has.
        let big = format!(r#"{{"iss":"a","pad":"{}"}}"#, "x".repeat(20_000));
        assert_eq!(iss(&big).unwrap().as_deref(), Some("a"));
    }
}
