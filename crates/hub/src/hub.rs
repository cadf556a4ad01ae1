//! [`Hub`]: topics, each with its log of messages, and publishing that
//! never waits for a subscriber.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use smallvec::SmallVec;

use crate::direct::{notify_all, Writers};
use crate::log::{Limits, TopicLog};
use crate::queue::Queue;
use crate::{
    Backplane, BackplaneError, Delivery, HubConfig, HubInbox, MemoryBackplane, Numbered, Position,
    PublishReceipt, Published, Sequenced, Subscription,
};

/// Counts of what a [`Hub`] has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Subscribers now.
    pub subscribers: usize,
    /// Messages published, counted once for each subscriber of their topic
    /// then (appended to the topic's log for it).
    pub delivered: u64,
    /// Subscribers dropped for being slow.
    pub slow_disconnects: u64,
    /// Messages dropped under [`SlowConsumerPolicy::DropMessages`](crate::SlowConsumerPolicy::DropMessages).
    pub dropped: u64,
    /// Of those delivered, the ones the hub's writer threads wrote to an
    /// idle subscriber's connection themselves, without its task
    /// ([`DirectHandle`](crate::DirectHandle)).
    pub delivered_directly: u64,
    /// How many times the writer threads handed a subscriber's connection
    /// messages (one, or all those published since its last: a busy topic's
    /// [drain](HubConfig::drain_interval)): with
    /// [`delivered_directly`](Self::delivered_directly), how many
    /// messages each write carried.
    pub direct_writes: u64,
}

/// A publish/subscribe hub of byte messages. Cloning gives another handle
/// to the same hub.
///
/// Every message published to a topic is numbered ([`Published::offset`]),
/// by the hub's [`Backplane`]: by default a [`MemoryBackplane`] without
/// history, for a hub that lives in one process; a shared backplane
/// carries topics across servers.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::StreamExt;
/// use switchyard_hub::{Delivered, Delivery, Hub, HubConfig};
///
/// let hub = Hub::new(HubConfig::default());
/// let mut alice = hub.subscribe();
/// alice.join("news")?;
/// alice.join("sport")?;
/// let mut bob = hub.subscribe();
/// bob.join("sport")?;
///
/// assert_eq!(hub.publish("news", "headline".into()).await?.delivered, Delivered::Queued(1));
/// assert_eq!(hub.publish("sport", "score".into()).await?.delivered, Delivered::Queued(2));
/// assert_eq!(hub.publish("weather", "rain".into()).await?.delivered, Delivered::Queued(0));
/// // Each join is answered first (where the subscriber starts), then come
/// // the messages, numbered in their topic.
/// assert!(matches!(alice.next().await, Some(Delivery::Subscribed { .. })));
/// assert!(matches!(alice.next().await, Some(Delivery::Subscribed { .. })));
/// let Some(Delivery::Message(msg)) = alice.next().await else { panic!() };
/// assert_eq!((msg.topic(), msg.offset(), &msg.data()[..]), ("news", 1, &b"headline"[..]));
/// // A text hub (the default) refuses bytes that are not text, once.
/// assert!(hub.publish("news", vec![0xff, 0xfe].into()).await.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Hub {
    pub(crate) shared: Arc<HubShared>,
}

#[derive(Debug)]
pub(crate) struct HubShared {
    pub(crate) config: HubConfig,
    pub(crate) backplane: Arc<dyn Backplane>,
    state: Mutex<HubState>,
    delivered: AtomicU64,
    slow_disconnects: AtomicU64,
    dropped: AtomicU64,
    /// The threads that deliver to idle subscribers directly.
    pub(crate) writers: Arc<Writers>,
}

#[derive(Debug, Default)]
pub(crate) struct HubState {
    pub(crate) topics: HashMap<Arc<str>, Topic>,
    /// Each subscriber's topics, to leave them all at once.
    pub(crate) memberships: HashMap<u64, Topics>,
    next_id: u64,
}

/// The topics of one subscriber: most have one, held without a heap
/// allocation (a set would take some 100 bytes per idle subscriber), and
/// none has more than [`HubConfig::max_topics_per_subscriber`].
#[derive(Debug, Default)]
pub(crate) struct Topics(SmallVec<[Arc<str>; 1]>);

