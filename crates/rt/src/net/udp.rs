//! UDP sockets on the runtime's reactor.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::runtime::Source;

/// A UDP socket: the standard socket's sends and receives, each waiting on
/// the reactor until the socket is ready. Cloning gives another handle to
/// the same socket.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use futures::future::poll_fn;
/// use switchyard_rt::net::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0".parse()?)?;
/// let b = UdpSocket::bind("127.0.0.1:0".parse()?)?;
/// poll_fn(|cx| a.poll_send_to(cx, b"ping", b.local_addr()?)).await?;
/// let mut buf = [0u8; 16];
/// let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct UdpSocket {
    source: Arc<Source<std::net::UdpSocket>>,
}

impl UdpSocket {
    /// Binds `addr`.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let socket = std::net::UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            source: Arc::new(Source::new(socket)?),
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Sets the one peer this socket sends to (with
    /// [`poll_send`](Self::poll_send)) and receives from.
    pub fn connect(&self, peer: SocketAddr) -> io::Result<()> {
        self.source.get_ref().connect(peer)?;
        // Its peer's refusals (ICMP port unreachable) end a waiting receive.
        self.source.watch_errors();
        Ok(())
    }

    /// Receives one datagram into `buf` (cut to its length), with its
    /// sender.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.source.poll_read_with(cx, |s| s.recv_from(buf))
    }

    /// Receives one datagram from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.source.poll_read_with(cx, |s| s.recv(buf))
    }

    /// Sends one datagram to `peer`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        peer: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.source.poll_write_with(cx, |s| s.send_to(buf, peer))
    }

    /// Sends one datagram to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.source.poll_write_with(cx, |s| s.send(buf))
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.source.get_ref().as_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::future::poll_fn;

    use super::*;

    /// tokio keeps one waker per direction of a socket; every task waiting
    /// on it must still be woken (the sessions of a UDP listener share its
    /// socket).
    #[test]
    fn every_task_waiting_on_one_socket_is_woken() {
        crate::block_on(async {
            let shared = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let to = shared.local_addr().unwrap();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let socket = shared.clone();
                    crate::spawn(async move {
                        let mut buf = [0u8; 16];
                        poll_fn(|cx| socket.poll_recv_from(cx, &mut buf))
                            .await
                            .map(|(n, _)| n)
                    })
                })
                .collect();
            // Both are waiting before anything arrives.
            crate::sleep(Duration::from_millis(50)).await;
            let sender = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            for _ in 0..2 {
                poll_fn(|cx| sender.poll_send_to(cx, b"one", to))
                    .await
                    .unwrap();
            }
            let both = futures::future::join_all(receivers);
            let received = crate::timeout(Duration::from_secs(5), "both receivers", both)
                .await
                .expect("a waiting task was never woken");
            assert!(received.iter().all(|n| matches!(n, Ok(3))), "{received:?}");
        });
    }

    /// A connected socket's datagram answered by an ICMP port unreachable:
    /// the task waiting to receive gets the refusal, as a blocking receive
    /// would (on tokio the kernel reports it as an error alone, which
    /// tokio does not count as readable).
    #[test]
    fn a_waiting_receive_gets_the_refusal_of_a_closed_port() {
        crate::block_on(async {
            let closed = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let port = closed.local_addr().unwrap();
            drop(closed);
            let socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            socket.connect(port).unwrap();
            let waiting = socket.clone();
            let receiving = crate::spawn(async move {
                let mut buf = [0u8; 16];
                poll_fn(|cx| waiting.poll_recv(cx, &mut buf)).await
            });
            crate::sleep(Duration::from_millis(50)).await;
            poll_fn(|cx| socket.poll_send(cx, b"anyone?"))
                .await
                .unwrap();
            let received = crate::timeout(Duration::from_secs(5), "receive", receiving)
                .await
                .expect("the waiting receive was not woken by the refusal");
            let error = received.expect_err("a closed port answered");
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
            // The error is taken: the socket waits again.
            let mut buf = [0u8; 16];
            let again = poll_fn(|cx| socket.poll_recv(cx, &mut buf));
            assert!(crate::timeout(Duration::from_millis(100), "again", again)
                .await
                .is_err());
        });
    }
}
