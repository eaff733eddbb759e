//! Key material: signing keys, verification keys, JWK import and export, and
//! the key stores a validator finds its keys in.
//!
//! A key is bound to exactly one [`Algorithm`] when it is built (RFC 8725
//! §3.1): the same RSA key cannot verify both `RS256` and `PS256` tokens, and
//! an HMAC secret can never be used where a public key is expected, so the
//! algorithm named in a token's header can never choose how the key is used.
//!
//! Keys are parsed once, at construction, into ring's ready forms; a
//! configuration mistake (an HMAC secret shorter than the hash output, an
//! RSA modulus under 2048 bits, a JWK whose `alg` disagrees) fails here, not
//! when the first token arrives. Why a key is refused is read from the key
//! itself (its PKCS#8 algorithm identifier, curve, modulus and exponent),
//! never from the crypto library's error text, so a [`KeyError`] is the
//! same with ring and with aws-lc-rs.
//!
//! Every key has a key id: the one given (`with_key_id`, or a JWK's `kid`),
//! or by default the key's RFC 7638 JWK thumbprint.
//!
//! A JWK Set ([`VerifyingKey::from_jwk_set`], [`KeySetStore::from_jwks`])
//! is a public document: its `oct` members are left out unless
//! [`JwkSetOptions::danger_allow_symmetric_keys`] says the document is
//! private, and every member that cannot be used is left out and reported
//! ([`SkippedJwk`]) instead of failing the whole set.
//!
//! | algorithm | signing key from | verification key from |
//! |---|---|---|
//! | HS256/384/512 | bytes, generated, `oct` JWK | the same secret |
//! | RS/PS 256/384/512 | PKCS#8 or PKCS#1, DER or PEM; RSA JWK; generated with the `aws-lc-rs` feature only (ring cannot: use `openssl genpkey`) | SPKI or PKCS#1, DER or PEM; `n`/`e`; RSA JWK |
//! | ES256, ES384 | generated; PKCS#8 DER or PEM; EC JWK | SPKI DER or PEM; SEC1 point; EC JWK |
//! | EdDSA or Ed25519 (RFC 9864), Ed25519 keys | generated; PKCS#8 DER or PEM; OKP JWK | SPKI DER or PEM; 32 raw bytes; OKP JWK |

mod der;
mod jwk;
pub mod remote;
mod store;

use std::fmt;
use std::sync::Arc;

use crate::crypto::hmac;
use crate::crypto::rand::{SecureRandom, SystemRandom};
use crate::crypto::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use zeroize::Zeroizing;

use crate::crypto;
use crate::error::{Error, KeyError};
use crate::jws::{Algorithm, Family};

pub use jwk::{Jwk, JwkSet, JwkSetImport, JwkSetOptions, SkipReason, SkippedJwk};
pub use remote::{
    FetchOutcome, FetchReason, FetchResult, KeySetPolicy, KeySetStatus, RemoteKeySet,
    UnknownKeyAction,
};
pub use store::{KeyQuery, KeyRing, KeySetStore, KeyStore, SingleKeyStore};

pub(crate) use der::Curve;

/// The key material of a verification key, in ring's ready form.
#[derive(Clone)]
enum Public {
    Hmac(Box<hmac::Key>),
    Rsa {
        /// The verification parameters of the key's one algorithm.
        params: &'static signature::RsaParameters,
        /// PKCS#1 RSAPublicKey DER, as ring's verifier takes it.
        pkcs1: Box<[u8]>,
        n: Box<[u8]>,
        e: Box<[u8]>,
    },
    Ec {
        curve: Curve,
        /// Uncompressed SEC1 point.
        point: Box<[u8]>,
    },
    Ed25519([u8; 32]),
}

/// A key that verifies signatures of one algorithm: a public key, or an
/// HMAC secret.
///
/// Not `Clone`: share it as `Arc<VerifyingKey>`, as key stores do. `Debug`
/// shows the algorithm and key id, never secret bytes.
pub struct VerifyingKey {
    alg: Algorithm,
    kid: String,
    thumbprint: String,
    key: Public,
    prepared: Prepared,
}

/// The public key parsed once for aws-lc-rs, whose `UnparsedPublicKey`
/// parses the key anew on every verification (for RSA, a large part of
/// the cost). Filled on the first verification; `None` inside if
/// aws-lc-rs would not parse it ahead, and the key is then verified as
/// before. ring's verifiers take the bytes as they are: on ring this holds
/// nothing.
#[derive(Clone, Default)]
struct Prepared(
    #[cfg(feature = "aws-lc-rs")] std::sync::OnceLock<Option<signature::ParsedPublicKey>>,
);

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("VerifyingKey");
        d.field("alg", &self.alg).field("kid", &self.kid);
        if matches!(self.key, Public::Hmac(_)) {
            d.field("secret", &"[redacted]");
        }
        d.finish()
    }
}

// The maps from an algorithm to its parameters list every algorithm, with
// no `_ =>` arm: an algorithm added to `Algorithm` fails to compile here
// until it is given its parameters (or `None`), instead of silently getting
// those of the last arm. Each answers `None` for another family.

/// The RSA verification parameters of an RSA algorithm.
fn rsa_verify_params(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    match alg {
        Algorithm::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA
        | Algorithm::Ed25519 => None,
        #[cfg(feature = "aws-lc-rs")]
        Algorithm::ES512 => None,
    }
}

/// The RSA signature padding of an RSA algorithm.
fn rsa_sign_padding(alg: Algorithm) -> Option<&'static dyn signature::RsaEncoding> {
    match alg {
        Algorithm::RS256 => Some(&signature::RSA_PKCS1_SHA256),
        Algorithm::RS384 => Some(&signature::RSA_PKCS1_SHA384),
        Algorithm::RS512 => Some(&signature::RSA_PKCS1_SHA512),
        Algorithm::PS256 => Some(&signature::RSA_PSS_SHA256),
        Algorithm::PS384 => Some(&signature::RSA_PSS_SHA384),
        Algorithm::PS512 => Some(&signature::RSA_PSS_SHA512),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA
        | Algorithm::Ed25519 => None,
        #[cfg(feature = "aws-lc-rs")]
        Algorithm::ES512 => None,
    }
}

