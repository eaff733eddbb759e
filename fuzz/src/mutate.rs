//! `mutate_token`: valid tokens of every algorithm, signed once at start-up,
//! structurally mutated (header and claims members, signature bytes,
//! base64url form), optionally re-signed with the right key or a wrong
//! one, then validated.
//!
//! The invariant: a token is accepted only if its signature is exactly
//! what a store key made over exactly these header and payload bytes (the
//! untouched original, or a re-signature by the key the header selects,
//! bound to the header's `alg`), every segment is canonical base64url, the
//! header is acceptable (unique members, `alg` the key's, no `crit` or
//! `b64`, string `typ`/`cty`/`kid`), and the claims pass the validator's
//! policy, which is written again here from the crate's documentation.
//! The converse is checked too: such a token must be accepted.

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use serde_json::Value;
use tokengate::RevocationStore;
use tokengate::time::Duration;
use tokengate::time::OffsetDateTime;
use tokengate::{
    Algorithm, KeySetStore, RevocationList, ScopeRequirement, SigningKey, TokenBuilder, Validator,
};

use crate::{
    AUD, ISS, LEEWAY, MAX_TOKEN_SIZE, NOW, b64url, clock, confused_hmac_signer, data, hmac_signer,
    member, members, must, numeric_date, pem_signer, unique_names, unique_names_at_every_depth,
    vector_member,
};

/// A `jti` on the validator's revocation list.
pub const REVOKED_JTI: &str = "revoked-jti";
/// A `sid` on the validator's revocation list.
pub const REVOKED_SID: &str = "revoked-sid";
/// A subject whose tokens issued before [`BANNED_BEFORE`] are revoked.
pub const BANNED_SUB: &str = "banned-user";
/// See [`BANNED_SUB`].
pub const BANNED_BEFORE: i64 = NOW - 100;
/// The scope `validate_for` requires.
pub const REQUIRED_SCOPE: &str = "orders:read";

/// A token signed at start-up, split into its parts.
#[derive(Debug)]
pub struct Base {
    /// Decoded header.
    pub header: Vec<u8>,
    /// Decoded payload.
    pub payload: Vec<u8>,
    /// `header.payload` as signed.
    pub signing_input: String,
    /// Signature bytes.
    pub signature: Vec<u8>,
}

/// Keys, base tokens and the validator under test.
#[derive(Debug)]
pub struct Fixture {
    /// Keys whose public halves are in the validator's store.
    pub store: Vec<SigningKey>,
    /// Keys that are not: other secrets, other key pairs, and HMAC keys
    /// made of the store's public keys (the HS/RS confusion attack).
    pub foreign: Vec<SigningKey>,
    /// One token per store key.
    pub bases: Vec<Base>,
    /// Issuer [`ISS`], audience [`AUD`], `exp` required, 30 s leeway,
    /// revocation of [`REVOKED_JTI`], [`REVOKED_SID`], [`BANNED_SUB`].
    pub validator: Validator,
    /// `all(REQUIRED_SCOPE)`.
    pub requirement: ScopeRequirement,
}

/// The shared fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

