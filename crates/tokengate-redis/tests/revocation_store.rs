//! The Redis revocation store against the core's conformance suite, on a
//! single server and on a 3-master cluster, and what the suite cannot see:
//! TTLs, monotone expiry, key layout, a lost or foreign stream.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use common::*;
use time::{Duration, OffsetDateTime};
use tokengate::testing::conformance;
use tokengate::{
    ChangeCursor, ChangeFeed, ErrorKind, Revocation, RevocationQuery, RevocationStore,
};
use tokengate_redis::testing::{RedisCluster, RedisServer};
use tokengate_redis::{RedisConfig, RedisRevocationReplica, RedisRevocationStore, redis};

/// A store under a prefix no other call used: each is empty.
fn fresh(config: &RedisConfig) -> RedisRevocationStore {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    RedisRevocationStore::new(&config.clone().prefix(format!("conf{n}"))).unwrap()
}

#[test]
fn single_server_passes_revocation_conformance() {
    require_redis();
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url());
    conformance::revocation_store(|| fresh(&config));
}

#[test]
fn cluster_of_three_masters_passes_revocation_conformance() {
    require_redis();
    let cluster = RedisCluster::start(3).unwrap();
    let config = RedisConfig::cluster(cluster.urls());
    conformance::revocation_store(|| fresh(&config));

    // And a replica follows a writer through the cluster.
    let config = config.prefix("cluster-fleet");
    let writer = RedisRevocationStore::new(&config).unwrap();
    writer.revoke_token("before", in_an_hour()).unwrap();
    let replica = RedisRevocationReplica::builder(&config)
        .block(StdDuration::from_millis(100))
        .start()
        .unwrap();
    replica.wait_ready(SOON).unwrap();
    let v = validator(replica.replica());
    assert_eq!(verdict(&v, &token("before", "u")), "revoked");
    assert_eq!(verdict(&v, &token("after", "u")), "ok");
    writer.revoke_token("after", in_an_hour()).unwrap();
    wait_until("the replica sees the cluster write", SOON, || {
        verdict(&v, &token("after", "u")) == "revoked"
    });
}

fn conn(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url().as_str())
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn entries_expire_with_the_token_plus_margin_and_never_earlier() {
    require_redis();
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url()).prefix("ttl");
    let store = RedisRevocationStore::new(&config)
        .unwrap()
        .with_retention_margin(Duration::seconds(100))
        .max_token_lifetime(Duration::hours(2));
    let mut c = conn(&server);
    let now = OffsetDateTime::now_utc();
    let exp = now + Duration::hours(1);
    store.revoke_token("j", exp).unwrap();
    let ttl = |c: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("TTL").arg(key).query(c).unwrap()
    };
    let expected = exp.unix_timestamp() + 100 - now.unix_timestamp();
    let t = ttl(&mut c, "{ttl:rev}:jti:j");
    assert!(
        (expected - 5..=expected).contains(&t),
        "ttl {t}, expected {expected}"
    );
    // Revoking again with an earlier exp does not shorten it.
    store.revoke_token("j", now + Duration::minutes(1)).unwrap();
    let t2 = ttl(&mut c, "{ttl:rev}:jti:j");
    assert!(t2 >= t - 2, "ttl shortened from {t} to {t2}");
    // A later exp lengthens it.
    store.revoke_token("j", exp + Duration::hours(1)).unwrap();
    assert!(ttl(&mut c, "{ttl:rev}:jti:j") > t + 3_000);
    // A writer with a shorter margin, revoking with a later exp, does not
    // bring the expiry another writer set closer either.
    let wide = RedisRevocationStore::new(&config)
        .unwrap()
        .with_retention_margin(Duration::hours(10));
    wide.revoke_token("w", exp).unwrap();
    let before = ttl(&mut c, "{ttl:rev}:jti:w");
    store.revoke_token("w", exp + Duration::seconds(5)).unwrap();
    let after = ttl(&mut c, "{ttl:rev}:jti:w");
    assert!(
        after >= before - 2,
        "ttl shortened from {before} to {after}"
    );
    let held: i64 = redis::cmd("GET")
        .arg("{ttl:rev}:jti:w")
        .query(&mut c)
        .unwrap();
    assert_eq!(held, (exp + Duration::seconds(5)).unix_timestamp());

    // Subjects: kept for the declared lifetime plus margin.
    store.revoke_subject_before("alice", now).unwrap();
    let t = ttl(&mut c, "{ttl:rev}:sub:alice");
    assert!((7_200 + 100 - 5..=7_200 + 100 + 1).contains(&t), "{t}");
    // Keys: permanent. Sessions: until + margin.
    store.revoke_key("k").unwrap();
    assert_eq!(ttl(&mut c, "{ttl:rev}:kid:k"), -1);
    store.revoke_session("s", exp).unwrap();
    let t = ttl(&mut c, "{ttl:rev}:sid:s");
    assert!((expected - 5..=expected).contains(&t), "{t}");

    // A token that expired longer ago than the margin needs nothing.
    store
        .revoke_token("long-gone", now - Duration::hours(1))
        .unwrap();
    let exists: bool = redis::cmd("EXISTS")
        .arg("{ttl:rev}:jti:long-gone")
        .query(&mut c)
        .unwrap();
    assert!(!exists);

    // The layout: the stream and the epoch, nothing else.
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            "{ttl:rev}:epoch",
            "{ttl:rev}:jti:j",
            "{ttl:rev}:jti:w",
            "{ttl:rev}:kid:k",
            "{ttl:rev}:sid:s",
            "{ttl:rev}:stream",
            "{ttl:rev}:sub:alice",
        ]
    );
    // Without a declared lifetime, subject entries stay.
    let store = RedisRevocationStore::new(&config).unwrap();
    store.revoke_subject_before("bob", now).unwrap();
    assert_eq!(ttl(&mut c, "{ttl:rev}:sub:bob"), -1);
}

