//! switchyard's endpoints: any transport, chosen at run time by URL, as the
//! same message connection.
//!
//! - [`Endpoint`]: `ws://`, `wss://`, `tcp://`, `udp://`, `unix://` URLs, and
//!   `stdio`.
//! - [`dial`] with [`DialOptions`]: a TCP or Unix stream (or standard input
//!   and output) cut by a [`StreamFraming`], a connected UDP socket, or a
//!   WebSocket, each as a [`BoxConnection`].
//! - [`frame_stream`]: any byte stream (an accepted TCP connection, a pipe)
//!   cut into messages the same way.
//!
//! Each transport crate dials on its own (`switchyard_tcp::connect`,
//! `switchyard_udp::connect`, `switchyard_ws::connect_to`); this crate is
//! for programs that take the transport as input: the bridge, the load
//! generator, a proxy of your own (switchyard-relay joins two of what it
//! dials).
//!
//! ```
//! # switchyard_endpoint::rt::block_on(async {
//! use futures::{SinkExt, StreamExt};
//! use switchyard_endpoint::{dial, DialOptions, Endpoint, StreamFraming};
//!
//! // A line service on TCP, reached by URL as messages.
//! let listener = switchyard_endpoint::rt::net::TcpListener::bind("127.0.0.1:0").await?;
//! let target: Endpoint = format!("tcp://{}", listener.local_addr()?).parse()?;
//! switchyard_endpoint::rt::spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     let (reader, mut writer) = futures::AsyncReadExt::split(stream);
//!     futures::io::copy(reader, &mut writer).await // an echo
//! });
//! let options = DialOptions::default().framing(StreamFraming::Lines);
//! let mut conn = dial(&target, &options).await?;
//! conn.send("one line".into()).await?;
//! assert_eq!(conn.next().await.transpose()?.as_deref(), Some(&b"one line"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod dial;
mod endpoint;
mod framing;

pub use dial::{dial, dial_websocket, BoxConnection, DialOptions, RelaySide, WsSide};
pub use endpoint::{Endpoint, EndpointError, Scheme, MAX_UNIX_PATH};
pub use framing::{frame_stream, StreamFraming, UnknownFraming};

/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`, timers, the runtime choice.
pub use switchyard_rt as rt;