fn build() -> Fixture {
    use Algorithm::*;
    let store = vec![
        hmac_signer(HS256, b"mutate-token-hs256-key-a-0123456789abcdef", "hs-a"),
        hmac_signer(HS256, b"mutate-token-hs256-key-b-0123456789abcdef", "hs-b"),
        hmac_signer(HS384, &[0x38; 48], "hs384"),
        hmac_signer(HS512, &[0x51; 64], "hs512"),
        pem_signer(RS256, data::RSA_PKCS8, "rs256"),
        pem_signer(RS384, data::RSA_PKCS8, "rs384"),
        pem_signer(RS512, data::RSA_PKCS8, "rs512"),
        pem_signer(PS256, data::RSA_PKCS8, "ps256"),
        pem_signer(PS384, data::RSA_PKCS8, "ps384"),
        pem_signer(PS512, data::RSA_PKCS8, "ps512"),
        pem_signer(ES256, data::EC_P256_PKCS8, "es256"),
        pem_signer(ES384, data::EC_P384_PKCS8, "es384"),
        pem_signer(EdDSA, data::ED25519_PKCS8, "ed"),
        // Not the `ed` key's material: EdDSA and Ed25519 signatures are the
        // same computation, so one key under both names would verify each
        // other's tokens (as it should), which this oracle, judging by
        // signer rather than by key bytes, would take for a forgery.
        must(SigningKey::generate(Ed25519), "ed25519").with_key_id("ed25519"),
    ];
    let jwk_signer = |vector: &str, alg: Algorithm, kid: &str| {
        let jwk = vector_member(vector, "jwk");
        must(SigningKey::from_jwk(&jwk, Some(alg)), kid).with_key_id(kid)
    };
    let foreign = vec![
        confused_hmac_signer(HS256, data::RSA_SPKI_PEM.as_bytes(), "rs256"),
        confused_hmac_signer(HS256, data::RSA_SPKI_DER, "rs256"),
        confused_hmac_signer(HS384, data::RSA_SPKI_PEM.as_bytes(), "rs384"),
        confused_hmac_signer(HS256, data::RSA_PUBLIC_JWK.as_bytes(), "rs256"),
        confused_hmac_signer(HS256, data::ED25519_SPKI.as_bytes(), "ed"),
        hmac_signer(HS256, b"mutate-token-hs256-key-c-0123456789abcdef", "hs-a"),
        hmac_signer(HS512, &[0x52; 64], "hs512"),
        jwk_signer(data::RFC7515_A2, RS256, "rs256"),
        jwk_signer(data::RFC7515_A2, PS256, "ps256"),
        jwk_signer(data::RFC7515_A3, ES256, "es256"),
        must(SigningKey::generate(ES384), "es384").with_key_id("es384"),
        jwk_signer(data::RFC8037_A4, EdDSA, "ed"),
        jwk_signer(data::RFC8037_A4, Ed25519, "ed25519"),
    ];
    let bases = store
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let token = must(
                TokenBuilder::new()
                    .issuer(ISS)
                    .subject("user-1")
                    .audience(AUD)
                    .scope("orders:read orders:write")
                    .client_id("client-1")
                    .jwt_id(format!("jti-{i}"))
                    .lifetime(Duration::minutes(10))
                    .clock(clock())
                    .sign(key),
                "base token",
            );
            let parts: Vec<&str> = token.split('.').collect();
            let decode = |s: &str| {
                must(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s),
                    "base part",
                )
            };
            Base {
                header: decode(parts[0]),
                payload: decode(parts[1]),
                signing_input: format!("{}.{}", parts[0], parts[1]),
                signature: decode(parts[2]),
            }
        })
        .collect();
    let revocation = Arc::new(RevocationList::new());
    let at = |unix: i64| must(OffsetDateTime::from_unix_timestamp(unix), "instant");
    must(
        revocation.revoke_token(REVOKED_JTI, at(NOW + 100_000)),
        "revoke jti",
    );
    must(
        revocation.revoke_session(REVOKED_SID, at(NOW + 100_000)),
        "revoke session",
    );
    must(
        revocation.revoke_subject_before(BANNED_SUB, at(BANNED_BEFORE)),
        "revoke subject",
    );
    let key_set = must(
        KeySetStore::new(store.iter().map(SigningKey::verifying_key)),
        "store",
    );
    let validator = must(
        Validator::builder(key_set)
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .clock(clock())
            .revocation(revocation)
            .build(),
        "validator",
    );
    Fixture {
        store,
        foreign,
        bases,
        validator,
        requirement: must(ScopeRequirement::all(REQUIRED_SCOPE), "requirement"),
    }
}

/// `alg` values, registered and not.
pub const ALG_NAMES: &[&str] = &[
    "none",
    "None",
    "NONE",
    "nOnE",
    "ES512",
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "EdDSA",
    "ED25519",
    "Ed25519",
    "Ed448",
    "eddsa",
    "hs256",
    "HS256 ",
    " HS256",
    "HS256\u{0}",
    "",
    "ES256K",
    "RS1",
    "A128KW",
    "dir",
];

/// Number texts for NumericDate members, valid JSON or not.
pub const NUMBER_TEXTS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "9223372036854775808",
    "9223372036854775807",
    "-9223372036854775809",
    "253402300800",
    "253402300799",
    "253402300799.9",
    "-1",
    "-0",
    "0",
    "-0.0",
    "0.0",
    "1e9",
    "1.75e9",
    "1.7500006e9",
    "1750000600.0",
    "1750000600e0",
    "17500006e2",
    "1750000600.999999999",
    "1E10",
    "00",
    "01",
    "+1",
    "NaN",
    "Infinity",
    ".5",
    "1.",
    "0x10",
    "1750000600 ",
    "1750000600\n",
];

