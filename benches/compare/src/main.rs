//! Side-by-side comparison, in one run, on identical tokens and keys:
//! ring alone, the ring + base64 + serde_json floor, tokengate,
//! jsonwebtoken 11 (aws-lc-rs and RustCrypto backends) and jwt-simple 0.15
//! (pure Rust).
//!
//! ```sh
//! cargo run --release --manifest-path benches/compare/Cargo.toml            # full, a minute or two
//! cargo run --release --manifest-path benches/compare/Cargo.toml -- --quick # smoke test, seconds
//! ```
//!
//! `QUICK=1` in the environment does the same as `--quick`. Prints the
//! tables and the machine, and writes `results/results.md` and
//! `results/chart.svg` beside this package's `Cargo.toml`.
//!
//! Every validator checks the signature, `exp`, `nbf`, `iss` and `aud` and
//! deserializes the claims into a typed struct; the floor and ring columns
//! check nothing but the signature. Each row's libraries are interleaved
//! round by round; the number shown is the median time per operation.

#![allow(clippy::print_stdout)]

mod alloc_count;
mod chart;
mod fixtures;
mod harness;
mod js;
mod jwt_rs;
mod report;
mod ring_floor;
mod rows;
mod tg;

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use harness::{Col, Config};
use report::{Results, RowResult};

#[global_allocator]
static ALLOC: alloc_count::Counting = alloc_count::Counting;

/// The error type of the binary: anything, reported at the end.
pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A token minter: one call, one compact token.
pub(crate) type Signer = Box<dyn FnMut() -> Res<String>>;

/// About a minute of measuring on a 2-core machine.
const FULL: Config = Config {
    samples: 51,
    batch: Duration::from_millis(15),
    warmup: Duration::from_millis(200),
};

/// A few seconds: a smoke test, numbers within a few percent at best.
const QUICK: Config = Config {
    samples: 15,
    batch: Duration::from_millis(3),
    warmup: Duration::from_millis(30),
};

fn main() -> Res<()> {
    let started = Instant::now();
    let quick_flag = std::env::args().skip(1).any(|a| a == "--quick");
    let quick_env = std::env::var("QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let quick = quick_flag || quick_env;
    let cfg = if quick { QUICK } else { FULL };
    let command = format!(
        "{}cargo run --release --manifest-path benches/compare/Cargo.toml{}",
        if quick_env { "QUICK=1 " } else { "" },
        if quick_flag { " -- --quick" } else { "" }
    );

    jwt_rs::install_provider()?;
    let keys = Rc::new(fixtures::RingKeys::load()?);
    let run_start = fixtures::now_unix();
    let mut rows = rows::all(&keys, run_start)?;
    for row in &mut rows {
        harness::check(row)?;
    }
    eprintln!(
        "all {} rows checked: every library accepts the valid tokens, rejects the bad ones, \
         and every minted token validates with tokengate",
        rows.len()
    );

    let mut results = Results { rows: Vec::new() };
    for row in &mut rows {
        eprintln!("measuring {}", row.name);
        let cells = harness::measure(row, cfg);
        results.rows.push(RowResult {
            name: row.name,
            cells,
        });
    }

    let medians = report::medians_table(&results);
    let ratios = report::ratios_table(&results);
    let allocs = report::allocs_table(&results);
    let spread = report::spread_table(&results);
    let machine = report::machine();
    let elapsed = started.elapsed().as_secs_f64();
    let mode = if quick {
        "quick (smoke test: few samples, numbers are rough)"
    } else {
        "full"
    };
    let settings = format!(
        "{mode}: {} samples per cell, batches of ~{} ms, {} ms warm-up; run took {elapsed:.0} s",
        cfg.samples,
        cfg.batch.as_millis(),
        cfg.warmup.as_millis()
    );
    let hs = results.rows.first();
    let alloc_line = |col: Col| {
        hs.and_then(|r| r.get(col)).map_or_else(
            || "—".to_owned(),
            |s| format!("{} allocations, {} bytes", s.allocs, s.alloc_bytes),
        )
    };
    let alloc_summary = format!(
        "Allocations per HS256 validation: tokengate {}; floor {}.",
        alloc_line(Col::Tokengate),
        alloc_line(Col::Floor)
    );

    println!("## Median time per operation\n\n{medians}");
    println!("## Ratios (below 1: tokengate is faster)\n\n{ratios}");
    println!("## Allocations\n\n{alloc_summary}\n\n{allocs}");
    println!("## Machine\n\n{machine}- command: `{command}`\n- {settings}\n");

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let date = time::OffsetDateTime::now_utc().date();
    let md = format!(
        "# tokengate side by side\n\n\
         Same tokens, same keys, one run ({date}). Every validator checks the \
         signature, `exp`, `nbf`, `iss` and `aud` and deserializes the claims \
         into a typed struct. \"ring primitive\" is the bare signature \
         operation on pre-split, pre-decoded input; \"floor\" is ring + base64 + \
         serde_json splitting, decoding and deserializing header and claims \
         with no policy checks. Sign rows read the clock and serialize the \
         claims on every call, with a fixed `jti`. Medians over interleaved \
         samples; read the ratios, not the absolute times.\n\n\
         ## Median time per operation\n\n{medians}\n\
         ## Ratios (below 1: tokengate is faster)\n\n{ratios}\n\
         ## Allocations\n\n{alloc_summary}\n\n{allocs}\n\
         ## Noise\n\n{spread}\n\
         ## Machine\n\n{machine}- command: `{command}`\n- {settings}\n"
    );
    std::fs::write(dir.join("results.md"), md)?;
    let (cpu, cores) = report::cpu();
    chart::draw(
        &results,
        &dir.join("chart.svg"),
        "tokengate side by side: median time per operation (lower is better)",
        &format!("{date} · {cpu}, {cores} cores · {settings} · {command}"),
    )?;
    eprintln!("wrote {}", dir.display());
    Ok(())
}
