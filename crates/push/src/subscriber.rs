//! The WebSocket side of push: a subscriber's loop, forwarding what is
//! published to its topics and answering its client's commands.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{select, BoxFuture, Either};
use futures::io::{AsyncRead, AsyncWrite};
use futures::{FutureExt, Stream};
use switchyard_frame::{forward, Error, ForwardHooks, Forwarded, Verdict};
use switchyard_hub::{
    is_valid_topic, Delivery, Direct, DirectDelivery, DirectHandle, Hub, Published, Subscription,
};

use super::commands::{command, parse_url_since};
use super::halves::Halves;
use super::{envelope, PushConfig};
use switchyard_ws::http::{Request, RequestHead};
use switchyard_ws::{DirectSend, DirectWriter, MessageKind, ServerIo, WsConnection, WsMessage};

/// How a subscriber's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriberEnd {
    /// The client closed, went away, or failed.
    ClientGone,
    /// The hub cut the subscriber off for being slow; closed with 1008.
    SlowConsumer,
    /// A topic it joined could not be carried (the backplane was down or
    /// failed): it was told `{"error":...,"topic":...}`, and the connection
    /// closed with 1013 "try again later", so that a reconnecting client
    /// joins again rather than stay connected without its topic.
    TopicRefused,
}

/// What one subscriber's connection carried, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberReport {
    /// How it ended.
    pub end: SubscriberEnd,
    /// Messages sent to the client (published ones and replies), counted
    /// once flushed to it.
    pub sent: u64,
    /// Messages its connection refused to send (over its message limit, or
    /// not UTF-8 where it sends text), skipped: the subscriber stayed.
    pub refused: u64,
}

/// Counts what a subscriber's forwarder does; refused messages are skipped.
/// With direct delivery, says when the subscriber is idle.
struct SubscriberCounts<S> {
    /// Handed to the connection, not yet flushed.
    pending: u64,
    sent: u64,
    refused: u64,
    direct: Option<Idle<S>>,
}

/// How a subscriber's connection makes its direct writer (the subscriber
/// handler's own connections: [`WsConnection::direct_writer`]).
type MakeWriter<S> = fn(&mut WsConnection<S>) -> Option<DirectWriter>;

/// A subscriber the hub may deliver to directly: how its task says it is
/// idle, and the writer (whose unfinished write its task flushes, and
/// which counts what the hub's writer threads sent), made the first time
/// the subscriber is idle after a published message: one that is never
/// sent anything keeps none.
struct Idle<S> {
    handle: DirectHandle,
    writer: Option<DirectWriter>,
    /// The connection, and how to make the writer from it, until it is.
    make: Option<(Halves<S>, MakeWriter<S>)>,
    numbered: bool,
    text: bool,
    kind: MessageKind,
}

impl<S> Idle<S> {
    /// The writer, made now if it was not yet (none if the connection
    /// cannot have one).
    fn writer(&mut self) -> Option<&DirectWriter> {
        if let Some((conn, make)) = self.make.take() {
            let writer = make(&mut conn.lock())?;
            self.handle.set(Box::new(DirectSubscriber {
                writer: writer.clone(),
                numbered: self.numbered,
                text: self.text,
                kind: self.kind,
            }));
            self.writer = Some(writer);
        }
        self.writer.as_ref()
    }
}

impl<S> ForwardHooks for SubscriberCounts<S> {
    fn queued(&mut self, _len: usize) {
        self.pending += 1;
    }

    fn flushed(&mut self) {
        self.sent += std::mem::take(&mut self.pending);
        // Everything it took is written: the hub may write the next
        // message itself.
        if let Some(idle) = &mut self.direct {
            // Made only once it can be used: not after a join's answer, so
            // a subscriber that is never sent anything keeps no writer.
            if (idle.writer.is_some() || idle.handle.may_arm()) && idle.writer().is_some() {
                idle.handle.arm();
            }
        }
    }

