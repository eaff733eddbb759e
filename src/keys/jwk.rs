//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2): import, public
//! export and RFC 7638 thumbprints.

use std::fmt;

use crate::crypto::digest;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use super::{Curve, Public, SigningKey, VerifyingKey, coordinate_len, curve_of};
use crate::encoding::{b64_decode, b64_encode};
use crate::error::{Error, KeyError};
use crate::jws::{Algorithm, Family};

/// A public JSON Web Key, as published in a JWK Set.
///
/// Made by [`VerifyingKey::to_jwk`]; there is no way to make one from an
/// HMAC secret. Serializes to the RFC 7517 members `kty`, `use` (`sig`),
/// `alg`, `kid` and the key type's public members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    kty: Kty,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: Algorithm,
    kid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<String>,
}

/// The key types a public JWK can have (`oct` is never exported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Kty {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "EC")]
    Ec,
    #[serde(rename = "OKP")]
    Okp,
}

impl Jwk {
    /// The key id (`kid`).
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The algorithm (`alg`).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in
    /// lexicographic order, base64url.
    pub fn thumbprint(&self) -> String {
        let canonical = match self.kty {
            Kty::Rsa => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                self.e.as_deref().unwrap_or(""),
                self.n.as_deref().unwrap_or("")
            ),
            Kty::Ec => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                self.crv.unwrap_or(""),
                self.x.as_deref().unwrap_or(""),
                self.y.as_deref().unwrap_or("")
            ),
            Kty::Okp => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                self.crv.unwrap_or(""),
                self.x.as_deref().unwrap_or("")
            ),
        };
        b64_encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    }

    /// The JWK as a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A JWK Set document of public keys (RFC 7517 §5), ready to serve at
/// `/.well-known/jwks.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

impl JwkSet {
    /// The keys in the set.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The set as a JSON document `{"keys":[...]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl FromIterator<Jwk> for JwkSet {
    fn from_iter<I: IntoIterator<Item = Jwk>>(iter: I) -> Self {
        Self {
            keys: iter.into_iter().collect(),
        }
    }
}

pub(super) fn thumbprint_oct(secret: &[u8]) -> String {
    let canonical = Zeroizing::new(format!(
        r#"{{"k":"{}","kty":"oct"}}"#,
        Zeroizing::new(b64_encode(secret)).as_str()
    ));
    b64_encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

pub(super) fn export(key: &VerifyingKey) -> Option<Jwk> {
    let mut jwk = Jwk {
        kty: Kty::Okp,
        use_: "sig",
        alg: key.alg,
        kid: key.kid.clone(),
        crv: None,
        n: None,
        e: None,
        x: None,
        y: None,
    };
    match &key.key {
        Public::Hmac(_) => return None,
        Public::Rsa { n, e, .. } => {
            jwk.kty = Kty::Rsa;
            jwk.n = Some(b64_encode(n));
            jwk.e = Some(b64_encode(e));
        }
        Public::Ec { curve, point } => {
            let len = coordinate_len(*curve);
            let name = match curve {
                Curve::P256 => "P-256",
                Curve::P384 => "P-384",
                #[cfg(feature = "aws-lc-rs")]
                Curve::P521 => "P-521",
            };
            let x = point.get(1..len.saturating_add(1))?;
            let y = point.get(len.saturating_add(1)..)?;
            jwk.kty = Kty::Ec;
            jwk.crv = Some(name);
            jwk.x = Some(b64_encode(x));
            jwk.y = Some(b64_encode(y));
        }
        Public::Ed25519(bytes) => {
            jwk.kty = Kty::Okp;
            jwk.crv = Some("Ed25519");
            jwk.x = Some(b64_encode(bytes));
        }
    }
    Some(jwk)
}

/// A private JWK member, zeroized on drop.
struct SecretMember(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretMember {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| SecretMember(Zeroizing::new(s)))
    }
}

impl fmt::Debug for SecretMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Deserialize)]
struct JwkInput {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    d: Option<SecretMember>,
    p: Option<SecretMember>,
    q: Option<SecretMember>,
    dp: Option<SecretMember>,
    dq: Option<SecretMember>,
    qi: Option<SecretMember>,
    k: Option<SecretMember>,
    oth: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Sign,
    Verify,
}

fn format_err(what: &'static str) -> Error {
    KeyError::Format(what).into()
}

fn member(value: &Option<String>, what: &'static str) -> Result<Vec<u8>, Error> {
    let s = value.as_deref().ok_or(KeyError::Format(what))?;
    b64_decode(s.as_bytes()).map_err(|_| format_err(what))
}

fn secret(value: &Option<SecretMember>, what: &'static str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let s = value.as_ref().ok_or(KeyError::Format(what))?;
    b64_decode(s.0.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| format_err(what))
}

