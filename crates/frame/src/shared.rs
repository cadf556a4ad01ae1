//! A message connection shared between tasks: one reader, cloneable senders,
//! a bounded outbound queue drained by one writer, and a close anyone can call.
//!
//! This is the documents' Go connection wrapper done right: the queue is
//! bounded and a full queue makes senders wait (or fail, with
//! [`MessageSender::try_send`]) instead of growing; there is exactly one
//! writer, so writes never interleave; the writer sends every queued message
//! (the Go write loop read its channel twice and dropped every other one);
//! and close is idempotent and safe from any task.
//!
//! [`share`] is runtime-free: it returns the writer as a future for the
//! caller to spawn (with `switchyard_rt::spawn`, for one).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::SplitStream;
use futures::task::AtomicWaker;
use futures::{SinkExt, Stream, StreamExt};

use crate::{forward, Error, ForwardHooks, Forwarded, MessageConnection, Verdict};

/// The state every handle of one shared connection sees.
#[derive(Debug, Default)]
struct CloseSignal {
    closed: AtomicBool,
    /// The reader's waker, so a close from another task ends a pending read.
    reader: AtomicWaker,
    /// Messages the connection refused to send (too large, not encodable).
    refused: AtomicU64,
}

/// The writer's hooks: a refused message is skipped and counted.
struct CountRefused<'a>(&'a CloseSignal);

impl ForwardHooks for CountRefused<'_> {
    fn refused(&mut self, _error: &Error) -> Verdict {
        self.0.refused.fetch_add(1, Ordering::Relaxed);
        Verdict::Skip
    }
}

/// Splits `conn` into a reader, a cloneable sender over a queue of
/// `capacity` messages, and the writer future that drains that queue into
/// `conn`. The writer must be spawned (or otherwise polled) for anything to
/// be sent; it finishes when the connection is closed, every sender and the
/// reader are dropped, or the connection breaks. A message the connection
/// refuses (too large for it) is skipped and counted
/// ([`MessageSender::refused`]); the messages after it are still sent.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::{io::Cursor, StreamExt};
/// use switchyard_frame::{share, Bytes, Framed, LengthPrefixed};
///
/// let framed = Framed::new(Cursor::new(Vec::new()), LengthPrefixed::default());
/// let (reader, sender, writer) = share(framed, 16);
/// let other = sender.clone(); // for another task
/// let sending = async move {
///     other.send(Bytes::from_static(b"hello")).await?;
///     sender.close();
///     sender.close(); // any number of times
///     assert!(other.send(Bytes::from_static(b"late")).await.is_err());
///     Ok::<(), switchyard_frame::Error>(())
/// };
/// // The writer runs beside the senders: spawned on a runtime, or joined as here.
/// let (written, sent) = futures::join!(writer, sending);
/// sent?;
/// written?; // the writer sent "hello", then closed the connection
/// # drop(reader);
/// # Ok::<(), switchyard_frame::Error>(())
/// # }).unwrap();
/// ```
pub fn share<C>(
    conn: C,
    capacity: usize,
) -> (
    MessageReader<C>,
    MessageSender,
    impl Future<Output = Result<(), Error>> + Send + 'static,
)
where
    C: MessageConnection + Unpin + Send + 'static,
{
    let capacity = capacity.max(1);
    let (tx, rx) = async_channel::bounded::<Bytes>(capacity);
    let signal = Arc::new(CloseSignal::default());
    let (mut sink, stream) = conn.split();
    let sender = MessageSender {
        queue: tx,
        signal: signal.clone(),
        capacity,
    };
    let reader = MessageReader {
        stream,
        sender: sender.clone(),
    };
    let writer_signal = signal;
    let writer = async move {
        // Everything already queued goes out in one write (the forwarder's
        // batching); the queue ends when the connection is closed or every
        // sender is gone.
        let queue = rx.clone();
        let mut source = std::pin::pin!(queue.map(Ok));
        let forwarded = forward(&mut source, &mut sink, &mut CountRefused(&writer_signal)).await;
        let written = match forwarded {
            Forwarded::SourceEnded => sink.close().await,
            Forwarded::SourceFailed(e) | Forwarded::SinkFailed(e) | Forwarded::Stopped(e) => Err(e),
        };
        rx.close();
        writer_signal.close();
        written
    };
    (reader, sender, writer)
}

