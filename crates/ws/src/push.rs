//! Server push: the HTTP push endpoint that publishes to a [`Hub`], and the
//! WebSocket side that forwards a subscriber's messages to its client.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{select, BoxFuture, Either};
use futures::io::{AsyncRead, AsyncWrite};
use futures::{FutureExt, Stream, StreamExt};
use http::header::{HeaderValue, WWW_AUTHENTICATE};
use http::StatusCode;
use switchyard_frame::{forward, Error, ForwardHooks, Forwarded, Verdict};

use crate::http::Request;
use crate::http::Response;
use crate::{Hub, HubError, MessageKind, PublishError, ServerIo, Subscription, WsConnection};

/// How the push endpoint and subscriber handler behave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushConfig {
    /// The topic of `POST /push` and of subscribers that name none.
    /// Default `"default"`.
    pub default_topic: String,
    /// When set, `POST`s must carry `Authorization: Bearer <token>`; others
    /// get 401. Default none.
    pub token: Option<String>,
    /// How long a cut-off subscriber's close frame (1008) may take to go out
    /// before the connection is dropped. Default 1 s.
    pub close_timeout: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            default_topic: "default".into(),
            token: None,
            close_timeout: Duration::from_secs(1),
        }
    }
}

impl PushConfig {
    /// Sets [`token`](Self::token).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sets [`close_timeout`](Self::close_timeout).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`default_topic`](Self::default_topic).
    pub fn default_topic(mut self, topic: impl Into<String>) -> Self {
        self.default_topic = topic.into();
        self
    }
}

