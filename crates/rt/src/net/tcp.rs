//! TCP on async-io's reactor. An accepted stream reads the way a busy
//! server wants: once a read has found the socket empty, the next waits
//! for the reactor's word.
//!
//! async-std's stream (and async-io's `Async` under it) tries the system
//! call every time it is polled, and asks the reactor only once that has
//! failed with `EAGAIN`. A server's task woken for something else (a reply
//! to send, a message published to its subscriber) then makes one more
//! read that finds nothing, each time: a push subscriber made one per batch
//! it sent, and an echo connection two per message. An accepted
//! [`TcpStream`] remembers that its last read found nothing and that the
//! reactor was asked to say when there is more: until the reactor has, a
//! poll makes no system call at all.
//!
//! A read that returns data is followed by another at once, as before, and
//! a stream this side connected tries the socket on every poll, as
//! async-std's does. Both were measured: waiting for the reactor after
//! every short read as well (as Tokio does), or on a client's streams, had
//! a saturated load generator reading 1,000 WebSockets see deliveries late
//! by up to a second and a half, where trying first kept them under
//! 250 ms. async-io's reactor is driven by the executor's thread only when
//! that is idle, otherwise by a thread of its own, and an event that lands
//! in the same turn as the wait was asked for takes one more turn.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_io::Async;
use futures::io::{AsyncRead, AsyncWrite, IoSlice};

/// A TCP stream on the runtime's reactor (`AsyncRead + AsyncWrite`,
/// cloneable, `AsFd`). Each handle reads on its own; clones share the
/// socket. Closing it shuts its writing half down (sends FIN). Accepted
/// streams wait for the reactor after a read that found nothing (see the
/// [module](self)); connected ones try the socket first.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use switchyard_rt::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind(&["127.0.0.1:0".parse()?]).await?;
/// let addr = listener.local_addr()?;
/// let (dialed, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
/// let (mut dialed, (mut accepted, _)) = (dialed?, accepted?);
/// dialed.write_all(b"ping").await?;
/// let mut got = [0u8; 4];
/// accepted.read_exact(&mut got).await?;
/// assert_eq!(&got, b"ping");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct TcpStream {
    io: Arc<Async<std::net::TcpStream>>,
    /// Whether a read that found nothing makes the next wait for the
    /// reactor: accepted streams only.
    waits_when_empty: bool,
    /// This handle's last read found nothing (`EAGAIN`) and the reactor
    /// was asked to wake it: the next read waits until the reactor says the
    /// socket is readable.
    drained: bool,
}

impl TcpStream {
    fn new(io: Async<std::net::TcpStream>, waits_when_empty: bool) -> Self {
        Self {
            io: Arc::new(io),
            waits_when_empty,
            drained: false,
        }
    }

    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        Async::<std::net::TcpStream>::connect(addr)
            .await
            .map(|io| Self::new(io, false))
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Shuts down the reading half, the writing half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads what has arrived without taking it, waiting until something
    /// has (or the peer closed: 0).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.peek(buf).await
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

/// Reads `buf` from `io`, or waits until the reactor says there may be
/// something; `drained` says whether the last read found nothing, and is
/// set by this one.
fn poll_read_once(
    io: &Async<std::net::TcpStream>,
    drained: &mut bool,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    loop {
        if *drained {
            ready!(io.poll_readable(cx))?;
            *drained = false;
        }
        match io.get_ref().read(buf) {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => *drained = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.waits_when_empty {
            return poll_read_once(&this.io, &mut false, cx, buf);
        }
        poll_read_once(&this.io, &mut this.drained, cx, buf)
    }
}

/// Reading through a shared handle keeps nothing between reads: each tries
/// the socket first.
impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read_once(&self.io, &mut false, cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A socket holds nothing back to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

/// A TCP listener on the runtime's reactor.
#[derive(Debug)]
pub struct TcpListener {
    io: Async<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds the first of `addrs` that binds (the error of the last, if
    /// none does).
    pub async fn bind(addrs: &[SocketAddr]) -> io::Result<Self> {
        let mut last = None;
        for addr in addrs {
            match Async::<std::net::TcpListener>::bind(*addr) {
                Ok(io) => return Ok(Self { io }),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// The local address (to learn the port after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (io, peer) = self.io.accept().await?;
        Ok((TcpStream::new(io, true), peer))
    }
}

#[cfg(test)]
mod tests {
    use futures::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind(&["127.0.0.1:0".parse().unwrap()])
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (dialed, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
        (dialed.unwrap(), accepted.unwrap().0)
    }

    /// A stream that found its socket empty is woken by the reactor for
    /// what comes next, and misses nothing of it, in order, to the end.
    #[test]
    fn after_an_empty_read_the_next_bytes_still_come_in_order() {
        crate::block_on(async {
            let (mut client, mut server) = pair().await;
            let mut buf = [0u8; 64];
            for round in 0..50u8 {
                let read = server.read(&mut buf);
                let writing = async {
                    // Let the read find the socket empty first.
                    crate::sleep(std::time::Duration::from_millis(1)).await;
                    client.write_all(&[round; 3]).await
                };
                let (read, written) = futures::join!(read, writing);
                written.unwrap();
                let n = read.unwrap();
                assert_eq!(&buf[..n], &[round; 3][..n]);
                if n < 3 {
                    server.read_exact(&mut buf[n..3]).await.unwrap();
                }
            }
            client.write_all(&[7; 100]).await.unwrap();
            server.read_exact(&mut buf).await.unwrap();
            client.close().await.unwrap();
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, [7; 36]);
        });
    }

    /// Polled again with the socket still empty (woken by a timer, or for
    /// another future of the same task), an accepted stream that found it
    /// empty stays pending, without reading, rather than failing or ending.
    #[test]
    fn an_empty_stream_polled_again_stays_pending() {
        crate::block_on(async {
            let (mut client, mut server) = pair().await;
            client.write_all(b"one").await.unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(server.read(&mut buf).await.unwrap(), 3);
            assert!(!server.drained, "data read: the next read tries at once");
            let mut cx = Context::from_waker(futures::task::noop_waker_ref());
            for _ in 0..3 {
                let polled = Pin::new(&mut server).poll_read(&mut cx, &mut buf);
                assert!(polled.is_pending());
                assert!(server.drained, "found empty: waiting for the reactor");
            }
            // A connected stream keeps trying the socket on every poll.
            let polled = Pin::new(&mut client).poll_read(&mut cx, &mut buf);
            assert!(polled.is_pending());
            assert!(!client.drained);
            client.write_all(b"two").await.unwrap();
            assert_eq!(server.read(&mut buf).await.unwrap(), 3);
            assert_eq!(&buf[..3], b"two");
        });
    }
}
