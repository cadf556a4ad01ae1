//! The relay core: two message connections joined, whatever their transports.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::{select, Either};
use futures::{Sink, SinkExt, Stream, StreamExt};
use switchyard_frame::{Error, MessageConnection};

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
    /// The other direction ended and this one was given up after the linger.
    Abandoned,
    /// Nothing moved either way for the relay's idle timeout.
    Idle,
}

impl DirectionEnd {
    /// Whether this direction ended in an error (of its source or its
    /// destination) rather than by an end of stream, a linger or an idle
    /// timeout.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            DirectionEnd::SourceFailed(_) | DirectionEnd::DestinationFailed(_)
        )
    }
}

impl std::fmt::Display for DirectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirectionEnd::SourceClosed => f.write_str("closed"),
            DirectionEnd::SourceFailed(e) => write!(f, "read failed: {e}"),
            DirectionEnd::DestinationFailed(e) => write!(f, "write failed: {e}"),
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
    /// How the first-to-second direction ended.
    pub a_to_b: DirectionEnd,
    /// How the second-to-first direction ended.
    pub b_to_a: DirectionEnd,
    /// How long the relay ran.
    pub duration: Duration,
}

/// What one direction has carried so far, readable while it runs.
#[derive(Default)]
struct Counters {
    bytes: AtomicU64,
    messages: AtomicU64,
}

/// Moves messages from `source` to `sink` until the source ends or either
/// fails. Messages already received are queued together and flushed once
/// the source has nothing more ready: one write per batch rather than per
/// message, while a lone message still goes out at once.
async fn carry<S, K>(source: &mut S, sink: &mut K, counters: &Counters) -> DirectionEnd
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
    K: Sink<Bytes, Error = Error> + Unpin,
{
    let mut queued: Option<Bytes> = None;
    let mut unflushed = false;
    let end = poll_fn(|cx| loop {
        if let Some(msg) = queued.take() {
            match Pin::new(&mut *sink).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    let len = msg.len() as u64;
                    if let Err(e) = Pin::new(&mut *sink).start_send(msg) {
                        return Poll::Ready(Some(DirectionEnd::DestinationFailed(e)));
                    }
                    unflushed = true;
                    counters.bytes.fetch_add(len, Ordering::Relaxed);
                    counters.messages.fetch_add(1, Ordering::Relaxed);
                }
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Some(DirectionEnd::DestinationFailed(e)))
                }
                Poll::Pending => {
                    queued = Some(msg);
                    return Poll::Pending;
                }
            }
        }
        match Pin::new(&mut *source).poll_next(cx) {
            Poll::Ready(Some(Ok(msg))) => queued = Some(msg),
            Poll::Ready(Some(Err(e))) if !e.is_fatal() => {
                // One bad message (an over-long line, a truncated datagram):
                // dropped, and the relay goes on.
                tracing::debug!(error = %e, "message dropped by the relay");
            }
            // A failed source is not closed gracefully on the other side:
            // the caller says why (a WebSocket close code, say).
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(DirectionEnd::SourceFailed(e))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {
                if unflushed {
                    match Pin::new(&mut *sink).poll_flush(cx) {
                        Poll::Ready(Ok(())) => unflushed = false,
                        Poll::Ready(Err(e)) => {
                            return Poll::Ready(Some(DirectionEnd::DestinationFailed(e)))
                        }
                        Poll::Pending => {}
                    }
                }
                return Poll::Pending;
            }
        }
    })
    .await;
    match end {
        // What came before the failure still goes out.
        Some(DirectionEnd::SourceFailed(e)) => {
            let _ = sink.flush().await;
            DirectionEnd::SourceFailed(e)
        }
        Some(end) => end,
        None => {
            let _ = sink.close().await;
            DirectionEnd::SourceClosed
        }
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
