//! One subscriber's side of its topics' logs: where its task waits, what
//! it has read ahead, and how the hub's writer threads deliver to it
//! without its task.
//!
//! The messages themselves are in the topics' logs ([`TopicLog`]), once
//! for all subscribers; a subscriber has a cursor in each of its topics'
//! logs, and reads from there: its task a few at a time, or the writer
//! threads in a batch, written to its connection as one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use smallvec::SmallVec;

use crate::direct::{drop_quietly, Direct, DirectDelivery, BATCH_BYTES, BATCH_MESSAGES};
use crate::log::{Next, TopicLog};
use crate::{Delivery, Published};

/// Room kept for deliveries once a read-ahead is taken; a burst's larger
/// buffer is given back.
const ROOM_KEPT: usize = 4;

/// The most entries a subscriber's task reads from a log at once, so that
/// it takes the log's lock once for several; and the bytes of messages it
/// reads ahead at most (one message at least).
const READ_AHEAD: usize = 32;
const READ_AHEAD_BYTES: usize = 64 << 10;

/// One subscriber's side of its topics' logs, as the hub, the writer
/// threads and its subscription share it.
#[derive(Debug)]
pub(crate) struct Queue {
    /// The subscriber's id in the hub and in its topics' logs.
    id: u64,
    mailbox: Mutex<Mailbox>,
    /// Set when the hub cuts the subscriber off...
    pub(crate) slow: AtomicBool,
    /// ...and then notified. An event takes no memory until listened to,
    /// which only a send racing [`Subscription::cut_off`](crate::Subscription::cut_off) does.
    pub(crate) cut: event_listener::Event,
}

#[derive(Default)]
struct Mailbox {
    /// Read from the logs by the task, not taken yet.
    deliveries: VecDeque<Delivery>,
    /// The logs of its topics (most subscribers have one: held without a
    /// heap allocation).
    logs: SmallVec<[Arc<TopicLog>; 1]>,
    /// The log its task reads from first next time, modulo their number:
    /// each in turn.
    turn: u32,
    /// The subscription's task, waiting for a delivery.
    waiting: Option<Waker>,
    /// The subscription is gone: nothing more is read.
    closed: bool,
    /// The subscriber's task has nothing in flight and nothing is unread:
    /// the next message may be delivered directly.
    armed: bool,
    /// Its direct delivery is lent out: what comes meanwhile waits for
    /// the writers' next drain, or for it to come back, which then wakes
    /// the task.
    lent: bool,
    /// Lent out and waiting for the writers' next drain: its logs know,
    /// so that falling behind presses for the drain.
    draining: bool,
    /// No join is being answered (its answer and recovered messages come
    /// before anything delivered directly).
    may_direct: bool,
    /// How the subscriber takes a message without its task, while not
    /// lent out to a writer thread.
    /// (Boxed again: a thin pointer, so an idle subscriber's queue is a
    /// word smaller.)
    direct: Option<Lendable>,
    /// Messages delivered directly after a join began (lent out before
    /// it): the join's recovered messages leave them out.
    delivered_while_joining: Vec<Published>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("deliveries", &self.deliveries.len())
            .field("logs", &self.logs.len())
            .field("closed", &self.closed)
            .field("armed", &self.armed)
            .field("lent", &self.lent)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Tells its logs whether it waits for a drain.
    fn set_draining(&mut self, id: u64, on: bool) {
        if self.draining != on {
            self.draining = on;
            for log in &self.logs {
                log.set_draining(id, on);
            }
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

    /// Armed again, with nothing read ahead: a burst's larger buffer is
    /// given back, as when its task takes it all.
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

/// A subscriber's [`DirectDelivery`], as its queue keeps and lends it.
pub(crate) type Lendable = Box<Box<dyn DirectDelivery>>;

/// Messages read from a subscriber's logs for one direct delivery, and
/// where in each log they start (its cursors move once they are written).
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) msgs: Vec<Published>,
    /// Per log read: the log, where its messages start, how many.
    from: Vec<(Arc<TopicLog>, u64, usize)>,
}

impl Batch {
    pub(crate) fn clear(&mut self) {
        self.msgs.clear();
        self.from.clear();
    }

