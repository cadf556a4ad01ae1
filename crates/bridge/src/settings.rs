//! The options the command line and the configuration file both take, as
//! they spell them (whole seconds with 0 for off, origins with `*` for any,
//! one value for both sides of a session), turned into a [`ListenerConfig`]
//! and its [`RouteConfig`]s in one place.

use std::path::PathBuf;
use std::time::Duration;

use switchyard_ws::{HeartbeatConfig, OriginPolicy};

use crate::{Auth, Endpoint, ListenerConfig, RouteConfig, Scheme, StreamFraming, TargetSpec};

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
}

/// `secs`, with 0 meaning off.
fn seconds_or_off(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl ListenerSettings {
    /// The listener at `listen`, with no routes yet.
    pub(crate) fn listener(&self, listen: Endpoint) -> ListenerConfig {
        let mut config = ListenerConfig::new(listen)
            .web(self.web.clone())
            .client_ca(self.client_ca.clone())
            .auth(self.auth.clone())
            .metrics(self.metrics)
            .proxy_protocol(self.proxy_protocol)
            .trusted_proxies(self.trusted_proxies.clone())
            .max_connections_per_ip(self.max_connections_per_ip);
        if let Some((cert, key)) = &self.tls {
            config = config.tls(cert.clone(), key.clone());
        }
        if self.origins.iter().any(|o| o == "*") {
            config = config.origins(OriginPolicy::AllowAny);
        } else if !self.origins.is_empty() {
            config = config.origins(OriginPolicy::allow(self.origins.clone()));
        }
        if let Some(max) = self.max_connections {
            config = config.max_connections(max);
        }
        if let Some(max) = self.max_message {
            config = config.max_message(max);
        }
        if let Some(secs) = self.tcp_keepalive {
            config = config.tcp_keepalive(seconds_or_off(secs));
        }
        config.heartbeat(self.heartbeat())
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
    /// line of its own.
    pub(crate) fn route(self, listen: Scheme, path: String, target: TargetSpec) -> RouteConfig {
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
        route
    }
}
