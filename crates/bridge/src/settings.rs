//! The options the command line and the configuration file both take, as
//! they spell them (whole seconds with 0 for off, origins with `*` for any,
//! one value for both sides of a session), turned into a [`ListenerConfig`]
//! and its [`RouteConfig`]s in one place.

use std::path::PathBuf;
use std::time::Duration;

use switchyard_ws::deflate::DeflateConfig;
use switchyard_ws::{HeartbeatConfig, TcpKeepalive, WsServerConfig};

use crate::{Auth, Endpoint, ListenerConfig, ListenerOptions, RouteConfig, Scheme};
use crate::{SocketOptions, StreamFraming, TargetSpec, WebSocketOptions};

/// A listener's options; `None` (or empty) keeps the default.
#[derive(Debug, Default)]
pub(crate) struct ListenerSettings {
    pub tls: Option<(PathBuf, PathBuf)>,
    pub client_ca: Option<PathBuf>,
    pub web: Option<PathBuf>,
    /// Allowed page origins; `*` among them allows any. Empty: same origin.
    pub origins: Vec<String>,
    pub max_connections: Option<usize>,
    /// Both sides of every session.
    pub max_message: Option<usize>,
    pub auth: Option<Auth>,
    pub metrics: bool,
    /// permessage-deflate with clients that offer it.
    pub deflate: bool,
    /// Seconds; 0 turns heartbeats off. Both sides.
    pub heartbeat_interval: Option<u64>,
    /// Seconds.
    pub heartbeat_timeout: Option<u64>,
    /// Seconds; 0 turns keepalive off. Clients and TCP targets.
    pub tcp_keepalive: Option<u64>,
    pub proxy_protocol: bool,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub max_connections_per_ip: Option<usize>,
}

/// A trusted proxy as written: a network (`10.0.0.0/8`) or one address.
pub(crate) fn parse_proxy_net(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or network (10.0.0.0/8)"))
}

/// A route's options; `None` keeps the default.
#[derive(Debug, Default)]
pub(crate) struct RouteSettings {
    pub framing: Option<StreamFraming>,
    pub text: bool,
    /// Seconds.
    pub connect_timeout: Option<u64>,
    /// Seconds; 0 for never.
    pub idle_timeout: Option<u64>,
    /// Seconds; 0 for never.
    pub send_timeout: Option<u64>,
    pub target_ca: Option<PathBuf>,
    pub target_cert: Option<(PathBuf, PathBuf)>,
    /// Offer permessage-deflate to WebSocket targets.
    pub target_deflate: bool,
}

/// `secs`, with 0 meaning off.
fn seconds_or_off(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// An option set where it does not apply, or to a value it cannot take:
/// the key as the configuration file spells it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingError {
    pub key: &'static str,
    pub reason: String,
}

impl ListenerSettings {
    /// The listener at `listen`, with no routes yet: its scheme's options
    /// with these set. An option its scheme does not have is refused,
    /// naming it.
    pub(crate) fn listener(&self, listen: Endpoint) -> Result<ListenerConfig, SettingError> {
        if self.max_connections_per_ip == Some(0) {
            return Err(SettingError {
                key: "max_connections_per_ip",
                reason: "at least 1".into(),
            });
        }
        let scheme = listen.scheme;
        let options: ListenerOptions = if scheme.is_websocket() {
            self.websocket().into()
        } else {
            let websocket_only = [
                ("tls_cert", self.tls.is_some()),
                ("client_ca", self.client_ca.is_some()),
                ("web", self.web.is_some()),
                ("auth", self.auth.is_some()),
                ("metrics", self.metrics),
                ("deflate", self.deflate),
                ("origins", !self.origins.is_empty()),
                ("trusted_proxies", !self.trusted_proxies.is_empty()),
            ];
            if let Some((key, _)) = websocket_only.iter().find(|(_, set)| *set) {
                return Err(SettingError {
                    key,
                    reason: format!("for WebSocket listeners, not {}", scheme.as_str()),
                });
            }
            self.socket().into()
        };
        Ok(ListenerConfig::new(listen).options(options))
    }

