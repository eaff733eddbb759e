//! The crypto backend, chosen at compile time.
//!
//! ring is the default (feature `ring`). The `aws-lc-rs` feature switches
//! every operation to aws-lc-rs, whose API mirrors ring's, and adds
//! `ES512` (P-521); its P-384 is also several times faster. The rule when
//! both features are enabled: **aws-lc-rs wins**, so adding the feature
//! anywhere in a dependency graph switches the whole crate, and enabling
//! both never fails to build. There is no runtime selection.

#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc_rs::{agreement, digest, error, hmac, rand, rsa, signature};
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use ring::{agreement, digest, error, hmac, rand, rsa, signature};

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "tokengate needs a crypto backend: enable the `ring` (default) or `aws-lc-rs` feature"
);

/// The name of the crypto backend this build uses: `"ring"` or
/// `"aws-lc-rs"`.
///
/// ring is the default (feature `ring`). The `aws-lc-rs` feature switches
/// every operation to aws-lc-rs and adds `ES512` (P-521) and RSA key
/// generation. When both features are on, aws-lc-rs wins, so adding the
/// feature anywhere in a dependency graph switches the whole crate, and
/// enabling both never fails to build. There is no runtime selection.
pub const BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "ring"
};

use signature::{EcdsaKeyPair, EcdsaSigningAlgorithm};

/// `EcdsaKeyPair::from_pkcs8`: ring takes a random generator, aws-lc-rs
/// does not.
pub(crate) fn ecdsa_from_pkcs8(
    alg: &'static EcdsaSigningAlgorithm,
    der: &[u8],
) -> Result<EcdsaKeyPair, error::KeyRejected> {
    #[cfg(feature = "aws-lc-rs")]
    {
        EcdsaKeyPair::from_pkcs8(alg, der)
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        EcdsaKeyPair::from_pkcs8(alg, der, &rand::SystemRandom::new())
    }
}

/// `EcdsaKeyPair::from_private_key_and_public_key`, as above.
pub(crate) fn ecdsa_from_parts(
    alg: &'static EcdsaSigningAlgorithm,
    private_key: &[u8],
    public_key: &[u8],
) -> Result<EcdsaKeyPair, error::KeyRejected> {
    #[cfg(feature = "aws-lc-rs")]
    {
        EcdsaKeyPair::from_private_key_and_public_key(alg, private_key, public_key)
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        EcdsaKeyPair::from_private_key_and_public_key(
            alg,
            private_key,
            public_key,
            &rand::SystemRandom::new(),
        )
    }
}

/// `true` when `point` is a valid public point for `alg`: a full key
/// agreement with an ephemeral key validates it (the two backends differ
/// only in the shape of `agree_ephemeral`).
pub(crate) fn agree_ephemeral_ok(
    ephemeral: agreement::EphemeralPrivateKey,
    alg: &'static agreement::Algorithm,
    point: &[u8],
) -> bool {
    let peer = agreement::UnparsedPublicKey::new(alg, point);
    #[cfg(feature = "aws-lc-rs")]
    {
        agreement::agree_ephemeral(ephemeral, peer, (), |_| Ok(())).is_ok()
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        agreement::agree_ephemeral(ephemeral, &peer, |_| ()).is_ok()
    }
}
