//! Endpoints written as URLs: `ws://`, `wss://`, `tcp://`, `udp://`.

use std::fmt;

/// The transport of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// WebSocket, `ws://host:port/path`.
    Ws,
    /// WebSocket over TLS, `wss://host:port/path`.
    Wss,
    /// A TCP byte stream, `tcp://host:port`.
    Tcp,
    /// UDP datagrams, `udp://host:port`.
    Udp,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
            Scheme::Tcp => "tcp",
            Scheme::Udp => "udp",
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
/// use switchyard_connect::{Endpoint, Scheme};
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
/// # Ok::<(), switchyard_connect::EndpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The transport.
    pub scheme: Scheme,
    /// The host name or address (IPv6 without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// For WebSocket endpoints, the path (`/` when none is given); empty
    /// for TCP and UDP.
    pub path: String,
}

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Not `scheme://...`, or a scheme other than ws, wss, tcp, udp.
    #[error("{url:?}: expected ws://, wss://, tcp:// or udp://")]
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
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let scheme_error = || EndpointError::Scheme {
            url: url.to_string(),
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(scheme_error)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "ws" => Scheme::Ws,
            "wss" => Scheme::Wss,
            "tcp" => Scheme::Tcp,
            "udp" => Scheme::Udp,
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
        ] {
            assert_eq!(parse(url).unwrap().to_string(), url);
        }
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
