//! [`DeflateIo`]: the byte stream tungstenite reads and writes, with the
//! frame layer ([`Inbound`], [`Outbound`]) on it once permessage-deflate
//! is agreed; the stream itself, at the cost of one pointer, when it is not.
//!
//! A client that offers compression reads its handshake's answer through
//! it too ([`DeflateIo::until_head_end`]): tungstenite is given bytes up
//! to the end of the response head and no further, so a server's first
//! frames, compressed, come through the frame layer rather than into
//! tungstenite's buffer with the head.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};

use super::{Compressor, Decompressor, DeflateParams, FrameError, Inbound, Outbound};

/// Which end of the connection this is: what it compresses with, and what
/// its peer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// The most bytes one read from the socket takes while compression is on.
const READ_CHUNK: usize = 16 << 10;

/// The stream under a WebSocket connection.
#[derive(Debug)]
pub(crate) struct DeflateIo<S> {
    inner: S,
    state: Option<Box<State>>,
}

// Boxed whole in `DeflateIo`: the small variants are short-lived (a
// handshake, a few bytes) and cost no more than the large one's box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum State {
    /// A client's handshake: reads end at the end of the response head;
    /// what came after it waits in `held`.
    Head {
        held: Vec<u8>,
        /// The head given so far, to tell (as tungstenite does, with
        /// httparse) when it is whole.
        given: Vec<u8>,
    },
    /// No compression, these bytes first, then the stream.
    Prefix(Vec<u8>),
    Deflating(Deflating),
}

#[derive(Debug)]
struct Deflating {
    inbound: Inbound,
    outbound: Outbound,
    /// Bytes from the socket the inbound side has not taken yet (an
    /// incomplete compressed frame).
    read_pending: Vec<u8>,
    /// Rewritten bytes for tungstenite, from `read_at`.
    read_ready: Vec<u8>,
    read_at: usize,
    /// Bytes from tungstenite the outbound side has not taken yet.
    write_pending: Vec<u8>,
    /// Rewritten bytes for the socket, from `write_at`.
    write_ready: Vec<u8>,
    write_at: usize,
    /// The inbound side failed: the error was given once, and the stream
    /// ends for reading.
    failed: bool,
    at_eof: bool,
}

impl<S> DeflateIo<S> {
    /// `inner` as it is.
    pub(crate) fn plain(inner: S) -> Self {
        Self { inner, state: None }
    }

    /// `inner` for a client's handshake: reads stop at the end of the
    /// response head, until [`deflating`](Self::deflating) or
    /// [`plain_after_head`](Self::plain_after_head) says what follows.
    pub(crate) fn until_head_end(inner: S) -> Self {
        let head = State::Head {
            held: Vec::new(),
            given: Vec::new(),
        };
        Self {
            inner,
            state: Some(Box::new(head)),
        }
    }

    /// After the handshake: no compression; what was read beyond the head
    /// is read first.
    pub(crate) fn plain_after_head(&mut self) {
        self.state = match self.state.take().map(|s| *s) {
            Some(State::Head { held, .. }) if !held.is_empty() => {
                Some(Box::new(State::Prefix(held)))
            }
            _ => None,
        };
    }

    /// What was read beyond the response head, taken.
    fn take_held(&mut self) -> Vec<u8> {
        match self.state.as_deref_mut() {
            Some(State::Head { held, .. }) => std::mem::take(held),
            _ => Vec::new(),
        }
    }

