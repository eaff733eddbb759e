//! The few DER structures key import needs, decoded with the `spki` and
//! `pkcs1` crates.

use pkcs1::{RsaPrivateKey, RsaPublicKey};
use spki::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use spki::der::{Reader, SliceReader};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfo};

use crate::error::KeyError;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
#[cfg(feature = "aws-lc-rs")]
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The public key inside a SubjectPublicKeyInfo, by type.
#[derive(Debug)]
pub(crate) enum SpkiKey<'a> {
    /// A PKCS#1 RSAPublicKey.
    Rsa(&'a [u8]),
    /// An uncompressed or compressed SEC1 point on the named curve.
    Ec { curve: Curve, point: &'a [u8] },
    /// The 32-byte Ed25519 public key.
    Ed25519(&'a [u8]),
}

/// A named elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    #[cfg(feature = "aws-lc-rs")]
    P521,
}

pub(crate) fn parse_spki(der: &[u8]) -> Result<SpkiKey<'_>, KeyError> {
    let bad = KeyError::Format("SubjectPublicKeyInfo DER");
    let spki = SubjectPublicKeyInfo::<AnyRef<'_>, BitStringRef<'_>>::try_from(der)
        .map_err(|_| bad.clone())?;
    let key = spki.subject_public_key.as_bytes().ok_or(bad.clone())?;
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        Ok(SpkiKey::Rsa(key))
    } else if oid == EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters_oid().map_err(|_| bad)?;
        let curve = named_curve(curve).ok_or(KeyError::Unsupported("elliptic curve"))?;
        Ok(SpkiKey::Ec { curve, point: key })
    } else if oid == ED25519 {
        Ok(SpkiKey::Ed25519(key))
    } else {
        Err(KeyError::Unsupported("public key type"))
    }
}

fn named_curve(oid: ObjectIdentifier) -> Option<Curve> {
    if oid == SECP256R1 {
        return Some(Curve::P256);
    }
    if oid == SECP384R1 {
        return Some(Curve::P384);
    }
    #[cfg(feature = "aws-lc-rs")]
    if oid == SECP521R1 {
        return Some(Curve::P521);
    }
    None
}

/// The type of key a PKCS#8 document holds, read from its algorithm
/// identifier before the crypto library sees the key, so that the error for
/// a key of the wrong type does not depend on the library's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrivateKeyType {
    /// `rsaEncryption`, with the bit length of its modulus.
    Rsa { bits: usize },
    /// `id-ecPublicKey` on a curve this build implements.
    Ec(Curve),
    /// `id-Ed25519`.
    Ed25519,
}

/// Reads the key type of a PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey`
/// (RFC 5208, RFC 5958) and, for RSA, the size of the modulus in the PKCS#1
/// key inside it.
///
/// # Errors
///
/// [`KeyError::Format`] for DER that is not PKCS#8 (or an RSA key inside it
/// that is not PKCS#1); [`KeyError::Unsupported`] for another key type or
/// curve.
pub(crate) fn pkcs8_key_type(der: &[u8]) -> Result<PrivateKeyType, KeyError> {
    let bad = || KeyError::Format("PKCS#8 DER");
    let mut reader = SliceReader::new(der).map_err(|_| bad())?;
    let (algorithm, key) = reader
        .sequence(|r| {
            let _version: UintRef<'_> = r.decode()?;
            let algorithm: AlgorithmIdentifierRef<'_> = r.decode()?;
            let key: &OctetStringRef = r.decode()?;
            // The optional attributes and public key are the crypto
            // library's to read.
            r.read_slice(r.remaining_len())?;
            Ok::<_, spki::der::Error>((algorithm, key))
        })
        .map_err(|_| bad())?;
    reader.finish().map_err(|_| bad())?;
    let oid = algorithm.oid;
    if oid == RSA_ENCRYPTION {
        let (n, _) = parse_rsa_private(key.as_bytes())?;
        Ok(PrivateKeyType::Rsa { bits: bit_len(n) })
    } else if oid == EC_PUBLIC_KEY {
        let curve = algorithm.parameters_oid().map_err(|_| bad())?;
        named_curve(curve)
            .map(PrivateKeyType::Ec)
            .ok_or(KeyError::Unsupported("elliptic curve"))
    } else if oid == ED25519 {
        Ok(PrivateKeyType::Ed25519)
    } else {
        Err(KeyError::Unsupported("private key type"))
    }
}

/// The modulus and public exponent of a PKCS#1 RSAPrivateKey, big-endian
/// without leading zeros.
///
/// # Errors
///
/// [`KeyError::Format`] when the DER is not an RSAPrivateKey.
pub(crate) fn parse_rsa_private(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let key = RsaPrivateKey::<UintRef<'_>>::try_from(der)
        .map_err(|_| KeyError::Format("PKCS#1 RSAPrivateKey DER"))?;
    Ok((key.modulus.as_bytes(), key.public_exponent.as_bytes()))
}

/// `true` for a whole DER SubjectPublicKeyInfo, of any key type.
pub(crate) fn is_spki(der: &[u8]) -> bool {
    SubjectPublicKeyInfo::<AnyRef<'_>, BitStringRef<'_>>::try_from(der).is_ok()
}

/// `true` for a whole DER X.509 `Certificate`: a SEQUENCE of a SEQUENCE
/// (the to-be-signed part), an AlgorithmIdentifier and a BIT STRING.
pub(crate) fn is_certificate(der: &[u8]) -> bool {
    let Ok(mut reader) = SliceReader::new(der) else {
        return false;
    };
    let parsed = reader.sequence(|r| {
        let tbs: AnyRef<'_> = r.decode()?;
        spki::der::Tagged::tag(&tbs).assert_eq(spki::der::Tag::Sequence)?;
        let _algorithm: AlgorithmIdentifierRef<'_> = r.decode()?;
        let _signature: BitStringRef<'_> = r.decode()?;
        Ok::<_, spki::der::Error>(())
    });
    parsed.is_ok() && reader.finish().is_ok()
}

/// The modulus and exponent of a PKCS#1 RSAPublicKey, big-endian without
/// leading zeros.
pub(crate) fn parse_rsa_public(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let key = RsaPublicKey::<UintRef<'_>>::try_from(der)
        .map_err(|_| KeyError::Format("PKCS#1 RSAPublicKey DER"))?;
    Ok((key.modulus.as_bytes(), key.public_exponent.as_bytes()))
}

/// The bit length of a big-endian unsigned integer.
pub(crate) fn bit_len(be: &[u8]) -> usize {
    let mut bytes = be.iter().skip_while(|b| **b == 0);
    match bytes.next() {
        None => 0,
        Some(first) => {
            let top = 8u32.saturating_sub(first.leading_zeros()) as usize;
            top.saturating_add(bytes.count().saturating_mul(8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        assert_eq!(bit_len(&[0x7f; 256]), 2047);
    }

    #[test]
    fn garbage_is_a_format_error() {
        for bytes in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01",
            &[0x30, 0x82, 0xff, 0xff],
        ] {
            assert!(matches!(parse_spki(bytes), Err(KeyError::Format(_))));
            assert!(matches!(parse_rsa_public(bytes), Err(KeyError::Format(_))));
        }
    }
}
