//! Presence across servers: a name is one holder's in a room on every
//! server, the member list is the same everywhere, a released name is free
//! at once, and the names of a server that stopped (crashed, or cut off
//! from Redis) expire while the others' stay; a name someone else took
//! while its server was cut off stays theirs.

mod common;

use std::time::{Duration, Instant};

use common::{hub, Redis};
use switchyard_hub::{HistoryConfig, Presence};

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn names_are_unique_across_servers_and_a_stopped_servers_names_expire() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        // Claims live 1.5 s unless renewed; checks (and renewals) every 0.5 s.
        let config = common::config(&redis.url(), HistoryConfig::off())
            .presence_ttl(Duration::from_millis(1500));
        let (_a, on_a) = hub(config.clone()).await;
        let (_b, on_b) = hub(config).await;

        assert_eq!(on_a.claim("rust", "alice").await, Ok(true));
        assert_eq!(on_b.claim("rust", "alice").await, Ok(false), "taken on A");
        assert_eq!(on_b.claim("go", "alice").await, Ok(true), "another room");
        assert_eq!(on_b.claim("rust", "bob").await, Ok(true));
        for backplane in [&on_a, &on_b] {
            assert_eq!(
                backplane.members("rust").await,
                Ok(vec!["alice".to_string(), "bob".to_string()])
            );
        }

        // Released: free at once, here and there.
        on_a.release("rust", "alice");
        let deadline = Instant::now() + common::PATIENCE;
        while on_b.members("rust").await != Ok(vec!["bob".to_string()]) {
            assert!(Instant::now() < deadline, "alice was never released");
            switchyard_rt::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(on_b.claim("rust", "alice").await, Ok(true));

        // Renewed while their server runs: well past the time-to-live,
        // every name is still there.
        switchyard_rt::sleep(Duration::from_millis(3000)).await;
        assert_eq!(
            on_a.members("rust").await,
            Ok(vec!["alice".to_string(), "bob".to_string()])
        );

        // A server that stops renewing (here: closed, as a crash would)
        // loses its names once they expire; the other server's stay.
        let (_c, on_c) = hub(common::config(&redis.url(), HistoryConfig::off())
            .presence_ttl(Duration::from_millis(1500)))
        .await;
        assert_eq!(on_c.claim("rust", "carol").await, Ok(true));
        assert_eq!(on_a.members("rust").await.unwrap().len(), 3);
        on_c.close();
        let deadline = Instant::now() + Duration::from_secs(5);
        while on_a
            .members("rust")
            .await
            .unwrap()
            .contains(&"carol".to_string())
        {
            assert!(Instant::now() < deadline, "carol never expired");
            switchyard_rt::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            on_a.members("rust").await,
            Ok(vec!["alice".to_string(), "bob".to_string()])
        );
        assert_eq!(on_a.claim("rust", "carol").await, Ok(true), "free again");
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_full_room_refuses_more_names() {
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        let config = common::config(&redis.url(), HistoryConfig::off()).max_members(2);
        let (_a, on_a) = hub(config).await;
        assert_eq!(on_a.claim("small", "one").await, Ok(true));
        assert_eq!(on_a.claim("small", "two").await, Ok(true));
        let full = on_a.claim("small", "three").await;
        assert!(
            full.as_ref()
                .is_err_and(|e| e.to_string().contains("is full")),
            "{full:?}"
        );
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_name_taken_elsewhere_while_its_server_was_cut_off_stays_with_its_new_holder() {
    common::logs();
    let redis = Redis::start();
    switchyard_rt::block_on(async {
        // Renewals every 0.5 s.
        let config = common::config(&redis.url(), HistoryConfig::off());
        let (_a, on_a) = hub(config.clone()).await;
        let (_b, on_b) = hub(config).await;
        assert_eq!(on_a.claim("rust", "alice").await, Ok(true));
        assert_eq!(on_a.claim("rust", "carol").await, Ok(true));

        // As if A had been cut off past the time-to-live: its names
        // expired, and B took alice meanwhile.
        redis.cli(&["DEL", "switchyard:rust:members", "switchyard:rust:holders"]);
        assert_eq!(on_b.claim("rust", "alice").await, Ok(true));

        // A's next renewals claim carol again (still free), and leave
        // alice to B.
        let deadline = Instant::now() + common::PATIENCE;
        while on_b.members("rust").await != Ok(vec!["alice".to_string(), "carol".to_string()]) {
            assert!(Instant::now() < deadline, "carol was never claimed again");
            switchyard_rt::sleep(Duration::from_millis(20)).await;
        }
        let alices_holder = redis.cli(&["HGET", "switchyard:rust:holders", "alice"]);
        let carols_holder = redis.cli(&["HGET", "switchyard:rust:holders", "carol"]);
        assert_ne!(alices_holder, carols_holder, "alice is B's, carol A's");

        // A's alice ends: B's claim stays.
        on_a.release("rust", "alice");
        switchyard_rt::sleep(Duration::from_millis(1000)).await;
        assert_eq!(
            on_b.members("rust").await,
            Ok(vec!["alice".to_string(), "carol".to_string()])
        );
        assert_eq!(on_a.claim("rust", "alice").await, Ok(false), "B's");
        on_b.release("rust", "alice");
        let deadline = Instant::now() + common::PATIENCE;
        while on_a.claim("rust", "alice").await != Ok(true) {
            assert!(Instant::now() < deadline, "B's release never freed alice");
            switchyard_rt::sleep(Duration::from_millis(20)).await;
        }
    });
}
