//! Server push on top of a [`Hub`](switchyard_hub::Hub): the HTTP endpoint
//! that publishes ([`push_handler`]), the WebSocket subscriber's loop
//! ([`run_subscriber`], [`subscriber_handler`]), and the JSON commands its
//! client sends ([`SubscriberCommand`]).

mod client;
mod commands;
mod config;
mod endpoint;
mod envelope;
mod subscriber;

pub use client::PushClient;
pub use commands::{CommandError, SubscriberCommand};
pub use config::PushConfig;
pub use endpoint::push_handler;
pub use subscriber::{
    run_subscriber, serve_subscriber, subscriber_handler, SubscriberEnd, SubscriberReport,
};
