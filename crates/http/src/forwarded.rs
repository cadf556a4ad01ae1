//! The client's address behind trusted reverse proxies, from
//! `X-Forwarded-For` (sans-IO).

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::RequestHead;

/// The address of the client a request comes from: `peer` itself, unless
/// `peer` is one of the `trusted` proxies; then the `X-Forwarded-For` list
/// (every repeat of the header, in order) is read from its right end, each
/// proxy having appended the address it got the request from, and the
/// first address that is not a trusted proxy is the client. Anything left
/// of it was written by the client and is not believed; a malformed entry
/// ends the walk at the last good one. An address found this way has port
/// 0 (the header carries none).
///
/// ```
/// use switchyard_http::{client_address, RequestHead};
///
/// let raw = b"GET / HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n\r\n";
/// let (head, _) = RequestHead::parse(raw, 8192).unwrap().unwrap();
/// let trusted = ["10.0.0.0/8".parse()?];
/// // From the proxy at 10.0.0.2: the address it appended, not the one the client wrote.
/// let client = client_address("10.0.0.2:40000".parse()?, &head, &trusted);
/// assert_eq!(client, "203.0.113.7:0".parse()?);
/// // From anyone else: the header is not believed.
/// let direct = client_address("198.51.100.1:5000".parse()?, &head, &trusted);
/// assert_eq!(direct, "198.51.100.1:5000".parse()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_address(peer: SocketAddr, head: &RequestHead, trusted: &[IpNet]) -> SocketAddr {
    let is_trusted = |ip: IpAddr| is_trusted_proxy(ip, trusted);
    if !is_trusted(peer.ip()) {
        return peer;
    }
    let hops: Vec<&str> = head.tokens("x-forwarded-for").collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = SocketAddr::new(ip, 0);
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// Whether `ip` is in one of the `trusted` networks. An IPv4 client of a
/// dual-stack listener arrives as `::ffff:a.b.c.d`, and counts as its IPv4
/// address.
pub(crate) fn is_trusted_proxy(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port
/// (`203.0.113.7:5000`, `[2001:db8::1]:443`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &str) -> RequestHead {
        let raw = format!("GET / HTTP/1.1\r\n{headers}\r\n");
        RequestHead::parse(raw.as_bytes(), 8192).unwrap().unwrap().0
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        let proxy: SocketAddr = "192.168.1.1:1234".parse().unwrap();
        // client -> 10.1.1.1 (an inner proxy) -> 192.168.1.1.
        let h = head("X-Forwarded-For: 1.1.1.1, 203.0.113.7, 10.1.1.1\r\n");
        assert_eq!(
            client_address(proxy, &h, &trusted),
            "203.0.113.7:0".parse().unwrap()
        );
        // The proxy added a line of its own after the client's.
        let h = head("X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 203.0.113.9\r\n");
        assert_eq!(
            client_address(proxy, &h, &trusted),
            "203.0.113.9:0".parse().unwrap()
        );
        // Ports and IPv6.
        let h = head("X-Forwarded-For: [2001:db8::7]:443\r\n");
        assert_eq!(
            client_address(proxy, &h, &trusted),
            "[2001:db8::7]:0".parse().unwrap()
        );
    }

    #[test]
    fn nothing_believable_leaves_the_last_good_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        let proxy: SocketAddr = "10.0.0.2:1234".parse().unwrap();
        // No header: the proxy itself.
        assert_eq!(client_address(proxy, &head(""), &trusted), proxy);
        // Garbage at the right end: nothing is believed.
        let h = head("X-Forwarded-For: 203.0.113.7, not-an-address\r\n");
        assert_eq!(client_address(proxy, &h, &trusted), proxy);
        // Every hop trusted: the leftmost one.
        let h = head("X-Forwarded-For: 10.9.9.9, 10.0.0.3\r\n");
        assert_eq!(
            client_address(proxy, &h, &trusted),
            "10.9.9.9:0".parse().unwrap()
        );
        // Without trusted proxies the header means nothing.
        let h = head("X-Forwarded-For: 203.0.113.7\r\n");
        assert_eq!(client_address(proxy, &h, &[]), proxy);
    }
}
