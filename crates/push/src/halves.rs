//! [`Halves`]: a subscriber's connection shared by the two ends of its
//! loop, in one task: what is published goes in through one, its
//! client's messages come out of the other.
//!
//! A lock rather than futures' `split`: a message the sink end takes goes
//! into the connection at once (`split`'s sink holds one back until it is
//! polled again, and keeps room for it in every idle subscriber), so once
//! a flush is done nothing is on its way and the hub may write to the
//! connection itself; and the task can reach the whole connection, to
//! make its direct writer when it first needs one. Both ends live in the
//! same task, so the lock is never waited for.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, Stream};
use switchyard_frame::Error;
use switchyard_ws::{WsConnection, WsMessage};

/// One end of a shared connection.
pub(crate) struct Halves<S>(Arc<Mutex<WsConnection<S>>>);

impl<S> Halves<S> {
    /// The two ends of `conn`.
    pub(crate) fn split(conn: WsConnection<S>) -> (Self, Self) {
        let shared = Arc::new(Mutex::new(conn));
        (Self(shared.clone()), Self(shared))
    }

    /// Another hold on the same connection (given up before
    /// [`reunite`](Self::reunite)).
    pub(crate) fn clone_end(&self) -> Self {
        Self(self.0.clone())
    }

    /// The connection; held only for one call on it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, WsConnection<S>> {
        // Nothing panics while holding it: the connection stays whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection again, from both ends (none if `other` is not the
    /// other end of this one).
    pub(crate) fn reunite(self, other: Self) -> Option<WsConnection<S>> {
        if !Arc::ptr_eq(&self.0, &other.0) {
            return None;
        }
        drop(other);
        let conn = Arc::into_inner(self.0)?;
        Some(conn.into_inner().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<S> Stream for Halves<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<WsMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.lock()).poll_next(cx)
    }
}

impl<S> Sink<WsMessage> for Halves<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *self.lock()).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: WsMessage) -> Result<(), Error> {
        Pin::new(&mut *self.lock()).start_send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *self.lock()).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *self.lock()).poll_close(cx)
    }
}
