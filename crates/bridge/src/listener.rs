//! [`ListenerConfig`]: one listening socket, its routes, and the options of
//! its scheme. A WebSocket listener's options are the HTTP server's and the
//! WebSocket's own configs, embedded: each option is declared, defaulted,
//! checked and documented there, once.

use std::path::PathBuf;
use std::time::Duration;

use switchyard_ws::http::HttpServerConfig;
use switchyard_ws::{HeartbeatConfig, OriginPolicy, TcpKeepalive, WsServerConfig};

use crate::{Auth, Endpoint, RouteConfig, Scheme};

/// One listening socket and its routes, with the limits it holds clients to.
///
/// ```
/// use switchyard_bridge::{ListenerConfig, RouteConfig, TargetSpec, WebSocketOptions};
/// use switchyard_bridge::ws::http::HttpServerConfig;
///
/// let target = TargetSpec::Fixed("tcp://127.0.0.1:5900".parse()?);
/// let listener = ListenerConfig::new("ws://0.0.0.0:8080".parse()?)
///     .route(RouteConfig::new("/vnc", target))
///     .options(WebSocketOptions::default().metrics(true));
/// // The scheme's defaults, but what was set.
/// let ws = listener.options.websocket().unwrap();
/// assert!(ws.metrics);
/// assert_eq!(ws.http.max_connections, WebSocketOptions::MAX_SESSIONS);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// Where to listen. For `ws://` and `wss://` the path is ignored: each
    /// route has its own.
    pub listen: Endpoint,
    /// The routes: one for a TCP, UDP, Unix or stdio listener; one per
    /// path on a WebSocket listener.
    pub routes: Vec<RouteConfig>,
    /// The options of its scheme; by default that scheme's defaults. A
    /// running bridge applies new routes, but a change here needs a restart
    /// ([`Reloader`](crate::Reloader)).
    pub options: ListenerOptions,
}

impl ListenerConfig {
    /// A listener at `listen` with its scheme's default options and no
    /// routes yet.
    pub fn new(listen: Endpoint) -> Self {
        let options = if listen.scheme.is_websocket() {
            ListenerOptions::WebSocket(Box::default())
        } else {
            ListenerOptions::Socket(SocketOptions::default())
        };
        Self {
            listen,
            routes: Vec::new(),
            options,
        }
    }

    /// Adds a route.
    pub fn route(mut self, route: RouteConfig) -> Self {
        self.routes.push(route);
        self
    }

    /// Sets [`options`](Self::options): [`WebSocketOptions`] for a `ws://`
    /// or `wss://` listener, [`SocketOptions`] for the others.
    pub fn options(mut self, options: impl Into<ListenerOptions>) -> Self {
        self.options = options.into();
        self
    }

    /// Changes a WebSocket listener's options with `change` (from the
    /// defaults, on a listener of another scheme, which then does not
    /// validate).
    ///
    /// ```
    /// use switchyard_bridge::ListenerConfig;
    ///
    /// let listener = ListenerConfig::new("ws://0.0.0.0:8080".parse()?)
    ///     .websocket_options(|ws| ws.metrics(true));
    /// assert!(listener.options.websocket().is_some_and(|ws| ws.metrics));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn websocket_options(
        self,
        change: impl FnOnce(WebSocketOptions) -> WebSocketOptions,
    ) -> Self {
        let current = self.options.websocket().cloned().unwrap_or_default();
        self.options(change(current))
    }

    /// Changes a TCP, UDP, Unix or stdio listener's options with `change`
    /// (from the defaults, on a WebSocket listener, which then does not
    /// validate).
    pub fn socket_options(self, change: impl FnOnce(SocketOptions) -> SocketOptions) -> Self {
        let current = self.options.socket().cloned().unwrap_or_default();
        self.options(change(current))
    }
}

