//! switchyard's runtime glue: the few calls that need an executor, a timer
//! or the reactor.
//!
//! The transports are written against the `futures` traits; spawning tasks,
//! waiting on time, and the sockets themselves are all they ask of a
//! runtime, and they ask it here: [`spawn`], [`spawn_blocking`],
//! [`spawn_thread`], [`block_on`], [`sleep`] and [`timeout`], and the sockets in [`net`].
//! The runtimes are features, any combination of them: `async-std` (the
//! default), `smol` and `tokio`, one file each under `runtime/`; which one
//! runs when several are compiled in is [`Runtime`]'s to say (inside a
//! tokio runtime, tokio; otherwise the default, or the program's choice).
//! This crate depends on no other switchyard crate, and no other switchyard
//! crate names a runtime.
//!
//! It also holds what every layer shares and that needs nothing but time:
//! [`Shutdown`] (the one shutdown signal of servers, listeners and
//! connections), [`Deadline`], [`IdleTimeout`] and [`Backoff`].

#![forbid(unsafe_code)]
// Built with no runtime, every call ends in `Runtime::current`'s panic.
#![cfg_attr(
    not(any(feature = "async-std", feature = "smol", feature = "tokio")),
    allow(unused_variables, unused_mut, unreachable_code, dead_code)
)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod backoff;
mod deadline;
mod idle;
mod log_budget;
pub mod net;
mod runtime;
mod shutdown;
mod stdio;
mod task;
mod thread;
mod time;

pub use backoff::Backoff;
pub use deadline::Deadline;
pub use idle::IdleTimeout;
pub use log_budget::LogBudget;
pub use runtime::{Runtime, UnknownRuntime, RUNTIME_VARIABLE};
pub use shutdown::{Shutdown, ShutdownWait};
pub use stdio::{stdio, Stdio};
pub use task::{block_on, spawn, spawn_blocking, JoinHandle};
pub use thread::spawn_thread;
pub use time::{sleep, timeout, Timer};
