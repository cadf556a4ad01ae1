//! The configuration file: several listeners and routes in TOML, with
//! errors that name the line and the key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::settings::{ListenerSettings, RouteSettings};
use crate::{
    Auth, BridgeConfig, Endpoint, ListenerConfig, RouteConfig, StreamFraming, TargetSpec, TokenFile,
};

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why. Its message is in this error's own, so it is not also
        /// given as the error's source (which would print it twice).
        error: std::io::Error,
    },
    /// The file is not valid TOML, or has a key of the wrong type or name.
    #[error("{file} line {line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// toml's message.
        message: String,
    },
    /// A value is well formed TOML but not a valid setting.
    #[error("{file} line {line}, key `{key}`: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    shutdown_grace: Option<u64>,
    #[serde(default)]
    listener: Vec<FileListener>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileListener {
    listen: Spanned<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    web: Option<PathBuf>,
    origins: Option<Vec<String>>,
    max_connections: Option<usize>,
    max_message: Option<usize>,
    auth: Option<Spanned<String>>,
    metrics: Option<bool>,
    deflate: Option<bool>,
    heartbeat_interval: Option<u64>,
    heartbeat_timeout: Option<u64>,
    tcp_keepalive: Option<u64>,
    proxy_protocol: Option<bool>,
    trusted_proxies: Option<Spanned<Vec<String>>>,
    max_connections_per_ip: Option<usize>,
    #[serde(default)]
    route: Vec<FileRoute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    path: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    tokens: Option<Spanned<PathBuf>>,
    framing: Option<Spanned<String>>,
    text: Option<bool>,
    connect_timeout: Option<u64>,
    idle_timeout: Option<u64>,
    send_timeout: Option<u64>,
    target_ca: Option<PathBuf>,
    target_cert: Option<Spanned<PathBuf>>,
    target_key: Option<Spanned<PathBuf>>,
    target_deflate: Option<Spanned<bool>>,
}

/// Converts positions in the text to line numbers.
struct Source<'a> {
    file: String,
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn invalid<T>(
        &self,
        at: &Spanned<T>,
        key: &'static str,
        reason: impl ToString,
    ) -> ConfigFileError {
        ConfigFileError::Invalid {
            file: self.file.clone(),
            line: self.line(at.span().start),
            key,
            reason: reason.to_string(),
        }
    }
}

impl BridgeConfig {
    /// Reads a configuration file; relative paths in it (certificates,
    /// token files, `web`) are taken from the file's directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigFileError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, &path.display().to_string(), base)
    }

    /// Parses the text of a configuration file named `file` (for messages),
    /// with relative paths taken from `base`.
    ///
    /// ```
    /// use std::path::Path;
    /// use switchyard_bridge::BridgeConfig;
    ///
    /// let config = BridgeConfig::from_toml(r#"
    /// [[listener]]
    /// listen = "ws://0.0.0.0:8080"
    ///
    /// [[listener.route]]
    /// path = "/vnc"
    /// target = "tcp://127.0.0.1:5900"
    ///
    /// [[listener.route]]
    /// path = "/dns"
    /// target = "udp://127.0.0.1:53"
    /// idle_timeout = 30
    /// "#, "bridge.toml", Path::new("."))?;
    /// assert_eq!(config.listeners[0].routes.len(), 2);
    ///
    /// let error = BridgeConfig::from_toml("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\ntarget = \"ftp://x:21\"\n", "b.toml", Path::new("."))
    ///     .unwrap_err();
    /// assert!(error.to_string().starts_with("b.toml line 4, key `target`"), "{error}");
    /// # Ok::<(), switchyard_bridge::ConfigFileError>(())
    /// ```
    pub fn from_toml(text: &str, file: &str, base: &Path) -> Result<Self, ConfigFileError> {
        let source = Source {
            file: file.to_string(),
            text,
        };
        let parsed: FileConfig = toml::from_str(text).map_err(|e| ConfigFileError::Syntax {
            file: file.to_string(),
            line: e.span().map_or(1, |span| source.line(span.start)),
            message: e.message().to_string(),
        })?;
        let listeners = parsed
            .listener
            .into_iter()
            .map(|l| listener(&source, base, l))
            .collect::<Result<Vec<_>, _>>()?;
        let mut config = BridgeConfig::new(listeners);
        if let Some(grace) = parsed.shutdown_grace {
            config = config.shutdown_grace(Duration::from_secs(grace));
        }
        Ok(config)
    }
}

