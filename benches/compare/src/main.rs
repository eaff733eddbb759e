//! Side-by-side comparison, in one run, on identical tokens and keys:
//! ring alone, the ring + base64 + serde_json floor, tokengate (ring, and
//! aws-lc-rs in a worker process), oxitoken 0.1 (a worker process),
//! jsonwebtoken 12 (aws-lc-rs and RustCrypto backends) and jwt-simple 0.15
//! (pure Rust); median time per operation and, with `--callgrind`,
//! instructions per operation.
//!
//! ```sh
//! bash benches/compare/run.sh            # everything: workers built, times, callgrind counts
//! bash benches/compare/run.sh --quick    # smoke test
//! cargo run --release --manifest-path benches/compare/Cargo.toml -- --quick  # in-process columns only
//! ```
//!
//! Flags: `--quick` (or `QUICK=1`), `--callgrind`, `--worker COL=PATH`
//! (`tokengate-aws-lc-rs=…`, `oxitoken=…`). The worker modes (`cell`,
//! `serve`) are described in `src/worker.rs`; `input ROW` prints a row's
//! input for them (a token signed now, or `-`). Prints the tables and the
//! machine, and writes `results/results.md` and `results/chart.svg` beside
//! this package's `Cargo.toml`.

#![allow(clippy::print_stdout)]

mod alloc_count;
mod callgrind;
mod chart;
mod external;
mod fixtures;
mod harness;
mod js;
mod jwt_rs;
mod report;
mod ring_floor;
mod rows;
mod shared;
mod tg;
mod worker;

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use external::Worker;
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

/// The main binary's options.
struct Options {
    quick: bool,
    quick_env: bool,
    callgrind: bool,
    workers: Vec<Worker>,
}