/// Whether `topic` is a valid topic name: 1 to 128 of `A-Z a-z 0-9 . _ -`.
pub fn is_valid_topic(topic: &str) -> bool {
    (1..=128).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The handler of the documents' push endpoint: `POST /push` publishes the
/// body to the default topic and `POST /push/<topic>` to `<topic>`,
/// answering `{"delivered": N}`, the number of subscribers it was queued
/// for. The body is checked once, against what the hub carries
/// ([`Hub::check`]): a body that is not UTF-8 on a text hub is 400 and one
/// over the hub's message limit 413, each with the reason, and neither
/// reaches any subscriber. Mount it at both paths:
///
/// ```
/// use switchyard_ws::{push_handler, Hub, HubConfig, PushConfig, Router};
///
/// let hub = Hub::new(HubConfig::default());
/// let push = push_handler(hub.clone(), PushConfig::default().token("s3cret"));
/// let router = Router::new().post("/push", push.clone()).post_prefix("/push/", push);
/// # drop(router);
/// ```
pub fn push_handler(
    hub: Hub,
    config: PushConfig,
) -> impl Fn(Request) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static {
    move |req: Request| {
        let response = push(&hub, &config, &req);
        async move { response }.boxed()
    }
}

fn push(hub: &Hub, config: &PushConfig, req: &Request) -> Response {
    if let Some(token) = &config.token {
        let given = req
            .head
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())) {
            return Response::text(StatusCode::UNAUTHORIZED, "a valid bearer token is required")
                .typed_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
    }
    let topic = match req.head.path.rsplit_once('/') {
        Some(("", "push")) => config.default_topic.as_str(),
        Some((_, topic)) => topic,
        None => config.default_topic.as_str(),
    };
    if !is_valid_topic(topic) {
        return Response::text(
            StatusCode::BAD_REQUEST,
            "topic names are 1-128 of A-Z a-z 0-9 . _ -",
        );
    }
    match hub.publish(topic, req.body.clone()) {
        Ok(delivered) => Response::json(StatusCode::OK, format!("{{\"delivered\":{delivered}}}\n")),
        Err(e @ PublishError::TooLarge { .. }) => {
            Response::text(StatusCode::PAYLOAD_TOO_LARGE, format!("not published: {e}"))
        }
        Err(e) => Response::text(
            StatusCode::BAD_REQUEST,
            format!("not published: {e}; this hub carries text"),
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a subscriber's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriberEnd {
    /// The client closed, went away, or failed.
    ClientGone,
    /// The hub cut the subscriber off for being slow; closed with 1008.
    SlowConsumer,
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
    /// Messages its connection refused to send (over its message limit),
    /// skipped: the subscriber stayed.
    pub refused: u64,
}

/// Counts what a subscriber's forwarder does; refused messages are skipped.
#[derive(Default)]
struct SubscriberCounts {
    /// Handed to the connection, not yet flushed.
    pending: u64,
    sent: u64,
    refused: u64,
}

impl ForwardHooks for SubscriberCounts {
    fn queued(&mut self, _len: usize) {
        self.pending += 1;
    }

    fn flushed(&mut self) {
        self.sent += std::mem::take(&mut self.pending);
    }

    fn refused(&mut self, error: &Error) -> Verdict {
        // The split sink reports a refusal after taking the message: it was
        // counted as handed over, and is not sent.
        self.pending = self.pending.saturating_sub(1);
        self.refused += 1;
        tracing::debug!(%error, "a message this subscriber cannot take was skipped");
        Verdict::Skip
    }
}

/// Forwards everything published to `sub`'s topics to the client over
/// `conn` (as text messages on a text hub, binary otherwise), and hands
/// each message the client sends to `on_message` (whose reply, if any, is
/// sent back). When the hub cuts the subscriber off, a blocked send is
/// abandoned and the connection is closed with 1008 "slow consumer" (given
/// `close_timeout` to go out). A message the connection refuses (over its
/// size limit) is skipped and counted in the report: it never ends the
/// subscriber.
///
/// The future holds only the split connection and the subscription (about
/// 1 KiB besides tungstenite's buffers): it is what every idle subscriber
/// keeps for as long as it stays.
pub fn run_subscriber<S, F>(
    conn: WsConnection<S>,
    sub: Subscription,
    close_timeout: Duration,
    on_message: F,
) -> impl Future<Output = SubscriberReport>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(&Subscription, Bytes) -> Option<Bytes>,
{
    let kind = if sub.hub.is_text() {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    // Split here, not in the async block: an async fn keeps its arguments
    // for its whole life, which would hold a second copy of the connection.
    let (mut sink, mut stream) = conn.with_kind(kind).split();
    let mut sub = sub;
    async move {
        let mut counts = SubscriberCounts::default();
        let cut_off = sub.cut_off();
        let end = {
            let mut source = SubscriberSource {
                sub: &mut sub,
                client: &mut stream,
                on_message,
                in_a_row: 0,
                end: SubscriberEnd::ClientGone,
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
            match forwarded {
                Some(Forwarded::SourceEnded) => source.end,
                Some(_) => SubscriberEnd::ClientGone,
                None => SubscriberEnd::SlowConsumer,
            }
        };
        if end == SubscriberEnd::SlowConsumer {
            // Boxed: the closing state lives on the heap only for a slow
            // consumer's last second, not in every subscriber's future.
            if let Ok(conn) = sink.reunite(stream) {
                Box::pin(close_slow_consumer(conn, close_timeout)).await;
            }
        }
        SubscriberReport {
            end,
            sent: counts.sent,
            refused: counts.refused,
        }
    }
}

/// A subscriber's messages to send: what is published to it, and the
/// replies to what its client sends. It ends when either does, saying which.
struct SubscriberSource<'a, St, F> {
    sub: &'a mut Subscription,
    client: &'a mut St,
    on_message: F,
    /// Published messages taken since the client was last looked at.
    in_a_row: u32,
    end: SubscriberEnd,
}

// Nothing in it is ever pinned in place: `on_message` is only called.
impl<St, F> Unpin for SubscriberSource<'_, St, F> {}

/// Published messages taken in a row before the client's side is looked at
/// (its commands, its close, its heartbeat), however busy the topic.
const PUBLISHED_IN_A_ROW: u32 = 64;

impl<St, F> Stream for SubscriberSource<'_, St, F>
where
    St: Stream<Item = Result<Bytes, Error>> + Unpin,
    F: FnMut(&Subscription, Bytes) -> Option<Bytes>,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        for _ in 0..PUBLISHED_IN_A_ROW {
            if this.in_a_row < PUBLISHED_IN_A_ROW {
                match Pin::new(&mut *this.sub).poll_next(cx) {
                    Poll::Ready(Some(msg)) => {
                        this.in_a_row += 1;
                        return Poll::Ready(Some(Ok(msg)));
                    }
                    Poll::Ready(None) => {
                        this.end = SubscriberEnd::SlowConsumer;
                        return Poll::Ready(None);
                    }
                    Poll::Pending => {}
                }
            }
            this.in_a_row = 0;
            match Pin::new(&mut *this.client).poll_next(cx) {
                Poll::Ready(Some(Ok(msg))) => {
                    if let Some(reply) = (this.on_message)(this.sub, msg) {
                        return Poll::Ready(Some(Ok(reply)));
                    }
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
                Poll::Pending => return Poll::Pending,
            }
        }
        // Client messages that needed no reply, one after another: yield
        // rather than hold the task.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

async fn close_slow_consumer<S>(mut conn: WsConnection<S>, close_timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let closing = conn.close(1008, "slow consumer");
    let _ = switchyard_rt::timeout(close_timeout, "close", closing).await;
}

/// A ready WebSocket handler for push subscribers: joins the topics named
/// in the URL (`?topics=news,sport`; the default topic if none), then
/// forwards what is published to them. The client may join and leave topics
/// with text messages `{"subscribe":"news"}` and `{"unsubscribe":"news"}`;
/// a refused join is answered `{"error":"..."}`.
pub fn subscriber_handler(
    hub: Hub,
    config: PushConfig,
) -> impl Fn(WsConnection<ServerIo>, Request) -> BoxFuture<'static, ()> + Clone + Send + Sync + 'static
{
    move |conn, req| {
        // Joined before the future is made, so the future keeps neither the
        // request nor a second copy of the connection.
        let sub = hub.subscribe();
        let named = req.head.query_param("topics").unwrap_or_default();
        let mut topics: Vec<&str> = named.split(',').filter(|t| !t.is_empty()).collect();
        if topics.is_empty() {
            topics.push(&config.default_topic);
        }
        for topic in topics {
            if is_valid_topic(topic) && sub.join(topic).is_err() {
                break;
            }
        }
        let peer = req.peer;
        run_subscriber(conn, sub, config.close_timeout, command)
            .map(move |report| tracing::debug!(%peer, ?report, "subscriber ended"))
            .boxed()
    }
}

/// A command a push subscriber's client sends, as a JSON text message:
/// `{"subscribe":"news"}` or `{"unsubscribe":"news"}`.
///
/// ```
/// use switchyard_ws::SubscriberCommand;
///
/// assert_eq!(
///     SubscriberCommand::parse(br#"{"subscribe":"news"}"#),
///     Ok(SubscriberCommand::Subscribe("news".into()))
/// );
/// assert!(SubscriberCommand::parse(br#"{"subscribe":"no spaces"}"#).is_err());
/// assert!(SubscriberCommand::parse(b"\xff").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SubscriberCommand {
    /// Join a topic.
    Subscribe(String),
    /// Leave a topic.
    Unsubscribe(String),
}

/// Why a client's message is not a [`SubscriberCommand`]; its text is what
/// the client is answered (`{"error":"..."}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not one of the commands.
    #[error("unknown command: {0}")]
    Unknown(String),
    /// A command for a topic name that is not valid ([`is_valid_topic`]).
    #[error("invalid topic name")]
    InvalidTopic,
}

impl SubscriberCommand {
    /// Parses one command; its topic must be a valid name.
    pub fn parse(msg: &[u8]) -> Result<Self, CommandError> {
        let command: Self =
            serde_json::from_slice(msg).map_err(|e| CommandError::Unknown(e.to_string()))?;
        match &command {
            SubscriberCommand::Subscribe(topic) | SubscriberCommand::Unsubscribe(topic)
                if !is_valid_topic(topic) =>
            {
                Err(CommandError::InvalidTopic)
            }
            _ => Ok(command),
        }
    }
}

/// Applies one subscribe or unsubscribe command from a client.
fn command(sub: &Subscription, msg: Bytes) -> Option<Bytes> {
    let error = |e: String| Some(Bytes::from(serde_json::json!({ "error": e }).to_string()));
    match SubscriberCommand::parse(&msg) {
        Ok(SubscriberCommand::Subscribe(topic)) => match sub.join(&topic) {
            Ok(()) | Err(HubError::CutOff) => None,
            Err(e) => error(e.to_string()),
        },
        Ok(SubscriberCommand::Unsubscribe(topic)) => {
            sub.leave(&topic);
            None
        }
        Err(e) => error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubConfig;
    use async_tungstenite::tungstenite::protocol::Role;
    use async_tungstenite::WebSocketStream;

    /// Every idle subscriber keeps this future for as long as it stays, so
    /// its size is memory per connection: the connection must be in it once,
    /// and the closing path (boxed) not at all.
    #[test]
    fn a_subscriber_future_holds_the_connection_once() {
        futures::executor::block_on(async {
            let io = futures::io::Cursor::new(Vec::<u8>::new());
            let conn =
                WsConnection::new(WebSocketStream::from_raw_socket(io, Role::Server, None).await);
            let one_connection = std::mem::size_of_val(&conn);
            let hub = Hub::new(HubConfig::default());
            let future = run_subscriber(conn, hub.subscribe(), Duration::from_secs(1), command);
            let size = std::mem::size_of_val(&future);
            assert!(
                size < one_connection + 512,
                "the subscriber future takes {size} bytes for a {one_connection}-byte connection"
            );
        });
    }
}
