//! Reaching a target, and cutting TCP streams into messages: every side of
//! a session becomes the same boxed message connection.

use std::pin::Pin;
use std::time::Duration;

use futures::io::{AsyncRead, AsyncWrite};
use switchyard_frame::{
    Error, Framed, FramedConfig, LengthPrefixed, Lines, MessageConnection, Raw,
};
use switchyard_ws::{client_tls, ClientConfig, HeartbeatConfig, MessageKind};

use crate::{Endpoint, RouteConfig, Scheme, StreamFraming};

/// Any side of a session: a message stream and sink, whatever the transport.
pub type BoxConnection = Pin<Box<dyn MessageConnection + Send>>;

/// The most one raw read carries as a message. Large enough that bulk
/// streams move in few messages, small enough to fit any message limit
/// worth setting.
const RAW_READ_CHUNK: usize = 64 << 10;

/// A TCP byte stream cut into messages by `framing`, no message over `max`.
pub fn frame_stream<IO>(io: IO, framing: StreamFraming, max: usize) -> BoxConnection
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match framing {
        StreamFraming::Raw => {
            let config = FramedConfig::default().read_chunk(RAW_READ_CHUNK.min(max.max(1)));
            Box::pin(Framed::with_config(io, Raw, config))
        }
        StreamFraming::Lines => Box::pin(Framed::new(io, Lines::new(max))),
        StreamFraming::LengthPrefixed => Box::pin(Framed::new(io, LengthPrefixed::new(max))),
    }
}

/// Options for dialing a route's target.
#[derive(Debug, Clone)]
pub(crate) struct DialOptions {
    pub framing: StreamFraming,
    pub text: bool,
    pub connect_timeout: Duration,
    pub max_message: usize,
    pub heartbeat: Option<HeartbeatConfig>,
    pub tls: Option<switchyard_ws::ClientTls>,
}

impl DialOptions {
    pub(crate) fn for_route(
        route: &RouteConfig,
        max_message: usize,
        heartbeat: Option<HeartbeatConfig>,
    ) -> Result<Self, switchyard_ws::TlsError> {
        let wss = match &route.target {
            crate::TargetSpec::Fixed(e) => e.scheme == Scheme::Wss,
            crate::TargetSpec::Tokens(tokens) => {
                tokens.iter().any(|(_, e)| e.scheme == Scheme::Wss)
            }
        };
        let tls = if wss {
            Some(client_tls(route.target_ca.as_deref())?)
        } else {
            None
        };
        Ok(Self {
            framing: route.framing,
            text: route.text,
            connect_timeout: route.connect_timeout,
            max_message,
            heartbeat,
            tls,
        })
    }
}

/// Connects to `target`: TCP framed as the route says, a connected UDP
/// socket of its own, or a WebSocket (TLS for wss) with heartbeats.
pub(crate) async fn dial(target: &Endpoint, options: &DialOptions) -> Result<BoxConnection, Error> {
    match target.scheme {
        Scheme::Tcp => {
            let stream =
                switchyard_tcp::connect(target.authority(), options.connect_timeout).await?;
            Ok(frame_stream(stream, options.framing, options.max_message))
        }
        Scheme::Udp => {
            let resolve = async_std::net::ToSocketAddrs::to_socket_addrs(&target.authority());
            let addr = switchyard_rt::timeout(options.connect_timeout, "resolve", resolve)
                .await??
                .next()
                .ok_or_else(|| {
                    Error::Io(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{} resolves to no address", target.authority()),
                    ))
                })?;
            let local = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let max = options.max_message.min(switchyard_udp::MAX_PAYLOAD);
            let socket = switchyard_udp::UdpSocket::bind(local)
                .await?
                .with_max_datagram(max);
            Ok(Box::pin(socket.connect(addr).await?))
        }
        Scheme::Ws | Scheme::Wss => {
            let mut config = ClientConfig::default()
                .handshake_timeout(options.connect_timeout)
                .max_message(options.max_message);
            if let Some(tls) = &options.tls {
                config = config.tls(tls.clone());
            }
            let mut conn = switchyard_ws::connect_with(&target.to_string(), &config).await?;
            if options.text {
                conn.set_kind(MessageKind::Text);
            }
            if let Some(heartbeat) = options.heartbeat {
                conn = conn.with_heartbeat(heartbeat);
            }
            Ok(Box::pin(conn))
        }
    }
}
