//! [`WsConnection`]: a WebSocket as a stream and sink of [`WsMessage`]s.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, Stream};
use switchyard_frame::{Error, Keepalive};
use switchyard_rt::{Shutdown, ShutdownWait};

use crate::frame_io::{frame_error, FrameIo, Side};
use crate::heartbeat::{Beat, Heartbeat};
use crate::{FixedKind, HeartbeatConfig, MessageKind, WsMessage};

/// The code and reason of a WebSocket close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// The close code (1000 normal, 1001 going away, 1008 policy, 1009 too
    /// big, 1011 server error, ...).
    pub code: u16,
    /// The reason text, at most 123 bytes.
    pub reason: String,
}

/// A WebSocket connection: a `Stream` of received [`WsMessage`]s and a
/// `Sink` of messages to send, each with its kind (text or binary). For
/// the message interface every switchyard transport shares (bytes in and
/// out), take a fixed-kind view: [`binary`](Self::binary) or
/// [`text`](Self::text).
///
/// Around tungstenite it adds what a server needs of every connection:
/// - heartbeats ([`HeartbeatConfig`]): pings when quiet, and a dead peer is
///   an [`Error::Io`] of kind `TimedOut`;
/// - close codes for what goes wrong: a message over the maximum closes
///   with 1009, a protocol violation with 1002, text that is not UTF-8 with
///   1007, a server shutdown with 1001;
/// - the peer's own close code and reason, in [`peer_close`](Self::peer_close).
///
/// Pings from the peer are answered by tungstenite; pings, pongs and close
/// frames never appear in the stream.
///
/// A server writes its data frames itself, beneath tungstenite, which
/// writes the control frames: a [prepared](WsMessage::prepare) message
/// sent to many connections is compressed once for all of them.
#[derive(Debug)]
pub struct WsConnection<S> {
    inner: WebSocketStream<FrameIo<S>>,
    heartbeat: Option<Heartbeat>,
    /// Whether the reader is waiting for data (its last poll was pending),
    /// so that a silent peer is really silent; not while it holds a message
    /// it has not passed on.
    caught_up: bool,
    /// Fires when the server shuts down: the connection then closes with
    /// 1001, unless a handler took it over ([`WsConnection::take_shutdown`]).
    shutdown: Option<ShutdownWait>,
    /// A close frame to send as soon as the sink has room.
    pending_close: Option<CloseFrame>,
    closing: bool,
    peer_close: Option<CloseReason>,
    ended: bool,
    /// A server's data frames are written by the connection, unmasked
    /// ([`FrameIo::queue_message`]); a client's by tungstenite.
    writes_frames: bool,
    /// tungstenite's close is done: what is left is the frame layer's.
    sink_closed: bool,
}