    fn wants_flush(&mut self) -> bool {
        self.direct
            .as_ref()
            .and_then(|idle| idle.writer.as_ref())
            .is_some_and(DirectWriter::has_remainder)
    }

    fn refused(&mut self, error: &Error) -> Verdict {
        // Refused when handed over: it was not counted as pending.
        self.refused += 1;
        tracing::debug!(%error, "a message this subscriber cannot take was skipped");
        Verdict::Skip
    }
}

/// Forwards everything published to `sub`'s topics to the client over
/// `conn` (as text messages on a text hub, binary otherwise; with
/// [`PushConfig::numbered`], each in a JSON envelope with its topic, offset
/// and epoch, and the answers to subscribes too), and hands each message
/// the client sends to `on_message`, whose future's reply, if any, is sent
/// back. The client's next message is read once that future is done: a
/// client cannot pile up work. When the hub cuts the subscriber off, a
/// blocked send is abandoned and the connection is closed with 1008 "slow
/// consumer" (given [`PushConfig::close_timeout`] to go out). A message the
/// connection refuses (over its size limit) is skipped and counted in the
/// report: it never ends the subscriber.
///
/// The future holds only the split connection and the subscription (about
/// 1 KiB besides tungstenite's buffers): it is what every idle subscriber
/// keeps for as long as it stays.
pub fn run_subscriber<S, F, R>(
    conn: WsConnection<S>,
    sub: Subscription,
    config: &PushConfig,
    on_message: F,
) -> impl Future<Output = SubscriberReport>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(&mut Subscription, Bytes) -> R,
    R: Future<Output = Option<Bytes>>,
{
    run_with_writer(conn, sub, config, on_message, None)
}

