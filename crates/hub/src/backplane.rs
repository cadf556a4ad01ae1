//! [`Backplane`]: what carries a hub's topics between the servers that share
//! them, and numbers their messages; [`HubInbox`], how it hands messages to
//! its hub.
//!
//! A [`Hub`](crate::Hub) fans messages out to its own subscribers; its
//! backplane decides what a topic's messages are. The default,
//! [`MemoryBackplane`](crate::MemoryBackplane), numbers them in this
//! process. A shared one (switchyard-redis) numbers them in one place for
//! every server, and delivers each to every server whose hub has
//! subscribers of the topic: that is what lets a push on one server reach
//! pages on another, and a subscriber that comes back on another server
//! resume where it was.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::hub::HubShared;
use crate::{Numbered, Position, Recovery};

/// A hub's backplane: runtime-neutral (every call returns a future the
/// caller drives, or does nothing that waits), shared by one [`Hub`](crate::Hub).
pub trait Backplane: Send + Sync + std::fmt::Debug + 'static {
    /// Called once, by [`Hub::with_backplane`](crate::Hub::with_backplane):
    /// from now on, the messages of the topics this hub's subscribers are in
    /// go to `inbox`. A backplane serves one hub: a second call is
    /// [`BackplaneError::AlreadyAttached`].
    fn attach(&self, inbox: HubInbox) -> Result<(), BackplaneError>;

    /// Publishes `data` to `topic`: numbers it and delivers it to every hub
    /// with subscribers of the topic (this one too, through its inbox).
    /// With a `key`, a publish whose key was already used (recently: how
    /// long is the backplane's to say) is not published again: the receipt
    /// is the first one's, marked [`duplicate`](PublishReceipt::duplicate).
    fn publish(
        &self,
        topic: &str,
        data: Bytes,
        key: Option<&str>,
    ) -> BoxFuture<'static, Result<PublishReceipt, BackplaneError>>;

    /// Makes sure this hub receives `topic`'s messages: resolves once it
    /// does (after [`HubInbox::start`] for the topic), or with why not.
    /// The hub calls it for every subscribe; it is cheap when the topic
    /// already flows.
    fn join(&self, topic: &str) -> BoxFuture<'static, Result<(), BackplaneError>>;

    /// This hub has no subscriber of `topic` left: its messages may stop
    /// coming. Must not wait, nor call back into the hub.
    fn leave(&self, topic: &str);

    /// What followed `position` in `topic` ([`Recovery::Recovered`]: every
    /// message after it, in order), or the topic's current position
    /// ([`Recovery::NotRecovered`]) when the history does not cover the gap,
    /// or when no position is given.
    fn since(
        &self,
        topic: &str,
        position: Option<&Position>,
    ) -> BoxFuture<'static, Result<Recovery, BackplaneError>>;

    /// Whether it is working now.
    fn status(&self) -> BackplaneStatus;
}

/// Whether a backplane works now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackplaneStatus {
    /// Publishing and delivering.
    Up,
    /// Cut off from what it shares topics through; publishes fail, and
    /// this hub's subscribers wait (they are caught up, or told they were
    /// not, when it is back).
    Down {
        /// Why, for logs and error replies.
        reason: String,
    },
}

/// Whom a published message reached by the time the publish was answered.
///
/// ```
/// use switchyard_hub::Delivered;
///
/// assert_eq!(Delivered::Queued(1).to_string(), "queued for 1 subscriber");
/// assert_eq!(Delivered::Queued(3).count(), Some(3));
/// assert_eq!(Delivered::Later.count(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivered {
    /// Queued for this many subscribers of this hub: what a backplane that
    /// delivers before answering says ([`MemoryBackplane`](crate::MemoryBackplane)).
    Queued(usize),
    /// Delivery follows on its own, through the backplane: across servers
    /// nobody knows the total when the publish is answered.
    Later,
}

impl Delivered {
    /// How many subscribers it was queued for, when that is known.
    pub fn count(self) -> Option<usize> {
        match self {
            Delivered::Queued(n) => Some(n),
            Delivered::Later => None,
        }
    }
}

