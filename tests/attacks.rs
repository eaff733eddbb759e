//! The attack suite: known attacks on JWT validators, API keys and refresh
//! tokens, each named after the attack, citing the advisory (CVE / GHSA) or
//! RFC section it comes from, and rejected with the right error kind
//! (`err.kind().as_str()`).
//!
//! Static attack tokens and inputs are data under `tests/data/attacks/` (one
//! JSON file per class; its README lists the files, their format and their
//! sources) and run through [`run_data`]. Cases that need fresh signatures
//! (an HMAC keyed with a public key, an attacker's key pair, a signature
//! derived from a real one) are built here, with the construction in a
//! comment.
//!
//! Three rules hold for every case:
//! - an accepted control has tampered twins (signature, payload and header
//!   each changed by one character, and the signature stripped) that must
//!   fail;
//! - a rejection's `Display` never contains the token, its segments (encoded
//!   or decoded) or any key material;
//! - time is a [`FixedClock`], so expiry never depends on the day the suite
//!   runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use serde::Deserialize;
use tokengate::RevocationStore;
use tokengate::testing::{BASE62, T0, attacker_hmac_key, checksum, clock};
use tokengate::testing::{b64_decode, b64_encode};
use tokengate::{
    Algorithm, ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, Authenticator, BearerError, Claim,
    Error, FixedClock, Grant, InMemoryApiKeyStore, InMemoryRefreshStore, JwkSetOptions, KeyError,
    KeyRing, KeySetStore, KeyStore, Malformed, NewApiKey, RefreshTokens, RevocationList,
    SigningKey, SingleKeyStore, SkipReason, TokenBuilder, Validator, ValidatorBuilder,
    VerifyingKey, jws,
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// The instant every validator and issuer in this file reads (the shared
/// test clock's, 2025-06-15T15:06:40Z, as in `tests/data/attacks`).
const NOW: i64 = T0;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
/// The fixture store's HMAC key (test data only, 40 bytes of ASCII).
const HS256_SECRET: &[u8] = b"attack-suite-hmac-key-0123456789abcdefgh";

const ED25519_PKCS8: &str = include_str!("data/keys/ed25519_pkcs8.pem");
const ED25519_SPKI_PEM: &str = include_str!("data/keys/ed25519_spki.pem");
const ED25519_PUBLIC_JWK: &str = include_str!("data/keys/ed25519_public.jwk.json");
const ED25519_PRIVATE_JWK: &str = include_str!("data/keys/ed25519_private.jwk.json");
const EC_P256_PKCS8: &str = include_str!("data/keys/ec_p256_pkcs8.pem");
const EC_P256_SPKI_PEM: &str = include_str!("data/keys/ec_p256_spki.pem");
const EC_P256_CERT_DER: &[u8] = include_bytes!("data/keys/ec_p256_cert.der");
const EC_P256_PUBLIC_JWK: &str = include_str!("data/keys/ec_p256_public.jwk.json");
const EC_P256_PRIVATE_JWK: &str = include_str!("data/keys/ec_p256_private.jwk.json");
const EC_P384_PKCS8: &str = include_str!("data/keys/ec_p384_pkcs8.pem");
const EC_P384_SPKI_PEM: &str = include_str!("data/keys/ec_p384_spki.pem");
const EC_P384_PUBLIC_JWK: &str = include_str!("data/keys/ec_p384_public.jwk.json");
const EC_P384_PRIVATE_JWK: &str = include_str!("data/keys/ec_p384_private.jwk.json");
const RSA_PKCS8: &str = include_str!("data/keys/rsa2048_pkcs8.pem");
const RSA_SPKI_PEM: &str = include_str!("data/keys/rsa2048_spki.pem");
const RSA_SPKI_DER: &[u8] = include_bytes!("data/keys/rsa2048_spki.der");
const RSA_PKCS1_PUB_PEM: &str = include_str!("data/keys/rsa2048_pkcs1_pub.pem");
const RSA_PKCS1_PUB_DER: &[u8] = include_bytes!("data/keys/rsa2048_pkcs1_pub.der");
const RSA_PUBLIC_JWK: &str = include_str!("data/keys/rsa2048_public.jwk.json");
const RSA_PRIVATE_JWK: &str = include_str!("data/keys/rsa2048_private.jwk.json");

/// The signing keys behind the fixture store, with fixed key ids.
struct Keys {
    ed: SigningKey,
    es256: SigningKey,
    es384: SigningKey,
    rs256: SigningKey,
    hs256: SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        ed: SigningKey::from_pem(Algorithm::EdDSA, ED25519_PKCS8)
            .unwrap()
            .with_key_id("ed-1"),
        es256: SigningKey::from_pem(Algorithm::ES256, EC_P256_PKCS8)
            .unwrap()
            .with_key_id("es256-1"),
        es384: SigningKey::from_pem(Algorithm::ES384, EC_P384_PKCS8)
            .unwrap()
            .with_key_id("es384-1"),
        rs256: SigningKey::from_pem(Algorithm::RS256, RSA_PKCS8)
            .unwrap()
            .with_key_id("rs256-1"),
        hs256: SigningKey::hmac(Algorithm::HS256, HS256_SECRET)
            .unwrap()
            .with_key_id("hs256-1"),
    })
}

impl Keys {
    /// The key a data case names in `input.key`.
    fn by_name(&self, name: &str) -> &SigningKey {
        match name {
            "ed25519" => &self.ed,
            "es256" => &self.es256,
            "es384" => &self.es384,
            "rs256" => &self.rs256,
            "hs256" => &self.hs256,
            other => panic!("unknown fixture key {other:?}"),
        }
    }

    /// One store holding all five keys, as a validator of a service that
    /// trusts several issuers' keys would.
    fn store(&self) -> KeySetStore {
        KeySetStore::new([
            self.ed.verifying_key(),
            self.es256.verifying_key(),
            self.es384.verifying_key(),
            self.rs256.verifying_key(),
            self.hs256.verifying_key(),
        ])
        .unwrap()
    }
}

/// A validator over `store` expecting `ISS` and `AUD`, at `NOW`.
fn validator_over(store: impl KeyStore + 'static) -> ValidatorBuilder {
    Validator::builder(store)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock())
}

/// The validator every data case runs against: all five fixture keys.
fn default_validator() -> Validator {
    validator_over(keys().store()).build().unwrap()
}

/// Claims that pass [`default_validator`]; byte for byte the `GOOD` text of
/// the data README.
fn good_claims() -> String {
    format!(
        r#"{{"iss":"{ISS}","sub":"user-1","aud":"{AUD}","iat":{NOW},"exp":{}}}"#,
        NOW + 600
    )
}

/// The header a fixture key signs with by default.
fn default_header(key: &SigningKey) -> String {
    format!(
        r#"{{"alg":"{}","kid":"{}","typ":"JWT"}}"#,
        key.algorithm(),
        key.key_id()
    )
}

/// `BASE64URL(header).BASE64URL(payload).BASE64URL(signature by key)` with
/// header and payload exactly as given.
fn compact(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!("{}.{}", b64_encode(header), b64_encode(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64_encode(signature))
}

/// The three segments of a compact token.
fn parts(token: &str) -> (&str, &str, &str) {
    let mut it = token.split('.');
    let parts = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    assert!(it.next().is_none(), "not three segments");
    parts
}

/// The decoded signature of a compact token.
fn signature_of(token: &str) -> Vec<u8> {
    b64_decode(parts(token).2.as_bytes()).unwrap()
}

/// The token with its signature segment replaced by `signature`.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let (h, p, _) = parts(token);
    format!("{h}.{p}.{}", b64_encode(signature))
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The DER body of a PEM document (standard base64 between the armour).
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap()
}

/// A base64url member of a JWK fixture, decoded.
fn jwk_member(jwk: &str, name: &str) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(jwk).unwrap();
    b64_decode(v[name].as_str().unwrap().as_bytes()).unwrap()
}

// ---------------------------------------------------------------------------
// Checking outcomes: kinds, tampered twins, leaks
// ---------------------------------------------------------------------------

/// Everything secret in the fixtures, as text that could show up in a
/// message: the HMAC key, every base64 line of the PEM keys and every
/// member of the private JWKs.
fn key_material() -> &'static [String] {
    static MATERIAL: OnceLock<Vec<String>> = OnceLock::new();
    MATERIAL.get_or_init(|| {
        let mut out = vec![
            String::from_utf8(HS256_SECRET.to_vec()).unwrap(),
            b64_encode(HS256_SECRET),
        ];
        for pem in [
            ED25519_PKCS8,
            ED25519_SPKI_PEM,
            EC_P256_PKCS8,
            EC_P256_SPKI_PEM,
            EC_P384_PKCS8,
            EC_P384_SPKI_PEM,
            RSA_PKCS8,
            RSA_SPKI_PEM,
            RSA_PKCS1_PUB_PEM,
        ] {
            out.extend(
                pem.lines()
                    .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                    .map(str::to_owned),
            );
        }
        for jwk in [
            ED25519_PRIVATE_JWK,
            EC_P256_PRIVATE_JWK,
            EC_P384_PRIVATE_JWK,
            RSA_PRIVATE_JWK,
        ] {
            let v: serde_json::Value = serde_json::from_str(jwk).unwrap();
            for member in v.as_object().unwrap().values() {
                if let Some(s) = member.as_str().filter(|s| s.len() >= 16) {
                    out.push(s.to_owned());
                }
            }
        }
        out
    })
}

/// `Err` when the error's `Display` shows the token, one of its segments
/// (encoded, or decoded when that is text), the `extra` strings, or key
/// material. Needles under 8 characters are skipped: they would match
/// ordinary words of the message.
fn no_leak(err: &Error, token: &str, extra: &[&str]) -> Result<(), String> {
    let shown = err.to_string();
    let mut needles: Vec<String> = vec![token.to_owned()];
    for segment in token.split('.') {
        needles.push(segment.to_owned());
        if let Ok(text) = b64_decode(segment.as_bytes()).map(String::from_utf8) {
            needles.extend(text.ok());
        }
    }
    needles.extend(extra.iter().map(|s| (*s).to_owned()));
    needles.extend(key_material().iter().cloned());
    match needles
        .iter()
        .filter(|n| n.len() >= 8)
        .find(|n| shown.contains(n.as_str()))
    {
        Some(needle) => Err(format!("Display {shown:?} leaks {needle:?}")),
        None => Ok(()),
    }
}

/// One-character changes of an accepted token, each with the kind it must
/// be rejected with (`None`: any rejection).
fn tampered_twins(token: &str) -> Vec<(&'static str, String, Option<&'static str>)> {
    fn flip(s: &str, i: usize) -> String {
        let mut b = s.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    }
    let (h, p, s) = parts(token);
    vec![
        (
            "signature changed",
            format!("{h}.{p}.{}", flip(s, 0)),
            Some("invalid_signature"),
        ),
        (
            "payload changed",
            format!("{h}.{}.{s}", flip(p, p.len() / 2)),
            Some("invalid_signature"),
        ),
        (
            "header changed",
            format!("{}.{p}.{s}", flip(h, h.len() / 2)),
            None,
        ),
        (
            "signature stripped",
            format!("{h}.{p}."),
            Some("invalid_signature"),
        ),
    ]
}

