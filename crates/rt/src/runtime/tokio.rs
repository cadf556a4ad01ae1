//! tokio: the runtime a call is made in, or switchyard's own outside any.
//!
//! Sockets are tokio's `AsyncFd` over the standard ones: registered once,
//! edge-triggered, with readiness cleared by us. After a read that did not
//! fill its buffer the socket is taken as drained, without the system call
//! that would find it empty (what tokio's own `TcpStream` does); async-io,
//! re-arming a one-shot registration on every wait, makes that call.

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio::io::unix::{AsyncFd, AsyncFdReadyGuard};
use tokio::runtime::{Builder, Handle, Runtime};

use super::AsRaw;
use crate::task::JoinHandle;

/// Whether this thread is inside a tokio runtime.
pub(crate) fn in_runtime() -> bool {
    Handle::try_current().is_ok()
}

/// switchyard's own runtime, for calls made outside any tokio runtime:
/// multi-threaded, a thread per core, started on first use.
fn own() -> &'static Runtime {
    static OWN: OnceLock<Runtime> = OnceLock::new();
    OWN.get_or_init(|| {
        Builder::new_multi_thread()
            .enable_all()
            .thread_name("switchyard-tokio")
            .build()
            .unwrap_or_else(|e| panic!("could not start a tokio runtime: {e}"))
    })
}

/// Runs `f` inside the current tokio runtime, or inside switchyard's own
/// when there is none (what registering a socket or a timer needs).
fn in_context<R>(f: impl FnOnce() -> R) -> R {
    if in_runtime() {
        f()
    } else {
        let _entered = own().enter();
        f()
    }
}

pub(super) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    JoinHandle::tokio(match Handle::try_current() {
        Ok(handle) => handle.spawn(future),
        Err(_) => own().spawn(future),
    })
}

pub(super) fn spawn_blocking<F, T>(work: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    JoinHandle::tokio(match Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(work),
        Err(_) => own().spawn_blocking(work),
    })
}

/// Runs `future` on this thread, inside switchyard's own runtime. Inside a
/// tokio runtime tokio refuses this, as it refuses its own `block_on`.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    own().block_on(future)
}

/// The current tokio runtime's handle, or switchyard's own outside any.
pub(crate) fn handle() -> Handle {
    Handle::try_current().unwrap_or_else(|_| own().handle().clone())
}

/// A non-blocking socket on tokio's reactor.
#[derive(Debug)]
pub(crate) struct Source<T: AsRaw> {
    fd: AsyncFd<Fd<T>>,
    /// The tasks waiting to read, and to write. tokio keeps one waker per
    /// direction, the last poller's; several tasks may wait on one socket
    /// (every session of a UDP listener sends on its socket), so tokio is
    /// given a waker that wakes them all.
    readers: Arc<Waiters>,
    writers: Arc<Waiters>,
    /// For a connected datagram socket, what wakes its readers on an error
    /// (see [`watch_errors`](Self::watch_errors)); unset for others.
    errors: OnceLock<Box<ErrorWatch>>,
}

/// What wakes the readers of a connected datagram socket when the kernel
/// reports an error on it (an ICMP port unreachable answering what it
/// sent): epoll reports it as `EPOLLERR` alone, which tokio counts as
/// write-closed, not readable, so a task waiting to read would wait on
/// (tokio's own `UdpSocket` waits for `Interest::ERROR` as well, which
/// `AsyncFd`'s poll functions cannot). A second registration of the socket
/// (a duplicate of its descriptor: one more open file per connected
/// datagram socket while a read waits) waits for that error, made when a
/// read first waits, and again after each error. Unconnected sockets are
/// not told of such errors (Linux drops them), so they have none.
struct ErrorWatch(Mutex<Option<futures::future::BoxFuture<'static, io::Result<()>>>>);

impl std::fmt::Debug for ErrorWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorWatch")
    }
}

impl ErrorWatch {
    /// `Ready` once an error is pending on `socket` (`SO_ERROR`).
    fn poll(
        &self,
        socket: std::os::fd::BorrowedFd<'_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut watching = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if watching.is_none() {
            // Out of descriptors: no watch (the socket still works; a
            // refusal shows at the next receive).
            let Ok(duplicate) = socket.try_clone_to_owned() else {
                return Poll::Pending;
            };
            *watching = Some(Box::pin(async move {
                // Deprecated as `AsyncFd::new` is (see `Source::new`): the
                // duplicate is owned, and deregistered before it is closed.
                // (Error interest registers as readable, mio having none.)
                #[allow(deprecated)]
                let fd =
                    in_context(|| AsyncFd::with_interest(duplicate, tokio::io::Interest::ERROR))?;
                let _error = fd.ready(tokio::io::Interest::ERROR).await?;
                Ok(())
            }));
        }
        let Some(watch) = watching.as_mut() else {
            return Poll::Pending;
        };
        let seen = ready!(watch.as_mut().poll(cx));
        *watching = None;
        Poll::Ready(seen)
    }
}

/// Tasks waiting on one direction of a socket, all woken at once.
#[derive(Debug, Default)]
struct Waiters(Mutex<Vec<Waker>>);

