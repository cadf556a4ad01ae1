//! Length-prefixed framing: a 4-byte big-endian length, then the payload.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::{Error, Framing};

/// Each message is a 4-byte big-endian unsigned length `n`, then `n` bytes.
///
/// The announced length is checked against [`max`](Self::max) before a byte
/// of buffer is reserved for it: a peer that announces 4 GiB gets
/// [`Error::FrameTooLarge`] (the stream cannot be resynchronised, so the
/// connection is broken) and nothing is allocated. When those four bytes
/// are the start of another protocol (`HTTP`, `GET `, a TLS handshake,
/// `SSH-`), the error is an [`Error::Protocol`] that says so instead:
/// usually a client pointed at the wrong port.
///
/// ```
/// use bytes::BytesMut;
/// use switchyard_frame::{Error, Framing, LengthPrefixed};
///
/// let mut framing = LengthPrefixed::new(1024);
/// let mut wire = BytesMut::from(&b"\xff\xff\xff\xff"[..]);
/// assert!(matches!(
///     framing.decode(&mut wire),
///     Err(Error::FrameTooLarge { size: 0xffff_ffff, max: 1024 })
/// ));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPrefixed {
    max: usize,
}

impl LengthPrefixed {
    /// Size of the length header on the wire.
    pub const HEADER_LEN: usize = 4;
    /// The default maximum payload, 16 MiB: large enough for bulk messages,
    /// small enough that a hostile peer cannot make one connection hold more.
    pub const DEFAULT_MAX: usize = 16 << 20;

    /// Length-prefixed framing with payloads of at most `max` bytes (capped
    /// at `u32::MAX`, the largest length the header can say).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.min(u32::MAX as usize),
        }
    }

    /// The maximum payload size.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Default for LengthPrefixed {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX)
    }
}

impl Framing for LengthPrefixed {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        let Some(header) = src.get(..Self::HEADER_LEN) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > self.max {
            if let Some(what) = foreign_protocol(header) {
                return Err(Error::Protocol {
                    reason: format!(
                        "the peer sent {what} where a length-prefixed frame was expected \
                         (as a length: {len} bytes); wrong port or protocol?"
                    ),
                });
            }
            return Err(Error::FrameTooLarge {
                size: len as u64,
                max: self.max,
            });
        }
        let total = Self::HEADER_LEN + len;
        if src.len() < total {
            // The length is within the maximum: make room for the rest of
            // this frame in one step instead of growing chunk by chunk.
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(Self::HEADER_LEN);
        Ok(Some(src.split_to(len).freeze()))
    }

    fn encode(&mut self, msg: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        if msg.len() > self.max {
            return Err(Error::TooLargeToSend {
                size: msg.len() as u64,
                max: self.max,
            });
        }
        dst.reserve(Self::HEADER_LEN + msg.len());
        dst.put_u32(msg.len() as u32);
        dst.extend_from_slice(msg);
        Ok(())
    }
}

/// What other protocol a frame header that is too large to be a length
/// starts like, if any: the usual ways of pointing a client at the wrong
/// port.
fn foreign_protocol(header: &[u8]) -> Option<&'static str> {
    const HTTP_METHODS: [&[u8]; 8] = [
        b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN",
    ];
    match header {
        b"HTTP" => Some("an HTTP response"),
        [0x16, 0x03, ..] => Some("a TLS handshake"),
        b"SSH-" => Some("an SSH greeting"),
        h if HTTP_METHODS.contains(&h) => Some("an HTTP request"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_whole_header_and_payload() {
        let mut f = LengthPrefixed::new(10);
        let mut src = BytesMut::from(&b"\x00\x00"[..]);
        assert_eq!(f.decode(&mut src).unwrap(), None);
        src.extend_from_slice(b"\x00\x03ab");
        assert_eq!(f.decode(&mut src).unwrap(), None);
        src.extend_from_slice(b"c\x00\x00\x00\x00");
        assert_eq!(f.decode(&mut src).unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(f.decode(&mut src).unwrap().as_deref(), Some(&b""[..]));
        assert!(src.is_empty());
    }

    #[test]
    fn exactly_the_maximum_is_accepted_and_one_more_is_not() {
        let mut f = LengthPrefixed::new(4);
        let mut wire = BytesMut::new();
        f.encode(b"abcd", &mut wire).unwrap();
        assert_eq!(f.decode(&mut wire).unwrap().as_deref(), Some(&b"abcd"[..]));
        let err = f.encode(b"abcde", &mut wire).unwrap_err();
        assert!(matches!(err, Error::TooLargeToSend { size: 5, max: 4 }));
        assert!(wire.is_empty(), "a refused message writes nothing");
        let mut wire = BytesMut::from(&b"\x00\x00\x00\x05abcde"[..]);
        assert!(matches!(
            f.decode(&mut wire),
            Err(Error::FrameTooLarge { size: 5, max: 4 })
        ));
    }

    #[test]
    fn another_protocol_on_the_wire_is_named() {
        let mut f = LengthPrefixed::default();
        for (wire, what) in [
            (&b"HTTP/1.1 400 Bad Request\r\n"[..], "an HTTP response"),
            (&b"GET / HTTP/1.1\r\n"[..], "an HTTP request"),
            (&b"\x16\x03\x01\x02\x00\x01"[..], "a TLS handshake"),
            (&b"SSH-2.0-OpenSSH_9.2\r\n"[..], "an SSH greeting"),
        ] {
            let err = f.decode(&mut BytesMut::from(wire)).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
            assert!(err.is_broken());
        }
        // A length within the maximum is a length, whatever its bytes spell.
        let mut small = LengthPrefixed::new(u32::MAX as usize);
        let mut wire = BytesMut::from(&b"GET "[..]);
        assert!(small.decode(&mut wire).unwrap().is_none());
    }

    #[test]
    fn a_huge_announced_length_reserves_nothing() {
        let mut f = LengthPrefixed::default();
        let mut src = BytesMut::with_capacity(8);
        src.extend_from_slice(b"\xff\xff\xff\xff");
        assert!(f.decode(&mut src).is_err());
        assert!(src.capacity() < 1024, "capacity grew to {}", src.capacity());
    }

    #[test]
    fn end_of_stream_inside_a_frame_is_an_error() {
        let mut f = LengthPrefixed::default();
        let mut src = BytesMut::from(&b"\x00\x00\x00\x09abc"[..]);
        assert!(matches!(
            f.decode_eof(&mut src),
            Err(Error::UnexpectedEof { buffered: 7 })
        ));
        let mut empty = BytesMut::new();
        assert_eq!(f.decode_eof(&mut empty).unwrap(), None);
    }
}
