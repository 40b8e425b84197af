//! What a live process has spent so far, read from `/proc`: CPU time over all its
//! threads (the scheduler's nanosecond counts, where `/proc/PID/stat`'s clock ticks
//! are 10 ms, longer than a whole cold start) and the page faults it took. The cold
//! start reads it just before stopping each spawn, to say where a start's time went.

use std::path::Path;

/// CPU and page faults of one process up to the moment it was read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessUsage {
    /// Time on a CPU, every thread together, ms.
    pub cpu_ms: f64,
    /// Faults served from memory (a page of the binary in the page cache, a fresh
    /// zeroed page): each costs the kernel a few microseconds.
    pub minor_faults: u64,
}

impl ProcessUsage {
    /// The process `pid`'s usage, or `None` when it is gone or `/proc` is not Linux's.
    pub fn of(pid: u32) -> Option<Self> {
        let proc_dir = Path::new("/proc").join(pid.to_string());
        let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
        let minor_faults = minor_faults(&stat)?;
        let mut cpu_ns = 0u64;
        for task in std::fs::read_dir(proc_dir.join("task")).ok()?.flatten() {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            cpu_ns += on_cpu_ns(&schedstat)?;
        }
        Some(Self {
            cpu_ms: cpu_ns as f64 / 1e6,
            minor_faults,
        })
    }
}

/// The tenth field of `/proc/PID/stat` (minflt), counted after the command name,
/// which is in parentheses and may itself hold spaces.
fn minor_faults(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields from the third on: state is index 0 there, minflt (the tenth) index 7.
    after_name.split_whitespace().nth(7)?.parse().ok()
}

/// The first field of a task's `schedstat`: nanoseconds spent on a CPU.
fn on_cpu_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_faults_are_read_past_a_command_name_with_spaces() {
        let stat = "4242 (airlock ingest) S 1 4242 4242 0 -1 4194560 1893 0 0 0 3 1 0 0 20 0";
        assert_eq!(minor_faults(stat), Some(1893));
        assert_eq!(minor_faults("garbage"), None);
    }

    #[test]
    fn time_on_cpu_is_the_first_schedstat_field() {
        assert_eq!(on_cpu_ns("6123456 120000 14\n"), Some(6_123_456));
    }

    #[test]
    fn this_process_has_spent_some_cpu_and_taken_some_faults() {
        let usage = ProcessUsage::of(std::process::id()).expect("Linux /proc");
        assert!(usage.cpu_ms > 0.0, "{usage:?}");
        assert!(usage.minor_faults > 0, "{usage:?}");
    }
}
