//! Length-prefixed framing on any bytes, cut into any chunks: the same
//! messages and errors as the whole stream at once, every message within
//! the maximum and encoding back to the bytes it came from, and no
//! allocation beyond a small multiple of the maximum, whatever length the
//! peer announces.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use switchyard_frame::{Framing, LengthPrefixed};
use switchyard_fuzz::{decode_whole_and_chunked, Chunked, LargestAllocation};

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

const MAX: usize = 1024;

fuzz_target!(|input: Chunked| {
    // Kept between chunks: less than one frame (header + MAX), the most
    // reserved for a frame announced and not yet whole.
    let window = LengthPrefixed::HEADER_LEN + MAX;
    let whole = decode_whole_and_chunked(|| LengthPrefixed::new(MAX), &input, window);

    let mut framing = LengthPrefixed::new(MAX);
    let mut again = BytesMut::new();
    for msg in whole.iter().filter_map(|m| m.as_ref().ok()) {
        assert!(msg.len() <= MAX);
        framing
            .encode(msg, &mut again)
            .expect("a decoded message encodes");
    }
    // The messages decoded are exactly the start of the wire, re-encoded.
    assert!(input.wire.starts_with(&again));
});