/// A listener's options, by scheme.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ListenerOptions {
    /// `ws://` and `wss://`.
    WebSocket(Box<WebSocketOptions>),
    /// `tcp://`, `udp://`, `unix://` and `stdio`.
    Socket(SocketOptions),
}

impl ListenerOptions {
    /// A WebSocket listener's options.
    pub fn websocket(&self) -> Option<&WebSocketOptions> {
        match self {
            ListenerOptions::WebSocket(options) => Some(options),
            ListenerOptions::Socket(_) => None,
        }
    }

    /// A TCP, UDP, Unix or stdio listener's options.
    pub fn socket(&self) -> Option<&SocketOptions> {
        match self {
            ListenerOptions::Socket(options) => Some(options),
            ListenerOptions::WebSocket(_) => None,
        }
    }

    /// What both sides of each session are held to: the client's side by
    /// the listener, the target's by its dial options.
    pub(crate) fn session_limits(&self) -> SessionLimits {
        match self {
            ListenerOptions::WebSocket(options) => SessionLimits {
                max_message: options.websocket.max_message,
                heartbeat: options.websocket.heartbeat,
                tcp_keepalive: options.http.tcp_keepalive.map(|k| k.idle),
            },
            ListenerOptions::Socket(options) => SessionLimits {
                max_message: options.max_message,
                heartbeat: options.heartbeat,
                tcp_keepalive: options.tcp_keepalive.map(|k| k.idle),
            },
        }
    }

    /// Sessions open at once.
    pub(crate) fn max_sessions(&self) -> usize {
        match self {
            ListenerOptions::WebSocket(options) => options.http.max_connections,
            ListenerOptions::Socket(options) => options.max_connections,
        }
    }

    /// One session at a time (a listener whose target is the terminal).
    pub(crate) fn one_session_at_a_time(&mut self) {
        match self {
            ListenerOptions::WebSocket(options) => {
                options.http.max_connections = 1;
            }
            ListenerOptions::Socket(options) => options.max_connections = 1,
        }
    }

    /// The name of the first option that differs between `self` and
    /// `other`, or `None` if none does: the field of these options (or of
    /// the HTTP server's or the WebSocket's config they embed) that holds
    /// the first difference of their `Debug` forms.
    pub(crate) fn first_difference(&self, other: &ListenerOptions) -> Option<String> {
        if self == other {
            return None;
        }
        if std::mem::discriminant(self) != std::mem::discriminant(other) {
            return Some("the kind of listener".into());
        }
        // `Auth` keeps its secrets out of `Debug`: a new token shows only
        // to `==`.
        let auth = |o: &ListenerOptions| o.websocket().map(|ws| ws.auth.clone());
        if auth(self) != auth(other) {
            return Some("auth".into());
        }
        let (a, b) = (format!("{self:#?}"), format!("{other:#?}"));
        let lines: Vec<&str> = a.lines().collect();
        let first = lines.iter().zip(b.lines()).position(|(a, b)| *a != b)?;
        Some(enclosing_option(&lines[..=first]).unwrap_or_else(|| "an option".into()))
    }
}

/// In a pretty `Debug` form cut after its first differing line, the option
/// that line belongs to: the outermost field among the lines that enclose
/// it, below the embedded configs (`http`, `websocket`), so a heartbeat's
/// `interval` is `heartbeat` and an origin in a list is `origins`.
fn enclosing_option(lines: &[&str]) -> Option<String> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let field = |line: &str| {
        let text = line.trim_start();
        let name = text.split(':').next()?;
        let is_name = !name.is_empty()
            && text.len() > name.len()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        is_name.then(|| name.to_string())
    };
    // The last line, then each line above it that is less indented: the
    // fields enclosing it, innermost first.
    let mut chain = Vec::new();
    let mut level = usize::MAX;
    for line in lines.iter().rev() {
        if indent(line) < level {
            level = indent(line);
            if let Some(name) = field(line) {
                chain.push(name);
            }
        }
    }
    chain
        .into_iter()
        .rev()
        .find(|name| name != "http" && name != "websocket")
}

