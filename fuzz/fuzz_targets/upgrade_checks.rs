//! The WebSocket upgrade checks on any request head: an accepted upgrade is
//! a GET with every required header, its accept key has the right form,
//! its subprotocol is one both sides named, and the 101 written for it has
//! exactly one end of head (nothing from the request can inject a header);
//! a refusal is a 4xx with the same property.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchyard_ws::handshake::{check_upgrade, switching_protocols};
use switchyard_http::RequestHead;
use switchyard_ws::OriginPolicy;

#[derive(Arbitrary, Debug)]
struct Input {
    policy: u8,
    protocols: Vec<String>,
    extra_headers: String,
    request: Vec<u8>,
}

fn one_end_of_head(bytes: &[u8]) -> bool {
    bytes.windows(4).filter(|w| w == b"\r\n\r\n").count() == 1
}

fuzz_target!(|input: Input| {
    // Half the time the bytes follow a valid request line, to get past it.
    let mut raw = Vec::new();
    if input.policy & 1 == 0 {
        raw.extend_from_slice(b"GET /ws HTTP/1.1\r\n");
        raw.extend_from_slice(input.extra_headers.as_bytes());
    }
    raw.extend_from_slice(&input.request);
    let Ok(Some((head, _))) = RequestHead::parse(&raw, 16 << 10) else {
        return;
    };
    let origins = match input.policy % 3 {
        0 => OriginPolicy::SameHost,
        1 => OriginPolicy::AllowAny,
        _ => OriginPolicy::allow(["https://app.example".to_string()]),
    };
    match check_upgrade(&head, &origins, &input.protocols) {
        Ok(upgrade) => {
            assert_eq!(head.method, "GET");
            assert!(head.has_token("connection", "upgrade"));
            assert!(head.has_token("upgrade", "websocket"));
            assert_eq!(upgrade.accept.len(), 28);
            if let Some(chosen) = &upgrade.protocol {
                assert!(input.protocols.contains(chosen));
                assert!(head.tokens("sec-websocket-protocol").any(|p| p == chosen));
            }
            let response = switching_protocols(&upgrade, &http::HeaderMap::new()).to_bytes();
            assert!(response.starts_with(b"HTTP/1.1 101 "));
            assert!(one_end_of_head(&response) && response.ends_with(b"\r\n\r\n"));
        }
        Err(refusal) => {
            assert!(refusal.status().is_client_error());
            let bytes = refusal.to_bytes();
            let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            assert!(!bytes[..head_end].windows(2).any(|w| w == b"\n\n"));
        }
    }
});
