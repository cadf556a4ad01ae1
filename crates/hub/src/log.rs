//! [`TopicLog`]: one topic's deliveries, appended once for all its
//! subscribers, each of which reads from its own position (a cursor).
//!
//! A publish appends one entry, whatever the number of subscribers: no
//! queue push per subscriber. A subscriber's lag is how far its cursor is
//! behind the head, in entries and in bytes of messages; the log keeps
//! entries back to its slowest subscriber's cursor, and no further back
//! than the limits allow ([`Limits`]): a subscriber that falls further
//! behind is cut off (or loses the oldest, under
//! [`SlowConsumerPolicy::DropMessages`]), alone. Subscribers waiting at the
//! head *park*: the next append hands them over, all at once, to be
//! woken or written to ([`Appended::parked`]): a few by the publisher,
//! many by the hub's writer threads, which share them out.
//!
//! Sans-IO: nothing here waits, wakes or writes; it is the bookkeeping
//! of positions, under one lock per topic.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::queue::Queue;
use crate::{Delivery, Published, SlowConsumerPolicy};

/// Room kept in an emptied log: a burst's larger buffer is given back.
const ROOM_KEPT: usize = 4;

/// How far a subscriber may be behind a topic's head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Entries.
    pub(crate) messages: usize,
    /// Bytes of the messages among them.
    pub(crate) bytes: usize,
}

/// One topic's log, as the hub and the topic's subscribers share it.
#[derive(Debug, Default)]
pub(crate) struct TopicLog {
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    /// The entries from `base` on: back to the slowest member's cursor.
    entries: VecDeque<Entry>,
    /// The number of `entries[0]` (or of the next entry, when empty).
    base: u64,
    /// Bytes of messages appended so far.
    appended: u64,
    /// The subscribers reading it, by id.
    members: HashMap<u64, Member>,
    /// How many members are at each cursor. Under
    /// [`SlowConsumerPolicy::DropMessages`] a member whose oldest entries
    /// were dropped is counted at `base`, its own `next` left behind.
    cursors: BTreeMap<u64, usize>,
    /// The same, of the members waiting for the writers' next drain (their
    /// delivery kept lent out): how far the slowest of them is behind
    /// says whether that drain should come now.
    draining: BTreeMap<u64, usize>,
    /// Members waiting for the next entry, handed over by the next
    /// append; may hold ones gone or listed twice (harmless: told again,
    /// they find nothing).
    parked: Vec<Arc<Queue>>,
    /// Counts appends that took `parked`: a member is parked while its
    /// `parked_in` is this.
    round: u64,
    /// Of `parked`, how many have left since.
    parked_gone: usize,
}

impl std::fmt::Debug for LogState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogState")
            .field("entries", &self.entries.len())
            .field("base", &self.base)
            .field("members", &self.members.len())
            .field("parked", &self.parked.len())
            .finish_non_exhaustive()
    }
}

struct Entry {
    delivery: Delivery,
    /// Bytes of messages appended before it.
    start: u64,
}

struct Member {
    queue: Arc<Queue>,
    /// The number of the next entry it reads (see [`LogState::cursors`]).
    next: u64,
    /// The round it parked in (parked while it is the log's), and
    /// [`DRAINING`] if it waits for the writers' next drain (see
    /// [`LogState::draining`]): one word, as every idle subscriber has a
    /// member.
    flags: u64,
}

/// In [`Member::flags`]: the member waits for a drain.
const DRAINING: u64 = 1 << 63;

impl Member {
    /// Where it reads next in a log whose oldest entry is `base`: its
    /// cursor, or `base` if what it had not read was dropped.
    fn reads_from(&self, base: u64) -> u64 {
        self.next.max(base)
    }

    fn parked_in(&self) -> u64 {
        self.flags & !DRAINING
    }

    fn draining(&self) -> bool {
        self.flags & DRAINING != 0
    }
}

