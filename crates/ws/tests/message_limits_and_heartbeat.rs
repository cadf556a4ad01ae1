//! Over-size messages close with 1009; a silent peer is dropped by the
//! heartbeat; subprotocols follow the server's preference.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use support::{start, upgrade_request};
use switchyard_ws::{connect_with, ClientConfig, HeartbeatConfig, WsServerConfig};

#[test]
fn a_message_over_the_maximum_closes_with_1009() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default().max_message(1000)).await;
        let config = ClientConfig::default().max_message(1 << 20);
        let mut client = connect_with(&format!("ws://{addr}/ws"), &config)
            .await
            .unwrap();
        client.send(vec![0u8; 1000].into()).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap().len(),
            1000,
            "the maximum itself passes"
        );
        client.send(vec![0u8; 1001].into()).await.unwrap();
        let end = switchyard_rt::timeout(Duration::from_secs(5), "close", client.next())
            .await
            .unwrap();
        assert!(end.is_none(), "{end:?}");
        let close = client.peer_close().expect("a close frame");
        assert_eq!(close.code, 1009);
        assert!(close.reason.contains("1001 > 1000"), "{}", close.reason);
    })
}

/// The client's read size bounds each read, not a message: one far larger
/// than it still arrives whole, and the small ones around it too.
#[test]
fn a_message_larger_than_the_clients_read_buffer_arrives_whole() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default().max_message(1 << 20)).await;
        let config = ClientConfig::default().read_buffer(256);
        assert_eq!(config.read_buffer, 256);
        // Less is taken as the least a read may take.
        assert_eq!(ClientConfig::default().read_buffer(1).read_buffer, 256);
        let mut client = connect_with(&format!("ws://{addr}/ws"), &config)
            .await
            .unwrap();
        let large: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for msg in [b"small".to_vec(), large.clone(), b"after".to_vec()] {
            client.send(msg.clone().into()).await.unwrap();
            assert_eq!(&client.next().await.unwrap().unwrap()[..], &msg[..]);
        }
    })
}

#[test]
fn a_peer_that_never_answers_pings_is_closed_within_interval_plus_timeout() {
    switchyard_rt::block_on(async {
        let heartbeat =
            HeartbeatConfig::new(Duration::from_millis(200), Duration::from_millis(200));
        let addr = start(WsServerConfig::default().heartbeat(Some(heartbeat))).await;
        let started = Instant::now();
        // Completes the handshake by hand, then reads without ever answering.
        let (pings, lived) = switchyard_rt::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            stream
                .write_all(upgrade_request(addr, "").as_bytes())
                .unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            // A server ping frame: FIN + opcode 9, unmasked, empty payload.
            let pings = seen.windows(2).filter(|w| w == &[0x89, 0x00]).count();
            (pings, started.elapsed())
        })
        .await;
        assert!(pings >= 1, "no ping was sent");
        assert!(
            lived >= Duration::from_millis(400) && lived < Duration::from_millis(1500),
            "closed after {lived:?}, not within interval + timeout"
        );
    })
}

#[test]
fn a_quiet_peer_that_answers_pings_stays_connected() {
    switchyard_rt::block_on(async {
        let heartbeat =
            HeartbeatConfig::new(Duration::from_millis(100), Duration::from_millis(100));
        let addr = start(WsServerConfig::default().heartbeat(Some(heartbeat))).await;
        let mut client = switchyard_ws::connect(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
        // Polling the client's stream answers the server's pings.
        let quiet =
            switchyard_rt::timeout(Duration::from_millis(800), "quiet", client.next()).await;
        assert!(quiet.is_err(), "the server closed a live peer: {quiet:?}");
        client.send("still here".into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), "still here".into());
    })
}

#[test]
fn the_servers_preferred_subprotocol_is_chosen() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default().protocols(["v2.bincode", "v1.json"])).await;
        let config = ClientConfig::default().protocols(["v1.json", "v2.bincode"]);
        let mut client = connect_with(&format!("ws://{addr}/ws"), &config)
            .await
            .unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            "protocol v2.bincode".into()
        );
    })
}

#[test]
fn a_refused_upgrade_is_a_client_error_with_the_status() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default()).await;
        let config = ClientConfig::default().header("Origin", "https://evil.example");
        let err = connect_with(&format!("ws://{addr}/ws"), &config)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("403"), "{err}");
    })
}
