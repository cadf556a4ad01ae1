//! What a bridge runs: listeners, each with its routes to targets.
//!
//! Built from the command line (one listener, one route) or from a
//! configuration file ([`BridgeConfig::from_toml`]); checked by
//! [`BridgeConfig::validate`] before anything binds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchyard_ws::{HeartbeatConfig, OriginPolicy};

use crate::{Auth, DialOptions, Endpoint, Scheme, StreamFraming, TokenFile, TokenMap};

/// Where a route's sessions go.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TargetSpec {
    /// Always this endpoint.
    Fixed(Endpoint),
    /// The endpoint a `?token=NAME` query names in these tokens; a missing
    /// or unknown token is refused (403) before the upgrade.
    Tokens(Arc<TokenMap>),
    /// As [`Tokens`](Self::Tokens), from a token file read again whenever
    /// it changes (what `--tokens` and a config file's `tokens` give).
    TokenFile(Arc<TokenFile>),
}

impl TargetSpec {
    /// The tokens a `?token=` chooses from now; `None` for a fixed target.
    pub fn tokens(&self) -> Option<Arc<TokenMap>> {
        match self {
            TargetSpec::Fixed(_) => None,
            TargetSpec::Tokens(tokens) => Some(tokens.clone()),
            TargetSpec::TokenFile(file) => Some(file.current()),
        }
    }
}

/// One route: a path on a WebSocket listener (or the whole of a TCP or UDP
/// listener) and the target its sessions are relayed to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteConfig {
    /// The WebSocket path (`/` when the listen URL has none); `/` for TCP
    /// and UDP listeners, which have no paths.
    pub path: String,
    /// The target: fixed, or chosen by a token.
    pub target: TargetSpec,
    /// How the target is reached: its framing, text, connect time-out and
    /// TLS (`DialOptions`' defaults). Its `framing` and `text` hold for the
    /// client's side too: a TCP client is cut by the same framing, a
    /// WebSocket client is sent text when the target is. Its
    /// `max_message`, `heartbeat` and `tcp_keepalive` are not used: the
    /// listener's limits hold for both sides of a session.
    pub dial: DialOptions,
    /// A session with nothing moving either way for this long ends (a
    /// WebSocket client is closed with 1000 "idle timeout"). Default 60 s
    /// when a side is UDP (UDP has no end of its own), none otherwise (TCP
    /// ends, and WebSocket sides have heartbeats).
    pub idle_timeout: Option<Duration>,
    /// A session ends when one side takes nothing for this long while a
    /// message waits for it (the client is told 1014 "target stalled").
    /// Default 60 s, nginx's `proxy_send_timeout`: it is what frees a
    /// session whose target stopped reading while its client went silent.
    /// `None`: wait for ever.
    pub send_timeout: Option<Duration>,
    /// Extra CA certificate (PEM) to trust for a `wss://` target, besides
    /// the system's roots, read when the bridge binds (unless
    /// [`dial`](Self::dial) has its own TLS). Default none.
    pub target_ca: Option<PathBuf>,
    /// A client certificate chain and its key (PEM) that the bridge
    /// presents to a `wss://` target that asks for one (mutual TLS), read
    /// when the bridge binds. Default none.
    pub target_cert: Option<(PathBuf, PathBuf)>,
}

impl RouteConfig {
    /// A route at `path` to `target` with the defaults.
    pub fn new(path: impl Into<String>, target: TargetSpec) -> Self {
        Self {
            path: path.into(),
            target,
            dial: DialOptions::default(),
            idle_timeout: None,
            send_timeout: Some(Duration::from_secs(60)),
            target_ca: None,
            target_cert: None,
        }
    }

    /// Sets [`dial`](Self::dial).
    pub fn dial(mut self, dial: DialOptions) -> Self {
        self.dial = dial;
        self
    }