impl<S> WsConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps an open WebSocket (after its handshake). Not public: the
    /// tungstenite type underneath is this crate's to change.
    pub(crate) fn new(inner: WebSocketStream<FrameIo<S>>, side: Side) -> Self {
        Self {
            writes_frames: side == Side::Server,
            sink_closed: false,
            inner,
            heartbeat: None,
            caught_up: true,
            shutdown: None,
            pending_close: None,
            closing: false,
            peer_close: None,
            ended: false,
        }
    }

    /// This connection as a message connection of bytes, every message
    /// sent as binary (received text arrives as its bytes).
    pub fn binary(self) -> FixedKind<S> {
        FixedKind::new(self, MessageKind::Binary)
    }

    /// This connection as a message connection of bytes, every message
    /// sent as text (bytes that are not UTF-8 are refused).
    pub fn text(self) -> FixedKind<S> {
        FixedKind::new(self, MessageKind::Text)
    }

    /// This connection as a message connection of bytes, every message
    /// sent as `kind`.
    pub fn fixed_kind(self, kind: MessageKind) -> FixedKind<S> {
        FixedKind::new(self, kind)
    }

    /// Pings the peer when quiet and drops it when dead (see
    /// [`HeartbeatConfig`]). The heartbeat runs while the stream is polled.
    pub fn with_heartbeat(mut self, config: HeartbeatConfig) -> Self {
        self.heartbeat = Some(Heartbeat::new(config));
        self
    }

    /// Closes with 1001 ("going away") once `shutdown` is triggered. A
    /// [`websocket`](crate::websocket) route gives each of its connections
    /// its server's shutdown signal; a client can be given one too.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown.wait());
        self
    }

    /// Takes over the server's shutdown signal: the connection no longer
    /// closes itself with 1001 when the server shuts down, and the handler
    /// decides what happens then (a relay delivers what it has already
    /// taken, then closes). `None` for a connection given no signal
    /// ([`with_shutdown`](Self::with_shutdown)), or taken already.
    pub fn take_shutdown(&mut self) -> Option<ShutdownWait> {
        self.shutdown.take()
    }

    /// The code and reason the peer closed with, once it has.
    pub fn peer_close(&self) -> Option<&CloseReason> {
        self.peer_close.as_ref()
    }

    /// Starts the close handshake with `code` and `reason` (cut to the 123
    /// bytes a close frame holds); the stream ends once the peer answers.
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        self.pending_close = Some(close_frame(code, reason));
        futures::future::poll_fn(|cx| self.poll_pending_close(cx)).await?;
        futures::future::poll_fn(|cx| Pin::new(&mut self.inner).poll_flush(cx))
            .await
            .map_err(map_error)
    }

    /// Queues the pending close frame, if any, and starts flushing it.
    fn poll_pending_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.pending_close.is_none() {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut self.inner).poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(map_error(e))),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(frame) = self.pending_close.take() {
            self.closing = true;
            Pin::new(&mut self.inner)
                .start_send(Message::Close(Some(frame)))
                .map_err(map_error)?;
            let _ = Pin::new(&mut self.inner).poll_flush(cx);
        }
        Poll::Ready(Ok(()))
    }

    /// Begins closing with `code` unless a close is already under way.
    fn begin_close(&mut self, cx: &mut Context<'_>, code: u16, reason: &str) {
        if !self.closing && self.pending_close.is_none() {
            self.pending_close = Some(close_frame(code, reason));
            let _ = self.poll_pending_close(cx);
        }
    }

    /// Runs the shutdown signal and sends a close that is due.
    fn poll_signals(&mut self, cx: &mut Context<'_>) {
        if let Some(signal) = &mut self.shutdown {
            if Pin::new(signal).poll(cx).is_ready() {
                self.shutdown = None;
                self.begin_close(cx, 1001, "shutting down");
            }
        }
        if self.pending_close.is_some() {
            let _ = self.poll_pending_close(cx);
        }
    }

    /// Runs the heartbeat; an error when the peer is dead.
    fn poll_heartbeat(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        if self.closing || self.peer_close.is_some() {
            // Nothing more may be sent once a close is out either way;
            // waiting for the close's answer is the closer's to bound.
            return None;
        }
        let heartbeat = self.heartbeat.as_mut()?;
        match heartbeat.poll(cx, self.caught_up) {
            Poll::Ready(Beat::SendPing) => {
                // A ping that cannot be written is a peer that is gone.
                let sent = match Pin::new(&mut self.inner).poll_ready(cx) {
                    Poll::Ready(Ok(())) => Pin::new(&mut self.inner)
                        .start_send(Message::Ping(Bytes::new()))
                        .and_then(|()| match Pin::new(&mut self.inner).poll_flush(cx) {
                            Poll::Ready(Err(e)) => Err(e),
                            _ => Ok(()),
                        }),
                    Poll::Ready(Err(e)) => Err(e),
                    Poll::Pending => Ok(()),
                };
                if let Err(e) = sent {
                    self.heartbeat = None;
                    return Some(map_error(e));
                }
                // Poll again so the timer is armed for the pong's deadline.
                let _ = heartbeat.poll(cx, self.caught_up);
                None
            }
            Poll::Ready(Beat::Dead) => {
                let config = heartbeat.config();
                self.heartbeat = None;
                Some(Error::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "peer silent for {:?} after a ping (heartbeat every {:?})",
                        config.timeout, config.interval
                    ),
                )))
            }
            Poll::Pending => None,
        }
    }
}

