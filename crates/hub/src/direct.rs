//! Direct delivery: messages handed to a subscriber's connection by the
//! hub's writer threads, instead of queued for its task.
//!
//! Pushing one message to many idle subscribers through their queues wakes
//! one task per subscriber, and each task then looks at its client and
//! writes one frame: for a push to 19,000 subscribers the wake-ups, polls
//! and empty reads cost more than the writes. A subscriber whose task has
//! nothing in flight [arms](crate::DirectHandle::arm) itself with a
//! [`DirectDelivery`] and waits at the head of its topics' logs; a publish
//! lends out the delivery of each subscriber waiting there (a few itself,
//! many through the writer threads, which share them out), and a writer
//! thread writes through it what the subscriber has not read, while its
//! task sleeps. What the connection declines stays unread, and the task
//! is woken to take it.
//!
//! A busy topic stays with the writer threads too: a subscriber whose
//! delivery is kept lent out waits at no log's head, so a publish does
//! not touch it; the writers' next *drain* writes what it has not read, all of it in one write (up
//! to 128 messages or 256 KiB; the rest in the drain after, at once) (the
//! corked write of uWebSockets, the write delay of Centrifugo). Drains come at most once per
//! [`HubConfig::drain_interval`](crate::HubConfig::drain_interval): the
//! longer, the more messages per write and the less CPU per message, at
//! the cost of latency.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::queue::{Batch, Lendable, Queue};
use crate::Published;

/// Deliveries per unit of a writer thread's work: a push to many
/// subscribers is shared out among the threads in pieces of this size.
const CHUNK: usize = 512;

/// Subscribers whose state a writer thread reads together before it
/// delivers to them (see [`DirectDelivery::warm`]).
const WARM: usize = 16;

/// The longest [`HubConfig::drain_interval`](crate::HubConfig::drain_interval)
/// taken: what waits for a subscriber between drains, a quarter of
/// its queue or less, waits no longer than this.
pub(crate) const MAX_DRAIN_INTERVAL: Duration = Duration::from_secs(1);

/// The most messages one drain writes to a subscriber (in one write):
/// half the default limit (a quarter of which presses for a drain).
/// More wait for the next.
pub(crate) const BATCH_MESSAGES: usize = 128;

/// The most bytes of messages one drain takes for a subscriber, about
/// what a socket's buffer takes at once; one message is taken whatever
/// its size.
pub(crate) const BATCH_BYTES: usize = 256 << 10;

/// How a subscriber takes messages directly, without its task: a
/// connection's writer that sends them at once if it can (switchyard-push
/// writes the messages' WebSocket frames to the socket).
///
/// Called on one of the hub's writer threads, never while the hub holds a
/// lock; it must not wait.
pub trait DirectDelivery: Send {
    /// Hands `msg` to the subscriber's connection now, if it can.
    fn deliver(&mut self, msg: &Published) -> Direct;

    /// Hands as many of `msgs` to the subscriber's connection now as it
    /// takes, in order, ideally with one write: what was queued for a
    /// subscriber of a busy topic since its last delivery. Returns how many
    /// it took from the front, and how the last of them went:
    /// [`Direct::Delivered`] if it went out whole, [`Direct::Started`] if
    /// it was only begun; `(0, Direct::Declined)` if it took none. Those
    /// it did not take stay unread, for the subscriber's stream, and its
    /// task is woken.
    ///
    /// The default hands them to [`deliver`](Self::deliver) one at a time.
    fn deliver_all(&mut self, msgs: &[Published]) -> (usize, Direct) {
        let mut last = Direct::Declined;
        for (taken, msg) in msgs.iter().enumerate() {
            match self.deliver(msg) {
                Direct::Delivered => last = Direct::Delivered,
                Direct::Started => return (taken + 1, Direct::Started),
                Direct::Declined => return (taken, last),
            }
        }
        (msgs.len(), last)
    }

    /// Reads what [`deliver`](Self::deliver) will read first, and changes
    /// nothing. A writer thread warms the next few subscribers before it
    /// delivers to them, so that their state comes into the cache together
    /// rather than one miss at a time between system calls. It must only
    /// read: no lock, no system call, nothing that waits. The default does
    /// nothing.
    fn warm(&self) {}
}

/// What a [`DirectDelivery`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direct {
    /// Delivered whole.
    Delivered,
    /// Delivered in part: the subscriber's task is woken to finish it.
    Started,
    /// Not delivered: it stays unread, for the subscriber's stream, in
    /// order, and the task is woken.
    Declined,
}

