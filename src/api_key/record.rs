use std::collections::BTreeMap;
use std::fmt;

use crate::crypto::digest;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::scope::ScopeSet;

/// What a store keeps instead of a credential's secret: the SHA-256 of the
/// credential without its checksum, that is of its format's lead (prefix
/// and environment, such as `acme_live_`), its public id and its secret.
///
/// Used by API keys and refresh tokens alike. Covering the lead binds the
/// credential to its format: the same id and secret relabelled with
/// another prefix or environment (the public checksum recomputed, as
/// anyone can) has another digest, and fails as `invalid_secret` exactly
/// as a wrong secret does, compared in constant time, so a `acme_test_`
/// key is no `acme_live_` key even when both environments share one record
/// store. Verification still computes one digest per presented credential,
/// before the store lookup.
///
/// **Storage format.** Records written by earlier 0.1 development versions
/// hold the digest of the secret alone: they no longer verify (their
/// credentials fail as `invalid_secret`) and must be reissued.
///
/// **Compared only in constant time**, through [`subtle::ConstantTimeEq`]
/// (one word-wise comparison, the crate's own, behind it). There is
/// deliberately no `PartialEq`: a derived `==` stops at the first
/// differing byte. The records that hold a digest ([`ApiKeyRecord`],
/// [`RefreshRecord`](crate::RefreshRecord)) implement `PartialEq` by hand,
/// comparing the digest in constant time.
#[derive(Clone)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `checked`: a credential without its checksum.
    pub(crate) fn of_credential(checked: &str) -> Self {
        let d = digest::digest(&digest::SHA256, checked.as_bytes());
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

    /// Constant-time equality, as a `bool`.
    pub(crate) fn matches(&self, other: &SecretDigest) -> bool {
        crate::ct::bytes_eq(&self.0, &other.0)
    }
}

