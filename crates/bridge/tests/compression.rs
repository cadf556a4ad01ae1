//! A WebSocket listener with permessage-deflate: clients that offer it get
//! it (the 101 says so), their compressed messages reach a UDP service as
//! datagrams and the answers come back, and a compressed bomb closes with
//! 1009 while the bridge serves the next client.

mod support;

use futures::{SinkExt, StreamExt};
use support::{blocking, status};
use switchyard_bridge::{ListenerConfig, Scheme};
use switchyard_ws::deflate::{Compressor, DeflateConfig};
use switchyard_ws::ClientConfig;

fn compressing(listener: ListenerConfig) -> ListenerConfig {
    listener.websocket_options(|ws| {
        let websocket = ws
            .websocket
            .clone()
            .max_message(32 << 10)
            .deflate(Some(DeflateConfig::default()));
        ws.websocket(websocket)
    })
}

#[test]
fn compressed_messages_cross_the_bridge_and_a_bomb_is_1009() {
    switchyard_rt::block_on(async {
        let udp = support::udp_echo().await;
        let listener = compressing(support::listener(
            Scheme::Ws,
            "/dns",
            &format!("udp://{udp}"),
        ));
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];

        let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
        let answer = blocking(move || support::upgrade_status(addr, "/dns", offer)).await;
        assert_eq!(status(&answer), 101, "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions: permessage-deflate"),
            "{answer}"
        );

        let config = ClientConfig::default().deflate(Some(DeflateConfig::default()));
        let url = format!("ws://{addr}/dns");
        let mut client = switchyard_ws::connect_with(&url, &config).await.unwrap();
        let datagram = "a datagram that repeats, a datagram that repeats, ".repeat(40);
        client.send(datagram.clone().into()).await.unwrap();
        let echoed = client.next().await.unwrap().unwrap();
        assert_eq!(echoed.as_ref(), datagram.as_bytes());

        // 1 MiB of zeros, compressed: over the listener's 32 KiB.
        let mut bomb = Vec::new();
        Compressor::new(15, true).compress(&vec![0u8; 1 << 20], &mut bomb);
        let mut frame = vec![0x82 | 0x40, 0x80 | 126];
        frame.extend_from_slice(&(bomb.len() as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]); // a mask of zeros
        frame.extend_from_slice(&bomb);
        let offered = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
        let code =
            blocking(move || support::raw_close_frame_after(addr, "/dns", offered, &frame)).await;
        assert_eq!(code.0, 1009, "{code:?}");

        let mut next = switchyard_ws::connect_with(&url, &config).await.unwrap();
        next.send("next".into()).await.unwrap();
        assert_eq!(next.next().await.unwrap().unwrap().as_ref(), b"next");
    })
}