const ISS_VARIANTS: &[&str] = &[
    "https://auth.example.com/",
    "HTTPS://AUTH.EXAMPLE.COM",
    "https://auth.example.com ",
    " https://auth.example.com",
    "https://auth.example.com\u{0}",
    "https://auth.example.com.evil",
    "https://auth.example.co",
    "",
    "https://auth.example.com?x",
    "https://auth.exam\u{0440}le.com",
];

const AUD_VARIANTS: &[&str] = &[
    "https://api.example.com/",
    "HTTPS://API.EXAMPLE.COM",
    "https://api.example.com ",
    "https://api.example.co",
    "",
    "*",
    "https://api.example.com.evil",
];

const SCOPES: &[&str] = &[
    "orders:read",
    "orders:read orders:write",
    "orders:write",
    "orders:read  orders:write",
    " orders:read",
    "orders:readx",
    "ORDERS:READ",
    "orders:read\torders:write",
    "",
    "admin",
    "orders:write orders:read",
];

/// A string value.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    /// [`ISS`].
    Iss,
    /// A near miss of [`ISS`].
    IssVariant(u8),
    /// [`AUD`].
    Aud,
    /// A near miss of [`AUD`].
    AudVariant(u8),
    /// [`REVOKED_JTI`].
    RevokedJti,
    /// [`REVOKED_SID`].
    RevokedSid,
    /// [`BANNED_SUB`].
    Banned,
    /// A scope string.
    Scope(u8),
    /// Any text.
    Any(String),
}

impl Text {
    fn render(&self) -> String {
        let pick = |list: &[&str], i: u8| list[usize::from(i) % list.len()].to_owned();
        match self {
            Text::Iss => ISS.to_owned(),
            Text::IssVariant(i) => pick(ISS_VARIANTS, *i),
            Text::Aud => AUD.to_owned(),
            Text::AudVariant(i) => pick(AUD_VARIANTS, *i),
            Text::RevokedJti => REVOKED_JTI.to_owned(),
            Text::RevokedSid => REVOKED_SID.to_owned(),
            Text::Banned => BANNED_SUB.to_owned(),
            Text::Scope(i) => pick(SCOPES, *i),
            Text::Any(s) => s.clone(),
        }
    }

    fn json(&self) -> String {
        json_string(&self.render())
    }
}

fn json_string(s: &str) -> String {
    must(serde_json::to_string(s), "json string")
}

fn float_json(f: f64) -> String {
    if f.is_finite() {
        format!("{f:?}")
    } else if f.is_nan() {
        "NaN".to_owned()
    } else if f > 0.0 {
        "1e999".to_owned()
    } else {
        "-1e999".to_owned()
    }
}

/// A header member name.
#[derive(Arbitrary, Debug, Clone)]
pub enum HeaderName {
    /// `alg`.
    Alg,
    /// `kid`.
    Kid,
    /// `typ`.
    Typ,
    /// `cty`.
    Cty,
    /// `crit`.
    Crit,
    /// `jwk`.
    Jwk,
    /// `jku`.
    Jku,
    /// `x5u`.
    X5u,
    /// `x5c`.
    X5c,
    /// `b64`.
    B64,
    /// `zip`.
    Zip,
    /// Any name.
    Other(String),
}

impl HeaderName {
    fn name(&self) -> &str {
        match self {
            HeaderName::Alg => "alg",
            HeaderName::Kid => "kid",
            HeaderName::Typ => "typ",
            HeaderName::Cty => "cty",
            HeaderName::Crit => "crit",
            HeaderName::Jwk => "jwk",
            HeaderName::Jku => "jku",
            HeaderName::X5u => "x5u",
            HeaderName::X5c => "x5c",
            HeaderName::B64 => "b64",
            HeaderName::Zip => "zip",
            HeaderName::Other(s) => s,
        }
    }
}

/// A header member value.
#[derive(Arbitrary, Debug, Clone)]
pub enum HeaderValue {
    /// An `alg` name from [`ALG_NAMES`].
    Alg(u8),
    /// The `kid` of a store key (or, past their count, a foreign key).
    KidOf(u8),
    /// A string.
    Text(Text),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// An array of strings.
    Strings(Vec<String>),
    /// `["<alg name>"]`.
    AlgArray(u8),
    /// An empty object.
    Object,
    /// The public JWK of a key (store, then foreign).
    JwkOf(u8),
    /// An attacker's URL.
    Url,
}

