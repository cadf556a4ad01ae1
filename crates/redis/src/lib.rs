//! A Redis backplane for switchyard's hub: topics shared by several
//! servers, each message numbered once in Redis, with history and resume
//! without loss across servers.
//!
//! Each server's [`Hub`](switchyard_hub::Hub) gets its own
//! [`RedisBackplane`], all on the same Redis (and [`RedisConfig::prefix`]).
//! A publish on any of them runs one Lua script in Redis that gives the
//! message the topic's next offset (one counter per topic, for every
//! server), keeps it in the topic's history (a Redis stream, if
//! [`RedisConfig::history`] is on) and publishes it on the topic's
//! channel; every server whose hub has subscribers of the topic is
//! subscribed to that channel and hands each message to its hub, which
//! delivers each offset once, in order. A subscriber that comes back,
//! on any server, [`resume`](switchyard_hub::Subscription::resume)s from
//! its last position: exactly what it missed if the history still holds
//! it, or a plain "not recovered" if not.
//!
//! Pub/sub is at most once: messages published while a server's
//! connection was down are not re-sent. The backplane catches up by
//! itself, from the history (or tells the subscribers what was lost):
//! when it reconnects, when a message arrives that does not follow the
//! last one, and at a periodic check of each topic's offset in Redis
//! ([`RedisConfig::check_interval`]), which also notices a pub/sub
//! connection that died without a word.
//!
//! Keys, per topic (names are `[A-Za-z0-9._-]{1,128}`, so they never
//! collide): `{prefix}:{topic}:meta` (a hash: `offset`, `epoch`),
//! `{prefix}:{topic}:history` (a stream, entry IDs `<offset>-1`),
//! `{prefix}:{topic}:key:{key}` (publish keys), and the channel
//! `{prefix}:{topic}`. Each expires by itself: nothing needs cleaning up.
//!
//! [`RedisBackplane`] is also the hub's
//! [`Presence`](switchyard_hub::Presence) across servers: chat rooms'
//! members, one name per room, each claim held while its server runs and
//! expiring ([`RedisConfig::presence_ttl`]) once it stops.
//!
//! ```no_run
//! # switchyard_redis::rt::block_on(async {
//! use std::sync::Arc;
//! use switchyard_redis::hub::{HistoryConfig, Hub, HubConfig};
//! use switchyard_redis::{RedisBackplane, RedisConfig};
//!
//! // Two servers (here, two hubs in one process) sharing their topics.
//! let config = RedisConfig::new("redis://127.0.0.1:6379/").history(HistoryConfig::default());
//! let (a, b) = (RedisBackplane::new(config.clone())?, RedisBackplane::new(config)?);
//! let hub_a = Hub::with_backplane(HubConfig::default(), a.clone())?;
//! let hub_b = Hub::with_backplane(HubConfig::default(), b.clone())?;
//! a.connected().await;
//! b.connected().await;
//! let mut on_b = hub_b.subscribe();
//! on_b.join("news")?;
//! hub_a.publish("news", "reaches B's subscribers too".into()).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod backplane;
mod config;
mod keys;
mod node;
mod payload;
mod presence;
mod publisher;
mod recovery;
mod scripts;
mod shared;

pub use backplane::RedisBackplane;
pub use config::RedisConfig;

/// The hub this backplane serves (switchyard-hub): a [`RedisBackplane`] is
/// attached with [`Hub::with_backplane`](hub::Hub::with_backplane), and
/// [`RedisConfig::history`] is a [`HistoryConfig`](hub::HistoryConfig).
pub use switchyard_hub as hub;
/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`, timers, the runtime choice.
pub use switchyard_rt as rt;
