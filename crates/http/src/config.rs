//! [`HttpServerConfig`]: every limit an HTTP server holds its peers to.

use std::time::Duration;

use switchyard_tcp::TcpKeepalive;
use switchyard_tls::ServerTls;

/// Limits and policies of an [`HttpServer`](crate::HttpServer): the
/// connection, the request, and the connections upgraded to another
/// protocol (WebSocket). The protocol's own limits are its own (message
/// sizes, heartbeats: switchyard-ws's `WsServerConfig`).
///
/// ```
/// use std::time::Duration;
/// use switchyard_http::HttpServerConfig;
///
/// let config = HttpServerConfig::default()
///     .max_connections(50_000)
///     .max_body(64 << 10)
///     .handshake_timeout(Duration::from_secs(5));
/// assert_eq!(config.max_head, 16 << 10); // the default
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpServerConfig {
    /// Upgraded connections (WebSockets) open at once. Default 10,000; one
    /// more is answered 503. (The TCP accept limit sits a little above it,
    /// so that the 503 can be sent.)
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
    /// Time for a client to send its whole request (head and body), TLS
    /// handshake and PROXY header included. Default 10 s; a client that
    /// trickles its headers is dropped.
    pub handshake_timeout: Duration,
    /// On a plain connection, the most bytes one read takes from the
    /// socket. Default 4 KiB. The read lands in a buffer shared by the
    /// thread's connections and what is left waits in a buffer that exists
    /// only until it is taken ([`ReadAhead`](crate::ReadAhead)). Under TLS
    /// (rustls reads the socket) an upgraded protocol's own read buffer
    /// takes this much at a time ([`Upgraded::read_buffer`](crate::Upgraded::read_buffer)).
    pub read_buffer: usize,
    /// On shutdown, how long connections have to close (an upgraded one
    /// is told to: a WebSocket gets 1001) before they are cut. Default 10 s.
    pub shutdown_grace: Duration,
    /// A TCP connection with no byte either way for this long is closed.
    /// Default 5 minutes (heartbeats keep live WebSockets busier than that).
    pub idle_timeout: Duration,
    /// TCP keepalive on accepted connections, so that a client whose host
    /// or network is gone is found even when nothing is sent. Default on
    /// (60 s, then 10 s x 6); `None` turns it off.
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// TLS (`https`, `wss`; see [`server_tls`](crate::server_tls)). Default
    /// none: plain. The TLS handshake counts against `handshake_timeout`.
    pub tls: Option<ServerTls>,
    /// Every connection begins with a PROXY protocol header (version 1 or
    /// 2, from a load balancer such as HAProxy or an AWS NLB), whose source
    /// address is then the client's. A connection without a valid one is
    /// closed. Default off: turn it on only when every connection comes
    /// through such a proxy, or anyone could claim any address.
    pub proxy_protocol: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see
    /// [`client_address`](crate::client_address)): a request from one of
    /// these networks is taken to come from the address the header names.
    /// Default none: the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Upgraded connections open at once from one client address (after
    /// the PROXY header and trusted proxies are applied). Default none
    /// (only `max_connections`); one more is answered 503.
    pub max_connections_per_ip: Option<usize>,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_handshakes: 1024,
            max_handshakes_per_ip: 64,
            max_head: 16 << 10,
            max_body: 1 << 20,
            handshake_timeout: Duration::from_secs(10),
            read_buffer: 4 << 10,
            shutdown_grace: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            tcp_keepalive: Some(TcpKeepalive::default()),
            tls: None,
            proxy_protocol: false,
            trusted_proxies: Vec::new(),
            max_connections_per_ip: None,
        }
    }
}

impl HttpServerConfig {
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

    /// Sets [`read_buffer`](Self::read_buffer) (at least 256).
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(256);
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
    pub fn tcp_keepalive(mut self, keepalive: Option<TcpKeepalive>) -> Self {
        self.tcp_keepalive = keepalive;
        self
    }

    /// Serves TLS with `tls`.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
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
}
