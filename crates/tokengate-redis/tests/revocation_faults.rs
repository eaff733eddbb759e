//! The fleet's fault tests for revocation, against real `redis-server`
//! processes: a writer and replicas on separate connections, each
//! validating through a real `tokengate::Validator`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration as StdDuration;

use common::*;
use time::{Duration, OffsetDateTime};
use tokengate::{
    ErrorKind, Revocation, RevocationQuery, RevocationReplica, RevocationStore, StalePolicy,
};
use tokengate_redis::testing::RedisServer;
use tokengate_redis::{RedisConfig, RedisRevocationReplica, RedisRevocationStore, redis};

/// A replica that notices changes and outages quickly.
fn replica(config: &RedisConfig, max_staleness: Duration) -> RedisRevocationReplica {
    let r = RedisRevocationReplica::builder(config)
        .max_staleness(max_staleness)
        .block(StdDuration::from_millis(100))
        .max_backoff(StdDuration::from_millis(100))
        .start()
        .unwrap();
    r.wait_ready(SOON).unwrap();
    r
}

fn jti_revoked(r: &dyn Revocation, jti: &str) -> Result<bool, tokengate::Error> {
    r.is_revoked(&RevocationQuery::for_jti(Some(jti)))
}

#[test]
fn revoke_on_writer_is_rejected_on_two_replicas() {
    require_redis();
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url());
    let writer = RedisRevocationStore::new(&config).unwrap();
    let b = replica(&config, Duration::seconds(30));
    let c = replica(&config, Duration::seconds(30));
    let vb = validator(b.replica());
    let vc = validator(c.replica());

    let revoked = token("t-revoked", "alice");
    let kept = token("t-kept", "alice");
    let other_user = token("t-bob", "bob");
    for v in [&vb, &vc] {
        assert_eq!(verdict(v, &revoked), "ok");
        assert_eq!(verdict(v, &kept), "ok");
    }

    writer.revoke_token("t-revoked", in_an_hour()).unwrap();
    for (name, v) in [("B", &vb), ("C", &vc)] {
        wait_until(&format!("replica {name} rejects the token"), SOON, || {
            verdict(v, &revoked) == "revoked"
        });
        assert_eq!(verdict(v, &kept), "ok", "replica {name}: another token");
    }

    // Every kind of revocation reaches both replicas.
    writer
        .revoke_subject_issued_through("alice", OffsetDateTime::now_utc())
        .unwrap();
    writer.revoke_key("k-compromised").unwrap();
    writer.revoke_session("s-1", in_an_hour()).unwrap();
    for (name, v) in [("B", &vb), ("C", &vc)] {
        wait_until(&format!("replica {name} logs alice out"), SOON, || {
            verdict(v, &kept) == "revoked"
        });
        assert_eq!(verdict(v, &other_user), "ok", "replica {name}: bob");
    }
    for r in [&b, &c] {
        wait_until("key and session revocations", SOON, || {
            let q = RevocationQuery::default().with_key_and_session(Some("k-compromised"), None);
            let s = RevocationQuery::default().with_key_and_session(None, Some("s-1"));
            r.is_revoked(&q).unwrap() && r.is_revoked(&s).unwrap()
        });
    }
    // The writer's own reads (Redis) agree.
    assert!(jti_revoked(&writer, "t-revoked").unwrap());
    assert!(!jti_revoked(&writer, "t-kept").unwrap());
}

