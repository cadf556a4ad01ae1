//! Typed messages over TCP: a small request/response protocol of serde
//! structs, in bincode, with a server and a client.
//!
//! ```text
//! cargo run --example typed_tcp -- server 127.0.0.1:7003
//! cargo run --example typed_tcp -- client 127.0.0.1:7003
//! ```
//!
//! The client sends a few requests, prints each response, and exits 0 when
//! every response is the one expected. A message that does not decode as a
//! `Request` gets a `Response::Error` and the connection is closed.

mod common;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use switchyard::tcp::{
    connect_framed, Accepted, Bincode, LengthPrefixed, Server, ServerConfig, Typed,
};

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Request {
    /// Add two numbers.
    Add { a: i64, b: i64 },
    /// Turn a text to upper case.
    Shout(String),
    /// How many requests this connection has made.
    Count,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Response {
    Sum(i64),
    Shouted(String),
    Count(u64),
    /// The request could not be served (overflow, undecodable request).
    Error(String),
}

/// Requests are small: refuse messages over 64 KiB at the framing, and
/// anything claiming more inside a message at the decoder.
const MAX_MESSAGE: usize = 64 << 10;
type Wire = Bincode<MAX_MESSAGE>;

#[derive(Parser)]
#[command(about = "A typed request/response protocol over TCP with bincode")]
struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Serve requests.
    Server {
        #[arg(default_value = "127.0.0.1:7003")]
        addr: String,
        /// Seconds a connection may stay silent before it is closed.
        #[arg(long, default_value_t = 300.0)]
        idle_timeout: f64,
    },
    /// Send a few requests and check the responses.
    Client {
        #[arg(default_value = "127.0.0.1:7003")]
        addr: String,
    },
}

fn main() -> ExitCode {
    common::init_logging();
    let result = switchyard::rt::block_on(async {
        match Args::parse().role {
            Role::Server { addr, idle_timeout } => server(&addr, idle_timeout).await,
            Role::Client { addr } => client(&addr).await,
        }
    });
    common::exit("typed_tcp", result)
}

async fn server(addr: &str, idle_timeout: f64) -> anyhow::Result<()> {
    let config = ServerConfig::default().idle_timeout(Duration::from_secs_f64(idle_timeout));
    let server = Server::bind(addr, config)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!("listening on {}", server.local_addr()?);
    server.serve(serve_one).await;
    Ok(())
}

async fn serve_one(conn: Accepted) {
    let peer = conn.peer_addr();
    let framed = conn.framed(LengthPrefixed::new(MAX_MESSAGE));
    let mut conn: Typed<_, Request, Response, _> = Typed::new(framed, Wire::default());
    let mut count = 0u64;
    while let Some(request) = conn.next().await {
        let response = match request {
            Ok(request) => {
                count += 1;
                answer(request, count)
            }
            Err(e) => {
                tracing::info!(%peer, error = %e, "bad request; closing");
                // Tell the peer why, if it still listens, then hang up.
                let _ = conn.send(Response::Error(e.to_string())).await;
                return;
            }
        };
        if conn.send(response).await.is_err() {
            return;
        }
    }
}

fn answer(request: Request, count: u64) -> Response {
    match request {
        Request::Add { a, b } => a
            .checked_add(b)
            .map(Response::Sum)
            .unwrap_or_else(|| Response::Error(format!("{a} + {b} overflows"))),
        Request::Shout(text) => Response::Shouted(text.to_uppercase()),
        Request::Count => Response::Count(count),
    }
}

async fn client(addr: &str) -> anyhow::Result<()> {
    let framed = connect_framed(
        addr,
        LengthPrefixed::new(MAX_MESSAGE),
        Duration::from_secs(5),
    )
    .await
    .with_context(|| format!("no typed_tcp server at {addr}"))?;
    let mut conn: Typed<_, Response, Request, _> = Typed::new(framed, Wire::default());
    let exchanges = [
        (Request::Add { a: 40, b: 2 }, Response::Sum(42)),
        (
            Request::Shout("switchyard".into()),
            Response::Shouted("SWITCHYARD".into()),
        ),
        (
            Request::Add { a: i64::MAX, b: 1 },
            Response::Error(format!("{} + 1 overflows", i64::MAX)),
        ),
        (Request::Count, Response::Count(4)),
    ];
    for (request, expected) in exchanges {
        conn.send(request.clone()).await?;
        let response = switchyard::rt::timeout(Duration::from_secs(5), "reply", conn.next())
            .await?
            .context("the server closed the connection")??;
        println!("{request:?} -> {response:?}");
        if response != expected {
            bail!("expected {expected:?}");
        }
    }
    Ok(())
}
