//! A log file, live in the browser, as in the documents: the page shows the
//! last lines, then every line appended as it is written. It survives the
//! file being truncated or replaced (log rotation).
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
//! with a notice instead of held. Each page gets the last `--lines` lines,
//! then everything new, as text messages.

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
use switchyard::frame::{Error, Framing, Lines};
use switchyard::ws::{
    run_subscriber, Hub, HubConfig, PushConfig, Router, ServerIo, WsConnection, WsServerConfig,
};

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

/// The last lines, and the hub that carries new ones. Lines are recorded
/// and published under one lock, so a page that joins under the same lock
/// sees each line exactly once.
struct Tail {
    recent: Mutex<VecDeque<Bytes>>,
    keep: usize,
    hub: Hub,
}

impl Tail {
    fn add(&self, line: Bytes) {
        // Pages read text: a line that is not UTF-8 (a binary or Latin-1
        // log) is shown with U+FFFD where its bad bytes were.
        let line = match std::str::from_utf8(&line) {
            Ok(_) => line,
            Err(_) => Bytes::from(String::from_utf8_lossy(&line).into_owned()),
        };
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == self.keep {
            recent.pop_front();
        }
        recent.push_back(line.clone());
        // An in-memory hub has published by the time `publish` returns:
        // its answer is ready, and nothing here waits.
        if let Some(Err(e)) = self.hub.publish(TOPIC, line).now_or_never() {
            tracing::warn!(error = %e, "line not published");
        }
    }
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let tail = Arc::new(Tail {
        recent: Mutex::new(VecDeque::with_capacity(args.lines)),
        keep: args.lines.max(1),
        hub: Hub::new(HubConfig::default()),
    });
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
        .websocket("/ws", move |conn, _| watch(tail.clone(), conn));
    switchyard::rt::block_on(common::serve_ws(
        &args.addr,
        WsServerConfig::default(),
        router,
    ))
}

/// One page: the recent lines, then every new one.
async fn watch(tail: Arc<Tail>, conn: WsConnection<ServerIo>) {
    let mut sub = tail.hub.subscribe();
    let recent: Vec<Bytes> = {
        let recent = tail.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if sub.join(TOPIC).is_err() {
            return;
        }
        recent.iter().cloned().collect()
    };
    // The hub carries text: lines were made UTF-8 as they were read.
    let mut lines = conn.text();
    for line in recent {
        if lines.feed(line).await.is_err() {
            return;
        }
    }
    if lines.flush().await.is_err() {
        return;
    }
    let ignore = |_: &mut _, _| std::future::ready(None);
    run_subscriber(lines.into_inner(), sub, &PushConfig::default(), ignore).await;
}

/// The file being followed: which one (by inode) and how far it was read.
struct Followed {
    file: File,
    inode: u64,
    offset: u64,
}

/// Polls `path` for ever, handing each new line to `tail`.
fn follow(path: &PathBuf, poll: Duration, tail: &Tail) {
    let mut lines = Lines::default();
    let mut pending = BytesMut::new();
    let mut followed: Option<Followed> = None;
    let mut warned = false;
    loop {
        match step(path, &mut followed, &mut pending) {
            Ok(()) => warned = false,
            // Gone for a moment (mid-rotation) or unreadable: keep what is
            // known, and judge the file by its inode when it is back.
            Err(e) if !warned => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the file; waiting for it");
                warned = true;
            }
            Err(_) => {}
        }
        loop {
            match lines.decode(&mut pending) {
                Ok(Some(line)) => {
                    tail.add(Bytes::from(String::from_utf8_lossy(&line).into_owned()))
                }
                Ok(None) => break,
                Err(Error::LineTooLong { max }) => tail.add(Bytes::from(format!(
                    "[a line over {max} bytes was skipped]"
                ))),
                Err(_) => break,
            }
        }
        std::thread::sleep(poll);
    }
}

/// One look at the file: reopen it if it was replaced, start over if it was
/// truncated, and read what was appended.
fn step(
    path: &PathBuf,
    followed: &mut Option<Followed>,
    pending: &mut BytesMut,
) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    let replaced = followed.as_ref().is_some_and(|f| f.inode != meta.ino());
    if followed.is_none() || replaced {
        let first = followed.is_none();
        let file = File::open(path)?;
        // At first, start near the end; after a rotation, at the start.
        let offset = if first {
            meta.len().saturating_sub(LOOK_BACK)
        } else {
            0
        };
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
            return Ok(());
        }
    }
    let Some(f) = followed.as_mut() else {
        return Ok(());
    };
    if meta.len() < f.offset {
        f.offset = 0; // truncated
        pending.clear();
    }
    if meta.len() > f.offset {
        pending.extend_from_slice(&read_from(f, meta.len())?);
    }
    Ok(())
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
