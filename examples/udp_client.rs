//! A UDP client for the `udp_server` example: sends each argument as one
//! datagram, prints each reply on its own line, and exits 0 when every reply
//! matches what was sent.
//!
//! ```text
//! cargo run --example udp_server -- 127.0.0.1:7002
//! cargo run --example udp_client -- 127.0.0.1:7002 hello world
//! ```

mod common;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard::udp::{Error, ErrorClass, UdpSocket};

#[derive(Parser)]
#[command(about = "Sends each message to a UDP echo server and checks the replies")]
struct Args {
    /// Server address.
    #[arg(default_value = "127.0.0.1:7002")]
    addr: String,
    /// Messages to send, one datagram each.
    #[arg(default_values_t = ["hello".to_string()])]
    messages: Vec<String>,
    /// Seconds to wait for each reply (UDP has no connection to fail).
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::exit("udp_client", switchyard::rt::block_on(run(args)))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let server = switchyard::rt::net::Address::from(&args.addr)
        .resolve_first()
        .await
        .with_context(|| format!("bad address {}", args.addr))?;
    let any = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let mut conn = UdpSocket::bind(any).await?.connect(server).await?;
    match common::check_echoes(&mut conn, &args.messages, timeout).await {
        // A message refused before it was sent (too large for a datagram)
        // says so: it is not the server's absence.
        Err(e) if e.downcast_ref::<Error>().map(Error::class) == Some(ErrorClass::Refused) => {
            Err(e)
        }
        // UDP has no connection to fail: silence or a refusal means no server.
        checked => {
            checked.with_context(|| format!("no UDP echo server answering at {}", args.addr))
        }
    }
}
