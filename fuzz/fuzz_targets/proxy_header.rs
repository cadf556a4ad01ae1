//! PROXY protocol headers on any bytes: never a panic; a complete header
//! is no longer than the bytes given nor the limit, and the same prefix
//! parses the same way with anything appended.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_tcp::{parse_proxy_header, ProxyHeader, MAX_PROXY_HEADER};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(ProxyHeader::Complete { len, source }) = parse_proxy_header(bytes) {
        assert!(
            len <= bytes.len() && len <= MAX_PROXY_HEADER,
            "{len} of {}",
            bytes.len()
        );
        // What follows the header does not change it.
        let mut longer = bytes[..len].to_vec();
        longer.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(
            parse_proxy_header(&longer).ok(),
            Some(ProxyHeader::Complete { len, source })
        );
    }
});
