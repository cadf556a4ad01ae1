//! `hold`: many idle connections kept open, and what they cost the server.

use std::time::{Duration, Instant};

use futures::StreamExt;
use switchyard_endpoint::Endpoint;

use crate::probe::rss_kib;
use crate::report::{connections_per_second, round, Report, Tally};
use crate::{dial_options, seconds, Hold, MAX_CONNECTIONS};

/// Connections opened at once while ramping up.
const RAMP: usize = 64;

pub async fn run(h: &Hold) -> anyhow::Result<Report> {
    anyhow::ensure!(
        (1..=MAX_CONNECTIONS).contains(&h.connections),
        "--connections is 1 to {MAX_CONNECTIONS}"
    );
    let duration = seconds(h.duration)?;
    let options = dial_options(
        switchyard_endpoint::StreamFraming::Raw,
        false,
        1024,
        h.ca.as_deref(),
        h.deflate,
    )?;
    let before = h.pid.map(rss_kib).transpose()?;
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut held = Vec::with_capacity(h.connections);
    let mut first_error = None;
    let mut opening = futures::stream::iter(0..h.connections)
        .map(|n| {
            let began = Instant::now();
            let (target, options) = (numbered(&h.target, &h.numbered_params, n), options.clone());
            async move {
                (
                    switchyard_endpoint::dial(&target, &options).await,
                    began.elapsed(),
                )
            }
        })
        .buffer_unordered(RAMP);
    while let Some((result, took)) = opening.next().await {
        match result {
            Ok(conn) => {
                tally.record_latency(took.as_nanos() as u64);
                tally.messages += 1;
                held.push(conn);
            }
            Err(e) => {
                tally.errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let ramp = start.elapsed();
    // Let the server settle, then measure while every connection is open.
    switchyard_rt::sleep(Duration::from_millis(500)).await;
    let after = h.pid.map(rss_kib).transpose()?;
    switchyard_rt::sleep(duration).await;
    let open = held.len();
    drop(held);
    let mut report = Report::new(
        "hold",
        &h.target.to_string(),
        h.connections,
        0,
        ramp,
        &tally,
    )
    .with("open", open as u64)
    .with("ramp_seconds", ramp.as_secs_f64())
    .with("connections_per_second", connections_per_second(open, ramp));
    if let (Some(before), Some(after)) = (before, after) {
        let per = (after.saturating_sub(before)) as f64 / open.max(1) as f64;
        report = report
            .with("server_rss_before_kib", before)
            .with("server_rss_after_kib", after)
            .with("server_kib_per_connection", round(per, 2));
    }
    if let Some(e) = first_error {
        report = report.with("first_error", e);
    }
    Ok(report)
}

/// `target` with `NAME=cN` added to its query for each of `params`.
fn numbered(target: &Endpoint, params: &[String], n: usize) -> Endpoint {
    let mut target = target.clone();
    for param in params {
        let separator = if target.path.contains('?') { '&' } else { '?' };
        target.path = format!("{}{separator}{param}=c{n}", target.path);
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_connection_gets_its_own_numbered_params() {
        let target: Endpoint = "ws://127.0.0.1:8080/ws".parse().unwrap();
        let params = ["name".to_string(), "room".to_string()];
        assert_eq!(numbered(&target, &params, 7).path, "/ws?name=c7&room=c7");
        let with_query: Endpoint = "ws://127.0.0.1:8080/ws?x=1".parse().unwrap();
        assert_eq!(
            numbered(&with_query, &params[..1], 0).path,
            "/ws?x=1&name=c0"
        );
        assert_eq!(numbered(&target, &[], 3).path, "/ws");
    }
}
