//! switchyard-push: server push over WebSocket on a [`Hub`]: the HTTP
//! endpoint that publishes ([`push_handler`]), the WebSocket subscriber's
//! loop ([`run_subscriber`], [`subscriber_handler`], [`serve_subscriber`]
//! for a connection another HTTP server accepted), the JSON commands its
//! client sends ([`SubscriberCommand`]), and a client that resumes where it
//! was after a reconnect ([`PushClient`]).
//!
//! What the source documents' push service does, with backpressure: a
//! subscriber too slow for its queue is cut off alone (1008), and a
//! numbered one that comes back gets what it missed.
//!
//! ```
//! # switchyard_push::rt::block_on(async {
//! use switchyard_push::hub::{Hub, HubConfig};
//! use switchyard_push::ws::http::{HttpServer, HttpServerConfig, Router};
//! use switchyard_push::ws::{websocket, WsServerConfig};
//! use switchyard_push::{push_handler, subscriber_handler, PushConfig};
//!
//! let hub = Hub::new(HubConfig::default());
//! let push = push_handler(hub.clone(), PushConfig::default());
//! let subscribers = subscriber_handler(hub, PushConfig::default());
//! let router = Router::new()
//!     .upgrade("/ws", websocket(WsServerConfig::default(), subscribers))
//!     .post("/push", push.clone())
//!     .post_prefix("/push/", push);
//! let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router).await?;
//! let url = format!("ws://{}/ws?topics=news", server.local_addr()?);
//! switchyard_push::rt::spawn(server.serve());
//! # drop(url);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! [`Hub`]: switchyard_hub::Hub

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod client;
mod commands;
mod config;
mod endpoint;
mod envelope;
mod halves;
mod subscriber;

pub use client::PushClient;
pub use commands::{CommandError, SubscriberCommand};
pub use config::PushConfig;
pub use endpoint::push_handler;
pub use subscriber::{
    run_subscriber, serve_subscriber, subscriber_handler, SubscriberEnd, SubscriberReport,
};

/// The hub that messages are published to and subscribers read from
/// (switchyard-hub): its types are in this crate's signatures.
pub use switchyard_hub as hub;
/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`,
/// timers, the runtime choice.
pub use switchyard_rt as rt;
/// The WebSocket routes and client push runs on (switchyard-ws, and the
/// HTTP server under it as `ws::http`): its `Router`, `Request` and
/// `WsConnection` are in this crate's signatures.
pub use switchyard_ws as ws;
