//! The core of switchyard: message framing, typed formats, and the message
//! interface that every transport (TCP, UDP, WebSocket) offers.
//!
//! Nothing here does I/O of its own or depends on a runtime:
//! - [`Framing`] cuts a byte stream into messages: [`LengthPrefixed`],
//!   [`Lines`], [`Raw`]. Each is a sans-IO state machine over byte buffers.
//! - [`Framed`] drives a framing over any `futures` `AsyncRead +
//!   AsyncWrite`, giving a `Stream` + `Sink` of [`Bytes`] messages.
//! - [`MessageConnection`] names that `Stream` + `Sink`: every transport's
//!   connection is one, so generic code runs over any of them.
//! - [`Typed`] carries serde values over any message connection, in a
//!   [`Format`]: [`Bincode`] for Rust peers, [`Json`] for browsers.
//! - [`share`] splits a connection into a reader, cloneable senders over a
//!   bounded queue, and one writer.
//! - [`Forwarder`] is the one loop that moves messages from a source to a
//!   sink in batches ([`forward`], [`answer`], and the writer of `share`
//!   run on it); [`ForwardHooks`] say what a dropped or refused message
//!   means.
//! - [`Error`] is the one error type of all of it; [`ErrorClass`] says
//!   whether a connection can go on after one.
//!
//! # Features
//! - `bincode` (default): [`Bincode`], and with it `serde`.
//! - `json` (default): [`Json`], and with it `serde`.
//! - `serde`: [`Typed`] and the [`Format`] trait, for a format of your own.
//!
//! Without them the crate needs no serde at all:
//! `switchyard-frame = { version = "0.1", default-features = false }`.
//!
//! ```
//! use bytes::BytesMut;
//! use switchyard_frame::{Framing, Lines};
//!
//! let mut wire = BytesMut::from(&b"GET /\r\n"[..]);
//! assert_eq!(Lines::default().decode(&mut wire)?.as_deref(), Some(&b"GET /"[..]));
//! # Ok::<(), switchyard_frame::Error>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

#[cfg(feature = "bincode")]
mod bincode_format;
mod error;
#[cfg(feature = "serde")]
mod format;
mod forward;
mod framed;
mod framing;
#[cfg(feature = "json")]
mod json_format;
mod length_prefixed;
mod lines;
mod message;
mod raw;
mod scratch;
mod shared;
#[cfg(feature = "serde")]
mod typed;

#[cfg(feature = "bincode")]
pub use bincode_format::{Bincode, DEFAULT_BINCODE_LIMIT};
pub use bytes::Bytes;
pub use error::{Error, ErrorClass, Result};
#[cfg(feature = "serde")]
pub use format::Format;
pub use forward::{answer, forward, ForwardHooks, Forwarded, Forwarder, Verdict};
pub use framed::{Framed, FramedConfig};
pub use framing::Framing;
#[cfg(feature = "json")]
pub use json_format::Json;
pub use length_prefixed::LengthPrefixed;
pub use lines::Lines;
pub use message::{Keepalive, MessageConnection};
pub use raw::Raw;
pub use scratch::with_read_scratch;
pub use shared::{share, MessageReader, MessageSender};
#[cfg(feature = "serde")]
pub use typed::Typed;
