//! Published JWS vectors: RFC 7515 Appendix A.1-A.5 and RFC 8037 Appendix A,
//! run through the crate's own verification and signing paths. The data and
//! its sources are in `tests/data/rfc/` (see its README).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use tokengate::testing::clock_at;
use tokengate::{
    Algorithm, ErrorKind, KeySetStore, SigningKey, SingleKeyStore, Validator, VerifyingKey, jws,
};

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/data/rfc/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, member: &str) -> &'a str {
    v[member].as_str().unwrap()
}

/// The RFC 7515 A.1-A.3 claims: iss "joe", exp 1300819380 (2011-03-22).
const EXP: i64 = 1_300_819_380;

fn validator(key: VerifyingKey, now: Option<i64>) -> Validator {
    let b = Validator::builder(SingleKeyStore::new(key))
        .danger_accept_any_type()
        .issuer("joe")
        .expect_no_audience();
    match now {
        Some(t) => b.clock(clock_at(t)),
        None => b,
    }
    .build()
    .unwrap()
}

/// Signing input and signature bytes of a compact token.
fn parts(token: &str) -> (&str, Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').unwrap();
    (
        input,
        tokengate::testing::b64_decode(sig.as_bytes()).unwrap(),
    )
}

fn check_jwt_vector(name: &str, alg: Algorithm) {
    let v = vector(name);
    assert_eq!(s(&v, "alg"), alg.as_str());
    let token = s(&v, "token");
    let public = if alg.is_symmetric() {
        v["jwk"].to_string()
    } else {
        v["public_jwk"].to_string()
    };
    let key = VerifyingKey::from_jwk(&public, Some(alg)).unwrap();

    // Accepted with a clock before the 2011 expiry; the claims come back.
    let verified = validator(key, Some(EXP - 60))
        .validate_with::<serde_json::Map<String, Value>>(token, None)
        .unwrap();
    assert_eq!(verified.claims().issuer.as_deref(), Some("joe"));
    assert_eq!(verified.claims().expires_at, Some(EXP));
    assert_eq!(verified.custom()["http://example.com/is_root"], true);
    assert_eq!(verified.header().algorithm(), alg);

    // Expired with the real clock, and at the leeway boundary.
    let key = || VerifyingKey::from_jwk(&public, Some(alg)).unwrap();
    let err = validator(key(), None)
        .validate_with::<Value>(token, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
    let err = validator(key(), Some(EXP + 30))
        .validate_with::<Value>(token, None)
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "expired");
    assert!(
        validator(key(), Some(EXP + 29))
            .validate_with::<Value>(token, None)
            .is_ok()
    );

    // Tampered twin: one signature character changed to another of the
    // alphabet, away from the last one (whose trailing bits must stay
    // zero), so the token is well formed and only the signature is wrong.
    let dot = token.rfind('.').unwrap();
    let at = dot + 5;
    let was = token.as_bytes()[at];
    let tampered = format!(
        "{}{}{}",
        &token[..at],
        if was == b'A' { 'B' } else { 'A' },
        &token[at + 1..]
    );
    let err = validator(key(), Some(EXP - 60))
        .validate_with::<Value>(&tampered, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err:?}");

    // The private JWK imports, and deterministic algorithms re-sign to the
    // published signature byte for byte.
    let signer = SigningKey::from_jwk(&v["jwk"].to_string(), Some(alg)).unwrap();
    let (input, signature) = parts(token);
    let ours = signer.sign(input.as_bytes()).unwrap();
    if v["deterministic_signature"].as_bool().unwrap() {
        assert_eq!(ours, signature);
    } else {
        signer
            .verifying_key()
            .verify(input.as_bytes(), &signature)
            .unwrap();
    }
    signer
        .verifying_key()
        .verify(input.as_bytes(), &ours)
        .unwrap();
}

