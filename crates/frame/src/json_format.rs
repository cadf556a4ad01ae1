//! [`Json`]: JSON as a typed message format.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::{Error, Format};

/// JSON, as browsers speak it. serde_json limits nesting to 128 levels.
///
/// ```
/// use switchyard_frame::{Format, Json};
///
/// let bytes = Json.encode(&vec![1, 2, 3])?;
/// assert_eq!(&bytes[..], b"[1,2,3]");
/// assert_eq!(Json.decode::<Vec<u8>>(&bytes)?, vec![1, 2, 3]);
/// # Ok::<(), switchyard_frame::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json;

impl Format for Json {
    const NAME: &'static str = "json";

    fn encode<T: Serialize>(&self, value: &T) -> Result<Bytes, Error> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| Error::Encode {
                format: Self::NAME,
                reason: e.to_string(),
            })
    }

    fn decode<T: DeserializeOwned>(&self, msg: &[u8]) -> Result<T, Error> {
        serde_json::from_slice(msg).map_err(|e| Error::Decode {
            format: Self::NAME,
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_the_wrong_shape_is_a_decode_error() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Request {
            id: u64,
        }
        let err = Json.decode::<Request>(b"{\"id\": \"x\"}").unwrap_err();
        assert!(matches!(err, Error::Decode { format: "json", .. }));
        assert!(!err.is_broken());
    }
}
