//! The core's conformance suites for refresh token and API key stores, run
//! against the Redis stores on a single server and on a 3-master cluster.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokengate::testing::conformance::{api_key_store, refresh_store};
use tokengate_redis::testing::{INSTALL_HINT, RedisCluster, RedisServer, redis_server_available};
use tokengate_redis::{RedisApiKeyStore, RedisConfig, RedisRefreshStore};

/// A prefix no other store of this test process uses, so that each store
/// the suites make starts empty.
fn fresh(config: &RedisConfig) -> RedisConfig {
    static N: AtomicU64 = AtomicU64::new(0);
    config
        .clone()
        .prefix(format!("t{}", N.fetch_add(1, Ordering::Relaxed)))
}

fn refresh_suite(config: &RedisConfig) {
    refresh_store(|| RedisRefreshStore::connect(&fresh(config)).expect("connect"));
}

fn api_key_suite(config: &RedisConfig) {
    api_key_store(|| {
        RedisApiKeyStore::connect(&fresh(config))
            .and_then(|s| s.wait_ready(Duration::from_secs(10)))
            .expect("connect")
    });
}

fn server() -> RedisServer {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    RedisServer::start().expect("redis-server starts")
}

fn cluster() -> RedisCluster {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    RedisCluster::start(3).expect("a 3-master cluster starts")
}

#[test]
fn refresh_store_conformance_on_redis() {
    let server = server();
    refresh_suite(&RedisConfig::new(server.url()));
}

#[test]
fn api_key_store_conformance_on_redis() {
    let server = server();
    api_key_suite(&RedisConfig::new(server.url()));
}

#[test]
fn refresh_and_api_key_store_conformance_on_a_3_master_cluster() {
    let cluster = cluster();
    let config = RedisConfig::cluster(cluster.urls());
    refresh_suite(&config);
    api_key_suite(&config);
}
