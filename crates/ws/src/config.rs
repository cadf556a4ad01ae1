//! [`WsServerConfig`]: what a WebSocket server holds its peers to.

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use http::HeaderMap;

use crate::{HeartbeatConfig, OriginPolicy};
use switchyard_http::{InvalidHeader, Response};

/// What a WebSocket server holds its peers to once they ask for a
/// WebSocket: the handshake's checks (origins, subprotocols), message
/// sizes and heartbeats, for each [`websocket`](crate::websocket) route
/// and for [`upgrade_response`](crate::upgrade_response). The HTTP
/// server's own limits (connections, request sizes, time-outs, TLS) are
/// switchyard-http's [`HttpServerConfig`](switchyard_http::HttpServerConfig).
///
/// ```
/// use switchyard_ws::{OriginPolicy, WsServerConfig};
///
/// let config = WsServerConfig::default()
///     .max_message(64 << 10)
///     .origins(OriginPolicy::AllowAny)
///     .protocols(["chat.v2", "chat.v1"]);
/// assert_eq!(config.max_message, 64 << 10);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WsServerConfig {
    /// Largest WebSocket message (and frame). Default 1 MiB; larger closes
    /// the connection with 1009.
    pub max_message: usize,
    /// Which pages may connect. Default: same host only.
    pub origins: OriginPolicy,
    /// Subprotocols spoken, in order of preference. Default none.
    pub protocols: Vec<String>,
    /// Headers added to every 101 response (validated when added).
    pub extra_headers: HeaderMap,
    /// Pings when quiet, and dead peers dropped. Default on, 30 s + 30 s.
    pub heartbeat: Option<HeartbeatConfig>,
    /// permessage-deflate (RFC 7692), agreed with clients that offer it
    /// (every browser does). Default off, as in gorilla/websocket and
    /// Node's `ws`: it costs CPU, and is worth it for text such as JSON.
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for WsServerConfig {
    fn default() -> Self {
        Self {
            max_message: 1 << 20,
            origins: OriginPolicy::SameHost,
            protocols: Vec::new(),
            extra_headers: HeaderMap::new(),
            heartbeat: Some(HeartbeatConfig::default()),
            deflate: None,
        }
    }
}

impl WsServerConfig {
    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`origins`](Self::origins).
    pub fn origins(mut self, origins: OriginPolicy) -> Self {
        self.origins = origins;
        self
    }

    /// Sets [`protocols`](Self::protocols), most preferred first.
    pub fn protocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a header to every 101 response; refuses a name or value that is
    /// not valid HTTP (CR/LF cannot be smuggled in).
    pub fn extra_header(mut self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        let checked = Response::new(http::StatusCode::OK).header(name, value)?;
        for (n, v) in checked.headers() {
            self.extra_headers.append(n.clone(), v.clone());
        }
        Ok(self)
    }

    /// Sets [`deflate`](Self::deflate); `None` turns it off.
    pub fn deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat); `None` turns it off.
    pub fn heartbeat(mut self, heartbeat: Option<HeartbeatConfig>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Turns on permessage-deflate on a server connection's `io` as
    /// `params` agreed, with this config's threshold and message limit;
    /// `already_read` is what came from the client after its request.
    pub(crate) fn start_deflating<S>(
        &self,
        io: &mut crate::frame_io::FrameIo<S>,
        params: &crate::deflate::DeflateParams,
        already_read: &[u8],
    ) {
        let Some(deflate) = &self.deflate else {
            return;
        };
        io.deflating(
            params,
            crate::frame_io::Side::Server,
            deflate,
            self.max_message,
            already_read,
        );
    }

    /// tungstenite's configuration for this server's connections: a read
    /// buffer of `read_buffer` bytes, the message and frame limits, and a
    /// bounded write buffer.
    pub(crate) fn websocket_config(&self, read_buffer: usize) -> WebSocketConfig {
        let write_buffer = 64 << 10;
        WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .write_buffer_size(write_buffer)
            .max_write_buffer_size(write_buffer + self.max_message + (16 << 10))
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_message))
    }
}
