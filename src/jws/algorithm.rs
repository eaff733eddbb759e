use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037 §3.1, RFC 9864).
///
/// There is no `none`: an unsecured token cannot be expressed. Parsing any
/// name that is not listed here, `none` included in any letter case, fails
/// with [`Error::UnsupportedAlgorithm`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// EdDSA with Ed25519, under the polymorphic name of RFC 8037, which
    /// RFC 9864 deprecates in favour of [`Algorithm::Ed25519`]. Ed448 keys
    /// are not supported under it.
    EdDSA,
    /// Ed25519 under its fully-specified name (RFC 9864). The same
    /// signature as `EdDSA` with an Ed25519 key, but a key is bound to one
    /// name: a key for `Ed25519` does not verify `EdDSA` tokens, nor the
    /// reverse. (`Ed448` is not supported: ring has no Ed448.)
    Ed25519,
    /// ECDSA with P-521 and SHA-512; only with the `aws-lc-rs` feature
    /// (ring has no P-521).
    #[cfg(feature = "aws-lc-rs")]
    ES512,
}

/// The family of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed25519,
}

impl Algorithm {
    /// Every supported algorithm.
    #[cfg(feature = "aws-lc-rs")]
    pub const ALL: [Algorithm; 14] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
        Self::Ed25519,
        Self::ES512,
    ];

    /// Every supported algorithm.
    #[cfg(not(feature = "aws-lc-rs"))]
    pub const ALL: [Algorithm; 13] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
        Self::Ed25519,
    ];

    /// The registered JWS name, such as `"ES256"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
            Self::Ed25519 => "Ed25519",
            #[cfg(feature = "aws-lc-rs")]
            Self::ES512 => "ES512",
        }
    }

    /// Parses a registered JWS name. Names are case-sensitive (RFC 7515
    /// §4.1.1).
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedAlgorithm`] for any other name, `none` included.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "HS256" => Self::HS256,
            "HS384" => Self::HS384,
            "HS512" => Self::HS512,
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "EdDSA" => Self::EdDSA,
            "Ed25519" => Self::Ed25519,
            #[cfg(feature = "aws-lc-rs")]
            "ES512" => Self::ES512,
            _ => return Err(Error::UnsupportedAlgorithm),
        })
    }

    pub(crate) const fn family(self) -> Family {
        match self {
            Self::HS256 | Self::HS384 | Self::HS512 => Family::Hmac,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                Family::Rsa
            }
            Self::ES256 | Self::ES384 => Family::Ec,
            #[cfg(feature = "aws-lc-rs")]
            Self::ES512 => Family::Ec,
            Self::EdDSA | Self::Ed25519 => Family::Ed25519,
        }
    }

    /// `true` for the HMAC algorithms, whose keys are shared secrets.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.family(), Family::Hmac)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_name(s)
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A set of algorithms, such as a validator's allow-list. Copy, no
/// allocation, constant-time membership.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// The empty set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// A set of one algorithm.
    pub const fn only(alg: Algorithm) -> Self {
        Self(alg.bit())
    }

    /// The set as bits, for keeping it in an atomic.
    pub(crate) const fn bits(self) -> u16 {
        self.0
    }

    /// The set of [`AlgorithmSet::bits`].
    pub(crate) const fn from_bits(bits: u16) -> Self {
        Self(bits)
    }

    /// Adds `alg`.
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    /// `true` when `alg` is in the set.
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// `true` when every algorithm of `self` is in `other`.
    pub const fn is_subset_of(self, other: AlgorithmSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The algorithms in both sets.
    pub const fn intersection(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 & other.0)
    }

    /// `true` when the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = Self::empty();
        for a in iter {
            set.insert(a);
        }
        set
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()).unwrap(), alg);
        }
    }

    #[test]
    fn none_and_lookalikes_are_unsupported() {
        for name in [
            "none", "None", "NONE", "nOnE", "hs256", "HS256 ", "ES256K", "RS1", "", "EDDSA",
            "ed25519", "ED25519", "Ed448", "ed448",
        ] {
            assert!(matches!(
                Algorithm::from_name(name),
                Err(Error::UnsupportedAlgorithm)
            ));
        }
    }

    #[test]
    fn es512_only_with_aws_lc() {
        assert_eq!(
            Algorithm::from_name("ES512").is_ok(),
            cfg!(feature = "aws-lc-rs")
        );
    }

    #[test]
    fn set_operations() {
        let set: AlgorithmSet = [Algorithm::HS256, Algorithm::ES256].into_iter().collect();
        assert!(set.contains(Algorithm::ES256) && !set.contains(Algorithm::RS256));
        assert!(AlgorithmSet::only(Algorithm::HS256).is_subset_of(set));
        assert!(!set.is_subset_of(AlgorithmSet::only(Algorithm::HS256)));
        assert_eq!(set.iter().count(), 2);
        assert!(AlgorithmSet::empty().is_empty());
    }
}
