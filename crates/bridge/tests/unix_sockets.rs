//! `unix://` endpoints: a Unix-socket listener relaying to a target, a
//! WebSocket route reaching a Unix-socket service, a stale socket file
//! replaced and one in use refused, the file removed at shutdown.

#![cfg(unix)]

mod support;

use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};
use switchyard_bridge::{
    Bridge, BridgeConfig, BridgeError, ListenerConfig, RouteConfig, TargetSpec,
};
use switchyard_rt::net::{UnixListener, UnixStream};
use switchyard_ws::WsMessage;

fn unix_listener(path: &std::path::Path, target: &str) -> ListenerConfig {
    let listen = format!("unix://{}", path.display()).parse().unwrap();
    ListenerConfig::new(listen).route(RouteConfig::new(
        "/",
        TargetSpec::Fixed(target.parse().unwrap()),
    ))
}

#[test]
fn a_unix_listener_relays_to_its_target_and_removes_its_file_at_shutdown() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let dir = support::temp_dir("unix-listener");
        let path = dir.join("bridge.sock");
        // A file left by a bridge that did not exit cleanly: nothing answers.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let bridge = support::start(vec![unix_listener(&path, &format!("tcp://{echo}"))]).await;

        let mut stream = UnixStream::connect(&path).await.unwrap();
        stream.write_all(b"over a unix socket").await.unwrap();
        let mut buf = [0u8; 18];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"over a unix socket");

        // In use now: a second bridge on the same file is refused.
        let again = Bridge::bind(BridgeConfig::new(vec![unix_listener(
            &path,
            &format!("tcp://{echo}"),
        )]))
        .await;
        assert!(
            matches!(&again, Err(BridgeError::Bind { listen, .. }) if listen.starts_with("unix://")),
            "{again:?}"
        );

        drop(stream);
        bridge.shutdown.trigger();
        switchyard_rt::timeout(
            Duration::from_secs(10),
            "the bridge stopping",
            bridge.serving,
        )
        .await
        .unwrap();
        assert!(!path.exists(), "the socket file is left behind");
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn a_websocket_route_reaches_a_unix_socket_service() {
    switchyard_rt::block_on(async {
        let dir = support::temp_dir("unix-target");
        let path = dir.join("service.sock");
        let service = UnixListener::bind(&path).unwrap();
        switchyard_rt::spawn(async move {
            while let Ok((stream, _)) = service.accept().await {
                switchyard_rt::spawn(async move {
                    let (mut reader, mut writer) = (stream.clone(), stream);
                    let _ = futures::io::copy(&mut reader, &mut writer).await;
                });
            }
        });
        let target = format!("unix://{}", path.display());
        let bridge = support::start(vec![support::listener(
            switchyard_bridge::Scheme::Ws,
            "/svc",
            &target,
        )])
        .await;
        let url = format!("ws://{}/svc", bridge.addrs[0]);
        let mut client = switchyard_ws::connect(&url).await.unwrap();
        client
            .send(WsMessage::binary("to a unix socket"))
            .await
            .unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("to a unix socket")
        );
        let _ = std::fs::remove_dir_all(dir);
    })
}
