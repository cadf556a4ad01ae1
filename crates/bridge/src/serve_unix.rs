//! Unix-domain stream listeners (`unix:///run/app.sock`): like TCP
//! listeners (and served by the same accept loop, switchyard-tcp's), each
//! connection cut into messages by its route's framing and relayed to its
//! own target connection.

use std::sync::Arc;
use std::time::Duration;

use switchyard_tcp::{ServerConfig, UnixServer};

use crate::route_table::RouteTable;
use crate::serve_tcp::DEFAULT_IDLE;
use crate::{frame_stream, session, BridgeError, ListenerConfig};

/// Binds a Unix listener: at most `max_connections` sessions at once (more
/// wait in the kernel's backlog), a client idle for its route's idle
/// timeout closed, and at a shutdown `grace` for sessions to end. A socket
/// file that nothing answers on is removed first; the socket file is
/// removed when the listener stops.
pub(crate) async fn bind(
    listener: &ListenerConfig,
    grace: Duration,
) -> Result<UnixServer, BridgeError> {
    let idle = listener.routes[0].idle_timeout.unwrap_or(DEFAULT_IDLE);
    let config = ServerConfig::default()
        .max_connections(listener.options.max_sessions())
        .idle_timeout(idle)
        .shutdown_grace(grace);
    UnixServer::bind(&listener.listen.path, config)
        .await
        .map_err(|error| BridgeError::Bind {
            listen: listener.listen.to_string(),
            error,
        })
}

/// Serves a bound Unix listener until it is shut down.
pub(crate) async fn serve(server: UnixServer, table: Arc<RouteTable>, max_message: usize) {
    let path = server.path().display().to_string();
    server
        .serve(move |conn| {
            // The route now: a reload may have changed it.
            let route = table.only();
            // Unix peers have no address of their own: the socket and a
            // number.
            let peer = format!("unix:{path}#{}", conn.number());
            async move {
                let Some(route) = route else { return };
                // Fixed targets only on Unix listeners (checked by the
                // config).
                let Some(target) = route.target_for(None) else {
                    return;
                };
                let stream = conn.into_stream();
                let mut client = frame_stream(stream, route.config.dial.framing, max_message);
                session::run(&mut client, peer, &route, &target).await;
            }
        })
        .await;
}
