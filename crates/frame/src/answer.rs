//! [`answer`]: a reply to every message, written in batches.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;

use crate::{Error, MessageConnection};

/// Answers every message received on `conn` with what `reply` returns for
/// it (nothing when it returns `None`), in order, until the peer ends the
/// stream.
///
/// Replies are flushed only when no more received messages are waiting, so
/// under load the replies to everything one read brought go out in one
/// write, and a lone message is answered at once. (Sending each reply with
/// `send` costs one system call per message; this is what
/// `StreamExt::forward` does for a split connection, without the split.)
///
/// `reply` gets the connection too, to adjust it before the reply is
/// queued (a WebSocket echo answers text with text).
///
/// ```
/// use switchyard_frame::{answer, Error, MessageConnection};
///
/// /// Sends every message back where it came from, over any transport.
/// async fn echo<C: MessageConnection + Unpin>(mut conn: C) -> Result<(), Error> {
///     answer(&mut conn, |_, msg| Some(msg)).await
/// }
/// ```
pub async fn answer<C, F>(conn: &mut C, mut reply: F) -> Result<(), Error>
where
    C: MessageConnection + Unpin,
    F: FnMut(&mut C, Bytes) -> Option<Bytes>,
{
    let mut queued: Option<Bytes> = None;
    let mut unflushed = false;
    poll_fn(|cx| loop {
        if let Some(msg) = queued.take() {
            match Pin::new(&mut *conn).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    Pin::new(&mut *conn).start_send(msg)?;
                    unflushed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    queued = Some(msg);
                    return Poll::Pending;
                }
            }
        }
        match Pin::new(&mut *conn).poll_next(cx) {
            Poll::Ready(Some(Ok(msg))) => queued = reply(conn, msg),
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
            Poll::Ready(None) => return Pin::new(&mut *conn).poll_flush(cx),
            Poll::Pending => {
                if unflushed {
                    match Pin::new(&mut *conn).poll_flush(cx) {
                        Poll::Ready(Ok(())) => unflushed = false,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                return Poll::Pending;
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::task::Context;

    use futures::{Sink, Stream};

    use super::*;

    /// A connection that receives `incoming` (`None`: nothing more has
    /// arrived yet, once) and records what is sent and each flush.
    #[derive(Default)]
    struct Recorder {
        incoming: VecDeque<Option<&'static str>>,
        queued: Vec<Bytes>,
        /// What each flush wrote.
        writes: Vec<Vec<Bytes>>,
    }

    impl Stream for Recorder {
        type Item = Result<Bytes, Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.incoming.pop_front() {
                Some(Some(msg)) => Poll::Ready(Some(Ok(Bytes::from_static(msg.as_bytes())))),
                Some(None) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                None => Poll::Ready(None),
            }
        }
    }

    impl Sink<Bytes> for Recorder {
        type Error = Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(mut self: Pin<&mut Self>, msg: Bytes) -> Result<(), Error> {
            self.queued.push(msg);
            Ok(())
        }
        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            if !self.queued.is_empty() {
                let write = std::mem::take(&mut self.queued);
                self.writes.push(write);
            }
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.poll_flush(cx)
        }
    }

    fn texts(write: &[Bytes]) -> Vec<&str> {
        write
            .iter()
            .map(|b| std::str::from_utf8(b).unwrap())
            .collect()
    }

    #[test]
    fn replies_to_messages_already_received_share_one_write() {
        let mut conn = Recorder {
            incoming: [
                Some("a"),
                Some("b"),
                Some("c"),
                None,
                Some("d"),
                None,
                Some("e"),
            ]
            .into(),
            ..Recorder::default()
        };
        futures::executor::block_on(answer(&mut conn, |_, msg| Some(msg))).unwrap();
        let writes: Vec<Vec<&str>> = conn.writes.iter().map(|w| texts(w)).collect();
        assert_eq!(writes, [vec!["a", "b", "c"], vec!["d"], vec!["e"]]);
    }

    #[test]
    fn a_message_without_a_reply_sends_nothing() {
        let mut conn = Recorder {
            incoming: [Some("keep"), Some("drop"), Some("keep too")].into(),
            ..Recorder::default()
        };
        let reply = |_: &mut Recorder, msg: Bytes| (&msg[..] != b"drop").then_some(msg);
        futures::executor::block_on(answer(&mut conn, reply)).unwrap();
        assert_eq!(conn.writes.len(), 1);
        assert_eq!(texts(&conn.writes[0]), ["keep", "keep too"]);
    }
}
