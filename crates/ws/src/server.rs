//! [`WsServer`]: plain HTTP routes and WebSocket upgrades on one port.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_std::net::ToSocketAddrs;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use http::header::HeaderValue;
use http::StatusCode;
use switchyard_tcp::{Accepted, ServeReport, Server, ServerConfig, ServerStream};

use crate::handshake::{check_upgrade, switching_protocols};
use crate::http::{RequestHead, Response};
use crate::pending::Pending;
use crate::router::{Endpoint, Request, Routed};
use crate::{MaybeTls, Router, WsConnection, WsServerConfig};

/// The byte stream under a server-side connection: plain, or TLS for wss.
pub type ServerIo = MaybeTls<ServerStream, futures_rustls::server::TlsStream<ServerStream>>;

/// A server for WebSocket upgrades and plain HTTP routes on one port,
/// strict at the handshake: see [`handshake::check_upgrade`](crate::handshake::check_upgrade)
/// for each refusal and its status, and [`WsServerConfig`] for the limits.
///
/// ```
/// # async_std::task::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_ws::{Router, WsServer, WsServerConfig};
///
/// let router = Router::new().websocket("/ws", |mut conn, _req| async move {
///     // An echo: only a broken connection ends it.
///     let _ = switchyard_frame::answer(&mut conn, |_, msg| Some(msg)).await;
/// });
/// let server = WsServer::bind("127.0.0.1:0", WsServerConfig::default(), router).await?;
/// let url = format!("ws://{}/ws", server.local_addr()?);
/// let shutdown = server.shutdown_handle();
/// let serving = async_std::task::spawn(server.serve());
///
/// let mut client = switchyard_ws::connect(&url).await?;
/// client.send("hello".into()).await?;
/// assert_eq!(client.next().await.transpose()?.as_deref(), Some(&b"hello"[..]));
///
/// shutdown.shutdown(); // the client is closed with 1001
/// assert!(client.next().await.is_none());
/// assert_eq!(client.peer_close().map(|c| c.code), Some(1001));
/// serving.await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct WsServer {
    tcp: Server,
    state: Arc<State>,
    shutdown: WsShutdownHandle,
}

#[derive(Debug)]
struct State {
    config: WsServerConfig,
    router: Router,
    open: AtomicUsize,
    /// Connections still in their handshake, within their own budget.
    pending: Arc<Pending>,
    /// Closed at shutdown; every connection watches it.
    shutdown: async_channel::Receiver<()>,
}

/// Stops a running [`WsServer`]: it stops accepting, closes every
/// WebSocket with 1001, and returns once they are closed (or cut after the
/// grace period). Cloneable; callable any number of times.
#[derive(Debug, Clone)]
pub struct WsShutdownHandle {
    tcp: switchyard_tcp::ShutdownHandle,
    connections: async_channel::Sender<()>,
}

impl WsShutdownHandle {
    /// Begins the shutdown.
    pub fn shutdown(&self) {
        self.connections.close();
        self.tcp.shutdown();
    }
}