    /// Sets the framing of TCP sides ([`DialOptions::framing`]).
    pub fn framing(mut self, framing: StreamFraming) -> Self {
        self.dial.framing = framing;
        self
    }

    /// Sends text on WebSocket sides ([`DialOptions::text`]).
    pub fn text(mut self, text: bool) -> Self {
        self.dial.text = text;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Sets [`send_timeout`](Self::send_timeout); `None` turns it off.
    pub fn send_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Sets [`target_ca`](Self::target_ca).
    pub fn target_ca(mut self, ca: Option<PathBuf>) -> Self {
        self.target_ca = ca;
        self
    }

    /// Sets [`target_cert`](Self::target_cert).
    pub fn target_cert(mut self, cert_and_key: Option<(PathBuf, PathBuf)>) -> Self {
        self.target_cert = cert_and_key;
        self
    }

    /// What is wrong with this route for clients that come in on a
    /// `client` listener, if anything.
    pub(crate) fn check(&self, client: Scheme) -> Result<(), String> {
        // Text WebSocket messages must each be whole UTF-8: raw TCP reads
        // can cut a character in two, and both halves would be refused.
        let streams = [Scheme::Tcp, Scheme::Unix, Scheme::Stdio];
        if self.dial.text
            && self.dial.framing == StreamFraming::Raw
            && streams.iter().any(|s| client == *s || self.can_reach(*s))
        {
            return Err(format!(
                "route {}: text messages need lines or length-prefixed framing of its stream side \
                 (a raw read can cut a UTF-8 character in two)",
                self.path
            ));
        }
        // A token file may name a stream target later.
        let stream_side = streams.iter().any(|s| client == *s || self.can_reach(*s))
            || matches!(self.target, TargetSpec::TokenFile(_));
        if self.dial.framing != StreamFraming::Raw && !stream_side {
            return Err(format!(
                "route {}: framing {} is for stream sides (tcp, unix, stdio), and this route \
                 has none: WebSocket and UDP carry whole messages",
                self.path,
                self.dial.framing.as_str()
            ));
        }
        if self.target_cert.is_some()
            && !self.can_reach(Scheme::Wss)
            && self.target.tokens().is_none()
        {
            return Err(format!(
                "route {}: target_cert is for wss:// targets",
                self.path
            ));
        }
        Ok(())
    }

    /// Whether any target this route can reach now has this scheme.
    pub(crate) fn can_reach(&self, scheme: Scheme) -> bool {
        match (&self.target, self.target.tokens()) {
            (TargetSpec::Fixed(endpoint), _) => endpoint.scheme == scheme,
            (_, tokens) => tokens.is_some_and(|t| t.iter().any(|(_, e)| e.scheme == scheme)),
        }
    }
}

/// One listening socket and its routes, with the limits it holds clients to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// Where to listen. For `ws://` and `wss://` the path is ignored: each
    /// route has its own.
    pub listen: Endpoint,
    /// The routes: one for a TCP or UDP listener; one per path on a
    /// WebSocket listener.
    pub routes: Vec<RouteConfig>,
    /// PEM certificate chain and private key, for `wss://` listeners.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// CA certificates (PEM) that a `wss://` listener's clients must have
    /// a certificate from: a client without one is refused during the TLS
    /// handshake. Default none (no client certificates asked for).
    pub client_ca: Option<PathBuf>,
    /// Static files served at every other path of a WebSocket listener.
    /// Default none.
    pub web: Option<PathBuf>,
    /// Which pages may open WebSockets. Default same origin only.
    pub origins: OriginPolicy,
    /// Sessions open at once (WebSocket connections, TCP connections or
    /// UDP peers). Default 1024; more are refused (503, a closed TCP
    /// connection, dropped datagrams).
    pub max_connections: usize,
    /// Largest message either way, on both sides of a session. Default
    /// 1 MiB (UDP: at most 65,507).
    pub max_message: usize,
    /// Authentication of WebSocket listeners. Default none.
    pub auth: Option<Auth>,
    /// Pings on WebSocket sides (clients and targets) when quiet, and dead
    /// peers dropped. Default 30 s + 30 s.
    pub heartbeat: Option<HeartbeatConfig>,
    /// `GET /healthz` and `GET /metrics` on a WebSocket listener. Default off.
    pub metrics: bool,
    /// TCP keepalive on the listener's connections and the TCP targets its
    /// routes dial: quiet time before the first probe (then one every 10 s,
    /// 6 of them), so a peer whose host or network is gone is found.
    /// Default 60 s; `None` turns it off.
    pub tcp_keepalive: Option<Duration>,
    /// Every connection begins with a PROXY protocol header (version 1 or
    /// 2) from the load balancer in front, and the client's address is
    /// taken from it: for the log, and for
    /// [`max_connections_per_ip`](Self::max_connections_per_ip). A
    /// connection without a valid header is closed. WebSocket and TCP
    /// listeners. Default off: only for a listener that nothing but the
    /// proxy can reach, or anyone could claim any address.
    pub proxy_protocol: bool,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` is
    /// believed on a WebSocket listener: the client is the rightmost
    /// address the header names that is not one of these. Default none
    /// (the header is ignored).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sessions open at once from one client address, on a WebSocket
    /// (503 past it) or TCP listener (closed). Default none: only
    /// [`max_connections`](Self::max_connections).
    pub max_connections_per_ip: Option<usize>,
}

impl ListenerConfig {
    /// A listener at `listen` with the defaults and no routes yet.
    pub fn new(listen: Endpoint) -> Self {
        Self {
            listen,
            routes: Vec::new(),
            tls: None,
            client_ca: None,
            web: None,
            origins: OriginPolicy::SameHost,
            max_connections: 1024,
            max_message: 1 << 20,
            auth: None,
            heartbeat: Some(HeartbeatConfig::default()),
            metrics: false,
            tcp_keepalive: Some(Duration::from_secs(60)),
            proxy_protocol: false,
            trusted_proxies: Vec::new(),
            max_connections_per_ip: None,
        }
    }

    /// Adds a route.
    pub fn route(mut self, route: RouteConfig) -> Self {
        self.routes.push(route);
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

    /// Sets [`origins`](Self::origins).
    pub fn origins(mut self, origins: OriginPolicy) -> Self {
        self.origins = origins;
        self
    }

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

    /// Sets [`auth`](Self::auth).
    pub fn auth(mut self, auth: Option<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// Sets [`tcp_keepalive`](Self::tcp_keepalive); `None` turns it off.
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat).
    pub fn heartbeat(mut self, heartbeat: Option<HeartbeatConfig>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets [`metrics`](Self::metrics).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Sets [`proxy_protocol`](Self::proxy_protocol).
    pub fn proxy_protocol(mut self, on: bool) -> Self {
        self.proxy_protocol = on;
        self
    }

    /// Sets [`trusted_proxies`](Self::trusted_proxies).
    pub fn trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Sets [`max_connections_per_ip`](Self::max_connections_per_ip) (at
    /// least 1 when set).
    pub fn max_connections_per_ip(mut self, max: Option<usize>) -> Self {
        self.max_connections_per_ip = max.map(|m| m.max(1));
        self
    }
}

/// Every listener a bridge runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// The listeners.
    pub listeners: Vec<ListenerConfig>,
    /// On shutdown (SIGINT, SIGTERM), how long sessions have to close
    /// before they are cut: a WebSocket client is sent 1001, and what it
    /// sends until its own close is still delivered. Default 5 s
    /// ([`DEFAULT_SHUTDOWN_GRACE`](Self::DEFAULT_SHUTDOWN_GRACE)).
    pub shutdown_grace: Duration,
}

/// A configuration that cannot run, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{listen}: {reason}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The listener's URL.
    pub listen: String,
    /// What is wrong.
    pub reason: String,
}

impl BridgeConfig {
    /// The default [`shutdown_grace`](Self::shutdown_grace): 5 s.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

    /// A bridge of these listeners, with the default grace period.
    pub fn new(listeners: Vec<ListenerConfig>) -> Self {
        Self {
            listeners,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
        }
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Checks what binding would otherwise find out late, or never: routes
    /// that cannot exist on their listener, WebSocket-only options on TCP
    /// or UDP listeners, `wss://` without a certificate, duplicate paths.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listeners.is_empty() {
            return Err(ConfigError {
                listen: "bridge".into(),
                reason: "no listeners".into(),
            });
        }
        self.listeners
            .iter()
            .try_for_each(ListenerConfig::validate)?;
        // The process has one standard input.
        let stdio_uses = self
            .listeners
            .iter()
            .map(|l| {
                usize::from(l.listen.scheme == Scheme::Stdio)
                    + l.routes
                        .iter()
                        .filter(|r| r.can_reach(Scheme::Stdio))
                        .count()
            })
            .sum::<usize>();
        if stdio_uses > 1 {
            return Err(ConfigError {
                listen: "bridge".into(),
                reason: format!("stdio is used {stdio_uses} times; the process has one"),
            });
        }
        Ok(())
    }
}

