use crate::crypto::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::record::{ApiKeyRecord, SecretDigest};
use crate::error::{Error, Malformed};

/// The base62 alphabet, in the order checksum digits use.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters of the CRC32 checksum: 62^6 > 2^32.
pub(crate) const CHECKSUM_LEN: usize = 6;
/// Default key id length: 12 base62 characters (71 bits), unique enough
/// that ids never collide in practice, and public.
pub const DEFAULT_ID_LEN: usize = 12;
/// Default secret length: 33 base62 characters, 196 bits of entropy.
pub const DEFAULT_SECRET_LEN: usize = 33;
/// Minimum secret length: 22 base62 characters, 130 bits of entropy.
pub const MIN_SECRET_LEN: usize = 22;

const MAX_PREFIX_LEN: usize = 32;
const MIN_ID_LEN: usize = 8;
const MAX_ID_LEN: usize = 32;
const MAX_SECRET_LEN: usize = 64;

/// The shape of an organisation's API keys:
/// `PREFIX_[ENV_]ID SECRET CHECKSUM`, for example
/// `acme_live_3xK9aQ2mZ7pL` + 33 secret characters + 6 checksum characters.
///
/// - `PREFIX` and `ENV`: lowercase ASCII letters and digits, each followed
///   by `_`.
/// - body: base62 (`[0-9A-Za-z]`), no separators, fixed length: the public
///   key id ([`DEFAULT_ID_LEN`] characters), the secret
///   ([`DEFAULT_SECRET_LEN`] characters, 196 bits from the system random
///   generator), and the CRC32 (IEEE) of everything before it in base62,
///   zero-padded to 6 characters.
///
/// Keys use only `[A-Za-z0-9_]`, so a double click selects a whole key, and
/// [`ApiKeyFormat::regex`] finds them in text. The checksum lets a secret
/// scanner rule out false positives offline, and lets a server refuse
/// typos and random strings without a store lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyFormat {
    /// `prefix_` or `prefix_env_`.
    lead: String,
    id_len: usize,
    secret_len: usize,
}