/// Validates `token` and compares the outcome with `expect`: `"ok"` for
/// acceptance (then every tampered twin must fail), otherwise the stable
/// kind name of the rejection, whose `Display` must not leak.
fn check(v: &Validator, token: &str, expect: &str, extra: &[&str]) -> Result<(), String> {
    match (v.validate(token), expect) {
        (Ok(_), "ok") => {
            for (what, twin, kind) in tampered_twins(token) {
                match v.validate(&twin) {
                    Ok(_) => return Err(format!("tampered twin ({what}) was accepted")),
                    Err(e) => {
                        if let Some(kind) = kind
                            && e.kind().as_str() != kind
                        {
                            return Err(format!(
                                "tampered twin ({what}): got {}, expected {kind}",
                                e.kind().as_str()
                            ));
                        }
                        no_leak(&e, &twin, extra)?;
                    }
                }
            }
            Ok(())
        }
        (Ok(verified), kind) => Err(format!("accepted {verified:?}, expected {kind}")),
        (Err(e), "ok") => Err(format!(
            "rejected with {} ({e:?}), expected acceptance",
            e.kind().as_str()
        )),
        (Err(e), kind) if e.kind().as_str() != kind => Err(format!(
            "got {} ({e:?}), expected {kind}",
            e.kind().as_str()
        )),
        (Err(e), _) => no_leak(&e, token, extra),
    }
}

#[track_caller]
fn expect(v: &Validator, token: &str, kind: &str) {
    expect_with(v, token, kind, &[]);
}

