//! Bytes on the wire per message: what the server sent over this process's
//! connections to it (the kernel's `bytes_received` for each, read with
//! `ss` from iproute2), over the messages they received in the same
//! stretch of the run.
//!
//! Read twice in the middle of the run, never at its ends: the handshakes
//! before and the closing after count for nothing, and the messages in
//! flight at the first reading are about as many as at the second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Messages this process's connections have received so far: counted
/// where each mode counts its tally's.
static RECEIVED: AtomicU64 = AtomicU64::new(0);

/// Counts `n` messages received.
pub fn received(n: u64) {
    RECEIVED.fetch_add(n, Ordering::Relaxed);
}

/// The bytes this process's established TCP connections to `port` have
/// received, as the kernel counts them: every byte the server wrote to
/// them (frames and headers), none of TCP's own.
fn bytes_received_from(port: u16) -> anyhow::Result<u64> {
    let out = std::process::Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            &format!("( dport = :{port} )"),
        ])
        .output()
        .map_err(|e| anyhow::anyhow!("ss (iproute2) is needed to count bytes: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "ss failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(sum_bytes_received(&String::from_utf8_lossy(&out.stdout)))
}

fn sum_bytes_received(ss: &str) -> u64 {
    ss.split_whitespace()
        .filter_map(|field| field.strip_prefix("bytes_received:"))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

/// Measures the bytes per message the server at `port` sends between `from`
/// and `to`: `None` if the stretch is empty or `ss` failed. Read on a
/// thread of its own: a load generator busy to its last cycle must not
/// take both readings late and together.
pub async fn bytes_per_message(port: u16, from: Instant, to: Instant) -> Option<f64> {
    switchyard_rt::spawn_blocking(move || {
        let at = |when: Instant| {
            if let Some(wait) = when.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let messages = RECEIVED.load(Ordering::Relaxed);
            bytes_received_from(port)
                .ok()
                .map(|bytes| (bytes, messages))
        };
        let (bytes0, messages0) = at(from)?;
        let (bytes1, messages1) = at(to)?;
        let messages = messages1.checked_sub(messages0).filter(|&n| n > 0)?;
        Some(bytes1.saturating_sub(bytes0) as f64 / messages as f64)
    })
    .await
}

/// The middle of a run of `duration` from `start`: a second (or a tenth)
/// in, to half a second (or a tenth) before the end.
pub fn middle(start: Instant, duration: Duration) -> (Instant, Instant) {
    let margin_start = Duration::from_secs(1).min(duration / 10);
    let margin_end = Duration::from_millis(500).min(duration / 10);
    (start + margin_start, start + duration - margin_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_counts() {
        let ss = "0 0 127.0.0.1:50000 127.0.0.1:19401\n\t cubic bytes_sent:10 bytes_received:1000 segs_out:3\n\
                  0 0 127.0.0.1:50001 127.0.0.1:19401\n\t cubic bytes_received:234 bytes_acked:5\n";
        assert_eq!(sum_bytes_received(ss), 1234);
        assert_eq!(sum_bytes_received(""), 0);
    }
}