impl From<WebSocketOptions> for ListenerOptions {
    fn from(options: WebSocketOptions) -> Self {
        ListenerOptions::WebSocket(Box::new(options))
    }
}

impl From<SocketOptions> for ListenerOptions {
    fn from(options: SocketOptions) -> Self {
        ListenerOptions::Socket(options)
    }
}

/// What both sides of a session are held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionLimits {
    /// Largest message either way.
    pub max_message: usize,
    /// Pings on WebSocket sides.
    pub heartbeat: Option<HeartbeatConfig>,
    /// Quiet time before TCP keepalive probes on TCP sides.
    pub tcp_keepalive: Option<Duration>,
}

/// A `ws://` or `wss://` listener's options: the HTTP server's config and
/// the WebSocket's (each option's default and meaning are there), and the
/// bridge's own.
///
/// Both sides of a session are held to the WebSocket's `max_message` and
/// `heartbeat`, and a TCP target gets the HTTP server's `tcp_keepalive`. The
/// bridge sets three things itself: the HTTP server's `tls` (from
/// [`tls`](Self::tls), read again on a reload) and `shutdown_grace` (the
/// bridge's), and the WebSocket's `protocols` (`binary`, which noVNC and
/// websockify's clients offer).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebSocketOptions {
    /// The HTTP server's limits: switchyard-http's defaults, but
    /// `max_connections` [`MAX_SESSIONS`](Self::MAX_SESSIONS) (each session
    /// holds a target connection too). 503 past `max_connections` or
    /// `max_connections_per_ip`.
    pub http: HttpServerConfig,
    /// The WebSocket's: origins (default same origin only), `max_message`
    /// (default 1 MiB) and `heartbeat` (default 30 s + 30 s), which hold
    /// for the target's side too.
    pub websocket: WsServerConfig,
    /// PEM certificate chain and private key, for `wss://`. Read when the
    /// bridge binds, and again on each reload (renewed certificates).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// CA certificates (PEM) that a `wss://` listener's clients must have
    /// a certificate from: a client without one is refused during the TLS
    /// handshake. Default none (no client certificates asked for).
    pub client_ca: Option<PathBuf>,
    /// Static files served at every path no route takes. Default none.
    pub web: Option<PathBuf>,
    /// Authentication required on every request but `/healthz`. Default
    /// none.
    pub auth: Option<Auth>,
    /// `GET /healthz` and `GET /metrics` (Prometheus). Default off.
    pub metrics: bool,
}

impl WebSocketOptions {
    /// The default sessions open at once on a listener: 1024.
    pub const MAX_SESSIONS: usize = 1024;

    /// Sets [`http`](Self::http), all of it: start from this one's
    /// (`options.http.clone().max_body(..)`) to keep the bridge's
    /// `max_connections` rather than the HTTP server's default. Its `tls`
    /// must be none (the certificate files are [`tls`](Self::tls)'s), and
    /// its `shutdown_grace` is the bridge's.
    pub fn http(mut self, http: HttpServerConfig) -> Self {
        self.http = http;
        self
    }

    /// Sets [`websocket`](Self::websocket); its `protocols` are the
    /// bridge's (`binary`).
    pub fn websocket(mut self, websocket: WsServerConfig) -> Self {
        self.websocket = websocket;
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, cert: PathBuf, key: PathBuf) -> Self {
        self.tls = Some((cert, key));
        self
    }

    /// Sets [`client_ca`](Self::client_ca).
    pub fn client_ca(mut self, ca: Option<PathBuf>) -> Self {
        self.client_ca = ca;
        self
    }

    /// Sets [`web`](Self::web).
    pub fn web(mut self, dir: Option<PathBuf>) -> Self {
        self.web = dir;
        self
    }

