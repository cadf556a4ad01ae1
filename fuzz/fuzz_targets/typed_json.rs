//! JSON messages: any value decodes to itself after encoding, and any bytes
//! decode to a value or a `Decode` error (never a panic, never a stack
//! overflow: nesting is limited).

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use switchyard_frame::{Error, Format, Json};

#[derive(Arbitrary, Debug, PartialEq, Serialize, Deserialize)]
enum Message {
    Ping,
    Text(String),
    Numbers(Vec<u64>),
    Signed { a: i64, b: i16 },
    Maybe(Option<String>),
    Map(BTreeMap<String, u32>),
    Nested(Vec<Vec<Option<bool>>>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    value: Message,
    garbage: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let encoded = Json.encode(&input.value).expect("every message encodes");
    assert_eq!(Json.decode::<Message>(&encoded).unwrap(), input.value);
    for result in [
        Json.decode::<Message>(&input.garbage).map(drop),
        Json.decode::<serde_json::Value>(&input.garbage).map(drop),
    ] {
        match result {
            Ok(()) | Err(Error::Decode { .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
});
