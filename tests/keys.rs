//! Key formats end to end: PEM, DER and JWK fixtures made with OpenSSL
//! (see `tests/data/keys/README.md`) load with the right constructor and
//! algorithm, sign and verify across formats, and are refused when they
//! do not fit (wrong algorithm or curve, RSA under 2048 bits, SEC1 PEM,
//! JWK `alg`/`use`/`key_ops`). Thumbprints, JWK Set export and `Debug`
//! output are pinned.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use time::Duration;
use tokengate::testing::clock;
use tokengate::{
    Algorithm, Error, FixedClock, KeyError, KeyRing, KeySetStore, SigningKey, SingleKeyStore,
    SkipReason, TokenBuilder, Validator, VerifyingKey, jws,
};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

const RSA_PKCS8_PEM: &str = include_str!("data/keys/rsa2048_pkcs8.pem");
const RSA_PKCS1_PEM: &str = include_str!("data/keys/rsa2048_pkcs1.pem");
const RSA_SPKI_PEM: &str = include_str!("data/keys/rsa2048_spki.pem");
const RSA_PKCS1_PUB_PEM: &str = include_str!("data/keys/rsa2048_pkcs1_pub.pem");
const RSA_PKCS8_DER: &[u8] = include_bytes!("data/keys/rsa2048_pkcs8.der");
const RSA_PKCS1_DER: &[u8] = include_bytes!("data/keys/rsa2048_pkcs1.der");
const RSA_SPKI_DER: &[u8] = include_bytes!("data/keys/rsa2048_spki.der");
const RSA_PKCS1_PUB_DER: &[u8] = include_bytes!("data/keys/rsa2048_pkcs1_pub.der");
const RSA_PRIVATE_JWK: &str = include_str!("data/keys/rsa2048_private.jwk.json");
const RSA_PUBLIC_JWK: &str = include_str!("data/keys/rsa2048_public.jwk.json");
const RSA1024_PKCS8_PEM: &str = include_str!("data/keys/rsa1024_pkcs8.pem");
const RSA1024_PKCS1_DER: &[u8] = include_bytes!("data/keys/rsa1024_pkcs1.der");

const P256_PKCS8_PEM: &str = include_str!("data/keys/ec_p256_pkcs8.pem");
const P256_SPKI_PEM: &str = include_str!("data/keys/ec_p256_spki.pem");
const P256_PRIVATE_JWK: &str = include_str!("data/keys/ec_p256_private.jwk.json");
const P256_PUBLIC_JWK: &str = include_str!("data/keys/ec_p256_public.jwk.json");
const P256_SEC1_PEM: &str = include_str!("data/keys/ec_p256_sec1.pem");

const P384_PKCS8_PEM: &str = include_str!("data/keys/ec_p384_pkcs8.pem");
const P384_SPKI_PEM: &str = include_str!("data/keys/ec_p384_spki.pem");
const P384_PRIVATE_JWK: &str = include_str!("data/keys/ec_p384_private.jwk.json");
const P384_PUBLIC_JWK: &str = include_str!("data/keys/ec_p384_public.jwk.json");

const ED25519_PKCS8_PEM: &str = include_str!("data/keys/ed25519_pkcs8.pem");
const ED25519_SPKI_PEM: &str = include_str!("data/keys/ed25519_spki.pem");
const ED25519_PRIVATE_JWK: &str = include_str!("data/keys/ed25519_private.jwk.json");
const ED25519_PUBLIC_JWK: &str = include_str!("data/keys/ed25519_public.jwk.json");

/// RFC 7638 thumbprints computed independently by the fixture script.
const THUMBPRINTS: &str = include_str!("data/keys/thumbprints.json");

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

fn thumbprint(stem: &str) -> String {
    let all: Value = serde_json::from_str(THUMBPRINTS).unwrap();
    all[stem].as_str().unwrap().to_owned()
}

/// The DER body of a one-block PEM document.
fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// A JWK fixture with extra members set.
fn jwk_with(jwk: &str, extra: &Value) -> String {
    let mut v: Value = serde_json::from_str(jwk).unwrap();
    for (k, value) in extra.as_object().unwrap() {
        v[k] = value.clone();
    }
    v.to_string()
}

fn member(jwk: &str, name: &str) -> String {
    let v: Value = serde_json::from_str(jwk).unwrap();
    v[name].as_str().unwrap().to_owned()
}

fn token(signer: &SigningKey) -> String {
    TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject("user-1")
        .clock(clock())
        .sign(signer)
        .unwrap()
}

fn validator(verifier: impl Into<Arc<VerifyingKey>>) -> Validator {
    Validator::builder(SingleKeyStore::new(verifier))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock())
        .build()
        .unwrap()
}

/// The token with one payload character changed (data bits, not trailing
/// bits), so only the signature can catch it.
fn tampered(token: &str) -> String {
    let first_dot = token.find('.').unwrap();
    let mut bytes = token.as_bytes().to_vec();
    let i = first_dot + 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// `verifier` accepts `signer`'s token and refuses its tampered twin.
#[track_caller]
fn assert_verifies(signer: &SigningKey, verifier: impl Into<Arc<VerifyingKey>>, what: &str) {
    let verifier = verifier.into();
    assert_eq!(verifier.algorithm(), signer.algorithm(), "{what}");
    assert_eq!(verifier.key_id(), signer.key_id(), "{what}");
    let v = validator(verifier);
    let token = token(signer);
    let verified = v
        .validate(&token)
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(verified.subject(), Some("user-1"));
    assert_eq!(verified.header().algorithm(), signer.algorithm());
    let err = v.validate(&tampered(&token)).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{what}: {err:?}");
}

#[track_caller]
fn key_error<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> KeyError {
    match r {
        Err(Error::InvalidKey(e)) => e,
        other => panic!("{what}: expected a key error, got {other:?}"),
    }
}

#[track_caller]
fn assert_mismatch<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) {
    let e = key_error(r, what);
    assert_eq!(e, KeyError::AlgorithmMismatch, "{what}");
}

// ---------------------------------------------------------------------------
// Loading and cross-format signing
// ---------------------------------------------------------------------------

#[test]
fn rsa_formats_load_and_verify_each_other() {
    let alg = Algorithm::RS256;
    let signers = [
        ("PKCS#8 PEM", SigningKey::from_pem(alg, RSA_PKCS8_PEM)),
        ("PKCS#1 PEM", SigningKey::from_pem(alg, RSA_PKCS1_PEM)),
        ("PKCS#8 DER", SigningKey::from_pkcs8_der(alg, RSA_PKCS8_DER)),
        ("PKCS#1 DER", SigningKey::from_pkcs1_der(alg, RSA_PKCS1_DER)),
        ("JWK", SigningKey::from_jwk(RSA_PRIVATE_JWK, Some(alg))),
    ]
    .map(|(what, r)| (what, r.unwrap_or_else(|e| panic!("{what}: {e:?}"))));
    let verifiers = || {
        [
            ("SPKI PEM", VerifyingKey::from_pem(alg, RSA_SPKI_PEM)),
            (
                "PKCS#1 public PEM",
                VerifyingKey::from_pem(alg, RSA_PKCS1_PUB_PEM),
            ),
            ("SPKI DER", VerifyingKey::from_spki_der(alg, RSA_SPKI_DER)),
            (
                "PKCS#1 public DER",
                VerifyingKey::from_pkcs1_der(alg, RSA_PKCS1_PUB_DER),
            ),
            (
                "public JWK",
                VerifyingKey::from_jwk(RSA_PUBLIC_JWK, Some(alg)),
            ),
            (
                "private JWK",
                VerifyingKey::from_jwk(RSA_PRIVATE_JWK, Some(alg)),
            ),
            ("PKCS#8 PEM", VerifyingKey::from_pem(alg, RSA_PKCS8_PEM)),
            ("PKCS#1 PEM", VerifyingKey::from_pem(alg, RSA_PKCS1_PEM)),
        ]
        .map(|(what, r)| (what, r.unwrap_or_else(|e| panic!("{what}: {e:?}"))))
    };
    let expected = thumbprint("rsa2048");
    for (signer_what, signer) in &signers {
        assert_eq!(signer.algorithm(), alg);
        assert_eq!(signer.key_id(), expected, "{signer_what}");
        for (verifier_what, verifier) in verifiers() {
            assert!(!verifier.is_secret());
            assert_verifies(
                signer,
                verifier,
                &format!("{signer_what} -> {verifier_what}"),
            );
        }
    }
}

