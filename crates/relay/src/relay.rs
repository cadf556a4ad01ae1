//! The relay core: two message connections joined, whatever their transports.
//!
//! Both directions, both sides' heartbeats, the shutdown signal and every
//! timer run in one poll function over the two connections, unsplit: a
//! direction blocked on its destination never stops the other side's
//! heartbeat, a shutdown or a time-out from being noticed.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Sink;
use switchyard_frame::{
    Error, ForwardHooks, Forwarded, Forwarder, Keepalive, MessageConnection, Verdict,
};
use switchyard_rt::Deadline;

/// How one direction of a relay ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum DirectionEnd {
    /// The source ended cleanly; the destination was closed after it (a
    /// TCP write half shut, a WebSocket closed with 1000).
    SourceClosed,
    /// Reading the source failed.
    SourceFailed(Error),
    /// Writing to the destination failed.
    DestinationFailed(Error),
    /// The destination had been closed by its own peer (a WebSocket whose
    /// peer sent its close): what this direction still carried had nowhere
    /// to go. Not a failure: the other direction says how the peer left.
    DestinationClosed,
    /// The destination refused a message that cannot be left out: one too
    /// large for it ([`Error::TooLargeToSend`]), which could be neither cut
    /// nor skipped without corrupting the stream.
    Refused(Error),
    /// The destination took nothing for the relay's send time-out while a
    /// message waited for it.
    Stalled(Duration),
    /// The other direction ended and this one was given up after the linger.
    Abandoned,
    /// The other direction failed, and this one ended with it.
    Cut,
    /// Nothing moved either way for the relay's idle timeout.
    Idle,
    /// The relay was shut down: this direction took nothing more, and what
    /// it had taken was delivered.
    Shutdown,
}

impl DirectionEnd {
    /// Whether this direction ended in an error (of its source or its
    /// destination, a message refused, a destination stalled) rather than
    /// by an end of stream, a linger, an idle timeout or a shutdown.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            DirectionEnd::SourceFailed(_)
                | DirectionEnd::DestinationFailed(_)
                | DirectionEnd::Refused(_)
                | DirectionEnd::Stalled(_)
        )
    }
}

impl std::fmt::Display for DirectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirectionEnd::SourceClosed => f.write_str("closed"),
            DirectionEnd::SourceFailed(e) => write!(f, "read failed: {e}"),
            DirectionEnd::DestinationFailed(e) => write!(f, "write failed: {e}"),
            DirectionEnd::DestinationClosed => f.write_str("destination closed by its peer"),
            DirectionEnd::Refused(e) => write!(f, "refused: {e}"),
            DirectionEnd::Stalled(after) => {
                write!(f, "stalled: the destination took nothing for {after:?}")
            }
            DirectionEnd::Abandoned => f.write_str("abandoned after the linger"),
            DirectionEnd::Cut => f.write_str("cut: the other direction failed"),
            DirectionEnd::Idle => f.write_str("idle timeout"),
            DirectionEnd::Shutdown => f.write_str("shut down"),
        }
    }
}

/// How long a relay lets things run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayConfig {
    /// Once one direction has ended, the other is given up after this long
    /// with no message (a UDP side never ends by itself; a stream still
    /// flowing is not cut). At a shutdown, how long delivering what was
    /// already taken may go without progress. Default 2 s.
    pub linger: Duration,
    /// The relay ends when no message has moved either way for this long.
    /// Default none: TCP and WebSocket sides have their own timeouts and
    /// heartbeats; UDP sessions want one (the bridge uses 60 s).
    pub idle: Option<Duration>,
    /// A direction whose destination takes nothing for this long while a
    /// message waits for it ends the relay, as a failure of that
    /// destination (nginx's `proxy_send_timeout`). It is what releases a
    /// session whose target stopped reading while its client went silent:
    /// a side that is not read cannot be heard from. Default 60 s.
    pub send_timeout: Option<Duration>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            linger: Duration::from_secs(2),
            idle: None,
            send_timeout: Some(Duration::from_secs(60)),
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

    /// Sets [`send_timeout`](Self::send_timeout); `None` turns it off.
    pub fn send_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.send_timeout = timeout;
        self
    }
}

