//! A pub/sub connection killed by Redis (`CLIENT KILL TYPE pubsub`): the
//! backplane notices, reconnects, and delivers what was published while it
//! was cut off, before anything else is published: exactly once, in order.

mod common;

use std::time::{Duration, Instant};

use common::{hub, message, nothing_more, subscriber, text, Redis, PATIENCE};
use switchyard_hub::HistoryConfig;

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_killed_pubsub_connection_is_replaced_and_what_it_missed_delivered() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        // The check would catch up too, later: it is out of the way here,
        // so that only the resync after reconnecting can deliver.
        let quiet = common::config(&redis.url(), HistoryConfig::default())
            .check_interval(Duration::from_secs(60))
            .reconnect_backoff(Duration::from_millis(300), Duration::from_millis(300));
        let (listening, _) = hub(quiet).await;
        let (publishing, _) = hub(common::config(&redis.url(), HistoryConfig::default())).await;
        let (mut sub, _) = subscriber(&listening, "news").await;
        for i in 1..=5 {
            publishing
                .publish("news", format!("m{i}").into())
                .await
                .unwrap();
        }
        for i in 1..=5 {
            assert_eq!(message(&mut sub).await.offset(), i);
        }
        let before = redis.pubsub_clients();
        assert_eq!(before.len(), 1, "only the listening hub subscribes");

        let killed = redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
        assert_eq!(killed.trim(), "1");
        // Published while the listening hub has no pub/sub connection (it
        // waits 300 ms before reconnecting).
        for i in 6..=10 {
            publishing
                .publish("news", format!("m{i}").into())
                .await
                .unwrap();
        }
        for i in 6..=10 {
            let msg = message(&mut sub).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let now = redis.pubsub_clients();
            if now.len() == 1 && now != before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no new pub/sub connection: {now:?}"
            );
            switchyard_rt::sleep(Duration::from_millis(20)).await;
        }
        for i in 11..=15 {
            publishing
                .publish("news", format!("m{i}").into())
                .await
                .unwrap();
            assert_eq!(message(&mut sub).await.offset(), i);
        }
        nothing_more(&mut sub).await;
    });
}
