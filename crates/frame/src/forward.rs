//! The one forwarding loop: messages from a source to a sink, written in
//! batches, with what a dropped or refused message means left to the caller.
//!
//! Everything that moves messages along in switchyard runs on it: [`answer`]
//! (a reply to each message, on one connection), a relay's directions, the
//! writer of a [`share`](crate::share)d connection, and a hub subscriber's
//! sender.

use std::future::poll_fn;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream};

use crate::{Error, ErrorClass};

/// What a forwarding loop does about one dropped or refused message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Leave the message out and go on with the next.
    Skip,
    /// End the forwarding with this error ([`Forwarded::Stopped`]).
    Stop,
}

/// What a [`Forwarder`] reports as it goes, and what it asks. Every method
/// has a default: count nothing, and skip every dropped or refused message
/// (the connection they came from is fine: see [`ErrorClass`]).
///
/// `()` is the hooks that do only that.
pub trait ForwardHooks {
    /// A message of `len` bytes was handed to the sink (not yet flushed).
    fn queued(&mut self, len: usize) {
        let _ = len;
    }

    /// Everything handed to the sink so far has been flushed: written out
    /// to the peer as far as this side can tell.
    fn flushed(&mut self) {}

    /// Whether the sink has something to flush that was not handed to it
    /// through the forwarder (another writer's bytes left in it): the
    /// forwarder then flushes it when the source has nothing, as it does
    /// after handing over a message.
    fn wants_flush(&mut self) -> bool {
        false
    }

    /// The source dropped one bad incoming message ([`ErrorClass::Dropped`]:
    /// a line over the maximum, a datagram over the maximum, a value that
    /// does not decode); its stream goes on.
    fn dropped(&mut self, error: &Error) -> Verdict {
        let _ = error;
        Verdict::Skip
    }

    /// The sink refused one message ([`ErrorClass::Refused`]: too large,
    /// not encodable, not text for a text connection); nothing of it was
    /// sent, and the sink goes on.
    fn refused(&mut self, error: &Error) -> Verdict {
        let _ = error;
        Verdict::Skip
    }
}

impl ForwardHooks for () {}

/// How a forwarding ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Forwarded {
    /// The source ended, and everything taken from it has been flushed into
    /// the sink. The sink is left open.
    SourceEnded,
    /// The source broke ([`Error::is_broken`]). What it gave before was
    /// flushed into the sink first, as far as the sink took it.
    SourceFailed(Error),
    /// The sink broke.
    SinkFailed(Error),
    /// A hook answered [`Verdict::Stop`] to this dropped or refused message.
    Stopped(Error),
}

impl Forwarded {
    /// The error it ended with, if any.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Forwarded::SourceEnded => None,
            Forwarded::SourceFailed(e) | Forwarded::SinkFailed(e) | Forwarded::Stopped(e) => {
                Some(e)
            }
        }
    }
}

/// Messages taken from the source in one poll before the task yields.
pub(crate) const BUDGET: usize = 128;

/// How flushing what was handed to the sink went.
enum Flush {
    /// Flushed, or nothing was waiting.
    Done,
    /// Not yet.
    Pending,
    /// A message was refused on the way out (the sink goes on).
    Refused,
    /// The sink failed: how forwarding ends.
    Ended(Forwarded),
}

