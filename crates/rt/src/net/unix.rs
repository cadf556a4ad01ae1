//! Unix-domain stream sockets on the runtime's reactor.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::task::Poll;

use socket2::{Domain, SockAddr};

use crate::runtime::Source;

/// A Unix-domain stream (`AsyncRead + AsyncWrite`, cloneable).
///
/// ```
/// # switchyard_rt::block_on(async {
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// use switchyard_rt::net::UnixStream;
///
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"ping").await?;
/// let mut got = [0u8; 4];
/// b.read_exact(&mut got).await?;
/// assert_eq!(&got, b"ping");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct UnixStream {
    source: Arc<Source<std::os::unix::net::UnixStream>>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        let addr = SockAddr::unix(path)?;
        let source: Source<std::os::unix::net::UnixStream> =
            super::connect_stream(Domain::UNIX, &addr).await?;
        Ok(Self::from_source(source))
    }

    /// Two streams connected to each other.
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((Self::from_std(a)?, Self::from_std(b)?))
    }

    /// Takes a connected standard stream onto the runtime's reactor.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self::from_source(Source::new(stream)?))
    }

    fn from_source(source: Source<std::os::unix::net::UnixStream>) -> Self {
        Self {
            source: Arc::new(source),
        }
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.source.get_ref().shutdown(how)
    }
}

impl std::os::fd::AsFd for UnixStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.source.get_ref().as_fd()
    }
}

stream_io!(UnixStream);

/// A Unix-domain stream listener.
#[derive(Debug)]
pub struct UnixListener {
    source: Source<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds a new socket file at `path`.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        let listener = std::os::unix::net::UnixListener::bind(path)?;
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
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        futures::future::poll_fn(|cx| {
            let (stream, peer) =
                std::task::ready!(self.source.poll_read_with(cx, |l: &_| l.accept()))?;
            stream.set_nonblocking(true)?;
            let source = self.source.sibling(stream)?;
            Poll::Ready(Ok((UnixStream::from_source(source), peer)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Unix listener whose backlog is full answers a connect with EAGAIN:
    /// that is a failed connect, not one in progress (an unconnected socket
    /// is writable at once, and was taken for connected).
    #[test]
    fn a_connect_to_a_full_backlog_fails_and_every_success_is_connected() {
        crate::block_on(async {
            let dir =
                std::env::temp_dir().join(format!("switchyard-rt-backlog-{}", std::process::id()));
            let _ = std::fs::remove_file(&dir);
            let listener =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
            listener
                .bind(&socket2::SockAddr::unix(&dir).unwrap())
                .unwrap();
            listener.listen(1).unwrap();
            let mut connected = Vec::new();
            let mut failed = None;
            for _ in 0..64 {
                match UnixStream::connect(&dir).await {
                    Ok(stream) => connected.push(stream),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let _ = std::fs::remove_file(&dir);
            assert!(
                failed.is_some(),
                "64 connects to a backlog of 1, none refused"
            );
            for stream in &connected {
                assert!(
                    socket2::SockRef::from(stream).peer_addr().is_ok(),
                    "a connect that succeeded has no peer"
                );
            }
        });
    }
}
