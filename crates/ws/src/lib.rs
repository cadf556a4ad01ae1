//! switchyard over WebSocket: a server strict at the handshake that also
//! serves plain HTTP on the same port, a client, heartbeats, and the same
//! message interface as TCP and UDP.
//!
//! - [`WsServer`] with a [`Router`] (in [`http`]): pages at `GET` paths,
//!   `POST` endpoints, WebSocket upgrades, guards such as [`Auth`]; every
//!   limit in [`WsServerConfig`].
//! - [`WsConnection`]: a `Stream` + `Sink` of [`WsMessage`]s (kind and
//!   bytes), with heartbeats, close codes and a [`Shutdown`]; its
//!   [`binary`](WsConnection::binary) and [`text`](WsConnection::text)
//!   views ([`FixedKind`]) are a
//!   [`switchyard_frame::MessageConnection`] like every
//!   other transport's.
//! - [`connect`], [`connect_to`], [`Reconnecting`]: clients.
//! - [`upgrade_response`] and [`WsConnection::upgraded`]: WebSockets that
//!   another HTTP server (axum, hyper) accepted, handed to switchyard.
//! - [`handshake`] and [`http`]: the sans-IO checks and parsing underneath.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod client;
mod config;
mod connection;
mod fixed_kind;
pub mod handshake;
mod heartbeat;
pub mod http;
mod message;
mod origin;
mod read_ahead;
mod reconnect;
mod tls;
mod upgraded;

pub use client::{connect, connect_to, connect_with, ClientConfig, ClientIo, WsTarget};
pub use config::WsServerConfig;
pub use connection::{CloseReason, WsConnection};
pub use fixed_kind::FixedKind;
pub use heartbeat::HeartbeatConfig;
pub use http::{Auth, AuthParseError, Request, Router, ServerIo, WsServer};
pub use message::{MessageKind, WsMessage};
pub use origin::OriginPolicy;
pub use read_ahead::ReadAhead;
pub use reconnect::{ReconnectPolicy, Reconnecting};
pub use tls::{
    client_tls, client_tls_with_cert, server_tls, server_tls_verifying_clients, ClientTls,
    ServerTls, TlsError,
};
pub use upgraded::upgrade_response;

/// An IP network (`10.0.0.0/8`, `2001:db8::/32`, or one address), as
/// [`WsServerConfig::trusted_proxies`] takes them.
pub use ipnet::IpNet;
// The batched reply loop over any message connection: a Router handler's
// echo in one line (see the Router and WsServer examples).
pub use switchyard_frame::answer;
pub use switchyard_frame::share;
// Linked, not inlined: rustdoc cannot print the default of its const
// parameter on another crate's page.
#[cfg(feature = "bincode")]
#[doc(no_inline)]
pub use switchyard_frame::Bincode;
#[cfg(feature = "json")]
pub use switchyard_frame::Json;
pub use switchyard_frame::{
    Error, ErrorClass, Keepalive, MessageConnection, MessageReader, MessageSender,
};
#[cfg(feature = "serde")]
pub use switchyard_frame::{Format, Typed};
/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`, timers, the runtime choice.
pub use switchyard_rt as rt;
pub use switchyard_rt::net::Address;
pub use switchyard_rt::{Shutdown, ShutdownWait};
pub use switchyard_tcp::TcpKeepalive;
