//! The one error type of the message interface.
//!
//! Every transport's message stream and sink speak [`Error`], so generic code
//! (a relay, a test) handles TCP, UDP and WebSocket failures the same way.
//! Each variant carries the numbers that explain it.

use std::io;

/// What went wrong while framing, encoding, sending or receiving a message.
///
/// Most variants end the connection they came from ([`Error::is_fatal`]);
/// a few describe one bad message on a stream that can go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame announced (or a message to send was) larger than the maximum.
    /// Checked before any buffer grows: the announced size is never allocated.
    #[error("frame too large: {size} bytes > maximum {max}")]
    FrameTooLarge {
        /// The size announced by the peer, or of the message being sent.
        size: u64,
        /// The configured maximum.
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
    /// A message could not be encoded in the typed format.
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

impl Error {
    /// Whether the connection this came from can no longer be used for
    /// receiving. `LineTooLong`, `Decode`, `DatagramTruncated` and `QueueFull`
    /// describe one message; everything else ends the stream.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Error::LineTooLong { .. }
                | Error::Decode { .. }
                | Error::DatagramTruncated { .. }
                | Error::QueueFull { .. }
        )
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
        assert!(e.is_fatal());
        assert!(!Error::LineTooLong { max: 10 }.is_fatal());
        assert!(Error::Io(io::ErrorKind::TimedOut.into()).is_timeout());
    }
}
