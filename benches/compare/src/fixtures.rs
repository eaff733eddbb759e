//! What every library is handed: the same claims, the same keys (the
//! committed test keys under `tests/data/keys`), and tokens signed once with
//! ring so that no library under test produced its own input.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde::{Deserialize, Serialize};

use crate::Res;

pub(crate) use crate::shared::{
    AUD, HMAC_KEY, ISS, JTI, LIFETIME_SECS, SCOPE, SUB, WRONG_HMAC_KEY, now_unix, pem,
};

/// The algorithms of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// HMAC SHA-256.
    Hs256,
    /// ECDSA P-256 SHA-256.
    Es256,
    /// ECDSA P-384 SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    Rs256,
    /// RSASSA-PSS SHA-256.
    Ps256,
}

impl Alg {
    /// The JWS `alg` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    /// The `kid` of this algorithm's key, in every header and every key.
    pub(crate) fn kid(self) -> &'static str {
        match self {
            Self::Hs256 => "compare-hs256",
            Self::Es256 => "compare-es256",
            Self::Es384 => "compare-es384",
            Self::EdDsa => "compare-eddsa",
            Self::Rs256 => "compare-rs256",
            Self::Ps256 => "compare-ps256",
        }
    }

    /// The algorithm named `name` (a JWS `alg`).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            Self::Hs256,
            Self::Es256,
            Self::Es384,
            Self::EdDsa,
            Self::Rs256,
            Self::Ps256,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// The private key PEM (`None` for HMAC).
    pub(crate) fn private_pem(self) -> Option<&'static str> {
        match self {
            Self::Hs256 => None,
            Self::Es256 => Some(pem::P256),
            Self::Es384 => Some(pem::P384),
            Self::EdDsa => Some(pem::ED25519),
            Self::Rs256 | Self::Ps256 => Some(pem::RSA),
        }
    }

    /// The public key PEM (`None` for HMAC).
    pub(crate) fn public_pem(self) -> Option<&'static str> {
        match self {
            Self::Hs256 => None,
            Self::Es256 => Some(pem::P256_PUB),
            Self::Es384 => Some(pem::P384_PUB),
            Self::EdDsa => Some(pem::ED25519_PUB),
            Self::Rs256 | Self::Ps256 => Some(pem::RSA_PUB),
        }
    }
}

/// The JOSE header as the floor reads it: borrowed from the decoded bytes
/// (a header with escapes in its strings fails, which no header here has).
#[derive(Debug, Deserialize)]
pub(crate) struct FloorHeader<'a> {
    /// Checked against the key's algorithm.
    pub(crate) alg: &'a str,
    /// Read, not checked (tokengate's validator here accepts any `typ`).
    #[allow(dead_code)]
    pub(crate) typ: Option<&'a str>,
    /// Checked against the key's id when present.
    pub(crate) kid: Option<&'a str>,
}

/// The JOSE header as the floor writes it.
#[derive(Debug, Serialize)]
pub(crate) struct HeaderRef<'a> {
    pub(crate) alg: &'a str,
    pub(crate) typ: &'a str,
    pub(crate) kid: &'a str,
}

/// The claims, typed: what the floor and jsonwebtoken deserialize into.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
pub(crate) struct TypedClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: i64,
    pub(crate) nbf: i64,
    pub(crate) iat: i64,
    pub(crate) jti: String,
    pub(crate) scope: String,
}

/// The claims as the floor and jsonwebtoken write them: borrowed, so the
/// sign rows allocate only what the library itself does.
#[derive(Debug, Serialize)]
pub(crate) struct ClaimsRef<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) exp: i64,
    pub(crate) nbf: i64,
    pub(crate) iat: i64,
    pub(crate) jti: &'a str,
    pub(crate) scope: &'a str,
}

impl ClaimsRef<'static> {
    /// The claims of a token minted at `now`.
    pub(crate) fn at(now: i64, nbf: i64) -> Self {
        Self {
            iss: ISS,
            sub: SUB,
            aud: AUD,
            exp: now + LIFETIME_SECS,
            nbf,
            iat: now,
            jti: JTI,
            scope: SCOPE,
        }
    }
}

/// ring's errors carry no `std::error::Error` without its `std` feature.
fn ring_err(e: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    format!("ring: {e}").into()
}

/// DER bytes of the one block of a PEM file.
pub(crate) fn pem_der(pem: &str) -> Res<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    Ok(STANDARD.decode(body)?)
}

/// ring's key pairs for the test keys, plus the public key bytes ring's
/// `UnparsedPublicKey` takes (SEC1 point, raw Ed25519, PKCS#1 RSAPublicKey).
pub(crate) struct RingKeys {
    pub(crate) hmac: ring::hmac::Key,
    pub(crate) wrong_hmac: ring::hmac::Key,
    pub(crate) p256: EcdsaKeyPair,
    pub(crate) p384: EcdsaKeyPair,
    pub(crate) ed25519: Ed25519KeyPair,
    pub(crate) rsa: RsaKeyPair,
    pub(crate) rng: SystemRandom,
}

