//! Structure-aware token mutation: valid tokens of every algorithm, with
//! header members, claims, signature bytes and base64url form mutated and
//! optionally re-signed with the right or a wrong key. Only untouched or
//! correctly re-signed tokens within policy may pass; see
//! `tokengate_fuzz::mutate`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate_fuzz::mutate::{Input, run};

fuzz_target!(|input: Input| run(&input));
