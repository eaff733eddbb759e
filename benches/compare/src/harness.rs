//! The measurement: per row, every library's closure is warmed up,
//! calibrated to a batch of about the same wall time, then timed in rounds
//! that interleave the libraries (in a rotating order) so that machine noise
//! lands on all of them alike. A sample is one batch's time divided by its
//! iterations; the result is the median sample.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::alloc_count;
use crate::shared::RowSpec;

/// The columns of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// ring alone on pre-split, pre-decoded input.
    Ring,
    /// ring + base64 + serde_json doing the validator's work, no more.
    Floor,
    /// The crate under test, on the backend this binary was built with
    /// (ring by default).
    Tokengate,
    /// The crate under test built with its `aws-lc-rs` feature: a worker
    /// process (this package built with `--features aws-lc-rs`).
    TokengateAws,
    /// oxitoken 0.1 (aws-lc-rs 1.14): a worker process (`oxitoken/`).
    Oxitoken,
    /// jsonwebtoken 12, aws-lc-rs backend.
    JwtAws,
    /// jsonwebtoken 12, RustCrypto backend.
    JwtRust,
    /// jwt-simple 0.15, pure Rust.
    JwtSimple,
}

impl Col {
    /// All columns, in table order.
    pub(crate) const ALL: [Col; 8] = [
        Col::Ring,
        Col::Floor,
        Col::Tokengate,
        Col::TokengateAws,
        Col::Oxitoken,
        Col::JwtAws,
        Col::JwtRust,
        Col::JwtSimple,
    ];

    /// The column heading.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Col::Ring => "ring primitive",
            Col::Floor => "floor",
            Col::Tokengate if tokengate::CRYPTO_BACKEND == "aws-lc-rs" => "tokengate aws-lc-rs",
            Col::Tokengate => "tokengate ring",
            Col::TokengateAws => "tokengate aws-lc-rs",
            Col::Oxitoken => "oxitoken",
            Col::JwtAws => "jsonwebtoken aws_lc_rs",
            Col::JwtRust => "jsonwebtoken rust_crypto",
            Col::JwtSimple => "jwt-simple",
        }
    }

    /// The column's name on command lines (`cell`, `serve`, `--worker`).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Col::Ring => "ring",
            Col::Floor => "floor",
            Col::Tokengate => "tokengate",
            Col::TokengateAws => "tokengate-aws-lc-rs",
            Col::Oxitoken => "oxitoken",
            Col::JwtAws => "jsonwebtoken-aws-lc-rs",
            Col::JwtRust => "jsonwebtoken-rust-crypto",
            Col::JwtSimple => "jwt-simple",
        }
    }

    /// The column named `key` on a command line.
    pub(crate) fn from_key(key: &str) -> Option<Col> {
        Col::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// One library's operation for one row.
pub(crate) trait Bench {
    /// Runs the operation `n` times and returns the elapsed time.
    fn batch(&mut self, n: u64) -> Duration;
    /// Runs it once; `true` when it did what the row expects (accepted the
    /// token and returned the right subject, produced a token, rejected).
    fn once(&mut self) -> bool;
    /// Allocator calls and bytes over `runs` runs.
    fn allocs(&mut self, runs: u32) -> alloc_count::Counted {
        alloc_count::count(|| {
            for _ in 0..runs {
                black_box(self.once());
            }
        })
    }
    /// The operation alone, for a worker process: whatever must run
    /// before a batch runs now, once.
    fn into_op(self: Box<Self>) -> Box<dyn FnMut() -> bool>;
}

struct Op<F> {
    f: F,
    prepare: fn(),
}

impl<F: FnMut() -> bool + 'static> Bench for Op<F> {
    fn batch(&mut self, n: u64) -> Duration {
        (self.prepare)();
        let start = Instant::now();
        for _ in 0..n {
            black_box((self.f)());
        }
        start.elapsed()
    }

    fn once(&mut self) -> bool {
        (self.prepare)();
        (self.f)()
    }

    fn into_op(self: Box<Self>) -> Box<dyn FnMut() -> bool> {
        (self.prepare)();
        Box::new(self.f)
    }
}

/// A library's entry in a row.
pub(crate) struct Cell {
    pub(crate) col: Col,
    pub(crate) bench: Box<dyn Bench>,
}

/// A cell running `f`; `prepare` runs before every batch (jsonwebtoken's
/// backend switch), outside the timed loop.
pub(crate) fn cell<F: FnMut() -> bool + 'static>(col: Col, prepare: fn(), f: F) -> Cell {
    Cell {
        col,
        bench: Box::new(Op { f, prepare }),
    }
}

