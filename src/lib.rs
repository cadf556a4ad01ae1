//! switchyard: message-oriented networking over TCP, UDP and WebSocket with
//! one framing model.
//!
//! This crate re-exports the member crates, each usable on its own:
//! - [`frame`] (`switchyard-frame`): framing, typed formats, and the
//!   [`MessageConnection`](frame::MessageConnection) interface every
//!   transport offers.
//! - [`tcp`] (`switchyard-tcp`): dial, serve within limits, framed and typed
//!   connections.
//! - [`udp`] (`switchyard-udp`): one message per datagram, per-peer sessions.
//! - [`hub`] (`switchyard-hub`): transport-neutral publish/subscribe with
//!   bounded queues and slow consumers cut off alone.
//! - [`http`] (`switchyard-http`): an HTTP/1 server strict about what a
//!   client controls: routes, guards, static files, upgrades, TLS.
//! - [`tls`] (`switchyard-tls`): TLS setup for servers and clients (rustls).
//! - [`ws`] (`switchyard-ws`): WebSocket routes on that server (strict
//!   handshake), a client, heartbeats.
//! - [`push`] (`switchyard-push`): server push on the hub: an HTTP publish
//!   endpoint, WebSocket subscribers, resume after a reconnect.
//! - [`endpoint`] (`switchyard-endpoint`): endpoint URLs dialed as one
//!   message connection type, whatever the transport.
//! - [`relay`] (`switchyard-relay`): two message connections joined, with
//!   backpressure both ways, heartbeats, time-outs and a report.
//! - [`rt`] (`switchyard-rt`): the runtime glue (spawn, timers, sockets,
//!   the one [`Shutdown`](rt::Shutdown) signal).
//!
//! The bridge (`switchyard-bridge`) and the load generator
//! (`switchyard-load`) are applications on these, not re-exported.
//!
//! Features `bincode` and `json` (default) bring typed messages; see the
//! README's "Features" section.
//!
//! ```
//! # switchyard::rt::block_on(async {
//! use futures::{SinkExt, StreamExt};
//! use switchyard::frame::{LengthPrefixed, MessageConnection};
//! use switchyard::udp::UdpSocket;
//!
//! // One function, any transport.
//! async fn ask<C: MessageConnection + Unpin>(conn: &mut C, question: &'static str) -> Option<bytes::Bytes> {
//!     conn.send(question.into()).await.ok()?;
//!     conn.next().await?.ok()
//! }
//!
//! let server = switchyard::tcp::Server::bind("127.0.0.1:0", Default::default()).await?;
//! let addr = server.local_addr()?;
//! switchyard::rt::spawn(server.serve(|conn| async move {
//!     let (sink, stream) = conn.framed(LengthPrefixed::default()).split();
//!     let _ = stream.forward(sink).await;
//! }));
//! let mut tcp = switchyard::tcp::connect_framed(addr, LengthPrefixed::default(), switchyard::tcp::DEFAULT_CONNECT_TIMEOUT).await?;
//! assert_eq!(ask(&mut tcp, "over tcp?").await.as_deref(), Some(&b"over tcp?"[..]));
//!
//! let a = UdpSocket::bind("127.0.0.1:0").await?;
//! let mut udp = a.clone().connect(a.local_addr()?).await?; // talks to itself
//! assert_eq!(ask(&mut udp, "over udp?").await.as_deref(), Some(&b"over udp?"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

pub use switchyard_endpoint as endpoint;
pub use switchyard_frame as frame;
pub use switchyard_http as http;
pub use switchyard_hub as hub;
pub use switchyard_push as push;
pub use switchyard_relay as relay;
pub use switchyard_rt as rt;
pub use switchyard_tcp as tcp;
pub use switchyard_tls as tls;
pub use switchyard_udp as udp;
pub use switchyard_ws as ws;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The Rust examples of docs/guide/runtimes.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/runtimes.md")]
struct GuideRuntimesExamples;

/// The Rust examples of docs/guide/wire-formats.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/wire-formats.md")]
struct GuideWireFormatsExamples;

/// The Rust examples of docs/guide/websocket.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/websocket.md")]
struct GuideWebSocketExamples;

/// The Rust examples of docs/guide/push.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/push.md")]
struct GuidePushExamples;

/// The Rust examples of docs/bridge.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/bridge.md")]
struct BridgeExamples;

/// The Rust examples of docs/limits-and-errors.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/limits-and-errors.md")]
struct LimitsAndErrorsExamples;

/// The Rust examples of docs/performance.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/performance.md")]
struct PerformanceExamples;

/// The Rust examples of docs/design.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/design.md")]
struct DesignExamples;

/// The Rust examples of docs/testing.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
struct TestingExamples;

/// The Rust examples of docs/status.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/status.md")]
struct StatusExamples;
