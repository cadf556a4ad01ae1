//! The `switchyard-bridge` command line (the `cli` feature): its arguments,
//! and the configuration they describe, normalised by the same code as the
//! configuration file's.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::settings::{ListenerSettings, RouteSettings};
use crate::{Auth, BridgeConfig, Endpoint, StreamFraming, TargetSpec, TokenFile};

const EXAMPLES: &str = "\
Examples:
  # A browser reaches a VNC server (noVNC speaks binary WebSocket):
  switchyard-bridge ws://0.0.0.0:8080/vnc tcp://127.0.0.1:5900

  # A line-based TCP service as text messages, with the page served from ./www:
  switchyard-bridge ws://127.0.0.1:8080/term tcp://127.0.0.1:7000 --framing lines --text --web ./www

  # DNS over WebSocket: each message one datagram:
  switchyard-bridge ws://127.0.0.1:8080/dns udp://127.0.0.1:53

  # wss:// with a certificate, only for one site's pages, with a password:
  switchyard-bridge wss://0.0.0.0:8443/vnc tcp://127.0.0.1:5900 --tls-cert cert.pem --tls-key key.pem \\
      --allow-origin https://app.example.com --auth basic:alice:s3cret

  # An interactive client: lines typed are sent, messages printed, the close shown:
  switchyard-bridge stdio wss://echo.example.com/ws

  # Targets chosen by ?token=NAME from a file of `NAME: URL` lines:
  switchyard-bridge ws://0.0.0.0:8080/connect --tokens tokens.txt

  # Plain TCP clients reaching a WebSocket service, each line one message:
  switchyard-bridge tcp://127.0.0.1:9000 wss://echo.example.com/ws --framing lines

  # Several listeners and routes, each with its own options:
  switchyard-bridge --config bridge.toml

Logs: every route at startup; one line per session (peer, route, bytes each way,
duration, how it ended); every refused request (404, 403, 401) with its path;
set RUST_LOG=debug for more. SIGINT/SIGTERM stop accepting, close WebSockets with
1001 and exit within the grace period. SIGHUP reads the config file (or --tokens)
again: new sessions use its routes, running ones go on; a file with a mistake, or
one that changes a listener itself, is reported and the running one kept. Token
files are also read again whenever they change.";

