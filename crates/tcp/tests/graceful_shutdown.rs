//! Shutdown stops accepting at once, lets open connections finish within
//! the grace period, and shuts down the ones that do not.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use switchyard_tcp::{connect, connect_framed, LengthPrefixed, Server, ServerConfig};

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn a_connection_that_finishes_within_the_grace_period_is_not_cut() {
    switchyard_rt::block_on(async {
        let config = ServerConfig::default().shutdown_grace(Duration::from_secs(5));
        let server = Server::bind("127.0.0.1:0", config).await.unwrap();
        let addr = server.local_addr().unwrap();
        let shutdown = server.shutdown();
        // Replies to each message after a pause, so a reply is in flight when
        // shutdown begins.
        let serving = switchyard_rt::spawn(server.serve(|conn| async move {
            let mut conn = conn.framed(LengthPrefixed::default());
            while let Some(Ok(msg)) = conn.next().await {
                switchyard_rt::sleep(Duration::from_millis(300)).await;
                if conn.send(msg).await.is_err() {
                    break;
                }
            }
        }));

        let mut client = connect_framed(addr, LengthPrefixed::default(), TIMEOUT)
            .await
            .unwrap();
        client.send("slow".into()).await.unwrap();
        switchyard_rt::sleep(Duration::from_millis(50)).await;
        shutdown.trigger();
        shutdown.trigger(); // idempotent

        // New connections are refused once the listener is gone.
        switchyard_rt::sleep(Duration::from_millis(50)).await;
        assert!(
            connect(addr, TIMEOUT).await.is_err(),
            "still accepting after shutdown"
        );

        // The open one gets its reply, then closes it itself.
        assert_eq!(client.next().await.unwrap().unwrap(), "slow");
        drop(client);
        let report = serving.await;
        assert_eq!((report.accepted, report.forced), (1, 0));
    })
}

#[test]
fn a_connection_past_the_grace_period_is_shut_down() {
    switchyard_rt::block_on(async {
        let grace = Duration::from_millis(300);
        let server = Server::bind("127.0.0.1:0", ServerConfig::default().shutdown_grace(grace))
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let shutdown = server.shutdown();
        let serving = switchyard_rt::spawn(server.serve(|conn| async move {
            let (sink, stream) = conn.framed(LengthPrefixed::default()).split();
            let _ = stream.forward(sink).await;
        }));

        // A client that never leaves.
        let mut client = connect_framed(addr, LengthPrefixed::default(), TIMEOUT)
            .await
            .unwrap();
        client.send("hi".into()).await.unwrap();
        assert!(client.next().await.unwrap().is_ok());

        let started = Instant::now();
        shutdown.trigger();
        let report = switchyard_rt::timeout(TIMEOUT, "shutdown", serving)
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(report.forced, 1);
        assert!(took >= grace && took < grace * 5, "shutdown took {took:?}");
        // The server's side is gone: the client sees the end of the stream.
        assert!(client.next().await.is_none());
    })
}
