//! [`PushConfig`]: how the push endpoint and the subscriber handler behave.

use std::time::Duration;

use switchyard_ws::http::Auth;

/// How the push endpoint and subscriber handler behave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushConfig {
    /// Where the push handler is mounted: `POST <path>` publishes to
    /// [`default_topic`](Self::default_topic), `POST <path>/<topic>` to
    /// `<topic>`; a request for any other path is answered 404 saying
    /// where the handler is, rather than published somewhere unexpected.
    /// Default `"/push"`, the source documents' endpoint.
    pub path: String,
    /// The topic of `POST /push` and of subscribers that name none.
    /// Default `"default"`.
    pub default_topic: String,
    /// When set, `POST`s must carry this credential (see [`Auth`]); others
    /// get 401. Default none. Subscribers are not asked for it: guard the
    /// subscriber route with [`Auth::guard`] for that.
    pub auth: Option<Auth>,
    /// How long a cut-off subscriber's close frame (1008) may take to go out
    /// before the connection is dropped. Default 1 s.
    pub close_timeout: Duration,
    /// Subscribers are sent each message in a JSON envelope with its topic,
    /// offset and epoch, and an answer to each subscribe (where they start,
    /// and whether they missed nothing), so that they can resume where they
    /// were (see the push module's wire format). Default false: each message
    /// as it was published, what a page that only shows messages wants.
    pub numbered: bool,
    /// The longest `Idempotency-Key` a push may carry. Default 128 bytes:
    /// a UUID is 36; the hub remembers each key for a while.
    pub max_idempotency_key: usize,
    /// Published messages are written to each idle subscriber's socket by
    /// the hub's writer threads, as they are, instead of waking each
    /// subscriber's task to write them: a push to 19,000 subscribers costs
    /// about half the server's CPU it did. A busy topic's subscribers stay
    /// with the writers, which write each of them everything queued since
    /// its last write in one go (up to 128 messages or 256 KiB), at most every
    /// `HubConfig::drain_interval` (10 ms by default). Default true. Only
    /// plain connections (not TLS) with a heartbeat (the default), and
    /// compressed ones without context takeover (see
    /// `WsConnection::direct_writer`); a subscriber whose socket is full,
    /// or whose task has something of its own to write (a reply, a ping),
    /// is sent its messages by its task until it is idle again.
    pub direct: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            path: "/push".into(),
            default_topic: "default".into(),
            auth: None,
            close_timeout: Duration::from_secs(1),
            numbered: false,
            max_idempotency_key: 128,
            direct: true,
        }
    }
}

impl PushConfig {
    /// Sets [`direct`](Self::direct).
    pub fn direct(mut self, direct: bool) -> Self {
        self.direct = direct;
        self
    }

    /// Requires `Authorization: Bearer <token>` on pushes (sets
    /// [`auth`](Self::auth)).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(token.into()));
        self
    }

    /// Sets [`auth`](Self::auth).
    pub fn auth(mut self, auth: Option<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// Sets [`close_timeout`](Self::close_timeout).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`numbered`](Self::numbered).
    pub fn numbered(mut self, numbered: bool) -> Self {
        self.numbered = numbered;
        self
    }

    /// Sets [`path`](Self::path) (its leading and trailing `/` are
    /// implied).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets [`default_topic`](Self::default_topic).
    pub fn default_topic(mut self, topic: impl Into<String>) -> Self {
        self.default_topic = topic.into();
        self
    }
}
