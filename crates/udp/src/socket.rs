//! [`UdpSocket`]: one message per datagram, with its peer's address.

use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;

use async_io::Async;
use async_std::net::ToSocketAddrs;
use bytes::Bytes;
use futures::future::poll_fn;
use switchyard_frame::Error;

use crate::datagram::{check_size, poll_send, RecvBuffer, MAX_PAYLOAD};
use crate::UdpConnection;

/// A UDP socket that sends and receives whole messages, one per datagram.
///
/// Cloning gives another handle to the same socket, so one task can receive
/// while others send. A message larger than [`max_datagram`](Self::max_datagram)
/// is refused on send ([`Error::TooLargeToSend`]), never cut; a larger
/// datagram received is reported ([`Error::DatagramTruncated`]) and dropped.
///
/// ```
/// # async_std::task::block_on(async {
/// use switchyard_udp::UdpSocket;
///
/// let server = UdpSocket::bind("127.0.0.1:0").await?;
/// let client = UdpSocket::bind("127.0.0.1:0").await?;
/// client.send_to(b"ping", server.local_addr()?).await?;
/// let (msg, from) = server.recv_from().await?;
/// assert_eq!(&msg[..], b"ping");
/// server.send_to(b"pong", from).await?; // reply to whoever sent it
/// assert_eq!(&client.recv_from().await?.0[..], b"pong");
/// # Ok::<(), switchyard_udp::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct UdpSocket {
    socket: Arc<Async<StdUdpSocket>>,
    max: usize,
}

impl UdpSocket {
    /// Binds a socket on `addr` (the first address it resolves to), with the
    /// default maximum datagram of [`MAX_PAYLOAD`] bytes.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Self> {
        let addr = resolve(addr).await?;
        Ok(Self {
            socket: Arc::new(Async::<StdUdpSocket>::bind(addr)?),
            max: MAX_PAYLOAD,
        })
    }

    /// Sets the largest message sent or received, capped at [`MAX_PAYLOAD`].
    /// Use [`SAFE_INTERNET_PAYLOAD`](crate::SAFE_INTERNET_PAYLOAD) for peers
    /// across the internet.
    pub fn with_max_datagram(mut self, max: usize) -> Self {
        self.max = max.min(MAX_PAYLOAD);
        self
    }

    /// The largest message sent or received.
    pub fn max_datagram(&self) -> usize {
        self.max
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get_ref().local_addr()
    }

    /// Sends `msg` as one datagram to `peer`.
    pub async fn send_to(&self, msg: &[u8], peer: SocketAddr) -> Result<(), Error> {
        check_size(msg, self.max)?;
        poll_fn(|cx| poll_send(&self.socket, cx, msg, Some(peer))).await
    }

    /// Receives one datagram, with the address it came from. Each call
    /// allocates a receive buffer; for a steady flow, use a
    /// [`UdpConnection`] or a [`UdpListener`](crate::UdpListener), which
    /// keep one.
    pub async fn recv_from(&self) -> Result<(Bytes, SocketAddr), Error> {
        let mut buf = RecvBuffer::new(self.max);
        poll_fn(|cx| buf.poll_recv_from(&self.socket, cx)).await
    }

    /// Connects the socket to `peer`: it then receives only from `peer`, and
    /// becomes a message connection (a `Stream` + `Sink` of messages).
    pub async fn connect<A: ToSocketAddrs>(self, peer: A) -> io::Result<UdpConnection> {
        let peer = resolve(peer).await?;
        self.socket.get_ref().connect(peer)?;
        Ok(UdpConnection::new(self.socket, self.max, peer))
    }

    pub(crate) fn into_parts(self) -> (Arc<Async<StdUdpSocket>>, usize) {
        (self.socket, self.max)
    }
}

async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing"))
}