impl RingKeys {
    /// Loads the committed test keys.
    pub(crate) fn load() -> Res<Self> {
        let rng = SystemRandom::new();
        let ec = |alg, pem| -> Res<EcdsaKeyPair> {
            EcdsaKeyPair::from_pkcs8(alg, &pem_der(pem)?, &rng).map_err(ring_err)
        };
        Ok(Self {
            hmac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &HMAC_KEY),
            wrong_hmac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &WRONG_HMAC_KEY),
            p256: ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pem::P256)?,
            p384: ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, pem::P384)?,
            // The committed key is PKCS#8 v1 (no embedded public key).
            ed25519: Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_der(pem::ED25519)?)
                .map_err(ring_err)?,
            rsa: RsaKeyPair::from_pkcs8(&pem_der(pem::RSA)?).map_err(ring_err)?,
            rng,
        })
    }

    /// Signs `msg` with `alg`'s key.
    pub(crate) fn sign(&self, alg: Alg, msg: &[u8]) -> Res<Vec<u8>> {
        Ok(match alg {
            Alg::Hs256 => ring::hmac::sign(&self.hmac, msg).as_ref().to_vec(),
            Alg::Es256 => self
                .p256
                .sign(&self.rng, msg)
                .map_err(ring_err)?
                .as_ref()
                .to_vec(),
            Alg::Es384 => self
                .p384
                .sign(&self.rng, msg)
                .map_err(ring_err)?
                .as_ref()
                .to_vec(),
            Alg::EdDsa => self.ed25519.sign(msg).as_ref().to_vec(),
            Alg::Rs256 | Alg::Ps256 => {
                let padding: &dyn signature::RsaEncoding = if alg == Alg::Rs256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                let mut sig = vec![0; self.rsa.public().modulus_len()];
                self.rsa
                    .sign(padding, &self.rng, msg, &mut sig)
                    .map_err(ring_err)?;
                sig
            }
        })
    }

    /// The public key bytes and ring verification algorithm for `alg`
    /// (`None` for HMAC).
    pub(crate) fn public(
        &self,
        alg: Alg,
    ) -> Option<(Vec<u8>, &'static dyn signature::VerificationAlgorithm)> {
        Some(match alg {
            Alg::Hs256 => return None,
            Alg::Es256 => (
                self.p256.public_key().as_ref().to_vec(),
                &signature::ECDSA_P256_SHA256_FIXED,
            ),
            Alg::Es384 => (
                self.p384.public_key().as_ref().to_vec(),
                &signature::ECDSA_P384_SHA384_FIXED,
            ),
            Alg::EdDsa => (
                self.ed25519.public_key().as_ref().to_vec(),
                &signature::ED25519,
            ),
            Alg::Rs256 => (
                self.rsa.public().as_ref().to_vec(),
                &signature::RSA_PKCS1_2048_8192_SHA256,
            ),
            Alg::Ps256 => (
                self.rsa.public().as_ref().to_vec(),
                &signature::RSA_PSS_2048_8192_SHA256,
            ),
        })
    }
}

/// A token every library must accept, signed once with ring, and its parts.
pub(crate) struct Token {
    /// The compact token.
    pub(crate) compact: String,
    /// `header.payload`, what the signature covers.
    pub(crate) signing_input: Vec<u8>,
    /// The decoded signature.
    pub(crate) signature: Vec<u8>,
}

impl Token {
    /// The parts of `compact` (a token handed over by the main binary).
    pub(crate) fn from_compact(compact: &str) -> Res<Self> {
        let (signing_input, sig) = compact.rsplit_once('.').ok_or("not a compact token")?;
        Ok(Self {
            compact: compact.to_owned(),
            signing_input: signing_input.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(sig)?,
        })
    }
}

/// The `nbf` of the tokens (fixed for the run: ten seconds before it started).
pub(crate) fn run_nbf(run_start: i64) -> i64 {
    run_start - 10
}

/// A token for `alg` with the standard claims, valid for a day from
/// `run_start` (the run lasts minutes).
pub(crate) fn token(keys: &RingKeys, alg: Alg, run_start: i64) -> Res<Token> {
    let claims = ClaimsRef {
        exp: run_start + 86_400,
        ..ClaimsRef::at(run_start, run_nbf(run_start))
    };
    token_with(keys, alg, &claims, false)
}

/// A token for `alg` over `claims`; with `wrong_key`, an HS256 token whose
/// tag comes from another secret (well formed, wrong signature).
pub(crate) fn token_with(
    keys: &RingKeys,
    alg: Alg,
    claims: &ClaimsRef<'_>,
    wrong_key: bool,
) -> Res<Token> {
    let header = HeaderRef {
        alg: alg.name(),
        typ: "JWT",
        kid: alg.kid(),
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
    );
    let signature = if wrong_key {
        ring::hmac::sign(&keys.wrong_hmac, signing_input.as_bytes())
            .as_ref()
            .to_vec()
    } else {
        keys.sign(alg, signing_input.as_bytes())?
    };
    let compact = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));
    Ok(Token {
        compact,
        signing_input: signing_input.into_bytes(),
        signature,
    })
}

/// 300 bytes of garbage: no dots, not a token.
pub(crate) fn garbage() -> String {
    "x".repeat(300)
}

/// 300 bytes of garbage in three segments: the shape of a token, a header
/// that is base64url but not JSON, a signature that is not base64url.
pub(crate) fn garbage_segments() -> String {
    format!("{}.{}.{}", "x".repeat(99), "y".repeat(99), "z!".repeat(50))
}
