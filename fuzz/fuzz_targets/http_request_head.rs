//! The HTTP request head parser on any bytes, with any limit: a head, a
//! need for more, or a 4xx refusal; a head is never longer than the limit
//! nor than the bytes; a shorter prefix of a whole head is never a
//! different head; every accessor answers without panicking.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchyard_http::RequestHead;

#[derive(Arbitrary, Debug)]
struct Input {
    max: u16,
    bytes: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let max = usize::from(input.max);
    match RequestHead::parse(&input.bytes, max) {
        Ok(Some((head, len))) => {
            assert!(len <= input.bytes.len() && len <= max);
            assert!(!head.path.contains('?'));
            if len > 0 {
                let prefix = RequestHead::parse(&input.bytes[..len - 1], max);
                assert!(
                    !matches!(prefix, Ok(Some(_))),
                    "a prefix parsed as a whole head"
                );
            }
            for name in ["host", "connection", "upgrade", "origin", "content-length"] {
                let _ = head.header(name);
                let _ = head.has_token(name, "upgrade");
                let _ = head.tokens(name).count();
            }
            for name in ["token", "topics", "room", ""] {
                let _ = head.query_param(name);
            }
        }
        Ok(None) => assert!(input.bytes.len() < max),
        Err(response) => assert!(response.status().is_client_error()),
    }
});
