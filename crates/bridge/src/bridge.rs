//! [`Bridge`]: every listener of a [`BridgeConfig`], bound and served.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use futures::FutureExt;
use switchyard_rt::Shutdown;

use crate::session::Route;
use crate::{serve_tcp, serve_udp, serve_ws};
use crate::{
    BridgeConfig, ConfigError, DialOptions, ListenerConfig, Metrics, RelayConfig, RouteConfig,
    Scheme,
};

/// Why a bridge could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The configuration cannot run.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A TLS certificate or key could not be used.
    #[error(transparent)]
    Tls(#[from] switchyard_ws::TlsError),
    /// A listener could not bind.
    #[error("cannot listen on {listen}: {error}")]
    Bind {
        /// The listener's URL.
        listen: String,
        /// Why. Its message is in this error's own, so it is not also
        /// given as the error's source (which would print it twice).
        error: std::io::Error,
    },
    /// The `web` directory is not there.
    #[error("web directory {dir}: {error}")]
    Web {
        /// The directory.
        dir: String,
        /// Why. Its message is in this error's own, so it is not also
        /// given as the error's source (which would print it twice).
        error: std::io::Error,
    },
}

enum Bound {
    Ws(switchyard_ws::WsServer),
    Tcp(switchyard_tcp::Server, Arc<Route>, usize),
    Udp(switchyard_udp::UdpListener, Arc<Route>),
}

/// A running set of listeners, each relaying its sessions to its routes'
/// targets.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_bridge::{Bridge, BridgeConfig, ListenerConfig, RouteConfig, TargetSpec};
///
/// // A UDP echo service, and a bridge that lets WebSocket clients reach it.
/// let service = switchyard_udp::UdpSocket::bind("127.0.0.1:0").await?;
/// let target = format!("udp://{}", service.local_addr()?).parse()?;
/// switchyard_rt::spawn(async move {
///     while let Ok((msg, peer)) = service.recv_from().await {
///         let _ = service.send_to(&msg, peer).await;
///     }
/// });
/// let listener = ListenerConfig::new("ws://127.0.0.1:0/echo".parse()?)
///     .route(RouteConfig::new("/echo", TargetSpec::Fixed(target)));
/// let bridge = Bridge::bind(BridgeConfig::new(vec![listener])).await?;
/// let url = format!("ws://{}/echo", bridge.local_addrs()[0]);
/// let shutdown = bridge.shutdown();
/// let serving = switchyard_rt::spawn(bridge.serve());
///
/// let mut client = switchyard_ws::connect(&url).await?;
/// client.send("one datagram".into()).await?;
/// assert_eq!(client.next().await.transpose()?.as_deref(), Some(&b"one datagram"[..]));
/// shutdown.trigger();
/// serving.await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Bridge {
    bound: Vec<Bound>,
    addrs: Vec<SocketAddr>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    grace: Duration,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("addrs", &self.addrs)
            .finish()
    }
}

impl Bridge {
    /// Validates `config`, reads its certificates, and binds every listener.
    pub async fn bind(config: BridgeConfig) -> Result<Self, BridgeError> {
        config.validate()?;
        let metrics = Arc::new(Metrics::default());
        let shutdown = Shutdown::new();
        let mut bound = Vec::new();
        let mut addrs = Vec::new();
        for listener in &config.listeners {
            let routes = routes(listener, &metrics, &shutdown)?;
            let (b, addr) = match listener.listen.scheme {
                Scheme::Ws | Scheme::Wss => {
                    let server =
                        serve_ws::bind(listener, routes, metrics.clone(), config.shutdown_grace)
                            .await?
                            .with_shutdown(shutdown.clone());
                    let addr = server.local_addr();
                    (Bound::Ws(server), addr)
                }
                Scheme::Tcp => {
                    let server = serve_tcp::bind(listener, config.shutdown_grace)
                        .await?
                        .with_shutdown(shutdown.clone());
                    let addr = server.local_addr();
                    (
                        Bound::Tcp(server, routes[0].clone(), listener.max_message),
                        addr,
                    )
                }
                Scheme::Udp => {
                    let socket = serve_udp::bind(listener)
                        .await?
                        .with_shutdown(shutdown.clone());
                    let addr = socket.local_addr();
                    (Bound::Udp(socket, routes[0].clone()), addr)
                }
            };
            addrs.push(addr.map_err(|error| BridgeError::Bind {
                listen: listener.listen.to_string(),
                error,
            })?);
            bound.push(b);
        }
        Ok(Self {
            bound,
            addrs,
            metrics,
            shutdown,
            grace: config.shutdown_grace,
        })
    }

