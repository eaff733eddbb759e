//! HS256 validations per second with one and with two threads sharing one
//! validator (one key store, one revocation list), for each of the key
//! stores an HS256 key can live in, with the system
//! allocator: `benches/memory.rs` counts every allocation in shared
//! counters, which two threads would fight over.
//!
//! `cargo bench --bench scaling` runs, per store, five rounds of one thread
//! then two, two seconds each, and reports the median of each and their ratio
//! (rounds interleave, so a change in the machine's load over the run
//! falls on both). Under `cargo test --benches` it runs briefly, as a
//! smoke test. Not a test of time: it asserts nothing about speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokengate::RevocationList;

mod common;

use common::Store;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (window, rounds) = if full {
        (Duration::from_secs(2), 5)
    } else {
        (Duration::from_millis(50), 1)
    };
    println!(
        "| key store | 1 thread, validations/s (median of {rounds}) | 2 threads | 2 threads ÷ 1 |"
    );
    println!("|---|---:|---:|---:|");
    for store in [Store::Single, Store::KeySet, Store::Ring] {
        let (one, two) = measure(store, window, rounds);
        println!("| {store:?} | {one:.0} | {two:.0} | {:.2}x |", two / one);
    }
}

/// Median validations per second with one and with two threads, over
/// `rounds` interleaved rounds of `window` each.
fn measure(store: Store, window: Duration, rounds: usize) -> (f64, f64) {
    let (validator, token) = common::hs256_in(store, Some(Arc::new(RevocationList::new())));

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
    (median(&mut one), median(&mut two))
}
