//! What the server under load spends, read from `/proc/PID` (Linux): its
//! resident memory and its CPU time, all threads together.

use std::time::Instant;

/// Clock ticks per second in `/proc/PID/stat` (USER_HZ: 100 on every Linux
/// the kernel's ABI covers).
const TICKS_PER_SECOND: f64 = 100.0;

/// The resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for process {pid}"))
}

/// CPU seconds (user and system) process `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_seconds(&stat).ok_or_else(|| anyhow::anyhow!("unreadable /proc/{pid}/stat"))
}

/// utime and stime are fields 14 and 15; the command name (field 2) may
/// hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The server's CPU time over a measured interval.
pub struct CpuMeter {
    pid: u32,
    cpu_at_start: f64,
    started: Instant,
}

impl CpuMeter {
    /// Starts measuring process `pid` now.
    pub fn start(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            pid,
            cpu_at_start: cpu_seconds(pid)?,
            started: Instant::now(),
        })
    }

    /// The server's CPU use since [`start`](Self::start), in percent of one
    /// core, and the CPU seconds it spent.
    pub fn stop(&self) -> anyhow::Result<(f64, f64)> {
        let spent = cpu_seconds(self.pid)? - self.cpu_at_start;
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        Ok((100.0 * spent / wall, spent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 300 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.25));
        assert_eq!(parse_cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_is_readable() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_seconds(me).unwrap() >= 0.0);
    }
}
