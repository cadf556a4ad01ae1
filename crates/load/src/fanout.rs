//! `fanout`: subscribers on a WebSocket, a publisher at a fixed rate
//! (HTTP POSTs to a push endpoint, or messages on a WebSocket), delivery
//! latency from the stamp in each message, and deliveries that never came.
//!
//! Also how long the subscribers took to connect (the ramp), and, with
//! `--slow-fraction`, the same figures for subscribers that read slowly,
//! apart from the others': that the server cuts those off is expected, and
//! what matters is that the others do not notice (see `subscriber`). The
//! publisher is in `publish`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use switchyard_endpoint::WsSide;

use crate::probe::{rss_kib, CpuMeter};
use crate::publish::{Published, Publisher, Schedule};
use crate::report::{connections_per_second, round, Latency, Report, Tally};
use crate::subscriber::{End, Outcome, Until};
use crate::{dial_options, seconds, Fanout, MAX_CONNECTIONS};

/// Subscribers connecting at once while they are opened.
const RAMP: usize = 64;

/// From the subscribers' start to the first publish.
const SETTLE: Duration = Duration::from_millis(200);

/// The longest subscribers keep reading after publishing ends, when
/// deliveries keep coming (a server behind, slow subscribers catching up
/// to learn whether they were cut off).
const LAST_DRAIN: Duration = Duration::from_secs(10);

/// The longest a slow subscriber rests after each message, in milliseconds.
const MAX_SLOW_DELAY_MS: u64 = 60_000;

pub async fn run(f: &Fanout) -> anyhow::Result<Report> {
    check(f)?;
    let duration = seconds(f.duration)?;
    let slow = Slow::new(f.subscribers, f.slow_fraction);
    let rest = Duration::from_millis(f.slow_read_delay_ms);
    let rss_before = f.pid.map(rss_kib).transpose()?;
    let ramp_start = Instant::now();
    let (subscribers, connecting) = open(f).await?;
    let ramp = ramp_start.elapsed();
    let mut publisher = Publisher::open(&f.publish).await?;
    // Stamps are read against `start`; publishing starts a moment later,
    // once every subscriber is reading (the first push otherwise waits for
    // thousands of readers to start) and servers that register a
    // subscription after the upgrade have.
    let start = Instant::now();
    let (over, over_rx) = async_channel::bounded::<()>(1);
    let until = Until {
        over: over_rx,
        last: start + SETTLE + duration + LAST_DRAIN,
    };
    let (fast_tally, slow_tally) = (
        Arc::<Mutex<Tally>>::default(),
        Arc::<Mutex<Tally>>::default(),
    );
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|(i, conn)| {
            let is_slow = slow.is(i);
            let tally = if is_slow { &slow_tally } else { &fast_tally };
            let reading = crate::subscriber::read(
                conn,
                start,
                is_slow.then_some(rest),
                until.clone(),
                tally.clone(),
            );
            switchyard_rt::spawn(async move { (is_slow, reading.await) })
        })
        .collect();
    drop(until);
    switchyard_rt::sleep(SETTLE).await;
    let meter = f.pid.map(CpuMeter::start).transpose()?;
    let publishing = Instant::now();
    // What the server sends per delivery (one server only).
    let (from, to) = crate::wire::middle(publishing, duration);
    let port = (f.subscribe.len() == 1).then(|| f.subscribe[0].port);
    let wire =
        switchyard_rt::spawn(async move { crate::wire::bytes_per_message(port?, from, to).await });
    let published = publisher
        .run(Schedule {
            start,
            deadline: publishing + duration,
            rate: f.rate,
            size: f.size,
            posts_in_flight: f.posts_in_flight,
        })
        .await;
    let published_for = publishing.elapsed();
    over.close();
    let (mut fast, mut slow_ones) = (Group::default(), Group::default());
    for (is_slow, outcome) in futures::future::join_all(readers).await {
        let group = if is_slow { &mut slow_ones } else { &mut fast };
        group.add(outcome);
    }
    for (group, tally) in [(&mut fast, fast_tally), (&mut slow_ones, slow_tally)] {
        group.tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
    }
    let mut report = report(f, &published, published_for, &fast, &slow_ones)
        .with("ramp_seconds", round(ramp.as_secs_f64(), 3))
        .with(
            "connections_per_second",
            connections_per_second(f.subscribers, ramp),
        )
        .with("connect_latency_us", latency(&connecting))
        .with(
            "server_wire_bytes_per_message",
            wire.await.map(|b| round(b, 1)),
        );
    if let Some(before) = rss_before {
        report = report.with("server_rss_before_kib", before);
    }
    report.with_server_cpu(meter.as_ref())
}

fn check(f: &Fanout) -> anyhow::Result<()> {
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
    anyhow::ensure!(
        (0.0..=1.0).contains(&f.slow_fraction),
        "--slow-fraction is 0 to 1"
    );
    anyhow::ensure!(
        (1..=MAX_SLOW_DELAY_MS).contains(&f.slow_read_delay_ms),
        "--slow-read-delay-ms is 1 to {MAX_SLOW_DELAY_MS}"
    );
    if let Some(other) = f.subscribe.iter().find(|e| !e.scheme.is_websocket()) {
        anyhow::bail!("--subscribe takes ws:// or wss:// URLs, not {other}");
    }
    Ok(())
}

