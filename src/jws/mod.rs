//! Compact JWS (RFC 7515): algorithms, the header, and signing and
//! verifying raw payloads.
//!
//! Most applications use [`crate::jwt`], which builds on this module. Use it
//! directly for JWS payloads that are not JWT claims.

mod algorithm;
mod header;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use header::Header;

pub(crate) use algorithm::Family;
pub(crate) use header::{HeaderRef, typ_matches};

use crate::encoding::{DEFAULT_MAX_TOKEN_SIZE, DecodeBuf, b64_decode, b64_encode_into};
use crate::error::{Error, Malformed};
use crate::keys::{SigningKey, VerifyingKey};

/// The three segments of a compact JWS, still encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'a> {
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the signed bytes.
    pub(crate) signing_input: &'a [u8],
    pub(crate) header: &'a [u8],
    pub(crate) payload: &'a [u8],
    pub(crate) signature: &'a [u8],
}

impl<'a> Compact<'a> {
    /// Splits a token into exactly three segments, header and payload
    /// non-empty; `max_len` is checked first, before anything else is read.
    ///
    /// An empty signature passes here so that an unsecured token (`alg`
    /// `none`, RFC 7515 Appendix A.5) is reported for its algorithm; any
    /// supported algorithm then fails signature verification.
    pub(crate) fn split(token: &'a str, max_len: usize) -> Result<Self, Error> {
        if token.len() > max_len {
            return Err(Error::TokenTooLarge {
                len: token.len(),
                limit: max_len,
            });
        }
        // Three vectorized scans (`memchr`): the first dot from the front,
        // the last from the back, then the payload for a third, rather than
        // a byte-at-a-time split of the whole token.
        let bytes = token.as_bytes();
        let (Some(first), Some(last)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
        else {
            return Err(Malformed::Shape.into());
        };
        let (Some(header), Some(payload), Some(signature), Some(signing_input)) = (
            bytes.get(..first),
            bytes.get(first.saturating_add(1)..last),
            bytes.get(last.saturating_add(1)..),
            bytes.get(..last),
        ) else {
            // `first == last`: one dot.
            return Err(Malformed::Shape.into());
        };
        if header.is_empty() || payload.is_empty() || memchr::memchr(b'.', payload).is_some() {
            return Err(Malformed::Shape.into());
        }
        Ok(Self {
            signing_input,
            header,
            payload,
            signature,
        })
    }

    pub(crate) fn header(&self) -> Result<Header, Error> {
        Header::parse(DecodeBuf::<512>::new().decode(self.header)?)
    }
}

/// Signs `payload` into a compact JWS with header `alg`, `typ` (if given)
/// and the key's `kid`.
///
/// # Errors
///
/// [`Error::SigningFailed`] if the crypto library fails.
pub fn sign(payload: &[u8], key: &SigningKey, typ: Option<&str>) -> Result<String, Error> {
    let header = header::header_json(key.algorithm(), typ, None, Some(key.key_id()))?;
    sign_json_header(&header, payload, key)
}

fn sign_json_header(header_json: &[u8], payload: &[u8], key: &SigningKey) -> Result<String, Error> {
    let encoded = header_json
        .len()
        .saturating_add(payload.len())
        .saturating_mul(4)
        / 3;
    let mut out = String::with_capacity(encoded.saturating_add(700));
    b64_encode_into(header_json, &mut out);
    out.push('.');
    b64_encode_into(payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    b64_encode_into(&signature, &mut out);
    Ok(out)
}

/// Verifies a compact JWS with one key and returns its header and decoded
/// payload. The payload is not interpreted: for JWTs use
/// [`crate::jwt::Validator`], which also checks claims.
///
/// Checks, in order: size (8 KiB), shape, header (`alg` supported, no
/// `crit`), `alg` equal to the key's algorithm, signature, payload encoding.
///
/// # Errors
///
/// [`Error::TokenTooLarge`], [`Error::Malformed`],
/// [`Error::UnsupportedAlgorithm`], [`Error::UnsupportedCriticalHeader`],
/// [`Error::AlgorithmNotAllowed`] when the header names another algorithm
/// than the key's, [`Error::InvalidSignature`].
pub fn verify(token: &str, key: &VerifyingKey) -> Result<(Header, Vec<u8>), Error> {
    let compact = Compact::split(token, DEFAULT_MAX_TOKEN_SIZE)?;
    let header = compact.header()?;
    if header.alg != key.algorithm() {
        return Err(Error::AlgorithmNotAllowed(header.alg));
    }
    let signature = b64_decode(compact.signature)?;
    key.verify(compact.signing_input, &signature)?;
    let payload = b64_decode(compact.payload)?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_shapes() {
        assert!(Compact::split("a.b.c", 100).is_ok());
        assert!(Compact::split("a.b.", 100).is_ok());
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a..c",
            ".b.c",
            "..",
            "a.b.c.d.e",
        ] {
            assert!(
                matches!(
                    Compact::split(bad, 100),
                    Err(Error::Malformed(Malformed::Shape))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Compact::split("a.b.c", 4),
            Err(Error::TokenTooLarge { len: 5, limit: 4 })
        ));
    }

    /// The scans agree with a plain split on every placement of up to four
    /// dots in strings long enough for the vectorized paths.
    #[test]
    fn split_agrees_with_a_plain_split() {
        fn reference(t: &str) -> Option<(&str, &str, &str)> {
            let parts: Vec<&str> = t.split('.').collect();
            match parts[..] {
                [h, p, s] if !h.is_empty() && !p.is_empty() => Some((h, p, s)),
                _ => None,
            }
        }
        for len in [1, 2, 3, 5, 31, 32, 33, 64, 65, 97, 200] {
            for seed in 0..400_u64 {
                let mut bytes = vec![b'x'; len];
                let dots = seed % 5;
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for _ in 0..dots {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    bytes[(x % len as u64) as usize] = b'.';
                }
                let token = String::from_utf8(bytes).unwrap();
                let got = Compact::split(&token, 1000).ok().map(|c| {
                    assert_eq!(c.signing_input.len(), c.header.len() + 1 + c.payload.len());
                    (c.header, c.payload, c.signature)
                });
                let want =
                    reference(&token).map(|(h, p, s)| (h.as_bytes(), p.as_bytes(), s.as_bytes()));
                assert_eq!(got, want, "{token}");
            }
        }
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let key = SigningKey::hmac(Algorithm::HS256, &[3u8; 32]).unwrap();
        let token = sign(b"payload", &key, Some("JWT")).unwrap();
        let (header, payload) = verify(&token, &key.verifying_key()).unwrap();
        assert_eq!(payload, b"payload");
        assert_eq!(header.key_id(), Some(key.key_id()));
        let mut bytes = token.into_bytes();
        bytes[5] ^= 1;
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(verify(&tampered, &key.verifying_key()).is_err());
    }

    #[test]
    fn verify_refuses_a_header_alg_other_than_the_keys() {
        let key = SigningKey::hmac(Algorithm::HS384, &[3u8; 48]).unwrap();
        let other = VerifyingKey::hmac(Algorithm::HS256, &[3u8; 48]).unwrap();
        let token = sign(b"x", &key, None).unwrap();
        assert!(matches!(
            verify(&token, &other),
            Err(Error::AlgorithmNotAllowed(Algorithm::HS384))
        ));
    }

    #[test]
    fn empty_signatures_fail_for_their_algorithm() {
        let key = SigningKey::hmac(Algorithm::HS256, &[3u8; 32]).unwrap();
        let token = sign(b"x", &key, None).unwrap();
        let stripped = &token[..=token.rfind('.').unwrap()];
        assert!(matches!(
            verify(stripped, &key.verifying_key()),
            Err(Error::InvalidSignature)
        ));
        // RFC 7515 Appendix A.5 header {"alg":"none"}.
        assert!(matches!(
            verify("eyJhbGciOiJub25lIn0.eA.", &key.verifying_key()),
            Err(Error::UnsupportedAlgorithm)
        ));
    }
}
