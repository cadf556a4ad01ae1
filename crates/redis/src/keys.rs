//! The names of a topic's Redis keys and pub/sub channel.
//!
//! Topic names are `[A-Za-z0-9._-]{1,128}` ([`is_valid_topic`]): no `:`,
//! so `{prefix}:{topic}:meta` of one topic is never another topic's key or
//! channel, whatever the prefix.

use switchyard_hub::is_valid_topic;

/// The longest publish key taken, in bytes: it becomes part of a Redis key
/// name, and comes from whoever publishes.
pub(crate) const MAX_PUBLISH_KEY_LEN: usize = 256;

/// Key and channel names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    prefix: String,
}

impl Names {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The hash with the topic's `offset` and `epoch`.
    pub(crate) fn meta(&self, topic: &str) -> String {
        format!("{}:{topic}:meta", self.prefix)
    }

    /// The stream of the topic's kept messages.
    pub(crate) fn history(&self, topic: &str) -> String {
        format!("{}:{topic}:history", self.prefix)
    }

    /// Where the receipt of the publish with key `key` is remembered.
    pub(crate) fn publish_key(&self, topic: &str, key: &str) -> String {
        format!("{}:{topic}:key:{key}", self.prefix)
    }

    /// The sorted set of the names claimed in a room, each scored with
    /// when it expires (Unix ms).
    pub(crate) fn members(&self, room: &str) -> String {
        format!("{}:{room}:members", self.prefix)
    }

    /// The hash of who holds each name claimed in a room.
    pub(crate) fn holders(&self, room: &str) -> String {
        format!("{}:{room}:holders", self.prefix)
    }

    /// The channel the topic's messages are published on.
    pub(crate) fn channel(&self, topic: &str) -> String {
        format!("{}:{topic}", self.prefix)
    }

    /// The topic a channel of this prefix carries, if it is one.
    pub(crate) fn topic_of<'c>(&self, channel: &'c str) -> Option<&'c str> {
        let topic = channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(':')?;
        is_valid_topic(topic).then_some(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_channels_round_trip() {
        let names = Names::new("app");
        assert_eq!(names.meta("news"), "app:news:meta");
        assert_eq!(names.history("news"), "app:news:history");
        assert_eq!(names.publish_key("news", "k:1"), "app:news:key:k:1");
        assert_eq!(names.members("rust"), "app:rust:members");
        let channel = names.channel("news.eu_1-a");
        assert_eq!(channel, "app:news.eu_1-a");
        assert_eq!(names.topic_of(&channel), Some("news.eu_1-a"));
        for other in [
            "app",
            "app:",
            "ap:news",
            "other:news",
            "app:news:meta",
            "app:no space",
            "?",
        ] {
            assert_eq!(names.topic_of(other), None, "{other}");
        }
    }
}
