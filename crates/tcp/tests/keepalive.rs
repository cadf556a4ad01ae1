//! TCP keepalive is on for accepted and dialed connections, with the
//! configured timings, so that a peer whose host is gone is found; it can be
//! turned off.

use std::time::Duration;

use switchyard_tcp::{Server, ServerConfig, TcpKeepalive};

/// The keepalive idle time of the server's side of one connection.
async fn accepted_keepalive(config: ServerConfig) -> Option<Duration> {
    let server = Server::bind("127.0.0.1:0", config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = async_channel::bounded(1);
    switchyard_rt::spawn(server.serve(move |conn| {
        let tx = tx.clone();
        async move {
            let idle = conn.into_stream().get_ref().keepalive_idle().unwrap();
            let _ = tx.send(idle).await;
        }
    }));
    let _client = switchyard_tcp::connect(addr, Duration::from_secs(5))
        .await
        .unwrap();
    rx.recv().await.unwrap()
}

#[test]
fn accepted_connections_have_the_configured_keepalive() {
    switchyard_rt::block_on(async {
        let thirty = TcpKeepalive::after(Duration::from_secs(30));
        let config = ServerConfig::default().keepalive(Some(thirty));
        assert_eq!(
            accepted_keepalive(config).await,
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            accepted_keepalive(ServerConfig::default()).await,
            Some(Duration::from_secs(60))
        );
        let off = ServerConfig::default().keepalive(None);
        assert_eq!(accepted_keepalive(off).await, None);
    })
}

#[test]
fn dialed_connections_have_keepalive_and_it_can_be_changed() {
    switchyard_rt::block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client =
            switchyard_tcp::connect(listener.local_addr().unwrap(), Duration::from_secs(5))
                .await
                .unwrap();
        assert_eq!(
            client.keepalive_idle().unwrap(),
            Some(TcpKeepalive::default().idle)
        );
        client
            .set_keepalive(Some(&TcpKeepalive::after(Duration::from_secs(5))))
            .unwrap();
        assert_eq!(
            client.keepalive_idle().unwrap(),
            Some(Duration::from_secs(5))
        );
        client.set_keepalive(None).unwrap();
        assert_eq!(client.keepalive_idle().unwrap(), None);
    })
}
