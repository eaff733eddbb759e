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
            (None, None) => match (inferred, self.kty.as_str()) {
                (Some(alg), _) => alg,
                // A curve this build does not implement (P-521 with ring).
                (None, "EC" | "OKP") => return Err(KeyError::Unsupported("JWK curve").into()),
                (None, _) => {
                    return Err(
                        KeyError::Format("JWK without `alg`: the algorithm must be given").into(),
                    );
                }
            },
        };
        let family_ok = match alg.family() {
            Family::Hmac => self.kty == "oct",
            Family::Rsa => self.kty == "RSA",
            Family::Ec => inferred == Some(alg),
            // An Ed25519 key serves under either name: the polymorphic
            // `EdDSA` (RFC 8037) or the fully-specified `Ed25519` (RFC 9864).
            Family::Ed25519 => inferred.is_some_and(|i| i.family() == Family::Ed25519),
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
            Family::Ed25519 => {
                VerifyingKey::from_ed25519_for(alg, &member(&self.x, "OKP JWK `x`")?)?
            }
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
                alg,
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
    /// its curve implies (`EC` P-256/P-384; `OKP` Ed25519 implies `EdDSA`, so bind a key to RFC 9864's `Ed25519` with `alg`); `RSA` and `oct`
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

    /// Imports the signature keys of a JWK Set (`{"keys":[...]}`), as
    /// [`VerifyingKey::from_jwk_set_with`] with default options and
    /// `assume_alg`: `oct` members (secrets, which have no place in a
    /// public document) are skipped.
    ///
    /// # Errors
    ///
    /// As [`VerifyingKey::from_jwk_set_with`].
    pub fn from_jwk_set(json: &str, assume_alg: Option<Algorithm>) -> Result<JwkSetImport, Error> {
        Self::from_jwk_set_with(json, super::store::options(assume_alg))
    }

    /// Imports the signature keys of a JWK Set (`{"keys":[...]}`) and
    /// reports every member it left out, with why, in
    /// [`JwkSetImport::skipped`].
    ///
    /// One member that cannot be used never fails the set: a server that
    /// starts up with its provider's document keeps the provider's good
    /// keys. A member is left out ([`SkipReason`]) when it is
    ///
    /// - an `oct` key, unless the options
    ///   [allow symmetric keys](JwkSetOptions::danger_allow_symmetric_keys):
    ///   a JWK Set is a public document, and a secret in it would let
    ///   anyone sign HS256 tokens that the default allow-list (the
    ///   algorithms of the keys) accepts;
    /// - not for verification (`use` other than `sig`, `key_ops` without
    ///   `verify`);
    /// - of a key type, curve or `alg` this build does not implement (such
    ///   as `RSA-OAEP`, `Ed448`, `X25519`, or P-521 and `ES512` without the
    ///   `aws-lc-rs` feature);
    /// - an `RSA` (or allowed `oct`) key without `alg` when no
    ///   [`assume_alg`](JwkSetOptions::assume_alg) binds it (some identity
    ///   providers publish RSA keys without `alg`);
    /// - one of two or more keys with the same `kid` and algorithm (all of
    ///   them are left out: which one a token meant is ambiguous);
    /// - anything else that fails to import as [`VerifyingKey::from_jwk`]
    ///   would: not a JWK object, missing or malformed members, a key the
    ///   crypto library would refuse (an RSA modulus under 2048 bits, a
    ///   point off its curve), an `alg` that contradicts the key type.
    ///
    /// # Errors
    ///
    /// [`KeyError::Format`] when the document is not a JWK Set;
    /// [`KeyError::NoUsableKey`], with every member's reason, when no member
    /// gives a usable key (an empty set included).
    pub fn from_jwk_set_with(json: &str, options: JwkSetOptions) -> Result<JwkSetImport, Error> {
        #[derive(Deserialize)]
        struct SetInput<'a> {
            #[serde(borrow)]
            keys: Vec<&'a RawValue>,
        }
        let set: SetInput<'_> =
            serde_json::from_str(json).map_err(|_| format_err("JWK Set JSON"))?;
        let mut keys: Vec<(usize, VerifyingKey)> = Vec::with_capacity(set.keys.len());
        let mut skipped = Vec::new();
        for (index, raw) in set.keys.into_iter().enumerate() {
            match import_member(raw.get(), options) {
                Ok(key) => keys.push((index, key)),
                Err((kid, reason)) => skipped.push(SkippedJwk { index, kid, reason }),
            }
        }
        // Keys that share a kid and an algorithm are all left out: a token
        // naming that kid could mean any of them.
        let ambiguous: Vec<bool> = keys
            .iter()
            .map(|(i, k)| {
                keys.iter().any(|(j, other)| {
                    j != i && other.key_id() == k.key_id() && other.algorithm() == k.algorithm()
                })
            })
            .collect();
        let mut usable = Vec::with_capacity(keys.len());
        for ((index, key), ambiguous) in keys.into_iter().zip(ambiguous) {
            if ambiguous {
                skipped.push(SkippedJwk {
                    index,
                    kid: Some(key.key_id().to_owned()),
                    reason: SkipReason::DuplicateKeyId,
                });
            } else {
                usable.push(key);
            }
        }
        skipped.sort_by_key(|s| s.index);
        if usable.is_empty() {
            return Err(KeyError::NoUsableKey { skipped }.into());
        }
        Ok(JwkSetImport {
            keys: usable,
            skipped,
        })
    }
}

