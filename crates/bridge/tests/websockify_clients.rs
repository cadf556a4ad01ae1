//! What websockify's clients (noVNC first) expect of the bridge: any path
//! reaches a route at `/`, the `binary` subprotocol is answered, an offer
//! the bridge cannot speak is refused before its target is dialed, and the
//! page beside the route is served to a browser's `GET` (and `HEAD`).

mod support;

use support::{blocking, status};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_bridge::{Scheme, TokenMap};

/// A raw request; the whole response.
fn request(addr: std::net::SocketAddr, raw: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn a_route_at_the_root_takes_any_path_speaks_binary_and_dials_only_when_upgraded() {
    switchyard_rt::block_on(async {
        let dials = Arc::new(AtomicUsize::new(0));
        let counted = dials.clone();
        let target = support::tcp_service(move |stream| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { drop(stream) }
        })
        .await;
        let web = support::temp_dir("websockify-web");
        std::fs::write(web.join("index.html"), "<h1>the page</h1>").unwrap();
        let listener = support::listener(Scheme::Ws, "/", &format!("tcp://{target}"))
            .websocket_options(|ws| ws.web(Some(web.clone())));
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];

        // noVNC's request: /websockify, offering binary (and base64).
        let offer = "Sec-WebSocket-Protocol: binary, base64\r\n";
        let novnc = blocking(move || support::upgrade_status(addr, "/websockify", offer)).await;
        assert_eq!(status(&novnc), 101, "{novnc}");
        assert!(
            novnc
                .to_ascii_lowercase()
                .contains("sec-websocket-protocol: binary\r\n"),
            "{novnc}"
        );
        assert!(
            support::eventually(Duration::from_secs(5), || dials.load(Ordering::SeqCst) == 1).await
        );

        // Only base64 (websockify's old text encoding): refused, saying what is
        // spoken, and nothing dialed.
        let old = "Sec-WebSocket-Protocol: base64\r\n";
        let refused = blocking(move || support::upgrade_status(addr, "/any/path", old)).await;
        assert_eq!(status(&refused), 400, "{refused}");
        // No subprotocol at all is fine, at any path.
        let plain = blocking(move || support::upgrade_status(addr, "/another", "")).await;
        assert_eq!(status(&plain), 101, "{plain}");
        assert!(
            support::eventually(Duration::from_secs(5), || dials.load(Ordering::SeqCst) == 2).await
        );
        switchyard_rt::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            dials.load(Ordering::SeqCst),
            2,
            "the refused offer was dialed"
        );

        // A browser's GET of `/` is the page, not a failed upgrade; HEAD is
        // its head.
        let page = blocking(move || support::http_get(addr, "/", "")).await;
        assert_eq!(status(&page), 200, "{page}");
        assert!(page.ends_with("<h1>the page</h1>"), "{page}");
        let head = blocking(move || {
            request(
                addr,
                &format!("HEAD /index.html HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
            )
        })
        .await;
        assert_eq!(status(&head), 200, "{head}");
        assert!(
            head.to_ascii_lowercase().contains("content-length: 17\r\n"),
            "{head}"
        );
        assert!(
            head.ends_with("\r\n\r\n"),
            "a HEAD answered with a body: {head}"
        );
    })
}

#[test]
fn websockify_token_files_work_as_they_are() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        // websockify's format: NAME: HOST:PORT.
        let tokens = TokenMap::parse(&format!("# noVNC targets\ndesk: {echo}\n")).unwrap();
        let listen = "ws://127.0.0.1:0/".parse().unwrap();
        let listener = switchyard_bridge::ListenerConfig::new(listen).route(
            switchyard_bridge::RouteConfig::new(
                "/",
                switchyard_bridge::TargetSpec::Tokens(Arc::new(tokens)),
            ),
        );
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];
        let known =
            blocking(move || support::upgrade_status(addr, "/websockify?token=desk", "")).await;
        assert_eq!(status(&known), 101, "{known}");
        let unknown =
            blocking(move || support::upgrade_status(addr, "/websockify?token=other", "")).await;
        assert_eq!(status(&unknown), 403, "{unknown}");
    })
}
