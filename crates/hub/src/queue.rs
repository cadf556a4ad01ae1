//! One subscriber's queue: what the hub has delivered to it and it has not
//! taken yet, with the limits the hub keeps it under.
//!
//! One allocation per subscriber, shared by the hub and the subscription:
//! a channel from a library (async-channel's was used) carries padding and
//! wait lists made for many senders and receivers, some 700 bytes that
//! every idle subscriber kept; here the hub is the only sender (under its
//! lock) and the subscription the only receiver.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::Delivery;

/// Room kept for deliveries once a queue has drained; a burst's larger
/// buffer is given back.
const ROOM_KEPT: usize = 4;

/// One subscriber's queue, as the hub and its subscription share it.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    mailbox: Mutex<Mailbox>,
    /// Set when the hub cuts the subscriber off...
    pub(crate) slow: AtomicBool,
    /// ...and then notified. An event takes no memory until listened to,
    /// which only a send racing [`Subscription::cut_off`](crate::Subscription::cut_off) does.
    pub(crate) cut: event_listener::Event,
}

#[derive(Default)]
struct Mailbox {
    deliveries: VecDeque<Delivery>,
    /// Bytes of the messages among them, for the hub's byte limit.
    bytes: usize,
    /// The subscription's task, waiting for a delivery.
    waiting: Option<Waker>,
    /// The subscription is gone: nothing more is queued.
    closed: bool,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("deliveries", &self.deliveries.len())
            .field("bytes", &self.bytes)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// How much a queue may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Deliveries.
    pub(crate) messages: usize,
    /// Bytes of the messages among them.
    pub(crate) bytes: usize,
}

/// Why [`Queue::push`] did not queue a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotQueued {
    /// It would hold more than its limits allow.
    Full,
    /// Its subscription is gone.
    Closed,
}

impl Queue {
    fn mailbox(&self) -> MutexGuard<'_, Mailbox> {
        // Nothing here panics while holding the lock; were it poisoned,
        // the queue itself is still whole.
        self.mailbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `delivery` unless the subscription is gone or the queue would
    /// then be over its `limits`, and wakes the subscription.
    pub(crate) fn push(&self, delivery: &Delivery, limits: Limits) -> Result<(), NotQueued> {
        let len = message_bytes(delivery);
        let mut mailbox = self.mailbox();
        if mailbox.closed {
            return Err(NotQueued::Closed);
        }
        if mailbox.deliveries.len() >= limits.messages || mailbox.bytes + len > limits.bytes {
            return Err(NotQueued::Full);
        }
        mailbox.bytes += len;
        mailbox.deliveries.push_back(delivery.clone());
        let waiting = mailbox.waiting.take();
        drop(mailbox);
        if let Some(waker) = waiting {
            waker.wake();
        }
        Ok(())
    }

    /// The next delivery, or the subscription's task is woken by the next
    /// [`push`](Self::push).
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Delivery> {
        let mut mailbox = self.mailbox();
        if let Some(delivery) = mailbox.deliveries.pop_front() {
            mailbox.bytes -= message_bytes(&delivery);
            return Poll::Ready(delivery);
        }
        if mailbox.deliveries.capacity() > ROOM_KEPT {
            mailbox.deliveries.shrink_to(ROOM_KEPT);
        }
        match &mut mailbox.waiting {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waiting => *waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Ends the queue: what is queued is dropped and nothing more is taken.
    pub(crate) fn close(&self) {
        let mut mailbox = self.mailbox();
        mailbox.closed = true;
        mailbox.bytes = 0;
        let dropped = (
            std::mem::take(&mut mailbox.deliveries),
            mailbox.waiting.take(),
        );
        drop(mailbox);
        drop(dropped);
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.mailbox().bytes
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.mailbox().deliveries.capacity()
    }
}

/// The bytes a delivery counts for: a message's data; an answer, none.
fn message_bytes(delivery: &Delivery) -> usize {
    match delivery {
        Delivery::Message(m) => m.data().len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn refused(reason: &str) -> Delivery {
        Delivery::Refused {
            topic: "t".into(),
            reason: reason.into(),
        }
    }

    /// Room for `messages` deliveries, bytes no limit.
    fn room(messages: usize) -> Limits {
        Limits {
            messages,
            bytes: usize::MAX,
        }
    }

    fn reason(delivery: Poll<Delivery>) -> String {
        match delivery {
            Poll::Ready(Delivery::Refused { reason, .. }) => reason,
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    #[test]
    fn deliveries_come_out_in_order_and_a_waiting_subscriber_is_woken() {
        let queue = Queue::default();
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(queue.poll_take(&mut cx).is_pending());
        queue.push(&refused("a"), room(8)).unwrap();
        queue.push(&refused("b"), room(8)).unwrap();
        // Woken once: the second push found no one waiting.
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert_eq!(reason(queue.poll_take(&mut cx)), "a");
        assert_eq!(reason(queue.poll_take(&mut cx)), "b");
        assert!(queue.poll_take(&mut cx).is_pending());
    }

    #[test]
    fn a_full_or_closed_queue_takes_nothing() {
        let queue = Queue::default();
        queue.push(&refused("a"), room(1)).unwrap();
        assert_eq!(queue.push(&refused("b"), room(1)), Err(NotQueued::Full));
        queue.close();
        assert_eq!(queue.push(&refused("c"), room(8)), Err(NotQueued::Closed));
    }

    #[test]
    fn messages_count_their_bytes_in_and_out() {
        let message = |n: u64| {
            Delivery::Message(crate::Published::new(
                "t",
                crate::Numbered {
                    offset: n,
                    epoch: crate::Epoch::new("e"),
                    data: bytes::Bytes::from(vec![0u8; 10]),
                },
            ))
        };
        let limits = Limits {
            messages: 8,
            bytes: 25,
        };
        let queue = Queue::default();
        queue.push(&message(1), limits).unwrap();
        queue.push(&message(2), limits).unwrap();
        // An answer counts no bytes; a third message would be 30.
        queue.push(&refused("a"), limits).unwrap();
        assert_eq!(queue.push(&message(3), limits), Err(NotQueued::Full));
        assert_eq!(queue.bytes(), 20);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(queue.poll_take(&mut cx).is_ready());
        assert_eq!(queue.bytes(), 10);
        queue.push(&message(3), limits).unwrap();
    }

    #[test]
    fn a_drained_queue_gives_back_a_bursts_room() {
        let queue = Queue::default();
        for _ in 0..100 {
            queue.push(&refused("x"), room(100)).unwrap();
        }
        assert!(queue.capacity() >= 100);
        let mut cx = Context::from_waker(Waker::noop());
        while queue.poll_take(&mut cx).is_ready() {}
        assert!(queue.capacity() <= ROOM_KEPT);
    }
}