fn listener(
    source: &Source<'_>,
    base: &Path,
    l: FileListener,
) -> Result<ListenerConfig, ConfigFileError> {
    let endpoint: Endpoint = l
        .listen
        .get_ref()
        .parse()
        .map_err(|e| source.invalid(&l.listen, "listen", e))?;
    let tls = match (l.tls_cert, l.tls_key) {
        (Some(cert), Some(key)) => Some((base.join(cert), base.join(key))),
        (None, None) => None,
        _ => return Err(source.invalid(&l.listen, "tls_cert", "tls_cert and tls_key go together")),
    };
    let auth = match l.auth {
        Some(auth) => Some(
            auth.get_ref()
                .parse::<Auth>()
                .map_err(|e| source.invalid(&auth, "auth", e))?,
        ),
        None => None,
    };
    let trusted_proxies = match &l.trusted_proxies {
        Some(list) => list
            .get_ref()
            .iter()
            .map(|net| crate::settings::parse_proxy_net(net))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| source.invalid(list, "trusted_proxies", e))?,
        None => Vec::new(),
    };
    let settings = ListenerSettings {
        tls,
        client_ca: l.client_ca.map(|ca| base.join(ca)),
        web: l.web.map(|dir| base.join(dir)),
        origins: l.origins.unwrap_or_default(),
        max_connections: l.max_connections,
        max_message: l.max_message,
        auth,
        metrics: l.metrics.unwrap_or(false),
        deflate: l.deflate.unwrap_or(false),
        heartbeat_interval: l.heartbeat_interval,
        heartbeat_timeout: l.heartbeat_timeout,
        tcp_keepalive: l.tcp_keepalive,
        proxy_protocol: l.proxy_protocol.unwrap_or(false),
        trusted_proxies,
        max_connections_per_ip: l.max_connections_per_ip,
    };
    let mut config = settings
        .listener(endpoint.clone())
        .map_err(|e| source.invalid(&l.listen, e.key, e.reason))?;
    let routes = l
        .route
        .into_iter()
        .map(|r| route(source, base, &config.listen, &l.listen, r))
        .collect::<Result<Vec<_>, _>>()?;
    for r in routes {
        config = config.route(r);
    }
    // What only the whole listener shows (no routes, wss:// without a
    // certificate, WebSocket options on TCP) is reported at its `listen`.
    BridgeConfig::new(vec![config.clone()])
        .validate()
        .map_err(|e| source.invalid(&l.listen, "listen", e.reason))?;
    Ok(config)
}

