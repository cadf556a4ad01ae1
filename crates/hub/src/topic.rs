//! Topic names.

/// The longest topic name, in bytes.
pub const MAX_TOPIC_LEN: usize = 128;

/// Whether `topic` is a valid topic name: 1 to [`MAX_TOPIC_LEN`] of
/// `A-Z a-z 0-9 . _ -`, so a name is safe in a URL path, a query, a log
/// line and a key of any backplane without escaping.
///
/// ```
/// use switchyard_hub::is_valid_topic;
///
/// assert!(is_valid_topic("news.eu-west_1"));
/// assert!(!is_valid_topic(""));
/// assert!(!is_valid_topic("no spaces"));
/// assert!(!is_valid_topic(&"x".repeat(129)));
/// ```
pub fn is_valid_topic(topic: &str) -> bool {
    (1..=MAX_TOPIC_LEN).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
