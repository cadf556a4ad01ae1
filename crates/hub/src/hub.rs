//! [`Hub`]: topics, each subscriber's bounded queue, and publishing that
//! never waits.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::{HubConfig, SlowConsumerPolicy, Subscription};

/// Counts of what a [`Hub`] has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Subscribers now.
    pub subscribers: usize,
    /// Messages handed to subscribers' queues.
    pub delivered: u64,
    /// Subscribers dropped for being slow.
    pub slow_disconnects: u64,
    /// Messages dropped under [`SlowConsumerPolicy::DropMessages`].
    pub dropped: u64,
}

/// A publish/subscribe hub of byte messages. Cloning gives another handle
/// to the same hub.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::StreamExt;
/// use switchyard_hub::{Hub, HubConfig};
///
/// let hub = Hub::new(HubConfig::default());
/// let mut alice = hub.subscribe();
/// alice.join("news")?;
/// alice.join("sport")?;
/// let bob = hub.subscribe();
/// bob.join("sport")?;
///
/// assert_eq!(hub.publish("news", "headline".into())?, 1);
/// assert_eq!(hub.publish("sport", "score".into())?, 2);
/// assert_eq!(hub.publish("weather", "rain".into())?, 0);
/// assert_eq!(alice.next().await.as_deref(), Some(&b"headline"[..]));
/// assert_eq!(alice.next().await.as_deref(), Some(&b"score"[..]));
/// // A text hub (the default) refuses bytes that are not text, once.
/// assert!(hub.publish("news", vec![0xff, 0xfe].into()).is_err());
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
    state: Mutex<HubState>,
    delivered: AtomicU64,
    slow_disconnects: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct HubState {
    pub(crate) topics: HashMap<String, HashMap<u64, Arc<Queue>>>,
    /// Each subscriber's topics, to leave them all at once.
    pub(crate) memberships: HashMap<u64, HashSet<String>>,
    next_id: u64,
}

