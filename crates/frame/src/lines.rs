//! Newline-delimited framing.

use bytes::{Buf, Bytes, BytesMut};

use memchr::memchr;

use crate::{Error, Framing};

/// Each message is one line, ended by `\n` (a `\r\n` ending is accepted and
/// stripped). Messages are written with a `\n` ending; one that holds a
/// `\n` or ends in a `\r` (which the receiver would strip) is refused
/// ([`Error::Encode`]) rather than sent changed.
///
/// A line over [`max`](Self::max) bytes (not counting its ending) is reported
/// once as [`Error::LineTooLong`], its bytes are discarded up to the next
/// newline without being buffered, and decoding goes on with the next line:
/// one bad line does not end the stream. At most `max + 2` bytes are ever
/// held while looking for a line's end.
///
/// ```
/// use bytes::BytesMut;
/// use switchyard_frame::{Error, Framing, Lines};
///
/// let mut lines = Lines::new(5);
/// let mut wire = BytesMut::from(&b"much too long\r\nok\r\n"[..]);
/// assert!(matches!(lines.decode(&mut wire), Err(Error::LineTooLong { max: 5 })));
/// assert_eq!(lines.decode(&mut wire).unwrap().as_deref(), Some(&b"ok"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines {
    max: usize,
    /// How far `src` has been searched for a newline already, so that a line
    /// arriving in many pieces is scanned once, not once per piece.
    scanned: usize,
    /// Inside an over-long line: drop bytes up to and including the next `\n`.
    discarding: bool,
}

impl Lines {
    /// The default maximum line length, 64 KiB: generous for line protocols
    /// and logs, small enough to hold per connection.
    pub const DEFAULT_MAX: usize = 64 << 10;

    /// Lines of at most `max` bytes, not counting the line ending.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            scanned: 0,
            discarding: false,
        }
    }

    /// The maximum line length.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Bytes to look through for a line's end: the line, plus `\r\n`.
    fn window(&self) -> usize {
        self.max.saturating_add(2)
    }

    fn strip_cr(mut line: BytesMut) -> BytesMut {
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        line
    }
}

impl Default for Lines {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX)
    }
}

impl Framing for Lines {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        if self.discarding {
            match memchr(b'\n', src) {
                Some(i) => {
                    src.advance(i + 1);
                    self.discarding = false;
                }
                None => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
        let end = src.len().min(self.window());
        match memchr(b'\n', &src[self.scanned.min(end)..end]) {
            Some(i) => {
                let newline = self.scanned + i;
                self.scanned = 0;
                let mut line = src.split_to(newline + 1);
                line.truncate(newline);
                let line = Self::strip_cr(line);
                if line.len() > self.max {
                    return Err(Error::LineTooLong { max: self.max });
                }
                Ok(Some(line.freeze()))
            }
            None if src.len() >= self.window() => {
                // No line ending within the longest line allowed: drop what
                // is held and everything up to the next newline.
                src.advance(end);
                self.scanned = 0;
                self.discarding = true;
                Err(Error::LineTooLong { max: self.max })
            }
            None => {
                self.scanned = end;
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        if let Some(line) = self.decode(src)? {
            return Ok(Some(line));
        }
        self.scanned = 0;
        if self.discarding || src.is_empty() {
            src.clear();
            return Ok(None);
        }
        // A last line without an ending is still a line.
        let line = Self::strip_cr(src.split());
        if line.len() > self.max {
            return Err(Error::LineTooLong { max: self.max });
        }
        Ok(Some(line.freeze()))
    }

    fn encode(&mut self, msg: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        if msg.len() > self.max {
            return Err(Error::TooLargeToSend {
                size: msg.len() as u64,
                max: self.max,
            });
        }
        if memchr(b'\n', msg).is_some() {
            return Err(Error::Encode {
                format: "lines",
                reason: "a line message cannot contain a newline".into(),
            });
        }
        if msg.ends_with(b"\r") {
            // The receiver strips one CR before the LF: the message would
            // arrive changed, so it is refused instead.
            return Err(Error::Encode {
                format: "lines",
                reason: "a line message cannot end in a carriage return (a receiver strips it)"
                    .into(),
            });
        }
        dst.reserve(msg.len() + 1);
        dst.extend_from_slice(msg);
        dst.extend_from_slice(b"\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(lines: &mut Lines, src: &mut BytesMut) -> Vec<Result<Bytes, String>> {
        let mut out = Vec::new();
        loop {
            match lines.decode(src) {
                Ok(Some(line)) => out.push(Ok(line)),
                Ok(None) => return out,
                Err(e) => out.push(Err(e.to_string())),
            }
        }
    }

    #[test]
    fn crlf_and_lf_endings() {
        let mut lines = Lines::default();
        let mut src = BytesMut::from(&b"one\r\ntwo\n\nthree"[..]);
        let got = decode_all(&mut lines, &mut src);
        let want: Vec<Result<Bytes, String>> = vec![
            Ok(Bytes::from_static(b"one")),
            Ok(Bytes::from_static(b"two")),
            Ok(Bytes::from_static(b"")),
        ];
        assert_eq!(got, want);
        assert_eq!(
            lines.decode_eof(&mut src).unwrap().as_deref(),
            Some(&b"three"[..])
        );
    }

    #[test]
    fn exactly_max_with_crlf_is_a_line_and_one_more_byte_is_not() {
        let mut lines = Lines::new(3);
        let mut src = BytesMut::from(&b"abc\r\nabcd\nxy\n"[..]);
        let got = decode_all(&mut lines, &mut src);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_deref().ok(), Some(&b"abc"[..]));
        assert!(got[1].is_err());
        assert_eq!(got[2].as_deref().ok(), Some(&b"xy"[..]));
    }

    #[test]
    fn an_endless_line_is_reported_once_and_never_buffered() {
        let mut lines = Lines::new(8);
        let mut src = BytesMut::new();
        let mut errors = 0;
        for _ in 0..1000 {
            src.extend_from_slice(b"0123456789");
            while let Err(Error::LineTooLong { max: 8 }) | Ok(Some(_)) = lines.decode(&mut src) {
                errors += 1;
            }
            assert!(src.len() <= 10, "held {} bytes", src.len());
        }
        assert_eq!(errors, 1);
        src.extend_from_slice(b"tail\nnext\n");
        assert_eq!(
            lines.decode(&mut src).unwrap().as_deref(),
            Some(&b"next"[..])
        );
    }

    #[test]
    fn a_line_arriving_byte_by_byte() {
        let mut lines = Lines::default();
        let mut src = BytesMut::new();
        for &b in b"hello world" {
            src.extend_from_slice(&[b]);
            assert_eq!(lines.decode(&mut src).unwrap(), None);
        }
        src.extend_from_slice(b"\r\n");
        assert_eq!(
            lines.decode(&mut src).unwrap().as_deref(),
            Some(&b"hello world"[..])
        );
    }

    #[test]
    fn encode_refuses_newlines_and_long_lines() {
        let mut lines = Lines::new(4);
        let mut dst = BytesMut::new();
        assert!(matches!(
            lines.encode(b"a\nb", &mut dst),
            Err(Error::Encode { .. })
        ));
        assert!(matches!(
            lines.encode(b"ab\r", &mut dst),
            Err(Error::Encode { .. })
        ));
        assert!(dst.is_empty(), "a refused line writes nothing");
        assert!(matches!(
            lines.encode(b"abcde", &mut dst),
            Err(Error::TooLargeToSend { size: 5, max: 4 })
        ));
        lines.encode(b"abcd", &mut dst).unwrap();
        assert_eq!(&dst[..], b"abcd\n");
    }
}
