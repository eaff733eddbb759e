//! Shared set-up for the tokengate fuzz targets: fixed keys taken from the
//! repository's test vectors, the clock and policy the validators use,
//! string edits, and independent re-implementations of the rules the
//! invariants check against (JSON members with repeats kept, unique names
//! at every depth, NumericDate;
//! the API key checksum comes from `tokengate::testing`, which computes it
//! independently of the library's checksum code).
//!
//! This is test code: it panics on a broken fixture, and the targets panic
//! on a violated invariant, which is how libFuzzer learns of a bug.

pub mod front;
pub mod mutate;

use std::fmt::Debug;

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use tokengate::testing::checksum;
use tokengate::{Algorithm, SigningKey, VerifyingKey};

/// A clock stopped at [`NOW`], and one stopped at any instant.
pub use tokengate::testing::{clock, clock_at};

/// The instant every target's clock reads (2025-06-15), the shared test
/// clock's [`tokengate::testing::T0`]: the `NOW` of `tests/attacks.rs` and
/// of `tests/data/attacks/*.json`.
pub const NOW: i64 = tokengate::testing::T0;
/// The issuer the strict validators expect (as in `tests/data/attacks`).
pub const ISS: &str = "https://auth.example.com";
/// The audience the strict validators expect (as in `tests/data/attacks`).
pub const AUD: &str = "https://api.example.com";
/// The validators' default leeway, in seconds.
pub const LEEWAY: i64 = 30;
/// The largest NumericDate the crate accepts: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;
/// A validator's default size limit, in bytes.
pub const MAX_TOKEN_SIZE: usize = 8 * 1024;

/// The repository's key fixtures and published vectors, compiled in.
pub mod data {
    /// RSA 2048, PKCS#8 PEM.
    pub const RSA_PKCS8: &str = include_str!("../../tests/data/keys/rsa2048_pkcs8.pem");
    /// Its public key, SPKI PEM.
    pub const RSA_SPKI_PEM: &str = include_str!("../../tests/data/keys/rsa2048_spki.pem");
    /// Its public key, SPKI DER.
    pub const RSA_SPKI_DER: &[u8] = include_bytes!("../../tests/data/keys/rsa2048_spki.der");
    /// Its public key as a JWK.
    pub const RSA_PUBLIC_JWK: &str = include_str!("../../tests/data/keys/rsa2048_public.jwk.json");
    /// EC P-256, PKCS#8 PEM.
    pub const EC_P256_PKCS8: &str = include_str!("../../tests/data/keys/ec_p256_pkcs8.pem");
    /// EC P-384, PKCS#8 PEM.
    pub const EC_P384_PKCS8: &str = include_str!("../../tests/data/keys/ec_p384_pkcs8.pem");
    /// EC P-384, SPKI PEM.
    pub const EC_P384_SPKI: &str = include_str!("../../tests/data/keys/ec_p384_spki.pem");
    /// Ed25519, PKCS#8 PEM.
    pub const ED25519_PKCS8: &str = include_str!("../../tests/data/keys/ed25519_pkcs8.pem");
    /// Ed25519, SPKI PEM.
    pub const ED25519_SPKI: &str = include_str!("../../tests/data/keys/ed25519_spki.pem");
    /// RFC 7515 A.1 (HS256).
    pub const RFC7515_A1: &str = include_str!("../../tests/data/rfc/rfc7515_a1_hs256.json");
    /// RFC 7515 A.2 (RS256).
    pub const RFC7515_A2: &str = include_str!("../../tests/data/rfc/rfc7515_a2_rs256.json");
    /// RFC 7515 A.3 (ES256).
    pub const RFC7515_A3: &str = include_str!("../../tests/data/rfc/rfc7515_a3_es256.json");
    /// RFC 8037 A.1 to A.4 (Ed25519).
    pub const RFC8037_A4: &str = include_str!("../../tests/data/rfc/rfc8037_a4_ed25519.json");
}

/// Unwraps a fixture; a failure is a broken harness, not a finding.
pub fn must<T, E: Debug>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("fuzz fixture `{what}` failed: {e:?}"),
    }
}

/// Member `member` of a published vector file, as JSON text.
pub fn vector_member(vector: &str, member: &str) -> String {
    let doc: Value = must(serde_json::from_str(vector), "vector JSON");
    must(serde_json::to_string(&doc[member]), "vector member")
}

