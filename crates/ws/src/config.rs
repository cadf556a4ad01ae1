//! [`WsServerConfig`]: every limit a WebSocket server holds its peers to.

use std::time::Duration;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use http::HeaderMap;

use crate::http::{InvalidHeader, Response};
use crate::{HeartbeatConfig, OriginPolicy};

/// Limits and policies of a [`WsServer`](crate::WsServer).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WsServerConfig {
    /// WebSocket connections open at once. Default 10,000; one more is
    /// answered 503. (The TCP accept limit sits a little above it, so that
    /// the 503 can be sent.)
    pub max_connections: usize,
    /// Connections still in their handshake (TLS, request head and body,
    /// the answer) at once: a budget apart from `max_connections`, so that
    /// clients trickling their headers (slowloris) cannot take the slots
    /// finished connections need. When it is full, the oldest unfinished
    /// connection is dropped for the new one (a real client finishes in
    /// milliseconds; a slowloris connection is old by nature). Default 1024.
    pub max_handshakes: usize,
    /// Handshakes one IP address may have under way at once; past it, each
    /// newcomer from that address drops the address's own oldest, once that
    /// has waited a second (a burst of real clients behind one address is
    /// left alone). Default 64.
    pub max_handshakes_per_ip: usize,
    /// Largest request head (request line and headers). Default 16 KiB;
    /// larger is 431.
    pub max_head: usize,
    /// Largest request body (for POST endpoints). Default 1 MiB; larger is 413.
    pub max_body: usize,
    /// Time for a client to send its whole request (head and body). Default
    /// 10 s; a client that trickles its headers is dropped.
    pub handshake_timeout: Duration,
    /// Largest WebSocket message (and frame). Default 1 MiB; larger closes
    /// the connection with 1009.
    pub max_message: usize,
    /// On a plain connection, the most bytes one read takes from the
    /// socket. Default 4 KiB. The read lands in a buffer shared by the
    /// thread's connections and what is left waits in a buffer that exists
    /// only until it is taken ([`ReadAhead`](crate::ReadAhead)): tungstenite
    /// keeps 256 bytes for the next message, not this (a message larger
    /// than that grows tungstenite's buffer, which it then keeps). Under
    /// TLS (rustls reads the socket) it is tungstenite's own read buffer,
    /// kept per connection; tungstenite's default is 128 KiB, allocated up
    /// front. Larger messages still arrive whole.
    pub read_buffer: usize,
    /// Which pages may connect. Default: same host only.
    pub origins: OriginPolicy,
    /// Subprotocols spoken, in order of preference. Default none.
    pub protocols: Vec<String>,
    /// Headers added to every 101 response (validated when added).
    pub extra_headers: HeaderMap,
    /// Pings when quiet, and dead peers dropped. Default on, 30 s + 30 s.
    pub heartbeat: Option<HeartbeatConfig>,
    /// On shutdown, how long connections have to close (with 1001) before
    /// they are cut. Default 10 s.
    pub shutdown_grace: Duration,
    /// A TCP connection with no byte either way for this long is closed.
    /// Default 5 minutes (heartbeats keep live WebSockets busier than that).
    pub idle_timeout: Duration,
    /// TCP keepalive on accepted connections, so that a client whose host
    /// or network is gone is found even when nothing is sent. Default on
    /// (60 s, then 10 s x 6); `None` turns it off.
    pub tcp_keepalive: Option<crate::TcpKeepalive>,
    /// TLS for `wss://` (see [`server_tls`](crate::server_tls)). Default
    /// none: plain `ws://`. The TLS handshake counts against
    /// `handshake_timeout`.
    pub tls: Option<crate::ServerTls>,
    /// Every connection begins with a PROXY protocol header (version 1 or
    /// 2, from a load balancer such as HAProxy or an AWS NLB), whose source
    /// address is then the client's. A connection without a valid one is
    /// closed. Default off: turn it on only when every connection comes
    /// through such a proxy, or anyone could claim any address.
    pub proxy_protocol: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see
    /// [`client_address`](crate::http::client_address)): a request from
    /// one of these networks is taken to come from the address the header
    /// names. Default none: the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// WebSocket connections open at once from one client address (after
    /// the PROXY header and trusted proxies are applied). Default none
    /// (only `max_connections`); one more is answered 503.
    pub max_connections_per_ip: Option<usize>,
}

