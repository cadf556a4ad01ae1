//! One session: a client, its target dialed, the relay, and the one log
//! line that says how it went.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use futures::future::{select, BoxFuture};
use futures::{SinkExt, StreamExt};
use switchyard_frame::{Error, Keepalive, MessageConnection};
use switchyard_rt::{Shutdown, ShutdownWait};
use switchyard_ws::http::RequestHead;

use crate::listener::SessionLimits;
use crate::metrics::ErrorKind;
use crate::{
    dial, relay_metered, DialOptions, DirectionEnd, Endpoint, Metrics, RelayConfig, RelayMeter,
    RelayReport, RouteConfig, Scheme, TargetSpec,
};

/// A route ready to run sessions.
#[derive(Debug)]
pub(crate) struct Route {
    /// `listen URL` + path, for the log.
    pub label: String,
    pub config: RouteConfig,
    pub dial: DialOptions,
    /// Its relay's settings; [`relay_for`](Self::relay_for) adds the
    /// default idle timeout for a UDP target.
    pub relay: RelayConfig,
    /// Whether the listener is UDP (which expires its sessions itself).
    pub udp_listener: bool,
    pub metrics: Arc<Metrics>,
    /// Closed when the bridge shuts down.
    pub shutdown: Shutdown,
    /// How long sessions have at a shutdown to deliver what their clients
    /// still send (the bridge's shutdown grace).
    pub grace: Duration,
}

impl Route {
    /// `config` ready to run sessions under `limits`, logged as `label`:
    /// its dial options and relay settings made here, once.
    pub(crate) fn new(
        label: String,
        config: &RouteConfig,
        limits: SessionLimits,
        udp_listener: bool,
        metrics: &Arc<Metrics>,
        (shutdown, grace): (&Shutdown, Duration),
    ) -> Result<Self, switchyard_ws::TlsError> {
        // UDP listeners expire their sessions themselves; other listeners
        // reaching UDP get the relay's idle timeout, by default per session
        // (`relay_for`).
        let idle = config.idle_timeout.filter(|_| !udp_listener);
        Ok(Route {
            label,
            dial: dial_options(config, limits)?,
            config: config.clone(),
            relay: RelayConfig::default()
                .idle(idle)
                .send_timeout(config.send_timeout),
            udp_listener,
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
            grace,
        })
    }

    /// The target for a request: the fixed one, or the one its
    /// `?token=NAME` names. `None` for a missing or unknown token.
    pub(crate) fn target_for(&self, head: Option<&RequestHead>) -> Option<Endpoint> {
        match &self.config.target {
            TargetSpec::Fixed(endpoint) => Some(endpoint.clone()),
            target => {
                let name = head?.query_param("token")?;
                target.tokens()?.get(&name).cloned()
            }
        }
    }
}

impl Route {
    /// The relay's settings for a session to `target`: a UDP target (which
    /// has no end of its own) gets the default idle timeout unless the
    /// route sets one or the listener is UDP.
    pub(crate) fn relay_for(&self, target: &Endpoint) -> RelayConfig {
        let udp_default = !self.udp_listener
            && self.config.idle_timeout.is_none()
            && target.scheme == Scheme::Udp;
        if udp_default {
            self.relay.idle(Some(crate::DEFAULT_UDP_IDLE))
        } else {
            self.relay
        }
    }
}

/// How a route's sessions reach its target: its dial options with the
/// listener's limits (the same both sides of a session), and TLS for
/// `wss://` targets made once here (its `target_ca` and the system's
/// roots) rather than at every dial.
pub(crate) fn dial_options(
    route: &RouteConfig,
    limits: SessionLimits,
) -> Result<DialOptions, switchyard_ws::TlsError> {
    let mut options = route
        .dial
        .clone()
        .max_message(limits.max_message)
        .heartbeat(limits.heartbeat)
        .tcp_keepalive(limits.tcp_keepalive);
    // A token file may name a wss:// target later.
    let may_reach_wss =
        route.can_reach(Scheme::Wss) || matches!(route.target, TargetSpec::TokenFile(_));
    if options.tls.is_none() && may_reach_wss {
        let ca = route.target_ca.as_deref();
        let tls = match &route.target_cert {
            Some((cert, key)) => switchyard_ws::client_tls_with_cert(ca, cert, key)?,
            None => switchyard_ws::client_tls(ca)?,
        };
        options = options.tls(tls);
    }
    Ok(options)
}