impl Topics {
    pub(crate) fn get(&self, topic: &str) -> Option<&Arc<str>> {
        self.0.iter().find(|t| ***t == *topic)
    }

    pub(crate) fn contains(&self, topic: &str) -> bool {
        self.get(topic).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds `topic`, which it does not hold.
    pub(crate) fn insert(&mut self, topic: Arc<str>) {
        self.0.push(topic);
    }

    pub(crate) fn remove(&mut self, topic: &str) {
        self.0.retain(|t| **t != *topic);
    }
}

impl IntoIterator for Topics {
    type Item = Arc<str>;
    type IntoIter = smallvec::IntoIter<[Arc<str>; 1]>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A topic this hub has subscribers of.
#[derive(Debug)]
pub(crate) struct Topic {
    /// The topic's name, shared by every message delivered in it.
    pub(crate) name: Arc<str>,
    /// Its messages, appended once for all its subscribers, who read
    /// them from there.
    pub(crate) log: Arc<TopicLog>,
    /// The last message delivered here (or where the backplane started
    /// it): the next must follow it.
    position: Option<Position>,
}

/// Why [`Hub::publish`] refused a message. Nothing was queued for anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The message is larger than the hub takes.
    #[error("message of {size} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The largest message the hub takes.
        max: usize,
    },
    /// The hub carries text, and the message is not UTF-8.
    #[error("message is not UTF-8 text (byte {valid_up_to} starts an invalid sequence)")]
    NotText {
        /// How many bytes from the start are valid UTF-8.
        valid_up_to: usize,
    },
    /// The backplane could not publish it.
    #[error(transparent)]
    Backplane(#[from] BackplaneError),
}

/// Why a [`Subscription`] could not join a topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The subscriber already holds the most topics allowed.
    #[error("too many topics: at most {max} per subscriber")]
    TooManyTopics {
        /// The limit.
        max: usize,
    },
    /// The hub dropped this subscriber (it was too slow).
    #[error("subscription cut off by the hub")]
    CutOff,
}

impl Hub {
    /// An empty hub for one process: a [`MemoryBackplane`] without history
    /// numbers its messages.
    pub fn new(config: HubConfig) -> Self {
        let shared = HubShared::new(config, Arc::new(MemoryBackplane::default()));
        // A backplane made here serves no other hub: attaching succeeds.
        let _ = shared.backplane.attach(shared.inbox());
        Self { shared }
    }

    /// An empty hub whose topics `backplane` carries (and numbers). Fails
    /// if the backplane already serves another hub.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use switchyard_hub::{HistoryConfig, Hub, HubConfig, MemoryBackplane};
    ///
    /// // A hub that keeps each topic's last 100 messages for 5 minutes, so
    /// // that a subscriber coming back gets what it missed.
    /// let history = Arc::new(MemoryBackplane::new(HistoryConfig::default()));
    /// let hub = Hub::with_backplane(HubConfig::default(), history.clone())?;
    /// assert!(Hub::with_backplane(HubConfig::default(), history).is_err());
    /// # Ok::<(), switchyard_hub::BackplaneError>(())
    /// ```
    pub fn with_backplane(
        config: HubConfig,
        backplane: Arc<dyn Backplane>,
    ) -> Result<Self, BackplaneError> {
        let shared = HubShared::new(config, backplane);
        shared.backplane.attach(shared.inbox())?;
        Ok(Self { shared })
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, HubState> {
        self.shared.state()
    }

    /// The hub's backplane.
    pub fn backplane(&self) -> &Arc<dyn Backplane> {
        &self.shared.backplane
    }

    /// A new subscriber, in no topic yet.
    pub fn subscribe(&self) -> Subscription {
        // Its read-ahead grows as its task reads, up to 32 messages, and
        // shrinks back to a few slots once they are taken.
        let mut state = self.state();
        let id = state.next_id;
        state.next_id += 1;
        let queue = Arc::new(Queue::new(id));
        state.memberships.insert(id, Topics::default());
        Subscription::new(id, self.clone(), queue)
    }

    /// Whether the hub takes `msg`: its size, and UTF-8 for a text hub.
    /// [`publish`](Self::publish) checks this itself; it is here for a
    /// caller that wants to know before doing anything else.
    pub fn check(&self, msg: &[u8]) -> Result<(), PublishError> {
        let config = &self.shared.config;
        let max = config.max_message.min(config.queue_bytes);
        if msg.len() > max {
            return Err(PublishError::TooLarge {
                size: msg.len(),
                max,
            });
        }
        if config.text {
            if let Err(e) = std::str::from_utf8(msg) {
                return Err(PublishError::NotText {
                    valid_up_to: e.valid_up_to(),
                });
            }
        }
        Ok(())
    }

    /// Whether this hub carries text ([`HubConfig::text`]).
    pub fn is_text(&self) -> bool {
        self.shared.config.text
    }

    /// Publishes `msg` to `topic` through the backplane, which numbers it
    /// and delivers it to every subscriber of the topic, here and on any
    /// server sharing it. Delivery never waits for a subscriber: the
    /// message is appended once to the topic's log, each subscriber reads
    /// it from its own position there, and one too far behind is handled
    /// by the [`SlowConsumerPolicy`](crate::SlowConsumerPolicy).
    ///
    /// A message the hub does not take ([`check`](Self::check)) is refused
    /// at once, for everyone, and reaches no one. The publish starts when
    /// this is called (a [`MemoryBackplane`] has delivered it by the time
    /// this returns); the future tells how it went.
    pub fn publish(
        &self,
        topic: &str,
        msg: Bytes,
    ) -> impl Future<Output = Result<PublishReceipt, PublishError>> + Send + 'static {
        self.publish_inner(topic, msg, None)
    }

