//! Well-formed API keys and refresh tokens built by hand.
//!
//! Both credentials end in a checksum: the CRC32 (IEEE) of everything
//! before it, as six base62 digits, most significant first. It is no
//! secret, so anyone can build a well-formed credential; these helpers do
//! so without the crate's own checksum code, which tests can then check
//! against them.

use crate::api_key::ApiKeyFormat;

/// The base62 alphabet of ids, secrets and checksums, in the order
/// checksum digits use: `0-9`, `A-Z`, `a-z`.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters of the checksum: 62^6 > 2^32.
const CHECKSUM_LEN: usize = 6;

/// The six checksum characters that follow `checked`: the CRC32 (IEEE) of
/// its bytes in base62, most significant digit first, zero-padded.
///
/// ```
/// use tokengate::testing::checksum;
///
/// assert_eq!(checksum(""), "000000");
/// assert_eq!(checksum("acme_live_").len(), 6);
/// ```
pub fn checksum(checked: &str) -> String {
    let mut n = crc32fast::hash(checked.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for d in digits.iter_mut().rev() {
        *d = BASE62.get((n % 62) as usize).copied().unwrap_or(b'0');
        n /= 62;
    }
    digits.iter().copied().map(char::from).collect()
}

/// `checked` followed by its [`checksum`].
pub fn with_checksum(checked: &str) -> String {
    format!("{checked}{}", checksum(checked))
}

/// `credential` with its last six characters replaced by the [`checksum`]
/// of the rest: after an edit elsewhere, the credential passes the format
/// check again and reaches the store lookup and the secret comparison.
///
/// Returned unchanged when it is shorter than six bytes or its last six
/// bytes do not start on a character boundary.
pub fn reseal(credential: &str) -> String {
    match checked_part(credential) {
        Some(checked) => with_checksum(checked),
        None => credential.to_owned(),
    }
}

/// A credential of `format` (an API key format, or a refresh token format
/// from [`RefreshTokens::format`](crate::RefreshTokens::format)) with the
/// public id `id`, the secret `secret` and a valid checksum.
///
/// With the lengths of `format` and base62 characters it is well formed,
/// and what it is worth is up to the store: a real id with a guessed
/// secret is `invalid_secret`, a made-up id `unknown_credential`.
pub fn forge(format: &ApiKeyFormat, id: &str, secret: &str) -> String {
    with_checksum(&format!("{}{id}{secret}", format.lead()))
}

/// `credential` (a well-formed API key or refresh token) with the last
/// character of its secret changed, to `a` or, where it was `a`, to `b`,
/// and its checksum repaired: well formed, the right id, the wrong secret.
pub fn wrong_secret(credential: &str) -> String {
    let mut changed = checked_part(credential).unwrap_or(credential).to_owned();
    let last = changed.pop();
    changed.push(if last == Some('a') { 'b' } else { 'a' });
    with_checksum(&changed)
}

/// Everything before the checksum, when there is a place to split.
fn checked_part(credential: &str) -> Option<&str> {
    credential
        .len()
        .checked_sub(CHECKSUM_LEN)
        .and_then(|split| credential.get(..split))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format() -> ApiKeyFormat {
        ApiKeyFormat::new("acme")
            .unwrap()
            .environment("live")
            .unwrap()
    }

    #[test]
    fn forged_keys_are_well_formed_and_the_checksum_is_the_crates() {
        let f = format();
        let key = forge(&f, &"A".repeat(12), &"b".repeat(33));
        assert!(f.is_well_formed(&key));
        assert_eq!(f.key_id(&key).unwrap(), "A".repeat(12));
        let rng = crate::crypto::rand::SystemRandom::new();
        let (_, real, _) = f.generate(&rng).unwrap();
        assert_eq!(reseal(&real), *real);
        assert!(f.is_well_formed(&wrong_secret(&real)));
        assert_ne!(wrong_secret(&real), *real);
    }

    #[test]
    fn digits_are_most_significant_first() {
        // CRC32("a") = 0xe8b7be43 = 3,904,355,907 = "4GEHKN" in base62.
        assert_eq!(crc32fast::hash(b"a"), 0xe8b7_be43);
        assert_eq!(checksum("a"), "4GEHKN");
        assert_eq!(checksum("").len(), 6);
    }

    #[test]
    fn short_or_unsplittable_input_does_not_panic() {
        assert_eq!(reseal("abc"), "abc");
        // The last six bytes start inside the `é`.
        assert_eq!(reseal("xé12345"), "xé12345");
        assert_eq!(wrong_secret(""), with_checksum("a"));
    }
}
