//! switchyard over WebSocket: routes strict at the handshake on
//! switchyard-http's server (plain HTTP on the same port), a client,
//! heartbeats, and the same message interface as TCP and UDP.
//!
//! - [`websocket`]: a WebSocket route of an [`http::Router`], served by an
//!   [`http::HttpServer`] beside pages, `POST` endpoints and guards; the
//!   WebSocket's checks and limits in [`WsServerConfig`], the HTTP
//!   server's in [`http::HttpServerConfig`].
//! - [`WsConnection`]: a `Stream` + `Sink` of [`WsMessage`]s (kind and
//!   bytes), with heartbeats, close codes and a [`Shutdown`]; its
//!   [`binary`](WsConnection::binary) and [`text`](WsConnection::text)
//!   views ([`FixedKind`]) are a
//!   [`switchyard_frame::MessageConnection`] like every
//!   other transport's.
//! - [`connect`], [`connect_to`], [`Reconnecting`]: clients.
//! - [`upgrade_response`] and [`WsConnection::upgraded`]: WebSockets that
//!   another HTTP server (axum, hyper) accepted, handed to switchyard.
//! - [`handshake`]: the sans-IO checks underneath.
//! - [`http`]: switchyard-http, the server the routes run on.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod client;
mod config;
mod connection;
pub mod deflate;
mod direct;
mod fixed_kind;
mod frame_io;
pub mod handshake;
mod heartbeat;
mod message;
mod origin;
mod prepared;
mod reconnect;
mod upgraded;
mod websocket;

pub use client::{connect, connect_to, connect_with, ClientConfig, ClientIo, WsTarget};
pub use config::WsServerConfig;
pub use connection::{CloseReason, WsConnection};
pub use direct::{DirectSend, DirectWriter, MAX_DIRECT_BATCH};
pub use fixed_kind::FixedKind;
pub use heartbeat::HeartbeatConfig;
pub use message::{MessageKind, WsMessage};
pub use origin::OriginPolicy;
pub use reconnect::{ReconnectPolicy, Reconnecting};
pub use switchyard_http::{Request, Router, ServerIo};
pub use upgraded::upgrade_response;
pub use websocket::{websocket, WebSocketUpgrade};

/// The HTTP server WebSocket routes run on (switchyard-http): its
/// [`Router`], [`HttpServer`](http::HttpServer),
/// [`HttpServerConfig`](http::HttpServerConfig), responses and status codes.
pub use switchyard_http as http;
/// TLS for `wss://` (switchyard-tls): a server's goes in
/// [`HttpServerConfig::tls`](http::HttpServerConfig::tls), a client's in
/// [`ClientConfig::tls`].
pub use switchyard_tls::{
    client_tls, client_tls_with_cert, server_tls, server_tls_verifying_clients, ClientTls,
    ServerTls, TlsError,
};
// The batched reply loop over any message connection: a Router handler's
// echo in one line (see the websocket example).
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