/// How a session went.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The target could not be reached.
    Unreachable(Error),
    /// The relay ran.
    Relayed(RelayReport),
}

impl Outcome {
    /// The WebSocket close a client should get, when the relay has not
    /// already closed it: 1014 when the target was unreachable, failed or
    /// stalled (or sent a message too large for the client), 1009 for a
    /// message the target cannot take (over a UDP datagram), 1001 at a
    /// shutdown, 1000 with a reason at the idle timeout.
    pub(crate) fn client_close(&self, target: &Endpoint) -> Option<(u16, String)> {
        match self {
            Outcome::Unreachable(e) => Some((1014, format!("target {target} unreachable: {e}"))),
            Outcome::Relayed(report) => match (&report.a_to_b, &report.b_to_a) {
                (DirectionEnd::Idle, _) => Some((1000, "idle timeout".into())),
                (DirectionEnd::Shutdown, _) | (_, DirectionEnd::Shutdown) => {
                    Some((1001, "server shutting down".into()))
                }
                (DirectionEnd::Stalled(after), _) => Some((
                    1014,
                    format!("target stalled: it took nothing for {after:?}"),
                )),
                (DirectionEnd::Refused(Error::TooLargeToSend { size, max }), _) => Some((
                    1009,
                    format!("a {size}-byte message is over the target's {max}-byte limit"),
                )),
                (_, DirectionEnd::Refused(Error::TooLargeToSend { size, max })) => Some((
                    1014,
                    format!("the target sent a {size}-byte message, over the {max}-byte limit"),
                )),
                (DirectionEnd::DestinationFailed(e), _) | (_, DirectionEnd::SourceFailed(e)) => {
                    Some((1014, format!("target failed: {e}")))
                }
                _ => None,
            },
        }
    }
}

/// Dials the target and relays `client` to it until the bridge shuts down,
/// counting and logging the session. The client is left open for the
/// caller to close.
pub(crate) async fn run<C>(
    client: &mut C,
    peer: impl std::fmt::Display,
    route: &Route,
    target: &Endpoint,
) -> Outcome
where
    C: MessageConnection + Keepalive + Unpin,
{
    run_with_farewell(client, peer, route, target, None).await
}

/// How a client is told of a shutdown while what it still sends is
/// delivered: a WebSocket is sent its close (1001), after which RFC 6455
/// lets it send until its own close comes back.
pub(crate) type Farewell<C> = for<'c> fn(&'c mut C) -> BoxFuture<'c, ()>;

/// What a WebSocket client's session does besides relaying: its farewell
/// at a shutdown, and the shutdown of the server it came from when that is
/// not the route's (a [`BridgeRoute`](crate::BridgeRoute) mounted on an
/// application's server).
pub(crate) struct ClientEnd<C> {
    pub farewell: Farewell<C>,
    pub server_shutdown: Option<ShutdownWait>,
}

/// [`run`], also ended by `end`'s server shutdown, and at a shutdown,
/// `end`'s farewell to the client, then what it still sends delivered until
/// its own close, within the route's grace from the shutdown.
pub(crate) async fn run_with_farewell<C>(
    client: &mut C,
    peer: impl std::fmt::Display,
    route: &Route,
    target: &Endpoint,
    end: Option<ClientEnd<C>>,
) -> Outcome
where
    C: MessageConnection + Keepalive + Unpin,
{
    // Boxed: the dial (a TLS and WebSocket handshake at most) is over once
    // the relay starts, but an argument of an async fn keeps its place in
    // the future for the whole session (it made every idle session's
    // future 13.7 KB).
    let dialing = Box::pin(async { dial(target, &route.dial).await.map(Box::new) });
    run_dialed(client, peer, route, target, dialing, end).await
}

