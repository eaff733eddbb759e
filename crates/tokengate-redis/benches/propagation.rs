//! Figures for a fleet on Redis, against a real `redis-server` started by
//! the harness on loopback:
//!
//! - propagation: from `revoke_token` returning on the writer to the first
//!   rejection seen by each of 3 replica processes (this binary
//!   re-executed with `--replica`), p50/p99/max;
//! - hot path: HS256 validation with the Redis-fed replica beside the
//!   plain in-memory `RevocationList`, and their ratio;
//! - memory: `MEMORY USAGE` of a revoked `jti`'s key and its share of the
//!   stream, Redis's own growth per revoked `jti`, and heap bytes per
//!   `jti` in a replica.
//!
//! `cargo bench -p tokengate-redis --bench propagation`. Under
//! `cargo test --benches` it runs at a small size, as a smoke test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

use std::alloc::System;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant, SystemTime, UNIX_EPOCH};

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use time::{Duration, OffsetDateTime};
use tokengate::{
    Algorithm, KeySetStore, NoCustomClaims, Revocation, RevocationList, RevocationQuery,
    RevocationReplica, RevocationStore, SigningKey, StalePolicy, TokenBuilder, Validator,
};
use tokengate_redis::testing::RedisServer;
use tokengate_redis::{RedisConfig, RedisRevocationReplica, RedisRevocationStore, redis};

#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn live() -> isize {
    let s = ALLOC.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn in_an_hour() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::hours(1)
}

/// The child: a replica that reports when it first rejects a `jti`.
fn replica_process(url: &str, prefix: &str) {
    let config = RedisConfig::new(url).prefix(prefix);
    let replica = RedisRevocationReplica::start(&config).unwrap();
    replica.wait_ready(StdDuration::from_secs(30)).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let Some(jti) = line.strip_prefix("watch ") else {
            break;
        };
        writeln!(out, "ok").unwrap();
        out.flush().unwrap();
        let q = RevocationQuery::for_jti(Some(jti));
        while !replica.is_revoked(&q).unwrap() {
            std::thread::sleep(StdDuration::from_micros(20));
        }
        writeln!(out, "seen {}", unix_nanos()).unwrap();
        out.flush().unwrap();
    }
}

struct ReplicaProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ReplicaProcess {
    fn spawn(url: &str, prefix: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--replica", url, prefix])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut p = Self {
            child,
            stdin,
            stdout,
        };
        assert_eq!(p.line(), "ready");
        p
    }

    fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        s.trim_end().to_owned()
    }

    fn send(&mut self, s: &str) {
        writeln!(self.stdin, "{s}").unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "stop");
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, samples: &mut [f64]) {
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  {name:<12} n={:<5} p50 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms",
        samples.len(),
        percentile(samples, 0.5),
        percentile(samples, 0.99),
        samples[samples.len() - 1]
    );
}

fn propagation(server: &RedisServer, n: usize) {
    let prefix = "prop";
    let config = RedisConfig::new(server.url()).prefix(prefix);
    let writer = RedisRevocationStore::new(&config).unwrap();
    writer.ping().unwrap();
    let mut replicas: Vec<ReplicaProcess> = (0..3)
        .map(|_| ReplicaProcess::spawn(&server.url(), prefix))
        .collect();
    let mut per_replica: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
    let mut early = 0;
    for i in 0..n {
        let jti = format!("prop-{i:016}");
        for r in &mut replicas {
            r.send(&format!("watch {jti}"));
        }
        for r in &mut replicas {
            assert_eq!(r.line(), "ok");
        }
        writer.revoke_token(&jti, in_an_hour()).unwrap();
        let returned = unix_nanos();
        for (k, r) in replicas.iter_mut().enumerate() {
            let line = r.line();
            let seen: u128 = line.strip_prefix("seen ").unwrap().parse().unwrap();
            if seen < returned {
                early += 1;
            }
            per_replica[k].push(seen.saturating_sub(returned) as f64 / 1e6);
        }
    }
    println!(
        "propagation: revoke_token returned on the writer -> first rejection on a replica process ({n} revocations, loopback)"
    );
    let mut all: Vec<f64> = per_replica.iter().flatten().copied().collect();
    for (k, s) in per_replica.iter_mut().enumerate() {
        summary(&format!("replica {}", k + 1), s);
    }
    summary("all", &mut all);
    println!(
        "  ({early} of {} rejections were seen before the writer's call returned: counted as 0)",
        3 * n
    );
}

fn signer() -> SigningKey {
    SigningKey::hmac(Algorithm::HS256, &[0x42; 32])
        .unwrap()
        .with_key_id("k")
}

fn validator(revocation: Arc<dyn Revocation>) -> Validator {
    Validator::builder(KeySetStore::new([signer().verifying_key()]).unwrap())
        .danger_accept_any_type()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .revocation(revocation)
        .build()
        .unwrap()
}

