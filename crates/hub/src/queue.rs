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

use crate::direct::{drop_quietly, Direct, DirectDelivery, BATCH_BYTES, BATCH_MESSAGES};
use crate::{Delivery, Published};

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
    /// How the subscriber takes a message without its task, while not
    /// lent out to a writer thread.
    /// (Boxed again: a thin pointer, so an idle subscriber's queue is a
    /// word smaller.)
    direct: Option<Lendable>,
    /// The subscriber's task has nothing in flight and nothing is queued:
    /// the next message may be delivered directly.
    armed: bool,
    /// Its direct delivery is lent out: what is queued meanwhile waits
    /// for the writers' next drain, or for it to come back, which then
    /// wakes the task.
    lent: bool,
    /// No join is being answered (its answer and recovered messages come
    /// before anything delivered directly).
    may_direct: bool,
    /// Messages delivered directly after a join began (lent out before
    /// it): the join's recovered messages leave them out.
    delivered_while_joining: Vec<Published>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("deliveries", &self.deliveries.len())
            .field("bytes", &self.bytes)
            .field("closed", &self.closed)
            .field("armed", &self.armed)
            .field("lent", &self.lent)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Queues `msgs` ahead of everything else, in order: messages that
    /// went out for direct delivery and come back undelivered keep their
    /// place.
    fn put_first(&mut self, msgs: &[Published]) {
        for msg in msgs.iter().rev() {
            self.bytes += msg.data().len();
            self.deliveries.push_front(Delivery::Message(msg.clone()));
        }
    }

    /// The lent-out delivery back in place, unless another was set while it
    /// was out ([`DirectHandle::set`](crate::DirectHandle::set)): then that
    /// one stays, and this one is returned, to be dropped once the lock is
    /// released.
    fn return_direct(&mut self, direct: Lendable) -> Option<Lendable> {
        if self.direct.is_some() {
            return Some(direct);
        }
        self.direct = Some(direct);
        None
    }

    /// Armed again, with nothing queued: a burst's larger buffer is given
    /// back, as when its task drains the queue.
    fn arm_idle(&mut self) {
        self.armed = true;
        if self.deliveries.capacity() > ROOM_KEPT {
            self.deliveries.shrink_to(ROOM_KEPT);
        }
    }
}

