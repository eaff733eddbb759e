//! The [`RefreshStore`] suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use time::{Duration, OffsetDateTime};

use super::{ok, same};
use crate::api_key::SecretDigest;
use crate::clock::FixedClock;
use crate::error::{Error, ErrorKind};
use crate::jws::Algorithm;
use crate::jwt::TokenBuilder;
use crate::keys::{KeyRing, SigningKey};
use crate::refresh::{
    Expected, Grant, RefreshRecord, RefreshStore, RefreshTokens, RotateOutcome, RotateRequest,
};
use crate::revocation::RevocationList;
use crate::scope::ScopeSet;

const T0: i64 = 1_750_000_000;

fn at(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).expect("a test instant")
}

fn record(id: &str, family: &str) -> RefreshRecord {
    RefreshRecord {
        id: id.to_owned(),
        secret_digest: SecretDigest::from_bytes([7; 32]),
        family_id: family.to_owned(),
        parent: None,
        subject: "alice".to_owned(),
        client_id: Some("app".to_owned()),
        scopes: ScopeSet::parse("read write").expect("valid scopes"),
        claims: serde_json::Map::new(),
        issued_at: at(T0),
        family_started_at: at(T0),
        used_at: None,
        successor: None,
    }
}

fn child(id: &str, parent: &RefreshRecord, when: i64) -> RefreshRecord {
    let mut r = parent.clone();
    r.id = id.to_owned();
    r.parent = Some(parent.id.clone());
    r.issued_at = at(when);
    r.used_at = None;
    r.successor = None;
    r
}

fn rotate(
    store: &dyn RefreshStore,
    presented: &str,
    expected: Expected,
    successor: RefreshRecord,
    when: i64,
) -> RotateOutcome {
    ok(
        "rotate",
        store.rotate(&RotateRequest::new(
            presented,
            expected,
            successor,
            at(when),
        )),
    )
}

fn get(store: &dyn RefreshStore, id: &str) -> Option<Arc<RefreshRecord>> {
    ok("get", store.get(id))
}

/// Checks every rule of the [`RefreshStore`] contract on stores made by
/// `make`, each empty: the record round trip, the atomic rotation and its
/// every outcome, the grace window's supersede, duplicate ids, family
/// revocation, concurrent rotations of one token, and, through
/// [`RefreshTokens`] on an injected clock, rotation chains, the idle
/// timeout at its exact boundary, client binding, and a failing store that
/// leaves the presented token redeemable.
///
/// # Panics
///
/// At the first rule the store breaks, naming it.
pub fn refresh_store<S, F>(make: F)
where
    S: RefreshStore + 'static,
    F: Fn() -> S,
{
    records_round_trip(&make());
    rotation_outcomes(&make());
    superseding(&make());
    family_revocation(&make());
    concurrent_rotations(Arc::new(make()));
    superseding_edge_cases(&make());
    concurrent_supersedes(Arc::new(make()));
    supersede_racing_the_successors_rotation(Arc::new(make()));
    through_the_service(Arc::new(make()));
}

fn records_round_trip(store: &dyn RefreshStore) {
    assert!(
        get(store, "r1").is_none(),
        "get: an empty store has no record"
    );
    let mut r1 = record("r1", "f1");
    r1.claims
        .insert("tenant".into(), serde_json::Value::String("t-1".into()));
    ok("insert", store.insert(r1.clone()));
    same(
        "get returns the inserted record",
        get(store, "r1").as_deref(),
        Some(&r1),
    );
    assert!(
        matches!(store.insert(record("r1", "f9")), Err(Error::Store(_))),
        "insert: an existing id must be refused with Error::Store"
    );
    same(
        "insert: a refused duplicate leaves the first record",
        get(store, "r1").as_deref(),
        Some(&r1),
    );
    assert!(
        !ok("is_family_revoked", store.is_family_revoked("f1")),
        "a new family is not revoked"
    );
}

