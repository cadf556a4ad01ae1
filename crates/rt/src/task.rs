//! Tasks: spawning, joining, blocking work, and running a future to the end.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::Runtime;

/// A handle to a spawned task: await it for the task's output. Dropping it
/// lets the task run on, detached, whatever the runtime. A task that
/// panicked passes its panic on to whoever awaits it.
#[derive(Debug)]
pub struct JoinHandle<T>(Handle<T>);

#[derive(Debug)]
enum Handle<T> {
    #[cfg(feature = "async-std")]
    AsyncStd(async_std::task::JoinHandle<T>),
    /// An async-task task (smol's, `blocking`'s, or a
    /// [`spawn_thread`](crate::spawn_thread) thread's), which would be
    /// cancelled if dropped: detached on drop instead. `None` once
    /// cancelled.
    Task(Option<async_executor::Task<T>>),
    #[cfg(feature = "tokio")]
    Tokio(tokio::task::JoinHandle<T>),
}

impl<T> JoinHandle<T> {
    #[cfg(feature = "async-std")]
    pub(crate) fn async_std(handle: async_std::task::JoinHandle<T>) -> Self {
        Self(Handle::AsyncStd(handle))
    }

    pub(crate) fn task(task: async_executor::Task<T>) -> Self {
        Self(Handle::Task(Some(task)))
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn tokio(handle: tokio::task::JoinHandle<T>) -> Self {
        Self(Handle::Tokio(handle))
    }

    /// Cancels the task and waits for it to stop: its output if it had
    /// already finished, `None` if it was stopped first.
    pub async fn cancel(mut self) -> Option<T> {
        // Taken out of the handle, which `Drop` then leaves alone.
        match std::mem::replace(&mut self.0, Handle::Task(None)) {
            #[cfg(feature = "async-std")]
            Handle::AsyncStd(handle) => handle.cancel().await,
            Handle::Task(task) => task?.cancel().await,
            #[cfg(feature = "tokio")]
            Handle::Tokio(handle) => {
                handle.abort();
                match handle.await {
                    Ok(output) => Some(output),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_cancelled) => None,
                }
            }
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.0 {
            #[cfg(feature = "async-std")]
            Handle::AsyncStd(handle) => Pin::new(handle).poll(cx),
            Handle::Task(Some(task)) => Pin::new(task).poll(cx),
            // Only `cancel` takes the task, and it takes the handle too.
            Handle::Task(None) => unreachable!("a cancelled handle is not polled"),
            #[cfg(feature = "tokio")]
            Handle::Tokio(handle) => match std::task::ready!(Pin::new(handle).poll(cx)) {
                Ok(output) => Poll::Ready(output),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Only a runtime shutting down cancels a task whose handle
                // is still held: there is no output to give.
                Err(e) => panic!("a task awaited after its tokio runtime shut down: {e}"),
            },
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // async-task cancels a task whose handle is dropped; async-std's
        // and tokio's handles let it run on, which is what this handle
        // promises.
        #[allow(irrefutable_let_patterns)] // with smol alone, every handle is one
        if let Handle::Task(task) = &mut self.0 {
            if let Some(task) = task.take() {
                task.detach();
            }
        }
    }
}

/// Runs `future` as a task of its own on the runtime (on a thread
/// [`spawn_thread`](crate::spawn_thread) started, on that thread).
///
/// ```
/// # switchyard_rt::block_on(async {
/// let task = switchyard_rt::spawn(async { 6 * 7 });
/// assert_eq!(task.await, 42);
/// # });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::thread::spawn_here(future) {
        Ok(task) => JoinHandle::task(task),
        Err(future) => Runtime::current().spawn(future),
    }
}

/// Runs blocking work (a file read, a DNS lookup) on the runtime's thread
/// pool for blocking calls, so that it holds no worker thread.
///
/// ```
/// # switchyard_rt::block_on(async {
/// let len = switchyard_rt::spawn_blocking(|| std::fs::read("Cargo.toml").map(|b| b.len())).await?;
/// assert!(len > 0);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn spawn_blocking<F, T>(work: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Runtime::current().spawn_blocking(work)
}

/// Runs `future` to completion on the current thread (for `main` functions
/// and tests), on [`Runtime::current`]. Not inside a task: tokio refuses to
/// block a thread of its runtime, and a
/// [`spawn_thread`](crate::spawn_thread) thread's tasks would not run
/// while this blocks.
///
/// ```
/// let answer = switchyard_rt::block_on(async { 42 });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    Runtime::current().block_on(future)
}