    /// Moves subscriber `id`'s cursors past the first `taken` messages.
    fn advance(&self, id: u64, mut taken: usize) {
        for (log, start, count) in &self.from {
            if taken == 0 {
                break;
            }
            let these = taken.min(*count);
            log.advance_to(id, start + these as u64);
            taken -= these;
        }
    }
}

impl Queue {
    /// The queue of subscriber `id`, in no topic yet.
    pub(crate) fn new(id: u64) -> Self {
        Self {
            id,
            mailbox: Mutex::default(),
            slow: AtomicBool::new(false),
            cut: event_listener::Event::new(),
        }
    }

    /// The subscriber's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

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

    /// The subscriber reads `log` from now on.
    pub(crate) fn add_log(&self, log: &Arc<TopicLog>) {
        let mut mailbox = self.mailbox();
        if !mailbox.closed && !mailbox.logs.iter().any(|l| Arc::ptr_eq(l, log)) {
            if mailbox.draining {
                log.set_draining(self.id, true);
            }
            mailbox.logs.push(log.clone());
        }
    }

    /// The subscriber no longer reads `log` (what it read ahead stays).
    pub(crate) fn forget_log(&self, log: &Arc<TopicLog>) {
        let mut mailbox = self.mailbox();
        mailbox.logs.retain(|l| !Arc::ptr_eq(l, log));
        if mailbox.logs.is_empty() {
            mailbox.logs = SmallVec::new();
        }
    }

    /// A log the subscriber waited at has a new entry: an armed subscriber
    /// lends out its [`DirectDelivery`] (returned, to deliver through);
    /// otherwise its task is woken, unless its delivery is out already
    /// (the writers have it).
    pub(crate) fn notified(&self) -> Option<Lendable> {
        let mut mailbox = self.mailbox();
        if mailbox.closed {
            return None;
        }
        if mailbox.armed {
            if let Some(lent) = mailbox.direct.take() {
                mailbox.armed = false;
                mailbox.lent = true;
                return Some(lent);
            }
        }
        if !mailbox.lent {
            wake_task(mailbox);
        }
        None
    }

    /// What is next for the subscriber in its logs (a message if any log
    /// has one next, something else if any has that), parked in each it
    /// has read to the end of, if `park`.
    fn next(self: &Arc<Self>, mailbox: &Mailbox, park: bool) -> Next {
        if !mailbox.deliveries.is_empty() {
            return Next::Answer; // read ahead: the task's
        }
        let mut next = Next::Head;
        for log in &mailbox.logs {
            match log.next(self.id, self, park) {
                Next::Answer => return Next::Answer,
                Next::Message => next = Next::Message,
                Next::Head => {}
            }
        }
        next
    }

    /// Reads into `batch` the messages waiting for a subscriber whose
    /// delivery is lent out, up to a drain's limits; none if the
    /// subscription is gone or a join is being answered. Stops before
    /// anything but a message (the task's). True if it stopped at a limit
    /// with more messages behind: the next drain should come at once.
    pub(crate) fn take_batch(&self, batch: &mut Batch) -> bool {
        let mut mailbox = self.mailbox();
        if mailbox.closed || !mailbox.may_direct || !mailbox.lent {
            return false;
        }
        let Mailbox { logs, turn, .. } = &mut *mailbox;
        let mut bytes = BATCH_BYTES;
        for (at, log) in in_turn(logs, *turn) {
            let before = batch.msgs.len();
            let (start, cut) = log.read(self.id, &mut batch.msgs, BATCH_MESSAGES, &mut bytes);
            let count = batch.msgs.len() - before;
            if count > 0 {
                batch.from.push((log.clone(), start, count));
            }
            if cut {
                // The next drain begins where this one stopped.
                *turn = at;
                return true;
            }
        }
        *turn = turn.wrapping_add(1);
        false
    }

