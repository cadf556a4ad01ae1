//! At its connection limit the server stops accepting; a slot that frees
//! lets the next waiting peer in.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_tcp::{connect_framed, LengthPrefixed, Server, ServerConfig};

#[test]
fn the_peer_past_the_limit_waits_until_a_slot_frees() {
    switchyard_rt::block_on(async {
        let server = Server::bind("127.0.0.1:0", ServerConfig::default().max_connections(2))
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        switchyard_rt::spawn(server.serve(|conn| async move {
            let (sink, stream) = conn.framed(LengthPrefixed::default()).split();
            let _ = stream.forward(sink).await;
        }));

        let timeout = Duration::from_secs(5);
        let mut first = connect_framed(addr, LengthPrefixed::default(), timeout)
            .await
            .unwrap();
        let mut second = connect_framed(addr, LengthPrefixed::default(), timeout)
            .await
            .unwrap();
        for conn in [&mut first, &mut second] {
            conn.send("in".into()).await.unwrap();
            assert!(conn.next().await.unwrap().is_ok());
        }

        // The kernel completes the third handshake, but the server does not
        // accept it, so nothing is echoed.
        let mut third = connect_framed(addr, LengthPrefixed::default(), timeout)
            .await
            .unwrap();
        third.send("waiting".into()).await.unwrap();
        let early = switchyard_rt::timeout(Duration::from_millis(300), "echo", third.next()).await;
        assert!(early.is_err(), "served past the connection limit");

        drop(first);
        let late = switchyard_rt::timeout(timeout, "echo", third.next())
            .await
            .unwrap();
        assert_eq!(late.unwrap().unwrap(), "waiting");
    })
}