/// A subscriber's queue and its lent-out [`DirectDelivery`].
pub(crate) type LentTo = (Arc<Queue>, Lendable);

/// A unit of the writer threads' work.
pub(crate) enum Piece {
    /// Subscribers that waited at the head of a log that has a new entry:
    /// each armed one is written what it has not read, the others' tasks
    /// are woken.
    Notify(Vec<Arc<Queue>>),
    /// Subscribers whose delivery was lent out for a new message: each is
    /// written what it has not read.
    Deliver(Vec<LentTo>),
    /// Subscribers whose delivery is still lent out, with messages
    /// waiting since (or perhaps): each is written all of them.
    Drain(Vec<LentTo>),
}

/// What the writer threads share.
#[derive(Default)]
struct Work {
    pieces: VecDeque<Piece>,
    /// Subscribers to drain, once the interval since the last drain is up.
    backlog: Vec<LentTo>,
    /// When the last drain began.
    last_drain: Option<Instant>,
    /// Drain now: a subscriber waiting for it is a quarter of the limits
    /// behind, or joins a topic, or a batch left more behind. (Set with nothing in
    /// the backlog, it brings the next drain forward: harmless.)
    pressed: bool,
}

impl Work {
    /// Turns the backlog into drain pieces if its drain is due (the
    /// interval since the last is up, or a queue pressed, or the hub is
    /// closing); returns when it will be otherwise.
    ///
    /// Checked before the next piece is taken, so that a steady flow of
    /// messages cannot hold drains back; the drain then waits its turn
    /// behind the pieces already waiting (ahead of them, a later drain
    /// would pass an earlier one's subscribers again and again, and leave
    /// them to be cut off as slow).
    fn schedule(&mut self, now: Instant, interval: Duration, closed: bool) -> Option<Instant> {
        let due = self.last_drain.map_or(now, |last| last + interval);
        if self.backlog.is_empty() || !(closed || self.pressed || now >= due) {
            return Some(due);
        }
        self.last_drain = Some(now);
        self.pressed = false;
        let backlog = std::mem::take(&mut self.backlog);
        self.pieces
            .extend(chunks(backlog).into_iter().map(Piece::Drain));
        None
    }
}

/// `to` in pieces of at most [`CHUNK`], in order.
fn chunks<T>(mut to: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    while to.len() > CHUNK {
        let rest = to.split_off(CHUNK);
        chunks.push(std::mem::replace(&mut to, rest));
    }
    chunks.push(to);
    chunks
}

