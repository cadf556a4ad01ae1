//! async-io's reactor and timers, which async-std and smol both run on.
//!
//! Its registrations are one-shot: a socket found empty is armed again and
//! waited on, and the reactor runs on a thread of its own (`async-io`) or on
//! a thread blocked in `block_on` while that thread is idle.

use std::future::Future;
use std::io::{self, Read, Write};
use std::task::{ready, Context, Poll};

use super::AsRaw;

pub(crate) use async_io::Timer;

/// A non-blocking socket on async-io's reactor.
#[derive(Debug)]
pub(crate) struct Source<T: AsRaw>(async_io::Async<T>);

impl<T: AsRaw> Source<T> {
    pub(crate) fn new(io: T) -> io::Result<Self> {
        async_io::Async::new_nonblocking(io).map(Self)
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.0.get_ref()
    }

    /// async-io's own pattern for its `Async<T>`: try, and on `WouldBlock`
    /// wait for the reactor (to write, with `write`) and try again.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(self.0.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if write {
                        ready!(self.0.poll_writable(cx))?
                    } else {
                        ready!(self.0.poll_readable(cx))?
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
        self.0.poll_writable(cx)
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
