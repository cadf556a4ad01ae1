//! [`TcpListener`]: accepting connections one at a time, without the
//! [`Server`](crate::Server)'s limits, for tests and hand-made loops.

use std::io;
use std::net::SocketAddr;

use switchyard_rt::net::{Address, TcpListener as RuntimeTcpListener};

use crate::TcpStream;

/// A TCP listening socket whose accepted streams are switchyard
/// [`TcpStream`]s (closing one sends FIN), with `TCP_NODELAY` set.
///
/// It applies no limits: a server facing the network wants a
/// [`Server`](crate::Server), which bounds connections and idle time and
/// shuts down gracefully.
///
/// ```
/// # switchyard_tcp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_tcp::{Framed, Lines, TcpListener};
///
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let dialing = switchyard_tcp::connect(addr, switchyard_tcp::DEFAULT_CONNECT_TIMEOUT);
/// let (dialed, accepted) = futures::join!(dialing, listener.accept());
/// let (stream, peer) = accepted?;
/// assert_eq!(peer, dialed?.local_addr()?);
/// # drop(stream);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    inner: RuntimeTcpListener,
}

impl TcpListener {
    /// Binds `addr` (the first of its addresses that binds).
    pub async fn bind(addr: impl Into<Address>) -> io::Result<Self> {
        let addrs = addr.into().resolve().await?;
        Ok(Self {
            inner: RuntimeTcpListener::bind(addrs.as_slice()).await?,
        })
    }

    /// The local address (to learn the port after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.accept().await?;
        stream.set_nodelay(true)?;
        Ok((TcpStream::new(stream), peer))
    }
}
