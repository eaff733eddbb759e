//! Property tests: for every algorithm, issued claims come back unchanged
//! after validation; any single-byte change to a token is rejected; and
//! `Validator::validate` never panics on arbitrary input.
//!
//! RSA keys come from the fixture PEM (`tests/data/keys`); the others are
//! generated once per test run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde::{Deserialize, Serialize};
use time::Duration;
use tokengate::testing::b64_encode;
use tokengate::testing::{T0, clock};
use tokengate::{
    Algorithm, KeySetStore, SigningKey, SingleKeyStore, TokenBuilder, Validator, VerifyingKey,
};

const NOW: i64 = T0;
const RSA_PKCS8_PEM: &str = include_str!("data/keys/rsa2048_pkcs8.pem");

const FAST_ALGS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// The application's own claims, with a mix of JSON types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Custom {
    name: String,
    level: i64,
    tags: Vec<String>,
    admin: bool,
    quota: Option<u32>,
}

fn custom() -> impl Strategy<Value = Custom> {
    (
        any::<String>(),
        any::<i64>(),
        prop::collection::vec(any::<String>(), 0..4),
        any::<bool>(),
        any::<Option<u32>>(),
    )
        .prop_map(|(name, level, tags, admin, quota)| Custom {
            name,
            level,
            tags,
            admin,
            quota,
        })
}

fn key(alg: Algorithm) -> SigningKey {
    if RSA_ALGS.contains(&alg) {
        SigningKey::from_pem(alg, RSA_PKCS8_PEM).unwrap()
    } else {
        SigningKey::generate(alg).unwrap()
    }
}

/// One key per algorithm, made once.
fn keys(
    algs: &'static [Algorithm; 6],
    cell: &'static OnceLock<Vec<SigningKey>>,
) -> &'static [SigningKey] {
    cell.get_or_init(|| algs.iter().map(|a| key(*a)).collect())
}

fn fast_keys() -> &'static [SigningKey] {
    static CELL: OnceLock<Vec<SigningKey>> = OnceLock::new();
    keys(&FAST_ALGS, &CELL)
}

fn rsa_keys() -> &'static [SigningKey] {
    static CELL: OnceLock<Vec<SigningKey>> = OnceLock::new();
    keys(&RSA_ALGS, &CELL)
}

#[derive(Debug, Clone)]
struct Input {
    sub: String,
    iss: String,
    aud: Vec<String>,
    scope: String,
    custom: Custom,
}

fn input() -> impl Strategy<Value = Input> {
    // Issuers and audiences are any non-empty text: a validator refuses an
    // empty one as a configuration mistake.
    let non_empty = || any::<String>().prop_filter("non-empty", |s| !s.is_empty());
    (
        any::<String>(),
        non_empty(),
        prop::collection::vec(non_empty(), 1..4),
        any::<String>(),
        custom(),
    )
        .prop_map(|(sub, iss, aud, scope, custom)| Input {
            sub,
            iss,
            aud,
            scope,
            custom,
        })
}

/// Issues a token from `input` with `key`, validates it, and checks every
/// claim came back as issued.
fn round_trip(key: &SigningKey, input: &Input) -> Result<(), TestCaseError> {
    let clock = clock();
    let token = TokenBuilder::new()
        .issuer(input.iss.clone())
        .subject(input.sub.clone())
        .audiences(input.aud.clone())
        .scope(input.scope.clone())
        .jwt_id("id-1")
        .lifetime(Duration::minutes(5))
        .clock(clock.clone())
        .custom(input.custom.clone())
        .sign(key)
        .unwrap();
    // Validate against the last audience, so the array case is exercised.
    let validator = Validator::builder(SingleKeyStore::new(key.verifying_key()))
        .danger_accept_any_type()
        .issuer(input.iss.clone())
        .audience(input.aud.last().unwrap().clone())
        .clock(clock)
        .build()
        .unwrap();
    let verified = validator
        .validate_with::<Custom>(&token, None)
        .map_err(|e| TestCaseError::fail(format!("{}: {e:?}", key.algorithm())))?;
    prop_assert_eq!(verified.header().algorithm(), key.algorithm());
    prop_assert_eq!(verified.header().key_id(), Some(key.key_id()));
    let claims = verified.into_claims();
    prop_assert_eq!(claims.issuer.as_deref(), Some(input.iss.as_str()));
    prop_assert_eq!(claims.subject.as_deref(), Some(input.sub.as_str()));
    prop_assert!(claims.audience.as_ref().is_some_and(|a| *a == input.aud));
    prop_assert_eq!(claims.scope.as_deref(), Some(input.scope.as_str()));
    prop_assert_eq!(claims.jwt_id.as_deref(), Some("id-1"));
    prop_assert_eq!(claims.issued_at, Some(NOW));
    prop_assert_eq!(claims.expires_at, Some(NOW + 300));
    prop_assert_eq!(claims.not_before, None);
    prop_assert_eq!(claims.client_id, None);
    prop_assert_eq!(&claims.custom, &input.custom);
    Ok(())
}

