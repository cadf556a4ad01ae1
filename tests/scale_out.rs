//! Two `ws_push` processes sharing their topics through a real Redis: a
//! push to one reaches subscribers on both, each message once and in order;
//! a subscriber that moves to the other instance resumes with exactly what
//! it missed; a subscriber too slow for what crosses Redis is cut off
//! alone; pushes are refused (503) and joins closed with 1013 while Redis
//! is down, and both work again when it is back.
//!
//! Each test starts its own `redis-server` (Debian's) on a free port, so
//! they are `#[ignore]`d where it may be missing; `.ci/run` installs it and
//! runs them with `cargo test -- --ignored`.

/// The push tests' helpers: a numbered subscriber's messages as JSON.
#[path = "../crates/push/tests/support/mod.rs"]
mod push_support;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use futures::StreamExt;
use push_support::{news_messages as messages, next_json as next};
use serde_json::Value;
use support::redis::Redis;
use support::{ExampleServer, RawWs};
use switchyard::ws::{connect, ClientIo, WsConnection};

fn instance(redis: &Redis, history: &str) -> ExampleServer {
    ExampleServer::start(
        "ws_push",
        &["127.0.0.1:0", "--redis", &redis.url(), "--history", history],
    )
}

/// POSTs `body` to `/push/news`; the status and the JSON answer (if any).
fn push(addr: SocketAddr, body: &str) -> (u16, Option<Value>) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /push/news HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(&[head.as_bytes(), body.as_bytes()].concat())
        .unwrap();
    let mut reply = String::new();
    let _ = conn.read_to_string(&mut reply);
    let status = reply
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"));
    let json = reply
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok());
    (status, json)
}

/// A numbered subscriber of `news` on `addr`, its join answered; the
/// answer.
async fn subscriber(addr: SocketAddr, since: &str) -> (WsConnection<ClientIo>, Value) {
    let mut conn = connect(&format!("ws://{addr}/ws?topics=news{since}"))
        .await
        .unwrap();
    let answer = next(&mut conn).await;
    assert_eq!(answer["subscribed"], "news", "{answer}");
    (conn, answer)
}

fn numbered(range: std::ops::RangeInclusive<u64>) -> Vec<(u64, String)> {
    range.map(|i| (i, format!("m{i}"))).collect()
}

