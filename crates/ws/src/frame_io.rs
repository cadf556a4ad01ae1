//! [`FrameIo`]: the byte stream under a WebSocket connection, which
//! tungstenite reads and writes, and the connection's own write side.
//!
//! - A server's data messages do not go through tungstenite: the
//!   connection writes their frames here ([`FrameIo::queue_message`]), a
//!   [prepared](WsMessage::prepare) message's shared compressed payload
//!   as it is. Server frames are not masked, so those bytes are the same
//!   for every connection. tungstenite writes the control frames (pings,
//!   pongs, the close), each after what was queued before it (through
//!   [`Outbound`] when compression is agreed, which passes them as they
//!   are): every write of its is taken whole, so a frame is never split by
//!   one queued after it. A client's tungstenite writes every frame.
//! - Once permessage-deflate is agreed, the frame layer ([`Inbound`],
//!   [`Outbound`]) rewrites what is read, and what a client's tungstenite
//!   writes.
//! - A client that offers compression reads its handshake's answer
//!   through it ([`FrameIo::until_head_end`]): tungstenite is given bytes
//!   up to the end of the response head and no further, so a server's
//!   first frames, compressed, come through the frame layer rather than
//!   into tungstenite's buffer with the head.
//!
//! While nothing waits to be written and nothing is agreed, it is the
//! stream itself and one pointer: an idle connection keeps no buffer here.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};

use crate::deflate::{
    push_frame_head, Compressor, Decompressor, DeflateConfig, DeflateParams, FrameError, Inbound,
    Outbound, MIN_WINDOW_BITS,
};
use crate::direct::{DirectSlot, DirectWriter, SharedDeflate};
use crate::WsMessage;

/// Which end of the connection this is: what it compresses with, and what
/// its peer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// The most bytes one read from the socket takes while compression is on.
const READ_CHUNK: usize = 16 << 10;

/// Bytes waiting for the socket past which the connection takes no more
/// messages until some are written: one write's worth, as tungstenite's
/// own write buffer on a server.
pub(crate) const WRITE_HIGH_WATER: usize = 64 << 10;

/// The stream under a WebSocket connection.
#[derive(Debug)]
pub(crate) struct FrameIo<S> {
    inner: S,
    /// Only while something is agreed, held or waiting to be written.
    state: Option<Box<State>>,
    /// Shared with the connection's [`DirectWriter`]s, once it has any:
    /// every write to the socket is then made holding its lock.
    direct: Option<Arc<DirectSlot>>,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    /// Bytes for the socket, from `out_at`: frames the connection queued,
    /// tungstenite's writes after them, and what the frame layer rewrote.
    out: Vec<u8>,
    out_at: usize,
    /// The task that last found `out` too full or not yet written, woken
    /// when a write by anyone makes progress: the halves of a split
    /// connection may run in two tasks, and the socket keeps one waker
    /// for writing, which tungstenite's own writes replace.
    waiter: Option<std::task::Waker>,
}

// Boxed whole in `FrameIo`: the small variants are short-lived (a
// handshake, a few bytes) and cost no more than the large one's box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Mode {
    /// The stream as it is.
    Plain,
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
    /// The inbound side failed: the error was given once, and the stream
    /// ends for reading.
    failed: bool,
    at_eof: bool,
}

impl State {
    fn new(mode: Mode) -> Box<Self> {
        Box::new(Self {
            mode,
            out: Vec::new(),
            out_at: 0,
            waiter: None,
        })
    }

    fn waiting(&self) -> usize {
        self.out.len() - self.out_at
    }
}

impl<S> FrameIo<S> {
    /// `inner` as it is.
    pub(crate) fn plain(inner: S) -> Self {
        Self {
            inner,
            state: None,
            direct: None,
        }
    }

