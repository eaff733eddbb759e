//! Strict base64url and the size limits applied before any decoding.
//!
//! JWS uses unpadded base64url (RFC 7515 §2). The decoder here rejects
//! padding, the standard alphabet (`+`, `/`), whitespace and non-canonical
//! trailing bits, so every token has exactly one encoding and a flipped bit
//! anywhere in a segment is never silently ignored.

use std::mem::MaybeUninit;

use crate::error::{Error, Malformed};

/// The default maximum size of a token accepted by a validator, in bytes.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 8 * 1024;

/// The largest size limit a validator can be configured with, in bytes.
pub const MAX_TOKEN_SIZE_LIMIT: usize = 1024 * 1024;

/// Unpadded base64url: `base64-simd`, which vectorizes where the CPU
/// allows. Its decoder is strict in every way this module promises; the
/// tests hold it to the `base64` crate's strict engine on every input
/// (`decoder_agrees_with_the_base64_crate`).
const B64: base64_simd::Base64 = base64_simd::URL_SAFE_NO_PAD;

/// Encodes `bytes` as unpadded base64url.
pub(crate) fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    B64.encode_to_string(bytes)
}

/// Encodes `bytes` as unpadded base64url into `out`, which must be exactly
/// the encoded length, and returns it as text: no allocation.
///
/// # Errors
///
/// [`Error::SigningFailed`] when `out` has another length (a bug of the
/// caller, reported rather than panicking).
pub(crate) fn b64_encode_slice<'o>(bytes: &[u8], out: &'o mut [u8]) -> Result<&'o str, Error> {
    if out.len() != B64.encoded_length(bytes.len()) {
        return Err(Error::SigningFailed);
    }
    Ok(B64.encode_as_str(bytes, base64_simd::Out::from_slice(out)))
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn b64_encode_into(bytes: &[u8], out: &mut String) {
    B64.encode_append(bytes, out);
}

/// Decodes strict unpadded base64url.
///
/// # Errors
///
/// [`Error::Malformed`] with [`Malformed::Base64`] for padding, characters
/// outside the base64url alphabet, an impossible length or non-zero
/// trailing bits.
pub(crate) fn b64_decode(input: &[u8]) -> Result<Vec<u8>, Error> {
    B64.decode_to_vec(input)
        .map_err(|_| Error::Malformed(Malformed::Base64))
}

/// Room to decode one token part: `N` bytes on the stack, left
/// uninitialized until decoded into (no zeroing per token), and the heap
/// for a part that does not fit.
pub(crate) struct DecodeBuf<const N: usize> {
    stack: [MaybeUninit<u8>; N],
    heap: Vec<u8>,
}

impl<const N: usize> DecodeBuf<N> {
    /// An empty buffer: nothing written, nothing allocated.
    pub(crate) fn new() -> Self {
        Self {
            stack: [MaybeUninit::uninit(); N],
            heap: Vec::new(),
        }
    }

    /// Decodes strict base64url into the stack when it fits, else onto the
    /// heap, and returns the decoded bytes: no allocation for typical
    /// token parts.
    ///
    /// # Errors
    ///
    /// As [`b64_decode`].
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<&[u8], Error> {
        let bound = (input.len() / 4).saturating_mul(3).saturating_add(3);
        if bound <= N {
            let out = B64
                .decode(input, base64_simd::Out::from_uninit_slice(&mut self.stack))
                .map_err(|_| Error::Malformed(Malformed::Base64))?;
            Ok(out)
        } else {
            self.heap = b64_decode(input)?;
            Ok(self.heap.as_slice())
        }
    }
}

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
    B64.check(input)
        .map_err(|_| Error::Malformed(Malformed::Base64))
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
            let mut small = DecodeBuf::<8>::new();
            assert_eq!(small.decode(enc.as_bytes()).unwrap(), data);
            let mut big = DecodeBuf::<256>::new();
            assert_eq!(big.decode(enc.as_bytes()).unwrap(), data);
            assert!(big.heap.is_empty());
        }
        let mut buf = DecodeBuf::<16>::new();
        assert!(buf.decode(b"-_9").is_err());
        assert!(buf.decode(b"-_8=").is_err());
    }

    /// The decoder against the `base64` crate's strict engine (the
    /// encoder's), on inputs around the vectorized decoder's block sizes
    /// with one byte changed at every position.
    #[test]
    fn decoder_agrees_with_the_base64_crate() {
        use base64::Engine as _;
        use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
        const STRICT: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            GeneralPurposeConfig::new()
                .with_encode_padding(false)
                .with_decode_allow_trailing_bits(false)
                .with_decode_padding_mode(DecodePaddingMode::RequireNone),
        );
        let reference = |input: &[u8]| STRICT.decode(input).ok();
        for len in 0..140_usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 151 + 7) as u8).collect();
            let enc = b64_encode(&data).into_bytes();
            assert_eq!(enc, STRICT.encode(&data).into_bytes());
            let mut inputs = vec![enc.clone()];
            for at in 0..enc.len() {
                for b in [b'+', b'/', b'=', b' ', b'A', b'_', 0x80, b'8'] {
                    let mut changed = enc.clone();
                    changed[at] = b;
                    inputs.push(changed);
                }
            }
            for input in inputs {
                let expected = reference(&input);
                assert_eq!(b64_decode(&input).ok(), expected, "{input:?}");
                assert_eq!(b64_check(&input).is_ok(), expected.is_some(), "{input:?}");
                let mut stack = DecodeBuf::<128>::new();
                assert_eq!(
                    stack.decode(&input).ok().map(<[u8]>::to_vec),
                    expected,
                    "{input:?}"
                );
            }
        }
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
