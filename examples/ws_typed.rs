//! Typed messages over WebSocket: a Rust client and server exchanging serde
//! enums as binary bincode messages.
//!
//! ```text
//! cargo run --example ws_typed -- server 127.0.0.1:8081
//! cargo run --example ws_typed -- client ws://127.0.0.1:8081/ws
//! ```
//!
//! The client records a few temperature readings, asks for their summary,
//! prints each response, and exits 0 when every response is the expected
//! one. The same `Typed` adapter carries these types over TCP or UDP too;
//! only the connection underneath changes.

mod common;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use switchyard::ws::http::HttpServerConfig;
use switchyard::ws::{websocket, Bincode, Router, ServerIo, Typed, WsConnection, WsServerConfig};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Request {
    /// Record one reading.
    Record { sensor: String, celsius: f64 },
    /// Summarize a sensor's readings.
    Summarize { sensor: String },
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Response {
    Recorded {
        count: u32,
    },
    Summary {
        sensor: String,
        count: u32,
        min: f64,
        max: f64,
        mean: f64,
    },
    NoReadings {
        sensor: String,
    },
    Error(String),
}

/// Small messages: refuse anything claiming more than 64 KiB inside one.
type Wire = Bincode<{ 64 << 10 }>;
/// Sensors one connection may track.
const MAX_SENSORS: usize = 1000;

#[derive(Parser)]
#[command(about = "Typed request/response over WebSocket with bincode")]
struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Serve requests at /ws.
    Server {
        #[arg(default_value = "127.0.0.1:8081")]
        addr: String,
    },
    /// Send a few requests and check the responses.
    Client {
        #[arg(default_value = "ws://127.0.0.1:8081/ws")]
        url: String,
    },
}

fn main() -> ExitCode {
    common::init_logging();
    let result = switchyard::rt::block_on(async {
        match Args::parse().role {
            Role::Server { addr } => server(&addr).await,
            Role::Client { url } => client(&url).await,
        }
    });
    common::exit("ws_typed", result)
}

async fn server(addr: &str) -> anyhow::Result<()> {
    let websockets = WsServerConfig::default().max_message(64 << 10);
    let router = Router::new().upgrade("/ws", websocket(websockets, |conn, _| serve_one(conn)));
    common::serve_ws(addr, HttpServerConfig::default(), router).await
}

async fn serve_one(conn: WsConnection<ServerIo>) {
    let mut conn: Typed<_, Request, Response, _> = Typed::new(conn.binary(), Wire::default());
    let mut readings: HashMap<String, Vec<f64>> = HashMap::new();
    while let Some(request) = conn.next().await {
        let response = match request {
            Ok(Request::Record { sensor, celsius }) => {
                if !readings.contains_key(&sensor) && readings.len() >= MAX_SENSORS {
                    Response::Error(format!("at most {MAX_SENSORS} sensors per connection"))
                } else {
                    let values = readings.entry(sensor).or_default();
                    values.push(celsius);
                    Response::Recorded {
                        count: values.len() as u32,
                    }
                }
            }
            Ok(Request::Summarize { sensor }) => summarize(sensor, &readings),
            Err(e) if e.is_broken() => return,
            Err(e) => Response::Error(e.to_string()),
        };
        if conn.send(response).await.is_err() {
            return;
        }
    }
}

fn summarize(sensor: String, readings: &HashMap<String, Vec<f64>>) -> Response {
    match readings.get(&sensor) {
        Some(values) if !values.is_empty() => {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            Response::Summary {
                sensor,
                count: values.len() as u32,
                min,
                max,
                mean,
            }
        }
        _ => Response::NoReadings { sensor },
    }
}

async fn client(url: &str) -> anyhow::Result<()> {
    let conn = switchyard::ws::connect(url)
        .await
        .with_context(|| format!("no ws_typed server at {url}"))?;
    let mut conn: Typed<_, Response, Request, _> = Typed::new(conn.binary(), Wire::default());
    let record = |celsius| Request::Record {
        sensor: "porch".into(),
        celsius,
    };
    let exchanges = [
        (record(18.5), Response::Recorded { count: 1 }),
        (record(21.5), Response::Recorded { count: 2 }),
        (record(20.0), Response::Recorded { count: 3 }),
        (
            Request::Summarize {
                sensor: "porch".into(),
            },
            Response::Summary {
                sensor: "porch".into(),
                count: 3,
                min: 18.5,
                max: 21.5,
                mean: 20.0,
            },
        ),
        (
            Request::Summarize {
                sensor: "attic".into(),
            },
            Response::NoReadings {
                sensor: "attic".into(),
            },
        ),
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
    conn.into_inner().into_inner().close(1000, "done").await?;
    Ok(())
}
