//! Redis gone (killed): publishes fail at once with `Down` instead of
//! hanging, joins are refused, the status says why; when Redis is back,
//! the backplane is up again by itself.

mod common;

use std::time::{Duration, Instant};

use common::{hub, message, next, subscriber, wait_down, wait_up, Redis};
use switchyard_hub::{BackplaneError, BackplaneStatus, Delivery, HistoryConfig, PublishError};

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn with_redis_down_publishes_fail_fast_and_it_comes_back_by_itself() {
    common::logs();
    let mut redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::default());
        let request_timeout = config.request_timeout;
        let (hub, backplane) = hub(config).await;
        let (mut sub, _) = subscriber(&hub, "news").await;
        hub.publish("news", "before".into()).await.unwrap();
        assert_eq!(message(&mut sub).await.offset(), 1);

        redis.kill();
        // At once, before the backplane may have noticed: an error, not a
        // hang.
        let started = Instant::now();
        let early = hub.publish("news", "racing".into()).await;
        assert!(started.elapsed() < request_timeout + Duration::from_secs(1));
        assert!(
            matches!(
                early,
                Err(PublishError::Backplane(BackplaneError::Down { .. }))
            ),
            "{early:?}"
        );

        wait_down(&backplane).await;
        assert!(matches!(
            hub.backplane().status(),
            BackplaneStatus::Down { .. }
        ));
        let started = Instant::now();
        let refused = hub.publish("news", "while down".into()).await;
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        match refused {
            Err(PublishError::Backplane(BackplaneError::Down { reason })) => {
                assert!(!reason.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // A new subscriber is refused; the one already there waits.
        let mut late = hub.subscribe();
        late.join("sport").unwrap();
        assert!(matches!(next(&mut late).await, Delivery::Refused { .. }));

        // It keeps trying (every 300 ms at most here), and stays down.
        switchyard_rt::sleep(Duration::from_millis(700)).await;
        assert!(matches!(
            hub.backplane().status(),
            BackplaneStatus::Down { .. }
        ));

        redis.run();
        wait_up(&backplane).await;
        let receipt = hub.publish("news", "after".into()).await.unwrap();
        // Redis kept nothing: a new epoch, and the subscriber is told.
        match next(&mut sub).await {
            Delivery::Subscribed {
                recovered: false,
                position,
                ..
            } => {
                assert_eq!(position.epoch, receipt.position.epoch);
            }
            other => panic!("{other:?}"),
        }
        let msg = message(&mut sub).await;
        assert_eq!(msg.position(), receipt.position);
        let (_, position) = subscriber(&hub, "sport").await;
        assert_eq!(position.offset, 0);
    });
}
