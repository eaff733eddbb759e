//! What an attacker signs with.

use crate::error::Error;
use crate::jws::Algorithm;
use crate::keys::SigningKey;

/// An HMAC signing key over any bytes, a public key's included: what an
/// attacker trying key confusion (CVE-2015-9235, CVE-2016-10555) signs
/// with, taking a validator's published public key as the HMAC secret.
///
/// [`SigningKey::hmac`] refuses such secrets; attack tests use this to
/// make the forged tokens and show that validators refuse them. The
/// algorithm and the minimum length are still checked.
///
/// ```
/// use tokengate::testing::attacker_hmac_key;
/// use tokengate::{Algorithm, SigningKey};
///
/// let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
/// assert!(SigningKey::hmac(Algorithm::HS256, pem.as_bytes()).is_err());
/// assert!(attacker_hmac_key(Algorithm::HS256, pem.as_bytes()).is_ok());
/// ```
///
/// # Errors
///
/// As [`SigningKey::hmac`], except that a secret which is a public key is
/// accepted.
pub fn attacker_hmac_key(alg: Algorithm, secret: &[u8]) -> Result<SigningKey, Error> {
    SigningKey::hmac_accepting_public_keys(alg, secret)
}
