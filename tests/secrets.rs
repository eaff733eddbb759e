//! Secrets stay secret: no secret-bearing type prints secret bytes in
//! `Debug` (in any encoding: hex, base64, base64url, raw, decimal lists),
//! secret types are not `Clone`, `Serialize` or `Display` (checked at
//! compile time), and no error message, `WWW-Authenticate` challenge or
//! `Debug` of an error quotes a token, a key or any part of them.
//!
//! Every check looks for windows of the secret (every run of a few
//! characters), not only the whole secret, so a partial leak fails too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokengate::RevocationStore;
use tokengate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyStore, ApiKeyVerifier, InMemoryApiKeyStore, IssuedApiKey,
    NewApiKey, SecretDigest,
};
use tokengate::testing::{clock_at, forge};
use tokengate::{
    Algorithm, Authenticator, Claim, Error, Grant, InMemoryRefreshStore, KeyRing, KeySetStore,
    NoCustomClaims, RefreshStore, RefreshToken, RefreshTokens, RevocationList, ScopeRequirement,
    SigningKey, SingleKeyStore, TokenBuilder, TokenPair, Validator, VerifyingKey, danger, jws,
};

const NOW: i64 = 1_800_000_000;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

const RSA_PKCS8_PEM: &str = include_str!("data/keys/rsa2048_pkcs8.pem");
const RSA_PKCS1_PEM: &str = include_str!("data/keys/rsa2048_pkcs1.pem");
const RSA_PKCS8_DER: &[u8] = include_bytes!("data/keys/rsa2048_pkcs8.der");
const RSA_PKCS1_DER: &[u8] = include_bytes!("data/keys/rsa2048_pkcs1.der");
const RSA_PRIVATE_JWK: &str = include_str!("data/keys/rsa2048_private.jwk.json");
const EC_P256_PKCS8_PEM: &str = include_str!("data/keys/ec_p256_pkcs8.pem");
const EC_P256_PRIVATE_JWK: &str = include_str!("data/keys/ec_p256_private.jwk.json");
const EC_P384_PKCS8_PEM: &str = include_str!("data/keys/ec_p384_pkcs8.pem");
const EC_P384_PRIVATE_JWK: &str = include_str!("data/keys/ec_p384_private.jwk.json");
const ED25519_PKCS8_PEM: &str = include_str!("data/keys/ed25519_pkcs8.pem");
const ED25519_PRIVATE_JWK: &str = include_str!("data/keys/ed25519_private.jwk.json");
const EC_P256_SEC1_PEM: &str = include_str!("data/keys/ec_p256_sec1.pem");

/// Members of a private JWK that are secret.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

// ---------------------------------------------------------------------------
// Helpers

/// Fails when `shown` contains any `n`-character window of `secret`.
#[track_caller]
fn assert_no_window(shown: &str, secret: &str, n: usize, what: &str) {
    let chars: Vec<char> = secret.chars().collect();
    assert!(
        chars.len() >= n,
        "{what}: the secret form is shorter than the window"
    );
    for w in chars.windows(n) {
        let w: String = w.iter().collect();
        assert!(
            !shown.contains(&w),
            "{what}: {shown:?} contains {w:?}, part of a secret"
        );
    }
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// Every textual form of `bytes` a careless `Debug` or `Display` could
/// print: hex (both cases), base64 and base64url (padded or not), the raw
/// bytes as Latin-1 characters, and decimal lists as `{:?}` of a byte
/// slice prints them.
#[track_caller]
fn assert_no_byte_forms(shown: &str, bytes: &[u8], what: &str) {
    assert_no_window(shown, &hex(bytes, false), 8, &format!("{what} (hex)"));
    assert_no_window(shown, &hex(bytes, true), 8, &format!("{what} (HEX)"));
    for (name, engine) in [
        ("base64", &STANDARD),
        ("base64 no pad", &STANDARD_NO_PAD),
        ("base64url", &URL_SAFE),
        ("base64url no pad", &URL_SAFE_NO_PAD),
    ] {
        assert_no_window(shown, &engine.encode(bytes), 8, &format!("{what} ({name})"));
    }
    let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
    assert_no_window(shown, &latin1, 8, &format!("{what} (raw)"));
    for run in bytes.windows(4) {
        let list = format!("{run:?}");
        let inner = &list[1..list.len() - 1];
        assert!(
            !shown.contains(inner),
            "{what} (decimal): {shown:?} contains {inner:?}"
        );
    }
}

/// `{:?}` and `{:#?}` of a value.
fn debug_forms(value: &dyn std::fmt::Debug) -> String {
    format!("{value:?}\n{value:#?}")
}

/// The body of a PEM document: its base64 lines joined.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
        .map(str::trim)
        .collect()
}

/// The private members of a JWK; none when it is not JSON.
fn private_members(jwk: &str) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_str::<Value>(jwk) else {
        return Vec::new();
    };
    PRIVATE_MEMBERS
        .iter()
        .filter_map(|m| {
            v.get(*m)
                .and_then(Value::as_str)
                .map(|s| ((*m).to_owned(), s.to_owned()))
        })
        .collect()
}

/// An HMAC secret of 64 distinct-looking bytes (not all equal, so each
/// encoding of it is distinctive); the first 32 or 48 for HS256/HS384.
fn hmac_secret() -> Vec<u8> {
    (0u32..64)
        .map(|i| (i.wrapping_mul(97).wrapping_add(13) ^ 0x5a) as u8)
        .collect()
}

fn hmac_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

// ---------------------------------------------------------------------------
// Not Clone, not Serialize, not Display: checked at compile time

