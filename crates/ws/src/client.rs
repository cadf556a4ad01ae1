//! Connecting to a WebSocket server.

use std::time::Duration;

use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use switchyard_frame::Error;
use switchyard_tcp::TcpStream;

use crate::connection::map_error;
use crate::{client_tls, MaybeTls, WsConnection};

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
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            protocols: Vec::new(),
            headers: Vec::new(),
            max_message: 16 << 20,
            tls: None,
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
}

/// The stream under a client connection: plain, or TLS for wss.
pub type ClientIo = MaybeTls<TcpStream, futures_rustls::client::TlsStream<TcpStream>>;

/// Connects to a `ws://` URL with the default [`ClientConfig`].
pub async fn connect(url: &str) -> Result<WsConnection<ClientIo>, Error> {
    connect_with(url, &ClientConfig::default()).await
}

/// Connects to a `ws://` or `wss://` URL: TCP, TLS for wss, then the
/// opening handshake, all within the configured time-out. A refused upgrade
/// is an error carrying the server's status; a certificate that is not
/// trusted is an I/O error saying so.
pub async fn connect_with(
    url: &str,
    config: &ClientConfig,
) -> Result<WsConnection<ClientIo>, Error> {
    let mut request = url.into_client_request().map_err(map_error)?;
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
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("header name"))?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid("header value"))?;
        request.headers_mut().append(name, value);
    }
    let uri = request.uri().clone();
    let host = uri
        .host()
        .ok_or_else(|| invalid("URL (no host)"))?
        .to_string();
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => {
            return Err(Error::Protocol {
                reason: format!("unsupported scheme in {url}: ws:// or wss://"),
            })
        }
    };
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tls = match (&config.tls, secure) {
        (Some(tls), true) => Some(tls.clone()),
        (None, true) => Some(client_tls(None).map_err(|e| Error::Protocol {
            reason: e.to_string(),
        })?),
        (_, false) => None,
    };
    let ws_config = async_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(config.max_message))
        .max_frame_size(Some(config.max_message));
    let handshake = async {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = switchyard_tcp::connect((host, port), config.handshake_timeout).await?;
        let stream = match tls {
            None => MaybeTls::Plain(tcp),
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from(host.to_string())
                    .map_err(|_| invalid("TLS server name"))?;
                MaybeTls::Tls(Box::new(tls.0.connect(name, tcp).await?))
            }
        };
        async_tungstenite::client_async_with_config(request, stream, Some(ws_config))
            .await
            .map_err(map_error)
    };
    let (ws, _response) =
        switchyard_rt::timeout(config.handshake_timeout, "WebSocket handshake", handshake)
            .await??;
    Ok(WsConnection::new(ws))
}