#[test]
fn one_rsa_key_serves_every_rsa_algorithm_but_only_the_one_it_was_bound_to() {
    for alg in RSA_ALGS {
        let signer = SigningKey::from_pem(alg, RSA_PKCS8_PEM).unwrap();
        assert_eq!(signer.algorithm(), alg);
        assert_verifies(
            &signer,
            VerifyingKey::from_pem(alg, RSA_SPKI_PEM).unwrap(),
            alg.as_str(),
        );
        assert_verifies(
            &signer,
            VerifyingKey::from_jwk(RSA_PUBLIC_JWK, Some(alg)).unwrap(),
            alg.as_str(),
        );
    }
    // The same RSA material bound to RS256 does not verify PS256.
    let ps = SigningKey::from_pem(Algorithm::PS256, RSA_PKCS8_PEM).unwrap();
    let rs_verifier = VerifyingKey::from_pem(Algorithm::RS256, RSA_SPKI_PEM).unwrap();
    let signed = jws::sign(b"{}", &ps, None).unwrap();
    assert!(matches!(
        jws::verify(&signed, &rs_verifier),
        Err(Error::AlgorithmNotAllowed(Algorithm::PS256))
    ));
    let err = validator(rs_verifier).validate(&token(&ps)).unwrap_err();
    assert!(matches!(err, Error::AlgorithmNotAllowed(Algorithm::PS256)));
}

/// EC and Ed25519 fixtures: PKCS#8 PEM/DER and private JWK sign; SPKI
/// PEM/DER, public and private JWK, and the private PEM verify.
fn check_ec_or_okp(
    alg: Algorithm,
    stem: &str,
    pkcs8_pem: &str,
    spki_pem: &str,
    private_jwk: &str,
    public_jwk: &str,
) {
    let signers = [
        ("PKCS#8 PEM", SigningKey::from_pem(alg, pkcs8_pem)),
        (
            "PKCS#8 DER",
            SigningKey::from_pkcs8_der(alg, &pem_body(pkcs8_pem)),
        ),
        ("JWK", SigningKey::from_jwk(private_jwk, Some(alg))),
        ("JWK, alg inferred", SigningKey::from_jwk(private_jwk, None)),
    ]
    .map(|(what, r)| (what, r.unwrap_or_else(|e| panic!("{stem} {what}: {e:?}"))));
    let verifiers = || {
        [
            ("SPKI PEM", VerifyingKey::from_pem(alg, spki_pem)),
            (
                "SPKI DER",
                VerifyingKey::from_spki_der(alg, &pem_body(spki_pem)),
            ),
            ("public JWK", VerifyingKey::from_jwk(public_jwk, Some(alg))),
            (
                "public JWK, alg inferred",
                VerifyingKey::from_jwk(public_jwk, None),
            ),
            ("private JWK", VerifyingKey::from_jwk(private_jwk, None)),
            ("PKCS#8 PEM", VerifyingKey::from_pem(alg, pkcs8_pem)),
        ]
        .map(|(what, r)| (what, r.unwrap_or_else(|e| panic!("{stem} {what}: {e:?}"))))
    };
    let expected = thumbprint(stem);
    for (signer_what, signer) in &signers {
        assert_eq!(signer.algorithm(), alg);
        assert_eq!(signer.key_id(), expected, "{stem} {signer_what}");
        for (verifier_what, verifier) in verifiers() {
            assert_verifies(
                signer,
                verifier,
                &format!("{stem}: {signer_what} -> {verifier_what}"),
            );
        }
    }
}

#[test]
fn p256_formats_load_and_verify_each_other() {
    check_ec_or_okp(
        Algorithm::ES256,
        "ec_p256",
        P256_PKCS8_PEM,
        P256_SPKI_PEM,
        P256_PRIVATE_JWK,
        P256_PUBLIC_JWK,
    );
}

#[test]
fn p384_formats_load_and_verify_each_other() {
    check_ec_or_okp(
        Algorithm::ES384,
        "ec_p384",
        P384_PKCS8_PEM,
        P384_SPKI_PEM,
        P384_PRIVATE_JWK,
        P384_PUBLIC_JWK,
    );
}

#[test]
fn ed25519_formats_load_and_verify_each_other() {
    check_ec_or_okp(
        Algorithm::EdDSA,
        "ed25519",
        ED25519_PKCS8_PEM,
        ED25519_SPKI_PEM,
        ED25519_PRIVATE_JWK,
        ED25519_PUBLIC_JWK,
    );
}

#[test]
fn a_different_key_of_the_same_type_does_not_verify() {
    // Same kid and algorithm, other key material: the signature decides.
    for (alg, pem) in [
        (Algorithm::ES256, P256_PKCS8_PEM),
        (Algorithm::ES384, P384_PKCS8_PEM),
        (Algorithm::EdDSA, ED25519_PKCS8_PEM),
    ] {
        let fixture = SigningKey::from_pem(alg, pem).unwrap();
        let other = SigningKey::generate(alg)
            .unwrap()
            .with_key_id(fixture.key_id());
        let err = validator(fixture.verifying_key())
            .validate(&token(&other))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidSignature), "{alg}: {err:?}");
    }
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

