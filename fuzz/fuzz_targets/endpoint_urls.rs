//! Endpoint URLs on any text: a parsed endpoint has a host and a port, and
//! prints as a URL that parses back to the same endpoint.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_bridge::Endpoint;

fuzz_target!(|text: &str| {
    if let Ok(endpoint) = text.parse::<Endpoint>() {
        let authority = endpoint.authority();
        assert!(!authority.is_empty());
        let printed = endpoint.to_string();
        let again: Endpoint = printed
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which is refused: {e}"));
        assert_eq!(again, endpoint, "{text:?} printed as {printed:?}");
    }
});