/// [`run_subscriber`], with how to make the connection's [`DirectWriter`]
/// when the hub may write to it directly ([`PushConfig::direct`]).
fn run_with_writer<S, F, R>(
    conn: WsConnection<S>,
    sub: Subscription,
    config: &PushConfig,
    on_message: F,
    make_writer: Option<MakeWriter<S>>,
) -> impl Future<Output = SubscriberReport>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(&mut Subscription, Bytes) -> R,
    R: Future<Output = Option<Bytes>>,
{
    let text = sub.hub().is_text();
    // Envelopes are JSON, text on any hub.
    let kind = if text || config.numbered {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    let numbered = config.numbered;
    let close_timeout = config.close_timeout;
    // Split here, not in the async block: an async fn keeps its arguments
    // for its whole life, which would hold a second copy of the connection.
    let (mut sink, mut stream) = Halves::split(conn);
    let mut sub = sub;
    let direct = make_writer.map(|make| Idle {
        handle: sub.direct_handle(),
        writer: None,
        make: Some((sink.clone_end(), make)),
        numbered,
        text,
        kind,
    });
    async move {
        let mut counts = SubscriberCounts {
            pending: 0,
            sent: 0,
            refused: 0,
            direct,
        };
        let cut_off = sub.cut_off();
        let end = {
            let mut source = SubscriberSource {
                sub: &mut sub,
                client: &mut stream,
                on_message,
                reply: None,
                numbered,
                text,
                kind,
                in_a_row: 0,
                end: SubscriberEnd::ClientGone,
                unsendable: 0,
            };
            // Everything already queued goes out in one write (the
            // forwarder's batching): under load a subscriber wakes to
            // several messages, and one system call each would cost more
            // than the rest of the hub.
            let forwarding = forward(&mut source, &mut sink, &mut counts);
            let forwarded = match select(std::pin::pin!(forwarding), std::pin::pin!(cut_off)).await
            {
                Either::Left((forwarded, _)) => Some(forwarded),
                Either::Right(_) => None,
            };
            counts.refused += source.unsendable;
            match forwarded {
                Some(Forwarded::SourceEnded) => source.end,
                Some(_) => SubscriberEnd::ClientGone,
                None => SubscriberEnd::SlowConsumer,
            }
        };
        let closing = match end {
            SubscriberEnd::SlowConsumer => Some((1008, "slow consumer")),
            SubscriberEnd::TopicRefused => Some((1013, "try again later")),
            _ => None,
        };
        if let Some((code, reason)) = closing {
            // Boxed: the closing state lives on the heap only for a closing
            // subscriber's last second, not in every subscriber's future.
            // The connection, whole again: the hooks' hold on it goes first.
            if let Some(idle) = &mut counts.direct {
                idle.make = None;
            }
            if let Some(conn) = sink.reunite(stream) {
                Box::pin(close_with(conn, code, reason, close_timeout)).await;
            }
        }
        let direct_sent = counts
            .direct
            .as_ref()
            .and_then(|idle| idle.writer.as_ref())
            .map_or(0, DirectWriter::sent);
        SubscriberReport {
            end,
            sent: counts.sent + direct_sent,
            refused: counts.refused,
        }
    }
}

/// Delivers a published message to an idle subscriber's socket, in the
/// hub's writer thread: the same message (and envelope) its task would
/// have sent, prepared once for every subscriber.
struct DirectSubscriber {
    writer: DirectWriter,
    numbered: bool,
    text: bool,
    kind: MessageKind,
}

impl DirectSubscriber {
    /// `msg` as its task would send it; `None` if that cannot be (the
    /// task counts and skips it).
    fn encode(&self, msg: &Published) -> Option<WsMessage> {
        let delivery = Delivery::Message(msg.clone());
        let encoded = if self.numbered {
            envelope::numbered(delivery, self.text).map(Ok)
        } else {
            envelope::plain(delivery, self.kind)
        };
        encoded?.ok()
    }
}

impl DirectDelivery for DirectSubscriber {
    fn warm(&self) {
        self.writer.warm();
    }

    fn deliver(&mut self, msg: &Published) -> Direct {
        // What cannot be sent is the task's to count and skip.
        let Some(msg) = self.encode(msg) else {
            return Direct::Declined;
        };
        direct(self.writer.try_send(&msg))
    }

    fn deliver_all(&mut self, msgs: &[Published]) -> (usize, Direct) {
        if let [msg] = msgs {
            let done = self.deliver(msg);
            return (usize::from(done != Direct::Declined), done);
        }
        // Up to the first that cannot be sent, which the task counts and
        // skips.
        let encoded: Vec<WsMessage> = msgs.iter().map_while(|m| self.encode(m)).collect();
        let (taken, how) = self.writer.try_send_all(&encoded);
        (taken, direct(how))
    }
}

/// What the hub is told of what the connection's writer did.
fn direct(sent: DirectSend) -> Direct {
    match sent {
        DirectSend::Sent => Direct::Delivered,
        DirectSend::Started => Direct::Started,
        _ => Direct::Declined,
    }
}

/// A subscriber's messages to send: what is published to it, and the
/// replies to what its client sends. It ends when either does, saying which.
struct SubscriberSource<'a, St, F, R> {
    sub: &'a mut Subscription,
    client: &'a mut St,
    on_message: F,
    /// The reply to the client's last message, being made.
    reply: Option<Pin<Box<R>>>,
    numbered: bool,
    /// Whether the hub is of text (an envelope then carries `"data"`).
    text: bool,
    /// What the subscriber is sent: text on a text hub or with envelopes.
    kind: MessageKind,
    /// Published messages taken since the client was last looked at.
    in_a_row: u32,
    end: SubscriberEnd,
    /// Messages and replies its connection could not send (not UTF-8 on
    /// a text one), skipped.
    unsendable: u64,
}

// Nothing in it is ever pinned in place: `on_message` is only called, and
// the reply is pinned on the heap.
impl<St, F, R> Unpin for SubscriberSource<'_, St, F, R> {}

/// Published messages taken in a row before the client's side is looked at
/// (its commands, its close, its heartbeat), however busy the topic.
const PUBLISHED_IN_A_ROW: u32 = 64;

