//! [`MemoryBackplane`]: topics numbered in this process, with an optional
//! history; a hub's default backplane.

use std::collections::{HashMap, VecDeque};
#[cfg(test)]
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::{ready, BoxFuture};
use futures::FutureExt;

use crate::{
    Backplane, BackplaneError, BackplaneStatus, Epoch, HistoryConfig, HubInbox, Position,
    PublishReceipt, Recovery, Sequenced, TopicHistory,
};

/// How many publish keys ([`Hub::publish_once`](crate::Hub::publish_once))
/// a [`MemoryBackplane`] remembers, and for how long: a retry comes within
/// seconds, and each key is a few dozen bytes.
const KEYS_KEPT: usize = 10_000;
const KEYS_TTL: Duration = Duration::from_secs(300);

/// A backplane for a hub that lives in one process: it numbers each topic's
/// messages, keeps their history if asked to ([`HistoryConfig`]), and
/// delivers them to its hub before a publish returns.
///
/// [`Hub::new`](crate::Hub::new) uses one without history (offsets only);
/// with history, a subscriber that reconnects within the history's window
/// [`resume`](crate::Subscription::resume)s without loss.
///
/// A topic is kept while its hub has subscribers of it or its history holds
/// messages; forgotten after that, its offsets start again under a new
/// epoch. At most [`HistoryConfig::max_topics`] topics keep history: past
/// that, the topics without subscribers published to longest ago are
/// forgotten first. Topics with subscribers are never forgotten, so there
/// can be more; then the limit is checked again once there are a quarter
/// more of them.
#[derive(Debug)]
pub struct MemoryBackplane {
    config: HistoryConfig,
    inbox: OnceLock<HubInbox>,
    state: Mutex<State>,
    /// Topics the hub left, to forget (if unused) the next time `state`
    /// is taken: the hub may leave a topic while a publish here holds
    /// `state` (a slow subscriber cut off by that very publish).
    left: Mutex<Vec<String>>,
}

#[derive(Debug, Default)]
struct State {
    topics: HashMap<String, TopicHistory>,
    /// Topics made so far: part of each new topic's epoch.
    made: u64,
    /// This backplane's own part of every epoch.
    run: Option<Epoch>,
    keys: Keys,
    /// Topics there must be before room is looked for again, after a look
    /// that found every topic needed (see [`MemoryBackplane::topic`]).
    next_look: usize,
}

/// Recent publish keys, oldest first.
#[derive(Debug, Default)]
struct Keys {
    receipts: HashMap<String, PublishReceipt>,
    order: VecDeque<(Instant, String)>,
}

impl Keys {
    fn get(&mut self, key: &str, now: Instant) -> Option<PublishReceipt> {
        while let Some((at, _)) = self.order.front() {
            if self.order.len() <= KEYS_KEPT && now.saturating_duration_since(*at) < KEYS_TTL {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.receipts.remove(&old);
            }
        }
        self.receipts.get(key).cloned()
    }

    fn insert(&mut self, key: &str, receipt: PublishReceipt, now: Instant) {
        self.receipts.insert(key.to_string(), receipt);
        self.order.push_back((now, key.to_string()));
    }
}

impl Default for MemoryBackplane {
    /// No history ([`HistoryConfig::off`]).
    fn default() -> Self {
        Self::new(HistoryConfig::off())
    }
}

impl MemoryBackplane {
    /// A backplane that keeps history as `config` says.
    pub fn new(config: HistoryConfig) -> Self {
        Self {
            config,
            inbox: OnceLock::new(),
            state: Mutex::default(),
            left: Mutex::default(),
        }
    }

