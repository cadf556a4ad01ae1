//! WebSocket listeners (`ws://`, `wss://`): one route per path, with the
//! guards (authentication, tokens), metrics and static files around them.

use std::sync::Arc;

use futures::StreamExt;
use http::StatusCode;
use switchyard_ws::http::{HttpServer, HttpServerConfig, Response};
use switchyard_ws::{websocket, MessageKind, Router, WsServerConfig};

use crate::metrics::ErrorKind;
use crate::route_table::RouteTable;
use crate::session::{self, Route, CLOSE_WAIT};
use crate::{BridgeError, ListenerConfig, Metrics, WebSocketOptions};

/// A `wss://` listener's TLS, its files read now (its certificate, key and
/// client CA); `None` for `ws://`.
pub(crate) fn listener_tls(
    listener: &ListenerConfig,
) -> Result<Option<switchyard_ws::ServerTls>, switchyard_ws::TlsError> {
    let Some(options) = listener.options.websocket() else {
        return Ok(None);
    };
    let Some((cert, key)) = &options.tls else {
        return Ok(None);
    };
    let tls = match &options.client_ca {
        Some(ca) => switchyard_ws::server_tls_verifying_clients(cert, key, ca)?,
        None => switchyard_ws::server_tls(cert, key)?,
    };
    Ok(Some(tls))
}

/// Binds a WebSocket listener with its routes, under its `options`.
pub(crate) async fn bind(
    listener: &ListenerConfig,
    options: &WebSocketOptions,
    tls: Option<switchyard_ws::ServerTls>,
    table: Arc<RouteTable>,
    metrics: Arc<Metrics>,
    grace: std::time::Duration,
) -> Result<HttpServer, BridgeError> {
    let mut config: HttpServerConfig = options.http.clone().shutdown_grace(grace);
    config.tls = tls;
    let websockets = websocket_config(&options.websocket);
    // Every upgrade comes here, and goes to the route the table has for its
    // path now (the guard has refused those without one): a reload changes
    // the routes without binding again.
    let sessions = table.clone();
    let mut router = Router::new()
        .guard(guard(options, table, metrics.clone()))
        .upgrade_prefix(
            "/",
            websocket(websockets, move |client, request| {
                let route = sessions.find(&request.head.path);
                ws_session(client, request, route)
            }),
        );
    if options.metrics {
        let m = metrics.clone();
        router = router
            .page("/healthz", "text/plain; charset=utf-8", "ok\n")
            .get("/metrics", move |_| {
                let text = m.render();
                async move {
                    Response::new(StatusCode::OK)
                        .body("text/plain; version=0.0.4; charset=utf-8", text)
                }
            });
    }
    if let Some(dir) = &options.web {
        router = router.files("/", dir).map_err(|error| BridgeError::Web {
            dir: dir.display().to_string(),
            error,
        })?;
    }
    HttpServer::bind(listener.listen.authority(), config, router)
        .await
        .map_err(|error| BridgeError::Bind {
            listen: listener.listen.to_string(),
            error,
        })
}

/// What a listener holds its WebSocket clients to: `websocket`, speaking
/// the subprotocol the bridge's clients ask for.
fn websocket_config(websocket: &WsServerConfig) -> WsServerConfig {
    websocket
        .clone()
        // What noVNC and websockify's clients offer: the bridge's messages
        // are binary anyway. (An offer of only `base64`, websockify's old
        // text encoding, is refused with 400 saying so.)
        .protocols(["binary"])
}

