//! [`HttpServer`]: plain HTTP routes and upgrades (WebSocket) on one port.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::io::AsyncWriteExt;
use http::header::HeaderValue;
use http::StatusCode;
use switchyard_rt::net::Address;
use switchyard_rt::Shutdown;
use switchyard_tcp::{
    Accepted, PerIpLimit, PerIpSlot, ServeReport, Server, ServerConfig, ServerStream,
};

use crate::pending::Pending;
use crate::read::{read_body, read_request, Refused};
use crate::router::{Endpoint, Routed};
use crate::{HttpServerConfig, ReadAhead, Request, RequestHead, Response, Router, Upgraded};
use switchyard_tls::{MaybeTls, ServerTlsStream};

switchyard_tls::opaque_io!(
    /// The byte stream under a server-side connection: plain (read ahead,
    /// see [`ReadAhead`]), or TLS.
    ServerIo = MaybeTls<ReadAhead<ServerStream>, ServerTlsStream<ServerStream>>
);

impl ServerIo {
    /// Whether reads take [`read_buffer`](HttpServerConfig::read_buffer)
    /// bytes from the socket at a time already ([`ReadAhead`], on a plain
    /// connection): a protocol above then needs no read buffer of its own
    /// larger than its smallest message.
    pub fn is_read_ahead(&self) -> bool {
        matches!(self.0, MaybeTls::Plain(_))
    }

    /// A handle that writes to the socket at once, without waiting, for a
    /// plain connection (none for TLS, whose records only the session
    /// writes): see [`WriteHandle`](switchyard_rt::net::WriteHandle).
    pub fn write_handle(&self) -> Option<switchyard_rt::net::WriteHandle> {
        match &self.0 {
            MaybeTls::Plain(stream) => Some(stream.get_ref().get_ref().write_handle()),
            MaybeTls::Tls(_) => None,
        }
    }
}

/// An HTTP/1 server: plain routes and upgrades to other protocols
/// (WebSocket) on one port, within the limits of [`HttpServerConfig`]: the
/// request head and body, the time to send them, the connections still in
/// their handshake (per address too), the upgraded ones. One request per
/// connection: each is answered and closed, or upgraded.
///
/// ```
/// # switchyard_http::rt::block_on(async {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use switchyard_http::{HttpServer, HttpServerConfig, Response, Router, StatusCode};
///
/// let router = Router::new().post("/echo", |req| async move {
///     Response::new(StatusCode::OK).body("text/plain", req.body)
/// });
/// let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router).await?;
/// let addr = server.local_addr()?;
/// let shutdown = server.shutdown();
/// let serving = switchyard_http::rt::spawn(server.serve());
///
/// let mut client = switchyard_http::rt::net::TcpStream::connect(addr).await?;
/// client.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").await?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer).await?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answer.ends_with("\r\n\r\nhello"));
///
/// shutdown.trigger();
/// serving.await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct HttpServer {
    tcp: Server,
    state: Arc<State>,
    shutdown: Shutdown,
}

/// Warnings about connections refused before HTTP: this many at once, then
/// one every [`REFUSAL_INTERVAL`], each saying how many were held back.
const REFUSAL_BURST: u32 = 20;
const REFUSAL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug)]
struct State {
    config: HttpServerConfig,
    router: Router,
    open: AtomicUsize,
    /// Upgraded connections open per client address, when limited.
    per_ip: Option<PerIpLimit>,
    /// Connections still in their handshake, within their own budget.
    pending: Arc<Pending>,
    /// Warnings about connections refused before HTTP (PROXY header, TLS),
    /// which a flood of them could otherwise fill the log with.
    refusals: switchyard_rt::LogBudget,
}

