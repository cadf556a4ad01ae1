//! smol: its global executor (`SMOL_THREADS` threads, one by default) and
//! `blocking`'s pool; sockets and timers on async-io (`async_io.rs`).

use std::future::Future;

use crate::task::JoinHandle;

pub(super) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    JoinHandle::task(smol::spawn(future))
}

pub(super) fn spawn_blocking<F, T>(work: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    JoinHandle::task(smol::unblock(work))
}

pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    smol::block_on(future)
}