/// Compiles only when `$ty` does NOT implement the trait: with the trait
/// implemented, both blanket impls apply and `_` is ambiguous.
macro_rules! assert_not_impl {
    ($ty:ty: $($tr:tt)+) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            #[allow(dead_code)]
            struct Invalid;
            impl<T: ?Sized + $($tr)+> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$ty as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

assert_not_impl!(SigningKey: Clone);
assert_not_impl!(SigningKey: serde::Serialize);
assert_not_impl!(SigningKey: std::fmt::Display);
assert_not_impl!(VerifyingKey: Clone);
assert_not_impl!(VerifyingKey: serde::Serialize);
assert_not_impl!(VerifyingKey: std::fmt::Display);
assert_not_impl!(IssuedApiKey: Clone);
assert_not_impl!(IssuedApiKey: serde::Serialize);
assert_not_impl!(IssuedApiKey: std::fmt::Display);
assert_not_impl!(RefreshToken: Clone);
assert_not_impl!(RefreshToken: serde::Serialize);
assert_not_impl!(RefreshToken: std::fmt::Display);
assert_not_impl!(TokenPair: Clone);
assert_not_impl!(TokenPair: serde::Serialize);
assert_not_impl!(TokenPair: std::fmt::Display);
// A digest is stored and serialized on purpose, but never displayed.
assert_not_impl!(SecretDigest: std::fmt::Display);

// ---------------------------------------------------------------------------
// Debug of keys

#[test]
fn hmac_keys_debug_shows_no_form_of_the_secret() {
    let full = hmac_secret();
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let secret = &full[..hmac_len(alg)];
        let jwk = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret), "alg": alg.as_str()})
            .to_string();
        let signing = [
            SigningKey::hmac(alg, secret).unwrap(),
            SigningKey::hmac(alg, secret).unwrap().with_key_id("hk-1"),
            SigningKey::from_jwk(&jwk, None).unwrap(),
        ];
        let verifying = [
            VerifyingKey::hmac(alg, secret).unwrap(),
            VerifyingKey::hmac(alg, secret).unwrap().with_key_id("hk-1"),
            VerifyingKey::from_jwk(&jwk, None).unwrap(),
        ];
        for key in &signing {
            // The key really holds the secret: it verifies its own tags.
            let tag = key.sign(b"m").unwrap();
            VerifyingKey::hmac(alg, secret)
                .unwrap()
                .verify(b"m", &tag)
                .unwrap();
            let shown = format!(
                "{}\n{}",
                debug_forms(key),
                debug_forms(&key.verifying_key())
            );
            assert!(shown.contains(alg.as_str()) && shown.contains("[redacted]"));
            assert_no_byte_forms(&shown, secret, &format!("{alg} SigningKey"));
        }
        for key in &verifying {
            let shown = debug_forms(key);
            assert!(shown.contains("[redacted]"), "{shown}");
            assert_no_byte_forms(&shown, secret, &format!("{alg} VerifyingKey"));
        }
    }
}

#[test]
fn private_keys_debug_shows_no_part_of_the_key_material() {
    let cases: Vec<(Algorithm, SigningKey, String)> = vec![
        (
            Algorithm::RS256,
            SigningKey::from_pem(Algorithm::RS256, RSA_PKCS8_PEM).unwrap(),
            pem_body(RSA_PKCS8_PEM),
        ),
        (
            Algorithm::PS384,
            SigningKey::from_pem(Algorithm::PS384, RSA_PKCS1_PEM).unwrap(),
            pem_body(RSA_PKCS1_PEM),
        ),
        (
            Algorithm::RS512,
            SigningKey::from_pkcs8_der(Algorithm::RS512, RSA_PKCS8_DER).unwrap(),
            STANDARD.encode(RSA_PKCS8_DER),
        ),
        (
            Algorithm::PS256,
            SigningKey::from_pkcs1_der(Algorithm::PS256, RSA_PKCS1_DER).unwrap(),
            STANDARD.encode(RSA_PKCS1_DER),
        ),
        (
            Algorithm::ES256,
            SigningKey::from_pem(Algorithm::ES256, EC_P256_PKCS8_PEM).unwrap(),
            pem_body(EC_P256_PKCS8_PEM),
        ),
        (
            Algorithm::ES384,
            SigningKey::from_pem(Algorithm::ES384, EC_P384_PKCS8_PEM).unwrap(),
            pem_body(EC_P384_PKCS8_PEM),
        ),
        (
            Algorithm::EdDSA,
            SigningKey::from_pem(Algorithm::EdDSA, ED25519_PKCS8_PEM).unwrap(),
            pem_body(ED25519_PKCS8_PEM),
        ),
    ];
    for (alg, key, body) in &cases {
        let shown = format!(
            "{}\n{}",
            debug_forms(key),
            debug_forms(&key.verifying_key())
        );
        assert!(shown.contains(alg.as_str()) && shown.contains("[redacted]"));
        assert_no_window(&shown, body, 8, &format!("{alg} PKCS#8/PKCS#1 body"));
        assert_no_window(
            &shown,
            &URL_SAFE_NO_PAD.encode(STANDARD.decode(body).unwrap()),
            8,
            &format!("{alg} DER as base64url"),
        );
    }
    // Freshly generated keys, whose PKCS#8 document the test can see.
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let der = SigningKey::generate_pkcs8_der(alg).unwrap();
        let key = SigningKey::from_pkcs8_der(alg, &der).unwrap();
        let shown = debug_forms(&key);
        assert_no_window(&shown, &STANDARD.encode(&*der), 8, "generated PKCS#8");
        assert_no_window(&shown, &hex(&der, false), 8, "generated PKCS#8 (hex)");
        assert_no_window(
            &shown,
            &format!("{:?}", &*der),
            12,
            "generated PKCS#8 (list)",
        );
    }
}

