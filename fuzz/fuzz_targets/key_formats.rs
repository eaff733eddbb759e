//! PEM and DER key loading, and HMAC secrets (checked for being a public
//! key's PEM, DER or JWK text), from arbitrary bytes: never a panic, only
//! typed errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::{Algorithm, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    for alg in Algorithm::ALL {
        let _ = VerifyingKey::from_spki_der(alg, data);
        let _ = VerifyingKey::from_pkcs1_der(alg, data);
        let _ = VerifyingKey::from_ec_point(alg, data);
        let _ = SigningKey::from_pkcs8_der(alg, data);
        let _ = SigningKey::from_pkcs1_der(alg, data);
        let _ = VerifyingKey::hmac(alg, data);
        let _ = VerifyingKey::from_ed25519_for(alg, data);
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = VerifyingKey::from_pem(alg, text);
            let _ = SigningKey::from_pem(alg, text);
        }
    }
    let _ = VerifyingKey::from_ed25519(data);
});
