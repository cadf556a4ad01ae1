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

/// A route with `target_deflate` offers compression to its WebSocket
/// target: a target that agrees and sends a compressed message has it
/// reach a client that asked for no compression, inflated.
#[test]
fn a_websocket_target_is_offered_compression_and_its_messages_inflate() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    switchyard_rt::block_on(async {
        let message = "a compressed greeting, a compressed greeting, ".repeat(20);
        let (offered_tx, offered_rx) = futures::channel::oneshot::channel();
        let sent = message.clone();
        let target = support::one_connection_target(move |mut tcp| async move {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                tcp.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            let (request, _) = switchyard_ws::http::RequestHead::parse(&head, 8192)
                .unwrap()
                .unwrap();
            let offers: Vec<String> = request
                .header_values("sec-websocket-extensions")
                .map(str::to_string)
                .collect();
            let upgrade = switchyard_ws::handshake::check_upgrade(
                &request,
                &switchyard_ws::OriginPolicy::AllowAny,
                &[],
            )
            .unwrap();
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate; \
                 server_no_context_takeover; client_no_context_takeover\r\n\r\n",
                upgrade.accept
            );
            tcp.write_all(answer.as_bytes()).await.unwrap();
            let mut payload = Vec::new();
            Compressor::new(15, true).compress(sent.as_bytes(), &mut payload);
            let mut frame = vec![0x81 | 0x40, 126];
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            frame.extend_from_slice(&payload);
            tcp.write_all(&frame).await.unwrap();
            let _ = offered_tx.send(offers);
            // Held open until the bridge closes it.
            let mut rest = Vec::new();
            let _ = tcp.read_to_end(&mut rest).await;
        })
        .await;
        let mut listener = support::listener(Scheme::Ws, "/", &format!("ws://{target}"));
        let route = listener.routes.remove(0);
        let dial = route.dial.clone().deflate(Some(DeflateConfig::default()));
        listener.routes.push(route.dial(dial));
        let bridge = support::start(vec![listener]).await;
        let url = format!("ws://{}/", bridge.addrs[0]);
        let mut client = switchyard_ws::connect_with(&url, &ClientConfig::default())
            .await
            .unwrap();
        let received = client.next().await.unwrap().unwrap();
        // Binary to the client: the route's default.
        assert_eq!(&received[..], message.as_bytes());
        let offers = offered_rx.await.unwrap();
        assert!(
            offers.iter().any(|o| o.starts_with("permessage-deflate")),
            "{offers:?}"
        );
    })
}
