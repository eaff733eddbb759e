//! Requests per second, latency and server CPU time per request of one
//! protected route on loopback: no authentication, then the tokengate
//! layer with an HS256 token (with and without the validator's
//! verified-token cache), an API key and an ES256 token.
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
//! Requests per second move with everything else on a shared machine. The
//! server's CPU time per request (user + system time of the server's
//! threads, from `/proc`, divided by the requests served) moves far less:
//! it is what the layer adds to each request, and what limits throughput
//! once the server's core is busy. The last column compares it with the
//! row that sends the same bytes to a route without the layer.
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
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tokengate::{Algorithm, Authenticator, SigningKey};
use tokengate_axum::{Auth, AuthLayer};

use common::{AUDIENCE, ISSUER, door};

mod common;

/// The HS256 secret, shared with the peer process; as a string, since
/// jwt-authorizer takes one.
const HS256_SECRET: &str = "tokengate-axum throughput benchmark, HS256 secret";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A row: name, server (URL and CPU), bearer, and the row it is compared
/// with.
type Case = (&'static str, (String, Cpu), Option<String>, Option<usize>);

/// Where a server's CPU time is read: the `stat` files of its threads.
#[derive(Clone, Default)]
struct Cpu(Arc<Mutex<Vec<PathBuf>>>);

impl Cpu {
    /// Adds the calling thread.
    fn add_this_thread(&self) {
        let task = std::fs::read_link("/proc/thread-self").unwrap();
        self.0
            .lock()
            .unwrap()
            .push(PathBuf::from("/proc").join(task).join("stat"));
    }

    /// A whole process.
    fn process(pid: u32) -> Self {
        Self(Arc::new(Mutex::new(vec![PathBuf::from(format!(
            "/proc/{pid}/stat"
        ))])))
    }

    /// User plus system time so far, in clock ticks.
    fn ticks(&self) -> u64 {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|path| {
                let stat = std::fs::read_to_string(path).unwrap();
                // Fields after the command name: state is the 3rd field
                // of stat(5), utime the 14th, stime the 15th.
                let rest = &stat[stat.rfind(')').unwrap() + 1..];
                let fields: Vec<&str> = rest.split_whitespace().collect();
                fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
            })
            .sum()
    }
}

