//! A TCP client for the `tcp_server` example: sends each argument as one
//! length-prefixed message, prints each reply on its own line, and exits 0
//! when every reply matches what was sent.
//!
//! ```text
//! cargo run --example tcp_server -- 127.0.0.1:7001
//! cargo run --example tcp_client -- 127.0.0.1:7001 hello world
//! ```

mod common;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard::tcp::{connect_framed, LengthPrefixed};

#[derive(Parser)]
#[command(about = "Sends each message to an echo server and checks the replies")]
struct Args {
    /// Server address.
    #[arg(default_value = "127.0.0.1:7001")]
    addr: String,
    /// Messages to send, one per argument.
    #[arg(default_values_t = ["hello".to_string()])]
    messages: Vec<String>,
    /// Seconds to wait for the connection and for each reply.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::exit("tcp_client", switchyard::rt::block_on(run(args)))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut conn = connect_framed(&*args.addr, LengthPrefixed::default(), timeout)
        .await
        .with_context(|| format!("no echo server at {}", args.addr))?;
    common::check_echoes(&mut conn, &args.messages, timeout).await
}