    /// Sets [`auth`](Self::auth).
    pub fn auth(mut self, auth: Option<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// Sets [`metrics`](Self::metrics).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }
}

impl Default for WebSocketOptions {
    fn default() -> Self {
        Self {
            http: HttpServerConfig::default().max_connections(Self::MAX_SESSIONS),
            websocket: WsServerConfig::default(),
            tls: None,
            client_ca: None,
            web: None,
            auth: None,
            metrics: false,
        }
    }
}

/// A `tcp://`, `udp://`, `unix://` or `stdio` listener's options.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SocketOptions {
    /// Sessions open at once (TCP or Unix connections, UDP peers). Default
    /// [`WebSocketOptions::MAX_SESSIONS`]; past it a TCP or Unix client
    /// waits to be accepted, and datagrams from a new UDP peer are dropped.
    pub max_connections: usize,
    /// Largest message either way, on both sides of a session. Default
    /// 1 MiB (UDP: at most 65,507).
    pub max_message: usize,
    /// Pings on a WebSocket target when quiet, and a dead one dropped.
    /// Default 30 s + 30 s.
    pub heartbeat: Option<HeartbeatConfig>,
    /// TCP keepalive on the listener's TCP connections and the TCP targets
    /// its routes dial, so a peer whose host or network is gone is found.
    /// Default on (60 s, then 10 s x 6); `None` turns it off.
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// TCP listeners: every connection begins with a PROXY protocol header
    /// (version 1 or 2) from the load balancer in front, whose source
    /// address is then the client's (for the log and
    /// `max_connections_per_ip`); a connection without a valid one is
    /// closed. Default off: only for a listener that nothing but the proxy
    /// can reach, or anyone could claim any address.
    pub proxy_protocol: bool,
    /// TCP listeners: sessions open at once from one client address; past
    /// it a connection is closed. Default none: only `max_connections`.
    pub max_connections_per_ip: Option<usize>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            max_connections: WebSocketOptions::MAX_SESSIONS,
            max_message: WsServerConfig::default().max_message,
            heartbeat: Some(HeartbeatConfig::default()),
            tcp_keepalive: Some(TcpKeepalive::default()),
            proxy_protocol: false,
            max_connections_per_ip: None,
        }
    }
}

impl SocketOptions {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat); `None` turns it off.
    pub fn heartbeat(mut self, heartbeat: Option<HeartbeatConfig>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets [`tcp_keepalive`](Self::tcp_keepalive); `None` turns it off.
    pub fn tcp_keepalive(mut self, keepalive: Option<TcpKeepalive>) -> Self {
        self.tcp_keepalive = keepalive;
        self
    }

    /// Sets [`proxy_protocol`](Self::proxy_protocol).
    pub fn proxy_protocol(mut self, on: bool) -> Self {
        self.proxy_protocol = on;
        self
    }

    /// Sets [`max_connections_per_ip`](Self::max_connections_per_ip) (at
    /// least 1 when set).
    pub fn max_connections_per_ip(mut self, max: Option<usize>) -> Self {
        self.max_connections_per_ip = max.map(|m| m.max(1));
        self
    }
}

