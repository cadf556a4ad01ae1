//! Line framing on any bytes, cut into any chunks: the same lines and
//! errors as the whole stream at once, every line within the maximum and
//! free of newlines, an over-long line reported and skipped without being
//! buffered, and no allocation beyond a small multiple of the maximum.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use switchyard_frame::{Framing, Lines};
use switchyard_fuzz::{decode_chunked, Chunked, LargestAllocation};

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

const MAX: usize = 256;

fuzz_target!(|input: Chunked| {
    let whole = decode_chunked(Lines::new(MAX), &input.wire, &[]);
    LargestAllocation::reset();
    let chunked = decode_chunked(Lines::new(MAX), &input.wire, &input.cuts);
    // Buffered: at most a line (MAX, its CR and LF) plus one chunk (255).
    let bound = 2 * (MAX + 2 + 255) + 64;
    // (decode_chunked allocates its own list first, one entry per byte.)
    let list = (input.wire.len() + 2) * std::mem::size_of::<Result<bytes::Bytes, String>>();
    assert!(
        LargestAllocation::largest() <= bound.max(list),
        "allocated {} bytes with a {MAX}-byte maximum",
        LargestAllocation::largest()
    );
    assert_eq!(whole, chunked, "chunking changed what was decoded");

    let mut framing = Lines::new(MAX);
    for line in whole.iter().filter_map(|m| m.as_ref().ok()) {
        assert!(line.len() <= MAX, "a {}-byte line", line.len());
        assert!(!line.contains(&b'\n'));
        let mut wire = BytesMut::new();
        if line.ends_with(b"\r") {
            // It would not arrive whole (a receiver strips a CR before the
            // LF): refused rather than changed.
            assert!(framing.encode(line, &mut wire).is_err());
            continue;
        }
        framing
            .encode(line, &mut wire)
            .expect("a decoded line encodes");
        assert_eq!(framing.decode(&mut wire).unwrap().as_ref(), Some(line));
    }
});
