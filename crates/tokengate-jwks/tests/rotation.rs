//! Scenarios 1-3: the provider rotates its keys, many requests meet a new
//! `kid` at once, and an attacker sends made-up `kid`s.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use tokengate::keys::remote::KeySetPolicy;
use tokengate::time::Duration as TimeDuration;
use tokengate::{Error, ErrorKind};
use tokengate_jwks::RemoteJwks;

/// `token` with its header's `kid` replaced (its signature no longer
/// matches, which a lookup by `kid` never gets to).
fn with_kid(token: &str, kid: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (_, rest) = token.split_once('.').unwrap();
    let header = format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#);
    format!("{}.{rest}", b64.encode(header))
}

fn follow(idp: &Idp, policy: KeySetPolicy) -> RemoteJwks {
    let jwks = RemoteJwks::from_jwks_uri(idp.jwks_uri())
        .danger_allow_http()
        .policy(policy)
        .build()
        .unwrap();
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    jwks
}

/// Unstaged: the provider signs with a new key at once. A request with the
/// new `kid` is answered `unknown_key` by a plain lookup, and validates
/// after one refetch when it waits for it.
#[test]
fn idp_rotates_keys_new_kid_validates_after_one_refetch_unstaged() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let jwks = follow(&idp, quiet_policy(1));
    let validator = validator(&jwks);
    let old = token(&issuer.current());
    assert!(validator.validate(&old).is_ok());
    assert_eq!(idp.fetches(), 1);

    sleep_past_cooldown(1);
    issuer.rotate(key("k2"), TimeDuration::minutes(5)).unwrap();
    let new = token(&issuer.current());
    assert_eq!(issuer.current().key_id(), "k2");

    // Without waiting, the request fails as an unknown key...
    let err = validator.validate(&new).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    // ... and with the wait, it validates after exactly one refetch (here
    // through the general form, which any validation call can use).
    let verified = jwks
        .retry_on_unknown_key_blocking(|| validator.validate(&new))
        .unwrap();
    assert_eq!(verified.subject(), Some("user-1"));
    assert_eq!(idp.fetches(), 2, "one refetch");
    // No more fetches for the now known key; the old key's tokens still
    // validate (its grace period).
    assert!(validator.validate(&new).is_ok());
    assert!(validator.validate(&old).is_ok());
    assert_eq!(idp.fetches(), 2);
    assert_eq!(jwks.status().keys, 2);
}

/// Staged: `KeyRing::stage` publishes the next key first; the validator's
/// scheduled refetch sees it; only then does the provider `promote` it.
/// Not one token is rejected, and no unknown-`kid` refetch is needed.
#[test]
fn idp_rotates_keys_new_kid_validates_after_one_refetch_staged() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let mut policy = quiet_policy(1);
    // A scheduled refresh every two seconds.
    policy.min_age = TimeDuration::seconds(2);
    policy.default_age = TimeDuration::seconds(2);
    policy.max_age = TimeDuration::seconds(2);
    let jwks = follow(&idp, policy);
    let validator = validator(&jwks);

    let validated = AtomicUsize::new(0);
    let rejected = std::sync::Mutex::new(Vec::new());
    let check = |phase: &str| {
        // Plain validation: no wait on a refetch.
        match validator.validate(&token(&issuer.current())) {
            Ok(_) => {
                validated.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => rejected.lock().unwrap().push(format!("{phase}: {e}")),
        }
    };
    check("before");

    // 1. Publish k2; keep signing with k1.
    issuer.stage(key("k2")).unwrap();
    let fetches_at_stage = idp.fetches();
    // 2. Wait for a scheduled refetch to bring k2 to the validator.
    wait_for("the validator to learn the staged key", 30, || {
        check("staged");
        jwks.status().keys == 2
    });
    assert!(idp.fetches() > fetches_at_stage);
    // 3. Promote: tokens are now signed with k2.
    issuer.promote(TimeDuration::minutes(5)).unwrap();
    assert_eq!(issuer.current().key_id(), "k2");
    for _ in 0..50 {
        check("promoted");
    }
    assert_eq!(*rejected.lock().unwrap(), Vec::<String>::new());
    assert!(validated.load(Ordering::Relaxed) >= 52);
    // Every fetch was the schedule's: a token never met an unknown kid.
    assert_eq!(jwks.status().failures, 0);
}

