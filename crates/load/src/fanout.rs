//! `fanout`: subscribers on a WebSocket, a publisher at a fixed rate
//! (HTTP POSTs to a push endpoint, or messages on a WebSocket), delivery
//! latency from the stamp in each message, and deliveries that never came.

use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};

use crate::probe::CpuMeter;
use crate::report::{Report, Tally};
use crate::stamp::{latency_nanos, stamped};
use crate::{dial, dial_options, seconds, Fanout, MAX_CONNECTIONS};

/// How long subscribers wait for late deliveries after the last publish.
const DRAIN: Duration = Duration::from_secs(2);

/// Publishes done and failed (the first failure is printed).
#[derive(Default)]
struct Published {
    published: u64,
    errors: u64,
}

impl Published {
    fn count(&mut self, result: anyhow::Result<()>) {
        match result {
            Ok(()) => self.published += 1,
            Err(e) => {
                if self.errors == 0 {
                    eprintln!("switchyard-load: publishing failed: {e:#}");
                }
                self.errors += 1;
            }
        }
    }
}

/// Where messages are published.
enum Publisher {
    /// `host:port` (to connect to, and for the `Host` header) and the path.
    Http {
        authority: String,
        path: String,
    },
    Ws(switchyard_connect::BoxConnection),
}

impl Publisher {
    async fn open(url: &str) -> anyhow::Result<Self> {
        if let Some(rest) = url.strip_prefix("http://") {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let path = if path.is_empty() { "/" } else { path };
            return Ok(Publisher::Http {
                authority: authority.to_string(),
                path: path.to_string(),
            });
        }
        let target = url.parse().map_err(|e| anyhow::anyhow!("--publish: {e}"))?;
        let options = dial_options(switchyard_connect::StreamFraming::Raw, true, 1 << 20, None)?;
        Ok(Publisher::Ws(dial(&target, &options).await?))
    }
}

/// One `POST` of `msg` to `path`, on a new connection; an error unless 200.
async fn post(authority: &str, path: &str, msg: &[u8]) -> anyhow::Result<()> {
    let mut stream =
        switchyard_tcp::connect(authority, switchyard_tcp::DEFAULT_CONNECT_TIMEOUT).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        msg.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(msg).await?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).await?;
    anyhow::ensure!(
        &status[9..12] == b"200",
        "push answered {}",
        String::from_utf8_lossy(&status)
    );
    Ok(())
}

pub async fn run(f: &Fanout) -> anyhow::Result<Report> {
    anyhow::ensure!(
        (1..=MAX_CONNECTIONS).contains(&f.subscribers),
        "--subscribers is 1 to {MAX_CONNECTIONS}"
    );
    anyhow::ensure!(
        f.rate > 0.0 && f.rate <= 1_000_000.0,
        "--rate is above 0, at most 1,000,000"
    );
    anyhow::ensure!(
        (1..=1024).contains(&f.posts_in_flight),
        "--posts-in-flight is 1 to 1024"
    );
    let duration = seconds(f.duration)?;
    let options = dial_options(switchyard_connect::StreamFraming::Raw, true, f.size, None)?;
    let mut subscribers = Vec::with_capacity(f.subscribers);
    let mut opening = futures::stream::iter(0..f.subscribers)
        .map(|i| dial(&f.subscribe[i % f.subscribe.len()], &options))
        .buffer_unordered(64);
    while let Some(conn) = opening.next().await {
        subscribers.push(conn?);
    }
    drop(opening);
    let mut publisher = Publisher::open(&f.publish).await?;
    // Subscriptions are registered as the upgrade completes; a moment more
    // for servers that subscribe after it.
    switchyard_rt::sleep(Duration::from_millis(200)).await;
    let meter = f.pid.map(CpuMeter::start).transpose()?;
    let start = Instant::now();
    let deadline = start + duration;
    let (done_tx, done_rx) = async_channel::bounded::<()>(1);
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut conn| {
            let done = done_rx.clone();
            switchyard_rt::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let next = conn.next();
                    let stop = done.recv();
                    futures::pin_mut!(next, stop);
                    match futures::future::select(next, stop).await {
                        futures::future::Either::Left((Some(Ok(msg)), _)) => {
                            if let Some(nanos) = latency_nanos(start, &msg) {
                                tally.record_latency(nanos);
                                tally.messages += 1;
                                tally.bytes += msg.len() as u64;
                            }
                        }
                        futures::future::Either::Left(_) => {
                            tally.errors += 1;
                            break;
                        }
                        futures::future::Either::Right(_) => break,
                    }
                }
                tally
            })
        })
        .collect();
    let interval = Duration::from_secs_f64(1.0 / f.rate);
    // One message per tick, stamped when its tick comes.
    let ticks = futures::stream::unfold(Instant::now(), |next| async move {
        if next >= deadline {
            return None;
        }
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            switchyard_rt::sleep(wait).await;
        }
        Some((stamped(start, f.size), next + interval))
    });
    futures::pin_mut!(ticks);
    let mut outcome = Published::default();
    match &mut publisher {
        // Each POST on its own connection, several under way at once: a
        // server slow to answer one does not hold back the rate.
        Publisher::Http { authority, path } => {
            let (authority, path) = (&*authority, &*path);
            let mut posts = ticks
                .map(|msg| async move { post(authority, path, &msg).await })
                .buffer_unordered(f.posts_in_flight);
            while let Some(result) = posts.next().await {
                outcome.count(result);
            }
        }
        Publisher::Ws(conn) => {
            while let Some(msg) = ticks.next().await {
                outcome.count(conn.send(msg).await.map_err(anyhow::Error::from));
            }
        }
    }
    let Published {
        published,
        errors: publish_errors,
    } = outcome;
    let published_for = start.elapsed();
    switchyard_rt::sleep(DRAIN).await;
    done_tx.close();
    let mut total = Tally::default();
    for tally in futures::future::join_all(readers).await {
        total.merge(&tally);
    }
    let expected = published * f.subscribers as u64;
    total.errors += publish_errors;
    Report::new(
        "fanout",
        &f.subscribe
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        f.subscribers,
        f.size,
        published_for,
        &total,
    )
    .with("published", published)
    .with("deliveries_expected", expected)
    .with(
        "deliveries_missing",
        expected.saturating_sub(total.messages),
    )
    .with_server_cpu(meter.as_ref())
}
