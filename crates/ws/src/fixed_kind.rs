//! [`FixedKind`]: a WebSocket as a message connection of bytes, every
//! message sent as one kind.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, Stream};
use switchyard_frame::{Error, Keepalive};

use crate::{MessageKind, WsConnection, WsMessage};

/// A [`WsConnection`] as a [`MessageConnection`](switchyard_frame::MessageConnection):
/// a `Stream` of received messages' bytes (text and binary alike) and a
/// `Sink` of bytes sent as one [`MessageKind`]. This is what code written
/// for every transport (a relay, `answer`, `Typed`, `share`) takes. Made by
/// [`WsConnection::binary`], [`WsConnection::text`] or
/// [`WsConnection::fixed_kind`].
///
/// Sending bytes that are not UTF-8 as text is an [`Error::Encode`]: that
/// message is refused, and the connection goes on.
#[derive(Debug)]
pub struct FixedKind<S> {
    conn: WsConnection<S>,
    kind: MessageKind,
}

impl<S> FixedKind<S> {
    pub(crate) fn new(conn: WsConnection<S>, kind: MessageKind) -> Self {
        Self { conn, kind }
    }

    /// The kind every message is sent as.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The WebSocket underneath (its close, its peer's close reason).
    pub fn get_ref(&self) -> &WsConnection<S> {
        &self.conn
    }

    /// The WebSocket underneath, to close it with a code or take over its
    /// shutdown.
    pub fn get_mut(&mut self) -> &mut WsConnection<S> {
        &mut self.conn
    }

    /// The WebSocket back, with its own message type.
    pub fn into_inner(self) -> WsConnection<S> {
        self.conn
    }
}

impl<S> Stream for FixedKind<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().conn)
            .poll_next(cx)
            .map(|next| next.map(|msg| msg.map(WsMessage::into_data)))
    }
}

impl<S> Sink<Bytes> for FixedKind<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().conn).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        let msg = WsMessage::new(this.kind, msg).map_err(|e| Error::Encode {
            format: "text",
            reason: format!("a text message must be UTF-8: {e}"),
        })?;
        Pin::new(&mut this.conn).start_send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().conn).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().conn).poll_close(cx)
    }
}

impl<S> Keepalive for FixedKind<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_keepalive(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Error> {
        Pin::new(&mut self.get_mut().conn).poll_keepalive(cx)
    }
}
