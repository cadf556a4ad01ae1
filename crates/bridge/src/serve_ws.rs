//! WebSocket listeners (`ws://`, `wss://`): one route per path, with the
//! guards (authentication, tokens), metrics and static files around them.

use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use http::StatusCode;
use switchyard_ws::http::Response;
use switchyard_ws::{MessageKind, Router, WsServer, WsServerConfig};

use crate::metrics::ErrorKind;
use crate::session::{self, Route, CLOSE_WAIT};
use crate::{BridgeError, ListenerConfig, Metrics, TargetSpec};

/// Binds a WebSocket listener with its routes.
pub(crate) async fn bind(
    listener: &ListenerConfig,
    routes: Vec<Arc<Route>>,
    metrics: Arc<Metrics>,
    grace: std::time::Duration,
) -> Result<WsServer, BridgeError> {
    let mut config = WsServerConfig::default()
        .max_connections(listener.max_connections)
        .max_message(listener.max_message)
        .origins(listener.origins.clone())
        .heartbeat(listener.heartbeat)
        .tcp_keepalive(
            listener
                .tcp_keepalive
                .map(switchyard_ws::TcpKeepalive::after),
        )
        .shutdown_grace(grace)
        // What noVNC and websockify's clients offer: the bridge's messages
        // are binary anyway. (An offer of only `base64`, websockify's old
        // text encoding, is refused with 400 saying so.)
        .protocols(["binary"]);
    if let Some((cert, key)) = &listener.tls {
        config = config.tls(switchyard_ws::server_tls(cert, key)?);
    }
    let mut router = Router::new().guard(guard(listener, &routes, metrics.clone()));
    for route in routes {
        let path = route.config.path.clone();
        let session = move |client, request| {
            let route = route.clone();
            async move { ws_session(client, request, &route).await }
        };
        // A route at `/` (a listen URL without a path) takes upgrades at
        // every path no other route takes, as websockify does: noVNC asks
        // for `/websockify`, other clients for what they were given.
        router = if path == "/" {
            router.websocket_prefix(&path, session)
        } else {
            router.websocket(&path, session)
        };
    }
    if listener.metrics {
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
    if let Some(dir) = &listener.web {
        let root: Arc<PathBuf> =
            Arc::new(dir.canonicalize().map_err(|error| BridgeError::Web {
                dir: dir.display().to_string(),
                error,
            })?);
        router = router.get_prefix("/", move |request| {
            let root = root.clone();
            async move { crate::web::serve(&root, &request.head.path).await }
        });
    }
    WsServer::bind(listener.listen.authority(), config, router)
        .await
        .map_err(|error| BridgeError::Bind {
            listen: listener.listen.to_string(),
            error,
        })
}

/// Authentication on every request but `/healthz`, then tokens on token
/// routes: both answered before any upgrade.
fn guard(
    listener: &ListenerConfig,
    routes: &[Arc<Route>],
    metrics: Arc<Metrics>,
) -> impl Fn(&switchyard_ws::http::RequestHead, std::net::SocketAddr) -> Option<Response>
       + Send
       + Sync
       + 'static {
    let auth = listener.auth.clone();
    let all_paths: Vec<String> = routes.iter().map(|r| r.config.path.clone()).collect();
    let token_routes: Vec<Arc<Route>> = routes
        .iter()
        .filter(|r| matches!(r.config.target, TargetSpec::Tokens(_)))
        .cloned()
        .collect();
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
        // Tokens choose a WebSocket's target: pages and files under the
        // same paths need none.
        if !head.has_token("upgrade", "websocket") {
            return None;
        }
        // The route the request goes to: its own path's, else the one at
        // `/`, which takes every other path.
        let route = token_routes
            .iter()
            .find(|r| r.config.path == head.path)
            .or_else(|| {
                let taken = all_paths.contains(&head.path);
                token_routes.iter().find(|r| !taken && r.config.path == "/")
            })?;
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

/// One WebSocket client: its target dialed, relayed, and closed saying why.
async fn ws_session(
    client: switchyard_ws::WsConnection<switchyard_ws::ServerIo>,
    request: switchyard_ws::Request,
    route: &Route,
) {
    let kind = if route.config.dial.text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    let mut client = client.fixed_kind(kind);
    // The session handles the shutdown itself (delivering what it has
    // taken, then 1001), rather than the connection closing on its own.
    drop(client.get_mut().take_shutdown());
    let Some(target) = route.target_for(Some(&request.head)) else {
        // The guard refused these already; a token file cannot change.
        let _ = client.get_mut().close(1008, "unknown token").await;
        return;
    };
    let outcome = session::run(&mut client, request.peer, route, &target).await;
    if let Some((code, reason)) = outcome.client_close(&target) {
        let _ = client.get_mut().close(code, &reason).await;
    }
    // Wait (briefly) for the client's answer, so the close is clean.
    let drain = async { while client.next().await.is_some() {} };
    let _ = switchyard_rt::timeout(CLOSE_WAIT, "close", drain).await;
}