/// What an append did.
#[derive(Debug, Default)]
pub(crate) struct Appended {
    /// Members it was appended for (after any cut off).
    pub(crate) members: usize,
    /// Members that were waiting at the head: to be woken, or written to.
    pub(crate) parked: Vec<Arc<Queue>>,
    /// Members cut off for being too far behind (and taken out of the
    /// log): their id and queue.
    pub(crate) slow: Vec<(u64, Arc<Queue>)>,
    /// Entries dropped from members' unread ones
    /// ([`SlowConsumerPolicy::DropMessages`]), one per member.
    pub(crate) dropped: u64,
    /// A member waiting for a drain is a quarter of the limits behind or
    /// more: the drain should come now.
    pub(crate) pressing: bool,
}

/// What is next for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Nothing: it is at the head (or not a member).
    Head,
    /// A message.
    Message,
    /// Something else (a topic's new start): its task's to take.
    Answer,
}

/// One member fewer at cursor `at`.
fn uncount(cursors: &mut BTreeMap<u64, usize>, at: u64) {
    debug_assert!(cursors.contains_key(&at), "no member at {at}");
    if let Some(count) = cursors.get_mut(&at) {
        *count -= 1;
        if *count == 0 {
            cursors.remove(&at);
        }
    }
}

/// The bytes an entry counts for: a message's data; anything else, none.
fn message_bytes(delivery: &Delivery) -> usize {
    match delivery {
        Delivery::Message(m) => m.data().len(),
        _ => 0,
    }
}

impl LogState {
    fn head(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// Bytes of messages appended before entry `at`.
    fn start_of(&self, at: u64) -> u64 {
        usize::try_from(at - self.base)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map_or(self.appended, |e| e.start)
    }

    fn entry(&self, at: u64) -> Option<&Entry> {
        self.entries.get(usize::try_from(at - self.base).ok()?)
    }

    /// Moves one member's count from cursor `from` to `to` (in `draining`
    /// too if it is), and drops the entries no one has left to read.
    fn recount(&mut self, from: u64, to: u64, draining: bool) {
        if from == to {
            return;
        }
        uncount(&mut self.cursors, from);
        *self.cursors.entry(to).or_default() += 1;
        if draining {
            uncount(&mut self.draining, from);
            *self.draining.entry(to).or_default() += 1;
        }
        self.trim();
    }

    /// Where member `id` reads next, if it is a member.
    fn reads_from(&self, id: u64) -> Option<u64> {
        self.members.get(&id).map(|m| m.reads_from(self.base))
    }

    /// Moves member `id`'s cursor to `to`, kept between where it reads
    /// from and the head, and recounts.
    fn advance(&mut self, id: u64, to: u64) {
        let (base, head) = (self.base, self.head());
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        let from = m.reads_from(base);
        let to = to.clamp(from, head);
        m.next = to;
        let draining = m.draining();
        self.recount(from, to, draining);
    }

    /// Forgets the entries before the slowest member's cursor.
    fn trim(&mut self) {
        let min = self
            .cursors
            .first_key_value()
            .map_or(self.head(), |(&at, _)| at);
        while self.base < min && self.entries.pop_front().is_some() {
            self.base += 1;
        }
        if self.entries.is_empty() && self.entries.capacity() > ROOM_KEPT {
            self.entries.shrink_to(ROOM_KEPT);
        }
    }

    /// Where the slowest of `cursors` is, and how far behind: entries and
    /// bytes.
    fn lag(&self, cursors: &BTreeMap<u64, usize>) -> Option<(u64, u64, u64)> {
        let (&min, _) = cursors.first_key_value()?;
        Some((min, self.head() - min, self.appended - self.start_of(min)))
    }

    /// Parks `queue`'s member if it is at the head; what is next for it.
    fn park(&mut self, id: u64, queue: &Arc<Queue>) -> Next {
        let round = self.round;
        let head = self.head();
        let base = self.base;
        let Some(m) = self.members.get_mut(&id) else {
            return Next::Head;
        };
        let next = m.reads_from(base);
        if next < head {
            return self.kind(next);
        }
        if m.parked_in() != round {
            m.flags = round | (m.flags & DRAINING);
            self.parked.push(queue.clone());
        }
        Next::Head
    }

    fn kind(&self, at: u64) -> Next {
        match self.entry(at).map(|e| &e.delivery) {
            None => Next::Head,
            Some(Delivery::Message(_)) => Next::Message,
            Some(_) => Next::Answer,
        }
    }
}

impl TopicLog {
    fn state(&self) -> MutexGuard<'_, LogState> {
        // Nothing panics while holding it; were it poisoned, the log is
        // still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds subscriber `id`, reading from the head on; false if it is a
    /// member already (it keeps its place).
    pub(crate) fn join(&self, id: u64, queue: &Arc<Queue>) -> bool {
        let mut state = self.state();
        if state.members.contains_key(&id) {
            return false;
        }
        let head = state.head();
        let parked_in = state.round.wrapping_sub(1) & !DRAINING;
        state.members.insert(
            id,
            Member {
                queue: queue.clone(),
                next: head,
                flags: parked_in,
            },
        );
        *state.cursors.entry(head).or_default() += 1;
        true
    }