    /// Turns on permessage-deflate as `params` agreed, on this `side`;
    /// messages under `threshold` bytes go uncompressed, and none inflates
    /// past `max_message`. `already_read` is what came from the peer
    /// after the handshake's head (frames), with what this stream held
    /// back of it.
    pub(crate) fn deflating(
        &mut self,
        params: &DeflateParams,
        side: Side,
        threshold: usize,
        max_message: usize,
        already_read: &[u8],
    ) {
        let mut read_pending = already_read.to_vec();
        read_pending.extend_from_slice(&self.take_held());
        let server = (
            params.server_max_window_bits,
            params.server_no_context_takeover,
        );
        let client = (
            params.client_max_window_bits,
            params.client_no_context_takeover,
        );
        let (own, peer) = match side {
            Side::Server => (server, client),
            Side::Client => (client, server),
        };
        // A window zlib cannot make (8 bits): this side sends uncompressed.
        let threshold = if own.0 < super::MIN_WINDOW_BITS {
            usize::MAX
        } else {
            threshold
        };
        let deflating = Deflating {
            inbound: Inbound::new(Decompressor::new(peer.0, peer.1), max_message),
            outbound: Outbound::new(Compressor::new(own.0, own.1), threshold),
            read_pending,
            read_ready: Vec::new(),
            read_at: 0,
            write_pending: Vec::new(),
            write_ready: Vec::new(),
            write_at: 0,
            failed: false,
            at_eof: false,
        };
        self.state = Some(Box::new(State::Deflating(deflating)));
    }
}

/// A failure of the inbound side, as the I/O error tungstenite passes on:
/// its [`FrameError`] (the close code) inside.
fn frame_failure(e: FrameError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The close code and reason of an I/O error that is the frame layer's.
pub(crate) fn frame_error(e: &io::Error) -> Option<&FrameError> {
    e.get_ref()?.downcast_ref::<FrameError>()
}

/// Frees a buffer that has been taken whole, so an idle connection keeps
/// none.
fn taken(buf: &mut Vec<u8>, at: &mut usize) {
    if *at >= buf.len() {
        *buf = Vec::new();
        *at = 0;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DeflateIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let d = match this.state.as_deref_mut() {
            None => return Pin::new(&mut this.inner).poll_read(cx, buf),
            Some(State::Head { held, given }) => {
                return poll_read_head(Pin::new(&mut this.inner), cx, buf, held, given)
            }
            Some(State::Prefix(prefix)) => {
                let n = buf.len().min(prefix.len());
                buf[..n].copy_from_slice(&prefix[..n]);
                prefix.drain(..n);
                if prefix.is_empty() {
                    this.state = None;
                }
                return Poll::Ready(Ok(n));
            }
            Some(State::Deflating(d)) => d,
        };
        loop {
            if d.read_at < d.read_ready.len() {
                let n = buf.len().min(d.read_ready.len() - d.read_at);
                buf[..n].copy_from_slice(&d.read_ready[d.read_at..d.read_at + n]);
                d.read_at += n;
                taken(&mut d.read_ready, &mut d.read_at);
                return Poll::Ready(Ok(n));
            }
            if d.failed || d.at_eof {
                return Poll::Ready(Ok(0));
            }
            if !d.read_pending.is_empty() {
                let before = d.read_ready.len();
                match d.inbound.rewrite(&d.read_pending, &mut d.read_ready) {
                    Ok(n) => {
                        d.read_pending.drain(..n);
                        if d.read_pending.is_empty() {
                            d.read_pending = Vec::new();
                        }
                        if d.read_ready.len() > before {
                            continue;
                        }
                    }
                    Err(e) => {
                        d.failed = true;
                        d.read_pending = Vec::new();
                        return Poll::Ready(Err(frame_failure(e)));
                    }
                }
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
            if n == 0 {
                d.at_eof = true;
                continue;
            }
            d.read_pending.extend_from_slice(&chunk[..n]);
        }
    }
}

/// The longest response head a client reads through [`State::Head`].
const MAX_HEAD: usize = 64 << 10;

/// Whether `head` is a whole response head, as httparse (and so
/// tungstenite) reads one.
fn is_whole_head(head: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    matches!(
        httparse::Response::new(&mut headers).parse(head),
        Ok(httparse::Status::Complete(_))
    )
}

/// A read during a client's handshake: bytes up to the end of the
/// response head at most, what follows it held back.
fn poll_read_head<S: AsyncRead + Unpin>(
    mut inner: Pin<&mut S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    held: &mut Vec<u8>,
    given: &mut Vec<u8>,
) -> Poll<io::Result<usize>> {
    if is_whole_head(given) {
        // tungstenite has its head, and reads no more before the switch.
        return Poll::Ready(Err(io::Error::other("a read past the handshake's head")));
    }
    if held.is_empty() {
        let mut chunk = [0u8; 1024];
        let n = ready!(inner.as_mut().poll_read(cx, &mut chunk))?;
        if n == 0 {
            return Poll::Ready(Ok(0));
        }
        held.extend_from_slice(&chunk[..n]);
    }
    let mut n = 0;
    while n < buf.len() && n < held.len() {
        let byte = held[n];
        buf[n] = byte;
        given.push(byte);
        n += 1;
        // A head ends with a line feed: only then can it be whole.
        if byte == b'\n' && is_whole_head(given) {
            break;
        }
        if given.len() > MAX_HEAD {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the handshake's answer is over 64 KiB",
            )));
        }
    }
    held.drain(..n);
    Poll::Ready(Ok(n))
}

