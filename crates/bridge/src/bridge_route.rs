//! A bridge route on WebSockets that another HTTP server accepted: an
//! application on axum or hyper (or switchyard's own [`Router`] beside its
//! other routes) upgrades the request itself and hands the connection to
//! [`BridgeRoute::serve`], which relays it as a bridge listener would.
//!
//! [`Router`]: switchyard_ws::Router

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use futures::io::{AsyncRead, AsyncWrite};
use switchyard_rt::Shutdown;
use switchyard_ws::http::RequestHead;
use switchyard_ws::{WsConnection, WsServerConfig};

use crate::serve_ws::relay_client;
use crate::session::Route;
use crate::{BridgeError, ConfigError, Endpoint, Metrics, RouteConfig, Scheme};

/// One bridge route, served on WebSocket connections that another HTTP
/// server upgraded: each connection handed to [`serve`](Self::serve) is a
/// session, its target dialed, relayed both ways with backpressure, and the
/// client closed saying why it ended (1014 for an unreachable or failed
/// target, 1000 "idle timeout", 1001 at [`shutdown`](Self::shutdown)), all
/// counted in [`metrics`](Self::metrics), as on the bridge's own listeners.
///
/// The WebSocket's limits (its largest message, heartbeat) are the
/// [`WsServerConfig`]'s the connection was upgraded with
/// ([`websocket`](switchyard_ws::websocket), [`WsConnection::upgraded`]),
/// and hold for the target's side too; a TCP target gets the route's own
/// [`DialOptions::tcp_keepalive`](crate::DialOptions::tcp_keepalive) (default 60 s). The HTTP server's own
/// limits (connections, request heads, time-outs) are the application's.
///
/// ```
/// # switchyard_bridge::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_bridge::ws::http::{HttpServer, HttpServerConfig, Router};
/// use switchyard_bridge::ws::{websocket, WsServerConfig};
/// use switchyard_bridge::{dial, BridgeRoute, DialOptions, Endpoint, RouteConfig, TargetSpec};
///
/// // A UDP echo service, on a thread of its own.
/// let service = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let target = format!("udp://{}", service.local_addr()?).parse()?;
/// std::thread::spawn(move || {
///     let mut buf = [0; 1500];
///     while let Ok((len, peer)) = service.recv_from(&mut buf) {
///         let _ = service.send_to(&buf[..len], peer);
///     }
/// });
///
/// // An application's server, with the bridge at /echo among its routes.
/// let config = WsServerConfig::default();
/// let echo = RouteConfig::new("/echo", TargetSpec::Fixed(target));
/// let route = BridgeRoute::new(echo, &config)?;
/// let bridged = websocket(config, move |conn, request| {
///     route.serve(conn, &request.head, request.peer)
/// });
/// let router = Router::new()
///     .page("/", "text/plain", "the application's own page\n")
///     .upgrade("/echo", bridged);
/// let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router).await?;
/// let url: Endpoint = format!("ws://{}/echo", server.local_addr()?).parse()?;
/// switchyard_bridge::rt::spawn(server.serve());
///
/// let mut client = dial(&url, &DialOptions::default()).await?;
/// client.send("one datagram".into()).await?;
/// assert_eq!(client.next().await.transpose()?.as_deref(), Some(&b"one datagram"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct BridgeRoute {
    route: Arc<Route>,
}

impl BridgeRoute {
    /// `route` for connections upgraded under `websockets`: checked, and
    /// its target's TLS (for a `wss://` target) read now. Its `path` is
    /// only a label for the log: the application chose the path.
    ///
    /// A route to `stdio` is refused: the process has one terminal, and
    /// this route takes as many sessions as the application hands it.
    pub fn new(route: RouteConfig, websockets: &WsServerConfig) -> Result<Self, BridgeError> {
        let refusal = |reason: String| ConfigError {
            listen: format!("handed-over WebSockets at {}", route.path),
            reason,
        };
        route.check(Scheme::Ws).map_err(refusal)?;
        if route.can_reach(Scheme::Stdio) {
            let reason = format!("route {}: stdio needs a bridge listener", route.path);
            return Err(refusal(reason).into());
        }
        let limits = crate::listener::SessionLimits {
            max_message: websockets.max_message,
            heartbeat: websockets.heartbeat,
            tcp_keepalive: route.dial.tcp_keepalive,
        };
        let label = format!("handed over {}", route.path);
        let metrics = Arc::new(Metrics::default());
        // No server of ours cuts what is left at a grace period: the
        // bridge's default one holds.
        let ending = (
            &Shutdown::new(),
            crate::BridgeConfig::DEFAULT_SHUTDOWN_GRACE,
        );
        let route = Route::new(label, &route, limits, false, &metrics, ending)?;
        Ok(Self {
            route: Arc::new(route),
        })
    }

    /// The target a request would be relayed to: the route's fixed target,
    /// or the one its `?token=NAME` names. `None` for a missing or unknown
    /// token: answer those 403 before upgrading, as the bridge does
    /// (a connection handed over without a target is closed with 1008).
    pub fn target(&self, request: &RequestHead) -> Option<Endpoint> {
        self.route.target_for(Some(request))
    }

    /// Relays `client`, upgraded from `request` (whose token, if the route
    /// has tokens, picks the target) from `peer`, until either side ends,
    /// then closes it saying why. Spawn the future, or await it in a task
    /// of the connection's own.
    pub fn serve<S>(
        &self,
        client: WsConnection<S>,
        request: &RequestHead,
        peer: SocketAddr,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let target = self.target(request);
        relay_client(client, target, peer, self.route.clone())
    }

    /// The route's sessions and bytes, and the errors on either side.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.route.metrics.clone()
    }

    /// The signal that ends every session: each delivers what it has
    /// taken, tells its target, and closes its client with 1001.
    pub fn shutdown(&self) -> Shutdown {
        self.route.shutdown.clone()
    }
}
