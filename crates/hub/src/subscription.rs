//! [`Subscription`]: one subscriber's stream of what is published to its
//! topics.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use crate::hub::{leave_all, Queue};
use crate::{Hub, HubError};

/// One subscriber: a [`Stream`] of the messages published to its topics,
/// in order. The stream ends if the hub cuts it off ([`is_cut_off`](Self::is_cut_off)).
/// Dropping it leaves every topic.
#[derive(Debug)]
pub struct Subscription {
    id: u64,
    hub: Hub,
    queue: Arc<Queue>,
    /// Pinned on the heap: the channel's receiver is not `Unpin`.
    messages: Pin<Box<async_channel::Receiver<Bytes>>>,
}

impl Subscription {
    pub(crate) fn new(
        id: u64,
        hub: Hub,
        queue: Arc<Queue>,
        messages: async_channel::Receiver<Bytes>,
    ) -> Self {
        Self {
            id,
            hub,
            queue,
            messages: Box::pin(messages),
        }
    }

    /// The hub this subscriber belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Joins `topic` (joining twice is harmless).
    pub fn join(&self, topic: &str) -> Result<(), HubError> {
        if self.is_cut_off() {
            return Err(HubError::CutOff);
        }
        let max = self.hub.shared.config.max_topics_per_subscriber;
        let mut state = self.hub.state();
        let Some(topics) = state.memberships.get_mut(&self.id) else {
            return Err(HubError::CutOff);
        };
        if !topics.contains(topic) && topics.len() >= max {
            return Err(HubError::TooManyTopics { max });
        }
        topics.insert(topic.to_string());
        state
            .topics
            .entry(topic.to_string())
            .or_default()
            .insert(self.id, self.queue.clone());
        Ok(())
    }

    /// Leaves `topic`.
    pub fn leave(&self, topic: &str) {
        let mut state = self.hub.state();
        if let Some(topics) = state.memberships.get_mut(&self.id) {
            topics.remove(topic);
        }
        if let Some(subscribers) = state.topics.get_mut(topic) {
            subscribers.remove(&self.id);
            if subscribers.is_empty() {
                state.topics.remove(topic);
            }
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
}

impl Stream for Subscription {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        if this.is_cut_off() {
            return Poll::Ready(None);
        }
        let next = this.messages.as_mut().poll_next(cx);
        if let Poll::Ready(Some(msg)) = &next {
            this.queue.bytes.fetch_sub(msg.len(), Ordering::AcqRel);
        }
        next
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.tx.close();
        leave_all(&mut self.hub.state(), self.id);
    }
}
