//! A UDP listener keeps one session per peer, ends idle ones, and never
//! holds more than its maximum.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use switchyard_udp::{SessionConfig, UdpListener, UdpSocket};

#[test]
fn each_peer_gets_its_own_session_and_replies_go_to_it_alone() {
    switchyard_rt::block_on(async {
        let listener = UdpListener::bind("127.0.0.1:0", SessionConfig::default())
            .await
            .unwrap();
        let server = listener.local_addr().unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.send_to(b"from a 1", server).await.unwrap();
        b.send_to(b"from b", server).await.unwrap();
        a.send_to(b"from a 2", server).await.unwrap();

        let mut first = listener.accept().await.unwrap();
        let mut second = listener.accept().await.unwrap();
        assert_eq!(first.peer_addr(), a.local_addr().unwrap());
        assert_eq!(second.peer_addr(), b.local_addr().unwrap());
        assert_eq!(&first.next().await.unwrap().unwrap()[..], b"from a 1");
        assert_eq!(&first.next().await.unwrap().unwrap()[..], b"from a 2");
        assert_eq!(&second.next().await.unwrap().unwrap()[..], b"from b");

        second.send("to b".into()).await.unwrap();
        let (reply, from) = b.recv_from().await.unwrap();
        assert_eq!((&reply[..], from), (&b"to b"[..], server));
        assert_eq!(listener.stats().sessions_open, 2);
    })
}

#[test]
fn an_idle_session_ends_within_its_time_out() {
    switchyard_rt::block_on(async {
        let idle = Duration::from_millis(200);
        let config = SessionConfig::default().idle_timeout(idle);
        let listener = UdpListener::bind("127.0.0.1:0", config).await.unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client
            .send_to(b"hi", listener.local_addr().unwrap())
            .await
            .unwrap();

        let mut session = listener.accept().await.unwrap();
        let started = Instant::now();
        assert!(session.next().await.is_some());
        assert!(
            session.next().await.is_none(),
            "the stream ends when the session expires"
        );
        let lived = started.elapsed();
        assert!(
            lived >= idle * 9 / 10 && lived < idle * 3,
            "expired after {lived:?}"
        );
        let stats = listener.stats();
        assert_eq!((stats.sessions_open, stats.sessions_expired), (0, 1));

        // The same peer, back again, gets a new session.
        client
            .send_to(b"again", listener.local_addr().unwrap())
            .await
            .unwrap();
        let mut again = listener.accept().await.unwrap();
        assert_eq!(&again.next().await.unwrap().unwrap()[..], b"again");
    })
}

#[test]
fn new_peers_past_the_maximum_are_dropped_until_a_session_ends() {
    switchyard_rt::block_on(async {
        let config = SessionConfig::default().max_sessions(2);
        let listener = UdpListener::bind("127.0.0.1:0", config).await.unwrap();
        let server = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for _ in 0..3 {
            let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            c.send_to(b"hello", server).await.unwrap();
            clients.push(c);
        }
        let s1 = listener.accept().await.unwrap();
        let _s2 = listener.accept().await.unwrap();
        let third =
            switchyard_rt::timeout(Duration::from_millis(200), "accept", listener.accept()).await;
        assert!(third.is_err(), "a third session was made past the maximum");
        assert_eq!(listener.stats().datagrams_dropped, 1);

        drop(s1); // frees a slot
        clients[2].send_to(b"retry", server).await.unwrap();
        let mut s3 = listener.accept().await.unwrap();
        assert_eq!(s3.peer_addr(), clients[2].local_addr().unwrap());
        assert_eq!(&s3.next().await.unwrap().unwrap()[..], b"retry");
    })
}

#[test]
fn an_idle_session_expires_while_another_peer_keeps_sending() {
    switchyard_rt::block_on(async {
        let idle = Duration::from_millis(200);
        let config = SessionConfig::default().idle_timeout(idle);
        let listener = UdpListener::bind("127.0.0.1:0", config).await.unwrap();
        let server = listener.local_addr().unwrap();
        let quiet = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let busy = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        quiet.send_to(b"once", server).await.unwrap();
        let mut quiet_session = listener.accept().await.unwrap();
        assert!(quiet_session.next().await.is_some());

        // The busy peer sends every 20 ms, far more often than the idle period.
        let chatter = switchyard_rt::spawn(async move {
            for _ in 0..100 {
                busy.send_to(b"tick", server).await.unwrap();
                switchyard_rt::sleep(Duration::from_millis(20)).await;
            }
        });
        let mut busy_session = listener.accept().await.unwrap();
        let draining =
            switchyard_rt::spawn(async move { while busy_session.next().await.is_some() {} });

        let ended = switchyard_rt::timeout(idle * 4, "expiry", quiet_session.next()).await;
        assert!(
            matches!(ended, Ok(None)),
            "the quiet session did not expire under load"
        );
        drop((chatter, draining));
    })
}

#[test]
fn one_address_cannot_take_every_session() {
    switchyard_rt::block_on(async {
        let config = SessionConfig::default()
            .max_sessions(100)
            .max_sessions_per_ip(4);
        let listener = UdpListener::bind("127.0.0.1:0", config).await.unwrap();
        let server = listener.local_addr().unwrap();
        // Ten ports on one address: four sessions, the rest dropped.
        let mut flood = Vec::new();
        for _ in 0..10 {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.send_to(b"flood", server).await.unwrap();
            flood.push(socket);
        }
        // Another address still gets its session.
        let other = UdpSocket::bind("127.0.0.2:0").await.unwrap();
        other.send_to(b"hello", server).await.unwrap();
        // The sessions are kept: a dropped one ends at the next sweep.
        let mut sessions = Vec::new();
        for _ in 0..5 {
            let session =
                switchyard_rt::timeout(Duration::from_secs(5), "accept", listener.accept())
                    .await
                    .unwrap()
                    .unwrap();
            sessions.push(session);
        }
        let peers: Vec<_> = sessions.iter().map(|s| s.peer_addr()).collect();
        assert_eq!(
            peers
                .iter()
                .filter(|p| p.ip() == other.local_addr().unwrap().ip())
                .count(),
            1
        );
        assert_eq!(peers.iter().filter(|p| p.ip() == server.ip()).count(), 4);
        let stats = listener.stats();
        assert_eq!((stats.sessions_open, stats.datagrams_dropped), (5, 6));
    })
}
