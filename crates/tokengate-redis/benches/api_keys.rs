//! API key verification among 10^6 keys: through the Redis-fed replica of
//! `RedisApiKeyStore` beside the core's `InMemoryApiKeyStore`, side by side
//! in one run, with the ratio; and the memory per record in Redis
//! (`MEMORY USAGE`) and in the replica, for API keys and refresh tokens.
//!
//! `cargo bench -p tokengate-redis --bench api_keys` starts its own
//! `redis-server` (under `cargo test --benches` it runs at a thousandth of
//! the size, as a smoke test; `TOKENGATE_BENCH_KEYS=<n>` sets the size).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokengate::api_key::SecretDigest;
use tokengate::refresh::{Expected, RotateRequest};
use tokengate::time::OffsetDateTime;
use tokengate::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyRecord, ApiKeyStore, ApiKeyVerifier, InMemoryApiKeyStore,
    IssuedApiKey, NewApiKey, RefreshRecord, RefreshStore, ScopeSet,
};
use tokengate_redis::testing::{INSTALL_HINT, RedisServer, redis_server_available};
use tokengate_redis::{RedisApiKeyStore, RedisConfig, RedisConnection, RedisRefreshStore};

#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes currently allocated.
fn live() -> isize {
    let s = ALLOC.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated
}

fn format() -> ApiKeyFormat {
    ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap()
}

fn memory_usage(conn: &mut RedisConnection, key: &str) -> i64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query(conn)
        .unwrap()
}

