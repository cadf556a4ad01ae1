//! The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer that
//! relays TCP connections says first, in a header, whose connection it is.
//! Parsed by the `ppp` crate; [`parse_proxy_header`] is the sans-IO step,
//! [`Accepted::read_proxy_header`](crate::Accepted::read_proxy_header) reads
//! it off a connection without taking a byte of what follows.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::AsyncReadExt;
use ppp::{v1, v2, HeaderResult, PartialResult};
use switchyard_rt::net::TcpStream as RuntimeTcpStream;

/// The longest header taken: a version 1 header is at most 107 bytes; a
/// version 2 header is 16 plus its stated length, which HAProxy keeps
/// within 536 bytes in all. Longer is refused.
pub const MAX_PROXY_HEADER: usize = 536;

/// The longest version 1 header, CRLF included.
const V1_MAX: usize = 107;

/// What the start of a connection says, as far as it has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeader {
    /// A whole header of `len` bytes. `source` is the client's address, or
    /// `None` when the proxy speaks for itself (version 1 `UNKNOWN`,
    /// version 2 `LOCAL`, e.g. its health checks, or an address family
    /// other than TCP over IP).
    Complete {
        /// The header's length in bytes.
        len: usize,
        /// Whose connection it is.
        source: Option<SocketAddr>,
    },
    /// A header has begun; more bytes are needed.
    Incomplete,
}

/// Why a connection's PROXY header was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyHeaderError {
    /// Not a PROXY protocol header (of either version), or a malformed one.
    #[error("no valid PROXY protocol header: {0}")]
    Invalid(String),
    /// Longer than its version allows: 107 bytes for version 1,
    /// [`MAX_PROXY_HEADER`] for version 2.
    #[error("PROXY protocol header over its {0}-byte limit")]
    TooLong(usize),
    /// The whole header did not arrive in time.
    #[error("no whole PROXY protocol header within {0:?}")]
    TimedOut(Duration),
    /// The connection failed or ended before the header was whole.
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
}

impl ProxyHeaderError {
    /// Whether the peer closed without sending a byte: a load balancer's
    /// TCP health check connects and closes, which is no attack to warn of.
    pub fn is_closed_empty(&self) -> bool {
        matches!(self, ProxyHeaderError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof)
    }
}

/// Parses the PROXY header at the start of `bytes` (what has arrived so
/// far), version 1 or 2.
///
/// ```
/// use switchyard_tcp::{parse_proxy_header, ProxyHeader};
///
/// let bytes = b"PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\nGET / HTTP/1.1\r\n";
/// let header = parse_proxy_header(bytes)?;
/// assert_eq!(
///     header,
///     ProxyHeader::Complete { len: 44, source: Some("203.0.113.7:51000".parse()?) }
/// );
/// assert_eq!(parse_proxy_header(b"PROXY TCP4 203.0.")?, ProxyHeader::Incomplete);
/// assert!(parse_proxy_header(b"GET / HTTP/1.1\r\n").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_proxy_header(bytes: &[u8]) -> Result<ProxyHeader, ProxyHeaderError> {
    let parsed = HeaderResult::parse(&bytes[..bytes.len().min(MAX_PROXY_HEADER)]);
    if parsed.is_incomplete() {
        if matches!(parsed, HeaderResult::V1(_)) {
            return v1_unfinished(bytes, "a version 1 header with a missing field");
        }
        return if bytes.len() >= MAX_PROXY_HEADER {
            Err(ProxyHeaderError::TooLong(MAX_PROXY_HEADER))
        } else {
            Ok(ProxyHeader::Incomplete)
        };
    }
    let (len, source) = match parsed {
        // ppp takes a version 1 header that the input ends in without its
        // CRLF: more bytes could still change it (a port cut short).
        HeaderResult::V1(Ok(header)) if !header.header.ends_with("\r\n") => {
            return v1_unfinished(bytes, "a version 1 header must end in CRLF");
        }
        HeaderResult::V1(Ok(header)) => {
            let source = match header.addresses {
                v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
                v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
                v1::Addresses::Unknown => None,
            };
            (header.header.len(), source)
        }
        HeaderResult::V2(Ok(header)) => {
            let source = match (header.command, header.addresses) {
                (v2::Command::Local, _) => None,
                (_, v2::Addresses::IPv4(a)) => {
                    Some(SocketAddr::from((a.source_address, a.source_port)))
                }
                (_, v2::Addresses::IPv6(a)) => {
                    Some(SocketAddr::from((a.source_address, a.source_port)))
                }
                _ => None,
            };
            (header.len(), source)
        }
        HeaderResult::V1(Err(e)) => return Err(ProxyHeaderError::Invalid(e.to_string())),
        HeaderResult::V2(Err(e)) => return Err(ProxyHeaderError::Invalid(e.to_string())),
    };
    if len > MAX_PROXY_HEADER {
        return Err(ProxyHeaderError::TooLong(MAX_PROXY_HEADER));
    }
    Ok(ProxyHeader::Complete { len, source })
}

