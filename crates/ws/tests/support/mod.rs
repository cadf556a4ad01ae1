//! Shared by the ws integration tests: a running server, and raw requests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures::SinkExt;
use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{websocket, Router, WsServerConfig};

/// [`start_with`] the default HTTP server limits.
pub async fn start(config: WsServerConfig) -> SocketAddr {
    start_with(HttpServerConfig::default(), config).await
}

/// [`start_with`] the default WebSocket settings.
pub async fn start_http(http: HttpServerConfig) -> SocketAddr {
    start_with(http, WsServerConfig::default()).await
}

/// Starts a server with an echo WebSocket at `/ws`, a page at `/`, and a
/// POST endpoint at `/submit` that answers with the body's length.
pub async fn start_with(http: HttpServerConfig, config: WsServerConfig) -> SocketAddr {
    let router = Router::new()
        .page("/", "text/html; charset=utf-8", "<h1>hi</h1>")
        .post("/submit", |req| async move {
            switchyard_ws::http::Response::text(
                switchyard_ws::http::StatusCode::OK,
                req.body.len().to_string(),
            )
        })
        .upgrade(
            "/ws",
            websocket(config, |mut conn, req| async move {
                if let Some(protocol) = req.protocol {
                    let _ = conn.send(format!("protocol {protocol}").into()).await;
                }
                let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
            }),
        );
    serve(http, router).await
}

/// Serves `router` on a free port, in the background.
pub async fn serve(http: HttpServerConfig, router: Router) -> SocketAddr {
    let server = HttpServer::bind("127.0.0.1:0", http, router).await.unwrap();
    let addr = server.local_addr().unwrap();
    switchyard_rt::spawn(server.serve());
    addr
}

/// A valid upgrade request for `/ws`, with `extra` headers added.
pub fn upgrade_request(addr: SocketAddr, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Sends `request` as raw bytes and returns the whole response (the server
/// closes after a refusal) or, for a 101, what arrived within a moment.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                response.extend_from_slice(&buf[..n]);
                if response.starts_with(b"HTTP/1.1 101")
                    && response.windows(4).any(|w| w == b"\r\n\r\n")
                {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

/// The status code of a raw response.
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// A server of another implementation (Python's websockets, Node's ws),
/// started as `program args`, at the address it printed on its first
/// line (`listening on ADDR`); killed when dropped.
pub struct PeerServer {
    child: std::process::Child,
    pub addr: String,
}

impl PeerServer {
    pub fn start(program: &str, args: &[&std::ffi::OsStr]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{line:?}"))
            .to_string();
        Self { child, addr }
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends an echo server messages from empty to 1 MiB, binary and text, and
/// checks that each comes back as it was.
pub async fn echo_every_size<S>(client: &mut switchyard_ws::WsConnection<S>)
where
    S: futures::io::AsyncRead + futures::io::AsyncWrite + Unpin,
{
    use futures::StreamExt;
    let json = br#"{"topic":"news","text":"the same words again and again"},"#;
    for size in [0usize, 1, 300, 4096, 65_536, 1 << 20] {
        let body: Vec<u8> = json.iter().copied().cycle().take(size).collect();
        for message in [
            switchyard_ws::WsMessage::binary(body.clone()),
            switchyard_ws::WsMessage::text_from_utf8(body.clone().into()).unwrap(),
        ] {
            client.send(message.clone()).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), message, "{size}");
        }
    }
}

/// Connects to an echo server of another implementation at `addr`,
/// offering permessage-deflate, checks it was agreed (the server answers
/// `extensions?` with what it agreed), then [`echo_every_size`].
pub async fn deflate_echo_against(addr: &str) {
    use futures::StreamExt;
    let config = switchyard_ws::ClientConfig::default()
        .max_message(2 << 20)
        .deflate(Some(switchyard_ws::deflate::DeflateConfig::default()));
    let mut client = switchyard_ws::connect_with(&format!("ws://{addr}/"), &config)
        .await
        .unwrap();
    client.send("extensions?".into()).await.unwrap();
    let agreed = client.next().await.unwrap().unwrap();
    assert_eq!(agreed, "permessage-deflate".into());
    echo_every_size(&mut client).await;
}

/// Fails unless Python's websockets can be imported: a test that needs it
/// is ignored unless asked for, and then must not pass without it.
pub fn require_python_websockets() {
    let found = std::process::Command::new("python3")
        .args(["-c", "import websockets"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "Python's websockets is needed: pip install websockets==17.4"
    );
}
