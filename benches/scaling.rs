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

use tokengate::RevocationList;

mod common;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (window, rounds) = if full {
        (Duration::from_secs(2), 5)
    } else {
        (Duration::from_millis(50), 1)
    };
    let (validator, token) = common::hs256(Some(Arc::new(RevocationList::new())));

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