fn options(argv: &[String]) -> Res<Options> {
    let quick_env = std::env::var("QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut o = Options {
        quick: quick_env,
        quick_env,
        callgrind: false,
        workers: Vec::new(),
    };
    let mut args = argv.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--callgrind" => o.callgrind = true,
            "--worker" => {
                let w = args.next().ok_or("--worker needs COL=PATH")?;
                o.workers.push(Worker::parse(w)?);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(o)
}

/// `cell` and `serve`: one of this binary's cells, alone.
fn worker_main(args: &worker::Args) -> Res<()> {
    let spec = shared::row_spec(&args.row).ok_or_else(|| format!("unknown row {}", args.row))?;
    let col = Col::from_key(&args.col).ok_or_else(|| format!("unknown column {}", args.col))?;
    let keys = Rc::new(fixtures::RingKeys::load()?);
    let row = rows::build(&keys, spec, &args.input, args.nbf)?;
    let op = row
        .cells
        .into_iter()
        .find(|c| c.col == col)
        .map(|c| c.bench.into_op());
    worker::run(args, op)
}

fn main() -> Res<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    jwt_rs::install_provider()?;
    if let Some(args) = worker::parse(&argv) {
        return worker_main(&args?);
    }
    if let [mode, row] = argv.as_slice()
        && mode == "input"
    {
        // `input ROW`: a row's INPUT for `cell`, signed now.
        let keys = fixtures::RingKeys::load()?;
        let inputs = rows::inputs(&keys, shared::now_unix())?;
        let (_, input) = inputs
            .iter()
            .find(|(spec, _)| spec.key == row)
            .ok_or_else(|| format!("unknown row {row}"))?;
        println!("{input}");
        return Ok(());
    }
    let started = Instant::now();
    let opts = options(&argv)?;
    let cfg = if opts.quick { QUICK } else { FULL };
    let command = std::env::var("COMPARE_COMMAND").unwrap_or_else(|_| {
        format!(
            "{}cargo run --release --manifest-path benches/compare/Cargo.toml -- {}",
            if opts.quick_env { "QUICK=1 " } else { "" },
            argv.join(" ")
        )
        .trim_end_matches(" -- ")
        .to_owned()
    });

    let keys = Rc::new(fixtures::RingKeys::load()?);
    let run_start = shared::now_unix();
    let nbf = fixtures::run_nbf(run_start);
    let mut rows = Vec::new();
    for (spec, input) in rows::inputs(&keys, run_start)? {
        let mut row = rows::build(&keys, spec, &input, nbf)?;
        for w in &opts.workers {
            row.cells.extend(w.start(spec.key, nbf, &input)?);
        }
        row.cells
            .sort_by_key(|c| Col::ALL.iter().position(|k| *k == c.col));
        rows.push(row);
    }
    for row in &mut rows {
        harness::check(row)?;
    }
    eprintln!(
        "all {} rows checked: every library accepts the valid tokens, rejects the bad ones, \
         and every token minted in this process validates with tokengate",
        rows.len()
    );

    let mut results = Results { rows: Vec::new() };
    for row in &mut rows {
        eprintln!("measuring {}", row.spec.name);
        let cells = harness::measure(row, cfg);
        results.rows.push(RowResult {
            name: row.spec.name,
            cells,
        });
    }
    let timed = started.elapsed().as_secs_f64();

    if opts.callgrind {
        eprintln!("counting instructions under callgrind");
        let me = std::env::current_exe()?;
        let mut jobs = Vec::new();
        let mut slots = Vec::new();
        for (i, (row, result)) in rows.iter().zip(&results.rows).enumerate() {
            for (j, (col, stats)) in result.cells.iter().enumerate() {
                let tail = vec![row.nbf.to_string(), row.input.clone()];
                let (exe, head) = match opts.workers.iter().find(|w| w.col == *col) {
                    Some(w) => {
                        let mut a = w.args("cell", row.spec.key, None, row.nbf, &row.input);
                        a.truncate(3);
                        (w.exe.clone(), a)
                    }
                    None => (
                        me.clone(),
                        vec![
                            "cell".to_owned(),
                            row.spec.key.to_owned(),
                            col.key().to_owned(),
                        ],
                    ),
                };
                jobs.push(callgrind::Job {
                    what: format!("{} / {}", row.spec.name, col.label()),
                    exe,
                    head,
                    tail,
                    median_ns: stats.median_ns,
                });
                slots.push((i, j));
            }
        }
        drop(rows);
        for ((i, j), r) in slots.into_iter().zip(callgrind::count_all(&jobs)) {
            let r = r.map_err(|e| format!("callgrind: {e}"))?;
            if let Some((_, stats)) = results.rows.get_mut(i).and_then(|row| row.cells.get_mut(j)) {
                stats.instructions = Some(r);
            }
        }
    }

    let medians = report::medians_table(&results);
    let instructions = report::instructions_table(&results);
    let floor_ratios = report::floor_ratios_table(&results);
    let ratios = report::ratios_table(&results);
    let allocs = report::allocs_table(&results);
    let spread = report::spread_table(&results);
    let machine = report::machine();
    let elapsed = started.elapsed().as_secs_f64();
    let mode = if opts.quick {
        "quick (smoke test: few samples, numbers are rough)"
    } else {
        "full"
    };
    let counted = if opts.callgrind {
        format!("; timing took {timed:.0} s, the whole run with callgrind {elapsed:.0} s")
    } else {
        format!("; run took {elapsed:.0} s, no callgrind counts")
    };
    let settings = format!(
        "{mode}: {} samples per cell, batches of ~{} ms, {} ms warm-up{counted}",
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
        "Allocations per HS256 validation: {} {}; floor {}.",
        Col::Tokengate.label(),
        alloc_line(Col::Tokengate),
        alloc_line(Col::Floor)
    );

    let body = format!(
        "## Ratio to the floor: time / instructions\n\n{floor_ratios}\n\
         ## Median time per operation\n\n{medians}\n\
         ## Instructions per operation (callgrind)\n\n{instructions}\n\
         ## tokengate ÷ peers, time (below 1: tokengate is faster)\n\n{ratios}\n\
         ## Allocations\n\n{alloc_summary}\n\n{allocs}\n"
    );
    println!("{body}## Machine\n\n{machine}- command: `{command}`\n- {settings}\n");

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let date = time::OffsetDateTime::now_utc().date();
    let md = format!(
        "# tokengate side by side\n\n\
         Same tokens, same keys, one run ({date}). Every validator checks the \
         signature, `exp`, `nbf`, `iss` and `aud` and deserializes the claims \
         into a typed struct. \"ring primitive\" is the bare signature \
         operation on pre-split, pre-decoded input. \"floor\" is ring + base64 + \
         serde_json doing what a validator must and nothing more: split; \
         header decoded into borrowed strings, `alg` and `kid` checked; one \
         signature check; claims decoded into an owned struct; `exp`, `nbf` \
         (30 s leeway), `iss` and `aud` checked (`src/ring_floor.rs`). Sign \
         rows read the clock and serialize the claims on every call, with a \
         fixed `jti`. Times are medians over interleaved samples (read the \
         ratios, not the absolute times); instructions are callgrind counts \
         per operation (N and 2N operations, the difference over N), which do \
         not depend on the machine's load.\n\n\
         {body}\
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
