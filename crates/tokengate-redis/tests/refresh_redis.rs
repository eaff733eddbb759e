//! The refresh store on a real server: family TTLs, and a Redis restart
//! between two calls.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tokengate::api_key::SecretDigest;
use tokengate::refresh::{Expected, RotateOutcome, RotateRequest};
use tokengate::time::{Duration, OffsetDateTime};
use tokengate::{RefreshRecord, RefreshStore, ScopeSet};
use tokengate_redis::testing::{INSTALL_HINT, RedisServer, redis_server_available};
use tokengate_redis::{RedisConfig, RedisRefreshStore};

fn record(id: &str, started: OffsetDateTime) -> RefreshRecord {
    RefreshRecord {
        id: id.to_owned(),
        secret_digest: SecretDigest::from_bytes([1; 32]),
        family_id: "fam".to_owned(),
        parent: None,
        subject: "alice".to_owned(),
        client_id: None,
        scopes: ScopeSet::parse("read").unwrap(),
        claims: serde_json::Map::new(),
        issued_at: started,
        family_started_at: started,
        used_at: None,
        successor: None,
    }
}

fn ttl(conn: &mut tokengate_redis::RedisConnection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query(conn).unwrap()
}

#[test]
fn refresh_family_keys_expire_with_the_family_absolute_lifetime() {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url());
    let lifetime = Duration::days(30);
    let store = RedisRefreshStore::connect(&config)
        .unwrap()
        .family_lifetime(lifetime);
    let mut conn = config.client().unwrap().connection().unwrap();
    // The family started a day ago: 29 days left.
    let started = OffsetDateTime::now_utc() - Duration::days(1);
    store.insert(record("r1", started)).unwrap();
    let mut next = record("r2", started);
    next.parent = Some("r1".into());
    let outcome = store
        .rotate(&RotateRequest::new("r1", Expected::Unused, next, started))
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Rotated);

    let left = Duration::days(29).whole_seconds();
    for key in [
        config.key("rtf:fam", "f"),
        config.key("rti:r1", "f"),
        config.key("rti:r2", "f"),
    ] {
        let t = ttl(&mut conn, &key);
        assert!(
            t > left - 120 && t <= left,
            "{key}: TTL {t}, want about {left}"
        );
    }

    // Without a lifetime, nothing expires.
    let keep = RedisRefreshStore::connect(&config.clone().prefix("keep")).unwrap();
    keep.insert(record("k1", started)).unwrap();
    let keep_config = config.clone().prefix("keep");
    assert_eq!(ttl(&mut conn, &keep_config.key("rtf:fam", "f")), -1);
    assert_eq!(ttl(&mut conn, &keep_config.key("rti:k1", "f")), -1);
}

#[test]
fn refresh_store_calls_succeed_after_a_redis_restart_between_them() {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    let mut server = RedisServer::start_with_aof().unwrap();
    let config = RedisConfig::new(server.url());
    let store = RedisRefreshStore::connect(&config).unwrap();
    let started = OffsetDateTime::now_utc();
    store.insert(record("r1", started)).unwrap();

    // The store's pooled connections die with the server; the calls right
    // after the restart get new ones: a read is repeated, a rotation checks
    // its connection before the script.
    server.kill();
    server.restart().unwrap();
    assert!(
        store.get("r1").unwrap().is_some(),
        "the record survived (AOF)"
    );
    server.kill();
    server.restart().unwrap();
    let mut next = record("r2", started);
    next.parent = Some("r1".into());
    let outcome = store
        .rotate(&RotateRequest::new("r1", Expected::Unused, next, started))
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Rotated);
    assert!(store.get("r2").unwrap().is_some());
}
