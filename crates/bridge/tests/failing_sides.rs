//! A side that fails ends its session at once and says why: a target
//! killed mid-stream is 1014 every time (never a clean 1000), and a client
//! that breaks the WebSocket protocol gets 1002 and its target is closed
//! straight away, not after the linger.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use process::RawWs;
use switchyard_bridge::Scheme;

/// A TCP service in a process of its own that streams to its one client
/// and never reads what the client sends.
const STREAMING_TARGET: &str = r#"
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
data = bytes(range(256)) * 256
while True:
    c.sendall(data)
"#;

#[test]
fn a_target_killed_mid_stream_is_reported_with_1014_every_time() {
    switchyard_rt::block_on(async {
        for run in 0..5 {
            let mut target = Command::new("python3")
                .args(["-c", STREAMING_TARGET])
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 runs");
            let mut port = String::new();
            BufReader::new(target.stdout.take().unwrap())
                .read_line(&mut port)
                .unwrap();
            let target_addr = format!("tcp://127.0.0.1:{}", port.trim());
            let bridge =
                support::start(vec![support::listener(Scheme::Ws, "/s", &target_addr)]).await;
            let addr = bridge.addrs[0];
            let (code, reason) = switchyard_rt::spawn_blocking(move || {
                let mut client = RawWs::connect(addr, "/s");
                // The client streams too, into a target that does not read.
                let mut writer = RawWs {
                    stream: client.stream.try_clone().unwrap(),
                };
                std::thread::spawn(move || {
                    let message = vec![7u8; 64 << 10];
                    while writer.write_frame(2, &message).is_ok() {}
                });
                let mut received = 0;
                let killer = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(300));
                    target.kill().unwrap();
                    target.wait().unwrap();
                });
                let close = client.read_until_close(&mut received).unwrap();
                killer.join().unwrap();
                assert!(received > 0, "nothing came from the target before it died");
                close
            })
            .await;
            assert_eq!(code, 1014, "run {run}: {reason}");
            assert!(reason.contains("target failed"), "run {run}: {reason}");
            bridge.shutdown.trigger();
        }
    })
}

#[test]
fn a_client_that_breaks_the_protocol_gets_1002_and_its_target_is_closed_at_once() {
    switchyard_rt::block_on(async {
        let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let target = listener.local_addr().unwrap();
        let bridge = support::start(vec![support::listener(
            Scheme::Ws,
            "/s",
            &format!("tcp://{target}"),
        )])
        .await;
        let addr = bridge.addrs[0];
        let mut client = switchyard_rt::spawn_blocking(move || RawWs::connect(addr, "/s")).await;
        let (mut accepted, _) = listener.accept().await.unwrap();
        let broken = Instant::now();
        let (code, _) = switchyard_rt::spawn_blocking(move || {
            // Opcode 3 is reserved: a protocol violation.
            client.write_frame(0x3, b"what is this").unwrap();
            client.read_until_close(&mut 0).unwrap()
        })
        .await;
        assert_eq!(code, 1002);
        let mut buf = [0u8; 16];
        let read = switchyard_rt::timeout(
            Duration::from_secs(5),
            "target end",
            futures::io::AsyncReadExt::read(&mut accepted, &mut buf),
        )
        .await
        .unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert!(
            broken.elapsed() < Duration::from_millis(1000),
            "the target stayed open {:?} after the client broke the protocol",
            broken.elapsed()
        );
    })
}