#[test]
fn mismatched_algorithm_or_curve_is_refused() {
    let signing = [
        (
            "P-256 PKCS#8 as ES384",
            SigningKey::from_pem(Algorithm::ES384, P256_PKCS8_PEM),
        ),
        (
            "P-384 PKCS#8 as ES256",
            SigningKey::from_pem(Algorithm::ES256, P384_PKCS8_PEM),
        ),
        (
            "P-256 PKCS#8 as EdDSA",
            SigningKey::from_pem(Algorithm::EdDSA, P256_PKCS8_PEM),
        ),
        (
            "P-256 PKCS#8 as RS256",
            SigningKey::from_pem(Algorithm::RS256, P256_PKCS8_PEM),
        ),
        (
            "RSA PKCS#8 as ES256",
            SigningKey::from_pem(Algorithm::ES256, RSA_PKCS8_PEM),
        ),
        (
            "RSA PKCS#8 as EdDSA",
            SigningKey::from_pem(Algorithm::EdDSA, RSA_PKCS8_PEM),
        ),
        (
            "RSA PKCS#8 as HS256",
            SigningKey::from_pem(Algorithm::HS256, RSA_PKCS8_PEM),
        ),
        (
            "RSA PKCS#1 as ES256",
            SigningKey::from_pem(Algorithm::ES256, RSA_PKCS1_PEM),
        ),
        (
            "RSA PKCS#1 DER as EdDSA",
            SigningKey::from_pkcs1_der(Algorithm::EdDSA, RSA_PKCS1_DER),
        ),
        (
            "Ed25519 PKCS#8 as ES256",
            SigningKey::from_pem(Algorithm::ES256, ED25519_PKCS8_PEM),
        ),
        (
            "Ed25519 PKCS#8 as RS256",
            SigningKey::from_pem(Algorithm::RS256, ED25519_PKCS8_PEM),
        ),
        (
            "P-256 JWK as ES384",
            SigningKey::from_jwk(P256_PRIVATE_JWK, Some(Algorithm::ES384)),
        ),
        (
            "P-384 JWK as ES256",
            SigningKey::from_jwk(P384_PRIVATE_JWK, Some(Algorithm::ES256)),
        ),
        (
            "P-256 JWK as RS256",
            SigningKey::from_jwk(P256_PRIVATE_JWK, Some(Algorithm::RS256)),
        ),
        (
            "Ed25519 JWK as ES256",
            SigningKey::from_jwk(ED25519_PRIVATE_JWK, Some(Algorithm::ES256)),
        ),
        (
            "RSA JWK as ES256",
            SigningKey::from_jwk(RSA_PRIVATE_JWK, Some(Algorithm::ES256)),
        ),
        (
            "RSA JWK as HS256",
            SigningKey::from_jwk(RSA_PRIVATE_JWK, Some(Algorithm::HS256)),
        ),
        (
            "RSA JWK as EdDSA",
            SigningKey::from_jwk(RSA_PRIVATE_JWK, Some(Algorithm::EdDSA)),
        ),
        (
            "HMAC secret as RS256",
            SigningKey::hmac(Algorithm::RS256, &[0x21; 64]),
        ),
    ];
    for (what, r) in signing {
        assert_mismatch(r, what);
    }
    let verifying = [
        (
            "P-256 SPKI as ES384",
            VerifyingKey::from_pem(Algorithm::ES384, P256_SPKI_PEM),
        ),
        (
            "P-384 SPKI as ES256",
            VerifyingKey::from_pem(Algorithm::ES256, P384_SPKI_PEM),
        ),
        (
            "P-256 SPKI as EdDSA",
            VerifyingKey::from_pem(Algorithm::EdDSA, P256_SPKI_PEM),
        ),
        (
            "P-256 SPKI as RS256",
            VerifyingKey::from_pem(Algorithm::RS256, P256_SPKI_PEM),
        ),
        (
            "P-256 SPKI as HS256",
            VerifyingKey::from_pem(Algorithm::HS256, P256_SPKI_PEM),
        ),
        (
            "RSA SPKI as ES256",
            VerifyingKey::from_pem(Algorithm::ES256, RSA_SPKI_PEM),
        ),
        (
            "RSA SPKI as EdDSA",
            VerifyingKey::from_pem(Algorithm::EdDSA, RSA_SPKI_PEM),
        ),
        (
            "RSA SPKI as HS256",
            VerifyingKey::from_pem(Algorithm::HS256, RSA_SPKI_PEM),
        ),
        (
            "RSA SPKI DER as ES384",
            VerifyingKey::from_spki_der(Algorithm::ES384, RSA_SPKI_DER),
        ),
        (
            "RSA PKCS#1 public as ES256",
            VerifyingKey::from_pem(Algorithm::ES256, RSA_PKCS1_PUB_PEM),
        ),
        (
            "RSA PKCS#1 public DER as EdDSA",
            VerifyingKey::from_pkcs1_der(Algorithm::EdDSA, RSA_PKCS1_PUB_DER),
        ),
        (
            "Ed25519 SPKI as ES256",
            VerifyingKey::from_pem(Algorithm::ES256, ED25519_SPKI_PEM),
        ),
        (
            "Ed25519 SPKI as RS256",
            VerifyingKey::from_pem(Algorithm::RS256, ED25519_SPKI_PEM),
        ),
        (
            "Ed25519 SPKI as HS256",
            VerifyingKey::from_pem(Algorithm::HS256, ED25519_SPKI_PEM),
        ),
        (
            "P-256 JWK as ES384",
            VerifyingKey::from_jwk(P256_PUBLIC_JWK, Some(Algorithm::ES384)),
        ),
        (
            "P-384 JWK as ES256",
            VerifyingKey::from_jwk(P384_PUBLIC_JWK, Some(Algorithm::ES256)),
        ),
        (
            "P-256 JWK as EdDSA",
            VerifyingKey::from_jwk(P256_PUBLIC_JWK, Some(Algorithm::EdDSA)),
        ),
        (
            "Ed25519 JWK as ES256",
            VerifyingKey::from_jwk(ED25519_PUBLIC_JWK, Some(Algorithm::ES256)),
        ),
        (
            "RSA JWK as ES256",
            VerifyingKey::from_jwk(RSA_PUBLIC_JWK, Some(Algorithm::ES256)),
        ),
        (
            "RSA JWK as HS256",
            VerifyingKey::from_jwk(RSA_PUBLIC_JWK, Some(Algorithm::HS256)),
        ),
        (
            "HMAC secret as ES256",
            VerifyingKey::hmac(Algorithm::ES256, &[0x21; 64]),
        ),
    ];
    for (what, r) in verifying {
        assert_mismatch(r, what);
    }
    // A raw point carries no curve: a P-256 point is the wrong size for
    // ES384.
    let point = &pem_body(P256_SPKI_PEM)[26..];
    assert!(VerifyingKey::from_ec_point(Algorithm::ES256, point).is_ok());
    let e = key_error(
        VerifyingKey::from_ec_point(Algorithm::ES384, point),
        "P-256 point as ES384",
    );
    assert!(matches!(e, KeyError::Format(_)), "{e:?}");
    assert_mismatch(
        VerifyingKey::from_ec_point(Algorithm::EdDSA, point),
        "P-256 point as EdDSA",
    );
}

#[test]
fn rsa_under_2048_bits_is_refused() {
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::RS512] {
        let e = key_error(SigningKey::from_pem(alg, RSA1024_PKCS8_PEM), "signing");
        assert!(matches!(e, KeyError::RsaTooSmall { .. }), "{alg}: {e:?}");
        let e = key_error(
            SigningKey::from_pkcs8_der(alg, &pem_body(RSA1024_PKCS8_PEM)),
            "signing DER",
        );
        assert!(matches!(e, KeyError::RsaTooSmall { .. }), "{alg}: {e:?}");
        let e = key_error(VerifyingKey::from_pem(alg, RSA1024_PKCS8_PEM), "verifying");
        assert!(matches!(e, KeyError::RsaTooSmall { .. }), "{alg}: {e:?}");
    }
    // The public half as components: the size is known and reported.
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(member(RSA_PUBLIC_JWK, "n"))
        .unwrap();
    let e = key_error(
        VerifyingKey::from_rsa_components(Algorithm::RS256, &n[..128], &[1, 0, 1]),
        "components",
    );
    assert_eq!(e, KeyError::RsaTooSmall { bits: Some(1024) });
    assert!(VerifyingKey::from_rsa_components(Algorithm::RS256, &n, &[1, 0, 1]).is_ok());
}

/// RSA public keys from `tests/data/keys/rsa_public_exponents.json`: an
/// exponent from 3 to 2^33 - 1 and an odd modulus are what ring and
/// aws-lc-rs verify with; any other key they refuse at every verification.
/// Such a key is refused when it is built, so it cannot sit in a store
/// failing every token as `invalid_signature`.
#[test]
fn rsa_public_keys_the_backends_refuse_are_refused_when_built() {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("data/keys/rsa_public_exponents.json")).unwrap();
    assert_eq!(cases.len(), 4);
    for case in &cases {
        let jwk = case["jwk"].to_string();
        let token = case["token"].as_str().unwrap();
        let e = case["e"].as_u64().unwrap();
        match case["must"].as_str().unwrap() {
            "load" => {
                let key = VerifyingKey::from_jwk(&jwk, None).unwrap();
                tokengate::jws::verify(token, &key).unwrap();
                let forged = format!("{}A", &token[..token.len() - 1]);
                assert!(tokengate::jws::verify(&forged, &key).is_err(), "e = {e}");
            }
            "be refused" => {
                let err = key_error(VerifyingKey::from_jwk(&jwk, None), "refused exponent");
                assert!(matches!(err, KeyError::Rejected(_)), "e = {e}: {err:?}");
                assert!(err.to_string().contains("exponent"), "{err}");
            }
            other => panic!("unknown expectation {other}"),
        }
    }

    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(member(RSA_PUBLIC_JWK, "n"))
        .unwrap();
    let with_e = |e: &[u8]| VerifyingKey::from_rsa_components(Algorithm::RS256, &n, e);
    // Accepted: 3, 65537, 2^33 - 1, and leading zero bytes (stripped).
    for e in [
        &[3u8][..],
        &[1, 0, 1],
        &[1, 0xff, 0xff, 0xff, 0xff],
        &[0, 0, 1, 0, 1],
    ] {
        assert!(with_e(e).is_ok(), "{e:?}");
    }
    // Refused: 1, even, 2^33 + 1 and every larger exponent up to 5 and more
    // bytes, zero and empty.
    for e in [
        &[1u8][..],
        &[2],
        &[1, 0, 0],
        &[2, 0, 0, 0, 1],
        &[0xff, 0xff, 0xff, 0xff, 0xff],
        &[1, 0, 0, 0, 0, 1],
        &[0],
        &[],
    ] {
        let err = key_error(with_e(e), "exponent");
        assert!(matches!(err, KeyError::Rejected(_)), "{e:?}: {err:?}");
    }
    // An even modulus is no RSA modulus: both backends refuse it.
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    let err = key_error(
        VerifyingKey::from_rsa_components(Algorithm::RS256, &even, &[1, 0, 1]),
        "even modulus",
    );
    assert!(matches!(err, KeyError::Rejected(_)), "{err:?}");
}

