//! `echo`: messages sent and timed until their echo is back.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};

use crate::report::{Report, Tally};
use crate::stamp::{latency_nanos, stamped};
use crate::{dial, dial_options, seconds, Common};

/// How long a reply may take before it counts as an error.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let duration = seconds(c.duration)?;
    let options = dial_options(c.framing, c.text, c.size, c.ca.as_deref())?;
    let mut conns = Vec::with_capacity(c.connections);
    for _ in 0..c.connections {
        conns.push(dial(&c.target, &options).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let per_conn_rate = c.rate / c.connections as f64;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let size = c.size;
            switchyard_rt::spawn(async move {
                if per_conn_rate > 0.0 {
                    open_loop(conn, start, deadline, size, per_conn_rate).await
                } else {
                    closed_loop(conn, start, deadline, size).await
                }
            })
        })
        .collect();
    let mut total = Tally::default();
    for tally in futures::future::join_all(tasks).await {
        total.merge(&tally);
    }
    // Closed loop: until the last echo came back; fixed rate: the sending time.
    let elapsed = if per_conn_rate > 0.0 {
        duration
    } else {
        start.elapsed()
    };
    Ok(Report::new(
        "echo",
        &c.target.to_string(),
        c.connections,
        c.size,
        elapsed,
        &total,
    )
    .with("rate", c.rate))
}

/// One message in flight: send, wait for all of its echo, again.
async fn closed_loop(
    mut conn: switchyard_bridge::BoxConnection,
    start: Instant,
    deadline: Instant,
    size: usize,
) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let sent_at = Instant::now();
        if conn.send(stamped(start, size)).await.is_err() {
            tally.errors += 1;
            return tally;
        }
        // A raw TCP echo may come back in pieces.
        let mut got = 0;
        while got < size.max(crate::stamp::STAMP_LEN) {
            match switchyard_rt::timeout(REPLY_TIMEOUT, "echo", conn.next()).await {
                Ok(Some(Ok(msg))) => got += msg.len(),
                _ => {
                    tally.errors += 1;
                    return tally;
                }
            }
        }
        tally.record_latency(sent_at.elapsed().as_nanos() as u64);
        tally.messages += 1;
        tally.bytes += got as u64;
    }
    let _ = conn.close().await;
    tally
}

/// A fixed rate, independent of replies; latency from the stamp in each echo.
async fn open_loop(
    conn: switchyard_bridge::BoxConnection,
    start: Instant,
    deadline: Instant,
    size: usize,
    rate: f64,
) -> Tally {
    let (mut sink, mut stream) = conn.split();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let sending = async move {
        let mut next = Instant::now();
        let mut sent = 0u64;
        while next < deadline {
            if sink.send(stamped(start, size)).await.is_err() {
                return (sent, 1);
            }
            sent += 1;
            next += interval;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                switchyard_rt::sleep(wait).await;
            }
        }
        (sent, 0)
    };
    let receiving = async move {
        let mut tally = Tally::default();
        let until = deadline + Duration::from_secs(2);
        while Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            match switchyard_rt::timeout(left, "echo", stream.next()).await {
                Ok(Some(Ok(msg))) => {
                    if let Some(nanos) = latency_nanos(start, &msg) {
                        tally.record_latency(nanos);
                        tally.messages += 1;
                    }
                    tally.bytes += msg.len() as u64;
                }
                Ok(Some(Err(_))) | Ok(None) => {
                    tally.errors += 1;
                    break;
                }
                Err(_) => break,
            }
        }
        tally
    };
    let ((sent, send_errors), mut tally) = futures::join!(sending, receiving);
    tally.errors += send_errors + sent.saturating_sub(tally.messages);
    tally
}
