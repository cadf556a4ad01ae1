//! Counters for `GET /metrics`, in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a session failed, for the error counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The target could not be reached.
    Connect,
    /// The target failed mid-session.
    Target,
    /// The client failed mid-session (a dead peer, a protocol error, a
    /// message over the limit).
    Client,
    /// A request refused for its credentials or its token.
    Refused,
}

impl ErrorKind {
    const ALL: [ErrorKind; 4] = [
        ErrorKind::Connect,
        ErrorKind::Target,
        ErrorKind::Client,
        ErrorKind::Refused,
    ];

    fn label(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Target => "target",
            ErrorKind::Client => "client",
            ErrorKind::Refused => "refused",
        }
    }
}

/// What a bridge has done, shared by all its listeners.
#[derive(Debug, Default)]
pub struct Metrics {
    sessions_open: AtomicU64,
    sessions_total: AtomicU64,
    bytes_to_target: AtomicU64,
    bytes_to_client: AtomicU64,
    messages_skipped: AtomicU64,
    errors: [AtomicU64; 4],
}

impl Metrics {
    /// A session began.
    pub(crate) fn session_opened(&self) {
        self.sessions_open.fetch_add(1, Ordering::Relaxed);
        self.sessions_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A session ended, having carried these bytes.
    pub(crate) fn session_closed(&self, to_target: u64, to_client: u64) {
        self.sessions_open.fetch_sub(1, Ordering::Relaxed);
        self.bytes_to_target.fetch_add(to_target, Ordering::Relaxed);
        self.bytes_to_client.fetch_add(to_client, Ordering::Relaxed);
    }

    /// Counts messages a destination refused and the relay left out.
    pub(crate) fn messages_skipped(&self, n: u64) {
        self.messages_skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// Messages left out since the start: refused by their destination
    /// (not UTF-8 for a `--text` WebSocket), the session going on.
    pub fn skipped(&self) -> u64 {
        self.messages_skipped.load(Ordering::Relaxed)
    }

    /// Counts an error.
    pub(crate) fn error(&self, kind: ErrorKind) {
        let i = ErrorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.errors[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Sessions open now.
    pub fn sessions_open(&self) -> u64 {
        self.sessions_open.load(Ordering::Relaxed)
    }

    /// Sessions since the start.
    pub fn sessions_total(&self) -> u64 {
        self.sessions_total.load(Ordering::Relaxed)
    }

    /// Errors of one kind since the start.
    pub fn errors(&self, kind: ErrorKind) -> u64 {
        let i = ErrorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.errors[i].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of every counter. Bytes are counted
    /// when a session ends.
    ///
    /// ```
    /// let metrics = switchyard_bridge::Metrics::default();
    /// let text = metrics.render();
    /// assert!(text.contains("switchyard_bridge_sessions_open 0\n"));
    /// assert!(text.contains("switchyard_bridge_errors_total{kind=\"connect\"} 0\n"));
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "switchyard_bridge_sessions_open",
            "gauge",
            "Sessions open now.",
            self.sessions_open(),
        );
        metric(
            "switchyard_bridge_sessions_total",
            "counter",
            "Sessions begun since the start.",
            self.sessions_total(),
        );
        metric(
            "switchyard_bridge_bytes_to_target_total",
            "counter",
            "Payload bytes relayed from clients to targets, by ended sessions.",
            self.bytes_to_target.load(Ordering::Relaxed),
        );
        metric(
            "switchyard_bridge_bytes_to_client_total",
            "counter",
            "Payload bytes relayed from targets to clients, by ended sessions.",
            self.bytes_to_client.load(Ordering::Relaxed),
        );
        metric(
            "switchyard_bridge_messages_skipped_total",
            "counter",
            "Messages a destination refused (not UTF-8 for a text WebSocket) and the relay left out, by ended sessions.",
            self.skipped(),
        );
        let name = "switchyard_bridge_errors_total";
        let _ = writeln!(
            out,
            "# HELP {name} Sessions and requests that failed, by kind.\n# TYPE {name} counter"
        );
        for kind in ErrorKind::ALL {
            let _ = writeln!(
                out,
                "{name}{{kind=\"{}\"}} {}",
                kind.label(),
                self.errors(kind)
            );
        }
        out
    }
}
