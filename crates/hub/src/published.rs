//! [`Published`]: a message as subscribers receive it, and [`Delivery`],
//! everything a subscription yields.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::{Epoch, Numbered, Position};

/// How many encodings of a message [`Published::encoded`] keeps.
const ENCODINGS: usize = 2;

/// A message published to a topic, with its place there. Cloning shares it:
/// one publish reaches every subscriber as the same allocation.
#[derive(Debug, Clone)]
pub struct Published(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    topic: Arc<str>,
    offset: u64,
    epoch: Epoch,
    data: Bytes,
    /// The forms transports send, each made once by the first subscriber
    /// that needs it and shared by the rest ([`Published::encoded`]): two,
    /// for a process that serves the same hub two ways.
    encoded: [OnceLock<Box<dyn Any + Send + Sync>>; ENCODINGS],
}

impl Published {
    /// `msg`, published to `topic`.
    pub fn new(topic: impl Into<Arc<str>>, msg: Numbered) -> Self {
        Self(Arc::new(Inner {
            topic: topic.into(),
            offset: msg.offset,
            epoch: msg.epoch,
            data: msg.data,
            encoded: Default::default(),
        }))
    }

    /// The topic it was published to.
    pub fn topic(&self) -> &str {
        &self.0.topic
    }

    /// Its offset in the topic, from 1.
    pub fn offset(&self) -> u64 {
        self.0.offset
    }

    /// The topic's epoch when it was published.
    pub fn epoch(&self) -> &Epoch {
        &self.0.epoch
    }

    /// Where a subscriber that received it is: its offset and epoch.
    pub fn position(&self) -> Position {
        Position {
            offset: self.0.offset,
            epoch: self.0.epoch.clone(),
        }
    }

    /// The message itself.
    pub fn data(&self) -> &Bytes {
        &self.0.data
    }

    /// The message as a transport sends it (its bytes in some envelope, or
    /// a frame ready to write, of any type `T`): made by `encode` the first
    /// time it is asked for, and the same value for every later
    /// subscriber, so a publish to a thousand subscribers is encoded once.
    /// Two encodings are kept, each of its own type: asked for as a third,
    /// it is made again each time (a process whose transports encode the
    /// same messages three ways pays for the third).
    ///
    /// ```
    /// use switchyard_hub::{Bytes, Epoch, Numbered, Published};
    ///
    /// let msg = Published::new("news", Numbered { offset: 7, epoch: Epoch::new("e"), data: "hi".into() });
    /// let wire = |m: &Published| Bytes::from(format!("{}:{}", m.offset(), std::str::from_utf8(m.data()).unwrap_or("")));
    /// assert_eq!(msg.encoded(wire), "7:hi");
    /// assert_eq!(msg.encoded::<Bytes>(|_| unreachable!("made once")), "7:hi");
    /// // A second type is kept too; a third is made each time.
    /// assert_eq!(msg.encoded(|m| m.offset()), 7);
    /// assert_eq!(msg.encoded::<u64>(|_| unreachable!("kept")), 7);
    /// assert_eq!(msg.encoded(|_| 'x'), 'x');
    /// assert_eq!(msg.encoded(|_| 'y'), 'y');
    /// ```
    pub fn encoded<T>(&self, encode: impl FnOnce(&Self) -> T) -> T
    where
        T: Clone + Send + Sync + 'static,
    {
        for slot in &self.0.encoded {
            match slot.get() {
                Some(kept) => {
                    if let Some(encoded) = kept.downcast_ref::<T>() {
                        return encoded.clone();
                    }
                }
                None => {
                    let encoded = encode(self);
                    // Another subscriber may have filled it meanwhile, with
                    // this type or another.
                    return match slot
                        .get_or_init(|| Box::new(encoded.clone()))
                        .downcast_ref::<T>()
                    {
                        Some(kept) => kept.clone(),
                        None => encoded,
                    };
                }
            }
        }
        encode(self)
    }
}

/// What a [`Subscription`](crate::Subscription) yields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Delivery {
    /// A message published to one of its topics.
    Message(Published),
    /// The answer to [`Subscription::join`](crate::Subscription::join) or
    /// [`resume`](crate::Subscription::resume), and news of a topic whose stream had to start again: where the
    /// subscriber now is in `topic`, and whether it missed nothing. The
    /// topic's [`Message`](Self::Message)s that follow have the offsets
    /// after `position`, each once and in order (the recovered ones first).
    Subscribed {
        /// The topic.
        topic: Arc<str>,
        /// True when every message after the position the subscriber gave
        /// was (or is about to be) delivered; false when some are lost to
        /// it (the history no longer covers them, or the epoch changed, or
        /// the subscriber gave no position): the application reloads.
        recovered: bool,
        /// Where the subscriber is: the position it gave when recovered,
        /// the topic's latest when not.
        position: Position,
    },
    /// A subscribe that failed: the subscriber is not in `topic`.
    Refused {
        /// The topic.
        topic: Arc<str>,
        /// Why.
        reason: String,
    },
}
