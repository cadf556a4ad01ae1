//! Sockets on the runtime's reactor, and [`Address`], what the transports
//! take where they bind or connect.
//!
//! Each socket is the standard one, non-blocking, registered with the
//! reactor of [`Runtime::current`](crate::Runtime::current) when it is
//! made (async-io's for async-std and smol, tokio's for tokio), and read
//! and written through the `futures` traits whatever the runtime. Cloning
//! gives another handle to the same socket. The transports wrap these in
//! their own types (a TCP stream whose close sends FIN, a UDP socket of
//! whole messages); nothing here appears in their public APIs.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::runtime::{AsRaw, Source};

/// `AsyncRead` and `AsyncWrite` for a stream type with a `source` field
/// (a [`Source`]), and for a shared reference to it, as the standard
/// library's streams allow: reads and writes go through the source;
/// flushing has nothing to do, and closing only flushes, as async-std's
/// streams did (closing does not shut the socket down, so a clone goes on).
macro_rules! stream_io {
    ($stream:ty) => {
        stream_io!(@impl $stream);
        stream_io!(@impl &$stream);
    };
    (@impl $stream:ty) => {
        impl futures::io::AsyncRead for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.source.poll_read(cx, buf)
            }
        }

        impl futures::io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.source.poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use tcp::{TcpListener, TcpStream, WriteHandle};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

/// Where to bind or connect: one or more socket addresses, or a host name
/// and port that are resolved when used (without blocking a worker thread).
///
/// Everything the standard library's `ToSocketAddrs` takes converts into
/// one, so `bind("127.0.0.1:0")`, `bind(addr)` with a `SocketAddr` and
/// `connect(("example.com", 443))` all work.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use switchyard_rt::net::Address;
///
/// let literal = Address::from("127.0.0.1:8080");
/// assert_eq!(literal.resolve().await?, ["127.0.0.1:8080".parse()?]);
/// let named = Address::from(("localhost", 8080));
/// assert!(named.resolve().await?.iter().all(|a| a.port() == 8080 && a.ip().is_loopback()));
/// assert_eq!(named.to_string(), "localhost:8080");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address(Repr);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    Resolved(Vec<SocketAddr>),
    /// `host:port`, or a literal socket address not yet parsed.
    Named(String),
    HostPort(String, u16),
}

impl Address {
    /// The socket addresses this names, resolving a host name through the
    /// system's resolver on the runtime's blocking pool. An address that
    /// resolves to nothing is an [`io::ErrorKind::InvalidInput`] error.
    pub async fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let resolved: Vec<SocketAddr> = match &self.0 {
            Repr::Resolved(addrs) => addrs.clone(),
            Repr::Named(name) => match name.parse() {
                Ok(addr) => vec![addr],
                Err(_) => lookup(name.clone()).await?,
            },
            Repr::HostPort(host, port) => match host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, *port)],
                Err(_) => lookup((host.clone(), *port)).await?,
            },
        };
        if resolved.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{self} resolved to no address"),
            ));
        }
        Ok(resolved)
    }

    /// The first address this resolves to.
    pub async fn resolve_first(&self) -> io::Result<SocketAddr> {
        let mut all = self.resolve().await?;
        Ok(all.swap_remove(0))
    }
}

/// The system's resolver, which blocks, on the runtime's blocking pool.
async fn lookup(name: impl ToSocketAddrs + Send + 'static) -> io::Result<Vec<SocketAddr>> {
    crate::spawn_blocking(move || name.to_socket_addrs().map(Iterator::collect)).await
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Resolved(addrs) => match addrs.as_slice() {
                [one] => write!(f, "{one}"),
                many => {
                    let names: Vec<String> = many.iter().map(ToString::to_string).collect();
                    write!(f, "{}", names.join(", "))
                }
            },
            Repr::Named(name) => f.write_str(name),
            Repr::HostPort(host, port) if host.contains(':') => write!(f, "[{host}]:{port}"),
            Repr::HostPort(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

macro_rules! from_resolved {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Address {
            fn from(addr: $ty) -> Self {
                Self(Repr::Resolved(vec![SocketAddr::from(addr)]))
            }
        }
    )*};
}
from_resolved!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl From<&SocketAddr> for Address {
    fn from(addr: &SocketAddr) -> Self {
        Self::from(*addr)
    }
}

impl From<Vec<SocketAddr>> for Address {
    fn from(addrs: Vec<SocketAddr>) -> Self {
        Self(Repr::Resolved(addrs))
    }
}

impl From<&[SocketAddr]> for Address {
    fn from(addrs: &[SocketAddr]) -> Self {
        Self(Repr::Resolved(addrs.to_vec()))
    }
}

impl From<&str> for Address {
    fn from(name: &str) -> Self {
        Self(Repr::Named(name.to_owned()))
    }
}

impl From<String> for Address {
    fn from(name: String) -> Self {
        Self(Repr::Named(name))
    }
}

impl From<&String> for Address {
    fn from(name: &String) -> Self {
        Self(Repr::Named(name.clone()))
    }
}

impl From<(&str, u16)> for Address {
    fn from((host, port): (&str, u16)) -> Self {
        Self(Repr::HostPort(host.to_owned(), port))
    }
}

impl From<(String, u16)> for Address {
    fn from((host, port): (String, u16)) -> Self {
        Self(Repr::HostPort(host, port))
    }
}

impl From<&Address> for Address {
    fn from(addr: &Address) -> Self {
        addr.clone()
    }
}

/// Connects a new non-blocking stream socket to `addr`, registered with
/// the current runtime's reactor, waiting there for the connection.
async fn connect_stream<T>(domain: Domain, addr: &SockAddr) -> io::Result<Source<T>>
where
    T: AsRaw + From<Socket>,
{
    let socket = Socket::new(domain, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    let started = socket.connect(addr);
    let source = Source::new(T::from(socket))?;
    match started {
        Ok(()) => return Ok(source),
        // In progress. (On Unix, EAGAIN is not that: a Unix socket's
        // listener has a full backlog, and the connect never started.)
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        #[cfg(windows)]
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    futures::future::poll_fn(|cx| source.poll_writable(cx)).await?;
    let socket = SockRef::from(source.get_ref());
    if let Some(e) = socket.take_error()? {
        return Err(e);
    }
    // A socket can report writable though its connect failed (async-io
    // checks this too): connected means it has a peer.
    match socket.peer_addr() {
        Ok(_) => Ok(source),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(socket.take_error()?.unwrap_or(e)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_resolve_without_the_resolver_and_nothing_is_an_error() {
        crate::block_on(async {
            let v6 = Address::from(("::1", 80));
            assert_eq!(v6.to_string(), "[::1]:80");
            assert_eq!(v6.resolve().await.unwrap(), ["[::1]:80".parse().unwrap()]);
            let none = Address::from(Vec::new());
            let err = none.resolve().await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            let bad = Address::from("no port here");
            assert!(bad.resolve().await.is_err());
        });
    }
}