#[test]
fn rfc7515_a1_hs256() {
    let v = vector("rfc7515_a1_hs256");
    // The header is the RFC's exact octets, CRLF and all.
    assert_eq!(
        s(&v, "protected_header"),
        "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"
    );
    check_jwt_vector("rfc7515_a1_hs256", Algorithm::HS256);
}

#[test]
fn rfc7515_a2_rs256() {
    check_jwt_vector("rfc7515_a2_rs256", Algorithm::RS256);
}

#[test]
fn rfc7515_a3_es256() {
    check_jwt_vector("rfc7515_a3_es256", Algorithm::ES256);
    // The public JWK has no `alg`: the curve implies ES256.
    let v = vector("rfc7515_a3_es256");
    let key = VerifyingKey::from_jwk(&v["public_jwk"].to_string(), None).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
}

#[cfg(not(feature = "aws-lc-rs"))]
#[test]
fn rfc7515_a4_es512_is_unsupported() {
    let v = vector("rfc7515_a4_es512");
    let token = s(&v, "token");
    // Any validator: the header is refused before a key is looked up.
    let es256 = VerifyingKey::from_jwk(&vector("rfc7515_a3_es256")["public_jwk"].to_string(), None)
        .unwrap();
    let err = validator(es256, Some(EXP - 60))
        .validate_with::<Value>(token, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
    // Its P-521 key is not importable either.
    assert!(VerifyingKey::from_jwk(&v["public_jwk"].to_string(), None).is_err());
    // In a set, it is left out as unsupported, and the set has no usable key.
    let err = VerifyingKey::from_jwk_set(&format!("{{\"keys\":[{}]}}", v["public_jwk"]), None)
        .unwrap_err();
    match err {
        tokengate::Error::InvalidKey(tokengate::KeyError::NoUsableKey { skipped }) => {
            assert_eq!(skipped.len(), 1);
            assert_eq!(skipped[0].reason.as_str(), "unsupported");
        }
        other => panic!("{other:?}"),
    }
}

/// With the aws-lc-rs backend, ES512 exists: A.4 verifies (its payload is
/// the text `Payload`, not a JWT) and its tampered twin does not.
#[cfg(feature = "aws-lc-rs")]
#[test]
fn rfc7515_a4_es512_with_aws_lc() {
    let v = vector("rfc7515_a4_es512");
    let token = s(&v, "token");
    let public = VerifyingKey::from_jwk(&v["public_jwk"].to_string(), None).unwrap();
    assert_eq!(public.algorithm(), Algorithm::ES512);
    let (_, payload) = jws::verify(token, &public).unwrap();
    assert_eq!(payload, s(&v, "payload").as_bytes());
    let tampered = token.replacen("UGF5", "UGF6", 1);
    assert!(jws::verify(&tampered, &public).is_err());
    let signer = SigningKey::from_jwk(&v["jwk"].to_string(), None).unwrap();
    let (input, signature) = parts(token);
    signer
        .verifying_key()
        .verify(input.as_bytes(), &signature)
        .unwrap();
    let ours = signer.sign(input.as_bytes()).unwrap();
    public.verify(input.as_bytes(), &ours).unwrap();
}

#[test]
fn rfc7515_a5_unsecured_is_rejected() {
    let v = vector("rfc7515_a5_none");
    let token = s(&v, "token");
    assert!(token.ends_with('.'));
    let hs = VerifyingKey::from_jwk(
        &vector("rfc7515_a1_hs256")["jwk"].to_string(),
        Some(Algorithm::HS256),
    )
    .unwrap();
    let err = validator(hs, Some(EXP - 60))
        .validate_with::<Value>(token, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
    // Also with a signature glued on, and with the alg spelled differently.
    let with_sig = format!("{token}c2lnbmF0dXJl");
    let hs = VerifyingKey::from_jwk(
        &vector("rfc7515_a1_hs256")["jwk"].to_string(),
        Some(Algorithm::HS256),
    )
    .unwrap();
    let err = validator(hs, Some(EXP - 60))
        .validate_with::<Value>(&with_sig, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn rfc8037_ed25519() {
    let v = vector("rfc8037_a4_ed25519");
    let token = s(&v, "token");
    let public = VerifyingKey::from_jwk(&v["public_jwk"].to_string(), None).unwrap();
    assert_eq!(public.algorithm(), Algorithm::EdDSA);
    // A.3: the thumbprint, which is also the default key id.
    assert_eq!(public.thumbprint(), s(&v, "thumbprint"));
    assert_eq!(public.key_id(), s(&v, "thumbprint"));
    // A.4: the signature verifies and the payload comes back.
    let (header, payload) = jws::verify(token, &public).unwrap();
    assert_eq!(header.algorithm(), Algorithm::EdDSA);
    assert_eq!(payload, s(&v, "payload").as_bytes());
    // Ed25519 is deterministic: signing again gives the RFC's signature.
    let signer = SigningKey::from_jwk(&v["jwk"].to_string(), None).unwrap();
    let (input, signature) = parts(token);
    assert_eq!(signer.sign(input.as_bytes()).unwrap(), signature);
    // Tampered twin.
    let tampered = token.replacen("RXhh", "RXha", 1);
    assert_eq!(
        jws::verify(&tampered, &public).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // It is not a JWT: the validator verifies the signature, then refuses
    // the payload.
    let store = KeySetStore::new([public]).unwrap();
    let err = Validator::builder(store)
        .danger_accept_any_type()
        .danger_accept_any_issuer()
        .expect_no_audience()
        .build()
        .unwrap()
        .validate_with::<Value>(token, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
}

/// RFC 9864's fully-specified `Ed25519` with the RFC 8037 key: the A.4
/// payload re-signed under `{"alg":"Ed25519"}` by an independent
/// implementation (see `tests/data/rfc/README.md`).
#[test]
fn rfc9864_ed25519_with_the_rfc8037_key() {
    let v = vector("rfc9864_ed25519");
    let old = vector("rfc8037_a4_ed25519");
    let token = s(&v, "token");
    let public = VerifyingKey::from_jwk(&v["public_jwk"].to_string(), None).unwrap();
    assert_eq!(public.algorithm(), Algorithm::Ed25519);
    // The thumbprint covers crv, kty and x only: the same as under EdDSA.
    assert_eq!(public.thumbprint(), s(&v, "thumbprint"));
    assert_eq!(public.thumbprint(), s(&old, "thumbprint"));
    let (header, payload) = jws::verify(token, &public).unwrap();
    assert_eq!(header.algorithm(), Algorithm::Ed25519);
    assert_eq!(payload, s(&v, "payload").as_bytes());
    // Deterministic: this crate's signature is the independent one.
    let signer = SigningKey::from_jwk(&v["jwk"].to_string(), None).unwrap();
    assert_eq!(signer.algorithm(), Algorithm::Ed25519);
    let (input, signature) = parts(token);
    assert_eq!(signer.sign(input.as_bytes()).unwrap(), signature);
    // The RFC 8037 key without `alg`, bound to Ed25519 by the caller, signs
    // the same bytes.
    let bound = SigningKey::from_jwk(&old["jwk"].to_string(), Some(Algorithm::Ed25519)).unwrap();
    assert_eq!(bound.sign(input.as_bytes()).unwrap(), signature);
    // Tampered twin.
    let tampered = token.replacen("RXhh", "RXha", 1);
    assert_eq!(
        jws::verify(&tampered, &public).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // One key, one name: the Ed25519 key refuses the RFC 8037 EdDSA token
    // over the same key, and the EdDSA key refuses this one.
    let eddsa = VerifyingKey::from_jwk(&old["public_jwk"].to_string(), None).unwrap();
    assert_eq!(
        jws::verify(s(&old, "token"), &public).unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed
    );
    assert_eq!(
        jws::verify(token, &eddsa).unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed
    );
}
