//! [`PushClient`]: a numbered push subscriber's client that reconnects by
//! itself and resumes where it was in each topic.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use switchyard_frame::Error;
use switchyard_hub::{is_valid_topic, Delivery, Position};

use super::envelope;
use super::SubscriberCommand;
use switchyard_ws::{ClientConfig, ReconnectPolicy, Reconnecting, WsMessage};

/// A client of a numbered push endpoint ([`PushConfig::numbered`](crate::PushConfig::numbered)):
/// it reconnects whenever its connection is lost ([`Reconnecting`]) and
/// asks, each time, for what it missed in each of its topics, from the
/// position of the last message it received there. What it yields is what
/// the server's subscription yielded: [`Delivery::Subscribed`] answers
/// (`recovered: false` after a gap the server's history could not fill:
/// reload what the messages were building), then each topic's messages,
/// each once and in order.
///
/// ```no_run
/// # switchyard_push::rt::block_on(async {
/// use switchyard_push::hub::Delivery;
/// use switchyard_push::ws::{ClientConfig, ReconnectPolicy};
/// use switchyard_push::PushClient;
///
/// let mut news = PushClient::new(
///     "ws://127.0.0.1:8080/ws",
///     ClientConfig::default(),
///     ReconnectPolicy::default(),
///     ["news"],
/// );
/// while let Ok(delivery) = news.next().await {
///     match delivery {
///         Delivery::Message(m) => println!("{} #{}: {:?}", m.topic(), m.offset(), m.data()),
///         Delivery::Subscribed { recovered: false, .. } => println!("(some messages were missed)"),
///         _ => {}
///     }
/// }
/// # });
/// ```
#[derive(Debug)]
pub struct PushClient {
    conn: Reconnecting,
    /// Each topic, and where the client is in it once answered: shared with
    /// the URL made at each connection.
    topics: Arc<Mutex<BTreeMap<String, Option<Position>>>>,
}

impl PushClient {
    /// A client of the subscriber endpoint at `url` (without a query), for
    /// `topics` (invalid names are skipped); it connects on first use.
    pub fn new<T: Into<String>>(
        url: impl Into<String>,
        config: ClientConfig,
        policy: ReconnectPolicy,
        topics: impl IntoIterator<Item = T>,
    ) -> Self {
        let topics: BTreeMap<_, _> = topics
            .into_iter()
            .map(Into::into)
            .filter(|t| is_valid_topic(t))
            .map(|t| (t, None))
            .collect();
        let topics = Arc::new(Mutex::new(topics));
        let (base, known) = (url.into(), topics.clone());
        let conn = Reconnecting::new(base.clone(), config, policy).url_from(move || {
            let known = known.lock().unwrap_or_else(PoisonError::into_inner);
            url_for(&base, &known)
        });
        Self { conn, topics }
    }

    /// The next delivery, across reconnections; the positions it gives are
    /// where the next connection resumes from.
    pub async fn next(&mut self) -> Result<Delivery, Error> {
        loop {
            let msg = self.conn.next().await?;
            let Some(delivery) = envelope::parse(msg.data()) else {
                continue; // not of the push protocol: nothing to resume from
            };
            let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
            match &delivery {
                Delivery::Message(m) => {
                    if let Some(at) = topics.get_mut(m.topic()) {
                        *at = Some(m.position());
                    }
                }
                Delivery::Subscribed {
                    topic, position, ..
                } => {
                    if let Some(at) = topics.get_mut(&**topic) {
                        *at = Some(position.clone());
                    }
                }
                // Still wanted: the server closes with 1013 after a refusal,
                // and the next connection joins it again.
                Delivery::Refused { .. } => {}
                _ => {}
            }
            return Ok(delivery);
        }
    }

    /// Joins `topic` now, and on every later connection.
    pub async fn subscribe(&mut self, topic: &str) -> Result<(), Error> {
        let command = SubscriberCommand::Subscribe {
            topic: topic.into(),
            since: None,
        };
        self.topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(topic.into())
            .or_insert(None);
        self.conn.send(WsMessage::text(command.to_json())).await
    }

    /// Leaves `topic`.
    pub async fn unsubscribe(&mut self, topic: &str) -> Result<(), Error> {
        self.topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic);
        let command = SubscriberCommand::Unsubscribe(topic.into());
        self.conn.send(WsMessage::text(command.to_json())).await
    }

    /// Where the client is in `topic`: the last message received there, or
    /// the position the server's answer gave.
    pub fn position(&self, topic: &str) -> Option<Position> {
        self.topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .cloned()
            .flatten()
    }

    /// How many times a connection has been made.
    pub fn connects(&self) -> u64 {
        self.conn.connects()
    }
}

/// `base?topics=a,b&since=a:41:EPOCH`: the topics, and where the client is
/// in those it knows.
fn url_for(base: &str, topics: &BTreeMap<String, Option<Position>>) -> String {
    let names: Vec<&str> = topics.keys().map(String::as_str).collect();
    let since: Vec<String> = topics
        .iter()
        .filter_map(|(topic, at)| {
            at.as_ref()
                .map(|at| format!("{topic}:{}:{}", at.offset, at.epoch))
        })
        .collect();
    // Topics and epochs are of `A-Z a-z 0-9 . _ -`, and `,` and `:` are
    // allowed in a query: nothing to escape.
    let mut url = format!("{base}?topics={}", names.join(","));
    if !since.is_empty() {
        url.push_str("&since=");
        url.push_str(&since.join(","));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_hub::Epoch;

    #[test]
    fn the_url_names_every_topic_and_where_the_client_is() {
        let mut topics = BTreeMap::new();
        topics.insert("news".to_string(), None);
        assert_eq!(url_for("ws://h/ws", &topics), "ws://h/ws?topics=news");
        topics.insert(
            "sport".to_string(),
            Some(Position {
                offset: 41,
                epoch: Epoch::new("e-1"),
            }),
        );
        assert_eq!(
            url_for("ws://h/ws", &topics),
            "ws://h/ws?topics=news,sport&since=sport:41:e-1"
        );
    }
}
