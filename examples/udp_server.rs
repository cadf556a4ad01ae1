//! A UDP echo server: every datagram goes back to whoever sent it.
//!
//! ```text
//! cargo run --example udp_server -- 127.0.0.1:7002
//! cargo run --example udp_client -- 127.0.0.1:7002 hello world
//! ```
//!
//! One datagram is one message. Datagrams over `--max-datagram` bytes are
//! reported and dropped, never echoed cut.

mod common;

use anyhow::Context;
use clap::Parser;
use switchyard::udp::{UdpSocket, MAX_PAYLOAD};

#[derive(Parser)]
#[command(about = "Echoes every datagram back to its sender")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:7002")]
    addr: String,
    /// Largest datagram accepted, in bytes.
    #[arg(long, default_value_t = MAX_PAYLOAD)]
    max_datagram: usize,
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    switchyard::rt::block_on(async {
        let socket = UdpSocket::bind(&*args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?
            .with_max_datagram(args.max_datagram);
        println!("listening on {}", socket.local_addr()?);
        loop {
            match socket.recv_from().await {
                Ok((msg, peer)) => {
                    if let Err(e) = socket.send_to(&msg, peer).await {
                        tracing::info!(%peer, error = %e, "reply failed");
                    }
                }
                Err(e) => tracing::info!(error = %e, "receive failed"),
            }
        }
    })
}
