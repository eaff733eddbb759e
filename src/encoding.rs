//! Strict base64url and the size limits applied before any decoding.
//!
//! JWS uses unpadded base64url (RFC 7515 §2). The decoder here rejects
//! padding, the standard alphabet (`+`, `/`), whitespace and non-canonical
//! trailing bits, so every token has exactly one encoding and a flipped bit
//! anywhere in a segment is never silently ignored.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, Malformed};

/// The default maximum size of a token accepted by a validator, in bytes.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 8 * 1024;

/// The largest size limit a validator can be configured with, in bytes.
pub const MAX_TOKEN_SIZE_LIMIT: usize = 1024 * 1024;

const STRICT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Encodes `bytes` as unpadded base64url.
pub(crate) fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    STRICT.encode(bytes)
}

/// Encodes `bytes` as unpadded base64url into `out`, which must be exactly
/// the encoded length, and returns it as text: no allocation.
///
/// # Errors
///
/// [`Error::SigningFailed`] when `out` has another length (a bug of the
/// caller, reported rather than panicking).
pub(crate) fn b64_encode_slice<'o>(bytes: &[u8], out: &'o mut [u8]) -> Result<&'o str, Error> {
    match STRICT.encode_slice(bytes, out) {
        Ok(n) if n == out.len() => std::str::from_utf8(out).map_err(|_| Error::SigningFailed),
        _ => Err(Error::SigningFailed),
    }
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn b64_encode_into(bytes: &[u8], out: &mut String) {
    STRICT.encode_string(bytes, out);
}

/// Decodes strict unpadded base64url.
///
/// # Errors
///
/// [`Error::Malformed`] with [`Malformed::Base64`] for padding, characters
/// outside the base64url alphabet, an impossible length or non-zero
/// trailing bits.
pub(crate) fn b64_decode(input: &[u8]) -> Result<Vec<u8>, Error> {
    STRICT
        .decode(input)
        .map_err(|_| Error::Malformed(Malformed::Base64))
}

/// Decodes strict base64url into `stack` when it fits, else into `heap`,
/// and returns the decoded bytes: no allocation for typical token parts.
///
/// # Errors
///
/// As [`b64_decode`].
pub(crate) fn b64_decode_in<'b>(
    input: &[u8],
    stack: &'b mut [u8],
    heap: &'b mut Vec<u8>,
) -> Result<&'b [u8], Error> {
    let bound = (input.len() / 4).saturating_mul(3).saturating_add(3);
    if bound <= stack.len() {
        let n = STRICT
            .decode_slice(input, stack)
            .map_err(|_| Error::Malformed(Malformed::Base64))?;
        Ok(stack.get(..n).unwrap_or_default())
    } else {
        *heap = b64_decode(input)?;
        Ok(heap.as_slice())
    }
}

/// The value of each byte in the base64url alphabet, or 0xFF.
// Evaluated at compile time: an index out of bounds would fail the build,
// it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const VALUES: [u8; 256] = {
    let mut table = [0xFF_u8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Checks that `input` is strict unpadded base64url, exactly as
/// [`b64_decode`] would accept it, without decoding: the payload of a
/// token is checked so before the key lookup (garbage costs no lookup and
/// no crypto) and decoded only once its signature verified (a wrong
/// signature costs no decode).
///
/// # Errors
///
/// As [`b64_decode`].
pub(crate) fn b64_check(input: &[u8]) -> Result<(), Error> {
    let bad = || Error::Malformed(Malformed::Base64);
    let value = |b: u8| VALUES.get(usize::from(b)).copied().unwrap_or(0xFF);
    // Range comparisons without branches or table loads, folded with `&`
    // rather than short-circuited, so the compiler can vectorize the scan.
    let in_alphabet = |b: u8| {
        (b.wrapping_sub(b'A') < 26)
            | (b.wrapping_sub(b'a') < 26)
            | (b.wrapping_sub(b'0') < 10)
            | (b == b'-')
            | (b == b'_')
    };
    if !input.iter().fold(true, |ok, b| ok & in_alphabet(*b)) {
        return Err(bad());
    }
    // The bits of the last character that carry no data must be zero.
    let unused_mask: u8 = match input.len() % 4 {
        0 => 0,
        2 => 0b1111,
        3 => 0b11,
        _ => return Err(bad()),
    };
    if let Some(last) = input.last()
        && value(*last) & unused_mask != 0
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_agrees_with_the_decoder() {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in 0..7 {
            for seed in 0..300_u32 {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| {
                        let x = seed.wrapping_mul(2_654_435_761).wrapping_add(i * 40_503);
                        let pool = b"AQgwBZaz09-_+/=. \n\xff";
                        pool[(x >> 7) as usize % pool.len()]
                    })
                    .collect();
                inputs.push(bytes);
            }
        }
        for input in inputs {
            assert_eq!(
                b64_check(&input).is_ok(),
                b64_decode(&input).is_ok(),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    /// RFC 4648 §10's test vectors, unpadded, and the two characters where
    /// base64url differs from base64 (§5): 0xFB 0xFF is `+/8=` in base64.
    #[test]
    fn rfc4648_vectors() {
        let vectors: [(&[u8], &str); 8] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
        ];
        for (bytes, text) in vectors {
            assert_eq!(b64_encode(bytes), text);
            assert_eq!(b64_decode(text.as_bytes()).unwrap(), bytes);
        }
        for refused in ["Zg==", "Zm8=", "+/8", "Zh", "Zm9"] {
            assert!(b64_decode(refused.as_bytes()).is_err(), "{refused}");
        }
    }

    #[test]
    fn round_trip() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(b64_decode(b64_encode(&data).as_bytes()).unwrap(), data);
        }
    }

    #[test]
    fn decodes_on_the_stack_or_the_heap_alike() {
        for len in [0, 1, 2, 3, 10, 11, 12, 13, 100] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            let enc = b64_encode(&data);
            let mut small = [0u8; 8];
            let mut heap = Vec::new();
            assert_eq!(
                b64_decode_in(enc.as_bytes(), &mut small, &mut heap).unwrap(),
                data
            );
            let mut big = [0u8; 256];
            let mut heap = Vec::new();
            assert_eq!(
                b64_decode_in(enc.as_bytes(), &mut big, &mut heap).unwrap(),
                data
            );
            assert!(heap.is_empty());
        }
        let mut buf = [0u8; 16];
        let mut heap = Vec::new();
        assert!(b64_decode_in(b"-_9", &mut buf, &mut heap).is_err());
        assert!(b64_decode_in(b"-_8=", &mut buf, &mut heap).is_err());
    }

    #[test]
    fn rejects_padding_standard_alphabet_whitespace_and_trailing_bits() {
        assert_eq!(b64_encode(b"\xfb\xff"), "-_8");
        assert!(b64_decode(b"-_8").is_ok());
        for bad in [
            &b"-_8="[..],
            b"+/8",
            b"-_ 8",
            b"-_8\n",
            b"-_9", // non-canonical trailing bits
            b"A",   // impossible length
        ] {
            assert!(
                matches!(b64_decode(bad), Err(Error::Malformed(Malformed::Base64))),
                "{bad:?}"
            );
        }
    }
}
