//! Token validation of arbitrary input against a validator holding a real key
//! of every algorithm: never a panic, hang or unbounded allocation.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tokengate::{
    Algorithm, FixedClock, KeySetStore, SigningKey, Validator, VerifyingKey,
};

const RSA_PEM: &str = include_str!("../../tests/data/keys/rsa2048_pkcs8.pem");

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let mut keys: Vec<VerifyingKey> = Vec::new();
        for alg in Algorithm::ALL {
            let key = if alg.is_symmetric() {
                SigningKey::hmac(alg, &[0x5a; 64]).ok()
            } else if let Ok(k) = SigningKey::generate(alg) {
                Some(k)
            } else {
                SigningKey::from_pem(alg, RSA_PEM).ok()
            };
            if let Some(k) = key {
                let public = VerifyingKey::from_jwk(
                    &k.verifying_key().to_jwk().map(|j| j.to_json()).unwrap_or_default(),
                    Some(alg),
                );
                match public {
                    Ok(p) => keys.push(p.with_key_id(alg.as_str())),
                    Err(_) => keys.push(
                        VerifyingKey::hmac(alg, &[0x5a; 64])
                            .map(|p| p.with_key_id(alg.as_str()))
                            .unwrap_or_else(|_| std::process::abort()),
                    ),
                }
            }
        }
        let store = KeySetStore::new(keys).unwrap_or_else(|_| std::process::abort());
        Validator::builder(store)
            .danger_accept_any_issuer()
            .expect_no_audience()
            .danger_allow_missing_exp()
            .clock(Arc::new(FixedClock::at_unix(1_700_000_000)))
            .build()
            .unwrap_or_else(|_| std::process::abort())
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = validator().validate::<serde_json::Value>(&text);
    let _ = validator().validate::<tokengate::NoCustomClaims>(&text);
});
