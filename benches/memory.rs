//! Memory and scaling figures that criterion does not give:
//! heap bytes per stored API key record and per revoked `jti` at 10^6
//! entries, and heap allocations per validation (budgets that fail on a
//! regression). Throughput with one and two threads is `benches/scaling.rs`,
//! outside this binary's counting allocator.
//!
//! `cargo bench --bench memory` (under `cargo test --benches` it runs at a
//! thousandth of the size, as a smoke test).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

use common::NOW;
use tokengate::RevocationList;
use tokengate::RevocationStore;
use tokengate::api_key::{ApiKeyFormat, ApiKeyIssuer, InMemoryApiKeyStore, NewApiKey};

mod common;

#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes currently allocated.
fn live() -> isize {
    let s = ALLOC.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated
}

fn calls() -> usize {
    let s = ALLOC.stats();
    s.allocations + s.reallocations
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1_000_000 } else { 1_000 };

    // API key records.
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let issuer = ApiKeyIssuer::new(format);
    let before = live();
    let store = InMemoryApiKeyStore::new();
    for i in 0..n {
        let key = issuer
            .issue_into(
                &store,
                NewApiKey::new(format!("owner-{}", i % 10_000)).name("ci"),
            )
            .unwrap();
        drop(key);
    }
    let per_key = (live() - before) as f64 / n as f64;

    // Revoked jtis, in a list that serves one process and in one that
    // keeps the change feed replicas follow.
    let exp = tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 3600).unwrap();
    let per_revoked_jti = |list: RevocationList| {
        let before = live();
        for i in 0..n {
            list.revoke_token(&format!("{i:022}"), exp).unwrap();
        }
        let bytes = (live() - before) as f64 / n as f64;
        assert_eq!(list.jti_count(), n);
        bytes
    };
    let per_jti = per_revoked_jti(RevocationList::new());
    let per_jti_feed = per_revoked_jti(RevocationList::new().with_change_feed());

    // Allocations per validation.
    let (validator, token) = common::hs256_in(common::Store::Single, None);
    let start_calls = calls();
    let rounds = 1000;
    for _ in 0..rounds {
        validator.validate(&token).unwrap();
    }
    let allocs = (calls() - start_calls) as f64 / rounds as f64;

    // Allocations per rejection: a wrong signature (one character of it
    // changed, away from the last), and garbage.
    let dot = token.rfind('.').unwrap();
    let mut bytes = token.clone().into_bytes();
    bytes[dot + 3] = if bytes[dot + 3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let garbage = format!(
        "{}.{}.{}",
        "x".repeat(100),
        "y".repeat(100),
        "z!".repeat(50)
    );
    let per_rejection = |bad: &str| {
        validator.validate(bad).unwrap_err();
        let start_calls = calls();
        for _ in 0..rounds {
            validator.validate(bad).unwrap_err();
        }
        (calls() - start_calls) as f64 / rounds as f64
    };
    let wrong_signature_allocs = per_rejection(&tampered);
    let garbage_allocs = per_rejection(&garbage);

    // Allocations per front-door authentication of the same token: the
    // validation plus the Principal built from it.
    let door = tokengate::Authenticator::builder()
        .access_tokens(validator.clone())
        .build()
        .unwrap();
    let header = format!("Bearer {token}");
    door.authenticate(Some(&header)).unwrap();
    let start_calls = calls();
    for _ in 0..rounds {
        door.authenticate(Some(&header)).unwrap();
    }
    let door_allocs = (calls() - start_calls) as f64 / rounds as f64;

    println!("| measure | value |");
    println!("|---|---|");
    println!("| heap bytes per API key record ({n} records) | {per_key:.0} |");
    println!("| heap bytes per revoked jti ({n} entries) | {per_jti:.1} |");
    println!(
        "| heap bytes per revoked jti with the change feed ({n} entries) | {per_jti_feed:.1} |"
    );
    println!("| heap allocations per HS256 validation (NoCustomClaims) | {allocs:.1} |");
    println!("| heap allocations per front-door authentication of that token | {door_allocs:.1} |");
    println!(
        "| heap allocations per rejection of a wrong signature | {wrong_signature_allocs:.1} |"
    );
    println!("| heap allocations per rejection of garbage | {garbage_allocs:.1} |");

    // Budgets, checked on every run (this target runs under `cargo test
    // --all-targets`, so in CI): a change that adds an allocation to a hot
    // path fails here. Lower them when the paths get leaner.
    // serde_json's `arbitrary_precision` (which any crate in a graph can
    // switch on) reads each number through a string: two more per token.
    // (It keeps a number's text: "1.10" stays "1.10" instead of "1.1".)
    let numbers_allocate = serde_json::from_str::<serde_json::Value>("1.10")
        .and_then(|v| serde_json::to_string(&v))
        .is_ok_and(|text| text == "1.10");
    let extra = if numbers_allocate { 2.0 } else { 0.0 };
    let budgets = [
        // The claims' and header's strings are inline up to
        // INLINE_CLAIM_BYTES: this token's allocate nothing.
        ("HS256 validation", allocs, 0.0 + extra),
        // The principal's Arc and its scope set's text.
        ("front-door authentication", door_allocs, 2.0 + extra),
        ("wrong-signature rejection", wrong_signature_allocs, 0.0),
        ("garbage rejection", garbage_allocs, 0.0),
    ];
    for (what, measured, budget) in budgets {
        assert!(
            measured <= budget,
            "{what}: {measured} heap allocations per call, over the budget of {budget}"
        );
    }
}
