//! [`PushConfig`]: how the push endpoint and the subscriber handler behave.

use std::time::Duration;

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
