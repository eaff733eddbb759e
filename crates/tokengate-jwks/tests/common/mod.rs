//! A local identity provider for the tests: a real HTTP server on a
//! loopback port (tiny_http), serving a `KeyRing`'s JWK Set or whatever a
//! test tells it to, and counting the JWK Set requests.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokengate::keys::remote::KeySetPolicy;
use tokengate::time::Duration as TimeDuration;
use tokengate::{Algorithm, KeyRing, SigningKey, TokenBuilder, Validator};
use tokengate_jwks::RemoteJwks;

/// The `iss` of every token (validation does not depend on discovery).
pub const ISS: &str = "https://idp.test";
pub const AUD: &str = "api";

/// What the server answers on `/jwks`.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// The ring's JWK Set (or the fixed document), 200.
    Serve,
    /// This status, with a short body.
    Status(u16),
    /// Sleep this long, then serve (the client has given up by then).
    Hang(Duration),
    /// These bytes, 200.
    Body(Vec<u8>),
    /// This many spaces, 200, with or without a Content-Length.
    Huge { bytes: usize, declare_length: bool },
}

#[derive(Debug)]
pub struct State {
    pub ring: Option<Arc<KeyRing>>,
    pub document: Option<String>,
    pub cache_control: Option<String>,
    pub behavior: Behavior,
    /// Other paths: status and body.
    pub routes: HashMap<String, (u16, String)>,
    /// Paths answered with a 302 to this Location.
    pub redirects: HashMap<String, String>,
}