fn is_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_PREFIX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl ApiKeyFormat {
    /// A format with the given prefix, no environment tag and default
    /// lengths.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] unless `prefix` is 1 to 32 lowercase
    /// ASCII letters and digits.
    pub fn new(prefix: &str) -> Result<Self, Error> {
        if !is_tag(prefix) {
            return Err(Error::config(
                "an API key prefix is 1 to 32 lowercase ASCII letters and digits",
            ));
        }
        Ok(Self {
            lead: format!("{prefix}_"),
            id_len: DEFAULT_ID_LEN,
            secret_len: DEFAULT_SECRET_LEN,
        })
    }

    /// Adds an environment tag such as `live` or `test` after the prefix.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] unless `env` is 1 to 32 lowercase
    /// ASCII letters and digits, or when a tag is already set.
    pub fn environment(mut self, env: &str) -> Result<Self, Error> {
        if !is_tag(env) {
            return Err(Error::config(
                "an API key environment tag is 1 to 32 lowercase ASCII letters and digits",
            ));
        }
        if self.lead.matches('_').count() > 1 {
            return Err(Error::config("the environment tag is already set"));
        }
        self.lead.push_str(env);
        self.lead.push('_');
        Ok(self)
    }

    /// Sets the secret length in base62 characters (each 5.95 bits).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] below 22 characters (128 bits) or
    /// above 64.
    pub fn secret_len(mut self, chars: usize) -> Result<Self, Error> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&chars) {
            return Err(Error::config(
                "an API key secret is 22 to 64 base62 characters",
            ));
        }
        self.secret_len = chars;
        Ok(self)
    }

    /// Sets the key id length in base62 characters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] outside 8 to 32.
    pub fn id_len(mut self, chars: usize) -> Result<Self, Error> {
        if !(MIN_ID_LEN..=MAX_ID_LEN).contains(&chars) {
            return Err(Error::config("an API key id is 8 to 32 base62 characters"));
        }
        self.id_len = chars;
        Ok(self)
    }

    /// The fixed length of every key of this format.
    pub fn key_len(&self) -> usize {
        self.lead
            .len()
            .saturating_add(self.id_len)
            .saturating_add(self.secret_len)
            .saturating_add(CHECKSUM_LEN)
    }

    /// Bits of entropy in the secret.
    pub fn secret_bits(&self) -> f64 {
        self.secret_len as f64 * 62f64.log2()
    }

    /// A regular expression matching exactly the keys of this format, for
    /// secret scanners, such as `\bacme_live_[0-9A-Za-z]{51}\b`.
    pub fn regex(&self) -> String {
        format!(
            r"\b{}[0-9A-Za-z]{{{}}}\b",
            self.lead,
            self.id_len
                .saturating_add(self.secret_len)
                .saturating_add(CHECKSUM_LEN)
        )
    }

    /// The leading `prefix_` or `prefix_env_`.
    pub fn lead(&self) -> &str {
        &self.lead
    }

    /// The part of a key that is safe to show in dashboards and logs: the
    /// lead and the first characters of the public id, then `…`.
    pub fn display_prefix(&self, id: &str) -> String {
        let shown = id.get(..6.min(id.len())).unwrap_or("");
        format!("{}{shown}…", self.lead)
    }

    /// `true` when `candidate` has this format's length, lead, alphabet and
    /// a valid checksum. Touches no store; for scanners and routing.
    pub fn is_well_formed(&self, candidate: &str) -> bool {
        self.parse(candidate).is_ok()
    }

    /// The public key id of a well-formed key, for applications that look
    /// records up themselves (asynchronously, in their own database) and
    /// then call [`ApiKeyVerifier::verify_record`](super::ApiKeyVerifier::verify_record).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when length, lead, alphabet or checksum fail.
    pub fn key_id<'a>(&self, key: &'a str) -> Result<&'a str, Error> {
        self.parse(key).map(|p| p.id)
    }

    /// Checks length, lead, alphabet and checksum, in that order, and
    /// splits the key into its id and secret.
    pub(crate) fn parse<'a>(&self, key: &'a str) -> Result<ParsedKey<'a>, Error> {
        let malformed = || Error::Malformed(Malformed::ApiKey);
        if key.len() != self.key_len() {
            return Err(malformed());
        }
        let body = key.strip_prefix(self.lead.as_str()).ok_or_else(malformed)?;
        // Every byte is checked, so the time taken does not depend on where
        // a bad character sits.
        if !body
            .bytes()
            .fold(true, |ok, b| ok & b.is_ascii_alphanumeric())
        {
            return Err(malformed());
        }
        let split = key.len().checked_sub(CHECKSUM_LEN).ok_or_else(malformed)?;
        let (checked, checksum) = (
            key.get(..split).ok_or_else(malformed)?,
            key.get(split..).ok_or_else(malformed)?,
        );
        if decode_checksum(checksum) != Some(crc32fast::hash(checked.as_bytes())) {
            return Err(malformed());
        }
        let id = body.get(..self.id_len).ok_or_else(malformed)?;
        Ok(ParsedKey { id, checked })
    }

    /// Draws a fresh id and secret and assembles the key; returns the id,
    /// the key and its [`SecretDigest`] (of the lead, id and secret).
    pub(crate) fn generate(
        &self,
        rng: &SystemRandom,
    ) -> Result<(String, Zeroizing<String>, SecretDigest), Error> {
        let id = random_base62(rng, self.id_len)?;
        let secret = random_base62(rng, self.secret_len)?;
        let mut key = Zeroizing::new(String::with_capacity(self.key_len()));
        key.push_str(&self.lead);
        key.push_str(&id);
        key.push_str(&secret);
        let digest = SecretDigest::of_credential(&key);
        let checksum = encode_checksum(crc32fast::hash(key.as_bytes()));
        key.push_str(&checksum);
        Ok((id.as_str().to_owned(), key, digest))
    }

    /// `true` when some string is a well-formed key of both `self` and
    /// `other`, so that the two cannot be told apart by shape.
    ///
    /// That happens exactly when both have the same lead and the same key
    /// length. (With different leads, one would have to be a proper
    /// prefix of the other, and then the shorter lead's body would hold
    /// the `_` that ends the longer lead, which no body may contain.)
    /// Different ways to split the same length into id and secret still
    /// overlap. [`Introspector`](crate::Introspector) refuses overlapping
    /// formats when it is built, because it routes a presented token by
    /// the format it parses as.
    pub fn overlaps(&self, other: &ApiKeyFormat) -> bool {
        self.lead == other.lead && self.key_len() == other.key_len()
    }

    /// `true` when `record` describes a key of this format: an id of this
    /// format's length, and the display prefix this format gives that id
    /// (which starts with the lead, so it names the prefix and the
    /// environment the key was issued under).
    pub(crate) fn describes(&self, record: &ApiKeyRecord) -> bool {
        record.id.len() == self.id_len && record.display_prefix == self.display_prefix(&record.id)
    }
}

/// A key split into its parts by [`ApiKeyFormat::parse`].
#[derive(Clone, Copy)]
pub(crate) struct ParsedKey<'a> {
    /// The public id.
    pub(crate) id: &'a str,
    /// Everything before the checksum: the lead, the id and the secret,
    /// what the [`SecretDigest`] covers.
    pub(crate) checked: &'a str,
}

impl ParsedKey<'_> {
    /// The digest to compare with the stored one.
    pub(crate) fn digest(&self) -> SecretDigest {
        SecretDigest::of_credential(self.checked)
    }
}

