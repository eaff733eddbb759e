//! The [`ApiKeyStore`] suite.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier};

use time::{Duration, OffsetDateTime};

use super::{ok, same};
use crate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyRecord, ApiKeyStore, ApiKeyVerifier, KeyRotation,
    KeyRotationOutcome, NewApiKey, SecretDigest,
};
use crate::clock::FixedClock;
use crate::error::{Error, ErrorKind};
use crate::scope::ScopeSet;

const T0: i64 = 1_750_000_000;

fn at(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).expect("a test instant")
}

fn record(id: &str, owner: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        secret_digest: SecretDigest::from_bytes([3; 32]),
        owner: owner.to_owned(),
        name: format!("key {id}"),
        scopes: ScopeSet::parse("orders:read").expect("valid scopes"),
        created_at: at(T0),
        expires_at: None,
        revoked_at: None,
        replaced_by: None,
        display_prefix: format!("acme_live_{id}"),
        metadata: BTreeMap::from([("team".to_owned(), "billing".to_owned())]),
    }
}

fn get(store: &dyn ApiKeyStore, id: &str) -> Option<Arc<ApiKeyRecord>> {
    ok("get", store.get(id))
}

/// Checks every rule of the [`ApiKeyStore`] contract on stores made by
/// `make`, each empty: the record round trip, duplicate ids, revocation and
/// retirement (idempotent, never extended), listing by owner, concurrent
/// inserts, the atomic rotation and its every outcome (a revoked, expired
/// or already rotated key is not rotated, and nothing changes), racing
/// rotations of one key (exactly one successor), and, through
/// [`ApiKeyIssuer`] and [`ApiKeyVerifier`] on an injected clock, expiry and
/// rotation grace at their exact boundaries.
///
/// # Panics
///
/// At the first rule the store breaks, naming it.
pub fn api_key_store<S, F>(make: F)
where
    S: ApiKeyStore + 'static,
    F: Fn() -> S,
{
    records(&make());
    concurrent_inserts(Arc::new(make()));
    rotation_outcomes(&make());
    concurrent_rotations(Arc::new(make()));
    through_the_verifier(Arc::new(make()));
}

fn rotation(old: &str, successor: &str) -> KeyRotation {
    KeyRotation::new(old, record(successor, "alice"), at(T0 + 3_600), at(T0))
}

fn rotate(store: &dyn ApiKeyStore, rotation: &KeyRotation) -> KeyRotationOutcome {
    ok("rotate", store.rotate(rotation))
}

fn rotation_outcomes(store: &dyn ApiKeyStore) {
    same(
        "rotate: an unknown key",
        rotate(store, &rotation("nope", "n1")),
        KeyRotationOutcome::Unknown,
    );
    assert!(
        get(store, "n1").is_none(),
        "rotate: Unknown inserts nothing"
    );

    // The ordinary rotation: one step, three effects.
    let k1 = record("k1", "alice");
    ok("insert", store.insert(k1.clone()));
    same(
        "rotate: a live key",
        rotate(store, &rotation("k1", "s1")),
        KeyRotationOutcome::Rotated,
    );
    same(
        "rotate: the successor is stored",
        get(store, "s1").as_deref(),
        Some(&record("s1", "alice")),
    );
    let old = get(store, "k1").expect("the old record");
    same(
        "rotate: the old key names its successor",
        old.replaced_by.as_deref(),
        Some("s1"),
    );
    same(
        "rotate: the old key expires at the end of the grace period",
        old.expires_at,
        Some(at(T0 + 3_600)),
    );
    same(
        "rotate: the old key is otherwise unchanged",
        (old.revoked_at, &old.owner, &old.scopes),
        (None, &k1.owner, &k1.scopes),
    );
    same(
        "list_by_owner: lists the successor",
        ok("list_by_owner", store.list_by_owner("alice")).len(),
        2,
    );

    // A key rotates once.
    same(
        "rotate: an already rotated key",
        rotate(store, &rotation("k1", "s2")),
        KeyRotationOutcome::AlreadyRotated,
    );
    assert!(
        get(store, "s2").is_none(),
        "rotate: AlreadyRotated inserts nothing"
    );
    same(
        "rotate: AlreadyRotated leaves the first successor",
        get(store, "k1")
            .and_then(|r| r.replaced_by.clone())
            .as_deref(),
        Some("s1"),
    );

    // A revoked key is not rotated.
    ok("insert", store.insert(record("k2", "alice")));
    ok("revoke", store.revoke("k2", at(T0 - 1)));
    same(
        "rotate: a revoked key",
        rotate(store, &rotation("k2", "s3")),
        KeyRotationOutcome::Revoked,
    );
    assert!(
        get(store, "s3").is_none(),
        "rotate: Revoked inserts nothing"
    );
    same(
        "rotate: Revoked leaves the key unrotated",
        get(store, "k2").map(|r| (r.replaced_by.clone(), r.expires_at)),
        Some((None, None)),
    );

    // An expired key is not rotated; one expiring before the grace period
    // ends keeps its own expiry.
    let mut k3 = record("k3", "alice");
    k3.expires_at = Some(at(T0));
    ok("insert", store.insert(k3));
    same(
        "rotate: a key expired at the rotation instant",
        rotate(store, &rotation("k3", "s4")),
        KeyRotationOutcome::Expired(at(T0)),
    );
    assert!(
        get(store, "s4").is_none(),
        "rotate: Expired inserts nothing"
    );
    let mut k4 = record("k4", "alice");
    k4.expires_at = Some(at(T0 + 60));
    ok("insert", store.insert(k4));
    same(
        "rotate: a key expiring later",
        rotate(store, &rotation("k4", "s5")),
        KeyRotationOutcome::Rotated,
    );
    same(
        "rotate: never extends the old key's expiry",
        get(store, "k4").and_then(|r| r.expires_at),
        Some(at(T0 + 60)),
    );

    // A successor id that exists: an error, and nothing changes.
    ok("insert", store.insert(record("k5", "alice")));
    assert!(
        matches!(store.rotate(&rotation("k5", "s1")), Err(Error::Store(_))),
        "rotate: an existing successor id must be refused with Error::Store"
    );
    same(
        "rotate: a refused successor leaves the old key unrotated",
        get(store, "k5").map(|r| (r.replaced_by.clone(), r.expires_at)),
        Some((None, None)),
    );
    same(
        "rotate: a refused successor leaves the existing record",
        get(store, "s1").map(|r| r.replaced_by.is_none()),
        Some(true),
    );
}