fn route(
    source: &Source<'_>,
    base: &Path,
    listen: &Endpoint,
    listen_at: &Spanned<String>,
    r: FileRoute,
) -> Result<RouteConfig, ConfigFileError> {
    let path = match &r.path {
        Some(path) if !listen.scheme.is_websocket() => {
            return Err(source.invalid(path, "path", "only WebSocket listeners have paths"))
        }
        Some(path) => path.get_ref().clone(),
        None if listen.scheme.is_websocket() => listen.path.clone(),
        None => "/".to_string(),
    };
    let target = match (r.target, r.tokens) {
        (Some(target), None) => {
            let endpoint = target
                .get_ref()
                .parse()
                .map_err(|e| source.invalid(&target, "target", e))?;
            TargetSpec::Fixed(endpoint)
        }
        (None, Some(tokens)) => {
            let file = TokenFile::load(&base.join(tokens.get_ref()))
                .map_err(|e| source.invalid(&tokens, "tokens", e))?;
            TargetSpec::TokenFile(Arc::new(file))
        }
        (Some(target), Some(_)) => {
            return Err(source.invalid(
                &target,
                "target",
                "a route has a target or tokens, not both",
            ))
        }
        (None, None) => {
            return Err(source.invalid(listen_at, "route", "a route needs a target (or tokens)"))
        }
    };
    let framing = match r.framing {
        Some(framing) => Some(
            framing
                .get_ref()
                .parse::<StreamFraming>()
                .map_err(|e| source.invalid(&framing, "framing", e))?,
        ),
        None => None,
    };
    let target_cert = match (r.target_cert, r.target_key) {
        (Some(cert), Some(key)) => Some((base.join(cert.get_ref()), base.join(key.get_ref()))),
        (None, None) => None,
        (Some(at), None) | (None, Some(at)) => {
            return Err(source.invalid(
                &at,
                "target_cert",
                "target_cert and target_key go together",
            ))
        }
    };
    let settings = RouteSettings {
        framing,
        text: r.text.unwrap_or(false),
        connect_timeout: r.connect_timeout,
        idle_timeout: r.idle_timeout,
        send_timeout: r.send_timeout,
        target_ca: r.target_ca.map(|ca| base.join(ca)),
        target_cert,
        target_deflate: r.target_deflate.as_ref().is_some_and(|d| *d.get_ref()),
    };
    settings
        .route(listen.scheme, path, target)
        .map_err(|e| match &r.target_deflate {
            Some(at) => source.invalid(at, e.key, e.reason),
            None => source.invalid(listen_at, e.key, e.reason),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_ws::{HeartbeatConfig, OriginPolicy};

    fn parse(text: &str) -> Result<BridgeConfig, ConfigFileError> {
        BridgeConfig::from_toml(text, "bridge.toml", Path::new("/etc/bridge"))
    }

    #[test]
    fn a_full_file_sets_every_option() {
        let config = parse(
            r#"
shutdown_grace = 3

[[listener]]
listen = "ws://0.0.0.0:8080"
web = "www"
origins = ["https://app.example.com"]
max_connections = 100
max_message = 65536
auth = "bearer:s3cret"
metrics = true
heartbeat_interval = 10
heartbeat_timeout = 5
tcp_keepalive = 0
proxy_protocol = true
trusted_proxies = ["10.0.0.0/8", "192.168.1.1"]
max_connections_per_ip = 8

[[listener.route]]
path = "/term"
target = "tcp://127.0.0.1:7000"
framing = "lines"
text = true
connect_timeout = 2
send_timeout = 0

[[listener.route]]
path = "/dns"
target = "udp://127.0.0.1:53"
idle_timeout = 0

[[listener]]
listen = "udp://0.0.0.0:5353"

[[listener.route]]
target = "ws://127.0.0.1:8080/dns"
"#,
        )
        .unwrap();
        assert_eq!(config.shutdown_grace, Duration::from_secs(3));
        let listener = &config.listeners[0];
        let ws = listener.options.websocket().unwrap();
        assert_eq!(ws.web.as_deref(), Some(Path::new("/etc/bridge/www")));
        assert_eq!(
            ws.websocket.origins,
            OriginPolicy::allow(["https://app.example.com"])
        );
        assert_eq!(
            (
                ws.http.max_connections,
                ws.websocket.max_message,
                ws.metrics
            ),
            (100, 65536, true)
        );
        assert_eq!(ws.auth, Some(Auth::Bearer("s3cret".into())));
        assert_eq!(ws.http.tcp_keepalive, None);
        assert!(ws.http.proxy_protocol);
        let proxies: Vec<String> = ws
            .http
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.168.1.1/32"]);
        assert_eq!(ws.http.max_connections_per_ip, Some(8));
        let udp = config.listeners[1].options.socket().unwrap();
        assert_eq!(
            udp.tcp_keepalive.map(|k| k.idle),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            ws.websocket.heartbeat,
            Some(HeartbeatConfig::new(
                Duration::from_secs(10),
                Duration::from_secs(5)
            ))
        );
        let ws = listener;
        let term = &ws.routes[0];
        assert_eq!(term.send_timeout, None);
        assert_eq!(ws.routes[1].send_timeout, Some(Duration::from_secs(60)));
        assert_eq!(
            (term.path.as_str(), term.dial.framing, term.dial.text),
            ("/term", StreamFraming::Lines, true)
        );
        assert_eq!(term.dial.connect_timeout, Duration::from_secs(2));
        assert_eq!(ws.routes[1].idle_timeout, None);
        assert_eq!(config.listeners[1].routes[0].path, "/");
    }

    #[test]
    fn a_websocket_target_may_be_offered_compression() {
        let text = "[[listener]]\nlisten = \"tcp://h:1\"\n[[listener.route]]\ntarget = \"wss://h:2\"\ntarget_deflate = true\n";
        let config = parse(text).unwrap();
        assert!(config.listeners[0].routes[0].dial.deflate.is_some());
        let text = text.replace("target_deflate = true\n", "");
        assert!(parse(&text).unwrap().listeners[0].routes[0]
            .dial
            .deflate
            .is_none());
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let cases = [
            ("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\npath = \"/a\"\ntarget = \"tcp://h\"\n", "line 5, key `target`"),
            ("[[listener]]\nlisten = \"ws://h:1\"\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.example\"]\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "line 3, key `trusted_proxies`: \"proxy.example\" is not an IP address"),
            ("[[listener]]\nlisten = \"ws://h:1\"\nclient_ca = \"ca.pem\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "client_ca (client certificates) needs a wss:// listener"),
            ("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\ntarget = \"wss://h:2\"\ntarget_cert = \"me.pem\"\n", "line 5, key `target_cert`: target_cert and target_key go together"),
            ("[[listener]]\nlisten = \"udp://h:1\"\nproxy_protocol = true\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "proxy_protocol is for WebSocket and TCP listeners, not udp"),
            ("[[listener]]\nlisten = \"tcp://h:1\"\nweb = \"www\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "line 2, key `web`: for WebSocket listeners, not tcp"),
            ("[[listener]]\nlisten = \"ws://h:1\"\nmax_connections_per_ip = 0\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "line 2, key `max_connections_per_ip`: at least 1"),
            ("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\nframing = \"json\"\n", "line 5, key `framing`"),
            ("[[listener]]\nlisten = \"http://h:1\"\n", "line 2, key `listen`"),
            ("[[listener]]\nlisten = \"ws://h:1\"\nauth = \"basic:alice\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "line 3, key `auth`"),
            ("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\ntragets = 1\n", "line 5: unknown field `tragets`"),
            ("[[listener]]\nlisten = \"ws://h:1\"\nmax_message = \"big\"\n", "line 3: invalid type"),
            ("[[listener]]\nlisten = \"tcp://h:1\"\n[[listener.route]]\npath = \"/x\"\ntarget = \"tcp://h:2\"\n", "line 4, key `path`"),
            ("\n[[listener]]\nlisten = \"wss://h:1\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\n", "line 3, key `listen`: wss:// needs"),
            ("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\ntokens = \"missing-tokens.txt\"\n", "line 4, key `tokens`: cannot read token file"),
            ("[[listener]]\nlisten = \"ws://h:1\"\n[[listener.route]]\ntarget = \"tcp://h:2\"\ntarget_deflate = true\n", "line 5, key `target_deflate`: the target is not a WebSocket"),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
            assert!(error.starts_with("bridge.toml line "), "{error}");
        }
    }
}