impl JwkInput {
    /// The algorithm a key from this JWK is bound to.
    fn resolve_algorithm(&self, requested: Option<Algorithm>) -> Result<Algorithm, Error> {
        let declared = match &self.alg {
            Some(name) => {
                Some(Algorithm::from_name(name).map_err(|_| KeyError::Unsupported("JWK `alg`"))?)
            }
            None => None,
        };
        let inferred = match (self.kty.as_str(), self.crv.as_deref()) {
            ("EC", Some("P-256")) => Some(Algorithm::ES256),
            ("EC", Some("P-384")) => Some(Algorithm::ES384),
            #[cfg(feature = "aws-lc-rs")]
            ("EC", Some("P-521")) => Some(Algorithm::ES512),
            ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
            _ => None,
        };
        let alg = match (declared, requested) {
            (Some(d), Some(r)) if d != r => return Err(KeyError::AlgorithmMismatch.into()),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => inferred.ok_or(KeyError::Format(
                "JWK without `alg`: the algorithm must be given",
            ))?,
        };
        let family_ok = match alg.family() {
            Family::Hmac => self.kty == "oct",
            Family::Rsa => self.kty == "RSA",
            Family::Ec | Family::Ed25519 => inferred == Some(alg),
        };
        if !family_ok {
            return Err(KeyError::AlgorithmMismatch.into());
        }
        Ok(alg)
    }

    fn check_use(&self, purpose: Purpose) -> Result<(), Error> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::Rejected("JWK `use` is not `sig`").into());
        }
        if let Some(ops) = &self.key_ops {
            let needed = match purpose {
                Purpose::Sign => "sign",
                Purpose::Verify => "verify",
            };
            if !ops.iter().any(|op| op == needed) {
                return Err(KeyError::Rejected("JWK `key_ops` does not allow this use").into());
            }
        }
        Ok(())
    }

    fn ec_point(&self, alg: Algorithm) -> Result<Vec<u8>, Error> {
        let curve = curve_of(alg).ok_or(KeyError::AlgorithmMismatch)?;
        let len = coordinate_len(curve);
        let x = member(&self.x, "EC JWK `x`")?;
        let y = member(&self.y, "EC JWK `y`")?;
        if x.len() != len || y.len() != len {
            return Err(format_err("EC JWK coordinate length"));
        }
        Ok([&[4u8][..], &x, &y].concat())
    }

    fn verifying_key(&self, alg: Algorithm) -> Result<VerifyingKey, Error> {
        let key = match alg.family() {
            Family::Hmac => VerifyingKey::hmac(alg, &secret(&self.k, "oct JWK `k`")?)?,
            Family::Rsa => VerifyingKey::from_rsa_components(
                alg,
                &member(&self.n, "RSA JWK `n`")?,
                &member(&self.e, "RSA JWK `e`")?,
            )?,
            Family::Ec => VerifyingKey::from_ec_point(alg, &self.ec_point(alg)?)?,
            Family::Ed25519 => VerifyingKey::from_ed25519(&member(&self.x, "OKP JWK `x`")?)?,
        };
        Ok(match &self.kid {
            Some(kid) => key.with_key_id(kid.clone()),
            None => key,
        })
    }

    fn signing_key(&self, alg: Algorithm) -> Result<SigningKey, Error> {
        let key = match alg.family() {
            Family::Hmac => SigningKey::hmac(alg, &secret(&self.k, "oct JWK `k`")?)?,
            Family::Ec => {
                let d = secret(&self.d, "EC JWK `d`")?;
                let curve = curve_of(alg).ok_or(KeyError::AlgorithmMismatch)?;
                if d.len() != coordinate_len(curve) {
                    return Err(format_err("EC JWK `d` length"));
                }
                SigningKey::from_parts_ec(alg, &d, &self.ec_point(alg)?)?
            }
            Family::Ed25519 => SigningKey::from_parts_ed25519(
                &secret(&self.d, "OKP JWK `d`")?,
                &member(&self.x, "OKP JWK `x`")?,
            )?,
            Family::Rsa => {
                if self.oth.is_some() {
                    return Err(KeyError::Unsupported("multi-prime RSA").into());
                }
                let n = member(&self.n, "RSA JWK `n`")?;
                let e = member(&self.e, "RSA JWK `e`")?;
                let d = secret(&self.d, "RSA JWK `d`")?;
                let p = secret(&self.p, "RSA JWK `p`")?;
                let q = secret(&self.q, "RSA JWK `q`")?;
                let dp = secret(&self.dp, "RSA JWK `dp`")?;
                let dq = secret(&self.dq, "RSA JWK `dq`")?;
                let qi = secret(&self.qi, "RSA JWK `qi`")?;
                // Check the size first so a short modulus says so.
                VerifyingKey::from_rsa_components(alg, &n, &e)?;
                let parts = crate::crypto::rsa::KeyPairComponents {
                    public_key: crate::crypto::rsa::PublicKeyComponents {
                        n: &n[..],
                        e: &e[..],
                    },
                    d: &d[..],
                    p: &p[..],
                    q: &q[..],
                    dP: &dp[..],
                    dQ: &dq[..],
                    qInv: &qi[..],
                };
                SigningKey::from_parts_rsa(alg, &parts)?
            }
        };
        Ok(match &self.kid {
            Some(kid) => key.with_key_id(kid.clone()),
            None => key,
        })
    }
}