    /// The subscriber's [`DirectDelivery`] back from delivering `batch`,
    /// of which its connection took the first `taken` (`how` says how the
    /// last of them went): its cursors move past those. If it took them
    /// all and more messages are waiting, the delivery stays lent out and
    /// is returned, for the writers to drain; with nothing waiting, the
    /// subscriber is armed again (and waits at the head of each log),
    /// unless it `lingers` (a drain's): then it stays lent out for the
    /// next drain too, so that a busy topic's messages keep waiting for
    /// drains rather than each go out alone. Otherwise (some not taken,
    /// a join begun, or something else than a message next) its task is
    /// woken, and takes what is left.
    pub(crate) fn give_back(
        self: &Arc<Self>,
        direct: Lendable,
        taken: usize,
        how: Direct,
        batch: &Batch,
        linger: bool,
    ) -> Option<Lendable> {
        let mut mailbox = self.mailbox();
        let taken = taken.min(batch.msgs.len());
        batch.advance(self.id, taken);
        let mut arm = false;
        if !mailbox.closed {
            // A join that began meanwhile waits for this (woken below).
            let joining = !mailbox.may_direct;
            if joining {
                let sent = &batch.msgs[..taken];
                mailbox.delivered_while_joining.extend_from_slice(sent);
            }
            let whole = taken == batch.msgs.len() && (how == Direct::Delivered || taken == 0);
            if whole && !joining {
                let keep = match self.next(&mailbox, !linger) {
                    Next::Head => {
                        arm = !linger;
                        linger
                    }
                    Next::Message => true,
                    Next::Answer => false,
                };
                if keep {
                    // Still lent, for the next drain: the task sleeps on.
                    mailbox.set_draining(self.id, true);
                    return Some(direct);
                }
            }
        }
        self.hand_back(mailbox, direct, arm);
        None
    }

    /// The subscriber's direct delivery back, with nothing delivered: the
    /// subscriber is armed if nothing waits for it, stays lent out (and it
    /// is returned) if messages do, and otherwise its task is woken.
    pub(crate) fn release(self: &Arc<Self>, direct: Lendable) -> Option<Lendable> {
        self.give_back(direct, 0, Direct::Declined, &Batch::default(), false)
    }

    /// The subscriber's direct delivery back to stay: its task takes
    /// whatever waits (and is woken for it).
    pub(crate) fn retire(&self, direct: Lendable) {
        self.hand_back(self.mailbox(), direct, false);
    }

