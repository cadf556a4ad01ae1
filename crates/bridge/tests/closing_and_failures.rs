//! How sessions end: end of stream carried both ways, an unreachable or
//! dying target reported with 1014, idle sessions ended with a reason.

mod support;

use std::time::Duration;
use switchyard_ws::WsMessage;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};
use switchyard_bridge::{ErrorKind, Scheme};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn an_unreachable_target_closes_the_websocket_with_1014_and_the_reason() {
    switchyard_rt::block_on(async {
        let closed = support::closed_port();
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/x",
            &format!("tcp://{closed}"),
        )])
        .await;
        let addr = bridge.addrs[0];
        let (code, reason) =
            switchyard_rt::spawn_blocking(move || support::raw_close_frame(addr, "/x")).await;
        assert_eq!(code, 1014, "{reason}");
        assert!(
            reason.contains(&closed.to_string()) && reason.contains("unreachable"),
            "{reason}"
        );
        assert_eq!(bridge.metrics.errors(ErrorKind::Connect), 1);
        assert_eq!(bridge.metrics.sessions_open(), 0);
    })
}

#[test]
fn a_tcp_client_of_an_unreachable_target_is_just_closed() {
    switchyard_rt::block_on(async {
        let closed = support::closed_port();
        let bridge = support::start(vec![support::listener(
            Scheme::Tcp,
            "/",
            &format!("tcp://{closed}"),
        )])
        .await;
        let mut tcp = switchyard_rt::net::TcpStream::connect(bridge.addrs[0])
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let read = switchyard_rt::timeout(LIMIT, "close", tcp.read(&mut buf))
            .await
            .unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    })
}

#[test]
fn a_target_that_ends_its_stream_closes_the_websocket_with_1000() {
    switchyard_rt::block_on(async {
        // Says one thing, then closes.
        let addr = support::one_connection_target(|mut stream| async move {
            stream.write_all(b"bye").await.unwrap();
        })
        .await;
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/x",
            &format!("tcp://{addr}"),
        )])
        .await;
        let mut client = switchyard_ws::connect(&format!("ws://{}/x", bridge.addrs[0]))
            .await
            .unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("bye")
        );
        assert!(switchyard_rt::timeout(LIMIT, "close", client.next())
            .await
            .unwrap()
            .is_none());
        assert_eq!(client.peer_close().map(|c| c.code), Some(1000));
    })
}

#[test]
fn a_target_that_dies_mid_session_is_reported_and_other_sessions_go_on() {
    switchyard_rt::block_on(async {
        // A connection that says "hello" is dropped after echoing it; others
        // echo. (Chosen by what it says, not by the order of accepts: the two
        // sessions dial their targets in either order.)
        let addr = support::tcp_service(|mut stream| async move {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                if buf[..n].starts_with(b"hello") {
                    // The service goes away mid-session.
                    let _ = stream.write_all(b"dying").await;
                    return;
                }
            }
        })
        .await;
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/x",
            &format!("tcp://{addr}"),
        )])
        .await;
        let url = format!("ws://{}/x", bridge.addrs[0]);
        let mut dying = switchyard_ws::connect(&url).await.unwrap();
        let mut healthy = switchyard_ws::connect(&url).await.unwrap();
        dying.send("hello".into()).await.unwrap();
        // Whatever arrived before the target died, then a close.
        let mut got = Vec::new();
        while let Some(msg) = switchyard_rt::timeout(LIMIT, "end", dying.next())
            .await
            .unwrap()
        {
            got.extend_from_slice(&msg.unwrap());
        }
        assert!(got.starts_with(b"hello"), "{got:?}");
        // 1000 for an end of stream, 1014 for a reset (which tungstenite, under
        // our client, reports as 1002: tungstenite-rs issue 502).
        let close = dying.peer_close().expect("a close frame");
        assert!([1000, 1002, 1014].contains(&close.code), "{close:?}");
        healthy.send("still fine".into()).await.unwrap();
        assert_eq!(
            healthy.next().await.unwrap().unwrap(),
            WsMessage::binary("still fine")
        );
    })
}