#[test]
fn redis_killed_replicas_serve_until_staleness_bound_then_fail_closed() {
    require_redis();
    let mut server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url()).response_timeout(StdDuration::from_millis(500));
    let writer = RedisRevocationStore::new(&config).unwrap();
    let bound = Duration::seconds(2);
    let b = replica(&config, bound);
    let c = replica(&config, bound);
    writer.revoke_token("gone", in_an_hour()).unwrap();
    for r in [&b, &c] {
        wait_until("the revocation reaches the replica", SOON, || {
            jti_revoked(r, "gone").unwrap()
        });
    }

    server.kill();

    // Writes fail, typed, never silently.
    for result in [
        writer.revoke_token("during-outage", in_an_hour()),
        writer.revoke_key("k"),
        writer.revoke_subject_before("s", OffsetDateTime::now_utc()),
        writer.revoke_session("sid", in_an_hour()),
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::StoreFailure);
    }
    assert_eq!(
        writer.snapshot().unwrap_err().kind(),
        ErrorKind::StoreFailure
    );

    // Each replica answers from memory while within its bound, and fails
    // closed past it. Both are watched together.
    let limit = StdDuration::from_secs(bound.whole_seconds() as u64 + 10);
    let replicas = [("B", &b), ("C", &c)];
    let mut served = [0usize; 2];
    let mut closed = [false; 2];
    wait_until("both replicas fail closed", limit, || {
        for (i, (name, r)) in replicas.iter().enumerate() {
            if closed[i] {
                continue;
            }
            let replica = r.replica();
            let before = replica.staleness().unwrap();
            let answer = jti_revoked(*r, "gone");
            let after = replica.staleness().unwrap();
            match answer {
                Ok(revoked) => {
                    assert!(revoked, "replica {name} served a wrong answer");
                    assert!(before <= bound, "replica {name} served past its bound");
                    assert!(!jti_revoked(*r, "never-revoked").unwrap_or(false));
                    served[i] += 1;
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::StoreFailure);
                    assert!(after > bound, "replica {name} failed before its bound");
                    closed[i] = true;
                }
            }
        }
        closed.iter().all(|c| *c)
    });
    for (i, (name, r)) in replicas.iter().enumerate() {
        assert!(
            served[i] > 0,
            "replica {name} never answered from memory after the kill"
        );
        assert!(r.last_error().is_some(), "replica {name} saw no error");
    }
    // Through the validator: 503 material (store_failure), not 401.
    let v = validator(b.replica());
    assert_eq!(verdict(&v, &token("any", "u")), "store_failure");

    // Redis comes back empty (no persistence): the replicas resync and
    // serve again, and never forget what they knew.
    server.restart().unwrap();
    writer.revoke_token("after-restart", in_an_hour()).unwrap();
    for r in [&b, &c] {
        wait_until("the replica serves again", SOON, || {
            matches!(jti_revoked(r, "after-restart"), Ok(true))
        });
        assert!(jti_revoked(r, "gone").unwrap());
    }
    assert_eq!(verdict(&v, &token("any", "u")), "ok");
}

