//! Token validation of arbitrary input against validators holding a real
//! key of every algorithm (the RFC 7515/8037 keys where a published token
//! exists, so seeds get past key lookup and signature checks): never a
//! panic, hang or unbounded allocation, and the custom claims type never
//! changes the verdict.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tokengate::{KeySetStore, RevocationList, RevocationStore, Validator};
use tokengate_fuzz::{AUD, ISS, clock, must, validate_keys};

fn validators() -> &'static [Validator; 2] {
    static V: OnceLock<[Validator; 2]> = OnceLock::new();
    V.get_or_init(|| {
        let store = Arc::new(must(KeySetStore::new(validate_keys()), "store"));
        let lax = Validator::builder(Arc::clone(&store))
            .danger_accept_any_type()
            .danger_accept_any_issuer()
            .expect_no_audience()
            .danger_allow_missing_exp()
            .clock(clock());
        let revoked = Arc::new(RevocationList::new());
        must(
            revoked.revoke_token(
                "revoked-jti",
                tokengate::time::PrimitiveDateTime::MAX.assume_utc(),
            ),
            "revoke",
        );
        let strict = Validator::builder(store)
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .revocation(revoked)
            .clock(clock());
        [must(lax.build(), "lax"), must(strict.build(), "strict")]
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for v in validators() {
        let value = v.validate_with::<serde_json::Value>(&text, None).is_ok();
        let none = v.validate(&text).is_ok();
        assert_eq!(value, none, "the custom claims type changed the verdict");
    }
});