/// The HMAC algorithm of an HMAC algorithm and its minimum secret length:
/// the hash output size (RFC 7518 §3.2).
fn hmac_params(alg: Algorithm) -> Option<(hmac::Algorithm, usize)> {
    match alg {
        Algorithm::HS256 => Some((hmac::HMAC_SHA256, 32)),
        Algorithm::HS384 => Some((hmac::HMAC_SHA384, 48)),
        Algorithm::HS512 => Some((hmac::HMAC_SHA512, 64)),
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA
        | Algorithm::Ed25519 => None,
        #[cfg(feature = "aws-lc-rs")]
        Algorithm::ES512 => None,
    }
}

/// The curve of an ECDSA algorithm.
fn curve_of(alg: Algorithm) -> Option<Curve> {
    match alg {
        Algorithm::ES256 => Some(Curve::P256),
        Algorithm::ES384 => Some(Curve::P384),
        #[cfg(feature = "aws-lc-rs")]
        Algorithm::ES512 => Some(Curve::P521),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::EdDSA
        | Algorithm::Ed25519 => None,
    }
}

/// The ECDSA signing parameters of an ECDSA algorithm.
fn ecdsa_signing(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    curve_of(alg).map(|curve| match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        #[cfg(feature = "aws-lc-rs")]
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
    })
}

/// The ECDSA verification parameters of a curve.
fn ecdsa_verify_params(curve: Curve) -> &'static signature::EcdsaVerificationAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        #[cfg(feature = "aws-lc-rs")]
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
    }
}

/// Bytes of an uncompressed SEC1 point on `curve`.
pub(crate) fn point_len(curve: Curve) -> usize {
    coordinate_len(curve).saturating_mul(2).saturating_add(1)
}

/// Bytes of one coordinate (and of a private scalar) on `curve`.
pub(crate) fn coordinate_len(curve: Curve) -> usize {
    match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
        #[cfg(feature = "aws-lc-rs")]
        Curve::P521 => 66,
    }
}

const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

fn require_family(alg: Algorithm, family: Family) -> Result<(), KeyError> {
    if alg.family() == family {
        Ok(())
    } else {
        Err(KeyError::AlgorithmMismatch)
    }
}

/// Maps a refusal by the crypto library to [`KeyError::Rejected`] with a
/// fixed reason. The library's own reason is not looked at: its wording is
/// no API and differs between ring and aws-lc-rs. What can be judged from
/// the key's structure (format, key type and curve, RSA modulus size) is
/// checked before the library sees the key, so a refusal here is one of
/// the library's own consistency checks.
fn refused(why: &'static str) -> impl Fn(crypto::error::KeyRejected) -> KeyError {
    move |_| KeyError::Rejected(why)
}

/// The RSA modulus sizes this crate (and both crypto backends) accept.
fn check_rsa_bits(bits: usize) -> Result<(), KeyError> {
    if bits < RSA_MIN_BITS {
        Err(KeyError::RsaTooSmall { bits: Some(bits) })
    } else if bits > RSA_MAX_BITS {
        Err(KeyError::Rejected("RSA modulus over 8192 bits"))
    } else {
        Ok(())
    }
}

/// Decodes one PEM block and returns its label and zeroizing contents.
fn decode_pem(pem: &str) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    let block = pem::parse(pem).map_err(|_| KeyError::Format("PEM"))?;
    let tag = block.tag().to_owned();
    Ok((tag, Zeroizing::new(block.into_contents())))
}

impl VerifyingKey {
    fn build(alg: Algorithm, key: Public) -> Self {
        let mut k = Self {
            alg,
            kid: String::new(),
            thumbprint: String::new(),
            key,
            prepared: Prepared::default(),
        };
        k.thumbprint = jwk::export(&k).map(|j| j.thumbprint()).unwrap_or_default();
        k.kid.clone_from(&k.thumbprint);
        k
    }

