//! A shutdown stops reading new data, delivers what was already taken,
//! then closes with 1001: clients receive every byte the bridge counted,
//! and a client that keeps sending after its 1001 does not hold the bridge.

mod support;

use std::time::{Duration, Instant};
use switchyard_ws::WsMessage;

use futures::io::AsyncWriteExt;
use futures::{SinkExt, StreamExt};
use switchyard_bridge::{Bridge, BridgeConfig, Scheme};

/// A TCP service that sends every client an endless stream of bytes
/// (byte `i` is `i % 251`), as fast as the client takes them.
async fn streaming_target() -> std::net::SocketAddr {
    support::tcp_service(|mut stream| async move {
        let pattern: Vec<u8> = (0..251 * 256).map(|i| (i % 251) as u8).collect();
        while stream.write_all(&pattern).await.is_ok() {}
    })
    .await
}

#[test]
fn a_shutdown_delivers_what_was_taken_and_counts_only_that() {
    switchyard_rt::block_on(async {
        const SESSIONS: usize = 8;
        let target = streaming_target().await;
        let listener = support::listener(Scheme::Ws, "/s", &format!("tcp://{target}"));
        let bridge =
            Bridge::bind(BridgeConfig::new(vec![listener]).shutdown_grace(Duration::from_secs(30)))
                .await
                .unwrap();
        let (addr, metrics, shutdown) =
            (bridge.local_addrs()[0], bridge.metrics(), bridge.shutdown());
        let serving = switchyard_rt::spawn(bridge.serve());

        let mut readers = Vec::new();
        for _ in 0..SESSIONS {
            let url = format!("ws://{addr}/s");
            let mut client = switchyard_ws::connect(&url).await.unwrap();
            readers.push(switchyard_rt::spawn(async move {
                let mut received = 0u64;
                while let Some(msg) = client.next().await {
                    let msg = msg.unwrap();
                    for (i, byte) in msg.iter().enumerate() {
                        assert_eq!(
                            u64::from(*byte),
                            (received + i as u64) % 251,
                            "a hole in the stream at byte {}",
                            received + i as u64
                        );
                    }
                    received += msg.len() as u64;
                }
                (received, client.peer_close().map(|c| c.code))
            }));
        }
        switchyard_rt::sleep(Duration::from_millis(300)).await;
        shutdown.trigger();
        let mut total = 0;
        for reader in readers {
            let (received, close) =
                switchyard_rt::timeout(Duration::from_secs(10), "reader", reader)
                    .await
                    .unwrap();
            assert_eq!(close, Some(1001));
            total += received;
        }
        assert!(total > 0, "nothing was relayed before the shutdown");
        switchyard_rt::timeout(Duration::from_secs(10), "shutdown", serving)
            .await
            .unwrap();
        assert_eq!(metrics.sessions_open(), 0);
        let counted: u64 = metrics
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("switchyard_bridge_bytes_to_client_total "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert_eq!(
            counted, total,
            "the bridge counted bytes its clients never received"
        );
    })
}

#[test]
fn a_client_that_keeps_sending_after_its_1001_does_not_hold_the_bridge() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let listener = support::listener(Scheme::Ws, "/s", &format!("tcp://{echo}"));
        let bridge =
            Bridge::bind(BridgeConfig::new(vec![listener]).shutdown_grace(Duration::from_secs(30)))
                .await
                .unwrap();
        let (addr, shutdown) = (bridge.local_addrs()[0], bridge.shutdown());
        let serving = switchyard_rt::spawn(bridge.serve());
        let mut client = switchyard_ws::connect(&format!("ws://{addr}/s"))
            .await
            .unwrap();
        client.send("hello".into()).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("hello")
        );
        // This client never answers a close: it only sends, and never reads.
        let sending = switchyard_rt::spawn(async move {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if client.send("more".into()).await.is_err() {
                    break;
                }
                switchyard_rt::sleep(Duration::from_millis(5)).await;
            }
        });
        let started = Instant::now();
        shutdown.trigger();
        switchyard_rt::timeout(Duration::from_secs(10), "shutdown", serving)
            .await
            .expect("a client sending after its 1001 held the bridge");
        assert!(started.elapsed() < Duration::from_secs(10));
        drop(sending);
    })
}
