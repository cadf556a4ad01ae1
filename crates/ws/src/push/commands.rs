//! The JSON commands a push subscriber's client sends to join and leave
//! topics.

use bytes::Bytes;
use switchyard_hub::{is_valid_topic, HubError, Subscription};

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
pub(crate) fn command(sub: &Subscription, msg: Bytes) -> Option<Bytes> {
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
