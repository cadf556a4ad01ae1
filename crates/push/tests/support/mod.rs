//! Shared by the push integration tests: the push server they run, and a
//! subscriber's connection.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use switchyard_push::hub::Hub;
use switchyard_push::ws::http::{HttpServer, HttpServerConfig};
use switchyard_push::ws::{websocket, ClientIo, Router, WsConnection, WsServerConfig};
use switchyard_push::{push_handler, subscriber_handler, PushConfig};
use switchyard_rt::Shutdown;

/// Raw HTTP exchanges (ws's own test helpers).
#[path = "../../../ws/tests/support/mod.rs"]
pub mod http;

/// A push server on `addr` for `hub`: subscribers at `/ws`, pushes at
/// `/push` and `/push/<topic>`, each with `push`, under `websockets`. Its
/// address, and the signal that stops it.
pub async fn serve(
    hub: &Hub,
    push: PushConfig,
    addr: &str,
    websockets: WsServerConfig,
) -> (SocketAddr, Shutdown) {
    let publish = push_handler(hub.clone(), push.clone());
    let router = Router::new()
        .upgrade(
            "/ws",
            websocket(websockets, subscriber_handler(hub.clone(), push)),
        )
        .post("/push", publish.clone())
        .post_prefix("/push/", publish);
    let server = HttpServer::bind(addr, HttpServerConfig::default(), router)
        .await
        .unwrap();
    let stop = server.shutdown();
    let addr = server.local_addr().unwrap();
    switchyard_rt::spawn(server.serve());
    (addr, stop)
}

/// [`serve`] on a free port with the default WebSocket limits.
pub async fn start(hub: &Hub, push: PushConfig) -> SocketAddr {
    serve(hub, push, "127.0.0.1:0", WsServerConfig::default())
        .await
        .0
}

/// A subscriber at `/ws` with `query` (`""`, or `?topics=...`).
pub async fn subscriber(addr: SocketAddr, query: &str) -> WsConnection<ClientIo> {
    switchyard_push::ws::connect(&format!("ws://{addr}/ws{query}"))
        .await
        .unwrap()
}

/// The next message of a numbered subscriber, as JSON (within 10 s).
pub async fn next_json(conn: &mut WsConnection<ClientIo>) -> Value {
    let msg = switchyard_rt::timeout(Duration::from_secs(10), "a message", conn.next())
        .await
        .unwrap()
        .expect("open")
        .expect("a message");
    serde_json::from_slice(msg.data()).unwrap()
}

/// The next `n` messages' offsets and data, checked to be `news`'s.
pub async fn news_messages(conn: &mut WsConnection<ClientIo>, n: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    for _ in 0..n {
        let m = next_json(conn).await;
        assert_eq!(m["topic"], "news", "{m}");
        got.push((
            m["offset"].as_u64().unwrap(),
            m["data"].as_str().unwrap().to_string(),
        ));
    }
    got
}
