//! A log file, live in the browser, as in the documents: the page names the
//! file, shows its last lines, then every line appended as it is written. It
//! survives the file being truncated or replaced (log rotation), and says so.
//!
//! ```text
//! cargo run --example ws_tail -- --file /tmp/app.log
//! # open http://127.0.0.1:8080/, then in another terminal:
//! echo "a new line" >> /tmp/app.log
//! ```
//!
//! A thread polls the file (every `--poll-ms`): a larger file has new lines,
//! a smaller one was truncated (read again from the start), a different
//! inode means it was replaced (reopened, read from the start). Lines are
//! cut with switchyard's `Lines` framing, so a line over 64 KiB is skipped
//! with a notice instead of held.
//!
//! Wire format (JSON text messages). A page is first told about the file,
//! `{"file":"/tmp/app.log","state":"following","text":"following /tmp/app.log"}`
//! (`"missing"` while it cannot be read, with the reason), then sent the
//! last `--lines` lines, then every new one, each as `{"line":"..."}`. When
//! the file is truncated or replaced, open pages are told so
//! (`"state":"truncated"` or `"replaced"`), and the lines kept for new pages
//! are forgotten: a page opened later starts with the file's new content,
//! not with lines it no longer holds.

mod common;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use clap::Parser;
use futures::{FutureExt, SinkExt};
use serde::Serialize;
use switchyard::frame::{Error, Framing, Lines};
use switchyard::hub::{Hub, HubConfig};
use switchyard::push::{run_subscriber, PushConfig};
use switchyard::ws::http::HttpServerConfig;
use switchyard::ws::{websocket, Router, ServerIo, WsConnection, WsServerConfig};

const TOPIC: &str = "log";
/// Read at most this much per poll, so a huge append is taken in steps.
const READ_STEP: u64 = 1 << 20;
/// On start, look at most this far back for the last lines.
const LOOK_BACK: u64 = 256 << 10;

#[derive(Parser)]
#[command(about = "Shows a log file live in the browser")]
struct Args {
    /// The file to follow.
    #[arg(long)]
    file: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8080")]
    addr: String,
    /// Lines a new page starts with.
    #[arg(long, default_value_t = 20)]
    lines: usize,
    /// How often to look at the file, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
}

/// What a page is told about the file: where it is, and a sentence for
/// people.
#[derive(Serialize)]
struct Status<'a> {
    file: &'a str,
    state: State,
    text: &'a str,
}

/// Where the follower is with the file.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum State {
    /// Read, and watched for new lines.
    Following,
    /// Cannot be read (not there yet, gone mid-rotation, no permission).
    Missing,
    /// Just shrank: read again from its start. Told to open pages only.
    Truncated,
    /// Just replaced by another file: read from its start. Told to open
    /// pages only.
    Replaced,
}

/// One log line, for the page.
#[derive(Serialize)]
struct Line<'a> {
    line: &'a str,
}

/// The last lines and what is known of the file, and the hub that carries
/// what changes. Everything is recorded and published under one lock, so a
/// page that joins under the same lock sees each line exactly once.
struct Tail {
    /// The file as the user gave it, for messages.
    file: String,
    shared: Mutex<Shared>,
    keep: usize,
    hub: Hub,
}

struct Shared {
    /// The last `keep` lines, as sent to pages.
    recent: VecDeque<Bytes>,
    /// Where the follower is (following or missing).
    state: State,
    /// What a page is told first.
    status: Bytes,
}

