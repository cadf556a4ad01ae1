//! switchyard's runtime glue: the few calls that need an executor or a timer.
//!
//! The transports are written against the `futures` traits; spawning tasks
//! and waiting on time are the only things they ask of a runtime, and they
//! ask it here. Today that runtime is async-std (with async-io's reactor and
//! timers, which async-std runs on); moving to another is a change to this
//! crate, not to the transports.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod backoff;
mod deadline;
mod idle;
mod shared;
mod time;

pub use backoff::Backoff;
pub use deadline::Deadline;
pub use idle::IdleTimeout;
pub use shared::share;
pub use time::{sleep, timeout, Timer};

/// A handle to a spawned task: await it for the task's output.
pub use async_std::task::JoinHandle;

/// Runs `future` as a task of its own on the runtime.
///
/// ```
/// # async_std::task::block_on(async {
/// let task = switchyard_rt::spawn(async { 6 * 7 });
/// assert_eq!(task.await, 42);
/// # });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    async_std::task::spawn(future)
}

/// Runs `future` to completion on the current thread (for `main` functions
/// and tests).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}
