//! Counters for `GET /metrics`, in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::RelayMeter;

/// The session-duration histogram's upper bounds, in seconds: from a
/// refused dial (well under 0.1 s) to a remote desktop left open all day.
const DURATION_BUCKETS: [f64; 9] = [
    0.1, 1.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 14400.0, 86400.0,
];

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
    /// Bytes relayed, counted as they are delivered: `a_to_b` to targets,
    /// `b_to_a` to clients.
    relayed: RelayMeter,
    messages_skipped: AtomicU64,
    errors: [AtomicU64; 4],
    /// Ended sessions by duration: one count per bucket of
    /// [`DURATION_BUCKETS`] and one over the last.
    durations: [AtomicU64; DURATION_BUCKETS.len() + 1],
    /// Their total duration, in microseconds.
    duration_sum_us: AtomicU64,
}

impl Metrics {
    /// A session began.
    pub(crate) fn session_opened(&self) {
        self.sessions_open.fetch_add(1, Ordering::Relaxed);
        self.sessions_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Where sessions count their bytes as they relay them (client to
    /// target is `a_to_b`).
    pub(crate) fn relayed(&self) -> &RelayMeter {
        &self.relayed
    }

    /// A session ended after running this long.
    pub(crate) fn session_closed(&self, duration: Duration) {
        self.sessions_open.fetch_sub(1, Ordering::Relaxed);
        let seconds = duration.as_secs_f64();
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(DURATION_BUCKETS.len());
        self.durations[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.duration_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// Payload bytes delivered to targets since the start, sessions still
    /// open included.
    pub fn bytes_to_target(&self) -> u64 {
        self.relayed.a_to_b.load(Ordering::Relaxed)
    }

    /// Payload bytes delivered to clients since the start, sessions still
    /// open included.
    pub fn bytes_to_client(&self) -> u64 {
        self.relayed.b_to_a.load(Ordering::Relaxed)
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

    /// The Prometheus text exposition of every counter, and of the
    /// session-duration histogram. Bytes are counted as they are
    /// delivered, while sessions run.
    ///
    /// ```
    /// let metrics = switchyard_bridge::Metrics::default();
    /// let text = metrics.render();
    /// assert!(text.contains("switchyard_bridge_sessions_open 0\n"));
    /// assert!(text.contains("switchyard_bridge_errors_total{kind=\"connect\"} 0\n"));
    /// assert!(text.contains("switchyard_bridge_session_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
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
            "Payload bytes delivered from clients to targets, counted as they go.",
            self.bytes_to_target(),
        );
        metric(
            "switchyard_bridge_bytes_to_client_total",
            "counter",
            "Payload bytes delivered from targets to clients, counted as they go.",
            self.bytes_to_client(),
        );
        metric(
            "switchyard_bridge_messages_skipped_total",
            "counter",
            "Messages a destination refused (not UTF-8 for a text WebSocket) and the relay left out, counted when their session ends.",
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
        self.render_durations(&mut out);
        out
    }

    /// The session-duration histogram, in Prometheus' form: cumulative
    /// buckets, then the sum and the count.
    fn render_durations(&self, out: &mut String) {
        let name = "switchyard_bridge_session_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} How long ended sessions ran.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (i, count) in self.durations.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = DURATION_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |bound| bound.to_string());
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.duration_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}