/// Member `member` of a published vector file, as a string.
pub fn vector_str(vector: &str, member: &str) -> String {
    let doc: Value = must(serde_json::from_str(vector), "vector JSON");
    doc[member].as_str().unwrap_or_default().to_owned()
}

/// The RFC 7515 A.1 HMAC key (64 bytes).
pub fn rfc_hs256_secret() -> Vec<u8> {
    let doc: Value = must(serde_json::from_str(data::RFC7515_A1), "A.1 JSON");
    let k = doc["jwk"]["k"].as_str().unwrap_or_default();
    must(URL_SAFE_NO_PAD.decode(k), "A.1 k")
}

/// A private key from a PEM fixture, bound to `alg`, with key id `kid`.
pub fn pem_signer(alg: Algorithm, pem: &str, kid: &str) -> SigningKey {
    must(SigningKey::from_pem(alg, pem), kid).with_key_id(kid)
}

/// An HMAC key with key id `kid`.
pub fn hmac_signer(alg: Algorithm, secret: &[u8], kid: &str) -> SigningKey {
    must(SigningKey::hmac(alg, secret), kid).with_key_id(kid)
}

/// An HMAC key over a public key's bytes, with key id `kid`: the HS/RS
/// confusion attacker's key, which `SigningKey::hmac` refuses to build.
pub fn confused_hmac_signer(alg: Algorithm, public_key: &[u8], kid: &str) -> SigningKey {
    must(tokengate::testing::attacker_hmac_key(alg, public_key), kid).with_key_id(kid)
}

/// The key set of the `validate` target: one key per algorithm, each the
/// only key of its algorithm (so tokens without `kid` find it), chosen so
/// the seeds get past key lookup: the RFC 7515 A.1 HS256 key (the
/// signature of A.1, and of every HS256 seed `seed.sh` signs, verifies),
/// the RFC 7515 A.2 RSA key for RS256 and A.3 P-256 key for ES256, the
/// RFC 8037 Ed25519 key for EdDSA and for Ed25519 (RFC 9864); the kids are those of
/// `tests/data/attacks` (`ed-1`, `es256-1`, ...).
pub fn validate_keys() -> Vec<VerifyingKey> {
    let from_vector = |vector: &str, alg: Algorithm, kid: &str| {
        let jwk = vector_member(vector, "public_jwk");
        must(VerifyingKey::from_jwk(&jwk, Some(alg)), kid).with_key_id(kid)
    };
    let rsa = |alg: Algorithm, kid: &str| {
        must(VerifyingKey::from_pem(alg, data::RSA_SPKI_PEM), kid).with_key_id(kid)
    };
    vec![
        must(
            VerifyingKey::hmac(Algorithm::HS256, &rfc_hs256_secret()),
            "hs256",
        )
        .with_key_id("hs256-1"),
        must(VerifyingKey::hmac(Algorithm::HS384, &[0x5a; 64]), "hs384").with_key_id("hs384-1"),
        must(VerifyingKey::hmac(Algorithm::HS512, &[0x5b; 64]), "hs512").with_key_id("hs512-1"),
        from_vector(data::RFC7515_A2, Algorithm::RS256, "rs256-1"),
        rsa(Algorithm::RS384, "rs384-1"),
        rsa(Algorithm::RS512, "rs512-1"),
        rsa(Algorithm::PS256, "ps256-1"),
        rsa(Algorithm::PS384, "ps384-1"),
        rsa(Algorithm::PS512, "ps512-1"),
        from_vector(data::RFC7515_A3, Algorithm::ES256, "es256-1"),
        must(
            VerifyingKey::from_pem(Algorithm::ES384, data::EC_P384_SPKI),
            "es384",
        )
        .with_key_id("es384-1"),
        from_vector(data::RFC8037_A4, Algorithm::EdDSA, "ed-1"),
        from_vector(data::RFC8037_A4, Algorithm::Ed25519, "ed25519-1"),
    ]
}