impl CloseSignal {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.reader.wake();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A cloneable handle that queues messages for the connection's one writer.
#[derive(Debug, Clone)]
pub struct MessageSender {
    queue: async_channel::Sender<Bytes>,
    signal: Arc<CloseSignal>,
    capacity: usize,
}

impl MessageSender {
    /// Queues `msg`, waiting while the queue is full: a slow peer slows its
    /// senders down. Fails with [`Error::Closed`] once the connection is
    /// closed.
    pub async fn send(&self, msg: Bytes) -> Result<(), Error> {
        self.queue.send(msg).await.map_err(|_| Error::Closed)
    }

    /// Queues `msg` if there is room now: [`Error::QueueFull`] if not,
    /// [`Error::Closed`] once the connection is closed.
    pub fn try_send(&self, msg: Bytes) -> Result<(), Error> {
        self.queue.try_send(msg).map_err(|e| match e {
            async_channel::TrySendError::Full(_) => Error::QueueFull {
                capacity: self.capacity,
            },
            async_channel::TrySendError::Closed(_) => Error::Closed,
        })
    }

    /// Closes the connection: no more messages are accepted, the writer sends
    /// what is already queued and then closes the sink, and the reader ends.
    /// Safe to call from any task, any number of times.
    pub fn close(&self) {
        self.queue.close();
        self.signal.close();
    }

    /// Whether the connection has been closed.
    pub fn is_closed(&self) -> bool {
        self.signal.is_closed() || self.queue.is_closed()
    }

    /// Messages waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Messages the connection refused to send (too large for it, not
    /// encodable), which the writer skipped.
    pub fn refused(&self) -> u64 {
        self.signal.refused.load(Ordering::Relaxed)
    }
}

/// The receiving half of a shared connection: a [`Stream`] of messages that
/// ends when the peer does, at a fatal error, or when anyone closes the
/// connection. When it ends, it closes the connection for everyone.
#[derive(Debug)]
pub struct MessageReader<C> {
    stream: SplitStream<C>,
    sender: MessageSender,
}

impl<C> MessageReader<C> {
    /// A sender for the same connection.
    pub fn sender(&self) -> MessageSender {
        self.sender.clone()
    }

    /// Closes the connection (see [`MessageSender::close`]).
    pub fn close(&self) {
        self.sender.close();
    }
}

impl<C> Stream for MessageReader<C>
where
    C: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let signal = &this.sender.signal;
        signal.reader.register(cx.waker());
        if signal.is_closed() {
            return Poll::Ready(None);
        }
        let next = this.stream.poll_next_unpin(cx);
        match &next {
            Poll::Ready(None) => this.sender.close(),
            Poll::Ready(Some(Err(e))) if e.is_broken() => this.sender.close(),
            _ => {}
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;

    use futures::io::{AsyncRead, AsyncWrite};

    use super::*;
    use crate::{Framed, LengthPrefixed};

    /// A byte stream that reads nothing and keeps what is written, readable
    /// from outside.
    #[derive(Clone, Default)]
    struct Wire(Arc<Mutex<Vec<u8>>>);

    impl AsyncRead for Wire {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
    }

    impl AsyncWrite for Wire {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_refused_message_is_skipped_and_the_next_ones_still_go_out() {
        futures::executor::block_on(async {
            let wire = Wire::default();
            let framed = Framed::new(wire.clone(), LengthPrefixed::new(4));
            let (_reader, sender, writer) = share(framed, 8);
            for msg in ["one", "too large", "two"] {
                sender.send(Bytes::from(msg)).await.unwrap();
            }
            sender.close();
            writer.await.unwrap();
            assert_eq!(sender.refused(), 1);
            assert_eq!(&wire.0.lock().unwrap()[..], b"\0\0\0\x03one\0\0\0\x03two");
        });
    }
}
