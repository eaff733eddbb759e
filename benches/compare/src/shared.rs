//! What every process of the comparison agrees on: the claims, the HMAC
//! secrets, the committed test keys and the rows' keys. Compiled into the
//! main binary and, by path, into the oxitoken worker
//! (`oxitoken/src/main.rs`), so both read the same values.

#![allow(dead_code)]

/// `iss` of every token, and the one issuer every validator accepts.
pub(crate) const ISS: &str = "https://auth.example.com";
/// `sub` of every token; a successful validation must return it.
pub(crate) const SUB: &str = "user-1234567890";
/// `aud` of every token, and the one audience every validator accepts.
pub(crate) const AUD: &str = "https://api.example.com";
/// `scope` of every token.
pub(crate) const SCOPE: &str = "orders:read orders:write profile";
/// `jti` of every token (fixed, so that signing does the same work everywhere).
pub(crate) const JTI: &str = "4f1c2a9e-7d3b-4e8a-9c21-0b6f5d3e8a17";
/// Lifetime of the tokens the sign rows mint.
pub(crate) const LIFETIME_SECS: i64 = 900;
/// The HS256 secret (32 bytes, the minimum RFC 7518 allows).
pub(crate) const HMAC_KEY: [u8; 32] = [0x42; 32];
/// Another HS256 secret: the "wrong signature" token is signed with it.
pub(crate) const WRONG_HMAC_KEY: [u8; 32] = [0x24; 32];

/// Test keys: PKCS#8 private and SPKI public PEM, as committed.
pub(crate) mod pem {
    /// P-256 private key, PKCS#8.
    pub(crate) const P256: &str = include_str!("../../../tests/data/keys/ec_p256_pkcs8.pem");
    /// P-256 public key, SPKI.
    pub(crate) const P256_PUB: &str = include_str!("../../../tests/data/keys/ec_p256_spki.pem");
    /// P-384 private key, PKCS#8.
    pub(crate) const P384: &str = include_str!("../../../tests/data/keys/ec_p384_pkcs8.pem");
    /// P-384 public key, SPKI.
    pub(crate) const P384_PUB: &str = include_str!("../../../tests/data/keys/ec_p384_spki.pem");
    /// Ed25519 private key, PKCS#8 v1.
    pub(crate) const ED25519: &str = include_str!("../../../tests/data/keys/ed25519_pkcs8.pem");
    /// Ed25519 public key, SPKI.
    pub(crate) const ED25519_PUB: &str = include_str!("../../../tests/data/keys/ed25519_spki.pem");
    /// RSA 2048 private key, PKCS#8.
    pub(crate) const RSA: &str = include_str!("../../../tests/data/keys/rsa2048_pkcs8.pem");
    /// RSA 2048 public key, SPKI.
    pub(crate) const RSA_PUB: &str = include_str!("../../../tests/data/keys/rsa2048_spki.pem");
}

/// What a row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Validate the row's token; it must be accepted with the right `sub`.
    Verify,
    /// Validate the row's input; it must be rejected.
    Reject,
    /// Mint a token with the standard claims.
    Sign,
}

/// A row: its key on command lines, its name in the tables, the JWS `alg`
/// of its key, and what it does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowSpec {
    /// The key on command lines (`cell`, `serve`).
    pub(crate) key: &'static str,
    /// The name in the tables.
    pub(crate) name: &'static str,
    /// The JWS `alg` of the key the row uses.
    pub(crate) alg: &'static str,
    /// What the row does.
    pub(crate) kind: Kind,
}

/// Every row, in table order.
pub(crate) const ROWS: [RowSpec; 11] = [
    row("hs256-verify", "HS256 verify+decode", "HS256", Kind::Verify),
    row("hs256-sign", "HS256 sign", "HS256", Kind::Sign),
    row("es256-sign", "ES256 sign", "ES256", Kind::Sign),
    row("es256-verify", "ES256 verify", "ES256", Kind::Verify),
    row("eddsa-verify", "EdDSA verify", "EdDSA", Kind::Verify),
    row("rs256-verify", "RS256 verify", "RS256", Kind::Verify),
    row("ps256-verify", "PS256 verify", "PS256", Kind::Verify),
    row("es384-verify", "ES384 verify", "ES384", Kind::Verify),
    row(
        "garbage",
        "reject garbage (300 B, no dots)",
        "HS256",
        Kind::Reject,
    ),
    row(
        "garbage-segments",
        "reject garbage (300 B, 3 segments)",
        "HS256",
        Kind::Reject,
    ),
    row(
        "hs256-wrong-signature",
        "reject HS256 wrong signature",
        "HS256",
        Kind::Reject,
    ),
];

const fn row(key: &'static str, name: &'static str, alg: &'static str, kind: Kind) -> RowSpec {
    RowSpec {
        key,
        name,
        alg,
        kind,
    }
}

/// The row with command-line key `key`.
pub(crate) fn row_spec(key: &str) -> Option<RowSpec> {
    ROWS.iter().copied().find(|r| r.key == key)
}

/// The `kid` of `alg`'s key, in every header and every key.
pub(crate) fn kid(alg: &str) -> String {
    format!("compare-{}", alg.to_ascii_lowercase())
}

/// Seconds since the epoch, from the system clock (what every library reads).
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
