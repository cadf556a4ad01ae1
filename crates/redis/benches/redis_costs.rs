//! What Redis costs the backplane, against a real `redis-server` started
//! for the run (Debian's, on a free port, nothing kept on disk):
//!
//! - publishes per second one Redis takes through the publish script, from
//!   1, 16 and 64 publishers at once (each waits for its receipt), with
//!   history on (100 kept) and off, and the Redis CPU each publish cost;
//! - the time one resume of 100 and of 1,000 missed messages takes (p50,
//!   p99), and the Redis CPU it cost.
//!
//! ```text
//! cargo bench -p switchyard-redis --bench redis_costs
//! ```
//!
//! Prints a Markdown table. A benchmark, not a test: nothing here is
//! asserted beyond every publish succeeding.

#[path = "../tests/common/server.rs"]
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchyard_hub::{Backplane, HistoryConfig, Hub, HubConfig, Position, Recovery};
use switchyard_redis::{RedisBackplane, RedisConfig};

/// Publishes per measurement, over all publishers.
const PUBLISHES: usize = 40_000;
/// Resumes per measurement.
const RESUMES: usize = 300;

fn main() {
    let redis = server::Redis::start();
    let pid = redis.pid().expect("redis-server runs");
    println!("| measurement | figure | Redis CPU per operation |");
    println!("| --- | ---: | ---: |");
    switchyard_rt::block_on(async {
        for (history, label) in [
            (HistoryConfig::off(), "history off"),
            (history(100), "100 kept"),
        ] {
            let (_hub, backplane) = backplane(&redis.url(), history).await;
            for publishers in [1, 16, 64] {
                let topic = format!("bench-{publishers}-{}", label.len());
                let cpu = cpu_seconds(pid);
                let started = Instant::now();
                publish_from(&backplane, &topic, publishers, PUBLISHES).await;
                let took = started.elapsed().as_secs_f64();
                let cpu = cpu_seconds(pid) - cpu;
                println!(
                    "| publish, 256 B, {publishers} at once, {label} | {:.0} publishes/s | {:.1} µs |",
                    PUBLISHES as f64 / took,
                    cpu * 1e6 / PUBLISHES as f64
                );
            }
            backplane.close();
        }
        let (_hub, backplane) = backplane(&redis.url(), history(1000)).await;
        for missed in [100u64, 1000] {
            let topic = format!("resume-{missed}");
            // 1,024: the last 1,000 are kept.
            publish_from(&backplane, &topic, 16, 1024).await;
            let last = match backplane.since(&topic, None).await {
                Ok(Recovery::NotRecovered { current }) => current,
                other => panic!("the topic's position: {other:?}"),
            };
            let from = Position {
                offset: last.offset - missed,
                epoch: last.epoch.clone(),
            };
            let mut took = Vec::with_capacity(RESUMES);
            let cpu = cpu_seconds(pid);
            for _ in 0..RESUMES {
                let started = Instant::now();
                match backplane.since(&topic, Some(&from)).await {
                    Ok(Recovery::Recovered(messages)) => assert_eq!(messages.len() as u64, missed),
                    other => panic!("a resume of {missed}: {other:?}"),
                }
                took.push(started.elapsed());
            }
            let cpu = cpu_seconds(pid) - cpu;
            took.sort();
            println!(
                "| resume of {missed} messages of 256 B | p50 {} p99 {} | {:.0} µs |",
                micros(took[took.len() / 2]),
                micros(took[took.len() * 99 / 100]),
                cpu * 1e6 / RESUMES as f64
            );
        }
        backplane.close();
    });
}

fn history(size: usize) -> HistoryConfig {
    HistoryConfig::default()
        .size(size)
        .max_resume(size)
        .ttl(Duration::from_secs(300))
}

/// A backplane on `url`, attached to a hub of its own (kept with it), once
/// it is up.
async fn backplane(url: &str, history: HistoryConfig) -> (Hub, Arc<RedisBackplane>) {
    let backplane = RedisBackplane::new(RedisConfig::new(url).history(history)).expect("a URL");
    let hub = Hub::with_backplane(HubConfig::default(), backplane.clone()).expect("attached");
    switchyard_rt::timeout(Duration::from_secs(5), "Redis", backplane.connected())
        .await
        .expect("connected to Redis");
    (hub, backplane)
}

/// `total` publishes of 256 bytes to `topic`, from `publishers` at once.
async fn publish_from(
    backplane: &Arc<RedisBackplane>,
    topic: &str,
    publishers: usize,
    total: usize,
) {
    let data = Bytes::from(vec![b'x'; 256]);
    let each = total / publishers;
    let tasks: Vec<_> = (0..publishers)
        .map(|_| {
            let (backplane, topic, data) = (backplane.clone(), topic.to_string(), data.clone());
            switchyard_rt::spawn(async move {
                for _ in 0..each {
                    backplane
                        .publish(&topic, data.clone(), None)
                        .await
                        .expect("published");
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
}

fn micros(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

/// Process `pid`'s CPU time (user + system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // After the command name, which may hold spaces, in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 =
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
    ticks as f64 / 100.0
}
