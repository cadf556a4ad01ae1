//! A publish retried with the same key, on any server, is not published
//! again: it gets the first one's receipt, marked duplicate, and
//! subscribers get the message once.

mod common;

use common::{hub, message, nothing_more, subscriber, text, Redis};
use switchyard_hub::HistoryConfig;

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_retried_publish_is_numbered_and_delivered_once() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default());
        let (a, _) = hub(config.clone()).await;
        let (b, _) = hub(config).await;
        let (mut on_a, _) = subscriber(&a, "orders").await;
        let (mut on_b, _) = subscriber(&b, "orders").await;

        let first = a
            .publish_once("orders", "order 1".into(), "key-1")
            .await
            .unwrap();
        assert!(!first.duplicate);
        assert_eq!(first.position.offset, 1);
        // Retried here and on the other server, even with other data.
        for (hub, data) in [(&a, "order 1"), (&b, "order 1"), (&b, "changed")] {
            let again = hub
                .publish_once("orders", data.into(), "key-1")
                .await
                .unwrap();
            assert!(again.duplicate);
            assert_eq!(again.position, first.position);
        }
        // Another key, or none, is another message.
        let second = b
            .publish_once("orders", "order 2".into(), "key-2")
            .await
            .unwrap();
        assert_eq!((second.position.offset, second.duplicate), (2, false));
        let third = a.publish("orders", "order 3".into()).await.unwrap();
        assert_eq!((third.position.offset, third.duplicate), (3, false));
        // A key is per topic.
        let elsewhere = a
            .publish_once("invoices", "x".into(), "key-1")
            .await
            .unwrap();
        assert_eq!((elsewhere.position.offset, elsewhere.duplicate), (1, false));

        for sub in [&mut on_a, &mut on_b] {
            for (offset, data) in [(1, "order 1"), (2, "order 2"), (3, "order 3")] {
                let msg = message(sub).await;
                assert_eq!((msg.offset(), text(&msg).as_str()), (offset, data));
            }
            nothing_more(sub).await;
        }
    });
}
