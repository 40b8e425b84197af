//! A process held to the CPU share Lambda gives a memory size: Lambda allots CPU in
//! proportion to memory (1,769 MB is one vCPU, at most six), so a child run in a
//! cgroup whose CFS quota is that share of this machine's cores takes as long as
//! work of the same speed would on Lambda at that size. Needs a writable cgroup cpu
//! controller (v1 `cpu.cfs_quota_us` or v2 `cpu.max`), as root has here; without one
//! the caller says so and skips.

use std::path::{Path, PathBuf};

/// The memory size at which Lambda gives a function one whole vCPU.
pub const ONE_VCPU_MB: f64 = 1769.0;
/// The CFS period the quota is a share of.
const PERIOD_US: u64 = 100_000;

/// How long a child held to a share waits between its start-up and the work it
/// times: one CFS period and a little more, so the quota is refilled at least once.
/// Without it the start-up (the default rules compile, on both threads) spends the
/// period's quota, and the timed work waits out the rest of the period: at 512 MB a
/// 1 MiB ingest measured 100.5 ms in one run and 6.7 ms in another (2026-12-03), by
/// where in its period the start-up happened to end. A warm function meets its next
/// file with its quota refilled.
pub const SETTLE: std::time::Duration = std::time::Duration::from_micros(PERIOD_US + 10_000);

/// A cgroup of its own with a CPU quota, removed when dropped.
#[derive(Debug)]
pub struct CpuShare {
    dir: PathBuf,
    /// The share of one core, as a fraction (0.072 at 128 MB).
    pub cores: f64,
}

/// Lambda's vCPUs at `memory_mb` (at most six).
pub fn lambda_vcpus(memory_mb: u64) -> f64 {
    (memory_mb as f64 / ONE_VCPU_MB).min(6.0)
}

impl CpuShare {
    /// A cgroup holding its processes to Lambda's CPU at `memory_mb`, or `None` where
    /// this machine offers no writable cpu controller.
    pub fn for_memory(memory_mb: u64) -> Option<Self> {
        let cores = lambda_vcpus(memory_mb);
        let quota = ((PERIOD_US as f64 * cores).round() as u64).max(1000);
        let name = format!("airlock-bench-{}-{memory_mb}mb", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        let v2 = Path::new("/sys/fs/cgroup");
        let (dir, settings) = if v1.join("cpu.cfs_quota_us").exists() {
            let dir = v1.join(&name);
            let settings = vec![
                ("cpu.cfs_period_us", PERIOD_US.to_string()),
                ("cpu.cfs_quota_us", quota.to_string()),
            ];
            (dir, settings)
        } else if std::fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
        {
            (
                v2.join(&name),
                vec![("cpu.max", format!("{quota} {PERIOD_US}"))],
            )
        } else {
            return None;
        };
        if std::fs::create_dir(&dir).is_err() {
            return None;
        }
        let share = Self { dir, cores };
        // A controller that refuses the quota (not delegated here) is none at all.
        settings
            .into_iter()
            .all(|(file, value)| std::fs::write(share.dir.join(file), value).is_ok())
            .then_some(share)
    }

    /// `program` started inside this cgroup: a shell joins it, then execs the program,
    /// so the program and everything it starts are held to the quota.
    pub fn command(&self, program: &Path) -> std::process::Command {
        let mut command = std::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg("echo $$ > \"$0\" && exec \"$@\"")
            .arg(self.dir.join("cgroup.procs"))
            .arg(program);
        command
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        // The processes have exited by now; an rmdir of a cgroup with none succeeds.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_gives_one_vcpu_at_1769_mb_and_six_at_most() {
        assert!((lambda_vcpus(1769) - 1.0).abs() < 1e-9);
        assert!((lambda_vcpus(128) - 0.0724).abs() < 1e-3);
        assert_eq!(lambda_vcpus(20_000), 6.0);
    }
}
