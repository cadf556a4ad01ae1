//! A UDP listener's shutdown stops new sessions and wakes a waiting accept;
//! the sessions it already made go on.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_udp::{SessionConfig, Shutdown, UdpListener, UdpSocket};

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn after_shutdown_no_new_session_is_made_and_an_old_one_still_answers() {
    switchyard_rt::block_on(async {
        let shutdown = Shutdown::new();
        let listener = UdpListener::bind("127.0.0.1:0", SessionConfig::default())
            .await
            .unwrap()
            .with_shutdown(shutdown.clone());
        let server = listener.local_addr().unwrap();
        let old = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        old.send_to(b"before", server).await.unwrap();
        let mut session = listener.accept().await.unwrap();
        assert_eq!(&session.next().await.unwrap().unwrap()[..], b"before");

        // A waiting accept wakes with an error when the shared signal fires.
        let waiting = switchyard_rt::spawn(async move {
            let result = listener.accept().await.map(|s| s.peer_addr());
            (result, listener)
        });
        switchyard_rt::sleep(Duration::from_millis(50)).await;
        shutdown.trigger();
        let (result, listener) = switchyard_rt::timeout(TIMEOUT, "accept", waiting)
            .await
            .unwrap();
        let err = result.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionAborted, "{err}");

        // A new peer gets no session: its datagram is dropped and counted.
        let new = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        new.send_to(b"after", server).await.unwrap();
        // The old session still carries both ways.
        old.send_to(b"still here", server).await.unwrap();
        assert_eq!(&session.next().await.unwrap().unwrap()[..], b"still here");
        session.send("answer".into()).await.unwrap();
        assert_eq!(&old.recv_from().await.unwrap().0[..], b"answer");
        let stats = listener.stats();
        assert_eq!((stats.sessions_total, stats.datagrams_dropped), (1, 1));
        assert!(listener.accept().await.is_err());
    })
}