impl Waiters {
    fn join(&self, waker: &Waker) {
        let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !waiting.iter().any(|w| w.will_wake(waker)) {
            waiting.push(waker.clone());
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiting = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in waiting {
            waker.wake();
        }
    }
}

/// `AsyncFd` asks for `AsRawFd`; the standard sockets' `AsFd` says the same.
#[derive(Debug)]
struct Fd<T>(T);

impl<T: AsRaw> std::os::fd::AsRawFd for Fd<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl<T: AsRaw> Source<T> {
    pub(crate) fn new(io: T) -> io::Result<Self> {
        // `AsyncFd::new` is deprecated since tokio 1.54 for a type whose
        // `as_raw_fd` may name a descriptor it does not own (one closed or
        // reused while registered); its successor, `register`, is `unsafe`
        // with that as its contract. `Fd` owns its socket, and `AsyncFd`
        // deregisters it before dropping it: the contract holds, and this
        // crate stays free of `unsafe`.
        #[allow(deprecated)]
        let fd = in_context(|| AsyncFd::new(Fd(io)))?;
        Ok(Self {
            fd,
            readers: Arc::default(),
            writers: Arc::default(),
            errors: OnceLock::new(),
        })
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.fd.get_ref().0
    }

    /// Wakes the readers on an error reported on the socket (a connected
    /// datagram socket's ICMP refusals).
    pub(crate) fn watch_errors(&self) {
        let _ = self.errors.set(Box::new(ErrorWatch(Mutex::new(None))));
    }

    /// tokio's readiness for reading (or writing), the task joining that
    /// direction's waiters if it must wait.
    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        write: bool,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, Fd<T>>>> {
        let waiters = if write { &self.writers } else { &self.readers };
        let all = Waker::from(Arc::clone(waiters));
        let mut all_cx = Context::from_waker(&all);
        for joined in [false, true] {
            if joined {
                // Then polled again: tokio sets readiness before it wakes,
                // so a wake-up between the two polls shows in the second.
                waiters.join(cx.waker());
            }
            let polled = if write {
                self.fd.poll_write_ready(&mut all_cx)
            } else {
                self.fd.poll_read_ready(&mut all_cx)
            };
            if polled.is_ready() {
                return polled;
            }
        }
        if let (false, Some(errors)) = (write, self.errors.get()) {
            let socket = self.get_ref().as_fd();
            // Twice at most: an error seen but taken already (by a
            // receive in between) starts a new watch.
            for _ in 0..2 {
                if errors.poll(socket, &mut all_cx)?.is_pending() {
                    break;
                }
                // The error the next receive would return, taken as it
                // would take it.
                if let Some(error) = socket2::SockRef::from(&socket).take_error()? {
                    return Poll::Ready(Err(error));
                }
            }
        }
        Poll::Pending
    }

    /// Runs `op` once the socket is ready (to write, with `write`), until
    /// it does not find the socket empty (or full): `try_io` clears the
    /// readiness when it does. `drained` says from `op`'s result that it
    /// emptied (or filled) the socket without finding it so, to clear the
    /// readiness without the system call that would.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let mut guard = ready!(self.poll_ready(cx, write))?;
            match guard.try_io(|fd| retry_interrupted(|| op(&fd.get_ref().0))) {
                Ok(Ok(done)) => {
                    if drained(&done) {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(done));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, false, op, |_| false)
    }

    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, true, op, |_| false)
    }

    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(cx, true).map_ok(drop)
    }

    /// A read that did not fill `buf` drained the socket: the next read
    /// waits for the next edge (tokio's `PollEvented::poll_read`). End of
    /// stream (0) is left ready, so it reads again.
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        let len = buf.len();
        self.poll_io(cx, false, |mut io| io.read(buf), |&n| n > 0 && n < len)
    }

    /// A write that did not take all of `buf` filled the send buffer.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        self.poll_io(
            cx,
            true,
            |mut io| io.write(buf),
            |&n| n > 0 && n < buf.len(),
        )
    }
}

fn retry_interrupted<R>(mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// A timer on tokio's clock, with async-io's `Timer` semantics: it fires
/// once at its deadline (again every `period` for an interval) and is
/// pending forever otherwise.
#[derive(Debug)]
pub(crate) struct Timer {
    /// Made on the first deadline: a timer that never fires needs no
    /// runtime.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    period: Option<Duration>,
    armed: bool,
}

impl Timer {
    pub(crate) fn never() -> Self {
        Self {
            sleep: None,
            period: None,
            armed: false,
        }
    }

    pub(crate) fn at(at: Instant) -> Self {
        let mut timer = Self::never();
        timer.set_at(at);
        timer
    }

    pub(crate) fn interval_at(start: Instant, period: Duration) -> Self {
        let mut timer = Self::at(start);
        timer.period = Some(period);
        timer
    }

    pub(crate) fn set_at(&mut self, at: Instant) {
        let at = tokio::time::Instant::from_std(at);
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(at),
            None => self.sleep = Some(in_context(|| Box::pin(tokio::time::sleep_until(at)))),
        }
        self.period = None;
        self.armed = true;
    }

    pub(crate) fn poll_fire(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let Some(sleep) = self.sleep.as_mut().filter(|_| self.armed) else {
            return Poll::Pending;
        };
        ready!(sleep.as_mut().poll(cx));
        let fired = sleep.deadline();
        match self.period {
            Some(period) => sleep.as_mut().reset(fired + period),
            None => self.armed = false,
        }
        Poll::Ready(fired.into_std())
    }
}
