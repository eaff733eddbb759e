//! Requests per second and latency of one protected route on loopback:
//! no authentication, then the tokengate layer with an HS256 token, an API
//! key and an ES256 token.
//!
//! ```text
//! cargo bench -p tokengate-axum --bench throughput
//! BENCH_SECS=10 BENCH_CONNECTIONS=32 cargo bench -p tokengate-axum --bench throughput
//! BENCH_ROUNDS=5 BENCH_SECS=2 cargo bench -p tokengate-axum --bench throughput
//! crates/tokengate-axum/benches/peer.sh
//! ```
//!
//! The server runs on a one-worker runtime of its own thread, the load
//! generator (keep-alive connections, each a task sending requests back
//! to back) on another; on a 2-core machine each gets one core. With
//! `BENCH_ROUNDS`, every case runs that many times in turn (`BENCH_SECS`
//! each time) and the table adds each case's range over the rounds. Not a
//! test: it asserts nothing about time.
//!
//! With `PEER_BIN` set to the binary of `benches/peer` (`peer.sh` builds
//! it and sets it), the same load generator then drives that process: the
//! same route behind jwt-authorizer (axum 0.7, hence a package of its own),
//! on a one-worker runtime too, with the same HS256 token, once without
//! and once with its layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tokengate::{
    Algorithm, ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, Authenticator, InMemoryApiKeyStore,
    KeyRing, NewApiKey, ScopeSet, SigningKey, TokenBuilder, Validator,
};
use tokengate_axum::{Auth, AuthLayer};

const ISSUER: &str = "https://auth.bench";
const AUDIENCE: &str = "https://api.bench";
/// The HS256 secret, shared with the peer process; as a string, since
/// jwt-authorizer takes one.
const HS256_SECRET: &str = "tokengate-axum throughput benchmark, HS256 secret";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A door over a key ring of `key` and API keys; a token and a key.
fn door(key: SigningKey) -> (Arc<Authenticator>, String, String) {
    let ring = Arc::new(KeyRing::new(key));
    let validator = Validator::builder(Arc::clone(&ring))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let format = ApiKeyFormat::new("bench").unwrap();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let key = ApiKeyIssuer::new(format.clone())
        .issue_into(
            &*store,
            NewApiKey::new("svc").scopes(ScopeSet::parse("orders:read").unwrap()),
        )
        .unwrap()
        .expose_secret()
        .to_owned();
    let token = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("user-1")
        .client_id("web")
        .scope("orders:read")
        // iss, aud, exp and nbf: what the peer checks too.
        .not_before(tokengate::time::OffsetDateTime::now_utc())
        .lifetime(tokengate::time::Duration::hours(1))
        .sign(&ring.current())
        .unwrap();
    let door = Authenticator::builder()
        .access_tokens(validator)
        .api_keys(ApiKeyVerifier::new(format, store))
        .build()
        .unwrap();
    (Arc::new(door), token, key)
}

/// Serves `app` on a one-worker runtime in its own thread; its URL.
fn serve(app: Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}/orders", rx.recv().unwrap())
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn load(url: &str, bearer: Option<&str>, connections: usize, secs: u64) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .build()
            .unwrap();
        // Warm up: connections open, caches filled.
        for _ in 0..200 {
            let mut req = client.get(url);
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            assert_eq!(req.send().await.unwrap().status(), 200);
        }
        let start = Instant::now();
        let until = start + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let client = client.clone();
            let url = url.to_owned();
            let bearer = bearer.map(str::to_owned);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < until {
                    let sent = Instant::now();
                    let mut req = client.get(&url);
                    if let Some(b) = &bearer {
                        req = req.bearer_auth(b);
                    }
                    let r = req.send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().await.unwrap();
                    latencies.push(sent.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        Run {
            requests: latencies.len(),
            elapsed: start.elapsed(),
            latencies,
        }
    })
}

