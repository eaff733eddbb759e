//! Fixtures shared by the Redis tests: a signer and validators, and a
//! bounded wait.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokengate::{
    Algorithm, KeySetStore, NoCustomClaims, Revocation, SigningKey, TokenBuilder, Validator,
};
use tokengate_redis::testing::{INSTALL_HINT, redis_server_available};

pub const ISS: &str = "https://auth.example.com";
pub const AUD: &str = "https://api.example.com";

/// Fails the test, saying how to install it, when `redis-server` is missing.
pub fn require_redis() {
    assert!(redis_server_available(), "{INSTALL_HINT}");
}

pub fn signer() -> SigningKey {
    SigningKey::hmac(Algorithm::HS256, &[0x5a; 32])
        .unwrap()
        .with_key_id("k1")
}

/// An HS256 token with this `jti` and subject, valid for an hour.
pub fn token(jti: &str, sub: &str) -> String {
    TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject(sub)
        .jwt_id(jti)
        .lifetime(time::Duration::hours(1))
        .sign(&signer())
        .unwrap()
}

/// A validator of [`token`]s that consults `revocation`.
pub fn validator(revocation: Arc<dyn Revocation>) -> Validator {
    Validator::builder(KeySetStore::new([signer().verifying_key()]).unwrap())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .revocation(revocation)
        .build()
        .unwrap()
}

/// `"ok"` or the rejection's kind.
pub fn verdict(v: &Validator, token: &str) -> &'static str {
    match v.validate::<NoCustomClaims>(token) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    }
}

/// An hour from now.
pub fn in_an_hour() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::hours(1)
}

/// Polls `cond` every 5 ms until it holds; panics with `what` after
/// `limit`. A bound on a wait, never a measurement.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Generous bound for anything that should happen in milliseconds.
pub const SOON: Duration = Duration::from_secs(15);
