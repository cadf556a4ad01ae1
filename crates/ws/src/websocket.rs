//! [`websocket`]: WebSocket routes on switchyard-http's server. The
//! handshake is checked ([`check_upgrade`](crate::handshake::check_upgrade)),
//! answered with its 101, and the connection becomes a [`WsConnection`]
//! for the route's handler.

use std::future::Future;
use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::WebSocketStream;
use futures::future::BoxFuture;
use futures::FutureExt;
use switchyard_http::{Request, Response, ServerIo, Switch, Upgrade, Upgraded};

use crate::frame_io::{FrameIo, Side};
use crate::handshake::{agree_deflate, check_upgrade, switching_protocols};
use crate::{WsConnection, WsServerConfig};
use switchyard_http::header::SEC_WEBSOCKET_EXTENSIONS;

type Handler = Arc<dyn Fn(WsConnection<ServerIo>, Request) -> BoxFuture<'static, ()> + Send + Sync>;

/// A WebSocket at a route of switchyard-http's
/// [`Router`](switchyard_http::Router): requests there are checked under
/// `config` (origins, subprotocols: see
/// [`check_upgrade`](crate::handshake::check_upgrade) for each refusal and
/// its status), answered with the 101, and handed to `handler` as a
/// [`WsConnection`] with `config`'s message limit and heartbeat. The
/// server's shutdown closes it with 1001 (unless `handler` took the signal
/// over: [`WsConnection::take_shutdown`]). The HTTP server keeps its own
/// limits: connections open at once, the request's size and time.
///
/// ```
/// # switchyard_ws::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_ws::http::{HttpServer, HttpServerConfig, Router};
/// use switchyard_ws::{websocket, WsServerConfig};
///
/// let echo = websocket(WsServerConfig::default(), |mut conn, _req| async move {
///     // Every message back, in batches: only a broken connection ends it.
///     let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
/// });
/// let router = Router::new().upgrade("/ws", echo);
/// let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router).await?;
/// let url = format!("ws://{}/ws", server.local_addr()?);
/// let shutdown = server.shutdown();
/// let serving = switchyard_ws::rt::spawn(server.serve());
///
/// let mut client = switchyard_ws::connect(&url).await?;
/// client.send("hello".into()).await?;
/// assert_eq!(client.next().await.transpose()?.as_deref(), Some(&b"hello"[..]));
///
/// shutdown.trigger(); // the client is closed with 1001
/// assert!(client.next().await.is_none());
/// assert_eq!(client.peer_close().map(|c| c.code), Some(1001));
/// serving.await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn websocket<F, Fut>(config: WsServerConfig, handler: F) -> WebSocketUpgrade
where
    F: Fn(WsConnection<ServerIo>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    WebSocketUpgrade {
        config: Arc::new(config),
        handler: Arc::new(move |conn, req| handler(conn, req).boxed()),
    }
}

/// A WebSocket route's [`Upgrade`], from [`websocket`].
#[derive(Clone)]
pub struct WebSocketUpgrade {
    config: Arc<WsServerConfig>,
    handler: Handler,
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What tungstenite asks for at a time, and keeps allocated, on a plain
/// connection read ahead by the HTTP server ([`ServerIo::is_read_ahead`]):
/// enough for a small message.
const READ_AHEAD_ASK: usize = 256;

impl Upgrade for WebSocketUpgrade {
    fn protocol(&self) -> &'static str {
        "websocket"
    }

    // The setup resolves to the session (a future) on purpose: the server
    // runs it, then keeps the session alone (`Switch::after_setup`).
    #[allow(clippy::async_yields_async)]
    fn accept(&self, mut request: Request) -> Result<Switch, Response> {
        let upgrade = check_upgrade(&request.head, &self.config.origins, &self.config.protocols)?;
        let switching = switching_protocols(&upgrade, &self.config.extra_headers);
        request.protocol = upgrade.protocol;
        // permessage-deflate, when this route offers it and the client
        // does; an offer that cannot be accepted is answered without.
        let (switching, deflate) = match agree_deflate(&self.config, &request.head) {
            Some((params, value)) => (
                switching.typed_header(SEC_WEBSOCKET_EXTENSIONS, value),
                Some(params),
            ),
            None => (switching, None),
        };
        let (config, handler) = (self.config.clone(), self.handler.clone());
        // The connection is built in the setup, which the server runs with
        // the request and then frees: the session it resolves to (the
        // handler's future, boxed) is all an idle WebSocket keeps.
        Ok(Switch::after_setup(switching, move |upgraded: Upgraded| {
            async move {
                let Upgraded {
                    io,
                    rest,
                    shutdown,
                    read_buffer,
                    ..
                } = upgraded;
                // On a plain connection the socket is read ahead already:
                // what tungstenite keeps for a message that may come is
                // this little.
                let read_buffer = if io.is_read_ahead() {
                    READ_AHEAD_ASK
                } else {
                    read_buffer
                };
                let ws_config = config.websocket_config(read_buffer);
                let mut io = FrameIo::plain(io);
                let mut rest = rest.to_vec();
                if let Some(params) = deflate {
                    // The client's first frames too go through the layer.
                    config.start_deflating(&mut io, &params, &rest);
                    rest.clear();
                }
                let ws =
                    WebSocketStream::from_partially_read(io, rest, Role::Server, Some(ws_config))
                        .await;
                let mut conn = WsConnection::new(ws, Side::Server).with_shutdown(shutdown);
                if let Some(heartbeat) = config.heartbeat {
                    conn = conn.with_heartbeat(heartbeat);
                }
                handler(conn, request)
            }
        }))
    }
}
