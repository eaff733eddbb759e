//! An identity provider that rotates its signing key every few seconds, and
//! an API that follows its JWK Set with `RemoteJwks`.
//!
//! The provider (a `KeyRing` behind a tiny HTTP server on a loopback port)
//! rotates in three steps: stage the next key (published, not signing),
//! promote it once the validators' longest cache age has passed, prune the
//! old key after the longest token lifetime. Meanwhile a client sends a
//! token signed with the current key every few milliseconds, validated
//! without any wait: not one is rejected. Last, an unstaged rotation (the
//! provider signs with a new key at once) is ridden out by
//! `validate_blocking`, with one refetch.
//!
//! ```text
//! cargo run -p tokengate-jwks --example remote_jwks
//! ```
//!
//! It checks its own outcomes and exits non-zero on a wrong one.

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokengate::keys::remote::KeySetPolicy;
use tokengate::time::Duration as TimeDuration;
use tokengate::{Algorithm, KeyRing, SigningKey, TokenBuilder, Validator};
use tokengate_jwks::RemoteJwks;

const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "https://api.example.com";
/// The validators' longest cache age, as the provider assumes it.
const MAX_CACHE_AGE: u64 = 2;
/// The longest token lifetime.
const TOKEN_LIFETIME: i64 = 3;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

fn check(ok: bool, what: &str) -> Result<()> {
    if ok { Ok(()) } else { Err(what.into()) }
}

fn key(n: u32) -> Result<SigningKey> {
    Ok(SigningKey::generate(Algorithm::ES256)?.with_key_id(format!("key-{n}")))
}

fn mint(key: &SigningKey) -> Result<String> {
    Ok(TokenBuilder::new()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("user-42")
        .lifetime(TimeDuration::seconds(TOKEN_LIFETIME))
        .sign(key)?)
}