    /// `inner` for a client's handshake: reads stop at the end of the
    /// response head, until [`deflating`](Self::deflating) or
    /// [`plain_after_head`](Self::plain_after_head) says what follows.
    pub(crate) fn until_head_end(inner: S) -> Self {
        let head = Mode::Head {
            held: Vec::new(),
            given: Vec::new(),
        };
        Self {
            inner,
            state: Some(State::new(head)),
            direct: None,
        }
    }

    /// After the handshake: no compression; what was read beyond the head
    /// is read first.
    pub(crate) fn plain_after_head(&mut self) {
        if let Some(state) = self.state.as_deref_mut() {
            if let Mode::Head { held, .. } = &mut state.mode {
                state.mode = if held.is_empty() {
                    Mode::Plain
                } else {
                    Mode::Prefix(std::mem::take(held))
                };
            }
        }
        self.settle();
    }

    /// Lets the state go once it holds nothing: an idle connection keeps
    /// one pointer.
    fn settle(&mut self) {
        if let Some(state) = self.state.as_deref() {
            if matches!(state.mode, Mode::Plain) && state.waiting() == 0 {
                self.state = None;
            }
        }
    }

    fn state_mut(&mut self) -> &mut State {
        self.state.get_or_insert_with(|| State::new(Mode::Plain))
    }

    /// What was read beyond the response head, taken.
    fn take_held(&mut self) -> Vec<u8> {
        match self.state.as_deref_mut().map(|s| &mut s.mode) {
            Some(Mode::Head { held, .. }) => std::mem::take(held),
            _ => Vec::new(),
        }
    }

    /// Turns on permessage-deflate as `params` agreed, on this `side`,
    /// with `config`'s threshold (messages under it go uncompressed) and
    /// level; none inflates past `max_message`. `already_read` is what
    /// came from the peer after the handshake's head (frames), with what
    /// this stream held back of it.
    pub(crate) fn deflating(
        &mut self,
        params: &DeflateParams,
        side: Side,
        config: &DeflateConfig,
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
        let threshold = if own.0 < MIN_WINDOW_BITS {
            usize::MAX
        } else {
            config.threshold
        };
        let deflating = Deflating {
            inbound: Inbound::new(Decompressor::new(peer.0, peer.1), max_message),
            outbound: Outbound::new(
                Compressor::new(own.0, own.1).with_level(config.level),
                threshold,
            ),
            read_pending,
            read_ready: Vec::new(),
            read_at: 0,
            write_pending: Vec::new(),
            failed: false,
            at_eof: false,
        };
        self.state_mut().mode = Mode::Deflating(deflating);
    }

    /// The stream under it.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }

    /// A writer that writes messages to `socket` (this stream's own) at
    /// once while nothing waits here: none while the handshake is not
    /// settled, or when each message is compressed with the context of the
    /// ones before (those only the connection's task may write).
    pub(crate) fn direct_writer(
        &mut self,
        socket: switchyard_rt::net::WriteHandle,
        max_message: Option<usize>,
    ) -> Option<DirectWriter> {
        let deflate = match self.state.as_deref_mut().map(|s| &mut s.mode) {
            None | Some(Mode::Plain) => None,
            Some(Mode::Deflating(d)) => {
                let threshold = d.outbound.threshold();
                let compressor = d.outbound.compressor();
                if compressor.keeps_context() {
                    return None;
                }
                Some(SharedDeflate {
                    window_bits: compressor.window_bits(),
                    level: compressor.level(),
                    threshold,
                })
            }
            Some(Mode::Head { .. } | Mode::Prefix(_)) => return None,
        };
        let slot = self
            .direct
            .get_or_insert_with(|| Arc::new(DirectSlot::new(socket, deflate, max_message)));
        Some(DirectWriter(slot.clone()))
    }

    /// Tells the direct writers that bytes wait here.
    fn mark_waiting(&self) {
        if let Some(slot) = &self.direct {
            slot.lock().waiting = true;
        }
    }

