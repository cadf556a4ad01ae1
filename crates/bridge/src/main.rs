//! The `switchyard-bridge` command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard_bridge::{
    Auth, Bridge, BridgeConfig, Endpoint, ListenerConfig, RouteConfig, StreamFraming, TargetSpec,
    TokenMap,
};
use switchyard_ws::{HeartbeatConfig, OriginPolicy};

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

  # Targets chosen by ?token=NAME from a file of `NAME: URL` lines:
  switchyard-bridge ws://0.0.0.0:8080/connect --tokens tokens.txt

  # Plain TCP clients reaching a WebSocket service, each line one message:
  switchyard-bridge tcp://127.0.0.1:9000 wss://echo.example.com/ws --framing lines

  # Several listeners and routes, each with its own options:
  switchyard-bridge --config bridge.toml

Logs: one line per session (peer, route, bytes each way, duration, how it ended);
set RUST_LOG=debug for more. SIGINT/SIGTERM stop accepting, close WebSockets with
1001 and exit within the grace period.";

/// Relays between WebSocket, TCP and UDP: LISTEN accepts clients, TARGET is
/// dialed once per session. Targets come only from here or the config file.
#[derive(Debug, Parser)]
#[command(name = "switchyard-bridge", version, after_help = EXAMPLES)]
struct Cli {
    /// Where to accept: ws://HOST:PORT/PATH, wss://..., tcp://HOST:PORT or udp://HOST:PORT.
    #[arg(required_unless_present = "config")]
    listen: Option<Endpoint>,
    /// What to dial per session: tcp://, udp://, ws:// or wss:// (or use --tokens).
    #[arg(required_unless_present_any = ["config", "tokens"])]
    target: Option<Endpoint>,
    /// Several listeners and routes from a TOML file (see the README).
    #[arg(long, conflicts_with_all = ["listen", "target"])]
    config: Option<PathBuf>,
    /// How TCP sides are cut into messages: raw, lines or length-prefixed.
    #[arg(long, default_value = "raw")]
    framing: StreamFraming,
    /// Send WebSocket text messages instead of binary.
    #[arg(long)]
    text: bool,
    /// PEM certificate chain for a wss:// listener.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for a wss:// listener.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve static files from DIR on the WebSocket listener.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    /// Also accept WebSockets from pages of this origin (repeatable; * for any).
    /// Default: same origin only.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Sessions open at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Largest message either way, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_message: usize,
    /// Seconds to reach the target.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// End sessions idle this many seconds (0: never). Default 60 with UDP, none otherwise.
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// TCP keepalive: seconds of quiet before the kernel probes a TCP peer
    /// (client or target), so that one whose host is gone is found (0: off).
    #[arg(long, default_value_t = 60)]
    tcp_keepalive: u64,
    /// End a session when one side takes nothing this many seconds while a
    /// message waits for it (0: never).
    #[arg(long, default_value_t = 60)]
    send_timeout: u64,
    /// Require bearer:TOKEN or basic:USER:PASSWORD on the WebSocket listener.
    #[arg(long, env = "SWITCHYARD_BRIDGE_AUTH", hide_env_values = true)]
    auth: Option<Auth>,
    /// Targets by ?token=NAME, from a file of `NAME: URL` lines (instead of TARGET).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    tokens: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust for a wss:// target.
    #[arg(long, value_name = "FILE")]
    target_ca: Option<PathBuf>,
    /// Seconds between pings on quiet WebSockets; a peer silent as long again is dropped (0: off).
    #[arg(long, default_value_t = 30)]
    heartbeat: u64,
    /// Serve GET /healthz and GET /metrics (Prometheus) on the WebSocket listener.
    #[arg(long)]
    metrics: bool,
    /// Seconds sessions get to close at shutdown.
    #[arg(long, default_value_t = 5)]
    shutdown_grace: u64,
}

impl Cli {
    fn into_config(self) -> anyhow::Result<BridgeConfig> {
        if let Some(path) = &self.config {
            return Ok(BridgeConfig::from_file(path)?);
        }
        let listen = self.listen.context("LISTEN is required")?;
        let target = match (self.target, &self.tokens) {
            (Some(target), _) => TargetSpec::Fixed(target),
            (None, Some(file)) => TargetSpec::Tokens(TokenMap::load(file)?.into()),
            (None, None) => anyhow::bail!("TARGET or --tokens is required"),
        };
        let route = RouteConfig::new(listen.path.clone(), target)
            .framing(self.framing)
            .text(self.text)
            .connect_timeout(Duration::from_secs(self.connect_timeout))
            .idle_timeout(
                self.idle_timeout
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs),
            )
            .send_timeout((self.send_timeout > 0).then(|| Duration::from_secs(self.send_timeout)))
            .target_ca(self.target_ca);
        let mut listener = ListenerConfig::new(listen)
            .route(route)
            .web(self.web)
            .max_connections(self.max_connections)
            .max_message(self.max_message)
            .auth(self.auth)
            .metrics(self.metrics)
            .tcp_keepalive(
                (self.tcp_keepalive > 0).then(|| Duration::from_secs(self.tcp_keepalive)),
            )
            .heartbeat((self.heartbeat > 0).then(|| {
                let secs = Duration::from_secs(self.heartbeat);
                HeartbeatConfig::new(secs, secs)
            }));
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            listener = listener.tls(cert, key);
        }
        if self.allow_origin.iter().any(|o| o == "*") {
            listener = listener.origins(OriginPolicy::AllowAny);
        } else if !self.allow_origin.is_empty() {
            listener = listener.origins(OriginPolicy::allow(self.allow_origin));
        }
        Ok(BridgeConfig::new(vec![listener])
            .shutdown_grace(Duration::from_secs(self.shutdown_grace)))
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("switchyard-bridge: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.into_config()?;
    let grace = config.shutdown_grace;
    let listeners: Vec<Endpoint> = config.listeners.iter().map(|l| l.listen.clone()).collect();
    let bridge = switchyard_rt::block_on(Bridge::bind(config))?;
    for (listen, addr) in listeners.iter().zip(bridge.local_addrs()) {
        println!("listening on {}://{addr}", listen.scheme.as_str());
    }
    let shutdown = bridge.shutdown();
    ctrlc::set_handler(move || {
        shutdown.trigger();
        // Whatever is still open after the grace period does not hold the
        // process: exit regardless a moment later.
        std::thread::spawn(move || {
            std::thread::sleep(grace + Duration::from_secs(2));
            eprintln!("switchyard-bridge: sessions still open after the grace period; exiting");
            std::process::exit(0);
        });
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    switchyard_rt::block_on(bridge.serve());
    Ok(())
}
