//! The runtimes switchyard runs on, one file each behind one small
//! interface, as quinn's `runtime/`.
//!
//! A runtime gives four things: an executor (`spawn`), a pool for blocking
//! work (`spawn_blocking`), a way to run a future to the end on this thread
//! (`block_on`, and `LocalDriver` for [`spawn_thread`](crate::spawn_thread)),
//! and a reactor, which carries the sockets ([`Source`]) and the timers.
//! async-std and smol share one reactor, async-io's (`async_io.rs`); tokio
//! brings its own (`tokio.rs`). Everything above this module dispatches on
//! [`Runtime`] here and never names a runtime.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

#[cfg(async_io)]
pub(crate) mod async_io;
#[cfg(feature = "async-std")]
mod async_std;
#[cfg(feature = "smol")]
mod smol;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

#[cfg(all(feature = "tokio", not(unix)))]
compile_error!(
    "switchyard-rt's tokio runtime carries sockets on tokio's AsyncFd, which is Unix-only"
);

use crate::JoinHandle;

/// What a socket is to its reactor: a file descriptor, or on Windows (where
/// only async-io's reactor runs) a socket handle.
#[cfg(unix)]
pub(crate) use std::os::fd::AsFd as AsRaw;
#[cfg(windows)]
pub(crate) use std::os::windows::io::AsSocket as AsRaw;

/// A runtime switchyard can run on: one for each of this crate's runtime
/// features compiled in (`async-std`, the default; `smol`; `tokio`).
///
/// With several compiled in, each call that spawns a task or makes a
/// socket or timer uses [`Runtime::current`]: the one chosen with
/// [`set_default`](Runtime::set_default) or the `SWITCHYARD_RUNTIME`
/// environment variable if either is set; otherwise tokio inside a tokio
/// runtime (a `#[tokio::main]` program runs everything on its own
/// runtime, and no other runtime's thread is started); otherwise the first
/// compiled in of async-std, smol and tokio.
///
/// ```
/// use switchyard_rt::{Runtime, RUNTIME_VARIABLE};
///
/// // Outside any tokio runtime, with nothing chosen: the first compiled in
/// // (async-std, with the default features).
/// if std::env::var_os(RUNTIME_VARIABLE).is_none() {
///     assert_eq!(Runtime::current(), Runtime::compiled()[0]);
/// }
/// let first = Runtime::compiled()[0];
/// assert_eq!(first.name().parse::<Runtime>(), Ok(first));
/// assert!("tokyo".parse::<Runtime>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Runtime {
    /// async-std: its executor and blocking pool, async-io's reactor.
    #[cfg(feature = "async-std")]
    AsyncStd,
    /// smol: its global executor (`smol::spawn`, as many threads as
    /// `SMOL_THREADS` says, one by default), `blocking`'s pool and
    /// async-io's reactor.
    #[cfg(feature = "smol")]
    Smol,
    /// tokio: the tokio runtime a call is made in, or, outside any, one
    /// multi-threaded runtime of switchyard's own started on first use
    /// (its threads are named `switchyard-tokio`).
    #[cfg(feature = "tokio")]
    Tokio,
}

/// The variable that picks the runtime of a program with several compiled
/// in, when the program itself does not ([`Runtime::set_default`]):
/// `async-std`, `smol` or `tokio`.
pub const RUNTIME_VARIABLE: &str = "SWITCHYARD_RUNTIME";

/// [`Runtime::set_default`]'s choice: 0 for none, else the index in
/// [`Runtime::compiled`] plus one.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

