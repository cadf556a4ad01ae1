//! Typed message formats: how a serde value becomes one message's bytes.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::Error;

/// A serialization format for typed messages. Formats are independent of
/// framing: any format works over any framing and any transport.
pub trait Format {
    /// The format's name, as it appears in errors.
    const NAME: &'static str;

    /// Serializes `value` into one message.
    fn encode<T: Serialize>(&self, value: &T) -> Result<Bytes, Error>;

    /// Deserializes one message.
    fn decode<T: DeserializeOwned>(&self, msg: &[u8]) -> Result<T, Error>;
}
