//! The verified-token cache (`ValidatorBuilder::cache_verified`): a hit
//! must never accept what a validator without the cache refuses. Each
//! attack caches a valid token first, then changes what a hit must check
//! again (time, revocation, the key in the store, the route's scopes) or
//! presents bytes that differ from the cached token; a property runs
//! random sequences of those steps through a validator with the cache and
//! one without, over the same store, clock and revocation list, and
//! requires the same verdict at every step.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, RwLock};

use proptest::prelude::*;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use tokengate::testing::{T0, b64_decode, b64_encode, clock};
use tokengate::{
    Algorithm, AlgorithmSet, Clock, Error, ErrorKind, FixedClock, KeyQuery, KeyRing, KeyStore,
    RevocationList, RevocationStore, ScopeRequirement, SigningKey, TokenBuilder, Validator,
    ValidatorBuilder, VerifyingKey,
};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

fn builder(clock: &Arc<FixedClock>) -> TokenBuilder {
    TokenBuilder::new()
        .issuer(ISS)
        .subject("alice")
        .audience(AUD)
        .scope("read write")
        .lifetime(Duration::seconds(600))
        .clock(clock.clone())
}

fn validator(store: impl KeyStore + 'static, clock: &Arc<FixedClock>) -> ValidatorBuilder {
    Validator::builder(store)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock.clone())
}

fn kind<T>(r: &Result<T, Error>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    }
}

