//! Columns measured in other processes: tokengate built with its
//! `aws-lc-rs` feature (features unify, so one process has one backend) and
//! oxitoken (its aws-lc-rs 1.14 cannot share this package's lockfile). Each
//! such cell is a worker process (`serve`, see [`crate::worker`]) that
//! times its own loop when asked, so it takes its turn in the interleaved
//! rounds like any in-process cell; only the loop is timed, not the pipe.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::Res;
use crate::alloc_count::Counted;
use crate::harness::{Bench, Cell, Col};

/// A worker binary and the column it provides.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    /// The column in the tables.
    pub(crate) col: Col,
    /// The binary.
    pub(crate) exe: PathBuf,
    /// The column's key in the worker's own terms (`tokengate` for a build
    /// of this package, `oxitoken` for the oxitoken worker).
    pub(crate) worker_col: &'static str,
}

impl Worker {
    /// Parses `COL=PATH` (`tokengate-aws-lc-rs=…` or `oxitoken=…`).
    pub(crate) fn parse(arg: &str) -> Res<Self> {
        let (col, exe) = arg
            .split_once('=')
            .ok_or_else(|| format!("--worker {arg}: expected COL=PATH"))?;
        let (col, worker_col) = match Col::from_key(col) {
            Some(Col::TokengateAws) => (Col::TokengateAws, "tokengate"),
            Some(Col::Oxitoken) => (Col::Oxitoken, "oxitoken"),
            _ => {
                return Err(format!(
                    "--worker {arg}: the worker columns are tokengate-aws-lc-rs and oxitoken"
                )
                .into());
            }
        };
        Ok(Self {
            col,
            exe: PathBuf::from(exe),
            worker_col,
        })
    }

    /// The arguments that run this worker's cell of row `row`: `mode` is
    /// `serve` or `cell` (then `runs` follows the column).
    pub(crate) fn args(
        &self,
        mode: &str,
        row: &str,
        runs: Option<u64>,
        nbf: i64,
        input: &str,
    ) -> Vec<String> {
        let mut args = vec![mode.to_owned(), row.to_owned(), self.worker_col.to_owned()];
        args.extend(runs.map(|n| n.to_string()));
        args.push(nbf.to_string());
        args.push(input.to_owned());
        args
    }

    /// Starts this worker on row `row`; `None` when it has no cell there.
    ///
    /// # Errors
    ///
    /// The process cannot start or answers something unexpected.
    pub(crate) fn start(&self, row: &str, nbf: i64, input: &str) -> Res<Option<Cell>> {
        let mut child = Command::new(&self.exe)
            .args(self.args("serve", row, None, nbf, input))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.exe.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("worker pipes missing".into());
        };
        let mut remote = Remote {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
        };
        match remote.read_line()?.as_str() {
            "ready" => Ok(Some(Cell {
                col: self.col,
                bench: Box::new(remote),
            })),
            "none" => Ok(None),
            other => Err(format!("{}: {other:?} instead of ready", self.exe.display()).into()),
        }
    }
}

/// A cell in a worker process.
struct Remote {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Remote {
    fn read_line(&mut self) -> Res<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the worker exited".into());
        }
        Ok(line.trim().to_owned())
    }

    fn ask(&mut self, request: &str) -> Res<String> {
        let stdin = self.stdin.as_mut().ok_or("worker closed")?;
        writeln!(stdin, "{request}")?;
        stdin.flush()?;
        self.read_line()
    }

    fn numbers(&mut self, request: &str) -> Res<Vec<u64>> {
        let answer = self.ask(request)?;
        Ok(answer
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?)
    }
}

impl Bench for Remote {
    /// A worker that fails mid-run reports an absurd time (an hour), which
    /// shows in the tables rather than silently.
    fn batch(&mut self, n: u64) -> Duration {
        match self.numbers(&format!("batch {n}")).as_deref() {
            Ok([ns]) => Duration::from_nanos(*ns),
            other => {
                eprintln!("worker batch failed: {other:?}");
                Duration::from_secs(3600)
            }
        }
    }

    fn once(&mut self) -> bool {
        self.ask("once").is_ok_and(|a| a == "ok")
    }

    fn allocs(&mut self, runs: u32) -> Counted {
        match self.numbers(&format!("allocs {runs}")).as_deref() {
            Ok([allocs, bytes]) => Counted {
                allocs: *allocs,
                bytes: *bytes,
            },
            _ => Counted {
                allocs: u64::MAX,
                bytes: u64::MAX,
            },
        }
    }

    fn into_op(self: Box<Self>) -> Box<dyn FnMut() -> bool> {
        let mut me = self;
        Box::new(move || me.once())
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Closing stdin ends the worker's loop.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