/// An async application awaits the refetch instead of failing the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_validation_awaits_the_refetch_of_a_new_kid() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let jwks = tokio::task::block_in_place(|| follow(&idp, quiet_policy(1)));
    let validator = validator(&jwks);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    issuer.rotate(key("k2"), TimeDuration::minutes(5)).unwrap();
    let new = token(&issuer.current());
    // The future is Send: it runs in a multi-threaded server's handler.
    let future = jwks.validate_async(&validator, &new);
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let verified = assert_send(future).await.unwrap();
    assert_eq!(verified.subject(), Some("user-1"));
    assert_eq!(idp.fetches(), 2);
    // Right after, a made-up kid is refused at once, without a fetch.
    let forged = token(&key("made-up"));
    let err = jwks.validate_async(&validator, &forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(
        jwks.refresh_for_unknown_key().await,
        tokengate_jwks::UnknownKeyRefresh::Refused
    );
    assert_eq!(idp.fetches(), 2);
}

#[test]
fn thousand_concurrent_validations_of_a_new_kid_cause_exactly_one_fetch() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let jwks = Arc::new(follow(&idp, quiet_policy(1)));
    let validator = Arc::new(validator(&jwks));
    sleep_past_cooldown(1);
    issuer.rotate(key("k2"), TimeDuration::minutes(5)).unwrap();
    let new = Arc::new(token(&issuer.current()));

    const N: usize = 1000;
    let barrier = Arc::new(Barrier::new(N));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (jwks, validator, new, barrier) = (
                Arc::clone(&jwks),
                Arc::clone(&validator),
                Arc::clone(&new),
                Arc::clone(&barrier),
            );
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    barrier.wait();
                    jwks.validate_blocking(&validator, &new)
                        .map(|v| v.subject().map(str::to_owned))
                })
                .unwrap()
        })
        .collect();
    let mut ok = 0;
    for t in threads {
        match t.join().unwrap() {
            Ok(Some(sub)) if sub == "user-1" => ok += 1,
            other => panic!("a validation failed: {other:?}"),
        }
    }
    assert_eq!(ok, N);
    assert_eq!(
        idp.fetches(),
        2,
        "the initial fetch and exactly one refetch"
    );
}

#[test]
fn ten_thousand_random_kids_cause_at_most_one_fetch_per_cooldown_and_a_real_rotation_is_still_picked_up()
 {
    const COOLDOWN: u64 = 2;
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let jwks = follow(&idp, quiet_policy(COOLDOWN as i64));
    let validator = validator(&jwks);
    // One attacker token, re-labelled with a fresh random-looking kid each
    // time (the lookup fails before any signature check).
    let template = token(&key("attacker"));
    let forged: Vec<String> = (0..10_000u32)
        .map(|i| {
            with_kid(
                &template,
                &format!("rnd-{:08x}", i.wrapping_mul(2_654_435_761)),
            )
        })
        .collect();

    let mut real: Option<String> = None;
    let mut fetches_at_rotation = 0;
    let mut picked_up_after: Option<usize> = None;
    let started = Instant::now();
    for (i, t) in forged.iter().enumerate() {
        let err = jwks.validate_blocking(&validator, t).unwrap_err();
        assert!(
            matches!(err, Error::UnknownKey { .. }),
            "token {i}: {err:?}"
        );
        if i == 5_000 {
            issuer.rotate(key("k2"), TimeDuration::minutes(5)).unwrap();
            real = Some(token(&issuer.current()));
            fetches_at_rotation = idp.fetches();
        }
        if let (Some(real), None) = (&real, picked_up_after)
            && jwks.validate_blocking(&validator, real).is_ok()
        {
            picked_up_after = Some(idp.fetches() - fetches_at_rotation);
        }
        // Spread the flood over several cooldowns.
        std::thread::sleep(Duration::from_micros(600));
    }
    // If the flood ended before the next cooldown, keep trying the real
    // token as an application would.
    if picked_up_after.is_none() {
        let real = real.clone().unwrap();
        wait_for("the rotation to be picked up", 30, || {
            jwks.validate_blocking(&validator, &real).is_ok()
        });
        picked_up_after = Some(idp.fetches() - fetches_at_rotation);
    }
    let elapsed = started.elapsed();
    // The first fetch after the rotation picked it up: the flood did not
    // use up a budget that the real rotation needed.
    // (0 when a fetch counted just before the rotation served the new set.)
    assert!(
        matches!(picked_up_after, Some(0 | 1)),
        "{picked_up_after:?}"
    );
    // At most one fetch per cooldown: consecutive requests are more than
    // cooldown - 1 s apart (the policy counts whole seconds from the last
    // success), and their number is bounded by the elapsed time.
    let times = idp.fetch_times();
    for pair in times.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]) >= Duration::from_secs(COOLDOWN - 1),
            "two fetches within one cooldown: {times:?}"
        );
    }
    let bound = 1 + elapsed.as_secs() as usize / (COOLDOWN as usize - 1) + 1;
    assert!(
        times.len() <= bound,
        "{} fetches in {elapsed:?}",
        times.len()
    );
    assert!(
        times.len() >= 2,
        "the flood did trigger refetches: {times:?}"
    );
}
