//! permessage-deflate between switchyard's client and server: agreed when
//! both ask for it, messages of every size both ways, and what a hostile
//! peer can send (a bomb, garbage, RSV1 where it may not be) closed with
//! its code while the server serves the next client.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_ws::deflate::{Compressor, DeflateConfig};
use switchyard_ws::{connect_with, ClientConfig, WsMessage, WsServerConfig};

fn server_config(max: usize) -> WsServerConfig {
    WsServerConfig::default()
        .max_message(max)
        .deflate(Some(DeflateConfig::default()))
}

fn client_config() -> ClientConfig {
    ClientConfig::default().deflate(Some(DeflateConfig::default()))
}

#[test]
fn messages_of_every_size_and_kind_come_back_when_both_sides_compress() {
    switchyard_rt::block_on(async {
        let addr = support::start(server_config(2 << 20)).await;
        let mut client = connect_with(&format!("ws://{addr}/ws"), &client_config())
            .await
            .unwrap();
        let json = br#"{"topic":"news","text":"much the same, much the same, much the same"}"#;
        let sizes = [0usize, 1, 255, 256, 4096, 65_536, 1 << 20];
        for size in sizes {
            let body: Vec<u8> = json.iter().copied().cycle().take(size).collect();
            for message in [
                WsMessage::binary(body.clone()),
                WsMessage::text_from_utf8(body.clone().into()).unwrap(),
            ] {
                client.send(message.clone()).await.unwrap();
                let echoed = client.next().await.unwrap().unwrap();
                assert_eq!(echoed, message, "{size} bytes");
            }
        }
    })
}

/// The 101 says what was agreed; a server without compression, or a
/// client that does not offer it, is answered without.
#[test]
fn the_answer_names_what_was_agreed_and_only_when_offered() {
    switchyard_rt::block_on(async {
        let on = support::start(server_config(1 << 20)).await;
        let off = support::start(WsServerConfig::default()).await;
        let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
        let answers = switchyard_rt::spawn_blocking(move || {
            (
                support::raw_exchange(on, support::upgrade_request(on, offer).as_bytes()),
                support::raw_exchange(on, support::upgrade_request(on, "").as_bytes()),
                support::raw_exchange(off, support::upgrade_request(off, offer).as_bytes()),
            )
        })
        .await;
        let extensions = |answer: &str| {
            answer
                .lines()
                .find(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("sec-websocket-extensions:")
                })
                .map(str::to_string)
        };
        assert_eq!(support::status(&answers.0), 101, "{}", answers.0);
        assert_eq!(
            extensions(&answers.0).as_deref(),
            Some(
                "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; \
                 client_no_context_takeover"
            ),
            "{}",
            answers.0
        );
        assert_eq!(extensions(&answers.1), None, "{}", answers.1);
        assert_eq!(extensions(&answers.2), None, "{}", answers.2);
        // A client that offers it to a server without it goes on without.
        let mut client = connect_with(&format!("ws://{off}/ws"), &client_config())
            .await
            .unwrap();
        client.send("plain".into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), "plain".into());
    })
}

/// A client frame, masked, with RSV1 if `compressed`.
fn client_frame(fin: bool, opcode: u8, compressed: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![opcode | if fin { 0x80 } else { 0 } | if compressed { 0x40 } else { 0 }];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0x5a, 0x17, 0x03, 0xc4];
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// Opens a WebSocket by hand (offering compression when `offer`), sends
/// `frames`, and returns the close code the server answers with.
fn close_code_for(addr: SocketAddr, offer: bool, frames: &[u8]) -> Option<u16> {
    exchange(addr, offer, frames, |header, _| header[0] & 0x0f == 0x8)
        .map(|(_, payload)| u16::from_be_bytes([payload[0], payload[1]]))
}

/// Opens a WebSocket by hand (offering compression when `offer`), sends
/// `frames`, and returns the first frame from the server that `wanted`
/// (its first two bytes and its payload).
fn exchange(
    addr: SocketAddr,
    offer: bool,
    frames: &[u8],
    wanted: impl Fn([u8; 2], &[u8]) -> bool,
) -> Option<([u8; 2], Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let extra = if offer {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    stream
        .write_all(support::upgrade_request(addr, extra).as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    stream.write_all(frames).unwrap();
    // Server frames until its close (unmasked, small).
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).ok()?;
        let len = match header[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).ok()?;
                u64::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                stream.read_exact(&mut n).ok()?;
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; len as usize];
        stream.read_exact(&mut payload).ok()?;
        if wanted(header, &payload) {
            return Some((header, payload));
        }
    }
}

