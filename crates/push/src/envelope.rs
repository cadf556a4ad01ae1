//! What a numbered push subscriber is sent ([`PushConfig::numbered`](super::PushConfig::numbered)):
//! every message with its topic and position, the answer to each
//! subscribe, and refusals, as JSON text.
//!
//! ```text
//! {"topic":"news","offset":42,"epoch":"18b...-1","data":"the message"}
//! {"subscribed":"news","recovered":true,"offset":41,"epoch":"18b...-1"}
//! {"error":"backplane unavailable: ...","topic":"news"}
//! ```
//!
//! On a binary hub a message's bytes go in `"base64"` instead of `"data"`.

use base64::Engine;
use bytes::Bytes;
use switchyard_hub::{is_valid_topic, Delivery, Epoch, Numbered, Position, Published};
use switchyard_ws::{MessageKind, WsMessage};

/// A published message in its envelope, [prepared](WsMessage::prepare):
/// made once, and compressed once, for every numbered subscriber.
#[derive(Clone)]
struct InEnvelope(WsMessage);

/// A published message as it was, prepared once for every subscriber that
/// asked for no numbers; refused for bytes a text message cannot carry.
#[derive(Clone)]
struct AsPublished(Result<WsMessage, std::str::Utf8Error>);

/// The text a numbered subscriber is sent for `delivery`.
pub(crate) fn numbered(delivery: Delivery, text: bool) -> Option<WsMessage> {
    match delivery {
        Delivery::Message(m) => {
            let encode = |m: &Published| InEnvelope(WsMessage::text(message(m, text)).prepare());
            Some(m.encoded(encode).0)
        }
        Delivery::Subscribed {
            topic,
            recovered,
            position,
        } => Some(WsMessage::text(subscribed(&topic, recovered, &position))),
        Delivery::Refused { topic, reason } => Some(WsMessage::text(refused(&topic, &reason))),
        // A kind of delivery this version does not know: nothing to send.
        _ => None,
    }
}

/// What a subscriber that asked for no numbers is sent: the messages as
/// they were published (text on a text hub), and refusals. A message a
/// text hub holds that is not UTF-8 (published on another server and
/// delivered through the backplane unchecked) cannot be sent as text: the
/// error.
pub(crate) fn plain(
    delivery: Delivery,
    kind: MessageKind,
) -> Option<Result<WsMessage, std::str::Utf8Error>> {
    match delivery {
        Delivery::Message(m) => {
            let encode = |m: &Published| {
                AsPublished(WsMessage::new(kind, m.data().clone()).map(WsMessage::prepare))
            };
            Some(m.encoded(encode).0)
        }
        Delivery::Refused { topic, reason } => Some(Ok(WsMessage::text(refused(&topic, &reason)))),
        _ => None,
    }
}

fn message(m: &Published, text: bool) -> String {
    // Topics and epochs are of `A-Z a-z 0-9 . _ -`: written as they are.
    let mut out = String::with_capacity(m.data().len() + m.topic().len() + 64);
    out.push_str("{\"topic\":\"");
    out.push_str(m.topic());
    out.push_str(&format!("\",\"offset\":{},\"epoch\":\"", m.offset()));
    out.push_str(m.epoch().as_str());
    match std::str::from_utf8(m.data()) {
        Ok(data) if text => {
            out.push_str("\",\"data\":");
            // A string always serializes.
            if let Ok(json) = serde_json::to_string(data) {
                out.push_str(&json);
            }
        }
        _ => {
            out.push_str("\",\"base64\":\"");
            base64::engine::general_purpose::STANDARD.encode_string(m.data(), &mut out);
            out.push('"');
        }
    }
    out.push('}');
    out
}

fn subscribed(topic: &str, recovered: bool, position: &Position) -> String {
    let answer = serde_json::json!({
        "subscribed": topic,
        "recovered": recovered,
        "offset": position.offset,
        "epoch": position.epoch.as_str(),
    });
    answer.to_string()
}

fn refused(topic: &str, reason: &str) -> String {
    serde_json::json!({ "error": reason, "topic": topic }).to_string()
}

/// Any of the messages above, as a client reads it.
#[derive(serde::Deserialize)]
struct Incoming {
    topic: Option<String>,
    offset: Option<u64>,
    epoch: Option<String>,
    data: Option<String>,
    base64: Option<String>,
    subscribed: Option<String>,
    recovered: Option<bool>,
    error: Option<String>,
}

