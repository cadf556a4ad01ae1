//! A TCP echo server: every length-prefixed message comes back as it went.
//!
//! Run it, then talk to it with the `tcp_client` example:
//!
//! ```text
//! cargo run --example tcp_server -- 127.0.0.1:7001
//! cargo run --example tcp_client -- 127.0.0.1:7001 hello world
//! ```
//!
//! Wire format: each message is a 4-byte big-endian length, then that many
//! bytes; with `--lines`, each line is a message instead (try it with
//! `nc 127.0.0.1 7001`, or from a browser through `switchyard-bridge`).
//! Limits (all flags): a message of at most `--max-message` bytes,
//! `--max-connections` at once, and `--idle-timeout` seconds of silence
//! before a connection is closed. Logs go to stderr (`RUST_LOG=debug` for
//! more).

mod common;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard::frame::answer;
use switchyard::tcp::{Accepted, Framing, LengthPrefixed, Lines, Raw, Server, ServerConfig};

#[derive(Parser)]
#[command(about = "Echoes every length-prefixed message (or line) back to its sender")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:7001")]
    addr: String,
    /// Largest message accepted, in bytes; larger ones close the connection.
    #[arg(long, default_value_t = LengthPrefixed::DEFAULT_MAX)]
    max_message: usize,
    /// Connections served at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, default_value_t = 300.0)]
    idle_timeout: f64,
    /// Lines instead of length-prefixed messages: each line is echoed back.
    #[arg(long, conflicts_with = "raw")]
    lines: bool,
    /// No framing: bytes are echoed as they arrive (through the framing
    /// layer's `Raw`, for comparing framing costs).
    #[arg(long)]
    raw: bool,
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    switchyard::rt::block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = ServerConfig::default()
        .max_connections(args.max_connections)
        .idle_timeout(Duration::from_secs_f64(args.idle_timeout));
    let server = Server::bind(&*args.addr, config)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("listening on {}", server.local_addr()?);
    if args.lines {
        let framing = Lines::new(args.max_message.min(Lines::DEFAULT_MAX));
        server.serve(move |conn| echo(conn, framing)).await;
    } else if args.raw {
        server.serve(move |conn| echo(conn, Raw)).await;
    } else {
        let framing = LengthPrefixed::new(args.max_message);
        server.serve(move |conn| echo(conn, framing)).await;
    }
    Ok(())
}

async fn echo<F: Framing + Unpin>(conn: Accepted, framing: F) {
    let peer = conn.peer_addr();
    let mut conn = conn.framed(framing);
    let mut echoed = 0u64;
    // Replies to every message already received go out in one write.
    let answered = answer(&mut conn, |_, msg| {
        echoed += 1;
        Some(msg)
    })
    .await;
    if let Err(e) = answered {
        tracing::info!(%peer, error = %e, "closing connection");
        return;
    }
    tracing::debug!(%peer, echoed, "peer closed");
}