    /// A verification key for an HMAC algorithm from the shared secret.
    ///
    /// The secret must be random bytes: a secret that is a key document
    /// (a PEM document, a DER public key or certificate, a JWK or JWK Set,
    /// an EC public point) is refused, since a public key used as an HMAC
    /// secret lets anyone who has it sign tokens (CVE-2016-10555).
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgorithmMismatch`] for a non-HMAC `alg`;
    /// [`KeyError::PublicKeyAsHmacSecret`] for a secret that is a key
    /// document; [`KeyError::SecretTooShort`] for a secret shorter than the
    /// hash output (32, 48 or 64 bytes, RFC 7518 §3.2).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let (key, kid) = hmac_key(alg, secret, true)?;
        Ok(Self {
            alg,
            thumbprint: kid.clone(),
            kid,
            key: Public::Hmac(Box::new(key)),
            prepared: Prepared::default(),
        })
    }

    /// An RSA public key from its modulus and exponent (big-endian bytes).
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgorithmMismatch`] for a non-RSA `alg`;
    /// [`KeyError::RsaTooSmall`] for a modulus under 2048 bits;
    /// [`KeyError::Rejected`] for one over 8192 bits, an even modulus, or an
    /// exponent outside what both crypto backends verify with: odd, from 3
    /// to 2^33 - 1 (ring and aws-lc-rs refuse any other at every
    /// verification, so such a key would fail every token).
    pub fn from_rsa_components(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, Error> {
        require_family(alg, Family::Rsa)?;
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        check_rsa_bits(der::bit_len(n))?;
        // ring and aws-lc-rs verify only with an odd modulus and an odd
        // exponent from 3 to 2^33 - 1, and refuse any other key at every
        // verification: refuse it now instead.
        if !rsa_exponent_is_usable(e) {
            return Err(KeyError::Rejected(
                "RSA public exponent: the crypto library takes an odd exponent from 3 to 2^33 - 1",
            )
            .into());
        }
        if n.last().is_none_or(|b| b & 1 == 0) {
            return Err(KeyError::Rejected("RSA modulus is even").into());
        }
        let params = rsa_verify_params(alg).ok_or(KeyError::AlgorithmMismatch)?;
        let pkcs1 = rsa_public_der(n, e);
        Ok(Self::build(
            alg,
            Public::Rsa {
                params,
                pkcs1: pkcs1.into(),
                n: n.into(),
                e: e.into(),
            },
        ))
    }

    /// A public key from a PKCS#1 `RSAPublicKey` in DER.
    ///
    /// # Errors
    ///
    /// As [`VerifyingKey::from_rsa_components`], and [`KeyError::Format`]
    /// when the DER does not parse.
    pub fn from_pkcs1_der(alg: Algorithm, der: &[u8]) -> Result<Self, Error> {
        require_family(alg, Family::Rsa)?;
        let (n, e) = der::parse_rsa_public(der)?;
        Self::from_rsa_components(alg, n, e)
    }

    /// An EC public key (`ES256` or `ES384`) from a SEC1 uncompressed point
    /// (`0x04 || x || y`).
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgorithmMismatch`] for a non-ECDSA `alg`;
    /// [`KeyError::Format`] for a point of the wrong size or form.
    pub fn from_ec_point(alg: Algorithm, point: &[u8]) -> Result<Self, Error> {
        let curve = curve_of(alg).ok_or(KeyError::AlgorithmMismatch)?;
        if point.len() != point_len(curve) || point.first() != Some(&4) {
            return Err(KeyError::Format("uncompressed SEC1 point").into());
        }
        check_on_curve(curve, point)?;
        Ok(Self::build(
            alg,
            Public::Ec {
                curve,
                point: point.into(),
            },
        ))
    }

    /// An Ed25519 public key for `EdDSA` from its 32 bytes; see
    /// [`VerifyingKey::from_ed25519_for`] for the fully-specified
    /// `Ed25519` name.
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] when `public` is not 32 bytes long.
    pub fn from_ed25519(public: &[u8]) -> Result<Self, Error> {
        Self::from_ed25519_for(Algorithm::EdDSA, public)
    }

    /// An Ed25519 public key from its 32 bytes, bound to `alg`: `EdDSA`
    /// (RFC 8037) or `Ed25519` (RFC 9864). The key verifies tokens of that
    /// one name only.
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgorithmMismatch`] for any other `alg`;
    /// [`KeyError::Format`] when `public` is not 32 bytes long.
    pub fn from_ed25519_for(alg: Algorithm, public: &[u8]) -> Result<Self, Error> {
        require_family(alg, Family::Ed25519)?;
        let bytes: [u8; 32] = public
            .try_into()
            .map_err(|_| KeyError::Format("32-byte Ed25519 public key"))?;
        Ok(Self::build(alg, Public::Ed25519(bytes)))
    }

    /// A public key from a DER SubjectPublicKeyInfo (the body of a
    /// `PUBLIC KEY` PEM block): RSA, EC P-256/P-384 or Ed25519.
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] for DER that does not parse;
    /// [`KeyError::AlgorithmMismatch`] when the key's type or curve does not
    /// fit `alg`; the errors of the per-type constructors.
    pub fn from_spki_der(alg: Algorithm, der: &[u8]) -> Result<Self, Error> {
        match der::parse_spki(der)? {
            der::SpkiKey::Rsa(pkcs1) => Self::from_pkcs1_der(alg, pkcs1),
            der::SpkiKey::Ec { curve, point } => {
                if curve_of(alg) != Some(curve) {
                    return Err(KeyError::AlgorithmMismatch.into());
                }
                Self::from_ec_point(alg, point)
            }
            der::SpkiKey::Ed25519(bytes) => Self::from_ed25519_for(alg, bytes),
        }
    }

    /// A verification key from PEM: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY`
    /// (PKCS#1), or a private key (`PRIVATE KEY`, `RSA PRIVATE KEY`), whose
    /// public half is taken.
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] for PEM that does not parse or an unknown label;
    /// the errors of the DER constructors.
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, Error> {
        let (tag, der) = decode_pem(pem)?;
        match tag.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(alg, &der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(alg, &der),
            "PRIVATE KEY" | "RSA PRIVATE KEY" => {
                Ok(SigningKey::from_pem(alg, pem)?.public.duplicate())
            }
            _ => Err(KeyError::Format("PEM label").into()),
        }
    }

    /// Replaces the key id (by default the RFC 7638 thumbprint).
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id (`kid`).
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// `true` for an HMAC secret, which must never be published.
    pub fn is_secret(&self) -> bool {
        matches!(self.key, Public::Hmac(_))
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of the key.
    ///
    /// For an HMAC key it is the thumbprint of its secret: as safe to show
    /// as any token signed with that secret, no safer.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public key as a JWK, or `None` for an HMAC secret, which is never
    /// exported.
    pub fn to_jwk(&self) -> Option<Jwk> {
        jwk::export(self)
    }

    /// Verifies `signature` over `message` with this key's one algorithm.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignature`] when it does not verify. The error says
    /// nothing more (no side channel on why).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        #[cfg(feature = "aws-lc-rs")]
        if let Some(parsed) = self.parsed() {
            return parsed
                .verify_sig(message, signature)
                .map_err(|_| Error::InvalidSignature);
        }
        let ok = match &self.key {
            Public::Hmac(key) => hmac::verify(key, message, signature),
            Public::Rsa { params, pkcs1, .. } => {
                signature::UnparsedPublicKey::new(*params, pkcs1).verify(message, signature)
            }
            Public::Ec { curve, point } => {
                signature::UnparsedPublicKey::new(ecdsa_verify_params(*curve), point)
                    .verify(message, signature)
            }
            Public::Ed25519(public) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, public)
                    .verify(message, signature)
            }
        };
        ok.map_err(|_| Error::InvalidSignature)
    }

    /// The public key parsed by aws-lc-rs, once; `None` for an HMAC key.
    #[cfg(feature = "aws-lc-rs")]
    fn parsed(&self) -> Option<&signature::ParsedPublicKey> {
        self.prepared
            .0
            .get_or_init(|| match &self.key {
                Public::Hmac(_) => None,
                Public::Rsa { params, pkcs1, .. } => {
                    signature::ParsedPublicKey::new(*params, pkcs1).ok()
                }
                Public::Ec { curve, point } => {
                    signature::ParsedPublicKey::new(ecdsa_verify_params(*curve), point).ok()
                }
                Public::Ed25519(public) => {
                    signature::ParsedPublicKey::new(&signature::ED25519, public).ok()
                }
            })
            .as_ref()
    }

    pub(crate) fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.key {
            Public::Rsa { n, e, .. } => Some((n, e)),
            Public::Hmac(_) | Public::Ec { .. } | Public::Ed25519(_) => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn ec_point(&self) -> Option<(Curve, &[u8])> {
        match &self.key {
            Public::Ec { curve, point } => Some((*curve, point)),
            Public::Hmac(_) | Public::Rsa { .. } | Public::Ed25519(_) => None,
        }
    }

    pub(crate) fn duplicate(&self) -> Self {
        Self {
            alg: self.alg,
            kid: self.kid.clone(),
            thumbprint: self.thumbprint.clone(),
            key: self.key.clone(),
            prepared: self.prepared.clone(),
        }
    }
}

