//! Every in-memory store of the crate passes the conformance suite of its
//! trait (`tokengate::testing::conformance`), the same suites a shared
//! backend runs against its real server.

#![allow(clippy::expect_used)]

use std::sync::Arc;

use time::Duration;
use tokengate::testing::conformance;
use tokengate::{
    InMemoryApiKeyStore, InMemoryRefreshStore, KeyRing, KeySetStore, RevocationList, SingleKeyStore,
};

#[test]
fn revocation_list_meets_the_revocation_store_contract() {
    conformance::revocation_store(|| RevocationList::new().with_change_feed());
    conformance::revocation_store(|| Arc::new(RevocationList::new().with_change_feed()));
}

#[test]
fn in_memory_refresh_store_meets_the_refresh_store_contract() {
    conformance::refresh_store(InMemoryRefreshStore::new);
}

#[test]
fn in_memory_api_key_store_meets_the_api_key_store_contract() {
    conformance::api_key_store(InMemoryApiKeyStore::new);
}

#[test]
fn single_key_store_meets_the_key_store_contract() {
    conformance::single_key_store(|k| SingleKeyStore::new(k.verifying_key()));
}

#[test]
fn key_set_store_meets_the_key_store_contract() {
    conformance::key_set_store(|keys| {
        KeySetStore::new(keys.iter().map(|k| k.verifying_key())).expect("distinct keys")
    });
}

#[test]
fn key_ring_meets_the_key_store_contract() {
    conformance::single_key_store(KeyRing::new);
    conformance::key_set_store(|keys| {
        let mut keys = keys.into_iter();
        let ring = KeyRing::new(keys.next().expect("three keys"));
        for next in keys {
            ring.rotate(next, Duration::hours(1))
                .expect("distinct key ids");
        }
        ring
    });
}
