//! Push over HTTP reaches exactly a topic's subscribers; a slow consumer is
//! cut off (1008) while a fast one receives everything, in order.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use support::http::{raw_exchange, status, upgrade_request};
use support::{start, subscriber};
use switchyard_push::hub::{Hub, HubConfig, PublishReceipt};
use switchyard_push::ws::http::{HttpServer, HttpServerConfig};
use switchyard_push::ws::{websocket, ClientIo, Router, WsConnection, WsServerConfig};
use switchyard_push::{push_handler, subscriber_handler, PushConfig};

fn post(addr: SocketAddr, path: &str, body: &str, auth: &str) -> String {
    post_bytes(addr, path, body.as_bytes(), auth)
}

fn post_bytes(addr: SocketAddr, path: &str, body: &[u8], auth: &str) -> String {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n{auth}\r\n",
        body.len()
    );
    raw_exchange(addr, &[head.as_bytes(), body].concat())
}

async fn wait_for_subscribers(hub: &Hub, topic: &str, n: usize) {
    for _ in 0..200 {
        if hub.subscribers(topic) == n {
            return;
        }
        switchyard_rt::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{topic} has {} subscribers, not {n}",
        hub.subscribers(topic)
    );
}

async fn nothing_arrives(conn: &mut WsConnection<ClientIo>) {
    let got = switchyard_rt::timeout(Duration::from_millis(150), "quiet", conn.next()).await;
    assert!(got.is_err(), "an unexpected message: {got:?}");
}

#[test]
fn a_push_reaches_exactly_the_topics_subscribers() {
    switchyard_rt::block_on(async {
        let hub = Hub::new(HubConfig::default());
        let addr = start(&hub, PushConfig::default()).await;
        let mut news = subscriber(addr, "?topics=news").await;
        let mut sport = subscriber(addr, "?topics=sport").await;
        let mut default = subscriber(addr, "").await;
        wait_for_subscribers(&hub, "news", 1).await;
        wait_for_subscribers(&hub, "sport", 1).await;
        wait_for_subscribers(&hub, "default", 1).await;

        let r = post(addr, "/push/news", "extra! extra!", "");
        assert_eq!(status(&r), 200);
        assert!(r.contains("\"delivered\":1,"), "{r}");
        assert_eq!(news.next().await.unwrap().unwrap(), "extra! extra!".into());
        nothing_arrives(&mut sport).await;
        nothing_arrives(&mut default).await;

        assert!(post(addr, "/push", "to everyone on default", "").contains("\"delivered\":1,"));
        assert_eq!(
            default.next().await.unwrap().unwrap(),
            "to everyone on default".into()
        );
        nothing_arrives(&mut news).await;

        // One connection, several topics.
        sport.send("{\"subscribe\":\"news\"}".into()).await.unwrap();
        wait_for_subscribers(&hub, "news", 2).await;
        assert!(post(addr, "/push/news", "second", "").contains("\"delivered\":2,"));
        assert_eq!(news.next().await.unwrap().unwrap(), "second".into());
        assert_eq!(sport.next().await.unwrap().unwrap(), "second".into());

        sport
            .send("{\"subscribe\":\"bad topic!\"}".into())
            .await
            .unwrap();
        assert_eq!(
            sport.next().await.unwrap().unwrap(),
            "{\"error\":\"invalid topic name\"}".into()
        );
        assert_eq!(status(&post(addr, "/push/bad%20topic", "x", "")), 400);
        assert!(post(addr, "/push/nobody", "x", "").contains("\"delivered\":0,"));
    })
}

#[test]
fn a_configured_token_is_required_to_push() {
    switchyard_rt::block_on(async {
        let hub = Hub::new(HubConfig::default());
        let addr = start(&hub, PushConfig::default().token("s3cret")).await;
        let missing = post(addr, "/push", "x", "");
        assert_eq!(status(&missing), 401);
        assert!(missing.contains("www-authenticate: Bearer"), "{missing}");
        assert_eq!(
            status(&post(addr, "/push", "x", "Authorization: Bearer wrong\r\n")),
            401
        );
        assert_eq!(
            status(&post(
                addr,
                "/push",
                "x",
                "Authorization: Bearer s3cret\r\n"
            )),
            200
        );
    })
}

#[test]
fn a_slow_consumer_is_cut_off_with_1008_while_a_fast_one_gets_everything_in_order() {
    switchyard_rt::block_on(async {
        let hub = Hub::new(HubConfig::default().queue_messages(16));
        let config = PushConfig::default().close_timeout(Duration::from_secs(5));
        let addr = start(&hub, config).await;
        let mut fast = subscriber(addr, "?topics=t").await;
        // The slow consumer completes the handshake and then reads nothing.
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(
            upgrade_request(addr, "")
                .replace("/ws", "/ws?topics=t")
                .as_bytes(),
        )
        .unwrap();
        wait_for_subscribers(&hub, "t", 2).await;

        const BATCH: u32 = 8;
        let payload = vec![b'x'; 4096];
        let mut sent = 0u32;
        while hub.stats().slow_disconnects == 0 {
            assert!(sent < 20_000, "the slow consumer was never cut off");
            for _ in 0..BATCH {
                let mut msg = sent.to_string().into_bytes();
                msg.push(b' ');
                msg.extend_from_slice(&payload);
                hub.publish("t", msg.into()).await.unwrap();
                sent += 1;
            }
            for i in sent - BATCH..sent {
                let msg = fast.next().await.unwrap().unwrap();
                assert!(
                    msg.starts_with(format!("{i} ").as_bytes()),
                    "message {i} out of order"
                );
            }
        }
        assert_eq!(hub.subscribers("t"), 1, "only the slow consumer is gone");

        // Reading now lets the server's close frame out: 1008 "slow consumer".
        let tail = switchyard_rt::spawn_blocking(move || {
            slow.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut all = Vec::new();
            let _ = slow.read_to_end(&mut all);
            all
        })
        .await;
        let close = [&[0x88, 0x0f, 0x03, 0xf0][..], b"slow consumer"].concat();
        assert!(
            tail.windows(close.len()).any(|w| w == close),
            "no 1008 close frame"
        );

        // The fast subscriber still receives.
        hub.publish("t", "after".into()).await.unwrap();
        assert_eq!(fast.next().await.unwrap().unwrap(), "after".into());
    })
}