#[test]
fn redis_restarted_with_aof_replicas_catch_up_and_nothing_is_lost() {
    require_redis();
    let mut server = RedisServer::start_with_aof().unwrap();
    let config = RedisConfig::new(server.url());
    let writer = RedisRevocationStore::new(&config).unwrap();
    let b = replica(&config, Duration::seconds(60));
    let c = replica(&config, Duration::seconds(60));
    let now = OffsetDateTime::now_utc();
    for i in 0..200 {
        writer
            .revoke_token(&format!("before-{i}"), in_an_hour())
            .unwrap();
    }
    writer.revoke_subject_before("alice", now).unwrap();
    writer.revoke_key("k-old").unwrap();
    writer.revoke_session("s-old", in_an_hour()).unwrap();
    for r in [&b, &c] {
        wait_until("the replica has every write", SOON, || {
            jti_revoked(r, "before-199").unwrap()
        });
    }
    let epoch = |r: &RedisRevocationReplica| {
        r.replica()
            .cursor()
            .as_str()
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let (epoch_b, epoch_c) = (epoch(&b), epoch(&c));

    server.kill();
    assert_eq!(
        writer
            .revoke_token("lost?", in_an_hour())
            .unwrap_err()
            .kind(),
        ErrorKind::StoreFailure,
        "a write while Redis is down fails"
    );
    server.restart().unwrap();

    // Written right after the restart, possibly before the replicas are
    // back: they resume from their cursors and get these too.
    for i in 0..50 {
        writer
            .revoke_token(&format!("after-{i}"), in_an_hour())
            .unwrap();
    }
    let cold = replica(&config, Duration::seconds(60));
    for (name, r) in [("B", &b), ("C", &c), ("cold", &cold)] {
        wait_until(&format!("replica {name} catches up"), SOON, || {
            matches!(jti_revoked(r, "after-49"), Ok(true))
        });
        for i in 0..200 {
            assert!(jti_revoked(r, &format!("before-{i}")).unwrap(), "{name}");
        }
        for i in 0..50 {
            assert!(jti_revoked(r, &format!("after-{i}")).unwrap(), "{name}");
        }
        let q =
            RevocationQuery::default().with_subject(Some("alice"), Some(now.unix_timestamp() - 1));
        assert!(r.is_revoked(&q).unwrap(), "{name}: subject");
        let q = RevocationQuery::default().with_key_and_session(Some("k-old"), Some("s-none"));
        assert!(r.is_revoked(&q).unwrap(), "{name}: key");
        let q = RevocationQuery::default().with_key_and_session(None, Some("s-old"));
        assert!(r.is_revoked(&q).unwrap(), "{name}: session");
        assert!(
            !jti_revoked(r, "lost?").unwrap(),
            "{name}: the failed write"
        );
    }
    // The AOF kept the stream and its epoch: the replicas resumed, no
    // resync was needed.
    assert_eq!(epoch(&b), epoch_b);
    assert_eq!(epoch(&c), epoch_c);
    // And Redis itself lost nothing.
    for i in 0..200 {
        assert!(jti_revoked(&writer, &format!("before-{i}")).unwrap());
    }
}

#[test]
fn replica_restarted_cold_loads_everything_before_ready() {
    require_redis();
    let mut server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url());
    let writer = RedisRevocationStore::new(&config).unwrap();
    let now = OffsetDateTime::now_utc();
    // More than one feed page (1,000) and every kind.
    let n = 2_500;
    for i in 0..n {
        writer.revoke_token(&format!("j{i}"), in_an_hour()).unwrap();
    }
    for i in 0..20 {
        writer
            .revoke_subject_before(&format!("user{i}"), now)
            .unwrap();
        writer.revoke_key(&format!("kid{i}")).unwrap();
        writer
            .revoke_session(&format!("sid{i}"), in_an_hour())
            .unwrap();
    }
    let everything_enforced = |r: &dyn Revocation| {
        (0..n).all(|i| jti_revoked(r, &format!("j{i}")).unwrap())
            && (0..20).all(|i| {
                let sub = format!("user{i}");
                let kid = format!("kid{i}");
                let sid = format!("sid{i}");
                let q = RevocationQuery::default()
                    .with_subject(Some(&sub), Some(now.unix_timestamp() - 1));
                let k = RevocationQuery::default().with_key_and_session(Some(&kid), None);
                let s = RevocationQuery::default().with_key_and_session(None, Some(&sid));
                r.is_revoked(&q).unwrap() && r.is_revoked(&k).unwrap() && r.is_revoked(&s).unwrap()
            })
    };

    // A warm replica, then restarted cold: ready means complete, at once.
    let warm = replica(&config, Duration::seconds(30));
    assert!(everything_enforced(&warm));
    drop(warm);
    let cold = replica(&config, Duration::seconds(30));
    assert!(everything_enforced(&cold), "ready before the full load");

    // A replica that starts while Redis is down refuses every lookup and
    // is not ready; once Redis answers, it loads in full before serving.
    server.kill();
    let r = RedisRevocationReplica::builder(&config)
        .block(StdDuration::from_millis(100))
        .max_backoff(StdDuration::from_millis(100))
        .start()
        .unwrap();
    assert!(r.wait_ready(StdDuration::from_millis(300)).is_err());
    assert!(!r.is_ready());
    assert_eq!(
        jti_revoked(&r, "j0").unwrap_err().kind(),
        ErrorKind::StoreFailure,
        "not ready: refuse, never accept a possibly revoked token"
    );
    let v = validator(r.replica());
    assert_eq!(verdict(&v, &token("j-new", "u")), "store_failure");
    server.restart().unwrap();
    // No persistence: the data is gone, write it again.
    for i in 0..n {
        writer.revoke_token(&format!("j{i}"), in_an_hour()).unwrap();
    }
    for i in 0..20 {
        writer
            .revoke_subject_before(&format!("user{i}"), now)
            .unwrap();
        writer.revoke_key(&format!("kid{i}")).unwrap();
        writer
            .revoke_session(&format!("sid{i}"), in_an_hour())
            .unwrap();
    }
    r.wait_ready(SOON).unwrap();
    wait_until("the late replica loads everything", SOON, || {
        everything_enforced(&r)
    });
    assert_eq!(verdict(&v, &token("j-new", "u")), "ok");
    assert_eq!(verdict(&v, &token("j7", "u")), "revoked");
}

