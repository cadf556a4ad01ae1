//! What the server under load spends, read from `/proc/PID` (Linux): its
//! resident memory and its CPU time, all threads together.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// CPU seconds (user and system) process `pid` and its descendants have
/// used so far: servers such as websockify and socat fork a process per
/// connection, which does the work. Children already reaped count through
/// the parent's `cutime` and `cstime`.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let root = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let root = parse_stat(&root).ok_or_else(|| anyhow::anyhow!("unreadable /proc/{pid}/stat"))?;
    let mut processes = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes may end while being listed.
        if let Some(stat) = std::fs::read_to_string(format!("/proc/{id}/stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            processes.push((id, stat));
        }
    }
    let mut ticks = root.own_ticks + root.children_ticks;
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        for (id, stat) in &processes {
            if stat.ppid == parent && !tree.contains(id) {
                tree.push(*id);
                ticks += stat.own_ticks;
            }
        }
        i += 1;
    }
    Ok(ticks as f64 / TICKS_PER_SECOND)
}

/// What `/proc/PID/stat` says of a process's parent and CPU time.
#[derive(Debug, PartialEq)]
struct Stat {
    ppid: u32,
    /// utime + stime.
    own_ticks: u64,
    /// cutime + cstime: children waited for.
    children_ticks: u64,
}

/// ppid is field 4; utime, stime, cutime, cstime fields 14 to 17. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted after its last `)`.
fn parse_stat(stat: &str) -> Option<Stat> {
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(Stat {
        ppid: u32::try_from(field(4)?).ok()?,
        own_ticks: field(14)? + field(15)?,
        children_ticks: field(16)? + field(17)?,
    })
}

/// CPU spent over a run.
pub struct CpuUse {
    /// The server's CPU seconds.
    pub server_seconds: f64,
    /// The server's CPU use, in percent of one core.
    pub server_percent: f64,
    /// The load generator's own, in percent of one core.
    pub load_percent: f64,
    /// The server's highest resident memory seen, in KiB (its own process,
    /// not its children's): read with its CPU time, so a peak shorter than
    /// [`SAMPLE_EVERY`] may be missed.
    pub server_peak_rss_kib: u64,
}

/// How often a [`CpuMeter`] reads the server's CPU time while it runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The server's CPU time over a measured interval, and its peak resident
/// memory.
///
/// Read every [`SAMPLE_EVERY`] as well as at the end, keeping the highest
/// reading: a forked child that exits as its connection closes takes its
/// time with it until the parent reaps it, so a reading taken just then
/// alone would miss what the child did. Resident memory is read alongside,
/// and its highest value kept.
pub struct CpuMeter {
    pid: u32,
    cpu_at_start: f64,
    started: Instant,
    /// The highest reading so far, in CPU microseconds.
    highest: Arc<AtomicU64>,
    /// The highest resident memory so far, in KiB.
    peak_rss: Arc<AtomicU64>,
    stop_sampling: Arc<AtomicBool>,
    /// The load generator's own CPU time at the start: when it is near 100%
    /// of its core, it was the limit, not the server.
    own_cpu_at_start: f64,
}

impl CpuMeter {
    /// Starts measuring process `pid` now.
    pub fn start(pid: u32) -> anyhow::Result<Self> {
        let cpu_at_start = cpu_seconds(pid)?;
        let own_cpu_at_start = cpu_seconds(std::process::id())?;
        let highest = Arc::new(AtomicU64::new(micros(cpu_at_start)));
        // Memory unreadable at first (0) still leaves CPU time measured.
        let peak_rss = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let stop_sampling = Arc::new(AtomicBool::new(false));
        let (sampled, rss, stop) = (highest.clone(), peak_rss.clone(), stop_sampling.clone());
        switchyard_rt::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                switchyard_rt::sleep(SAMPLE_EVERY).await;
                if let Ok(now) = cpu_seconds(pid) {
                    sampled.fetch_max(micros(now), Ordering::Relaxed);
                }
                if let Ok(now) = rss_kib(pid) {
                    rss.fetch_max(now, Ordering::Relaxed);
                }
            }
        });
        Ok(Self {
            pid,
            cpu_at_start,
            started: Instant::now(),
            highest,
            peak_rss,
            stop_sampling,
            own_cpu_at_start,
        })
    }

    /// What was spent since [`start`](Self::start).
    pub fn stop(&self) -> anyhow::Result<CpuUse> {
        let last = micros(cpu_seconds(self.pid)?);
        let highest = self.highest.fetch_max(last, Ordering::Relaxed).max(last);
        let spent = highest as f64 / 1e6 - self.cpu_at_start;
        let own = cpu_seconds(std::process::id())? - self.own_cpu_at_start;
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        // A last reading that fails leaves the peak sampled so far.
        let rss_now = rss_kib(self.pid).unwrap_or(0);
        Ok(CpuUse {
            server_seconds: spent,
            server_percent: 100.0 * spent / wall,
            load_percent: 100.0 * own / wall,
            server_peak_rss_kib: self
                .peak_rss
                .fetch_max(rss_now, Ordering::Relaxed)
                .max(rss_now),
        })
    }
}

impl Drop for CpuMeter {
    fn drop(&mut self) {
        self.stop_sampling.store(true, Ordering::Relaxed);
    }
}

fn micros(seconds: f64) -> u64 {
    (seconds * 1e6) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat =
            "4242 (a (weird) name) S 7 4242 4242 0 -1 4194560 300 0 0 0 250 75 10 5 20 0 3 0";
        let expected = Stat {
            ppid: 7,
            own_ticks: 325,
            children_ticks: 15,
        };
        assert_eq!(parse_stat(stat), Some(expected));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_forked_child_counts_for_its_parent() {
        // A child that burns CPU for a moment, still running when measured.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .spawn()
            .unwrap();
        let me = std::process::id();
        let before = cpu_seconds(me).unwrap();
        let mut after = before;
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            after = cpu_seconds(me).unwrap();
            if after - before >= 0.05 {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(after - before >= 0.05, "{before} -> {after}");
    }

    #[test]
    fn this_process_is_readable() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_seconds(me).unwrap() >= 0.0);
    }
}
