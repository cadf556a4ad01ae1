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
