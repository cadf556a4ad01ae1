//! `echo`: messages sent and timed until their echo is back.

use std::time::{Duration, Instant};

use futures::{FutureExt, SinkExt, StreamExt};
use switchyard_endpoint::{Scheme, StreamFraming};

use crate::probe::CpuMeter;
use crate::report::{round, Report, Tally};
use crate::stamp::{latency_nanos, stamped};
use crate::{dial, dial_options, seconds, Common};

/// How long a reply may take before it counts as an error.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most messages in flight on one connection.
const MAX_WINDOW: usize = 1024;

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let duration = seconds(c.duration)?;
    let window = c.window;
    anyhow::ensure!(
        (1..=MAX_WINDOW).contains(&window),
        "--window is 1 to {MAX_WINDOW}"
    );
    if window > 1 {
        anyhow::ensure!(c.rate == 0.0, "--window is for the closed loop, not --rate");
        anyhow::ensure!(
            !(c.target.scheme == Scheme::Tcp && c.framing == StreamFraming::Raw),
            "--window needs messages: raw TCP echoes come back cut anywhere"
        );
    }
    let options = dial_options(c.framing, c.text, c.size, c.ca.as_deref(), c.deflate)?;
    let mut conns = Vec::with_capacity(c.connections);
    for _ in 0..c.connections {
        conns.push(dial(&c.target, &options).await?);
    }
    let meter = c.pid.map(CpuMeter::start).transpose()?;
    let start = Instant::now();
    let deadline = start + duration;
    let per_conn_rate = c.rate / c.connections as f64;
    // What the server sends per echo, on connections the kernel counts.
    let (from, to) = crate::wire::middle(start, duration);
    let port = (c.target.scheme != Scheme::Udp).then_some(c.target.port);
    let wire =
        switchyard_rt::spawn(async move { crate::wire::bytes_per_message(port?, from, to).await });
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let size = c.size;
            switchyard_rt::spawn(async move {
                if per_conn_rate > 0.0 {
                    open_loop(conn, start, deadline, size, per_conn_rate).await
                } else if window > 1 {
                    windowed_loop(conn, start, deadline, size, window).await
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
    Report::new(
        "echo",
        &c.target.to_string(),
        c.connections,
        c.size,
        elapsed,
        &total,
    )
    .with("rate", c.rate)
    .with("window", window as u64)
    .with(
        "server_wire_bytes_per_message",
        wire.await.map(|b| round(b, 1)),
    )
    .with_server_cpu(meter.as_ref())
}

/// One message in flight: send, wait for all of its echo, again.
async fn closed_loop(
    mut conn: switchyard_endpoint::BoxConnection,
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
        crate::wire::received(1);
        tally.bytes += got as u64;
    }
    let _ = conn.close().await;
    tally
}

/// `window` messages in flight: each echo that comes back is replaced by a
/// new message until the deadline, then the last ones are waited for.
/// Echoes already arrived are taken together and their replacements sent
/// in one write, so the load generator spends less per message than a
/// server that answers them one by one. Latency from the stamp in each echo.
async fn windowed_loop(
    conn: switchyard_endpoint::BoxConnection,
    start: Instant,
    deadline: Instant,
    size: usize,
    window: usize,
) -> Tally {
    let mut tally = Tally::default();
    let (mut sink, mut stream) = conn.split();
    let mut in_flight = 0;
    let mut to_send = window;
    loop {
        for _ in 0..to_send {
            if sink.feed(stamped(start, size)).await.is_err() {
                tally.errors += 1;
                return tally;
            }
        }
        in_flight += to_send;
        if sink.flush().await.is_err() {
            tally.errors += 1;
            return tally;
        }
        if in_flight == 0 {
            break;
        }
        let first = match switchyard_rt::timeout(REPLY_TIMEOUT, "echo", stream.next()).await {
            Ok(Some(Ok(msg))) => msg,
            _ => {
                tally.errors += in_flight as u64;
                return tally;
            }
        };
        // This echo and every one already here, replaced together below.
        let mut arrived = 0;
        let mut next = Some(first);
        while let Some(msg) = next {
            if let Some(nanos) = latency_nanos(start, &msg) {
                tally.record_latency(nanos);
            }
            tally.bytes += msg.len() as u64;
            arrived += 1;
            next = stream.next().now_or_never().flatten().and_then(Result::ok);
        }
        tally.messages += arrived as u64;
        crate::wire::received(arrived as u64);
        in_flight = in_flight.saturating_sub(arrived);
        to_send = if Instant::now() < deadline {
            arrived
        } else {
            0
        };
    }
    let _ = sink.close().await;
    tally
}

/// A fixed rate, independent of replies; latency from the stamp in each echo.
async fn open_loop(
    conn: switchyard_endpoint::BoxConnection,
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
                        crate::wire::received(1);
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
