//! The stack as `make run` starts it: the real `airlock-stack` binary in a child
//! process, which tests stop politely or kill with SIGKILL.

// Shared by two test binaries; each uses a part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, ChildStdout, Command, Stdio},
};

/// The running binary, its URL and the dev token it printed.
pub struct Process {
    child: Child,
    /// Kept open: the stack prints a line when it stops, and a closed pipe would make
    /// that print fail.
    _stdout: std::io::Lines<BufReader<ChildStdout>>,
    pub base_url: String,
    pub token: String,
}

impl Process {
    /// Starts the binary on `port` with its data in `data_dir`, and waits until it
    /// printed its URL and dev token (it is serving by then).
    pub fn start(data_dir: &Path, port: u16) -> Self {
        Self::start_with(data_dir, port, &[])
    }

    /// The same, with extra flags.
    pub fn start_with(data_dir: &Path, port: u16, flags: &[&str]) -> Self {
        Self::start_with_env(data_dir, port, flags, &[])
    }

    /// The same, with extra environment variables.
    pub fn start_with_env(
        data_dir: &Path,
        port: u16,
        flags: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::try_start(data_dir, port, flags, env, Stdio::null())
            .unwrap_or_else(|| panic!("the stack printed no URL and token"))
    }

    /// The same, with its stderr (the JSON log) sent to `stderr`; `None` when the
    /// process ended before it printed its URL and token (a fault armed to kill it
    /// fired while it started).
    pub fn try_start(
        data_dir: &Path,
        port: u16,
        flags: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Option<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_airlock-stack"))
            .args([
                "--data-dir",
                data_dir.to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .args(flags)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base_url = String::new();
        let mut token = String::new();
        while let Some(Ok(line)) = lines.next() {
            if let Some(url) = line.strip_prefix("Airlock local stack listening on ") {
                base_url = url.to_owned();
            }
            if line.matches('.').count() == 2 && !line.contains(' ') {
                token = line;
                break;
            }
        }
        if base_url.is_empty() || token.is_empty() {
            child.wait().unwrap();
            return None;
        }
        Some(Self {
            child,
            _stdout: lines,
            base_url,
            token,
        })
    }

    /// Waits up to `patience` for the process to end by itself; its exit status, or
    /// `None` if it is still running.
    pub fn wait_for_exit(
        &mut self,
        patience: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The OS process id, for /proc readings.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the process to finish its shutdown.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
    }
}

/// A stack a test let go of (it failed, say) is killed, not left running.
impl Drop for Process {
    fn drop(&mut self) {
        // A no-op for a child already waited for (its pid is not signalled again).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago, so a restarted stack can take the same one.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
