//! The framing trait: turning a byte stream into whole messages and back.
//!
//! A [`Framing`] holds no socket and does no I/O: it looks at the bytes that
//! have arrived so far and either cuts one message off the front, asks for
//! more, or reports that the stream is corrupt. That makes every framing
//! testable on byte slices, and lets [`Framed`](crate::Framed) drive any of
//! them over any `AsyncRead + AsyncWrite`.

use bytes::{Bytes, BytesMut};

use crate::Error;

/// A way of cutting a byte stream into messages (and of writing them).
///
/// The contract, as in tokio-util's codecs:
/// - `decode` returns `Ok(Some(msg))` for each whole message at the front of
///   `src` (removing its bytes), `Ok(None)` when more bytes are needed, and
///   `Err` when the stream is corrupt ([`Error::is_broken`]) or one message
///   must be skipped ([`ErrorClass::Dropped`](crate::ErrorClass::Dropped);
///   decoding goes on).
/// - `decode_eof` is called once the stream has ended; what is left in `src`
///   is either more whole messages, nothing, or an
///   [`Error::UnexpectedEof`]: a peer that closed in the middle of a frame.
/// - `encode` appends one framed message to `dst`, or fails without writing
///   anything ([`ErrorClass::Refused`](crate::ErrorClass::Refused): for
///   instance [`Error::TooLargeToSend`] for a message over the maximum).
///
/// ```
/// use bytes::BytesMut;
/// use switchyard_frame::{Framing, LengthPrefixed};
///
/// let mut framing = LengthPrefixed::default();
/// let mut wire = BytesMut::new();
/// framing.encode(b"hello", &mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x00\x00\x00\x05hello");
///
/// let msg = framing.decode(&mut wire).unwrap();
/// assert_eq!(msg.as_deref(), Some(&b"hello"[..]));
/// assert!(wire.is_empty());
/// ```
pub trait Framing {
    /// Cuts the next whole message off the front of `src`, if there is one.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error>;

    /// Like `decode`, once the stream has ended. By default, leftover bytes
    /// that make no whole message are an [`Error::UnexpectedEof`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode(src)? {
            Some(msg) => Ok(Some(msg)),
            None if src.is_empty() => Ok(None),
            None => Err(Error::UnexpectedEof {
                buffered: src.len(),
            }),
        }
    }

    /// Appends `msg`, framed, to `dst`.
    fn encode(&mut self, msg: &[u8], dst: &mut BytesMut) -> Result<(), Error>;
}
