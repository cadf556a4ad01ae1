//! async-std: its executor (async-global-executor, a thread per core) and
//! its blocking pool; sockets and timers on async-io (`async_io.rs`).

use std::future::Future;

use crate::task::JoinHandle;

pub(super) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    JoinHandle::async_std(async_std::task::spawn(future))
}

pub(super) fn spawn_blocking<F, T>(work: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    JoinHandle::async_std(async_std::task::spawn_blocking(work))
}

pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}
