//! The two baselines: ring alone on pre-split, pre-decoded input (the
//! crypto cost and nothing else), and the floor: ring + base64 + serde_json
//! doing what a validator must do and nothing more (see [`floor`]).

use std::hint::black_box;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::UnparsedPublicKey;

use crate::fixtures::{
    AUD, Alg, ClaimsRef, FloorHeader, HeaderRef, ISS, RingKeys, SUB, TypedClaims, now_unix,
};
use crate::harness::{Cell, Col, plain};
use crate::{Res, Signer};

/// The clock leeway the floor applies: tokengate's default, the one its
/// column runs with.
const LEEWAY: i64 = tokengate::jwt::DEFAULT_LEEWAY.whole_seconds();

/// The floor: split at the dots; base64url-decode the header and
/// deserialize it into borrowed `&str`s; check `alg` against the key's and
/// `kid` (when present) against the key's id; decode the signature; one
/// signature check; then decode the payload and deserialize the claims into
/// an owned struct; read the clock; check `exp` and `nbf` (with tokengate's
/// default leeway), `iss` and `aud` for equality. Nothing else: no size
/// limit, no strictness (duplicate members, unknown `crit`, non-canonical
/// base64), no key store, no error detail.
pub(crate) fn floor<V: Fn(&[u8], &[u8]) -> bool>(
    token: &str,
    alg: Alg,
    verify: &V,
) -> Option<TypedClaims> {
    let (signing_input, sig) = token.rsplit_once('.')?;
    let (h, p) = signing_input.split_once('.')?;
    let header = URL_SAFE_NO_PAD.decode(h).ok()?;
    let header: FloorHeader<'_> = serde_json::from_slice(&header).ok()?;
    if header.alg != alg.name() || header.kid.is_some_and(|k| k != alg.kid()) {
        return None;
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    if !verify(signing_input.as_bytes(), &sig) {
        return None;
    }
    let claims: TypedClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    let now = now_unix();
    let fresh = now < claims.exp.saturating_add(LEEWAY) && now.saturating_add(LEEWAY) >= claims.nbf;
    (fresh && claims.iss == ISS && claims.aud == AUD).then_some(claims)
}

/// The raw signature check of `alg` (HMAC tag check or public key verify),
/// as a closure over owned key bytes.
fn verifier(keys: &Rc<RingKeys>, alg: Alg) -> impl Fn(&[u8], &[u8]) -> bool + 'static {
    let keys = Rc::clone(keys);
    let public = keys.public(alg);
    move |msg: &[u8], sig: &[u8]| match &public {
        None => ring::hmac::verify(&keys.hmac, msg, sig).is_ok(),
        Some((pk, params)) => UnparsedPublicKey::new(*params, pk).verify(msg, sig).is_ok(),
    }
}

/// ring alone: the signature check over `signing_input`; `expect` says
/// whether it must pass.
pub(crate) fn ring_verify(
    keys: &Rc<RingKeys>,
    alg: Alg,
    signing_input: &[u8],
    signature: &[u8],
    expect: bool,
) -> Cell {
    let verify = verifier(keys, alg);
    let (input, sig) = (signing_input.to_vec(), signature.to_vec());
    plain(Col::Ring, move || {
        verify(black_box(&input), black_box(&sig)) == expect
    })
}

/// The floor on `token`; `expect` says whether it must return the claims.
pub(crate) fn floor_verify(keys: &Rc<RingKeys>, alg: Alg, token: &str, expect: bool) -> Cell {
    let verify = verifier(keys, alg);
    let token = token.to_owned();
    plain(Col::Floor, move || {
        floor(black_box(&token), alg, &verify).is_some_and(|c| c.sub == SUB) == expect
    })
}

/// ring alone signing the signing input of a token (HS256 or ES256; the
/// signature stays in ring's own stack buffer).
pub(crate) fn ring_sign(keys: &Rc<RingKeys>, alg: Alg, signing_input: &[u8]) -> Res<Cell> {
    let keys = Rc::clone(keys);
    let input = signing_input.to_vec();
    Ok(match alg {
        Alg::Hs256 => plain(Col::Ring, move || {
            ring::hmac::sign(&keys.hmac, black_box(&input))
                .as_ref()
                .len()
                == 32
        }),
        Alg::Es256 => plain(Col::Ring, move || {
            keys.p256
                .sign(&keys.rng, black_box(&input))
                .is_ok_and(|s| s.as_ref().len() == 64)
        }),
        other => return Err(format!("no ring sign row for {}", other.name()).into()),
    })
}

/// The floor's signer: read the clock, serialize header and claims,
/// base64url, sign, append the signature.
pub(crate) fn floor_signer(keys: &Rc<RingKeys>, alg: Alg, nbf: i64) -> Signer {
    let keys = Rc::clone(keys);
    Box::new(move || {
        let header = HeaderRef {
            alg: alg.name(),
            typ: "JWT",
            kid: alg.kid(),
        };
        let claims = ClaimsRef::at(crate::fixtures::now_unix(), nbf);
        let header = serde_json::to_vec(&header)?;
        let claims = serde_json::to_vec(&claims)?;
        let mut token = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let sig = keys.sign(alg, token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        Ok(token)
    })
}