impl<St, F, R> Stream for SubscriberSource<'_, St, F, R>
where
    St: Stream<Item = Result<WsMessage, Error>> + Unpin,
    F: FnMut(&mut Subscription, Bytes) -> R,
    R: Future<Output = Option<Bytes>>,
{
    type Item = Result<WsMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.end == SubscriberEnd::TopicRefused {
            return Poll::Ready(None);
        }
        for _ in 0..PUBLISHED_IN_A_ROW {
            // The subscription's turn was used up: it is passed over this
            // once, and is not then waiting to be woken.
            let passed_over = this.in_a_row >= PUBLISHED_IN_A_ROW;
            if !passed_over {
                match Pin::new(&mut *this.sub).poll_next(cx) {
                    Poll::Ready(Some(delivery)) => {
                        this.in_a_row += 1;
                        if matches!(delivery, Delivery::Refused { .. }) {
                            // Told why; the next poll ends the subscriber.
                            this.end = SubscriberEnd::TopicRefused;
                        }
                        // Made and prepared once per message, shared by
                        // every subscriber: compressed once for them all.
                        let sent = if this.numbered {
                            envelope::numbered(delivery, this.text).map(Ok)
                        } else {
                            envelope::plain(delivery, this.kind)
                        };
                        match sent {
                            Some(Ok(msg)) => return Poll::Ready(Some(Ok(msg))),
                            Some(Err(error)) => {
                                this.unsendable += 1;
                                tracing::debug!(%error, "a message that is not UTF-8 cannot go as text: skipped");
                                continue;
                            }
                            None => continue,
                        }
                    }
                    Poll::Ready(None) => {
                        this.end = SubscriberEnd::SlowConsumer;
                        return Poll::Ready(None);
                    }
                    Poll::Pending => {}
                }
            }
            this.in_a_row = 0;
            if let Some(reply) = this.reply.as_mut() {
                match reply.as_mut().poll(cx) {
                    Poll::Ready(reply) => {
                        this.reply = None;
                        match reply.map(|reply| WsMessage::new(this.kind, reply)) {
                            Some(Ok(msg)) => return Poll::Ready(Some(Ok(msg))),
                            Some(Err(error)) => {
                                this.unsendable += 1;
                                tracing::debug!(%error, "a reply this subscriber cannot be sent was skipped");
                                continue;
                            }
                            None => continue,
                        }
                    }
                    Poll::Pending if this.sub.is_cut_off() => {
                        this.end = SubscriberEnd::SlowConsumer;
                        return Poll::Ready(None);
                    }
                    Poll::Pending => return pending(cx, passed_over),
                }
            }
            match Pin::new(&mut *this.client).poll_next(cx) {
                Poll::Ready(Some(Ok(msg))) => {
                    this.reply = Some(Box::pin((this.on_message)(this.sub, msg.into_data())));
                }
                // A message the client's side dropped is the forwarder's to
                // skip; an error that breaks the connection ends it.
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    this.end = SubscriberEnd::ClientGone;
                    return Poll::Ready(None);
                }
                // Nothing from the client: back to the published messages,
                // unless they were what was skipped.
                Poll::Pending if this.sub.is_cut_off() => {
                    this.end = SubscriberEnd::SlowConsumer;
                    return Poll::Ready(None);
                }
                Poll::Pending => return pending(cx, passed_over),
            }
        }
        // Client messages or deliveries that needed nothing sent, one after
        // another: yield rather than hold the task.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Pending; after passing the subscription over, with the task asking to
/// be polled again: what is queued for it wakes no one (only a delivery to
/// an empty queue does), so without this a busy topic's subscriber would
/// sleep with its queue filling until the hub cut it off as slow.
fn pending<T>(cx: &mut Context<'_>, passed_over: bool) -> Poll<T> {
    if passed_over {
        cx.waker().wake_by_ref();
    }
    Poll::Pending
}