impl<S> Stream for WsConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<WsMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return this.poll_end(cx);
        }
        this.poll_signals(cx);
        loop {
            let msg = match Pin::new(&mut this.inner).poll_next(cx) {
                // The heartbeat's verdict comes once everything that has
                // arrived was read: a pong may have been among it.
                Poll::Pending => {
                    this.caught_up = true;
                    if let Some(dead) = this.poll_heartbeat(cx) {
                        this.ended = true;
                        return Poll::Ready(Some(Err(dead)));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    return this.poll_end(cx);
                }
                Poll::Ready(Some(Ok(msg))) => msg,
                Poll::Ready(Some(Err(e))) => {
                    let (code, reason) = close_code_for(&e);
                    let error = map_error(e);
                    match code {
                        Some(code) => this.begin_close(cx, code, &reason),
                        None => this.ended = true,
                    }
                    return match error {
                        Error::Closed => {
                            this.ended = true;
                            this.poll_end(cx)
                        }
                        error => Poll::Ready(Some(Err(error))),
                    };
                }
            };
            if let Some(heartbeat) = &mut this.heartbeat {
                heartbeat.saw_frame();
            }
            match msg {
                Message::Binary(bytes) => {
                    this.caught_up = false;
                    return Poll::Ready(Some(Ok(WsMessage::binary(bytes))));
                }
                Message::Text(text) => {
                    this.caught_up = false;
                    return Poll::Ready(Some(Ok(WsMessage::from_utf8_bytes(text))));
                }
                Message::Close(frame) => {
                    this.peer_close = Some(match frame {
                        Some(f) => CloseReason {
                            code: f.code.into(),
                            reason: f.reason.to_string(),
                        },
                        None => CloseReason {
                            code: 1005,
                            reason: String::new(),
                        },
                    });
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}

/// The heartbeat and the server's shutdown, run while the connection is
/// neither read nor written (a relay whose other side is not taking
/// messages): pings still go out, a peer that is gone shows as a ping that
/// cannot be written, and a silent peer is declared dead only while the
/// connection is being read.
impl<S> Keepalive for WsConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_keepalive(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Error> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Pending;
        }
        this.poll_signals(cx);
        match this.poll_heartbeat(cx) {
            Some(dead) => {
                this.ended = true;
                Poll::Ready(dead)
            }
            None => Poll::Pending,
        }
    }
}

impl<S> WsConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.writes_frames {
            return self.inner.get_mut().poll_room(cx).map_err(Error::Io);
        }
        Pin::new(&mut self.inner).poll_ready(cx).map_err(map_error)
    }

    fn send(&mut self, msg: WsMessage) -> Result<(), Error> {
        // The same limit both ways: a peer would close on a larger message.
        if let Some(max) = self.inner.get_config().max_message_size {
            if msg.len() > max {
                return Err(Error::TooLargeToSend {
                    size: msg.len() as u64,
                    max,
                });
            }
        }
        if !self.writes_frames {
            // Text is UTF-8 by construction: nothing is left to check.
            return Pin::new(&mut self.inner)
                .start_send(msg.into_tungstenite())
                .map_err(map_error);
        }
        // What tungstenite refuses once a close is under way either way.
        if self.closing || self.pending_close.is_some() || self.peer_close.is_some() || self.ended {
            return Err(Error::Closed);
        }
        self.inner.get_mut().queue_message(&msg);
        Ok(())
    }

    fn poll_flush_sent(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.writes_frames {
            ready!(self.inner.get_mut().poll_write_out(cx)).map_err(Error::Io)?;
        }
        // tungstenite's own: pongs, a ping, the close.
        Pin::new(&mut self.inner).poll_flush(cx).map_err(map_error)
    }

    fn poll_close_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.begin_close(cx, 1000, "");
        if self.poll_pending_close(cx).is_pending() {
            return Poll::Pending;
        }
        if !self.sink_closed {
            ready!(Pin::new(&mut self.inner).poll_close(cx)).map_err(map_error)?;
            self.sink_closed = true;
        }
        self.poll_write_out_last(cx)
    }

    /// Once the close handshake is over tungstenite flushes nothing more:
    /// what it wrote last (its close, after what was queued) may still
    /// wait in the frame layer, and goes out before the end, as it did
    /// when tungstenite wrote it to the socket itself. A write that fails
    /// leaves nothing more to do.
    fn poll_write_out_last<E>(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        if self.writes_frames {
            let _ = ready!(self.inner.get_mut().poll_write_out(cx));
        }
        Poll::Ready(Ok(()))
    }

    /// The stream's end; after a close handshake, once what waits to be
    /// written is out (a connection that failed or went silent ends at
    /// once).
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<WsMessage, Error>>> {
        if !self.closing && self.peer_close.is_none() {
            return Poll::Ready(None);
        }
        self.poll_write_out_last::<Error>(cx).map(|_| None)
    }
}

