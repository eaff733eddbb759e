//! Token introspection (RFC 7662) and revocation (RFC 7009) of arbitrary
//! and real tokens (access tokens, API keys, refresh tokens): `active` only
//! for real active tokens, and `to_json` always JSON; see
//! `tokengate_fuzz::front::check_introspection`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate_fuzz::front::{Call, Fuzzed, Tok, check_introspection, split_input};

fuzz_target!(|data: &[u8]| {
    match split_input::<Vec<Call>>(data) {
        Some(Fuzzed::Raw(s)) => check_introspection(&[
            Call::Introspect(Tok::Raw(s.clone())),
            Call::Revoke(Tok::Raw(s.clone())),
            Call::Introspect(Tok::Raw(s)),
        ]),
        Some(Fuzzed::Structured(calls)) => check_introspection(&calls),
        None => {}
    }
});
