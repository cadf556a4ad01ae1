//! [`PushConfig`]: how the push endpoint and the subscriber handler behave.

use std::time::Duration;

use crate::Auth;

/// How the push endpoint and subscriber handler behave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushConfig {
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
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            default_topic: "default".into(),
            auth: None,
            close_timeout: Duration::from_secs(1),
        }
    }
}

impl PushConfig {
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

    /// Sets [`default_topic`](Self::default_topic).
    pub fn default_topic(mut self, topic: impl Into<String>) -> Self {
        self.default_topic = topic.into();
        self
    }
}
