//! A shutdown stops reading new data from targets, delivers what was
//! already taken, then closes with 1001: clients receive every byte the
//! bridge counted; what a client sends until it answers the 1001 still
//! reaches its target (RFC 6455 lets it send until its own close); and a
//! client that keeps sending after its 1001 holds the bridge no longer
//! than the grace period.

mod support;

use std::time::{Duration, Instant};
use switchyard_ws::WsMessage;

use futures::io::{AsyncReadExt, AsyncWriteExt};
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
        let grace = Duration::from_secs(3);
        let bridge = Bridge::bind(BridgeConfig::new(vec![listener]).shutdown_grace(grace))
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
        assert!(started.elapsed() < grace + Duration::from_secs(3));
        drop(sending);
    })
}

/// What clients send until they hear the 1001 and answer it, as a browser
/// does, reaches the target: every byte a client's send was accepted for
/// (the bridge keeps reading until the client's own close).
#[test]
fn what_clients_send_until_they_answer_the_1001_reaches_the_target() {
    switchyard_rt::block_on(async {
        const CLIENTS: usize = 4;
        const MESSAGE: usize = 64 << 10;
        // A target that counts what each connection brings, to its end.
        let (counted, mut counts) = futures::channel::mpsc::channel::<u64>(CLIENTS);
        let target = support::tcp_service(move |mut stream| {
            let mut counted = counted.clone();
            async move {
                let (mut total, mut buf) = (0u64, vec![0u8; 64 << 10]);
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    total += n as u64;
                }
                let _ = counted.send(total).await;
            }
        })
        .await;
        let listener = support::listener(Scheme::Ws, "/s", &format!("tcp://{target}"));
        let bridge =
            Bridge::bind(BridgeConfig::new(vec![listener]).shutdown_grace(Duration::from_secs(10)))
                .await
                .unwrap();
        let (addr, metrics, shutdown) =
            (bridge.local_addrs()[0], bridge.metrics(), bridge.shutdown());
        let serving = switchyard_rt::spawn(bridge.serve());

        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let client = switchyard_ws::connect(&format!("ws://{addr}/s"))
                .await
                .unwrap();
            let (mut sink, mut stream) = client.split();
            let heard = switchyard_rt::Shutdown::new();
            let hearing = heard.clone();
            // Reads until the 1001; tungstenite answers it.
            let reader = switchyard_rt::spawn(async move {
                while stream.next().await.is_some() {}
                hearing.trigger();
            });
            // Sends until it hears it: the bytes accepted.
            let writer = switchyard_rt::spawn(async move {
                let mut sent = 0u64;
                while !heard.is_triggered() {
                    match sink.send(WsMessage::binary(vec![7u8; MESSAGE])).await {
                        Ok(()) => sent += MESSAGE as u64,
                        Err(_) => break,
                    }
                }
                sent
            });
            clients.push((reader, writer));
        }
        switchyard_rt::sleep(Duration::from_millis(300)).await;
        shutdown.trigger();
        let mut sent = 0;
        for (reader, writer) in clients {
            switchyard_rt::timeout(Duration::from_secs(10), "reader", reader)
                .await
                .unwrap();
            sent += switchyard_rt::timeout(Duration::from_secs(10), "writer", writer)
                .await
                .unwrap();
        }
        switchyard_rt::timeout(Duration::from_secs(15), "shutdown", serving)
            .await
            .unwrap();
        let mut received = 0;
        for _ in 0..CLIENTS {
            received += switchyard_rt::timeout(Duration::from_secs(5), "count", counts.next())
                .await
                .unwrap()
                .unwrap();
        }
        assert!(sent > 0, "nothing was sent");
        assert_eq!(received, sent, "sent {sent}, the target got {received}");
        assert_eq!(metrics.bytes_to_target(), received);
    })
}
