//! A WebSocket client: sends each argument as one text message, prints each
//! reply on its own line, and exits 0 when every reply matches.
//!
//! ```text
//! cargo run --example ws_echo_server -- 127.0.0.1:8080
//! cargo run --example ws_client -- ws://127.0.0.1:8080/ws hello world
//! ```

mod common;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard::ws::{connect_with, ClientConfig};

#[derive(Parser)]
#[command(about = "Sends each message to a WebSocket echo server and checks the replies")]
struct Args {
    /// Server URL.
    #[arg(default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Messages to send, one per argument.
    #[arg(default_values_t = ["hello".to_string()])]
    messages: Vec<String>,
    /// Seconds to wait for the connection and for each reply.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// A PEM CA certificate to trust besides the system's (for wss:// to a
    /// private or self-signed certificate).
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::exit("ws_client", switchyard::rt::block_on(run(args)))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut config = ClientConfig::default().handshake_timeout(timeout);
    if let Some(ca) = &args.ca {
        config = config.tls(switchyard::ws::client_tls(Some(ca))?);
    }
    let mut conn = connect_with(&args.url, &config)
        .await
        .with_context(|| format!("no WebSocket server at {}", args.url))?
        .text();
    let checked = common::check_echoes(&mut conn, &args.messages, timeout).await;
    // A server that closed says why: its close code and reason.
    if let (Err(e), Some(close)) = (&checked, conn.get_ref().peer_close()) {
        anyhow::bail!(
            "{e:#}: the server closed the connection with {} {:?}",
            close.code,
            close.reason
        );
    }
    checked?;
    conn.get_mut().close(1000, "done").await?;
    Ok(())
}
