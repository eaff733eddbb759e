//! Real `redis-server` processes for tests and benchmarks (feature
//! `testing`).
//!
//! Each [`RedisServer`] runs on a free `127.0.0.1` port in a directory of
//! its own under the system temp directory, and is killed (SIGKILL) and
//! its directory removed when dropped. A [`RedisCluster`] is several such
//! servers joined by `redis-cli --cluster create`. Nothing here is a mock:
//! the tests of this crate exercise the real server.
//!
//! Every start waits, bounded, until the server answers `PING`; a server
//! that does not come up is an [`io::Error`], never a hang.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What to do when `redis-server` is missing.
pub const INSTALL_HINT: &str = "redis-server not found: apt-get install redis-server";

/// How long a start waits for the server to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// `true` when `redis-server` can be run. Tests that need it fail with
/// [`INSTALL_HINT`] when it is not.
pub fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn unique_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "tokengate-redis-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `url` answers `PING`, or `timeout`.
fn wait_for_ping(url: &str, child: &mut Child, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let client = redis::Client::open(url).map_err(io::Error::other)?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "redis-server exited before answering: {status}"
            )));
        }
        if let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(200))
            && redis::cmd("PING").query::<String>(&mut conn).is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("redis-server at {url} did not answer PING within {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `redis-server` process on a loopback port, in its own directory.
///
/// Dropping it kills the process (SIGKILL) and removes the directory.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// A server without persistence.
    ///
    /// # Errors
    ///
    /// When `redis-server` cannot be run (the message says how to install
    /// it) or does not answer within 10 s.
    pub fn start() -> io::Result<Self> {
        Self::start_with(&["--save", "", "--appendonly", "no"])
    }

    /// A server with an append-only file synced on every write
    /// (`appendonly yes`, `appendfsync always`): a write it acknowledged
    /// survives a SIGKILL and is replayed by [`restart`](Self::restart).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with_aof() -> io::Result<Self> {
        Self::start_with(&[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ])
    }

    /// A server with extra `redis-server` arguments (`["--maxmemory",
    /// "10mb"]`...), after the harness's own (port, directory, loopback).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with(extra: &[&str]) -> io::Result<Self> {
        let dir = unique_dir()?;
        let mut last = None;
        // A port found free can be taken before the server binds it: try
        // a few.
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = Self {
                port,
                dir: dir.clone(),
                args: extra.iter().map(|s| (*s).to_owned()).collect(),
                child: None,
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
                Err(e) => {
                    // Keep the directory for the next try.
                    server.dir = PathBuf::new();
                    last = Some(e);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = self.dir.join("redis.log");
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT)
                } else {
                    e
                }
            })?;
        self.child = Some(child);
        let url = self.url();
        let result = match self.child.as_mut() {
            Some(child) => wait_for_ping(&url, child, START_TIMEOUT),
            None => Ok(()),
        };
        if result.is_err() {
            self.kill();
        }
        result
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (its log is `redis.log` there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `true` while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the process with SIGKILL (no shutdown, no final save) and
    /// waits for it to exit. Nothing happens when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (an
    /// append-only file is replayed) and waits until it answers `PING`.
    /// Kills it first if it is running.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A Redis Cluster of masters (no replicas) on loopback ports, made by
/// `redis-cli --cluster create`. Dropping it kills every node.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes (at least 3, as Redis requires), joins them
    /// into a cluster with the slots spread evenly, and waits (bounded)
    /// until every node reports `cluster_state:ok`.
    ///
    /// # Errors
    ///
    /// When a node does not start, `redis-cli` fails, or the cluster is
    /// not ready within 20 s.
    pub fn start(masters: usize) -> io::Result<Self> {
        if masters < 3 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Redis Cluster needs at least 3 masters",
            ));
        }
        let mut nodes = Vec::with_capacity(masters);
        for _ in 0..masters {
            nodes.push(RedisServer::start_with(&[
                "--save",
                "",
                "--appendonly",
                "no",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
            ])?);
        }
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "redis-cli not found: apt-get install redis-tools",
                    )
                } else {
                    e
                }
            })?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let cluster = Self { nodes };
        cluster.wait_ok(Duration::from_secs(20))?;
        Ok(cluster)
    }

    fn wait_ok(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        for node in &self.nodes {
            let client = redis::Client::open(node.url()).map_err(io::Error::other)?;
            loop {
                let info = client
                    .get_connection_with_timeout(Duration::from_millis(500))
                    .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut c));
                if info.is_ok_and(|i| i.contains("cluster_state:ok")) {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("cluster not ok within {timeout:?}"),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// The URL of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes, to kill or restart one.
    pub fn nodes_mut(&mut self) -> &mut [RedisServer] {
        &mut self.nodes
    }
}
