//! [`Typed`]: a message connection as a stream and sink of serde values.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream};
use serde::{de::DeserializeOwned, Serialize};

use crate::{Error, Format};

/// Any message connection, carrying serde values in format `Fmt` instead of
/// bytes: it receives values of `Rx` and sends values of `Tx`, one message
/// each (the same type for a symmetric protocol, a request and a response
/// type for a client or a server).
///
/// A message that does not decode yields [`Error::Decode`] (not fatal: the
/// connection's framing is intact, and the caller chooses whether to go on).
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::{io::Cursor, SinkExt, StreamExt};
/// use switchyard_frame::{Bincode, Framed, LengthPrefixed, Typed};
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Point { x: i32, y: i32 }
///
/// let framed = Framed::new(Cursor::new(Vec::new()), LengthPrefixed::default());
/// let mut out: Typed<_, Point, Point, _> = Typed::new(framed, Bincode::new());
/// out.send(Point { x: 1, y: -2 }).await?;
/// let wire = out.into_inner().into_inner().into_inner();
///
/// let framed = Framed::new(Cursor::new(wire), LengthPrefixed::default());
/// let mut input: Typed<_, Point, Point, _> = Typed::new(framed, Bincode::new());
/// assert_eq!(input.next().await.transpose()?, Some(Point { x: 1, y: -2 }));
/// # Ok::<(), switchyard_frame::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Typed<C, Rx, Tx, Fmt> {
    inner: C,
    format: Fmt,
    _values: PhantomData<fn(Tx) -> Rx>,
}

impl<C, Rx, Tx, Fmt> Typed<C, Rx, Tx, Fmt> {
    /// Carries values over `inner` in `format`.
    pub fn new(inner: C, format: Fmt) -> Self {
        Self {
            inner,
            format,
            _values: PhantomData,
        }
    }

    /// The message connection underneath.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The message connection underneath, mutably.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// The message connection back.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C, Rx, Tx, Fmt> Stream for Typed<C, Rx, Tx, Fmt>
where
    C: Stream<Item = Result<Bytes, Error>> + Unpin,
    Rx: DeserializeOwned,
    Fmt: Format + Unpin,
{
    type Item = Result<Rx, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = ready!(Pin::new(&mut this.inner).poll_next(cx));
        Poll::Ready(next.map(|msg| msg.and_then(|bytes| this.format.decode(&bytes))))
    }
}

impl<C, Rx, Tx, Fmt> Sink<Tx> for Typed<C, Rx, Tx, Fmt>
where
    C: Sink<Bytes, Error = Error> + Unpin,
    Tx: Serialize,
    Fmt: Format + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, value: Tx) -> Result<(), Error> {
        let this = self.get_mut();
        let msg = this.format.encode(&value)?;
        Pin::new(&mut this.inner).start_send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
