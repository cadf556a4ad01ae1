//! [`Subscription`]: one subscriber's stream of what is published to its
//! topics, and its resumes.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream};

use crate::hub::{join_topic, leave_all, leave_topic};
use crate::queue::Queue;
use crate::{
    BackplaneError, Delivery, DirectDelivery, Hub, HubError, Numbered, Position, Published,
    Recovery,
};

/// One subscriber: a [`Stream`] of [`Delivery`]s, the messages published
/// to its topics in each topic's order, and the answers to its joins.
/// The stream ends if the hub cuts it off ([`is_cut_off`](Self::is_cut_off)).
/// Dropping it leaves every topic.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::sync::Arc;
/// use futures::StreamExt;
/// use switchyard_hub::{Delivery, HistoryConfig, Hub, HubConfig, MemoryBackplane};
///
/// let backplane = Arc::new(MemoryBackplane::new(HistoryConfig::default()));
/// let hub = Hub::with_backplane(HubConfig::default(), backplane)?;
/// let mut sub = hub.subscribe();
/// sub.join("news")?;
/// let Some(Delivery::Subscribed { position, .. }) = sub.next().await else { panic!() };
/// hub.publish("news", "one".into()).await?;
/// let Some(Delivery::Message(one)) = sub.next().await else { panic!() };
/// drop(sub); // gone for a while...
/// hub.publish("news", "two".into()).await?;
/// hub.publish("news", "three".into()).await?;
///
/// // ...and back, from where it was: exactly what it missed, then live.
/// let mut sub = hub.subscribe();
/// sub.resume("news", one.position())?;
/// let Some(Delivery::Subscribed { recovered: true, .. }) = sub.next().await else { panic!() };
/// for expected in ["two", "three"] {
///     let Some(Delivery::Message(m)) = sub.next().await else { panic!() };
///     assert_eq!(&m.data()[..], expected.as_bytes());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Subscription {
    id: u64,
    hub: Hub,
    queue: Arc<Queue>,
    /// Joins being answered; boxed, as most subscribers have none most of
    /// the time.
    joining: Option<Box<Joining>>,
}

/// What a subscription does while it joins topics.
#[derive(Default)]
struct Joining {
    /// Joins waiting for the backplane, oldest first. The queue is held
    /// until the first is answered: its topic's live messages are in the
    /// queue, and must follow the recovered ones.
    pending: VecDeque<PendingJoin>,
    /// Answers and recovered messages, to yield before the queue.
    ready: VecDeque<Delivery>,
    /// Per topic, the position the subscriber was brought to: queued
    /// messages at or before it were delivered already (recovered) or
    /// come before where it was told it starts.
    delivered_through: Vec<(Arc<str>, Position)>,
}

impl std::fmt::Debug for Joining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joining")
            .field("pending", &self.pending.len())
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

struct PendingJoin {
    topic: Arc<str>,
    since: Option<Position>,
    answer: BoxFuture<'static, Result<Recovery, BackplaneError>>,
}

impl Subscription {
    pub(crate) fn new(id: u64, hub: Hub, queue: Arc<Queue>) -> Self {
        queue.set_may_direct(true);
        Self {
            id,
            hub,
            queue,
            joining: None,
        }
    }

    /// The hub this subscriber belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Joins `topic` from now on. The stream answers with
    /// [`Delivery::Subscribed`] (`recovered: false`, the topic's current
    /// position), then the topic's messages after it; or with
    /// [`Delivery::Refused`] if the backplane cannot carry the topic.
    /// Joining a topic it is in already answers again and delivers nothing
    /// twice.
    pub fn join(&mut self, topic: &str) -> Result<(), HubError> {
        self.start_join(topic, None)
    }

    /// Joins `topic` again after being away, from `since` (the position of
    /// the last message received there). The stream answers with
    /// [`Delivery::Subscribed`]: `recovered: true` and then exactly the
    /// messages published after `since`, in order, then the live ones, with
    /// none missing and none twice; or `recovered: false` and the topic's
    /// current position when the history does not cover the gap (or the
    /// epoch changed), so that the application reloads.
    pub fn resume(&mut self, topic: &str, since: Position) -> Result<(), HubError> {
        self.start_join(topic, Some(since))
    }

