//! [`WsMessage`]: a WebSocket data message, its kind with its bytes.

use std::ops::Deref;

use async_tungstenite::tungstenite::protocol::frame::Utf8Bytes;
use bytes::Bytes;

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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WsMessage(Repr);

/// Text is kept as tungstenite's checked UTF-8 bytes: checked once when
/// made, never again on the way out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    Binary(Bytes),
    Text(Utf8Bytes),
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
        }
    }

    /// Its kind.
    pub fn kind(&self) -> MessageKind {
        match self.0 {
            Repr::Binary(_) => MessageKind::Binary,
            Repr::Text(_) => MessageKind::Text,
        }
    }

    /// Whether it is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self.0, Repr::Text(_))
    }

    /// Its text, for a text message.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(text) => Some(text.as_str()),
            Repr::Binary(_) => None,
        }
    }

    /// Its bytes.
    pub fn data(&self) -> &Bytes {
        match &self.0 {
            Repr::Binary(data) => data,
            Repr::Text(text) => text.as_ref(),
        }
    }

    /// Its bytes, without the kind.
    pub fn into_data(self) -> Bytes {
        match self.0 {
            Repr::Binary(data) => data,
            Repr::Text(text) => Bytes::from(text),
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