impl WsServer {
    /// Binds `addr` with `config` and `router`.
    pub async fn bind<A: ToSocketAddrs>(
        addr: A,
        config: WsServerConfig,
        router: Router,
    ) -> io::Result<Self> {
        let tcp_config = ServerConfig::default()
            // Room above the WebSocket limit for every connection still in
            // its handshake (plain HTTP requests and the 503s that enforce
            // the limit among them), which has its own budget.
            .max_connections(config.max_connections + config.max_handshakes + 16)
            .idle_timeout(config.idle_timeout)
            .keepalive(config.tcp_keepalive)
            .shutdown_grace(config.shutdown_grace);
        let tcp = Server::bind(addr, tcp_config).await?;
        let (tx, rx) = async_channel::bounded(1);
        let shutdown = WsShutdownHandle {
            tcp: tcp.shutdown_handle(),
            connections: tx,
        };
        let pending = Arc::new(Pending::new(
            config.max_handshakes,
            config.max_handshakes_per_ip,
        ));
        let state = Arc::new(State {
            config,
            router,
            open: AtomicUsize::new(0),
            pending,
            shutdown: rx,
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

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> WsShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves until shut down.
    pub async fn serve(self) -> ServeReport {
        let state = self.state;
        self.tcp
            .serve(move |conn| serve_connection(state.clone(), conn))
            .await
    }
}

/// One TCP connection: a request, then either a response or a WebSocket.
async fn serve_connection(state: Arc<State>, conn: Accepted) {
    // Everything before the upgrade (TLS handshake, request head, HTTP
    // answers) runs in a boxed future that is freed when it ends, so a
    // long-lived WebSocket's task keeps only its handler's state: the
    // request phase alone takes about 11 KiB, which every idle connection
    // would otherwise carry to its end.
    //
    // Until then the connection holds a place among the unfinished ones,
    // and is dropped if the oldest when that budget is full.
    let (abort, registration) = AbortHandle::new_pair();
    let place = state.pending.admit(conn.peer_addr(), abort);
    let answered = Abortable::new(Box::pin(answer_request(state, conn)), registration).await;
    drop(place);
    if let Ok(Some((session, slot))) = answered {
        session.await;
        drop(slot);
    }
}

/// Answers the request on `conn`: an HTTP response, a refusal, or an
/// accepted upgrade, whose session (the handler's future, with the slot it
/// holds under `max_connections`) comes back to be run.
async fn answer_request(
    state: Arc<State>,
    conn: Accepted,
) -> Option<(BoxFuture<'static, ()>, Slot)> {
    let peer = conn.peer_addr();
    let config = &state.config;
    let mut io = match &config.tls {
        None => MaybeTls::Plain(conn.into_stream()),
        Some(tls) => {
            let handshake = tls.0.accept(conn.into_stream());
            match switchyard_rt::timeout(config.handshake_timeout, "TLS handshake", handshake).await
            {
                Ok(Ok(stream)) => MaybeTls::Tls(Box::new(stream)),
                Ok(Err(e)) | Err(e) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return None;
                }
            }
        }
    };
    let request = switchyard_rt::timeout(
        config.handshake_timeout,
        "request",
        read_request(&mut io, config),
    )
    .await;
    let (head, rest) = match request {
        Ok(Ok(request)) => request,
        Ok(Err(Some(response))) => return refuse(&mut io, &response, peer).await,
        Ok(Err(None)) => return None, // closed or failed before a whole request
        Err(e) => {
            tracing::debug!(%peer, error = %e, "dropping a slow client");
            return None;
        }
    };
    if let Some(refusal) = state.router.refusal(&head, peer) {
        return refuse(&mut io, &refusal, peer).await;
    }
    let endpoint = match state.router.find(&head.method, &head.path) {
        Routed::Endpoint(endpoint) => endpoint.clone(),
        Routed::NotFound => {
            return refuse(
                &mut io,
                &Response::text(StatusCode::NOT_FOUND, "no such path"),
                peer,
            )
            .await
        }
        Routed::WrongMethod(allowed) => {
            let allow = HeaderValue::from_str(&allowed.join(", "))
                .unwrap_or(HeaderValue::from_static("GET"));
            let response = Response::text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} not allowed here", head.method),
            )
            .typed_header(http::header::ALLOW, allow);
            return refuse(&mut io, &response, peer).await;
        }
    };
    match endpoint {
        Endpoint::Http { handler, .. } => {
            let body = match switchyard_rt::timeout(
                config.handshake_timeout,
                "body",
                read_body(&mut io, &head, rest, config),
            )
            .await
            {
                Ok(Ok(body)) => body,
                Ok(Err(Some(response))) => return refuse(&mut io, &response, peer).await,
                Ok(Err(None)) | Err(_) => return None,
            };
            let request = Request {
                head,
                body,
                peer,
                protocol: None,
            };
            let response = handler(request).await;
            respond(&mut io, &response, peer).await;
            None
        }
        Endpoint::WebSocket(handler) => {
            let upgrade = match check_upgrade(&head, &config.origins, &config.protocols) {
                Ok(upgrade) => upgrade,
                Err(response) => return refuse(&mut io, &response, peer).await,
            };
            let Some(slot) = Slot::take(&state) else {
                let response = Response::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("too many connections (limit {})", config.max_connections),
                );
                return refuse(&mut io, &response, peer).await;
            };
            let accepted = switching_protocols(&upgrade, &config.extra_headers);
            if io.write_all(&accepted.to_bytes()).await.is_err() {
                return None;
            }
            let ws = WebSocketStream::from_partially_read(
                io,
                rest.to_vec(),
                Role::Server,
                Some(config.websocket_config()),
            )
            .await;
            let mut conn = WsConnection::new(ws).with_shutdown(state.shutdown.clone());
            if let Some(heartbeat) = config.heartbeat {
                conn = conn.with_heartbeat(heartbeat);
            }
            let request = Request {
                head,
                body: Bytes::new(),
                peer,
                protocol: upgrade.protocol,
            };
            Some((handler(conn, request), slot))
        }
    }
}

