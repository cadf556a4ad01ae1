//! Heartbeats: ping a quiet peer, and give up on one that stays silent.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use switchyard_rt::Deadline;

/// When to ping, and how long to wait for an answer.
///
/// A connection that has received nothing for `interval` sends a ping; if
/// nothing at all (a pong, or any other frame) arrives within `timeout`
/// after it, the peer is declared dead and the connection closed. So a dead
/// peer is noticed within `interval + timeout` of its last frame, and a
/// busy connection sends no pings at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeartbeatConfig {
    /// Quiet time before a ping. Default 30 s: inside the 25–54 s range
    /// gorilla/websocket's examples and Centrifugo use, and under the 60 s
    /// idle time-out of common proxies and load balancers.
    pub interval: Duration,
    /// Wait for any frame after a ping. Default 30 s (with the interval,
    /// gorilla's 60 s pong wait).
    pub timeout: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        }
    }
}

impl HeartbeatConfig {
    /// A heartbeat with the given interval and time-out.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        Self { interval, timeout }
    }
}

/// What the heartbeat wants done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beat {
    SendPing,
    Dead,
}

/// The heartbeat of one connection.
///
/// A ping goes out after `interval` with nothing received; the peer is dead
/// if nothing arrives within `timeout` after it, while the connection is
/// being read.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    config: HeartbeatConfig,
    last_seen: Instant,
    ping_sent: Option<Instant>,
    deadline: Deadline,
}

impl Heartbeat {
    pub(crate) fn new(config: HeartbeatConfig) -> Self {
        Self {
            config,
            last_seen: Instant::now(),
            ping_sent: None,
            deadline: Deadline::new(),
        }
    }

    /// Something arrived from the peer: it is alive.
    pub(crate) fn saw_frame(&mut self) {
        self.last_seen = Instant::now();
    }

    /// Ready when a ping is due or the peer is dead.
    ///
    /// `reading` says whether the connection is being read (its reader is
    /// waiting for data, so an answer would be seen). When it is not (the
    /// reader holds a message it cannot pass on yet), silence proves
    /// nothing: instead of declaring the peer dead, another ping is sent
    /// every `timeout`, and a peer that is gone shows as a ping that
    /// cannot be written.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, reading: bool) -> Poll<Beat> {
        loop {
            let now = Instant::now();
            let deadline = match self.ping_sent {
                Some(sent) if self.last_seen >= sent => {
                    self.ping_sent = None;
                    continue;
                }
                Some(sent) => {
                    let deadline = sent + self.config.timeout;
                    if now >= deadline {
                        if !reading {
                            self.ping_sent = Some(now);
                            return Poll::Ready(Beat::SendPing);
                        }
                        return Poll::Ready(Beat::Dead);
                    }
                    deadline
                }
                None => {
                    let deadline = self.last_seen + self.config.interval;
                    if now >= deadline {
                        self.ping_sent = Some(now);
                        return Poll::Ready(Beat::SendPing);
                    }
                    deadline
                }
            };
            // Frames push the deadline back all the time; Deadline re-arms
            // its timer only when it has to.
            if self.deadline.poll_at(cx, deadline).is_pending() {
                return Poll::Pending;
            }
        }
    }

    pub(crate) fn config(&self) -> HeartbeatConfig {
        self.config
    }
}
