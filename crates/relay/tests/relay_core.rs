//! The relay core over real sockets: byte-exact streams, datagram
//! boundaries kept, end of stream carried through, and a side that never
//! ends given up after the linger; a relay where nothing moves ended at its idle timeout.

use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};
use switchyard_frame::{Framed, LengthPrefixed, Raw};
use switchyard_relay::{relay, DirectionEnd, RelayConfig};
use switchyard_rt::net::{TcpListener, TcpStream};
use switchyard_udp::UdpSocket;

const LINGER: Duration = Duration::from_millis(300);

/// A TCP echo server of raw bytes; returns its address.
async fn tcp_echo() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    switchyard_rt::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            switchyard_rt::spawn(async move {
                let (mut r, mut w) = (stream.clone(), stream);
                let _ = futures::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

/// Accepts one client on a fresh server; the relay's client side (a
/// switchyard stream, whose close sends FIN).
async fn accept_one() -> (
    std::net::SocketAddr,
    impl std::future::Future<Output = switchyard_tcp::ServerStream>,
) {
    let server = switchyard_tcp::Server::bind("127.0.0.1:0", Default::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = async_channel::bounded(1);
    switchyard_rt::spawn(server.serve(move |conn| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(conn.into_stream()).await;
        }
    }));
    (addr, async move { rx.recv().await.unwrap() })
}

/// A client and a server, each a connected UDP socket, and a relay with
/// `config` between two more sockets joining them: client <-> a, b <->
/// server.
async fn udp_relay(
    config: RelayConfig,
) -> (
    switchyard_udp::UdpConnection,
    switchyard_udp::UdpConnection,
    switchyard_rt::JoinHandle<switchyard_relay::RelayReport>,
) {
    let sockets = futures::future::join_all((0..4).map(|_| UdpSocket::bind("127.0.0.1:0"))).await;
    let mut sockets: Vec<UdpSocket> = sockets.into_iter().map(Result::unwrap).collect();
    let addrs: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let (server, b, a, client) = (
        sockets.pop().unwrap(),
        sockets.pop().unwrap(),
        sockets.pop().unwrap(),
        sockets.pop().unwrap(),
    );
    let client = client.connect(addrs[1]).await.unwrap();
    let server = server.connect(addrs[2]).await.unwrap();
    let relaying = switchyard_rt::spawn(relay(
        a.connect(addrs[0]).await.unwrap(),
        b.connect(addrs[3]).await.unwrap(),
        config,
    ));
    (client, server, relaying)
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn eight_mebibytes_through_a_raw_tcp_relay_come_back_byte_exact() {
    switchyard_rt::block_on(async {
        let echo = tcp_echo().await;
        let (front, accepted) = accept_one().await;
        let mut client = TcpStream::connect(front).await.unwrap();
        let a = Framed::new(accepted.await, Raw);
        let b = Framed::new(
            switchyard_tcp::connect(echo, Duration::from_secs(5))
                .await
                .unwrap(),
            Raw,
        );
        let relaying = switchyard_rt::spawn(relay(a, b, RelayConfig::default().linger(LINGER)));

        let data: Vec<u8> = (0..8u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut writer = client.clone();
        let sent = data.clone();
        let writing = switchyard_rt::spawn(async move {
            writer.write_all(&sent).await.unwrap();
            writer.shutdown(std::net::Shutdown::Write).unwrap(); // end of stream, carried through
        });
        let mut back = Vec::with_capacity(data.len());
        client.read_to_end(&mut back).await.unwrap();
        writing.await;
        assert_eq!(back.len(), data.len());
        assert_eq!(checksum(&back), checksum(&data));

        let report = relaying.await;
        assert_eq!(
            (report.bytes_a_to_b, report.bytes_b_to_a),
            (8 << 20, 8 << 20)
        );
        assert!(
            matches!(report.a_to_b, DirectionEnd::SourceClosed),
            "{:?}",
            report.a_to_b
        );
        assert!(
            matches!(report.b_to_a, DirectionEnd::SourceClosed),
            "{:?}",
            report.b_to_a
        );
    })
}

#[test]
fn datagram_boundaries_survive_length_prefixed_tcp_to_udp() {
    switchyard_rt::block_on(async {
        // A UDP echo service.
        let service = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let service_addr = service.local_addr().unwrap();
        switchyard_rt::spawn(async move {
            while let Ok((msg, peer)) = service.recv_from().await {
                let _ = service.send_to(&msg, peer).await;
            }
        });
        let (front, accepted) = accept_one().await;
        let client = TcpStream::connect(front).await.unwrap();
        let a = Framed::new(accepted.await, LengthPrefixed::default());
        let b = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap()
            .connect(service_addr)
            .await
            .unwrap();
        let relaying = switchyard_rt::spawn(relay(a, b, RelayConfig::default().linger(LINGER)));

        let mut client = Framed::new(client, LengthPrefixed::default());
        for size in [0usize, 1, 7, 1472, 9000, 60_000] {
            let msg: bytes::Bytes = (0..size).map(|i| i as u8).collect();
            client.send(msg.clone()).await.unwrap();
            let back = client.next().await.unwrap().unwrap();
            assert_eq!(
                back,
                msg,
                "a {size}-byte message came back as {} bytes",
                back.len()
            );
        }
        drop(client);
        // The UDP side never ends by itself: the relay lets it linger, then stops.
        let report = switchyard_rt::timeout(Duration::from_secs(5), "relay end", relaying)
            .await
            .unwrap();
        assert_eq!(report.messages_a_to_b, 6);
        assert!(
            matches!(report.b_to_a, DirectionEnd::Abandoned),
            "{:?}",
            report.b_to_a
        );
        assert!(report.duration >= LINGER);
    })
}

#[test]
fn a_relay_where_nothing_moves_ends_at_its_idle_timeout() {
    switchyard_rt::block_on(async {
        let idle = Duration::from_millis(400);
        let config = RelayConfig::default().linger(LINGER).idle(Some(idle));
        let (mut client, mut server, relaying) = udp_relay(config).await;
        // Traffic for a while keeps it going past the idle timeout...
        for _ in 0..6 {
            client.send("tick".into()).await.unwrap();
            assert_eq!(server.next().await.unwrap().unwrap(), "tick");
            switchyard_rt::sleep(idle / 4).await;
        }
        // ...then silence ends it.
        let report = switchyard_rt::timeout(Duration::from_secs(5), "relay end", relaying)
            .await
            .unwrap();
        assert!(
            matches!(report.a_to_b, DirectionEnd::Idle),
            "{:?}",
            report.a_to_b
        );
        assert_eq!(report.messages_a_to_b, 6);
        // The last tick went at 5/4 of the idle time; silence ends it one idle
        // time after that, not before.
        assert!(
            report.duration >= idle * 5 / 4 + idle,
            "{:?}",
            report.duration
        );
    })
}

#[test]
fn time_outs_too_long_to_reach_mean_never_not_a_panic() {
    switchyard_rt::block_on(async {
        // What a config file can say: u64::MAX seconds.
        let forever = Some(Duration::from_secs(u64::MAX));
        let config = RelayConfig::default()
            .linger(Duration::from_secs(u64::MAX))
            .idle(forever)
            .send_timeout(forever);
        let (mut client, mut server, relaying) = udp_relay(config).await;
        let limit = Duration::from_secs(5);
        client.send("tick".into()).await.unwrap();
        let tick = switchyard_rt::timeout(limit, "relayed", server.next()).await;
        assert_eq!(
            tick.expect("the relay carries messages").unwrap().unwrap(),
            "tick"
        );
        server.send("tock".into()).await.unwrap();
        let tock = switchyard_rt::timeout(limit, "relayed", client.next()).await;
        assert_eq!(
            tock.expect("the relay carries messages").unwrap().unwrap(),
            "tock"
        );
        assert!(relaying.cancel().await.is_none(), "the relay ended");
    })
}