impl ListenerConfig {
    /// What is wrong with this listener, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.routes.is_empty() {
            return Err("no routes".into());
        }
        let scheme = self.listen.scheme;
        for route in &self.routes {
            route.check(scheme)?;
        }
        match &self.options {
            ListenerOptions::WebSocket(options) if scheme.is_websocket() => {
                self.check_paths(options)?;
                check_tls(scheme, options)
            }
            ListenerOptions::Socket(options) if !scheme.is_websocket() => {
                self.check_one_route_listener(options)
            }
            ListenerOptions::WebSocket(_) => Err(format!(
                "WebSocket options on a {} listener",
                scheme.as_str()
            )),
            ListenerOptions::Socket(_) => Err("a WebSocket listener takes WebSocketOptions".into()),
        }
    }

    /// A WebSocket listener's routes: each at its own path, starting with
    /// `/`, none at a metrics page's.
    fn check_paths(&self, options: &WebSocketOptions) -> Result<(), String> {
        let mut paths: Vec<&str> = self.routes.iter().map(|r| r.path.as_str()).collect();
        paths.sort_unstable();
        if let Some(pair) = paths.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!("two routes at {}", pair[0]));
        }
        if let Some(route) = self.routes.iter().find(|r| !r.path.starts_with('/')) {
            return Err(format!("route path {:?} must start with /", route.path));
        }
        let reserved = ["/healthz", "/metrics"];
        if let Some(route) = self
            .routes
            .iter()
            .find(|r| options.metrics && reserved.contains(&r.path.as_str()))
        {
            return Err(format!("{} is taken by metrics", route.path));
        }
        Ok(())
    }

    /// A TCP, UDP, Unix or stdio listener: one route with a fixed target;
    /// the PROXY protocol and a per-address limit on TCP only.
    fn check_one_route_listener(&self, options: &SocketOptions) -> Result<(), String> {
        let scheme = self.listen.scheme.as_str();
        if self.routes.len() != 1 {
            let routes = self.routes.len();
            return Err(format!(
                "a {scheme} listener has exactly one route (it has {routes})"
            ));
        }
        if self.routes[0].target.tokens().is_some() {
            return Err("token files need a WebSocket listener (?token=NAME)".into());
        }
        let tcp_only = [
            ("proxy_protocol", options.proxy_protocol),
            (
                "max_connections_per_ip",
                options.max_connections_per_ip.is_some(),
            ),
        ];
        let not_tcp = self.listen.scheme != Scheme::Tcp;
        if let Some((name, _)) = tcp_only.iter().find(|(_, set)| *set && not_tcp) {
            return Err(format!(
                "{name} is for WebSocket and TCP listeners, not {scheme}"
            ));
        }
        Ok(())
    }
}

/// `wss://` with certificate files, `ws://` without; client certificates
/// on `wss://` only; the TLS setup from the files alone.
fn check_tls(scheme: Scheme, options: &WebSocketOptions) -> Result<(), String> {
    if options.http.tls.is_some() {
        return Err(
            "give the certificate files (tls), which a reload reads again, not a TLS setup".into(),
        );
    }
    if options.client_ca.is_some() && scheme != Scheme::Wss {
        return Err("client_ca (client certificates) needs a wss:// listener".into());
    }
    match (scheme, &options.tls) {
        (Scheme::Wss, None) => Err("wss:// needs a TLS certificate and key".into()),
        (Scheme::Ws, Some(_)) => Err("a TLS certificate was given: listen on wss://".into()),
        _ => Ok(()),
    }
}

