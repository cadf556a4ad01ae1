//! A numbered push subscriber knows where it is in each topic, and one that
//! comes back (by URL or by command) gets exactly what it missed, or is told
//! plainly that it cannot; a push with an `Idempotency-Key` is published
//! once however often it is retried.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use futures::SinkExt;
use serde_json::Value;
use support::http::{raw_exchange, status};
use support::{news_messages as messages, next_json as next, subscriber};
use switchyard_push::hub::{HistoryConfig, Hub, HubConfig, MemoryBackplane};
use switchyard_push::ws::WsMessage;
use switchyard_push::PushConfig;

/// A numbered push server whose hub keeps `history`.
async fn start(history: HistoryConfig) -> SocketAddr {
    let backplane = Arc::new(MemoryBackplane::new(history));
    let hub = Hub::with_backplane(HubConfig::default(), backplane).unwrap();
    support::start(&hub, PushConfig::default().numbered(true)).await
}

fn push(addr: SocketAddr, body: &str, headers: &str) -> Value {
    let head = format!(
        "POST /push/news HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    );
    let reply = raw_exchange(addr, &[head.as_bytes(), body.as_bytes()].concat());
    assert_eq!(status(&reply), 200, "{reply}");
    let json = reply.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(json).unwrap()
}

#[test]
fn a_subscriber_back_by_url_gets_exactly_what_it_missed_then_live_messages() {
    switchyard_rt::block_on(async {
        let addr = start(HistoryConfig::default()).await;
        let mut page = subscriber(addr, "?topics=news").await;
        let answer = next(&mut page).await;
        assert_eq!(answer["subscribed"], "news");
        assert_eq!(answer["recovered"], false);
        assert_eq!(answer["offset"], 0);
        let epoch = answer["epoch"].as_str().unwrap().to_string();
        for text in ["a", "b", "c"] {
            let receipt = push(addr, text, "");
            assert_eq!(receipt["epoch"], epoch.as_str(), "{receipt}");
            assert_eq!(receipt["delivered"], 1, "{receipt}");
        }
        let seen = messages(&mut page, 3).await;
        assert_eq!(seen, [(1, "a".into()), (2, "b".into()), (3, "c".into())]);
        drop(page);

        for text in ["d", "e"] {
            push(addr, text, "");
        }
        let mut page = subscriber(addr, &format!("?topics=news&since=news:3:{epoch}")).await;
        let answer = next(&mut page).await;
        assert_eq!(
            (&answer["recovered"], &answer["offset"]),
            (&Value::Bool(true), &Value::from(3)),
            "{answer}"
        );
        push(addr, "f", "");
        let seen = messages(&mut page, 3).await;
        assert_eq!(seen, [(4, "d".into()), (5, "e".into()), (6, "f".into())]);
    })
}

#[test]
fn a_resume_command_recovers_or_says_it_cannot() {
    switchyard_rt::block_on(async {
        let addr = start(HistoryConfig::default().size(2)).await;
        let mut page = subscriber(addr, "?topics=other").await;
        let answer = next(&mut page).await;
        assert_eq!(answer["subscribed"], "other");
        for text in ["1", "2", "3", "4"] {
            push(addr, text, "");
        }
        let epoch = push(addr, "5", "")["epoch"].as_str().unwrap().to_string();

        // Kept: 4 and 5. From 3, both are there.
        let resume = |offset: u64, epoch: &str| {
            WsMessage::text(
                serde_json::json!({"subscribe":"news","since":{"offset":offset,"epoch":epoch}})
                    .to_string(),
            )
        };
        page.send(resume(3, &epoch)).await.unwrap();
        let answer = next(&mut page).await;
        assert_eq!(answer["recovered"], true, "{answer}");
        assert_eq!(
            messages(&mut page, 2).await,
            [(4, "4".into()), (5, "5".into())]
        );

        // From 1, message 2 is forgotten: not recovered, and where the topic is.
        let mut late = subscriber(addr, "?topics=other").await;
        next(&mut late).await;
        late.send(resume(1, &epoch)).await.unwrap();
        let answer = next(&mut late).await;
        assert_eq!(
            (&answer["recovered"], &answer["offset"]),
            (&Value::Bool(false), &Value::from(5)),
            "{answer}"
        );
        // Another epoch's position is not trusted either.
        late.send(resume(5, "another-epoch")).await.unwrap();
        assert_eq!(next(&mut late).await["recovered"], false);
        // After either answer, live messages follow with no gap.
        push(addr, "6", "");
        assert_eq!(messages(&mut late, 1).await, [(6, "6".into())]);
        assert_eq!(messages(&mut page, 1).await, [(6, "6".into())]);

        // A bad position is refused, and the connection stays.
        late.send(WsMessage::text(
            r#"{"subscribe":"news","since":{"offset":1,"epoch":"no spaces"}}"#,
        ))
        .await
        .unwrap();
        assert_eq!(next(&mut late).await["error"], "invalid epoch in since");
    })
}

#[test]
fn a_retried_push_with_the_same_key_is_published_once() {
    switchyard_rt::block_on(async {
        let addr = start(HistoryConfig::off()).await;
        let mut page = subscriber(addr, "?topics=news").await;
        next(&mut page).await;
        let first = push(addr, "once", "Idempotency-Key: order-17\r\n");
        let again = push(addr, "once", "Idempotency-Key: order-17\r\n");
        assert_eq!(first["offset"], 1);
        assert_eq!(first.get("duplicate"), None);
        assert_eq!(
            (&again["offset"], &again["duplicate"]),
            (&Value::from(1), &Value::Bool(true))
        );
        let other = push(addr, "twice", "Idempotency-Key: order-18\r\n");
        assert_eq!(other["offset"], 2);
        assert_eq!(
            messages(&mut page, 2).await,
            [(1, "once".into()), (2, "twice".into())]
        );

        let head = format!(
        "POST /push/news HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\nIdempotency-Key: {}\r\n\r\nx",
        "k".repeat(129)
    );
        let reply = raw_exchange(addr, head.as_bytes());
        assert_eq!(status(&reply), 400, "{reply}");
        // Only visible ASCII: a space (or any control or non-ASCII byte) is
        // refused, not published without a key.
        let head = format!(
        "POST /push/news HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\nIdempotency-Key: order 19\r\n\r\nx"
    );
        let reply = raw_exchange(addr, head.as_bytes());
        assert_eq!(status(&reply), 400, "{reply}");
        assert!(reply.contains("visible ASCII"), "{reply}");
    })
}
