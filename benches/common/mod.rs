//! The HS256 validator and token the memory and scaling benchmarks share:
//! issuer, audience, three scopes, a fixed clock, the README's setup.

use std::sync::Arc;

use tokengate::testing::clock_at;
use tokengate::{
    Algorithm, KeyRing, KeySetStore, Revocation, SigningKey, SingleKeyStore, TokenBuilder,
    Validator,
};

/// The benchmarks' clock, seconds since the epoch.
pub(crate) const NOW: i64 = 1_800_000_000;

/// Which key store holds the HS256 key.
#[allow(dead_code)] // each benchmark uses some of them
#[derive(Debug, Clone, Copy)]
pub(crate) enum Store {
    /// `SingleKeyStore`: lends its key.
    Single,
    /// `KeySetStore`: its keys can be replaced, so a lookup takes a read lock.
    KeySet,
    /// `KeyRing`: rotation, a read lock and the ring's state per lookup.
    Ring,
}

/// A validator over one HS256 key held by `store` (consulting
/// `revocation` when given) and a token it accepts, checked once.
pub(crate) fn hs256_in(
    store: Store,
    revocation: Option<Arc<dyn Revocation>>,
) -> (Validator, String) {
    let key = SigningKey::hmac(Algorithm::HS256, &[0x42; 32]).unwrap();
    let builder = match store {
        Store::Single => Validator::builder(SingleKeyStore::new(key.verifying_key())),
        Store::KeySet => Validator::builder(KeySetStore::new([key.verifying_key()]).unwrap()),
        Store::Ring => Validator::builder(KeyRing::with_clock(
            SigningKey::hmac(Algorithm::HS256, &[0x42; 32]).unwrap(),
            clock_at(NOW),
        )),
    };
    let mut builder = builder
        .danger_accept_any_type()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .clock(clock_at(NOW));
    if let Some(revocation) = revocation {
        builder = builder.revocation(revocation);
    }
    let validator = builder.build().unwrap();
    let token = TokenBuilder::new()
        .issuer("https://auth.example.com")
        .subject("user-1234567890")
        .audience("https://api.example.com")
        .scope("orders:read orders:write profile")
        .clock(clock_at(NOW - 5))
        .sign(&key)
        .unwrap();
    validator.validate(&token).unwrap();
    (validator, token)
}
