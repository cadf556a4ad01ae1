//! What a run measured, printed for people or as JSON for machines.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::probe::CpuMeter;

/// Counts and latencies gathered by one task; merged at the end.
#[derive(Debug)]
pub struct Tally {
    pub messages: u64,
    pub bytes: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
    /// The latency of every delivery but each subscriber's first (fanout):
    /// a server may send a new subscriber's first message another way.
    pub later: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            messages: 0,
            bytes: 0,
            errors: 0,
            // 1 µs to 60 s, 3 significant figures.
            latency: latency_histogram(),
            later: latency_histogram(),
        }
    }
}

/// 1 µs to 60 s, 3 significant figures.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).expect("a histogram of 3 figures"))
}

impl Tally {
    pub fn record_latency(&mut self, nanos: u64) {
        let _ = self.latency.record(nanos.clamp(1_000, 60_000_000_000));
    }

    /// A delivery after a subscriber's first.
    pub fn record_later(&mut self, nanos: u64) {
        let _ = self.later.record(nanos.clamp(1_000, 60_000_000_000));
    }

    pub fn merge(&mut self, other: &Tally) {
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.errors += other.errors;
        let _ = self.latency.add(&other.latency);
        let _ = self.later.add(&other.later);
    }
}

/// The result of a run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub target: String,
    pub connections: usize,
    pub message_size: usize,
    pub seconds: f64,
    pub messages: u64,
    pub messages_per_sec: f64,
    pub megabytes_per_sec: f64,
    pub latency_us: Option<Latency>,
    pub errors: u64,
    /// Mode-specific figures (deliveries expected, memory per connection...).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    /// The percentiles of `histogram` (nanoseconds); none if it is empty.
    pub fn of(histogram: &Histogram<u64>) -> Option<Self> {
        let us = |nanos: u64| nanos as f64 / 1_000.0;
        let at = |q: f64| us(histogram.value_at_quantile(q));
        (!histogram.is_empty()).then(|| Latency {
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: us(histogram.max()),
        })
    }
}

impl Report {
    pub fn new(
        mode: &'static str,
        target: &str,
        connections: usize,
        size: usize,
        elapsed: Duration,
        tally: &Tally,
    ) -> Self {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Self {
            mode,
            target: target.to_string(),
            connections,
            message_size: size,
            seconds,
            messages: tally.messages,
            messages_per_sec: tally.messages as f64 / seconds,
            megabytes_per_sec: tally.bytes as f64 / seconds / 1e6,
            latency_us: Latency::of(&tally.latency),
            errors: tally.errors,
            extra: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// Adds the server's CPU use over the run (from `meter`, if the server's
    /// pid was given): percent of one core, and messages per CPU second, the
    /// server's cost per message whether or not the load generator was the
    /// limit; the load generator's own CPU use, which says whether it was;
    /// and the server's peak resident memory over the run.
    pub fn with_server_cpu(self, meter: Option<&CpuMeter>) -> anyhow::Result<Self> {
        let Some(meter) = meter else {
            return Ok(self);
        };
        let cpu = meter.stop()?;
        let per_cpu_second = if cpu.server_seconds > 0.0 {
            (self.messages as f64 / cpu.server_seconds).round()
        } else {
            0.0
        };
        Ok(self
            .with("server_cpu_percent", round(cpu.server_percent, 1))
            .with("load_cpu_percent", round(cpu.load_percent, 1))
            .with("messages_per_server_cpu_second", per_cpu_second)
            .with("server_peak_rss_kib", cpu.server_peak_rss_kib))
    }

    /// Writes the report to standard output; a closed output (the report
    /// piped to a program that stopped reading) is not an error worth a
    /// panic, so it is ignored.
    pub fn print(&self, json: bool) {
        let _ = self.write(&mut std::io::stdout().lock(), json);
    }

    fn write(&self, out: &mut impl std::io::Write, json: bool) -> std::io::Result<()> {
        if json {
            return writeln!(out, "{}", serde_json::to_string(self).unwrap_or_default());
        }
        writeln!(
            out,
            "{} {}: {} connections, {}-byte messages, {:.2} s",
            self.mode, self.target, self.connections, self.message_size, self.seconds
        )?;
        writeln!(
            out,
            "  {} messages, {:.0} msg/s, {:.2} MB/s, {} errors",
            self.messages, self.messages_per_sec, self.megabytes_per_sec, self.errors
        )?;
        if let Some(l) = &self.latency_us {
            writeln!(
                out,
                "  latency µs: p50 {:.0}, p99 {:.0}, p99.9 {:.0}, max {:.0}",
                l.p50, l.p99, l.p999, l.max
            )?;
        }
        for (key, value) in &self.extra {
            writeln!(out, "  {key}: {value}")?;
        }
        Ok(())
    }
}

/// `value` rounded to `decimals` places, for reports.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `count` connections opened in `took`, per second, to a tenth.
pub fn connections_per_second(count: usize, took: std::time::Duration) -> f64 {
    round(count as f64 / took.as_secs_f64().max(1e-9), 1)
}
