//! The relay core: two message connections joined, whatever their transports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::{select, Either};
use futures::{Sink, SinkExt, Stream, StreamExt};
use switchyard_frame::{forward, Error, ForwardHooks, Forwarded, MessageConnection, Verdict};

/// How one direction of a relay ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum DirectionEnd {
    /// The source ended cleanly.
    SourceClosed,
    /// Reading the source failed.
    SourceFailed(Error),
    /// Writing to the destination failed.
    DestinationFailed(Error),
    /// The destination refused a message that cannot be left out: one too
    /// large for it ([`Error::TooLargeToSend`]), which could be neither cut
    /// nor skipped without corrupting the stream.
    Refused(Error),
    /// The other direction ended and this one was given up after the linger.
    Abandoned,
    /// Nothing moved either way for the relay's idle timeout.
    Idle,
}

impl DirectionEnd {
    /// Whether this direction ended in an error (of its source or its
    /// destination, or a message refused) rather than by an end of stream,
    /// a linger or an idle timeout.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            DirectionEnd::SourceFailed(_)
                | DirectionEnd::DestinationFailed(_)
                | DirectionEnd::Refused(_)
        )
    }
}

impl std::fmt::Display for DirectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirectionEnd::SourceClosed => f.write_str("closed"),
            DirectionEnd::SourceFailed(e) => write!(f, "read failed: {e}"),
            DirectionEnd::DestinationFailed(e) => write!(f, "write failed: {e}"),
            DirectionEnd::Refused(e) => write!(f, "refused: {e}"),
            DirectionEnd::Abandoned => f.write_str("abandoned after the linger"),
            DirectionEnd::Idle => f.write_str("idle timeout"),
        }
    }
}

/// How long a relay lets things run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayConfig {
    /// Once one direction has ended, the other is given up after this long
    /// with no message (a UDP side never ends by itself; a stream still
    /// flowing is not cut). Default 2 s.
    pub linger: Duration,
    /// The relay ends when no message has moved either way for this long.
    /// Default none: TCP and WebSocket sides have their own timeouts and
    /// heartbeats; UDP sessions want one (the bridge uses 60 s).
    pub idle: Option<Duration>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            linger: Duration::from_secs(2),
            idle: None,
        }
    }
}

impl RelayConfig {
    /// Sets [`linger`](Self::linger).
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Sets [`idle`](Self::idle); `None` turns it off.
    pub fn idle(mut self, idle: Option<Duration>) -> Self {
        self.idle = idle;
        self
    }
}

/// What a relay carried, and how it ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct RelayReport {
    /// Payload bytes from the first connection to the second.
    pub bytes_a_to_b: u64,
    /// Payload bytes from the second connection to the first.
    pub bytes_b_to_a: u64,
    /// Messages from the first connection to the second.
    pub messages_a_to_b: u64,
    /// Messages from the second connection to the first.
    pub messages_b_to_a: u64,
    /// Messages the second connection refused and the relay left out (not
    /// UTF-8 for a text WebSocket); the relay went on.
    pub skipped_a_to_b: u64,
    /// Messages the first connection refused and the relay left out.
    pub skipped_b_to_a: u64,
    /// How the first-to-second direction ended.
    pub a_to_b: DirectionEnd,
    /// How the second-to-first direction ended.
    pub b_to_a: DirectionEnd,
    /// How long the relay ran.
    pub duration: Duration,
}

/// What one direction has carried so far, readable while it runs: bytes
/// and messages once flushed to the destination, so a count is what was
/// delivered, not what was taken.
#[derive(Default)]
struct Counters {
    bytes: AtomicU64,
    messages: AtomicU64,
    skipped: AtomicU64,
}

/// One direction's hooks: counts what is flushed, skips a message its
/// destination refuses (text that is not UTF-8) but stops at one too large
/// for it, and drops what its source drops.
struct Carrying<'a> {
    counters: &'a Counters,
    /// Handed to the destination, not yet flushed.
    bytes: u64,
    messages: u64,
}

impl ForwardHooks for Carrying<'_> {
    fn queued(&mut self, len: usize) {
        self.bytes += len as u64;
        self.messages += 1;
    }

    fn flushed(&mut self) {
        let (bytes, messages) = (
            std::mem::take(&mut self.bytes),
            std::mem::take(&mut self.messages),
        );
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.counters
            .messages
            .fetch_add(messages, Ordering::Relaxed);
    }

    fn dropped(&mut self, error: &Error) -> Verdict {
        // One bad message (an over-long line, a truncated datagram): left
        // out, and the relay goes on.
        tracing::debug!(%error, "message dropped by the relay");
        Verdict::Skip
    }

    fn refused(&mut self, error: &Error) -> Verdict {
        if matches!(error, Error::TooLargeToSend { .. }) {
            return Verdict::Stop;
        }
        tracing::debug!(%error, "message refused by its destination; skipped");
        self.counters.skipped.fetch_add(1, Ordering::Relaxed);
        Verdict::Skip
    }
}