    fn start_join(&mut self, topic: &str, since: Option<Position>) -> Result<(), HubError> {
        if self.is_cut_off() {
            return Err(HubError::CutOff);
        }
        let max = self.hub.shared.config.max_topics_per_subscriber;
        let topic = {
            let mut state = self.hub.state();
            let Some(topics) = state.memberships.get_mut(&self.id) else {
                return Err(HubError::CutOff);
            };
            let topic: Arc<str> = match topics.get(topic) {
                Some(joined) => {
                    // Nothing more is delivered directly until the answer.
                    self.queue.set_may_direct(false);
                    joined.clone()
                }
                None if topics.len() >= max => return Err(HubError::TooManyTopics { max }),
                None => {
                    let topic: Arc<str> = topic.into();
                    topics.insert(topic.clone());
                    // Before it is in the topic: no message of it may be
                    // delivered directly ahead of the answer.
                    self.queue.set_may_direct(false);
                    join_topic(&mut state, self.id, &topic, &self.queue);
                    topic
                }
            };
            topic
        };
        // A delivery out with the writers comes back before the answer:
        // at their next drain, brought forward.
        if self.queue.lent() {
            self.hub.shared.writers.press();
        }
        // Joined locally first: the topic's live messages queue up from
        // now, and the backplane's answer says where they start.
        // A topic that flows already (always, in memory) is answered from
        // here: where it is now, not wherever it will be when the stream
        // is next polled.
        let backplane = self.hub.shared.backplane.clone();
        let mut joined = backplane.join(&topic);
        let answer = match (&mut joined).now_or_never() {
            Some(Ok(())) => backplane.since(&topic, since.as_ref()),
            Some(Err(e)) => futures::future::ready(Err(e)).boxed(),
            None => {
                let topic = topic.clone();
                let since = since.clone();
                async move {
                    joined.await?;
                    backplane.since(&topic, since.as_ref()).await
                }
                .boxed()
            }
        };
        self.joining().pending.push_back(PendingJoin {
            topic,
            since,
            answer,
        });
        Ok(())
    }

    /// Leaves `topic`.
    pub fn leave(&mut self, topic: &str) {
        let emptied = {
            let mut state = self.hub.state();
            if let Some(topics) = state.memberships.get_mut(&self.id) {
                topics.remove(topic);
            }
            leave_topic(&mut state, self.id, topic)
        };
        if emptied {
            self.hub.shared.backplane.leave(topic);
        }
    }

    /// Whether the hub dropped this subscriber for being slow.
    pub fn is_cut_off(&self) -> bool {
        self.queue.slow.load(Ordering::Acquire)
    }

    /// Resolves when the hub cuts this subscriber off (never, otherwise):
    /// race it against a blocked send to stop waiting on a stuck client.
    pub fn cut_off(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let queue = self.queue.clone();
        async move {
            loop {
                if queue.slow.load(Ordering::Acquire) {
                    return;
                }
                let listener = queue.cut.listen();
                // Checked again: a cut between the first check and `listen`
                // notified no one.
                if queue.slow.load(Ordering::Acquire) {
                    return;
                }
                listener.await;
            }
        }
    }

    /// A handle through which this subscriber's task lets the hub deliver
    /// to it without the task ([`DirectHandle`]).
    pub fn direct_handle(&self) -> DirectHandle {
        DirectHandle(self.queue.clone())
    }

    /// The join bookkeeping, made if there is none: while it exists,
    /// nothing is delivered directly (a join's answer and recovered
    /// messages come first, and queued ones are checked against them).
    fn joining(&mut self) -> &mut Joining {
        self.queue.set_may_direct(false);
        self.joining.get_or_insert_with(Box::default)
    }

    /// Whether this subscriber is (still) in `topic`.
    fn is_in(&self, topic: &str) -> bool {
        self.hub
            .state()
            .memberships
            .get(&self.id)
            .is_some_and(|topics| topics.contains(topic))
    }

    /// Turns the backplane's answer to a join into what the subscriber is
    /// given: the answer, then any recovered messages.
    fn answered(&mut self, join: PendingJoin, answer: Result<Recovery, BackplaneError>) {
        if !self.is_in(&join.topic) {
            return; // left meanwhile: the answer is no one's
        }
        let topic = join.topic;
        let (recovered, position, missed) = match (answer, join.since) {
            (Ok(Recovery::Recovered(missed)), Some(since)) => (true, since, missed),
            (Ok(Recovery::NotRecovered { current }), _) => (false, current, Vec::new()),
            // Asked for no position, a backplane answers with the current
            // one; messages instead say where the topic is, at least.
            (Ok(Recovery::Recovered(missed)), None) => match missed.last() {
                Some(last) => (false, last.position(), Vec::new()),
                None => {
                    self.refuse(topic, "the backplane gave no position".into());
                    return;
                }
            },
            (Err(e), _) => {
                self.refuse(topic, e.to_string());
                return;
            }
        };
        let through = missed.last().map_or(position.clone(), Numbered::position);
        // Messages of this topic the hub had already lent out for direct
        // delivery when the join began went out before this answer: they
        // are not sent again among the recovered ones.
        let mut missed = missed;
        let sent = self.queue.take_delivered_while_joining(&topic);
        if !sent.is_empty() {
            missed.retain(|m| {
                !sent
                    .iter()
                    .any(|s| m.epoch == *s.epoch() && m.offset == s.offset())
            });
        }
        let joining = self.joining();
        joining.ready.push_back(Delivery::Subscribed {
            topic: topic.clone(),
            recovered,
            position,
        });
        joining.ready.extend(
            missed
                .into_iter()
                .map(|m| Delivery::Message(Published::new(topic.clone(), m))),
        );
        joining.delivered_through.retain(|(t, _)| *t != topic);
        joining.delivered_through.push((topic, through));
    }

