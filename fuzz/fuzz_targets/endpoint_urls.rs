//! Endpoint URLs on any text: a parsed endpoint has a host and a port (a
//! `unix://` one a socket path, `stdio` neither), and prints as a URL that
//! parses back to the same endpoint.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_bridge::{Endpoint, Scheme};

fuzz_target!(|text: &str| {
    if let Ok(endpoint) = text.parse::<Endpoint>() {
        match endpoint.scheme {
            Scheme::Stdio => assert!(endpoint.host.is_empty() && endpoint.path.is_empty()),
            Scheme::Unix => assert!(!endpoint.path.is_empty() && endpoint.host.is_empty()),
            _ => assert!(!endpoint.host.is_empty()),
        }
        let printed = endpoint.to_string();
        let again: Endpoint = printed
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which is refused: {e}"));
        assert_eq!(again, endpoint, "{text:?} printed as {printed:?}");
    }
});
