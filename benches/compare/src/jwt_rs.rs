//! jsonwebtoken 12 with both crypto backends in one process.
//!
//! Cargo refuses two renamed dependency entries that resolve to the same
//! crate version, and features unify anyway, so the crate is built once with
//! `aws_lc_rs` and `rust_crypto`. With both on, jsonwebtoken cannot pick a
//! default provider and panics unless one is installed; this module installs
//! one whose factories forward to the backend selected by a flag. The flag
//! is set before every batch (outside the timed loop); inside it the switch
//! costs one relaxed load per sign/verify, the same for both columns.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, aws_lc, rust_crypto};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors,
};

use crate::fixtures::{AUD, Alg, ClaimsRef, HMAC_KEY, ISS, SUB, TypedClaims, now_unix};
use crate::harness::{Cell, Col, cell};
use crate::{Res, Signer};

static RUST_CRYPTO: AtomicBool = AtomicBool::new(false);

fn signer_factory(alg: &Algorithm, key: &EncodingKey) -> errors::Result<Box<dyn JwtSigner>> {
    if RUST_CRYPTO.load(Relaxed) {
        (rust_crypto::DEFAULT_PROVIDER.signer_factory)(alg, key)
    } else {
        (aws_lc::DEFAULT_PROVIDER.signer_factory)(alg, key)
    }
}

fn verifier_factory(alg: &Algorithm, key: &DecodingKey) -> errors::Result<Box<dyn JwtVerifier>> {
    if RUST_CRYPTO.load(Relaxed) {
        (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(alg, key)
    } else {
        (aws_lc::DEFAULT_PROVIDER.verifier_factory)(alg, key)
    }
}

/// Installs the switching provider as jsonwebtoken's process default.
///
/// # Errors
///
/// When a provider was installed already.
pub(crate) fn install_provider() -> Res<()> {
    let provider: &'static CryptoProvider = Box::leak(Box::new(CryptoProvider {
        signer_factory,
        verifier_factory,
        key_utils: aws_lc::DEFAULT_PROVIDER.key_utils.clone(),
    }));
    provider
        .install_default()
        .map_err(|_| "a jsonwebtoken provider was installed already".into())
}

/// Selects aws-lc-rs.
pub(crate) fn use_aws() {
    RUST_CRYPTO.store(false, Relaxed);
}

/// Selects RustCrypto.
pub(crate) fn use_rust() {
    RUST_CRYPTO.store(true, Relaxed);
}

/// The backend a column runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    /// aws-lc-rs.
    Aws,
    /// RustCrypto.
    Rust,
}

impl Backend {
    /// Both, in column order.
    pub(crate) const BOTH: [Backend; 2] = [Backend::Aws, Backend::Rust];

    fn col(self) -> Col {
        match self {
            Backend::Aws => Col::JwtAws,
            Backend::Rust => Col::JwtRust,
        }
    }

    /// The switch to run before using this backend.
    pub(crate) fn select(self) -> fn() {
        match self {
            Backend::Aws => use_aws,
            Backend::Rust => use_rust,
        }
    }
}

fn algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::Hs256 => Algorithm::HS256,
        Alg::Es256 => Algorithm::ES256,
        Alg::Es384 => Algorithm::ES384,
        Alg::EdDsa => Algorithm::EdDSA,
        Alg::Rs256 => Algorithm::RS256,
        Alg::Ps256 => Algorithm::PS256,
    }
}

/// The decoding key and validation for `alg`: signature, `exp`, `nbf`,
/// `iss` and `aud` checked; `exp`, `iss` and `aud` required (as tokengate
/// requires them).
pub(crate) fn verifier(alg: Alg) -> Res<(DecodingKey, Validation)> {
    let key = match alg {
        Alg::Hs256 => DecodingKey::from_secret(&HMAC_KEY)?,
        Alg::Es256 | Alg::Es384 => DecodingKey::from_ec_pem(pem_bytes(alg.public_pem())?)?,
        Alg::EdDsa => DecodingKey::from_ed_pem(pem_bytes(alg.public_pem())?)?,
        Alg::Rs256 | Alg::Ps256 => DecodingKey::from_rsa_pem(pem_bytes(alg.public_pem())?)?,
    };
    let mut validation = Validation::new(algorithm(alg));
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    Ok((key, validation))
}

fn pem_bytes(pem: Option<&'static str>) -> Res<&'static [u8]> {
    pem.map(str::as_bytes).ok_or_else(|| "no PEM".into())
}

/// `decode::<TypedClaims>` of `token` on `backend`; `expect` says whether
/// it must pass with the right `sub`.
pub(crate) fn verify(alg: Alg, backend: Backend, token: &str, expect: bool) -> Res<Cell> {
    let (key, validation) = verifier(alg)?;
    let token = token.to_owned();
    Ok(cell(backend.col(), backend.select(), move || {
        decode::<TypedClaims>(black_box(&token), &key, &validation)
            .is_ok_and(|d| d.claims.sub == SUB)
            == expect
    }))
}

/// A signer: read the clock, `encode` the claims (on the backend selected
/// before the call).
pub(crate) fn signer(alg: Alg, nbf: i64) -> Res<Signer> {
    let key = match alg.private_pem() {
        None => EncodingKey::from_secret(&HMAC_KEY)?,
        Some(pem) => match alg {
            Alg::Es256 | Alg::Es384 => EncodingKey::from_ec_pem(pem.as_bytes())?,
            Alg::EdDsa => EncodingKey::from_ed_pem(pem.as_bytes())?,
            _ => EncodingKey::from_rsa_pem(pem.as_bytes())?,
        },
    };
    let mut header = Header::new(algorithm(alg));
    header.kid = Some(alg.kid().to_owned());
    Ok(Box::new(move || {
        Ok(encode(&header, &ClaimsRef::at(now_unix(), nbf), &key)?)
    }))
}

/// The column of `backend`.
pub(crate) fn col(backend: Backend) -> Col {
    backend.col()
}
