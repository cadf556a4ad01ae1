//! The one error type of the message interface.
//!
//! Every transport's message stream and sink speak [`Error`], so generic code
//! (a relay, a test) handles TCP, UDP and WebSocket failures the same way.
//! Each variant carries the numbers that explain it.

use std::io;

/// What went wrong while framing, encoding, sending or receiving a message.
///
/// [`Error::class`] says what it means for the connection: a message
/// refused on its way out ([`ErrorClass::Refused`]), one received message
/// dropped ([`ErrorClass::Dropped`]), or a connection that is over
/// ([`ErrorClass::Broken`]). Only the last ends a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A received frame announced a size larger than the maximum. Checked
    /// before any buffer grows: the announced size is never allocated. The
    /// stream cannot be resynchronised, so the connection is broken.
    #[error("frame too large: {size} bytes > maximum {max}")]
    FrameTooLarge {
        /// The size the peer announced.
        size: u64,
        /// The configured maximum.
        max: usize,
    },
    /// A message to send is larger than the maximum (of the framing, the
    /// datagram or the WebSocket). Nothing of it was sent; the connection
    /// is untouched.
    #[error("message too large to send: {size} bytes > maximum {max}")]
    TooLargeToSend {
        /// The message's size.
        size: u64,
        /// The maximum it was refused by.
        max: usize,
    },
    /// A line longer than the maximum: it was skipped, and the stream goes on
    /// with the next line.
    #[error("line too long: more than {max} bytes; skipped")]
    LineTooLong {
        /// The configured maximum line length, without the line ending.
        max: usize,
    },
    /// The stream ended inside a frame: the peer closed or reset mid-message.
    #[error("stream ended inside a frame ({buffered} bytes of an unfinished frame)")]
    UnexpectedEof {
        /// How many bytes of the unfinished frame had arrived.
        buffered: usize,
    },
    /// A datagram larger than the receive buffer arrived; it was dropped,
    /// never passed on cut.
    #[error("datagram truncated: larger than the {max}-byte receive maximum; dropped")]
    DatagramTruncated {
        /// The receive maximum.
        max: usize,
    },
    /// A message could not be encoded in the typed format (or is not what
    /// the connection carries: text that is not UTF-8, a line holding a
    /// newline). Nothing of it was sent; the connection is untouched.
    #[error("{format} encode failed: {reason}")]
    Encode {
        /// The format's name, `bincode` or `json`.
        format: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// A message could not be decoded in the typed format. The message is
    /// dropped; the connection itself can go on.
    #[error("{format} decode failed: {reason}")]
    Decode {
        /// The format's name, `bincode` or `json`.
        format: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The outbound queue is full (only from non-waiting sends).
    #[error("outbound queue full ({capacity} messages)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The peer broke the transport's protocol (a WebSocket frame that is
    /// not valid, text that is not UTF-8, ...).
    #[error("protocol error: {reason}")]
    Protocol {
        /// What was wrong.
        reason: String,
    },
    /// The connection was closed; nothing more can be sent on it.
    #[error("connection closed")]
    Closed,
    /// An I/O error from the socket, including time-outs
    /// ([`io::ErrorKind::TimedOut`]).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What an [`Error`] means for the connection it came from: which side it
/// concerns, and whether the connection can go on.
///
/// ```
/// use switchyard_frame::{Error, ErrorClass};
///
/// // A message too large to send: refused, and the connection goes on.
/// let refused = Error::TooLargeToSend { size: 2048, max: 1024 };
/// assert_eq!(refused.class(), ErrorClass::Refused);
/// // A peer announcing a 4 GiB frame: the stream cannot go on.
/// let hostile = Error::FrameTooLarge { size: 1 << 32, max: 1024 };
/// assert!(hostile.is_broken());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A message handed to the sink was refused before any of it was
    /// written (too large, not encodable, not text for a text connection,
    /// a full queue). Sending side only. The connection is untouched in
    /// both directions: skip the message, count it, or tell its sender.
    Refused,
    /// One received message was bad and has been dropped (a line over the
    /// maximum, a value that does not decode, a datagram over the
    /// maximum). Receiving side only. The stream goes on with the next
    /// message.
    Dropped,
    /// The connection is over: closed, reset, timed out, or the peer broke
    /// the framing or the protocol. Nothing more will be received, and
    /// nothing more can be sent.
    Broken,
}

impl Error {
    /// What this error means for the connection it came from.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::TooLargeToSend { .. } | Error::Encode { .. } | Error::QueueFull { .. } => {
                ErrorClass::Refused
            }
            Error::LineTooLong { .. } | Error::Decode { .. } | Error::DatagramTruncated { .. } => {
                ErrorClass::Dropped
            }
            Error::FrameTooLarge { .. }
            | Error::UnexpectedEof { .. }
            | Error::Protocol { .. }
            | Error::Closed
            | Error::Io(_) => ErrorClass::Broken,
        }
    }

    /// Whether the connection this came from is over ([`ErrorClass::Broken`]).
    /// A refused or dropped message is not: the connection goes on.
    pub fn is_broken(&self) -> bool {
        self.class() == ErrorClass::Broken
    }

    /// Whether this is a time-out (an idle or connect deadline that passed).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == io::ErrorKind::TimedOut)
    }
}

/// Result with the message interface's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_numbers() {
        let e = Error::FrameTooLarge {
            size: 4_294_967_295,
            max: 16 << 20,
        };
        assert_eq!(
            e.to_string(),
            "frame too large: 4294967295 bytes > maximum 16777216"
        );
        assert!(e.is_broken());
        assert!(Error::Io(io::ErrorKind::TimedOut.into()).is_timeout());
    }

    #[test]
    fn each_error_says_which_side_it_concerns() {
        let refused = [
            Error::TooLargeToSend { size: 2, max: 1 },
            Error::Encode {
                format: "text",
                reason: String::new(),
            },
            Error::QueueFull { capacity: 1 },
        ];
        let dropped = [
            Error::LineTooLong { max: 1 },
            Error::Decode {
                format: "json",
                reason: String::new(),
            },
            Error::DatagramTruncated { max: 1 },
        ];
        let broken = [
            Error::FrameTooLarge { size: 2, max: 1 },
            Error::UnexpectedEof { buffered: 1 },
            Error::Protocol {
                reason: String::new(),
            },
            Error::Closed,
            Error::Io(io::ErrorKind::ConnectionReset.into()),
        ];
        for (errors, class) in [
            (&refused[..], ErrorClass::Refused),
            (&dropped[..], ErrorClass::Dropped),
            (&broken[..], ErrorClass::Broken),
        ] {
            for e in errors {
                assert_eq!(e.class(), class, "{e}");
                assert_eq!(e.is_broken(), class == ErrorClass::Broken, "{e}");
            }
        }
    }
}
