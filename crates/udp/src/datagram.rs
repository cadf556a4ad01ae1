//! Sending and receiving single datagrams on a non-blocking socket, with the
//! size rules that make one datagram one whole message.

use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use switchyard_frame::Error;
use switchyard_rt::net::UdpSocket as RuntimeUdpSocket;

/// The largest UDP payload that crosses the internet without IP
/// fragmentation on a 1500-byte Ethernet MTU: 1500 - 20 (IPv4) - 8 (UDP).
pub const SAFE_INTERNET_PAYLOAD: usize = 1472;

/// The largest UDP payload over IPv4 at all (65535 - 20 - 8): what fits on
/// loopback, and the default maximum. Beyond the local host, datagrams this
/// large are fragmented, and one lost fragment loses the whole datagram.
pub const MAX_PAYLOAD: usize = 65507;

/// Refuses a message that does not fit in one datagram of at most `max` bytes.
pub(crate) fn check_size(msg: &[u8], max: usize) -> Result<(), Error> {
    if msg.len() > max {
        return Err(Error::TooLargeToSend {
            size: msg.len() as u64,
            max,
        });
    }
    Ok(())
}

/// A receive buffer one byte larger than the largest datagram accepted, so
/// that a larger datagram (which the kernel cuts to the buffer's size) shows
/// as filling it, and is reported instead of passed on cut.
#[derive(Debug)]
pub(crate) struct RecvBuffer {
    buf: Vec<u8>,
}

impl RecvBuffer {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: vec![0; max + 1],
        }
    }

    fn max(&self) -> usize {
        self.buf.len() - 1
    }

    /// Receives one datagram, with its sender.
    pub(crate) fn poll_recv_from(
        &mut self,
        socket: &RuntimeUdpSocket,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(Bytes, SocketAddr), Error>> {
        let (n, peer) = ready!(socket.poll_recv_from(cx, &mut self.buf))?;
        Poll::Ready(self.take(n).map(|msg| (msg, peer)))
    }

    /// Receives one datagram on a connected socket.
    pub(crate) fn poll_recv(
        &mut self,
        socket: &RuntimeUdpSocket,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Bytes, Error>> {
        let n = ready!(socket.poll_recv(cx, &mut self.buf))?;
        Poll::Ready(self.take(n))
    }

    fn take(&self, n: usize) -> Result<Bytes, Error> {
        if n > self.max() {
            return Err(Error::DatagramTruncated { max: self.max() });
        }
        Ok(Bytes::copy_from_slice(&self.buf[..n]))
    }
}

/// The sending side of a datagram sink: at most one datagram waiting to go,
/// to one peer (or, with no peer, to the socket's connected peer).
#[derive(Debug)]
pub(crate) struct Outgoing {
    socket: RuntimeUdpSocket,
    peer: Option<SocketAddr>,
    max: usize,
    pending: Option<Bytes>,
}

impl Outgoing {
    pub(crate) fn new(socket: RuntimeUdpSocket, peer: Option<SocketAddr>, max: usize) -> Self {
        Self {
            socket,
            peer,
            max,
            pending: None,
        }
    }

    pub(crate) fn socket(&self) -> &RuntimeUdpSocket {
        &self.socket
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// The socket back, for a new sink (anything waiting to go is dropped).
    pub(crate) fn into_socket(self) -> RuntimeUdpSocket {
        self.socket
    }

    /// `Sink::start_send`: refuses what does not fit one datagram.
    pub(crate) fn start_send(&mut self, msg: Bytes) -> Result<(), Error> {
        check_size(&msg, self.max)?;
        self.pending = Some(msg);
        Ok(())
    }

    /// `Sink::poll_flush` (and `poll_ready`): sends the waiting datagram.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(msg) = &self.pending {
            let sent = ready!(poll_send(&self.socket, cx, msg, self.peer));
            self.pending = None;
            sent?;
        }
        Poll::Ready(Ok(()))
    }
}

/// Sends one datagram to `peer` (or, with `None`, to the connected peer).
pub(crate) fn poll_send(
    socket: &RuntimeUdpSocket,
    cx: &mut Context<'_>,
    msg: &[u8],
    peer: Option<SocketAddr>,
) -> Poll<Result<(), Error>> {
    let sent = ready!(match peer {
        Some(peer) => socket.poll_send_to(cx, msg, peer),
        None => socket.poll_send(cx, msg),
    })?;
    if sent != msg.len() {
        // UDP sends whole datagrams or fails; anything else is a bug below us.
        return Poll::Ready(Err(io::Error::other(format!(
            "datagram cut on send: {sent} of {} bytes",
            msg.len()
        ))
        .into()));
    }
    Poll::Ready(Ok(()))
}