/// What a relay carried, and how it ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct RelayReport {
    /// Payload bytes from the first connection delivered to the second
    /// (flushed to it).
    pub bytes_a_to_b: u64,
    /// Payload bytes from the second connection delivered to the first.
    pub bytes_b_to_a: u64,
    /// Messages from the first connection delivered to the second.
    pub messages_a_to_b: u64,
    /// Messages from the second connection delivered to the first.
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

/// One direction's hooks: counts what is delivered (once flushed), skips a
/// message its destination refuses (text that is not UTF-8) but stops at
/// one too large for it, and drops what its source drops.
#[derive(Debug)]
struct Carrying<'m> {
    /// Where delivered bytes are counted as they go (a [`RelayMeter`]'s).
    live: &'m AtomicU64,
    /// Handed to the destination, not yet flushed.
    pending_bytes: u64,
    pending_messages: u64,
    bytes: u64,
    messages: u64,
    skipped: u64,
    /// When a message last moved along (handed over or flushed).
    progress: Instant,
}

impl<'m> Carrying<'m> {
    fn new(now: Instant, live: &'m AtomicU64) -> Self {
        Self {
            live,
            pending_bytes: 0,
            pending_messages: 0,
            bytes: 0,
            messages: 0,
            skipped: 0,
            progress: now,
        }
    }
}

impl ForwardHooks for Carrying<'_> {
    fn queued(&mut self, len: usize) {
        self.pending_bytes += len as u64;
        self.pending_messages += 1;
        self.progress = Instant::now();
    }

    fn flushed(&mut self) {
        let bytes = std::mem::take(&mut self.pending_bytes);
        if bytes > 0 {
            self.live.fetch_add(bytes, Ordering::Relaxed);
        }
        self.bytes += bytes;
        self.messages += std::mem::take(&mut self.pending_messages);
        self.progress = Instant::now();
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
        self.skipped += 1;
        Verdict::Skip
    }
}

/// One direction of a relay.
#[derive(Debug)]
struct Direction<'m> {
    forwarder: Forwarder,
    hooks: Carrying<'m>,
    /// Its source ended cleanly and its destination is being closed.
    closing: bool,
    /// Since when the forwarder has held a message its destination has not
    /// taken, without progress.
    waiting_since: Option<Instant>,
    end: Option<DirectionEnd>,
    ended_at: Option<Instant>,
}

impl<'m> Direction<'m> {
    fn new(now: Instant, live: &'m AtomicU64) -> Self {
        Self {
            forwarder: Forwarder::new(),
            hooks: Carrying::new(now, live),
            closing: false,
            waiting_since: None,
            end: None,
            ended_at: None,
        }
    }

    fn end(&mut self, end: DirectionEnd) {
        if self.end.is_none() {
            self.end = Some(end);
            self.ended_at = Some(Instant::now());
        }
    }

    fn is_running(&self) -> bool {
        self.end.is_none()
    }

    fn failed(&self) -> bool {
        self.end.as_ref().is_some_and(DirectionEnd::is_failure)
    }