/// Why a private key was refused is decided from the key's own structure
/// (its PKCS#8 algorithm identifier, its modulus), never from the crypto
/// library's error strings, so each case below gives the same typed error
/// with ring and with aws-lc-rs (run the file under both:
/// `cargo test --test keys` and `cargo test --features aws-lc-rs --test
/// keys`).
#[test]
fn key_rejections_are_typed_and_the_same_on_every_backend() {
    let garbage = b"\x30\x03\x02\x01\x00";
    let der = |pem: &str| pem_body(pem);
    let cases: Vec<(&str, Result<SigningKey, Error>, KeyError)> = vec![
        // Too small, with the size read from the key.
        (
            "RSA 1024 PKCS#8 PEM",
            SigningKey::from_pem(Algorithm::RS256, RSA1024_PKCS8_PEM),
            KeyError::RsaTooSmall { bits: Some(1024) },
        ),
        (
            "RSA 1024 PKCS#8 DER",
            SigningKey::from_pkcs8_der(Algorithm::PS512, &der(RSA1024_PKCS8_PEM)),
            KeyError::RsaTooSmall { bits: Some(1024) },
        ),
        (
            "RSA 1024 PKCS#1 DER",
            SigningKey::from_pkcs1_der(Algorithm::RS384, RSA1024_PKCS1_DER),
            KeyError::RsaTooSmall { bits: Some(1024) },
        ),
        // The wrong type or curve for the algorithm.
        (
            "P-256 as ES384",
            SigningKey::from_pem(Algorithm::ES384, P256_PKCS8_PEM),
            KeyError::AlgorithmMismatch,
        ),
        (
            "P-384 as ES256",
            SigningKey::from_pem(Algorithm::ES256, P384_PKCS8_PEM),
            KeyError::AlgorithmMismatch,
        ),
        (
            "Ed25519 as ES256",
            SigningKey::from_pem(Algorithm::ES256, ED25519_PKCS8_PEM),
            KeyError::AlgorithmMismatch,
        ),
        (
            "RSA as ES256",
            SigningKey::from_pem(Algorithm::ES256, RSA_PKCS8_PEM),
            KeyError::AlgorithmMismatch,
        ),
        (
            "P-256 as RS256",
            SigningKey::from_pem(Algorithm::RS256, P256_PKCS8_PEM),
            KeyError::AlgorithmMismatch,
        ),
        (
            "RSA as EdDSA",
            SigningKey::from_pkcs8_der(Algorithm::EdDSA, RSA_PKCS8_DER),
            KeyError::AlgorithmMismatch,
        ),
        (
            "RSA 1024 as ES256",
            SigningKey::from_pem(Algorithm::ES256, RSA1024_PKCS8_PEM),
            KeyError::AlgorithmMismatch,
        ),
        // Not the format asked for.
        (
            "garbage as PKCS#8 for RSA",
            SigningKey::from_pkcs8_der(Algorithm::RS256, garbage),
            KeyError::Format("PKCS#8 DER"),
        ),
        (
            "garbage as PKCS#8 for EC",
            SigningKey::from_pkcs8_der(Algorithm::ES256, garbage),
            KeyError::Format("PKCS#8 DER"),
        ),
        (
            "garbage as PKCS#8 for Ed25519",
            SigningKey::from_pkcs8_der(Algorithm::EdDSA, garbage),
            KeyError::Format("PKCS#8 DER"),
        ),
        (
            "garbage as PKCS#1",
            SigningKey::from_pkcs1_der(Algorithm::RS256, garbage),
            KeyError::Format("PKCS#1 RSAPrivateKey DER"),
        ),
        (
            "PKCS#1 as PKCS#8",
            SigningKey::from_pkcs8_der(Algorithm::RS256, RSA_PKCS1_DER),
            KeyError::Format("PKCS#8 DER"),
        ),
        (
            "PKCS#8 as PKCS#1",
            SigningKey::from_pkcs1_der(Algorithm::RS256, RSA_PKCS8_DER),
            KeyError::Format("PKCS#1 RSAPrivateKey DER"),
        ),
    ];
    for (what, result, expected) in cases {
        assert_eq!(key_error(result, what), expected, "{what}");
    }

    // Parts that the structure cannot judge but the crypto library refuses:
    // a private scalar or seed that does not belong to the public key.
    let other_p256: Value = serde_json::from_str(
        &SigningKey::generate(Algorithm::ES256)
            .map(|k| k.verifying_key().to_jwk().unwrap().to_json())
            .unwrap(),
    )
    .unwrap();
    let mismatched_ec = jwk_with(
        P256_PRIVATE_JWK,
        &json!({"x": other_p256["x"], "y": other_p256["y"]}),
    );
    let other_ed: Value = serde_json::from_str(
        &SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key()
            .to_jwk()
            .unwrap()
            .to_json(),
    )
    .unwrap();
    let mismatched_ed = jwk_with(ED25519_PRIVATE_JWK, &json!({"x": other_ed["x"]}));
    let mismatched_rsa = jwk_with(
        RSA_PRIVATE_JWK,
        &json!({"alg": "RS256", "d": member(RSA_PRIVATE_JWK, "dp")}),
    );
    for (what, jwk) in [
        ("EC d of another key", mismatched_ec),
        ("Ed25519 seed of another key", mismatched_ed),
        ("RSA d that is not the private exponent", mismatched_rsa),
    ] {
        let err = key_error(SigningKey::from_jwk(&jwk, None), what);
        assert!(matches!(err, KeyError::Rejected(_)), "{what}: {err:?}");
    }
}

#[test]
fn sec1_ec_private_key_pem_is_a_format_error() {
    let e = key_error(
        SigningKey::from_pem(Algorithm::ES256, P256_SEC1_PEM),
        "signing",
    );
    assert!(matches!(e, KeyError::Format(_)), "{e:?}");
    let e = key_error(
        VerifyingKey::from_pem(Algorithm::ES256, P256_SEC1_PEM),
        "verifying",
    );
    assert!(matches!(e, KeyError::Format(_)), "{e:?}");
    // Public keys are not private keys, and garbage is not PEM.
    for pem in [P256_SPKI_PEM, "not a pem", ""] {
        let e = key_error(SigningKey::from_pem(Algorithm::ES256, pem), pem);
        assert!(matches!(e, KeyError::Format(_)), "{e:?}");
    }
}