#[test]
fn private_jwk_keys_debug_shows_no_private_member() {
    for (alg, jwk) in [
        (Some(Algorithm::RS256), RSA_PRIVATE_JWK),
        (None, EC_P256_PRIVATE_JWK),
        (None, EC_P384_PRIVATE_JWK),
        (None, ED25519_PRIVATE_JWK),
    ] {
        let key = SigningKey::from_jwk(jwk, alg).unwrap();
        let shown = format!(
            "{}\n{}",
            debug_forms(&key),
            debug_forms(&key.verifying_key())
        );
        let members = private_members(jwk);
        assert!(members.iter().any(|(m, _)| m == "d"));
        for (member, value) in members {
            assert_no_window(&shown, &value, 8, &format!("JWK `{member}`"));
            let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
            assert_no_byte_forms(&shown, &raw, &format!("JWK `{member}` bytes"));
        }
    }
}

#[test]
fn key_containers_debug_shows_no_hmac_secret() {
    let secret = &hmac_secret()[..32];
    let signer = SigningKey::hmac(Algorithm::HS256, secret).unwrap();
    let ring = Arc::new(KeyRing::with_clock(signer, clock_at(NOW)));
    ring.rotate(
        SigningKey::hmac(Algorithm::HS256, &hmac_secret()[32..])
            .unwrap()
            .with_key_id("next"),
        time::Duration::hours(1),
    )
    .unwrap();
    let single = SingleKeyStore::new(VerifyingKey::hmac(Algorithm::HS256, secret).unwrap());
    let set = KeySetStore::new([VerifyingKey::hmac(Algorithm::HS256, secret).unwrap()]).unwrap();
    let validator = Validator::builder(Arc::clone(&ring))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    let refresh = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        Arc::clone(&ring),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .without_access_token_revocation()
    .reuse_grace(tokengate::time::Duration::ZERO)
    .build()
    .unwrap();
    let door = Authenticator::builder()
        .access_tokens(validator.clone())
        .build()
        .unwrap();
    let shown = [
        debug_forms(&ring),
        debug_forms(&single),
        debug_forms(&set),
        debug_forms(&validator),
        debug_forms(&refresh),
        debug_forms(&door),
    ]
    .join("\n");
    assert!(shown.contains("[redacted]"));
    assert_no_byte_forms(&shown, secret, "HS256 secret in a container");
    assert_no_byte_forms(&shown, &hmac_secret()[32..], "rotated-in secret");
}

// ---------------------------------------------------------------------------
// Debug of API keys, refresh tokens and their records

fn api_key_setup() -> (ApiKeyIssuer, ApiKeyVerifier, Arc<InMemoryApiKeyStore>) {
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock_at(NOW));
    let verifier = ApiKeyVerifier::new(format, store.clone()).with_clock(clock_at(NOW));
    (issuer, verifier, store)
}

/// The secret part of an API key or refresh token: after the lead and the
/// 12-character id, before the 6-character checksum.
fn secret_part<'a>(format: &ApiKeyFormat, key: &'a str) -> &'a str {
    &key[format.lead().len() + 12..key.len() - 6]
}

#[track_caller]
fn assert_no_digest(shown: &str, digest: &SecretDigest, what: &str) {
    assert_no_byte_forms(shown, digest.as_bytes(), what);
}

#[test]
fn issued_api_keys_and_records_debug_show_neither_secret_nor_digest() {
    let (issuer, verifier, store) = api_key_setup();
    let (issued, record) = issuer
        .issue(NewApiKey::new("svc").name("ci").metadata("team", "infra"))
        .unwrap();
    let key = issued.expose_secret().to_owned();
    let secret = secret_part(verifier.format(), &key).to_owned();
    assert_eq!(secret.len(), 33);
    let digest = record.secret_digest.clone();
    store.insert(record).unwrap();
    verifier.verify(&key).unwrap();

    let shown = debug_forms(&issued);
    assert!(shown.contains(issued.id()) && shown.contains("[redacted]"));
    assert!(!shown.contains(&key));
    assert_no_window(&shown, &secret, 8, "IssuedApiKey secret");
    assert_no_window(&shown, &key[key.len() - 12..], 8, "IssuedApiKey tail");

    let record = verifier.verify(&key).unwrap().record().clone();
    let shown = [
        debug_forms(&record),
        debug_forms(&record.secret_digest),
        debug_forms(&*store),
        debug_forms(&verifier),
    ]
    .join("\n");
    assert!(shown.contains("SecretDigest([sha-256])"));
    assert_no_window(&shown, &secret, 8, "record secret");
    assert_no_digest(&shown, &digest, "ApiKeyRecord digest");
}