fn rotation_outcomes(store: &dyn RefreshStore) {
    let r1 = record("r1", "f1");
    ok("insert", store.insert(r1.clone()));
    same(
        "rotate: an unknown token",
        rotate(store, "nope", Expected::Unused, child("x", &r1, T0), T0),
        RotateOutcome::Unknown,
    );
    assert!(
        get(store, "x").is_none(),
        "rotate: Unknown must insert nothing"
    );
    // A successor of another family: the presented token is not in it.
    let mut stranger = child("y", &r1, T0);
    stranger.family_id = "f9".to_owned();
    same(
        "rotate: a successor of another family is Unknown",
        rotate(store, "r1", Expected::Unused, stranger, T0),
        RotateOutcome::Unknown,
    );
    assert!(
        get(store, "y").is_none(),
        "rotate: a successor of another family must not be inserted"
    );
    same(
        "rotate: a successor of another family leaves the presented token unused",
        get(store, "r1").as_deref(),
        Some(&r1),
    );

    // A successor id that exists: an error, and nothing changes.
    let r2 = record("r2", "f2");
    ok("insert", store.insert(r2.clone()));
    let err = store.rotate(&RotateRequest::new(
        "r1",
        Expected::Unused,
        child("r2", &r1, T0 + 1),
        at(T0 + 1),
    ));
    assert!(
        matches!(err, Err(Error::Store(_))),
        "rotate: a successor id that exists must fail with Error::Store, got {err:?}"
    );
    same(
        "rotate: a failed rotation leaves the presented token unused",
        get(store, "r1").as_deref(),
        Some(&r1),
    );
    same(
        "rotate: a failed rotation leaves the existing record",
        get(store, "r2").as_deref(),
        Some(&r2),
    );

    // The ordinary rotation.
    let c1 = child("c1", &r1, T0 + 10);
    same(
        "rotate: an unused token rotates",
        rotate(store, "r1", Expected::Unused, c1.clone(), T0 + 10),
        RotateOutcome::Rotated,
    );
    let used = get(store, "r1").expect("rotate: the presented record must stay");
    same(
        "rotate: marks the presented token used at `at`",
        used.used_at,
        Some(at(T0 + 10)),
    );
    same(
        "rotate: points the presented token at its successor",
        used.successor.as_deref(),
        Some("c1"),
    );
    same(
        "rotate: stores the successor",
        get(store, "c1").as_deref(),
        Some(&c1),
    );

    // The same expectation again: the token changed.
    match rotate(
        store,
        "r1",
        Expected::Unused,
        child("c2", &r1, T0 + 11),
        T0 + 11,
    ) {
        RotateOutcome::Changed(current) => same(
            "rotate: Changed carries the current record",
            &*current,
            &*used,
        ),
        other => panic!("rotate: a used token must answer Changed, got {other:?}"),
    }
    assert!(
        get(store, "c2").is_none(),
        "rotate: Changed must insert nothing"
    );
}

fn superseding(store: &dyn RefreshStore) {
    let r1 = record("r1", "f1");
    ok("insert", store.insert(r1.clone()));
    same(
        "rotate",
        rotate(
            store,
            "r1",
            Expected::Unused,
            child("c1", &r1, T0 + 10),
            T0 + 10,
        ),
        RotateOutcome::Rotated,
    );
    // A retry within the grace window supersedes c1 with c2.
    match rotate(
        store,
        "r1",
        Expected::Superseding("other".into()),
        child("cx", &r1, T0 + 11),
        T0 + 11,
    ) {
        RotateOutcome::Changed(_) => {}
        other => {
            panic!("rotate: superseding the wrong successor must answer Changed, got {other:?}")
        }
    }
    same(
        "rotate: superseding the current, unused successor",
        rotate(
            store,
            "r1",
            Expected::Superseding("c1".into()),
            child("c2", &r1, T0 + 12),
            T0 + 12,
        ),
        RotateOutcome::Rotated,
    );
    let old = get(store, "r1").expect("record");
    same(
        "rotate: superseding keeps the first use instant (the window does not slide)",
        old.used_at,
        Some(at(T0 + 10)),
    );
    same(
        "rotate: superseding points at the new successor",
        old.successor.as_deref(),
        Some("c2"),
    );
    same(
        "rotate: superseding marks the earlier successor used",
        get(store, "c1").and_then(|c| c.used_at),
        Some(at(T0 + 12)),
    );
    assert!(
        get(store, "c2").is_some_and(|c| c.used_at.is_none()),
        "rotate: the new successor is unused"
    );

    // Once the current successor is used, superseding is reuse.
    let c2 = get(store, "c2").expect("record");
    same(
        "rotate",
        rotate(
            store,
            "c2",
            Expected::Unused,
            child("c3", &c2, T0 + 13),
            T0 + 13,
        ),
        RotateOutcome::Rotated,
    );
    same(
        "rotate: superseding a used successor",
        rotate(
            store,
            "r1",
            Expected::Superseding("c2".into()),
            child("c4", &r1, T0 + 14),
            T0 + 14,
        ),
        RotateOutcome::SuccessorUsed,
    );
    assert!(
        get(store, "c4").is_none(),
        "rotate: SuccessorUsed must insert nothing"
    );
    same(
        "rotate: SuccessorUsed changes nothing",
        get(store, "r1")
            .and_then(|r| r.successor.clone())
            .as_deref(),
        Some("c2"),
    );
}