#[test]
fn jwk_alg_that_disagrees_is_refused() {
    let cases = [
        (
            jwk_with(RSA_PUBLIC_JWK, &json!({"alg": "RS256"})),
            Some(Algorithm::PS256),
        ),
        (
            jwk_with(RSA_PUBLIC_JWK, &json!({"alg": "RS256"})),
            Some(Algorithm::RS384),
        ),
        (jwk_with(RSA_PUBLIC_JWK, &json!({"alg": "HS256"})), None),
        (jwk_with(RSA_PUBLIC_JWK, &json!({"alg": "ES256"})), None),
        (jwk_with(P256_PUBLIC_JWK, &json!({"alg": "ES384"})), None),
        (
            jwk_with(P256_PUBLIC_JWK, &json!({"alg": "ES256"})),
            Some(Algorithm::ES384),
        ),
        (jwk_with(P384_PUBLIC_JWK, &json!({"alg": "ES256"})), None),
        (jwk_with(ED25519_PUBLIC_JWK, &json!({"alg": "ES256"})), None),
        (jwk_with(P256_PUBLIC_JWK, &json!({"alg": "EdDSA"})), None),
    ];
    for (jwk, requested) in &cases {
        assert_mismatch(VerifyingKey::from_jwk(jwk, *requested), jwk);
    }
    let private_cases = [
        (
            jwk_with(RSA_PRIVATE_JWK, &json!({"alg": "PS256"})),
            Some(Algorithm::RS256),
        ),
        (jwk_with(P256_PRIVATE_JWK, &json!({"alg": "ES384"})), None),
        (
            jwk_with(ED25519_PRIVATE_JWK, &json!({"alg": "ES256"})),
            None,
        ),
    ];
    for (jwk, requested) in &private_cases {
        assert_mismatch(SigningKey::from_jwk(jwk, *requested), jwk);
    }
    // An `alg` the crate does not implement is refused too.
    for alg in ["none", "ES512", "RSA-OAEP"] {
        let jwk = jwk_with(RSA_PUBLIC_JWK, &json!({ "alg": alg }));
        key_error(VerifyingKey::from_jwk(&jwk, Some(Algorithm::RS256)), alg);
    }
    // Agreement is accepted, and `alg` alone binds an RSA key.
    let jwk = jwk_with(RSA_PUBLIC_JWK, &json!({"alg": "PS384"}));
    let key = VerifyingKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(key.algorithm(), Algorithm::PS384);
    let key = VerifyingKey::from_jwk(&jwk, Some(Algorithm::PS384)).unwrap();
    assert_eq!(key.algorithm(), Algorithm::PS384);
    // Without `alg`, an RSA JWK needs the caller to name one.
    let e = key_error(
        VerifyingKey::from_jwk(RSA_PUBLIC_JWK, None),
        "RSA without alg",
    );
    assert!(matches!(e, KeyError::Format(_)), "{e:?}");
}

/// `use`/`key_ops` refusals are `AlgorithmMismatch` per `KeyError`'s docs
/// ("a JWK `alg`/`use`/`key_ops` that forbids it"); the implementation
/// reports `Rejected`. Either says the key was refused for this use.
#[track_caller]
fn assert_refused_for_use<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) {
    let e = key_error(r, what);
    assert!(
        matches!(e, KeyError::AlgorithmMismatch | KeyError::Rejected(_)),
        "{what}: {e:?}"
    );
}

#[test]
fn jwk_use_enc_is_refused() {
    for (public, private, alg) in [
        (RSA_PUBLIC_JWK, RSA_PRIVATE_JWK, Algorithm::RS256),
        (P256_PUBLIC_JWK, P256_PRIVATE_JWK, Algorithm::ES256),
        (ED25519_PUBLIC_JWK, ED25519_PRIVATE_JWK, Algorithm::EdDSA),
    ] {
        for use_ in ["enc", "SIG", ""] {
            let jwk = jwk_with(public, &json!({ "use": use_ }));
            assert_refused_for_use(VerifyingKey::from_jwk(&jwk, Some(alg)), &jwk);
            let jwk = jwk_with(private, &json!({ "use": use_ }));
            assert_refused_for_use(SigningKey::from_jwk(&jwk, Some(alg)), use_);
        }
        let jwk = jwk_with(public, &json!({"use": "sig"}));
        assert!(VerifyingKey::from_jwk(&jwk, Some(alg)).is_ok());
        let jwk = jwk_with(private, &json!({"use": "sig"}));
        assert!(SigningKey::from_jwk(&jwk, Some(alg)).is_ok());
    }
    // In a JWK Set, encryption keys are skipped, not fatal.
    let set = format!(
        r#"{{"keys":[{},{}]}}"#,
        jwk_with(P256_PUBLIC_JWK, &json!({"use": "enc", "kid": "enc"})),
        jwk_with(P384_PUBLIC_JWK, &json!({"use": "sig", "kid": "sig"})),
    );
    let store = KeySetStore::from_jwks(&set, None).unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(store.jwks().keys()[0].key_id(), "sig");
}

/// One member that fails to build (too small, off the curve, malformed, of
/// an unknown algorithm or type) is left out of a JWK Set import instead of
/// failing it, so a server starting up with its provider's set still has
/// the provider's good keys.
#[test]
fn one_bad_member_does_not_take_the_jwk_set_down() {
    let good = jwk_with(P256_PUBLIC_JWK, &json!({"kid": "good", "alg": "ES256"}));
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(member(RSA_PUBLIC_JWK, "n"))
        .unwrap();
    let small_n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&n[..128]);
    let mut off_curve = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(member(P256_PUBLIC_JWK, "y"))
        .unwrap();
    off_curve[31] ^= 1;
    let off_curve = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(off_curve);
    let cases = [
        (
            json!({"kty": "RSA", "alg": "RS256", "kid": "small", "n": small_n, "e": "AQAB"}),
            Some("small"),
            SkipReason::Invalid(KeyError::RsaTooSmall { bits: Some(1024) }),
        ),
        (
            jwk_with(P256_PUBLIC_JWK, &json!({"kid": "off", "y": off_curve}))
                .parse::<Value>()
                .unwrap(),
            Some("off"),
            SkipReason::Invalid(KeyError::Rejected("EC point is not on the curve")),
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "kid": "short", "x": "AA", "y": "AA"}),
            Some("short"),
            SkipReason::Invalid(KeyError::Format("EC JWK coordinate length")),
        ),
        (
            json!({"kty": "OKP", "crv": "Ed448", "alg": "Ed448", "kid": "ed448", "x": "AA"}),
            Some("ed448"),
            SkipReason::Unsupported("JWK `alg`"),
        ),
        (
            json!({"kty": "foo", "alg": "RS256", "kid": "foo"}),
            Some("foo"),
            SkipReason::Unsupported("JWK key type or curve"),
        ),
        (
            json!({"kty": "RSA", "alg": "RS256", "kid": "no-e", "n": member(RSA_PUBLIC_JWK, "n")}),
            Some("no-e"),
            SkipReason::Invalid(KeyError::Format("RSA JWK `e`")),
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "alg": "ES384", "kid": "mismatch",
                   "x": member(P256_PUBLIC_JWK, "x"), "y": member(P256_PUBLIC_JWK, "y")}),
            Some("mismatch"),
            SkipReason::Invalid(KeyError::AlgorithmMismatch),
        ),
        (
            json!(["not", "an", "object"]),
            None,
            SkipReason::Invalid(KeyError::Format("JWK JSON")),
        ),
        (
            json!({"kty": 7}),
            None,
            SkipReason::Invalid(KeyError::Format("JWK JSON")),
        ),
    ];
    for (bad, kid, reason) in cases {
        let set = format!(r#"{{"keys":[{bad},{good}]}}"#);
        let store = KeySetStore::from_jwks(&set, None)
            .unwrap_or_else(|e| panic!("{bad}: the whole set failed: {e:?}"));
        assert_eq!(store.len(), 1, "{bad}");
        assert_eq!(store.jwks().keys()[0].key_id(), "good", "{bad}");
        // The member left out is reported: where, which, why.
        let skipped = store.skipped();
        assert_eq!(skipped.len(), 1, "{bad}");
        assert_eq!(skipped[0].index, 0, "{bad}");
        assert_eq!(skipped[0].kid.as_deref(), kid, "{bad}");
        assert_eq!(skipped[0].reason, reason, "{bad}");
        // The same from the import and from a refresh.
        let import = VerifyingKey::from_jwk_set(&set, None).unwrap();
        assert_eq!(import.keys.len(), 1);
        assert_eq!(import.skipped, skipped);
        assert_eq!(store.replace_from_jwks(&set, None).unwrap(), skipped);
    }
}

