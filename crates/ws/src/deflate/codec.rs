//! Compressing and inflating one message's payload (RFC 7692 §7.2), with
//! the inflated size checked as it grows: a small message that would
//! inflate past the limit stops at the limit, without the memory.
//!
//! Without context takeover the compression state exists only while a
//! message is compressed or inflated: it is borrowed from a small pool of
//! the thread's, reset, and given back, so an idle connection keeps none.
//! With context takeover it is the connection's, for as long as it lasts.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What ends every compressed message's deflate data after a sync flush,
/// and what the sender takes off (RFC 7692 §7.2.1).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// States kept per thread for connections without context takeover: a
/// message borrows one, and gives it back reset.
const POOL: usize = 4;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// It inflates to more than the largest message (close with 1009).
    #[error("the message inflates to more than {max} bytes")]
    TooLarge {
        /// The largest message.
        max: usize,
    },
    /// Its payload is not a raw deflate stream (close with 1007, as for
    /// other invalid payload data).
    #[error("invalid compressed data: {0}")]
    Corrupt(String),
}

thread_local! {
    // Keyed by what they were made for: window bits, and a compressor's
    // level (`level << 8 | bits`).
    static COMPRESSORS: RefCell<Vec<(u16, Compress)>> = const { RefCell::new(Vec::new()) };
    static DECOMPRESSORS: RefCell<Vec<(u16, Decompress)>> = const { RefCell::new(Vec::new()) };
}

/// One direction's compressor: it compresses each message this side sends.
#[derive(Debug)]
pub struct Compressor {
    window_bits: u8,
    level: Compression,
    /// The state, kept between messages with context takeover.
    kept: Option<Compress>,
    no_context_takeover: bool,
}

impl Compressor {
    /// A compressor with a window of `window_bits` (9 to 15), at zlib's
    /// default level; `no_context_takeover` resets it after each message.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        Self {
            window_bits: window_bits.clamp(9, 15),
            level: Compression::new(3),
            kept: None,
            no_context_takeover,
        }
    }

    /// The same, compressing at zlib's `level` (0 to 9, 9 at most;
    /// [`Compressor::new`] uses 3, [`DeflateConfig::level`](crate::deflate::DeflateConfig::level)'s
    /// default).
    ///
    /// ```
    /// use switchyard_ws::deflate::Compressor;
    ///
    /// let text = "the quick brown fox jumps over the lazy dog; ".repeat(200);
    /// let (mut fast, mut small) = (Vec::new(), Vec::new());
    /// Compressor::new(15, true).with_level(1).compress(text.as_bytes(), &mut fast);
    /// Compressor::new(15, true).with_level(9).compress(text.as_bytes(), &mut small);
    /// assert!(small.len() <= fast.len());
    /// ```
    pub fn with_level(mut self, level: u32) -> Self {
        self.level = Compression::new(level.min(9));
        self
    }

    /// Its zlib level.
    pub(crate) fn level(&self) -> u32 {
        self.level.level()
    }

    /// What its state is pooled under: its window and its level.
    fn pool_key(&self) -> u16 {
        (self.level.level() as u16) << 8 | u16::from(self.window_bits)
    }

    /// The window it compresses with, in bits.
    pub(crate) fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Whether what it sends depends on the messages before (context
    /// takeover): then no other connection's compressed bytes will do.
    pub(crate) fn keeps_context(&self) -> bool {
        !self.no_context_takeover
    }

    /// Appends to `out` the payload of `message` compressed: what a frame
    /// with RSV1 set carries (its trailing `00 00 ff ff` left out).
    ///
    /// ```
    /// use switchyard_ws::deflate::{Compressor, Decompressor};
    ///
    /// let text = br#"{"topic":"news","text":"hello hello hello hello"}"#;
    /// let mut compressed = Vec::new();
    /// Compressor::new(15, true).compress(text, &mut compressed);
    /// assert!(compressed.len() < text.len());
    ///
    /// let mut inflated = Vec::new();
    /// Decompressor::new(15, true).inflate(&compressed, true, 1 << 20, &mut inflated)?;
    /// assert_eq!(inflated, text);
    /// # Ok::<(), switchyard_ws::deflate::InflateError>(())
    /// ```
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) {
        let mut state = self.kept.take().unwrap_or_else(|| {
            borrow(&COMPRESSORS, self.pool_key()).unwrap_or_else(|| {
                Compress::new_with_window_bits(self.level, false, self.window_bits)
            })
        });
        let start = out.len();
        let mut input = message;
        loop {
            // Room for what is left, at worst a little larger than it is.
            out.reserve(input.len() / 2 + 64);
            let before = state.total_in();
            // A sync flush (never a full one): it ends in the tail.
            let _ = state.compress_vec(input, out, FlushCompress::Sync);
            input = &input[(state.total_in() - before) as usize..];
            // zlib's rule: the flush is complete once a call leaves
            // output space unused.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        }
        if self.no_context_takeover {
            state.reset();
            give_back(&COMPRESSORS, self.pool_key(), state);
        } else {
            self.kept = Some(state);
        }
    }
}