/// A claim member name.
#[derive(Arbitrary, Debug, Clone)]
pub enum ClaimName {
    /// `iss`.
    Iss,
    /// `sub`.
    Sub,
    /// `aud`.
    Aud,
    /// `exp`.
    Exp,
    /// `nbf`.
    Nbf,
    /// `iat`.
    Iat,
    /// `jti`.
    Jti,
    /// `scope`.
    Scope,
    /// `client_id`.
    ClientId,
    /// `sid`.
    Sid,
    /// Any name.
    Other(String),
}

impl ClaimName {
    fn name(&self) -> &str {
        match self {
            ClaimName::Iss => "iss",
            ClaimName::Sub => "sub",
            ClaimName::Aud => "aud",
            ClaimName::Exp => "exp",
            ClaimName::Nbf => "nbf",
            ClaimName::Iat => "iat",
            ClaimName::Jti => "jti",
            ClaimName::Scope => "scope",
            ClaimName::ClientId => "client_id",
            ClaimName::Sid => "sid",
            ClaimName::Other(s) => s,
        }
    }
}

/// A claim member value.
#[derive(Arbitrary, Debug, Clone)]
pub enum ClaimValue {
    /// `NOW + offset` as an integer.
    At(i32),
    /// `NOW + offset + frac/256` as a decimal.
    AtFraction(i32, u8),
    /// `NOW + offset` in exponent notation.
    AtExponent(i32),
    /// `NOW + offset` as a string.
    AtString(i32),
    /// Any integer.
    Int(i64),
    /// Any unsigned integer.
    Unsigned(u64),
    /// Any float.
    Float(f64),
    /// A number text from [`NUMBER_TEXTS`].
    NumberText(u8),
    /// A string.
    Text(Text),
    /// An array of strings.
    Array(Vec<Text>),
    /// An array of a string and a number.
    Mixed(Text, i64),
    /// An object holding a string.
    Object(Text),
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
}

impl ClaimValue {
    fn json(&self) -> String {
        let at = |off: i32| NOW + i64::from(off);
        match self {
            ClaimValue::At(o) => at(*o).to_string(),
            ClaimValue::AtFraction(o, f) => format!("{}.{:03}", at(*o), u32::from(*f) * 1000 / 256),
            ClaimValue::AtExponent(o) => format!("{:e}", at(*o) as f64),
            ClaimValue::AtString(o) => json_string(&at(*o).to_string()),
            ClaimValue::Int(i) => i.to_string(),
            ClaimValue::Unsigned(u) => u.to_string(),
            ClaimValue::Float(f) => float_json(*f),
            ClaimValue::NumberText(i) => {
                NUMBER_TEXTS[usize::from(*i) % NUMBER_TEXTS.len()].to_owned()
            }
            ClaimValue::Text(t) => t.json(),
            ClaimValue::Array(ts) => {
                let items: Vec<String> = ts.iter().map(Text::json).collect();
                format!("[{}]", items.join(","))
            }
            ClaimValue::Mixed(t, n) => format!("[{},{n}]", t.json()),
            ClaimValue::Object(t) => format!("{{\"x\":{}}}", t.json()),
            ClaimValue::Null => "null".to_owned(),
            ClaimValue::Bool(b) => b.to_string(),
        }
    }
}

/// An edit of the header's members.
#[derive(Arbitrary, Debug, Clone)]
pub enum HeaderOp {
    /// Replace the first member of that name (or append one); `true`
    /// escapes the name's first character as `\u00XX`.
    Set(HeaderName, bool, HeaderValue),
    /// Insert a member at a position, even if the name exists.
    Insert(u8, HeaderName, bool, HeaderValue),
    /// Remove every member of that name.
    Remove(HeaderName),
    /// Replace the whole header with these bytes.
    Raw(Vec<u8>),
}

/// An edit of the claims' members.
#[derive(Arbitrary, Debug, Clone)]
pub enum ClaimOp {
    /// As [`HeaderOp::Set`].
    Set(ClaimName, bool, ClaimValue),
    /// As [`HeaderOp::Insert`].
    Insert(u8, ClaimName, bool, ClaimValue),
    /// As [`HeaderOp::Remove`].
    Remove(ClaimName),
    /// Replace the whole payload with these bytes.
    Raw(Vec<u8>),
}

/// Who signs the mutated token.
#[derive(Arbitrary, Debug, Clone)]
pub enum Sign {
    /// Nobody: the original signature stays.
    Keep,
    /// A store key (index modulo their count).
    Store(u8),
    /// A key outside the store.
    Foreign(u8),
    /// The original signature of another base token.
    Transplant(u8),
}

