//! The `switchyard-bridge` command as a user runs it: help with examples,
//! clear errors, a config file with several routes, and a clean stop on
//! SIGTERM and SIGINT.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use switchyard_ws::WsMessage;

use futures::{SinkExt, StreamExt};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(support::bridge_binary())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_shows_examples() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Examples:"), "{help}");
    assert!(
        help.contains("switchyard-bridge ws://0.0.0.0:8080/vnc tcp://127.0.0.1:5900"),
        "{help}"
    );
    assert!(help.contains("--config bridge.toml"), "{help}");
}

#[test]
fn mistakes_are_reported_plainly() {
    let out = run(&["http://0.0.0.0:80", "tcp://127.0.0.1:1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected ws://, wss://, tcp://, udp://, unix:// or stdio"),
        "{err}"
    );

    let out = run(&["wss://127.0.0.1:0/x", "tcp://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wss:// needs a TLS certificate and key"),
        "{err}"
    );

    let out = run(&[
        "ws://127.0.0.1:0/x",
        "tcp://127.0.0.1:1",
        "--max-connections-per-ip",
        "0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-connections-per-ip: at least 1"),
        "{err}"
    );

    let out = run(&["ws://127.0.0.1:0/x", "tcp://127.0.0.1:1", "--text"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("text messages need lines or length-prefixed framing"),
        "{err}"
    );

    // A framing where no side is a stream would be ignored: refused.
    let out = run(&[
        "ws://127.0.0.1:0/x",
        "ws://127.0.0.1:1/y",
        "--framing",
        "lines",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("framing lines is for stream sides (tcp, unix, stdio)"),
        "{err}"
    );

    let dir = support::temp_dir("cli-config");
    let file = dir.join("bridge.toml");
    std::fs::write(&file, "[[listener]]\nlisten = \"ws://127.0.0.1:0\"\n\n[[listener.route]]\npath = \"/a\"\ntarget = \"tcp://nowhere\"\n").unwrap();
    let out = run(&["--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bridge.toml line 6, key `target`"), "{err}");

    // Each cause is printed once, not once in the message and again as
    // its source.
    let missing = dir.join("missing.toml");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!("ws://{}/x", taken.local_addr().unwrap());
    for args in [
        vec!["--config", missing.to_str().unwrap()],
        vec![&taken, "tcp://127.0.0.1:1"],
        vec![
            "ws://127.0.0.1:0/x",
            "tcp://127.0.0.1:1",
            "--web",
            missing.to_str().unwrap(),
        ],
        vec!["ws://127.0.0.1:0/x", "--tokens", missing.to_str().unwrap()],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let cause = ["No such file or directory", "Address already in use"]
            .into_iter()
            .find(|cause| err.contains(cause))
            .unwrap_or_else(|| panic!("{args:?}: no cause in {err}"));
        assert_eq!(err.matches(cause).count(), 1, "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_config_file_runs_several_routes_on_one_port() {
    switchyard_rt::block_on(async {
        let (tcp, udp) = (support::tcp_echo().await, support::udp_echo().await);
        let dir = support::temp_dir("cli-routes");
        let file = dir.join("bridge.toml");
        std::fs::write(
            &file,
            format!(
                r#"
[[listener]]
listen = "ws://127.0.0.1:0"
metrics = true

[[listener.route]]
path = "/stream"
target = "tcp://{tcp}"

[[listener.route]]
path = "/datagrams"
target = "udp://{udp}"
idle_timeout = 30
"#
            ),
        )
        .unwrap();
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["--config", file.to_str().unwrap()],
        );
        for path in ["/stream", "/datagrams"] {
            let mut client = switchyard_ws::connect(&format!("ws://{}{path}", bridge.addr))
                .await
                .unwrap();
            client.send(path.into()).await.unwrap();
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                WsMessage::binary(path.as_bytes().to_vec())
            );
        }
        // The startup log names every route and where it goes.
        let log = bridge.log();
        for route in [
            format!("ws://{}/stream -> tcp://{tcp}", bridge.addr),
            format!("ws://{}/datagrams -> udp://{udp}", bridge.addr),
        ] {
            assert!(log.contains(&route), "{route} not in\n{log}");
        }
        let addr = bridge.addr;
        let health =
            switchyard_rt::spawn_blocking(move || support::http_get(addr, "/healthz", "")).await;
        assert!(
            health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
            "{health}"
        );
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn a_tcp_listener_from_the_command_line_relays_to_its_target() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["tcp://127.0.0.1:0", &format!("tcp://{echo}")],
        );
        let addr = bridge.addr;
        let reply = support::blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"through tcp").unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            reply
        })
        .await;
        assert_eq!(reply, "through tcp", "{}", bridge.log());
        let log = bridge.log();
        let route = format!("tcp://{addr} -> tcp://{echo}");
        assert!(log.contains(&route), "{route} not in\n{log}");
    })
}

async fn stops_cleanly_on(signal: &'static str) {
    let echo = support::tcp_echo().await;
    let target = format!("tcp://{echo}");
    let mut bridge = process::ExampleServer::start_program(
        &support::bridge_binary(),
        &["ws://127.0.0.1:0/x", &target, "--shutdown-grace", "3"],
    );
    let mut client = switchyard_ws::connect(&format!("ws://{}/x", bridge.addr))
        .await
        .unwrap();
    client.send("before".into()).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        WsMessage::binary("before")
    );
    let reading = switchyard_rt::spawn(async move {
        while client.next().await.is_some() {}
        client.peer_close().map(|c| c.code)
    });
    let started = Instant::now();
    let status = switchyard_rt::spawn_blocking(move || {
        let status = bridge.signal_and_wait(signal, Duration::from_secs(8));
        (status, bridge.log())
    })
    .await;
    let (status, log) = status;
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(reading.await, Some(1001), "{log}");
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn sigterm_closes_websockets_with_1001_and_exits() {
    switchyard_rt::block_on(async {
        stops_cleanly_on("TERM").await;
    })
}

#[test]
fn sigint_does_the_same() {
    switchyard_rt::block_on(async {
        stops_cleanly_on("INT").await;
    })
}