#[test]
fn a_websocket_close_shuts_the_target_write_half_and_lets_its_answer_through() {
    switchyard_rt::block_on(async {
        // Reads everything until end of stream, then answers with the count.
        let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        switchyard_rt::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await.unwrap();
            stream
                .write_all(format!("{} bytes", all.len()).as_bytes())
                .await
                .unwrap();
        });
        let bridge = support::start(vec![support::listener(
            Scheme::Tcp,
            "/",
            &format!("tcp://{addr}"),
        )])
        .await;
        let mut tcp = switchyard_rt::net::TcpStream::connect(bridge.addrs[0])
            .await
            .unwrap();
        tcp.write_all(&[1u8; 5000]).await.unwrap();
        tcp.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        switchyard_rt::timeout(LIMIT, "answer", tcp.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer, "5000 bytes");
    })
}

#[test]
fn a_quiet_websocket_to_udp_session_ends_with_1000_idle_timeout() {
    switchyard_rt::block_on(async {
        let echo = support::udp_echo().await;
        let mut listener = support::listener(Scheme::Ws, "/u", &format!("udp://{echo}"));
        listener.routes[0] = listener.routes[0]
            .clone()
            .idle_timeout(Some(Duration::from_millis(400)));
        let bridge = support::start(vec![listener]).await;
        let mut client = switchyard_ws::connect(&format!("ws://{}/u", bridge.addrs[0]))
            .await
            .unwrap();
        client.send("ping".into()).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("ping")
        );
        assert!(switchyard_rt::timeout(LIMIT, "idle", client.next())
            .await
            .unwrap()
            .is_none());
        let close = client.peer_close().expect("a close frame");
        assert_eq!((close.code, close.reason.as_str()), (1000, "idle timeout"));
    })
}

#[test]
fn an_idle_udp_session_expires_and_a_new_one_starts_on_the_next_datagram() {
    switchyard_rt::block_on(async {
        let echo = support::udp_echo().await;
        let mut listener = support::listener(Scheme::Udp, "/", &format!("udp://{echo}"));
        listener.routes[0] = listener.routes[0]
            .clone()
            .idle_timeout(Some(Duration::from_millis(300)));
        let bridge = support::start(vec![listener]).await;
        let socket = switchyard_udp::UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap();
        let mut client = socket.connect(bridge.addrs[0]).await.unwrap();
        client.send("one".into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), "one");
        assert_eq!(bridge.metrics.sessions_open(), 1);
        let started = std::time::Instant::now();
        while bridge.metrics.sessions_open() != 0 {
            assert!(started.elapsed() < LIMIT, "the session never expired");
            switchyard_rt::sleep(Duration::from_millis(50)).await;
        }
        client.send("two".into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), "two");
        assert_eq!(bridge.metrics.sessions_total(), 2);
    })
}

#[test]
fn a_client_that_closes_while_its_target_streams_ends_cleanly() {
    switchyard_rt::block_on(async {
        // A target that streams without pause.
        let addr = support::one_connection_target(|mut stream| async move {
            let chunk = vec![b'x'; 16 << 10];
            while stream.write_all(&chunk).await.is_ok() {}
        })
        .await;
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/s",
            &format!("tcp://{addr}"),
        )])
        .await;
        let mut client = switchyard_ws::connect(&format!("ws://{}/s", bridge.addrs[0]))
            .await
            .unwrap();
        assert!(client.next().await.unwrap().is_ok());
        // Closing while the target's data is still coming: what the bridge
        // still had for the client has nowhere to go, and that is no failure.
        client.close(1000, "bye").await.unwrap();
        while switchyard_rt::timeout(LIMIT, "close", client.next())
            .await
            .unwrap()
            .is_some()
        {}
        let metrics = bridge.metrics.clone();
        assert!(support::eventually(LIMIT, || metrics.sessions_open() == 0).await);
        for kind in [ErrorKind::Client, ErrorKind::Target] {
            assert_eq!(bridge.metrics.errors(kind), 0, "{kind:?}");
        }
    })
}