/// An edit of the signature bytes.
#[derive(Arbitrary, Debug, Clone)]
pub enum SigOp {
    /// XOR a byte.
    Flip(u16, u8),
    /// Keep the first bytes.
    Truncate(u16),
    /// Append bytes.
    Append(Vec<u8>),
    /// Replace all bytes.
    Replace(Vec<u8>),
    /// As many zero bytes as there are.
    Zero,
}

/// How a segment is base64-encoded.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Encoding {
    /// URL alphabet with `=` padding.
    UrlPadded,
    /// Standard alphabet, unpadded.
    Standard,
    /// Standard alphabet, padded.
    StandardPadded,
    /// Canonical, then the last character bumped so its unused low bits
    /// are not zero (when there are such bits).
    TrailingBits,
    /// Canonical plus a newline.
    Newline,
    /// Canonical plus a space.
    Space,
}

fn encode(bytes: &[u8], enc: Option<Encoding>) -> String {
    let canonical = b64url(bytes);
    match enc {
        None => canonical,
        Some(Encoding::UrlPadded) => URL_SAFE.encode(bytes),
        Some(Encoding::Standard) => STANDARD_NO_PAD.encode(bytes),
        Some(Encoding::StandardPadded) => STANDARD.encode(bytes),
        Some(Encoding::TrailingBits) => {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = canonical.into_bytes();
            if !bytes.len().is_multiple_of(3)
                && let Some(last) = out.last_mut()
                && let Some(pos) = ALPHABET.iter().position(|c| c == last)
            {
                *last = ALPHABET[pos | 1];
            }
            String::from_utf8_lossy(&out).into_owned()
        }
        Some(Encoding::Newline) => canonical + "\n",
        Some(Encoding::Space) => canonical + " ",
    }
}

/// One fuzz input.
#[derive(Arbitrary, Debug, Clone)]
pub struct Input {
    /// Which base token (modulo their count).
    pub base: u8,
    /// Header edits.
    pub header: Vec<HeaderOp>,
    /// Claims edits.
    pub claims: Vec<ClaimOp>,
    /// Who signs.
    pub sign: Sign,
    /// Signature edits, after signing.
    pub signature: Vec<SigOp>,
    /// Header encoding (`None`: canonical).
    pub header_encoding: Option<Encoding>,
    /// Payload encoding (`None`: canonical).
    pub payload_encoding: Option<Encoding>,
    /// Signature encoding (`None`: canonical).
    pub signature_encoding: Option<Encoding>,
}

/// Members as rendered JSON: (name text, name, value text).
type Rendered = Vec<(String, String, String)>;

fn name_json(name: &str, escaped: bool) -> String {
    match name.chars().next() {
        Some(c) if escaped && c.is_ascii() && c != '"' && c != '\\' => {
            let rest = json_string(&name[1..]);
            format!("\"\\u{:04x}{}", u32::from(c), &rest[1..])
        }
        _ => json_string(name),
    }
}

fn start(bytes: &[u8]) -> Rendered {
    members(bytes)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| (json_string(&n), n, must(serde_json::to_string(&v), "value")))
        .collect()
}

fn set(list: &mut Rendered, name: &str, escaped: bool, value: String) {
    let entry = (name_json(name, escaped), name.to_owned(), value);
    match list.iter_mut().find(|(_, n, _)| n == name) {
        Some(slot) => *slot = entry,
        None => list.push(entry),
    }
}

fn insert(list: &mut Rendered, at: u8, name: &str, escaped: bool, value: String) {
    let at = usize::from(at) % (list.len() + 1);
    list.insert(at, (name_json(name, escaped), name.to_owned(), value));
}

fn render(list: &Rendered) -> Vec<u8> {
    let body: Vec<String> = list.iter().map(|(n, _, v)| format!("{n}:{v}")).collect();
    format!("{{{}}}", body.join(",")).into_bytes()
}

impl Fixture {
    fn all_keys(&self) -> impl Iterator<Item = &SigningKey> {
        self.store.iter().chain(&self.foreign)
    }