    /// The state, with the topics the hub left since last time forgotten
    /// if unused.
    fn state(&self, inbox: &HubInbox, now: Instant) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let left = std::mem::take(&mut *self.left.lock().unwrap_or_else(PoisonError::into_inner));
        for topic in left {
            self.forget_if_unused(&mut state, inbox, &topic, now);
        }
        state
    }

    fn inbox(&self) -> Result<&HubInbox, BackplaneError> {
        self.inbox.get().ok_or(BackplaneError::Detached)
    }

    /// Publishes now: numbers, keeps, and delivers, under one lock so that
    /// the topic's order is the same in its history and in every queue.
    fn publish_now(
        &self,
        topic: &str,
        data: Bytes,
        key: Option<&str>,
    ) -> Result<PublishReceipt, BackplaneError> {
        let inbox = self.inbox()?;
        let now = Instant::now();
        let mut state = self.state(inbox, now);
        if let Some(key) = key {
            if let Some(first) = state.keys.get(key, now) {
                return Ok(PublishReceipt {
                    duplicate: true,
                    ..first
                });
            }
        }
        let history = self.topic(&mut state, inbox, topic, now);
        let msg = history.append(data, now);
        let position = msg.position();
        let sequenced = inbox.deliver(topic, msg);
        let delivered = match sequenced {
            Sequenced::Delivered(n) => n,
            _ => 0,
        };
        let receipt = PublishReceipt {
            position,
            delivered: crate::Delivered::Queued(delivered),
            duplicate: false,
        };
        if let Some(key) = key {
            state.keys.insert(key, receipt.clone(), now);
        }
        // The delivery said whether the hub has subscribers of the topic:
        // no second look at the hub on every publish.
        if sequenced == Sequenced::NotJoined {
            forget_if_empty(&mut state, topic, now);
        }
        Ok(receipt)
    }

    /// `topic`'s history, made (with a new epoch) if it has none.
    fn topic<'s>(
        &self,
        state: &'s mut State,
        inbox: &HubInbox,
        topic: &str,
        now: Instant,
    ) -> &'s mut TopicHistory {
        let count = state.topics.len();
        if !state.topics.contains_key(topic)
            && count >= self.config.max_topics
            && count >= state.next_look
        {
            self.make_room(state, inbox, now);
            // Looking visits every topic. When all were needed (each has
            // subscribers: chat rooms with members), the next look waits
            // until there are a quarter more, not the next new topic:
            // otherwise each join of a new room past the limit cost a visit
            // to all of them (10,000 chat rooms opened at 430 a second).
            let count = state.topics.len();
            state.next_look = if count >= self.config.max_topics {
                count + count / 4 + 1
            } else {
                0
            };
        }
        let State {
            topics, made, run, ..
        } = state;
        topics.entry(topic.to_string()).or_insert_with(|| {
            *made += 1;
            let run = run.get_or_insert_with(Epoch::fresh);
            TopicHistory::new(Epoch::new(format!("{run}-{made}")), self.config)
        })
    }

    /// Forgets `topic` if nothing needs it: no subscriber here, no message
    /// kept.
    fn forget_if_unused(&self, state: &mut State, inbox: &HubInbox, topic: &str, now: Instant) {
        if !inbox.is_joined(topic) {
            forget_if_empty(state, topic, now);
        }
    }

    /// Forgets expired topics without subscribers; if that is not enough,
    /// those published to longest ago.
    fn make_room(&self, state: &mut State, inbox: &HubInbox, now: Instant) {
        let joined: std::collections::HashSet<_> =
            inbox.topics().into_iter().map(|(t, _)| t).collect();
        state.topics.retain(|name, history| {
            history.expire(now);
            !history.is_empty() || joined.contains(name.as_str())
        });
        let over = (state.topics.len() + 1).saturating_sub(self.config.max_topics);
        if over > 0 {
            let mut idle: Vec<_> = state
                .topics
                .iter()
                .filter(|(name, _)| !joined.contains(name.as_str()))
                .map(|(name, history)| (history.newest(), name.clone()))
                .collect();
            idle.sort();
            for (_, name) in idle.into_iter().take(over) {
                state.topics.remove(&name);
            }
        }
    }
}

/// Forgets `topic`, which no subscriber here needs, if it keeps no message.
fn forget_if_empty(state: &mut State, topic: &str, now: Instant) {
    let empty = state.topics.get_mut(topic).is_some_and(|history| {
        history.expire(now);
        history.is_empty()
    });
    if empty {
        state.topics.remove(topic);
    }
}

impl Backplane for MemoryBackplane {
    fn attach(&self, inbox: HubInbox) -> Result<(), BackplaneError> {
        self.inbox
            .set(inbox)
            .map_err(|_| BackplaneError::AlreadyAttached)
    }

