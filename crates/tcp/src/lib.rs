//! switchyard over TCP: dial, serve within limits, and carry whole messages
//! in any [`Framing`] (or serde values in any [`Format`]) over the stream.
//!
//! - [`connect`] / [`connect_framed`] dial with a time-out.
//! - [`Server`] accepts within a [`ServerConfig`]: a connection limit, an
//!   idle time-out, `TCP_NODELAY`, back-off on accept errors, graceful
//!   shutdown. [`UnixServer`] serves Unix-domain stream sockets with the same
//!   accept loop (on Unix).
//! - A framed connection is a [`MessageConnection`]: the same `Stream` +
//!   `Sink` of messages as every other switchyard transport. Wrap it in
//!   [`Typed`] for serde values, or [`share`] it between tasks.
//!
//! ```
//! # switchyard_tcp::rt::block_on(async {
//! use futures::{SinkExt, StreamExt};
//! use switchyard_tcp::{Bincode, LengthPrefixed, Server, ServerConfig, Typed};
//!
//! let server = Server::bind("127.0.0.1:0", ServerConfig::default()).await?;
//! let addr = server.local_addr()?;
//! switchyard_tcp::rt::spawn(server.serve(|conn| async move {
//!     // Doubles every number it is sent.
//!     let mut conn: Typed<_, u64, u64, _> = Typed::new(conn.framed(LengthPrefixed::default()), Bincode::new());
//!     while let Some(received) = conn.next().await {
//!         let sent = match received {
//!             Ok(n) => conn.send(n * 2).await,
//!             Err(e) => Err(e),
//!         };
//!         // Only a broken connection ends it (not a value that did not
//!         // decode, which is dropped).
//!         if sent.is_err_and(|e| e.is_broken()) { break }
//!     }
//! }));
//!
//! let conn = switchyard_tcp::connect_framed(addr, LengthPrefixed::default(), switchyard_tcp::DEFAULT_CONNECT_TIMEOUT).await?;
//! let mut conn: Typed<_, u64, u64, _> = Typed::new(conn, Bincode::new());
//! conn.send(21).await?;
//! assert_eq!(conn.next().await.transpose()?, Some(42));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod accept_loop;
mod config;
mod connect;
mod keepalive;
mod listener;
mod per_ip;
mod proxy_protocol;
mod server;
mod stream;
#[cfg(unix)]
mod unix;

pub use config::ServerConfig;
pub use connect::{connect, connect_framed, DEFAULT_CONNECT_TIMEOUT};
pub use keepalive::TcpKeepalive;
pub use listener::TcpListener;
pub use per_ip::{PerIpLimit, PerIpSlot};
pub use proxy_protocol::{parse_proxy_header, ProxyHeader, ProxyHeaderError, MAX_PROXY_HEADER};
pub use server::{Accepted, ServeReport, Server, ServerStream};
pub use stream::TcpStream;
#[cfg(unix)]
pub use unix::{UnixAccepted, UnixServer, UnixServerStream};

pub use switchyard_frame::share;
// Linked, not inlined: rustdoc cannot print the default of its const
// parameter on another crate's page.
#[cfg(feature = "bincode")]
#[doc(no_inline)]
pub use switchyard_frame::Bincode;
#[cfg(feature = "json")]
pub use switchyard_frame::Json;
pub use switchyard_frame::{
    Error, ErrorClass, Framed, Framing, Keepalive, LengthPrefixed, Lines, MessageConnection,
    MessageReader, MessageSender, Raw,
};
#[cfg(feature = "serde")]
pub use switchyard_frame::{Format, Typed};
/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`, timers, the runtime choice.
pub use switchyard_rt as rt;
pub use switchyard_rt::net::Address;
pub use switchyard_rt::Shutdown;
