//! tokengate, used as its documentation says: a [`Validator`] over a
//! [`SingleKeyStore`] with an issuer and an audience, and a
//! [`TokenBuilder`] template signing with a [`SigningKey`].

use std::hint::black_box;

use time::OffsetDateTime;
use tokengate::{Algorithm, SigningKey, SingleKeyStore, TokenBuilder, Validator, VerifyingKey};

use crate::fixtures::{AUD, Alg, HMAC_KEY, ISS, JTI, LIFETIME_SECS, SCOPE, SUB};
use crate::harness::{Cell, Col, plain};
use crate::{Res, Signer};

fn algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::Hs256 => Algorithm::HS256,
        Alg::Es256 => Algorithm::ES256,
        Alg::Es384 => Algorithm::ES384,
        Alg::EdDsa => Algorithm::EdDSA,
        Alg::Rs256 => Algorithm::RS256,
        Alg::Ps256 => Algorithm::PS256,
    }
}

/// The validator for `alg`'s key: signature, `exp` (required, the
/// default), `nbf` when present, `iss` and `aud`.
pub(crate) fn validator(alg: Alg) -> Res<Validator> {
    let a = algorithm(alg);
    let key = match alg.public_pem() {
        None => VerifyingKey::hmac(a, &HMAC_KEY)?,
        Some(pem) => VerifyingKey::from_pem(a, pem)?,
    }
    .with_key_id(alg.kid());
    Ok(Validator::builder(SingleKeyStore::new(key))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .build()?)
}

/// Validation of `token` into tokengate's registered claims, typed
/// (`Validator::validate`); `expect` says whether it must pass with the right `sub`.
pub(crate) fn verify(alg: Alg, token: &str, expect: bool) -> Res<Cell> {
    let v = validator(alg)?;
    let token = token.to_owned();
    Ok(plain(Col::Tokengate, move || {
        v.validate(black_box(&token))
            .is_ok_and(|t| t.subject() == Some(SUB))
            == expect
    }))
}

/// The signing key for `alg`, with the comparison's key id.
pub(crate) fn signing_key(alg: Alg) -> Res<SigningKey> {
    let a = algorithm(alg);
    Ok(match alg.private_pem() {
        None => SigningKey::hmac(a, &HMAC_KEY)?,
        Some(pem) => SigningKey::from_pem(a, pem)?,
    }
    .with_key_id(alg.kid()))
}

/// A signer: one builder template, reused; the fixed `jti` spares the
/// random draw no peer makes.
pub(crate) fn signer(alg: Alg, nbf: i64) -> Res<Signer> {
    let key = signing_key(alg)?;
    let builder = TokenBuilder::new()
        .issuer(ISS)
        .subject(SUB)
        .audience(AUD)
        .scope(SCOPE)
        .lifetime(time::Duration::seconds(LIFETIME_SECS))
        .not_before(OffsetDateTime::from_unix_timestamp(nbf)?)
        .jwt_id(JTI);
    Ok(Box::new(move || Ok(builder.sign(&key)?)))
}