#[test]
fn secret_digests_have_no_variable_time_eq() {
    // A derived `==` on a digest stops at the first differing byte: there
    // is none to call by mistake.
    assert_not_impl!(SecretDigest: PartialEq);
    assert_not_impl!(SecretDigest: Eq);
    assert_not_impl!(SecretDigest: std::hash::Hash);
    // Records still compare with `==`, the digest in constant time: equal
    // records are equal, and records that differ only in their digest (in
    // its first or its last byte) are not.
    let (issuer, _, _) = api_key_setup();
    let (_, record) = issuer.issue(NewApiKey::new("svc")).unwrap();
    assert_eq!(record, record.clone());
    for i in [0, 31] {
        let mut bytes = *record.secret_digest.as_bytes();
        bytes[i] ^= 1;
        let mut other = record.clone();
        other.secret_digest = SecretDigest::from_bytes(bytes);
        assert_ne!(record, other, "digest byte {i}");
    }
    let store = Arc::new(InMemoryRefreshStore::new());
    let tokens = RefreshTokens::builder(
        store.clone(),
        Arc::new(KeyRing::new(
            SigningKey::generate(Algorithm::EdDSA).unwrap(),
        )),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .without_access_token_revocation()
    .build()
    .unwrap();
    let pair = tokens.login(Grant::new("user-1")).unwrap();
    let record = (*store.get(pair.refresh_token.id()).unwrap().unwrap()).clone();
    assert_eq!(record, record.clone());
    let mut bytes = *record.secret_digest.as_bytes();
    bytes[31] ^= 1;
    let mut other = record.clone();
    other.secret_digest = SecretDigest::from_bytes(bytes);
    assert_ne!(record, other);
}

#[test]
fn refresh_tokens_pairs_and_records_debug_show_no_token() {
    let store = Arc::new(InMemoryRefreshStore::new());
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::from_pem(Algorithm::ES256, EC_P256_PKCS8_PEM).unwrap(),
        clock_at(NOW),
    ));
    let tokens = RefreshTokens::builder(
        store.clone(),
        ring,
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .without_access_token_revocation()
    .reuse_grace(tokengate::time::Duration::ZERO)
    .clock(clock_at(NOW))
    .build()
    .unwrap();
    let pair = tokens.login(Grant::new("user-1")).unwrap();
    let refresh = pair.refresh_token.expose_secret().to_owned();
    let secret = secret_part(tokens.format(), &refresh).to_owned();
    assert_eq!(secret.len(), 43);
    let access = pair.access_token.clone();

    let shown = format!(
        "{}\n{}",
        debug_forms(&pair),
        debug_forms(&pair.refresh_token)
    );
    assert!(shown.contains(pair.refresh_token.id()) && shown.contains("[redacted]"));
    assert!(shown.contains(&pair.family_id));
    assert_no_window(&shown, &secret, 8, "refresh token secret");
    assert_no_window(&shown, &access, 8, "access token");

    let record = store.get(pair.refresh_token.id()).unwrap().unwrap();
    let shown = [
        debug_forms(&record),
        debug_forms(&*store),
        debug_forms(&tokens),
    ]
    .join("\n");
    assert_no_window(&shown, &secret, 8, "refresh record secret");
    assert_no_digest(&shown, &record.secret_digest, "RefreshRecord digest");

    // The next pair too, after a rotation.
    let next = tokens.refresh(&refresh, None).unwrap();
    let shown = debug_forms(&next);
    assert_no_window(
        &shown,
        secret_part(tokens.format(), next.refresh_token.expose_secret()),
        8,
        "rotated refresh token",
    );
    assert_no_window(&shown, &next.access_token, 8, "rotated access token");
}

// ---------------------------------------------------------------------------
// Errors from key import never echo key material

/// Replaces the value of member `name` in a JWK.
fn with_member(jwk: &str, name: &str, value: Value) -> String {
    let mut v: Value = serde_json::from_str(jwk).unwrap();
    v[name] = value;
    v.to_string()
}