/// The reproduction from issue 10: a body that is not UTF-8, pushed to a
/// topic with two subscribers, used to disconnect both (without a close
/// frame) and report them as delivered.
#[test]
fn a_push_that_is_not_text_is_refused_once_and_every_subscriber_stays() {
    switchyard_rt::block_on(async {
        let hub = Hub::new(HubConfig::default().max_message(64));
        let addr = start(&hub, PushConfig::default()).await;
        let mut first = subscriber(addr, "").await;
        let mut second = subscriber(addr, "").await;
        wait_for_subscribers(&hub, "default", 2).await;

        let refused = post_bytes(addr, "/push", b"\xff\xfe bad", "");
        assert_eq!(status(&refused), 400, "{refused}");
        assert!(refused.contains("not UTF-8 text"), "{refused}");
        let too_large = post(addr, "/push", &"x".repeat(65), "");
        assert_eq!(status(&too_large), 413, "{too_large}");
        assert!(too_large.contains("over the 64-byte limit"), "{too_large}");

        let after = post(addr, "/push", "after", "");
        assert!(after.contains("\"delivered\":2"), "{after}");
        assert_eq!(first.next().await.unwrap().unwrap(), "after".into());
        assert_eq!(second.next().await.unwrap().unwrap(), "after".into());
        assert_eq!(hub.subscribers("default"), 2);
    })
}

/// A message one subscriber's connection refuses (over its own limit, set
/// lower than the hub's) is skipped for that subscriber, which stays and
/// receives the next one.
#[test]
fn a_message_a_subscriber_cannot_take_is_skipped_not_the_end_of_it() {
    switchyard_rt::block_on(async {
        let hub = Hub::new(HubConfig::default());
        let small = WsServerConfig::default().max_message(16);
        let (addr, _) = support::serve(&hub, PushConfig::default(), "127.0.0.1:0", small).await;
        let mut client = subscriber(addr, "").await;
        wait_for_subscribers(&hub, "default", 1).await;
        let delivered = |r: Result<PublishReceipt, _>| r.map(|r| r.delivered.count());
        assert_eq!(
            delivered(hub.publish("default", "x".repeat(17).into()).await),
            Ok(Some(1))
        );
        assert_eq!(
            delivered(hub.publish("default", "fits".into()).await),
            Ok(Some(1))
        );
        assert_eq!(client.next().await.unwrap().unwrap(), "fits".into());
        assert_eq!(hub.subscribers("default"), 1);
    })
}

/// A push handler mounted where its config does not say is refused (404,
/// saying where it publishes), not a success that reached no one; told its
/// path, it publishes there.
#[test]
fn a_push_handler_publishes_at_its_configured_path_and_refuses_others() {
    switchyard_rt::block_on(async {
        let hub = Hub::new(HubConfig::default());
        let misplaced = push_handler(hub.clone(), PushConfig::default());
        let placed = push_handler(hub.clone(), PushConfig::default().path("/api/publish/"));
        let router = Router::new()
            .upgrade(
                "/ws",
                websocket(
                    WsServerConfig::default(),
                    subscriber_handler(hub.clone(), PushConfig::default()),
                ),
            )
            .post("/publish", misplaced)
            .post("/api/publish", placed.clone())
            .post_prefix("/api/publish/", placed);
        let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        switchyard_rt::spawn(server.serve());
        let mut default = subscriber(addr, "").await;
        let mut news = subscriber(addr, "?topics=news").await;
        // Where the misplaced push used to go: the path's last segment.
        let mut last_segment = subscriber(addr, "?topics=publish").await;
        for topic in ["default", "news", "publish"] {
            wait_for_subscribers(&hub, topic, 1).await;
        }

        let r = post(addr, "/publish", "lost?", "");
        assert_eq!(status(&r), 404, "{r}");
        assert!(r.contains("POST /push and /push/<topic>"), "{r}");
        nothing_arrives(&mut default).await;
        nothing_arrives(&mut last_segment).await;

        let r = post(addr, "/api/publish", "to the default topic", "");
        assert_eq!(status(&r), 200, "{r}");
        let r = post(addr, "/api/publish/news", "to news", "");
        assert_eq!(status(&r), 200, "{r}");
        let got = default.next().await.unwrap().unwrap();
        assert_eq!(got.as_text(), Some("to the default topic"));
        let got = news.next().await.unwrap().unwrap();
        assert_eq!(got.as_text(), Some("to news"));
    });
}
