//! The JSON commands a push subscriber's client sends to join and leave
//! topics, and to resume where it was.

use bytes::Bytes;
use switchyard_hub::{is_valid_topic, Epoch, HubError, Position, Subscription};

/// A command a push subscriber's client sends, as a JSON text message:
/// `{"subscribe":"news"}`, `{"unsubscribe":"news"}`, or, coming back
/// after being away, `{"subscribe":"news","since":{"offset":41,"epoch":"..."}}`
/// with the position of the last message it received.
///
/// ```
/// use switchyard_push::hub::{Epoch, Position};
/// use switchyard_push::SubscriberCommand;
///
/// assert_eq!(
///     SubscriberCommand::parse(br#"{"subscribe":"news"}"#),
///     Ok(SubscriberCommand::Subscribe { topic: "news".into(), since: None })
/// );
/// assert_eq!(
///     SubscriberCommand::parse(br#"{"subscribe":"news","since":{"offset":41,"epoch":"e7"}}"#),
///     Ok(SubscriberCommand::Subscribe {
///         topic: "news".into(),
///         since: Some(Position { offset: 41, epoch: Epoch::new("e7") }),
///     })
/// );
/// assert!(SubscriberCommand::parse(br#"{"subscribe":"no spaces"}"#).is_err());
/// assert!(SubscriberCommand::parse(br#"{"unsubscribe":"news","since":{"offset":1,"epoch":"e"}}"#).is_err());
/// assert!(SubscriberCommand::parse(b"\xff").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriberCommand {
    /// Join a topic; from `since` when given.
    Subscribe {
        /// The topic.
        topic: String,
        /// Where the client was: the last offset it received and its epoch.
        since: Option<Position>,
    },
    /// Leave a topic.
    Unsubscribe(String),
}

/// The wire form of a command.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    subscribe: Option<String>,
    unsubscribe: Option<String>,
    since: Option<WireSince>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSince {
    offset: u64,
    epoch: String,
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
    /// A `since` whose epoch is not one (1-128 of `A-Z a-z 0-9 . _ -`).
    #[error("invalid epoch in since")]
    InvalidEpoch,
}

impl SubscriberCommand {
    /// Parses one command; its topic must be a valid name.
    pub fn parse(msg: &[u8]) -> Result<Self, CommandError> {
        let wire: Wire =
            serde_json::from_slice(msg).map_err(|e| CommandError::Unknown(e.to_string()))?;
        let command = match wire {
            Wire {
                subscribe: Some(topic),
                unsubscribe: None,
                since,
            } => SubscriberCommand::Subscribe {
                topic,
                since: since.map(parse_since).transpose()?,
            },
            Wire {
                subscribe: None,
                unsubscribe: Some(topic),
                since: None,
            } => SubscriberCommand::Unsubscribe(topic),
            _ => {
                return Err(CommandError::Unknown(
                    "expected {\"subscribe\":\"topic\"} (with an optional \"since\") \
                     or {\"unsubscribe\":\"topic\"}"
                        .into(),
                ))
            }
        };
        match &command {
            SubscriberCommand::Subscribe { topic, .. } | SubscriberCommand::Unsubscribe(topic)
                if !is_valid_topic(topic) =>
            {
                Err(CommandError::InvalidTopic)
            }
            _ => Ok(command),
        }
    }
}

impl SubscriberCommand {
    /// The command as a client sends it.
    ///
    /// ```
    /// use switchyard_push::SubscriberCommand;
    ///
    /// let resume = r#"{"subscribe":"news","since":{"offset":41,"epoch":"e7"}}"#;
    /// let command = SubscriberCommand::parse(resume.as_bytes())?;
    /// assert_eq!(SubscriberCommand::parse(command.to_json().as_bytes())?, command);
    /// # Ok::<(), switchyard_push::CommandError>(())
    /// ```
    pub fn to_json(&self) -> String {
        let value = match self {
            SubscriberCommand::Subscribe { topic, since: None } => {
                serde_json::json!({ "subscribe": topic })
            }
            SubscriberCommand::Subscribe {
                topic,
                since: Some(since),
            } => serde_json::json!({
                "subscribe": topic,
                "since": { "offset": since.offset, "epoch": since.epoch.as_str() },
            }),
            SubscriberCommand::Unsubscribe(topic) => serde_json::json!({ "unsubscribe": topic }),
        };
        value.to_string()
    }
}

fn parse_since(since: WireSince) -> Result<Position, CommandError> {
    // Epochs are names of the same shape as topics: no escaping anywhere.
    if !is_valid_topic(&since.epoch) {
        return Err(CommandError::InvalidEpoch);
    }
    Ok(Position {
        offset: since.offset,
        epoch: Epoch::new(since.epoch),
    })
}

/// Where a subscriber that names positions in its URL
/// (`?since=news:41:EPOCH,sport:3:EPOCH`) is in each topic. Entries that
/// are not `topic:offset:epoch` with a valid topic and epoch are skipped
/// (that topic is joined without a position).
pub(crate) fn parse_url_since(value: &str) -> Vec<(&str, Position)> {
    value
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.splitn(3, ':');
            let (topic, offset, epoch) = (parts.next()?, parts.next()?, parts.next()?);
            let offset = offset.parse().ok()?;
            (is_valid_topic(topic) && is_valid_topic(epoch)).then(|| {
                (
                    topic,
                    Position {
                        offset,
                        epoch: Epoch::new(epoch),
                    },
                )
            })
        })
        .collect()
}

/// Applies one command from a client; a reply if it was refused.
pub(crate) fn command(sub: &mut Subscription, msg: Bytes) -> Option<Bytes> {
    let error = |e: String| Some(Bytes::from(serde_json::json!({ "error": e }).to_string()));
    let joined = match SubscriberCommand::parse(&msg) {
        Ok(SubscriberCommand::Subscribe { topic, since: None }) => sub.join(&topic),
        Ok(SubscriberCommand::Subscribe {
            topic,
            since: Some(since),
        }) => sub.resume(&topic, since),
        Ok(SubscriberCommand::Unsubscribe(topic)) => {
            sub.leave(&topic);
            Ok(())
        }
        Err(e) => return error(e.to_string()),
    };
    match joined {
        Ok(()) | Err(HubError::CutOff) => None,
        Err(e) => error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_positions_are_read_and_bad_ones_skipped() {
        let since = parse_url_since("news:41:e-1,bad,sport:x:e,a b:1:e,weather:3:e/1,tv:0:e2");
        let read: Vec<_> = since
            .iter()
            .map(|(t, p)| format!("{t}@{}:{}", p.offset, p.epoch))
            .collect();
        assert_eq!(read, ["news@41:e-1", "tv@0:e2"]);
    }
}
