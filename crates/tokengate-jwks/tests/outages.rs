//! Scenarios 4-6 and the persisted cold start: a failing provider, its
//! `Cache-Control`, members the build cannot use, a restart during an
//! outage.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokengate::keys::remote::KeySetPolicy;
use tokengate::time::Duration as TimeDuration;
use tokengate::{ErrorKind, KeySetStore, SkipReason};
use tokengate_jwks::RemoteJwks;

fn follow(idp: &Idp, policy: KeySetPolicy) -> RemoteJwks {
    let jwks = RemoteJwks::from_jwks_uri(idp.jwks_uri())
        .danger_allow_http()
        .policy(policy)
        .build()
        .unwrap();
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    jwks
}

#[test]
fn idp_500_then_timeout_then_garbage_then_10mb_body_keeps_last_good_keys_then_key_set_unavailable()
{
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let mut policy = KeySetPolicy::default();
    // Refresh every second, retry a second after a failure, give up on the
    // last good keys 20 s after the last success.
    policy.min_age = TimeDuration::seconds(1);
    policy.default_age = TimeDuration::seconds(1);
    policy.max_age = TimeDuration::seconds(1);
    policy.retry_after = TimeDuration::seconds(1);
    policy.fetch_timeout = TimeDuration::seconds(1);
    policy.max_staleness = TimeDuration::seconds(20);
    let jwks = follow(&idp, policy);
    let validator = validator(&jwks);
    let good = token(&issuer.current());
    assert!(validator.validate(&good).is_ok());

    let ten_mb = 10 * 1024 * 1024;
    let steps: [(Behavior, &str); 5] = [
        (Behavior::Status(500), "status 500"),
        (Behavior::Hang(Duration::from_secs(3)), "timeout"),
        (
            Behavior::Body(b"<html>502 Bad Gateway</html>".to_vec()),
            "no usable key",
        ),
        (
            Behavior::Huge {
                bytes: ten_mb,
                declare_length: true,
            },
            "cap",
        ),
        (
            Behavior::Huge {
                bytes: ten_mb,
                declare_length: false,
            },
            "cap",
        ),
    ];
    for (behavior, expect) in steps {
        let failures = jwks.status().failures;
        idp.set_behavior(behavior.clone());
        wait_for(&format!("a failed fetch under {behavior:?}"), 30, || {
            jwks.status().failures > failures
        });
        let status = jwks.status();
        let error = status.last_error.clone().unwrap_or_default();
        assert!(error.contains(expect), "{behavior:?}: last_error {error:?}");
        // The last good keys keep serving.
        assert!(status.serving, "{behavior:?}: {status:?}");
        assert_eq!(status.keys, 1);
        validator.validate(&good).unwrap();
        idp.set_behavior(Behavior::Status(500));
    }
    // The oversized bodies were not read to their end: the client stopped
    // at the cap (or at the declared length) and closed the connection, so
    // the server could send each only in part (what the socket buffers
    // took). Let the server threads notice the closed connections first.
    std::thread::sleep(Duration::from_millis(500));
    let sent = idp.huge_bytes_sent();
    assert!(sent.len() >= 2, "{sent:?}");
    for bytes in &sent {
        assert!(*bytes < ten_mb, "a 10 MB body was sent whole: {sent:?}");
    }
    // The provider stays down: past the maximum staleness the set stops
    // serving, with the error that maps to 503.
    idp.set_behavior(Behavior::Status(503));
    wait_for("the maximum staleness", 60, || {
        validator.validate(&good).is_err()
    });
    let err = validator.validate(&good).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeySetUnavailable);
    assert!(err.is_unavailable());
    assert_eq!(err.kind().as_str(), "key_set_unavailable");
    assert!(!jwks.status().serving);
    assert!(jwks.wait_ready(Duration::from_millis(10)).is_err());

    // And it recovers with the provider.
    idp.set_behavior(Behavior::Serve);
    wait_for("the provider to be back", 30, || {
        validator.validate(&good).is_ok()
    });
}

#[test]
fn cache_control_below_minimum_and_above_maximum_are_clamped() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let mut policy = KeySetPolicy::default();
    policy.min_age = TimeDuration::seconds(2);
    policy.default_age = TimeDuration::seconds(3);
    policy.max_age = TimeDuration::seconds(4);
    let kept = |jwks: &RemoteJwks| {
        let s = jwks.status();
        s.next_refresh - s.last_success.unwrap()
    };

    // max-age=0 (and no-cache) is raised to the minimum: no fetch storm.
    idp.set_cache_control(Some("public, max-age=0"));
    let jwks = follow(&idp, policy);
    assert_eq!(kept(&jwks), 2);
    assert_eq!(jwks.status().fetches, 1);

    // A day is lowered to the maximum.
    idp.set_cache_control(Some("max-age=86400"));
    wait_for("the next scheduled fetch", 30, || {
        jwks.status().fetches >= 2
    });
    assert_eq!(kept(&jwks), 4);

    // In between, it is followed.
    idp.set_cache_control(Some("max-age=3, must-revalidate"));
    wait_for("the next scheduled fetch", 30, || {
        jwks.status().fetches >= 3
    });
    assert_eq!(kept(&jwks), 3);

    // Malformed: the default age.
    idp.set_cache_control(Some("max-age=soon"));
    wait_for("the next scheduled fetch", 30, || {
        jwks.status().fetches >= 4
    });
    assert_eq!(kept(&jwks), 3);
    idp.set_cache_control(Some("no-store"));
    wait_for("the next scheduled fetch", 30, || {
        jwks.status().fetches >= 5
    });
    assert_eq!(kept(&jwks), 2);

    // The schedule, not the poll, drove the fetches: one per kept age.
    let times = idp.fetch_times();
    for pair in times.windows(2) {
        assert!(pair[1].duration_since(pair[0]) >= Duration::from_secs(1));
    }
}

