//! [`UdpListener`]: per-peer sessions over one UDP socket, for servers.
//!
//! UDP has no connections; a server that keeps state per client makes its
//! own. The listener's driver task receives every datagram, finds (or
//! makes) the sender's [`UdpSession`], and queues the datagram there. Each
//! session is a message connection of its own, so code written for TCP
//! connections serves UDP peers unchanged. Sessions end after an idle time,
//! and there are never more than a maximum.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::poll_fn;
use futures::{Sink, Stream};
use switchyard_frame::{Error, Keepalive};
use switchyard_rt::net::{Address, UdpSocket as RuntimeUdpSocket};
use switchyard_rt::{Shutdown, Timer};

use crate::datagram::{Outgoing, RecvBuffer, MAX_PAYLOAD};
use crate::UdpSocket;

/// Limits of a [`UdpListener`]'s sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Sessions open at once. Default 1024. Datagrams from new peers past
    /// the limit are dropped (and counted) until a session ends.
    pub max_sessions: usize,
    /// Sessions one IP address may hold at once (a peer is an address and
    /// a port: one host can make thousands). Default 64. Datagrams from
    /// that address's further ports are dropped (and counted) until one of
    /// its sessions ends, and other addresses still get theirs.
    pub max_sessions_per_ip: usize,
    /// A session with no datagram either way for this long ends. Default
    /// 60 s. It is checked a few times per period, so a session ends within
    /// 1.25 times the period.
    pub idle_timeout: Duration,
    /// Datagrams queued per session for its reader. Default 64; when full,
    /// more datagrams for that session are dropped (as the network might
    /// have), and the other sessions are not held up.
    pub queue: usize,
    /// New sessions waiting to be accepted. Default 64; past it, datagrams
    /// from further new peers are dropped.
    pub accept_backlog: usize,
    /// The largest datagram sent or received. Default [`MAX_PAYLOAD`].
    pub max_datagram: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_sessions: 1024,
            max_sessions_per_ip: 64,
            idle_timeout: Duration::from_secs(60),
            queue: 64,
            accept_backlog: 64,
            max_datagram: MAX_PAYLOAD,
        }
    }
}

impl SessionConfig {
    /// Sets [`max_sessions`](Self::max_sessions) (at least 1).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// Sets [`max_sessions_per_ip`](Self::max_sessions_per_ip) (at least 1).
    pub fn max_sessions_per_ip(mut self, max: usize) -> Self {
        self.max_sessions_per_ip = max.max(1);
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Sets [`queue`](Self::queue) (at least 1).
    pub fn queue(mut self, datagrams: usize) -> Self {
        self.queue = datagrams.max(1);
        self
    }

    /// Sets [`accept_backlog`](Self::accept_backlog) (at least 1).
    pub fn accept_backlog(mut self, sessions: usize) -> Self {
        self.accept_backlog = sessions.max(1);
        self
    }

    /// Sets [`max_datagram`](Self::max_datagram), capped at [`MAX_PAYLOAD`].
    pub fn max_datagram(mut self, max: usize) -> Self {
        self.max_datagram = max.min(MAX_PAYLOAD);
        self
    }
}

/// Counts of what a [`UdpListener`] has done, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Sessions open now.
    pub sessions_open: u64,
    /// Sessions made since the listener started.
    pub sessions_total: u64,
    /// Sessions that ended for being idle.
    pub sessions_expired: u64,
    /// Datagrams dropped: a session's queue full, the session limit (or its
    /// address's) or the accept backlog reached, or too large.
    pub datagrams_dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    open: AtomicU64,
    total: AtomicU64,
    expired: AtomicU64,
    dropped: AtomicU64,
}

/// When a session last saw a datagram either way, in milliseconds since
/// the listener started: shared by its driver entry and its sink.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }
}

/// A UDP server socket that sorts datagrams into per-peer sessions.
///
/// ```
/// # switchyard_udp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_udp::{SessionConfig, UdpListener, UdpSocket};
///
/// let listener = UdpListener::bind("127.0.0.1:0", SessionConfig::default()).await?;
/// let client = UdpSocket::bind("127.0.0.1:0").await?;
/// client.send_to(b"hello", listener.local_addr()?).await?;
///
/// let mut session = listener.accept().await?;
/// assert_eq!(session.peer_addr(), client.local_addr()?);
/// let msg = session.next().await.transpose()?.unwrap();
/// session.send(msg).await?; // echo, to this peer only
/// assert_eq!(&client.recv_from().await?.0[..], b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UdpListener {
    local_addr: SocketAddr,
    incoming: async_channel::Receiver<UdpSession>,
    counters: Arc<Counters>,
    /// Shared with the driver, which makes no new session once triggered;
    /// behind a lock so that [`UdpListener::with_shutdown`] can replace it.
    shutdown: Arc<Mutex<Shutdown>>,
}

