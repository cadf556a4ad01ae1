//! [`Bridge`]: every listener of a [`BridgeConfig`], bound and served.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::join_all;
use futures::FutureExt;
use switchyard_rt::Shutdown;

use crate::route_table::RouteTable;
#[cfg(unix)]
use crate::serve_unix;
use crate::session::Route;
use crate::{serve_stdio, serve_tcp, serve_udp, serve_ws};
use crate::{BridgeConfig, ConfigError, Endpoint, ListenerConfig, Metrics, Scheme};

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
    Ws(switchyard_ws::http::HttpServer),
    Tcp(
        switchyard_tcp::Server,
        Arc<RouteTable>,
        crate::SocketOptions,
    ),
    Udp(switchyard_udp::UdpListener, Arc<RouteTable>),
    #[cfg(unix)]
    Unix(switchyard_tcp::UnixServer, Arc<RouteTable>, usize),
    /// Its table and largest message.
    Stdio(Arc<RouteTable>, usize),
}

/// A running set of listeners, each relaying its sessions to its routes'
/// targets.
///
/// ```
/// # switchyard_bridge::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_bridge::{dial, Bridge, BridgeConfig, DialOptions, Endpoint};
/// use switchyard_bridge::{ListenerConfig, RouteConfig, TargetSpec};
///
/// // A UDP echo service (on a thread of its own), and a bridge that lets
/// // WebSocket clients reach it.
/// let service = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let target = format!("udp://{}", service.local_addr()?).parse()?;
/// std::thread::spawn(move || {
///     let mut buf = [0; 1500];
///     while let Ok((len, peer)) = service.recv_from(&mut buf) {
///         let _ = service.send_to(&buf[..len], peer);
///     }
/// });
/// let listener = ListenerConfig::new("ws://127.0.0.1:0/echo".parse()?)
///     .route(RouteConfig::new("/echo", TargetSpec::Fixed(target)));
/// let bridge = Bridge::bind(BridgeConfig::new(vec![listener])).await?;
/// let url: Endpoint = format!("ws://{}/echo", bridge.local_addrs()[0]).parse()?;
/// let shutdown = bridge.shutdown();
/// let serving = switchyard_bridge::rt::spawn(bridge.serve());
///
/// let mut client = dial(&url, &DialOptions::default()).await?;
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
    reloader: Reloader,
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
        let mut endpoints = Vec::new();
        let mut tables = Vec::new();
        let mut tls_setups = Vec::new();
        for listener in &config.listeners {
            let listener = &one_at_a_time_for_stdio(listener);
            // Filled once bound, so that its routes' labels have the port.
            let table = Arc::new(RouteTable::new(Vec::new()));
            let grace = config.shutdown_grace;
            let (b, addr) = match listener.listen.scheme {
                Scheme::Ws | Scheme::Wss => {
                    let options = listener.options.websocket().ok_or_else(|| ConfigError {
                        listen: listener.listen.to_string(),
                        reason: "a WebSocket listener takes WebSocketOptions".into(),
                    })?;
                    let tls = serve_ws::listener_tls(listener)?;
                    tls_setups.push(tls.clone());
                    let (table, metrics) = (table.clone(), metrics.clone());
                    let server = serve_ws::bind(listener, options, tls, table, metrics, grace)
                        .await?
                        .with_shutdown(shutdown.clone());
                    let addr = server.local_addr();
                    (Bound::Ws(server), addr.map(Some))
                }
                Scheme::Tcp => {
                    let options = listener.options.socket().ok_or_else(|| ConfigError {
                        listen: listener.listen.to_string(),
                        reason: "a TCP listener takes SocketOptions".into(),
                    })?;
                    let server = serve_tcp::bind(listener, options, grace)
                        .await?
                        .with_shutdown(shutdown.clone());
                    let addr = server.local_addr();
                    (
                        Bound::Tcp(server, table.clone(), options.clone()),
                        addr.map(Some),
                    )
                }
                Scheme::Udp => {
                    let socket = serve_udp::bind(listener)
                        .await?
                        .with_shutdown(shutdown.clone());
                    let addr = socket.local_addr();
                    (Bound::Udp(socket, table.clone()), addr.map(Some))
                }
                #[cfg(unix)]
                Scheme::Unix => {
                    let server = serve_unix::bind(listener, grace)
                        .await?
                        .with_shutdown(shutdown.clone());
                    let max_message = listener.options.session_limits().max_message;
                    (Bound::Unix(server, table.clone(), max_message), Ok(None))
                }
                Scheme::Stdio => {
                    let max_message = listener.options.session_limits().max_message;
                    (Bound::Stdio(table.clone(), max_message), Ok(None))
                }
                other => {
                    return Err(BridgeError::Config(ConfigError {
                        listen: listener.listen.to_string(),
                        reason: format!("{}:// listeners are not available here", other.as_str()),
                    }))
                }
            };
            if !listener.listen.scheme.is_websocket() {
                tls_setups.push(None);
            }
            let addr = addr.map_err(|error| BridgeError::Bind {
                listen: listener.listen.to_string(),
                error,
            })?;
            let endpoint = bound_endpoint(&listener.listen, addr);
            let grace = config.shutdown_grace;
            table.replace(routes(listener, &endpoint, &metrics, &shutdown, grace)?);
            addrs.push(addr.unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))));
            endpoints.push(endpoint);
            tables.push(table);
            bound.push(b);
        }
        let reloader = Reloader {
            running: Arc::new(Mutex::new(config)),
            tables,
            tls: tls_setups,
            endpoints,
            metrics,
            shutdown,
        };
        Ok(Self {
            bound,
            addrs,
            reloader,
        })
    }

    /// The bound address of each listener, in the configuration's order
    /// (`0.0.0.0:0` for `unix://` and `stdio` listeners, which have none:
    /// see [`local_endpoints`](Self::local_endpoints)).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Each listener's URL as bound (with the port it got), in the
    /// configuration's order.
    pub fn local_endpoints(&self) -> &[Endpoint] {
        &self.reloader.endpoints
    }

    /// The bridge's counters (what `GET /metrics` shows).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.reloader.metrics.clone()
    }

    /// What applies a new configuration's routes to this bridge while it
    /// runs (`SIGHUP` in the command line).
    pub fn reloader(&self) -> Reloader {
        self.reloader.clone()
    }

    /// The bridge's shutdown signal, which every listener and session
    /// watches. Triggering it stops the listeners accepting, closes
    /// WebSocket clients with 1001 once what their sessions had taken is
    /// delivered, and [`serve`](Self::serve) returns once sessions have
    /// ended or the grace period is over.
    pub fn shutdown(&self) -> Shutdown {
        self.reloader.shutdown.clone()
    }

    /// Serves every listener until shut down (or until every listener has
    /// ended by itself: a `stdio` listener ends with its one session).
    pub async fn serve(self) -> Served {
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut running = Vec::new();
        for b in self.bound {
            match b {
                Bound::Ws(server) => running.push(server.serve().map(drop).boxed()),
                Bound::Tcp(server, table, options) => {
                    running.push(serve_tcp::serve(server, table, options).boxed());
                }
                Bound::Udp(socket, table) => {
                    running.push(serve_udp::serve(socket, table).boxed());
                }
                #[cfg(unix)]
                Bound::Unix(server, table, max_message) => {
                    running.push(serve_unix::serve(server, table, max_message).boxed());
                }
                Bound::Stdio(table, max) => {
                    let failed = failed.clone();
                    let session = async move {
                        if !serve_stdio::serve(table, max).await {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    };
                    running.push(session.boxed());
                }
            }
        }
        let grace = self.reloader.grace();
        let shutdown = self.reloader.shutdown;
        let announce = async move {
            shutdown.wait().await;
            tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down");
        };
        // Listeners serve until the signal, but a stdio listener ends with
        // its one session: then, if it was the only one, so does the bridge.
        // The announcement is polled first: listeners that all end in the
        // same turn as the signal must not end the bridge unannounced.
        let listeners = join_all(running);
        match futures::future::select(std::pin::pin!(announce), std::pin::pin!(listeners)).await {
            futures::future::Either::Left(((), listeners)) => {
                listeners.await;
            }
            futures::future::Either::Right(_) => {}
        }
        Served {
            stdio_failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// How a bridge's serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// A `stdio` listener's session failed: its target was unreachable,
    /// a side failed, or a WebSocket target closed with a code other than
    /// 1000 or 1001 (the command line then exits with status 1).
    pub stdio_failed: bool,
}

/// Applies a new configuration to a running [`Bridge`]: its routes
/// (paths, targets, tokens, time-outs, framing) take effect for new
/// sessions, while running sessions go on with the routes they began with;
/// `wss://` listeners read their certificate, key and client CA files
/// again (renewed certificates, same paths) for new connections.
///
/// What a listener is bound with (its address and its
/// [`options`](crate::ListenerConfig::options): TLS file paths, limits,
/// static files, authentication, origins, heartbeat, metrics) and the
/// shutdown grace need a restart: a configuration changing any of them is
/// refused as a whole, saying what, and the running one is kept, as it is
/// for a configuration that does not validate.
#[derive(Debug, Clone)]
pub struct Reloader {
    /// The configuration running now.
    running: Arc<Mutex<BridgeConfig>>,
    /// Each listener's routes, in the configuration's order.
    tables: Vec<Arc<RouteTable>>,
    /// Each listener's endpoint as bound (its port chosen), for the log.
    endpoints: Vec<Endpoint>,
    /// Each `wss://` listener's TLS, which a reload reads again.
    tls: Vec<Option<switchyard_ws::ServerTls>>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
}

/// Why a new configuration was not applied (the running one is kept).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// It does not validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A `wss://` target's CA certificate could not be used.
    #[error(transparent)]
    Tls(#[from] switchyard_ws::TlsError),
    /// It changes what only a restart can.
    #[error("{0}: needs a restart")]
    NeedsRestart(String),
}

impl Reloader {
    /// Validates `config`, checks that it changes only routes, and puts
    /// its routes in place of the running ones. On an error nothing
    /// changes.
    pub fn reload(&self, config: BridgeConfig) -> Result<(), ReloadError> {
        config.validate()?;
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        needs_restart(&running, &config).map_err(ReloadError::NeedsRestart)?;
        let tables = config
            .listeners
            .iter()
            .zip(&self.endpoints)
            .map(|(listener, bound)| {
                routes(
                    listener,
                    bound,
                    &self.metrics,
                    &self.shutdown,
                    config.shutdown_grace,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| match e {
                BridgeError::Tls(e) => ReloadError::Tls(e),
                other => ReloadError::NeedsRestart(other.to_string()),
            })?;
        // Certificates read again (renewed in place), all before anything
        // changes.
        let tls = config
            .listeners
            .iter()
            .map(serve_ws::listener_tls)
            .collect::<Result<Vec<_>, _>>()?;
        for (running, renewed) in self.tls.iter().zip(&tls) {
            if let (Some(running), Some(renewed)) = (running, renewed) {
                running.replace_with(renewed);
            }
        }
        for (table, routes) in self.tables.iter().zip(tables) {
            table.replace(routes);
        }
        *running = config;
        Ok(())
    }

    fn grace(&self) -> Duration {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shutdown_grace
    }
}

/// What `new` changes that only a restart can, if anything.
fn needs_restart(old: &BridgeConfig, new: &BridgeConfig) -> Result<(), String> {
    let listens = |c: &BridgeConfig| -> Vec<String> {
        c.listeners.iter().map(|l| l.listen.to_string()).collect()
    };
    if listens(old) != listens(new) {
        return Err(format!(
            "the listeners change (from {} to {})",
            listens(old).join(", "),
            listens(new).join(", ")
        ));
    }
    if old.shutdown_grace != new.shutdown_grace {
        return Err("shutdown_grace changes".into());
    }
    for (a, b) in old.listeners.iter().zip(&new.listeners) {
        // A listener bound for a stdio target takes one session at a time.
        if reaches_stdio(a) != reaches_stdio(b) {
            return Err(format!("{}: a stdio target comes or goes", a.listen));
        }
        // Everything a listener is bound with but its routes.
        if let Some(name) = a.options.first_difference(&b.options) {
            return Err(format!("{}: {name} changes", a.listen));
        }
        // A TCP, UDP or Unix listener is bound with its route's idle
        // timeout.
        let bound_with_idle = !a.listen.scheme.is_websocket();
        if bound_with_idle && a.routes[0].idle_timeout != b.routes[0].idle_timeout {
            return Err(format!("{}: idle_timeout changes", a.listen));
        }
    }
    Ok(())
}

/// Whether a route of `listener` has the process's terminal as its target.
fn reaches_stdio(listener: &ListenerConfig) -> bool {
    listener.routes.iter().any(|r| r.can_reach(Scheme::Stdio))
}

/// A listener with a `stdio` target takes one session at a time: the
/// process has one standard input.
fn one_at_a_time_for_stdio(listener: &ListenerConfig) -> ListenerConfig {
    let mut listener = listener.clone();
    if reaches_stdio(&listener) {
        listener.options.one_session_at_a_time();
    }
    listener
}

/// The endpoint a listener is bound at: its URL with the port it got.
fn bound_endpoint(listen: &Endpoint, addr: Option<SocketAddr>) -> Endpoint {
    let mut endpoint = listen.clone();
    if let Some(addr) = addr {
        endpoint.host = addr.ip().to_string();
        endpoint.port = addr.port();
    }
    endpoint
}

/// Each route of a listener (bound at `bound`), ready to run sessions.
fn routes(
    listener: &ListenerConfig,
    bound: &Endpoint,
    metrics: &Arc<Metrics>,
    shutdown: &Shutdown,
    grace: Duration,
) -> Result<Vec<Arc<Route>>, BridgeError> {
    let udp_listener = listener.listen.scheme == Scheme::Udp;
    listener
        .routes
        .iter()
        .map(|route| {
            let label = if bound.scheme.is_websocket() {
                format!(
                    "{}://{}{}",
                    bound.scheme.as_str(),
                    bound.authority(),
                    route.path
                )
            } else {
                bound.to_string()
            };
            let limits = listener.options.session_limits();
            let ending = (shutdown, grace);
            let route = Route::new(label, route, limits, udp_listener, metrics, ending)?;
            Ok(Arc::new(route))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RouteConfig, TargetSpec};

    /// A route built in code carries the listener's limits to its target's
    /// side, whatever its own dial options say: one message limit, one
    /// heartbeat and one keepalive per session.
    #[test]
    fn the_listeners_limits_hold_for_the_target_side() {
        let target = TargetSpec::Fixed("tcp://127.0.0.1:9".parse().unwrap());
        let route = RouteConfig::new("/", target);
        let websocket = switchyard_ws::WsServerConfig::default()
            .max_message(4096)
            .heartbeat(None);
        let http = switchyard_ws::http::HttpServerConfig::default().tcp_keepalive(None);
        let listener = ListenerConfig::new("ws://127.0.0.1:0/".parse().unwrap())
            .options(
                crate::WebSocketOptions::default()
                    .websocket(websocket)
                    .http(http),
            )
            .route(route.clone());
        let limits = listener.options.session_limits();
        let options = crate::session::dial_options(&route, limits).unwrap();
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