    /// [`publish`](Self::publish), at most once per `key`: a retried
    /// publish whose first answer was lost gets the first one's receipt
    /// ([`PublishReceipt::duplicate`]) and is not published again.
    pub fn publish_once(
        &self,
        topic: &str,
        msg: Bytes,
        key: &str,
    ) -> impl Future<Output = Result<PublishReceipt, PublishError>> + Send + 'static {
        self.publish_inner(topic, msg, Some(key))
    }

    fn publish_inner(
        &self,
        topic: &str,
        msg: Bytes,
        key: Option<&str>,
    ) -> impl Future<Output = Result<PublishReceipt, PublishError>> + Send + 'static {
        let published = match self.check(&msg) {
            Ok(()) => Ok(self.shared.backplane.publish(topic, msg, key)),
            Err(e) => Err(e),
        };
        async move { Ok(published?.await?) }
    }

    /// Subscribers of `topic` now.
    pub fn subscribers(&self, topic: &str) -> usize {
        self.state()
            .topics
            .get(topic)
            .map_or(0, |t| t.log.members())
    }

    /// What the hub has done so far.
    pub fn stats(&self) -> HubStats {
        HubStats {
            subscribers: self.state().memberships.len(),
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            slow_disconnects: self.shared.slow_disconnects.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            delivered_directly: self.shared.writers.delivered.load(Ordering::Relaxed),
            direct_writes: self.shared.writers.writes.load(Ordering::Relaxed),
        }
    }
}

impl Drop for HubShared {
    /// The writer threads end with the hub.
    fn drop(&mut self) {
        self.writers.close();
    }
}