/// The verdict on a version 1 header that has not been taken whole: one
/// ends at its first CRLF, within 107 bytes, so with a CRLF there it is
/// wrong (`reason`), past 107 bytes without one it is too long, and before
/// that more bytes may complete it.
fn v1_unfinished(bytes: &[u8], reason: &str) -> Result<ProxyHeader, ProxyHeaderError> {
    let line = &bytes[..bytes.len().min(V1_MAX)];
    if line.windows(2).any(|w| w == b"\r\n") {
        Err(ProxyHeaderError::Invalid(reason.into()))
    } else if bytes.len() >= V1_MAX {
        Err(ProxyHeaderError::TooLong(V1_MAX))
    } else {
        Ok(ProxyHeader::Incomplete)
    }
}

/// Reads the PROXY header at the start of `stream`, within `limit`: looks
/// at what has arrived without taking it, then takes exactly the header,
/// so that what follows (a TLS handshake, an HTTP request) is read as if
/// the header had never been there.
pub(crate) async fn read_proxy_header(
    stream: &RuntimeTcpStream,
    limit: Duration,
) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    let started = Instant::now();
    let mut buf = [0u8; MAX_PROXY_HEADER];
    let mut seen = 0;
    // Between looks at an incomplete header: growing, so that a peer
    // trickling one costs a few wake-ups a second, not a hundred.
    let mut pause = Duration::from_millis(5);
    loop {
        let left = limit.saturating_sub(started.elapsed());
        let n = match switchyard_rt::timeout(left, "PROXY header", stream.peek(&mut buf)).await {
            Ok(Ok(0)) => {
                let eof = std::io::ErrorKind::UnexpectedEof;
                return Err(std::io::Error::new(eof, "closed before its PROXY header").into());
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(ProxyHeaderError::TimedOut(limit)),
        };
        match parse_proxy_header(&buf[..n])? {
            ProxyHeader::Complete { len, source } => {
                let mut header = vec![0u8; len];
                let mut reader = stream;
                reader.read_exact(&mut header).await?;
                return Ok(source);
            }
            ProxyHeader::Incomplete if started.elapsed() >= limit => {
                return Err(ProxyHeaderError::TimedOut(limit))
            }
            ProxyHeader::Incomplete => {
                // Peeking again at once would see the same bytes: wait for
                // more (proxies send the header whole, so this is rare).
                if n == seen {
                    switchyard_rt::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                seen = n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(command: u8, family: u8, addresses: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut bytes = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
        bytes.push(0x20 | command);
        bytes.push(family);
        bytes.extend((addresses.len() as u16).to_be_bytes());
        bytes.extend(addresses);
        bytes.extend(rest);
        bytes
    }

    #[test]
    fn version_2_gives_the_source_and_its_exact_length() {
        // TCP over IPv4: 203.0.113.7:51000 -> 192.0.2.1:443.
        let addresses = [203, 0, 113, 7, 192, 0, 2, 1, 0xc7, 0x38, 0x01, 0xbb];
        let bytes = v2(1, 0x11, &addresses, b"\x16\x03\x01");
        assert_eq!(
            parse_proxy_header(&bytes).unwrap(),
            ProxyHeader::Complete {
                len: 28,
                source: Some("203.0.113.7:51000".parse().unwrap())
            }
        );
        for cut in 1..28 {
            assert_eq!(
                parse_proxy_header(&bytes[..cut]).unwrap(),
                ProxyHeader::Incomplete,
                "{cut} bytes"
            );
        }
        // LOCAL: the proxy's own connection (a health check).
        let local = v2(0, 0x00, &[], b"");
        assert_eq!(
            parse_proxy_header(&local).unwrap(),
            ProxyHeader::Complete {
                len: 16,
                source: None
            }
        );
    }

    #[test]
    fn a_version_1_header_is_whole_only_with_its_crlf() {
        // Cut short, its port could read as 50 instead of 5000.
        let cut = b"PROXY TCP4 203.0.113.7 192.0.2.1 50";
        assert_eq!(parse_proxy_header(cut).unwrap(), ProxyHeader::Incomplete);
        let lf_only = b"PROXY TCP4 203.0.3.7 192.0.2.1 51 6 \nGET";
        assert!(parse_proxy_header(lf_only).is_err());
    }

    #[test]
    fn version_1_unknown_and_ipv6() {
        assert_eq!(
            parse_proxy_header(b"PROXY UNKNOWN\r\nrest").unwrap(),
            ProxyHeader::Complete {
                len: 15,
                source: None
            }
        );
        let v6 = b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n";
        assert_eq!(
            parse_proxy_header(v6).unwrap(),
            ProxyHeader::Complete {
                len: v6.len(),
                source: Some("[2001:db8::1]:4000".parse().unwrap())
            }
        );
    }

    #[test]
    fn anything_else_is_refused_and_nothing_grows_without_bound() {
        for bytes in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"PROXY TCP4 1.2.3.4\r\n",
            b"\x16\x03\x01\x02\x00",
        ] {
            assert!(parse_proxy_header(bytes).is_err(), "{bytes:?}");
        }
        // A version 2 header that says it is 60,000 bytes long.
        let mut long = v2(1, 0x11, &[0; 12], b"");
        long[14..16].copy_from_slice(&60_000u16.to_be_bytes());
        long.resize(MAX_PROXY_HEADER + 10, 0);
        assert!(matches!(
            parse_proxy_header(&long),
            Err(ProxyHeaderError::TooLong(MAX_PROXY_HEADER))
        ));
    }
}
