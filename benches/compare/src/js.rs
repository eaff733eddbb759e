//! jwt-simple 0.15 (`pure-rust`): `verify_token` with allowed issuers and
//! audiences (it checks `exp` and `nbf` whenever present), custom claims
//! typed as [`ScopeClaims`] beside its own typed registered claims.

use std::collections::HashSet;
use std::hint::black_box;

use jwt_simple::prelude::{
    Claims, Duration, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ECDSAP384PublicKeyLike,
    ES256KeyPair, ES256PublicKey, ES384PublicKey, Ed25519PublicKey, EdDSAPublicKeyLike, HS256Key,
    MACLike, PS256PublicKey, RS256PublicKey, RSAPublicKeyLike, UnixTimeStamp, VerificationOptions,
};
use serde::{Deserialize, Serialize};

use crate::fixtures::{AUD, Alg, HMAC_KEY, ISS, JTI, LIFETIME_SECS, SCOPE, SUB};
use crate::harness::{Cell, Col, plain};
use crate::{Res, Signer};

/// The claims jwt-simple does not type itself.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
pub(crate) struct ScopeClaims {
    scope: String,
}

#[derive(Debug, Serialize)]
struct ScopeRef {
    scope: &'static str,
}

/// Signature, `exp`, `nbf`, `iss` and `aud`. jwt-simple takes the options
/// by value on every call, so every verification clones them.
pub(crate) fn options() -> VerificationOptions {
    VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISS.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUD.to_owned()])),
        ..VerificationOptions::default()
    }
}

macro_rules! verify_cell {
    ($key:expr, $token:expr, $expect:expr) => {{
        let key = $key;
        let token: String = $token.to_owned();
        let expect: bool = $expect;
        let opts = options();
        plain(Col::JwtSimple, move || {
            key.verify_token::<ScopeClaims>(black_box(&token), Some(opts.clone()))
                .is_ok_and(|c| c.subject.as_deref() == Some(SUB))
                == expect
        })
    }};
}

fn public_pem(alg: Alg) -> Res<&'static str> {
    alg.public_pem().ok_or_else(|| "no PEM".into())
}

/// `verify_token` of `token`; `expect` says whether it must pass with the
/// right `sub`.
pub(crate) fn verify(alg: Alg, token: &str, expect: bool) -> Res<Cell> {
    Ok(match alg {
        Alg::Hs256 => verify_cell!(
            HS256Key::from_bytes(&HMAC_KEY).with_key_id(alg.kid()),
            token,
            expect
        ),
        Alg::Es256 => verify_cell!(ES256PublicKey::from_pem(public_pem(alg)?)?, token, expect),
        Alg::Es384 => verify_cell!(ES384PublicKey::from_pem(public_pem(alg)?)?, token, expect),
        Alg::EdDsa => verify_cell!(Ed25519PublicKey::from_pem(public_pem(alg)?)?, token, expect),
        Alg::Rs256 => verify_cell!(RS256PublicKey::from_pem(public_pem(alg)?)?, token, expect),
        Alg::Ps256 => verify_cell!(PS256PublicKey::from_pem(public_pem(alg)?)?, token, expect),
    })
}

fn claims(nbf: i64) -> jwt_simple::prelude::JWTClaims<ScopeRef> {
    Claims::with_custom_claims(
        ScopeRef { scope: SCOPE },
        Duration::from_secs(LIFETIME_SECS.unsigned_abs()),
    )
    .with_issuer(ISS)
    .with_subject(SUB)
    .with_audience(AUD)
    .with_jwt_id(JTI)
    .invalid_before(UnixTimeStamp::from_secs(nbf.unsigned_abs()))
}

/// A signer: build the claims (reads the clock), sign. HS256 and ES256.
pub(crate) fn signer(alg: Alg, nbf: i64) -> Res<Signer> {
    Ok(match alg {
        Alg::Hs256 => {
            let key = HS256Key::from_bytes(&HMAC_KEY).with_key_id(alg.kid());
            Box::new(move || Ok(key.authenticate(claims(nbf))?))
        }
        Alg::Es256 => {
            let pem = alg.private_pem().ok_or("no PEM")?;
            let key = ES256KeyPair::from_pem(pem)?.with_key_id(alg.kid());
            Box::new(move || Ok(key.sign(claims(nbf))?))
        }
        other => return Err(format!("no jwt-simple sign row for {}", other.name()).into()),
    })
}