/// One valid token per key, with the validator that accepts it.
fn fixed_tokens(keys: &[SigningKey]) -> Vec<(Validator, String)> {
    keys.iter()
        .map(|key| {
            let clock = clock();
            let token = TokenBuilder::new()
                .issuer("https://auth.example.com")
                .subject("user-1")
                .audience("https://api.example.com")
                .scope("orders:read")
                .clock(clock.clone())
                .sign(key)
                .unwrap();
            let v = Validator::builder(SingleKeyStore::new(key.verifying_key()))
                .danger_accept_any_type()
                .issuer("https://auth.example.com")
                .audience("https://api.example.com")
                .clock(clock)
                .build()
                .unwrap();
            v.validate(&token).unwrap();
            (v, token)
        })
        .collect()
}

fn fast_tokens() -> &'static [(Validator, String)] {
    static CELL: OnceLock<Vec<(Validator, String)>> = OnceLock::new();
    CELL.get_or_init(|| fixed_tokens(fast_keys()))
}

fn rsa_tokens() -> &'static [(Validator, String)] {
    static CELL: OnceLock<Vec<(Validator, String)>> = OnceLock::new();
    CELL.get_or_init(|| fixed_tokens(rsa_keys()))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Replaces one base64url character of each token (never a dot) with
/// another character of the alphabet, so the token keeps its shape and
/// every segment still decodes unless the change sets trailing bits that
/// must be zero, and checks the exact verdict: `malformed` for such a
/// non-canonical last character; `invalid_signature` for any other change
/// in the payload or the signature (the payload is not read before the
/// signature verifies); for the header, a rejection (its JSON, `alg` or
/// `kid` changed, or the signature over it fails).
fn tamper_rejected(
    validators: &[(Validator, String)],
    pos: &Index,
    replacement: &Index,
) -> Result<(), TestCaseError> {
    for (validator, token) in validators {
        let bytes = token.as_bytes();
        let positions: Vec<usize> = (0..bytes.len()).filter(|i| bytes[*i] != b'.').collect();
        let i = positions[pos.index(positions.len())];
        let others: Vec<u8> = ALPHABET
            .iter()
            .copied()
            .filter(|c| *c != bytes[i])
            .collect();
        let new = others[replacement.index(others.len())];
        let mut tampered = bytes.to_vec();
        tampered[i] = new;
        let tampered = String::from_utf8(tampered).unwrap();

        // Where the change landed.
        let segment = token[..i].matches('.').count();
        let start = token[..i].rfind('.').map_or(0, |d| d + 1);
        let end = token[i..].find('.').map_or(token.len(), |d| i + d);
        let is_last = i + 1 == end;
        let unused_bits = match (end - start) % 4 {
            2 => 4,
            3 => 2,
            _ => 0,
        };
        let value = ALPHABET.iter().position(|c| *c == new).unwrap();
        let non_canonical = is_last && unused_bits > 0 && value & ((1 << unused_bits) - 1) != 0;

        let err = validator.validate(&tampered).map(|_| ()).unwrap_err();
        let alg = validator.algorithms().iter().next().unwrap();
        let kind = err.kind().as_str();
        if non_canonical {
            prop_assert_eq!(
                kind,
                "malformed",
                "{} at {} of a {} token",
                new as char,
                i,
                alg
            );
        } else if segment == 0 {
            prop_assert!(err.is_rejection(), "{:?}", err);
        } else {
            prop_assert_eq!(
                kind,
                "invalid_signature",
                "{} at {} (segment {}) of a {} token",
                new as char,
                i,
                segment,
                alg
            );
        }
    }
    Ok(())
}

/// A validator over keys of several families, so garbage reaches every
/// algorithm's key lookup.
fn garbage_validator() -> &'static Validator {
    static CELL: OnceLock<Validator> = OnceLock::new();
    CELL.get_or_init(|| {
        let public = |k: &SigningKey| {
            VerifyingKey::from_jwk(&k.verifying_key().to_jwk().unwrap().to_json(), None).unwrap()
        };
        let fast = fast_keys();
        let mut keys: Vec<VerifyingKey> = fast[3..].iter().map(public).collect();
        keys.push(VerifyingKey::hmac(Algorithm::HS256, &[0x4d; 32]).unwrap());
        keys.push(VerifyingKey::from_pem(Algorithm::RS256, RSA_PKCS8_PEM).unwrap());
        Validator::builder(KeySetStore::new(keys).unwrap())
            .danger_accept_any_type()
            .danger_accept_any_issuer()
            .expect_no_audience()
            .danger_allow_missing_exp()
            .clock(clock())
            .build()
            .unwrap()
    })
}

/// The HS256 key of [`garbage_validator`], to sign generated input with.
fn garbage_hmac() -> &'static SigningKey {
    static CELL: OnceLock<SigningKey> = OnceLock::new();
    CELL.get_or_init(|| SigningKey::hmac(Algorithm::HS256, &[0x4d; 32]).unwrap())
}