    fn header_value(&self, v: &HeaderValue) -> String {
        let n = self.store.len() + self.foreign.len();
        match v {
            HeaderValue::Alg(i) => json_string(ALG_NAMES[usize::from(*i) % ALG_NAMES.len()]),
            HeaderValue::KidOf(i) => {
                let key = self.all_keys().nth(usize::from(*i) % n);
                json_string(key.map(SigningKey::key_id).unwrap_or_default())
            }
            HeaderValue::Text(t) => t.json(),
            HeaderValue::Int(i) => i.to_string(),
            HeaderValue::Float(f) => float_json(*f),
            HeaderValue::Bool(b) => b.to_string(),
            HeaderValue::Null => "null".to_owned(),
            HeaderValue::Strings(v) => must(serde_json::to_string(v), "strings"),
            HeaderValue::AlgArray(i) => {
                format!(
                    "[{}]",
                    json_string(ALG_NAMES[usize::from(*i) % ALG_NAMES.len()])
                )
            }
            HeaderValue::Object => "{}".to_owned(),
            HeaderValue::JwkOf(i) => self
                .all_keys()
                .nth(usize::from(*i) % n)
                .and_then(|k| k.verifying_key().to_jwk())
                .map_or_else(|| "{}".to_owned(), |j| j.to_json()),
            HeaderValue::Url => json_string("https://attacker.example/jwks.json"),
        }
    }

    /// `true` when the validator may accept a token with this header whose
    /// signature `signer` made: the header is one JSON object with unique
    /// member names at every depth, `alg` is `signer`'s, no `crit` or `b64`, `typ`, `cty`
    /// and `kid` are strings, and `kid` names `signer` (or is absent and
    /// `signer` is the only store key of its algorithm).
    fn header_selects(&self, header: &[u8], signer: &SigningKey) -> bool {
        let Some(m) = members(header) else {
            return false;
        };
        let string_or_absent = |name: &str| member(&m, name).is_none_or(Value::is_string);
        let kid_ok = match member(&m, "kid") {
            Some(Value::String(kid)) => kid == signer.key_id(),
            Some(_) => false,
            None => {
                self.store
                    .iter()
                    .filter(|k| k.algorithm() == signer.algorithm())
                    .count()
                    == 1
            }
        };
        unique_names(&m)
            && unique_names_at_every_depth(header)
            && member(&m, "alg").and_then(Value::as_str) == Some(signer.algorithm().as_str())
            && member(&m, "crit").is_none()
            && member(&m, "b64").is_none()
            && string_or_absent("typ")
            && string_or_absent("cty")
            && kid_ok
    }
}

/// `true` when the claims pass the fixture validator's policy: one JSON
/// object with unique member names at every depth; registered claims of the right types
/// (strings; `aud` a string or an array of strings; NumericDates); `exp`
/// present and `now < exp + leeway`; `now + leeway >= nbf`; `iat <= now +
/// leeway`; `iss` exactly [`ISS`]; `aud` naming [`AUD`]; not revoked.
pub fn claims_pass(payload: &[u8]) -> bool {
    let Some(m) = members(payload) else {
        return false;
    };
    if !unique_names(&m) || !unique_names_at_every_depth(payload) {
        return false;
    }
    for name in ["iss", "sub", "jti", "client_id", "sid"] {
        if !member(&m, name).is_none_or(Value::is_string) {
            return false;
        }
    }
    // `scope`: a string, or an array of strings each non-empty and without
    // a space (joined with spaces, it must read as the same scopes).
    if member(&m, "scope").is_some_and(|v| scope_text(v).is_none()) {
        return false;
    }
    let mut dates = [None; 3];
    for (slot, name) in dates.iter_mut().zip(["exp", "nbf", "iat"]) {
        if let Some(v) = member(&m, name) {
            match numeric_date(v) {
                Some(t) => *slot = Some(t),
                None => return false,
            }
        }
    }
    let [exp, nbf, iat] = dates;
    let audience: Option<Vec<&str>> = match member(&m, "aud") {
        None => None,
        Some(Value::String(s)) => Some(vec![s.as_str()]),
        Some(Value::Array(items)) => {
            let strings: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            match strings {
                Some(s) => Some(s),
                None => return false,
            }
        }
        Some(_) => return false,
    };
    let str_of = |name: &str| member(&m, name).and_then(Value::as_str);
    let revoked = str_of("jti") == Some(REVOKED_JTI)
        || str_of("sid") == Some(REVOKED_SID)
        || (str_of("sub") == Some(BANNED_SUB) && iat.is_none_or(|t| t < BANNED_BEFORE));
    exp.is_some_and(|e| NOW < e.saturating_add(LEEWAY))
        && nbf.is_none_or(|n| NOW + LEEWAY >= n)
        && iat.is_none_or(|t| t <= NOW + LEEWAY)
        && str_of("iss") == Some(ISS)
        && audience.is_some_and(|a| a.contains(&AUD))
        && !revoked
}

