//! WebSockets upgraded by another HTTP server: an application on axum or
//! hyper checks the request here, answers with the 101 given, and hands
//! the upgraded byte stream to [`WsConnection::upgraded`].
//!
//! The checks are a [`websocket`](crate::websocket) route's own
//! ([`check_upgrade`]: method, headers, version, key, origin, subprotocol);
//! the limits that belong to the HTTP server (head size, connection counts,
//! handshake time-outs) are the application's server's to keep.

use bytes::Bytes;
use futures::io::{AsyncRead, AsyncWrite};

use crate::handshake::{agree_deflate, check_upgrade, switching_protocols};
use crate::http::RequestHead;
use crate::{WsConnection, WsServerConfig};

/// Checks a WebSocket upgrade request that another HTTP server received, as
/// a [`websocket`](crate::websocket) route checks its own under `config` (origins,
/// subprotocols, extra headers, permessage-deflate): the 101 to answer it
/// with, or the refusal (a 4xx with its reason). After a 101, the upgraded
/// connection goes to [`WsConnection::upgraded`] with the same request's
/// head, which agrees to the same compression.
///
/// ```
/// use switchyard_ws::{upgrade_response, WsServerConfig};
///
/// let upgrade = |origin: &str| {
///     http::Request::get("http://example.com/ws")
///         .header("host", "example.com")
///         .header("origin", origin)
///         .header("connection", "Upgrade")
///         .header("upgrade", "websocket")
///         .header("sec-websocket-version", "13")
///         .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///         .body(())
///         .unwrap()
/// };
/// let config = WsServerConfig::default();
/// let response = upgrade_response(&upgrade("http://example.com"), &config);
/// assert_eq!(response.status(), 101);
/// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// // Another site's page: refused, as a websocket route refuses it.
/// assert_eq!(upgrade_response(&upgrade("https://evil.example"), &config).status(), 403);
/// // Not an upgrade at all.
/// let plain = http::Request::get("http://example.com/ws").body(()).unwrap();
/// assert_eq!(upgrade_response(&plain, &config).status(), 400);
/// ```
pub fn upgrade_response<B>(
    request: &http::Request<B>,
    config: &WsServerConfig,
) -> http::Response<Bytes> {
    let head = RequestHead::from_http(request);
    let response = match check_upgrade(&head, &config.origins, &config.protocols) {
        Ok(upgrade) => {
            let switching = switching_protocols(&upgrade, &config.extra_headers);
            match agree_deflate(config, &head) {
                Some((_, value)) => {
                    switching.typed_header(http::header::SEC_WEBSOCKET_EXTENSIONS, value)
                }
                None => switching,
            }
        }
        Err(refusal) => refusal,
    };
    response.into()
}

/// tungstenite's read buffer on a handed-over connection, which no read
/// ahead serves: what one read takes from the stream.
const HANDED_OVER_READ_BUFFER: usize = 4 << 10;

impl<S: AsyncRead + AsyncWrite + Unpin> WsConnection<S> {
    /// The server side of a WebSocket whose handshake another HTTP server
    /// answered with [`upgrade_response`] under the same `config`: `io` is
    /// the upgraded byte stream, `head` the request that was answered
    /// (permessage-deflate is on when the answer agreed to it, which
    /// `head`'s offers and `config` decide again here, the same way), with
    /// `config`'s message limit and heartbeat, as a connection a
    /// [`websocket`](crate::websocket) route accepted would have.
    /// tungstenite reads it 4 KiB at a time, into a buffer the connection
    /// keeps.
    pub async fn upgraded(io: S, config: &WsServerConfig, head: &RequestHead) -> Self {
        let mut io = crate::frame_io::FrameIo::plain(io);
        if let Some((params, _)) = agree_deflate(config, head) {
            config.start_deflating(&mut io, &params, &[]);
        }
        let ws = async_tungstenite::WebSocketStream::from_raw_socket(
            io,
            async_tungstenite::tungstenite::protocol::Role::Server,
            Some(config.websocket_config(HANDED_OVER_READ_BUFFER)),
        )
        .await;
        let conn = WsConnection::new(ws, crate::frame_io::Side::Server);
        match config.heartbeat {
            Some(heartbeat) => conn.with_heartbeat(heartbeat),
            None => conn,
        }
    }
}
