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
pub fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    STRICT.encode(bytes)
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
pub fn b64_decode(input: &[u8]) -> Result<Vec<u8>, Error> {
    STRICT
        .decode(input)
        .map_err(|_| Error::Malformed(Malformed::Base64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(b64_decode(b64_encode(&data).as_bytes()).unwrap(), data);
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