fn parse_input(json: &str) -> Result<JwkInput, Error> {
    serde_json::from_str(json).map_err(|_| format_err("JWK JSON"))
}

impl VerifyingKey {
    /// Imports a verification key from a JWK (public or private members;
    /// only the public ones are used, except `k` for `oct`).
    ///
    /// The algorithm is `alg` when given, else the JWK's `alg`, else the one
    /// its curve implies (`EC` P-256/P-384, `OKP` Ed25519); `RSA` and `oct`
    /// keys need one of the first two. A JWK whose `alg` disagrees with
    /// `alg`, whose `use` is not `sig`, or whose `key_ops` lacks `verify` is
    /// refused. The key id is the JWK's `kid`, or its thumbprint.
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] for JSON or members that do not parse;
    /// [`KeyError::AlgorithmMismatch`] and [`KeyError::Rejected`] as above;
    /// the errors of the per-type constructors.
    pub fn from_jwk(json: &str, alg: Option<Algorithm>) -> Result<Self, Error> {
        let input = parse_input(json)?;
        input.check_use(Purpose::Verify)?;
        let alg = input.resolve_algorithm(alg)?;
        input.verifying_key(alg)
    }

    /// Imports the signature keys of a JWK Set (`{"keys":[...]}`).
    ///
    /// Keys that are not for this crate are skipped: `use` other than `sig`,
    /// an unknown `kty`, curve or `alg` (such as `ES512` or `RSA-OAEP`), and
    /// `RSA`/`oct` keys without `alg` when `assume_alg` is `None`. With
    /// `assume_alg`, keys without `alg` of that algorithm's key type are
    /// bound to it (some identity providers publish RSA keys without `alg`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] when the document is not a JWK Set; any error of
    /// [`VerifyingKey::from_jwk`] for a key of a supported type that fails
    /// to import: a broken key fails the whole set, so a refresh never
    /// silently drops it.
    pub fn from_jwk_set(json: &str, assume_alg: Option<Algorithm>) -> Result<Vec<Self>, Error> {
        #[derive(Deserialize)]
        struct SetInput<'a> {
            #[serde(borrow)]
            keys: Vec<&'a RawValue>,
        }
        let set: SetInput<'_> =
            serde_json::from_str(json).map_err(|_| format_err("JWK Set JSON"))?;
        let mut out = Vec::with_capacity(set.keys.len());
        for raw in set.keys {
            let input = parse_input(raw.get())?;
            if input.use_.as_deref().is_some_and(|u| u != "sig")
                || input
                    .key_ops
                    .as_ref()
                    .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
            {
                continue;
            }
            let requested = match (&input.alg, assume_alg) {
                (Some(name), _) => match Algorithm::from_name(name) {
                    Ok(a) => Some(a),
                    Err(_) => continue,
                },
                (None, Some(a)) if input.kty == kty_of(a) => Some(a),
                _ => None,
            };
            let alg = match input.resolve_algorithm(requested) {
                Ok(a) => a,
                Err(_) if !known_key_type(&input) || requested.is_none() => continue,
                Err(e) => return Err(e),
            };
            out.push(input.verifying_key(alg)?);
        }
        Ok(out)
    }
}

fn kty_of(alg: Algorithm) -> &'static str {
    match alg.family() {
        Family::Hmac => "oct",
        Family::Rsa => "RSA",
        Family::Ec => "EC",
        Family::Ed25519 => "OKP",
    }
}

fn known_key_type(input: &JwkInput) -> bool {
    let p521 = cfg!(feature = "aws-lc-rs") && input.crv.as_deref() == Some("P-521");
    p521 || matches!(
        (input.kty.as_str(), input.crv.as_deref()),
        ("RSA" | "oct", _) | ("EC", Some("P-256" | "P-384")) | ("OKP", Some("Ed25519"))
    )
}