/// Uniform base62 characters by rejection sampling (bytes 248..=255 are
/// redrawn, so every character has probability exactly 1/62).
fn random_base62(rng: &SystemRandom, len: usize) -> Result<Zeroizing<String>, Error> {
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        rng.fill(&mut buf[..])
            .map_err(|_| Error::RandomnessFailed)?;
        for b in buf.iter() {
            if out.len() == len {
                break;
            }
            if *b < 248
                && let Some(c) = BASE62.get(usize::from(*b % 62))
            {
                out.push(char::from(*c));
            }
        }
    }
    Ok(out)
}

fn encode_checksum(crc: u32) -> String {
    let mut digits = [b'0'; CHECKSUM_LEN];
    let mut n = u64::from(crc);
    for d in digits.iter_mut().rev() {
        *d = BASE62.get((n % 62) as usize).copied().unwrap_or(b'0');
        n /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

fn decode_checksum(s: &str) -> Option<u32> {
    let mut n: u64 = 0;
    for b in s.bytes() {
        let v = match b {
            // The ranges make each subtraction exact.
            b'0'..=b'9' => b.wrapping_sub(b'0'),
            b'A'..=b'Z' => b.wrapping_sub(b'A' - 10),
            b'a'..=b'z' => b.wrapping_sub(b'a' - 36),
            _ => return None,
        };
        n = n.checked_mul(62)?.checked_add(u64::from(v))?;
    }
    u32::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt() -> ApiKeyFormat {
        ApiKeyFormat::new("acme")
            .unwrap()
            .environment("live")
            .unwrap()
    }

    #[test]
    fn checksum_round_trip() {
        for crc in [0, 1, 61, 62, u32::MAX, 0xdead_beef] {
            let s = encode_checksum(crc);
            assert_eq!(s.len(), CHECKSUM_LEN);
            assert_eq!(decode_checksum(&s), Some(crc));
        }
        assert_eq!(decode_checksum("zzzzzz"), None, "62^6-1 exceeds u32");
    }

    #[test]
    fn generated_keys_parse_and_have_the_fixed_shape() {
        let f = fmt();
        assert_eq!(f.key_len(), 10 + 12 + 33 + 6);
        assert!(f.secret_bits() > 192.0);
        let rng = SystemRandom::new();
        let (id, key, _) = f.generate(&rng).unwrap();
        assert_eq!(key.len(), f.key_len());
        assert!(key.starts_with("acme_live_"));
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        let parsed = f.parse(&key).unwrap();
        assert_eq!(parsed.id, id);
        assert_eq!(parsed.checked, &key[..10 + 12 + 33]);
        assert_eq!(f.regex(), r"\bacme_live_[0-9A-Za-z]{51}\b");
        assert_eq!(f.display_prefix(&id), format!("acme_live_{}…", &id[..6]));
    }

    #[test]
    fn every_single_character_change_is_malformed() {
        let f = fmt();
        let (_, key, _) = f.generate(&SystemRandom::new()).unwrap();
        let alphabet: Vec<char> =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
                .chars()
                .collect();
        for i in 0..key.len() {
            for c in &alphabet {
                let mut chars: Vec<char> = key.chars().collect();
                if chars[i] == *c {
                    continue;
                }
                chars[i] = *c;
                let changed: String = chars.into_iter().collect();
                assert!(f.parse(&changed).is_err(), "position {i} -> {c}");
            }
        }
    }

    #[test]
    fn formats_overlap_exactly_when_one_string_parses_as_both() {
        let formats = [
            ApiKeyFormat::new("acme").unwrap(),
            fmt(),
            fmt().id_len(16).unwrap().secret_len(29).unwrap(),
            fmt().secret_len(40).unwrap(),
            ApiKeyFormat::new("acmelive2").unwrap(),
            ApiKeyFormat::new("rt").unwrap(),
            ApiKeyFormat::new("rt").unwrap().secret_len(43).unwrap(),
        ];
        let rng = SystemRandom::new();
        for a in &formats {
            for b in &formats {
                assert_eq!(a.overlaps(b), b.overlaps(a));
                for _ in 0..8 {
                    let (_, key, _) = a.generate(&rng).unwrap();
                    assert_eq!(
                        b.is_well_formed(&key),
                        a.overlaps(b),
                        "{a:?} {b:?} {}",
                        key.as_str()
                    );
                }
            }
        }
        assert!(fmt().overlaps(&fmt().id_len(16).unwrap().secret_len(29).unwrap()));
        assert!(!ApiKeyFormat::new("acme").unwrap().overlaps(&fmt()));
    }

    #[test]
    fn configuration_is_validated() {
        for bad in ["", "Acme", "ac_me", "acme!", &"a".repeat(33)] {
            assert!(ApiKeyFormat::new(bad).is_err(), "{bad}");
        }
        assert!(fmt().environment("again").is_err());
        assert!(fmt().secret_len(21).is_err());
        assert!(fmt().secret_len(22).is_ok());
        assert!(fmt().id_len(7).is_err());
    }
}
