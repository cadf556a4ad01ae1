//! Two hubs (two servers) on one Redis: a publish on either reaches the
//! subscribers of both, every message exactly once and in order.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{hub, message, nothing_more, subscriber, text, Redis};
use switchyard_hub::HistoryConfig;

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_publish_on_either_hub_reaches_both_once_and_in_order() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default());
        let (a, _) = hub(config.clone()).await;
        let (b, _) = hub(config).await;
        let (mut on_a, start_a) = subscriber(&a, "news").await;
        let (mut on_b, start_b) = subscriber(&b, "news").await;
        assert_eq!(start_a, start_b, "both hubs see the same topic");
        assert_eq!(start_a.offset, 0);

        // One after the other, from either hub: numbered in that order.
        for i in 1..=100u64 {
            let from = if i % 2 == 0 { &a } else { &b };
            let receipt = from.publish("news", format!("{i}").into()).await.unwrap();
            assert_eq!(receipt.position.offset, i);
            assert_eq!(receipt.position.epoch, start_a.epoch);
            assert_eq!(receipt.delivered, switchyard_hub::Delivered::Later);
        }
        for sub in [&mut on_a, &mut on_b] {
            for i in 1..=100u64 {
                let msg = message(sub).await;
                assert_eq!((msg.offset(), text(&msg)), (i, i.to_string()));
            }
        }

        // All at once, from both: each offset once, in order, and the same
        // message at the same offset on both hubs.
        let publishes = (101..=200u64).map(|i| {
            let from = if i % 2 == 0 { &a } else { &b };
            from.publish("news", format!("{i}").into())
        });
        let receipts = futures::future::join_all(publishes).await;
        let offsets: BTreeSet<u64> = receipts
            .iter()
            .map(|r| r.as_ref().unwrap().position.offset)
            .collect();
        assert_eq!(offsets, (101..=200).collect());
        let mut seen = Vec::new();
        for offset in 101..=200u64 {
            let (x, y) = (message(&mut on_a).await, message(&mut on_b).await);
            assert_eq!((x.offset(), y.offset()), (offset, offset));
            assert_eq!(x.data(), y.data());
            seen.push(text(&x).parse::<u64>().unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (101..=200).collect::<Vec<_>>());
        nothing_more(&mut on_a).await;
        nothing_more(&mut on_b).await;
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn messages_on_their_way_during_a_check_are_not_taken_for_lost() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        // No history: a check that took messages on their way for lost
        // would reset the topic (subscribers told "not recovered").
        let config = common::config(&redis.url(), HistoryConfig::off());
        let (a, _) = hub(config.clone().check_interval(Duration::from_millis(10))).await;
        let (b, _) = hub(config).await;
        let (mut sub, _) = subscriber(&a, "ticks").await;
        for round in 0..20u64 {
            let publishes =
                (1..=10u64).map(|i| b.publish("ticks", format!("{}", round * 10 + i).into()));
            for receipt in futures::future::join_all(publishes).await {
                receipt.unwrap();
            }
            switchyard_rt::sleep(Duration::from_millis(5)).await;
        }
        for offset in 1..=200u64 {
            let msg = message(&mut sub).await;
            assert_eq!(msg.offset(), offset);
        }
        nothing_more(&mut sub).await;
    });
}