/// Relays between WebSocket, TCP, UDP, Unix sockets and the terminal: LISTEN
/// accepts clients, TARGET is dialed once per session. Targets come only
/// from here or the config file.
#[derive(Debug, Clone, Parser)]
#[command(name = "switchyard-bridge", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Where to accept: ws://HOST:PORT/PATH, wss://..., tcp://HOST:PORT, udp://HOST:PORT,
    /// unix:///PATH.sock, or stdio (one session whose client is this terminal).
    #[arg(required_unless_present = "config")]
    listen: Option<Endpoint>,
    /// What to dial per session: tcp://, udp://, ws://, wss://, unix:// or stdio
    /// (this terminal, one session at a time); or use --tokens.
    #[arg(required_unless_present_any = ["config", "tokens"])]
    target: Option<Endpoint>,
    /// Several listeners and routes from a TOML file (see docs/bridge.md).
    #[arg(long, conflicts_with_all = ["listen", "target"])]
    config: Option<PathBuf>,
    /// How stream sides (TCP, Unix, stdio) are cut into messages: raw, lines or
    /// length-prefixed. Default raw, lines on a stdio side.
    #[arg(long)]
    framing: Option<StreamFraming>,
    /// Send WebSocket text messages instead of binary.
    #[arg(long)]
    text: bool,
    /// PEM certificate chain for a wss:// listener.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for a wss:// listener.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates on the wss:// listener, from the CAs in
    /// this PEM file (others are refused during the TLS handshake).
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Serve static files from DIR on the WebSocket listener.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    /// Also accept WebSockets from pages of this origin (repeatable; * for any).
    /// Default: same origin only.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Sessions open at once. Default 1024.
    #[arg(long)]
    max_connections: Option<usize>,
    /// Sessions open at once from one client address (its real one, behind
    /// --proxy-protocol or --trusted-proxy). Default: no limit of its own.
    #[arg(long, value_name = "N")]
    max_connections_per_ip: Option<usize>,
    /// Every connection starts with a PROXY protocol header (v1 or v2) from
    /// the load balancer in front, which gives the client's real address.
    /// Only when nothing else can reach the listener.
    #[arg(long)]
    proxy_protocol: bool,
    /// Believe X-Forwarded-For from this reverse proxy (an address or a
    /// network such as 10.0.0.0/8; repeatable). List proxies narrowly: any
    /// host in a listed network can claim any client address.
    #[arg(long, value_name = "NET", value_parser = crate::settings::parse_proxy_net)]
    trusted_proxy: Vec<ipnet::IpNet>,
    /// Largest message either way, in bytes. Default 1048576 (1 MiB).
    #[arg(long)]
    max_message: Option<usize>,
    /// Seconds to reach the target. Default 10.
    #[arg(long)]
    connect_timeout: Option<u64>,
    /// End sessions idle this many seconds (0: never). Default 60 with UDP, none otherwise.
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// TCP keepalive: seconds of quiet before the kernel probes a TCP peer
    /// (client or target), so that one whose host is gone is found (0: off). Default 60.
    #[arg(long)]
    tcp_keepalive: Option<u64>,
    /// End a session when one side takes nothing this many seconds while a
    /// message waits for it (0: never). Default 60.
    #[arg(long)]
    send_timeout: Option<u64>,
    /// Require bearer:TOKEN or basic:USER:PASSWORD on the WebSocket listener.
    #[arg(long, env = "SWITCHYARD_BRIDGE_AUTH", hide_env_values = true)]
    auth: Option<Auth>,
    /// Targets by ?token=NAME, from a file of `NAME: URL` lines (instead of TARGET).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    tokens: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust for a wss:// target.
    #[arg(long, value_name = "FILE")]
    target_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) to present to a wss:// target that asks for one.
    #[arg(long, value_name = "FILE", requires = "target_key")]
    target_cert: Option<PathBuf>,
    /// Private key (PEM) of --target-cert.
    #[arg(long, value_name = "FILE", requires = "target_cert")]
    target_key: Option<PathBuf>,
    /// Seconds between pings on quiet WebSockets; a peer silent as long again is dropped (0: off).
    /// Default 30.
    #[arg(long)]
    heartbeat: Option<u64>,
    /// Serve GET /healthz and GET /metrics (Prometheus) on the WebSocket listener.
    #[arg(long)]
    metrics: bool,
    /// Agree permessage-deflate with WebSocket clients that offer it
    /// (browsers do): messages of 256 bytes and more are compressed.
    #[arg(long)]
    deflate: bool,
    /// Offer permessage-deflate to a ws:// or wss:// target.
    #[arg(long)]
    target_deflate: bool,
    /// Seconds sessions get to close at shutdown. Default 5.
    #[arg(long)]
    shutdown_grace: Option<u64>,
}

impl Cli {
    /// Whether this is an interactive client: the listener is `stdio`.
    pub fn is_stdio_client(&self) -> bool {
        self.listen
            .as_ref()
            .is_some_and(|listen| listen.scheme == crate::Scheme::Stdio)
    }