fn family_revocation(store: &dyn RefreshStore) {
    let r1 = record("r1", "f1");
    let other = record("o1", "f2");
    ok("insert", store.insert(r1.clone()));
    ok("insert", store.insert(other.clone()));
    ok("revoke_family", store.revoke_family("f1", at(T0 + 5)));
    ok("revoke_family", store.revoke_family("f1", at(T0 + 6)));
    assert!(
        ok("is_family_revoked", store.is_family_revoked("f1")),
        "revoke_family: the family reads as revoked"
    );
    assert!(
        !ok("is_family_revoked", store.is_family_revoked("f2")),
        "revoke_family: another family is untouched"
    );
    same(
        "rotate: a revoked family's token",
        rotate(
            store,
            "r1",
            Expected::Unused,
            child("c1", &r1, T0 + 7),
            T0 + 7,
        ),
        RotateOutcome::FamilyRevoked,
    );
    assert!(
        get(store, "c1").is_none(),
        "rotate: FamilyRevoked must insert nothing"
    );
    same(
        "rotate: another family still rotates",
        rotate(
            store,
            "o1",
            Expected::Unused,
            child("oc", &other, T0 + 7),
            T0 + 7,
        ),
        RotateOutcome::Rotated,
    );
}

fn concurrent_rotations(store: Arc<dyn RefreshStore>) {
    let r1 = record("r1", "f1");
    ok("insert", store.insert(r1.clone()));
    let threads = 8;
    let barrier = Barrier::new(threads);
    let outcomes: Vec<RotateOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let store = Arc::clone(&store);
                let succ = child(&format!("c{i}"), &r1, T0 + 1);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    rotate(&*store, "r1", Expected::Unused, succ, T0 + 1)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a rotating thread panicked"))
            .collect()
    });
    let winners = outcomes
        .iter()
        .filter(|o| **o == RotateOutcome::Rotated)
        .count();
    same("concurrent rotate: exactly one wins", winners, 1);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, RotateOutcome::Rotated | RotateOutcome::Changed(_))),
        "concurrent rotate: every loser sees Changed, got {outcomes:?}"
    );
    let stored = (0..threads)
        .filter(|i| get(&*store, &format!("c{i}")).is_some())
        .count();
    same(
        "concurrent rotate: exactly one successor is stored",
        stored,
        1,
    );
}

fn superseding_edge_cases(store: &dyn RefreshStore) {
    let r1 = record("r1", "f1");
    ok("insert", store.insert(r1.clone()));
    same(
        "rotate",
        rotate(
            store,
            "r1",
            Expected::Unused,
            child("c1", &r1, T0 + 1),
            T0 + 1,
        ),
        RotateOutcome::Rotated,
    );
    same(
        "rotate",
        rotate(
            store,
            "r1",
            Expected::Superseding("c1".into()),
            child("c2", &r1, T0 + 2),
            T0 + 2,
        ),
        RotateOutcome::Rotated,
    );
    // A second retry planned from the same read names c1, which is no
    // longer the successor: decide again, not reuse.
    match rotate(
        store,
        "r1",
        Expected::Superseding("c1".into()),
        child("c3", &r1, T0 + 3),
        T0 + 3,
    ) {
        RotateOutcome::Changed(current) => same(
            "rotate: Changed after a supersede carries the new successor",
            current.successor.as_deref(),
            Some("c2"),
        ),
        other => panic!(
            "rotate: superseding a successor that was itself superseded must answer Changed \
             (the pointer is checked before the successor's state), got {other:?}"
        ),
    }
    // A duplicate new id on the supersede path: an error, nothing changes.
    let err = store.rotate(&RotateRequest::new(
        "r1",
        Expected::Superseding("c2".into()),
        child("r1", &r1, T0 + 4),
        at(T0 + 4),
    ));
    assert!(
        matches!(err, Err(Error::Store(_))),
        "rotate: a superseding successor whose id exists must fail with Error::Store, got {err:?}"
    );
    assert!(
        get(store, "c2").is_some_and(|c| c.used_at.is_none()),
        "rotate: a failed supersede leaves the current successor unused"
    );
    // In a revoked family, a supersede is refused like any rotation.
    ok("revoke_family", store.revoke_family("f1", at(T0 + 5)));
    same(
        "rotate: superseding in a revoked family",
        rotate(
            store,
            "r1",
            Expected::Superseding("c2".into()),
            child("c4", &r1, T0 + 6),
            T0 + 6,
        ),
        RotateOutcome::FamilyRevoked,
    );
    assert!(
        get(store, "c4").is_none(),
        "rotate: FamilyRevoked must insert nothing"
    );
}

