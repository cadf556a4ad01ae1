//! The smoke pass CI runs: every mode of `switchyard-load` for half a second
//! against servers in this process, each reporting JSON with work done and
//! no errors. Not a benchmark: nothing here is timed.

use std::net::SocketAddr;
use std::process::Command;

use switchyard_push::hub::{Hub, HubConfig};
use switchyard_push::{push_handler, subscriber_handler, PushConfig};
use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{websocket, Router, WsServerConfig};

/// A push server for `hub`: subscribers at /ws, publishes at /push.
async fn push_server(hub: Hub) -> SocketAddr {
    ws_server(
        Router::new()
            .upgrade(
                "/ws",
                websocket(
                    WsServerConfig::default(),
                    subscriber_handler(hub.clone(), PushConfig::default()),
                ),
            )
            .post("/push", push_handler(hub, PushConfig::default())),
    )
    .await
}

async fn ws_server(router: Router) -> SocketAddr {
    let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    switchyard_rt::spawn(server.serve());
    addr
}

async fn servers() -> (SocketAddr, SocketAddr, SocketAddr, SocketAddr) {
    let echo = ws_server(Router::new().upgrade(
        "/ws",
        websocket(WsServerConfig::default(), |mut conn, _| async move {
            let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
        }),
    ))
    .await;
    let hub = Hub::new(HubConfig::default());
    let push = push_server(hub).await;
    let tcp = switchyard_tcp::Server::bind("127.0.0.1:0", switchyard_tcp::ServerConfig::default())
        .await
        .unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    switchyard_rt::spawn(tcp.serve(|conn| async move {
        let mut conn = conn.framed(switchyard_frame::LengthPrefixed::default());
        let _ = switchyard_frame::answer(&mut conn, |_, msg| Some(msg)).await;
    }));
    let udp = switchyard_udp::UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap();
    let udp_addr = udp.local_addr().unwrap();
    switchyard_rt::spawn(async move {
        while let Ok((msg, peer)) = udp.recv_from().await {
            let _ = udp.send_to(&msg, peer).await;
        }
    });
    (echo, push, tcp_addr, udp_addr)
}