#[test]
fn a_store_that_lost_its_data_answers_resync() {
    require_redis();
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url());
    let store = RedisRevocationStore::new(&config).unwrap();
    store.revoke_token("a", in_an_hour()).unwrap();
    let ChangeFeed::Changes { cursor, .. } =
        store.changes_since(&ChangeCursor::start(), 10).unwrap()
    else {
        panic!("changes")
    };
    // Flushed (a restart without persistence): even with nothing new,
    // the old cursor must not read as "up to date".
    let _: () = redis::cmd("FLUSHALL").query(&mut conn(&server)).unwrap();
    assert_eq!(
        store.changes_since(&cursor, 10).unwrap(),
        ChangeFeed::Resync
    );
    store.revoke_token("b", in_an_hour()).unwrap();
    assert_eq!(
        store.changes_since(&cursor, 10).unwrap(),
        ChangeFeed::Resync
    );
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.changes.len(), 1);
    let ChangeFeed::Changes { changes, .. } = store.changes_since(&snap.cursor, 10).unwrap() else {
        panic!("changes")
    };
    assert!(changes.is_empty());
    // Malformed cursors.
    for bad in ["x", "e/1", "e/1-1-1", "/1-0"] {
        assert_eq!(
            store.changes_since(&ChangeCursor::new(bad), 10).unwrap(),
            ChangeFeed::Resync,
            "{bad}"
        );
    }
}

#[test]
fn garbage_in_redis_is_a_store_error_not_a_panic() {
    require_redis();
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url()).prefix("junk");
    let store = RedisRevocationStore::new(&config).unwrap();
    let mut c = conn(&server);
    let _: () = redis::cmd("SET")
        .arg("{junk:rev}:sub:alice")
        .arg("not-a-number")
        .query(&mut c)
        .unwrap();
    let q = RevocationQuery::default().with_subject(Some("alice"), Some(1));
    assert_eq!(
        store.is_revoked(&q).unwrap_err().kind(),
        ErrorKind::StoreFailure
    );
    assert_eq!(
        store.snapshot().unwrap_err().kind(),
        ErrorKind::StoreFailure
    );
    let _: () = redis::cmd("DEL")
        .arg("{junk:rev}:sub:alice")
        .query(&mut c)
        .unwrap();
    store.revoke_token("a", in_an_hour()).unwrap();
    let _: String = redis::cmd("XADD")
        .arg("{junk:rev}:stream")
        .arg("*")
        .arg("c")
        .arg("{\"type\":\"nope\"}")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        store
            .changes_since(&ChangeCursor::start(), 10)
            .unwrap_err()
            .kind(),
        ErrorKind::StoreFailure
    );
    // A wrong-type key where the stream should be.
    let _: () = redis::cmd("DEL")
        .arg("{junk:rev}:stream")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("{junk:rev}:stream")
        .arg("x")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        store.revoke_token("b", in_an_hour()).unwrap_err().kind(),
        ErrorKind::StoreFailure
    );
    // The failed write left nothing half done, and a retry fails the same.
    let exists: bool = redis::cmd("EXISTS")
        .arg("{junk:rev}:jti:b")
        .query(&mut c)
        .unwrap();
    assert!(!exists, "an entry without its change in the feed");
    assert!(store.revoke_token("b", in_an_hour()).is_err());
}
