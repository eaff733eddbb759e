//! API key format checks and verification of arbitrary strings against a
//! store of real keys (active, revoked, expired): only the exact issued
//! active keys verify; see `tokengate_fuzz::front::check_api_key`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate_fuzz::front::{Fuzzed, KeyCandidate, api_keys, check_api_key, split_input};

fuzz_target!(|data: &[u8]| {
    match split_input::<KeyCandidate>(data) {
        Some(Fuzzed::Raw(s)) => check_api_key(&s),
        Some(Fuzzed::Structured(c)) => check_api_key(&c.text(&api_keys().keys)),
        None => {}
    }
});