/// Imports one member of a JWK Set, or says why it is left out (with its
/// `kid`, when it has a string one).
fn import_member(
    json: &str,
    options: JwkSetOptions,
) -> Result<VerifyingKey, (Option<String>, SkipReason)> {
    let input = match parse_input(json) {
        Ok(input) => input,
        Err(Error::InvalidKey(e)) => return Err((lenient_kid(json), SkipReason::Invalid(e))),
        Err(_) => {
            return Err((
                lenient_kid(json),
                SkipReason::Invalid(KeyError::Format("JWK JSON")),
            ));
        }
    };
    let kid = input.kid.clone();
    let skip = |reason| Err((kid.clone(), reason));
    if input.kty == "oct" && !options.symmetric {
        return skip(SkipReason::SymmetricKey);
    }
    if input.check_use(Purpose::Verify).is_err() {
        return skip(SkipReason::NotForVerification);
    }
    let requested = match (&input.alg, options.assume_alg) {
        (Some(name), _) => match Algorithm::from_name(name) {
            Ok(a) => Some(a),
            Err(_) => return skip(SkipReason::Unsupported("JWK `alg`")),
        },
        (None, Some(a)) if input.kty == kty_of(a) => Some(a),
        (None, _) => None,
    };
    if !known_key_type(&input) {
        return skip(SkipReason::Unsupported("JWK key type or curve"));
    }
    let alg = match input.resolve_algorithm(requested) {
        Ok(alg) => alg,
        Err(_) if requested.is_none() => return skip(SkipReason::MissingAlgorithm),
        Err(Error::InvalidKey(e)) => return skip(SkipReason::Invalid(e)),
        Err(_) => return skip(SkipReason::Invalid(KeyError::AlgorithmMismatch)),
    };
    match input.verifying_key(alg) {
        Ok(key) => Ok(key),
        Err(Error::InvalidKey(e)) => skip(SkipReason::Invalid(e)),
        Err(_) => skip(SkipReason::Invalid(KeyError::Rejected("JWK"))),
    }
}

/// The `kid` of a member that does not parse as a JWK, if it has a string
/// one.
fn lenient_kid(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct KidOnly {
        kid: Option<String>,
    }
    serde_json::from_str::<KidOnly>(json)
        .ok()
        .and_then(|k| k.kid)
}

