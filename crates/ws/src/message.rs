//! [`WsMessage`]: a WebSocket data message, its kind with its bytes.

use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::frame::Utf8Bytes;
use bytes::Bytes;

use crate::prepared::Prepared;

/// Whether a WebSocket message is binary or text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Binary messages: any bytes.
    #[default]
    Binary,
    /// Text messages: UTF-8, what browsers read as strings.
    Text,
}

/// A WebSocket data message: its [kind](MessageKind) and its bytes. A text
/// message's bytes are always UTF-8 (checked when it is made or received),
/// so sending one never fails for its content.
///
/// It derefs to its bytes (`&msg[..]`, `msg.len()`); two messages are equal
/// when both their kinds and their bytes are. `"hi".into()` (a `&str` or
/// `String`) is a text message; `Bytes`, `Vec<u8>` and `&[u8]` become
/// binary ones.
///
/// ```
/// use switchyard_ws::{MessageKind, WsMessage};
///
/// let text = WsMessage::from("hello");
/// assert_eq!((text.kind(), text.as_text()), (MessageKind::Text, Some("hello")));
/// let binary = WsMessage::binary(vec![0xff, 0x00]);
/// assert_eq!((binary.kind(), binary.as_text()), (MessageKind::Binary, None));
/// assert_eq!(&binary[..], [0xff, 0x00]);
/// assert!(WsMessage::text_from_utf8(vec![0xff].into()).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct WsMessage(Repr);

/// Text is kept as tungstenite's checked UTF-8 bytes: checked once when
/// made, never again on the way out.
#[derive(Debug, Clone)]
enum Repr {
    Binary(Bytes),
    Text(Utf8Bytes),
    /// Shared by its clones with its compressed forms ([`WsMessage::prepare`]);
    /// the message inside is binary or text.
    Prepared(Arc<Prepared>),
}

impl PartialEq for WsMessage {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind() && self.data() == other.data()
    }
}

impl Eq for WsMessage {}

impl Hash for WsMessage {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind().hash(state);
        self.data().hash(state);
    }
}

impl WsMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self(Repr::Text(Utf8Bytes::from(text.into())))
    }

    /// A text message of `data`, which must be UTF-8.
    pub fn text_from_utf8(data: Bytes) -> Result<Self, std::str::Utf8Error> {
        Ok(Self(Repr::Text(Utf8Bytes::try_from(data)?)))
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self(Repr::Binary(data.into()))
    }

    /// A message of `kind`: text must be UTF-8.
    pub fn new(kind: MessageKind, data: Bytes) -> Result<Self, std::str::Utf8Error> {
        match kind {
            MessageKind::Binary => Ok(Self::binary(data)),
            MessageKind::Text => Self::text_from_utf8(data),
        }
    }

    /// A text message tungstenite received (and checked).
    pub(crate) fn from_utf8_bytes(text: Utf8Bytes) -> Self {
        Self(Repr::Text(text))
    }

    /// The message as tungstenite sends it: no check left to make.
    pub(crate) fn into_tungstenite(self) -> async_tungstenite::tungstenite::Message {
        use async_tungstenite::tungstenite::Message;
        match self.0 {
            Repr::Binary(data) => Message::Binary(data),
            Repr::Text(text) => Message::Text(text),
            Repr::Prepared(prepared) => prepared.message().clone().into_tungstenite(),
        }
    }

    /// This message, prepared to be sent to many connections (a publish to
    /// every subscriber): its clones share one compressed form, as
    /// gorilla/websocket's `PreparedMessage`. The first server connection
    /// that sends it with permessage-deflate agreed compresses it, and
    /// every later one with the same window that keeps no context between
    /// messages (the default,
    /// [`DeflateConfig::no_context_takeover`](crate::deflate::DeflateConfig::no_context_takeover))
    /// sends those same bytes. A connection with context takeover
    /// compresses it for itself; a client masks and sends it as any other
    /// message. Preparing a prepared message changes nothing.
    ///
    /// ```
    /// use switchyard_ws::WsMessage;
    ///
    /// let update = WsMessage::text(r#"{"price":101.5}"#).prepare();
    /// let for_another = update.clone(); // the same message, compressed once
    /// assert_eq!(for_another.as_text(), Some(r#"{"price":101.5}"#));
    /// assert_eq!(update, WsMessage::text(r#"{"price":101.5}"#));
    /// ```
    pub fn prepare(self) -> Self {
        match self.0 {
            Repr::Prepared(_) => self,
            _ => Self(Repr::Prepared(Arc::new(Prepared::new(self)))),
        }
    }

    /// Its shared compressed forms, if it was [prepared](Self::prepare).
    pub(crate) fn prepared(&self) -> Option<&Prepared> {
        match &self.0 {
            Repr::Prepared(prepared) => Some(prepared),
            _ => None,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> MessageKind {
        match &self.0 {
            Repr::Binary(_) => MessageKind::Binary,
            Repr::Text(_) => MessageKind::Text,
            Repr::Prepared(prepared) => prepared.message().kind(),
        }
    }

    /// Whether it is a text message.
    pub fn is_text(&self) -> bool {
        self.kind() == MessageKind::Text
    }

    /// Its text, for a text message.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(text) => Some(text.as_str()),
            Repr::Binary(_) => None,
            Repr::Prepared(prepared) => prepared.message().as_text(),
        }
    }

    /// Its bytes.
    pub fn data(&self) -> &Bytes {
        match &self.0 {
            Repr::Binary(data) => data,
            Repr::Text(text) => text.as_ref(),
            Repr::Prepared(prepared) => prepared.message().data(),
        }
    }

    /// Its bytes, without the kind.
    pub fn into_data(self) -> Bytes {
        match self.0 {
            Repr::Binary(data) => data,
            Repr::Text(text) => Bytes::from(text),
            Repr::Prepared(prepared) => prepared.message().data().clone(),
        }
    }
}

impl Deref for WsMessage {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data()
    }
}

impl AsRef<[u8]> for WsMessage {
    fn as_ref(&self) -> &[u8] {
        self.data()
    }
}

impl From<&str> for WsMessage {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for WsMessage {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<Bytes> for WsMessage {
    fn from(data: Bytes) -> Self {
        Self::binary(data)
    }
}

impl From<Vec<u8>> for WsMessage {
    fn from(data: Vec<u8>) -> Self {
        Self::binary(data)
    }
}

impl From<&[u8]> for WsMessage {
    fn from(data: &[u8]) -> Self {
        Self::binary(Bytes::copy_from_slice(data))
    }
}

impl From<WsMessage> for Bytes {
    fn from(msg: WsMessage) -> Self {
        msg.into_data()
    }
}