impl ListenerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(|reason| ConfigError {
            listen: self.listen.to_string(),
            reason,
        })
    }

    /// What is wrong with this listener, if anything.
    fn check(&self) -> Result<(), String> {
        if self.routes.is_empty() {
            return Err("no routes".into());
        }
        let scheme = self.listen.scheme;
        for route in &self.routes {
            route.check(scheme)?;
        }
        if scheme.is_websocket() {
            self.check_paths()?;
        } else {
            self.check_one_route_listener()?;
        }
        if self.client_ca.is_some() && scheme != Scheme::Wss {
            return Err("client_ca (client certificates) needs a wss:// listener".into());
        }
        match (scheme, &self.tls) {
            (Scheme::Wss, None) => Err("wss:// needs a TLS certificate and key".into()),
            (Scheme::Ws, Some(_)) => Err("a TLS certificate was given: listen on wss://".into()),
            _ => Ok(()),
        }
    }

    /// A WebSocket listener's routes: each at its own path, starting with
    /// `/`, none at a metrics page's.
    fn check_paths(&self) -> Result<(), String> {
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
            .find(|r| self.metrics && reserved.contains(&r.path.as_str()))
        {
            return Err(format!("{} is taken by metrics", route.path));
        }
        Ok(())
    }

    /// A TCP, UDP, Unix or stdio listener: one route with a fixed target,
    /// and none of the WebSocket listeners' options (the PROXY protocol and
    /// a per-address limit are TCP's too).
    fn check_one_route_listener(&self) -> Result<(), String> {
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
        let ws_only = [
            ("tls", self.tls.is_some()),
            ("web", self.web.is_some()),
            ("auth", self.auth.is_some()),
            ("metrics", self.metrics),
            ("origins", self.origins != OriginPolicy::SameHost),
            ("trusted_proxies", !self.trusted_proxies.is_empty()),
        ];
        if let Some((name, _)) = ws_only.iter().find(|(_, set)| *set) {
            return Err(format!("{name} is for WebSocket listeners, not {scheme}"));
        }
        let ws_or_tcp = [
            ("proxy_protocol", self.proxy_protocol),
            (
                "max_connections_per_ip",
                self.max_connections_per_ip.is_some(),
            ),
        ];
        let not_tcp = self.listen.scheme != Scheme::Tcp;
        if let Some((name, _)) = ws_or_tcp.iter().find(|(_, set)| *set && not_tcp) {
            return Err(format!(
                "{name} is for WebSocket and TCP listeners, not {scheme}"
            ));
        }
        Ok(())
    }
}
