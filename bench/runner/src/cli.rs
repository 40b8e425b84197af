//! The `airlock` command beside the bench's own client, the same work in the same
//! run, each against a fresh local stack: `BENCH_CLI_FILES` (1,000) small files, then
//! one file of `BENCH_CLI_GIB` (2) GiB in parts; `BENCH_CLI_ROUNDS` (3) rounds, the
//! two clients taking turns at going first, medians compared. The command runs as a user runs it
//! (`airlock upload --no-wait --jobs 4`, process start included); the bench's client
//! sends the same requests four at a time from inside this process (`Stack::upload`,
//! `large::send_parts`). Uploads only: the clock stops when every file is sent (and,
//! for the large one, completed), not at the verdicts, which are the stack's work.

use std::{
    path::Path,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::json;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    BenchError, large,
    report::Report,
    settings::Settings,
    stack::{PNG, Stack},
    stats::median,
};

const SECTION: &str = "cli";
const MIB: f64 = 1024.0 * 1024.0;
/// Transfers at once, for both clients (the command's default `--jobs`).
const JOBS: usize = 4;
/// The command is held to this share of the bench client's rate.
const TARGET_RATIO: f64 = 0.9;

/// Runs the section: the figures go into `report`.
pub async fn run(settings: &Settings, report: &mut Report) -> Result<(), BenchError> {
    let count = number("BENCH_CLI_FILES", 1000)?;
    let gib = number("BENCH_CLI_GIB", 2)?;
    let rounds = number("BENCH_CLI_ROUNDS", 3)?.max(1);
    report.info(SECTION, "machine load before the section (uptime)", load());
    let folder = settings.scratch.join("cli-small");
    write_small_files(&folder, count)?;
    let small = small_files(settings, &folder, count, rounds, report).await;
    let _ = std::fs::remove_dir_all(&folder);
    small?;
    let path = settings.scratch.join("cli-large.bin");
    let size = gib * 1024 * 1024 * 1024;
    large::write_file(&path, size)?;
    let large = large_file(settings, &path, size, rounds, report).await;
    let _ = std::fs::remove_file(&path);
    large?;
    report.info(SECTION, "machine load after the section (uptime)", load());
    Ok(())
}

async fn small_files(
    settings: &Settings,
    folder: &Path,
    count: u64,
    rounds: u64,
    report: &mut Report,
) -> Result<(), BenchError> {
    let bench = async || {
        let stack = Arc::new(fresh_stack(settings, "stack-cli-bench", &[]).await?);
        let started = Instant::now();
        send_small(&stack, count).await?;
        let took = started.elapsed();
        if let Ok(stack) = Arc::try_unwrap(stack) {
            drop_stack(stack);
        }
        Ok(took)
    };
    let command = async || {
        let stack = fresh_stack(settings, "stack-cli-command", &[]).await?;
        let took = run_command(settings, &stack, folder, count).await;
        drop_stack(stack);
        took
    };
    let (command, bench) = interleaved(rounds, bench, command).await?;
    let rate = |took: &Duration| count as f64 / took.as_secs_f64();
    compare(
        report,
        &format!("{count} small files (67 B PNGs), files/s"),
        (
            command.iter().map(rate).collect(),
            bench.iter().map(rate).collect(),
        ),
        "files/s",
    );
    Ok(())
}

async fn large_file(
    settings: &Settings,
    path: &Path,
    size: u64,
    rounds: u64,
    report: &mut Report,
) -> Result<(), BenchError> {
    let max = size.to_string();
    let flags = [
        "--max-upload-bytes",
        &max,
        "--unscannable",
        "accept-unscanned",
    ];
    let bench = async || {
        let stack = fresh_stack(settings, "stack-cli-bench", &flags).await?;
        let started = Instant::now();
        let sent = send_large(&stack, path, size).await;
        let took = started.elapsed();
        drop_stack(stack);
        sent.map(|()| took)
    };
    let command = async || {
        let stack = fresh_stack(settings, "stack-cli-command", &flags).await?;
        let took = run_command(settings, &stack, path, 1).await;
        drop_stack(stack);
        took
    };
    let (command, bench) = interleaved(rounds, bench, command).await?;
    let rate = |took: &Duration| size as f64 / MIB / took.as_secs_f64();
    compare(
        report,
        &format!("one {} GiB file in parts, MiB/s", size >> 30),
        (
            command.iter().map(rate).collect(),
            bench.iter().map(rate).collect(),
        ),
        "MiB/s",
    );
    Ok(())
}

/// `rounds` timings of each client, taking turns at going first, so a change in the
/// machine's load (it is shared) falls on both alike; answers (command, bench).
async fn interleaved(
    rounds: u64,
    mut bench: impl AsyncFnMut() -> Result<Duration, BenchError>,
    mut command: impl AsyncFnMut() -> Result<Duration, BenchError>,
) -> Result<(Vec<Duration>, Vec<Duration>), BenchError> {
    let (mut commands, mut benches) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            benches.push(bench().await?);
            commands.push(command().await?);
        } else {
            commands.push(command().await?);
            benches.push(bench().await?);
        }
    }
    Ok((commands, benches))
}