    fn publish(
        &self,
        topic: &str,
        data: Bytes,
        key: Option<&str>,
    ) -> BoxFuture<'static, Result<PublishReceipt, BackplaneError>> {
        ready(self.publish_now(topic, data, key)).boxed()
    }

    fn join(&self, _topic: &str) -> BoxFuture<'static, Result<(), BackplaneError>> {
        // Every publish here is delivered to the hub as it is made, in
        // order: a topic flows as soon as the hub has a subscriber of it.
        ready(self.inbox().map(|_| ())).boxed()
    }

    fn leave(&self, topic: &str) {
        self.left
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(topic.to_string());
    }

    fn since(
        &self,
        topic: &str,
        position: Option<&Position>,
    ) -> BoxFuture<'static, Result<Recovery, BackplaneError>> {
        let answer = self.inbox().map(|inbox| {
            let now = Instant::now();
            let mut state = self.state(inbox, now);
            let history = self.topic(&mut state, inbox, topic, now);
            match position {
                Some(position) => history.since(position, now),
                None => Recovery::NotRecovered {
                    current: history.position(),
                },
            }
        });
        ready(answer).boxed()
    }

    fn status(&self) -> BackplaneStatus {
        BackplaneStatus::Up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn a_topic_nobody_needs_is_forgotten_and_starts_again_in_a_new_epoch() {
        let backplane = Arc::new(MemoryBackplane::default());
        let hub =
            crate::Hub::with_backplane(crate::HubConfig::default(), backplane.clone()).unwrap();
        let first = block_on(hub.publish("t", "a".into())).unwrap();
        let second = block_on(hub.publish("t", "b".into())).unwrap();
        // No history and no subscriber: each publish is a topic of its own.
        assert_eq!((first.position.offset, second.position.offset), (1, 1));
        assert_ne!(first.position.epoch, second.position.epoch);
        assert!(backplane.state.lock().unwrap().topics.is_empty());
        // A subscriber keeps the topic, and its numbering, alive.
        let mut sub = hub.subscribe();
        sub.join("t").unwrap();
        let third = block_on(hub.publish("t", "c".into())).unwrap();
        let fourth = block_on(hub.publish("t", "d".into())).unwrap();
        assert_eq!((third.position.offset, fourth.position.offset), (1, 2));
        assert_eq!(third.position.epoch, fourth.position.epoch);
        drop(sub);
        // Forgotten at the next call after the hub left it.
        let _ = block_on(hub.publish("other", "x".into()));
        assert!(backplane.state.lock().unwrap().topics.is_empty());
    }

    #[test]
    fn topics_with_history_are_bounded_oldest_idle_first_never_a_joined_one() {
        let history = HistoryConfig::default().max_topics(2);
        let backplane = Arc::new(MemoryBackplane::new(history));
        let hub =
            crate::Hub::with_backplane(crate::HubConfig::default(), backplane.clone()).unwrap();
        let mut sub = hub.subscribe();
        sub.join("joined").unwrap();
        let kept = |b: &MemoryBackplane| {
            let mut names: Vec<String> = b.state.lock().unwrap().topics.keys().cloned().collect();
            names.sort();
            names
        };
        block_on(hub.publish("joined", "j".into())).unwrap();
        block_on(hub.publish("old", "o".into())).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        // A third topic: the idle one published to longest ago goes.
        block_on(hub.publish("new", "n".into())).unwrap();
        assert_eq!(kept(&backplane), ["joined", "new"]);
        block_on(hub.publish("newer", "n".into())).unwrap();
        assert_eq!(kept(&backplane), ["joined", "newer"]);
        // What was forgotten starts again under a new epoch.
        let again = block_on(hub.publish("old", "o".into())).unwrap();
        assert_eq!(again.position.offset, 1);
    }

    #[test]
    fn when_every_topic_is_joined_room_is_not_looked_for_at_each_new_one() {
        use futures::StreamExt;
        let history = HistoryConfig::default().max_topics(4);
        let backplane = Arc::new(MemoryBackplane::new(history));
        let hub = crate::Hub::with_backplane(
            crate::HubConfig::default().max_topics_per_subscriber(64),
            backplane.clone(),
        )
        .unwrap();
        let mut sub = hub.subscribe();
        let mut looks = 0;
        let mut next_look = 0;
        for i in 0..60 {
            sub.join(&format!("room-{i}")).unwrap();
            let _ = block_on(sub.next());
            let state = backplane.state.lock().unwrap();
            if state.next_look != next_look {
                looks += 1;
                next_look = state.next_look;
            }
        }
        let state = backplane.state.lock().unwrap();
        // Every room is kept (each is joined), and room was looked for a
        // few times as their number grew by a quarter, not 56 times.
        assert_eq!(state.topics.len(), 60);
        assert!((5..=12).contains(&looks), "{looks} looks");
        assert!(state.next_look > 60);
    }

    #[test]
    fn publish_keys_are_remembered_and_each_used_once() {
        let backplane = Arc::new(MemoryBackplane::default());
        let hub = crate::Hub::with_backplane(crate::HubConfig::default(), backplane).unwrap();
        let mut sub = hub.subscribe();
        sub.join("t").unwrap();
        let first = block_on(hub.publish_once("t", "a".into(), "k1")).unwrap();
        let again = block_on(hub.publish_once("t", "other".into(), "k1")).unwrap();
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(again.position, first.position);
        let second = block_on(hub.publish_once("t", "b".into(), "k2")).unwrap();
        assert_eq!(second.position.offset, 2);
    }
}
