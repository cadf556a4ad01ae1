//! [`Router`]: which path answers what, on one port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::{RequestHead, Response, Upgrade};

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
    /// After an upgrade: the subprotocol its protocol chose, if any (a
    /// WebSocket's `Sec-WebSocket-Protocol`).
    pub protocol: Option<String>,
}

pub(crate) type HttpHandler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response> + Send + Sync>;
pub(crate) type Guard = Arc<dyn Fn(&RequestHead, SocketAddr) -> Option<Response> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Endpoint {
    Upgrade(Arc<dyn Upgrade>),
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

/// The routes of an [`HttpServer`](crate::HttpServer): pages and assets at
/// `GET` paths, `POST` endpoints, and upgrades to other protocols
/// (WebSocket), all on one port. A path ending in `/` given to
/// [`post_prefix`](Self::post_prefix), [`get_prefix`](Self::get_prefix) or
/// [`upgrade_prefix`](Self::upgrade_prefix) matches everything below it.
/// Exact paths win over prefixes, and longer prefixes over shorter.
/// Unknown paths are 404; a known path with the wrong method is 405.
///
/// An upgrade route and a page may share a path: a request asking for the
/// upgrade's protocol goes to it, any other `GET` to the page (a WebSocket
/// at `/` and static files under `/` serve `index.html` to browsers).
/// `HEAD` is answered wherever `GET` is, with the same head and no body.
///
/// ```
/// use switchyard_http::{Response, Router, StatusCode};
///
/// let router = Router::new()
///     .page("/", "text/html; charset=utf-8", "<h1>hello</h1>")
///     .get("/healthz", |_req| async { Response::text(StatusCode::OK, "ok") })
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
    /// before routing, before a body is read and before any upgrade:
    /// returning a response refuses the request with it (authentication,
    /// tokens, rate limits). Guards run in the order added.
    ///
    /// ```
    /// use switchyard_http::{Response, Router, StatusCode};
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
    /// (see [`resolve_file_path`](crate::resolve_file_path)). Files
    /// are read on the runtime's pool for blocking work, each at most
    /// [`MAX_FILE`](crate::MAX_FILE) bytes. Fails if `dir` is not
    /// there.
    ///
    /// ```
    /// use switchyard_http::Router;
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
                crate::files::serve_file(&root, path, request.peer).await
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

    /// Hands requests to `path` that ask for `upgrade`'s protocol to it
    /// (after the guards): the `101` it answers, then its session on the
    /// connection. switchyard-ws's `websocket` is such a protocol; here is
    /// one of a single line, each line sent back:
    ///
    /// ```
    /// # switchyard_http::rt::block_on(async {
    /// use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Cursor};
    /// use futures::StreamExt;
    /// use switchyard_http::header::{CONNECTION, UPGRADE};
    /// use switchyard_http::{HeaderValue, HttpServer, HttpServerConfig};
    /// use switchyard_http::{Request, Response, Router, StatusCode, Switch, Upgrade, Upgraded};
    ///
    /// struct LineEcho;
    ///
    /// impl Upgrade for LineEcho {
    ///     fn protocol(&self) -> &'static str {
    ///         "line-echo"
    ///     }
    ///
    ///     fn accept(&self, request: Request) -> Result<Switch, Response> {
    ///         if !request.head.has_token("upgrade", "line-echo") {
    ///             return Err(Response::text(StatusCode::BAD_REQUEST, "ask for line-echo"));
    ///         }
    ///         let switching = Response::new(StatusCode::SWITCHING_PROTOCOLS)
    ///             .typed_header(CONNECTION, HeaderValue::from_static("upgrade"))
    ///             .typed_header(UPGRADE, HeaderValue::from_static("line-echo"));
    ///         Ok(Switch::new(switching, |upgraded: Upgraded| async move {
    ///             let (reader, mut writer) = upgraded.io.split();
    ///             // What came with the request head first, then the rest: at
    ///             // most 64 KiB in all, as everything a peer sends is bounded.
    ///             let reader = Cursor::new(upgraded.rest).chain(reader).take(64 << 10);
    ///             let mut lines = BufReader::new(reader).lines();
    ///             while let Some(Ok(line)) = lines.next().await {
    ///                 if writer.write_all(format!("{line}\n").as_bytes()).await.is_err() {
    ///                     break;
    ///                 }
    ///             }
    ///         }))
    ///     }
    /// }
    ///
    /// let router = Router::new().upgrade("/echo", LineEcho);
    /// let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router).await?;
    /// let addr = server.local_addr()?;
    /// switchyard_http::rt::spawn(server.serve());
    ///
    /// let mut client = switchyard_http::rt::net::TcpStream::connect(addr).await?;
    /// client
    ///     .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: line-echo\r\n\r\nhi\n")
    ///     .await?;
    /// let mut answer = vec![0; 512];
    /// let mut have = 0;
    /// while !answer[..have].ends_with(b"\r\n\r\nhi\n") {
    ///     let n = client.read(&mut answer[have..]).await?;
    ///     assert!(n > 0, "closed early");
    ///     have += n;
    /// }
    /// assert!(answer.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn upgrade(self, path: &str, upgrade: impl Upgrade) -> Self {
        self.route(path, false, Endpoint::Upgrade(Arc::new(upgrade)))
    }

    /// [`upgrade`](Self::upgrade) at every path under `prefix` (which ends
    /// in `/`) that no other route takes, as websockify does for its
    /// WebSockets (noVNC asks for `/websockify`, other clients for whatever
    /// they were given).
    pub fn upgrade_prefix(self, prefix: &str, upgrade: impl Upgrade) -> Self {
        self.route(prefix, true, Endpoint::Upgrade(Arc::new(upgrade)))
    }

    /// The endpoint for a request with this `method` and `path`;
    /// `asks_for(token)` if its `Upgrade` header names that protocol.
    pub(crate) fn find(
        &self,
        method: &str,
        path: &str,
        asks_for: &dyn Fn(&str) -> bool,
    ) -> Routed<'_> {
        let method = if method == "HEAD" { "GET" } else { method };
        let exact: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| !r.prefix && r.path == path)
            .collect();
        if let Some(endpoint) = pick(&exact, method, asks_for) {
            return Routed::Endpoint(endpoint);
        }
        let exact_http = exact
            .iter()
            .any(|r| matches!(r.endpoint, Endpoint::Http { .. }));
        // Below an exact upgrade path (or none), a prefix may answer: a
        // page for a browser's GET of a WebSocket path.
        let mut prefixes: Vec<&Route> = Vec::new();
        if !exact_http {
            prefixes = self
                .routes
                .iter()
                .filter(|r| r.prefix && path.starts_with(&r.path))
                .collect();
            prefixes.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
            if let Some(endpoint) = pick(&prefixes, method, asks_for) {
                return Routed::Endpoint(endpoint);
            }
        }
        let candidates = if exact.is_empty() { prefixes } else { exact };
        // Every method reaches an upgrade route nothing else answers: its
        // check says what was wrong (a WebSocket's: 405 for a POST, 400
        // for a GET that is no upgrade).
        if let Some(upgrade) = candidates
            .iter()
            .find(|r| matches!(r.endpoint, Endpoint::Upgrade(_)))
        {
            return Routed::Endpoint(&upgrade.endpoint);
        }
        if candidates.is_empty() {
            return Routed::NotFound;
        }
        let allowed = candidates
            .iter()
            .filter_map(|r| match r.endpoint {
                Endpoint::Http { method, .. } => Some(method),
                Endpoint::Upgrade(_) => None,
            })
            .collect();
        Routed::WrongMethod(allowed)
    }
}