#[test]
fn stream_trimmed_past_cursor_forces_full_resync_without_loss() {
    require_redis();
    let server = RedisServer::start().unwrap();
    let admin_url = server.url();
    let mut admin = redis::Client::open(admin_url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    // The replica logs in as its own ACL user, so it can be cut off.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("replica")
        .arg("on")
        .arg(">replica-pw")
        .arg("~*")
        .arg("+@all")
        .query(&mut admin)
        .unwrap();
    let port = server.port();
    let replica_config = RedisConfig::new(format!("redis://replica:replica-pw@127.0.0.1:{port}/"));
    let config = RedisConfig::new(server.url());
    let writer = RedisRevocationStore::new(&config)
        .unwrap()
        .stream_max_len(10);

    writer.revoke_token("first", in_an_hour()).unwrap();
    let b = replica(&replica_config, Duration::seconds(60));
    wait_until("b has the first", SOON, || {
        jti_revoked(&b, "first").unwrap()
    });

    // Cut the replica off: disable its user and drop its connections.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("replica")
        .arg("off")
        .query(&mut admin)
        .unwrap();
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("USER")
        .arg("replica")
        .query(&mut admin)
        .unwrap();
    wait_until("the replica notices", SOON, || b.last_error().is_some());
    let cursor = b.replica().cursor();

    // Far more writes than the stream keeps, of every kind.
    let now = OffsetDateTime::now_utc();
    for i in 0..1_000 {
        writer.revoke_token(&format!("t{i}"), in_an_hour()).unwrap();
    }
    writer.revoke_subject_before("alice", now).unwrap();
    writer.revoke_key("kid").unwrap();
    writer.revoke_session("sid", in_an_hour()).unwrap();
    // The stream was trimmed past the replica's cursor.
    let len: usize = redis::cmd("XLEN")
        .arg(writer.stream_key())
        .query(&mut admin)
        .unwrap();
    assert!(len < 1_000, "the stream was trimmed (length {len})");
    assert_eq!(
        writer.changes_since(&cursor, 10).unwrap(),
        tokengate::ChangeFeed::Resync,
        "the replica's cursor is past what the stream keeps"
    );

    // A sans-IO replica at that cursor resyncs in full too.
    let manual = RevocationReplica::new(Duration::seconds(60), StalePolicy::FailClosed);
    let first = RedisRevocationStore::new(&config).unwrap();
    manual
        .load_snapshot(tokengate::Snapshot {
            changes: vec![],
            cursor: cursor.clone(),
        })
        .unwrap();
    let report = manual.sync(&first).unwrap();
    assert!(report.resynced);

    let q_sub =
        RevocationQuery::default().with_subject(Some("alice"), Some(now.unix_timestamp() - 1));
    let q_kid = RevocationQuery::default().with_key_and_session(Some("kid"), None);
    let q_sid = RevocationQuery::default().with_key_and_session(None, Some("sid"));
    // Let the replica back in: it resumes, must resync, loses nothing.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("replica")
        .arg("on")
        .query(&mut admin)
        .unwrap();
    // A resync applies the snapshot entry by entry (in the store's scan
    // order, so t999 may land before t5): wait for every entry, then check
    // both replicas in full.
    wait_until("the replica catches up", SOON, || {
        (0..1_000).all(|i| matches!(jti_revoked(&b, &format!("t{i}")), Ok(true)))
            && matches!(b.is_revoked(&q_sid), Ok(true))
    });
    for r in [&b as &dyn Revocation, &manual] {
        for i in 0..1_000 {
            assert!(jti_revoked(r, &format!("t{i}")).unwrap(), "t{i}");
        }
        assert!(jti_revoked(r, "first").unwrap());
        assert!(r.is_revoked(&q_sub).unwrap());
        assert!(r.is_revoked(&q_kid).unwrap());
        assert!(r.is_revoked(&q_sid).unwrap());
    }
    // And it follows the feed again afterwards.
    writer.revoke_token("later", in_an_hour()).unwrap();
    wait_until("b follows again", SOON, || {
        jti_revoked(&b, "later").unwrap()
    });
}