/// `true` when the payload's `scope` names [`REQUIRED_SCOPE`] as one of its
/// space-separated tokens.
pub fn scope_grants(payload: &[u8]) -> bool {
    members(payload)
        .and_then(|m| member(&m, "scope").and_then(scope_text))
        .is_some_and(|s| s.split(' ').any(|t| t == REQUIRED_SCOPE))
}

/// The granted scopes of a `scope` value as one space-separated text, or
/// `None` when the validator refuses its shape.
fn scope_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let mut scopes = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str()?;
                if s.is_empty() || s.contains(' ') {
                    return None;
                }
                scopes.push(s);
            }
            Some(scopes.join(" "))
        }
        _ => None,
    }
}

/// Builds the token an input describes, validates it, and checks the
/// invariants; panics on a violation. The first call also checks that the
/// harness is not vacuous: untouched and correctly re-signed tokens of
/// every algorithm pass, and known attacks do not.
pub fn run(input: &Input) {
    static SELF_TEST: std::sync::Once = std::sync::Once::new();
    SELF_TEST.call_once(self_test);
    check(input);
}

fn self_test() {
    let fx = fixture();
    let plain = |base: usize, sign: Sign| Input {
        base: base as u8,
        header: Vec::new(),
        claims: Vec::new(),
        sign,
        signature: Vec::new(),
        header_encoding: None,
        payload_encoding: None,
        signature_encoding: None,
    };
    let alg =
        |name: &str| HeaderValue::Alg(ALG_NAMES.iter().position(|a| *a == name).unwrap_or(0) as u8);
    for i in 0..fx.bases.len() {
        assert!(
            check(&plain(i, Sign::Keep)),
            "self-test: base token {i} rejected"
        );
        let mut later = plain(i, Sign::Store(i as u8));
        later.claims.push(ClaimOp::Set(
            ClaimName::Exp,
            true,
            ClaimValue::AtFraction(300, 7),
        ));
        assert!(check(&later), "self-test: re-signed token {i} rejected");
        let mut tampered = plain(i, Sign::Keep);
        tampered
            .claims
            .push(ClaimOp::Set(ClaimName::Exp, false, ClaimValue::At(9000)));
        assert!(!check(&tampered), "self-test: tampered token {i} accepted");
        // The signature in the standard, padded alphabet: refused unless
        // that text happens to equal the strict base64url one (no `+`,
        // `/` or `=` in it), when the token is the base token itself.
        let mut padded = plain(i, Sign::Keep);
        padded.signature_encoding = Some(Encoding::StandardPadded);
        let signature = &fx.bases[i].signature;
        let same_text = STANDARD.encode(signature) == b64url(signature);
        assert_eq!(
            check(&padded),
            same_text,
            "self-test: token {i} with a standard-alphabet padded signature"
        );
    }
    // HS/RS confusion: HS256 keyed with the RSA public key, RS256 kid.
    let mut confused = plain(4, Sign::Foreign(0));
    confused
        .header
        .push(HeaderOp::Set(HeaderName::Alg, false, alg("HS256")));
    assert!(!check(&confused), "self-test: HS/RS confusion accepted");
    let mut none = plain(0, Sign::Keep);
    none.header
        .push(HeaderOp::Set(HeaderName::Alg, false, alg("none")));
    none.signature.push(SigOp::Replace(Vec::new()));
    assert!(!check(&none), "self-test: alg none accepted");
}