/// Signs `header` and `payload` as given with [`garbage_hmac`], so the
/// validator's header reader, JSON reader and every claim check run on
/// them, not only the base64url decoder.
fn signed(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64_encode(header), b64_encode(payload));
    let signature = garbage_hmac().sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64_encode(signature))
}

/// A header that usually names HS256 (so the signature verifies), with
/// other members of arbitrary JSON-ish shapes, or raw bytes.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (json_ish(), prop::option::of("[a-z]{1,5}")).prop_map(|(extra, name)| {
            let mut h = String::from(r#"{"alg":"HS256""#);
            if let Some(name) = name {
                h.push_str(&format!(r#","{name}":{extra}"#));
            }
            h.push('}');
            h.into_bytes()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// JSON-ish text: valid JSON values and near misses (duplicates, deep
/// nesting, huge or fractional numbers, bad escapes).
fn json_ish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "-?[0-9]{1,30}(\\.[0-9]{0,5})?([eE][+-]?[0-9]{1,4})?",
        "\"([a-z: ]|\\\\[nu\"]|\\\\u[0-9a-fA-F]{0,4}){0,12}\"",
        "[\\[\\]{}\",:0-9a-z]{0,10}",
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("exp".to_owned()),
                        Just("nbf".to_owned()),
                        Just("iat".to_owned()),
                        Just("aud".to_owned()),
                        Just("iss".to_owned()),
                        Just("sub".to_owned()),
                        Just("scope".to_owned()),
                        Just("jti".to_owned()),
                        "[a-z]{1,4}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|members| {
                let body: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// A payload: a JSON object of registered claims with arbitrary values
/// (and duplicates), any JSON-ish text, or raw bytes.
fn payload_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_ish().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..96),
    ]
}

/// Signed input may be accepted (a payload such as `{}` is a valid token
/// for this lax validator); it must never panic, and a refusal must be a
/// rejection of the token, never an internal error.
fn signed_never_panics(token: &str) -> Result<(), TestCaseError> {
    if let Err(err) = garbage_validator().validate(token) {
        prop_assert!(err.is_rejection(), "{:?}", err);
    }
    Ok(())
}

fn never_panics(input: &str) -> Result<(), TestCaseError> {
    let result = garbage_validator().validate(input);
    prop_assert!(result.is_err(), "accepted {:?}", input);
    let err = result.unwrap_err();
    prop_assert!(err.is_rejection(), "{:?}", err);
    Ok(())
}

/// Token-shaped input: three base64url segments, with a header that is
/// sometimes plausible JSON.
fn token_like() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64).prop_map(b64_encode),
        r#"\{"alg":"(HS256|RS256|ES256|ES384|EdDSA|none|PS512)"(,"kid":"[a-z0-9]{0,4}")?(,"typ":"JWT")?(,"crit":\[\])?\}"#
            .prop_map(b64_encode),
    ];
    let payload = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..96).prop_map(b64_encode),
        r#"\{("exp":[0-9.e"-]{0,12})?(,"aud":[\[\]"a0-9,]{0,8})?\}"#.prop_map(b64_encode),
        "[A-Za-z0-9_-]{0,40}",
    ];
    let signature = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600).prop_map(b64_encode),
        "[A-Za-z0-9_=+/-]{0,90}",
    ];
    (header, payload, signature).prop_map(|(h, p, s)| format!("{h}.{p}.{s}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn claims_round_trip_for_hmac_ecdsa_and_eddsa(input in input()) {
        for key in fast_keys() {
            round_trip(key, &input)?;
        }
    }

    #[test]
    fn validate_never_panics_on_arbitrary_strings(input in any::<String>()) {
        never_panics(&input)?;
    }

    #[test]
    fn validate_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        never_panics(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn validate_never_panics_on_token_shaped_input(input in token_like()) {
        never_panics(&input)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Validly signed, so the header reader, the claims reader and every
    /// claim check see the generated bytes.
    #[test]
    fn validate_never_panics_on_signed_arbitrary_headers_and_payloads(
        header in header_bytes(),
        payload in payload_bytes(),
    ) {
        signed_never_panics(&signed(&header, &payload))?;
    }
}

proptest! {
    // Verification only (the tokens are signed once): cheap enough for
    // more cases.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_character_change_is_rejected_hmac_ecdsa_eddsa(
        pos in any::<Index>(),
        replacement in any::<Index>(),
    ) {
        tamper_rejected(fast_tokens(), &pos, &replacement)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn claims_round_trip_for_rsa(input in input()) {
        for key in rsa_keys() {
            round_trip(key, &input)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_single_character_change_is_rejected_rsa(
        pos in any::<Index>(),
        replacement in any::<Index>(),
    ) {
        tamper_rejected(rsa_tokens(), &pos, &replacement)?;
    }
}
