//! The worker side of the comparison: one cell (a row × a column) run in a
//! process of its own. Compiled into the main binary (its own columns, and
//! the tokengate column of a build with the `aws-lc-rs` feature) and, by
//! path, into the oxitoken worker, whose dependencies cannot share a
//! lockfile with the rest.
//!
//! ```text
//! BIN cell  ROW COL N NBF INPUT   # checks the cell once, then runs it N times; for callgrind
//! BIN serve ROW COL NBF INPUT     # answers the main binary's requests on stdin/stdout
//! ```
//!
//! `INPUT` is the row's token (verify and reject rows) or `-` (sign rows);
//! `NBF` is the `nbf` the sign rows write. The main binary signs the tokens
//! once and hands the same ones to every process.
//!
//! `serve` prints `ready` (or `none` when the binary has no such cell) and
//! then answers one line per request:
//!
//! | request | answer |
//! |---|---|
//! | `once` | `ok` when the cell did what its row expects, else `wrong` |
//! | `batch N` | nanoseconds taken by N runs |
//! | `allocs N` | allocator calls and bytes over N runs: `CALLS BYTES` |

use std::hint::black_box;
use std::io::{BufRead as _, Write as _};
use std::time::Instant;

use crate::alloc_count;

/// The error type of the worker: anything, reported on stderr.
pub(crate) type WorkerRes<T> = Result<T, Box<dyn std::error::Error>>;

/// A parsed worker command line.
#[derive(Debug)]
pub(crate) struct Args {
    /// `None`: serve; `Some(n)`: run the cell n times.
    pub(crate) runs: Option<u64>,
    /// The row key.
    pub(crate) row: String,
    /// The column key.
    pub(crate) col: String,
    /// The `nbf` of minted tokens.
    pub(crate) nbf: i64,
    /// The row's token, or `-`.
    pub(crate) input: String,
}

/// Parses `cell ROW COL N NBF INPUT` or `serve ROW COL NBF INPUT` (the
/// arguments after the program name); `None` when `args` is neither.
pub(crate) fn parse(args: &[String]) -> Option<WorkerRes<Args>> {
    let parsed = match args {
        [mode, row, col, n, nbf, input] if mode == "cell" => {
            args_of(row, col, Some(n.as_str()), nbf, input)
        }
        [mode, row, col, nbf, input] if mode == "serve" => args_of(row, col, None, nbf, input),
        [mode, ..] if mode == "cell" || mode == "serve" => {
            Err("usage: cell ROW COL N NBF INPUT | serve ROW COL NBF INPUT".into())
        }
        _ => return None,
    };
    Some(parsed)
}

fn args_of(row: &str, col: &str, n: Option<&str>, nbf: &str, input: &str) -> WorkerRes<Args> {
    Ok(Args {
        runs: n.map(str::parse).transpose()?,
        row: row.to_owned(),
        col: col.to_owned(),
        nbf: nbf.parse()?,
        input: input.to_owned(),
    })
}

/// Runs `op` as `args` asks; `op` is `None` when this binary has no such
/// cell.
///
/// # Errors
///
/// A cell that does not do what its row expects, a missing cell in `cell`
/// mode, or a broken pipe.
pub(crate) fn run(args: &Args, op: Option<Box<dyn FnMut() -> bool>>) -> WorkerRes<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let Some(mut op) = op else {
        if args.runs.is_some() {
            return Err(format!("no cell {} / {}", args.row, args.col).into());
        }
        writeln!(out, "none")?;
        return Ok(());
    };
    if let Some(n) = args.runs {
        if !op() {
            return Err(format!("{} / {}: wrong result", args.row, args.col).into());
        }
        for _ in 0..n {
            black_box(op());
        }
        return Ok(());
    }
    writeln!(out, "ready")?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next().map(str::parse::<u64>)) {
            (Some("once"), None) => if op() { "ok" } else { "wrong" }.to_owned(),
            (Some("batch"), Some(Ok(n))) => {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(op());
                }
                start.elapsed().as_nanos().to_string()
            }
            (Some("allocs"), Some(Ok(n))) => {
                let counted = alloc_count::count(|| {
                    for _ in 0..n {
                        black_box(op());
                    }
                });
                format!("{} {}", counted.allocs, counted.bytes)
            }
            _ => return Err(format!("unknown request {line:?}").into()),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}