/// Runs the load generator; its one line of JSON.
async fn load(args: Vec<String>) -> serde_json::Value {
    let out = switchyard_rt::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_switchyard-load"))
            .args(&args)
            .arg("--json")
            .output()
            .unwrap()
    })
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn every_mode_runs_and_reports() {
    switchyard_rt::block_on(async {
        let (echo, push, tcp, udp) = servers().await;
        let runs = [
            format!("echo ws://{echo}/ws --connections 4 --duration 0.5"),
            format!("echo ws://{echo}/ws --connections 2 --duration 0.5 --rate 200 --size 4096"),
            format!("echo tcp://{tcp} --connections 2 --duration 0.5"),
            format!("echo tcp://{tcp} --connections 2 --duration 0.5 --window 4"),
            format!("echo udp://{udp} --connections 2 --duration 0.5"),
            format!("stream ws://{echo}/ws --connections 1 --size 65536 --duration 0.5"),
            format!("stream tcp://{tcp} --connections 2 --size 16384 --duration 0.5"),
            format!("connect ws://{echo}/ws --connections 2 --duration 0.5"),
        ];
        for run in runs {
            let report = load(args(&run)).await;
            assert!(report["messages"].as_u64().unwrap() > 0, "{run}: {report}");
            assert_eq!(report["errors"].as_u64(), Some(0), "{run}: {report}");
            assert!(
                report["messages_per_sec"].as_f64().unwrap() > 0.0,
                "{run}: {report}"
            );
            if !run.starts_with("stream") {
                assert!(
                    report["latency_us"]["p99"].as_f64().unwrap() > 0.0,
                    "{run}: {report}"
                );
            }
        }

        // The server (this process) was measured, and the window kept.
        let windowed = load(args(&format!(
            "echo ws://{echo}/ws --connections 2 --duration 0.5 --window 8 --pid {}",
            std::process::id()
        )))
        .await;
        assert_eq!(windowed["extra"]["window"].as_u64(), Some(8), "{windowed}");
        assert!(
            windowed["extra"]["server_cpu_percent"].as_f64().unwrap() > 0.0,
            "{windowed}"
        );
        assert!(
            windowed["extra"]["load_cpu_percent"].as_f64().unwrap() > 0.0,
            "{windowed}"
        );
        assert!(
            windowed["extra"]["messages_per_server_cpu_second"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{windowed}"
        );

        let fanout = load(args(&format!(
        "fanout --subscribe ws://{push}/ws --publish http://{push}/push --subscribers 20 --rate 40 --duration 0.5"
    )))
    .await;
        assert_eq!(
            fanout["extra"]["deliveries_missing"].as_u64(),
            Some(0),
            "{fanout}"
        );
        assert_eq!(
            fanout["messages"], fanout["extra"]["deliveries_expected"],
            "{fanout}"
        );
        assert!(
            fanout["extra"]["published"].as_u64().unwrap() >= 10,
            "{fanout}"
        );

        // A quarter of the subscribers slow, publishing brief enough that
        // they keep their place: reported apart, everything read in the end.
        let slow = load(args(&format!(
        "fanout --subscribe ws://{push}/ws --publish http://{push}/push --subscribers 20 --rate 40 --duration 0.5 --slow-fraction 0.25 --slow-read-delay-ms 200"
    )))
    .await;
        let published = slow["extra"]["published"].as_u64().unwrap();
        assert_eq!(
            slow["extra"]["slow_subscribers"].as_u64(),
            Some(5),
            "{slow}"
        );
        assert_eq!(
            slow["extra"]["deliveries_expected"].as_u64(),
            Some(15 * published),
            "{slow}"
        );
        assert_eq!(
            slow["extra"]["deliveries_missing"].as_u64(),
            Some(0),
            "{slow}"
        );
        assert_eq!(
            slow["extra"]["slow_deliveries"].as_u64(),
            Some(5 * published),
            "{slow}"
        );
        assert_eq!(slow["extra"]["slow_cut_off"].as_u64(), Some(0), "{slow}");
        assert!(
            slow["extra"]["ramp_seconds"].as_f64().unwrap() > 0.0,
            "{slow}"
        );
        assert!(
            slow["extra"]["slow_latency_us"]["max"].as_f64().unwrap() > 0.0,
            "{slow}"
        );

        let hold = load(args(&format!(
            "hold ws://{push}/ws --connections 200 --duration 0.2 --pid {}",
            std::process::id()
        )))
        .await;
        assert_eq!(hold["extra"]["open"].as_u64(), Some(200), "{hold}");
        assert!(
            hold["extra"]["server_kib_per_connection"].is_number(),
            "{hold}"
        );
    })
}

#[test]
fn slow_subscribers_cut_off_are_counted_apart_from_the_others() {
    switchyard_rt::block_on(async {
        // A queue of 8 messages; still, what the kernel holds on loopback
        // (about 4 MB per connection) must fill first: 64 KiB messages at
        // 100/s for 1.5 s put a slow subscriber about 9.8 MB behind.
        let hub = Hub::new(HubConfig::default().queue_messages(8));
        let push = push_server(hub).await;
        let report = load(args(&format!(
        "fanout --subscribe ws://{push}/ws --publish http://{push}/push --subscribers 4 --rate 100 --size 65536 --duration 1.5 --slow-fraction 0.25"
    )))
    .await;
        let extra = &report["extra"];
        assert_eq!(extra["slow_subscribers"].as_u64(), Some(1), "{report}");
        assert_eq!(extra["slow_cut_off"].as_u64(), Some(1), "{report}");
        assert!(
            extra["slow_deliveries_not_read"].as_u64().unwrap() > 0,
            "{report}"
        );
        // The others got everything, and the slow one's end is no error.
        assert_eq!(extra["cut_off"].as_u64(), Some(0), "{report}");
        assert_eq!(extra["deliveries_missing"].as_u64(), Some(0), "{report}");
        assert_eq!(report["errors"].as_u64(), Some(0), "{report}");
    })
}

#[test]
fn unreachable_servers_and_bad_arguments_fail_clearly() {
    let run = |a: &str| {
        Command::new(env!("CARGO_BIN_EXE_switchyard-load"))
            .args(args(a))
            .output()
            .unwrap()
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run(&format!("echo ws://{closed}/ws --duration 0.2"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("cannot reach ws://{closed}/ws"))
    );
    let out = run(&format!("echo tcp://{closed} --duration 99999"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a duration is 0 to 3600 seconds"));
    for count in ["0", "100001"] {
        let out = run(&format!("echo tcp://{closed} --connections {count}"));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--connections is 1 to 100000"),
            "{count}"
        );
    }
    let out = run(&format!("hold tcp://{closed} --connections 100001"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--connections is 1 to 100000"));
    for (bad, says) in [
        ("--window 0", "--window is 1 to 1024"),
        ("--window 2 --rate 100", "--window is for the closed loop"),
        ("--window 2 --framing raw", "--window needs messages"),
    ] {
        let out = run(&format!("echo tcp://{closed} {bad}"));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{bad}");
    }
    for count in ["0", "1025"] {
        let out = run(&format!(
            "fanout --subscribe ws://{closed}/ws --publish http://{closed}/push --posts-in-flight {count}"
        ));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--posts-in-flight is 1 to 1024"),
            "{count}"
        );
    }
    for (bad, says) in [
        ("--slow-fraction 1.5", "--slow-fraction is 0 to 1"),
        ("--slow-fraction=-0.1", "--slow-fraction is 0 to 1"),
        ("--slow-fraction NaN", "--slow-fraction is 0 to 1"),
        (
            "--slow-read-delay-ms 0",
            "--slow-read-delay-ms is 1 to 60000",
        ),
    ] {
        let out = run(&format!(
            "fanout --subscribe ws://{closed}/ws --publish http://{closed}/push {bad}"
        ));
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{bad}");
    }
    let out = run(&format!(
        "fanout --subscribe tcp://{closed} --publish http://{closed}/push"
    ));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--subscribe takes ws:// or wss:// URLs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run("--help");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"));
}

#[test]
fn a_report_to_a_closed_pipe_is_not_a_panic() {
    switchyard_rt::block_on(async {
        let (_, _, tcp, _) = servers().await;
        let exit = switchyard_rt::spawn_blocking(move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard-load"))
                .args(args(&format!(
                    "echo tcp://{tcp} --connections 1 --duration 0.3"
                )))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // The reader goes away before the report is written.
            drop(child.stdout.take());
            child.wait_with_output().unwrap()
        })
        .await;
        assert_eq!(
            exit.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&exit.stderr)
        );
    })
}
