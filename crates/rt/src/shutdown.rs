//! [`Shutdown`]: one signal that every server, listener and connection of a
//! program watches.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener};

/// A shutdown signal: cloneable (every clone is the same signal),
/// idempotent (triggering it again does nothing), and event-based (waiting
/// on it costs no polling and no channel).
///
/// A server holds one and stops accepting when it fires; each of its
/// connections holds a clone and closes (a WebSocket with 1001). Give
/// several servers the same signal to stop them together.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use switchyard_rt::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let watcher = shutdown.clone();
/// let task = switchyard_rt::spawn(async move {
///     watcher.wait().await;
///     "stopped"
/// });
/// assert!(!shutdown.is_triggered());
/// shutdown.trigger();
/// shutdown.trigger(); // idempotent
/// assert_eq!(task.await, "stopped");
/// assert!(shutdown.is_triggered());
/// shutdown.wait().await; // already triggered: ready at once
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    event: Event,
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers the signal: every waiter wakes, now and later.
    pub fn trigger(&self) {
        if !self.inner.triggered.swap(true, Ordering::SeqCst) {
            self.inner.event.notify(usize::MAX);
        }
    }

    /// Whether the signal has been triggered.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// A future that is ready once the signal is triggered. It is `Unpin`,
    /// so a hand-written `poll` can keep one in a field.
    pub fn wait(&self) -> ShutdownWait {
        ShutdownWait {
            shutdown: self.clone(),
            listener: None,
        }
    }
}

/// The future of [`Shutdown::wait`].
#[derive(Debug)]
pub struct ShutdownWait {
    shutdown: Shutdown,
    listener: Option<EventListener>,
}

impl ShutdownWait {
    /// The signal this waits on.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }
}

impl Future for ShutdownWait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.shutdown.is_triggered() {
                self.listener = None;
                return Poll::Ready(());
            }
            match &mut self.listener {
                // Listen first, then check again: a trigger between the
                // check and the listen is not missed.
                None => self.listener = Some(self.shutdown.inner.event.listen()),
                Some(listener) => match Pin::new(listener).poll(cx) {
                    Poll::Ready(()) => self.listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn a_wait_before_the_trigger_is_woken_and_one_after_is_ready_at_once() {
        let shutdown = Shutdown::new();
        let mut early = shutdown.wait();
        assert!((&mut early).now_or_never().is_none());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut early).poll(&mut cx).is_pending());
        shutdown.clone().trigger();
        assert!(Pin::new(&mut early).poll(&mut cx).is_ready());
        assert!(shutdown.wait().now_or_never().is_some());
    }

    #[test]
    fn many_waiters_all_wake() {
        crate::block_on(async {
            let shutdown = Shutdown::new();
            let waiters: Vec<_> = (0..16).map(|_| crate::spawn(shutdown.wait())).collect();
            crate::sleep(std::time::Duration::from_millis(10)).await;
            shutdown.trigger();
            for waiter in waiters {
                crate::timeout(std::time::Duration::from_secs(5), "waiter", waiter)
                    .await
                    .unwrap();
            }
        });
    }
}