/// A base64url value of the same length with one character changed.
fn tweak(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[track_caller]
fn assert_error_hides(err: &Error, secrets: &[(String, String)], what: &str) {
    let shown = format!("{err}\n{err:?}\n{err:#?}");
    assert!(!shown.contains("MARKER"), "{what}: {shown}");
    for (member, value) in secrets {
        if value.chars().count() >= 8 {
            assert_no_window(&shown, value, 8, &format!("{what}: `{member}`"));
        }
    }
}

#[test]
fn failed_private_jwk_imports_do_not_echo_private_members() {
    let ec = EC_P256_PRIVATE_JWK;
    let ec_d = private_members(ec)[0].1.clone();
    let ed = ED25519_PRIVATE_JWK;
    let rsa = RSA_PRIVATE_JWK;
    let other_ed_x = {
        let k = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let jwk: Value =
            serde_json::from_str(&k.verifying_key().to_jwk().unwrap().to_json()).unwrap();
        jwk["x"].clone()
    };
    let rsa_d = private_members(rsa)
        .into_iter()
        .find(|(m, _)| m == "d")
        .unwrap()
        .1;
    let rsa_p = private_members(rsa)
        .into_iter()
        .find(|(m, _)| m == "p")
        .unwrap()
        .1;
    let short_k = URL_SAFE_NO_PAD.encode(&hmac_secret()[..31]);

    let cases: Vec<(&str, String, Option<Algorithm>)> = vec![
        (
            "EC alg mismatch",
            with_member(ec, "alg", json!("RS256")),
            None,
        ),
        ("EC requested alg mismatch", ec.to_owned(), Some(Algorithm::ES384)),
        ("EC use enc", with_member(ec, "use", json!("enc")), None),
        (
            "EC key_ops verify only",
            with_member(ec, "key_ops", json!(["verify"])),
            None,
        ),
        (
            "EC d inconsistent with x, y",
            with_member(ec, "d", json!(tweak(&ec_d))),
            None,
        ),
        (
            "EC d too short",
            with_member(ec, "d", json!(URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(&ec_d).unwrap()[..31]))),
            None,
        ),
        (
            "EC d not base64url",
            with_member(ec, "d", json!(format!("{ec_d}MARKER!"))),
            None,
        ),
        (
            "EC d of the wrong JSON type",
            with_member(ec, "d", json!({"MARKER": ec_d})),
            None,
        ),
        (
            "EC y missing",
            {
                let mut v: Value = serde_json::from_str(ec).unwrap();
                v.as_object_mut().unwrap().remove("y");
                v.to_string()
            },
            None,
        ),
        (
            "JSON cut after d",
            ec[..ec.find(&ec_d).unwrap() + ec_d.len() + 2].to_owned(),
            None,
        ),
        (
            "unknown kty",
            with_member(ec, "kty", json!("MARKER-kty")),
            Some(Algorithm::ES256),
        ),
        (
            "unknown curve",
            with_member(ec, "crv", json!("MARKER-curve")),
            None,
        ),
        (
            "Ed25519 d with another key's x",
            with_member(ed, "x", other_ed_x),
            None,
        ),
        (
            "Ed25519 as ES256",
            ed.to_owned(),
            Some(Algorithm::ES256),
        ),
        (
            "RSA without alg",
            rsa.to_owned(),
            None,
        ),
        (
            "RSA p inconsistent",
            with_member(rsa, "p", json!(tweak(&rsa_p))),
            Some(Algorithm::RS256),
        ),
        (
            "RSA p missing",
            {
                let mut v: Value = serde_json::from_str(rsa).unwrap();
                v.as_object_mut().unwrap().remove("p");
                v.to_string()
            },
            Some(Algorithm::RS256),
        ),
        (
            "RSA multi-prime",
            with_member(rsa, "oth", json!([{"r": "MARKER", "d": rsa_d, "t": "AQAB"}])),
            Some(Algorithm::RS256),
        ),
        (
            "RSA as HS256",
            rsa.to_owned(),
            Some(Algorithm::HS256),
        ),
        (
            "oct k too short",
            json!({"kty": "oct", "k": short_k, "alg": "HS256"}).to_string(),
            None,
        ),
        (
            "oct k not base64url",
            json!({"kty": "oct", "k": format!("{}MARKER*", URL_SAFE_NO_PAD.encode(hmac_secret())), "alg": "HS256"}).to_string(),
            None,
        ),
    ];
    for (what, jwk, alg) in &cases {
        let mut secrets = private_members(jwk);
        // The originals too: a tweaked member shares most of its windows.
        secrets.extend(private_members(ec));
        secrets.extend(private_members(ed));
        secrets.extend(private_members(rsa));
        secrets.push(("k".to_owned(), short_k.clone()));
        let err = match SigningKey::from_jwk(jwk, *alg) {
            Err(e) => e,
            Ok(_) => panic!("{what}: imported"),
        };
        assert_eq!(err.kind().as_str(), "invalid_key", "{what}: {err}");
        assert_error_hides(&err, &secrets, &format!("SigningKey::from_jwk, {what}"));
        if let Err(err) = VerifyingKey::from_jwk(jwk, *alg) {
            assert_error_hides(&err, &secrets, &format!("VerifyingKey::from_jwk, {what}"));
        }
        let set = format!(r#"{{"keys":[{jwk}]}}"#);
        if let Err(err) = VerifyingKey::from_jwk_set(&set, *alg) {
            assert_error_hides(&err, &secrets, &format!("from_jwk_set, {what}"));
        }
        if let Err(err) = KeySetStore::from_jwks(&set, *alg) {
            assert_error_hides(&err, &secrets, &format!("KeySetStore::from_jwks, {what}"));
        }
    }
}

#[test]
fn failed_pem_and_der_imports_do_not_echo_the_key() {
    let bodies: Vec<(String, String)> = [
        RSA_PKCS8_PEM,
        RSA_PKCS1_PEM,
        EC_P256_PKCS8_PEM,
        EC_P384_PKCS8_PEM,
        ED25519_PKCS8_PEM,
        EC_P256_SEC1_PEM,
    ]
    .iter()
    .map(|pem| ("PEM body".to_owned(), pem_body(pem)))
    .collect();
    let corrupted = {
        let body = pem_body(EC_P256_PKCS8_PEM);
        let cut = &body[..body.len() - 12];
        format!("-----BEGIN PRIVATE KEY-----\n{cut}\n-----END PRIVATE KEY-----\n")
    };
    let relabelled = EC_P256_PKCS8_PEM.replace("PRIVATE KEY", "MARKER KEY");
    let errors = [
        SigningKey::from_pem(Algorithm::ES256, RSA_PKCS8_PEM).unwrap_err(),
        SigningKey::from_pem(Algorithm::ES384, EC_P256_PKCS8_PEM).unwrap_err(),
        SigningKey::from_pem(Algorithm::RS256, EC_P256_PKCS8_PEM).unwrap_err(),
        SigningKey::from_pem(Algorithm::EdDSA, EC_P256_PKCS8_PEM).unwrap_err(),
        SigningKey::from_pem(Algorithm::ES256, EC_P256_SEC1_PEM).unwrap_err(),
        SigningKey::from_pem(Algorithm::HS256, ED25519_PKCS8_PEM).unwrap_err(),
        SigningKey::from_pem(Algorithm::ES256, &corrupted).unwrap_err(),
        SigningKey::from_pem(Algorithm::ES256, &relabelled).unwrap_err(),
        SigningKey::from_pkcs8_der(Algorithm::ES256, RSA_PKCS8_DER).unwrap_err(),
        SigningKey::from_pkcs8_der(Algorithm::RS256, &RSA_PKCS8_DER[..200]).unwrap_err(),
        SigningKey::from_pkcs1_der(Algorithm::ES256, RSA_PKCS1_DER).unwrap_err(),
        SigningKey::hmac(Algorithm::HS512, &hmac_secret()[..40]).unwrap_err(),
        SigningKey::hmac(Algorithm::ES256, &hmac_secret()).unwrap_err(),
        VerifyingKey::from_pem(Algorithm::ES256, RSA_PKCS8_PEM).unwrap_err(),
    ];
    let mut secrets = bodies;
    secrets.push(("HMAC hex".to_owned(), hex(&hmac_secret(), false)));
    secrets.push(("HMAC b64".to_owned(), URL_SAFE_NO_PAD.encode(hmac_secret())));
    for (i, err) in errors.iter().enumerate() {
        assert_error_hides(err, &secrets, &format!("key import error {i}"));
    }
}

// ---------------------------------------------------------------------------
// Errors from validation never quote the token

struct Jwt {
    signer: SigningKey,
    validator: Validator,
    typed: Validator,
    door: Authenticator,
}

fn jwt() -> Jwt {
    let signer = SigningKey::hmac(Algorithm::HS256, &hmac_secret()[..32])
        .unwrap()
        .with_key_id("k1");
    let revoked = Arc::new(RevocationList::new());
    revoked
        .revoke_token(
            "jti-MARKER-revoked",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 3_600).unwrap(),
        )
        .unwrap();
    let builder = || {
        Validator::builder(SingleKeyStore::new(signer.verifying_key()))
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .clock(clock_at(NOW))
            .revocation(revoked.clone())
            .max_age(time::Duration::hours(2))
            .require(Claim::Subject)
    };
    let validator = builder().build().unwrap();
    let typed = builder().typ("at+jwt").build().unwrap();
    let door = Authenticator::builder()
        .access_tokens(validator.clone())
        .realm("realm-1")
        .build()
        .unwrap();
    Jwt {
        signer,
        validator,
        typed,
        door,
    }
}