/// The hub's writer threads, started with the first direct delivery (or
/// the first publish to more subscribers waiting at a topic's head than
/// the publisher wakes itself).
pub(crate) struct Writers {
    work: Mutex<Work>,
    ready: Condvar,
    /// [`HubConfig::drain_interval`](crate::HubConfig::drain_interval).
    interval: Duration,
    /// How many threads started.
    started: OnceLock<usize>,
    /// The hub is gone: the threads end once the work is done.
    closed: AtomicBool,
    /// Messages delivered whole this way.
    pub(crate) delivered: AtomicU64,
    /// Deliveries that took at least one message.
    pub(crate) writes: AtomicU64,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Writers {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            work: Mutex::default(),
            ready: Condvar::new(),
            interval: interval.min(MAX_DRAIN_INTERVAL),
            started: OnceLock::new(),
            closed: AtomicBool::new(false),
            delivered: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    fn work(&self) -> MutexGuard<'_, Work> {
        self.work.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The hub is gone: the threads end when the work handed over is done.
    pub(crate) fn close(&self) {
        let work = self.work();
        self.closed.store(true, Ordering::Release);
        drop(work);
        self.ready.notify_all();
    }

    /// Hands the subscribers that waited at the head of a log with a new
    /// entry to the writer threads, in pieces: each is written to, or its
    /// task woken.
    pub(crate) fn notify(self: &Arc<Self>, queues: Vec<Arc<Queue>>) {
        if !queues.is_empty() {
            self.share_out(chunks(queues).into_iter().map(Piece::Notify).collect());
        }
    }

    /// Hands subscribers whose delivery was lent out for a new message to
    /// the writer threads, in pieces.
    pub(crate) fn hand_over(self: &Arc<Self>, to: Vec<LentTo>) {
        if !to.is_empty() {
            self.share_out(chunks(to).into_iter().map(Piece::Deliver).collect());
        }
    }

    /// Queues `pieces` for the threads, waking as many as there are
    /// pieces; with no thread, delivers them here.
    fn share_out(self: &Arc<Self>, pieces: Vec<Piece>) {
        if self.start() == 0 {
            // No thread: delivered here, and anything more is the
            // subscribers' tasks' to send.
            for piece in pieces {
                let (more, _) = self.deliver(piece);
                for (queue, direct) in more {
                    queue.retire(direct);
                }
            }
            return;
        }
        let several = pieces.len() > 1;
        self.work().pieces.extend(pieces);
        if several {
            self.ready.notify_all();
        } else {
            self.ready.notify_one();
        }
    }

    /// Subscribers that had more waiting when their delivery came back:
    /// drained at the next drain.
    fn keep(&self, more: Vec<LentTo>) {
        if more.is_empty() {
            return;
        }
        let mut work = self.work();
        let first = work.backlog.is_empty();
        work.backlog.extend(more);
        drop(work);
        if first {
            self.ready.notify_one();
        }
    }

    /// A subscriber waiting for a drain is a quarter of the limits behind,
    /// or it joins a topic:
    /// the next drain comes now, not at the interval, so that a topic
    /// faster than the interval allows does not make its subscribers
    /// slow consumers.
    pub(crate) fn press(&self) {
        let mut work = self.work();
        if work.pressed {
            return;
        }
        work.pressed = true;
        drop(work);
        self.ready.notify_one();
    }

    /// Starts the threads, once: as many as the machine has cores, up to
    /// 4. How many started (none if the system refused every one: then
    /// the caller delivers itself).
    fn start(self: &Arc<Self>) -> usize {
        *self.started.get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
            (0..threads)
                .filter(|i| {
                    // They end when the hub closes them (when it is dropped).
                    let writers = self.clone();
                    std::thread::Builder::new()
                        .name(format!("hub-writer-{i}"))
                        .spawn(move || writers.run())
                        .is_ok()
                })
                .count()
        })
    }

    /// A writer thread's loop: takes pieces of work until the hub is gone;
    /// turns the backlog into pieces once the drain interval is up.
    fn run(&self) {
        loop {
            let piece = {
                let mut work = self.work();
                loop {
                    let closed = self.closed.load(Ordering::Acquire);
                    let now = Instant::now();
                    let due = work.schedule(now, self.interval, closed);
                    if due.is_none() && work.pieces.len() > 1 {
                        // A drain in several pieces: for every thread.
                        self.ready.notify_all();
                    }
                    if let Some(piece) = work.pieces.pop_front() {
                        break Some(piece);
                    }
                    if work.backlog.is_empty() && closed {
                        break None;
                    }
                    work = if work.backlog.is_empty() {
                        self.ready
                            .wait(work)
                            .unwrap_or_else(PoisonError::into_inner)
                    } else {
                        let wait =
                            due.map_or(Duration::ZERO, |due| due.saturating_duration_since(now));
                        self.ready
                            .wait_timeout(work, wait)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    };
                }
            };
            let Some(piece) = piece else {
                return;
            };
            let (more, at_once) = self.deliver(piece);
            self.keep(more);
            if at_once {
                self.press();
            }
        }
    }

    /// Delivers one piece: each subscriber's connection takes its messages
    /// or declines them, and its queue has its [`DirectDelivery`] back.
    /// Returns the subscribers with more waiting since, still lent out,
    /// and whether the next drain should come at once (a batch stopped at
    /// its limits with more behind).
    fn deliver(&self, piece: Piece) -> (Vec<LentTo>, bool) {
        match piece {
            Piece::Drain(to) => self.deliver_lent(to, true),
            Piece::Deliver(to) => self.deliver_lent(to, false),
            Piece::Notify(queues) => {
                let mut more = Vec::new();
                let mut at_once = false;
                for group in queues.chunks(WARM) {
                    let (left, cut) = self.deliver_lent(notify_all(group), false);
                    more.extend(left);
                    at_once |= cut;
                }
                (more, at_once)
            }
        }
    }

    /// Delivers to subscribers whose delivery is lent out what each has
    /// not read; a drain's `linger`.
    fn deliver_lent(&self, to: Vec<LentTo>, linger: bool) -> (Vec<LentTo>, bool) {
        let mut delivered = 0;
        let mut writes = 0;
        let mut more = Vec::new();
        let mut to = to.into_iter();
        // How many at the front of `to` have been warmed.
        let mut warmed = 0;
        let mut batch = Batch::default();
        let mut at_once = false;
        loop {
            if warmed == 0 {
                warmed = to.len().min(WARM);
                let ahead = &to.as_slice()[..warmed];
                // Only a hint: one that panics costs nothing.
                quietly(|| {
                    for (queue, direct) in ahead {
                        queue.warm();
                        direct.warm();
                    }
                });
            }
            let Some((queue, mut direct)) = to.next() else {
                break;
            };
            warmed -= 1;
            batch.clear();
            let cut = queue.take_batch(&mut batch);
            if batch.msgs.is_empty() {
                // Nothing to write (gone, joining, or an answer next: the
                // task's), or nothing yet.
                if let Some(direct) = queue.release(direct) {
                    more.push((queue, direct));
                }
                continue;
            }
            // A delivery that panics loses its subscriber nothing: what it
            // was given is its task's, and the rest go on.
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                direct.deliver_all(&batch.msgs)
            }));
            match attempt {
                Ok((taken, how)) => {
                    let taken = taken.min(batch.msgs.len());
                    let how = match how {
                        _ if taken == 0 => Direct::Declined,
                        Direct::Started => Direct::Started,
                        _ => Direct::Delivered,
                    };
                    delivered += taken - usize::from(how == Direct::Started);
                    writes += u64::from(taken > 0);
                    if let Some(direct) = queue.give_back(direct, taken, how, &batch, linger) {
                        more.push((queue, direct));
                        at_once |= cut;
                    }
                }
                Err(_) => {
                    drop_quietly(direct);
                    queue.give_up();
                }
            }
        }
        self.delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
        (more, at_once)
    }
}