    /// The bound address of each listener, in the configuration's order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The bridge's counters (what `GET /metrics` shows).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The bridge's shutdown signal, which every listener and session
    /// watches. Triggering it stops the listeners accepting, closes
    /// WebSocket clients with 1001 once what their sessions had taken is
    /// delivered, and [`serve`](Self::serve) returns once sessions have
    /// ended or the grace period is over.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves every listener until shut down.
    pub async fn serve(self) {
        let mut running = Vec::new();
        for b in self.bound {
            match b {
                Bound::Ws(server) => running.push(server.serve().map(drop).boxed()),
                Bound::Tcp(server, route, max) => {
                    running.push(serve_tcp::serve(server, route, max).boxed());
                }
                Bound::Udp(socket, route) => {
                    running.push(serve_udp::serve(socket, route).boxed());
                }
            }
        }
        let (shutdown, grace) = (self.shutdown, self.grace);
        let announce = async move {
            shutdown.wait().await;
            tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down");
        };
        // Every listener serves until the signal, so both end.
        futures::join!(join_all(running), announce);
    }
}

/// Each route of a listener, ready to run sessions.
fn routes(
    listener: &ListenerConfig,
    metrics: &Arc<Metrics>,
    shutdown: &Shutdown,
) -> Result<Vec<Arc<Route>>, BridgeError> {
    let udp_listener = listener.listen.scheme == Scheme::Udp;
    listener
        .routes
        .iter()
        .map(|route| {
            let dial = dial_options(route, listener)?;
            // UDP listeners expire their sessions themselves; other
            // listeners reaching UDP need the relay's idle timeout.
            let idle = match (udp_listener, route.idle_timeout) {
                (true, _) => None,
                (false, Some(idle)) => Some(idle),
                (false, None) => route
                    .can_reach(Scheme::Udp)
                    .then_some(serve_udp::DEFAULT_UDP_IDLE),
            };
            let label = if listener.listen.scheme.is_websocket() {
                format!(
                    "{}://{}{}",
                    listener.listen.scheme.as_str(),
                    listener.listen.authority(),
                    route.path
                )
            } else {
                listener.listen.to_string()
            };
            Ok(Arc::new(Route {
                label,
                config: route.clone(),
                dial,
                relay: RelayConfig::default()
                    .idle(idle)
                    .send_timeout(route.send_timeout),
                metrics: metrics.clone(),
                shutdown: shutdown.clone(),
            }))
        })
        .collect()
}

/// How a route's sessions reach its target: its dial options with the
/// listener's limits (the same both sides of a session), and TLS for
/// `wss://` targets made once here (its `target_ca` and the system's
/// roots) rather than at every dial.
fn dial_options(
    route: &RouteConfig,
    listener: &ListenerConfig,
) -> Result<DialOptions, switchyard_ws::TlsError> {
    let mut options = route
        .dial
        .clone()
        .max_message(listener.max_message)
        .heartbeat(listener.heartbeat)
        .tcp_keepalive(listener.tcp_keepalive);
    if options.tls.is_none() && route.can_reach(Scheme::Wss) {
        options = options.tls(switchyard_ws::client_tls(route.target_ca.as_deref())?);
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetSpec;

    /// A route built in code carries the listener's limits to its target's
    /// side, whatever its own dial options say: one message limit, one
    /// heartbeat and one keepalive per session.
    #[test]
    fn the_listeners_limits_hold_for_the_target_side() {
        let target = TargetSpec::Fixed("tcp://127.0.0.1:9".parse().unwrap());
        let route = RouteConfig::new("/", target);
        let listener = ListenerConfig::new("ws://127.0.0.1:0/".parse().unwrap())
            .max_message(4096)
            .heartbeat(None)
            .tcp_keepalive(None)
            .route(route.clone());
        let options = dial_options(&route, &listener).unwrap();
        assert_eq!(
            (
                options.max_message,
                options.heartbeat,
                options.tcp_keepalive
            ),
            (4096, None, None)
        );
    }
}
