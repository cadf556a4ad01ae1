//! [`Server`]: an accept loop with a connection limit, idle time-outs,
//! back-off on accept errors, and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::{self, SocketAddr};
use std::time::Duration;

use switchyard_frame::{Framed, Framing, MessageReader, MessageSender};
use switchyard_rt::net::{Address, TcpListener, TcpStream as RuntimeTcpStream};
use switchyard_rt::LogBudget;
use switchyard_rt::{IdleTimeout, Shutdown};

use crate::accept_loop::{accept_loop, Listen};
use crate::{ProxyHeaderError, ServerConfig, TcpKeepalive, TcpStream};

/// The byte stream of an accepted connection: the socket under the server's
/// idle time-out.
pub type ServerStream = IdleTimeout<TcpStream>;

/// A connection the server accepted, handed to the connection handler.
#[derive(Debug)]
pub struct Accepted {
    stream: ServerStream,
    peer: SocketAddr,
}

impl Accepted {
    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The connection as a stream and sink of messages cut by `framing`.
    pub fn framed<F: Framing>(self, framing: F) -> Framed<ServerStream, F> {
        Framed::new(self.stream, framing)
    }

    /// The connection framed and shared between tasks: a reader and
    /// cloneable senders over a queue of `queue` messages (see
    /// [`share`](crate::share)), with the writer spawned as a task of its
    /// own. A write error is logged at debug level and closes the connection.
    pub fn shared<F: Framing + Unpin + Send + 'static>(
        self,
        framing: F,
        queue: usize,
    ) -> (MessageReader<Framed<ServerStream, F>>, MessageSender) {
        let peer = self.peer;
        let (reader, sender, writer) = switchyard_frame::share(self.framed(framing), queue);
        switchyard_rt::spawn(async move {
            if let Err(e) = writer.await {
                tracing::debug!(%peer, error = %e, "shared connection writer stopped");
            }
        });
        (reader, sender)
    }

    /// The plain byte stream, for protocols that do their own framing.
    pub fn into_stream(self) -> ServerStream {
        self.stream
    }

    /// Reads the connection's PROXY protocol header (version 1 or 2, sent
    /// first by a load balancer that relays it) within `limit`, and makes
    /// its source this connection's [`peer_addr`](Self::peer_addr). Only
    /// the header is taken: what follows is read as if it had not been
    /// there. A header in which the proxy speaks for itself (`UNKNOWN`,
    /// `LOCAL`) leaves the peer as it was. A connection without a valid
    /// header should be closed: anyone able to connect could otherwise
    /// claim any address.
    pub async fn read_proxy_header(&mut self, limit: Duration) -> Result<(), ProxyHeaderError> {
        let stream = self.stream.get_ref().runtime();
        if let Some(source) = crate::proxy_protocol::read_proxy_header(stream, limit).await? {
            self.peer = source;
        }
        Ok(())
    }

    /// [`read_proxy_header`](Self::read_proxy_header), for a server that
    /// then closes a connection without a valid one: `false` for those,
    /// each logged as a warning within `refusals` (a flood of them cannot
    /// fill the log), except a connection closed before it sent anything
    /// (a port probe, a load balancer's health check), which is no warning.
    pub async fn admit_proxy_header(&mut self, limit: Duration, refusals: &LogBudget) -> bool {
        let from = self.peer;
        let Err(e) = self.read_proxy_header(limit).await else {
            return true;
        };
        if e.is_closed_empty() {
            tracing::debug!(peer = %from, "closed before sending anything");
        } else if let Some(held_back) = refusals.admit() {
            tracing::warn!(
                peer = %from,
                error = %e,
                held_back,
                "refused: no valid PROXY protocol header"
            );
        }
        false
    }
}

/// What a [`Server`] did, returned when it has shut down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeReport {
    /// Connections accepted.
    pub accepted: u64,
    /// Accept calls that failed (and were retried after a back-off).
    pub accept_errors: u64,
    /// Connections still open when the grace period ended, shut down by force.
    pub forced: usize,
}

/// A TCP server: accepts connections and runs a handler task for each,
/// within the limits of its [`ServerConfig`].
///
/// ```
/// # switchyard_tcp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_tcp::{connect_framed, LengthPrefixed, Server, ServerConfig};
///
/// let server = Server::bind("127.0.0.1:0", ServerConfig::default()).await?;
/// let addr = server.local_addr()?;
/// let shutdown = server.shutdown();
/// let serving = switchyard_tcp::rt::spawn(server.serve(|conn| async move {
///     // An echo service.
///     let (sink, stream) = conn.framed(LengthPrefixed::default()).split();
///     let _ = stream.forward(sink).await;
/// }));
///
/// let mut client = connect_framed(addr, LengthPrefixed::default(), std::time::Duration::from_secs(5)).await?;
/// client.send("ping".into()).await?;
/// assert_eq!(client.next().await.transpose()?.as_deref(), Some(&b"ping"[..]));
///
/// drop(client);
/// shutdown.trigger();
/// let report = serving.await;
/// assert_eq!(report.accepted, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
    shutdown: Shutdown,
}

impl Server {
    /// Binds a listener on `addr` (the first of its addresses that binds).
    pub async fn bind(addr: impl Into<Address>, config: ServerConfig) -> io::Result<Self> {
        let addrs = addr.into().resolve().await?;
        let listener = TcpListener::bind(addrs.as_slice()).await?;
        Ok(Self {
            listener,
            config,
            shutdown: Shutdown::new(),
        })
    }

    /// Stops the server on `shutdown` instead of a signal of its own (to
    /// stop several servers together). Call it before taking
    /// [`shutdown`](Self::shutdown): a signal taken earlier no longer stops
    /// the server.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The address the server listens on (to learn the port after binding
    /// port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The server's shutdown signal. Triggering it stops accepting; open
    /// connections get the configured grace period to finish, then are
    /// shut down, and [`Server::serve`] returns.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Accepts connections and runs `handler` on each in a task of its own,
    /// until shut down. Accept errors (too many open files, a connection
    /// reset before it was accepted) are logged and retried after a back-off
    /// of 5 ms doubling to 1 s: they never end the server.
    pub async fn serve<H, Fut>(self, handler: H) -> ServeReport
    where
        H: Fn(Accepted) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Server {
            listener,
            config,
            shutdown,
        } = self;
        let prepare = config.clone();
        accept_loop(listener, &config, &shutdown, move |stream, peer| {
            if let Err(e) = stream.set_nodelay(prepare.nodelay) {
                tracing::debug!(%peer, error = %e, "could not set TCP_NODELAY");
            }
            if let Err(e) = TcpKeepalive::apply(prepare.keepalive.as_ref(), &stream) {
                tracing::debug!(%peer, error = %e, "could not set TCP keepalive");
            }
            handler(Accepted {
                stream: IdleTimeout::new(TcpStream::new(stream), prepare.idle_timeout),
                peer,
            })
        })
        .await
    }
}

impl Listen for TcpListener {
    type Stream = RuntimeTcpStream;
    type Peer = SocketAddr;

    fn accept(&self) -> impl Future<Output = io::Result<(RuntimeTcpStream, SocketAddr)>> + Send {
        TcpListener::accept(self)
    }

    fn force_close(stream: &RuntimeTcpStream) {
        let _ = stream.shutdown(net::Shutdown::Both);
    }
}
