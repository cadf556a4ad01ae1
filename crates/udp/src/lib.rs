//! switchyard over UDP: one message per datagram, typed too, with size
//! limits that never cut a message, and per-peer sessions for servers.
//!
//! - [`UdpSocket`]: bind, `send_to` and `recv_from` whole messages.
//! - [`UdpConnection`]: a connected socket as a [`MessageConnection`], the
//!   same `Stream` + `Sink` of messages as a framed TCP connection.
//! - [`UdpListener`]: per-peer [`UdpSession`]s (each a message connection)
//!   with an idle time-out and a maximum count.
//!
//! # Sizes
//! A message is one datagram, so its size is bounded by what a datagram can
//! carry: [`MAX_PAYLOAD`] (65507 bytes) on loopback, and
//! [`SAFE_INTERNET_PAYLOAD`] (1472 bytes) to cross the internet without IP
//! fragmentation. Sending more than the socket's maximum is an
//! [`Error::TooLargeToSend`]; a received datagram over it is an
//! [`Error::DatagramTruncated`], never passed on cut.
//!
//! ```
//! # switchyard_udp::rt::block_on(async {
//! use switchyard_udp::{Error, UdpSocket, SAFE_INTERNET_PAYLOAD};
//!
//! let socket = UdpSocket::bind("127.0.0.1:0").await?.with_max_datagram(SAFE_INTERNET_PAYLOAD);
//! let err = socket.send_to(&[0; 1473], socket.local_addr()?).await.unwrap_err();
//! assert!(matches!(err, Error::TooLargeToSend { size: 1473, max: 1472 }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod connection;
mod datagram;
mod sessions;
mod socket;

pub use connection::UdpConnection;
pub use datagram::{MAX_PAYLOAD, SAFE_INTERNET_PAYLOAD};
pub use sessions::{ListenerStats, SessionConfig, UdpListener, UdpSession};
pub use socket::{connect, UdpSocket};

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
pub use switchyard_rt::Shutdown;
