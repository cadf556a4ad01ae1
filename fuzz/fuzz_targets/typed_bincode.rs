//! Bincode messages: any value decodes to itself after encoding, and any
//! bytes decode to a value or a `Decode` error (never a panic), within the
//! documented allocation bound whatever lengths the bytes claim: the
//! format's limit for strings and bytes, and serde's preallocation for a
//! sequence or map, at most 1 MiB per nesting level (this type has one).

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use switchyard_frame::{Bincode, Error, Format};
use switchyard_fuzz::LargestAllocation;

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

const LIMIT: usize = 4096;

#[derive(Arbitrary, Debug, PartialEq, Serialize, Deserialize)]
enum Message {
    Ping,
    Text(String),
    Numbers(Vec<u64>),
    Signed { a: i64, b: i16 },
    Bytes(Vec<u8>),
    Maybe(Option<String>),
    Map(BTreeMap<String, u32>),
    Pairs(Vec<(u8, String)>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    value: Message,
    garbage: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let format = Bincode::<LIMIT>;
    let encoded = format.encode(&input.value).expect("every message encodes");
    match format.decode::<Message>(&encoded) {
        Ok(back) => assert_eq!(back, input.value),
        // A value whose contents claim more than the limit is refused even
        // when it is our own: the limit counts what the decoded value holds
        // (eight bytes a u64, which bincode may write in one).
        Err(Error::Decode { reason, .. }) => {
            assert!(reason.contains("LimitExceeded"), "{reason}")
        }
        Err(e) => panic!("unexpected error {e}"),
    }

    LargestAllocation::reset();
    match format.decode::<Message>(&input.garbage) {
        Ok(value) => {
            // What decodes encodes and decodes back to itself. (Not always
            // to the same bytes: bincode accepts a varint written longer
            // than it needs.)
            let again = format.encode(&value).unwrap();
            assert!(again.len() <= input.garbage.len());
            assert_eq!(format.decode::<Message>(&again).unwrap(), value);
        }
        Err(Error::Decode { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
    }
    assert!(
        LargestAllocation::largest() <= (4 * LIMIT).max(1 << 20) + input.garbage.len(),
        "allocated {} bytes decoding {} bytes",
        LargestAllocation::largest(),
        input.garbage.len()
    );
});
