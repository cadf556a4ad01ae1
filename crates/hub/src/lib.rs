//! switchyard's publish/subscribe hub: topics, subscribers that may fall
//! only so far behind, and slow consumers cut off alone. Transport-neutral: it moves
//! [`Bytes`] between a publisher and [`Subscription`] streams, and knows
//! nothing of sockets, so a TCP, UDP or WebSocket server (or none) can use
//! it. switchyard-push puts the push endpoint, the subscriber loop and its
//! JSON commands on top.
//!
//! The documents' Go hub broadcast on unbuffered channels from one loop, so
//! a single stuck client stalled every other. Here publishing never waits:
//! a message is appended once to its topic's log, and each subscriber
//! reads the log from its own position. One that falls too far behind (in
//! messages or in bytes) is dropped from the hub (the
//! [`SlowConsumerPolicy`]) while everyone else keeps receiving at full
//! speed.
//!
//! Every message is numbered in its topic (an offset and an epoch), by the
//! hub's [`Backplane`]. The default, [`MemoryBackplane`], lives in this
//! process and can keep each topic's recent history ([`HistoryConfig`]),
//! so that a subscriber that comes back [`resume`](Subscription::resume)s
//! with exactly what it missed, or is told plainly that it cannot. A
//! shared backplane (switchyard-redis) carries topics across servers.
//!
//! ```
//! # futures::executor::block_on(async {
//! use futures::StreamExt;
//! use switchyard_hub::{Hub, HubConfig};
//!
//! let hub = Hub::new(HubConfig::default().queue_messages(2));
//! let mut fast = hub.subscribe();
//! let mut slow = hub.subscribe();
//! fast.join("ticks")?;
//! slow.join("ticks")?;
//! fast.next().await; // the answer to its join
//! for tick in ["1", "2", "3"] {
//!     hub.publish("ticks", tick.into()).await?;
//!     fast.next().await; // keeps up
//! }
//! assert!(slow.is_cut_off()); // never read: cut off at the third
//! assert_eq!(hub.subscribers("ticks"), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod backplane;
mod config;
mod direct;
mod history;
mod hub;
mod log;
mod memory;
mod presence;
mod published;
mod queue;
mod subscription;
mod topic;

pub use backplane::{
    Backplane, BackplaneError, BackplaneStatus, Delivered, HubInbox, PublishReceipt, Sequenced,
};
pub use bytes::Bytes;
pub use config::{HubConfig, SlowConsumerPolicy};
pub use direct::{Direct, DirectDelivery};
pub use history::{Epoch, HistoryConfig, Numbered, Position, Recovery, TopicHistory};
pub use hub::{Hub, HubError, HubStats, PublishError};
pub use memory::MemoryBackplane;
pub use presence::{MemoryPresence, Presence};
pub use published::{Delivery, Published};
pub use subscription::{DirectHandle, Subscription};
pub use topic::{is_valid_topic, MAX_TOPIC_LEN};
