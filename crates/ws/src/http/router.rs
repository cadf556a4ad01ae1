//! [`Router`]: which path answers what, on one port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;

use super::{RequestHead, Response, ServerIo};
use crate::WsConnection;

/// A request as a handler sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// Method, path, query and headers.
    pub head: RequestHead,
    /// The body (empty for GET and for WebSocket upgrades), within the
    /// server's `max_body`.
    pub body: Bytes,
    /// The client's address.
    pub peer: SocketAddr,
    /// For a WebSocket: the subprotocol chosen, if any.
    pub protocol: Option<String>,
}

pub(crate) type WsHandler =
    Arc<dyn Fn(WsConnection<ServerIo>, Request) -> BoxFuture<'static, ()> + Send + Sync>;
pub(crate) type HttpHandler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response> + Send + Sync>;
pub(crate) type Guard = Arc<dyn Fn(&RequestHead, SocketAddr) -> Option<Response> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Endpoint {
    WebSocket(WsHandler),
    Http {
        method: &'static str,
        handler: HttpHandler,
    },
}

#[derive(Clone)]
struct Route {
    path: String,
    /// Matches every path that starts with `path` (which ends in `/`).
    prefix: bool,
    endpoint: Endpoint,
}

/// What a path and method lead to.
pub(crate) enum Routed<'a> {
    Endpoint(&'a Endpoint),
    /// The path exists, but not for this method: 405, with these allowed.
    WrongMethod(Vec<&'static str>),
    NotFound,
}

/// The routes of a [`WsServer`](crate::WsServer): pages and assets at
/// `GET` paths, WebSocket upgrades, and `POST` endpoints, all on one port.
/// A path ending in `/` given to [`post_prefix`](Self::post_prefix) or
/// [`get_prefix`](Self::get_prefix) matches everything below it. Exact
/// paths win over prefixes. Unknown paths are 404; a known path with the
/// wrong method is 405.
///
/// ```
/// use http::StatusCode;
/// use switchyard_ws::{http::Response, Router};
///
/// let router = Router::new()
///     .page("/", "text/html; charset=utf-8", "<h1>hello</h1>")
///     .websocket("/ws", |mut conn, _req| async move {
///         // An echo: every message back, in batches; only a broken
///         // connection ends it.
///         let _ = switchyard_frame::answer(&mut conn, |_, msg| Some(msg)).await;
///     })
///     .post("/push", |req| async move {
///         Response::text(StatusCode::OK, format!("got {} bytes", req.body.len()))
///     });
/// # drop(router);
/// ```
#[derive(Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
    guards: Vec<Guard>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<&str> = self.routes.iter().map(|r| r.path.as_str()).collect();
        f.debug_struct("Router").field("paths", &paths).finish()
    }
}

impl Router {
    /// No routes: every path is 404.
    pub fn new() -> Self {
        Self::default()
    }

    fn route(mut self, path: &str, prefix: bool, endpoint: Endpoint) -> Self {
        self.routes.push(Route {
            path: path.to_string(),
            prefix,
            endpoint,
        });
        self
    }

    /// Adds a check run on every request as soon as its head is read,
    /// before routing, before a body is read and before any WebSocket
    /// upgrade: returning a response refuses the request with it
    /// (authentication, tokens, rate limits). Guards run in the order added.
    ///
    /// ```
    /// use http::StatusCode;
    /// use switchyard_ws::{http::Response, Router};
    ///
    /// let router = Router::new()
    ///     .guard(|head, _peer| {
    ///         (head.header("authorization") != Some("Bearer s3cret"))
    ///             .then(|| Response::text(StatusCode::UNAUTHORIZED, "bearer token required"))
    ///     })
    ///     .page("/", "text/plain", "hello");
    /// # drop(router);
    /// ```
    pub fn guard<F>(mut self, guard: F) -> Self
    where
        F: Fn(&RequestHead, SocketAddr) -> Option<Response> + Send + Sync + 'static,
    {
        self.guards.push(Arc::new(guard));
        self
    }

    /// The first guard's refusal of this request, if any.
    pub(crate) fn refusal(&self, head: &RequestHead, peer: SocketAddr) -> Option<Response> {
        self.guards.iter().find_map(|guard| guard(head, peer))
    }

    /// Serves fixed content at `GET path` (a page, a script, a stylesheet).
    pub fn page(self, path: &str, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let response = Response::new(http::StatusCode::OK).body(content_type, body.into());
        self.get(path, move |_| {
            let response = response.clone();
            async move { response }
        })
    }

    /// Answers `GET path` with `handler`.
    pub fn get<F, Fut>(self, path: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.route(path, false, http_endpoint("GET", handler))
    }

    /// Answers `GET` on every path under `prefix` (which ends in `/`).
    pub fn get_prefix<F, Fut>(self, prefix: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.route(prefix, true, http_endpoint("GET", handler))
    }

    /// Answers `POST path` with `handler`; the body is read first, within
    /// the server's `max_body`.
    pub fn post<F, Fut>(self, path: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.route(path, false, http_endpoint("POST", handler))
    }

    /// Answers `POST` on every path under `prefix` (which ends in `/`).
    pub fn post_prefix<F, Fut>(self, prefix: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.route(prefix, true, http_endpoint("POST", handler))
    }

    /// Upgrades requests to `path` to WebSocket connections (after the
    /// server's handshake checks) and runs `handler` on each.
    pub fn websocket<F, Fut>(self, path: &str, handler: F) -> Self
    where
        F: Fn(WsConnection<ServerIo>, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: WsHandler = Arc::new(move |conn, req| handler(conn, req).boxed());
        self.route(path, false, Endpoint::WebSocket(handler))
    }

    pub(crate) fn find(&self, method: &str, path: &str) -> Routed<'_> {
        let exact: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| !r.prefix && r.path == path)
            .collect();
        let candidates = if exact.is_empty() {
            self.routes
                .iter()
                .filter(|r| r.prefix && path.starts_with(&r.path))
                .collect()
        } else {
            exact
        };
        if candidates.is_empty() {
            return Routed::NotFound;
        }
        for route in &candidates {
            match &route.endpoint {
                // Every method reaches a WebSocket route: its handshake
                // check answers a non-GET with 405 and the reason.
                Endpoint::WebSocket(_) => return Routed::Endpoint(&route.endpoint),
                Endpoint::Http { method: m, .. } if *m == method => {
                    return Routed::Endpoint(&route.endpoint)
                }
                Endpoint::Http { .. } => {}
            }
        }
        let allowed = candidates
            .iter()
            .filter_map(|r| match r.endpoint {
                Endpoint::Http { method, .. } => Some(method),
                Endpoint::WebSocket(_) => None,
            })
            .collect();
        Routed::WrongMethod(allowed)
    }
}

fn http_endpoint<F, Fut>(method: &'static str, handler: F) -> Endpoint
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    Endpoint::Http {
        method,
        handler: Arc::new(move |req| handler(req).boxed()),
    }
}
