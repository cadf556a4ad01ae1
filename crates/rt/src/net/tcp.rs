//! TCP streams and listeners on the runtime's reactor.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use socket2::{Domain, SockAddr};

use super::Address;
use crate::runtime::Source;

/// A TCP stream (`AsyncRead + AsyncWrite`, cloneable).
///
/// ```
/// # switchyard_rt::block_on(async {
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// use switchyard_rt::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (mut server, _) = listener.accept().await?;
/// client.write_all(b"ping").await?;
/// let mut got = [0u8; 4];
/// server.read_exact(&mut got).await?;
/// assert_eq!(&got, b"ping");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct TcpStream {
    source: Arc<Source<std::net::TcpStream>>,
}

impl TcpStream {
    /// Connects to the first of the addresses `addr` resolves to that
    /// accepts; the last one's error if none does.
    pub async fn connect(addr: impl Into<Address>) -> io::Result<Self> {
        let mut last = None;
        for addr in addr.into().resolve().await? {
            let domain = Domain::for_address(addr);
            match super::connect_stream(domain, &SockAddr::from(addr)).await {
                Ok(source) => return Ok(Self::from_source(source)),
                Err(e) => last = Some(e),
            }
        }
        // `resolve` gives at least one address, or an error.
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// Takes a connected standard stream onto the runtime's reactor.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self::from_source(Source::new(stream)?))
    }

    fn from_source(source: Source<std::net::TcpStream>) -> Self {
        Self {
            source: Arc::new(source),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.source.get_ref().set_nodelay(nodelay)
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source.get_ref().shutdown(how)
    }

    /// A handle that writes to this socket without waiting, from any
    /// thread: [`WriteHandle::try_write_vectored`].
    pub fn write_handle(&self) -> WriteHandle {
        WriteHandle {
            source: self.source.clone(),
        }
    }

    /// Reads without taking what is read out of the socket, waiting until
    /// there is something to read.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        futures::future::poll_fn(|cx| {
            self.source
                .poll_read_with(cx, |s: &std::net::TcpStream| s.peek(buf))
        })
        .await
    }
}

/// A TCP stream's write side for a writer that cannot wait: what the
/// kernel takes now, or [`io::ErrorKind::WouldBlock`]. A server that sends
/// one message to many idle connections writes each at once through one,
/// rather than waking a task per connection ([`TcpStream::write_handle`]).
///
/// Writes through it and through the stream itself are not ordered with
/// each other: the caller keeps them apart.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use futures::AsyncReadExt;
/// use std::io::IoSlice;
/// use switchyard_rt::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (server, _) = listener.accept().await?;
/// let handle = server.write_handle();
/// let written = std::thread::spawn(move || {
///     handle.try_write_vectored(&[IoSlice::new(b"he"), IoSlice::new(b"llo")])
/// });
/// assert_eq!(written.join().unwrap()?, 5);
/// let mut got = [0u8; 5];
/// client.read_exact(&mut got).await?;
/// assert_eq!(&got, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct WriteHandle {
    source: Arc<Source<std::net::TcpStream>>,
}

impl WriteHandle {
    /// Writes what the socket takes now of `bufs`, in order, with one
    /// system call (`sendmsg`): how many bytes, or `WouldBlock` when it takes none.
    /// The runtime's reactor is not asked: a writer that finds no room
    /// leaves the rest to a task that can wait.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        // sendmsg(2), not writev(2): a socket's own call skips the file
        // layer (and its position lock); with MSG_NOSIGNAL (Linux) a peer
        // that has gone is an error, not SIGPIPE.
        let socket = socket2::SockRef::from(self.source.get_ref());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let flags = libc::MSG_NOSIGNAL;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let flags = 0;
        loop {
            match socket.send_vectored_with_flags(bufs, flags) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }

    /// Reads the handle's socket (its descriptor, not the kernel's state)
    /// and changes nothing: a writer about to serve many connections warms
    /// the next few, so their state comes into the cache together.
    pub fn warm(&self) {
        std::hint::black_box(socket2::SockRef::from(self.source.get_ref()));
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.source.get_ref().as_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsSocket for TcpStream {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        self.source.get_ref().as_socket()
    }
}

stream_io!(TcpStream);

/// A TCP listener.
#[derive(Debug)]
pub struct TcpListener {
    source: Source<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds the first of the addresses `addr` resolves to that can be
    /// bound.
    pub async fn bind(addr: impl Into<Address>) -> io::Result<Self> {
        let addrs = addr.into().resolve().await?;
        let listener = std::net::TcpListener::bind(addrs.as_slice())?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            source: Source::new(listener)?,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        futures::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Takes the next connection if there is one; otherwise wakes the task
    /// when there may be.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = std::task::ready!(self.source.poll_read_with(cx, |l: &_| l.accept()))?;
        stream.set_nonblocking(true)?;
        // On the listener's reactor, whatever the task accepting it runs on.
        let source = self.source.sibling(stream)?;
        Poll::Ready(Ok((TcpStream::from_source(source), peer)))
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.source.get_ref().as_fd()
    }
}