fn compressed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Compressor::new(15, true).compress(message, &mut out);
    out
}

/// On the wire: the server's echo of a JSON message over the threshold is
/// compressed (RSV1, fewer bytes), and inflates to the message; below the
/// threshold it is sent as it is.
#[test]
fn the_server_compresses_what_is_over_the_threshold() {
    switchyard_rt::block_on(async {
        let addr = support::start(server_config(1 << 20)).await;
        let json: Vec<u8> =
            br#"{"id":1,"text":"again and again"},"#.iter().copied().cycle().take(2000).collect();
        let sent = json.clone();
        let (big, small) = switchyard_rt::spawn_blocking(move || {
            let data = |header: [u8; 2], _: &[u8]| header[0] & 0x0f == 0x2;
            (
                exchange(addr, true, &client_frame(true, 0x2, false, &sent), data),
                exchange(addr, true, &client_frame(true, 0x2, false, b"tiny"), data),
            )
        })
        .await;
        let (header, payload) = big.unwrap();
        assert_eq!(header[0] & 0x40, 0x40, "RSV1");
        assert!(payload.len() < json.len() / 4, "{} bytes", payload.len());
        let mut inflated = Vec::new();
        switchyard_ws::deflate::Decompressor::new(15, true)
            .inflate(&payload, true, 1 << 20, &mut inflated)
            .unwrap();
        assert_eq!(inflated, json);
        let (header, payload) = small.unwrap();
        assert_eq!((header[0] & 0x40, &payload[..]), (0, &b"tiny"[..]));
    })
}

#[test]
fn hostile_compressed_frames_are_closed_with_their_code_and_the_next_client_served() {
    switchyard_rt::block_on(async {
        let max = 64 << 10;
        let on = support::start(server_config(max)).await;
        let off = support::start(WsServerConfig::default().max_message(max)).await;
        let codes = switchyard_rt::spawn_blocking(move || {
            // 16 MiB of zeros in a few KiB: stopped at 64 KiB, 1009.
            let bomb = client_frame(true, 0x2, true, &compressed(&vec![0u8; 16 << 20]));
            let garbage = client_frame(true, 0x2, true, &[0xff; 64]);
            let compressed_ping = client_frame(true, 0x9, true, b"ping");
            let mut continuation = client_frame(false, 0x2, false, b"part");
            continuation.extend(client_frame(true, 0x0, true, b"rest"));
            let unasked = client_frame(true, 0x2, true, &compressed(b"hello"));
            [
                close_code_for(on, true, &bomb),
                close_code_for(on, true, &garbage),
                close_code_for(on, true, &compressed_ping),
                close_code_for(on, true, &continuation),
                close_code_for(off, false, &unasked),
            ]
        })
        .await;
        assert_eq!(
            codes,
            [Some(1009), Some(1007), Some(1002), Some(1002), Some(1002)]
        );
        // And the server goes on.
        let mut client = connect_with(&format!("ws://{on}/ws"), &client_config())
            .await
            .unwrap();
        client.send("still here".into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), "still here".into());
    })
}

