//! [`ServerConfig`]: the limits a TCP server holds its peers to.

use std::time::Duration;

use crate::TcpKeepalive;

/// Limits and behaviour of a [`Server`](crate::Server). Every field bounds
/// something a peer could otherwise hold forever.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Connections served at once. Default 1024. At the limit the server
    /// stops accepting until one closes (new peers wait in the kernel's
    /// backlog), so it never runs out of file descriptors on their account.
    /// Raising it past the process's open-file limit (`ulimit -n`) makes
    /// accept fail instead, which the server survives by backing off.
    pub max_connections: usize,
    /// How long a connection may go without a byte read or written before it
    /// is closed. Default 5 minutes: a silent peer, or one that sent half a
    /// frame and stopped, frees its slot.
    pub idle_timeout: Duration,
    /// Sets `TCP_NODELAY` on accepted sockets. Default true: messages are
    /// written whole, and Nagle's algorithm only delays them.
    pub nodelay: bool,
    /// On shutdown, how long open connections may take to finish before they
    /// are shut down. Default 10 s.
    pub shutdown_grace: Duration,
    /// TCP keepalive on accepted connections, so that a peer whose host or
    /// network is gone is found (see [`TcpKeepalive`]). Default on: 60 s,
    /// then a probe every 10 s, 6 of them. `None` turns it off.
    pub keepalive: Option<TcpKeepalive>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(300),
            nodelay: true,
            shutdown_grace: Duration::from_secs(10),
            keepalive: Some(TcpKeepalive::default()),
        }
    }
}

impl ServerConfig {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Sets [`nodelay`](Self::nodelay).
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Sets [`keepalive`](Self::keepalive); `None` turns it off.
    pub fn keepalive(mut self, keepalive: Option<TcpKeepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}
