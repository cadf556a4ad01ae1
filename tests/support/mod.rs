//! Helpers shared by the integration tests: running the example programs
//! as a user would, and reading a process's memory and open sockets.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Fails the test unless Python's `websockets` package is importable. The
/// tests that need it are `#[ignore]`d, so that without it they show as
/// ignored, never as passed; `.ci/run` installs it and runs them with
/// `--ignored`, where its absence is a failure.
pub fn require_python_websockets() {
    let found = Command::new("python3")
        .args([
            "-c",
            "import websockets.sync.client, websockets.asyncio.client",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "needs Python's websockets: python3 -m pip install websockets==17.4"
    );
}

/// Asserts that a test script (Python or JavaScript, run by a test) ended
/// well and reported `passed` checks passed and none failed, printing what
/// it said either way.
pub fn assert_script_passed(out: &Output, passed: usize) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = format!("{passed} passed, 0 failed");
    assert!(stdout.contains(&summary), "{stdout}");
}

/// The built example program `name` (cargo builds examples for `cargo test`).
pub fn example_path(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with cargo test",
        path.display()
    );
    path
}

/// Runs an example to completion, with a time limit.
pub fn run_example(name: &str, args: &[&str]) -> Output {
    let child = Command::new(example_path(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("example starts");
    wait_with_timeout(child, Duration::from_secs(30))
}

fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("example still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// An example server running in the background, killed when dropped.
pub struct ExampleServer {
    child: Child,
    /// Where it listens, as it printed.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl ExampleServer {
    /// Starts example `name` with `args`; it must print `listening on ADDR`.
    pub fn start(name: &str, args: &[&str]) -> Self {
        Self::start_with(Command::new(example_path(name)).args(args), name)
    }

    /// Starts the program at `path` (a binary other than an example).
    pub fn start_program(path: &std::path::Path, args: &[&str]) -> Self {
        let name = path
            .file_name()
            .map_or("program".into(), |n| n.to_string_lossy().into_owned());
        Self::start_with(Command::new(path).args(args), &name)
    }

    /// Starts example `name` with `args`, without `SWITCHYARD_RUNTIME` in
    /// its environment: as a program that chooses its runtime itself.
    pub fn start_choosing_its_runtime(name: &str, args: &[&str]) -> Self {
        let mut cmd = Command::new(example_path(name));
        cmd.args(args).env_remove("SWITCHYARD_RUNTIME");
        Self::start_with(&mut cmd, name)
    }

    /// The names of the server's threads (the 15 bytes Linux keeps of each).
    pub fn thread_names(&self) -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/task", self.pid()))
            .map(|tasks| {
                tasks
                    .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                    .map(|name| name.trim().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Starts example `name` under `sh -c 'ulimit -n FDS; exec ...'`.
    pub fn start_with_fd_limit(name: &str, fds: u32, args: &[&str]) -> Self {
        let script = format!("ulimit -n {fds} && exec \"$0\" \"$@\"");
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).arg(example_path(name)).args(args);
        Self::start_with(&mut cmd, name)
    }

    fn start_with(cmd: &mut Command, name: &str) -> Self {
        let log = std::env::temp_dir().join(format!(
            "switchyard-{name}-{}-{:?}.log",
            std::process::id(),
            Instant::now()
        ));
        let mut child = cmd
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("example server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .map(|addr| addr.split_once("://").map_or(addr, |(_, rest)| rest))
            .unwrap_or_else(|| panic!("{name} printed {line:?}, not 'listening on ADDR'"))
            .parse()
            .expect("an address");
        Self { child, addr, log }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Sends `signal` (a `kill` name: TERM, INT) and waits up to `limit`
    /// for the process to exit; its exit status, if it did.
    pub fn signal_and_wait(
        &mut self,
        signal: &str,
        limit: Duration,
    ) -> Option<std::process::ExitStatus> {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// What the server has logged to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Open file descriptors (sockets included).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("fd dir")
            .count()
    }

    /// Waits until `check` holds, for at most `limit`; whether it did.
    pub fn wait_until(&self, limit: Duration, mut check: impl FnMut(&Self) -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if check(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        check(self)
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A blocking TCP connection with a read time-out, for raw bytes on the wire.
pub fn raw_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Writes one length-prefixed message.
pub fn write_frame(stream: &mut TcpStream, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("small payload");
    stream.write_all(&len.to_be_bytes()).expect("write header");
    stream.write_all(payload).expect("write payload");
}

/// Reads one length-prefixed message.
pub fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let mut payload = vec![0; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

/// Whether the peer closes `stream` (end of stream or reset) within its read
/// time-out, reading and discarding anything it sends first.
pub fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false, // timed out: still open
        }
    }
}

/// A well-behaved client round trip against a length-prefixed echo server.
pub fn echo_round_trip(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    write_frame(&mut stream, b"still here?");
    matches!(read_frame(&mut stream), Ok(reply) if reply == b"still here?")
}

/// A WebSocket client made of raw bytes on a blocking socket, for what a
/// library client will not do: stop reading, stop answering, vanish, or
/// read a close code tungstenite would rewrite.
pub struct RawWs {
    pub stream: std::net::TcpStream,
}

impl RawWs {
    /// Connects and completes the handshake for `path`.
    pub fn connect(addr: SocketAddr, path: &str) -> Self {
        let mut stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .expect("write the request");
        // Byte by byte up to the end of the head, so no frame byte is consumed.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream
                .read_exact(&mut byte)
                .expect("read the response head");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Self { stream }
    }

    /// Writes one masked frame of `opcode` (1 text, 2 binary, 8 close,
    /// 9 ping), final.
    pub fn write_frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        self.write_raw_frame(0x80 | opcode, true, payload)
    }

    /// Writes one frame with the first byte `first` (FIN, RSV and opcode),
    /// masked or not (a client must mask).
    pub fn write_raw_frame(
        &mut self,
        first: u8,
        masked: bool,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let mask_bit = if masked { 0x80 } else { 0 };
        let mut frame = vec![first];
        match payload.len() {
            n if n < 126 => frame.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                frame.push(mask_bit | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(mask_bit | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            let mask = [0x12, 0x34, 0x56, 0x78];
            frame.extend_from_slice(&mask);
            frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        } else {
            frame.extend_from_slice(payload);
        }
        self.stream.write_all(&frame)
    }

    /// Reads one frame: its opcode and payload.
    pub fn read_frame(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let mut header = [0u8; 2];
        self.stream.read_exact(&mut header)?;
        let len = match header[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                self.stream.read_exact(&mut n)?;
                u64::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                self.stream.read_exact(&mut n)?;
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        self.stream.read_exact(&mut payload)?;
        Ok((header[0] & 0x0f, payload))
    }

    /// Reads frames until the server's close frame; its code and reason.
    /// Data frames before it are counted in `data_bytes`.
    pub fn read_until_close(&mut self, data_bytes: &mut u64) -> std::io::Result<(u16, String)> {
        loop {
            let (opcode, payload) = self.read_frame()?;
            match opcode {
                0x8 if payload.len() >= 2 => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    return Ok((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
                }
                0x8 => return Ok((1005, String::new())),
                0x0..=0x2 => *data_bytes += payload.len() as u64,
                _ => {}
            }
        }
    }
}

/// A `redis-server` of a test's own (switchyard-redis's test helper).
#[path = "../../crates/redis/tests/common/server.rs"]
pub mod redis;
