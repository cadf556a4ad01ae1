//! Endpoints written as URLs: `ws://`, `wss://`, `tcp://`, `udp://`,
//! `unix://`, and `stdio`.

use std::fmt;

/// The transport of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// WebSocket, `ws://host:port/path`.
    Ws,
    /// WebSocket over TLS, `wss://host:port/path`.
    Wss,
    /// A TCP byte stream, `tcp://host:port`.
    Tcp,
    /// UDP datagrams, `udp://host:port`.
    Udp,
    /// A Unix-domain stream socket, `unix:///run/app.sock` (or a path
    /// relative to the working directory, `unix://app.sock`).
    Unix,
    /// The process's standard input and output, `stdio` (or `-`): one
    /// session at a time.
    Stdio,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
            Scheme::Tcp => "tcp",
            Scheme::Udp => "udp",
            Scheme::Unix => "unix",
            Scheme::Stdio => "stdio",
        }
    }

    /// Whether this is a WebSocket scheme.
    pub fn is_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }
}

/// One end of a connection, as a URL: where to listen, or what to dial.
///
/// ```
/// use switchyard_endpoint::{Endpoint, Scheme};
///
/// let listen: Endpoint = "ws://0.0.0.0:8080/vnc".parse()?;
/// assert_eq!((listen.scheme, listen.host.as_str(), listen.port), (Scheme::Ws, "0.0.0.0", 8080));
/// assert_eq!(listen.path, "/vnc");
///
/// let target: Endpoint = "tcp://[::1]:5900".parse()?;
/// assert_eq!((target.host.as_str(), target.authority()), ("::1", "[::1]:5900".to_string()));
///
/// assert!("http://example.com:80".parse::<Endpoint>().is_err());
/// assert!("tcp://localhost".parse::<Endpoint>().is_err()); // the port is required
/// # Ok::<(), switchyard_endpoint::EndpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The transport.
    pub scheme: Scheme,
    /// The host name or address (IPv6 without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// For WebSocket endpoints, the path (`/` when none is given); for
    /// `unix://`, the socket's file; empty for TCP, UDP and stdio.
    pub path: String,
}

/// The longest Unix socket path (`sun_path` holds 108 bytes on Linux, the
/// last a NUL).
pub const MAX_UNIX_PATH: usize = 107;

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Not `scheme://...`, or a scheme other than ws, wss, tcp, udp, unix;
    /// nor `stdio`.
    #[error("{url:?}: expected ws://, wss://, tcp://, udp://, unix:// or stdio")]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// No host, or a malformed one.
    #[error("{url:?}: missing or malformed host")]
    Host {
        /// The URL as given.
        url: String,
    },
    /// No port, or not a number from 1 to 65535 (0 is allowed to listen).
    #[error("{url:?}: a port is required (host:port)")]
    Port {
        /// The URL as given.
        url: String,
    },
    /// A path (or query) on a TCP or UDP endpoint, which has none.
    #[error("{url:?}: tcp:// and udp:// endpoints take no path")]
    Path {
        /// The URL as given.
        url: String,
    },
    /// A `unix://` endpoint whose socket path is empty, too long or holds
    /// a NUL.
    #[error("{url:?}: a unix:// socket path is 1 to {MAX_UNIX_PATH} bytes, without NUL")]
    UnixPath {
        /// The URL as given.
        url: String,
    },
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let scheme_error = || EndpointError::Scheme {
            url: url.to_string(),
        };
        let bare = |scheme, path: &str| Endpoint {
            scheme,
            host: String::new(),
            port: 0,
            path: path.to_string(),
        };
        if url == "-" || url.eq_ignore_ascii_case("stdio") || url.eq_ignore_ascii_case("stdio://") {
            return Ok(bare(Scheme::Stdio, ""));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(scheme_error)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "ws" => Scheme::Ws,
            "wss" => Scheme::Wss,
            "tcp" => Scheme::Tcp,
            "udp" => Scheme::Udp,
            "unix" => {
                if rest.is_empty() || rest.len() > MAX_UNIX_PATH || rest.contains('\0') {
                    return Err(EndpointError::UnixPath {
                        url: url.to_string(),
                    });
                }
                return Ok(bare(Scheme::Unix, rest));
            }
            _ => return Err(scheme_error()),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !scheme.is_websocket() && !path.is_empty() && path != "/" {
            return Err(EndpointError::Path {
                url: url.to_string(),
            });
        }
        let host_error = || EndpointError::Host {
            url: url.to_string(),
        };
        let port_error = || EndpointError::Port {
            url: url.to_string(),
        };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(host_error)?;
            (host, after.strip_prefix(':').ok_or_else(port_error)?)
        } else {
            authority.rsplit_once(':').ok_or_else(port_error)?
        };
        if host.is_empty()
            || host.contains(['@', ' ', '[', ']'])
            || (host.contains(':') && !authority.starts_with('['))
        {
            return Err(host_error());
        }
        let port: u16 = port.parse().map_err(|_| port_error())?;
        let path = match (scheme.is_websocket(), path) {
            (true, "") => "/".to_string(),
            (true, path) => path.to_string(),
            (false, _) => String::new(),
        };
        Ok(Endpoint {
            scheme,
            host: host.to_string(),
            port,
            path,
        })
    }
}

impl Endpoint {
    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::Stdio => return f.write_str("stdio"),
            Scheme::Unix => return write!(f, "unix://{}", self.path),
            _ => {}
        }
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        url.parse()
    }

    #[test]
    fn every_scheme_round_trips_through_display() {
        for url in [
            "ws://0.0.0.0:8080/vnc",
            "wss://example.com:443/",
            "tcp://127.0.0.1:5900",
            "udp://[::1]:53",
            "unix:///run/app.sock",
            "unix://app.sock",
            "stdio",
        ] {
            assert_eq!(parse(url).unwrap().to_string(), url);
        }
        assert_eq!(parse("-").unwrap().scheme, Scheme::Stdio);
        assert_eq!(parse("unix:///run/app.sock").unwrap().path, "/run/app.sock");
        assert!(matches!(
            parse("unix://"),
            Err(EndpointError::UnixPath { .. })
        ));
        let long = format!("unix:///{}", "a".repeat(MAX_UNIX_PATH));
        assert!(matches!(parse(&long), Err(EndpointError::UnixPath { .. })));
        assert_eq!(parse("ws://h:1").unwrap().path, "/");
        assert_eq!(parse("WS://h:1/a?token=x").unwrap().path, "/a?token=x");
        assert_eq!(parse("tcp://h:1/").unwrap().path, "");
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        assert!(matches!(parse("h:1"), Err(EndpointError::Scheme { .. })));
        assert!(matches!(
            parse("http://h:1"),
            Err(EndpointError::Scheme { .. })
        ));
        assert!(matches!(parse("tcp://h"), Err(EndpointError::Port { .. })));
        assert!(matches!(
            parse("tcp://h:99999"),
            Err(EndpointError::Port { .. })
        ));
        assert!(matches!(
            parse("tcp://:80"),
            Err(EndpointError::Host { .. })
        ));
        assert!(matches!(
            parse("tcp://::1:80"),
            Err(EndpointError::Host { .. })
        ));
        assert!(matches!(
            parse("tcp://user@h:80"),
            Err(EndpointError::Host { .. })
        ));
        assert!(matches!(
            parse("udp://h:53/x"),
            Err(EndpointError::Path { .. })
        ));
        assert!(matches!(
            parse("tcp://[::1]"),
            Err(EndpointError::Port { .. })
        ));
    }
}
