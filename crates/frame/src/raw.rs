//! Raw framing: whatever bytes arrived, as one message.

use bytes::{Bytes, BytesMut};

use crate::{Error, Framing};

/// No framing at all: each read's bytes become one message, and a message is
/// written as it is. For relaying plain byte streams, where message
/// boundaries mean nothing. A message is at most one read's worth of bytes
/// ([`FramedConfig::read_chunk`](crate::FramedConfig::read_chunk)).
///
/// ```
/// use bytes::BytesMut;
/// use switchyard_frame::{Framing, Raw};
///
/// let mut wire = BytesMut::from(&b"any bytes"[..]);
/// assert_eq!(Raw.decode(&mut wire).unwrap().as_deref(), Some(&b"any bytes"[..]));
/// assert_eq!(Raw.decode(&mut wire).unwrap(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Raw;

impl Framing for Raw {
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        if src.is_empty() {
            Ok(None)
        } else {
            Ok(Some(src.split().freeze()))
        }
    }

    fn encode(&mut self, msg: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(msg);
        Ok(())
    }
}
