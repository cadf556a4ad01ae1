//! A thread of its own: work that must not wait in line behind the
//! runtime's other tasks.
//!
//! The runtime's executor takes woken tasks in the order they were woken.
//! When a server is busy, a task woken now runs after every task woken
//! before it: behind a push to 1,000 subscribers, a request arriving next
//! waits for all 1,000 of them to write. Work that should not wait there
//! (a publish API, an admin endpoint) runs on a thread of its own with
//! [`spawn_thread`], where the tasks it spawns stay.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::rc::Rc;

use async_executor::{LocalExecutor, Task};

use crate::runtime::LocalDriver;

thread_local! {
    /// The executor of the thread [`spawn_thread`] started, on that thread.
    static OWN_EXECUTOR: RefCell<Option<Rc<LocalExecutor<'static>>>> = const { RefCell::new(None) };
}

/// Runs `future` on a new thread named `name`, with every task it spawns
/// (and they spawn, [`spawn`](crate::spawn)) kept on that thread: they
/// never wait behind the runtime's other tasks, and those never wait
/// behind them.
/// Like the runtime's, a task whose handle was dropped runs on: the thread
/// ends once `future` and every task spawned on it have ended, and its
/// [`JoinHandle`](std::thread::JoinHandle) gives `future`'s output.
/// On async-io (async-std, smol) the thread drives the reactor itself; on
/// tokio it runs inside the caller's runtime, whose threads drive the
/// reactor and timers, so that sockets and timers made there outlive it
/// (on a current-thread tokio runtime, they are driven while that
/// runtime's own `block_on` runs). Timers, sockets and [`spawn_blocking`](crate::spawn_blocking) work
/// there as anywhere; [`block_on`](crate::block_on) does not (the
/// thread's tasks would wait for it).
///
/// The operating system shares the cores between this thread and the
/// runtime's: a thread that is mostly waiting, woken by a request, runs
/// at once.
///
/// ```
/// let thread = switchyard_rt::spawn_thread("answers", async {
///     // Spawned here, so run here.
///     let task = switchyard_rt::spawn(async { std::thread::current().name().map(String::from) });
///     task.await
/// })?;
/// assert_eq!(thread.join().unwrap().as_deref(), Some("answers"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_thread<F>(name: &str, future: F) -> io::Result<std::thread::JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The caller's runtime, which the new thread is not inside.
    let driver = LocalDriver::current();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let executor = Rc::new(LocalExecutor::new());
            let _installed = Installed::new(Some(executor.clone()));
            driver.run(executor.run(async {
                let output = future.await;
                while !executor.is_empty() {
                    executor.tick().await;
                }
                output
            }))
        })
}

/// This thread's own executor, set while it lives and put back as it was
/// when it is dropped, a panic included (a task dropped then may spawn).
struct Installed(Option<Rc<LocalExecutor<'static>>>);

impl Installed {
    fn new(executor: Option<Rc<LocalExecutor<'static>>>) -> Self {
        Self(OWN_EXECUTOR.with(|own| own.replace(executor)))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let before = self.0.take();
        let _ = OWN_EXECUTOR.try_with(|own| own.replace(before));
    }
}

/// Spawns `future` on this thread's own executor, if it is a thread
/// [`spawn_thread`] started; otherwise gives it back.
pub(crate) fn spawn_here<F>(future: F) -> Result<Task<F::Output>, F>
where
    F: Future + 'static,
{
    match OWN_EXECUTOR.try_with(|own| own.borrow().clone()) {
        Ok(Some(executor)) => Ok(executor.spawn(future)),
        _ => Err(future),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn thread_name() -> Option<String> {
        std::thread::current().name().map(String::from)
    }

    #[test]
    fn tasks_spawned_on_the_thread_run_there_and_others_on_the_runtime() {
        let thread = spawn_thread("own", async {
            let nested = crate::spawn(async { crate::spawn(async { thread_name() }).await });
            let blocking = crate::spawn_blocking(thread_name);
            (thread_name(), nested.await, blocking.await)
        })
        .unwrap();
        let (own, nested, blocking) = thread.join().unwrap();
        assert_eq!(own.as_deref(), Some("own"));
        assert_eq!(nested.as_deref(), Some("own"));
        assert_ne!(blocking.as_deref(), Some("own"));
        // Elsewhere, spawning is the runtime's as before.
        let elsewhere = crate::block_on(crate::spawn(async { thread_name() }));
        assert_ne!(elsewhere.as_deref(), Some("own"));
    }

    #[test]
    fn a_dropped_handle_leaves_its_task_running_and_a_cancelled_one_stops_it() {
        let thread = spawn_thread("detach", async {
            let (tx, rx) = async_channel::bounded(1);
            drop(crate::spawn(async move {
                crate::sleep(Duration::from_millis(10)).await;
                let _ = tx.send("ran").await;
            }));
            let ran = rx.recv().await.ok();
            let stopped = crate::spawn(crate::sleep(Duration::from_secs(60))).cancel();
            let finished = crate::spawn(async { 7 });
            crate::sleep(Duration::from_millis(10)).await;
            (ran, stopped.await, finished.cancel().await)
        })
        .unwrap();
        assert_eq!(thread.join().unwrap(), (Some("ran"), None, Some(7)));
    }

    /// What a thread of its own made (a socket, a timer) works after it
    /// ended: on tokio it was made on the caller's runtime, not on one that
    /// ended with the thread.
    #[test]
    fn sockets_and_timers_made_on_the_thread_outlive_it() {
        use futures::{AsyncReadExt, AsyncWriteExt};
        crate::block_on(async {
            let thread = spawn_thread("maker", async {
                let pair = crate::net::UnixStream::pair().unwrap();
                let timer = crate::Timer::after(Duration::from_millis(20));
                (pair, timer)
            })
            .unwrap();
            let ((mut a, mut b), timer) = thread.join().unwrap();
            timer.await;
            a.write_all(b"after").await.unwrap();
            let mut got = [0u8; 5];
            b.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"after");
        });
    }

    #[test]
    fn the_thread_ends_once_the_tasks_left_running_have() {
        let (tx, rx) = async_channel::bounded(1);
        let thread = spawn_thread("outlived", async move {
            // Its handle is dropped and the future ends first.
            drop(crate::spawn(async move {
                crate::sleep(Duration::from_millis(50)).await;
                let _ = tx.send("done").await;
            }));
        })
        .unwrap();
        thread.join().unwrap();
        assert_eq!(rx.try_recv().ok(), Some("done"));
    }
}