    /// Takes subscriber `id` out: its queue, if it was a member, and
    /// whether no member is left.
    pub(crate) fn leave(&self, id: u64) -> (Option<Arc<Queue>>, bool) {
        let mut state = self.state();
        let left = state.members.remove(&id);
        if let Some(m) = &left {
            let next = m.reads_from(state.base);
            uncount(&mut state.cursors, next);
            if m.draining() {
                uncount(&mut state.draining, next);
            }
            if m.parked_in() == state.round {
                state.parked_gone += 1;
                if state.parked_gone * 2 > state.parked.len() {
                    let LogState {
                        parked,
                        members,
                        round,
                        ..
                    } = &mut *state;
                    parked.retain(|q| {
                        members
                            .get(&q.id())
                            .is_some_and(|m| m.parked_in() == *round && Arc::ptr_eq(&m.queue, q))
                    });
                    state.parked_gone = 0;
                }
            }
            state.trim();
        }
        (left.map(|m| m.queue), state.members.is_empty())
    }

    /// How many subscribers read it.
    pub(crate) fn members(&self) -> usize {
        self.state().members.len()
    }

    /// Appends `delivery` for every member, and holds each to `limits`:
    /// one further behind is cut off (taken out, and returned), or, under
    /// [`SlowConsumerPolicy::DropMessages`], loses its oldest unread
    /// entry. Takes the members parked at the head.
    pub(crate) fn append(
        &self,
        delivery: Delivery,
        limits: Limits,
        policy: SlowConsumerPolicy,
    ) -> Appended {
        let mut state = self.state();
        let mut appended = Appended::default();
        if state.members.is_empty() {
            return appended;
        }
        let start = state.appended;
        state.appended += message_bytes(&delivery) as u64;
        state.entries.push_back(Entry { delivery, start });
        while let Some((min, behind, bytes)) = state.lag(&state.cursors) {
            if behind <= limits.messages as u64 && bytes <= limits.bytes as u64 {
                break;
            }
            let Some(count) = state.cursors.remove(&min) else {
                break;
            };
            let draining = state.draining.remove(&min);
            // A topic's restart notice is never dropped: a subscriber that
            // would lose it is cut off, whatever the policy.
            let notice = !matches!(state.kind(min), Next::Message);
            if policy == SlowConsumerPolicy::DropMessages && !notice {
                // They lose the oldest they had not read.
                appended.dropped += count as u64;
                *state.cursors.entry(min + 1).or_default() += count;
                if let Some(draining) = draining {
                    *state.draining.entry(min + 1).or_default() += draining;
                }
            } else {
                let base = state.base;
                let slow: Vec<u64> = state
                    .members
                    .iter()
                    .filter(|(_, m)| m.reads_from(base) == min)
                    .map(|(&id, _)| id)
                    .collect();
                for id in slow {
                    if let Some(m) = state.members.remove(&id) {
                        appended.slow.push((id, m.queue));
                    }
                }
            }
            state.trim();
        }
        if let Some((_, behind, bytes)) = state.lag(&state.draining) {
            appended.pressing = behind.saturating_mul(4) >= limits.messages as u64
                || bytes.saturating_mul(4) >= limits.bytes as u64;
        }
        appended.members = state.members.len();
        state.round = state.round.wrapping_add(1) & !DRAINING;
        state.parked_gone = 0;
        appended.parked = std::mem::take(&mut state.parked);
        appended
    }