impl ConstantTimeEq for SecretDigest {
    fn ct_eq(&self, other: &Self) -> Choice {
        Choice::from(u8::from(self.matches(other)))
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
///
/// Instants are [`OffsetDateTime`]s; the issuer and verifier write them in
/// UTC and whole seconds. Serialized, each is a JSON number of seconds
/// since the Unix epoch (`null` for `None`, and a missing `expires_at` or
/// `revoked_at` reads as `None`): the storage format is plain Unix time, so
/// records stay readable by other tools and across versions. Deserializing
/// fails for an instant outside the years -9999 to 9999, and drops any
/// fraction of a second an application put in a record.
///
/// `==` compares every field, the digest in constant time
/// ([`SecretDigest`] has no `==` of its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The public key id, embedded in the key; the store's lookup key.
    pub id: String,
    /// SHA-256 of the key's lead, id and secret (see [`SecretDigest`]).
    pub secret_digest: SecretDigest,
    /// The subject the key acts for (a user, a service account...).
    pub owner: String,
    /// A human label, such as `ci-deploy`.
    pub name: String,
    /// What the key may do.
    pub scopes: ScopeSet,
    /// When the key was issued.
    #[serde(with = "time::serde::timestamp")]
    pub created_at: OffsetDateTime,
    /// From this instant on the key is rejected as expired; `None` for no
    /// expiry.
    #[serde(default, with = "time::serde::timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When the key was revoked, if it was.
    #[serde(default, with = "time::serde::timestamp::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The id of the key that replaced this one in a rotation.
    pub replaced_by: Option<String>,
    /// The part of the key safe to display, such as `acme_live_3xK9aQ…`.
    /// It starts with the format's lead, so it also records the prefix and
    /// environment the key was issued under:
    /// [`ApiKeyIssuer::rotate`](super::ApiKeyIssuer::rotate) refuses a key
    /// whose display prefix is not the one its own format gives the id.
    pub display_prefix: String,
    /// Free-form application data.
    pub metadata: BTreeMap<String, String>,
}

impl PartialEq for ApiKeyRecord {
    fn eq(&self, other: &Self) -> bool {
        // Destructured, so that a field added later cannot be left out.
        let Self {
            id,
            secret_digest,
            owner,
            name,
            scopes,
            created_at,
            expires_at,
            revoked_at,
            replaced_by,
            display_prefix,
            metadata,
        } = self;
        secret_digest.matches(&other.secret_digest)
            && *id == other.id
            && *owner == other.owner
            && *name == other.name
            && *scopes == other.scopes
            && *created_at == other.created_at
            && *expires_at == other.expires_at
            && *revoked_at == other.revoked_at
            && *replaced_by == other.replaced_by
            && *display_prefix == other.display_prefix
            && *metadata == other.metadata
    }
}

impl Eq for ApiKeyRecord {}

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
        let d = SecretDigest::of_credential("abc");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
        );
        assert!(
            serde_json::from_str::<SecretDigest>(&json)
                .unwrap()
                .matches(&d)
        );
        assert!(serde_json::from_str::<SecretDigest>("\"zz\"").is_err());
        assert!(serde_json::from_str::<SecretDigest>(&format!("\"{}\"", "G".repeat(64))).is_err());
        assert_eq!(format!("{d:?}"), "SecretDigest([sha-256])");
        assert!(
            d.matches(&SecretDigest::of_credential("abc"))
                && !d.matches(&SecretDigest::of_credential("abd"))
        );
        assert!(bool::from(d.ct_eq(&SecretDigest::of_credential("abc"))));
        assert!(!bool::from(d.ct_eq(&SecretDigest::of_credential("abd"))));
    }

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    fn record() -> ApiKeyRecord {
        ApiKeyRecord {
            id: "AbCdEfGh1234".to_owned(),
            secret_digest: SecretDigest::of_credential("abc"),
            owner: "svc".to_owned(),
            name: "ci".to_owned(),
            scopes: ScopeSet::parse("a:read").unwrap(),
            created_at: at(1_750_000_000),
            expires_at: Some(at(1_750_086_400)),
            revoked_at: None,
            replaced_by: None,
            display_prefix: "acme_live_AbCdEf…".to_owned(),
            metadata: BTreeMap::from([("team".to_owned(), "data".to_owned())]),
        }
    }

    #[test]
    fn record_instants_serialize_as_unix_seconds_and_round_trip() {
        let mut rec = record();
        let json = serde_json::to_string(&rec).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"id":"AbCdEfGh1234","#,
                r#""secret_digest":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","#,
                r#""owner":"svc","name":"ci","scopes":"a:read","#,
                r#""created_at":1750000000,"expires_at":1750086400,"revoked_at":null,"#,
                r#""replaced_by":null,"display_prefix":"acme_live_AbCdEf…","#,
                r#""metadata":{"team":"data"}}"#
            )
        );
        assert_eq!(serde_json::from_str::<ApiKeyRecord>(&json).unwrap(), rec);

        rec.expires_at = None;
        rec.revoked_at = Some(at(1_750_000_060));
        rec.replaced_by = Some("ZyXwVuTs9876".to_owned());
        let json = serde_json::to_string(&rec).unwrap();
        assert!(
            json.contains(r#""created_at":1750000000,"expires_at":null,"revoked_at":1750000060,"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ApiKeyRecord>(&json).unwrap(), rec);
    }

    #[test]
    fn record_instants_read_from_stored_numbers() {
        let stored = |instants: &str| {
            format!(
                r#"{{"id":"AbCdEfGh1234","secret_digest":"{}","owner":"svc","name":"ci","scopes":"a:read",{instants}"replaced_by":null,"display_prefix":"acme_live_AbCdEf…","metadata":{{"team":"data"}}}}"#,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            )
        };
        // Absent optional instants read as `None`.
        let rec: ApiKeyRecord =
            serde_json::from_str(&stored(r#""created_at":1750000000,"#)).unwrap();
        assert_eq!(rec.created_at, at(1_750_000_000));
        assert_eq!((rec.expires_at, rec.revoked_at), (None, None));
        // Before the epoch is fine; strings and out-of-range numbers are not.
        let rec: ApiKeyRecord =
            serde_json::from_str(&stored(r#""created_at":-86400,"expires_at":0,"#)).unwrap();
        assert_eq!(rec.created_at, at(-86_400));
        assert_eq!(rec.expires_at, Some(OffsetDateTime::UNIX_EPOCH));
        for bad in [
            r#""created_at":"1750000000","#,
            r#""created_at":"2025-06-15T15:06:40Z","#,
            r#""created_at":1750000000.5,"#,
            r#""created_at":9223372036854775807,"#,
            r#""created_at":1750000000,"expires_at":-9223372036854775808,"#,
        ] {
            assert!(
                serde_json::from_str::<ApiKeyRecord>(&stored(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
