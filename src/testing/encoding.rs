//! The crate's strict base64url, for tests that build tokens by hand.

use crate::error::Error;

/// Encodes `bytes` as unpadded base64url, as every JWS segment is.
pub fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    crate::encoding::b64_encode(bytes)
}

/// Decodes strict unpadded base64url (no padding, no standard alphabet,
/// canonical trailing bits), as validation does.
///
/// # Errors
///
/// [`Error::Malformed`] for anything else.
pub fn b64_decode(input: &[u8]) -> Result<Vec<u8>, Error> {
    crate::encoding::b64_decode(input)
}