impl Tail {
    fn new(file: String, state: State, reason: &str, keep: usize) -> Self {
        let status = status_message(&file, state, reason);
        Self {
            file,
            shared: Mutex::new(Shared {
                recent: VecDeque::with_capacity(keep),
                state,
                status,
            }),
            keep,
            hub: Hub::new(HubConfig::default()),
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, line: &[u8]) {
        // Pages read text: a line that is not UTF-8 (a binary or Latin-1
        // log) is shown with U+FFFD where its bad bytes were.
        let line = String::from_utf8_lossy(line);
        let Some(line) = json(&Line { line: &line }) else {
            return;
        };
        let mut shared = self.shared();
        if shared.recent.len() == self.keep {
            shared.recent.pop_front();
        }
        shared.recent.push_back(line.clone());
        self.publish(line);
    }

    /// The file is (again) readable, or not; open pages are told when
    /// that changes. `reason` says why it is missing.
    fn set(&self, state: State, reason: &str) {
        let mut shared = self.shared();
        if shared.state == state {
            return;
        }
        shared.state = state;
        shared.status = status_message(&self.file, state, reason);
        self.publish(shared.status.clone());
    }

    /// The file was truncated or replaced: its old lines are gone, so new
    /// pages will not be shown them; open pages are told.
    fn restart(&self, why: State) {
        let mut shared = self.shared();
        shared.recent.clear();
        self.publish(status_message(&self.file, why, ""));
        // Pages opened from now on are simply following it.
        shared.state = State::Following;
        shared.status = status_message(&self.file, State::Following, "");
    }

    fn publish(&self, msg: Bytes) {
        // An in-memory hub has published by the time `publish` returns:
        // its answer is ready, and nothing here waits.
        if let Some(Err(e)) = self.hub.publish(TOPIC, msg).now_or_never() {
            tracing::warn!(error = %e, "not published");
        }
    }
}

/// The status message for `state`.
fn status_message(file: &str, state: State, reason: &str) -> Bytes {
    let text = match state {
        State::Following => format!("following {file}"),
        State::Missing => format!("cannot read {file}: {reason}; waiting for it"),
        State::Truncated => format!("{file} was truncated: showing its lines from the start"),
        State::Replaced => format!("{file} was replaced: showing the new file's lines"),
    };
    json(&Status {
        file,
        state,
        text: &text,
    })
    .unwrap_or_default()
}

/// `value` as JSON text; none (logged) if it cannot be written, which our
/// own strings never cause.
fn json(value: &impl Serialize) -> Option<Bytes> {
    match serde_json::to_vec(value) {
        Ok(bytes) => Some(Bytes::from(bytes)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot write JSON");
            None
        }
    }
}

/// Why a file cannot be read, in words: "it does not exist" rather than
/// the system's "No such file or directory (os error 2)".
fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let file = args.file.display().to_string();
    // What a page opened before the first look is told.
    let (state, why) = match std::fs::metadata(&args.file) {
        Ok(_) => (State::Following, String::new()),
        Err(e) => (State::Missing, reason(&e)),
    };
    let tail = Arc::new(Tail::new(file, state, &why, args.lines.max(1)));
    let follower = tail.clone();
    let (path, poll) = (
        args.file.clone(),
        Duration::from_millis(args.poll_ms.max(10)),
    );
    std::thread::spawn(move || follow(&path, poll, &follower));

    let router = Router::new()
        .page(
            "/",
            "text/html; charset=utf-8",
            include_str!("pages/tail.html"),
        )
        .upgrade(
            "/ws",
            websocket(WsServerConfig::default(), move |conn, _| {
                watch(tail.clone(), conn)
            }),
        );
    switchyard::rt::block_on(common::serve_ws(
        &args.addr,
        HttpServerConfig::default(),
        router,
    ))
}

/// One page: what is known of the file, the recent lines, then every
/// change.
async fn watch(tail: Arc<Tail>, conn: WsConnection<ServerIo>) {
    let mut sub = tail.hub.subscribe();
    let first: Vec<Bytes> = {
        let shared = tail.shared();
        if sub.join(TOPIC).is_err() {
            return;
        }
        std::iter::once(shared.status.clone())
            .chain(shared.recent.iter().cloned())
            .collect()
    };
    // The hub carries text: every message is JSON.
    let mut messages = conn.text();
    for msg in first {
        if messages.feed(msg).await.is_err() {
            return;
        }
    }
    if messages.flush().await.is_err() {
        return;
    }
    let ignore = |_: &mut _, _| std::future::ready(None);
    run_subscriber(messages.into_inner(), sub, &PushConfig::default(), ignore).await;
}

