//! Messages reach idle subscribers through the hub's writer threads,
//! without their tasks, a burst too (drained by the writers, several
//! messages to a write when the publisher is faster than they are: the
//! hub's and ws's own tests show batches deterministically); every
//! subscriber has every message, once and in order, whichever way each
//! came, with or without envelopes.

mod support;

use std::time::Duration;

use futures::StreamExt;
use support::{start, subscriber};
use switchyard_push::hub::{Hub, HubConfig};
use switchyard_push::PushConfig;

const SUBSCRIBERS: usize = 20;

/// What `sub` receives, as text, until `n` messages.
async fn receive(
    sub: &mut switchyard_push::ws::WsConnection<switchyard_push::ws::ClientIo>,
    n: usize,
) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let msg = switchyard_rt::timeout(Duration::from_secs(5), "a message", sub.next())
            .await
            .unwrap_or_else(|e| panic!("{e} after {got:?}"))
            .expect("the connection stays open")
            .expect("a message");
        got.push(String::from_utf8(msg.to_vec()).unwrap());
    }
    got
}

/// What every subscriber received, and how many messages the hub
/// delivered directly.
async fn quiet_then_burst(config: PushConfig) -> (Vec<Vec<String>>, u64) {
    let hub = Hub::new(HubConfig::default());
    let addr = start(&hub, config.clone()).await;
    let mut subs = Vec::new();
    for _ in 0..SUBSCRIBERS {
        subs.push(subscriber(addr, "?topics=t").await);
    }
    while hub.subscribers("t") < SUBSCRIBERS {
        switchyard_rt::sleep(Duration::from_millis(5)).await;
    }
    // A subscriber is counted once it is in the topic, and its join's
    // position is read just after: a message published in between falls
    // before that position and is not owed to it. Let the last joins be
    // answered first.
    switchyard_rt::sleep(Duration::from_millis(50)).await;
    let mut expected = Vec::new();
    // Quiet: one message every 40 ms.
    for i in 0..5 {
        hub.publish("t", format!("quiet {i}").into()).await.unwrap();
        expected.push(format!("quiet {i}"));
        switchyard_rt::sleep(Duration::from_millis(40)).await;
    }
    // A burst: straight after one another.
    for i in 0..50 {
        hub.publish("t", format!("burst {i}").into()).await.unwrap();
        expected.push(format!("burst {i}"));
    }
    switchyard_rt::sleep(Duration::from_millis(40)).await;
    hub.publish("t", "quiet again".into()).await.unwrap();
    expected.push("quiet again".into());
    // With envelopes, each join's answer comes first.
    let answers = usize::from(config.numbered);
    let mut all = Vec::new();
    for sub in &mut subs {
        all.push(receive(sub, answers + expected.len()).await);
    }
    let stats = hub.stats();
    for (i, got) in all.iter().enumerate() {
        let got: Vec<String> = if config.numbered {
            got.iter()
                .filter_map(|m| {
                    let v: serde_json::Value = serde_json::from_str(m).unwrap();
                    v.get("data").and_then(|d| d.as_str()).map(str::to_string)
                })
                .collect()
        } else {
            got.clone()
        };
        assert_eq!(got, expected, "subscriber {i}");
    }
    (all, stats.delivered_directly)
}

#[test]
fn idle_subscribers_are_written_to_directly_a_burst_too_and_miss_nothing() {
    switchyard_rt::block_on(async {
        let (_, directly) = quiet_then_burst(PushConfig::default()).await;
        // The first message after a join comes through the task; the
        // other 55 may come directly. A writer that declines some (the
        // socket busy, a pong being written) is allowed.
        let most = 55 * SUBSCRIBERS as u64;
        assert!(
            (20 * SUBSCRIBERS as u64..=most).contains(&directly),
            "{directly} of {most} delivered directly"
        );
    })
}

#[test]
fn with_envelopes_direct_delivery_sends_the_same_messages() {
    switchyard_rt::block_on(async {
        let (all, directly) = quiet_then_burst(PushConfig::default().numbered(true)).await;
        assert!(directly >= SUBSCRIBERS as u64, "only {directly}");
        // Numbered in order: offsets 1, 2, 3... for everyone.
        for got in all {
            let offsets: Vec<u64> = got
                .iter()
                .filter_map(|m| {
                    let v: serde_json::Value = serde_json::from_str(m).unwrap();
                    v.get("offset").and_then(|o| o.as_u64())
                })
                .collect();
            // The answer says where the subscriber starts (0), then 1, 2...
            assert_eq!(offsets, (0..offsets.len() as u64).collect::<Vec<_>>());
        }
    })
}

#[test]
fn turned_off_nothing_is_delivered_directly() {
    switchyard_rt::block_on(async {
        let (_, directly) = quiet_then_burst(PushConfig::default().direct(false)).await;
        assert_eq!(directly, 0);
    })
}