async fn close_with<S>(mut conn: WsConnection<S>, code: u16, reason: &str, close_timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let closing = conn.close(code, reason);
    let _ = switchyard_rt::timeout(close_timeout, "close", closing).await;
}

/// A ready WebSocket handler for push subscribers: joins the topics named
/// in the URL (`?topics=news,sport`; the default topic if none), resuming
/// those given a position (`&since=news:41:EPOCH`, with
/// [`PushConfig::numbered`]), then forwards what is published to them. The
/// client may join and leave topics with [`SubscriberCommand`](super::SubscriberCommand)s:
/// `{"subscribe":"news"}` (with `"since":{"offset":41,"epoch":"..."}` to
/// resume) and `{"unsubscribe":"news"}`; a refused command is answered
/// `{"error":"..."}`.
pub fn subscriber_handler(
    hub: Hub,
    config: PushConfig,
) -> impl Fn(WsConnection<ServerIo>, Request) -> BoxFuture<'static, ()> + Clone + Send + Sync + 'static
{
    move |conn, req| {
        let peer = req.peer;
        let make_writer: Option<MakeWriter<ServerIo>> =
            config.direct.then_some(WsConnection::direct_writer);
        serve_with_writer(conn, &hub, &req.head, &config, make_writer)
            .map(move |report| tracing::debug!(%peer, ?report, "subscriber ended"))
            .boxed()
    }
}

/// One push subscriber on `conn`, a WebSocket accepted by any server (by
/// another HTTP server, see [`WsConnection::upgraded`]): what
/// [`subscriber_handler`] runs for each connection, with the topics and
/// positions read from `head`'s URL the same way.
///
/// The topics are joined before the future is made, so the future keeps
/// neither the request nor a second copy of the connection.
pub fn serve_subscriber<S>(
    conn: WsConnection<S>,
    hub: &Hub,
    head: &RequestHead,
    config: &PushConfig,
) -> impl Future<Output = SubscriberReport>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_with_writer(conn, hub, head, config, None)
}

