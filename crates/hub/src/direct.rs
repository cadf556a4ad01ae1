//! Direct delivery: a message handed to an idle subscriber's connection at
//! once, by the hub's writer threads, instead of queued for its task.
//!
//! Pushing one message to many idle subscribers through their queues wakes
//! one task per subscriber, and each task then looks at its client and
//! writes one frame: for a push to 19,000 subscribers the wake-ups, polls
//! and empty reads cost more than the writes. A subscriber whose task has
//! nothing in flight [arms](crate::DirectHandle::arm) its queue with a
//! [`DirectDelivery`]; the hub's fan-out lends it out, and a writer thread
//! delivers through it while the subscriber's task sleeps. Whatever it
//! declines goes back into the queue, first, and the task is woken.
//!
//! Only quiet topics are delivered this way (see [`QUIET`]): on a busy
//! topic a subscriber's task takes several messages per wake and writes
//! them with one system call, which costs less than one direct write each.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::queue::{Lendable, Queue};
use crate::{Delivery, Published};

/// A topic is delivered directly when its previous message came at least
/// this long before: up to 50 messages a second. Faster, subscribers'
/// tasks batch the messages (one write for several), which costs less.
pub(crate) const QUIET: Duration = Duration::from_millis(20);

/// Deliveries per unit of a writer thread's work: a push to many
/// subscribers is shared out among the threads in pieces of this size.
const CHUNK: usize = 512;

/// Subscribers whose state a writer thread reads together before it
/// delivers to them (see [`DirectDelivery::warm`]).
const WARM: usize = 16;

/// How a subscriber takes a message directly, without its task: a
/// connection's writer that sends it at once if it can (switchyard-push
/// writes the message's WebSocket frame to the socket).
///
/// Called on one of the hub's writer threads, never while the hub holds a
/// lock; it must not wait.
pub trait DirectDelivery: Send {
    /// Hands `msg` to the subscriber's connection now, if it can.
    fn deliver(&mut self, msg: &Published) -> Direct;

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
    /// Not delivered: it goes to the subscriber's queue, before anything
    /// queued since, and the task is woken.
    Declined,
}

/// Messages lent out for direct delivery: each subscriber's queue and its
/// [`DirectDelivery`], with the message.
pub(crate) struct Lent {
    pub(crate) msg: Published,
    pub(crate) to: Vec<(Arc<Queue>, Lendable)>,
}

/// The hub's writer threads, started with the first direct delivery.
#[derive(Default)]
pub(crate) struct Writers {
    work: Mutex<VecDeque<Lent>>,
    ready: Condvar,
    /// Pieces of work handed over and not yet done: a topic is not
    /// delivered directly while any are (see [`Writers::idle`]).
    unfinished: AtomicUsize,
    /// How many threads started.
    started: OnceLock<usize>,
    /// The hub is gone: the threads end once the work is done.
    closed: std::sync::atomic::AtomicBool,
    /// Messages delivered whole this way.
    pub(crate) delivered: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("unfinished", &self.unfinished.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Writers {
    /// Whether no direct delivery is under way: a new one may start.
    pub(crate) fn idle(&self) -> bool {
        self.unfinished.load(Ordering::Acquire) == 0
    }

    fn work(&self) -> MutexGuard<'_, VecDeque<Lent>> {
        self.work.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The hub is gone: the threads end when the work handed over is done.
    pub(crate) fn close(&self) {
        let work = self.work();
        self.closed.store(true, Ordering::Release);
        drop(work);
        self.ready.notify_all();
    }

    /// Hands `lent` to the writer threads, in pieces.
    pub(crate) fn hand_over(self: &Arc<Self>, mut lent: Lent) {
        if lent.to.is_empty() {
            return;
        }
        if self.start() == 0 {
            let delivered = deliver(lent);
            self.delivered.fetch_add(delivered, Ordering::Relaxed);
            return;
        }
        let mut pieces = Vec::new();
        while lent.to.len() > CHUNK {
            let rest = lent.to.split_off(CHUNK);
            pieces.push(Lent {
                msg: lent.msg.clone(),
                to: std::mem::replace(&mut lent.to, rest),
            });
        }
        pieces.push(lent);
        self.unfinished.fetch_add(pieces.len(), Ordering::AcqRel);
        self.work().extend(pieces);
        self.ready.notify_all();
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
                        .spawn(move || run(writers))
                        .is_ok()
                })
                .count()
        })
    }
}

/// A writer thread's loop: takes pieces of work until the hub is gone.
fn run(writers: Arc<Writers>) {
    loop {
        let piece = {
            let mut work = writers.work();
            loop {
                if let Some(piece) = work.pop_front() {
                    break Some(piece);
                }
                if writers.closed.load(Ordering::Acquire) {
                    break None;
                }
                work = writers
                    .ready
                    .wait(work)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let Some(piece) = piece else {
            return;
        };
        let delivered = deliver(piece);
        writers.delivered.fetch_add(delivered, Ordering::Relaxed);
        writers.unfinished.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Delivers one piece: each subscriber's connection takes the message or
/// declines it, and its queue has its [`DirectDelivery`] back. Returns how
/// many took it whole.
pub(crate) fn deliver(piece: Lent) -> u64 {
    let delivery = Delivery::Message(piece.msg.clone());
    let mut delivered = 0;
    let mut to = piece.to.into_iter();
    // How many at the front of `to` have been warmed.
    let mut warmed = 0;
    loop {
        if warmed == 0 {
            warmed = to.len().min(WARM);
            let ahead = &to.as_slice()[..warmed];
            // Only a hint: one that panics costs nothing.
            drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                || {
                    for (queue, direct) in ahead {
                        queue.warm();
                        direct.warm();
                    }
                },
            )));
        }
        let Some((queue, mut direct)) = to.next() else {
            break;
        };
        warmed -= 1;
        // A delivery that panics loses its subscriber nothing: the message
        // is queued for its task, and the rest of the piece goes on.
        let attempt =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| direct.deliver(&piece.msg)));
        match attempt {
            Ok(done) => {
                delivered += u64::from(done == Direct::Delivered);
                queue.give_back(direct, done, &delivery);
            }
            Err(_) => {
                drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                    move || drop(direct),
                )));
                queue.give_up(&delivery);
            }
        }
    }
    delivered
}