#[test]
fn a_repeated_token_is_served_from_the_cache_and_a_forged_twin_is_not() {
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let v = validator(ring, &clock).cache_verified(100).build().unwrap();
    let token = builder(&clock).sign(&key).unwrap();
    assert_eq!(v.cached_tokens(), 0);
    let first = v.validate(&token).unwrap();
    assert_eq!(v.cached_tokens(), 1);
    let again = v.validate(&token).unwrap();
    assert_eq!(first.claims(), again.claims());
    assert_eq!(first.header(), again.header());
    assert_eq!(v.cached_tokens(), 1);

    // The cached token's header and payload with another signature, and
    // the cached signature under another payload: both checked in full.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut forged_sig = b64_decode(sig.as_bytes()).unwrap();
    forged_sig[0] ^= 1;
    let forged = format!("{input}.{}", b64_encode(&forged_sig));
    assert_eq!(
        v.validate(&forged).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    let (header, _) = input.split_once('.').unwrap();
    let other_payload = b64_encode(br#"{"iss":"https://auth.example.com","sub":"mallory","aud":"https://api.example.com","exp":99999999999}"#);
    let spliced = format!("{header}.{other_payload}.{sig}");
    assert_eq!(
        v.validate(&spliced).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // A trailing byte, a prefix: other bytes, never the cached entry.
    assert!(v.validate(&format!("{token}A")).is_err());
    assert!(v.validate(&token[..token.len() - 1]).is_err());
    assert_eq!(v.cached_tokens(), 1, "failed tokens never enter the cache");
}

#[test]
fn a_cached_token_expires_on_time() {
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let v = validator(ring, &clock)
        .leeway(Duration::ZERO)
        .cache_verified(100)
        .build()
        .unwrap();
    let token = builder(&clock).sign(&key).unwrap();
    v.validate(&token).unwrap();
    clock.advance(599);
    v.validate(&token).unwrap();
    clock.advance(1);
    assert_eq!(v.validate(&token).unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(v.cached_tokens(), 0, "an expired token frees its entry");
}

#[test]
fn a_token_revoked_after_it_was_cached_is_refused() {
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let list = Arc::new(RevocationList::new());
    let v = validator(ring, &clock)
        .revocation(list.clone())
        .cache_verified(100)
        .build()
        .unwrap();
    let token = builder(&clock).jwt_id("t-1").sign(&key).unwrap();
    let other = builder(&clock).jwt_id("t-2").sign(&key).unwrap();
    v.validate(&token).unwrap();
    v.validate(&other).unwrap();
    list.revoke_token(
        "t-1",
        OffsetDateTime::from_unix_timestamp(T0 + 600).unwrap(),
    )
    .unwrap();
    assert_eq!(v.validate(&token).unwrap_err().kind(), ErrorKind::Revoked);
    v.validate(&other).unwrap();
    list.revoke_subject_issued_through("alice", OffsetDateTime::from_unix_timestamp(T0).unwrap())
        .unwrap();
    assert_eq!(v.validate(&other).unwrap_err().kind(), ErrorKind::Revoked);
}

#[test]
fn a_key_removed_from_the_ring_takes_its_cached_tokens_with_it() {
    let clock = clock();
    let ring = Arc::new(KeyRing::new(
        SigningKey::generate(Algorithm::ES256).unwrap(),
    ));
    let old = ring.current();
    let v = validator(ring.clone(), &clock)
        .cache_verified(100)
        .build()
        .unwrap();
    let token = builder(&clock).sign(&old).unwrap();
    v.validate(&token).unwrap();
    ring.rotate(
        SigningKey::generate(Algorithm::ES256).unwrap(),
        Duration::minutes(5),
    )
    .unwrap();
    v.validate(&token).unwrap();
    assert!(ring.remove(old.key_id()));
    assert_eq!(
        v.validate(&token).unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
}

/// A store whose one key (same `kid` throughout) can be swapped, as an
/// identity provider might republish a `kid` with new material.
#[derive(Debug)]
struct Swappable(RwLock<Arc<VerifyingKey>>);

impl KeyStore for Swappable {
    fn find_key(&self, _: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        Ok(self.0.read().unwrap().clone())
    }

    fn algorithms(&self) -> AlgorithmSet {
        [self.0.read().unwrap().algorithm()].into_iter().collect()
    }
}

#[test]
fn a_kid_republished_with_other_material_is_checked_against_the_new_key() {
    let clock = clock();
    let a = SigningKey::hmac(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_key_id("k");
    let b = SigningKey::hmac(Algorithm::HS256, &[2; 32])
        .unwrap()
        .with_key_id("k");
    let store = Arc::new(Swappable(RwLock::new(a.verifying_key())));
    let v = validator(store.clone(), &clock)
        .cache_verified(100)
        .build()
        .unwrap();
    let token = builder(&clock).sign(&a).unwrap();
    v.validate(&token).unwrap();
    *store.0.write().unwrap() = b.verifying_key();
    assert_eq!(
        v.validate(&token).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    *store.0.write().unwrap() = a.verifying_key();
    v.validate(&token).unwrap();
}

/// A store that hands out its one key for any query and says it holds
/// both HS256 and HS384 keys: the allow-list lets an HS256 token reach
/// the key lookup whatever the key is bound to.
#[derive(Debug)]
struct AnyHmac(RwLock<Arc<VerifyingKey>>);

impl KeyStore for AnyHmac {
    fn find_key(&self, _: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        Ok(self.0.read().unwrap().clone())
    }

    fn algorithms(&self) -> AlgorithmSet {
        [Algorithm::HS256, Algorithm::HS384].into_iter().collect()
    }
}

/// An HMAC key's thumbprint covers its secret and not its algorithm: a
/// `kid` republished with the same secret bound to HS384 has the same
/// thumbprint, and a cached HS256 token must still be refused as a fresh
/// validation refuses it.
#[test]
fn the_same_secret_bound_to_another_algorithm_takes_its_cached_tokens_with_it() {
    let clock = clock();
    let secret = [7u8; 64];
    let hs256 = SigningKey::hmac(Algorithm::HS256, &secret)
        .unwrap()
        .with_key_id("k");
    let hs384 = VerifyingKey::hmac(Algorithm::HS384, &secret)
        .unwrap()
        .with_key_id("k");
    assert_eq!(hs256.verifying_key().thumbprint(), hs384.thumbprint());
    let store = Arc::new(AnyHmac(RwLock::new(hs256.verifying_key())));
    let cached = validator(store.clone(), &clock)
        .cache_verified(100)
        .build()
        .unwrap();
    let fresh = validator(store.clone(), &clock).build().unwrap();
    let token = builder(&clock).sign(&hs256).unwrap();
    cached.validate(&token).unwrap();
    assert_eq!(cached.cached_tokens(), 1);
    *store.0.write().unwrap() = Arc::new(hs384);
    assert_eq!(kind(&fresh.validate(&token)), "unknown_key");
    assert_eq!(kind(&cached.validate(&token)), "unknown_key");
    assert_eq!(cached.cached_tokens(), 0, "the entry is dropped");
}

#[test]
fn each_call_s_scope_requirement_applies_to_a_cached_token() {
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let v = validator(ring, &clock).cache_verified(100).build().unwrap();
    let token = builder(&clock).sign(&key).unwrap();
    let admin = ScopeRequirement::all("admin").unwrap();
    let read = ScopeRequirement::all("read").unwrap();
    assert_eq!(
        v.validate_for(&token, &admin).unwrap_err().kind(),
        ErrorKind::InsufficientScope
    );
    assert_eq!(v.cached_tokens(), 1, "valid, if not for this route");
    assert_eq!(
        v.validate_for(&token, &admin).unwrap_err().kind(),
        ErrorKind::InsufficientScope
    );
    v.validate_for(&token, &read).unwrap();
    assert_eq!(v.cached_tokens(), 1);
}

#[test]
fn custom_claims_are_read_from_a_cached_token() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Tenant {
        tenant: String,
    }
    #[derive(Debug, Deserialize)]
    struct Other {
        #[allow(dead_code)]
        plan: u32,
    }
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let v = validator(ring, &clock).cache_verified(100).build().unwrap();
    #[derive(serde::Serialize)]
    struct Out {
        tenant: &'static str,
    }
    let token = builder(&clock)
        .custom(Out { tenant: "acme" })
        .sign(&key)
        .unwrap();
    v.validate(&token).unwrap();
    let hit = v.validate_with::<Tenant>(&token, None).unwrap();
    assert_eq!(hit.custom().tenant, "acme");
    assert_eq!(
        v.validate_with::<Other>(&token, None).unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert_eq!(v.cached_tokens(), 1);
}

#[test]
fn the_cache_holds_no_more_than_its_capacity() {
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let v = validator(ring, &clock).cache_verified(32).build().unwrap();
    for i in 0..500 {
        let token = builder(&clock).jwt_id(format!("t-{i}")).sign(&key).unwrap();
        v.validate(&token).unwrap();
        assert!(v.cached_tokens() <= 32, "{}", v.cached_tokens());
    }
    assert!(v.cached_tokens() >= 16);
}

#[test]
fn a_cache_of_no_entries_or_too_many_is_refused() {
    let clock = clock();
    for capacity in [0, 10_000_001] {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let e = validator(KeyRing::new(key), &clock)
            .cache_verified(capacity)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfiguration);
    }
}

#[test]
fn the_debug_form_shows_no_token() {
    let clock = clock();
    let ring = KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap());
    let key = ring.current();
    let v = validator(ring, &clock).cache_verified(8).build().unwrap();
    let token = builder(&clock).sign(&key).unwrap();
    v.validate(&token).unwrap();
    let shown = format!("{v:?}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!shown.contains(signature), "{shown}");
}

#[derive(Debug, Clone)]
enum Step {
    Validate(usize),
    FrontDoor(usize),
    Tampered(usize),
    RequireAdmin(usize),
    Advance(i64),
    RevokeJti(usize),
    RevokeSubject,
    RotateAndRemove,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..4usize).prop_map(Step::Validate),
        2 => (0..4usize).prop_map(Step::FrontDoor),
        1 => (0..4usize).prop_map(Step::Tampered),
        1 => (0..4usize).prop_map(Step::RequireAdmin),
        2 => (0..400i64).prop_map(Step::Advance),
        1 => (0..4usize).prop_map(Step::RevokeJti),
        1 => Just(Step::RevokeSubject),
        1 => Just(Step::RotateAndRemove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same steps through a validator with the cache and one without
    /// give the same verdict at every step.
    #[test]
    fn the_cache_never_changes_a_verdict(steps in prop::collection::vec(step(), 1..40)) {
        let clock = clock();
        let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::HS256).unwrap()));
        let list = Arc::new(RevocationList::new());
        let plain = validator(ring.clone(), &clock)
            .revocation(list.clone())
            .build()
            .unwrap();
        let cached = validator(ring.clone(), &clock)
            .revocation(list.clone())
            .cache_verified(3)
            .build()
            .unwrap();
        let admin = ScopeRequirement::all("admin").unwrap();
        let door = |v: &Validator| {
            tokengate::Authenticator::builder()
                .access_tokens(v.clone())
                .build()
                .unwrap()
        };
        let (plain_door, cached_door) = (door(&plain), door(&cached));
        let answer = |d: &tokengate::Authenticator, t: &str| match d.authenticate(Some(&format!("Bearer {t}"))) {
            Ok(p) => (200, p.subject().map(str::to_owned).unwrap_or_default()),
            Err(e) => (e.status(), e.www_authenticate()),
        };
        let mut signer = ring.current();
        let mut tokens: Vec<String> = (0..4)
            .map(|i| builder(&clock).jwt_id(format!("t-{i}")).sign(&signer).unwrap())
            .collect();
        for step in steps {
            match step {
                Step::Validate(i) => {
                    prop_assert_eq!(kind(&cached.validate(&tokens[i])), kind(&plain.validate(&tokens[i])));
                }
                Step::FrontDoor(i) => {
                    prop_assert_eq!(answer(&cached_door, &tokens[i]), answer(&plain_door, &tokens[i]));
                }
                Step::Tampered(i) => {
                    let t = &tokens[i];
                    let mut bytes = t.clone().into_bytes();
                    let at = bytes.len() / 2;
                    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                    let t = String::from_utf8(bytes).unwrap();
                    prop_assert_eq!(kind(&cached.validate(&t)), kind(&plain.validate(&t)));
                }
                Step::RequireAdmin(i) => {
                    prop_assert_eq!(
                        kind(&cached.validate_for(&tokens[i], &admin)),
                        kind(&plain.validate_for(&tokens[i], &admin))
                    );
                }
                Step::Advance(s) => clock.advance(s),
                Step::RevokeJti(i) => list
                    .revoke_token(&format!("t-{i}"), OffsetDateTime::from_unix_timestamp(clock.now_unix() + 3600).unwrap())
                    .unwrap(),
                Step::RevokeSubject => list
                    .revoke_subject_before("alice", OffsetDateTime::from_unix_timestamp(clock.now_unix() - 200).unwrap())
                    .unwrap(),
                Step::RotateAndRemove => {
                    let next = SigningKey::generate(Algorithm::HS256).unwrap();
                    ring.rotate(next, Duration::minutes(5)).unwrap();
                    ring.remove(signer.key_id());
                    signer = ring.current();
                    // Two fresh tokens from the new key, two old ones kept.
                    tokens[0] = builder(&clock).jwt_id("t-0").sign(&signer).unwrap();
                    tokens[1] = builder(&clock).jwt_id("t-1").sign(&signer).unwrap();
                }
            }
        }
    }
}