impl Runtime {
    /// The runtimes compiled into this program, in the order of preference
    /// when nothing chooses one: async-std, smol, tokio.
    pub const fn compiled() -> &'static [Runtime] {
        &[
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd,
            #[cfg(feature = "smol")]
            Runtime::Smol,
            #[cfg(feature = "tokio")]
            Runtime::Tokio,
        ]
    }

    /// The runtime's name, as `SWITCHYARD_RUNTIME` takes it.
    pub const fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => "async-std",
            #[cfg(feature = "smol")]
            Runtime::Smol => "smol",
            #[cfg(feature = "tokio")]
            Runtime::Tokio => "tokio",
        }
    }

    /// Makes this the runtime of every later spawn, socket and timer,
    /// inside a tokio runtime or not, ahead of `SWITCHYARD_RUNTIME`. Call it
    /// first thing in `main`: what was made before stays where it was
    /// made.
    pub fn set_default(self) {
        let index = Self::compiled()
            .iter()
            .position(|&r| r == self)
            .map_or(0, |i| i + 1);
        CHOSEN.store(index as u8, Ordering::Relaxed);
    }

    /// The runtime a spawn, socket or timer made now would use (see
    /// [`Runtime`]).
    ///
    /// # Panics
    ///
    /// If no runtime is compiled in (a build with none of this crate's
    /// runtime features), or if `SWITCHYARD_RUNTIME` names one that is
    /// not: a build or deployment mistake, said at the first call rather
    /// than run on a runtime nobody asked for.
    pub fn current() -> Runtime {
        if let Some(chosen) = Self::chosen() {
            return chosen;
        }
        #[cfg(feature = "tokio")]
        if tokio::in_runtime() {
            return Runtime::Tokio;
        }
        match Self::compiled().first() {
            Some(&first) => first,
            None => panic!(
                "switchyard-rt has no runtime compiled in: turn on one of its features async-std, smol, tokio"
            ),
        }
    }

    /// The explicit choice, by [`set_default`](Runtime::set_default) or by
    /// the environment.
    fn chosen() -> Option<Runtime> {
        match CHOSEN.load(Ordering::Relaxed) {
            0 => Self::from_environment(),
            index => Self::compiled().get(usize::from(index) - 1).copied(),
        }
    }

    fn from_environment() -> Option<Runtime> {
        static FROM_ENVIRONMENT: OnceLock<Option<Runtime>> = OnceLock::new();
        *FROM_ENVIRONMENT.get_or_init(|| {
            let value = std::env::var_os(RUNTIME_VARIABLE)?;
            let value = value.to_string_lossy();
            if value.is_empty() {
                return None;
            }
            match value.parse() {
                Ok(runtime) => Some(runtime),
                Err(e) => panic!("{RUNTIME_VARIABLE}: {e}"),
            }
        })
    }

    pub(crate) fn reactor(self) -> Reactor {
        match self {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Reactor::AsyncIo,
            #[cfg(feature = "smol")]
            Runtime::Smol => Reactor::AsyncIo,
            #[cfg(feature = "tokio")]
            Runtime::Tokio => Reactor::Tokio,
        }
    }

    pub(crate) fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => async_std::spawn(future),
            #[cfg(feature = "smol")]
            Runtime::Smol => smol::spawn(future),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::spawn(future),
        }
    }

    pub(crate) fn spawn_blocking<F, T>(self, work: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => async_std::spawn_blocking(work),
            #[cfg(feature = "smol")]
            Runtime::Smol => smol::spawn_blocking(work),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::spawn_blocking(work),
        }
    }

    pub(crate) fn block_on<F: Future>(self, future: F) -> F::Output {
        match self {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => async_std::block_on(future),
            #[cfg(feature = "smol")]
            Runtime::Smol => smol::block_on(future),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::block_on(future),
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A runtime's name that is not one compiled into this program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRuntime(String);

impl fmt::Display for UnknownRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let compiled: Vec<&str> = Runtime::compiled().iter().map(|r| r.name()).collect();
        write!(
            f,
            "{:?} is not a runtime compiled into this program (compiled in: {})",
            self.0,
            compiled.join(", ")
        )
    }
}

impl std::error::Error for UnknownRuntime {}

impl FromStr for Runtime {
    type Err = UnknownRuntime;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::compiled()
            .iter()
            .copied()
            .find(|r| r.name() == name)
            .ok_or_else(|| UnknownRuntime(name.to_owned()))
    }
}

/// What carries sockets and timers: async-io's reactor (async-std, smol)
/// or tokio's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reactor {
    #[cfg(async_io)]
    AsyncIo,
    #[cfg(feature = "tokio")]
    Tokio,
}

impl Reactor {
    /// The reactor of [`Runtime::current`].
    pub(crate) fn current() -> Self {
        Runtime::current().reactor()
    }
}

/// How a [`spawn_thread`](crate::spawn_thread) thread runs its tasks,
/// taken on the caller's thread: on async-io, the thread drives the
/// reactor itself while its tasks wait; on tokio, it runs them inside the
/// caller's runtime (whose threads drive its reactor and timers), so that
/// what is made there outlives the thread.
pub(crate) enum LocalDriver {
    #[cfg(async_io)]
    AsyncIo,
    #[cfg(feature = "tokio")]
    Tokio(::tokio::runtime::Handle),
}

impl LocalDriver {
    /// The driver of [`Runtime::current`].
    pub(crate) fn current() -> Self {
        match Reactor::current() {
            #[cfg(async_io)]
            Reactor::AsyncIo => LocalDriver::AsyncIo,
            #[cfg(feature = "tokio")]
            Reactor::Tokio => LocalDriver::Tokio(tokio::handle()),
        }
    }

    /// Runs `future` on this thread until it ends.
    pub(crate) fn run<F: Future>(self, future: F) -> F::Output {
        match self {
            #[cfg(async_io)]
            LocalDriver::AsyncIo => async_io::run_local(future),
            #[cfg(feature = "tokio")]
            LocalDriver::Tokio(handle) => handle.block_on(future),
        }
    }
}