/// ns per validation over `iters` calls.
fn time_validations(v: &Validator, token: &str, iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(
            v.validate::<NoCustomClaims>(std::hint::black_box(token))
                .unwrap(),
        );
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn hot_path(server: &RedisServer, revoked: usize, rounds: usize, iters: u32) {
    let config = RedisConfig::new(server.url()).prefix("hot");
    let writer = RedisRevocationStore::new(&config).unwrap();
    let list = Arc::new(RevocationList::new());
    let exp = in_an_hour();
    for i in 0..revoked {
        let jti = format!("{i:022}");
        writer.revoke_token(&jti, exp).unwrap();
        list.revoke_token(&jti, exp).unwrap();
    }
    let replica = RedisRevocationReplica::start(&config).unwrap();
    replica.wait_ready(StdDuration::from_secs(60)).unwrap();
    let fed = validator(replica.replica());
    let plain = validator(list);
    let token = TokenBuilder::new()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .subject("user-1")
        .sign(&signer())
        .unwrap();
    // Both reject a revoked token and accept this one.
    let revoked_token = TokenBuilder::new()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .subject("user-1")
        .jwt_id(format!("{:022}", 0))
        .sign(&signer())
        .unwrap();
    assert!(fed.validate::<NoCustomClaims>(&revoked_token).is_err());
    assert!(plain.validate::<NoCustomClaims>(&revoked_token).is_err());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    time_validations(&plain, &token, iters);
    time_validations(&fed, &token, iters);
    for _ in 0..rounds {
        a.push(time_validations(&plain, &token, iters));
        b.push(time_validations(&fed, &token, iters));
    }
    a.sort_by(|x, y| x.total_cmp(y));
    b.sort_by(|x, y| x.total_cmp(y));
    let (ma, mb) = (percentile(&a, 0.5), percentile(&b, 0.5));
    println!(
        "hot path: full HS256 validation, {revoked} revoked jtis, median of {rounds} rounds of {iters}"
    );
    println!("  in-memory RevocationList      {ma:>8.1} ns");
    println!("  Redis-fed replica             {mb:>8.1} ns");
    println!("  ratio replica / list          {:>8.3}x", mb / ma);
}

fn memory(server: &RedisServer, n: usize) {
    let config = RedisConfig::new(server.url()).prefix("mem");
    let mut conn = redis::Client::open(server.url().as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let used = |conn: &mut redis::Connection| -> i64 {
        let info: String = redis::cmd("INFO").arg("memory").query(conn).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = used(&mut conn);
    let exp = in_an_hour();
    // Writers in parallel, each with its own store (connections).
    let threads = 4;
    std::thread::scope(|s| {
        for t in 0..threads {
            let config = config.clone();
            s.spawn(move || {
                let store = RedisRevocationStore::new(&config).unwrap();
                for i in (t..n).step_by(threads) {
                    store.revoke_token(&format!("{i:022}"), exp).unwrap();
                }
            });
        }
    });
    let after = used(&mut conn);
    let store = RedisRevocationStore::new(&config).unwrap();
    let sample = 100.min(n);
    let mut key_bytes = 0i64;
    for i in 0..sample {
        let b: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(store.jti_key(&format!("{i:022}")))
            .arg("SAMPLES")
            .arg(0)
            .query(&mut conn)
            .unwrap();
        key_bytes += b;
    }
    let stream_bytes: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(store.stream_key())
        .arg("SAMPLES")
        .arg(0)
        .query(&mut conn)
        .unwrap();
    let stream_len: i64 = redis::cmd("XLEN")
        .arg(store.stream_key())
        .query(&mut conn)
        .unwrap();
    println!("memory per revoked jti (22-character jti, {n} revoked):");
    println!(
        "  Redis, MEMORY USAGE of its key          {:>7.1} B",
        key_bytes as f64 / sample as f64
    );
    println!(
        "  Redis, its share of the stream          {:>7.1} B  ({stream_len} entries, {stream_bytes} B)",
        stream_bytes as f64 / stream_len as f64
    );
    println!(
        "  Redis, used_memory growth per jti       {:>7.1} B  (key + stream + keyspace and TTL tables)",
        (after - before) as f64 / n as f64
    );

    // The replica's heap per jti: a full snapshot loaded into it.
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.changes.len(), n);
    // The copy handed over is freed by the load: what stays is the
    // replica's.
    let start = live();
    let replica = RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed);
    replica.load_snapshot(snapshot.clone()).unwrap();
    let replica_bytes = live() - start;
    println!(
        "  replica heap per jti                    {:>7.1} B",
        replica_bytes as f64 / n as f64
    );
    assert!(
        replica
            .is_revoked(&RevocationQuery::for_jti(Some(&format!("{:022}", 0))))
            .unwrap()
    );
    drop(replica);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--replica") {
        replica_process(&args[i + 1], &args[i + 2]);
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    let server = RedisServer::start().expect("redis-server: apt-get install redis-server");
    if full {
        propagation(&server, 1_000);
        hot_path(&server, 10_000, 15, 200_000);
        memory(&server, 100_000);
    } else {
        propagation(&server, 20);
        hot_path(&server, 100, 2, 1_000);
        memory(&server, 1_000);
    }
}
