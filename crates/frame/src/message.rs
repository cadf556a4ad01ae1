//! The message interface every transport's connection offers.

use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream};

use crate::Error;

/// A connection of whole messages: a [`Stream`] of received messages and a
/// [`Sink`] of messages to send, both with the shared [`Error`].
///
/// A framed TCP connection, a connected UDP socket, a UDP server's per-peer
/// session and a WebSocket connection all are one, so code written against
/// this trait (a relay, a test, a protocol) runs unchanged over any of them.
/// It is implemented for every type with the right `Stream` and `Sink`; there
/// is nothing to implement by hand.
///
/// ```
/// use futures::{SinkExt, StreamExt};
/// use switchyard_frame::{Bytes, Error, MessageConnection};
///
/// /// Sends every message back where it came from, over any transport. A
/// /// message dropped on the way in or refused on the way out is skipped;
/// /// only a broken connection ends it.
/// async fn echo<C: MessageConnection + Unpin>(mut conn: C) -> Result<(), Error> {
///     while let Some(received) = conn.next().await {
///         let sent = match received {
///             Ok(msg) => conn.send(msg).await,
///             Err(e) => Err(e),
///         };
///         match sent {
///             Err(e) if !e.is_broken() => {}
///             other => other?,
///         }
///     }
///     Ok(())
/// }
/// ```
pub trait MessageConnection:
    Stream<Item = Result<Bytes, Error>> + Sink<Bytes, Error = Error>
{
}

impl<C> MessageConnection for C where
    C: Stream<Item = Result<Bytes, Error>> + Sink<Bytes, Error = Error> + ?Sized
{
}

/// What a connection does on its own, besides carrying messages: its
/// heartbeat (a ping when quiet, a peer found dead), a close it has to send.
///
/// A connection runs this whenever it is read; [`poll_keepalive`] runs it
/// when it is not: a relay whose other side has stopped taking messages
/// reads nothing from this side for a while, and still has to notice that
/// this side's peer died. Connections with nothing of their own to do (a
/// framed TCP stream, a UDP socket) are always `Pending`.
///
/// [`poll_keepalive`]: Keepalive::poll_keepalive
pub trait Keepalive {
    /// Does what is due, and arranges to be woken when more is. Ready with
    /// the error once the connection is found broken (a peer silent past
    /// its heartbeat, a ping that cannot be written); `Pending` otherwise.
    fn poll_keepalive(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Error>;
}

impl<P> Keepalive for Pin<P>
where
    P: DerefMut<Target: Keepalive> + Unpin,
{
    fn poll_keepalive(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Error> {
        self.get_mut().as_mut().poll_keepalive(cx)
    }
}

impl<K: Keepalive + Unpin + ?Sized> Keepalive for &mut K {
    fn poll_keepalive(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Error> {
        Pin::new(&mut **self).poll_keepalive(cx)
    }
}

impl<K: Keepalive + Unpin + ?Sized> Keepalive for Box<K> {
    fn poll_keepalive(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Error> {
        Pin::new(&mut **self).poll_keepalive(cx)
    }
}
