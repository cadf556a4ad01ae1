//! A server connection's `DirectWriter` writes whole frames at once while
//! the connection has nothing waiting, declines otherwise, keeps the order
//! of what the connection sends, hands an unfinished write to the
//! connection's flush, and writes nothing after a close.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_ws::http::{HttpServerConfig, Router};
use switchyard_ws::{connect_with, websocket, ClientConfig, DirectSend, WsMessage, WsServerConfig};

const LARGE: usize = 8 << 20;

/// Serves `route` at `/ws` on a free port.
async fn serve(route: switchyard_ws::WebSocketUpgrade) -> std::net::SocketAddr {
    support::serve(
        HttpServerConfig::default(),
        Router::new().upgrade("/ws", route),
    )
    .await
}

/// Connects to `/ws` at `addr`, and once the server has tried everything
/// (the large message fills the socket's buffers meanwhile) reads every
/// message until the server's close (1000), the large one as "large".
async fn read_all(addr: std::net::SocketAddr) -> Vec<String> {
    let client_config = ClientConfig::default().max_message(16 << 20);
    let mut client = connect_with(&format!("ws://{addr}/ws"), &client_config)
        .await
        .unwrap();
    switchyard_rt::sleep(Duration::from_millis(300)).await;
    let mut got = Vec::new();
    while let Some(Ok(msg)) =
        switchyard_rt::timeout(Duration::from_secs(10), "a message", client.next())
            .await
            .unwrap()
    {
        got.push(if msg.len() == LARGE {
            assert!(msg.iter().all(|&b| b == 7), "the large message is whole");
            "large".to_string()
        } else {
            String::from_utf8(msg.to_vec()).unwrap()
        });
    }
    assert_eq!(client.peer_close().map(|c| c.code), Some(1000));
    got
}

#[test]
fn direct_writes_keep_the_connections_order_and_stop_at_the_close() {
    switchyard_rt::block_on(async {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let seen = outcomes.clone();
        let config = WsServerConfig::default().max_message(16 << 20);
        let route = websocket(config, move |mut conn, _req| {
            let seen = seen.clone();
            async move {
                let writer = conn.direct_writer().expect("a plain connection");
                let record = |what: &str, got: DirectSend| {
                    seen.lock().unwrap().push(format!("{what}: {got:?}"));
                };
                record("one", writer.try_send(&WsMessage::text("one")));
                // Handed to the connection, not yet written: a direct write
                // now would pass it.
                conn.feed("two".into()).await.unwrap();
                record("passing", writer.try_send(&WsMessage::text("passing")));
                conn.flush().await.unwrap();
                let three = WsMessage::text("three").prepare();
                record("three", writer.try_send(&three));
                // More than the socket takes at once: the rest waits in the
                // connection, and its flush writes it before anything else.
                let large = WsMessage::binary(vec![7u8; LARGE]);
                let started = writer.try_send(&large);
                record("large", started);
                if started == DirectSend::Started {
                    assert!(writer.has_remainder());
                }
                conn.send("after".into()).await.unwrap();
                assert!(!writer.has_remainder());
                // Once the close is written, nothing more is.
                let _ = conn.close(1000, "done").await;
                record("late", writer.try_send(&WsMessage::text("late")));
                while let Some(Ok(_)) = conn.next().await {}
            }
        });
        let addr = serve(route).await;

        let got = read_all(addr).await;
        assert_eq!(got, ["one", "two", "three", "large", "after"]);
        let outcomes = outcomes.lock().unwrap().clone();
        assert_eq!(
            outcomes[..3],
            ["one: Sent", "passing: Declined", "three: Sent"]
        );
        assert!(
            outcomes[3] == "large: Started" || outcomes[3] == "large: Sent",
            "{outcomes:?}"
        );
        assert_eq!(outcomes[4], "late: Declined");
    })
}

