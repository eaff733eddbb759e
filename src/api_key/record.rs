use std::collections::BTreeMap;
use std::fmt;

use crate::crypto::digest;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::scope::ScopeSet;

/// The SHA-256 digest of an API key's secret: what a store keeps instead of
/// the secret. Compared in constant time.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub(crate) fn of(secret: &str) -> Self {
        let d = digest::digest(&digest::SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// A digest read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality.
    pub(crate) fn ct_eq(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest([sha-256])")
    }
}

impl Serialize for SecretDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(64);
        for b in self.0 {
            for nibble in [b >> 4, b & 15] {
                hex.extend(HEX.get(usize::from(nibble)).map(|c| char::from(*c)));
            }
        }
        s.serialize_str(&hex)
    }
}

const HEX: [u8; 16] = *b"0123456789abcdef";

impl<'de> Deserialize<'de> for SecretDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom("a SHA-256 digest is 64 lowercase hex digits");
        if s.len() != 64 {
            return Err(bad());
        }
        let nibble = |c: u8| HEX.iter().position(|h| *h == c).map(|v| v as u8);
        let mut out = [0u8; 32];
        for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (
                pair.first().copied().and_then(nibble),
                pair.get(1).copied().and_then(nibble),
            ) else {
                return Err(bad());
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = hi << 4 | lo;
            }
        }
        Ok(Self(out))
    }
}

/// What a store keeps about one API key. Holds no secret: only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The public key id, embedded in the key; the store's lookup key.
    pub id: String,
    /// SHA-256 of the key's secret.
    pub secret_digest: SecretDigest,
    /// The subject the key acts for (a user, a service account...).
    pub owner: String,
    /// A human label, such as `ci-deploy`.
    pub name: String,
    /// What the key may do.
    pub scopes: ScopeSet,
    /// When the key was issued, seconds since the Unix epoch.
    pub created_at: i64,
    /// From this instant on the key is rejected as expired (seconds since
    /// the epoch); `None` for no expiry.
    pub expires_at: Option<i64>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The id of the key that replaced this one in a rotation.
    pub replaced_by: Option<String>,
    /// The part of the key safe to display, such as `acme_live_3xK9aQ…`.
    pub display_prefix: String,
    /// Free-form application data.
    pub metadata: BTreeMap<String, String>,
}

/// A freshly issued API key in plaintext. Shown once: hand it to its owner
/// and drop it. Zeroized on drop; `Debug` shows only the display prefix;
/// no `Display`, `Clone` or `Serialize`.
pub struct IssuedApiKey {
    pub(crate) key: Zeroizing<String>,
    pub(crate) id: String,
    pub(crate) display_prefix: String,
}

impl IssuedApiKey {
    /// The plaintext key, to give to its owner exactly once.
    pub fn expose_secret(&self) -> &str {
        &self.key
    }

    /// The public key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The part of the key that is safe to display.
    pub fn display_prefix(&self) -> &str {
        &self.display_prefix
    }
}

impl fmt::Debug for IssuedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedApiKey")
            .field("id", &self.id)
            .field("key", &format_args!("{}[redacted]", self.display_prefix))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_serializes_as_hex_and_back() {
        let d = SecretDigest::of("abc");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
        );
        assert_eq!(serde_json::from_str::<SecretDigest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<SecretDigest>("\"zz\"").is_err());
        assert!(serde_json::from_str::<SecretDigest>(&format!("\"{}\"", "G".repeat(64))).is_err());
        assert_eq!(format!("{d:?}"), "SecretDigest([sha-256])");
        assert!(d.ct_eq(&SecretDigest::of("abc")) && !d.ct_eq(&SecretDigest::of("abd")));
    }
}
