//! The progress display on a real terminal: the command run inside a tmux pane (a
//! pseudo-terminal, 160×40), its final screen read back with `capture-pane`.
//!
//! tmux runs its own server on a socket in the test's folder, stopped with
//! `kill-server` on that socket (only this test's server). `make tools` installs
//! tmux; without it this test fails, saying so.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use crate::helpers::{MIB, Project, csv};

/// Where the command's exit status shows on the screen once it is done.
const DONE_MARK: &str = "AIRLOCK-EXITED=";

struct Tmux<'a> {
    socket: &'a Path,
}

impl Tmux<'_> {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(self.socket)
            .args(args)
            .output()
            .expect("tmux is installed (make tools installs it)");
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "airlock"])
    }
}

impl Drop for Tmux<'_> {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(self.socket)
            .arg("kill-server")
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_every_file_has_a_bar_and_the_total_ends_full_above_the_table() {
    let project = Project::start().await;
    project.write("big.csv", &csv(12 * MIB as usize));
    project.write("small.csv", &csv(2_000));
    let state = project.root().join("state");
    let script = format!(
        "cd {root} && AIRLOCK_STATE_DIR={state} {bin} upload big.csv small.csv; \
         echo {DONE_MARK}$?; sleep 60",
        root = project.root().display(),
        state = state.display(),
        bin = env!("CARGO_BIN_EXE_airlock"),
    );
    let socket = project.root().join("tmux.sock");
    let tmux = Tmux { socket: &socket };

    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "airlock",
        "-x",
        "160",
        "-y",
        "40",
        &script,
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut screen = tmux.screen();
    while !screen.contains(DONE_MARK) {
        assert!(
            Instant::now() < deadline,
            "the command never ended:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        screen = tmux.screen();
    }

    assert!(screen.contains(&format!("{DONE_MARK}0")), "{screen}");
    let full = "[==============================]";
    let bar_of = |name: &str| {
        screen
            .lines()
            .find(|line| line.starts_with(name) && line.contains('['))
            .unwrap_or_else(|| panic!("no bar for {name}:\n{screen}"))
            .to_owned()
    };
    for name in ["big.csv", "small.csv", "total (2 files)"] {
        let bar = bar_of(name);
        assert!(bar.contains(full), "{bar}");
        assert!(bar.contains("ETA"), "{bar}");
    }
    assert!(
        bar_of("big.csv").contains("12.00 MiB/12.00 MiB"),
        "{screen}"
    );
    let table = screen.find("NAME").expect("the table follows the bars");
    assert!(screen[table..].contains("CLEAN"), "{screen}");
    assert!(screen.find("total (2 files)").unwrap() < table, "{screen}");
}
