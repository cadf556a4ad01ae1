//! A target that stops reading holds its session's client side still:
//! nothing is read from the client while nothing can be passed on. The
//! client's heartbeat, the send time-out and a shutdown must still end the
//! session when the client dies, freezes, or the bridge is stopped.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::io::ErrorKind as IoErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use process::RawWs;
use switchyard_bridge::{Bridge, BridgeConfig, Endpoint, ListenerConfig, RouteConfig, TargetSpec};
use switchyard_ws::{HeartbeatConfig, WsServerConfig};

/// A bridge from `ws://127.0.0.1:0/s` to `target`.
async fn bridge(
    target: SocketAddr,
    heartbeat: Option<Duration>,
    send_timeout: Option<Duration>,
) -> support::Running {
    let listen: Endpoint = "ws://127.0.0.1:0/s".parse().unwrap();
    let route = RouteConfig::new(
        "/s",
        TargetSpec::Fixed(format!("tcp://{target}").parse().unwrap()),
    )
    .send_timeout(send_timeout);
    let listener = ListenerConfig::new(listen)
        .route(route)
        .websocket_options(|ws| {
            let beat = heartbeat.map(|beat| HeartbeatConfig::new(beat, beat));
            ws.websocket(WsServerConfig::default().heartbeat(beat))
        });
    let config = BridgeConfig::new(vec![listener]).shutdown_grace(Duration::from_secs(30));
    let bridge = Bridge::bind(config).await.unwrap();
    support::Running {
        addrs: bridge.local_addrs().to_vec(),
        metrics: bridge.metrics(),
        shutdown: bridge.shutdown(),
        serving: switchyard_rt::spawn(bridge.serve()),
    }
}

/// A client that sends 64 KiB messages until the bridge stops reading them
/// (the target is not reading), then returns.
async fn fill_until_blocked(addr: SocketAddr) -> RawWs {
    switchyard_rt::spawn_blocking(move || {
        let mut client = RawWs::connect(addr, "/s");
        client
            .stream
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let message = vec![0x5a; 64 << 10];
        for _ in 0..10_000 {
            match client.write_frame(2, &message) {
                Ok(()) => {}
                Err(e) if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut) => {
                    return client;
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the bridge kept reading with its target stalled");
    })
    .await
}

#[test]
fn a_client_that_dies_while_its_target_stalls_is_released_by_its_heartbeat() {
    switchyard_rt::block_on(async {
        let (target, _held) = support::stalled_target().await;
        // No send time-out: only the heartbeat can find the client gone.
        let bridge = bridge(target, Some(Duration::from_secs(1)), None).await;
        let client = fill_until_blocked(bridge.addrs[0]).await;
        assert_eq!(bridge.metrics.sessions_open(), 1);
        drop(client); // the client's process is killed
        let metrics = bridge.metrics.clone();
        assert!(
            support::eventually(Duration::from_secs(8), || metrics.sessions_open() == 0).await,
            "the session outlived its client by 8 s (heartbeat every 1 s)"
        );
    })
}

#[test]
fn a_frozen_client_with_a_stalled_target_is_released_by_the_send_timeout() {
    switchyard_rt::block_on(async {
        let (target, _held) = support::stalled_target().await;
        let bridge = bridge(
            target,
            Some(Duration::from_secs(1)),
            Some(Duration::from_secs(2)),
        )
        .await;
        let started = Instant::now();
        let mut client = fill_until_blocked(bridge.addrs[0]).await;
        // The client stays connected but neither reads nor writes (stopped).
        let metrics = bridge.metrics.clone();
        assert!(
            support::eventually(Duration::from_secs(8), || metrics.sessions_open() == 0).await,
            "the session was not released by the 2 s send time-out"
        );
        assert!(started.elapsed() >= Duration::from_secs(2));
        // What the client finds when it wakes: 1014 and why.
        let (code, reason) =
            switchyard_rt::spawn_blocking(move || client.read_until_close(&mut 0).unwrap()).await;
        assert_eq!(code, 1014, "{reason}");
        assert!(reason.contains("target stalled"), "{reason}");
        assert_eq!(
            bridge.metrics.errors(switchyard_bridge::ErrorKind::Target),
            1
        );
    })
}

#[test]
fn a_shutdown_with_a_stalled_target_does_not_wait_out_the_grace_period() {
    switchyard_rt::block_on(async {
        let (target, _held) = support::stalled_target().await;
        let bridge = bridge(target, Some(Duration::from_secs(30)), None).await;
        let mut client = fill_until_blocked(bridge.addrs[0]).await;
        let started = Instant::now();
        bridge.shutdown.trigger();
        switchyard_rt::timeout(Duration::from_secs(10), "shutdown", bridge.serving)
            .await
            .expect("the bridge waited for its 30 s grace period");
        assert!(started.elapsed() < Duration::from_secs(10));
        let (code, _) =
            switchyard_rt::spawn_blocking(move || client.read_until_close(&mut 0).unwrap()).await;
        assert_eq!(code, 1001);
    })
}
