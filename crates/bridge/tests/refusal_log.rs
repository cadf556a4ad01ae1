//! What is refused before HTTP is logged as a warning an operator can act
//! on, with its reason (a connection without a PROXY header, a client
//! without the certificate asked for), and a flood of them writes a bounded
//! number of lines.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Waits until `log()` has `n` lines holding `needle` (or the time is up);
/// the lines.
fn lines_with(log: impl Fn() -> String, needle: &str, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let lines: Vec<String> = log()
            .lines()
            .filter(|l| l.contains(needle))
            .map(String::from)
            .collect();
        if lines.len() >= n || started.elapsed() > Duration::from_secs(5) {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn connections_without_a_proxy_header_are_warned_about_within_a_budget() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let target = format!("tcp://{echo}");
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["ws://127.0.0.1:0/x", &target, "--proxy-protocol"],
        );
        const FLOOD: usize = 100;
        for _ in 0..FLOOD {
            let mut tcp = TcpStream::connect(bridge.addr).unwrap();
            tcp.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            // Refused: closed without an answer.
            let mut answer = Vec::new();
            let _ = tcp.read_to_end(&mut answer);
            assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        }
        let needle = "refused: no valid PROXY protocol header";
        let lines = lines_with(|| bridge.log(), needle, 1);
        let log = bridge.log();
        assert!(!lines.is_empty(), "no warning:\n{log}");
        assert!(lines[0].contains("WARN"), "{}", lines[0]);
        assert!(lines[0].contains("127.0.0.1"), "no peer: {}", lines[0]);
        // The burst of 20, and perhaps a line or two more as the flood
        // took its time: far fewer than the connections.
        assert!(
            lines.len() < 30,
            "{} lines for {FLOOD} refusals",
            lines.len()
        );
    });
}

#[test]
fn a_client_without_the_certificate_asked_for_is_warned_about() {
    switchyard_rt::block_on(async {
        let dir = support::temp_dir("refusal-log-tls");
        let (cert, key) = support::self_signed(&dir);
        let echo = support::tcp_echo().await;
        let target = format!("tcp://{echo}");
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &[
                "wss://127.0.0.1:0/x",
                &target,
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
                // Any CA will do: this client has no certificate at all.
                "--client-ca",
                cert.to_str().unwrap(),
            ],
        );
        let tls = switchyard_ws::client_tls(Some(&cert)).unwrap();
        let config = switchyard_ws::ClientConfig::default().tls(tls);
        let url = format!("wss://localhost:{}/x", bridge.addr.port());
        let refused = switchyard_ws::connect_with(&url, &config).await;
        assert!(refused.is_err(), "a client without a certificate got in");

        let lines = lines_with(|| bridge.log(), "TLS handshake failed", 1);
        let log = bridge.log();
        assert_eq!(lines.len(), 1, "{log}");
        assert!(lines[0].contains("WARN"), "{}", lines[0]);
        assert!(
            lines[0].to_lowercase().contains("certificate"),
            "no reason given: {}",
            lines[0]
        );
        let _ = std::fs::remove_dir_all(dir);
    });
}