impl Default for WsServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_handshakes: 1024,
            max_handshakes_per_ip: 64,
            max_head: 16 << 10,
            max_body: 1 << 20,
            handshake_timeout: Duration::from_secs(10),
            max_message: 1 << 20,
            read_buffer: 4 << 10,
            origins: OriginPolicy::SameHost,
            protocols: Vec::new(),
            extra_headers: HeaderMap::new(),
            heartbeat: Some(HeartbeatConfig::default()),
            shutdown_grace: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            tcp_keepalive: Some(crate::TcpKeepalive::default()),
            tls: None,
            proxy_protocol: false,
            trusted_proxies: Vec::new(),
            max_connections_per_ip: None,
        }
    }
}

impl WsServerConfig {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`max_handshakes`](Self::max_handshakes) (at least 1).
    pub fn max_handshakes(mut self, max: usize) -> Self {
        self.max_handshakes = max.max(1);
        self
    }

    /// Sets [`max_handshakes_per_ip`](Self::max_handshakes_per_ip) (at least 1).
    pub fn max_handshakes_per_ip(mut self, max: usize) -> Self {
        self.max_handshakes_per_ip = max.max(1);
        self
    }

    /// Sets [`max_head`](Self::max_head).
    pub fn max_head(mut self, bytes: usize) -> Self {
        self.max_head = bytes;
        self
    }

    /// Sets [`max_body`](Self::max_body).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`max_message`](Self::max_message).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Sets [`read_buffer`](Self::read_buffer).
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(256);
        self
    }

    /// Sets [`origins`](Self::origins).
    pub fn origins(mut self, origins: OriginPolicy) -> Self {
        self.origins = origins;
        self
    }

    /// Sets [`protocols`](Self::protocols), most preferred first.
    pub fn protocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a header to every 101 response; refuses a name or value that is
    /// not valid HTTP (CR/LF cannot be smuggled in).
    pub fn extra_header(mut self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        let checked = Response::new(http::StatusCode::OK).header(name, value)?;
        for (n, v) in checked.headers() {
            self.extra_headers.append(n.clone(), v.clone());
        }
        Ok(self)
    }

    /// Sets [`heartbeat`](Self::heartbeat); `None` turns it off.
    pub fn heartbeat(mut self, heartbeat: Option<HeartbeatConfig>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Sets [`tcp_keepalive`](Self::tcp_keepalive); `None` turns it off.
    pub fn tcp_keepalive(mut self, keepalive: Option<crate::TcpKeepalive>) -> Self {
        self.tcp_keepalive = keepalive;
        self
    }

    /// Sets [`proxy_protocol`](Self::proxy_protocol).
    pub fn proxy_protocol(mut self, on: bool) -> Self {
        self.proxy_protocol = on;
        self
    }

    /// Sets [`trusted_proxies`](Self::trusted_proxies).
    pub fn trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Sets [`max_connections_per_ip`](Self::max_connections_per_ip)
    /// (at least 1 when set).
    pub fn max_connections_per_ip(mut self, max: Option<usize>) -> Self {
        self.max_connections_per_ip = max.map(|m| m.max(1));
        self
    }

    /// Serves `wss://` with `tls`.
    pub fn tls(mut self, tls: crate::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// tungstenite's configuration for this server's connections: the read
    /// buffer, the message and frame limits, and a bounded write buffer.
    pub fn websocket_config(&self) -> WebSocketConfig {
        let write_buffer = 64 << 10;
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer)
            .write_buffer_size(write_buffer)
            .max_write_buffer_size(write_buffer + self.max_message + (16 << 10))
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_message))
    }
}