impl WsConnection<switchyard_http::ServerIo> {
    /// A writer that sends messages on this connection at once, from any
    /// thread, while its task has nothing waiting to write: what a hub
    /// uses to deliver to idle subscribers without waking their tasks
    /// ([`DirectWriter`](crate::DirectWriter)). None over TLS (only the
    /// session writes its records), once a close has begun, when
    /// compression keeps its context from one message to the next, and
    /// without a heartbeat: the server's idle time-out counts only what
    /// the connection's own task reads and writes, and a heartbeat's pings
    /// and pongs are what keep a connection fed only directly from looking
    /// idle.
    pub fn direct_writer(&mut self) -> Option<crate::DirectWriter> {
        if !self.writes_frames
            || self.heartbeat.is_none()
            || self.closing
            || self.pending_close.is_some()
            || self.peer_close.is_some()
            || self.ended
        {
            return None;
        }
        let socket = self.inner.get_ref().get_ref().write_handle()?;
        let max_message = self.inner.get_config().max_message_size;
        self.inner.get_mut().direct_writer(socket, max_message)
    }
}

impl<S> Sink<WsMessage> for WsConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready_to_send(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: WsMessage) -> Result<(), Error> {
        self.get_mut().send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_sent(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_close_sink(cx)
    }
}

fn close_frame(code: u16, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from(reason[..end].to_string()),
    }
}

/// The close code to send for a read error, if the connection can still
/// say why it is closing.
fn close_code_for(e: &WsError) -> (Option<u16>, String) {
    match e {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => (
            Some(1009),
            format!("message too big: {size} > {max_size} bytes"),
        ),
        WsError::Utf8(_) => (Some(1007), "text message is not UTF-8".into()),
        WsError::Protocol(p) => (Some(1002), p.to_string()),
        WsError::Io(e) => match frame_error(e) {
            Some(failure) => (Some(failure.code), failure.reason.clone()),
            None => (None, String::new()),
        },
        _ => (None, String::new()),
    }
}

/// tungstenite's error as the shared message error.
pub(crate) fn map_error(e: WsError) -> Error {
    match e {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::SendAfterClosing) => Error::Closed,
        WsError::Io(e) => match frame_error(&e) {
            // What the peer compressed was too large or not deflate.
            Some(failure) => Error::Protocol {
                reason: failure.to_string(),
            },
            None => Error::Io(e),
        },
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            Error::FrameTooLarge {
                size: size as u64,
                max: max_size,
            }
        }
        other => Error::Protocol {
            reason: other.to_string(),
        },
    }
}