impl HttpServer {
    /// Binds `addr` with `config` and `router`.
    pub async fn bind(
        addr: impl Into<Address>,
        config: HttpServerConfig,
        router: Router,
    ) -> io::Result<Self> {
        let tcp_config = ServerConfig::default()
            // Room above the upgraded limit for every connection still in
            // its handshake (plain HTTP requests and the 503s that enforce
            // the limit among them), which has its own budget.
            .max_connections(config.max_connections + config.max_handshakes + 16)
            .idle_timeout(config.idle_timeout)
            .keepalive(config.tcp_keepalive)
            .shutdown_grace(config.shutdown_grace);
        let tcp = Server::bind(addr, tcp_config).await?;
        let shutdown = tcp.shutdown();
        let pending = Arc::new(Pending::new(
            config.max_handshakes,
            config.max_handshakes_per_ip,
        ));
        let per_ip = config.max_connections_per_ip.map(PerIpLimit::new);
        let state = Arc::new(State {
            config,
            router,
            open: AtomicUsize::new(0),
            per_ip,
            pending,
            refusals: switchyard_rt::LogBudget::new(REFUSAL_BURST, REFUSAL_INTERVAL),
        });
        Ok(Self {
            tcp,
            state,
            shutdown,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The server's shutdown signal. Triggering it stops accepting, tells
    /// every upgraded connection's session ([`Upgraded::shutdown`]: a
    /// WebSocket is closed with 1001), and [`serve`](Self::serve) returns
    /// once they are closed (or cut after the grace period).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Stops on `shutdown` instead of a signal of its own (to stop several
    /// servers together). Call it before taking [`shutdown`](Self::shutdown):
    /// a signal taken earlier no longer stops the server.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.tcp = self.tcp.with_shutdown(shutdown.clone());
        self.shutdown = shutdown;
        self
    }

    /// Serves until shut down.
    pub async fn serve(self) -> ServeReport {
        let (state, shutdown) = (self.state, self.shutdown);
        self.tcp
            .serve(move |conn| serve_connection(state.clone(), shutdown.clone(), conn))
            .await
    }
}

/// One TCP connection: a request, then either a response or an upgrade.
async fn serve_connection(state: Arc<State>, shutdown: Shutdown, conn: Accepted) {
    // Everything before the upgrade (TLS handshake, request head, HTTP
    // answers) runs in a boxed future that is freed when it ends, so a
    // long-lived WebSocket's task keeps only its session's state: the
    // request phase alone takes about 11 KiB, which every idle connection
    // would otherwise carry to its end.
    //
    // Until then the connection holds a place among the unfinished ones,
    // and is dropped if the oldest when that budget is full.
    //
    // A proxy's connections (PROXY protocol, a trusted proxy) speak for
    // many clients: they count under the overall budget, not its address's.
    let (abort, registration) = AbortHandle::new_pair();
    let peer = conn.peer_addr();
    let from_proxy = state.config.proxy_protocol
        || super::forwarded::is_trusted_proxy(peer.ip(), &state.config.trusted_proxies);
    let place = state.pending.admit((!from_proxy).then_some(peer), abort);
    let answered = Abortable::new(
        Box::pin(answer_request(state, shutdown, conn)),
        registration,
    )
    .await;
    drop(place);
    if let Ok(Some((session, slot))) = answered {
        session.await;
        drop(slot);
    }
}

/// An upgraded connection's session, and the slot it holds under
/// `max_connections` until it ends.
type Session = (BoxFuture<'static, ()>, Slot);

/// An upgrade request that its protocol accepted and that holds its slot:
/// all that is left is the 101 and the session.
struct UpgradeAccepted {
    switch: crate::Switch,
    /// Bytes the client sent after its request head (its first frames).
    rest: Bytes,
    slot: Slot,
}

/// Answers the request on `conn`: an HTTP response, a refusal, or an
/// accepted upgrade, whose session comes back to be run.
async fn answer_request(
    state: Arc<State>,
    shutdown: Shutdown,
    mut conn: Accepted,
) -> Option<Session> {
    // The PROXY header first, so that everything after (the guard, the
    // limits, the handler) sees the client's address. It is read within
    // the handshake time-out, in the handshake budget like the rest.
    let limit = state.config.handshake_timeout;
    if state.config.proxy_protocol && !conn.admit_proxy_header(limit, &state.refusals).await {
        return None;
    }
    let peer = conn.peer_addr();
    let mut io = accept_tls(&state, conn).await?;
    let accepted = match read_and_answer(&state, &mut io, peer).await {
        Ok(Some(accepted)) => accepted,
        Ok(None) | Err(Refused::HangUp) => return None,
        Err(Refused::Answer(response)) => {
            respond(&mut io, &response, peer).await;
            return None;
        }
    };
    start_session(&state.config, shutdown, io, accepted).await
}

/// The TLS handshake on a TLS server (within the handshake time-out), or
/// the plain stream. A handshake that TLS refused (a client without the
/// certificate asked for, or with one not from its CA; no shared protocol
/// version or cipher) or that timed out is a warning; one the client just
/// dropped (a port probe) is not.
async fn accept_tls(state: &State, conn: Accepted) -> Option<ServerIo> {
    let config = &state.config;
    let Some(tls) = &config.tls else {
        return Some(ServerIo(MaybeTls::Plain(ReadAhead::new(
            conn.into_stream(),
            config.read_buffer,
        ))));
    };
    let peer = conn.peer_addr();
    let handshake = tls.accept(conn.into_stream());
    match switchyard_rt::timeout(config.handshake_timeout, "TLS handshake", handshake).await {
        Ok(Ok(stream)) => Some(ServerIo(MaybeTls::Tls(Box::new(stream)))),
        Ok(Err(e)) | Err(e) => {
            let refused = matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::TimedOut
            );
            match refused.then(|| state.refusals.admit()).flatten() {
                Some(held_back) => {
                    tracing::warn!(%peer, error = %e, held_back, "refused: TLS handshake failed")
                }
                None => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            }
            None
        }
    }
}

/// Reads the request and routes it: an HTTP endpoint is served here
/// (`Ok(None)`); an upgrade that passes its checks and finds a free slot
/// comes back to be started.
async fn read_and_answer(
    state: &Arc<State>,
    io: &mut ServerIo,
    peer: SocketAddr,
) -> Result<Option<UpgradeAccepted>, Refused> {
    let config = &state.config;
    let (head, rest) = within(
        config.handshake_timeout,
        "request",
        peer,
        read_request(io, config),
    )
    .await?;
    let peer = crate::client_address(peer, &head, &config.trusted_proxies);
    match route(&state.router, &head, peer)? {
        Endpoint::Http { handler, .. } => {
            let read = read_body(io, &head, rest, config);
            let body = within(config.handshake_timeout, "body", peer, read).await?;
            let request = Request {
                head,
                body,
                peer,
                protocol: None,
            };
            let head_only = request.head.method == "HEAD";
            let response = handler(request).await;
            if head_only {
                respond_head(io, &response, peer).await;
            } else {
                respond(io, &response, peer).await;
            }
            Ok(None)
        }
        Endpoint::Upgrade(upgrade) => {
            let request = Request {
                head,
                body: Bytes::new(),
                peer,
                protocol: None,
            };
            let switch = upgrade.accept(request).map_err(Refused::Answer)?;
            let slot = Slot::take(state, peer)?;
            Ok(Some(UpgradeAccepted { switch, rest, slot }))
        }
    }
}

/// The router's answer for `head`: its endpoint, or the guard's refusal,
/// 404 or 405.
fn route(router: &Router, head: &RequestHead, peer: SocketAddr) -> Result<Endpoint, Refused> {
    if let Some(refusal) = router.refusal(head, peer) {
        return Err(Refused::Answer(refusal));
    }
    let asks_for = |token: &str| head.has_token("upgrade", token);
    match router.find(&head.method, &head.path, &asks_for) {
        Routed::Endpoint(endpoint) => Ok(endpoint.clone()),
        Routed::NotFound => Err(Refused::Answer(Response::text(
            StatusCode::NOT_FOUND,
            "no such path",
        ))),
        Routed::WrongMethod(allowed) => {
            let allow = HeaderValue::from_str(&allowed.join(", "))
                .unwrap_or(HeaderValue::from_static("GET"));
            let response = Response::text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} not allowed here", head.method),
            )
            .typed_header(http::header::ALLOW, allow);
            Err(Refused::Answer(response))
        }
    }
}

