//! The [`RevocationStore`] suite.

use std::collections::HashSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::{ok, same};
use crate::revocation::{
    ChangeCursor, ChangeFeed, RevocationChange, RevocationQuery, RevocationReplica,
    RevocationStore, StalePolicy,
};

fn jti(store: &dyn RevocationStore, jti: &str) -> bool {
    ok(
        "is_revoked",
        store.is_revoked(&RevocationQuery::for_jti(Some(jti))),
    )
}

fn subject(store: &dyn RevocationStore, sub: &str, iat: Option<i64>) -> bool {
    let q = RevocationQuery::default().with_subject(Some(sub), iat);
    ok("is_revoked", store.is_revoked(&q))
}

fn key(store: &dyn RevocationStore, kid: &str) -> bool {
    let q = RevocationQuery::default().with_key_and_session(Some(kid), None);
    ok("is_revoked", store.is_revoked(&q))
}

fn session(store: &dyn RevocationStore, sid: &str) -> bool {
    let q = RevocationQuery::default().with_key_and_session(None, Some(sid));
    ok("is_revoked", store.is_revoked(&q))
}

/// Reads the whole feed after `cursor` in pages of `page`, returning the
/// changes and the final cursor. Panics on `Resync`.
fn drain(
    store: &dyn RevocationStore,
    mut cursor: ChangeCursor,
    page: usize,
) -> (Vec<RevocationChange>, ChangeCursor) {
    let mut all = Vec::new();
    for _ in 0..100_000 {
        match ok("changes_since", store.changes_since(&cursor, page)) {
            ChangeFeed::Changes {
                changes,
                cursor: next,
            } => {
                assert!(
                    changes.len() <= page,
                    "changes_since: returned {} changes for a limit of {page}",
                    changes.len()
                );
                if changes.is_empty() {
                    same(
                        "changes_since: an empty page keeps the cursor",
                        &next,
                        &cursor,
                    );
                    return (all, next);
                }
                assert!(
                    next != cursor,
                    "changes_since: a page of changes must move the cursor"
                );
                all.extend(changes);
                cursor = next;
            }
            ChangeFeed::Resync => {
                panic!("changes_since: answered Resync for a cursor the store gave out moments ago")
            }
        }
    }
    panic!("changes_since: the feed never ended")
}

