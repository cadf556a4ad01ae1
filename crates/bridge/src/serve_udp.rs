//! UDP listeners: one session per peer address, each with its own target
//! connection, ended by the listener's idle timeout.

use std::sync::Arc;
use std::time::Duration;

use switchyard_rt::Backoff;
use switchyard_udp::{SessionConfig, UdpListener, MAX_PAYLOAD};

use crate::route_table::RouteTable;
use crate::session;
use crate::{BridgeError, ListenerConfig};

/// UDP sessions with nothing either way for this long end, unless the route
/// sets its own idle timeout.
pub const DEFAULT_UDP_IDLE: Duration = Duration::from_secs(60);

/// Binds a UDP listener.
pub(crate) async fn bind(listener: &ListenerConfig) -> Result<UdpListener, BridgeError> {
    let max_message = listener.options.session_limits().max_message;
    let config = SessionConfig::default()
        .max_sessions(listener.options.max_sessions())
        .idle_timeout(listener.routes[0].idle_timeout.unwrap_or(DEFAULT_UDP_IDLE))
        .max_datagram(max_message.min(MAX_PAYLOAD));
    UdpListener::bind(listener.listen.authority(), config)
        .await
        .map_err(|error| BridgeError::Bind {
            listen: listener.listen.to_string(),
            error,
        })
}

/// Serves a bound UDP listener until the bridge shuts down; sessions then
/// deliver what they have taken, end and log.
pub(crate) async fn serve(listener: UdpListener, table: Arc<RouteTable>) {
    let shutdown = listener.shutdown();
    // As TCP's accept loop: errors retried after a back-off, 5 ms doubling
    // to 1 s, reset by the next session.
    let mut backoff = Backoff::new(Duration::from_millis(5), Duration::from_secs(1));
    loop {
        let mut client = match listener.accept().await {
            Ok(session) => session,
            Err(_) if shutdown.is_triggered() => return,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, ?delay, "UDP listener failed; backing off");
                switchyard_rt::sleep(delay).await;
                continue;
            }
        };
        backoff.reset();
        // The route now: a reload may have changed it.
        let Some(route) = table.only() else {
            continue;
        };
        switchyard_rt::spawn(async move {
            let Some(target) = route.target_for(None) else {
                return;
            };
            let peer = client.peer_addr();
            session::run(&mut client, peer, &route, &target).await;
        });
    }
}