/// The bench client's small uploads: create + PUT, [`JOBS`] at a time.
async fn send_small(stack: &Arc<Stack>, count: u64) -> Result<(), BenchError> {
    let permits = Arc::new(Semaphore::new(JOBS));
    let mut tasks = JoinSet::new();
    for n in 0..count {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(|e| BenchError::Invoke("uploads".into(), e.to_string()))?;
        let stack = Arc::clone(stack);
        tasks.spawn(async move {
            let outcome = stack.upload(&format!("pixel-{n:05}.png"), PNG).await;
            drop(permit);
            outcome
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| BenchError::Invoke("uploads".into(), e.to_string()))??;
    }
    Ok(())
}

/// The bench client's large upload: create, parts [`JOBS`] at a time, complete.
async fn send_large(stack: &Stack, path: &Path, size: u64) -> Result<(), BenchError> {
    let created = stack
        .call(
            Method::POST,
            "/v1/files",
            Some(json!({"name": "large.bin", "content_type": "application/octet-stream", "size": size})),
        )
        .await?;
    let id = created["file"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let part_size = created["multipart"]["part_size"].as_u64().unwrap_or(0);
    let part_count = created["multipart"]["part_count"].as_u64().unwrap_or(0);
    if part_size == 0 {
        return Err(BenchError::Invoke(
            "POST /v1/files".into(),
            format!("no plan: {created}"),
        ));
    }
    large::send_parts(stack, &id, path, size, part_size, part_count).await?;
    stack
        .call(Method::POST, &format!("/v1/files/{id}/complete"), None)
        .await?;
    Ok(())
}

/// `airlock upload --no-wait --json --jobs 4 PATH`, timed from spawn to exit; checks
/// it sent `count` files.
async fn run_command(
    settings: &Settings,
    stack: &Stack,
    path: &Path,
    count: u64,
) -> Result<Duration, BenchError> {
    let binary = settings.bin_dir.join("airlock");
    let started = Instant::now();
    let output = tokio::process::Command::new(&binary)
        .args(["upload", "--no-wait", "--json", "--jobs", &JOBS.to_string()])
        .arg(path)
        .env("AIRLOCK_URL", &stack.base_url)
        .env("AIRLOCK_TOKEN", &stack.token)
        .env("AIRLOCK_STATE_DIR", settings.scratch.join("cli-state"))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| BenchError::Invoke(binary.display().to_string(), e.to_string()))?;
    let took = started.elapsed();
    let lines = String::from_utf8_lossy(&output.stdout).lines().count() as u64;
    if !output.status.success() || lines != count {
        return Err(BenchError::Invoke(
            "airlock upload".into(),
            format!(
                "{}, {lines} of {count} files: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        ));
    }
    Ok(took)
}

fn compare(report: &mut Report, figure: &str, (command, bench): (Vec<f64>, Vec<f64>), unit: &str) {
    let (Some(command_median), Some(bench_median)) = (median(&command), median(&bench)) else {
        return;
    };
    let ratio = command_median / bench_median;
    let each = |rates: &[f64]| {
        rates
            .iter()
            .map(|rate| format!("{rate:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    report.check(
        SECTION,
        format!(
            "{figure}: airlock ÷ the bench's client (medians of {} rounds)",
            command.len()
        ),
        format!(
            "airlock {command_median:.1} {unit} ({}), bench client {bench_median:.1} {unit} ({}); \
             ratio {ratio:.2}×",
            each(&command),
            each(&bench)
        ),
        format!("≥ {TARGET_RATIO}×"),
        Some(ratio >= TARGET_RATIO),
    );
}

async fn fresh_stack(settings: &Settings, name: &str, flags: &[&str]) -> Result<Stack, BenchError> {
    let binary = settings.bin_dir.join("airlock-stack");
    Stack::start_with(&binary, settings.scratch.join(name), flags).await
}

/// Stops the stack (by its PID, when the handle drops) and removes its data.
fn drop_stack(stack: Stack) {
    let data = stack.data_dir.clone();
    drop(stack);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(data.with_extension("log"));
}

fn write_small_files(folder: &Path, count: u64) -> Result<(), BenchError> {
    let _ = std::fs::remove_dir_all(folder);
    std::fs::create_dir_all(folder).map_err(|e| BenchError::Io(folder.to_owned(), e))?;
    for n in 0..count {
        let path = folder.join(format!("pixel-{n:05}.png"));
        std::fs::write(&path, PNG).map_err(|e| BenchError::Io(path, e))?;
    }
    Ok(())
}

fn number(name: &str, default: u64) -> Result<u64, BenchError> {
    match std::env::var(name) {
        Ok(raw) => raw
            .parse()
            .map_err(|_| BenchError::Settings(format!("{name} takes a whole number, got {raw:?}"))),
        Err(_) => Ok(default),
    }
}

/// The 1, 5 and 15 minute load averages, as `uptime` prints them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            let fields: Vec<&str> = text.split_whitespace().take(3).collect();
            format!("load average {} (2 cores)", fields.join(", "))
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}
