//! A `PushClient` whose server goes away and comes back reconnects by
//! itself and resumes where it was: what was published meanwhile arrives
//! once, in order, before the live messages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

mod support;

use switchyard_push::hub::{Delivery, HistoryConfig, Hub, HubConfig, MemoryBackplane};
use switchyard_push::ws::{ClientConfig, ReconnectPolicy, WsServerConfig};
use switchyard_push::{PushClient, PushConfig};

/// Serves `hub`'s numbered subscribers at `addr`; the server stops when the
/// returned signal is triggered.
async fn serve(hub: &Hub, addr: &str) -> (SocketAddr, switchyard_rt::Shutdown) {
    let push = PushConfig::default().numbered(true);
    support::serve(hub, push, addr, WsServerConfig::default()).await
}

async fn next(client: &mut PushClient) -> Delivery {
    switchyard_rt::timeout(Duration::from_secs(10), "delivery", client.next())
        .await
        .unwrap()
        .unwrap()
}

async fn message(client: &mut PushClient) -> (String, u64, String) {
    match next(client).await {
        Delivery::Message(m) => (
            m.topic().into(),
            m.offset(),
            String::from_utf8(m.data().to_vec()).unwrap(),
        ),
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn publish(hub: &Hub, topic: &str, text: &str) {
    hub.publish(topic, text.to_string().into()).await.unwrap();
}

#[test]
fn a_push_client_resumes_every_topic_where_it_was_after_its_server_restarts() {
    switchyard_rt::block_on(async {
        let backplane = Arc::new(MemoryBackplane::new(HistoryConfig::default()));
        let hub = Hub::with_backplane(HubConfig::default(), backplane).unwrap();
        let (addr, stop) = serve(&hub, "127.0.0.1:0").await;
        let policy = ReconnectPolicy::default()
            .delays(Duration::from_millis(20), Duration::from_millis(100));
        let mut client = PushClient::new(
            format!("ws://{addr}/ws"),
            ClientConfig::default(),
            policy,
            ["news", "sport"],
        );
        for _ in 0..2 {
            assert!(matches!(
                next(&mut client).await,
                Delivery::Subscribed {
                    recovered: false,
                    ..
                }
            ));
        }
        publish(&hub, "news", "n1").await;
        publish(&hub, "sport", "s1").await;
        assert_eq!(message(&mut client).await, ("news".into(), 1, "n1".into()));
        assert_eq!(message(&mut client).await, ("sport".into(), 1, "s1".into()));
        assert_eq!(client.position("news").map(|p| p.offset), Some(1));

        // The server goes away; messages are published meanwhile. The client
        // is read all along: it answers the server's close, then retries.
        stop.trigger();
        let meanwhile = async {
            while hub.subscribers("news") > 0 {
                switchyard_rt::sleep(Duration::from_millis(10)).await;
            }
            publish(&hub, "news", "n2").await;
            publish(&hub, "news", "n3").await;
            publish(&hub, "sport", "s2").await;
            serve(&hub, &addr.to_string()).await
        };
        let (first, _server) = futures::join!(next(&mut client), meanwhile);

        // Back: each topic answered as recovered, then what was missed, once.
        let mut got = Vec::new();
        let mut answers = 0;
        let mut delivery = first;
        loop {
            match delivery {
                Delivery::Subscribed { recovered, .. } => {
                    assert!(recovered, "a topic was not recovered");
                    answers += 1;
                }
                Delivery::Message(m) => got.push((m.topic().to_string(), m.offset())),
                other => panic!("{other:?}"),
            }
            if got.len() == 3 {
                break;
            }
            delivery = next(&mut client).await;
        }
        assert_eq!(answers, 2);
        got.sort();
        assert_eq!(
            got,
            [("news".into(), 2), ("news".into(), 3), ("sport".into(), 2)]
        );
        publish(&hub, "news", "n4").await;
        assert_eq!(message(&mut client).await, ("news".into(), 4, "n4".into()));
        assert_eq!(client.connects(), 2);
    })
}
