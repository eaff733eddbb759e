//! Instructions per operation, counted by `valgrind --tool=callgrind`:
//! unlike time on a shared machine, the count is the same run after run
//! (the idea of tokengate's `benches/instructions.rs`).
//!
//! Every cell runs alone in a process of its own (`cell ROW COL N NBF
//! INPUT`, see [`crate::worker`]) under callgrind, twice: N and 2N
//! operations. The difference divided by N is the cost of one operation,
//! with the process start, the key parsing and the cell's one checked run
//! (the same in both) cancelled out. N is sized from the cell's median time
//! to about 2 ms of native work, between 4 and 20,000 operations.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::Res;

/// One cell to count: which binary, with which arguments before and after N.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// What to report on failure.
    pub(crate) what: String,
    /// The binary.
    pub(crate) exe: PathBuf,
    /// `cell ROW COL`.
    pub(crate) head: Vec<String>,
    /// `NBF INPUT`.
    pub(crate) tail: Vec<String>,
    /// The cell's median time, nanoseconds (sizes N).
    pub(crate) median_ns: f64,
}

/// Operations per callgrind run for a cell taking `median_ns`.
fn runs_for(median_ns: f64) -> u64 {
    let n = (2e6 / median_ns.max(1.0)).round();
    (n as u64).clamp(4, 20_000)
}

/// Total instructions of `exe` with `args` under callgrind.
fn collected(exe: &Path, args: &[String]) -> Res<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(args)
        .output()
        .map_err(|e| {
            format!("valgrind: {e} (install it: apt-get install valgrind; run.sh does)")
        })?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} {args:?} failed under callgrind:\n{log}", exe.display()).into());
    }
    log.lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("Collected :")?;
            rest.trim().parse().ok()
        })
        .ok_or_else(|| format!("no callgrind total in:\n{log}").into())
}

/// Instructions per operation of `job`.
fn count(job: &Job) -> Res<f64> {
    let n = runs_for(job.median_ns);
    let args = |k: u64| -> Vec<String> {
        let mut a = job.head.clone();
        a.push(k.to_string());
        a.extend(job.tail.iter().cloned());
        a
    };
    let one = collected(&job.exe, &args(n))?;
    let two = collected(&job.exe, &args(2 * n))?;
    if two < one {
        return Err(format!("{}: 2N runs counted fewer instructions than N", job.what).into());
    }
    Ok((two - one) as f64 / n as f64)
}

/// Counts every job, two callgrind processes at a time (the counts do not
/// depend on load); results in `jobs`' order.
pub(crate) fn count_all(jobs: &[Job]) -> Vec<Result<f64, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<f64, String>>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(jobs.len()).collect());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = count(job).map_err(|e| e.to_string());
                    match &r {
                        Ok(ir) => eprintln!("  {}: {ir:.0} instructions/op", job.what),
                        Err(e) => eprintln!("  {}: {e}", job.what),
                    }
                    if let Ok(mut all) = results.lock()
                        && let Some(slot) = all.get_mut(i)
                    {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not counted".to_owned())))
        .collect()
}
