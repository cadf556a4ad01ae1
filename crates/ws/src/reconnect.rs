//! [`Reconnecting`]: a client that comes back after its server restarts.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_frame::Error;
use switchyard_rt::Backoff;

use crate::{connect_with, ClientConfig, ClientIo, WsConnection, WsMessage};

/// When and how often a [`Reconnecting`] client tries again.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The first wait after a failure. Default 100 ms.
    pub min_delay: Duration,
    /// The longest wait: delays double up to it. Default 30 s.
    pub max_delay: Duration,
    /// Randomize each delay to 50-100% of itself. Default on, so that many
    /// clients dropped by one restart do not all return at once.
    pub jitter: bool,
    /// Give up after this many failed attempts in a row. Default none:
    /// try for ever.
    pub max_attempts: Option<u32>,
    /// Messages sent after every (re)connection, e.g. subscriptions.
    pub on_connect: Vec<WsMessage>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            jitter: true,
            max_attempts: None,
            on_connect: Vec::new(),
        }
    }
}

impl ReconnectPolicy {
    /// Sets the delays: from `min`, doubling, up to `max`.
    pub fn delays(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max;
        self
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Adds a message to send after every connection (a `&str` or `String`
    /// is a text message).
    pub fn on_connect(mut self, msg: impl Into<WsMessage>) -> Self {
        self.on_connect.push(msg.into());
        self
    }
}

/// A WebSocket client that reconnects, with exponential backoff and
/// jitter, whenever its connection is lost, and sends its `on_connect`
/// messages again each time. For subscribers that must outlive a server
/// restart.
///
/// ```no_run
/// # switchyard_ws::rt::block_on(async {
/// use switchyard_ws::{ClientConfig, ReconnectPolicy, Reconnecting};
///
/// let policy = ReconnectPolicy::default().on_connect(r#"{"subscribe":"news"}"#);
/// let mut news = Reconnecting::new("ws://127.0.0.1:8080/ws", ClientConfig::default(), policy);
/// while let Ok(msg) = news.next().await {
///     println!("{}", String::from_utf8_lossy(&msg));
/// }
/// # });
/// ```
#[derive(Debug)]
pub struct Reconnecting {
    url: String,
    config: ClientConfig,
    policy: ReconnectPolicy,
    backoff: Backoff,
    conn: Option<WsConnection<ClientIo>>,
    connects: u64,
    make_url: Option<MakeUrl>,
}

/// The URL made afresh for each connection ([`Reconnecting::url_from`]).
struct MakeUrl(Box<dyn FnMut() -> String + Send>);

impl std::fmt::Debug for MakeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MakeUrl(..)")
    }
}

impl Reconnecting {
    /// A client for `url`; it connects on first use.
    pub fn new(url: impl Into<String>, config: ClientConfig, policy: ReconnectPolicy) -> Self {
        let mut backoff = Backoff::new(policy.min_delay, policy.max_delay);
        if policy.jitter {
            backoff = backoff.with_jitter();
        }
        Self {
            url: url.into(),
            config,
            policy,
            backoff,
            conn: None,
            connects: 0,
            make_url: None,
        }
    }

    /// Connects to the URL `make_url` makes at each connection, instead of
    /// the one given to [`new`](Self::new): for a URL that says what the
    /// client knows by then (a push client's topics and where it was in
    /// each, switchyard-push's `PushClient`).
    pub fn url_from(mut self, make_url: impl FnMut() -> String + Send + 'static) -> Self {
        self.make_url = Some(MakeUrl(Box::new(make_url)));
        self
    }

    /// How many times a connection has been made.
    pub fn connects(&self) -> u64 {
        self.connects
    }

    /// The open connection, connecting (and retrying) first if there is
    /// none. Fails only once `max_attempts` attempts in a row have failed.
    async fn connection(&mut self) -> Result<&mut WsConnection<ClientIo>, Error> {
        let mut failures = 0u32;
        while self.conn.is_none() {
            match self.try_connect().await {
                Ok(conn) => {
                    self.backoff.reset();
                    self.connects += 1;
                    self.conn = Some(conn);
                }
                Err(e) => {
                    failures += 1;
                    if self.policy.max_attempts.is_some_and(|max| failures >= max) {
                        return Err(e);
                    }
                    let delay = self.backoff.next_delay();
                    tracing::debug!(url = %self.url, error = %e, ?delay, "reconnecting");
                    switchyard_rt::sleep(delay).await;
                }
            }
        }
        self.conn.as_mut().ok_or(Error::Closed)
    }

    async fn try_connect(&mut self) -> Result<WsConnection<ClientIo>, Error> {
        if let Some(make_url) = self.make_url.as_mut() {
            self.url = (make_url.0)();
        }
        let mut conn = connect_with(&self.url, &self.config).await?;
        for msg in &self.policy.on_connect {
            conn.feed(msg.clone()).await?;
        }
        conn.flush().await?;
        Ok(conn)
    }

    /// The next message, across reconnections.
    pub async fn next(&mut self) -> Result<WsMessage, Error> {
        loop {
            let conn = self.connection().await?;
            match conn.next().await {
                Some(Ok(msg)) => return Ok(msg),
                Some(Err(e)) if !e.is_broken() => return Err(e),
                Some(Err(_)) | None => self.conn = None, // lost: reconnect
            }
        }
    }

    /// Sends `msg` on the current connection, connecting first if needed.
    /// A message whose send fails is not retried (it may have arrived). A
    /// message the connection refuses (over the maximum size) is an error
    /// for this message only: the connection stays.
    pub async fn send(&mut self, msg: impl Into<WsMessage>) -> Result<(), Error> {
        let msg = msg.into();
        let conn = self.connection().await?;
        let sent = conn.send(msg).await;
        if sent.as_ref().is_err_and(Error::is_broken) {
            self.conn = None;
        }
        sent
    }
}