    /// Moves messages from `source` to `destination`, closing the
    /// destination once the source has ended cleanly.
    fn poll_run<S, D>(&mut self, cx: &mut Context<'_>, source: &mut S, destination: &mut D)
    where
        S: MessageConnection + Unpin,
        D: MessageConnection + Unpin,
    {
        if !self.is_running() {
            return;
        }
        if !self.closing {
            let step = self.forwarder.poll_forward(
                cx,
                Pin::new(&mut *source),
                Pin::new(&mut *destination),
                &mut self.hooks,
            );
            match step {
                Poll::Pending => {}
                Poll::Ready(Forwarded::SourceEnded) => self.closing = true,
                Poll::Ready(Forwarded::SourceFailed(e)) => self.end(DirectionEnd::SourceFailed(e)),
                Poll::Ready(Forwarded::SinkFailed(Error::Closed)) => {
                    self.end(DirectionEnd::DestinationClosed)
                }
                Poll::Ready(Forwarded::SinkFailed(e)) => {
                    self.end(DirectionEnd::DestinationFailed(e))
                }
                Poll::Ready(Forwarded::Stopped(e)) => self.end(DirectionEnd::Refused(e)),
                Poll::Ready(_) => self.end(DirectionEnd::Abandoned),
            }
        }
        if self.closing {
            // The end of one stream is carried on: a TCP destination gets
            // its write half shut, a WebSocket a close with 1000.
            if let Poll::Ready(closed) = Pin::new(&mut *destination).poll_close(cx) {
                if let Err(e) = closed {
                    tracing::debug!(error = %e, "closing a relay destination failed");
                }
                self.end(DirectionEnd::SourceClosed);
            }
        }
        self.track_waiting();
    }

    /// At a shutdown: delivers what was taken, takes nothing more.
    fn poll_deliver<D>(&mut self, cx: &mut Context<'_>, destination: &mut D)
    where
        D: Sink<switchyard_frame::Bytes, Error = Error> + Unpin,
    {
        if !self.is_running() {
            return;
        }
        let delivered = if self.closing {
            Pin::new(&mut *destination).poll_close(cx).map(|_| Ok(()))
        } else {
            self.forwarder
                .poll_deliver(cx, Pin::new(&mut *destination), &mut self.hooks)
        };
        match delivered {
            Poll::Ready(Ok(())) => self.end(DirectionEnd::Shutdown),
            Poll::Ready(Err(e @ Error::TooLargeToSend { .. })) => {
                self.end(DirectionEnd::Refused(e))
            }
            Poll::Ready(Err(Error::Closed)) => self.end(DirectionEnd::DestinationClosed),
            Poll::Ready(Err(e)) => self.end(DirectionEnd::DestinationFailed(e)),
            Poll::Pending => {}
        }
    }

    fn track_waiting(&mut self) {
        // A destination being closed is waited on like one being written.
        if self.forwarder.is_idle() && !self.closing {
            self.waiting_since = None;
        } else if self.waiting_since.is_none() {
            self.waiting_since = Some(Instant::now());
        }
    }

    /// When the destination will have stalled, if a message waits for it
    /// (none for a time-out too long to reach).
    fn stall_deadline(&self, send_timeout: Option<Duration>) -> Option<Instant> {
        let since = self.waiting_since?.max(self.hooks.progress);
        since.checked_add(send_timeout?)
    }
}

/// Whether the relay is over: both directions ended, or one failed (the
/// other is then cut: the caller says why).
fn ended(forward: &mut Direction<'_>, backward: &mut Direction<'_>) -> bool {
    if forward.failed() || backward.failed() {
        forward.end(DirectionEnd::Cut);
        backward.end(DirectionEnd::Cut);
    }
    !forward.is_running() && !backward.is_running()
}

/// Relays between `a` and `b` in both directions until both directions
/// have ended, or one has and the other then carries nothing for the
/// [`linger`](RelayConfig::linger), or nothing moves at all for the
/// [`idle`](RelayConfig::idle) timeout, or a destination takes nothing for
/// the [`send_timeout`](RelayConfig::send_timeout), or either direction
/// fails (the other then ends at once: [`DirectionEnd::Cut`]).
///
/// Backpressure holds end to end: each direction takes a message from its
/// source only when the destination's sink has room for it, so memory stays
/// bounded by the two connections' own buffers whatever the rates. Messages
/// already received go out together, in one write. Both sides' heartbeats
/// ([`Keepalive`]) run whatever the directions are doing.
///
/// A source that ends cleanly has the other side's sink closed (TCP: its
/// write half shut down; WebSocket: a close with 1000). A source that fails
/// leaves the other side open, so that the caller can close it saying why;
/// pass `&mut connection` to keep it for that.
///
/// ```
/// # switchyard_relay::rt::block_on(async {
/// use std::time::Duration;
/// use futures::{SinkExt, StreamExt};
/// use switchyard_relay::frame::{Framed, Lines};
/// use switchyard_relay::rt::net::{TcpListener, TcpStream};
/// use switchyard_relay::{relay, RelayConfig};
///
/// // client <-> [a  relay  b] <-> echo server, TCP on loopback, a line a message.
/// let lines = |stream| Framed::new(stream, Lines::new(1024));
/// let (to_a, to_b) = (TcpListener::bind("127.0.0.1:0").await?, TcpListener::bind("127.0.0.1:0").await?);
/// let mut client = lines(TcpStream::connect(to_a.local_addr()?).await?);
/// let mut server = lines(TcpStream::connect(to_b.local_addr()?).await?);
/// let (a, b) = (lines(to_a.accept().await?.0), lines(to_b.accept().await?.0));
/// let config = RelayConfig::default().linger(Duration::from_millis(100));
/// let relaying = switchyard_relay::rt::spawn(relay(a, b, config));
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
    A: MessageConnection + Keepalive + Unpin,
    B: MessageConnection + Keepalive + Unpin,
{
    relay_until(a, b, config, std::future::pending()).await
}

/// [`relay`], until `shutdown` resolves: then neither direction takes
/// anything more from its source, what each has already taken is
/// delivered (given up after the [`linger`](RelayConfig::linger) without
/// progress), and the relay returns with [`DirectionEnd::Shutdown`]. The
/// connections are left open for the caller to close saying why (a
/// WebSocket with 1001).
pub async fn relay_until<A, B, S>(a: A, b: B, config: RelayConfig, shutdown: S) -> RelayReport
where
    A: MessageConnection + Keepalive + Unpin,
    B: MessageConnection + Keepalive + Unpin,
    S: Future<Output = ()>,
{
    relay_metered(a, b, config, shutdown, &RelayMeter::default()).await
}

/// The relay's clocks, at each turn: after the first end (a direction's,
/// or the shutdown) a running direction is given up after the linger
/// without progress; before a shutdown, a direction whose destination
/// takes nothing for the send time-out is stalled, and the relay ends when
/// nothing has moved either way for the idle time-out. Ends the directions
/// whose time is up; the next deadline, if any.
fn deadlines<'m>(
    config: &RelayConfig,
    shutting_down: Option<Instant>,
    forward: &mut Direction<'m>,
    backward: &mut Direction<'m>,
) -> Option<Instant> {
    let now = Instant::now();
    let mut next: Option<Instant> = None;
    let mut at = |deadline: Instant| next = Some(next.map_or(deadline, |n| n.min(deadline)));
    // Delivering at a shutdown, or the rest after one direction ended
    // cleanly: given up after the linger without progress.
    let first_end = forward.ended_at.or(backward.ended_at).or(shutting_down);
    if let Some(first_end) = first_end {
        for direction in [&mut *forward, &mut *backward] {
            if direction.is_running() {
                let since = direction.hooks.progress.max(first_end);
                match since.checked_add(config.linger) {
                    Some(deadline) if now < deadline => at(deadline),
                    Some(_) => direction.end(DirectionEnd::Abandoned),
                    None => {}
                }
            }
        }
    }
    if shutting_down.is_none() {
        for direction in [&mut *forward, &mut *backward] {
            if !direction.is_running() {
                continue;
            }
            if let Some(deadline) = direction.stall_deadline(config.send_timeout) {
                if now >= deadline {
                    let after = config.send_timeout.unwrap_or_default();
                    direction.end(DirectionEnd::Stalled(after));
                } else {
                    at(deadline);
                }
            }
        }
        if let Some(idle) = config.idle {
            let last = forward.hooks.progress.max(backward.hooks.progress);
            match last.checked_add(idle) {
                Some(deadline) if now < deadline => at(deadline),
                Some(_) => {
                    forward.end(DirectionEnd::Idle);
                    backward.end(DirectionEnd::Idle);
                }
                None => {}
            }
        }
    }
    next
}

/// Bytes delivered by relays while they run, each direction counted as
/// soon as it is flushed to its destination: what a metrics page shows of
/// sessions still open (a [`RelayReport`] comes only at the end). One
/// meter may serve many relays at once.
///
/// ```
/// # switchyard_relay::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use std::sync::atomic::Ordering;
/// use switchyard_relay::frame::{Framed, Lines};
/// use switchyard_relay::rt::net::{TcpListener, TcpStream};
/// use switchyard_relay::{relay_metered, RelayConfig, RelayMeter};
///
/// // client <-> [a  relay  b] <-> server, as in relay's example.
/// let lines = |stream| Framed::new(stream, Lines::new(1024));
/// let (to_a, to_b) = (TcpListener::bind("127.0.0.1:0").await?, TcpListener::bind("127.0.0.1:0").await?);
/// let mut client = lines(TcpStream::connect(to_a.local_addr()?).await?);
/// let mut server = lines(TcpStream::connect(to_b.local_addr()?).await?);
/// let (a, b) = (lines(to_a.accept().await?.0), lines(to_b.accept().await?.0));
/// let meter = std::sync::Arc::new(RelayMeter::default());
/// let m = meter.clone();
/// let relaying = switchyard_relay::rt::spawn(async move {
///     relay_metered(a, b, RelayConfig::default(), std::future::pending(), &m).await
/// });
///
/// client.send("ping".into()).await?;
/// assert_eq!(server.next().await.unwrap()?, "ping");
/// // Counted while the relay still runs, once it has seen its flush done
/// // (which can be just after the datagram arrives).
/// let started = std::time::Instant::now();
/// while meter.a_to_b.load(Ordering::Relaxed) < 4 && started.elapsed().as_secs() < 5 {
///     switchyard_relay::rt::sleep(std::time::Duration::from_millis(5)).await;
/// }
/// assert_eq!(meter.a_to_b.load(Ordering::Relaxed), 4);
/// # drop(relaying);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RelayMeter {
    /// Payload bytes delivered from the first connection to the second.
    pub a_to_b: AtomicU64,
    /// Payload bytes delivered from the second connection to the first.
    pub b_to_a: AtomicU64,
}

