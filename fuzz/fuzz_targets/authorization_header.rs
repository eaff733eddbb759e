//! `Authorization` header values through `Authenticator::authenticate` and
//! `authenticate_for` (JWTs and API keys configured): only `Bearer` plus a
//! valid credential passes, and challenges name the error class only; see
//! `tokengate_fuzz::front::check_header`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate_fuzz::front::{Fuzzed, HeaderInput, check_header, front_door, split_input};

fuzz_target!(|data: &[u8]| {
    match split_input::<HeaderInput>(data) {
        Some(Fuzzed::Raw(s)) => {
            for requirement in 0..5 {
                check_header(Some(&s), None, requirement);
            }
        }
        Some(Fuzzed::Structured(input)) => {
            let (header, known) = input.header.text(&front_door().credentials);
            check_header(
                header.as_deref(),
                known.as_deref(),
                usize::from(input.requirement),
            );
        }
        None => {}
    }
});