/// As [`run`] without the self-test; returns whether the token passed.
fn check(input: &Input) -> bool {
    let fx = fixture();
    let base = &fx.bases[usize::from(input.base) % fx.bases.len()];

    let mut header = start(&base.header);
    let mut header_raw: Option<Vec<u8>> = None;
    for op in &input.header {
        match op {
            HeaderOp::Set(n, e, v) => set(&mut header, n.name(), *e, fx.header_value(v)),
            HeaderOp::Insert(at, n, e, v) => {
                insert(&mut header, *at, n.name(), *e, fx.header_value(v));
            }
            HeaderOp::Remove(n) => header.retain(|(_, name, _)| name != n.name()),
            HeaderOp::Raw(b) => header_raw = Some(b.clone()),
        }
    }
    let header_bytes = match (header_raw, input.header.is_empty()) {
        (Some(raw), _) => raw,
        (None, true) => base.header.clone(),
        (None, false) => render(&header),
    };

    let mut claims = start(&base.payload);
    let mut payload_raw: Option<Vec<u8>> = None;
    for op in &input.claims {
        match op {
            ClaimOp::Set(n, e, v) => set(&mut claims, n.name(), *e, v.json()),
            ClaimOp::Insert(at, n, e, v) => insert(&mut claims, *at, n.name(), *e, v.json()),
            ClaimOp::Remove(n) => claims.retain(|(_, name, _)| name != n.name()),
            ClaimOp::Raw(b) => payload_raw = Some(b.clone()),
        }
    }
    let payload_bytes = match (payload_raw, input.claims.is_empty()) {
        (Some(raw), _) => raw,
        (None, true) => base.payload.clone(),
        (None, false) => render(&claims),
    };

    let header_text = encode(&header_bytes, input.header_encoding);
    let payload_text = encode(&payload_bytes, input.payload_encoding);
    let signing_input = format!("{header_text}.{payload_text}");

    // The signature, and whether it is one the validator may accept.
    let pick = |len: usize, i: u8| usize::from(i) % len;
    let (signed, legitimate) = match &input.sign {
        Sign::Keep => (base.signature.clone(), signing_input == base.signing_input),
        Sign::Transplant(j) => {
            let other = &fx.bases[pick(fx.bases.len(), *j)];
            (
                other.signature.clone(),
                signing_input == other.signing_input,
            )
        }
        Sign::Store(i) => {
            let key = &fx.store[pick(fx.store.len(), *i)];
            let Ok(sig) = key.sign(signing_input.as_bytes()) else {
                return false;
            };
            (sig, fx.header_selects(&header_bytes, key))
        }
        Sign::Foreign(i) => {
            let key = &fx.foreign[pick(fx.foreign.len(), *i)];
            let Ok(sig) = key.sign(signing_input.as_bytes()) else {
                return false;
            };
            (sig, false)
        }
    };
    let mut signature = signed.clone();
    for op in &input.signature {
        match op {
            SigOp::Flip(i, x) if !signature.is_empty() => {
                let i = usize::from(*i) % signature.len();
                signature[i] ^= *x;
            }
            SigOp::Truncate(n) => signature.truncate(usize::from(*n)),
            SigOp::Append(b) => signature.extend_from_slice(b),
            SigOp::Replace(b) => signature.clone_from(b),
            SigOp::Zero => signature.iter_mut().for_each(|b| *b = 0),
            SigOp::Flip(..) => {}
        }
    }
    let signature_text = encode(&signature, input.signature_encoding);
    let token = format!("{signing_input}.{signature_text}");

    let canonical = header_text == b64url(&header_bytes)
        && payload_text == b64url(&payload_bytes)
        && signature_text == b64url(&signature);
    let acceptable = legitimate
        && signature == signed
        && canonical
        && token.len() <= MAX_TOKEN_SIZE
        && claims_pass(&payload_bytes);

    let v = &fx.validator;
    let as_value = v.validate_with::<Value>(&token, None);
    let plain = v.validate(&token);
    let scoped = v.validate_for(&token, &fx.requirement);

    let report = |what: &str| {
        panic!(
            "mutate_token invariant violated: {what}\n token: {token}\n header: {}\n payload: {}\n \
             sign: {:?}, legitimate: {legitimate}, signature intact: {}, canonical: {canonical}, \
             claims pass: {}\n validate::<Value>: {:?}\n validate::<NoCustomClaims>: {:?}\n \
             validate_for: {:?}",
            String::from_utf8_lossy(&header_bytes),
            String::from_utf8_lossy(&payload_bytes),
            input.sign,
            signature == signed,
            claims_pass(&payload_bytes),
            as_value.as_ref().map(|_| ()).map_err(|e| e.kind()),
            plain.as_ref().map(|_| ()).map_err(|e| e.kind()),
            scoped.as_ref().map(|_| ()).map_err(|e| e.kind()),
        )
    };
    if plain.is_ok() && !acceptable {
        report(
            "a token that is not (untouched or re-signed with the right key) and within policy was accepted",
        );
    }
    if as_value.is_ok() != plain.is_ok() {
        report("validate::<Value> and validate::<NoCustomClaims> disagree");
    }
    if scoped.is_ok() && !(plain.is_ok() && scope_grants(&payload_bytes)) {
        report("validate_for accepted a token without the required scope");
    }
    if acceptable && plain.is_err() {
        report("a correctly signed token within policy was rejected");
    }
    plain.is_ok()
}
