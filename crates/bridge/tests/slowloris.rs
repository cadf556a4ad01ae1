//! Clients that trickle their request headers cannot starve the bridge's
//! WebSocket listener: with twice its connection limit of them connected,
//! a real client connects and is relayed within a second.

mod support;

use std::time::{Duration, Instant};

use futures::io::AsyncWriteExt;
use futures::{SinkExt, StreamExt};
use switchyard_bridge::Scheme;

#[test]
fn with_twice_the_limit_in_slowloris_a_real_client_is_relayed_within_a_second() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let listener = support::listener(Scheme::Ws, "/s", &format!("tcp://{echo}"))
            .websocket_options(|ws| {
                let http = ws.http.clone().max_connections(100);
                ws.http(http)
            });
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];
        let mut held = Vec::new();
        for _ in 0..200 {
            let mut stream = switchyard_rt::net::TcpStream::connect(addr).await.unwrap();
            let _ = stream.write_all(b"GET /s HTTP/1.1\r\nX-Slow: ").await;
            held.push(stream);
        }
        let trickling = switchyard_rt::spawn(async move {
            for _ in 0..50 {
                switchyard_rt::sleep(Duration::from_millis(200)).await;
                for stream in &mut held {
                    let _ = stream.write_all(b"a").await;
                }
            }
        });
        switchyard_rt::sleep(Duration::from_millis(300)).await;
        for _ in 0..3 {
            let started = Instant::now();
            let relayed = switchyard_rt::timeout(Duration::from_secs(1), "a real client", async {
                let mut client = switchyard_ws::connect(&format!("ws://{addr}/s")).await?;
                client.send("hello".into()).await?;
                client.next().await.transpose()
            })
            .await
            .expect("not relayed within a second");
            assert_eq!(relayed.unwrap().as_deref(), Some(&b"hello"[..]));
            assert!(started.elapsed() < Duration::from_secs(1));
        }
        drop(trickling);
    })
}