/// With permessage-deflate agreed (no context takeover, the default), a
/// prepared message goes out compressed with the payload every connection
/// shares, and one that is not prepared is left to the connection, which
/// compresses it itself; with context takeover there is no direct writer.
#[test]
fn a_compressed_connection_writes_prepared_messages_directly() {
    use switchyard_ws::deflate::DeflateConfig;
    switchyard_rt::block_on(async {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let seen = outcomes.clone();
        let config = WsServerConfig::default().deflate(Some(DeflateConfig::default()));
        let text = "a message long enough to be compressed, ".repeat(20);
        let sent = text.clone();
        let route = websocket(config, move |mut conn, _req| {
            let seen = seen.clone();
            let text = sent.clone();
            async move {
                let writer = conn.direct_writer().expect("no context takeover");
                let prepared = WsMessage::text(text.clone()).prepare();
                seen.lock().unwrap().push(writer.try_send(&prepared));
                let plain = WsMessage::text(text.clone());
                let declined = writer.try_send(&plain);
                seen.lock().unwrap().push(declined);
                if declined == DirectSend::Declined {
                    conn.send(plain).await.unwrap();
                }
                let _ = conn.close(1000, "").await;
                while let Some(Ok(_)) = conn.next().await {}
            }
        });
        let addr = serve(route).await;
        let client_config = ClientConfig::default().deflate(Some(DeflateConfig::default()));
        let mut client = connect_with(&format!("ws://{addr}/ws"), &client_config)
            .await
            .unwrap();
        for _ in 0..2 {
            let msg = switchyard_rt::timeout(Duration::from_secs(5), "a message", client.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(msg.as_text(), Some(text.as_str()));
        }
        assert_eq!(
            *outcomes.lock().unwrap(),
            [DirectSend::Sent, DirectSend::Declined]
        );
    })
}

/// A message over the connection's limit is declined (its sink refuses
/// and counts it); a connection without a heartbeat gets no writer (its
/// idle time-out would not see what a writer sends).
#[test]
fn a_message_over_the_limit_is_declined_and_no_heartbeat_means_no_writer() {
    switchyard_rt::block_on(async {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let seen = outcomes.clone();
        let limited = websocket(
            WsServerConfig::default().max_message(100),
            move |mut conn, _| {
                let seen = seen.clone();
                async move {
                    let writer = conn.direct_writer().expect("a plain connection");
                    let over = WsMessage::binary(vec![0u8; 101]);
                    seen.lock()
                        .unwrap()
                        .push(format!("{:?}", writer.try_send(&over)));
                    let at = WsMessage::binary(vec![0u8; 100]);
                    seen.lock()
                        .unwrap()
                        .push(format!("{:?}", writer.try_send(&at)));
                    while let Some(Ok(_)) = conn.next().await {}
                }
            },
        );
        let seen = outcomes.clone();
        let silent = websocket(
            WsServerConfig::default().heartbeat(None),
            move |mut conn, _| {
                let seen = seen.clone();
                async move {
                    let none = conn.direct_writer().is_none();
                    seen.lock().unwrap().push(format!("no writer: {none}"));
                    while let Some(Ok(_)) = conn.next().await {}
                }
            },
        );
        let router = Router::new()
            .upgrade("/limited", limited)
            .upgrade("/silent", silent);
        let addr = support::serve(HttpServerConfig::default(), router).await;
        let mut limited = connect_with(&format!("ws://{addr}/limited"), &ClientConfig::default())
            .await
            .unwrap();
        let msg = switchyard_rt::timeout(Duration::from_secs(5), "a message", limited.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(msg.len(), 100, "only the message at the limit went out");
        let _silent = connect_with(&format!("ws://{addr}/silent"), &ClientConfig::default())
            .await
            .unwrap();
        for _ in 0..100 {
            if outcomes.lock().unwrap().len() == 3 {
                break;
            }
            switchyard_rt::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            *outcomes.lock().unwrap(),
            ["Declined", "Sent", "no writer: true"]
        );
    })
}

/// Several messages go out together, in order; the batch stops before a
/// message the writer must decline (the rest is the connection's to
/// send), and one the socket takes only in part is finished by the
/// connection's flush before anything else.
#[test]
fn a_batch_goes_out_in_order_and_stops_where_it_must() {
    switchyard_rt::block_on(async {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let seen = outcomes.clone();
        let config = WsServerConfig::default().max_message(16 << 20);
        let route = websocket(config, move |mut conn, _req| {
            let seen = seen.clone();
            async move {
                let writer = conn.direct_writer().expect("a plain connection");
                let record = |what: &str, got: (usize, DirectSend)| {
                    seen.lock().unwrap().push(format!("{what}: {got:?}"));
                };
                record("none", writer.try_send_all(&[]));
                let over = WsMessage::binary(vec![1u8; (16 << 20) + 1]);
                let batch = [
                    WsMessage::text("a"),
                    WsMessage::text("b").prepare(),
                    over,
                    WsMessage::text("never"),
                ];
                record("a, b, over", writer.try_send_all(&batch));
                let large = WsMessage::binary(vec![7u8; LARGE]);
                let batch = [WsMessage::text("c"), large, WsMessage::text("d")];
                let (taken, how) = writer.try_send_all(&batch);
                record("c, large, d", (taken, how));
                // What it did not take is the connection's to send.
                for msg in &batch[taken..] {
                    conn.send(msg.clone()).await.unwrap();
                }
                conn.send("after".into()).await.unwrap();
                let _ = conn.close(1000, "done").await;
                while let Some(Ok(_)) = conn.next().await {}
            }
        });
        let addr = serve(route).await;
        let got = read_all(addr).await;
        assert_eq!(got, ["a", "b", "c", "large", "d", "after"]);
        let outcomes = outcomes.lock().unwrap().clone();
        assert_eq!(
            outcomes[..2],
            ["none: (0, Declined)", "a, b, over: (2, Sent)"]
        );
        // The socket cannot take 8 MiB at once: the large one is begun, and
        // "d" behind it is left, or (were the buffers that large) all sent.
        assert!(
            outcomes[2] == "c, large, d: (2, Started)" || outcomes[2] == "c, large, d: (3, Sent)",
            "{outcomes:?}"
        );
    })
}