/// On the wire, from the client: a server of our own making by hand agrees
/// compression, and the client's message over the threshold arrives
/// compressed (RSV1), masked, and inflates to what was sent.
#[test]
fn the_client_compresses_what_is_over_the_threshold() {
    use switchyard_ws::handshake::{check_upgrade, switching_protocols};
    use switchyard_ws::http::{HeaderMap, RequestHead};
    use switchyard_ws::OriginPolicy;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            request.push(byte[0]);
        }
        let (head, _) = RequestHead::parse(&request, 16 << 10).unwrap().unwrap();
        let offer = head
            .header("sec-websocket-extensions")
            .unwrap_or("")
            .to_string();
        let upgrade = check_upgrade(&head, &OriginPolicy::AllowAny, &[]).unwrap();
        let answer = switching_protocols(&upgrade, &HeaderMap::new())
            .header(
                "sec-websocket-extensions",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            )
            .unwrap();
        stream.write_all(&answer.to_bytes()).unwrap();
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        assert_eq!(header[1] & 0x80, 0x80, "masked");
        let len = match header[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).unwrap();
                usize::from(u16::from_be_bytes(n))
            }
            n => usize::from(n),
        };
        let mut key = [0u8; 4];
        stream.read_exact(&mut key).unwrap();
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).unwrap();
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
        (offer, header[0], payload)
    });
    let message = "a message of the client's, said twice, said twice, ".repeat(20);
    switchyard_rt::block_on(async {
        let mut client = connect_with(&format!("ws://{addr}/"), &client_config())
            .await
            .unwrap();
        client.send(message.clone().into()).await.unwrap();
        client.flush().await.unwrap();
    });
    let (offer, first, payload) = server.join().unwrap();
    assert!(offer.starts_with("permessage-deflate"), "{offer}");
    assert_eq!(first, 0x80 | 0x40 | 0x1, "FIN, RSV1, text");
    assert!(payload.len() < message.len() / 4, "{} bytes", payload.len());
    let mut inflated = Vec::new();
    switchyard_ws::deflate::Decompressor::new(15, true)
        .inflate(&payload, true, 1 << 20, &mut inflated)
        .unwrap();
    assert_eq!(inflated, message.as_bytes());
}

/// Another HTTP server's connection (as axum or hyper hands one over):
/// answered with `upgrade_response`, taken by `WsConnection::upgraded`
/// with the request's head. Returns its address; every connection echoes.
async fn start_handing_over(config: WsServerConfig) -> SocketAddr {
    use futures::{AsyncReadExt, AsyncWriteExt};
    let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    switchyard_rt::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let config = config.clone();
            switchyard_rt::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    tcp.read_exact(&mut byte).await.unwrap();
                    head.push(byte[0]);
                }
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut parsed = httparse::Request::new(&mut headers);
                parsed.parse(&head).unwrap();
                let mut request = http::Request::builder()
                    .method(parsed.method.unwrap())
                    .uri(parsed.path.unwrap());
                for header in parsed.headers.iter() {
                    request = request.header(header.name, header.value);
                }
                let request = request.body(()).unwrap();
                let answer = switchyard_ws::upgrade_response(&request, &config);
                let mut out = format!("HTTP/1.1 {}\r\n", answer.status());
                for (name, value) in answer.headers() {
                    out.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
                }
                out.push_str("\r\n");
                tcp.write_all(out.as_bytes()).await.unwrap();
                let head = switchyard_ws::http::RequestHead::from_http(&request);
                let mut conn = switchyard_ws::WsConnection::upgraded(tcp, &config, &head).await;
                let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
            });
        }
    });
    addr
}

/// A connection another server accepted compresses as the answer it was
/// given agreed: on the wire when the client offered, not when it did not.
#[test]
fn a_connection_handed_over_compresses_as_its_answer_agreed() {
    switchyard_rt::block_on(async {
        let addr = start_handing_over(server_config(1 << 20)).await;
        let json: Vec<u8> =
            br#"{"id":1,"text":"again and again"},"#.iter().copied().cycle().take(2000).collect();
        let sent = json.clone();
        let (offered, not_offered) = switchyard_rt::spawn_blocking(move || {
            let data = |header: [u8; 2], _: &[u8]| header[0] & 0x0f == 0x2;
            let frame = client_frame(true, 0x2, false, &sent);
            (
                exchange(addr, true, &frame, data),
                exchange(addr, false, &frame, data),
            )
        })
        .await;
        let (header, payload) = offered.unwrap();
        assert_eq!(header[0] & 0x40, 0x40, "RSV1");
        let mut inflated = Vec::new();
        switchyard_ws::deflate::Decompressor::new(15, true)
            .inflate(&payload, true, 1 << 20, &mut inflated)
            .unwrap();
        assert_eq!(inflated, json);
        let (header, payload) = not_offered.unwrap();
        assert_eq!((header[0] & 0x40, payload), (0, json));
        // And our client, which offers it, round-trips every size.
        let mut client = connect_with(&format!("ws://{addr}/ws"), &client_config())
            .await
            .unwrap();
        support::echo_every_size(&mut client).await;
    })
}