fn concurrent_supersedes(store: Arc<dyn RefreshStore>) {
    let r1 = record("r1", "f1");
    ok("insert", store.insert(r1.clone()));
    same(
        "rotate",
        rotate(
            &*store,
            "r1",
            Expected::Unused,
            child("c1", &r1, T0 + 1),
            T0 + 1,
        ),
        RotateOutcome::Rotated,
    );
    let threads = 8;
    let barrier = Barrier::new(threads);
    let outcomes: Vec<RotateOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let store = Arc::clone(&store);
                let succ = child(&format!("s{i}"), &r1, T0 + 2);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    rotate(
                        &*store,
                        "r1",
                        Expected::Superseding("c1".into()),
                        succ,
                        T0 + 2,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a superseding thread panicked"))
            .collect()
    });
    same(
        "concurrent supersedes of one successor: exactly one wins",
        outcomes
            .iter()
            .filter(|o| **o == RotateOutcome::Rotated)
            .count(),
        1,
    );
    let live = (0..threads)
        .filter(|i| get(&*store, &format!("s{i}")).is_some_and(|r| r.used_at.is_none()))
        .count();
    same("concurrent supersedes: one live successor", live, 1);
}

fn supersede_racing_the_successors_rotation(store: Arc<dyn RefreshStore>) {
    // The grace window's supersede of c1 races the client rotating c1
    // itself: whatever the order, the family must end with one live token.
    for round in 0..20 {
        let family = format!("f{round}");
        let r = record(&format!("r{round}"), &family);
        ok("insert", store.insert(r.clone()));
        let c1 = child(&format!("c{round}"), &r, T0 + 1);
        same(
            "rotate",
            rotate(&*store, &r.id, Expected::Unused, c1.clone(), T0 + 1),
            RotateOutcome::Rotated,
        );
        let barrier = Barrier::new(2);
        let (a, b) = std::thread::scope(|scope| {
            let supersede = scope.spawn(|| {
                barrier.wait();
                rotate(
                    &*store,
                    &r.id,
                    Expected::Superseding(c1.id.clone()),
                    child(&format!("g{round}"), &r, T0 + 2),
                    T0 + 2,
                )
            });
            let onward = scope.spawn(|| {
                barrier.wait();
                rotate(
                    &*store,
                    &c1.id,
                    Expected::Unused,
                    child(&format!("n{round}"), &c1, T0 + 2),
                    T0 + 2,
                )
            });
            (
                supersede.join().expect("a thread panicked"),
                onward.join().expect("a thread panicked"),
            )
        });
        let rotated = [&a, &b]
            .iter()
            .filter(|o| ***o == RotateOutcome::Rotated)
            .count();
        same(
            "a supersede racing the successor's own rotation: exactly one wins \
             (rotate must be atomic over every record it touches)",
            rotated,
            1,
        );
    }
}

/// A store in front of the one under test whose next `rotate` calls fail.
#[derive(Debug)]
struct Failing {
    inner: Arc<dyn RefreshStore>,
    fail_rotations: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("injected store failure")]
struct Injected;

impl RefreshStore for Failing {
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        self.inner.get(id)
    }
    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        self.inner.insert(record)
    }
    fn rotate(&self, request: &RotateRequest) -> Result<RotateOutcome, Error> {
        let left = self.fail_rotations.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_rotations.store(left - 1, Ordering::SeqCst);
            return Err(Error::store(Injected));
        }
        self.inner.rotate(request)
    }
    fn revoke_family(&self, family_id: &str, at: OffsetDateTime) -> Result<(), Error> {
        self.inner.revoke_family(family_id, at)
    }
    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error> {
        self.inner.is_family_revoked(family_id)
    }
}