/// [`serve_subscriber`], with how to make the connection's
/// [`DirectWriter`] if it can have one.
fn serve_with_writer<S>(
    conn: WsConnection<S>,
    hub: &Hub,
    head: &RequestHead,
    config: &PushConfig,
    make_writer: Option<MakeWriter<S>>,
) -> impl Future<Output = SubscriberReport>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut sub = hub.subscribe();
    let named = head.query_param("topics").unwrap_or_default();
    let mut topics: Vec<&str> = named.split(',').filter(|t| !t.is_empty()).collect();
    if topics.is_empty() {
        topics.push(&config.default_topic);
    }
    let since = head.query_param("since").unwrap_or_default();
    let since = parse_url_since(&since);
    for topic in topics {
        if !is_valid_topic(topic) {
            continue;
        }
        let position = since.iter().find(|(t, _)| *t == topic);
        let joined = match position {
            Some((_, position)) if config.numbered => sub.resume(topic, position.clone()),
            _ => sub.join(topic),
        };
        if joined.is_err() {
            break;
        }
    }
    let commands = |sub: &mut Subscription, msg| std::future::ready(command(sub, msg));
    run_with_writer(conn, sub, config, commands, make_writer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_tungstenite::tungstenite::protocol::Role;
    use async_tungstenite::WebSocketStream;
    use futures::StreamExt;
    use switchyard_hub::HubConfig;

    /// A WebSocket request that offered nothing.
    fn plain_request() -> RequestHead {
        let head = b"GET /ws HTTP/1.1\r\nHost: example.com\r\n\r\n";
        RequestHead::parse(head, 1024).unwrap().unwrap().0
    }

    /// Wakes counted, to see whether a task asked to be polled again.
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// A subscriber takes at most [`PUBLISHED_IN_A_ROW`] published messages
    /// before it looks at its client. With more queued and a quiet client,
    /// nothing but itself will wake it for the rest: it must ask to be
    /// polled again. (It did not, and a subscriber with a full queue was
    /// cut off as slow while its client was reading everything.)
    #[test]
    fn a_subscriber_with_more_queued_than_one_turn_takes_comes_back_for_the_rest() {
        use std::sync::atomic::Ordering;
        use std::sync::Arc;
        use switchyard_rt::net::UnixStream;

        const QUEUED: usize = 3 * PUBLISHED_IN_A_ROW as usize;
        futures::executor::block_on(async {
            let (server_end, client_end) = UnixStream::pair().unwrap();
            let quiet = switchyard_ws::WsServerConfig::default().heartbeat(None);
            let conn = WsConnection::upgraded(server_end, &quiet, &plain_request()).await;
            let hub = Hub::new(HubConfig::default());
            let mut sub = hub.subscribe();
            sub.join("t").unwrap();
            for i in 0..QUEUED {
                hub.publish("t", i.to_string().into()).await.unwrap();
            }
            let commands = |sub: &mut Subscription, msg| std::future::ready(command(sub, msg));
            let subscriber = run_subscriber(conn, sub, &PushConfig::default(), commands);
            let mut subscriber = std::pin::pin!(subscriber);
            // Polled as an executor would: again only when woken.
            let wakes = Arc::new(Wakes(Default::default()));
            let waker = std::task::Waker::from(wakes.clone());
            let mut polls = 0;
            loop {
                let woken = wakes.0.load(Ordering::SeqCst);
                let polled = subscriber.as_mut().poll(&mut Context::from_waker(&waker));
                assert!(polled.is_pending());
                polls += 1;
                if wakes.0.load(Ordering::SeqCst) == woken {
                    break;
                }
                // 192 messages take 3 turns and a few more to flush: one
                // that keeps waking itself with nothing to do is a bug too.
                assert!(polls < 100, "still asking to be polled after {polls} polls");
            }
            let mut client = WebSocketStream::from_raw_socket(client_end, Role::Client, None).await;
            // The subscriber goes on running while the client reads, as it
            // would on an executor: a write the socket was not yet ready for
            // (tokio learns readiness from its reactor) is woken by the
            // reactor, but nothing wakes a subscriber that forgot its own
            // queue.
            let reading = async move {
                for i in 0..QUEUED {
                    let wait = Duration::from_secs(2);
                    let msg = switchyard_rt::timeout(wait, "the next message", client.next())
                        .await
                        .unwrap_or_else(|e| panic!("{e}: {i} of {QUEUED} were sent"));
                    assert_eq!(msg.unwrap().unwrap().into_data(), i.to_string().as_bytes());
                }
            };
            match futures::future::select(subscriber, std::pin::pin!(reading)).await {
                futures::future::Either::Left(_) => panic!("the subscriber ended"),
                futures::future::Either::Right(((), _)) => {}
            }
        });
    }

    /// Every idle subscriber keeps this future for as long as it stays, so
    /// its size is memory per connection: the connection must be in it once,
    /// and the closing path (boxed) not at all.
    #[test]
    fn a_subscriber_future_holds_the_connection_once() {
        futures::executor::block_on(async {
            let io = futures::io::Cursor::new(Vec::<u8>::new());
            let quiet = switchyard_ws::WsServerConfig::default().heartbeat(None);
            let conn = WsConnection::upgraded(io, &quiet, &plain_request()).await;
            let one_connection = std::mem::size_of_val(&conn);
            let hub = Hub::new(HubConfig::default());
            let commands = |sub: &mut Subscription, msg| std::future::ready(command(sub, msg));
            let future = run_subscriber(conn, hub.subscribe(), &PushConfig::default(), commands);
            let size = std::mem::size_of_val(&future);
            assert!(
                size < one_connection + 512,
                "the subscriber future takes {size} bytes for a {one_connection}-byte connection"
            );
        });
    }
}
