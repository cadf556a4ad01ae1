//! Raw framing on any bytes, cut into any chunks: the messages, joined,
//! are exactly the bytes that arrived, none is empty, and none is larger
//! than what was buffered.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_frame::Raw;
use switchyard_fuzz::{decode_chunked, Chunked};

fuzz_target!(|input: Chunked| {
    let decoded = decode_chunked(Raw, &input.wire, &input.cuts);
    let mut joined = Vec::new();
    for msg in decoded {
        let msg = msg.expect("raw framing has no errors");
        assert!(!msg.is_empty());
        joined.extend_from_slice(&msg);
    }
    assert_eq!(joined, input.wire);
});