fn through_the_service(store: Arc<dyn RefreshStore>) {
    let clock = Arc::new(FixedClock::at_unix(T0));
    let failing = Arc::new(Failing {
        inner: Arc::clone(&store),
        fail_rotations: AtomicUsize::new(0),
    });
    let keys = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::ES256).expect("an ES256 key"),
        clock.clone(),
    ));
    let service = |grace: Duration| {
        RefreshTokens::builder(
            failing.clone(),
            keys.clone(),
            TokenBuilder::new()
                .issuer("https://auth.example.com")
                .audience("https://api.example.com"),
        )
        .revocation(Arc::new(RevocationList::new()))
        .idle_timeout(Duration::hours(1))
        .absolute_lifetime(Duration::hours(3))
        .reuse_grace(grace)
        .clock(clock.clone())
        .build()
        .expect("a valid refresh service")
    };
    let strict = service(Duration::ZERO);
    let kind = |r: Result<crate::TokenPair, Error>| r.map(|_| ()).map_err(|e| e.kind());

    // A chain of rotations, up to the idle timeout's exact boundary.
    let pair = ok("login", strict.login(Grant::new("alice").client_id("app")));
    clock.advance(3_599);
    let pair = ok(
        "refresh one second before the idle timeout",
        strict.refresh(pair.refresh_token.expose_secret(), Some("app")),
    );
    clock.advance(3_600);
    same(
        "refresh at the idle timeout's exact instant",
        kind(strict.refresh(pair.refresh_token.expose_secret(), Some("app"))),
        Err(ErrorKind::Expired),
    );

    // Client binding: another client changes nothing.
    let pair = ok("login", strict.login(Grant::new("alice").client_id("app")));
    let token = pair.refresh_token.expose_secret();
    same(
        "refresh by another client",
        kind(strict.refresh(token, Some("other"))),
        Err(ErrorKind::WrongClient),
    );
    same(
        "refresh without the client",
        kind(strict.refresh(token, None)),
        Err(ErrorKind::WrongClient),
    );

    // A failing store leaves the token redeemable; the retry succeeds.
    failing.fail_rotations.store(1, Ordering::SeqCst);
    same(
        "refresh through a failing store",
        kind(strict.refresh(token, Some("app"))),
        Err(ErrorKind::StoreFailure),
    );
    let next = ok(
        "the retry after a store failure",
        strict.refresh(token, Some("app")),
    );

    // Reuse outside the grace window revokes the family.
    same(
        "reuse",
        kind(strict.refresh(token, Some("app"))),
        Err(ErrorKind::RefreshTokenReused),
    );
    same(
        "a revoked family's newest token",
        kind(strict.refresh(next.refresh_token.expose_secret(), Some("app"))),
        Err(ErrorKind::Revoked),
    );

    // Within the grace window a retry gets a new pair; after it, reuse.
    let graceful = service(Duration::seconds(5));
    let pair = ok("login", graceful.login(Grant::new("bob").client_id("app")));
    let token = pair.refresh_token.expose_secret();
    ok("refresh", graceful.refresh(token, Some("app")));
    clock.advance(4);
    let retry = ok(
        "a retry within the grace window",
        graceful.refresh(token, Some("app")),
    );
    same(
        "the retry stays in the family",
        retry.family_id.as_str(),
        pair.family_id.as_str(),
    );
    clock.advance(1);
    same(
        "a retry at the grace window's end",
        kind(graceful.refresh(token, Some("app"))),
        Err(ErrorKind::RefreshTokenReused),
    );

    // Racing refreshes of one token without grace: one winner.
    let pair = ok("login", strict.login(Grant::new("carol").client_id("app")));
    let token = pair.refresh_token.expose_secret().to_owned();
    let barrier = Barrier::new(6);
    let results: Vec<Result<(), ErrorKind>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    kind(strict.refresh(&token, Some("app")))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a refreshing thread panicked"))
            .collect()
    });
    same(
        "racing refreshes: one winner",
        results.iter().filter(|r| r.is_ok()).count(),
        1,
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(()) | Err(ErrorKind::RefreshTokenReused | ErrorKind::Revoked)
        )),
        "racing refreshes: the losers see reuse or a revoked family, got {results:?}"
    );
}
