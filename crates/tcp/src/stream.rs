//! [`TcpStream`]: a TCP byte stream whose close sends FIN.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use switchyard_rt::net::TcpStream as RuntimeTcpStream;

/// A TCP connection's byte stream: the runtime's `TcpStream`, except that
/// closing it (`AsyncWrite::poll_close`, and so closing a framed sink)
/// shuts down the write half, so the peer reads the end of the stream while
/// this side can still read the peer's last messages. the runtime's own
/// close only flushes, leaving the peer waiting.
///
/// Cloning gives another handle to the same socket.
#[derive(Debug, Clone)]
pub struct TcpStream {
    inner: RuntimeTcpStream,
}

impl TcpStream {
    pub(crate) fn new(inner: RuntimeTcpStream) -> Self {
        Self { inner }
    }

    /// The runtime's socket under it.
    pub(crate) fn runtime(&self) -> &RuntimeTcpStream {
        &self.inner
    }

    /// A handle that writes to this socket at once, without waiting, from
    /// any thread ([`WriteHandle`](switchyard_rt::net::WriteHandle)).
    pub fn write_handle(&self) -> switchyard_rt::net::WriteHandle {
        self.inner.write_handle()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Sets TCP keepalive timings, or turns keepalive off with `None`.
    pub fn set_keepalive(&self, keepalive: Option<&crate::TcpKeepalive>) -> io::Result<()> {
        crate::TcpKeepalive::apply(keepalive, &self.inner)
    }

    /// The TCP keepalive idle time set on the socket, if keepalive is on.
    pub fn keepalive_idle(&self) -> io::Result<Option<std::time::Duration>> {
        let socket = socket2::SockRef::from(&self.inner);
        if !socket.keepalive()? {
            return Ok(None);
        }
        socket.tcp_keepalive_time().map(Some)
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        match self.inner.shutdown(Shutdown::Write) {
            // Already gone (the peer reset it): nothing left to close.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}
