//! [`UdpConnection`]: a connected UDP socket as a message connection.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream};
use switchyard_frame::{Error, Keepalive};
use switchyard_rt::net::UdpSocket as RuntimeUdpSocket;

use crate::datagram::{Outgoing, RecvBuffer};

/// A UDP socket connected to one peer: a `Stream` of the datagrams it
/// sends and a `Sink` of datagrams to it, the same message interface as a
/// framed TCP connection. Made by [`UdpSocket::connect`](crate::UdpSocket::connect).
///
/// The stream never ends by itself (UDP has no end); it yields
/// [`Error::DatagramTruncated`] for an over-size datagram and goes on, and
/// an error such as `ConnectionRefused` (the peer's port is closed) when
/// the system reports one.
///
/// ```
/// # switchyard_udp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_udp::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
/// let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);
/// let mut a = a.connect(b_addr).await?;
/// let mut b = b.connect(a_addr).await?;
/// a.send("one datagram".into()).await?;
/// assert_eq!(b.next().await.transpose()?.as_deref(), Some(&b"one datagram"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UdpConnection {
    peer: SocketAddr,
    recv: RecvBuffer,
    outgoing: Outgoing,
}

impl UdpConnection {
    pub(crate) fn new(socket: RuntimeUdpSocket, max: usize, peer: SocketAddr) -> Self {
        Self {
            peer,
            recv: RecvBuffer::new(max),
            outgoing: Outgoing::new(socket, None, max),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.outgoing.socket().local_addr()
    }

    /// The largest message sent or received.
    pub fn max_datagram(&self) -> usize {
        self.outgoing.max()
    }

    /// Sets the largest message sent or received, capped at
    /// [`MAX_PAYLOAD`](crate::MAX_PAYLOAD) (a connection from [`connect`](crate::connect)
    /// starts at that).
    pub fn with_max_datagram(self, max: usize) -> Self {
        let max = max.min(crate::MAX_PAYLOAD);
        Self::new(self.outgoing.into_socket(), max, self.peer)
    }
}

/// UDP has no heartbeat: a session ends by its idle time-out.
impl Keepalive for UdpConnection {
    fn poll_keepalive(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Error> {
        Poll::Pending
    }
}

impl Stream for UdpConnection {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.recv.poll_recv(this.outgoing.socket(), cx).map(Some)
    }
}

impl Sink<Bytes> for UdpConnection {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().outgoing.poll_flush(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Bytes) -> Result<(), Error> {
        self.get_mut().outgoing.start_send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().outgoing.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().outgoing.poll_flush(cx)
    }
}
