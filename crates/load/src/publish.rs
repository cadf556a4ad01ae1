//! `fanout`'s publisher: one stamped message per tick, as an HTTP `POST`
//! to a push endpoint (several under way at once) or on a WebSocket.

use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};

use crate::report::Tally;
use crate::stamp::{latency_nanos, stamped};
use crate::{dial, dial_options};

/// Publishes done and failed (the first failure is printed), and how long
/// each took.
#[derive(Debug, Default)]
pub struct Published {
    /// Messages published (a POST answered 200, or a message sent).
    pub published: u64,
    /// Publishes that failed.
    pub errors: u64,
    /// From each message's stamp until its POST was answered (or, on a
    /// WebSocket, until it was sent): the publishing part of a delivery's
    /// latency, which on HTTP includes connecting and the server's answer.
    pub latency: Tally,
}

impl Published {
    /// Counts the publish of `msg`, timed from its stamp (made `start`'s
    /// way, as the subscribers read it).
    fn count(&mut self, result: anyhow::Result<()>, start: Instant, msg: &[u8]) {
        match result {
            Ok(()) => {
                self.published += 1;
                if let Some(nanos) = latency_nanos(start, msg) {
                    self.latency.record_latency(nanos);
                }
            }
            Err(e) => {
                if self.errors == 0 {
                    eprintln!("switchyard-load: publishing failed: {e:#}");
                }
                self.errors += 1;
            }
        }
    }
}

/// Where messages are published.
pub enum Publisher {
    /// `host:port` (to connect to, and for the `Host` header) and the path.
    Http { authority: String, path: String },
    /// Messages on a WebSocket connection.
    Ws(switchyard_endpoint::BoxConnection),
}

/// How a [`Publisher`] publishes.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// What stamps are read against.
    pub start: Instant,
    /// No message is published from then on.
    pub deadline: Instant,
    /// Messages per second.
    pub rate: f64,
    /// Bytes per message.
    pub size: usize,
    /// HTTP publishes under way at once.
    pub posts_in_flight: usize,
}

impl Publisher {
    /// `http://HOST:PORT/PATH`, or a WebSocket URL (connected now).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if let Some(rest) = url.strip_prefix("http://") {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let path = if path.is_empty() { "/" } else { path };
            return Ok(Publisher::Http {
                authority: authority.to_string(),
                path: path.to_string(),
            });
        }
        let target = url.parse().map_err(|e| anyhow::anyhow!("--publish: {e}"))?;
        let options = dial_options(
            switchyard_endpoint::StreamFraming::Raw,
            true,
            1 << 20,
            None,
            false,
        )?;
        Ok(Publisher::Ws(dial(&target, &options).await?))
    }

    /// Publishes from now until the deadline, one message per tick, each
    /// stamped when its tick comes.
    pub async fn run(&mut self, schedule: Schedule) -> Published {
        let Schedule {
            start,
            deadline,
            rate,
            size,
            posts_in_flight,
        } = schedule;
        let interval = Duration::from_secs_f64(1.0 / rate);
        let ticks = futures::stream::unfold(Instant::now(), |next| async move {
            if next >= deadline {
                return None;
            }
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                switchyard_rt::sleep(wait).await;
            }
            Some((stamped(start, size), next + interval))
        });
        futures::pin_mut!(ticks);
        let mut outcome = Published::default();
        match self {
            // Each POST on its own connection, several under way at once: a
            // server slow to answer one does not hold back the rate.
            Publisher::Http { authority, path } => {
                let (authority, path) = (&*authority, &*path);
                let mut posts = ticks
                    .map(|msg| async move { (post(authority, path, &msg).await, msg) })
                    .buffer_unordered(posts_in_flight);
                while let Some((result, msg)) = posts.next().await {
                    outcome.count(result, start, &msg);
                }
            }
            Publisher::Ws(conn) => {
                while let Some(msg) = ticks.next().await {
                    let sent = conn.send(msg.clone()).await.map_err(anyhow::Error::from);
                    outcome.count(sent, start, &msg);
                }
            }
        }
        outcome
    }
}

/// One `POST` of `msg` to `path`, on a new connection; an error unless 200.
async fn post(authority: &str, path: &str, msg: &[u8]) -> anyhow::Result<()> {
    let mut stream =
        switchyard_tcp::connect(authority, switchyard_tcp::DEFAULT_CONNECT_TIMEOUT).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        msg.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(msg).await?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).await?;
    anyhow::ensure!(
        &status[9..12] == b"200",
        "push answered {}",
        String::from_utf8_lossy(&status)
    );
    Ok(())
}