/// The file being followed: which one (by inode) and how far it was read.
struct Followed {
    file: File,
    inode: u64,
    offset: u64,
}

/// What one look at the file found.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// The same file, perhaps longer.
    Same,
    /// It shrank: read again from the start.
    Truncated,
    /// Another file under the name: read from the start.
    Replaced,
}

/// Polls `path` for ever, handing each new line to `tail`.
fn follow(path: &PathBuf, poll: Duration, tail: &Tail) {
    let mut lines = Lines::default();
    let mut pending = BytesMut::new();
    let mut followed: Option<Followed> = None;
    // Only a file there at the start is read from near its end: one that
    // appears later is all new.
    let mut look_back = std::fs::metadata(path).is_ok();
    loop {
        match step(path, &mut followed, &mut pending, look_back) {
            Ok(seen) => {
                look_back = false;
                match seen {
                    Seen::Same => tail.set(State::Following, ""),
                    Seen::Truncated => tail.restart(State::Truncated),
                    Seen::Replaced => tail.restart(State::Replaced),
                }
            }
            // Gone for a moment (mid-rotation) or unreadable: keep what is
            // known, and judge the file by its inode when it is back.
            Err(e) => {
                if tail.shared().state != State::Missing {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read the file; waiting for it");
                }
                tail.set(State::Missing, &reason(&e));
            }
        }
        loop {
            match lines.decode(&mut pending) {
                Ok(Some(line)) => tail.add(&line),
                Ok(None) => break,
                Err(Error::LineTooLong { max }) => {
                    tail.add(format!("[a line over {max} bytes was skipped]").as_bytes())
                }
                Err(_) => break,
            }
        }
        std::thread::sleep(poll);
    }
}

/// One look at the file: reopen it if it was replaced, start over if it was
/// truncated, and read what was appended. The first open starts near the
/// end if `look_back`, at the start otherwise.
fn step(
    path: &PathBuf,
    followed: &mut Option<Followed>,
    pending: &mut BytesMut,
    look_back: bool,
) -> std::io::Result<Seen> {
    let meta = std::fs::metadata(path)?;
    let replaced = followed.as_ref().is_some_and(|f| f.inode != meta.ino());
    let mut seen = Seen::Same;
    if followed.is_none() || replaced {
        let file = File::open(path)?;
        let offset = if look_back {
            meta.len().saturating_sub(LOOK_BACK)
        } else {
            0
        };
        if replaced {
            seen = Seen::Replaced;
        }
        pending.clear();
        *followed = Some(Followed {
            file,
            inode: meta.ino(),
            offset,
        });
        if offset > 0 {
            // Skip the partial line the look-back started in.
            let f = followed.as_mut().expect("just set");
            let mut skipped = read_from(f, meta.len())?;
            if let Some(newline) = skipped.iter().position(|&b| b == b'\n') {
                pending.extend_from_slice(&skipped.split_off(newline + 1));
            }
            return Ok(seen);
        }
    }
    let Some(f) = followed.as_mut() else {
        return Ok(seen);
    };
    if meta.len() < f.offset {
        f.offset = 0;
        pending.clear();
        seen = Seen::Truncated;
    }
    if meta.len() > f.offset {
        pending.extend_from_slice(&read_from(f, meta.len())?);
    }
    Ok(seen)
}

/// Reads from the followed file's offset towards `len`, one step at most.
fn read_from(f: &mut Followed, len: u64) -> std::io::Result<Vec<u8>> {
    let want = (len - f.offset).min(READ_STEP);
    f.file.seek(SeekFrom::Start(f.offset))?;
    let mut buf = Vec::with_capacity(want as usize);
    (&mut f.file).take(want).read_to_end(&mut buf)?;
    f.offset += buf.len() as u64;
    Ok(buf)
}