fn concurrent_rotations(store: Arc<dyn ApiKeyStore>) {
    let threads = 8;
    ok("insert", store.insert(record("race", "frank")));
    let barrier = Arc::new(Barrier::new(threads));
    let outcomes: Vec<KeyRotationOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                scope.spawn(move || {
                    let mut successor = record(&format!("race-next-{t}"), "frank");
                    successor.name = format!("successor {t}");
                    barrier.wait();
                    ok(
                        "concurrent rotate",
                        store.rotate(&KeyRotation::new("race", successor, at(T0 + 60), at(T0))),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a rotating thread"))
            .collect()
    });
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == KeyRotationOutcome::Rotated)
        .map(|(t, _)| t)
        .collect();
    same("concurrent rotate: exactly one wins", winners.len(), 1);
    for o in &outcomes {
        assert!(
            matches!(
                o,
                KeyRotationOutcome::Rotated | KeyRotationOutcome::AlreadyRotated
            ),
            "concurrent rotate: the losers see AlreadyRotated, got {o:?}"
        );
    }
    let stored: Vec<usize> = (0..threads)
        .filter(|t| get(&*store, &format!("race-next-{t}")).is_some())
        .collect();
    same(
        "concurrent rotate: exactly one successor is stored",
        stored,
        winners.clone(),
    );
    same(
        "concurrent rotate: the old key names the winner",
        get(&*store, "race").and_then(|r| r.replaced_by.clone()),
        winners.first().map(|t| format!("race-next-{t}")),
    );
    same(
        "concurrent rotate: the owner has the old key and one successor",
        ok("list_by_owner", store.list_by_owner("frank")).len(),
        2,
    );
}

