//! With the `tracing` feature: events for fetches, failures, skipped
//! members and rotations, collected by a minimal subscriber.

#![cfg(feature = "tracing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokengate::time::Duration as TimeDuration;
use tokengate_jwks::RemoteJwks;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "tokengate_jwks"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id::from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = event.metadata().level().to_string();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn fetches_failures_skipped_members_and_rotations_are_traced() {
    let collect = Collect::default();
    tracing::subscriber::set_global_default(collect.clone()).unwrap();
    let events = || collect.0.lock().unwrap().clone();
    let has = |needle: &str| events().iter().any(|e| e.contains(needle));

    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let jwks = RemoteJwks::from_jwks_uri(idp.jwks_uri())
        .danger_allow_http()
        .policy(quiet_policy(1))
        .build()
        .unwrap();
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    let validator = validator(&jwks);
    assert!(has("JWK Set fetched"), "{:#?}", events());
    assert!(has("added=[\"k1\"]"), "{:#?}", events());

    // A rotation: k2 added.
    sleep_past_cooldown(1);
    issuer.rotate(key("k2"), TimeDuration::ZERO).unwrap();
    jwks.validate_blocking(&validator, &token(&issuer.current()))
        .unwrap();
    assert!(has("added=[\"k2\"]"), "{:#?}", events());

    // A member the build cannot use.
    let mut doc: serde_json::Value = serde_json::from_str(&issuer.jwks().to_json()).unwrap();
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"kty":"AKP","alg":"ML-DSA-44","kid":"pq","pub":"AAAA"}));
    idp.set_document(doc.to_string());
    sleep_past_cooldown(1);
    let _ = jwks.refresh_for_unknown_key_blocking();
    wait_for("the skipped member's event", 20, || {
        has("JWK Set member skipped")
    });
    assert!(has("reason=\"unsupported\""), "{:#?}", events());

    // A failure.
    idp.set_behavior(Behavior::Status(500));
    sleep_past_cooldown(1);
    let _ = jwks.refresh_for_unknown_key_blocking();
    wait_for("the failure's event", 20, || has("JWK Set fetch failed"));
    assert!(
        events()
            .iter()
            .any(|e| e.starts_with("WARN") && e.contains("status 500")),
        "{:#?}",
        events()
    );
}
