//! HS256 validations per second with one and with two threads sharing one
//! validator (one key store, one revocation list), with the system
//! allocator: `benches/memory.rs` counts every allocation in shared
//! counters, which two threads would fight over.
//!
//! `cargo bench --bench scaling` runs five rounds of one thread then two,
//! two seconds each, and reports the median of each and their ratio
//! (rounds interleave, so a change in the machine's load over the run
//! falls on both). Under `cargo test --benches` it runs briefly, as a
//! smoke test. Not a test of time: it asserts nothing about speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokengate::testing::clock_at;
use tokengate::{Algorithm, RevocationList, SigningKey, SingleKeyStore, TokenBuilder, Validator};

const NOW: i64 = 1_750_000_000;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (window, rounds) = if full {
        (Duration::from_secs(2), 5)
    } else {
        (Duration::from_millis(50), 1)
    };
    let key = SigningKey::hmac(Algorithm::HS256, &[0x42; 32]).unwrap();
    let validator = Validator::builder(SingleKeyStore::new(key.verifying_key()))
        .danger_accept_any_type()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .revocation(Arc::new(RevocationList::new()))
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let token = TokenBuilder::new()
        .issuer("https://auth.example.com")
        .subject("user-1234567890")
        .audience("https://api.example.com")
        .scope("orders:read orders:write profile")
        .clock(clock_at(NOW - 5))
        .sign(&key)
        .unwrap();
    validator.validate(&token).unwrap();

    let run = |threads: usize| -> f64 {
        let start = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut count = 0u64;
                        while start.elapsed() < window {
                            for _ in 0..256 {
                                validator.validate(&token).unwrap();
                            }
                            count += 256;
                        }
                        count
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        total as f64 / start.elapsed().as_secs_f64()
    };
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        one.push(run(1));
        two.push(run(2));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one, two) = (median(&mut one), median(&mut two));
    println!("| measure | value |");
    println!("|---|---|");
    println!("| HS256 validations/s, 1 thread (median of {rounds}) | {one:.0} |");
    println!("| HS256 validations/s, 2 threads (median of {rounds}) | {two:.0} |");
    println!("| 2-thread / 1-thread throughput | {:.2}x |", two / one);
}
