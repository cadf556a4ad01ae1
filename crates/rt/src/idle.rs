//! [`IdleTimeout`]: a byte stream that fails once nothing has moved for too long.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};

use crate::Deadline;

/// Wraps a byte stream so that a read fails with
/// [`io::ErrorKind::TimedOut`] once no byte has been read or written for
/// `idle`: a peer that sends half a frame and goes silent, or connects and
/// never speaks, is dropped instead of holding its connection forever.
///
/// Activity costs a clock read, not a timer re-arm (see [`Deadline`]).
///
/// ```
/// # switchyard_rt::block_on(async {
/// use std::time::Duration;
/// use futures::io::AsyncReadExt;
/// use switchyard_rt::IdleTimeout;
///
/// let (silent, _keep_open) = switchyard_rt::net::UnixStream::pair()?;
/// let mut idle = IdleTimeout::new(silent, Duration::from_millis(20));
/// let err = idle.read(&mut [0u8; 16]).await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct IdleTimeout<IO> {
    io: IO,
    idle: Duration,
    last_activity: Instant,
    deadline: Deadline,
}

impl<IO> IdleTimeout<IO> {
    /// Wraps `io` with an idle limit of `idle`.
    pub fn new(io: IO, idle: Duration) -> Self {
        Self {
            io,
            idle,
            last_activity: Instant::now(),
            deadline: Deadline::new(),
        }
    }

    /// The wrapped byte stream.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The wrapped byte stream back.
    pub fn into_inner(self) -> IO {
        self.io
    }

    fn touch(&mut self, moved: usize) {
        if moved > 0 {
            self.last_activity = Instant::now();
        }
    }

    /// Ready with an error once the stream has been idle for too long.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(at) = self.last_activity.checked_add(self.idle) else {
            return Poll::Pending; // an idle limit past the end of time
        };
        self.deadline
            .poll_at(cx, at)
            .map(|()| io::Error::new(io::ErrorKind::TimedOut, format!("idle for {:?}", self.idle)))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for IdleTimeout<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(n)) => {
                self.touch(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_expired(cx).map(Err),
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                self.touch(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A peer that stops reading is as idle as one that stops
            // writing: a blocked write times out too.
            Poll::Pending => self.poll_expired(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_close(cx)
    }
}