/// Which pages may open WebSockets, as the command line and the
/// configuration file spell it: `*` among them allows any; none, the same
/// origin only.
pub(crate) fn origin_policy(origins: &[String]) -> OriginPolicy {
    if origins.iter().any(|o| o == "*") {
        OriginPolicy::AllowAny
    } else if origins.is_empty() {
        OriginPolicy::SameHost
    } else {
        OriginPolicy::allow(origins.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reload says which option needs the restart, whichever config
    /// (the HTTP server's, the WebSocket's, the bridge's) holds it.
    #[test]
    fn the_first_difference_names_the_option_that_changed() {
        let ws = WebSocketOptions::default();
        let same = ListenerOptions::from(ws.clone());
        assert_eq!(same.first_difference(&same.clone()), None);
        let changed = |other: WebSocketOptions| same.first_difference(&other.into());
        let http = ws.http.clone().max_connections_per_ip(Some(3));
        assert_eq!(
            changed(ws.clone().http(http)).as_deref(),
            Some("max_connections_per_ip")
        );
        let websocket = ws.websocket.clone().origins(OriginPolicy::AllowAny);
        assert_eq!(
            changed(ws.clone().websocket(websocket)).as_deref(),
            Some("origins")
        );
        assert_eq!(
            changed(ws.clone().metrics(true)).as_deref(),
            Some("metrics")
        );
        // Inside a value: the option holding it.
        let per_ip = |n| {
            let http = ws.http.clone().max_connections_per_ip(Some(n));
            ListenerOptions::from(ws.clone().http(http))
        };
        assert_eq!(
            per_ip(4).first_difference(&per_ip(3)).as_deref(),
            Some("max_connections_per_ip")
        );
        let allow = |o: &str| {
            let websocket = ws.websocket.clone().origins(OriginPolicy::allow([o]));
            ListenerOptions::from(ws.clone().websocket(websocket))
        };
        let (a, b) = (allow("https://a.example"), allow("https://b.example"));
        assert_eq!(a.first_difference(&b).as_deref(), Some("origins"));
        let beat = HeartbeatConfig::new(Duration::from_secs(5), Duration::from_secs(5));
        let websocket = ws.websocket.clone().heartbeat(Some(beat));
        assert_eq!(
            changed(ws.clone().websocket(websocket)).as_deref(),
            Some("heartbeat")
        );
        let keepalive = TcpKeepalive::after(Duration::from_secs(9));
        let http = ws.http.clone().tcp_keepalive(Some(keepalive));
        assert_eq!(
            changed(ws.clone().http(http)).as_deref(),
            Some("tcp_keepalive")
        );
        let web = |dir: &str| ListenerOptions::from(ws.clone().web(Some(dir.into())));
        assert_eq!(web("a").first_difference(&web("b")).as_deref(), Some("web"));
        let tls = |key: &str| ListenerOptions::from(ws.clone().tls("c.pem".into(), key.into()));
        assert_eq!(
            tls("a.pem").first_difference(&tls("b.pem")).as_deref(),
            Some("tls")
        );
        // A secret that `Debug` does not show.
        let auth =
            |token: &str| ListenerOptions::from(ws.clone().auth(Some(Auth::Bearer(token.into()))));
        assert_eq!(
            auth("one").first_difference(&auth("two")).as_deref(),
            Some("auth")
        );
        let socket = |secs: u64| {
            let beat = HeartbeatConfig::new(Duration::from_secs(secs), Duration::from_secs(secs));
            ListenerOptions::from(SocketOptions::default().heartbeat(Some(beat)))
        };
        assert_eq!(
            socket(1).first_difference(&socket(2)).as_deref(),
            Some("heartbeat")
        );
        let socket = ListenerOptions::from(SocketOptions::default());
        assert_eq!(
            same.first_difference(&socket).as_deref(),
            Some("the kind of listener")
        );
    }

    /// Options of the wrong kind for the scheme, and the TCP-only ones on
    /// another socket, are refused before anything binds.
    #[test]
    fn options_must_suit_the_scheme() {
        let route = RouteConfig::new(
            "/",
            crate::TargetSpec::Fixed("tcp://127.0.0.1:9".parse().unwrap()),
        );
        let listener = |url: &str| ListenerConfig::new(url.parse().unwrap()).route(route.clone());
        assert_eq!(listener("ws://h:1").check(), Ok(()));
        assert_eq!(listener("udp://h:1").check(), Ok(()));
        let wrong = listener("tcp://h:1").options(WebSocketOptions::default());
        assert_eq!(
            wrong.check(),
            Err("WebSocket options on a tcp listener".into())
        );
        let proxied = listener("udp://h:1").socket_options(|s| s.proxy_protocol(true));
        assert_eq!(
            proxied.check(),
            Err("proxy_protocol is for WebSocket and TCP listeners, not udp".into())
        );
        let tcp = listener("tcp://h:1").socket_options(|s| s.proxy_protocol(true));
        assert_eq!(tcp.check(), Ok(()));
    }
}
