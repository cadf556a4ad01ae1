//! Tasks: spawning, joining, blocking work, and running a future to the end.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A handle to a spawned task: await it for the task's output. Dropping it
/// lets the task run on, detached.
#[derive(Debug)]
pub struct JoinHandle<T>(Handle<T>);

#[derive(Debug)]
enum Handle<T> {
    /// A task of the runtime's.
    Runtime(async_std::task::JoinHandle<T>),
    /// A task of a thread of its own ([`spawn_thread`](crate::spawn_thread));
    /// `None` once cancelled.
    OwnThread(Option<async_executor::Task<T>>),
}

impl<T> JoinHandle<T> {
    /// Cancels the task and waits for it to stop: its output if it had
    /// already finished, `None` if it was stopped first.
    pub async fn cancel(mut self) -> Option<T> {
        // Taken out of the handle, which `Drop` then leaves alone.
        match std::mem::replace(&mut self.0, Handle::OwnThread(None)) {
            Handle::Runtime(handle) => handle.cancel().await,
            Handle::OwnThread(task) => task?.cancel().await,
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.0 {
            Handle::Runtime(handle) => Pin::new(handle).poll(cx),
            Handle::OwnThread(Some(task)) => Pin::new(task).poll(cx),
            // Only `cancel` takes the task, and it takes the handle too.
            Handle::OwnThread(None) => unreachable!("a cancelled handle is not polled"),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // A thread's own executor cancels a task whose handle is dropped;
        // the runtime's lets it run on, which is what this handle promises.
        if let Handle::OwnThread(task) = &mut self.0 {
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
        Ok(task) => JoinHandle(Handle::OwnThread(Some(task))),
        Err(future) => JoinHandle(Handle::Runtime(async_std::task::spawn(future))),
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
    JoinHandle(Handle::Runtime(async_std::task::spawn_blocking(work)))
}

/// Runs `future` to completion on the current thread (for `main` functions
/// and tests). Not on a thread [`spawn_thread`](crate::spawn_thread)
/// started: its tasks would not run while this blocks.
pub fn block_on<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}