impl<S: AsyncWrite + Unpin> DeflateIo<S> {
    /// Writes out what the outbound side has rewritten.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(State::Deflating(d)) = self.state.as_deref_mut() else {
            return Poll::Ready(Ok(()));
        };
        while d.write_at < d.write_ready.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &d.write_ready[d.write_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            d.write_at += n;
        }
        taken(&mut d.write_ready, &mut d.write_at);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeflateIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !matches!(this.state.as_deref(), Some(State::Deflating(_))) {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        // What was rewritten before goes out first: what waits here is at
        // most one write of tungstenite's and an incomplete frame.
        ready!(this.poll_drain(cx))?;
        let Some(State::Deflating(d)) = this.state.as_deref_mut() else {
            return Poll::Ready(Ok(0));
        };
        d.write_pending.extend_from_slice(buf);
        let n = d.outbound.rewrite(&d.write_pending, &mut d.write_ready);
        d.write_pending.drain(..n);
        if d.write_pending.is_empty() {
            d.write_pending = Vec::new();
        }
        // Started now; finished by the next write or the flush.
        let _ = this.poll_drain(cx)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::{AsyncReadExt, Cursor};

    /// A client offering compression reads its handshake's answer no
    /// further than the head: the frame after it waits for the layer, and
    /// reading on before the switch is an error, not a silent wait.
    #[test]
    fn a_handshake_read_stops_at_the_end_of_the_head() {
        futures::executor::block_on(async {
            let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
            let mut bytes = head.to_vec();
            bytes.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
            let mut io = DeflateIo::until_head_end(Cursor::new(bytes));
            let mut read = Vec::new();
            let mut buf = [0u8; 4096];
            while read.len() < head.len() {
                let n = io.read(&mut buf).await.unwrap();
                assert!(n > 0);
                read.extend_from_slice(&buf[..n]);
            }
            assert_eq!(read, head);
            assert!(io.read(&mut buf).await.is_err());
            // No compression agreed: the frame comes next, as it was.
            io.plain_after_head();
            let n = io.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[0x81, 0x02, b'h', b'i']);
        });
    }

    #[test]
    fn a_handshake_answer_over_64_kib_is_refused() {
        futures::executor::block_on(async {
            let mut bytes = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
            while bytes.len() <= MAX_HEAD {
                bytes.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
            }
            let mut io = DeflateIo::until_head_end(Cursor::new(bytes));
            let mut buf = [0u8; 4096];
            let error = loop {
                match io.read(&mut buf).await {
                    Ok(n) => assert!(n > 0, "ended before the limit"),
                    Err(e) => break e,
                }
            };
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        });
    }
}