    fn websocket(&self) -> WebSocketOptions {
        // From the listener's defaults (the bridge's session limit among
        // them), not the HTTP server's.
        let mut http = WebSocketOptions::default()
            .http
            .proxy_protocol(self.proxy_protocol)
            .trusted_proxies(self.trusted_proxies.clone())
            .max_connections_per_ip(self.max_connections_per_ip);
        if let Some(max) = self.max_connections {
            http = http.max_connections(max);
        }
        if let Some(secs) = self.tcp_keepalive {
            http = http.tcp_keepalive(seconds_or_off(secs).map(TcpKeepalive::after));
        }
        let mut websocket = WsServerConfig::default()
            .origins(crate::listener::origin_policy(&self.origins))
            .heartbeat(self.heartbeat())
            .deflate(self.deflate.then(DeflateConfig::default));
        if let Some(max) = self.max_message {
            websocket = websocket.max_message(max);
        }
        let mut options = WebSocketOptions::default()
            .http(http)
            .websocket(websocket)
            .client_ca(self.client_ca.clone())
            .web(self.web.clone())
            .auth(self.auth.clone())
            .metrics(self.metrics);
        if let Some((cert, key)) = &self.tls {
            options = options.tls(cert.clone(), key.clone());
        }
        options
    }

    fn socket(&self) -> SocketOptions {
        let mut options = SocketOptions::default()
            .heartbeat(self.heartbeat())
            .proxy_protocol(self.proxy_protocol)
            .max_connections_per_ip(self.max_connections_per_ip);
        if let Some(max) = self.max_connections {
            options = options.max_connections(max);
        }
        if let Some(max) = self.max_message {
            options = options.max_message(max);
        }
        if let Some(secs) = self.tcp_keepalive {
            options = options.tcp_keepalive(seconds_or_off(secs).map(TcpKeepalive::after));
        }
        options
    }

    fn heartbeat(&self) -> Option<HeartbeatConfig> {
        let default = HeartbeatConfig::default();
        match (self.heartbeat_interval, self.heartbeat_timeout) {
            (Some(0), _) => None,
            (interval, timeout) => Some(HeartbeatConfig::new(
                interval.map_or(default.interval, Duration::from_secs),
                timeout.map_or(default.timeout, Duration::from_secs),
            )),
        }
    }
}

impl RouteSettings {
    /// The route at `path` of a `listen` listener to `target`. Its framing
    /// is lines by default when a side is `stdio`, as a terminal expects:
    /// each line typed is a message, each message received is printed on a
    /// line of its own. Compression offered to a target that is not a
    /// WebSocket is refused.
    pub(crate) fn route(
        self,
        listen: Scheme,
        path: String,
        target: TargetSpec,
    ) -> Result<RouteConfig, SettingError> {
        let route = RouteConfig::new(path, target);
        let mut dial = route.dial.clone().text(self.text);
        let stdio = listen == Scheme::Stdio || route.can_reach(Scheme::Stdio);
        match self.framing {
            Some(framing) => dial = dial.framing(framing),
            None if stdio => dial = dial.framing(StreamFraming::Lines),
            None => {}
        }
        if let Some(secs) = self.connect_timeout {
            dial = dial.connect_timeout(Duration::from_secs(secs));
        }
        if self.target_deflate {
            // A token file may name a WebSocket target later.
            let websocket = matches!(route.target, TargetSpec::TokenFile(_))
                || route.can_reach(Scheme::Ws)
                || route.can_reach(Scheme::Wss);
            if !websocket {
                return Err(SettingError {
                    key: "target_deflate",
                    reason: "the target is not a WebSocket (ws:// or wss://)".into(),
                });
            }
            dial = dial.deflate(Some(DeflateConfig::default()));
        }
        let mut route = route
            .dial(dial)
            .target_ca(self.target_ca)
            .target_cert(self.target_cert);
        if let Some(secs) = self.idle_timeout {
            route = route.idle_timeout(seconds_or_off(secs));
        }
        if let Some(secs) = self.send_timeout {
            route = route.send_timeout(seconds_or_off(secs));
        }
        Ok(route)
    }
}
