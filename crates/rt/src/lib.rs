//! switchyard's runtime glue: the few calls that need an executor, a timer
//! or the reactor.
//!
//! The transports are written against the `futures` traits; spawning tasks,
//! waiting on time, and the sockets themselves are all they ask of a
//! runtime, and they ask it here: [`spawn`], [`spawn_blocking`],
//! [`spawn_thread`], [`block_on`], [`sleep`] and [`timeout`], and the sockets in [`net`].
//! Today that runtime is async-std (with async-io's reactor and timers,
//! which async-std runs on); moving to another is a change to this crate,
//! not to the transports. This crate depends on no other switchyard crate.
//!
//! It also holds what every layer shares and that needs nothing but time:
//! [`Shutdown`] (the one shutdown signal of servers, listeners and
//! connections), [`Deadline`], [`IdleTimeout`] and [`Backoff`].

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod backoff;
mod deadline;
mod idle;
pub mod net;
mod shutdown;
mod stdio;
mod task;
mod thread;
mod time;

pub use backoff::Backoff;
pub use deadline::Deadline;
pub use idle::IdleTimeout;
pub use shutdown::{Shutdown, ShutdownWait};
pub use stdio::{stdio, Stdio};
pub use task::{block_on, spawn, spawn_blocking, JoinHandle};
pub use thread::spawn_thread;
pub use time::{sleep, timeout, Timer};