/// Sends the 101 and makes the connection its upgrade's session.
async fn start_session(
    config: &HttpServerConfig,
    shutdown: Shutdown,
    mut io: ServerIo,
    accepted: UpgradeAccepted,
) -> Option<Session> {
    let UpgradeAccepted { switch, rest, slot } = accepted;
    if io.write_all(&switch.response.to_bytes()).await.is_err() {
        return None;
    }
    let upgraded = Upgraded {
        io,
        rest,
        shutdown,
        read_buffer: config.read_buffer,
    };
    // The setup runs here, in the request phase's future, which is freed
    // when it ends: the session keeps only its own state.
    let session = (switch.start)(upgraded).await;
    Some((session, slot))
}

/// Runs one step of the request phase within `limit`; a client too slow
/// for it is hung up on.
async fn within<T>(
    limit: Duration,
    what: &str,
    peer: SocketAddr,
    step: impl Future<Output = Result<T, Refused>>,
) -> Result<T, Refused> {
    switchyard_rt::timeout(limit, what, step)
        .await
        .unwrap_or_else(|e| {
            tracing::debug!(%peer, error = %e, "dropping a slow client");
            Err(Refused::HangUp)
        })
}

/// An upgraded connection's slot under the server's `max_connections` (and its client
/// address's place under `max_connections_per_ip`), given back on drop.
struct Slot {
    state: Arc<State>,
    /// Held for its drop, which frees the address's place.
    _per_ip: Option<PerIpSlot>,
}

impl Slot {
    /// A slot for an upgraded connection from `peer`, or the 503 that says which limit
    /// is reached.
    fn take(state: &Arc<State>, peer: SocketAddr) -> Result<Slot, Refused> {
        let refuse =
            |what: String| Refused::Answer(Response::text(StatusCode::SERVICE_UNAVAILABLE, what));
        let per_ip = match &state.per_ip {
            Some(limit) => Some(limit.take(peer.ip()).ok_or_else(|| {
                refuse(format!(
                    "too many connections from {} (limit {})",
                    peer.ip(),
                    limit.max()
                ))
            })?),
            None => None,
        };
        let max = state.config.max_connections;
        state
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| Slot {
                state: state.clone(),
                _per_ip: per_ip,
            })
            .map_err(|_| refuse(format!("too many connections (limit {max})")))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writes a response and ends the connection.
async fn respond(io: &mut ServerIo, response: &Response, peer: SocketAddr) {
    send(io, &response.to_bytes(), response, peer).await;
}

/// [`respond`] to a `HEAD`: the head alone, its `Content-Length` the
/// body's.
async fn respond_head(io: &mut ServerIo, response: &Response, peer: SocketAddr) {
    send(io, &response.head_bytes(), response, peer).await;
}

async fn send(io: &mut ServerIo, bytes: &[u8], response: &Response, peer: SocketAddr) {
    if response.status().is_client_error() || response.status().is_server_error() {
        tracing::debug!(%peer, status = response.status().as_u16(), "refused a request");
    }
    let _ = io.write_all(bytes).await;
    let _ = io.close().await;
}