impl std::fmt::Display for Delivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delivered::Queued(1) => f.write_str("queued for 1 subscriber"),
            Delivered::Queued(n) => write!(f, "queued for {n} subscribers"),
            Delivered::Later => f.write_str("handed to the backplane, which delivers it"),
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishReceipt {
    /// The message's place in its topic.
    pub position: Position,
    /// Whom it reached by the time the publish was answered.
    pub delivered: Delivered,
    /// The key was used before: this is that publish's receipt, and nothing
    /// was published now.
    pub duplicate: bool,
}

impl PublishReceipt {
    /// The receipt of a publish now at `position`: what a backplane whose
    /// delivery follows on its own answers ([`Delivered::Later`]).
    pub fn new(position: Position, duplicate: bool) -> Self {
        Self {
            position,
            delivered: Delivered::Later,
            duplicate,
        }
    }
}

/// Why a backplane could not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackplaneError {
    /// It is cut off from what it shares topics through.
    #[error("backplane unavailable: {reason}")]
    Down {
        /// Why.
        reason: String,
    },
    /// What it shares topics through refused or failed the request.
    #[error("backplane request failed: {reason}")]
    Failed {
        /// Why.
        reason: String,
    },
    /// [`Backplane::attach`] was called a second time.
    #[error("this backplane already serves a hub")]
    AlreadyAttached,
    /// Its hub is gone (or it was never attached to one).
    #[error("this backplane serves no hub")]
    Detached,
}

/// What [`HubInbox::deliver`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sequenced {
    /// Queued for this many of the hub's subscribers.
    Delivered(usize),
    /// At or before the topic's position here: already delivered, dropped.
    Duplicate,
    /// Not the next one: messages after `after` are missing here. Nothing
    /// was delivered; deliver what followed `after` first (from
    /// [`Backplane::since`]), then this message again, or call
    /// [`HubInbox::reset`] when the history does not cover the gap.
    Gap {
        /// The topic's position here.
        after: Position,
    },
    /// The hub has no subscriber of the topic: dropped.
    NotJoined,
}

/// A backplane's handle on its hub: where it delivers messages, in each
/// topic's order. It does not keep the hub alive.
#[derive(Debug, Clone)]
pub struct HubInbox {
    pub(crate) hub: Weak<HubShared>,
}

impl HubInbox {
    /// Delivers `msg`, published to `topic`, to the hub's subscribers of
    /// the topic, if it is the topic's next message here (the offset after
    /// the last one, in the same epoch; the first message of a topic that
    /// has not been [`start`](Self::start)ed is taken as it comes).
    pub fn deliver(&self, topic: &str, msg: Numbered) -> Sequenced {
        match self.hub.upgrade() {
            Some(hub) => hub.deliver(topic, msg),
            None => Sequenced::NotJoined,
        }
    }

    /// The hub receives `topic`'s messages from after `position` on (unless
    /// it already had a position there).
    pub fn start(&self, topic: &str, position: Position) {
        if let Some(hub) = self.hub.upgrade() {
            hub.start(topic, position);
        }
    }

    /// Messages of `topic` were lost here and cannot be recovered: every
    /// subscriber of the topic is told ([`Delivery::Subscribed`](crate::Delivery::Subscribed)
    /// with `recovered: false`), and the topic goes on from `current`.
    pub fn reset(&self, topic: &str, current: Position) {
        if let Some(hub) = self.hub.upgrade() {
            hub.reset(topic, current);
        }
    }

    /// The topics the hub has subscribers of, each with its position here
    /// (none before its first message or [`start`](Self::start)): what a
    /// backplane subscribes to, and checks for missed messages.
    pub fn topics(&self) -> Vec<(Arc<str>, Option<Position>)> {
        self.hub
            .upgrade()
            .map(|hub| hub.topics())
            .unwrap_or_default()
    }

    /// Whether the hub has subscribers of `topic`.
    pub fn is_joined(&self, topic: &str) -> bool {
        self.hub
            .upgrade()
            .is_some_and(|hub| hub.state().topics.contains_key(topic))
    }

    /// Whether the hub still exists.
    pub fn is_attached(&self) -> bool {
        self.hub.strong_count() > 0
    }
}