    /// Takes for member `id` into `out` what it has not read, up to `max`
    /// entries and `max_bytes` of messages (one at least), or parks it at
    /// the head if it has read everything. Returns how many it took.
    pub(crate) fn take_or_park(
        &self,
        id: u64,
        queue: &Arc<Queue>,
        out: &mut VecDeque<Delivery>,
        max: usize,
        max_bytes: usize,
    ) -> usize {
        let mut state = self.state();
        if state.park(id, queue) == Next::Head {
            return 0;
        }
        let Some(from) = state.reads_from(id) else {
            return 0;
        };
        let mut to = from;
        let mut bytes = 0;
        while let Some(entry) = state.entry(to) {
            let len = message_bytes(&entry.delivery);
            if to - from >= max as u64 || (to > from && bytes + len > max_bytes) {
                break;
            }
            bytes += len;
            out.push_back(entry.delivery.clone());
            to += 1;
        }
        state.advance(id, to);
        (to - from) as usize
    }

    /// Copies into `out` the messages member `id` has not read, without
    /// moving its cursor: at most `max` in all in `out`, and `max_bytes`
    /// of them (one at least, whatever its size); stops before anything
    /// that is not a message. Returns where they start (for
    /// [`advance_to`](Self::advance_to)) and whether it stopped at a limit
    /// with more messages behind.
    pub(crate) fn read(
        &self,
        id: u64,
        out: &mut Vec<Published>,
        max: usize,
        max_bytes: &mut usize,
    ) -> (u64, bool) {
        let state = self.state();
        let Some(from) = state.reads_from(id) else {
            return (0, false);
        };
        for at in from..state.head() {
            let Some(Entry {
                delivery: Delivery::Message(msg),
                ..
            }) = state.entry(at)
            else {
                return (from, false);
            };
            let len = msg.data().len();
            if out.len() >= max || (!out.is_empty() && len > *max_bytes) {
                return (from, true);
            }
            *max_bytes = max_bytes.saturating_sub(len);
            out.push(msg.clone());
        }
        (from, false)
    }

    /// Member `id` has read up to entry `to` (not included).
    pub(crate) fn advance_to(&self, id: u64, to: u64) {
        self.state().advance(id, to);
    }

    /// Whether member `id` waits for the writers' next drain: while it
    /// does, it presses for the drain once a quarter of the limits behind.
    pub(crate) fn set_draining(&self, id: u64, on: bool) {
        let mut state = self.state();
        let base = state.base;
        let Some(m) = state.members.get_mut(&id) else {
            return;
        };
        if m.draining() == on {
            return;
        }
        m.flags ^= DRAINING;
        let at = m.reads_from(base);
        if on {
            *state.draining.entry(at).or_default() += 1;
        } else {
            uncount(&mut state.draining, at);
        }
    }