/// The provider's JWK Set endpoint: `GET /jwks`, with a `Cache-Control`
/// max-age of one second.
fn serve(ring: Arc<KeyRing>, fetches: Arc<AtomicUsize>) -> Result<String> {
    let server = tiny_http::Server::http("127.0.0.1:0")?;
    let port = server
        .server_addr()
        .to_ip()
        .ok_or("the server has no IP address")?
        .port();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let response = if request.url() == "/jwks" {
                fetches.fetch_add(1, Ordering::SeqCst);
                let mut response = tiny_http::Response::from_string(ring.jwks().to_json());
                for (name, value) in [
                    ("Content-Type", "application/json"),
                    ("Cache-Control", "public, max-age=1"),
                ] {
                    if let Ok(header) = tiny_http::Header::from_bytes(name, value) {
                        response.add_header(header);
                    }
                }
                response
            } else {
                tiny_http::Response::from_string("not found").with_status_code(404)
            };
            let _ = request.respond(response);
        }
    });
    Ok(format!("http://127.0.0.1:{port}/jwks"))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("FAILED: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let started = Instant::now();
    let ring = Arc::new(KeyRing::new(key(1)?));
    let fetches = Arc::new(AtomicUsize::new(0));
    let jwks_uri = serve(Arc::clone(&ring), Arc::clone(&fetches))?;
    println!("issuer:    serving {jwks_uri}, signing with key-1");

    // The API side: refresh as Cache-Control says, between 1 and 2 s; a
    // one-second cooldown on unknown kids.
    let mut policy = KeySetPolicy::default();
    policy.min_age = TimeDuration::seconds(1);
    policy.default_age = TimeDuration::seconds(1);
    policy.max_age = TimeDuration::seconds(MAX_CACHE_AGE as i64);
    policy.unknown_key_cooldown = TimeDuration::seconds(1);
    policy.fetch_timeout = TimeDuration::seconds(2);
    let jwks = RemoteJwks::from_jwks_uri(jwks_uri.clone())
        // A loopback server without TLS: for this example only.
        .danger_allow_http()
        .policy(policy)
        .build()?;
    jwks.wait_ready(Duration::from_secs(10))?;
    let validator = Validator::builder(jwks.key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .danger_accept_any_type()
        .build()?;
    println!(
        "validator: ready with {} key(s) after {} fetch(es)",
        jwks.status().keys,
        fetches.load(Ordering::SeqCst)
    );

    // A client: a fresh token from the current key every 5 ms, validated
    // with no wait at all.
    let stop = AtomicBool::new(false);
    let validated = AtomicUsize::new(0);
    let rejected: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let current = ring.current();
                match mint(&current).map(|t| validator.validate(&t)) {
                    Ok(Ok(_)) => {
                        validated.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        if let Ok(mut r) = rejected.lock() {
                            r.push(format!("{}: {e}", current.key_id()));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut r) = rejected.lock() {
                            r.push(format!("minting: {e}"));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let result = rotate_staged(&ring, &jwks, &fetches);
        stop.store(true, Ordering::Relaxed);
        result
    })?;
    let rejected = rejected.into_inner().map_err(|_| "poisoned")?;
    println!(
        "client:    {} tokens validated during three staged rotations, {} rejected",
        validated.load(Ordering::Relaxed),
        rejected.len()
    );
    check(
        rejected.is_empty(),
        &format!("tokens were rejected during staged rotations: {rejected:?}"),
    )?;
    check(
        validated.load(Ordering::Relaxed) > 0,
        "no token was validated",
    )?;

    let status = jwks.status();
    println!(
        "status:    {} keys, {} fetches, {} failures, serving: {}",
        status.keys, status.fetches, status.failures, status.serving
    );
    check(status.failures == 0, "a fetch failed")?;
    jwks.shutdown();

    // An unstaged rotation, seen by an API that keeps the set for a minute:
    // the provider signs with key-5 at once.
    policy.min_age = TimeDuration::seconds(60);
    policy.default_age = TimeDuration::seconds(60);
    policy.max_age = TimeDuration::seconds(60);
    let jwks = RemoteJwks::from_jwks_uri(jwks_uri)
        .danger_allow_http()
        .policy(policy)
        .build()?;
    jwks.wait_ready(Duration::from_secs(10))?;
    let validator = Validator::builder(jwks.key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .danger_accept_any_type()
        .build()?;
    // Past the unknown-kid cooldown since its first fetch.
    std::thread::sleep(Duration::from_millis(2100));
    ring.rotate(key(5)?, TimeDuration::seconds(TOKEN_LIFETIME))?;
    println!("issuer:    rotated to key-5 at once (not staged)");
    let token = mint(&ring.current())?;
    let before = fetches.load(Ordering::SeqCst);
    let plain = validator.validate(&token);
    println!(
        "validator: a plain validation says {}",
        match &plain {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.kind().to_string(),
        }
    );
    check(plain.is_err(), "the new kid was known before any refetch")?;
    let verified = jwks.validate_blocking(&validator, &token)?;
    let refetches = fetches.load(Ordering::SeqCst) - before;
    println!(
        "validator: validate_blocking accepted {:?} after {refetches} refetch",
        verified.subject()
    );
    check(refetches == 1, "not exactly one refetch for one new kid")?;
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Three rotations in three steps each.
fn rotate_staged(ring: &KeyRing, jwks: &RemoteJwks, fetches: &AtomicUsize) -> Result<()> {
    for n in 2..=4 {
        let kid = format!("key-{n}");
        // 1. Publish the next key; keep signing with the current one.
        ring.stage(key(n)?)?;
        let staged_at = Instant::now();
        println!("issuer:    staged {kid} (published, not signing yet)");
        // The validator's scheduled refresh picks it up.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = jwks
                .last_good_document()
                .is_some_and(|(doc, _)| doc.contains(&format!("\"{kid}\"")));
            if seen {
                break;
            }
            check(
                Instant::now() < deadline,
                &format!("{kid} never reached the validator"),
            )?;
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "validator: picked up {kid} by its scheduled refresh (fetch #{})",
            fetches.load(Ordering::SeqCst)
        );
        // 2. After the longest cache age, sign with it.
        let wait = Duration::from_secs(MAX_CACHE_AGE).saturating_sub(staged_at.elapsed());
        std::thread::sleep(wait + Duration::from_millis(200));
        ring.promote(TimeDuration::seconds(TOKEN_LIFETIME))?;
        println!("issuer:    promoted {kid}: new tokens are signed with it");
        // 3. The old key retires after the longest token lifetime;
        //    prune() drops it from the published set.
        ring.prune();
    }
    Ok(())
}
