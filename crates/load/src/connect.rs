//! `connect`: connections per second, each connected (TLS and WebSocket
//! handshakes included), then closed.

use std::time::Instant;

use futures::SinkExt;

use crate::report::{Report, Tally};
use crate::{dial_options, seconds, Common};

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let duration = seconds(c.duration)?;
    let options = dial_options(c.framing, c.text, c.size, c.ca.as_deref(), c.deflate)?;
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..c.connections)
        .map(|_| {
            let (target, options) = (c.target.clone(), options.clone());
            switchyard_rt::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let began = Instant::now();
                    match switchyard_endpoint::dial(&target, &options).await {
                        Ok(mut conn) => {
                            tally.record_latency(began.elapsed().as_nanos() as u64);
                            tally.messages += 1;
                            let _ = conn.close().await;
                        }
                        Err(_) => tally.errors += 1,
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for tally in futures::future::join_all(tasks).await {
        total.merge(&tally);
    }
    Ok(Report::new(
        "connect",
        &c.target.to_string(),
        c.connections,
        0,
        start.elapsed(),
        &total,
    ))
}