    /// Leaves `topic`, and tells the subscriber why.
    fn refuse(&mut self, topic: Arc<str>, reason: String) {
        self.leave(&topic);
        let joining = self.joining();
        joining.ready.push_back(Delivery::Refused { topic, reason });
    }

    /// Whether a queued delivery was already given (or comes before where
    /// the subscriber was told it starts): dropped if so.
    fn already_delivered(&mut self, delivery: &Delivery) -> bool {
        let Some(joining) = self.joining.as_mut() else {
            return false;
        };
        let (topic, offset, epoch) = match delivery {
            Delivery::Message(m) => (m.topic(), m.offset(), m.epoch()),
            Delivery::Subscribed { topic, .. } | Delivery::Refused { topic, .. } => {
                // The topic starts again: what was said before no longer counts.
                joining.delivered_through.retain(|(t, _)| t != topic);
                return false;
            }
        };
        let Some(i) = joining
            .delivered_through
            .iter()
            .position(|(t, _)| &**t == topic)
        else {
            return false;
        };
        let through = &joining.delivered_through[i].1;
        if through.epoch == *epoch && offset <= through.offset {
            return true;
        }
        // Past it: nothing queued later can be at or before it.
        joining.delivered_through.swap_remove(i);
        false
    }

    /// Drops the join bookkeeping once nothing is left in it, and the
    /// buffers of its queues once they are empty: an idle subscriber keeps
    /// only where each topic it joined was brought to, until that topic's
    /// next message (its answer and recovered messages had grown the
    /// queues, for some 600 bytes per idle connection).
    fn tidy(&mut self) {
        let Some(joining) = self.joining.as_mut() else {
            return;
        };
        if !joining.pending.is_empty() || !joining.ready.is_empty() {
            return;
        }
        if joining.delivered_through.is_empty() {
            self.joining = None;
            self.queue.set_may_direct(true);
            return;
        }
        if joining.ready.capacity() > 0 || joining.pending.capacity() > 0 {
            joining.ready = VecDeque::new();
            joining.pending = VecDeque::new();
            joining.delivered_through.shrink_to_fit();
        }
    }
}

/// Lets the hub deliver messages to a [`Subscription`] without its task:
/// through a [`DirectDelivery`] given with [`set`](Self::set), whenever the
/// task has said it is idle ([`arm`](Self::arm)): the hub's writer threads
/// then hand the next message to it, and whatever comes meanwhile all
/// at once, at most every [`HubConfig::drain_interval`](crate::HubConfig::drain_interval),
/// until nothing more comes. Whatever it declines stays unread, for the
/// stream, in order, and the task is woken. Not while a join
/// is answered, nor for a topic's first message after one (checked
/// against where the join said the subscriber starts): those come through
/// the stream.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use futures::StreamExt;
/// use switchyard_hub::{Direct, DirectDelivery, Hub, HubConfig, Published};
///
/// /// Takes everything, as a connection with room in its socket would.
/// struct Collect(Arc<Mutex<Vec<String>>>);
/// impl DirectDelivery for Collect {
///     fn deliver(&mut self, msg: &Published) -> Direct {
///         self.0.lock().unwrap().push(String::from_utf8_lossy(msg.data()).into());
///         Direct::Delivered
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let hub = Hub::new(HubConfig::default());
/// let got = Arc::new(Mutex::new(Vec::new()));
/// let mut sub = hub.subscribe();
/// sub.join("news")?;
/// let direct = sub.direct_handle();
/// direct.set(Box::new(Collect(got.clone())));
/// // The join's answer, and the topic's first message after it, come
/// // through the stream.
/// let _answer = sub.next().await;
/// assert!(!direct.arm());
/// hub.publish("news", "first".into()).await?;
/// let _first = sub.next().await;
/// assert!(futures::poll!(sub.next()).is_pending());
/// // The task has nothing in flight: it says so.
/// assert!(direct.arm());
/// hub.publish("news", "hello".into()).await?;
/// // A writer thread delivers it, without the stream.
/// for _ in 0..2000 {
///     if !got.lock().unwrap().is_empty() {
///         break;
///     }
///     std::thread::sleep(std::time::Duration::from_millis(1));
/// }
/// assert_eq!(*got.lock().unwrap(), ["hello"]);
/// assert!(futures::poll!(sub.next()).is_pending());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct DirectHandle(Arc<Queue>);

