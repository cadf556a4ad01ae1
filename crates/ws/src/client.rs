//! Connecting to a WebSocket server.

use std::time::Duration;

use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use switchyard_frame::Error;
use switchyard_tcp::TcpStream;

use crate::connection::map_error;
use crate::{client_tls, WsConnection};
use switchyard_tls::{ClientTlsStream, MaybeTls};

use crate::frame_io::{FrameIo, Side};

/// How a client connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Time for the TCP connection and the handshake together. Default 10 s.
    pub handshake_timeout: Duration,
    /// Subprotocols to offer, most preferred first. Default none.
    pub protocols: Vec<String>,
    /// Extra request headers (e.g. `Authorization`, `Origin`).
    pub headers: Vec<(String, String)>,
    /// Largest message accepted from the server. Default 16 MiB.
    pub max_message: usize,
    /// TLS for `wss://` URLs. Default none: the system's root certificates
    /// are loaded when a `wss://` URL is first dialed (see
    /// [`client_tls`](crate::client_tls) to add a private CA).
    pub tls: Option<crate::ClientTls>,
    /// The most bytes one read from the socket takes. Default 16 KiB.
    /// tungstenite zeroes this much of its buffer before every read and
    /// keeps it allocated for the connection's life: its own default,
    /// 128 KiB, had a client reading many small messages spend a tenth of
    /// its time zeroing memory (and each buffer it reallocated went through
    /// `mmap`). A larger message is still read whole, this much at a time.
    pub read_buffer: usize,
    /// permessage-deflate (RFC 7692), offered to the server. Default off.
    /// A server's answer the RFC says to fail on (a parameter not offered
    /// or out of range) fails the connection.
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            protocols: Vec::new(),
            headers: Vec::new(),
            max_message: 16 << 20,
            tls: None,
            read_buffer: 16 << 10,
            deflate: None,
        }
    }
}

impl ClientConfig {
    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`protocols`](Self::protocols).
    pub fn protocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, tls: crate::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`deflate`](Self::deflate); `None` turns it off.
    pub fn deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets [`read_buffer`](Self::read_buffer) (at least 256 bytes).
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(256);
        self
    }
}

switchyard_tls::opaque_io!(
    /// The stream under a client connection: plain TCP, or TLS for wss.
    ClientIo = MaybeTls<TcpStream, ClientTlsStream<TcpStream>>
);

/// Where a WebSocket client connects: a `ws://` or `wss://` URL in parts.
///
/// ```
/// use switchyard_ws::WsTarget;
///
/// let target: WsTarget = "wss://example.com/feed?topic=news".parse()?;
/// assert_eq!(target, WsTarget::new(true, "example.com", 443, "/feed?topic=news"));
/// assert_eq!(target.to_string(), "wss://example.com:443/feed?topic=news");
/// # Ok::<(), switchyard_ws::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsTarget {
    /// `wss://` (TLS) rather than `ws://`.
    pub secure: bool,
    /// The host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The path and query, starting with `/`.
    pub path: String,
}

impl WsTarget {
    /// A target from its parts; an empty path is `/`.
    pub fn new(secure: bool, host: impl Into<String>, port: u16, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        Self {
            secure,
            host: host.into(),
            port,
            path,
        }
    }

    fn uri(&self) -> Result<http::Uri, Error> {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        // The default port is left out, so that the Host header is what a
        // browser sends (`example.com`, not `example.com:443`).
        let default_port = if self.secure { 443 } else { 80 };
        let authority = if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        };
        http::Uri::builder()
            .scheme(if self.secure { "wss" } else { "ws" })
            .authority(authority)
            .path_and_query(self.path.as_str())
            .build()
            .map_err(|e| Error::Protocol {
                reason: format!("invalid WebSocket target: {e}"),
            })
    }
}

impl std::str::FromStr for WsTarget {
    type Err = Error;

    /// A `ws://` or `wss://` URL; the port defaults to 80 or 443.
    fn from_str(url: &str) -> Result<Self, Error> {
        let uri: http::Uri = url.parse().map_err(|e| Error::Protocol {
            reason: format!("invalid URL {url:?}: {e}"),
        })?;
        let secure = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => {
                return Err(Error::Protocol {
                    reason: format!("unsupported scheme in {url}: ws:// or wss://"),
                })
            }
        };
        let host = uri.host().ok_or_else(|| Error::Protocol {
            reason: format!("no host in {url}"),
        })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        Ok(Self::new(secure, host, port, path))
    }
}