/// One direction's inflater: it inflates each compressed message this
/// side receives, a frame at a time.
#[derive(Debug)]
pub struct Decompressor {
    window_bits: u8,
    /// The state: during a message; between messages too with context
    /// takeover.
    state: Option<Decompress>,
    no_context_takeover: bool,
    /// Bytes inflated so far of the message under way.
    inflated: usize,
    /// The message's data ended with a final block: the rest of it is
    /// padding, and the next message starts a new stream.
    stream_ended: bool,
}

impl Decompressor {
    /// An inflater for a peer whose window is `window_bits` (8 to 15; a
    /// 15-bit window inflates them all); `no_context_takeover` when the
    /// peer resets its compressor after each message.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        Self {
            window_bits: window_bits.clamp(9, 15),
            state: None,
            no_context_takeover,
            inflated: 0,
            stream_ended: false,
        }
    }

    /// Inflates `input`, the next frame's payload of a compressed message
    /// (`last` for its final frame), appending to `out`, and fails as soon
    /// as the message inflates to more than `max` bytes: what a peer sends
    /// cannot make this side hold more than `max` and a chunk.
    pub fn inflate(
        &mut self,
        input: &[u8],
        last: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), InflateError> {
        let result = self.inflate_part(input, max, out).and_then(|()| {
            if last {
                // The tail the sender took off, given back.
                self.inflate_part(&SYNC_TAIL, max, out)
            } else {
                Ok(())
            }
        });
        if last || result.is_err() {
            self.end_message(result.is_err());
        }
        result
    }

    fn inflate_part(
        &mut self,
        mut input: &[u8],
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), InflateError> {
        if self.stream_ended {
            return Ok(()); // padding after a final block
        }
        let bits = self.window_bits;
        let state = self.state.get_or_insert_with(|| {
            borrow(&DECOMPRESSORS, u16::from(bits))
                .unwrap_or_else(|| Decompress::new_with_window_bits(false, bits))
        });
        while !input.is_empty() {
            // At most what is left under the limit, plus one byte to tell
            // "exactly at the limit" from "past it", in chunks.
            let room = (max - self.inflated.min(max))
                .saturating_add(1)
                .min(16 << 10);
            out.reserve_exact(room);
            let (before_in, before_out) = (state.total_in(), out.len());
            let status = match state.decompress_vec(input, out, FlushDecompress::Sync) {
                Ok(status) => status,
                Err(e) => {
                    // What the failed call wrote is no part of a message
                    // (and may be past the limit).
                    out.truncate(before_out);
                    return Err(InflateError::Corrupt(e.to_string()));
                }
            };
            let taken = (state.total_in() - before_in) as usize;
            input = &input[taken..];
            self.inflated += out.len() - before_out;
            if self.inflated > max {
                out.truncate(out.len() - (self.inflated - max));
                return Err(InflateError::TooLarge { max });
            }
            if status == Status::StreamEnd {
                // A final block (BFINAL set) ends the message's data, as
                // RFC 7692 §7.2.3.5 allows: what follows (the tail given
                // back) is padding, and the stream starts afresh next time.
                self.stream_ended = true;
                return Ok(());
            }
            if taken == 0 && out.len() == before_out {
                // Neither input taken nor output made, with room to make it.
                if out.len() < out.capacity() {
                    return Err(InflateError::Corrupt(
                        "the inflater made no progress".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The message is over: its state reset and given back (no context
    /// takeover, or after an error), or kept for the next.
    fn end_message(&mut self, failed: bool) {
        self.inflated = 0;
        let ended = std::mem::take(&mut self.stream_ended);
        if self.no_context_takeover || failed || ended {
            if let Some(mut state) = self.state.take() {
                state.reset(false);
                give_back(&DECOMPRESSORS, u16::from(self.window_bits), state);
            }
        }
    }
}

/// A pooled state of `bits`, if the thread has one.
fn borrow<T: 'static>(
    pool: &'static std::thread::LocalKey<RefCell<Vec<(u16, T)>>>,
    key: u16,
) -> Option<T> {
    pool.with(|pool| {
        let mut pool = pool.borrow_mut();
        let at = pool.iter().position(|(k, _)| *k == key)?;
        Some(pool.swap_remove(at).1)
    })
}

/// Keeps a reset state for the thread's next message, within [`POOL`].
fn give_back<T: 'static>(
    pool: &'static std::thread::LocalKey<RefCell<Vec<(u16, T)>>>,
    key: u16,
    state: T,
) {
    pool.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL {
            pool.push((key, state));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(
        compressor: &mut Compressor,
        inflater: &mut Decompressor,
        message: &[u8],
    ) -> Vec<u8> {
        let mut compressed = Vec::new();
        compressor.compress(message, &mut compressed);
        let mut inflated = Vec::new();
        inflater
            .inflate(&compressed, true, 1 << 24, &mut inflated)
            .unwrap();
        inflated
    }

    #[test]
    fn messages_come_back_whole_with_and_without_context_takeover() {
        for reset in [true, false] {
            for bits in [9, 12, 15] {
                let mut c = Compressor::new(bits, reset);
                let mut d = Decompressor::new(bits, reset);
                for message in [&b""[..], b"a", &[7u8; 100_000], br#"{"a":1,"a":1,"a":1}"#] {
                    assert_eq!(round_trip(&mut c, &mut d, message), message, "bits {bits}");
                }
            }
        }
    }

    #[test]
    fn context_takeover_makes_a_repeated_message_smaller() {
        let message = br#"{"topic":"news","id":12345,"text":"a message like the last one"}"#;
        let sizes = |reset| {
            let mut c = Compressor::new(15, reset);
            let (mut first, mut second) = (Vec::new(), Vec::new());
            c.compress(message, &mut first);
            c.compress(message, &mut second);
            (first.len(), second.len())
        };
        let (first, second) = sizes(false);
        assert!(second < first / 2, "{first} then {second}");
        let (first, second) = sizes(true);
        assert_eq!(first, second);
    }

    /// A bomb: a few KiB that inflate to far more than the limit stop at
    /// the limit, with at most one chunk more allocated, and the inflater
    /// takes the next message.
    #[test]
    fn a_bomb_stops_at_the_limit() {
        let mut compressed = Vec::new();
        Compressor::new(15, true).compress(&vec![0u8; 64 << 20], &mut compressed);
        assert!(compressed.len() < 100 << 10, "{}", compressed.len());
        let mut d = Decompressor::new(15, true);
        let mut out = Vec::new();
        let max = 1 << 20;
        let error = d.inflate(&compressed, true, max, &mut out).unwrap_err();
        assert_eq!(error, InflateError::TooLarge { max });
        assert_eq!(out.len(), max);
        assert!(out.capacity() <= max + (32 << 10), "{}", out.capacity());
        let mut next = Vec::new();
        Compressor::new(15, true).compress(b"next", &mut next);
        let mut inflated = Vec::new();
        d.inflate(&next, true, max, &mut inflated).unwrap();
        assert_eq!(inflated, b"next");
    }

    #[test]
    fn a_message_exactly_at_the_limit_passes() {
        let mut compressed = Vec::new();
        Compressor::new(15, true).compress(&[1u8; 1000], &mut compressed);
        let mut out = Vec::new();
        Decompressor::new(15, true)
            .inflate(&compressed, true, 1000, &mut out)
            .unwrap();
        assert_eq!(out.len(), 1000);
        let mut out = Vec::new();
        let error = Decompressor::new(15, true).inflate(&compressed, true, 999, &mut out);
        assert_eq!(error, Err(InflateError::TooLarge { max: 999 }));
    }

    #[test]
    fn fragments_inflate_as_the_whole() {
        let message: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut compressed = Vec::new();
        Compressor::new(15, true).compress(&message, &mut compressed);
        let mut d = Decompressor::new(15, true);
        let mut out = Vec::new();
        let chunks: Vec<&[u8]> = compressed.chunks(777).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            d.inflate(chunk, i + 1 == chunks.len(), 1 << 24, &mut out)
                .unwrap();
        }
        assert_eq!(out, message);
    }

    #[test]
    fn garbage_is_corrupt_and_the_next_message_still_inflates() {
        let mut d = Decompressor::new(15, true);
        let mut out = Vec::new();
        let error = d.inflate(&[0xff; 64], true, 1 << 20, &mut out).unwrap_err();
        assert!(matches!(error, InflateError::Corrupt(_)), "{error:?}");
        let mut compressed = Vec::new();
        Compressor::new(15, true).compress(b"fine", &mut compressed);
        let mut out = Vec::new();
        d.inflate(&compressed, true, 1 << 20, &mut out).unwrap();
        assert_eq!(out, b"fine");
    }

    /// RFC 7692 §7.2.3.5's example: "Hello" in a block with BFINAL set,
    /// whose tail comes after the final block; with context takeover the
    /// next message starts a new stream.
    #[test]
    fn a_message_ending_in_a_final_block_inflates() {
        let hello = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        for reset in [true, false] {
            let mut d = Decompressor::new(15, reset);
            for _ in 0..2 {
                let mut out = Vec::new();
                d.inflate(&hello, true, 1 << 20, &mut out).unwrap();
                assert_eq!(out, b"Hello");
            }
        }
    }

    /// Found by the fuzz target: garbage that inflates a byte before it
    /// fails left that byte past a limit of 0.
    #[test]
    fn what_a_failed_call_wrote_is_taken_back() {
        let mut out = Vec::new();
        let result = Decompressor::new(14, true).inflate(&[59, 59, 38], true, 0, &mut out);
        assert!(result.is_err());
        assert!(out.is_empty(), "{out:?}");
    }

    proptest! {
        /// Any bytes, cut anywhere, inflate within the limit or fail
        /// cleanly: never a panic, never more than the limit.
        #[test]
        fn any_payload_inflates_within_the_limit_or_fails(
            payload in proptest::collection::vec(any::<u8>(), 0..512),
            cut in 0usize..512,
            max in 0usize..4096,
        ) {
            let mut d = Decompressor::new(15, true);
            let mut out = Vec::new();
            let cut = cut.min(payload.len());
            let first = d.inflate(&payload[..cut], false, max, &mut out);
            if first.is_ok() {
                let _ = d.inflate(&payload[cut..], true, max, &mut out);
            }
            prop_assert!(out.len() <= max);
        }

        /// Whatever is compressed comes back, whatever the window.
        #[test]
        fn any_message_round_trips(
            message in proptest::collection::vec(any::<u8>(), 0..4096),
            bits in 9u8..=15,
        ) {
            let mut c = Compressor::new(bits, true);
            let mut d = Decompressor::new(bits, true);
            prop_assert_eq!(round_trip(&mut c, &mut d, &message), message);
        }
    }
}