impl DirectHandle {
    /// How the subscriber takes a message without its task (replacing
    /// any given before). It is called on one of the hub's writer
    /// threads, never while the hub holds a lock, and must not wait.
    pub fn set(&self, direct: Box<dyn DirectDelivery>) {
        self.0.set_direct(direct);
    }

    /// Whether [`arm`](Self::arm) would arm now were a [`DirectDelivery`]
    /// set: no join is being answered and nothing is unread. A task that
    /// makes its delivery only when it can be used asks this first.
    pub fn may_arm(&self) -> bool {
        self.0.may_arm()
    }

    /// The task has taken everything from the subscription that it will
    /// send, and sent it (nothing is on its way to the connection): the
    /// next message may be delivered without it. Armed only if a
    /// [`DirectDelivery`] was [`set`](Self::set), nothing is unread and no
    /// join is being answered; returns whether it was. A message the hub
    /// then delivers directly goes out before anything the task sends
    /// later, so the task must not have one in hand.
    pub fn arm(&self) -> bool {
        self.0.arm()
    }
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let this = self.get_mut();
        if this.is_cut_off() {
            return Poll::Ready(None);
        }
        match this.poll_deliveries(cx) {
            // Cut off while it looked: the hub sets the flag before it
            // wakes the task, which may not have been waiting yet.
            Poll::Pending if this.is_cut_off() => Poll::Ready(None),
            polled => polled,
        }
    }
}

impl Subscription {
    /// The next answer, recovered message or message, in that order.
    fn poll_deliveries(&mut self, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let this = self;
        loop {
            if let Some(joining) = this.joining.as_mut() {
                if let Some(ready) = joining.ready.pop_front() {
                    return Poll::Ready(Some(ready));
                }
                if let Some(join) = joining.pending.front_mut() {
                    // A message out for direct delivery when the join began
                    // comes back first (it may have gone out already).
                    if this.queue.is_lent(cx) {
                        return Poll::Pending;
                    }
                    let Poll::Ready(answer) = join.answer.poll_unpin(cx) else {
                        return Poll::Pending;
                    };
                    if let Some(join) = joining.pending.pop_front() {
                        this.answered(join, answer);
                    }
                    if this.joining.as_ref().is_none_or(|j| j.pending.is_empty()) {
                        // What went out directly as the joins began was
                        // left out of their answers: no join is left.
                        this.queue.forget_delivered_while_joining();
                    }
                    continue;
                }
            }
            let Poll::Ready(delivery) = this.queue.poll_take(cx) else {
                this.tidy();
                return Poll::Pending;
            };
            if !this.already_delivered(&delivery) {
                this.tidy();
                return Poll::Ready(Some(delivery));
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.close();
        let emptied = leave_all(&mut self.hub.state(), self.id);
        for topic in emptied {
            self.hub.shared.backplane.leave(&topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::{Hub, HubConfig};

    /// A subscriber that joined and then heard nothing keeps no buffers
    /// from its join: only where the topic was brought to, until its next
    /// message.
    #[test]
    fn an_idle_subscriber_keeps_no_join_buffers() {
        futures::executor::block_on(async {
            let hub = Hub::new(HubConfig::default());
            let mut sub = hub.subscribe();
            sub.join("news").unwrap();
            let answer = sub.next().await;
            assert!(
                matches!(answer, Some(Delivery::Subscribed { .. })),
                "{answer:?}"
            );
            assert!(futures::poll!(sub.next()).is_pending());
            let joining = sub.joining.as_ref();
            let (ready, pending) =
                joining.map_or((0, 0), |j| (j.ready.capacity(), j.pending.capacity()));
            assert_eq!((ready, pending), (0, 0));

            // The next message of the topic ends the bookkeeping entirely.
            hub.publish("news", bytes::Bytes::from_static(b"hello"))
                .await
                .unwrap();
            assert!(matches!(sub.next().await, Some(Delivery::Message(_))));
            assert!(futures::poll!(sub.next()).is_pending());
            assert!(sub.joining.is_none());
        });
    }
}
