//! JWK and JWK Set import from arbitrary text: never a panic, only typed errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::{Algorithm, JwkSetOptions, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = VerifyingKey::from_jwk(text, None);
    let _ = SigningKey::from_jwk(text, None);
    let _ = VerifyingKey::from_jwk_set(text, None);
    let _ =
        VerifyingKey::from_jwk_set_with(text, JwkSetOptions::new().danger_allow_symmetric_keys());
    for alg in Algorithm::ALL {
        let _ = VerifyingKey::from_jwk(text, Some(alg));
        let _ = VerifyingKey::from_jwk_set(text, Some(alg));
    }
});