    /// The lent-out delivery back with its queue (held in `mailbox`):
    /// dropped if the subscription is gone; otherwise the subscriber is
    /// armed again (`arm`) or its task is woken.
    fn hand_back(&self, mut mailbox: MutexGuard<'_, Mailbox>, direct: Lendable, arm: bool) {
        mailbox.lent = false;
        mailbox.set_draining(self.id, false);
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
    /// the task takes what it was given (its cursors did not move), and
    /// is woken; nothing more is delivered directly until another is set.
    pub(crate) fn give_up(&self) {
        let mut mailbox = self.mailbox();
        mailbox.lent = false;
        mailbox.set_draining(self.id, false);
        wake_task(mailbox);
    }

    /// The hub cut the subscriber off (it is out of its topics already):
    /// it reads nothing more, and its task is woken to find its stream
    /// ended.
    pub(crate) fn cut(&self) {
        self.slow.store(true, Ordering::Release);
        self.cut.notify(usize::MAX);
        let mut mailbox = self.mailbox();
        mailbox.armed = false;
        let logs = std::mem::take(&mut mailbox.logs);
        wake_task(mailbox);
        drop(logs);
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

    /// Whether the subscriber is open, its delivery not lent out, no join
    /// being answered, and nothing unread (then, if `park`, it waits at
    /// the head of each of its logs).
    fn idle(self: &Arc<Self>, mailbox: &Mailbox, park: bool) -> bool {
        !mailbox.closed
            && !mailbox.lent
            && mailbox.may_direct
            && self.next(mailbox, park) == Next::Head
    }

    /// Whether [`arm`](Self::arm) would arm, given a direct delivery.
    pub(crate) fn may_arm(self: &Arc<Self>) -> bool {
        self.idle(&self.mailbox(), false)
    }

    /// Arms direct delivery if nothing is unread or lent out: the
    /// subscriber's task says it has nothing in flight. True if armed
    /// (then it waits at the head of each of its logs).
    pub(crate) fn arm(self: &Arc<Self>) -> bool {
        let mut mailbox = self.mailbox();
        let armed = mailbox.direct.is_some() && self.idle(&mailbox, true);
        mailbox.armed = armed;
        armed
    }

    /// The next delivery, or the subscription's task is woken when its
    /// logs have one.
    pub(crate) fn poll_take(self: &Arc<Self>, cx: &mut Context<'_>) -> Poll<Delivery> {
        let mut mailbox = self.mailbox();
        // While the direct delivery is out, what comes is the writers'
        // to drain: the task is woken if it comes back with any left.
        if mailbox.lent {
            register(&mut mailbox, cx);
            return Poll::Pending;
        }
        if mailbox.deliveries.is_empty() {
            let Mailbox {
                deliveries,
                logs,
                turn,
                ..
            } = &mut *mailbox;
            for (at, log) in in_turn(logs, *turn) {
                let read =
                    log.take_or_park(self.id, self, deliveries, READ_AHEAD, READ_AHEAD_BYTES);
                if read > 0 {
                    *turn = at.wrapping_add(1);
                    break;
                }
            }
        }
        if let Some(delivery) = mailbox.deliveries.pop_front() {
            mailbox.armed = false;
            return Poll::Ready(delivery);
        }
        if mailbox.deliveries.capacity() > ROOM_KEPT {
            mailbox.deliveries.shrink_to(ROOM_KEPT);
        }
        register(&mut mailbox, cx);
        Poll::Pending
    }

    /// Ends the queue: what was read ahead is dropped and nothing more is
    /// read.
    pub(crate) fn close(&self) {
        let mut mailbox = self.mailbox();
        mailbox.closed = true;
        mailbox.armed = false;
        let dropped = (
            std::mem::take(&mut mailbox.deliveries),
            std::mem::take(&mut mailbox.logs),
            mailbox.waiting.take(),
            mailbox.direct.take(),
        );
        drop(mailbox);
        drop(dropped);
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.mailbox().deliveries.capacity()
    }
}

/// `logs` each once, with its place, beginning at `turn` (taken modulo
/// their number, so that a turn may simply count on): the subscriber reads
/// its topics in turn.
fn in_turn(logs: &[Arc<TopicLog>], turn: u32) -> impl Iterator<Item = (u32, &Arc<TopicLog>)> {
    let n = logs.len();
    let first = if n == 0 { 0 } else { turn as usize % n };
    (first..n)
        .chain(0..first)
        .map(move |at| (at as u32, &logs[at]))
}

/// Keeps `cx`'s waker, to be woken by the next delivery.
fn register(mailbox: &mut Mailbox, cx: &mut Context<'_>) {
    match &mut mailbox.waiting {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        waiting => *waiting = Some(cx.waker().clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;
    use crate::log::Limits;
    use crate::SlowConsumerPolicy;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct TakeAll(Arc<AtomicUsize>);

    impl DirectDelivery for TakeAll {
        fn deliver(&mut self, _: &Published) -> Direct {
            self.0.fetch_add(1, Ordering::SeqCst);
            Direct::Delivered
        }
    }

    const ROOM: Limits = Limits {
        messages: 1000,
        bytes: usize::MAX,
    };

    fn message(n: u64) -> Delivery {
        Delivery::Message(Published::new(
            "t",
            crate::Numbered {
                offset: n,
                epoch: crate::Epoch::new("e"),
                data: bytes::Bytes::from(n.to_string()),
            },
        ))
    }

    fn reset() -> Delivery {
        Delivery::Subscribed {
            topic: "t".into(),
            recovered: false,
            position: crate::Position {
                offset: 7,
                epoch: crate::Epoch::new("f"),
            },
        }
    }

    fn offset(delivery: Poll<Delivery>) -> u64 {
        match delivery {
            Poll::Ready(Delivery::Message(m)) => m.offset(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn offsets(batch: &Batch) -> Vec<u64> {
        batch.msgs.iter().map(Published::offset).collect()
    }

    /// A subscriber of one topic's log, armed, with a task waiting on it.
    struct Armed {
        log: Arc<TopicLog>,
        queue: Arc<Queue>,
        woken: Arc<Count>,
        taken: Arc<AtomicUsize>,
    }

    impl Armed {
        fn new() -> Self {
            let log = Arc::new(TopicLog::default());
            let queue = Arc::new(Queue::new(1));
            assert!(log.join(1, &queue));
            queue.add_log(&log);
            let taken = Arc::new(AtomicUsize::new(0));
            queue.set_direct(Box::new(TakeAll(taken.clone())));
            queue.set_may_direct(true);
            let armed = Self {
                log,
                queue,
                woken: Arc::new(Count(AtomicUsize::new(0))),
                taken,
            };
            armed.wait();
            assert!(armed.queue.arm());
            armed
        }

        /// Appends `delivery`; the queues that waited at the head.
        fn append(&self, delivery: Delivery) -> Vec<Arc<Queue>> {
            self.log
                .append(delivery, ROOM, SlowConsumerPolicy::Disconnect)
                .parked
        }

        /// Appends message `n`, which finds the subscriber armed: its
        /// delivery is lent out.
        fn lend(&self, n: u64) -> Lendable {
            let parked = self.append(message(n));
            assert_eq!(parked.len(), 1, "waited at the head");
            parked[0].notified().expect("lent")
        }

        /// The task finds nothing, and waits.
        fn wait(&self) {
            let waker = Waker::from(self.woken.clone());
            let mut cx = Context::from_waker(&waker);
            assert!(self.queue.poll_take(&mut cx).is_pending());
        }

        fn woken(&self) -> usize {
            self.woken.0.load(Ordering::SeqCst)
        }

        fn batch(&self) -> (Batch, bool) {
            let mut batch = Batch::default();
            let more = self.queue.take_batch(&mut batch);
            (batch, more)
        }
    }

    fn poll(queue: &Arc<Queue>) -> Poll<Delivery> {
        queue.poll_take(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn an_armed_subscriber_lends_its_delivery_for_a_message_and_is_armed_again() {
        let s = Armed::new();
        let direct = s.lend(1);
        let (batch, more) = s.batch();
        assert_eq!((offsets(&batch), more), (vec![1], false));
        let mut direct = direct;
        let (n, how) = direct.deliver_all(&batch.msgs);
        assert!(s.queue.give_back(direct, n, how, &batch, false).is_none());
        assert_eq!(s.taken.load(Ordering::SeqCst), 1);
        // Armed again, waiting at the head: the next is lent too, and the
        // task was never woken.
        let _direct = s.lend(2);
        assert_eq!(s.woken(), 0);
        // Not armed while lent: a notification then wakes no one.
        assert!(s.append(message(3)).is_empty());
    }

    #[test]
    fn a_declined_batch_stays_unread_and_the_task_takes_it_in_order() {
        let s = Armed::new();
        let direct = s.lend(1);
        let (batch, _) = s.batch();
        s.append(message(2));
        assert!(s
            .queue
            .give_back(direct, 0, Direct::Declined, &batch, false)
            .is_none());
        assert_eq!(s.woken(), 1);
        assert_eq!(offset(poll(&s.queue)), 1);
        assert_eq!(offset(poll(&s.queue)), 2);
        s.wait();
        // The task took them, and waits: woken for the next, not armed
        // until it says it is idle again.
        let parked = s.append(message(3));
        assert_eq!(parked.len(), 1, "waits at the head");
        assert!(parked[0].notified().is_none());
        assert_eq!(s.woken(), 2);
    }

    /// What comes while a delivery is out waits for the writers' next
    /// drain: the task is not woken, and takes nothing meanwhile, even
    /// when woken for another reason (its client, a heartbeat).
    #[test]
    fn what_comes_while_lent_is_drained_by_the_writers_in_one_batch() {
        let s = Armed::new();
        let direct = s.lend(1);
        let (first, _) = s.batch();
        for n in 2..=3 {
            assert!(s.append(message(n)).is_empty());
        }
        assert!(poll(&s.queue).is_pending());
        let mut direct = s
            .queue
            .give_back(direct, 1, Direct::Delivered, &first, false)
            .expect("kept lent: more waits");
        let (batch, _) = s.batch();
        assert_eq!(offsets(&batch), [2, 3]);
        let (n, how) = direct.deliver_all(&batch.msgs);
        // Drained, and kept for the next drain in case more comes...
        let direct = s
            .queue
            .give_back(direct, n, how, &batch, true)
            .expect("lingers");
        assert_eq!(s.taken.load(Ordering::SeqCst), 2);
        // ...which finds nothing: armed again.
        let (batch, _) = s.batch();
        assert!(batch.msgs.is_empty());
        assert!(s.queue.release(direct).is_none());
        assert_eq!(s.woken(), 0, "the task slept");
        let _direct = s.lend(4);
    }

    #[test]
    fn a_release_keeps_a_delivery_lent_when_a_message_came_meanwhile() {
        let s = Armed::new();
        let direct = s.lend(1);
        let (batch, _) = s.batch();
        let direct = s
            .queue
            .give_back(direct, 1, Direct::Delivered, &batch, true)
            .expect("lingers");
        // The drain finds 2, which came after it looked.
        s.append(message(2));
        let direct = s.queue.release(direct).expect("still lent: 2 waits");
        let (batch, _) = s.batch();
        assert_eq!(offsets(&batch), [2]);
        assert!(s
            .queue
            .give_back(direct, 1, Direct::Delivered, &batch, false)
            .is_none());
        assert_eq!(s.woken(), 0);
    }

    #[test]
    fn a_delivery_set_while_lent_takes_over_when_the_lent_one_is_back() {
        let s = Armed::new();
        let direct = s.lend(1);
        let second = Arc::new(AtomicUsize::new(0));
        s.queue.set_direct(Box::new(TakeAll(second.clone())));
        let (batch, _) = s.batch();
        assert!(s
            .queue
            .give_back(direct, 1, Direct::Delivered, &batch, false)
            .is_none());
        let mut direct = s.lend(2);
        direct.deliver(&batch.msgs[0]);
        assert_eq!(s.taken.load(Ordering::SeqCst), 0);
        assert_eq!(second.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn what_a_batch_leaves_stays_unread_and_wakes_the_task() {
        let s = Armed::new();
        let direct = s.lend(1);
        for n in 2..=4 {
            s.append(message(n));
        }
        let (batch, _) = s.batch();
        assert_eq!(offsets(&batch), [1, 2, 3, 4]);
        s.append(message(5));
        // 1 and 2 whole, 3 begun (its rest is the connection's), 4 not taken.
        assert!(s
            .queue
            .give_back(direct, 3, Direct::Started, &batch, false)
            .is_none());
        assert_eq!(s.woken(), 1);
        assert_eq!(offset(poll(&s.queue)), 4);
        assert_eq!(offset(poll(&s.queue)), 5);
        assert!(poll(&s.queue).is_pending());
    }

    #[test]
    fn a_batch_stops_before_an_answer_and_at_its_limits() {
        let s = Armed::new();
        let direct = s.lend(1);
        s.append(reset());
        s.append(message(2));
        let (batch, more) = s.batch();
        assert_eq!((offsets(&batch), more), (vec![1], false));
        // The answer is next: the task's, and it is woken for it.
        assert!(s
            .queue
            .give_back(direct, 1, Direct::Delivered, &batch, false)
            .is_none());
        assert_eq!(s.woken(), 1);
        assert!(matches!(
            poll(&s.queue),
            Poll::Ready(Delivery::Subscribed { .. })
        ));
        assert_eq!(offset(poll(&s.queue)), 2);
        assert!(poll(&s.queue).is_pending());

        // At most BATCH_MESSAGES at once.
        assert!(s.queue.arm());
        let direct = s.lend(10);
        for n in 11..=(10 + BATCH_MESSAGES as u64) {
            s.append(message(n));
        }
        let (batch, more) = s.batch();
        assert_eq!((batch.msgs.len(), more), (BATCH_MESSAGES, true));
        let direct = s
            .queue
            .give_back(direct, batch.msgs.len(), Direct::Delivered, &batch, false)
            .expect("one more waits");
        let (batch, more) = s.batch();
        assert_eq!(
            (offsets(&batch), more),
            (vec![10 + BATCH_MESSAGES as u64], false)
        );
        drop(direct);
    }

    #[test]
    fn a_batch_out_when_a_join_begins_is_recorded_and_then_the_task_takes_over() {
        let s = Armed::new();
        let direct = s.lend(1);
        let (batch, _) = s.batch();
        s.append(message(2));
        s.queue.set_may_direct(false);
        // 1 went out after the join began: recorded for the join's answer,
        // and the task woken for 2.
        assert!(s
            .queue
            .give_back(direct, 1, Direct::Delivered, &batch, false)
            .is_none());
        assert_eq!(s.woken(), 1);
        assert!(s.queue.take_delivered_while_joining("other").is_empty());
        let sent: Vec<u64> = s
            .queue
            .take_delivered_while_joining("t")
            .iter()
            .map(Published::offset)
            .collect();
        assert_eq!(sent, [1]);
        assert!(s.queue.take_delivered_while_joining("t").is_empty());
        assert_eq!(offset(poll(&s.queue)), 2);
    }

    #[test]
    fn no_direct_delivery_during_a_join_or_after_the_subscription_is_gone() {
        let s = Armed::new();
        s.queue.set_may_direct(false);
        assert!(!s.queue.arm());
        let parked = s.append(message(1));
        assert!(parked[0].notified().is_none(), "not armed: woken");
        assert_eq!(s.woken(), 1);
        assert_eq!(offset(poll(&s.queue)), 1);
        s.queue.set_may_direct(true);
        assert!(s.queue.arm());
        let direct = s.lend(2);
        s.queue.close();
        assert!(s.queue.release(direct).is_none());
        assert!(!s.queue.arm());
        assert!(poll(&s.queue).is_pending());
        assert_eq!(s.taken.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_task_reads_a_few_at_a_time_and_gives_back_its_room() {
        let s = Armed::new();
        s.queue.set_may_direct(false);
        for n in 1..=100 {
            s.append(message(n));
        }
        for n in 1..=100 {
            assert_eq!(offset(poll(&s.queue)), n);
            assert!(s.queue.capacity() <= READ_AHEAD.next_power_of_two());
        }
        assert!(poll(&s.queue).is_pending());
        assert!(s.queue.capacity() <= ROOM_KEPT);
    }
}
