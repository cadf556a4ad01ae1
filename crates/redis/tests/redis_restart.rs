//! Redis restarted: without persistence its topics start again under new
//! epochs, and every subscriber is told it lost messages; with an
//! append-only file, nothing is lost and resumes go on in the same epoch.

mod common;

use common::{hub, message, nothing_more, subscribed, subscriber, text, wait_down, wait_up, Redis};
use switchyard_hub::HistoryConfig;

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn without_persistence_the_epoch_changes_and_subscribers_are_told() {
    common::logs();
    let mut redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default());
        let (a, backplane_a) = hub(config.clone()).await;
        let (b, backplane_b) = hub(config).await;
        let (mut live, before) = subscriber(&a, "news").await;
        for i in 1..=3 {
            a.publish("news", format!("m{i}").into()).await.unwrap();
        }
        let mut last = before.clone();
        for _ in 1..=3 {
            last = message(&mut live).await.position();
        }
        assert_eq!(last.offset, 3);

        redis.stop();
        wait_down(&backplane_a).await;
        wait_down(&backplane_b).await;
        redis.run();
        wait_up(&backplane_a).await;
        wait_up(&backplane_b).await;

        // The live subscriber is told its topic started again...
        let (recovered, now) = subscribed(&mut live).await;
        assert!(!recovered);
        assert_ne!(now.epoch, before.epoch, "a new epoch");
        assert_eq!(now.offset, 0);
        // ...and goes on from there.
        let receipt = b.publish("news", "after".into()).await.unwrap();
        assert_eq!(receipt.position.epoch, now.epoch);
        let msg = message(&mut live).await;
        assert_eq!(
            (msg.offset(), msg.epoch(), text(&msg).as_str()),
            (1, &now.epoch, "after")
        );

        // A position of the old epoch cannot be resumed, on either hub.
        for hub in [&a, &b] {
            let mut back = hub.subscribe();
            back.resume("news", last.clone()).unwrap();
            let (recovered, position) = subscribed(&mut back).await;
            assert!(!recovered);
            assert_eq!(position, receipt.position);
        }
        nothing_more(&mut live).await;
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn with_persistence_nothing_is_lost_resumes_recover_and_retries_are_known() {
    common::logs();
    let mut redis = Redis::start_persistent();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default());
        let (a, backplane_a) = hub(config.clone()).await;
        let (b, backplane_b) = hub(config).await;
        let (mut live, before) = subscriber(&a, "news").await;
        for i in 1..=2 {
            a.publish("news", format!("m{i}").into()).await.unwrap();
        }
        // Its reply is taken as lost: the publisher will try again.
        let keyed = a
            .publish_once("news", "m3".into(), "retry-me")
            .await
            .unwrap();
        let first = message(&mut live).await.position();
        for _ in 2..=3 {
            message(&mut live).await;
        }

        redis.stop();
        wait_down(&backplane_a).await;
        wait_down(&backplane_b).await;
        redis.run();
        wait_up(&backplane_a).await;
        wait_up(&backplane_b).await;

        // The retry, after the restart and on the other server, is known.
        let retried = b
            .publish_once("news", "m3".into(), "retry-me")
            .await
            .unwrap();
        assert!(retried.duplicate);
        assert_eq!(retried.position, keyed.position);

        // Same epoch, same offsets: the live subscriber just goes on.
        let receipt = b.publish("news", "m4".into()).await.unwrap();
        assert_eq!(
            (receipt.position.offset, &receipt.position.epoch),
            (4, &before.epoch)
        );
        let msg = message(&mut live).await;
        assert_eq!((msg.offset(), text(&msg).as_str()), (4, "m4"));

        // One that left after the first message resumes, on the other hub,
        // with everything that followed it.
        let mut back = b.subscribe();
        back.resume("news", first.clone()).unwrap();
        assert_eq!(subscribed(&mut back).await, (true, first));
        for i in 2..=4 {
            let msg = message(&mut back).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
        }
        nothing_more(&mut live).await;
        nothing_more(&mut back).await;
    });
}
