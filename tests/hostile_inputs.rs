//! The catalogue of hostile inputs (docs/hostile-inputs.md), against the
//! example servers as a user runs them: each input gets its answer (a close,
//! a status, a close code), and afterwards a well-behaved client is served
//! and the server's open descriptors and memory are back where they were.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use support::{closed_by_peer, echo_round_trip, raw_connect, ExampleServer, RawWs};

/// Memory a server may keep after an attack: allocator noise, not what the
/// attack asked for.
const RSS_SLACK_KIB: u64 = 8 * 1024;

/// What a server looked like before an attack.
struct Before {
    fds: usize,
    rss_kib: u64,
}

fn before(server: &ExampleServer) -> Before {
    Before {
        fds: server.open_fds(),
        rss_kib: server.rss_kib(),
    }
}

/// After an attack: `good` (a well-behaved client) is served, descriptors
/// are back to what they were, and memory has not grown past the slack.
fn recovered(server: &ExampleServer, was: &Before, good: impl Fn(SocketAddr) -> bool) {
    assert!(good(server.addr), "a well-behaved client was not served");
    assert!(
        server.wait_until(Duration::from_secs(5), |s| s.open_fds() <= was.fds),
        "open descriptors {} -> {}",
        was.fds,
        server.open_fds()
    );
    let rss = server.rss_kib();
    assert!(
        rss <= was.rss_kib + RSS_SLACK_KIB,
        "resident memory {} KiB -> {rss} KiB",
        was.rss_kib
    );
}

/// A WebSocket echo round trip by a library client.
fn ws_round_trip(addr: SocketAddr) -> bool {
    use futures::{SinkExt, StreamExt};
    switchyard::rt::block_on(async move {
        let attempt = async {
            let mut client = switchyard::ws::connect(&format!("ws://{addr}/ws")).await?;
            client.send("still here?".into()).await?;
            client.next().await.transpose()
        };
        matches!(
            switchyard::rt::timeout(Duration::from_secs(5), "echo", attempt).await,
            Ok(Ok(Some(reply))) if reply == "still here?".into()
        )
    })
}

/// A UDP echo round trip.
fn udp_round_trip(addr: SocketAddr) -> bool {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(b"still here?", addr).unwrap();
    let mut buf = [0u8; 64];
    matches!(socket.recv_from(&mut buf), Ok((n, _)) if &buf[..n] == b"still here?")
}

/// Bytes that look random (a fixed xorshift sequence).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn tcp_server() -> ExampleServer {
    ExampleServer::start("tcp_server", &["127.0.0.1:0", "--idle-timeout", "2"])
}

#[test]
fn tcp_random_bytes_close_the_connection() {
    let server = tcp_server();
    let was = before(&server);
    for seed in 1..=20 {
        let mut attacker = raw_connect(server.addr);
        let _ = attacker.write_all(&noise(64 << 10, seed));
        assert!(closed_by_peer(&mut attacker), "seed {seed}: still open");
    }
    recovered(&server, &was, echo_round_trip);
}

#[test]
fn tcp_an_http_request_at_a_framed_port_is_named_and_closed() {
    let server = tcp_server();
    let was = before(&server);
    let mut attacker = raw_connect(server.addr);
    attacker
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(closed_by_peer(&mut attacker));
    assert!(
        server.wait_until(Duration::from_secs(2), |s| s
            .log()
            .contains("the peer sent an HTTP request")),
        "{}",
        server.log()
    );
    recovered(&server, &was, echo_round_trip);
}

#[test]
fn tcp_a_tls_client_hello_at_a_plain_port_is_named_and_closed() {
    let server = tcp_server();
    let was = before(&server);
    let mut attacker = raw_connect(server.addr);
    attacker
        .write_all(&[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ])
        .unwrap();
    assert!(closed_by_peer(&mut attacker));
    assert!(
        server.wait_until(Duration::from_secs(2), |s| s
            .log()
            .contains("a TLS handshake")),
        "{}",
        server.log()
    );
    recovered(&server, &was, echo_round_trip);
}

