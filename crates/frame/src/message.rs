//! The message interface every transport's connection offers.

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
/// use bytes::Bytes;
/// use futures::{SinkExt, StreamExt};
/// use switchyard_frame::{Error, MessageConnection};
///
/// /// Sends every message back where it came from, over any transport.
/// async fn echo<C: MessageConnection + Unpin>(mut conn: C) -> Result<(), Error> {
///     while let Some(msg) = conn.next().await {
///         conn.send(msg?).await?;
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