/// [`run`], with the target dialed by `dialing` (a WebSocket kept unboxed,
/// so that the caller can read its close afterwards).
pub(crate) async fn run_dialed<C, T>(
    client: &mut C,
    peer: impl std::fmt::Display,
    route: &Route,
    target: &Endpoint,
    dialing: impl std::future::Future<Output = Result<T, Error>>,
    end: Option<ClientEnd<C>>,
) -> Outcome
where
    C: MessageConnection + Keepalive + Unpin,
    T: std::ops::DerefMut,
    T::Target: MessageConnection + Keepalive + Unpin,
{
    let started = Instant::now();
    let metrics = &route.metrics;
    metrics.session_opened();
    let outcome = match dialing.await {
        Err(e) => {
            metrics.error(ErrorKind::Connect);
            Outcome::Unreachable(e)
        }
        Ok(mut target_conn) => {
            let target_conn = &mut *target_conn;
            let (farewell, server_shutdown) = match end {
                Some(end) => (Some(end.farewell), end.server_shutdown),
                None => (None, None),
            };
            // The route's shutdown or the client's server's, and when.
            let noticed = OnceLock::new();
            let route_shutdown = route.shutdown.wait();
            let shutdown = async {
                let server = async {
                    match server_shutdown {
                        Some(wait) => wait.await,
                        None => std::future::pending().await,
                    }
                };
                select(pin!(route_shutdown), pin!(server)).await;
                let _ = noticed.set(Instant::now());
            };
            let relay = route.relay_for(target);
            let meter = metrics.relayed();
            let mut report =
                relay_metered(&mut *client, &mut *target_conn, relay, shutdown, meter).await;
            if matches!(report.a_to_b, DirectionEnd::Shutdown) {
                if let Some(farewell) = farewell {
                    let since = noticed.get().copied().unwrap_or_else(Instant::now);
                    let deadline = since + route.grace;
                    let left = || deadline.saturating_duration_since(Instant::now());
                    // A client that reads nothing cannot hold the shutdown.
                    let telling = farewell(client);
                    let _ = switchyard_rt::timeout(CLOSE_WAIT.min(left()), "close", telling).await;
                    let mut late = 0;
                    let delivering =
                        deliver_until_closed(client, target_conn, meter, relay.linger, &mut late);
                    let _ = switchyard_rt::timeout(left(), "the client's close", delivering).await;
                    report.bytes_a_to_b += late;
                }
                // The target is told too: its write half shut, or a close.
                let closing = futures::SinkExt::close(target_conn);
                let _ = switchyard_rt::timeout(CLOSE_WAIT, "close", closing).await;
            }
            Outcome::Relayed(report)
        }
    };
    let (to_target, to_client) = match &outcome {
        Outcome::Relayed(report) => (report.bytes_a_to_b, report.bytes_b_to_a),
        Outcome::Unreachable(_) => (0, 0),
    };
    metrics.session_closed(started.elapsed());
    let end = match &outcome {
        Outcome::Unreachable(e) => format!("target unreachable: {e}"),
        Outcome::Relayed(report) => {
            for (end, reading, writing) in [
                (&report.a_to_b, ErrorKind::Client, ErrorKind::Target),
                (&report.b_to_a, ErrorKind::Target, ErrorKind::Client),
            ] {
                match end {
                    // A refused message is its sender's: the side read from.
                    DirectionEnd::SourceFailed(_) | DirectionEnd::Refused(_) => {
                        metrics.error(reading)
                    }
                    DirectionEnd::DestinationFailed(_) | DirectionEnd::Stalled(_) => {
                        metrics.error(writing)
                    }
                    _ => {}
                }
            }
            metrics.messages_skipped(report.skipped_a_to_b + report.skipped_b_to_a);
            format!(
                "client to target {}; target to client {}",
                report.a_to_b, report.b_to_a
            )
        }
    };
    tracing::info!(
        %peer,
        route = %route.label,
        %target,
        bytes_to_target = to_target,
        bytes_to_client = to_client,
        duration_ms = started.elapsed().as_millis() as u64,
        %end,
        "session"
    );
    outcome
}

/// What a client told of a shutdown still sends, delivered to the target
/// until its own close (the end of its stream), a failure either side,
/// [`CLOSE_WAIT`] without a message, or a target that takes nothing for
/// `linger` (the relay's own limit at a shutdown); the bytes delivered
/// added to `delivered` and counted in `meter` as they go (kept if the
/// caller's time runs out).
async fn deliver_until_closed<C, T>(
    client: &mut C,
    target: &mut T,
    meter: &RelayMeter,
    linger: Duration,
    delivered: &mut u64,
) where
    C: MessageConnection + Unpin,
    T: MessageConnection + Unpin + ?Sized,
{
    while let Ok(Some(Ok(msg))) = switchyard_rt::timeout(CLOSE_WAIT, "close", client.next()).await {
        let len = msg.len() as u64;
        let sent = switchyard_rt::timeout(linger, "delivery", target.send(msg)).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
        meter.a_to_b.fetch_add(len, Ordering::Relaxed);
        *delivered += len;
    }
}

/// How long a client has to answer our close before it is dropped.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(2);
