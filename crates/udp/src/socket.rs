//! [`UdpSocket`]: one message per datagram, with its peer's address.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use futures::future::poll_fn;
use switchyard_frame::Error;
use switchyard_rt::net::{Address, UdpSocket as RuntimeUdpSocket};

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
/// # switchyard_udp::rt::block_on(async {
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
    socket: RuntimeUdpSocket,
    max: usize,
}

impl UdpSocket {
    /// Binds a socket on `addr` (the first address it resolves to), with the
    /// default maximum datagram of [`MAX_PAYLOAD`] bytes.
    pub async fn bind(addr: impl Into<Address>) -> io::Result<Self> {
        let addr = addr.into().resolve_first().await?;
        Ok(Self {
            socket: RuntimeUdpSocket::bind(addr)?,
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
        self.socket.local_addr()
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
    pub async fn connect(self, peer: impl Into<Address>) -> io::Result<UdpConnection> {
        let peer = peer.into().resolve_first().await?;
        self.socket.connect(peer)?;
        Ok(UdpConnection::new(self.socket, self.max, peer))
    }

    pub(crate) fn into_parts(self) -> (RuntimeUdpSocket, usize) {
        (self.socket, self.max)
    }
}

/// Dials `peer`: a socket on a free local port of the peer's address family
/// (the unspecified address, so the system picks the route), connected to
/// the peer's first address, with the default maximum datagram.
///
/// ```
/// # switchyard_udp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_udp::UdpSocket;
///
/// let server = UdpSocket::bind("127.0.0.1:0").await?;
/// let mut conn = switchyard_udp::connect(server.local_addr()?).await?;
/// conn.send("hi".into()).await?;
/// let (msg, from) = server.recv_from().await?;
/// assert_eq!((&msg[..], from), (&b"hi"[..], conn.local_addr()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn connect(peer: impl Into<Address>) -> io::Result<UdpConnection> {
    let peer = peer.into().resolve_first().await?;
    let local: SocketAddr = if peer.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    UdpSocket::bind(local).await?.connect(peer).await
}