/// How [`VerifyingKey::from_jwk_set_with`] and
/// [`KeySetStore::from_jwks_with`](crate::KeySetStore::from_jwks_with) read
/// a JWK Set.
///
/// # Defaults
///
/// | setting | default | why |
/// |---|---|---|
/// | `oct` members | skipped ([`danger_allow_symmetric_keys`](Self::danger_allow_symmetric_keys) to import them) | a JWK Set is public; a secret in it lets anyone sign HS256 tokens |
/// | keys without `alg` | bound only when implied by their curve ([`assume_alg`](Self::assume_alg) to bind RSA keys) | the algorithm is never guessed |
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JwkSetOptions {
    assume_alg: Option<Algorithm>,
    symmetric: bool,
}

impl JwkSetOptions {
    /// The defaults: no algorithm assumed, `oct` members skipped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds members without `alg` whose key type is `alg`'s (such as RSA
    /// keys for `RS256`) to `alg`.
    #[must_use]
    pub fn assume_alg(mut self, alg: Algorithm) -> Self {
        self.assume_alg = Some(alg);
        self
    }

    /// Imports `oct` members (HMAC secrets) too. **Only for a private
    /// document from a trusted source** (a secrets manager, a file only
    /// this service can read), never for a JWK Set fetched from a URL,
    /// published, or shared with anyone who must not mint tokens: whoever
    /// can read an `oct` member can sign tokens the store's validators
    /// accept.
    #[must_use]
    pub fn danger_allow_symmetric_keys(mut self) -> Self {
        self.symmetric = true;
        self
    }
}

/// The result of a JWK Set import: the usable keys and the members left out.
///
/// Made by [`VerifyingKey::from_jwk_set`] (and kept by a
/// [`KeySetStore`](crate::KeySetStore), see
/// [`KeySetStore::skipped`](crate::KeySetStore::skipped)).
#[non_exhaustive]
#[derive(Debug)]
pub struct JwkSetImport {
    /// The usable signature keys, in document order; never empty.
    pub keys: Vec<VerifyingKey>,
    /// The members left out, in document order, with why.
    pub skipped: Vec<SkippedJwk>,
}

/// A member of a JWK Set that an import left out.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedJwk {
    /// Its position in the document's `keys` array, from 0.
    pub index: usize,
    /// Its `kid`, when it has a string one.
    pub kid: Option<String>,
    /// Why it was left out.
    pub reason: SkipReason,
}

impl fmt::Display for SkippedJwk {
    /// `member N: REASON`; the `kid` is not shown, since it comes from the
    /// document (read [`SkippedJwk::kid`] to log it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member {}: {}", self.index, self.reason)
    }
}

/// Why a JWK Set member was left out.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `kty` `oct`: a secret, which has no place in a public document
    /// (see [`JwkSetOptions::danger_allow_symmetric_keys`]).
    SymmetricKey,
    /// `use` other than `sig`, or `key_ops` without `verify`: an
    /// encryption key or a key for signing only.
    NotForVerification,
    /// A key type, curve or `alg` this build does not implement.
    Unsupported(&'static str),
    /// No `alg`, and none implied by the key's curve nor assumed
    /// ([`JwkSetOptions::assume_alg`]).
    MissingAlgorithm,
    /// Another member has the same `kid` and algorithm.
    DuplicateKeyId,
    /// The member does not import: why, as [`VerifyingKey::from_jwk`]
    /// would say.
    Invalid(KeyError),
}