/// A refresh whose document yields no usable key keeps the keys the store
/// had and says so, instead of emptying the store.
#[test]
fn replace_from_jwks_without_a_usable_key_keeps_the_old_keys() {
    let good = jwk_with(P256_PUBLIC_JWK, &json!({"kid": "good", "alg": "ES256"}));
    let store = KeySetStore::from_jwks(&format!(r#"{{"keys":[{good}]}}"#), None).unwrap();
    let leaked = json!({"kty": "oct", "alg": "HS256", "kid": "hs", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"});
    for empty in [
        r#"{"keys":[]}"#.to_owned(),
        format!(
            r#"{{"keys":[{}]}}"#,
            jwk_with(P256_PUBLIC_JWK, &json!({"kid": "enc", "use": "enc"}))
        ),
        format!(r#"{{"keys":[{leaked}]}}"#),
        r#"{"keys":{}}"#.to_owned(),
        "not json".to_owned(),
    ] {
        let err = store.replace_from_jwks(&empty, None).unwrap_err();
        assert_eq!(err.kind().as_str(), "invalid_key", "{empty}: {err:?}");
        assert_eq!(store.len(), 1, "{empty}");
        assert_eq!(store.jwks().keys()[0].key_id(), "good");
        assert!(KeySetStore::from_jwks(&empty, None).is_err(), "{empty}");
    }
    // A document with keys replaces them, and says what it left out.
    let next = jwk_with(ED25519_PUBLIC_JWK, &json!({"kid": "next"}));
    let skipped = store
        .replace_from_jwks(&format!(r#"{{"keys":[{leaked},{next}]}}"#), None)
        .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason, SkipReason::SymmetricKey);
    assert_eq!(store.len(), 1);
    assert_eq!(store.jwks().keys()[0].key_id(), "next");
    assert_eq!(store.skipped(), skipped);
}

#[test]
fn jwk_key_ops_without_verify_is_refused() {
    for ops in [
        json!(["sign"]),
        json!(["encrypt"]),
        json!([]),
        json!(["VERIFY"]),
    ] {
        let jwk = jwk_with(P256_PUBLIC_JWK, &json!({ "key_ops": ops }));
        assert_refused_for_use(VerifyingKey::from_jwk(&jwk, None), &jwk);
    }
    for ops in [json!(["verify"]), json!(["sign", "verify"])] {
        let jwk = jwk_with(P256_PUBLIC_JWK, &json!({ "key_ops": ops }));
        assert!(VerifyingKey::from_jwk(&jwk, None).is_ok(), "{jwk}");
    }
    // A signing key needs `sign`.
    let jwk = jwk_with(P256_PRIVATE_JWK, &json!({"key_ops": ["verify"]}));
    assert_refused_for_use(SigningKey::from_jwk(&jwk, None), &jwk);
    let jwk = jwk_with(P256_PRIVATE_JWK, &json!({"key_ops": ["sign"]}));
    assert!(SigningKey::from_jwk(&jwk, None).is_ok());
    let jwk = jwk_with(
        RSA_PRIVATE_JWK,
        &json!({"key_ops": ["verify"], "alg": "RS256"}),
    );
    assert_refused_for_use(SigningKey::from_jwk(&jwk, None), "RSA key_ops");
}

// ---------------------------------------------------------------------------
// Key ids, thumbprints and export
// ---------------------------------------------------------------------------

#[test]
fn default_kid_is_the_rfc7638_thumbprint() {
    let keys = [
        (
            "rsa2048",
            SigningKey::from_pem(Algorithm::PS512, RSA_PKCS8_PEM).unwrap(),
        ),
        (
            "ec_p256",
            SigningKey::from_pem(Algorithm::ES256, P256_PKCS8_PEM).unwrap(),
        ),
        (
            "ec_p384",
            SigningKey::from_pem(Algorithm::ES384, P384_PKCS8_PEM).unwrap(),
        ),
        (
            "ed25519",
            SigningKey::from_pem(Algorithm::EdDSA, ED25519_PKCS8_PEM).unwrap(),
        ),
    ];
    for (stem, key) in keys {
        let expected = thumbprint(stem);
        let jwk = key.verifying_key().to_jwk().unwrap();
        assert_eq!(jwk.thumbprint(), expected, "{stem}");
        assert_eq!(key.key_id(), jwk.thumbprint(), "{stem}");
        assert_eq!(key.verifying_key().thumbprint(), expected, "{stem}");
        assert_eq!(jwk.key_id(), expected, "{stem}");

        // A chosen kid replaces the id, not the thumbprint.
        let renamed = key.with_key_id("2026-01");
        assert_eq!(renamed.key_id(), "2026-01");
        let jwk = renamed.verifying_key().to_jwk().unwrap();
        assert_eq!(jwk.key_id(), "2026-01");
        assert_eq!(jwk.thumbprint(), expected, "{stem}");
        assert_eq!(renamed.verifying_key().thumbprint(), expected, "{stem}");
    }
    // Imported JWKs: the kid given wins, else the thumbprint.
    let key = VerifyingKey::from_jwk(P256_PUBLIC_JWK, None).unwrap();
    assert_eq!(key.key_id(), thumbprint("ec_p256"));
    let jwk = jwk_with(P256_PUBLIC_JWK, &json!({"kid": "given"}));
    let key = VerifyingKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(key.key_id(), "given");
    assert_eq!(key.thumbprint(), thumbprint("ec_p256"));
}

/// Asserts a JWK Set document has only public signature keys.
#[track_caller]
fn assert_public_only(jwks_json: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(jwks_json).unwrap();
    let keys = doc["keys"].as_array().unwrap().clone();
    for key in &keys {
        let obj = key.as_object().unwrap();
        assert_ne!(obj["kty"], "oct", "{key}");
        assert_eq!(obj["use"], "sig", "{key}");
        for m in PRIVATE_MEMBERS {
            assert!(!obj.contains_key(m), "private member `{m}` in {key}");
        }
    }
    // No private value from any fixture appears anywhere in the document.
    for (jwk, members) in [
        (RSA_PRIVATE_JWK, &["d", "p", "q", "dp", "dq", "qi"][..]),
        (P256_PRIVATE_JWK, &["d"][..]),
        (P384_PRIVATE_JWK, &["d"][..]),
        (ED25519_PRIVATE_JWK, &["d"][..]),
    ] {
        for m in members {
            assert!(!jwks_json.contains(&member(jwk, m)), "`{m}` leaked");
        }
    }
    keys
}

struct Rotated {
    ring: Arc<KeyRing>,
    clock: Arc<FixedClock>,
    hs_token: String,
    /// Tokens of the asymmetric keys, oldest first.
    tokens: Vec<String>,
    hmac_secret: [u8; 32],
}

/// A ring that went HS256 -> RS256 -> ES256 -> EdDSA, all earlier keys
/// still live, with a token from each.
fn rotated_ring() -> Rotated {
    let hmac_secret = [0x3c; 32];
    let clock = clock();
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::hmac(Algorithm::HS256, &hmac_secret).unwrap(),
        clock.clone(),
    ));
    // Every earlier key retires an hour after T0.
    let grace = Duration::seconds(3_600);
    let hs_token = token(&ring.current());
    let mut tokens = Vec::new();
    for next in [
        SigningKey::from_pem(Algorithm::RS256, RSA_PKCS8_PEM).unwrap(),
        SigningKey::from_pem(Algorithm::ES256, P256_PKCS8_PEM).unwrap(),
        SigningKey::from_pem(Algorithm::EdDSA, ED25519_PKCS8_PEM).unwrap(),
    ] {
        ring.rotate(next, grace).unwrap();
        tokens.push(token(&ring.current()));
    }
    Rotated {
        ring,
        clock,
        hs_token,
        tokens,
        hmac_secret,
    }
}

#[test]
fn jwks_export_is_public_only() {
    let r = rotated_ring();
    let json = r.ring.jwks().to_json();
    let keys = assert_public_only(&json);
    let ktys: Vec<&str> = keys.iter().map(|k| k["kty"].as_str().unwrap()).collect();
    assert_eq!(ktys, ["OKP", "RSA", "EC"]);
    assert!(
        !json.contains(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r.hmac_secret))
    );

    // A KeySetStore fed private JWKs and an HMAC secret exports the same
    // public keys and nothing else.
    let store = KeySetStore::new([
        VerifyingKey::from_jwk(RSA_PRIVATE_JWK, Some(Algorithm::RS256)).unwrap(),
        VerifyingKey::from_jwk(P256_PRIVATE_JWK, None).unwrap(),
        VerifyingKey::from_jwk(P384_PRIVATE_JWK, None).unwrap(),
        VerifyingKey::from_jwk(ED25519_PRIVATE_JWK, None).unwrap(),
        VerifyingKey::hmac(Algorithm::HS512, &[0x3c; 64]).unwrap(),
    ])
    .unwrap();
    assert_eq!(store.len(), 5);
    let keys = assert_public_only(&store.jwks().to_json());
    assert_eq!(keys.len(), 4);
    // Single HMAC keys export nothing at all.
    let hmac = SingleKeyStore::new(VerifyingKey::hmac(Algorithm::HS256, &[0x3c; 32]).unwrap());
    assert!(hmac.jwks().keys().is_empty());
    assert!(
        VerifyingKey::hmac(Algorithm::HS256, &[0x3c; 32])
            .unwrap()
            .to_jwk()
            .is_none()
    );
}

#[test]
fn exported_jwks_validates_the_rings_tokens() {
    let r = rotated_ring();
    let exported = r.ring.jwks().to_json();
    let store = KeySetStore::from_jwks(&exported, None).unwrap();
    assert_eq!(store.len(), 3);
    // The store exports what it imported.
    let mut a = assert_public_only(&store.jwks().to_json());
    let mut b = assert_public_only(&exported);
    let key = |v: &Value| v["kid"].as_str().unwrap().to_owned();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a, b);

    let v = Validator::builder(store)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(r.clock.clone())
        .build()
        .unwrap();
    for token in &r.tokens {
        v.validate(token).unwrap();
        let err = v.validate(&tampered(token)).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature), "{err:?}");
    }
    // The HMAC key was never published, so its tokens have no key here.
    let err = v.validate(&r.hs_token).unwrap_err();
    assert!(matches!(err, Error::AlgorithmNotAllowed(Algorithm::HS256)));
    // The ring itself still validates all four.
    let own = Validator::builder(Arc::clone(&r.ring))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(r.clock.clone())
        .build()
        .unwrap();
    for token in r.tokens.iter().chain([&r.hs_token]) {
        own.validate(token).unwrap();
    }
}

