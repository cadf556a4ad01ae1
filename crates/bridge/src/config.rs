//! What a bridge runs: listeners, each with its routes to targets.
//!
//! Built from the command line (one listener, one route) or from a
//! configuration file ([`BridgeConfig::from_toml`]); checked by
//! [`BridgeConfig::validate`] before anything binds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{DialOptions, Endpoint, ListenerConfig, Scheme, StreamFraming, TokenFile, TokenMap};

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
    /// listener's limits hold for both sides of a session. (A
    /// [`BridgeRoute`](crate::BridgeRoute), which has no listener of its
    /// own, keeps this `tcp_keepalive` for its targets.)
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
}