fn used_memory(conn: &mut RedisConnection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Nanoseconds per verification of `keys` (cycled) over `rounds` passes.
fn time_verify(verifier: &ApiKeyVerifier, keys: &[IssuedApiKey], passes: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..passes {
        for key in keys {
            std::hint::black_box(verifier.verify(key.expose_secret()).unwrap());
        }
    }
    start.elapsed().as_nanos() as f64 / (passes * keys.len()) as f64
}

fn main() {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("TOKENGATE_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 1_000 });
    let sample = n.min(10_000);
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url());
    let mut conn = config.client().unwrap().connection().unwrap();

    // 10^6 records, of which `sample` keep their plaintext for verifying.
    let issuer = ApiKeyIssuer::new(format());
    let t = Instant::now();
    let mut keys = Vec::with_capacity(sample);
    let records: Vec<ApiKeyRecord> = (0..n)
        .map(|i| {
            let (key, record) = issuer
                .issue(NewApiKey::new(format!("owner-{}", i % 1_000)).name("ci"))
                .unwrap();
            if i % (n / sample) == 0 && keys.len() < sample {
                keys.push(key);
            }
            record
        })
        .collect();
    println!("issued {n} keys in {:.1?}", t.elapsed());

    // Load Redis (a few hundred records per script call), then drop the
    // writer: the replica measured below starts cold.
    let redis_before = used_memory(&mut conn);
    {
        let writer = RedisApiKeyStore::builder(&config)
            .write_sync_timeout(Duration::ZERO)
            .connect()
            .unwrap()
            .wait_ready(Duration::from_secs(60))
            .unwrap();
        let t = Instant::now();
        let inserted = writer.import(records.iter().cloned()).unwrap();
        assert_eq!(inserted, n);
        println!("loaded {n} records into redis in {:.1?}", t.elapsed());
    }
    let redis_after = used_memory(&mut conn);

    // The replica, loaded cold.
    let t = Instant::now();
    let replica = Arc::new(
        RedisApiKeyStore::connect(&config)
            .unwrap()
            .wait_ready(Duration::from_secs(600))
            .unwrap(),
    );
    let load_time = t.elapsed();
    assert_eq!(replica.replica_len(), n);

    // The core's in-memory store with copies of the same records.
    let memory = Arc::new(InMemoryApiKeyStore::new());
    for record in &records {
        memory.insert(record.clone()).unwrap();
    }
    drop(records);

    let via_redis = ApiKeyVerifier::new(format(), replica.clone());
    let in_memory = ApiKeyVerifier::new(format(), memory.clone());
    let passes = if full { 20 } else { 2 };
    // Warm up both, then alternate rounds; the machine may be shared, so
    // report each side's best round and the median of the paired ratios.
    time_verify(&via_redis, &keys, 1);
    time_verify(&in_memory, &keys, 1);
    let (mut best_redis, mut best_memory) = (f64::MAX, f64::MAX);
    let mut ratios = Vec::new();
    for _ in 0..9 {
        let r = time_verify(&via_redis, &keys, passes);
        let m = time_verify(&in_memory, &keys, passes);
        best_redis = best_redis.min(r);
        best_memory = best_memory.min(m);
        ratios.push(r / m);
    }
    ratios.sort_by(f64::total_cmp);
    let median_ratio = ratios[ratios.len() / 2];

    // Memory per record in Redis.
    let sample_keys = 1_000.min(n);
    let per_record: i64 = replica
        .list_by_owner("owner-7")
        .unwrap()
        .iter()
        .take(sample_keys)
        .map(|r| memory_usage(&mut conn, &config.key("ak", &format!("k:{}", r.id))))
        .sum::<i64>()
        / replica
            .list_by_owner("owner-7")
            .unwrap()
            .len()
            .min(sample_keys) as i64;
    let ids_set = memory_usage(&mut conn, &config.key("ak", "ids"));
    let owner_set = memory_usage(&mut conn, &config.key("ak", "o:owner-7"));
    let owner_count = replica.list_by_owner("owner-7").unwrap().len() as i64;
    let stream = memory_usage(&mut conn, &config.key("ak", "changes"));
    let stream_len: i64 = redis::cmd("XLEN")
        .arg(config.key("ak", "changes"))
        .query(&mut conn)
        .unwrap();

    // Heap per record: what each store frees when dropped (the replica's
    // map goes with its threads, within a blocking read).
    drop((via_redis, in_memory));
    let before = live();
    drop(memory);
    let memory_bytes = before - live();
    let before = live();
    drop(replica);
    std::thread::sleep(Duration::from_secs(3));
    let replica_bytes = before - live();

    println!();
    println!("API key verification among {n} keys ({sample} distinct keys cycled):");
    println!("  InMemoryApiKeyStore        {best_memory:>8.0} ns/verify");
    println!("  RedisApiKeyStore replica   {best_redis:>8.0} ns/verify");
    println!(
        "  ratio of the best rounds   {:>8.3}x",
        best_redis / best_memory
    );
    println!("  median of paired ratios    {median_ratio:>8.3}x");
    println!();
    println!("replica cold load of {n} records: {load_time:.1?}");
    println!(
        "heap per record: replica {:.0} B, InMemoryApiKeyStore {:.0} B",
        replica_bytes as f64 / n as f64,
        memory_bytes as f64 / n as f64
    );
    println!("redis MEMORY USAGE per API key record hash: {per_record} B");
    println!(
        "redis ids set: {:.1} B per key; owner set: {:.1} B per key",
        ids_set as f64 / n as f64,
        owner_set as f64 / owner_count as f64
    );
    println!(
        "redis change stream: {stream} B for {stream_len} entries ({:.1} B per entry)",
        stream as f64 / stream_len.max(1) as f64
    );
    println!(
        "redis used_memory per API key, everything included: {:.0} B",
        (redis_after - redis_before) as f64 / n as f64
    );

    // Refresh records: families of one token, then after one rotation.
    let refresh_config = config.clone().prefix("rt");
    let refresh = RedisRefreshStore::connect(&refresh_config).unwrap();
    let families = 1_000;
    let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
    let record = |id: String, family: String| RefreshRecord {
        id,
        secret_digest: SecretDigest::from_bytes([5; 32]),
        family_id: family,
        parent: None,
        subject: "user-123456".to_owned(),
        client_id: Some("web".to_owned()),
        scopes: ScopeSet::parse("orders:read orders:write").unwrap(),
        claims: serde_json::Map::new(),
        issued_at: at,
        family_started_at: at,
        used_at: None,
        successor: None,
    };
    // Ids as long as the core's (22 base62 characters).
    let id = |i: usize, step: usize| format!("{:0>22}", format!("{i}x{step}"));
    for i in 0..families {
        refresh
            .insert(record(id(i, 0), format!("{:0>22}", i)))
            .unwrap();
    }
    let family_bytes = |conn: &mut RedisConnection| -> (f64, f64) {
        let mut fam = 0;
        let mut index = 0;
        for i in 0..families {
            fam += memory_usage(conn, &refresh_config.key(&format!("rtf:{:0>22}", i), "f"));
            index += memory_usage(conn, &refresh_config.key(&format!("rti:{}", id(i, 0)), "f"));
        }
        (fam as f64 / families as f64, index as f64 / families as f64)
    };
    let (one, index) = family_bytes(&mut conn);
    for i in 0..families {
        let mut next = record(id(i, 1), format!("{:0>22}", i));
        next.parent = Some(id(i, 0));
        refresh
            .rotate(&RotateRequest::new(id(i, 0), Expected::Unused, next, at))
            .unwrap();
    }
    let (two, _) = family_bytes(&mut conn);
    println!();
    println!(
        "redis MEMORY USAGE per refresh family hash: {one:.0} B with 1 token, {two:.0} B with 2"
    );
    println!(
        "  (so about {:.0} B per further token) + {index:.0} B per token index key",
        two - one
    );
}