/// A WebSocket slot under the server's `max_connections`, given back on drop.
struct Slot(Arc<State>);

impl Slot {
    fn take(state: &Arc<State>) -> Option<Slot> {
        let max = state.config.max_connections;
        state
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(state.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends `response` and ends the connection.
async fn refuse<T>(io: &mut ServerIo, response: &Response, peer: SocketAddr) -> Option<T> {
    respond(io, response, peer).await;
    None
}

/// Reads the request head; what arrived after it comes back too. `Err(Some)`
/// is a response to send, `Err(None)` a connection that ended first.
async fn read_request(
    io: &mut ServerIo,
    config: &WsServerConfig,
) -> Result<(RequestHead, Bytes), Option<Response>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = io.read(&mut chunk).await.map_err(|_| None)?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, len)) = RequestHead::parse(&buf, config.max_head).map_err(Some)? {
            let rest = Bytes::from(buf).slice(len..);
            return Ok((head, rest));
        }
    }
}

/// Reads a request body of `Content-Length` bytes, within `max_body`.
async fn read_body(
    io: &mut ServerIo,
    head: &RequestHead,
    rest: Bytes,
    config: &WsServerConfig,
) -> Result<Bytes, Option<Response>> {
    if head.header("transfer-encoding").is_some() {
        return Err(Some(Response::text(
            StatusCode::NOT_IMPLEMENTED,
            "chunked bodies are not supported; send Content-Length",
        )));
    }
    let len = match head.header("content-length") {
        None if head.method == "GET" || head.method == "HEAD" => 0,
        None => {
            return Err(Some(Response::text(
                StatusCode::LENGTH_REQUIRED,
                "Content-Length required",
            )))
        }
        Some(v) => v.parse::<usize>().map_err(|_| {
            Some(Response::text(
                StatusCode::BAD_REQUEST,
                "malformed Content-Length",
            ))
        })?,
    };
    if len > config.max_body {
        return Err(Some(Response::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "body of {len} bytes is over the {}-byte limit",
                config.max_body
            ),
        )));
    }
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(&rest[..rest.len().min(len)]);
    let have = body.len();
    body.resize(len, 0);
    io.read_exact(&mut body[have..]).await.map_err(|_| None)?;
    Ok(Bytes::from(body))
}

/// Writes a response and ends the connection.
async fn respond(io: &mut ServerIo, response: &Response, peer: SocketAddr) {
    if response.status().is_client_error() || response.status().is_server_error() {
        tracing::debug!(%peer, status = response.status().as_u16(), "refused a request");
    }
    let _ = io.write_all(&response.to_bytes()).await;
    let _ = io.close().await;
}
