//! What the Redis tests share: a `redis-server` of their own on a free
//! port (stopped, restarted and killed at will), backplanes configured to
//! react fast, and waiting on subscriptions with a time limit.
//!
//! Every Redis test is `#[ignore = "needs redis-server ..."]`: `cargo test`
//! lists them as ignored, and `cargo test -- --include-ignored` (or
//! `--ignored`) runs them where Debian's `redis-server` is installed.

#![allow(dead_code)] // each test file uses some of these

mod server;

pub use server::Redis;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchyard_hub::{
    Backplane, BackplaneStatus, Delivery, HistoryConfig, Hub, HubConfig, Position, Published,
    Subscription,
};
use switchyard_redis::{RedisBackplane, RedisConfig};

/// How long a test waits for anything before failing.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// Logs to the test's output with `RUST_LOG=switchyard_redis=debug`.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A configuration for `url` that notices and recovers from trouble fast.
pub fn config(url: &str, history: HistoryConfig) -> RedisConfig {
    RedisConfig::new(url)
        .history(history)
        .request_timeout(Duration::from_secs(2))
        .check_interval(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(300))
}

/// A hub on a new backplane with `config`, once the backplane is up.
pub async fn hub(config: RedisConfig) -> (Hub, Arc<RedisBackplane>) {
    let backplane = RedisBackplane::new(config).expect("a valid URL");
    let hub = Hub::with_backplane(HubConfig::default(), backplane.clone()).expect("attached");
    wait_up(&backplane).await;
    (hub, backplane)
}

/// Waits until the backplane is up.
pub async fn wait_up(backplane: &RedisBackplane) {
    switchyard_rt::timeout(PATIENCE, "the backplane coming up", backplane.connected())
        .await
        .expect("the backplane came up");
}

/// Waits until the backplane is down.
pub async fn wait_down(backplane: &RedisBackplane) {
    let deadline = Instant::now() + PATIENCE;
    while backplane.status() == BackplaneStatus::Up {
        assert!(Instant::now() < deadline, "the backplane never went down");
        switchyard_rt::sleep(Duration::from_millis(5)).await;
    }
}

/// The subscription's next delivery.
pub async fn next(sub: &mut Subscription) -> Delivery {
    switchyard_rt::timeout(PATIENCE, "the next delivery", sub.next())
        .await
        .expect("a delivery in time")
        .expect("the subscription goes on")
}

/// The subscription's next delivery, which must be a message.
pub async fn message(sub: &mut Subscription) -> Published {
    match next(sub).await {
        Delivery::Message(msg) => msg,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The subscription's next delivery, which must be a join's answer:
/// whether it was recovered, and the position.
pub async fn subscribed(sub: &mut Subscription) -> (bool, Position) {
    match next(sub).await {
        Delivery::Subscribed {
            recovered,
            position,
            ..
        } => (recovered, position),
        other => panic!("expected a join's answer, got {other:?}"),
    }
}

/// Nothing more arrives for a while.
pub async fn nothing_more(sub: &mut Subscription) {
    let waited = switchyard_rt::timeout(Duration::from_millis(300), "silence", sub.next()).await;
    if let Ok(delivery) = waited {
        panic!("expected nothing more, got {delivery:?}");
    }
}

/// A subscriber of `topic` on `hub`, its join answered; its position.
pub async fn subscriber(hub: &Hub, topic: &str) -> (Subscription, Position) {
    let mut sub = hub.subscribe();
    sub.join(topic).expect("joined");
    let (recovered, position) = subscribed(&mut sub).await;
    assert!(!recovered, "a plain join is never recovered");
    (sub, position)
}

/// The message's data, as text.
pub fn text(msg: &Published) -> String {
    String::from_utf8_lossy(msg.data()).into_owned()
}