    /// What is next for member `id`; parked at the head if `park` and it
    /// is there.
    pub(crate) fn next(&self, id: u64, queue: &Arc<Queue>, park: bool) -> Next {
        let mut state = self.state();
        if park {
            return state.park(id, queue);
        }
        state.reads_from(id).map_or(Next::Head, |at| state.kind(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Epoch, Numbered, Position};

    fn message(n: u64, len: usize) -> Delivery {
        Delivery::Message(Published::new(
            "t",
            Numbered {
                offset: n,
                epoch: Epoch::new("e"),
                data: vec![b'x'; len].into(),
            },
        ))
    }

    fn limits(messages: usize, bytes: usize) -> Limits {
        Limits { messages, bytes }
    }

    fn member(log: &TopicLog, id: u64) -> Arc<Queue> {
        let queue = Arc::new(Queue::new(id));
        assert!(log.join(id, &queue));
        queue
    }

    fn take(log: &TopicLog, queue: &Arc<Queue>, max: usize) -> Vec<u64> {
        let mut out = VecDeque::new();
        log.take_or_park(queue.id(), queue, &mut out, max, usize::MAX);
        out.iter()
            .map(|d| match d {
                Delivery::Message(m) => m.offset(),
                _ => 0,
            })
            .collect()
    }

    const ROOMY: Limits = Limits {
        messages: 100,
        bytes: 1000,
    };

    #[test]
    fn each_member_reads_every_entry_once_from_where_it_joined() {
        let log = TopicLog::default();
        let a = member(&log, 1);
        log.append(message(1, 1), ROOMY, SlowConsumerPolicy::Disconnect);
        let b = member(&log, 2);
        for n in 2..=4 {
            let appended = log.append(message(n, 1), ROOMY, SlowConsumerPolicy::Disconnect);
            assert_eq!(appended.members, 2);
        }
        assert_eq!(take(&log, &a, 2), [1, 2]);
        assert_eq!(take(&log, &b, 10), [2, 3, 4]);
        assert_eq!(take(&log, &a, 10), [3, 4]);
        assert_eq!(take(&log, &a, 10), Vec::<u64>::new());
        // Everyone read everything: nothing is kept.
        assert_eq!(log.state().entries.len(), 0);
    }

    #[test]
    fn the_log_keeps_entries_back_to_the_slowest_member_only() {
        let log = TopicLog::default();
        let a = member(&log, 1);
        let b = member(&log, 2);
        for n in 1..=5 {
            log.append(message(n, 1), ROOMY, SlowConsumerPolicy::Disconnect);
        }
        take(&log, &a, 10);
        take(&log, &b, 2);
        assert_eq!(log.state().entries.len(), 3);
        log.leave(2);
        assert_eq!(log.state().entries.len(), 0);
    }

    #[test]
    fn a_member_too_far_behind_is_cut_off_alone_in_entries_or_in_bytes() {
        let log = TopicLog::default();
        let fast = member(&log, 1);
        let _slow = member(&log, 2);
        for n in 1..=3 {
            let appended = log.append(message(n, 1), limits(3, 100), Default::default());
            assert!(appended.slow.is_empty());
            take(&log, &fast, 10);
        }
        let appended = log.append(message(4, 1), limits(3, 100), Default::default());
        assert_eq!(
            appended.slow.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(appended.members, 1);
        assert_eq!(take(&log, &fast, 10), [4]);
        assert_eq!(log.state().entries.len(), 0);

        let _slow = member(&log, 3);
        log.append(message(5, 60), limits(10, 100), Default::default());
        take(&log, &fast, 10);
        let appended = log.append(message(6, 41), limits(10, 100), Default::default());
        assert_eq!(appended.slow.len(), 1, "101 bytes behind");
    }

    #[test]
    fn dropping_messages_keeps_the_member_and_its_newest_entries() {
        let log = TopicLog::default();
        let slow = member(&log, 1);
        let policy = SlowConsumerPolicy::DropMessages;
        let mut dropped = 0;
        for n in 1..=5 {
            let appended = log.append(message(n, 1), limits(2, 100), policy);
            assert_eq!(appended.members, 1);
            dropped += appended.dropped;
        }
        assert_eq!(dropped, 3);
        assert_eq!(take(&log, &slow, 10), [4, 5]);
        // Its cursor is where it read to: it goes on from there.
        log.append(message(6, 1), limits(2, 100), policy);
        assert_eq!(take(&log, &slow, 10), [6]);
    }

    #[test]
    fn a_member_at_the_head_parks_once_and_the_next_append_takes_it() {
        let log = TopicLog::default();
        let a = member(&log, 1);
        let b = member(&log, 2);
        assert!(take(&log, &a, 10).is_empty());
        assert!(take(&log, &a, 10).is_empty());
        assert_eq!(log.next(2, &b, false), Next::Head);
        let appended = log.append(message(1, 1), ROOMY, Default::default());
        assert_eq!(appended.parked.len(), 1, "parked once");
        assert!(Arc::ptr_eq(&appended.parked[0], &a));
        // Not parked any more: the next append takes no one.
        let appended = log.append(message(2, 1), ROOMY, Default::default());
        assert!(appended.parked.is_empty());
        // With something to read, it does not park.
        assert_eq!(log.next(1, &a, true), Next::Message);
        assert!(log
            .append(message(3, 1), ROOMY, Default::default())
            .parked
            .is_empty());
    }

    #[test]
    fn members_that_park_and_leave_do_not_pile_up() {
        let log = TopicLog::default();
        let _stays = member(&log, 0);
        for id in 1..1000 {
            let queue = member(&log, id);
            assert_eq!(log.next(id, &queue, true), Next::Head);
            log.leave(id);
        }
        assert!(log.state().parked.len() < 4, "{:?}", log.state());
    }

    #[test]
    fn a_read_stops_at_its_limits_and_before_an_answer_and_moves_nothing() {
        let log = TopicLog::default();
        let a = member(&log, 1);
        for n in 1..=4 {
            log.append(message(n, 10), ROOMY, Default::default());
        }
        let reset = Delivery::Subscribed {
            topic: "t".into(),
            recovered: false,
            position: Position {
                offset: 9,
                epoch: Epoch::new("f"),
            },
        };
        log.append(reset, ROOMY, Default::default());
        let mut out = Vec::new();
        let (from, more) = log.read(1, &mut out, 2, &mut 1000);
        assert_eq!((from, more, out.len()), (0, true, 2));
        out.clear();
        let (_, more) = log.read(1, &mut out, 10, &mut 25);
        assert_eq!((more, out.len()), (true, 2), "25 bytes: two of 10");
        out.clear();
        let (_, more) = log.read(1, &mut out, 10, &mut 1000);
        assert_eq!((more, out.len()), (false, 4), "not the answer");
        log.advance_to(1, from + 4);
        assert_eq!(log.next(1, &a, true), Next::Answer);
        assert_eq!(take(&log, &a, 10), [0]);
        assert_eq!(log.next(1, &a, true), Next::Head);
    }

    #[test]
    fn only_a_member_waiting_for_a_drain_presses_for_it() {
        let log = TopicLog::default();
        let _stuck = member(&log, 1);
        let drained = member(&log, 2);
        let pressing = |n| {
            log.append(message(n, 1), limits(12, 100), Default::default())
                .pressing
        };
        // The stuck one is a third of the limit behind: its task's business.
        assert!(!(1..=4).any(pressing));
        take(&log, &drained, 10);
        log.set_draining(2, true);
        assert!(!pressing(5), "one behind");
        assert!(!pressing(6));
        assert!(pressing(7), "a quarter behind");
        // Read up: no longer behind; and once not waiting, never pressing.
        take(&log, &drained, 10);
        assert!(!pressing(8));
        log.set_draining(2, false);
        assert!(!pressing(9) && !pressing(10) && !pressing(11));
    }

    #[test]
    fn a_restart_notice_is_never_dropped_its_reader_is_cut_off_instead() {
        let log = TopicLog::default();
        let _slow = member(&log, 1);
        let policy = SlowConsumerPolicy::DropMessages;
        log.append(message(1, 1), limits(2, 100), policy);
        let reset = Delivery::Subscribed {
            topic: "t".into(),
            recovered: false,
            position: Position {
                offset: 1,
                epoch: Epoch::new("f"),
            },
        };
        log.append(reset, limits(2, 100), policy);
        // Message 1 is dropped for the third...
        let appended = log.append(message(2, 1), limits(2, 100), policy);
        assert_eq!((appended.dropped, appended.slow.len()), (1, 0));
        // ...but the notice, next, is not: the subscriber is cut off.
        let appended = log.append(message(3, 1), limits(2, 100), policy);
        assert_eq!((appended.dropped, appended.slow.len()), (0, 1));
        assert_eq!(appended.members, 0);
    }

    #[test]
    fn a_take_stops_at_its_bytes_but_takes_one_whatever_its_size() {
        let log = TopicLog::default();
        let a = member(&log, 1);
        for (n, len) in [(1, 40), (2, 40), (3, 40), (4, 500)] {
            log.append(message(n, len), ROOMY, Default::default());
        }
        let mut out = VecDeque::new();
        assert_eq!(log.take_or_park(1, &a, &mut out, 10, 100), 2, "80 of 100");
        assert_eq!(
            log.take_or_park(1, &a, &mut out, 10, 100),
            1,
            "40, then 500 is over"
        );
        assert_eq!(
            log.take_or_park(1, &a, &mut out, 10, 100),
            1,
            "500: one at least"
        );
        assert_eq!(log.take_or_park(1, &a, &mut out, 10, 100), 0);
        assert_eq!(out.len(), 4);
    }
}
