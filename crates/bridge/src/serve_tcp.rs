//! TCP listeners: each connection cut into messages by the route's framing
//! and relayed to its own target connection.

use std::sync::Arc;
use std::time::Duration;

use switchyard_rt::LogBudget;
use switchyard_tcp::{PerIpLimit, Server, ServerConfig};

use crate::route_table::RouteTable;
use crate::session;
use crate::{frame_stream, BridgeError, ListenerConfig, SocketOptions};

/// A TCP (or Unix-socket) client idle this long (no byte either way) is
/// closed, unless the route sets its own idle timeout.
pub(crate) const DEFAULT_IDLE: Duration = Duration::from_secs(3600);

/// Binds a TCP listener under its `options`.
pub(crate) async fn bind(
    listener: &ListenerConfig,
    options: &SocketOptions,
    grace: Duration,
) -> Result<Server, BridgeError> {
    let idle = listener.routes[0].idle_timeout.unwrap_or(DEFAULT_IDLE);
    let config = ServerConfig::default()
        .keepalive(options.tcp_keepalive)
        .max_connections(options.max_connections)
        .idle_timeout(idle)
        .shutdown_grace(grace);
    Server::bind(listener.listen.authority(), config)
        .await
        .map_err(|error| BridgeError::Bind {
            listen: listener.listen.to_string(),
            error,
        })
}

/// Serves a bound TCP listener until it is shut down: each connection's
/// PROXY header read first (with `proxy_protocol`), its address held to
/// `max_connections_per_ip`, then its session.
pub(crate) async fn serve(server: Server, table: Arc<RouteTable>, options: SocketOptions) {
    let per_ip = options.max_connections_per_ip.map(PerIpLimit::new);
    let (proxy_protocol, max_message) = (options.proxy_protocol, options.max_message);
    // What a flood of connections without a header may write to the log.
    let refusals = Arc::new(LogBudget::new(20, Duration::from_secs(3)));
    server
        .serve(move |mut conn| {
            // The route now: a reload may have changed it.
            let route = table.only();
            let (per_ip, refusals) = (per_ip.clone(), refusals.clone());
            async move {
                let Some(route) = route else { return };
                if proxy_protocol && !conn.admit_proxy_header(PROXY_HEADER_WAIT, &refusals).await {
                    return;
                }
                let peer = conn.peer_addr();
                let _place = match per_ip.as_ref().map(|limit| limit.take(peer.ip())) {
                    Some(None) => {
                        tracing::info!(%peer, "refused: too many connections from this address");
                        return;
                    }
                    Some(place) => place,
                    None => None,
                };
                let mut client =
                    frame_stream(conn.into_stream(), route.config.dial.framing, max_message);
                // Fixed targets only on TCP listeners (checked by the config).
                if let Some(target) = route.target_for(None) {
                    // An unreachable target: the client is just closed.
                    session::run(&mut client, peer, &route, &target).await;
                }
            }
        })
        .await;
}

/// How long a proxy has to send a connection's PROXY header.
const PROXY_HEADER_WAIT: Duration = Duration::from_secs(10);