/// Refuses a point that is not on the curve when the key is built, rather
/// than failing every verification later: ring validates a peer's point
/// fully in an ephemeral key agreement.
fn check_on_curve(curve: Curve, point: &[u8]) -> Result<(), KeyError> {
    use crate::crypto::agreement;
    let alg = match curve {
        Curve::P256 => &agreement::ECDH_P256,
        Curve::P384 => &agreement::ECDH_P384,
        #[cfg(feature = "aws-lc-rs")]
        Curve::P521 => &agreement::ECDH_P521,
    };
    let ephemeral = agreement::EphemeralPrivateKey::generate(alg, &SystemRandom::new())
        .map_err(|_| KeyError::Rejected("the system random generator failed"))?;
    crypto::agree_ephemeral_ok(ephemeral, alg, point)
        .then_some(())
        .ok_or(KeyError::Rejected("EC point is not on the curve"))
}

/// The largest RSA public exponent ring and aws-lc-rs verify with (both
/// bound it to 33 bits against denial of service).
const RSA_MAX_EXPONENT: u64 = (1 << 33) - 1;

/// `true` for an exponent (big-endian, without leading zeros) that both
/// backends verify with: odd, from 3 to [`RSA_MAX_EXPONENT`].
fn rsa_exponent_is_usable(e: &[u8]) -> bool {
    let mut buf = [0u8; 8];
    let Some(slot) = 8usize
        .checked_sub(e.len())
        .and_then(|start| buf.get_mut(start..))
    else {
        return false;
    };
    slot.copy_from_slice(e);
    let value = u64::from_be_bytes(buf);
    value & 1 == 1 && (3..=RSA_MAX_EXPONENT).contains(&value)
}

fn strip_zeros(be: &[u8]) -> &[u8] {
    let start = be.iter().position(|b| *b != 0).unwrap_or(be.len());
    be.get(start..).unwrap_or(&[])
}

/// DER of `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`.
fn rsa_public_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            let significant = bytes.get(skip..).unwrap_or(&[]);
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(significant);
        }
    }
    fn integer(be: &[u8]) -> Vec<u8> {
        let pad = be.first().is_some_and(|b| b & 0x80 != 0);
        let mut out = vec![0x02];
        push_len(&mut out, be.len().saturating_add(usize::from(pad)));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(be);
        out
    }
    let body = [integer(n), integer(e)].concat();
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn hmac_key(
    alg: Algorithm,
    secret: &[u8],
    refuse_keys: bool,
) -> Result<(hmac::Key, String), KeyError> {
    let (algorithm, min) = hmac_params(alg).ok_or(KeyError::AlgorithmMismatch)?;
    if refuse_keys && let Some(form) = key_document_form(secret) {
        return Err(KeyError::PublicKeyAsHmacSecret { form });
    }
    if secret.len() < min {
        return Err(KeyError::SecretTooShort {
            min,
            len: secret.len(),
        });
    }
    Ok((
        hmac::Key::new(algorithm, secret),
        jwk::thumbprint_oct(secret),
    ))
}

/// What an HMAC secret is when it is a key document instead of random
/// bytes: a PEM document, a DER SubjectPublicKeyInfo, PKCS#1 RSAPublicKey
/// or X.509 certificate, a JWK or JWK Set, or an uncompressed EC point on a
/// curve this build implements.
///
/// Each check needs a whole well-formed structure (a PEM document that
/// parses, DER that decodes to the end, a JSON object with `kty` or
/// `keys`, a point that passes the curve equation), never a leading byte,
/// so a random secret is taken for a key with a probability far below any
/// that matters (an EC point: about 2^-256).
fn key_document_form(secret: &[u8]) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct JwkProbe {
        kty: Option<serde::de::IgnoredAny>,
        keys: Option<serde::de::IgnoredAny>,
    }
    if pem::parse(secret).is_ok() {
        return Some("PEM document");
    }
    if der::is_spki(secret) {
        return Some("DER SubjectPublicKeyInfo");
    }
    if der::parse_rsa_public(secret).is_ok() {
        return Some("DER PKCS#1 RSAPublicKey");
    }
    if der::is_certificate(secret) {
        return Some("DER X.509 certificate");
    }
    if let Ok(probe) = serde_json::from_slice::<JwkProbe>(secret) {
        if probe.kty.is_some() {
            return Some("JWK");
        }
        if probe.keys.is_some() {
            return Some("JWK Set");
        }
    }
    let curves = [
        Curve::P256,
        Curve::P384,
        #[cfg(feature = "aws-lc-rs")]
        Curve::P521,
    ];
    let on_a_curve = secret.first() == Some(&4)
        && curves
            .into_iter()
            .any(|c| point_len(c) == secret.len() && check_on_curve(c, secret).is_ok());
    on_a_curve.then_some("SEC1 EC public point")
}

