//! Services to bridge to, clients of every listener kind, and bridges run
//! in-process, for the bridge's integration tests.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use switchyard_bridge::{
    frame_stream, BoxConnection, Bridge, BridgeConfig, Endpoint, ListenerConfig, Metrics,
    RouteConfig, Scheme, StreamFraming, TargetSpec,
};
use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{client_tls, server_tls, websocket, ClientConfig, Router, WsServerConfig};

/// A fresh directory under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-bridge-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A self-signed certificate for `localhost` and its key, as PEM files.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

/// A local port nothing listens on.
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A TCP service echoing raw bytes; it shuts its write half when the
/// client does.
pub async fn tcp_echo() -> SocketAddr {
    tcp_service(|stream| async move {
        let (mut r, mut w) = (stream.clone(), stream);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if w.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = w.shutdown(std::net::Shutdown::Write);
    })
    .await
}

/// A TCP service on a free port that runs `serve` on every connection it
/// accepts, each in a task of its own; its address.
pub async fn tcp_service<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(switchyard_rt::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    switchyard_rt::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            switchyard_rt::spawn(serve(stream));
        }
    });
    addr
}

/// A UDP service echoing each datagram to its sender.
pub async fn udp_echo() -> SocketAddr {
    let socket = switchyard_udp::UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = socket.local_addr().unwrap();
    switchyard_rt::spawn(async move {
        while let Ok((msg, peer)) = socket.recv_from().await {
            let _ = socket.send_to(&msg, peer).await;
        }
    });
    addr
}

/// A WebSocket echo service at `/echo`, over TLS when `tls` names a
/// certificate and key.
pub async fn ws_echo(tls: Option<&(PathBuf, PathBuf)>) -> SocketAddr {
    let mut config = HttpServerConfig::default();
    if let Some((cert, key)) = tls {
        config = config.tls(server_tls(cert, key).unwrap());
    }
    let router = Router::new().upgrade(
        "/echo",
        websocket(
            WsServerConfig::default().max_message(16 << 20),
            |mut conn, _| async move {
                // Each message back as it came, text as text.
                let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
            },
        ),
    );
    let server = HttpServer::bind("127.0.0.1:0", config, router)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    switchyard_rt::spawn(server.serve());
    addr
}

/// A bridge running in this process.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    pub metrics: std::sync::Arc<Metrics>,
    pub shutdown: switchyard_rt::Shutdown,
    pub serving: switchyard_rt::JoinHandle<switchyard_bridge::Served>,
}

/// Binds and serves `listeners`.
pub async fn start(listeners: Vec<ListenerConfig>) -> Running {
    let bridge = Bridge::bind(BridgeConfig::new(listeners)).await.unwrap();
    Running {
        addrs: bridge.local_addrs().to_vec(),
        metrics: bridge.metrics(),
        shutdown: bridge.shutdown(),
        serving: switchyard_rt::spawn(bridge.serve()),
    }
}

/// `scheme://127.0.0.1:0/path` with one route to `target`.
pub fn listener(scheme: Scheme, path: &str, target: &str) -> ListenerConfig {
    let path = if scheme.is_websocket() { path } else { "/" };
    let listen: Endpoint = format!("{}://127.0.0.1:0{}", scheme.as_str(), path)
        .parse()
        .unwrap();
    ListenerConfig::new(listen).route(RouteConfig::new(
        path,
        TargetSpec::Fixed(target.parse().unwrap()),
    ))
}

/// A client of a bridge listener at `addr`: WebSocket (trusting `ca` for
/// wss), TCP cut by `framing`, or a connected UDP socket.
pub async fn client(
    scheme: Scheme,
    addr: SocketAddr,
    path: &str,
    framing: StreamFraming,
    ca: Option<&Path>,
) -> BoxConnection {
    match scheme {
        Scheme::Ws | Scheme::Wss => {
            let url = format!("{}://localhost:{}{}", scheme.as_str(), addr.port(), path);
            let mut config = ClientConfig::default().max_message(16 << 20);
            if let Some(ca) = ca {
                config = config.tls(client_tls(Some(ca)).unwrap());
            }
            let conn = switchyard_ws::connect_with(&url, &config).await.unwrap();
            Box::pin(conn.binary())
        }
        Scheme::Tcp => {
            let stream = switchyard_tcp::connect(addr, std::time::Duration::from_secs(5))
                .await
                .unwrap();
            frame_stream(stream, framing, 16 << 20)
        }
        Scheme::Udp => {
            let socket = switchyard_udp::UdpSocket::bind("127.0.0.1:0")
                .await
                .unwrap();
            Box::pin(socket.connect(addr).await.unwrap())
        }
        other => panic!("no client for {other:?} listeners here"),
    }
}

/// The path of the built `switchyard-bridge` binary.
pub fn bridge_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchyard-bridge"))
}

/// Sends a WebSocket upgrade for `path` with `extra` header lines (each
/// ending in CRLF) as raw bytes; returns the response head.
pub fn upgrade_status(addr: SocketAddr, path: &str, extra: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

/// A plain `GET path` with `extra` header lines; returns the whole response.
pub fn http_get(addr: SocketAddr, path: &str, extra: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// Opens a WebSocket to `path` with raw bytes and returns the code and
/// reason of the first close frame the server sends. (tungstenite, under
/// our own client, reports 1014 as 1002: tungstenite-rs issue 502.)
pub fn raw_close_frame(addr: SocketAddr, path: &str) -> (u16, String) {
    raw_close_frame_after(addr, path, "", &[])
}

/// [`raw_close_frame`], the upgrade asked for with `extra` header lines,
/// and `frames` sent once it is answered.
pub fn raw_close_frame_after(
    addr: SocketAddr,
    path: &str,
    extra: &str,
    frames: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let head = upgrade_status_keep(addr, path, extra);
    let mut stream = head.1;
    assert!(head.0.starts_with("HTTP/1.1 101"), "{}", head.0);
    stream.write_all(frames).unwrap();
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        let len = usize::from(header[1] & 0x7f);
        assert!(len < 126, "a control frame is short");
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).unwrap();
        if header[0] & 0x0f == 0x8 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
        }
    }
}

fn upgrade_status_keep(addr: SocketAddr, path: &str, extra: &str) -> (String, std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    // Byte by byte up to the end of the head, so no frame byte is consumed.
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        response.push(byte[0]);
    }
    (String::from_utf8_lossy(&response).into_owned(), stream)
}

/// A TCP service on a free port that runs `serve` on the first connection
/// it accepts; its address.
pub async fn one_connection_target<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(switchyard_rt::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    switchyard_rt::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            serve(stream).await;
        }
    });
    addr
}

/// A TCP service that accepts connections and never reads from them (a
/// stalled target); keeps them open until the returned handle is dropped.
pub async fn stalled_target() -> (SocketAddr, switchyard_rt::JoinHandle<()>) {
    let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let holding = switchyard_rt::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, holding)
}

/// Waits up to `limit` for `check`; whether it came true.
pub async fn eventually(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        switchyard_rt::sleep(std::time::Duration::from_millis(20)).await;
    }
    check()
}

/// The status code of an HTTP response (0 if there is none).
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Runs blocking `f` (a raw std socket exchange) off the async executor.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    switchyard_rt::spawn_blocking(f).await
}