/// Among `routes` (in order of preference), the one for this request: an
/// upgrade to the protocol it asks for, else an HTTP endpoint of its method.
fn pick<'a>(
    routes: &[&'a Route],
    method: &str,
    asks_for: &dyn Fn(&str) -> bool,
) -> Option<&'a Endpoint> {
    let upgrade = routes
        .iter()
        .find(|r| matches!(&r.endpoint, Endpoint::Upgrade(u) if asks_for(u.protocol())));
    let http = || {
        routes
            .iter()
            .find(|r| matches!(r.endpoint, Endpoint::Http { method: m, .. } if m == method))
    };
    upgrade.or_else(http).map(|r| &r.endpoint)
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

    /// An upgrade to the protocol `token`, refusing every request.
    struct Refuses(&'static str);

    impl Upgrade for Refuses {
        fn protocol(&self) -> &'static str {
            self.0
        }

        fn accept(&self, _: Request) -> Result<crate::Switch, Response> {
            Err(Response::new(StatusCode::BAD_REQUEST))
        }
    }

    /// What `find` chose, in short: the upgrade's protocol, the HTTP
    /// method, 405 or 404; `upgrade` names the protocol asked for.
    fn chosen(router: &Router, method: &str, path: &str, upgrade: bool) -> String {
        let asks_for = |token: &str| upgrade && token == "websocket";
        match router.find(method, path, &asks_for) {
            Routed::Endpoint(Endpoint::Upgrade(u)) if u.protocol() == "websocket" => "ws".into(),
            Routed::Endpoint(Endpoint::Upgrade(u)) => u.protocol().into(),
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
            .upgrade("/", Refuses("websocket"))
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
            .upgrade_prefix("/", Refuses("websocket"))
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
            .upgrade("/ws", Refuses("websocket"));
        assert_eq!(chosen(&router, "POST", "/api/x", false), "POST");
        assert_eq!(chosen(&router, "GET", "/api/x", false), "GET");
        assert_eq!(chosen(&router, "GET", "/ws", true), "ws");
        // An upgrade to another protocol than the one asked for still
        // answers, when nothing else does (and says why it refuses).
        let chat = Router::new().upgrade("/chat", Refuses("chat"));
        assert_eq!(chosen(&chat, "GET", "/chat", true), "chat");
        assert_eq!(chosen(&router, "DELETE", "/x", false), "405 GET");
        assert_eq!(chosen(&Router::new(), "GET", "/x", false), "404");
    }
}