/// The peer server process, stopped when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the peer binary at `bin`; the process and its base URL.
fn peer(bin: &str) -> (Peer, String) {
    let mut child = Command::new(bin)
        .env("BENCH_SECRET", HS256_SECRET)
        .env("BENCH_ISSUER", ISSUER)
        .env("BENCH_AUDIENCE", AUDIENCE)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("PEER_BIN={bin}: {e}"));
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("PEER_BIN={bin} printed no port: {port:?}"));
    (Peer(child), format!("http://127.0.0.1:{port}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass
    // nothing we need: run only when asked.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = env("BENCH_SECS", 5);
    let connections = env("BENCH_CONNECTIONS", 16) as usize;
    let (hs_door, hs_token, api_key) =
        door(SigningKey::hmac(Algorithm::HS256, HS256_SECRET.as_bytes()).unwrap());
    let (es_door, es_token, _) = door(SigningKey::generate(Algorithm::ES256).unwrap());

    let open = || Router::new().route("/orders", get(|| async { "orders" }));
    let protected = |door: Arc<Authenticator>| {
        Router::new()
            .route(
                "/orders",
                get(|Auth(p): Auth| async move { p.subject().unwrap_or("-").to_owned() }),
            )
            .layer(AuthLayer::new(door))
    };
    let mut cases: Vec<(&str, String, Option<String>)> = vec![
        ("no auth", serve(open()), None),
        // The same bytes on the wire as the HS256 case, nothing checked:
        // what the token costs the load generator and the HTTP stack.
        (
            "no auth, HS256 header sent",
            serve(open()),
            Some(hs_token.clone()),
        ),
        (
            "tokengate, HS256 token",
            serve(protected(hs_door.clone())),
            Some(hs_token.clone()),
        ),
        (
            "tokengate, API key",
            serve(protected(hs_door)),
            Some(api_key),
        ),
        (
            "tokengate, ES256 token",
            serve(protected(es_door)),
            Some(es_token),
        ),
    ];
    // Kept until the end of the run, then stopped.
    let _peer = std::env::var("PEER_BIN").ok().map(|bin| {
        let (process, base) = peer(&bin);
        // Its framework without authentication, with the HS256 header:
        // against the second row, what axum 0.7 and a process of its own
        // change before any token is checked.
        cases.push((
            "no auth (peer process, axum 0.7), HS256 header sent",
            format!("{base}/open"),
            Some(hs_token.clone()),
        ));
        cases.push((
            "jwt-authorizer 0.15, HS256 token",
            format!("{base}/orders"),
            Some(hs_token),
        ));
        process
    });

    // Rounds run every case in turn, so that a change in the machine's
    // load over the run falls on all cases alike rather than on the last.
    let rounds = env("BENCH_ROUNDS", 1).max(1);
    let mut runs: Vec<(Run, Vec<f64>)> = Vec::new();
    for _ in 0..rounds {
        for (i, (_, url, bearer)) in cases.iter().enumerate() {
            let run = load(url, bearer.as_deref(), connections, secs);
            let rps = run.requests as f64 / run.elapsed.as_secs_f64();
            match runs.get_mut(i) {
                None => runs.push((run, vec![rps])),
                Some((total, each)) => {
                    total.requests += run.requests;
                    total.elapsed += run.elapsed;
                    total.latencies.extend(run.latencies);
                    each.push(rps);
                }
            }
        }
    }

    println!(
        "{connections} connections, {rounds} round(s) of {secs} s per case, server and load generator one worker each\n"
    );
    let range = rounds > 1;
    if range {
        println!("| case | requests/s | rounds: min–max | vs no auth | p50 | p99 |");
        println!("|---|---:|---:|---:|---:|---:|");
    } else {
        println!("| case | requests/s | vs no auth | p50 | p99 |");
        println!("|---|---:|---:|---:|---:|");
    }
    let mut baseline = None;
    for ((name, _, _), (mut run, each)) in cases.into_iter().zip(runs) {
        run.latencies.sort();
        let rps = run.requests as f64 / run.elapsed.as_secs_f64();
        let base = *baseline.get_or_insert(rps);
        let spread = if range {
            let min = each.iter().copied().fold(f64::INFINITY, f64::min);
            let max = each.iter().copied().fold(0.0, f64::max);
            format!(" {min:.0}–{max:.0} |")
        } else {
            String::new()
        };
        println!(
            "| {name} | {rps:.0} |{spread} {:+.1} % | {:.0} µs | {:.0} µs |",
            (rps / base - 1.0) * 100.0,
            percentile(&run.latencies, 0.50).as_secs_f64() * 1e6,
            percentile(&run.latencies, 0.99).as_secs_f64() * 1e6,
        );
    }
}
