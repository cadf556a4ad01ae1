//! Real client addresses behind a proxy: a PROXY protocol header (version 1
//! on a WebSocket listener, version 2 on a TCP listener) or
//! `X-Forwarded-For` from a trusted proxy gives the address that the
//! session log shows and `--max-connections-per-ip` counts; a connection
//! without its header, or a header from an untrusted peer, gains nothing.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Opens a connection, sends `preamble` then a WebSocket upgrade with
/// `extra` headers, and returns the response (a refusal's body included)
/// with the connection (held open, so that its session holds its place).
fn upgrade(addr: SocketAddr, preamble: &[u8], extra: &str) -> (String, TcpStream) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    stream
        .write_all(&[preamble, request.as_bytes()].concat())
        .unwrap();
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => response.push(byte[0]),
            _ => break,
        }
    }
    if !response.starts_with(b"HTTP/1.1 101") {
        let _ = stream.read_to_end(&mut response);
    }
    (String::from_utf8_lossy(&response).into_owned(), stream)
}

fn start(args: &[&str]) -> process::ExampleServer {
    process::ExampleServer::start_program(&support::bridge_binary(), args)
}

async fn logged(bridge: &process::ExampleServer, text: &str) -> String {
    let seen = support::eventually(Duration::from_secs(10), || bridge.log().contains(text)).await;
    let log = bridge.log();
    assert!(seen, "{text:?} not logged in\n{log}");
    log
}

#[test]
fn a_proxy_protocol_header_gives_the_address_logged_and_limited() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let target = format!("tcp://{echo}");
        let bridge = start(&[
            "ws://127.0.0.1:0",
            &target,
            "--proxy-protocol",
            "--max-connections-per-ip",
            "1",
        ]);
        let addr = bridge.addr;
        let from = |ip: &str| format!("PROXY TCP4 {ip} 127.0.0.1 5000 80\r\n").into_bytes();
        let (first, held) =
            support::blocking(move || upgrade(addr, &from("203.0.113.7"), "")).await;
        assert!(first.starts_with("HTTP/1.1 101"), "{first}");
        // The same client again, through the same proxy: over its limit.
        let (second, _) = support::blocking(move || upgrade(addr, &from("203.0.113.7"), "")).await;
        assert!(second.starts_with("HTTP/1.1 503"), "{second}");
        // Another client through the same proxy: its own limit.
        let (other, other_held) =
            support::blocking(move || upgrade(addr, &from("203.0.113.8"), "")).await;
        assert!(other.starts_with("HTTP/1.1 101"), "{other}");
        // No header: closed without an answer.
        let (none, _) = support::blocking(move || upgrade(addr, b"", "")).await;
        assert_eq!(none, "");
        // The session's log line has the client's address.
        drop((held, other_held));
        logged(&bridge, "session peer=203.0.113.7:5000").await;
        logged(&bridge, "session peer=203.0.113.8:5000").await;
    })
}

#[test]
fn a_tcp_listener_reads_a_version_2_header() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let bridge = start(&[
            "tcp://127.0.0.1:0",
            &format!("tcp://{echo}"),
            "--proxy-protocol",
        ]);
        let addr = bridge.addr;
        let reply = support::blocking(move || {
            // PROXY v2, TCP over IPv6: [2001:db8::7]:4000 -> [2001:db8::1]:443.
            let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24".to_vec();
            header.extend(
                &"2001:db8::7"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            );
            header.extend(
                &"2001:db8::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            );
            header.extend(4000u16.to_be_bytes());
            header.extend(443u16.to_be_bytes());
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(&[&header[..], b"after the header"].concat())
                .unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            reply
        })
        .await;
        // Not a byte of the header reached the target.
        assert_eq!(reply, "after the header");
        logged(&bridge, "session peer=[2001:db8::7]:4000").await;
    })
}

#[test]
fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let target = format!("tcp://{echo}");
        let xff = |ip: &str| format!("X-Forwarded-For: 6.6.6.6, {ip}\r\n");

        // The test connects from 127.0.0.1, trusted here.
        let trusting = start(&[
            "ws://127.0.0.1:0",
            &target,
            "--trusted-proxy",
            "127.0.0.0/8",
            "--max-connections-per-ip",
            "1",
        ]);
        let addr = trusting.addr;
        let (a, held_a) = support::blocking(move || upgrade(addr, b"", &xff("203.0.113.7"))).await;
        let (b, held_b) = support::blocking(move || upgrade(addr, b"", &xff("203.0.113.8"))).await;
        let (again, _) = support::blocking(move || upgrade(addr, b"", &xff("203.0.113.7"))).await;
        assert!(
            a.starts_with("HTTP/1.1 101") && b.starts_with("HTTP/1.1 101"),
            "{a}\n{b}"
        );
        assert!(again.starts_with("HTTP/1.1 503"), "{again}");
        assert!(again.contains("from 203.0.113.7"), "{again}");
        drop((held_a, held_b));
        logged(&trusting, "session peer=203.0.113.7:0").await;

        // Not trusted: the header is ignored, and 127.0.0.1 is the client.
        let plain = start(&["ws://127.0.0.1:0", &target, "--max-connections-per-ip", "1"]);
        let addr = plain.addr;
        let (a, _held) = support::blocking(move || upgrade(addr, b"", &xff("203.0.113.7"))).await;
        let (b, _) = support::blocking(move || upgrade(addr, b"", &xff("203.0.113.8"))).await;
        assert!(a.starts_with("HTTP/1.1 101"), "{a}");
        assert!(
            b.starts_with("HTTP/1.1 503") && b.contains("from 127.0.0.1"),
            "{b}"
        );
    })
}

#[test]
fn a_tcp_listener_limits_each_client_address_and_closes_headerless_connections() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let bridge = start(&[
            "tcp://127.0.0.1:0",
            &format!("tcp://{echo}"),
            "--proxy-protocol",
            "--max-connections-per-ip",
            "1",
        ]);
        let addr = bridge.addr;
        // Sends `preamble` + "ping" and returns what comes back before the
        // bridge closes or 2 s pass, with the connection.
        let exchange = move |preamble: &'static [u8]| {
            support::blocking(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                stream.write_all(&[preamble, b"ping"].concat()).unwrap();
                let mut got = [0u8; 4];
                let n = stream.read(&mut got).unwrap_or(0);
                (String::from_utf8_lossy(&got[..n]).into_owned(), stream)
            })
        };
        let header = b"PROXY TCP4 203.0.113.7 127.0.0.1 5000 9000\r\n";
        let (first, _held) = exchange(header).await;
        assert_eq!(first, "ping");
        let (second, _) = exchange(header).await;
        assert_eq!(
            second, "",
            "a second connection from 203.0.113.7 was relayed"
        );
        let (other, _) = exchange(b"PROXY TCP4 203.0.113.8 127.0.0.1 5000 9000\r\n").await;
        assert_eq!(other, "ping");
        let (headerless, _) = exchange(b"").await;
        assert_eq!(headerless, "", "a connection without a header was relayed");
        let log = logged(&bridge, "too many connections from this address").await;
        assert!(log.contains("no valid PROXY protocol header"), "{log}");
    })
}