// ---------------------------------------------------------------------------
// Debug output
// ---------------------------------------------------------------------------

#[test]
fn debug_output_is_pinned_and_shows_no_key_bytes() {
    let cases = [
        (
            Algorithm::ES256,
            SigningKey::from_pem(Algorithm::ES256, P256_PKCS8_PEM).unwrap(),
            P256_PRIVATE_JWK,
        ),
        (
            Algorithm::ES384,
            SigningKey::from_pem(Algorithm::ES384, P384_PKCS8_PEM).unwrap(),
            P384_PRIVATE_JWK,
        ),
        (
            Algorithm::EdDSA,
            SigningKey::from_pem(Algorithm::EdDSA, ED25519_PKCS8_PEM).unwrap(),
            ED25519_PRIVATE_JWK,
        ),
        (
            Algorithm::PS256,
            SigningKey::from_pem(Algorithm::PS256, RSA_PKCS8_PEM).unwrap(),
            RSA_PRIVATE_JWK,
        ),
    ];
    for (alg, key, jwk) in cases {
        let kid = key.key_id().to_owned();
        assert_eq!(
            format!("{key:?}"),
            format!(r#"SigningKey {{ alg: {alg}, kid: "{kid}", key: "[redacted]" }}"#)
        );
        let public = key.verifying_key();
        assert_eq!(
            format!("{public:?}"),
            format!(r#"VerifyingKey {{ alg: {alg}, kid: "{kid}" }}"#)
        );
        let key = key.with_key_id("k1");
        assert_eq!(
            format!("{key:?}"),
            format!(r#"SigningKey {{ alg: {alg}, kid: "k1", key: "[redacted]" }}"#)
        );
        let pretty = format!("{key:#?} {:#?}", key.verifying_key());
        let ring = KeyRing::new(key);
        let shown = format!("{pretty} {ring:?} {ring:#?}");
        let v: Value = serde_json::from_str(jwk).unwrap();
        for (name, value) in v.as_object().unwrap() {
            if ["kty", "crv", "e"].contains(&name.as_str()) {
                continue;
            }
            let value = value.as_str().unwrap();
            assert!(!shown.contains(value), "{alg}: `{name}` in {shown}");
            assert!(!shown.contains(&value[..12]), "{alg}: `{name}` in {shown}");
        }
    }

    let secret = [0xa7u8; 32];
    let key = SigningKey::hmac(Algorithm::HS256, &secret)
        .unwrap()
        .with_key_id("hk");
    let public = VerifyingKey::hmac(Algorithm::HS256, &secret)
        .unwrap()
        .with_key_id("hk");
    assert_eq!(
        format!("{key:?}"),
        r#"SigningKey { alg: HS256, kid: "hk", key: "[redacted]" }"#
    );
    assert_eq!(
        format!("{public:?}"),
        r#"VerifyingKey { alg: HS256, kid: "hk", secret: "[redacted]" }"#
    );
    let store = SingleKeyStore::new(public);
    let shown = format!("{key:#?} {:?} {store:?} {store:#?}", key.verifying_key());
    for needle in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        base64::engine::general_purpose::STANDARD.encode(secret),
        "a7a7".to_owned(),
        "167".to_owned(),
    ] {
        assert!(!shown.contains(&needle), "{needle} in {shown}");
    }
}

// ---------------------------------------------------------------------------
// RFC 9864: the fully-specified `Ed25519` name
// ---------------------------------------------------------------------------

/// `Ed25519` (RFC 9864) is an algorithm of its own beside `EdDSA`, bound to
/// Ed25519 keys: generated, PKCS#8 and SPKI, JWK with `alg` or bound by the
/// caller, exported with `alg: Ed25519`, same thumbprint; a key bound to
/// one name never verifies tokens of the other; Ed448 members are skipped
/// as unsupported.
#[test]
fn fully_specified_ed25519_algorithm_rfc9864() {
    let alg = Algorithm::Ed25519;
    assert_eq!(alg.as_str(), "Ed25519");
    assert_eq!("Ed25519".parse::<Algorithm>().unwrap(), alg);
    assert!(Algorithm::ALL.contains(&alg));

    // Generated: signs through TokenBuilder, header `alg: Ed25519`.
    let generated = SigningKey::generate(alg).unwrap();
    assert_eq!(generated.algorithm(), alg);
    assert_verifies(&generated, generated.verifying_key(), "generated");
    let t = token(&generated);
    let header = tokengate::danger::decode_header_unverified(&t).unwrap();
    assert_eq!(header.algorithm(), alg);

    // The fixture key in every format, bound to Ed25519.
    let with_alg = |jwk: &str| jwk_with(jwk, &json!({"alg": "Ed25519"}));
    let signers = [
        ("PKCS#8 PEM", SigningKey::from_pem(alg, ED25519_PKCS8_PEM)),
        (
            "PKCS#8 DER",
            SigningKey::from_pkcs8_der(alg, &pem_body(ED25519_PKCS8_PEM)),
        ),
        (
            "JWK without alg, bound",
            SigningKey::from_jwk(ED25519_PRIVATE_JWK, Some(alg)),
        ),
        (
            "JWK alg Ed25519",
            SigningKey::from_jwk(&with_alg(ED25519_PRIVATE_JWK), None),
        ),
    ]
    .map(|(what, r)| (what, r.unwrap_or_else(|e| panic!("{what}: {e:?}"))));
    let verifiers = || {
        [
            ("SPKI PEM", VerifyingKey::from_pem(alg, ED25519_SPKI_PEM)),
            (
                "SPKI DER",
                VerifyingKey::from_spki_der(alg, &pem_body(ED25519_SPKI_PEM)),
            ),
            (
                "raw bytes",
                VerifyingKey::from_ed25519_for(
                    alg,
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(member(ED25519_PUBLIC_JWK, "x"))
                        .unwrap(),
                ),
            ),
            (
                "public JWK without alg, bound",
                VerifyingKey::from_jwk(ED25519_PUBLIC_JWK, Some(alg)),
            ),
            (
                "public JWK alg Ed25519",
                VerifyingKey::from_jwk(&with_alg(ED25519_PUBLIC_JWK), None),
            ),
            ("PKCS#8 PEM", VerifyingKey::from_pem(alg, ED25519_PKCS8_PEM)),
        ]
        .map(|(what, r)| (what, r.unwrap_or_else(|e| panic!("{what}: {e:?}"))))
    };
    for (signer_what, signer) in &signers {
        assert_eq!(signer.algorithm(), alg, "{signer_what}");
        // RFC 7638: `alg` is not a thumbprint member.
        assert_eq!(signer.key_id(), thumbprint("ed25519"), "{signer_what}");
        for (verifier_what, verifier) in verifiers() {
            assert_verifies(
                signer,
                verifier,
                &format!("{signer_what} -> {verifier_what}"),
            );
        }
    }

    // Export writes `alg: Ed25519`, and the JWK imports back to Ed25519.
    let exported = signers[0].1.verifying_key().to_jwk().unwrap();
    assert_eq!(exported.algorithm(), alg);
    let exported_json: Value = serde_json::from_str(&exported.to_json()).unwrap();
    assert_eq!(exported_json["alg"], "Ed25519");
    assert_eq!(exported_json["crv"], "Ed25519");
    assert_eq!(exported_json["kty"], "OKP");
    assert_eq!(exported.thumbprint(), thumbprint("ed25519"));
    assert_eq!(
        VerifyingKey::from_jwk(&exported.to_json(), None)
            .unwrap()
            .algorithm(),
        alg
    );
    // A JWK without `alg` still means EdDSA unless the caller says otherwise.
    assert_eq!(
        VerifyingKey::from_jwk(ED25519_PUBLIC_JWK, None)
            .unwrap()
            .algorithm(),
        Algorithm::EdDSA
    );

    // One key, one name, both directions: same key material, same kid.
    let ed25519 = SigningKey::from_pem(alg, ED25519_PKCS8_PEM).unwrap();
    let eddsa = SigningKey::from_pem(Algorithm::EdDSA, ED25519_PKCS8_PEM).unwrap();
    assert_eq!(ed25519.key_id(), eddsa.key_id());
    for (signer, verifier) in [(&ed25519, &eddsa), (&eddsa, &ed25519)] {
        let t = token(signer);
        let err = validator(verifier.verifying_key())
            .validate(&t)
            .unwrap_err();
        assert!(
            matches!(err, Error::AlgorithmNotAllowed(a) if a == signer.algorithm()),
            "{} token, {} key: {err:?}",
            signer.algorithm(),
            verifier.algorithm()
        );
        assert!(jws::verify(&t, &verifier.verifying_key()).is_err());
    }
    assert_mismatch(
        VerifyingKey::from_jwk(
            &jwk_with(ED25519_PUBLIC_JWK, &json!({"alg": "EdDSA"})),
            Some(alg),
        ),
        "EdDSA JWK bound to Ed25519",
    );
    assert_mismatch(
        VerifyingKey::from_jwk(&with_alg(ED25519_PUBLIC_JWK), Some(Algorithm::EdDSA)),
        "Ed25519 JWK bound to EdDSA",
    );
    assert_mismatch(
        VerifyingKey::from_jwk(&with_alg(P256_PUBLIC_JWK), None),
        "P-256 JWK with alg Ed25519",
    );
    assert_mismatch(
        SigningKey::from_pem(alg, P256_PKCS8_PEM),
        "P-256 PKCS#8 as Ed25519",
    );
    assert_mismatch(
        VerifyingKey::from_pem(alg, RSA_SPKI_PEM),
        "RSA SPKI as Ed25519",
    );
    assert_mismatch(
        VerifyingKey::from_ed25519_for(Algorithm::ES256, &[0; 32]),
        "raw bytes as ES256",
    );

    // A JWK Set: Ed25519 members are kept (with `alg`, or without it under
    // `assume_alg`), Ed448 members are skipped as unsupported.
    let x = member(ED25519_PUBLIC_JWK, "x");
    let set = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "alg": "Ed25519", "kid": "ed", "x": x},
        {"kty": "OKP", "crv": "Ed448", "alg": "Ed448", "kid": "ed448-alg", "x": "AA"},
        {"kty": "OKP", "crv": "Ed448", "kid": "ed448-crv", "x": "AA"},
        {"kty": "OKP", "crv": "Ed448", "alg": "EdDSA", "kid": "ed448-eddsa", "x": "AA"},
    ]})
    .to_string();
    let import = VerifyingKey::from_jwk_set(&set, None).unwrap();
    let kept: Vec<(&str, Algorithm)> = import
        .keys
        .iter()
        .map(|k| (k.key_id(), k.algorithm()))
        .collect();
    assert_eq!(kept, [("ed", alg)]);
    let skipped: Vec<(Option<&str>, &str)> = import
        .skipped
        .iter()
        .map(|s| (s.kid.as_deref(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (Some("ed448-alg"), "unsupported"),
            (Some("ed448-crv"), "unsupported"),
            (Some("ed448-eddsa"), "unsupported"),
        ]
    );
    let no_alg =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": x}]}).to_string();
    let store = KeySetStore::from_jwks(&no_alg, Some(alg)).unwrap();
    assert_eq!(store.jwks().keys()[0].algorithm(), alg);
    let v = Validator::builder(store)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock())
        .build()
        .unwrap();
    let t = token(&ed25519.with_key_id("ed"));
    v.validate(&t).unwrap();
    let err = v.validate(&token(&eddsa.with_key_id("ed"))).unwrap_err();
    assert!(
        matches!(err, Error::AlgorithmNotAllowed(Algorithm::EdDSA)),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// RSA key generation: aws-lc-rs only
// ---------------------------------------------------------------------------

/// ring cannot generate RSA keys: `generate` and `generate_pkcs8_der`
/// answer with the typed `Unsupported` key error (a configuration mistake,
/// not an internal failure), for every RSA algorithm.
#[cfg(not(feature = "aws-lc-rs"))]
#[test]
fn rsa_key_generation_is_typed_unsupported_on_ring() {
    for alg in RSA_ALGS {
        let err = SigningKey::generate(alg).unwrap_err();
        assert!(
            matches!(err, Error::InvalidKey(KeyError::Unsupported(_))),
            "{alg}: {err:?}"
        );
        assert_eq!(err.kind().as_str(), "invalid_key");
        assert!(err.is_configuration() && !err.is_internal());
        assert!(err.to_string().contains("openssl genpkey"), "{err}");
        let err = SigningKey::generate_pkcs8_der(alg).unwrap_err();
        assert!(
            matches!(err, Error::InvalidKey(KeyError::Unsupported(_))),
            "{alg}: {err:?}"
        );
    }
    // The documented way: a key made by `openssl genpkey`, loaded from PEM.
    let key = SigningKey::from_pem(Algorithm::RS256, RSA_PKCS8_PEM).unwrap();
    assert_verifies(&key, key.verifying_key(), "openssl-made RSA key");
}

/// With aws-lc-rs, `generate` makes 2048-bit RSA keys bound to the
/// requested algorithm, and `generate_pkcs8_der` a PKCS#8 document that
/// loads back to the same key.
#[cfg(feature = "aws-lc-rs")]
#[test]
fn rsa_key_generation_with_aws_lc_rs() {
    for alg in [Algorithm::RS256, Algorithm::PS384] {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_verifies(&key, key.verifying_key(), &format!("generated {alg}"));
        let jwk = key.verifying_key().to_jwk().unwrap();
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(member(&jwk.to_json(), "n"))
            .unwrap();
        assert_eq!(n.len(), 256, "{alg}: a 2048-bit modulus");
        assert_eq!(member(&jwk.to_json(), "alg"), alg.as_str());
        // Another generated key does not verify this one's tokens.
        let other = SigningKey::generate(alg).unwrap().with_key_id(key.key_id());
        let err = validator(other.verifying_key())
            .validate(&token(&key))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidSignature), "{err:?}");
    }
    let pkcs8 = SigningKey::generate_pkcs8_der(Algorithm::RS256).unwrap();
    let loaded = SigningKey::from_pkcs8_der(Algorithm::RS256, &pkcs8).unwrap();
    let again = SigningKey::from_pkcs8_der(Algorithm::RS256, &pkcs8).unwrap();
    assert_eq!(loaded.key_id(), again.key_id());
    assert_verifies(&loaded, again.verifying_key(), "generated PKCS#8");
}