/// The state of one forwarding direction, for callers that drive it from a
/// `poll` function of their own (a relay running both directions and its
/// timers in one task). [`forward`] and [`answer`] are the ready-made loops.
///
/// It takes a message from the source only when the sink is ready for it,
/// so a sink that stops holds the source back (backpressure), and it keeps
/// at most one message in hand. Messages already received are handed to
/// the sink one after another and flushed once the source has nothing more
/// ready: under load, everything one read brought leaves in one write, and
/// a lone message still leaves at once. After 128 messages in one poll it
/// yields (waking itself), so a source that is always ready cannot hold
/// the task's thread.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures::{stream, SinkExt};
/// use switchyard_frame::{Bytes, Error, Forwarded, Forwarder};
///
/// let mut source = stream::iter([Ok::<_, Error>(Bytes::from("a")), Ok(Bytes::from("b"))]);
/// let mut sink = Vec::<Bytes>::new().sink_map_err(|_| Error::Closed);
/// let mut forwarder = Forwarder::new();
/// let end = poll_fn(|cx| {
///     forwarder.poll_forward(cx, Pin::new(&mut source), Pin::new(&mut sink), &mut ())
/// })
/// .await;
/// assert!(matches!(end, Forwarded::SourceEnded));
/// assert!(forwarder.is_idle());
/// # });
/// ```
#[derive(Debug)]
pub struct Forwarder<M = Bytes> {
    /// A message taken from the source, waiting for the sink to be ready.
    queued: Option<M>,
    /// Messages handed to the sink since its last flush.
    unflushed: bool,
    /// The source's end, once seen: what is left is flushing.
    ending: Option<Forwarded>,
}

impl<M> Default for Forwarder<M> {
    fn default() -> Self {
        Self {
            queued: None,
            unflushed: false,
            ending: None,
        }
    }
}

/// The forwarder moves any message type that is bytes underneath: `Bytes`
/// for every transport's message connection, a WebSocket message with its
/// kind for a WebSocket's own.
impl<M: AsRef<[u8]>> Forwarder<M> {
    /// A forwarder with nothing in hand.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it holds nothing: no message waiting for the sink, nothing
    /// handed to the sink and not yet flushed.
    pub fn is_idle(&self) -> bool {
        self.queued.is_none() && !self.unflushed
    }

    /// Moves messages from `source` to `sink` until the source has nothing
    /// ready (`Pending`, with what was handed over flushed or being
    /// flushed) or the forwarding has ended (`Ready`). Call it again when
    /// woken; once it has returned `Ready`, it starts over with a new end.
    pub fn poll_forward<S, K, H>(
        &mut self,
        cx: &mut Context<'_>,
        source: Pin<&mut S>,
        sink: Pin<&mut K>,
        hooks: &mut H,
    ) -> Poll<Forwarded>
    where
        S: Stream<Item = Result<M, Error>> + ?Sized,
        K: Sink<M, Error = Error> + ?Sized,
        H: ForwardHooks + ?Sized,
    {
        self.poll_ends(cx, &mut Pair { source, sink }, hooks)
    }

