//! [`WsMessage`]: a WebSocket data message, its kind with its bytes.

use std::ops::Deref;

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
pub struct WsMessage {
    kind: MessageKind,
    data: Bytes,
}

impl WsMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            kind: MessageKind::Text,
            data: Bytes::from(text.into()),
        }
    }

    /// A text message of `data`, which must be UTF-8.
    pub fn text_from_utf8(data: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&data)?;
        Ok(Self {
            kind: MessageKind::Text,
            data,
        })
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self {
            kind: MessageKind::Binary,
            data: data.into(),
        }
    }

    /// A message of `kind`: text must be UTF-8.
    pub fn new(kind: MessageKind, data: Bytes) -> Result<Self, std::str::Utf8Error> {
        match kind {
            MessageKind::Binary => Ok(Self::binary(data)),
            MessageKind::Text => Self::text_from_utf8(data),
        }
    }

    /// A message whose text-ness was checked by tungstenite.
    pub(crate) fn checked(kind: MessageKind, data: Bytes) -> Self {
        Self { kind, data }
    }

    /// Its kind.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Whether it is a text message.
    pub fn is_text(&self) -> bool {
        self.kind == MessageKind::Text
    }

    /// Its text, for a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self.kind {
            MessageKind::Text => std::str::from_utf8(&self.data).ok(),
            MessageKind::Binary => None,
        }
    }

    /// Its bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Its bytes, without the kind.
    pub fn into_data(self) -> Bytes {
        self.data
    }
}

impl Deref for WsMessage {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl AsRef<[u8]> for WsMessage {
    fn as_ref(&self) -> &[u8] {
        &self.data
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
        msg.data
    }
}
