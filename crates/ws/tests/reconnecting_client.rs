//! A reconnecting client comes back after its server restarts, and sends
//! its on-connect messages again.

use std::time::Duration;

use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{
    websocket, ClientConfig, ReconnectPolicy, Reconnecting, Router, WsServerConfig,
};

async fn echo_server(
    addr: &str,
) -> (
    std::net::SocketAddr,
    switchyard_ws::Shutdown,
    switchyard_rt::JoinHandle<()>,
) {
    let echo = websocket(WsServerConfig::default(), |mut conn, _| async move {
        let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
    });
    let router = Router::new().upgrade("/ws", echo);
    let config = HttpServerConfig::default().shutdown_grace(Duration::from_secs(1));
    let server = HttpServer::bind(addr, config, router).await.unwrap();
    let local = server.local_addr().unwrap();
    let shutdown = server.shutdown();
    let serving = switchyard_rt::spawn(async move {
        server.serve().await;
    });
    (local, shutdown, serving)
}

#[test]
fn it_comes_back_after_the_server_restarts() {
    switchyard_rt::block_on(async {
        let (addr, shutdown, serving) = echo_server("127.0.0.1:0").await;
        let policy = ReconnectPolicy::default()
            .delays(Duration::from_millis(50), Duration::from_millis(400))
            .on_connect("subscribe");
        let mut client =
            Reconnecting::new(format!("ws://{addr}/ws"), ClientConfig::default(), policy);
        assert_eq!(client.next().await.unwrap(), "subscribe".into());
        assert_eq!(client.connects(), 1);

        shutdown.trigger();
        serving.await;
        // Back on the same port a little later.
        let restart = switchyard_rt::spawn(async move {
            switchyard_rt::sleep(Duration::from_millis(300)).await;
            echo_server(&addr.to_string()).await
        });
        let again = switchyard_rt::timeout(Duration::from_secs(10), "reconnect", client.next())
            .await
            .unwrap();
        assert_eq!(
            again.unwrap(),
            "subscribe".into(),
            "the on-connect message is sent again"
        );
        assert_eq!(client.connects(), 2);
        client.send("after the restart").await.unwrap();
        assert_eq!(client.next().await.unwrap(), "after the restart".into());
        drop(restart);
    })
}

#[test]
fn it_gives_up_after_max_attempts() {
    switchyard_rt::block_on(async {
        let unused = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let policy = ReconnectPolicy::default()
            .delays(Duration::from_millis(10), Duration::from_millis(20))
            .max_attempts(3);
        let mut client =
            Reconnecting::new(format!("ws://{unused}/ws"), ClientConfig::default(), policy);
        let err = switchyard_rt::timeout(Duration::from_secs(5), "give up", client.next())
            .await
            .unwrap();
        assert!(err.is_err());
        assert_eq!(client.connects(), 0);
    })
}

#[test]
fn a_message_too_large_to_send_keeps_the_connection() {
    switchyard_rt::block_on(async {
        let (addr, _shutdown, _serving) = echo_server("127.0.0.1:0").await;
        let config = ClientConfig::default().max_message(16);
        let mut client = Reconnecting::new(
            format!("ws://{addr}/ws"),
            config,
            ReconnectPolicy::default(),
        );
        client.send("small").await.unwrap();
        let err = client.send(vec![b'x'; 17]).await.unwrap_err();
        assert!(
            matches!(
                err,
                switchyard_ws::Error::TooLargeToSend { size: 17, max: 16 }
            ),
            "{err}"
        );
        client.send("still here").await.unwrap();
        assert_eq!(client.next().await.unwrap(), "small".into());
        assert_eq!(client.next().await.unwrap(), "still here".into());
        assert_eq!(
            client.connects(),
            1,
            "the refused message did not cost the connection"
        );
    })
}
