//! A project folder with a running stack in `.airlock/` (so the command finds it by
//! itself), and the `airlock` binary run in that folder.

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

use airlock_stack::{RunningStack, StackConfig};
use tokio::process::{Child, Command};

/// Files past this go in parts in these tests.
pub const THRESHOLD: u64 = 6 * MIB;
/// S3's smallest part.
pub const PART: u64 = 5 * MIB;
pub const MIB: u64 = 1024 * 1024;

/// A stack whose data folder is `.airlock` inside a project folder.
pub struct Project {
    pub stack: Option<RunningStack>,
    pub dir: tempfile::TempDir,
    /// `HTTP_PROXY` for the command, when a test counts its requests.
    pub proxy: Option<String>,
}

impl Project {
    /// A fresh stack, `stack.json` written as `make run` writes it.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StackConfig::new(dir.path().join(".airlock"));
        config.port = 0;
        config.sweep_every = Duration::from_secs(60);
        config.multipart_threshold = THRESHOLD;
        config.part_size = PART;
        let stack = airlock_stack::start(config).await.unwrap();
        stack.write_stack_file("demo").unwrap();
        Self {
            stack: Some(stack),
            dir,
            proxy: None,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn base_url(&self) -> String {
        self.stack.as_ref().unwrap().base_url()
    }

    /// Writes `bytes` at `relative` (folders made as needed); answers the path.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The command, in the project folder, with its own state folder and nothing
    /// from the environment that would configure it otherwise.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_airlock"));
        command
            .args(args)
            .current_dir(self.root())
            .env("AIRLOCK_STATE_DIR", self.root().join("state"))
            .env_remove("AIRLOCK_URL")
            .env_remove("AIRLOCK_TOKEN")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .kill_on_drop(true);
        if let Some(proxy) = &self.proxy {
            command.env("HTTP_PROXY", proxy);
        }
        command
    }

    /// Runs the command to its end.
    pub async fn airlock(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().await.unwrap())
    }

    /// Starts the command, for a test that stops it midway.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Stops the stack (its `stack.json` stays, as after a crash).
    pub async fn stop_stack(&mut self) {
        self.stack.take().unwrap().shutdown().await;
    }
}

/// What a run of the command printed and how it ended.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Each line of stdout as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// For assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }
}

/// `len` bytes of CSV text (clean, and not compressible to nothing).
pub fn csv(len: usize) -> Vec<u8> {
    let mut bytes = b"id,name,amount\n".to_vec();
    let mut row = 0u64;
    while bytes.len() < len {
        bytes.extend_from_slice(format!("{row},name-{row},{}\n", row * 7 % 1000).as_bytes());
        row += 1;
    }
    bytes.truncate(len);
    bytes
}

/// The row of `name` in a table printed by the command.
pub fn row<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{table}"))
}