    /// Delivers what it holds (a message waiting for the sink, messages
    /// not yet flushed) without taking anything more from the source: for
    /// a shutdown that lets what was already taken arrive. `Ready(Ok)` once
    /// it holds nothing; a refused message is the hooks' to skip or stop at.
    pub fn poll_deliver<K, H>(
        &mut self,
        cx: &mut Context<'_>,
        sink: Pin<&mut K>,
        hooks: &mut H,
    ) -> Poll<Result<(), Error>>
    where
        K: Sink<M, Error = Error> + ?Sized,
        H: ForwardHooks + ?Sized,
    {
        let mut nothing = NothingMore(PhantomData);
        let mut ends = Pair {
            source: Pin::new(&mut nothing),
            sink,
        };
        // With a source that has nothing more, forwarding ends as soon as
        // what is held has been flushed.
        match self.poll_ends(cx, &mut ends, hooks) {
            Poll::Pending => Poll::Pending,
            // (A source that had failed before: what it gave is delivered.)
            Poll::Ready(Forwarded::SourceEnded | Forwarded::SourceFailed(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Forwarded::SinkFailed(e) | Forwarded::Stopped(e)) => Poll::Ready(Err(e)),
        }
    }

    fn poll_ends<E, H>(
        &mut self,
        cx: &mut Context<'_>,
        ends: &mut E,
        hooks: &mut H,
    ) -> Poll<Forwarded>
    where
        E: Ends<M> + ?Sized,
        H: ForwardHooks + ?Sized,
    {
        let mut taken = 0;
        loop {
            if self.ending.is_some() {
                match self.poll_flush(cx, ends, hooks) {
                    Flush::Done => {}
                    Flush::Pending => return Poll::Pending,
                    Flush::Refused => continue,
                    Flush::Ended(end) => {
                        // A source that failed is the first cause.
                        let end = match self.ending.take() {
                            Some(failed @ Forwarded::SourceFailed(_)) => failed,
                            _ => end,
                        };
                        return Poll::Ready(self.end_with(end));
                    }
                }
                let end = self.ending.take().unwrap_or(Forwarded::SourceEnded);
                return Poll::Ready(self.end_with(end));
            }
            if let Some(msg) = self.queued.take() {
                match ends.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let len = msg.as_ref().len();
                        match ends.start_send(msg) {
                            Ok(()) => {
                                self.unflushed = true;
                                hooks.queued(len);
                            }
                            Err(e) => match self.sink_error(e, hooks) {
                                Some(end) => return Poll::Ready(self.end_with(end)),
                                None => continue,
                            },
                        }
                    }
                    Poll::Ready(Err(e)) => {
                        // A sink that reports an earlier message's refusal
                        // when asked for room (a split sink does) has not
                        // taken this one: keep it.
                        self.queued = Some(msg);
                        match self.sink_error(e, hooks) {
                            Some(end) => return Poll::Ready(self.end_with(end)),
                            None => continue,
                        }
                    }
                    Poll::Pending => {
                        self.queued = Some(msg);
                        return Poll::Pending;
                    }
                }
            }
            if taken == BUDGET {
                // A source that is always ready (a fast peer on loopback)
                // must not keep this task from yielding: what was handed
                // over is flushed as far as it goes now, and the task asks
                // to be polled again, after the others.
                if let Flush::Ended(end) = self.poll_flush(cx, ends, hooks) {
                    return Poll::Ready(self.end_with(end));
                }
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let received = ends.poll_recv(cx);
            if received.is_ready() {
                // Dropped messages count too: a source that only drops must
                // not hold the task either.
                taken += 1;
            }
            match received {
                Poll::Ready(Some(Ok(msg))) => self.queued = Some(msg),
                Poll::Ready(Some(Err(e))) if e.class() == ErrorClass::Dropped => {
                    if hooks.dropped(&e) == Verdict::Stop {
                        return Poll::Ready(self.end_with(Forwarded::Stopped(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => self.ending = Some(Forwarded::SourceFailed(e)),
                Poll::Ready(None) => self.ending = Some(Forwarded::SourceEnded),
                Poll::Pending => match self.poll_flush(cx, ends, hooks) {
                    Flush::Ended(end) => return Poll::Ready(self.end_with(end)),
                    // Something was refused on the way out; the rest still
                    // has to be flushed.
                    Flush::Refused => continue,
                    Flush::Done | Flush::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// Flushes what was handed to the sink, if anything, and says how it
    /// went.
    fn poll_flush<E, H>(&mut self, cx: &mut Context<'_>, ends: &mut E, hooks: &mut H) -> Flush
    where
        E: Ends<M> + ?Sized,
        H: ForwardHooks + ?Sized,
    {
        if !self.unflushed && !hooks.wants_flush() {
            return Flush::Done;
        }
        match ends.poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                self.flushed(hooks);
                Flush::Done
            }
            Poll::Ready(Err(e)) => match self.sink_error(e, hooks) {
                Some(end) => Flush::Ended(end),
                None => Flush::Refused,
            },
            Poll::Pending => Flush::Pending,
        }
    }

    fn flushed<H: ForwardHooks + ?Sized>(&mut self, hooks: &mut H) {
        self.unflushed = false;
        hooks.flushed();
    }

    /// What a sink error means: `None` to go on (a refused message the
    /// hooks skip), or the end.
    fn sink_error<H: ForwardHooks + ?Sized>(
        &mut self,
        e: Error,
        hooks: &mut H,
    ) -> Option<Forwarded> {
        match e.class() {
            ErrorClass::Refused => match hooks.refused(&e) {
                Verdict::Skip => None,
                Verdict::Stop => Some(Forwarded::Stopped(e)),
            },
            ErrorClass::Dropped | ErrorClass::Broken => Some(Forwarded::SinkFailed(e)),
        }
    }

    /// Ends with `end`, ready to start over.
    fn end_with(&mut self, end: Forwarded) -> Forwarded {
        *self = Self::default();
        end
    }
}

/// Forwards every message from `source` to `sink` until the source ends,
/// either side breaks, or a hook stops it (see [`Forwarder`] for how
/// messages are batched, and [`ForwardHooks`] for dropped and refused
/// messages). The sink is flushed but not closed.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::{stream, SinkExt};
/// use switchyard_frame::{forward, Bytes, Error, Forwarded};
///
/// let mut source = stream::iter([
///     Ok(Bytes::from("one")),
///     Err(Error::LineTooLong { max: 8 }), // dropped by the source: skipped
///     Ok(Bytes::from("two")),
/// ]);
/// let mut sink = Vec::<Bytes>::new().sink_map_err(|_| Error::Closed);
/// assert!(matches!(forward(&mut source, &mut sink, &mut ()).await, Forwarded::SourceEnded));
/// assert_eq!(sink.get_ref(), &["one", "two"]);
/// # });
/// ```
pub async fn forward<S, K, H, M>(source: &mut S, sink: &mut K, hooks: &mut H) -> Forwarded
where
    M: AsRef<[u8]>,
    S: Stream<Item = Result<M, Error>> + Unpin + ?Sized,
    K: Sink<M, Error = Error> + Unpin + ?Sized,
    H: ForwardHooks + ?Sized,
{
    let mut forwarder = Forwarder::new();
    poll_fn(|cx| forwarder.poll_forward(cx, Pin::new(&mut *source), Pin::new(&mut *sink), hooks))
        .await
}

/// Answers every message received on `conn` with what `reply` returns for
/// it (nothing when it returns `None`), in order, until the peer ends the
/// stream; then flushes and returns. The connection is not closed.
///
/// Replies are flushed only when no more received messages are waiting, so
/// under load the replies to everything one read brought go out in one
/// write, and a lone message is answered at once. (Sending each reply with
/// `send` costs one system call per message; this is [`forward`]'s
/// batching on one connection, without splitting it.)
///
/// A received message that was dropped (an over-long line) and a reply the
/// connection refuses (too large) are skipped: the connection goes on. An
/// error that breaks the connection ends it, after the replies already
/// queued have been flushed.
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
pub async fn answer<C, F, M>(conn: &mut C, reply: F) -> Result<(), Error>
where
    M: AsRef<[u8]>,
    C: Stream<Item = Result<M, Error>> + Sink<M, Error = Error> + Unpin,
    F: FnMut(&mut C, M) -> Option<M>,
{
    let mut replies = Replies { conn, reply };
    let mut forwarder = Forwarder::new();
    match poll_fn(|cx| forwarder.poll_ends(cx, &mut replies, &mut ())).await {
        Forwarded::SourceEnded => Ok(()),
        Forwarded::SourceFailed(e) | Forwarded::SinkFailed(e) | Forwarded::Stopped(e) => Err(e),
    }
}

/// A source with nothing more to give: what [`Forwarder::poll_deliver`]
/// forwards from.
struct NothingMore<M>(PhantomData<M>);

impl<M> Unpin for NothingMore<M> {}

impl<M> Stream for NothingMore<M> {
    type Item = Result<M, Error>;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(None)
    }
}

/// The two ends a [`Forwarder`] works between: where messages come from,
/// and where they go. They may be one connection ([`answer`]).
trait Ends<M> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M, Error>>>;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>>;
    fn start_send(&mut self, msg: M) -> Result<(), Error>;
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>>;
}

/// A source and a separate sink.
struct Pair<'a, S: ?Sized, K: ?Sized> {
    source: Pin<&'a mut S>,
    sink: Pin<&'a mut K>,
}

impl<S, K, M> Ends<M> for Pair<'_, S, K>
where
    S: Stream<Item = Result<M, Error>> + ?Sized,
    K: Sink<M, Error = Error> + ?Sized,
{
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M, Error>>> {
        self.source.as_mut().poll_next(cx)
    }
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.sink.as_mut().poll_ready(cx)
    }
    fn start_send(&mut self, msg: M) -> Result<(), Error> {
        self.sink.as_mut().start_send(msg)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.sink.as_mut().poll_flush(cx)
    }
}

/// One connection, whose messages are answered on itself: what it
/// receives is turned into replies by `reply`.
struct Replies<'a, C, F> {
    conn: &'a mut C,
    reply: F,
}

impl<C, F, M> Ends<M> for Replies<'_, C, F>
where
    C: Stream<Item = Result<M, Error>> + Sink<M, Error = Error> + Unpin,
    F: FnMut(&mut C, M) -> Option<M>,
{
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M, Error>>> {
        // Messages that need no reply are bounded per poll like the rest: a
        // peer sending only those must not hold the task.
        for _ in 0..BUDGET {
            match Pin::new(&mut *self.conn).poll_next(cx) {
                Poll::Ready(Some(Ok(msg))) => match (self.reply)(self.conn, msg) {
                    Some(reply) => return Poll::Ready(Some(Ok(reply))),
                    None => continue,
                },
                other => return other,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *self.conn).poll_ready(cx)
    }
    fn start_send(&mut self, msg: M) -> Result<(), Error> {
        Pin::new(&mut *self.conn).start_send(msg)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut *self.conn).poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// What a scripted connection receives next.
    enum In {
        Msg(&'static str),
        /// Nothing more has arrived yet (once).
        Wait,
        Fail(fn() -> Error),
    }

    /// A connection that receives a script and records every write (what
    /// each flush carried). Messages starting with `refuse` are refused by
    /// `start_send`, or, with `refuse_late`, reported at the next
    /// `poll_ready` or `poll_flush`, as a split sink does; `broken_flush`
    /// makes flushing fail.
    #[derive(Default)]
    struct Scripted {
        incoming: VecDeque<In>,
        queued: Vec<Bytes>,
        writes: Vec<Vec<String>>,
        refuse_late: bool,
        late_refusal: Option<Error>,
        broken_flush: bool,
    }

    impl Scripted {
        fn new(incoming: impl IntoIterator<Item = In>) -> Self {
            Self {
                incoming: incoming.into_iter().collect(),
                ..Self::default()
            }
        }

        fn late_error(&mut self) -> Result<(), Error> {
            self.late_refusal.take().map_or(Ok(()), Err)
        }
    }

    impl Stream for Scripted {
        type Item = Result<Bytes, Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.incoming.pop_front() {
                Some(In::Msg(msg)) => Poll::Ready(Some(Ok(Bytes::from_static(msg.as_bytes())))),
                Some(In::Fail(error)) => Poll::Ready(Some(Err(error()))),
                Some(In::Wait) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                None => Poll::Ready(None),
            }
        }
    }

    impl Sink<Bytes> for Scripted {
        type Error = Error;
        fn poll_ready(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(self.late_error())
        }
        fn start_send(mut self: Pin<&mut Self>, msg: Bytes) -> Result<(), Error> {
            if msg.starts_with(b"refuse") {
                let refusal = Error::TooLargeToSend {
                    size: msg.len() as u64,
                    max: 5,
                };
                if self.refuse_late {
                    self.late_refusal = Some(refusal);
                    return Ok(());
                }
                return Err(refusal);
            }
            self.queued.push(msg);
            Ok(())
        }
        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.late_error()?;
            if self.broken_flush {
                return Poll::Ready(Err(Error::Io(std::io::ErrorKind::BrokenPipe.into())));
            }
            if !self.queued.is_empty() {
                let write = std::mem::take(&mut self.queued);
                let write = write
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect();
                self.writes.push(write);
            }
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.poll_flush(cx)
        }
    }

    /// Counts what the hooks are told, and answers `verdict`.
    #[derive(Default)]
    struct Counting {
        queued: usize,
        flushes: usize,
        dropped: Vec<String>,
        refused: Vec<String>,
        stop: bool,
    }

    impl ForwardHooks for Counting {
        fn queued(&mut self, _len: usize) {
            self.queued += 1;
        }
        fn flushed(&mut self) {
            self.flushes += 1;
        }
        fn dropped(&mut self, error: &Error) -> Verdict {
            self.dropped.push(error.to_string());
            self.verdict()
        }
        fn refused(&mut self, error: &Error) -> Verdict {
            self.refused.push(error.to_string());
            self.verdict()
        }
    }

    impl Counting {
        fn verdict(&self) -> Verdict {
            if self.stop {
                Verdict::Stop
            } else {
                Verdict::Skip
            }
        }
    }

    fn line_too_long() -> Error {
        Error::LineTooLong { max: 4 }
    }

    fn reset() -> Error {
        Error::Io(std::io::ErrorKind::ConnectionReset.into())
    }

    /// Forwards `source` into `sink` with `hooks`, to the end.
    fn run(source: &mut Scripted, sink: &mut Scripted, hooks: &mut Counting) -> Forwarded {
        futures::executor::block_on(forward(source, sink, hooks))
    }

    #[test]
    fn messages_already_received_share_one_write() {
        use In::*;
        let mut source =
            Scripted::new([Msg("a"), Msg("b"), Msg("c"), Wait, Msg("d"), Wait, Msg("e")]);
        let (mut sink, mut hooks) = (Scripted::default(), Counting::default());
        assert!(matches!(
            run(&mut source, &mut sink, &mut hooks),
            Forwarded::SourceEnded
        ));
        assert_eq!(sink.writes, [vec!["a", "b", "c"], vec!["d"], vec!["e"]]);
        assert_eq!((hooks.queued, hooks.flushes), (5, 3));
    }

    #[test]
    fn a_source_that_is_always_ready_does_not_hold_the_task() {
        let mut source = futures::stream::repeat_with(|| Ok(Bytes::from_static(b"x")));
        let mut sink = Scripted::default();
        let mut forwarder = Forwarder::new();
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let step =
            forwarder.poll_forward(&mut cx, Pin::new(&mut source), Pin::new(&mut sink), &mut ());
        assert!(step.is_pending());
        assert_eq!(
            sink.writes.len(),
            1,
            "what was taken is flushed before yielding"
        );
        assert_eq!(sink.writes[0].len(), BUDGET);
    }

    #[test]
    fn a_dropped_message_is_skipped_and_the_rest_go_out() {
        use In::*;
        let mut source = Scripted::new([Msg("a"), Fail(line_too_long), Msg("b")]);
        let (mut sink, mut hooks) = (Scripted::default(), Counting::default());
        assert!(matches!(
            run(&mut source, &mut sink, &mut hooks),
            Forwarded::SourceEnded
        ));
        assert_eq!(sink.writes, [vec!["a", "b"]]);
        assert_eq!(hooks.dropped, ["line too long: more than 4 bytes; skipped"]);
    }

    #[test]
    fn a_refused_message_is_skipped_and_counted() {
        use In::*;
        for refuse_late in [false, true] {
            let mut source = Scripted::new([Msg("a"), Msg("refuse me"), Msg("b"), Wait, Msg("c")]);
            let mut sink = Scripted {
                refuse_late,
                ..Scripted::default()
            };
            let mut hooks = Counting::default();
            let end = run(&mut source, &mut sink, &mut hooks);
            assert!(matches!(end, Forwarded::SourceEnded), "late: {refuse_late}");
            assert_eq!(
                sink.writes,
                [vec!["a", "b"], vec!["c"]],
                "late: {refuse_late}"
            );
            assert_eq!(hooks.refused.len(), 1, "late: {refuse_late}");
        }
    }

    #[test]
    fn a_hook_can_stop_at_a_dropped_or_refused_message() {
        use In::*;
        let mut hooks = Counting {
            stop: true,
            ..Counting::default()
        };
        let mut source = Scripted::new([Msg("a"), Fail(line_too_long), Msg("b")]);
        let end = run(&mut source, &mut Scripted::default(), &mut hooks);
        assert!(matches!(end, Forwarded::Stopped(Error::LineTooLong { .. })));
        let mut source = Scripted::new([Msg("refuse"), Msg("b")]);
        let end = run(&mut source, &mut Scripted::default(), &mut hooks);
        assert!(matches!(
            end,
            Forwarded::Stopped(Error::TooLargeToSend { .. })
        ));
    }

    #[test]
    fn a_broken_source_still_has_what_came_before_flushed() {
        use In::*;
        let mut source = Scripted::new([Msg("a"), Msg("b"), Fail(reset), Msg("never")]);
        let (mut sink, mut hooks) = (Scripted::default(), Counting::default());
        let end = run(&mut source, &mut sink, &mut hooks);
        assert!(matches!(end, Forwarded::SourceFailed(Error::Io(_))));
        assert_eq!(sink.writes, [vec!["a", "b"]]);
    }

    #[test]
    fn a_broken_sink_ends_it() {
        use In::*;
        let mut source = Scripted::new([Msg("a"), Wait, Msg("b")]);
        let mut sink = Scripted {
            broken_flush: true,
            ..Scripted::default()
        };
        let end = run(&mut source, &mut sink, &mut Counting::default());
        assert!(matches!(end, Forwarded::SinkFailed(Error::Io(_))));
        // A source that then fails is still the first cause reported.
        let mut source = Scripted::new([Msg("a"), Fail(reset)]);
        let end = run(&mut source, &mut sink, &mut Counting::default());
        assert!(
            matches!(end, Forwarded::SourceFailed(Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset)
        );
    }

    #[test]
    fn delivering_sends_what_is_held_and_reads_nothing_more() {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut sink = Scripted::default();
        let mut forwarder = Forwarder::new();
        forwarder.queued = Some(Bytes::from_static(b"held"));
        let delivered = forwarder.poll_deliver(&mut cx, Pin::new(&mut sink), &mut ());
        assert!(matches!(delivered, Poll::Ready(Ok(()))));
        assert_eq!(sink.writes, [vec!["held"]]);
        assert!(forwarder.is_idle());
        // Nothing held: delivered at once, nothing written.
        let again = forwarder.poll_deliver(&mut cx, Pin::new(&mut sink), &mut ());
        assert!(matches!(again, Poll::Ready(Ok(()))));
        assert_eq!(sink.writes.len(), 1);
    }

    #[test]
    fn answer_replies_on_the_same_connection_and_skips_what_it_must() {
        use In::*;
        let mut conn = Scripted::new([
            Msg("keep"),
            Msg("drop"),
            Fail(line_too_long),
            Msg("refuse it"),
            Msg("keep too"),
            Wait,
            Msg("last"),
        ]);
        let reply = |_: &mut Scripted, msg: Bytes| (&msg[..] != b"drop").then_some(msg);
        futures::executor::block_on(answer(&mut conn, reply)).unwrap();
        assert_eq!(conn.writes, [vec!["keep", "keep too"], vec!["last"]]);
        let mut conn = Scripted::new([Msg("a"), Fail(reset)]);
        let err = futures::executor::block_on(answer(&mut conn, |_, m| Some(m))).unwrap_err();
        assert!(err.is_broken());
        assert_eq!(
            conn.writes,
            [vec!["a"]],
            "replies before the failure still go out"
        );
    }
}