    /// The configuration these arguments describe (a `--config` file read,
    /// a `--tokens` file loaded).
    pub fn into_config(self) -> Result<BridgeConfig, CliError> {
        if let Some(path) = &self.config {
            return Ok(BridgeConfig::from_file(path)?);
        }
        let listen = self.listen.ok_or(CliError::Usage("LISTEN is required"))?;
        let target = match (self.target, &self.tokens) {
            (Some(target), _) => TargetSpec::Fixed(target),
            (None, Some(file)) => TargetSpec::TokenFile(TokenFile::load(file)?.into()),
            (None, None) => return Err(CliError::Usage("TARGET or --tokens is required")),
        };
        let settings = ListenerSettings {
            tls: self.tls_cert.zip(self.tls_key),
            client_ca: self.client_ca,
            web: self.web,
            origins: self.allow_origin,
            max_connections: self.max_connections,
            max_message: self.max_message,
            auth: self.auth,
            metrics: self.metrics,
            deflate: self.deflate,
            // One value on the command line: the ping interval, and as long
            // again for the answer.
            heartbeat_interval: self.heartbeat,
            heartbeat_timeout: self.heartbeat,
            tcp_keepalive: self.tcp_keepalive,
            proxy_protocol: self.proxy_protocol,
            trusted_proxies: self.trusted_proxy,
            max_connections_per_ip: self.max_connections_per_ip,
        };
        let listener = settings.listener(listen).map_err(|e| {
            // The flag as this command line spells the key.
            let flag = match e.key {
                "origins" => "allow-origin".to_string(),
                "trusted_proxies" => "trusted-proxy".to_string(),
                key => key.replace('_', "-"),
            };
            CliError::Setting(format!("--{flag}: {}", e.reason))
        })?;
        let route = RouteSettings {
            framing: self.framing,
            text: self.text,
            connect_timeout: self.connect_timeout,
            idle_timeout: self.idle_timeout,
            send_timeout: self.send_timeout,
            target_ca: self.target_ca,
            target_cert: self.target_cert.zip(self.target_key),
            target_deflate: self.target_deflate,
        }
        .route(listener.listen.scheme, listener.listen.path.clone(), target)
        .map_err(|e| CliError::Setting(format!("--{}: {}", e.key.replace('_', "-"), e.reason)))?;
        let mut config = BridgeConfig::new(vec![listener.route(route)]);
        if let Some(secs) = self.shutdown_grace {
            config = config.shutdown_grace(Duration::from_secs(secs));
        }
        Ok(config)
    }
}

/// Why the command line's arguments make no configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The `--config` file cannot be used.
    #[error(transparent)]
    ConfigFile(#[from] crate::ConfigFileError),
    /// The `--tokens` file cannot be used.
    #[error(transparent)]
    Tokens(#[from] crate::TokenFileError),
    /// A required argument is missing.
    #[error("{0}")]
    Usage(&'static str),
    /// An option is given where it does not apply, or a value it cannot
    /// take.
    #[error("{0}")]
    Setting(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line and the config file spell the same options
    /// differently; both go through one normalisation, so the same
    /// options give the same configuration.
    #[test]
    fn the_command_line_and_a_config_file_make_the_same_configuration() {
        let cli = Cli::try_parse_from([
            "switchyard-bridge",
            "ws://127.0.0.1:8080/term",
            "tcp://127.0.0.1:7000",
            "--framing=lines",
            "--text",
            "--allow-origin=*",
            "--max-connections=10",
            "--max-message=4096",
            "--connect-timeout=3",
            "--idle-timeout=0",
            "--tcp-keepalive=0",
            "--send-timeout=7",
            "--heartbeat=9",
            "--auth=bearer:s3cret",
            "--metrics",
            "--deflate",
            "--shutdown-grace=2",
            "--proxy-protocol",
            "--trusted-proxy=10.0.0.0/8",
            "--trusted-proxy=192.168.1.1",
            "--max-connections-per-ip=4",
        ])
        .unwrap();
        let file = BridgeConfig::from_toml(
            r#"
shutdown_grace = 2

[[listener]]
listen = "ws://127.0.0.1:8080/term"
origins = ["*"]
max_connections = 10
max_message = 4096
tcp_keepalive = 0
heartbeat_interval = 9
heartbeat_timeout = 9
auth = "bearer:s3cret"
metrics = true
deflate = true
proxy_protocol = true
trusted_proxies = ["10.0.0.0/8", "192.168.1.1/32"]
max_connections_per_ip = 4

[[listener.route]]
target = "tcp://127.0.0.1:7000"
framing = "lines"
text = true
connect_timeout = 3
idle_timeout = 0
send_timeout = 7
"#,
            "bridge.toml",
            std::path::Path::new("."),
        )
        .unwrap();
        let from_cli = cli.into_config().unwrap();
        assert_eq!(format!("{from_cli:?}"), format!("{file:?}"));
        // And the values are the ones asked for.
        let route = &from_cli.listeners[0].routes[0];
        let limits = from_cli.listeners[0].options.session_limits();
        assert_eq!(limits.max_message, 4096);
        assert_eq!(route.dial.connect_timeout, Duration::from_secs(3));
        assert_eq!(route.send_timeout, Some(Duration::from_secs(7)));
    }
}
