//! The relay core: two message connections joined, whatever their transports.

use std::sync::atomic::{AtomicU64, Ordering};
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

/// Copies messages from `source` to `sink` until the source ends, then
/// closes the sink (TCP: shuts down its write half; WebSocket: closes with
/// 1000). Each message is sent before the next is read, so a slow sink
/// slows the source down: nothing queues in between.
async fn carry<S, K>(source: &mut S, sink: &mut K, counters: &Counters) -> DirectionEnd
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
    K: Sink<Bytes, Error = Error> + Unpin,
{
    let mut end = DirectionEnd::SourceClosed;
    loop {
        match source.next().await {
            Some(Ok(msg)) => {
                let len = msg.len() as u64;
                if let Err(e) = sink.send(msg).await {
                    return DirectionEnd::DestinationFailed(e);
                }
                counters.bytes.fetch_add(len, Ordering::Relaxed);
                counters.messages.fetch_add(1, Ordering::Relaxed);
            }
            Some(Err(e)) if !e.is_fatal() => {
                // One bad message (an over-long line, a truncated datagram):
                // dropped, and the relay goes on.
                tracing::debug!(error = %e, "message dropped by the relay");
            }
            Some(Err(e)) => {
                end = DirectionEnd::SourceFailed(e);
                break;
            }
            None => break,
        }
    }
    let _ = sink.close().await;
    end
}

/// Relays between `a` and `b` in both directions until both directions
/// have ended, or one has and the other then carries nothing for `linger`
/// (a UDP side never ends by itself; a stream still flowing is not cut). Backpressure holds end to end: each
/// direction forwards one message at a time, so memory stays bounded by the
/// two connections' own buffers whatever the rates.
///
/// ```
/// # async_std::task::block_on(async {
/// use std::time::Duration;
/// use futures::{SinkExt, StreamExt};
/// use switchyard_bridge::relay;
/// use switchyard_udp::UdpSocket;
///
/// // client <-> [a  relay  b] <-> echo server, all UDP on loopback.
/// let (client, a) = (UdpSocket::bind("127.0.0.1:0").await?, UdpSocket::bind("127.0.0.1:0").await?);
/// let (b, server) = (UdpSocket::bind("127.0.0.1:0").await?, UdpSocket::bind("127.0.0.1:0").await?);
/// let (client_addr, a_addr, b_addr, server_addr) =
///     (client.local_addr()?, a.local_addr()?, b.local_addr()?, server.local_addr()?);
/// let mut client = client.connect(a_addr).await?;
/// let mut server = server.connect(b_addr).await?;
/// let relaying = async_std::task::spawn(relay(a.connect(client_addr).await?, b.connect(server_addr).await?, Duration::from_millis(100)));
///
/// client.send("ping".into()).await?;
/// let msg = server.next().await.unwrap()?;
/// server.send(msg).await?;
/// assert_eq!(client.next().await.unwrap()?, "ping");
/// # drop(relaying);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn relay<A, B>(a: A, b: B, linger: Duration) -> RelayReport
where
    A: MessageConnection + Unpin,
    B: MessageConnection + Unpin,
{
    let started = Instant::now();
    let (forward_count, backward_count) = (Counters::default(), Counters::default());
    let (mut a_sink, mut a_stream) = a.split();
    let (mut b_sink, mut b_stream) = b.split();
    let forward = Box::pin(carry(&mut a_stream, &mut b_sink, &forward_count));
    let backward = Box::pin(carry(&mut b_stream, &mut a_sink, &backward_count));
    let (a_to_b, b_to_a) = match select(forward, backward).await {
        Either::Left((done, rest)) => (done, finish(rest, &backward_count, linger).await),
        Either::Right((done, rest)) => (finish(rest, &forward_count, linger).await, done),
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
