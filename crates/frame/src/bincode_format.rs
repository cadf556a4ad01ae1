//! [`Bincode`]: bincode 2 as a typed message format.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::{Error, Format};

/// bincode 2 with its standard configuration (little-endian, variable-length
/// integers), for Rust peers.
///
/// Decoding is bounded: bincode refuses any message that claims more than
/// `LIMIT` bytes of collections or strings (default 16 MiB, the framing's own
/// default maximum), so a hostile length inside a message cannot make the
/// decoder allocate without bound. Trailing bytes after the value are an
/// error, not ignored.
///
/// ```
/// use switchyard_frame::{Bincode, Format};
///
/// let bytes = Bincode::new().encode(&(7u32, "seven".to_string()))?;
/// let value: (u32, String) = Bincode::new().decode(&bytes)?;
/// assert_eq!(value, (7, "seven".to_string()));
///
/// // A string that claims 2^60 bytes is refused, not allocated.
/// let hostile = [0xff, 0, 0, 0, 0, 0, 0, 0, 0x10];
/// assert!(Bincode::new().with_limit::<1024>().decode::<String>(&hostile).is_err());
/// # Ok::<(), switchyard_frame::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bincode<const LIMIT: usize = DEFAULT_BINCODE_LIMIT>;

/// [`Bincode`]'s default decode limit, 16 MiB: the length-prefixed framing's
/// own default maximum message.
pub const DEFAULT_BINCODE_LIMIT: usize = 16 << 20;

impl Bincode {
    /// bincode with the default decode limit.
    pub const fn new() -> Self {
        Bincode
    }
}

impl<const LIMIT: usize> Bincode<LIMIT> {
    /// The same format with a decode limit of `N` bytes.
    pub const fn with_limit<const N: usize>(self) -> Bincode<N> {
        Bincode
    }
}

impl<const LIMIT: usize> Format for Bincode<LIMIT> {
    const NAME: &'static str = "bincode";

    fn encode<T: Serialize>(&self, value: &T) -> Result<Bytes, Error> {
        bincode::serde::encode_to_vec(value, bincode::config::standard())
            .map(Bytes::from)
            .map_err(|e| Error::Encode {
                format: Self::NAME,
                reason: e.to_string(),
            })
    }

    fn decode<T: DeserializeOwned>(&self, msg: &[u8]) -> Result<T, Error> {
        let config = bincode::config::standard().with_limit::<LIMIT>();
        let decode_error = |reason: String| Error::Decode {
            format: Self::NAME,
            reason,
        };
        let (value, used) = bincode::serde::decode_from_slice(msg, config)
            .map_err(|e| decode_error(e.to_string()))?;
        if used != msg.len() {
            return Err(decode_error(format!(
                "{} trailing bytes after the value",
                msg.len() - used
            )));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Request {
        id: u64,
        tags: Vec<String>,
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        let garbage = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        let err = Bincode::<1024>.decode::<Request>(&garbage).unwrap_err();
        assert!(matches!(
            err,
            Error::Decode {
                format: "bincode",
                ..
            }
        ));
        assert!(!err.is_broken());
    }
    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = Bincode::<1024>.encode(&5u8).unwrap().to_vec();
        bytes.push(0);
        assert!(Bincode::<1024>.decode::<u8>(&bytes).is_err());
    }

    #[test]
    fn a_hostile_vector_length_is_refused_by_the_limit() {
        // varint marker 0xfd then a u64 length of 2^40, and nothing after.
        let hostile = [0xfd, 0, 0, 0, 0, 0, 1, 0, 0];
        assert!(Bincode::<4096>.decode::<Vec<u64>>(&hostile).is_err());
        let ok = Request {
            id: 1,
            tags: vec!["a".into()],
        };
        let bytes = Bincode::<4096>.encode(&ok).unwrap();
        assert_eq!(Bincode::<4096>.decode::<Request>(&bytes).unwrap(), ok);
    }
}