/// Serves `app` on a one-worker runtime in its own thread; its URL and
/// where its CPU time is read.
fn serve(app: Router) -> (String, Cpu) {
    let (tx, rx) = std::sync::mpsc::channel();
    let cpu = Cpu::default();
    let threads = cpu.clone();
    std::thread::spawn(move || {
        threads.add_this_thread();
        let workers = threads.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_start(move || workers.add_this_thread())
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{}/orders", rx.recv().unwrap()), cpu)
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

/// Starts the peer binary at `bin`; the process, its base URL and its CPU.
fn peer(bin: &str) -> (Peer, String, Cpu) {
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
    let cpu = Cpu::process(child.id());
    (Peer(child), format!("http://127.0.0.1:{port}"), cpu)
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
    let hs256 = || SigningKey::hmac(Algorithm::HS256, HS256_SECRET.as_bytes()).unwrap();
    let (hs_door, hs_token, api_key) = door(hs256(), false);
    let (cached_door, cached_token, _) = door(hs256(), true);
    let (es_door, es_token, _) = door(SigningKey::generate(Algorithm::ES256).unwrap(), false);

    let open = || Router::new().route("/orders", get(|| async { "orders" }));
    let protected = |door: Arc<Authenticator>| {
        Router::new()
            .route(
                "/orders",
                get(|Auth(p): Auth| async move { p.subject().unwrap_or("-").to_owned() }),
            )
            .layer(AuthLayer::new(door))
    };
    // Name, server, bearer, and the row whose CPU per request it is
    // compared with (the same bytes to a route without the layer).
    let mut cases: Vec<Case> = vec![
        ("no auth", serve(open()), None, None),
        // The same bytes on the wire as the HS256 case, nothing checked:
        // what the token costs the load generator and the HTTP stack.
        (
            "no auth, HS256 header sent",
            serve(open()),
            Some(hs_token.clone()),
            None,
        ),
        (
            "tokengate, HS256 token",
            serve(protected(hs_door.clone())),
            Some(hs_token.clone()),
            Some(1),
        ),
        (
            "tokengate, HS256 token, verified-token cache",
            serve(protected(cached_door)),
            Some(cached_token),
            Some(1),
        ),
        (
            "tokengate, API key",
            serve(protected(hs_door)),
            Some(api_key),
            None,
        ),
        (
            "tokengate, ES256 token",
            serve(protected(es_door)),
            Some(es_token),
            Some(1),
        ),
    ];
    // Kept until the end of the run, then stopped.
    let _peer = std::env::var("PEER_BIN").ok().map(|bin| {
        let (process, base, cpu) = peer(&bin);
        let open_row = cases.len();
        // Its framework without authentication, with the HS256 header:
        // against the second row, what axum 0.7 and a process of its own
        // change before any token is checked.
        cases.push((
            "no auth (peer process, axum 0.7), HS256 header sent",
            (format!("{base}/open"), cpu.clone()),
            Some(hs_token.clone()),
            None,
        ));
        cases.push((
            "jwt-authorizer 0.15, HS256 token",
            (format!("{base}/orders"), cpu),
            Some(hs_token),
            Some(open_row),
        ));
        process
    });

    // Rounds run every case in turn, so that a change in the machine's
    // load over the run falls on all cases alike rather than on the last.
    let rounds = env("BENCH_ROUNDS", 1).max(1);
    let mut runs: Vec<(Run, Vec<f64>, u64)> = Vec::new();
    for _ in 0..rounds {
        for (i, (_, (url, cpu), bearer, _)) in cases.iter().enumerate() {
            let before = cpu.ticks();
            let run = load(url, bearer.as_deref(), connections, secs);
            let ticks = cpu.ticks() - before;
            let rps = run.requests as f64 / run.elapsed.as_secs_f64();
            match runs.get_mut(i) {
                None => runs.push((run, vec![rps], ticks)),
                Some((total, each, total_ticks)) => {
                    total.requests += run.requests;
                    total.elapsed += run.elapsed;
                    total.latencies.extend(run.latencies);
                    each.push(rps);
                    *total_ticks += ticks;
                }
            }
        }
    }
    // Clock ticks per second: 100 on Linux unless configured otherwise;
    // the comparison column does not depend on it.
    let tick = 1e6 / 100.0;
    let cpu_per_request: Vec<f64> = runs
        .iter()
        .map(|(run, _, ticks)| *ticks as f64 * tick / run.requests as f64)
        .collect();

    println!(
        "{connections} connections, {rounds} round(s) of {secs} s per case, server and load generator one worker each\n"
    );
    let range = rounds > 1;
    if range {
        println!(
            "| case | requests/s | rounds: min–max | vs no auth | p50 | p99 | server CPU/request | CPU vs same bytes, no layer |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    } else {
        println!(
            "| case | requests/s | vs no auth | p50 | p99 | server CPU/request | CPU vs same bytes, no layer |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
    }
    let mut baseline = None;
    for (i, ((name, _, _, against), (mut run, each, _))) in cases.into_iter().zip(runs).enumerate()
    {
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
        let cpu = cpu_per_request[i];
        let layer = match against {
            Some(row) => format!("{:+.1} %", (cpu / cpu_per_request[row] - 1.0) * 100.0),
            None => "".to_owned(),
        };
        println!(
            "| {name} | {rps:.0} |{spread} {:+.1} % | {:.0} µs | {:.0} µs | {cpu:.1} µs | {layer} |",
            (rps / base - 1.0) * 100.0,
            percentile(&run.latencies, 0.50).as_secs_f64() * 1e6,
            percentile(&run.latencies, 0.99).as_secs_f64() * 1e6,
        );
    }
}
