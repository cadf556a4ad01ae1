//! Line framing on any bytes, cut into any chunks: the same lines and
//! errors as the whole stream at once, every line within the maximum and
//! free of newlines, an over-long line reported and skipped without being
//! buffered, and no allocation beyond a small multiple of the maximum.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use switchyard_frame::{Framing, Lines};
use switchyard_fuzz::{decode_whole_and_chunked, Chunked, LargestAllocation};

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

const MAX: usize = 256;

fuzz_target!(|input: Chunked| {
    // Kept between chunks: less than a line with its CR and LF.
    let whole = decode_whole_and_chunked(|| Lines::new(MAX), &input, MAX + 2);

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