/// The deliveries: the main figures are those of the subscribers that are
/// not slow (all of them, without `--slow-fraction`), the slow ones' apart.
fn report(
    f: &Fanout,
    published: &Published,
    published_for: Duration,
    fast: &Group,
    slow: &Group,
) -> Report {
    let mut tally = Tally::default();
    tally.merge(&fast.tally);
    // A subscriber that is not slow and did not stay is a failure.
    tally.errors += fast.ended + published.errors;
    let expected = published.published * fast.subscribers;
    let subscribe = f
        .subscribe
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let report = Report::new(
        "fanout",
        &subscribe,
        f.subscribers,
        f.size,
        published_for,
        &tally,
    )
    .with("published", published.published)
    .with("deliveries_expected", expected)
    .with(
        "deliveries_missing",
        expected.saturating_sub(tally.messages),
    )
    .with("first_delivery_latency_us", latency(&fast.first))
    .with("later_delivery_latency_us", later(&fast.tally))
    .with("publish_latency_us", latency(&published.latency))
    .with("cut_off", fast.ended);
    if slow.subscribers == 0 {
        return report;
    }
    let slow_expected = published.published * slow.subscribers;
    report
        .with("slow_subscribers", slow.subscribers)
        .with("slow_read_delay_ms", f.slow_read_delay_ms)
        .with("slow_deliveries", slow.tally.messages)
        .with(
            "slow_deliveries_not_read",
            slow_expected.saturating_sub(slow.tally.messages),
        )
        .with("slow_cut_off", slow.ended)
        .with("slow_cut_off_with_1008", slow.slow_consumer)
        .with("slow_latency_us", latency(&slow.tally))
}

/// Which subscribers read slowly: `count` of them, spread evenly.
struct Slow {
    count: usize,
    of: usize,
}

impl Slow {
    fn new(subscribers: usize, fraction: f64) -> Self {
        let count = (fraction * subscribers as f64).round() as usize;
        Self {
            count: count.min(subscribers),
            of: subscribers,
        }
    }

    /// Whether subscriber `i` (0-based) is slow: where `i * count / of`
    /// steps up, which it does `count` times for `i` in `0..of`.
    fn is(&self, i: usize) -> bool {
        i * self.count / self.of != (i + 1) * self.count / self.of
    }
}

/// Opens the subscribers, [`RAMP`] at a time, each numbered (the order
/// `--subscribe` URLs are taken in); how long each took to connect.
async fn open(f: &Fanout) -> anyhow::Result<(Vec<(usize, WsSide)>, Tally)> {
    let options = dial_options(
        switchyard_endpoint::StreamFraming::Raw,
        true,
        f.size,
        None,
        f.deflate,
    )?;
    let mut subscribers = Vec::with_capacity(f.subscribers);
    let mut connecting = Tally::default();
    let mut opening = futures::stream::iter(0..f.subscribers)
        .map(|i| {
            let target = &f.subscribe[i % f.subscribe.len()];
            let options = &options;
            async move {
                let began = Instant::now();
                let conn = switchyard_endpoint::dial_websocket(target, options)
                    .await
                    .with_context(|| format!("cannot reach {target}"));
                (i, conn, began.elapsed())
            }
        })
        .buffer_unordered(RAMP);
    while let Some((i, conn, took)) = opening.next().await {
        let conn = conn.with_context(|| {
            format!(
                "subscriber {} of {} (with {} open)",
                i + 1,
                f.subscribers,
                subscribers.len()
            )
        })?;
        connecting.record_latency(took.as_nanos() as u64);
        subscribers.push((i, conn));
    }
    Ok((subscribers, connecting))
}

/// The subscribers of one kind (slow, or not), together.
#[derive(Default)]
struct Group {
    subscribers: u64,
    /// What they received, recorded as they went.
    tally: Tally,
    /// Each subscriber's first delivery.
    first: Tally,
    /// Connections that ended before the subscriber stopped reading.
    ended: u64,
    /// Of those, the ones the server closed with 1008 "slow consumer".
    slow_consumer: u64,
}

impl Group {
    fn add(&mut self, outcome: Outcome) {
        self.subscribers += 1;
        if let Some(nanos) = outcome.first {
            self.first.record_latency(nanos);
        }
        match outcome.end {
            End::Open => {}
            End::SlowConsumer => {
                self.ended += 1;
                self.slow_consumer += 1;
            }
            End::Lost => self.ended += 1,
        }
    }
}

/// A tally's latency percentiles as JSON (null if it has none).
/// The latency of the deliveries after each subscriber's first.
fn later(tally: &Tally) -> serde_json::Value {
    if tally.later.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::to_value(Latency::of(&tally.later)).unwrap_or_default()
}

fn latency(tally: &Tally) -> serde_json::Value {
    serde_json::to_value(Latency::of(&tally.latency)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_subscribers_are_as_many_as_asked_and_spread_evenly() {
        for (subscribers, fraction, count) in [
            (20, 0.25, 5),
            (10, 0.1, 1),
            (7, 0.0, 0),
            (7, 1.0, 7),
            (1000, 0.1, 100),
        ] {
            let slow = Slow::new(subscribers, fraction);
            let picked: Vec<usize> = (0..subscribers).filter(|&i| slow.is(i)).collect();
            assert_eq!(picked.len(), count, "{subscribers} x {fraction}");
            // Never two in a row unless more than half are slow.
            if fraction <= 0.5 {
                assert!(picked.windows(2).all(|w| w[1] - w[0] > 1), "{picked:?}");
            }
        }
    }
}
