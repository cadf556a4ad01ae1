//! [`TcpKeepalive`]: the kernel's probes of an idle connection, so that a
//! peer whose host died or whose network went away is found.

use std::io;
use std::time::Duration;

/// TCP keepalive timings. After `idle` with nothing received the kernel
/// sends a probe, then one every `interval`; after `retries` unanswered
/// probes the connection fails (a read or write returns `TimedOut`).
///
/// This finds a peer that is gone (its host crashed, a cable or a NAT
/// dropped the path), which otherwise holds its connection for as long as
/// the application's own time-outs allow. It does not find a live host
/// whose program stopped reading: its kernel still answers the probes.
/// With the defaults, a dead peer of an idle connection is found within
/// about two minutes.
///
/// ```
/// use std::time::Duration;
/// use switchyard_tcp::TcpKeepalive;
///
/// let keepalive = TcpKeepalive::default();
/// assert_eq!(keepalive.idle, Duration::from_secs(60));
/// assert_eq!(keepalive.found_within(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpKeepalive {
    /// Quiet time before the first probe. Default 60 s (Linux's own is two
    /// hours; Go's net package uses 15 s).
    pub idle: Duration,
    /// Time between probes. Default 10 s.
    pub interval: Duration,
    /// Unanswered probes before the connection fails. Default 6.
    pub retries: u32,
}

impl Default for TcpKeepalive {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(10),
            retries: 6,
        }
    }
}

impl TcpKeepalive {
    /// Probes after `idle` of quiet, then the default interval and retries.
    pub fn after(idle: Duration) -> Self {
        Self {
            idle,
            ..Self::default()
        }
    }

    /// How long after its last packet a dead peer of an idle connection is
    /// found: `idle + interval * retries`.
    pub fn found_within(&self) -> Duration {
        self.idle + self.interval * self.retries
    }

    /// Sets these timings on `socket` (or turns keepalive off for `None`).
    pub(crate) fn apply(
        keepalive: Option<&Self>,
        socket: &switchyard_rt::net::TcpStream,
    ) -> io::Result<()> {
        let socket = socket2::SockRef::from(socket);
        match keepalive {
            None => socket.set_keepalive(false),
            Some(k) => socket.set_tcp_keepalive(
                &socket2::TcpKeepalive::new()
                    .with_time(k.idle)
                    .with_interval(k.interval)
                    .with_retries(k.retries),
            ),
        }
    }
}
