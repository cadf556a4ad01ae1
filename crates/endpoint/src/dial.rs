//! [`dial`]: reaching any endpoint as the same boxed message connection.

use std::pin::Pin;
use std::time::Duration;

use switchyard_frame::{Error, Keepalive, MessageConnection};
use switchyard_ws::{ClientConfig, HeartbeatConfig, MessageKind, WsTarget};

use crate::{frame_stream, Endpoint, Scheme, StreamFraming};

/// What a relay needs of each side: a message stream and sink, and its own
/// heartbeat ([`Keepalive`]). Every switchyard connection is one.
pub trait RelaySide: MessageConnection + Keepalive + Send {}

impl<C: MessageConnection + Keepalive + Send + ?Sized> RelaySide for C {}

/// Any side of a session: a message stream and sink, whatever the transport.
pub type BoxConnection = Pin<Box<dyn RelaySide>>;

/// How [`dial`] reaches an endpoint.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DialOptions {
    /// How a TCP stream is cut into messages. Default raw.
    pub framing: StreamFraming,
    /// WebSocket text messages instead of binary. Default off.
    pub text: bool,
    /// Time to connect, TLS and WebSocket handshakes included. Default 10 s.
    pub connect_timeout: Duration,
    /// Largest message either way. Default 1 MiB.
    pub max_message: usize,
    /// WebSocket heartbeats. Default none.
    pub heartbeat: Option<HeartbeatConfig>,
    /// TLS for `wss://`. Default none: the system's roots are used.
    pub tls: Option<switchyard_ws::ClientTls>,
    /// TCP keepalive on a `tcp://` target: quiet time before the first
    /// probe. Default 60 s (`switchyard_tcp::connect`'s); `None` turns it off.
    pub tcp_keepalive: Option<Duration>,
    /// permessage-deflate offered to a `ws://` or `wss://` target. Default
    /// none.
    pub deflate: Option<switchyard_ws::deflate::DeflateConfig>,
}

impl Default for DialOptions {
    fn default() -> Self {
        Self {
            framing: StreamFraming::Raw,
            text: false,
            connect_timeout: Duration::from_secs(10),
            max_message: 1 << 20,
            heartbeat: None,
            tls: None,
            tcp_keepalive: Some(Duration::from_secs(60)),
            deflate: None,
        }
    }
}

impl DialOptions {
    /// Sets [`deflate`](Self::deflate); `None` turns it off.
    pub fn deflate(mut self, deflate: Option<switchyard_ws::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets [`framing`](Self::framing).
    pub fn framing(mut self, framing: StreamFraming) -> Self {
        self.framing = framing;
        self
    }

    /// Sets [`text`](Self::text).
    pub fn text(mut self, text: bool) -> Self {
        self.text = text;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat).
    pub fn heartbeat(mut self, heartbeat: Option<HeartbeatConfig>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, tls: switchyard_ws::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`tcp_keepalive`](Self::tcp_keepalive).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }
}

/// Connects to `target` as a message connection: TCP or a Unix socket cut
/// by the framing, a connected UDP socket of its own, a WebSocket (TLS for
/// wss), or standard input and output cut by the framing (`stdio`: the
/// process has one, so one session at a time).
///
/// ```
/// # switchyard_endpoint::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_endpoint::{dial, DialOptions, Endpoint};
///
/// let service = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let target: Endpoint = format!("udp://{}", service.local_addr()?).parse()?;
/// let mut conn = dial(&target, &DialOptions::default()).await?;
/// conn.send("hello".into()).await?;
/// let mut msg = [0; 16];
/// let (len, _peer) = service.recv_from(&mut msg)?; // a blocking read: the datagram is there
/// assert_eq!(&msg[..len], b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn dial(target: &Endpoint, options: &DialOptions) -> Result<BoxConnection, Error> {
    match target.scheme {
        Scheme::Tcp => {
            let stream =
                switchyard_tcp::connect(target.authority(), options.connect_timeout).await?;
            let keepalive = options
                .tcp_keepalive
                .map(switchyard_tcp::TcpKeepalive::after);
            stream.set_keepalive(keepalive.as_ref())?;
            Ok(frame_stream(stream, options.framing, options.max_message))
        }
        Scheme::Udp => {
            let connect = switchyard_udp::connect(target.authority());
            let conn =
                switchyard_rt::timeout(options.connect_timeout, "resolve", connect).await??;
            Ok(Box::pin(conn.with_max_datagram(options.max_message)))
        }
        Scheme::Ws | Scheme::Wss => Ok(Box::pin(dial_websocket(target, options).await?)),
        Scheme::Unix => unix(target, options).await,
        Scheme::Stdio => Ok(frame_stream(
            switchyard_rt::stdio(),
            options.framing,
            options.max_message,
        )),
    }
}

/// A WebSocket as [`dial`] makes one: its heartbeat on, its messages of
/// one kind. Unboxed, so that the caller can still read how its peer
/// closed it ([`WsConnection::peer_close`](switchyard_ws::WsConnection::peer_close)).
pub async fn dial_websocket(target: &Endpoint, options: &DialOptions) -> Result<WsSide, Error> {
    let mut config = ClientConfig::default()
        .handshake_timeout(options.connect_timeout)
        .max_message(options.max_message)
        .deflate(options.deflate);
    if let Some(tls) = &options.tls {
        config = config.tls(tls.clone());
    }
    let ws = WsTarget::new(
        target.scheme == Scheme::Wss,
        target.host.clone(),
        target.port,
        target.path.clone(),
    );
    let mut conn = switchyard_ws::connect_to(&ws, &config).await?;
    if let Some(heartbeat) = options.heartbeat {
        conn = conn.with_heartbeat(heartbeat);
    }
    let kind = if options.text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    Ok(conn.fixed_kind(kind))
}

/// A dialed WebSocket whose messages are all of one kind.
pub type WsSide = switchyard_ws::FixedKind<switchyard_ws::ClientIo>;

#[cfg(unix)]
async fn unix(target: &Endpoint, options: &DialOptions) -> Result<BoxConnection, Error> {
    let connect = switchyard_rt::net::UnixStream::connect(&target.path);
    let stream = switchyard_rt::timeout(options.connect_timeout, "connect", connect)
        .await?
        .map_err(|e| std::io::Error::new(e.kind(), format!("connect to {}: {e}", target.path)))?;
    Ok(frame_stream(stream, options.framing, options.max_message))
}

#[cfg(not(unix))]
async fn unix(_: &Endpoint, _: &DialOptions) -> Result<BoxConnection, Error> {
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "unix:// sockets are for Unix systems",
    )))
}