/// One subscriber's queue, as the hub holds it.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) tx: async_channel::Sender<Bytes>,
    pub(crate) bytes: AtomicUsize,
    /// Set when the hub cuts the subscriber off...
    pub(crate) slow: AtomicBool,
    /// ...and then notified. An event takes no memory until listened to,
    /// which only a send racing [`Subscription::cut_off`] does.
    pub(crate) cut: event_listener::Event,
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
    /// An empty hub.
    pub fn new(config: HubConfig) -> Self {
        Self {
            shared: Arc::new(HubShared {
                config,
                state: Mutex::default(),
                delivered: AtomicU64::new(0),
                slow_disconnects: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, HubState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A new subscriber, in no topic yet.
    pub fn subscribe(&self) -> Subscription {
        // Bounded by `queue_messages`, checked in `publish` under the hub's
        // lock; the channel itself grows in small blocks as messages arrive.
        // A bounded channel would allocate all of its slots up front (10 KiB
        // per subscriber at the default 256), idle or not.
        let (tx, rx) = async_channel::unbounded();
        let queue = Arc::new(Queue {
            tx,
            bytes: AtomicUsize::new(0),
            slow: AtomicBool::new(false),
            cut: event_listener::Event::new(),
        });
        let mut state = self.state();
        let id = state.next_id;
        state.next_id += 1;
        state.memberships.insert(id, HashSet::new());
        Subscription::new(id, self.clone(), queue, rx)
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

    /// Queues `msg` for every subscriber of `topic`, without waiting, and
    /// returns how many subscribers it was queued for: each will be sent it
    /// unless it disconnects first. A subscriber whose queue is full is
    /// handled by the [`SlowConsumerPolicy`], and not counted.
    ///
    /// A message the hub does not take ([`check`](Self::check)) is refused
    /// here, for everyone at once, and reaches no one.
    pub fn publish(&self, topic: &str, msg: Bytes) -> Result<usize, PublishError> {
        self.check(&msg)?;
        let config = &self.shared.config;
        let mut state = self.state();
        let Some(subscribers) = state.topics.get(topic) else {
            return Ok(0);
        };
        let mut delivered = 0;
        let mut slow = Vec::new();
        for (id, queue) in subscribers {
            // Publishes hold the hub's lock and the reader only takes
            // messages out, so the queue never exceeds `queue_messages`.
            let fits = queue.bytes.load(Ordering::Acquire) + msg.len() <= config.queue_bytes
                && queue.tx.len() < config.queue_messages;
            if fits && queue.tx.try_send(msg.clone()).is_ok() {
                queue.bytes.fetch_add(msg.len(), Ordering::AcqRel);
                delivered += 1;
            } else if queue.tx.is_closed() {
                slow.push(*id); // gone: the subscription was dropped
            } else {
                match config.slow_consumer {
                    SlowConsumerPolicy::Disconnect => {
                        queue.slow.store(true, Ordering::Release);
                        queue.cut.notify(usize::MAX);
                        self.shared.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                        slow.push(*id);
                    }
                    SlowConsumerPolicy::DropMessages => {
                        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        for id in slow {
            leave_all(&mut state, id);
        }
        self.shared
            .delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
        Ok(delivered)
    }

    /// Subscribers of `topic` now.
    pub fn subscribers(&self, topic: &str) -> usize {
        self.state().topics.get(topic).map_or(0, HashMap::len)
    }

    /// What the hub has done so far.
    pub fn stats(&self) -> HubStats {
        HubStats {
            subscribers: self.state().memberships.len(),
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            slow_disconnects: self.shared.slow_disconnects.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }
}

pub(crate) fn leave_all(state: &mut HubState, id: u64) {
    for topic in state.memberships.remove(&id).unwrap_or_default() {
        if let Some(subscribers) = state.topics.get_mut(&topic) {
            subscribers.remove(&id);
            if subscribers.is_empty() {
                state.topics.remove(&topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::task::Context;

    #[test]
    fn a_full_subscriber_is_cut_off_and_the_others_keep_everything() {
        let hub = Hub::new(HubConfig::default().queue_messages(4));
        let fast = hub.subscribe();
        let slow = hub.subscribe();
        fast.join("t").unwrap();
        slow.join("t").unwrap();
        let mut fast = fast;
        let mut got = Vec::new();
        for i in 0..20u8 {
            let reached = hub.publish("t", Bytes::from(vec![i])).unwrap();
            assert_eq!(reached, if i < 4 { 2 } else { 1 }, "message {i}");
            got.push(futures::executor::block_on(fast.next()).unwrap()[0]);
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
        let sub = hub.subscribe();
        sub.join("t").unwrap();
        let mut waiting = Box::pin(sub.cut_off());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        hub.publish("t", Bytes::from_static(b"fits")).unwrap();
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        hub.publish("t", Bytes::from_static(b"does not fit"))
            .unwrap();
        assert!(waiting.as_mut().poll(&mut cx).is_ready());
        // Asked afterwards, it is ready at once.
        futures::executor::block_on(sub.cut_off());
    }

    #[test]
    fn the_byte_budget_counts_too() {
        let hub = Hub::new(HubConfig::default().queue_bytes(10));
        let sub = hub.subscribe();
        sub.join("t").unwrap();
        assert_eq!(hub.publish("t", Bytes::from(vec![0; 10])), Ok(1));
        assert_eq!(hub.publish("t", Bytes::from(vec![0; 1])), Ok(0));
        assert!(sub.is_cut_off());
    }

    #[test]
    fn a_message_no_subscriber_could_take_is_refused_once_and_cuts_no_one_off() {
        let hub = Hub::new(HubConfig::default().queue_bytes(10).max_message(100));
        let sub = hub.subscribe();
        sub.join("t").unwrap();
        assert_eq!(
            hub.publish("t", Bytes::from(vec![b'a'; 11])),
            Err(PublishError::TooLarge { size: 11, max: 10 })
        );
        assert_eq!(
            hub.publish("t", Bytes::from_static(b"ok \xff")),
            Err(PublishError::NotText { valid_up_to: 3 })
        );
        assert!(!sub.is_cut_off());
        assert_eq!(hub.publish("t", Bytes::from_static(b"ok")), Ok(1));
        let binary = Hub::new(HubConfig::default().text(false));
        assert!(!binary.is_text());
        assert_eq!(binary.publish("t", Bytes::from_static(b"\xff")), Ok(0));
    }

    #[test]
    fn the_drop_policy_keeps_the_subscriber() {
        let config = HubConfig::default()
            .queue_messages(1)
            .slow_consumer(SlowConsumerPolicy::DropMessages);
        let hub = Hub::new(config);
        let sub = hub.subscribe();
        sub.join("t").unwrap();
        assert_eq!(hub.publish("t", "a".into()), Ok(1));
        assert_eq!(hub.publish("t", "b".into()), Ok(0));
        assert!(!sub.is_cut_off());
        assert_eq!(hub.stats().dropped, 1);
    }

    #[test]
    fn topics_per_subscriber_are_bounded_and_dropping_leaves_them() {
        let hub = Hub::new(HubConfig::default().max_topics_per_subscriber(2));
        let sub = hub.subscribe();
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
}