/// Tells each of `queues` that a log it waited at has a new entry
/// ([`Queue::notified`]): the tasks of those not armed are woken, and the
/// armed ones are returned with their deliveries, lent out to be written
/// to.
pub(crate) fn notify_all(queues: &[Arc<Queue>]) -> Vec<LentTo> {
    queues
        .iter()
        .filter_map(|queue| Some((queue.clone(), queue.notified()?)))
        .collect()
}

/// Runs `f`, the application's code, whatever it does: a panic in it is
/// caught, and its payload (the application's too: its drop could panic)
/// forgotten. A writer thread must go on.
fn quietly(f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        std::mem::forget(payload);
    }
}

/// Drops a subscriber's delivery, whose drop may panic (see [`quietly`]).
pub(crate) fn drop_quietly(direct: Lendable) {
    quietly(move || drop(direct));
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Takes;

    impl DirectDelivery for Takes {
        fn deliver(&mut self, _: &Published) -> Direct {
            Direct::Delivered
        }
    }

    fn lent() -> LentTo {
        (Arc::new(Queue::new(0)), Box::new(Box::new(Takes)))
    }

    /// The queues of the drain pieces waiting, in order.
    fn drains(work: &Work) -> Vec<Vec<*const Queue>> {
        work.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Drain(to) => to.iter().map(|(q, _)| Arc::as_ptr(q)).collect(),
                Piece::Notify(_) | Piece::Deliver(_) => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn a_drain_comes_at_the_interval_or_when_pressed_behind_what_waits() {
        let interval = Duration::from_millis(10);
        let start = Instant::now();
        let mut work = Work::default();
        let (a, b, c) = (lent(), lent(), lent());
        let ids = [&a, &b, &c].map(|(q, _)| Arc::as_ptr(q));
        // The first drain is due at once.
        work.backlog.push(a);
        assert_eq!(work.schedule(start, interval, false), None);
        assert_eq!(drains(&work), [vec![ids[0]]]);
        // The next, only at the interval...
        work.backlog.push(b);
        let due = start + interval;
        assert_eq!(work.schedule(start, interval, false), Some(due));
        assert_eq!(work.schedule(due, interval, false), None);
        // ...or when pressed; and each behind the drains waiting before it.
        work.backlog.push(c);
        work.pressed = true;
        assert_eq!(work.schedule(due, interval, false), None);
        assert!(!work.pressed);
        assert_eq!(drains(&work), [vec![ids[0]], vec![ids[1]], vec![ids[2]]]);
    }

    #[test]
    fn a_large_drain_is_cut_into_pieces_in_order() {
        let mut work = Work {
            backlog: (0..CHUNK * 2 + 1).map(|_| lent()).collect(),
            ..Work::default()
        };
        let ids: Vec<_> = work.backlog.iter().map(|(q, _)| Arc::as_ptr(q)).collect();
        work.schedule(Instant::now(), Duration::from_millis(10), false);
        let pieces = drains(&work);
        assert_eq!(
            pieces.iter().map(Vec::len).collect::<Vec<_>>(),
            [CHUNK, CHUNK, 1]
        );
        assert_eq!(pieces.concat(), ids);
    }
}
