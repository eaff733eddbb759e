//! Unverified header and claims decoding of arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::danger;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = danger::decode_header_unverified(&text);
    let _ = danger::decode_claims_unverified::<serde_json::Value>(&text);
    let _ = danger::decode_claims_unverified::<tokengate::NoCustomClaims>(&text);
});
