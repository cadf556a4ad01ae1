//! A WebSocket echo server with its own page.
//!
//! ```text
//! cargo run --example ws_echo_server -- 127.0.0.1:8080
//! ```
//!
//! Open http://127.0.0.1:8080/ for the echo page, or use the `ws_client`
//! example: `cargo run --example ws_client -- ws://127.0.0.1:8080/ws hello world`.
//! Text comes back as text and binary as binary. Messages over
//! `--max-message` bytes close the connection with 1009; pages from other
//! sites are refused (403) unless listed with `--allow-origin`.
//!
//! For wss, give a PEM certificate and key:
//!
//! ```text
//! cargo run --example ws_echo_server -- 127.0.0.1:8443 --tls-cert cert.pem --tls-key key.pem
//! cargo run --example ws_client -- wss://localhost:8443/ws hello --ca cert.pem
//! ```

mod common;

use std::time::Duration;

use clap::Parser;
use switchyard::frame::answer;
use switchyard::ws::deflate::DeflateConfig;
use switchyard::ws::http::HttpServerConfig;
use switchyard::ws::{
    websocket, HeartbeatConfig, OriginPolicy, Router, ServerIo, WsConnection, WsServerConfig,
};

#[derive(Parser)]
#[command(about = "Echoes every WebSocket message, and serves an echo page at /")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8080")]
    addr: String,
    /// Largest message, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_message: usize,
    /// Seconds of quiet before a ping (and again before a silent peer is dropped).
    #[arg(long, default_value_t = 30.0)]
    heartbeat: f64,
    /// Origins allowed besides the page's own (e.g. https://app.example).
    #[arg(long)]
    allow_origin: Vec<String>,
    /// Agree permessage-deflate with clients that offer it (browsers do):
    /// messages of 256 bytes and more are compressed.
    #[arg(long)]
    deflate: bool,
    /// zlib's level for --deflate, 1 (fastest) to 9 (smallest).
    #[arg(long, requires = "deflate", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=9))]
    deflate_level: u32,
    /// PEM certificate chain: serve wss (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let beat = Duration::from_secs_f64(args.heartbeat);
    let mut websockets = WsServerConfig::default()
        .max_message(args.max_message)
        .heartbeat(Some(HeartbeatConfig::new(beat, beat)));
    if !args.allow_origin.is_empty() {
        websockets = websockets.origins(OriginPolicy::allow(args.allow_origin));
    }
    if args.deflate {
        let mut deflate = DeflateConfig::default();
        deflate.level = args.deflate_level;
        websockets = websockets.deflate(Some(deflate));
    }
    let mut config = HttpServerConfig::default();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config = config.tls(switchyard::ws::server_tls(cert, key)?);
    }
    let router = Router::new()
        .page(
            "/",
            "text/html; charset=utf-8",
            include_str!("pages/echo.html"),
        )
        .upgrade(
            "/ws",
            websocket(websockets, |conn, req| echo(conn, req.peer)),
        );
    switchyard::rt::block_on(common::serve_ws(&args.addr, config, router))
}

async fn echo(mut conn: WsConnection<ServerIo>, peer: std::net::SocketAddr) {
    // Each message back as it came (text as text, binary as binary);
    // replies to every message already received go out in one write.
    let echoed = answer(&mut conn, |_, msg| Some(msg)).await;
    if let Err(e) = echoed {
        tracing::info!(%peer, error = %e, "closing connection");
        return;
    }
    if let Some(close) = conn.peer_close() {
        tracing::debug!(%peer, code = close.code, reason = %close.reason, "peer closed");
    }
}