/// Reads what a numbered subscriber is sent back into the [`Delivery`] the
/// server's subscription yielded; `None` for anything else. An error about
/// no topic in particular is a [`Delivery::Refused`] with an empty topic.
pub(crate) fn parse(msg: &[u8]) -> Option<Delivery> {
    let incoming: Incoming = serde_json::from_slice(msg).ok()?;
    let position = |epoch: Option<String>, offset: Option<u64>| {
        let epoch = epoch.filter(|e| is_valid_topic(e))?;
        Some(Position {
            offset: offset?,
            epoch: Epoch::new(epoch),
        })
    };
    match incoming {
        Incoming {
            subscribed: Some(topic),
            recovered: Some(recovered),
            offset,
            epoch,
            ..
        } => Some(Delivery::Subscribed {
            topic: topic.into(),
            recovered,
            position: position(epoch, offset)?,
        }),
        Incoming {
            error: Some(reason),
            topic,
            ..
        } => Some(Delivery::Refused {
            topic: topic.unwrap_or_default().into(),
            reason,
        }),
        Incoming {
            topic: Some(topic),
            offset,
            epoch,
            data,
            base64,
            ..
        } => {
            let data = match (data, base64) {
                (Some(text), None) => Bytes::from(text),
                (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .ok()?
                    .into(),
                _ => return None,
            };
            let position = position(epoch, offset)?;
            let numbered = Numbered {
                offset: position.offset,
                epoch: position.epoch,
                data,
            };
            Some(Delivery::Message(Published::new(topic, numbered)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_hub::{Epoch, Numbered};

    fn published(data: &[u8]) -> Published {
        let numbered = Numbered {
            offset: 42,
            epoch: Epoch::new("e-1"),
            data: Bytes::copy_from_slice(data),
        };
        Published::new("news", numbered)
    }

    #[test]
    fn a_message_is_json_with_its_text_escaped_or_its_bytes_in_base64() {
        let sent = numbered(Delivery::Message(published(b"say \"hi\"\n")), true).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"topic":"news","offset":42,"epoch":"e-1","data":"say \"hi\"\n"})
        );
        let sent = numbered(Delivery::Message(published(b"\xff\x00")), false).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(value["base64"], "/wA=");
        assert_eq!(value.get("data"), None);
    }

    /// A delivery's every field, to compare.
    fn fields(d: &Delivery) -> String {
        match d {
            Delivery::Message(m) => {
                format!("message {} {:?} {:?}", m.topic(), m.position(), m.data())
            }
            Delivery::Subscribed {
                topic,
                recovered,
                position,
            } => format!("subscribed {topic} {recovered} {position:?}"),
            Delivery::Refused { topic, reason } => format!("refused {topic} {reason}"),
            other => format!("{other:?}"),
        }
    }

    /// What a client reads back is what the server's subscription yielded.
    #[test]
    fn every_envelope_reads_back_as_it_was_sent() {
        for text in [true, false] {
            let sent = [
                Delivery::Message(published(b"say \"hi\"")),
                Delivery::Subscribed {
                    topic: "news".into(),
                    recovered: false,
                    position: published(b"").position(),
                },
                Delivery::Refused {
                    topic: "news".into(),
                    reason: "no".into(),
                },
            ];
            for delivery in sent {
                let wire = numbered(delivery.clone(), text).unwrap();
                assert_eq!(fields(&parse(&wire).unwrap()), fields(&delivery));
            }
        }
        let junk: [&[u8]; 5] = [
            b"{}",
            b"[]",
            b"\xff",
            br#"{"topic":"t","offset":1,"epoch":"bad epoch","data":""}"#,
            br#"{"topic":"t","offset":1,"epoch":"e","base64":"not base64!"}"#,
        ];
        for junk in junk {
            assert!(parse(junk).is_none(), "{junk:?}");
        }
    }

    #[test]
    fn answers_say_where_the_subscriber_is() {
        let answer = Delivery::Subscribed {
            topic: "news".into(),
            recovered: true,
            position: published(b"").position(),
        };
        let sent = numbered(answer.clone(), true).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"subscribed":"news","recovered":true,"offset":42,"epoch":"e-1"})
        );
        assert_eq!(plain(answer, MessageKind::Binary), None);
        // Not UTF-8 on a text hub: refused, not sent.
        assert!(
            plain(Delivery::Message(published(b"\xff")), MessageKind::Text)
                .unwrap()
                .is_err()
        );
        assert_eq!(
            plain(Delivery::Message(published(b"raw")), MessageKind::Binary)
                .unwrap()
                .ok()
                .as_deref(),
            Some(&b"raw"[..])
        );
    }
}