/// A non-blocking standard socket registered with a reactor: the one type
/// the sockets in [`net`](crate::net) are made of.
///
/// Every operation goes through `poll_read_with` or `poll_write_with`,
/// which retry it until it does not find the socket empty (or full), so
/// that each reactor keeps its own account of readiness: async-io re-arms
/// a one-shot registration, tokio clears an edge-triggered one.
#[derive(Debug)]
pub(crate) enum Source<T: AsRaw> {
    #[cfg(async_io)]
    AsyncIo(async_io::Source<T>),
    #[cfg(feature = "tokio")]
    Tokio(tokio::Source<T>),
    /// With no runtime compiled in, nothing makes a socket. (It holds the
    /// socket it never has, so that a socket type is dropped the same way
    /// whatever is compiled in.)
    #[cfg(not(any(async_io, feature = "tokio")))]
    #[allow(dead_code)]
    None(std::convert::Infallible, T),
}

macro_rules! each_reactor {
    ($source:expr, $inner:ident => $body:expr) => {
        match $source {
            #[cfg(async_io)]
            Source::AsyncIo($inner) => $body,
            #[cfg(feature = "tokio")]
            Source::Tokio($inner) => $body,
            #[cfg(not(any(async_io, feature = "tokio")))]
            Source::None(never, _) => match *never {},
        }
    };
}

impl<T: AsRaw> Source<T> {
    /// Registers `io`, already non-blocking, with the current runtime's
    /// reactor.
    pub(crate) fn new(io: T) -> std::io::Result<Self> {
        Self::with_reactor(Reactor::current(), io)
    }

    /// Registers `io` with the reactor that carries `self` (a listener's
    /// accepted connection with the listener's).
    pub(crate) fn sibling<U: AsRaw>(&self, io: U) -> std::io::Result<Source<U>> {
        Source::with_reactor(self.reactor(), io)
    }

    fn with_reactor(reactor: Reactor, io: T) -> std::io::Result<Self> {
        Ok(match reactor {
            #[cfg(async_io)]
            Reactor::AsyncIo => Source::AsyncIo(async_io::Source::new(io)?),
            #[cfg(feature = "tokio")]
            Reactor::Tokio => Source::Tokio(tokio::Source::new(io)?),
        })
    }

    fn reactor(&self) -> Reactor {
        match self {
            #[cfg(async_io)]
            Source::AsyncIo(_) => Reactor::AsyncIo,
            #[cfg(feature = "tokio")]
            Source::Tokio(_) => Reactor::Tokio,
            #[cfg(not(any(async_io, feature = "tokio")))]
            Source::None(never, _) => match *never {},
        }
    }

    /// The standard socket.
    pub(crate) fn get_ref(&self) -> &T {
        each_reactor!(self, s => s.get_ref())
    }

    /// Wakes the tasks waiting to read on an error the kernel reports on
    /// the socket, as on data (a connected datagram socket's ICMP
    /// refusals): async-io's reactor does so for every socket; tokio's
    /// needs telling.
    pub(crate) fn watch_errors(&self) {
        match self {
            #[cfg(async_io)]
            Source::AsyncIo(_) => {}
            #[cfg(feature = "tokio")]
            Source::Tokio(source) => source.watch_errors(),
            #[cfg(not(any(async_io, feature = "tokio")))]
            Source::None(never, _) => match *never {},
        }
    }

    /// Runs `op` (a receive, an accept, a peek) until it does not find the
    /// socket empty, waiting for the reactor in between.
    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut std::task::Context<'_>,
        op: impl FnMut(&T) -> std::io::Result<R>,
    ) -> std::task::Poll<std::io::Result<R>> {
        each_reactor!(self, s => s.poll_read_with(cx, op))
    }

    /// Runs `op` (a send) until it does not find the socket full.
    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut std::task::Context<'_>,
        op: impl FnMut(&T) -> std::io::Result<R>,
    ) -> std::task::Poll<std::io::Result<R>> {
        each_reactor!(self, s => s.poll_write_with(cx, op))
    }

    /// Ready once the socket is writable (a connect has finished).
    pub(crate) fn poll_writable(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        each_reactor!(self, s => s.poll_writable(cx))
    }

    /// Reads into `buf`. On tokio, a read that did not fill `buf` is taken
    /// as proof that the socket is drained (as tokio's own streams do), so
    /// that the next read waits for the reactor instead of making a system
    /// call that finds nothing.
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>>
    where
        for<'a> &'a T: std::io::Read,
    {
        each_reactor!(self, s => s.poll_read(cx, buf))
    }

    /// Writes from `buf`.
    pub(crate) fn poll_write(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>>
    where
        for<'a> &'a T: std::io::Write,
    {
        each_reactor!(self, s => s.poll_write(cx, buf))
    }
}