    /// Queues `msg` as one unmasked frame (a server's), compressed when
    /// permessage-deflate is agreed and it is over the threshold; when it
    /// is [prepared](WsMessage::prepare) and this side keeps no context
    /// between messages, with the compressed payload every such connection
    /// shares.
    pub(crate) fn queue_message(&mut self, msg: &WsMessage) {
        let opcode = if msg.is_text() { 0x1 } else { 0x2 };
        let payload = msg.data();
        let state = self.state_mut();
        if let Mode::Deflating(d) = &mut state.mode {
            if d.outbound.compresses(payload.len()) {
                let compressor = d.outbound.compressor();
                match msg.prepared() {
                    Some(prepared) if !compressor.keeps_context() => {
                        let compressed =
                            prepared.compressed(compressor.window_bits(), compressor.level());
                        push_frame_head(&mut state.out, 0xc0 | opcode, None, compressed.len());
                        state.out.extend_from_slice(&compressed);
                    }
                    _ => {
                        let mut compressed = Vec::new();
                        compressor.compress(payload, &mut compressed);
                        push_frame_head(&mut state.out, 0xc0 | opcode, None, compressed.len());
                        state.out.extend_from_slice(&compressed);
                    }
                }
                self.mark_waiting();
                return;
            }
        }
        push_frame_head(&mut state.out, 0x80 | opcode, None, payload.len());
        state.out.extend_from_slice(payload);
        self.mark_waiting();
    }
}

impl<S> Drop for FrameIo<S> {
    /// Its direct writers write no more to a connection that is gone.
    fn drop(&mut self) {
        if let Some(slot) = &self.direct {
            slot.lock().stopped = true;
        }
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

/// Whether `frames`, a server's whole unmasked frames, hold a close.
fn has_close_frame(mut frames: &[u8]) -> bool {
    while frames.len() >= 2 {
        if frames[0] & 0x0f == 0x8 {
            return true;
        }
        let masked = frames[1] & 0x80 != 0;
        let (len, head) = match frames[1] & 0x7f {
            126 if frames.len() >= 4 => (u64::from(u16::from_be_bytes([frames[2], frames[3]])), 4),
            127 if frames.len() >= 10 => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&frames[2..10]);
                (u64::from_be_bytes(len), 10)
            }
            126 | 127 => return false,
            len => (u64::from(len), 2),
        };
        let head = head + if masked { 4 } else { 0 };
        let Some(next) = usize::try_from(len).ok().and_then(|l| l.checked_add(head)) else {
            return false;
        };
        frames = frames.get(next..).unwrap_or_default();
    }
    false
}

