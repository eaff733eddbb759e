//! The test harness itself: real servers start, die, come back with their
//! append-only file, and form a cluster.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tokengate::ErrorKind;
use tokengate_redis::RedisConfig;
use tokengate_redis::redis;
use tokengate_redis::testing::{INSTALL_HINT, RedisCluster, RedisServer, redis_server_available};

fn require_redis() {
    assert!(redis_server_available(), "{INSTALL_HINT}");
}

#[test]
fn killed_server_with_aof_comes_back_with_its_writes() {
    require_redis();
    let mut server = RedisServer::start_with_aof().unwrap();
    let client = RedisConfig::new(server.url()).client().unwrap();
    let mut conn = client.connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("{t:h}:k")
        .arg("v1")
        .query(&mut conn)
        .unwrap();

    server.kill();
    assert!(!server.is_running());
    // A command on the dead server is a store failure, not a panic or a hang.
    let err = client.connection().map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreFailure);

    server.restart().unwrap();
    let mut conn = client.connection().unwrap();
    let v: Option<String> = redis::cmd("GET").arg("{t:h}:k").query(&mut conn).unwrap();
    assert_eq!(v.as_deref(), Some("v1"));
}

#[test]
fn killed_server_without_persistence_comes_back_empty() {
    require_redis();
    let mut server = RedisServer::start().unwrap();
    let client = RedisConfig::new(server.url()).client().unwrap();
    let mut conn = client.connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut conn)
        .unwrap();
    server.restart().unwrap();
    let mut conn = client.connection().unwrap();
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
    assert_eq!(v, None);
}

#[test]
fn cluster_of_three_masters_routes_keys() {
    require_redis();
    let cluster = RedisCluster::start(3).unwrap();
    let urls = cluster.urls();
    assert_eq!(urls.len(), 3);
    let mut node = redis::Client::open(urls[0].as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut node).unwrap();
    assert!(info.contains("cluster_state:ok"), "{info}");
    assert!(info.contains("cluster_size:3"), "{info}");
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut node).unwrap();
    assert_eq!(nodes.lines().filter(|l| l.contains("master")).count(), 3);

    let config = RedisConfig::cluster(urls).prefix("h");
    let client = config.client().unwrap();
    assert!(client.is_cluster());
    let mut conn = client.connection().unwrap();
    // Keys in many slots round-trip, so they land on every master.
    for i in 0..50 {
        let key = config.key(&format!("t{i}"), "k");
        let _: () = redis::cmd("SET").arg(&key).arg(i).query(&mut conn).unwrap();
    }
    for i in 0..50 {
        let key = config.key(&format!("t{i}"), "k");
        let v: i64 = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
        assert_eq!(v, i);
    }
    // Two keys with one hash tag go through one script (one slot).
    let script = redis::Script::new(
        "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); \
         return redis.call('GET', KEYS[1])",
    );
    let v: String = script
        .key(config.key("rev", "a"))
        .key(config.key("rev", "b"))
        .arg("x")
        .invoke(&mut conn)
        .unwrap();
    assert_eq!(v, "x");
}