#[track_caller]
fn expect_with(v: &Validator, token: &str, kind: &str, extra: &[&str]) {
    if let Err(why) = check(v, token, kind, extra) {
        let shown: String = token.chars().take(200).collect();
        panic!("{why}\n  token: {shown}");
    }
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(result: Result<T, Error>, kind: &str, presented: &[&str]) {
    match result {
        Ok(v) => panic!("accepted {v:?}, expected {kind}"),
        Err(e) => {
            assert_eq!(e.kind().as_str(), kind, "{e:?}");
            let shown = e.to_string();
            let material = key_material().iter().map(String::as_str);
            for needle in presented.iter().copied().chain(material) {
                assert!(
                    needle.len() < 8 || !shown.contains(needle),
                    "{shown:?} leaks {needle:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Data-driven cases (tests/data/attacks/*.json)
// ---------------------------------------------------------------------------

/// One attack case of a data file; see the data README for the format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    source: String,
    token: Option<String>,
    input: Option<Input>,
    expect_kind: String,
    /// The expected kind with the `aws-lc-rs` backend, where it differs
    /// (that backend implements ES512).
    expect_kind_aws_lc_rs: Option<String>,
    /// Set when the crate's answer differs from `expect_kind`: the case is
    /// left out of the data tests, and
    /// [`no_data_case_is_marked_as_a_library_bug`] fails until the library
    /// is fixed and the mark removed.
    library_bug: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    header: Option<String>,
    header_hex: Option<String>,
    header_raw: Option<String>,
    header_encoding: Option<Encoding>,
    payload: Option<String>,
    payload_hex: Option<String>,
    payload_raw: Option<String>,
    payload_encoding: Option<Encoding>,
    key: Option<String>,
    signature: Option<String>,
    signature_hex: Option<String>,
    signature_encoding: Option<Encoding>,
    #[serde(default)]
    edits: Vec<Edit>,
}

/// A deliberate departure from strict base64url, applied when a segment is
/// encoded (before signing, for header and payload).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Encoding {
    /// `=` padding to a multiple of four characters.
    Padded,
    /// `+` and `/` instead of `-` and `_`.
    StandardAlphabet,
    /// The lowest unused bit of the last character set.
    TrailingBits,
    /// A space in the middle of the segment.
    WithSpace,
}

/// A change to the finished token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    prefix: Option<String>,
    suffix: Option<String>,
    insert: Option<String>,
    segment: Option<usize>,
    offset: Option<usize>,
}

const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(bytes: &[u8], encoding: Option<Encoding>) -> String {
    let canonical = b64_encode(bytes);
    let Some(encoding) = encoding else {
        return canonical;
    };
    let out = match encoding {
        Encoding::Padded => {
            let mut s = canonical.clone();
            while !s.len().is_multiple_of(4) {
                s.push('=');
            }
            s
        }
        Encoding::StandardAlphabet => canonical.replace('-', "+").replace('_', "/"),
        Encoding::TrailingBits => {
            assert!(!canonical.len().is_multiple_of(4), "no unused bits to set");
            let mut b = canonical.clone().into_bytes();
            let last = b.last_mut().unwrap();
            let value = URL_ALPHABET.iter().position(|c| c == last).unwrap();
            *last = URL_ALPHABET[value + 1];
            String::from_utf8(b).unwrap()
        }
        Encoding::WithSpace => {
            let mid = canonical.len() / 2;
            format!("{} {}", &canonical[..mid], &canonical[mid..])
        }
    };
    assert_ne!(out, canonical, "the {encoding:?} encoding changed nothing");
    out
}

/// Encodes a segment given as text, hex or a raw (already encoded) string.
fn segment(
    text: Option<&str>,
    hex_bytes: Option<&str>,
    raw: Option<&str>,
    encoding: Option<Encoding>,
    default: impl FnOnce() -> String,
) -> String {
    match (text, hex_bytes, raw) {
        (Some(t), None, None) => encode(t.as_bytes(), encoding),
        (None, Some(h), None) => encode(&hex(h), encoding),
        (None, None, Some(r)) => {
            assert!(encoding.is_none(), "a raw segment takes no encoding");
            r.to_owned()
        }
        (None, None, None) => encode(default().as_bytes(), encoding),
        _ => panic!("give at most one of text, hex and raw"),
    }
}

impl Edit {
    fn apply(&self, token: &str) -> String {
        match (&self.prefix, &self.suffix, &self.insert) {
            (Some(p), None, None) => format!("{p}{token}"),
            (None, Some(s), None) => format!("{token}{s}"),
            (None, None, Some(text)) => {
                let seg = self.segment.expect("insert needs a segment");
                let segments: Vec<&str> = token.split('.').collect();
                let start: usize = segments[..seg].iter().map(|s| s.len() + 1).sum();
                let at = start + self.offset.unwrap_or(0).min(segments[seg].len());
                format!("{}{text}{}", &token[..at], &token[at..])
            }
            _ => panic!("an edit is one of prefix, suffix or insert"),
        }
    }
}

impl Input {
    fn build(&self) -> String {
        let key = self.key.as_deref().map(|k| keys().by_name(k));
        let header = segment(
            self.header.as_deref(),
            self.header_hex.as_deref(),
            self.header_raw.as_deref(),
            self.header_encoding,
            || default_header(key.expect("a header or a key")),
        );
        let payload = segment(
            self.payload.as_deref(),
            self.payload_hex.as_deref(),
            self.payload_raw.as_deref(),
            self.payload_encoding,
            good_claims,
        );
        let signing_input = format!("{header}.{payload}");
        let signature = match (key, &self.signature, &self.signature_hex) {
            (Some(k), None, None) => encode(
                &k.sign(signing_input.as_bytes()).unwrap(),
                self.signature_encoding,
            ),
            (None, Some(raw), None) => {
                assert!(self.signature_encoding.is_none());
                raw.clone()
            }
            (None, None, Some(h)) => encode(&hex(h), self.signature_encoding),
            _ => panic!("give exactly one of key, signature and signature_hex"),
        };
        let mut token = format!("{signing_input}.{signature}");
        for edit in &self.edits {
            token = edit.apply(&token);
        }
        token
    }
}

impl Case {
    fn token(&self) -> String {
        match (&self.token, &self.input) {
            (Some(t), None) => t.clone(),
            (None, Some(input)) => input.build(),
            _ => panic!("{}: give exactly one of token and input", self.name),
        }
    }
}

/// Every data file, by name.
const DATA_FILES: [(&str, &str); 7] = [
    ("alg.json", include_str!("data/attacks/alg.json")),
    ("kid.json", include_str!("data/attacks/kid.json")),
    ("crit.json", include_str!("data/attacks/crit.json")),
    (
        "signatures.json",
        include_str!("data/attacks/signatures.json"),
    ),
    ("claims.json", include_str!("data/attacks/claims.json")),
    ("shape.json", include_str!("data/attacks/shape.json")),
    ("json.json", include_str!("data/attacks/json.json")),
];

/// The cases of a data file, checked for unique names and a source.
fn data(file: &str) -> Vec<Case> {
    let (_, json) = DATA_FILES
        .iter()
        .find(|(name, _)| *name == file)
        .unwrap_or_else(|| panic!("no data file {file}"));
    let cases: Vec<Case> =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
    assert!(!cases.is_empty(), "{file} is empty");
    let mut names = HashSet::new();
    for case in &cases {
        assert!(
            names.insert(case.name.as_str()),
            "{file}: duplicate name {}",
            case.name
        );
        assert!(
            !case.source.trim().is_empty(),
            "{file}/{}: no source",
            case.name
        );
    }
    cases
}

/// Runs the cases of a data file (those with `library_bug` set when
/// `known_bugs`, the others otherwise) against [`default_validator`] and
/// reports all failures at once. Returns the number of cases run.
fn run_data(file: &str, known_bugs: bool) -> usize {
    let v = default_validator();
    let mut failures = Vec::new();
    let mut run = 0;
    for case in data(file) {
        if case.library_bug.is_some() != known_bugs {
            continue;
        }
        run += 1;
        let token = case.token();
        let expected = match &case.expect_kind_aws_lc_rs {
            Some(kind) if cfg!(feature = "aws-lc-rs") => kind,
            _ => &case.expect_kind,
        };
        if let Err(why) = check(&v, &token, expected, &[]) {
            failures.push(format!("{file}/{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {run} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    run
}

/// `alg` `none` in every letter case and escape, with and without a
/// signature; unknown and non-string `alg`; escaped spellings of real
/// algorithms that must verify normally.
#[test]
fn data_alg() {
    assert!(run_data("alg.json", false) >= 40);
}

/// `kid` injection (RFC 8725 §3.10): paths, SQL, shell text, lookalikes,
/// kids of keys of other algorithms, non-string kids.
#[test]
fn data_kid() {
    assert!(run_data("kid.json", false) >= 20);
}

/// `crit` and `b64` (RFC 7515 §4.1.11, RFC 7797).
#[test]
fn data_crit() {
    assert!(run_data("crit.json", false) >= 15);
}

/// Broken signature math: CVE-2022-21449 "psychic signatures", out-of-range
/// and wrong-length ECDSA, EdDSA, RSA and HMAC signatures.
#[test]
fn data_signatures() {
    assert!(run_data("signatures.json", false) >= 35);
}

/// Claim type confusion (CVE-2026-25537) and issuer/audience lookalikes.
#[test]
fn data_claims() {
    assert!(run_data("claims.json", false) >= 90);
}

/// Size and shape: segments, serializations, whitespace, base64 variants,
/// JSON that is not one clean UTF-8 object, duplicate members.
#[test]
fn data_shape() {
    assert!(run_data("shape.json", false) >= 70);
}

/// JSON below the top level: repeated member names at any depth of the
/// header and claims (CVE-2017-12635's `roles` among them) and numbers
/// beyond the f64 range. The cases run as [`NoCustomClaims`], then again
/// as two custom claims types (a typed struct and a JSON map), which serde
/// would otherwise fill with the last of two repeated members.
#[test]
fn data_json_duplicates_at_every_depth_and_numbers_beyond_f64() {
    assert!(run_data("json.json", false) >= 20);

    #[derive(Debug, Deserialize)]
    struct Roles {
        #[serde(default)]
        #[allow(dead_code)]
        roles: std::collections::HashMap<String, bool>,
    }
    let v = default_validator();
    let mut failures = Vec::new();
    for case in data("json.json") {
        let token = case.token();
        let outcomes = [
            (
                "struct",
                v.validate_with::<Roles>(&token, None)
                    .map(|_| ())
                    .map_err(|e| e.kind()),
            ),
            (
                "map",
                v.validate_with::<serde_json::Map<String, serde_json::Value>>(&token, None)
                    .map(|_| ())
                    .map_err(|e| e.kind()),
            ),
        ];
        for (as_type, outcome) in outcomes {
            let got = match outcome {
                Ok(()) => "ok",
                Err(kind) => kind.as_str(),
            };
            if got != case.expect_kind {
                failures.push(format!(
                    "json.json/{} as {as_type}: got {got}, expected {}",
                    case.name, case.expect_kind
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A data case whose expected kind the crate does not give is marked with
/// a `library_bug` field until the library is fixed; none is left (the
/// last were duplicate `alg` members judged by their first value).
#[test]
fn no_data_case_is_marked_as_a_library_bug() {
    let run: usize = DATA_FILES
        .iter()
        .map(|(file, _)| run_data(file, true))
        .sum();
    assert_eq!(run, 0, "cases marked library_bug remain in the data");
}

// ---------------------------------------------------------------------------
// Key-type confusion: CVE-2015-9235, CVE-2016-10555, CVE-2022-29217
// ---------------------------------------------------------------------------

/// A key family, its verification key, and its public forms by name.
type PublicForms = (
    &'static str,
    Arc<VerifyingKey>,
    Vec<(&'static str, Vec<u8>)>,
);

/// The public forms of each fixture verification key an attacker can
/// download and use as an HMAC secret.
fn public_key_forms() -> Vec<PublicForms> {
    let k = keys();
    let exported = |key: &SigningKey| key.verifying_key().to_jwk().unwrap().to_json();
    let jwks = |key: &SigningKey| SingleKeyStore::new(key.verifying_key()).jwks().to_json();
    let point = |jwk: &str| {
        let mut p = vec![4u8];
        p.extend(jwk_member(jwk, "x"));
        p.extend(jwk_member(jwk, "y"));
        p
    };
    vec![
        (
            "RSA",
            k.rs256.verifying_key(),
            vec![
                ("SPKI PEM text", RSA_SPKI_PEM.as_bytes().to_vec()),
                (
                    "SPKI PEM text, trimmed",
                    RSA_SPKI_PEM.trim().as_bytes().to_vec(),
                ),
                ("PKCS#1 PEM text", RSA_PKCS1_PUB_PEM.as_bytes().to_vec()),
                ("SPKI DER", RSA_SPKI_DER.to_vec()),
                ("PKCS#1 DER", RSA_PKCS1_PUB_DER.to_vec()),
                ("JWK file text", RSA_PUBLIC_JWK.as_bytes().to_vec()),
                ("exported JWK JSON", exported(&k.rs256).into_bytes()),
                ("exported JWK Set JSON", jwks(&k.rs256).into_bytes()),
                ("modulus bytes", jwk_member(RSA_PUBLIC_JWK, "n")),
            ],
        ),
        (
            "EC P-256",
            k.es256.verifying_key(),
            vec![
                ("SPKI PEM text", EC_P256_SPKI_PEM.as_bytes().to_vec()),
                (
                    "SPKI PEM text, trimmed",
                    EC_P256_SPKI_PEM.trim().as_bytes().to_vec(),
                ),
                ("SPKI DER", pem_der(EC_P256_SPKI_PEM)),
                ("X.509 certificate DER", EC_P256_CERT_DER.to_vec()),
                ("JWK file text", EC_P256_PUBLIC_JWK.as_bytes().to_vec()),
                ("exported JWK JSON", exported(&k.es256).into_bytes()),
                ("SEC1 point", point(EC_P256_PUBLIC_JWK)),
                ("x coordinate", jwk_member(EC_P256_PUBLIC_JWK, "x")),
            ],
        ),
        (
            "EC P-384",
            k.es384.verifying_key(),
            vec![
                ("SPKI PEM text", EC_P384_SPKI_PEM.as_bytes().to_vec()),
                ("SPKI DER", pem_der(EC_P384_SPKI_PEM)),
                ("JWK file text", EC_P384_PUBLIC_JWK.as_bytes().to_vec()),
                ("exported JWK JSON", exported(&k.es384).into_bytes()),
                ("SEC1 point", point(EC_P384_PUBLIC_JWK)),
            ],
        ),
        (
            "Ed25519",
            k.ed.verifying_key(),
            vec![
                ("SPKI PEM text", ED25519_SPKI_PEM.as_bytes().to_vec()),
                (
                    "SPKI PEM text, trimmed",
                    ED25519_SPKI_PEM.trim().as_bytes().to_vec(),
                ),
                ("SPKI DER", pem_der(ED25519_SPKI_PEM)),
                ("JWK file text", ED25519_PUBLIC_JWK.as_bytes().to_vec()),
                ("exported JWK JSON", exported(&k.ed).into_bytes()),
                ("raw public key", jwk_member(ED25519_PUBLIC_JWK, "x")),
            ],
        ),
    ]
}

/// CVE-2015-9235 (jsonwebtoken for Node.js), CVE-2016-10555 (jwt-simple),
/// CVE-2022-29217 (PyJWT): an attacker takes the validator's *public* key
/// in any published form and uses its bytes as an HMAC secret, then sends
/// an HS256/384/512 token, hoping the validator feeds "its key" to HMAC.
///
/// Construction: `attacker_hmac_key(HSxxx, public_key_bytes)` signs the
/// token; the header names the victim key's `kid`, or none.
///
/// Expected `algorithm_not_allowed`: a validator's algorithms are its
/// allow-list narrowed to the algorithms of the keys in its store, and a
/// store of public keys holds no HMAC key, so `HS*` is refused before any
/// key lookup or HMAC is computed (RFC 8725 §3.1). The single-key
/// `jws::verify` refuses the same way: the header's `alg` is not the key's.
#[test]
fn hmac_keyed_with_the_validators_public_key_is_algorithm_not_allowed() {
    let mut cases = 0;
    for (family, victim, forms) in public_key_forms() {
        let v = validator_over(SingleKeyStore::new(Arc::clone(&victim)))
            .build()
            .unwrap();
        for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            assert!(!v.algorithms().contains(hs));
        }
        for (form, secret) in &forms {
            for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                // Shorter than the hash output: the key is refused, the
                // attacker would use a shorter tag instead; covered above.
                let Ok(hmac) = attacker_hmac_key(hs, secret) else {
                    assert!(secret.len() < 64, "{family} {form}");
                    continue;
                };
                for kid in [Some(victim.key_id()), None] {
                    let header = match kid {
                        Some(kid) => format!(r#"{{"alg":"{hs}","typ":"JWT","kid":"{kid}"}}"#),
                        None => format!(r#"{{"alg":"{hs}","typ":"JWT"}}"#),
                    };
                    let forged = compact(&header, &good_claims(), &hmac);
                    let shown_secret = String::from_utf8_lossy(secret);
                    expect_with(
                        &v,
                        &forged,
                        "algorithm_not_allowed",
                        &[shown_secret.as_ref()],
                    );
                    match jws::verify(&forged, &victim) {
                        Err(Error::AlgorithmNotAllowed(a)) => assert_eq!(a, hs),
                        other => panic!("{family} {form} {hs}: {other:?}"),
                    }
                    cases += 1;
                }
            }
        }
        // The victim's own tokens still pass: the rejection is about the
        // algorithm, not the key.
        let own = match family {
            "RSA" => &keys().rs256,
            "EC P-256" => &keys().es256,
            "EC P-384" => &keys().es384,
            _ => &keys().ed,
        };
        expect(
            &v,
            &compact(&default_header(own), &good_claims(), own),
            "ok",
        );
    }
    assert!(cases >= 100, "{cases}");
}

/// The same attack against a store that also holds a genuine HMAC key, so
/// HS256 is allowed: a lookup is by (`kid`, `alg`), and the victim key is
/// bound to its own algorithm (RFC 8725 §3.1), so naming its `kid` on an
/// HS256 token finds nothing: `unknown_key`. Naming the HMAC key's `kid`,
/// or no `kid` (the store's sole HS256 key), verifies against the real
/// HMAC secret: `invalid_signature`.
///
/// Construction: as above, the HMAC secret is the victim's SPKI PEM text.
#[test]
fn hmac_keyed_with_a_public_key_in_a_store_with_an_hmac_key_finds_no_key() {
    let k = keys();
    for (victim, pem) in [
        (&k.rs256, RSA_SPKI_PEM),
        (&k.es256, EC_P256_SPKI_PEM),
        (&k.es384, EC_P384_SPKI_PEM),
        (&k.ed, ED25519_SPKI_PEM),
    ] {
        let store = KeySetStore::new([victim.verifying_key(), k.hs256.verifying_key()]).unwrap();
        let v = validator_over(store).build().unwrap();
        let hmac = attacker_hmac_key(Algorithm::HS256, pem.as_bytes()).unwrap();
        let forged = |kid: Option<&str>| {
            let header = match kid {
                Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
                None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
            };
            compact(&header, &good_claims(), &hmac)
        };
        expect_with(&v, &forged(Some(victim.key_id())), "unknown_key", &[pem]);
        expect_with(&v, &forged(Some("hs256-1")), "invalid_signature", &[pem]);
        expect_with(&v, &forged(None), "invalid_signature", &[pem]);
        // Controls: both genuine keys verify their own tokens.
        expect(
            &v,
            &compact(&default_header(victim), &good_claims(), victim),
            "ok",
        );
        expect(
            &v,
            &compact(&default_header(&k.hs256), &good_claims(), &k.hs256),
            "ok",
        );
    }
}

/// The mistake behind CVE-2015-9235 and CVE-2016-10555 on the key side: an
/// application that configures its "HMAC secret" with a public key's PEM,
/// DER or JWK text, which anyone can download, so anyone can sign HS256
/// tokens that its own HMAC key accepts. `SigningKey::hmac` and
/// `VerifyingKey::hmac` refuse every form of a public key a validator
/// publishes that has a recognizable structure, with
/// `KeyError::PublicKeyAsHmacSecret` naming the mistake; the bare numbers
/// (an RSA modulus, an Ed25519 key, an x coordinate) look like any random
/// secret and cannot be told apart.
#[test]
fn public_keys_are_refused_as_hmac_secrets() {
    let mut refused = 0;
    for (family, _, forms) in public_key_forms() {
        for (form, secret) in &forms {
            let structured = !matches!(*form, "modulus bytes" | "x coordinate" | "raw public key");
            for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                if secret.len() < 64 && hs == Algorithm::HS512
                    || secret.len() < 48 && hs != Algorithm::HS256
                {
                    continue;
                }
                for (who, result) in [
                    ("SigningKey", SigningKey::hmac(hs, secret).map(|_| ())),
                    ("VerifyingKey", VerifyingKey::hmac(hs, secret).map(|_| ())),
                ] {
                    match (result, structured) {
                        (Err(Error::InvalidKey(KeyError::PublicKeyAsHmacSecret { .. })), true) => {
                            refused += 1;
                        }
                        (Ok(()), false) => {}
                        (other, _) => panic!("{who}::hmac({hs}, {family} {form}): {other:?}"),
                    }
                }
            }
        }
    }
    assert!(refused >= 100, "{refused}");
    let form = |secret: &[u8]| match SigningKey::hmac(Algorithm::HS256, secret) {
        Err(Error::InvalidKey(KeyError::PublicKeyAsHmacSecret { form })) => form,
        other => panic!("{other:?}"),
    };
    let jwks = SingleKeyStore::new(keys().es256.verifying_key())
        .jwks()
        .to_json();
    assert_eq!(form(RSA_SPKI_PEM.as_bytes()), "PEM document");
    assert_eq!(form(RSA_SPKI_DER), "DER SubjectPublicKeyInfo");
    assert_eq!(form(RSA_PKCS1_PUB_DER), "DER PKCS#1 RSAPublicKey");
    assert_eq!(form(EC_P256_CERT_DER), "DER X.509 certificate");
    assert_eq!(form(EC_P256_PUBLIC_JWK.as_bytes()), "JWK");
    assert_eq!(form(jwks.as_bytes()), "JWK Set");
    let err = SigningKey::hmac(Algorithm::HS256, RSA_SPKI_PEM.as_bytes()).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("public key") && shown.contains("HMAC secret"),
        "{shown}"
    );
    assert_eq!(err.kind().as_str(), "invalid_key");
    // The message names the mistake, not the key.
    assert!(!shown.contains("MII"), "{shown}");
}

/// The root cause of CVE-2016-10555 is an API where the token chooses how a
/// key is used. Here a public key cannot even be built as an HMAC key, or
/// be allowed for HS256 without an HMAC key in the store: each attempt is a
/// configuration error (`invalid_key`, `invalid_configuration`).
#[test]
fn public_keys_cannot_be_bound_to_an_hmac_algorithm() {
    for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        for pem in [
            RSA_SPKI_PEM,
            RSA_PKCS1_PUB_PEM,
            EC_P256_SPKI_PEM,
            EC_P384_SPKI_PEM,
            ED25519_SPKI_PEM,
        ] {
            expect_err(VerifyingKey::from_pem(hs, pem), "invalid_key", &[pem]);
            expect_err(
                VerifyingKey::from_spki_der(hs, &pem_der(pem)),
                "invalid_key",
                &[],
            );
        }
        for jwk in [
            RSA_PUBLIC_JWK,
            EC_P256_PUBLIC_JWK,
            EC_P384_PUBLIC_JWK,
            ED25519_PUBLIC_JWK,
        ] {
            expect_err(VerifyingKey::from_jwk(jwk, Some(hs)), "invalid_key", &[]);
            // A JWK that itself claims an HMAC algorithm.
            let mut claimed: serde_json::Value = serde_json::from_str(jwk).unwrap();
            claimed["alg"] = hs.as_str().into();
            let claimed = claimed.to_string();
            expect_err(VerifyingKey::from_jwk(&claimed, None), "invalid_key", &[]);
            // In a JWK Set, such a key is left out, never imported as a
            // secret; a set of nothing else has no usable key.
            let set = format!(r#"{{"keys":[{claimed}]}}"#);
            expect_err(KeySetStore::from_jwks(&set, None), "invalid_key", &[]);
        }
    }
    // An allow-list cannot name HS256 for a store of public keys.
    let err = validator_over(SingleKeyStore::new(keys().rs256.verifying_key()))
        .algorithms([Algorithm::RS256, Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "invalid_configuration");
}

// ---------------------------------------------------------------------------
// Secrets in public key sets
// ---------------------------------------------------------------------------

/// A JWK Set is a public document: an `oct` member in it is a secret anyone
/// can read. Imported, it would put an HMAC key in the validator's store
/// and HS256 in its default allow-list (the algorithms of the keys), so a
/// token signed with the published secret would validate.
///
/// Construction: the identity provider's set holds its EC key and, by
/// mistake, an HS256 `oct` member; the attacker signs an HS256 token with
/// that member's `k`, naming its `kid`, or none.
///
/// Expected: the `oct` member is skipped (and reported), the EC key is
/// imported, and the forged token is `algorithm_not_allowed`.
#[test]
fn hs256_forged_with_an_oct_member_of_a_public_jwk_set_is_refused() {
    let published = b"published-by-mistake-0123456789abcdef";
    let mut ec: serde_json::Value = serde_json::from_str(EC_P256_PUBLIC_JWK).unwrap();
    ec["kid"] = "es256-1".into();
    ec["alg"] = "ES256".into();
    let oct = serde_json::json!({
        "kty": "oct", "alg": "HS256", "kid": "hs-leaked", "k": b64_encode(published)
    });
    let set = serde_json::json!({ "keys": [ec, oct] }).to_string();
    let store = KeySetStore::from_jwks(&set, None).unwrap();
    assert_eq!(store.len(), 1, "{:?}", store.jwks());
    let skipped = store.skipped();
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (
            skipped[0].index,
            skipped[0].kid.as_deref(),
            &skipped[0].reason
        ),
        (1, Some("hs-leaked"), &SkipReason::SymmetricKey)
    );
    // The report says what happened without quoting the secret.
    assert!(!skipped[0].to_string().contains(&b64_encode(published)));
    let v = validator_over(store).build().unwrap();
    assert!(!v.algorithms().contains(Algorithm::HS256));

    let forger = attacker_hmac_key(Algorithm::HS256, published).unwrap();
    for header in [
        r#"{"alg":"HS256","typ":"JWT","kid":"hs-leaked"}"#,
        r#"{"alg":"HS256","typ":"JWT"}"#,
    ] {
        let forged = compact(header, &good_claims(), &forger);
        expect(&v, &forged, "algorithm_not_allowed");
    }
    // The EC key it published alongside still verifies its tokens.
    let genuine = &keys().es256;
    expect(
        &v,
        &compact(&default_header(genuine), &good_claims(), genuine),
        "ok",
    );
    // A private document from a trusted source may carry secrets, when the
    // caller says so: then the HMAC key is imported and verifies.
    let trusted =
        KeySetStore::from_jwks_with(&set, JwkSetOptions::new().danger_allow_symmetric_keys())
            .unwrap();
    assert_eq!(trusted.len(), 2);
    assert!(trusted.skipped().is_empty());
    let signer = attacker_hmac_key(Algorithm::HS256, published)
        .unwrap()
        .with_key_id("hs-leaked");
    let v = validator_over(trusted).build().unwrap();
    expect(
        &v,
        &compact(&default_header(&signer), &good_claims(), &signer),
        "ok",
    );
}

/// One JWK Set case of `tests/data/attacks/jwks.json`; see the data README.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwksCase {
    name: String,
    source: String,
    jwks: Option<serde_json::Value>,
    jwks_text: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
    skipped: Option<Vec<(usize, Option<String>, String)>>,
    keys_aws_lc_rs: Option<Vec<String>>,
    skipped_aws_lc_rs: Option<Vec<(usize, Option<String>, String)>>,
    error: Option<String>,
    forge_hs256_with: Option<String>,
}

/// Malicious and broken JWK Sets (`tests/data/attacks/jwks.json`): secrets
/// in a public set, and members that cannot be used (too small, off the
/// curve, malformed, unknown algorithm or key type, P-521 on ring, missing
/// members, contradicting `alg`, repeated `kid`). Each is left out and
/// reported with its index, `kid` and reason while the good members are
/// imported, by `VerifyingKey::from_jwk_set` and `KeySetStore::from_jwks`
/// alike; a set with nothing usable is `invalid_key`; and an HS256 token
/// signed with a published `oct` member is `algorithm_not_allowed`.
#[test]
fn data_jwks_unusable_members_are_skipped_and_reported() {
    let cases: Vec<JwksCase> =
        serde_json::from_str(include_str!("data/attacks/jwks.json")).unwrap();
    assert!(cases.len() >= 20);
    let mut names = HashSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        assert!(names.insert(case.name.as_str()), "duplicate {}", case.name);
        assert!(!case.source.trim().is_empty(), "{}: no source", case.name);
        let text = match (&case.jwks, &case.jwks_text) {
            (Some(v), None) => v.to_string(),
            (None, Some(t)) => t.clone(),
            _ => panic!("{}: give exactly one of jwks, jwks_text", case.name),
        };
        let aws = cfg!(feature = "aws-lc-rs");
        let want_keys = match &case.keys_aws_lc_rs {
            Some(k) if aws => k,
            _ => &case.keys,
        };
        let want_skipped = match &case.skipped_aws_lc_rs {
            Some(s) if aws => Some(s),
            _ => case.skipped.as_ref(),
        };
        let described =
            |skipped: &[tokengate::SkippedJwk]| -> Vec<(usize, Option<String>, String)> {
                skipped
                    .iter()
                    .map(|s| (s.index, s.kid.clone(), s.reason.as_str().to_owned()))
                    .collect()
            };
        let result = VerifyingKey::from_jwk_set(&text, None);
        let outcome = match (&case.error, result) {
            (Some(kind), Err(err)) if err.kind().as_str() == kind => {
                if let (Some(want), Error::InvalidKey(KeyError::NoUsableKey { skipped })) =
                    (want_skipped, &err)
                {
                    let got = described(skipped);
                    (got != *want).then(|| format!("skipped {got:?}, expected {want:?}"))
                } else {
                    None
                }
            }
            (Some(kind), other) => Some(format!("got {other:?}, expected {kind}")),
            (None, Err(err)) => Some(format!("the whole set failed: {err:?}")),
            (None, Ok(import)) => {
                let kids: Vec<&str> = import.keys.iter().map(|k| k.key_id()).collect();
                let got = described(&import.skipped);
                if kids != *want_keys {
                    Some(format!("keys {kids:?}, expected {want_keys:?}"))
                } else if want_skipped.is_some_and(|want| got != *want) {
                    Some(format!("skipped {got:?}, expected {want_skipped:?}"))
                } else {
                    None
                }
            }
        };
        if let Some(why) = outcome {
            failures.push(format!("jwks.json/{}: {why}", case.name));
            continue;
        }
        // The store agrees with the import, and reports the same members.
        match (KeySetStore::from_jwks(&text, None), &case.error) {
            (Ok(store), None) => {
                assert_eq!(store.len(), want_keys.len(), "{}", case.name);
                if let Some(want) = want_skipped {
                    assert_eq!(described(&store.skipped()), *want, "{}", case.name);
                }
                if let Some(k) = &case.forge_hs256_with {
                    let v = validator_over(store).build().unwrap();
                    let forger =
                        attacker_hmac_key(Algorithm::HS256, &b64_decode(k.as_bytes()).unwrap())
                            .unwrap();
                    for header in [
                        r#"{"alg":"HS256","typ":"JWT"}"#,
                        r#"{"alg":"HS256","typ":"JWT","kid":"hs-leaked"}"#,
                    ] {
                        expect(
                            &v,
                            &compact(header, &good_claims(), &forger),
                            "algorithm_not_allowed",
                        );
                    }
                }
            }
            (Err(err), Some(kind)) => assert_eq!(err.kind().as_str(), kind, "{}", case.name),
            (other, _) => panic!("{}: store {other:?}", case.name),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Allow-list checked against one algorithm, verified with another
// ---------------------------------------------------------------------------

/// RFC 8725 §3.1: the allow-list is checked against the token's `alg`, and
/// the token is then verified with a key of exactly that algorithm. A
/// validator restricted to ES256 over a store of ES256 and RS256 keys
/// refuses an RS256 token (`algorithm_not_allowed`) although its signature
/// is genuine, while a validator without the restriction accepts it.
#[test]
fn allow_list_restricted_to_es256_refuses_genuine_rs256_tokens() {
    let k = keys();
    let store = || KeySetStore::new([k.es256.verifying_key(), k.rs256.verifying_key()]).unwrap();
    let restricted = validator_over(store())
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let open = validator_over(store()).build().unwrap();
    assert!(!restricted.algorithms().contains(Algorithm::RS256));

    let rs = compact(&default_header(&k.rs256), &good_claims(), &k.rs256);
    expect(&restricted, &rs, "algorithm_not_allowed");
    expect(&open, &rs, "ok");
    let rs_no_kid = compact(r#"{"alg":"RS256","typ":"JWT"}"#, &good_claims(), &k.rs256);
    expect(&restricted, &rs_no_kid, "algorithm_not_allowed");

    // The header claims ES256 (allowed) but names the RSA key and carries
    // an RSA signature: the lookup by (kid, ES256) finds no key.
    let header = r#"{"alg":"ES256","typ":"JWT","kid":"rs256-1"}"#;
    expect(
        &restricted,
        &compact(header, &good_claims(), &k.rs256),
        "unknown_key",
    );
    // ES256 with the ES256 key's kid and an RSA signature: the ES256 key
    // verifies it and refuses.
    let header = r#"{"alg":"ES256","typ":"JWT","kid":"es256-1"}"#;
    expect(
        &restricted,
        &compact(header, &good_claims(), &k.rs256),
        "invalid_signature",
    );

    // Same RSA private key, other padding: PS256 is not RS256 (one key, one
    // algorithm), and not in the store.
    let ps = SigningKey::from_pem(Algorithm::PS256, RSA_PKCS8)
        .unwrap()
        .with_key_id("rs256-1");
    let ps_token = compact(&default_header(&ps), &good_claims(), &ps);
    expect(&restricted, &ps_token, "algorithm_not_allowed");
    expect(&open, &ps_token, "algorithm_not_allowed");
    // An ES384 token: allowed by no one here.
    let es384 = compact(&default_header(&k.es384), &good_claims(), &k.es384);
    expect(&restricted, &es384, "algorithm_not_allowed");

    // Control: the allowed algorithm passes.
    expect(
        &restricted,
        &compact(&default_header(&k.es256), &good_claims(), &k.es256),
        "ok",
    );
}

// ---------------------------------------------------------------------------
// Header-supplied trust: jwk (CVE-2018-0114), jku, x5u, x5c
// ---------------------------------------------------------------------------

/// CVE-2018-0114 (node-jose and Cisco: a key embedded in the header's
/// `jwk` was used to verify the token), and the `jku` / `x5u` / `x5c`
/// variants (RFC 8725 §2.9 and §3.10). The key always comes from the store.
///
/// Construction: a fresh attacker key pair (Ed25519, ES256, and an HMAC
/// secret sent as an `oct` JWK) signs a token whose header carries the
/// attacker's public key or a URL to it. With the store key's `kid` (or no
/// `kid`, the store's sole key of that algorithm) the store key refuses the
/// signature: `invalid_signature`. With the attacker's own `kid`:
/// `unknown_key`.
#[test]
fn keys_and_key_urls_in_the_header_are_never_trusted() {
    let k = keys();
    let v = default_validator();
    let payload = good_claims();
    const ATTACKER_SECRET: &[u8] = b"attacker-chosen-hmac-secret-0123456789";
    for (victim, attacker) in [
        (&k.ed, SigningKey::generate(Algorithm::EdDSA).unwrap()),
        (&k.es256, SigningKey::generate(Algorithm::ES256).unwrap()),
        (
            &k.hs256,
            SigningKey::hmac(Algorithm::HS256, ATTACKER_SECRET).unwrap(),
        ),
    ] {
        let alg = victim.algorithm();
        let attacker_jwk = match attacker.verifying_key().to_jwk() {
            Some(jwk) => jwk.to_json(),
            // An HMAC key has no public JWK: the attacker writes the `oct`
            // JWK of its own secret by hand.
            None => format!(r#"{{"kty":"oct","k":"{}"}}"#, b64_encode(ATTACKER_SECRET)),
        };
        let victim_jwk = victim
            .verifying_key()
            .to_jwk()
            .map(|j| j.to_json())
            .unwrap_or_else(|| r#"{"kty":"oct","k":"AAAA"}"#.to_owned());
        let vk = victim.key_id();
        let ak = attacker.key_id().to_owned();
        let signed_by_attacker = [
            (
                format!(r#"{{"alg":"{alg}","kid":"{vk}","jwk":{attacker_jwk}}}"#),
                "invalid_signature",
            ),
            (
                format!(r#"{{"alg":"{alg}","jwk":{attacker_jwk}}}"#),
                "invalid_signature",
            ),
            (
                format!(r#"{{"alg":"{alg}","kid":"{ak}","jwk":{attacker_jwk}}}"#),
                "unknown_key",
            ),
            // The victim's genuine public key embedded, the attacker's
            // signature: an embedded key proves nothing.
            (
                format!(r#"{{"alg":"{alg}","kid":"{vk}","jwk":{victim_jwk}}}"#),
                "invalid_signature",
            ),
            (
                format!(
                    r#"{{"alg":"{alg}","kid":"{vk}","jku":"https://attacker.example/jwks.json"}}"#
                ),
                "invalid_signature",
            ),
            (
                format!(
                    r#"{{"alg":"{alg}","kid":"{ak}","jku":"https://attacker.example/jwks.json"}}"#
                ),
                "unknown_key",
            ),
            (
                format!(
                    r#"{{"alg":"{alg}","kid":"{vk}","x5u":"https://attacker.example/cert.pem"}}"#
                ),
                "invalid_signature",
            ),
            (
                format!(r#"{{"alg":"{alg}","kid":"{vk}","x5c":["MIIBszCCAVmgAwIBAgIUattacker"]}}"#),
                "invalid_signature",
            ),
            (
                format!(
                    r#"{{"alg":"{alg}","jku":"http://169.254.169.254/latest/meta-data/","x5u":"file:///etc/passwd"}}"#
                ),
                "invalid_signature",
            ),
        ];
        for (header, kind) in &signed_by_attacker {
            expect(&v, &compact(header, &payload, &attacker), kind);
        }
        // A genuine token carrying junk trust parameters still validates:
        // they are ignored, not errors.
        let junk = format!(
            r#"{{"alg":"{alg}","typ":"JWT","kid":"{vk}","jku":"https://attacker.example/jwks.json","x5u":42,"x5c":["@@@"],"x5t":null,"x5t#S256":{{}},"jwk":{attacker_jwk}}}"#
        );
        expect(&v, &compact(&junk, &payload, victim), "ok");
    }
}

// ---------------------------------------------------------------------------
// Broken signature math built from genuine signatures
// ---------------------------------------------------------------------------

/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` in DER.
fn ecdsa_der(fixed: &[u8]) -> Vec<u8> {
    fn integer(x: &[u8]) -> Vec<u8> {
        let start = x.iter().position(|b| *b != 0).unwrap_or(x.len() - 1);
        let x = &x[start..];
        let pad = x[0] & 0x80 != 0;
        let mut out = vec![0x02, (x.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(x);
        out
    }
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let body = [integer(r), integer(s)].concat();
    assert!(body.len() < 128);
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// RFC 7518 §3.4: JWS ECDSA signatures are the fixed-size `R || S`. A
/// genuine signature re-encoded in DER (what most crypto libraries emit
/// and Java's CVE-2022-21449 parser took) must not verify.
///
/// Construction: sign with the fixture ES256 / ES384 key, split the
/// signature into `r` and `s`, encode both as a DER SEQUENCE of INTEGERs.
#[test]
fn der_encoded_ecdsa_signatures_are_invalid() {
    let v = default_validator();
    for key in [&keys().es256, &keys().es384] {
        let token = compact(&default_header(key), &good_claims(), key);
        expect(&v, &token, "ok");
        let der = ecdsa_der(&signature_of(&token));
        expect(&v, &with_signature(&token, &der), "invalid_signature");
        // DER padded with zeros to the fixed length.
        let mut padded = der.clone();
        padded.resize(signature_of(&token).len(), 0);
        expect(&v, &with_signature(&token, &padded), "invalid_signature");
    }
}

/// ECDSA signatures are malleable: if `(r, s)` verifies, so does
/// `(r, n - s)` (SEC 1 §4.1.4 accepts any `s` in `[1, n-1]`; RFC 7518 does
/// not require low-S). That is not a forgery (the claims are the signer's),
/// but it means a token's string is not a unique identifier: anything keyed
/// on the token text (a replay cache, a revocation by token hash) can be
/// dodged by the twin. This crate revokes by `jti`, which both share.
///
/// Construction: the fixture ES256 key signs a token with a fixed `jti`;
/// `n - s` is computed over the 32-byte big-endian `s`.
#[test]
fn ecdsa_high_s_twin_verifies_and_is_revoked_by_jti_like_the_original() {
    const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    let key = &keys().es256;
    let list = Arc::new(RevocationList::new());
    let v = validator_over(keys().store())
        .revocation(list.clone())
        .build()
        .unwrap();
    let claims = format!(
        r#"{{"iss":"{ISS}","sub":"user-1","aud":"{AUD}","exp":{},"jti":"high-s-1"}}"#,
        NOW + 600
    );
    let token = compact(&default_header(key), &claims, key);
    let sig = signature_of(&token);
    let n = hex(P256_N);
    let mut twin_s = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        twin_s[i] = (d + 256 * borrow) as u8;
    }
    assert_eq!(borrow, 0);
    let twin = with_signature(&token, &[&sig[..32], &twin_s[..]].concat());
    assert_ne!(twin, token);
    expect(&v, &token, "ok");
    expect(&v, &twin, "ok");
    list.revoke_token(
        "high-s-1",
        tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 600).unwrap(),
    )
    .unwrap();
    expect(&v, &token, "revoked");
    expect(&v, &twin, "revoked");
}

/// RFC 7518 §3.2: the HMAC is the full hash output. Truncated tags (the
/// old "compare the first n bytes" bug), extended tags and tags with one
/// bit changed are `invalid_signature`.
///
/// Construction: the genuine HS256 tag of the fixture key, cut, extended
/// or changed.
#[test]
fn truncated_and_extended_hmac_tags_are_invalid() {
    let v = default_validator();
    let key = &keys().hs256;
    let token = compact(&default_header(key), &good_claims(), key);
    expect(&v, &token, "ok");
    let tag = signature_of(&token);
    assert_eq!(tag.len(), 32);
    let mut flipped_last = tag.clone();
    flipped_last[31] ^= 1;
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("first octet", tag[..1].to_vec()),
        ("first 16 octets", tag[..16].to_vec()),
        ("first 31 octets", tag[..31].to_vec()),
        ("tag and a zero", [&tag[..], &[0]].concat()),
        ("tag twice", [&tag[..], &tag[..]].concat()),
        ("tag and 32 zeros", [&tag[..], &[0; 32]].concat()),
        ("last bit changed", flipped_last),
    ];
    for (what, sig) in variants {
        let forged = with_signature(&token, &sig);
        if let Err(why) = check(&v, &forged, "invalid_signature", &[]) {
            panic!("{what}: {why}");
        }
    }
}

/// RFC 8032 §5.1.7: `S` must be below the group order `L`. `S + L` is the
/// classic Ed25519 malleability (accepted by libraries that skip the
/// check); it must be `invalid_signature`.
///
/// Construction: the fixture Ed25519 key signs; `L` is added to the
/// little-endian `S` half of the signature.
#[test]
fn ed25519_signature_with_s_plus_l_is_invalid() {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let v = default_validator();
    let key = &keys().ed;
    let token = compact(&default_header(key), &good_claims(), key);
    expect(&v, &token, "ok");
    let mut sig = signature_of(&token);
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    expect(&v, &with_signature(&token, &sig), "invalid_signature");
}

/// Signatures that are genuine, just not for this token or this
/// algorithm: a PSS signature by the RS256 key's private key under an
/// RS256 header, and a signature transplanted from another genuine token
/// of the same key (RFC 7515 §5.2: the signature covers the exact signing
/// input).
#[test]
fn genuine_signatures_of_something_else_are_invalid() {
    let v = default_validator();
    let k = keys();
    let pss = SigningKey::from_pem(Algorithm::PS256, RSA_PKCS8).unwrap();
    let header = default_header(&k.rs256);
    let pss_token = compact(&header, &good_claims(), &pss);
    expect(&v, &pss_token, "invalid_signature");
    for key in [&k.ed, &k.es256, &k.rs256, &k.hs256] {
        let a = compact(&default_header(key), &good_claims(), key);
        let other_claims = good_claims().replace("user-1", "admin");
        let b = compact(&default_header(key), &other_claims, key);
        expect(&v, &b, "ok");
        expect(
            &v,
            &with_signature(&b, &signature_of(&a)),
            "invalid_signature",
        );
    }
}

// ---------------------------------------------------------------------------
// Error confusion
// ---------------------------------------------------------------------------

/// A token that is both expired and badly signed reports
/// `invalid_signature`, and the error carries no claim from it (no `exp`,
/// no `now`): nothing in an unverified payload is read (RFC 8725 §3.3:
/// validate all cryptographic operations first). The same for a token
/// whose claims are wrong in every other way, or not JSON at all.
///
/// Construction: a fresh Ed25519 key with the store key's `kid` signs.
#[test]
fn expired_and_badly_signed_reports_the_signature_and_no_claims() {
    let v = default_validator();
    let forger = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("ed-1");
    let expired_at = NOW - 3_600;
    let payloads = [
        format!(r#"{{"iss":"{ISS}","sub":"user-1","aud":"{AUD}","exp":{expired_at}}}"#),
        format!(
            r#"{{"iss":"https://evil.example","sub":"user-1","aud":"https://other.example","exp":{expired_at},"nbf":{}}}"#,
            NOW + 86_400
        ),
        r#"{"iss":7,"exp":"never","aud":{"x":1}}"#.to_owned(),
        r#"{"exp":1,"exp":2}"#.to_owned(),
        "not json at all".to_owned(),
        "[[[[[[[[[[".to_owned(),
    ];
    for payload in &payloads {
        let forged = compact(&default_header(&keys().ed), payload, &forger);
        let err = v.validate(&forged).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature), "{payload}: {err:?}");
        assert_eq!(err.to_string(), "invalid signature");
        assert!(!err.to_string().contains(&expired_at.to_string()));
        no_leak(&err, &forged, &[]).unwrap();
    }
    // Expired and from an unknown key, expired and `none`, expired with
    // `crit`: each reports its own header-level failure, never `expired`.
    let expired = &payloads[0];
    let stranger = SigningKey::generate(Algorithm::EdDSA).unwrap();
    expect(
        &v,
        &compact(&default_header(&stranger), expired, &stranger),
        "unknown_key",
    );
    let none = format!(
        "{}.{}.",
        b64_encode(r#"{"alg":"none","kid":"ed-1"}"#),
        b64_encode(expired)
    );
    expect(&v, &none, "unsupported_algorithm");
    let crit = r#"{"alg":"EdDSA","kid":"ed-1","crit":["exp"],"exp":1}"#;
    expect(
        &v,
        &compact(crit, expired, &keys().ed),
        "unsupported_critical_header",
    );
    // Control: signed by the store key, the expiry is what is reported,
    // with its instant.
    let genuine = compact(&default_header(&keys().ed), expired, &keys().ed);
    match v.validate(&genuine) {
        Err(Error::Expired { exp, now }) => assert_eq!((exp, now), (expired_at, NOW)),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Size and shape that cannot be static data
// ---------------------------------------------------------------------------

/// RFC 8725 §3 and DESIGN principle 3: a token over the size limit is
/// refused before anything is decoded, whatever it contains.
#[test]
fn over_long_tokens_are_token_too_large() {
    let v = default_validator();
    for token in [
        "A".repeat(8 * 1024 + 1),
        "!".repeat(64 * 1024),
        ".".repeat(100_000),
        format!(
            "{}.{}.{}",
            b64_encode(r#"{"alg":"none"}"#),
            "e".repeat(8 * 1024),
            ""
        ),
    ] {
        expect(&v, &token, "token_too_large");
    }
    // A genuine token pushed over the limit by a large claim.
    let key = &keys().ed;
    let big = good_claims().replace("}", &format!(r#","pad":"{}"}}"#, "x".repeat(7_000)));
    let token = compact(&default_header(key), &big, key);
    assert!(token.len() > 8 * 1024);
    expect(&v, &token, "token_too_large");
    let err = v.validate(&token).unwrap_err();
    assert!(matches!(err, Error::TokenTooLarge { len, limit: 8192 } if len == token.len()));
    // With a raised limit the same token is fine, and one byte over that
    // limit is not.
    let roomy = validator_over(keys().store())
        .max_token_size(token.len())
        .build()
        .unwrap();
    expect(&roomy, &token, "ok");
    let tight = validator_over(keys().store())
        .max_token_size(token.len() - 1)
        .build()
        .unwrap();
    expect(&tight, &token, "token_too_large");
}

/// Long headers and payloads within the size limit are not shape errors:
/// the limit is on the token, and buffers grow past their stack size.
#[test]
fn long_header_and_payload_within_the_limit_are_accepted() {
    let v = default_validator();
    let key = &keys().ed;
    let long_header = format!(
        r#"{{"alg":"EdDSA","kid":"ed-1","typ":"JWT","x-note":"{}"}}"#,
        "h".repeat(5_000)
    );
    expect(&v, &compact(&long_header, &good_claims(), key), "ok");
    let long_payload = good_claims().replace("}", &format!(r#","note":"{}"}}"#, "p".repeat(5_000)));
    expect(&v, &compact(&default_header(key), &long_payload, key), "ok");
    let both_header = format!(
        r#"{{"alg":"EdDSA","kid":"ed-1","x-note":"{}"}}"#,
        "h".repeat(2_500)
    );
    let both_payload = good_claims().replace("}", &format!(r#","note":"{}"}}"#, "p".repeat(2_500)));
    let token = compact(&both_header, &both_payload, key);
    assert!(token.len() < 8 * 1024);
    expect(&v, &token, "ok");
}

/// RFC 7515 §7.1: exactly two dots. Thousands of them are `malformed`
/// (within the limit) and cost one pass over the string.
#[test]
fn many_dots_are_malformed() {
    let v = default_validator();
    for token in [
        ".".repeat(8_000),
        "a.".repeat(4_000),
        format!(
            "{}.",
            compact(&default_header(&keys().ed), &good_claims(), &keys().ed)
        ),
    ] {
        expect(&v, &token, "malformed");
    }
    let huge = validator_over(keys().store())
        .max_token_size(1024 * 1024)
        .build()
        .unwrap();
    expect(&huge, &"a.".repeat(500_000), "malformed");
}

/// Nesting `depth` arrays or objects, balanced or not.
fn nested(depth: usize) -> [String; 3] {
    [
        "[".repeat(depth),
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)),
    ]
}

/// Claims whose custom member `deep` is a JSON value of any shape.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct DeepClaims {
    deep: serde_json::Value,
}

/// Deeply nested JSON (10,000 levels, RFC 8259 §9 lets parsers limit
/// nesting) never overflows the stack: unclosed nesting anywhere, and
/// nesting where a registered claim or the application's claims type reads
/// it, are `malformed`; in a forged token the header is walked and the
/// signature then fails.
///
/// Construction: the fixture Ed25519 key (or a forger's key with its `kid`)
/// signs payloads and headers holding 10,000 `[` (unclosed and balanced)
/// or 10,000 nested objects; a validator with a 1 MiB limit lets them
/// through the size check.
#[test]
fn deeply_nested_json_never_overflows_the_stack() {
    let key = &keys().ed;
    let forger = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("ed-1");
    let v = validator_over(keys().store())
        .max_token_size(1024 * 1024)
        .build()
        .unwrap();
    let [unclosed, arrays, objects] = nested(10_000);
    for deep in [&unclosed, &arrays, &objects] {
        let as_aud = format!(r#"{{"iss":"{ISS}","aud":{deep},"exp":{}}}"#, NOW + 600);
        expect(
            &v,
            &compact(&default_header(key), &as_aud, key),
            "malformed",
        );
        let header = format!(r#"{{"alg":"EdDSA","kid":"ed-1","x":{deep}}}"#);
        let forged = compact(&header, &good_claims(), &forger);
        // Nesting past 128 levels is malformed even in a member nobody
        // reads, and the header is read before the signature.
        expect(&v, &forged, "malformed");
        let as_custom = good_claims().replace("}", &format!(r#","deep":{deep}}}"#));
        let token = compact(&default_header(key), &as_custom, key);
        match v.validate_with::<DeepClaims>(&token, None) {
            Err(e) => assert_eq!(e.kind().as_str(), "malformed", "{e:?}"),
            Ok(_) => panic!("a 10,000-level value was deserialized"),
        }
    }
    for token in [
        compact(&default_header(key), &unclosed, key),
        compact(&default_header(key), &arrays, key),
        compact(
            &default_header(key),
            &good_claims().replace("}", &format!(r#","deep":{unclosed}}}"#)),
            key,
        ),
        compact(
            &format!(r#"{{"alg":"EdDSA","kid":"ed-1","x":{unclosed}}}"#),
            &good_claims(),
            key,
        ),
    ] {
        expect(&v, &token, "malformed");
    }
}

/// The depth limit holds for every member, read or skipped: a 129- or
/// 10,000-level value in a header member or in a claim that nothing reads
/// is `malformed`. Skipping such members through serde's `IgnoredAny`
/// alone would have no depth limit, so an unauthenticated header would be
/// walked to any depth before the signature is checked, and acceptance
/// would depend on the application's claims type.
#[test]
fn deeply_nested_values_in_skipped_members_are_malformed() {
    let key = &keys().ed;
    let v = validator_over(keys().store())
        .max_token_size(1024 * 1024)
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for depth in [129, 10_000] {
        let [_, arrays, objects] = nested(depth);
        for deep in [&arrays, &objects] {
            let as_custom = good_claims().replace("}", &format!(r#","deep":{deep}}}"#));
            let header = format!(r#"{{"alg":"EdDSA","kid":"ed-1","x":{deep}}}"#);
            for (what, token) in [
                (
                    "custom claim",
                    compact(&default_header(key), &as_custom, key),
                ),
                ("header member", compact(&header, &good_claims(), key)),
            ] {
                if let Err(why) = check(&v, &token, "malformed", &[]) {
                    failures.push(format!("depth {depth}, {what}, {:.6}…: {why:.60}", deep));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// DESIGN principle 3: "size limits, segment count, base64url alphabet and
/// an API key's checksum are checked before any key lookup, JSON parse or
/// crypto, so garbage costs nanoseconds, not a signature verification".
/// Every segment, the payload included, is decoded before the key lookup
/// (the payload is decoded, not parsed: its JSON is read only after the
/// signature verifies), so garbage in any segment is `malformed` at the
/// cost of a decode, never of a lookup or a verification.
///
/// Construction: a genuine token whose payload segment is then broken
/// (whitespace, padding, standard alphabet, non-canonical trailing bits,
/// a character outside any alphabet), so its signature no longer matches.
#[test]
fn garbage_in_the_payload_segment_is_malformed_before_key_lookup_and_crypto() {
    let v = default_validator();
    let key = &keys().ed;
    let token = compact(&default_header(key), &good_claims(), key);
    let (h, p, s) = parts(&token);
    let mid = p.len() / 2;
    let mut trailing = p.as_bytes().to_vec();
    let last = trailing.last_mut().unwrap();
    *last = URL_ALPHABET[URL_ALPHABET.iter().position(|c| c == last).unwrap() + 1];
    let broken_payloads = [
        ("a space inside", format!("{} {}", &p[..mid], &p[mid..])),
        ("padding", format!("{p}==")),
        (
            "a standard-alphabet +",
            format!("{}+{}", &p[..mid], &p[mid + 1..]),
        ),
        (
            "non-canonical trailing bits",
            String::from_utf8(trailing).unwrap(),
        ),
        ("a ! inside", format!("{}!{}", &p[..mid], &p[mid + 1..])),
        ("only !!!!", "!!!!".to_owned()),
    ];
    let unknown_kid = b64_encode(r#"{"alg":"EdDSA","kid":"nobody"}"#);
    let mut failures = Vec::new();
    for (what, bad) in &broken_payloads {
        for (kid, header) in [("store kid", h), ("unknown kid", unknown_kid.as_str())] {
            let forged = format!("{header}.{bad}.{s}");
            if let Err(why) = check(&v, &forged, "malformed", &[]) {
                failures.push(format!("payload with {what}, {kid}: {why}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// kid abuse that cannot be static data
// ---------------------------------------------------------------------------

/// RFC 8725 §3.10: a 4 KiB `kid` (and a 64 KiB one under a raised limit)
/// is an ordinary unknown key: no panic, no special path.
#[test]
fn huge_kids_are_unknown_key() {
    let key = &keys().ed;
    let v = default_validator();
    for kid in [
        "k".repeat(4 * 1024),
        format!("ed-1{}", "\\u0000".repeat(700)),
        format!("{}ed-1", "../".repeat(1_300)),
    ] {
        let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#);
        expect(&v, &compact(&header, &good_claims(), key), "unknown_key");
    }
    let roomy = validator_over(keys().store())
        .max_token_size(1024 * 1024)
        .build()
        .unwrap();
    let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, "k".repeat(64 * 1024));
    expect(
        &roomy,
        &compact(&header, &good_claims(), key),
        "unknown_key",
    );
}

// ---------------------------------------------------------------------------
// Cross-token confusion (RFC 8725 §2.8, §3.11, §3.12)
// ---------------------------------------------------------------------------

/// RFC 8725 §3.11 and §3.12, RFC 9068 §4: an OpenID Connect ID token from
/// the same issuer and key (header `typ` `JWT`, no `client_id`) must not
/// pass a validator configured with `access_token_profile()`.
///
/// Expected: `missing_claim` (`client_id`) for a plain ID token, because
/// required claims are checked before `typ` (the validator's documented
/// order); `invalid_type` for an ID token that happens to carry every
/// RFC 9068 claim but keeps `typ` `JWT` or has no `typ`.
#[test]
fn id_tokens_do_not_pass_the_access_token_profile() {
    let key = &keys().ed;
    let v = validator_over(keys().store())
        .access_token_profile()
        .build()
        .unwrap();
    let tokens = TokenBuilder::new()
        .issuer(ISS)
        .subject("user-1")
        .audience(AUD)
        .clock(clock());
    let id_token = tokens.sign(key).unwrap();
    let err = v.validate(&id_token).unwrap_err();
    assert!(
        matches!(&err, Error::MissingClaim(c) if c == "client_id"),
        "{err:?}"
    );
    expect(&v, &id_token, "missing_claim");

    let with_client = tokens.clone().client_id("app-1").sign(key).unwrap();
    expect(&v, &with_client, "invalid_type");
    let with_client_builder = tokens.clone().client_id("app-1");
    let claims = with_client_builder.claims().unwrap();
    let untyped = compact(
        r#"{"alg":"EdDSA","kid":"ed-1"}"#,
        &serde_json::to_string(&claims).unwrap(),
        key,
    );
    expect(&v, &untyped, "invalid_type");
    // Control: an RFC 9068 access token.
    let access = tokens.access_token().client_id("app-1").sign(key).unwrap();
    expect(&v, &access, "ok");
}

/// Fixtures for the API key and refresh token attacks.
struct Credentials {
    clock: Arc<FixedClock>,
    api_store: Arc<InMemoryApiKeyStore>,
    api_issuer: ApiKeyIssuer,
    api_keys: ApiKeyVerifier,
    refresh: RefreshTokens,
    validator: Validator,
}

fn credentials() -> Credentials {
    let clock = clock();
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let api_store = Arc::new(InMemoryApiKeyStore::new());
    let api_issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    let api_keys = ApiKeyVerifier::new(format, api_store.clone()).with_clock(clock.clone());
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::ES256).unwrap(),
        clock.clone(),
    ));
    let list = Arc::new(RevocationList::new());
    let refresh = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        ring.clone(),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .revocation(list.clone())
    .reuse_grace(tokengate::time::Duration::ZERO)
    .clock(clock.clone())
    .build()
    .unwrap();
    let validator = Validator::builder(ring)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .revocation(list)
        .clock(clock.clone())
        .build()
        .unwrap();
    Credentials {
        clock,
        api_store,
        api_issuer,
        api_keys,
        refresh,
        validator,
    }
}

/// RFC 8725 §2.8 (cross-JWT confusion), generalised to every credential
/// this crate issues: each one is refused by the verifiers of the others,
/// as `malformed` (wrong shape or format, before any store lookup).
#[test]
fn credentials_are_refused_by_the_verifiers_of_other_kinds() {
    let c = credentials();
    let api_key = c
        .api_issuer
        .issue_into(&*c.api_store, NewApiKey::new("svc"))
        .unwrap();
    let api_key = api_key.expose_secret().to_owned();
    let pair = c.refresh.login(Grant::new("alice")).unwrap();
    let refresh_token = pair.refresh_token.expose_secret().to_owned();
    let access_token = pair.access_token.clone();
    c.validator.validate(&access_token).unwrap();

    // An API key or a refresh token given to Validator::validate.
    for other in [&api_key, &refresh_token] {
        expect(&c.validator, other, "malformed");
        expect(&default_validator(), other, "malformed");
    }
    // A JWT or a refresh token given to the API key verifier.
    expect_err(
        c.api_keys.verify(&access_token),
        "malformed",
        &[&access_token],
    );
    expect_err(
        c.api_keys.verify(&refresh_token),
        "malformed",
        &[&refresh_token],
    );
    // A JWT or an API key given to the refresh endpoint.
    expect_err(
        c.refresh.refresh(&access_token, None),
        "malformed",
        &[&access_token],
    );
    expect_err(c.refresh.refresh(&api_key, None), "malformed", &[&api_key]);
    // Through the Authorization front door, a refresh token is not a
    // bearer credential for the API.
    let door = Authenticator::builder()
        .access_tokens(c.validator.clone())
        .api_keys(c.api_keys.clone())
        .build()
        .unwrap();
    let err = door
        .authenticate(Some(&format!("Bearer {refresh_token}")))
        .unwrap_err();
    assert_eq!(err.bearer_error(), BearerError::InvalidToken);
    assert_eq!(err.cause().unwrap().kind().as_str(), "malformed");
    assert!(!err.to_string().contains(&refresh_token));
    // Controls: each credential works where it belongs.
    assert!(
        door.authenticate(Some(&format!("Bearer {api_key}")))
            .is_ok()
    );
    assert!(
        door.authenticate(Some(&format!("Bearer {access_token}")))
            .is_ok()
    );
    assert!(c.refresh.refresh(&refresh_token, None).is_ok());
}

/// RFC 7519 §4.1.3 and RFC 8725 §3.9: a token for audience A is refused
/// at audience B, and a token from issuer A at a validator for issuer B,
/// even when both trust the same keys.
#[test]
fn tokens_for_another_audience_or_issuer_are_refused() {
    let key = &keys().ed;
    let for_a = TokenBuilder::new()
        .issuer(ISS)
        .subject("user-1")
        .audience("https://a.example.com")
        .clock(clock())
        .sign(key)
        .unwrap();
    let at_b = Validator::builder(keys().store())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience("https://b.example.com")
        .clock(clock())
        .build()
        .unwrap();
    let at_a = Validator::builder(keys().store())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience("https://a.example.com")
        .clock(clock())
        .build()
        .unwrap();
    expect(&at_b, &for_a, "invalid_audience");
    expect(&at_a, &for_a, "ok");
    let other_issuer = Validator::builder(keys().store())
        .danger_accept_any_type()
        .issuer("https://other-auth.example.com")
        .audience("https://a.example.com")
        .clock(clock())
        .build()
        .unwrap();
    expect(&other_issuer, &for_a, "invalid_issuer");
    // A validator that expects no audience refuses a token that names one.
    let nobody = Validator::builder(keys().store())
        .danger_accept_any_type()
        .issuer(ISS)
        .expect_no_audience()
        .clock(clock())
        .build()
        .unwrap();
    expect(&nobody, &for_a, "invalid_audience");
    // Required claims are enums: `Claim::Audience` cannot be misspelled.
    let strict = Validator::builder(keys().store())
        .danger_accept_any_type()
        .danger_accept_any_issuer()
        .expect_no_audience()
        .require(Claim::JwtId)
        .clock(clock())
        .build()
        .unwrap();
    let no_jti = TokenBuilder::new()
        .issuer(ISS)
        .without_jwt_id()
        .clock(clock())
        .sign(key)
        .unwrap();
    expect(&strict, &no_jti, "missing_claim");
}

// ---------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------

/// Every single-character change of a real API key (every position, to
/// every base62 character, `_`, `-`, a space, NUL and a two-byte `é`) is
/// `malformed`: caught by length, lead, alphabet or CRC32 checksum before
/// any store lookup, never `unknown_key` or `invalid_secret`. So are a
/// wrong prefix or environment tag, and truncated or extended keys.
#[test]
fn api_key_single_character_changes_and_wrong_shapes_are_malformed() {
    let c = credentials();
    let key = c
        .api_issuer
        .issue_into(&*c.api_store, NewApiKey::new("svc"))
        .unwrap();
    let real = key.expose_secret().to_owned();
    let secret_part = real["acme_live_".len() + 12..real.len() - 6].to_owned();
    assert!(c.api_keys.verify(&real).is_ok());
    let mut replacements: Vec<char> = BASE62.iter().map(|b| char::from(*b)).collect();
    replacements.extend(['_', '-', ' ', '\0', 'é']);
    let mut changed = 0;
    for i in 0..real.len() {
        for &r in &replacements {
            let mut chars: Vec<char> = real.chars().collect();
            if chars[i] == r {
                continue;
            }
            chars[i] = r;
            let variant: String = chars.into_iter().collect();
            expect_err(
                c.api_keys.verify(&variant),
                "malformed",
                &[&variant, &secret_part],
            );
            changed += 1;
        }
    }
    assert!(changed > 3_500, "{changed}");

    // Another environment's key, even with a record in the same store: the
    // lead is checked before the lookup.
    let test_format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("test")
        .unwrap();
    let test_key = ApiKeyIssuer::new(test_format)
        .with_clock(c.clock.clone())
        .issue_into(&*c.api_store, NewApiKey::new("svc"))
        .unwrap();
    let test_key = test_key.expose_secret().to_owned();
    let swapped_lead = real.replacen("acme_", "acmf_", 1);
    let no_env = real.replacen("acme_live_", "acme_", 1);
    let upper = real.replacen("acme_live_", "ACME_LIVE_", 1);
    let variants = [
        test_key.clone(),
        swapped_lead,
        no_env,
        upper,
        real[..real.len() - 1].to_owned(),
        real[1..].to_owned(),
        format!("{real}0"),
        format!("{real}\n"),
        format!(" {real}"),
        format!("{real}{real}"),
        String::new(),
        "acme_live_".to_owned(),
    ];
    for variant in &variants {
        expect_err(
            c.api_keys.verify(variant),
            "malformed",
            &[variant, &secret_part],
        );
    }
}

/// The checksum is public arithmetic, not a secret: an attacker can make a
/// well-formed key for a real id with a guessed secret. The store's digest
/// decides: `invalid_secret`. A well-formed key for an id nobody holds is
/// `unknown_credential`; a real id with another real key's secret is
/// `invalid_secret`.
///
/// Construction: `lead + id + secret`, then a fresh CRC32 checksum.
#[test]
fn api_key_with_a_valid_checksum_and_a_wrong_secret_is_invalid_secret() {
    let c = credentials();
    let a = c
        .api_issuer
        .issue_into(&*c.api_store, NewApiKey::new("svc-a"))
        .unwrap();
    let b = c
        .api_issuer
        .issue_into(&*c.api_store, NewApiKey::new("svc-b"))
        .unwrap();
    let lead = "acme_live_";
    let a_key = a.expose_secret();
    let b_key = b.expose_secret();
    let secret_of = |k: &str| k[lead.len() + 12..k.len() - 6].to_owned();
    let forge = |id: &str, secret: &str| tokengate::testing::forge(c.api_keys.format(), id, secret);
    // Our checksum is the crate's: a forged copy of a real key is the key.
    assert_eq!(forge(a.id(), &secret_of(a_key)), a_key);

    let mut guessed = secret_of(a_key).into_bytes();
    guessed[0] = if guessed[0] == b'A' { b'B' } else { b'A' };
    let guessed = String::from_utf8(guessed).unwrap();
    let wrong_secret = forge(a.id(), &guessed);
    assert!(c.api_keys.format().is_well_formed(&wrong_secret));
    expect_err(
        c.api_keys.verify(&wrong_secret),
        "invalid_secret",
        &[&wrong_secret, &guessed],
    );

    let borrowed = forge(a.id(), &secret_of(b_key));
    expect_err(c.api_keys.verify(&borrowed), "invalid_secret", &[&borrowed]);
    let all_zero = forge(a.id(), &"0".repeat(33));
    expect_err(c.api_keys.verify(&all_zero), "invalid_secret", &[&all_zero]);

    let unknown = forge("ZZZZZZZZZZZZ", &secret_of(a_key));
    expect_err(
        c.api_keys.verify(&unknown),
        "unknown_credential",
        &[&unknown],
    );

    // Controls.
    assert_eq!(c.api_keys.verify(a_key).unwrap().owner(), "svc-a");
    assert_eq!(c.api_keys.verify(b_key).unwrap().owner(), "svc-b");
}

// ---------------------------------------------------------------------------
// Refresh tokens (RFC 9700 §4.14.2)
// ---------------------------------------------------------------------------

/// RFC 9700 §4.14.2: a refresh token replayed after rotation means two
/// parties hold it. The replay is `refresh_token_reused`, and the whole
/// family is revoked: the rotated (legitimate) refresh token is then
/// `revoked`, and so are every access token minted from the family.
#[test]
fn refresh_token_replayed_after_rotation_revokes_the_family() {
    let c = credentials();
    let first = c.refresh.login(Grant::new("alice")).unwrap();
    let stolen = first.refresh_token.expose_secret().to_owned();
    c.clock.advance(60);
    let second = c.refresh.refresh(&stolen, None).unwrap();
    expect(&c.validator, &second.access_token, "ok");

    expect_err(
        c.refresh.refresh(&stolen, None),
        "refresh_token_reused",
        &[&stolen],
    );
    let rotated = second.refresh_token.expose_secret().to_owned();
    expect_err(c.refresh.refresh(&rotated, None), "revoked", &[&rotated]);
    expect_err(c.refresh.refresh(&stolen, None), "revoked", &[&stolen]);
    for access in [&first.access_token, &second.access_token] {
        expect(&c.validator, access, "revoked");
    }
    // Another family of the same user is untouched.
    let other = c.refresh.login(Grant::new("alice")).unwrap();
    assert!(
        c.refresh
            .refresh(other.refresh_token.expose_secret(), None)
            .is_ok()
    );
}

/// RFC 7009 and RFC 9700 §4.14: after logout (revocation of the refresh
/// token), the refresh token and its access tokens are `revoked`.
#[test]
fn refresh_token_after_logout_is_revoked() {
    let c = credentials();
    let pair = c.refresh.login(Grant::new("bob")).unwrap();
    let token = pair.refresh_token.expose_secret().to_owned();
    c.refresh.revoke(&token, None).unwrap();
    expect_err(c.refresh.refresh(&token, None), "revoked", &[&token]);
    expect(&c.validator, &pair.access_token, "revoked");
    assert!(c.refresh.inspect(&token).unwrap().is_none());
}

/// Racing rotations of one refresh token (RFC 9700 §4.14.2): exactly one
/// wins; every other call is `refresh_token_reused` or (once the family is
/// revoked) `revoked`, and the winner's new token dies with the family.
#[test]
fn racing_refresh_rotations_have_exactly_one_winner() {
    let c = credentials();
    let pair = c.refresh.login(Grant::new("carol")).unwrap();
    let token = pair.refresh_token.expose_secret().to_owned();
    let results: Vec<Result<tokengate::TokenPair, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| scope.spawn(|| c.refresh.refresh(&token, None)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(err.kind().as_str(), "refresh_token_reused" | "revoked"),
            "{err:?}"
        );
        assert!(!err.to_string().contains(&token));
    }
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .any(|e| e.kind().as_str() == "refresh_token_reused")
    );
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    let next = winner.refresh_token.expose_secret().to_owned();
    expect_err(c.refresh.refresh(&next, None), "revoked", &[&next]);
    expect(&c.validator, &winner.access_token, "revoked");
}

/// Forged refresh tokens: one-character changes are `malformed`, a valid
/// checksum with a guessed secret is `invalid_secret`, an unknown id is
/// `unknown_credential`; none of them disturbs the real family.
#[test]
fn forged_refresh_tokens_are_refused_without_touching_the_family() {
    let c = credentials();
    let pair = c.refresh.login(Grant::new("dave")).unwrap();
    let real = pair.refresh_token.expose_secret().to_owned();
    let lead = "rt_";
    let secret = &real[lead.len() + 12..real.len() - 6];
    for i in 0..real.len() {
        let mut b = real.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        let variant = String::from_utf8(b).unwrap();
        expect_err(
            c.refresh.refresh(&variant, None),
            "malformed",
            &[&variant, secret],
        );
    }
    let forge = |id: &str, secret: &str| tokengate::testing::forge(c.refresh.format(), id, secret);
    assert_eq!(forge(pair.refresh_token.id(), secret), real);
    let guessed = forge(pair.refresh_token.id(), &"A".repeat(43));
    expect_err(
        c.refresh.refresh(&guessed, None),
        "invalid_secret",
        &[&guessed],
    );
    let unknown = forge("ZZZZZZZZZZZZ", secret);
    expect_err(
        c.refresh.refresh(&unknown, None),
        "unknown_credential",
        &[&unknown],
    );
    // The real token still rotates: forgeries are not "reuse".
    assert!(c.refresh.refresh(&real, None).is_ok());
}

// ---------------------------------------------------------------------------
// Sanity of the harness itself
// ---------------------------------------------------------------------------

/// The leak check would catch a message that quotes the token, and the
/// data encodings really produce what they claim.
#[test]
fn the_harness_detects_what_it_claims_to() {
    let token = compact(&default_header(&keys().ed), &good_claims(), &keys().ed);
    let (_, p, _) = parts(&token);
    let quoting = Error::Malformed(Malformed::Claim(format!("x{p}").into()));
    assert!(no_leak(&quoting, &token, &[]).is_err());
    let quoting = Error::InvalidConfiguration(good_claims().into());
    assert!(no_leak(&quoting, &token, &[]).is_err());
    let quoting = Error::InvalidConfiguration(HS256_SECRET.escape_ascii().to_string().into());
    assert!(no_leak(&quoting, &token, &[]).is_err());
    assert!(no_leak(&Error::InvalidSignature, &token, &[]).is_ok());

    assert_eq!(encode(b"\xfb\xff", Some(Encoding::StandardAlphabet)), "+/8");
    assert_eq!(encode(b"\xfb\xff", Some(Encoding::Padded)), "-_8=");
    assert_eq!(encode(b"\xfb\xff", Some(Encoding::TrailingBits)), "-_9");
    assert_eq!(encode(b"abcd", Some(Encoding::WithSpace)), "YWJ jZA");
    let der = ecdsa_der(&[&[0u8; 31][..], &[1], &[0x80], &[0u8; 31]].concat());
    assert_eq!(der[..5], [0x30, 0x26, 0x02, 0x01, 0x01]);
    assert_eq!(checksum(""), "000000");
}