/// Wakes the subscription's task, if it waits, once the lock is released.
fn wake_task(mut mailbox: MutexGuard<'_, Mailbox>) {
    let waiting = mailbox.waiting.take();
    drop(mailbox);
    if let Some(waker) = waiting {
        waker.wake();
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

/// A subscriber's [`DirectDelivery`], as its queue keeps and lends it.
pub(crate) type Lendable = Box<Box<dyn DirectDelivery>>;

/// What [`Queue::push`] did with a delivery.
pub(crate) enum Pushed {
    /// Queued: for the subscriber's task, or, while its delivery is lent
    /// out, for the writers' next drain, which is `pressing` once the
    /// queue is a quarter full (it should not wait for the drain interval).
    Queued { pressing: bool },
    /// To be delivered directly, through this (given back with
    /// [`Queue::give_back`]).
    Lent(Lendable),
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
    /// Touches the queue's lock: its poison flag, beside the lock word (see
    /// [`DirectDelivery::warm`]).
    pub(crate) fn warm(&self) {
        std::hint::black_box(self.mailbox.is_poisoned());
    }

    fn mailbox(&self) -> MutexGuard<'_, Mailbox> {
        // Nothing here panics while holding the lock; were it poisoned,
        // the queue itself is still whole.
        self.mailbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `delivery` unless the subscription is gone or the queue would
    /// then be over its `limits`, and wakes the subscription (unless its
    /// direct delivery is lent out: then the writers drain it); or, when
    /// `direct` allows and the subscriber is armed (idle), lends out its
    /// [`DirectDelivery`] for a message instead.
    pub(crate) fn push(
        &self,
        delivery: &Delivery,
        limits: Limits,
        direct: bool,
    ) -> Result<Pushed, NotQueued> {
        let len = message_bytes(delivery);
        let mut mailbox = self.mailbox();
        if mailbox.closed {
            return Err(NotQueued::Closed);
        }
        if direct && mailbox.armed && matches!(delivery, Delivery::Message(_)) {
            if let Some(lent) = mailbox.direct.take() {
                mailbox.armed = false;
                mailbox.lent = true;
                return Ok(Pushed::Lent(lent));
            }
        }
        if mailbox.deliveries.len() >= limits.messages || mailbox.bytes + len > limits.bytes {
            return Err(NotQueued::Full);
        }
        mailbox.armed = false;
        mailbox.bytes += len;
        mailbox.deliveries.push_back(delivery.clone());
        // While its direct delivery is out, the writers drain the queue,
        // or giving it back wakes the task.
        if mailbox.lent {
            let pressing = mailbox.deliveries.len() * 4 >= limits.messages
                || mailbox.bytes.saturating_mul(4) >= limits.bytes;
            return Ok(Pushed::Queued { pressing });
        }
        wake_task(mailbox);
        Ok(Pushed::Queued { pressing: false })
    }

    /// The subscriber's [`DirectDelivery`] back from delivering `batch`,
    /// of which its connection took the first `taken` (`how` says how the
    /// last of them went). What it did not take is queued first (it was
    /// counted as delivered: the limits may be passed by it), and the task
    /// is woken if anything waits for it. Otherwise, with more queued
    /// meanwhile, the delivery stays lent out and is returned, for the
    /// writers to drain; with nothing queued, the subscriber stays armed,
    /// unless it `lingers` (a drain's): then it stays lent out for the next
    /// drain too, so that a busy topic's messages keep waiting for drains
    /// rather than each go out alone.
    pub(crate) fn give_back(
        &self,
        direct: Lendable,
        taken: usize,
        how: Direct,
        batch: &[Published],
        linger: bool,
    ) -> Option<Lendable> {
        let mut mailbox = self.mailbox();
        let mut arm = false;
        if !mailbox.closed {
            // A join that began meanwhile waits for this (woken below).
            let joining = !mailbox.may_direct;
            let taken = taken.min(batch.len());
            if joining {
                let sent = &batch[..taken];
                mailbox.delivered_while_joining.extend_from_slice(sent);
            }
            mailbox.put_first(&batch[taken..]);
            if taken == batch.len() && how == Direct::Delivered && !joining {
                match mailbox.deliveries.front() {
                    // Still lent: the task sleeps on.
                    None if linger => return Some(direct),
                    Some(Delivery::Message(_)) => return Some(direct),
                    None => arm = true,
                    Some(_) => {}
                }
            }
        }
        Self::hand_back(mailbox, direct, arm);
        None
    }

    /// Takes into `batch` the messages queued for a subscriber whose
    /// delivery is lent out, up to a drain's limits; none if the
    /// subscription is gone, a join is being answered, or an answer is
    /// next (those are its task's). True if it stopped at a limit with
    /// more messages behind: the next drain should come at once.
    pub(crate) fn take_batch(&self, batch: &mut Vec<Published>) -> bool {
        let mut mailbox = self.mailbox();
        if mailbox.closed || !mailbox.may_direct || !mailbox.lent {
            return false;
        }
        let mut bytes = 0;
        while batch.len() < BATCH_MESSAGES {
            let Some(Delivery::Message(msg)) = mailbox.deliveries.front() else {
                break;
            };
            let len = msg.data().len();
            if !batch.is_empty() && bytes + len > BATCH_BYTES {
                break;
            }
            bytes += len;
            batch.push(msg.clone());
            mailbox.deliveries.pop_front();
        }
        mailbox.bytes -= bytes;
        matches!(mailbox.deliveries.front(), Some(Delivery::Message(_)))
    }

    /// The subscriber's direct delivery back, with nothing delivered: the
    /// task takes what is queued (and is woken for it), or the subscriber
    /// stays armed if nothing is.
    pub(crate) fn release(&self, direct: Lendable) {
        let mailbox = self.mailbox();
        let arm = mailbox.deliveries.is_empty() && mailbox.may_direct;
        Self::hand_back(mailbox, direct, arm);
    }

    /// The lent-out delivery back with its queue (held in `mailbox`):
    /// dropped if the subscription is gone; otherwise the subscriber is
    /// armed again (`arm`) or its task is woken.
    fn hand_back(mut mailbox: MutexGuard<'_, Mailbox>, direct: Lendable, arm: bool) {
        mailbox.lent = false;
        if mailbox.closed {
            drop(mailbox);
            drop_quietly(direct);
            return;
        }
        let stale = mailbox.return_direct(direct);
        if arm {
            mailbox.arm_idle();
            drop(mailbox);
        } else {
            wake_task(mailbox);
        }
        if let Some(stale) = stale {
            drop_quietly(stale);
        }
    }

    /// The subscriber's direct delivery, lost to a panic while it was out:
    /// `batch` goes to the queue, first, and the task is woken; nothing
    /// more is delivered directly.
    pub(crate) fn give_up(&self, batch: &[Published]) {
        let mut mailbox = self.mailbox();
        mailbox.lent = false;
        if !mailbox.closed {
            mailbox.put_first(batch);
        }
        wake_task(mailbox);
    }

    /// Whether the subscriber's direct delivery is out (with messages, or
    /// waiting for the writers' next drain): a join's answer waits for it
    /// to come back.
    pub(crate) fn is_lent(&self, cx: &mut Context<'_>) -> bool {
        let mut mailbox = self.mailbox();
        if mailbox.lent {
            register(&mut mailbox, cx);
        }
        mailbox.lent
    }

    /// Whether the subscriber's direct delivery is out now (with the
    /// writers, or waiting for their next drain).
    pub(crate) fn lent(&self) -> bool {
        self.mailbox().lent
    }

    /// Forgets the messages delivered directly while joins began: no join
    /// is left to leave them out.
    pub(crate) fn forget_delivered_while_joining(&self) {
        self.mailbox().delivered_while_joining = Vec::new();
    }

    /// The messages of `topic` delivered directly after a join began.
    pub(crate) fn take_delivered_while_joining(&self, topic: &str) -> Vec<Published> {
        let mut mailbox = self.mailbox();
        let (of_topic, others) = std::mem::take(&mut mailbox.delivered_while_joining)
            .into_iter()
            .partition(|m| m.topic() == topic);
        mailbox.delivered_while_joining = others;
        of_topic
    }

    /// Gives the queue the subscriber's way to take messages without its
    /// task ([`arm`](Self::arm) says when it may).
    pub(crate) fn set_direct(&self, direct: Box<dyn DirectDelivery>) {
        let mut mailbox = self.mailbox();
        if !mailbox.closed {
            mailbox.direct = Some(Box::new(direct));
        }
    }

    /// Whether messages may be delivered directly at all: not while a
    /// join is answered.
    pub(crate) fn set_may_direct(&self, may: bool) {
        let mut mailbox = self.mailbox();
        mailbox.may_direct = may;
        if !may {
            mailbox.armed = false;
        } else {
            // The joins are answered: what they had to leave out is done.
            mailbox.delivered_while_joining = Vec::new();
        }
    }

    /// Whether [`arm`](Self::arm) would arm, given a direct delivery.
    pub(crate) fn may_arm(&self) -> bool {
        let mailbox = self.mailbox();
        !mailbox.closed && !mailbox.lent && mailbox.may_direct && mailbox.deliveries.is_empty()
    }

    /// Arms direct delivery if nothing is queued or lent out: the
    /// subscriber's task says it has nothing in flight. True if armed.
    pub(crate) fn arm(&self) -> bool {
        let mut mailbox = self.mailbox();
        let idle = !mailbox.closed
            && !mailbox.lent
            && mailbox.may_direct
            && mailbox.direct.is_some()
            && mailbox.deliveries.is_empty();
        mailbox.armed = idle;
        idle
    }

    /// The next delivery, or the subscription's task is woken by the next
    /// [`push`](Self::push).
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Delivery> {
        let mut mailbox = self.mailbox();
        // While the direct delivery is out, what is queued is the writers'
        // to drain: the task is woken if it comes back with any left.
        if mailbox.lent {
            register(&mut mailbox, cx);
            return Poll::Pending;
        }
        if let Some(delivery) = mailbox.deliveries.pop_front() {
            mailbox.armed = false;
            mailbox.bytes -= message_bytes(&delivery);
            return Poll::Ready(delivery);
        }
        if mailbox.deliveries.capacity() > ROOM_KEPT {
            mailbox.deliveries.shrink_to(ROOM_KEPT);
        }
        register(&mut mailbox, cx);
        Poll::Pending
    }

    /// Ends the queue: what is queued is dropped and nothing more is taken.
    pub(crate) fn close(&self) {
        let mut mailbox = self.mailbox();
        mailbox.closed = true;
        mailbox.bytes = 0;
        mailbox.armed = false;
        let dropped = (
            std::mem::take(&mut mailbox.deliveries),
            mailbox.waiting.take(),
            mailbox.direct.take(),
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

/// Keeps `cx`'s waker, to be woken by the next delivery.
fn register(mailbox: &mut Mailbox, cx: &mut Context<'_>) {
    match &mut mailbox.waiting {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        waiting => *waiting = Some(cx.waker().clone()),
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

    /// Queues without direct delivery.
    fn push(queue: &Queue, delivery: &Delivery, limits: Limits) -> Result<(), NotQueued> {
        queue.push(delivery, limits, false).map(|_| ())
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
        push(&queue, &refused("a"), room(8)).unwrap();
        push(&queue, &refused("b"), room(8)).unwrap();
        // Woken once: the second push found no one waiting.
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert_eq!(reason(queue.poll_take(&mut cx)), "a");
        assert_eq!(reason(queue.poll_take(&mut cx)), "b");
        assert!(queue.poll_take(&mut cx).is_pending());
    }

    #[test]
    fn a_full_or_closed_queue_takes_nothing() {
        let queue = Queue::default();
        push(&queue, &refused("a"), room(1)).unwrap();
        assert_eq!(push(&queue, &refused("b"), room(1)), Err(NotQueued::Full));
        queue.close();
        assert_eq!(push(&queue, &refused("c"), room(8)), Err(NotQueued::Closed));
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
        push(&queue, &message(1), limits).unwrap();
        push(&queue, &message(2), limits).unwrap();
        // An answer counts no bytes; a third message would be 30.
        push(&queue, &refused("a"), limits).unwrap();
        assert_eq!(push(&queue, &message(3), limits), Err(NotQueued::Full));
        assert_eq!(queue.bytes(), 20);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(queue.poll_take(&mut cx).is_ready());
        assert_eq!(queue.bytes(), 10);
        push(&queue, &message(3), limits).unwrap();
    }

    #[test]
    fn a_drained_queue_gives_back_a_bursts_room() {
        let queue = Queue::default();
        for _ in 0..100 {
            push(&queue, &refused("x"), room(100)).unwrap();
        }
        assert!(queue.capacity() >= 100);
        let mut cx = Context::from_waker(Waker::noop());
        while queue.poll_take(&mut cx).is_ready() {}
        assert!(queue.capacity() <= ROOM_KEPT);
    }

    /// Takes every message, and says so.
    struct TakeAll(Arc<AtomicUsize>);

    impl DirectDelivery for TakeAll {
        fn deliver(&mut self, _: &crate::Published) -> Direct {
            self.0.fetch_add(1, Ordering::SeqCst);
            Direct::Delivered
        }
    }

    fn message(n: u64) -> Delivery {
        Delivery::Message(crate::Published::new(
            "t",
            crate::Numbered {
                offset: n,
                epoch: crate::Epoch::new("e"),
                data: bytes::Bytes::from(n.to_string()),
            },
        ))
    }

    fn offset(delivery: Poll<Delivery>) -> u64 {
        match delivery {
            Poll::Ready(Delivery::Message(m)) => m.offset(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// A queue whose subscriber is armed, with a task waiting on it.
    fn armed(woken: &Arc<Count>) -> (Queue, Arc<AtomicUsize>) {
        let queue = Queue::default();
        let taken = Arc::new(AtomicUsize::new(0));
        queue.set_direct(Box::new(TakeAll(taken.clone())));
        queue.set_may_direct(true);
        let waker = Waker::from(woken.clone());
        assert!(queue
            .poll_take(&mut Context::from_waker(&waker))
            .is_pending());
        assert!(queue.arm());
        (queue, taken)
    }

    fn published(n: u64) -> Published {
        match message(n) {
            Delivery::Message(m) => m,
            _ => unreachable!(),
        }
    }

    fn offsets(batch: &[Published]) -> Vec<u64> {
        batch.iter().map(Published::offset).collect()
    }

    #[test]
    fn an_armed_subscriber_lends_its_delivery_for_a_message_and_stays_armed() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, taken) = armed(&woken);
        // Not for a non-message, nor when the fan-out says no.
        assert!(matches!(
            queue.push(&refused("a"), room(8), true),
            Ok(Pushed::Queued { .. })
        ));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(reason(queue.poll_take(&mut cx)), "a");
        assert!(queue.arm());
        assert!(matches!(
            queue.push(&message(1), room(8), false),
            Ok(Pushed::Queued { .. })
        ));
        assert_eq!(offset(queue.poll_take(&mut cx)), 1);
        assert!(queue.arm());
        let Ok(Pushed::Lent(mut direct)) = queue.push(&message(2), room(8), true) else {
            panic!("not lent");
        };
        let (n, done) = direct.deliver_all(&[published(2)]);
        assert!(queue
            .give_back(direct, n, done, &[published(2)], false)
            .is_none());
        assert_eq!(taken.load(Ordering::SeqCst), 1);
        // Still idle: the next is lent too, and the task was never woken.
        assert!(matches!(
            queue.push(&message(3), room(8), true),
            Ok(Pushed::Lent(_))
        ));
        assert_eq!(woken.0.load(Ordering::SeqCst), 1, "woken once, for 'a'");
    }

    /// Message 1 lent out from an armed queue, then 2 queued behind it
    /// (without waking the task: it could take 2 before 1 is written).
    fn lend_1_queue_2(queue: &Queue) -> Lendable {
        let Ok(Pushed::Lent(direct)) = queue.push(&message(1), room(8), true) else {
            panic!("not lent");
        };
        assert!(matches!(
            queue.push(&message(2), room(8), true),
            Ok(Pushed::Queued { .. })
        ));
        direct
    }

    #[test]
    fn what_comes_while_lent_waits_for_the_lent_one_and_a_declined_one_goes_first() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        let direct = lend_1_queue_2(&queue);
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
        let mut cx = Context::from_waker(Waker::noop());
        // The connection declines 1: it goes back first, and the task is
        // woken for both.
        assert!(queue
            .give_back(direct, 0, Direct::Declined, &[published(1)], false)
            .is_none());
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert_eq!(offset(queue.poll_take(&mut cx)), 1);
        assert_eq!(offset(queue.poll_take(&mut cx)), 2);
        // The task took them: not armed until it says it is idle again.
        assert!(matches!(
            queue.push(&message(3), room(8), true),
            Ok(Pushed::Queued { .. })
        ));
    }

    /// What is queued while a message is out stays for the writers to
    /// drain: the task is not woken, and takes nothing meanwhile, even
    /// when woken for another reason (its client, a heartbeat).
    #[test]
    fn what_comes_while_lent_is_drained_by_the_writers_in_one_batch() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, taken) = armed(&woken);
        let direct = lend_1_queue_2(&queue);
        assert!(matches!(
            queue.push(&message(3), room(8), true),
            Ok(Pushed::Queued { .. })
        ));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(queue.poll_take(&mut cx).is_pending());
        // 1 written: still lent, with 2 and 3 to drain.
        let mut direct = queue
            .give_back(direct, 1, Direct::Delivered, &[published(1)], false)
            .expect("kept lent");
        assert!(queue.poll_take(&mut cx).is_pending());
        let mut batch = Vec::new();
        queue.take_batch(&mut batch);
        assert_eq!(offsets(&batch), [2, 3]);
        assert_eq!(queue.bytes(), 0);
        let (n, done) = direct.deliver_all(&batch);
        assert_eq!((n, done), (2, Direct::Delivered));
        // Drained, and kept for the next drain in case more comes...
        let direct = queue
            .give_back(direct, n, done, &batch, true)
            .expect("lingers");
        assert_eq!(taken.load(Ordering::SeqCst), 2);
        assert_eq!(woken.0.load(Ordering::SeqCst), 0, "the task slept");
        // ...which finds nothing: armed again.
        batch.clear();
        queue.take_batch(&mut batch);
        assert!(batch.is_empty());
        queue.release(direct);
        assert_eq!(woken.0.load(Ordering::SeqCst), 0, "the task slept");
        assert!(matches!(
            queue.push(&message(4), room(8), true),
            Ok(Pushed::Lent(_))
        ));
    }

    #[test]
    fn a_queue_a_quarter_full_behind_a_lent_delivery_presses_for_a_drain() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        assert!(matches!(
            queue.push(&message(1), room(6), true),
            Ok(Pushed::Lent(_))
        ));
        let pressing: Vec<bool> = (2..=5)
            .map(|n| match queue.push(&message(n), room(12), true) {
                Ok(Pushed::Queued { pressing }) => pressing,
                _ => panic!("not queued"),
            })
            .collect();
        assert_eq!(pressing, [false, false, true, true]);
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_delivery_set_while_lent_takes_over_when_the_lent_one_is_back() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, first) = armed(&woken);
        let Ok(Pushed::Lent(direct)) = queue.push(&message(1), room(8), true) else {
            panic!("not lent");
        };
        let second = Arc::new(AtomicUsize::new(0));
        queue.set_direct(Box::new(TakeAll(second.clone())));
        assert!(queue
            .give_back(direct, 1, Direct::Delivered, &[published(1)], false)
            .is_none());
        let Ok(Pushed::Lent(mut direct)) = queue.push(&message(2), room(8), true) else {
            panic!("not lent");
        };
        direct.deliver(&published(2));
        assert_eq!(first.load(Ordering::SeqCst), 0);
        assert_eq!(second.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_drained_burst_gives_back_its_room() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        for linger in [false, true] {
            let Ok(Pushed::Lent(direct)) = queue.push(&message(0), room(1000), true) else {
                panic!("not lent");
            };
            for n in 1..=100 {
                queue
                    .push(&message(n), room(1000), true)
                    .map(|_| ())
                    .unwrap();
            }
            let direct = queue
                .give_back(direct, 1, Direct::Delivered, &[published(0)], false)
                .expect("kept lent");
            assert!(queue.capacity() >= 100);
            let mut batch = Vec::new();
            queue.take_batch(&mut batch);
            assert_eq!(batch.len(), 100);
            let back = queue.give_back(direct, 100, Direct::Delivered, &batch, linger);
            if let Some(direct) = back {
                // Lingering: the next drain finds nothing, and hands back.
                batch.clear();
                queue.take_batch(&mut batch);
                queue.release(direct);
            }
            assert!(queue.capacity() <= ROOM_KEPT, "linger {linger}");
        }
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn what_a_batch_leaves_goes_back_first_and_wakes_the_task() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        let direct = lend_1_queue_2(&queue);
        for n in 3..=4 {
            queue.push(&message(n), room(8), true).map(|_| ()).unwrap();
        }
        let direct = queue
            .give_back(direct, 1, Direct::Delivered, &[published(1)], false)
            .expect("kept lent");
        let mut batch = Vec::new();
        queue.take_batch(&mut batch);
        assert_eq!(offsets(&batch), [2, 3, 4]);
        queue.push(&message(5), room(8), true).map(|_| ()).unwrap();
        // 2 whole, 3 begun (its rest is the connection's), 4 not taken.
        assert!(queue
            .give_back(direct, 2, Direct::Started, &batch, false)
            .is_none());
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(offset(queue.poll_take(&mut cx)), 4);
        assert_eq!(offset(queue.poll_take(&mut cx)), 5);
        assert!(queue.poll_take(&mut cx).is_pending());
    }

    #[test]
    fn a_batch_stops_at_an_answer_and_at_its_limits() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        let direct = lend_1_queue_2(&queue);
        queue
            .push(&refused("a"), room(8), true)
            .map(|_| ())
            .unwrap();
        let direct = queue
            .give_back(direct, 1, Direct::Delivered, &[published(1)], false)
            .expect("kept lent: a message is next");
        let mut batch = Vec::new();
        queue.take_batch(&mut batch);
        assert_eq!(offsets(&batch), [2]);
        // The answer is next: the task's, and it is woken for it.
        assert!(queue
            .give_back(direct, 1, Direct::Delivered, &batch, false)
            .is_none());
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(reason(queue.poll_take(&mut cx)), "a");

        // At most BATCH_MESSAGES at once.
        assert!(queue.arm());
        let Ok(Pushed::Lent(direct)) = queue.push(&message(0), room(1000), true) else {
            panic!("not lent");
        };
        for n in 1..=(BATCH_MESSAGES as u64 + 1) {
            queue
                .push(&message(n), room(1000), true)
                .map(|_| ())
                .unwrap();
        }
        let direct = queue
            .give_back(direct, 1, Direct::Delivered, &[published(0)], false)
            .expect("kept lent");
        batch.clear();
        assert!(queue.take_batch(&mut batch), "more behind the batch");
        assert_eq!(batch.len(), BATCH_MESSAGES);
        assert!(queue
            .give_back(direct, batch.len(), Direct::Delivered, &batch, false)
            .is_some());
    }

    #[test]
    fn a_batch_out_when_a_join_begins_is_recorded_and_then_the_task_takes_over() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        let direct = lend_1_queue_2(&queue);
        queue.set_may_direct(false);
        // 1 went out after the join began: recorded for the join's answer,
        // and the task woken for 2.
        assert!(queue
            .give_back(direct, 1, Direct::Delivered, &[published(1)], false)
            .is_none());
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert!(queue.take_delivered_while_joining("other").is_empty());
        assert_eq!(offsets(&queue.take_delivered_while_joining("t")), [1]);
        assert!(queue.take_delivered_while_joining("t").is_empty());
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(offset(queue.poll_take(&mut cx)), 2);
    }

    #[test]
    fn a_released_delivery_arms_an_empty_queue_and_otherwise_wakes_the_task() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, _) = armed(&woken);
        let direct = lend_1_queue_2(&queue);
        let direct = queue
            .give_back(direct, 1, Direct::Delivered, &[published(1)], false)
            .expect("kept lent");
        // A join began before the drain: it takes nothing, and hands over.
        queue.set_may_direct(false);
        let mut batch = Vec::new();
        queue.take_batch(&mut batch);
        assert!(batch.is_empty());
        queue.release(direct);
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(offset(queue.poll_take(&mut cx)), 2);
        queue.set_may_direct(true);
        assert!(queue.arm());
        let Ok(Pushed::Lent(direct)) = queue.push(&message(3), room(8), true) else {
            panic!("not lent");
        };
        queue.release(direct);
        assert!(queue.may_arm());
        assert!(matches!(
            queue.push(&message(4), room(8), true),
            Ok(Pushed::Lent(_))
        ));
    }

    #[test]
    fn no_direct_delivery_during_a_join_or_after_the_subscription_is_gone() {
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let (queue, taken) = armed(&woken);
        queue.set_may_direct(false);
        assert!(!queue.arm());
        assert!(matches!(
            queue.push(&message(1), room(8), true),
            Ok(Pushed::Queued { .. })
        ));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(offset(queue.poll_take(&mut cx)), 1);
        queue.set_may_direct(true);
        assert!(queue.arm());
        let Ok(Pushed::Lent(direct)) = queue.push(&message(2), room(8), true) else {
            panic!("not lent");
        };
        queue.close();
        assert!(queue
            .give_back(direct, 0, Direct::Declined, &[published(2)], false)
            .is_none());
        assert!(!queue.arm());
        assert!(queue.poll_take(&mut cx).is_pending());
        assert_eq!(taken.load(Ordering::SeqCst), 0);
    }
}