/// Canonical (strict) base64url: no padding, URL alphabet.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The top-level members of a JSON object in document order, repeated names
/// kept (and names unescaped); `None` unless `bytes` is exactly one JSON
/// object (surrounding whitespace allowed) whose numbers all fit an `f64`
/// (the crate refuses `1e400` anywhere, in members it skips too).
pub fn members(bytes: &[u8]) -> Option<Vec<(String, Value)>> {
    struct Members(Vec<(String, Value)>);
    struct MembersVisitor;
    impl<'de> Visitor<'de> for MembersVisitor {
        type Value = Members;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Value>()? {
                out.push(entry);
            }
            Ok(Members(out))
        }
    }
    impl<'de> Deserialize<'de> for Members {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(MembersVisitor)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Members::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(parsed.0)
}

/// `true` when no member name repeats.
pub fn unique_names(members: &[(String, Value)]) -> bool {
    let mut names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.windows(2).all(|w| w.first() != w.get(1))
}

/// `true` when `bytes` are JSON in which no object, at any depth, repeats a
/// member name (compared after unescaping), as the crate requires of the
/// header and the claims. (`members` keeps repeats only at the top level:
/// `serde_json::Value` keeps the last of two nested members.)
pub fn unique_names_at_every_depth(bytes: &[u8]) -> bool {
    use serde::de::{DeserializeSeed, SeqAccess};
    struct Check;
    impl<'de> DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Check {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Check)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut names = std::collections::HashSet::new();
            while let Some(name) = map.next_key::<String>()? {
                if !names.insert(name) {
                    return Err(serde::de::Error::custom("repeated member"));
                }
                map.next_value_seed(Check)?;
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Check.deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// The value of member `name`, if present.
pub fn member<'a>(members: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    members.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// RFC 7519 NumericDate as the crate documents it: a JSON number of
/// seconds, an integer or a finite float (truncated), in
/// `0..=MAX_NUMERIC_DATE`. Anything else is `None`.
pub fn numeric_date(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return (0..=MAX_NUMERIC_DATE).contains(&i).then_some(i);
    }
    if v.is_u64() {
        return None;
    }
    let f = v.as_f64()?;
    if f.is_finite() && (0.0..=MAX_NUMERIC_DATE as f64).contains(&f) {
        Some(f.trunc() as i64)
    } else {
        None
    }
}

/// One edit of a string, for mutating real credentials.
#[derive(Arbitrary, Debug, Clone)]
pub enum Edit {
    /// Replace the character at a position.
    Replace(u16, char),
    /// Insert a character.
    Insert(u16, char),
    /// Delete the character at a position.
    Delete(u16),
    /// Keep only the first characters.
    Truncate(u16),
    /// Append text.
    Append(String),
    /// Prepend text.
    Prepend(String),
    /// Flip the ASCII case of the character at a position.
    FlipCase(u16),
    /// Swap two characters.
    Swap(u16, u16),
}

/// Applies `edits` in order; positions wrap around the current length.
pub fn apply_edits(s: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let at = |i: u16, len: usize| usize::from(i) % len.max(1);
    for e in edits {
        match e {
            Edit::Replace(i, c) if !chars.is_empty() => {
                let i = at(*i, chars.len());
                chars[i] = *c;
            }
            Edit::Insert(i, c) => {
                let i = usize::from(*i) % (chars.len() + 1);
                chars.insert(i, *c);
            }
            Edit::Delete(i) if !chars.is_empty() => {
                let i = at(*i, chars.len());
                chars.remove(i);
            }
            Edit::Truncate(n) => chars.truncate(usize::from(*n)),
            Edit::Append(t) => chars.extend(t.chars()),
            Edit::Prepend(t) => {
                let mut v: Vec<char> = t.chars().collect();
                v.extend(chars);
                chars = v;
            }
            Edit::FlipCase(i) if !chars.is_empty() => {
                let i = at(*i, chars.len());
                let c = chars[i];
                chars[i] = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
            Edit::Swap(i, j) if !chars.is_empty() => {
                let (i, j) = (at(*i, chars.len()), at(*j, chars.len()));
                chars.swap(i, j);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// `true` when `key` is `lead` followed by `body_len` ASCII letters and
/// digits whose last 6 are the checksum of everything before them.
pub fn api_key_well_formed(key: &str, lead: &str, body_len: usize) -> bool {
    let Some(body) = key.strip_prefix(lead) else {
        return false;
    };
    body.len() == body_len
        && body.bytes().all(|b| b.is_ascii_alphanumeric())
        && key.len() >= 6
        && checksum(&key[..key.len() - 6]) == key[key.len() - 6..]
}