/// Moves messages from `source` to `sink` (the [`forward`] loop: one write
/// per batch) until the source ends or either fails. A source that ends
/// cleanly has the sink closed; a source that fails leaves it open for the
/// caller, with what came before the failure flushed.
async fn carry<S, K>(source: &mut S, sink: &mut K, counters: &Counters) -> DirectionEnd
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
    K: Sink<Bytes, Error = Error> + Unpin,
{
    let mut hooks = Carrying {
        counters,
        bytes: 0,
        messages: 0,
    };
    match forward(source, sink, &mut hooks).await {
        Forwarded::SourceEnded => {
            let _ = sink.close().await;
            DirectionEnd::SourceClosed
        }
        Forwarded::SourceFailed(e) => DirectionEnd::SourceFailed(e),
        Forwarded::SinkFailed(e) => DirectionEnd::DestinationFailed(e),
        Forwarded::Stopped(e) => DirectionEnd::Refused(e),
        _ => DirectionEnd::Abandoned,
    }
}

/// Relays between `a` and `b` in both directions until both directions
/// have ended, or one has and the other then carries nothing for the
/// [`linger`](RelayConfig::linger), or nothing moves at all for the
/// [`idle`](RelayConfig::idle) timeout. Backpressure holds end to end: each
/// direction takes a message from its source only when the destination's
/// sink has room for it, so memory stays bounded by the two connections' own
/// buffers whatever the rates. Messages already received go out together,
/// in one write.
///
/// A source that ends cleanly has the other side's sink closed (TCP: its
/// write half shut down; WebSocket: a close with 1000). A source that fails
/// leaves the other side open, so that the caller can close it saying why;
/// pass `&mut connection` to keep it for that.
///
/// ```
/// # async_std::task::block_on(async {
/// use std::time::Duration;
/// use futures::{SinkExt, StreamExt};
/// use switchyard_bridge::{relay, RelayConfig};
/// use switchyard_udp::UdpSocket;
///
/// // client <-> [a  relay  b] <-> echo server, all UDP on loopback.
/// let (client, a) = (UdpSocket::bind("127.0.0.1:0").await?, UdpSocket::bind("127.0.0.1:0").await?);
/// let (b, server) = (UdpSocket::bind("127.0.0.1:0").await?, UdpSocket::bind("127.0.0.1:0").await?);
/// let (client_addr, a_addr, b_addr, server_addr) =
///     (client.local_addr()?, a.local_addr()?, b.local_addr()?, server.local_addr()?);
/// let mut client = client.connect(a_addr).await?;
/// let mut server = server.connect(b_addr).await?;
/// let config = RelayConfig::default().linger(Duration::from_millis(100));
/// let relaying = async_std::task::spawn(relay(a.connect(client_addr).await?, b.connect(server_addr).await?, config));
///
/// client.send("ping".into()).await?;
/// let msg = server.next().await.unwrap()?;
/// server.send(msg).await?;
/// assert_eq!(client.next().await.unwrap()?, "ping");
/// # drop(relaying);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn relay<A, B>(a: A, b: B, config: RelayConfig) -> RelayReport
where
    A: MessageConnection + Unpin,
    B: MessageConnection + Unpin,
{
    let started = Instant::now();
    let (forward_count, backward_count) = (Counters::default(), Counters::default());
    let (mut a_sink, mut a_stream) = a.split();
    let (mut b_sink, mut b_stream) = b.split();
    let mut forward = Box::pin(carry(&mut a_stream, &mut b_sink, &forward_count));
    let mut backward = Box::pin(carry(&mut b_stream, &mut a_sink, &backward_count));
    let moved = || {
        forward_count.messages.load(Ordering::Relaxed)
            + backward_count.messages.load(Ordering::Relaxed)
    };
    let mut seen = moved();
    let first = loop {
        let both = select(&mut forward, &mut backward);
        let Some(idle) = config.idle else {
            break Some(both.await);
        };
        match switchyard_rt::timeout(idle, "idle", both).await {
            Ok(first) => break Some(first),
            Err(_) if moved() == seen => break None,
            Err(_) => seen = moved(),
        }
    };
    let (a_to_b, b_to_a) = match first {
        Some(Either::Left((done, _))) => {
            (done, finish(backward, &backward_count, config.linger).await)
        }
        Some(Either::Right((done, _))) => {
            (finish(forward, &forward_count, config.linger).await, done)
        }
        None => (DirectionEnd::Idle, DirectionEnd::Idle),
    };
    RelayReport {
        bytes_a_to_b: forward_count.bytes.load(Ordering::Relaxed),
        bytes_b_to_a: backward_count.bytes.load(Ordering::Relaxed),
        messages_a_to_b: forward_count.messages.load(Ordering::Relaxed),
        messages_b_to_a: backward_count.messages.load(Ordering::Relaxed),
        skipped_a_to_b: forward_count.skipped.load(Ordering::Relaxed),
        skipped_b_to_a: backward_count.skipped.load(Ordering::Relaxed),
        a_to_b,
        b_to_a,
        duration: started.elapsed(),
    }
}

/// Lets the remaining direction run while it keeps carrying messages;
/// gives it up once `linger` passes with none.
async fn finish<F>(mut rest: F, counters: &Counters, linger: Duration) -> DirectionEnd
where
    F: std::future::Future<Output = DirectionEnd> + Unpin,
{
    let mut seen = counters.messages.load(Ordering::Relaxed);
    loop {
        match switchyard_rt::timeout(linger, "linger", &mut rest).await {
            Ok(end) => return end,
            Err(_) => {
                let now = counters.messages.load(Ordering::Relaxed);
                if now == seen {
                    return DirectionEnd::Abandoned;
                }
                seen = now;
            }
        }
    }
}