/// [`relay_until`], counting delivered bytes in `meter` as they go.
pub async fn relay_metered<A, B, S>(
    mut a: A,
    mut b: B,
    config: RelayConfig,
    shutdown: S,
    meter: &RelayMeter,
) -> RelayReport
where
    A: MessageConnection + Keepalive + Unpin,
    B: MessageConnection + Keepalive + Unpin,
    S: Future<Output = ()>,
{
    let started = Instant::now();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shutting_down: Option<Instant> = None;
    let mut forward = Direction::new(started, &meter.a_to_b);
    let mut backward = Direction::new(started, &meter.b_to_a);
    let mut timer = Deadline::new();
    poll_fn(|cx| loop {
        if shutting_down.is_none() && shutdown.as_mut().poll(cx).is_ready() {
            shutting_down = Some(Instant::now());
        }
        if shutting_down.is_some() {
            forward.poll_deliver(cx, &mut b);
            backward.poll_deliver(cx, &mut a);
        } else {
            // Once either direction has failed, the other takes no further
            // step: a source that ends cleanly now must not close its
            // destination with 1000 when the session has already failed
            // (a killed target: one side's write sees the reset, the other
            // side's read then sees a plain end of stream).
            if !forward.failed() && !backward.failed() {
                forward.poll_run(cx, &mut a, &mut b);
            }
            if !forward.failed() && !backward.failed() {
                backward.poll_run(cx, &mut b, &mut a);
            }
            // Then each side's heartbeat, once what has arrived was read (a
            // pong may be among it): a side found dead ends the direction
            // it is the source of.
            if let Poll::Ready(e) = Pin::new(&mut a).poll_keepalive(cx) {
                forward.end(DirectionEnd::SourceFailed(e));
            }
            if let Poll::Ready(e) = Pin::new(&mut b).poll_keepalive(cx) {
                backward.end(DirectionEnd::SourceFailed(e));
            }
        }
        // A failure ends the relay at once: the caller says why.
        if ended(&mut forward, &mut backward) {
            return Poll::Ready(());
        }
        let next = deadlines(&config, shutting_down, &mut forward, &mut backward);
        if ended(&mut forward, &mut backward) {
            return Poll::Ready(());
        }
        match next {
            // Fired, or already passed: look again.
            Some(deadline) if timer.poll_at(cx, deadline).is_ready() => continue,
            _ => return Poll::Pending,
        }
    })
    .await;
    let (a_to_b, b_to_a) = (
        forward.end.unwrap_or(DirectionEnd::Abandoned),
        backward.end.unwrap_or(DirectionEnd::Abandoned),
    );
    RelayReport {
        bytes_a_to_b: forward.hooks.bytes,
        bytes_b_to_a: backward.hooks.bytes,
        messages_a_to_b: forward.hooks.messages,
        messages_b_to_a: backward.hooks.messages,
        skipped_a_to_b: forward.hooks.skipped,
        skipped_b_to_a: backward.hooks.skipped,
        a_to_b,
        b_to_a,
        duration: started.elapsed(),
    }
}
