//! Clients that trickle their request headers (slowloris) cannot take the
//! slots a real client needs: with twice the connection limit of them
//! connected, from many addresses or from one, a real client connects and
//! is served within a second.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures::io::AsyncWriteExt;
use futures::{SinkExt, StreamExt};
use switchyard_ws::http::HttpServerConfig;

/// A connection to `addr` from `source` (any port), as a blocking socket
/// turned async.
fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> switchyard_rt::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    switchyard_rt::net::TcpStream::from_std(std::net::TcpStream::from(socket)).unwrap()
}

/// Opens `n` connections, from 127.0.0.2 and up when `many_sources` (else
/// all from 127.0.0.2), that send a request line and the start of a
/// header, never finishing.
async fn slowloris(
    addr: SocketAddr,
    n: usize,
    many_sources: bool,
) -> Vec<switchyard_rt::net::TcpStream> {
    let mut held = Vec::new();
    for i in 0..n {
        let source = if many_sources {
            Ipv4Addr::new(127, 0, (2 + i / 250) as u8, (2 + i % 250) as u8)
        } else {
            Ipv4Addr::new(127, 0, 0, 2)
        };
        let mut stream = connect_from(source, addr);
        let _ = stream.write_all(b"GET /ws HTTP/1.1\r\nX-Slow: ").await;
        held.push(stream);
    }
    held
}

/// How many of `held` the server has closed (after a moment).
async fn closed_by_server(held: &mut [switchyard_rt::net::TcpStream]) -> usize {
    switchyard_rt::sleep(Duration::from_millis(300)).await;
    let mut closed = 0;
    for stream in held {
        let mut byte = [0u8; 1];
        let read = futures::io::AsyncReadExt::read(stream, &mut byte);
        if let Ok(Ok(0) | Err(_)) =
            switchyard_rt::timeout(Duration::from_millis(5), "a read", read).await
        {
            closed += 1;
        }
    }
    closed
}

/// Keeps `held` trickling one header byte every 200 ms for 10 s.
fn trickle(mut held: Vec<switchyard_rt::net::TcpStream>) -> switchyard_rt::JoinHandle<()> {
    switchyard_rt::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            switchyard_rt::sleep(Duration::from_millis(200)).await;
            for stream in &mut held {
                let _ = stream.write_all(b"a").await;
            }
        }
    })
}

/// A real client: connects, sends, gets its echo, within a second.
async fn served_within_a_second(addr: SocketAddr) {
    let started = Instant::now();
    let served = switchyard_rt::timeout(Duration::from_secs(1), "a real client", async {
        let mut client = switchyard_ws::connect(&format!("ws://{addr}/ws")).await?;
        client.send("hello".into()).await?;
        client.next().await.transpose()
    })
    .await;
    let reply = served.expect("not served within a second").unwrap();
    assert_eq!(reply.as_deref(), Some(&b"hello"[..]));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn slowloris_from_many_addresses_is_held_to_the_handshake_budget() {
    switchyard_rt::block_on(async {
        let config = HttpServerConfig::default()
            .max_connections(100)
            .max_handshakes(50);
        let addr = support::start_http(config).await;
        let mut held = slowloris(addr, 200, true).await;
        // Each address has one connection: the budget of 50 unfinished
        // handshakes is what drops the oldest.
        let closed = closed_by_server(&mut held).await;
        assert!(closed >= 150 - 16, "only {closed} of 200 were dropped");
        let trickling = trickle(held);
        for _ in 0..3 {
            served_within_a_second(addr).await;
        }
        drop(trickling);
    })
}

#[test]
fn slowloris_from_one_address_is_held_to_its_own_cap() {
    switchyard_rt::block_on(async {
        let config = HttpServerConfig::default()
            .max_connections(100)
            .max_handshakes_per_ip(10);
        let addr = support::start_http(config).await;
        let mut first = slowloris(addr, 100, false).await;
        // A burst from one address is left alone at first (real clients behind
        // one address finish within a second); once they have waited that
        // long, each newcomer from the address drops one of its oldest.
        switchyard_rt::sleep(Duration::from_millis(1100)).await;
        let second = slowloris(addr, 100, false).await;
        let closed = closed_by_server(&mut first).await;
        assert!(closed >= 90, "only {closed} of the first 100 were dropped");
        let trickling = trickle([first, second].concat());
        for _ in 0..3 {
            served_within_a_second(addr).await;
        }
        drop(trickling);
    })
}
