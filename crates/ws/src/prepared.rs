//! A message prepared for many connections ([`WsMessage::prepare`]): its
//! compressed payload made once for all of them.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::deflate::{Compressor, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
use crate::WsMessage;

/// A message and its compressed payload for each window, 9 to 15 bits,
/// each made by the first connection that needs it.
pub(crate) struct Prepared {
    message: WsMessage,
    compressed: [OnceLock<Bytes>; WINDOWS],
}

const WINDOWS: usize = (MAX_WINDOW_BITS - MIN_WINDOW_BITS + 1) as usize;

impl Prepared {
    /// `message` (not itself prepared), to be sent to many connections.
    pub(crate) fn new(message: WsMessage) -> Self {
        Self {
            message,
            compressed: Default::default(),
        }
    }

    pub(crate) fn message(&self) -> &WsMessage {
        &self.message
    }

    /// The message's payload compressed with a window of `window_bits`,
    /// without context: made the first time it is asked for (at that
    /// connection's `level`), and the same bytes for every later
    /// connection, whatever its level (any deflate stream inflates). Two
    /// connections asking at once may both compress it; one result is
    /// kept.
    pub(crate) fn compressed(&self, window_bits: u8, level: u32) -> Bytes {
        let bits = window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let slot = &self.compressed[usize::from(bits - MIN_WINDOW_BITS)];
        if let Some(compressed) = slot.get() {
            return compressed.clone();
        }
        let mut out = Vec::new();
        Compressor::new(bits, true)
            .with_level(level)
            .compress(self.message.data(), &mut out);
        slot.get_or_init(|| Bytes::from(out)).clone()
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let windows: Vec<u8> = (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
            .zip(&self.compressed)
            .filter(|(_, slot)| slot.get().is_some())
            .map(|(bits, _)| bits)
            .collect();
        f.debug_struct("Prepared")
            .field("message", &self.message)
            .field("compressed_for_windows", &windows)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::Decompressor;

    #[test]
    fn compressed_once_per_window_and_inflates_back() {
        let text = "hello, subscribers; ".repeat(40);
        let prepared = Prepared::new(WsMessage::text(text.clone()));
        let first = prepared.compressed(15, 6);
        let again = prepared.compressed(15, 1);
        // The same allocation: compressed once.
        assert_eq!(first.as_ptr(), again.as_ptr());
        assert!(first.len() < text.len() / 4);
        for bits in [9, 15] {
            let mut inflated = Vec::new();
            Decompressor::new(bits, true)
                .inflate(&prepared.compressed(bits, 6), true, 1 << 20, &mut inflated)
                .expect("inflates");
            assert_eq!(inflated, text.as_bytes());
        }
        assert!(format!("{prepared:?}").contains("[9, 15]"));
    }
}