/// Before any upgrade: authentication on every request but `/healthz`; a
/// route for every upgrade (404 otherwise) and its token on token routes
/// (403); 404 for a path nothing serves. Every refusal is logged.
fn guard(
    options: &WebSocketOptions,
    table: Arc<RouteTable>,
    metrics: Arc<Metrics>,
) -> impl Fn(&switchyard_ws::http::RequestHead, std::net::SocketAddr) -> Option<Response>
       + Send
       + Sync
       + 'static {
    let auth = options.auth.clone();
    let pages: &'static [&'static str] = if options.metrics {
        &["/healthz", "/metrics"]
    } else {
        &[]
    };
    let web = options.web.is_some();
    move |head, peer| {
        if let Some(auth) = &auth {
            if head.path != "/healthz" {
                if let Some(refusal) = auth.refusal(head) {
                    metrics.error(ErrorKind::Refused);
                    tracing::info!(%peer, path = %head.path, "refused: no valid credentials");
                    return Some(refusal);
                }
            }
        }
        let route = table.find(&head.path);
        if !head.has_token("upgrade", "websocket") {
            // Pages and files need no token; a path no route, page or
            // file can answer is 404 here, where it is logged.
            if route.is_none() && !web && !pages.contains(&head.path.as_str()) {
                tracing::info!(%peer, method = %head.method, path = %head.path, "404: no such path");
                return Some(Response::text(StatusCode::NOT_FOUND, "no such path"));
            }
            return None;
        }
        let Some(route) = route else {
            tracing::info!(%peer, path = %head.path, "404: no WebSocket route at this path");
            return Some(Response::text(
                StatusCode::NOT_FOUND,
                format!("no WebSocket route at {}", head.path),
            ));
        };
        // A fixed target always has one; a token route, the token's.
        if route.target_for(Some(head)).is_some() {
            return None;
        }
        metrics.error(ErrorKind::Refused);
        tracing::info!(%peer, path = %head.path, "refused: missing or unknown token");
        Some(Response::text(
            StatusCode::FORBIDDEN,
            "missing or unknown token (?token=NAME)",
        ))
    }
}

/// One WebSocket client: its target dialed, relayed, and closed saying why
/// (1001 if a reload removed its route since the guard let it in).
///
/// Neither an async fn nor called from an async block: either would keep
/// the connection (before `fixed_kind` took it) and the request beside
/// what the session uses, for as long as the session lasts, since a
/// future keeps the place of what it captured even once moved out.
fn ws_session(
    client: switchyard_ws::WsConnection<switchyard_ws::ServerIo>,
    request: switchyard_ws::Request,
    route: Option<Arc<Route>>,
) -> futures::future::BoxFuture<'static, ()> {
    let Some(route) = route else {
        let mut client = client;
        return Box::pin(async move {
            let closing = client.close(1001, "route removed by a reload");
            let _ = switchyard_rt::timeout(CLOSE_WAIT, "close", closing).await;
        });
    };
    let target = route.target_for(Some(&request.head));
    relay_client(client, target, request.peer, route)
}

/// At a shutdown: the client's close (1001), after which what it still
/// sends until its own close is delivered.
fn farewell<S>(client: &mut switchyard_ws::FixedKind<S>) -> futures::future::BoxFuture<'_, ()>
where
    S: futures::io::AsyncRead + futures::io::AsyncWrite + Unpin + Send,
{
    Box::pin(async move {
        let _ = client.get_mut().close(1001, "server shutting down").await;
    })
}

/// A WebSocket client relayed to `target` (closed with 1008 when there is
/// none) on `route`, and closed saying why the session ended: the session
/// of every WebSocket client, the bridge's own and those another server
/// accepted ([`BridgeRoute`](crate::BridgeRoute)).
pub(crate) fn relay_client<S>(
    client: switchyard_ws::WsConnection<S>,
    target: Option<crate::Endpoint>,
    peer: std::net::SocketAddr,
    route: Arc<Route>,
) -> futures::future::BoxFuture<'static, ()>
where
    S: futures::io::AsyncRead + futures::io::AsyncWrite + Unpin + Send + 'static,
{
    let kind = if route.config.dial.text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    let mut client = client.fixed_kind(kind);
    // The session handles the shutdown itself (delivering what it has
    // taken, then 1001), rather than the connection closing on its own: the
    // route's, and the connection's server's if that is another.
    let server_shutdown = client.get_mut().take_shutdown();
    let end = session::ClientEnd {
        farewell,
        server_shutdown,
    };
    Box::pin(async move {
        let Some(target) = target else {
            // The guard refused these already, unless the token file
            // changed in between.
            let closing = client.get_mut().close(1008, "unknown token");
            let _ = switchyard_rt::timeout(CLOSE_WAIT, "close", closing).await;
            return;
        };
        let outcome =
            session::run_with_farewell(&mut client, peer, &route, &target, Some(end)).await;
        if let Some((code, reason)) = outcome.client_close(&target) {
            // Within a time: a client that reads nothing cannot hold it.
            let closing = client.get_mut().close(code, &reason);
            let _ = switchyard_rt::timeout(CLOSE_WAIT, "close", closing).await;
        }
        // Wait (briefly) for the client's answer, so the close is clean.
        let drain = async { while client.next().await.is_some() {} };
        let _ = switchyard_rt::timeout(CLOSE_WAIT, "close", drain).await;
    })
}
