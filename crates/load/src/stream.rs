//! `stream`: one-way bulk sends as fast as backpressure allows. Whatever
//! comes back (an echo server's copy) is read and counted too, so that the
//! server is never held up by us.

use std::time::Instant;

use futures::{SinkExt, StreamExt};

use crate::probe::CpuMeter;
use crate::report::{Report, Tally};
use crate::{dial, dial_options, seconds, Common};

pub async fn run(c: &Common) -> anyhow::Result<Report> {
    let duration = seconds(c.duration)?;
    let options = dial_options(c.framing, c.text, c.size, c.ca.as_deref(), c.deflate)?;
    let mut conns = Vec::with_capacity(c.connections);
    for _ in 0..c.connections {
        conns.push(dial(&c.target, &options).await?);
    }
    let payload = bytes::Bytes::from(vec![0x5au8; c.size.max(1)]);
    let meter = c.pid.map(CpuMeter::start).transpose()?;
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let payload = payload.clone();
            switchyard_rt::spawn(async move {
                let (mut sink, mut stream) = conn.split();
                let sending = async move {
                    let mut tally = Tally::default();
                    while Instant::now() < deadline {
                        if sink.send(payload.clone()).await.is_err() {
                            tally.errors += 1;
                            break;
                        }
                        tally.messages += 1;
                        tally.bytes += payload.len() as u64;
                    }
                    // Counted only once it has left: the close flushes.
                    if sink.close().await.is_err() {
                        tally.errors += 1;
                    }
                    tally
                };
                let draining = async move {
                    let mut received = 0u64;
                    let until = deadline + std::time::Duration::from_secs(2);
                    while let Ok(Some(Ok(msg))) = switchyard_rt::timeout(
                        until.saturating_duration_since(Instant::now()),
                        "drain",
                        stream.next(),
                    )
                    .await
                    {
                        received += msg.len() as u64;
                    }
                    received
                };
                let finished = async {
                    let tally = sending.await;
                    (tally, Instant::now())
                };
                let ((tally, finished), received) = futures::join!(finished, draining);
                (tally, received, finished)
            })
        })
        .collect();
    let mut total = Tally::default();
    let mut received = 0;
    let mut sent_until = deadline;
    for (tally, got, finished) in futures::future::join_all(tasks).await {
        total.merge(&tally);
        received += got;
        sent_until = sent_until.max(finished);
    }
    let elapsed = sent_until.duration_since(start);
    Report::new(
        "stream",
        &c.target.to_string(),
        c.connections,
        c.size,
        elapsed,
        &total,
    )
    .with("bytes_received", received)
    .with_server_cpu(meter.as_ref())
}