impl std::fmt::Display for WsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// Connects to a `ws://` URL with the default [`ClientConfig`].
pub async fn connect(url: &str) -> Result<WsConnection<ClientIo>, Error> {
    connect_with(url, &ClientConfig::default()).await
}

/// Connects to a `ws://` or `wss://` URL (see [`connect_to`]).
pub async fn connect_with(
    url: &str,
    config: &ClientConfig,
) -> Result<WsConnection<ClientIo>, Error> {
    connect_to(&url.parse()?, config).await
}

/// Connects to `target`: TCP, TLS for wss, then the opening handshake, all
/// within the configured time-out. A refused upgrade is an error carrying
/// the server's status; a certificate that is not trusted is an I/O error
/// saying so.
pub async fn connect_to(
    target: &WsTarget,
    config: &ClientConfig,
) -> Result<WsConnection<ClientIo>, Error> {
    let mut request = target.uri()?.into_client_request().map_err(map_error)?;
    let invalid = |what: &str| Error::Protocol {
        reason: format!("invalid {what} for the handshake request"),
    };
    if !config.protocols.is_empty() {
        let value = HeaderValue::from_str(&config.protocols.join(", "))
            .map_err(|_| invalid("subprotocol"))?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", value);
    }
    if let Some(deflate) = &config.deflate {
        let offer = HeaderValue::from_str(&crate::deflate::client_offer(deflate))
            .map_err(|_| invalid("extension offer"))?;
        request
            .headers_mut()
            .insert("sec-websocket-extensions", offer);
    }
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("header name"))?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid("header value"))?;
        request.headers_mut().append(name, value);
    }
    let tls = match (&config.tls, target.secure) {
        (Some(tls), true) => Some(tls.clone()),
        (None, true) => Some(client_tls(None).map_err(|e| Error::Protocol {
            reason: e.to_string(),
        })?),
        (_, false) => None,
    };
    let ws_config = async_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(config.read_buffer.max(256))
        .max_message_size(Some(config.max_message))
        .max_frame_size(Some(config.max_message));
    let handshake = async {
        let host = target.host.as_str();
        let tcp = switchyard_tcp::connect((host, target.port), config.handshake_timeout).await?;
        let stream = match tls {
            None => ClientIo(MaybeTls::Plain(tcp)),
            Some(tls) => ClientIo(MaybeTls::Tls(Box::new(tls.connect(host, tcp).await?))),
        };
        // With an offer, tungstenite reads no further than the response's
        // head: the server's first frames may be compressed.
        let stream = match config.deflate {
            Some(_) => FrameIo::until_head_end(stream),
            None => FrameIo::plain(stream),
        };
        async_tungstenite::client_async_with_config(request, stream, Some(ws_config))
            .await
            .map_err(map_error)
    };
    let (mut ws, response) =
        switchyard_rt::timeout(config.handshake_timeout, "WebSocket handshake", handshake)
            .await??;
    if let Some(deflate) = &config.deflate {
        let answers = response
            .headers()
            .get_all("sec-websocket-extensions")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let agreed =
            crate::deflate::check_response(answers, deflate).map_err(|e| Error::Protocol {
                reason: e.to_string(),
            })?;
        let io = ws.get_mut();
        match agreed {
            Some(params) => io.deflating(&params, Side::Client, deflate, config.max_message, &[]),
            None => io.plain_after_head(),
        }
    }
    Ok(WsConnection::new(ws, Side::Client))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handshake's Host comes from this authority: the default port is
    /// left out (as a browser sends it), any other kept, IPv6 bracketed.
    #[test]
    fn the_request_names_the_port_only_when_it_is_not_the_default() {
        let authority = |url: &str| {
            let target: WsTarget = url.parse().unwrap();
            target.uri().unwrap().authority().unwrap().to_string()
        };
        assert_eq!(authority("wss://example.com/feed"), "example.com");
        assert_eq!(authority("ws://example.com:80/"), "example.com");
        assert_eq!(authority("ws://example.com:443/"), "example.com:443");
        assert_eq!(authority("wss://[::1]:8443/x"), "[::1]:8443");
        assert!("http://example.com/".parse::<WsTarget>().is_err());
    }
}