fn records(store: &dyn ApiKeyStore) {
    assert!(
        get(store, "k1").is_none(),
        "get: an empty store has no record"
    );
    let k1 = record("k1", "alice");
    ok("insert", store.insert(k1.clone()));
    same(
        "get returns the inserted record",
        get(store, "k1").as_deref(),
        Some(&k1),
    );
    assert!(
        matches!(store.insert(record("k1", "mallory")), Err(Error::Store(_))),
        "insert: an existing id must be refused with Error::Store"
    );
    same(
        "insert: a refused duplicate leaves the first record",
        get(store, "k1").as_deref(),
        Some(&k1),
    );

    // Revocation keeps the first instant.
    assert!(
        ok("revoke", store.revoke("k1", at(T0 + 10))),
        "revoke: a known id"
    );
    assert!(
        ok("revoke", store.revoke("k1", at(T0 + 20))),
        "revoke: again"
    );
    same(
        "revoke: the first instant stays",
        get(store, "k1").and_then(|r| r.revoked_at),
        Some(at(T0 + 10)),
    );
    assert!(
        !ok("revoke", store.revoke("nope", at(T0))),
        "revoke: an unknown id is false"
    );

    // Retirement only ever brings expiry closer, and records the successor.
    ok("insert", store.insert(record("k2", "alice")));
    assert!(
        ok("retire", store.retire("k2", at(T0 + 100), Some("k3"))),
        "retire: a known id"
    );
    let r = get(store, "k2").expect("record");
    same("retire: sets the expiry", r.expires_at, Some(at(T0 + 100)));
    same(
        "retire: records the successor",
        r.replaced_by.as_deref(),
        Some("k3"),
    );
    ok("retire", store.retire("k2", at(T0 + 500), None));
    same(
        "retire: a later expiry never extends the key",
        get(store, "k2").and_then(|r| r.expires_at),
        Some(at(T0 + 100)),
    );
    ok("retire", store.retire("k2", at(T0 + 50), None));
    same(
        "retire: an earlier expiry shortens it",
        get(store, "k2").and_then(|r| r.expires_at),
        Some(at(T0 + 50)),
    );
    same(
        "retire: without a successor keeps the recorded one",
        get(store, "k2")
            .and_then(|r| r.replaced_by.clone())
            .as_deref(),
        Some("k3"),
    );
    assert!(
        !ok("retire", store.retire("nope", at(T0), None)),
        "retire: an unknown id is false"
    );

    // Listing by owner.
    ok("insert", store.insert(record("b1", "bob")));
    let ids = |owner: &str| -> HashSet<String> {
        ok("list_by_owner", store.list_by_owner(owner))
            .iter()
            .map(|r| r.id.clone())
            .collect()
    };
    same(
        "list_by_owner: exactly the owner's keys",
        ids("alice"),
        HashSet::from(["k1".to_owned(), "k2".to_owned()]),
    );
    same(
        "list_by_owner: another owner",
        ids("bob"),
        HashSet::from(["b1".to_owned()]),
    );
    same(
        "list_by_owner: an unknown owner",
        ids("carol"),
        HashSet::new(),
    );
}

fn concurrent_inserts(store: Arc<dyn ApiKeyStore>) {
    let threads = 4;
    let per_thread = 50;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for i in 0..per_thread {
                    ok(
                        "concurrent insert",
                        store.insert(record(&format!("c{t}x{i}"), "dana")),
                    );
                }
            });
        }
    });
    same(
        "concurrent inserts: every record is listed",
        ok("list_by_owner", store.list_by_owner("dana")).len(),
        threads * per_thread,
    );
    for t in 0..threads {
        for i in 0..per_thread {
            let id = format!("c{t}x{i}");
            assert!(
                get(&*store, &id).is_some(),
                "concurrent inserts: {id} is missing"
            );
        }
    }
}

fn through_the_verifier(store: Arc<dyn ApiKeyStore>) {
    let clock = Arc::new(FixedClock::at_unix(T0));
    let format = ApiKeyFormat::new("acme")
        .and_then(|f| f.environment("live"))
        .expect("a valid format");
    let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format, Arc::clone(&store)).with_clock(clock.clone());
    let verdict = |key: &str| verifier.verify(key).map(|_| ()).map_err(|e| e.kind());

    // Expiry at its exact instant.
    let key = ok(
        "issue",
        issuer.issue_into(
            &*store,
            NewApiKey::new("erin").lifetime(Duration::seconds(100)),
        ),
    );
    clock.advance(99);
    same(
        "a key one second before its expiry",
        verdict(key.expose_secret()),
        Ok(()),
    );
    clock.advance(1);
    same(
        "a key at its expiry instant",
        verdict(key.expose_secret()),
        Err(ErrorKind::Expired),
    );

    // Rotation: the old key works until the grace period ends, not at it.
    let old = ok("issue", issuer.issue_into(&*store, NewApiKey::new("erin")));
    let new = ok(
        "rotate",
        issuer.rotate(&*store, old.id(), Duration::seconds(60)),
    );
    clock.advance(59);
    same(
        "the old key within the grace period",
        verdict(old.expose_secret()),
        Ok(()),
    );
    clock.advance(1);
    same(
        "the old key at the grace period's end",
        verdict(old.expose_secret()),
        Err(ErrorKind::Expired),
    );
    same("the new key", verdict(new.expose_secret()), Ok(()));

    // A revoked key gets no successor through the issuer either.
    let revoked = ok("issue", issuer.issue_into(&*store, NewApiKey::new("gail")));
    assert!(ok("revoke", verifier.revoke(revoked.id())), "revoke");
    same(
        "rotating a revoked key",
        issuer
            .rotate(&*store, revoked.id(), Duration::seconds(60))
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(ErrorKind::Revoked),
    );
    same(
        "rotating a revoked key stores no successor",
        ok("list_by_owner", store.list_by_owner("gail")).len(),
        1,
    );

    // Revocation through the verifier.
    assert!(
        ok("revoke", verifier.revoke(new.id())),
        "revoke: the new key"
    );
    same(
        "a revoked key",
        verdict(new.expose_secret()),
        Err(ErrorKind::Revoked),
    );
}