fn nothing() {}

/// A cell with nothing to prepare.
pub(crate) fn plain<F: FnMut() -> bool + 'static>(col: Col, f: F) -> Cell {
    cell(col, nothing, f)
}

/// A row of the tables.
pub(crate) struct Row {
    /// What the row does, and its names.
    pub(crate) spec: RowSpec,
    /// The row's input: the token every validator gets, or `-` (sign rows).
    pub(crate) input: String,
    /// The `nbf` the sign rows write.
    pub(crate) nbf: i64,
    pub(crate) cells: Vec<Cell>,
}

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Samples (rounds) per cell.
    pub(crate) samples: usize,
    /// Target wall time of one batch.
    pub(crate) batch: Duration,
    /// Warm-up time per cell.
    pub(crate) warmup: Duration,
}

/// The result for one cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// Median time per operation, nanoseconds.
    pub(crate) median_ns: f64,
    /// Interquartile range over the median.
    pub(crate) rel_iqr: f64,
    /// Iterations per batch.
    pub(crate) per_batch: u64,
    /// Allocator calls (alloc, alloc_zeroed, realloc) per operation.
    pub(crate) allocs: f64,
    /// Bytes requested from the allocator per operation.
    pub(crate) alloc_bytes: f64,
    /// Instructions per operation under callgrind, when counted.
    pub(crate) instructions: Option<f64>,
}

/// Checks every cell of `row`: each must do what the row expects.
///
/// # Errors
///
/// Names the first cell that did not.
pub(crate) fn check(row: &mut Row) -> crate::Res<()> {
    for cell in &mut row.cells {
        if !cell.bench.once() {
            return Err(format!("{} / {}: wrong result", row.spec.name, cell.col.label()).into());
        }
    }
    Ok(())
}

const ALLOC_RUNS: u32 = 16;

/// Measures every cell of `row`.
pub(crate) fn measure(row: &mut Row, cfg: Config) -> Vec<(Col, Stats)> {
    // Warm up and calibrate each cell: grow the batch until it takes a
    // measurable time, then size it to the target.
    let mut per_batch = Vec::with_capacity(row.cells.len());
    for cell in &mut row.cells {
        let mut n = 1u64;
        let start = Instant::now();
        let mut est;
        loop {
            let t = cell.bench.batch(n);
            est = t.as_secs_f64() / n as f64;
            if start.elapsed() >= cfg.warmup && t >= cfg.warmup / 8 {
                break;
            }
            if t < cfg.warmup / 8 {
                n = n.saturating_mul(2);
            }
        }
        let n = (cfg.batch.as_secs_f64() / est.max(1e-10)).ceil();
        per_batch.push((n as u64).max(1));
    }
    // Rounds: each round times every cell once, starting at a rotating cell.
    let count = row.cells.len();
    let mut samples = vec![Vec::with_capacity(cfg.samples); count];
    for round in 0..cfg.samples {
        for k in 0..count {
            let i = (round + k) % count;
            let (Some(cell), Some(n), Some(out)) =
                (row.cells.get_mut(i), per_batch.get(i), samples.get_mut(i))
            else {
                continue;
            };
            let t = cell.bench.batch(*n);
            out.push(t.as_secs_f64() * 1e9 / *n as f64);
        }
    }
    let mut result = Vec::with_capacity(count);
    for ((cell, mut s), n) in row.cells.iter_mut().zip(samples).zip(per_batch) {
        s.sort_by(f64::total_cmp);
        let median = quantile(&s, 0.5);
        let iqr = quantile(&s, 0.75) - quantile(&s, 0.25);
        let counted = cell.bench.allocs(ALLOC_RUNS);
        result.push((
            cell.col,
            Stats {
                median_ns: median,
                rel_iqr: if median > 0.0 { iqr / median } else { 0.0 },
                per_batch: n,
                allocs: counted.allocs as f64 / f64::from(ALLOC_RUNS),
                alloc_bytes: counted.bytes as f64 / f64::from(ALLOC_RUNS),
                instructions: None,
            },
        ));
    }
    result
}

/// The `q` quantile of sorted `s`, interpolated.
fn quantile(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (Some(a), Some(b)) = (s.get(lo), s.get(hi)) else {
        return f64::NAN;
    };
    a + (b - a) * (pos - lo as f64)
}
