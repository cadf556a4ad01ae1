//! [`RedisConfig`]: where the Redis server is, and how a [`RedisBackplane`](crate::RedisBackplane)
//! uses it.

use std::time::Duration;

use switchyard_hub::HistoryConfig;

/// How a [`RedisBackplane`](crate::RedisBackplane) reaches Redis and what it
/// keeps there. Every server sharing topics must use the same
/// [`prefix`](Self::prefix) and should use the same [`history`](Self::history).
///
/// ```
/// use std::time::Duration;
/// use switchyard_redis::hub::HistoryConfig;
/// use switchyard_redis::RedisConfig;
///
/// let config = RedisConfig::new("redis://127.0.0.1:6379/")
///     .history(HistoryConfig::default().size(500))
///     .prefix("chat")
///     .request_timeout(Duration::from_secs(2));
/// assert_eq!(config.history.size, 500);
/// assert_eq!(config.key_ttl, Duration::from_secs(24 * 60 * 60));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The server, as a `redis://[user:password@]host[:port][/db]` URL (or
    /// `redis+unix:///path`). No default: [`new`](Self::new) takes it.
    /// Its password is not shown by `Debug`.
    pub url: String,
    /// How many of each topic's messages are kept in Redis, for how long,
    /// and how many one resume may take. Default [`HistoryConfig::off`]:
    /// offsets only, as a hub without a backplane has; turn it on for
    /// subscribers to resume across servers. [`HistoryConfig::max_topics`]
    /// does not apply: Redis forgets idle topics by themselves
    /// ([`key_ttl`](Self::key_ttl), [`HistoryConfig::ttl`]).
    pub history: HistoryConfig,
    /// What every key and channel name starts with (`{prefix}:{topic}:meta`,
    /// `{prefix}:{topic}`, ...). Default `"switchyard"`: set it to share one
    /// Redis between applications without mixing their topics.
    pub prefix: String,
    /// How long one request to Redis (a publish, a resume, a subscribe, a
    /// connection attempt) may take before it fails as
    /// [`BackplaneError::Down`](switchyard_hub::BackplaneError::Down).
    /// Default 5 s: far above a healthy round trip, short enough that a
    /// publisher is not left hanging on a Redis that stopped answering.
    pub request_timeout: Duration,
    /// How often the offsets in Redis are compared with what this hub
    /// received. Default 5 s. Pub/sub delivers at most once and says nothing
    /// when a connection dies silently: messages Redis had numbered a whole
    /// interval (and at least 1 s) earlier and that are still missing here
    /// are fetched from the history (or the topic's subscribers told they
    /// were lost), and the pub/sub connection is replaced if it carried none
    /// of them. Sooner, a message may just be on its way.
    pub check_interval: Duration,
    /// The first delay before reconnecting after a failure. Default 100 ms:
    /// a restart or a failover is over quickly.
    pub reconnect_min: Duration,
    /// The longest delay between reconnection attempts (each failure doubles
    /// it, with jitter). Default 5 s: a Redis that is down for long is not
    /// hammered by every server at once, and is noticed within seconds when
    /// back.
    pub reconnect_max: Duration,
    /// How long an idle topic's offset counter and epoch live in Redis after
    /// its last publish, subscribe or check. Default 24 h: a subscriber
    /// that was away less than that gets a plain answer ("not recovered",
    /// same epoch); after it, the topic starts again under a new epoch. The
    /// topics of this hub's subscribers are kept alive by the periodic check.
    pub key_ttl: Duration,
    /// How long a publish key ([`Hub::publish_once`](switchyard_hub::Hub::publish_once))
    /// is remembered. Default 300 s: a retry comes within seconds, and each
    /// key costs a few dozen bytes of Redis memory until then.
    pub idempotency_ttl: Duration,
    /// How long a claimed name ([`Presence::claim`](switchyard_hub::Presence::claim))
    /// lives in Redis unless this server renews it, which it does at every
    /// [`check_interval`](Self::check_interval). Default 30 s (six checks):
    /// a server that crashed or lost Redis has its chat members disappear
    /// within half a minute, and a slow check or two do not drop anyone.
    pub presence_ttl: Duration,
    /// The most names one room holds. Default 10,000: names come from
    /// clients.
    pub max_members: usize,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &without_password(&self.url))
            .field("history", &self.history)
            .field("prefix", &self.prefix)
            .field("request_timeout", &self.request_timeout)
            .field("check_interval", &self.check_interval)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .field("key_ttl", &self.key_ttl)
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("presence_ttl", &self.presence_ttl)
            .field("max_members", &self.max_members)
            .finish()
    }
}

/// `url` with the password of its user information, if any, replaced.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_string(),
    }
}

impl RedisConfig {
    /// The defaults, for the Redis server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            history: HistoryConfig::off(),
            prefix: "switchyard".to_string(),
            request_timeout: Duration::from_secs(5),
            check_interval: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            key_ttl: Duration::from_secs(24 * 60 * 60),
            idempotency_ttl: Duration::from_secs(300),
            presence_ttl: Duration::from_secs(30),
            max_members: 10_000,
        }
    }

    /// Sets [`url`](Self::url).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Sets [`history`](Self::history).
    pub fn history(mut self, history: HistoryConfig) -> Self {
        self.history = history;
        self
    }

    /// Sets [`prefix`](Self::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout) (at least 1 ms).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Sets [`check_interval`](Self::check_interval) (at least 10 ms).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Sets [`reconnect_min`](Self::reconnect_min) and
    /// [`reconnect_max`](Self::reconnect_max) (at least `min`).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_min = min;
        self.reconnect_max = max.max(min);
        self
    }

    /// Sets [`key_ttl`](Self::key_ttl) (at least 1 s).
    pub fn key_ttl(mut self, ttl: Duration) -> Self {
        self.key_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Sets [`presence_ttl`](Self::presence_ttl) (at least 1 ms).
    pub fn presence_ttl(mut self, ttl: Duration) -> Self {
        self.presence_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// Sets [`max_members`](Self::max_members) (at least 1).
    pub fn max_members(mut self, members: usize) -> Self {
        self.max_members = members.max(1);
        self
    }

    /// Sets [`idempotency_ttl`](Self::idempotency_ttl) (at least 1 ms).
    pub fn idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl.max(Duration::from_millis(1));
        self
    }
}

/// `duration` in whole milliseconds, for PEXPIRE and SET PX: at least 1
/// (SET refuses 0, and PEXPIRE 0 deletes), and well inside Redis's range.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i64::MAX as u64 / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_keep_values_sane() {
        let config = RedisConfig::new("redis://x/")
            .request_timeout(Duration::ZERO)
            .reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1))
            .key_ttl(Duration::ZERO);
        assert_eq!(config.request_timeout, Duration::from_millis(1));
        assert_eq!(config.reconnect_max, Duration::from_secs(2));
        assert_eq!(config.key_ttl, Duration::from_secs(1));
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert!(millis(Duration::MAX) < i64::MAX as u64);
    }

    #[test]
    fn debug_hides_the_password() {
        let config = RedisConfig::new("redis://app:s3cret@db:6379/2");
        let shown = format!("{config:?}");
        assert!(shown.contains("redis://app:***@db:6379/2"), "{shown}");
        assert!(!shown.contains("s3cret"));
        for url in [
            "redis://db/",
            "redis://:pw@db/",
            "redis+unix:///run/redis.sock",
            "db",
        ] {
            assert!(!without_password(url).contains("pw"), "{url}");
        }
        assert_eq!(without_password("redis://user@db/"), "redis://user@db/");
    }
}