impl HubShared {
    fn new(config: HubConfig, backplane: Arc<dyn Backplane>) -> Arc<Self> {
        Arc::new(Self {
            writers: Arc::new(Writers::new(config.drain_interval)),
            config,
            backplane,
            state: Mutex::default(),
            delivered: AtomicU64::new(0),
            slow_disconnects: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// A backplane's handle on this hub.
    fn inbox(self: &Arc<Self>) -> HubInbox {
        HubInbox {
            hub: Arc::downgrade(self),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`HubInbox::deliver`].
    pub(crate) fn deliver(&self, topic: &str, msg: Numbered) -> Sequenced {
        let mut state = self.state();
        let Some(t) = state.topics.get_mut(topic) else {
            return Sequenced::NotJoined;
        };
        if let Some(last) = &t.position {
            if last.epoch == msg.epoch && msg.offset <= last.offset {
                return Sequenced::Duplicate;
            }
            if last.epoch != msg.epoch || msg.offset != last.offset + 1 {
                return Sequenced::Gap {
                    after: last.clone(),
                };
            }
        }
        let published = Published::new(t.name.clone(), msg);
        t.position = Some(published.position());
        let delivered = self.fan_out(state, topic, Delivery::Message(published));
        Sequenced::Delivered(delivered)
    }

    /// [`HubInbox::start`].
    pub(crate) fn start(&self, topic: &str, position: Position) {
        if let Some(t) = self.state().topics.get_mut(topic) {
            t.position.get_or_insert(position);
        }
    }

    /// [`HubInbox::reset`].
    pub(crate) fn reset(&self, topic: &str, current: Position) {
        let mut state = self.state();
        let Some(t) = state.topics.get_mut(topic) else {
            return;
        };
        t.position = Some(current.clone());
        let news = Delivery::Subscribed {
            topic: t.name.clone(),
            recovered: false,
            position: current,
        };
        self.fan_out(state, topic, news);
    }

    /// [`HubInbox::topics`].
    pub(crate) fn topics(&self) -> Vec<(Arc<str>, Option<Position>)> {
        self.state()
            .topics
            .values()
            .map(|t| (t.name.clone(), t.position.clone()))
            .collect()
    }

    /// Appends `delivery` to `topic`'s log, once for all its subscribers,
    /// and returns how many it was appended for: a subscriber that falls
    /// too far behind is handled by the [`SlowConsumerPolicy`](crate::SlowConsumerPolicy). Those that
    /// waited at the head are woken or written to: up to
    /// [`NOTIFIED_HERE`] woken (or lent out) here, more by the writer
    /// threads.
    fn fan_out(
        &self,
        mut state: MutexGuard<'_, HubState>,
        topic: &str,
        delivery: Delivery,
    ) -> usize {
        let config = &self.config;
        let Some(t) = state.topics.get(topic) else {
            return 0;
        };
        let limits = Limits {
            messages: config.queue_messages,
            bytes: config.queue_bytes,
        };
        let appended = t.log.append(delivery, limits, config.slow_consumer);
        let mut emptied = Vec::new();
        for (id, _) in &appended.slow {
            emptied.extend(leave_all(&mut state, *id));
        }
        drop(state);
        for (_, queue) in &appended.slow {
            queue.cut();
        }
        self.slow_disconnects
            .fetch_add(appended.slow.len() as u64, Ordering::Relaxed);
        self.dropped.fetch_add(appended.dropped, Ordering::Relaxed);
        if appended.parked.len() <= NOTIFIED_HERE {
            // A few: their tasks are woken from here, and only those to
            // write to go to the writer threads.
            self.writers.hand_over(notify_all(&appended.parked));
        } else {
            // Many: the writer threads share them out.
            self.writers.notify(appended.parked);
        }
        if appended.pressing {
            self.writers.press();
        }
        for topic in emptied {
            self.backplane.leave(&topic);
        }
        self.delivered
            .fetch_add(appended.members as u64, Ordering::Relaxed);
        appended.members
    }
}

/// How many subscribers waiting at a topic's head a publish wakes (or
/// lends out) itself; more are the writer threads' work, shared out.
const NOTIFIED_HERE: usize = 32;

/// Takes subscriber `id` out of every topic it is in, and returns the
/// topics left with no subscriber (for [`Backplane::leave`], once the
/// hub's lock is released).
pub(crate) fn leave_all(state: &mut HubState, id: u64) -> Vec<Arc<str>> {
    let mut emptied = Vec::new();
    for topic in state.memberships.remove(&id).unwrap_or_default() {
        if leave_topic(state, id, &topic) {
            emptied.push(topic);
        }
    }
    emptied
}

/// Takes subscriber `id` out of `topic`'s subscribers; true if it was the
/// last.
pub(crate) fn leave_topic(state: &mut HubState, id: u64, topic: &str) -> bool {
    let Some(t) = state.topics.get_mut(topic) else {
        return false;
    };
    let (queue, emptied) = t.log.leave(id);
    if let Some(queue) = queue {
        queue.forget_log(&t.log);
    }
    if emptied {
        state.topics.remove(topic);
    }
    emptied
}

/// Adds subscriber `id`, with `queue`, to `topic`'s subscribers: it reads
/// the topic's log from its head on.
pub(crate) fn join_topic(state: &mut HubState, id: u64, topic: &Arc<str>, queue: &Arc<Queue>) {
    let log = &state
        .topics
        .entry(topic.clone())
        .or_insert_with(|| Topic {
            name: topic.clone(),
            log: Arc::default(),
            position: None,
        })
        .log;
    log.join(id, queue);
    queue.add_log(log);
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::StreamExt;
    use std::task::Context;

    /// Publishes and returns how many subscribers it was queued for.
    fn publish(hub: &Hub, topic: &str, msg: impl Into<Bytes>) -> Result<usize, PublishError> {
        block_on(hub.publish(topic, msg.into())).map(|r| r.delivered.count().unwrap_or(0))
    }

    /// A subscriber of `topic`, its join answered.
    fn subscriber(hub: &Hub, topic: &str) -> Subscription {
        let mut sub = hub.subscribe();
        sub.join(topic).unwrap();
        let answer = block_on(sub.next());
        assert!(
            matches!(answer, Some(Delivery::Subscribed { .. })),
            "{answer:?}"
        );
        sub
    }

    /// The next message's data.
    fn next_data(sub: &mut Subscription) -> Option<Bytes> {
        match block_on(sub.next())? {
            Delivery::Message(m) => Some(m.data().clone()),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_full_subscriber_is_cut_off_and_the_others_keep_everything() {
        let hub = Hub::new(HubConfig::default().queue_messages(4));
        let mut fast = subscriber(&hub, "t");
        let slow = subscriber(&hub, "t");
        let mut got = Vec::new();
        for i in 0..20u8 {
            let reached = publish(&hub, "t", vec![i]).unwrap();
            assert_eq!(reached, if i < 4 { 2 } else { 1 }, "message {i}");
            got.push(next_data(&mut fast).unwrap()[0]);
        }
        assert_eq!(got, (0..20).collect::<Vec<u8>>());
        assert!(slow.is_cut_off());
        assert_eq!(hub.subscribers("t"), 1);
        assert_eq!(hub.stats().slow_disconnects, 1);
    }

    #[test]
    fn cut_off_resolves_when_the_hub_cuts_the_subscriber_off() {
        use std::future::Future;
        let hub = Hub::new(HubConfig::default().queue_messages(1));
        let sub = subscriber(&hub, "t");
        let mut waiting = Box::pin(sub.cut_off());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        publish(&hub, "t", "fits").unwrap();
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        publish(&hub, "t", "does not fit").unwrap();
        assert!(waiting.as_mut().poll(&mut cx).is_ready());
        // Asked afterwards, it is ready at once.
        block_on(sub.cut_off());
    }

    #[test]
    fn the_byte_budget_counts_too() {
        let hub = Hub::new(HubConfig::default().queue_bytes(10));
        let sub = subscriber(&hub, "t");
        assert_eq!(publish(&hub, "t", vec![0; 10]), Ok(1));
        assert_eq!(publish(&hub, "t", vec![0; 1]), Ok(0));
        assert!(sub.is_cut_off());
    }

    #[test]
    fn a_message_no_subscriber_could_take_is_refused_once_and_cuts_no_one_off() {
        let hub = Hub::new(HubConfig::default().queue_bytes(10).max_message(100));
        let sub = subscriber(&hub, "t");
        assert_eq!(
            publish(&hub, "t", vec![b'a'; 11]),
            Err(PublishError::TooLarge { size: 11, max: 10 })
        );
        assert_eq!(
            publish(&hub, "t", &b"ok \xff"[..]),
            Err(PublishError::NotText { valid_up_to: 3 })
        );
        assert!(!sub.is_cut_off());
        assert_eq!(publish(&hub, "t", "ok"), Ok(1));
        let binary = Hub::new(HubConfig::default().text(false));
        assert!(!binary.is_text());
        assert_eq!(publish(&binary, "t", &b"\xff"[..]), Ok(0));
    }

    #[test]
    fn the_drop_policy_keeps_the_subscriber_and_the_newest_messages() {
        let config = HubConfig::default()
            .queue_messages(2)
            .slow_consumer(crate::SlowConsumerPolicy::DropMessages);
        let hub = Hub::new(config);
        let mut sub = subscriber(&hub, "t");
        for msg in ["a", "b", "c", "d"] {
            assert_eq!(publish(&hub, "t", msg), Ok(1));
        }
        assert!(!sub.is_cut_off());
        assert_eq!(hub.stats().dropped, 2);
        assert_eq!(next_data(&mut sub).as_deref(), Some(&b"c"[..]));
        assert_eq!(next_data(&mut sub).as_deref(), Some(&b"d"[..]));
    }

    #[test]
    fn topics_per_subscriber_are_bounded_and_dropping_leaves_them() {
        let hub = Hub::new(HubConfig::default().max_topics_per_subscriber(2));
        let mut sub = hub.subscribe();
        sub.join("a").unwrap();
        sub.join("b").unwrap();
        sub.join("a").unwrap();
        assert_eq!(sub.join("c"), Err(HubError::TooManyTopics { max: 2 }));
        sub.leave("a");
        sub.join("c").unwrap();
        drop(sub);
        assert_eq!((hub.subscribers("b"), hub.subscribers("c")), (0, 0));
        assert_eq!(hub.stats().subscribers, 0);
    }

    #[test]
    fn messages_are_numbered_in_their_topic_and_each_topic_has_its_epoch() {
        let hub = Hub::new(HubConfig::default());
        let mut sub = subscriber(&hub, "a");
        sub.join("b").unwrap();
        let Some(Delivery::Subscribed { position, .. }) = block_on(sub.next()) else {
            panic!()
        };
        assert_eq!(position.offset, 0);
        let mut seen = Vec::new();
        for topic in ["a", "b", "a", "a", "b"] {
            let receipt = block_on(hub.publish(topic, "x".into())).unwrap();
            let Some(Delivery::Message(m)) = block_on(sub.next()) else {
                panic!()
            };
            assert_eq!(m.position(), receipt.position);
            seen.push((m.topic().to_string(), m.offset(), m.epoch().clone()));
        }
        let offsets: Vec<_> = seen.iter().map(|(t, o, _)| format!("{t}{o}")).collect();
        assert_eq!(offsets, ["a1", "b1", "a2", "a3", "b2"]);
        assert_ne!(seen[0].2, seen[1].2, "topics share an epoch");
    }

    /// What a backplane that delivers from elsewhere sees: the hub takes
    /// each topic's next message, drops what it had, and stops at a gap.
    #[test]
    fn the_inbox_delivers_in_order_and_reports_gaps_and_duplicates() {
        let hub = Hub::new(HubConfig::default());
        let inbox = hub.shared.inbox();
        let msg = |offset, epoch: &str| Numbered {
            offset,
            epoch: crate::Epoch::new(epoch),
            data: Bytes::from(format!("{offset}")),
        };
        assert_eq!(inbox.deliver("t", msg(1, "e")), Sequenced::NotJoined);
        let mut sub = subscriber(&hub, "t");
        let at = |offset| Position {
            offset,
            epoch: crate::Epoch::new("e"),
        };
        inbox.start("t", at(4));
        assert_eq!(inbox.deliver("t", msg(5, "e")), Sequenced::Delivered(1));
        assert_eq!(inbox.deliver("t", msg(5, "e")), Sequenced::Duplicate);
        assert_eq!(inbox.deliver("t", msg(3, "e")), Sequenced::Duplicate);
        assert_eq!(
            inbox.deliver("t", msg(7, "e")),
            Sequenced::Gap { after: at(5) }
        );
        assert_eq!(
            inbox.deliver("t", msg(1, "other")),
            Sequenced::Gap { after: at(5) }
        );
        assert_eq!(inbox.deliver("t", msg(6, "e")), Sequenced::Delivered(1));
        assert_eq!(next_data(&mut sub).as_deref(), Some(&b"5"[..]));
        assert_eq!(next_data(&mut sub).as_deref(), Some(&b"6"[..]));
        // Lost for good: the subscriber is told, and the topic goes on.
        let other = Position {
            offset: 1,
            epoch: crate::Epoch::new("other"),
        };
        inbox.reset("t", other.clone());
        let Some(Delivery::Subscribed {
            recovered: false,
            position,
            ..
        }) = block_on(sub.next())
        else {
            panic!()
        };
        assert_eq!(position, other);
        assert_eq!(inbox.deliver("t", msg(2, "other")), Sequenced::Delivered(1));
        assert_eq!(
            inbox.topics(),
            vec![("t".into(), Some(Position { offset: 2, ..other }))]
        );
    }
}
