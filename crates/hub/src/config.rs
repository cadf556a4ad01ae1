//! [`HubConfig`]: a hub's limits, and [`SlowConsumerPolicy`].

use std::time::Duration;

/// What happens to a subscriber that falls too far behind a topic
/// ([`HubConfig::queue_messages`], [`HubConfig::queue_bytes`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowConsumerPolicy {
    /// Drop the subscriber: its stream ends, and its connection is closed
    /// (a WebSocket subscriber's with 1008 "slow consumer").
    /// The default: a consumer that cannot keep up would otherwise see a
    /// stream with holes in it.
    #[default]
    Disconnect,
    /// Keep the subscriber, and drop its oldest unread messages, as a ring
    /// buffer does: it goes on with the newest. Each dropped is counted in
    /// [`HubStats::dropped`](crate::HubStats::dropped) (one that a direct
    /// write already under way delivers all the same is counted too). A
    /// topic's restart notice ([`Delivery::Subscribed`](crate::Delivery::Subscribed)
    /// after a gap the backplane could not fill) is never dropped: a
    /// subscriber that would lose it is cut off instead.
    DropMessages,
}

/// Limits of a [`Hub`](crate::Hub), and what its messages are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubConfig {
    /// Every message is UTF-8 text. Default true: what the push and chat
    /// pages read as strings. [`Hub::publish`](crate::Hub::publish) refuses anything else, once,
    /// instead of every subscriber's connection refusing it; subscribers
    /// are sent text messages (switchyard-push's `run_subscriber`).
    /// Off: any bytes, sent as binary messages.
    pub text: bool,
    /// The largest message. Default 1 MiB, the WebSocket server's own
    /// default message limit, so that what is published can be sent to every
    /// subscriber. Larger is refused by [`Hub::publish`](crate::Hub::publish); so is anything
    /// over [`queue_bytes`](Self::queue_bytes), which could never be queued.
    pub max_message: usize,
    /// How many messages a subscriber may be behind in a topic: its unread
    /// ones. Default 256. A topic's messages are kept once for all its
    /// subscribers, back to the slowest one's position, so this bounds
    /// what each topic holds; an idle topic holds nothing. (A subscriber's
    /// task also reads a few ahead, up to 32 or 64 KiB, which this does
    /// not count.)
    pub queue_messages: usize,
    /// How many bytes of messages a subscriber may be behind in a topic.
    /// Default 1 MiB: with the message limit, at most this much is held
    /// in a topic for its slowest client.
    pub queue_bytes: usize,
    /// What to do with a subscriber that falls further behind.
    pub slow_consumer: SlowConsumerPolicy,
    /// Topics one subscriber may hold. Default 64.
    pub max_topics_per_subscriber: usize,
    /// How often, at most, the hub's writer threads write what was
    /// published for the subscribers they deliver to directly while they
    /// were writing ([`DirectHandle`](crate::DirectHandle)): each such
    /// subscriber gets all of it in one write (up to 128 messages or
    /// 256 KiB; more in the next drain, at once). Sooner when one of them
    /// is a quarter of the limits behind in a topic, so that the interval
    /// never makes a subscriber that keeps up a slow consumer. Default 10 ms; at most 1 s (longer is
    /// taken as 1 s). A busy topic's messages wait up to this long, and in
    /// exchange each write carries several: at 1,000 messages a second to
    /// 1,000 subscribers, 10 a write instead of one, where a write costs
    /// the server several times what framing a message does. Zero writes
    /// as soon as a writer is free. Only subscribers delivered to directly
    /// are concerned.
    pub drain_interval: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            text: true,
            max_message: 1 << 20,
            queue_messages: 256,
            queue_bytes: 1 << 20,
            slow_consumer: SlowConsumerPolicy::Disconnect,
            max_topics_per_subscriber: 64,
            drain_interval: Duration::from_millis(10),
        }
    }
}

impl HubConfig {
    /// Sets [`text`](Self::text).
    pub fn text(mut self, text: bool) -> Self {
        self.text = text;
        self
    }

    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`queue_messages`](Self::queue_messages) (at least 1).
    pub fn queue_messages(mut self, messages: usize) -> Self {
        self.queue_messages = messages.max(1);
        self
    }

    /// Sets [`queue_bytes`](Self::queue_bytes).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// Sets [`slow_consumer`](Self::slow_consumer).
    pub fn slow_consumer(mut self, policy: SlowConsumerPolicy) -> Self {
        self.slow_consumer = policy;
        self
    }

    /// Sets [`max_topics_per_subscriber`](Self::max_topics_per_subscriber).
    pub fn max_topics_per_subscriber(mut self, max: usize) -> Self {
        self.max_topics_per_subscriber = max;
        self
    }

    /// Sets [`drain_interval`](Self::drain_interval).
    pub fn drain_interval(mut self, interval: Duration) -> Self {
        self.drain_interval = interval;
        self
    }
}