#[test]
fn tcp_a_peer_that_never_reads_is_closed_at_the_idle_timeout() {
    let server = tcp_server();
    let was = before(&server);
    let mut attacker = raw_connect(server.addr);
    attacker
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Echoes pile up unread until the server's writes block; after the
    // 2 s idle time-out with nothing moving, the server closes.
    let frame = [&(64u32 << 10).to_be_bytes()[..], &[7u8; 64 << 10]].concat();
    let mut wrote = 0usize;
    while attacker.write_all(&frame).is_ok() {
        wrote += frame.len();
        assert!(wrote < 1 << 30, "the server kept reading for 1 GiB");
    }
    recovered(&server, &was, echo_round_trip);
}

#[test]
fn tcp_an_endless_line_is_never_buffered() {
    let server = ExampleServer::start("tcp_server", &["127.0.0.1:0", "--lines"]);
    let was = before(&server);
    let mut attacker = raw_connect(server.addr);
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        attacker.write_all(&chunk).unwrap(); // 64 MiB, no newline
    }
    attacker.write_all(b"\nafter\n").unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\n") {
        attacker.read_exact(&mut byte).unwrap();
        reply.push(byte[0]);
    }
    assert_eq!(
        reply, b"after\n",
        "the connection went on after the long line"
    );
    drop(attacker);
    recovered(&server, &was, |addr| {
        let mut c = raw_connect(addr);
        c.write_all(b"hi\n").unwrap();
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).is_ok() && &buf == b"hi\n"
    });
}