impl Jwt {
    fn builder(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(ISS)
            .audience(AUD)
            .subject("sub-MARKER-001")
            .jwt_id("jti-MARKER-002")
            .scope("scope-MARKER-003 read")
            .clock(clock_at(NOW))
    }

    fn sign(&self, b: TokenBuilder) -> String {
        b.sign(&self.signer).unwrap()
    }

    /// A token with this exact header and payload JSON, signed.
    fn raw(&self, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let sig = self.signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// Every piece of `token` an error must not quote: the marker, each
/// segment and every 12-character window of each segment.
#[track_caller]
fn assert_quotes_nothing(shown: &str, token: &str, what: &str) {
    assert!(!shown.contains("MARKER"), "{what}: {shown}");
    for segment in token.split('.').filter(|s| s.len() >= 12) {
        assert!(!shown.contains(segment), "{what}: {shown}");
        assert_no_window(shown, segment, 12, what);
    }
}

#[track_caller]
fn assert_error_quotes_nothing(err: &Error, token: &str, what: &str) {
    let shown = format!("{err}\n{err:?}\n{err:#?}\n{}", err.kind());
    assert_quotes_nothing(&shown, token, what);
}

#[test]
fn validation_errors_never_quote_the_token() {
    let j = jwt();
    let good = j.sign(j.builder());
    j.validator.validate(&good).unwrap();
    let past = clock_at(NOW - 100_000);
    let future = clock_at(NOW + 100_000);
    let other_key = SigningKey::hmac(Algorithm::HS256, &hmac_secret()[32..])
        .unwrap()
        .with_key_id("kid-MARKER-other");
    let hs384 = SigningKey::hmac(Algorithm::HS384, &hmac_secret()[..48]).unwrap();
    let bad_sig = {
        let mut t = good.clone();
        let last = t.pop().unwrap();
        t.push(if last == 'A' { 'B' } else { 'A' });
        t
    };
    let huge_kid = format!("kid-MARKER-{}", "x".repeat(3_000));
    let giant_kid = format!("kid-MARKER-{}", "y".repeat(10_000));
    let claims = format!(r#""iss":"{ISS}","aud":"{AUD}","exp":{}"#, NOW + 60);
    let hs = r#"{"alg":"HS256","kid":"k1"}"#;
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);

    let cases: Vec<(&str, &str, String)> = vec![
        ("bad signature", "invalid_signature", bad_sig),
        (
            "signature of another message",
            "invalid_signature",
            format!(
                "{}.{}",
                &good[..good.rfind('.').unwrap()],
                b64("MARKER-signature-bytes")
            ),
        ),
        (
            "expired",
            "expired",
            j.sign(
                j.builder()
                    .clock(past.clone())
                    .lifetime(time::Duration::minutes(5)),
            ),
        ),
        (
            "not yet valid",
            "not_yet_valid",
            j.sign(
                j.builder()
                    .not_before(time::OffsetDateTime::from_unix_timestamp(NOW + 9_000).unwrap()),
            ),
        ),
        (
            "issued in the future",
            "issued_in_future",
            j.sign(j.builder().clock(future)),
        ),
        (
            "too old",
            "token_too_old",
            j.sign(
                j.builder()
                    .clock(clock_at(NOW - 10 * 3_600))
                    .lifetime(time::Duration::hours(24)),
            ),
        ),
        (
            "wrong issuer",
            "invalid_issuer",
            j.sign(j.builder().issuer("iss-MARKER-123")),
        ),
        (
            "wrong audience",
            "invalid_audience",
            j.sign(j.builder().audience("aud-MARKER-456")),
        ),
        (
            "revoked",
            "revoked",
            j.sign(j.builder().jwt_id("jti-MARKER-revoked")),
        ),
        (
            "missing sub",
            "missing_claim",
            j.raw(hs, &format!(r#"{{{claims},"jti":"jti-MARKER-nosub"}}"#)),
        ),
        (
            "malformed JSON payload",
            "malformed",
            j.raw(hs, r#"{"sub":"MARKER-json-789","exp":"#),
        ),
        (
            "payload not an object",
            "malformed",
            j.raw(hs, r#"["MARKER-array"]"#),
        ),
        (
            "string exp",
            "malformed",
            j.raw(
                hs,
                &format!(r#"{{"sub":"s","iss":"{ISS}","aud":"{AUD}","exp":"MARKER-exp"}}"#),
            ),
        ),
        (
            "numeric sub",
            "malformed",
            j.raw(hs, &format!(r#"{{{claims},"sub":["MARKER-sub"]}}"#)),
        ),
        (
            "duplicate member",
            "malformed",
            j.raw(
                hs,
                &format!(r#"{{{claims},"sub":"MARKER-dup-1","sub":"MARKER-dup-2"}}"#),
            ),
        ),
        (
            "huge kid",
            "unknown_key",
            j.raw(
                &format!(r#"{{"alg":"HS256","kid":"{huge_kid}"}}"#),
                &format!(r#"{{{claims},"sub":"s"}}"#),
            ),
        ),
        (
            "giant kid over the size limit",
            "token_too_large",
            j.raw(
                &format!(r#"{{"alg":"HS256","kid":"{giant_kid}"}}"#),
                &format!(r#"{{{claims},"sub":"s"}}"#),
            ),
        ),
        (
            "unknown kid",
            "unknown_key",
            TokenBuilder::new()
                .issuer(ISS)
                .audience(AUD)
                .subject("MARKER-s")
                .clock(clock_at(NOW))
                .sign(&other_key)
                .unwrap(),
        ),
        (
            "algorithm not allowed",
            "algorithm_not_allowed",
            TokenBuilder::new()
                .issuer(ISS)
                .audience(AUD)
                .subject("MARKER-s")
                .clock(clock_at(NOW))
                .sign(&hs384)
                .unwrap(),
        ),
        (
            "unsupported alg",
            "unsupported_algorithm",
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"MARKER-alg"}"#),
                b64(r#"{"sub":"MARKER-p"}"#),
                b64("MARKER-sig")
            ),
        ),
        (
            "alg none",
            "unsupported_algorithm",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","kid":"MARKER-none"}"#),
                b64(r#"{"sub":"MARKER-p"}"#)
            ),
        ),
        (
            "crit",
            "unsupported_critical_header",
            j.raw(
                r#"{"alg":"HS256","kid":"k1","crit":["MARKER-crit"],"MARKER-crit":1}"#,
                &format!(r#"{{{claims},"sub":"s"}}"#),
            ),
        ),
        (
            "header not JSON",
            "malformed",
            format!(
                "{}.{}.{}",
                b64("MARKER-not-json"),
                b64(r#"{"sub":"MARKER-p"}"#),
                b64("MARKER-sig")
            ),
        ),
        (
            "header alg of the wrong type",
            "malformed",
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":["MARKER-alg"]}"#),
                b64("{}"),
                b64("sig-bytes-here")
            ),
        ),
        (
            "kid of the wrong type",
            "malformed",
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"HS256","kid":{"MARKER":1}}"#),
                b64("{}"),
                b64("sig-bytes-here")
            ),
        ),
        (
            "not base64url",
            "malformed",
            "MARKER!!header.MARKER!!payload.MARKER!!sig".to_owned(),
        ),
        (
            "two segments",
            "malformed",
            format!("{}.{}", b64(hs), b64(r#"{"sub":"MARKER-two"}"#)),
        ),
        (
            "no dots",
            "malformed",
            format!("MARKER-no-dots-{}", "z".repeat(20)),
        ),
    ];
    for (what, kind, token) in &cases {
        let err = j
            .validator
            .validate(token)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(err.kind().as_str(), *kind, "{what}");
        assert_error_quotes_nothing(&err, token, what);
        // The same through the front door: its error, `Debug` and
        // challenge.
        let header = format!("Bearer {token}");
        if let Err(err) = j.door.authenticate(Some(&header)) {
            let shown = format!("{err}\n{err:?}\n{}", err.www_authenticate());
            assert_quotes_nothing(&shown, token, &format!("front door, {what}"));
        }
        // And the unverified decoders, for the tokens they refuse.
        if let Err(err) = danger::decode_header_unverified(token) {
            assert_error_quotes_nothing(&err, token, &format!("decode_header_unverified, {what}"));
        }
        if let Err(err) = danger::decode_claims_unverified::<NoCustomClaims>(token) {
            assert_error_quotes_nothing(&err, token, &format!("decode_claims_unverified, {what}"));
        }
        if let Err(err) = jws::verify(token, &j.signer.verifying_key()) {
            assert_error_quotes_nothing(&err, token, &format!("jws::verify, {what}"));
        }
    }
}

#[test]
fn typ_custom_claims_and_scope_errors_never_quote_the_token() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Tenant {
        tenant: u64,
    }
    let j = jwt();
    let typed = j.sign(j.builder().typ("typ-MARKER"));
    let err = j.typed.validate(&typed).unwrap_err();
    assert_error_quotes_nothing(&err, &typed, "wrong typ");

    let custom = j
        .builder()
        .custom(json!({"tenant": "MARKER-tenant"}))
        .sign(&j.signer)
        .unwrap();
    j.validator.validate(&custom).unwrap();
    let err = j
        .validator
        .validate_with::<Tenant>(&custom, None)
        .unwrap_err();
    assert_error_quotes_nothing(&err, &custom, "custom claims of the wrong type");

    let scoped = j.sign(j.builder());
    let need = ScopeRequirement::all("admin").unwrap();
    let err = j.validator.validate_for(&scoped, &need).unwrap_err();
    assert_error_quotes_nothing(&err, &scoped, "insufficient scope");
    let header = format!("Bearer {scoped}");
    let err = j.door.authenticate_for(Some(&header), &need).unwrap_err();
    let challenge = err.www_authenticate();
    assert_eq!(err.status(), 403);
    assert_eq!(
        challenge,
        r#"Bearer realm="realm-1", error="insufficient_scope", scope="admin""#
    );
    assert_quotes_nothing(
        &format!("{err}\n{err:?}\n{challenge}"),
        &scoped,
        "front door scope",
    );
}

#[test]
fn malformed_authorization_headers_are_not_echoed() {
    let j = jwt();
    for header in [
        "Bearer MARKER<not-a-b64token>",
        "Bearer MARKER-a MARKER-b",
        "Bearer \"MARKER\"",
        "BearerMARKER",
        "Basic MARKER-dXNlcjpwYXNz",
        "MARKER",
        "Bearer MARKER=trailing=junk",
    ] {
        let err = j.door.authenticate(Some(header)).unwrap_err();
        let shown = format!("{err}\n{err:?}\n{}", err.www_authenticate());
        assert!(!shown.contains("MARKER"), "{header}: {shown}");
        assert!(err.cause().is_none(), "{header}");
    }
}

// ---------------------------------------------------------------------------
// Errors about API keys and refresh tokens never quote the secret

#[track_caller]
fn assert_hides_key(shown: &str, format: &ApiKeyFormat, key: &str, what: &str) {
    assert!(!shown.contains(key), "{what}: {shown}");
    assert_no_window(shown, secret_part(format, key), 8, what);
}

#[test]
fn api_key_errors_never_quote_the_secret() {
    let clock = clock_at(NOW);
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format.clone(), store.clone()).with_clock(clock.clone());
    let door = Authenticator::builder()
        .api_keys(verifier.clone())
        .realm("keys")
        .build()
        .unwrap();
    let live = issuer
        .issue_into(
            &*store,
            NewApiKey::new("svc").lifetime(time::Duration::hours(1)),
        )
        .unwrap();
    let revoked = issuer.issue_into(&*store, NewApiKey::new("svc")).unwrap();
    assert!(verifier.revoke(revoked.id()).unwrap());
    let (stranger, _) = issuer.issue(NewApiKey::new("svc")).unwrap();
    let key = live.expose_secret();

    let bad_checksum = {
        let mut k = key.to_owned();
        let last = k.pop().unwrap();
        k.push(if last == '0' { '1' } else { '0' });
        k
    };
    // `live`'s id with `stranger`'s secret and a valid checksum.
    let wrong_secret = forge(
        &format,
        live.id(),
        secret_part(&format, stranger.expose_secret()),
    );
    let cases: Vec<(&str, &str, String)> = vec![
        ("bad checksum", "malformed", bad_checksum),
        ("wrong secret", "invalid_secret", wrong_secret),
        (
            "unknown id",
            "unknown_credential",
            stranger.expose_secret().to_owned(),
        ),
        ("revoked", "revoked", revoked.expose_secret().to_owned()),
        ("truncated", "malformed", key[..key.len() - 1].to_owned()),
        ("extended", "malformed", format!("{key}0")),
        (
            "wrong alphabet",
            "malformed",
            format!("{}-{}", &key[..30], &key[31..]),
        ),
    ];
    for (what, kind, presented) in &cases {
        let err = verifier.verify(presented).unwrap_err();
        assert_eq!(err.kind().as_str(), *kind, "{what}");
        let shown = format!("{err}\n{err:?}\n{err:#?}");
        // The secret of the presented key and of the genuine one.
        if presented.len() == key.len() {
            assert_hides_key(&shown, &format, presented, what);
        }
        assert_hides_key(&shown, &format, key, what);
        let header = format!("Bearer {presented}");
        let auth = door.authenticate(Some(&header)).unwrap_err();
        assert_eq!(auth.status(), 401, "{what}");
        assert_eq!(auth.cause().unwrap().kind().as_str(), *kind, "{what}");
        let shown = format!("{auth}\n{auth:?}\n{}", auth.www_authenticate());
        assert_hides_key(&shown, &format, key, &format!("front door, {what}"));
        if presented.len() == key.len() {
            assert_hides_key(&shown, &format, presented, &format!("front door, {what}"));
        }
    }
    clock.advance(7_200);
    let err = verifier.verify(key).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }));
    assert_hides_key(&format!("{err}\n{err:?}"), &format, key, "expired");
}

#[test]
fn refresh_errors_never_quote_the_token() {
    let clock = clock_at(NOW);
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::hmac(Algorithm::HS256, &hmac_secret()[..32]).unwrap(),
        clock.clone(),
    ));
    let tokens = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        ring,
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .without_access_token_revocation()
    .reuse_grace(tokengate::time::Duration::ZERO)
    .clock(clock.clone())
    .idle_timeout(time::Duration::hours(1))
    .build()
    .unwrap();
    let format = tokens.format().clone();
    let first = tokens.login(Grant::new("u")).unwrap();
    let t1 = first.refresh_token.expose_secret().to_owned();
    let other = tokens.login(Grant::new("u")).unwrap();
    let wrong = forge(
        &format,
        first.refresh_token.id(),
        secret_part(&format, other.refresh_token.expose_secret()),
    );
    let mut errors: Vec<(&str, String, Error)> = vec![
        (
            "wrong secret",
            wrong.clone(),
            tokens.refresh(&wrong, None).unwrap_err(),
        ),
        (
            "malformed",
            format!("{t1}x"),
            tokens.refresh(&format!("{t1}x"), None).unwrap_err(),
        ),
    ];
    let second = tokens.refresh(&t1, None).unwrap();
    errors.push(("reused", t1.clone(), tokens.refresh(&t1, None).unwrap_err()));
    let t2 = second.refresh_token.expose_secret().to_owned();
    errors.push((
        "family revoked",
        t2.clone(),
        tokens.refresh(&t2, None).unwrap_err(),
    ));
    clock.advance(7_200);
    let t3 = other.refresh_token.expose_secret().to_owned();
    errors.push((
        "idle timeout",
        t3.clone(),
        tokens.refresh(&t3, None).unwrap_err(),
    ));
    for (what, presented, err) in &errors {
        let shown = format!("{err}\n{err:?}\n{err:#?}");
        for token in [presented.as_str(), &t1, &t2, &t3] {
            assert!(!shown.contains(token), "{what}: {shown}");
            if token.len() == format.key_len() {
                assert_no_window(&shown, secret_part(&format, token), 8, what);
            }
        }
    }
    let kinds: Vec<&str> = errors.iter().map(|(_, _, e)| e.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "invalid_secret",
            "malformed",
            "refresh_token_reused",
            "revoked",
            "expired"
        ]
    );
}