#[test]
#[ignore = "needs redis-server (apt install redis-server); .ci/run runs it"]
fn a_push_to_one_instance_reaches_subscribers_on_both_once_and_in_order() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis, "0"), instance(&redis, "0"));
    switchyard::rt::block_on(async {
        let (mut on_a, _) = subscriber(a.addr, "").await;
        let (mut on_b, _) = subscriber(b.addr, "").await;
        for i in 1..=200u64 {
            let (status, receipt) = push(a.addr, &format!("m{i}"));
            assert_eq!(status, 200);
            assert_eq!(receipt.unwrap()["offset"], i);
        }
        assert_eq!(messages(&mut on_a, 200).await, numbered(1..=200));
        assert_eq!(messages(&mut on_b, 200).await, numbered(1..=200));
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server); .ci/run runs it"]
fn a_subscriber_that_moves_to_the_other_instance_gets_exactly_what_it_missed() {
    let redis = Redis::start();
    // Each instance keeps the last 15 messages of a topic (in Redis).
    let (a, b) = (instance(&redis, "15"), instance(&redis, "15"));
    switchyard::rt::block_on(async {
        let (mut on_a, answer) = subscriber(a.addr, "").await;
        let epoch = answer["epoch"].as_str().unwrap().to_string();
        for i in 1..=10u64 {
            push(a.addr, &format!("m{i}"));
        }
        let seen = messages(&mut on_a, 10).await;
        assert_eq!(seen, numbered(1..=10));
        drop(on_a);
        for i in 11..=20u64 {
            push(b.addr, &format!("m{i}"));
        }
        let since = format!("&since=news:10:{epoch}");
        let (mut on_b, answer) = subscriber(b.addr, &since).await;
        assert_eq!(
            (&answer["recovered"], &answer["offset"]),
            (&true.into(), &10.into())
        );
        push(a.addr, "m21");
        assert_eq!(messages(&mut on_b, 11).await, numbered(11..=21));

        // Further back than the history holds: told so, and where the
        // topic is; then live messages.
        let (mut late, answer) = subscriber(a.addr, &format!("&since=news:0:{epoch}")).await;
        assert_eq!(
            (&answer["recovered"], &answer["offset"]),
            (&false.into(), &21.into())
        );
        push(b.addr, "m22");
        assert_eq!(messages(&mut late, 1).await, numbered(22..=22));
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server); .ci/run runs it"]
fn a_slow_subscriber_on_the_other_instance_is_cut_off_alone() {
    let redis = Redis::start();
    // 16 messages behind at most.
    let instance = || {
        ExampleServer::start(
            "ws_push",
            &["127.0.0.1:0", "--redis", &redis.url(), "--queue", "16"],
        )
    };
    let (a, b) = (instance(), instance());
    switchyard::rt::block_on(async {
        let (mut on_a, _) = subscriber(a.addr, "").await;
        let (mut on_b, _) = subscriber(b.addr, "").await;
        // Joined, and then reads nothing.
        let mut slow = RawWs::connect(b.addr, "/ws?topics=news");
        let (_, joined) = slow.read_frame().unwrap();
        assert!(String::from_utf8_lossy(&joined).contains("\"subscribed\""));
        // 32 MiB in all, more than the sockets between hold.
        let filler = "x".repeat(32 * 1024);
        for i in 1..=1024u64 {
            let (status, _) = push(a.addr, &format!("m{i} {filler}"));
            assert_eq!(status, 200);
            // Read as they come: the fast ones are never behind.
            for conn in [&mut on_a, &mut on_b] {
                let m = next(conn).await;
                assert_eq!(m["offset"], i);
                assert!(m["data"].as_str().unwrap().starts_with(&format!("m{i} ")));
            }
        }
        let mut data_bytes = 0;
        match slow.read_until_close(&mut data_bytes) {
            Ok((code, reason)) => assert_eq!((code, reason.as_str()), (1008, "slow consumer")),
            // The close goes out behind what the socket already holds; if
            // it stays full for the close's second (this test reads only
            // once every push is done, later on a busy machine), the
            // server hangs up without it.
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}"),
        }
        // Cut off either way: far from everything reached it.
        assert!(data_bytes < 1024 * 32 * 1024, "{data_bytes}");
        // The others go on.
        push(a.addr, "after");
        assert_eq!(next(&mut on_b).await["data"], "after");
        assert_eq!(next(&mut on_a).await["data"], "after");
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server); .ci/run runs it"]
fn pushes_are_refused_while_redis_is_down_and_work_again_once_it_is_back() {
    let mut redis = Redis::start();
    let a = instance(&redis, "0");
    assert_eq!(push(a.addr, "before").0, 200);
    redis.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = push(a.addr, "while down");
        if status == 503 {
            break;
        }
        assert!(Instant::now() < deadline, "still {status} with Redis down");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A page that comes meanwhile is told its topic could not be joined,
    // and closed with 1013 so that it tries again rather than stay
    // connected without it.
    switchyard::rt::block_on(async {
        let mut page = connect(&format!("ws://{}/ws?topics=news", a.addr))
            .await
            .unwrap();
        let refused = next(&mut page).await;
        assert_eq!(refused["topic"], "news", "{refused}");
        assert!(refused["error"].is_string(), "{refused}");
        let end = switchyard::rt::timeout(Duration::from_secs(10), "the close", page.next()).await;
        assert!(matches!(end, Ok(None)), "{end:?}");
        let close = page.peer_close().expect("a close frame");
        assert_eq!((close.code, &*close.reason), (1013, "try again later"));
    });
    redis.run();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = push(a.addr, "after");
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "not back within 15 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    switchyard::rt::block_on(async {
        let (mut page, _) = subscriber(a.addr, "").await;
        assert_eq!(push(a.addr, "back").0, 200);
        assert_eq!(next(&mut page).await["data"], "back");
    });
}

#[test]
#[ignore = "needs redis-server (apt install redis-server); .ci/run runs it"]
fn two_chat_instances_share_a_room_its_members_and_its_names() {
    let redis = Redis::start();
    let chat =
        |redis: &Redis| ExampleServer::start("ws_chat", &["127.0.0.1:0", "--redis", &redis.url()]);
    let (a, b) = (chat(&redis), chat(&redis));
    switchyard::rt::block_on(async {
        use futures::SinkExt;
        let join = |addr: SocketAddr, name: &str| {
            let url = format!("ws://{addr}/ws?room=rust&name={name}");
            async move { connect(&url).await.unwrap() }
        };
        let mut alice = join(a.addr, "alice").await;
        assert_eq!(
            next(&mut alice).await["names"],
            serde_json::json!(["alice"])
        );
        assert_eq!(next(&mut alice).await["kind"], "join");
        let mut bob = join(b.addr, "bob").await;
        assert_eq!(
            next(&mut bob).await["names"],
            serde_json::json!(["alice", "bob"])
        );
        assert_eq!(next(&mut bob).await["from"], "bob");
        assert_eq!(next(&mut alice).await["from"], "bob", "bob's join, from B");

        alice.send(r#"{"text":"hi from A"}"#.into()).await.unwrap();
        for conn in [&mut alice, &mut bob] {
            let said = next(conn).await;
            assert_eq!(
                (&said["from"], &said["text"]),
                (&"alice".into(), &"hi from A".into())
            );
        }

        // alice is taken on B too.
        let mut second = join(b.addr, "alice").await;
        let refused = next(&mut second).await;
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .contains("already in room rust"),
            "{refused}"
        );
        assert!(second.next().await.is_none());
        assert_eq!(second.peer_close().map(|c| c.code), Some(1008));
    });
}