/// A fresh RSA key with a 2048-bit modulus as PKCS#8 DER: aws-lc-rs
/// generates RSA keys.
#[cfg(feature = "aws-lc-rs")]
fn generate_rsa_pkcs8() -> Result<Zeroizing<Vec<u8>>, Error> {
    use aws_lc_rs::encoding::{AsDer as _, Pkcs8V1Der};
    let pair =
        RsaKeyPair::generate(crypto::rsa::KeySize::Rsa2048).map_err(|_| Error::RandomnessFailed)?;
    let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| Error::RandomnessFailed)?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

/// ring cannot generate RSA keys.
#[cfg(not(feature = "aws-lc-rs"))]
fn generate_rsa_pkcs8() -> Result<Zeroizing<Vec<u8>>, Error> {
    Err(KeyError::Unsupported(
        "RSA key generation with ring: load a key made with `openssl genpkey`, \
         or enable the aws-lc-rs feature",
    )
    .into())
}

enum Private {
    Hmac(Box<hmac::Key>),
    Rsa {
        pair: RsaKeyPair,
        /// The signature padding of the key's one algorithm.
        padding: &'static dyn signature::RsaEncoding,
    },
    Ec(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key that signs tokens with one algorithm: an HMAC secret or a private
/// key.
///
/// Not `Clone` (share it as `Arc<SigningKey>`); `Debug` prints the
/// algorithm and key id only. Buffers this crate decodes private key bytes
/// into (PEM bodies, JWK members, generated PKCS#8 documents) are zeroized
/// when dropped; the parsed key lives inside ring's key types.
pub struct SigningKey {
    alg: Algorithm,
    key: Private,
    public: Arc<VerifyingKey>,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.public.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    fn with_public(alg: Algorithm, key: Private, public: VerifyingKey) -> Self {
        Self {
            alg,
            key,
            public: Arc::new(public),
            rng: SystemRandom::new(),
        }
    }

    /// An HMAC signing key from a shared secret, which must be random
    /// bytes, never a key document (see [`VerifyingKey::hmac`]).
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgorithmMismatch`] for a non-HMAC `alg`;
    /// [`KeyError::PublicKeyAsHmacSecret`] for a secret that is a PEM
    /// document, a DER public key or certificate, a JWK or JWK Set, or an
    /// EC public point; [`KeyError::SecretTooShort`] for a secret shorter
    /// than the hash output (32, 48 or 64 bytes, RFC 7518 §3.2).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        Self::hmac_with(alg, secret, true)
    }

    /// As [`SigningKey::hmac`], without refusing a secret that is a public
    /// key: for `testing::attacker_hmac_key` only.
    #[cfg(feature = "testing")]
    pub(crate) fn hmac_accepting_public_keys(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        Self::hmac_with(alg, secret, false)
    }

    fn hmac_with(alg: Algorithm, secret: &[u8], refuse_keys: bool) -> Result<Self, Error> {
        let (key, kid) = hmac_key(alg, secret, refuse_keys)?;
        let public = VerifyingKey {
            alg,
            thumbprint: kid.clone(),
            kid,
            key: Public::Hmac(Box::new(key.clone())),
            prepared: Prepared::default(),
        };
        Ok(Self::with_public(alg, Private::Hmac(Box::new(key)), public))
    }

    /// Generates a fresh key with the crypto library's system random
    /// generator: an HMAC secret as long as the hash output, an ECDSA or
    /// Ed25519 key pair, or, with the `aws-lc-rs` feature only, an RSA key
    /// pair with a 2048-bit modulus.
    ///
    /// ring cannot generate RSA keys: with the default backend, make one
    /// with a dedicated tool and load it, for example
    ///
    /// ```sh
    /// openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem
    /// ```
    ///
    /// then `SigningKey::from_pem(Algorithm::RS256, &std::fs::read_to_string("rsa.pem")?)`
    /// ([`SigningKey::from_pem`]).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for an RSA algorithm with ring (the
    /// default backend); [`Error::RandomnessFailed`] if the system random
    /// generator (or, for RSA, aws-lc-rs's key generation) fails.
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        match alg.family() {
            Family::Hmac => {
                let (_, len) = hmac_params(alg).ok_or(KeyError::AlgorithmMismatch)?;
                let mut secret = Zeroizing::new(vec![0u8; len]);
                SystemRandom::new()
                    .fill(&mut secret)
                    .map_err(|_| Error::RandomnessFailed)?;
                Self::hmac(alg, &secret)
            }
            Family::Ec | Family::Ed25519 | Family::Rsa => {
                let pkcs8 = Self::generate_pkcs8_der(alg)?;
                Self::from_pkcs8_der(alg, &pkcs8)
            }
        }
    }

    /// Generates an ECDSA or Ed25519 private key (and, with the `aws-lc-rs`
    /// feature, an RSA key with a 2048-bit modulus) and returns it as a
    /// PKCS#8 DER document (zeroized on drop), for storing and loading
    /// later with [`SigningKey::from_pkcs8_der`].
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for HMAC algorithms, and for RSA with ring
    /// (see [`SigningKey::generate`]); [`Error::RandomnessFailed`] if the
    /// system random generator (or aws-lc-rs's RSA key generation) fails.
    pub fn generate_pkcs8_der(alg: Algorithm) -> Result<Zeroizing<Vec<u8>>, Error> {
        let rng = SystemRandom::new();
        let doc = match alg.family() {
            Family::Ec => EcdsaKeyPair::generate_pkcs8(
                ecdsa_signing(alg).ok_or(KeyError::AlgorithmMismatch)?,
                &rng,
            ),
            Family::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            Family::Rsa => return generate_rsa_pkcs8(),
            Family::Hmac => {
                return Err(KeyError::Unsupported("PKCS#8 generation for this algorithm").into());
            }
        }
        .map_err(|_| Error::RandomnessFailed)?;
        Ok(Zeroizing::new(doc.as_ref().to_vec()))
    }

    /// A private key from PKCS#8 DER (v1 or v2): RSA, EC P-256/P-384 with
    /// its public key, or Ed25519.
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] for DER that is not PKCS#8;
    /// [`KeyError::Unsupported`] for a key type or curve this build does
    /// not implement; [`KeyError::AlgorithmMismatch`] when the key's type or
    /// curve does not fit `alg` (HMAC algorithms take no PKCS#8);
    /// [`KeyError::RsaTooSmall`] for RSA under 2048 bits; these are read
    /// from the document and are the same with either crypto backend.
    /// [`KeyError::Rejected`] for anything else the crypto library refuses
    /// (inconsistent parts; ring also signs with RSA keys of at most 4096
    /// bits only).
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, Error> {
        if alg.family() == Family::Hmac {
            return Err(KeyError::AlgorithmMismatch.into());
        }
        // The key type, curve and RSA size come from the document itself,
        // so these errors do not depend on the crypto library's wording.
        match (alg.family(), der::pkcs8_key_type(der)?) {
            (Family::Rsa, der::PrivateKeyType::Rsa { bits }) => {
                check_rsa_bits(bits)?;
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(refused("the crypto library refused the RSA private key"))?;
                Self::from_rsa(alg, pair)
            }
            (Family::Ec, der::PrivateKeyType::Ec(curve)) if curve_of(alg) == Some(curve) => {
                let params = ecdsa_signing(alg).ok_or(KeyError::AlgorithmMismatch)?;
                let pair = crypto::ecdsa_from_pkcs8(params, der)
                    .map_err(refused("the crypto library refused the EC private key"))?;
                let public = VerifyingKey::from_ec_point(alg, pair.public_key().as_ref())?;
                Ok(Self::with_public(alg, Private::Ec(pair), public))
            }
            (Family::Ed25519, der::PrivateKeyType::Ed25519) => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(refused(
                    "the crypto library refused the Ed25519 private key",
                ))?;
                let public = VerifyingKey::from_ed25519_for(alg, pair.public_key().as_ref())?;
                Ok(Self::with_public(alg, Private::Ed25519(pair), public))
            }
            // Another key type, or an EC key on another curve.
            (Family::Hmac | Family::Rsa | Family::Ec | Family::Ed25519, _) => {
                Err(KeyError::AlgorithmMismatch.into())
            }
        }
    }

    /// An RSA private key from PKCS#1 `RSAPrivateKey` DER.
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgorithmMismatch`] for a non-RSA `alg`; as
    /// [`SigningKey::from_pkcs8_der`] otherwise.
    pub fn from_pkcs1_der(alg: Algorithm, der: &[u8]) -> Result<Self, Error> {
        require_family(alg, Family::Rsa)?;
        let (n, _) = der::parse_rsa_private(der)?;
        check_rsa_bits(der::bit_len(n))?;
        let pair = RsaKeyPair::from_der(der)
            .map_err(refused("the crypto library refused the RSA private key"))?;
        Self::from_rsa(alg, pair)
    }

    /// A private key from PEM: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY`
    /// (PKCS#1).
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] for PEM that does not parse or another label
    /// (`EC PRIVATE KEY` must be converted to PKCS#8 first); as the DER
    /// constructors otherwise.
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, Error> {
        let (tag, der) = decode_pem(pem)?;
        match tag.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(alg, &der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(alg, &der),
            _ => Err(KeyError::Format("PEM label").into()),
        }
    }

    fn from_rsa(alg: Algorithm, pair: RsaKeyPair) -> Result<Self, Error> {
        let padding = rsa_sign_padding(alg).ok_or(KeyError::AlgorithmMismatch)?;
        let public = VerifyingKey::from_pkcs1_der(alg, pair.public_key().as_ref())?;
        Ok(Self::with_public(
            alg,
            Private::Rsa { pair, padding },
            public,
        ))
    }

    pub(crate) fn from_parts_ec(alg: Algorithm, d: &[u8], point: &[u8]) -> Result<Self, Error> {
        let params = ecdsa_signing(alg).ok_or(KeyError::AlgorithmMismatch)?;
        let pair = crypto::ecdsa_from_parts(params, d, point).map_err(refused(
            "EC private key: `d` does not belong to the public point",
        ))?;
        let public = VerifyingKey::from_ec_point(alg, pair.public_key().as_ref())?;
        Ok(Self::with_public(alg, Private::Ec(pair), public))
    }

    pub(crate) fn from_parts_ed25519(
        alg: Algorithm,
        seed: &[u8],
        public: &[u8],
    ) -> Result<Self, Error> {
        require_family(alg, Family::Ed25519)?;
        if seed.len() != 32 {
            return Err(KeyError::Format("32-byte Ed25519 seed").into());
        }
        if public.len() != 32 {
            return Err(KeyError::Format("32-byte Ed25519 public key").into());
        }
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, public).map_err(refused(
            "Ed25519 private key: the seed does not belong to the public key",
        ))?;
        let public = VerifyingKey::from_ed25519_for(alg, pair.public_key().as_ref())?;
        Ok(Self::with_public(alg, Private::Ed25519(pair), public))
    }

    pub(crate) fn from_parts_rsa(
        alg: Algorithm,
        parts: &crate::crypto::rsa::KeyPairComponents<&[u8]>,
    ) -> Result<Self, Error> {
        Self::from_rsa(
            alg,
            RsaKeyPair::from_components(parts).map_err(refused(
                "RSA private key: inconsistent components, or refused by the crypto library",
            ))?,
        )
    }

    /// Replaces the key id (by default the RFC 7638 thumbprint). The
    /// verification key follows.
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        let public = self.public.duplicate().with_key_id(kid);
        self.public = Arc::new(public);
        self
    }

    /// The one algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id (`kid`) written into token headers.
    pub fn key_id(&self) -> &str {
        &self.public.kid
    }

    /// The matching verification key (for HMAC, the same secret).
    pub fn verifying_key(&self) -> Arc<VerifyingKey> {
        Arc::clone(&self.public)
    }

    /// Signs `message` and returns the JWS signature bytes (ECDSA in the
    /// fixed-size `r || s` form JWS requires).
    ///
    /// # Errors
    ///
    /// [`Error::SigningFailed`] if ring fails (which for valid keys means the
    /// system random generator failed).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.key {
            Private::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Private::Rsa { pair, padding } => {
                // The signature is as long as the modulus in bytes.
                let len = self.public.rsa_components().map_or(0, |(n, _)| n.len());
                let mut sig = vec![0; len];
                pair.sign(*padding, &self.rng, message, &mut sig)
                    .map_err(|_| Error::SigningFailed)?;
                Ok(sig)
            }
            Private::Ec(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::SigningFailed),
            Private::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On aws-lc-rs every public key is verified through its parsed form,
    /// and verifies exactly what the unparsed form does.
    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn public_keys_are_parsed_once_for_aws_lc_rs() {
        for alg in [
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::ES512,
            Algorithm::EdDSA,
            Algorithm::RS256,
            Algorithm::PS384,
        ] {
            let key = SigningKey::generate(alg).unwrap();
            let public = key.verifying_key();
            let signature = key.sign(b"message").unwrap();
            public.verify(b"message", &signature).unwrap();
            assert!(public.parsed().is_some(), "{alg:?}");
            assert!(public.verify(b"messagf", &signature).is_err());
            let mut bad = signature.clone();
            bad[3] ^= 1;
            assert!(public.verify(b"message", &bad).is_err());
        }
        let hmac = VerifyingKey::hmac(Algorithm::HS256, &[7; 32]).unwrap();
        assert!(hmac.parsed().is_none());
    }

    #[test]
    fn hmac_secret_minimums() {
        for (alg, min) in [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ] {
            let short = vec![7u8; min - 1];
            assert!(matches!(
                SigningKey::hmac(alg, &short),
                Err(Error::InvalidKey(KeyError::SecretTooShort { .. }))
            ));
            assert!(SigningKey::hmac(alg, &vec![7u8; min]).is_ok());
            assert!(VerifyingKey::hmac(alg, &vec![7u8; min]).is_ok());
        }
        assert!(matches!(
            SigningKey::hmac(Algorithm::ES256, &[1; 64]),
            Err(Error::InvalidKey(KeyError::AlgorithmMismatch))
        ));
    }

    /// Random secrets, and random secrets that begin like a key document,
    /// are never taken for a public key: the checks need a whole
    /// well-formed structure, not a leading byte.
    #[test]
    fn random_secrets_are_never_mistaken_for_public_keys() {
        let rng = SystemRandom::new();
        let mut tried = 0;
        for len in [32, 48, 64, 65, 97, 128] {
            for first in [None, Some(0x30), Some(0x04), Some(b'{'), Some(b'-')] {
                for _ in 0..500 {
                    let mut secret = vec![0u8; len];
                    rng.fill(&mut secret).unwrap();
                    if let Some(b) = first {
                        secret[0] = b;
                    }
                    assert_eq!(key_document_form(&secret), None, "{secret:?}");
                    tried += 1;
                }
            }
        }
        assert_eq!(tried, 15_000);
        // Text and bytes that start like a document but are not one.
        for secret in [
            &b"-----BEGIN PUBLIC KEY----- is how a PEM file starts, not this"[..],
            b"{\"kty\": not JSON, a passphrase that mentions kty at length}",
            b"{\"sub\":\"a JSON object without kty or keys is no JWK\"}",
            &[0x30; 48],
            &[0x04; 65],
            &[
                0x30, 0x1e, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00,
            ],
        ] {
            assert_eq!(key_document_form(secret), None, "{secret:?}");
            assert!(VerifyingKey::hmac(Algorithm::HS256, secret).is_ok());
        }
        // An uncompressed point that is on the curve is a key.
        let ec = SigningKey::generate(Algorithm::ES256).unwrap();
        let point = ec.verifying_key().ec_point().unwrap().1.to_vec();
        assert_eq!(key_document_form(&point), Some("SEC1 EC public point"));
    }

    #[test]
    fn debug_is_redacted() {
        let secret = [0x41u8; 32];
        let key = SigningKey::hmac(Algorithm::HS256, &secret)
            .unwrap()
            .with_key_id("k1");
        let shown = format!("{key:?} {:?}", key.verifying_key());
        assert_eq!(
            shown,
            "SigningKey { alg: HS256, kid: \"k1\", key: \"[redacted]\" } \
             VerifyingKey { alg: HS256, kid: \"k1\", secret: \"[redacted]\" }"
        );
        assert!(!shown.contains("AAAA") && !shown.contains("65"));
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        for alg in Algorithm::ALL {
            let key = match SigningKey::generate(alg) {
                Ok(k) => k,
                Err(Error::InvalidKey(KeyError::Unsupported(_))) if alg.family() == Family::Rsa => {
                    continue;
                }
                Err(e) => panic!("{alg}: {e}"),
            };
            let sig = key.sign(b"msg").unwrap();
            key.verifying_key().verify(b"msg", &sig).unwrap();
            assert!(key.verifying_key().verify(b"msh", &sig).is_err());
            assert_eq!(key.key_id(), key.verifying_key().thumbprint());
        }
    }

    #[test]
    fn rsa_public_der_encodes_lengths() {
        let n = [0xffu8; 256];
        let der = rsa_public_der(&n, &[1, 0, 1]);
        let (n2, e2) = der::parse_rsa_public(&der).unwrap();
        assert_eq!(n2, n);
        assert_eq!(e2, [1, 0, 1]);
    }

    #[test]
    fn ec_points_off_the_curve_are_refused_at_construction() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let jwk = key.verifying_key().to_jwk().unwrap();
        let good = VerifyingKey::from_jwk(&jwk.to_json(), None).unwrap();
        let mut point = good.ec_point().unwrap().1.to_vec();
        assert!(VerifyingKey::from_ec_point(Algorithm::ES256, &point).is_ok());
        point[64] ^= 1;
        assert!(matches!(
            VerifyingKey::from_ec_point(Algorithm::ES256, &point),
            Err(Error::InvalidKey(KeyError::Rejected(_)))
        ));
        let mut zero = vec![4u8];
        zero.extend([0u8; 64]);
        assert!(VerifyingKey::from_ec_point(Algorithm::ES256, &zero).is_err());
    }

    /// Each algorithm → parameter map answers only for its own family: an
    /// algorithm of another family (or one added later) gets no P-256,
    /// SHA-256 or PKCS#1 parameters by default.
    #[test]
    fn algorithm_maps_answer_only_for_their_own_family() {
        for alg in Algorithm::ALL {
            let family = alg.family();
            assert_eq!(ecdsa_signing(alg).is_some(), family == Family::Ec, "{alg}");
            assert_eq!(curve_of(alg).is_some(), family == Family::Ec, "{alg}");
            assert_eq!(
                rsa_verify_params(alg).is_some(),
                family == Family::Rsa,
                "{alg}"
            );
            assert_eq!(
                rsa_sign_padding(alg).is_some(),
                family == Family::Rsa,
                "{alg}"
            );
            assert_eq!(hmac_params(alg).is_some(), family == Family::Hmac, "{alg}");
        }
        // And the ones they do answer are the algorithm's own (compared by
        // their `Debug` form: aws-lc-rs declares them as constants, so two
        // references to one need not be equal).
        let hmac = |alg| hmac_params(alg).unwrap();
        assert_eq!(hmac(Algorithm::HS256), (hmac::HMAC_SHA256, 32));
        assert_eq!(hmac(Algorithm::HS384), (hmac::HMAC_SHA384, 48));
        assert_eq!(hmac(Algorithm::HS512), (hmac::HMAC_SHA512, 64));
        let same =
            |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
        let rsa = [
            (Algorithm::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
            (Algorithm::RS384, &signature::RSA_PKCS1_2048_8192_SHA384),
            (Algorithm::RS512, &signature::RSA_PKCS1_2048_8192_SHA512),
            (Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
            (Algorithm::PS384, &signature::RSA_PSS_2048_8192_SHA384),
            (Algorithm::PS512, &signature::RSA_PSS_2048_8192_SHA512),
        ];
        for (alg, params) in rsa {
            assert!(same(rsa_verify_params(alg).unwrap(), params), "{alg}");
            for (other, _) in rsa.iter().filter(|(o, _)| *o != alg) {
                assert!(!same(rsa_verify_params(*other).unwrap(), params), "{alg}");
            }
        }
        assert!(same(
            ecdsa_signing(Algorithm::ES256).unwrap(),
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING
        ));
        assert!(same(
            ecdsa_signing(Algorithm::ES384).unwrap(),
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING
        ));
        assert!(!same(
            ecdsa_signing(Algorithm::ES384).unwrap(),
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING
        ));
    }

    /// The bound the build-time check uses is the backend's own: the genuine
    /// signature of a key whose exponent is 2^33 - 1 verifies in the crypto
    /// library, that of a key whose exponent is 2^33 + 1 does not (ring and
    /// aws-lc-rs alike; `tests/data/keys/rsa_public_exponents.json`).
    #[test]
    fn backend_verifies_with_exactly_the_exponents_the_build_check_accepts() {
        let cases: Vec<serde_json::Value> = serde_json::from_str(include_str!(
            "../../tests/data/keys/rsa_public_exponents.json"
        ))
        .unwrap();
        let mut refused = 0;
        for case in cases {
            let member = |name: &str| {
                crate::encoding::b64_decode(case["jwk"][name].as_str().unwrap().as_bytes()).unwrap()
            };
            let (n, e) = (member("n"), member("e"));
            let token = case["token"].as_str().unwrap();
            let (input, sig) = token.rsplit_once('.').unwrap();
            let sig = crate::encoding::b64_decode(sig.as_bytes()).unwrap();
            let der = rsa_public_der(&n, &e);
            let verified =
                signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der)
                    .verify(input.as_bytes(), &sig)
                    .is_ok();
            let must_load = case["must"] == "load";
            assert_eq!(verified, must_load, "e = {}", case["e"]);
            assert_eq!(rsa_exponent_is_usable(&e), must_load, "e = {}", case["e"]);
            refused += usize::from(!must_load);
        }
        assert_eq!(refused, 1);
        assert!(rsa_exponent_is_usable(&RSA_MAX_EXPONENT.to_be_bytes()[3..]));
        assert!(!rsa_exponent_is_usable(
            &(RSA_MAX_EXPONENT + 2).to_be_bytes()[3..]
        ));
    }

    #[test]
    fn small_rsa_modulus_is_refused() {
        let n = [0xffu8; 128];
        assert!(matches!(
            VerifyingKey::from_rsa_components(Algorithm::RS256, &n, &[1, 0, 1]),
            Err(Error::InvalidKey(KeyError::RsaTooSmall {
                bits: Some(1024)
            }))
        ));
    }
}
