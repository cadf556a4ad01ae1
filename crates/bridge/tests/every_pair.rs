//! Every listen kind (ws, wss, tcp, udp) with every target kind (tcp, udp,
//! ws, wss), end to end: messages sent by a client come back from an echo
//! service through the bridge, whole and in order. TCP sides use
//! length-prefixed framing so that message boundaries can be checked.

mod support;

use futures::{SinkExt, StreamExt};
use switchyard_bridge::{Scheme, StreamFraming};

async fn pair(listen: Scheme, target: Scheme) {
    let dir = support::temp_dir("pair");
    let (cert, key) = support::self_signed(&dir);
    let target_url = match target {
        Scheme::Tcp => format!("tcp://{}", support::tcp_echo().await),
        Scheme::Udp => format!("udp://{}", support::udp_echo().await),
        Scheme::Ws => format!("ws://{}/echo", support::ws_echo(None).await),
        Scheme::Wss => {
            let addr = support::ws_echo(Some(&(cert.clone(), key.clone()))).await;
            format!("wss://localhost:{}/echo", addr.port())
        }
        other => panic!("no echo service for {other:?} here (unix_sockets.rs, stdio.rs)"),
    };
    let mut listener = support::listener(listen, "/relay", &target_url);
    let mut route = listener.routes[0].clone().target_ca(Some(cert.clone()));
    // A framing is for stream sides; without one it would be refused.
    if listen == Scheme::Tcp || target == Scheme::Tcp {
        route = route.framing(StreamFraming::LengthPrefixed);
    }
    listener.routes[0] = route;
    if listen == Scheme::Wss {
        listener = listener.websocket_options(|ws| ws.tls(cert.clone(), key.clone()));
    }
    let bridge = support::start(vec![listener]).await;
    let mut client = support::client(
        listen,
        bridge.addrs[0],
        "/relay",
        StreamFraming::LengthPrefixed,
        Some(&cert),
    )
    .await;

    let big: bytes::Bytes = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let messages = [
        bytes::Bytes::from_static(b"hello"),
        big,
        bytes::Bytes::new(),
        "last".into(),
    ];
    for msg in &messages {
        client.send(msg.clone()).await.unwrap();
        let back =
            switchyard_rt::timeout(std::time::Duration::from_secs(10), "echo", client.next())
                .await
                .unwrap_or_else(|e| panic!("{listen:?} -> {target:?}: {e}"))
                .expect("a message")
                .unwrap();
        assert_eq!(
            back,
            msg,
            "{listen:?} -> {target:?}: a {}-byte message",
            msg.len()
        );
    }
    assert_eq!(bridge.metrics.sessions_open(), 1);
    let _ = client.close().await;
    bridge.shutdown.trigger();
    switchyard_rt::timeout(
        std::time::Duration::from_secs(10),
        "shutdown",
        bridge.serving,
    )
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

macro_rules! pairs {
    ($($name:ident: $listen:ident -> $target:ident,)*) => {$(
        #[test]
        fn $name() {
    switchyard_rt::block_on(async {
            pair(Scheme::$listen, Scheme::$target).await;
        })
}
    )*};
}

pairs! {
    ws_to_tcp: Ws -> Tcp,
    ws_to_udp: Ws -> Udp,
    ws_to_ws: Ws -> Ws,
    ws_to_wss: Ws -> Wss,
    wss_to_tcp: Wss -> Tcp,
    wss_to_udp: Wss -> Udp,
    wss_to_ws: Wss -> Ws,
    wss_to_wss: Wss -> Wss,
    tcp_to_tcp: Tcp -> Tcp,
    tcp_to_udp: Tcp -> Udp,
    tcp_to_ws: Tcp -> Ws,
    tcp_to_wss: Tcp -> Wss,
    udp_to_tcp: Udp -> Tcp,
    udp_to_udp: Udp -> Udp,
    udp_to_ws: Udp -> Ws,
    udp_to_wss: Udp -> Wss,
}
