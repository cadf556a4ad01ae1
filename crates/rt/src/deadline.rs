//! [`Deadline`]: a timer for a deadline that keeps moving.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::Timer;

/// Waits for a deadline that moves often (an idle limit pushed back by
/// every byte, a heartbeat pushed back by every frame) without re-arming a
/// reactor timer each time it moves: the timer is re-armed only when the
/// deadline moves earlier than where it is set, or after it fires early.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use std::time::{Duration, Instant};
/// use switchyard_rt::Deadline;
///
/// let mut deadline = Deadline::new();
/// let at = Instant::now() + Duration::from_millis(20);
/// futures::future::poll_fn(|cx| deadline.poll_at(cx, at)).await;
/// assert!(Instant::now() >= at);
/// # });
/// ```
#[derive(Debug)]
pub struct Deadline {
    timer: Timer,
    /// Where the timer is set, if it is.
    armed: Option<Instant>,
}

impl Default for Deadline {
    fn default() -> Self {
        Self::new()
    }
}

impl Deadline {
    /// A deadline not yet set.
    pub fn new() -> Self {
        Self {
            timer: Timer::never(),
            armed: None,
        }
    }

    /// Ready once `at` has passed; otherwise wakes the task by then.
    pub fn poll_at(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        loop {
            if Instant::now() >= at {
                return Poll::Ready(());
            }
            if self.armed.is_none_or(|armed| at < armed) {
                self.timer.set_at(at);
                self.armed = Some(at);
            }
            if Pin::new(&mut self.timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.armed = None; // fired, for an earlier deadline than `at`
        }
    }
}
