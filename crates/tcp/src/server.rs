//! [`Server`]: an accept loop with a connection limit, idle time-outs,
//! back-off on accept errors, and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{self, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::{select, Either};
use switchyard_frame::{Framed, Framing, MessageReader, MessageSender};
use switchyard_rt::net::{Address, TcpListener, TcpStream as RuntimeTcpStream};
use switchyard_rt::{Backoff, IdleTimeout, Shutdown};

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

/// Open connections, so that shutdown can end the ones that outstay the
/// grace period. Bounded by `max_connections`.
type OpenConnections = Arc<Mutex<HashMap<u64, RuntimeTcpStream>>>;

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
        let permits = Arc::new(async_lock::Semaphore::new(config.max_connections));
        let open: OpenConnections = Arc::default();
        // Every connection task holds a clone; when all are dropped, every
        // connection has finished.
        let (finished_tx, finished) = async_channel::bounded::<()>(1);
        let mut report = ServeReport::default();
        let mut backoff = Backoff::new(Duration::from_millis(5), Duration::from_secs(1));
        let mut next_id = 0u64;

        loop {
            let Some(permit) = until(&shutdown, permits.acquire_arc()).await else {
                break;
            };
            let Some(accepted) = until(&shutdown, listener.accept()).await else {
                break;
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    report.accept_errors += 1;
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, ?delay, "accept failed; backing off");
                    if until(&shutdown, switchyard_rt::sleep(delay))
                        .await
                        .is_none()
                    {
                        break;
                    }
                    continue;
                }
            };
            backoff.reset();
            report.accepted += 1;
            if let Err(e) = stream.set_nodelay(config.nodelay) {
                tracing::debug!(%peer, error = %e, "could not set TCP_NODELAY");
            }
            if let Err(e) = TcpKeepalive::apply(config.keepalive.as_ref(), &stream) {
                tracing::debug!(%peer, error = %e, "could not set TCP keepalive");
            }
            let id = next_id;
            next_id += 1;
            lock(&open).insert(id, stream.clone());
            let conn = Accepted {
                stream: IdleTimeout::new(TcpStream::new(stream), config.idle_timeout),
                peer,
            };
            let task = handler(conn);
            let open = open.clone();
            let finished_tx = finished_tx.clone();
            switchyard_rt::spawn(async move {
                task.await;
                lock(&open).remove(&id);
                drop(permit);
                drop(finished_tx);
            });
        }

        drop(listener);
        drop(finished_tx);
        let grace = config.shutdown_grace;
        if switchyard_rt::timeout(grace, "shutdown", finished.recv())
            .await
            .is_err()
        {
            let stragglers: Vec<RuntimeTcpStream> = lock(&open).drain().map(|(_, s)| s).collect();
            report.forced = stragglers.len();
            tracing::info!(
                connections = report.forced,
                "grace period over; shutting down"
            );
            for stream in stragglers {
                let _ = stream.shutdown(net::Shutdown::Both);
            }
            let _ = finished.recv().await;
        }
        report
    }
}

/// Runs `future` unless shutdown is requested first.
async fn until<F: Future>(shutdown: &Shutdown, future: F) -> Option<F::Output> {
    match select(pin!(future), shutdown.wait()).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

fn lock(open: &OpenConnections) -> std::sync::MutexGuard<'_, HashMap<u64, RuntimeTcpStream>> {
    open.lock().unwrap_or_else(PoisonError::into_inner)
}
