//! The tables (markdown) and the description of the machine.

use std::fmt::Write as _;

use crate::harness::{Col, Stats};

/// One row's results.
pub(crate) struct RowResult {
    /// The row name.
    pub(crate) name: &'static str,
    /// The measured cells; a column without a cell has no entry.
    pub(crate) cells: Vec<(Col, Stats)>,
}

impl RowResult {
    /// The stats of `col`, if measured.
    pub(crate) fn get(&self, col: Col) -> Option<&Stats> {
        self.cells.iter().find(|(c, _)| *c == col).map(|(_, s)| s)
    }

    /// The median of `col`, if measured.
    pub(crate) fn median(&self, col: Col) -> Option<f64> {
        self.get(col).map(|s| s.median_ns)
    }
}

/// All rows.
pub(crate) struct Results {
    /// Table order.
    pub(crate) rows: Vec<RowResult>,
}

impl Results {
    /// The columns with at least one measured cell, in table order.
    pub(crate) fn cols(&self) -> Vec<Col> {
        Col::ALL
            .into_iter()
            .filter(|c| self.rows.iter().any(|r| r.get(*c).is_some()))
            .collect()
    }
}

/// A time with three significant digits and a unit.
pub(crate) fn format_ns(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else {
        (ns / 1e6, "ms")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

const MISSING: &str = "—";

fn header(out: &mut String, first: &str, cols: &[&str]) {
    let _ = writeln!(out, "| {first} | {} |", cols.join(" | "));
    let _ = writeln!(
        out,
        "|---|{}",
        cols.iter().map(|_| "---:|").collect::<String>()
    );
}

/// A table of rows × the libraries measured, each cell `cell` of its
/// stats, or a dash for a library without that row.
fn per_library(r: &Results, first: &str, cell: impl Fn(&Stats) -> String) -> String {
    let mut out = String::new();
    let shown = r.cols();
    let cols: Vec<&str> = shown.iter().map(|c| c.label()).collect();
    header(&mut out, first, &cols);
    for row in &r.rows {
        let cells: Vec<String> = shown
            .iter()
            .map(|c| row.get(*c).map_or(MISSING.to_owned(), &cell))
            .collect();
        let _ = writeln!(out, "| {} | {} |", row.name, cells.join(" | "));
    }
    out
}

/// Medians: rows × libraries.
pub(crate) fn medians_table(r: &Results) -> String {
    per_library(r, "operation", |s| format_ns(s.median_ns))
}

/// An instruction count, in thousands above 10,000.
pub(crate) fn format_instructions(n: f64) -> String {
    if n >= 1e7 {
        format!("{:.2} M", n / 1e6)
    } else if n >= 1e4 {
        format!("{:.1} k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// Instructions per operation: rows × libraries.
pub(crate) fn instructions_table(r: &Results) -> String {
    per_library(r, "operation", |s| {
        s.instructions
            .map_or(MISSING.to_owned(), format_instructions)
    })
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => MISSING.to_owned(),
    }
}

/// Every column over the floor, row by row: median time over the floor's
/// median time, and instructions over the floor's instructions.
pub(crate) fn floor_ratios_table(r: &Results) -> String {
    let mut out = String::new();
    let shown: Vec<Col> = r.cols().into_iter().filter(|c| *c != Col::Floor).collect();
    let cols: Vec<&str> = shown.iter().map(|c| c.label()).collect();
    header(&mut out, "÷ floor: time / instructions", &cols);
    for row in &r.rows {
        let floor = row.get(Col::Floor);
        let cells: Vec<String> = shown
            .iter()
            .map(|c| match row.get(*c) {
                None => MISSING.to_owned(),
                Some(s) => format!(
                    "{} / {}",
                    ratio(Some(s.median_ns), floor.map(|f| f.median_ns)),
                    ratio(s.instructions, floor.and_then(|f| f.instructions))
                ),
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", row.name, cells.join(" | "));
    }
    out
}

/// The pairs of the peers table: a tokengate column over a peer's.
const PAIRS: [(Col, Col); 8] = [
    (Col::Tokengate, Col::Oxitoken),
    (Col::TokengateAws, Col::Oxitoken),
    (Col::Tokengate, Col::JwtAws),
    (Col::TokengateAws, Col::JwtAws),
    (Col::Tokengate, Col::JwtRust),
    (Col::Tokengate, Col::JwtSimple),
    (Col::Tokengate, Col::Ring),
    (Col::TokengateAws, Col::Tokengate),
];

/// tokengate's median over each peer's (below 1: tokengate is faster).
pub(crate) fn ratios_table(r: &Results) -> String {
    let mut out = String::new();
    let pairs: Vec<(Col, Col)> = PAIRS
        .into_iter()
        .filter(|(a, b)| {
            r.rows
                .iter()
                .any(|row| row.get(*a).is_some() && row.get(*b).is_some())
        })
        .collect();
    let cols: Vec<String> = pairs
        .iter()
        .map(|(a, b)| format!("{} ÷ {}", a.label(), b.label()))
        .collect();
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    header(&mut out, "operation", &cols);
    for row in &r.rows {
        let cells: Vec<String> = pairs
            .iter()
            .map(|(a, b)| ratio(row.median(*a), row.median(*b)))
            .collect();
        let _ = writeln!(out, "| {} | {} |", row.name, cells.join(" | "));
    }
    out
}

fn count(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Allocator calls and bytes per operation.
pub(crate) fn allocs_table(r: &Results) -> String {
    per_library(r, "allocations per op (bytes)", |s| {
        format!("{} ({} B)", count(s.allocs), count(s.alloc_bytes))
    })
}

/// Interquartile range over median, per cell: how noisy each number is.
pub(crate) fn spread_table(r: &Results) -> String {
    per_library(r, "IQR ÷ median (iterations per sample)", |s| {
        format!("{:.1}% ({})", s.rel_iqr * 100.0, s.per_batch)
    })
}

/// The CPU model and logical processor count, from /proc/cpuinfo.
pub(crate) fn cpu() -> (String, usize) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let processors = cpuinfo
        .lines()
        .filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor"))
        .count();
    (model, processors)
}

/// What the numbers were measured on.
pub(crate) fn machine() -> String {
    let (model, processors) = cpu();
    let usable = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
    let mut out = String::new();
    let _ = writeln!(out, "- CPU: {model}");
    let _ = writeln!(
        out,
        "- cores: {processors} logical processors in /proc/cpuinfo, {usable} usable by this process"
    );
    let _ = writeln!(out, "- OS: Linux {kernel}, {}", std::env::consts::ARCH);
    let _ = writeln!(
        out,
        "- toolchain: {rustc}, release profile (cargo defaults)"
    );
    let _ = writeln!(out, "- crates: {}", versions());
    out
}

/// Versions of the compared crates, from this package's Cargo.lock and
/// the oxitoken worker's.
fn versions() -> String {
    const LOCKS: [&str; 2] = [
        include_str!("../Cargo.lock"),
        include_str!("../oxitoken/Cargo.lock"),
    ];
    const WANTED: [&str; 12] = [
        "tokengate",
        "ring",
        "base64",
        "base64-simd",
        "serde_json",
        "jsonwebtoken",
        "aws-lc-rs",
        "jwt-simple",
        "oxitoken",
        "p256",
        "rsa",
        "ed25519-dalek",
    ];
    let mut found: Vec<String> = Vec::new();
    for lock in LOCKS {
        let mut name: Option<&str> = None;
        for line in lock.lines() {
            if let Some(n) = line.strip_prefix("name = ") {
                name = Some(n.trim_matches('"'));
            } else if let (Some(n), Some(v)) = (name, line.strip_prefix("version = ")) {
                let entry = format!("{n} {}", v.trim_matches('"'));
                if WANTED.contains(&n) && !found.contains(&entry) {
                    found.push(entry);
                }
                name = None;
            }
        }
    }
    found.sort();
    found.join(", ")
}