/// RFC 7515 A.4's P-521 public key.
const P521: &str = r#"{"kty":"EC","crv":"P-521","kid":"p521","alg":"ES512","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;

#[test]
fn ed448_akp_and_p521_members_are_skipped_and_reported_next_to_a_good_key() {
    let good = key("good");
    let mut doc: serde_json::Value = serde_json::from_str(
        &KeySetStore::new([good.verifying_key()])
            .unwrap()
            .jwks()
            .to_json(),
    )
    .unwrap();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.insert(
        0,
        serde_json::json!({"kty":"OKP","crv":"Ed448","kid":"ed448","alg":"EdDSA",
            "x":"X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"}),
    );
    keys.push(serde_json::json!({"kty":"AKP","alg":"ML-DSA-44","kid":"pq","pub":"AAAA"}));
    keys.push(serde_json::from_str(P521).unwrap());

    let idp = Idp::start(None);
    idp.set_document(doc.to_string());
    let jwks = follow(&idp, quiet_policy(1));
    let validator = validator(&jwks);
    validator.validate(&token(&good)).unwrap();

    let status = jwks.status();
    let skipped: Vec<(usize, Option<&str>, &str)> = status
        .skipped
        .iter()
        .map(|s| (s.index, s.kid.as_deref(), s.reason.as_str()))
        .collect();
    let p521_supported = tokengate::CRYPTO_BACKEND == "aws-lc-rs";
    let mut expected = vec![
        (0, Some("ed448"), "unsupported"),
        (2, Some("pq"), "unsupported"),
    ];
    if !p521_supported {
        expected.push((3, Some("p521"), "unsupported"));
    }
    assert_eq!(skipped, expected, "{:?}", status.skipped);
    assert_eq!(status.keys, if p521_supported { 2 } else { 1 });
    for s in &status.skipped {
        assert!(matches!(s.reason, SkipReason::Unsupported(_)), "{s}");
    }
    assert_eq!(status.last_error, None);
}

#[test]
fn a_persisted_document_serves_a_cold_start_while_the_provider_is_down() {
    let issuer = ring("k1");
    let good = token(&issuer.current());
    let (document, fetched_at) = {
        let idp = Idp::start(Some(Arc::clone(&issuer)));
        let jwks = follow(&idp, quiet_policy(1));
        jwks.last_good_document().unwrap()
        // The provider goes away with the process.
    };
    // A port nothing listens on any more.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks", listener.local_addr().unwrap())
    };
    let jwks = RemoteJwks::from_jwks_uri(dead)
        .danger_allow_http()
        .policy(quiet_policy(1))
        .cached(document, fetched_at)
        .build()
        .unwrap();
    let validator = validator(&jwks);
    // Serves at once, from the cached document.
    validator.validate(&good).unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(1)).is_ok());
    // The fetch made at start fails, and the cached keys keep serving.
    wait_for("the first fetch to fail", 30, || {
        jwks.status().failures >= 1
    });
    let status = jwks.status();
    assert!(status.serving);
    assert!(status.last_error.is_some());
    validator.validate(&good).unwrap();
    // A cached document that gives no key is refused at build.
    let err = RemoteJwks::from_jwks_uri("https://idp.example.com/jwks")
        .cached(r#"{"keys":[]}"#, fetched_at)
        .build()
        .unwrap_err();
    assert!(matches!(err, tokengate_jwks::Error::Config(_)), "{err}");
}

/// Entra ID publishes RSA keys without `alg`: reported as skipped unless
/// the application says which algorithm they are bound to.
#[test]
fn rsa_keys_without_alg_are_reported_until_an_algorithm_is_assumed() {
    let rsa = tokengate::SigningKey::from_pem(
        tokengate::Algorithm::RS256,
        include_str!("../../../tests/data/keys/rsa2048_pkcs8.pem"),
    )
    .unwrap()
    .with_key_id("entra-1");
    let other = key("other");
    let mut doc: serde_json::Value = serde_json::from_str(
        &KeySetStore::new([other.verifying_key(), rsa.verifying_key()])
            .unwrap()
            .jwks()
            .to_json(),
    )
    .unwrap();
    for member in doc["keys"].as_array_mut().unwrap() {
        if member["kty"] == "RSA" {
            member.as_object_mut().unwrap().remove("alg");
        }
    }
    let idp = Idp::start(None);
    idp.set_document(doc.to_string());
    let rsa_token = token(&rsa);

    let jwks = follow(&idp, quiet_policy(1));
    let status = jwks.status();
    assert_eq!(status.keys, 1);
    assert_eq!(status.skipped.len(), 1);
    assert_eq!(status.skipped[0].kid.as_deref(), Some("entra-1"));
    assert_eq!(status.skipped[0].reason.as_str(), "missing_algorithm");
    assert!(validator(&jwks).validate(&rsa_token).is_err());

    let jwks = RemoteJwks::from_jwks_uri(idp.jwks_uri())
        .danger_allow_http()
        .policy(quiet_policy(1))
        .options(tokengate::JwkSetOptions::new().assume_alg(tokengate::Algorithm::RS256))
        .build()
        .unwrap();
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    assert_eq!(jwks.status().keys, 2);
    assert!(jwks.status().skipped.is_empty());
    validator(&jwks).validate(&rsa_token).unwrap();
}