/// Frees a buffer that has been taken whole, so an idle connection keeps
/// none.
fn taken(buf: &mut Vec<u8>, at: &mut usize) {
    if *at >= buf.len() {
        *buf = Vec::new();
        *at = 0;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(state) = this.state.as_deref_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        let d = match &mut state.mode {
            Mode::Plain => return Pin::new(&mut this.inner).poll_read(cx, buf),
            Mode::Head { held, given } => {
                return poll_read_head(Pin::new(&mut this.inner), cx, buf, held, given)
            }
            Mode::Prefix(prefix) => {
                let n = buf.len().min(prefix.len());
                buf[..n].copy_from_slice(&prefix[..n]);
                prefix.drain(..n);
                if prefix.is_empty() {
                    state.mode = Mode::Plain;
                    this.settle();
                }
                return Poll::Ready(Ok(n));
            }
            Mode::Deflating(d) => d,
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

/// The longest response head a client reads through [`Mode::Head`].
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

impl<S: AsyncWrite + Unpin> FrameIo<S> {
    /// Writes out what waits, all of it: for the connection's sink, which
    /// is woken by any write that gets through after this one could not.
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_drain(cx, true)
    }

    /// Writes out what waits; `wait` says whether the caller is to be
    /// woken by another's progress (the sink's), or only by the socket
    /// (tungstenite, which waits through its own writes).
    fn poll_drain(&mut self, cx: &mut Context<'_>, wait: bool) -> Poll<io::Result<()>> {
        // Held around every write while direct writers exist: the end of
        // one's write that the socket did not take goes first.
        let mut slot = self.direct.as_deref().map(DirectSlot::lock);
        if let Some(slot) = slot.as_mut().filter(|s| !s.remainder.is_empty()) {
            let state = self.state.get_or_insert_with(|| State::new(Mode::Plain));
            let mut out = std::mem::take(&mut slot.remainder);
            out.extend_from_slice(&state.out[state.out_at..]);
            state.out = out;
            state.out_at = 0;
        }
        let Some(state) = self.state.as_deref_mut() else {
            return Poll::Ready(Ok(()));
        };
        if let Some(slot) = slot.as_mut() {
            slot.waiting = state.out_at < state.out.len();
        }
        while state.out_at < state.out.len() {
            let written = Pin::new(&mut self.inner).poll_write(cx, &state.out[state.out_at..]);
            let n = match written {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if wait {
                        state.waiter = Some(cx.waker().clone());
                    }
                    return Poll::Pending;
                }
            };
            state.out_at += n;
            // Whoever waits for room or for the flush may go on.
            if let Some(waiter) = state.waiter.take() {
                if !waiter.will_wake(cx.waker()) {
                    waiter.wake();
                }
            }
        }
        taken(&mut state.out, &mut state.out_at);
        if let Some(slot) = slot.as_mut() {
            slot.waiting = false;
        }
        drop(slot);
        self.settle();
        Poll::Ready(Ok(()))
    }

    /// Ready while fewer than [`WRITE_HIGH_WATER`] bytes wait; past that,
    /// once all that waits is written: whether the connection takes
    /// another message.
    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let waiting = self.state.as_deref().map_or(0, State::waiting);
        if waiting < WRITE_HIGH_WATER {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_out(cx)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameIo<S> {
    /// Takes every write of tungstenite's whole (or none of it): a frame
    /// it wrote is never split by one the connection queues after it.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // What was queued before goes out first; while too much waits,
        // tungstenite keeps its bytes.
        if let Poll::Ready(result) = this.poll_drain(cx, false) {
            result?;
        }
        let waiting = this.state.as_deref().map_or(0, State::waiting);
        if waiting >= WRITE_HIGH_WATER {
            return Poll::Pending;
        }
        let deflating = matches!(
            this.state.as_deref().map(|s| &s.mode),
            Some(Mode::Deflating(_))
        );
        if let Some(slot) = &this.direct {
            // tungstenite's close ends the direct writes; every write of its
            // is whole frames (taken whole here), so its headers are found.
            let mut slot = slot.lock();
            slot.waiting = true;
            if has_close_frame(buf) {
                slot.stopped = true;
            }
        }
        if waiting == 0 && !deflating && this.direct.is_none() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
            if n < buf.len() {
                this.state_mut().out.extend_from_slice(&buf[n..]);
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let state = this.state_mut();
        match &mut state.mode {
            Mode::Deflating(d) => {
                d.write_pending.extend_from_slice(buf);
                let n = d.outbound.rewrite(&d.write_pending, &mut state.out);
                d.write_pending.drain(..n);
                if d.write_pending.is_empty() {
                    d.write_pending = Vec::new();
                }
            }
            _ => state.out.extend_from_slice(buf),
        }
        // Started now; finished by the next write or the flush. The bytes
        // are taken: an error is the next call's to give.
        let _ = this.poll_drain(cx, false);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx, false))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx, false))?;
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
            let mut io = FrameIo::until_head_end(Cursor::new(bytes));
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
            let mut io = FrameIo::until_head_end(Cursor::new(bytes));
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

    /// A socket that takes at most `per_write` bytes a call, and on every
    /// other call none (pending, waking at once): what a full socket does.
    struct Trickle {
        written: Vec<u8>,
        per_write: usize,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(self.per_write);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn trickle() -> FrameIo<Trickle> {
        FrameIo::plain(Trickle {
            written: Vec::new(),
            per_write: 3,
            calls: 0,
        })
    }

    /// A server's frames, each `(first byte, payload)`, as written.
    fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let b0 = bytes[0];
            let (len, at) = match bytes[1] & 0x7f {
                126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
                127 => (
                    usize::try_from(u64::from_be_bytes(bytes[2..10].try_into().unwrap())).unwrap(),
                    10,
                ),
                short => (usize::from(short), 2),
            };
            assert_eq!(bytes[1] & 0x80, 0, "a server's frame is not masked");
            frames.push((b0, bytes[at..at + len].to_vec()));
            bytes = &bytes[at + len..];
        }
        frames
    }

    /// Frames the connection queues and what tungstenite writes between
    /// them reach the socket whole and in order, however little it takes a
    /// call, and nothing is kept once they are out.
    #[test]
    fn queued_frames_and_tungstenite_writes_keep_their_order_whole() {
        futures::executor::block_on(async {
            use futures::io::AsyncWriteExt;
            let mut io = trickle();
            io.queue_message(&WsMessage::text("first"));
            let pong = [0x8a, 0x02, b'o', b'k'];
            io.write_all(&pong).await.unwrap();
            io.queue_message(&WsMessage::binary(vec![7u8; 300]));
            io.write_all(&[0x88, 0x00]).await.unwrap();
            io.flush().await.unwrap();
            assert!(io.state.is_none(), "an idle connection keeps no buffer");
            let written = frames(&io.inner.written);
            assert_eq!(
                written,
                vec![
                    (0x81, b"first".to_vec()),
                    (0x8a, b"ok".to_vec()),
                    (0x82, vec![7u8; 300]),
                    (0x88, Vec::new()),
                ]
            );
        });
    }

    fn deflating_server(offer: &str) -> FrameIo<Vec<u8>> {
        let params =
            crate::deflate::accept_offer([offer], &crate::deflate::DeflateConfig::default())
                .expect("agreed");
        let mut io = FrameIo::plain(Vec::new());
        io.deflating(&params, Side::Server, &threshold_64(), 1 << 20, &[]);
        io
    }

    fn threshold_64() -> DeflateConfig {
        DeflateConfig {
            threshold: 64,
            ..Default::default()
        }
    }

    fn inflate(payload: &[u8], window_bits: u8) -> Vec<u8> {
        let mut out = Vec::new();
        Decompressor::new(window_bits, true)
            .inflate(payload, true, 1 << 20, &mut out)
            .expect("inflates");
        out
    }

    /// A prepared message is compressed once: every connection with the
    /// same window writes the same bytes, the prepared ones; a connection
    /// with another window gets its own, and a message under the
    /// threshold goes as it is.
    #[test]
    fn a_prepared_message_is_compressed_once_for_every_connection() {
        futures::executor::block_on(async {
            use futures::io::AsyncWriteExt;
            // 2,000 letters twice over: the repeat is out of a 10-bit
            // window's reach, so the two windows' bytes differ.
            let mut seed = 7u32;
            let block: String = (0..2000)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    char::from(b'a' + (seed >> 16) as u8 % 26)
                })
                .collect();
            let text = block.repeat(2);
            let msg = WsMessage::text(text.clone()).prepare();
            let small = WsMessage::text("hi").prepare();
            let mut written = Vec::new();
            for offer in [
                "permessage-deflate",
                "permessage-deflate",
                "permessage-deflate; server_max_window_bits=10",
            ] {
                let mut io = deflating_server(offer);
                io.queue_message(&msg.clone());
                io.queue_message(&small.clone());
                io.flush().await.unwrap();
                written.push(frames(&io.inner));
            }
            assert_eq!(written[0], written[1]);
            let prepared = msg.prepared().expect("prepared");
            assert_eq!(written[0][0], (0xc1, prepared.compressed(15, 6).to_vec()));
            assert_eq!(written[2][0], (0xc1, prepared.compressed(10, 6).to_vec()));
            assert_ne!(written[0][0], written[2][0]);
            assert_eq!(inflate(&written[0][0].1, 15), text.as_bytes());
            assert_eq!(inflate(&written[2][0].1, 10), text.as_bytes());
            assert_eq!(written[0][1], (0x81, b"hi".to_vec()));
        });
    }

    /// With context takeover the connection compresses for itself: the
    /// same message again is smaller, which a shared form could not be.
    #[test]
    fn with_context_takeover_each_connection_compresses_for_itself() {
        futures::executor::block_on(async {
            use futures::io::AsyncWriteExt;
            let params = crate::deflate::accept_offer(
                ["permessage-deflate"],
                &crate::deflate::DeflateConfig {
                    no_context_takeover: false,
                    ..Default::default()
                },
            )
            .expect("agreed");
            assert!(!params.server_no_context_takeover);
            let mut io = FrameIo::plain(Vec::new());
            io.deflating(&params, Side::Server, &threshold_64(), 1 << 20, &[]);
            let msg =
                WsMessage::text("a message long enough to be compressed, twice over; ".repeat(3))
                    .prepare();
            io.queue_message(&msg);
            io.queue_message(&msg);
            io.flush().await.unwrap();
            let written = frames(&io.inner);
            assert!(written[1].1.len() < written[0].1.len(), "{written:?}");
            assert_eq!(
                written[0].1,
                msg.prepared().unwrap().compressed(15, 6).to_vec()
            );
            let mut inflater = Decompressor::new(15, false);
            for (_, payload) in &written {
                let mut out = Vec::new();
                inflater.inflate(payload, true, 1 << 20, &mut out).unwrap();
                assert_eq!(out, msg.data().as_ref());
            }
        });
    }

    /// A socket with one write waker, as a reactor keeps: full until
    /// opened, each pending write replacing the waker before it.
    #[derive(Default)]
    struct Gate {
        open: bool,
        written: usize,
        waker: Option<std::task::Waker>,
    }

    impl AsyncWrite for Gate {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if !self.open {
                self.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            self.written += buf.len();
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    struct Woken(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Woken {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// The halves of a split connection in two tasks: the writer waits for
    /// room, the reader's tungstenite then writes (a pong) and takes the
    /// socket's only waker; once the reader's write gets through, the
    /// writer is woken too.
    #[test]
    fn a_writer_waiting_for_room_is_woken_by_the_readers_write() {
        use std::sync::atomic::Ordering;
        use std::sync::Arc;
        let mut io = FrameIo::plain(Gate::default());
        io.queue_message(&WsMessage::binary(vec![0u8; WRITE_HIGH_WATER]));
        let writer = Arc::new(Woken(0.into()));
        let writer_waker = std::task::Waker::from(writer.clone());
        let reader = std::task::Waker::from(Arc::new(Woken(0.into())));
        assert!(io
            .poll_room(&mut Context::from_waker(&writer_waker))
            .is_pending());
        let pong = [0x8a, 0x00];
        let mut reading = Context::from_waker(&reader);
        assert!(Pin::new(&mut io)
            .poll_write(&mut reading, &pong)
            .is_pending());
        // The socket opens; it wakes the reader alone, whose write goes on.
        io.inner.open = true;
        assert!(matches!(
            Pin::new(&mut io).poll_write(&mut reading, &pong),
            Poll::Ready(Ok(2))
        ));
        assert_eq!(writer.0.load(Ordering::SeqCst), 1, "the writer was woken");
        assert!(io
            .poll_room(&mut Context::from_waker(&writer_waker))
            .is_ready());
        // The message (a 10-byte header: 64 KiB needs 8 bytes of length), then the pong.
        assert_eq!(io.inner.written, WRITE_HIGH_WATER + 10 + 2);
    }
}