pub struct Idp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub state: Arc<Mutex<State>>,
    fetches: Arc<AtomicUsize>,
    fetch_times: Arc<Mutex<Vec<Instant>>>,
    huge_bytes_sent: Arc<Mutex<Vec<Arc<AtomicUsize>>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Counting<R> {
    inner: R,
    sent: Arc<AtomicUsize>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

impl Idp {
    /// A server publishing `ring`'s JWK Set at `/jwks`.
    pub fn start(ring: Option<Arc<KeyRing>>) -> Idp {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            ring,
            document: None,
            cache_control: None,
            behavior: Behavior::Serve,
            routes: HashMap::new(),
            redirects: HashMap::new(),
        }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let fetch_times = Arc::new(Mutex::new(Vec::new()));
        let huge_bytes_sent = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            let fetches = Arc::clone(&fetches);
            let fetch_times = Arc::clone(&fetch_times);
            let huge = Arc::clone(&huge_bytes_sent);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let state = Arc::clone(&state);
                    let fetches = Arc::clone(&fetches);
                    let fetch_times = Arc::clone(&fetch_times);
                    let huge = Arc::clone(&huge);
                    std::thread::spawn(move || {
                        answer(request, &state, &fetches, &fetch_times, &huge);
                    });
                }
            })
        };
        Idp {
            base: format!("http://127.0.0.1:{port}"),
            state,
            fetches,
            fetch_times,
            huge_bytes_sent,
            server,
            thread: Some(thread),
        }
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.base)
    }

    /// JWK Set requests so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    pub fn fetch_times(&self) -> Vec<Instant> {
        self.fetch_times.lock().unwrap().clone()
    }

    /// For each oversized response so far, the bytes the server managed
    /// to send.
    pub fn huge_bytes_sent(&self) -> Vec<usize> {
        self.huge_bytes_sent
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }

    pub fn set_behavior(&self, behavior: Behavior) {
        self.state.lock().unwrap().behavior = behavior;
    }

    pub fn set_document(&self, document: impl Into<String>) {
        self.state.lock().unwrap().document = Some(document.into());
    }

    pub fn set_cache_control(&self, value: Option<&str>) {
        self.state.lock().unwrap().cache_control = value.map(str::to_owned);
    }

    pub fn route(&self, path: &str, status: u16, body: impl Into<String>) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), (status, body.into()));
    }

    pub fn redirect(&self, path: &str, location: &str) {
        self.state
            .lock()
            .unwrap()
            .redirects
            .insert(path.to_owned(), location.to_owned());
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

fn answer(
    request: tiny_http::Request,
    state: &Mutex<State>,
    fetches: &AtomicUsize,
    fetch_times: &Mutex<Vec<Instant>>,
    huge: &Mutex<Vec<Arc<AtomicUsize>>>,
) {
    let path = request.url().split('?').next().unwrap_or("").to_owned();
    if path == "/jwks" {
        fetches.fetch_add(1, Ordering::SeqCst);
        fetch_times.lock().unwrap().push(Instant::now());
        let (behavior, body, cache_control) = {
            let s = state.lock().unwrap();
            let body = match (&s.document, &s.ring) {
                (Some(d), _) => d.clone(),
                (None, Some(ring)) => ring.jwks().to_json(),
                (None, None) => r#"{"keys":[]}"#.to_owned(),
            };
            (s.behavior.clone(), body, s.cache_control.clone())
        };
        let json = |body: Vec<u8>| {
            let mut r = tiny_http::Response::from_data(body)
                .with_header(header("Content-Type", "application/json"));
            if let Some(cc) = &cache_control {
                r = r.with_header(header("Cache-Control", cc));
            }
            r
        };
        let _ = match behavior {
            Behavior::Serve => request.respond(json(body.into_bytes())),
            Behavior::Status(code) => request.respond(
                tiny_http::Response::from_string("the provider is having a bad day")
                    .with_status_code(code),
            ),
            Behavior::Hang(d) => {
                std::thread::sleep(d);
                request.respond(json(body.into_bytes()))
            }
            Behavior::Body(bytes) => request.respond(json(bytes)),
            Behavior::Huge {
                bytes,
                declare_length,
            } => {
                let sent = Arc::new(AtomicUsize::new(0));
                huge.lock().unwrap().push(Arc::clone(&sent));
                let reader = Counting {
                    inner: std::io::repeat(b' ').take(bytes as u64),
                    sent,
                };
                request.respond(tiny_http::Response::new(
                    tiny_http::StatusCode(200),
                    vec![header("Content-Type", "application/json")],
                    reader,
                    declare_length.then_some(bytes),
                    None,
                ))
            }
        };
        return;
    }
    let (redirect, route) = {
        let s = state.lock().unwrap();
        (
            s.redirects.get(&path).cloned(),
            s.routes.get(&path).cloned(),
        )
    };
    let _ = if let Some(location) = redirect {
        request.respond(tiny_http::Response::empty(302).with_header(header("Location", &location)))
    } else if let Some((status, body)) = route {
        request.respond(
            tiny_http::Response::from_string(body)
                .with_status_code(status)
                .with_header(header("Content-Type", "application/json")),
        )
    } else {
        request.respond(tiny_http::Response::from_string("not found").with_status_code(404))
    };
}

/// An ES256 key with this `kid`.
pub fn key(kid: &str) -> SigningKey {
    SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id(kid)
}

pub fn ring(kid: &str) -> Arc<KeyRing> {
    Arc::new(KeyRing::new(key(kid)))
}

/// A token signed by `key`, valid for five minutes.
pub fn token(key: &SigningKey) -> String {
    TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject("user-1")
        .lifetime(TimeDuration::minutes(5))
        .sign(key)
        .unwrap()
}

pub fn validator(jwks: &RemoteJwks) -> Validator {
    Validator::builder(jwks.key_set())
        .issuer(ISS)
        .audience(AUD)
        .danger_accept_any_type()
        .build()
        .unwrap()
}

/// A policy for tests: no scheduled refresh within a test's run (a minute),
/// a one-second cooldown, short timeouts.
pub fn quiet_policy(cooldown_secs: i64) -> KeySetPolicy {
    let mut p = KeySetPolicy::default();
    p.min_age = TimeDuration::seconds(60);
    p.default_age = TimeDuration::seconds(60);
    p.max_age = TimeDuration::seconds(120);
    p.unknown_key_cooldown = TimeDuration::seconds(cooldown_secs);
    p.retry_after = TimeDuration::seconds(1);
    p.fetch_timeout = TimeDuration::seconds(2);
    p
}

/// Polls `cond` every 20 ms until it holds; panics after `secs` seconds
/// (a generous deadline, never an expectation of speed).
pub fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sleeps past the cooldown counted from the last successful fetch (the
/// policy counts whole Unix seconds).
pub fn sleep_past_cooldown(cooldown_secs: u64) {
    std::thread::sleep(Duration::from_millis(cooldown_secs * 1000 + 1100));
}
