//! A `redis-server` of a test's own, on a free port, stopped, restarted and
//! killed at will. Only std: the root package's tests use it too (through
//! `#[path]` in `tests/support`).

#![allow(dead_code)] // each test file uses some of these

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long it may take to answer its first PING, or to stop.
const PATIENCE: Duration = Duration::from_secs(5);

/// A `redis-server` of the test's own, killed when dropped.
#[derive(Debug)]
pub struct Redis {
    port: u16,
    /// Where it keeps its append-only file, if it persists.
    dir: Option<PathBuf>,
    child: Option<Child>,
}

impl Redis {
    /// A server that keeps nothing on disk: restarted, it is empty.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A server that writes every change to its append-only file (fsync
    /// always), and reads it back when restarted.
    pub fn start_persistent() -> Self {
        static DIRS: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "switchyard-redis-test-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Self::launch(Some(dir))
    }

    fn launch(dir: Option<PathBuf>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.run();
        redis
    }

    /// Starts it (again, on the same port, with the same files).
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "already running");
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""]);
        match &self.dir {
            Some(dir) => {
                let dir = dir.to_str().expect("a UTF-8 temporary directory");
                command.args([
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--dir",
                    dir,
                ])
            }
            None => command.args(["--appendonly", "no"]),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + PATIENCE;
        while !self.pings() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn pings(&self) -> bool {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0; 7];
        conn.write_all(b"PING\r\n").is_ok()
            && conn.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops it the way an operator would (SHUTDOWN: it writes what it
    /// persists), and waits until it has exited.
    pub fn stop(&mut self) {
        let _ = self.cli(&["SHUTDOWN"]);
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + PATIENCE;
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Kills it (SIGKILL), and waits until it has exited.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis-cli` against it; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The IDs of its pub/sub clients now.
    pub fn pubsub_clients(&self) -> Vec<String> {
        let list = self.cli(&["CLIENT", "LIST", "TYPE", "pubsub"]);
        let mut ids: Vec<String> = list
            .lines()
            .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