/// Checks every rule of the [`RevocationStore`] contract (and its
/// [`Revocation`](crate::Revocation) reads) on stores made by `make`, each
/// empty.
///
/// Instants are taken from the system clock (a store may expire entries
/// with real time, as Redis TTLs do): tokens are revoked with an `exp` an
/// hour ahead, and ones that expired 1 s and 31 s ago, which must still read
/// as revoked (validators accept them within the default leeway).
///
/// What the suite cannot see without waiting: that a repeated revocation
/// with an earlier future instant does not shorten a store's own expiry
/// (a TTL). A backend with real-time expiry checks that in its own tests.
///
/// # Panics
///
/// At the first rule the store breaks, naming it.
pub fn revocation_store<S, F>(make: F)
where
    S: RevocationStore + 'static,
    F: Fn() -> S,
{
    // Whole seconds, so "issued at the instant" is unambiguous.
    let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
        .expect("the system clock is within OffsetDateTime's range");
    let later = now + Duration::hours(1);

    // Reads of an empty store.
    let store = make();
    assert!(!jti(&store, "j1"), "an empty store revokes nothing");
    assert!(
        !subject(&store, "alice", None),
        "an empty store revokes nothing"
    );
    assert!(
        !ok("is_revoked", store.is_revoked(&RevocationQuery::default())),
        "a query without any id is not revoked"
    );

    // By jti: exactly that token, idempotent, never shortened.
    ok("revoke_token", store.revoke_token("j1", later));
    ok("revoke_token", store.revoke_token("j1", later));
    ok(
        "revoke_token",
        store.revoke_token("j1", now - Duration::hours(5)),
    );
    assert!(jti(&store, "j1"), "revoke_token: the jti reads as revoked");
    assert!(!jti(&store, "j2"), "revoke_token: another jti stays valid");
    ok(
        "revoke_token",
        store.revoke_token("j-just-expired", now - Duration::seconds(1)),
    );
    assert!(
        jti(&store, "j-just-expired"),
        "revoke_token: a token that expired a second ago must still read as revoked \
         (entries are kept past exp by a retention margin)"
    );
    ok(
        "revoke_token",
        store.revoke_token("j-expired-31s", now - Duration::seconds(31)),
    );
    assert!(
        jti(&store, "j-expired-31s"),
        "revoke_token: a token that expired 31 s ago must still read as revoked \
         (a validator with the default 30 s leeway still accepts it)"
    );

    // Ids of different kinds never alias.
    assert!(
        !session(&store, "j1"),
        "a jti must not revoke a session of the same text"
    );
    assert!(
        !key(&store, "j1"),
        "a jti must not revoke a key id of the same text"
    );

    // By subject before an instant: strict, monotone.
    let before = now.unix_timestamp();
    ok(
        "revoke_subject_before",
        store.revoke_subject_before("alice", now),
    );
    ok(
        "revoke_subject_before",
        store.revoke_subject_before("alice", now - Duration::hours(1)),
    );
    assert!(
        subject(&store, "alice", Some(before - 1)),
        "revoke_subject_before: a token issued before the instant is revoked"
    );
    assert!(
        !subject(&store, "alice", Some(before)),
        "revoke_subject_before: a token issued at the instant is valid"
    );
    assert!(
        subject(&store, "alice", None),
        "revoke_subject_before: a token of the subject without iat is revoked"
    );
    assert!(
        !subject(&store, "bob", Some(before - 1)),
        "revoke_subject_before: another subject stays valid"
    );
    // Issued through an instant: its whole second included.
    ok(
        "revoke_subject_issued_through",
        store.revoke_subject_issued_through("carol", now),
    );
    assert!(
        subject(&store, "carol", Some(before)),
        "revoke_subject_issued_through: a token issued in the same second is revoked"
    );
    assert!(
        !subject(&store, "carol", Some(before + 1)),
        "revoke_subject_issued_through: a token of the next second is valid"
    );

    // By key id and by session.
    ok("revoke_key", store.revoke_key("k1"));
    ok("revoke_key", store.revoke_key("k1"));
    assert!(key(&store, "k1"), "revoke_key: the key id reads as revoked");
    assert!(!key(&store, "k2"), "revoke_key: another key id stays valid");
    ok("revoke_session", store.revoke_session("s1", later));
    ok("revoke_session", store.revoke_session("s1", now));
    assert!(
        session(&store, "s1"),
        "revoke_session: the session reads as revoked"
    );
    assert!(
        !session(&store, "s2"),
        "revoke_session: another session stays valid"
    );

    // A "before" instant with a fraction covers its whole second.
    ok(
        "revoke_subject_before",
        store.revoke_subject_before("frac", now + Duration::milliseconds(500)),
    );
    assert!(
        subject(&store, "frac", Some(before)),
        "revoke_subject_before: an instant with a fraction revokes tokens issued in its second"
    );
    assert!(
        !subject(&store, "frac", Some(before + 1)),
        "revoke_subject_before: rounding up stops at the next second"
    );

    // The feed holds every change, in order, in pages of any size.
    let (from_start, end) = drain(&store, ChangeCursor::start(), 1);
    let expected = [
        RevocationChange::Token {
            jti: "j1".into(),
            expires_at: later,
        },
        RevocationChange::SubjectBefore {
            subject: "alice".into(),
            before: now,
        },
        RevocationChange::Key { kid: "k1".into() },
        RevocationChange::Session {
            sid: "s1".into(),
            until: later,
        },
    ];
    for want in &expected {
        assert!(
            from_start.iter().any(|c| same_change(c, want)),
            "changes_since: the feed lacks {want:?}"
        );
    }
    let position = |want: &RevocationChange| from_start.iter().position(|c| same_change(c, want));
    assert!(
        position(&expected[0]) < position(&expected[1])
            && position(&expected[1]) < position(&expected[2])
            && position(&expected[2]) < position(&expected[3]),
        "changes_since: changes must come oldest first"
    );
    let (big_pages, _) = drain(&store, ChangeCursor::start(), 1_000);
    same(
        "changes_since: pages of 1 and of 1000 hold the same changes",
        &big_pages,
        &from_start,
    );

    // Resuming from a cursor yields only what came after it.
    ok("revoke_token", store.revoke_token("j3", later));
    let (after, _) = drain(&store, end.clone(), 10);
    same(
        "changes_since: resuming yields exactly the newer changes",
        &after,
        &vec![RevocationChange::Token {
            jti: "j3".into(),
            expires_at: later,
        }],
    );

    // A snapshot holds every live revocation and a cursor to follow.
    let snap = ok("snapshot", store.snapshot());
    for want in expected
        .iter()
        .chain(std::iter::once(&RevocationChange::Token {
            jti: "j3".into(),
            expires_at: later,
        }))
    {
        assert!(
            snap.changes.iter().any(|c| same_change(c, want)),
            "snapshot: lacks {want:?}"
        );
    }
    ok("revoke_key", store.revoke_key("k-after-snapshot"));
    let (after_snap, _) = drain(&store, snap.cursor.clone(), 10);
    assert!(
        after_snap
            .iter()
            .any(|c| matches!(c, RevocationChange::Key { kid } if kid == "k-after-snapshot")),
        "snapshot: a change made after it must follow its cursor"
    );

    // A cursor the store never gave out means "load a snapshot".
    same(
        "changes_since: a cursor that is not the store's",
        ok(
            "changes_since",
            store.changes_since(&ChangeCursor::new("not-a-cursor"), 10),
        ),
        ChangeFeed::Resync,
    );
    let other = make();
    for i in 0..40 {
        ok("revoke_token", other.revoke_token(&format!("o{i}"), later));
    }
    let (_, foreign) = drain(&other, ChangeCursor::start(), 1_000);
    same(
        "changes_since: another store's cursor, past this store's end",
        ok("changes_since", store.changes_since(&foreign, 10)),
        ChangeFeed::Resync,
    );

    // A replica fed by the store answers as the store does.
    let replica = RevocationReplica::new(Duration::minutes(1), StalePolicy::FailClosed);
    ok("replica sync", replica.sync(&store));
    let shared: &dyn crate::Revocation = &replica;
    for (q, want) in [
        (RevocationQuery::for_jti(Some("j1")), true),
        (RevocationQuery::for_jti(Some("j3")), true),
        (RevocationQuery::for_jti(Some("j2")), false),
        (
            RevocationQuery::default().with_key_and_session(Some("k-after-snapshot"), None),
            true,
        ),
        (
            RevocationQuery::default().with_key_and_session(None, Some("s1")),
            true,
        ),
        (
            RevocationQuery::default().with_subject(Some("alice"), Some(before - 1)),
            true,
        ),
        (
            RevocationQuery::default().with_subject(Some("frac"), Some(before)),
            true,
        ),
    ] {
        same(
            "a replica synced from the store answers as the store",
            ok("replica is_revoked", shared.is_revoked(&q)),
            want,
        );
    }

    // Concurrent writers: nothing is lost, in the reads or in the feed.
    let store = Arc::new(make());
    let threads = 4;
    let per_thread = 50;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for i in 0..per_thread {
                    ok(
                        "concurrent revoke_token",
                        store.revoke_token(&format!("c{t}-{i}"), later),
                    );
                }
            });
        }
    });
    let (all, _) = drain(&*store, ChangeCursor::start(), 64);
    let seen: HashSet<&str> = all
        .iter()
        .filter_map(|c| match c {
            RevocationChange::Token { jti, .. } => Some(jti.as_str()),
            _ => None,
        })
        .collect();
    for t in 0..threads {
        for i in 0..per_thread {
            let id = format!("c{t}-{i}");
            assert!(jti(&*store, &id), "concurrent writes: {id} is not revoked");
            assert!(
                seen.contains(id.as_str()),
                "concurrent writes: {id} is missing from the feed"
            );
        }
    }
}

/// Equal, comparing instants to the second (stores keep Unix seconds).
fn same_change(a: &RevocationChange, b: &RevocationChange) -> bool {
    use RevocationChange::*;
    let secs = |t: &OffsetDateTime| t.unix_timestamp();
    match (a, b) {
        (
            Token {
                jti: x,
                expires_at: s,
            },
            Token {
                jti: y,
                expires_at: t,
            },
        ) => x == y && secs(s) == secs(t),
        (
            SubjectBefore {
                subject: x,
                before: s,
            },
            SubjectBefore {
                subject: y,
                before: t,
            },
        ) => x == y && secs(s) == secs(t),
        (Key { kid: x }, Key { kid: y }) => x == y,
        (Session { sid: x, until: s }, Session { sid: y, until: t }) => {
            x == y && secs(s) == secs(t)
        }
        _ => false,
    }
}