impl SigningKey {
    /// Imports a signing key from a private JWK (`oct` with `k`; `RSA` with
    /// `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`; `EC` with `d`, `x`, `y`;
    /// `OKP` Ed25519 with `d`, `x`).
    ///
    /// Algorithm choice, `use` and `key_ops` (which must allow `sign`) are
    /// honoured as in [`VerifyingKey::from_jwk`].
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] for JSON or members that do not parse or are
    /// missing; [`KeyError::AlgorithmMismatch`]; [`KeyError::Rejected`] for
    /// inconsistent private and public parts.
    pub fn from_jwk(json: &str, alg: Option<Algorithm>) -> Result<Self, Error> {
        let input = parse_input(json)?;
        input.check_use(Purpose::Sign)?;
        let alg = input.resolve_algorithm(alg)?;
        input.signing_key(alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7638 §3.1: the thumbprint of the RFC 7517 Appendix A.1 RSA key.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    #[test]
    fn rfc7638_thumbprint() {
        let json = format!(
            r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#
        );
        let key = VerifyingKey::from_jwk(&json, None).unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.key_id(), "2011-04-29");
        let exported = key.to_jwk().unwrap();
        assert_eq!(exported.thumbprint(), key.thumbprint());
        assert_eq!(
            exported.to_json(),
            format!(
                r#"{{"kty":"RSA","use":"sig","alg":"RS256","kid":"2011-04-29","n":"{RFC7638_N}","e":"AQAB"}}"#
            )
        );
    }

    #[test]
    fn alg_use_and_key_ops_are_honoured() {
        let json = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256"}}"#);
        assert!(matches!(
            VerifyingKey::from_jwk(&json, Some(Algorithm::PS256)),
            Err(Error::InvalidKey(KeyError::AlgorithmMismatch))
        ));
        let no_alg = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB"}}"#);
        assert!(VerifyingKey::from_jwk(&no_alg, None).is_err());
        assert_eq!(
            VerifyingKey::from_jwk(&no_alg, Some(Algorithm::PS384))
                .unwrap()
                .algorithm(),
            Algorithm::PS384
        );
        assert!(VerifyingKey::from_jwk(&no_alg, Some(Algorithm::ES256)).is_err());
        let enc = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","use":"enc"}}"#);
        assert!(VerifyingKey::from_jwk(&enc, Some(Algorithm::RS256)).is_err());
        let ops = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","key_ops":["sign"]}}"#);
        assert!(VerifyingKey::from_jwk(&ops, Some(Algorithm::RS256)).is_err());
    }

    #[test]
    fn oct_keys_import_but_never_export() {
        let k = b64_encode([9u8; 32]);
        let json = format!(r#"{{"kty":"oct","k":"{k}","alg":"HS256"}}"#);
        let key = VerifyingKey::from_jwk(&json, None).unwrap();
        assert!(key.to_jwk().is_none());
        assert!(key.is_secret());
        let signer = SigningKey::from_jwk(&json, None).unwrap();
        let sig = signer.sign(b"m").unwrap();
        key.verify(b"m", &sig).unwrap();
        let short = format!(
            r#"{{"kty":"oct","k":"{}","alg":"HS256"}}"#,
            b64_encode([9u8; 31])
        );
        assert!(matches!(
            VerifyingKey::from_jwk(&short, None),
            Err(Error::InvalidKey(KeyError::SecretTooShort {
                min: 32,
                len: 31
            }))
        ));
    }

    #[test]
    fn ec_and_okp_round_trip_through_jwk() {
        let algs = Algorithm::ALL
            .into_iter()
            .filter(|a| matches!(a.family(), Family::Ec | Family::Ed25519));
        for alg in algs {
            let signer = SigningKey::generate(alg).unwrap();
            let jwk = signer.verifying_key().to_jwk().unwrap().to_json();
            let imported = VerifyingKey::from_jwk(&jwk, None).unwrap();
            assert_eq!(imported.algorithm(), alg);
            assert_eq!(imported.key_id(), signer.key_id());
            let sig = signer.sign(b"hello").unwrap();
            imported.verify(b"hello", &sig).unwrap();
        }
    }

    #[test]
    fn jwk_set_skips_foreign_keys() {
        let set = format!(
            r#"{{"keys":[
              {{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"a"}},
              {{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","use":"enc","kid":"b"}},
              {{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA","kid":"c"}},
              {{"kty":"OKP","crv":"X25519","x":"AA","kid":"d"}},
              {{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","kid":"e"}},
              {{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RSA-OAEP","kid":"f"}}
            ]}}"#
        );
        let keys = VerifyingKey::from_jwk_set(&set, None).unwrap();
        let kids: Vec<&str> = keys.iter().map(|k| k.key_id()).collect();
        assert_eq!(kids, ["a"]);
        let keys = VerifyingKey::from_jwk_set(&set, Some(Algorithm::RS256)).unwrap();
        let kids: Vec<&str> = keys.iter().map(|k| k.key_id()).collect();
        assert_eq!(kids, ["a", "e"]);
        let broken = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#;
        assert!(VerifyingKey::from_jwk_set(broken, None).is_err());
        assert!(VerifyingKey::from_jwk_set(r#"{"keys":{}}"#, None).is_err());
    }
}
