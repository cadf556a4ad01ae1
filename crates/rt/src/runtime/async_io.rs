//! async-io's reactor and timers, which async-std and smol both run on.
//!
//! Its registrations are one-shot: a socket found empty is armed again and
//! waited on, and the reactor runs on a thread of its own (`async-io`) or on
//! a thread blocked in `block_on` while that thread is idle.

use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{ready, Context, Poll};

use super::AsRaw;

pub(crate) use async_io::Timer;

/// A non-blocking socket on async-io's reactor.
#[derive(Debug)]
pub(crate) struct Source<T: AsRaw> {
    io: async_io::Async<T>,
    /// A read found nothing, and the reactor has not said since that
    /// there is more: the next read asks the reactor, not the kernel.
    /// (async-io's own pattern tries the system call first every time: a
    /// push subscriber, which looks at its client after each message it
    /// sends, paid an empty `recv` per message.) Cleared by the reactor's
    /// readiness, as tokio clears its readiness on `WouldBlock`.
    read_empty: AtomicBool,
}

impl<T: AsRaw> Source<T> {
    pub(crate) fn new(io: T) -> io::Result<Self> {
        async_io::Async::new_nonblocking(io).map(|io| Self {
            io,
            read_empty: AtomicBool::new(false),
        })
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.io.get_ref()
    }

    /// Try, and on `WouldBlock` wait for the reactor (to write, with
    /// `write`) and try again; a read after one found nothing waits for
    /// the reactor first.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        if !write && self.read_empty.load(Ordering::Acquire) {
            // Ready once the reactor has seen readiness since the read
            // that found nothing armed it.
            ready!(self.io.poll_readable(cx))?;
            self.read_empty.store(false, Ordering::Release);
        }
        loop {
            match op(self.io.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if write {
                        ready!(self.io.poll_writable(cx))?
                    } else {
                        self.read_empty.store(true, Ordering::Release);
                        ready!(self.io.poll_readable(cx))?;
                        self.read_empty.store(false, Ordering::Release);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, false, op)
    }

    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, true, op)
    }

    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_writable(cx)
    }

    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        self.poll_write_with(cx, |mut io| io.write(buf))
    }
}

/// A [`spawn_thread`](crate::spawn_thread) thread's loop: it polls the
/// reactor itself while its tasks wait.
pub(crate) fn run_local<F: Future>(future: F) -> F::Output {
    async_io::block_on(future)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::AtomicUsize;

    /// After a read that found nothing, the next one waits for the reactor
    /// rather than asking the kernel again; once the peer writes, the read
    /// is made and gets the bytes.
    #[test]
    fn a_read_after_an_empty_one_waits_for_the_reactor() {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let source = Source::new(ours).unwrap();
        let reads = AtomicUsize::new(0);
        let mut buf = [0u8; 8];
        let read = |cx: &mut Context<'_>, buf: &mut [u8]| {
            source.poll_read_with(cx, |mut io| {
                reads.fetch_add(1, Ordering::SeqCst);
                io.read(buf)
            })
        };
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(read(&mut cx, &mut buf).is_pending());
        assert!(read(&mut cx, &mut buf).is_pending());
        assert!(read(&mut cx, &mut buf).is_pending());
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "one system call, not three"
        );
        peer.write_all(b"hello").unwrap();
        let n = async_io::block_on(futures::future::poll_fn(|cx| read(cx, &mut buf))).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
