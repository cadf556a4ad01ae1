//! A subscriber that goes away from one server and comes back on another
//! resumes where it was: exactly what it missed, then live messages; or,
//! when the history no longer holds the gap, a plain "not recovered" with
//! where the topic is now.

mod common;

use common::{hub, message, next, nothing_more, subscribed, subscriber, text, Redis};
use switchyard_hub::{Delivery, HistoryConfig};

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_subscriber_resumes_on_the_other_hub_with_exactly_what_it_missed() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default().size(5));
        let (a, _) = hub(config.clone()).await;
        let (b, _) = hub(config).await;

        let (mut sub, _) = subscriber(&a, "news").await;
        for i in 1..=3 {
            a.publish("news", format!("m{i}").into()).await.unwrap();
        }
        let mut last = None;
        for i in 1..=3 {
            let msg = message(&mut sub).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
            last = Some(msg.position());
        }
        let last = last.unwrap();
        drop(sub); // gone from A...
        for i in 4..=8 {
            a.publish("news", format!("m{i}").into()).await.unwrap();
        }

        // ...and back on B, which had no subscriber of the topic.
        let mut sub = b.subscribe();
        sub.resume("news", last.clone()).unwrap();
        assert_eq!(subscribed(&mut sub).await, (true, last));
        for i in 4..=8 {
            let msg = message(&mut sub).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
        }
        for i in 9..=10 {
            a.publish("news", format!("m{i}").into()).await.unwrap();
            let msg = message(&mut sub).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
        }
        nothing_more(&mut sub).await;
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn past_the_history_window_a_resume_is_not_recovered_and_goes_on_from_now() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default().size(3));
        let (a, _) = hub(config.clone()).await;
        let (b, _) = hub(config).await;

        let (mut sub, _) = subscriber(&a, "news").await;
        a.publish("news", "m1".into()).await.unwrap();
        let first = message(&mut sub).await.position();
        drop(sub);
        let mut current = None;
        for i in 2..=6 {
            current = Some(
                b.publish("news", format!("m{i}").into())
                    .await
                    .unwrap()
                    .position,
            );
        }
        let current = current.unwrap();
        assert_eq!(current.offset, 6);

        // Kept: 4, 5, 6. Offsets 2 and 3 are gone.
        let mut sub = b.subscribe();
        sub.resume("news", first.clone()).unwrap();
        assert_eq!(subscribed(&mut sub).await, (false, current.clone()));
        a.publish("news", "m7".into()).await.unwrap();
        let msg = message(&mut sub).await;
        assert_eq!((msg.offset(), text(&msg)), (7, "m7".to_string()));

        // A resume from within the window, on the same hub, is recovered.
        let mut again = b.subscribe();
        again.resume("news", current).unwrap();
        assert!(subscribed(&mut again).await.0);
        let msg = message(&mut again).await;
        assert_eq!(msg.offset(), 7);

        // A position ahead of the topic, or of another epoch, is not.
        let mut ahead = a.subscribe();
        let mut wrong = first.clone();
        wrong.offset = 99;
        ahead.resume("news", wrong).unwrap();
        match next(&mut ahead).await {
            Delivery::Subscribed {
                recovered,
                position,
                ..
            } => {
                assert!(!recovered);
                assert_eq!(position.offset, 7);
            }
            other => panic!("{other:?}"),
        }
        nothing_more(&mut sub).await;
    });
}