impl UdpListener {
    /// Binds `addr` and starts the driver task that sorts datagrams into
    /// sessions. Dropping the listener stops the driver (within a check
    /// period) and ends every session's stream.
    pub async fn bind(addr: impl Into<Address>, config: SessionConfig) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)
            .await?
            .with_max_datagram(config.max_datagram);
        let local_addr = socket.local_addr()?;
        let (socket, max) = socket.into_parts();
        let (accept_tx, incoming) = async_channel::bounded(config.accept_backlog.max(1));
        let counters = Arc::new(Counters::default());
        let shutdown = Arc::new(Mutex::new(Shutdown::new()));
        let driver = Driver {
            shutdown: shutdown.clone(),
            socket,
            max,
            config,
            sessions: HashMap::new(),
            per_ip: HashMap::new(),
            accept_tx,
            counters: counters.clone(),
            epoch: Instant::now(),
        };
        switchyard_rt::spawn(driver.run());
        Ok(Self {
            local_addr,
            incoming,
            counters,
            shutdown,
        })
    }

    /// The listener's shutdown signal. Once it is triggered, no new session
    /// is made (datagrams from new peers are dropped) and [`accept`](Self::accept)
    /// returns an error; sessions already accepted go on until they end or
    /// the listener is dropped.
    pub fn shutdown(&self) -> Shutdown {
        lock(&self.shutdown).clone()
    }

    /// Stops accepting on `shutdown` instead of a signal of its own (to
    /// stop it with other servers). Call it before taking
    /// [`shutdown`](Self::shutdown): a signal taken earlier no longer stops
    /// the listener.
    pub fn with_shutdown(self, shutdown: Shutdown) -> Self {
        *lock(&self.shutdown) = shutdown;
        self
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }

    /// Waits for the next new peer's session (made when its first datagram
    /// arrived; that datagram is the first the session yields). After the
    /// listener's [shutdown](Self::shutdown), an error of kind
    /// [`io::ErrorKind::ConnectionAborted`], and the sessions that were
    /// waiting to be accepted are dropped (they end like any dropped
    /// session, freeing their places).
    pub async fn accept(&self) -> io::Result<UdpSession> {
        let shut_down = || {
            // Never to be accepted now: dropped, so the driver forgets them.
            while self.incoming.try_recv().is_ok() {}
            io::Error::new(io::ErrorKind::ConnectionAborted, "UDP listener shut down")
        };
        let shutdown = self.shutdown();
        if shutdown.is_triggered() {
            return Err(shut_down());
        }
        let next = std::pin::pin!(self.incoming.recv());
        match futures::future::select(next, shutdown.wait()).await {
            futures::future::Either::Left((Ok(session), _)) => Ok(session),
            futures::future::Either::Left((Err(_), _)) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "UDP listener's driver has stopped",
            )),
            futures::future::Either::Right(_) => Err(shut_down()),
        }
    }

    /// What the listener has done so far.
    pub fn stats(&self) -> ListenerStats {
        let c = &self.counters;
        ListenerStats {
            sessions_open: c.open.load(Ordering::Relaxed),
            sessions_total: c.total.load(Ordering::Relaxed),
            sessions_expired: c.expired.load(Ordering::Relaxed),
            datagrams_dropped: c.dropped.load(Ordering::Relaxed),
        }
    }
}

/// One peer's datagrams on a [`UdpListener`]: a `Stream` of what it sends and
/// a `Sink` of datagrams to it, the shared message interface. The stream
/// ends when the session expires or the listener is dropped.
#[derive(Debug)]
pub struct UdpSession {
    peer: SocketAddr,
    /// Pinned on the heap: the channel's receiver is not `Unpin`.
    datagrams: Pin<Box<async_channel::Receiver<Bytes>>>,
    activity: Arc<Activity>,
    outgoing: Outgoing,
}

impl UdpSession {
    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }
}

/// UDP has no heartbeat: a session ends by its idle time-out.
impl Keepalive for UdpSession {
    fn poll_keepalive(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Error> {
        Poll::Pending
    }
}

impl Stream for UdpSession {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .datagrams
            .as_mut()
            .poll_next(cx)
            .map(|d| d.map(Ok))
    }
}

impl Sink<Bytes> for UdpSession {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().outgoing.poll_flush(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        this.outgoing.start_send(msg)?;
        this.activity.touch(); // a session that only sends is not idle
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().outgoing.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(this.outgoing.poll_flush(cx))?;
        // Refuse further datagrams: the driver drops this session's entry.
        this.datagrams.close();
        Poll::Ready(Ok(()))
    }
}

struct Entry {
    datagrams: async_channel::Sender<Bytes>,
    activity: Arc<Activity>,
}

