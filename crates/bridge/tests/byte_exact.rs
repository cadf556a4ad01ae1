//! What goes through the bridge comes out exactly: 64 MiB of random bytes
//! through ws -> tcp echo and back, datagram boundaries through ws <-> udp,
//! and lines and length-prefixed frames on a TCP target.

mod support;

use std::time::Duration;

use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};
use switchyard_bridge::{Scheme, StreamFraming};

/// FNV-1a, enough to compare two long streams.
fn checksum(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

#[test]
fn sixty_four_mebibytes_through_ws_to_tcp_echo_come_back_byte_exact() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/raw",
            &format!("tcp://{echo}"),
        )])
        .await;
        let client = support::client(
            Scheme::Ws,
            bridge.addrs[0],
            "/raw",
            StreamFraming::Raw,
            None,
        )
        .await;
        let (mut sink, mut stream) = client.split();

        const TOTAL: usize = 64 << 20;
        let sending = switchyard_rt::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(7);
            let (mut sent, mut hash) = (0usize, 0xcbf2_9ce4_8422_2325u64);
            while sent < TOTAL {
                // Messages of varied sizes; raw framing re-cuts them anyway.
                let len = rng.usize(1..=(256 << 10)).min(TOTAL - sent);
                let mut msg = vec![0u8; len];
                rng.fill(&mut msg);
                checksum(&mut hash, &msg);
                sink.send(msg.into()).await.unwrap();
                sent += len;
            }
            hash
        });
        let (mut received, mut hash) = (0usize, 0xcbf2_9ce4_8422_2325u64);
        while received < TOTAL {
            let msg = switchyard_rt::timeout(Duration::from_secs(20), "echo", stream.next())
                .await
                .unwrap()
                .expect("the stream goes on")
                .unwrap();
            checksum(&mut hash, &msg);
            received += msg.len();
        }
        let sent_hash = sending.await;
        assert_eq!(received, TOTAL);
        assert_eq!(hash, sent_hash, "the checksums differ");
    })
}

#[test]
fn datagram_boundaries_survive_ws_to_udp_and_back() {
    switchyard_rt::block_on(async {
        let echo = support::udp_echo().await;
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/dns",
            &format!("udp://{echo}"),
        )])
        .await;
        let url = format!("ws://{}/dns", bridge.addrs[0]);
        let mut client = switchyard_ws::connect(&url).await.unwrap();
        // Sent back to back: each message must come back as itself, never
        // merged with or split from its neighbours.
        let sizes = [1usize, 0, 512, 1472, 9000, 65_507, 2, 40_000];
        for size in sizes {
            let msg: bytes::Bytes = (0..size).map(|i| (i % 251) as u8).collect();
            client.send(msg.into()).await.unwrap();
        }
        for size in sizes {
            let back = client.next().await.unwrap().unwrap();
            assert_eq!(back.len(), size);
            assert!(back.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        }
        // One over the UDP maximum cannot be a datagram: the client is told so.
        client.send(vec![0u8; 65_508].into()).await.unwrap();
        assert!(client.next().await.is_none());
        let close = client.peer_close().expect("a close frame");
        assert_eq!(close.code, 1009, "{close:?}");
        assert!(close.reason.contains("65508"), "{close:?}");
    })
}

/// A bridge from a WebSocket (text messages) to the line service at
/// `target`, and a client of it.
async fn text_lines_client(
    target: std::net::SocketAddr,
) -> (
    support::Running,
    switchyard_ws::WsConnection<switchyard_ws::ClientIo>,
) {
    let mut listener = support::listener(Scheme::Ws, "/term", &format!("tcp://{target}"));
    listener.routes[0] = listener.routes[0]
        .clone()
        .framing(StreamFraming::Lines)
        .text(true);
    let bridge = support::start(vec![listener]).await;
    let url = format!("ws://{}/term", bridge.addrs[0]);
    let client = switchyard_ws::connect(&url).await.unwrap();
    (bridge, client)
}

#[test]
fn lines_on_a_tcp_target_are_text_messages_on_the_websocket() {
    switchyard_rt::block_on(async {
        // A line service: answers each line with it in upper case.
        let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        switchyard_rt::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut lines = futures::io::BufReader::new(stream.clone()).lines();
            let mut out = stream;
            out.write_all(b"welcome\r\n").await.unwrap();
            while let Some(Ok(line)) = lines.next().await {
                out.write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                    .await
                    .unwrap();
            }
        });
        let (_bridge, mut client) = text_lines_client(addr).await;
        // Equal as WebSocket messages: text, with the same bytes.
        assert_eq!(client.next().await.unwrap().unwrap(), "welcome".into());
        for line in ["ls -l", "", "ünïcode"] {
            client.send(line.into()).await.unwrap();
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                line.to_uppercase().into()
            );
        }
    })
}

#[test]
fn a_line_that_is_not_utf8_is_left_out_of_a_text_websocket_and_counted() {
    switchyard_rt::block_on(async {
        let addr = support::one_connection_target(|mut stream| async move {
            stream
                .write_all(b"before\n\xff\xfe latin-1\nafter\n")
                .await
                .unwrap();
            switchyard_rt::sleep(std::time::Duration::from_secs(5)).await;
        })
        .await;
        let (bridge, mut client) = text_lines_client(addr).await;
        assert_eq!(client.next().await.unwrap().unwrap(), "before".into());
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            "after".into(),
            "the session went on"
        );
        client.close(1000, "done").await.unwrap();
        let metrics = bridge.metrics.clone();
        assert!(
            support::eventually(std::time::Duration::from_secs(5), || metrics
                .sessions_open()
                == 0)
            .await
        );
        assert_eq!(bridge.metrics.skipped(), 1);
        assert_eq!(
            bridge.metrics.errors(switchyard_bridge::ErrorKind::Client),
            0
        );
    })
}

#[test]
fn length_prefixed_frames_on_a_tcp_listener_are_messages_on_a_ws_target() {
    switchyard_rt::block_on(async {
        let echo = support::ws_echo(None).await;
        let mut listener = support::listener(Scheme::Tcp, "/", &format!("ws://{echo}/echo"));
        listener.routes[0] = listener.routes[0]
            .clone()
            .framing(StreamFraming::LengthPrefixed);
        let bridge = support::start(vec![listener]).await;
        // Written by hand on the wire: a 4-byte big-endian length, then the bytes.
        let mut tcp = switchyard_rt::net::TcpStream::connect(bridge.addrs[0])
            .await
            .unwrap();
        let mut wire = Vec::new();
        for msg in [&b"first"[..], b"", b"third message"] {
            wire.extend_from_slice(&(msg.len() as u32).to_be_bytes());
            wire.extend_from_slice(msg);
        }
        tcp.write_all(&wire).await.unwrap();
        let mut back = vec![0u8; wire.len()];
        tcp.read_exact(&mut back).await.unwrap();
        assert_eq!(back, wire);
    })
}