impl SkipReason {
    /// A stable snake_case name for logs and metrics: `symmetric_key`,
    /// `not_for_verification`, `unsupported`, `missing_algorithm`,
    /// `duplicate_key_id`, `invalid_key`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::SymmetricKey => "symmetric_key",
            Self::NotForVerification => "not_for_verification",
            Self::Unsupported(_) => "unsupported",
            Self::MissingAlgorithm => "missing_algorithm",
            Self::DuplicateKeyId => "duplicate_key_id",
            Self::Invalid(_) => "invalid_key",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SymmetricKey => f.write_str("a secret (`oct`) key in a public key set"),
            Self::NotForVerification => f.write_str("not a key for verifying signatures"),
            Self::Unsupported(what) => write!(f, "unsupported {what}"),
            Self::MissingAlgorithm => f.write_str(
                "no `alg`, and none assumed (bind such keys with JwkSetOptions::assume_alg)",
            ),
            Self::DuplicateKeyId => f.write_str("another member has the same `kid` and `alg`"),
            Self::Invalid(e) => e.fmt(f),
        }
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
    fn jwk_set_skips_foreign_keys_and_says_why() {
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
        let import = VerifyingKey::from_jwk_set(&set, None).unwrap();
        let kids: Vec<&str> = import.keys.iter().map(|k| k.key_id()).collect();
        assert_eq!(kids, ["a"]);
        let reasons: Vec<(usize, Option<&str>, &str)> = import
            .skipped
            .iter()
            .map(|s| (s.index, s.kid.as_deref(), s.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (1, Some("b"), "not_for_verification"),
                (2, Some("c"), "unsupported"),
                (3, Some("d"), "unsupported"),
                (4, Some("e"), "missing_algorithm"),
                (5, Some("f"), "unsupported"),
            ]
        );
        let import = VerifyingKey::from_jwk_set(&set, Some(Algorithm::RS256)).unwrap();
        let kids: Vec<&str> = import.keys.iter().map(|k| k.key_id()).collect();
        assert_eq!(kids, ["a", "e"]);
        let broken = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#;
        match VerifyingKey::from_jwk_set(broken, None) {
            Err(Error::InvalidKey(KeyError::NoUsableKey { skipped })) => {
                assert_eq!(skipped.len(), 1);
                assert!(matches!(
                    skipped[0].reason,
                    SkipReason::Invalid(KeyError::Format(_))
                ));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            VerifyingKey::from_jwk_set(r#"{"keys":{}}"#, None),
            Err(Error::InvalidKey(KeyError::Format(_)))
        ));
    }

    #[test]
    fn members_sharing_a_kid_and_alg_are_all_left_out() {
        let k = |kid: &str, e: &str| {
            format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"{e}","alg":"RS256","kid":"{kid}"}}"#)
        };
        let ps256 =
            format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"PS256","kid":"x"}}"#);
        let set = format!(
            r#"{{"keys":[{},{},{},{ps256}]}}"#,
            k("x", "AQAB"),
            k("y", "AQAB"),
            k("x", "Aw"),
        );
        let import = VerifyingKey::from_jwk_set(&set, None).unwrap();
        let kept: Vec<(&str, Algorithm)> = import
            .keys
            .iter()
            .map(|k| (k.key_id(), k.algorithm()))
            .collect();
        assert_eq!(kept, [("y", Algorithm::RS256), ("x", Algorithm::PS256)]);
        let skipped: Vec<(usize, &str)> = import
            .skipped
            .iter()
            .map(|s| (s.index, s.reason.as_str()))
            .collect();
        assert_eq!(skipped, [(0, "duplicate_key_id"), (2, "duplicate_key_id")]);
    }

    #[test]
    fn no_usable_key_lists_a_few_reasons() {
        let member = |i: usize| format!(r#"{{"kty":"oct","k":"AA","kid":"k{i}"}}"#);
        let set = format!(
            r#"{{"keys":[{}]}}"#,
            (0..6).map(member).collect::<Vec<_>>().join(",")
        );
        let err = VerifyingKey::from_jwk_set(&set, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid key: the JWK Set holds no usable signature key (member 0: a secret \
             (`oct`) key in a public key set; member 1: a secret (`oct`) key in a public key \
             set; member 2: a secret (`oct`) key in a public key set; member 3: a secret \
             (`oct`) key in a public key set; and 2 more)"
        );
        let err = VerifyingKey::from_jwk_set(r#"{"keys":[]}"#, None).unwrap_err();
        assert_eq!(err.to_string(), "invalid key: the JWK Set holds no key");
    }
}