#[test]
fn tcp_peers_that_vanish_mid_frame_leave_nothing_behind() {
    let server = tcp_server();
    let was = before(&server);
    for _ in 0..200 {
        let mut attacker = raw_connect(server.addr);
        let _ = attacker.write_all(&[0, 0, 1, 0, 1, 2, 3]); // 256 announced, 3 sent
                                                            // Reset rather than closed: linger 0 is the closest to a vanished host.
        let socket = socket2::SockRef::from(&attacker);
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
    recovered(&server, &was, echo_round_trip);
}

fn ws_server() -> ExampleServer {
    ExampleServer::start(
        "ws_echo_server",
        &["127.0.0.1:0", "--max-message", "65536", "--heartbeat", "1"],
    )
}

/// Sends `frame` (first byte, masked, payload) after a handshake; the close
/// code the server answers with.
fn ws_close_code_for(addr: SocketAddr, first: u8, masked: bool, payload: &[u8]) -> u16 {
    let mut client = RawWs::connect(addr, "/ws");
    let _ = client.write_raw_frame(first, masked, payload);
    client
        .read_until_close(&mut 0)
        .map(|(code, _)| code)
        .unwrap_or(0)
}

#[test]
fn ws_frames_that_break_the_protocol_are_closed_with_1002() {
    let server = ws_server();
    let was = before(&server);
    // An unmasked client frame; a reserved opcode; reserved bits set; a
    // continuation with nothing to continue; a control frame too long.
    assert_eq!(ws_close_code_for(server.addr, 0x82, false, b"x"), 1002);
    assert_eq!(ws_close_code_for(server.addr, 0x83, true, b"x"), 1002);
    assert_eq!(ws_close_code_for(server.addr, 0xc2, true, b"x"), 1002);
    assert_eq!(ws_close_code_for(server.addr, 0x80, true, b"x"), 1002);
    assert_eq!(ws_close_code_for(server.addr, 0x89, true, &[0; 200]), 1002);
    recovered(&server, &was, ws_round_trip);
}

#[test]
fn ws_text_that_is_not_utf8_is_closed_with_1007() {
    let server = ws_server();
    let was = before(&server);
    assert_eq!(
        ws_close_code_for(server.addr, 0x81, true, b"\xff\xfe"),
        1007
    );
    recovered(&server, &was, ws_round_trip);
}

#[test]
fn ws_a_message_over_the_limit_in_small_fragments_is_closed_with_1009() {
    let server = ws_server();
    let was = before(&server);
    let mut client = RawWs::connect(server.addr, "/ws");
    // 100 fragments of 1 KiB: each frame is small, the message is not.
    let _ = client.write_raw_frame(0x02, true, &[1; 1024]);
    for _ in 0..99 {
        if client.write_raw_frame(0x00, true, &[1; 1024]).is_err() {
            break;
        }
    }
    assert_eq!(client.read_until_close(&mut 0).unwrap().0, 1009);
    drop(client);
    recovered(&server, &was, ws_round_trip);
}

#[test]
fn ws_random_bytes_after_the_handshake_close_the_connection() {
    let server = ws_server();
    let was = before(&server);
    for seed in 1..=20 {
        let mut client = RawWs::connect(server.addr, "/ws");
        let _ = client.stream.write_all(&noise(16 << 10, seed));
        // A close frame (1002, 1007 or 1009, as the noise reads) or a plain
        // end: the connection does not stay.
        let mut closed = false;
        for _ in 0..1000 {
            match client.read_frame() {
                Ok((0x8, _)) | Err(_) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
            }
        }
        assert!(closed, "seed {seed}: still open");
    }
    recovered(&server, &was, ws_round_trip);
}

#[test]
fn ws_a_ping_flood_from_a_client_that_never_reads_stays_bounded() {
    let server = ws_server();
    let was = before(&server);
    let mut client = RawWs::connect(server.addr, "/ws");
    client
        .stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut sent = 0;
    for _ in 0..100_000 {
        if client.write_frame(0x9, b"ping").is_err() {
            break;
        }
        sent += 1;
    }
    assert!(sent > 1000);
    drop(client);
    recovered(&server, &was, ws_round_trip);
}

#[test]
fn ws_clients_that_vanish_without_closing_leave_nothing_behind() {
    let server = ws_server();
    let was = before(&server);
    for _ in 0..100 {
        let mut client = RawWs::connect(server.addr, "/ws");
        let _ = client.write_raw_frame(0x82, true, &[0; 10]);
        let socket = socket2::SockRef::from(&client.stream);
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
    // A client that stays connected and silent is dropped by the heartbeat
    // (a ping after 1 s, then 1 s to answer).
    let mut silent = RawWs::connect(server.addr, "/ws");
    silent
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut saw_ping = false;
    let ended = loop {
        match silent.read_frame() {
            Ok((0x9, _)) => saw_ping = true,
            Ok((0x8, _)) | Err(_) => break true,
            Ok(_) => {}
        }
    };
    assert!(saw_ping && ended);
    drop(silent);
    recovered(&server, &was, ws_round_trip);
}

#[test]
fn udp_a_flood_from_many_ports_does_not_stop_the_server() {
    let server = ExampleServer::start("udp_server", &["127.0.0.1:0"]);
    let was = before(&server);
    let mut sockets = Vec::new();
    for port in 0..500 {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for seed in 0..4 {
            let _ = socket.send_to(&noise(1200, port * 4 + seed + 1), server.addr);
        }
        sockets.push(socket);
    }
    // And datagrams over the maximum.
    let big = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = big.send_to(&[0u8; 65_507], server.addr);
    recovered(&server, &was, udp_round_trip);
}

#[test]
fn push_of_bytes_that_are_not_text_leaves_every_subscriber_connected() {
    use futures::StreamExt;
    let server = ExampleServer::start("ws_push", &["127.0.0.1:0"]);
    let addr = server.addr;
    let was = before(&server);
    switchyard::rt::block_on(async move {
        let mut first = switchyard::ws::connect(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let mut second = switchyard::ws::connect(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let post = |body: &[u8]| {
            let mut curl = TcpStream::connect(addr).unwrap();
            let head = format!(
                "POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            curl.write_all(&[head.as_bytes(), body].concat()).unwrap();
            let mut reply = String::new();
            let _ = curl.read_to_string(&mut reply);
            reply
        };
        // Wait until both are subscribed.
        let mut reply = String::new();
        for _ in 0..100 {
            reply = post(b"hello");
            if reply.contains("\"delivered\":2,") {
                break;
            }
            switchyard::rt::sleep(Duration::from_millis(20)).await;
        }
        assert!(reply.contains("\"delivered\":2,"), "{reply}");
        let refused = post(b"\xff\xfe bad");
        assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
        assert!(post(b"after").contains("\"delivered\":2,"));
        for client in [&mut first, &mut second] {
            // Numbered messages: what was published is each one's "data".
            let mut got = Vec::new();
            while got.last().map(String::as_str) != Some("after") {
                let msg = client.next().await.unwrap().unwrap();
                let msg: serde_json::Value = serde_json::from_slice(msg.data()).unwrap();
                if let Some(data) = msg["data"].as_str() {
                    got.push(data.to_string());
                }
            }
            assert!(got.iter().all(|m| m == "hello" || m == "after"), "{got:?}");
        }
    });
    recovered(&server, &was, |addr| {
        switchyard::rt::block_on(switchyard::ws::connect(&format!("ws://{addr}/ws"))).is_ok()
    });
}
