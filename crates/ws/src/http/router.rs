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
/// A path ending in `/` given to [`post_prefix`](Self::post_prefix),
/// [`get_prefix`](Self::get_prefix) or
/// [`websocket_prefix`](Self::websocket_prefix) matches everything below
/// it. Exact paths win over prefixes, and longer prefixes over shorter.
/// Unknown paths are 404; a known path with the wrong method is 405.
///
/// A WebSocket route and a page may share a path: an upgrade request goes
/// to the WebSocket, any other `GET` to the page (a WebSocket at `/` and
/// static files under `/` serve `index.html` to browsers). `HEAD` is
/// answered wherever `GET` is, with the same head and no body.
///
/// ```
/// use switchyard_ws::http::{Response, StatusCode};
/// use switchyard_ws::Router;
///
/// let router = Router::new()
///     .page("/", "text/html; charset=utf-8", "<h1>hello</h1>")
///     .websocket("/ws", |mut conn, _req| async move {
///         // An echo: every message back, in batches; only a broken
///         // connection ends it.
///         let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
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
    /// use switchyard_ws::http::{Response, StatusCode};
    /// use switchyard_ws::Router;
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

    /// Serves the files under `dir` at every `GET` path under `prefix`
    /// (a trailing `/` implied) that no other route takes: `prefix` + `a/b.js`
    /// is `dir/a/b.js`, a directory its `index.html`; no path leaves `dir`
    /// (see [`resolve_file_path`](crate::http::resolve_file_path)). Files
    /// are read on the runtime's pool for blocking work, each at most
    /// [`MAX_FILE`](crate::http::MAX_FILE) bytes. Fails if `dir` is not
    /// there.
    ///
    /// ```
    /// use switchyard_ws::Router;
    ///
    /// let pages = std::env::temp_dir();
    /// let router = Router::new().files("/static/", &pages)?;
    /// assert!(Router::new().files("/", pages.join("no-such-dir")).is_err());
    /// # drop(router);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn files(self, prefix: &str, dir: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        let root = Arc::new(dir.as_ref().canonicalize()?);
        // `/static` means `/static/`: not `/staticX/...`.
        let prefix = format!("{}/", prefix.trim_end_matches('/'));
        let prefix = prefix.as_str();
        // What follows the prefix, with its `/`, names the file.
        let strip = prefix.trim_end_matches('/').len();
        Ok(self.get_prefix(prefix, move |request| {
            let root = root.clone();
            async move {
                let path = request.head.path.get(strip..).unwrap_or("/");
                super::files::serve_file(&root, path, request.peer).await
            }
        }))
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

    /// Upgrades requests to every path under `prefix` (which ends in `/`)
    /// that no other route takes, as websockify does (noVNC asks for
    /// `/websockify`, other clients for whatever they were given).
    ///
    /// ```
    /// use switchyard_ws::Router;
    ///
    /// let router = Router::new().websocket_prefix("/", |conn, req| async move {
    ///     println!("a WebSocket at {}", req.head.path);
    ///     drop(conn);
    /// });
    /// # drop(router);
    /// ```
    pub fn websocket_prefix<F, Fut>(self, prefix: &str, handler: F) -> Self
    where
        F: Fn(WsConnection<ServerIo>, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: WsHandler = Arc::new(move |conn, req| handler(conn, req).boxed());
        self.route(prefix, true, Endpoint::WebSocket(handler))
    }

    /// The endpoint for a request with this `method` and `path`;
    /// `upgrade` if it asks for a WebSocket (`Upgrade: websocket`).
    pub(crate) fn find(&self, method: &str, path: &str, upgrade: bool) -> Routed<'_> {
        let method = if method == "HEAD" { "GET" } else { method };
        let exact: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| !r.prefix && r.path == path)
            .collect();
        if let Some(endpoint) = pick(&exact, method, upgrade) {
            return Routed::Endpoint(endpoint);
        }
        let exact_http = exact
            .iter()
            .any(|r| matches!(r.endpoint, Endpoint::Http { .. }));
        // Below an exact WebSocket path (or none), a prefix may answer: a
        // page for a browser's GET of a WebSocket path.
        let mut prefixes: Vec<&Route> = Vec::new();
        if !exact_http {
            prefixes = self
                .routes
                .iter()
                .filter(|r| r.prefix && path.starts_with(&r.path))
                .collect();
            prefixes.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
            if let Some(endpoint) = pick(&prefixes, method, upgrade) {
                return Routed::Endpoint(endpoint);
            }
        }
        let candidates = if exact.is_empty() { prefixes } else { exact };
        // Every method reaches a WebSocket route nothing else answers: its
        // handshake check says what was wrong (405 for a POST, 400 for a
        // GET that is no upgrade).
        if let Some(ws) = candidates
            .iter()
            .find(|r| matches!(r.endpoint, Endpoint::WebSocket(_)))
        {
            return Routed::Endpoint(&ws.endpoint);
        }
        if candidates.is_empty() {
            return Routed::NotFound;
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

/// Among `routes` (in order of preference), the one for this request: a
/// WebSocket for an upgrade, else an HTTP endpoint of its method.
fn pick<'a>(routes: &[&'a Route], method: &str, upgrade: bool) -> Option<&'a Endpoint> {
    let ws = routes
        .iter()
        .find(|r| upgrade && matches!(r.endpoint, Endpoint::WebSocket(_)));
    let http = || {
        routes
            .iter()
            .find(|r| matches!(r.endpoint, Endpoint::Http { method: m, .. } if m == method))
    };
    ws.or_else(http).map(|r| &r.endpoint)
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    /// What `find` chose, in short: "ws", the HTTP method, 405 or 404.
    fn chosen(router: &Router, method: &str, path: &str, upgrade: bool) -> String {
        match router.find(method, path, upgrade) {
            Routed::Endpoint(Endpoint::WebSocket(_)) => "ws".into(),
            Routed::Endpoint(Endpoint::Http { method, .. }) => (*method).into(),
            Routed::WrongMethod(allowed) => format!("405 {}", allowed.join(",")),
            Routed::NotFound => "404".into(),
        }
    }

    fn page(_: Request) -> std::future::Ready<Response> {
        std::future::ready(Response::new(StatusCode::OK))
    }

    #[test]
    fn a_websocket_and_pages_at_one_path_are_told_apart_by_the_upgrade() {
        let router = Router::new()
            .websocket("/", |_, _| async {})
            .get_prefix("/", page);
        assert_eq!(chosen(&router, "GET", "/", true), "ws");
        assert_eq!(chosen(&router, "GET", "/", false), "GET");
        assert_eq!(chosen(&router, "HEAD", "/", false), "GET");
        assert_eq!(chosen(&router, "GET", "/app.js", false), "GET");
        // Nothing else answers a POST there: the handshake says why.
        assert_eq!(chosen(&router, "POST", "/", false), "ws");
    }

    #[test]
    fn a_websocket_prefix_takes_every_path_no_other_route_does() {
        let router = Router::new()
            .websocket_prefix("/", |_, _| async {})
            .page("/healthz", "text/plain", "ok")
            .post("/push", page);
        assert_eq!(chosen(&router, "GET", "/websockify", true), "ws");
        assert_eq!(chosen(&router, "GET", "/", true), "ws");
        assert_eq!(chosen(&router, "GET", "/healthz", false), "GET");
        assert_eq!(chosen(&router, "HEAD", "/healthz", false), "GET");
        // An exact path's own methods; a WebSocket prefix does not take
        // a path that has them.
        assert_eq!(chosen(&router, "GET", "/push", false), "405 POST");
    }

    #[test]
    fn exact_paths_and_longer_prefixes_win() {
        let router = Router::new()
            .get_prefix("/", page)
            .post_prefix("/api/", page)
            .websocket("/ws", |_, _| async {});
        assert_eq!(chosen(&router, "POST", "/api/x", false), "POST");
        assert_eq!(chosen(&router, "GET", "/api/x", false), "GET");
        assert_eq!(chosen(&router, "GET", "/ws", true), "ws");
        assert_eq!(chosen(&router, "DELETE", "/x", false), "405 GET");
        assert_eq!(chosen(&Router::new(), "GET", "/x", false), "404");
    }
}