/// The task that owns the socket's receiving side and the session table.
struct Driver {
    socket: RuntimeUdpSocket,
    /// Once triggered, no new session is made.
    shutdown: Arc<Mutex<Shutdown>>,
    max: usize,
    config: SessionConfig,
    sessions: HashMap<SocketAddr, Entry>,
    /// Sessions per IP address, for `max_sessions_per_ip`.
    per_ip: HashMap<IpAddr, usize>,
    accept_tx: async_channel::Sender<UdpSession>,
    counters: Arc<Counters>,
    epoch: Instant,
}

impl Driver {
    async fn run(mut self) {
        let mut buf = RecvBuffer::new(self.max);
        let period =
            (self.config.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        // One ticker for the whole life of the driver: sweeps happen on
        // time even while datagrams keep arriving.
        let mut ticker = Timer::interval(period);
        loop {
            let event = poll_fn(|cx| {
                if let Poll::Ready(received) = buf.poll_recv_from(&self.socket, cx) {
                    return Poll::Ready(Some(received));
                }
                match Pin::new(&mut ticker).poll_next(cx) {
                    Poll::Ready(_) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            match event {
                Some(Ok((msg, peer))) => self.deliver(msg, peer),
                Some(Err(Error::DatagramTruncated { max })) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(max, "dropped a datagram over the maximum");
                }
                Some(Err(e)) => {
                    // Errors such as an ICMP port-unreachable for an earlier
                    // reply belong to no session in particular.
                    tracing::debug!(error = %e, "UDP receive error");
                }
                None => {
                    if self.accept_tx.is_closed() {
                        break; // the listener was dropped
                    }
                    self.sweep();
                }
            }
        }
        self.counters.open.store(0, Ordering::Relaxed);
    }

    fn deliver(&mut self, msg: Bytes, peer: SocketAddr) {
        if let Some(entry) = self.sessions.get(&peer) {
            entry.activity.touch();
            match entry.datagrams.try_send(msg) {
                Ok(()) => return,
                Err(async_channel::TrySendError::Full(_)) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(async_channel::TrySendError::Closed(msg)) => {
                    // The session was dropped or closed: this peer starts anew.
                    self.remove(&peer);
                    return self.deliver(msg, peer);
                }
            }
        }
        if self.sessions.len() >= self.config.max_sessions {
            self.sweep();
        }
        let from_this_ip = self.per_ip.get(&peer.ip()).copied().unwrap_or(0);
        if lock(&self.shutdown).is_triggered()
            || self.sessions.len() >= self.config.max_sessions
            || from_this_ip >= self.config.max_sessions_per_ip
            || self.accept_tx.is_full()
        {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "no room for a new UDP session; datagram dropped");
            return;
        }
        let (tx, rx) = async_channel::bounded(self.config.queue.max(1));
        let activity = Arc::new(Activity {
            epoch: self.epoch,
            last_ms: AtomicU64::new(0),
        });
        activity.touch();
        let _ = tx.try_send(msg); // a fresh queue has room
        let session = UdpSession {
            peer,
            datagrams: Box::pin(rx),
            activity: activity.clone(),
            outgoing: Outgoing::new(self.socket.clone(), Some(peer), self.max),
        };
        // Counted before it is handed over: the accepting task may read the
        // stats the moment it has the session.
        self.sessions.insert(
            peer,
            Entry {
                datagrams: tx,
                activity,
            },
        );
        *self.per_ip.entry(peer.ip()).or_default() += 1;
        self.counters.open.fetch_add(1, Ordering::Relaxed);
        self.counters.total.fetch_add(1, Ordering::Relaxed);
        if self.accept_tx.try_send(session).is_err() {
            // Checked not full above, so the listener is gone.
            self.remove(&peer);
            self.counters.total.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Ends idle sessions and forgets dropped ones.
    fn sweep(&mut self) {
        let idle = self.config.idle_timeout;
        let expired: Vec<SocketAddr> = self
            .sessions
            .iter()
            .filter(|(_, e)| e.datagrams.is_closed() || e.activity.idle_for() >= idle)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in expired {
            if let Some(entry) = self.remove(&peer) {
                if !entry.datagrams.is_closed() {
                    self.counters.expired.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, ?idle, "UDP session expired");
                }
            }
        }
    }

    fn remove(&mut self, peer: &SocketAddr) -> Option<Entry> {
        let entry = self.sessions.remove(peer)?;
        if let Some(count) = self.per_ip.get_mut(&peer.ip()) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&peer.ip());
            }
        }
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
        Some(entry)
    }
}

fn lock(shutdown: &Mutex<Shutdown>) -> std::sync::MutexGuard<'_, Shutdown> {
    shutdown.lock().unwrap_or_else(PoisonError::into_inner)
}
